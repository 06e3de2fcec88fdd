/* The reference graph: an edge is a pointer-aligned word in a root or an
 * in-use block whose value points into an in-use block (interior pointers
 * count). Block-to-block edges live in CSR arrays (forward and reverse, 32-bit
 * ids, 8 bytes an edge in all); root edges are kept with their slot address,
 * sorted by target. Offsets of a hop are found again by rescanning the one
 * block when a path is shown, so edges need not store them. */
#ifndef RETAIN_GRAPH_H
#define RETAIN_GRAPH_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "memory.h"
#include "roots.h"

/* root edge: .root indexes root_set.ranges, or values when ROOT_EDGE_VALUE is set */
#define ROOT_EDGE_VALUE 0x80000000u

struct root_edge {
    uint64_t slot;      /* address of the root word (0 for a register) */
    uint32_t root;
    uint32_t target;    /* block id */
};

struct graph {
    uint32_t nblocks;
    uint32_t *fwd_off, *fwd;   /* fwd_off has nblocks + 1 entries */
    uint32_t *rev_off, *rev;
    uint64_t nedges;
    struct root_edge *redges;  /* sorted by target, then slot */
    uint64_t nredges;
    uint64_t root_words[ROOT_NKINDS];   /* root edges by kind */
    uint64_t unreadable_bytes;          /* in blocks and roots */
    uint64_t unscanned_blocks, unscanned_bytes;   /* left out by the memory limit */
    uint32_t interrupted;
};

/* Called every so often; a non-zero return stops the build ("interrupted"). */
typedef int (*graph_progress_fn)(void *ctx, const char *phase, uint64_t done, uint64_t total);

/* max_edges (0: no limit) caps block-to-block edges: past it, the remaining
 * blocks are not scanned (counted in unscanned_*), so memory stays bounded. */
struct retain_error *graph_build(struct graph *g, struct memory *mem, const struct block_table *t,
                                 const struct root_set *rs, uint64_t max_edges,
                                 graph_progress_fn progress, void *ctx);
void graph_deinit(struct graph *g);

/* Kind of a root edge's root. */
enum root_kind graph_root_kind(const struct root_set *rs, const struct root_edge *e);

/* Root edges whose target is block id: [*first_ret, *end_ret) in g->redges. */
void graph_root_edges_to(const struct graph *g, uint32_t id, uint64_t *first_ret, uint64_t *end_ret);

size_t graph_memory(const struct graph *g);

#endif
