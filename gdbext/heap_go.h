/* The Go runtime's heap (Go 1.19 layout): every in-use span's objects, with
 * exact bounds, and the heap bitmap that says which words of an object hold
 * pointers. Python (pysrc/retain/go.py) reads the runtime's struct layouts
 * from DWARF through gdb and fills struct go_layout; nothing here hard-codes
 * a field offset. */
#ifndef RETAIN_HEAP_GO_H
#define RETAIN_HEAP_GO_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "heap_report.h"
#include "memory.h"

struct go_layout {
    uint64_t allspans;            /* address of mheap_.allspans (a []*mspan header) */
    uint64_t arenas;              /* address of mheap_.arenas ([L1]*[L2]*heapArena) */
    uint64_t arena_l1, arena_l2;  /* entries of each level */
    uint64_t arena_bytes;         /* heapArenaBytes */
    uint64_t arena_base_offset;   /* arenaBaseOffset (amd64: 0xffff800000000000) */
    uint64_t page_bytes;          /* _PageSize */
    uint32_t off_bitmap, bitmap_bytes;   /* heapArena.bitmap: 2 bits a word (Go <= 1.19) */
    /* runtime.mspan */
    uint32_t sizeof_mspan, off_startaddr, off_npages, off_freeindex, off_nelems;
    uint32_t off_allocbits, off_spanclass, off_state, off_elemsize, off_specials;
    /* runtime.special and runtime.specialfinalizer */
    uint32_t off_special_next, off_special_offset, off_special_kind, off_finalizer_fn;
};

/* mSpanState values (runtime/mheap.go) and the finalizer special's kind. */
enum { GO_SPAN_DEAD = 0, GO_SPAN_INUSE = 1, GO_SPAN_MANUAL = 2, GO_SPECIAL_FINALIZER = 1 };

/* One heap arena's pointer bitmap, copied out of heapArena.bitmap: for word
 * w of the arena, byte w/4 holds its pointer bit at bit w%4 and its "more
 * pointers follow" (scan) bit at bit 4 + w%4. */
struct go_arena_bits {
    uint64_t start;
    uint8_t *bits;
};

struct go_bits {
    uint64_t arena_bytes;
    struct go_arena_bits *arenas; uint32_t narenas;   /* sorted by start */
};

/* A finalizer: the object it is set on and its function value (a closure). */
struct go_finalizer {
    uint64_t object, fn;
};

struct go_heap {
    struct go_bits bits;
    struct block_run_desc *runs; uint32_t nruns, capruns;   /* one a span: block_table_set_runs */
    struct go_finalizer *finalizers; uint32_t nfinalizers;
    uint32_t nspans, nstack_spans;
    uint64_t stack_bytes;
};

void go_heap_deinit(struct go_heap *h);

/* Adds every object of every in-use span to t (not finished: the caller
 * calls block_table_finish), noscan spans as BLOCK_KIND_GO_NOSCAN. The heap
 * arenas become rep's segments, warnings go to rep. */
struct retain_error *go_walk(struct memory *mem, const struct go_layout *lay, struct block_table *t,
                             struct go_heap *h, struct heap_report *rep);

/* The arena holding addr, or NULL. */
static inline const struct go_arena_bits *go_bits_arena(const struct go_bits *b, uint64_t addr)
{
    uint32_t lo = 0, hi = b->narenas;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (addr < b->arenas[mid].start)
            hi = mid;
        else if (addr - b->arenas[mid].start >= b->arena_bytes)
            lo = mid + 1;
        else
            return &b->arenas[mid];
    }
    return NULL;
}

/* The bitmap entry of the word at addr: bit 0 pointer, bit 1 scan (more
 * pointers may follow; the runtime stops scanning an object at the first
 * word without it). 0 for an address outside arena a. */
static inline unsigned go_bits_word(const struct go_bits *b, const struct go_arena_bits *a, uint64_t addr)
{
    if (!a || addr - a->start >= b->arena_bytes)
        return 0;
    uint64_t w = (addr - a->start) >> 3;
    unsigned byte = a->bits[w >> 2], sh = (unsigned)(w & 3);
    return ((byte >> sh) & 1u) | (((byte >> (4 + sh)) & 1u) << 1);
}

/* The words of one Go object that hold pointers, in address order:
 *   struct go_words it; go_words_begin(&it, bits, addr, size);
 *   for (uint64_t a; (a = go_words_next(&it)) != 0; ) ...
 * It stops where the bitmap says the object's pointers end (the bits past
 * that point are stale: the runtime never reads them either). */
struct go_words {
    const struct go_bits *b;
    const struct go_arena_bits *a;
    uint64_t addr, end;
};

static inline void go_words_begin(struct go_words *it, const struct go_bits *b, uint64_t addr, uint64_t size)
{
    it->b = b;
    it->a = go_bits_arena(b, addr);
    it->addr = addr;
    it->end = addr + (size & ~(uint64_t)7);
}

static inline uint64_t go_words_next(struct go_words *it)
{
    while (it->addr < it->end) {
        uint64_t x = it->addr;
        it->addr += 8;
        if (!it->a || x - it->a->start >= it->b->arena_bytes)
            it->a = go_bits_arena(it->b, x);   /* a large object crossing into the next arena */
        unsigned e = go_bits_word(it->b, it->a, x);
        if (!(e & 2)) {
            it->addr = it->end;
            break;
        }
        if (e & 1)
            return x;
    }
    return 0;
}

#endif
