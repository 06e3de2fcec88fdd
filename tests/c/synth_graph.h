/* Synthetic graphs for the C tests of dominators and leaks: a block table
 * and a reference graph built directly from edge lists (no heap, no core). */
#ifndef RETAIN_SYNTH_GRAPH_H
#define RETAIN_SYNTH_GRAPH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "blocks.h"
#include "graph.h"

struct synth {
    struct graph g;
    struct block_table t;
    uint32_t *es, *ed;
    size_t ne, cap;
    struct root_edge *re;
    size_t nre, capre;
};

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return q;
}

/* n in-use blocks at 0x100000 + 64 i; sizes[i] or 16 + i % 7 */
static void synth_init(struct synth *s, uint32_t n, const uint64_t *sizes)
{
    memset(s, 0, sizeof *s);
    s->t.n = s->t.cap = n;
    s->t.blocks = xrealloc(NULL, (size_t)n * sizeof *s->t.blocks);
    s->t.info = calloc((size_t)n + 1, 1);
    s->t.inuse_bits = calloc(((size_t)n + 64) / 64, sizeof *s->t.inuse_bits);
    for (uint32_t i = 0; i < n; i++) {
        s->t.blocks[i].addr = 0x100000 + 64ull * i;
        s->t.blocks[i].size = sizes ? sizes[i] : 16 + i % 7;
        s->t.inuse_bits[i >> 6] |= 1ull << (i & 63);
    }
    s->t.sorted = 1;
}

static void synth_free(struct synth *s, uint32_t b)
{
    s->t.info[b] |= BLOCK_FREE;
    s->t.inuse_bits[b >> 6] &= ~(1ull << (b & 63));
}

static void synth_edge(struct synth *s, uint32_t a, uint32_t b)
{
    if (s->ne == s->cap) {
        s->cap = s->cap ? 2 * s->cap : 64;
        s->es = xrealloc(s->es, s->cap * sizeof *s->es);
        s->ed = xrealloc(s->ed, s->cap * sizeof *s->ed);
    }
    s->es[s->ne] = a;
    s->ed[s->ne++] = b;
}

static void synth_root(struct synth *s, uint64_t slot, uint32_t target)
{
    if (s->nre == s->capre) {
        s->capre = s->capre ? 2 * s->capre : 64;
        s->re = xrealloc(s->re, s->capre * sizeof *s->re);
    }
    s->re[s->nre++] = (struct root_edge){ .slot = slot, .root = 0, .target = target };
}

static int cmp_redge(const void *a, const void *b)
{
    const struct root_edge *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    return x->slot < y->slot ? -1 : x->slot > y->slot;
}

/* CSR both ways (edges in insertion order), root edges sorted by target. */
static void synth_finish(struct synth *s)
{
    uint32_t n = s->t.n;
    struct graph *g = &s->g;
    g->nblocks = n;
    g->nedges = s->ne;
    g->fwd_off = calloc((size_t)n + 1, sizeof *g->fwd_off);
    g->rev_off = calloc((size_t)n + 1, sizeof *g->rev_off);
    g->fwd = xrealloc(NULL, s->ne * sizeof *g->fwd);
    g->rev = xrealloc(NULL, s->ne * sizeof *g->rev);
    for (size_t i = 0; i < s->ne; i++) {
        g->fwd_off[s->es[i] + 1]++;
        g->rev_off[s->ed[i] + 1]++;
    }
    for (uint32_t i = 0; i < n; i++) {
        g->fwd_off[i + 1] += g->fwd_off[i];
        g->rev_off[i + 1] += g->rev_off[i];
    }
    uint32_t *ff = xrealloc(NULL, ((size_t)n + 1) * sizeof *ff), *rf = xrealloc(NULL, ((size_t)n + 1) * sizeof *rf);
    memcpy(ff, g->fwd_off, ((size_t)n + 1) * sizeof *ff);
    memcpy(rf, g->rev_off, ((size_t)n + 1) * sizeof *rf);
    for (size_t i = 0; i < s->ne; i++) {
        g->fwd[ff[s->es[i]]++] = s->ed[i];
        g->rev[rf[s->ed[i]]++] = s->es[i];
    }
    free(ff);
    free(rf);
    if (s->nre)
        qsort(s->re, s->nre, sizeof *s->re, cmp_redge);
    g->redges = s->re;
    g->nredges = s->nre;
}

static void synth_deinit(struct synth *s)
{
    free(s->g.fwd_off);
    free(s->g.fwd);
    free(s->g.rev_off);
    free(s->g.rev);
    free(s->re);
    free(s->es);
    free(s->ed);
    free(s->t.blocks);
    free(s->t.info);
    free(s->t.inuse_bits);
    memset(s, 0, sizeof *s);
}

#endif
