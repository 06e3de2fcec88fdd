/* Turning a chain of block ids into what a user reads: which root (variable,
 * frame, thread), and for each hop the pointer word, its offset, the field
 * it is in and the block's type. Every pointer is read back from memory. */
#ifndef RETAIN_DESCRIBE_H
#define RETAIN_DESCRIBE_H

#include <stdint.h>
#include "filter.h"
#include "session.h"

struct root_desc {
    enum root_kind kind;
    int has_slot;
    uint64_t slot, pointer;
    uint32_t thread;
    const char *label;        /* objfile / mapping path / register name */
    const char *name;         /* variable or symbol, NULL if unnamed */
    uint64_t offset;          /* slot - start of the named thing */
    const char *type;         /* its type's name, NULL if unknown */
    int precise;
    const struct root_frame *frame;
    struct type_ref tref;     /* the named thing's type, for naming hop 0 */
};

struct hop_desc {
    uint64_t addr, size;
    int has_slot;
    uint64_t slot, pointer;
    int64_t offset;           /* of the pointer word in the previous object; -1 unknown */
    int64_t interior;         /* pointer - addr */
    const char *type;         /* the block's type, NULL if unknown (Go: its Go name or a label,
                               * "[]uint8 backing array", "map[string]int buckets") */
    struct type_ref tref;     /* the same, for naming what follows */
    struct naming_target target;   /* all that is known of what the pointer points at (tref, elems, label) */
    const char *via;          /* how the word reaches the block when the field does not say (Go:
                               * "interface: *main.span"), NULL otherwise; valid for the session */
    int array;                /* the block holds several of them (char *buf -> char[]); never for Go,
                               * whose labels say so */
    char field[160];
};

void describe_root(struct retain_session *s, const struct root_edge *e, struct root_desc *d);
/* root_judge_fn for queries (query.h). Roots whose name (else label) does
 * not match `root`, or matches `exclude`, are left out; filters may be NULL. */
struct root_judge {
    struct retain_session *s;
    const struct filter *root, *exclude;
};
int describe_root_judge(void *ctx, const struct root_edge *e);
/* hops must hold p->nblocks entries. */
void describe_path(struct retain_session *s, const struct query_path *p, struct root_desc *root,
                   struct hop_desc *hops);
/* The referrer `from` of block `to`: h describes `from` and the word in it
 * that points at `to`. With infer_type, a block with no vtable is typed by
 * its own shortest chain from the roots (a reverse BFS: use sparingly). */
void describe_edge(struct retain_session *s, uint32_t from, uint32_t to, int infer_type, struct hop_desc *h);

/* The field of block `from` (of type from_type, an array of it when
 * from_array) that points at block `to`: ".next", "[3].next", "+0x18"
 * (Go types as naming_word names them). */
void describe_field(struct retain_session *s, uint32_t from, uint32_t to, struct type_ref from_type,
                    int from_array, char *buf, size_t buflen);

#endif
