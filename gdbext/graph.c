/* Building the reference graph: one pass over every in-use block and every
 * root range, in address order, through large memory windows. */
#include <stdlib.h>
#include <string.h>
#include "graph.h"

#define WINDOW (1u << 20)
#define PROGRESS_EVERY (1u << 16)

/* A sliding view of target memory, so that neighbouring blocks share one read. */
struct window {
    struct memory *mem;
    uint8_t *scratch;
    uint64_t lo, hi;          /* readable bytes [lo, hi) at data */
    const uint8_t *data;
};

/* Returns how many bytes from addr are readable (up to len) and points *p at them. */
static size_t window_get(struct window *w, uint64_t addr, size_t len, const uint8_t **p)
{
    if (addr >= w->lo && addr + len <= w->hi) {
        *p = w->data + (addr - w->lo);
        return len;
    }
    size_t want = len > WINDOW ? len : WINDOW;
    if (want > WINDOW)
        want = WINDOW;   /* big blocks are scanned a window at a time */
    size_t got = memory_view(w->mem, addr, want, w->scratch, &w->data);
    w->lo = addr;
    w->hi = addr + got;
    *p = w->data;
    return got < len ? got : len;
}

/* A growable u32 array. */
struct u32vec { uint32_t *v; uint64_t n, cap; };

static int u32vec_push(struct u32vec *a, uint32_t x)
{
    if (a->n == a->cap) {
        uint64_t cap = a->cap ? a->cap * 2 : (1u << 16);
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

struct redge_vec { struct root_edge *v; uint64_t n, cap; };

static int redge_push(struct redge_vec *a, uint64_t slot, uint32_t root, uint32_t target)
{
    if (a->n == a->cap) {
        uint64_t cap = a->cap ? a->cap * 2 : 1024;
        struct root_edge *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = (struct root_edge){ slot, root, target };
    return 0;
}

/* The in-use block a word points into, or BLOCK_NONE. */
static inline uint32_t target_of(const struct block_table *t, uint64_t word)
{
    uint32_t id = block_lookup(t, word);
    if (id != BLOCK_NONE && block_state(t, id) != BLOCK_INUSE)
        return BLOCK_NONE;
    return id;
}

/* Appends the targets of the words in [addr, addr+size) (excluding self). */
static int scan_block(struct window *w, const struct block_table *t, uint32_t self,
                      uint64_t addr, uint64_t size, struct u32vec *out, uint64_t *unreadable)
{
    uint64_t end = addr + (size & ~(uint64_t)7);
    uint32_t last = BLOCK_NONE;
    while (addr < end) {
        const uint8_t *p;
        size_t want = end - addr > WINDOW ? WINDOW : (size_t)(end - addr);
        size_t got = window_get(w, addr, want, &p) & ~(size_t)7;
        if (got == 0) {   /* skip the unreadable page */
            uint64_t next = (addr | 4095) + 1;
            if (next > end)
                next = end;
            *unreadable += next - addr;
            addr = next;
            continue;
        }
        const uint64_t *words = (const uint64_t *)(const void *)p;
        for (size_t i = 0; i < got / 8; i++) {
            uint64_t v = words[i];
            if (v - t->lo >= t->hi - t->lo)
                continue;    /* the common case: not a heap address */
            uint32_t id = target_of(t, v);
            if (id == BLOCK_NONE || id == self || id == last)
                continue;    /* consecutive duplicates add nothing */
            if (u32vec_push(out, id))
                return -1;
            last = id;
        }
        addr += got;
    }
    return 0;
}

static struct retain_error *scan_blocks(struct graph *g, struct window *w, const struct block_table *t,
                                        graph_progress_fn progress, void *ctx, struct u32vec *fwd)
{
    g->fwd_off = malloc(((size_t)t->n + 1) * sizeof *g->fwd_off);
    if (!g->fwd_off)
        return retain_errorf("out of memory for the graph");
    for (uint32_t i = 0; i < t->n; i++) {
        g->fwd_off[i] = (uint32_t)fwd->n;
        if (progress && i % PROGRESS_EVERY == 0 && progress(ctx, "scanning heap", i, t->n)) {
            g->interrupted = 1;
            return retain_errorf("interrupted");
        }
        if (block_state(t, i) != BLOCK_INUSE)
            continue;
        if (scan_block(w, t, i, t->blocks[i].addr, t->blocks[i].size, fwd, &g->unreadable_bytes))
            return retain_errorf("out of memory for graph edges");
        if (fwd->n >= UINT32_MAX)
            return retain_errorf("too many edges (more than %u)", UINT32_MAX);
    }
    g->fwd_off[t->n] = (uint32_t)fwd->n;
    g->fwd = fwd->v;
    g->nedges = fwd->n;
    fwd->v = NULL;
    return NULL;
}

/* Reverse CSR from the forward one: count, prefix-sum, fill. */
static struct retain_error *build_reverse(struct graph *g)
{
    uint32_t n = g->nblocks;
    g->rev_off = calloc((size_t)n + 1, sizeof *g->rev_off);
    g->rev = malloc((g->nedges ? g->nedges : 1) * sizeof *g->rev);
    if (!g->rev_off || !g->rev)
        return retain_errorf("out of memory for reverse edges");
    for (uint64_t e = 0; e < g->nedges; e++)
        g->rev_off[g->fwd[e] + 1]++;
    for (uint32_t i = 0; i < n; i++)
        g->rev_off[i + 1] += g->rev_off[i];
    uint32_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!fill)
        return retain_errorf("out of memory for reverse edges");
    memcpy(fill, g->rev_off, ((size_t)n + 1) * sizeof *fill);
    for (uint32_t src = 0; src < n; src++)
        for (uint32_t e = g->fwd_off[src]; e < g->fwd_off[src + 1]; e++)
            g->rev[fill[g->fwd[e]]++] = src;
    free(fill);
    return NULL;
}

static int scan_root_words(struct window *w, const struct block_table *t, uint64_t start, uint64_t end,
                           uint32_t root, struct redge_vec *out, uint64_t *unreadable)
{
    uint64_t addr = start;
    while (addr + 8 <= end) {
        const uint8_t *p;
        size_t want = end - addr > WINDOW ? WINDOW : (size_t)(end - addr);
        size_t got = window_get(w, addr, want, &p) & ~(size_t)7;
        if (got == 0) {
            uint64_t next = (addr | 4095) + 1;
            *unreadable += (next < end ? next : end) - addr;
            addr = next;
            continue;
        }
        const uint64_t *words = (const uint64_t *)(const void *)p;
        for (size_t i = 0; i < got / 8; i++) {
            uint64_t v = words[i];
            if (v - t->lo >= t->hi - t->lo)
                continue;
            uint32_t id = target_of(t, v);
            if (id != BLOCK_NONE && redge_push(out, addr + i * 8, root, id))
                return -1;
        }
        addr += got;
    }
    return 0;
}

static int cmp_redge(const void *a, const void *b)
{
    const struct root_edge *x = a, *y = b;
    if (x->target != y->target)
        return x->target < y->target ? -1 : 1;
    if (x->slot != y->slot)   /* register values (slot 0) first */
        return x->slot < y->slot ? -1 : 1;
    return (x->root > y->root) - (x->root < y->root);
}

static struct retain_error *scan_roots(struct graph *g, struct window *w, const struct block_table *t,
                                       const struct root_set *rs, graph_progress_fn progress, void *ctx)
{
    struct redge_vec out = { 0 };
    for (uint32_t i = 0; i < rs->nranges; i++) {
        if (progress && progress(ctx, "scanning roots", i, rs->nranges)) {
            free(out.v);
            g->interrupted = 1;
            return retain_errorf("interrupted");
        }
        if (scan_root_words(w, t, rs->ranges[i].start, rs->ranges[i].end, i, &out, &g->unreadable_bytes)) {
            free(out.v);
            return retain_errorf("out of memory for root edges");
        }
    }
    for (uint32_t i = 0; i < rs->nvalues; i++) {
        uint32_t id = target_of(t, rs->values[i].value);
        if (id != BLOCK_NONE && redge_push(&out, 0, i | ROOT_EDGE_VALUE, id)) {
            free(out.v);
            return retain_errorf("out of memory for root edges");
        }
    }
    qsort(out.v, out.n, sizeof *out.v, cmp_redge);
    g->redges = out.v;
    g->nredges = out.n;
    for (uint64_t i = 0; i < out.n; i++)
        g->root_words[graph_root_kind(rs, &out.v[i])]++;
    return NULL;
}

enum root_kind graph_root_kind(const struct root_set *rs, const struct root_edge *e)
{
    if (e->root & ROOT_EDGE_VALUE)
        return (enum root_kind)rs->values[e->root & ~ROOT_EDGE_VALUE].kind;
    return (enum root_kind)rs->ranges[e->root].kind;
}

struct retain_error *graph_build(struct graph *g, struct memory *mem, const struct block_table *t,
                                 const struct root_set *rs, graph_progress_fn progress, void *ctx)
{
    memset(g, 0, sizeof *g);
    g->nblocks = t->n;
    struct window w = { .mem = mem, .scratch = malloc(WINDOW) };
    if (!w.scratch)
        return retain_errorf("out of memory for the scan window");
    struct u32vec fwd = { 0 };
    struct retain_error *err = scan_blocks(g, &w, t, progress, ctx, &fwd);
    free(fwd.v);
    if (!err)
        err = build_reverse(g);
    if (!err)
        err = scan_roots(g, &w, t, rs, progress, ctx);
    free(w.scratch);
    if (err)
        graph_deinit(g);
    return err;
}

void graph_root_edges_to(const struct graph *g, uint32_t id, uint64_t *first_ret, uint64_t *end_ret)
{
    uint64_t lo = 0, hi = g->nredges;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (g->redges[mid].target < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    uint64_t end = lo;
    while (end < g->nredges && g->redges[end].target == id)
        end++;
    *first_ret = lo;
    *end_ret = end;
}

void graph_deinit(struct graph *g)
{
    if (!g)
        return;
    free(g->fwd_off);
    free(g->fwd);
    free(g->rev_off);
    free(g->rev);
    free(g->redges);
    uint32_t interrupted = g->interrupted;
    memset(g, 0, sizeof *g);
    g->interrupted = interrupted;
}

size_t graph_memory(const struct graph *g)
{
    return ((size_t)g->nblocks + 1) * 2 * sizeof(uint32_t) + g->nedges * 2 * sizeof(uint32_t) +
           g->nredges * sizeof(struct root_edge);
}
