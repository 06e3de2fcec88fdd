/* ELF core files: the PT_LOAD segments and the NT_FILE note. Used by
 * memory.c; kept apart so a corrupt core is handled in one place. */
#ifndef RETAIN_ELFCORE_H
#define RETAIN_ELFCORE_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "memory.h"

struct core_segment {
    uint64_t vaddr, memsz;   /* the range in the target */
    uint64_t offset, filesz; /* where its bytes are in the file (filesz may be < memsz) */
    uint32_t prot;           /* MAP_PROT_* from p_flags */
};

struct core_file {
    const uint8_t *image;    /* the whole file, mmapped read-only */
    size_t size;
    struct core_segment *segs; size_t nsegs;     /* sorted by vaddr */
    struct mapping *files; size_t nfiles;        /* NT_FILE entries (path owned) */
};

/* Validates headers against the file's real size: a truncated core opens,
 * with the segments past the end marked absent (filesz clipped). */
struct retain_error *core_file_open(const char *path, struct core_file **core_ret);
/* Parse an in-memory image (for fuzzing/tests); image must outlive core. */
struct retain_error *core_file_parse(const uint8_t *image, size_t size, struct core_file **core_ret);
void core_file_destroy(struct core_file *core);

#endif
