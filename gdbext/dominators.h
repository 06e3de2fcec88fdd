/* Dominators over the reference graph, with a virtual root above every
 * root word: block d dominates block b when every chain from the roots to
 * b passes through d. A block's retained size is what would be freed if it
 * were gone: its own size plus that of every block it dominates.
 * Iterative throughout: a million-deep chain must not overflow any stack. */
#ifndef RETAIN_DOMINATORS_H
#define RETAIN_DOMINATORS_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "graph.h"

#define DOM_ROOT 0xFFFFFFFEu      /* idom of a block only the virtual root dominates */
#define DOM_NONE 0xFFFFFFFFu      /* unreachable (or free) block */
#define DOM_GROUP 0x80000000u     /* idom | DOM_GROUP: root group number (see below) */

/* Root groups: the caller may gather root edges into groups (one per root
 * variable, say: every word of a global array is one group). Groups are
 * nodes between the virtual root and the blocks, so a group that alone
 * reaches some blocks dominates them, and has a retained size too:
 *   virtual root -> group -> blocks its root edges target -> ...  */
struct dominators {
    uint32_t n, ngroups;
    uint32_t *idom;               /* per block: DOM_ROOT, DOM_NONE, DOM_GROUP|group, or a block id */
    uint64_t *retained;           /* per block: bytes (in-use sizes); 0 if unreachable */
    uint64_t *group_retained;     /* per group: bytes it alone keeps alive */
    uint64_t reachable_bytes;     /* retained size of the virtual root */
};

/* Over the whole graph. redge_group[i] is the group of root edge i (of
 * g->redges), or UINT32_MAX to leave that root edge out (a --kind or
 * --root filter); ngroups groups. redge_group NULL: one group per root
 * edge is NOT made; instead every root edge hangs straight off the virtual
 * root (ngroups 0). Free blocks have no edges and stay DOM_NONE. */
struct retain_error *dominators_compute(const struct graph *g, const struct block_table *t,
                                        const uint32_t *redge_group, uint32_t ngroups,
                                        struct dominators *d);

/* Over a subset of blocks (in_set: bit per block, as block_table.inuse_bits),
 * with the virtual root pointing at `entries` (block ids): only edges
 * between blocks of the set count. Used for leaks (the unreachable set). */
struct retain_error *dominators_compute_subset(const struct graph *g, const struct block_table *t,
                                               const uint64_t *in_set, const uint32_t *entries,
                                               uint32_t nentries, struct dominators *d);

/* Over a subset, with groups as entries: the virtual root points at ngroups
 * group nodes, group k at blocks members[group_first[k] .. group_first[k+1])
 * (group_first has ngroups + 1 entries). A group dominates what only its
 * members reach, so a cycle counts as one holder (leaks.c). order_ret
 * (optional, free() it): the reached blocks, each after its idom;
 * *norder_ret of them. */
struct retain_error *dominators_compute_groups(const struct graph *g, const struct block_table *t,
                                               const uint64_t *in_set, const uint32_t *group_first,
                                               const uint32_t *members, uint32_t ngroups,
                                               struct dominators *d, uint32_t **order_ret,
                                               uint32_t *norder_ret);

void dominators_deinit(struct dominators *d);

/* Does block a dominate block b (a == b counts)? Walks b's idom chain. */
int dominators_dominates(const struct dominators *d, uint32_t a, uint32_t b);

#endif
