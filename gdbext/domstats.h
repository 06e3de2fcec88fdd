/* Totals over the dominator tree (dominators.h) that `retain top` needs:
 * blocks each root group keeps alive, and per heap type the bytes retained
 * by its blocks without counting a block twice (a block inside another of
 * the same type is counted through that one). Both are O(blocks). */
#ifndef RETAIN_DOMSTATS_H
#define RETAIN_DOMSTATS_H

#include <stdint.h>
#include "error.h"
#include "session.h"

/* counts[g]: blocks group g dominates (s->dom, s->dom_ready, groups made). */
struct retain_error *domstats_group_counts(struct retain_session *s, uint64_t *counts);

struct type_total {
    uint64_t count, shallow, retained;   /* retained: of the blocks no same-type block dominates */
    uint32_t largest;                    /* the block of that type that retains the most */
};

/* Per type view (2 * type index + is_array, as _retain.type_index numbers
 * them): totals[] must hold 2 * s->types.nrefs entries, zeroed. Needs
 * s->dom_ready and s->types_ready. */
struct retain_error *domstats_type_totals(struct retain_session *s, struct type_total *totals);

#endif
