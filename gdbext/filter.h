/* Name filters (--type, --root, --exclude-root, --through) as PCRE2
 * patterns. A bad pattern's error carries pcre2's own message and the
 * offset where it went wrong. */
#ifndef RETAIN_FILTER_H
#define RETAIN_FILTER_H

#include <stddef.h>
#include "error.h"

struct filter;

/* An empty or NULL pattern is no filter: filter_match then always says 1. */
struct retain_error *filter_compile(const char *pattern, struct filter **f_ret);
void filter_destroy(struct filter *f);
/* 1 if the pattern matches anywhere in text (unanchored), 0 if not. A NULL
 * text (unknown name) never matches a real pattern. */
int filter_match(const struct filter *f, const char *text);

#endif
