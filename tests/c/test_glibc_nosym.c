/* glibc_find_layout on a synthetic address space: libc's mappings (an ELF
 * header with a build-id, the version banner, .data holding main_arena, and
 * .bss), a brk heap whose first chunk is the main thread's tcache and which
 * holds a third thread's tcache further in (it shares the main arena), a
 * non-main arena with its own tcache, and three threads' TLS holding their
 * tcache pointers at one offset. Then variants: other glibc versions'
 * layouts, unsupported versions, no libc, corrupt main_arena, a wrong
 * system_mem, missing thread pointers. The layout found is walked with
 * glibc_walk to check the free blocks come out as the tcaches say. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "glibc_nosym.h"

#define LIBC_PATH "/nonexistent/lib/libc.so.6"
#define LIBC_BASE 0x7f0000100000ull      /* r--, offset 0: ELF header, notes, banner */
#define LIBC_DATA 0x7f0000200000ull      /* rw, .data */
#define LIBC_BSS  0x7f0000202000ull      /* anonymous rw right after: .bss */
#define MAIN_ARENA (LIBC_DATA + 0x160)
#define SBRK      0x555555559000ull
#define SBRK_LEN  0x21000ull
#define H1        0x7e0004000000ull      /* the non-main arena's first heap */
#define H1_LEN    0x4000ull
#define TLSMAP    0x7c0000000000ull      /* three threads' TLS blocks, 0x18000 apart */
#define TLS_OFF   0x48ull                /* libc's `tcache` is at thread pointer - 0x48 */
#define MS_SIZEOF 2200ull

#define P 1ull
#define NM 4ull

static const uint8_t BUILD_ID[20] = { 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

struct region { uint64_t addr, len; uint8_t *buf; };

struct world {
    struct region r[8];
    size_t nr;
    struct mapping maps[8];
    size_t nmaps;
    int minor;
    uint32_t hi, cs, tsz;           /* sizeof heap_info, tcache count size, tcache chunk size */
    int safe;
    uint64_t arena;                 /* the non-main arena */
    uint64_t t0, c1, c2, t3, c4, c5, mtop;   /* main heap chunks */
    uint64_t t2, d1, atop;          /* non-main heap chunks */
    uint64_t tps[3];
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
static void put32(struct world *w, uint64_t addr, uint32_t v) { memcpy(at(w, addr), &v, 4); }
static void put16(struct world *w, uint64_t addr, uint16_t v) { memcpy(at(w, addr), &v, 2); }
static void chunk(struct world *w, uint64_t c, uint64_t size) { put64(w, c + 8, size); }

static uint64_t align_chunk(uint64_t p)
{
    uint64_t mis = (p + 16) & 15;
    return mis ? p + 16 - mis : p;
}

static void region(struct world *w, uint64_t addr, uint64_t len)
{
    w->r[w->nr++] = (struct region){ addr, len, calloc(1, len) };
}

static void map(struct world *w, uint64_t start, uint64_t end, uint64_t offset, uint32_t prot, char *path)
{
    w->maps[w->nmaps++] = (struct mapping){ start, end, offset, prot, path };
}

/* An arena at a: every bin empty (fd == bk == the bin itself). */
static void arena(struct world *w, uint64_t a, uint64_t top, uint64_t next, uint32_t flags, uint64_t sysmem)
{
    put32(w, a + 4, flags);
    put64(w, a + 96, top);
    for (uint64_t i = 0; i < 127; i++) {
        put64(w, a + 112 + 16 * i, a + 96 + 16 * i);
        put64(w, a + 120 + 16 * i, a + 96 + 16 * i);
    }
    put64(w, a + 2160, next);
    put64(w, a + 2176, 1);
    put64(w, a + 2184, sysmem);
}

/* One cached chunk in bin `bin` of the tcache at user pointer t. */
static void cache_one(struct world *w, uint64_t t, uint32_t bin, uint64_t mem)
{
    if (w->cs == 2)
        put16(w, t + 2 * bin, 1);
    else
        at(w, t + bin)[0] = 1;
    put64(w, t + 64 * w->cs + 8 * bin, mem);
    put64(w, mem, w->safe ? mem >> 12 : 0);   /* next: NULL, mangled */
    put64(w, mem + 8, 0x1234567890abcdefull);  /* the entry's key */
}

static void elf_header(struct world *w)
{
    uint8_t *p = at(w, LIBC_BASE);
    memcpy(p, "\177ELF", 4);
    p[4] = 2;          /* ELFCLASS64 */
    p[5] = 1;          /* ELFDATA2LSB */
    p[6] = 1;
    uint16_t type = 3, machine = 62, phentsize = 56, phnum = 2;
    memcpy(p + 16, &type, 2);
    memcpy(p + 18, &machine, 2);
    put64(w, LIBC_BASE + 32, 64);               /* e_phoff */
    memcpy(p + 54, &phentsize, 2);
    memcpy(p + 56, &phnum, 2);
    /* PT_LOAD at vaddr 0, PT_NOTE at 0x200 */
    put32(w, LIBC_BASE + 64, 1);
    put32(w, LIBC_BASE + 64 + 56, 4);
    put64(w, LIBC_BASE + 64 + 56 + 8, 0x200);   /* p_offset */
    put64(w, LIBC_BASE + 64 + 56 + 16, 0x200);  /* p_vaddr */
    put64(w, LIBC_BASE + 64 + 56 + 32, 36);     /* p_filesz */
    put32(w, LIBC_BASE + 0x200, 4);             /* n_namesz */
    put32(w, LIBC_BASE + 0x204, 20);            /* n_descsz */
    put32(w, LIBC_BASE + 0x208, 3);             /* NT_GNU_BUILD_ID */
    memcpy(at(w, LIBC_BASE + 0x20c), "GNU", 4);
    memcpy(at(w, LIBC_BASE + 0x210), BUILD_ID, 20);
}

static void banner(struct world *w, const char *version)
{
    char text[128];
    snprintf(text, sizeof text, "GNU C Library (Test GLIBC %s-1) stable release version %s.\n", version, version);
    memcpy(at(w, LIBC_BASE + 0x1800), text, strlen(text));
}

static void build(struct world *w, int minor)
{
    memset(w, 0, sizeof *w);
    w->minor = minor;
    w->hi = minor >= 35 ? 48 : 32;
    w->cs = minor >= 30 ? 2 : 1;
    w->tsz = minor >= 30 ? 0x290 : 0x250;
    w->safe = minor >= 32;
    /* sorted by address, as memory_mappings promises */
    region(w, SBRK, SBRK_LEN);
    region(w, TLSMAP, 0x50000);
    region(w, H1, H1_LEN);
    region(w, LIBC_BASE, 0x2000);
    region(w, LIBC_DATA, 0x2000);
    region(w, LIBC_BSS, 0x1000);
    map(w, SBRK, SBRK + SBRK_LEN, 0, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, TLSMAP, TLSMAP + 0x50000, 0, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, H1, H1 + H1_LEN, 0, MAP_PROT_R | MAP_PROT_W, NULL);
    map(w, H1 + H1_LEN, H1 + (64 << 20), 0, 0, NULL);
    map(w, LIBC_BASE, LIBC_BASE + 0x2000, 0, MAP_PROT_R, LIBC_PATH);
    map(w, LIBC_DATA, LIBC_DATA + 0x2000, 0x1d3000, MAP_PROT_R | MAP_PROT_W, LIBC_PATH);
    map(w, LIBC_BSS, LIBC_BSS + 0x1000, 0, MAP_PROT_R | MAP_PROT_W, NULL);
    char version[16];
    snprintf(version, sizeof version, "2.%d", minor);
    elf_header(w);
    banner(w, version);

    /* the main heap: T0 | C1 | C2 (tcache) | T3 | C4 | C5 (tcache) | top */
    w->t0 = SBRK;
    w->c1 = w->t0 + w->tsz;
    w->c2 = w->c1 + 0x30;
    w->t3 = w->c2 + 0x30;
    w->c4 = w->t3 + w->tsz;
    w->c5 = w->c4 + 0x20;
    w->mtop = w->c5 + 0x40;
    chunk(w, w->t0, w->tsz | P);
    chunk(w, w->c1, 0x30 | P);
    chunk(w, w->c2, 0x30 | P);
    chunk(w, w->t3, w->tsz | P);
    chunk(w, w->c4, 0x20 | P);
    chunk(w, w->c5, 0x40 | P);
    chunk(w, w->mtop, (SBRK + SBRK_LEN - w->mtop) | P);
    cache_one(w, w->t0 + 16, 1, w->c2 + 16);   /* 0x30: bin 1 */
    cache_one(w, w->t3 + 16, 2, w->c5 + 16);   /* 0x40: bin 2 */

    /* the non-main arena, after its heap_info; its first chunk is thread 2's
     * (empty) tcache */
    w->arena = H1 + w->hi;
    put64(w, H1, w->arena);              /* ar_ptr */
    put64(w, H1 + 16, H1_LEN);           /* size */
    put64(w, H1 + 24, H1_LEN);           /* mprotect_size */
    w->t2 = align_chunk(w->arena + MS_SIZEOF);
    w->d1 = w->t2 + w->tsz;
    w->atop = w->d1 + 0x20;
    chunk(w, w->t2, w->tsz | P | NM);
    chunk(w, w->d1, 0x20 | P | NM);
    chunk(w, w->atop, (H1 + H1_LEN - w->atop) | P);
    arena(w, w->arena, w->atop, MAIN_ARENA, 2, H1_LEN);
    arena(w, MAIN_ARENA, w->mtop, w->arena, 0, SBRK_LEN);

    /* each thread's TLS: libc's `tcache` at tp - TLS_OFF */
    uint64_t tcs[3] = { w->t0 + 16, w->t2 + 16, w->t3 + 16 };
    for (int i = 0; i < 3; i++) {
        w->tps[i] = TLSMAP + 0x18000 * (uint64_t)(i + 1);
        put64(w, w->tps[i] - TLS_OFF, tcs[i]);
        put64(w, w->tps[i] - 0x100, 0x4242);   /* other TLS words */
    }
}

static void destroy(struct world *w)
{
    for (size_t i = 0; i < w->nr; i++)
        free(w->r[i].buf);
}

/* Runs glibc_find_layout; returns its error (the caller destroys it). */
static struct retain_error *find(struct world *w, const uint64_t *tps, size_t ntps, struct glibc_found *g)
{
    struct memory *mem = NULL;
    struct retain_error *err = memory_open_callback(fake_read, w, w->maps, w->nmaps, &mem);
    CHECK(err == NULL);
    if (err)
        return err;
    err = glibc_find_layout(mem, tps, ntps, g);
    memory_destroy(mem);
    return err;
}

static int has_tcache(const struct glibc_found *g, uint64_t t)
{
    for (uint32_t i = 0; i < g->lay.ntcaches; i++)
        if (g->lay.tcaches[i] == t)
            return 1;
    return 0;
}

static int has_warning(const struct glibc_found *g, const char *s)
{
    for (uint32_t i = 0; i < g->nwarnings; i++)
        if (strstr(g->warnings[i], s))
            return 1;
    return 0;
}

static int err_says(struct retain_error *err, const char *s)
{
    int ok = err && strstr(err->msg, s);
    if (!ok)
        fprintf(stderr, "expected an error saying \"%s\", got: %s\n", s, err ? err->msg : "(none)");
    retain_error_destroy(err);
    return ok;
}

/* The found layout, walked: C2 and C5 are free in a tcache, C1 and C4 in use. */
static void check_walk(struct world *w, const struct glibc_found *g)
{
    struct memory *mem = NULL;
    struct block_table t;
    struct heap_report rep;
    block_table_init(&t);
    struct retain_error *err = memory_open_callback(fake_read, w, w->maps, w->nmaps, &mem);
    if (!err)
        err = glibc_walk(mem, &g->lay, &t, &rep);
    if (!err)
        err = block_table_finish(&t);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "walk: %s\n", err->msg);
    } else {
        CHECK(rep.narenas == 2 && rep.nwarnings == 0);
        struct { uint64_t addr; enum block_state st; enum block_why why; } want[] = {
            { w->c1 + 16, BLOCK_INUSE, BLOCK_WHY_NONE }, { w->c2 + 16, BLOCK_FREE, BLOCK_WHY_TCACHE },
            { w->t3 + 16, BLOCK_INUSE, BLOCK_WHY_NONE }, { w->c4 + 16, BLOCK_INUSE, BLOCK_WHY_NONE },
            { w->c5 + 16, BLOCK_FREE, BLOCK_WHY_TCACHE }, { w->d1 + 16, BLOCK_INUSE, BLOCK_WHY_NONE },
        };
        for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
            uint32_t id = block_lookup(&t, want[i].addr);
            CHECK(id != BLOCK_NONE && t.blocks[id].addr == want[i].addr);
            if (id == BLOCK_NONE)
                continue;
            CHECK(block_state(&t, id) == want[i].st);
            if (want[i].st == BLOCK_FREE)
                CHECK(block_why(&t, id) == want[i].why);
        }
    }
    retain_error_destroy(err);
    block_table_deinit(&t);
    heap_report_deinit(&rep);
    memory_destroy(mem);
}

static void test_version(int minor)
{
    struct world w;
    struct glibc_found g;
    build(&w, minor);
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "2.%d: %s\n", minor, err->msg);
        retain_error_destroy(err);
        glibc_found_deinit(&g);
        destroy(&w);
        return;
    }
    CHECK(g.major == 2 && g.minor == minor);
    CHECK(strcmp(g.version_source, "memory") == 0);
    CHECK(strcmp(g.build_id, "deadbeef0102030405060708090a0b0c0d0e0f10") == 0);
    CHECK(strcmp(g.libc_path, LIBC_PATH) == 0);
    CHECK(strncmp(g.release, "Test GLIBC 2.", 13) == 0);
    CHECK(g.lay.main_arena == MAIN_ARENA);
    CHECK(g.lay.sbrk_base == SBRK && strcmp(g.sbrk_source, "system_mem") == 0);
    CHECK(g.initialized && g.narenas == 2);
    CHECK(g.lay.off_fastbins == 16 && g.lay.nfastbins == 10 && g.lay.off_top == 96);
    CHECK(g.lay.off_next == 2160 && g.lay.off_system_mem == 2184 && g.lay.sizeof_malloc_state == 2200);
    CHECK(g.lay.sizeof_heap_info == w.hi && g.lay.off_heap_info_size == 16 && g.lay.off_heap_info_prev == 8);
    CHECK(g.lay.heap_max_size == 64ull << 20);
    CHECK(g.lay.safe_linking == w.safe);
    CHECK(g.lay.tcache_bins == 64 && g.lay.tcache_count_size == w.cs);
    CHECK(g.lay.ntcaches == 3);
    CHECK(has_tcache(&g, w.t0 + 16) && has_tcache(&g, w.t2 + 16) && has_tcache(&g, w.t3 + 16));
    CHECK(g.ntcache_position == 2 && g.ntcache_tls == 1 && g.ntcache_scan == 0);
    CHECK(g.tls_offset_found && g.tls_offset == -(int64_t)TLS_OFF);
    CHECK(g.nwarnings == 0);
    check_walk(&w, &g);
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_unsupported_version(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    banner(&w, "2.42");
    CHECK(err_says(find(&w, w.tps, 3, &g), "glibc 2.42 is not supported"));
    glibc_found_deinit(&g);
    banner(&w, "2.26");
    CHECK(err_says(find(&w, w.tps, 3, &g), "glibc 2.26 is not supported"));
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_no_libc(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    for (size_t i = 0; i < w.nmaps; i++)
        if (w.maps[i].path)
            w.maps[i].path = "/usr/lib/libnotc.so.1";
    CHECK(err_says(find(&w, w.tps, 3, &g), "statically linked"));
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_not_x86_64(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    uint16_t aarch64 = 183;
    memcpy(at(&w, LIBC_BASE + 18), &aarch64, 2);
    CHECK(err_says(find(&w, w.tps, 3, &g), "x86_64"));
    glibc_found_deinit(&g);
    destroy(&w);
}

/* Cores leave out libc's read-only data: then the file on disk must be the
 * same build as the target's libc. */
static void test_banner_only_on_disk(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    memset(at(&w, LIBC_BASE + 0x1800), 0, 100);
    CHECK(err_says(find(&w, w.tps, 3, &g), "cannot open " LIBC_PATH));
    glibc_found_deinit(&g);
    /* this system's libc has another build-id than the fake one */
    static char real[] = "/lib/x86_64-linux-gnu/libc.so.6";
    FILE *fp = fopen(real, "rb");
    if (fp) {
        fclose(fp);
        for (size_t i = 0; i < w.nmaps; i++)
            if (w.maps[i].path)
                w.maps[i].path = real;
        CHECK(err_says(find(&w, w.tps, 3, &g), "is not the libc the target ran"));
        glibc_found_deinit(&g);
    }
    destroy(&w);
}

static void test_uninitialized(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    memset(at(&w, MAIN_ARENA), 0, MS_SIZEOF);
    put64(&w, MAIN_ARENA + 2160, MAIN_ARENA);
    put64(&w, MAIN_ARENA + 2176, 1);
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.main_arena == MAIN_ARENA && !g.initialized && g.lay.sbrk_base == 0 && g.lay.ntcaches == 0);
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_corrupt_main_arena(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    /* a bin whose list does not link back to it */
    put64(&w, MAIN_ARENA + 112 + 16 * 5, w.c1);
    put64(&w, MAIN_ARENA + 120 + 16 * 5, w.c1);
    CHECK(err_says(find(&w, w.tps, 3, &g), "main_arena was not found"));
    glibc_found_deinit(&g);
    /* a bin that does: found again */
    uint64_t bin = MAIN_ARENA + 96 + 16 * 5;
    put64(&w, w.c1 + 16, bin);
    put64(&w, w.c1 + 24, bin);
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL && g.lay.main_arena == MAIN_ARENA);
    retain_error_destroy(err);
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_two_main_arenas(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    uint64_t twin = LIBC_DATA + 0xa00;
    arena(&w, twin, twin + 96, twin, 0, 0);
    /* the real one (an initialized arena with a sound ring) still wins */
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL && g.lay.main_arena == MAIN_ARENA);
    retain_error_destroy(err);
    glibc_found_deinit(&g);
    /* two equally good ones (a heap, a sound ring): refused */
    arena(&w, twin, w.mtop, twin, 0, SBRK_LEN);
    CHECK(err_says(find(&w, w.tps, 3, &g), "look like main_arena"));
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_sbrk_from_mapping(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    put64(&w, MAIN_ARENA + 2184, 0x3000);   /* system_mem says the heap starts mid-chunk */
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.sbrk_base == SBRK && strcmp(g.sbrk_source, "mapping") == 0);
    glibc_found_deinit(&g);
    /* a heap that walks nowhere: no sbrk_base, a warning */
    chunk(&w, w.c1, 0x7);
    err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.sbrk_base == 0 && has_warning(&g, "sbrk_base"));
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_without_thread_pointers(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    /* no thread pointers: the shared arena's second tcache is found by its
     * shape (it caches a chunk) */
    struct retain_error *err = find(&w, NULL, 0, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.ntcaches == 3 && has_tcache(&g, w.t3 + 16));
    CHECK(g.ntcache_position == 2 && g.ntcache_scan == 1 && !g.tls_offset_found && g.nwarnings == 0);
    glibc_found_deinit(&g);
    /* thread pointers that lead nowhere, more threads than tcaches: a warning */
    uint64_t bad[4] = { 8, 16, 24, 32 };
    err = find(&w, bad, 4, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.ntcaches == 3 && has_warning(&g, "3 tcaches for 4 threads"));
    glibc_found_deinit(&g);
    /* a TLS word that holds garbage in another thread: that offset is not used */
    put64(&w, w.tps[1] - TLS_OFF, 0x4141414141414140ull);
    err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(!g.tls_offset_found && g.ntcache_scan == 1 && g.lay.ntcaches == 3);
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_bad_tcache_is_ignored(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    /* T3's count says 2 but its chain holds 1: not a tcache; thread 3's TLS
     * word then holds something invalid, so the TLS offset is refused and
     * the scan does not take T3 either */
    put16(&w, w.t3 + 16 + 4, 2);
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL);
    retain_error_destroy(err);
    CHECK(g.lay.ntcaches == 2 && !has_tcache(&g, w.t3 + 16));
    CHECK(has_warning(&g, "2 tcaches for 3 threads"));
    glibc_found_deinit(&g);
    destroy(&w);
}

static void test_broken_ring(void)
{
    struct world w;
    struct glibc_found g;
    build(&w, 36);
    put64(&w, H1, 0);   /* the arena's heap_info does not point back */
    struct retain_error *err = find(&w, w.tps, 3, &g);
    CHECK(err == NULL && g.lay.main_arena == MAIN_ARENA);
    retain_error_destroy(err);
    CHECK(has_warning(&g, "arena ring"));
    glibc_found_deinit(&g);
    destroy(&w);
}

int main(void)
{
    test_version(36);
    test_version(27);
    test_version(30);
    test_version(33);
    test_version(41);
    test_unsupported_version();
    test_no_libc();
    test_not_x86_64();
    test_banner_only_on_disk();
    test_uninitialized();
    test_corrupt_main_arena();
    test_two_main_arenas();
    test_sbrk_from_mapping();
    test_without_thread_pointers();
    test_bad_tcache_is_ignored();
    test_broken_ring();
    return CHECK_DONE();
}
