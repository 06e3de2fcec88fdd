/* Names for what a chain passes through: which object file holds an
 * address, its ELF symbol, its DWARF variable and type, the field at an
 * offset, and a block's dynamic C++ type from its vtable pointer. DWARF is
 * loaded lazily, per object file, the first time a name is wanted there.
 *
 * Go types (from a Go unit's DWARF) are named as Go writes them, reading
 * the target's memory where the type alone cannot tell (naming_word):
 *   interface     ".val", and the target's `via` says "interface: *main.span":
 *                 the data word points at the dynamic type's value (for a
 *                 pointer type, at its element), found from the type word
 *                 through the DWARF's runtime type index (DW_AT_go_runtime_type)
 *   slice         ".logs" (not ".logs.array"); the target is the slice's
 *                 backing array, "[][]uint8 backing array", whose words
 *                 are named by element: "[3]"
 *   string        ".name"; the target is "string bytes"
 *   map           a map word's target is "map[string]int" (runtime hash<K,V>),
 *                 its .buckets "map[string]int buckets", and a word in a
 *                 bucket is named by its key: `["hello"]` for the value,
 *                 `[key "hello"]` for the key (else "[3].values[5]")
 *   channel       a chan word's target is "chan T" (hchan<T>), its .buf
 *                 "chan T buffer", elements "[i]"
 *   func value    the target is "closure main.main.func1" (the funcval; its
 *                 captured variables have no DWARF layout: "+0x8")
 *   sync.entry.p  an unsafe.Pointer to an interface {}
 * A block reached through a Go *T whose word lies past one T is an array
 * of T as well ("[2].next"). */
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

/* What a Go binary's runtime says about its types, found on first need. */
struct go_itab { uint64_t inter, type; };    /* an itab: interface and concrete runtime types */
struct go_runtime {
    int checked;
    uint64_t types, etypes;       /* [runtime.types, runtime.etypes): runtime type offsets count from types; 0 unknown */
    uint64_t itab_inter, itab_type;   /* offsets of runtime.itab.inter and ._type */
    uint64_t type_size, type_kind, ptrtype_elem;   /* of runtime._type.size, .kind, runtime.ptrtype.elem */
    /* for interfaces whose type word is lost (optimized frames), loaded on first need */
    int itabs_loaded;
    struct go_itab *itabs; uint32_t nitabs;   /* every itab the runtime has, sorted by inter */
    uint32_t classes[128]; uint32_t nclasses; /* runtime.class_to_size: what an allocation rounds up to */
};

struct objfile {
    char *path;
    uint64_t lo, hi, bias;
    struct elf_symbols *syms;     /* NULL if unreadable */
    struct dwarf_types *types;    /* loaded on first use */
    int dwarf_tried;
    char *dwarf_error;            /* why DWARF could not be read, if so */
    struct go_runtime go;
    /* the file itself, mapped on first need: its read-only segments stand in
     * for memory a core left out (gcore omits .rodata: Go's itabs, literals) */
    void *image;
    size_t image_size;
    int image_tried;
};

/* Names made up for targets ("[]uint8 backing array"), one copy each. */
struct name_set {
    char **slots; uint32_t nslots, used;
};

struct naming {
    struct objfile *objs; uint32_t n, cap;
    struct name_set labels;
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

/* What a pointer word says about the object it points at (or what is
 * known of an object). */
struct naming_target {
    struct type_ref type;   /* its type (through a Go interface: the dynamic type); obj OBJ_NONE: unknown */
    int elems;              /* several of `type` back to back from where the pointer points: a Go
                             * slice's backing array, map buckets, a channel buffer, string bytes */
    const char *label;      /* what to call the target when not type's own name ("[]uint8 backing
                             * array", "closure main.f.func1"); NULL otherwise. Valid until naming_deinit */
    int dynamic;            /* the name was read from memory (interface, map key, closure): another word
                             * of the same type and offset may name differently */
    const char *via;        /* how the word reaches it, when the path does not say: "interface:
                             * *main.span" (the dynamic type of the interface the word is the data
                             * of), "interface" (unknown); NULL otherwise. Valid until naming_deinit */
};
#define NAMING_TARGET_NONE ((struct naming_target){ { OBJ_NONE, DWARF_TYPE_NONE }, 0, NULL, 0, NULL })

/* The word at `offset` (may be negative) from `base`, where memory holds
 * what obj says: writes its path to buf (".next", "[3].next", "+0x18",
 * ".val", `["key"]`) and sets *ret to what it points at.
 * base is a runtime address used to read Go interfaces, map keys and
 * closures, 0 if unknown (those are then named from types alone). C and
 * C++ types name exactly as naming_field does ("[i]" first when obj->elems).
 * target_size: the size of the heap block the word points to the start of
 * (0 if unknown, or an interior pointer). A Go interface whose type word is
 * lost (an optimized frame keeps only the data word) takes the one dynamic
 * type of its interface, among the runtime's itabs, whose allocations are
 * that size ("interface: *context.valueCtx, by size"). */
void naming_word(struct naming *nm, struct memory *mem, const struct naming_target *obj, uint64_t base,
                 int64_t offset, uint64_t target_size, char *buf, size_t buflen, struct naming_target *ret);

/* naming_block_type for a target: a C++ vtable may replace the type (and
 * then the rest of what the pointer said). Go objects keep what their
 * pointer said. */
struct naming_target naming_block_target(struct naming *nm, struct memory *mem, uint64_t addr,
                                         const struct naming_target *hint);

/* What to call a target: its label, a Go runtime type's Go name
 * ("map[string]int" for hash<string,int>, "chan T" for hchan<T>), or its
 * type's name; NULL if unknown. Valid until naming_deinit. */
const char *naming_target_name(struct naming *nm, const struct naming_target *t);
/* Whether t's type comes from Go's DWARF. */
int naming_is_go(const struct naming *nm, struct type_ref t);

#endif
