"""A million-node list from a global (fixtures/deep_list.c), live and core:
the tail is found at its full depth, with no default limit cutting it off,
and the text output folds the chain into one line."""

from conftest import json_lines, run_retain, retain_json

FIXTURE = "deep_list.c"


def test_tail_of_a_million_node_list(target):
    t = target.truth
    rc, out, err = run_retain(target, f"retain path {t['tail']}")
    assert rc == 0, err
    assert "global g_deep (struct link *)" in out
    assert "->next x%d" % (t["length"] - 1) in out
    assert "shortest: %d hops" % t["length"] in out
    assert len(out.splitlines()) < 40          # folded, not a million lines


def test_distance_of_the_tail(target):
    t = target.truth
    ans = retain_json(target, f"retain info {t['tail']}")
    assert ans["distance"] == t["length"]
    assert ans["type"] == "struct link"


def test_max_depth_cuts_it_short_and_says_so(target):
    t = target.truth
    ans = retain_json(target, f"retain path {t['tail']} --max-depth 1000")
    assert ans["reachable"] is None and ans["truncated"] is True   # not known either way
    rc, out, err = run_retain(target, f"retain path {t['tail']} --max-depth 1000")
    assert "within 1000 hops" in out


def test_time_limit_cuts_it_short_and_says_so(target):
    t = target.truth
    rc, out, err = run_retain(target, "set retain time-limit 0.001", f"retain path {t['tail']} --json")
    assert rc == 0, err
    (ans,) = json_lines(out)
    assert ans["truncated"] is True and ans["reachable"] is None and ans["paths"] == []
    rc, out, err = run_retain(target, "set retain time-limit 0.001", f"retain path {t['tail']}")
    assert "search cut short at the time limit" in out
    rc, out, err = run_retain(target, "set retain time-limit soon", "show retain time-limit")
    assert "time-limit takes a number of seconds" in err and "as long as it needs" in out
