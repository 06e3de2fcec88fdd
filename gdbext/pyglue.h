/* What the CPython binding files (module*.c) share: the Session object's
 * layout, the module's error type, and small conversions. */
#ifndef RETAIN_PYGLUE_H
#define RETAIN_PYGLUE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include "error.h"
#include "session.h"

/* _retain.Session: an engine session (module.c defines the type). */
typedef struct {
    PyObject_HEAD
    struct retain_session *s;
    PyObject *reader;        /* callback source: the Python read function */
} SessionObject;

/* _retain.Error; set once by PyInit__retain. */
extern PyObject *pyglue_error;

/* The engine session of a _retain.Session argument; with need_built, the
 * reference graph must exist. NULL with an exception set otherwise. */
struct retain_session *pyglue_session(PyObject *obj, const char *fn, int need_built);
/* Raises _retain.Error from an engine error, frees it, returns NULL. */
PyObject *pyglue_raise(struct retain_error *err);
/* A str (undecodable bytes replaced), or None for NULL. */
PyObject *pyglue_str(const char *s);

#endif
