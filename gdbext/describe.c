/* Names for roots and hops. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "describe.h"

static const struct type_ref NO_TYPE = { OBJ_NONE, DWARF_TYPE_NONE };

static void describe_global(struct retain_session *s, struct root_desc *d)
{
    struct global_name g;
    naming_global(&s->naming, d->slot, &g);
    d->name = g.var ? g.var : g.symbol;
    d->offset = g.offset;
    d->tref = g.type;
    d->type = naming_type_name(&s->naming, g.type);
    d->precise = d->precise || g.var != NULL;
}

/* A named variable (stack local or thread-local) that covers the slot. */
static void describe_var(struct retain_session *s, struct root_desc *d)
{
    const struct root_var *v = root_set_var_at(&s->roots, d->thread, d->slot);
    if (!v)
        return;
    d->name = v->name;
    d->offset = d->slot - v->addr;
    d->type = v->type;
    d->precise = 1;
    if (v->type)
        d->tref = naming_type_by_name(&s->naming, v->type);
}

void describe_root(struct retain_session *s, const struct root_edge *e, struct root_desc *d)
{
    memset(d, 0, sizeof *d);
    d->tref = NO_TYPE;
    if (e->root & ROOT_EDGE_VALUE) {
        const struct root_value *v = &s->roots.values[e->root & ~ROOT_EDGE_VALUE];
        d->kind = (enum root_kind)v->kind;
        d->thread = v->thread;
        d->label = v->label;
        d->pointer = v->value;
        d->name = v->var;
        d->type = v->type;
        d->precise = v->var != NULL;
        if (v->type)
            d->tref = naming_type_by_name(&s->naming, v->type);
        return;
    }
    const struct root_range *r = &s->roots.ranges[e->root];
    d->kind = (enum root_kind)r->kind;
    d->precise = r->mask != NULL;   /* a Go GC mask says this word is a live pointer */
    d->has_slot = 1;
    d->slot = e->slot;
    d->thread = r->thread;
    d->label = r->label;
    if (memory_read_u64(s->mem, e->slot, &d->pointer) != 0)
        d->pointer = 0;
    switch (d->kind) {
    case ROOT_GLOBAL:
        describe_global(s, d);
        break;
    case ROOT_STACK:
    case ROOT_GOROUTINE:   /* frames and variables are keyed by goroutine id there */
        d->frame = root_set_frame_at(&s->roots, d->thread, d->slot);
        describe_var(s, d);
        break;
    case ROOT_TLS:
        describe_var(s, d);
        break;
    default:
        break;
    }
}

/* Sets h's type, and whether the block is an array of it: a `char *` that
 * points at a 4 KiB buffer names a char[], not a char. Go blocks are named
 * by their Go type or label instead ("[]uint8 backing array"). */
static void set_type(struct retain_session *s, struct hop_desc *h, const struct naming_target *t)
{
    h->target = *t;
    h->tref = t->type;
    h->type = naming_target_name(&s->naming, t);
    uint64_t size = naming_type_size(&s->naming, t->type);
    h->array = size && h->interior == 0 && h->size >= 2 * size && !t->label && !t->elems &&
               !naming_is_go(&s->naming, t->type);
}

int describe_root_judge(void *ctx, const struct root_edge *e)
{
    const struct root_judge *j = ctx;
    struct root_desc d;
    describe_root(j->s, e, &d);
    const char *name = d.name ? d.name : d.label;
    if ((j->root && !filter_match(j->root, name)) || (j->exclude && name && filter_match(j->exclude, name)))
        return -1;
    return d.precise ? 0 : 1;
}

/* Fills the parts of h that depend only on the block and the pointer to it. */
static void fill_target(struct retain_session *s, uint32_t id, uint64_t pointer, struct hop_desc *h)
{
    h->addr = s->blocks.blocks[id].addr;
    h->size = s->blocks.blocks[id].size;
    h->pointer = pointer;
    h->interior = (int64_t)(pointer - h->addr);
}

/* What is known of the object at `base` (where the previous pointer
 * points), applied to the word at `offset` from there: names the field,
 * returns what that word points at. target: the hop the word leads to
 * (its block's size helps name Go interfaces), NULL if not known. */
static struct naming_target name_word(struct retain_session *s, const struct naming_target *obj, uint64_t base,
                                      int64_t offset, const struct hop_desc *target, char *field, size_t len)
{
    struct naming_target t;
    uint64_t target_size = target && target->interior == 0 ? target->size : 0;
    naming_word(&s->naming, s->mem, obj, base, offset, target_size, field, len, &t);
    return t;
}

/* The type of the block a pointer reaches: where it points at the block's
 * start, the block's own (C++ vtable) type may say more; elsewhere the
 * declared type describes the pointed-to spot. */
static struct naming_target block_target(struct retain_session *s, const struct hop_desc *h,
                                         const struct naming_target *declared)
{
    if (h->interior != 0)
        return *declared;
    return naming_block_target(&s->naming, s->mem, h->addr, declared);
}

static int same_target(const struct naming_target *a, const struct naming_target *b)
{
    return a->type.obj == b->type.obj && a->type.type == b->type.type && a->elems == b->elems &&
           a->label == b->label;
}

void describe_path(struct retain_session *s, const struct query_path *p, struct root_desc *root,
                   struct hop_desc *hops)
{
    describe_root(s, &s->graph.redges[p->redge], root);
    /* hop 0: the root word itself */
    struct hop_desc *h = &hops[0];
    memset(h, 0, sizeof *h);
    fill_target(s, p->blocks[0], root->pointer, h);
    h->has_slot = root->has_slot;
    h->slot = root->slot;
    h->offset = (int64_t)root->offset;
    struct naming_target root_obj = { root->tref, 0, NULL, 0, NULL };
    uint64_t root_base = root->has_slot ? root->slot - root->offset : 0;   /* the variable's start */
    struct naming_target declared = name_word(s, &root_obj, root_base, (int64_t)root->offset, h, h->field,
                                              sizeof h->field);
    if (root->tref.obj == OBJ_NONE)
        h->field[0] = '\0';     /* an untyped root word: nothing to name */
    h->via = declared.via;
    struct naming_target cur = block_target(s, h, &declared);
    set_type(s, h, &cur);
    /* A list repeats one (type, offset) hop after hop: name it once, unless
     * the name was read from memory (a Go interface's dynamic type). */
    struct naming_target memo_obj = NAMING_TARGET_NONE, memo_declared = NAMING_TARGET_NONE;
    int64_t memo_off = -1;
    int memo_valid = 0;
    for (uint32_t i = 1; i < p->nblocks; i++) {
        struct hop_desc *prev = &hops[i - 1];
        h = &hops[i];
        memset(h, 0, sizeof *h);
        int64_t off = query_edge_offset(s->mem, &s->blocks, p->blocks[i - 1], p->blocks[i]);
        uint64_t ptr = 0;
        if (off >= 0)
            memory_read_u64(s->mem, prev->addr + (uint64_t)off, &ptr);
        fill_target(s, p->blocks[i], ptr, h);
        h->has_slot = off >= 0;
        h->slot = prev->addr + (uint64_t)(off >= 0 ? off : 0);
        h->offset = off;
        /* cur describes the object where the previous pointer pointed. */
        int64_t rel = off - prev->interior;
        if (memo_valid && rel == memo_off && same_target(&cur, &memo_obj)) {
            memcpy(h->field, prev->field, sizeof h->field);
            declared = memo_declared;
        } else {
            declared = name_word(s, &cur, prev->pointer, rel, h, h->field, sizeof h->field);
            if (cur.type.obj == OBJ_NONE)
                snprintf(h->field, sizeof h->field, "+0x%" PRIx64, (uint64_t)(off >= 0 ? off : 0));
            memo_obj = cur;
            memo_declared = declared;
            memo_off = rel;
            memo_valid = !declared.dynamic;
        }
        h->via = declared.via;
        cur = block_target(s, h, &declared);
        set_type(s, h, &cur);
    }
}

/* A block's type as its shortest chain from the roots declares it; it
 * describes the block from *spot_ret bytes on (where that chain points). */
static struct naming_target target_by_path(struct retain_session *s, uint32_t id, int64_t *spot_ret)
{
    struct root_judge judge = { .s = s };
    struct path_query q = { .target = id, .want = 1, .kinds = ROOT_KINDS_ALL,
                            .judge = describe_root_judge, .judge_ctx = &judge };
    struct query_path *paths;
    uint32_t npaths;
    int truncated;
    struct naming_target t = NAMING_TARGET_NONE;
    *spot_ret = 0;
    struct retain_error *err = query_paths(&s->graph, &s->roots, &q, &paths, &npaths, &truncated);
    if (err) {
        retain_error_destroy(err);
        return t;
    }
    struct hop_desc *hops = npaths ? malloc((size_t)paths[0].nblocks * sizeof *hops) : NULL;
    if (hops) {
        struct root_desc root;
        describe_path(s, &paths[0], &root, hops);
        t = hops[paths[0].nblocks - 1].target;
        *spot_ret = hops[paths[0].nblocks - 1].interior;
        free(hops);
    }
    query_paths_free(paths, npaths);
    return t;
}

void describe_edge(struct retain_session *s, uint32_t from, uint32_t to, int infer_type, struct hop_desc *h)
{
    memset(h, 0, sizeof *h);
    uint64_t src = s->blocks.blocks[from].addr;
    int64_t off = query_edge_offset(s->mem, &s->blocks, from, to);
    uint64_t ptr = 0;
    if (off >= 0)
        memory_read_u64(s->mem, src + (uint64_t)off, &ptr);
    /* Describe the referrer (from) in h, with the word that points at `to`. */
    h->addr = src;
    h->size = s->blocks.blocks[from].size;
    h->has_slot = off >= 0;
    h->slot = src + (uint64_t)(off >= 0 ? off : 0);
    h->offset = off;
    h->pointer = ptr;
    struct naming_target none = NAMING_TARGET_NONE, t = naming_block_target(&s->naming, s->mem, src, &none);
    int64_t spot = 0;   /* where in the block t applies */
    if (t.type.obj == OBJ_NONE && !t.label && infer_type)
        t = target_by_path(s, from, &spot);
    set_type(s, h, &t);   /* h->interior is still 0 here: the type is the referrer's own */
    h->interior = (int64_t)(ptr - s->blocks.blocks[to].addr);
    struct hop_desc target = { .size = s->blocks.blocks[to].size, .interior = h->interior };
    h->via = name_word(s, &t, src + (uint64_t)spot, off - spot, &target, h->field, sizeof h->field).via;
}

void describe_field(struct retain_session *s, uint32_t from, uint32_t to, struct type_ref from_type,
                    int from_array, char *buf, size_t buflen)
{
    int64_t off = query_edge_offset(s->mem, &s->blocks, from, to);
    if (off < 0) {
        snprintf(buf, buflen, "?");
        return;
    }
    struct naming_target obj = { from_type, from_array, NULL, 0, NULL };
    uint64_t ptr = 0;
    memory_read_u64(s->mem, s->blocks.blocks[from].addr + (uint64_t)off, &ptr);
    struct hop_desc target = { .size = s->blocks.blocks[to].size, .interior = (int64_t)(ptr - s->blocks.blocks[to].addr) };
    name_word(s, &obj, s->blocks.blocks[from].addr, off, &target, buf, buflen);
}
