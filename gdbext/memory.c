/* Memory sources: core (mmapped PT_LOAD segments), live (/proc/PID/mem),
 * callback (a reader supplied by the caller, e.g. gdb itself).
 *
 * Views and reads may be called from several threads at once for core and
 * live sources: the only state they touch is the core's last-hit segment,
 * kept in a relaxed atomic. */
#include "memory.h"
#include "elfcore.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum memory_kind { MEMORY_CORE, MEMORY_LIVE, MEMORY_CALLBACK };

/* pread at most this much at once, so a read that fails partway is
 * retried in small pieces without first losing a huge transfer. */
#define LIVE_READ_CHUNK ((size_t)1 << 20)

struct memory {
    enum memory_kind kind;
    struct mapping *maps; size_t nmaps;
    struct mapping *missing; size_t nmissing;

    /* core */
    struct core_file *core;
    atomic_size_t last_seg;   /* index of the segment the last lookup hit */

    /* live */
    int fd;
    uint64_t page_size;

    /* callback */
    memory_read_fn fn;
    void *ctx;
};

static void free_mappings(struct mapping *maps, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(maps[i].path);
    free(maps);
}

void memory_destroy(struct memory *mem)
{
    if (!mem)
        return;
    free_mappings(mem->maps, mem->nmaps);
    free_mappings(mem->missing, mem->nmissing);
    core_file_destroy(mem->core);
    if (mem->fd >= 0)
        close(mem->fd);
    free(mem);
}

static struct retain_error *memory_alloc(enum memory_kind kind, struct memory **mem_ret)
{
    struct memory *mem = calloc(1, sizeof *mem);
    if (!mem)
        return retain_errorf("out of memory");
    mem->kind = kind;
    mem->fd = -1;
    atomic_init(&mem->last_seg, 0);
    *mem_ret = mem;
    return NULL;
}

static int mapping_cmp(const void *a, const void *b)
{
    const struct mapping *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start;
}

/* Copies path (may be NULL); returns -1 only when out of memory. */
static int dup_path(const char *path, char **copy_ret)
{
    *copy_ret = NULL;
    if (!path)
        return 0;
    *copy_ret = strdup(path);
    return *copy_ret ? 0 : -1;
}

/* ---- core ---------------------------------------------------------------- */

/* The NT_FILE entry covering addr (files are sorted by start), or NULL. */
static const struct mapping *core_file_at(const struct core_file *core, uint64_t addr)
{
    size_t lo = 0, hi = core->nfiles;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (core->files[mid].start <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr >= core->files[lo - 1].end)
        return NULL;
    return &core->files[lo - 1];
}

/* Fills *m for the range [start, end) of segment s, naming the file that
 * backs it, if any. */
static int core_mapping(const struct core_file *core, const struct core_segment *s,
                        uint64_t start, uint64_t end, struct mapping *m)
{
    *m = (struct mapping){ .start = start, .end = end, .prot = s->prot };
    const struct mapping *file = core_file_at(core, s->vaddr);
    if (!file)
        return 0;
    m->offset = file->offset + (start - file->start);
    return dup_path(file->path, &m->path);
}

static struct retain_error *core_build_mappings(struct memory *mem)
{
    const struct core_file *core = mem->core;
    size_t n = core->nsegs ? core->nsegs : 1;
    mem->maps = calloc(n, sizeof *mem->maps);
    mem->missing = calloc(n, sizeof *mem->missing);
    if (!mem->maps || !mem->missing)
        return retain_errorf("out of memory for %zu core segments", core->nsegs);
    for (size_t i = 0; i < core->nsegs; i++) {
        const struct core_segment *s = &core->segs[i];
        if (core_mapping(core, s, s->vaddr, s->vaddr + s->memsz, &mem->maps[mem->nmaps++]))
            return retain_errorf("out of memory");
        if (s->filesz < s->memsz &&
            core_mapping(core, s, s->vaddr + s->filesz, s->vaddr + s->memsz,
                         &mem->missing[mem->nmissing++]))
            return retain_errorf("out of memory");
    }
    return NULL;
}

struct retain_error *memory_open_core(const char *path, struct memory **mem_ret)
{
    *mem_ret = NULL;
    struct memory *mem = NULL;
    struct retain_error *err = memory_alloc(MEMORY_CORE, &mem);
    if (err)
        return err;
    err = core_file_open(path, &mem->core);
    if (!err)
        err = core_build_mappings(mem);
    if (err) {
        memory_destroy(mem);
        return err;
    }
    *mem_ret = mem;
    return NULL;
}

/* The segment containing addr, or NULL. Most lookups hit the same segment
 * as the one before, so that one is tried first. */
static const struct core_segment *core_segment_at(struct memory *mem, uint64_t addr)
{
    const struct core_file *core = mem->core;
    size_t i = atomic_load_explicit(&mem->last_seg, memory_order_relaxed);
    if (i < core->nsegs && addr - core->segs[i].vaddr < core->segs[i].memsz)
        return &core->segs[i];
    size_t lo = 0, hi = core->nsegs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (core->segs[mid].vaddr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0 || addr - core->segs[lo - 1].vaddr >= core->segs[lo - 1].memsz)
        return NULL;
    atomic_store_explicit(&mem->last_seg, lo - 1, memory_order_relaxed);
    return &core->segs[lo - 1];
}

/* Bytes of s present in the file from addr on (addr inside s). */
static uint64_t core_present(const struct core_segment *s, uint64_t addr)
{
    uint64_t skip = addr - s->vaddr;
    return skip < s->filesz ? s->filesz - skip : 0;
}

/* Copies the readable prefix of [addr, addr+len), segment by segment;
 * stops at the first byte that is unmapped or absent from the file. */
static size_t core_read(struct memory *mem, uint64_t addr, uint8_t *buf, size_t len)
{
    size_t done = 0;
    while (done < len) {
        const struct core_segment *s = core_segment_at(mem, addr + done);
        if (!s)
            break;
        uint64_t present = core_present(s, addr + done);
        size_t n = present < len - done ? (size_t)present : len - done;
        if (n == 0)
            break;
        memcpy(buf + done, mem->core->image + s->offset + (addr + done - s->vaddr), n);
        done += n;
        if (done < len && n == present && s->filesz < s->memsz)
            break;   /* the rest of this segment is absent */
    }
    return done;
}

/* ---- live ---------------------------------------------------------------- */

/* Parses one line of /proc/PID/maps:
 *   start-end perms offset dev inode [path]
 * The path is the rest of the line and may contain spaces or end in
 * " (deleted)"; both are kept as the kernel wrote them. Returns 0 when the
 * line is not a mapping, -1 when out of memory, 1 when *m was filled. */
static int parse_maps_line(char *line, struct mapping *m)
{
    uint64_t start, end, offset;
    char perms[5];
    int path_at = 0;
    if (sscanf(line, "%" SCNx64 "-%" SCNx64 " %4s %" SCNx64 " %*x:%*x %*u %n", &start, &end,
               perms, &offset, &path_at) != 4 || path_at == 0 || start >= end)
        return 0;
    char *path = line + path_at;
    path[strcspn(path, "\n")] = '\0';
    /* Unreadable through /proc/PID/mem and the same in every process. */
    if (strcmp(path, "[vsyscall]") == 0)
        return 0;
    *m = (struct mapping){
        .start = start, .end = end, .offset = offset,
        .prot = (perms[0] == 'r' ? MAP_PROT_R : 0) | (perms[1] == 'w' ? MAP_PROT_W : 0) |
                (perms[2] == 'x' ? MAP_PROT_X : 0),
    };
    if (*path == '\0')
        return 1;
    if (dup_path(path, &m->path))
        return -1;
    return 1;
}

static struct retain_error *live_read_maps(struct memory *mem, int pid)
{
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/maps", pid);
    FILE *f = fopen(name, "re");
    if (!f)
        return retain_errorf("cannot open %s: %s", name, strerror(errno));
    struct retain_error *err = NULL;
    size_t cap = 0;
    char *line = NULL;
    size_t line_cap = 0;
    while (!err && getline(&line, &line_cap, f) > 0) {
        if (mem->nmaps == cap) {
            size_t new_cap = cap ? 2 * cap : 64;
            struct mapping *maps = realloc(mem->maps, new_cap * sizeof *maps);
            if (!maps) {
                err = retain_errorf("out of memory reading %s", name);
                break;
            }
            mem->maps = maps;
            cap = new_cap;
        }
        int r = parse_maps_line(line, &mem->maps[mem->nmaps]);
        if (r < 0)
            err = retain_errorf("out of memory reading %s", name);
        else if (r > 0)
            mem->nmaps++;
    }
    if (!err && ferror(f))
        err = retain_errorf("cannot read %s: %s", name, strerror(errno));
    free(line);
    fclose(f);
    if (!err && mem->nmaps)
        qsort(mem->maps, mem->nmaps, sizeof *mem->maps, mapping_cmp);
    return err;
}

struct retain_error *memory_open_live(int pid, struct memory **mem_ret)
{
    *mem_ret = NULL;
    struct memory *mem = NULL;
    struct retain_error *err = memory_alloc(MEMORY_LIVE, &mem);
    if (err)
        return err;
    long page = sysconf(_SC_PAGESIZE);
    mem->page_size = page > 0 ? (uint64_t)page : 4096;
    char name[64];
    snprintf(name, sizeof name, "/proc/%d/mem", pid);
    mem->fd = open(name, O_RDONLY | O_CLOEXEC);
    if (mem->fd < 0) {
        int saved = errno;
        err = retain_errorf("cannot open %s: %s%s", name, strerror(saved),
                            saved == ENOENT ? " (no such process)" : "");
    }
    if (!err)
        err = live_read_maps(mem, pid);
    if (err) {
        memory_destroy(mem);
        return err;
    }
    *mem_ret = mem;
    return NULL;
}

/* preads the readable prefix. The kernel returns a short count when a read
 * fails partway, but a failing large read is also retried up to the next
 * page boundary, then page by page, so the prefix is found either way. */
static size_t live_read(struct memory *mem, uint64_t addr, uint8_t *buf, size_t len)
{
    if (addr > INT64_MAX)
        return 0;   /* not a valid pread offset */
    if (len > (uint64_t)INT64_MAX - addr)
        len = (size_t)((uint64_t)INT64_MAX - addr);
    size_t done = 0;
    int small = 0;   /* after a failure: one page at a time */
    while (done < len) {
        uint64_t at = addr + done;
        size_t want = len - done < LIVE_READ_CHUNK ? len - done : LIVE_READ_CHUNK;
        size_t to_page = (size_t)(mem->page_size - at % mem->page_size);
        if (small && want > to_page)
            want = to_page;
        ssize_t n = pread(mem->fd, buf + done, want, (off_t)at);
        if (n > 0) {
            done += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (small || want <= to_page)
            break;
        small = 1;
    }
    return done;
}

/* ---- callback ------------------------------------------------------------ */

struct retain_error *memory_open_callback(memory_read_fn fn, void *ctx,
                                          const struct mapping *maps, size_t nmaps,
                                          struct memory **mem_ret)
{
    *mem_ret = NULL;
    if (!fn)
        return retain_errorf("memory_open_callback: no read function");
    struct memory *mem = NULL;
    struct retain_error *err = memory_alloc(MEMORY_CALLBACK, &mem);
    if (err)
        return err;
    mem->fn = fn;
    mem->ctx = ctx;
    if (maps && nmaps) {
        mem->maps = calloc(nmaps, sizeof *mem->maps);
        if (!mem->maps)
            err = retain_errorf("out of memory for %zu mappings", nmaps);
        for (size_t i = 0; !err && i < nmaps; i++) {
            mem->maps[i] = maps[i];
            if (dup_path(maps[i].path, &mem->maps[i].path))
                err = retain_errorf("out of memory");
            mem->nmaps++;
        }
    }
    if (err) {
        memory_destroy(mem);
        return err;
    }
    if (mem->nmaps)
        qsort(mem->maps, mem->nmaps, sizeof *mem->maps, mapping_cmp);
    *mem_ret = mem;
    return NULL;
}

static size_t callback_read(struct memory *mem, uint64_t addr, uint8_t *buf, size_t len)
{
    size_t n = mem->fn(mem->ctx, addr, buf, len);
    return n < len ? n : len;   /* do not trust the callback beyond len */
}

/* ---- reads --------------------------------------------------------------- */

size_t memory_read(struct memory *mem, uint64_t addr, void *buf, size_t len)
{
    if (len > UINT64_MAX - addr)
        len = (size_t)(UINT64_MAX - addr);   /* do not wrap around */
    if (len == 0)
        return 0;
    switch (mem->kind) {
    case MEMORY_CORE: return core_read(mem, addr, buf, len);
    case MEMORY_LIVE: return live_read(mem, addr, buf, len);
    case MEMORY_CALLBACK: return callback_read(mem, addr, buf, len);
    }
    return 0;
}

/* True when the bytes readable from addr go on past segment s: its bytes
 * are all present and the next segment starts right where it ends. */
static int core_continues(const struct memory *mem, const struct core_segment *s)
{
    const struct core_file *core = mem->core;
    size_t next = (size_t)(s - core->segs) + 1;
    return s->filesz == s->memsz && next < core->nsegs &&
           core->segs[next].vaddr == s->vaddr + s->memsz && core->segs[next].filesz > 0;
}

size_t memory_view(struct memory *mem, uint64_t addr, size_t len, void *scratch,
                   const uint8_t **data_ret)
{
    *data_ret = scratch;
    if (mem->kind != MEMORY_CORE)
        return memory_read(mem, addr, scratch, len);
    const struct core_segment *s = core_segment_at(mem, addr);
    if (!s)
        return 0;
    uint64_t present = core_present(s, addr);
    if (present == 0)
        return 0;
    /* The readable prefix lies in this segment: point into the mmap even
     * when it is shorter than len; copy only to join segments. */
    if (len <= present || !core_continues(mem, s)) {
        *data_ret = mem->core->image + s->offset + (addr - s->vaddr);
        return len <= present ? len : (size_t)present;
    }
    return memory_read(mem, addr, scratch, len);
}

int memory_read_u64(struct memory *mem, uint64_t addr, uint64_t *val_ret)
{
    uint64_t scratch;
    const uint8_t *p;
    if (memory_view(mem, addr, sizeof scratch, &scratch, &p) != sizeof scratch)
        return -1;
    memcpy(val_ret, p, sizeof *val_ret);   /* host and target are little-endian */
    return 0;
}

size_t memory_mappings(const struct memory *mem, const struct mapping **maps_ret)
{
    *maps_ret = mem->maps;
    return mem->nmaps;
}

size_t memory_missing(const struct memory *mem, const struct mapping **missing_ret)
{
    *missing_ret = mem->nmissing ? mem->missing : NULL;
    return mem->nmissing;
}

const char *memory_kind(const struct memory *mem)
{
    switch (mem->kind) {
    case MEMORY_CORE: return "core";
    case MEMORY_LIVE: return "live";
    case MEMORY_CALLBACK: return "callback";
    }
    return "unknown";
}
