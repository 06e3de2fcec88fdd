"""Stale stack slots (fixtures/stale.c), live and core: a pointer left in a
slot whose variable's scope has ended is still a root, marked conservative;
a live variable holding the same block ranks first."""

from conftest import h, retain_json, run_retain

FIXTURE = "stale.c"


def test_stale_slot_is_a_conservative_stack_root(target):
    t = target.truth
    ans = retain_json(target, f"retain path {t['stale_only']}")
    assert ans["reachable"] is True
    root = ans["paths"][0]["root"]
    assert root["kind"] == "stack"
    assert root["precise"] is False
    assert root["name"] is None
    assert root["frame"]["function"] == t["function"]
    assert len(ans["paths"][0]["hops"]) == 1
    assert h(ans["paths"][0]["hops"][0]["addr"]) == h(t["stale_only"])


def test_stale_slot_text_says_so(target):
    rc, out, err = run_retain(target, f"retain path {target.truth['stale_only']}")
    assert rc == 0, err
    assert "conservative" in out and "not a variable in scope" in out


def test_live_variable_ranks_before_stale_copies(target):
    t = target.truth
    ans = retain_json(target, f"retain path {t['both']} -n 5 --kind stack")
    roots = [p["root"] for p in ans["paths"]]
    assert len(roots) == 5, roots            # the live local and its 4 dead copies
    assert roots[0]["precise"] is True and roots[0]["name"] == t["live_variable"]
    assert all(r["precise"] is False for r in roots[1:])
    assert len({r["addr"] for r in roots}) == 5
