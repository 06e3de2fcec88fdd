/* The block table: every heap block the walkers found (in use and free),
 * sorted by address, with an O(1)-ish address lookup through a granule
 * index over each contiguous heap region. Block ids are 32-bit indexes. */
#ifndef RETAIN_BLOCKS_H
#define RETAIN_BLOCKS_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct go_bits;

#define BLOCK_NONE UINT32_MAX

enum block_state { BLOCK_INUSE = 0, BLOCK_FREE = 1 };
/* Where a block came from (what the walker saw). */
enum block_kind {
    BLOCK_KIND_MAIN_ARENA = 0,  /* glibc main arena (sbrk heap) */
    BLOCK_KIND_ARENA = 1,       /* glibc non-main arena heap */
    BLOCK_KIND_MMAPPED = 2,     /* glibc mmapped chunk */
    BLOCK_KIND_GO = 3,          /* Go span object; its pointer words come from the heap bitmap */
    BLOCK_KIND_GO_NOSCAN = 4,   /* Go object in a pointer-free (noscan) span: never scanned */
};
/* Why a block is free (or not), for `retain info`. */
enum block_why {
    BLOCK_WHY_NONE = 0, BLOCK_WHY_BIN = 1, BLOCK_WHY_TCACHE = 2, BLOCK_WHY_FASTBIN = 3,
    BLOCK_WHY_TOP = 4,
};

/* 16 bytes per block; state/kind live in a parallel byte array so the hot
 * lookup touches addr/size only. */
struct block {
    uint64_t addr;   /* first user byte */
    uint64_t size;   /* usable bytes (what a pointer may point into) */
};

struct block_table {
    struct block *blocks; uint8_t *info;  /* info: state | kind<<1 | why<<4 */
    uint32_t n, cap;
    int sorted;
    /* marks made before finish (the table is unsorted then) */
    struct pending_free *pending; uint32_t npending, cappending;
    uint32_t unmatched_free;   /* free marks that named no block start */
    /* lookup index, built by block_table_finish */
    struct block_region *regions; uint32_t nregions;
    uint64_t lo, hi;   /* overall bounds, for a quick reject */
    uint64_t *inuse_bits;  /* bit per block: 1 = in use (small enough to stay in cache) */
    const struct go_bits *gobits;  /* Go heaps: which words of a BLOCK_KIND_GO block hold pointers */
    /* Runs of equal-sized blocks (Go spans), when block_table_set_runs was
     * called: a page table finds an address's run, and division its block,
     * without touching the big blocks array. */
    struct block_run *runs; uint32_t nruns;
    uint32_t *page_run;    /* per page from run_base: run index + 1, 0 for none */
    uint64_t run_base, run_pages;
    uint32_t run_shift;
};

/* A run: nblocks blocks of size bytes from start, ids first... */
struct block_run {
    uint64_t start, end;
    uint64_t size;
    uint32_t first;
};

static inline enum block_state block_state(const struct block_table *t, uint32_t id)
{ return (enum block_state)(t->info[id] & 1u); }
static inline enum block_kind block_kind(const struct block_table *t, uint32_t id)
{ return (enum block_kind)((t->info[id] >> 1) & 7u); }
static inline enum block_why block_why(const struct block_table *t, uint32_t id)
{ return (enum block_why)(t->info[id] >> 4); }

void block_table_init(struct block_table *t);
void block_table_deinit(struct block_table *t);
struct retain_error *block_table_add(struct block_table *t, uint64_t addr, uint64_t size,
                                     enum block_state st, enum block_kind kind, enum block_why why);
/* Sorts, drops exact duplicates, builds the lookup index. Overlapping blocks
 * (a corrupt walk) are reported as an error naming the addresses. */
struct retain_error *block_table_finish(struct block_table *t);
/* After finish: the table is made of these runs (each [start, start +
 * size * count) is count consecutive blocks, and every block is in one), each
 * on whole pages of 1 << page_shift bytes. Lookups then go by page. Returns
 * an error only when out of memory; runs that do not match the table leave
 * the lookups as they were. */
struct block_run_desc { uint64_t start, size, count; };
struct retain_error *block_table_set_runs(struct block_table *t, const struct block_run_desc *runs, uint32_t n,
                                          uint32_t page_shift);

/* Mark an already-added block free (tcache/fastbin membership found later).
 * Returns 0 if addr is the start of a block, -1 otherwise. */
int block_table_mark_free(struct block_table *t, uint64_t addr, enum block_why why);

/* The block containing addr (interior pointers included), or BLOCK_NONE. */
uint32_t block_lookup(const struct block_table *t, uint64_t addr);

/* The in-use block containing addr, or BLOCK_NONE (free blocks too). */
static inline uint32_t block_lookup_inuse(const struct block_table *t, uint64_t addr)
{
    uint32_t id = block_lookup(t, addr);
    if (id != BLOCK_NONE && !((t->inuse_bits[id >> 6] >> (id & 63)) & 1))
        return BLOCK_NONE;
    return id;
}

/* block_lookup_inuse for up to BLOCK_BATCH addresses at once, overlapping
 * their cache misses (the graph scan's hot path). */
#define BLOCK_BATCH 64
void block_lookup_inuse_batch(const struct block_table *t, const uint64_t *addrs, uint32_t *ids, size_t n);

/* Bytes the table itself uses (for stats). */
size_t block_table_memory(const struct block_table *t);

#endif
