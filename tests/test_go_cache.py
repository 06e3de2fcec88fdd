"""A global sync.Map caching 1-byte slices of 64 KiB request buffers
(fixtures/go/synccache.go): each buffer is kept alive from main.cache, and
retain says that a len-1 slice pins the 64 KiB object. Live and core,
optimized and -N -l builds."""

import re

from conftest import h, retain_json, retain_json_many
from test_go_common import (assert_slots_hold_pointers, check_global_root, check_go_path_answer,
                            first_path, go_text, paths_with_slot_words)

FIXTURE = "go/synccache.go"

SAMPLE = (0, 1, 17, 40, 63)


def picked(target):
    ts = target.truth["targets"]
    assert len(ts) == target.truth["requests"] == 64
    return [ts[i] for i in SAMPLE]


def test_buffers_held_by_main_cache(target):
    truth = target.truth
    ts = picked(target)
    results = paths_with_slot_words(target, [f"retain path {t['addr']}" for t in ts])
    for t, (ans, words) in zip(ts, results):
        assert t["size"] == 65536
        p = first_path(ans, t)
        root = p["root"]
        check_global_root(root, t, "main.cache")
        # the root word lies inside the sync.Map variable
        offset = h(root["addr"]) - h(truth["global_addr"])
        assert 0 <= offset < truth["global_size"], (root, truth["global_addr"])
        assert root.get("offset", offset) == offset, root
        hops = p["hops"]
        # at least: hmap, bucket, entry, boxed interface, slice header, buffer
        assert len(hops) >= 6, hops
        last = hops[-1]
        assert h(last["addr"]) == h(t["addr"])
        assert last["interior"] == 0
        assert last["type"] is None or "uint8" in last["type"], last
        assert assert_slots_hold_pointers(ans, words) == len(hops)


def test_small_slice_pins_big_object(target):
    ts = picked(target)
    answers = retain_json_many(target, [f"retain path {t['addr']}" for t in ts])
    for t, ans in zip(ts, answers):
        check_go_path_answer(ans)
        last = ans["paths"][0]["hops"][-1]
        view = last.get("view")
        assert view is not None, f"no view on the last hop: {last}"
        assert view["kind"] == "slice", view
        assert view["len"] == t["slice_len"] == 1, view
        assert view["object_size"] == ans["target"]["size"] >= 65536, view
        assert view["cap"] == t["slice_cap"] == 65536, view
        assert view["offset"] == 0, view
        assert h(view["slot"]) == h(last["slot"]), (view, last)


def test_text_says_pins(target):
    t = target.truth["targets"][5]
    out = go_text(target, f"retain path {t['addr']}")
    assert "main.cache" in out, out
    assert "pins" in out, out
    assert re.search(r"len 1\b", out), out
    assert "64 KiB" in out, out


def test_info_lists_the_view(target):
    t = target.truth["targets"][3]
    ans = retain_json(target, f"retain info {t['addr']}")
    assert ans["state"] == "in-use" and ans["heap"] == "go", ans
    assert h(ans["block"]) == h(t["addr"])
    assert ans["reachable"] is True
    views = ans.get("views")
    assert isinstance(views, list) and views, ans
    slices = [v for v in views if v["kind"] == "slice" and v["len"] == 1]
    assert slices, views
    for v in slices:
        assert "slot" in v, v


def test_every_buffer_reachable(target):
    ts = target.truth["targets"]
    answers = retain_json_many(target, [f"retain info {t['addr']}" for t in ts])
    bad = [(t["key"], a.get("reachable"), a.get("error")) for t, a in zip(ts, answers)
           if a.get("reachable") is not True or h(a.get("block")) != h(t["addr"])]
    assert not bad, f"{len(bad)} of {len(ts)} buffers not found reachable: {bad[:10]}"
