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
    d->precise = g.var != NULL;
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
 * points at a 4 KiB buffer names a char[], not a char. */
static void set_type(struct retain_session *s, struct hop_desc *h, struct type_ref t)
{
    h->tref = t;
    h->type = naming_type_name(&s->naming, t);
    uint64_t size = naming_type_size(&s->naming, t);
    h->array = size && h->interior == 0 && h->size >= 2 * size;
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

/* The declared type of what `prev` points at, applied to the word at
 * `offset` from where the pointer points: names the field, returns its pointee. */
static struct type_ref name_word(struct retain_session *s, struct type_ref prev, int64_t offset,
                                 char *field, size_t len)
{
    if (offset < 0) {
        snprintf(field, len, "-0x%" PRIx64, (uint64_t)-offset);
        return NO_TYPE;
    }
    return naming_field(&s->naming, prev, (uint64_t)offset, field, len);
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
    struct type_ref declared = name_word(s, root->tref, (int64_t)root->offset, h->field, sizeof h->field);
    if (root->tref.obj == OBJ_NONE)
        h->field[0] = '\0';     /* an untyped root word: nothing to name */
    struct type_ref cur = naming_block_type(&s->naming, s->mem, h->addr, h->interior == 0 ? declared : NO_TYPE);
    if (h->interior != 0)
        cur = declared;         /* the declared type describes the pointed-to spot */
    set_type(s, h, cur);
    /* A list repeats one (type, offset) hop after hop: name it once. */
    struct type_ref memo_type = NO_TYPE, memo_declared = NO_TYPE;
    int64_t memo_off = -1;
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
        if (i > 1 && rel == memo_off && cur.obj == memo_type.obj && cur.type == memo_type.type) {
            memcpy(h->field, prev->field, sizeof h->field);
            declared = memo_declared;
        } else {
            declared = name_word(s, cur, rel, h->field, sizeof h->field);
            if (cur.obj == OBJ_NONE)
                snprintf(h->field, sizeof h->field, "+0x%" PRIx64, (uint64_t)(off >= 0 ? off : 0));
            memo_type = cur;
            memo_declared = declared;
            memo_off = rel;
        }
        cur = naming_block_type(&s->naming, s->mem, h->addr, h->interior == 0 ? declared : NO_TYPE);
        if (h->interior != 0)
            cur = declared;
        set_type(s, h, cur);
    }
}

/* A block's type as its shortest chain from the roots declares it. */
static struct type_ref type_by_path(struct retain_session *s, uint32_t id)
{
    struct root_judge judge = { .s = s };
    struct path_query q = { .target = id, .want = 1, .kinds = ROOT_KINDS_ALL,
                            .judge = describe_root_judge, .judge_ctx = &judge };
    struct query_path *paths;
    uint32_t npaths;
    int truncated;
    struct type_ref t = NO_TYPE;
    struct retain_error *err = query_paths(&s->graph, &s->roots, &q, &paths, &npaths, &truncated);
    if (err) {
        retain_error_destroy(err);
        return t;
    }
    struct hop_desc *hops = npaths ? malloc((size_t)paths[0].nblocks * sizeof *hops) : NULL;
    if (hops) {
        struct root_desc root;
        describe_path(s, &paths[0], &root, hops);
        t = hops[paths[0].nblocks - 1].tref;
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
    struct type_ref t = naming_block_type(&s->naming, s->mem, src, NO_TYPE);
    if (t.obj == OBJ_NONE && infer_type)
        t = type_by_path(s, from);
    set_type(s, h, t);   /* h->interior is still 0 here: the type is the referrer's own */
    h->interior = (int64_t)(ptr - s->blocks.blocks[to].addr);
    name_word(s, t, off, h->field, sizeof h->field);
}

void describe_field(struct retain_session *s, uint32_t from, uint32_t to, struct type_ref from_type,
                    int from_array, char *buf, size_t buflen)
{
    int64_t off = query_edge_offset(s->mem, &s->blocks, from, to);
    if (off < 0) {
        snprintf(buf, buflen, "?");
        return;
    }
    uint64_t size = naming_type_size(&s->naming, from_type);
    if (!from_array || size == 0) {
        name_word(s, from_type, off, buf, buflen);
        return;
    }
    /* element i of the array, then the field inside it */
    int n = snprintf(buf, buflen, "[%llu]", (unsigned long long)((uint64_t)off / size));
    if (n > 0 && (size_t)n < buflen)
        name_word(s, from_type, (int64_t)((uint64_t)off % size), buf + n, buflen - (size_t)n);
}
