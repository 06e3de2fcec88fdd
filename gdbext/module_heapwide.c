/* Heap-wide analyses for Python: dominators and retained sizes
 * (dominators.c), leaks (leaks.c). Each function takes a built
 * _retain.Session; results are computed on first need and kept with the
 * session (s->dom, s->leaks) until it is dropped (a session is one stop).
 *
 * `groups` (optional): one group number per root edge, in root_edges()
 * order; -1 leaves that root edge out (a --kind or --root filter). Groups
 * are nodes between the virtual root and the blocks, so a group (a global
 * array, say) that alone reaches some blocks dominates them. Without groups
 * every root edge hangs off the virtual root. The tree is kept for the last
 * groups asked for; groups=None takes any kept tree that leaves no root edge
 * out (block answers are the same; a group as idom reads as the root).
 *
 *   dominators(session, groups=None) -> {"reachable_bytes", "reached_blocks",
 *       "groups", "seconds"}: computes (or reuses) the tree; "groups" and
 *       "seconds" are those of the tree that answers.
 *   top_blocks(session, n, groups=None) -> [(addr, size, retained)]
 *       the n in-use blocks that retain the most, largest first (ties: lowest
 *       address first); unreachable blocks are never listed.
 *   retained(session, addr, groups=None) -> int
 *       bytes the block containing addr keeps alive (its own size and every
 *       block it dominates); 0 if no root reaches it.
 *   idom(session, addr, groups=None) -> ("block", addr) | ("group", g) |
 *       ("root", None) | None (unreachable)
 *   group_retained(session, groups) -> [bytes per group]
 *   root_edges(session) -> [(slot or None, root, target block addr)]
 *       every root edge: slot is the root word's address (None for a
 *       register); root indexes Session.root_ranges(), or, with
 *       ROOT_EDGE_VALUE set, the values added by add_value.
 *   leaks(session, limit=None) -> {"leaked_blocks", "leaked_bytes", "nroots",
 *       "seconds", "roots": [(kind, [member addrs], own_bytes, total_bytes,
 *       held_blocks)]}: in-use blocks no root reaches, by leak root (a block,
 *       or a "cycle" of blocks that nothing else unreachable points to),
 *       most bytes first; total_bytes counts what the root alone holds. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "dominators.h"
#include "leaks.h"
#include "module_heapwide.h"
#include "pyglue.h"
#include "session.h"


static struct retain_session *built_session(PyObject *session, const char *fn)
{
    return pyglue_session(session, fn, 1);
}

/* groups (a sequence, one int per root edge, -1: left out) -> a new array
 * (*arr_ret, free() it; NULL for None) and the number of groups. */
static int parse_groups(const struct retain_session *s, PyObject *obj, const char *fn, uint32_t **arr_ret,
                        uint32_t *ngroups_ret)
{
    *arr_ret = NULL;
    *ngroups_ret = 0;
    if (!obj || obj == Py_None)
        return 0;
    PyObject *seq = PySequence_Fast(obj, "groups must be a sequence of integers");
    if (!seq)
        return -1;
    Py_ssize_t len = PySequence_Fast_GET_SIZE(seq);
    if ((uint64_t)len != s->graph.nredges) {
        PyErr_Format(PyExc_ValueError, "%s: groups has %zd entries, not one per root edge (%llu)", fn, len,
                     (unsigned long long)s->graph.nredges);
        Py_DECREF(seq);
        return -1;
    }
    uint32_t *arr = malloc(((size_t)len + 1) * sizeof *arr), ngroups = 0;
    if (!arr) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < len; i++) {
        long long v = PyLong_AsLongLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v == -1 && PyErr_Occurred())
            goto bad;
        if (v < -1 || v >= (long long)DOM_GROUP - 1) {
            PyErr_Format(PyExc_ValueError, "%s: group %lld of root edge %zd is out of range", fn, v, i);
            goto bad;
        }
        arr[i] = v < 0 ? UINT32_MAX : (uint32_t)v;
        if (v >= 0 && (uint32_t)v + 1 > ngroups)
            ngroups = (uint32_t)v + 1;
    }
    Py_DECREF(seq);
    *arr_ret = arr;
    *ngroups_ret = ngroups;
    return 0;
bad:
    Py_DECREF(seq);
    free(arr);
    return -1;
}

static int leaves_out(const struct retain_session *s)
{
    if (!s->dom_groups)
        return 0;
    for (uint64_t i = 0; i < s->graph.nredges; i++)
        if (s->dom_groups[i] == UINT32_MAX)
            return 1;
    return 0;
}

/* The session's dominator tree for groups (None: no groups), computed unless
 * kept; -1 with an exception set. */
static int ensure_dom(struct retain_session *s, PyObject *groups_obj, const char *fn)
{
    uint32_t *groups, ngroups;
    if (parse_groups(s, groups_obj, fn, &groups, &ngroups))
        return -1;
    if (s->dom_ready) {
        if (!groups && !leaves_out(s))
            return 0;
        if (groups && s->dom_groups && s->dom.ngroups == ngroups &&
            memcmp(groups, s->dom_groups, (size_t)s->graph.nredges * sizeof *groups) == 0) {
            free(groups);
            return 0;
        }
    }
    /* The GIL stays held: the session is not ours to share meanwhile. */
    double t0 = session_now();
    struct dominators d;
    struct retain_error *err = dominators_compute(&s->graph, &s->blocks, groups, ngroups, &d);
    if (err) {
        free(groups);
        pyglue_raise(err);
        return -1;
    }
    dominators_deinit(&s->dom);
    free(s->dom_groups);
    s->dom = d;
    s->dom_groups = groups;
    s->dom_ready = 1;
    s->seconds_dominators = session_now() - t0;
    return 0;
}

/* The in-use block at addr; -1 with an exception set. */
static int inuse_block(struct retain_session *s, unsigned long long addr, uint32_t *id_ret)
{
    uint32_t id = block_lookup_inuse(&s->blocks, addr);
    if (id == BLOCK_NONE) {
        char msg[64];   /* PyErr_Format has no %llx */
        snprintf(msg, sizeof msg, "0x%llx is not in an in-use heap block", addr);
        PyErr_SetString(pyglue_error, msg);
        return -1;
    }
    *id_ret = id;
    return 0;
}

static PyObject *mod_dominators(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "groups", NULL };
    PyObject *session, *groups = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &session, &groups))
        return NULL;
    struct retain_session *s = built_session(session, "dominators");
    if (!s || ensure_dom(s, groups, "dominators"))
        return NULL;
    uint64_t reached = 0;
    for (uint32_t i = 0; i < s->dom.n; i++)
        reached += s->dom.idom[i] != DOM_NONE;
    return Py_BuildValue("{s:K,s:K,s:I,s:d}", "reachable_bytes", (unsigned long long)s->dom.reachable_bytes,
                         "reached_blocks", (unsigned long long)reached, "groups", s->dom.ngroups,
                         "seconds", s->seconds_dominators);
}

/* top_blocks: a min-heap of the n best so far, the worst on top. */
struct top_entry {
    uint64_t retained, addr;
    uint32_t id;
};

static int top_worse(const struct top_entry *a, const struct top_entry *b)
{
    return a->retained != b->retained ? a->retained < b->retained : a->addr > b->addr;
}

static void top_sift_down(struct top_entry *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && top_worse(&h[l], &h[m]))
            m = l;
        if (r < n && top_worse(&h[r], &h[m]))
            m = r;
        if (m == i)
            return;
        struct top_entry tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
    }
}

static int cmp_top(const void *a, const void *b)
{
    const struct top_entry *x = a, *y = b;
    if (x->retained != y->retained)
        return x->retained > y->retained ? -1 : 1;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* The n largest in-use blocks, by their own size: a min-heap of n ids. */
static PyObject *mod_largest_blocks(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "n", NULL };
    PyObject *session;
    Py_ssize_t want;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "On", kwlist, &session, &want))
        return NULL;
    struct retain_session *s = pyglue_session(session, "largest_blocks", 0);
    if (!s)
        return NULL;
    const struct block_table *t = &s->blocks;
    size_t cap = want < 0 ? 0 : (size_t)want, n = 0;
    uint32_t *heap = malloc((cap + 1) * sizeof *heap);
    if (!heap)
        return PyErr_NoMemory();
#define SIZE(i) (t->blocks[heap[i]].size)
    for (uint32_t id = 0; id < t->n && cap; id++) {
        if (!((t->inuse_bits[id >> 6] >> (id & 63)) & 1))
            continue;
        size_t i;
        if (n < cap) {
            i = n++;   /* sift up */
            for (; i && SIZE((i - 1) / 2) > t->blocks[id].size; i = (i - 1) / 2)
                heap[i] = heap[(i - 1) / 2];
        } else if (t->blocks[id].size > SIZE(0)) {
            i = 0;     /* replace the smallest, sift down */
            for (;;) {
                size_t c = 2 * i + 1;
                if (c >= n)
                    break;
                if (c + 1 < n && SIZE(c + 1) < SIZE(c))
                    c++;
                if (SIZE(c) >= t->blocks[id].size)
                    break;
                heap[i] = heap[c];
                i = c;
            }
        } else {
            continue;
        }
        heap[i] = id;
    }
    PyObject *out = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; out && i < n; i++) {
        PyObject *item = Py_BuildValue("(KK)", (unsigned long long)t->blocks[heap[i]].addr,
                                       (unsigned long long)SIZE(i));
        if (!item) {
            Py_CLEAR(out);
            break;
        }
        PyList_SET_ITEM(out, (Py_ssize_t)i, item);
    }
#undef SIZE
    free(heap);
    if (out && PyList_Sort(out) < 0)
        Py_CLEAR(out);
    return out;
}

static PyObject *mod_top_blocks(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "n", "groups", NULL };
    PyObject *session, *groups = Py_None;
    Py_ssize_t want;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "On|O", kwlist, &session, &want, &groups))
        return NULL;
    struct retain_session *s = built_session(session, "top_blocks");
    if (!s || ensure_dom(s, groups, "top_blocks"))
        return NULL;
    const struct dominators *d = &s->dom;
    const struct block_table *t = &s->blocks;
    size_t cap = want > 0 ? (size_t)want : 0, len = 0;
    if (cap > d->n)
        cap = d->n;
    struct top_entry *h = malloc((cap + 1) * sizeof *h);
    if (!h)
        return PyErr_NoMemory();
    for (uint32_t i = 0; i < d->n && cap; i++) {
        if (d->idom[i] == DOM_NONE)
            continue;
        struct top_entry e = { d->retained[i], t->blocks[i].addr, i };
        if (len < cap) {   /* sift up */
            size_t k = len++;
            h[k] = e;
            while (k && top_worse(&h[k], &h[(k - 1) / 2])) {
                struct top_entry tmp = h[k];
                h[k] = h[(k - 1) / 2];
                h[(k - 1) / 2] = tmp;
                k = (k - 1) / 2;
            }
        } else if (top_worse(&h[0], &e)) {
            h[0] = e;
            top_sift_down(h, len, 0);
        }
    }
    qsort(h, len, sizeof *h, cmp_top);
    PyObject *list = PyList_New((Py_ssize_t)len);
    for (size_t k = 0; list && k < len; k++) {
        PyObject *item = Py_BuildValue("(KKK)", (unsigned long long)h[k].addr,
                                       (unsigned long long)t->blocks[h[k].id].size,
                                       (unsigned long long)h[k].retained);
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, item);
    }
    free(h);
    return list;
}

/* (session, addr, groups=None): the session with its dominator tree and the
 * in-use block at addr; NULL with a Python exception otherwise. */
static struct retain_session *dom_block_args(PyObject *args, PyObject *kwargs, const char *fn, uint32_t *id,
                                             PyObject **groups)
{
    static char *kwlist[] = { "session", "addr", "groups", NULL };
    PyObject *session;
    unsigned long long addr;
    *groups = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OK|O", kwlist, &session, &addr, groups))
        return NULL;
    struct retain_session *s = built_session(session, fn);
    if (!s || inuse_block(s, addr, id) || ensure_dom(s, *groups, fn))
        return NULL;
    return s;
}

static PyObject *mod_retained(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    uint32_t id;
    PyObject *groups;
    struct retain_session *s = dom_block_args(args, kwargs, "retained", &id, &groups);
    return s ? PyLong_FromUnsignedLongLong(s->dom.retained[id]) : NULL;
}

static PyObject *mod_idom(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    uint32_t id;
    PyObject *groups;
    struct retain_session *s = dom_block_args(args, kwargs, "idom", &id, &groups);
    if (!s)
        return NULL;
    uint32_t up = s->dom.idom[id];
    if (up == DOM_NONE)
        Py_RETURN_NONE;
    if (up == DOM_ROOT || ((up & DOM_GROUP) && groups == Py_None))
        return Py_BuildValue("(sO)", "root", Py_None);
    if (up & DOM_GROUP)
        return Py_BuildValue("(sI)", "group", up & ~DOM_GROUP);
    return Py_BuildValue("(sK)", "block", (unsigned long long)s->blocks.blocks[up].addr);
}

static PyObject *mod_group_retained(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "groups", NULL };
    PyObject *session, *groups;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "OO", kwlist, &session, &groups))
        return NULL;
    struct retain_session *s = built_session(session, "group_retained");
    if (!s)
        return NULL;
    if (groups == Py_None)
        return PyErr_Format(PyExc_TypeError, "group_retained: groups must be a sequence of integers");
    if (ensure_dom(s, groups, "group_retained"))
        return NULL;
    PyObject *list = PyList_New((Py_ssize_t)s->dom.ngroups);
    for (uint32_t k = 0; list && k < s->dom.ngroups; k++) {
        PyObject *v = PyLong_FromUnsignedLongLong(s->dom.group_retained[k]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)k, v);
    }
    return list;
}

static PyObject *mod_root_edges(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", NULL };
    PyObject *session;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O", kwlist, &session))
        return NULL;
    struct retain_session *s = built_session(session, "root_edges");
    if (!s)
        return NULL;
    const struct graph *g = &s->graph;
    PyObject *list = PyList_New((Py_ssize_t)g->nredges);
    for (uint64_t i = 0; list && i < g->nredges; i++) {
        const struct root_edge *e = &g->redges[i];
        PyObject *slot = e->slot ? PyLong_FromUnsignedLongLong(e->slot) : (Py_INCREF(Py_None), Py_None);
        PyObject *item = slot ? Py_BuildValue("(NIK)", slot, e->root,
                                              (unsigned long long)s->blocks.blocks[e->target].addr) : NULL;
        if (!item) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, item);
    }
    return list;
}

static PyObject *leak_root_tuple(const struct retain_session *s, const struct leak_root *lr)
{
    PyObject *members = PyList_New((Py_ssize_t)lr->count);
    for (uint32_t k = 0; members && k < lr->count; k++) {
        PyObject *a = PyLong_FromUnsignedLongLong(s->blocks.blocks[s->leaks.members[lr->first + k]].addr);
        if (!a) {
            Py_CLEAR(members);
            break;
        }
        PyList_SET_ITEM(members, (Py_ssize_t)k, a);
    }
    if (!members)
        return NULL;
    return Py_BuildValue("(sNKKI)", lr->count > 1 ? "cycle" : "block", members,
                         (unsigned long long)lr->own_bytes, (unsigned long long)lr->total_bytes, lr->held);
}

static PyObject *mod_leaks(PyObject *self, PyObject *args, PyObject *kwargs)
{
    (void)self;
    static char *kwlist[] = { "session", "limit", NULL };
    PyObject *session, *limit_obj = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|O", kwlist, &session, &limit_obj))
        return NULL;
    struct retain_session *s = built_session(session, "leaks");
    if (!s)
        return NULL;
    uint64_t limit = UINT64_MAX;
    if (limit_obj != Py_None) {
        long long v = PyLong_AsLongLong(limit_obj);
        if (v == -1 && PyErr_Occurred())
            return NULL;
        limit = v < 0 ? 0 : (uint64_t)v;
    }
    if (!s->leaks_ready) {
        double t0 = session_now();
        const uint32_t *dist;
        struct retain_error *err = session_distances(s, &dist);
        if (!err)
            err = leaks_find(&s->graph, &s->blocks, dist, &s->leaks);
        if (err)
            return pyglue_raise(err);
        s->leaks_ready = 1;
        s->seconds_leaks = session_now() - t0;
    }
    const struct leak_report *r = &s->leaks;
    uint64_t nlist = r->nroots < limit ? r->nroots : limit;
    PyObject *roots = PyList_New((Py_ssize_t)nlist);
    for (uint64_t i = 0; roots && i < nlist; i++) {
        PyObject *item = leak_root_tuple(s, &r->roots[i]);
        if (!item) {
            Py_CLEAR(roots);
            break;
        }
        PyList_SET_ITEM(roots, (Py_ssize_t)i, item);
    }
    if (!roots)
        return NULL;
    return Py_BuildValue("{s:I,s:K,s:I,s:d,s:N}", "leaked_blocks", r->leaked_blocks,
                         "leaked_bytes", (unsigned long long)r->leaked_bytes, "nroots", r->nroots,
                         "seconds", s->seconds_leaks, "roots", roots);
}

#define KW (METH_VARARGS | METH_KEYWORDS)
#define FN(f) (PyCFunction)(void (*)(void))(f)

static PyMethodDef heapwide_methods[] = {
    { "dominators", FN(mod_dominators), KW,
      "dominators(session, groups=None) -> {reachable_bytes, reached_blocks, groups, seconds}: the dominator "
      "tree over the reference graph, computed once and kept with the session" },
    { "largest_blocks", FN(mod_largest_blocks), KW,
      "largest_blocks(session, n) -> [(addr, size)]: the n largest in-use blocks by their own size" },
    { "top_blocks", FN(mod_top_blocks), KW,
      "top_blocks(session, n, groups=None) -> [(addr, size, retained)]: the n blocks that retain the most" },
    { "retained", FN(mod_retained), KW,
      "retained(session, addr, groups=None) -> int: bytes the block at addr keeps alive (0: unreachable)" },
    { "idom", FN(mod_idom), KW,
      "idom(session, addr, groups=None) -> ('block', addr) | ('group', g) | ('root', None) | None" },
    { "group_retained", FN(mod_group_retained), KW,
      "group_retained(session, groups) -> [bytes]: what each group of root edges alone keeps alive" },
    { "root_edges", FN(mod_root_edges), KW,
      "root_edges(session) -> [(slot or None, root, target addr)]: root & ROOT_EDGE_VALUE: an add_value "
      "value, else a root_ranges() index" },
    { "leaks", FN(mod_leaks), KW,
      "leaks(session, limit=None) -> {leaked_blocks, leaked_bytes, nroots, seconds, roots: [(kind, [addrs], "
      "own_bytes, total_bytes, held_blocks)]}: unreachable in-use blocks by leak root, most bytes first" },
    { NULL, NULL, 0, NULL },
};

int module_heapwide_add(PyObject *m)
{
    if (PyModule_AddIntConstant(m, "ROOT_EDGE_VALUE", (long)ROOT_EDGE_VALUE) < 0)
        return -1;
    return PyModule_AddFunctions(m, heapwide_methods);
}
