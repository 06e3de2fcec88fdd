/* The Go heap's Python entry points:
 *   walk_go(session, layout: dict)            walks mheap_ (keys: struct go_layout's fields)
 *   add_masked_range(session, kind, start, end, thread, label, mask: bytes)
 *                                             a root range whose pointer words mask names
 *   go_heap_info(session) -> dict             spans, stack spans, finalizers, arenas */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include "module_go.h"
#include "pyglue.h"
#include "session.h"

/* struct go_layout's fields by name: the dict Python builds uses the same names. */
static const struct { const char *key; size_t off; int wide; } LAYOUT_KEYS[] = {
#define U64(f) { #f, offsetof(struct go_layout, f), 1 }
#define U32(f) { #f, offsetof(struct go_layout, f), 0 }
    U64(allspans), U64(arenas), U64(arena_l1), U64(arena_l2), U64(arena_bytes), U64(arena_base_offset),
    U64(page_bytes), U32(off_bitmap), U32(bitmap_bytes), U32(sizeof_mspan), U32(off_startaddr),
    U32(off_npages), U32(off_freeindex), U32(off_nelems), U32(off_allocbits), U32(off_spanclass),
    U32(off_state), U32(off_elemsize), U32(off_specials), U32(off_special_next), U32(off_special_offset),
    U32(off_special_kind), U32(off_finalizer_fn),
#undef U64
#undef U32
};

static int parse_layout(PyObject *d, struct go_layout *lay)
{
    memset(lay, 0, sizeof *lay);
    for (size_t i = 0; i < sizeof LAYOUT_KEYS / sizeof *LAYOUT_KEYS; i++) {
        PyObject *v = PyDict_GetItemString(d, LAYOUT_KEYS[i].key);
        if (!v) {
            PyErr_Format(PyExc_KeyError, "Go layout lacks '%s'", LAYOUT_KEYS[i].key);
            return -1;
        }
        unsigned long long x = PyLong_AsUnsignedLongLong(v);
        if (PyErr_Occurred())
            return -1;
        char *field = (char *)lay + LAYOUT_KEYS[i].off;
        if (LAYOUT_KEYS[i].wide) {
            uint64_t w = x;
            memcpy(field, &w, sizeof w);
        } else {
            uint32_t n = (uint32_t)x;
            memcpy(field, &n, sizeof n);
        }
    }
    return 0;
}

static PyObject *mod_walk_go(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session, *d;
    if (!PyArg_ParseTuple(args, "OO!", &session, &PyDict_Type, &d))
        return NULL;
    struct retain_session *s = pyglue_session(session, "walk_go", 0);
    struct go_layout lay;
    if (!s || parse_layout(d, &lay))
        return NULL;
    struct retain_error *err = session_walk_go(s, &lay);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *mod_add_masked_range(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    const char *kind, *label;
    unsigned long long start, end;
    unsigned int thread;
    Py_buffer mask;
    if (!PyArg_ParseTuple(args, "OsKKIzy*", &session, &kind, &start, &end, &thread, &label, &mask))
        return NULL;
    struct retain_session *s = pyglue_session(session, "add_masked_range", 0);
    int k = root_kind_parse(kind);
    if (!s || k < 0) {
        PyBuffer_Release(&mask);
        if (s)
            PyErr_Format(PyExc_ValueError, "unknown root kind '%s'", kind);
        return NULL;
    }
    struct retain_error *err = root_set_add_masked_range(&s->roots, (enum root_kind)k, start, end, thread,
                                                         label, mask.buf, (size_t)mask.len);
    PyBuffer_Release(&mask);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *mod_go_heap_info(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    if (!PyArg_ParseTuple(args, "O", &session))
        return NULL;
    struct retain_session *s = pyglue_session(session, "go_heap_info", 0);
    if (!s)
        return NULL;
    const struct go_heap *h = &s->go;
    return Py_BuildValue("{s:O,s:I,s:I,s:K,s:I,s:I}", "go", s->is_go ? Py_True : Py_False,
                         "spans", h->nspans, "stack_spans", h->nstack_spans,
                         "stack_bytes", (unsigned long long)h->stack_bytes, "finalizers", h->nfinalizers,
                         "arenas", h->bits.narenas);
}

static PyMethodDef go_methods[] = {
    { "walk_go", mod_walk_go, METH_VARARGS,
      "walk_go(session, layout) walks the Go runtime heap described by layout (pysrc/retain/go.py)" },
    { "add_masked_range", mod_add_masked_range, METH_VARARGS,
      "add_masked_range(session, kind, start, end, thread, label, mask): a root range; bit i of mask "
      "says whether the word at start + 8i holds a pointer" },
    { "go_heap_info", mod_go_heap_info, METH_VARARGS, "go_heap_info(session) -> dict" },
    { NULL, NULL, 0, NULL },
};

int module_go_add(PyObject *m)
{
    return PyModule_AddFunctions(m, go_methods);
}
