/* glibc ptmalloc heap walker (glibc 2.36, x86_64: SIZE_SZ 8, MALLOC_ALIGNMENT
 * 16, MINSIZE 32).
 *
 * What is walked, in this order:
 *   1. the arena ring (main_arena.next ... back to main_arena),
 *   2. the tcache and fastbin lists: their chunks look in use in the heap
 *      (the next chunk's PREV_INUSE stays set), so they are collected first
 *      into a sorted set that the chunk walk consults,
 *   3. the main heap (sbrk_base to main_arena.top) and each non-main arena's
 *      heaps (heap_for_ptr(top), then heap_info.prev), chunk by chunk,
 *   4. mmapped chunks, which glibc keeps no list of: found by scanning the
 *      writable anonymous mappings outside the heaps for their headers.
 * Corrupt structures give warnings (rep->warnings) and end the walk of that
 * heap or list; only an unreadable main_arena or a bad layout is an error.
 * glibc_walk resets *rep on entry; the caller deinits it, after an error too.
 * rep->inuse_bytes/free_bytes sum usable block sizes (what the table holds),
 * not chunk sizes. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "heap_glibc.h"

#define CHUNK_HDR 16u           /* prev_size + size: user memory starts here */
#define MIN_CHUNK 32u           /* MINSIZE */
#define ALIGN_MASK 15u          /* MALLOC_ALIGN_MASK */
#define PAGE 4096u
#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define SIZE_BITS 7u

#define WINDOW (1u << 20)       /* bytes per memory_view while walking headers */
#define MAX_WARNINGS 100u
#define MAX_ARENAS 65536u
#define MAX_HEAPS (1u << 21)    /* 2^47 bytes of address space / 64 MiB */
#define MAX_FASTBIN_LIST (1u << 26)

typedef unsigned long long ull;  /* for printf: uint64_t is unsigned long here */

/* ---- small helpers ---- */

static uint64_t chunksize(uint64_t size_field) { return size_field & ~(uint64_t)SIZE_BITS; }

/* First chunk at or after p whose user memory (chunk + 16) is 16-aligned,
 * as _int_new_arena and sysmalloc place them. */
static uint64_t align_chunk(uint64_t p)
{
    uint64_t misalign = (p + CHUNK_HDR) & ALIGN_MASK;
    return misalign ? p + (ALIGN_MASK + 1 - misalign) : p;
}

static uint64_t reveal_ptr(const struct glibc_layout *lay, uint64_t field_addr, uint64_t stored)
{
    return lay->safe_linking ? (field_addr >> 12) ^ stored : stored;
}

/* A set of addresses (open addressing), to notice rings and lists that
 * loop. 0 marks an empty slot, so 0 is never added. */
struct addr_set { uint64_t *slot; size_t cap, n; };

static size_t addr_hash(uint64_t a, size_t mask)
{
    return (size_t)((a * 0x9E3779B97F4A7C15ull) >> 29) & mask;
}

static int addr_set_grow(struct addr_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return -1;
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->slot[i])
            continue;
        size_t j = addr_hash(s->slot[i], cap - 1);
        while (slot[j])
            j = (j + 1) & (cap - 1);
        slot[j] = s->slot[i];
    }
    free(s->slot);
    s->slot = slot;
    s->cap = cap;
    return 0;
}

/* 1: added, 0: already there, -1: out of memory. */
static int addr_set_add(struct addr_set *s, uint64_t a)
{
    if ((s->n + 1) * 2 > s->cap && addr_set_grow(s))
        return -1;
    size_t j = addr_hash(a, s->cap - 1);
    while (s->slot[j]) {
        if (s->slot[j] == a)
            return 0;
        j = (j + 1) & (s->cap - 1);
    }
    s->slot[j] = a;
    s->n++;
    return 1;
}

/* ---- walk state ---- */

/* A chunk found on a tcache or fastbin list. */
struct listed {
    uint64_t mem;       /* user pointer */
    uint8_t why;        /* BLOCK_WHY_TCACHE / BLOCK_WHY_FASTBIN */
    uint8_t matched;    /* the heap walk met it */
};

struct range { uint64_t start, end; };

/* A window of target memory, refilled as the walk moves on. */
struct cursor {
    uint8_t *scratch;
    uint64_t base;
    size_t len;
    const uint8_t *data;
};

struct walk {
    struct memory *mem;
    uint64_t prefetched_page;   /* last page prefetch_ahead streamed in */
    const struct glibc_layout *lay;
    struct block_table *t;
    struct heap_report *rep;
    struct cursor cur;
    struct listed *listed; size_t nlisted, caplisted;
    struct range *excl; size_t nexcl, capexcl;  /* not to be scanned for mmapped chunks */
    struct addr_set heaps;                       /* heap_info addresses seen */
    uint32_t suppressed;                         /* warnings over MAX_WARNINGS */
    uint32_t tcache_bins, count_size;
    uint64_t heap_max;
};

/* One contiguous run of chunks to walk. */
struct span {
    uint64_t start;     /* first chunk */
    uint64_t limit;     /* top chunk (is_top) or the final fencepost (heap end - 16) */
    uint64_t lo, hi;    /* the heap, for messages */
    int is_top;
    enum block_kind kind;
};

static struct retain_error *oom(void) { return retain_errorf("out of memory in the glibc heap walk"); }

/* Warnings are best effort: past the cap, or out of memory, they are counted. */
__attribute__((format(printf, 2, 3)))
static void warn(struct walk *w, const char *fmt, ...)
{
    struct heap_report *r = w->rep;
    if (r->nwarnings >= MAX_WARNINGS) {
        w->suppressed++;
        return;
    }
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char **v = realloc(r->warnings, (r->nwarnings + 1) * sizeof *v);
    if (!v) {
        w->suppressed++;
        return;
    }
    r->warnings = v;
    if (!(v[r->nwarnings] = strdup(buf))) {
        w->suppressed++;
        return;
    }
    r->nwarnings++;
}

static void finish_warnings(struct walk *w)
{
    if (!w->suppressed)
        return;
    /* The cap is exceeded by this one line on purpose: it says what was left out. */
    char buf[64];
    snprintf(buf, sizeof buf, "... and %u more warnings", w->suppressed);
    char **v = realloc(w->rep->warnings, (w->rep->nwarnings + 1) * sizeof *v);
    if (!v)
        return;
    w->rep->warnings = v;
    if ((v[w->rep->nwarnings] = strdup(buf)))
        w->rep->nwarnings++;
}

static struct retain_error *add_range(struct range **v, size_t *n, size_t *cap,
                                      uint64_t start, uint64_t end)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        struct range *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return oom();
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = (struct range){ start, end };
    return NULL;
}

static struct retain_error *add_segment(struct walk *w, uint64_t start, uint64_t end)
{
    struct heap_report *r = w->rep;
    void *v = realloc(r->segments, (r->nsegments + 1) * sizeof *r->segments);
    if (!v)
        return oom();
    r->segments = v;
    r->segments[r->nsegments].start = start;
    r->segments[r->nsegments].end = end;
    r->nsegments++;
    return NULL;
}

static struct retain_error *add_listed(struct walk *w, uint64_t mem, enum block_why why)
{
    if (w->nlisted == w->caplisted) {
        size_t c = w->caplisted ? w->caplisted * 2 : 256;
        struct listed *v = realloc(w->listed, c * sizeof *v);
        if (!v)
            return oom();
        w->listed = v;
        w->caplisted = c;
    }
    w->listed[w->nlisted++] = (struct listed){ mem, (uint8_t)why, 0 };
    return NULL;
}

/* 0 and *v set if the 8 bytes at addr are readable. Reads through the
 * cursor's window so a heap walk costs one view per WINDOW bytes. */
static int cur_u64(struct walk *w, uint64_t addr, uint64_t *v)
{
    struct cursor *c = &w->cur;
    if (addr > UINT64_MAX - 16)
        return -1;
    if (addr < c->base || addr + 8 > c->base + c->len) {
        c->base = addr;
        c->len = memory_view(w->mem, addr, WINDOW, c->scratch, &c->data);
        if (c->len < 8) {
            c->len = 0;
            return -1;
        }
    }
    memcpy(v, c->data + (addr - c->base), 8);
    return 0;
}

/* Each chunk's size says where the next header is, so the walk is a chain of
 * dependent loads, one cache miss each. Streaming through the memory a few
 * pages ahead (every line, as a sequential read would) lets the misses
 * overlap: the walk then runs at memory bandwidth, not latency. */
#define PREFETCH_PAGES_AHEAD 2

static inline void prefetch_ahead(struct walk *w, uint64_t p)
{
    const struct cursor *c = &w->cur;
    uint64_t page = (p >> 12) + PREFETCH_PAGES_AHEAD;
    if (page == w->prefetched_page)
        return;
    w->prefetched_page = page;
    uint64_t ahead = page << 12;
    if (ahead < c->base || ahead + 4096 > c->base + c->len)
        return;
    memory_prefetch_page(c->data + (ahead - c->base));
}

static int read_u64(struct walk *w, uint64_t addr, uint64_t *v)
{
    return memory_read_u64(w->mem, addr, v);
}

/* ---- layout ---- */

static int field_ok(uint32_t off, uint32_t size, uint32_t total)
{
    return (uint64_t)off + size <= total;
}

static struct retain_error *check_layout(const struct glibc_layout *lay, struct walk *w)
{
    uint32_t ms = lay->sizeof_malloc_state, hi = lay->sizeof_heap_info;
    w->heap_max = lay->heap_max_size ? lay->heap_max_size : 64u << 20;
    w->tcache_bins = lay->tcache_bins ? lay->tcache_bins : 64;
    w->count_size = lay->tcache_count_size ? lay->tcache_count_size : 2;
    const char *bad = NULL;
    if (ms == 0 || ms > 65536)
        bad = "sizeof(struct malloc_state)";
    else if (lay->nfastbins > 64 || !field_ok(lay->off_fastbins, lay->nfastbins * 8u, ms))
        bad = "malloc_state.fastbinsY";
    else if (!field_ok(lay->off_top, 8, ms))
        bad = "malloc_state.top";
    else if (!field_ok(lay->off_next, 8, ms))
        bad = "malloc_state.next";
    else if (hi < 24 || hi > 4096 || (hi & 7))
        bad = "sizeof(heap_info)";
    else if (!field_ok(lay->off_heap_info_size, 8, hi) || !field_ok(lay->off_heap_info_prev, 8, hi))
        bad = "heap_info fields";
    else if ((w->heap_max & (w->heap_max - 1)) || w->heap_max < (64u << 10) || w->heap_max > (1ull << 40))
        bad = "HEAP_MAX_SIZE";
    else if (w->tcache_bins > 1024 || (w->count_size != 1 && w->count_size != 2))
        bad = "tcache_perthread_struct";
    else if (lay->ntcaches > (1u << 24) || (lay->ntcaches && !lay->tcaches))
        bad = "tcache list";
    return bad ? retain_errorf("bad glibc layout: %s", bad) : NULL;
}

/* ---- arenas ---- */

/* The non-main arenas, in ring order. Stops (with a warning) where the ring
 * breaks or loops without coming back to main_arena. */
static struct retain_error *collect_arenas(struct walk *w, uint64_t main_next,
                                           uint64_t **arenas_ret, size_t *n_ret)
{
    const struct glibc_layout *lay = w->lay;
    struct addr_set seen = { 0 };
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct retain_error *err = NULL;
    uint64_t a = main_next;
    if (addr_set_add(&seen, lay->main_arena) < 0)
        goto nomem;
    while (a != lay->main_arena) {
        uint64_t next;
        if (a == 0) {
            warn(w, "arena ring breaks after %zu arenas (next is NULL)", n + 1);
            break;
        }
        int added = addr_set_add(&seen, a);
        if (added < 0)
            goto nomem;
        if (!added) {
            warn(w, "at 0x%llx: the arena ring loops without returning to main_arena 0x%llx",
                 (ull)a, (ull)lay->main_arena);
            break;
        }
        if (n >= MAX_ARENAS) {
            warn(w, "more than %u arenas; the rest are not walked", MAX_ARENAS);
            break;
        }
        if (read_u64(w, a + lay->off_next, &next)) {
            warn(w, "cannot read arena at 0x%llx", (ull)a);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            uint64_t *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                goto nomem;
            v = nv;
        }
        v[n++] = a;
        a = next;
    }
    free(seen.slot);
    *arenas_ret = v;
    *n_ret = n;
    return NULL;
nomem:
    err = oom();
    free(seen.slot);
    free(v);
    return err;
}

/* ---- tcache and fastbin lists ---- */

static struct retain_error *collect_tcache_bin(struct walk *w, uint64_t tc, uint32_t bin,
                                               uint64_t e, uint32_t count)
{
    struct retain_error *err;
    for (uint32_t k = 0; e && k < count; k++) {
        if (e & ALIGN_MASK) {
            warn(w, "at 0x%llx: misaligned entry in tcache bin %u of tcache 0x%llx",
                 (ull)e, bin, (ull)tc);
            return NULL;
        }
        if ((err = add_listed(w, e, BLOCK_WHY_TCACHE)))
            return err;
        if (k + 1 == count)
            break;
        uint64_t next;
        if (read_u64(w, e, &next)) {   /* tcache_entry.next is at the user pointer */
            warn(w, "at 0x%llx: cannot read entry in tcache bin %u of tcache 0x%llx",
                 (ull)e, bin, (ull)tc);
            return NULL;
        }
        e = reveal_ptr(w->lay, e, next);
    }
    return NULL;
}

/* counts[bins] then entries[bins]; the heads in entries[] are not mangled. */
static struct retain_error *collect_tcache(struct walk *w, uint64_t tc)
{
    uint32_t nb = w->tcache_bins, cs = w->count_size;
    uint64_t entries_off = ((uint64_t)nb * cs + 7) & ~7ull;
    size_t counts_len = (size_t)nb * cs, entries_len = (size_t)nb * 8;
    uint8_t *buf = malloc(counts_len + entries_len);
    struct retain_error *err = NULL;
    if (!buf)
        return oom();
    if (memory_read(w->mem, tc, buf, counts_len) != counts_len ||
        memory_read(w->mem, tc + entries_off, buf + counts_len, entries_len) != entries_len) {
        warn(w, "cannot read tcache at 0x%llx", (ull)tc);
        free(buf);
        return NULL;
    }
    for (uint32_t i = 0; i < nb && !err; i++) {
        uint32_t count = buf[(size_t)i * cs];
        if (cs == 2)
            count |= (uint32_t)buf[(size_t)i * cs + 1] << 8;
        uint64_t head;
        memcpy(&head, buf + counts_len + (size_t)i * 8, 8);
        err = collect_tcache_bin(w, tc, i, head, count);
    }
    free(buf);
    return err;
}

/* One fastbinsY list: the head is a chunk pointer, each fd (at chunk+16) is
 * mangled. Loops are caught with Brent's cycle detection. */
static struct retain_error *collect_fastbin(struct walk *w, uint64_t arena, uint32_t bin, uint64_t p)
{
    uint64_t tortoise = p, power = 1, lam = 0;
    struct retain_error *err;
    for (uint32_t n = 0; p; n++) {
        if (p & ALIGN_MASK) {
            warn(w, "at 0x%llx: misaligned chunk in fastbin %u of arena 0x%llx", (ull)p, bin, (ull)arena);
            return NULL;
        }
        if (n >= MAX_FASTBIN_LIST) {
            warn(w, "fastbin %u of arena 0x%llx has more than %u chunks; the rest are not read",
                 bin, (ull)arena, MAX_FASTBIN_LIST);
            return NULL;
        }
        if ((err = add_listed(w, p + CHUNK_HDR, BLOCK_WHY_FASTBIN)))
            return err;
        uint64_t fd;
        if (read_u64(w, p + CHUNK_HDR, &fd)) {
            warn(w, "at 0x%llx: cannot read chunk in fastbin %u of arena 0x%llx", (ull)p, bin, (ull)arena);
            return NULL;
        }
        uint64_t next = reveal_ptr(w->lay, p + CHUNK_HDR, fd);
        if (next && next == tortoise) {
            warn(w, "at 0x%llx: fastbin %u of arena 0x%llx loops", (ull)p, bin, (ull)arena);
            return NULL;
        }
        if (++lam == power) {
            tortoise = next;
            power <<= 1;
            lam = 0;
        }
        p = next;
    }
    return NULL;
}

static struct retain_error *collect_fastbins(struct walk *w, uint64_t arena)
{
    const struct glibc_layout *lay = w->lay;
    struct retain_error *err;
    for (uint32_t i = 0; i < lay->nfastbins; i++) {
        uint64_t head;
        if (read_u64(w, arena + lay->off_fastbins + 8ull * i, &head)) {
            warn(w, "cannot read the fastbins of arena 0x%llx", (ull)arena);
            return NULL;
        }
        if ((err = collect_fastbin(w, arena, i, head)))
            return err;
    }
    return NULL;
}

static int listed_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct listed *)a)->mem, y = ((const struct listed *)b)->mem;
    return x < y ? -1 : x > y;
}

/* Sorted, one entry per chunk (a double free may list a chunk twice). */
static void sort_listed(struct walk *w)
{
    if (!w->nlisted)
        return;
    qsort(w->listed, w->nlisted, sizeof *w->listed, listed_cmp);
    size_t k = 1;
    for (size_t i = 1; i < w->nlisted; i++)
        if (w->listed[i].mem != w->listed[k - 1].mem)
            w->listed[k++] = w->listed[i];
    w->nlisted = k;
}

static size_t listed_lower_bound(const struct walk *w, uint64_t mem)
{
    size_t lo = 0, hi = w->nlisted;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (w->listed[mid].mem < mem)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void report_unmatched(struct walk *w)
{
    for (size_t i = 0; i < w->nlisted; i++)
        if (!w->listed[i].matched)
            warn(w, "at 0x%llx: %s entry is not the start of a chunk", (ull)w->listed[i].mem,
                 w->listed[i].why == BLOCK_WHY_TCACHE ? "tcache" : "fastbin");
}

/* ---- chunk walk ---- */

static struct retain_error *add_block(struct walk *w, uint64_t addr, uint64_t size,
                                      enum block_state st, enum block_kind kind, enum block_why why)
{
    if (st == BLOCK_INUSE)
        w->rep->inuse_bytes += size;
    else
        w->rep->free_bytes += size;
    return block_table_add(w->t, addr, size, st, kind, why);
}

/* A heap chunk: in use iff the next chunk says PREV_INUSE, unless a tcache
 * or fastbin list holds it. *li walks the sorted list set along with the heap. */
static struct retain_error *emit_chunk(struct walk *w, uint64_t p, uint64_t cs, int prev_inuse_of_next,
                                       enum block_kind kind, size_t *li)
{
    uint64_t mem = p + CHUNK_HDR;
    while (*li < w->nlisted && w->listed[*li].mem < mem)
        (*li)++;
    if (*li < w->nlisted && w->listed[*li].mem == mem) {
        w->listed[*li].matched = 1;
        return add_block(w, mem, cs - CHUNK_HDR, BLOCK_FREE, kind, (enum block_why)w->listed[*li].why);
    }
    if (!prev_inuse_of_next)
        return add_block(w, mem, cs - CHUNK_HDR, BLOCK_FREE, kind, BLOCK_WHY_BIN);
    /* the next chunk's prev_size field is usable too */
    return add_block(w, mem, cs - 8, BLOCK_INUSE, kind, BLOCK_WHY_NONE);
}

static void impossible(struct walk *w, uint64_t p, uint64_t size, const struct span *s)
{
    warn(w, "at 0x%llx: chunk size 0x%llx is impossible (heap 0x%llx-0x%llx)",
         (ull)p, (ull)size, (ull)s->lo, (ull)s->hi);
}

static void unreadable(struct walk *w, uint64_t p, const struct span *s)
{
    warn(w, "at 0x%llx: chunk header is unreadable (heap 0x%llx-0x%llx)",
         (ull)p, (ull)s->lo, (ull)s->hi);
    if (s->limit > p)
        w->rep->unreadable_bytes += s->limit - p;
}

/* A non-top heap ends with fenceposts: a chunk of size 16 at end-32 and a
 * header of size 0 at end-16 (sysmalloc, when it starts a new heap). */
static int is_fencepost(struct walk *w, uint64_t p, uint64_t cs, const struct span *s)
{
    uint64_t next;
    return !s->is_top && cs == CHUNK_HDR && p + CHUNK_HDR == s->limit &&
           !cur_u64(w, s->limit + 8, &next) && chunksize(next) == 0;
}

/* Walks chunks from s->start to s->limit by size; stops at the first
 * impossible or unreadable header. */
static struct retain_error *walk_span(struct walk *w, const struct span *s)
{
    uint64_t p = s->start, size;
    size_t li = listed_lower_bound(w, p);
    struct retain_error *err;
    if (p > s->limit) {
        warn(w, "at 0x%llx: first chunk lies past the end of heap 0x%llx-0x%llx",
             (ull)p, (ull)s->lo, (ull)s->hi);
        return NULL;
    }
    if (cur_u64(w, p + 8, &size)) {
        unreadable(w, p, s);
        return NULL;
    }
    while (p < s->limit) {
        uint64_t cs = chunksize(size), nsize;
        if (is_fencepost(w, p, cs, s))
            return NULL;
        if (cs < MIN_CHUNK || (cs & ALIGN_MASK) || cs > s->limit - p || (size & IS_MMAPPED)) {
            impossible(w, p, size, s);
            return NULL;
        }
        if (cur_u64(w, p + cs + 8, &nsize)) {
            unreadable(w, p + cs, s);
            return NULL;
        }
        if ((err = emit_chunk(w, p, cs, (int)(nsize & PREV_INUSE), s->kind, &li)))
            return err;
        p += cs;
        size = nsize;
        prefetch_ahead(w, p);
    }
    if (!s->is_top && chunksize(size) != 0)  /* the final fencepost */
        impossible(w, p, size, s);
    return NULL;
}

/* The top chunk, free (why TOP). *end_ret: where it ends (top itself when
 * its size is impossible). */
static struct retain_error *add_top(struct walk *w, uint64_t top, enum block_kind kind, uint64_t *end_ret)
{
    uint64_t size;
    *end_ret = top;
    if (read_u64(w, top + 8, &size)) {
        warn(w, "at 0x%llx: top chunk header is unreadable", (ull)top);
        return NULL;
    }
    uint64_t cs = chunksize(size);
    if ((cs & ALIGN_MASK) || cs > UINT64_MAX - top) {
        warn(w, "at 0x%llx: top chunk size 0x%llx is impossible", (ull)top, (ull)size);
        return NULL;
    }
    *end_ret = top + cs;
    if (cs <= CHUNK_HDR)  /* nothing a pointer could point into */
        return NULL;
    return add_block(w, top + CHUNK_HDR, cs - CHUNK_HDR, BLOCK_FREE, kind, BLOCK_WHY_TOP);
}

/* The main arena's heap: one sbrk'd run from sbrk_base to the top chunk. */
static struct retain_error *walk_main(struct walk *w, uint64_t top)
{
    const struct glibc_layout *lay = w->lay;
    struct retain_error *err;
    uint64_t top_end;
    /* Before the first malloc, top points at the unsorted bin inside main_arena. */
    if (top >= lay->main_arena && top < lay->main_arena + lay->sizeof_malloc_state)
        return NULL;
    uint64_t start = align_chunk(lay->sbrk_base);
    if (!lay->sbrk_base || top < start || (top & ALIGN_MASK)) {
        warn(w, "main_arena.top 0x%llx is not in the sbrk heap from 0x%llx; the main heap is not walked",
             (ull)top, (ull)lay->sbrk_base);
        return NULL;
    }
    if ((err = add_top(w, top, BLOCK_KIND_MAIN_ARENA, &top_end)))
        return err;
    if ((err = add_segment(w, lay->sbrk_base, top_end)) ||
        (err = add_range(&w->excl, &w->nexcl, &w->capexcl, lay->sbrk_base, top_end)))
        return err;
    w->rep->nheaps++;
    struct span s = { start, top, lay->sbrk_base, top_end, 1, BLOCK_KIND_MAIN_ARENA };
    return walk_span(w, &s);
}

struct heap_hdr { uint64_t addr, size, prev; };

/* Reads one heap_info and checks that it belongs to the arena. */
static int read_heap(struct walk *w, uint64_t arena, uint64_t h, struct heap_hdr *hh)
{
    const struct glibc_layout *lay = w->lay;
    uint64_t ar_ptr;
    hh->addr = h;
    if (h > UINT64_MAX - w->heap_max || read_u64(w, h, &ar_ptr) ||
        read_u64(w, h + lay->off_heap_info_size, &hh->size) ||
        read_u64(w, h + lay->off_heap_info_prev, &hh->prev)) {
        warn(w, "cannot read heap_info at 0x%llx (arena 0x%llx)", (ull)h, (ull)arena);
        return -1;
    }
    if (ar_ptr != arena) {
        warn(w, "at 0x%llx: heap_info.ar_ptr 0x%llx is not its arena 0x%llx",
             (ull)h, (ull)ar_ptr, (ull)arena);
        return -1;
    }
    if (hh->size < lay->sizeof_heap_info + CHUNK_HDR || hh->size > w->heap_max) {
        warn(w, "at 0x%llx: heap_info.size 0x%llx is impossible", (ull)h, (ull)hh->size);
        return -1;
    }
    return 0;
}

/* An arena's heaps, newest (holding top) first, following heap_info.prev. */
static struct retain_error *collect_heaps(struct walk *w, uint64_t arena, uint64_t top,
                                          struct heap_hdr **v_ret, size_t *n_ret)
{
    struct heap_hdr *v = NULL;
    size_t n = 0, cap = 0;
    uint64_t h = top & ~(w->heap_max - 1);
    while (h) {
        struct heap_hdr hh;
        if (h & (w->heap_max - 1)) {
            warn(w, "at 0x%llx: heap of arena 0x%llx is not aligned to HEAP_MAX_SIZE", (ull)h, (ull)arena);
            break;
        }
        if (w->heaps.n >= MAX_HEAPS) {
            warn(w, "more than %u heaps; the rest of arena 0x%llx is not walked", MAX_HEAPS, (ull)arena);
            break;
        }
        int added = addr_set_add(&w->heaps, h);
        if (added < 0)
            goto nomem;
        if (!added) {
            warn(w, "at 0x%llx: heap list of arena 0x%llx loops or is shared", (ull)h, (ull)arena);
            break;
        }
        if (read_heap(w, arena, h, &hh))
            break;
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct heap_hdr *nv = realloc(v, cap * sizeof *nv);
            if (!nv)
                goto nomem;
            v = nv;
        }
        v[n++] = hh;
        if (h + w->lay->sizeof_heap_info == arena)  /* the arena's first heap */
            break;
        h = hh.prev;
    }
    *v_ret = v;
    *n_ret = n;
    return NULL;
nomem:
    free(v);
    return oom();
}

/* One heap of a non-main arena; the first heap holds heap_info and the
 * malloc_state itself before its chunks. */
static struct retain_error *walk_heap(struct walk *w, uint64_t arena, uint64_t top,
                                      const struct heap_hdr *hh, int holds_top)
{
    const struct glibc_layout *lay = w->lay;
    struct retain_error *err;
    uint64_t h = hh->addr, end = h + hh->size, top_end;
    uint64_t first = h + lay->sizeof_heap_info == arena ? arena + lay->sizeof_malloc_state
                                                        : h + lay->sizeof_heap_info;
    struct span s = { align_chunk(first), end - CHUNK_HDR, h, end, holds_top, BLOCK_KIND_ARENA };
    w->rep->nheaps++;
    if ((err = add_segment(w, h, end)) ||
        (err = add_range(&w->excl, &w->nexcl, &w->capexcl, h, h + w->heap_max)))
        return err;
    if (!holds_top)
        return walk_span(w, &s);
    if (top < s.start || top >= end || (top & ALIGN_MASK)) {
        warn(w, "arena 0x%llx: top 0x%llx is outside its heap 0x%llx-0x%llx",
             (ull)arena, (ull)top, (ull)h, (ull)end);
        return NULL;
    }
    s.limit = top;
    if ((err = add_top(w, top, BLOCK_KIND_ARENA, &top_end)))
        return err;
    return walk_span(w, &s);
}

static struct retain_error *walk_arena(struct walk *w, uint64_t arena)
{
    uint64_t top;
    struct heap_hdr *hs = NULL;
    size_t n = 0;
    struct retain_error *err;
    if (read_u64(w, arena + w->lay->off_top, &top)) {
        warn(w, "cannot read arena at 0x%llx", (ull)arena);
        return NULL;
    }
    if ((err = collect_heaps(w, arena, top, &hs, &n)))
        return err;
    for (size_t i = 0; i < n && !err; i++)
        err = walk_heap(w, arena, top, &hs[i], i == 0);
    free(hs);
    return err;
}

/* ---- mmapped chunks ---- */

/* _int_memalign moves an mmapped chunk forward by the alignment lead and
 * leaves the original header at the page start. Look for the moved header
 * at each power-of-two alignment; prev_size is the lead. */
static void find_memaligned(struct walk *w, uint64_t pos, uint64_t total, uint64_t *chunk, uint64_t *cs)
{
    for (uint64_t al = 32; al < total; al <<= 1) {
        uint64_t m = (pos + CHUNK_HDR + al - 1) & ~(al - 1), prev, size;
        if (m - CHUNK_HDR - pos < MIN_CHUNK)
            m += al;
        uint64_t c = m - CHUNK_HDR;
        if (c + MIN_CHUNK > pos + total)
            return;
        if (read_u64(w, c, &prev) || read_u64(w, c + 8, &size))
            continue;
        if (prev == c - pos && (size & SIZE_BITS) == IS_MMAPPED && prev + chunksize(size) == total) {
            *chunk = c;
            *cs = chunksize(size);
            return;
        }
    }
}

/* An mmapped chunk at page pos (prev_size 0, IS_MMAPPED alone, page-sized,
 * inside [pos, end)). Returns its total mapping size, 0 if none. */
static uint64_t try_mmapped(struct walk *w, uint64_t pos, uint64_t end, struct retain_error **err)
{
    uint64_t prev, size;
    *err = NULL;
    if (cur_u64(w, pos, &prev) || prev != 0 || cur_u64(w, pos + 8, &size))
        return 0;
    uint64_t total = chunksize(size);
    if ((size & SIZE_BITS) != IS_MMAPPED || total < PAGE || (total & (PAGE - 1)) || total > end - pos)
        return 0;
    uint64_t chunk = pos, cs = total;
    find_memaligned(w, pos, total, &chunk, &cs);
    w->rep->nmmapped++;
    if ((*err = add_segment(w, chunk, chunk + cs)))
        return 0;
    *err = add_block(w, chunk + CHUNK_HDR, cs - CHUNK_HDR, BLOCK_INUSE, BLOCK_KIND_MMAPPED, BLOCK_WHY_NONE);
    return total;
}

/* Page by page through [start, end), skipping the excluded (heap) ranges. */
static struct retain_error *scan_run(struct walk *w, uint64_t start, uint64_t end)
{
    uint64_t pos = (start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    size_t x = 0;
    struct retain_error *err;
    while (pos < end && end - pos >= PAGE) {
        while (x < w->nexcl && w->excl[x].end <= pos)
            x++;
        if (x < w->nexcl && w->excl[x].start <= pos) {
            pos = (w->excl[x].end + PAGE - 1) & ~(uint64_t)(PAGE - 1);
            continue;
        }
        uint64_t stop = x < w->nexcl && w->excl[x].start < end ? w->excl[x].start : end;
        uint64_t total = try_mmapped(w, pos, stop, &err);
        if (err)
            return err;
        pos += total ? total : PAGE;
    }
    return NULL;
}

static int is_anonymous(const struct mapping *m)
{
    return (m->prot & MAP_PROT_W) && (!m->path || !m->path[0]);
}

static int range_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct range *)a)->start, y = ((const struct range *)b)->start;
    return x < y ? -1 : x > y;
}

/* Adjacent anonymous mappings are scanned as one run: a chunk may span them. */
static struct retain_error *scan_mmapped(struct walk *w)
{
    const struct mapping *maps;
    size_t n = memory_mappings(w->mem, &maps);
    struct retain_error *err;
    qsort(w->excl, w->nexcl, sizeof *w->excl, range_cmp);
    for (size_t i = 0; i < n;) {
        if (!is_anonymous(&maps[i])) {
            i++;
            continue;
        }
        uint64_t start = maps[i].start, end = maps[i].end;
        for (i++; i < n && is_anonymous(&maps[i]) && maps[i].start == end; i++)
            end = maps[i].end;
        if ((err = scan_run(w, start, end)))
            return err;
    }
    return NULL;
}

/* ---- entry point ---- */

void heap_report_deinit(struct heap_report *r)
{
    if (!r)
        return;
    for (uint32_t i = 0; i < r->nwarnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    free(r->segments);
    memset(r, 0, sizeof *r);
}

static struct retain_error *walk_all(struct walk *w)
{
    const struct glibc_layout *lay = w->lay;
    uint64_t main_top, main_next, *arenas = NULL;
    size_t narenas = 0;
    struct retain_error *err;
    if (read_u64(w, lay->main_arena + lay->off_top, &main_top) ||
        read_u64(w, lay->main_arena + lay->off_next, &main_next))
        return retain_errorf("cannot read main_arena at 0x%llx", (ull)lay->main_arena);
    if ((err = collect_arenas(w, main_next, &arenas, &narenas)))
        return err;
    w->rep->narenas = (uint32_t)(1 + narenas);
    for (uint32_t i = 0; i < lay->ntcaches && !err; i++)
        if (lay->tcaches[i])
            err = collect_tcache(w, lay->tcaches[i]);
    if (!err)
        err = collect_fastbins(w, lay->main_arena);
    for (size_t i = 0; i < narenas && !err; i++)
        err = collect_fastbins(w, arenas[i]);
    sort_listed(w);
    if (!err)
        err = walk_main(w, main_top);
    for (size_t i = 0; i < narenas && !err; i++)
        err = walk_arena(w, arenas[i]);
    if (!err)
        err = scan_mmapped(w);
    free(arenas);
    return err;
}

struct retain_error *glibc_walk(struct memory *mem, const struct glibc_layout *lay,
                                struct block_table *t, struct heap_report *rep)
{
    struct walk w = { .mem = mem, .lay = lay, .t = t, .rep = rep };
    struct retain_error *err;
    memset(rep, 0, sizeof *rep);
    if ((err = check_layout(lay, &w)))
        return err;
    if (!(w.cur.scratch = malloc(WINDOW)))
        return oom();
    err = walk_all(&w);
    if (!err)
        report_unmatched(&w);
    finish_warnings(&w);
    free(w.cur.scratch);
    free(w.listed);
    free(w.excl);
    free(w.heaps.slot);
    return err;
}
