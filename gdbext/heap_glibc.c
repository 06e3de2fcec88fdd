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
 *
 * People run this when something is already broken, so corrupt metadata
 * gives a warning (rep->warnings: where, and what was expected) and the walk
 * goes on wherever it can:
 *   - an impossible chunk header: the heap is scanned on in 16-byte steps for
 *     the next header from which RESYNC_CHAIN consistent chunks follow (or
 *     fewer that end exactly at top or the heap's fenceposts); the walk
 *     resumes there and the skipped range is reported. Every address is
 *     scanned at most once and each candidate costs a bounded number of
 *     reads, so the walk stays linear;
 *   - a tcache or fastbin list that loops, holds a chunk of the wrong size or
 *     disagrees with its count: the list is read up to there;
 *   - an arena ring that breaks or loops: the arenas off the ring are found
 *     by their first heap (a HEAP_MAX_SIZE-aligned heap_info whose ar_ptr
 *     points right after it);
 *   - an arena top that lies outside the arena's heaps: its heaps are found
 *     by heap_info.ar_ptr, and the newest is walked to its end (the chunk
 *     that ends it is the top); the same for main_arena.top, with the end of
 *     the mapping that holds the sbrk heap.
 * Only an unreadable main_arena or a bad layout is an error.
 * glibc_walk resets *rep on entry; the caller deinits it, after an error too.
 * rep->inuse_bytes/free_bytes sum usable block sizes (what the table holds),
 * not chunk sizes. rep->unreadable_bytes counts the heap bytes past an
 * unreadable chunk header, less those memory_missing already reports (the
 * caller counts a core's missing ranges once). */
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
#define NON_MAIN_ARENA 4u
#define SIZE_BITS 7u

#define WINDOW (1u << 20)       /* bytes per memory_view while walking headers */
#define PROBE_WINDOW 4096u      /* bytes per memory_view while checking resync candidates */
#define RESYNC_CHAIN 4u         /* consistent chunks in a row that make a resync point */
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
    struct cursor cur;          /* the chunk walk's position */
    struct cursor probe;        /* resync candidates' chains, ahead of cur */
    struct listed *listed; size_t nlisted, caplisted;
    struct range *excl; size_t nexcl, capexcl;  /* not to be scanned for mmapped chunks */
    struct addr_set heaps;                       /* heap_info addresses seen */
    uint32_t tcache_bins, count_size;
    uint64_t heap_max;
};

/* One contiguous run of chunks to walk. */
struct span {
    uint64_t start;     /* first chunk */
    uint64_t limit;     /* top chunk (is_top), the heap end (top_unknown) or
                           the final fencepost (heap end - 16) */
    uint64_t lo, hi;    /* the heap, for messages */
    int is_top;         /* the span ends at the top chunk: no fenceposts */
    int top_unknown;    /* ... whose address is not known: the chunk that
                           ends exactly at limit is the top */
    enum block_kind kind;
};

static struct retain_error *oom(void) { return retain_errorf("out of memory in the glibc heap walk"); }

#define warn(w, ...) heap_report_warn((w)->rep, __VA_ARGS__)

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
 * cursor's window, refilled (window bytes from addr) when addr leaves it. */
static int cursor_u64(struct walk *w, struct cursor *c, size_t window, uint64_t addr, uint64_t *v)
{
    if (addr > UINT64_MAX - 16)
        return -1;
    if (addr < c->base || addr + 8 > c->base + c->len) {
        c->base = addr;
        c->len = memory_view(w->mem, addr, window, c->scratch, &c->data);
        if (c->len < 8) {
            c->len = 0;
            return -1;
        }
    }
    memcpy(v, c->data + (addr - c->base), 8);
    return 0;
}

/* The chunk walk's reads: one view per WINDOW bytes. */
static int cur_u64(struct walk *w, uint64_t addr, uint64_t *v)
{
    return cursor_u64(w, &w->cur, WINDOW, addr, v);
}

/* Reads that look ahead of the walk (resync candidates' chains) without
 * moving its window: from that window when it holds addr, else through a
 * small window of their own, so that jumping ahead and back stays cheap. */
static int peek_u64(struct walk *w, uint64_t addr, uint64_t *v)
{
    const struct cursor *c = &w->cur;
    if (addr >= c->base && addr <= UINT64_MAX - 16 && addr + 8 <= c->base + c->len) {
        memcpy(v, c->data + (addr - c->base), 8);
        return 0;
    }
    return cursor_u64(w, &w->probe, PROBE_WINDOW, addr, v);
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

static int is_anonymous(const struct mapping *m)
{
    return (m->prot & MAP_PROT_W) && (!m->path || !m->path[0]);
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

/* ---- heaps found by address ---- */

struct heap_hdr { uint64_t addr, size, prev; };

/* Heaps found without the arena's help: every HEAP_MAX_SIZE-aligned address
 * in a writable anonymous mapping whose heap_info has ar_ptr == arena, or,
 * with arena 0, whose ar_ptr points right after the heap_info (an arena's
 * first heap, which holds the arena). Sorted by address. Used only when the
 * arena ring or an arena's top is corrupt; costs one read per 64 MiB. */
static struct retain_error *find_heaps(struct walk *w, uint64_t arena, struct heap_hdr **v_ret, size_t *n_ret)
{
    const struct glibc_layout *lay = w->lay;
    const struct mapping *maps;
    size_t nmaps = memory_mappings(w->mem, &maps), n = 0, cap = 0;
    struct heap_hdr *v = NULL;
    for (size_t i = 0; i < nmaps && n < MAX_HEAPS; i++) {
        if (!is_anonymous(&maps[i]) || maps[i].start > UINT64_MAX - w->heap_max)
            continue;
        for (uint64_t h = (maps[i].start + w->heap_max - 1) & ~(w->heap_max - 1);
             h >= maps[i].start && h < maps[i].end && n < MAX_HEAPS; h += w->heap_max) {
            uint64_t ar_ptr, size, prev;
            if (read_u64(w, h, &ar_ptr) || ar_ptr != (arena ? arena : h + lay->sizeof_heap_info) ||
                read_u64(w, h + lay->off_heap_info_size, &size) ||
                read_u64(w, h + lay->off_heap_info_prev, &prev) ||
                size < lay->sizeof_heap_info + CHUNK_HDR || size > w->heap_max)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 8;
                struct heap_hdr *nv = realloc(v, cap * sizeof *nv);
                if (!nv) {
                    free(v);
                    return oom();
                }
                v = nv;
            }
            v[n++] = (struct heap_hdr){ h, size, prev };
            if (h > UINT64_MAX - w->heap_max)
                break;
        }
    }
    *v_ret = v;
    *n_ret = n;
    return NULL;
}

/* ---- arenas ---- */

/* Whether a is a non-main arena: _int_new_arena puts each one right after
 * the heap_info of its first heap, which points back to it. Says why not. */
static int is_arena(struct walk *w, uint64_t a, char *why, size_t len)
{
    const struct glibc_layout *lay = w->lay;
    uint64_t back, next;
    if (!a)
        snprintf(why, len, "NULL");
    else if (a & ALIGN_MASK)
        snprintf(why, len, "misaligned");
    else if ((a & (w->heap_max - 1)) != lay->sizeof_heap_info)
        snprintf(why, len, "not right after a heap_info at a HEAP_MAX_SIZE boundary");
    else if (read_u64(w, a - lay->sizeof_heap_info, &back) || read_u64(w, a + lay->off_next, &next))
        snprintf(why, len, "unreadable");
    else if (back != a)
        snprintf(why, len, "heap_info.ar_ptr at 0x%llx is 0x%llx", (ull)(a - lay->sizeof_heap_info), (ull)back);
    else
        return 1;
    return 0;
}

static int push_arena(uint64_t **v, size_t *n, size_t *cap, uint64_t a)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        uint64_t *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = a;
    return 0;
}

/* The non-main arenas, in ring order. Where the ring breaks or loops without
 * coming back to main_arena (a warning says where), the arenas off the ring
 * are found by their first heaps and follow. */
static struct retain_error *collect_arenas(struct walk *w, uint64_t main_next,
                                           uint64_t **arenas_ret, size_t *n_ret)
{
    const struct glibc_layout *lay = w->lay;
    struct addr_set seen = { 0 };
    uint64_t *v = NULL;
    size_t n = 0, cap = 0;
    struct retain_error *err = NULL;
    struct heap_hdr *found = NULL;
    size_t nfound = 0;
    uint64_t prev = lay->main_arena, a = main_next;
    int broken = 0;
    if (addr_set_add(&seen, lay->main_arena) < 0)
        goto nomem;
    while (a != lay->main_arena) {
        uint64_t next;
        char why[128];
        if (!is_arena(w, a, why, sizeof why)) {
            warn(w, "%s 0x%llx: next is 0x%llx, not an arena (%s); the arena ring breaks there",
                 prev == lay->main_arena ? "main_arena" : "arena", (ull)prev, (ull)a, why);
            broken = 1;
            break;
        }
        int added = addr_set_add(&seen, a);
        if (added < 0)
            goto nomem;
        if (!added) {
            warn(w, "at 0x%llx: the arena ring loops without returning to main_arena 0x%llx",
                 (ull)a, (ull)lay->main_arena);
            broken = 1;
            break;
        }
        if (n >= MAX_ARENAS) {
            warn(w, "more than %u arenas; the rest are not walked", MAX_ARENAS);
            break;
        }
        if (read_u64(w, a + lay->off_next, &next)) {   /* is_arena read it: only a callback can fail here */
            warn(w, "cannot read arena at 0x%llx", (ull)a);
            broken = 1;
            break;
        }
        if (push_arena(&v, &n, &cap, a))
            goto nomem;
        prev = a;
        a = next;
    }
    if (broken) {
        if ((err = find_heaps(w, 0, &found, &nfound)))
            goto out;
        for (size_t i = 0; i < nfound && n < MAX_ARENAS; i++) {
            uint64_t lost = found[i].addr + lay->sizeof_heap_info;
            int added = addr_set_add(&seen, lost);
            if (added < 0)
                goto nomem;
            if (!added)
                continue;
            warn(w, "arena 0x%llx: not on the arena ring; found by its heap at 0x%llx",
                 (ull)lost, (ull)found[i].addr);
            if (push_arena(&v, &n, &cap, lost))
                goto nomem;
        }
    }
out:
    free(found);
    free(seen.slot);
    if (err) {
        free(v);
        return err;
    }
    *arenas_ret = v;
    *n_ret = n;
    return NULL;
nomem:
    err = oom();
    goto out;
}

/* ---- tcache and fastbin lists ---- */

/* One tcache bin: entries are user pointers, each next (at the entry) is
 * mangled; the list holds `count` entries of chunk size 32 + 16 * bin. */
static struct retain_error *collect_tcache_bin(struct walk *w, uint64_t tc, uint32_t bin,
                                               uint64_t e, uint32_t count)
{
    struct addr_set seen = { 0 };
    struct retain_error *err = NULL;
    uint64_t want = MIN_CHUNK + 16ull * bin, prev = 0;
    uint32_t k;
    for (k = 0; e && k < count; k++) {
        uint64_t size, next;
        if (e & ALIGN_MASK) {
            warn(w, "at 0x%llx: misaligned entry in tcache bin %u of tcache 0x%llx",
                 (ull)e, bin, (ull)tc);
            goto out;
        }
        if (count > 1) {
            int added = addr_set_add(&seen, e);
            if (added < 0) {
                err = oom();
                goto out;
            }
            if (!added) {
                warn(w, "at 0x%llx: tcache bin %u of tcache 0x%llx loops back to 0x%llx",
                     (ull)prev, bin, (ull)tc, (ull)e);
                goto out;
            }
        }
        /* tcache_entry.next is at the user pointer, the chunk's size just before */
        if (read_u64(w, e - 8, &size) || read_u64(w, e, &next)) {
            warn(w, "at 0x%llx: cannot read entry in tcache bin %u of tcache 0x%llx",
                 (ull)e, bin, (ull)tc);
            goto out;
        }
        if (chunksize(size) != want) {
            warn(w, "at 0x%llx: entry in tcache bin %u of tcache 0x%llx has chunk size 0x%llx, "
                 "expected 0x%llx; the rest of the bin is not read",
                 (ull)e, bin, (ull)tc, (ull)size, (ull)want);
            goto out;
        }
        if ((err = add_listed(w, e, BLOCK_WHY_TCACHE)))
            goto out;
        prev = e;
        e = reveal_ptr(w->lay, e, next);
    }
    if (k < count)
        warn(w, "tcache bin %u of tcache 0x%llx ends after %u entries; its count is %u",
             bin, (ull)tc, k, count);
out:
    free(seen.slot);
    return err;
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

/* A fastbin chunk's successor: fd (at chunk+16) is mangled. */
static int fastbin_next(struct walk *w, uint64_t p, uint64_t *next)
{
    uint64_t fd;
    if (read_u64(w, p + CHUNK_HDR, &fd))
        return -1;
    *next = reveal_ptr(w->lay, p + CHUNK_HDR, fd);
    return 0;
}

/* A fastbin that Brent's method found looping, with a cycle of lam chunks:
 * names the chunk whose fd closes the loop and the chunk it points back to
 * (the first one listed twice). nread chunks were read: this costs at most
 * three more passes over them; it falls back to where the loop was noticed
 * if a read fails. */
static void fastbin_loop(struct walk *w, uint64_t arena, uint32_t bin, uint64_t head, uint64_t lam,
                         uint64_t nread, uint64_t seen_at, uint64_t seen_next)
{
    uint64_t a = head, b = head;
    for (uint64_t i = 0; i < lam; i++)
        if (fastbin_next(w, b, &b))
            goto fallback;
    /* meet at the first chunk on the cycle, at most nread steps in (bounded
     * even if the memory changed under us) */
    for (uint64_t i = 0; a != b; i++)
        if (i > nread || fastbin_next(w, a, &a) || fastbin_next(w, b, &b))
            goto fallback;
    for (uint64_t i = 0; i + 1 < lam; i++)   /* the chunk before it on the cycle */
        if (fastbin_next(w, b, &b))
            goto fallback;
    seen_at = b;
    seen_next = a;
fallback:
    warn(w, "at 0x%llx: fastbin %u of arena 0x%llx loops back to 0x%llx",
         (ull)seen_at, bin, (ull)arena, (ull)seen_next);
}

/* One fastbinsY list: chunk pointers, all of chunk size 32 + 16 * bin.
 * Loops are caught with Brent's cycle detection (no memory, any length). */
static struct retain_error *collect_fastbin(struct walk *w, uint64_t arena, uint32_t bin, uint64_t p)
{
    uint64_t head = p, tortoise = p, power = 1, lam = 0, want = MIN_CHUNK + 16ull * bin;
    struct retain_error *err;
    for (uint32_t n = 0; p; n++) {
        uint64_t size, next;
        if (p & ALIGN_MASK) {
            warn(w, "at 0x%llx: misaligned chunk in fastbin %u of arena 0x%llx", (ull)p, bin, (ull)arena);
            return NULL;
        }
        if (n >= MAX_FASTBIN_LIST) {
            warn(w, "fastbin %u of arena 0x%llx has more than %u chunks; the rest are not read",
                 bin, (ull)arena, MAX_FASTBIN_LIST);
            return NULL;
        }
        if (read_u64(w, p + 8, &size) || fastbin_next(w, p, &next)) {
            warn(w, "at 0x%llx: cannot read chunk in fastbin %u of arena 0x%llx", (ull)p, bin, (ull)arena);
            return NULL;
        }
        if (chunksize(size) != want) {
            warn(w, "at 0x%llx: chunk in fastbin %u of arena 0x%llx has size 0x%llx, expected 0x%llx; "
                 "the rest of the list is not read", (ull)p, bin, (ull)arena, (ull)size, (ull)want);
            return NULL;
        }
        if ((err = add_listed(w, p + CHUNK_HDR, BLOCK_WHY_FASTBIN)))
            return err;
        if (next && next == tortoise) {
            fastbin_loop(w, arena, bin, head, lam + 1, n + 1, p, next);
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

/* A size field that a chunk at p of span s can have. strict (resync
 * candidates) adds: no NON_MAIN_ARENA bit in the main heap. */
static int chunk_fits(const struct span *s, uint64_t p, uint64_t size, int strict)
{
    uint64_t cs = chunksize(size);
    if (cs < MIN_CHUNK || (cs & ALIGN_MASK) || cs > s->limit - p || (size & IS_MMAPPED))
        return 0;
    return !(strict && s->kind == BLOCK_KIND_MAIN_ARENA && (size & NON_MAIN_ARENA));
}

static void impossible(struct walk *w, uint64_t p, uint64_t size, const struct span *s)
{
    warn(w, "at 0x%llx: chunk size 0x%llx is impossible (expected 0x%x to 0x%llx in steps of 0x10, "
         "IS_MMAPPED clear; heap 0x%llx-0x%llx)",
         (ull)p, (ull)size, MIN_CHUNK, (ull)(s->limit - p), (ull)s->lo, (ull)s->hi);
}

/* The bytes of [start, end) that a core does not already report missing
 * (memory_missing): those are counted once, by the caller of the walk. */
static uint64_t not_missing(struct walk *w, uint64_t start, uint64_t end)
{
    const struct mapping *miss;
    size_t n = memory_missing(w->mem, &miss);
    uint64_t len = end - start;
    for (size_t i = 0; i < n; i++) {
        uint64_t lo = miss[i].start > start ? miss[i].start : start;
        uint64_t hi = miss[i].end < end ? miss[i].end : end;
        if (lo < hi)
            len -= hi - lo;
    }
    return len;
}

static void unreadable(struct walk *w, uint64_t p, const struct span *s)
{
    warn(w, "at 0x%llx: chunk header is unreadable (heap 0x%llx-0x%llx)",
         (ull)p, (ull)s->lo, (ull)s->hi);
    if (s->limit > p)
        w->rep->unreadable_bytes += not_missing(w, p, s->limit);
}

/* A non-top heap ends with fenceposts: a chunk of size 16 at end-32 and a
 * header of size 0 at end-16 (sysmalloc, when it starts a new heap). */
static int is_fencepost(struct walk *w, uint64_t p, uint64_t size, const struct span *s)
{
    uint64_t next;
    return !s->is_top && chunksize(size) == CHUNK_HDR && p + CHUNK_HDR == s->limit &&
           !peek_u64(w, s->limit + 8, &next) && chunksize(next) == 0;
}

static void bad_fenceposts(struct walk *w, uint64_t p, uint64_t size, const struct span *s)
{
    uint64_t second;
    char text[24] = "unreadable";
    if (!peek_u64(w, s->limit + 8, &second))
        snprintf(text, sizeof text, "0x%llx", (ull)second);
    warn(w, "at 0x%llx: heap 0x%llx-0x%llx does not end with fenceposts (sizes 0x%llx, %s; expected 0x10, 0)",
         (ull)p, (ull)s->lo, (ull)s->hi, (ull)size, text);
}

/* Whether a consistent chain of chunks starts at q (its size field: size),
 * after the corrupt header at bad: RESYNC_CHAIN chunks in a row whose sizes
 * fit, or fewer that end exactly at the span's limit (top, the heap's end,
 * or its fenceposts). Consistent: a chunk whose PREV_INUSE is clear has the
 * previous chunk's size in prev_size (for the first, a size that starts at
 * or after bad); no two free chunks are neighbours (free would have merged
 * them); in a non-main arena, a chunk in use carries NON_MAIN_ARENA. At most
 * 2 * RESYNC_CHAIN reads, ahead of the walk's window. */
static int chain_at(struct walk *w, const struct span *s, uint64_t q, uint64_t size, uint64_t bad)
{
    uint64_t c = q, prev_cs = 0;
    for (uint32_t n = 0;; n++) {
        uint64_t cs = chunksize(size), prev, next, nsize;
        if (!s->is_top && c + CHUNK_HDR == s->limit)
            return is_fencepost(w, c, size, s);
        if (!chunk_fits(s, c, size, 1))
            return 0;
        if (!(size & PREV_INUSE)) {
            if (peek_u64(w, c, &prev))
                return 0;
            if (n ? prev != prev_cs : (prev & ALIGN_MASK) || prev < MIN_CHUNK || prev > c - bad)
                return 0;
        }
        next = c + cs;
        if (next == s->limit)
            return 1;
        if (peek_u64(w, next + 8, &nsize))
            return 0;
        if (!(nsize & PREV_INUSE)) {
            if (!(size & PREV_INUSE))
                return 0;
        } else if (s->kind == BLOCK_KIND_ARENA && !(size & NON_MAIN_ARENA)) {
            return 0;
        }
        if (n + 1 >= RESYNC_CHAIN)
            return 1;
        prev_cs = cs;
        c = next;
        size = nsize;
    }
}

/* After the impossible header at bad: scans on in 16-byte steps for the
 * first chain_at, reports the skipped range, and returns where the walk
 * resumes (*p_ret, with its size field in *size_ret). -1: the walk of the
 * span ends (nothing found before its limit, or the memory ends). */
static int resync(struct walk *w, const struct span *s, uint64_t bad, uint64_t *p_ret, uint64_t *size_ret)
{
    uint64_t q, size = 0;
    for (q = bad + CHUNK_HDR; q < s->limit; q += CHUNK_HDR) {
        if (cur_u64(w, q + 8, &size)) {
            warn(w, "skipped 0x%llx-0x%llx: corrupt chunk headers (heap 0x%llx-0x%llx)",
                 (ull)bad, (ull)q, (ull)s->lo, (ull)s->hi);
            unreadable(w, q, s);
            return -1;
        }
        if (chain_at(w, s, q, size, bad))
            break;
        prefetch_ahead(w, q);
    }
    if (q > s->limit)
        q = s->limit;
    warn(w, "skipped 0x%llx-0x%llx: corrupt chunk headers (heap 0x%llx-0x%llx)",
         (ull)bad, (ull)q, (ull)s->lo, (ull)s->hi);
    if (q >= s->limit)
        return -1;
    *p_ret = q;
    *size_ret = size;
    return 0;
}

/* Walks chunks from s->start to s->limit by size. An impossible header is
 * warned about and skipped (resync); an unreadable one ends the span. */
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
        if (!s->is_top && p + CHUNK_HDR == s->limit) {   /* where the fenceposts belong */
            if (!is_fencepost(w, p, size, s))
                bad_fenceposts(w, p, size, s);
            return NULL;
        }
        if (!chunk_fits(s, p, size, 0)) {
            impossible(w, p, size, s);
            if (resync(w, s, p, &p, &size))
                return NULL;
            continue;
        }
        if (s->top_unknown && cs == s->limit - p)   /* the chunk that ends the heap */
            return add_block(w, p + CHUNK_HDR, cs - CHUNK_HDR, BLOCK_FREE, s->kind, BLOCK_WHY_TOP);
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
    if (!s->is_top && p == s->limit && chunksize(size) != 0)  /* the final fencepost */
        warn(w, "at 0x%llx: heap 0x%llx-0x%llx does not end with a fencepost (size 0x%llx; expected 0)",
             (ull)p, (ull)s->lo, (ull)s->hi, (ull)size);
    return NULL;
}

/* The top chunk, free (why TOP), which must end by heap_end. *end_ret: where
 * it ends (heap_end when its size is impossible or unreadable). */
static struct retain_error *add_top(struct walk *w, uint64_t top, uint64_t heap_end,
                                    enum block_kind kind, uint64_t *end_ret)
{
    uint64_t size;
    *end_ret = heap_end;
    if (read_u64(w, top + 8, &size)) {
        warn(w, "at 0x%llx: top chunk header is unreadable", (ull)top);
        return NULL;
    }
    uint64_t cs = chunksize(size);
    if ((cs & ALIGN_MASK) || top > heap_end || cs > heap_end - top) {
        warn(w, "at 0x%llx: top chunk size 0x%llx is impossible (expected a multiple of 0x10 "
             "that ends by 0x%llx)", (ull)top, (ull)size, (ull)heap_end);
        return NULL;
    }
    *end_ret = top + cs;
    if (cs <= CHUNK_HDR)  /* nothing a pointer could point into */
        return NULL;
    return add_block(w, top + CHUNK_HDR, cs - CHUNK_HDR, BLOCK_FREE, kind, BLOCK_WHY_TOP);
}

/* Where the sbrk heap that starts at p ends: the end of the mapping holding
 * it, or of the adjacent writable mappings up to the one holding top (a
 * memory source may list the heap in pieces); 0 if no mapping holds p. */
static uint64_t main_heap_end(struct walk *w, uint64_t p, uint64_t top)
{
    const struct mapping *maps;
    size_t n = memory_mappings(w->mem, &maps);
    for (size_t i = 0; i < n; i++) {
        if (maps[i].start > p || p >= maps[i].end)
            continue;
        uint64_t end = maps[i].end;
        while (top >= end && i + 1 < n && maps[i + 1].start == end && (maps[i + 1].prot & MAP_PROT_W))
            end = maps[++i].end;
        return end;
    }
    return 0;
}

/* The main arena's heap: one sbrk'd run from sbrk_base to the top chunk. */
static struct retain_error *walk_main(struct walk *w, uint64_t top)
{
    const struct glibc_layout *lay = w->lay;
    struct retain_error *err;
    /* Before the first malloc, top points at the unsorted bin inside main_arena. */
    if (top >= lay->main_arena && top < lay->main_arena + lay->sizeof_malloc_state)
        return NULL;
    uint64_t start = align_chunk(lay->sbrk_base);
    uint64_t heap_end = lay->sbrk_base ? main_heap_end(w, start, top) : 0;
    struct span s = { start, top, lay->sbrk_base, 0, 1, 0, BLOCK_KIND_MAIN_ARENA };
    if (lay->sbrk_base && !(top & ALIGN_MASK) && top >= start && (!heap_end || top < heap_end)) {
        if ((err = add_top(w, top, heap_end ? heap_end : UINT64_MAX, BLOCK_KIND_MAIN_ARENA, &s.hi)))
            return err;
        if (s.hi == UINT64_MAX)   /* no mapping says where the heap ends */
            s.hi = top;
    } else if (heap_end) {
        warn(w, "main_arena.top 0x%llx is not in the main heap 0x%llx-0x%llx; the heap is walked "
             "to its end and its last chunk taken as top", (ull)top, (ull)lay->sbrk_base, (ull)heap_end);
        s.limit = s.hi = heap_end;
        s.top_unknown = 1;
    } else {
        warn(w, "main_arena.top 0x%llx is not in the sbrk heap from 0x%llx; the main heap is not walked",
             (ull)top, (ull)lay->sbrk_base);
        return NULL;
    }
    if ((err = add_segment(w, lay->sbrk_base, s.hi)) ||
        (err = add_range(&w->excl, &w->nexcl, &w->capexcl, lay->sbrk_base, heap_end ? heap_end : s.hi)))
        return err;
    w->rep->nheaps++;
    return walk_span(w, &s);
}

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

/* Where the chunks of heap h start: after heap_info, and in an arena's
 * first heap after the malloc_state too. */
static uint64_t heap_first_chunk(const struct walk *w, uint64_t arena, uint64_t h)
{
    const struct glibc_layout *lay = w->lay;
    return align_chunk(h + lay->sizeof_heap_info == arena ? arena + lay->sizeof_malloc_state
                                                          : h + lay->sizeof_heap_info);
}

enum heap_role { HEAP_OLD, HEAP_TOP, HEAP_TOP_UNKNOWN };

/* One heap of a non-main arena: an older one (ends with fenceposts), the
 * newest (ends with top), or the newest when top is not known. */
static struct retain_error *walk_heap(struct walk *w, uint64_t arena, uint64_t top,
                                      const struct heap_hdr *hh, enum heap_role role)
{
    struct retain_error *err;
    uint64_t h = hh->addr, end = h + hh->size;
    struct span s = { heap_first_chunk(w, arena, h), end - CHUNK_HDR, h, end, 0, 0, BLOCK_KIND_ARENA };
    uint64_t top_end;
    w->rep->nheaps++;
    if ((err = add_segment(w, h, end)) ||
        (err = add_range(&w->excl, &w->nexcl, &w->capexcl, h, h + w->heap_max)))
        return err;
    if (role == HEAP_TOP_UNKNOWN) {
        s.limit = end;
        s.is_top = s.top_unknown = 1;
    } else if (role == HEAP_TOP) {
        s.limit = top;
        s.is_top = 1;
        if ((err = add_top(w, top, end, BLOCK_KIND_ARENA, &top_end)))
            return err;
    }
    return walk_span(w, &s);
}

/* Whether top lies in a heap of this arena, after its first chunk. */
static int top_in_heap(struct walk *w, uint64_t arena, uint64_t top)
{
    const struct glibc_layout *lay = w->lay;
    uint64_t h = top & ~(w->heap_max - 1), ar_ptr, size;
    return !(top & ALIGN_MASK) && !read_u64(w, h, &ar_ptr) && ar_ptr == arena &&
           !read_u64(w, h + lay->off_heap_info_size, &size) && size <= w->heap_max &&
           top >= heap_first_chunk(w, arena, h) && top + CHUNK_HDR <= h + size;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* An arena whose top is garbage: its heaps are found by heap_info.ar_ptr;
 * the ones no other heap names as prev (the newest) are walked to their
 * ends, the others up to their fenceposts. */
static struct retain_error *walk_lost_heaps(struct walk *w, uint64_t arena, uint64_t top)
{
    struct heap_hdr *v = NULL;
    uint64_t *prevs = NULL;
    size_t n = 0;
    struct retain_error *err = find_heaps(w, arena, &v, &n);
    if (err)
        return err;
    if (!n) {
        warn(w, "arena 0x%llx: top 0x%llx is not in a heap of this arena, and no heap of it was found",
             (ull)arena, (ull)top);
        return NULL;
    }
    warn(w, "arena 0x%llx: top 0x%llx is not in a heap of this arena; %zu heap%s found by heap_info.ar_ptr, "
         "the newest walked to its end", (ull)arena, (ull)top, n, n == 1 ? "" : "s");
    if (!(prevs = malloc(n * sizeof *prevs))) {
        free(v);
        return oom();
    }
    for (size_t i = 0; i < n; i++)
        prevs[i] = v[i].prev;
    qsort(prevs, n, sizeof *prevs, u64_cmp);
    for (size_t i = 0; i < n && !err; i++) {
        int added = addr_set_add(&w->heaps, v[i].addr);
        if (added < 0)
            err = oom();
        if (added <= 0)   /* walked already (another arena's, or shared) */
            continue;
        int newest = !bsearch(&v[i].addr, prevs, n, sizeof *prevs, u64_cmp);
        err = walk_heap(w, arena, 0, &v[i], newest ? HEAP_TOP_UNKNOWN : HEAP_OLD);
    }
    free(prevs);
    free(v);
    return err;
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
    if (!top_in_heap(w, arena, top))
        return walk_lost_heaps(w, arena, top);
    if ((err = collect_heaps(w, arena, top, &hs, &n)))
        return err;
    for (size_t i = 0; i < n && !err; i++)
        err = walk_heap(w, arena, top, &hs[i], i == 0 ? HEAP_TOP : HEAP_OLD);
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
    if (start > UINT64_MAX - (PAGE - 1))
        return NULL;   /* no whole page (and rounding up would wrap to 0) */
    uint64_t pos = (start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    size_t x = 0;
    struct retain_error *err;
    while (pos < end && end - pos >= PAGE) {
        while (x < w->nexcl && w->excl[x].end <= pos)
            x++;
        if (x < w->nexcl && w->excl[x].start <= pos) {
            /* A corrupt top size can end a heap near 2^64: rounding that
             * up would wrap pos to 0 and scan the whole address space. */
            uint64_t past = w->excl[x].end;
            if (past >= end || end - past < PAGE)
                break;
            pos = (past + PAGE - 1) & ~(uint64_t)(PAGE - 1);
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
    if (w->nexcl)   /* excl is NULL when no heap was walked: qsort(NULL, 0) is undefined */
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
    if (!(w.cur.scratch = malloc(WINDOW)) || !(w.probe.scratch = malloc(PROBE_WINDOW))) {
        free(w.cur.scratch);
        return oom();
    }
    err = walk_all(&w);
    if (!err)
        report_unmatched(&w);
    heap_report_finish(w.rep);
    free(w.cur.scratch);
    free(w.probe.scratch);
    free(w.listed);
    free(w.excl);
    free(w.heaps.slot);
    return err;
}
