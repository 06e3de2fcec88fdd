/* Shared pieces of the CPython binding. */
#include <string.h>
#include "pyglue.h"

PyObject *pyglue_error;

struct retain_session *pyglue_session(PyObject *obj, const char *fn, int need_built)
{
    if (strcmp(Py_TYPE(obj)->tp_name, "_retain.Session") != 0) {
        PyErr_Format(PyExc_TypeError, "%s: expected a _retain.Session, not %s", fn, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    struct retain_session *s = ((SessionObject *)obj)->s;
    if (need_built && !s->built) {
        PyErr_Format(pyglue_error, "%s: the reference graph has not been built", fn);
        return NULL;
    }
    return s;
}

PyObject *pyglue_raise(struct retain_error *err)
{
    PyErr_SetString(pyglue_error, err->msg);
    retain_error_destroy(err);
    return NULL;
}

PyObject *pyglue_str(const char *s)
{
    if (s)
        return PyUnicode_DecodeUTF8(s, (Py_ssize_t)strlen(s), "replace");
    Py_RETURN_NONE;
}
