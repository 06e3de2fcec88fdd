/* Fuzz target: ELF core files (elfcore.c) and the core memory source
 * (memory.c).
 *
 * The input is a core file. It goes through
 *   1. core_file_parse on the input bytes themselves, with invariants on
 *      what it returns (segments sorted, disjoint, inside the file);
 *   2. memory_open_core on the same bytes written to a file (see
 *      fuzz_common.h for how its mmap stays bounds-checked), then
 *      memory_mappings, memory_missing, and memory_view / memory_read /
 *      memory_read_u64 around every mapping's edges, checked against a
 *      byte-by-byte reading of the parsed segments (the oracle below). */
#include <string.h>

#include "elfcore.h"
#include "fuzz_common.h"
#include "memory.h"

#define MAX_CHECKED_MAPS 64      /* mappings whose edges are probed */
#define ORACLE_MAX 64            /* bytes compared against the oracle per probe */
#define BIG_VIEW 8192            /* a view long enough to cross segments */

/* The segment holding addr, linear (the oracle must not share the engine's
 * binary search). */
static const struct core_segment *oracle_segment(const struct core_file *core, uint64_t addr)
{
    for (size_t i = 0; i < core->nsegs; i++)
        if (addr - core->segs[i].vaddr < core->segs[i].memsz)
            return &core->segs[i];
    return NULL;
}

/* What a read of [addr, addr+len) must return: the bytes up to the first
 * one that is unmapped or absent from the file. */
static size_t oracle_read(const struct core_file *core, uint64_t addr, uint8_t *buf, size_t len)
{
    size_t n = 0;
    for (; n < len && addr + n >= addr; n++) {
        const struct core_segment *s = oracle_segment(core, addr + n);
        if (!s)
            break;
        uint64_t skip = addr + n - s->vaddr;
        if (skip >= s->filesz)
            break;
        FUZZ_ASSERT(s->offset + skip < core->size);
        buf[n] = core->image[s->offset + skip];
    }
    return n;
}

static void check_core(const struct core_file *core, size_t size)
{
    for (size_t i = 0; i < core->nsegs; i++) {
        const struct core_segment *s = &core->segs[i];
        FUZZ_ASSERT(s->memsz > 0);
        FUZZ_ASSERT(s->vaddr + s->memsz > s->vaddr || s->vaddr + s->memsz == 0);
        FUZZ_ASSERT(s->filesz <= s->memsz);
        FUZZ_ASSERT(s->offset <= size && s->filesz <= size - s->offset);
        if (i)
            FUZZ_ASSERT(core->segs[i - 1].vaddr + core->segs[i - 1].memsz <= s->vaddr);
    }
    for (size_t i = 0; i < core->nfiles; i++) {
        FUZZ_ASSERT(core->files[i].path != NULL);
        FUZZ_ASSERT(core->files[i].start <= core->files[i].end);
        if (i)
            FUZZ_ASSERT(core->files[i - 1].start <= core->files[i].start);
    }
}

static uint8_t scratch[BIG_VIEW], expect[BIG_VIEW], copy[BIG_VIEW];

/* One probe: view, read and read_u64 at addr must agree with each other
 * and (for the first ORACLE_MAX bytes) with the oracle. */
static void probe(struct memory *mem, const struct core_file *core, uint64_t addr, size_t len)
{
    const uint8_t *data = NULL;
    size_t n = memory_view(mem, addr, len, scratch, &data);
    FUZZ_ASSERT(n <= len);
    FUZZ_ASSERT(n == 0 || data != NULL);
    size_t m = memory_read(mem, addr, copy, len);
    FUZZ_ASSERT(m == n);
    FUZZ_ASSERT(memcmp(data, copy, n) == 0);

    size_t want = len < ORACLE_MAX ? len : ORACLE_MAX;
    size_t e = oracle_read(core, addr, expect, want);
    FUZZ_ASSERT(e == (n < want ? n : want));
    FUZZ_ASSERT(memcmp(expect, data, e) == 0);

    uint64_t v;
    int rc = memory_read_u64(mem, addr, &v);
    if (want >= 8) {
        FUZZ_ASSERT((rc == 0) == (e >= 8));
        if (rc == 0)
            FUZZ_ASSERT(memcmp(&v, expect, 8) == 0);
    }
}

static void exercise_memory(struct memory *mem, const struct core_file *core)
{
    FUZZ_ASSERT(strcmp(memory_kind(mem), "core") == 0);
    const struct mapping *maps, *missing;
    size_t nmaps = memory_mappings(mem, &maps);
    size_t nmissing = memory_missing(mem, &missing);
    FUZZ_ASSERT(nmaps == core->nsegs);
    FUZZ_ASSERT(nmissing <= nmaps);
    for (size_t i = 0; i < nmaps; i++) {
        FUZZ_ASSERT(maps[i].start == core->segs[i].vaddr);
        if (i)
            FUZZ_ASSERT(maps[i - 1].start <= maps[i].start);
        if (maps[i].path)
            (void)strlen(maps[i].path);
    }
    for (size_t i = 0; i < nmissing; i++) {
        FUZZ_ASSERT(missing[i].start <= missing[i].end || missing[i].end == 0);
        if (missing[i].path)
            (void)strlen(missing[i].path);
        probe(mem, core, missing[i].start, 16);
    }
    for (size_t i = 0; i < nmaps && i < MAX_CHECKED_MAPS; i++) {
        const struct core_segment *s = &core->segs[i];
        uint64_t start = maps[i].start, end = start + s->memsz;
        probe(mem, core, start, 8);
        probe(mem, core, start, BIG_VIEW);
        probe(mem, core, start + s->filesz - 4, 16);     /* the present/absent edge */
        probe(mem, core, start + s->filesz, 8);
        probe(mem, core, end - 8, 8);
        probe(mem, core, end - 4, 16);                   /* into the next segment */
        probe(mem, core, end - 1, BIG_VIEW);
        probe(mem, core, end, 8);
        probe(mem, core, start - 1, 2);
        /* again through the engine's last-segment cache, from elsewhere */
        probe(mem, core, start + s->memsz / 2, 64);
    }
    probe(mem, core, 0, 64);
    probe(mem, core, UINT64_MAX - 3, 64);                /* must not wrap around */
    probe(mem, core, UINT64_MAX - 7, 8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. the parser over the input buffer itself: exact bounds for ASan */
    struct core_file *core = NULL;
    struct retain_error *err = core_file_parse(data, size, &core);
    FUZZ_ASSERT((err == NULL) == (core != NULL));
    retain_error_destroy(err);
    if (core)
        check_core(core, size);

    /* 2. the memory source over the same bytes, read from a file */
    const char *path = fuzz_input_file(data, size);
    struct memory *mem = NULL;
    err = memory_open_core(path, &mem);
    FUZZ_ASSERT((err == NULL) == (mem != NULL));
    /* the same bytes parse the same way, whether mapped or lent */
    FUZZ_ASSERT((mem != NULL) == (core != NULL));
    if (err)
        FUZZ_ASSERT(err->msg[0] != '\0');
    if (getenv("RETAIN_FUZZ_VERBOSE")) {   /* to see what a seed or a case does */
        const struct mapping *missing;
        fprintf(stderr, "fuzz_core: %s%s", err ? "error: " : "ok", err ? err->msg : "");
        if (core)
            fprintf(stderr, "; %zu segments, %zu NT_FILE entries, %zu missing", core->nsegs,
                    core->nfiles, mem ? memory_missing(mem, &missing) : 0);
        fputc('\n', stderr);
    }
    retain_error_destroy(err);
    if (mem)
        exercise_memory(mem, core);
    memory_destroy(mem);
    core_file_destroy(core);
    fuzz_check_unmapped();
    return 0;
}
