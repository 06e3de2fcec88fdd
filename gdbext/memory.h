/* Memory sources: where the engine reads the target's memory from.
 *   core:     an ELF core file, PT_LOAD segments mmapped (zero-copy views)
 *   live:     /proc/PID/mem with pread, mappings from /proc/PID/maps
 *   callback: a function that reads for us (gdb's own reads, for remote
 *             targets); slow, used only when nothing else works
 * Unreadable ranges are normal (cores leave out some mappings, a live
 * process may unmap something): reads return how much was readable. */
#ifndef RETAIN_MEMORY_H
#define RETAIN_MEMORY_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"

#define MAP_PROT_R 1u
#define MAP_PROT_W 2u
#define MAP_PROT_X 4u

/* One mapping of the target's address space. For cores: PT_LOAD segments,
 * with path/offset filled in from the NT_FILE note where a file backs the
 * range. For live: one line of /proc/PID/maps. */
struct mapping {
    uint64_t start, end;   /* [start, end) */
    uint64_t offset;       /* file offset of start, when path != NULL */
    uint32_t prot;         /* MAP_PROT_* */
    char *path;            /* owned; NULL for anonymous; "[heap]", "[stack]" kept as is */
};

struct memory;

/* callback reads len bytes at addr into buf, returns bytes read (a prefix;
 * 0 when unreadable). */
typedef size_t (*memory_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct retain_error *memory_open_core(const char *path, struct memory **mem_ret);
struct retain_error *memory_open_live(int pid, struct memory **mem_ret);
/* mappings (copied) may be NULL/0 when the caller knows none. */
struct retain_error *memory_open_callback(memory_read_fn fn, void *ctx,
                                          const struct mapping *maps, size_t nmaps,
                                          struct memory **mem_ret);
void memory_destroy(struct memory *mem);

/* Sorted by start, non-overlapping. Valid until memory_destroy. */
size_t memory_mappings(const struct memory *mem, const struct mapping **maps_ret);

/* A view of [addr, addr+len): returns the number of readable bytes from addr
 * (a prefix, possibly 0) and sets *data_ret to them. Zero-copy into the core's
 * mmap when the range lies in one segment; otherwise the bytes are read into
 * scratch (which must hold len bytes). Never fails; unreadable is 0. */
size_t memory_view(struct memory *mem, uint64_t addr, size_t len, void *scratch,
                   const uint8_t **data_ret);

/* Copying read; returns the readable prefix length. */
size_t memory_read(struct memory *mem, uint64_t addr, void *buf, size_t len);

/* Convenience: one little-endian 64-bit word; returns 0 on success, -1 if unreadable. */
int memory_read_u64(struct memory *mem, uint64_t addr, uint64_t *val_ret);

/* Asks the caches for every line of the 4 KiB at p (no fault if unmapped).
 * Walks and scans call it a few pages ahead of where they read, so that
 * reads whose addresses depend on each other still stream at bandwidth. */
static inline void memory_prefetch_page(const uint8_t *p)
{
    for (int line = 0; line < 4096; line += 64)
        __builtin_prefetch(p + line);
}

/* "core", "live" or "callback". */
const char *memory_kind(const struct memory *mem);

/* For cores: ranges that the core's program headers describe but whose bytes
 * are absent (p_filesz < p_memsz, or the file was cut short). Sorted. */
size_t memory_missing(const struct memory *mem, const struct mapping **missing_ret);

#endif
