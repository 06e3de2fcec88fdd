/* See fuzz_common.h: the input file, and the mmap wrapper that makes reads
 * past the end of a mapped input visible to ASan. */
#include "fuzz_common.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static char input_dir[4096];
static char input_path[4096 + 16];
static int input_fd = -1;
static dev_t input_dev;
static ino_t input_ino;

static void remove_input(void)
{
    if (input_fd >= 0)
        close(input_fd);
    unlink(input_path);
    rmdir(input_dir);
}

static void die(const char *what)
{
    fprintf(stderr, "fuzz harness: %s: %s\n", what, strerror(errno));
    abort();
}

const char *fuzz_input_file(const uint8_t *data, size_t size)
{
    if (input_fd < 0) {
        const char *tmp = getenv("TMPDIR");
        snprintf(input_dir, sizeof input_dir, "%s/retain-fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(input_dir))
            die("mkdtemp");
        snprintf(input_path, sizeof input_path, "%s/input", input_dir);
        input_fd = open(input_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (input_fd < 0)
            die("open input file");
        struct stat st;
        if (fstat(input_fd, &st) != 0)
            die("fstat input file");
        input_dev = st.st_dev;
        input_ino = st.st_ino;
        atexit(remove_input);
    }
    if (ftruncate(input_fd, 0) != 0)
        die("ftruncate input file");
    for (size_t done = 0; done < size;) {
        ssize_t n = pwrite(input_fd, data + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write input file");
        done += (size_t)n;
    }
    return input_path;
}

/* ---- -Wl,--wrap=mmap,--wrap=munmap ---- */

void *__real_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __real_munmap(void *addr, size_t len);
void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __wrap_munmap(void *addr, size_t len);

#define MAX_COPIES 16
static struct { void *p; size_t len; } copies[MAX_COPIES];

static int is_input(int fd, size_t len, off_t off, struct stat *st)
{
    return input_fd >= 0 && fd >= 0 && off == 0 && fstat(fd, st) == 0 && st->st_dev == input_dev &&
           st->st_ino == input_ino && (uint64_t)st->st_size >= len;
}

void *__wrap_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    struct stat st;
    if (addr || (prot & PROT_WRITE) || !is_input(fd, len, off, &st))
        return __real_mmap(addr, len, prot, flags, fd, off);
    size_t slot = 0;
    while (slot < MAX_COPIES && copies[slot].p)
        slot++;
    void *p = NULL;
    /* page-aligned like a real mapping, so alignment reports match */
    if (slot == MAX_COPIES || posix_memalign(&p, 4096, len ? len : 1) != 0) {
        errno = ENOMEM;
        return MAP_FAILED;
    }
    for (size_t done = 0; done < len;) {
        ssize_t n = pread(fd, (char *)p + done, len - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            free(p);
            errno = EIO;
            return MAP_FAILED;
        }
        done += (size_t)n;
    }
    copies[slot].p = p;
    copies[slot].len = len;
    return p;
}

int __wrap_munmap(void *addr, size_t len)
{
    for (size_t i = 0; i < MAX_COPIES; i++) {
        if (copies[i].p == addr) {
            /* the engine must unmap what it mapped, with the same length */
            FUZZ_ASSERT(copies[i].len == len);
            free(addr);
            copies[i].p = NULL;
            return 0;
        }
    }
    return __real_munmap(addr, len);
}

void fuzz_check_unmapped(void)
{
    for (size_t i = 0; i < MAX_COPIES; i++)
        FUZZ_ASSERT(copies[i].p == NULL);
}
