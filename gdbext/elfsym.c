/* ELF64 symbol tables, program headers and debug-file links.
 *
 * Files are mmapped read-only while they are parsed and unmapped before
 * the functions return: the names of the symbols kept are copied, because a
 * mapping of a file that is later truncated in place (cp over a rebuilt
 * binary) faults on access. Every offset and size read from the file is
 * checked against the file size before use, and headers are copied out
 * with memcpy (a corrupt file may put them at unaligned offsets). */
#include "elfsym.h"
#include "mapfile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define PAGE_SIZE_MIN 4096u
#define DEBUG_ROOT "/usr/lib/debug"
/* How far a lookup walks back over symbols that start below addr: bounds
 * the cost when symbols nest deeply (they almost never do). */
#define LOOKUP_SCAN_MAX 256

struct elf_image {
    const uint8_t *data;
    size_t size;
    Elf64_Ehdr eh;
};

struct elf_sym {
    uint64_t addr;       /* st_value + bias */
    uint64_t size;
    uint64_t max_end;    /* max end over this and all lower-addressed symbols */
    uint32_t name;       /* offset into the string table */
    uint8_t rank;        /* lower is preferred when several cover an address */
};

struct elf_symbols {
    char *names;         /* the kept symbols' names, NUL-terminated */
    struct elf_sym *syms;
    char *tls_names; size_t tls_bytes; size_t ntls;   /* thread-local symbols, NUL-separated */
    size_t count;
};

static int in_bounds(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

/* ---- mapping and headers ---- */

static struct retain_error *check_ehdr(struct elf_image *img)
{
    if (memcmp(img->data, ELFMAG, SELFMAG) != 0)
        return retain_errorf("not an ELF file (bad magic)");
    memcpy(&img->eh, img->data, sizeof img->eh);
    if (img->eh.e_ident[EI_CLASS] != ELFCLASS64)
        return retain_errorf("not a 64-bit ELF file (class %u)", img->eh.e_ident[EI_CLASS]);
    if (img->eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return retain_errorf("not a little-endian ELF file");
    const Elf64_Ehdr *eh = &img->eh;
    if (eh->e_shnum && (eh->e_shentsize != sizeof(Elf64_Shdr) ||
                        !in_bounds(img->size, eh->e_shoff, (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr))))
        return retain_errorf("section headers (%u at %#llx) run past the end of the file (truncated?)",
                             eh->e_shnum, (unsigned long long)eh->e_shoff);
    if (eh->e_phnum && (eh->e_phentsize != sizeof(Elf64_Phdr) ||
                        !in_bounds(img->size, eh->e_phoff, (uint64_t)eh->e_phnum * sizeof(Elf64_Phdr))))
        return retain_errorf("program headers (%u at %#llx) run past the end of the file (truncated?)",
                             eh->e_phnum, (unsigned long long)eh->e_phoff);
    return NULL;
}

/* Maps path and checks its ELF header; on success the caller munmaps. */
static struct retain_error *image_open(const char *path, struct elf_image *img, void **map_ret)
{
    void *map = NULL;
    size_t size = 0;
    struct retain_error *err = map_file_readonly(path, sizeof(Elf64_Ehdr), "an ELF file", &map, &size);
    if (err)
        return err;
    img->data = map;
    img->size = size;
    err = check_ehdr(img);
    if (err) {
        munmap(map, size);
        struct retain_error *named = retain_errorf("%s: %s", path, err->msg);
        retain_error_destroy(err);
        return named;
    }
    *map_ret = map;
    return NULL;
}

/* Section header i, or -1 when the table or the entry is out of bounds. */
static int section_at(const struct elf_image *img, size_t i, Elf64_Shdr *sh)
{
    const Elf64_Ehdr *eh = &img->eh;
    if (eh->e_shentsize != sizeof *sh || i >= eh->e_shnum)
        return -1;
    uint64_t off = eh->e_shoff + (uint64_t)i * sizeof *sh;
    if (eh->e_shoff > img->size || !in_bounds(img->size, off, sizeof *sh))
        return -1;
    memcpy(sh, img->data + off, sizeof *sh);
    return 0;
}

/* Program header i, or -1 when out of bounds. */
static int segment_at(const struct elf_image *img, size_t i, Elf64_Phdr *ph)
{
    const Elf64_Ehdr *eh = &img->eh;
    if (eh->e_phentsize != sizeof *ph || i >= eh->e_phnum)
        return -1;
    uint64_t off = eh->e_phoff + (uint64_t)i * sizeof *ph;
    if (eh->e_phoff > img->size || !in_bounds(img->size, off, sizeof *ph))
        return -1;
    memcpy(ph, img->data + off, sizeof *ph);
    return 0;
}

/* The NUL-terminated name at off inside [base, base+len), or NULL. */
static const char *string_in(const uint8_t *base, uint64_t len, uint64_t off)
{
    if (off >= len)
        return NULL;
    const char *s = (const char *)base + off;
    return memchr(s, '\0', (size_t)(len - off)) ? s : NULL;
}

/* First section with the given type (and, when name is non-NULL, name). */
static int find_section(const struct elf_image *img, uint32_t type, const char *name, Elf64_Shdr *ret)
{
    Elf64_Shdr names;
    int have_names = section_at(img, img->eh.e_shstrndx, &names) == 0 &&
                     in_bounds(img->size, names.sh_offset, names.sh_size);
    for (size_t i = 1; i < img->eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (section_at(img, i, &sh) != 0)
            return -1;
        if (sh.sh_type != type)
            continue;
        if (name) {
            if (!have_names)
                continue;
            const char *s = string_in(img->data + names.sh_offset, names.sh_size, sh.sh_name);
            if (!s || strcmp(s, name) != 0)
                continue;
        }
        *ret = sh;
        return 0;
    }
    return -1;
}

/* ---- symbols ---- */

/* Sized objects name a data address best; then sized functions; then
 * anything else. Within a class, global beats weak beats local. */
static uint8_t symbol_rank(const Elf64_Sym *s)
{
    unsigned type = ELF64_ST_TYPE(s->st_info), bind = ELF64_ST_BIND(s->st_info);
    unsigned cls = s->st_size == 0 ? 3 : type == STT_OBJECT ? 0 : type == STT_FUNC ? 1 : 2;
    unsigned b = bind == STB_GLOBAL ? 0 : bind == STB_WEAK ? 1 : 2;
    return (uint8_t)(cls * 3 + b);
}

static int symbol_wanted(const Elf64_Sym *s)
{
    unsigned type = ELF64_ST_TYPE(s->st_info);
    if (type != STT_OBJECT && type != STT_FUNC && type != STT_NOTYPE && type != STT_GNU_IFUNC)
        return 0;
    /* ABS values are not addresses in the image, so the bias does not apply. */
    return s->st_shndx != SHN_UNDEF && s->st_shndx != SHN_ABS && s->st_name != 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct elf_sym *x = a, *y = b;
    if (x->addr != y->addr)
        return x->addr < y->addr ? -1 : 1;
    if (x->rank != y->rank)
        return x->rank < y->rank ? -1 : 1;
    return x->name < y->name ? -1 : x->name > y->name;
}

/* Thread-local variables: their st_value is an offset in the TLS block, not
 * an address, so only their names are kept (gdb finds each thread's copy). */
static struct retain_error *copy_tls_names(struct elf_symbols *t, const uint8_t *base, size_t n,
                                           const uint8_t *strbase, uint64_t strsize)
{
    for (int pass = 0; pass < 2; pass++) {
        size_t used = 0;
        for (size_t i = 0; i < n; i++) {
            Elf64_Sym s;
            memcpy(&s, base + i * sizeof s, sizeof s);
            if (ELF64_ST_TYPE(s.st_info) != STT_TLS || s.st_shndx == SHN_UNDEF || s.st_name == 0)
                continue;
            const char *name = string_in(strbase, strsize, s.st_name);
            if (!name)
                continue;
            size_t len = strlen(name) + 1;
            if (pass == 1) {
                memcpy(t->tls_names + used, name, len);
                t->ntls++;
            }
            used += len;
        }
        if (pass == 0) {
            t->tls_bytes = used;
            t->tls_names = malloc(used ? used : 1);
            if (!t->tls_names)
                return retain_errorf("out of memory for thread-local symbols");
        }
    }
    return NULL;
}

/* Copies the wanted symbols and their names out of the mapped file. */
static struct retain_error *copy_symbols(struct elf_symbols *t, const struct elf_image *img, const Elf64_Shdr *symtab,
                                         const Elf64_Shdr *strsec, uint64_t bias)
{
    const uint8_t *base = img->data + symtab->sh_offset;
    const uint8_t *strbase = img->data + strsec->sh_offset;
    size_t n = symtab->sh_size / sizeof(Elf64_Sym), keep = 0, bytes = 0;
    for (size_t i = 0; i < n; i++) {
        Elf64_Sym s;
        memcpy(&s, base + i * sizeof s, sizeof s);
        const char *name = symbol_wanted(&s) ? string_in(strbase, strsec->sh_size, s.st_name) : NULL;
        if (name) {
            keep++;
            bytes += strlen(name) + 1;
        }
    }
    if (bytes >= UINT32_MAX)
        return retain_errorf("symbol names too large (%zu bytes)", bytes);
    t->syms = malloc((keep ? keep : 1) * sizeof *t->syms);
    t->names = malloc(bytes ? bytes : 1);
    if (!t->syms || !t->names)
        return retain_errorf("out of memory for %zu symbols", keep);
    size_t used = 0;
    for (size_t i = 0; i < n; i++) {
        Elf64_Sym s;
        memcpy(&s, base + i * sizeof s, sizeof s);
        const char *name = symbol_wanted(&s) ? string_in(strbase, strsec->sh_size, s.st_name) : NULL;
        if (!name)
            continue;
        size_t len = strlen(name) + 1;
        memcpy(t->names + used, name, len);
        t->syms[t->count++] = (struct elf_sym){
            .addr = s.st_value + bias, .size = s.st_size, .name = (uint32_t)used, .rank = symbol_rank(&s),
        };
        used += len;
    }
    return copy_tls_names(t, base, n, strbase, strsec->sh_size);
}

/* Sorts by address and records, for each symbol, the furthest end of any
 * symbol at or below it, so lookups know when to stop walking back. */
static void index_symbols(struct elf_symbols *t)
{
    qsort(t->syms, t->count, sizeof *t->syms, sym_cmp);
    uint64_t max_end = 0;
    for (size_t i = 0; i < t->count; i++) {
        struct elf_sym *e = &t->syms[i];
        uint64_t end = e->addr + (e->size ? e->size : 1);
        if (end < e->addr)
            end = UINT64_MAX;
        max_end = end > max_end ? end : max_end;
        e->max_end = max_end;
    }
}

static struct retain_error *read_symbols(struct elf_symbols *t, const struct elf_image *img,
                                         const Elf64_Shdr *symtab, uint64_t bias)
{
    Elf64_Shdr strsec;
    if (symtab->sh_entsize != sizeof(Elf64_Sym) || !in_bounds(img->size, symtab->sh_offset, symtab->sh_size))
        return retain_errorf("symbol table at %#llx runs past the end of the file",
                             (unsigned long long)symtab->sh_offset);
    if (section_at(img, symtab->sh_link, &strsec) != 0 || !in_bounds(img->size, strsec.sh_offset, strsec.sh_size))
        return retain_errorf("symbol table's string table (section %u) is missing or out of bounds",
                             symtab->sh_link);
    struct retain_error *err = copy_symbols(t, img, symtab, &strsec, bias);
    if (!err)
        index_symbols(t);
    return err;
}

struct retain_error *elf_symbols_load(const char *path, uint64_t bias, struct elf_symbols **syms_ret)
{
    struct elf_image img;
    void *map;
    struct retain_error *err = image_open(path, &img, &map);
    if (err)
        return err;
    struct elf_symbols *t = calloc(1, sizeof *t);
    if (!t)
        err = retain_errorf("out of memory");
    Elf64_Shdr symtab;
    if (t && (find_section(&img, SHT_SYMTAB, NULL, &symtab) == 0 ||
              find_section(&img, SHT_DYNSYM, NULL, &symtab) == 0))
        err = read_symbols(t, &img, &symtab, bias);
    munmap(map, img.size);
    if (err) {
        elf_symbols_destroy(t);
        struct retain_error *named = retain_errorf("%s: %s", path, err->msg);
        retain_error_destroy(err);
        return named;
    }
    *syms_ret = t;
    return NULL;
}

void elf_symbols_destroy(struct elf_symbols *syms)
{
    if (!syms)
        return;
    free(syms->names);
    free(syms->tls_names);
    free(syms->syms);
    free(syms);
}

const char *elf_symbols_tls_names(const struct elf_symbols *syms, size_t *count_ret)
{
    *count_ret = syms ? syms->ntls : 0;
    return syms ? syms->tls_names : NULL;
}

size_t elf_symbols_count(const struct elf_symbols *syms)
{
    return syms ? syms->count : 0;
}

/* Index of the best symbol covering addr, or -1. */
static ptrdiff_t lookup_index(const struct elf_symbols *t, uint64_t addr)
{
    size_t lo = 0, hi = t->count;   /* first symbol with addr > query */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (t->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    ptrdiff_t best = -1;
    for (size_t i = lo, steps = 0; i > 0 && steps < LOOKUP_SCAN_MAX; i--, steps++) {
        const struct elf_sym *e = &t->syms[i - 1];
        if (e->max_end <= addr)
            break;   /* nothing at or below this one reaches addr */
        int covers = e->size ? addr - e->addr < e->size : addr == e->addr;
        if (covers && (best < 0 || e->rank < t->syms[best].rank))
            best = (ptrdiff_t)(i - 1);
    }
    return best;
}

const char *elf_symbols_lookup(const struct elf_symbols *syms, uint64_t addr, uint64_t *offset_ret)
{
    if (!syms)
        return NULL;
    ptrdiff_t i = lookup_index(syms, addr);
    if (i < 0)
        return NULL;
    if (offset_ret)
        *offset_ret = addr - syms->syms[i].addr;
    return syms->names + syms->syms[i].name;
}

int elf_symbols_find(const struct elf_symbols *syms, const char *name, uint64_t *addr_ret, uint64_t *size_ret)
{
    if (!syms || !name)
        return -1;
    for (size_t i = 0; i < syms->count; i++) {
        if (strcmp(syms->names + syms->syms[i].name, name) == 0) {
            if (addr_ret)
                *addr_ret = syms->syms[i].addr;
            if (size_ret)
                *size_ret = syms->syms[i].size;
            return 0;
        }
    }
    return -1;
}

/* ---- vtable names ---- */

/* A bounded output buffer: appends truncate, and overflow marks failure. */
struct outbuf {
    char *buf;
    size_t len, cap;
    int overflow;
};

static void out_append(struct outbuf *o, const char *s, size_t n)
{
    if (o->len + n >= o->cap) {
        o->overflow = 1;
        return;
    }
    memcpy(o->buf + o->len, s, n);
    o->len += n;
    o->buf[o->len] = '\0';
}

/* <source-name> ::= <positive length number> <identifier>. Advances *p. */
static int parse_source_name(const char **p, struct outbuf *o)
{
    const char *s = *p;
    size_t n = 0;
    if (*s < '1' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        n = n * 10 + (size_t)(*s++ - '0');
        if (n > 4096)
            return -1;
    }
    if (strnlen(s, n) < n)
        return -1;
    static const char anon[] = "_GLOBAL__N";
    if (n >= sizeof anon - 1 && memcmp(s, anon, sizeof anon - 1) == 0)
        out_append(o, "(anonymous namespace)", 21);
    else
        out_append(o, s, n);
    *p = s + n;
    return 0;
}

/* Skips ABI tags (B <source-name>), which gdb shows as [abi:...]. */
static void skip_abi_tags(const char **p)
{
    while (**p == 'B') {
        const char *s = *p + 1;
        struct outbuf sink = { NULL, 0, 0, 0 };
        if (parse_source_name(&s, &sink) != 0)
            return;
        *p = s;
    }
}

/* The standard substitutions a class name can start with. */
static const char *std_abbreviation(char c)
{
    switch (c) {
    case 't': return "std";
    case 'a': return "std::allocator";
    case 'b': return "std::basic_string";
    case 's': return "std::string";
    case 'i': return "std::istream";
    case 'o': return "std::ostream";
    case 'd': return "std::iostream";
    default: return NULL;
    }
}

/* <name> without templates, local names or substitutions other than the
 * standard ones: 7Derived, N2ns7DerivedE, St9exception, NSt3__14pairE. */
static int demangle_class(const char *p, struct outbuf *o)
{
    int nested = *p == 'N';
    int components = 0, after_std = 0;
    if (nested)
        p++;
    while (*p && !(nested && *p == 'E')) {
        if (components)
            out_append(o, "::", 2);
        if (*p == 'S') {
            const char *abbrev = std_abbreviation(p[1]);
            if (!abbrev || components)
                return -1;
            out_append(o, abbrev, strlen(abbrev));
            after_std = p[1] == 't';
            p += 2;
        } else {
            if (parse_source_name(&p, o) != 0)
                return -1;
            after_std = 0;
        }
        skip_abi_tags(&p);
        components++;
        if (!nested && !after_std)
            break;   /* a plain name has one component; "St" needs one more */
    }
    if (after_std)
        return -1;
    if (nested && *p++ != 'E')
        return -1;
    return components && !*p && !o->overflow ? 0 : -1;
}

int elf_symbols_vtable_class(const struct elf_symbols *syms, uint64_t addr, char *buf, size_t buflen)
{
    if (!syms || !buf || buflen == 0)
        return -1;
    ptrdiff_t i = lookup_index(syms, addr);
    if (i < 0)
        return -1;
    const char *name = syms->names + syms->syms[i].name;
    if (strncmp(name, "_ZTV", 4) != 0)
        return -1;
    struct outbuf o = { buf, 0, buflen, 0 };
    buf[0] = '\0';
    if (demangle_class(name + 4, &o) != 0) {
        buf[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---- load bias ---- */

static uint64_t page_down(uint64_t v)
{
    return v & ~(uint64_t)(PAGE_SIZE_MIN - 1);
}

/* The PT_LOAD whose file range holds map_offset; exact file containment
 * first, then containment of the page the segment starts in. */
/* writable: 1 or 0 to pick only segments that are (not) writable, -1 any.
 * Two segments can share a file page (the end of .rodata and the start of
 * .data): the mapping's protection tells which one it is. */
static int find_load_segment(const struct elf_image *img, uint64_t map_offset, int writable, Elf64_Phdr *ret)
{
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < img->eh.e_phnum; i++) {
            Elf64_Phdr ph;
            if (segment_at(img, i, &ph) != 0)
                return -1;
            if (ph.p_type != PT_LOAD)
                continue;
            if (writable >= 0 && !!(ph.p_flags & PF_W) != writable)
                continue;
            uint64_t start = pass == 0 ? ph.p_offset : page_down(ph.p_offset);
            uint64_t end = ph.p_offset + (ph.p_filesz ? ph.p_filesz : 1);
            if (map_offset >= start && map_offset < end) {
                *ret = ph;
                return 0;
            }
        }
    }
    return -1;
}

int elf_load_bias(const char *path, uint64_t map_start, uint64_t map_offset, uint64_t *bias_ret)
{
    return elf_load_bias_prot(path, map_start, map_offset, -1, bias_ret);
}

int elf_load_bias_prot(const char *path, uint64_t map_start, uint64_t map_offset, int writable,
                       uint64_t *bias_ret)
{
    struct elf_image img;
    void *map;
    struct retain_error *err = image_open(path, &img, &map);
    if (err) {
        retain_error_destroy(err);
        return -1;
    }
    int rc = -1;
    Elf64_Phdr ph;
    if (img.eh.e_type == ET_EXEC) {
        *bias_ret = 0;   /* linked at its run address */
        rc = 0;
    } else if (find_load_segment(&img, map_offset, writable, &ph) == 0 ||
               (writable >= 0 && find_load_segment(&img, map_offset, -1, &ph) == 0)) {
        /* file offset o in the segment runs at bias + p_vaddr + (o - p_offset) */
        *bias_ret = map_start - ph.p_vaddr + ph.p_offset - map_offset;
        rc = 0;
    }
    munmap(map, img.size);
    return rc;
}

/* ---- sections for other readers ---- */

struct elf_file {
    struct elf_image img;
    void *map;
};

struct retain_error *elf_file_open(const char *path, struct elf_file **file_ret)
{
    struct elf_file *f = calloc(1, sizeof *f);
    if (!f)
        return retain_errorf("%s: out of memory", path);
    struct retain_error *err = image_open(path, &f->img, &f->map);
    if (err) {
        free(f);
        return err;
    }
    *file_ret = f;
    return NULL;
}

void elf_file_close(struct elf_file *file)
{
    if (!file)
        return;
    munmap(file->map, file->img.size);
    free(file);
}

int elf_file_section(const struct elf_file *file, const char *name, struct elf_section *sec_ret)
{
    const struct elf_image *img = &file->img;
    Elf64_Shdr names;
    if (!name || section_at(img, img->eh.e_shstrndx, &names) != 0 ||
        !in_bounds(img->size, names.sh_offset, names.sh_size))
        return -1;
    int rc = -1;
    for (size_t i = 1; i < img->eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (section_at(img, i, &sh) != 0)
            return -1;
        const char *s = string_in(img->data + names.sh_offset, names.sh_size, sh.sh_name);
        if (!s || strcmp(s, name) != 0 || sh.sh_type == SHT_NOBITS)
            continue;
        if (!in_bounds(img->size, sh.sh_offset, sh.sh_size)) {
            rc = -2;
            continue;
        }
        *sec_ret = (struct elf_section){
            .name = s, .data = img->data + sh.sh_offset, .size = sh.sh_size, .flags = sh.sh_flags,
            .type = sh.sh_type,
        };
        return 0;
    }
    return rc;
}

/* ---- separate debug files ---- */

static int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The NT_GNU_BUILD_ID descriptor of the first note section that has one. */
static int read_build_id(const struct elf_image *img, const uint8_t **id_ret, size_t *len_ret)
{
    for (size_t i = 1; i < img->eh.e_shnum; i++) {
        Elf64_Shdr sh;
        if (section_at(img, i, &sh) != 0)
            return -1;
        if (sh.sh_type != SHT_NOTE || !in_bounds(img->size, sh.sh_offset, sh.sh_size))
            continue;
        const uint8_t *p = img->data + sh.sh_offset;
        uint64_t left = sh.sh_size;
        while (left >= sizeof(Elf64_Nhdr)) {
            Elf64_Nhdr nh;
            memcpy(&nh, p, sizeof nh);
            uint64_t namesz = ((uint64_t)nh.n_namesz + 3) & ~3ull;
            uint64_t descsz = ((uint64_t)nh.n_descsz + 3) & ~3ull;
            if (namesz + descsz > left - sizeof nh)
                break;
            const uint8_t *name = p + sizeof nh;
            if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(name, "GNU", 4) == 0 &&
                nh.n_descsz > 1) {
                *id_ret = name + namesz;
                *len_ret = nh.n_descsz;
                return 0;
            }
            p += sizeof nh + namesz + descsz;
            left -= sizeof nh + namesz + descsz;
        }
    }
    return -1;
}

static int build_id_path(const struct elf_image *img, char *buf, size_t buflen)
{
    const uint8_t *id;
    size_t len;
    if (read_build_id(img, &id, &len) != 0)
        return -1;
    char hex[2 * 64 + 1];
    if (len > 64)
        return -1;
    for (size_t i = 0; i < len; i++)
        snprintf(hex + 2 * i, 3, "%02x", id[i]);
    int n = snprintf(buf, buflen, DEBUG_ROOT "/.build-id/%.2s/%s.debug", hex, hex + 2);
    return n > 0 && (size_t)n < buflen && file_exists(buf) ? 0 : -1;
}

/* .gnu_debuglink names the debug file; gdb looks beside the file, in its
 * .debug subdirectory and under the global debug root. */
static int debuglink_path(const struct elf_image *img, const char *path, char *buf, size_t buflen)
{
    Elf64_Shdr sh;
    if (find_section(img, SHT_PROGBITS, ".gnu_debuglink", &sh) != 0 ||
        !in_bounds(img->size, sh.sh_offset, sh.sh_size))
        return -1;
    const char *link = string_in(img->data + sh.sh_offset, sh.sh_size, 0);
    if (!link || !*link || strchr(link, '/'))
        return -1;
    char real[4096];
    if (!realpath(path, real))
        return -1;
    char *slash = strrchr(real, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    const char *forms[] = { "%s/%s", "%s/.debug/%s", DEBUG_ROOT "%s/%s" };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        int n = snprintf(buf, buflen, forms[i], real, link);
        if (n > 0 && (size_t)n < buflen && strcmp(buf, path) != 0 && file_exists(buf))
            return 0;
    }
    return -1;
}

int elf_debug_file(const char *path, char *buf, size_t buflen)
{
    struct elf_image img;
    void *map;
    struct retain_error *err = image_open(path, &img, &map);
    if (err) {
        retain_error_destroy(err);
        return -1;
    }
    int rc = build_id_path(&img, buf, buflen) == 0 || debuglink_path(&img, path, buf, buflen) == 0 ? 0 : -1;
    munmap(map, img.size);
    if (rc != 0 && buflen)
        buf[0] = '\0';
    return rc;
}
