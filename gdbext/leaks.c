/* Leaks: the unreachable in-use blocks U, their strongly connected
 * components (Pearce's space-efficient variant of Tarjan, iterative), the
 * source components (nothing else in U points into them) as leak roots, and
 * dominators over U with one group node per leak root, so that a cycle holds
 * what only its members reach as one holder. */
#include <stdlib.h>
#include <string.h>
#include "dominators.h"
#include "leaks.h"
#include "succrec.h"
#include "query.h"
#include "u32vec.h"

#define NONE UINT32_MAX
/* Component numbers count down from here; DFS indexes count up from 1.
 * Blocks are < 2^31 (dominators), so the two ranges never meet. */
#define COMP_TOP (UINT32_MAX - 1)

static inline int bit_get(const uint64_t *bits, uint32_t i)
{
    return (int)((bits[i >> 6] >> (i & 63)) & 1);
}

void leaks_deinit(struct leak_report *r)
{
    if (!r)
        return;
    free(r->members);
    free(r->roots);
    free(r->owner);
    memset(r, 0, sizeof *r);
}

struct root_sort {
    uint64_t total, addr;
    uint32_t group;
};

static int cmp_root(const void *a, const void *b)
{
    const struct root_sort *x = a, *y = b;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    return 0;
}

/* --- strongly connected components of U -------------------------------------------
 * Pearce's space-efficient Tarjan (rindex: DFS index while active, then a
 * component number counting down from COMP_TOP), on an iterative DFS built
 * like the dominators' (dominators.c): each node's successors in U, as local
 * ids, in a succ_rec (succrec.h); visited marks in a bitset; a stack of
 * (parent, node) entries with exit markers for the post-order step. */

#define EXIT 0x80000000u      /* a stack entry's node: v is finished */

static int build_records(const struct graph *g, const uint64_t *in_u, const uint32_t *ublk, const uint32_t *lid,
                         uint32_t m, struct succ_rec *rec, struct u32vec *ovf, struct u32vec *ovf_off)
{
    if (u32vec_push(ovf_off, 0))
        return -1;
    for (uint32_t v = 0; v < m; v++) {
        uint32_t b = ublk[v];
        struct succ_builder sb;
        succ_begin(&sb);
        for (uint32_t e = g->fwd_off[b]; e < g->fwd_off[b + 1]; e++) {
            uint32_t tb = g->fwd[e];
            if (bit_get(in_u, tb) && succ_add(&sb, lid[tb], ovf))
                return -1;
        }
        if (succ_finish(&sb, ovf, ovf_off))
            return -1;
        rec[v] = sb.r;
    }
    /* ahead: 2^AHEAD_PASSES first-successor hops, by pointer doubling */
    uint32_t *tmp = malloc(((size_t)m + 1) * sizeof *tmp);
    if (!tmp)
        return -1;
    for (int pass = 0; pass < AHEAD_PASSES; pass++) {
        if (pass % 2 == 0)
            for (uint32_t v = 0; v < m; v++)
                tmp[v] = rec[v].ahead == NONE ? NONE : rec[rec[v].ahead].ahead;
        else
            for (uint32_t v = 0; v < m; v++)
                rec[v].ahead = tmp[v] == NONE ? NONE : tmp[tmp[v]];
    }
    if (AHEAD_PASSES % 2)
        for (uint32_t v = 0; v < m; v++)
            rec[v].ahead = tmp[v];
    free(tmp);
    return 0;
}

/* Components of the subgraph induced by U (local ids 0..m-1, ublk[] their
 * blocks, lid[] block -> local id). On return comp[v] is v's component in
 * [0, *ncomp_ret). comp doubles as Pearce's rindex. */
static struct retain_error *scc(const struct graph *g, const uint64_t *in_u, const uint32_t *ublk,
                                const uint32_t *lid, uint32_t m, uint32_t *comp, uint32_t *ncomp_ret)
{
    struct retain_error *err = NULL;
    struct succ_rec *rec = malloc((size_t)m * sizeof *rec);
    uint64_t *seen = calloc(((size_t)m + 64) / 64, sizeof *seen);
    uint64_t *notroot = calloc(((size_t)m + 64) / 64, sizeof *notroot);
    uint32_t *S = malloc((size_t)m * sizeof *S);
    struct u32vec ovf = { 0 }, ovf_off = { 0 };
    uint64_t *stack = NULL;
    size_t sp = 0, cap = 1024;
    if (!rec || !seen || !notroot || !S || !(stack = malloc(cap * sizeof *stack)) ||
        build_records(g, in_u, ublk, lid, m, rec, &ovf, &ovf_off)) {
        err = retain_errorf("out of memory for leaks (%u unreachable blocks)", m);
        goto out;
    }
    uint32_t *rindex = comp;
    uint32_t index = 1, c = COMP_TOP, ns = 0;
#define LOWER(p, x) do { if (rindex[x] < rindex[p]) { rindex[p] = rindex[x]; notroot[(p) >> 6] |= 1ull << ((p) & 63); } } while (0)
    for (uint32_t start = 0; start < m; start++) {
        if (bit_get(seen, start))
            continue;
        stack[sp++] = (uint64_t)NONE << 32 | start;
        while (sp) {
            uint64_t e = stack[--sp];
            uint32_t v = (uint32_t)e, p = (uint32_t)(e >> 32);
            if (sp >= 8)   /* backtracking pops these next: fetch their records early */
                __builtin_prefetch(&rec[(uint32_t)stack[sp - 8] & ~EXIT]);
            if (v & EXIT) {   /* v is finished */
                v &= ~EXIT;
                if (!bit_get(notroot, v)) {
                    index--;
                    while (ns && rindex[v] <= rindex[S[ns - 1]]) {
                        rindex[S[--ns]] = c;
                        index--;
                    }
                    rindex[v] = c--;
                } else {
                    S[ns++] = v;
                }
                if (p != NONE)
                    LOWER(p, v);
                continue;
            }
            if (bit_get(seen, v)) {   /* reached by a sibling since it was pushed */
                LOWER(p, v);
                continue;
            }
            seen[v >> 6] |= 1ull << (v & 63);
            rindex[v] = index++;
            struct succ_rec r = rec[v];
            if (r.ahead != NONE)
                __builtin_prefetch(&rec[r.ahead]);
            uint32_t olen;
            const uint32_t *ol = succ_overflow(&r, &ovf, &ovf_off, &olen);
            size_t need = sp + 4 + olen;
            if (need > cap) {
                size_t ncap = cap * 2 > need ? cap * 2 : need;
                uint64_t *nst = realloc(stack, ncap * sizeof *nst);
                if (!nst) {
                    err = retain_errorf("out of memory for leaks (DFS stack)");
                    goto out;
                }
                stack = nst;
                cap = ncap;
            }
            uint64_t hi = (uint64_t)v << 32;
            stack[sp++] = (uint64_t)p << 32 | v | EXIT;
            /* successors already seen are examined now, the others when popped;
             * pushed last first, so s[0] is visited first */
            for (uint32_t i = olen; i-- > 0;) {
                if (bit_get(seen, ol[i]))
                    LOWER(v, ol[i]);
                else
                    stack[sp++] = hi | ol[i];
            }
            for (int i = ol ? 1 : 2; i >= 0; i--) {
                uint32_t s = r.s[i];
                if (s == NONE)
                    continue;
                if (bit_get(seen, s))
                    LOWER(v, s);
                else
                    stack[sp++] = hi | s;
            }
        }
    }
#undef LOWER
    for (uint32_t v = 0; v < m; v++)
        comp[v] = COMP_TOP - rindex[v];
    *ncomp_ret = COMP_TOP - c;
out:
    free(rec);
    free(seen);
    free(notroot);
    free(S);
    free(stack);
    free(ovf.v);
    free(ovf_off.v);
    return err;
}

struct retain_error *leaks_find(const struct graph *g, const struct block_table *t, const uint32_t *dist,
                                struct leak_report *r)
{
    memset(r, 0, sizeof *r);
    uint32_t n = g->nblocks;
    if (t->n != n)
        return retain_errorf("leaks: the graph has %u blocks, the block table %u", n, t->n);
    if (n >= DOM_GROUP)
        return retain_errorf("leaks: too many blocks (%u)", n);
    struct retain_error *err = NULL;
    uint64_t *in_u = calloc(((size_t)n + 64) / 64, sizeof *in_u);
    r->owner = malloc(((size_t)n + 1) * sizeof *r->owner);
    uint32_t *ublk = NULL, *comp = NULL, *gid = NULL, *first = NULL, *members = NULL, *order = NULL;
    uint32_t *count = NULL;
    uint64_t *own = NULL;
    struct root_sort *rs = NULL;
    struct dominators d = { 0 };
    if (!in_u || !r->owner) {
        err = retain_errorf("out of memory for leaks (%u blocks)", n);
        goto out;
    }
    /* U, in block order; owner[] holds the local ids until the end */
    memset(r->owner, 0xff, ((size_t)n + 1) * sizeof *r->owner);
    uint32_t *lid = r->owner, m = 0;
    for (uint32_t b = 0; b < n; b++)
        if (dist[b] == DIST_NONE && bit_get(t->inuse_bits, b)) {
            in_u[b >> 6] |= 1ull << (b & 63);
            lid[b] = m++;
            r->leaked_bytes += t->blocks[b].size;
        }
    r->leaked_blocks = m;
    if (!m)
        goto out;
    ublk = malloc((size_t)m * sizeof *ublk);
    comp = malloc((size_t)m * sizeof *comp);
    if (!ublk || !comp) {
        err = retain_errorf("out of memory for leaks (%u unreachable blocks)", m);
        goto out;
    }
    for (uint32_t b = 0, k = 0; b < n; b++)
        if (bit_get(in_u, b))
            ublk[k++] = b;
    uint32_t ncomp = 0;
    err = scc(g, in_u, ublk, lid, m, comp, &ncomp);
    if (err)
        goto out;

    /* Source components: no edge into them from another component of U. */
    gid = malloc(((size_t)ncomp + 1) * sizeof *gid);
    if (!gid) {
        err = retain_errorf("out of memory for leaks (%u components)", ncomp);
        goto out;
    }
    memset(gid, 0, (size_t)ncomp * sizeof *gid);   /* 0: source so far */
    for (uint32_t v = 0; v < m; v++) {
        uint32_t b = ublk[v];
        for (uint32_t e = g->fwd_off[b]; e < g->fwd_off[b + 1]; e++) {
            uint32_t tb = g->fwd[e];
            if (bit_get(in_u, tb) && comp[lid[tb]] != comp[v])
                gid[comp[lid[tb]]] = NONE;
        }
    }
    uint32_t ngroups = 0;
    for (uint32_t c = 0; c < ncomp; c++)
        gid[c] = gid[c] == NONE ? NONE : ngroups++;

    /* Members of each leak root, in block (address) order. */
    first = calloc((size_t)ngroups + 1, sizeof *first);
    count = calloc((size_t)ngroups + 1, sizeof *count);
    own = calloc((size_t)ngroups + 1, sizeof *own);
    if (!first || !count || !own) {
        err = retain_errorf("out of memory for leaks (%u leak roots)", ngroups);
        goto out;
    }
    uint32_t nmembers = 0;
    for (uint32_t v = 0; v < m; v++)
        if (gid[comp[v]] != NONE) {
            first[gid[comp[v]] + 1]++;
            nmembers++;
        }
    for (uint32_t k = 0; k < ngroups; k++)
        first[k + 1] += first[k];
    members = malloc(((size_t)nmembers + 1) * sizeof *members);
    if (!members) {
        err = retain_errorf("out of memory for leaks (%u leak root members)", nmembers);
        goto out;
    }
    for (uint32_t v = 0; v < m; v++) {
        uint32_t k = gid[comp[v]];
        if (k != NONE) {
            members[first[k] + count[k]++] = ublk[v];
            own[k] += t->blocks[ublk[v]].size;
        }
    }
    free(comp);
    comp = NULL;

    uint32_t norder = 0;
    err = dominators_compute_groups(g, t, in_u, first, members, ngroups, &d, &order, &norder);
    if (err)
        goto out;

    /* owner: in preorder, each block takes its idom's leak root */
    for (uint32_t v = 0; v < m; v++)
        r->owner[ublk[v]] = NONE;
    memset(count, 0, ((size_t)ngroups + 1) * sizeof *count);
    for (uint32_t i = 0; i < norder; i++) {
        uint32_t b = order[i], up = d.idom[b], o;
        if (up == DOM_ROOT || up == DOM_NONE)
            o = NONE;
        else if (up & DOM_GROUP)
            o = up & ~DOM_GROUP;
        else
            o = r->owner[up];
        r->owner[b] = o;
        if (o != NONE)
            count[o]++;
    }

    /* Sort: most bytes first, then the lowest address. */
    rs = malloc(((size_t)ngroups + 1) * sizeof *rs);
    r->roots = malloc(((size_t)ngroups + 1) * sizeof *r->roots);
    r->members = malloc(((size_t)nmembers + 1) * sizeof *r->members);
    if (!rs || !r->roots || !r->members) {
        err = retain_errorf("out of memory for leaks (%u leak roots)", ngroups);
        goto out;
    }
    for (uint32_t k = 0; k < ngroups; k++)
        rs[k] = (struct root_sort){ d.group_retained[k], t->blocks[members[first[k]]].addr, k };
    qsort(rs, ngroups, sizeof *rs, cmp_root);
    uint32_t *rank = gid;   /* reused: group -> sorted index */
    for (uint32_t i = 0, pos = 0; i < ngroups; i++) {
        uint32_t k = rs[i].group, cnt = first[k + 1] - first[k];
        rank[k] = i;
        memcpy(r->members + pos, members + first[k], (size_t)cnt * sizeof *members);
        r->roots[i] = (struct leak_root){ .first = pos, .count = cnt, .held = count[k] - cnt,
                                          .own_bytes = own[k], .total_bytes = d.group_retained[k] };
        pos += cnt;
    }
    r->nroots = ngroups;
    for (uint32_t v = 0; v < m; v++) {
        uint32_t *o = &r->owner[ublk[v]];
        if (*o != NONE)
            *o = rank[*o];
    }

out:
    dominators_deinit(&d);
    free(in_u);
    free(ublk);
    free(comp);
    free(gid);
    free(first);
    free(count);
    free(own);
    free(members);
    free(order);
    free(rs);
    if (err)
        leaks_deinit(r);
    return err;
}
