/* Unit tests for error.c, elfcore.c and memory.c: a synthetic core built in
 * memory (then truncated and corrupted), the live process itself, and a
 * fake callback reader. */
#include <elf.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "check.h"
#include "elfcore.h"
#include "error.h"
#include "memory.h"

/* ---- the synthetic core --------------------------------------------------
 * ELF header, 3 program headers (LOAD B, NOTE, LOAD A: out of order on
 * purpose), an NT_FILE note, then the bytes of
 *   A: [0x400000, 0x401000) r-x, all present, file offset 0x1000
 *   B: [0x401000, 0x403000) rw-, first 0x1000 present, file offset 0x2000
 * NT_FILE: A is /bin/prog at page 0, B is "/lib/with space.so" at page 1. */

#define A_START 0x400000u
#define B_START 0x401000u
#define B_END 0x403000u
#define IMAGE_SIZE 0x3000u

static uint8_t pattern(uint64_t addr)
{
    return (uint8_t)(addr * 7 + (addr >> 8));
}

static void put(uint8_t *image, size_t off, const void *p, size_t n)
{
    memcpy(image + off, p, n);
}

static size_t put_note(uint8_t *image, size_t off)
{
    static const char paths[] = "/bin/prog\0/lib/with space.so";
    uint64_t desc[2 + 2 * 3] = {
        2, 4096,
        A_START, B_START, 0,
        B_START, B_END, 1,
    };
    uint32_t descsz = (uint32_t)(sizeof desc + sizeof paths);
    uint32_t hdr[3] = { 5, descsz, 0x46494c45 };
    put(image, off, hdr, sizeof hdr);
    put(image, off + 12, "CORE\0\0\0", 8);
    put(image, off + 20, desc, sizeof desc);
    put(image, off + 20 + sizeof desc, paths, sizeof paths);
    return 20 + ((descsz + 3u) & ~3u);
}

static Elf64_Phdr load(uint64_t vaddr, uint64_t memsz, uint64_t off, uint64_t filesz,
                       uint32_t flags)
{
    return (Elf64_Phdr){ .p_type = PT_LOAD, .p_flags = flags, .p_offset = off,
                         .p_vaddr = vaddr, .p_filesz = filesz, .p_memsz = memsz,
                         .p_align = 4096 };
}

/* Returns a malloc'd image of IMAGE_SIZE bytes. */
static uint8_t *build_core(void)
{
    uint8_t *image = calloc(1, IMAGE_SIZE);
    Elf64_Ehdr eh = {
        .e_ident = { ELFMAG0, ELFMAG1, ELFMAG2, ELFMAG3, ELFCLASS64, ELFDATA2LSB, EV_CURRENT },
        .e_type = ET_CORE, .e_machine = EM_X86_64, .e_version = EV_CURRENT,
        .e_phoff = sizeof(Elf64_Ehdr), .e_ehsize = sizeof(Elf64_Ehdr),
        .e_phentsize = sizeof(Elf64_Phdr), .e_phnum = 3,
    };
    put(image, 0, &eh, sizeof eh);
    size_t note_off = sizeof eh + 3 * sizeof(Elf64_Phdr);
    size_t note_len = put_note(image, note_off);
    Elf64_Phdr ph[3] = {
        load(B_START, B_END - B_START, 0x2000, 0x1000, PF_R | PF_W),
        { .p_type = PT_NOTE, .p_offset = note_off, .p_filesz = note_len, .p_align = 4 },
        load(A_START, B_START - A_START, 0x1000, 0x1000, PF_R | PF_X),
    };
    put(image, sizeof eh, ph, sizeof ph);
    for (uint64_t a = A_START; a < B_START + 0x1000; a++)
        image[0x1000 + (a - A_START)] = pattern(a);
    return image;
}

static int matches(const uint8_t *p, uint64_t addr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != pattern(addr + i))
            return 0;
    return 1;
}

/* Writes image to a new temp file; returns its malloc'd name. */
static char *write_temp(const uint8_t *image, size_t size)
{
    char *name = strdup("/tmp/retain-test-core-XXXXXX");
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    if (fd < 0)
        return name;
    CHECK(write(fd, image, size) == (ssize_t)size);
    close(fd);
    return name;
}

static void test_parse(const uint8_t *image)
{
    struct core_file *core;
    struct retain_error *err = core_file_parse(image, IMAGE_SIZE, &core);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        return;
    }
    CHECK(core->nsegs == 2);
    CHECK(core->segs[0].vaddr == A_START && core->segs[0].memsz == 0x1000);
    CHECK(core->segs[0].offset == 0x1000 && core->segs[0].filesz == 0x1000);
    CHECK(core->segs[0].prot == (MAP_PROT_R | MAP_PROT_X));
    CHECK(core->segs[1].vaddr == B_START && core->segs[1].memsz == 0x2000);
    CHECK(core->segs[1].filesz == 0x1000);
    CHECK(core->segs[1].prot == (MAP_PROT_R | MAP_PROT_W));
    CHECK(core->nfiles == 2);
    CHECK(core->nfiles == 2 && strcmp(core->files[0].path, "/bin/prog") == 0);
    CHECK(core->nfiles == 2 && strcmp(core->files[1].path, "/lib/with space.so") == 0);
    CHECK(core->nfiles == 2 && core->files[1].offset == 4096);
    CHECK(core->nfiles == 2 && core->files[1].start == B_START && core->files[1].end == B_END);
    core_file_destroy(core);
}

static void test_core_views(struct memory *mem)
{
    static uint8_t big_scratch[0x2000];
    uint8_t scratch[64];
    const uint8_t *p;

    /* inside one segment: a pointer into the mmap, no copy */
    CHECK(memory_view(mem, A_START + 0x10, 16, scratch, &p) == 16);
    CHECK(p != scratch && matches(p, A_START + 0x10, 16));
    /* across the A/B boundary: copied */
    CHECK(memory_view(mem, B_START - 8, 16, scratch, &p) == 16);
    CHECK(p == scratch && matches(p, B_START - 8, 16));
    /* running into B's absent half: the present prefix, still zero-copy */
    CHECK(memory_view(mem, B_START + 0x1000 - 8, 16, scratch, &p) == 8);
    CHECK(p != scratch && matches(p, B_START + 0x1000 - 8, 8));
    /* from A across into B and on into B's absent half: copied prefix */
    CHECK(memory_view(mem, B_START - 8, 0x1000 + 16, big_scratch, &p) == 0x1000 + 8);
    CHECK(p == big_scratch && matches(p, B_START - 8, 0x1000 + 8));
    CHECK(memory_view(mem, B_START + 0x1000, 8, scratch, &p) == 0);
    CHECK(memory_view(mem, B_END, 8, scratch, &p) == 0);
    CHECK(memory_view(mem, A_START - 8, 16, scratch, &p) == 0);
    CHECK(memory_view(mem, UINT64_MAX - 3, 16, scratch, &p) == 0);

    uint64_t v = 0, want;
    CHECK(memory_read_u64(mem, A_START + 8, &v) == 0);
    memcpy(&want, (uint8_t[8]){ pattern(A_START + 8), pattern(A_START + 9), pattern(A_START + 10),
                                pattern(A_START + 11), pattern(A_START + 12),
                                pattern(A_START + 13), pattern(A_START + 14),
                                pattern(A_START + 15) }, 8);
    CHECK(v == want);
    CHECK(memory_read_u64(mem, B_START + 0x1000, &v) == -1);
    CHECK(memory_read_u64(mem, B_START + 0x1000 - 4, &v) == -1);

    uint8_t big[0x2000];
    CHECK(memory_read(mem, A_START, big, sizeof big) == 0x2000);
    CHECK(matches(big, A_START, sizeof big));
}

static void test_core_file(const uint8_t *image)
{
    char *name = write_temp(image, IMAGE_SIZE);
    struct memory *mem;
    struct retain_error *err = memory_open_core(name, &mem);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        unlink(name);
        free(name);
        return;
    }
    CHECK(strcmp(memory_kind(mem), "core") == 0);

    const struct mapping *maps;
    CHECK(memory_mappings(mem, &maps) == 2);
    CHECK(maps[0].start == A_START && maps[0].end == B_START);
    CHECK(maps[0].path && strcmp(maps[0].path, "/bin/prog") == 0 && maps[0].offset == 0);
    CHECK(maps[0].prot == (MAP_PROT_R | MAP_PROT_X));
    CHECK(maps[1].start == B_START && maps[1].end == B_END);
    CHECK(maps[1].path && strcmp(maps[1].path, "/lib/with space.so") == 0);
    CHECK(maps[1].offset == 4096 && maps[1].prot == (MAP_PROT_R | MAP_PROT_W));

    const struct mapping *missing;
    CHECK(memory_missing(mem, &missing) == 1);
    CHECK(missing[0].start == B_START + 0x1000 && missing[0].end == B_END);

    test_core_views(mem);
    memory_destroy(mem);
    unlink(name);
    free(name);
}

/* A core cut inside A's bytes: opens, both tails listed as missing. */
static void test_truncated_file(const uint8_t *image)
{
    char *name = write_temp(image, 0x1800);
    struct memory *mem;
    struct retain_error *err = memory_open_core(name, &mem);
    CHECK(err == NULL);
    if (!err) {
        const struct mapping *missing;
        CHECK(memory_missing(mem, &missing) == 2);
        CHECK(missing[0].start == A_START + 0x800 && missing[0].end == B_START);
        CHECK(missing[1].start == B_START && missing[1].end == B_END);
        uint8_t scratch[32];
        const uint8_t *p;
        CHECK(memory_view(mem, A_START + 0x800 - 4, 32, scratch, &p) == 4);
        CHECK(matches(p, A_START + 0x800 - 4, 4));
        memory_destroy(mem);
    }
    retain_error_destroy(err);
    unlink(name);
    free(name);
}

static void test_bad_files(const uint8_t *image)
{
    struct memory *mem;
    struct retain_error *err = memory_open_core("/nonexistent/retain.core", &mem);
    CHECK(err && mem == NULL && strstr(err->msg, "/nonexistent/retain.core"));
    retain_error_destroy(err);

    char *name = write_temp((const uint8_t *)"#!/bin/sh\necho hello\n", 21);
    err = memory_open_core(name, &mem);
    CHECK(err && strstr(err->msg, name) && strstr(err->msg, "not an ELF file"));
    retain_error_destroy(err);
    unlink(name);
    free(name);

    uint8_t exec_image[IMAGE_SIZE];
    memcpy(exec_image, image, IMAGE_SIZE);
    exec_image[16] = ET_EXEC;
    name = write_temp(exec_image, IMAGE_SIZE);
    err = memory_open_core(name, &mem);
    CHECK(err && strstr(err->msg, name) && strstr(err->msg, "not a core file"));
    retain_error_destroy(err);
    unlink(name);
    free(name);

    name = write_temp(image, 0);
    err = memory_open_core(name, &mem);
    CHECK(err && strstr(err->msg, "empty"));
    retain_error_destroy(err);
    unlink(name);
    free(name);

    err = memory_open_core("/tmp", &mem);
    CHECK(err && strstr(err->msg, "not a regular file"));
    retain_error_destroy(err);
}

/* What a successfully parsed core must always satisfy, however corrupt. */
static int core_sane(const struct core_file *core)
{
    for (size_t i = 0; i < core->nsegs; i++) {
        const struct core_segment *s = &core->segs[i];
        if (s->filesz > s->memsz || s->offset > core->size ||
            s->filesz > core->size - s->offset || s->vaddr + s->memsz < s->vaddr)
            return 0;
        if (i && s->vaddr < core->segs[i - 1].vaddr + core->segs[i - 1].memsz)
            return 0;
    }
    for (size_t i = 0; i < core->nfiles; i++)
        if (!core->files[i].path || core->files[i].start > core->files[i].end)
            return 0;
    return 1;
}

/* Parses an exact-size heap copy, so ASan sees any read past its end. */
static int parse_copy(const uint8_t *image, size_t size, int *opened)
{
    uint8_t *copy = malloc(size ? size : 1);
    memcpy(copy, image, size);
    struct core_file *core;
    struct retain_error *err = core_file_parse(copy, size, &core);
    int ok;
    if (err) {
        ok = core == NULL && err->msg[0] != '\0';
        retain_error_destroy(err);
    } else {
        ok = core_sane(core);
        core_file_destroy(core);
        (*opened)++;
    }
    free(copy);
    return ok;
}

static void test_truncations(const uint8_t *image)
{
    int bad = 0, opened = 0;
    for (size_t len = 0; len <= IMAGE_SIZE; len += len < 256 ? 1 : 61)
        bad += !parse_copy(image, len, &opened);
    bad += !parse_copy(image, IMAGE_SIZE, &opened);
    CHECK(bad == 0);
    CHECK(opened > 0);
}

static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

/* Opens a corrupt image through the file path too, and reads all over it. */
static void open_corrupt_file(const uint8_t *image, uint64_t *rng, volatile unsigned *sink)
{
    char *name = write_temp(image, IMAGE_SIZE);
    struct memory *mem;
    struct retain_error *err = memory_open_core(name, &mem);
    if (err) {
        CHECK(mem == NULL && err->msg[0] != '\0');
        retain_error_destroy(err);
    } else {
        const struct mapping *maps;
        size_t n = memory_mappings(mem, &maps);
        uint8_t scratch[256];
        const uint8_t *p;
        for (size_t i = 0; i < n; i++) {
            uint64_t addr = maps[i].start + xorshift(rng) % (maps[i].end - maps[i].start);
            size_t got = memory_view(mem, addr, sizeof scratch, scratch, &p);
            CHECK(got <= sizeof scratch);
            for (size_t j = 0; j < got; j++)   /* touch every byte, so a bad pointer shows */
                *sink += p[j];
        }
        memory_destroy(mem);
    }
    unlink(name);
    free(name);
}

static void test_corruptions(const uint8_t *image)
{
    uint64_t rng = 0x9e3779b97f4a7c15u;
    int bad = 0, opened = 0, rounds = 20000;
    volatile unsigned sink = 0;
    uint8_t *copy = malloc(IMAGE_SIZE);
    for (int round = 0; round < rounds; round++) {
        memcpy(copy, image, IMAGE_SIZE);
        int flips = 1 + (int)(xorshift(&rng) % 8);
        for (int i = 0; i < flips; i++) {
            /* mostly the headers and the note, where the parsing is */
            size_t range = xorshift(&rng) % 4 ? 0x200 : IMAGE_SIZE;
            copy[xorshift(&rng) % range] ^= (uint8_t)(1u << (xorshift(&rng) % 8));
        }
        if (round % 3 == 0)   /* and sometimes whole random words */
            for (int i = 0; i < 4; i++) {
                uint64_t w = xorshift(&rng);
                memcpy(copy + xorshift(&rng) % (0x200 - 8), &w, 8);
            }
        bad += !parse_copy(copy, IMAGE_SIZE, &opened);
        if (round % 20 == 0)
            open_corrupt_file(copy, &rng, &sink);
    }
    free(copy);
    CHECK(bad == 0);
    CHECK(opened > 0 && opened < rounds);
}

/* ---- live ---------------------------------------------------------------- */

static const struct mapping *find_mapping(struct memory *mem, uint64_t addr)
{
    const struct mapping *maps;
    size_t n = memory_mappings(mem, &maps);
    for (size_t i = 0; i < n; i++) {
        if (i && maps[i].start < maps[i - 1].end)
            return NULL;   /* must be sorted and disjoint */
        if (addr >= maps[i].start && addr < maps[i].end)
            return &maps[i];
    }
    return NULL;
}

static void test_live_partial(struct memory *mem)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uint8_t *area = mmap(NULL, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    if (area == MAP_FAILED)
        return;
    uint8_t *buf = malloc(3 * page);   /* before the munmap: must not fill the hole */
    memset(area, 0xab, 2 * page);
    munmap(area + 2 * page, page);
    CHECK(memory_read(mem, (uintptr_t)area, buf, 3 * page) == 2 * page);
    CHECK(buf[0] == 0xab && buf[2 * page - 1] == 0xab);
    CHECK(memory_read(mem, (uintptr_t)area + 2 * page, buf, 8) == 0);
    uint64_t v;
    CHECK(memory_read_u64(mem, (uintptr_t)area + 2 * page - 4, &v) == -1);
    free(buf);
    munmap(area, 2 * page);

    /* a large read (several preads) that fails partway keeps its prefix */
    size_t big = (4u << 20) + page;
    area = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(area != MAP_FAILED);
    if (area == MAP_FAILED)
        return;
    buf = malloc(big);
    munmap(area + (3u << 20) + 5 * page, big - (3u << 20) - 5 * page);
    CHECK(memory_read(mem, (uintptr_t)area, buf, big) == (3u << 20) + 5 * page);
    free(buf);
    munmap(area, (3u << 20) + 5 * page);
}

/* A file mapping whose name has a space and which is then deleted. */
static void test_live_paths(void)
{
    char name[] = "/tmp/retain test map XXXXXX";
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    if (fd < 0)
        return;
    CHECK(ftruncate(fd, 4096) == 0);
    void *p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    unlink(name);
    CHECK(p != MAP_FAILED);
    struct memory *mem;
    struct retain_error *err = memory_open_live(getpid(), &mem);
    CHECK(err == NULL);
    if (!err) {
        const struct mapping *m = find_mapping(mem, (uintptr_t)p);
        char want[64];
        snprintf(want, sizeof want, "%s (deleted)", name);
        CHECK(m && m->path && strcmp(m->path, want) == 0 && m->prot == MAP_PROT_R);
        memory_destroy(mem);
    }
    retain_error_destroy(err);
    munmap(p, 4096);
}

static void test_live(void)
{
    static char buffer[4096];
    for (size_t i = 0; i < sizeof buffer; i++)
        buffer[i] = (char)pattern(i);

    struct memory *mem;
    struct retain_error *err = memory_open_live(getpid(), &mem);
    CHECK(err == NULL);
    if (err) {
        fprintf(stderr, "  %s\n", err->msg);
        retain_error_destroy(err);
        return;
    }
    CHECK(strcmp(memory_kind(mem), "live") == 0);
    char copy[sizeof buffer];
    CHECK(memory_read(mem, (uintptr_t)buffer, copy, sizeof copy) == sizeof copy);
    CHECK(memcmp(copy, buffer, sizeof buffer) == 0);
    uint8_t scratch[16];
    const uint8_t *p;
    CHECK(memory_view(mem, (uintptr_t)buffer + 100, 16, scratch, &p) == 16);
    CHECK(p == scratch && memcmp(p, buffer + 100, 16) == 0);

    const struct mapping *m = find_mapping(mem, (uintptr_t)buffer);
    CHECK(m != NULL && (m->prot & (MAP_PROT_R | MAP_PROT_W)) == (MAP_PROT_R | MAP_PROT_W));
    int stack_found = 0, vsyscall_found = 0;
    const struct mapping *maps;
    size_t n = memory_mappings(mem, &maps);
    for (size_t i = 0; i < n; i++) {
        stack_found |= maps[i].path && strcmp(maps[i].path, "[stack]") == 0;
        vsyscall_found |= maps[i].path && strcmp(maps[i].path, "[vsyscall]") == 0;
    }
    CHECK(stack_found && !vsyscall_found);

    /* below mmap_min_addr: never mapped */
    CHECK(memory_read(mem, 0x1000, copy, 8) == 0);
    CHECK(memory_view(mem, 0x1000, 8, scratch, &p) == 0);
    CHECK(memory_read(mem, UINT64_MAX - 7, copy, 8) == 0);
    const struct mapping *missing;
    CHECK(memory_missing(mem, &missing) == 0);

    test_live_partial(mem);
    memory_destroy(mem);
    test_live_paths();

    err = memory_open_live(999999999, &mem);
    CHECK(err != NULL && mem == NULL);
    CHECK(err && strstr(err->msg, "/proc/999999999/mem"));
    if (err)
        printf("  expected error: %s\n", err->msg);
    retain_error_destroy(err);
}

/* ---- callback ------------------------------------------------------------ */

struct fake { uint64_t start, end; int calls; };

static size_t fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
    struct fake *f = ctx;
    f->calls++;
    size_t n = 0;
    for (; n < len && addr + n >= f->start && addr + n < f->end; n++)
        ((uint8_t *)buf)[n] = pattern(addr + n);
    return n;
}

static void test_callback(void)
{
    struct fake f = { 0x1000, 0x2000, 0 };
    char path[] = "/fake/lib.so";
    struct mapping maps[2] = {
        { .start = 0x1800, .end = 0x2000, .offset = 0x800, .prot = MAP_PROT_R | MAP_PROT_W,
          .path = path },
        { .start = 0x1000, .end = 0x1800, .prot = MAP_PROT_R },
    };
    struct memory *mem;
    struct retain_error *err = memory_open_callback(fake_read, &f, maps, 2, &mem);
    CHECK(err == NULL);
    if (err) {
        retain_error_destroy(err);
        return;
    }
    path[1] = 'X';   /* the memory must have its own copy */
    CHECK(strcmp(memory_kind(mem), "callback") == 0);
    const struct mapping *got;
    CHECK(memory_mappings(mem, &got) == 2);
    CHECK(got[0].start == 0x1000 && got[0].path == NULL);
    CHECK(got[1].start == 0x1800 && got[1].path && strcmp(got[1].path, "/fake/lib.so") == 0);

    uint8_t scratch[16];
    const uint8_t *p;
    CHECK(memory_view(mem, 0x1100, 16, scratch, &p) == 16);
    CHECK(p == scratch && matches(p, 0x1100, 16));
    CHECK(memory_view(mem, 0x1ff8, 16, scratch, &p) == 8 && matches(p, 0x1ff8, 8));
    CHECK(memory_view(mem, 0x3000, 16, scratch, &p) == 0);
    uint64_t v;
    CHECK(memory_read_u64(mem, 0x1ffc, &v) == -1);
    CHECK(memory_read_u64(mem, 0x1ff8, &v) == 0);
    CHECK(f.calls > 0);
    const struct mapping *missing;
    CHECK(memory_missing(mem, &missing) == 0);
    memory_destroy(mem);

    CHECK((err = memory_open_callback(fake_read, &f, NULL, 0, &mem)) == NULL);
    if (!err)
        CHECK(memory_mappings(mem, &got) == 0);
    memory_destroy(mem);
}

static void test_errors(void)
{
    struct retain_error *err = retain_errorf("at %#x: %s", 0x1234, "boom");
    CHECK(strcmp(err->msg, "at 0x1234: boom") == 0);
    retain_error_destroy(err);
    retain_error_destroy(NULL);
    char long_arg[2000];
    memset(long_arg, 'x', sizeof long_arg - 1);
    long_arg[sizeof long_arg - 1] = '\0';
    err = retain_errorf("%s", long_arg);
    CHECK(strlen(err->msg) == sizeof err->msg - 1);
    retain_error_destroy(err);
}

int main(void)
{
    uint8_t *image = build_core();
    test_errors();
    test_parse(image);
    test_core_file(image);
    test_truncated_file(image);
    test_bad_files(image);
    test_truncations(image);
    test_corruptions(image);
    test_live();
    test_callback();
    free(image);
    return CHECK_DONE();
}
