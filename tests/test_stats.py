"""`retain stats` against fixtures/basics.c, live and core."""

from conftest import json_lines, retain_json, run_retain

FIXTURE = "basics.c"


def test_stats_json(target):
    t = target.truth
    ans = retain_json(target, "retain stats")
    for k in ("heap", "blocks", "bytes", "edges", "root_edges", "roots", "unreadable_bytes",
              "memory_bytes", "seconds", "source", "incomplete", "warnings"):
        assert k in ans, f"stats lacks {k!r}: {ans}"

    heap = ans["heap"]
    assert heap["kind"] == "glibc"
    assert heap["arenas"] >= 2          # main arena + thread 2's
    assert heap["heaps"] >= 1           # thread 2's arena lives in a heap mapping
    assert heap["mmapped"] >= 1         # the 4 MiB block

    expected_in_use = (2 * len(t["list"]["nodes"]) + len(t["table"]["entries"])
                       + len(t["arena"]) + len(t["cycle"]["nodes"]) + 5)
    assert ans["blocks"]["in_use"] >= expected_in_use
    assert ans["blocks"]["free"] >= len(t["freed"])
    assert ans["bytes"]["in_use"] >= t["mmapped"]["size"]
    assert ans["bytes"]["free"] >= sum(f["size"] for f in t["freed"])

    # list (49 + 50 payload) + table chains + cycle are block-to-block edges
    assert ans["edges"] >= 49 + 50 + 3
    assert ans["root_edges"] >= 1

    roots = ans["roots"]
    assert set(roots) == {"global", "stack", "register", "tls", "mapping"}, roots
    for kind in ("global", "stack", "register", "tls"):
        assert roots[kind] > 0, f"no {kind} root found: {roots}"
    assert all(isinstance(v, int) and v >= 0 for v in roots.values())

    assert ans["memory_bytes"] > 0
    assert ans["unreadable_bytes"] >= 0
    assert set(ans["seconds"]) >= {"walk", "roots", "graph", "bfs"}
    assert all(isinstance(v, (int, float)) and v >= 0 for v in ans["seconds"].values())
    if target.mode == "core":
        assert ans["source"] == "core"
    else:
        assert ans["source"] != "core"
    assert isinstance(ans["incomplete"], bool)
    assert isinstance(ans["warnings"], list)


def test_stats_text(target):
    rc, out, err = run_retain(target, "retain stats")
    assert rc == 0, err
    assert out.strip()


def test_second_query_same_session(target):
    """Two commands in one gdb session (the graph is cached between them)."""
    n = target.truth["list"]["nodes"][3]
    rc, out, err = run_retain(target, "retain stats --json", f"retain info {n['addr']} --json")
    assert rc == 0, err
    answers = json_lines(out)
    assert [a["command"] for a in answers] == ["stats", "info"]


def test_memory_limit_leaves_blocks_out_and_says_so(target):
    """A tight `set retain memory-limit` still answers, with what it left out."""
    full = retain_json(target, "retain stats")
    # 8 bytes an edge: take away room for half of them.
    limit = full["memory_bytes"] - 4 * full["edges"]
    rc, out, err = run_retain(target, f"set retain memory-limit {limit}", "retain stats --json")
    assert rc == 0, err
    (ans,) = json_lines(out)
    assert ans["incomplete"] is True
    assert any("memory limit" in w and "not scanned" in w for w in ans["warnings"]), ans["warnings"]
    assert 0 < ans["edges"] < full["edges"]
    assert ans["memory_bytes"] <= limit


def test_memory_limit_too_small_is_a_clear_error(target):
    rc, out, err = run_retain(target, "set retain memory-limit 1K", "retain stats")
    assert rc != 0
    assert "retain: memory-limit" in err and "too small" in err


def test_memory_limit_rejects_a_bad_size(target):
    rc, out, err = run_retain(target, "set retain memory-limit lots", "show retain memory-limit")
    assert "is not a size" in err
    assert "unlimited" in out
