/* Fuzz target: the DWARF type reader (dwarf.c, through libdwarf) and the
 * ELF symbol reader (elfsym.c) on one ELF file.
 *
 * The input is an ELF file (the seeds are small programs and objects built
 * with -g). It is written to a file (see fuzz_common.h: the engine's mmap
 * of it becomes an exactly sized, ASan-checked copy), then
 *   1. dwarf_types_load, and every query on every type (up to a cap):
 *      kind, size, name, strip, by name, the field at a few offsets, the
 *      pointer layout;
 *   2. elf_symbols_load, lookups and vtable names at the addresses of the
 *      file's own symbols (read from .symtab / .dynsym) and near them,
 *      dwarf_global_at at the same addresses;
 *   3. elf_load_bias, elf_debug_file, elf_file_open / elf_file_section,
 *      whose sections must lie inside the file. */
#include <elf.h>
#include <string.h>

#include "dwarf.h"
#include "elfsym.h"
#include "fuzz_common.h"

#define MAX_TYPES 4096
#define MAX_PROBES 1024
#define BIAS 0x1000ull           /* a load bias, as for a PIE: addresses move by it */

static uint64_t probes[MAX_PROBES];
static size_t nprobes;

static void add_probe(uint64_t a)
{
    if (nprobes < MAX_PROBES)
        probes[nprobes++] = a;
}

/* Symbol addresses (and their neighbours) read from the symbol table. */
static void collect_probes(const struct elf_file *file)
{
    static const char *const tables[] = { ".symtab", ".dynsym" };
    nprobes = 0;
    for (size_t k = 0; k < 2; k++) {
        struct elf_section sec;
        if (elf_file_section(file, tables[k], &sec) != 0)
            continue;
        for (uint64_t off = 0; off + sizeof(Elf64_Sym) <= sec.size; off += sizeof(Elf64_Sym)) {
            Elf64_Sym s;
            memcpy(&s, sec.data + off, sizeof s);
            add_probe(s.st_value + BIAS);
            add_probe(s.st_value + BIAS + (s.st_size ? s.st_size - 1 : 1));
            add_probe(s.st_value + BIAS + s.st_size);
        }
    }
    add_probe(0);
    add_probe(UINT64_MAX);
}

/* The pointer layout of type i: sorted, one field per offset, valid types. */
static void check_layout(struct dwarf_types *t, uint32_t i, size_t n)
{
    struct dwarf_layout lay;
    if (dwarf_type_layout(t, i, &lay) != 0)
        return;
    FUZZ_ASSERT(lay.nfields == 0 || lay.fields != NULL);
    for (uint32_t k = 0; k < lay.nfields; k++) {
        FUZZ_ASSERT(lay.fields[k].pointee == DWARF_TYPE_NONE || lay.fields[k].pointee < n);
        if (k)
            FUZZ_ASSERT(lay.fields[k - 1].offset < lay.fields[k].offset);
    }
    FUZZ_ASSERT(lay.tail_elem == DWARF_TYPE_NONE || lay.tail_elem < n);
}

static void exercise_types(struct dwarf_types *t)
{
    size_t n = dwarf_types_count(t);
    FUZZ_ASSERT(n == 0 || dwarf_types_has_info(t));
    (void)dwarf_types_memory(t);
    char buf[256];
    for (uint32_t i = 0; i < n && i < MAX_TYPES; i++) {
        enum dwarf_kind kind = dwarf_type_kind(t, i);
        FUZZ_ASSERT(kind <= DK_OTHER);
        uint64_t size = dwarf_type_size(t, i);
        const char *name = dwarf_type_name(t, i);
        FUZZ_ASSERT(name != NULL);
        FUZZ_ASSERT(strlen(name) < 1u << 20);
        uint32_t s = dwarf_type_strip(t, i);
        FUZZ_ASSERT(s == DWARF_TYPE_NONE || s < n);
        uint32_t byname = dwarf_type_by_name(t, name);
        FUZZ_ASSERT(byname == DWARF_TYPE_NONE || byname < n);
        uint64_t offs[] = { 0, 8, size / 2, size ? size - 1 : 0, size, size + 8, UINT64_MAX };
        for (size_t k = 0; k < sizeof offs / sizeof offs[0]; k++) {
            uint32_t word = 0, pointee = 0;
            if (dwarf_field_at(t, i, offs[k], buf, sizeof buf, &word, &pointee) == 0) {
                FUZZ_ASSERT(memchr(buf, '\0', sizeof buf) != NULL);
                FUZZ_ASSERT(word == DWARF_TYPE_NONE || word < n);
                FUZZ_ASSERT(pointee == DWARF_TYPE_NONE || pointee < n);
            }
        }
        check_layout(t, i, n);
        /* a tiny buffer: paths are cut, never overrun */
        char tiny[4];
        (void)dwarf_field_at(t, i, 8, tiny, sizeof tiny, NULL, NULL);
        FUZZ_ASSERT(memchr(tiny, '\0', sizeof tiny) != NULL);
    }
    static const char *const names[] = {
        "struct node", "node", "struct node *", "struct node*", "char*const", "ns::Derived",
        "int", "", " ", "*", "struct ", "unsigned long", "std::string",
    };
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        uint32_t r = dwarf_type_by_name(t, names[k]);
        FUZZ_ASSERT(r == DWARF_TYPE_NONE || r < n);
    }
    (void)dwarf_type_name(t, DWARF_TYPE_NONE);
    (void)dwarf_type_name(t, (uint32_t)n);
    (void)dwarf_type_size(t, (uint32_t)n);
    (void)dwarf_type_strip(t, (uint32_t)n);
    FUZZ_ASSERT(dwarf_field_at(t, (uint32_t)n, 0, buf, sizeof buf, NULL, NULL) == -1);
    struct dwarf_layout lay;
    FUZZ_ASSERT(dwarf_type_layout(t, (uint32_t)n, &lay) == -1);
}

static void exercise_globals(const struct dwarf_types *t)
{
    size_t n = dwarf_types_count(t);
    char buf[256];
    for (size_t i = 0; i < nprobes; i++) {
        const char *name = NULL;
        uint32_t type = 0;
        uint64_t off = 0;
        if (dwarf_global_at(t, probes[i], &name, &type, &off) != 0)
            continue;
        FUZZ_ASSERT(name != NULL);
        FUZZ_ASSERT(off <= probes[i]);
        FUZZ_ASSERT(type == DWARF_TYPE_NONE || type < n);
        (void)dwarf_field_at(t, type, off, buf, sizeof buf, NULL, NULL);
    }
}

static void exercise_symbols(const struct elf_symbols *syms)
{
    char cls[128];
    size_t ntls = 0;
    const char *tls = elf_symbols_tls_names(syms, &ntls);
    for (size_t i = 0; i < ntls; i++) {
        FUZZ_ASSERT(tls != NULL);
        tls += strlen(tls) + 1;
    }
    (void)elf_symbols_count(syms);
    for (size_t i = 0; i < nprobes; i++) {
        uint64_t off = UINT64_MAX;
        const char *name = elf_symbols_lookup(syms, probes[i], &off);
        if (name) {
            FUZZ_ASSERT(off <= probes[i]);
            uint64_t addr = 0, size = 0;
            /* the name is found again (the first symbol of that name) */
            FUZZ_ASSERT(elf_symbols_find(syms, name, &addr, &size) == 0);
        }
        if (elf_symbols_vtable_class(syms, probes[i], cls, sizeof cls) == 0)
            FUZZ_ASSERT(cls[0] != '\0' && memchr(cls, '\0', sizeof cls));
        char tiny[2];
        (void)elf_symbols_vtable_class(syms, probes[i], tiny, sizeof tiny);
    }
    (void)elf_symbols_find(syms, "main", NULL, NULL);
    (void)elf_symbols_find(syms, "", NULL, NULL);
}

static void exercise_file(const char *path, size_t size)
{
    static const char *const sections[] = {
        ".debug_info", ".debug_abbrev", ".debug_str", ".symtab", ".strtab", ".dynsym", ".shstrtab",
        ".gnu_debuglink", ".note.gnu.build-id", "", ".bss",
    };
    struct elf_file *file = NULL;
    struct retain_error *err = elf_file_open(path, &file);
    FUZZ_ASSERT((err == NULL) == (file != NULL));
    retain_error_destroy(err);
    nprobes = 0;
    if (!file)
        return;
    for (size_t k = 0; k < sizeof sections / sizeof sections[0]; k++) {
        struct elf_section sec;
        if (elf_file_section(file, sections[k], &sec) != 0)
            continue;
        FUZZ_ASSERT(sec.size <= size);
        FUZZ_ASSERT(strcmp(sec.name, sections[k]) == 0);
        if (sec.size) {   /* inside the (ASan-checked) copy of the file */
            volatile uint8_t first = sec.data[0], last = sec.data[sec.size - 1];
            (void)first;
            (void)last;
        }
    }
    collect_probes(file);
    elf_file_close(file);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_file(data, size);

    exercise_file(path, size);

    struct dwarf_types *t = NULL;
    struct retain_error *err = dwarf_types_load(path, BIAS, &t);
    FUZZ_ASSERT((err == NULL) == (t != NULL));
    if (getenv("RETAIN_FUZZ_VERBOSE"))   /* to see what a seed or a case does */
        fprintf(stderr, "fuzz_dwarf: types: %s%s; %zu types\n", err ? "error: " : "ok", err ? err->msg : "",
                dwarf_types_count(t));
    retain_error_destroy(err);
    if (t) {
        exercise_types(t);
        exercise_globals(t);
    }
    dwarf_types_destroy(t);

    struct elf_symbols *syms = NULL;
    err = elf_symbols_load(path, BIAS, &syms);
    FUZZ_ASSERT((err == NULL) == (syms != NULL));
    if (getenv("RETAIN_FUZZ_VERBOSE"))
        fprintf(stderr, "fuzz_dwarf: symbols: %s%s; %zu symbols, %zu probes\n", err ? "error: " : "ok",
                err ? err->msg : "", elf_symbols_count(syms), nprobes);
    retain_error_destroy(err);
    if (syms)
        exercise_symbols(syms);
    elf_symbols_destroy(syms);

    uint64_t bias = 0;
    (void)elf_load_bias(path, 0x555555554000ull, 0, &bias);
    (void)elf_load_bias(path, 0x555555555000ull, 0x1000, &bias);
    char debug[256];
    if (elf_debug_file(path, debug, sizeof debug) == 0)
        FUZZ_ASSERT(memchr(debug, '\0', sizeof debug) != NULL);
    fuzz_check_unmapped();
    return 0;
}
