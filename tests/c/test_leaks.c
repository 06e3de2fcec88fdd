/* Leaks on synthetic graphs built directly as struct graph / struct
 * block_table arrays: unreachable trees, cycles (a leak root of several
 * blocks), self loops, blocks held by two leak roots, a million-long
 * unreachable chain and cycle, and random small graphs (seeded) against a
 * brute-force computation of components, leak roots and owners. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "leaks.h"
#include "query.h"

/* --- synthetic graphs ------------------------------------------------------------- */

#include "synth_graph.h"

/* Distances by BFS from the root edges (as query_distances). */
static uint32_t *distances(const struct synth *s)
{
    const struct graph *g = &s->g;
    uint32_t n = g->nblocks, h = 0, tl = 0;
    uint32_t *dist = xrealloc(NULL, ((size_t)n + 1) * sizeof *dist);
    uint32_t *q = xrealloc(NULL, ((size_t)n + 1) * sizeof *q);
    memset(dist, 0xff, ((size_t)n + 1) * sizeof *dist);
    for (uint64_t i = 0; i < g->nredges; i++)
        if (dist[g->redges[i].target] == DIST_NONE) {
            dist[g->redges[i].target] = 1;
            q[tl++] = g->redges[i].target;
        }
    while (h < tl) {
        uint32_t b = q[h++];
        for (uint32_t e = g->fwd_off[b]; e < g->fwd_off[b + 1]; e++)
            if (dist[g->fwd[e]] == DIST_NONE) {
                dist[g->fwd[e]] = dist[b] + 1;
                q[tl++] = g->fwd[e];
            }
    }
    free(q);
    return dist;
}

static struct retain_error *find(const struct synth *s, struct leak_report *r)
{
    uint32_t *dist = distances(s);
    struct retain_error *err = leaks_find(&s->g, &s->t, dist, r);
    free(dist);
    return err;
}

/* members of leak root i, as a comparable list */
static int root_is(const struct leak_report *r, uint32_t i, const uint32_t *want, uint32_t nwant,
                   uint32_t held, uint64_t own, uint64_t total)
{
    if (i >= r->nroots)
        return 0;
    const struct leak_root *lr = &r->roots[i];
    if (lr->count != nwant || lr->held != held || lr->own_bytes != own || lr->total_bytes != total)
        return 0;
    for (uint32_t k = 0; k < nwant; k++)
        if (r->members[lr->first + k] != want[k])
            return 0;
    return 1;
}

static void test_shapes(void)
{
    /* reachable: 0 -> 1; 1 -> 2 (2 is also pointed at by leaked 13)
     * leaked tree: 3 -> 4, 5; 4 -> 6                      (root 3)
     * leaked cycle: 7 <-> 8; 8 -> 9; 7 -> 10; 9 -> 10     (root {7, 8})
     * self loop: 11 -> 11                                 (root 11, a block)
     * shared: 12 -> 14, 13 -> 14, 13 -> 2                 (roots 12, 13; 14 has no owner)
     * a cycle below a block: 15 -> 16 <-> 17            (root 15 holds 16, 17)
     * free: 18 */
    uint64_t sz[19] = { 1, 1, 1, 100, 10, 20, 30, 5, 5, 50, 40, 7, 3, 3, 9, 1, 2, 4, 1000 };
    struct synth s;
    synth_init(&s, 19, sz);
    synth_free(&s, 18);
    synth_root(&s, 0x5000, 0);
    synth_edge(&s, 0, 1);
    synth_edge(&s, 1, 2);
    synth_edge(&s, 13, 2);
    synth_edge(&s, 3, 4);
    synth_edge(&s, 3, 5);
    synth_edge(&s, 4, 6);
    synth_edge(&s, 7, 8);
    synth_edge(&s, 8, 7);
    synth_edge(&s, 8, 9);
    synth_edge(&s, 7, 10);
    synth_edge(&s, 9, 10);
    synth_edge(&s, 11, 11);
    synth_edge(&s, 12, 14);
    synth_edge(&s, 13, 14);
    synth_edge(&s, 15, 16);
    synth_edge(&s, 16, 17);
    synth_edge(&s, 17, 16);
    synth_finish(&s);
    struct leak_report r;
    CHECK(find(&s, &r) == NULL);
    CHECK(r.leaked_blocks == 15);
    CHECK(r.leaked_bytes == 100 + 10 + 20 + 30 + 5 + 5 + 50 + 40 + 7 + 3 + 3 + 9 + 1 + 2 + 4);
    CHECK(r.nroots == 6);
    /* by total: 3 (160), {7,8} (100), 11 (7), 15 (7, higher address), 12 (3), 13 (3) */
    uint32_t w3[] = { 3 }, w78[] = { 7, 8 }, w11[] = { 11 }, w15[] = { 15 }, w12[] = { 12 }, w13[] = { 13 };
    CHECK(root_is(&r, 0, w3, 1, 3, 100, 160));
    CHECK(root_is(&r, 1, w78, 2, 2, 10, 100));
    CHECK(root_is(&r, 2, w11, 1, 0, 7, 7));
    CHECK(root_is(&r, 3, w15, 1, 2, 1, 7));
    CHECK(root_is(&r, 4, w12, 1, 0, 3, 3));
    CHECK(root_is(&r, 5, w13, 1, 0, 3, 3));
    uint32_t want_owner[19] = { UINT32_MAX, UINT32_MAX, UINT32_MAX, 0, 0, 0, 0, 1, 1, 1, 1, 2, 4, 5,
                                UINT32_MAX, 3, 3, 3, UINT32_MAX };
    int ok = 1;
    for (uint32_t i = 0; i < 19; i++)
        if (r.owner[i] != want_owner[i]) {
            fprintf(stderr, "owner[%u] = %u, want %u\n", i, r.owner[i], want_owner[i]);
            ok = 0;
        }
    CHECK(ok);
    leaks_deinit(&r);
    leaks_deinit(NULL);
    synth_deinit(&s);
}

static void test_none(void)
{
    struct synth s;
    synth_init(&s, 3, NULL);
    synth_free(&s, 2);
    synth_root(&s, 0x5000, 0);
    synth_edge(&s, 0, 1);
    synth_finish(&s);
    struct leak_report r;
    CHECK(find(&s, &r) == NULL);
    CHECK(r.leaked_blocks == 0 && r.leaked_bytes == 0 && r.nroots == 0);
    CHECK(r.owner && r.owner[0] == UINT32_MAX && r.owner[1] == UINT32_MAX && r.owner[2] == UINT32_MAX);
    leaks_deinit(&r);
    synth_deinit(&s);
}

static void test_long(void)
{
    /* nothing reachable: a million-long chain 0 -> 1 -> ... (root 0 holds
     * the rest), then a million-long cycle with a tail hanging off its end */
    enum { N = 1000000 };
    struct synth s;
    synth_init(&s, 2 * N + 1, NULL);
    for (uint32_t i = 0; i + 1 < N; i++)
        synth_edge(&s, i, i + 1);
    for (uint32_t i = N; i + 1 < 2 * N; i++)
        synth_edge(&s, i, i + 1);
    synth_edge(&s, 2 * N - 1, N);
    synth_edge(&s, 2 * N - 1, 2 * N);
    synth_finish(&s);
    uint64_t chain = 0, cycle = 0;
    for (uint32_t i = 0; i < N; i++) {
        chain += s.t.blocks[i].size;
        cycle += s.t.blocks[N + i].size;
    }
    uint64_t tail = s.t.blocks[2 * N].size;
    struct leak_report r;
    CHECK(find(&s, &r) == NULL);
    CHECK(r.leaked_blocks == 2 * N + 1 && r.leaked_bytes == chain + cycle + tail);
    CHECK(r.nroots == 2);
    if (r.nroots == 2) {
        uint32_t big = cycle + tail > chain ? 0 : 1;
        CHECK(r.roots[1 - big].count == 1 && r.members[r.roots[1 - big].first] == 0);
        CHECK(r.roots[1 - big].held == N - 1 && r.roots[1 - big].total_bytes == chain);
        CHECK(r.roots[big].count == N && r.roots[big].held == 1);
        CHECK(r.roots[big].own_bytes == cycle && r.roots[big].total_bytes == cycle + tail);
        int ok = 1;
        for (uint32_t k = 0; k < N && ok; k++)
            ok = r.members[r.roots[big].first + k] == N + k;
        for (uint32_t i = 0; i <= 2 * N && ok; i++)
            ok = r.owner[i] == (i < N ? 1 - big : big);
        CHECK(ok);
    }
    leaks_deinit(&r);
    synth_deinit(&s);
}

/* --- random graphs against brute force ---------------------------------------------- */

#define MAXN 48

static uint64_t rng_state;
static uint32_t rnd(uint32_t n)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)((rng_state >> 33) % n);
}

struct want_root { uint32_t members[MAXN], count, held, comp; uint64_t own, total, addr; };

static int cmp_want(const void *a, const void *b)
{
    const struct want_root *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static int check_random(const struct synth *s, const struct leak_report *r)
{
    uint32_t n = s->t.n;
    static uint8_t adj[MAXN][MAXN], reach[MAXN][MAXN];
    memset(adj, 0, sizeof adj);
    uint32_t *dist = distances(s);
    uint8_t inu[MAXN] = { 0 };
    uint32_t nu = 0;
    uint64_t bytes = 0;
    for (uint32_t b = 0; b < n; b++)
        if (dist[b] == DIST_NONE && ((s->t.inuse_bits[0] >> b) & 1)) {
            inu[b] = 1;
            nu++;
            bytes += s->t.blocks[b].size;
        }
    free(dist);
    for (size_t i = 0; i < s->ne; i++)
        if (inu[s->es[i]] && inu[s->ed[i]])
            adj[s->es[i]][s->ed[i]] = 1;
    /* transitive closure within U, reflexive */
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = 0; b < n; b++)
            reach[a][b] = (a == b && inu[a]) || adj[a][b];
    for (uint32_t k = 0; k < n; k++)
        for (uint32_t a = 0; a < n; a++)
            if (reach[a][k])
                for (uint32_t b = 0; b < n; b++)
                    if (reach[k][b])
                        reach[a][b] = 1;
    /* components (by their lowest block) and sources */
    uint32_t comp[MAXN];
    for (uint32_t a = 0; a < n; a++) {
        comp[a] = UINT32_MAX;
        for (uint32_t b = 0; inu[a] && b <= a; b++)
            if (reach[a][b] && reach[b][a]) {
                comp[a] = b;
                break;
            }
    }
    uint8_t source[MAXN];
    for (uint32_t c = 0; c < n; c++)
        source[c] = inu[c] && comp[c] == c;
    for (uint32_t a = 0; a < n; a++)
        for (uint32_t b = 0; b < n; b++)
            if (adj[a][b] && comp[a] != comp[b])
                source[comp[b]] = 0;
    static struct want_root want[MAXN];
    uint32_t nw = 0, widx[MAXN];
    for (uint32_t c = 0; c < n; c++) {
        if (!source[c])
            continue;
        struct want_root *w = &want[nw];
        memset(w, 0, sizeof *w);
        w->comp = c;
        for (uint32_t b = 0; b < n; b++)
            if (comp[b] == c) {
                w->members[w->count++] = b;
                w->own += s->t.blocks[b].size;
            }
        w->addr = s->t.blocks[w->members[0]].addr;
        nw++;
    }
    /* owner: the one source component reaching a block */
    uint32_t owner[MAXN];
    for (uint32_t x = 0; x < n; x++) {
        owner[x] = UINT32_MAX;
        if (!inu[x])
            continue;
        uint32_t found = 0, which = 0;
        for (uint32_t i = 0; i < nw; i++)
            if (reach[want[i].comp][x]) {
                found++;
                which = i;
            }
        if (found == 1) {
            owner[x] = which;
            want[which].total += s->t.blocks[x].size;
            want[which].held++;
        }
    }
    for (uint32_t i = 0; i < nw; i++)
        want[i].held -= want[i].count;
    /* sort, keeping track of the owner indexes */
    for (uint32_t i = 0; i < nw; i++)
        want[i].comp = i;   /* reuse: original index */
    qsort(want, nw, sizeof *want, cmp_want);
    for (uint32_t i = 0; i < nw; i++)
        widx[want[i].comp] = i;
    if (r->leaked_blocks != nu || r->leaked_bytes != bytes || r->nroots != nw)
        return 0;
    for (uint32_t i = 0; i < nw; i++)
        if (!root_is(r, i, want[i].members, want[i].count, want[i].held, want[i].own, want[i].total))
            return 0;
    for (uint32_t x = 0; x < n; x++)
        if (r->owner[x] != (owner[x] == UINT32_MAX ? UINT32_MAX : widx[owner[x]]))
            return 0;
    return 1;
}

static void test_random(void)
{
    int bad = 0;
    rng_state = 4242;
    for (int iter = 0; iter < 600; iter++) {
        uint32_t n = 1 + rnd(MAXN);
        struct synth s;
        synth_init(&s, n, NULL);
        uint8_t isfree[MAXN] = { 0 };
        for (uint32_t i = 0; i < n; i++)
            if (rnd(10) == 0) {
                synth_free(&s, i);
                isfree[i] = 1;
            }
        for (uint32_t i = 0; i < n; i++)   /* some equal sizes, for the tie order */
            s.t.blocks[i].size = 8 * (1 + rnd(4));
        uint32_t m = rnd(2 * n + 1) + (rnd(5) == 0 ? rnd(n * n / 4 + 1) : 0);
        for (uint32_t k = 0; k < m; k++) {
            uint32_t a = rnd(n), c = rnd(n);
            if (!isfree[a] && !isfree[c])
                synth_edge(&s, a, c);
        }
        uint32_t nr = rnd(3);
        for (uint32_t k = 0; k < nr; k++) {
            uint32_t c = rnd(n);
            if (!isfree[c])
                synth_root(&s, 0x5000 + 8 * k, c);
        }
        synth_finish(&s);
        struct leak_report r;
        struct retain_error *err = find(&s, &r);
        if (err || !check_random(&s, &r)) {
            fprintf(stderr, "random graph %d (n %u) differs\n", iter, n);
            bad++;
        }
        retain_error_destroy(err);
        leaks_deinit(&r);
        synth_deinit(&s);
    }
    CHECK(bad == 0);
}

int main(void)
{
    test_shapes();
    test_none();
    test_random();
    test_long();
    return CHECK_DONE();
}
