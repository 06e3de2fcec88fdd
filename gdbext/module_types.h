/* _retain.block_types, histogram, type_of, type_index, blocks_with_types:
 * heap-wide types (heaptypes.c) for the Python side. module.c's
 * PyInit__retain calls module_types_add once the module and _retain.Error
 * exist. */
#ifndef RETAIN_MODULE_TYPES_H
#define RETAIN_MODULE_TYPES_H

struct _object;   /* PyObject, without including Python.h here */

/* Adds the functions to module m; 0 on success, -1 with a Python exception set. */
int module_types_add(struct _object *m);

#endif
