/* _retain.find_glibc_layout(session, thread_pointers=()) -> dict
 *
 * The dict is what Session.walk_glibc takes (main_arena, sbrk_base, the
 * offsets, tcaches...), found from the heap's own structure instead of
 * libc's debug symbols (glibc_nosym.c), plus how it was found:
 *   "method": "heap-structure", "warnings": [str], "glibc_version": "2.36",
 *   "glibc_release": str, "libc": path, "build_id": hex or None,
 *   "version_source": "memory" | "file", "sbrk_source": "system_mem" |
 *   "mapping" | "none", "initialized": bool, "narenas": int,
 *   "tcache_sources": {"position": n, "tls": n, "scan": n},
 *   "tls_offset": int or None (libc's `tcache` TLS variable - fs_base). */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "glibc_nosym.h"
#include "module_glibc.h"
#include "pyglue.h"
#include "session.h"


static int set_item(PyObject *d, const char *key, PyObject *v)
{
    if (!v)
        return -1;
    int rc = PyDict_SetItemString(d, key, v);
    Py_DECREF(v);
    return rc;
}

/* A str, or None for NULL or "" (an absent version or build-id). */
static PyObject *str_or_none(const char *s)
{
    return pyglue_str(s && s[0] ? s : NULL);
}

static PyObject *found_dict(const struct glibc_found *g)
{
    const struct glibc_layout *lay = &g->lay;
    PyObject *d = PyDict_New();
    if (!d)
        return NULL;
    struct { const char *key; unsigned long long v; } ints[] = {
        { "main_arena", lay->main_arena }, { "sbrk_base", lay->sbrk_base },
        { "off_fastbins", lay->off_fastbins }, { "nfastbins", lay->nfastbins },
        { "off_top", lay->off_top }, { "off_next", lay->off_next },
        { "off_system_mem", lay->off_system_mem }, { "sizeof_malloc_state", lay->sizeof_malloc_state },
        { "sizeof_heap_info", lay->sizeof_heap_info }, { "off_heap_info_size", lay->off_heap_info_size },
        { "off_heap_info_prev", lay->off_heap_info_prev }, { "heap_max_size", lay->heap_max_size },
        { "safe_linking", (unsigned long long)lay->safe_linking }, { "tcache_bins", lay->tcache_bins },
        { "tcache_count_size", lay->tcache_count_size }, { "narenas", g->narenas },
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (set_item(d, ints[i].key, PyLong_FromUnsignedLongLong(ints[i].v)))
            goto fail;
    PyObject *tc = PyList_New((Py_ssize_t)lay->ntcaches);
    if (!tc)
        goto fail;
    for (uint32_t i = 0; i < lay->ntcaches; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(lay->tcaches[i]);
        if (!v) {
            Py_DECREF(tc);
            goto fail;
        }
        PyList_SET_ITEM(tc, (Py_ssize_t)i, v);
    }
    if (set_item(d, "tcaches", tc))
        goto fail;
    PyObject *warnings = PyList_New((Py_ssize_t)g->nwarnings);
    if (!warnings)
        goto fail;
    for (uint32_t i = 0; i < g->nwarnings; i++) {
        PyObject *w = str_or_none(g->warnings[i]);
        if (!w) {
            Py_DECREF(warnings);
            goto fail;
        }
        PyList_SET_ITEM(warnings, (Py_ssize_t)i, w);
    }
    if (set_item(d, "warnings", warnings))
        goto fail;
    char version[32];
    snprintf(version, sizeof version, "%d.%d", g->major, g->minor);
    if (set_item(d, "method", PyUnicode_FromString("heap-structure")) ||
        set_item(d, "glibc_version", PyUnicode_FromString(version)) ||
        set_item(d, "glibc_release", str_or_none(g->release)) ||
        set_item(d, "libc", str_or_none(g->libc_path)) ||
        set_item(d, "build_id", str_or_none(g->build_id)) ||
        set_item(d, "version_source", PyUnicode_FromString(g->version_source)) ||
        set_item(d, "sbrk_source", PyUnicode_FromString(g->sbrk_source)) ||
        set_item(d, "initialized", PyBool_FromLong(g->initialized)) ||
        set_item(d, "tls_offset", g->tls_offset_found ? PyLong_FromLongLong(g->tls_offset)
                                                      : (Py_INCREF(Py_None), Py_None)) ||
        set_item(d, "tcache_sources", Py_BuildValue("{s:I,s:I,s:I}", "position", g->ntcache_position,
                                                    "tls", g->ntcache_tls, "scan", g->ntcache_scan)))
        goto fail;
    return d;
fail:
    Py_DECREF(d);
    return NULL;
}

static PyObject *mod_find_glibc_layout(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "thread_pointers", NULL };
    PyObject *session, *tps_obj = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &session, &tps_obj))
        return NULL;
    struct retain_session *s = pyglue_session(session, "find_glibc_layout", 0);
    if (!s)
        return NULL;
    uint64_t *tps = NULL;
    Py_ssize_t ntps = 0;
    if (tps_obj && tps_obj != Py_None) {
        PyObject *seq = PySequence_Fast(tps_obj, "thread_pointers must be a sequence of integers");
        if (!seq)
            return NULL;
        ntps = PySequence_Fast_GET_SIZE(seq);
        tps = calloc((size_t)ntps + 1, sizeof *tps);
        if (!tps) {
            Py_DECREF(seq);
            return PyErr_NoMemory();
        }
        for (Py_ssize_t i = 0; i < ntps; i++)
            tps[i] = PyLong_AsUnsignedLongLong(PySequence_Fast_GET_ITEM(seq, i));
        Py_DECREF(seq);
        if (PyErr_Occurred()) {
            free(tps);
            return NULL;
        }
    }
    struct glibc_found g;
    struct retain_error *err;
    /* The GIL stays held: a callback memory source reads through Python. */
    err = glibc_find_layout(s->mem, tps, (size_t)ntps, &g);
    free(tps);
    if (err) {
        PyErr_SetString(pyglue_error ? pyglue_error : PyExc_RuntimeError, err->msg);
        retain_error_destroy(err);
        glibc_found_deinit(&g);
        return NULL;
    }
    PyObject *d = found_dict(&g);
    glibc_found_deinit(&g);
    return d;
}

static PyMethodDef glibc_methods[] = {
    { "find_glibc_layout", (PyCFunction)(void (*)(void))mod_find_glibc_layout, METH_VARARGS | METH_KEYWORDS,
      "find_glibc_layout(session, thread_pointers=()) -> dict: glibc's heap layout found from the heap's "
      "own structure (no debug symbols); the dict walk_glibc takes, plus method and warnings" },
    { NULL, NULL, 0, NULL },
};

int module_glibc_add(PyObject *m)
{
    return PyModule_AddFunctions(m, glibc_methods);
}
