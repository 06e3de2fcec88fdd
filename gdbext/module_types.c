/* Heap-wide types for Python (heaptypes.h has the rule). Each function
 * takes a built _retain.Session; the types are computed on first use and
 * kept with the session (s->types) until it is dropped.
 *
 *   block_types(session) -> {"typed_blocks", "blocks", "conflicts",
 *       "from_vtables", "oversized", "types", "seconds"}
 *       computes (once) and says how it went; "blocks" counts in-use blocks,
 *       "types" the distinct types found.
 *   histogram(session) -> {"rows": [(type_name or None, size or None,
 *       count, bytes)], "row_types": [type index or None], "typed_blocks",
 *       "blocks", "bytes", "conflicts", "from_vtables", "oversized"}
 *       one row per type ("T[]" for blocks that hold arrays of T, a row
 *       apart from T's) and per usable size of the unknown blocks (name
 *       None, size set); bytes are sums of usable sizes; sorted by bytes,
 *       then count, largest first (heap_types_histogram). row_types[i] is
 *       row i's type index (see type_index), for blocks_with_types. Names
 *       may repeat: distinct types can be spelled alike (anonymous structs,
 *       "struct {...}"; a struct of the same name in two object files).
 *   type_of(session, addr) -> str or None
 *       the type of the in-use block containing addr; None if it is unknown
 *       or addr is in no in-use block.
 *   type_index(session) -> [str or None]
 *       names by type index: index 2k is type k ("struct node"), 2k + 1 an
 *       array of it ("struct node[]"); None where no block has that view.
 *   blocks_with_types(session, indexes) -> [addr]
 *       the in-use blocks whose type index is in `indexes` (None in it
 *       stands for the unknown blocks), by address. Python filters the
 *       names of type_index with a pattern and asks for the blocks. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "heaptypes.h"
#include "module_types.h"
#include "pyglue.h"
#include "session.h"


static int in_use(const struct block_table *t, uint32_t id)
{
    return (t->inuse_bits[id >> 6] >> (id & 63)) & 1;
}

/* The session's types, computed on first need; NULL with an exception set. */
static struct retain_session *typed_session(PyObject *session, const char *fn)
{
    struct retain_session *s = pyglue_session(session, fn, 0);
    if (!s)
        return NULL;
    /* The GIL stays held: a callback memory source reads through Python. */
    struct retain_error *err = session_types(s);
    if (err) {
        PyErr_Format(pyglue_error, "%s: %s", fn, err->msg);
        retain_error_destroy(err);
        return NULL;
    }
    return s;
}

static PyObject *mod_block_types(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    if (!PyArg_ParseTuple(args, "O", &session))
        return NULL;
    struct retain_session *s = typed_session(session, "block_types");
    if (!s)
        return NULL;
    const struct heap_types *ht = &s->types;
    return Py_BuildValue("{s:K,s:K,s:K,s:K,s:K,s:I,s:d}", "typed_blocks", (unsigned long long)ht->typed_blocks,
                         "blocks", (unsigned long long)ht->blocks_in_use,
                         "conflicts", (unsigned long long)ht->conflicts,
                         "from_vtables", (unsigned long long)ht->from_vtables,
                         "oversized", (unsigned long long)ht->oversized, "types", ht->nrefs,
                         "seconds", ht->seconds);
}

static PyObject *mod_histogram(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    if (!PyArg_ParseTuple(args, "O", &session))
        return NULL;
    struct retain_session *s = typed_session(session, "histogram");
    if (!s)
        return NULL;
    struct heap_types *ht = &s->types;
    struct heap_type_row *rows;
    uint32_t n;
    struct retain_error *err = heap_types_histogram(ht, s, &rows, &n);
    if (err) {
        PyErr_SetString(pyglue_error, err->msg);
        retain_error_destroy(err);
        return NULL;
    }
    uint64_t bytes = 0;
    PyObject *list = PyList_New(n), *views = PyList_New(n);
    for (uint32_t i = 0; list && views && i < n; i++) {
        const struct heap_type_row *r = &rows[i];
        bytes += r->bytes;
        PyObject *item, *view;
        if (r->type == HT_UNKNOWN) {
            item = Py_BuildValue("(OKKK)", Py_None, (unsigned long long)r->size, (unsigned long long)r->count,
                                 (unsigned long long)r->bytes);
            view = (Py_INCREF(Py_None), Py_None);
        } else {
            item = Py_BuildValue("(NOKK)", pyglue_str(heap_types_ref_name(ht, s, r->type, r->is_array)), Py_None,
                                 (unsigned long long)r->count, (unsigned long long)r->bytes);
            view = PyLong_FromSize_t(2 * (size_t)r->type + r->is_array);
        }
        if (!item || !view) {
            Py_XDECREF(item);
            Py_XDECREF(view);
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, item);
        PyList_SET_ITEM(views, i, view);
    }
    free(rows);
    if (!list || !views) {
        Py_XDECREF(list);
        Py_XDECREF(views);
        return NULL;
    }
    return Py_BuildValue("{s:N,s:N,s:K,s:K,s:K,s:K,s:K,s:K}", "rows", list, "row_types", views,
                         "typed_blocks", (unsigned long long)ht->typed_blocks,
                         "blocks", (unsigned long long)ht->blocks_in_use, "bytes", (unsigned long long)bytes,
                         "conflicts", (unsigned long long)ht->conflicts,
                         "from_vtables", (unsigned long long)ht->from_vtables,
                         "oversized", (unsigned long long)ht->oversized);
}

static PyObject *mod_type_of(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    unsigned long long addr;
    if (!PyArg_ParseTuple(args, "OK", &session, &addr))
        return NULL;
    struct retain_session *s = typed_session(session, "type_of");
    if (!s)
        return NULL;
    uint32_t id = block_lookup_inuse(&s->blocks, addr);
    if (id == BLOCK_NONE)
        Py_RETURN_NONE;
    return pyglue_str(heap_types_name(&s->types, s, id));
}

static PyObject *mod_type_index(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session;
    if (!PyArg_ParseTuple(args, "O", &session))
        return NULL;
    struct retain_session *s = typed_session(session, "type_index");
    if (!s)
        return NULL;
    struct heap_types *ht = &s->types;
    size_t nviews = 2 * (size_t)ht->nrefs;
    uint8_t *present = calloc(nviews + 1, 1);
    if (!present)
        return PyErr_NoMemory();
    for (uint32_t id = 0; id < ht->n; id++)
        if (ht->type_of[id] != HT_UNKNOWN)
            present[2 * (size_t)ht->type_of[id] + ht->is_array[id]] = 1;
    PyObject *list = PyList_New((Py_ssize_t)nviews);
    for (size_t v = 0; list && v < nviews; v++) {
        PyObject *name = present[v] ? pyglue_str(heap_types_ref_name(ht, s, (uint32_t)(v / 2), (int)(v & 1)))
                                    : (Py_INCREF(Py_None), Py_None);
        if (!name)
            Py_CLEAR(list);
        else
            PyList_SET_ITEM(list, (Py_ssize_t)v, name);
    }
    free(present);
    return list;
}

static PyObject *mod_blocks_with_types(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *session, *indexes;
    if (!PyArg_ParseTuple(args, "OO", &session, &indexes))
        return NULL;
    struct retain_session *s = typed_session(session, "blocks_with_types");
    if (!s)
        return NULL;
    struct heap_types *ht = &s->types;
    size_t nviews = 2 * (size_t)ht->nrefs;
    PyObject *seq = PySequence_Fast(indexes, "blocks_with_types: indexes must be a sequence of type indexes");
    if (!seq)
        return NULL;
    uint8_t *want = calloc(nviews + 1, 1);   /* want[nviews]: the unknown blocks */
    if (!want) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (item == Py_None) {
            want[nviews] = 1;
            continue;
        }
        Py_ssize_t v = PyNumber_AsSsize_t(item, PyExc_OverflowError);
        if (v == -1 && PyErr_Occurred())
            break;
        if (v < 0 || (size_t)v >= nviews) {
            PyErr_Format(PyExc_IndexError, "blocks_with_types: no type index %zd (there are %zu)", v, nviews);
            break;
        }
        want[v] = 1;
    }
    Py_DECREF(seq);
    if (PyErr_Occurred()) {
        free(want);
        return NULL;
    }
    const struct block_table *t = &s->blocks;
    PyObject *out = PyList_New(0);
    for (uint32_t id = 0; out && id < ht->n && id < t->n; id++) {
        if (!in_use(t, id))
            continue;
        size_t v = ht->type_of[id] == HT_UNKNOWN ? nviews : 2 * (size_t)ht->type_of[id] + ht->is_array[id];
        if (!want[v])
            continue;
        PyObject *a = PyLong_FromUnsignedLongLong(t->blocks[id].addr);
        if (!a || PyList_Append(out, a) < 0)
            Py_CLEAR(out);
        Py_XDECREF(a);
    }
    free(want);
    return out;
}

static PyMethodDef types_methods[] = {
    { "block_types", mod_block_types, METH_VARARGS,
      "block_types(session) -> dict: types every heap block (once per session) and says how it went" },
    { "histogram", mod_histogram, METH_VARARGS,
      "histogram(session) -> {'rows': [(type or None, size or None, count, bytes)], ...}: in-use blocks by "
      "type, and unknown blocks by usable size, largest bytes first" },
    { "type_of", mod_type_of, METH_VARARGS, "type_of(session, addr) -> the type of the block at addr, or None" },
    { "type_index", mod_type_index, METH_VARARGS,
      "type_index(session) -> [name or None]: index 2k is type k, 2k+1 an array of it" },
    { "blocks_with_types", mod_blocks_with_types, METH_VARARGS,
      "blocks_with_types(session, [type index or None]) -> [addr]: in-use blocks of those types "
      "(None: unknown), by address" },
    { NULL, NULL, 0, NULL },
};

int module_types_add(PyObject *m)
{
    return PyModule_AddFunctions(m, types_methods);
}
