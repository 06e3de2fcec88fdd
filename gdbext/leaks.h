/* Leaks on heaps that are not garbage collected: in-use blocks that no root
 * reaches. They are grouped the way one fixes them: a leak root is a block
 * (or a cycle of blocks) that nothing else in the unreachable set points
 * to; every other leaked block is leaked only because a leak root holds it.
 * Each leak root is charged the bytes it takes down with it (its retained
 * size inside the unreachable set, by dominators). */
#ifndef RETAIN_LEAKS_H
#define RETAIN_LEAKS_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "graph.h"

struct leak_root {
    uint32_t first;         /* index into leak_report.members */
    uint32_t count;         /* 1: a block; >1: a cycle (a strongly connected set) */
    uint32_t held;          /* leaked blocks it alone holds, besides its members */
    uint64_t own_bytes;     /* sizes of its members */
    uint64_t total_bytes;   /* own_bytes + the bytes of every block it alone holds */
};

struct leak_report {
    uint32_t *members;      /* block ids of the leak roots' members, grouped */
    struct leak_root *roots; uint32_t nroots;   /* sorted by total_bytes, largest first */
    uint32_t leaked_blocks; /* every unreachable in-use block */
    uint64_t leaked_bytes;
    uint32_t *owner;        /* per block: index of the leak root that holds it, UINT32_MAX if none
                               (reachable, free, or held by several leak roots) */
};

/* dist: distances from the roots (query_distances); DIST_NONE = unreachable. */
struct retain_error *leaks_find(const struct graph *g, const struct block_table *t, const uint32_t *dist,
                                struct leak_report *r);
void leaks_deinit(struct leak_report *r);

#endif
