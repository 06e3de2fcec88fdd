/* Tests for the Go side of dwarf.c and naming.c against go_sample.go.
 *
 * Usage: test_go_naming GO_SAMPLE
 *   where GO_SAMPLE is tests/c/go_sample.go built with `go build` (Go 1.19:
 *   a static, non-PIE ELF whose .debug_* sections are zlib-compressed).
 *
 * The DWARF part reads the file only. The naming part builds objects on a
 * synthetic heap (a fake memory source at 0xc000000000, as Go's first
 * arena) and reads the sample's writable segments from the file, as their
 * initial values; its read-only segments are left out, as gcore leaves
 * them out of a core, so that naming.c must read itabs and string
 * literals from the file itself. */
#include "check.h"
#include "dwarf.h"
#include "elfsym.h"
#include "mapfile.h"
#include "memory.h"
#include "naming.h"

#include <elf.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define HEAP 0xc000000000ull
#define HEAP_SIZE 0x10000

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* ---- the sample file ---- */

struct sample {
    const char *path;
    struct elf_symbols *syms;
    const uint8_t *image;
    size_t size;
};

static uint64_t sym(const struct sample *s, const char *name)
{
    uint64_t addr = 0;
    CHECK(elf_symbols_find(s->syms, name, &addr, NULL) == 0);
    return addr;
}

/* The file's bytes at a virtual address, from a PT_LOAD of the wanted
 * writability; bss reads as zeros. 0 if none covers [addr, addr + len). */
static size_t file_read(const struct sample *s, uint64_t addr, void *buf, size_t len, int writable)
{
    Elf64_Ehdr eh;
    memcpy(&eh, s->image, sizeof eh);
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, s->image + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_W) != !writable || addr < ph.p_vaddr ||
            addr + len > ph.p_vaddr + ph.p_memsz)
            continue;
        uint64_t off = addr - ph.p_vaddr;
        memset(buf, 0, len);
        if (off < ph.p_filesz)
            memcpy(buf, s->image + ph.p_offset + off, off + len <= ph.p_filesz ? len : ph.p_filesz - off);
        return len;
    }
    return 0;
}

/* ---- a synthetic Go heap ---- */

struct fake {
    const struct sample *s;
    uint8_t heap[HEAP_SIZE];
    uint64_t next;
};

static size_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct fake *f = ctx;
    if (addr >= HEAP && addr - HEAP <= HEAP_SIZE && len <= HEAP_SIZE - (addr - HEAP)) {
        memcpy(buf, f->heap + (addr - HEAP), len);
        return len;
    }
    return file_read(f->s, addr, buf, len, 1);
}

static uint64_t alloc(struct fake *f, size_t n)
{
    uint64_t a = HEAP + f->next;
    f->next += (n + 15) & ~(size_t)15;
    return a;
}

static void put(struct fake *f, uint64_t addr, uint64_t v)
{
    memcpy(f->heap + (addr - HEAP), &v, sizeof v);
}

static uint64_t go_string(struct fake *f, const char *s)
{
    uint64_t a = alloc(f, strlen(s));
    memcpy(f->heap + (a - HEAP), s, strlen(s));
    return a;
}

/* ---- DWARF ---- */

static uint32_t type_named(const struct dwarf_types *t, const char *name)
{
    uint32_t ty = dwarf_type_by_name(t, name);
    CHECK(ty != DWARF_TYPE_NONE);
    if (ty == DWARF_TYPE_NONE)
        fprintf(stderr, "  no type '%s'\n", name);
    return ty;
}

static void test_types(const struct dwarf_types *t)
{
    CHECK(dwarf_types_has_info(t));
    CHECK(dwarf_go_runtime_types(t) > 100);

    uint32_t vc = type_named(t, "context.valueCtx");
    CHECK(dwarf_type_is_go(t, vc));
    CHECK(dwarf_type_size(t, vc) == 48);
    CHECK(dwarf_go_kind(t, vc) == GO_KIND_STRUCT);
    uint32_t pvc = type_named(t, "*context.valueCtx");
    CHECK(dwarf_go_kind(t, pvc) == GO_KIND_PTR);
    CHECK(dwarf_type_strip(t, dwarf_type_target(t, pvc)) == dwarf_type_strip(t, vc));
    CHECK(dwarf_go_kind(t, type_named(t, "context.Context")) == GO_KIND_INTERFACE);
    CHECK(dwarf_go_kind(t, type_named(t, "interface {}")) == GO_KIND_INTERFACE);

    uint32_t bytes = type_named(t, "[]uint8");
    CHECK(dwarf_go_kind(t, bytes) == GO_KIND_SLICE);
    CHECK(streq(dwarf_type_name(t, dwarf_go_elem(t, bytes)), "uint8"));
    uint32_t map = type_named(t, "map[string]string");
    CHECK(dwarf_go_kind(t, map) == GO_KIND_MAP);
    CHECK(streq(dwarf_type_name(t, dwarf_go_key(t, map)), "string"));
    CHECK(streq(dwarf_type_name(t, dwarf_go_elem(t, map)), "string"));
    uint32_t arr = type_named(t, "[4]uint8");     /* Go's own spelling, not "uint8 [4]" */
    CHECK(dwarf_type_kind(t, arr) == DK_ARRAY && dwarf_type_size(t, arr) == 4);
    CHECK(dwarf_go_kind(t, type_named(t, "chan *main.span")) == GO_KIND_CHAN);
    CHECK(dwarf_go_kind(t, type_named(t, "func() int")) == GO_KIND_FUNC);

    uint64_t off = 0;
    uint32_t mt = DWARF_TYPE_NONE;
    CHECK(dwarf_member(t, vc, "val", &off, &mt) == 0 && off == 32);
    CHECK(dwarf_go_kind(t, mt) == GO_KIND_INTERFACE);
    CHECK(dwarf_member(t, vc, "nope", &off, NULL) == -1);
    CHECK(dwarf_member(t, bytes, "cap", &off, NULL) == 0 && off == 16);

    /* The nest of a word: main.span.logs.array */
    uint32_t span = type_named(t, "main.span");
    struct dwarf_field f;
    char path[128];
    CHECK(dwarf_field_info(t, span, 24, path, sizeof path, &f) == 0);
    CHECK(streq(path, ".logs.array"));
    CHECK(f.nnest == 3);
    CHECK(f.nnest == 3 && f.nest[0].path_len == 0 && f.nest[1].path_len == 5 && f.nest[2].path_len == 11);
    CHECK(f.nnest == 3 && f.nest[1].offset == 24 && f.nest[2].offset == 24);
    CHECK(f.nnest == 3 && dwarf_go_kind(t, f.nest[1].type) == GO_KIND_SLICE);
    CHECK(streq(dwarf_type_name(t, f.pointee), "[]uint8"));
    /* array elements carry their index */
    uint32_t bucket = type_named(t, "bucket<string,string>");
    CHECK(dwarf_field_info(t, bucket, 8 + 8 * 16 + 5 * 16, path, sizeof path, &f) == 0);
    CHECK(streq(path, ".values[5].str"));
    CHECK(f.nnest == 4 && f.nest[2].index == 5 && f.nest[1].index == -1);
    CHECK(dwarf_field_info(t, span, 48, path, sizeof path, &f) == -1 && f.nnest == 0);
}

/* The runtime type index agrees with the binary: the itab the linker made
 * for (*context.valueCtx, context.Context) names *context.valueCtx. */
static void test_runtime_index(const struct dwarf_types *t, const struct sample *s)
{
    uint64_t types = sym(s, "runtime.types");
    uint64_t itab = sym(s, "go.itab.*context.valueCtx,context.Context"), off = 0, rtype = 0;
    CHECK(dwarf_member(t, dwarf_type_by_name(t, "runtime.itab"), "_type", &off, NULL) == 0);
    CHECK(file_read(s, itab + off, &rtype, sizeof rtype, 0) == sizeof rtype);
    CHECK(rtype > types);
    uint32_t ty = dwarf_go_type_by_runtime(t, rtype - types);
    CHECK(streq(dwarf_type_name(t, ty), "*context.valueCtx"));
    CHECK(dwarf_go_runtime_offset(t, type_named(t, "*context.valueCtx")) == rtype - types);
    CHECK(dwarf_go_type_by_runtime(t, 0) == DWARF_TYPE_NONE);
    CHECK(dwarf_go_type_by_runtime(t, UINT64_MAX) == DWARF_TYPE_NONE);
}

/* ---- naming ---- */

struct env {
    struct naming nm;
    struct memory *mem;
    struct fake *f;
    const struct sample *s;
};

static struct naming_target target_of(struct env *e, const char *type, int elems)
{
    struct naming_target t = NAMING_TARGET_NONE;
    t.type = naming_type_by_name(&e->nm, type);
    t.elems = elems;
    CHECK(t.type.obj != OBJ_NONE);
    return t;
}

/* naming_word(obj, base, off): checks the field, the target's name and
 * via, and returns the target. */
static struct naming_target check_word(struct env *e, const struct naming_target *obj, uint64_t base, int64_t off,
                                       uint64_t target_size, const char *field, const char *name, const char *via)
{
    char buf[160];
    struct naming_target t;
    naming_word(&e->nm, e->mem, obj, base, off, target_size, buf, sizeof buf, &t);
    const char *got = naming_target_name(&e->nm, &t);
    int ok = streq(buf, field) && (name ? streq(got, name) : got == NULL) && (via ? streq(t.via, via) : !t.via);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s + %" PRId64 ": got '%s' -> %s (via %s), want '%s' -> %s (via %s)\n",
                naming_target_name(&e->nm, obj), off, buf, got ? got : "?", t.via ? t.via : "-", field,
                name ? name : "?", via ? via : "-");
    return t;
}

/* gctx (context.Context) -> valueCtx -> .Context -> valueCtx -> .val -> *main.span -> .logs -> [3] */
static void test_interfaces(struct env *e)
{
    struct fake *f = e->f;
    struct naming_target ctx = target_of(e, "context.Context", 0);   /* loads the DWARF */
    uint64_t types = sym(e->s, "runtime.types");
    uint64_t itab = sym(e->s, "go.itab.*context.valueCtx,context.Context");
    const struct dwarf_types *dt = e->nm.objs[ctx.type.obj].types;
    uint64_t span_rtype = types + dwarf_go_runtime_offset(dt, dwarf_type_by_name(dt, "*main.span"));
    uint64_t root = alloc(f, 16), vc1 = alloc(f, 48), vc2 = alloc(f, 48), span = alloc(f, 48);
    uint64_t logs = alloc(f, 5 * 24), buf = alloc(f, 1024), name = go_string(f, "first");
    put(f, root, itab);
    put(f, root + 8, vc1);
    put(f, vc1, itab);
    put(f, vc1 + 8, vc2);
    put(f, vc2 + 32, span_rtype);
    put(f, vc2 + 40, span);
    put(f, span, name);
    put(f, span + 8, 5);
    put(f, span + 24, logs);
    put(f, span + 32, 5);
    put(f, span + 40, 5);
    put(f, logs + 3 * 24, buf);

    struct naming_target t = check_word(e, &ctx, root, 8, 48, "", "context.valueCtx", "interface: *context.valueCtx");
    CHECK(t.dynamic);
    t = check_word(e, &t, vc1, 8, 48, ".Context", "context.valueCtx", "interface: *context.valueCtx");
    struct naming_target sp = check_word(e, &t, vc2, 40, 48, ".val", "main.span", "interface: *main.span");
    t = check_word(e, &sp, span, 24, 0, ".logs", "[][]uint8 backing array", NULL);
    CHECK(t.elems);
    t = check_word(e, &t, logs, 3 * 24, 1024, "[3]", "[]uint8 backing array", NULL);
    CHECK(t.elems);
    check_word(e, &sp, span, 0, 0, ".name", "string bytes", NULL);
    check_word(e, &sp, span, 16, 0, ".id", NULL, NULL);     /* an int: no target */
    check_word(e, &sp, span, 50, 0, "+0x32", NULL, NULL);   /* no word there */
    check_word(e, &sp, span, -8, 0, "-0x8", NULL, NULL);
    /* a pointer past one main.span names an element of an array of them */
    check_word(e, &sp, span, 48 + 24, 0, "[1].logs", "[][]uint8 backing array", NULL);
    /* without memory (base 0) the interface stays unresolved */
    check_word(e, &ctx, 0, 8, 0, "", NULL, "interface");

    /* A lost type word (an optimized frame keeps only the data word): the
     * one context.Context implementation allocated in 48-byte blocks. */
    uint64_t lost = alloc(f, 16);
    put(f, lost, 0x1234);        /* stale: not an itab of context.Context */
    put(f, lost + 8, vc1);
    check_word(e, &ctx, lost, 8, 48, "", "context.valueCtx", "interface: *context.valueCtx, by size");
    check_word(e, &ctx, lost, 8, 0, "", NULL, "interface");                   /* no block size */
    check_word(e, &ctx, lost, 8, 4096, "", NULL, "interface");                /* nothing that big */

    /* interface {} holding a *main.span */
    uint64_t any = alloc(f, 16);
    put(f, any, span_rtype);
    put(f, any + 8, span);
    struct naming_target eface = target_of(e, "interface {}", 0);
    check_word(e, &eface, any, 8, 48, "", "main.span", "interface: *main.span");
}

/* map[string]string: the header, its buckets, a value and a key by name. */
static void test_maps(struct env *e)
{
    struct fake *f = e->f;
    uint64_t hash = alloc(f, 48), buckets = alloc(f, 2 * 272), k7 = go_string(f, "k7"), v7 = go_string(f, "v7");
    put(f, hash + 16, buckets);
    uint64_t b1 = buckets + 272;
    f->heap[b1 - HEAP + 5] = 0x80;               /* tophash[5]: in use */
    put(f, b1 + 8 + 5 * 16, k7);
    put(f, b1 + 8 + 5 * 16 + 8, 2);
    put(f, b1 + 8 + 8 * 16 + 5 * 16, v7);
    put(f, b1 + 8 + 8 * 16 + 5 * 16 + 8, 2);

    struct naming_target map = target_of(e, "map[string]string", 0);
    uint64_t var = alloc(f, 8);
    put(f, var, hash);
    struct naming_target h = check_word(e, &map, var, 0, 0, "", "map[string]string", NULL);
    struct naming_target b = check_word(e, &h, hash, 16, 0, ".buckets", "map[string]string buckets", NULL);
    CHECK(b.elems);
    check_word(e, &b, buckets, 272 + 8 + 8 * 16 + 5 * 16, 0, "[\"k7\"]", "string bytes", NULL);
    check_word(e, &b, buckets, 272 + 8 + 5 * 16, 0, "[key \"k7\"]", "string bytes", NULL);
    /* an empty slot: named by its place */
    check_word(e, &b, buckets, 8 + 8 * 16 + 2 * 16, 0, "[0].values[2]", "string bytes", NULL);

    /* map[int]*main.span: integer keys; the value's target is a main.span */
    uint64_t ib = alloc(f, 144), sp = alloc(f, 48);
    f->heap[ib - HEAP + 1] = 0x90;
    put(f, ib + 8 + 1 * 8, 7);
    put(f, ib + 8 + 8 * 8 + 1 * 8, sp);
    struct naming_target ibt = target_of(e, "bucket<int,*main.span>", 1);
    check_word(e, &ibt, ib, 8 + 8 * 8 + 8, 48, "[7]", "main.span", NULL);
}

/* A channel's buffer, a closure, a sync.Map entry. */
static void test_others(struct env *e)
{
    struct fake *f = e->f;
    struct naming_target hchan = target_of(e, "hchan<*main.span>", 0);
    CHECK(streq(naming_target_name(&e->nm, &hchan), "chan *main.span"));
    uint64_t c = alloc(f, 96), cbuf = alloc(f, 32);
    put(f, c + 16, cbuf);
    struct naming_target b = check_word(e, &hchan, c, 16, 0, ".buf", "chan *main.span buffer", NULL);
    CHECK(b.elems);
    check_word(e, &b, cbuf, 16, 48, "[2]", "main.span", NULL);

    uint64_t var = alloc(f, 8), fv = alloc(f, 32);
    put(f, var, fv);
    put(f, fv, sym(e->s, "main.main.func1"));
    struct naming_target fn = target_of(e, "func() int", 0);
    struct naming_target cl = check_word(e, &fn, var, 0, 32, "", "closure main.main.func1", NULL);
    CHECK(cl.type.obj == OBJ_NONE && cl.dynamic);

    struct naming_target entry = target_of(e, "sync.entry", 0);
    check_word(e, &entry, alloc(f, 8), 0, 16, ".p", "interface {}", NULL);
}

/* Random heap words (pointers into the heap, into the binary, small
 * numbers, garbage) under every type at many offsets: whatever naming
 * reads, it must name something and stay in its buffers. */
static void test_random_memory(struct env *e)
{
    struct fake *f = e->f;
    uint64_t text = sym(e->s, "main.main"), types = sym(e->s, "runtime.types");
    srand(4242);
    for (size_t i = 0; i + 8 <= HEAP_SIZE; i += 8) {
        uint64_t r = (uint64_t)rand() << 31 ^ (uint64_t)rand(), v;
        switch (r % 6) {
        case 0: v = HEAP + (r >> 8) % HEAP_SIZE; break;
        case 1: v = types + (r >> 8) % 0x40000; break;
        case 2: v = text + (r >> 8) % 0x1000; break;
        case 3: v = (r >> 8) % 300; break;
        case 4: v = 0; break;
        default: v = r * 0x9e3779b97f4a7c15ull; break;
        }
        put(f, HEAP + i, v);
    }
    uint32_t obj = naming_type_by_name(&e->nm, "main.span").obj;
    size_t n = dwarf_types_count(e->nm.objs[obj].types), named = 0;
    for (uint32_t ty = 0; ty < n; ty++) {
        struct naming_target o = { { obj, ty }, (int)(ty & 1), NULL, 0, NULL }, t;
        for (int64_t off = -8; off < 96; off += 8) {
            char buf[48];
            uint64_t base = HEAP + ((uint64_t)rand() % (HEAP_SIZE / 8)) * 8;
            naming_word(&e->nm, e->mem, &o, base, off, ty % 3 ? 48 : 0, buf, sizeof buf, &t);
            named += strlen(buf) < sizeof buf;
            const char *name = naming_target_name(&e->nm, &t);
            named += name ? strlen(name) > 0 : 1;
        }
    }
    CHECK(named == 2 * n * 13);
}

static void test_naming(const struct sample *s)
{
    struct env e;
    memset(&e, 0, sizeof e);
    e.s = s;
    e.f = calloc(1, sizeof *e.f);
    e.f->s = s;
    /* the sample mapped where it was linked, as one file mapping */
    struct mapping m = { .start = 0x400000, .end = 0x600000, .offset = 0, .prot = MAP_PROT_R | MAP_PROT_X,
                         .path = (char *)s->path };
    struct retain_error *err = memory_open_callback(fake_read, e.f, &m, 1, &e.mem);
    CHECK(err == NULL);
    naming_init(&e.nm);
    if (!err)
        err = naming_add_mappings(&e.nm, &m, 1);
    CHECK(err == NULL);
    CHECK(e.nm.n == 1);
    if (!err && e.nm.n == 1) {
        test_interfaces(&e);
        test_maps(&e);
        test_others(&e);
        test_random_memory(&e);
        /* C types name as before: no Go rules for a type without F_GO */
        CHECK(!naming_is_go(&e.nm, (struct type_ref){ OBJ_NONE, DWARF_TYPE_NONE }));
    }
    retain_error_destroy(err);
    naming_deinit(&e.nm);
    memory_destroy(e.mem);
    free(e.f);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s GO_SAMPLE (tests/c/go_sample.go built with go build)\n", argv[0]);
        return 2;
    }
    char path[4096];
    if (!realpath(argv[1], path)) {   /* naming wants absolute paths, as in /proc/PID/maps */
        perror(argv[1]);
        return 2;
    }
    struct sample s = { .path = path };
    void *map = NULL;
    struct retain_error *err = map_file_readonly(s.path, sizeof(Elf64_Ehdr), "an ELF file", &map, &s.size);
    if (!err)
        err = elf_symbols_load(s.path, 0, &s.syms);
    struct dwarf_types *t = NULL;
    if (!err)
        err = dwarf_types_load(s.path, 0, &t);   /* compressed .debug_* sections */
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        return CHECK_DONE();
    }
    s.image = map;
    test_types(t);
    test_runtime_index(t, &s);
    test_naming(&s);
    dwarf_types_destroy(t);
    elf_symbols_destroy(s.syms);
    munmap(map, s.size);
    return CHECK_DONE();
}
