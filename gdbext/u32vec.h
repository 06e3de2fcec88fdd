/* A growable array of 32-bit ids (edge lists, work stacks). */
#ifndef RETAIN_U32VEC_H
#define RETAIN_U32VEC_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

struct u32vec {
    uint32_t *v;
    size_t n, cap;
};

/* 0, or -1 when out of memory (the vector is unchanged). */
static inline int u32vec_push(struct u32vec *a, uint32_t x)
{
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 256;
        uint32_t *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -1;
        a->v = v;
        a->cap = cap;
    }
    a->v[a->n++] = x;
    return 0;
}

#endif
