/* Error objects: a fixed-size message in a malloc'd struct. */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Handed out when malloc fails, so callers always get a message; it is
 * never written to or freed. */
static struct retain_error out_of_memory = { "out of memory" };

struct retain_error *retain_errorf(const char *fmt, ...)
{
    struct retain_error *err = malloc(sizeof *err);
    if (!err)
        return &out_of_memory;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return err;
}

void retain_error_destroy(struct retain_error *err)
{
    if (err != &out_of_memory)
        free(err);
}
