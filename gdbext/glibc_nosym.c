/* glibc malloc's layout without libc's debug symbols (see glibc_nosym.h).
 * x86_64 only: SIZE_SZ 8, MALLOC_ALIGNMENT 16, MINSIZE 32, 4 KiB pages.
 *
 * Layouts by version (x86_64), from glibc's malloc.c and arena.c:
 *   struct malloc_state, 2.27 (have_fastchunks added) to 2.41 unchanged:
 *     mutex 0, flags 4, have_fastchunks 8, fastbinsY[10] 16, top 96,
 *     last_remainder 104, bins[254] 112, binmap[4] 2144, next 2160,
 *     next_free 2168, attached_threads 2176, system_mem 2184,
 *     max_system_mem 2192; sizeof 2200 (checked against libc6-dbg's DWARF
 *     for 2.36: see tests/test_nosym.py)
 *   heap_info: ar_ptr 0, prev 8, size 16, mprotect_size 24; 2.35 added
 *     pagesize 32 (and padding): sizeof 32 before 2.35, 48 from 2.35
 *   tcache_perthread_struct: counts[64] then entries[64]; counts are char
 *     before 2.30 (576 bytes, a 0x250 chunk), uint16_t from 2.30 (640
 *     bytes, a 0x290 chunk); 2.42 changed it (num_slots, 76 bins): refused
 *   safe-linking (mangled tcache and fastbin next pointers) from 2.32
 *   HEAP_MAX_SIZE 64 MiB (2 * DEFAULT_MMAP_THRESHOLD_MAX) on 64-bit */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "glibc_nosym.h"

typedef unsigned long long ull;   /* for printf */

#define CHUNK_HDR 16u
#define MIN_CHUNK 32u
#define ALIGN_MASK 15u
#define PAGE 4096u
#define PREV_INUSE 1u
#define IS_MMAPPED 2u
#define NON_MAIN_ARENA 4u
#define SIZE_BITS 7u

#define NFASTBINS 10u
#define NBINS_USED 127u           /* bins 1..127 (bin 0 does not exist) */
#define TCACHE_BINS 64u
#define HEAP_MAX_64 (64ull << 20)

/* struct malloc_state, 2.27 to 2.41 */
#define MS_FASTBINS 16u
#define MS_TOP 96u
#define MS_LAST_REMAINDER 104u
#define MS_BINS 112u
#define MS_NEXT 2160u
#define MS_ATTACHED 2176u
#define MS_SYSTEM_MEM 2184u
#define MS_SIZEOF 2200u
/* heap_info */
#define HI_PREV 8u
#define HI_SIZE 16u

#define MAX_ARENAS 65536u
#define MAX_CANDIDATES 16u
#define MAX_DATA (32u << 20)        /* largest libc data range scanned for main_arena */
#define MAX_LIBC_FILE (256u << 20)
#define MAX_RODATA (64u << 20)
#define TLS_WINDOW (64u << 10)      /* bytes below each thread pointer searched */
#define MAX_TLS_OFFSETS 64u
#define WALK_BUDGET (1ull << 27)    /* chunk steps spent looking for sbrk_base, or per arena scan */
#define VERIFY_STEPS (1ull << 20)   /* consistent chunks that confirm a start on a huge heap */
#define WINDOW (1u << 20)
#define MAX_WARNINGS 50u

struct version_layout {
    int minor_lo, minor_hi;
    uint32_t sizeof_heap_info;
    uint32_t tcache_count_size;
    int safe_linking;
};

static const struct version_layout layouts[] = {
    { 27, 29, 32, 1, 0 },
    { 30, 31, 32, 2, 0 },
    { 32, 34, 32, 2, 1 },
    { 35, 41, 48, 2, 1 },
};

const char *glibc_nosym_supported(void)
{
    return "2.27 to 2.41";
}

struct range { uint64_t start, end; };

struct finder {
    struct memory *mem;
    const struct mapping *maps;
    size_t nmaps;
    struct glibc_found *out;
    const struct version_layout *vl;
    uint64_t tcache_chunk;        /* chunk size of a tcache_perthread_struct */
    uint32_t tcache_bytes;        /* sizeof (tcache_perthread_struct) */
    uint32_t entries_off;         /* offsetof (tcache_perthread_struct, entries) */
    /* a read window for chunk walks */
    uint8_t *scratch;
    uint64_t wbase;
    size_t wlen;
    const uint8_t *wdata;
    /* in-use chunks of the tcache's size (user pointers), from chunk walks */
    uint64_t *cands; size_t ncands, capcands;
    /* tcaches found so far (user pointers); sorted where searched */
    uint64_t *tc; size_t ntc, captc;
    uint32_t suppressed;
};

/* ---- small helpers ---- */

static struct retain_error *oom(void) { return retain_errorf("out of memory while looking for glibc's heap"); }

static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t chunksize(uint64_t size_field) { return size_field & ~(uint64_t)SIZE_BITS; }

static uint64_t align_chunk(uint64_t p)
{
    uint64_t misalign = (p + CHUNK_HDR) & ALIGN_MASK;
    return misalign ? p + (ALIGN_MASK + 1 - misalign) : p;
}

static int read64(struct finder *f, uint64_t addr, uint64_t *v)
{
    return memory_read_u64(f->mem, addr, v);
}

static void add_warning(struct glibc_found *o, const char *buf)
{
    char **v = realloc(o->warnings, (o->nwarnings + 1) * sizeof *v);
    if (!v)
        return;
    o->warnings = v;
    if ((v[o->nwarnings] = strdup(buf)))
        o->nwarnings++;
}

__attribute__((format(printf, 2, 3)))
static void warn(struct finder *f, const char *fmt, ...)
{
    if (f->out->nwarnings >= MAX_WARNINGS) {
        f->suppressed++;
        return;
    }
    char buf[320];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    add_warning(f->out, buf);
}

static int push_u64(uint64_t **v, size_t *n, size_t *cap, uint64_t x)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        uint64_t *nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = x;
    return 0;
}

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int sorted_has(const uint64_t *v, size_t n, uint64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x)
            lo = mid + 1;
        else if (v[mid] > x)
            hi = mid;
        else
            return 1;
    }
    return 0;
}

static int tc_has(const struct finder *f, uint64_t t)
{
    for (size_t i = 0; i < f->ntc; i++)
        if (f->tc[i] == t)
            return 1;
    return 0;
}

static int tc_add(struct finder *f, uint64_t t, uint32_t *counter)
{
    if (tc_has(f, t))
        return 0;
    if (push_u64(&f->tc, &f->ntc, &f->captc, t))
        return -1;
    (*counter)++;
    return 0;
}

/* 8 bytes at addr through a window that moves along with chunk walks. */
static int win64(struct finder *f, uint64_t addr, uint64_t *v)
{
    if (addr > UINT64_MAX - 16)
        return -1;
    if (addr < f->wbase || addr + 8 > f->wbase + f->wlen) {
        f->wbase = addr;
        f->wlen = memory_view(f->mem, addr, WINDOW, f->scratch, &f->wdata);
        if (f->wlen < 8) {
            f->wlen = 0;
            return -1;
        }
    }
    memcpy(v, f->wdata + (addr - f->wbase), 8);
    return 0;
}

static const struct mapping *mapping_at(const struct finder *f, uint64_t addr)
{
    size_t lo = 0, hi = f->nmaps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (f->maps[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= f->maps[lo - 1].end)
        return NULL;
    return &f->maps[lo - 1];
}

/* ---- libc's mappings ---- */

/* The length of path without a trailing " (deleted)". */
static size_t path_len(const char *path)
{
    size_t n = strlen(path);
    static const char deleted[] = " (deleted)";
    size_t d = sizeof deleted - 1;
    if (n > d && strcmp(path + n - d, deleted) == 0)
        n -= d;
    return n;
}

/* libc.so.6, libc.so, libc-2.31.so */
static int is_libc(const char *path)
{
    if (!path)
        return 0;
    size_t n = path_len(path);
    const char *base = path;
    for (size_t i = 0; i < n; i++)
        if (path[i] == '/')
            base = path + i + 1;
    size_t bn = n - (size_t)(base - path);
    if (bn >= 7 && strncmp(base, "libc.so", 7) == 0) {
        for (size_t i = 7; i < bn; i++)
            if (!(base[i] == '.' || (base[i] >= '0' && base[i] <= '9')))
                return 0;
        return 1;
    }
    if (bn > 8 && strncmp(base, "libc-", 5) == 0 && strncmp(base + bn - 3, ".so", 3) == 0) {
        for (size_t i = 5; i < bn - 3; i++)
            if (!(base[i] == '.' || (base[i] >= '0' && base[i] <= '9')))
                return 0;
        return 1;
    }
    return 0;
}

static int same_path(const char *a, const char *b)
{
    size_t na = path_len(a), nb = path_len(b);
    return na == nb && strncmp(a, b, na) == 0;
}

/* ---- ELF: machine, build-id, version banner ---- */

static void hex_id(const uint8_t *id, size_t len, char *out, size_t outlen)
{
    size_t k = 0;
    out[0] = '\0';
    for (size_t i = 0; i < len && k + 3 <= outlen; i++, k += 2)
        snprintf(out + k, outlen - k, "%02x", id[i]);
}

/* The NT_GNU_BUILD_ID of a note segment's bytes, as hex; 0 if found. */
static int note_build_id(const uint8_t *p, size_t len, char *hex, size_t hexlen)
{
    size_t off = 0;
    while (off + sizeof(Elf64_Nhdr) <= len) {
        Elf64_Nhdr nh;
        memcpy(&nh, p + off, sizeof nh);
        size_t name_at = off + sizeof nh;
        size_t desc_at = name_at + ((nh.n_namesz + 3u) & ~3u);
        size_t next = desc_at + ((nh.n_descsz + 3u) & ~3u);
        if (next > len || next <= off)
            return -1;
        if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 && memcmp(p + name_at, "GNU", 4) == 0 &&
            nh.n_descsz > 0 && nh.n_descsz <= 64) {
            hex_id(p + desc_at, nh.n_descsz, hex, hexlen);
            return 0;
        }
        off = next;
    }
    return -1;
}

static int ehdr_ok(const Elf64_Ehdr *eh)
{
    return memcmp(eh->e_ident, ELFMAG, SELFMAG) == 0 && eh->e_ident[EI_CLASS] == ELFCLASS64 &&
           eh->e_ident[EI_DATA] == ELFDATA2LSB && eh->e_phentsize == sizeof(Elf64_Phdr) &&
           eh->e_phnum > 0 && eh->e_phnum <= 256;
}

/* libc's ELF header and build-id from target memory (base: where offset 0
 * is mapped). *machine_ret is 0 when the header is unreadable. */
static void memory_elf(struct finder *f, uint64_t base, int *machine_ret, char *hex, size_t hexlen)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[256];
    *machine_ret = 0;
    hex[0] = '\0';
    if (memory_read(f->mem, base, &eh, sizeof eh) != sizeof eh || !ehdr_ok(&eh))
        return;
    *machine_ret = eh.e_machine;
    size_t phlen = (size_t)eh.e_phnum * sizeof *ph;
    if (memory_read(f->mem, base + eh.e_phoff, ph, phlen) != phlen)
        return;
    uint64_t bias = base;
    for (size_t i = 0; i < eh.e_phnum; i++)
        if (ph[i].p_type == PT_LOAD) {
            bias = base - (ph[i].p_vaddr & ~(uint64_t)(PAGE - 1));
            break;
        }
    for (size_t i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_NOTE || ph[i].p_filesz == 0 || ph[i].p_filesz > 4096)
            continue;
        uint8_t note[4096];
        size_t len = (size_t)ph[i].p_filesz;
        if (memory_read(f->mem, bias + ph[i].p_vaddr, note, len) == len &&
            note_build_id(note, len, hex, hexlen) == 0)
            return;
    }
}

/* The same from a file image. */
static void file_elf(const uint8_t *img, size_t size, int *machine_ret, char *hex, size_t hexlen)
{
    Elf64_Ehdr eh;
    *machine_ret = 0;
    hex[0] = '\0';
    if (size < sizeof eh)
        return;
    memcpy(&eh, img, sizeof eh);
    if (!ehdr_ok(&eh) || eh.e_phoff > size || (size_t)eh.e_phnum * sizeof(Elf64_Phdr) > size - eh.e_phoff)
        return;
    *machine_ret = eh.e_machine;
    for (size_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, img + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_NOTE && ph.p_offset <= size && ph.p_filesz <= size - ph.p_offset &&
            note_build_id(img + ph.p_offset, (size_t)ph.p_filesz, hex, hexlen) == 0)
            return;
    }
}

/* "GNU C Library (Debian GLIBC 2.36-9) stable release version 2.36." */
static int parse_banner(const uint8_t *buf, size_t len, struct glibc_found *o)
{
    static const char tag[] = "GNU C Library";
    const uint8_t *p = buf, *end = buf + len;
    while ((p = memmem(p, (size_t)(end - p), tag, sizeof tag - 1)) != NULL) {
        const uint8_t *line_end = p;
        while (line_end < end && line_end - p < 400 && *line_end != '\n' && *line_end != '\0')
            line_end++;
        static const char rv[] = "release version ";
        const uint8_t *v = memmem(p, (size_t)(line_end - p), rv, sizeof rv - 1);
        int major, minor;
        char text[400];
        if (v) {
            size_t n = (size_t)(line_end - (v + sizeof rv - 1));
            memcpy(text, v + sizeof rv - 1, n);
            text[n] = '\0';
            if (sscanf(text, "%d.%d", &major, &minor) == 2) {
                o->major = major;
                o->minor = minor;
                /* the package's own version, in parentheses */
                const uint8_t *lp = memchr(p, '(', (size_t)(v - p)), *rp = lp ? memchr(lp, ')', (size_t)(v - lp)) : NULL;
                if (lp && rp && (size_t)(rp - lp - 1) < sizeof o->release) {
                    memcpy(o->release, lp + 1, (size_t)(rp - lp - 1));
                    o->release[rp - lp - 1] = '\0';
                }
                return 0;
            }
        }
        p += sizeof tag - 1;
    }
    return -1;
}

/* Searches libc's read-only mappings in target memory for the banner. */
static int version_from_memory(struct finder *f, const char *path)
{
    const size_t chunk = WINDOW, overlap = 512;
    uint8_t *buf = malloc(chunk);
    int found = -1;
    if (!buf)
        return -1;
    for (size_t i = 0; i < f->nmaps && found; i++) {
        const struct mapping *m = &f->maps[i];
        if (!m->path || !same_path(m->path, path) || (m->prot & MAP_PROT_W) || !(m->prot & MAP_PROT_R) ||
            m->end - m->start > MAX_RODATA)
            continue;
        for (uint64_t a = m->start; a < m->end && found; a += chunk - overlap) {
            size_t want = m->end - a < chunk ? (size_t)(m->end - a) : chunk;
            size_t got = memory_read(f->mem, a, buf, want);
            if (got == 0)
                break;
            found = parse_banner(buf, got, f->out);
            if (got < want || a + want >= m->end)
                break;
        }
    }
    free(buf);
    return found;
}

/* Reads a whole file (at most MAX_LIBC_FILE bytes). */
static struct retain_error *slurp(const char *path, size_t plen, uint8_t **img_ret, size_t *size_ret)
{
    char name[4096];
    if (plen >= sizeof name)
        return retain_errorf("libc's path is too long");
    memcpy(name, path, plen);
    name[plen] = '\0';
    int fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return retain_errorf("cannot open %s to read glibc's version: %s", name, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) || st.st_size <= 0 || (uint64_t)st.st_size > MAX_LIBC_FILE) {
        close(fd);
        return retain_errorf("cannot read %s to learn glibc's version", name);
    }
    size_t size = (size_t)st.st_size, got = 0;
    uint8_t *img = malloc(size);
    if (!img) {
        close(fd);
        return oom();
    }
    while (got < size) {
        ssize_t n = pread(fd, img + got, size - got, (off_t)got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    *img_ret = img;
    *size_ret = got;
    return NULL;
}

static struct retain_error *find_version(struct finder *f, const char *path, uint64_t base)
{
    struct glibc_found *o = f->out;
    int machine = 0;
    memory_elf(f, base, &machine, o->build_id, sizeof o->build_id);
    if (machine && machine != EM_X86_64)
        return retain_errorf("libc (%s) is not an x86_64 library: retain walks x86_64 glibc heaps only", path);
    if (version_from_memory(f, path) == 0) {
        o->version_source = "memory";
        return NULL;
    }
    /* Cores leave out libc's read-only data: read the file the mapping names. */
    uint8_t *img = NULL;
    size_t size = 0;
    struct retain_error *err = slurp(path, path_len(path), &img, &size);
    if (err)
        return err;
    int fmachine;
    char fid[sizeof o->build_id];
    file_elf(img, size, &fmachine, fid, sizeof fid);
    if (!err && fmachine != EM_X86_64)
        err = retain_errorf("%.*s is not an x86_64 ELF library: retain walks x86_64 glibc heaps only",
                            (int)path_len(path), path);
    if (!err && o->build_id[0] && strcmp(fid, o->build_id) != 0)
        err = retain_errorf("%.*s on this system is not the libc the target ran (build-id %s, the target's %s): "
                            "its glibc version is unknown; install the matching libc6-dbg or analyse on the "
                            "system the core came from", (int)path_len(path), path, fid[0] ? fid : "none", o->build_id);
    if (!err && parse_banner(img, size, o) != 0)
        err = retain_errorf("no \"GNU C Library ... release version\" string in %.*s: is it glibc?",
                            (int)path_len(path), path);
    if (!err) {
        o->version_source = "file";
        if (!o->build_id[0]) {
            snprintf(o->build_id, sizeof o->build_id, "%s", fid);
            warn(f, "libc's build-id is not in the target's memory: assumed %.*s on this system is the "
                 "libc the target ran", (int)path_len(path), path);
        }
    }
    free(img);
    return err;
}

/* ---- main_arena ---- */

struct candidate { uint64_t addr; int initialized; int ring_ok; uint32_t narenas; };

/* Does the struct malloc_state-sized m (at target address a) look like an
 * arena? 1: an initialized arena, 2: main_arena before malloc's first use
 * (all zero but next == itself and attached_threads 1), 0: no. */
static int arena_shape(struct finder *f, const uint8_t *m, uint64_t a)
{
    uint32_t mutex = rd32(m), flags = rd32(m + 4), have_fast = rd32(m + 8);
    uint64_t next = rd64(m + MS_NEXT), top = rd64(m + MS_TOP), sysmem = rd64(m + MS_SYSTEM_MEM);
    if (mutex > 2 || (flags & ~7u) || have_fast > 1 || next == 0 || (next & 7) ||
        (sysmem & (PAGE - 1)) || (sysmem >> 47))
        return 0;
    if (top == 0) {
        if (next != a || sysmem != 0 || rd64(m + MS_ATTACHED) != 1)
            return 0;
        for (uint32_t off = MS_FASTBINS; off < MS_NEXT; off += 8)
            if (rd64(m + off))
                return 0;
        return 2;
    }
    if (top != a + MS_TOP && (top & ALIGN_MASK))
        return 0;
    for (uint32_t i = 0; i < NFASTBINS; i++)
        if (rd64(m + MS_FASTBINS + 8 * i) & ALIGN_MASK)
            return 0;
    if (rd64(m + MS_LAST_REMAINDER) & ALIGN_MASK)
        return 0;
    /* bin_at(i + 1) = &bins[2i] - 16: an empty bin's fd and bk point there */
    uint32_t nonempty = 0;
    for (uint32_t i = 0; i < NBINS_USED; i++) {
        uint64_t bin = a + MS_TOP + 16ull * i;
        uint64_t fd = rd64(m + MS_BINS + 16 * i), bk = rd64(m + MS_BINS + 16 * i + 8);
        if (fd == bin && bk == bin)
            continue;
        if (!fd || !bk || (fd & ALIGN_MASK) || (bk & ALIGN_MASK))
            return 0;
        nonempty++;
    }
    if (top == a + MS_TOP && nonempty)
        return 0;
    /* a list's ends link back to its bin: fd->bk == bin, bk->fd == bin */
    for (uint32_t i = 0; i < NBINS_USED && nonempty; i++) {
        uint64_t bin = a + MS_TOP + 16ull * i;
        uint64_t fd = rd64(m + MS_BINS + 16 * i), bk = rd64(m + MS_BINS + 16 * i + 8), v;
        if (fd == bin && bk == bin)
            continue;
        if ((!read64(f, fd + 24, &v) && v != bin) || (!read64(f, bk + 16, &v) && v != bin))
            return 0;
    }
    return 1;
}

/* main_arena's ring: every other arena is placed right after its first
 * heap's heap_info, whose ar_ptr points back at it. */
static int ring_ok(struct finder *f, uint64_t main, uint32_t *narenas_ret)
{
    uint64_t a, next;
    uint32_t n = 1;
    if (read64(f, main + MS_NEXT, &a))
        return 0;
    while (a != main) {
        uint64_t ar_ptr;
        if (!a || (a & 7) || ++n > MAX_ARENAS || read64(f, a - f->vl->sizeof_heap_info, &ar_ptr) ||
            ar_ptr != a || read64(f, a + MS_NEXT, &next))
            return 0;
        a = next;
    }
    *narenas_ret = n;
    return 1;
}

/* libc's writable data: its rw mappings and the anonymous one right after
 * them (.bss), merged where contiguous. */
static struct retain_error *data_ranges(struct finder *f, const char *path, struct range **v_ret, size_t *n_ret)
{
    struct range *v = NULL;
    size_t n = 0;
    for (size_t i = 0; i < f->nmaps; i++) {
        const struct mapping *m = &f->maps[i];
        if (!(m->prot & MAP_PROT_W) || !m->path || !same_path(m->path, path))
            continue;
        uint64_t end = m->end;
        if (i + 1 < f->nmaps && f->maps[i + 1].start == end && (f->maps[i + 1].prot & MAP_PROT_W) &&
            (!f->maps[i + 1].path || !f->maps[i + 1].path[0]))
            end = f->maps[i + 1].end;
        if (n && v[n - 1].end == m->start) {
            v[n - 1].end = end;
            continue;
        }
        struct range *nv = realloc(v, (n + 1) * sizeof *nv);
        if (!nv) {
            free(v);
            return oom();
        }
        v = nv;
        v[n++] = (struct range){ m->start, end };
    }
    *v_ret = v;
    *n_ret = n;
    return NULL;
}

static struct retain_error *find_main_arena(struct finder *f, const char *path, struct candidate *found)
{
    struct range *ranges = NULL;
    size_t nranges = 0;
    struct candidate cands[MAX_CANDIDATES];
    size_t ncands = 0;
    struct retain_error *err = data_ranges(f, path, &ranges, &nranges);
    if (err)
        return err;
    if (nranges == 0) {
        free(ranges);
        return retain_errorf("libc's writable data (%.*s) is not among the target's mappings%s: "
                             "main_arena cannot be found", (int)path_len(path), path,
                             !strcmp(memory_kind(f->mem), "core") ? " (left out of the core?)" : "");
    }
    for (size_t r = 0; r < nranges && !err; r++) {
        uint64_t len64 = ranges[r].end - ranges[r].start;
        if (len64 > MAX_DATA || len64 < MS_SIZEOF)
            continue;
        size_t len = (size_t)len64;
        uint8_t *buf = calloc(1, len);
        if (!buf) {
            err = oom();
            break;
        }
        /* unreadable pages stay zero, which no arena looks like */
        for (uint64_t a = ranges[r].start; a < ranges[r].end; a += PAGE)
            memory_read(f->mem, a, buf + (a - ranges[r].start), PAGE);
        for (size_t off = (size_t)((8 - (ranges[r].start & 7)) & 7); off + MS_SIZEOF <= len; off += 8) {
            uint64_t a = ranges[r].start + off;
            int shape = arena_shape(f, buf + off, a);
            if (!shape)
                continue;
            if (ncands == MAX_CANDIDATES) {
                err = retain_errorf("more than %u places in libc's data look like main_arena: cannot tell "
                                    "which one it is", MAX_CANDIDATES);
                break;
            }
            struct candidate c = { a, shape == 1, 0, 1 };
            c.ring_ok = shape == 2 ? 1 : ring_ok(f, a, &c.narenas);
            cands[ncands++] = c;
        }
        free(buf);
    }
    free(ranges);
    if (err)
        return err;
    /* The strongest evidence wins: an arena with a heap and a sound ring,
     * then one with no heap yet (top is its unsorted bin) and a sound ring,
     * then one whose ring does not check out, then malloc-never-ran. */
    size_t best = SIZE_MAX, nbest = 0;
    int best_score = -1;
    for (size_t i = 0; i < ncands; i++) {
        uint64_t top = 0;
        read64(f, cands[i].addr + MS_TOP, &top);
        int score = !cands[i].initialized ? 0 : !cands[i].ring_ok ? 1 : top == cands[i].addr + MS_TOP ? 2 : 3;
        if (score > best_score) {
            best_score = score;
            best = i;
            nbest = 1;
        } else if (score == best_score) {
            nbest++;
        }
    }
    if (nbest == 0)
        return retain_errorf("main_arena was not found in libc's data (glibc %d.%d, %.*s): malloc's state "
                             "may be corrupt; install libc6-dbg to use libc's debug symbols instead",
                             f->out->major, f->out->minor, (int)path_len(path), path);
    if (nbest > 1)
        return retain_errorf("%zu places in libc's data look like main_arena (0x%llx, ...): cannot tell "
                             "which one it is; install libc6-dbg to use libc's debug symbols instead",
                             nbest, (ull)cands[best].addr);
    *found = cands[best];
    if (found->initialized && !found->ring_ok)
        warn(f, "the arena ring of main_arena 0x%llx does not check out (an arena is not where its heap "
             "says): the other arenas may not all be walked", (ull)found->addr);
    return NULL;
}

/* ---- chunk walks ---- */

static int push_candidate(struct finder *f, uint64_t mem)
{
    return push_u64(&f->cands, &f->ncands, &f->capcands, mem);
}

/* Walks chunks from p; 1 if they end exactly at limit (or, when fenceposts
 * is set, at a heap's closing fencepost chunk before it), or if max_steps
 * chunks in a row were consistent (a huge heap: its start is confirmed
 * without a second full walk; glibc_walk checks the rest). Each step costs
 * one unit of *budget. In-use chunks of the tcache's size are added to
 * f->cands when the walk succeeds. */
static int walk_to(struct finder *f, uint64_t p, uint64_t limit, int main_heap, int fenceposts,
                   uint64_t *budget, uint64_t max_steps)
{
    size_t saved = f->ncands;
    uint64_t size, nsize;
    if (win64(f, p + 8, &size))
        return 0;
    while (p < limit) {
        uint64_t cs = chunksize(size);
        if (fenceposts && cs == CHUNK_HDR && p + CHUNK_HDR <= limit)
            return 1;
        if (cs < MIN_CHUNK || (cs & ALIGN_MASK) || cs > limit - p || (size & IS_MMAPPED) ||
            (main_heap && (size & NON_MAIN_ARENA)) || *budget == 0)
            goto fail;
        (*budget)--;
        if (max_steps-- == 0)
            return 1;
        if (win64(f, p + cs + 8, &nsize))
            goto fail;
        if (cs == f->tcache_chunk && (nsize & PREV_INUSE) && push_candidate(f, p + CHUNK_HDR))
            goto fail;
        p += cs;
        size = nsize;
        /* stream the pages ahead in, as glibc_walk does: the loads depend
         * on each other */
        uint64_t ahead = ((p >> 12) + 2) << 12;
        if ((p & (PAGE - 1)) < cs && ahead >= f->wbase && ahead + PAGE <= f->wbase + f->wlen)
            memory_prefetch_page(f->wdata + (ahead - f->wbase));
    }
    if (p == limit)
        return 1;
fail:
    f->ncands = saved;
    return 0;
}

/* mp_.sbrk_base: where the main heap's first chunk is. */
static void find_sbrk_base(struct finder *f, uint64_t main, uint64_t top)
{
    struct glibc_found *o = f->out;
    uint64_t size, sysmem, budget = WALK_BUDGET;
    o->sbrk_source = "none";
    if (read64(f, top + 8, &size) || read64(f, main + MS_SYSTEM_MEM, &sysmem)) {
        warn(f, "main_arena.top 0x%llx is unreadable: the main heap is not walked", (ull)top);
        return;
    }
    uint64_t top_end = top + chunksize(size);
    /* A contiguous main heap: system_mem is what sbrk gave, from sbrk_base
     * up to the end of top. */
    if (sysmem && sysmem <= top_end && top_end - sysmem <= top &&
        walk_to(f, align_chunk(top_end - sysmem), top, 1, 0, &budget, VERIFY_STEPS)) {
        o->lay.sbrk_base = top_end - sysmem;
        o->sbrk_source = "system_mem";
        return;
    }
    const struct mapping *m = mapping_at(f, top);
    if (m) {
        for (uint64_t p = m->start; p <= top && budget; p += PAGE) {
            if (walk_to(f, align_chunk(p), top, 1, 0, &budget, VERIFY_STEPS)) {
                o->lay.sbrk_base = p;
                o->sbrk_source = "mapping";
                return;
            }
        }
    }
    warn(f, "the start of the main heap (mp_.sbrk_base) was not found below main_arena.top 0x%llx: "
         "the main arena's chunks are not walked", (ull)top);
}

/* Collects tcache-sized in-use chunks from every heap of a non-main arena. */
static void scan_arena(struct finder *f, uint64_t arena)
{
    uint64_t top, h, budget = WALK_BUDGET;
    uint32_t hi = f->vl->sizeof_heap_info;
    if (read64(f, arena + MS_TOP, &top))
        return;
    h = top & ~(HEAP_MAX_64 - 1);
    for (uint32_t n = 0; h && n < 4096; n++) {
        uint64_t ar_ptr, hsize, prev;
        if (read64(f, h, &ar_ptr) || ar_ptr != arena || read64(f, h + HI_SIZE, &hsize) ||
            read64(f, h + HI_PREV, &prev) || hsize > HEAP_MAX_64 || hsize < hi + MIN_CHUNK)
            return;
        uint64_t first = h + hi == arena ? arena + MS_SIZEOF : h + hi;
        uint64_t limit = top >= h && top < h + hsize ? top : h + hsize - CHUNK_HDR;
        walk_to(f, align_chunk(first), limit, 0, limit != top, &budget, UINT64_MAX);
        if (h + hi == arena)
            return;
        h = prev;
    }
}

/* ---- tcaches ---- */

/* Is t (a user pointer) a tcache_perthread_struct? In use, of the right
 * size, every bin's count equal to its chain's length, every entry a chunk
 * of its bin's size, each chain ending in NULL. nonempty: also require
 * at least one cached chunk (for candidates with no other evidence). */
static int tcache_valid(struct finder *f, uint64_t t, int nonempty)
{
    uint64_t size, nsize;
    uint8_t buf[TCACHE_BINS * 2 + TCACHE_BINS * 8];
    if (!t || (t & ALIGN_MASK) || t < CHUNK_HDR || read64(f, t - 8, &size) ||
        chunksize(size) != f->tcache_chunk || (size & IS_MMAPPED) ||
        read64(f, t - CHUNK_HDR + f->tcache_chunk + 8, &nsize) || !(nsize & PREV_INUSE) ||
        memory_read(f->mem, t, buf, f->tcache_bytes) != f->tcache_bytes)
        return 0;
    uint32_t cs = f->vl->tcache_count_size;
    uint64_t total = 0;
    for (uint32_t i = 0; i < TCACHE_BINS; i++) {
        uint32_t count = buf[i * cs];
        if (cs == 2)
            count |= (uint32_t)buf[i * cs + 1] << 8;
        uint64_t e = rd64(buf + f->entries_off + 8 * i), k = 0;
        if ((count == 0) != (e == 0))
            return 0;
        while (e) {
            uint64_t esize, next;
            if ((e & ALIGN_MASK) || ++k > count || read64(f, e - 8, &esize) ||
                chunksize(esize) != MIN_CHUNK + 16ull * i || read64(f, e, &next))
                return 0;
            e = f->vl->safe_linking ? (e >> 12) ^ next : next;
        }
        if (k != count)
            return 0;
        total += count;
    }
    return !nonempty || total > 0;
}

/* The TLS offset of libc's `tcache` (static TLS, the same for every
 * thread): a word below one thread's pointer that holds a known tcache,
 * where every other thread holds 0 or another valid tcache. Every offset
 * that passes contributes; what it yields is validated either way. */
static struct retain_error *tcaches_from_tls(struct finder *f, const uint64_t *tps, size_t ntps)
{
    struct glibc_found *o = f->out;
    int64_t offs[MAX_TLS_OFFSETS];
    size_t noffs = 0;
    uint64_t *known = malloc((f->ntc ? f->ntc : 1) * sizeof *known);
    uint8_t *win = malloc(TLS_WINDOW);
    struct retain_error *err = NULL;
    if (!known || !win) {
        free(known);
        free(win);
        return oom();
    }
    memcpy(known, f->tc, f->ntc * sizeof *known);
    qsort(known, f->ntc, sizeof *known, u64_cmp);
    for (size_t t = 0; t < ntps && noffs < MAX_TLS_OFFSETS; t++) {
        uint64_t tp = tps[t];
        const struct mapping *m = tp >= 8 ? mapping_at(f, tp - 8) : NULL;
        if (!m || (tp & 7))
            continue;
        uint64_t lo = tp - m->start > TLS_WINDOW ? tp - TLS_WINDOW : m->start;
        size_t len = memory_read(f->mem, lo, win, (size_t)(tp - lo));
        for (size_t off = 0; off + 8 <= len && noffs < MAX_TLS_OFFSETS; off += 8) {
            if (!sorted_has(known, f->ntc, rd64(win + off)))
                continue;
            int64_t rel = (int64_t)(lo + off - tp);
            size_t j = 0;
            while (j < noffs && offs[j] != rel)
                j++;
            if (j == noffs)
                offs[noffs++] = rel;
        }
    }
    uint64_t *found = NULL;
    size_t nfound = 0, capfound = 0;
    size_t best_matches = 0;
    for (size_t j = 0; j < noffs && !err; j++) {
        size_t mark = nfound, matches = 0;
        int consistent = 1;
        for (size_t t = 0; t < ntps && consistent; t++) {
            uint64_t v;
            if (read64(f, tps[t] + (uint64_t)offs[j], &v) || v == 0)
                continue;
            if (sorted_has(known, f->ntc, v)) {
                matches++;
                continue;
            }
            if (tcache_valid(f, v, 0)) {
                if (push_u64(&found, &nfound, &capfound, v))
                    err = oom();
            } else {
                consistent = 0;
            }
        }
        if (!consistent) {
            nfound = mark;
            continue;
        }
        /* reported: the offset that holds the most known tcaches, then
         * the nearest the thread pointer */
        if (!o->tls_offset_found || matches > best_matches ||
            (matches == best_matches && offs[j] > o->tls_offset)) {
            o->tls_offset = offs[j];
            best_matches = matches;
        }
        o->tls_offset_found = 1;
    }
    for (size_t i = 0; i < nfound && !err; i++)
        if (tc_add(f, found[i], &o->ntcache_tls))
            err = oom();
    free(found);
    free(known);
    free(win);
    return err;
}

/* ---- entry point ---- */

void glibc_found_deinit(struct glibc_found *f)
{
    if (!f)
        return;
    free(f->lay.tcaches);
    free(f->libc_path);
    for (uint32_t i = 0; i < f->nwarnings; i++)
        free(f->warnings[i]);
    free(f->warnings);
    memset(f, 0, sizeof *f);
}

static struct retain_error *find_tcaches(struct finder *f, uint64_t main, const uint64_t *tps, size_t ntps)
{
    struct glibc_found *o = f->out;
    struct retain_error *err;
    uint64_t a, *arenas = NULL;
    size_t narenas = 0, caparenas = 0;
    /* each arena's first chunk: the tcache of the thread that made it */
    if (o->lay.sbrk_base) {
        uint64_t t = align_chunk(o->lay.sbrk_base) + CHUNK_HDR;
        if (tcache_valid(f, t, 0) && tc_add(f, t, &o->ntcache_position))
            return oom();
    }
    if (read64(f, main + MS_NEXT, &a))
        a = main;
    for (uint32_t n = 0; a != main && a && n < MAX_ARENAS; n++) {
        if (push_u64(&arenas, &narenas, &caparenas, a)) {
            free(arenas);
            return oom();
        }
        uint64_t t = align_chunk(a + MS_SIZEOF) + CHUNK_HDR;
        if (tcache_valid(f, t, 0) && tc_add(f, t, &o->ntcache_position)) {
            free(arenas);
            return oom();
        }
        if (read64(f, a + MS_NEXT, &a))
            break;
    }
    if (f->ntc && ntps && (err = tcaches_from_tls(f, tps, ntps))) {
        free(arenas);
        return err;
    }
    if (!o->tls_offset_found && (ntps == 0 || f->ntc < ntps)) {
        /* Threads that share an arena have their tcaches further in. */
        for (size_t i = 0; i < narenas; i++)
            scan_arena(f, arenas[i]);
        for (size_t i = 0; i < f->ncands; i++)
            if (!tc_has(f, f->cands[i]) && tcache_valid(f, f->cands[i], 1) &&
                tc_add(f, f->cands[i], &o->ntcache_scan)) {
                free(arenas);
                return oom();
            }
        if (f->ntc && ntps && (err = tcaches_from_tls(f, tps, ntps))) {
            free(arenas);
            return err;
        }
    }
    free(arenas);
    if (ntps && !o->tls_offset_found && f->ntc < ntps)
        warn(f, "found %zu tcache%s for %zu threads from the heap's structure: free blocks cached by a "
             "thread whose tcache was not found are reported in use", f->ntc, f->ntc == 1 ? "" : "s", ntps);
    return NULL;
}

static struct retain_error *find_all(struct finder *f, const uint64_t *tps, size_t ntps)
{
    struct glibc_found *o = f->out;
    struct retain_error *err;
    const char *path = NULL;
    uint64_t base = 0;
    f->nmaps = memory_mappings(f->mem, &f->maps);
    if (f->nmaps == 0)
        return retain_errorf("the target's memory mappings are unknown, so libc's data cannot be searched "
                             "for main_arena: install libc6-dbg to use libc's debug symbols instead");
    for (size_t i = 0; i < f->nmaps; i++)
        if (is_libc(f->maps[i].path) && (!path || (f->maps[i].offset == 0 && !base))) {
            path = f->maps[i].path;
            if (f->maps[i].offset == 0)
                base = f->maps[i].start;
        }
    if (!path)
        return retain_errorf("no libc.so is mapped in the target (a statically linked program, or another C "
                             "library?): retain finds glibc's heap without debug symbols only in a dynamically "
                             "linked glibc program");
    if (!(o->libc_path = strndup(path, path_len(path))))
        return oom();
    if (!base)
        return retain_errorf("the start of libc (%s) is not mapped in the target", o->libc_path);
    if ((err = find_version(f, path, base)))
        return err;
    for (size_t i = 0; i < sizeof layouts / sizeof *layouts && !f->vl; i++)
        if (o->major == 2 && o->minor >= layouts[i].minor_lo && o->minor <= layouts[i].minor_hi)
            f->vl = &layouts[i];
    if (!f->vl)
        return retain_errorf("glibc %d.%d is not supported without libc's debug symbols (supported: %s): "
                             "install libc6-dbg or your distribution's glibc debug package",
                             o->major, o->minor, glibc_nosym_supported());
    f->entries_off = TCACHE_BINS * f->vl->tcache_count_size;
    f->tcache_bytes = f->entries_off + TCACHE_BINS * 8;
    f->tcache_chunk = (f->tcache_bytes + 8 + ALIGN_MASK) & ~(uint64_t)ALIGN_MASK;
    struct glibc_layout *lay = &o->lay;
    lay->off_fastbins = MS_FASTBINS;
    lay->nfastbins = NFASTBINS;
    lay->off_top = MS_TOP;
    lay->off_next = MS_NEXT;
    lay->off_system_mem = MS_SYSTEM_MEM;
    lay->sizeof_malloc_state = MS_SIZEOF;
    lay->sizeof_heap_info = f->vl->sizeof_heap_info;
    lay->off_heap_info_size = HI_SIZE;
    lay->off_heap_info_prev = HI_PREV;
    lay->heap_max_size = HEAP_MAX_64;
    lay->safe_linking = f->vl->safe_linking;
    lay->tcache_bins = TCACHE_BINS;
    lay->tcache_count_size = f->vl->tcache_count_size;

    struct candidate main = { 0, 0, 0, 0 };
    if ((err = find_main_arena(f, path, &main)))
        return err;
    lay->main_arena = main.addr;
    o->narenas = main.narenas;
    o->initialized = main.initialized;
    o->sbrk_source = "none";
    if (!main.initialized)
        return NULL;   /* malloc never ran: no heap, no tcache */
    uint64_t top;
    if (read64(f, main.addr + MS_TOP, &top))
        return retain_errorf("cannot read main_arena at 0x%llx", (ull)main.addr);
    if (top != main.addr + MS_TOP)
        find_sbrk_base(f, main.addr, top);
    return find_tcaches(f, main.addr, tps, ntps);
}

struct retain_error *glibc_find_layout(struct memory *mem, const uint64_t *thread_pointers,
                                       size_t nthreads, struct glibc_found *out)
{
    struct finder f = { .mem = mem, .out = out };
    memset(out, 0, sizeof *out);
    out->version_source = "none";
    out->sbrk_source = "none";
    if (!(f.scratch = malloc(WINDOW)))
        return oom();
    struct retain_error *err = find_all(&f, thread_pointers, nthreads);
    if (!err && f.suppressed) {
        char buf[64];
        snprintf(buf, sizeof buf, "... and %u more warnings", f.suppressed);
        add_warning(out, buf);
    }
    if (!err) {
        if (f.ntc)
            qsort(f.tc, f.ntc, sizeof *f.tc, u64_cmp);
        out->lay.tcaches = f.tc;
        out->lay.ntcaches = (uint32_t)f.ntc;
        f.tc = NULL;
    }
    free(f.tc);
    free(f.cands);
    free(f.scratch);
    return err;
}
