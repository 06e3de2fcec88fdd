"""A 12-byte string aliasing a 1 MiB decoded input buffer, cached as a value
of the global map main.index (fixtures/go/nocopy.go): the buffer is kept
alive through an interior string pointer, and retain says that a len-12
string pins the 1 MiB object. Live and core, optimized and -N -l builds."""

import re

from conftest import h, retain_json
from test_go_common import (assert_slots_hold_pointers, check_global_root, first_path, go_path,
                            go_text, paths_with_slot_words)

FIXTURE = "go/nocopy.go"


def buf(target):
    return target.truth["targets"][0]


def test_path_from_main_index(target):
    t = buf(target)
    ((ans, words),) = paths_with_slot_words(target, [f"retain path {t['addr']}"])
    assert t["size"] == 1 << 20
    p = first_path(ans, t)
    check_global_root(p["root"], t, "main.index", target.truth["global_addr"])
    hops = p["hops"]
    # the hmap, its one bucket, the buffer
    assert len(hops) == t["hops"] == 3, hops
    last = hops[-1]
    assert h(last["addr"]) == h(t["addr"])
    # the string points into the middle of the buffer
    assert last["interior"] == t["str_offset"], last
    assert h(last["pointer"]) == h(t["addr"]) + t["str_offset"]
    # string data has no Go type of its own: "string bytes", "[]uint8"-like or unknown
    assert last["type"] is None or re.search(r"uint8|string", last["type"]), last
    assert assert_slots_hold_pointers(ans, words) == 3


def test_string_view_pins_the_buffer(target):
    t = buf(target)
    last = go_path(target, t["addr"])["paths"][0]["hops"][-1]
    view = last.get("view")
    assert view is not None, f"no view on the last hop: {last}"
    assert view["kind"] == "string", view
    assert view["len"] == t["str_len"] == 12, view
    assert view["object_size"] == last["size"] >= 1 << 20, view
    assert view["offset"] == t["str_offset"], view
    assert h(view["slot"]) == h(last["slot"]), (view, last)


def test_interior_query(target):
    """An address inside the buffer (not the string's) finds the same block."""
    t = buf(target)
    q = h(t["addr"]) + 777777
    ans = go_path(target, hex(q))
    assert h(ans["target"]["block"]) == h(t["addr"])
    assert ans["target"]["offset"] == 777777
    assert len(ans["paths"][0]["hops"]) == 3


def test_text_says_pins(target):
    t = buf(target)
    out = go_text(target, f"retain path {t['addr']}")
    assert "main.index" in out, out
    assert "pins" in out, out
    assert re.search(r"string\b.*len 12\b", out), out
    assert "1 MiB" in out or "1024 KiB" in out, out


def test_info_lists_the_view(target):
    t = buf(target)
    ans = retain_json(target, f"retain info {t['addr']}")
    assert ans["state"] == "in-use" and ans["heap"] == "go", ans
    assert ans["reachable"] is True and ans["distance"] == 3, ans
    views = ans.get("views")
    assert isinstance(views, list), ans
    assert any(v["kind"] == "string" and v["len"] == t["str_len"] for v in views), views
