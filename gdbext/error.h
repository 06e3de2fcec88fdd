/* Error objects: every engine function that can fail returns one (NULL on
 * success) and hands results back through trailing *_ret parameters. */
#ifndef RETAIN_ERROR_H
#define RETAIN_ERROR_H

struct retain_error {
    char msg[512];
};

/* printf-style; never returns NULL (falls back to a static "out of memory"). */
struct retain_error *retain_errorf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
/* Accepts NULL; never frees the static out-of-memory error. */
void retain_error_destroy(struct retain_error *err);

#endif
