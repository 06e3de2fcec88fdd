/* A minimal unit-test harness for the engine's C tests: CHECK records a
 * failure with file:line and goes on; CHECK_DONE prints the closing line
 * "N passed, N failed" and returns the exit status. */
#ifndef RETAIN_CHECK_H
#define RETAIN_CHECK_H

#include <stdio.h>

static int check_passed, check_failed;

#define CHECK(cond) do { \
        if (cond) check_passed++; \
        else { check_failed++; fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); } \
    } while (0)

#define CHECK_DONE() (printf("%s: %d passed, %d failed\n", __FILE__, check_passed, check_failed), \
                      check_failed ? 1 : 0)

#endif
