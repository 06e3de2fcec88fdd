/* The session: the order in which the pieces run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "session.h"

double session_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct retain_error *session_create(struct memory *mem, struct retain_session **s_ret)
{
    struct retain_session *s = calloc(1, sizeof *s);
    if (!s) {
        memory_destroy(mem);
        return retain_errorf("out of memory for a session");
    }
    s->mem = mem;
    block_table_init(&s->blocks);
    root_set_init(&s->roots);
    naming_init(&s->naming);
    const struct mapping *maps;
    size_t nmaps = memory_mappings(mem, &maps);
    struct retain_error *err = naming_add_mappings(&s->naming, maps, nmaps);
    if (err) {
        session_destroy(s);
        return err;
    }
    *s_ret = s;
    return NULL;
}

void session_destroy(struct retain_session *s)
{
    if (!s)
        return;
    graph_deinit(&s->graph);
    free(s->dist);
    heap_types_deinit(&s->types);
    dominators_deinit(&s->dom);
    free(s->dom_groups);
    leaks_deinit(&s->leaks);
    root_set_deinit(&s->roots);
    heap_report_deinit(&s->heap);
    go_heap_deinit(&s->go);
    block_table_deinit(&s->blocks);
    naming_deinit(&s->naming);
    memory_destroy(s->mem);
    free(s);
}

struct retain_error *session_walk_glibc(struct retain_session *s, const struct glibc_layout *lay)
{
    if (s->walked)
        return retain_errorf("the heap was already walked in this session");
    double t0 = session_now();
    struct retain_error *err = glibc_walk(s->mem, lay, &s->blocks, &s->heap);
    if (!err)
        err = block_table_finish(&s->blocks);
    s->seconds_walk = session_now() - t0;
    if (!err)
        s->walked = 1;
    return err;
}

struct retain_error *session_walk_go(struct retain_session *s, const struct go_layout *lay)
{
    if (s->walked)
        return retain_errorf("the heap was already walked in this session");
    double t0 = session_now();
    struct retain_error *err = go_walk(s->mem, lay, &s->blocks, &s->go, &s->heap);
    if (!err)
        err = block_table_finish(&s->blocks);
    if (!err)   /* span arithmetic instead of the granule index for lookups */
        err = block_table_set_runs(&s->blocks, s->go.runs, s->go.nruns, (uint32_t)__builtin_ctzll(lay->page_bytes));
    s->blocks.gobits = &s->go.bits;
    for (uint32_t i = 0; !err && i < s->go.nfinalizers; i++) {
        char label[48];
        snprintf(label, sizeof label, "finalizer of 0x%llx", (unsigned long long)s->go.finalizers[i].object);
        err = root_set_add_value(&s->roots, ROOT_FINALIZER, s->go.finalizers[i].fn, 0, label, NULL, NULL);
    }
    s->seconds_walk = session_now() - t0;
    if (!err) {
        s->walked = 1;
        s->is_go = 1;
        s->mapped_roots = 1;   /* see session.h: no mapping roots for Go */
    }
    return err;
}

/* Writable mappings that are neither heap nor an explicit root become roots. */
static struct retain_error *add_mapping_roots(struct retain_session *s)
{
    const struct mapping *maps;
    size_t nmaps = memory_mappings(s->mem, &maps);
    uint64_t (*heap)[2] = malloc((s->heap.nsegments + 1) * sizeof *heap);
    if (!heap)
        return retain_errorf("out of memory");
    for (uint32_t i = 0; i < s->heap.nsegments; i++) {
        heap[i][0] = s->heap.segments[i].start;
        heap[i][1] = s->heap.segments[i].end;
    }
    struct retain_error *err = root_set_add_mappings(&s->roots, maps, nmaps,
                                                     (const uint64_t (*)[2])heap, s->heap.nsegments);
    free(heap);
    return err;
}

/* How many edges fit in the memory limit once the per-block tables are
 * counted: 8 bytes an edge (forward and reverse). */
static struct retain_error *edge_budget(struct retain_session *s, uint64_t *max_edges_ret)
{
    *max_edges_ret = 0;
    if (!s->memory_limit)
        return NULL;
    /* per block: the CSR offsets (8) and the distances (4) */
    uint64_t fixed = block_table_memory(&s->blocks) + (uint64_t)s->blocks.n * 12;
    if (fixed >= s->memory_limit)
        return retain_errorf("memory-limit %llu bytes is too small: the %u heap blocks alone need "
                             "%llu bytes (set retain memory-limit 0 for no limit)",
                             (unsigned long long)s->memory_limit, s->blocks.n, (unsigned long long)fixed);
    *max_edges_ret = (s->memory_limit - fixed) / 8;
    return NULL;
}

struct retain_error *session_build(struct retain_session *s, graph_progress_fn progress, void *ctx)
{
    if (!s->walked)
        return retain_errorf("no heap has been walked");
    if (s->built)
        return NULL;
    double t0 = session_now();
    if (!s->mapped_roots) {   /* once, even if a build is interrupted and retried */
        struct retain_error *err = add_mapping_roots(s);
        if (err)
            return err;
        s->mapped_roots = 1;
    }
    s->seconds_roots = session_now() - t0;
    uint64_t max_edges;
    struct retain_error *err = edge_budget(s, &max_edges);
    if (err)
        return err;
    t0 = session_now();
    err = graph_build(&s->graph, s->mem, &s->blocks, &s->roots, max_edges, progress, ctx);
    s->seconds_graph = session_now() - t0;
    if (!err)
        s->built = 1;
    return err;
}

struct retain_error *session_distances(struct retain_session *s, const uint32_t **dist_ret)
{
    if (!s->built)
        return retain_errorf("the graph has not been built");
    if (!s->dist) {
        double t0 = session_now();
        struct retain_error *err = query_distances(&s->graph, &s->dist);
        if (err)
            return err;
        s->seconds_bfs = session_now() - t0;
    }
    *dist_ret = s->dist;
    return NULL;
}

size_t session_memory(const struct retain_session *s)
{
    return block_table_memory(&s->blocks) + graph_memory(&s->graph) +
           (s->dist ? (size_t)s->blocks.n * sizeof *s->dist : 0) +
           (s->types_ready ? (size_t)s->types.n * 5 : 0) +
           (s->dom_ready ? (size_t)s->dom.n * (sizeof *s->dom.idom + sizeof *s->dom.retained) : 0) +
           (s->leaks_ready ? (size_t)s->blocks.n * sizeof *s->leaks.owner : 0);
}

struct retain_error *session_types(struct retain_session *s)
{
    if (s->types_ready)
        return NULL;
    if (!s->built)
        return retain_errorf("the reference graph has not been built");
    struct retain_error *err = heap_types_compute(s, &s->types);
    if (!err)
        s->types_ready = 1;
    return err;
}
