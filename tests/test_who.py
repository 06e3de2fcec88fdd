"""`retain who` (direct referrers) against fixtures/basics.c, live and core."""

import re

from conftest import check_addr, check_block, check_root, h, retain_json, run_retain

FIXTURE = "basics.c"

REFERRER_BLOCK_KEYS = {"kind", "addr", "size", "type", "slot", "offset", "field", "pointer",
                       "interior"}
REFERRER_ROOT_KEYS = {"kind", "root", "slot", "pointer", "interior"}


def who(target, addr):
    ans = retain_json(target, f"retain who {addr}")
    for k in ("target", "referrers", "incomplete", "warnings"):
        assert k in ans, f"who answer lacks {k!r}: {ans}"
    check_block(ans["target"])
    for r in ans["referrers"]:
        assert r["kind"] in ("block", "root"), r
        if r["kind"] == "block":
            assert not REFERRER_BLOCK_KEYS - set(r), r
            check_addr(r["addr"])
            assert h(r["slot"]) == h(r["addr"]) + r["offset"], r
            assert 0 <= r["offset"] < r["size"], r
        else:
            assert not REFERRER_ROOT_KEYS - set(r), r
            check_root(r["root"])
        check_addr(r["pointer"])
        assert r["interior"] == h(r["pointer"]) - h(ans["target"]["block"]), r
    return ans


def blocks_of(ans):
    return [r for r in ans["referrers"] if r["kind"] == "block"]


def roots_of(ans):
    return [r for r in ans["referrers"] if r["kind"] == "root"]


def test_node_referrer_is_previous_node(target):
    ns = target.truth["list"]["nodes"]
    for i in (1, 25, 49):
        ans = who(target, ns[i]["addr"])
        refs = blocks_of(ans)
        assert len(refs) == 1, refs
        r = refs[0]
        assert h(r["addr"]) == h(ns[i - 1]["addr"])
        assert r["offset"] == 0
        assert h(r["slot"]) == h(ns[i - 1]["addr"])
        assert h(r["pointer"]) == h(ns[i]["addr"])
        assert r["interior"] == 0
        assert r["size"] >= target.truth["list"]["node_size"]
        assert roots_of(ans) == [], "nothing but the previous node refers to a list node"


def test_referrer_fields_are_named(target):
    """The referring block is typed (struct node), so its word is named."""
    ns = target.truth["list"]["nodes"]
    r, = blocks_of(who(target, ns[25]["addr"]))
    assert r["type"] == "struct node", r
    assert r["field"] == ".next", r
    n = ns[10]
    r, = blocks_of(who(target, n["payload"]))
    assert (r["type"], r["field"]) == ("struct node", ".payload"), r


def test_first_node_referrer_is_the_global(target):
    t = target.truth["list"]
    ans = who(target, t["nodes"][0]["addr"])
    assert blocks_of(ans) == []
    roots = roots_of(ans)
    assert any(r["root"]["kind"] == "global" and r["root"]["name"] == t["global"]
               and h(r["slot"]) == h(t["global_addr"]) for r in roots), roots


def test_payload_referrer_is_its_node(target):
    n = target.truth["list"]["nodes"][10]
    refs = blocks_of(who(target, n["payload"]))
    assert [(h(r["addr"]), r["offset"]) for r in refs] == [(h(n["addr"]), 16)]


def test_cycle_referrers(target):
    """An unreachable block still has referrers: the previous node of the cycle."""
    cyc = target.truth["cycle"]["nodes"]
    for i, addr in enumerate(cyc):
        refs = blocks_of(who(target, addr))
        assert [(h(r["addr"]), r["offset"]) for r in refs] == [(h(cyc[i - 1]), 0)], refs


def test_interior_referrer(target):
    t = target.truth["interior"]
    ans = who(target, t["block"])
    roots = [r for r in roots_of(ans) if r["root"]["name"] == t["global"]]
    assert len(roots) == 1
    assert roots[0]["interior"] == 40


def test_two_roots_both_listed(target):
    t = target.truth["two_roots"]
    names = {r["root"]["name"] for r in roots_of(who(target, t["addr"]))}
    assert set(t["globals"]) <= names


def test_who_text(target):
    ns = target.truth["list"]["nodes"]
    rc, out, err = run_retain(target, f"retain who {ns[3]['addr']}")
    assert rc == 0, err
    hexes = {int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", out)}
    assert h(ns[2]["addr"]) in hexes
