/* filter.c: PCRE2 patterns, unanchored; no pattern matches everything; a
 * bad pattern reports pcre2's message and offset. */
#include <string.h>
#include "check.h"
#include "filter.h"

int main(void)
{
    struct filter *f = NULL;
    CHECK(filter_compile("struct (node|entry)$", &f) == NULL);
    CHECK(filter_match(f, "struct node") == 1);
    CHECK(filter_match(f, "const struct entry") == 1);
    CHECK(filter_match(f, "struct nodes") == 0);
    CHECK(filter_match(f, NULL) == 0);
    filter_destroy(f);

    CHECK(filter_compile("", &f) == NULL);          /* no filter */
    CHECK(filter_match(f, "anything") == 1);
    CHECK(filter_match(f, NULL) == 1);
    filter_destroy(f);
    CHECK(filter_match(NULL, "x") == 1);

    struct retain_error *err = filter_compile("a(b", &f);
    CHECK(err != NULL);
    CHECK(err && strstr(err->msg, "missing closing parenthesis") != NULL);
    CHECK(err && strstr(err->msg, "at offset 3") != NULL);
    retain_error_destroy(err);
    filter_destroy(NULL);
    return CHECK_DONE();
}
