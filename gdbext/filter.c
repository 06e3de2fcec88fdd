/* PCRE2 name filters. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>
#include "filter.h"

struct filter {
    pcre2_code *code;              /* NULL: no filter, everything matches */
    pcre2_match_data *match;
};

struct retain_error *filter_compile(const char *pattern, struct filter **f_ret)
{
    struct filter *f = calloc(1, sizeof *f);
    if (!f)
        return retain_errorf("out of memory for a filter");
    if (pattern && *pattern) {
        int code;
        PCRE2_SIZE offset;
        f->code = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, PCRE2_UTF, &code, &offset, NULL);
        if (!f->code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(code, msg, sizeof msg);
            free(f);
            return retain_errorf("%s at offset %zu", (const char *)msg, (size_t)offset);
        }
        f->match = pcre2_match_data_create_from_pattern(f->code, NULL);
        if (!f->match) {
            pcre2_code_free(f->code);
            free(f);
            return retain_errorf("out of memory for a filter");
        }
    }
    *f_ret = f;
    return NULL;
}

void filter_destroy(struct filter *f)
{
    if (!f)
        return;
    pcre2_match_data_free(f->match);
    pcre2_code_free(f->code);
    free(f);
}

int filter_match(const struct filter *f, const char *text)
{
    if (!f || !f->code)
        return 1;
    if (!text)
        return 0;
    return pcre2_match(f->code, (PCRE2_SPTR)text, strlen(text), 0, 0, f->match, NULL) >= 0;
}
