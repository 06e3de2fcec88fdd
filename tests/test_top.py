"""`retain top` (dominators and retained sizes) against fixtures/retained.c,
live and from a core: by block, by type and by root, JSON and text.

A block's retained size is the sum of the usable sizes of itself and of
every block it dominates; the fixture computes each figure itself (see the
header of fixtures/retained.c). Every query of a target runs in one gdb
session (the `answers` fixture)."""

import re

import pytest

from conftest import check_addr, check_root, h, json_and_text

FIXTURE = "retained.c"

TOP_ENTRY_KEYS = {"rank", "block", "size", "retained", "count", "type", "chain", "root"}

# every JSON query of this module, run once per target in one gdb
QUERIES = {
    "block": "retain top 7 --by block --json",
    "type": "retain top 100 --by type --json",
    "root3": "retain top 3 --by root --json",
    "root": "retain top 100 --by root --json",
    "dnode": "retain top 10 --by block --type '^struct dnode$' --json",
    "shared": "retain top 10 --by block --type '^struct shared$' --json",
    "stats": "retain stats --json",
}
TEXT_QUERIES = {
    "block": "retain top 7 --by block",
    "root": "retain top 3 --by root",
    "type": "retain top 100 --by type",
}

@pytest.fixture(scope="module")
def answers(target):
    return json_and_text(target, QUERIES, TEXT_QUERIES)


def answer(answers, key):
    ans = answers["json"][key]
    assert "error" not in ans, f"`{QUERIES[key]}` failed: {ans}"
    assert ans["schema"] == "retain/1"
    return ans


def text(answers, key):
    ok, out = answers["text"][key]
    assert ok, f"`{TEXT_QUERIES[key]}` failed: {out}"
    return out


def check_top(ans, by):
    """The shape of a `retain top --json` answer (docs/json-schema.md)."""
    assert ans["command"] == "top", ans
    assert ans["by"] == by, ans
    for k in ("entries", "reachable_bytes", "incomplete", "warnings"):
        assert k in ans, f"top answer lacks {k!r}"
    assert ans["incomplete"] is False, ans["warnings"]
    assert isinstance(ans["reachable_bytes"], int)
    entries = ans["entries"]
    assert [e["rank"] for e in entries] == list(range(1, len(entries) + 1))
    retained = [e["retained"] for e in entries]
    assert retained == sorted(retained, reverse=True), f"entries not largest first: {retained}"
    for e in entries:
        missing = TOP_ENTRY_KEYS - set(e)
        assert not missing, f"top entry lacks {missing}: {e}"
        assert isinstance(e["retained"], int) and e["retained"] >= 0, e
        assert isinstance(e["count"], int) and e["count"] >= 0, e
        # every entry has a one-line chain
        assert isinstance(e["chain"], str) and e["chain"].strip(), e
        assert "\n" not in e["chain"], e
        if by == "block":
            check_addr(e["block"])
            assert isinstance(e["size"], int) and 0 < e["size"] <= e["retained"], e
        if by == "root":
            check_root(e["root"])
    return entries


def by_block(entries):
    return {h(e["block"]): e for e in entries}


def number_re(n):
    """n as a whole number in text, with or without thousands separators."""
    groups = f"{n:,}".split(",")
    return re.compile(r"(?<![\w.])" + r"[,_' ]?".join(groups) + r"(?![\w])")


def mentions(out, n):
    return number_re(n).search(out) is not None


def global_root(entry, name, truth_addr=None):
    root = entry["root"]
    check_root(root)
    assert root["kind"] == "global" and root["name"] == name, entry
    if truth_addr is not None:
        assert h(root["addr"]) == h(truth_addr), entry
    return root


# ---- --by block -----------------------------------------------------------------


def test_top_blocks_exact(target, answers):
    """The 7 largest: the tree root, its 25 MB buffer, the registry, its
    index, then the head of the million-link chain and its next two links."""
    t = target.truth
    entries = check_top(answer(answers, "block"), "block")
    assert len(entries) == 7
    for e, want in zip(entries, t["top_blocks"]):
        assert h(e["block"]) == h(want["addr"]), (want["what"], e)
        assert e["retained"] == want["retained"], (want["what"], e)
        assert e["size"] == want["size"], (want["what"], e)
        assert e["rank"] == want["rank"]


def test_top_blocks_types_roots_chains(target, answers):
    t = target.truth
    entries = by_block(check_top(answer(answers, "block"), "block"))
    tree = entries[h(t["tree"]["root"])]
    assert tree["type"] == "struct tnode", tree
    global_root(tree, "g_tree", t["tree"]["global_addr"])
    assert "g_tree" in tree["chain"] and t["tree"]["root"] in tree["chain"], tree

    data = entries[h(t["tree"]["nodes"][0]["data"])]
    global_root(data, "g_tree")
    assert "g_tree" in data["chain"] and "data" in data["chain"], data

    reg = entries[h(t["registry"]["addr"])]
    assert reg["type"] == "struct registry", reg
    global_root(reg, "g_registry", t["registry"]["global_addr"])
    assert "g_registry" in reg["chain"], reg

    head = entries[h(t["chain"]["head"])]
    assert head["type"] == "struct link", head
    assert head["retained"] == t["chain"]["retained"] == t["chain"]["length"] * t["chain"]["link_size"]
    global_root(head, "g_chain", t["chain"]["global_addr"])
    assert "g_chain" in head["chain"], head
    third = entries[h(t["chain"]["third"])]
    assert "g_chain" in third["chain"] and "next" in third["chain"], third


def test_diamond_retained_sizes(target, answers):
    """A dominates B, C and D (D is reached via B and via C, so neither of
    them dominates it): A retains all four, B, C and D only themselves."""
    d = target.truth["diamond"]
    entries = check_top(answer(answers, "dnode"), "block")
    assert [h(e["block"]) for e in entries] == [h(d[k]["addr"]) for k in "ADCB"]
    got = by_block(entries)
    for k in "ABCD":
        e = got[h(d[k]["addr"])]
        assert e["retained"] == d[k]["retained"], (k, e)
        assert e["size"] == d[k]["size"], (k, e)
        assert e["type"] == "struct dnode", e
        global_root(e, "g_diamond")
    assert got[h(d["A"]["addr"])]["retained"] == sum(d[k]["size"] for k in "ABCD") == d["bytes"]
    assert got[h(d["B"]["addr"])]["retained"] == d["B"]["size"]


def test_block_of_two_globals_retains_itself(target, answers):
    """The block both g_shared_a and g_shared_b hold still dominates its own
    buffer: by block it retains itself and the buffer."""
    s = target.truth["shared"]
    entries = check_top(answer(answers, "shared"), "block")
    assert len(entries) == 1, entries
    e = entries[0]
    assert h(e["block"]) == h(s["addr"])
    assert e["retained"] == s["retained"] == s["size"] + s["buf_size"]
    assert e["root"]["name"] in s["globals"], e
    assert any(g in e["chain"] for g in s["globals"]), e


def test_reachable_bytes(target, answers):
    """Every in-use block of retained.c is reachable: the virtual root
    retains every in-use byte, at least all of the fixture's."""
    t = target.truth
    ans = answer(answers, "block")
    stats = answer(answers, "stats")
    mine = (t["tree"]["retained"] + t["registry"]["retained"] + t["chain"]["retained"]
            + t["diamond"]["bytes"] + t["shared"]["retained"])
    assert ans["reachable_bytes"] >= mine
    assert ans["reachable_bytes"] == stats["bytes"]["in_use"], (ans["reachable_bytes"], stats["bytes"])


# ---- --by type --------------------------------------------------------------------


def type_entries(answers):
    entries = check_top(answer(answers, "type"), "type")
    out = {}
    for e in entries:
        if e["type"] is not None:
            assert e["type"] not in out, f"two entries for {e['type']}"
            out[e["type"]] = e
        else:
            assert isinstance(e["size"], int) and e["size"] > 0, e
    return out


def test_by_type_struct_item(target, answers):
    r = target.truth["registry"]
    e = type_entries(answers)["struct item"]
    assert e["count"] == r["item_count"] == 30
    assert e["size"] == r["item_bytes"] == sum(i["size"] for i in r["items"])
    # no item dominates another: the sum of their retained sizes
    assert e["retained"] == r["item_retained"] == sum(i["retained"] for i in r["items"])
    big = r["items"][r["largest_item"]]
    assert h(e["block"]) == h(big["addr"]), e          # the largest struct item
    assert "g_registry" in e["chain"] and "items[%d]" % r["largest_item"] in e["chain"], e


def test_by_type_other_structs(target, answers):
    t = target.truth
    types = type_entries(answers)
    tn = types["struct tnode"]
    assert tn["count"] == t["tree"]["node_count"] == 21
    assert tn["size"] == t["tree"]["node_bytes"]
    assert tn["retained"] == t["tree"]["retained"]       # only the tree root counts
    assert h(tn["block"]) == h(t["tree"]["root"])
    dn = types["struct dnode"]
    assert (dn["count"], dn["size"], dn["retained"]) == (4, t["diamond"]["bytes"], t["diamond"]["bytes"])
    assert h(dn["block"]) == h(t["diamond"]["A"]["addr"])
    ln = types["struct link"]
    c = t["chain"]
    assert (ln["count"], ln["size"], ln["retained"]) == (c["length"], c["retained"], c["retained"])
    assert h(ln["block"]) == h(c["head"])
    rg = types["struct registry"]
    assert (rg["count"], rg["size"], rg["retained"]) == (1, t["registry"]["size"], t["registry"]["retained"])
    sh = types["struct shared"]
    assert (sh["count"], sh["size"], sh["retained"]) == (1, t["shared"]["size"], t["shared"]["retained"])


# ---- --by root ---------------------------------------------------------------------


def root_entries(ans):
    out = {}
    for e in check_top(ans, "root"):
        if e["root"]["kind"] == "global" and e["root"]["name"]:
            out.setdefault(e["root"]["name"], e)
    return out


def test_by_root_top3(target, answers):
    t = target.truth
    entries = check_top(answer(answers, "root3"), "root")
    assert len(entries) == 3
    for e, want in zip(entries, t["top_roots"]):
        global_root(e, want["name"])
        assert e["retained"] == want["retained"], (want, e)
        assert e["count"] == want["count"], (want, e)
        assert want["name"] in e["chain"], e
    # g_registry alone keeps the registry, its index, the 30 items and their names
    reg = entries[1]
    assert h(reg["root"]["addr"]) == h(t["registry"]["global_addr"])
    assert reg["retained"] == t["registry"]["retained"]
    assert reg["count"] == t["registry"]["blocks"] == 62


def test_by_root_shared_globals_retain_less_than_the_block(target, answers):
    """Neither g_shared_a nor g_shared_b alone keeps the shared block alive:
    each retains nothing (or is not listed), less than the block."""
    t = target.truth
    roots = root_entries(answer(answers, "root"))
    d = roots["g_diamond"]
    assert (d["retained"], d["count"]) == (t["diamond_root"]["retained"], t["diamond_root"]["count"])
    s = t["shared"]
    for g in s["globals"]:
        e = roots.get(g)
        if e is not None:
            assert e["retained"] == 0 and e["count"] == 0, e
            assert e["retained"] < s["size"]


# ---- text --------------------------------------------------------------------------


def test_text_by_block(target, answers):
    t = target.truth
    out = text(answers, "block")
    for want in t["top_blocks"]:
        assert mentions(out, want["retained"]), (want, out)
    for g in ("g_tree", "g_registry", "g_chain"):
        assert g in out, out
    # largest first: the tree root before the registry before the chain head
    pos = [out.find(a) for a in (t["tree"]["root"], t["registry"]["addr"], t["chain"]["head"])]
    assert -1 not in pos and pos == sorted(pos), (pos, out)
    assert len(out.splitlines()) < 60, out


def test_text_by_root(target, answers):
    t = target.truth
    out = text(answers, "root")
    pos = []
    for want in t["top_roots"]:
        assert want["name"] in out and mentions(out, want["retained"]), (want, out)
        pos.append(out.find(want["name"]))
    assert pos == sorted(pos), out


def test_text_by_type(target, answers):
    t = target.truth
    out = text(answers, "type")
    assert "struct item" in out and mentions(out, t["registry"]["item_retained"]), out
    assert "struct tnode" in out and mentions(out, t["tree"]["retained"]), out
    assert "struct link" in out and mentions(out, t["chain"]["retained"]), out
