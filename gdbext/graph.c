/* Building the reference graph: one pass over every in-use block and every
 * root range, in address order, through large memory windows. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include "graph.h"
#include "heap_go.h"
#include "u32vec.h"

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

/* One scanning thread's share: blocks [first, end). */
struct scan_job {
    struct memory *mem;
    const struct block_table *t;
    uint32_t *counts;             /* shared, per block; this job writes [first, end) */
    uint32_t first, end;
    struct u32vec out;
    uint64_t unreadable;
    int failed;                   /* 1: out of memory, 2: interrupted */
    uint64_t max_edges;           /* this job's share of the memory limit; 0: none */
    uint32_t cut;                 /* the first block left unscanned when max_edges was hit */
    atomic_int *stop;
    graph_progress_fn progress;   /* only the caller's thread reports (and may call Python) */
    void *ctx;
    /* words that look like heap pointers, resolved in batches (block_lookup_inuse_batch) */
    uint64_t words[BLOCK_BATCH];
    uint32_t owners[BLOCK_BATCH];
    size_t npending;
    uint32_t last_owner, last_id;
    uint64_t prefetched_page;     /* see memory_prefetch_page */
};

/* Resolves the pending words into edges, in order. A block that points into
 * itself is its own referrer: that edge is kept (BFS ignores it). */
static int flush_pending(struct scan_job *j)
{
    uint32_t ids[BLOCK_BATCH];
    block_lookup_inuse_batch(j->t, j->words, ids, j->npending);
    for (size_t i = 0; i < j->npending; i++) {
        uint32_t id = ids[i], owner = j->owners[i];
        if (id == BLOCK_NONE || (owner == j->last_owner && id == j->last_id))
            continue;   /* consecutive duplicates add nothing */
        if (u32vec_push(&j->out, id))
            return -1;
        j->counts[owner]++;
        j->last_owner = owner;
        j->last_id = id;
    }
    j->npending = 0;
    return 0;
}

/* Queues one word that looks like a heap pointer; -1 when out of memory. */
static int queue_word(struct scan_job *j, uint32_t id, uint64_t v)
{
    j->words[j->npending] = v;
    j->owners[j->npending++] = id;
    return j->npending == BLOCK_BATCH ? flush_pending(j) : 0;
}

/* A Go object: only the words the runtime's heap bitmap marks as pointers
 * (Go edges are precise). */
static int scan_go_block(struct scan_job *j, struct window *w, uint32_t id)
{
    const struct block_table *t = j->t;
    uint64_t addr = t->blocks[id].addr, size = t->blocks[id].size & ~(uint64_t)7;
    const struct go_bits *b = t->gobits;
    const struct go_arena_bits *a = go_bits_arena(b, addr);
    const uint8_t *obj;
    if (a && size <= WINDOW && addr - a->start + size <= b->arena_bytes &&
        window_get(w, addr, (size_t)size, &obj) == size) {
        /* the common case: the whole object in one view, inside one arena */
        uint64_t word = (addr - a->start) >> 3;
        for (uint64_t i = 0; i < size / 8; i++, word++) {
            unsigned byte = a->bits[word >> 2], sh = (unsigned)(word & 3);
            if (!((byte >> (4 + sh)) & 1))
                break;      /* no more pointers in this object */
            if (!((byte >> sh) & 1))
                continue;
            uint64_t v;
            memcpy(&v, obj + i * 8, 8);
            if (v - t->lo < t->hi - t->lo && queue_word(j, id, v))
                return -1;
        }
        return 0;
    }
    struct go_words it;
    go_words_begin(&it, b, addr, size);
    for (uint64_t x; (x = go_words_next(&it)) != 0;) {
        const uint8_t *p;
        if (window_get(w, x, 8, &p) < 8) {
            j->unreadable += 8;
            continue;
        }
        uint64_t v;
        memcpy(&v, p, 8);
        if (v - t->lo < t->hi - t->lo && queue_word(j, id, v))
            return -1;
    }
    return 0;
}

/* Queues the words of block id that fall inside the heap's bounds. */
static int scan_block(struct scan_job *j, struct window *w, uint32_t id)
{
    const struct block_table *t = j->t;
    enum block_kind kind = block_kind(t, id);
    if (kind == BLOCK_KIND_GO_NOSCAN)
        return 0;
    if (kind == BLOCK_KIND_GO && t->gobits)
        return scan_go_block(j, w, id);
    const uint64_t lo = t->lo, span = t->hi - t->lo;
    uint64_t addr = t->blocks[id].addr;
    uint64_t end = addr + (t->blocks[id].size & ~(uint64_t)7);
    while (addr < end) {
        const uint8_t *p;
        size_t want = end - addr > WINDOW ? WINDOW : (size_t)(end - addr);
        size_t got = window_get(w, addr, want, &p) & ~(size_t)7;
        if (got == 0) {   /* skip the unreadable page */
            uint64_t next = (addr | 4095) + 1;
            if (next > end)
                next = end;
            j->unreadable += next - addr;
            addr = next;
            continue;
        }
        uint64_t page = ((addr + got) >> 12) + 2;
        if (page != j->prefetched_page && (page << 12) + 4096 <= w->hi) {
            j->prefetched_page = page;
            memory_prefetch_page(w->data + ((page << 12) - w->lo));
        }
        const uint64_t *words = (const uint64_t *)(const void *)p;
        for (size_t i = 0; i < got / 8; i++) {
            uint64_t v = words[i];
            if (v - lo >= span)
                continue;    /* the common case: not a heap address */
            if (queue_word(j, id, v))
                return -1;
        }
        addr += got;
    }
    return 0;
}

static void *scan_job_run(void *arg)
{
    struct scan_job *j = arg;
    const struct block_table *t = j->t;
    struct window w = { .mem = j->mem, .scratch = malloc(WINDOW) };
    j->last_owner = j->last_id = BLOCK_NONE;
    if (!w.scratch) {
        j->failed = 1;
        return NULL;
    }
    for (uint32_t i = j->first; i < j->end; i++) {
        if (i % PROGRESS_EVERY == 0) {
            if (atomic_load(j->stop))
                break;
            if (j->progress && j->progress(j->ctx, "scanning heap", i - j->first, j->end - j->first)) {
                j->failed = 2;
                atomic_store(j->stop, 1);
                break;
            }
        }
        if (!((t->inuse_bits[i >> 6] >> (i & 63)) & 1))
            continue;
        if (scan_block(j, &w, i) || j->out.n >= UINT32_MAX / 2) {
            j->failed = 1;
            atomic_store(j->stop, 1);
            break;
        }
        if (j->max_edges && j->out.n >= j->max_edges) {
            j->cut = i + 1;   /* out of budget: keep what was found, say what was left */
            break;
        }
    }
    if (!j->failed && flush_pending(j))
        j->failed = 1;
    free(w.scratch);
    return NULL;
}

/* In-use blocks [first, end) that the memory limit left unscanned. */
static void count_unscanned(struct graph *g, const struct block_table *t, uint32_t first, uint32_t end)
{
    for (uint32_t i = first; i < end; i++) {
        if ((t->inuse_bits[i >> 6] >> (i & 63)) & 1) {
            g->unscanned_blocks++;
            g->unscanned_bytes += t->blocks[i].size;
        }
    }
}

/* The block where the bytes to scan are split in half. */
static uint32_t split_point(const struct block_table *t)
{
    uint64_t total = 0, half = 0;
    for (uint32_t i = 0; i < t->n; i++)
        total += t->blocks[i].size;
    for (uint32_t i = 0; i < t->n; i++) {
        half += t->blocks[i].size;
        if (half >= total / 2)
            return i + 1;
    }
    return t->n;
}

/* Scans every in-use block on two threads (the machine's cores), each over
 * half the bytes, then joins their edge lists into one CSR. */
static struct retain_error *scan_blocks(struct graph *g, struct memory *mem, const struct block_table *t,
                                        uint64_t max_edges, graph_progress_fn progress, void *ctx)
{
    g->fwd_off = calloc((size_t)t->n + 1, sizeof *g->fwd_off);   /* counts first */
    if (!g->fwd_off)
        return retain_errorf("out of memory for the graph");
    atomic_int stop = 0;
    uint32_t mid = split_point(t);
    uint64_t share = (max_edges + 1) / 2;
    struct scan_job jobs[2] = {
        { .mem = mem, .t = t, .counts = g->fwd_off, .first = 0, .end = mid, .stop = &stop,
          .progress = progress, .ctx = ctx, .max_edges = share, .cut = mid },
        { .mem = mem, .t = t, .counts = g->fwd_off, .first = mid, .end = t->n, .stop = &stop,
          .max_edges = share, .cut = t->n },
    };
    pthread_t helper;
    int threaded = mid < t->n && pthread_create(&helper, NULL, scan_job_run, &jobs[1]) == 0;
    scan_job_run(&jobs[0]);
    if (threaded)
        pthread_join(helper, NULL);
    else if (mid < t->n && !jobs[0].failed)
        scan_job_run(&jobs[1]);
    struct retain_error *err = NULL;
    if (jobs[0].failed == 2 || jobs[1].failed == 2) {
        g->interrupted = 1;
        err = retain_errorf("interrupted");
    } else if (jobs[0].failed || jobs[1].failed) {
        err = retain_errorf("out of memory for graph edges");
    }
    uint64_t n0 = jobs[0].out.n, n1 = jobs[1].out.n;
    if (!err) {
        uint32_t *fwd = realloc(jobs[0].out.v, (n0 + n1 + 1) * sizeof *fwd);
        if (!fwd) {
            err = retain_errorf("out of memory for graph edges");
        } else {
            jobs[0].out.v = NULL;
            if (n1)
                memcpy(fwd + n0, jobs[1].out.v, n1 * sizeof *fwd);
            uint32_t running = 0;   /* counts -> offsets */
            for (uint32_t i = 0; i < t->n; i++) {
                uint32_t c = g->fwd_off[i];
                g->fwd_off[i] = running;
                running += c;
            }
            g->fwd_off[t->n] = running;
            g->fwd = fwd;
            g->nedges = n0 + n1;
            count_unscanned(g, t, jobs[0].cut, mid);
            count_unscanned(g, t, jobs[1].cut, t->n);
            g->unreadable_bytes += jobs[0].unreadable + jobs[1].unreadable;
        }
    }
    free(jobs[0].out.v);
    free(jobs[1].out.v);
    return err;
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

/* mask (may be NULL): bit i says whether the word at start + 8i may be a pointer. */
static int scan_root_words(struct window *w, const struct block_table *t, uint64_t start, uint64_t end,
                           const uint8_t *mask, uint32_t root, struct redge_vec *out, uint64_t *unreadable)
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
            uint64_t v = words[i], word = (addr - start) / 8 + i;
            if (v - t->lo >= t->hi - t->lo || (mask && !((mask[word >> 3] >> (word & 7)) & 1)))
                continue;
            uint32_t id = block_lookup_inuse(t, v);
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
        const struct root_range *r = &rs->ranges[i];
        if (scan_root_words(w, t, r->start, r->end, r->mask, i, &out, &g->unreadable_bytes)) {
            free(out.v);
            return retain_errorf("out of memory for root edges");
        }
    }
    for (uint32_t i = 0; i < rs->nvalues; i++) {
        uint32_t id = block_lookup_inuse(t, rs->values[i].value);
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
                                 const struct root_set *rs, uint64_t max_edges,
                                 graph_progress_fn progress, void *ctx)
{
    memset(g, 0, sizeof *g);
    g->nblocks = t->n;
    struct retain_error *err = scan_blocks(g, mem, t, max_edges, progress, ctx);
    if (!err)
        err = build_reverse(g);
    struct window w = { .mem = mem, .scratch = malloc(WINDOW) };
    if (!err && !w.scratch)
        err = retain_errorf("out of memory for the scan window");
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
