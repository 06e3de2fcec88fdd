/* _retain.dominators, top_blocks, retained, idom, group_retained,
 * root_edges, leaks: the heap-wide analyses (dominators.c, leaks.c) for the
 * Python side. module.c's PyInit__retain calls module_heapwide_add once the
 * module and _retain.Error exist. */
#ifndef RETAIN_MODULE_HEAPWIDE_H
#define RETAIN_MODULE_HEAPWIDE_H

struct _object;   /* PyObject, without including Python.h here */

/* Adds the functions (and ROOT_EDGE_VALUE) to module m; 0 on success, -1
 * with a Python exception set. */
int module_heapwide_add(struct _object *m);

#endif
