/* DWARF types and global variables through libdwarf (the 20210528 API).
 *
 * dwarf_types_load walks every DIE of .debug_info once, keeps the few kinds
 * that name memory (types, members, variables with a fixed address) in
 * plain arrays, resolves DIE references to array indexes, and then closes
 * libdwarf: the finished table needs neither the file nor libdwarf.
 *
 * Loading has three stages:
 *   1. walk:    DIEs -> entries whose references are still DIE offsets
 *   2. resolve: offsets -> indexes (types are appended in DIE order, so
 *               their offsets are sorted and a binary search finds them)
 *   3. finish:  spell names as gdb does, complete declarations from
 *               definitions of the same name, compute sizes, sort globals.
 *
 * libdwarf reads the file through its object-access interface: elfsym.c
 * maps and bounds-checks the ELF file, we inflate compressed sections and
 * show libdwarf only the sections used here. A file without .debug_info
 * falls back to its separate debug file (build-id, then .gnu_debuglink).
 *
 * All libdwarf calls live in this file. */
#include "dwarf.h"
#include "elfsym.h"

#include <elf.h>
#include <libdwarf/dwarf.h>
#include <libdwarf/libdwarf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define NO_NAME UINT32_MAX
#define SIZE_BIG UINT32_MAX          /* array too large for 32 bits: recompute */
#define DIRECT_REF (1ull << 63)      /* a pending reference that is already an index */
#define MAX_DEPTH 256                /* DIE nesting we follow */
#define MAX_CHAIN 64                 /* typedef/cv/pointer chains we follow */
#define MAX_DIMS 8
#define SPELL_MAX 512
#define SCOPE_MAX 1024

enum { F_DECL = 1, F_C = 2, F_ALIAS = 4, F_GO = 8 };    /* dtype.flags; F_GO: from a Go unit */
enum { M_BITFIELD = 1, M_BASE = 2 };                    /* dmember.flags */

struct dtype {
    uint32_t name;       /* interned; raw qualified name while loading, then the spelling */
    uint32_t target;     /* pointee, element, aliased or return type */
    uint32_t first;      /* first member */
    uint32_t count;      /* members, or array elements (0: unknown) */
    uint32_t size;
    uint8_t kind;
    uint8_t flags;
};

struct dmember {
    uint32_t offset;
    uint32_t name;       /* NO_NAME: anonymous, or a base class (M_BASE) */
    uint32_t type;
    uint8_t flags;
};

/* Go's own attributes of one type (dwarf.h): only types that have any. */
struct dgo {
    uint64_t rtype;      /* DW_AT_go_runtime_type; 0: none */
    uint32_t type;       /* whose attributes these are */
    uint32_t elem, key;  /* DW_AT_go_elem, DW_AT_go_key */
    uint8_t kind;        /* DW_AT_go_kind */
};

struct go_rtype {         /* the runtime type index */
    uint64_t rtype;
    uint32_t type;
};

struct dglobal {
    uint64_t addr;
    uint64_t size;
    uint32_t name;
    uint32_t type;
};

/* Interned strings: one copy of each, found by an open-addressing hash.
 * Each slot also remembers the best type spelled that way. */
struct strpool {
    char *chars;
    size_t len, cap;
    uint32_t *slots;     /* string offset + 1; 0 = empty */
    uint32_t *best;      /* per slot: preferred type of that spelling */
    size_t nslots, used;
};

/* A type's pointer layout: lfields[first, first + count). */
struct layout_span {
    uint32_t first, count;
    uint8_t state;       /* LAYOUT_* */
};

struct dwarf_types {
    struct dtype *types;
    size_t ntypes;
    struct dmember *members;
    size_t nmembers;
    struct dglobal *globals;
    size_t nglobals;
    struct strpool pool;
    int has_info;
    struct dgo *go;                  /* sorted by type */
    size_t ngo;
    struct go_rtype *go_by_rtype;    /* sorted by rtype (rtype != 0 only) */
    size_t ngo_by_rtype;
    /* pointer layouts (dwarf_type_layout), built on demand */
    struct layout_span *spans;       /* per type, once any layout is asked for */
    struct dwarf_ptr_field *lfields;
    size_t nlfields, lfields_cap;
};

/* ---- growable arrays and the string pool ---- */

/* Makes room for `need` elements in the array whose pointer is at
 * arrayp. The pointer moves through memcpy, so any element type works
 * without aliasing it as a void *. */
static int grow(void *arrayp, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    if (n > SIZE_MAX / elem)
        return -1;
    void *old, *p;
    memcpy(&old, arrayp, sizeof old);
    p = realloc(old, n * elem);
    if (!p)
        return -1;
    memcpy(arrayp, &p, sizeof p);
    *cap = n;
    return 0;
}

/* Shrinks an array to its length once it stops growing. */
static void shrink(void *arrayp, size_t n, size_t elem)
{
    void *old, *p;
    memcpy(&old, arrayp, sizeof old);
    if (n == 0 || !old)
        return;
    p = realloc(old, n * elem);
    if (p)
        memcpy(arrayp, &p, sizeof p);
}

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 16777619u;
    return h;
}

/* Slot holding s, or the empty slot where it would go. */
static size_t pool_slot(const struct strpool *p, const char *s, size_t n)
{
    size_t mask = p->nslots - 1;
    for (size_t i = hash_bytes(s, n) & mask;; i = (i + 1) & mask) {
        uint32_t v = p->slots[i];
        if (v == 0)
            return i;
        const char *c = p->chars + v - 1;
        if (strncmp(c, s, n) == 0 && c[n] == '\0')
            return i;
    }
}

static int pool_rehash(struct strpool *p)
{
    size_t n = p->nslots ? p->nslots * 2 : 4096;
    uint32_t *old = p->slots;
    size_t oldn = p->nslots;
    p->slots = calloc(n, sizeof *p->slots);
    if (!p->slots) {
        p->slots = old;
        return -1;
    }
    p->nslots = n;
    for (size_t i = 0; i < oldn; i++) {
        if (old[i]) {
            const char *s = p->chars + old[i] - 1;
            p->slots[pool_slot(p, s, strlen(s))] = old[i];
        }
    }
    free(old);
    return 0;
}

/* Interns n bytes of s; NO_NAME on failure (out of memory or > 4 GiB). */
static uint32_t pool_add(struct strpool *p, const char *s, size_t n)
{
    if ((p->used + 1) * 2 > p->nslots && pool_rehash(p) != 0)
        return NO_NAME;
    size_t slot = pool_slot(p, s, n);
    if (p->slots[slot])
        return p->slots[slot] - 1;
    if (p->len + n + 1 >= UINT32_MAX || grow(&p->chars, &p->cap, p->len + n + 1, 1) != 0)
        return NO_NAME;
    memcpy(p->chars + p->len, s, n);
    p->chars[p->len + n] = '\0';
    p->slots[slot] = (uint32_t)p->len + 1;
    p->used++;
    uint32_t off = (uint32_t)p->len;
    p->len += n + 1;
    return off;
}

static const char *pool_str(const struct strpool *p, uint32_t name)
{
    return name == NO_NAME ? NULL : p->chars + name;
}

/* The slot of an interned string that exists, or SIZE_MAX. */
static size_t pool_find(const struct strpool *p, const char *s)
{
    if (!p->nslots)
        return SIZE_MAX;
    size_t slot = pool_slot(p, s, strlen(s));
    return p->slots[slot] ? slot : SIZE_MAX;
}

/* ---- load state ---- */

struct pending_member {
    struct dmember m;
    uint64_t type_off;
};

struct var_decl {        /* a named variable, for DW_AT_specification lookups */
    uint64_t off;
    uint64_t type_off;
    uint64_t spec_off;
    uint32_t name;
};

struct pending_global {
    uint64_t addr;
    uint64_t type_off;
    uint64_t spec_off;
    uint32_t name;
};

struct pending_go {       /* Go attributes whose references are still DIE offsets */
    uint64_t rtype, elem_off, key_off;
    uint32_t type;
    uint8_t kind;
};

struct type_spec {       /* an out-of-line class definition and its declaration */
    uint32_t type;
    uint64_t spec_off;
};

struct loader {
    Dwarf_Debug dbg;
    const char *path;
    uint64_t bias;
    struct dwarf_types *t;
    uint64_t last_off;           /* DIE offsets must increase (guards loops) */
    /* per compilation unit */
    int lang_c, lang_go;
    unsigned addr_size;
    uint64_t cu_off;
    /* scope: "ns::Class::" for types, plus "func::" for variables */
    char scope[SCOPE_MAX];
    size_t scope_len;
    /* stage-1 results still holding DIE offsets */
    uint64_t *type_die;          /* per type: its DIE offset (non-decreasing) */
    uint64_t *type_ref;          /* per type: target DIE offset, or DIRECT_REF|index */
    size_t types_cap;
    uint64_t *member_ref;        /* per member: type DIE offset */
    size_t members_cap;
    struct pending_member *stack;   /* members of the classes being walked */
    size_t nstack, stack_cap;
    struct var_decl *decls;
    size_t ndecls, decls_cap;
    struct pending_global *globals;
    size_t nglobals, globals_cap;
    struct type_spec *specs;
    size_t nspecs, specs_cap;
    struct pending_go *go;
    size_t ngo, go_cap;
};

struct walk_ctx {
    uint32_t parent;             /* class being filled, or DWARF_TYPE_NONE */
    size_t type_scope;           /* length of scope that qualifies type names */
    int in_function;
};

static struct retain_error *dw_error(struct loader *L, const char *what, Dwarf_Error e)
{
    struct retain_error *err = retain_errorf("%s: %s (CU at %#llx): %s", L->path, what,
                                             (unsigned long long)L->cu_off,
                                             e ? dwarf_errmsg(e) : "no detail");
    if (e)
        dwarf_dealloc(L->dbg, e, DW_DLA_ERROR);
    return err;
}

static struct retain_error *oom(struct loader *L, const char *what)
{
    return retain_errorf("%s: out of memory for %s", L->path, what);
}

/* ---- reading attributes ---- */

/* What one DIE says about itself, gathered in one pass over its attributes. */
struct die_info {
    const char *name;
    uint64_t type_off, spec_off, origin_off;
    uint64_t byte_size, member_loc, bit_offset, count, upper, lower, addr;
    uint64_t go_kind, go_elem_off, go_key_off, go_rtype;    /* Go's attributes (0: absent) */
    unsigned has_byte_size : 1, has_member_loc : 1, bad_member_loc : 1, has_bit_offset : 1,
        has_bit_size : 1, has_count : 1, has_upper : 1, has_lower : 1, has_addr : 1,
        declaration : 1, external : 1;
};

static uint64_t read_uleb(const uint8_t **p, const uint8_t *end, int *ok)
{
    uint64_t v = 0;
    for (unsigned shift = 0; *p < end; shift += 7) {
        uint8_t b = *(*p)++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    *ok = 0;
    return 0;
}

/* The bytes of an exprloc or block attribute. A block from dwarf_formblock
 * is handed back in *blk for the caller to free. */
static int attr_expr(Dwarf_Debug dbg, Dwarf_Attribute a, Dwarf_Half form, const uint8_t **p,
                     uint64_t *len, Dwarf_Block **blk)
{
    Dwarf_Error e = NULL;
    *blk = NULL;
    if (form == DW_FORM_exprloc) {
        Dwarf_Unsigned n;
        Dwarf_Ptr ptr;
        if (dwarf_formexprloc(a, &n, &ptr, &e) != DW_DLV_OK)
            goto fail;
        *p = ptr;
        *len = n;
        return 0;
    }
    if (form == DW_FORM_block1 || form == DW_FORM_block2 || form == DW_FORM_block4 ||
        form == DW_FORM_block) {
        if (dwarf_formblock(a, blk, &e) != DW_DLV_OK)
            goto fail;
        *p = (*blk)->bl_data;
        *len = (*blk)->bl_len;
        return 0;
    }
    return -1;
fail:
    if (e)
        dwarf_dealloc(dbg, e, DW_DLA_ERROR);
    return -1;
}

/* A constant attribute; signed forms may be negative (*v is then the
 * two's complement and the return value 1). -1 if not a constant. */
static int attr_const(Dwarf_Debug dbg, Dwarf_Attribute a, Dwarf_Half form, uint64_t *v)
{
    Dwarf_Error e = NULL;
    int rc;
    if (form == DW_FORM_sdata || form == DW_FORM_implicit_const) {
        Dwarf_Signed s;
        rc = dwarf_formsdata(a, &s, &e);
        if (rc == DW_DLV_OK) {
            *v = (uint64_t)s;
            return s < 0;
        }
    } else if (form == DW_FORM_data1 || form == DW_FORM_data2 || form == DW_FORM_data4 ||
               form == DW_FORM_data8 || form == DW_FORM_udata) {
        Dwarf_Unsigned u;
        rc = dwarf_formudata(a, &u, &e);
        if (rc == DW_DLV_OK) {
            *v = u;
            return 0;
        }
    }
    if (e)
        dwarf_dealloc(dbg, e, DW_DLA_ERROR);
    return -1;
}

/* A reference to another DIE as a .debug_info offset; 0 when absent or
 * not followable: type-unit signatures, and references into a dwz or
 * supplementary file, whose offsets would name the wrong DIE here. */
static uint64_t attr_ref(Dwarf_Debug dbg, Dwarf_Attribute a, Dwarf_Half form)
{
    if (form == DW_FORM_ref_sig8 || form == DW_FORM_GNU_ref_alt || form == DW_FORM_ref_sup4 ||
        form == DW_FORM_ref_sup8)
        return 0;
    Dwarf_Off off;
    Dwarf_Error e = NULL;
    if (dwarf_global_formref(a, &off, &e) == DW_DLV_OK)
        return off;
    if (e)
        dwarf_dealloc(dbg, e, DW_DLA_ERROR);
    return 0;
}

/* An address-class attribute (DW_FORM_addr); 0 when absent or another form. */
static uint64_t attr_addr(Dwarf_Debug dbg, Dwarf_Attribute a, Dwarf_Half form)
{
    if (form != DW_FORM_addr)
        return 0;
    Dwarf_Addr v = 0;
    Dwarf_Error e = NULL;
    if (dwarf_formaddr(a, &v, &e) != DW_DLV_OK) {
        if (e)
            dwarf_dealloc(dbg, e, DW_DLA_ERROR);
        return 0;
    }
    return v;
}

static int attr_flag(Dwarf_Debug dbg, Dwarf_Attribute a)
{
    Dwarf_Bool b = 0;
    Dwarf_Error e = NULL;
    if (dwarf_formflag(a, &b, &e) != DW_DLV_OK && e)
        dwarf_dealloc(dbg, e, DW_DLA_ERROR);
    return b != 0;
}

/* DW_AT_data_member_location: a constant, or DW_OP_plus_uconst N. Other
 * expressions (virtual bases) have no static offset. */
static void read_member_location(struct loader *L, Dwarf_Attribute a, Dwarf_Half form, struct die_info *d)
{
    uint64_t v;
    if (attr_const(L->dbg, a, form, &v) == 0) {
        d->member_loc = v;
        d->has_member_loc = 1;
        return;
    }
    const uint8_t *p;
    uint64_t len;
    Dwarf_Block *blk;
    if (attr_expr(L->dbg, a, form, &p, &len, &blk) != 0) {
        d->bad_member_loc = 1;
        return;
    }
    const uint8_t *end = p + len;
    int ok = 1;
    if (len >= 2 && p[0] == DW_OP_plus_uconst) {
        p++;
        d->member_loc = read_uleb(&p, end, &ok);
        d->has_member_loc = ok && p == end;
    }
    d->bad_member_loc = !d->has_member_loc;
    if (blk)
        dwarf_dealloc(L->dbg, blk, DW_DLA_BLOCK);
}

/* DW_AT_location that is exactly DW_OP_addr <address>, or DW_OP_addrx
 * <index into .debug_addr> (clang's DWARF 5): a fixed address. */
static void read_location(struct loader *L, Dwarf_Die die, Dwarf_Attribute a, Dwarf_Half form,
                          struct die_info *d)
{
    const uint8_t *p;
    uint64_t len;
    Dwarf_Block *blk;
    if (attr_expr(L->dbg, a, form, &p, &len, &blk) != 0)
        return;   /* location lists: not a fixed address */
    if (L->addr_size <= 8 && len == 1 + (uint64_t)L->addr_size && p[0] == DW_OP_addr) {
        uint64_t v = 0;
        for (unsigned i = 0; i < L->addr_size; i++)
            v |= (uint64_t)p[1 + i] << (8 * i);   /* little-endian targets */
        d->addr = v;
        d->has_addr = 1;
    } else if (len >= 2 && (p[0] == DW_OP_addrx || p[0] == DW_OP_GNU_addr_index)) {
        const uint8_t *q = p + 1;
        int ok = 1;
        uint64_t index = read_uleb(&q, p + len, &ok);
        Dwarf_Addr addr;
        Dwarf_Error e = NULL;
        if (ok && q == p + len && dwarf_debug_addr_index_to_addr(die, index, &addr, &e) == DW_DLV_OK) {
            d->addr = addr;
            d->has_addr = 1;
        }
        if (e)
            dwarf_dealloc(L->dbg, e, DW_DLA_ERROR);
    }
    if (blk)
        dwarf_dealloc(L->dbg, blk, DW_DLA_BLOCK);
}

static void read_attr(struct loader *L, Dwarf_Die die, Dwarf_Attribute a, struct die_info *d)
{
    Dwarf_Half at, form;
    Dwarf_Error e = NULL;
    if (dwarf_whatattr(a, &at, &e) != DW_DLV_OK || dwarf_whatform(a, &form, &e) != DW_DLV_OK) {
        if (e)
            dwarf_dealloc(L->dbg, e, DW_DLA_ERROR);
        return;
    }
    char *s;
    switch (at) {
    case DW_AT_name:
        if (dwarf_formstring(a, &s, &e) == DW_DLV_OK)
            d->name = s;
        break;
    case DW_AT_type: d->type_off = attr_ref(L->dbg, a, form); break;
    case DW_AT_specification: d->spec_off = attr_ref(L->dbg, a, form); break;
    case DW_AT_abstract_origin: d->origin_off = attr_ref(L->dbg, a, form); break;
    case DW_AT_byte_size: d->has_byte_size = attr_const(L->dbg, a, form, &d->byte_size) == 0; break;
    case DW_AT_data_member_location: read_member_location(L, a, form, d); break;
    case DW_AT_data_bit_offset:
        d->has_bit_offset = attr_const(L->dbg, a, form, &d->bit_offset) == 0;
        break;
    case DW_AT_bit_size: d->has_bit_size = 1; break;
    case DW_AT_count: d->has_count = attr_const(L->dbg, a, form, &d->count) == 0; break;
    case DW_AT_upper_bound: {
        int rc = attr_const(L->dbg, a, form, &d->upper);
        d->has_upper = rc == 0;
        if (rc == 1) {           /* upper bound -1: an empty array */
            d->count = 0;
            d->has_count = 1;
        }
        break;
    }
    case DW_AT_lower_bound: d->has_lower = attr_const(L->dbg, a, form, &d->lower) == 0; break;
    case DW_AT_location: read_location(L, die, a, form, d); break;
    case DW_AT_declaration: d->declaration = attr_flag(L->dbg, a); break;
    case DW_AT_external: d->external = attr_flag(L->dbg, a); break;
    case DW_AT_go_kind:
        if (attr_const(L->dbg, a, form, &d->go_kind) != 0 || d->go_kind > 0xff)
            d->go_kind = 0;
        break;
    case DW_AT_go_elem: d->go_elem_off = attr_ref(L->dbg, a, form); break;
    case DW_AT_go_key: d->go_key_off = attr_ref(L->dbg, a, form); break;
    case DW_AT_go_runtime_type: d->go_rtype = attr_addr(L->dbg, a, form); break;
    default: break;
    }
    if (e)
        dwarf_dealloc(L->dbg, e, DW_DLA_ERROR);
}

static struct retain_error *read_die(struct loader *L, Dwarf_Die die, struct die_info *d)
{
    memset(d, 0, sizeof *d);
    Dwarf_Attribute *list;
    Dwarf_Signed n;
    Dwarf_Error e = NULL;
    int rc = dwarf_attrlist(die, &list, &n, &e);
    if (rc == DW_DLV_NO_ENTRY)
        return NULL;
    if (rc != DW_DLV_OK)
        return dw_error(L, "reading attributes", e);
    for (Dwarf_Signed i = 0; i < n; i++) {
        read_attr(L, die, list[i], d);
        dwarf_dealloc_attribute(list[i]);
    }
    dwarf_dealloc(L->dbg, list, DW_DLA_LIST);
    return NULL;
}

/* ---- stage 1: entries from DIEs ---- */

/* Qualified name: the scope's first scope_len bytes, then name. */
static uint32_t intern_scoped(struct loader *L, size_t scope_len, const char *name)
{
    char buf[SCOPE_MAX + 256];
    size_t n = strlen(name);
    if (scope_len + n >= sizeof buf)
        return pool_add(&L->t->pool, name, n);
    memcpy(buf, L->scope, scope_len);
    memcpy(buf + scope_len, name, n);
    return pool_add(&L->t->pool, buf, scope_len + n);
}

static size_t scope_push(struct loader *L, const char *name)
{
    size_t old = L->scope_len, n = strlen(name);
    if (old + n + 2 < SCOPE_MAX) {
        memcpy(L->scope + old, name, n);
        memcpy(L->scope + old + n, "::", 2);
        L->scope_len = old + n + 2;
    }
    return old;
}

static uint32_t add_type(struct loader *L, uint64_t die_off, enum dwarf_kind kind, uint32_t name,
                         uint64_t ref, uint64_t size)
{
    struct dwarf_types *t = L->t;
    size_t cap = L->types_cap;
    if (t->ntypes >= UINT32_MAX - 1 || grow(&t->types, &cap, t->ntypes + 1, sizeof *t->types) != 0)
        return DWARF_TYPE_NONE;
    size_t c2 = L->types_cap, c3 = L->types_cap;
    if (grow(&L->type_die, &c2, cap, sizeof *L->type_die) != 0 ||
        grow(&L->type_ref, &c3, cap, sizeof *L->type_ref) != 0)
        return DWARF_TYPE_NONE;
    L->types_cap = cap;
    uint32_t i = (uint32_t)t->ntypes++;
    t->types[i] = (struct dtype){
        .name = name, .target = DWARF_TYPE_NONE, .first = 0, .count = 0,
        .size = size >= SIZE_BIG ? SIZE_BIG : (uint32_t)size, .kind = (uint8_t)kind, .flags = 0,
    };
    L->type_die[i] = die_off;
    L->type_ref[i] = ref;
    return i;
}

/* Marks a type of a Go unit and keeps Go's attributes of its DIE. Called
 * right after add_type, so that the pending entries stay in type order. */
static int note_go(struct loader *L, uint32_t type, const struct die_info *d)
{
    if (!L->lang_go)
        return 0;
    L->t->types[type].flags |= F_GO;
    if (!d->go_kind && !d->go_rtype && !d->go_elem_off && !d->go_key_off)
        return 0;
    if (grow(&L->go, &L->go_cap, L->ngo + 1, sizeof *L->go) != 0)
        return -1;
    L->go[L->ngo++] = (struct pending_go){
        .rtype = d->go_rtype, .elem_off = d->go_elem_off, .key_off = d->go_key_off, .type = type,
        .kind = (uint8_t)d->go_kind,
    };
    return 0;
}

static enum dwarf_kind kind_of_tag(Dwarf_Half tag)
{
    switch (tag) {
    case DW_TAG_base_type: case DW_TAG_unspecified_type: return DK_BASE;
    case DW_TAG_pointer_type: return DK_POINTER;
    case DW_TAG_reference_type: case DW_TAG_rvalue_reference_type: return DK_REFERENCE;
    case DW_TAG_structure_type: return DK_STRUCT;
    case DW_TAG_class_type: return DK_CLASS;
    case DW_TAG_union_type: return DK_UNION;
    case DW_TAG_array_type: return DK_ARRAY;
    case DW_TAG_typedef: return DK_TYPEDEF;
    case DW_TAG_const_type: return DK_CONST;
    case DW_TAG_volatile_type: return DK_VOLATILE;
    case DW_TAG_enumeration_type: return DK_ENUM;
    case DW_TAG_subroutine_type: return DK_FUNCTION;
    default: return DK_OTHER;
    }
}

static int is_aggregate(enum dwarf_kind k)
{
    return k == DK_STRUCT || k == DK_CLASS || k == DK_UNION || k == DK_ENUM;
}

static struct retain_error *walk_children(struct loader *L, Dwarf_Die parent, const struct walk_ctx *ctx,
                                          int depth);

/* Base, pointer, cv, typedef, enum, function and alias types: no children
 * worth reading (enumerators and parameters do not name memory). */
static struct retain_error *visit_simple_type(struct loader *L, Dwarf_Die die, Dwarf_Half tag,
                                              uint64_t off, const struct walk_ctx *ctx)
{
    struct die_info d;
    struct retain_error *err = read_die(L, die, &d);
    if (err)
        return err;
    enum dwarf_kind kind = kind_of_tag(tag);
    int alias = tag == DW_TAG_restrict_type || tag == DW_TAG_atomic_type ||
                tag == DW_TAG_immutable_type || tag == DW_TAG_shared_type || tag == DW_TAG_packed_type;
    uint64_t size = d.has_byte_size ? d.byte_size : 0;
    if ((kind == DK_POINTER || kind == DK_REFERENCE) && !d.has_byte_size)
        size = L->addr_size;
    uint32_t name = NO_NAME;
    if (d.name)
        name = kind == DK_TYPEDEF || kind == DK_ENUM ? intern_scoped(L, ctx->type_scope, d.name)
                                                      : pool_add(&L->t->pool, d.name, strlen(d.name));
    uint32_t i = add_type(L, off, kind, name, d.type_off, size);
    if (i == DWARF_TYPE_NONE)
        return oom(L, "types");
    L->t->types[i].flags = (uint8_t)((alias ? F_ALIAS : 0) | (d.declaration ? F_DECL : 0) |
                                     (L->lang_c && kind == DK_ENUM ? F_C : 0));
    return note_go(L, i, &d) == 0 ? NULL : oom(L, "types");
}

/* Element counts of an array's subranges, outermost first. */
static struct retain_error *array_dims(struct loader *L, Dwarf_Die die, uint64_t *dims, int *ndims)
{
    Dwarf_Die child, next;
    Dwarf_Error e = NULL;
    *ndims = 0;
    int rc = dwarf_child(die, &child, &e);
    while (rc == DW_DLV_OK) {
        Dwarf_Half tag = 0;
        struct retain_error *err = NULL;
        if (dwarf_tag(child, &tag, &e) != DW_DLV_OK)
            err = dw_error(L, "reading a subrange tag", e);
        struct die_info d;
        if (!err && tag == DW_TAG_subrange_type && *ndims < MAX_DIMS &&
            !(err = read_die(L, child, &d))) {
            uint64_t n = 0;
            if (d.has_count)
                n = d.count;
            else if (d.has_upper && d.upper >= (d.has_lower ? d.lower : 0))
                n = d.upper - (d.has_lower ? d.lower : 0) + 1;
            dims[(*ndims)++] = n;
        }
        if (!err)
            rc = dwarf_siblingof_b(L->dbg, child, 1, &next, &e);
        dwarf_dealloc_die(child);
        if (err)
            return err;
        child = next;
    }
    return rc == DW_DLV_ERROR ? dw_error(L, "reading array subranges", e) : NULL;
}

/* One entry per dimension: int [4][8] is an array of 4 arrays of 8 ints.
 * The inner ones share the DIE offset, so type_die stays sorted and a
 * reference to the DIE finds the outermost. */
static struct retain_error *visit_array(struct loader *L, Dwarf_Die die, uint64_t off)
{
    struct die_info d;
    struct retain_error *err = read_die(L, die, &d);
    uint64_t dims[MAX_DIMS];
    int ndims = 0;
    if (!err)
        err = array_dims(L, die, dims, &ndims);
    if (err)
        return err;
    if (ndims == 0)
        dims[ndims++] = 0;
    /* Go names its (one-dimensional) arrays: "[4]uint8". */
    uint32_t name = L->lang_go && d.name && ndims == 1 ? pool_add(&L->t->pool, d.name, strlen(d.name)) : NO_NAME;
    uint32_t prev = DWARF_TYPE_NONE;
    for (int k = 0; k < ndims; k++) {
        uint32_t i = add_type(L, off, DK_ARRAY, name, k == ndims - 1 ? d.type_off : 0, 0);
        if (i == DWARF_TYPE_NONE)
            return oom(L, "types");
        L->t->types[i].count = dims[k] > UINT32_MAX ? UINT32_MAX : (uint32_t)dims[k];
        if (prev != DWARF_TYPE_NONE)
            L->type_ref[prev] = DIRECT_REF | i;
        if (k == 0 && note_go(L, i, &d) != 0)
            return oom(L, "types");
        prev = i;
    }
    return NULL;
}

static int push_member(struct loader *L, uint64_t offset, uint32_t name, uint64_t type_off, uint8_t flags)
{
    if (grow(&L->stack, &L->stack_cap, L->nstack + 1, sizeof *L->stack) != 0)
        return -1;
    L->stack[L->nstack++] = (struct pending_member){
        .m = { .offset = offset > UINT32_MAX ? UINT32_MAX : (uint32_t)offset, .name = name,
               .type = DWARF_TYPE_NONE, .flags = flags },
        .type_off = type_off,
    };
    return 0;
}

static int add_decl(struct loader *L, uint64_t off, uint32_t name, uint64_t type_off, uint64_t spec_off)
{
    if (grow(&L->decls, &L->decls_cap, L->ndecls + 1, sizeof *L->decls) != 0)
        return -1;
    L->decls[L->ndecls++] = (struct var_decl){ off, type_off, spec_off, name };
    return 0;
}

/* A data member, a base class, or (with DW_AT_declaration) a static member. */
static struct retain_error *visit_member(struct loader *L, Dwarf_Die die, Dwarf_Half tag, uint64_t off)
{
    struct die_info d;
    struct retain_error *err = read_die(L, die, &d);
    if (err)
        return err;
    if (tag == DW_TAG_member && (d.declaration || (d.external && !d.has_member_loc))) {
        if (d.name && add_decl(L, off, intern_scoped(L, L->scope_len, d.name), d.type_off, 0) != 0)
            return oom(L, "variables");
        return NULL;
    }
    if (d.bad_member_loc)
        return NULL;     /* a virtual base: its offset is only known at run time */
    uint64_t offset = d.has_member_loc ? d.member_loc : d.has_bit_offset ? d.bit_offset / 8 : 0;
    uint32_t name = d.name && tag == DW_TAG_member ? pool_add(&L->t->pool, d.name, strlen(d.name)) : NO_NAME;
    uint8_t flags = (uint8_t)((d.has_bit_size ? M_BITFIELD : 0) | (tag == DW_TAG_inheritance ? M_BASE : 0));
    return push_member(L, offset, name, d.type_off, flags) == 0 ? NULL : oom(L, "members");
}

/* Moves the members pushed since `base` into the member array, where a
 * class's members stay contiguous even when nested classes interleave. */
static struct retain_error *pop_members(struct loader *L, uint32_t type, size_t base)
{
    struct dwarf_types *t = L->t;
    size_t n = L->nstack - base, cap = L->members_cap;
    if (t->nmembers + n >= UINT32_MAX || grow(&t->members, &cap, t->nmembers + n, sizeof *t->members) != 0)
        return oom(L, "members");
    size_t c2 = L->members_cap;
    if (grow(&L->member_ref, &c2, cap, sizeof *L->member_ref) != 0)
        return oom(L, "members");
    L->members_cap = cap;
    t->types[type].first = (uint32_t)t->nmembers;
    t->types[type].count = (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        t->members[t->nmembers] = L->stack[base + i].m;
        L->member_ref[t->nmembers++] = L->stack[base + i].type_off;
    }
    L->nstack = base;
    return NULL;
}

static struct retain_error *visit_class(struct loader *L, Dwarf_Die die, Dwarf_Half tag, uint64_t off,
                                        const struct walk_ctx *ctx, int depth)
{
    struct die_info d;
    struct retain_error *err = read_die(L, die, &d);
    if (err)
        return err;
    enum dwarf_kind kind = kind_of_tag(tag);
    uint32_t name = d.name ? intern_scoped(L, ctx->type_scope, d.name) : NO_NAME;
    uint32_t i = add_type(L, off, kind, name, 0, d.has_byte_size ? d.byte_size : 0);
    if (i == DWARF_TYPE_NONE)
        return oom(L, "types");
    L->t->types[i].flags = (uint8_t)((d.declaration ? F_DECL : 0) | (L->lang_c ? F_C : 0));
    if (note_go(L, i, &d) != 0)
        return oom(L, "types");
    if (d.spec_off) {
        if (grow(&L->specs, &L->specs_cap, L->nspecs + 1, sizeof *L->specs) != 0)
            return oom(L, "types");
        L->specs[L->nspecs++] = (struct type_spec){ i, d.spec_off };
    }
    /* C has one tag namespace; C++ qualifies nested names by the class. */
    size_t saved = L->scope_len;
    struct walk_ctx inner = { .parent = i, .type_scope = ctx->type_scope, .in_function = ctx->in_function };
    if (!L->lang_c && d.name) {
        scope_push(L, d.name);
        if (!ctx->in_function)
            inner.type_scope = L->scope_len;
    }
    size_t base = L->nstack;
    err = walk_children(L, die, &inner, depth + 1);
    L->scope_len = saved;
    if (!err)
        err = pop_members(L, i, base);
    return err;
}

static struct retain_error *visit_variable(struct loader *L, Dwarf_Die die, uint64_t off)
{
    struct die_info d;
    struct retain_error *err = read_die(L, die, &d);
    if (err)
        return err;
    uint32_t name = d.name ? intern_scoped(L, L->scope_len, d.name) : NO_NAME;
    uint64_t spec = d.spec_off ? d.spec_off : d.origin_off;
    if (d.name && add_decl(L, off, name, d.type_off, spec) != 0)
        return oom(L, "variables");
    if (!d.has_addr || d.addr == 0 || d.declaration)
        return NULL;     /* address 0: a definition the linker discarded */
    if (grow(&L->globals, &L->globals_cap, L->nglobals + 1, sizeof *L->globals) != 0)
        return oom(L, "globals");
    L->globals[L->nglobals++] = (struct pending_global){ d.addr + L->bias, d.type_off, spec, name };
    return NULL;
}

static struct retain_error *die_name(struct loader *L, Dwarf_Die die, const char **name_ret)
{
    char *name = NULL;
    Dwarf_Error e = NULL;
    int rc = dwarf_diename(die, &name, &e);
    if (rc == DW_DLV_ERROR)
        return dw_error(L, "reading a name", e);
    *name_ret = rc == DW_DLV_OK ? name : NULL;
    return NULL;
}

static struct retain_error *visit_namespace(struct loader *L, Dwarf_Die die, const struct walk_ctx *ctx,
                                            int depth)
{
    const char *name = NULL;
    struct retain_error *err = die_name(L, die, &name);
    if (err)
        return err;
    size_t saved = scope_push(L, name ? name : "(anonymous namespace)");
    struct walk_ctx inner = *ctx;
    inner.type_scope = L->scope_len;
    err = walk_children(L, die, &inner, depth + 1);
    L->scope_len = saved;
    return err;
}

/* Functions hold static locals (named "func::var") and local types. */
static struct retain_error *visit_function(struct loader *L, Dwarf_Die die, const struct walk_ctx *ctx,
                                           int depth)
{
    const char *name = NULL;
    struct retain_error *err = die_name(L, die, &name);
    if (err)
        return err;
    size_t saved = name ? scope_push(L, name) : L->scope_len;
    struct walk_ctx inner = { .parent = DWARF_TYPE_NONE, .type_scope = ctx->type_scope, .in_function = 1 };
    err = walk_children(L, die, &inner, depth + 1);
    L->scope_len = saved;
    return err;
}

static struct retain_error *visit(struct loader *L, Dwarf_Die die, const struct walk_ctx *ctx, int depth)
{
    Dwarf_Half tag;
    Dwarf_Off off;
    Dwarf_Error e = NULL;
    if (dwarf_tag(die, &tag, &e) != DW_DLV_OK)
        return dw_error(L, "reading a DIE tag", e);
    if (dwarf_dieoffset(die, &off, &e) != DW_DLV_OK)
        return dw_error(L, "reading a DIE offset", e);
    if (off <= L->last_off)
        return retain_errorf("%s: DIE at %#llx does not follow %#llx (corrupt DWARF)", L->path,
                             (unsigned long long)off, (unsigned long long)L->last_off);
    L->last_off = off;
    if (depth > MAX_DEPTH)
        return retain_errorf("%s: DIEs nested deeper than %d at %#llx", L->path, MAX_DEPTH,
                             (unsigned long long)off);
    switch (tag) {
    case DW_TAG_base_type: case DW_TAG_unspecified_type: case DW_TAG_pointer_type:
    case DW_TAG_reference_type: case DW_TAG_rvalue_reference_type: case DW_TAG_ptr_to_member_type:
    case DW_TAG_const_type: case DW_TAG_volatile_type: case DW_TAG_typedef:
    case DW_TAG_enumeration_type: case DW_TAG_subroutine_type: case DW_TAG_restrict_type:
    case DW_TAG_atomic_type: case DW_TAG_immutable_type: case DW_TAG_shared_type:
    case DW_TAG_packed_type:
        return visit_simple_type(L, die, tag, off, ctx);
    case DW_TAG_array_type:
        return visit_array(L, die, off);
    case DW_TAG_structure_type: case DW_TAG_class_type: case DW_TAG_union_type:
        return visit_class(L, die, tag, off, ctx, depth);
    case DW_TAG_member: case DW_TAG_inheritance:
        return ctx->parent == DWARF_TYPE_NONE ? NULL : visit_member(L, die, tag, off);
    case DW_TAG_variable:
        return visit_variable(L, die, off);
    case DW_TAG_namespace:
        return visit_namespace(L, die, ctx, depth);
    case DW_TAG_subprogram:
        /* Inside a class it is a method declaration: only parameters follow. */
        return ctx->parent != DWARF_TYPE_NONE ? NULL : visit_function(L, die, ctx, depth);
    case DW_TAG_lexical_block: {
        struct walk_ctx inner = *ctx;
        inner.parent = DWARF_TYPE_NONE;
        return walk_children(L, die, &inner, depth + 1);
    }
    default:
        return NULL;
    }
}

static struct retain_error *walk_children(struct loader *L, Dwarf_Die parent, const struct walk_ctx *ctx,
                                          int depth)
{
    Dwarf_Die die, next = NULL;
    Dwarf_Error e = NULL;
    int rc = dwarf_child(parent, &die, &e);
    if (rc == DW_DLV_NO_ENTRY)
        return NULL;
    if (rc != DW_DLV_OK)
        return dw_error(L, "reading a DIE's children", e);
    for (;;) {
        struct retain_error *err = visit(L, die, ctx, depth);
        if (!err) {
            rc = dwarf_siblingof_b(L->dbg, die, 1, &next, &e);
            if (rc == DW_DLV_ERROR)
                err = dw_error(L, "reading a DIE's sibling", e);
        }
        dwarf_dealloc_die(die);
        if (err)
            return err;
        if (rc == DW_DLV_NO_ENTRY)
            return NULL;
        die = next;
    }
}

static int language_is_c(Dwarf_Unsigned lang)
{
    switch (lang) {
    case DW_LANG_C_plus_plus: case DW_LANG_C_plus_plus_03: case DW_LANG_C_plus_plus_11:
    case DW_LANG_C_plus_plus_14: case 0x2a /* C++17 */: case 0x2b /* C++20 */:
    case DW_LANG_Go: case DW_LANG_Rust: case DW_LANG_D:
        return 0;
    default:
        return 1;
    }
}

static struct retain_error *walk_unit(struct loader *L, Dwarf_Die cu)
{
    Dwarf_Unsigned lang = 0;
    Dwarf_Off off = 0;
    Dwarf_Error e = NULL;
    int rc = dwarf_srclang(cu, &lang, &e);
    if (rc == DW_DLV_ERROR)
        return dw_error(L, "reading the CU language", e);
    if (dwarf_dieoffset(cu, &off, &e) != DW_DLV_OK)
        return dw_error(L, "reading the CU offset", e);
    if (off <= L->last_off && L->last_off)
        return retain_errorf("%s: CU at %#llx does not follow %#llx (corrupt DWARF)", L->path,
                             (unsigned long long)off, (unsigned long long)L->last_off);
    L->last_off = off;
    L->lang_c = language_is_c(lang);
    L->lang_go = lang == DW_LANG_Go;
    L->scope_len = 0;
    struct walk_ctx ctx = { .parent = DWARF_TYPE_NONE, .type_scope = 0, .in_function = 0 };
    return walk_children(L, cu, &ctx, 1);
}

static struct retain_error *walk_units(struct loader *L)
{
    for (;;) {
        Dwarf_Unsigned next_off = 0;
        Dwarf_Half version = 0, addr_size = 0, unit_type = 0;
        Dwarf_Error e = NULL;
        int rc = dwarf_next_cu_header_d(L->dbg, 1, NULL, &version, NULL, &addr_size, NULL, NULL, NULL,
                                        NULL, &next_off, &unit_type, &e);
        if (rc == DW_DLV_NO_ENTRY)
            return NULL;
        if (rc != DW_DLV_OK)
            return dw_error(L, "reading a compilation unit header", e);
        L->t->has_info = 1;
        L->addr_size = addr_size;
        Dwarf_Die cu;
        rc = dwarf_siblingof_b(L->dbg, NULL, 1, &cu, &e);
        if (rc == DW_DLV_ERROR)
            return dw_error(L, "reading a compilation unit DIE", e);
        if (rc != DW_DLV_OK)
            continue;
        struct retain_error *err = walk_unit(L, cu);
        dwarf_dealloc_die(cu);
        if (err)
            return err;
        L->cu_off = next_off;
    }
}

/* ---- stage 2: DIE offsets to indexes ---- */

static uint32_t resolve_ref(const struct loader *L, uint64_t ref)
{
    if (ref & DIRECT_REF)
        return (uint32_t)(ref & ~DIRECT_REF);
    if (ref == 0)
        return DWARF_TYPE_NONE;
    size_t lo = 0, hi = L->t->ntypes;   /* first type with DIE offset >= ref */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->type_die[mid] < ref)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->t->ntypes && L->type_die[lo] == ref ? (uint32_t)lo : DWARF_TYPE_NONE;
}

/* restrict, _Atomic and friends say nothing about layout: references to
 * them go to what they qualify. */
static uint32_t skip_aliases(const struct dwarf_types *t, uint32_t i)
{
    for (int n = 0; i != DWARF_TYPE_NONE && (t->types[i].flags & F_ALIAS) && n < MAX_CHAIN; n++)
        i = t->types[i].target;
    return i != DWARF_TYPE_NONE && (t->types[i].flags & F_ALIAS) ? DWARF_TYPE_NONE : i;
}

static const struct var_decl *find_decl(const struct loader *L, uint64_t off)
{
    size_t lo = 0, hi = L->ndecls;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (L->decls[mid].off < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < L->ndecls && L->decls[lo].off == off ? &L->decls[lo] : NULL;
}

static void resolve_types(struct loader *L)
{
    struct dwarf_types *t = L->t;
    for (size_t i = 0; i < t->ntypes; i++)
        t->types[i].target = resolve_ref(L, L->type_ref[i]);
    for (size_t i = 0; i < t->ntypes; i++)
        t->types[i].target = skip_aliases(t, t->types[i].target);
    for (size_t i = 0; i < t->nmembers; i++)
        t->members[i].type = skip_aliases(t, resolve_ref(L, L->member_ref[i]));
    /* Out-of-line class definitions take the name their declaration has. */
    for (size_t i = 0; i < L->nspecs; i++) {
        struct dtype *def = &t->types[L->specs[i].type];
        uint32_t decl = resolve_ref(L, L->specs[i].spec_off);
        if (def->name == NO_NAME && decl != DWARF_TYPE_NONE)
            def->name = t->types[decl].name;
    }
}

static int go_type_cmp(const void *a, const void *b)
{
    const struct dgo *x = a, *y = b;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* By runtime type, then DIE order (the first type of a runtime type wins). */
static int go_rtype_cmp(const void *a, const void *b)
{
    const struct go_rtype *x = a, *y = b;
    if (x->rtype != y->rtype)
        return x->rtype < y->rtype ? -1 : 1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* Go's attributes: references to indexes, and the index by runtime type. */
static struct retain_error *resolve_go(struct loader *L)
{
    struct dwarf_types *t = L->t;
    if (L->ngo == 0)
        return NULL;
    t->go = malloc(L->ngo * sizeof *t->go);
    t->go_by_rtype = malloc(L->ngo * sizeof *t->go_by_rtype);
    if (!t->go || !t->go_by_rtype)
        return oom(L, "Go types");
    int sorted = 1;
    for (size_t i = 0; i < L->ngo; i++) {
        const struct pending_go *g = &L->go[i];
        t->go[i] = (struct dgo){
            .rtype = g->rtype, .type = g->type, .kind = g->kind,
            .elem = skip_aliases(t, resolve_ref(L, g->elem_off)),
            .key = skip_aliases(t, resolve_ref(L, g->key_off)),
        };
        sorted = sorted && (i == 0 || t->go[i - 1].type < g->type);
    }
    t->ngo = L->ngo;
    if (!sorted)
        qsort(t->go, t->ngo, sizeof *t->go, go_type_cmp);
    for (size_t i = 0; i < t->ngo; i++)
        if (t->go[i].rtype)
            t->go_by_rtype[t->ngo_by_rtype++] = (struct go_rtype){ t->go[i].rtype, t->go[i].type };
    qsort(t->go_by_rtype, t->ngo_by_rtype, sizeof *t->go_by_rtype, go_rtype_cmp);
    return NULL;
}

static int global_cmp(const void *a, const void *b)
{
    const struct dglobal *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if ((x->type == DWARF_TYPE_NONE) != (y->type == DWARF_TYPE_NONE))
        return x->type == DWARF_TYPE_NONE ? 1 : -1;
    return x->name < y->name ? -1 : x->name > y->name;
}

/* A definition gets its name and type from its declaration when it lacks them. */
static struct retain_error *resolve_globals(struct loader *L)
{
    struct dwarf_types *t = L->t;
    t->globals = malloc((L->nglobals ? L->nglobals : 1) * sizeof *t->globals);
    if (!t->globals)
        return oom(L, "globals");
    for (size_t i = 0; i < L->nglobals; i++) {
        const struct pending_global *g = &L->globals[i];
        uint32_t name = g->name;
        uint64_t type_off = g->type_off, spec = g->spec_off;
        for (int n = 0; n < 4 && spec && (name == NO_NAME || !type_off); n++) {
            const struct var_decl *d = find_decl(L, spec);
            if (!d)
                break;
            name = name == NO_NAME ? d->name : name;
            type_off = type_off ? type_off : d->type_off;
            spec = d->spec_off;
        }
        if (name == NO_NAME)
            continue;
        t->globals[t->nglobals++] = (struct dglobal){
            .addr = g->addr, .size = 0, .name = name, .type = skip_aliases(t, resolve_ref(L, type_off)),
        };
    }
    return NULL;
}

/* ---- stage 3: names, declarations, sizes ---- */

struct sbuf {
    char *buf;
    size_t len, cap;
};

static void sb_put(struct sbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->len + n >= b->cap)
        n = b->cap - 1 - b->len;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static const char *aggregate_word(enum dwarf_kind k)
{
    return k == DK_STRUCT ? "struct" : k == DK_CLASS ? "class" : k == DK_UNION ? "union" : "enum";
}

/* The spelling of a type that has its own name: "struct node" in C,
 * "ns::Derived" in C++, "struct {...}" when anonymous. */
static void spell_base(const struct dwarf_types *t, uint32_t i, struct sbuf *b)
{
    const struct dtype *d = &t->types[i];
    enum dwarf_kind k = d->kind;
    if (is_aggregate(k) && (d->name == NO_NAME || (d->flags & F_C))) {
        sb_put(b, aggregate_word(k));
        sb_put(b, " ");
    }
    sb_put(b, d->name != NO_NAME ? pool_str(&t->pool, d->name) : is_aggregate(k) ? "{...}" : "?");
}

/* C declarator syntax: the type of `decl` is ty, e.g. ty = int[4] around
 * "*" gives "int (*)[4]". Raw names are read from types[].name. */
static void spell(const struct dwarf_types *t, uint32_t ty, const char *decl, struct sbuf *out, int depth)
{
    char inner[SPELL_MAX];
    const struct dtype *d = ty == DWARF_TYPE_NONE ? NULL : &t->types[ty];
    if (depth > MAX_CHAIN) {
        sb_put(out, "?");
        return;
    }
    if (!d || d->name != NO_NAME || d->kind == DK_BASE || is_aggregate(d->kind) || d->kind == DK_TYPEDEF ||
        d->kind == DK_OTHER) {
        if (d)
            spell_base(t, ty, out);
        else
            sb_put(out, "void");
        if (*decl) {
            sb_put(out, " ");
            sb_put(out, decl);
        }
        return;
    }
    int wrap = decl[0] == '*' || decl[0] == '&';
    switch (d->kind) {
    case DK_POINTER: case DK_REFERENCE: {
        const char *op = d->kind == DK_POINTER ? "*" : "&";
        snprintf(inner, sizeof inner, "%s%s%s", op, *decl && decl[0] != '*' && decl[0] != '&' &&
                 decl[0] != '[' && decl[0] != ')' ? " " : "", decl);
        spell(t, d->target, inner, out, depth + 1);
        return;
    }
    case DK_ARRAY: {
        char count[24] = "";
        if (d->count)
            snprintf(count, sizeof count, "%u", d->count);
        snprintf(inner, sizeof inner, "%s%s%s[%s]", wrap ? "(" : "", decl, wrap ? ")" : "", count);
        spell(t, d->target, inner, out, depth + 1);
        return;
    }
    case DK_FUNCTION:
        snprintf(inner, sizeof inner, "%s%s%s()", wrap ? "(" : "", decl, wrap ? ")" : "");
        spell(t, d->target, inner, out, depth + 1);
        return;
    case DK_CONST: case DK_VOLATILE: {
        const char *q = d->kind == DK_CONST ? "const" : "volatile";
        uint32_t tg = d->target;
        if (tg != DWARF_TYPE_NONE && (t->types[tg].kind == DK_POINTER || t->types[tg].kind == DK_REFERENCE) &&
            t->types[tg].name == NO_NAME) {
            snprintf(inner, sizeof inner, "%s%s%s", q, *decl ? " " : "", decl);   /* char * const */
            spell(t, tg, inner, out, depth + 1);
        } else {
            sb_put(out, q);                                                      /* const char */
            sb_put(out, " ");
            spell(t, tg, decl, out, depth + 1);
        }
        return;
    }
    default:
        sb_put(out, "?");
        return;
    }
}

/* Among types spelled the same, a definition beats a declaration. */
static int better_type(const struct dwarf_types *t, uint32_t a, uint32_t b)
{
    if (b == DWARF_TYPE_NONE)
        return 1;
    const struct dtype *x = &t->types[a], *y = &t->types[b];
    if ((x->flags & F_ALIAS) != (y->flags & F_ALIAS))
        return !(x->flags & F_ALIAS);
    if ((x->flags & F_DECL) != (y->flags & F_DECL))
        return !(x->flags & F_DECL);
    return 0;
}

static struct retain_error *spell_all(struct loader *L)
{
    struct dwarf_types *t = L->t;
    uint32_t *spelled = malloc((t->ntypes ? t->ntypes : 1) * sizeof *spelled);
    if (!spelled)
        return oom(L, "type names");
    char buf[SPELL_MAX];
    for (size_t i = 0; i < t->ntypes; i++) {
        struct sbuf b = { buf, 0, sizeof buf };
        buf[0] = '\0';
        spell(t, (uint32_t)i, "", &b, 0);
        spelled[i] = pool_add(&t->pool, buf, b.len);
        if (spelled[i] == NO_NAME) {
            free(spelled);
            return oom(L, "type names");
        }
    }
    for (size_t i = 0; i < t->ntypes; i++)
        t->types[i].name = spelled[i];
    free(spelled);
    struct strpool *p = &t->pool;
    p->best = malloc(p->nslots * sizeof *p->best);
    if (!p->best)
        return oom(L, "type names");
    memset(p->best, 0xff, p->nslots * sizeof *p->best);
    for (size_t i = 0; i < t->ntypes; i++) {
        const char *s = pool_str(p, t->types[i].name);
        size_t slot = pool_slot(p, s, strlen(s));
        if (better_type(t, (uint32_t)i, p->best[slot]))
            p->best[slot] = (uint32_t)i;
    }
    return NULL;
}

/* An incomplete "struct foo" takes the layout of a "struct foo" defined
 * elsewhere (another CU, or the same one later), as gdb does. */
static void complete_declarations(struct dwarf_types *t)
{
    struct strpool *p = &t->pool;
    for (size_t i = 0; i < t->ntypes; i++) {
        struct dtype *d = &t->types[i];
        if (!(d->flags & F_DECL) || !is_aggregate(d->kind))
            continue;
        uint32_t b = p->best[pool_find(p, pool_str(p, d->name))];
        if (b == DWARF_TYPE_NONE || (t->types[b].flags & F_DECL) || t->types[b].kind != d->kind)
            continue;
        d->size = t->types[b].size;
        d->first = t->types[b].first;
        d->count = t->types[b].count;
        d->flags &= (uint8_t)~F_DECL;
    }
}

/* Sizes of typedefs, qualifiers and arrays come from what they name. */
static uint32_t compute_size(struct dwarf_types *t, uint32_t i, uint8_t *done, int depth)
{
    struct dtype *d = &t->types[i];
    if (done[i] || depth > MAX_CHAIN)
        return d->size;
    done[i] = 1;
    uint32_t sub = d->target == DWARF_TYPE_NONE ? 0 : compute_size(t, d->target, done, depth + 1);
    switch (d->kind) {
    case DK_TYPEDEF: case DK_CONST: case DK_VOLATILE:
        d->size = sub;
        break;
    case DK_ARRAY: {
        uint64_t n = sub == SIZE_BIG ? UINT64_MAX : (uint64_t)d->count * sub;
        d->size = n >= SIZE_BIG ? SIZE_BIG : (uint32_t)n;
        break;
    }
    default:
        if (d->flags & F_ALIAS)
            d->size = sub;
        break;
    }
    return d->size;
}

static struct retain_error *compute_sizes(struct loader *L)
{
    struct dwarf_types *t = L->t;
    uint8_t *done = calloc(t->ntypes ? t->ntypes : 1, 1);
    if (!done)
        return oom(L, "type sizes");
    for (size_t i = 0; i < t->ntypes; i++)
        compute_size(t, (uint32_t)i, done, 0);
    free(done);
    for (size_t i = 0; i < t->nglobals; i++)
        t->globals[i].size = dwarf_type_size(t, t->globals[i].type);
    qsort(t->globals, t->nglobals, sizeof *t->globals, global_cmp);
    size_t n = 0;   /* one variable per address (inline and template statics repeat) */
    for (size_t i = 0; i < t->nglobals; i++)
        if (n == 0 || t->globals[n - 1].addr != t->globals[i].addr)
            t->globals[n++] = t->globals[i];
    t->nglobals = n;
    return NULL;
}

static struct retain_error *finish(struct loader *L)
{
    resolve_types(L);
    struct retain_error *err = resolve_globals(L);
    if (!err)
        err = resolve_go(L);
    if (!err)
        err = spell_all(L);
    if (err)
        return err;
    complete_declarations(L->t);
    err = compute_sizes(L);
    struct dwarf_types *t = L->t;
    shrink(&t->types, t->ntypes, sizeof *t->types);
    shrink(&t->members, t->nmembers, sizeof *t->members);
    shrink(&t->globals, t->nglobals, sizeof *t->globals);
    shrink(&t->pool.chars, t->pool.len, 1);
    return err;
}

/* ---- opening files ---- */

static void loader_free(struct loader *L)
{
    free(L->type_die);
    free(L->type_ref);
    free(L->member_ref);
    free(L->stack);
    free(L->decls);
    free(L->globals);
    free(L->specs);
    free(L->go);
}

/* ---- handing libdwarf the sections ---- */

/* The sections libdwarf sees. The others (.debug_rnglists, .debug_loclists,
 * .debug_line...) hold nothing read here, and libdwarf 20210528 parses some
 * of them eagerly: it costs time and memory, and a corrupt .debug_rnglists
 * makes it free memory twice. */
static const char *const wanted_sections[] = {
    ".debug_info", ".debug_abbrev", ".debug_str", ".debug_line_str", ".debug_str_offsets", ".debug_addr",
};
#define NSECTIONS (1 + sizeof wanted_sections / sizeof wanted_sections[0])
#define INFLATE_MAX ((uint64_t)4 << 30)   /* refuse to inflate a section beyond 4 GiB */

/* What libdwarf reads through the object-access methods below. Section 0
 * is the null section, as in ELF. */
struct dwarf_object {
    unsigned count;
    const char *names[NSECTIONS];
    const uint8_t *data[NSECTIONS];
    uint64_t size[NSECTIONS];
    uint8_t *inflated[NSECTIONS];       /* decompressed copies we own */
};

static int obj_section_info(void *obj, Dwarf_Half i, Dwarf_Obj_Access_Section *sec, int *error)
{
    const struct dwarf_object *o = obj;
    (void)error;
    if (i >= o->count)
        return DW_DLV_NO_ENTRY;
    memset(sec, 0, sizeof *sec);
    sec->type = i ? SHT_PROGBITS : SHT_NULL;
    sec->size = o->size[i];
    sec->name = i ? o->names[i] : "";
    return DW_DLV_OK;
}

static Dwarf_Endianness obj_byte_order(void *obj)
{
    (void)obj;
    return DW_OBJECT_LSB;
}

static Dwarf_Small obj_length_size(void *obj)
{
    (void)obj;
    return 8;   /* what libdwarf's own ELF64 reader says */
}

static Dwarf_Small obj_pointer_size(void *obj)
{
    (void)obj;
    return 8;
}

static Dwarf_Unsigned obj_section_count(void *obj)
{
    return ((const struct dwarf_object *)obj)->count;
}

static int obj_load_section(void *obj, Dwarf_Half i, Dwarf_Small **data, int *error)
{
    const struct dwarf_object *o = obj;
    (void)error;
    if (i == 0 || i >= o->count || o->size[i] == 0)
        return DW_DLV_NO_ENTRY;
    *data = (Dwarf_Small *)o->data[i];   /* libdwarf only writes when relocating */
    return DW_DLV_OK;
}

static const Dwarf_Obj_Access_Methods object_methods = {
    obj_section_info, obj_byte_order, obj_length_size, obj_pointer_size, obj_section_count, obj_load_section,
    NULL,
};

/* SHF_COMPRESSED: an Elf64_Chdr, then zlib data. */
static struct retain_error *inflate_section(const char *path, const struct elf_section *sec, uint8_t **out_ret,
                                            uint64_t *size_ret)
{
    Elf64_Chdr ch;
    if (sec->size < sizeof ch)
        return retain_errorf("%s: compressed section %s is truncated", path, sec->name);
    memcpy(&ch, sec->data, sizeof ch);
    if (ch.ch_type != ELFCOMPRESS_ZLIB)
        return retain_errorf("%s: section %s uses unknown compression %u", path, sec->name, ch.ch_type);
    /* zlib cannot expand more than about 1032:1 */
    if (ch.ch_size == 0 || ch.ch_size > INFLATE_MAX || ch.ch_size / 1032 > sec->size)
        return retain_errorf("%s: section %s claims %llu bytes uncompressed", path, sec->name,
                             (unsigned long long)ch.ch_size);
    uint8_t *out = malloc(ch.ch_size);
    if (!out)
        return retain_errorf("%s: out of memory inflating %s", path, sec->name);
    uLongf len = (uLongf)ch.ch_size;
    int rc = uncompress(out, &len, sec->data + sizeof ch, (uLong)(sec->size - sizeof ch));
    if (rc != Z_OK || len != ch.ch_size) {
        free(out);
        return retain_errorf("%s: section %s does not inflate (zlib error %d)", path, sec->name, rc);
    }
    *out_ret = out;
    *size_ret = ch.ch_size;
    return NULL;
}

static void object_free(struct dwarf_object *o)
{
    for (unsigned i = 0; i < NSECTIONS; i++)
        free(o->inflated[i]);
    memset(o, 0, sizeof *o);
}

/* Collects the wanted sections of file; o->count stays 0 without .debug_info. */
static struct retain_error *object_setup(const char *path, const struct elf_file *file, struct dwarf_object *o)
{
    memset(o, 0, sizeof *o);
    struct elf_section sec;
    unsigned n = 1;
    for (size_t k = 0; k < sizeof wanted_sections / sizeof wanted_sections[0]; k++) {
        int rc = elf_file_section(file, wanted_sections[k], &sec);
        if (rc == -2) {
            object_free(o);
            return retain_errorf("%s: section %s lies outside the file", path, wanted_sections[k]);
        }
        if (rc != 0 || sec.size == 0) {
            if (k == 0)
                return NULL;   /* no .debug_info: no DWARF here */
            continue;
        }
        o->names[n] = wanted_sections[k];
        o->data[n] = sec.data;
        o->size[n] = sec.size;
        if (sec.flags & SHF_COMPRESSED) {
            struct retain_error *err = inflate_section(path, &sec, &o->inflated[n], &o->size[n]);
            if (err) {
                object_free(o);
                return err;
            }
            o->data[n] = o->inflated[n];
        }
        n++;
    }
    o->count = n;
    return NULL;
}

/* Walks the DWARF of one open ELF file into t. */
static struct retain_error *load_object(const char *path, uint64_t bias, const struct elf_file *file,
                                        struct dwarf_types *t)
{
    struct dwarf_object obj;
    struct retain_error *err = object_setup(path, file, &obj);
    if (err || obj.count == 0)
        return err;
    Dwarf_Obj_Access_Interface iface = { &obj, &object_methods };
    Dwarf_Debug dbg = NULL;
    Dwarf_Error e = NULL;
    int rc = dwarf_object_init_b(&iface, NULL, NULL, DW_GROUPNUMBER_ANY, &dbg, &e);
    if (rc != DW_DLV_OK) {
        if (rc == DW_DLV_ERROR)
            err = retain_errorf("%s: cannot read DWARF: %s", path, e ? dwarf_errmsg(e) : "unknown libdwarf error");
        if (e)
            dwarf_dealloc(NULL, e, DW_DLA_ERROR);
        object_free(&obj);
        return err;
    }
    struct loader *L = calloc(1, sizeof *L);
    if (L) {
        *L = (struct loader){ .dbg = dbg, .path = path, .bias = bias, .t = t };
        err = walk_units(L);
    } else {
        err = retain_errorf("%s: out of memory", path);
    }
    e = NULL;
    dwarf_object_finish(dbg, &e);
    object_free(&obj);   /* libdwarf is done with the sections */
    if (!err)
        err = finish(L);
    if (L)
        loader_free(L);
    free(L);
    return err;
}

static struct retain_error *load_file(const char *path, uint64_t bias, struct dwarf_types *t)
{
    struct elf_file *file;
    struct retain_error *err = elf_file_open(path, &file);
    if (err)
        return err;
    err = load_object(path, bias, file, t);
    elf_file_close(file);
    return err;
}

static void types_free(struct dwarf_types *t)
{
    free(t->types);
    free(t->members);
    free(t->globals);
    free(t->pool.chars);
    free(t->pool.slots);
    free(t->pool.best);
    free(t->spans);
    free(t->lfields);
    free(t->go);
    free(t->go_by_rtype);
    memset(t, 0, sizeof *t);
}

struct retain_error *dwarf_types_load(const char *path, uint64_t bias, struct dwarf_types **types_ret)
{
    struct dwarf_types *t = calloc(1, sizeof *t);
    if (!t)
        return retain_errorf("%s: out of memory", path);
    struct retain_error *err = load_file(path, bias, t);
    if (!err && !t->has_info) {
        /* Distribution binaries keep their DWARF in a separate file. */
        char debug[4096];
        if (elf_debug_file(path, debug, sizeof debug) == 0) {
            types_free(t);
            err = load_file(debug, bias, t);
        }
    }
    if (err) {
        dwarf_types_destroy(t);
        return err;
    }
    *types_ret = t;
    return NULL;
}

void dwarf_types_destroy(struct dwarf_types *types)
{
    if (!types)
        return;
    types_free(types);
    free(types);
}

int dwarf_types_has_info(const struct dwarf_types *types)
{
    return types && types->has_info;
}

size_t dwarf_types_count(const struct dwarf_types *types)
{
    return types ? types->ntypes : 0;
}

size_t dwarf_types_memory(const struct dwarf_types *types)
{
    if (!types)
        return 0;
    const struct strpool *p = &types->pool;
    return sizeof *types + types->ntypes * sizeof *types->types + types->nmembers * sizeof *types->members +
           types->nglobals * sizeof *types->globals + p->len + p->nslots * (sizeof *p->slots + sizeof *p->best) +
           (types->spans ? types->ntypes * sizeof *types->spans : 0) + types->lfields_cap * sizeof *types->lfields +
           types->ngo * (sizeof *types->go + sizeof *types->go_by_rtype);
}

/* ---- queries ---- */

static int valid(const struct dwarf_types *t, uint32_t type)
{
    return t && type < t->ntypes;
}

int dwarf_global_at(const struct dwarf_types *types, uint64_t addr, const char **name_ret, uint32_t *type_ret,
                    uint64_t *offset_ret)
{
    if (!types || !types->nglobals)
        return -1;
    size_t lo = 0, hi = types->nglobals;   /* first global above addr */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (types->globals[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return -1;
    const struct dglobal *g = &types->globals[lo - 1];
    uint64_t size = g->size ? g->size : 1;
    if (addr - g->addr >= size)
        return -1;
    if (name_ret)
        *name_ret = pool_str(&types->pool, g->name);
    if (type_ret)
        *type_ret = g->type;
    if (offset_ret)
        *offset_ret = addr - g->addr;
    return 0;
}

enum dwarf_kind dwarf_type_kind(const struct dwarf_types *types, uint32_t type)
{
    return valid(types, type) ? (enum dwarf_kind)types->types[type].kind : DK_OTHER;
}

/* Sizes are stored in 32 bits; an array beyond that (SIZE_BIG) is
 * recomputed from its element size, which nests at most MAX_CHAIN deep. */
static uint64_t size_rec(const struct dwarf_types *t, uint32_t type, int depth)
{
    if (!valid(t, type))
        return 0;
    if (t->types[type].size != SIZE_BIG || depth > MAX_CHAIN)
        return t->types[type].size;
    const struct dtype *d = &t->types[dwarf_type_strip(t, type)];
    if (d->kind != DK_ARRAY)
        return SIZE_BIG;
    uint64_t elem = size_rec(t, d->target, depth + 1);
    return elem && d->count > UINT64_MAX / elem ? UINT64_MAX : elem * d->count;
}

uint64_t dwarf_type_size(const struct dwarf_types *types, uint32_t type)
{
    return size_rec(types, type, 0);
}

const char *dwarf_type_name(const struct dwarf_types *types, uint32_t type)
{
    if (!valid(types, type))
        return type == DWARF_TYPE_NONE ? "void" : "?";
    return pool_str(&types->pool, types->types[type].name);
}

uint32_t dwarf_type_strip(const struct dwarf_types *types, uint32_t type)
{
    for (int n = 0; valid(types, type) && n < MAX_CHAIN; n++) {
        const struct dtype *d = &types->types[type];
        if (d->kind != DK_TYPEDEF && d->kind != DK_CONST && d->kind != DK_VOLATILE && !(d->flags & F_ALIAS))
            return type;
        type = d->target;
    }
    return valid(types, type) ? type : DWARF_TYPE_NONE;
}

uint32_t dwarf_type_target(const struct dwarf_types *types, uint32_t type)
{
    if (!valid(types, type))
        return DWARF_TYPE_NONE;
    const struct dtype *d = &types->types[type];
    switch (d->kind) {
    case DK_POINTER: case DK_REFERENCE: case DK_ARRAY: case DK_TYPEDEF: case DK_CONST: case DK_VOLATILE:
        return valid(types, d->target) ? d->target : DWARF_TYPE_NONE;
    default:
        return DWARF_TYPE_NONE;
    }
}

static uint32_t lookup_exact(const struct dwarf_types *t, const char *name)
{
    size_t slot = pool_find(&t->pool, name);
    return slot == SIZE_MAX || !t->pool.best ? DWARF_TYPE_NONE : t->pool.best[slot];
}

/* "struct node" also finds C++'s "node", and "node" also finds C's "struct node". */
static uint32_t lookup_variants(const struct dwarf_types *t, const char *name)
{
    static const char *const words[] = { "struct ", "class ", "union ", "enum " };
    uint32_t r = lookup_exact(t, name);
    char buf[SPELL_MAX];
    for (size_t i = 0; r == DWARF_TYPE_NONE && i < sizeof words / sizeof words[0]; i++) {
        size_t n = strlen(words[i]);
        if (strncmp(name, words[i], n) == 0)
            r = lookup_exact(t, name + n);
        else if ((size_t)snprintf(buf, sizeof buf, "%s%s", words[i], name) < sizeof buf)
            r = lookup_exact(t, buf);
    }
    return r;
}

static int ident_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':' ||
           c == '>';
}

/* Rewrites spacing the way names are spelled here: "struct node*" and
 * "char*const" become "struct node *" and "char * const". */
static int normalize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    char prev = 0;
    for (const char *p = in; *p; p++) {
        char c = *p;
        if (c == ' ' || c == '\t')
            continue;
        int space = (p > in && (p[-1] == ' ' || p[-1] == '\t') && ident_char(prev) && ident_char(c)) ||
                    (ident_char(prev) && !strchr(":>", prev) && (c == '*' || c == '&' || c == '(' || c == '[')) ||
                    (prev == '>' && (c == '*' || c == '&')) || ((prev == '*' || prev == '&') && ident_char(c));
        if (n + 2 >= cap)
            return -1;
        if (space)
            out[n++] = ' ';
        out[n++] = c;
        prev = c;
    }
    out[n] = '\0';
    return 0;
}

uint32_t dwarf_type_by_name(const struct dwarf_types *types, const char *name)
{
    if (!types || !name)
        return DWARF_TYPE_NONE;
    uint32_t r = lookup_variants(types, name);
    char buf[SPELL_MAX];
    if (r == DWARF_TYPE_NONE && normalize(name, buf, sizeof buf) == 0 && strcmp(buf, name) != 0)
        r = lookup_variants(types, buf);
    return r;
}

/* ---- naming a word inside an object ---- */

struct field_result {
    uint32_t word;
    uint32_t pointee;
    uint32_t depth;      /* nest level of the innermost object the path reaches */
};

/* One dwarf_field_at: the path being written and the nest being recorded. */
struct field_walk {
    const struct dwarf_types *t;
    char *buf;
    size_t buflen;
    unsigned steps;      /* field_rec calls so far (FIELD_STEPS) */
    uint64_t word;       /* offset of the word from the start of the top object */
    int64_t index;       /* array index of the object field_rec enters next, or -1 */
    struct dwarf_nest *nest;    /* NULL when not wanted */
};

_Static_assert(DWARF_NEST_MAX > MAX_CHAIN + 1, "a nest level per field_rec depth");

static void path_put(char *buf, size_t buflen, size_t *len, const char *s)
{
    size_t n = strlen(s);
    if (*len + n >= buflen)
        n = *len < buflen ? buflen - 1 - *len : 0;
    memcpy(buf + *len, s, n);
    *len += n;
    buf[*len] = '\0';
}

static int is_pointer_kind(enum dwarf_kind k)
{
    return k == DK_POINTER || k == DK_REFERENCE;
}

/* field_rec calls one dwarf_field_at makes before it stops comparing
 * members. A union's members all cover its offsets and each is followed, so
 * nested unions cost (members + 1) to the power of their depth: 14 levels of
 * a 3-member union took seconds, a corrupt member of its own type
 * 4^MAX_CHAIN (fuzz/regressions/dwarf/nested-unions.txt). Past the budget
 * each class takes the first typed member found so far, else the first that
 * covers the offset: one path down, no more search. */
#define FIELD_STEPS 65536

static int field_rec(struct field_walk *w, uint32_t type, uint64_t off, size_t len, struct field_result *r,
                     int depth);

/* Appends ".member" (".Base" for a base class, nothing for an anonymous
 * member) and names the word inside it. */
static int member_path(struct field_walk *w, const struct dmember *m, uint64_t off, size_t len,
                       struct field_result *r, int depth)
{
    const struct dwarf_types *t = w->t;
    const char *name = m->flags & M_BASE ? dwarf_type_name(t, m->type) : pool_str(&t->pool, m->name);
    if (name) {
        path_put(w->buf, w->buflen, &len, ".");
        path_put(w->buf, w->buflen, &len, name);
    }
    return field_rec(w, m->type, off - m->offset, len, r, depth + 1);
}

/* The member covering off: the first whose word is a pointer, else the
 * first with a typed word. When none has a typed word there (padding,
 * bitfields, empty bases) the path stops at this object. */
static int field_in_class(struct field_walk *w, const struct dtype *d, uint64_t off, size_t len,
                          struct field_result *r, int depth)
{
    const struct dwarf_types *t = w->t;
    int64_t typed = -1;
    int covered = 0;
    for (uint32_t k = 0; k < d->count; k++) {
        const struct dmember *m = &t->members[d->first + k];
        if (m->flags & M_BITFIELD || off < m->offset)
            continue;
        uint32_t mt = dwarf_type_strip(t, m->type);
        uint64_t size = dwarf_type_size(t, m->type);
        int open_ended = mt != DWARF_TYPE_NONE && t->types[mt].kind == DK_ARRAY && t->types[mt].count == 0;
        if (!open_ended && off - m->offset >= size)
            continue;
        if (w->steps > FIELD_STEPS)
            return member_path(w, &t->members[d->first + (uint32_t)(typed >= 0 ? typed : k)], off, len, r, depth);
        struct field_result sub;
        if (member_path(w, m, off, len, &sub, depth) != 0)
            continue;
        covered = 1;
        if (sub.pointee != DWARF_TYPE_NONE ||
            (sub.word != DWARF_TYPE_NONE && is_pointer_kind(dwarf_type_kind(t, dwarf_type_strip(t, sub.word))))) {
            *r = sub;
            return 0;
        }
        if (sub.word != DWARF_TYPE_NONE && typed < 0)
            typed = k;
    }
    if (typed >= 0)
        return member_path(w, &t->members[d->first + (uint32_t)typed], off, len, r, depth);
    w->buf[len < w->buflen ? len : w->buflen - 1] = '\0';
    r->word = r->pointee = DWARF_TYPE_NONE;
    r->depth = (uint32_t)depth;
    return covered || off < dwarf_type_size(t, (uint32_t)(d - t->types)) ? 0 : -1;
}

static int field_rec(struct field_walk *w, uint32_t type, uint64_t off, size_t len, struct field_result *r,
                     int depth)
{
    const struct dwarf_types *t = w->t;
    uint32_t s = dwarf_type_strip(t, type);
    r->word = r->pointee = DWARF_TYPE_NONE;
    r->depth = (uint32_t)depth;
    ++w->steps;
    if (!valid(t, s) || depth > MAX_CHAIN)
        return -1;
    /* This level of the nest; deeper levels overwrite what failed attempts left. */
    if (w->nest)
        w->nest[depth] = (struct dwarf_nest){ type, (uint32_t)(len < w->buflen ? len : w->buflen - 1),
                                              w->word - off, w->index };
    w->index = -1;
    const struct dtype *d = &t->types[s];
    switch (d->kind) {
    case DK_STRUCT: case DK_CLASS: case DK_UNION:
        return field_in_class(w, d, off, len, r, depth);
    case DK_ARRAY: {
        uint64_t es = dwarf_type_size(t, d->target);
        if (es == 0 || (d->count && off / es >= d->count))
            return -1;
        char idx[32];
        snprintf(idx, sizeof idx, "[%llu]", (unsigned long long)(off / es));
        path_put(w->buf, w->buflen, &len, idx);
        w->index = (int64_t)(off / es);
        return field_rec(w, d->target, off % es, len, r, depth + 1);
    }
    default:
        if (off >= (d->size ? d->size : 1))
            return -1;
        if (off == 0) {
            r->word = type;
            if (is_pointer_kind(d->kind))
                r->pointee = dwarf_type_strip(t, d->target);
        }
        return 0;
    }
}

/* The walk behind dwarf_field_at and dwarf_field_info; nest may be NULL. */
static int field_walk(const struct dwarf_types *types, uint32_t type, uint64_t offset, char *buf, size_t buflen,
                      struct dwarf_nest *nest, struct field_result *r)
{
    *r = (struct field_result){ DWARF_TYPE_NONE, DWARF_TYPE_NONE, 0 };
    if (!buf || buflen == 0)
        return -1;
    buf[0] = '\0';
    struct field_walk w = { .t = types, .buf = buf, .buflen = buflen, .steps = 0, .word = offset, .index = -1,
                            .nest = nest };
    if (!valid(types, type) || field_rec(&w, type, offset, 0, r, 0) != 0) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

int dwarf_field_at(const struct dwarf_types *types, uint32_t type, uint64_t offset, char *buf, size_t buflen,
                   uint32_t *word_type_ret, uint32_t *pointee_ret)
{
    struct field_result r;
    if (field_walk(types, type, offset, buf, buflen, NULL, &r) != 0)
        return -1;
    if (word_type_ret)
        *word_type_ret = r.word;
    if (pointee_ret)
        *pointee_ret = r.pointee;
    return 0;
}

int dwarf_field_info(const struct dwarf_types *types, uint32_t type, uint64_t offset, char *buf, size_t buflen,
                     struct dwarf_field *ret)
{
    struct field_result r;
    ret->nnest = 0;
    ret->word = ret->pointee = DWARF_TYPE_NONE;
    if (field_walk(types, type, offset, buf, buflen, ret->nest, &r) != 0)
        return -1;
    ret->word = r.word;
    ret->pointee = r.pointee;
    ret->nnest = r.depth + 1;
    return 0;
}

int dwarf_member(const struct dwarf_types *types, uint32_t type, const char *name, uint64_t *offset_ret,
                 uint32_t *type_ret)
{
    uint32_t s = dwarf_type_strip(types, type);
    if (!valid(types, s) || !name)
        return -1;
    const struct dtype *d = &types->types[s];
    if (d->kind != DK_STRUCT && d->kind != DK_CLASS && d->kind != DK_UNION)
        return -1;
    for (uint32_t k = 0; k < d->count; k++) {
        const struct dmember *m = &types->members[d->first + k];
        const char *n = pool_str(&types->pool, m->name);
        if (!n || (m->flags & M_BASE) || strcmp(n, name) != 0 || m->offset == UINT32_MAX)
            continue;
        if (offset_ret)
            *offset_ret = m->offset;
        if (type_ret)
            *type_ret = m->type;
        return 0;
    }
    return -1;
}

/* ---- Go ---- */

int dwarf_type_is_go(const struct dwarf_types *types, uint32_t type)
{
    return valid(types, type) && (types->types[type].flags & F_GO);
}

static const struct dgo *go_info(const struct dwarf_types *t, uint32_t type)
{
    size_t lo = 0, hi = t->ngo;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->go[mid].type < type)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < t->ngo && t->go[lo].type == type ? &t->go[lo] : NULL;
}

/* The first Go attributes along type's typedefs and qualifiers: Go's named
 * types are typedefs of typedefs ("context.Context" -> "context.Context"
 * with kind 20 -> runtime.iface). */
static const struct dgo *go_info_along(const struct dwarf_types *t, uint32_t type)
{
    for (int n = 0; valid(t, type) && n < MAX_CHAIN; n++) {
        const struct dgo *g = go_info(t, type);
        if (g && g->kind)
            return g;
        const struct dtype *d = &t->types[type];
        if (d->kind != DK_TYPEDEF && d->kind != DK_CONST && d->kind != DK_VOLATILE && !(d->flags & F_ALIAS))
            return g;
        type = d->target;
    }
    return NULL;
}

enum go_kind dwarf_go_kind(const struct dwarf_types *types, uint32_t type)
{
    const struct dgo *g = types ? go_info_along(types, type) : NULL;
    return g ? (enum go_kind)g->kind : GO_KIND_NONE;
}

uint32_t dwarf_go_elem(const struct dwarf_types *types, uint32_t type)
{
    const struct dgo *g = types ? go_info_along(types, type) : NULL;
    return g && valid(types, g->elem) ? g->elem : DWARF_TYPE_NONE;
}

uint32_t dwarf_go_key(const struct dwarf_types *types, uint32_t type)
{
    const struct dgo *g = types ? go_info_along(types, type) : NULL;
    return g && valid(types, g->key) ? g->key : DWARF_TYPE_NONE;
}

uint32_t dwarf_go_type_by_runtime(const struct dwarf_types *types, uint64_t offset)
{
    if (!types || offset == 0)
        return DWARF_TYPE_NONE;
    size_t lo = 0, hi = types->ngo_by_rtype;   /* the first entry with rtype >= offset */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (types->go_by_rtype[mid].rtype < offset)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < types->ngo_by_rtype && types->go_by_rtype[lo].rtype == offset && valid(types, types->go_by_rtype[lo].type))
        return types->go_by_rtype[lo].type;
    return DWARF_TYPE_NONE;
}

uint64_t dwarf_go_runtime_offset(const struct dwarf_types *types, uint32_t type)
{
    for (int n = 0; types && valid(types, type) && n < MAX_CHAIN; n++) {
        const struct dgo *g = go_info(types, type);
        if (g && g->rtype)
            return g->rtype;
        const struct dtype *d = &types->types[type];
        if (d->kind != DK_TYPEDEF && d->kind != DK_CONST && d->kind != DK_VOLATILE && !(d->flags & F_ALIAS))
            return 0;
        type = d->target;
    }
    return 0;
}

size_t dwarf_go_runtime_types(const struct dwarf_types *types)
{
    return types ? types->ngo_by_rtype : 0;
}

/* ---- pointer layouts ---- */

enum { LAYOUT_NONE = 0, LAYOUT_BUSY = 1, LAYOUT_DONE = 2, LAYOUT_TRUNCATED = 4 };
#define LAYOUT_TOTAL ((size_t)1 << 22)   /* fields kept for all the table's layouts together */

struct lfield_seq {      /* a field and the order it was found in, for a stable sort */
    struct dwarf_ptr_field f;
    uint32_t seq;
};

struct lvec {            /* a layout being built */
    struct lfield_seq *v;
    size_t n, cap;
    int truncated;
};

static int lvec_push(struct lvec *l, uint64_t offset, uint32_t pointee)
{
    if (offset > UINT32_MAX - 8)
        return 0;        /* beyond what a 32-bit offset says: no block is that large anyway */
    if (l->n >= DWARF_LAYOUT_MAX) {
        l->truncated = 1;
        return 0;
    }
    if (grow(&l->v, &l->cap, l->n + 1, sizeof *l->v) != 0)
        return -1;
    l->v[l->n] = (struct lfield_seq){ { (uint32_t)offset, pointee }, (uint32_t)l->n };
    l->n++;
    return 0;
}

/* The pointee of a pointer whose target is `target`, if it names a type:
 * not void, not a function, not a pointer to functions (a vtable pointer). */
static uint32_t useful_pointee(const struct dwarf_types *t, uint32_t target)
{
    uint32_t p = dwarf_type_strip(t, target);
    if (!valid(t, p))
        return DWARF_TYPE_NONE;
    enum dwarf_kind k = (enum dwarf_kind)t->types[p].kind;
    if (k == DK_FUNCTION)
        return DWARF_TYPE_NONE;
    if (is_pointer_kind(k)) {
        uint32_t q = dwarf_type_strip(t, t->types[p].target);
        if (valid(t, q) && t->types[q].kind == DK_FUNCTION)
            return DWARF_TYPE_NONE;
    }
    return p;
}

static int layout_build(struct dwarf_types *t, uint32_t s, int depth);

/* Appends the layout of `sub` (stripped), `times` times: at base, base + stride... */
static int layout_append(struct dwarf_types *t, struct lvec *l, uint32_t sub, uint64_t base, uint64_t stride,
                         uint64_t times, int depth)
{
    if (layout_build(t, sub, depth + 1) != 0)
        return -1;
    const struct layout_span *sp = &t->spans[sub];   /* spans never move; lfields do, but not below */
    if (sp->state & LAYOUT_TRUNCATED)
        l->truncated = 1;
    for (uint64_t k = 0; k < times && sp->count && !l->truncated; k++) {
        for (uint32_t i = 0; i < sp->count && !l->truncated; i++) {
            const struct dwarf_ptr_field *f = &t->lfields[sp->first + i];
            if (lvec_push(l, base + k * stride + f->offset, f->pointee) != 0)
                return -1;
        }
    }
    return 0;
}

static int lfield_cmp(const void *a, const void *b)
{
    const struct lfield_seq *x = a, *y = b;
    if (x->f.offset != y->f.offset)
        return x->f.offset < y->f.offset ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Sorts by offset, keeps the first field found at each offset, stores the layout of s. */
static int layout_store(struct dwarf_types *t, uint32_t s, struct lvec *l)
{
    int sorted = 1;
    for (size_t i = 1; i < l->n && sorted; i++)
        sorted = l->v[i - 1].f.offset < l->v[i].f.offset;
    if (!sorted)
        qsort(l->v, l->n, sizeof *l->v, lfield_cmp);
    size_t n = 0;
    for (size_t i = 0; i < l->n; i++)
        if (n == 0 || l->v[n - 1].f.offset != l->v[i].f.offset)
            l->v[n++] = l->v[i];
    if (t->nlfields + n > LAYOUT_TOTAL) {   /* hostile DWARF: many huge layouts */
        n = t->nlfields < LAYOUT_TOTAL ? LAYOUT_TOTAL - t->nlfields : 0;
        l->truncated = 1;
    }
    if (grow(&t->lfields, &t->lfields_cap, t->nlfields + n, sizeof *t->lfields) != 0)
        return -1;
    struct layout_span *sp = &t->spans[s];
    sp->first = (uint32_t)t->nlfields;
    sp->count = (uint32_t)n;
    for (size_t i = 0; i < n; i++)
        t->lfields[t->nlfields++] = l->v[i].f;
    sp->state = (uint8_t)(LAYOUT_DONE | (l->truncated ? LAYOUT_TRUNCATED : 0));
    return 0;
}

/* Builds the layout of stripped type s once. A type that contains itself
 * (only corrupt DWARF does) contributes nothing where it recurs. */
static int layout_build(struct dwarf_types *t, uint32_t s, int depth)
{
    struct layout_span *sp = &t->spans[s];
    if (sp->state != LAYOUT_NONE || depth > MAX_CHAIN)
        return 0;
    sp->state = LAYOUT_BUSY;
    struct lvec l = { NULL, 0, 0, 0 };
    const struct dtype d = t->types[s];
    int rc = 0;
    switch (d.kind) {
    case DK_POINTER: case DK_REFERENCE: {
        uint32_t p = useful_pointee(t, d.target);
        if (p != DWARF_TYPE_NONE)
            rc = lvec_push(&l, 0, p);
        break;
    }
    case DK_STRUCT: case DK_CLASS: case DK_UNION:
        for (uint32_t k = 0; k < d.count && rc == 0 && !l.truncated; k++) {
            const struct dmember m = t->members[d.first + k];
            uint32_t mt = dwarf_type_strip(t, m.type);
            if ((m.flags & M_BITFIELD) || m.offset == UINT32_MAX || !valid(t, mt))
                continue;
            rc = layout_append(t, &l, mt, m.offset, 0, 1, depth);
        }
        break;
    case DK_ARRAY: {
        uint32_t et = dwarf_type_strip(t, d.target);
        uint64_t es = dwarf_type_size(t, et);
        if (valid(t, et) && es && d.count)
            rc = layout_append(t, &l, et, 0, es, d.count, depth);
        break;
    }
    default:
        break;
    }
    if (rc == 0)
        rc = layout_store(t, s, &l);
    if (rc != 0)
        sp->state = LAYOUT_NONE;
    free(l.v);
    return rc;
}

int dwarf_type_layout(struct dwarf_types *types, uint32_t type, struct dwarf_layout *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->tail_elem = DWARF_TYPE_NONE;
    uint32_t s = dwarf_type_strip(types, type);
    if (!valid(types, s))
        return -1;
    if (!types->spans && !(types->spans = calloc(types->ntypes, sizeof *types->spans)))
        return -1;
    if (layout_build(types, s, 0) != 0)
        return -1;
    const struct layout_span *sp = &types->spans[s];
    ret->fields = sp->count ? types->lfields + sp->first : NULL;
    ret->nfields = sp->count;
    ret->truncated = (sp->state & LAYOUT_TRUNCATED) != 0;
    ret->size = dwarf_type_size(types, s);
    /* A flexible array member: the last member, an array of unknown length. */
    const struct dtype *d = &types->types[s];
    if (d->kind != DK_STRUCT && d->kind != DK_CLASS)
        return 0;
    const struct dmember *last = NULL;
    for (uint32_t k = 0; k < d->count; k++) {
        const struct dmember *m = &types->members[d->first + k];
        if (!(m->flags & M_BITFIELD) && m->offset != UINT32_MAX && (!last || m->offset >= last->offset))
            last = m;
    }
    uint32_t mt = last ? dwarf_type_strip(types, last->type) : DWARF_TYPE_NONE;
    if (valid(types, mt) && types->types[mt].kind == DK_ARRAY && types->types[mt].count == 0) {
        uint32_t et = dwarf_type_strip(types, types->types[mt].target);
        if (valid(types, et) && dwarf_type_size(types, et) > 0) {
            ret->tail_elem = et;
            ret->tail_offset = last->offset;
        }
    }
    return 0;
}
