/* The Go heap walker on a synthetic address space: mheap_.allspans with a
 * scannable span, a noscan span, a stack span and a corrupt span, one
 * finalizer special, and the arena's pointer bitmap (Go 1.19's 2-bit form).
 * The mspan offsets are Go 1.19's (ptype /o runtime.mspan). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "heap_go.h"

#define ARENA      0xc000000000ull
#define ARENA_LEN  (64ull << 20)
#define BASE_OFF   0xffff800000000000ull
#define L2_ENTRIES (1ull << 22)
#define PAGE       8192ull
#define MHEAP      0x550000ull            /* allspans header at +0, arenas at +0x100 */
#define SPANS      0x560000ull            /* the []*mspan array */
#define MSPANS     0x570000ull            /* the mspan records, 0x100 apart */
#define BITS       0x580000ull            /* allocBits */
#define SPECIAL    0x590000ull
#define L2ARRAY    0x600000000ull         /* the *[L2]*heapArena array */
#define HEAPARENA  0x700000000ull         /* heapArena: bitmap first */

#define ARENA_IDX  ((ARENA - BASE_OFF) / ARENA_LEN)

struct region { uint64_t addr, len; uint8_t *buf; };

static struct region regions[8];
static size_t nregions;

static uint8_t *region(uint64_t addr, uint64_t len)
{
    regions[nregions] = (struct region){ addr, len, calloc(1, len) };
    return regions[nregions++].buf;
}

static size_t read_world(void *ctx, uint64_t addr, void *buf, size_t len)
{
    (void)ctx;
    for (size_t i = 0; i < nregions; i++) {
        struct region *r = &regions[i];
        if (addr >= r->addr && addr - r->addr < r->len) {
            size_t n = r->len - (addr - r->addr) < len ? r->len - (addr - r->addr) : len;
            memcpy(buf, r->buf + (addr - r->addr), n);
            return n;
        }
    }
    return 0;
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static const struct go_layout LAYOUT = {
    .allspans = MHEAP, .arenas = MHEAP + 0x100, .arena_l1 = 1, .arena_l2 = L2_ENTRIES,
    .arena_bytes = ARENA_LEN, .arena_base_offset = BASE_OFF, .page_bytes = PAGE,
    .off_bitmap = 0, .bitmap_bytes = ARENA_LEN / 32,
    .sizeof_mspan = 144, .off_startaddr = 24, .off_npages = 32, .off_freeindex = 48, .off_nelems = 56,
    .off_allocbits = 72, .off_spanclass = 98, .off_state = 99, .off_elemsize = 104, .off_specials = 128,
    .off_special_next = 0, .off_special_offset = 8, .off_special_kind = 10, .off_finalizer_fn = 16,
};

static void span(uint8_t *ms, uint64_t start, uint64_t npages, uint64_t elemsize, uint64_t nelems,
                 uint64_t freeindex, uint64_t allocbits, uint8_t spanclass, uint8_t state, uint64_t specials)
{
    put64(ms + 24, start);
    put64(ms + 32, npages);
    put64(ms + 48, freeindex);
    put64(ms + 56, nelems);
    put64(ms + 72, allocbits);
    ms[98] = spanclass;
    ms[99] = state;
    put64(ms + 104, elemsize);
    put64(ms + 128, specials);
}

/* Sets the 2-bit entry of the heap word at addr. */
static void bitmap_word(uint8_t *bitmap, uint64_t addr, int pointer, int scan)
{
    uint64_t w = (addr - ARENA) / 8;
    bitmap[w / 4] |= (uint8_t)((pointer << (w % 4)) | (scan << (4 + w % 4)));
}

static void build_world(void)
{
    uint8_t *mheap = region(MHEAP, 0x200), *spans = region(SPANS, 64), *ms = region(MSPANS, 0x400);
    uint8_t *bits = region(BITS, 0x100), *special = region(SPECIAL, 64);
    uint8_t *l2 = region(L2ARRAY + ARENA_IDX * 8, 8), *bitmap = region(HEAPARENA, ARENA_LEN / 32);
    put64(mheap, SPANS);
    put64(mheap + 8, 4);
    put64(mheap + 0x100, L2ARRAY);
    put64(l2, HEAPARENA);
    for (int i = 0; i < 4; i++)
        put64(spans + 8 * i, MSPANS + 0x100 * (uint64_t)i);
    /* A: 256 objects of 32 bytes, pointerful; 0 and 1 below freeindex, 5 by allocBits */
    span(ms, ARENA, 1, 32, 256, 2, BITS, 2 << 1, GO_SPAN_INUSE, SPECIAL);
    bits[0] = 1u << 5;
    /* B: 512 objects of 16 bytes, noscan; 0 and 3 allocated */
    span(ms + 0x100, ARENA + PAGE, 1, 16, 512, 0, BITS + 0x40, (1 << 1) | 1, GO_SPAN_INUSE, 0);
    bits[0x40] = 1u | (1u << 3);
    /* C: a goroutine stack */
    span(ms + 0x200, ARENA + 2 * PAGE, 4, 0, 0, 0, 0, 0, GO_SPAN_MANUAL, 0);
    /* D: claims more objects than its one page holds */
    span(ms + 0x300, ARENA + 6 * PAGE, 1, 64, 1000, 0, BITS + 0x80, 0, GO_SPAN_INUSE, 0);
    /* A finalizer on A's object 5, whose function value is 0xf00d */
    put64(special, 0);
    special[8] = 5 * 32;
    special[10] = GO_SPECIAL_FINALIZER;
    put64(special + 16, 0xf00d);
    /* A's object 0: pointer, scalar, pointer, then no more pointers */
    bitmap_word(bitmap, ARENA + 0, 1, 1);
    bitmap_word(bitmap, ARENA + 8, 0, 1);
    bitmap_word(bitmap, ARENA + 16, 1, 1);
    /* object 1: no pointers, though a stale pointer bit follows the dead word */
    bitmap_word(bitmap, ARENA + 40, 1, 1);
}

static int pointer_words(const struct go_bits *b, uint64_t addr, uint64_t size, uint64_t *out, int max)
{
    struct go_words it;
    go_words_begin(&it, b, addr, size);
    int n = 0;
    for (uint64_t a; (a = go_words_next(&it)) != 0 && n < max;)
        out[n++] = a;
    return n;
}

static void check_lookups(const struct block_table *t)
{
    uint32_t a0 = block_lookup_inuse(t, ARENA + 8), a5 = block_lookup_inuse(t, ARENA + 5 * 32);
    CHECK(a0 != BLOCK_NONE && t->blocks[a0].addr == ARENA && t->blocks[a0].size == 32);
    CHECK(a5 != BLOCK_NONE && block_kind(t, a5) == BLOCK_KIND_GO && t->blocks[a5].addr == ARENA + 5 * 32);
    CHECK(block_lookup_inuse(t, ARENA + 32) != BLOCK_NONE);      /* below freeindex */
    CHECK(block_lookup_inuse(t, ARENA + 2 * 32) == BLOCK_NONE);  /* free slot */
    CHECK(block_lookup(t, ARENA + 2 * 32) != BLOCK_NONE);
    uint32_t b3 = block_lookup_inuse(t, ARENA + PAGE + 3 * 16 + 15);
    CHECK(b3 != BLOCK_NONE && block_kind(t, b3) == BLOCK_KIND_GO_NOSCAN && t->blocks[b3].addr == ARENA + PAGE + 48);
    CHECK(block_lookup_inuse(t, ARENA + PAGE + 16) == BLOCK_NONE);
    CHECK(block_lookup(t, ARENA + 2 * PAGE) == BLOCK_NONE);      /* stacks are not objects */
    CHECK(block_lookup(t, ARENA - 8) == BLOCK_NONE);
    uint64_t addrs[3] = { ARENA + 5 * 32 + 8, ARENA + 3 * 32, ARENA + PAGE };
    uint32_t ids[3];
    block_lookup_inuse_batch(t, addrs, ids, 3);
    CHECK(ids[0] == a5 && ids[1] == BLOCK_NONE && ids[2] != BLOCK_NONE && t->blocks[ids[2]].addr == ARENA + PAGE);
}

int main(void)
{
    build_world();
    struct memory *mem;
    struct mapping maps[] = { { ARENA, ARENA + ARENA_LEN, 0, MAP_PROT_R | MAP_PROT_W, NULL } };
    CHECK(memory_open_callback(read_world, NULL, maps, 1, &mem) == NULL);
    struct block_table t;
    struct go_heap h;
    struct heap_report rep;
    memset(&h, 0, sizeof h);
    memset(&rep, 0, sizeof rep);
    block_table_init(&t);
    CHECK(go_walk(mem, &LAYOUT, &t, &h, &rep) == NULL);
    CHECK(block_table_finish(&t) == NULL);
    t.gobits = &h.bits;
    for (int pass = 0; pass < 2; pass++) {   /* the granule index, then span arithmetic */
        if (pass == 1) {
            CHECK(h.nruns == 2);
            CHECK(block_table_set_runs(&t, h.runs, h.nruns, 13) == NULL);
            CHECK(t.page_run != NULL);
        }
        check_lookups(&t);
    }

    CHECK(t.n == 256 + 512);                 /* D is skipped, C has no objects */
    CHECK(h.nspans == 2 && h.nstack_spans == 1 && h.stack_bytes == 4 * PAGE);
    CHECK(rep.inuse_bytes == 3 * 32 + 2 * 16);

    CHECK(h.nfinalizers == 1 && h.finalizers[0].object == ARENA + 5 * 32 && h.finalizers[0].fn == 0xf00d);
    CHECK(rep.nsegments == 1 && rep.segments[0].start == ARENA && rep.segments[0].end == ARENA + ARENA_LEN);
    CHECK(rep.nwarnings == 1 && strstr(rep.warnings[0], "looks corrupt") != NULL);

    uint64_t words[8];
    int n = pointer_words(&h.bits, ARENA, 32, words, 8);
    CHECK(n == 2 && words[0] == ARENA && words[1] == ARENA + 16);
    CHECK(pointer_words(&h.bits, ARENA + 32, 32, words, 8) == 0);   /* stale bit past a dead word */
    CHECK(pointer_words(&h.bits, 0x1000, 32, words, 8) == 0);       /* outside every arena */

    /* A layout whose sizes disagree is refused, not walked. */
    struct go_layout bad = LAYOUT;
    bad.bitmap_bytes = 1000;
    struct block_table t2;
    struct go_heap h2;
    struct heap_report rep2;
    memset(&h2, 0, sizeof h2);
    memset(&rep2, 0, sizeof rep2);
    block_table_init(&t2);
    struct retain_error *err = go_walk(mem, &bad, &t2, &h2, &rep2);
    CHECK(err != NULL && strstr(err->msg, "inconsistent") != NULL);
    retain_error_destroy(err);
    /* allspans pointing at garbage: a clear error */
    struct go_layout wild = LAYOUT;
    wild.allspans = 0xdead0000;
    err = go_walk(mem, &wild, &t2, &h2, &rep2);
    CHECK(err != NULL && strstr(err->msg, "allspans") != NULL);
    retain_error_destroy(err);
    block_table_deinit(&t2);
    go_heap_deinit(&h2);
    heap_report_deinit(&rep2);

    block_table_deinit(&t);
    go_heap_deinit(&h);
    heap_report_deinit(&rep);
    memory_destroy(mem);
    for (size_t i = 0; i < nregions; i++)
        free(regions[i].buf);
    return CHECK_DONE();
}
