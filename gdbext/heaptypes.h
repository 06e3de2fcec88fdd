/* Heap-wide types: every block's type, or unknown.
 * Sources, strongest first:
 *   1. a C++ vtable pointer at offset 0 (the dynamic type);
 *   2. the pointee type of a typed pointer that points exactly at the block
 *      (offset 0), starting from typed roots (globals typed by DWARF, stack
 *      and TLS variables gdb named) and following typed pointer fields
 *      block by block, breadth-first from the roots.
 * Conflict rule: a vtable beats any declared type; otherwise the first
 * declaration in breadth-first order from the roots wins (the nearest
 * root's view; among equals, root kind order global, tls, stack, register,
 * mapping, then lower slot address). A later, different declaration is
 * counted as a conflict, not applied. A block that holds several elements
 * of its type (block size >= 2 x type size) is marked as an array.
 *
 * In detail:
 *   - Root words: a global's type comes from the DWARF of the object that
 *     holds it, for the main program (the first object mapped) and for
 *     objects that carry their DWARF inside the file; objects whose DWARF is
 *     a separate debug file (libc with libc6-dbg) are not read for this,
 *     since loading it costs more than the typing gains and the answer must
 *     not depend on what earlier commands happened to load. Stack and TLS
 *     words take the type of the variable gdb named, registers the type of
 *     the variable DWARF placed there; type names are looked up in the same
 *     objects. Register words have no slot: among them, the order is that
 *     of root_set.values. Mapping words are untyped.
 *   - Breadth-first, a level at a time: the root words' declarations come
 *     first, in the order above; then the blocks they typed (depth 1), in
 *     address order, each one's pointer fields by increasing offset; then
 *     the blocks those typed, and so on. So at any depth below the roots,
 *     among equals the lower slot address wins. A block typed by its vtable
 *     joins the level at which a typed pointer first reaches it; those no
 *     typed pointer reaches form one more level, so that what they point
 *     to is typed too.
 *   - A block of type T is read with T's pointer layout (dwarf_type_layout):
 *     once, or at every multiple of sizeof(T) when it is an array of T; a T
 *     that ends in a flexible array member is never an array: its element
 *     layout repeats from that member to the end of the block.
 *   - A declared type larger than the block cannot be its type: it is
 *     ignored (counted in `oversized`), and a later declaration may type
 *     the block. So is a vtable whose class is larger than the block.
 *   - A declaration that agrees with the vtable type, or disagrees (a base
 *     class pointer to a derived object), is not a conflict.
 *   - Types are one per object file and spelling: the same struct described
 *     in several compilation units is one type.
 * Deterministic: one pass, in a fixed order. */
#ifndef RETAIN_HEAPTYPES_H
#define RETAIN_HEAPTYPES_H

#include <stdint.h>
#include "error.h"
#include "naming.h"

#define HT_UNKNOWN UINT32_MAX

struct retain_session;

struct heap_types {
    uint32_t n;                 /* blocks */
    uint32_t *type_of;          /* per block: index into refs, or HT_UNKNOWN (free blocks too) */
    uint8_t *is_array;          /* per block: 1 if an array of its type */
    struct type_ref *refs;      /* the distinct types found (each types at least one block) */
    uint32_t nrefs;
    uint64_t typed_blocks, from_vtables, conflicts;
    uint64_t oversized;         /* declarations ignored: the type is larger than the block */
    uint64_t blocks_in_use;
    char **array_names;         /* per ref: "T[]", made on first use */
    double seconds;
};

/* Needs a built graph (s->built). */
struct retain_error *heap_types_compute(struct retain_session *s, struct heap_types *ht);
void heap_types_deinit(struct heap_types *ht);

/* The type name of block id ("struct node", "Circle", "char[]" for arrays),
 * NULL if unknown. Stable while the session lives; array names are made
 * once and kept in ht. */
const char *heap_types_name(struct heap_types *ht, struct retain_session *s, uint32_t id);
/* The same for a type index, as an array of it or not; NULL if ref is out
 * of range (or its name cannot be made). */
const char *heap_types_ref_name(struct heap_types *ht, struct retain_session *s, uint32_t ref, int array);

/* One histogram row: the in-use blocks of one type (arrays of it apart),
 * or the unknown blocks of one usable size. */
struct heap_type_row {
    uint32_t type;       /* index into refs, or HT_UNKNOWN */
    uint8_t is_array;
    uint64_t size;       /* unknown blocks: their usable size; typed rows: 0 */
    uint64_t count;
    uint64_t bytes;      /* sum of the blocks' usable sizes */
};

/* Rows over every in-use block, sorted by bytes (largest first), then
 * count (largest first), then typed before unknown, then by name
 * ("T" before "T[]"), then by size. *rows_ret is malloc'd (free it). */
struct retain_error *heap_types_histogram(struct heap_types *ht, struct retain_session *s,
                                          struct heap_type_row **rows_ret, uint32_t *nrows_ret);

#endif
