/* Replays inputs through a fuzz target without libFuzzer: linked with one
 * fuzz_X.c (and the engine), built with or without sanitizers.
 *
 *   replay_X FILE...
 *
 * A FILE ending in ".txt" is a regression case in text form (what
 * fuzz/regressions/ holds, since no binaries are committed): lines starting
 * with '#' are comments, the rest is hex digits, whitespace ignored.
 * Any other FILE is a raw input (a crash file libFuzzer wrote, a corpus
 * element). Each input runs once; a crash or a failed invariant aborts the
 * process, so exit status 0 means every input passed. */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void die(const char *path, const char *what)
{
    fprintf(stderr, "replay: %s: %s\n", path, what);
    exit(2);
}

static uint8_t *slurp(const char *path, size_t *size_ret)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, strerror(errno));
    size_t cap = 4096, n = 0;
    uint8_t *buf = malloc(cap);
    if (!buf)
        die(path, "out of memory");
    for (;;) {
        if (n == cap) {
            cap *= 2;
            uint8_t *nb = realloc(buf, cap);
            if (!nb)
                die(path, "out of memory");
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f))
        die(path, "read error");
    fclose(f);
    *size_ret = n;
    return buf;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Decodes the text form in place; returns the byte count. */
static size_t decode_text(const char *path, uint8_t *buf, size_t n)
{
    size_t out = 0;
    int hi = -1, line_start = 1, comment = 0;
    for (size_t i = 0; i < n; i++) {
        int c = buf[i];
        if (c == '\n') {
            line_start = 1;
            comment = 0;
            continue;
        }
        if (line_start && c == '#')
            comment = 1;
        line_start = 0;
        if (comment || isspace(c))
            continue;
        int v = hexval(c);
        if (v < 0)
            die(path, "not a hex digit outside a comment");
        if (hi < 0) {
            hi = v;
        } else {
            buf[out++] = (uint8_t)(hi << 4 | v);
            hi = -1;
        }
    }
    if (hi >= 0)
        die(path, "odd number of hex digits");
    return out;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE...  (FILE.txt: hex text; other files: raw input)\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) {
        size_t n = 0;
        uint8_t *buf = slurp(argv[i], &n);
        size_t len = strlen(argv[i]);
        if (len > 4 && strcmp(argv[i] + len - 4, ".txt") == 0)
            n = decode_text(argv[i], buf, n);
        /* an exactly sized copy, so ASan sees a read one past the end */
        uint8_t *input = malloc(n ? n : 1);
        if (!input)
            die(argv[i], "out of memory");
        memcpy(input, buf, n);
        free(buf);
        printf("replay: %s (%zu bytes)\n", argv[i], n);
        fflush(stdout);
        LLVMFuzzerTestOneInput(input, n);
        free(input);
    }
    printf("replay: %d input(s) passed\n", argc - 1);
    return 0;
}
