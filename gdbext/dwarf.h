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
/* What a pointer points to, an array holds, a typedef or qualifier names
 * (as declared, typedefs kept); DWARF_TYPE_NONE for other kinds or void. */
uint32_t dwarf_type_target(const struct dwarf_types *types, uint32_t type);

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

/* dwarf_field_at, and the objects the word lies in (its "nest"): the top
 * object first, then each member or array element the path enters, the
 * word itself last. nest[i].path_len is how much of the path names that
 * object: ".logs.array" with nest {top, .logs, .logs.array} gives lengths
 * 0, 5, 11. Types are as declared, typedefs kept (Go puts its attributes on
 * typedefs). Returns as dwarf_field_at; on -1 ret->nnest is 0. */
#define DWARF_NEST_MAX 72
struct dwarf_nest {
    uint32_t type;
    uint32_t path_len;
    uint64_t offset;     /* where the object starts, from the start of the top object */
    int64_t index;       /* an array element: its index; else -1 */
};
struct dwarf_field {
    uint32_t word, pointee;      /* as dwarf_field_at's *word_type_ret and *pointee_ret */
    uint32_t nnest;
    struct dwarf_nest nest[DWARF_NEST_MAX];
};
int dwarf_field_info(const struct dwarf_types *types, uint32_t type, uint64_t offset, char *buf, size_t buflen,
                     struct dwarf_field *ret);

/* The direct member called `name` of a struct, union or class (typedefs
 * stripped): returns 0 and sets its offset and type (either may be NULL);
 * -1 if there is none. */
int dwarf_member(const struct dwarf_types *types, uint32_t type, const char *name, uint64_t *offset_ret,
                 uint32_t *type_ret);

/* ---- Go ----
 * Go's DWARF spells types as Go does ("*main.span", "[]uint8",
 * "map[string]int", "context.Context"; a named struct comes as a struct and
 * a typedef of the same name) and adds attributes of its own:
 * DW_AT_go_kind (the runtime's kind, below), DW_AT_go_elem and DW_AT_go_key
 * (element and key types of arrays, slices, maps, channels, pointers) and
 * DW_AT_go_runtime_type: where the runtime's type descriptor for the type
 * lies, as an offset from the start of the binary's type data (the ELF
 * symbol runtime.types). Types the compiler makes up (hash<K,V>,
 * bucket<K,V>, hchan<T>) have kind 0 and no runtime type. */
enum go_kind {
    GO_KIND_NONE = 0, GO_KIND_BOOL = 1, GO_KIND_INT = 2, GO_KIND_INT8 = 3, GO_KIND_INT16 = 4,
    GO_KIND_INT32 = 5, GO_KIND_INT64 = 6, GO_KIND_UINT = 7, GO_KIND_UINT8 = 8, GO_KIND_UINT16 = 9,
    GO_KIND_UINT32 = 10, GO_KIND_UINT64 = 11, GO_KIND_UINTPTR = 12, GO_KIND_FLOAT32 = 13,
    GO_KIND_FLOAT64 = 14, GO_KIND_COMPLEX64 = 15, GO_KIND_COMPLEX128 = 16, GO_KIND_ARRAY = 17,
    GO_KIND_CHAN = 18, GO_KIND_FUNC = 19, GO_KIND_INTERFACE = 20, GO_KIND_MAP = 21, GO_KIND_PTR = 22,
    GO_KIND_SLICE = 23, GO_KIND_STRING = 24, GO_KIND_STRUCT = 25, GO_KIND_UNSAFE_POINTER = 26,
};
/* Whether the type comes from a Go compilation unit. */
int dwarf_type_is_go(const struct dwarf_types *types, uint32_t type);
/* The first DW_AT_go_kind along the type's typedefs (GO_KIND_NONE if none);
 * likewise its element and key types (DWARF_TYPE_NONE if none). */
enum go_kind dwarf_go_kind(const struct dwarf_types *types, uint32_t type);
uint32_t dwarf_go_elem(const struct dwarf_types *types, uint32_t type);
uint32_t dwarf_go_key(const struct dwarf_types *types, uint32_t type);
/* The type whose DW_AT_go_runtime_type is `offset` (the runtime type's
 * address - runtime.types), the first in DIE order; DWARF_TYPE_NONE if none. */
uint32_t dwarf_go_type_by_runtime(const struct dwarf_types *types, uint64_t offset);
/* The type's DW_AT_go_runtime_type (along its typedefs), 0 if none. */
uint64_t dwarf_go_runtime_offset(const struct dwarf_types *types, uint32_t type);
/* How many types carry a runtime type, for statistics and tests. */
size_t dwarf_go_runtime_types(const struct dwarf_types *types);

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
