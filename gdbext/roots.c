/* Root ranges, values and the names that go with them. */
#include <stdlib.h>
#include <string.h>
#include "roots.h"

static const char *const kind_names[ROOT_NKINDS] = {
    "global", "stack", "register", "tls", "mapping", "goroutine", "finalizer",
};

const char *root_kind_name(enum root_kind kind)
{
    return (unsigned)kind < ROOT_NKINDS ? kind_names[kind] : "?";
}

uint32_t root_kind_rank(enum root_kind kind)
{
    switch (kind) {
    case ROOT_GLOBAL: return 0;
    case ROOT_TLS: return 1;
    case ROOT_STACK: case ROOT_GOROUTINE: return 2;
    case ROOT_REGISTER: case ROOT_FINALIZER: return 3;
    default: return 4;
    }
}

int root_kind_parse(const char *name)
{
    for (int i = 0; i < ROOT_NKINDS; i++)
        if (strcmp(name, kind_names[i]) == 0)
            return i;
    return -1;
}

void root_set_init(struct root_set *rs)
{
    memset(rs, 0, sizeof *rs);
}

void root_set_deinit(struct root_set *rs)
{
    if (!rs)
        return;
    for (uint32_t i = 0; i < rs->nranges; i++) {
        free(rs->ranges[i].label);
        free(rs->ranges[i].mask);
    }
    for (uint32_t i = 0; i < rs->nvalues; i++) {
        free(rs->values[i].label);
        free(rs->values[i].var);
        free(rs->values[i].type);
    }
    for (uint32_t i = 0; i < rs->nframes; i++) {
        free(rs->frames[i].function);
        free(rs->frames[i].file);
    }
    for (uint32_t i = 0; i < rs->nvars; i++) {
        free(rs->vars[i].name);
        free(rs->vars[i].type);
    }
    free(rs->ranges);
    free(rs->values);
    free(rs->frames);
    free(rs->vars);
    free(rs->excluded);
    memset(rs, 0, sizeof *rs);
}

/* Grows an array of elements of size elt so that one more fits. */
static int grow(void **arr, uint32_t n, uint32_t *cap, size_t elt)
{
    if (n < *cap)
        return 0;
    uint32_t ncap = *cap ? *cap * 2 : 16;
    void *p = realloc(*arr, (size_t)ncap * elt);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

#define GROW(rs, arr, n, cap) grow((void **)&(rs)->arr, (rs)->n, &(rs)->cap, sizeof *(rs)->arr)

struct retain_error *root_set_add_range(struct root_set *rs, enum root_kind kind, uint64_t start,
                                        uint64_t end, uint32_t thread, const char *label)
{
    if (end <= start)
        return NULL;
    if (GROW(rs, ranges, nranges, capranges))
        return retain_errorf("out of memory for roots");
    struct root_range *r = &rs->ranges[rs->nranges++];
    r->start = start & ~(uint64_t)7;
    r->end = end;
    r->kind = kind;
    r->thread = thread;
    r->label = dup_or_null(label);
    r->mask = NULL;
    return NULL;
}

struct retain_error *root_set_add_masked_range(struct root_set *rs, enum root_kind kind, uint64_t start,
                                               uint64_t end, uint32_t thread, const char *label,
                                               const uint8_t *mask, size_t mask_bytes)
{
    if (end <= start)
        return NULL;
    if (start & 7)
        return retain_errorf("a masked root range must start word-aligned (0x%llx)", (unsigned long long)start);
    uint64_t nwords = (end - start) / 8;
    if (mask_bytes * 8 < nwords)   /* a short mask: the words it does not cover are not pointers */
        end = start + mask_bytes * 64;
    uint8_t *copy = malloc(mask_bytes ? mask_bytes : 1);
    if (!copy)
        return retain_errorf("out of memory for roots");
    memcpy(copy, mask, mask_bytes);
    struct retain_error *err = root_set_add_range(rs, kind, start, end, thread, label);
    if (err) {
        free(copy);
        return err;
    }
    rs->ranges[rs->nranges - 1].mask = copy;
    return NULL;
}

struct retain_error *root_set_add_value(struct root_set *rs, enum root_kind kind, uint64_t value,
                                        uint32_t thread, const char *label, const char *var,
                                        const char *type)
{
    if (GROW(rs, values, nvalues, capvalues))
        return retain_errorf("out of memory for roots");
    struct root_value *v = &rs->values[rs->nvalues++];
    v->value = value;
    v->kind = kind;
    v->thread = thread;
    v->label = dup_or_null(label);
    v->var = dup_or_null(var);
    v->type = dup_or_null(type);
    return NULL;
}

struct retain_error *root_set_add_frame(struct root_set *rs, uint32_t thread, uint32_t level,
                                        uint64_t lo, uint64_t hi, const char *function,
                                        const char *file, uint32_t line)
{
    if (GROW(rs, frames, nframes, capframes))
        return retain_errorf("out of memory for frames");
    struct root_frame *f = &rs->frames[rs->nframes++];
    f->lo = lo;
    f->hi = hi;
    f->thread = thread;
    f->level = level;
    f->line = line;
    f->function = dup_or_null(function);
    f->file = dup_or_null(file);
    return NULL;
}

struct retain_error *root_set_add_var(struct root_set *rs, enum root_kind kind, uint64_t addr,
                                      uint64_t size, uint32_t thread, uint32_t frame,
                                      const char *name, const char *type)
{
    if (GROW(rs, vars, nvars, capvars))
        return retain_errorf("out of memory for variables");
    struct root_var *v = &rs->vars[rs->nvars++];
    v->addr = addr;
    v->size = size ? size : 1;
    v->thread = thread;
    v->frame = frame;
    v->kind = kind;
    v->name = dup_or_null(name);
    v->type = dup_or_null(type);
    rs->vars_sorted = 0;
    return NULL;
}

struct retain_error *root_set_exclude(struct root_set *rs, uint64_t start, uint64_t end)
{
    if (end <= start)
        return NULL;
    if (GROW(rs, excluded, nexcluded, capexcluded))
        return retain_errorf("out of memory for roots");
    rs->excluded[rs->nexcluded].start = start;
    rs->excluded[rs->nexcluded].end = end;
    rs->nexcluded++;
    return NULL;
}

/* Ranges that are already taken (roots, heap, excluded), to subtract. */
struct span { uint64_t start, end; };

static int cmp_span(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    return (x->start > y->start) - (x->start < y->start);
}

static struct span *taken_spans(const struct root_set *rs, const uint64_t (*heap)[2],
                                size_t nheap, size_t *n_ret)
{
    size_t n = rs->nranges + rs->nexcluded + nheap, k = 0;
    struct span *s = malloc((n ? n : 1) * sizeof *s);
    if (!s)
        return NULL;
    for (uint32_t i = 0; i < rs->nranges; i++)
        s[k++] = (struct span){ rs->ranges[i].start, rs->ranges[i].end };
    for (uint32_t i = 0; i < rs->nexcluded; i++)
        s[k++] = (struct span){ rs->excluded[i].start, rs->excluded[i].end };
    for (size_t i = 0; i < nheap; i++)
        s[k++] = (struct span){ heap[i][0], heap[i][1] };
    qsort(s, k, sizeof *s, cmp_span);
    *n_ret = k;
    return s;
}

/* Adds [start, end) minus the sorted taken spans. */
static struct retain_error *add_uncovered(struct root_set *rs, enum root_kind kind,
                                          uint64_t start, uint64_t end, const char *label,
                                          const struct span *taken, size_t ntaken)
{
    uint64_t cur = start;
    for (size_t i = 0; i < ntaken && cur < end; i++) {
        if (taken[i].end <= cur || taken[i].start >= end)
            continue;
        if (taken[i].start > cur) {
            struct retain_error *err = root_set_add_range(rs, kind, cur, taken[i].start, 0, label);
            if (err)
                return err;
        }
        if (taken[i].end > cur)
            cur = taken[i].end;
    }
    return cur < end ? root_set_add_range(rs, kind, cur, end, 0, label) : NULL;
}

static int is_file_path(const char *path)
{
    return path && path[0] == '/';
}

/* Kernel-provided mappings hold no program pointers. */
static int is_special(const char *path)
{
    return path && (strcmp(path, "[vvar]") == 0 || strcmp(path, "[vdso]") == 0 ||
                    strcmp(path, "[vsyscall]") == 0 || strcmp(path, "[vvar_vclock]") == 0);
}

struct retain_error *root_set_add_mappings(struct root_set *rs, const struct mapping *maps,
                                           size_t nmaps, const uint64_t (*heap)[2], size_t nheap)
{
    size_t ntaken;
    struct span *taken = taken_spans(rs, heap, nheap, &ntaken);
    if (!taken)
        return retain_errorf("out of memory for roots");
    struct retain_error *err = NULL;
    const char *last_file = NULL;
    uint64_t last_file_end = 0;
    for (size_t i = 0; i < nmaps && !err; i++) {
        const struct mapping *m = &maps[i];
        if (is_file_path(m->path)) {
            last_file = m->path;
            last_file_end = m->end;
        }
        if (!(m->prot & MAP_PROT_W) || is_special(m->path))
            continue;
        /* bss: the anonymous mapping that directly follows an object's data. */
        int bss = !m->path && last_file && m->start == last_file_end;
        if (is_file_path(m->path))
            err = add_uncovered(rs, ROOT_GLOBAL, m->start, m->end, m->path, taken, ntaken);
        else if (bss)
            err = add_uncovered(rs, ROOT_GLOBAL, m->start, m->end, last_file, taken, ntaken);
        else
            err = add_uncovered(rs, ROOT_MAPPING, m->start, m->end, m->path, taken, ntaken);
    }
    free(taken);
    return err;
}

const struct root_frame *root_set_frame_at(const struct root_set *rs, uint32_t thread, uint64_t addr)
{
    for (uint32_t i = 0; i < rs->nframes; i++) {
        const struct root_frame *f = &rs->frames[i];
        if (f->thread == thread && f->lo <= addr && addr < f->hi)
            return f;
    }
    return NULL;
}

const struct root_var *root_set_var_at(struct root_set *rs, uint32_t thread, uint64_t addr)
{
    /* Variables are few (locals of the frames gdb sees): a linear scan is enough. */
    const struct root_var *best = NULL;
    for (uint32_t i = 0; i < rs->nvars; i++) {
        const struct root_var *v = &rs->vars[i];
        if ((thread == 0 || v->thread == 0 || v->thread == thread) &&
            v->addr <= addr && addr < v->addr + v->size &&
            (!best || v->size < best->size))
            best = v;
    }
    return best;
}
