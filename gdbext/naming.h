/* Names for what a chain passes through: which object file holds an
 * address, its ELF symbol, its DWARF variable and type, the field at an
 * offset, and a block's dynamic C++ type from its vtable pointer. DWARF is
 * loaded lazily, per object file, the first time a name is wanted there. */
#ifndef RETAIN_NAMING_H
#define RETAIN_NAMING_H

#include <stddef.h>
#include <stdint.h>
#include "dwarf.h"
#include "elfsym.h"
#include "error.h"
#include "memory.h"

#define OBJ_NONE UINT32_MAX

struct type_ref { uint32_t obj, type; };    /* obj == OBJ_NONE: unknown */

struct objfile {
    char *path;
    uint64_t lo, hi, bias;
    struct elf_symbols *syms;     /* NULL if unreadable */
    struct dwarf_types *types;    /* loaded on first use */
    int dwarf_tried;
    char *dwarf_error;            /* why DWARF could not be read, if so */
};

struct naming {
    struct objfile *objs; uint32_t n, cap;
};

void naming_init(struct naming *nm);
void naming_deinit(struct naming *nm);
/* Every file-backed mapping's object, its address range and load bias. The
 * first executable mapping's object is searched first for type names. */
struct retain_error *naming_add_mappings(struct naming *nm, const struct mapping *maps, size_t nmaps);

uint32_t naming_objfile_at(const struct naming *nm, uint64_t addr);

struct global_name {
    const char *symbol;    /* ELF symbol, NULL if none */
    uint64_t offset;       /* addr - symbol (or - variable) */
    const char *var;       /* DWARF variable (usually == symbol) */
    struct type_ref type;  /* the variable's type */
    uint32_t obj;
};
void naming_global(struct naming *nm, uint64_t addr, struct global_name *ret);

struct type_ref naming_type_by_name(struct naming *nm, const char *name);
const char *naming_type_name(const struct naming *nm, struct type_ref t);
uint64_t naming_type_size(const struct naming *nm, struct type_ref t);

/* The field holding the word at `offset` of an object of type t: writes its
 * path (".next") to buf, returns the type it points to (or none). If t is
 * unknown or the offset is not a named field, writes "+0x18". */
struct type_ref naming_field(struct naming *nm, struct type_ref t, uint64_t offset, char *buf, size_t buflen);

/* A block's type: its dynamic type when its first word points into a C++
 * vtable, else `hint` (the type the pointer to it declared). */
struct type_ref naming_block_type(struct naming *nm, struct memory *mem, uint64_t addr, struct type_ref hint);

#endif
