/* What a heap walker reports beside the blocks: counts, heap segments, and
 * warnings about anomalies it met (corrupt sizes, loops) while it kept going.
 * Shared by the glibc and Go walkers. */
#ifndef RETAIN_HEAP_REPORT_H
#define RETAIN_HEAP_REPORT_H

#include <stdint.h>

/* Past this many warnings, the rest are only counted. */
#define HEAP_REPORT_MAX_WARNINGS 100u

struct heap_report {
    uint32_t narenas, nheaps, nmmapped;
    uint64_t inuse_bytes, free_bytes;
    uint64_t unreadable_bytes;
    char **warnings; uint32_t nwarnings;   /* owned strings, "at 0x...: ..." */
    uint32_t suppressed;                   /* warnings past the cap, or out of memory */
    /* heap segments walked (to tell heap from other writable mappings) */
    struct { uint64_t start, end; } *segments; uint32_t nsegments;
};

/* Best effort: past the cap, or out of memory, a warning is only counted. */
__attribute__((format(printf, 2, 3)))
void heap_report_warn(struct heap_report *r, const char *fmt, ...);
/* Adds "... and N more warnings" when some were left out (past the cap on
 * purpose: it says what was left out). Call once, at the end of a walk. */
void heap_report_finish(struct heap_report *r);
void heap_report_deinit(struct heap_report *r);

#endif
