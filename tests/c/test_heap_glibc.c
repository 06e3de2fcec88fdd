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

/* A size-0 chunk ends the main heap's walk there; the rest goes on. */
static void test_zero_size(void)
{
    struct world w;
    struct result res = { 0 };
    build(&w);
    chunk(&w, C5, 0);
    run(&w, &res);
    CHECK(res.err == NULL);
    CHECK(res.t.n == NALL - 5);   /* C5..C9 are gone; C4 stays (a tcache chunk) */
    CHECK(find_block(&res.t, C5 + 16) == BLOCK_NONE && find_block(&res.t, C9 + 16) == BLOCK_NONE);
    check_blocks(&res.t, all_blocks, 5);
    check_blocks(&res.t, all_blocks + 10, NALL - 10);
    check_nwarnings(&res.rep, 3);
    CHECK(has_warning(&res.rep, "at 0x5555555593b0: chunk size 0x0 is impossible (heap 0x555555559000-0x55555557a000)"));
    CHECK(has_warning(&res.rep, "at 0x5555555593e0: fastbin entry is not the start of a chunk"));
    CHECK(has_warning(&res.rep, "at 0x55555555a400: fastbin entry is not the start of a chunk"));
    CHECK(res.rep.narenas == 2 && res.rep.nheaps == 3 && res.rep.nmmapped == 3);
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
    CHECK(has_warning(&res.rep, "at 0x5555555593d0: fastbin 0 of arena 0x7f0000200100 loops"));
    done(&res);
    /* a chunk that points to itself */
    put64(&w, C8 + 16, protect(C8 + 16, 0));
    put64(&w, C6 + 16, protect(C6 + 16, C6));
    run(&w, &res);
    CHECK(res.err == NULL && res.rep.nwarnings == 1);
    CHECK(has_warning(&res.rep, "at 0x5555555593d0: fastbin 0 of arena 0x7f0000200100 loops"));
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
    CHECK(has_warning(&res.rep, "at 0x55555555a3f0: chunk header is unreadable (heap 0x555555559000-0x55555555a440)"));
    CHECK(has_warning(&res.rep, "at 0x55555555a400: fastbin entry is not the start of a chunk"));
    check_nwarnings(&res.rep, 4);   /* and C8's fastbin fd */
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
    CHECK(has_warning(&res.rep, "at 0x7e0004001fe0: chunk size 0x10 is impossible (heap 0x7e0004000000-0x7e0004002000)"));
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
    test_fastbin_loop();
    test_arena_loop();
    test_unreadable_main_arena();
    test_truncated_heap();
    test_heap_loop();
    test_bad_fencepost();
    test_warning_cap();
    test_bad_layout();
    return CHECK_DONE();
}
