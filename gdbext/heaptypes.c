/* Heap-wide types (heaptypes.h): vtables first, then typed pointers
 * breadth-first from the roots, a level at a time.
 *
 * Per block the result costs 5 bytes (type_of, is_array); while computing,
 * is_array also holds the F_VTABLE and F_QUEUED marks, and the queue of
 * levels takes 4 bytes a block. Each type's pointer layout comes from
 * dwarf.c once and is kept here with its pointees already turned into type
 * indexes. The hot loop reads a level's blocks in address order, filters
 * each field's word by the heap's bounds and alignment, and pairs it with
 * the blocks the graph says the block points into (or looks it up, for
 * blocks with many edges); the pairs are applied a chunk at a time, sorted
 * by target block, so that the random accesses of a big heap become
 * mostly sequential ones. A big level is read by two threads (core and
 * live sources), in two halves whose pairs are applied in order: the same
 * answer as one thread. */
#include <stdlib.h>
#include <string.h>
#include <elf.h>
#include <pthread.h>
#include <sys/mman.h>
#include "elfsym.h"
#include "heaptypes.h"
#include "session.h"

#define F_ARRAY 1u          /* the only bit left in is_array when done */
#define F_VTABLE 2u         /* typed by its vtable pointer */
#define F_QUEUED 4u         /* in the queue (each block enters once) */

#define WINDOW (1u << 20)           /* largest view asked of the memory source */
#define LIVE_WINDOW (8u << 10)      /* least a live read asks for: neighbours come along */
#define VT_SLOTS 4096u              /* first words that point into object files, cached */
#define EDGES_MAX 16                /* a block with fewer graph edges matches its words against them */
#define CHUNK (1u << 16)            /* candidates applied at once */
#define RADIX_BITS 11

struct cand {
    uint64_t v;
    uint32_t t, ref;
};

static const struct type_ref NO_TYPE = { OBJ_NONE, DWARF_TYPE_NONE };

struct hfield { uint32_t off, ref; };

/* What the walk needs of one type. */
struct ref_info {
    uint64_t size;                   /* sizeof; 0 if unknown (a declaration) */
    uint64_t tail_off, tail_size;    /* a flexible array member (tail_size 0: none) */
    uint32_t tail_elem;              /* its element type (DWARF, same object) */
    struct hfield *f, *tail;         /* pointer fields, pointees as refs */
    uint32_t nf, ntail;
    int laid_out;
};

struct range { uint64_t lo, hi; };

/* What one thread needs to read blocks: its view of memory, the words
 * waiting for a lookup, and the candidates found (heaptypes.c's walk). */
struct scanner {
    struct ctx *c;
    uint64_t wlo, whi;        /* the current view of memory: [wlo, whi) at wdata */
    const uint8_t *wdata;
    uint8_t *scratch;         /* WINDOW bytes */
    uint64_t words[BLOCK_BATCH];
    uint32_t wrefs[BLOCK_BATCH];
    size_t npending;          /* words waiting for a lookup */
    struct cand *cands;       /* candidates in the order read */
    uint32_t ncands, cap;
    int keep;                 /* 0: apply each CHUNK as it fills; 1: keep them all (a helper thread) */
    const uint32_t *edges;    /* the block being read: its targets in the graph, or NULL */
    uint32_t nedges;
    int narrow;               /* the block being read is one of the last few of its level */
    int oom;
    uint32_t first, end;      /* a helper's share of the level: queue[first, end) */
};

struct ctx {
    struct retain_session *s;
    struct heap_types *ht;
    struct naming *nm;
    const struct block_table *t;
    struct ref_info *info;
    uint32_t info_cap, refs_cap;
    uint32_t **ref_of;        /* per objfile: per DWARF type, ref + 1 (0: none yet) */
    int8_t *allowed;          /* per objfile: -1 not yet known, 0 no, 1 its DWARF is read */
    uint32_t *queue;          /* levels, one after the other */
    uint32_t head, tail;
    uint64_t *bits;           /* bit per block, all clear between uses (sort_level) */
    struct scanner *main;     /* the calling thread's scanner (&msc) */
    struct scanner msc;
    struct cand *ctmp;        /* CHUNK: apply_slice sorts through it */
    int use_edges;            /* the graph holds every in-use block's edges */
    int threads;              /* big levels are read by two threads (core and live sources) */
    uint64_t prefetched_page;
    int is_core;
    uint64_t lo, span;        /* the heap's bounds: a quick reject */
    struct range *objs;       /* where vtables lie, merged and sorted */
    uint32_t nobjs;
    uint64_t vt_key[VT_SLOTS];
    uint32_t vt_val[VT_SLOTS];   /* ref + 1, or 0: not a vtable */
    uint32_t vt_used;
    int oom;
};

/* ---- which objects' DWARF types roots ---- */

static int has_own_dwarf(const char *path)
{
    struct elf_file *f;
    struct retain_error *err = elf_file_open(path, &f);
    if (err) {
        retain_error_destroy(err);
        return 0;
    }
    struct elf_section sec;
    int ok = elf_file_section(f, ".debug_info", &sec) == 0 && sec.size > 0;
    elf_file_close(f);
    return ok;
}

/* The DWARF of obj if roots there are typed (heaptypes.h), loading it as
 * naming.c does on first use. */
static struct dwarf_types *obj_types(struct ctx *c, uint32_t obj)
{
    if (obj >= c->nm->n)
        return NULL;
    struct objfile *o = &c->nm->objs[obj];
    if (c->allowed[obj] < 0)
        c->allowed[obj] = (int8_t)(obj == 0 || has_own_dwarf(o->path));
    if (!c->allowed[obj])
        return NULL;
    if (!o->dwarf_tried) {
        o->dwarf_tried = 1;
        struct retain_error *err = dwarf_types_load(o->path, o->bias, &o->types);
        if (err) {
            o->dwarf_error = strdup(err->msg);
            retain_error_destroy(err);
            o->types = NULL;
        }
    }
    return o->types;
}

/* A type name as gdb spells it, in the objects whose DWARF types roots. */
static struct type_ref type_by_name(struct ctx *c, const char *name)
{
    for (uint32_t i = 0; name && i < c->nm->n; i++) {
        struct dwarf_types *dt = obj_types(c, i);
        uint32_t t = dt ? dwarf_type_by_name(dt, name) : DWARF_TYPE_NONE;
        if (t != DWARF_TYPE_NONE)
            return (struct type_ref){ i, t };
    }
    return NO_TYPE;
}

/* The object a global slot belongs to, as naming_global finds it. */
static uint32_t global_obj(const struct naming *nm, uint64_t addr)
{
    uint32_t obj = naming_objfile_at(nm, addr);
    uint64_t off;
    for (uint32_t i = 0; obj == OBJ_NONE && i < nm->n; i++)
        if (nm->objs[i].syms && elf_symbols_lookup(nm->objs[i].syms, addr, &off))
            obj = i;
    return obj;
}

/* ---- types ---- */

/* The one type of its spelling in its object (a struct described by several
 * compilation units is one type), unless it is anonymous. */
static uint32_t canonical(const struct dwarf_types *dt, uint32_t type)
{
    const char *name = dwarf_type_name(dt, type);
    if (!name || strstr(name, "{...}"))
        return type;
    uint32_t c = dwarf_type_strip(dt, dwarf_type_by_name(dt, name));
    if (c == DWARF_TYPE_NONE || c == type || dwarf_type_kind(dt, c) != dwarf_type_kind(dt, type))
        return type;
    uint64_t size = dwarf_type_size(dt, type);
    return size == 0 || size == dwarf_type_size(dt, c) ? c : type;
}

static uint32_t new_ref(struct ctx *c, uint32_t obj, uint32_t type)
{
    struct heap_types *ht = c->ht;
    if (ht->nrefs >= HT_UNKNOWN - 1) {
        c->oom = 1;
        return HT_UNKNOWN;
    }
    if (ht->nrefs == c->refs_cap) {
        uint32_t cap = c->refs_cap ? c->refs_cap * 2 : 64;
        struct type_ref *r = realloc(ht->refs, cap * sizeof *r);
        if (!r) {
            c->oom = 1;
            return HT_UNKNOWN;
        }
        ht->refs = r;
        struct ref_info *in = realloc(c->info, cap * sizeof *in);
        if (!in) {
            c->oom = 1;
            return HT_UNKNOWN;
        }
        c->info = in;
        c->refs_cap = cap;
    }
    uint32_t r = ht->nrefs++;
    ht->refs[r] = (struct type_ref){ obj, type };
    struct ref_info *ri = &c->info[r];
    memset(ri, 0, sizeof *ri);
    ri->tail_elem = DWARF_TYPE_NONE;
    struct dwarf_types *dt = c->nm->objs[obj].types;
    ri->size = dwarf_type_size(dt, type);
    struct dwarf_layout lay;
    if (dwarf_type_layout(dt, type, &lay) == 0 && lay.tail_elem != DWARF_TYPE_NONE) {
        ri->tail_elem = lay.tail_elem;
        ri->tail_off = lay.tail_offset;
        ri->tail_size = dwarf_type_size(dt, lay.tail_elem);
    }
    return r;
}

/* The type index of (obj, type), made on first sight; HT_UNKNOWN if none. */
static uint32_t get_ref(struct ctx *c, uint32_t obj, uint32_t type)
{
    if (obj >= c->nm->n || !c->nm->objs[obj].types)
        return HT_UNKNOWN;
    struct dwarf_types *dt = c->nm->objs[obj].types;
    type = dwarf_type_strip(dt, type);
    if (type == DWARF_TYPE_NONE)
        return HT_UNKNOWN;
    if (!c->ref_of[obj]) {
        c->ref_of[obj] = calloc(dwarf_types_count(dt), sizeof **c->ref_of);
        if (!c->ref_of[obj]) {
            c->oom = 1;
            return HT_UNKNOWN;
        }
    }
    uint32_t *map = c->ref_of[obj];
    if (map[type])
        return map[type] - 1;
    uint32_t canon = canonical(dt, type);
    if (!map[canon]) {
        uint32_t r = new_ref(c, obj, canon);
        if (r == HT_UNKNOWN)
            return r;
        map[canon] = r + 1;
    }
    map[type] = map[canon];
    return map[type] - 1;
}

/* Copies a DWARF layout with its pointees as refs; the fields with no type
 * index are dropped. dwarf_type_layout is called again by get_ref (for new
 * refs), so the fields are copied out first. */
static int map_fields(struct ctx *c, uint32_t obj, const struct dwarf_layout *lay, struct hfield **out,
                      uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (!lay->nfields)
        return 0;
    struct hfield *f = malloc(lay->nfields * sizeof *f);
    if (!f)
        return -1;
    for (uint32_t i = 0; i < lay->nfields; i++)
        f[i] = (struct hfield){ lay->fields[i].offset, lay->fields[i].pointee };
    uint32_t n = 0;
    for (uint32_t i = 0; i < lay->nfields; i++) {
        uint32_t r = get_ref(c, obj, f[i].ref);
        if (r != HT_UNKNOWN)
            f[n++] = (struct hfield){ f[i].off, r };
    }
    *out = f;
    *nout = n;
    return 0;
}

static void lay_out(struct ctx *c, uint32_t ref)
{
    struct type_ref tr = c->ht->refs[ref];
    struct dwarf_types *dt = c->nm->objs[tr.obj].types;
    uint32_t tail_elem = c->info[ref].tail_elem;
    struct hfield *f = NULL, *tail = NULL;
    uint32_t nf = 0, ntail = 0;
    struct dwarf_layout lay;
    if (dwarf_type_layout(dt, tr.type, &lay) == 0 && map_fields(c, tr.obj, &lay, &f, &nf) != 0)
        c->oom = 1;
    if (tail_elem != DWARF_TYPE_NONE && dwarf_type_layout(dt, tail_elem, &lay) == 0 &&
        map_fields(c, tr.obj, &lay, &tail, &ntail) != 0)
        c->oom = 1;
    struct ref_info *ri = &c->info[ref];   /* get_ref may have moved c->info */
    ri->f = f;
    ri->nf = nf;
    ri->tail = tail;
    ri->ntail = ntail;
    ri->laid_out = 1;
}

static int is_array_of(const struct ref_info *ri, uint64_t block_size)
{
    return ri->size && !ri->tail_size && block_size / 2 >= ri->size;
}

/* ---- the walk ---- */

static void enqueue(struct ctx *c, uint32_t id)
{
    c->ht->is_array[id] |= F_QUEUED;
    c->queue[c->tail++] = id;
}

/* A typed pointer to the start of block id says it is a ref. */
static void declare(struct ctx *c, uint32_t id, uint32_t ref)
{
    struct heap_types *ht = c->ht;
    uint8_t fl = ht->is_array[id];
    if (fl & F_VTABLE) {
        if (!(fl & F_QUEUED))
            enqueue(c, id);
        return;
    }
    uint32_t cur = ht->type_of[id];
    if (cur == ref)
        return;
    if (cur != HT_UNKNOWN) {
        ht->conflicts++;
        return;
    }
    const struct ref_info *ri = &c->info[ref];
    uint64_t size = c->t->blocks[id].size;
    if (ri->size > size) {
        ht->oversized++;
        return;
    }
    ht->type_of[id] = ref;
    if (is_array_of(ri, size))
        ht->is_array[id] |= F_ARRAY;
    enqueue(c, id);
}

/* Candidates: (block t, word v, type) in the order they were read; the
 * ones whose v is t's start are declarations. They are applied a chunk at
 * a time, sorted by block (stable, so each block still sees its
 * declarations in order): the blocks' entries and types are then visited
 * in address order rather than at random. Declarations only change the
 * types of blocks not yet read, so deferring them within a level changes
 * nothing but speed. */
static void radix_pass(const struct cand *in, struct cand *out, uint32_t n, unsigned shift)
{
    uint32_t count[1u << RADIX_BITS] = { 0 };
    for (uint32_t i = 0; i < n; i++)
        count[(in[i].t >> shift) & ((1u << RADIX_BITS) - 1)]++;
    uint32_t sum = 0;
    for (uint32_t d = 0; d < (1u << RADIX_BITS); d++) {
        uint32_t k = count[d];
        count[d] = sum;
        sum += k;
    }
    for (uint32_t i = 0; i < n; i++)
        out[count[(in[i].t >> shift) & ((1u << RADIX_BITS) - 1)]++] = in[i];
}

/* Applies a[0, n), n <= CHUNK (a is reordered; c->ctmp too). */
static void apply_slice(struct ctx *c, struct cand *a, uint32_t n)
{
    if (n > 32) {
        uint32_t mx = 0;
        for (uint32_t i = 0; i < n; i++)
            mx = a[i].t > mx ? a[i].t : mx;
        struct cand *other = c->ctmp;
        for (unsigned shift = 0; shift == 0 || (shift < 32 && (mx >> shift)); shift += RADIX_BITS) {
            radix_pass(a, other, n, shift);
            struct cand *x = a;
            a = other;
            other = x;
        }
    } else {
        for (uint32_t i = 1; i < n; i++) {
            struct cand x = a[i];
            uint32_t j = i;
            for (; j > 0 && a[j - 1].t > x.t; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
    }
    const struct block *b = c->t->blocks;
    for (uint32_t i = 0; i < n; i++) {
        if (i + 8 < n) {
            __builtin_prefetch(&b[a[i + 8].t]);
            __builtin_prefetch(&c->ht->type_of[a[i + 8].t], 1);
        }
        if (b[a[i].t].addr == a[i].v)
            declare(c, a[i].t, a[i].ref);
    }
}

/* Applies every candidate sc holds, in order (the calling thread only). */
static void apply_cands(struct scanner *sc)
{
    for (uint32_t at = 0; at < sc->ncands; at += CHUNK)
        apply_slice(sc->c, sc->cands + at, sc->ncands - at < CHUNK ? sc->ncands - at : CHUNK);
    sc->ncands = 0;
}

static void push_cand(struct scanner *sc, uint64_t v, uint32_t t, uint32_t ref)
{
    if (sc->ncands == sc->cap) {
        if (!sc->keep) {
            apply_cands(sc);
        } else {
            uint32_t cap = sc->cap * 2;
            struct cand *nc = cap > sc->cap ? realloc(sc->cands, (size_t)cap * sizeof *nc) : NULL;
            if (!nc) {
                sc->oom = 1;
                return;
            }
            sc->cands = nc;
            sc->cap = cap;
        }
    }
    sc->cands[sc->ncands++] = (struct cand){ v, t, ref };
}

/* Resolves the words waiting for a lookup (blocks read without their
 * graph edges) into candidates, in order. */
static void flush_lookups(struct scanner *sc)
{
    uint32_t ids[BLOCK_BATCH];
    size_t n = sc->npending;
    sc->npending = 0;
    block_lookup_inuse_batch(sc->c->t, sc->words, ids, n);
    for (size_t i = 0; i < n; i++)
        if (ids[i] != BLOCK_NONE)
            push_cand(sc, sc->words[i], ids[i], sc->wrefs[i]);
}

/* Everything read so far is declared. */
static void flush(struct scanner *sc)
{
    if (sc->npending)
        flush_lookups(sc);
    if (sc->ncands)
        apply_cands(sc);
}

/* Asks for the cache line at target address a (cores: a view is a pointer). */
static void prefetch_at(struct ctx *c, uint64_t a)
{
    uint64_t tmp;
    const uint8_t *p;
    if (memory_view(c->s->mem, a, 8, &tmp, &p) == 8 && p != (const uint8_t *)&tmp)
        __builtin_prefetch(p);
}

/* The word at a (below end, where the view may stop), through the current view. */
static int read_word(struct scanner *sc, uint64_t a, uint64_t end, uint64_t *v)
{
    if (a < sc->wlo || a + 8 > sc->whi) {
        uint64_t want = end - a;
        if (!sc->c->is_core && want < LIVE_WINDOW)
            want = LIVE_WINDOW;
        if (want > WINDOW)
            want = WINDOW;
        size_t got = memory_view(sc->c->s->mem, a, (size_t)want, sc->scratch, &sc->wdata);
        sc->wlo = a;
        sc->whi = a + got;
        if (got < 8) {
            sc->wlo = sc->whi = 0;
            return -1;
        }
    }
    memcpy(v, sc->wdata + (a - sc->wlo), 8);
    return 0;
}

/* Queues the words of fields f (sorted by offset) in block [base, base +
 * size), at start, start + stride... `times` times. */
static void scan_run(struct scanner *sc, uint64_t base, uint64_t size, uint64_t start, uint64_t stride,
                     uint64_t times, const struct hfield *f, uint32_t nf)
{
    const struct ctx *c = sc->c;
    for (uint64_t k = 0; k < times; k++) {
        uint64_t at = start + k * stride;
        for (uint32_t i = 0; i < nf; i++) {
            uint64_t off = at + f[i].off, v;
            if (off + 8 > size)
                return;
            if (read_word(sc, base + off, base + size, &v) != 0)
                continue;
            if ((v & 7) || v - c->lo >= c->span)
                continue;
            if (sc->edges && !(off & 7)) {
                /* The block's own edges name every block its aligned words
                 * point into: v starts one of them or none (apply_slice tells). */
                if (sc->npending)
                    flush_lookups(sc);
                if (sc->narrow && c->is_core)
                    prefetch_at(sc->c, v);
                for (uint32_t e = 0; e < sc->nedges; e++)
                    push_cand(sc, v, sc->edges[e], f[i].ref);
                continue;
            }
            sc->words[sc->npending] = v;
            sc->wrefs[sc->npending++] = f[i].ref;
            if (sc->npending == BLOCK_BATCH)
                flush_lookups(sc);
        }
    }
}

/* Reads block id (its type laid out already). narrow: few blocks follow in
 * this level (nothing was asked for ahead). */
static void scan_block(struct scanner *sc, uint32_t id, int narrow)
{
    const struct ctx *c = sc->c;
    const struct ref_info *ri = &c->info[c->ht->type_of[id]];
    uint64_t base = c->t->blocks[id].addr, size = c->t->blocks[id].size;
    sc->edges = NULL;
    sc->narrow = narrow;
    if (c->use_edges) {
        const struct graph *g = &c->s->graph;
        uint32_t first = g->fwd_off[id], n = g->fwd_off[id + 1] - first;
        if (n <= EDGES_MAX) {
            sc->edges = g->fwd + first;
            sc->nedges = n;
            /* A chain: what the next level will need of the blocks this
             * one may point at, while this one is read. */
            for (uint32_t e = 0; narrow && e < n; e++) {
                __builtin_prefetch(&c->t->blocks[sc->edges[e]]);
                __builtin_prefetch(&c->ht->type_of[sc->edges[e]]);
                __builtin_prefetch(&g->fwd_off[sc->edges[e]]);
            }
        }
    }
    if (ri->nf) {
        uint64_t times = (c->ht->is_array[id] & F_ARRAY) ? size / ri->size : 1;
        scan_run(sc, base, size, 0, ri->size, times, ri->f, ri->nf);
    }
    if (ri->ntail && size > ri->tail_off)
        scan_run(sc, base, size, ri->tail_off, ri->tail_size,
                 (size - ri->tail_off + ri->tail_size - 1) / ri->tail_size, ri->tail, ri->ntail);
}

/* Blocks of one level are read in address order: on a big heap, reading
 * them in the order they were found costs a TLB miss and a cache miss each;
 * by address, neighbours share pages and the hardware prefetcher helps. The
 * next ones' table entries are asked for PREFETCH_TABLE blocks ahead, their
 * first pointer field PREFETCH_DATA ahead (cores only: a live read copies). */
#define PREFETCH_TABLE 32
#define PREFETCH_DATA 16
#define PARALLEL_MIN 8192           /* a level this big is read by two threads */

static void scan_range(struct scanner *sc, uint32_t first, uint32_t end)
{
    const struct ctx *c = sc->c;
    const struct graph *g = &c->s->graph;
    for (uint32_t h = first; h < end; h++) {
        if (h + PREFETCH_TABLE < end) {
            uint32_t id = c->queue[h + PREFETCH_TABLE];
            __builtin_prefetch(&c->t->blocks[id]);
            __builtin_prefetch(&c->ht->type_of[id]);
            if (c->use_edges)
                __builtin_prefetch(&g->fwd_off[id]);
        }
        if (h + PREFETCH_DATA < end) {
            uint32_t id = c->queue[h + PREFETCH_DATA];
            const struct ref_info *ri = &c->info[c->ht->type_of[id]];
            if (c->is_core)
                prefetch_at(sc->c, c->t->blocks[id].addr + (ri->nf ? ri->f[0].off : 0));
            if (c->use_edges)
                __builtin_prefetch(&g->fwd[g->fwd_off[id]]);
        }
        scan_block(sc, c->queue[h], h + PREFETCH_DATA >= end);
    }
}

static void *helper_run(void *arg)
{
    struct scanner *sc = arg;
    scan_range(sc, sc->first, sc->end);
    if (sc->npending)
        flush_lookups(sc);   /* lookups only read the block table */
    return NULL;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts the ids of a level: through the bitmap when they are dense enough
 * that its words cost no more than the ids, else by comparison. */
static void sort_level(struct ctx *c, uint32_t *a, uint32_t k)
{
    if (k < 2)
        return;
    if (k <= 16) {
        for (uint32_t i = 1; i < k; i++) {
            uint32_t x = a[i], j = i;
            for (; j > 0 && a[j - 1] > x; j--)
                a[j] = a[j - 1];
            a[j] = x;
        }
        return;
    }
    uint32_t mn = UINT32_MAX, mx = 0;
    for (uint32_t i = 0; i < k; i++) {
        mn = a[i] < mn ? a[i] : mn;
        mx = a[i] > mx ? a[i] : mx;
    }
    if ((mx >> 6) - (mn >> 6) > 4 * (uint64_t)k) {
        qsort(a, k, sizeof *a, u32_cmp);
        return;
    }
    for (uint32_t i = 0; i < k; i++)
        c->bits[a[i] >> 6] |= 1ull << (a[i] & 63);
    uint32_t n = 0;
    for (uint32_t w = mn >> 6; w <= mx >> 6; w++) {
        uint64_t b = c->bits[w];
        c->bits[w] = 0;
        while (b) {
            a[n++] = w * 64 + (uint32_t)__builtin_ctzll(b);
            b &= b - 1;
        }
    }
}

/* Reads a big level on two threads: the helper takes the second half and
 * keeps its candidates, this thread reads the first half and applies as it
 * goes, then applies the helper's: the same order as one thread. While
 * both run, the types being read (this level's) are only read, and
 * declarations write only blocks outside the level. 0 if it was done. */
static int scan_parallel(struct ctx *c, uint32_t first, uint32_t end)
{
    for (uint32_t h = first; h < end; h++) {   /* layouts change shared tables: before */
        uint32_t ref = c->ht->type_of[c->queue[h]];
        if (!c->info[ref].laid_out)
            lay_out(c, ref);
    }
    uint32_t mid = first + (end - first) / 2;
    struct scanner helper = { .c = c, .scratch = malloc(WINDOW), .cands = malloc(CHUNK * sizeof *helper.cands),
                              .cap = CHUNK, .keep = 1, .first = mid, .end = end };
    pthread_t th;
    if (!helper.scratch || !helper.cands || pthread_create(&th, NULL, helper_run, &helper) != 0) {
        free(helper.scratch);
        free(helper.cands);
        return -1;
    }
    scan_range(c->main, first, mid);
    flush(c->main);
    pthread_join(th, NULL);
    if (helper.oom)
        c->oom = 1;
    else
        apply_cands(&helper);
    free(helper.scratch);
    free(helper.cands);
    return 0;
}

/* Breadth-first, a level at a time: the blocks typed while a level is read
 * form the next one. */
static void drain(struct ctx *c)
{
    for (;;) {
        uint32_t first = c->head, end = c->tail;
        sort_level(c, c->queue + first, end - first);
        if (first == end)
            return;
        c->head = end;
        if (!c->threads || end - first < PARALLEL_MIN || scan_parallel(c, first, end) != 0) {
            for (uint32_t h = first; h < end; h++) {
                uint32_t ref = c->ht->type_of[c->queue[h]];
                if (!c->info[ref].laid_out)
                    lay_out(c, ref);
            }
            scan_range(c->main, first, end);
        }
        flush(c->main);
    }
}

/* ---- vtables ---- */

static int range_cmp(const void *a, const void *b)
{
    const struct range *x = a, *y = b;
    return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Where an object's C++ vtables (_ZTV symbols, from the table elfsym.c
 * reads: .symtab, else .dynsym) lie at run time; 0 if it has none. */
static int vtable_span(const struct objfile *o, struct range *r)
{
    struct elf_file *f;
    struct retain_error *err = elf_file_open(o->path, &f);
    if (err) {
        retain_error_destroy(err);
        return 0;
    }
    struct elf_section sym, str;
    int found = 0;
    if ((elf_file_section(f, ".symtab", &sym) == 0 && elf_file_section(f, ".strtab", &str) == 0) ||
        (elf_file_section(f, ".dynsym", &sym) == 0 && elf_file_section(f, ".dynstr", &str) == 0)) {
        for (uint64_t i = 0; i < sym.size / sizeof(Elf64_Sym); i++) {
            Elf64_Sym e;
            memcpy(&e, sym.data + i * sizeof e, sizeof e);
            if (e.st_shndx == SHN_UNDEF || e.st_value == 0 || (uint64_t)e.st_name + 4 > str.size ||
                memcmp(str.data + e.st_name, "_ZTV", 4) != 0)
                continue;
            uint64_t lo = e.st_value + o->bias, hi = lo + (e.st_size ? e.st_size : 8);
            if (!found || lo < r->lo)
                r->lo = lo;
            if (!found || hi > r->hi)
                r->hi = hi;
            found = 1;
        }
    }
    elf_file_close(f);
    return found;
}

/* The vtables' ranges, merged and sorted: a first word outside them is no
 * vtable pointer. None at all (a C program): no vtable pass. */
static int objs_init(struct ctx *c)
{
    c->objs = malloc((c->nm->n + 1) * sizeof *c->objs);
    if (!c->objs)
        return -1;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->nm->n; i++)
        n += (uint32_t)vtable_span(&c->nm->objs[i], &c->objs[n]);
    qsort(c->objs, n, sizeof *c->objs, range_cmp);
    uint32_t m = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (m && c->objs[i].lo <= c->objs[m - 1].hi) {
            if (c->objs[i].hi > c->objs[m - 1].hi)
                c->objs[m - 1].hi = c->objs[i].hi;
        } else {
            c->objs[m++] = c->objs[i];
        }
    }
    c->nobjs = m;
    return 0;
}

static int in_vtables(const struct ctx *c, uint64_t v)
{
    uint32_t lo = 0, hi = c->nobjs;   /* first range with lo > v */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (c->objs[mid].lo <= v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo > 0 && v < c->objs[lo - 1].hi;
}

/* The class whose vtable vptr points into (block addr's first word), as a ref. */
static uint32_t vtable_ref(struct ctx *c, uint64_t vptr, uint64_t addr)
{
    uint32_t mask = VT_SLOTS - 1, slot = (uint32_t)((vptr >> 3) * 0x9E3779B97F4A7C15ull >> 52) & mask;
    for (; c->vt_key[slot]; slot = (slot + 1) & mask)
        if (c->vt_key[slot] == vptr)
            return c->vt_val[slot] ? c->vt_val[slot] - 1 : HT_UNKNOWN;
    struct type_ref t = naming_block_type(c->nm, c->s->mem, addr, NO_TYPE);
    uint32_t ref = t.obj == OBJ_NONE ? HT_UNKNOWN : get_ref(c, t.obj, t.type);
    if (c->vt_used < VT_SLOTS / 2) {   /* a full cache just stops remembering */
        c->vt_key[slot] = vptr;
        c->vt_val[slot] = ref == HT_UNKNOWN ? 0 : ref + 1;
        c->vt_used++;
    }
    return ref;
}

static void type_by_vtables(struct ctx *c)
{
    struct heap_types *ht = c->ht;
    const struct block_table *t = c->t;
    if (!c->nobjs)
        return;
    uint64_t olo = c->objs[0].lo, ospan = c->objs[c->nobjs - 1].hi - olo;
    for (uint32_t id = 0; id < t->n; id++) {
        if (!((t->inuse_bits[id >> 6] >> (id & 63)) & 1))
            continue;
        uint64_t addr = t->blocks[id].addr, size = t->blocks[id].size, v;
        struct scanner *sc = c->main;
        if (size < 8 || read_word(sc, addr, addr + WINDOW, &v) != 0)
            continue;
        uint64_t page = (addr >> 12) + 4;   /* stream: ask for the pages ahead */
        if (page != c->prefetched_page && (page << 12) + 4096 <= sc->whi) {
            c->prefetched_page = page;
            memory_prefetch_page(sc->wdata + ((page << 12) - sc->wlo));
        }
        if ((v & 7) || v - olo >= ospan || !in_vtables(c, v))
            continue;
        uint32_t ref = vtable_ref(c, v, addr);
        if (ref == HT_UNKNOWN)
            continue;
        if (c->info[ref].size > size) {
            ht->oversized++;
            continue;
        }
        ht->type_of[id] = ref;
        ht->is_array[id] = (uint8_t)(F_VTABLE | (is_array_of(&c->info[ref], size) ? F_ARRAY : 0));
        ht->from_vtables++;
    }
}

/* ---- the roots ---- */

struct seed {
    uint64_t slot;
    uint32_t rank, root, target, ref;
};

static int seed_cmp(const void *a, const void *b)
{
    const struct seed *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    if (x->slot != y->slot)
        return x->slot < y->slot ? -1 : 1;
    if (x->root != y->root)
        return x->root < y->root ? -1 : 1;
    return x->target < y->target ? -1 : x->target > y->target;
}

/* What root word e declares its target to be (HT_UNKNOWN: nothing), and
 * the word itself. */
static uint32_t root_declares(struct ctx *c, const struct root_edge *e, uint64_t *pointer_ret, uint32_t *rank_ret)
{
    struct root_set *rs = &c->s->roots;
    struct type_ref t = NO_TYPE;
    uint64_t offset = 0;
    if (e->root & ROOT_EDGE_VALUE) {
        const struct root_value *v = &rs->values[e->root & ~ROOT_EDGE_VALUE];
        *rank_ret = root_kind_rank(v->kind);
        if (!v->type)
            return HT_UNKNOWN;
        t = type_by_name(c, v->type);
        *pointer_ret = v->value;
    } else {
        const struct root_range *r = &rs->ranges[e->root];
        *rank_ret = root_kind_rank(r->kind);
        if (r->kind == ROOT_GLOBAL) {
            if (!obj_types(c, global_obj(c->nm, e->slot)))
                return HT_UNKNOWN;
            struct global_name g;
            naming_global(c->nm, e->slot, &g);
            t = g.type;
            offset = g.offset;
        } else if (r->kind == ROOT_STACK || r->kind == ROOT_TLS) {
            const struct root_var *v = root_set_var_at(rs, r->thread, e->slot);
            if (!v || !v->type)
                return HT_UNKNOWN;
            t = type_by_name(c, v->type);
            offset = e->slot - v->addr;
        }
        if (t.obj == OBJ_NONE || memory_read_u64(c->s->mem, e->slot, pointer_ret) != 0)
            return HT_UNKNOWN;
    }
    if (t.obj == OBJ_NONE)
        return HT_UNKNOWN;
    char field[256];
    struct type_ref p = naming_field(c->nm, t, offset, field, sizeof field);
    return p.obj == OBJ_NONE ? HT_UNKNOWN : get_ref(c, p.obj, p.type);
}

static struct retain_error *type_by_roots(struct ctx *c)
{
    const struct graph *g = &c->s->graph;
    struct seed *seeds = NULL;
    uint64_t n = 0, cap = 0;
    for (uint64_t i = 0; i < g->nredges; i++) {
        const struct root_edge *e = &g->redges[i];
        uint64_t pointer = 0;
        uint32_t rank;
        uint32_t ref = root_declares(c, e, &pointer, &rank);
        if (ref == HT_UNKNOWN || pointer != c->t->blocks[e->target].addr)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            struct seed *ns = realloc(seeds, cap * sizeof *ns);
            if (!ns) {
                free(seeds);
                return retain_errorf("out of memory for typed roots");
            }
            seeds = ns;
        }
        seeds[n++] = (struct seed){ e->slot, rank, e->root, e->target, ref };
    }
    qsort(seeds, n, sizeof *seeds, seed_cmp);
    for (uint64_t i = 0; i < n; i++)
        declare(c, seeds[i].target, seeds[i].ref);
    free(seeds);
    return NULL;
}

/* ---- results ---- */

/* Per-block arrays are read and written at random: huge pages (where the
 * kernel gives them on request) spare most of the TLB misses. */
static void *big_alloc(size_t size)
{
    const size_t huge = (size_t)2 << 20;
    if (size < huge)
        return malloc(size ? size : 1);
    void *p;
    size = (size + huge - 1) & ~(huge - 1);
    if (posix_memalign(&p, huge, size) != 0)
        return NULL;
    madvise(p, size, MADV_HUGEPAGE);
    return p;
}

/* Keeps only the types some block has, in the order they were found. */
static int compact_refs(struct heap_types *ht)
{
    uint32_t *remap = calloc(ht->nrefs + 1, sizeof *remap);
    if (!remap)
        return -1;
    for (uint32_t id = 0; id < ht->n; id++)
        if (ht->type_of[id] != HT_UNKNOWN)
            remap[ht->type_of[id]] = 1;
    uint32_t n = 0;
    for (uint32_t r = 0; r < ht->nrefs; r++) {
        if (remap[r]) {
            ht->refs[n] = ht->refs[r];
            remap[r] = n++;
        } else {
            remap[r] = HT_UNKNOWN;
        }
    }
    for (uint32_t id = 0; id < ht->n; id++)
        if (ht->type_of[id] != HT_UNKNOWN)
            ht->type_of[id] = remap[ht->type_of[id]];
    ht->nrefs = n;
    free(remap);
    return 0;
}

static void ctx_free(struct ctx *c)
{
    for (uint32_t r = 0; c->info && r < c->ht->nrefs; r++) {
        free(c->info[r].f);
        free(c->info[r].tail);
    }
    free(c->info);
    for (uint32_t i = 0; c->ref_of && i < c->nm->n; i++)
        free(c->ref_of[i]);
    free(c->ref_of);
    free(c->allowed);
    free(c->queue);
    free(c->bits);
    free(c->msc.cands);
    free(c->ctmp);
    free(c->msc.scratch);
    free(c->objs);
}

struct retain_error *heap_types_compute(struct retain_session *s, struct heap_types *ht)
{
    memset(ht, 0, sizeof *ht);
    if (!s->built)
        return retain_errorf("the reference graph has not been built");
    double t0 = session_now();
    const struct block_table *t = &s->blocks;
    ht->n = t->n;
    struct ctx *c = calloc(1, sizeof *c);
    if (!c)
        return retain_errorf("out of memory for heap types");
    c->s = s;
    c->ht = ht;
    c->nm = &s->naming;
    c->t = t;
    c->is_core = strcmp(memory_kind(s->mem), "core") == 0;
    c->lo = t->lo;
    c->span = t->hi - t->lo;
    c->use_edges = s->graph.fwd_off && s->graph.nblocks == t->n && !s->graph.unscanned_blocks &&
                   !s->graph.interrupted;
    c->main = &c->msc;
    c->msc.c = c;
    c->msc.cap = CHUNK;
    /* Two threads read big levels, where the memory source allows it
     * (memory.h: core and live sources may be read from several threads). */
    c->threads = strcmp(memory_kind(s->mem), "callback") != 0;
    ht->type_of = big_alloc((t->n + 1) * sizeof *ht->type_of);
    ht->is_array = big_alloc(t->n + 1);
    c->queue = big_alloc((t->n + 1) * sizeof *c->queue);
    c->bits = calloc(t->n / 64 + 2, sizeof *c->bits);
    c->msc.cands = malloc(CHUNK * sizeof *c->msc.cands);
    c->ctmp = malloc(CHUNK * sizeof *c->ctmp);
    c->msc.scratch = malloc(WINDOW);
    c->ref_of = calloc(c->nm->n + 1, sizeof *c->ref_of);
    c->allowed = malloc(c->nm->n + 1);
    struct retain_error *err = NULL;
    if (!ht->type_of || !ht->is_array || !c->queue || !c->bits || !c->msc.cands || !c->ctmp || !c->msc.scratch ||
        !c->ref_of || !c->allowed || objs_init(c)) {
        err = retain_errorf("out of memory for the types of %u blocks", t->n);
        goto out;
    }
    memset(ht->type_of, 0xff, t->n * sizeof *ht->type_of);
    memset(ht->is_array, 0, t->n + 1);
    memset(c->allowed, -1, c->nm->n + 1);

    type_by_vtables(c);
    err = type_by_roots(c);
    if (err)
        goto out;
    drain(c);
    /* Objects typed by their vtable that no typed pointer reached. */
    for (uint32_t id = 0; id < t->n; id++)
        if ((ht->is_array[id] & (F_VTABLE | F_QUEUED)) == F_VTABLE)
            enqueue(c, id);
    drain(c);
    if (c->oom || c->msc.oom) {
        err = retain_errorf("out of memory for heap types");
        goto out;
    }
    for (uint32_t id = 0; id < t->n; id++) {
        ht->is_array[id] &= F_ARRAY;
        if ((t->inuse_bits[id >> 6] >> (id & 63)) & 1) {
            ht->blocks_in_use++;
            ht->typed_blocks += ht->type_of[id] != HT_UNKNOWN;
        }
    }
    if (compact_refs(ht) != 0 || (ht->nrefs && !(ht->array_names = calloc(ht->nrefs, sizeof *ht->array_names))))
        err = retain_errorf("out of memory for heap types");
out:
    ctx_free(c);
    free(c);
    if (err) {
        heap_types_deinit(ht);
        return err;
    }
    ht->seconds = session_now() - t0;
    return NULL;
}

void heap_types_deinit(struct heap_types *ht)
{
    if (!ht)
        return;
    for (uint32_t r = 0; ht->array_names && r < ht->nrefs; r++)
        free(ht->array_names[r]);
    free(ht->array_names);
    free(ht->type_of);
    free(ht->is_array);
    free(ht->refs);
    memset(ht, 0, sizeof *ht);
}

const char *heap_types_ref_name(struct heap_types *ht, struct retain_session *s, uint32_t ref, int array)
{
    if (ref >= ht->nrefs)
        return NULL;
    const char *name = naming_type_name(&s->naming, ht->refs[ref]);
    if (!name || !array)
        return name;
    if (!ht->array_names[ref]) {
        size_t n = strlen(name);
        char *a = malloc(n + 3);
        if (!a)
            return NULL;
        memcpy(a, name, n);
        memcpy(a + n, "[]", 3);
        ht->array_names[ref] = a;
    }
    return ht->array_names[ref];
}

const char *heap_types_name(struct heap_types *ht, struct retain_session *s, uint32_t id)
{
    if (id >= ht->n || ht->type_of[id] == HT_UNKNOWN)
        return NULL;
    return heap_types_ref_name(ht, s, ht->type_of[id], ht->is_array[id] & F_ARRAY);
}

/* ---- histogram ---- */

struct sized { uint64_t size, count; };   /* unknown blocks of one size */

struct named_row {
    struct heap_type_row row;
    const char *name;
};

static int row_cmp(const void *a, const void *b)
{
    const struct named_row *x = a, *y = b;
    if (x->row.bytes != y->row.bytes)
        return x->row.bytes > y->row.bytes ? -1 : 1;
    if (x->row.count != y->row.count)
        return x->row.count > y->row.count ? -1 : 1;
    int xu = x->row.type == HT_UNKNOWN, yu = y->row.type == HT_UNKNOWN;
    if (xu != yu)
        return xu - yu;
    if (!xu) {
        int c = strcmp(x->name ? x->name : "", y->name ? y->name : "");
        if (c)
            return c;
        if (x->row.type != y->row.type)
            return x->row.type < y->row.type ? -1 : 1;
        return x->row.is_array - y->row.is_array;
    }
    return x->row.size < y->row.size ? -1 : x->row.size > y->row.size;
}

static uint64_t mix(uint64_t x)
{
    x *= 0x9E3779B97F4A7C15ull;
    return x ^ (x >> 31);
}

/* Unknown blocks by size: an open-addressing table that doubles. */
static int sized_add(struct sized **tab, uint64_t *cap, uint64_t *used, uint64_t size)
{
    if ((*used + 1) * 2 > *cap) {
        uint64_t ncap = *cap ? *cap * 2 : 1024;
        struct sized *nt = calloc(ncap, sizeof *nt);
        if (!nt)
            return -1;
        for (uint64_t i = 0; i < *cap; i++) {
            if (!(*tab)[i].count)
                continue;
            uint64_t j = mix((*tab)[i].size) & (ncap - 1);
            while (nt[j].count)
                j = (j + 1) & (ncap - 1);
            nt[j] = (*tab)[i];
        }
        free(*tab);
        *tab = nt;
        *cap = ncap;
    }
    uint64_t j = mix(size) & (*cap - 1);
    while ((*tab)[j].count && (*tab)[j].size != size)
        j = (j + 1) & (*cap - 1);
    if (!(*tab)[j].count) {
        (*tab)[j].size = size;
        (*used)++;
    }
    (*tab)[j].count++;
    return 0;
}

struct retain_error *heap_types_histogram(struct heap_types *ht, struct retain_session *s,
                                          struct heap_type_row **rows_ret, uint32_t *nrows_ret)
{
    *rows_ret = NULL;
    *nrows_ret = 0;
    const struct block_table *t = &s->blocks;
    uint64_t *typed = calloc(2 * (size_t)ht->nrefs + 1, 2 * sizeof *typed);   /* count, bytes per view */
    struct sized *unknown = NULL;
    uint64_t ucap = 0, uused = 0;
    struct named_row *rows = NULL;
    if (!typed)
        goto oom;
    for (uint32_t id = 0; id < ht->n && id < t->n; id++) {
        if (!((t->inuse_bits[id >> 6] >> (id & 63)) & 1))
            continue;
        if (ht->type_of[id] == HT_UNKNOWN) {
            if (sized_add(&unknown, &ucap, &uused, t->blocks[id].size) != 0)
                goto oom;
            continue;
        }
        uint64_t *v = &typed[2 * (2 * (size_t)ht->type_of[id] + (ht->is_array[id] & F_ARRAY))];
        v[0]++;
        v[1] += t->blocks[id].size;
    }
    rows = malloc((2 * (size_t)ht->nrefs + uused + 1) * sizeof *rows);
    if (!rows)
        goto oom;
    uint32_t n = 0;
    for (uint32_t view = 0; view < 2 * ht->nrefs; view++) {
        if (!typed[2 * view])
            continue;
        rows[n].row = (struct heap_type_row){ view / 2, (uint8_t)(view & 1), 0, typed[2 * view], typed[2 * view + 1] };
        rows[n++].name = heap_types_ref_name(ht, s, view / 2, view & 1);
    }
    for (uint64_t i = 0; i < ucap; i++) {
        if (!unknown[i].count)
            continue;
        rows[n].row = (struct heap_type_row){ HT_UNKNOWN, 0, unknown[i].size, unknown[i].count,
                                              unknown[i].count * unknown[i].size };
        rows[n++].name = NULL;
    }
    qsort(rows, n, sizeof *rows, row_cmp);
    struct heap_type_row *out = malloc((n + 1) * sizeof *out);
    if (!out)
        goto oom;
    for (uint32_t i = 0; i < n; i++)
        out[i] = rows[i].row;
    free(rows);
    free(unknown);
    free(typed);
    *rows_ret = out;
    *nrows_ret = n;
    return NULL;
oom:
    free(rows);
    free(unknown);
    free(typed);
    return retain_errorf("out of memory for the type histogram");
}
