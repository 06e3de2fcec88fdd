/* _retain.walk_go, _retain.add_masked_range, _retain.go_heap_info: the Go
 * runtime heap for the Python side (heap_go.c). module.c's PyInit__retain
 * calls module_go_add. */
#ifndef RETAIN_MODULE_GO_H
#define RETAIN_MODULE_GO_H

struct _object;   /* PyObject, without including Python.h here */

/* 0 on success, -1 with a Python exception set. */
int module_go_add(struct _object *m);

#endif
