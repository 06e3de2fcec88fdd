/* ELF64 x86_64 core files: PT_LOAD segments and the NT_FILE note.
 *
 * Every offset and length read from the file is checked against the real
 * file size before use: a core may be truncated (the dump ran out of disk)
 * or corrupt. Headers are copied out with memcpy, since a corrupt file may
 * put them at unaligned offsets. */
#include "elfcore.h"
#include "mapfile.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif

/* The public struct plus what destroy needs to know: whether we mmapped the
 * image (core_file_open) or were lent it (core_file_parse). */
struct core_file_owned {
    struct core_file core;
    size_t mapped_size;      /* 0 when the image is not ours */
};

/* True when [off, off+len) lies inside an image of `size` bytes. */
static int in_bounds(size_t size, uint64_t off, uint64_t len)
{
    return off <= size && len <= size - off;
}

static uint32_t prot_from_flags(uint32_t p_flags)
{
    return (p_flags & PF_R ? MAP_PROT_R : 0) | (p_flags & PF_W ? MAP_PROT_W : 0) |
           (p_flags & PF_X ? MAP_PROT_X : 0);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);   /* host and target are both little-endian */
    return v;
}

static uint32_t get_u32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static struct retain_error *check_ehdr(const uint8_t *image, size_t size, Elf64_Ehdr *eh)
{
    if (size < SELFMAG || memcmp(image, ELFMAG, SELFMAG) != 0)
        return retain_errorf("not an ELF file (bad magic)");
    if (size < sizeof *eh)
        return retain_errorf("truncated ELF header (%zu of %zu bytes)", size, sizeof *eh);
    memcpy(eh, image, sizeof *eh);
    if (eh->e_ident[EI_CLASS] != ELFCLASS64)
        return retain_errorf("not a 64-bit ELF file (class %u)", eh->e_ident[EI_CLASS]);
    if (eh->e_ident[EI_DATA] != ELFDATA2LSB)
        return retain_errorf("not a little-endian ELF file (data encoding %u)", eh->e_ident[EI_DATA]);
    if (eh->e_type != ET_CORE)
        return retain_errorf("not a core file (ELF type %u, expected ET_CORE)", eh->e_type);
    if (eh->e_machine != EM_X86_64)
        return retain_errorf("unsupported machine %u (only x86_64 cores are supported)", eh->e_machine);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return retain_errorf("bad program header size %u (expected %zu)", eh->e_phentsize,
                             sizeof(Elf64_Phdr));
    return NULL;
}

/* With more than 0xfffe program headers, e_phnum is PN_XNUM and the real
 * count is in section header 0's sh_info (the kernel does this for
 * processes with very many mappings). */
static struct retain_error *program_header_count(const uint8_t *image, size_t size,
                                                 const Elf64_Ehdr *eh, uint64_t *count_ret)
{
    if (eh->e_phnum != PN_XNUM) {
        *count_ret = eh->e_phnum;
        return NULL;
    }
    Elf64_Shdr sh;
    if (eh->e_shentsize != sizeof sh || !in_bounds(size, eh->e_shoff, sizeof sh))
        return retain_errorf("e_phnum is PN_XNUM but section header 0 (offset %#llx) is missing",
                             (unsigned long long)eh->e_shoff);
    memcpy(&sh, image + eh->e_shoff, sizeof sh);
    *count_ret = sh.sh_info;
    return NULL;
}

static int seg_cmp(const void *a, const void *b)
{
    const struct core_segment *x = a, *y = b;
    return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int mapping_cmp(const void *a, const void *b)
{
    const struct mapping *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Appends one PT_LOAD, clipping its file bytes to what the file holds. */
static struct retain_error *add_load(struct core_file *core, const Elf64_Phdr *ph, size_t index)
{
    if (ph->p_memsz == 0)
        return NULL;   /* nothing in the target's address space */
    if (ph->p_vaddr + ph->p_memsz < ph->p_vaddr)
        return retain_errorf("program header %zu: segment %#llx + %#llx wraps around", index,
                             (unsigned long long)ph->p_vaddr, (unsigned long long)ph->p_memsz);
    struct core_segment *s = &core->segs[core->nsegs++];
    s->vaddr = ph->p_vaddr;
    s->memsz = ph->p_memsz;
    s->offset = ph->p_offset;
    s->filesz = ph->p_filesz < ph->p_memsz ? ph->p_filesz : ph->p_memsz;
    if (s->offset > core->size)
        s->filesz = 0;
    else if (s->filesz > core->size - s->offset)
        s->filesz = core->size - s->offset;   /* truncated core */
    if (s->filesz == 0)
        s->offset = 0;
    s->prot = prot_from_flags(ph->p_flags);
    return NULL;
}

static struct retain_error *check_overlaps(const struct core_file *core)
{
    for (size_t i = 1; i < core->nsegs; i++) {
        const struct core_segment *prev = &core->segs[i - 1];
        if (core->segs[i].vaddr < prev->vaddr + prev->memsz)
            return retain_errorf("PT_LOAD segments overlap at %#llx",
                                 (unsigned long long)core->segs[i].vaddr);
    }
    return NULL;
}

/* Parses the descriptor of one NT_FILE note:
 *   count, page_size, count * {start, end, file_ofs (in pages)}, count paths
 * `off` is the descriptor's file offset, for messages. */
static struct retain_error *parse_nt_file(struct core_file *core, const uint8_t *desc,
                                          uint64_t descsz, uint64_t off)
{
    if (descsz < 16)
        return retain_errorf("NT_FILE note at offset %#llx: descriptor too short (%llu bytes)",
                             (unsigned long long)off, (unsigned long long)descsz);
    uint64_t count = get_u64(desc), page_size = get_u64(desc + 8);
    if (count > (descsz - 16) / 24)
        return retain_errorf("NT_FILE note at offset %#llx: %llu entries do not fit in %llu bytes",
                             (unsigned long long)off, (unsigned long long)count,
                             (unsigned long long)descsz);
    struct mapping *files = realloc(core->files, (core->nfiles + count + 1) * sizeof *files);
    if (!files)
        return retain_errorf("out of memory reading NT_FILE note (%llu entries)",
                             (unsigned long long)count);
    core->files = files;

    const uint8_t *entry = desc + 16;
    const char *str = (const char *)(desc + 16 + count * 24);
    const char *str_end = (const char *)(desc + descsz);
    for (uint64_t i = 0; i < count; i++, entry += 24) {
        uint64_t start = get_u64(entry), end = get_u64(entry + 8), pages = get_u64(entry + 16);
        if (start > end)
            return retain_errorf("NT_FILE note at offset %#llx: entry %llu ends before it starts",
                                 (unsigned long long)off, (unsigned long long)i);
        if (page_size && pages > UINT64_MAX / page_size)
            return retain_errorf("NT_FILE note at offset %#llx: entry %llu has a file offset "
                                 "that overflows", (unsigned long long)off, (unsigned long long)i);
        const char *nul = memchr(str, '\0', (size_t)(str_end - str));
        if (!nul)
            return retain_errorf("NT_FILE note at offset %#llx: path %llu is missing or not "
                                 "terminated", (unsigned long long)off, (unsigned long long)i);
        char *path = strdup(str);
        if (!path)
            return retain_errorf("out of memory reading NT_FILE note");
        core->files[core->nfiles++] = (struct mapping){
            .start = start, .end = end, .offset = pages * page_size, .prot = 0, .path = path,
        };
        str = nul + 1;
    }
    return NULL;
}

/* Walks the notes of one PT_NOTE segment. Each note is
 *   namesz, descsz, type (u32 each), name padded to 4, desc padded to 4.
 * A note cut short by the end of a truncated file ends the walk quietly; a
 * note that runs past its own segment is an error. */
static struct retain_error *parse_notes(struct core_file *core, const Elf64_Phdr *ph)
{
    if (ph->p_offset > core->size)
        return NULL;
    uint64_t avail = core->size - ph->p_offset;
    uint64_t len = ph->p_filesz < avail ? ph->p_filesz : avail;
    const uint8_t *seg = core->image + ph->p_offset;
    uint64_t pos = 0;
    while (len - pos >= 12) {
        uint32_t namesz = get_u32(seg + pos), descsz = get_u32(seg + pos + 4);
        uint32_t type = get_u32(seg + pos + 8);
        uint64_t name_at = pos + 12;
        uint64_t desc_at = name_at + (((uint64_t)namesz + 3) & ~(uint64_t)3);
        uint64_t next = desc_at + (((uint64_t)descsz + 3) & ~(uint64_t)3);
        if (next > len) {
            if (len < ph->p_filesz)
                return NULL;   /* the file was cut inside this note */
            return retain_errorf("note at offset %#llx runs past the end of its PT_NOTE segment",
                                 (unsigned long long)(ph->p_offset + pos));
        }
        if (type == NT_FILE && (namesz == 4 || namesz == 5) &&
            memcmp(seg + name_at, "CORE", 4) == 0 && (namesz == 4 || seg[name_at + 4] == 0)) {
            struct retain_error *err =
                parse_nt_file(core, seg + desc_at, descsz, ph->p_offset + desc_at);
            if (err)
                return err;
        }
        pos = next;
    }
    return NULL;
}

static struct retain_error *parse_program_headers(struct core_file *core, const Elf64_Ehdr *eh)
{
    uint64_t phnum = 0;
    struct retain_error *err = program_header_count(core->image, core->size, eh, &phnum);
    if (err)
        return err;
    if (phnum > core->size / sizeof(Elf64_Phdr) ||
        (phnum && !in_bounds(core->size, eh->e_phoff, phnum * sizeof(Elf64_Phdr))))
        return retain_errorf("program headers (%llu at offset %#llx) run past the end of the "
                             "file (%zu bytes)", (unsigned long long)phnum,
                             (unsigned long long)eh->e_phoff, core->size);
    core->segs = malloc((phnum ? phnum : 1) * sizeof *core->segs);
    if (!core->segs)
        return retain_errorf("out of memory for %llu program headers", (unsigned long long)phnum);
    for (uint64_t i = 0; i < phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, core->image + eh->e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD)
            err = add_load(core, &ph, i);
        else if (ph.p_type == PT_NOTE)
            err = parse_notes(core, &ph);
        if (err)
            return err;
    }
    qsort(core->segs, core->nsegs, sizeof *core->segs, seg_cmp);
    if (core->nfiles)
        qsort(core->files, core->nfiles, sizeof *core->files, mapping_cmp);
    return check_overlaps(core);
}

struct retain_error *core_file_parse(const uint8_t *image, size_t size, struct core_file **core_ret)
{
    *core_ret = NULL;
    Elf64_Ehdr eh;
    struct retain_error *err = check_ehdr(image, size, &eh);
    if (err)
        return err;
    struct core_file_owned *owned = calloc(1, sizeof *owned);
    if (!owned)
        return retain_errorf("out of memory");
    owned->core.image = image;
    owned->core.size = size;
    err = parse_program_headers(&owned->core, &eh);
    if (err) {
        core_file_destroy(&owned->core);
        return err;
    }
    *core_ret = &owned->core;
    return NULL;
}

struct retain_error *core_file_open(const char *path, struct core_file **core_ret)
{
    *core_ret = NULL;
    void *map = NULL;
    size_t size = 0;
    struct retain_error *err = map_file_readonly(path, 1, "a core", &map, &size);
    if (err)
        return err;
    const uint8_t *image = map;
    struct core_file *core = NULL;
    err = core_file_parse(image, size, &core);
    if (err) {
        struct retain_error *named = retain_errorf("%s: %s", path, err->msg);
        retain_error_destroy(err);
        munmap((void *)image, size);
        return named;
    }
    ((struct core_file_owned *)core)->mapped_size = size;
    *core_ret = core;
    return NULL;
}

void core_file_destroy(struct core_file *core)
{
    if (!core)
        return;
    struct core_file_owned *owned = (struct core_file_owned *)core;
    for (size_t i = 0; i < core->nfiles; i++)
        free(core->files[i].path);
    free(core->files);
    free(core->segs);
    if (owned->mapped_size)
        munmap((void *)core->image, owned->mapped_size);
    free(owned);
}
