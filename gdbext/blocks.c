/* The block table and its address lookup. Lookups run once per scanned word
 * that falls inside the heap bounds, so they must be close to O(1): each
 * contiguous run of blocks (a region) gets a granule index that maps an
 * address to the first block that may contain it. */
#include <stdlib.h>
#include <string.h>
#include "blocks.h"

/* Blocks closer than this share a region (one granule index). */
#define REGION_GAP (1u << 20)

struct block_region {
    uint64_t lo, hi;        /* [lo, hi): first block start, last block end */
    uint32_t first, last;   /* block ids, inclusive */
    uint32_t shift;         /* granule = 1 << shift bytes */
    uint32_t *index;        /* per granule: first block whose end > granule start */
};

struct pending_free { uint64_t addr; uint8_t why; };

void block_table_init(struct block_table *t)
{
    memset(t, 0, sizeof *t);
}

static void free_regions(struct block_table *t)
{
    for (uint32_t i = 0; i < t->nregions; i++)
        free(t->regions[i].index);
    free(t->regions);
    t->regions = NULL;
    t->nregions = 0;
}

void block_table_deinit(struct block_table *t)
{
    if (!t)
        return;
    free_regions(t);
    free(t->blocks);
    free(t->info);
    free(t->pending);
    free(t->inuse_bits);
    free(t->runs);
    free(t->page_run);
    memset(t, 0, sizeof *t);
}

static uint8_t pack_info(enum block_state st, enum block_kind kind, enum block_why why)
{
    return (uint8_t)((unsigned)st | ((unsigned)kind << 1) | ((unsigned)why << 4));
}

struct retain_error *block_table_add(struct block_table *t, uint64_t addr, uint64_t size,
                                     enum block_state st, enum block_kind kind, enum block_why why)
{
    if (t->n == t->cap) {
        if (t->cap >= UINT32_MAX / 2)
            return retain_errorf("too many heap blocks (more than %u)", t->cap);
        uint32_t cap = t->cap ? t->cap * 2 : 4096;
        struct block *b = realloc(t->blocks, (size_t)cap * sizeof *b);
        if (!b)
            return retain_errorf("out of memory for %u blocks", cap);
        t->blocks = b;
        uint8_t *in = realloc(t->info, cap);
        if (!in)
            return retain_errorf("out of memory for %u blocks", cap);
        t->info = in;
        t->cap = cap;
    }
    t->blocks[t->n].addr = addr;
    t->blocks[t->n].size = size;
    t->info[t->n] = pack_info(st, kind, why);
    t->n++;
    t->sorted = 0;
    return NULL;
}

/* Index of the block starting at addr in the sorted table, or BLOCK_NONE. */
static uint32_t find_start(const struct block_table *t, uint64_t addr)
{
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->blocks[mid].addr < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return (lo < t->n && t->blocks[lo].addr == addr) ? lo : BLOCK_NONE;
}

static void apply_free(struct block_table *t, uint32_t id, enum block_why why)
{
    t->info[id] = pack_info(BLOCK_FREE, block_kind(t, id), why);
    if (t->inuse_bits)
        t->inuse_bits[id >> 6] &= ~(1ull << (id & 63));
}

int block_table_mark_free(struct block_table *t, uint64_t addr, enum block_why why)
{
    if (t->sorted) {
        uint32_t id = find_start(t, addr);
        if (id == BLOCK_NONE)
            return -1;
        apply_free(t, id, why);
        return 0;
    }
    /* Before finish the table is unsorted: remember, apply after sorting. */
    if (t->npending == t->cappending) {
        uint32_t cap = t->cappending ? t->cappending * 2 : 256;
        struct pending_free *p = realloc(t->pending, (size_t)cap * sizeof *p);
        if (!p)
            return -1;
        t->pending = p;
        t->cappending = cap;
    }
    t->pending[t->npending].addr = addr;
    t->pending[t->npending].why = (uint8_t)why;
    t->npending++;
    return 0;
}

/* Sorting. Walkers emit each heap in address order, so the table is a few
 * ascending runs: merge them (O(n log runs)) instead of a general sort. */
struct sort_item { uint64_t addr, size; uint8_t info; };

static void merge_runs(struct sort_item *a, struct sort_item *tmp, const uint32_t *starts,
                       uint32_t nruns, uint32_t n)
{
    /* starts[nruns] == n. Merge neighbouring runs pairwise until one is left. */
    uint32_t *st = malloc(((size_t)nruns + 1) * sizeof *st);
    if (!st)
        return;
    memcpy(st, starts, ((size_t)nruns + 1) * sizeof *st);
    while (nruns > 1) {
        uint32_t out = 0;
        for (uint32_t r = 0; r < nruns; r += 2) {
            uint32_t lo = st[r], mid = st[r + 1], hi = r + 1 < nruns ? st[r + 2] : n;
            uint32_t i = lo, j = mid, k = lo;
            while (i < mid && j < hi)
                tmp[k++] = a[j].addr < a[i].addr ? a[j++] : a[i++];
            while (i < mid)
                tmp[k++] = a[i++];
            while (j < hi)
                tmp[k++] = a[j++];
            st[out++] = lo;
        }
        st[out] = n;
        nruns = out;
        memcpy(a, tmp, (size_t)n * sizeof *a);
    }
    free(st);
}

struct run { uint64_t first_addr; uint32_t start, len; };

static int cmp_run(const void *a, const void *b)
{
    const struct run *x = a, *y = b;
    return (x->first_addr > y->first_addr) - (x->first_addr < y->first_addr);
}

/* The usual case: each heap is one ascending run and heaps do not interleave,
 * so ordering the runs and copying once sorts the table. -1: they interleave
 * (or memory is short), and the caller merges instead. */
static int concat_runs(struct block_table *t, uint32_t nruns)
{
    struct run *runs = malloc((size_t)nruns * sizeof *runs);
    if (!runs)
        return -1;
    uint32_t r = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (i == 0 || t->blocks[i - 1].addr > t->blocks[i].addr)
            runs[r++] = (struct run){ t->blocks[i].addr, i, 0 };
        runs[r - 1].len++;
    }
    qsort(runs, nruns, sizeof *runs, cmp_run);
    for (uint32_t k = 1; k < nruns; k++) {
        const struct run *prev = &runs[k - 1];
        if (t->blocks[prev->start + prev->len - 1].addr >= runs[k].first_addr) {
            free(runs);
            return -1;
        }
    }
    struct block *blocks = malloc((size_t)t->cap * sizeof *blocks);
    uint8_t *info = malloc(t->cap);
    if (!blocks || !info) {
        free(blocks);
        free(info);
        free(runs);
        return -1;
    }
    uint32_t out = 0;
    for (uint32_t k = 0; k < nruns; k++) {
        memcpy(blocks + out, t->blocks + runs[k].start, (size_t)runs[k].len * sizeof *blocks);
        memcpy(info + out, t->info + runs[k].start, runs[k].len);
        out += runs[k].len;
    }
    free(t->blocks);
    free(t->info);
    t->blocks = blocks;
    t->info = info;
    free(runs);
    return 0;
}

static struct retain_error *sort_blocks(struct block_table *t)
{
    uint32_t nruns = 1;
    for (uint32_t i = 1; i < t->n; i++)
        nruns += t->blocks[i - 1].addr > t->blocks[i].addr;
    if (nruns == 1 && t->n > 0) {
        int dup = 0;
        for (uint32_t i = 1; i < t->n && !dup; i++)
            dup = t->blocks[i - 1].addr == t->blocks[i].addr;
        if (!dup)
            return NULL;
    }
    if (nruns > 1 && concat_runs(t, nruns) == 0)
        return NULL;
    struct sort_item *items = malloc(((size_t)t->n + 1) * sizeof *items);
    struct sort_item *tmp = malloc(((size_t)t->n + 1) * sizeof *tmp);
    uint32_t *starts = malloc(((size_t)nruns + 1) * sizeof *starts);
    if (!items || !tmp || !starts) {
        free(items);
        free(tmp);
        free(starts);
        return retain_errorf("out of memory sorting %u blocks", t->n);
    }
    uint32_t r = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (i == 0 || t->blocks[i - 1].addr > t->blocks[i].addr)
            starts[r++] = i;
        items[i].addr = t->blocks[i].addr;
        items[i].size = t->blocks[i].size;
        items[i].info = t->info[i];
    }
    starts[r] = t->n;
    merge_runs(items, tmp, starts, r, t->n);
    uint32_t out = 0;
    for (uint32_t i = 0; i < t->n; i++) {
        if (out && t->blocks[out - 1].addr == items[i].addr)
            continue;   /* the same block reported twice */
        t->blocks[out].addr = items[i].addr;
        t->blocks[out].size = items[i].size;
        t->info[out] = items[i].info;
        out++;
    }
    t->n = out;
    free(items);
    free(tmp);
    free(starts);
    return NULL;
}

/* A region's index has at most this many granules (64 MiB): a corrupt
 * block size spanning much of the address space must not cost more. */
#define MAX_GRANULES (1ull << 24)

static uint32_t pick_shift(uint64_t span, uint32_t nblocks)
{
    /* About eight blocks per granule: the index stays small enough for the
     * cache, and the few blocks a lookup then steps over are adjacent. */
    uint64_t each = span / (nblocks ? nblocks : 1);
    uint64_t per = each > UINT64_MAX / 8 ? UINT64_MAX : 8 * each;
    uint32_t shift = 4;
    while (shift < 63 && (((uint64_t)1 << (shift + 1)) <= per || (span >> shift) >= MAX_GRANULES))
        shift++;
    return shift;
}

static struct retain_error *index_region(const struct block_table *t, struct block_region *r)
{
    r->shift = pick_shift(r->hi - r->lo, r->last - r->first + 1);
    uint64_t ngran = ((r->hi - r->lo) >> r->shift) + 1;
    r->index = malloc(ngran * sizeof *r->index);
    if (!r->index)
        return retain_errorf("out of memory for the block index (%llu granules)",
                             (unsigned long long)ngran);
    uint32_t b = r->first;
    for (uint64_t g = 0; g < ngran; g++) {
        uint64_t gstart = r->lo + (g << r->shift);
        while (b < r->last && t->blocks[b].addr + t->blocks[b].size <= gstart)
            b++;
        r->index[g] = b;
    }
    return NULL;
}

static struct retain_error *build_regions(struct block_table *t)
{
    free_regions(t);
    if (t->n == 0)
        return NULL;
    uint32_t cap = 16;
    t->regions = malloc(cap * sizeof *t->regions);
    if (!t->regions)
        return retain_errorf("out of memory for block regions");
    uint32_t start = 0;
    for (uint32_t i = 1; i <= t->n; i++) {
        uint64_t prev_end = t->blocks[i - 1].addr + t->blocks[i - 1].size;
        if (i < t->n && t->blocks[i].addr < prev_end + REGION_GAP)
            continue;
        if (t->nregions == cap) {
            cap *= 2;
            struct block_region *nr = realloc(t->regions, cap * sizeof *nr);
            if (!nr)
                return retain_errorf("out of memory for block regions");
            t->regions = nr;
        }
        struct block_region *r = &t->regions[t->nregions++];
        r->lo = t->blocks[start].addr;
        r->first = start;
        r->last = i - 1;
        r->hi = r->lo;
        for (uint32_t j = start; j < i; j++)    /* a corrupt size may end past the next block */
            if (t->blocks[j].addr + t->blocks[j].size > r->hi)
                r->hi = t->blocks[j].addr + t->blocks[j].size;
        r->index = NULL;
        struct retain_error *err = index_region(t, r);
        if (err)
            return err;
        start = i;
    }
    t->lo = t->regions[0].lo;
    t->hi = t->regions[t->nregions - 1].hi;
    return NULL;
}

/* The table is final: give back what doubling reserved. */
static void shrink_to_fit(struct block_table *t)
{
    if (t->n == 0 || t->n == t->cap)
        return;
    struct block *b = realloc(t->blocks, (size_t)t->n * sizeof *b);
    uint8_t *in = realloc(t->info, t->n);
    if (b)
        t->blocks = b;
    if (in)
        t->info = in;
    if (b && in)
        t->cap = t->n;
}

struct retain_error *block_table_finish(struct block_table *t)
{
    struct retain_error *err = sort_blocks(t);
    if (err)
        return err;
    t->sorted = 1;
    /* Blocks must not overlap: a chunk that does is a walker bug or a corrupt heap. */
    for (uint32_t i = 1; i < t->n; i++) {
        const struct block *p = &t->blocks[i - 1];
        if (p->addr + p->size > t->blocks[i].addr) {
            return retain_errorf("heap blocks overlap: 0x%llx (%llu bytes) and 0x%llx",
                                 (unsigned long long)p->addr, (unsigned long long)p->size,
                                 (unsigned long long)t->blocks[i].addr);
        }
    }
    t->unmatched_free = 0;
    for (uint32_t i = 0; i < t->npending; i++) {
        uint32_t id = find_start(t, t->pending[i].addr);
        if (id == BLOCK_NONE)
            t->unmatched_free++;
        else
            apply_free(t, id, (enum block_why)t->pending[i].why);
    }
    free(t->pending);
    t->pending = NULL;
    t->npending = t->cappending = 0;
    shrink_to_fit(t);
    free(t->inuse_bits);
    t->inuse_bits = calloc(((size_t)t->n + 64) / 64, sizeof *t->inuse_bits);
    if (!t->inuse_bits)
        return retain_errorf("out of memory for %u blocks", t->n);
    for (uint32_t i = 0; i < t->n; i++)
        if (block_state(t, i) == BLOCK_INUSE)
            t->inuse_bits[i >> 6] |= 1ull << (i & 63);
    return build_regions(t);
}

/* The region that may hold addr, or NULL. */
static inline const struct block_region *region_of(const struct block_table *t, uint64_t addr)
{
    if (addr - t->lo >= t->hi - t->lo)
        return NULL;
    const struct block_region *r = t->regions;
    if (t->nregions > 1) {
        uint32_t lo = 0, hi = t->nregions;
        while (hi - lo > 1) {        /* last region with r.lo <= addr */
            uint32_t mid = lo + (hi - lo) / 2;
            if (t->regions[mid].lo <= addr)
                lo = mid;
            else
                hi = mid;
        }
        r = &t->regions[lo];
        if (addr >= r->hi)
            return NULL;
    }
    return r;
}

/* From the granule's first candidate, step to the block holding addr. */
static inline uint32_t resolve(const struct block_table *t, const struct block_region *r,
                               uint32_t b, uint64_t addr)
{
    while (b < r->last && t->blocks[b].addr + t->blocks[b].size <= addr)
        b++;
    const struct block *blk = &t->blocks[b];
    return (blk->addr <= addr && addr < blk->addr + blk->size) ? b : BLOCK_NONE;
}

/* Up to 2^26 pages (512 GiB of 8 KiB pages) get a page table. */
#define MAX_RUN_PAGES (1ull << 26)

static int cmp_run_desc(const void *a, const void *b)
{
    const struct block_run_desc *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

struct retain_error *block_table_set_runs(struct block_table *t, const struct block_run_desc *descs, uint32_t n,
                                          uint32_t page_shift)
{
    if (n == 0 || !t->sorted || t->n == 0)
        return NULL;
    struct block_run_desc *d = malloc((size_t)n * sizeof *d);
    if (!d)
        return retain_errorf("out of memory for the block runs");
    memcpy(d, descs, (size_t)n * sizeof *d);
    qsort(d, n, sizeof *d, cmp_run_desc);
    uint64_t base = d[0].start >> page_shift << page_shift, last = d[n - 1].start + d[n - 1].size * d[n - 1].count;
    uint64_t pages = ((last - base) >> page_shift) + 1;
    struct block_run *runs = malloc((size_t)n * sizeof *runs);
    uint32_t *page_run = pages <= MAX_RUN_PAGES ? calloc(pages, sizeof *page_run) : NULL;
    if (!runs || !page_run) {
        free(d);
        free(runs);
        free(page_run);
        return pages <= MAX_RUN_PAGES ? retain_errorf("out of memory for the block runs") : NULL;
    }
    uint64_t covered = 0, page_mask = (1ull << page_shift) - 1;
    int ok = 1;
    for (uint32_t i = 0; i < n && ok; i++) {
        uint32_t first = block_lookup(t, d[i].start);
        uint64_t end = d[i].start + d[i].size * d[i].count;
        /* the run must be exactly the table's blocks first .. first + count - 1,
         * start on a page of its own, and end before the next run starts */
        ok = d[i].count > 0 && !(d[i].start & page_mask) && first != BLOCK_NONE &&
             t->blocks[first].addr == d[i].start && first + d[i].count - 1 < t->n &&
             t->blocks[first + d[i].count - 1].addr == end - d[i].size &&
             (i + 1 == n || end <= d[i + 1].start);
        if (ok) {
            runs[i] = (struct block_run){ d[i].start, end, d[i].size, first };
            covered += d[i].count;
        }
    }
    /* the runs are disjoint and sorted: the last one ends where the pages do */
    for (uint32_t i = 0; ok && i < n; i++)
        for (uint64_t p = (runs[i].start - base) >> page_shift; p <= ((runs[i].end - 1 - base) >> page_shift); p++)
            page_run[p] = i + 1;
    free(d);
    if (!ok || covered != t->n) {   /* not what the table holds: keep the granule index */
        free(runs);
        free(page_run);
        return NULL;
    }
    t->runs = runs;
    t->nruns = n;
    t->page_run = page_run;
    t->run_base = base;
    t->run_pages = pages;
    t->run_shift = page_shift;
    return NULL;
}

static inline uint32_t run_lookup(const struct block_table *t, uint64_t addr)
{
    uint64_t page = (addr - t->run_base) >> t->run_shift;
    if (addr < t->run_base || page >= t->run_pages || !t->page_run[page])
        return BLOCK_NONE;
    const struct block_run *r = &t->runs[t->page_run[page] - 1];
    if (addr < r->start || addr >= r->end)   /* a span's tail past its last object */
        return BLOCK_NONE;
    return r->first + (uint32_t)((addr - r->start) / r->size);
}

uint32_t block_lookup(const struct block_table *t, uint64_t addr)
{
    if (t->page_run)
        return run_lookup(t, addr);
    const struct block_region *r = region_of(t, addr);
    if (!r)
        return BLOCK_NONE;
    return resolve(t, r, r->index[(addr - r->lo) >> r->shift], addr);
}

void block_lookup_inuse_batch(const struct block_table *t, const uint64_t *addrs, uint32_t *ids, size_t n)
{
    /* Three passes so the cache misses of all n lookups overlap: find each
     * granule and prefetch its index entry, read it and prefetch the block,
     * then resolve. */
    const struct block_region *regs[BLOCK_BATCH];
    const uint32_t *slots[BLOCK_BATCH];
    if (n > BLOCK_BATCH)
        n = BLOCK_BATCH;
    if (t->page_run) {   /* the same idea by runs: prefetch each run, then each in-use word */
        for (size_t i = 0; i < n; i++) {
            uint64_t page = (addrs[i] - t->run_base) >> t->run_shift;
            ids[i] = addrs[i] >= t->run_base && page < t->run_pages ? t->page_run[page] : 0;
            if (ids[i])
                __builtin_prefetch(&t->runs[ids[i] - 1]);
        }
        for (size_t i = 0; i < n; i++) {
            if (!ids[i]) {
                ids[i] = BLOCK_NONE;
                continue;
            }
            const struct block_run *r = &t->runs[ids[i] - 1];
            ids[i] = addrs[i] >= r->start && addrs[i] < r->end
                         ? r->first + (uint32_t)((addrs[i] - r->start) / r->size) : BLOCK_NONE;
            if (ids[i] != BLOCK_NONE)
                __builtin_prefetch(&t->inuse_bits[ids[i] >> 6]);
        }
        for (size_t i = 0; i < n; i++)
            if (ids[i] != BLOCK_NONE && !((t->inuse_bits[ids[i] >> 6] >> (ids[i] & 63)) & 1))
                ids[i] = BLOCK_NONE;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        regs[i] = region_of(t, addrs[i]);
        if (regs[i]) {
            slots[i] = &regs[i]->index[(addrs[i] - regs[i]->lo) >> regs[i]->shift];
            __builtin_prefetch(slots[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (regs[i]) {
            ids[i] = *slots[i];
            __builtin_prefetch(&t->blocks[ids[i]]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t id = regs[i] ? resolve(t, regs[i], ids[i], addrs[i]) : BLOCK_NONE;
        if (id != BLOCK_NONE && !((t->inuse_bits[id >> 6] >> (id & 63)) & 1))
            id = BLOCK_NONE;
        ids[i] = id;
    }
}

size_t block_table_memory(const struct block_table *t)
{
    size_t bytes = (size_t)t->cap * (sizeof(struct block) + 1) + ((size_t)t->n + 64) / 8;
    for (uint32_t i = 0; i < t->nregions; i++)
        bytes += (((t->regions[i].hi - t->regions[i].lo) >> t->regions[i].shift) + 1) * sizeof(uint32_t);
    bytes += (size_t)t->nruns * sizeof(struct block_run) + (size_t)(t->page_run ? t->run_pages : 0) * 4;
    return bytes + t->nregions * sizeof(struct block_region);
}
