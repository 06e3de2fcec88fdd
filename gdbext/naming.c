/* Object files, symbols and DWARF types, for naming chains. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "naming.h"

static const struct type_ref NO_TYPE = { OBJ_NONE, DWARF_TYPE_NONE };

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
    }
    free(nm->objs);
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
