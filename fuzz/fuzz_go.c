/* Fuzz target: the Go heap walker (heap_go.c), the block table (blocks.c)
 * with its span runs (block_table_set_runs), and the pointer-word iterator
 * (go_words_begin / go_words_next) over a synthetic Go heap.
 *
 * The address space is seven regions at fixed addresses; the input says how
 * much of each is readable and gives its first bytes (the rest of a
 * readable region reads as zeros). The layout's allspans and arenas fields
 * point into region 0, so the input controls mheap_.allspans (array pointer
 * and length), the L1 arena array, and through the pointers in them
 * everything else:
 *
 *   region  address          max readable   what the seeds put there
 *     0     0x550000         0x1000         allspans header at +0, L1 array at +0x100
 *     1     0x560000         0x10000        the []*mspan array
 *     2     0x570000         0x10000        mspan records (raw, at the layout's offsets)
 *     3     0x580000         0x10000        allocBits
 *     4     0x590000         0x1000         special records
 *     5     0x600000000      0x10000        L2 arrays ([L2]*heapArena)
 *     6     0x700000000      0x800000       heapArena records (their bitmaps)
 *
 * Input layout (little-endian; bytes past the end of the input read as 0):
 *
 *   off  size
 *     0     1  layout (mod 4): 0 Go 1.19 amd64 (tests/c/test_heap_go.c's),
 *               1 1 MiB arenas, two-level arena index, 2 tiny arenas (64-byte
 *               pages, 2 KiB arenas, one-level index), 3 from the header below
 *               (consistent or not)
 *     1     3  unused
 *     4  7*8  regions: readable length (u32, cut to the maximum), data
 *               length (u32, cut to the readable length and to the input left)
 *    60     4  unused
 *    64    30  layout 3: sizeof_mspan, off_startaddr, off_npages, off_freeindex,
 *               off_nelems, off_allocbits, off_spanclass, off_state,
 *               off_elemsize, off_specials, off_special_next,
 *               off_special_offset, off_special_kind, off_finalizer_fn,
 *               off_bitmap (u16 each)
 *    94     1  layout 3: page_bytes = 1 << (v % 24)
 *    95     1  layout 3: arena_bytes = page_bytes << (v % 16), at most 64 MiB
 *    96     1  layout 3 flags: 1 page_bytes, 2 arena_bytes, 4 bitmap_bytes
 *               raw from the u32 at 100, 104, 108 (else bitmap_bytes is
 *               arena_bytes / 32)
 *   112     8  layout 3: arena_base_offset
 *   120     8  layout 3: arena_l1, arena_l2 (u32 each)
 *   128  8*8  probe offsets: lookups at the first block's address plus each
 *   192        the regions' data bytes, one after another
 *
 * Memory: a walker must survive a heap whose sizes are corrupt, but a heap
 * that really claims 2^28 spans or 2^37 objects makes it allocate that
 * much, and the fuzzer would only report out-of-memory. So before walking,
 * claims_fit() reads the synthetic heap the way go_walk will (allspans,
 * each in-use span's sizes, its arenas, its specials) and skips inputs whose
 * claims would cost more than a few tens of MiB (MAX_* below). While the
 * walk runs, one allocation of the engine larger than ALLOC_LIMIT is refused
 * (malloc, calloc and realloc are wrapped: -Wl,--wrap in fuzz.mk) and that
 * is a failed invariant: after claims_fit nothing legitimate comes near it,
 * so it means the walker allocates for something the heap does not claim
 * (a loop that does not end). The replay programs then stay bounded too.
 *
 * Invariants, besides the sanitizers: an error has a message and is never
 * "out of memory"; warnings are capped; after block_table_finish the table
 * is sorted and disjoint; block_lookup, block_lookup_inuse and the batched
 * lookup agree with a binary search over the table (on every block's
 * edges, the input's probe offsets and the words of the regions), with the
 * granule index and again after block_table_set_runs; go_bits' arenas are
 * sorted and disjoint; and for every in-use BLOCK_KIND_GO block go_words
 * yields, in order, exactly the words a direct reading of the bitmap says
 * hold pointers (stopping at the first word without the scan bit). */
#include <stdlib.h>
#include <string.h>

#include "blocks.h"
#include "fuzz_common.h"
#include "heap_go.h"
#include "memory.h"

#define NREGIONS 7
#define HEADER 192
#define REGION_AT(i) (4 + 8 * (i))

/* what claims_fit lets through (see above) */
#define MAX_SPANS (1u << 16)           /* allspans entries: the walker's inuse array */
#define MAX_BLOCKS (1u << 18)          /* objects of valid in-use spans */
#define MAX_ARENA_NOTES (1u << 18)     /* arenas the spans cover, with repeats */
#define MAX_BITMAP_BYTES (16u << 20)   /* bitmaps copied (one per arena with a record) */
#define MAX_SPECIAL_STEPS (1u << 18)   /* special records followed */
#define MAX_FINALIZERS 4096            /* finalizers found (one realloc each) */
/* The largest single allocation the walk may make: four times what the
 * limits above can ask for at once. */
#define ALLOC_LIMIT ((size_t)64 << 20)

/* Checks per input, so that a large table stays fast. */
#define MAX_CHECKED_BLOCKS 4096
#define WORDS_WINDOW 4096              /* bytes of an object go_words walks */
#define MAX_WORD_STEPS (1u << 20)

/* the walker's own caps (heap_go.c), mirrored by claims_fit */
#define WALKER_MAX_SPANS (1u << 28)
#define WALKER_MAX_SPECIALS 65536

static const uint64_t region_start[NREGIONS] = {
    0x550000, 0x560000, 0x570000, 0x580000, 0x590000, 0x600000000, 0x700000000,
};
static const uint64_t region_max[NREGIONS] = {
    0x1000, 0x10000, 0x10000, 0x10000, 0x1000, 0x10000, 0x800000,
};
#define MHEAP 0x550000ull

struct region {
    uint64_t start, readable, data_len;
    const uint8_t *data;
};

struct space {
    struct region r[NREGIONS];
};

/* A memory_read_fn: the readable prefix; a region's bytes past its data
 * read as zeros. The regions are far apart: a read stops at a region's end. */
static size_t space_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const struct space *sp = ctx;
    for (size_t i = 0; i < NREGIONS; i++) {
        const struct region *r = &sp->r[i];
        uint64_t off = addr - r->start;
        if (off >= r->readable)
            continue;
        size_t n = r->readable - off < len ? (size_t)(r->readable - off) : len;
        size_t from_data = off < r->data_len ? (size_t)(r->data_len - off < n ? r->data_len - off : n) : 0;
        if (from_data)
            memcpy(buf, r->data + off, from_data);
        memset((uint8_t *)buf + from_data, 0, n - from_data);
        return n;
    }
    return 0;
}

static int space_u64(const struct space *sp, uint64_t addr, uint64_t *v)
{
    uint8_t b[8];
    if (space_read((void *)sp, addr, b, 8) != 8)
        return -1;
    memcpy(v, b, 8);
    return 0;
}

/* ---- the allocation limit (-Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc) ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);

static int limit_on;
static size_t refused;   /* the size of a refused allocation, 0 for none */

static int over_limit(size_t n)
{
    if (!limit_on || n <= ALLOC_LIMIT)
        return 0;
    if (!refused)
        refused = n;
    return 1;
}

void *__wrap_malloc(size_t n)
{
    return over_limit(n) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size)
        return __real_calloc(n, size);   /* let it fail as it would */
    return over_limit(n * size) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return over_limit(n) ? NULL : __real_realloc(p, n);
}

/* ---- the layouts ---- */

static const struct go_layout go119 = {
    .allspans = MHEAP, .arenas = MHEAP + 0x100, .arena_l1 = 1, .arena_l2 = 1ull << 22,
    .arena_bytes = 64ull << 20, .arena_base_offset = 0xffff800000000000ull, .page_bytes = 8192,
    .off_bitmap = 0, .bitmap_bytes = (64u << 20) / 32,
    .sizeof_mspan = 144, .off_startaddr = 24, .off_npages = 32, .off_freeindex = 48, .off_nelems = 56,
    .off_allocbits = 72, .off_spanclass = 98, .off_state = 99, .off_elemsize = 104, .off_specials = 128,
    .off_special_next = 0, .off_special_offset = 8, .off_special_kind = 10, .off_finalizer_fn = 16,
};

static struct go_layout pick_layout(const uint8_t *data, size_t size)
{
    struct go_layout lay = go119;
    switch (fuzz_get(data, size, 0, 1) % 4) {
    case 0:
        break;
    case 1:   /* 1 MiB arenas from 0xbff0000000: 0xc000000000 is arena 256, L1 4, L2 0 */
        lay.arena_bytes = 1 << 20;
        lay.bitmap_bytes = (1 << 20) / 32;
        lay.arena_base_offset = 0xbff0000000ull;
        lay.arena_l1 = 16;
        lay.arena_l2 = 64;
        break;
    case 2:   /* 64-byte pages, 2 KiB arenas, no L2 level (arena_l2 0) */
        lay.page_bytes = 64;
        lay.arena_bytes = 2048;
        lay.bitmap_bytes = 2048 / 32;
        lay.arena_base_offset = 0;
        lay.arena_l1 = 1;
        lay.arena_l2 = 0;
        break;
    default: {
        uint32_t *u32[] = { &lay.sizeof_mspan, &lay.off_startaddr, &lay.off_npages, &lay.off_freeindex,
                            &lay.off_nelems, &lay.off_allocbits, &lay.off_spanclass, &lay.off_state,
                            &lay.off_elemsize, &lay.off_specials, &lay.off_special_next,
                            &lay.off_special_offset, &lay.off_special_kind, &lay.off_finalizer_fn,
                            &lay.off_bitmap };
        for (size_t i = 0; i < sizeof u32 / sizeof *u32; i++)
            *u32[i] = (uint32_t)fuzz_get(data, size, 64 + 2 * i, 2);
        uint8_t flags = (uint8_t)fuzz_get(data, size, 96, 1);
        lay.page_bytes = 1ull << (fuzz_get(data, size, 94, 1) % 24);
        lay.arena_bytes = lay.page_bytes << (fuzz_get(data, size, 95, 1) % 16);
        if (lay.arena_bytes > (64u << 20))
            lay.arena_bytes = 64u << 20;
        if (flags & 1)
            lay.page_bytes = fuzz_get(data, size, 100, 4);
        if (flags & 2)
            lay.arena_bytes = fuzz_get(data, size, 104, 4);
        lay.bitmap_bytes = flags & 4 ? (uint32_t)fuzz_get(data, size, 108, 4) : (uint32_t)(lay.arena_bytes / 32);
        lay.arena_base_offset = fuzz_get(data, size, 112, 8);
        lay.arena_l1 = fuzz_get(data, size, 120, 4);
        lay.arena_l2 = fuzz_get(data, size, 124, 4);
        break;
    }
    }
    return lay;
}

/* heap_go.c's check_layout: whether go_walk will walk at all. */
static int layout_ok(const struct go_layout *lay)
{
    uint32_t offs[] = { lay->off_startaddr, lay->off_npages, lay->off_freeindex, lay->off_nelems,
                        lay->off_allocbits, lay->off_elemsize, lay->off_specials };
    for (size_t i = 0; i < sizeof offs / sizeof *offs; i++)
        if ((uint64_t)offs[i] + 8 > lay->sizeof_mspan)
            return 0;
    return lay->off_spanclass < lay->sizeof_mspan && lay->off_state < lay->sizeof_mspan &&
           lay->page_bytes && !(lay->page_bytes & (lay->page_bytes - 1)) && lay->arena_bytes &&
           lay->arena_bytes % lay->page_bytes == 0 && (uint32_t)(lay->bitmap_bytes * 32u) == lay->arena_bytes;
}

/* ---- what the heap claims ---- */

static uint64_t get_u64(const uint8_t *p, uint32_t off)
{
    uint64_t v;
    memcpy(&v, p + off, 8);
    return v;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Whether walking this heap stays within the MAX_* limits: reads what
 * go_walk reads, as it reads it (counting generously). 0: skip the input. */
static int claims_fit(const struct space *sp, const struct go_layout *lay)
{
    static uint8_t ms[65536 + 16];   /* sizeof_mspan is a u16 */
    if (!layout_ok(lay))
        return 1;   /* go_walk refuses the layout */
    uint64_t hdr[2];
    if (space_read((void *)sp, lay->allspans, hdr, sizeof hdr) != sizeof hdr || hdr[1] > WALKER_MAX_SPANS)
        return 1;   /* go_walk fails before allocating */
    if (hdr[1] > MAX_SPANS)
        return 0;
    uint64_t blocks = 0, steps = 0, finalizers = 0;
    uint64_t *notes = malloc((size_t)MAX_ARENA_NOTES * sizeof *notes);
    size_t nnotes = 0;
    int ok = notes != NULL, wrapped = 0;
    for (uint64_t i = 0; i < hdr[1] && ok; i++) {
        uint64_t p;
        if (space_u64(sp, hdr[0] + i * 8, &p))
            break;
        memset(ms, 0, lay->sizeof_mspan);
        if (space_read((void *)sp, p, ms, lay->sizeof_mspan) != lay->sizeof_mspan || ms[lay->off_state] != GO_SPAN_INUSE)
            continue;
        uint64_t start = get_u64(ms, lay->off_startaddr), npages = get_u64(ms, lay->off_npages);
        uint64_t elemsize = get_u64(ms, lay->off_elemsize), nelems = get_u64(ms, lay->off_nelems);
        uint64_t bytes = npages * lay->page_bytes;
        if (npages == 0 || npages > (1ull << 40) / lay->page_bytes || elemsize == 0 || nelems > bytes / elemsize ||
            start + bytes < start)
            continue;   /* skipped as corrupt */
        blocks += nelems;
        uint64_t a = start - (start - lay->arena_base_offset) % lay->arena_bytes;
        for (; a < start + bytes && !wrapped; a += lay->arena_bytes) {
            if (nnotes == MAX_ARENA_NOTES) {
                ok = 0;
                break;
            }
            notes[nnotes++] = a;
            /* go_walk's loop does not stop where a + arena_bytes wraps: let
             * it run into ALLOC_LIMIT (a failed invariant) */
            wrapped = a + lay->arena_bytes < a;
        }
        uint64_t special = get_u64(ms, lay->off_specials);
        for (uint32_t n = 0; special && n < WALKER_MAX_SPECIALS && ok; n++) {
            uint64_t next, off, kind, fn;
            if (space_u64(sp, special + lay->off_special_next, &next) ||
                space_u64(sp, special + lay->off_special_offset, &off) ||
                space_u64(sp, special + lay->off_special_kind, &kind))
                break;
            if ((uint8_t)kind == GO_SPECIAL_FINALIZER && space_u64(sp, special + lay->off_finalizer_fn, &fn) == 0 && fn)
                finalizers++;
            ok = ++steps <= MAX_SPECIAL_STEPS && finalizers <= MAX_FINALIZERS;
            special = next;
        }
        ok = ok && blocks <= MAX_BLOCKS;
    }
    if (ok && !wrapped) {
        /* one bitmap copy per arena that has a heapArena record */
        qsort(notes, nnotes, sizeof *notes, cmp_u64);
        uint64_t nbitmaps = 0;
        for (size_t i = 0; i < nnotes; i++) {
            if (i && notes[i] == notes[i - 1])
                continue;
            uint64_t idx = (notes[i] - lay->arena_base_offset) / lay->arena_bytes, l1p, ha;
            uint64_t l1 = lay->arena_l2 ? idx / lay->arena_l2 : 0, l2 = lay->arena_l2 ? idx % lay->arena_l2 : idx;
            if (l1 < lay->arena_l1 && space_u64(sp, lay->arenas + l1 * 8, &l1p) == 0 && l1p &&
                space_u64(sp, l1p + l2 * 8, &ha) == 0 && ha)
                nbitmaps++;
        }
        ok = nbitmaps * lay->bitmap_bytes <= MAX_BITMAP_BYTES;
    }
    free(notes);
    return ok;
}

/* ---- the oracles ---- */

static const char *phase = "";   /* which check ran, for a failed invariant */
#define CHECK(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: fuzz invariant failed while checking %s: %s\n", __FILE__, __LINE__, \
                    phase, #cond); \
            abort(); \
        } \
    } while (0)

/* The block holding x, by binary search over the sorted, disjoint table. */
static uint32_t oracle_lookup(const struct block_table *t, uint64_t x)
{
    uint32_t lo = 0, hi = t->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (t->blocks[mid].addr <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || x - t->blocks[lo - 1].addr >= t->blocks[lo - 1].size)
        return BLOCK_NONE;
    return lo - 1;
}

static uint32_t oracle_inuse(const struct block_table *t, uint64_t x)
{
    uint32_t id = oracle_lookup(t, x);
    return id != BLOCK_NONE && block_state(t, id) == BLOCK_INUSE ? id : BLOCK_NONE;
}

/* The arena of go_bits holding x, by a search of our own. */
static const struct go_arena_bits *oracle_arena(const struct go_bits *b, uint64_t x)
{
    uint32_t lo = 0, hi = b->narenas;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (b->arenas[mid].start <= x)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || x - b->arenas[lo - 1].start >= b->arena_bytes)
        return NULL;
    return &b->arenas[lo - 1];
}

/* The 2-bit bitmap entry of the word at x: bit 0 pointer, bit 1 scan. */
static unsigned oracle_entry(const struct go_bits *b, uint64_t x)
{
    const struct go_arena_bits *a = oracle_arena(b, x);
    if (!a)
        return 0;
    uint64_t w = (x - a->start) / 8;
    return ((a->bits[w / 4] >> (w % 4)) & 1u) | (((a->bits[w / 4] >> (4 + w % 4)) & 1u) << 1);
}

struct probes {
    uint64_t *v;
    size_t n, cap;
};

static void probe(struct probes *p, uint64_t x)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 1024;
        p->v = realloc(p->v, p->cap * sizeof *p->v);
        FUZZ_ASSERT(p->v != NULL);
    }
    p->v[p->n++] = x;
}

/* The blocks checked one by one: all of a small table, else a sample. */
static uint32_t check_stride(const struct block_table *t)
{
    return t->n <= MAX_CHECKED_BLOCKS ? 1 : t->n / MAX_CHECKED_BLOCKS + 1;
}

static void check_lookups(const struct block_table *t, const struct probes *p)
{
    uint32_t stride = check_stride(t);
    for (uint32_t i = 0; i < t->n; i += stride) {
        const struct block *b = &t->blocks[i];
        CHECK(block_lookup(t, b->addr) == i);
        CHECK(block_lookup(t, b->addr + b->size - 1) == i);
        CHECK(block_lookup(t, b->addr + b->size / 2) == i);
        CHECK(block_lookup_inuse(t, b->addr) == (block_state(t, i) == BLOCK_INUSE ? i : BLOCK_NONE));
    }
    uint64_t addrs[BLOCK_BATCH];
    uint32_t want[BLOCK_BATCH], got[BLOCK_BATCH];
    size_t nb = 0;
    for (size_t k = 0; k < p->n; k++) {
        uint64_t x = p->v[k];
        CHECK(block_lookup(t, x) == oracle_lookup(t, x));
        addrs[nb] = x;
        want[nb] = oracle_inuse(t, x);
        CHECK(block_lookup_inuse(t, x) == want[nb]);
        if (++nb == BLOCK_BATCH || k + 1 == p->n) {
            block_lookup_inuse_batch(t, addrs, got, nb);
            CHECK(memcmp(want, got, nb * sizeof *got) == 0);
            nb = 0;
        }
    }
}

/* go_words over [addr, addr + len) against a direct reading of the bitmap. */
static uint64_t check_words(const struct go_bits *b, uint64_t addr, uint64_t len)
{
    struct go_words it;
    go_words_begin(&it, b, addr, len);
    uint64_t end = addr + (len & ~(uint64_t)7), steps = 0;
    for (uint64_t x = addr; x < end; x += 8, steps++) {
        unsigned e = oracle_entry(b, x);
        CHECK(go_bits_word(b, go_bits_arena(b, x), x) == e);
        if (!(e & 2))
            break;
        if (e & 1)
            CHECK(go_words_next(&it) == x);
    }
    CHECK(go_words_next(&it) == 0);
    CHECK(go_words_next(&it) == 0);
    return steps + 1;
}

static void check_go_words(const struct block_table *t, const struct go_bits *b)
{
    uint64_t budget = MAX_WORD_STEPS;
    uint32_t stride = check_stride(t);
    for (uint32_t i = 0; i < t->n && budget > 0; i += stride) {
        if (block_kind(t, i) != BLOCK_KIND_GO || block_state(t, i) != BLOCK_INUSE)
            continue;
        uint64_t addr = t->blocks[i].addr, size = t->blocks[i].size;
        uint64_t len = size < WORDS_WINDOW ? size : WORDS_WINDOW;
        budget -= budget < len / 8 ? budget : len / 8;
        check_words(b, addr, len);
        /* a large object: also the words around the first arena edge in it */
        uint64_t edge = addr + (b->arena_bytes - (addr - (b->narenas ? b->arenas[0].start : 0)) % b->arena_bytes);
        if (size > WORDS_WINDOW && edge - addr < size && edge - addr > 64) {
            uint64_t from = addr + ((edge - addr - 64) & ~(uint64_t)7);
            uint64_t n = addr + size - from < 256 ? addr + size - from : 256;
            check_words(b, from, n);
        }
    }
}

static void check_heap(const struct go_heap *h, const struct heap_report *rep, const struct go_layout *lay)
{
    CHECK(rep->nwarnings <= HEAP_REPORT_MAX_WARNINGS + 1);   /* the cap, and the "... and N more" */
    for (uint32_t i = 0; i < rep->nwarnings; i++)
        CHECK(rep->warnings[i] && rep->warnings[i][0]);
    CHECK(h->bits.arena_bytes == lay->arena_bytes);
    for (uint32_t i = 0; i < h->bits.narenas; i++) {
        CHECK(h->bits.arenas[i].bits != NULL);
        if (i)
            CHECK(h->bits.arenas[i].start - h->bits.arenas[i - 1].start >= lay->arena_bytes &&
                        h->bits.arenas[i].start > h->bits.arenas[i - 1].start);
    }
    CHECK(h->nruns <= h->nspans);
    for (uint32_t i = 0; i < h->nruns; i++) {
        const struct block_run_desc *r = &h->runs[i];
        CHECK(r->size > 0 && r->count > 0);
        CHECK(r->size * r->count / r->count == r->size && r->start + r->size * r->count >= r->start);
    }
    for (uint32_t i = 0; i < h->nfinalizers; i++)
        CHECK(h->finalizers[i].fn != 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct go_layout lay = pick_layout(data, size);
    struct space sp;
    struct mapping maps[NREGIONS];
    size_t at = HEADER, nmaps = 0;
    for (size_t i = 0; i < NREGIONS; i++) {
        uint64_t readable = fuzz_get(data, size, REGION_AT(i), 4);
        uint64_t data_len = fuzz_get(data, size, REGION_AT(i) + 4, 4);
        size_t left = at < size ? size - at : 0;
        if (readable > region_max[i])
            readable = region_max[i];
        if (data_len > readable)
            data_len = readable;
        if (data_len > left)
            data_len = left;
        sp.r[i] = (struct region){ region_start[i], readable, data_len, data_len ? data + at : NULL };
        at += data_len;
        if (readable)
            maps[nmaps++] = (struct mapping){ .start = region_start[i], .end = region_start[i] + readable,
                                              .prot = MAP_PROT_R | MAP_PROT_W };
    }
    if (!claims_fit(&sp, &lay)) {
        if (getenv("RETAIN_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz_go: skipped: the heap claims more than the fuzzer's limits\n");
        return 0;
    }

    struct memory *mem = NULL;
    struct retain_error *err = memory_open_callback(space_read, &sp, maps, nmaps, &mem);
    FUZZ_ASSERT(err == NULL && mem != NULL);

    struct block_table t;
    struct go_heap h;
    struct heap_report rep;
    memset(&h, 0, sizeof h);
    memset(&rep, 0, sizeof rep);
    block_table_init(&t);
    refused = 0;
    limit_on = 1;
    err = go_walk(mem, &lay, &t, &h, &rep);
    int finished = 0;
    if (!err) {
        phase = "what go_walk returned";
        check_heap(&h, &rep, &lay);
        err = block_table_finish(&t);
        finished = err == NULL;
    }
    limit_on = 0;
    if (getenv("RETAIN_FUZZ_VERBOSE")) {   /* to see what a seed or a case does */
        fprintf(stderr, "fuzz_go: %s%s; %u blocks, %u spans (%u runs), %u stack spans, %u arenas with bits, "
                "%u finalizers\n", err ? "error: " : "ok", err ? err->msg : "", t.n, h.nspans, h.nruns,
                h.nstack_spans, h.bits.narenas, h.nfinalizers);
        for (uint32_t i = 0; i < rep.nwarnings; i++)
            fprintf(stderr, "  warning: %s\n", rep.warnings[i]);
    }
    if (refused)
        fprintf(stderr, "fuzz_go: the walk asked for %zu bytes at once, though the heap claims far less\n", refused);
    FUZZ_ASSERT(refused == 0);
    if (err) {
        FUZZ_ASSERT(err->msg[0] != '\0');
        FUZZ_ASSERT(strstr(err->msg, "out of memory") == NULL);
    }

    if (finished) {
        phase = "the finished table";
        for (uint32_t i = 1; i < t.n; i++)
            CHECK(t.blocks[i - 1].addr + t.blocks[i - 1].size <= t.blocks[i].addr);
        for (uint32_t i = 0; i < t.n; i++)
            CHECK(block_kind(&t, i) == BLOCK_KIND_GO || block_kind(&t, i) == BLOCK_KIND_GO_NOSCAN);
        /* probes: block edges, the input's offsets, every word of the regions' data */
        struct probes p = { NULL, 0, 0 };
        uint32_t stride = check_stride(&t);
        for (uint32_t i = 0; i < t.n; i += stride) {
            const struct block *b = &t.blocks[i];
            probe(&p, b->addr - 1);
            probe(&p, b->addr + b->size);
            probe(&p, b->addr + b->size + 8);
        }
        for (size_t k = 0; k < 8; k++)
            probe(&p, (t.n ? t.blocks[0].addr : 0) + fuzz_get(data, size, 128 + 8 * k, 8));
        for (size_t off = HEADER; off + 8 <= at && p.n < 16384; off += 8)
            probe(&p, fuzz_get(data, size, off, 8));
        probe(&p, 0);
        probe(&p, UINT64_MAX);

        phase = "lookups through the granule index";
        check_lookups(&t, &p);
        t.gobits = &h.bits;
        phase = "go_words against the bitmap";
        check_go_words(&t, &h.bits);
        err = block_table_set_runs(&t, h.runs, h.nruns, (uint32_t)__builtin_ctzll(lay.page_bytes));
        FUZZ_ASSERT(err == NULL);
        if (t.page_run) {
            FUZZ_ASSERT(t.nruns == h.nruns);
            for (uint32_t i = 0; i < t.nruns; i++)
                probe(&p, t.runs[i].end - 1);
        }
        phase = t.page_run ? "lookups through the span runs (block_table_set_runs)"
                           : "lookups after block_table_set_runs (runs not used)";
        check_lookups(&t, &p);
        (void)block_table_memory(&t);
        free(p.v);
        if (getenv("RETAIN_FUZZ_VERBOSE"))
            fprintf(stderr, "fuzz_go: lookups by %s\n", t.page_run ? "span runs" : "the granule index (runs refused)");
    }
    retain_error_destroy(err);
    heap_report_deinit(&rep);
    go_heap_deinit(&h);
    block_table_deinit(&t);
    memory_destroy(mem);
    return 0;
}
