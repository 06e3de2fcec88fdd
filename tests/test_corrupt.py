"""Corrupt heap metadata (fixtures/corrupt_heap.c), live and in a core.

The fixture corrupts its own heap in one of several ways (MODES), writes
what retain must find and say to its truth file, and parks. Whatever the
corruption, retain must still answer: every block the fixture holds is
found, the chains to the blocks after a corrupt chunk are given, and every
answer is marked "incomplete" with the warning that says where the heap
is corrupt and what was expected there."""

import pytest

from conftest import (check_path_answer, gdb_script, h, make_target, require_retain,
                      run_retain)

MODES = ["size", "fastbin", "tcache", "arena_next", "arena_top", "main_top"]


@pytest.fixture(scope="module", params=[(m, k) for m in MODES for k in ("live", "core")],
                ids=lambda p: "%s-%s" % p)
def corrupt(request, fixture_cache):
    """A corrupt_heap process in one mode, live or as a core."""
    require_retain()
    mode, kind = request.param
    fp = fixture_cache.get("corrupt_heap.c", (mode,))
    assert fp.truth["mode"] == mode
    return make_target(fp, kind)


def matches(expect, warning):
    return warning.startswith(expect["prefix"]) and warning.endswith(expect["suffix"])


def assert_warned(answer, expected):
    """The answer is marked incomplete and carries each expected warning."""
    assert answer.get("incomplete") is True, answer
    for e in expected:
        assert any(matches(e, w) for w in answer["warnings"]), (
            f"no warning like {e['prefix']!r}...{e['suffix']!r} in {answer['warnings']}")


# Every question of a test asked in one gdb: the analysis is built once.
_ASK = r'''
out["answers"] = {c: retain(c) for c in ARGS["json"]}
out["text"] = {c: run(c) for c in ARGS["text"]}
'''


def ask(target, json_cmds=(), text_cmds=()):
    res = gdb_script(target, _ASK, args={"json": [c + " --json" for c in json_cmds],
                                         "text": list(text_cmds)})
    return ({c[:-len(" --json")]: a for c, a in res["answers"].items()}, res["text"])


def chain_questions(t):
    nodes = t["chain"]["nodes"] + t["alist1"]["nodes"] + t["alist2"]["nodes"]
    return ["retain path %s" % n["addr"] for n in nodes]


def test_stats_warns(corrupt):
    t = corrupt.truth
    answers, texts = ask(corrupt, ["retain stats"], ["retain stats"])
    ans = answers["retain stats"]
    assert "error" not in ans, ans
    assert_warned(ans, t["warnings"])
    assert ans["heap"]["arenas"] == 3, ans["heap"]
    ok, text = texts["retain stats"]
    assert ok, text
    for e in t["warnings"]:
        assert any(line.startswith("warning: results may be incomplete: " + e["prefix"]) and
                   line.endswith(e["suffix"]) for line in text.splitlines()), text


def test_chains_survive(corrupt):
    """Every node of the chain through the main heap (before and after the
    corrupt chunk) and of both arena lists is found at its depth, from its
    global, and the answer says it may be incomplete."""
    t = corrupt.truth
    lists = [t["chain"], t["alist1"], t["alist2"]]
    answers, _ = ask(corrupt, chain_questions(t))
    for lst in lists:
        for n in lst["nodes"]:
            ans = answers["retain path %s" % n["addr"]]
            assert "error" not in ans, (lst["global"], n, ans)
            check_path_answer(ans)
            assert ans["target"]["state"] == "in-use", (n, ans["target"])
            assert h(ans["target"]["block"]) == h(n["addr"]), (n, ans["target"])
            assert ans["target"]["size"] == t["node_size"], (n, ans["target"])
            assert ans["reachable"], (lst["global"], n)
            path = ans["paths"][0]
            assert path["root"]["kind"] == "global" and path["root"]["name"] == lst["global"], (n, path)
            assert len(path["hops"]) == n["depth"], (lst["global"], n, [x["addr"] for x in path["hops"]])
            assert_warned(ans, t["warnings"])


def test_free_lists(corrupt):
    """The fastbin and tcache chunks are free, even on a list that loops
    (the tcache chunk that dropped off the looping list is not)."""
    t = corrupt.truth
    fb, tc = t["fastbin"], t["tcache"]
    cmds = ["retain info %s" % a for a in (fb["x"], fb["y"], tc["t1"], tc["t2"], tc["t0"])]
    answers, _ = ask(corrupt, cmds)
    for addr, reason in ((fb["x"], "fastbin"), (fb["y"], "fastbin"), (tc["t1"], "tcache"),
                         (tc["t2"], "tcache")):
        ans = answers["retain info %s" % addr]
        assert ans["state"] == "free" and ans["free_reason"] == reason, (addr, ans)
        assert_warned(ans, t["warnings"])
    t0 = answers["retain info %s" % tc["t0"]]
    if t["mode"] == "tcache":
        assert t0["state"] == "in-use", t0
    else:
        assert t0["state"] == "free" and t0["free_reason"] == "tcache", t0


def test_who_after_corruption(corrupt):
    """Direct referrers are still found across the corrupt chunk: the last
    node before the victim is held by a node after it."""
    t = corrupt.truth
    after = [n for n in t["chain"]["nodes"] if n["side"] == "after"]
    before = [n for n in t["chain"]["nodes"] if n["side"] == "before"]
    # before[1] is held by after[0]
    answers, _ = ask(corrupt, ["retain who %s" % before[1]["addr"]])
    ans = answers["retain who %s" % before[1]["addr"]]
    assert [h(r["addr"]) for r in ans["referrers"] if r["kind"] == "block"] == [h(after[0]["addr"])], ans
    assert_warned(ans, t["warnings"])


def test_victim(corrupt):
    """The chunk whose size was overwritten is skipped, not guessed at (in
    the other modes it is an ordinary block held by g_victim)."""
    t = corrupt.truth
    rc, out, err = run_retain(corrupt, "retain info %s" % t["victim"]["addr"])
    assert rc == 0, err
    if t["mode"] == "size":
        assert "(not-heap)" in out, out
    else:
        assert "in an in-use block: %s (" % t["victim"]["addr"] in out, out
