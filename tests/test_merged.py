"""`retain path --type REGEX` and `retain path --leaked`: the shortest paths
of a set of blocks merged into one tree (docs/json-schema.md, "path for a
set of blocks"), live and from a core, against fixtures/retained.c (the
registry's 30 items, the tree, the million-link chain), fixtures/leaky.c
(--leaked) and fixtures/hierarchy.cc (targets some of which are leaked)."""

import re

import pytest

from conftest import fixture_target, gdb_script, json_and_text

FIXTURE = "retained.c"

NODE_KEYS = {"label", "kind", "type", "blocks", "bytes", "children"}

QUERIES = {
    "item": "retain path --type 'struct item' --json",
    "tnode": "retain path --type '^struct tnode$' --json",
    "link": "retain path --type '^struct link$' --json",
}
TEXT_QUERIES = {
    "item": "retain path --type 'struct item'",
    "link": "retain path --type '^struct link$'",
}

@pytest.fixture(scope="module")
def answers(target):
    return json_and_text(target, QUERIES, TEXT_QUERIES)


leaky = fixture_target("leaky.c")


hierarchy = fixture_target("hierarchy.cc")


def answer(answers, key):
    ans = answers["json"][key]
    assert "error" not in ans, f"`{QUERIES[key]}` failed: {ans}"
    return check_merged(ans)


def walk(nodes, depth=1):
    for n in nodes:
        yield n, depth
        yield from walk(n["children"], depth + 1)


def check_merged(ans):
    """Shape and counting invariants of a merged path answer."""
    assert ans["schema"] == "retain/1" and ans["command"] == "path", ans
    assert ans["merged"] is True, ans
    for k in ("targets", "unreachable", "tree", "incomplete", "warnings"):
        assert k in ans, f"merged path answer lacks {k!r}"
    assert ans["incomplete"] is False, ans["warnings"]
    for k in ("targets", "unreachable"):
        assert set(ans[k]) >= {"blocks", "bytes"}, ans[k]
    for n, _ in walk(ans["tree"]):
        assert not NODE_KEYS - set(n), f"tree node lacks {NODE_KEYS - set(n)}: {n}"
        assert isinstance(n["label"], str) and n["label"], n
        assert n["blocks"] >= sum(c["blocks"] for c in n["children"]), n
        assert n["bytes"] >= sum(c["bytes"] for c in n["children"]), n
        assert n["blocks"] >= 1 and n["bytes"] >= 1, n
    for n in ans["tree"]:
        assert n["kind"] == "root", n
    for n, depth in walk(ans["tree"]):
        if depth > 1:
            assert n["kind"] == "hop", n
    # every reachable target is counted under exactly one root node
    assert sum(n["blocks"] for n in ans["tree"]) == ans["targets"]["blocks"] - ans["unreachable"]["blocks"]
    assert sum(n["bytes"] for n in ans["tree"]) == ans["targets"]["bytes"] - ans["unreachable"]["bytes"]
    return ans


def only_root(ans, name):
    assert len(ans["tree"]) == 1, [n["label"] for n in ans["tree"]]
    root = ans["tree"][0]
    assert re.search(r"\b%s\b" % name, root["label"]), root["label"]
    return root


# ---- retained.c -------------------------------------------------------------------


def ending_at(node):
    """Targets whose chain ends at this node (the node's block matched)."""
    return node["blocks"] - sum(c["blocks"] for c in node["children"])


def shallowest(ans, pred):
    """The nodes matching pred that have no matching ancestor."""
    out = []

    def visit(nodes):
        for n in nodes:
            if pred(n):
                out.append(n)
            else:
                visit(n["children"])
    visit(ans["tree"])
    return out


# In the schema's example the root node stands for the root variable and the
# block it points to (g_list's first node is counted there, "->next" holds
# the 49 others). The checks below hold whether or not an implementation
# gives that first block a node of its own.


def test_registry_items_merge_under_g_registry(target, answers):
    r = target.truth["registry"]
    ans = answer(answers, "item")
    assert (ans["targets"]["blocks"], ans["targets"]["bytes"]) == (30, r["item_bytes"]), ans["targets"]
    assert ans["unreachable"]["blocks"] == 0 and ans["unreachable"]["bytes"] == 0
    root = only_root(ans, "g_registry")
    assert root["blocks"] == r["item_count"] == 30
    assert root["bytes"] == r["item_bytes"]
    assert root["type"] == "struct registry *", root
    # the items hang off the registry's items[] field, and end there
    items = [n for n, depth in walk(ans["tree"]) if depth > 1 and n["type"] == "struct item"]
    assert items and all("items" in n["label"] for n in items), [n["label"] for n in items]
    assert sum(ending_at(n) for n in items) == 30, ans["tree"]
    assert sum(ending_at(n) for n, _ in walk(ans["tree"])) == 30


def test_tree_nodes_merge_by_field(target, answers):
    """The 21 tnodes: the root node counts all of them; below the tree's root
    block, the four subtrees (5 nodes each) under ->kids[i], or one merged
    ->kids node."""
    t = target.truth["tree"]
    ans = answer(answers, "tnode")
    assert ans["targets"]["blocks"] == t["node_count"] == 21
    assert ans["targets"]["bytes"] == t["node_bytes"]
    root = only_root(ans, "g_tree")
    assert (root["blocks"], root["bytes"]) == (21, t["node_bytes"])
    assert root["type"] == "struct tnode *", root
    nodes = t["nodes"]
    subtrees = sorted((5, n["size"] + sum(m["size"] for m in nodes if m["parent"] == n["id"]))
                      for n in nodes if n["depth"] == 1)
    first = shallowest(ans, lambda n: n["kind"] == "hop" and "kids" in n["label"])
    kids = sorted((c["blocks"], c["bytes"]) for c in first)
    merged = [(20, t["node_bytes"] - nodes[0]["size"])]
    assert kids == subtrees or kids == merged, (kids, subtrees)
    for c in first:
        assert c["type"] == "struct tnode", c
    assert sum(ending_at(n) for n, _ in walk(ans["tree"])) == 21


def test_chain_folds(target, answers):
    """A million links, each one's shortest path through all the previous
    ones: the merged tree folds the chain instead of nesting a million deep."""
    c = target.truth["chain"]
    ans = answer(answers, "link")
    assert (ans["targets"]["blocks"], ans["targets"]["bytes"]) == (c["length"], c["retained"])
    root = only_root(ans, "g_chain")
    assert (root["blocks"], root["bytes"]) == (c["length"], c["retained"])
    assert root["type"] == "struct link *", root
    assert max(d for _, d in walk(ans["tree"])) <= 5, "the chain was not folded"
    nxt = shallowest(ans, lambda n: n["kind"] == "hop" and "next" in n["label"])
    assert len(nxt) == 1, nxt
    assert (nxt[0]["blocks"], nxt[0]["bytes"]) == (c["length"] - 1, c["retained"] - c["link_size"]), nxt
    assert nxt[0]["type"] == "struct link", nxt


def test_text_output(target, answers):
    ok, out = answers["text"]["item"]
    assert ok, out
    assert "g_registry" in out and re.search(r"(?<![\w.])30(?![\w])", out), out
    assert len(out.splitlines()) < 80, out
    ok, out = answers["text"]["link"]
    assert ok, out
    assert "g_chain" in out and "next" in out, out
    assert re.search(r"(?<![\w.])(1000000|1,000,000)(?![\w])", out), out
    assert len(out.splitlines()) < 40, f"{len(out.splitlines())} lines: not folded:\n{out}"


# ---- leaky.c: --leaked ----------------------------------------------------------------


def test_leaked_counts_unreachable(leaky):
    t = leaky.truth
    res = gdb_script(leaky, "out['json'] = retain('retain path --leaked --json')\n"
                            "out['text'] = run('retain path --leaked')")
    ans = res["json"]
    assert "error" not in ans, ans
    check_merged(ans)
    assert ans["tree"] == []
    assert ans["unreachable"]["blocks"] == t["leaked_blocks"] == 26
    assert ans["unreachable"]["bytes"] == t["leaked_bytes"] == 2624
    assert ans["targets"]["blocks"] == 26 and ans["targets"]["bytes"] == 2624
    ok, out = res["text"]
    assert ok, out
    assert re.search(r"(?<![\w.])26(?![\w])", out) and re.search(r"(?<![\w.])(2624|2,624)(?![\w])", out), out


# ---- hierarchy.cc: some targets reachable, some leaked --------------------------------


def test_type_with_leaked_targets(hierarchy):
    """Three Orphans: one held by g_keep_orphan, two leaked."""
    objs = [o for o in hierarchy.truth["objects"] if o["class"] == "Orphan"]
    kept = [o for o in objs if not o["leaked"]]
    leaked = [o for o in objs if o["leaked"]]
    assert len(kept) == 1 and len(leaked) == 2
    res = gdb_script(hierarchy, "out['json'] = retain(\"retain path --type '^Orphan$' --json\")")
    ans = res["json"]
    assert "error" not in ans, ans
    check_merged(ans)
    assert ans["targets"]["blocks"] == 3 and ans["targets"]["bytes"] == sum(o["size"] for o in objs)
    assert ans["unreachable"]["blocks"] == 2
    assert ans["unreachable"]["bytes"] == sum(o["size"] for o in leaked)
    root = only_root(ans, "g_keep_orphan")
    assert (root["blocks"], root["bytes"]) == (1, kept[0]["size"])
