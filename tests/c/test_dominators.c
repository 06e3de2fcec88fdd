/* Dominators and retained sizes on synthetic graphs built directly as
 * struct graph / struct block_table arrays: a tree, a diamond, a DAG with
 * shared subtrees, cycles, root groups, a million-long chain, and random
 * small graphs (seeded) against a brute-force dominator computation. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "dominators.h"

/* --- synthetic graphs ------------------------------------------------------------- */

#include "synth_graph.h"

/* --- fixed shapes -------------------------------------------------------------------- */

static void test_tree(void)
{
    /* root -> 0; 0 -> 1, 2; 1 -> 3, 4; 2 -> 5; sizes 10, 20, ... */
    uint64_t sz[6] = { 10, 20, 30, 40, 50, 60 };
    struct synth s;
    synth_init(&s, 6, sz);
    synth_root(&s, 0x5000, 0);
    synth_edge(&s, 0, 1);
    synth_edge(&s, 0, 2);
    synth_edge(&s, 1, 3);
    synth_edge(&s, 1, 4);
    synth_edge(&s, 2, 5);
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.idom[0] == DOM_ROOT);
    CHECK(d.idom[1] == 0 && d.idom[2] == 0 && d.idom[3] == 1 && d.idom[4] == 1 && d.idom[5] == 2);
    CHECK(d.retained[0] == 210 && d.retained[1] == 110 && d.retained[2] == 90);
    CHECK(d.retained[3] == 40 && d.retained[4] == 50 && d.retained[5] == 60);
    CHECK(d.reachable_bytes == 210);
    CHECK(dominators_dominates(&d, 0, 5) && dominators_dominates(&d, 1, 4) && dominators_dominates(&d, 4, 4));
    CHECK(!dominators_dominates(&d, 1, 5) && !dominators_dominates(&d, 5, 0));
    dominators_deinit(&d);
    synth_deinit(&s);
}

static void test_diamond(void)
{
    /* root -> A(0); A -> B(1), C(2); B -> D(3); C -> D; D -> E(4) */
    uint64_t sz[5] = { 1, 2, 4, 8, 16 };
    struct synth s;
    synth_init(&s, 5, sz);
    synth_root(&s, 0x5000, 0);
    synth_edge(&s, 0, 1);
    synth_edge(&s, 0, 2);
    synth_edge(&s, 1, 3);
    synth_edge(&s, 2, 3);
    synth_edge(&s, 3, 4);
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.idom[3] == 0 && d.idom[1] == 0 && d.idom[2] == 0 && d.idom[4] == 3);
    CHECK(d.retained[1] == 2 && d.retained[2] == 4 && d.retained[3] == 24 && d.retained[0] == 31);
    CHECK(!dominators_dominates(&d, 1, 3) && !dominators_dominates(&d, 2, 3));
    dominators_deinit(&d);
    synth_deinit(&s);
}

static void test_dag_shared(void)
{
    /* two roots: r1 -> 0, r2 -> 1; 0 -> 2 -> 4; 1 -> 3 -> 4; 4 -> 5, 6; 0 -> 7;
     * 4's subtree is shared: idom(4) is the root; 0 keeps 2 and 7 only. Block 8
     * is free, block 9 unreachable. */
    uint64_t sz[10] = { 1, 2, 4, 8, 16, 32, 64, 128, 256, 512 };
    struct synth s;
    synth_init(&s, 10, sz);
    synth_free(&s, 8);
    synth_root(&s, 0x5000, 0);
    synth_root(&s, 0x5008, 1);
    synth_edge(&s, 0, 2);
    synth_edge(&s, 2, 4);
    synth_edge(&s, 1, 3);
    synth_edge(&s, 3, 4);
    synth_edge(&s, 4, 5);
    synth_edge(&s, 4, 6);
    synth_edge(&s, 0, 7);
    synth_edge(&s, 9, 0);   /* an unreachable referrer changes nothing */
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.idom[4] == DOM_ROOT && d.idom[5] == 4 && d.idom[6] == 4 && d.idom[7] == 0 && d.idom[2] == 0);
    CHECK(d.idom[8] == DOM_NONE && d.idom[9] == DOM_NONE);
    CHECK(d.retained[0] == 1 + 4 + 128 && d.retained[1] == 2 + 8 && d.retained[4] == 16 + 32 + 64);
    CHECK(d.retained[8] == 0 && d.retained[9] == 0);
    CHECK(d.reachable_bytes == 255);
    dominators_deinit(&d);
    synth_deinit(&s);
}

static void test_cycles(void)
{
    /* root -> 0; 0 -> 1 -> 2 -> 0 (a cycle through the entry), 2 -> 3 -> 4 -> 3
     * (a cycle below), 1 -> 1 (a self loop) */
    uint64_t sz[5] = { 1, 2, 4, 8, 16 };
    struct synth s;
    synth_init(&s, 5, sz);
    synth_root(&s, 0x5000, 0);
    synth_edge(&s, 0, 1);
    synth_edge(&s, 1, 2);
    synth_edge(&s, 2, 0);
    synth_edge(&s, 2, 3);
    synth_edge(&s, 3, 4);
    synth_edge(&s, 4, 3);
    synth_edge(&s, 1, 1);
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.idom[0] == DOM_ROOT && d.idom[1] == 0 && d.idom[2] == 1 && d.idom[3] == 2 && d.idom[4] == 3);
    CHECK(d.retained[0] == 31 && d.retained[3] == 24 && d.retained[4] == 16);
    dominators_deinit(&d);
    synth_deinit(&s);
}

static void test_groups(void)
{
    /* root edges: 0: g0 -> 0, 1: g1 -> 0 (two globals, same block: idom is
     * the root), 2,3: g2 -> 1 twice and g2 -> 2 (group 2 alone reaches 1, 2
     * and, through both, 3), 4: left out -> 4 (only reached that way: 4 is
     * unreachable then) */
    uint64_t sz[5] = { 1, 2, 4, 8, 16 };
    struct synth s;
    synth_init(&s, 5, sz);
    synth_root(&s, 0x5000, 0);
    synth_root(&s, 0x6000, 0);
    synth_root(&s, 0x7000, 1);
    synth_root(&s, 0x7008, 1);
    synth_root(&s, 0x7010, 2);
    synth_root(&s, 0x8000, 4);
    synth_edge(&s, 1, 3);
    synth_edge(&s, 2, 3);
    synth_finish(&s);
    /* s.g.redges sorted by target then slot: order as added */
    uint32_t groups[6] = { 0, 1, 2, 2, 2, UINT32_MAX };
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, groups, 3, &d) == NULL);
    CHECK(d.ngroups == 3);
    CHECK(d.idom[0] == DOM_ROOT);
    CHECK(d.idom[1] == (DOM_GROUP | 2) && d.idom[2] == (DOM_GROUP | 2) && d.idom[3] == (DOM_GROUP | 2));
    CHECK(d.idom[4] == DOM_NONE && d.retained[4] == 0);
    CHECK(d.group_retained[0] == 0 && d.group_retained[1] == 0 && d.group_retained[2] == 14);
    CHECK(d.reachable_bytes == 15);
    dominators_deinit(&d);
    /* the same without groups: every root edge hangs off the root */
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.ngroups == 0 && d.idom[1] == DOM_ROOT && d.idom[3] == DOM_ROOT && d.idom[4] == DOM_ROOT);
    CHECK(d.reachable_bytes == 31);
    dominators_deinit(&d);
    /* a bad group number is refused */
    uint32_t bad[6] = { 0, 1, 2, 2, 7, 0 };
    struct retain_error *err = dominators_compute(&s.g, &s.t, bad, 3, &d);
    CHECK(err != NULL);
    retain_error_destroy(err);
    synth_deinit(&s);
}

static void test_empty(void)
{
    struct synth s;
    synth_init(&s, 3, NULL);
    synth_edge(&s, 0, 1);
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    CHECK(d.idom[0] == DOM_NONE && d.idom[1] == DOM_NONE && d.reachable_bytes == 0);
    dominators_deinit(&d);
    dominators_deinit(NULL);
    synth_deinit(&s);
}

static void test_chain(void)
{
    /* root -> 0 -> 1 -> ... -> N-1, plus back edges i -> i - 1 (every block
     * is on a cycle with its neighbours, which makes path compression work),
     * and a second chain reached both from the root and from the first one's
     * tail. */
    enum { N = 1000000 };
    struct synth s;
    synth_init(&s, 2 * N, NULL);
    synth_root(&s, 0x5000, 0);
    for (uint32_t i = 0; i + 1 < N; i++) {
        synth_edge(&s, i, i + 1);
        synth_edge(&s, i + 1, i);
    }
    synth_root(&s, 0x5008, N);
    synth_edge(&s, N - 1, N);
    for (uint32_t i = N; i + 1 < 2 * N; i++)
        synth_edge(&s, i, i + 1);
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    uint64_t total = 0, total1 = 0;
    for (uint32_t i = 0; i < 2 * N; i++) {
        total += s.t.blocks[i].size;
        if (i < N)
            total1 += s.t.blocks[i].size;
    }
    int ok = d.idom[0] == DOM_ROOT && d.idom[N] == DOM_ROOT;
    for (uint32_t i = 1; i < 2 * N; i++)
        if (i != N && d.idom[i] != i - 1)
            ok = 0;
    CHECK(ok);
    CHECK(d.retained[0] == total1 && d.retained[N] == total - total1);
    CHECK(d.retained[N - 1] == s.t.blocks[N - 1].size);
    CHECK(d.reachable_bytes == total);
    CHECK(dominators_dominates(&d, 0, N - 1) && !dominators_dominates(&d, 0, N + 5));
    dominators_deinit(&d);
    /* the subset of the first chain, entered at its tail: the back edges make
     * it a chain downwards */
    uint64_t *in = calloc((2 * (size_t)N + 64) / 64, sizeof *in);
    for (uint32_t i = 0; i < N; i++)
        in[i >> 6] |= 1ull << (i & 63);
    uint32_t entry = N - 1;
    CHECK(dominators_compute_subset(&s.g, &s.t, in, &entry, 1, &d) == NULL);
    ok = d.idom[N - 1] == DOM_ROOT && d.idom[N] == DOM_NONE;
    for (uint32_t i = 0; i + 1 < N; i++)
        if (d.idom[i] != i + 1)
            ok = 0;
    CHECK(ok);
    CHECK(d.retained[N - 1] == total1 && d.reachable_bytes == total1);
    dominators_deinit(&d);
    free(in);
    synth_deinit(&s);
}

static void test_ladder(void)
{
    /* root -> 0 -> 1 -> ... -> K-1 (a chain), and M blocks each pointed at by
     * both ends of the chain: the DFS reaches them from the far end, their
     * semidominator is the near end, so a plain walk up the dominator tree
     * would take K steps for each (K * M in all). */
    enum { K = 200000, M = 200000 };
    struct synth s;
    synth_init(&s, K + M, NULL);
    synth_root(&s, 0x5000, 0);
    for (uint32_t i = 0; i + 1 < K; i++)
        synth_edge(&s, i, i + 1);
    for (uint32_t j = 0; j < M; j++) {
        synth_edge(&s, 0, K + j);
        synth_edge(&s, K - 1, K + j);
    }
    synth_finish(&s);
    struct dominators d;
    CHECK(dominators_compute(&s.g, &s.t, NULL, 0, &d) == NULL);
    int ok = d.idom[0] == DOM_ROOT;
    for (uint32_t i = 1; i < K; i++)
        ok &= d.idom[i] == i - 1;
    uint64_t tail = 0, total = 0;
    for (uint32_t j = 0; j < M; j++) {
        ok &= d.idom[K + j] == 0;
        tail += s.t.blocks[K + j].size;
    }
    CHECK(ok);
    for (uint32_t i = 0; i < K + M; i++)
        total += s.t.blocks[i].size;
    CHECK(d.retained[0] == total && d.retained[K - 1] == s.t.blocks[K - 1].size);
    CHECK(d.retained[K] == s.t.blocks[K].size && d.reachable_bytes == total && tail < total);
    dominators_deinit(&d);
    synth_deinit(&s);
}

/* --- random graphs against brute force -------------------------------------------------- */

#define MAXN 80   /* nodes: root + groups + blocks */

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng_state >> 33) % n);
}

struct brute {
    uint32_t N;
    uint8_t adj[MAXN][MAXN];
    uint8_t reach[MAXN];          /* from 0 */
    uint8_t dom[MAXN][MAXN];      /* dom[v][d]: d dominates v */
};

static void brute_reach(const struct brute *b, uint32_t skip, uint8_t *seen)
{
    uint32_t q[MAXN], h = 0, tl = 0;
    memset(seen, 0, MAXN);
    if (skip == 0)
        return;
    seen[0] = 1;
    q[tl++] = 0;
    while (h < tl) {
        uint32_t v = q[h++];
        for (uint32_t w = 0; w < b->N; w++)
            if (b->adj[v][w] && !seen[w] && w != skip) {
                seen[w] = 1;
                q[tl++] = w;
            }
    }
}

static void brute_solve(struct brute *b)
{
    brute_reach(b, UINT32_MAX, b->reach);
    memset(b->dom, 0, sizeof b->dom);
    for (uint32_t d = 0; d < b->N; d++) {
        uint8_t seen[MAXN];
        brute_reach(b, d, seen);
        for (uint32_t v = 0; v < b->N; v++)
            if (b->reach[v] && (!seen[v] || v == d))
                b->dom[v][d] = 1;
    }
}

/* idom of v: the strict dominator that all other strict dominators dominate */
static uint32_t brute_idom(const struct brute *b, uint32_t v)
{
    uint32_t best = UINT32_MAX, bestn = 0;
    for (uint32_t d = 0; d < b->N; d++) {
        if (d == v || !b->dom[v][d])
            continue;
        uint32_t k = 0;
        for (uint32_t x = 0; x < b->N; x++)
            k += b->dom[d][x];
        if (best == UINT32_MAX || k > bestn) {
            best = d;
            bestn = k;
        }
    }
    return best;
}

/* Compare d with brute force on b (node = base + block; groups 1..G). */
static int compare(const struct brute *b, const struct synth *s, uint32_t G, const struct dominators *d)
{
    uint32_t base = 1 + G, n = s->t.n;
    int ok = 1;
    uint64_t want_root = 0;
    for (uint32_t v = 0; v < n; v++) {
        uint32_t node = base + v;
        uint32_t want = DOM_NONE;
        uint64_t ret = 0;
        if (b->reach[node]) {
            uint32_t id = brute_idom(b, node);
            want = id == 0 ? DOM_ROOT : id < base ? (DOM_GROUP | (id - 1)) : id - base;
            for (uint32_t x = base; x < b->N; x++)
                if (b->dom[x][node] && ((s->t.inuse_bits[(x - base) >> 6] >> ((x - base) & 63)) & 1))
                    ret += s->t.blocks[x - base].size;
            want_root += s->t.blocks[v].size;
        }
        if (d->idom[v] != want || d->retained[v] != ret) {
            if (ok)
                fprintf(stderr, "block %u: idom %x want %x, retained %llu want %llu\n", v, d->idom[v], want,
                        (unsigned long long)d->retained[v], (unsigned long long)ret);
            ok = 0;
        }
    }
    for (uint32_t gr = 0; gr < G; gr++) {
        uint64_t ret = 0;
        for (uint32_t x = base; x < b->N; x++)
            if (b->dom[x][1 + gr])
                ret += s->t.blocks[x - base].size;
        if (d->group_retained[gr] != ret) {
            if (ok)
                fprintf(stderr, "group %u: retained %llu want %llu\n", gr,
                        (unsigned long long)d->group_retained[gr], (unsigned long long)ret);
            ok = 0;
        }
    }
    if (d->reachable_bytes != want_root)
        ok = 0;
    /* dominators_dominates agrees with the sets */
    for (uint32_t x = 0; x < n && ok; x++)
        for (uint32_t y = 0; y < n; y++)
            if (dominators_dominates(d, x, y) != (b->reach[base + y] && b->dom[base + y][base + x]))
                ok = 0;
    return ok;
}

/* A random graph: n blocks (a few free), edges (denser or sparser), root
 * edges; with G > 0 each root edge gets a group or is left out. */
static void random_graph(struct synth *s, uint32_t n, uint32_t G, uint32_t **groups_ret)
{
    synth_init(s, n, NULL);
    uint8_t isfree[MAXN] = { 0 };
    for (uint32_t i = 0; i < n; i++)
        if (rnd(8) == 0) {
            synth_free(s, i);
            isfree[i] = 1;
        }
    uint32_t m = rnd(3 * n + 1) + (rnd(4) == 0 ? rnd(n * n / 2 + 1) : 0);
    for (uint32_t k = 0; k < m; k++) {
        uint32_t a = rnd(n), c = rnd(n);
        if (!isfree[a] && !isfree[c])
            synth_edge(s, a, c);
    }
    uint32_t nr = 1 + rnd(4);
    for (uint32_t k = 0; k < nr; k++) {
        uint32_t c = rnd(n);
        if (!isfree[c])
            synth_root(s, 0x5000 + 8 * k, c);
    }
    synth_finish(s);
    if (groups_ret) {
        uint32_t *gr = xrealloc(NULL, (s->nre + 1) * sizeof *gr);
        for (size_t i = 0; i < s->nre; i++)
            gr[i] = rnd(6) == 0 ? UINT32_MAX : rnd(G);
        *groups_ret = gr;
    }
}

static void test_random(void)
{
    int bad = 0, runs = 0;
    rng_state = 12345;
    for (int iter = 0; iter < 600; iter++) {
        uint32_t n = 1 + rnd(40), G = iter % 3 ? 1 + rnd(6) : 0;
        struct synth s;
        uint32_t *groups = NULL;
        random_graph(&s, n, G, G ? &groups : NULL);
        static struct brute b;
        memset(&b, 0, sizeof b);
        uint32_t base = 1 + G;
        b.N = base + n;
        for (uint32_t gr = 0; gr < G; gr++)
            b.adj[0][1 + gr] = 1;
        for (size_t i = 0; i < s.nre; i++) {
            if (!G)
                b.adj[0][base + s.re[i].target] = 1;
            else if (groups[i] != UINT32_MAX)
                b.adj[1 + groups[i]][base + s.re[i].target] = 1;
        }
        for (size_t i = 0; i < s.ne; i++)
            b.adj[base + s.es[i]][base + s.ed[i]] = 1;
        brute_solve(&b);
        struct dominators d;
        struct retain_error *err = dominators_compute(&s.g, &s.t, groups, G, &d);
        runs++;
        if (err || !compare(&b, &s, G, &d)) {
            fprintf(stderr, "random graph %d (n %u, groups %u) differs\n", iter, n, G);
            bad++;
        }
        retain_error_destroy(err);
        dominators_deinit(&d);
        free(groups);
        synth_deinit(&s);
    }
    CHECK(bad == 0);
    CHECK(runs == 600);
}

static void test_random_subsets(void)
{
    int bad = 0;
    rng_state = 777;
    for (int iter = 0; iter < 400; iter++) {
        uint32_t n = 1 + rnd(40);
        struct synth s;
        random_graph(&s, n, 0, NULL);
        uint64_t in[1] = { 0 };
        for (uint32_t i = 0; i < n; i++)
            if (rnd(4) && ((s.t.inuse_bits[0] >> i) & 1))
                in[0] |= 1ull << i;
        static struct brute b;
        memset(&b, 0, sizeof b);
        struct dominators d;
        struct retain_error *err;
        uint32_t G = iter % 2 ? 1 + rnd(4) : 0, base = 1 + G;
        b.N = base + n;
        /* group members (grouped variant) or entries (subset variant) */
        uint32_t first[8] = { 0 }, members[MAXN], nm = 0, entries[MAXN], ne = 0;
        if (G) {
            for (uint32_t gr = 0; gr < G; gr++) {
                b.adj[0][1 + gr] = 1;
                uint32_t k = rnd(3);
                for (uint32_t j = 0; j < k; j++) {
                    uint32_t x = rnd(n);
                    if ((in[0] >> x) & 1) {
                        members[nm++] = x;
                        b.adj[1 + gr][base + x] = 1;
                    }
                }
                first[gr + 1] = nm;
            }
        } else {
            uint32_t k = 1 + rnd(4);
            for (uint32_t j = 0; j < k; j++) {
                uint32_t x = rnd(n);
                if ((in[0] >> x) & 1) {
                    entries[ne++] = x;
                    b.adj[0][base + x] = 1;
                }
            }
        }
        for (size_t i = 0; i < s.ne; i++)
            if (((in[0] >> s.es[i]) & 1) && ((in[0] >> s.ed[i]) & 1))
                b.adj[base + s.es[i]][base + s.ed[i]] = 1;
        brute_solve(&b);
        uint32_t *order = NULL, norder = 0;
        if (G)
            err = dominators_compute_groups(&s.g, &s.t, in, first, members, G, &d, &order, &norder);
        else
            err = dominators_compute_subset(&s.g, &s.t, in, entries, ne, &d);
        int ok = !err && compare(&b, &s, G, &d);
        if (ok && G) {   /* the order: every reached block once, after its idom */
            uint8_t placed[MAXN] = { 0 };
            uint32_t reached = 0;
            for (uint32_t v = 0; v < n; v++)
                reached += b.reach[base + v];
            if (norder != reached)
                ok = 0;
            for (uint32_t i = 0; i < norder && ok; i++) {
                uint32_t up = d.idom[order[i]];
                if (!(up & DOM_GROUP) && !placed[up])
                    ok = 0;
                placed[order[i]] = 1;
            }
        }
        if (!ok) {
            fprintf(stderr, "random subset %d (n %u, groups %u) differs\n", iter, n, G);
            bad++;
        }
        free(order);
        retain_error_destroy(err);
        dominators_deinit(&d);
        synth_deinit(&s);
    }
    CHECK(bad == 0);
}

int main(void)
{
    test_tree();
    test_diamond();
    test_dag_shared();
    test_cycles();
    test_groups();
    test_empty();
    test_random();
    test_random_subsets();
    test_chain();
    test_ladder();
    return CHECK_DONE();
}
