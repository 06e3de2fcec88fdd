/* Roots: where retention starts. Memory ranges (globals, stacks, TLS, other
 * writable mappings) are scanned word by word; values (registers) are single
 * words. Frames and variables let a root word be named ("frame hold_local,
 * local p"): Python hands them over from gdb once per stop. */
#ifndef RETAIN_ROOTS_H
#define RETAIN_ROOTS_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "memory.h"

/* ROOT_GOROUTINE: a Go goroutine's stack (its .thread is the goroutine id);
 * ROOT_FINALIZER: a Go finalizer's function value (set on an object). */
enum root_kind { ROOT_GLOBAL, ROOT_STACK, ROOT_REGISTER, ROOT_TLS, ROOT_MAPPING, ROOT_GOROUTINE,
                 ROOT_FINALIZER, ROOT_NKINDS };

#define ROOT_KINDS_ALL ((1u << ROOT_NKINDS) - 1)
#define ROOT_NO_THREAD 0u

struct root_range {
    uint64_t start, end;
    uint32_t kind, thread;     /* thread: gdb's thread number, 0 if none */
    char *label;               /* objfile or mapping path; owned; may be NULL */
    uint8_t *mask;             /* bit i: word i may hold a pointer (Go GC masks); NULL: every word */
};

struct root_value {
    uint64_t value;
    uint32_t kind, thread;
    char *label;               /* register name */
    char *var, *type;          /* variable DWARF places in this register, or NULL */
};

/* A stack frame's slice of its thread's stack: [lo, hi). */
struct root_frame {
    uint64_t lo, hi;
    uint32_t thread, level, line;
    char *function, *file;
};

/* A named variable in memory (stack local or thread-local). */
struct root_var {
    uint64_t addr, size;
    uint32_t thread, frame;    /* frame: index into frames, UINT32_MAX if none */
    uint32_t kind;
    char *name, *type;
};

struct root_set {
    struct root_range *ranges; uint32_t nranges, capranges;
    struct root_value *values; uint32_t nvalues, capvalues;
    struct root_frame *frames; uint32_t nframes, capframes;
    struct root_var *vars; uint32_t nvars, capvars;
    struct { uint64_t start, end; } *excluded; uint32_t nexcluded, capexcluded;
    int vars_sorted;
};

const char *root_kind_name(enum root_kind kind);
/* Preference among roots at the same distance: named, stable holders first. */
uint32_t root_kind_rank(enum root_kind kind);
/* -1 if unknown */
int root_kind_parse(const char *name);

void root_set_init(struct root_set *rs);
void root_set_deinit(struct root_set *rs);
struct retain_error *root_set_add_range(struct root_set *rs, enum root_kind kind, uint64_t start,
                                        uint64_t end, uint32_t thread, const char *label);
/* A range whose pointer words a bitmap names (bit i: the word at start + 8i). */
struct retain_error *root_set_add_masked_range(struct root_set *rs, enum root_kind kind, uint64_t start,
                                               uint64_t end, uint32_t thread, const char *label,
                                               const uint8_t *mask, size_t mask_bytes);
struct retain_error *root_set_add_value(struct root_set *rs, enum root_kind kind, uint64_t value,
                                        uint32_t thread, const char *label, const char *var,
                                        const char *type);
struct retain_error *root_set_add_frame(struct root_set *rs, uint32_t thread, uint32_t level,
                                        uint64_t lo, uint64_t hi, const char *function,
                                        const char *file, uint32_t line);
struct retain_error *root_set_add_var(struct root_set *rs, enum root_kind kind, uint64_t addr,
                                      uint64_t size, uint32_t thread, uint32_t frame,
                                      const char *name, const char *type);
/* A range that is never a root (the dead part of a stack below SP). */
struct retain_error *root_set_exclude(struct root_set *rs, uint64_t start, uint64_t end);

/* Adds the writable mappings that no range covers yet, minus the heap
 * segments and excluded ranges: file-backed data and the anonymous mapping
 * right after it (bss) as ROOT_GLOBAL, everything else as ROOT_MAPPING. */
struct retain_error *root_set_add_mappings(struct root_set *rs, const struct mapping *maps,
                                           size_t nmaps, const uint64_t (*heap)[2], size_t nheap);

/* Naming helpers: the frame holding a stack slot, the variable covering an
 * address in a thread (thread 0 matches any). NULL if none. */
const struct root_frame *root_set_frame_at(const struct root_set *rs, uint32_t thread, uint64_t addr);
const struct root_var *root_set_var_at(struct root_set *rs, uint32_t thread, uint64_t addr);

#endif
