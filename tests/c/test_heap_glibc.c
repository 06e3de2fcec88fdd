/* The glibc heap walker on a synthetic address space: a main arena with an
 * sbrk heap, a non-main arena with two heaps, tcache and fastbin lists,
 * mmapped chunks (one memaligned), and corrupt variants of each. The
 * layout numbers are glibc 2.36 x86_64's (ptype /o struct malloc_state). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "heap_glibc.h"

#define MAIN_ARENA 0x7f0000200100ull     /* in libc's .data */
#define LIBC_DATA  0x7f0000200000ull
#define SBRK       0x555555559000ull
#define SBRK_LEN   0x21000ull
#define H1         0x7e0004000000ull     /* the non-main arena's first heap */
#define H1_LEN     0x2000ull
#define ARENA      (H1 + 48)
#define H2         0x7e0008000000ull     /* its second heap, holding top */
#define H2_LEN     0x3000ull
#define MM         0x7d0000000000ull     /* mmapped chunks */
#define MM_LEN     0x9000ull
#define STACK      0x7c0000000000ull     /* a thread stack: no chunks */
#define STACK_LEN  0x4000ull

/* main heap chunks */
#define C0 (SBRK + 0x000)   /* tcache_perthread_struct of thread 1 */
#define C1 (SBRK + 0x290)
#define C2 (SBRK + 0x2b0)   /* free, in a bin */
#define C3 (SBRK + 0x340)
#define C4 (SBRK + 0x370)   /* tcache */
#define C5 (SBRK + 0x3b0)
#define C6 (SBRK + 0x3d0)   /* fastbin 0, first */
#define C7 (SBRK + 0x3f0)
#define C8 (SBRK + 0x13f0)  /* fastbin 0, second (another page: other mangling key) */
#define C9 (SBRK + 0x1410)
#define MTOP (SBRK + 0x1440)
/* non-main heap chunks */
#define D0 (H1 + 0x8d0)     /* after heap_info (48) + malloc_state (2200), aligned */
#define D1 (H1 + 0xb60)
#define D2 (H1 + 0xbb0)     /* the old top, freed when H2 was made */
#define FP1 (H1 + H1_LEN - 32)
#define E0 (H2 + 0x30)
#define E1 (H2 + 0x130)     /* tcache of thread 2 */
#define E2 (H2 + 0x170)
#define E3 (H2 + 0x1d0)     /* tcache of thread 2 */
#define E4 (H2 + 0x210)     /* fastbin 1 of the arena */
#define ATOP (H2 + 0x240)
#define MEMALIGNED (MM + 0x5030)

#define P 1ull
#define M 2ull
#define NM 4ull

struct region { uint64_t addr, len; uint8_t *buf; };

struct world {
    struct region r[8];
    size_t nr;
    struct mapping maps[8];
    size_t nmaps;
    uint64_t tcaches[2];
    struct glibc_layout lay;
};

static size_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct world *w = ctx;
    for (size_t i = 0; i < w->nr; i++) {
        struct region *r = &w->r[i];
        if (addr >= r->addr && addr < r->addr + r->len) {
            size_t n = r->addr + r->len - addr < len ? (size_t)(r->addr + r->len - addr) : len;
            memcpy(buf, r->buf + (addr - r->addr), n);
            return n;
        }
    }
    return 0;
}

static uint8_t *at(struct world *w, uint64_t addr)
{
    for (size_t i = 0; i < w->nr; i++)
        if (addr >= w->r[i].addr && addr + 8 <= w->r[i].addr + w->r[i].len)
            return w->r[i].buf + (addr - w->r[i].addr);
    fprintf(stderr, "test bug: no region at 0x%llx\n", (unsigned long long)addr);
    abort();
}

static void put64(struct world *w, uint64_t addr, uint64_t v) { memcpy(at(w, addr), &v, 8); }
static void put16(struct world *w, uint64_t addr, uint16_t v) { memcpy(at(w, addr), &v, 2); }
static void chunk(struct world *w, uint64_t c, uint64_t size) { put64(w, c + 8, size); }
static uint64_t protect(uint64_t pos, uint64_t ptr) { return (pos >> 12) ^ ptr; }

static void region(struct world *w, uint64_t addr, uint64_t len)
{
    w->r[w->nr++] = (struct region){ addr, len, calloc(1, len) };
}

static void map(struct world *w, uint64_t start, uint64_t end, uint32_t prot, char *path)
{
    w->maps[w->nmaps++] = (struct mapping){ start, end, 0, prot, path };
}

static void build(struct world *w)
{
    memset(w, 0, sizeof *w);
    /* sorted by address, as memory_mappings promises */
    region(w, SBRK, SBRK_LEN);
    region(w, STACK, STACK_LEN);
    region(w, MM, MM_LEN);
    region(w, H1, 0x4000);           /* rw beyond heap_info.size: not scanned */
    region(w, H2, H2_LEN);
    region(w, LIBC_DATA, 0x2000);
    map(w, SBRK, SBRK + SBRK_LEN, MAP_PROT_R | MAP_PROT_W, NULL);  /* a core's [heap] has no path */
    map(w, STACK, STACK + STACK_LEN, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, MM, MM + MM_LEN, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, H1, H1 + 0x4000, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, H1 + 0x4000, H1 + (64 << 20), 0, NULL);
    map(w, H2, H2 + H2_LEN, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, LIBC_DATA, LIBC_DATA + 0x2000, MAP_PROT_R | MAP_PROT_W, "/usr/lib/x86_64-linux-gnu/libc.so.6");

    /* main arena: ring main -> ARENA -> main, fastbin 0: C6 -> C8 */
    put64(w, MAIN_ARENA + 96, MTOP);
    put64(w, MAIN_ARENA + 2160, ARENA);
    put64(w, MAIN_ARENA + 16, C6);

    chunk(w, C0, 0x290 | P);
    chunk(w, C1, 0x20 | P);
    chunk(w, C2, 0x90 | P);
    put64(w, C3, 0x90);
    chunk(w, C3, 0x30);              /* C2 is free */
    chunk(w, C4, 0x40 | P);
    put64(w, C4 + 16, protect(C4 + 16, 0));
    chunk(w, C5, 0x20 | P);
    chunk(w, C6, 0x20 | P);
    put64(w, C6 + 16, protect(C6 + 16, C8));
    chunk(w, C7, 0x1000 | P);
    chunk(w, C8, 0x20 | P);
    put64(w, C8 + 16, protect(C8 + 16, 0));
    chunk(w, C9, 0x30 | P);
    chunk(w, MTOP, (SBRK + SBRK_LEN - MTOP) | P);
    /* thread 1's tcache (in C0): bin 2 holds C4 */
    put16(w, C0 + 16 + 2 * 2, 1);
    put64(w, C0 + 16 + 128 + 2 * 8, C4 + 16);

    /* the non-main arena */
    put64(w, H1, ARENA);
    put64(w, H1 + 8, 0);
    put64(w, H1 + 16, H1_LEN);
    put64(w, ARENA + 96, ATOP);
    put64(w, ARENA + 2160, MAIN_ARENA);
    put64(w, ARENA + 16 + 8, E4);
    chunk(w, D0, 0x290 | P | NM);
    chunk(w, D1, 0x50 | P | NM);
    chunk(w, D2, (FP1 - D2) | P);
    put64(w, FP1, FP1 - D2);
    chunk(w, FP1, 0x10);             /* fencepost; D2 is free */
    chunk(w, FP1 + 16, 0 | P);
    put64(w, H1 + 0x3000 + 8, 0x1000 | M);  /* past heap_info.size: must not be taken */
    put64(w, H2, ARENA);
    put64(w, H2 + 8, H1);
    put64(w, H2 + 16, H2_LEN);
    chunk(w, E0, 0x100 | P | NM);
    chunk(w, E1, 0x40 | P | NM);
    put64(w, E1 + 16, protect(E1 + 16, E3 + 16));
    chunk(w, E2, 0x60 | P | NM);
    chunk(w, E3, 0x40 | P | NM);
    put64(w, E3 + 16, protect(E3 + 16, 0));
    chunk(w, E4, 0x30 | P | NM);
    put64(w, E4 + 16, protect(E4 + 16, 0));
    chunk(w, ATOP, (H2 + H2_LEN - ATOP) | P);
    /* thread 2's tcache (in D0): bin 2 holds E1 -> E3 */
    put16(w, D0 + 16 + 2 * 2, 2);
    put64(w, D0 + 16 + 128 + 2 * 8, E1 + 16);

    /* mmapped: two plain chunks and one moved by memalign(64) */
    chunk(w, MM, 0x2000 | M);
    chunk(w, MM + 0x2000, 0x3000 | M);
    chunk(w, MM + 0x5000, 0x4000 | M);
    put64(w, MEMALIGNED, 0x30);
    chunk(w, MEMALIGNED, (0x4000 - 0x30) | M);
    /* a stack: near misses only */
    chunk(w, STACK, 0x1000 | M | P);
    chunk(w, STACK + 0x1000, 0x100000 | M);       /* larger than the mapping */
    put64(w, STACK + 0x2000, 8);
    chunk(w, STACK + 0x2000, 0x1000 | M);         /* prev_size not 0 */
    chunk(w, STACK + 0x3000, 0x1010 | M);         /* not page-sized */
    /* file-backed: never scanned */
    chunk(w, LIBC_DATA + 0x1000, 0x1000 | M);

    w->tcaches[0] = C0 + 16;
    w->tcaches[1] = D0 + 16;
    w->lay = (struct glibc_layout){
        .main_arena = MAIN_ARENA, .sbrk_base = SBRK,
        .off_fastbins = 16, .nfastbins = 10, .off_top = 96, .off_next = 2160,
        .off_system_mem = 2184, .sizeof_malloc_state = 2200,
        .sizeof_heap_info = 48, .off_heap_info_size = 16, .off_heap_info_prev = 8,
        .heap_max_size = 64 << 20, .safe_linking = 1,
        .tcaches = w->tcaches, .ntcaches = 2, .tcache_bins = 64, .tcache_count_size = 2,
    };
}

static void destroy(struct world *w)
{
    for (size_t i = 0; i < w->nr; i++)
        free(w->r[i].buf);
}

struct result {
    struct block_table t;
    struct heap_report rep;
    struct retain_error *err;
};

static void run(struct world *w, struct result *res)
{
    struct memory *mem = NULL;
    block_table_init(&res->t);
    res->err = memory_open_callback(fake_read, w, w->maps, w->nmaps, &mem);
    CHECK(res->err == NULL);
    if (res->err)
        return;
    res->err = glibc_walk(mem, &w->lay, &res->t, &res->rep);
    if (!res->err) {
        struct retain_error *e = block_table_finish(&res->t);
        CHECK(e == NULL);
        if (e)
            fprintf(stderr, "finish: %s\n", e->msg);
        retain_error_destroy(e);
    }
    memory_destroy(mem);
}

static void done(struct result *res)
{
    retain_error_destroy(res->err);
    block_table_deinit(&res->t);
    heap_report_deinit(&res->rep);
}

struct want { uint64_t addr, size; enum block_state st; enum block_kind kind; enum block_why why; };

#define MAINK BLOCK_KIND_MAIN_ARENA
#define AR BLOCK_KIND_ARENA
#define MMK BLOCK_KIND_MMAPPED
static const struct want all_blocks[] = {
    { C0 + 16, 0x288, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { C1 + 16, 0x18, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { C2 + 16, 0x80, BLOCK_FREE, MAINK, BLOCK_WHY_BIN },
    { C3 + 16, 0x28, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { C4 + 16, 0x30, BLOCK_FREE, MAINK, BLOCK_WHY_TCACHE },
    { C5 + 16, 0x18, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { C6 + 16, 0x10, BLOCK_FREE, MAINK, BLOCK_WHY_FASTBIN },
    { C7 + 16, 0xff8, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { C8 + 16, 0x10, BLOCK_FREE, MAINK, BLOCK_WHY_FASTBIN },
    { C9 + 16, 0x28, BLOCK_INUSE, MAINK, BLOCK_WHY_NONE },
    { MTOP + 16, SBRK + SBRK_LEN - MTOP - 16, BLOCK_FREE, MAINK, BLOCK_WHY_TOP },
    { D0 + 16, 0x288, BLOCK_INUSE, AR, BLOCK_WHY_NONE },
    { D1 + 16, 0x48, BLOCK_INUSE, AR, BLOCK_WHY_NONE },
    { D2 + 16, FP1 - D2 - 16, BLOCK_FREE, AR, BLOCK_WHY_BIN },
    { E0 + 16, 0xf8, BLOCK_INUSE, AR, BLOCK_WHY_NONE },
    { E1 + 16, 0x30, BLOCK_FREE, AR, BLOCK_WHY_TCACHE },
    { E2 + 16, 0x58, BLOCK_INUSE, AR, BLOCK_WHY_NONE },
    { E3 + 16, 0x30, BLOCK_FREE, AR, BLOCK_WHY_TCACHE },
    { E4 + 16, 0x20, BLOCK_FREE, AR, BLOCK_WHY_FASTBIN },
    { ATOP + 16, H2 + H2_LEN - ATOP - 16, BLOCK_FREE, AR, BLOCK_WHY_TOP },
    { MM + 16, 0x1ff0, BLOCK_INUSE, MMK, BLOCK_WHY_NONE },
    { MM + 0x2010, 0x2ff0, BLOCK_INUSE, MMK, BLOCK_WHY_NONE },
    { MEMALIGNED + 16, 0x4000 - 0x30 - 16, BLOCK_INUSE, MMK, BLOCK_WHY_NONE },
};
#define NALL (sizeof all_blocks / sizeof all_blocks[0])

static uint32_t find_block(const struct block_table *t, uint64_t addr)
{
    for (uint32_t i = 0; i < t->n; i++)
        if (t->blocks[i].addr == addr)
            return i;
    return BLOCK_NONE;
}

/* Each wanted block is there, exactly as wanted. */
static void check_blocks(const struct block_table *t, const struct want *wv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t id = find_block(t, wv[i].addr);
        CHECK(id != BLOCK_NONE);
        if (id == BLOCK_NONE) {
            fprintf(stderr, "  missing block 0x%llx\n", (unsigned long long)wv[i].addr);
            continue;
        }
        int ok = t->blocks[id].size == wv[i].size && block_state(t, id) == wv[i].st &&
                 block_kind(t, id) == wv[i].kind && block_why(t, id) == wv[i].why;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  block 0x%llx: size 0x%llx state %d kind %d why %d\n",
                    (unsigned long long)wv[i].addr, (unsigned long long)t->blocks[id].size,
                    block_state(t, id), block_kind(t, id), block_why(t, id));
    }
}

static int has_warning(const struct heap_report *r, const char *s)
{
    for (uint32_t i = 0; i < r->nwarnings; i++)
        if (!strcmp(r->warnings[i], s))
            return 1;
    return 0;
}

/* The report has exactly n warnings (all of them shown when not). */
static void check_nwarnings(const struct heap_report *r, uint32_t n)
{
    CHECK(r->nwarnings == n);
    if (r->nwarnings != n)
        for (uint32_t i = 0; i < r->nwarnings; i++)
            fprintf(stderr, "  warning: %s\n", r->warnings[i]);
}

static int has_segment(const struct heap_report *r, uint64_t start, uint64_t end)
{
    for (uint32_t i = 0; i < r->nsegments; i++)
        if (r->segments[i].start == start && r->segments[i].end == end)
            return 1;
    return 0;
}

static void test_clean(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    run(&w, &res);
    CHECK(res.err == NULL);
    if (res.err) {
        fprintf(stderr, "  error: %s\n", res.err->msg);
        goto out;
    }
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 0);
    CHECK(res.rep.narenas == 2);
    CHECK(res.rep.nheaps == 3);
    CHECK(res.rep.nmmapped == 3);
    CHECK(res.rep.unreadable_bytes == 0);
    uint64_t inuse = 0, freeb = 0;
    for (size_t i = 0; i < NALL; i++)
        *(all_blocks[i].st == BLOCK_INUSE ? &inuse : &freeb) += all_blocks[i].size;
    CHECK(res.rep.inuse_bytes == inuse);
    CHECK(res.rep.free_bytes == freeb);
    CHECK(res.rep.nsegments == 6);
    CHECK(has_segment(&res.rep, SBRK, SBRK + SBRK_LEN));
    CHECK(has_segment(&res.rep, H1, H1 + H1_LEN));
    CHECK(has_segment(&res.rep, H2, H2 + H2_LEN));
    CHECK(has_segment(&res.rep, MM, MM + 0x2000));
    CHECK(has_segment(&res.rep, MM + 0x2000, MM + 0x5000));
    CHECK(has_segment(&res.rep, MEMALIGNED, MM + MM_LEN));
out:
    done(&res);
    destroy(&w);
}

/* Without safe-linking (glibc < 2.32) the same lists are stored plain. */
static void test_no_safe_linking(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    w.lay.safe_linking = 0;
    put64(&w, C4 + 16, 0);
    put64(&w, C6 + 16, C8);
    put64(&w, C8 + 16, 0);
    put64(&w, E1 + 16, E3 + 16);
    put64(&w, E3 + 16, 0);
    put64(&w, E4 + 16, 0);
    run(&w, &res);
    CHECK(res.err == NULL && res.t.n == NALL && res.rep.nwarnings == 0);
    if (!res.err)
        check_blocks(&res.t, all_blocks, NALL);
    done(&res);
    destroy(&w);
}

/* The wanted blocks but the n at skip[] (indexes into all_blocks, sorted). */
static void check_all_but(const struct block_table *t, const size_t *skip, size_t n)
{
    size_t k = 0;
    CHECK(t->n == NALL - n);
    for (size_t i = 0; i < NALL; i++) {
        if (k < n && skip[k] == i) {
            CHECK(find_block(t, all_blocks[i].addr) == BLOCK_NONE);
            k++;
            continue;
        }
        check_blocks(t, all_blocks + i, 1);
    }
}

#define MAIN_HEAP "heap 0x555555559000-0x55555557a000"

/* A size-0 chunk: the walk skips it, resyncs at C6 and finds all the rest. */
static void test_zero_size(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C5, 0);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 5 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "at 0x5555555593b0: chunk size 0x0 is impossible (expected 0x20 to 0x1090 "
                      "in steps of 0x10, IS_MMAPPED clear; " MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "skipped 0x5555555593b0-0x5555555593d0: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(res.rep.narenas == 2 && res.rep.nheaps == 3 && res.rep.nmmapped == 3);
    done(&res);
    destroy(&w);
}

/* Garbage over a size field in the middle of the main heap (C1, before a
 * free chunk whose prev_size links the chain): resync at C2, nothing else lost. */
static void test_resync_garbage(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C1, 0x4141414141414141ull);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 1 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "at 0x555555559290: chunk size 0x4141414141414141 is impossible (expected 0x20 "
                      "to 0x11b0 in steps of 0x10, IS_MMAPPED clear; " MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "skipped 0x555555559290-0x5555555592b0: corrupt chunk headers (" MAIN_HEAP ")"));
    done(&res);
    destroy(&w);
}

/* Chunk-like words inside the corrupt chunk's data do not fool the resync:
 * a header whose successor is garbage, one whose PREV_INUSE is clear with
 * a prev_size that starts before the corruption, one with NON_MAIN_ARENA in
 * the main heap, and two free chunks side by side. */
static void test_resync_decoys(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C7, 0x7);
    chunk(&w, C7 + 0x100, 0x21);              /* next at +0x120: size 0 */
    put64(&w, C7 + 0x200, 0x400);
    chunk(&w, C7 + 0x200, 0x20);              /* prev free, 0x400 back: before C7 */
    chunk(&w, C7 + 0x220, 0x21);
    chunk(&w, C7 + 0x300, 0x25);              /* NON_MAIN_ARENA in the main heap */
    chunk(&w, C7 + 0x320, 0x21);
    chunk(&w, C7 + 0x340, 0x21);
    chunk(&w, C7 + 0x360, 0x21);
    chunk(&w, C7 + 0x400, 0x20);              /* free after a free one */
    put64(&w, C7 + 0x400, 0x20);
    chunk(&w, C7 + 0x420, 0x20);
    put64(&w, C7 + 0x420, 0x20);
    chunk(&w, C7 + 0x440, 0x21);
    chunk(&w, C7 + 0x460, 0x21);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 7 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "skipped 0x5555555593f0-0x55555555a3f0: corrupt chunk headers (" MAIN_HEAP ")"));
    done(&res);
    /* without the decoys' flaws the first of them is taken (4 chunks in a row) */
    chunk(&w, C7 + 0x120, 0x21);
    chunk(&w, C7 + 0x140, 0x21);
    chunk(&w, C7 + 0x160, 0x21);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(has_warning(&res.rep, "skipped 0x5555555593f0-0x5555555594f0: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(find_block(&res.t, C7 + 0x110) != BLOCK_NONE);
    done(&res);
    destroy(&w);
}

/* A chain shorter than RESYNC_CHAIN counts when it ends exactly at top, and
 * a corrupt last chunk is skipped up to top. */
static void test_resync_at_top(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C8, 0xfff1);                    /* C9 (then top) follows */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 8 }, 1);
    CHECK(has_warning(&res.rep, "skipped 0x55555555a3f0-0x55555555a410: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "at 0x55555555a3f0: chunk in fastbin 0 of arena 0x7f0000200100 has size 0xfff1, "
                      "expected 0x20; the rest of the list is not read"));
    check_nwarnings(&res.rep, 3);
    done(&res);
    destroy(&w);
    build(&w);
    chunk(&w, C9, 0x1);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 9 }, 1);
    CHECK(has_warning(&res.rep, "skipped 0x55555555a410-0x55555555a440: corrupt chunk headers (" MAIN_HEAP ")"));
    check_nwarnings(&res.rep, 2);
    done(&res);
    destroy(&w);
}

/* Two corrupt chunks: two skips. Fewer than RESYNC_CHAIN good chunks
 * between them are not enough evidence: they are skipped too. */
static void test_resync_twice(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C1, 0x3);
    chunk(&w, C7, 0x8);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 1, 7 }, 2);
    check_nwarnings(&res.rep, 4);
    CHECK(has_warning(&res.rep, "skipped 0x555555559290-0x5555555592b0: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "skipped 0x5555555593f0-0x55555555a3f0: corrupt chunk headers (" MAIN_HEAP ")"));
    done(&res);
    destroy(&w);
    build(&w);
    chunk(&w, C1, 0x3);
    chunk(&w, C5, 0x8);                       /* C2, C3, C4: three chunks */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 1, 2, 3, 4, 5 }, 5);
    CHECK(has_warning(&res.rep, "skipped 0x555555559290-0x5555555593d0: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "at 0x555555559380: tcache entry is not the start of a chunk"));
    check_nwarnings(&res.rep, 3);
    done(&res);
    destroy(&w);
}

/* In a non-main arena a chunk in use carries NON_MAIN_ARENA: a decoy
 * without it is passed over; resync at E1 in the top heap. */
static void test_resync_arena(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, E0, 0x5);
    chunk(&w, E0 + 0xc0, 0x41);               /* would lead to E1, E2, E3: but no NON_MAIN_ARENA */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 14 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "at 0x7e0008000030: chunk size 0x5 is impossible (expected 0x20 to 0x210 in "
                      "steps of 0x10, IS_MMAPPED clear; heap 0x7e0008000000-0x7e0008003000)"));
    CHECK(has_warning(&res.rep, "skipped 0x7e0008000030-0x7e0008000130: corrupt chunk headers "
                      "(heap 0x7e0008000000-0x7e0008003000)"));
    done(&res);
    destroy(&w);
}

/* In a heap that ends with fenceposts, they end a chain too: corrupt D1,
 * resync at D2 (D2 then the fenceposts); corrupt D2, resync at the fenceposts. */
static void test_resync_fenceposts(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, D1, 0x57);                      /* IS_MMAPPED in a heap */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 12 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "skipped 0x7e0004000b60-0x7e0004000bb0: corrupt chunk headers "
                      "(heap 0x7e0004000000-0x7e0004002000)"));
    done(&res);
    destroy(&w);
    build(&w);
    chunk(&w, D2, 0x123456789);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 13 }, 1);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "skipped 0x7e0004000bb0-0x7e0004001fe0: corrupt chunk headers "
                      "(heap 0x7e0004000000-0x7e0004002000)"));
    done(&res);
    destroy(&w);
}

/* The scan for a resync point runs into the end of the readable memory. */
static void test_resync_unreadable(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C7, 0x2);
    w.r[0].len = 0x1000;
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(has_warning(&res.rep, "skipped 0x5555555593f0-0x55555555a000: corrupt chunk headers (" MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "at 0x55555555a000: chunk header is unreadable (" MAIN_HEAP ")"));
    CHECK(res.rep.unreadable_bytes == MTOP - (SBRK + 0x1000));
    check_blocks(&res.t, all_blocks, 7);
    CHECK(find_block(&res.t, C7 + 16) == BLOCK_NONE);
    done(&res);
    destroy(&w);
}

/* A fastbin that loops (C6 -> C8 -> C6): a warning, and both stay free. */
static void test_fastbin_loop(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, C8 + 16, protect(C8 + 16, C6));
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "at 0x55555555a3f0: fastbin 0 of arena 0x7f0000200100 loops back to 0x5555555593d0"));
    done(&res);
    /* a chunk that points to itself */
    put64(&w, C8 + 16, protect(C8 + 16, 0));
    put64(&w, C6 + 16, protect(C6 + 16, C6));
    run(&w, &res);
    CHECK(res.err == NULL && res.rep.nwarnings == 1);
    CHECK(has_warning(&res.rep, "at 0x5555555593d0: fastbin 0 of arena 0x7f0000200100 loops back to 0x5555555593d0"));
    CHECK(find_block(&res.t, C8 + 16) != BLOCK_NONE &&
          block_why(&res.t, find_block(&res.t, C8 + 16)) == BLOCK_WHY_NONE);
    done(&res);
    destroy(&w);
}

/* An arena ring that loops without coming back to main_arena. */
static void test_arena_loop(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, ARENA + 2160, ARENA);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    CHECK(res.rep.narenas == 2);
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "at 0x7e0004000030: the arena ring loops without returning to main_arena 0x7f0000200100"));
    done(&res);
    destroy(&w);
}

/* A tcache bin that loops (E1 -> E3 -> E1, count 3): where it closes. */
static void test_tcache_loop(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put16(&w, D0 + 16 + 2 * 2, 3);
    put64(&w, E3 + 16, protect(E3 + 16, E1 + 16));
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "at 0x7e00080001e0: tcache bin 2 of tcache 0x7e00040008e0 loops back to 0x7e0008000140"));
    done(&res);
    destroy(&w);
}

/* A tcache bin shorter than its count, and one that names a chunk of the
 * wrong size (which is then not taken for free). */
static void test_tcache_bad(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put16(&w, D0 + 16 + 2 * 2, 4);
    put16(&w, C0 + 16 + 3 * 2, 1);
    put64(&w, C0 + 16 + 128 + 3 * 8, C5 + 16);     /* bin 3 is for 0x50-byte chunks; C5 is 0x20 */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "tcache bin 2 of tcache 0x7e00040008e0 ends after 2 entries; its count is 4"));
    CHECK(has_warning(&res.rep, "at 0x5555555593c0: entry in tcache bin 3 of tcache 0x555555559010 has chunk "
                      "size 0x21, expected 0x50; the rest of the bin is not read"));
    done(&res);
    destroy(&w);
}

/* A fastbin whose second chunk has the wrong size: the list stops there. */
static void test_fastbin_bad_size(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, C6 + 16, protect(C6 + 16, C9));     /* C9 is 0x30, fastbin 0 holds 0x20 */
    run(&w, &res);
    CHECK(res.err == NULL);
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "at 0x55555555a410: chunk in fastbin 0 of arena 0x7f0000200100 has size 0x31, "
                      "expected 0x20; the rest of the list is not read"));
    CHECK(block_why(&res.t, find_block(&res.t, C6 + 16)) == BLOCK_WHY_FASTBIN);
    CHECK(block_state(&res.t, find_block(&res.t, C8 + 16)) == BLOCK_INUSE);
    CHECK(block_state(&res.t, find_block(&res.t, C9 + 16)) == BLOCK_INUSE);
    done(&res);
    destroy(&w);
}

/* The non-main arena's next is garbage: the ring breaks after it; it is
 * still walked, and nothing is lost. */
static void test_arena_next_garbage(void)
{
    static const struct { uint64_t next; const char *warning; } cases[] = {
        { 0x4141414141414140ull, "arena 0x7e0004000030: next is 0x4141414141414140, not an arena (not right "
                                 "after a heap_info at a HEAP_MAX_SIZE boundary); the arena ring breaks there" },
        { 0x7b0000000030ull, "arena 0x7e0004000030: next is 0x7b0000000030, not an arena (unreadable); "
                             "the arena ring breaks there" },
        { 0, "arena 0x7e0004000030: next is 0x0, not an arena (NULL); the arena ring breaks there" },
        { SBRK + 0x2b8, "arena 0x7e0004000030: next is 0x5555555592b8, not an arena (misaligned); "
                        "the arena ring breaks there" },
        { SBRK + 0x2b0, "arena 0x7e0004000030: next is 0x5555555592b0, not an arena (not right after a "
                        "heap_info at a HEAP_MAX_SIZE boundary); the arena ring breaks there" },
        { H2 + 48, "arena 0x7e0004000030: next is 0x7e0008000030, not an arena (heap_info.ar_ptr at "
                   "0x7e0008000000 is 0x7e0004000030); the arena ring breaks there" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct world w;
        struct result res = { 0 };
        build(&w);
        put64(&w, ARENA + 2160, cases[i].next);
        run(&w, &res);
        CHECK(res.err == NULL);
        CHECK(res.t.n == NALL);
        check_blocks(&res.t, all_blocks, NALL);
        CHECK(res.rep.narenas == 2);
        check_nwarnings(&res.rep, 1);
        CHECK(has_warning(&res.rep, cases[i].warning));
        done(&res);
        destroy(&w);
    }
}

/* main_arena.next is garbage: the non-main arena is off the ring, found by
 * its first heap, and walked with its fastbins. */
static void test_main_next_garbage(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, MAIN_ARENA + 2160, 0x7e0004001000ull);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    CHECK(res.rep.narenas == 2 && res.rep.nheaps == 3);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "main_arena 0x7f0000200100: next is 0x7e0004001000, not an arena (not right after a "
                      "heap_info at a HEAP_MAX_SIZE boundary); the arena ring breaks there"));
    CHECK(has_warning(&res.rep, "arena 0x7e0004000030: not on the arena ring; found by its heap at 0x7e0004000000"));
    done(&res);
    destroy(&w);
}

/* The non-main arena's top is garbage: both its heaps are found by
 * heap_info.ar_ptr, the newest (no heap's prev) walked to its end, whose
 * last chunk is the top. Nothing is lost. */
static void test_arena_top_garbage(void)
{
    static const uint64_t tops[] = { 0x4141414141414140ull, 0, H1 + 0x100, H2 + H2_LEN + 0x40 };
    static const char *const warnings[] = {
        "arena 0x7e0004000030: top 0x4141414141414140 is not in a heap of this arena; 2 heaps found by "
        "heap_info.ar_ptr, the newest walked to its end",
        "arena 0x7e0004000030: top 0x0 is not in a heap of this arena; 2 heaps found by "
        "heap_info.ar_ptr, the newest walked to its end",
        "arena 0x7e0004000030: top 0x7e0004000100 is not in a heap of this arena; 2 heaps found by "
        "heap_info.ar_ptr, the newest walked to its end",
        "arena 0x7e0004000030: top 0x7e0008003040 is not in a heap of this arena; 2 heaps found by "
        "heap_info.ar_ptr, the newest walked to its end",
    };
    for (size_t i = 0; i < sizeof tops / sizeof tops[0]; i++) {
        struct world w;
        struct result res = { 0 };
        build(&w);
        put64(&w, ARENA + 96, tops[i]);
        run(&w, &res);
        CHECK(res.err == NULL);
        CHECK(res.t.n == NALL);
        check_blocks(&res.t, all_blocks, NALL);
        CHECK(res.rep.nheaps == 3);
        CHECK(has_segment(&res.rep, H1, H1 + H1_LEN) && has_segment(&res.rep, H2, H2 + H2_LEN));
        check_nwarnings(&res.rep, 1);
        CHECK(has_warning(&res.rep, warnings[i]));
        done(&res);
        destroy(&w);
    }
}

/* ... and when no mapping holds a heap of the arena, it says so. */
static void test_arena_top_no_heaps(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, ARENA + 96, 0x4141414141414140ull);
    w.maps[3].prot = w.maps[5].prot = MAP_PROT_R;
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 11, 12, 13, 14, 15, 16, 17, 18, 19 }, 9);
    CHECK(res.rep.nheaps == 1);
    check_nwarnings(&res.rep, 4);
    CHECK(has_warning(&res.rep, "arena 0x7e0004000030: top 0x4141414141414140 is not in a heap of this arena, "
                      "and no heap of it was found"));
    CHECK(has_warning(&res.rep, "at 0x7e0008000220: fastbin entry is not the start of a chunk"));
    done(&res);
    destroy(&w);
}

/* main_arena.top is garbage: the sbrk heap is walked to the end of its
 * mapping, and the chunk that ends it is the top. Nothing is lost. */
static void test_main_top_garbage(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, MAIN_ARENA + 96, 0x4141414141414140ull);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "main_arena.top 0x4141414141414140 is not in the main heap "
                      "0x555555559000-0x55555557a000; the heap is walked to its end and its last chunk taken as top"));
    CHECK(has_segment(&res.rep, SBRK, SBRK + SBRK_LEN));
    done(&res);
    destroy(&w);
}

/* A memory source that lists the sbrk heap in two pieces: the heap ends
 * with the piece that holds top. */
static void test_main_heap_split(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    memmove(&w.maps[1], &w.maps[0], w.nmaps * sizeof w.maps[0]);
    w.nmaps++;
    w.maps[0].end = w.maps[1].start = SBRK + 0x1000;
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);
    check_blocks(&res.t, all_blocks, NALL);
    check_nwarnings(&res.rep, 0);
    done(&res);
    destroy(&w);
}

/* A top chunk whose size runs past its heap: no top block (it would overlap
 * what lies after the heap), the chunks before it are all there. */
static void test_top_size_garbage(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, MTOP, 0x4141414141414141ull);
    chunk(&w, ATOP, 0x100001);
    run(&w, &res);
    CHECK(res.err == NULL);
    check_all_but(&res.t, (size_t[]){ 10, 19 }, 2);
    check_nwarnings(&res.rep, 2);
    CHECK(has_warning(&res.rep, "at 0x55555555a440: top chunk size 0x4141414141414141 is impossible (expected a "
                      "multiple of 0x10 that ends by 0x55555557a000)"));
    CHECK(has_warning(&res.rep, "at 0x7e0008000240: top chunk size 0x100001 is impossible (expected a "
                      "multiple of 0x10 that ends by 0x7e0008003000)"));
    CHECK(has_segment(&res.rep, SBRK, SBRK + SBRK_LEN));
    done(&res);
    destroy(&w);
}

static void test_unreadable_main_arena(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    w.lay.main_arena = 0x1000;
    run(&w, &res);
    CHECK(res.err != NULL);
    CHECK(res.err && !strcmp(res.err->msg, "cannot read main_arena at 0x1000"));
    done(&res);
    destroy(&w);
}

/* A core cut short inside the main heap: counted, warned, the rest walked. */
static void test_truncated_heap(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    w.r[0].len = 0x1000;
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL - 4);   /* C8, C9 and top are gone; C7's state is unknown */
    check_blocks(&res.t, all_blocks, 7);
    check_blocks(&res.t, all_blocks + 11, NALL - 11);
    CHECK(has_warning(&res.rep, "at 0x55555555a440: top chunk header is unreadable"));
    CHECK(has_warning(&res.rep, "at 0x55555555a3f0: chunk header is unreadable (" MAIN_HEAP ")"));
    CHECK(has_warning(&res.rep, "at 0x55555555a3f0: cannot read chunk in fastbin 0 of arena 0x7f0000200100"));
    check_nwarnings(&res.rep, 3);
    CHECK(res.rep.unreadable_bytes == MTOP - C8);
    done(&res);
    destroy(&w);
}

/* heap_info.prev pointing back to a heap already seen. */
static void test_heap_loop(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    put64(&w, H2 + 8, H2);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.rep.nheaps == 2);
    CHECK(has_warning(&res.rep, "at 0x7e0008000000: heap list of arena 0x7e0004000030 loops or is shared"));
    CHECK(find_block(&res.t, E0 + 16) != BLOCK_NONE && find_block(&res.t, D0 + 16) == BLOCK_NONE);
    done(&res);
    destroy(&w);
}

/* A non-top heap whose final fencepost is missing. */
static void test_bad_fencepost(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, FP1 + 16, 0x20 | P);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL);       /* D2 was read before the fencepost */
    check_nwarnings(&res.rep, 1);
    CHECK(has_warning(&res.rep, "at 0x7e0004001fe0: heap 0x7e0004000000-0x7e0004002000 does not end with "
                      "fenceposts (sizes 0x10, 0x21; expected 0x10, 0)"));
    done(&res);
    destroy(&w);
}

/* Warnings stop at a cap, with one line saying how many were left out. */
static void test_warning_cap(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    for (int i = 0; i < 64; i++)
        for (int k = 0; k < 2; k++) {
            uint64_t tc = w.tcaches[k], e = MTOP + 0x100 + 0x40 * (uint64_t)(64 * k + i);
            put16(&w, tc + 2 * i, 1);
            put64(&w, tc + 128 + 8 * i, e);
        }
    run(&w, &res);
    CHECK(res.err == NULL);
    check_nwarnings(&res.rep, 101);
    CHECK(res.rep.nwarnings == 101 && !strcmp(res.rep.warnings[100], "... and 28 more warnings"));
    done(&res);
    destroy(&w);
}

static void test_bad_layout(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    w.lay.off_top = 5000;
    run(&w, &res);
    CHECK(res.err && !strcmp(res.err->msg, "bad glibc layout: malloc_state.top"));
    done(&res);
    destroy(&w);
}

int main(void)
{
    test_clean();
    test_no_safe_linking();
    test_zero_size();
    test_resync_garbage();
    test_resync_decoys();
    test_resync_at_top();
    test_resync_twice();
    test_resync_arena();
    test_resync_fenceposts();
    test_resync_unreadable();
    test_fastbin_loop();
    test_tcache_loop();
    test_tcache_bad();
    test_fastbin_bad_size();
    test_arena_loop();
    test_arena_next_garbage();
    test_main_next_garbage();
    test_arena_top_garbage();
    test_arena_top_no_heaps();
    test_main_top_garbage();
    test_top_size_garbage();
    test_main_heap_split();
    test_unreadable_main_arena();
    test_truncated_heap();
    test_heap_loop();
    test_bad_fencepost();
    test_warning_cap();
    test_bad_layout();
    return CHECK_DONE();
}
