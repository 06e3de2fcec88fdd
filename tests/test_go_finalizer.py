"""Objects kept alive only by closures (fixtures/go/finalclosure.go):
(a) a payload captured by the finalizer closure of an object that never
dies: the root is the runtime's finalizer special; (b) a config captured by
the closure in the global func variable main.hook. Live and core, optimized
and -N -l builds."""

import re

from conftest import h, retain_json
from test_go_common import (assert_slots_hold_pointers, check_global_root, first_path, go_path,
                            go_text, paths_with_slot_words)

FIXTURE = "go/finalclosure.go"


def by_kind(target, kind):
    return next(t for t in target.truth["targets"] if t["root_kind"] == kind)


def test_payload_reached_from_the_finalizer(target):
    t = by_kind(target, "finalizer")
    ((ans, words),) = paths_with_slot_words(target, [f"retain path {t['addr']}"])
    p = first_path(ans, t)
    root = p["root"]
    assert root["kind"] == "finalizer", root
    # "finalizer of 0x...": the object the finalizer is set on
    named = re.findall(r"0x[0-9a-f]+", root["name"] or "")
    assert [h(a) for a in named] == [h(t["object"])], root
    hops = p["hops"]
    assert len(hops) == t["hops"] == 2, hops
    closure, payload = hops
    assert h(closure["addr"]) == h(t["closure"]), closure
    assert h(payload["addr"]) == h(t["addr"]) and payload["interior"] == 0, payload
    assert payload["type"] in (None, "main.payload"), payload
    assert_slots_hold_pointers(ans, words)


def test_finalizer_root_in_text(target):
    t = by_kind(target, "finalizer")
    out = go_text(target, f"retain path {t['addr']}")
    assert "finalizer" in out, out


def test_config_reached_from_main_hook(target):
    t = by_kind(target, "global")
    ((ans, words),) = paths_with_slot_words(target, [f"retain path {t['addr']}"])
    p = first_path(ans, t)
    check_global_root(p["root"], t, "main.hook", target.truth["hook_addr"])
    hops = p["hops"]
    assert len(hops) == t["hops"] == 2, hops
    assert h(hops[0]["addr"]) == h(t["closure"]), hops[0]
    assert h(hops[1]["addr"]) == h(t["addr"]), hops[1]
    assert hops[1]["type"] in (None, "main.config"), hops[1]
    assert assert_slots_hold_pointers(ans, words) == 2


def test_finalized_object_itself_is_held_by_its_global(target):
    """The object with the finalizer is reached from main.keeper, not from
    its own finalizer (the runtime does not let a finalizer keep its object)."""
    t = by_kind(target, "finalizer")
    ans = go_path(target, t["object"], "-n 3")
    assert ans["reachable"] is True
    p = ans["paths"][0]
    assert p["root"]["kind"] == "global" and p["root"]["name"] == "main.keeper", p["root"]
    assert h(p["root"]["addr"]) == h(target.truth["keeper_addr"])
    assert len(p["hops"]) == 1
    assert all(q["root"]["kind"] != "finalizer" for q in ans["paths"]), ans["paths"]


def test_stats_count_the_finalizer(target):
    ans = retain_json(target, "retain stats")
    assert ans["heap"]["kind"] == "go", ans["heap"]
    assert ans["heap"]["finalizers"] >= 1, ans["heap"]
    assert ans["roots"]["finalizer"] >= 1, ans["roots"]


def test_info_distances(target):
    for t in target.truth["targets"]:
        ans = retain_json(target, f"retain info {t['addr']}")
        assert ans["state"] == "in-use" and ans["heap"] == "go", ans
        assert ans["reachable"] is True and ans["distance"] == t["hops"], (t["name"], ans)
