/* BFS over the CSR graph. No recursion: a million-deep chain is a loop. */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "query.h"
#include "heap_go.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct retain_error *query_distances(const struct graph *g, uint32_t **dist_ret)
{
    uint32_t n = g->nblocks;
    uint32_t *dist = malloc(((size_t)n + 1) * sizeof *dist);
    uint32_t *queue = malloc(((size_t)n + 1) * sizeof *queue);
    if (!dist || !queue) {
        free(dist);
        free(queue);
        return retain_errorf("out of memory for distances");
    }
    memset(dist, 0xff, ((size_t)n + 1) * sizeof *dist);
    uint32_t head = 0, tail = 0;
    for (uint64_t i = 0; i < g->nredges; i++) {
        uint32_t b = g->redges[i].target;
        if (dist[b] == DIST_NONE) {
            dist[b] = 1;
            queue[tail++] = b;
        }
    }
    while (head < tail) {
        uint32_t b = queue[head++];
        for (uint32_t e = g->fwd_off[b]; e < g->fwd_off[b + 1]; e++) {
            uint32_t c = g->fwd[e];
            if (dist[c] == DIST_NONE) {
                dist[c] = dist[b] + 1;
                queue[tail++] = c;
            }
        }
    }
    free(queue);
    *dist_ret = dist;
    return NULL;
}

struct candidate { uint64_t redge; uint32_t block; int rank; };   /* block: a search state */

static int cmp_candidate(const void *a, const void *b)
{
    const struct candidate *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return (x->redge > y->redge) - (x->redge < y->redge);
}

/* The search runs over states: block b before a --through hop is state b,
 * after one (the chain from b on passes a matching hop) state b + n. Without
 * --through only the first kind exists. */
struct search {
    const struct graph *g;
    const struct path_query *q;
    uint32_t n;
};

static uint32_t block_of(const struct search *x, uint32_t state)
{
    return state < x->n ? state : state - x->n;
}

/* Collects the root edges (of the wanted kinds) that point at state st's
 * block, ranked: by kind, and within a kind named variables before
 * conservative words. With --through, only those completing a passing chain. */
static int collect_roots(const struct search *x, const struct root_set *rs, uint32_t st,
                         struct candidate **c, uint32_t *nc, uint32_t *capc)
{
    const struct graph *g = x->g;
    const struct path_query *q = x->q;
    uint32_t b = block_of(x, st);
    uint64_t first, end;
    graph_root_edges_to(g, b, &first, &end);
    for (uint64_t i = first; i < end; i++) {
        enum root_kind k = graph_root_kind(rs, &g->redges[i]);
        if (!(q->kinds & (1u << k)))
            continue;
        if (q->through_edge && st < x->n && !q->through_root(q->through_ctx, i, b))
            continue;
        int judged = q->judge ? q->judge(q->judge_ctx, &g->redges[i]) : 0;
        if (judged < 0)
            continue;
        if (*nc == *capc) {
            uint32_t cap = *capc ? *capc * 2 : 64;
            struct candidate *nc2 = realloc(*c, cap * sizeof *nc2);
            if (!nc2)
                return -1;
            *c = nc2;
            *capc = cap;
        }
        (*c)[(*nc)++] = (struct candidate){ i, st, root_kind_rank(k) * 2 + judged };
    }
    return 0;
}

/* Follows next[] from state st to the target to materialise one path, in
 * one pass: on a long chain every step is a cache miss, so walk it once. */
static struct retain_error *make_path(const struct search *x, const uint32_t *next, uint32_t st,
                                      uint64_t redge, struct query_path *p)
{
    uint32_t len = 0, cap = 64;
    uint32_t *blocks = malloc(cap * sizeof *blocks);
    for (uint32_t s = st; blocks; s = next[s]) {
        if (len == cap) {
            cap *= 2;
            uint32_t *more = realloc(blocks, cap * sizeof *more);
            if (!more) {
                free(blocks);
                blocks = NULL;
                break;
            }
            blocks = more;
        }
        blocks[len++] = block_of(x, s);
        if (next[s] == s)
            break;
    }
    if (!blocks)
        return retain_errorf("out of memory for a path of %u hops", len);
    p->blocks = blocks;
    p->nblocks = len;
    p->redge = redge;
    return NULL;
}

/* One level backwards through the referrers of the states in [head, level_end). */
static uint32_t expand(const struct search *x, uint32_t *next, uint32_t *queue, uint32_t head,
                       uint32_t level_end, uint32_t tail)
{
    const struct graph *g = x->g;
    const struct path_query *q = x->q;
    for (; head < level_end; head++) {
        uint32_t st = queue[head], b = block_of(x, st);
        for (uint32_t e = g->rev_off[b]; e < g->rev_off[b + 1]; e++) {
            uint32_t src = g->rev[e], to = src;
            if (st >= x->n || (q->through_edge && q->through_edge(q->through_ctx, src, b)))
                to = src + x->n;   /* the chain from src on passes a matching hop */
            if (next[to] == UINT32_MAX) {
                next[to] = st;
                queue[tail++] = to;
            }
        }
    }
    return tail;
}

struct retain_error *query_paths(const struct graph *g, const struct root_set *rs,
                                 const struct path_query *q, struct query_path **paths_ret,
                                 uint32_t *npaths_ret, int *truncated_ret)
{
    struct search x = { g, q, g->nblocks };
    size_t nstates = (size_t)g->nblocks * (q->through_edge ? 2 : 1);
    /* next[st]: the state one hop closer to the target; UINT32_MAX = unseen. */
    uint32_t *next = malloc(nstates * sizeof *next);
    uint32_t *queue = malloc(nstates * sizeof *queue);
    struct query_path *paths = calloc(q->want ? q->want : 1, sizeof *paths);
    struct candidate *cand = NULL;
    uint32_t ncand = 0, capcand = 0, npaths = 0;
    struct retain_error *err = NULL;
    *truncated_ret = 0;
    if (!next || !queue || !paths) {
        err = retain_errorf("out of memory for a path search over %u blocks", g->nblocks);
        goto out;
    }
    memset(next, 0xff, nstates * sizeof *next);
    next[q->target] = q->target;
    queue[0] = q->target;
    uint32_t head = 0, tail = 1, depth = 1;
    while (head < tail && npaths < q->want) {
        if ((q->max_depth && depth > q->max_depth) || (q->deadline && (depth & 63) == 0 && now() > q->deadline)) {
            *truncated_ret = 1;
            break;
        }
        uint32_t level_end = tail;
        ncand = 0;
        for (uint32_t i = head; i < level_end; i++)
            if (collect_roots(&x, rs, queue[i], &cand, &ncand, &capcand)) {
                err = retain_errorf("out of memory for path candidates");
                goto out;
            }
        qsort(cand, ncand, sizeof *cand, cmp_candidate);
        for (uint32_t i = 0; i < ncand && npaths < q->want; i++) {
            /* the same root word may complete chains from both states of a block */
            int dup = 0;
            for (uint32_t k = 0; k < npaths && !dup; k++)
                dup = paths[k].redge == cand[i].redge;
            if (dup)
                continue;
            err = make_path(&x, next, cand[i].block, cand[i].redge, &paths[npaths]);
            if (err)
                goto out;
            npaths++;
        }
        tail = expand(&x, next, queue, head, level_end, tail);
        head = level_end;
        depth++;
    }
out:
    free(next);
    free(queue);
    free(cand);
    if (err) {
        query_paths_free(paths, npaths);
        return err;
    }
    *paths_ret = paths;
    *npaths_ret = npaths;
    return NULL;
}

void query_paths_free(struct query_path *paths, uint32_t npaths)
{
    if (!paths)
        return;
    for (uint32_t i = 0; i < npaths; i++)
        free(paths[i].blocks);
    free(paths);
}

/* The first pointer word of Go object `from` that points into `to`. */
static int64_t go_edge_offset(struct memory *mem, const struct block_table *t, uint32_t from, uint32_t to)
{
    const struct block *src = &t->blocks[from], *dst = &t->blocks[to];
    uint64_t scratch[64];   /* small objects are viewed whole: one lookup of the memory, not one a word */
    const uint8_t *obj = NULL;
    if (src->size <= sizeof scratch &&
        memory_view(mem, src->addr, (size_t)src->size, scratch, &obj) != (size_t)src->size)
        obj = NULL;
    struct go_words it;
    go_words_begin(&it, t->gobits, src->addr, src->size);
    for (uint64_t a; (a = go_words_next(&it)) != 0;) {
        uint64_t word;
        if (obj)
            memcpy(&word, obj + (a - src->addr), 8);
        else if (memory_read_u64(mem, a, &word) != 0)
            continue;
        if (word - dst->addr < dst->size)
            return (int64_t)(a - src->addr);
    }
    return -1;
}

int64_t query_edge_offset(struct memory *mem, const struct block_table *t, uint32_t from, uint32_t to)
{
    const struct block *src = &t->blocks[from], *dst = &t->blocks[to];
    if (block_kind(t, from) == BLOCK_KIND_GO_NOSCAN)
        return -1;
    if (block_kind(t, from) == BLOCK_KIND_GO && t->gobits)
        return go_edge_offset(mem, t, from, to);
    uint64_t scratch[512];   /* used only when the bytes cannot be viewed in place */
    for (uint64_t off = 0; off + 8 <= src->size; off += sizeof scratch) {
        size_t want = src->size - off < sizeof scratch ? (size_t)(src->size - off) : sizeof scratch;
        const uint8_t *data;
        size_t got = memory_view(mem, src->addr + off, want, scratch, &data) / 8;
        for (size_t i = 0; i < got; i++) {
            uint64_t word;
            memcpy(&word, data + i * 8, 8);
            if (word - dst->addr < dst->size)
                return (int64_t)(off + i * 8);
        }
        if (got * 8 < want)
            break;
    }
    return -1;
}
