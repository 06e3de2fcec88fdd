/* Read-only file mappings. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "mapfile.h"

struct retain_error *map_file_readonly(const char *path, size_t min_size, const char *what,
                                       void **map_ret, size_t *size_ret)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return retain_errorf("cannot open %s: %s", path, strerror(errno));
    struct stat st;
    struct retain_error *err = NULL;
    if (fstat(fd, &st) != 0)
        err = retain_errorf("cannot stat %s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        err = retain_errorf("%s: not a regular file", path);
    else if (st.st_size == 0)
        err = retain_errorf("%s: empty file, not %s", path, what);
    else if ((uint64_t)st.st_size < min_size)
        err = retain_errorf("%s: too small for %s (%lld bytes)", path, what, (long long)st.st_size);
    else if ((uint64_t)st.st_size > SIZE_MAX)
        err = retain_errorf("%s: too large to map", path);
    if (err) {
        close(fd);
        return err;
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int saved = errno;
    close(fd);   /* the mapping keeps the file */
    if (map == MAP_FAILED)
        return retain_errorf("cannot mmap %s: %s", path, strerror(saved));
    *map_ret = map;
    *size_ret = (size_t)st.st_size;
    return NULL;
}
