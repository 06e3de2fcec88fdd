/* Helpers shared by retain's fuzz targets (fuzz/fuzz_*.c).
 *
 * The engine's file readers (elfcore.c, elfsym.c, and dwarf.c through
 * elfsym.c) take a path and mmap the whole file. A target writes its input
 * to a file (fuzz_input_file) and passes that path. An mmap of a file
 * hands out whole pages, so a read just past the file's end lands in the
 * zeroed rest of the last page and no sanitizer sees it. The targets are
 * therefore linked with -Wl,--wrap=mmap,--wrap=munmap: an mmap of the input
 * file becomes a malloc'd copy exactly as long as the file, so ASan catches
 * any read past its end (fuzz_common.c). Other mmaps go through unchanged. */
#ifndef RETAIN_FUZZ_COMMON_H
#define RETAIN_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Writes data to this process's input file (one fixed path in a private
 * directory under $TMPDIR, rewritten in place on each call; removed at
 * exit) and returns its path. Aborts if the file cannot be written: that
 * is the harness failing, not the engine. */
const char *fuzz_input_file(const uint8_t *data, size_t size);

/* Aborts unless every input mapping has been unmapped again: called when a
 * target is done with the engine's objects (a missing munmap would
 * otherwise show only as a leak report at exit). */
void fuzz_check_unmapped(void);

/* An oracle check: abort (a crash libFuzzer records) when cond is false. */
#define FUZZ_ASSERT(cond) do { \
        if (!(cond)) { \
            fprintf(stderr, "%s:%d: fuzz invariant failed: %s\n", __FILE__, __LINE__, #cond); \
            abort(); \
        } \
    } while (0)

/* Little-endian reads of input bytes; missing bytes read as 0. */
static inline uint64_t fuzz_get(const uint8_t *data, size_t size, size_t off, size_t n)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++)
        if (off + i < size)
            v |= (uint64_t)data[off + i] << (8 * i);
    return v;
}

#endif
