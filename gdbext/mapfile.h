/* Mapping a whole regular file read-only (core files, ELF objects). */
#ifndef RETAIN_MAPFILE_H
#define RETAIN_MAPFILE_H

#include <stddef.h>
#include "error.h"

/* Maps path; files shorter than min_size fail with "PATH: too small for
 * WHAT (N bytes)". The caller munmaps *map_ret (*size_ret bytes). */
struct retain_error *map_file_readonly(const char *path, size_t min_size, const char *what,
                                       void **map_ret, size_t *size_ret);

#endif
