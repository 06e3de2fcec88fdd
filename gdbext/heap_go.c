/* Walking the Go runtime's heap: mheap_.allspans, each in-use span's
 * objects (allocBits and freeindex say which are allocated), the finalizer
 * specials, and each arena's pointer bitmap. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "heap_go.h"

#define MAX_SPANS (1u << 28)          /* a 2 TiB heap of one-page spans */
#define MAX_SPECIALS_PER_SPAN 65536   /* a longer list is corrupt */
#define MAX_CLASS_PAGES 128           /* size-class spans are a few pages (10 in Go 1.19) */

struct go_walk {
    struct memory *mem;
    const struct go_layout *lay;
    struct block_table *t;
    struct go_heap *h;
    struct heap_report *rep;
    uint64_t *arenas; uint32_t narenas, caparenas;   /* arena starts seen */
};

static struct retain_error *oom(void)
{
    return retain_errorf("out of memory walking the Go heap");
}

#define warn(w, ...) heap_report_warn((w)->rep, __VA_ARGS__)

static uint64_t get_u64(const uint8_t *p, uint32_t off)
{
    uint64_t v;
    memcpy(&v, p + off, 8);
    return v;
}

static uint64_t arena_of(const struct go_layout *lay, uint64_t addr)
{
    return addr - (addr - lay->arena_base_offset) % lay->arena_bytes;
}

static struct retain_error *note_arena(struct go_walk *w, uint64_t start)
{
    if (w->narenas && w->arenas[w->narenas - 1] == start)
        return NULL;   /* spans come mostly in address order: the common repeat */
    if (w->narenas == w->caparenas) {
        uint32_t cap = w->caparenas ? w->caparenas * 2 : 64;
        uint64_t *v = realloc(w->arenas, cap * sizeof *v);
        if (!v)
            return oom();
        w->arenas = v;
        w->caparenas = cap;
    }
    w->arenas[w->narenas++] = start;
    return NULL;
}

/* A span's finalizer specials: each is a root (its function value) that
 * keeps what the closure captured alive, as the GC's markrootSpans does. */
static struct retain_error *walk_specials(struct go_walk *w, uint64_t span, uint64_t start, uint64_t special)
{
    const struct go_layout *lay = w->lay;
    struct go_heap *h = w->h;
    uint64_t tortoise = special;   /* Brent's cycle check: a corrupt list may loop */
    for (uint32_t n = 0; special && n < MAX_SPECIALS_PER_SPAN; n++) {
        if (n && special == tortoise) {
            warn(w, "span at 0x%" PRIx64 ": its special records form a cycle", span);
            return NULL;
        }
        if ((n & (n - 1)) == 0)
            tortoise = special;
        uint64_t next, kind_word, off_word, fn;
        if (memory_read_u64(w->mem, special + lay->off_special_next, &next) ||
            memory_read_u64(w->mem, special + lay->off_special_offset, &off_word) ||
            memory_read_u64(w->mem, special + lay->off_special_kind, &kind_word)) {
            warn(w, "span at 0x%" PRIx64 ": special record at 0x%" PRIx64 " is unreadable", span, special);
            return NULL;
        }
        uint8_t kind = (uint8_t)kind_word;
        if (kind == GO_SPECIAL_FINALIZER &&
            memory_read_u64(w->mem, special + lay->off_finalizer_fn, &fn) == 0 && fn) {
            struct go_finalizer *v = realloc(h->finalizers, (h->nfinalizers + 1) * sizeof *v);
            if (!v)
                return oom();
            h->finalizers = v;
            h->finalizers[h->nfinalizers++] = (struct go_finalizer){ start + (uint16_t)off_word, fn };
        }
        special = next;
    }
    return NULL;
}

static struct retain_error *note_run(struct go_heap *h, uint64_t start, uint64_t size, uint64_t count)
{
    if (h->nruns == h->capruns) {
        uint32_t cap = h->capruns ? h->capruns * 2 : 1024;
        struct block_run_desc *v = realloc(h->runs, cap * sizeof *v);
        if (!v)
            return oom();
        h->runs = v;
        h->capruns = cap;
    }
    h->runs[h->nruns++] = (struct block_run_desc){ start, size, count };
    return NULL;
}

/* One in-use span: its objects, allocated or not. */
static struct retain_error *walk_span(struct go_walk *w, uint64_t span, const uint8_t *ms)
{
    const struct go_layout *lay = w->lay;
    uint64_t start = get_u64(ms, lay->off_startaddr), npages = get_u64(ms, lay->off_npages);
    uint64_t elemsize = get_u64(ms, lay->off_elemsize), nelems = get_u64(ms, lay->off_nelems);
    uint64_t freeindex = get_u64(ms, lay->off_freeindex), allocbits = get_u64(ms, lay->off_allocbits);
    int noscan = ms[lay->off_spanclass] & 1;   /* spanClass: size class << 1 | noscan */
    uint64_t bytes = npages * lay->page_bytes;
    if (npages == 0 || npages > (1ull << 40) / lay->page_bytes || elemsize == 0 ||
        nelems > bytes / elemsize || start + bytes < start || (nelems > 1 && npages > MAX_CLASS_PAGES) ||
        start + bytes > UINT64_MAX - lay->arena_bytes) {
        warn(w, "span at 0x%" PRIx64 " looks corrupt (start 0x%" PRIx64 ", %" PRIu64 " pages, %" PRIu64
             " objects of %" PRIu64 " bytes): skipped", span, start, npages, nelems, elemsize);
        return NULL;
    }
    for (uint64_t a = arena_of(lay, start); a < start + bytes; a += lay->arena_bytes) {
        struct retain_error *err = note_arena(w, a);
        if (err)
            return err;
    }
    w->h->nspans++;
    uint8_t stackbits[128];   /* up to 1024 objects without a malloc */
    size_t nbits = (size_t)(nelems + 7) / 8;
    uint8_t *bits = nbits <= sizeof stackbits ? stackbits : malloc(nbits);
    if (!bits)
        return oom();
    if (memory_read(w->mem, allocbits, bits, nbits) != nbits) {
        /* Without allocBits only the objects below freeindex are known allocated. */
        warn(w, "span at 0x%" PRIx64 ": allocation bits at 0x%" PRIx64 " are unreadable", span, allocbits);
        memset(bits, 0, nbits);
    }
    enum block_kind kind = noscan ? BLOCK_KIND_GO_NOSCAN : BLOCK_KIND_GO;
    struct retain_error *err = NULL;
    for (uint64_t i = 0; i < nelems && !err; i++) {
        int used = i < freeindex || ((bits[i >> 3] >> (i & 7)) & 1);
        err = block_table_add(w->t, start + i * elemsize, elemsize, used ? BLOCK_INUSE : BLOCK_FREE, kind,
                              BLOCK_WHY_NONE);
        if (!err) {
            if (used)
                w->rep->inuse_bytes += elemsize;
            else
                w->rep->free_bytes += elemsize;
        }
    }
    if (bits != stackbits)
        free(bits);
    if (!err && nelems)
        err = note_run(w->h, start, elemsize, nelems);
    if (!err)
        err = walk_specials(w, span, start, get_u64(ms, lay->off_specials));
    return err;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static struct retain_error *walk_spans(struct go_walk *w)
{
    const struct go_layout *lay = w->lay;
    uint64_t hdr[2];   /* the slice's array pointer and length */
    if (memory_read(w->mem, lay->allspans, hdr, sizeof hdr) != sizeof hdr)
        return retain_errorf("cannot read mheap_.allspans at 0x%" PRIx64, lay->allspans);
    if (hdr[1] > MAX_SPANS)
        return retain_errorf("mheap_.allspans claims %" PRIu64 " spans: the runtime's heap state looks corrupt",
                             hdr[1]);
    uint8_t *ms = malloc(lay->sizeof_mspan);
    uint64_t ptrs[512];
    /* in-use spans as (start, mspan address), walked in address order so
     * that the block table arrives sorted */
    uint64_t (*inuse)[2] = NULL;
    size_t ninuse = 0, capinuse = 0;
    if (!ms)
        return oom();
    struct retain_error *err = NULL;
    for (uint64_t i = 0; i < hdr[1] && !err; i += 512) {
        size_t n = hdr[1] - i < 512 ? (size_t)(hdr[1] - i) : 512;
        if (memory_read(w->mem, hdr[0] + i * 8, ptrs, n * 8) != n * 8) {
            err = retain_errorf("cannot read mheap_.allspans entries at 0x%" PRIx64, hdr[0] + i * 8);
            break;
        }
        for (size_t k = 0; k < n && !err; k++) {
            if (memory_read(w->mem, ptrs[k], ms, lay->sizeof_mspan) != lay->sizeof_mspan) {
                warn(w, "span record at 0x%" PRIx64 " is unreadable", ptrs[k]);
                continue;
            }
            uint8_t state = ms[lay->off_state];
            if (state == GO_SPAN_INUSE) {
                if (ninuse == capinuse) {   /* grown as found: the length may be corrupt */
                    size_t cap = capinuse ? capinuse * 2 : 1024;
                    void *v = realloc(inuse, cap * sizeof *inuse);
                    if (!v) {
                        err = oom();
                        break;
                    }
                    inuse = v;
                    capinuse = cap;
                }
                inuse[ninuse][0] = get_u64(ms, lay->off_startaddr);
                inuse[ninuse++][1] = ptrs[k];
            } else if (state == GO_SPAN_MANUAL) {   /* goroutine stacks and the like */
                w->h->nstack_spans++;
                w->h->stack_bytes += get_u64(ms, lay->off_npages) * lay->page_bytes;
            }
        }
    }
    if (ninuse)
        qsort(inuse, ninuse, sizeof *inuse, cmp_u64);   /* by start: the first word of each pair */
    for (size_t i = 0; i < ninuse && !err; i++)
        if (memory_read(w->mem, inuse[i][1], ms, lay->sizeof_mspan) == lay->sizeof_mspan)
            err = walk_span(w, inuse[i][1], ms);
    free(inuse);
    free(ms);
    return err;
}

/* Each arena's bitmap, copied (2 bits a heap word: 1/32 of the heap), and
 * the arenas as heap segments. */
static struct retain_error *read_arenas(struct go_walk *w)
{
    const struct go_layout *lay = w->lay;
    struct go_bits *b = &w->h->bits;
    if (w->narenas)
        qsort(w->arenas, w->narenas, sizeof *w->arenas, cmp_u64);
    b->arena_bytes = lay->arena_bytes;
    b->arenas = calloc(w->narenas + 1, sizeof *b->arenas);
    if (!b->arenas)
        return oom();
    for (uint32_t i = 0; i < w->narenas; i++) {
        uint64_t a = w->arenas[i];
        if (i && a == w->arenas[i - 1])
            continue;
        uint64_t idx = (a - lay->arena_base_offset) / lay->arena_bytes, l1p = 0, ha = 0;
        uint64_t l1 = lay->arena_l2 ? idx / lay->arena_l2 : 0, l2 = lay->arena_l2 ? idx % lay->arena_l2 : idx;
        if (l1 >= lay->arena_l1 || memory_read_u64(w->mem, lay->arenas + l1 * 8, &l1p) || !l1p ||
            memory_read_u64(w->mem, l1p + l2 * 8, &ha) || !ha) {
            warn(w, "arena at 0x%" PRIx64 " has no heapArena record: its objects are scanned as pointer-free", a);
            continue;
        }
        uint8_t *bits = malloc(lay->bitmap_bytes);
        if (!bits)
            return oom();
        if (memory_read(w->mem, ha + lay->off_bitmap, bits, lay->bitmap_bytes) != lay->bitmap_bytes) {
            warn(w, "arena at 0x%" PRIx64 ": its pointer bitmap at 0x%" PRIx64 " is unreadable", a,
                 ha + lay->off_bitmap);
            free(bits);
            continue;
        }
        b->arenas[b->narenas++] = (struct go_arena_bits){ a, bits };
        struct heap_report *r = w->rep;
        if (r->nsegments && r->segments[r->nsegments - 1].end == a) {
            r->segments[r->nsegments - 1].end = a + lay->arena_bytes;
            continue;
        }
        void *v = realloc(r->segments, (r->nsegments + 1) * sizeof *r->segments);
        if (!v)
            return oom();
        r->segments = v;
        r->segments[r->nsegments].start = a;
        r->segments[r->nsegments].end = a + lay->arena_bytes;
        r->nsegments++;
    }
    return NULL;
}

static struct retain_error *check_layout(const struct go_layout *lay)
{
    uint32_t offs[] = { lay->off_startaddr, lay->off_npages, lay->off_freeindex, lay->off_nelems,
                        lay->off_allocbits, lay->off_elemsize, lay->off_specials };
    for (size_t i = 0; i < sizeof offs / sizeof *offs; i++)
        if (offs[i] + 8 > lay->sizeof_mspan)
            return retain_errorf("the Go runtime layout is inconsistent (an mspan field lies outside mspan)");
    if (lay->off_spanclass >= lay->sizeof_mspan || lay->off_state >= lay->sizeof_mspan ||
        lay->page_bytes == 0 || (lay->page_bytes & (lay->page_bytes - 1)) || lay->arena_bytes == 0 ||
        lay->arena_bytes % lay->page_bytes ||
        (uint64_t)lay->bitmap_bytes * 32 != lay->arena_bytes)
        return retain_errorf("the Go runtime layout is inconsistent (page, arena or bitmap sizes)");
    return NULL;
}

struct retain_error *go_walk(struct memory *mem, const struct go_layout *lay, struct block_table *t,
                             struct go_heap *h, struct heap_report *rep)
{
    struct retain_error *err = check_layout(lay);
    if (err)
        return err;
    struct go_walk w = { .mem = mem, .lay = lay, .t = t, .h = h, .rep = rep };
    err = walk_spans(&w);
    if (!err)
        err = read_arenas(&w);
    heap_report_finish(rep);
    free(w.arenas);
    return err;
}

void go_heap_deinit(struct go_heap *h)
{
    if (!h)
        return;
    for (uint32_t i = 0; i < h->bits.narenas; i++)
        free(h->bits.arenas[i].bits);
    free(h->bits.arenas);
    free(h->finalizers);
    free(h->runs);
    memset(h, 0, sizeof *h);
}
