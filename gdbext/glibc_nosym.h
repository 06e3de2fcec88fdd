/* glibc malloc without libc's debug symbols: finds what struct glibc_layout
 * needs (main_arena, sbrk_base, field offsets, each thread's tcache) from
 * the heap's own structure, for the glibc versions whose layouts are known.
 *
 *   version    libc's "GNU C Library ... release version 2.NN" banner, read
 *              from target memory, else from the file at the mapping's path
 *              (checked against the in-memory build-id: a core's libc may
 *              not be the one on this disk)
 *   main_arena libc's writable data holds exactly one struct malloc_state:
 *              127 bins that are empty (fd == bk == the bin itself) or whose
 *              neighbours link back to them, a plausible top and system_mem,
 *              and a `next` ring whose other arenas each sit right after
 *              their first heap's heap_info (heap_info.ar_ptr == arena)
 *   sbrk_base  top + top's size - system_mem, checked by walking the chunks
 *              from there to top; else the start of the mapping holding top
 *              (or the first page of it) from which the chunks reach top
 *   tcaches    the first chunk of each arena (each thread's first malloc
 *              allocates its tcache_perthread_struct there); then, given the
 *              threads' thread pointers, the TLS offset of libc's `tcache`
 *              variable (the word that holds a known tcache in one thread
 *              holds 0 or another valid tcache in every other one) gives
 *              every thread's; without it, in-use chunks of the tcache's size
 *              that validate (counts match their chains, entries are chunks of
 *              their bin's size). */
#ifndef RETAIN_GLIBC_NOSYM_H
#define RETAIN_GLIBC_NOSYM_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "heap_glibc.h"
#include "memory.h"

struct glibc_found {
    struct glibc_layout lay;      /* lay.tcaches is owned (malloc) */
    int major, minor;             /* glibc version */
    char release[96];             /* e.g. "Debian GLIBC 2.36-9+deb12u4"; may be "" */
    char build_id[41];            /* hex, "" if unknown */
    char *libc_path;              /* owned */
    const char *version_source;   /* "memory" or "file" */
    const char *sbrk_source;      /* "system_mem", "mapping", "none" */
    int initialized;              /* 0: malloc was never used (main_arena is empty) */
    uint32_t narenas;             /* main_arena's ring, main_arena included */
    uint32_t ntcache_position, ntcache_tls, ntcache_scan;
    int tls_offset_found;         /* libc's `tcache` TLS variable was located */
    int64_t tls_offset;           /* its address - thread pointer (< 0), when found */
    char **warnings; uint32_t nwarnings;   /* owned strings */
};

/* Finds the layout. thread_pointers (fs_base of each thread; may be NULL/0)
 * let every thread's tcache be found. On error *out is left deinit-able. */
struct retain_error *glibc_find_layout(struct memory *mem, const uint64_t *thread_pointers,
                                       size_t nthreads, struct glibc_found *out);
void glibc_found_deinit(struct glibc_found *f);

/* The glibc versions glibc_find_layout knows, for messages: "2.27 to 2.41". */
const char *glibc_nosym_supported(void);

#endif
