/* The CPython binding: module _retain, type Session. Python (running inside
 * gdb) hands over what only gdb knows; everything per-word happens in C.
 * Engine errors become _retain.Error; Ctrl-C during a scan becomes
 * KeyboardInterrupt. */
#include <string.h>
#include "pyglue.h"
#include "describe.h"
#include "domstats.h"
#include "merged.h"
#include "module_glibc.h"
#include "module_go.h"
#include "module_heapwide.h"
#include "module_types.h"
#include "session.h"


static PyTypeObject SessionType;


static PyObject *hex(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "0x%llx", (unsigned long long)v);
    return PyUnicode_FromString(buf);
}

static PyObject *wrap_session(struct retain_session *s, PyObject *reader)
{
    SessionObject *obj = PyObject_New(SessionObject, &SessionType);
    if (!obj) {
        session_destroy(s);
        return NULL;
    }
    obj->s = s;
    obj->reader = reader;
    Py_XINCREF(reader);
    return (PyObject *)obj;
}

static PyObject *open_session(struct memory *mem, struct retain_error *err, PyObject *reader)
{
    if (err)
        return pyglue_raise(err);
    struct retain_session *s;
    err = session_create(mem, &s);
    if (err)
        return pyglue_raise(err);
    return wrap_session(s, reader);
}

static PyObject *mod_open_core(PyObject *self, PyObject *args)
{
    (void)self;
    const char *path;
    if (!PyArg_ParseTuple(args, "s", &path))
        return NULL;
    struct memory *mem = NULL;
    struct retain_error *err = memory_open_core(path, &mem);
    return open_session(mem, err, NULL);
}

static PyObject *mod_open_live(PyObject *self, PyObject *args)
{
    (void)self;
    int pid;
    if (!PyArg_ParseTuple(args, "i", &pid))
        return NULL;
    struct memory *mem = NULL;
    struct retain_error *err = memory_open_live(pid, &mem);
    return open_session(mem, err, NULL);
}

/* Reads through a Python callable reader(addr, len) -> bytes (a prefix) or None. */
static size_t python_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    PyObject *res = PyObject_CallFunction((PyObject *)ctx, "Kn", (unsigned long long)addr, (Py_ssize_t)len);
    if (!res) {
        PyErr_Clear();   /* unreadable, not fatal */
        return 0;
    }
    size_t got = 0;
    char *data;
    Py_ssize_t n;
    if (res != Py_None && PyBytes_AsStringAndSize(res, &data, &n) == 0) {
        got = (size_t)n < len ? (size_t)n : len;
        memcpy(buf, data, got);
    }
    PyErr_Clear();
    Py_DECREF(res);
    return got;
}

static PyObject *mod_open_callback(PyObject *self, PyObject *args)
{
    (void)self;
    PyObject *reader, *maplist;
    if (!PyArg_ParseTuple(args, "OO!", &reader, &PyList_Type, &maplist))
        return NULL;
    Py_ssize_t n = PyList_Size(maplist);
    struct mapping *maps = calloc((size_t)n + 1, sizeof *maps);
    if (!maps)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long start, end, offset;
        unsigned int prot;
        const char *path;
        if (!PyArg_ParseTuple(PyList_GetItem(maplist, i), "KKKIz", &start, &end, &offset, &prot, &path)) {
            for (Py_ssize_t j = 0; j < i; j++)
                free(maps[j].path);
            free(maps);
            return NULL;
        }
        maps[i] = (struct mapping){ start, end, offset, prot, path ? strdup(path) : NULL };
    }
    struct memory *mem = NULL;
    struct retain_error *err = memory_open_callback(python_read, reader, maps, (size_t)n, &mem);
    for (Py_ssize_t i = 0; i < n; i++)
        free(maps[i].path);
    free(maps);
    return open_session(mem, err, reader);
}

static void session_dealloc(SessionObject *self)
{
    session_destroy(self->s);
    Py_XDECREF(self->reader);
    PyObject_Free(self);
}

static PyObject *s_mappings(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    const struct mapping *maps;
    size_t n = memory_mappings(self->s->mem, &maps);
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++)
        PyList_SET_ITEM(list, (Py_ssize_t)i, Py_BuildValue("KKKIz", (unsigned long long)maps[i].start,
                        (unsigned long long)maps[i].end, (unsigned long long)maps[i].offset,
                        maps[i].prot, maps[i].path));
    return list;
}

static PyObject *s_read(SessionObject *self, PyObject *args)
{
    unsigned long long addr;
    Py_ssize_t len;
    if (!PyArg_ParseTuple(args, "Kn", &addr, &len))
        return NULL;
    if (len < 0 || len > (1 << 24))
        return PyErr_Format(PyExc_ValueError, "read length %zd out of range", len);
    PyObject *out = PyBytes_FromStringAndSize(NULL, len);
    if (!out)
        return NULL;
    size_t got = memory_read(self->s->mem, addr, PyBytes_AS_STRING(out), (size_t)len);
    if (_PyBytes_Resize(&out, (Py_ssize_t)got) < 0)
        return NULL;
    return out;
}

/* Reads an unsigned integer item from a dict; 0 if absent. */
static int dict_u64(PyObject *d, const char *key, uint64_t *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    *out = 0;
    if (!v)
        return 0;
    unsigned long long x = PyLong_AsUnsignedLongLong(v);
    if (PyErr_Occurred()) {
        PyErr_Format(PyExc_ValueError, "layout field %s must be a non-negative integer", key);
        return -1;
    }
    *out = x;
    return 0;
}

static PyObject *s_walk_glibc(SessionObject *self, PyObject *args)
{
    PyObject *d;
    if (!PyArg_ParseTuple(args, "O!", &PyDict_Type, &d))
        return NULL;
    struct glibc_layout lay;
    memset(&lay, 0, sizeof lay);
    static const char *const u32_keys[] = {
        "off_fastbins", "nfastbins", "off_top", "off_next", "off_system_mem", "sizeof_malloc_state",
        "sizeof_heap_info", "off_heap_info_size", "off_heap_info_prev", "tcache_bins", "tcache_count_size",
    };
    uint32_t *u32_fields[] = {
        &lay.off_fastbins, &lay.nfastbins, &lay.off_top, &lay.off_next, &lay.off_system_mem,
        &lay.sizeof_malloc_state, &lay.sizeof_heap_info, &lay.off_heap_info_size,
        &lay.off_heap_info_prev, &lay.tcache_bins, &lay.tcache_count_size,
    };
    uint64_t v;
    for (size_t i = 0; i < sizeof u32_keys / sizeof *u32_keys; i++) {
        if (dict_u64(d, u32_keys[i], &v))
            return NULL;
        *u32_fields[i] = (uint32_t)v;
    }
    if (dict_u64(d, "main_arena", &lay.main_arena) || dict_u64(d, "sbrk_base", &lay.sbrk_base) ||
        dict_u64(d, "heap_max_size", &lay.heap_max_size) || dict_u64(d, "safe_linking", &v))
        return NULL;
    lay.safe_linking = v != 0;
    PyObject *tc = PyDict_GetItemString(d, "tcaches");
    Py_ssize_t ntc = tc && PyList_Check(tc) ? PyList_Size(tc) : 0;
    lay.tcaches = calloc((size_t)ntc + 1, sizeof *lay.tcaches);
    if (!lay.tcaches)
        return PyErr_NoMemory();
    for (Py_ssize_t i = 0; i < ntc; i++)
        lay.tcaches[i] = PyLong_AsUnsignedLongLong(PyList_GetItem(tc, i));
    lay.ntcaches = (uint32_t)ntc;
    if (PyErr_Occurred()) {
        free(lay.tcaches);
        return NULL;
    }
    struct retain_error *err = session_walk_glibc(self->s, &lay);
    free(lay.tcaches);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static int parse_kind(const char *name)
{
    int k = root_kind_parse(name);
    if (k < 0)
        PyErr_Format(PyExc_ValueError, "unknown root kind '%s'", name);
    return k;
}

static PyObject *s_add_range(SessionObject *self, PyObject *args)
{
    const char *kind, *label;
    unsigned long long start, end;
    unsigned int thread;
    if (!PyArg_ParseTuple(args, "sKKIz", &kind, &start, &end, &thread, &label))
        return NULL;
    int k = parse_kind(kind);
    if (k < 0)
        return NULL;
    struct retain_error *err = root_set_add_range(&self->s->roots, (enum root_kind)k, start, end, thread, label);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *s_add_value(SessionObject *self, PyObject *args)
{
    const char *kind, *label, *var, *type;
    unsigned long long value;
    unsigned int thread;
    if (!PyArg_ParseTuple(args, "sKIzzz", &kind, &value, &thread, &label, &var, &type))
        return NULL;
    int k = parse_kind(kind);
    if (k < 0)
        return NULL;
    struct retain_error *err = root_set_add_value(&self->s->roots, (enum root_kind)k, value, thread, label, var, type);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *s_add_frame(SessionObject *self, PyObject *args)
{
    unsigned int thread, level, line;
    unsigned long long lo, hi;
    const char *function, *file;
    if (!PyArg_ParseTuple(args, "IIKKzzI", &thread, &level, &lo, &hi, &function, &file, &line))
        return NULL;
    struct retain_error *err = root_set_add_frame(&self->s->roots, thread, level, lo, hi, function, file, line);
    if (err)
        return pyglue_raise(err);
    return PyLong_FromUnsignedLong(self->s->roots.nframes - 1);
}

static PyObject *s_add_var(SessionObject *self, PyObject *args)
{
    const char *kind, *name, *type;
    unsigned long long addr, size;
    unsigned int thread, frame;
    if (!PyArg_ParseTuple(args, "sKKIIzz", &kind, &addr, &size, &thread, &frame, &name, &type))
        return NULL;
    int k = parse_kind(kind);
    if (k < 0)
        return NULL;
    struct retain_error *err = root_set_add_var(&self->s->roots, (enum root_kind)k, addr, size, thread, frame, name, type);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *s_exclude(SessionObject *self, PyObject *args)
{
    unsigned long long start, end;
    if (!PyArg_ParseTuple(args, "KK", &start, &end))
        return NULL;
    struct retain_error *err = root_set_exclude(&self->s->roots, start, end);
    if (err)
        return pyglue_raise(err);
    Py_RETURN_NONE;
}

static PyObject *s_set_memory_limit(SessionObject *self, PyObject *args)
{
    unsigned long long limit;
    if (!PyArg_ParseTuple(args, "K", &limit))
        return NULL;
    self->s->memory_limit = limit;
    Py_RETURN_NONE;
}

/* Progress: let Ctrl-C through, and tell Python's reporter if there is one. */
static int progress_cb(void *ctx, const char *phase, uint64_t done, uint64_t total)
{
    if (PyErr_CheckSignals() < 0)
        return 1;
    PyObject *fn = ctx;
    if (fn && fn != Py_None) {
        PyObject *r = PyObject_CallFunction(fn, "sKK", phase, (unsigned long long)done, (unsigned long long)total);
        if (!r)
            return 1;
        Py_DECREF(r);
    }
    return 0;
}

static PyObject *s_build(SessionObject *self, PyObject *args)
{
    PyObject *progress = Py_None;
    if (!PyArg_ParseTuple(args, "|O", &progress))
        return NULL;
    struct retain_error *err = session_build(self->s, progress_cb, progress);
    if (err) {
        if (PyErr_Occurred()) {   /* KeyboardInterrupt or the reporter's own error */
            retain_error_destroy(err);
            return NULL;
        }
        return pyglue_raise(err);
    }
    Py_RETURN_NONE;
}

static const char *heap_name(enum block_kind k)
{
    switch (k) {
    case BLOCK_KIND_MAIN_ARENA: return "main-arena";
    case BLOCK_KIND_ARENA: return "arena";
    case BLOCK_KIND_MMAPPED: return "mmapped";
    case BLOCK_KIND_GO:
    case BLOCK_KIND_GO_NOSCAN: return "go";
    }
    return "?";
}

static const char *why_name(enum block_why w)
{
    switch (w) {
    case BLOCK_WHY_BIN: return "bin";
    case BLOCK_WHY_TCACHE: return "tcache";
    case BLOCK_WHY_FASTBIN: return "fastbin";
    case BLOCK_WHY_TOP: return "top";
    default: return NULL;
    }
}

static PyObject *block_dict(struct retain_session *s, uint32_t id)
{
    const struct block_table *t = &s->blocks;
    enum block_state st = block_state(t, id);
    return Py_BuildValue("{s:I,s:K,s:K,s:s,s:s,s:z}", "id", id,
                         "addr", (unsigned long long)t->blocks[id].addr,
                         "size", (unsigned long long)t->blocks[id].size,
                         "state", st == BLOCK_INUSE ? "in-use" : "free",
                         "heap", heap_name(block_kind(t, id)),
                         "free_reason", st == BLOCK_FREE ? why_name(block_why(t, id)) : NULL);
}

static PyObject *s_lookup(SessionObject *self, PyObject *args)
{
    unsigned long long addr;
    if (!PyArg_ParseTuple(args, "K", &addr))
        return NULL;
    if (!self->s->walked)
        return PyErr_Format(pyglue_error, "no heap has been walked");
    uint32_t id = block_lookup(&self->s->blocks, addr);
    if (id == BLOCK_NONE)
        Py_RETURN_NONE;
    return block_dict(self->s, id);
}

/* The block at addr, which must be in use, for graph queries. */
static int inuse_block(SessionObject *self, unsigned long long addr, uint32_t *id_ret)
{
    if (!self->s->built) {
        PyErr_SetString(pyglue_error, "the reference graph has not been built");
        return -1;
    }
    uint32_t id = block_lookup(&self->s->blocks, addr);
    if (id == BLOCK_NONE || block_state(&self->s->blocks, id) != BLOCK_INUSE) {
        char msg[64];   /* PyErr_Format has no %llx */
        snprintf(msg, sizeof msg, "0x%llx is not in an in-use heap block", addr);
        PyErr_SetString(pyglue_error, msg);
        return -1;
    }
    *id_ret = id;
    return 0;
}

static PyObject *frame_dict(const struct root_frame *f)
{
    if (!f)
        Py_RETURN_NONE;
    return Py_BuildValue("{s:I,s:N,s:N,s:N}", "level", f->level, "function", pyglue_str(f->function),
                         "file", pyglue_str(f->file),
                         "line", f->line ? PyLong_FromUnsignedLong(f->line) : (Py_INCREF(Py_None), Py_None));
}

static PyObject *root_dict(const struct root_desc *d)
{
    PyObject *thread = d->thread ? PyLong_FromUnsignedLong(d->thread) : (Py_INCREF(Py_None), Py_None);
    PyObject *slot = d->has_slot ? hex(d->slot) : (Py_INCREF(Py_None), Py_None);
    return Py_BuildValue("{s:s,s:N,s:N,s:K,s:N,s:N,s:N,s:O,s:N,s:N,s:N}",
                         "kind", root_kind_name(d->kind), "name", pyglue_str(d->name),
                         "addr", slot, "offset", (unsigned long long)d->offset,
                         "thread", thread, "frame", frame_dict(d->frame), "type", pyglue_str(d->type),
                         "precise", d->precise ? Py_True : Py_False, "label", pyglue_str(d->label),
                         "pointer", hex(d->pointer), "register", d->kind == ROOT_REGISTER ? pyglue_str(d->label) : (Py_INCREF(Py_None), Py_None));
}

/* A hop as a tuple: (addr, size, type, slot, offset, field, pointer, interior, via).
 * type is "T[]" when the block holds an array of T; via (or None) says how
 * the word reaches the block when the field does not ("interface: *main.span"). */
static PyObject *hop_tuple(const struct hop_desc *h)
{
    PyObject *slot = h->has_slot ? PyLong_FromUnsignedLongLong(h->slot) : (Py_INCREF(Py_None), Py_None);
    PyObject *type;
    if (h->type && h->array)
        type = PyUnicode_FromFormat("%s[]", h->type);
    else
        type = pyglue_str(h->type);
    return Py_BuildValue("(KKNNLsKLN)", (unsigned long long)h->addr, (unsigned long long)h->size,
                         type, slot, (long long)h->offset, h->field,
                         (unsigned long long)h->pointer, (long long)h->interior, pyglue_str(h->via));
}

static uint32_t kinds_mask(PyObject *kinds)
{
    if (!kinds || kinds == Py_None)
        return ROOT_KINDS_ALL;
    uint32_t mask = 0;
    Py_ssize_t n = PySequence_Size(kinds);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_GetItem(kinds, i);
        const char *name = item ? PyUnicode_AsUTF8(item) : NULL;
        int k = name ? parse_kind(name) : -1;
        Py_XDECREF(item);
        if (k < 0)
            return 0;
        mask |= 1u << k;
    }
    return mask;
}

static PyObject *path_object(struct retain_session *s, const struct query_path *p)
{
    struct hop_desc *hops = malloc((size_t)p->nblocks * sizeof *hops);
    if (!hops)
        return PyErr_NoMemory();
    struct root_desc root;
    describe_path(s, p, &root, hops);
    PyObject *list = PyList_New(p->nblocks);
    for (uint32_t i = 0; list && i < p->nblocks; i++) {
        PyObject *t = hop_tuple(&hops[i]);
        if (!t) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, t);
    }
    free(hops);
    if (!list)
        return NULL;
    return Py_BuildValue("{s:N,s:N}", "root", root_dict(&root), "hops", list);
}

/* Compiles an optional --root style pattern; on error raises _retain.Error
 * naming the option. */
static int compile_filter(const char *option, const char *pattern, struct filter **f_ret)
{
    *f_ret = NULL;
    struct retain_error *err = filter_compile(pattern, f_ret);
    if (err) {
        PyErr_Format(pyglue_error, "bad %s pattern '%s': %s", option, pattern, err->msg);
        retain_error_destroy(err);
        return -1;
    }
    return 0;
}

/* --through: a hop matches when its field or the type of the block it
 * leads to matches the pattern (types: heap-wide, heaptypes.h). */
struct through {
    struct retain_session *s;
    const struct filter *f;
};

static int hop_matches(struct retain_session *s, const struct filter *f, const char *field, uint32_t dst)
{
    if (filter_match(f, field))
        return 1;
    const char *type = heap_types_name(&s->types, s, dst);
    return type && filter_match(f, type);
}

static int through_edge(void *ctx, uint32_t src, uint32_t dst)
{
    struct through *th = ctx;
    const struct heap_types *ht = &th->s->types;
    uint32_t tref = ht->type_of[src];
    struct type_ref ft = tref == HT_UNKNOWN ? (struct type_ref){ OBJ_NONE, DWARF_TYPE_NONE } : ht->refs[tref];
    char field[160];
    describe_field(th->s, src, dst, ft, tref != HT_UNKNOWN && ht->is_array[src], field, sizeof field);
    return hop_matches(th->s, th->f, field, dst);
}

static int through_root(void *ctx, uint64_t redge, uint32_t dst)
{
    struct through *th = ctx;
    struct query_path p = { .redge = redge, .blocks = &dst, .nblocks = 1 };
    struct root_desc rd;
    struct hop_desc hop;
    describe_path(th->s, &p, &rd, &hop);
    return hop_matches(th->s, th->f, hop.field, dst);
}

static PyObject *s_paths(SessionObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "addr", "n", "kinds", "max_depth", "root", "exclude_root", "through",
                              "time_limit", NULL };
    unsigned long long addr;
    unsigned int n = 1, max_depth = 0;
    double time_limit = 0;
    PyObject *kinds = Py_None;
    const char *root_pat = NULL, *exclude_pat = NULL, *through_pat = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "K|IOIzzzd", kwlist, &addr, &n, &kinds, &max_depth,
                                     &root_pat, &exclude_pat, &through_pat, &time_limit))
        return NULL;
    struct root_judge judge = { .s = self->s };
    struct filter *root_f = NULL, *exclude_f = NULL, *through_f = NULL;
    if (compile_filter("--root", root_pat, &root_f) || compile_filter("--exclude-root", exclude_pat, &exclude_f) ||
        compile_filter("--through", through_pat, &through_f)) {
        filter_destroy(root_f);
        filter_destroy(exclude_f);
        return NULL;
    }
    judge.root = root_pat ? root_f : NULL;
    judge.exclude = exclude_pat ? exclude_f : NULL;
    struct through th = { .s = self->s, .f = through_f };
    struct path_query q = { .want = n ? n : 1, .max_depth = max_depth, .kinds = kinds_mask(kinds),
                            .judge = describe_root_judge, .judge_ctx = &judge,
                            .deadline = time_limit > 0 ? session_now() + time_limit : 0 };
    if (through_pat && *through_pat) {
        struct retain_error *terr = session_types(self->s);
        if (terr) {
            filter_destroy(root_f);
            filter_destroy(exclude_f);
            filter_destroy(through_f);
            return pyglue_raise(terr);
        }
        q.through_edge = through_edge;
        q.through_root = through_root;
        q.through_ctx = &th;
    }
    if (PyErr_Occurred() || inuse_block(self, addr, &q.target)) {
        filter_destroy(root_f);
        filter_destroy(exclude_f);
        filter_destroy(through_f);
        return NULL;
    }
    struct query_path *paths;
    uint32_t npaths;
    int truncated;
    struct retain_error *err = query_paths(&self->s->graph, &self->s->roots, &q, &paths, &npaths, &truncated);
    filter_destroy(root_f);
    filter_destroy(exclude_f);
    filter_destroy(through_f);
    if (err)
        return pyglue_raise(err);
    PyObject *list = PyList_New(npaths);
    for (uint32_t i = 0; list && i < npaths; i++) {
        PyObject *p = path_object(self->s, &paths[i]);
        if (!p) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, p);
    }
    query_paths_free(paths, npaths);
    if (!list)
        return NULL;
    return Py_BuildValue("(NO)", list, truncated ? Py_True : Py_False);
}

#define WHO_TYPED_REFERRERS 32

static PyObject *s_referrers(SessionObject *self, PyObject *args)
{
    unsigned long long addr;
    uint32_t id;
    if (!PyArg_ParseTuple(args, "K", &addr) || inuse_block(self, addr, &id))
        return NULL;
    struct retain_session *s = self->s;
    PyObject *out = PyList_New(0);
    for (uint32_t e = s->graph.rev_off[id]; out && e < s->graph.rev_off[id + 1]; e++) {
        struct hop_desc h;
        /* Typing a referrer by its own chain costs a search: only the first few. */
        describe_edge(s, s->graph.rev[e], id, e - s->graph.rev_off[id] < WHO_TYPED_REFERRERS, &h);
        PyObject *item = Py_BuildValue("{s:s,s:N}", "kind", "block", "hop", hop_tuple(&h));
        if (!item || PyList_Append(out, item) < 0)
            Py_CLEAR(out);
        Py_XDECREF(item);
    }
    uint64_t first, end;
    graph_root_edges_to(&s->graph, id, &first, &end);
    for (uint64_t i = first; out && i < end; i++) {
        struct root_desc d;
        describe_root(s, &s->graph.redges[i], &d);
        PyObject *item = Py_BuildValue("{s:s,s:N,s:K}", "kind", "root", "root", root_dict(&d),
                                       "block", (unsigned long long)s->blocks.blocks[id].addr);
        if (!item || PyList_Append(out, item) < 0)
            Py_CLEAR(out);
        Py_XDECREF(item);
    }
    return out;
}

static PyObject *s_distance(SessionObject *self, PyObject *args)
{
    unsigned long long addr;
    uint32_t id;
    if (!PyArg_ParseTuple(args, "K", &addr) || inuse_block(self, addr, &id))
        return NULL;
    const uint32_t *dist;
    struct retain_error *err = session_distances(self->s, &dist);
    if (err)
        return pyglue_raise(err);
    if (dist[id] == DIST_NONE)
        Py_RETURN_NONE;
    return PyLong_FromUnsignedLong(dist[id]);
}

static PyObject *s_block_type(SessionObject *self, PyObject *args)
{
    unsigned long long addr;
    if (!PyArg_ParseTuple(args, "K", &addr))
        return NULL;
    struct type_ref none = { OBJ_NONE, DWARF_TYPE_NONE };
    struct type_ref t = naming_block_type(&self->s->naming, self->s->mem, addr, none);
    return pyglue_str(naming_type_name(&self->s->naming, t));
}

static PyObject *s_stats(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    struct retain_session *s = self->s;
    uint64_t inuse = 0, nfree = 0;
    for (uint32_t i = 0; i < s->blocks.n; i++)
        *(block_state(&s->blocks, i) == BLOCK_INUSE ? &inuse : &nfree) += 1;
    PyObject *roots = PyDict_New();
    for (int k = 0; roots && k < ROOT_NKINDS; k++) {
        PyObject *v = PyLong_FromUnsignedLongLong(s->graph.root_words[k]);
        PyDict_SetItemString(roots, root_kind_name((enum root_kind)k), v);
        Py_XDECREF(v);
    }
    PyObject *warnings = PyList_New(0);
    for (uint32_t i = 0; warnings && i < s->heap.nwarnings; i++) {
        PyObject *w = pyglue_str(s->heap.warnings[i]);
        PyList_Append(warnings, w);
        Py_XDECREF(w);
    }
    /* Ranges a core describes but lacks (cut short, or left out by a filter).
     * Only writable ones count as missing bytes: nothing retain reads (roots,
     * blocks) lives in read-only memory. */
    const struct mapping *missing;
    size_t nmissing = memory_missing(s->mem, &missing);
    uint64_t missing_bytes = 0;
    PyObject *missing_list = PyList_New(0);
    for (size_t i = 0; missing_list && i < nmissing; i++) {
        int writable = (missing[i].prot & MAP_PROT_W) != 0;
        if (writable)
            missing_bytes += missing[i].end - missing[i].start;
        PyObject *m = Py_BuildValue("{s:K,s:K,s:z,s:O}", "start", (unsigned long long)missing[i].start,
                                    "end", (unsigned long long)missing[i].end, "path", missing[i].path,
                                    "writable", writable ? Py_True : Py_False);
        if (m)
            PyList_Append(missing_list, m);
        Py_XDECREF(m);
    }
    return Py_BuildValue("{s:s,s:I,s:I,s:I,s:K,s:K,s:K,s:K,s:K,s:K,s:N,s:K,s:K,s:N,s:K,s:K,s:d,s:d,s:d,s:d,s:N,s:I,s:K,s:K}",
        "source", memory_kind(s->mem),
        "arenas", s->heap.narenas, "heaps", s->heap.nheaps, "mmapped", s->heap.nmmapped,
        "blocks_in_use", (unsigned long long)inuse, "blocks_free", (unsigned long long)nfree,
        "bytes_in_use", (unsigned long long)s->heap.inuse_bytes, "bytes_free", (unsigned long long)s->heap.free_bytes,
        "edges", (unsigned long long)s->graph.nedges, "root_edges", (unsigned long long)s->graph.nredges,
        "roots", roots,
        "unreadable_bytes", (unsigned long long)(s->graph.unreadable_bytes + s->heap.unreadable_bytes),
        "missing_bytes", (unsigned long long)missing_bytes, "missing", missing_list,
        "memory_bytes", (unsigned long long)session_memory(s),
        "root_ranges", (unsigned long long)s->roots.nranges,
        "walk", s->seconds_walk, "roots_seconds", s->seconds_roots, "graph", s->seconds_graph,
        "bfs", s->seconds_bfs, "warnings", warnings, "unmatched_free", s->blocks.unmatched_free,
        "unscanned_blocks", (unsigned long long)s->graph.unscanned_blocks,
        "unscanned_bytes", (unsigned long long)s->graph.unscanned_bytes);
}

static PyObject *s_root_ranges(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    const struct root_set *rs = &self->s->roots;
    PyObject *list = PyList_New(rs->nranges);
    for (uint32_t i = 0; list && i < rs->nranges; i++)
        PyList_SET_ITEM(list, i, Py_BuildValue("(sKKIz)", root_kind_name((enum root_kind)rs->ranges[i].kind),
                        (unsigned long long)rs->ranges[i].start, (unsigned long long)rs->ranges[i].end,
                        rs->ranges[i].thread, rs->ranges[i].label));
    return list;
}

/* [(objfile path, [thread-local variable names])] for objects that have any. */
static PyObject *s_tls_symbols(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    const struct naming *nm = &self->s->naming;
    PyObject *out = PyList_New(0);
    for (uint32_t i = 0; out && i < nm->n; i++) {
        size_t count;
        const char *names = elf_symbols_tls_names(nm->objs[i].syms, &count);
        if (!count)
            continue;
        PyObject *list = PyList_New((Py_ssize_t)count);
        for (size_t k = 0; list && k < count; k++) {
            PyList_SET_ITEM(list, (Py_ssize_t)k, pyglue_str(names));
            names += strlen(names) + 1;
        }
        PyObject *item = list ? Py_BuildValue("(sN)", nm->objs[i].path, list) : NULL;
        if (!item || PyList_Append(out, item) < 0)
            Py_CLEAR(out);
        Py_XDECREF(item);
    }
    return out;
}

static PyObject *s_merged(SessionObject *self, PyObject *args, PyObject *kw);

/* group_counts() -> [blocks each root group keeps alive], for the groups the
 * dominators were last computed with (_retain.dominators). */
static PyObject *s_group_counts(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    struct retain_session *s = self->s;
    if (!s->dom_ready)
        return PyErr_Format(pyglue_error, "dominators have not been computed");
    uint64_t *counts = calloc((size_t)s->dom.ngroups + 1, sizeof *counts);
    if (!counts)
        return PyErr_NoMemory();
    struct retain_error *err = domstats_group_counts(s, counts);
    PyObject *list = err ? NULL : PyList_New(s->dom.ngroups);
    for (uint32_t g = 0; list && g < s->dom.ngroups; g++)
        PyList_SET_ITEM(list, g, PyLong_FromUnsignedLongLong(counts[g]));
    free(counts);
    return err ? pyglue_raise(err) : list;
}

/* type_totals() -> [(count, shallow, retained, largest block addr or None)]
 * per type view (as _retain.type_index numbers them). */
static PyObject *s_type_totals(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    struct retain_session *s = self->s;
    struct retain_error *err = session_types(s);
    if (err)
        return pyglue_raise(err);
    if (!s->dom_ready)
        return PyErr_Format(pyglue_error, "dominators have not been computed");
    uint32_t nviews = 2 * s->types.nrefs;
    struct type_total *totals = calloc((size_t)nviews + 1, sizeof *totals);
    if (!totals)
        return PyErr_NoMemory();
    err = domstats_type_totals(s, totals);
    PyObject *list = err ? NULL : PyList_New(nviews);
    for (uint32_t v = 0; list && v < nviews; v++) {
        const struct type_total *t = &totals[v];
        PyObject *largest = t->largest == UINT32_MAX ? (Py_INCREF(Py_None), Py_None)
                                                     : PyLong_FromUnsignedLongLong(s->blocks.blocks[t->largest].addr);
        PyList_SET_ITEM(list, v, Py_BuildValue("(KKKN)", (unsigned long long)t->count, (unsigned long long)t->shallow,
                                               (unsigned long long)t->retained, largest));
    }
    free(totals);
    return err ? pyglue_raise(err) : list;
}

/* root_edge_roots() -> [root dict] for each root edge, in graph order (the
 * order _retain.dominators' groups follow). */
static PyObject *s_root_edge_roots(SessionObject *self, PyObject *noargs)
{
    (void)noargs;
    const struct graph *g = &self->s->graph;
    PyObject *list = PyList_New((Py_ssize_t)g->nredges);
    for (uint64_t i = 0; list && i < g->nredges; i++) {
        struct root_desc d;
        describe_root(self->s, &g->redges[i], &d);
        PyObject *r = root_dict(&d);
        if (!r) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, (Py_ssize_t)i, r);
    }
    return list;
}

static PyMethodDef session_methods[] = {
    { "tls_symbols", (PyCFunction)s_tls_symbols, METH_NOARGS, "[(objfile, [thread-local names])]" },
    { "mappings", (PyCFunction)s_mappings, METH_NOARGS, "[(start, end, offset, prot, path)]" },
    { "read", (PyCFunction)s_read, METH_VARARGS, "read(addr, len) -> bytes (readable prefix)" },
    { "walk_glibc", (PyCFunction)s_walk_glibc, METH_VARARGS, "walk_glibc(layout: dict)" },
    { "add_range", (PyCFunction)s_add_range, METH_VARARGS, "add_range(kind, start, end, thread, label)" },
    { "add_value", (PyCFunction)s_add_value, METH_VARARGS, "add_value(kind, value, thread, label, var, type)" },
    { "add_frame", (PyCFunction)s_add_frame, METH_VARARGS, "add_frame(thread, level, lo, hi, function, file, line) -> index" },
    { "add_var", (PyCFunction)s_add_var, METH_VARARGS, "add_var(kind, addr, size, thread, frame, name, type)" },
    { "exclude", (PyCFunction)s_exclude, METH_VARARGS, "exclude(start, end): never a root" },
    { "set_memory_limit", (PyCFunction)s_set_memory_limit, METH_VARARGS,
      "set_memory_limit(bytes): cap on the engine's tables for build(); 0: none" },
    { "build", (PyCFunction)s_build, METH_VARARGS, "build([progress(phase, done, total)])" },
    { "lookup", (PyCFunction)s_lookup, METH_VARARGS, "lookup(addr) -> dict or None" },
    { "paths", (PyCFunction)(void (*)(void))s_paths, METH_VARARGS | METH_KEYWORDS,
      "paths(addr, n=1, kinds=None, max_depth=0) -> (paths, truncated)" },
    { "referrers", (PyCFunction)s_referrers, METH_VARARGS, "referrers(addr) -> list" },
    { "group_counts", (PyCFunction)s_group_counts, METH_NOARGS, "group_counts() -> [blocks per root group]" },
    { "type_totals", (PyCFunction)s_type_totals, METH_NOARGS,
      "type_totals() -> [(count, shallow, retained, largest addr)] per type view" },
    { "root_edge_roots", (PyCFunction)s_root_edge_roots, METH_NOARGS, "root_edge_roots() -> [root dict] per root edge" },
    { "merged", (PyCFunction)(void (*)(void))s_merged, METH_VARARGS | METH_KEYWORDS,
      "merged(kind, views=None, kinds=None, root=None, exclude_root=None) -> merged shortest paths" },
    { "distance", (PyCFunction)s_distance, METH_VARARGS, "distance(addr) -> int or None" },
    { "block_type", (PyCFunction)s_block_type, METH_VARARGS, "block_type(addr) -> dynamic C++ type or None" },
    { "stats", (PyCFunction)s_stats, METH_NOARGS, "stats() -> dict" },
    { "root_ranges", (PyCFunction)s_root_ranges, METH_NOARGS, "[(kind, start, end, thread, label)]" },
    { NULL, NULL, 0, NULL },
};

static PyTypeObject SessionType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_retain.Session",
    .tp_basicsize = sizeof(SessionObject),
    .tp_dealloc = (destructor)session_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One analysis of one inferior at one stop.",
    .tp_methods = session_methods,
};

/* Marks the targets of a merged path query: "types" (blocks whose type
 * view is in views, numbered as _retain.type_index does: 2 * type + array)
 * or "leaked" (in-use blocks no root reaches). -1 with an exception set. */
static int mark_targets(struct retain_session *s, const char *kind, PyObject *views, uint64_t *bits)
{
    const struct block_table *t = &s->blocks;
    if (strcmp(kind, "leaked") == 0) {
        const uint32_t *dist;
        struct retain_error *err = session_distances(s, &dist);
        if (err) {
            pyglue_raise(err);
            return -1;
        }
        for (uint32_t id = 0; id < t->n; id++)
            if (block_state(t, id) == BLOCK_INUSE && dist[id] == DIST_NONE)
                bits[id >> 6] |= 1ull << (id & 63);
        return 0;
    }
    if (strcmp(kind, "types") != 0 || views == Py_None) {
        PyErr_Format(PyExc_ValueError, "merged: kind must be 'types' (with views) or 'leaked'");
        return -1;
    }
    const struct heap_types *ht = &s->types;
    uint8_t *wanted = calloc(2 * (size_t)ht->nrefs + 2, 1);
    PyObject *seq = wanted ? PySequence_Fast(views, "merged: views must be a sequence") : NULL;
    if (!seq) {
        free(wanted);
        return wanted ? -1 : (PyErr_NoMemory(), -1);
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(seq); i++) {
        long v = PyLong_AsLong(PySequence_Fast_GET_ITEM(seq, i));
        if (v >= 0 && (size_t)v < 2 * (size_t)ht->nrefs)
            wanted[v] = 1;
    }
    Py_DECREF(seq);
    for (uint32_t id = 0; id < t->n; id++) {
        uint32_t ty = ht->type_of[id];
        if (block_state(t, id) == BLOCK_INUSE && ty != HT_UNKNOWN && wanted[2 * (size_t)ty + ht->is_array[id]])
            bits[id >> 6] |= 1ull << (id & 63);
    }
    free(wanted);
    return PyErr_Occurred() ? -1 : 0;
}

/* One node of a merged tree: (parent index or -1, root dict or None, field,
 * type, blocks, bytes, block addr). A top node describes its root word and
 * the field of the root's variable that holds the pointer. */
static PyObject *merged_node_tuple(struct retain_session *s, const struct merged_tree *m, uint32_t i)
{
    const struct merged_node *node = &m->nodes[i];
    struct heap_types *ht = &s->types;
    char field[160];
    PyObject *root = NULL;
    long parent = -1;
    if (node->parent == MERGED_TOP) {
        uint32_t block = node->block;
        struct query_path p = { .redge = node->redge, .blocks = &block, .nblocks = 1 };
        struct root_desc rd;
        struct hop_desc hop;
        describe_path(s, &p, &rd, &hop);
        snprintf(field, sizeof field, "%s", hop.field);
        root = root_dict(&rd);
        if (!root)
            return NULL;
    } else {
        parent = (long)node->parent;
        uint32_t from = m->nodes[node->parent].block, tref = ht->type_of[from];
        struct type_ref ft = tref == HT_UNKNOWN ? (struct type_ref){ OBJ_NONE, DWARF_TYPE_NONE } : ht->refs[tref];
        describe_field(s, from, node->block, ft, tref != HT_UNKNOWN && ht->is_array[from], field, sizeof field);
    }
    return Py_BuildValue("(lNsNKKK)", parent, root ? root : (Py_INCREF(Py_None), Py_None), field,
                         pyglue_str(heap_types_name(ht, s, node->block)), (unsigned long long)node->blocks,
                         (unsigned long long)node->bytes, (unsigned long long)s->blocks.blocks[node->block].addr);
}

/* merged(kind, views=None, kinds=None, root=None, exclude_root=None):
 * merged shortest paths to a set of blocks: kind "types" (blocks whose type
 * view, as _retain.type_index numbers them, is in views) or "leaked"
 * (in-use blocks no root reaches). Returns a dict: target/unreached
 * blocks and bytes, and nodes, parents first: (parent index or -1, root
 * dict or None, field, type, blocks, bytes, block addr). */
static PyObject *s_merged(SessionObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "kind", "views", "kinds", "root", "exclude_root", NULL };
    const char *kind, *root_pat = NULL, *exclude_pat = NULL;
    PyObject *views = Py_None, *kinds = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "s|OOzz", kwlist, &kind, &views, &kinds, &root_pat, &exclude_pat))
        return NULL;
    struct retain_session *s = self->s;
    struct retain_error *err = session_types(s);
    if (err)
        return pyglue_raise(err);
    uint64_t *targets = calloc(((size_t)s->blocks.n + 64) / 64, sizeof *targets);
    if (!targets)
        return PyErr_NoMemory();
    if (mark_targets(s, kind, views, targets) < 0) {
        free(targets);
        return NULL;
    }
    struct filter *root_f = NULL, *exclude_f = NULL;
    if (compile_filter("--root", root_pat, &root_f) || compile_filter("--exclude-root", exclude_pat, &exclude_f)) {
        filter_destroy(root_f);
        free(targets);
        return NULL;
    }
    struct root_judge judge = { .s = s, .root = root_pat ? root_f : NULL, .exclude = exclude_pat ? exclude_f : NULL };
    struct path_query q = { .kinds = kinds_mask(kinds), .judge = describe_root_judge, .judge_ctx = &judge };
    struct merged_tree m;
    err = PyErr_Occurred() ? NULL : merged_paths(&s->graph, &s->blocks, &s->roots, targets, &q, &m);
    filter_destroy(root_f);
    filter_destroy(exclude_f);
    free(targets);
    if (PyErr_Occurred())
        return NULL;
    if (err)
        return pyglue_raise(err);
    PyObject *nodes = PyList_New(m.n);
    for (uint32_t i = 0; nodes && i < m.n; i++) {
        PyObject *item = merged_node_tuple(s, &m, i);
        if (!item) {
            Py_CLEAR(nodes);
            break;
        }
        PyList_SET_ITEM(nodes, i, item);
    }
    PyObject *out = nodes ? Py_BuildValue("{s:K,s:K,s:K,s:K,s:N}", "target_blocks", (unsigned long long)m.target_blocks,
                                          "target_bytes", (unsigned long long)m.target_bytes,
                                          "unreached_blocks", (unsigned long long)m.unreached_blocks,
                                          "unreached_bytes", (unsigned long long)m.unreached_bytes, "nodes", nodes)
                          : NULL;
    merged_tree_deinit(&m);
    return out;
}

/* match(option, pattern, [str or None]) -> [indexes of the strings the
 * PCRE2 pattern matches]: the filters' one matcher, for names Python has. */
static PyObject *mod_match(PyObject *self, PyObject *args)
{
    (void)self;
    const char *option, *pattern;
    PyObject *names;
    if (!PyArg_ParseTuple(args, "szO", &option, &pattern, &names))
        return NULL;
    struct filter *f;
    if (compile_filter(option, pattern, &f))
        return NULL;
    PyObject *seq = PySequence_Fast(names, "match: names must be a sequence");
    PyObject *out = seq ? PyList_New(0) : NULL;
    for (Py_ssize_t i = 0; out && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        const char *text = item == Py_None ? NULL : PyUnicode_AsUTF8(item);
        if (item != Py_None && !text) {
            Py_CLEAR(out);
            break;
        }
        if (filter_match(f, text)) {
            PyObject *index = PyLong_FromSsize_t(i);
            if (!index || PyList_Append(out, index) < 0)
                Py_CLEAR(out);
            Py_XDECREF(index);
        }
    }
    Py_XDECREF(seq);
    filter_destroy(f);
    return out;
}

static PyMethodDef module_methods[] = {
    { "match", mod_match, METH_VARARGS,
      "match(option, pattern, names) -> indexes of the names the PCRE2 pattern matches" },
    { "open_core", mod_open_core, METH_VARARGS, "open_core(path) -> Session" },
    { "open_live", mod_open_live, METH_VARARGS, "open_live(pid) -> Session" },
    { "open_callback", mod_open_callback, METH_VARARGS,
      "open_callback(read(addr, len) -> bytes, [(start, end, offset, prot, path)]) -> Session" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef retain_module = {
    PyModuleDef_HEAD_INIT, "_retain", "retain's engine: heap walk, reference graph, queries.", -1,
    module_methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__retain(void)
{
    if (PyType_Ready(&SessionType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&retain_module);
    if (!m)
        return NULL;
    pyglue_error = PyErr_NewException("_retain.Error", PyExc_RuntimeError, NULL);
    Py_XINCREF(pyglue_error);
    if (PyModule_AddObject(m, "Error", pyglue_error) < 0) {
        Py_XDECREF(pyglue_error);
        Py_DECREF(m);
        return NULL;
    }
    PyModule_AddIntConstant(m, "PROT_R", MAP_PROT_R);
    PyModule_AddIntConstant(m, "PROT_W", MAP_PROT_W);
    PyModule_AddIntConstant(m, "PROT_X", MAP_PROT_X);
    if (module_glibc_add(m) < 0) {   /* find_glibc_layout (module_glibc.c) */
        Py_DECREF(m);
        return NULL;
    }
    if (module_go_add(m) < 0) {   /* walk_go, add_masked_range (module_go.c) */
        Py_DECREF(m);
        return NULL;
    }
    if (module_types_add(m) < 0) {   /* block_types, histogram... (module_types.c) */
        Py_DECREF(m);
        return NULL;
    }
    if (module_heapwide_add(m) < 0) {   /* dominators, top_blocks, leaks... (module_heapwide.c) */
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
