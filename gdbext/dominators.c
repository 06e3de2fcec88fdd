/* Dominators by Semi-NCA (Georgiadis): semidominators as in Lengauer-Tarjan
 * (simple linking, path compression), then each immediate dominator as the
 * nearest common ancestor, in the dominator tree built so far, of the DFS
 * parent and the semidominator. Iterative throughout (explicit stacks): a
 * million-deep chain is a loop. Retained sizes are summed in reverse preorder.
 *
 * Nodes: 0 is the virtual root, 1..ngroups the groups, then the blocks (node
 * = 1 + ngroups + block id); the algorithm works on DFS numbers (preorder).
 *
 * On a big heap whose pointers go anywhere the cost is cache misses, and a
 * dependent miss (its address comes from the previous one) costs some 20
 * independent ones. Hence:
 *  - the DFS reads a node's successors from one fixed 16-byte record and
 *    prefetches the record of the node 2^AHEAD_PASSES first-successor hops
 *    ahead (lists are the long paths); visited marks are a bitset;
 *  - predecessors are translated to DFS numbers once, in block order (each
 *    lookup independent), so the semidominator loop reads them in sequence;
 *  - path compression keeps the ancestor and the least semi of the path in
 *    one 8-byte record, and before each window of vertices the paths its
 *    evals will climb are walked several at a time (walk_paths);
 *  - the passes of independent accesses (pointer doubling, predecessors,
 *    results) run on two threads.
 * Semi-NCA's walk up the dominator tree is quadratic on contrived graphs;
 * past a budget of steps, jump pointers make each walk O(log depth).
 * (Transparent huge pages were tried: the page faults' compaction stalls
 * cost more than the TLB misses they save.)
 *
 * Memory: temporary arrays are freed as soon as they are done with; the peak
 * is about 32 bytes a node (the DFS records, then the predecessors by DFS
 * number at 4 bytes an edge), besides the results (12 bytes a block). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "dominators.h"
#include "succrec.h"
#include "u32vec.h"

#define NONE UINT32_MAX

static inline int bit_set(const uint64_t *bits, uint32_t i)
{
    return (int)((bits[i >> 6] >> (i & 63)) & 1);
}

/* The virtual root's and the groups' edges into the blocks, both ways. */
struct dom_entries {
    uint32_t ngroups;
    uint32_t *src_off;   /* ngroups + 2: successors of node 0 (root) and of nodes 1..ngroups */
    uint32_t *src;       /* node ids */
    uint32_t *tgt_off;   /* nblocks + 1: per block, where its entry predecessors are */
    uint32_t *tgt;       /* node ids: 0 (the root) or 1 + group */
};

static void entries_free(struct dom_entries *en)
{
    free(en->src_off);
    free(en->src);
    free(en->tgt_off);
    free(en->tgt);
    memset(en, 0, sizeof *en);
}

void dominators_deinit(struct dominators *d)
{
    if (!d)
        return;
    free(d->idom);
    free(d->retained);
    free(d->group_retained);
    memset(d, 0, sizeof *d);
}

/* The passes that make independent random accesses (no chains) run in two
 * halves, one on a helper thread: the graph build uses both cores too. */
typedef void (*range_fn)(void *ctx, uint32_t lo, uint32_t hi);

struct range_job {
    range_fn fn;
    void *ctx;
    uint32_t lo, hi;
};

static void *range_job_run(void *arg)
{
    struct range_job *j = arg;
    j->fn(j->ctx, j->lo, j->hi);
    return NULL;
}

/* fn over [lo, hi), split in two when worth a thread. */
static void par_range(range_fn fn, void *ctx, uint32_t lo, uint32_t hi)
{
    if (hi - lo < (1u << 16)) {
        fn(ctx, lo, hi);
        return;
    }
    uint32_t mid = lo + (hi - lo) / 2;
    struct range_job j = { fn, ctx, lo, mid };
    pthread_t th;
    if (pthread_create(&th, NULL, range_job_run, &j) != 0) {
        fn(ctx, lo, hi);
        return;
    }
    fn(ctx, mid, hi);
    pthread_join(th, NULL);
}

/* --- 1. the DFS -------------------------------------------------------------------
 * Each node's successors sit in a succ_rec (succrec.h), whose `ahead` record
 * is prefetched on each visit. Visited marks are a bitset (it stays in
 * cache). The stack holds every pushed (node, parent) pair, so backtracking
 * needs no record again. */

struct dfs_in {
    const struct graph *g;
    const uint64_t *in_set;
    const struct dom_entries *en;
    uint32_t base, N;
};

/* A node's successor list: the entries' lists for the root and groups, the
 * forward edges (to blocks of the set) for blocks. */
static inline uint32_t succ_list(const struct dfs_in *in, uint32_t v, const uint32_t **list, uint32_t *add)
{
    if (v < in->base) {
        *list = in->en->src + in->en->src_off[v];
        *add = 0;
        return in->en->src_off[v + 1] - in->en->src_off[v];
    }
    uint32_t b = v - in->base;
    *list = in->g->fwd + in->g->fwd_off[b];
    *add = in->base;
    return in->g->fwd_off[b + 1] - in->g->fwd_off[b];
}

static inline int succ_ok(const struct dfs_in *in, uint32_t s)
{
    return s < in->base || !in->in_set || bit_set(in->in_set, s - in->base);
}

/* first[v]: v's first successor (NONE: none, or v is out of the set). */
static int build_records(const struct dfs_in *in, struct succ_rec *rec, uint32_t *first, struct u32vec *ovf,
                         struct u32vec *ovf_off)
{
    if (u32vec_push(ovf_off, 0))
        return -1;
    for (uint32_t v = 0; v < in->N; v++) {
        first[v] = NONE;
        if (!succ_ok(in, v))
            continue;   /* never visited: its record is never read */
        const uint32_t *list;
        uint32_t add, len = succ_list(in, v, &list, &add);
        struct succ_builder b;
        succ_begin(&b);
        for (uint32_t i = 0; i < len; i++) {
            uint32_t s = list[i] + add;
            if (succ_ok(in, s) && succ_add(&b, s, ovf))
                return -1;
        }
        if (succ_finish(&b, ovf, ovf_off))
            return -1;
        first[v] = b.r.s[0];
        rec[v] = b.r;
    }
    return 0;
}

/* ahead <- the node 2^AHEAD_PASSES first-successor hops away (NONE if the
 * path ends): pointer doubling over two u32 arrays (a starts as each node's
 * first successor), each pass independent random reads. */
struct ahead_ctx {
    const struct dfs_in *in;
    struct succ_rec *rec;
    const uint32_t *from;
    uint32_t *to;
};

static void ahead_step(void *p, uint32_t lo, uint32_t hi)
{
    struct ahead_ctx *c = p;
    for (uint32_t v = lo; v < hi; v++)
        c->to[v] = c->from[v] == NONE ? NONE : c->from[c->from[v]];
}

static void ahead_store(void *p, uint32_t lo, uint32_t hi)
{
    struct ahead_ctx *c = p;
    for (uint32_t v = lo; v < hi; v++)
        if (succ_ok(c->in, v))
            c->rec[v].ahead = c->from[v];
}

static void build_ahead(const struct dfs_in *in, struct succ_rec *rec, uint32_t *a, uint32_t *b)
{
    struct ahead_ctx c = { in, rec, a, b };
    for (int pass = 0; pass < AHEAD_PASSES; pass++) {
        par_range(ahead_step, &c, 0, in->N);
        uint32_t *t = (uint32_t *)c.from;
        c.from = c.to;
        c.to = t;
    }
    par_range(ahead_store, &c, 0, in->N);
}

/* Preorder numbers from the root: pre[node], vert[i], parent[i] (N entries
 * each). Returns the count reached, or NONE when out of memory. */
static uint32_t dfs(const struct dfs_in *in, uint32_t *pre, uint32_t *vert, uint32_t *parent)
{
    uint32_t N = in->N;
    struct succ_rec *rec = malloc((size_t)N * sizeof *rec);
    uint64_t *seen = calloc(((size_t)N + 64) / 64, sizeof *seen);
    struct u32vec ovf = { 0 }, ovf_off = { 0 };
    uint64_t *stack = NULL;
    size_t sp = 0, cap = 0;
    uint32_t cnt = NONE;
    if (!rec || !seen || build_records(in, rec, vert, &ovf, &ovf_off))
        goto out;
    build_ahead(in, rec, vert, parent);   /* both are scratch until the DFS */
    cap = 1024;
    stack = malloc(cap * sizeof *stack);
    if (!stack)
        goto out;
    cnt = 0;
    stack[sp++] = (uint64_t)NONE << 32;   /* (parent NONE, node 0) */
    while (sp) {
        uint64_t e = stack[--sp];
        uint32_t v = (uint32_t)e, p = (uint32_t)(e >> 32);
        if (sp >= 8)   /* backtracking pops these next: fetch their records early */
            __builtin_prefetch(&rec[(uint32_t)stack[sp - 8]]);
        if (bit_set(seen, v))
            continue;
        seen[v >> 6] |= 1ull << (v & 63);
        uint32_t w = cnt++;
        pre[v] = w;
        vert[w] = v;
        parent[w] = p;
        struct succ_rec r = rec[v];
        if (r.ahead != NONE)
            __builtin_prefetch(&rec[r.ahead]);
        /* push the successors, last first, so that s[0] is visited first */
        size_t need = sp + 3;
        uint32_t olen;
        const uint32_t *ol = succ_overflow(&r, &ovf, &ovf_off, &olen);
        need += olen;
        if (need > cap) {
            size_t ncap = cap * 2 > need ? cap * 2 : need;
            uint64_t *ns = realloc(stack, ncap * sizeof *ns);
            if (!ns) {
                cnt = NONE;
                goto out;
            }
            stack = ns;
            cap = ncap;
        }
        uint64_t hi = (uint64_t)w << 32;
        for (uint32_t i = olen; i-- > 0;)
            if (!bit_set(seen, ol[i]))
                stack[sp++] = hi | ol[i];
        for (int i = ol ? 1 : 2; i >= 0; i--)
            if (r.s[i] != NONE && !bit_set(seen, r.s[i]))
                stack[sp++] = hi | r.s[i];
    }
out:
    free(stack);
    free(rec);
    free(seen);
    free(ovf.v);
    free(ovf_off.v);
    return cnt;
}

/* --- 2. semidominators and immediate dominators ------------------------------------- */

/* Per DFS number, what path compression touches together: the forest
 * ancestor and the least semidominator on the compressed path above. */
struct ltn {
    uint32_t anc, lsemi;
};

struct cstack {
    uint32_t *v;
    size_t n, cap;
};

/* The least semidominator on the forest path from linked vertex v (linked:
 * > thr) up to its tree root, root excluded, compressing the path; NONE when
 * out of memory. */
static inline uint32_t lt_eval(struct ltn *L, struct cstack *cs, uint32_t v, uint32_t thr)
{
    if (L[v].anc > thr) {
        uint32_t x = v;
        cs->n = 0;
        while (L[x].anc > thr) {
            if (cs->n == cs->cap) {
                size_t cap = cs->cap ? cs->cap * 2 : 1024;
                uint32_t *nv = realloc(cs->v, cap * sizeof *nv);
                if (!nv)
                    return NONE;
                cs->v = nv;
                cs->cap = cap;
            }
            cs->v[cs->n++] = x;
            x = L[x].anc;
        }
        /* x's ancestor is the tree root: x is right; fix the others top-down */
        while (cs->n) {
            uint32_t y = cs->v[--cs->n], a = L[y].anc;
            if (L[a].lsemi < L[y].lsemi)
                L[y].lsemi = L[a].lsemi;
            L[y].anc = L[a].anc;
        }
    }
    return L[v].lsemi;
}

#ifndef NCA_BUDGET   /* overridable to test the jump pointers */
#define NCA_BUDGET(cnt) (8ull * (cnt) + (1u << 20))
#endif

/* Jump pointer of v, whose idom dom[v] < v has its own already. */
static inline void set_jump(uint32_t *jump, uint32_t *depth, const uint32_t *dom, uint32_t v)
{
    uint32_t p = dom[v], jp = jump[p];
    jump[v] = depth[p] - depth[jp] == depth[jp] - depth[jump[jp]] ? jump[jp] : p;
    depth[v] = depth[p] + 1;
}

/* The semidominator loop goes by windows of SEMI_WINDOW vertices. Before a
 * window, the forest paths its evals will climb are walked once, NWALK
 * paths at a time in round robin: a path is a chain of dependent misses,
 * but NWALK of them overlap. Only vertices above the window (linked, final)
 * are walked and nothing is written, so the evals that follow, in order,
 * find their paths in the cache. */
#define SEMI_WINDOW 64
#define NWALK 16

static void walk_paths(const struct ltn *L, const uint32_t *doff, const uint32_t *dpred, uint32_t lo, uint32_t hi)
{
    uint32_t cur[NWALK], k = doff[lo], end = doff[hi + 1];
    int n = 0;
    for (;;) {
        while (n < NWALK && k < end) {
            uint32_t pv = dpred[k++];
            if (pv > hi && pv != NONE)
                cur[n++] = pv;
        }
        if (!n)
            return;
        for (int i = 0; i < n;) {
            uint32_t a = L[cur[i]].anc;
            if (a > hi)
                cur[i++] = a;
            else
                cur[i] = cur[--n];
        }
    }
}

/* Predecessors by DFS number (dom_run), in block order: count, then fill. */
struct preds_ctx {
    const struct graph *g;
    const struct dom_entries *en;
    const uint32_t *pre;
    uint32_t *doff, *dpred;
    uint32_t base;
};

static void preds_count(void *p, uint32_t lo, uint32_t hi)
{
    struct preds_ctx *c = p;
    const struct graph *g = c->g;
    for (uint32_t b = lo; b < hi; b++) {
        uint32_t w = c->pre[c->base + b];
        if (w != NONE)
            c->doff[w + 1] = (g->rev_off[b + 1] - g->rev_off[b]) + (c->en->tgt_off[b + 1] - c->en->tgt_off[b]);
    }
}

static void preds_fill(void *p, uint32_t lo, uint32_t hi)
{
    struct preds_ctx *c = p;
    const struct graph *g = c->g;
    const uint32_t *pre = c->pre;
    for (uint32_t b = lo; b < hi; b++) {
        uint32_t w = pre[c->base + b];
        if (w == NONE)
            continue;
        uint32_t *out = c->dpred + c->doff[w];
        for (uint32_t k = g->rev_off[b]; k < g->rev_off[b + 1]; k++)
            *out++ = pre[c->base + g->rev[k]];
        for (uint32_t k = c->en->tgt_off[b]; k < c->en->tgt_off[b + 1]; k++)
            *out++ = pre[c->en->tgt[k]];
    }
}

/* Results (dom_run): each vertex's own size, then, once summed up the
 * tree, the per-block answers. */
struct results_ctx {
    const uint32_t *vert, *dom;
    uint64_t *acc;
    const struct block_table *t;
    struct dominators *d;
    uint32_t base;
};

static void results_sizes(void *p, uint32_t lo, uint32_t hi)
{
    struct results_ctx *c = p;
    for (uint32_t w = lo; w < hi; w++) {
        uint32_t node = c->vert[w], b = node - c->base;
        c->acc[w] = node >= c->base && bit_set(c->t->inuse_bits, b) ? c->t->blocks[b].size : 0;
    }
}

static void results_store(void *p, uint32_t lo, uint32_t hi)
{
    struct results_ctx *c = p;
    uint32_t base = c->base;
    for (uint32_t w = lo; w < hi; w++) {
        uint32_t node = c->vert[w], pn = c->vert[c->dom[w]];
        if (node >= base) {
            c->d->idom[node - base] = pn == 0 ? DOM_ROOT : pn < base ? (DOM_GROUP | (pn - 1)) : pn - base;
            c->d->retained[node - base] = c->acc[w];
        } else {
            c->d->group_retained[node - 1] = c->acc[w];
        }
    }
}

/* The core: dominators of every block reached from the root through the
 * entries and then block edges between blocks of in_set (NULL: all). On
 * success d is filled; *order_ret (optional) gets the reached blocks in
 * preorder (each after its idom), *norder_ret their count. */
static struct retain_error *dom_run(const struct graph *g, const struct block_table *t, const uint64_t *in_set,
                                    const struct dom_entries *en, struct dominators *d,
                                    uint32_t **order_ret, uint32_t *norder_ret)
{
    memset(d, 0, sizeof *d);
    uint32_t n = g->nblocks, G = en->ngroups;
    if (t->n != n)
        return retain_errorf("dominators: the graph has %u blocks, the block table %u", n, t->n);
    if (G >= DOM_GROUP || (uint64_t)n + G + 2 >= (uint64_t)DOM_GROUP)
        return retain_errorf("dominators: too many nodes (%u blocks, %u groups)", n, G);
    uint32_t base = 1 + G, N = base + n;
    struct retain_error *err = NULL;
    uint32_t *pre = malloc((size_t)N * sizeof *pre);
    uint32_t *vert = malloc((size_t)N * sizeof *vert);
    uint32_t *parent = malloc((size_t)N * sizeof *parent);
    uint32_t *doff = NULL, *dpred = NULL, *dom = NULL, *semi = NULL, *jump = NULL, *depth = NULL;
    struct ltn *L = NULL;
    struct cstack cs = { 0 };
    uint64_t *acc = NULL;
    if (!pre || !vert || !parent) {
        err = retain_errorf("out of memory for dominators (%u nodes)", N);
        goto out;
    }
    memset(pre, 0xff, (size_t)N * sizeof *pre);
    struct dfs_in in = { g, in_set, en, base, N };
    uint32_t cnt = dfs(&in, pre, vert, parent);
    if (cnt == NONE) {
        err = retain_errorf("out of memory for dominators (the DFS over %u nodes)", N);
        goto out;
    }

    /* Predecessors by DFS number, as DFS numbers (NONE: not reached), so the
     * semidominator loop reads them in sequence: built in block order, where
     * the reverse edges are in sequence and each lookup is independent. */
    doff = malloc(((size_t)cnt + 1) * sizeof *doff);
    if (!doff) {
        err = retain_errorf("out of memory for dominators (%u nodes)", cnt);
        goto out;
    }
    memset(doff, 0, ((size_t)cnt + 1) * sizeof *doff);
    struct preds_ctx pc = { g, en, pre, doff, NULL, base };
    par_range(preds_count, &pc, 0, n);
    for (uint32_t w = 0; w < cnt; w++) {
        if ((uint64_t)doff[w + 1] + doff[w] >= NONE) {
            err = retain_errorf("dominators: too many edges");
            goto out;
        }
        doff[w + 1] += doff[w];
    }
    dpred = malloc(((size_t)doff[cnt] + 1) * sizeof *dpred);
    if (!dpred) {
        err = retain_errorf("out of memory for dominators (%u edges)", doff[cnt]);
        goto out;
    }
    pc.dpred = dpred;
    par_range(preds_fill, &pc, 0, n);
    free(pre);
    pre = NULL;

    /* Semidominators in reverse preorder (the forest: every vertex > w is
     * linked, to its DFS parent; L[].anc starts as the parent), then
     * immediate dominators in preorder as the nearest common ancestor of the
     * parent and the semidominator (Semi-NCA). dom[] starts as the parent. */
    L = malloc(((size_t)cnt + 1) * sizeof *L);
    semi = malloc(((size_t)cnt + 1) * sizeof *semi);
    if (!L || !semi) {
        err = retain_errorf("out of memory for dominators (%u nodes)", cnt);
        goto out;
    }
    for (uint32_t i = 0; i < cnt; i++)
        L[i] = (struct ltn){ parent[i], i };
    dom = parent;
    parent = NULL;
    semi[0] = 0;
    for (uint32_t hi = cnt - 1; hi >= 1;) {
        uint32_t lo = hi > SEMI_WINDOW ? hi - SEMI_WINDOW + 1 : 1;
        walk_paths(L, doff, dpred, lo, hi);
        for (uint32_t w = hi; w >= lo; w--) {
            uint32_t s = dom[w];
            if (vert[w] >= base) {
                for (uint32_t k = doff[w]; k < doff[w + 1]; k++) {
                    uint32_t pv = dpred[k], c;
                    if (pv <= w)
                        c = pv;
                    else if (pv == NONE)
                        continue;
                    else if ((c = lt_eval(L, &cs, pv, w)) == NONE)
                        goto oom;
                    if (c < s)
                        s = c;
                }
            } else {
                s = 0;   /* a group: only the root points at it */
            }
            semi[w] = L[w].lsemi = s;
        }
        hi = lo - 1;
    }
    free(L);
    L = NULL;
    free(dpred);
    dpred = NULL;
    free(doff);
    doff = NULL;
    /* The walk up the dominator tree is short on heaps; against the graphs
     * that make it quadratic (a long chain whose two ends both point at many
     * blocks), past a budget of steps every vertex gets a jump pointer
     * (skew-binary: O(log depth) ancestor searches, numbers decrease upwards). */
    dom[0] = 0;
    uint64_t steps = 0, budget = NCA_BUDGET(cnt);
    for (uint32_t w = 1; w < cnt; w++) {
        uint32_t x = dom[w], sw = semi[w];
        if (!jump) {
            while (x > sw) {
                x = dom[x];
                steps++;
            }
        } else {
            while (x > sw)
                x = jump[x] > sw ? jump[x] : dom[x];
        }
        dom[w] = x;
        if (!jump && steps > budget) {
            jump = malloc(((size_t)cnt + 1) * sizeof *jump);
            depth = malloc(((size_t)cnt + 1) * sizeof *depth);
            if (!jump || !depth) {
                err = retain_errorf("out of memory for dominators (%u nodes)", cnt);
                goto out;
            }
            jump[0] = depth[0] = 0;
            for (uint32_t v = 1; v < w; v++)
                set_jump(jump, depth, dom, v);
        }
        if (jump)
            set_jump(jump, depth, dom, w);
    }
    dom[0] = NONE;
    free(semi);
    semi = NULL;
    free(jump);
    jump = NULL;
    free(depth);
    depth = NULL;

    /* Results: retained sizes summed by DFS number in reverse preorder (every
     * vertex comes after its idom in preorder), then per block. */
    d->n = n;
    d->ngroups = G;
    d->idom = malloc(((size_t)n + 1) * sizeof *d->idom);
    d->retained = calloc((size_t)n + 1, sizeof *d->retained);
    d->group_retained = calloc((size_t)G + 1, sizeof *d->group_retained);
    acc = malloc(((size_t)cnt + 1) * sizeof *acc);
    if (!d->idom || !d->retained || !d->group_retained || !acc) {
        err = retain_errorf("out of memory for dominators (%u blocks)", n);
        goto out;
    }
    memset(d->idom, 0xff, ((size_t)n + 1) * sizeof *d->idom);
    acc[0] = 0;
    struct results_ctx rc = { vert, dom, acc, t, d, base };
    par_range(results_sizes, &rc, 1, cnt);
    for (uint32_t w = cnt - 1; w >= 1; w--)
        acc[dom[w]] += acc[w];
    d->reachable_bytes = acc[0];
    par_range(results_store, &rc, 1, cnt);

    if (order_ret) {   /* the blocks of vert[] in preorder, reusing vert */
        uint32_t k = 0;
        for (uint32_t w = 1; w < cnt; w++)
            if (vert[w] >= base)
                vert[k++] = vert[w] - base;
        *order_ret = vert;
        *norder_ret = k;
        vert = NULL;
    }
    goto out;
oom:
    err = retain_errorf("out of memory for dominators (path compression)");
out:
    free(pre);
    free(vert);
    free(parent);
    free(doff);
    free(dpred);
    free(L);
    free(dom);
    free(semi);
    free(jump);
    free(depth);
    free(cs.v);
    free(acc);
    if (err)
        dominators_deinit(d);
    return err;
}

struct retain_error *dominators_compute(const struct graph *g, const struct block_table *t,
                                        const uint32_t *redge_group, uint32_t ngroups,
                                        struct dominators *d)
{
    memset(d, 0, sizeof *d);
    if (!redge_group)
        ngroups = 0;
    if (g->nredges >= UINT32_MAX || ngroups >= DOM_GROUP)
        return retain_errorf("dominators: too many root edges (%llu) or groups (%u)",
                             (unsigned long long)g->nredges, ngroups);
    uint32_t n = g->nblocks, R = (uint32_t)g->nredges;
    struct dom_entries en = { .ngroups = ngroups };
    en.src_off = calloc((size_t)ngroups + 2, sizeof *en.src_off);
    en.tgt_off = calloc((size_t)n + 1, sizeof *en.tgt_off);
    en.src = malloc(((size_t)R + ngroups + 1) * sizeof *en.src);
    en.tgt = malloc(((size_t)R + 1) * sizeof *en.tgt);
    if (!en.src_off || !en.tgt_off || !en.src || !en.tgt) {
        entries_free(&en);
        return retain_errorf("out of memory for dominators (%llu root edges)", (unsigned long long)R);
    }
    const struct root_edge *re = g->redges;
    for (uint32_t i = 0; i < R; i++) {
        if (re[i].target >= n) {
            entries_free(&en);
            return retain_errorf("dominators: root edge %u targets block %u of %u", i, re[i].target, n);
        }
        if (i && re[i].target < re[i - 1].target) {   /* the running fill below relies on it */
            entries_free(&en);
            return retain_errorf("dominators: root edges are not sorted by target");
        }
        if (redge_group && redge_group[i] != UINT32_MAX && redge_group[i] >= ngroups) {
            entries_free(&en);
            return retain_errorf("dominators: root edge %u is in group %u of %u", i, redge_group[i], ngroups);
        }
    }

    /* Predecessors by target (root edges are sorted by target): the root, or
     * each group, once per run of equal (target, group). */
    uint32_t prev_b = NONE, prev_p = NONE, ntgt = 0;
    for (uint32_t i = 0; i < R; i++) {
        uint32_t gr = redge_group ? redge_group[i] : 0;
        if (gr == UINT32_MAX)
            continue;
        uint32_t b = re[i].target, p = redge_group ? 1 + gr : 0;
        if (b == prev_b && p == prev_p)
            continue;
        prev_b = b;
        prev_p = p;
        en.tgt_off[b + 1]++;
        en.tgt[ntgt++] = p;   /* in target order already: a running fill */
    }
    for (uint32_t b = 0; b < n; b++)
        en.tgt_off[b + 1] += en.tgt_off[b];

    /* Successors: root -> groups -> targets, or root -> targets. */
    if (!ngroups) {
        uint32_t k = 0;
        prev_b = NONE;
        for (uint32_t i = 0; i < R; i++) {
            uint32_t b = re[i].target;
            if (b != prev_b)
                en.src[k++] = 1 + b;   /* base is 1 without groups */
            prev_b = b;
        }
        en.src_off[0] = 0;
        en.src_off[1] = k;
    } else {
        /* src_off[1 + gr + 1] counts group gr's targets; node 0 lists the groups */
        uint32_t *last = malloc((size_t)ngroups * sizeof *last);
        if (!last) {
            entries_free(&en);
            return retain_errorf("out of memory for dominators (%u groups)", ngroups);
        }
        memset(last, 0xff, (size_t)ngroups * sizeof *last);
        for (uint32_t i = 0; i < R; i++) {
            uint32_t gr = redge_group[i];
            if (gr == UINT32_MAX || last[gr] == re[i].target)
                continue;
            last[gr] = re[i].target;
            en.src_off[gr + 2]++;
        }
        en.src_off[0] = 0;
        en.src_off[1] = ngroups;
        for (uint32_t gr = 0; gr < ngroups; gr++) {
            en.src[gr] = 1 + gr;
            en.src_off[gr + 2] += en.src_off[gr + 1];
        }
        /* fill: last[] again, the running position in fill[] */
        uint32_t *fill = malloc((size_t)ngroups * sizeof *fill);
        if (!fill) {
            free(last);
            entries_free(&en);
            return retain_errorf("out of memory for dominators (%u groups)", ngroups);
        }
        memcpy(fill, en.src_off + 1, (size_t)ngroups * sizeof *fill);
        memset(last, 0xff, (size_t)ngroups * sizeof *last);
        uint32_t base = 1 + ngroups;
        for (uint32_t i = 0; i < R; i++) {
            uint32_t gr = redge_group[i];
            if (gr == UINT32_MAX || last[gr] == re[i].target)
                continue;
            last[gr] = re[i].target;
            en.src[fill[gr]++] = base + re[i].target;
        }
        free(fill);
        free(last);
    }
    struct retain_error *err = dom_run(g, t, NULL, &en, d, NULL, NULL);
    entries_free(&en);
    return err;
}

struct retain_error *dominators_compute_groups(const struct graph *g, const struct block_table *t,
                                               const uint64_t *in_set, const uint32_t *group_first,
                                               const uint32_t *members, uint32_t ngroups,
                                               struct dominators *d, uint32_t **order_ret,
                                               uint32_t *norder_ret)
{
    memset(d, 0, sizeof *d);
    if (ngroups >= DOM_GROUP)
        return retain_errorf("dominators: too many groups (%u)", ngroups);
    uint32_t n = g->nblocks, M = group_first[ngroups], base = 1 + ngroups;
    struct dom_entries en = { .ngroups = ngroups };
    en.src_off = malloc(((size_t)ngroups + 2) * sizeof *en.src_off);
    en.src = malloc(((size_t)ngroups + M + 1) * sizeof *en.src);
    en.tgt_off = calloc((size_t)n + 1, sizeof *en.tgt_off);
    en.tgt = malloc(((size_t)M + 1) * sizeof *en.tgt);
    if (!en.src_off || !en.src || !en.tgt_off || !en.tgt) {
        entries_free(&en);
        return retain_errorf("out of memory for dominators (%u groups)", ngroups);
    }
    en.src_off[0] = 0;
    for (uint32_t k = 0; k < ngroups; k++) {
        en.src[k] = 1 + k;
        en.src_off[k + 1] = ngroups + group_first[k];
    }
    en.src_off[ngroups + 1] = ngroups + M;
    for (uint32_t i = 0; i < M; i++) {
        if (members[i] >= n) {
            entries_free(&en);
            return retain_errorf("dominators: entry block %u of %u", members[i], n);
        }
        en.src[ngroups + i] = base + members[i];
        en.tgt_off[members[i] + 1]++;
    }
    for (uint32_t b = 0; b < n; b++)
        en.tgt_off[b + 1] += en.tgt_off[b];
    uint32_t *fill = malloc(((size_t)n + 1) * sizeof *fill);
    if (!fill) {
        entries_free(&en);
        return retain_errorf("out of memory for dominators (%u blocks)", n);
    }
    memcpy(fill, en.tgt_off, ((size_t)n + 1) * sizeof *fill);
    for (uint32_t k = 0; k < ngroups; k++)
        for (uint32_t i = group_first[k]; i < group_first[k + 1]; i++)
            en.tgt[fill[members[i]]++] = 1 + k;
    free(fill);
    struct retain_error *err = dom_run(g, t, in_set, &en, d, order_ret, norder_ret);
    entries_free(&en);
    return err;
}

struct retain_error *dominators_compute_subset(const struct graph *g, const struct block_table *t,
                                               const uint64_t *in_set, const uint32_t *entries,
                                               uint32_t nentries, struct dominators *d)
{
    memset(d, 0, sizeof *d);
    uint32_t n = g->nblocks;
    struct dom_entries en = { .ngroups = 0 };
    en.src_off = malloc(2 * sizeof *en.src_off);
    en.src = malloc(((size_t)nentries + 1) * sizeof *en.src);
    en.tgt_off = calloc((size_t)n + 1, sizeof *en.tgt_off);
    en.tgt = calloc((size_t)nentries + 1, sizeof *en.tgt);   /* every entry's predecessor is the root: 0 */
    if (!en.src_off || !en.src || !en.tgt_off || !en.tgt) {
        entries_free(&en);
        return retain_errorf("out of memory for dominators (%u entries)", nentries);
    }
    en.src_off[0] = 0;
    en.src_off[1] = nentries;
    for (uint32_t i = 0; i < nentries; i++) {
        if (entries[i] >= n) {
            entries_free(&en);
            return retain_errorf("dominators: entry block %u of %u", entries[i], n);
        }
        en.src[i] = 1 + entries[i];
        en.tgt_off[entries[i] + 1]++;
    }
    for (uint32_t b = 0; b < n; b++)
        en.tgt_off[b + 1] += en.tgt_off[b];
    struct retain_error *err = dom_run(g, t, in_set, &en, d, NULL, NULL);
    entries_free(&en);
    return err;
}

int dominators_dominates(const struct dominators *d, uint32_t a, uint32_t b)
{
    if (!d->idom || a >= d->n || b >= d->n || d->idom[a] == DOM_NONE || d->idom[b] == DOM_NONE)
        return 0;
    for (uint32_t x = b;;) {
        if (x == a)
            return 1;
        uint32_t up = d->idom[x];
        if (up == DOM_ROOT || up == DOM_NONE || (up & DOM_GROUP))
            return 0;
        x = up;
    }
}
