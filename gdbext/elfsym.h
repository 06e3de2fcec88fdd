/* ELF symbol tables (.symtab, else .dynsym) and program headers of one
 * objfile: names global roots ("g_cache + 8") and C++ vtables
 * ("_ZTV7Derived" -> class "Derived") in bulk without asking gdb. */
#ifndef RETAIN_ELFSYM_H
#define RETAIN_ELFSYM_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

struct elf_symbols;

/* bias as for dwarf_types_load. */
struct retain_error *elf_symbols_load(const char *path, uint64_t bias, struct elf_symbols **syms_ret);
void elf_symbols_destroy(struct elf_symbols *syms);

/* The object or function symbol covering addr (st_value <= addr <
 * st_value + max(st_size,1)), preferring sized OBJECT symbols; returns its
 * mangled name and sets *offset_ret; NULL if none. */
const char *elf_symbols_lookup(const struct elf_symbols *syms, uint64_t addr, uint64_t *offset_ret);

/* The address (and size) of the first symbol with this exact mangled name;
 * returns 0, or -1 if there is none. A linear scan: for occasional lookups
 * ("main_arena", a vtable), not for hot loops. */
int elf_symbols_find(const struct elf_symbols *syms, const char *name, uint64_t *addr_ret, uint64_t *size_ret);

/* If addr lies inside a C++ vtable symbol (_ZTV...), writes the class name
 * ("Derived", "ns::Derived", "std::runtime_error") to buf and returns 0. */
int elf_symbols_vtable_class(const struct elf_symbols *syms, uint64_t addr, char *buf, size_t buflen);

/* Load bias of a mapped ELF: given a runtime mapping start and its file
 * offset, bias = start - (p_vaddr of the PT_LOAD containing that offset,
 * page-aligned). Returns 0 on success. */
int elf_load_bias(const char *path, uint64_t map_start, uint64_t map_offset, uint64_t *bias_ret);
/* The same, knowing whether the mapping is writable (1), not (0), or
 * unknown (-1): it decides between two segments that share a file page. */
int elf_load_bias_prot(const char *path, uint64_t map_start, uint64_t map_offset, int writable,
                       uint64_t *bias_ret);

/* The separate debug file of an ELF file, found as gdb does:
 * /usr/lib/debug/.build-id/xx/rest.debug from its NT_GNU_BUILD_ID note, else
 * its .gnu_debuglink name beside the file, in its .debug subdirectory or
 * under /usr/lib/debug/<its directory>. Writes the first that exists to buf
 * and returns 0; -1 if there is none. */
int elf_debug_file(const char *path, char *buf, size_t buflen);

/* Names of the thread-local variables (STT_TLS), NUL-separated, *count_ret of them. */
const char *elf_symbols_tls_names(const struct elf_symbols *syms, size_t *count_ret);

size_t elf_symbols_count(const struct elf_symbols *syms);

/* A mapped ELF file's sections, for readers of its other contents (dwarf.c
 * hands libdwarf the DWARF sections from here). */
struct elf_file;
struct elf_section {
    const char *name;
    const uint8_t *data;     /* inside the mapping, size bytes long */
    uint64_t size;
    uint64_t flags;          /* sh_flags: SHF_COMPRESSED says data starts with an Elf64_Chdr */
    uint32_t type;
};

struct retain_error *elf_file_open(const char *path, struct elf_file **file_ret);
void elf_file_close(struct elf_file *file);
/* The first section called name whose contents lie inside the file
 * (SHT_NOBITS sections have none): returns 0; -1 if there is none, -2 if
 * there is one but it points outside the file. */
int elf_file_section(const struct elf_file *file, const char *name, struct elf_section *sec_ret);

#endif
