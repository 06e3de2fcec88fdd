"""`retain leaks` against fixtures/leaky.c, live and from a core.

leaky.c leaks trees, cycles, a cycle holding a tree, a single block, a
block held only by another leaked block, and a block two leak roots share;
it allocates nothing else, so its leaks are the only unreachable blocks in
the process (checked by hand with a conservative scan of all writable
memory and registers) and the totals are checked exactly. Every query of a
target runs in one gdb session (the `answers` fixture)."""

import collections
import re

import pytest

from conftest import check_addr, gdb_script, h

FIXTURE = "leaky.c"

ROOT_KEYS = {"kind", "blocks", "type", "own_bytes", "total_bytes", "held_blocks"}
GROUP_KEYS = {"type", "size", "roots", "total_bytes"}

_SCRIPT = r"""
out['leaks'] = retain('retain leaks --json')
out['text'] = run('retain leaks')
out['info'] = [retain('retain info %s --json' % a) for a in ARGS['info']]
"""


@pytest.fixture(scope="module")
def answers(target):
    t = target.truth
    info = [t["unowned"]["addr"], t["not_roots"][0]["addr"], t["keep"]["nodes"][0]["addr"]]
    return gdb_script(target, _SCRIPT, args={"info": info})


def check_leaks(ans):
    assert "error" not in ans, f"`retain leaks --json` failed: {ans}"
    assert ans["schema"] == "retain/1" and ans["command"] == "leaks", ans
    for k in ("leaked_blocks", "leaked_bytes", "roots", "groups", "incomplete", "warnings"):
        assert k in ans, f"leaks answer lacks {k!r}"
    assert ans["incomplete"] is False, ans["warnings"]
    for r in ans["roots"]:
        assert not ROOT_KEYS - set(r), f"leak root lacks {ROOT_KEYS - set(r)}: {r}"
        assert r["kind"] in ("block", "cycle"), r
        assert r["blocks"], r
        for a in r["blocks"]:
            check_addr(a)
        assert (r["kind"] == "cycle") == (len(r["blocks"]) > 1), r
        assert 0 < r["own_bytes"] <= r["total_bytes"], r
        assert isinstance(r["held_blocks"], int) and r["held_blocks"] >= 0, r
    for g in ans["groups"]:
        assert not GROUP_KEYS - set(g), f"leak group lacks {GROUP_KEYS - set(g)}: {g}"
    totals = [r["total_bytes"] for r in ans["roots"]]
    assert totals == sorted(totals, reverse=True), f"roots not largest first: {totals}"
    return ans


def by_members(ans):
    return {frozenset(h(a) for a in r["blocks"]): r for r in ans["roots"]}


def test_totals_exact(target, answers):
    t = target.truth
    ans = check_leaks(answers["leaks"])
    assert ans["leaked_blocks"] == t["leaked_blocks"] == 26
    assert ans["leaked_bytes"] == t["leaked_bytes"] == 2624


def test_leak_roots_exact(target, answers):
    """Each leak root: its members, kind, own and total bytes, held count."""
    t = target.truth
    ans = check_leaks(answers["leaks"])
    got = by_members(ans)
    for want in t["roots"]:
        key = frozenset(h(a) for a in want["blocks"])
        assert key in got, f"leak root {want['name']} ({want['blocks']}) not found in {ans['roots']}"
        r = got[key]
        assert r["kind"] == want["kind"], (want["name"], r)
        assert r["own_bytes"] == want["own_bytes"], (want["name"], r)
        assert r["total_bytes"] == want["total_bytes"], (want["name"], r)
        assert r["held_blocks"] == want["held_blocks"], (want["name"], r)
    # no other leak roots (the fixture's leaks are the only unreachable blocks)
    assert len(ans["roots"]) == len(t["roots"]) == 8
    assert sum(r["total_bytes"] for r in ans["roots"]) == t["roots_total_bytes"]


def test_cycles_are_one_root_each(target, answers):
    t = target.truth
    got = by_members(check_leaks(answers["leaks"]))
    for want in t["roots"]:
        if want["kind"] != "cycle":
            continue
        r = got[frozenset(h(a) for a in want["blocks"])]
        assert r["kind"] == "cycle" and len(r["blocks"]) == len(want["blocks"]), r
    cycle3 = next(w for w in t["roots"] if w["name"] == "cycle3")
    cycle_tree = next(w for w in t["roots"] if w["name"] == "cycle_tree")
    assert got[frozenset(h(a) for a in cycle3["blocks"])]["held_blocks"] == 0
    assert got[frozenset(h(a) for a in cycle_tree["blocks"])]["held_blocks"] == 3


def test_held_blocks_are_not_roots(target, answers):
    """A block held only by a leaked block (the holder's, the trees'
    children) is leaked but is not a leak root; nor is the block two leak
    roots share, which neither root's total includes."""
    t = target.truth
    ans = check_leaks(answers["leaks"])
    members = {h(a) for r in ans["roots"] for a in r["blocks"]}
    for nr in t["not_roots"]:
        assert h(nr["addr"]) not in members, f"{nr['addr']} is held by a leaked block: not a leak root"
    holder = next(w for w in t["roots"] if w["name"] == "holder")
    r = by_members(ans)[frozenset(h(a) for a in holder["blocks"])]
    assert (r["own_bytes"], r["total_bytes"], r["held_blocks"]) == (104, 256, 1), r
    z = t["unowned"]
    assert ans["leaked_bytes"] - sum(r["total_bytes"] for r in ans["roots"]) == z["size"]
    for name in z["held_by"]:
        w = next(w for w in t["roots"] if w["name"] == name)
        r = by_members(ans)[frozenset(h(a) for a in w["blocks"])]
        assert r["total_bytes"] == r["own_bytes"] == w["own_bytes"] and r["held_blocks"] == 0, r


def test_single_block_pointing_at_reachable_data(target, answers):
    """A leaked block that points at reachable data is not charged for it,
    and the data stays reachable."""
    t = target.truth
    w = next(w for w in t["roots"] if w["name"] == "single")
    r = by_members(check_leaks(answers["leaks"]))[frozenset(h(a) for a in w["blocks"])]
    assert r["kind"] == "block" and r["own_bytes"] == r["total_bytes"] == 200 and r["held_blocks"] == 0
    keep = answers["info"][2]
    assert "error" not in keep, keep
    assert keep["reachable"] is True and keep["distance"] == 1, keep
    for info in answers["info"][:2]:
        assert "error" not in info, info
        assert info["reachable"] is False and info["state"] == "in-use", info


def test_groups(target, answers):
    """Groups of leak roots by type (untyped ones by usable size): the two
    trees' roots (same size) form one group; every root is in one group."""
    t = target.truth
    ans = check_leaks(answers["leaks"])
    got = by_members(ans)
    expected = collections.defaultdict(lambda: [0, 0])
    tree_keys = set()
    for want in t["roots"]:
        r = got[frozenset(h(a) for a in want["blocks"])]
        key = (r["type"], None) if r["type"] else (None, want["member_size"])
        expected[key][0] += 1
        expected[key][1] += want["total_bytes"]
        if want["name"] in ("tree1", "tree2"):
            tree_keys.add(key)
    groups = {(g["type"], g["size"] if not g["type"] else None): [g["roots"], g["total_bytes"]]
              for g in ans["groups"]}
    assert len(groups) == len(ans["groups"]), "two groups with the same key"
    assert groups == dict(expected), (ans["groups"], dict(expected))
    assert len(tree_keys) == 1
    assert groups[tree_keys.pop()] == [2, 488 + 536]
    assert sum(g["roots"] for g in ans["groups"]) == len(ans["roots"])


def test_text_lists_roots_largest_first(target, answers):
    t = target.truth
    ok, out = answers["text"]
    assert ok, out
    first = []
    for want in t["roots"]:
        pos = [out.find(a) for a in want["blocks"] if a in out]
        assert pos, f"leak root {want['name']} ({want['blocks']}) not in the text:\n{out}"
        first.append((min(pos), want["total_bytes"], want["name"]))
    order = [w for _, _, w in sorted(first)]
    totals = [tot for _, tot, _ in sorted(first)]
    assert totals == sorted(totals, reverse=True), f"text order {order}:\n{out}"
    for n in (t["leaked_bytes"], 536, 488, 376):
        assert re.search(r"(?<![\w.])%d(?![\w])" % n, out) or f"{n:,}" in out, (n, out)
