/* Warnings of a heap walk, capped. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "heap_report.h"

static void append(struct heap_report *r, const char *text)
{
    char **v = realloc(r->warnings, (r->nwarnings + 1) * sizeof *v);
    if (!v) {
        r->suppressed++;
        return;
    }
    r->warnings = v;
    if (!(v[r->nwarnings] = strdup(text))) {
        r->suppressed++;
        return;
    }
    r->nwarnings++;
}

void heap_report_warn(struct heap_report *r, const char *fmt, ...)
{
    if (r->nwarnings >= HEAP_REPORT_MAX_WARNINGS) {
        r->suppressed++;
        return;
    }
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    append(r, buf);
}

void heap_report_finish(struct heap_report *r)
{
    if (!r->suppressed)
        return;
    char buf[64];
    snprintf(buf, sizeof buf, "... and %u more warnings", r->suppressed);
    append(r, buf);
}

void heap_report_deinit(struct heap_report *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r->segments);
    memset(r, 0, sizeof *r);
}
