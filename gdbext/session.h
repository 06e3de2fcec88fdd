/* One analysis of one inferior at one stop: the memory source, the heap's
 * blocks, the roots, the graph and the names. No globals: two inferiors are
 * two sessions. The CPython binding (module.c) wraps exactly this. */
#ifndef RETAIN_SESSION_H
#define RETAIN_SESSION_H

#include <stdint.h>
#include "blocks.h"
#include "dominators.h"
#include "error.h"
#include "graph.h"
#include "heap_glibc.h"
#include "heap_go.h"
#include "heaptypes.h"
#include "leaks.h"
#include "memory.h"
#include "naming.h"
#include "query.h"
#include "roots.h"

struct retain_session {
    struct memory *mem;
    struct block_table blocks;
    struct heap_report heap;
    struct go_heap go;        /* a Go heap's bitmaps and finalizers (heap_go.c), when is_go */
    int walked, built, mapped_roots, is_go;
    struct root_set roots;
    struct graph graph;
    uint32_t *dist;           /* forward BFS, computed on first need */
    struct naming naming;
    double seconds_walk, seconds_roots, seconds_graph, seconds_bfs;
    uint64_t memory_limit;    /* bytes for the engine's own tables; 0: none */
    struct heap_types types;  /* every block's type (heaptypes.c), once types_ready */
    int types_ready;
    struct dominators dom;    /* dominator tree and retained sizes (dominators.c), once dom_ready */
    uint32_t *dom_groups;     /* the root-edge groups dom was made with (module_heapwide.c); NULL: none */
    int dom_ready;
    struct leak_report leaks; /* leaks.c, once leaks_ready */
    int leaks_ready;
    double seconds_dominators, seconds_leaks;
};

/* Takes ownership of mem. */
struct retain_error *session_create(struct memory *mem, struct retain_session **s_ret);
void session_destroy(struct retain_session *s);

struct retain_error *session_walk_glibc(struct retain_session *s, const struct glibc_layout *lay);
/* A Go heap: its objects, pointer bitmaps, and finalizers as roots. Other
 * writable mappings are not roots then (the Go GC's roots are exactly the
 * data and bss, the goroutine stacks and the finalizers; Python adds them). */
struct retain_error *session_walk_go(struct retain_session *s, const struct go_layout *lay);
/* Adds the mapping-derived roots, then scans everything into the graph. */
struct retain_error *session_build(struct retain_session *s, graph_progress_fn progress, void *ctx);
struct retain_error *session_distances(struct retain_session *s, const uint32_t **dist_ret);

/* Every block's type (heaptypes.h), computed on first need. */
struct retain_error *session_types(struct retain_session *s);

size_t session_memory(const struct retain_session *s);
double session_now(void);

#endif
