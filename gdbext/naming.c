/* Object files, symbols and DWARF types, for naming chains; Go's types
 * named as Go writes them (naming.h lists the rules). */
#include <elf.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include "mapfile.h"
#include "naming.h"

static const struct type_ref NO_TYPE = { OBJ_NONE, DWARF_TYPE_NONE };

/* ---- made-up names: one copy of each, found by an open-addressing hash ---- */

static uint32_t name_hash(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static uint32_t name_slot(const struct name_set *ns, const char *s)
{
    uint32_t mask = ns->nslots - 1;
    for (uint32_t i = name_hash(s) & mask;; i = (i + 1) & mask)
        if (!ns->slots[i] || strcmp(ns->slots[i], s) == 0)
            return i;
}

static int name_set_grow(struct name_set *ns)
{
    uint32_t n = ns->nslots ? ns->nslots * 2 : 64;
    char **old = ns->slots;
    uint32_t oldn = ns->nslots;
    if (n > (1u << 24) || !(ns->slots = calloc(n, sizeof *ns->slots))) {
        ns->slots = old;
        return -1;
    }
    ns->nslots = n;
    for (uint32_t i = 0; i < oldn; i++)
        if (old[i])
            ns->slots[name_slot(ns, old[i])] = old[i];
    free(old);
    return 0;
}

/* The set's copy of s; NULL when out of memory. */
static const char *name_set_add(struct name_set *ns, const char *s)
{
    if ((ns->used + 1) * 2 > ns->nslots && name_set_grow(ns) != 0)
        return NULL;
    uint32_t i = name_slot(ns, s);
    if (!ns->slots[i]) {
        if (!(ns->slots[i] = strdup(s)))
            return NULL;
        ns->used++;
    }
    return ns->slots[i];
}

static void name_set_free(struct name_set *ns)
{
    for (uint32_t i = 0; i < ns->nslots; i++)
        free(ns->slots[i]);
    free(ns->slots);
    memset(ns, 0, sizeof *ns);
}

static const char *labelf(struct naming *nm, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static const char *labelf(struct naming *nm, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return name_set_add(&nm->labels, buf);
}

void naming_init(struct naming *nm)
{
    memset(nm, 0, sizeof *nm);
}

void naming_deinit(struct naming *nm)
{
    if (!nm)
        return;
    for (uint32_t i = 0; i < nm->n; i++) {
        free(nm->objs[i].path);
        elf_symbols_destroy(nm->objs[i].syms);
        dwarf_types_destroy(nm->objs[i].types);
        free(nm->objs[i].dwarf_error);
        if (nm->objs[i].image)
            munmap(nm->objs[i].image, nm->objs[i].image_size);
        free(nm->objs[i].go.itabs);
    }
    free(nm->objs);
    name_set_free(&nm->labels);
    memset(nm, 0, sizeof *nm);
}

static struct objfile *find_path(struct naming *nm, const char *path)
{
    for (uint32_t i = 0; i < nm->n; i++)
        if (strcmp(nm->objs[i].path, path) == 0)
            return &nm->objs[i];
    return NULL;
}

/* The mapping of an object that tells its load bias without doubt: the one
 * at file offset 0; else (a core that left it out) a writable one, whose
 * file page belongs to the data segment only; else the first. */
static const struct mapping *bias_mapping(const struct mapping *maps, size_t nmaps, const char *path)
{
    const struct mapping *first = NULL, *writable = NULL;
    for (size_t i = 0; i < nmaps; i++) {
        const struct mapping *m = &maps[i];
        if (!m->path || strcmp(m->path, path) != 0)
            continue;
        if (m->offset == 0)
            return m;
        if (!first)
            first = m;
        if (!writable && (m->prot & MAP_PROT_W))
            writable = m;
    }
    return writable ? writable : first;
}

static struct retain_error *add_objfile(struct naming *nm, const struct mapping *m,
                                        const struct mapping *maps, size_t nmaps)
{
    if (nm->n == nm->cap) {
        uint32_t cap = nm->cap ? nm->cap * 2 : 16;
        struct objfile *o = realloc(nm->objs, cap * sizeof *o);
        if (!o)
            return retain_errorf("out of memory for object files");
        nm->objs = o;
        nm->cap = cap;
    }
    struct objfile *o = &nm->objs[nm->n];
    memset(o, 0, sizeof *o);
    o->path = strdup(m->path);
    if (!o->path)
        return retain_errorf("out of memory for object files");
    o->lo = m->start;
    o->hi = m->end;
    const struct mapping *b = bias_mapping(maps, nmaps, m->path);
    if (elf_load_bias_prot(b->path, b->start, b->offset, !!(b->prot & MAP_PROT_W), &o->bias) != 0)
        o->bias = 0;
    struct retain_error *err = elf_symbols_load(m->path, o->bias, &o->syms);
    if (err) {   /* a missing or unreadable file only costs us names */
        retain_error_destroy(err);
        o->syms = NULL;
    }
    nm->n++;
    return NULL;
}

struct retain_error *naming_add_mappings(struct naming *nm, const struct mapping *maps, size_t nmaps)
{
    for (size_t i = 0; i < nmaps; i++) {
        const struct mapping *m = &maps[i];
        if (!m->path || m->path[0] != '/')
            continue;
        struct objfile *o = find_path(nm, m->path);
        if (o) {
            if (m->start < o->lo)
                o->lo = m->start;
            if (m->end > o->hi)
                o->hi = m->end;
            continue;
        }
        struct retain_error *err = add_objfile(nm, m, maps, nmaps);
        if (err)
            return err;
    }
    return NULL;
}

uint32_t naming_objfile_at(const struct naming *nm, uint64_t addr)
{
    for (uint32_t i = 0; i < nm->n; i++)
        if (nm->objs[i].lo <= addr && addr < nm->objs[i].hi)
            return i;
    return OBJ_NONE;
}

static struct dwarf_types *types_of(struct naming *nm, uint32_t obj)
{
    if (obj >= nm->n)
        return NULL;
    struct objfile *o = &nm->objs[obj];
    if (!o->dwarf_tried) {
        o->dwarf_tried = 1;
        struct retain_error *err = dwarf_types_load(o->path, o->bias, &o->types);
        if (err) {
            o->dwarf_error = strdup(err->msg);
            retain_error_destroy(err);
            o->types = NULL;
        }
    }
    return o->types;
}

void naming_global(struct naming *nm, uint64_t addr, struct global_name *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->type = NO_TYPE;
    ret->obj = naming_objfile_at(nm, addr);
    if (ret->obj == OBJ_NONE) {
        /* bss past the last file mapping: try each object's symbols. */
        for (uint32_t i = 0; i < nm->n && !ret->symbol; i++)
            if (nm->objs[i].syms && elf_symbols_lookup(nm->objs[i].syms, addr, &ret->offset))
                ret->obj = i;
        if (ret->obj == OBJ_NONE)
            return;
    }
    struct objfile *o = &nm->objs[ret->obj];
    if (o->syms)
        ret->symbol = elf_symbols_lookup(o->syms, addr, &ret->offset);
    struct dwarf_types *dt = types_of(nm, ret->obj);
    uint32_t type;
    uint64_t off;
    if (dt && dwarf_global_at(dt, addr, &ret->var, &type, &off) == 0) {
        ret->type = (struct type_ref){ ret->obj, type };
        ret->offset = off;
    }
}

struct type_ref naming_type_by_name(struct naming *nm, const char *name)
{
    /* The main program (the first object mapped) first; libraries only when
     * their DWARF is already loaded, since loading libc's costs seconds. */
    for (uint32_t i = 0; i < nm->n; i++) {
        struct dwarf_types *dt = i == 0 ? types_of(nm, 0) : nm->objs[i].types;
        uint32_t t = dt ? dwarf_type_by_name(dt, name) : DWARF_TYPE_NONE;
        if (t != DWARF_TYPE_NONE)
            return (struct type_ref){ i, t };
    }
    return NO_TYPE;
}

const char *naming_type_name(const struct naming *nm, struct type_ref t)
{
    if (t.obj >= nm->n || !nm->objs[t.obj].types || t.type == DWARF_TYPE_NONE)
        return NULL;
    return dwarf_type_name(nm->objs[t.obj].types, t.type);
}

uint64_t naming_type_size(const struct naming *nm, struct type_ref t)
{
    if (t.obj >= nm->n || !nm->objs[t.obj].types || t.type == DWARF_TYPE_NONE)
        return 0;
    return dwarf_type_size(nm->objs[t.obj].types, t.type);
}

struct type_ref naming_field(struct naming *nm, struct type_ref t, uint64_t offset, char *buf, size_t buflen)
{
    struct dwarf_types *dt = t.obj < nm->n ? nm->objs[t.obj].types : NULL;
    uint32_t word_type, pointee;
    if (dt && t.type != DWARF_TYPE_NONE &&
        dwarf_field_at(dt, t.type, offset, buf, buflen, &word_type, &pointee) == 0 &&
        word_type != DWARF_TYPE_NONE) {
        if (pointee != DWARF_TYPE_NONE)
            return (struct type_ref){ t.obj, pointee };
        return NO_TYPE;
    }
    snprintf(buf, buflen, "+0x%" PRIx64, offset);
    return NO_TYPE;
}

struct type_ref naming_block_type(struct naming *nm, struct memory *mem, uint64_t addr, struct type_ref hint)
{
    uint64_t vptr;
    if (memory_read_u64(mem, addr, &vptr) != 0)
        return hint;
    uint32_t obj = naming_objfile_at(nm, vptr);
    if (obj == OBJ_NONE || !nm->objs[obj].syms)
        return hint;
    char cls[256];
    if (elf_symbols_vtable_class(nm->objs[obj].syms, vptr, cls, sizeof cls) != 0)
        return hint;
    /* The class is described in the DWARF of whichever object defines it. */
    struct dwarf_types *dt = types_of(nm, obj);
    if (dt) {
        uint32_t t = dwarf_type_by_name(dt, cls);
        if (t != DWARF_TYPE_NONE)
            return (struct type_ref){ obj, t };
    }
    struct type_ref any = naming_type_by_name(nm, cls);
    return any.obj != OBJ_NONE ? any : hint;
}

/* ---- reading the target, with object files standing in for what a core left out ---- */

/* Bytes [addr, addr + len) from a read-only PT_LOAD segment of o's file;
 * returns how many (0 or len). Writable segments are never read: their
 * bytes in memory differ from the file's. */
static size_t image_read(struct objfile *o, uint64_t addr, void *buf, size_t len)
{
    if (!o->image_tried) {
        o->image_tried = 1;
        struct retain_error *err = map_file_readonly(o->path, sizeof(Elf64_Ehdr), "an ELF object", &o->image,
                                                     &o->image_size);
        if (err) {
            retain_error_destroy(err);
            o->image = NULL;
        }
    }
    const uint8_t *img = o->image;
    Elf64_Ehdr eh;
    if (!img)
        return 0;
    memcpy(&eh, img, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > o->image_size ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > o->image_size - eh.e_phoff)
        return 0;
    for (uint32_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        uint64_t start = ph.p_vaddr + o->bias;
        if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) || addr < start || addr - start > ph.p_filesz ||
            len > ph.p_filesz - (addr - start))
            continue;
        uint64_t at = ph.p_offset + (addr - start);
        if (at > o->image_size || len > o->image_size - at)
            return 0;
        memcpy(buf, img + at, len);
        return len;
    }
    return 0;
}

/* memory_read, else (all of it) from the object file that maps addr. */
static size_t target_read(struct naming *nm, struct memory *mem, uint64_t addr, void *buf, size_t len)
{
    if (mem && memory_read(mem, addr, buf, len) == len)
        return len;
    uint32_t obj = naming_objfile_at(nm, addr);
    return obj == OBJ_NONE ? 0 : image_read(&nm->objs[obj], addr, buf, len);
}

/* ---- Go ---- */

#define GO_VALUE_DEPTH 2         /* interfaces inside map keys followed for their text */
#define GO_KEY_BYTES 24          /* of a string key shown */
#define GO_PATH_MAX 512

int naming_is_go(const struct naming *nm, struct type_ref t)
{
    return t.obj < nm->n && nm->objs[t.obj].types && dwarf_type_is_go(nm->objs[t.obj].types, t.type);
}

/* One Go naming: the object file whose DWARF and runtime are used, and
 * the size of the block the word points to (0: unknown). */
struct go_ctx {
    struct naming *nm;
    struct memory *mem;
    uint32_t obj;
    struct dwarf_types *dt;
    uint64_t target_size;
};

static uint64_t go_symbol(struct go_ctx *c, const char *name, uint64_t *size_ret)
{
    const struct elf_symbols *syms = c->nm->objs[c->obj].syms;
    uint64_t addr = 0;
    if (!syms || elf_symbols_find(syms, name, &addr, size_ret) != 0)
        return 0;
    return addr;
}

static struct go_runtime *go_runtime_of(struct go_ctx *c)
{
    struct go_runtime *g = &c->nm->objs[c->obj].go;
    if (g->checked)
        return g;
    g->checked = 1;
    /* Go 1.19's layout, unless the DWARF says otherwise */
    g->itab_inter = 0;
    g->itab_type = 8;
    g->type_size = 0;
    g->type_kind = 23;
    g->ptrtype_elem = 48;
    uint32_t itab = dwarf_type_by_name(c->dt, "runtime.itab"), type = dwarf_type_by_name(c->dt, "runtime._type");
    dwarf_member(c->dt, itab, "inter", &g->itab_inter, NULL);
    dwarf_member(c->dt, itab, "_type", &g->itab_type, NULL);
    dwarf_member(c->dt, type, "size", &g->type_size, NULL);
    dwarf_member(c->dt, type, "kind", &g->type_kind, NULL);
    dwarf_member(c->dt, dwarf_type_by_name(c->dt, "runtime.ptrtype"), "elem", &g->ptrtype_elem, NULL);
    g->types = go_symbol(c, "runtime.types", NULL);
    g->etypes = go_symbol(c, "runtime.etypes", NULL);
    return g;
}

/* Reads from the target; 0 on success. Address 0 is never read: it stands
 * for "unknown" in naming_word's base. */
static int go_read_bytes(struct go_ctx *c, uint64_t addr, void *buf, size_t len)
{
    return addr && target_read(c->nm, c->mem, addr, buf, len) == len ? 0 : -1;
}

static int go_read(struct go_ctx *c, uint64_t addr, uint64_t *v)
{
    return go_read_bytes(c, addr, v, sizeof *v);
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *go_name(struct go_ctx *c, uint32_t type)
{
    return dwarf_type_name(c->dt, dwarf_type_strip(c->dt, type));
}

/* Splits the parameters of a made-up runtime type, "hash<K,V>" after
 * `prefix` "hash<": K and V (V empty for one parameter). Commas inside
 * (), [] and {} belong to the types themselves; K never holds another
 * top-level comma (Go spells struct fields with ';'). */
static int go_params(const char *name, const char *prefix, char *k, size_t klen, char *v, size_t vlen)
{
    if (!starts_with(name, prefix))
        return -1;
    const char *p = name + strlen(prefix), *end = name + strlen(name);
    if (end <= p || end[-1] != '>')
        return -1;
    end--;
    const char *comma = NULL;
    int depth = 0;
    for (const char *q = p; q < end && !comma; q++) {
        if (strchr("([{", *q))
            depth++;
        else if (strchr(")]}", *q))
            depth--;
        else if (*q == ',' && depth == 0)
            comma = q;
    }
    const char *kend = comma ? comma : end;
    if ((size_t)(kend - p) >= klen || (comma && (size_t)(end - comma - 1) >= vlen))
        return -1;
    memcpy(k, p, (size_t)(kend - p));
    k[kend - p] = '\0';
    v[0] = '\0';
    if (comma) {
        memcpy(v, comma + 1, (size_t)(end - comma - 1));
        v[end - comma - 1] = '\0';
    }
    return 0;
}

/* "map[K]V" + suffix for a hash<K,V> or bucket<K,V>; NULL if name is neither. */
static const char *go_map_label(struct naming *nm, const char *name, const char *suffix)
{
    char k[256], v[256];
    if (go_params(name, "hash<", k, sizeof k, v, sizeof v) != 0 &&
        go_params(name, "bucket<", k, sizeof k, v, sizeof v) != 0)
        return NULL;
    return labelf(nm, "map[%s]%s%s", k, v, suffix);
}

/* A Go value is "direct" in an interface (its data word is the value
 * itself) when it is pointer-shaped: a pointer, map, channel, function or
 * unsafe.Pointer, or an array or struct of exactly one of those
 * (cmd/compile's isdirectiface). Returns the pointer-shaped type, or
 * DWARF_TYPE_NONE. */
static uint32_t go_direct(struct go_ctx *c, uint32_t type, int depth)
{
    uint32_t s = dwarf_type_strip(c->dt, type);
    if (s == DWARF_TYPE_NONE || depth > 8)
        return DWARF_TYPE_NONE;
    switch (dwarf_go_kind(c->dt, type)) {
    case GO_KIND_PTR: case GO_KIND_MAP: case GO_KIND_CHAN: case GO_KIND_FUNC: case GO_KIND_UNSAFE_POINTER:
        return type;
    case GO_KIND_ARRAY:
        if (dwarf_type_kind(c->dt, s) == DK_ARRAY && dwarf_type_size(c->dt, s) == 8)
            return go_direct(c, dwarf_type_target(c->dt, s), depth + 1);
        return DWARF_TYPE_NONE;
    case GO_KIND_STRUCT: {
        uint32_t mt;
        char path[GO_PATH_MAX];
        /* one field: the word at offset 0 is all of it */
        if (dwarf_type_size(c->dt, s) != 8 || dwarf_field_at(c->dt, s, 0, path, sizeof path, &mt, NULL) != 0 ||
            path[0] != '.' || strpbrk(path + 1, ".["))
            return DWARF_TYPE_NONE;
        return mt == DWARF_TYPE_NONE ? DWARF_TYPE_NONE : go_direct(c, mt, depth + 1);
    }
    default:
        return DWARF_TYPE_NONE;
    }
}

/* "closure main.main.func1": the function of the funcval at addr. */
static const char *go_closure_label(struct go_ctx *c, uint64_t funcval)
{
    uint64_t fn, off;
    if (go_read(c, funcval, &fn) == 0) {
        uint32_t obj = naming_objfile_at(c->nm, fn);
        const char *sym = obj != OBJ_NONE && c->nm->objs[obj].syms ? elf_symbols_lookup(c->nm->objs[obj].syms, fn, &off)
                                                                   : NULL;
        if (sym && off == 0)
            return labelf(c->nm, "closure %s", sym);
    }
    return name_set_add(&c->nm->labels, "closure");
}

/* What a pointer-shaped Go value of `type`, holding `value`, points at. */
static void go_points_at(struct go_ctx *c, uint32_t type, uint64_t value, struct naming_target *ret)
{
    uint32_t d = go_direct(c, type, 0);
    uint32_t s = dwarf_type_strip(c->dt, d);
    switch (dwarf_go_kind(c->dt, d)) {
    case GO_KIND_PTR: case GO_KIND_MAP: case GO_KIND_CHAN:
        if (dwarf_type_kind(c->dt, s) == DK_POINTER) {   /* a map is a *hash<K,V>, a chan a *hchan<T> */
            uint32_t p = dwarf_type_strip(c->dt, dwarf_type_target(c->dt, s));
            if (p != DWARF_TYPE_NONE)
                ret->type = (struct type_ref){ c->obj, p };
        }
        break;
    case GO_KIND_FUNC:
        ret->label = go_closure_label(c, value);
        ret->dynamic = 1;
        break;
    default:
        break;
    }
}

/* The dynamic type of the Go interface of type `iface` at addr: through
 * the itab (runtime.iface {tab, data}) or directly (runtime.eface {_type,
 * data}) to the runtime type, and from there through the DWARF's runtime
 * type index. Sets *data_ret to the data word. DWARF_TYPE_NONE if the
 * interface is nil, unreadable, or of a type the DWARF does not describe,
 * or if its type word is not one (a stack slot an optimized frame left
 * stale): an itab must name this interface, a type lie among the types. */
static uint32_t go_dynamic_type(struct go_ctx *c, uint32_t iface, uint64_t addr, uint64_t *data_ret)
{
    uint64_t type_off, data_off, word, rtype, inter;
    int via_itab = dwarf_member(c->dt, iface, "tab", &type_off, NULL) == 0;
    if ((!via_itab && dwarf_member(c->dt, iface, "_type", &type_off, NULL) != 0) ||
        dwarf_member(c->dt, iface, "data", &data_off, NULL) != 0)
        return DWARF_TYPE_NONE;
    if (go_read(c, addr + type_off, &word) != 0 || word == 0 || go_read(c, addr + data_off, data_ret) != 0)
        return DWARF_TYPE_NONE;
    const struct go_runtime *g = go_runtime_of(c);
    uint64_t want_inter = dwarf_go_runtime_offset(c->dt, iface);
    if (via_itab && (go_read(c, word + g->itab_type, &rtype) != 0 || go_read(c, word + g->itab_inter, &inter) != 0 ||
                     (want_inter && inter != g->types + want_inter)))
        return DWARF_TYPE_NONE;
    if (!via_itab)
        rtype = word;
    if (!g->types || rtype <= g->types || (g->etypes && rtype >= g->etypes))
        return DWARF_TYPE_NONE;
    return dwarf_go_type_by_runtime(c->dt, rtype - g->types);
}

/* ---- Go: interfaces whose type word is lost ---- */

#define GO_ITABS_MAX (1u << 18)
#define GO_PAGE 8192

static int go_itab_cmp(const void *a, const void *b)
{
    const struct go_itab *x = a, *y = b;
    if (x->inter != y->inter)
        return x->inter < y->inter ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

static void go_add_itab(struct go_ctx *c, struct go_runtime *g, uint64_t itab, uint32_t *cap)
{
    struct go_itab it;
    if (!itab || g->nitabs >= GO_ITABS_MAX || go_read(c, itab + g->itab_inter, &it.inter) != 0 ||
        go_read(c, itab + g->itab_type, &it.type) != 0 || !it.inter || !it.type)
        return;
    if (g->nitabs == *cap) {
        uint32_t n = *cap ? *cap * 2 : 256;
        struct go_itab *v = realloc(g->itabs, n * sizeof *v);
        if (!v)
            return;
        g->itabs = v;
        *cap = n;
    }
    g->itabs[g->nitabs++] = it;
}

/* Every itab: the static ones (firstmoduledata.itablinks, a []*itab) and
 * those the runtime made (itabTable: {size, count, entries [size]*itab}). */
static void go_load_itabs(struct go_ctx *c, struct go_runtime *g)
{
    uint64_t off, size_off, entries_off, hdr[2], p, table, size;
    uint32_t cap = 0;
    uint64_t md = go_symbol(c, "runtime.firstmoduledata", NULL);
    if (md && dwarf_member(c->dt, dwarf_type_by_name(c->dt, "runtime.moduledata"), "itablinks", &off, NULL) == 0 &&
        go_read_bytes(c, md + off, hdr, sizeof hdr) == 0)
        for (uint64_t i = 0; i < hdr[1] && i < GO_ITABS_MAX && go_read(c, hdr[0] + 8 * i, &p) == 0; i++)
            go_add_itab(c, g, p, &cap);
    uint32_t tt = dwarf_type_by_name(c->dt, "runtime.itabTableType");
    uint64_t var = go_symbol(c, "runtime.itabTable", NULL);
    if (var && go_read(c, var, &table) == 0 && dwarf_member(c->dt, tt, "size", &size_off, NULL) == 0 &&
        dwarf_member(c->dt, tt, "entries", &entries_off, NULL) == 0 && go_read(c, table + size_off, &size) == 0)
        for (uint64_t i = 0; i < size && i < GO_ITABS_MAX && go_read(c, table + entries_off + 8 * i, &p) == 0; i++)
            go_add_itab(c, g, p, &cap);
    if (g->nitabs)
        qsort(g->itabs, g->nitabs, sizeof *g->itabs, go_itab_cmp);
}

/* runtime.class_to_size: the sizes small allocations round up to. */
static void go_load_classes(struct go_ctx *c, struct go_runtime *g)
{
    uint64_t size = 0, addr = go_symbol(c, "runtime.class_to_size", &size);
    uint16_t v[128];
    size_t n = size / 2 < 128 ? (size_t)(size / 2) : 128;
    if (!addr || n == 0 || go_read_bytes(c, addr, v, 2 * n) != 0)
        return;
    for (size_t i = 0; i < n; i++)
        if (v[i] && (g->nclasses == 0 || v[i] > g->classes[g->nclasses - 1]))
            g->classes[g->nclasses++] = v[i];
}

/* The size of the heap block an allocation of `size` bytes gets: its size
 * class, or whole pages past the largest. */
static uint64_t go_alloc_size(const struct go_runtime *g, uint64_t size)
{
    if (g->nclasses == 0)
        return size;
    for (uint32_t i = 0; i < g->nclasses; i++)
        if (size <= g->classes[i])
            return g->classes[i];
    return (size + GO_PAGE - 1) / GO_PAGE * GO_PAGE;
}

/* The size of what an interface's data word points to for the runtime
 * type at rtype, from the runtime's own type descriptor (a type the DWARF
 * leaves out has one too): a pointer type's element, else the boxed value.
 * -1 if unreadable, or pointer-shaped but not a pointer (a map, a struct
 * of one pointer: what it points to is not this type's business). */
static int64_t go_value_size(struct go_ctx *c, const struct go_runtime *g, uint64_t rtype)
{
    uint8_t kind;
    uint64_t size, elem;
    if (go_read_bytes(c, rtype + g->type_kind, &kind, 1) != 0)
        return -1;
    if ((kind & 0x1f) == GO_KIND_PTR) {   /* runtime.ptrtype {typ _type; elem *_type} */
        if (go_read(c, rtype + g->ptrtype_elem, &elem) != 0 || go_read(c, elem + g->type_size, &size) != 0)
            return -1;
        return (int64_t)(size & INT64_MAX);
    }
    if (kind & 0x20)                      /* kindDirectIface */
        return -1;
    return go_read(c, rtype + g->type_size, &size) == 0 ? (int64_t)(size & INT64_MAX) : -1;
}

/* The dynamic type of an interface of type `iface` (non-empty: it has
 * itabs) whose type word is lost, from the size of the block its data word
 * points to: the one concrete type with an itab for iface whose value (the
 * element of a pointer type, else the boxed value) is allocated in blocks
 * of that size. DWARF_TYPE_NONE when none or several fit (or a type whose
 * size cannot be read might), or the one that fits has no DWARF. */
static uint32_t go_infer_dynamic(struct go_ctx *c, uint32_t iface)
{
    uint64_t inter_off = dwarf_go_runtime_offset(c->dt, iface);
    struct go_runtime *g = go_runtime_of(c);
    if (!c->target_size || !inter_off || !g->types || dwarf_member(c->dt, iface, "tab", NULL, NULL) != 0)
        return DWARF_TYPE_NONE;
    if (!g->itabs_loaded) {
        g->itabs_loaded = 1;
        go_load_itabs(c, g);
        go_load_classes(c, g);
    }
    uint64_t inter = g->types + inter_off, found = 0;
    for (uint32_t i = 0; i < g->nitabs; i++) {
        const struct go_itab *it = &g->itabs[i];
        if (it->inter != inter || it->type == found)
            continue;
        int64_t size = go_value_size(c, g, it->type);
        if (size < 0)
            return DWARF_TYPE_NONE;
        if (size == 0 || go_alloc_size(g, (uint64_t)size) != c->target_size)
            continue;
        if (found)
            return DWARF_TYPE_NONE;   /* two types fit */
        found = it->type;
    }
    return found > g->types ? dwarf_go_type_by_runtime(c->dt, found - g->types) : DWARF_TYPE_NONE;
}

static int is_interface(struct go_ctx *c, uint32_t type)
{
    if (dwarf_go_kind(c->dt, type) == GO_KIND_INTERFACE)
        return 1;
    const char *name = go_name(c, type);
    return name && (strcmp(name, "runtime.iface") == 0 || strcmp(name, "runtime.eface") == 0);
}

/* Go's quoting of a string, bytes >= 0x80 escaped (the output must stay
 * ASCII: it ends up in Python strings). */
static void go_quote(const uint8_t *s, size_t n, int cut, char *out, size_t outlen)
{
    size_t k = 0;
    out[k++] = '"';
    for (size_t i = 0; i < n && k + 5 < outlen; i++) {
        uint8_t b = s[i];
        const char *esc = b == '"' ? "\\\"" : b == '\\' ? "\\\\" : b == '\n' ? "\\n" : b == '\t' ? "\\t" : NULL;
        if (esc)
            k += (size_t)snprintf(out + k, outlen - k, "%s", esc);
        else if (b < 0x20 || b >= 0x7f)
            k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", b);
        else
            out[k++] = (char)b;
    }
    snprintf(out + k, outlen - k, "\"%s", cut ? "..." : "");
}

/* A Go value of `type` at addr as Go would print it, for map keys:
 * strings, integers, floats, booleans, pointers as addresses, interfaces
 * by their dynamic value. Returns -1 for other types or unreadable memory. */
static int go_value_text(struct go_ctx *c, uint32_t type, uint64_t addr, char *out, size_t outlen, int depth)
{
    uint64_t v = 0, size = dwarf_type_size(c->dt, type);
    enum go_kind kind = dwarf_go_kind(c->dt, type);
    if (depth > GO_VALUE_DEPTH || !addr)
        return -1;
    if (kind == GO_KIND_STRING) {
        uint64_t hdr[2];
        uint8_t bytes[GO_KEY_BYTES];
        if (go_read_bytes(c, addr, hdr, sizeof hdr) != 0 || hdr[1] > (1ull << 40))
            return -1;
        size_t n = hdr[1] < sizeof bytes ? (size_t)hdr[1] : sizeof bytes;
        if (n && go_read_bytes(c, hdr[0], bytes, n) != 0)
            return -1;
        go_quote(bytes, n, hdr[1] > n, out, outlen);
        return 0;
    }
    if (kind == GO_KIND_INTERFACE) {
        uint64_t data;
        uint32_t dyn = go_dynamic_type(c, type, addr, &data);
        if (dyn == DWARF_TYPE_NONE)
            return -1;
        if (go_direct(c, dyn, 0) != DWARF_TYPE_NONE) {
            snprintf(out, outlen, "%#" PRIx64, data);
            return 0;
        }
        return go_value_text(c, dyn, data, out, outlen, depth + 1);
    }
    if (size == 0 || size > 8 || go_read_bytes(c, addr, &v, size) != 0)
        return -1;
    int shift = (int)(64 - 8 * size);
    switch (kind) {
    case GO_KIND_BOOL:
        snprintf(out, outlen, "%s", v ? "true" : "false");
        return 0;
    case GO_KIND_INT: case GO_KIND_INT8: case GO_KIND_INT16: case GO_KIND_INT32: case GO_KIND_INT64:
        snprintf(out, outlen, "%" PRId64, (int64_t)(v << shift) >> shift);   /* sign-extended */
        return 0;
    case GO_KIND_UINT: case GO_KIND_UINT8: case GO_KIND_UINT16: case GO_KIND_UINT32: case GO_KIND_UINT64:
        snprintf(out, outlen, "%" PRIu64, v);
        return 0;
    case GO_KIND_FLOAT32: case GO_KIND_FLOAT64: {
        double d;
        if (size == 4) {
            float f;
            uint32_t w = (uint32_t)v;
            memcpy(&f, &w, sizeof f);
            d = f;
        } else {
            memcpy(&d, &v, sizeof d);
        }
        snprintf(out, outlen, "%g", d);
        return 0;
    }
    case GO_KIND_UINTPTR: case GO_KIND_PTR: case GO_KIND_CHAN: case GO_KIND_MAP: case GO_KIND_UNSAFE_POINTER:
        snprintf(out, outlen, "%#" PRIx64, v);
        return 0;
    default:
        return -1;
    }
}

/* How the path of one Go word is rewritten: full[0, seg_from) + repl +
 * full[seg_to, cut). */
struct go_rewrite {
    size_t cut, seg_from, seg_to;
    char repl[96];
};

/* The word lies in keys[j] or values[j] of a map bucket (bucket<K,V>, at
 * some nest level a): name it by the key, `["k"]` for the value and
 * `[key "k"]` for the key, when the slot is in use and the key printable.
 * plen: length of an element prefix ("[3]") before the nest's paths. */
static void go_bucket_key(struct go_ctx *c, const struct dwarf_field *f, uint64_t top, size_t plen,
                          struct go_rewrite *rw)
{
    for (int a = (int)f->nnest - 3; a >= 0; a--) {
        const struct dwarf_nest *b = &f->nest[a], *arr = &f->nest[a + 1], *el = &f->nest[a + 2];
        uint32_t bt = dwarf_type_strip(c->dt, b->type);
        if (!starts_with(go_name(c, bt), "bucket<"))
            continue;
        uint64_t koff, voff, toff;
        uint32_t kt;
        if (dwarf_member(c->dt, bt, "keys", &koff, &kt) != 0 || el->index < 0 ||
            (dwarf_member(c->dt, bt, "values", &voff, NULL) != 0 && dwarf_member(c->dt, bt, "elems", &voff, NULL) != 0))
            return;
        int is_key = arr->offset - b->offset == koff;
        if (!is_key && arr->offset - b->offset != voff)
            return;
        uint32_t ke = dwarf_type_target(c->dt, dwarf_type_strip(c->dt, kt));
        uint64_t ksize = dwarf_type_size(c->dt, ke), bucket = top + b->offset;
        uint8_t tophash = 0;
        /* tophash 0, 1 and 4: an empty slot (emptyRest, emptyOne, evacuatedEmpty) */
        if (dwarf_member(c->dt, bt, "tophash", &toff, NULL) != 0 || !top ||
            go_read_bytes(c, bucket + toff + (uint64_t)el->index, &tophash, 1) != 0 || tophash <= 1 ||
            tophash == 4)
            return;
        char key[80];
        if (ksize == 0 || go_value_text(c, ke, bucket + koff + (uint64_t)el->index * ksize, key, sizeof key, 0) != 0)
            return;
        snprintf(rw->repl, sizeof rw->repl, is_key ? "[key %s]" : "[%s]", key);
        rw->seg_from = a == 0 ? 0 : plen + b->path_len;   /* a bucket array's "[3]" goes too */
        rw->seg_to = plen + el->path_len;
        return;
    }
}

/* Rules that depend on the object holding the word (the parent of the
 * leaf in the nest): interfaces, slices, strings, channel buffers, map
 * buckets, sync.entry. top: runtime address of the nest's top object. */
static void go_parent_rules(struct go_ctx *c, const struct dwarf_field *f, uint64_t top, size_t plen,
                            struct go_rewrite *rw, struct naming_target *ret)
{
    if (f->nnest < 2)
        return;
    const struct dwarf_nest *parent = &f->nest[f->nnest - 2], *leaf = &f->nest[f->nnest - 1];
    uint32_t pt = dwarf_type_strip(c->dt, parent->type);
    const char *pname = go_name(c, pt);
    enum go_kind pk = dwarf_go_kind(c->dt, parent->type);
    uint64_t rel = leaf->offset - parent->offset, moff;
    char k[256], v[256];
    if (is_interface(c, parent->type)) {
        if (dwarf_member(c->dt, pt, "data", &moff, NULL) != 0 || rel != moff)
            return;
        rw->cut = plen + parent->path_len;
        uint64_t data = 0;
        uint32_t dyn = top ? go_dynamic_type(c, parent->type, top + parent->offset, &data) : DWARF_TYPE_NONE;
        const char *how = "";
        ret->dynamic = top != 0;
        ret->type = NO_TYPE;
        if (dyn == DWARF_TYPE_NONE && (dyn = go_infer_dynamic(c, parent->type)) != DWARF_TYPE_NONE) {
            how = ", by size";
            ret->dynamic = 1;
            if (top)
                go_read(c, top + leaf->offset, &data);
        }
        if (dyn == DWARF_TYPE_NONE) {
            ret->via = name_set_add(&c->nm->labels, "interface");
            return;
        }
        ret->via = labelf(c->nm, "interface: %s%s", dwarf_type_name(c->dt, dyn), how);
        if (go_direct(c, dyn, 0) != DWARF_TYPE_NONE)
            go_points_at(c, dyn, data, ret);
        else
            ret->type = (struct type_ref){ c->obj, dwarf_type_strip(c->dt, dyn) };   /* a boxed value */
        return;
    }
    /* Slice and string headers are structs; the made-up arrays in map
     * buckets are named "[]val<T>" too, but are arrays. */
    int header = dwarf_type_kind(c->dt, pt) == DK_STRUCT && rel == 0;
    if (header && (pk == GO_KIND_SLICE || (pk == GO_KIND_NONE && starts_with(pname, "[]")))) {
        rw->cut = plen + parent->path_len;
        ret->elems = 1;
        ret->label = labelf(c->nm, "%s backing array", pname);
    } else if (header && (pk == GO_KIND_STRING || (pk == GO_KIND_NONE && pname && strcmp(pname, "string") == 0))) {
        rw->cut = plen + parent->path_len;
        ret->elems = 1;
        ret->label = name_set_add(&c->nm->labels, "string bytes");
    } else if (go_params(pname, "hchan<", k, sizeof k, v, sizeof v) == 0 &&
               dwarf_member(c->dt, pt, "buf", &moff, NULL) == 0 && rel == moff) {
        uint32_t elem = dwarf_type_by_name(c->dt, k);
        ret->type = elem == DWARF_TYPE_NONE ? NO_TYPE : (struct type_ref){ c->obj, dwarf_type_strip(c->dt, elem) };
        ret->elems = 1;
        ret->label = labelf(c->nm, "chan %s buffer", k);
    } else if (starts_with(pname, "hash<") && dwarf_member(c->dt, pt, "buckets", &moff, NULL) == 0 && rel == moff) {
        ret->elems = 1;
        ret->label = go_map_label(c->nm, pname, " buckets");
    } else if (starts_with(pname, "hash<") && dwarf_member(c->dt, pt, "oldbuckets", &moff, NULL) == 0 &&
               rel == moff) {
        ret->elems = 1;
        ret->label = go_map_label(c->nm, pname, " old buckets");
    } else if (pname && strcmp(pname, "sync.entry") == 0 && dwarf_member(c->dt, pt, "p", &moff, NULL) == 0 &&
               rel == moff) {
        /* p is an unsafe.Pointer to an interface {} (sync/map.go) */
        uint32_t any = dwarf_type_by_name(c->dt, "interface {}");
        if (any != DWARF_TYPE_NONE)
            ret->type = (struct type_ref){ c->obj, any };
    }
}

/* Writes full[0, seg_from) + repl + full[seg_to, cut) to buf. */
static void go_compose(const char *full, const struct go_rewrite *rw, char *buf, size_t buflen)
{
    size_t len = strlen(full), cut = rw->cut < len ? rw->cut : len;
    size_t to = rw->seg_to < cut ? rw->seg_to : cut, from = rw->seg_from < to ? rw->seg_from : to;
    snprintf(buf, buflen, "%.*s%s%.*s", (int)from, full, rw->repl, (int)(cut - to), full + to);
}

/* naming_word for an object of a Go type. */
static void go_word(struct naming *nm, struct memory *mem, const struct naming_target *obj, uint64_t base,
                    uint64_t offset, uint64_t target_size, char *buf, size_t buflen, struct naming_target *ret)
{
    struct go_ctx c = { nm, mem, obj->type.obj, nm->objs[obj->type.obj].types, target_size };
    uint64_t size = dwarf_type_size(c.dt, obj->type.type), index = 0, off = offset;
    char full[GO_PATH_MAX];
    size_t plen = 0;
    /* An array of the type when the pointer said so, or when the word lies
     * past one of it (Go has no pointer arithmetic: it is an element). */
    if (size && (obj->elems || offset >= size)) {
        index = offset / size;
        off = offset % size;
        plen = (size_t)snprintf(full, sizeof full, "[%" PRIu64 "]", index);
    }
    uint64_t top = base ? base + index * size : 0;
    struct dwarf_field f;
    if (dwarf_field_info(c.dt, obj->type.type, off, full + plen, sizeof full - plen, &f) != 0 ||
        f.word == DWARF_TYPE_NONE) {
        snprintf(buf, buflen, "+0x%" PRIx64, offset);
        return;
    }
    if (f.pointee != DWARF_TYPE_NONE)
        ret->type = (struct type_ref){ c.obj, f.pointee };
    struct go_rewrite rw = { .cut = strlen(full) };
    if (dwarf_go_kind(c.dt, f.word) == GO_KIND_FUNC) {
        uint64_t value = 0;
        if (top)
            go_read(&c, top + off, &value);
        go_points_at(&c, f.word, value, ret);
    }
    go_parent_rules(&c, &f, top, plen, &rw, ret);
    go_bucket_key(&c, &f, top, plen, &rw);
    if (rw.repl[0])
        ret->dynamic = 1;
    go_compose(full, &rw, buf, buflen);
}

void naming_word(struct naming *nm, struct memory *mem, const struct naming_target *obj, uint64_t base,
                 int64_t offset, uint64_t target_size, char *buf, size_t buflen, struct naming_target *ret)
{
    *ret = NAMING_TARGET_NONE;
    if (!buf || buflen == 0)
        return;
    if (offset < 0) {
        snprintf(buf, buflen, "-0x%" PRIx64, (uint64_t)-offset);
        return;
    }
    if (naming_is_go(nm, obj->type)) {
        go_word(nm, mem, obj, base, (uint64_t)offset, target_size, buf, buflen, ret);
        return;
    }
    uint64_t size = obj->elems ? naming_type_size(nm, obj->type) : 0;
    if (size == 0) {
        ret->type = naming_field(nm, obj->type, (uint64_t)offset, buf, buflen);
        return;
    }
    /* element i of the array, then the field inside it */
    int n = snprintf(buf, buflen, "[%" PRIu64 "]", (uint64_t)offset / size);
    if (n > 0 && (size_t)n < buflen)
        ret->type = naming_field(nm, obj->type, (uint64_t)offset % size, buf + n, buflen - (size_t)n);
}

struct naming_target naming_block_target(struct naming *nm, struct memory *mem, uint64_t addr,
                                         const struct naming_target *hint)
{
    if (hint->label || hint->elems || naming_is_go(nm, hint->type))
        return *hint;
    struct type_ref t = naming_block_type(nm, mem, addr, hint->type);
    if (t.obj == hint->type.obj && t.type == hint->type.type)
        return *hint;
    return (struct naming_target){ t, 0, NULL, 0, NULL };
}

const char *naming_target_name(struct naming *nm, const struct naming_target *t)
{
    if (t->label)
        return t->label;
    const char *name = naming_type_name(nm, t->type);
    if (!naming_is_go(nm, t->type) || !name)
        return name;
    /* the runtime's made-up types under the names Go gives them */
    char k[256], v[256];
    const char *label = NULL;
    if (starts_with(name, "hash<"))
        label = go_map_label(nm, name, "");
    else if (starts_with(name, "bucket<"))
        label = go_map_label(nm, name, " bucket");
    else if (go_params(name, "hchan<", k, sizeof k, v, sizeof v) == 0)
        label = labelf(nm, "chan %s", k);
    return label ? label : name;
}
