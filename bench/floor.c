/* floor: the benchmark's lower bound.  One sequential pass over the present
 * bytes (p_filesz) of every writable PT_LOAD segment of an ELF64 core,
 * counting the 8-byte words v with LO <= v < HI (the heap range).
 *
 *   floor CORE LO HI [--populate | --read]
 *
 * LO and HI are hex (0x optional).  The time covers open + map + the scan,
 * measured with CLOCK_MONOTONIC, so run it once first to warm the page cache.
 * Modes: default mmap(2) + MADV_SEQUENTIAL (pages fault in during the scan);
 * --populate adds MAP_POPULATE; --read uses pread(2) into a 4 MiB buffer.
 * Prints one JSON line: {"seconds", "count", "bytes", "segments", "gb_per_s"}.
 * The count is printed, so the compiler cannot drop the loop. */
#define _GNU_SOURCE
#include <elf.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void die(const char *msg)
{
    fprintf(stderr, "floor: %s\n", msg);
    exit(1);
}

/* Count words in [lo, hi).  Unsigned wrap turns the two compares into one. */
static uint64_t scan(const unsigned char *p, uint64_t nbytes, uint64_t lo, uint64_t span)
{
    uint64_t n = nbytes / 8, count = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t v;
        memcpy(&v, p + 8 * i, 8);          /* plain load; no alignment assumption */
        count += (v - lo) < span;
    }
    return count;
}

static int read_all(int fd, void *buf, size_t len, off_t off)
{
    size_t done = 0;
    while (done < len) {
        ssize_t r = pread(fd, (char *)buf + done, len - done, off + done);
        if (r <= 0) return -1;
        done += r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    int populate = 0, use_read = 0;
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: %s CORE LO HI [--populate|--read]\n", argv[0]);
        return 2;
    }
    if (argc == 5) {
        if (!strcmp(argv[4], "--populate")) populate = 1;
        else if (!strcmp(argv[4], "--read")) use_read = 1;
        else { fprintf(stderr, "floor: unknown option %s\n", argv[4]); return 2; }
    }
    uint64_t lo = strtoull(argv[2], NULL, 16), hi = strtoull(argv[3], NULL, 16);
    if (hi <= lo) die("HI must be above LO");
    uint64_t span = hi - lo;

    double t0 = now();
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) { perror(argv[1]); return 1; }
    struct stat st;
    if (fstat(fd, &st) < 0) { perror("fstat"); return 1; }
    uint64_t fsize = st.st_size;

    /* ELF header and program headers (read, not mapped, so --read maps nothing) */
    Elf64_Ehdr eh;
    if (fsize < sizeof eh || read_all(fd, &eh, sizeof eh, 0)) die("short file");
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64)
        die("not an ELF64 file");
    if (eh.e_type != ET_CORE) die("not a core file");
    if (eh.e_phentsize != sizeof(Elf64_Phdr)) die("odd e_phentsize");
    uint64_t phnum = eh.e_phnum;
    if (phnum == PN_XNUM) {                  /* real count in section 0's sh_info */
        Elf64_Shdr sh0;
        if (!eh.e_shoff || read_all(fd, &sh0, sizeof sh0, eh.e_shoff)) die("PN_XNUM without section 0");
        phnum = sh0.sh_info;
    }
    if (eh.e_phoff + phnum * sizeof(Elf64_Phdr) > fsize) die("program headers past EOF");
    Elf64_Phdr *ph = malloc(phnum * sizeof *ph);
    if (!ph || read_all(fd, ph, phnum * sizeof *ph, eh.e_phoff)) die("cannot read program headers");

    unsigned char *map = NULL, *buf = NULL;
    const size_t bufsz = 4 << 20;
    if (use_read) {
        buf = aligned_alloc(4096, bufsz);
        if (!buf) die("out of memory");
    } else {
        map = mmap(NULL, fsize, PROT_READ, MAP_PRIVATE | (populate ? MAP_POPULATE : 0), fd, 0);
        if (map == MAP_FAILED) { perror("mmap"); return 1; }
        madvise(map, fsize, MADV_SEQUENTIAL);
    }

    uint64_t count = 0, bytes = 0, segs = 0;
    for (uint64_t i = 0; i < phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD || !(p->p_flags & PF_W) || !p->p_filesz) continue;
        if (p->p_offset > fsize || p->p_filesz > fsize - p->p_offset) {
            fprintf(stderr, "floor: segment %" PRIu64 " past EOF, skipped\n", i);
            continue;
        }
        uint64_t len = p->p_filesz & ~7ull;
        if (use_read) {
            for (uint64_t off = 0; off < len; off += bufsz) {
                size_t n = len - off < bufsz ? len - off : bufsz;
                if (read_all(fd, buf, n, p->p_offset + off)) die("read failed");
                count += scan(buf, n, lo, span);
            }
        } else {
            count += scan(map + p->p_offset, len, lo, span);
        }
        bytes += len;
        segs++;
    }
    if (map) munmap(map, fsize);
    close(fd);
    double secs = now() - t0;

    printf("{\"seconds\": %.6f, \"count\": %" PRIu64 ", \"bytes\": %" PRIu64
           ", \"segments\": %" PRIu64 ", \"gb_per_s\": %.3f, \"mode\": \"%s\"}\n",
           secs, count, bytes, segs, bytes / secs / 1e9,
           use_read ? "read" : populate ? "mmap-populate" : "mmap");
    free(ph); free(buf);
    return 0;
}
