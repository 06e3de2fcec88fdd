"""Leaked goroutines (fixtures/go/goleak.go): three goroutines of main.leaker,
each blocked forever on a channel receive, each holding a 4 MiB object in
its local `hoard`. retain names the goroutine, its function and the local.
Live and core, optimized and -N -l builds."""

from conftest import h, retain_json
from test_go_common import (assert_slots_hold_pointers, check_goroutine_root, first_path,
                            go_text, paths_with_slot_words)

FIXTURE = "go/goleak.go"


def test_each_hoard_is_held_by_its_goroutine(target):
    ts = target.truth["targets"]
    assert len({t["goroutine"] for t in ts}) == len(ts) == 3
    results = paths_with_slot_words(target, [f"retain path {t['addr']}" for t in ts])
    for t, (ans, words) in zip(ts, results):
        p = first_path(ans, t)
        check_goroutine_root(target, p["root"], t, "main.leaker", "hoard")
        assert len(p["hops"]) == t["hops"] == 1, p["hops"]
        hop = p["hops"][0]
        assert h(hop["addr"]) == h(t["addr"]) and hop["interior"] == 0, hop
        assert hop["type"] in (None, "main.blob"), hop
        assert assert_slots_hold_pointers(ans, words) == 1


def test_text_names_goroutine_and_function(target):
    t = target.truth["targets"][1]
    out = go_text(target, f"retain path {t['addr']}")
    assert "goroutine" in out and str(t["goroutine"]) in out, out
    assert "main.leaker" in out, out
    if target.variant == "noopt":
        assert "hoard" in out, out


def test_info(target):
    for t in target.truth["targets"]:
        ans = retain_json(target, f"retain info {hex(h(t['addr']) + 4096)}")
        assert ans["state"] == "in-use" and ans["heap"] == "go", ans
        assert h(ans["block"]) == h(t["addr"]) and ans["offset"] == 4096, ans
        assert ans["reachable"] is True and ans["distance"] == 1, ans


def test_stats_say_go_heap(target):
    ans = retain_json(target, "retain stats")
    assert ans["heap"]["kind"] == "go", ans["heap"]
    assert ans["blocks"]["in_use"] >= len(target.truth["targets"])
    assert ans["bytes"]["in_use"] >= sum(t["size"] for t in target.truth["targets"])
    assert ans["incomplete"] is False, ans["warnings"]
    assert {"global", "goroutine", "finalizer"} <= set(ans["roots"]), ans["roots"]
    assert ans["roots"]["goroutine"] >= len(target.truth["targets"]), ans["roots"]
