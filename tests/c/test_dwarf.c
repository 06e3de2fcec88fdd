/* Tests for dwarf.c and elfsym.c against dwarf_sample.cc, the C library
 * and broken files.
 *
 * Usage: test_dwarf DWARF_SAMPLE
 *   where DWARF_SAMPLE is tests/c/dwarf_sample.cc built with
 *   g++ -g -O0 [-no-pie]. Addresses come from the sample's own symbol table,
 *   so PIE and non-PIE builds both work (tables are loaded with bias 0, or
 *   both with the same bias). */
#include "check.h"
#include "dwarf.h"
#include "elfsym.h"

#include <gnu/libc-version.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define LIBC "/usr/lib/x86_64-linux-gnu/libc.so.6"
#define LIBSTDCXX "/usr/lib/x86_64-linux-gnu/libstdc++.so.6"

static uint64_t sym(const struct elf_symbols *syms, const char *name)
{
    uint64_t addr = 0;
    CHECK(elf_symbols_find(syms, name, &addr, NULL) == 0);
    return addr;
}

static int streq(const char *a, const char *b)
{
    return a && b && strcmp(a, b) == 0;
}

/* The global at addr: checks its name and type spelling, returns its type. */
static uint32_t check_global(const struct dwarf_types *t, uint64_t addr, const char *name, const char *type)
{
    const char *n = NULL;
    uint32_t ty = DWARF_TYPE_NONE;
    uint64_t off = 99;
    CHECK(dwarf_global_at(t, addr, &n, &ty, &off) == 0);
    CHECK(streq(n, name));
    CHECK(off == 0);
    CHECK(streq(dwarf_type_name(t, ty), type));
    if (!streq(n, name) || !streq(dwarf_type_name(t, ty), type))
        fprintf(stderr, "  global at %#" PRIx64 ": got %s (%s), want %s (%s)\n", addr, n ? n : "(none)",
                dwarf_type_name(t, ty), name, type);
    return ty;
}

/* dwarf_field_at(type, off): checks the path and the word's spelling. */
static void check_field(const struct dwarf_types *t, uint32_t type, uint64_t off, const char *path,
                        const char *word, const char *pointee)
{
    char buf[256];
    uint32_t w = DWARF_TYPE_NONE, p = DWARF_TYPE_NONE;
    int rc = dwarf_field_at(t, type, off, buf, sizeof buf, &w, &p);
    CHECK(rc == 0);
    int ok = rc == 0 && streq(buf, path) && streq(dwarf_type_name(t, w), word) &&
             streq(dwarf_type_name(t, p), pointee);
    CHECK(ok);
    if (!ok)
        fprintf(stderr, "  %s + %" PRIu64 ": got '%s' (%s -> %s), want '%s' (%s -> %s)\n",
                dwarf_type_name(t, type), off, buf, dwarf_type_name(t, w), dwarf_type_name(t, p), path, word,
                pointee);
}

static void test_sample_symbols(const char *path)
{
    struct elf_symbols *syms = NULL;
    struct retain_error *err = elf_symbols_load(path, 0, &syms);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        return;
    }
    CHECK(elf_symbols_count(syms) > 10);
    uint64_t off = 99;
    uint64_t table = sym(syms, "g_table");
    CHECK(streq(elf_symbols_lookup(syms, table + 30, &off), "g_table") && off == 30);
    uint64_t items = sym(syms, "_ZL7s_items");
    CHECK(streq(elf_symbols_lookup(syms, items + 5, &off), "_ZL7s_items") && off == 5);
    uint64_t main_addr = sym(syms, "main");
    CHECK(streq(elf_symbols_lookup(syms, main_addr + 3, &off), "main") && off == 3);
    CHECK(elf_symbols_lookup(syms, 1, &off) == NULL);

    char cls[128];
    uint64_t vt = sym(syms, "_ZTVN2ns7DerivedE");
    CHECK(elf_symbols_vtable_class(syms, vt + 16, cls, sizeof cls) == 0 && streq(cls, "ns::Derived"));
    if (elf_symbols_find(syms, "_ZTVN2ns4BaseE", &vt, NULL) == 0)   /* -O2 drops it */
        CHECK(elf_symbols_vtable_class(syms, vt + 16, cls, sizeof cls) == 0 && streq(cls, "ns::Base"));
    CHECK(elf_symbols_vtable_class(syms, table, cls, sizeof cls) == -1);
    CHECK(elf_symbols_vtable_class(syms, vt + 16, cls, 4) == -1);   /* does not fit */

    uint64_t bias = 1;
    CHECK(elf_load_bias(path, 0x400000, 0, &bias) == 0);
    (void)bias;   /* 0 for -no-pie; for PIE it is the mapping's start */
    elf_symbols_destroy(syms);

    /* Loaded at a bias, every address moves with it. */
    err = elf_symbols_load(path, 0x10000, &syms);
    CHECK(err == NULL);
    if (!err) {
        CHECK(streq(elf_symbols_lookup(syms, table + 0x10000 + 8, &off), "g_table") && off == 8);
        elf_symbols_destroy(syms);
    }
    retain_error_destroy(err);
}

static void test_sample_globals(const struct dwarf_types *t, const struct elf_symbols *syms)
{
    uint32_t ty = check_global(t, sym(syms, "g_head"), "g_head", "node *");
    check_field(t, ty, 0, "", "node *", "node");

    uint64_t table = sym(syms, "g_table");
    ty = check_global(t, table, "g_table", "table");
    check_field(t, ty, 8 + 3 * 8, ".buckets[3]", "entry *", "entry");
    check_field(t, ty, 8 + 64 * 8 + (1 * 3 + 2) * 8, ".lists[1][2]", "node *", "node");
    const char *n = NULL;
    uint64_t off = 0;
    CHECK(dwarf_global_at(t, table + 8 + 3 * 8 + 4, &n, &ty, &off) == 0 && streq(n, "g_table") && off == 36);
    CHECK(dwarf_global_at(t, table + dwarf_type_size(t, ty), &n, &ty, &off) != 0 || !streq(n, "g_table"));

    ty = check_global(t, sym(syms, "g_ref"), "g_ref", "node_ref");
    CHECK(dwarf_type_kind(t, ty) == DK_TYPEDEF);
    CHECK(dwarf_type_kind(t, dwarf_type_strip(t, ty)) == DK_POINTER);
    check_field(t, ty, 0, "", "node_ref", "node");

    ty = check_global(t, sym(syms, "g_cell"), "g_cell", "cell");
    CHECK(dwarf_type_kind(t, ty) == DK_UNION);
    check_field(t, ty, 0, ".text", "char *", "char");   /* the first pointer member */

    uint64_t items = sym(syms, "_ZL7s_items");
    ty = check_global(t, items, "s_items", "item [3]");
    CHECK(dwarf_type_size(t, ty) == 3 * 32);
    check_field(t, ty, 2 * 32 + 24, "[2].owner", "node *", "node");
    check_field(t, ty, 1 * 32 + 16, "[1].label", "const char *", "char");
    CHECK(dwarf_global_at(t, items + 2 * 32 + 24, &n, &ty, &off) == 0 && off == 88);

    ty = check_global(t, sym(syms, "g_opaque"), "g_opaque", "opaque *");
    check_field(t, ty, 0, "", "opaque *", "opaque");
    check_global(t, sym(syms, "g_names"), "g_names", "const char *[4]");
    check_global(t, sym(syms, "_ZN2ns6g_baseE"), "ns::g_base", "ns::Base *");
    check_global(t, sym(syms, "_ZN2ns7Derived6s_lastE"), "ns::Derived::s_last", "ns::Derived *");
    check_global(t, sym(syms, "_ZZL11cached_nodevE7s_cache"), "cached_node::s_cache", "node *");

    ty = check_global(t, sym(syms, "g_derived"), "g_derived", "ns::Derived");
    CHECK(dwarf_type_kind(t, ty) == DK_CLASS);
    CHECK(dwarf_type_size(t, ty) == 24);
    check_field(t, ty, 8, ".ns::Base.base_node", "node *", "node");
    check_field(t, ty, 16, ".buffer", "char *", "char");
    char buf[128];
    uint32_t w, p;
    CHECK(dwarf_field_at(t, ty, 0, buf, sizeof buf, &w, &p) == 0 && strncmp(buf, ".ns::Base._vptr", 15) == 0);
    CHECK(dwarf_field_at(t, ty, 24, buf, sizeof buf, &w, &p) == -1);
    CHECK(dwarf_field_at(t, ty, 8, buf, 6, &w, &p) == 0 && strlen(buf) == 5);   /* truncated, terminated */
}

static void test_sample_types(const struct dwarf_types *t)
{
    uint32_t node = dwarf_type_by_name(t, "node");
    CHECK(node != DWARF_TYPE_NONE);
    CHECK(dwarf_type_by_name(t, "struct node") == node);
    CHECK(dwarf_type_kind(t, node) == DK_STRUCT);
    CHECK(dwarf_type_size(t, node) == 24);
    CHECK(streq(dwarf_type_name(t, node), "node"));
    check_field(t, node, 8, ".next", "node *", "node");
    check_field(t, node, 16, ".payload", "char *", "char");
    char buf[64];
    uint32_t w = 0, p = 0;
    CHECK(dwarf_field_at(t, node, 4, buf, sizeof buf, &w, &p) == 0 && w == DWARF_TYPE_NONE);   /* padding */
    CHECK(dwarf_field_at(t, node, 24, buf, sizeof buf, &w, &p) == -1);
    CHECK(dwarf_field_at(t, DWARF_TYPE_NONE, 0, buf, sizeof buf, &w, &p) == -1);

    uint32_t ptr = dwarf_type_by_name(t, "node *");
    CHECK(ptr != DWARF_TYPE_NONE && dwarf_type_kind(t, ptr) == DK_POINTER);
    CHECK(dwarf_type_by_name(t, "struct node*") == ptr);
    CHECK(dwarf_type_by_name(t, "node*") == ptr);
    CHECK(dwarf_type_by_name(t, "const char*") == dwarf_type_by_name(t, "const char *"));
    CHECK(dwarf_type_by_name(t, "const char *") != DWARF_TYPE_NONE);

    uint32_t derived = dwarf_type_by_name(t, "ns::Derived");
    CHECK(derived != DWARF_TYPE_NONE && dwarf_type_kind(t, derived) == DK_CLASS);
    CHECK(dwarf_type_by_name(t, "class ns::Derived") == derived);
    CHECK(dwarf_type_by_name(t, "ns::Base") != DWARF_TYPE_NONE);
    CHECK(dwarf_type_by_name(t, "Derived") == DWARF_TYPE_NONE);
    CHECK(dwarf_type_by_name(t, "no_such_type") == DWARF_TYPE_NONE);

    uint32_t table = dwarf_type_by_name(t, "table");
    CHECK(table != DWARF_TYPE_NONE && dwarf_type_size(t, table) == 8 + 64 * 8 + 6 * 8);
    uint32_t arr = dwarf_type_by_name(t, "entry *[64]");
    CHECK(arr != DWARF_TYPE_NONE && dwarf_type_kind(t, arr) == DK_ARRAY && dwarf_type_size(t, arr) == 512);
    check_field(t, arr, 2 * 8, "[2]", "entry *", "entry");
    CHECK(dwarf_type_by_name(t, "node *[2][3]") != DWARF_TYPE_NONE);
    CHECK(dwarf_type_size(t, dwarf_type_by_name(t, "char [16]")) == 16);

    /* Bitfields are not words; anonymous unions add no path component; a
     * flexible array reaches past the end of its struct. */
    uint32_t packet = dwarf_type_by_name(t, "packet");
    CHECK(packet != DWARF_TYPE_NONE && dwarf_type_size(t, packet) == 16);
    CHECK(dwarf_field_at(t, packet, 0, buf, sizeof buf, &w, &p) == 0 && w == DWARF_TYPE_NONE);
    check_field(t, packet, 8, ".first", "node *", "node");
    check_field(t, packet, 16 + 5 * 8, ".refs[5]", "node *", "node");

    /* The nest of a word: table.lists[1][2], outermost first. */
    struct dwarf_field f;
    CHECK(dwarf_field_info(t, table, 8 + 64 * 8 + (1 * 3 + 2) * 8, buf, sizeof buf, &f) == 0);
    CHECK(streq(buf, ".lists[1][2]") && f.nnest == 4);
    CHECK(f.nnest == 4 && f.nest[0].type == table && f.nest[0].path_len == 0 && f.nest[0].offset == 0);
    CHECK(f.nnest == 4 && f.nest[1].path_len == 6 && f.nest[1].offset == 8 + 64 * 8 && f.nest[1].index == -1);
    CHECK(f.nnest == 4 && f.nest[2].path_len == 9 && f.nest[2].index == 1 && f.nest[2].offset == 8 + 64 * 8 + 24);
    CHECK(f.nnest == 4 && f.nest[3].path_len == 12 && f.nest[3].index == 2);
    CHECK(streq(dwarf_type_name(t, f.word), "node *") && streq(dwarf_type_name(t, f.pointee), "node"));
    CHECK(dwarf_field_info(t, node, 24, buf, sizeof buf, &f) == -1 && f.nnest == 0);
    /* padding: the path stops at the object, the nest too */
    CHECK(dwarf_field_info(t, node, 4, buf, sizeof buf, &f) == 0 && f.word == DWARF_TYPE_NONE && f.nnest == 1);

    uint64_t moff = 0;
    uint32_t mtype = DWARF_TYPE_NONE;
    CHECK(dwarf_member(t, node, "next", &moff, &mtype) == 0 && moff == 8 && streq(dwarf_type_name(t, mtype), "node *"));
    CHECK(dwarf_member(t, dwarf_type_by_name(t, "node_ref"), "next", NULL, NULL) == -1);   /* not a struct */
    CHECK(dwarf_member(t, node, "no_such_member", NULL, NULL) == -1);
    CHECK(dwarf_member(t, DWARF_TYPE_NONE, "next", NULL, NULL) == -1);
    CHECK(dwarf_type_strip(t, dwarf_type_target(t, ptr)) == node);
    CHECK(dwarf_type_target(t, arr) == dwarf_type_by_name(t, "entry *"));
    CHECK(dwarf_type_target(t, node) == DWARF_TYPE_NONE);

    /* C and C++ are not Go: no Go kinds, no runtime types */
    CHECK(!dwarf_type_is_go(t, node) && dwarf_go_kind(t, node) == GO_KIND_NONE);
    CHECK(dwarf_go_elem(t, arr) == DWARF_TYPE_NONE && dwarf_go_key(t, arr) == DWARF_TYPE_NONE);
    CHECK(dwarf_go_runtime_types(t) == 0 && dwarf_go_runtime_offset(t, node) == 0);
    CHECK(dwarf_go_type_by_runtime(t, 0x1000) == DWARF_TYPE_NONE);

    CHECK(dwarf_type_kind(t, DWARF_TYPE_NONE) == DK_OTHER);
    CHECK(dwarf_type_size(t, DWARF_TYPE_NONE) == 0);
    CHECK(streq(dwarf_type_name(t, DWARF_TYPE_NONE), "void"));
    CHECK(dwarf_type_strip(t, DWARF_TYPE_NONE) == DWARF_TYPE_NONE);
}

static void test_sample(const char *path)
{
    struct elf_symbols *syms = NULL;
    struct dwarf_types *t = NULL;
    struct retain_error *err = elf_symbols_load(path, 0, &syms);
    if (!err)
        err = dwarf_types_load(path, 0, &t);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        elf_symbols_destroy(syms);
        return;
    }
    CHECK(dwarf_types_has_info(t));
    CHECK(dwarf_types_count(t) > 20);
    test_sample_globals(t, syms);
    test_sample_types(t);
    dwarf_types_destroy(t);

    /* With a bias, globals move and types do not. */
    err = dwarf_types_load(path, 0x10000, &t);
    CHECK(err == NULL);
    if (!err) {
        const char *n = NULL;
        CHECK(dwarf_global_at(t, sym(syms, "g_head") + 0x10000, &n, NULL, NULL) == 0 && streq(n, "g_head"));
        dwarf_types_destroy(t);
    }
    retain_error_destroy(err);
    elf_symbols_destroy(syms);
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Every mapping of libc in this process gives the same bias, and that bias
 * puts a libc function where it really is. Reads the mappings before
 * elf_symbols_load adds its own mapping of the file. */
static void test_libc_bias(void)
{
    FILE *maps = fopen("/proc/self/maps", "r");
    CHECK(maps != NULL);
    if (!maps)
        return;
    char line[512], file[256];
    unsigned long long start, end, offset;
    uint64_t first = 0;
    int seen = 0;
    while (fgets(line, sizeof line, maps)) {
        if (sscanf(line, "%llx-%llx %*s %llx %*s %*s %255s", &start, &end, &offset, file) != 4 ||
            !strstr(file, "libc.so.6"))
            continue;
        uint64_t bias = 0;
        CHECK(elf_load_bias(file, start, offset, &bias) == 0);
        if (!seen++)
            first = bias;
        CHECK(bias == first);
    }
    fclose(maps);
    CHECK(seen >= 2);

    struct elf_symbols *syms = NULL;
    struct retain_error *err = elf_symbols_load(LIBC, 0, &syms);
    CHECK(err == NULL);
    uint64_t fn = 0;
    CHECK(elf_symbols_find(syms, "gnu_get_libc_version", &fn, NULL) == 0);
    CHECK(fn + first == (uint64_t)(uintptr_t)&gnu_get_libc_version);
    retain_error_destroy(err);
    elf_symbols_destroy(syms);
}

/* The vtable symbol's class, demangled: nested names, std:: and its
 * abbreviations; templates are not demangled. Skipped without libstdc++. */
static void check_vtable(const struct elf_symbols *syms, const char *symbol, const char *cls)
{
    uint64_t addr = 0;
    char buf[128];
    if (elf_symbols_find(syms, symbol, &addr, NULL) != 0)
        return;
    int rc = elf_symbols_vtable_class(syms, addr + 16, buf, sizeof buf);
    CHECK(cls ? rc == 0 && streq(buf, cls) : rc == -1);
    if (cls && !(rc == 0 && streq(buf, cls)))
        fprintf(stderr, "  %s: got '%s', want '%s'\n", symbol, rc == 0 ? buf : "(none)", cls);
}

static void test_vtable_names(void)
{
    struct elf_symbols *syms = NULL;
    struct retain_error *err = elf_symbols_load(LIBSTDCXX, 0, &syms);
    if (err) {
        retain_error_destroy(err);
        return;
    }
    uint64_t addr;
    CHECK(elf_symbols_find(syms, "_ZTVSt9exception", &addr, NULL) == 0);
    check_vtable(syms, "_ZTVSt9exception", "std::exception");
    check_vtable(syms, "_ZTVSt13runtime_error", "std::runtime_error");
    check_vtable(syms, "_ZTVSo", "std::ostream");
    check_vtable(syms, "_ZTVNSt13__future_base11_State_baseE", "std::__future_base::_State_base");
    check_vtable(syms, "_ZTVN10__cxxabiv117__class_type_infoE", "__cxxabiv1::__class_type_info");
    check_vtable(syms, "_ZTVN9__gnu_cxx18stdio_sync_filebufIcSt11char_traitsIcEEE", NULL);
    elf_symbols_destroy(syms);
}

/* libc's DWARF lives in a separate file found by build-id (libc6-dbg). */
static void test_libc_dwarf(void)
{
    char debug[4096];
    int has_debug = elf_debug_file(LIBC, debug, sizeof debug) == 0;
    double t0 = now();
    struct dwarf_types *t = NULL;
    struct retain_error *err = dwarf_types_load(LIBC, 0, &t);
    double secs = now() - t0;
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        return;
    }
    CHECK(dwarf_types_has_info(t) == has_debug);
    printf("libc: debug file %s, %zu types, %.3f s, %.1f MiB\n", has_debug ? debug : "(none)",
           dwarf_types_count(t), secs, (double)dwarf_types_memory(t) / (1 << 20));
    if (has_debug) {
        uint32_t ms = dwarf_type_by_name(t, "struct malloc_state");
        CHECK(ms != DWARF_TYPE_NONE);
        CHECK(dwarf_type_by_name(t, "malloc_state") == ms);
        CHECK(streq(dwarf_type_name(t, ms), "struct malloc_state"));
        int found_top = 0;
        char buf[128];
        uint32_t w, p;
        for (uint64_t off = 0; off < dwarf_type_size(t, ms); off += 8)
            if (dwarf_field_at(t, ms, off, buf, sizeof buf, &w, &p) == 0 && streq(buf, ".top"))
                found_top = streq(dwarf_type_name(t, p), "struct malloc_chunk");
        CHECK(found_top);

        /* main_arena is static: only the debug file's .symtab has it. */
        struct elf_symbols *syms = NULL;
        err = elf_symbols_load(debug, 0, &syms);
        CHECK(err == NULL);
        uint64_t arena = 0;
        if (!err && elf_symbols_find(syms, "main_arena", &arena, NULL) == 0) {
            uint32_t ty = check_global(t, arena, "main_arena", "struct malloc_state");
            CHECK(ty == ms || dwarf_type_size(t, ty) == dwarf_type_size(t, ms));
        } else {
            CHECK(!"main_arena in the debug file's symbols");
        }
        retain_error_destroy(err);
        elf_symbols_destroy(syms);
    }
    dwarf_types_destroy(t);
}

/* A file without DWARF is an empty table; a missing one an error. */
static void test_without_dwarf(void)
{
    char debug[4096];
    int has_debug = elf_debug_file("/bin/true", debug, sizeof debug) == 0;   /* coreutils-dbgsym */
    struct dwarf_types *t = NULL;
    struct retain_error *err = dwarf_types_load("/bin/true", 0, &t);
    CHECK(err == NULL);
    if (!err) {
        CHECK(dwarf_types_has_info(t) == has_debug);
        if (!has_debug) {
            CHECK(dwarf_types_count(t) == 0);
            CHECK(dwarf_global_at(t, 0x1000, NULL, NULL, NULL) == -1);
            CHECK(dwarf_type_by_name(t, "int") == DWARF_TYPE_NONE);
        }
        dwarf_types_destroy(t);
    }
    retain_error_destroy(err);

    err = dwarf_types_load("/nonexistent/file", 0, &t);
    CHECK(err != NULL && strstr(err->msg, "/nonexistent/file"));
    retain_error_destroy(err);
    struct elf_symbols *syms = NULL;
    err = elf_symbols_load("/nonexistent/file", 0, &syms);
    CHECK(err != NULL);
    retain_error_destroy(err);
    uint64_t bias;
    CHECK(elf_load_bias("/nonexistent/file", 0, 0, &bias) == -1);
    CHECK(elf_debug_file("/nonexistent/file", debug, sizeof debug) == -1);
}

/* Loads a broken file through both parsers: an error or an empty table is
 * fine, anything else is not. */
static void load_broken(const char *path)
{
    struct dwarf_types *t = NULL;
    struct retain_error *err = dwarf_types_load(path, 0, &t);
    CHECK(err != NULL || t != NULL);
    if (err)
        CHECK(strstr(err->msg, path) != NULL);
    retain_error_destroy(err);
    dwarf_types_destroy(t);
    struct elf_symbols *syms = NULL;
    err = elf_symbols_load(path, 0, &syms);
    if (!err) {
        uint64_t off;
        char buf[64];
        elf_symbols_lookup(syms, 0x401000, &off);
        elf_symbols_vtable_class(syms, 0x403d90, buf, sizeof buf);
    }
    retain_error_destroy(err);
    elf_symbols_destroy(syms);
    uint64_t bias;
    elf_load_bias(path, 0x400000, 0x1000, &bias);
}

static int write_file(const char *path, const unsigned char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    int ok = fwrite(data, 1, n, f) == n;
    return fclose(f) == 0 && ok ? 0 : -1;
}

static unsigned char *read_file(const char *path, size_t *n_ret)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    unsigned char *data = n > 0 ? malloc((size_t)n) : NULL;
    if (data && fread(data, 1, (size_t)n, f) != (size_t)n) {
        free(data);
        data = NULL;
    }
    fclose(f);
    *n_ret = (size_t)n;
    return data;
}

static void test_broken_files(const char *sample)
{
    char path[] = "/tmp/test_dwarf_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    close(fd);
    srand(12345);
    unsigned char noise[8192];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (unsigned char)rand();
    CHECK(write_file(path, noise, sizeof noise) == 0);
    struct dwarf_types *t = NULL;
    struct retain_error *err = dwarf_types_load(path, 0, &t);
    CHECK(err != NULL && strstr(err->msg, path));   /* not an ELF file */
    retain_error_destroy(err);
    load_broken(path);

    size_t n = 0;
    unsigned char *image = read_file(sample, &n);
    CHECK(image != NULL);
    for (int round = 0; image && round < 60; round++) {
        unsigned char *copy = malloc(n);
        memcpy(copy, image, n);
        size_t len = n;
        if (round % 3 == 0) {
            len = (size_t)rand() % n;        /* truncated */
        } else {
            for (int k = 0; k < 1 + round % 20; k++)   /* bytes flipped anywhere past the ELF header */
                copy[64 + (size_t)rand() % (n - 64)] ^= (unsigned char)(1 + rand() % 255);
        }
        CHECK(write_file(path, copy, len) == 0);
        load_broken(path);
        free(copy);
    }
    free(image);
    unlink(path);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DWARF_SAMPLE (tests/c/dwarf_sample.cc built with g++ -g -O0)\n", argv[0]);
        return 2;
    }
    test_sample_symbols(argv[1]);
    test_sample(argv[1]);
    test_libc_bias();
    test_vtable_names();
    test_libc_dwarf();
    test_without_dwarf();
    test_broken_files(argv[1]);
    return CHECK_DONE();
}
