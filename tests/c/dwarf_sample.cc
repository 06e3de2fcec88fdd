// A program whose DWARF test_dwarf reads: globals of the shapes retain
// names (lists, hash tables, class hierarchies, typedefs, arrays, unions).
// Build: g++ -g -O0 -no-pie -o dwarf_sample dwarf_sample.cc
// Run it only to see the addresses; the test reads the ELF file.
#include <cstdio>
#include <cstdlib>
#include <cstring>

extern "C" {

struct node {
    int v;
    struct node *next;
    char *payload;
};

struct entry {
    unsigned long key;
    struct entry *chain;
    void *value;
};

struct table {
    unsigned long count;
    struct entry *buckets[64];
    struct node *lists[2][3];
};

typedef struct node *node_ref;

union cell {
    long number;
    char *text;
    struct node *link;
};

struct item {
    char name[16];
    const char *label;
    struct node *owner;
};

struct opaque;                       // only ever pointed to

struct packet {                      // a header and a flexible array
    unsigned len : 12;
    unsigned kind : 4;
    union {                          // anonymous: its members name directly
        struct node *first;
        long tag;
    };
    struct node *refs[];
};

struct node *g_head;
struct table g_table;
node_ref g_ref;
union cell g_cell;
struct opaque *g_opaque;
const char *g_names[4];
struct packet *g_packet;
}

namespace ns {

class Base {
public:
    virtual ~Base() {}
    virtual int size() const { return 0; }
    struct node *base_node = nullptr;
};

class Derived : public Base {
public:
    int size() const override { return 1; }
    char *buffer = nullptr;
    static Derived *s_last;
};

Derived *Derived::s_last;
Base *g_base;

}  // namespace ns

static struct item s_items[3];
ns::Derived g_derived;

static struct node *cached_node(void)
{
    static struct node *s_cache;     // a static local: "cached_node::s_cache"
    if (!s_cache)
        s_cache = (struct node *)calloc(1, sizeof *s_cache);
    return s_cache;
}

int main(void)
{
    g_head = (struct node *)calloc(1, sizeof *g_head);
    g_head->payload = strdup("payload");
    g_table.buckets[3] = (struct entry *)calloc(1, sizeof(struct entry));
    g_ref = g_head;
    g_cell.link = g_head;
    s_items[1].owner = g_head;
    s_items[2].label = "item";
    ns::g_base = new ns::Derived;
    ns::Derived::s_last = &g_derived;
    g_names[0] = "zero";
    g_packet = (struct packet *)calloc(1, sizeof(struct packet) + 8 * sizeof(struct node *));
    g_packet->refs[5] = g_head;
    printf("g_head %p g_table %p s_items %p derived %p cached %p size %d\n", (void *)&g_head,
           (void *)&g_table, (void *)s_items, (void *)&g_derived, (void *)cached_node(),
           ns::g_base->size());
    return 0;
}
