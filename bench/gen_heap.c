/* gen_heap: build a big glibc heap with a pointer graph, then wait to be
 * gcore'd.  Part of retain's benchmark kit (bench/run.sh).
 *
 *   gen_heap [options] OUT.json
 *     -n N    main-thread malloc calls (default 5600000; ~5% are freed)
 *     -c N    deep chain length (default 1000000)
 *     -B MiB  minimum in-use bytes; more list blocks are added until reached
 *             (default 2048 = 2 GiB)
 *     -T N    blocks allocated by a second thread, in its own arena
 *             (default 100000, 0 = no thread)
 *     -M N    number of 256 KiB mmapped chunks (default 4)
 *     -s S    PRNG seed (default 1)
 *
 * Shape of the heap (everything is deterministic for a given seed):
 *   - g_chain -> node -> node -> ... (N_chain nodes, one `next` each, linked
 *     in a random order so consecutive hops jump around the heap).  Nothing
 *     else points into the chain, so the tail's only path from a root has
 *     N_chain hops.  The tail's address is the benchmark query.
 *   - g_trees[4]: complete binary trees (left/right).
 *   - g_lists[8192]: singly linked lists holding every other block.
 *   - about half of the list/tree nodes carry one cross pointer to a random
 *     list/tree node (so 1-3 pointers per block).
 *   - g_thread_list: a list in a second arena (non-main, mmapped heap).
 *   - g_big[]: a few mmapped chunks full of pointers to list nodes.
 *   - ~5% of the main-thread allocations are freed after everything is
 *     allocated, scattered through the heap (tcache, fastbins, bins).
 * Block sizes: 98.5% in 64..700 bytes, 1.5% in 1024..8192 bytes; all below
 * M_MMAP_THRESHOLD (128 KiB), so the bulk lives in the main arena (brk).
 * Payload words are small integers (< 2^32) that never look like pointers.
 *
 * When the heap is ready it writes OUT.json (query address and counts),
 * prints READY on stdout and pause()s forever.  Helper arrays live in
 * private mmaps that are unmapped before READY, so the core holds no
 * side index of the blocks. */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct node {
    struct node *p[3];   /* chain/list: p[0]=next, p[1]=cross;
                            tree: p[0]=left, p[1]=right, p[2]=cross */
    uint64_t tag;        /* kind << 56 | index: never a heap address */
    uint64_t payload[];  /* small integers */
};

/* Roots (globals with external linkage, so they stay in .data/.bss). */
struct node *g_chain;
struct node *g_trees[4];
#define NLISTS 8192
struct node *g_lists[NLISTS];
struct node *g_thread_list;
#define MAXBIG 64
uint64_t *g_big[MAXBIG];

enum { K_LIST, K_CHAIN, K_TREE, K_FREE };

static uint64_t rng_state;
static inline uint64_t rnd(void)   /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static inline uint64_t rndn(uint64_t n) { return rnd() % n; }

static void *xmap(size_t bytes)
{
    void *p = mmap(NULL, bytes ? bytes : 1, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); exit(1); }
    return p;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static size_t pick_size(void)
{
    if (rndn(1000) < 15) return 1024 + rndn(8192 - 1024 + 1);
    return 64 + rndn(700 - 64 + 1);
}

static struct node *new_node(size_t size, unsigned kind, uint64_t idx)
{
    struct node *n = malloc(size);
    if (!n) { fprintf(stderr, "gen_heap: malloc(%zu) failed\n", size); exit(1); }
    n->p[0] = n->p[1] = n->p[2] = NULL;
    n->tag = (uint64_t)(kind + 1) << 56 | idx;
    size_t words = size / 8 - 4;
    uint32_t v = (uint32_t)(idx * 2654435761u);
    for (size_t i = 0; i < words; i++)
        n->payload[i] = (uint32_t)(v + i * 40503u);   /* < 2^32 */
    return n;
}

/* ---- second thread: a list in a non-main arena ---- */
static struct { long n; uint64_t seed; long inuse, freed, edges;
                uint64_t bytes; } thr;
static pthread_mutex_t thr_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t thr_cv = PTHREAD_COND_INITIALIZER;
static int thr_done;

static void *thread_main(void *arg)
{
    (void)arg;
    uint64_t s = thr.seed;
    struct node **tmp = xmap(thr.n * sizeof *tmp);
    for (long i = 0; i < thr.n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        size_t size = 64 + (s >> 33) % (700 - 64 + 1);
        tmp[i] = new_node(size, K_LIST, (uint64_t)i | 1ull << 40);
        tmp[i]->p[2] = (struct node *)size;   /* remember size (not a pointer) */
    }
    for (long i = 0; i < thr.n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if ((s >> 33) % 100 < 5) { free(tmp[i]); tmp[i] = NULL; thr.freed++; }
    }
    for (long i = 0; i < thr.n; i++) {
        struct node *n = tmp[i];
        if (!n) continue;
        thr.bytes += (uint64_t)n->p[2];
        n->p[2] = NULL;
        if (g_thread_list) thr.edges++;
        n->p[0] = g_thread_list;
        g_thread_list = n;
        thr.inuse++;
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        if ((s >> 33) % 2) {
            long j = (long)((s >> 7) % (uint64_t)thr.n);
            if (tmp[j]) { n->p[1] = tmp[j]; thr.edges++; }
        }
    }
    munmap(tmp, thr.n * sizeof *tmp);
    pthread_mutex_lock(&thr_mu);
    thr_done = 1;
    pthread_cond_signal(&thr_cv);
    pthread_mutex_unlock(&thr_mu);
    for (;;) pause();
    return NULL;
}

static void heap_range(uint64_t *lo, uint64_t *hi)
{
    *lo = *hi = 0;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f))
        if (strstr(line, "[heap]")) { sscanf(line, "%" SCNx64 "-%" SCNx64, lo, hi); break; }
    fclose(f);
}

struct params { long n, chain, thread_n, nbig; uint64_t min_bytes, seed; const char *out; };

static void __attribute__((noinline)) build(const struct params *P)
{
    double t0 = now();
    rng_state = P->seed;

    /* second arena first, so its heap is mapped before the main arena grows */
    pthread_t th;
    if (P->thread_n > 0) {
        thr.n = P->thread_n; thr.seed = P->seed ^ 0x5bd1e995;
        if (pthread_create(&th, NULL, thread_main, NULL)) { perror("pthread_create"); exit(1); }
        pthread_mutex_lock(&thr_mu);
        while (!thr_done) pthread_cond_wait(&thr_cv, &thr_mu);
        pthread_mutex_unlock(&thr_mu);
    }

    /* kinds: chain, trees, to-be-freed, rest lists; shuffled together */
    long n = P->n;
    long nfree = n / 20;
    int ntrees = 4, depth = 17;
    while (depth > 1 && (long)ntrees * ((1l << depth) - 1) > n / 10) depth--;
    long tree_nodes = (1l << depth) - 1;
    if (P->chain + ntrees * tree_nodes + nfree >= n) {
        fprintf(stderr, "gen_heap: -n %ld too small for -c %ld\n", n, P->chain);
        exit(2);
    }
    long cap = n + n / 2;                       /* room for the top-up */
    uint8_t *kind = xmap(cap);
    struct node **blk = xmap(cap * sizeof *blk);
    long k = 0;
    for (long i = 0; i < P->chain; i++) kind[k++] = K_CHAIN;
    for (long i = 0; i < ntrees * tree_nodes; i++) kind[k++] = K_TREE;
    for (long i = 0; i < nfree; i++) kind[k++] = K_FREE;
    while (k < n) kind[k++] = K_LIST;
    for (long i = n - 1; i > 0; i--) {
        long j = (long)rndn(i + 1);
        uint8_t t = kind[i]; kind[i] = kind[j]; kind[j] = t;
    }

    /* allocate everything in that interleaved order */
    uint64_t inuse_bytes = 0;
    for (long i = 0; i < n; i++) {
        size_t sz = pick_size();
        blk[i] = new_node(sz, kind[i], i);
        if (kind[i] != K_FREE) inuse_bytes += sz;
    }
    /* top up with list blocks until the in-use bytes reach the target */
    while (inuse_bytes < P->min_bytes) {
        if (n == cap) { fprintf(stderr, "gen_heap: top-up overflow\n"); exit(1); }
        size_t sz = pick_size();
        kind[n] = K_LIST;
        blk[n] = new_node(sz, K_LIST, n);
        inuse_bytes += sz;
        n++;
    }
    double t_alloc = now();

    /* free the scattered 5% */
    for (long i = 0; i < n; i++)
        if (kind[i] == K_FREE) { free(blk[i]); blk[i] = NULL; }

    /* index lists by kind (helper arrays reuse private mmaps) */
    long nchain = 0, ntree = 0, npool = 0;
    long *chain = xmap(P->chain * sizeof *chain);
    long *tree = xmap(ntrees * tree_nodes * sizeof *tree);
    long *pool = xmap(n * sizeof *pool);       /* list + tree: cross targets */
    for (long i = 0; i < n; i++) {
        if (kind[i] == K_CHAIN) chain[nchain++] = i;
        else if (kind[i] == K_TREE) { tree[ntree++] = i; pool[npool++] = i; }
        else if (kind[i] == K_LIST) pool[npool++] = i;
    }
    uint64_t edges = 0;

    /* deep chain, linked in random order */
    for (long i = nchain - 1; i > 0; i--) {
        long j = (long)rndn(i + 1);
        long t = chain[i]; chain[i] = chain[j]; chain[j] = t;
    }
    for (long i = 0; i + 1 < nchain; i++) { blk[chain[i]]->p[0] = blk[chain[i + 1]]; edges++; }
    g_chain = blk[chain[0]];
    struct node *tail = blk[chain[nchain - 1]];
    long tail_idx = chain[nchain - 1];

    /* complete binary trees */
    for (int t = 0; t < ntrees; t++) {
        long *tn = tree + t * tree_nodes;
        for (long j = 0; j < tree_nodes; j++) {
            struct node *x = blk[tn[j]];
            if (2 * j + 1 < tree_nodes) { x->p[0] = blk[tn[2 * j + 1]]; edges++; }
            if (2 * j + 2 < tree_nodes) { x->p[1] = blk[tn[2 * j + 2]]; edges++; }
        }
        g_trees[t] = blk[tn[0]];
    }

    /* lists: push-front onto a random head */
    long nlist = 0;
    for (long i = 0; i < n; i++) {
        if (kind[i] != K_LIST) continue;
        struct node *x = blk[i];
        long h = (long)rndn(NLISTS);
        if (g_lists[h]) edges++;
        x->p[0] = g_lists[h];
        g_lists[h] = x;
        nlist++;
    }

    /* cross pointers: half of the list/tree nodes -> a random list/tree node */
    long ncross = 0;
    for (long i = 0; i < npool; i++) {
        if (rnd() & 1) continue;
        struct node *x = blk[pool[i]];
        x->p[kind[pool[i]] == K_TREE ? 2 : 1] = blk[pool[rndn(npool)]];
        ncross++; edges++;
    }

    /* a few mmapped chunks (>= M_MMAP_THRESHOLD) full of pointers */
    long nbig = P->nbig < MAXBIG ? P->nbig : MAXBIG;
    const size_t big_size = 256 * 1024;
    for (long b = 0; b < nbig; b++) {
        uint64_t *w = malloc(big_size);
        if (!w) { perror("malloc big"); exit(1); }
        for (size_t i = 0; i < big_size / 8; i++) {
            if (i % 64 == 0) { w[i] = (uint64_t)blk[pool[rndn(npool)]]; edges++; }
            else w[i] = i;
        }
        g_big[b] = w;
    }

    long nheap_inuse = n - nfree;
    munmap(kind, cap); munmap(blk, cap * sizeof *blk);
    munmap(chain, P->chain * sizeof *chain);
    munmap(tree, ntrees * tree_nodes * sizeof *tree);
    munmap(pool, n * sizeof *pool);
    double t_end = now();

    uint64_t lo, hi;
    heap_range(&lo, &hi);
    FILE *f = fopen(P->out, "w");
    if (!f) { perror(P->out); exit(1); }
    fprintf(f,
        "{\"query\": \"0x%" PRIx64 "\", \"query_index\": %ld, \"chain_len\": %ld,\n"
        " \"blocks_allocated\": %ld, \"blocks_freed\": %ld, \"blocks_in_use\": %ld,\n"
        " \"main_in_use\": %ld, \"thread_in_use\": %ld, \"mmapped_in_use\": %ld,\n"
        " \"list_nodes\": %ld, \"tree_nodes\": %ld, \"trees\": %d, \"cross_pointers\": %ld,\n"
        " \"bytes_in_use\": %" PRIu64 ", \"planted_edges\": %" PRIu64 ",\n"
        " \"heap_lo\": \"0x%" PRIx64 "\", \"heap_hi\": \"0x%" PRIx64 "\", \"heap_bytes\": %" PRIu64 ",\n"
        " \"seed\": %" PRIu64 ", \"pid\": %d, \"alloc_seconds\": %.3f, \"build_seconds\": %.3f}\n",
        (uint64_t)tail, tail_idx, nchain,
        n + thr.n + nbig, nfree + thr.freed, nheap_inuse + thr.inuse + nbig,
        nheap_inuse, thr.inuse, nbig,
        nlist, ntree, ntrees, ncross,
        inuse_bytes + thr.bytes + nbig * big_size, edges + thr.edges,
        lo, hi, hi - lo,
        P->seed, (int)getpid(), t_alloc - t0, t_end - t0);
    if (fclose(f)) { perror(P->out); exit(1); }
    if (nheap_inuse + thr.inuse + nbig < 5000000 || inuse_bytes < (2ull << 30))
        fprintf(stderr, "gen_heap: note: below the 5M blocks / 2 GiB benchmark size\n");
}

/* Overwrite the dead stack below main's frame, so no stale copy of a block
 * address (the query in particular) sits where a conservative scan of the
 * stack might see it. */
static void __attribute__((noinline)) scrub_stack(void)
{
    volatile char buf[256 * 1024];
    memset((char *)buf, 0, sizeof buf);
#if defined(__x86_64__)
    /* and the caller-saved registers */
    __asm__ volatile("xor %%eax,%%eax; xor %%ecx,%%ecx; xor %%edx,%%edx;"
                     "xor %%esi,%%esi; xor %%edi,%%edi; xor %%r8d,%%r8d;"
                     "xor %%r9d,%%r9d; xor %%r10d,%%r10d; xor %%r11d,%%r11d"
                     ::: "rax", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10",
                         "r11", "memory");
#endif
}

int main(int argc, char **argv)
{
    struct params P = { .n = 5600000, .chain = 1000000, .thread_n = 100000,
                        .nbig = 4, .min_bytes = 2048ull << 20, .seed = 1 };
    int c;
    while ((c = getopt(argc, argv, "n:c:B:T:M:s:")) != -1) {
        switch (c) {
        case 'n': P.n = atol(optarg); break;
        case 'c': P.chain = atol(optarg); break;
        case 'B': P.min_bytes = strtoull(optarg, NULL, 10) << 20; break;
        case 'T': P.thread_n = atol(optarg); break;
        case 'M': P.nbig = atol(optarg); break;
        case 's': P.seed = strtoull(optarg, NULL, 10); break;
        default:
            fprintf(stderr, "usage: %s [-n N] [-c CHAIN] [-B MiB] [-T N] [-M N] [-s SEED] OUT.json\n", argv[0]);
            return 2;
        }
    }
    if (optind != argc - 1 || P.chain < 2 || P.n < 1) {
        fprintf(stderr, "usage: %s [-n N] [-c CHAIN] [-B MiB] [-T N] [-M N] [-s SEED] OUT.json\n", argv[0]);
        return 2;
    }
    P.out = argv[optind];
    build(&P);
    scrub_stack();
    fputs("READY\n", stdout);
    fflush(stdout);
    for (;;) pause();
}
