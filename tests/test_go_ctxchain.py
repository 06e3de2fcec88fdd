"""A consumer goroutine's context chain (fixtures/go/ctxchain.go): the first
message's log buffer is kept alive by `ctx` in main.consume's frame, through
1000 context.valueCtx, the span and its logs. Live and core, optimized and
-N -l builds."""

import re

from conftest import h, retain_json
from test_go_common import (assert_slots_hold_pointers, check_go_path_answer,
                            check_goroutine_root, first_path, go_path, go_text,
                            paths_with_slot_words)

FIXTURE = "go/ctxchain.go"


def buffer(target):
    return target.truth["targets"][0]


def test_path_from_the_consumers_ctx(target):
    t = buffer(target)
    n = t["contexts"]
    p = first_path(go_path(target, t["addr"]), t)
    check_goroutine_root(target, p["root"], t, "main.consume", "ctx")
    hops = p["hops"]
    # every valueCtx, the span, the logs backing array, the buffer: all kept
    assert len(hops) == t["hops"] == n + 3, f"{len(hops)} hops, want {t['hops']}"


def chain(target):
    t = buffer(target)
    n = t["contexts"]
    hops = go_path(target, t["addr"])["paths"][0]["hops"]
    assert len(hops) == n + 3
    return t, hops[:n], hops[n:]


def test_every_hop_is_the_expected_object(target):
    t, contexts, (span, logs, buf) = chain(target)
    n = len(contexts)
    assert len({h(c["addr"]) for c in contexts}) == n, "the contexts are distinct objects"
    # hop 0 is typed through `ctx`'s itab word, which the optimized build
    # may not keep (DWARF: an empty piece): its type may be unknown there;
    # the others are typed through the itab in the previous valueCtx.
    assert contexts[0]["type"] in (None, "context.valueCtx"), contexts[0]
    for i, c in enumerate(contexts):
        if i > 0:
            assert c["type"] == "context.valueCtx", (i, c)
            assert c["offset"] == 8, (i, c)    # the data word of the embedded Context
        assert c["interior"] == 0, (i, c)
    assert h(span["addr"]) == h(t["span"]), span
    assert span["type"] == "main.span", span
    assert span["offset"] == 40, span           # valueCtx.val's data word
    assert h(logs["addr"]) == h(t["logs_array"]), logs
    assert logs["offset"] == 0, logs            # span.logs' array word
    assert logs["type"] is None or "uint8" in logs["type"], logs
    assert h(buf["addr"]) == h(t["addr"]), buf
    assert buf["offset"] == 0 and buf["interior"] == 0, buf
    assert buf["type"] is None or "uint8" in buf["type"], buf


def test_fields_use_go_syntax(target):
    """hops[i].field names the word in Go syntax: .Context, .val, .logs, [0]."""
    t, contexts, (span, logs, buf) = chain(target)
    bad = [(i, c["field"]) for i, c in enumerate(contexts) if i > 0 and c["field"] != ".Context"]
    assert not bad, f"{len(bad)} context hops not named '.Context', e.g. {bad[:3]}"
    assert span["field"] == ".val", span
    assert logs["field"] == ".logs", logs
    assert buf["field"] == "[0]", buf


def test_slots_hold_the_pointers(target):
    """Each hop's slot (on the goroutine's stack for hop 0, in the previous
    object after) really holds the hop's pointer."""
    t = buffer(target)
    ((ans, words),) = paths_with_slot_words(target, [f"retain path {t['addr']}"])
    check_go_path_answer(ans)
    assert assert_slots_hold_pointers(ans, words) == t["hops"]


def test_text_output_folds_the_chain(target):
    t = buffer(target)
    out = go_text(target, f"retain path {t['addr']}")
    assert "main.consume" in out, out
    assert "goroutine" in out and str(t["goroutine"]) in out, out
    # ~1000 ".Context" hops fold into one line with a count
    assert re.search(r"(?<![0-9a-fA-Fx])x\s?99[0-9]\b|\(folded:", out), out
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) < 60, f"{len(lines)} lines: the chain was not folded:\n{out}"
    hexes = {int(x, 16) for x in re.findall(r"0x[0-9a-fA-F]+", out)}
    assert h(t["addr"]) in hexes, "the target's address is shown"


def test_info_distance(target):
    t = buffer(target)
    ans = retain_json(target, f"retain info {t['addr']}")
    assert ans["state"] == "in-use" and ans["heap"] == "go", ans
    assert h(ans["block"]) == h(t["addr"])
    assert ans["reachable"] is True
    assert ans["distance"] == t["hops"], ans


def test_middle_of_the_chain(target):
    """The span itself, queried by an interior address: n + 1 hops."""
    t = buffer(target)
    ans = go_path(target, hex(h(t["span"]) + 8))
    assert h(ans["target"]["block"]) == h(t["span"])
    assert ans["target"]["offset"] == 8
    p = ans["paths"][0]
    assert p["root"]["kind"] == "goroutine" and p["root"]["goroutine"] == t["goroutine"]
    assert len(p["hops"]) == t["contexts"] + 1
