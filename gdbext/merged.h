/* Merged shortest paths for a set of blocks: one breadth-first search from
 * the roots gives every block its parent on a shortest chain; the targets'
 * chains then share their common prefixes, and each node of that tree
 * counts the targets (and their bytes) whose chain passes through it. */
#ifndef RETAIN_MERGED_H
#define RETAIN_MERGED_H

#include <stdint.h>
#include "error.h"
#include "graph.h"
#include "query.h"

#define MERGED_TOP UINT32_MAX     /* a node whose parent is a root word */

struct merged_node {
    uint32_t block;
    uint32_t parent;        /* index of the parent node, or MERGED_TOP */
    uint64_t redge;         /* for MERGED_TOP nodes: the root word (index in g->redges) */
    uint64_t blocks, bytes; /* targets at or below this node */
};

struct merged_tree {
    struct merged_node *nodes;   /* parents before children */
    uint32_t n;
    uint64_t target_blocks, target_bytes;
    uint64_t unreached_blocks, unreached_bytes;   /* targets no allowed root reaches */
};

/* targets: bit per block (as block_table.inuse_bits). q supplies kinds and
 * the root judge (q->target, want and max_depth are not used). */
struct retain_error *merged_paths(const struct graph *g, const struct block_table *t, const struct root_set *rs,
                                  const uint64_t *targets, const struct path_query *q, struct merged_tree *m);
void merged_tree_deinit(struct merged_tree *m);

#endif
