/* Successor records for the iterative DFSs of dominators.c and leaks.c: a
 * node's first three successors inline in a fixed 16-byte record (visiting
 * a node costs one cache miss), the rest in an overflow array, and `ahead`,
 * a node a few first-successor hops further whose record the DFS prefetches
 * (along lists, the common long paths, the misses of several levels overlap). */
#ifndef RETAIN_SUCCREC_H
#define RETAIN_SUCCREC_H

#include <stdint.h>
#include "u32vec.h"

#define SUCC_NONE UINT32_MAX
#define REC_OVF 0x80000000u   /* s[2] = REC_OVF | k: successors 3.. are ovf[ovf_off[k] .. ovf_off[k + 1]) */
#define AHEAD_PASSES 3        /* first-successor hops ahead: 2^AHEAD_PASSES */

struct succ_rec {
    uint32_t ahead, s[3];     /* s: successors, SUCC_NONE-padded */
};

/* One record being built: succ_begin, succ_add for each successor, succ_finish. */
struct succ_builder {
    struct succ_rec r;
    uint32_t k, third;
};

static inline void succ_begin(struct succ_builder *b)
{
    b->r = (struct succ_rec){ SUCC_NONE, { SUCC_NONE, SUCC_NONE, SUCC_NONE } };
    b->k = 0;
    b->third = SUCC_NONE;
}

/* 0, or -1 when out of memory. */
static inline int succ_add(struct succ_builder *b, uint32_t w, struct u32vec *ovf)
{
    if (b->k < 2)
        b->r.s[b->k] = w;
    else if (b->k == 2)
        b->third = w;   /* inline if it is the last one */
    else if ((b->k == 3 && u32vec_push(ovf, b->third)) || u32vec_push(ovf, w))
        return -1;
    b->k++;
    return 0;
}

/* ovf_off starts as { 0 }; each record with an overflow adds its end. */
static inline int succ_finish(struct succ_builder *b, struct u32vec *ovf, struct u32vec *ovf_off)
{
    if (b->k == 3) {
        b->r.s[2] = b->third;
    } else if (b->k > 3) {
        b->r.s[2] = REC_OVF | (uint32_t)(ovf_off->n - 1);
        if (ovf->n >= REC_OVF || u32vec_push(ovf_off, (uint32_t)ovf->n))
            return -1;
    }
    b->r.ahead = b->r.s[0];
    return 0;
}

/* Successors 3.. of r (after s[0] and s[1]) when they overflowed, else NULL. */
static inline const uint32_t *succ_overflow(const struct succ_rec *r, const struct u32vec *ovf,
                                            const struct u32vec *ovf_off, uint32_t *len)
{
    *len = 0;
    if (r->s[2] == SUCC_NONE || !(r->s[2] & REC_OVF))
        return NULL;
    uint32_t k = r->s[2] & ~REC_OVF;
    *len = ovf_off->v[k + 1] - ovf_off->v[k];
    return ovf->v + ovf_off->v[k];
}

#endif
