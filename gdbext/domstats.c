/* Dominator-tree totals, iteratively (a million-deep tree is a loop). */
#include <stdlib.h>
#include <string.h>
#include "domstats.h"

/* Children of each node of the dominator tree, as CSR over blocks;
 * tops[] are the blocks whose idom is the virtual root or a group. */
struct domtree {
    uint32_t *off, *kids, *tops;
    uint32_t ntops;
};

static void domtree_free(struct domtree *d)
{
    free(d->off);
    free(d->kids);
    free(d->tops);
}

static struct retain_error *domtree_build(const struct dominators *dom, struct domtree *d)
{
    uint32_t n = dom->n;
    memset(d, 0, sizeof *d);
    d->off = calloc((size_t)n + 2, sizeof *d->off);
    d->kids = malloc(((size_t)n + 1) * sizeof *d->kids);
    d->tops = malloc(((size_t)n + 1) * sizeof *d->tops);
    if (!d->off || !d->kids || !d->tops) {
        domtree_free(d);
        return retain_errorf("out of memory for the dominator tree of %u blocks", n);
    }
    for (uint32_t b = 0; b < n; b++) {
        uint32_t up = dom->idom[b];
        if (up == DOM_NONE)
            continue;
        if (up == DOM_ROOT || (up & DOM_GROUP))
            d->tops[d->ntops++] = b;
        else
            d->off[up + 1]++;
    }
    for (uint32_t b = 0; b < n; b++)
        d->off[b + 1] += d->off[b];
    uint32_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!fill) {
        domtree_free(d);
        return retain_errorf("out of memory for the dominator tree");
    }
    memcpy(fill, d->off, ((size_t)n + 1) * sizeof *fill);
    for (uint32_t b = 0; b < n; b++) {
        uint32_t up = dom->idom[b];
        if (up != DOM_NONE && up != DOM_ROOT && !(up & DOM_GROUP))
            d->kids[fill[up]++] = b;
    }
    free(fill);
    return NULL;
}

struct retain_error *domstats_group_counts(struct retain_session *s, uint64_t *counts)
{
    if (!s->dom_ready)
        return retain_errorf("dominators have not been computed");
    struct domtree d;
    struct retain_error *err = domtree_build(&s->dom, &d);
    if (err)
        return err;
    uint32_t *stack = malloc(((size_t)s->dom.n + 1) * sizeof *stack);
    if (!stack) {
        domtree_free(&d);
        return retain_errorf("out of memory");
    }
    for (uint32_t i = 0; i < d.ntops; i++) {
        uint32_t top = d.tops[i], up = s->dom.idom[top];
        if (!(up & DOM_GROUP) || up == DOM_ROOT || up == DOM_NONE)
            continue;
        uint64_t count = 0;
        uint32_t sp = 0;
        stack[sp++] = top;
        while (sp) {   /* every block under this top */
            uint32_t b = stack[--sp];
            count++;
            for (uint32_t k = d.off[b]; k < d.off[b + 1]; k++)
                stack[sp++] = d.kids[k];
        }
        counts[up & ~DOM_GROUP] += count;
    }
    free(stack);
    domtree_free(&d);
    return NULL;
}

static uint32_t view_of(const struct heap_types *ht, uint32_t b)
{
    uint32_t t = ht->type_of[b];
    return t == HT_UNKNOWN ? UINT32_MAX : 2 * t + ht->is_array[b];
}

struct retain_error *domstats_type_totals(struct retain_session *s, struct type_total *totals)
{
    if (!s->dom_ready || !s->types_ready)
        return retain_errorf("dominators and heap types must be computed first");
    const struct heap_types *ht = &s->types;
    uint32_t nviews = 2 * ht->nrefs;
    for (uint32_t v = 0; v < nviews; v++)
        totals[v].largest = UINT32_MAX;
    for (uint32_t b = 0; b < s->blocks.n; b++) {   /* counts and shallow bytes: every in-use block */
        uint32_t v = view_of(ht, b);
        if (v == UINT32_MAX || block_state(&s->blocks, b) != BLOCK_INUSE)
            continue;
        totals[v].count++;
        totals[v].shallow += s->blocks.blocks[b].size;
    }
    struct domtree d;
    struct retain_error *err = domtree_build(&s->dom, &d);
    if (err)
        return err;
    /* Depth-first over the dominator tree: open[v] counts the blocks of
     * view v on the current path; a block opening its view is a top one. */
    uint32_t *open = calloc((size_t)nviews + 1, sizeof *open);
    uint32_t *stack = malloc(2 * ((size_t)s->dom.n + 1) * sizeof *stack);
    if (!open || !stack) {
        free(open);
        free(stack);
        domtree_free(&d);
        return retain_errorf("out of memory");
    }
    for (uint32_t i = 0; i < d.ntops; i++) {
        uint32_t sp = 0;
        stack[sp++] = d.tops[i];
        while (sp) {
            uint32_t item = stack[--sp], b = item & 0x7FFFFFFFu;
            uint32_t v = view_of(ht, b);
            if (item & 0x80000000u) {   /* leaving b */
                if (v != UINT32_MAX)
                    open[v]--;
                continue;
            }
            if (v != UINT32_MAX) {
                if (open[v] == 0)
                    totals[v].retained += s->dom.retained[b];
                if (totals[v].largest == UINT32_MAX || s->dom.retained[b] > s->dom.retained[totals[v].largest])
                    totals[v].largest = b;
                open[v]++;
            }
            stack[sp++] = b | 0x80000000u;
            for (uint32_t k = d.off[b]; k < d.off[b + 1]; k++)
                stack[sp++] = d.kids[k];
        }
    }
    free(open);
    free(stack);
    domtree_free(&d);
    return NULL;
}
