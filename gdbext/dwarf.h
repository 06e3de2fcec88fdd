/* DWARF types through libdwarf (Debian 12: 20210528). All libdwarf calls
 * stay in dwarf.c, so another libdwarf version changes one file.
 * One dwarf_types per objfile: a compact table of the types that matter for
 * naming (structs, unions, classes, pointers, arrays, typedefs, base types,
 * their members) and of global variables with fixed addresses. */
#ifndef RETAIN_DWARF_H
#define RETAIN_DWARF_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define DWARF_TYPE_NONE UINT32_MAX

enum dwarf_kind {
    DK_BASE, DK_POINTER, DK_STRUCT, DK_UNION, DK_CLASS, DK_ARRAY, DK_TYPEDEF,
    DK_CONST, DK_VOLATILE, DK_ENUM, DK_FUNCTION, DK_REFERENCE, DK_OTHER,
};

struct dwarf_types;

/* path: an ELF file (executable or shared object), or its separate debug
 * file. bias: load bias (runtime address - link-time address). A file with
 * no DWARF is not an error: the table is empty and dwarf_types_has_info says 0. */
struct retain_error *dwarf_types_load(const char *path, uint64_t bias, struct dwarf_types **types_ret);
void dwarf_types_destroy(struct dwarf_types *types);
int dwarf_types_has_info(const struct dwarf_types *types);

/* The global variable covering runtime address addr: returns 0 and sets its
 * name, type and addr's offset inside it; -1 if none. */
int dwarf_global_at(const struct dwarf_types *types, uint64_t addr,
                    const char **name_ret, uint32_t *type_ret, uint64_t *offset_ret);

enum dwarf_kind dwarf_type_kind(const struct dwarf_types *types, uint32_t type);
uint64_t dwarf_type_size(const struct dwarf_types *types, uint32_t type);   /* 0 if unknown */
/* C/C++ spelling: "struct node *", "int", "Derived", "char [16]". Stable
 * pointer valid for the table's life. */
const char *dwarf_type_name(const struct dwarf_types *types, uint32_t type);
/* Strips typedefs and cv-qualifiers. */
uint32_t dwarf_type_strip(const struct dwarf_types *types, uint32_t type);

/* By name as a user or gdb writes it: "struct node", "node", "ns::Derived",
 * "struct node *" (pointer types are found by their spelled name).
 * DWARF_TYPE_NONE if unknown. Prefers a complete definition over a declaration. */
uint32_t dwarf_type_by_name(const struct dwarf_types *types, const char *name);

/* Name the word at byte offset `offset` inside an object of type `type`:
 * writes the member path relative to the object into buf (".head",
 * ".buckets[3]", ".base.next", "[2].ptr"; "" when offset 0 is the object
 * itself and it is a pointer) and returns 0. *word_type_ret gets the type
 * of that word (DWARF_TYPE_NONE if the offset falls in padding or an
 * untyped area) and *pointee_ret, when that word is a pointer, the pointed-to
 * type with typedefs stripped (else DWARF_TYPE_NONE). Returns -1 if type is
 * unknown or offset is outside it. Arrays index as [i]; nested structs and
 * unions recurse (a union picks its first pointer member at that offset). */
int dwarf_field_at(const struct dwarf_types *types, uint32_t type, uint64_t offset,
                   char *buf, size_t buflen, uint32_t *word_type_ret, uint32_t *pointee_ret);

/* The pointer words of an object of a type, for typing whole heaps. */
#define DWARF_LAYOUT_MAX 16384    /* fields per type at most: longer arrays are expanded in part */
struct dwarf_ptr_field {
    uint32_t offset;     /* byte offset of the pointer word */
    uint32_t pointee;    /* what it points to, typedefs and cv-qualifiers stripped */
};
struct dwarf_layout {
    const struct dwarf_ptr_field *fields;   /* sorted by offset, one per offset */
    uint32_t nfields;
    int truncated;           /* an array was expanded only in part (DWARF_LAYOUT_MAX) */
    uint64_t size;           /* dwarf_type_size */
    uint32_t tail_elem;      /* a trailing flexible array member's element type, or DWARF_TYPE_NONE */
    uint64_t tail_offset;    /* and its offset: the elements repeat from there to the end of a block */
};
/* The layout of `type` (typedefs and qualifiers stripped): every pointer or
 * reference word, recursing into members, base classes, nested structs and
 * unions (where members overlap, the first pointer member at an offset) and
 * arrays; a pointer type itself is one field at offset 0. Pointers to void
 * and to functions (vtable pointers too) are left out: they name no type.
 * Built once per type and cached in the table (hence not const, and not
 * thread-safe); `fields` stays valid until the next call on the same table.
 * Returns 0, or -1 if type is unknown. */
int dwarf_type_layout(struct dwarf_types *types, uint32_t type, struct dwarf_layout *ret);

size_t dwarf_types_count(const struct dwarf_types *types);
/* Bytes the table holds (types, members, globals, names), for statistics. */
size_t dwarf_types_memory(const struct dwarf_types *types);

#endif
