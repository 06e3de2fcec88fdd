/* glibc ptmalloc heap walker. The layout facts (where main_arena is, field
 * offsets of struct malloc_state, per-thread tcache pointers) come from gdb,
 * which reads libc's debug symbols; the walk itself is here, in bulk. */
#ifndef RETAIN_HEAP_GLIBC_H
#define RETAIN_HEAP_GLIBC_H

#include <stdint.h>
#include "blocks.h"
#include "error.h"
#include "heap_report.h"
#include "memory.h"

struct glibc_layout {
    uint64_t main_arena;        /* &main_arena */
    uint64_t sbrk_base;         /* mp_.sbrk_base (0 if nothing was ever sbrk'd) */
    /* offsets in struct malloc_state */
    uint32_t off_fastbins;      /* fastbinsY */
    uint32_t nfastbins;
    uint32_t off_top;
    uint32_t off_next;          /* next arena in the ring */
    uint32_t off_system_mem;
    uint32_t sizeof_malloc_state;
    uint32_t sizeof_heap_info;  /* 48 on 2.36 x86_64 */
    uint32_t off_heap_info_size;/* heap_info.size */
    uint32_t off_heap_info_prev;/* heap_info.prev */
    uint64_t heap_max_size;     /* HEAP_MAX_SIZE: 64 MiB on 64-bit */
    int safe_linking;           /* glibc >= 2.32: fd/next pointers are mangled */
    /* tcache: one tcache_perthread_struct per thread that has one */
    uint64_t *tcaches; uint32_t ntcaches;
    uint32_t tcache_bins;       /* 64 */
    uint32_t tcache_count_size; /* 2 (uint16_t counts) on >= 2.30 */
};


/* Adds every chunk of every arena, heap and mmapped chunk to t (not finished:
 * the caller calls block_table_finish). */
struct retain_error *glibc_walk(struct memory *mem, const struct glibc_layout *lay,
                                struct block_table *t, struct heap_report *rep);

#endif
