/* Queries over the graph: distances from the roots (forward BFS, cached),
 * the shortest chains from distinct roots to one block (reverse BFS from the
 * target), and a block's direct referrers. */
#ifndef RETAIN_QUERY_H
#define RETAIN_QUERY_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "graph.h"
#include "roots.h"

#define DIST_NONE UINT32_MAX

/* dist[b]: heap hops from the nearest root (1 = a root points at b),
 * DIST_NONE when unreachable. */
struct retain_error *query_distances(const struct graph *g, uint32_t **dist_ret);

struct query_path {
    uint64_t redge;       /* index into g->redges: the root word */
    uint32_t *blocks;     /* root's target first, the query's block last */
    uint32_t nblocks;
};

/* Judges a root word: -1 to leave it out (a --root filter), 0 if it belongs
 * to a named, typed variable (precise), 1 if it merely looks like a pointer
 * (a stale stack slot, say). */
typedef int (*root_judge_fn)(void *ctx, const struct root_edge *e);

struct path_query {
    uint32_t target;
    uint32_t want;        /* how many paths, from distinct roots */
    uint32_t kinds;       /* mask of 1 << root_kind */
    uint32_t max_depth;   /* 0: unlimited */
    double deadline;      /* CLOCK_MONOTONIC seconds; 0: none. Past it the search stops, truncated */
    root_judge_fn judge;  /* optional: at equal length, precise roots first */
    void *judge_ctx;
    /* optional (--through): only chains with a hop these accept count. The
     * hop into block dst from block src, or from root edge redge. */
    int (*through_edge)(void *ctx, uint32_t src, uint32_t dst);
    int (*through_root)(void *ctx, uint64_t redge, uint32_t dst);
    void *through_ctx;
};

/* Paths shortest first. *truncated_ret: the depth limit stopped the search
 * before `want` paths were found while more blocks were still reachable. */
struct retain_error *query_paths(const struct graph *g, const struct root_set *rs,
                                 const struct path_query *q, struct query_path **paths_ret,
                                 uint32_t *npaths_ret, int *truncated_ret);
void query_paths_free(struct query_path *paths, uint32_t npaths);

/* Offset inside block `from` of the first word that points into block `to`,
 * or -1 if none is readable (memory changed or the block is unreadable). */
int64_t query_edge_offset(struct memory *mem, const struct block_table *t, uint32_t from, uint32_t to);

#endif
