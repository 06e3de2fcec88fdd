/* Fuzz target: the glibc heap walker (heap_glibc.c) and the block table
 * (blocks.c) over an arbitrary address space.
 *
 * Input layout (little-endian; bytes past the end of the input read as 0):
 *
 *   off  size
 *     0     1  flags: 1 safe_linking, 2 one-byte tcache counts, 4 layout
 *               from the header (else glibc 2.36 x86_64's), 8 no sbrk_base
 *     1     1  number of regions (mod MAX_REGIONS + 1)
 *     2     1  number of tcaches (mod MAX_TCACHES + 1)
 *     3     1  nfastbins (custom layout only)
 *     4     4  tcache_bins (custom layout only)
 *     8     8  &main_arena
 *    16     8  mp_.sbrk_base
 *    24    32  tcaches[4]
 *    56    28  custom layout: off_fastbins, off_top, off_next,
 *               sizeof_malloc_state, sizeof_heap_info, off_heap_info_size,
 *               off_heap_info_prev (u32 each)
 *    84     4  heap_max_size as log2 (custom layout only)
 *    88  24*8  regions: start (u64), mapped length (u32), readable length
 *               (u32), prot (u8), named (u8: a file path, so never scanned
 *               for mmapped chunks), 6 bytes unused
 *   280        the regions' readable bytes, one after another (a region
 *               whose bytes run out is readable only as far as they go)
 *
 * Regions that overlap an earlier one or wrap around are dropped, since a
 * memory source promises sorted, disjoint mappings. The walk must return
 * (no crash, no hang); when it succeeds, block_table_finish runs, and every
 * block must be found again by block_lookup (its first and last byte),
 * with block_lookup_inuse and the batched lookup agreeing. */
#include <string.h>

#include "blocks.h"
#include "fuzz_common.h"
#include "heap_glibc.h"
#include "memory.h"

#define MAX_REGIONS 8
#define MAX_TCACHES 4
#define HEADER (88 + 24 * MAX_REGIONS)
#define REGION_AT(i) (88 + 24 * (i))
#define MAX_MAPPED ((uint64_t)1 << 30)   /* a mapping larger than this is cut to it */
#define MAX_CHECKED_BLOCKS 4096

struct region {
    uint64_t start, map_len, data_len;
    const uint8_t *data;
};

struct space {
    struct region r[MAX_REGIONS];
    size_t n;
};

/* A memory_read_fn: the readable prefix, across adjacent regions. */
static size_t space_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    const struct space *sp = ctx;
    size_t done = 0;
    while (done < len) {
        uint64_t a = addr + done;
        const struct region *hit = NULL;
        for (size_t i = 0; i < sp->n; i++)
            if (a - sp->r[i].start < sp->r[i].data_len)
                hit = &sp->r[i];
        if (!hit)
            break;
        uint64_t avail = hit->data_len - (a - hit->start);
        size_t n = avail < len - done ? (size_t)avail : len - done;
        memcpy((uint8_t *)buf + done, hit->data + (a - hit->start), n);
        done += n;
    }
    return done;
}

static int overlaps(const struct space *sp, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < sp->n; i++)
        if (start < sp->r[i].start + sp->r[i].map_len && sp->r[i].start < end)
            return 1;
    return 0;
}

static void check_table(const struct block_table *t, const uint8_t *data, size_t size)
{
    for (uint32_t i = 1; i < t->n; i++)
        FUZZ_ASSERT(t->blocks[i - 1].addr + t->blocks[i - 1].size <= t->blocks[i].addr);
    uint64_t addrs[BLOCK_BATCH];
    uint32_t want[BLOCK_BATCH], got[BLOCK_BATCH];
    size_t nb = 0;
    for (uint32_t i = 0; i < t->n && i < MAX_CHECKED_BLOCKS; i++) {
        const struct block *b = &t->blocks[i];
        if (b->size == 0)
            continue;
        FUZZ_ASSERT(block_lookup(t, b->addr) == i);
        FUZZ_ASSERT(block_lookup(t, b->addr + b->size - 1) == i);
        FUZZ_ASSERT(block_lookup(t, b->addr + b->size / 2) == i);
        uint32_t after = block_lookup(t, b->addr + b->size);
        FUZZ_ASSERT(after == BLOCK_NONE || after == i + 1);
        uint32_t inuse = block_lookup_inuse(t, b->addr);
        FUZZ_ASSERT(inuse == (block_state(t, i) == BLOCK_INUSE ? i : BLOCK_NONE));
        FUZZ_ASSERT(block_kind(t, i) <= BLOCK_KIND_GO);
    }
    /* the batched lookup agrees with the single one, on block edges and on
     * words taken from the input (pointer-like values the fuzzer chose) */
    for (uint32_t i = 0; i < t->n && i < MAX_CHECKED_BLOCKS; i++) {
        uint64_t probes[3] = { t->blocks[i].addr - 1, t->blocks[i].addr + 8, t->blocks[i].addr + t->blocks[i].size };
        for (int k = 0; k < 3; k++) {
            addrs[nb] = probes[k];
            want[nb] = block_lookup_inuse(t, probes[k]);
            if (++nb == BLOCK_BATCH) {
                block_lookup_inuse_batch(t, addrs, got, nb);
                FUZZ_ASSERT(memcmp(want, got, nb * sizeof *got) == 0);
                nb = 0;
            }
        }
    }
    for (size_t off = HEADER; off + 8 <= size && off < HEADER + 64 * 8; off += 8) {
        addrs[nb] = fuzz_get(data, size, off, 8);
        want[nb] = block_lookup_inuse(t, addrs[nb]);
        if (++nb == BLOCK_BATCH) {
            block_lookup_inuse_batch(t, addrs, got, nb);
            FUZZ_ASSERT(memcmp(want, got, nb * sizeof *got) == 0);
            nb = 0;
        }
    }
    if (nb) {
        block_lookup_inuse_batch(t, addrs, got, nb);
        FUZZ_ASSERT(memcmp(want, got, nb * sizeof *got) == 0);
    }
    FUZZ_ASSERT(block_lookup(t, 0) == BLOCK_NONE || t->blocks[0].addr == 0);
    (void)block_table_memory(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t flags = (uint8_t)fuzz_get(data, size, 0, 1);
    size_t nregions = fuzz_get(data, size, 1, 1) % (MAX_REGIONS + 1);
    uint32_t ntcaches = (uint32_t)(fuzz_get(data, size, 2, 1) % (MAX_TCACHES + 1));
    uint64_t tcaches[MAX_TCACHES];
    for (uint32_t i = 0; i < MAX_TCACHES; i++)
        tcaches[i] = fuzz_get(data, size, 24 + 8 * i, 8);

    struct glibc_layout lay = {
        .main_arena = fuzz_get(data, size, 8, 8),
        .sbrk_base = flags & 8 ? 0 : fuzz_get(data, size, 16, 8),
        .off_fastbins = 16, .nfastbins = 10, .off_top = 96, .off_next = 2160,
        .off_system_mem = 2184, .sizeof_malloc_state = 2200,
        .sizeof_heap_info = 48, .off_heap_info_size = 16, .off_heap_info_prev = 8,
        .heap_max_size = 64 << 20, .safe_linking = flags & 1,
        .tcaches = ntcaches ? tcaches : NULL, .ntcaches = ntcaches,
        .tcache_bins = 64, .tcache_count_size = flags & 2 ? 1 : 2,
    };
    if (flags & 4) {
        lay.nfastbins = (uint32_t)fuzz_get(data, size, 3, 1);
        lay.tcache_bins = (uint32_t)fuzz_get(data, size, 4, 4);
        lay.off_fastbins = (uint32_t)fuzz_get(data, size, 56, 4);
        lay.off_top = (uint32_t)fuzz_get(data, size, 60, 4);
        lay.off_next = (uint32_t)fuzz_get(data, size, 64, 4);
        lay.sizeof_malloc_state = (uint32_t)fuzz_get(data, size, 68, 4);
        lay.sizeof_heap_info = (uint32_t)fuzz_get(data, size, 72, 4);
        lay.off_heap_info_size = (uint32_t)fuzz_get(data, size, 76, 4);
        lay.off_heap_info_prev = (uint32_t)fuzz_get(data, size, 80, 4);
        lay.heap_max_size = (uint64_t)1 << (fuzz_get(data, size, 84, 4) % 64);
    }

    struct space sp = { .n = 0 };
    struct mapping maps[MAX_REGIONS];
    size_t at = HEADER;
    for (size_t i = 0; i < nregions; i++) {
        uint64_t start = fuzz_get(data, size, REGION_AT(i), 8);
        uint64_t map_len = fuzz_get(data, size, REGION_AT(i) + 8, 4);
        uint64_t data_len = fuzz_get(data, size, REGION_AT(i) + 12, 4);
        uint32_t prot = (uint32_t)fuzz_get(data, size, REGION_AT(i) + 16, 1) & 7u;
        int named = (int)fuzz_get(data, size, REGION_AT(i) + 17, 1) & 1;
        if (map_len > MAX_MAPPED)
            map_len = MAX_MAPPED;
        size_t left = at < size ? size - at : 0;
        if (data_len > left)
            data_len = left;
        if (data_len > map_len)
            data_len = map_len;
        if (map_len == 0 || start + map_len < start || overlaps(&sp, start, start + map_len))
            continue;
        sp.r[sp.n] = (struct region){ start, map_len, data_len, data + at };
        maps[sp.n] = (struct mapping){
            .start = start, .end = start + map_len, .prot = prot,
            .path = named ? "/usr/lib/x86_64-linux-gnu/libc.so.6" : NULL,
        };
        sp.n++;
        at += data_len;
    }

    struct memory *mem = NULL;
    struct retain_error *err = memory_open_callback(space_read, &sp, maps, sp.n, &mem);
    FUZZ_ASSERT(err == NULL && mem != NULL);
    const struct mapping *m;
    size_t nm = memory_mappings(mem, &m);
    FUZZ_ASSERT(nm == sp.n);
    for (size_t i = 1; i < nm; i++)
        FUZZ_ASSERT(m[i - 1].end <= m[i].start);

    struct block_table t;
    struct heap_report rep;
    block_table_init(&t);
    err = glibc_walk(mem, &lay, &t, &rep);
    if (err) {
        FUZZ_ASSERT(err->msg[0] != '\0');
    } else {
        for (uint32_t i = 0; i < rep.nwarnings; i++)
            FUZZ_ASSERT(rep.warnings[i] && rep.warnings[i][0]);
        FUZZ_ASSERT(rep.nwarnings <= HEAP_REPORT_MAX_WARNINGS + 1);
        err = block_table_finish(&t);
        if (!err)
            check_table(&t, data, size);
    }
    if (getenv("RETAIN_FUZZ_VERBOSE")) {   /* to see what a seed or a case does */
        fprintf(stderr, "fuzz_glibc: %u regions, %s%s; %u blocks, %u arenas, %u heaps, %u mmapped\n",
                (unsigned)sp.n, err ? "error: " : "ok", err ? err->msg : "", t.n, rep.narenas,
                rep.nheaps, rep.nmmapped);
        for (uint32_t i = 0; i < rep.nwarnings; i++)
            fprintf(stderr, "  warning: %s\n", rep.warnings[i]);
    }
    retain_error_destroy(err);
    heap_report_deinit(&rep);
    block_table_deinit(&t);
    memory_destroy(mem);
    return 0;
}
