/* _retain.find_glibc_layout: glibc's heap layout without libc's debug
 * symbols (glibc_nosym.c), for the Python side. module.c's PyInit__retain
 * calls module_glibc_add once the module and _retain.Error exist. */
#ifndef RETAIN_MODULE_GLIBC_H
#define RETAIN_MODULE_GLIBC_H

struct _object;   /* PyObject, without including Python.h here */

/* Adds find_glibc_layout to module m; 0 on success, -1 with a Python
 * exception set. */
int module_glibc_add(struct _object *m);

#endif
