/* Merged shortest paths: BFS tree from the roots, counts summed upwards. */
#include <stdlib.h>
#include <string.h>
#include "merged.h"

#define NO_PARENT UINT32_MAX
#define FROM_ROOT 0x80000000u   /* parent[] entry: a root word's index | FROM_ROOT */

static int is_set(const uint64_t *bits, uint32_t i)
{
    return (int)((bits[i >> 6] >> (i & 63)) & 1);
}

struct seed { uint64_t redge; uint32_t target; int rank; };

static int cmp_seed(const void *a, const void *b)
{
    const struct seed *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank - y->rank;
    return (x->redge > y->redge) - (x->redge < y->redge);
}

/* Root words, best first (kind, then precise), so that parents prefer them. */
static struct seed *ranked_seeds(const struct graph *g, const struct root_set *rs, const struct path_query *q,
                                 uint64_t *n_ret)
{
    struct seed *s = malloc((g->nredges + 1) * sizeof *s);
    uint64_t n = 0;
    for (uint64_t i = 0; s && i < g->nredges; i++) {
        enum root_kind k = graph_root_kind(rs, &g->redges[i]);
        if (!(q->kinds & (1u << k)))
            continue;
        int judged = q->judge ? q->judge(q->judge_ctx, &g->redges[i]) : 0;
        if (judged < 0)
            continue;
        s[n++] = (struct seed){ i, g->redges[i].target, root_kind_rank(k) * 2 + judged };
    }
    if (s)
        qsort(s, n, sizeof *s, cmp_seed);
    *n_ret = n;
    return s;
}

/* BFS from the seeds: parent[] and the visiting order. */
static uint32_t bfs(const struct graph *g, const struct seed *seeds, uint64_t nseeds, uint32_t *parent, uint32_t *order)
{
    uint32_t tail = 0;
    for (uint64_t i = 0; i < nseeds; i++) {
        uint32_t b = seeds[i].target;
        if (parent[b] == NO_PARENT && seeds[i].redge < FROM_ROOT) {
            parent[b] = (uint32_t)seeds[i].redge | FROM_ROOT;
            order[tail++] = b;
        }
    }
    for (uint32_t head = 0; head < tail; head++) {
        uint32_t b = order[head];
        for (uint32_t e = g->fwd_off[b]; e < g->fwd_off[b + 1]; e++) {
            uint32_t c = g->fwd[e];
            if (parent[c] == NO_PARENT) {
                parent[c] = b;
                order[tail++] = c;
            }
        }
    }
    return tail;
}

struct retain_error *merged_paths(const struct graph *g, const struct block_table *t, const struct root_set *rs,
                                  const uint64_t *targets, const struct path_query *q, struct merged_tree *m)
{
    memset(m, 0, sizeof *m);
    uint32_t n = g->nblocks;
    uint32_t *parent = malloc(((size_t)n + 1) * sizeof *parent);
    uint32_t *order = malloc(((size_t)n + 1) * sizeof *order);
    uint64_t *count = calloc((size_t)n + 1, sizeof *count), *bytes = calloc((size_t)n + 1, sizeof *bytes);
    uint64_t nseeds = 0;
    struct seed *seeds = ranked_seeds(g, rs, q, &nseeds);
    struct retain_error *err = NULL;
    if (!parent || !order || !count || !bytes || !seeds) {
        err = retain_errorf("out of memory for merged paths over %u blocks", n);
        goto out;
    }
    memset(parent, 0xff, ((size_t)n + 1) * sizeof *parent);
    uint32_t visited = bfs(g, seeds, nseeds, parent, order);
    for (uint32_t b = 0; b < n; b++) {
        if (!is_set(targets, b))
            continue;
        m->target_blocks++;
        m->target_bytes += t->blocks[b].size;
        if (parent[b] == NO_PARENT) {
            m->unreached_blocks++;
            m->unreached_bytes += t->blocks[b].size;
        } else {
            count[b] = 1;
            bytes[b] = t->blocks[b].size;
        }
    }
    /* Children come after parents in BFS order: sum upwards in reverse. */
    for (uint32_t i = visited; i-- > 0;) {
        uint32_t b = order[i];
        if (count[b] && !(parent[b] & FROM_ROOT)) {
            count[parent[b]] += count[b];
            bytes[parent[b]] += bytes[b];
        }
    }
    uint32_t kept = 0;
    for (uint32_t i = 0; i < visited; i++)
        kept += count[order[i]] != 0;
    m->nodes = malloc(((size_t)kept + 1) * sizeof *m->nodes);
    if (!m->nodes) {
        err = retain_errorf("out of memory for a merged tree of %u nodes", kept);
        goto out;
    }
    /* Number the kept nodes in BFS order: index[block] = its node. */
    uint32_t *index = malloc(((size_t)n + 1) * sizeof *index);
    if (!index) {
        err = retain_errorf("out of memory for a merged tree");
        goto out;
    }
    for (uint32_t i = 0; i < visited; i++) {
        uint32_t b = order[i];
        if (!count[b])
            continue;
        struct merged_node *node = &m->nodes[m->n];
        node->block = b;
        node->blocks = count[b];
        node->bytes = bytes[b];
        if (parent[b] & FROM_ROOT) {
            node->parent = MERGED_TOP;
            node->redge = parent[b] & ~FROM_ROOT;
        } else {
            node->parent = index[parent[b]];
            node->redge = 0;
        }
        index[b] = m->n++;
    }
    free(index);
out:
    free(parent);
    free(order);
    free(count);
    free(bytes);
    free(seeds);
    if (err)
        merged_tree_deinit(m);
    return err;
}

void merged_tree_deinit(struct merged_tree *m)
{
    if (!m)
        return;
    free(m->nodes);
    memset(m, 0, sizeof *m);
}
