"""Walking glibc heaps without libc's debug symbols (gdbext/glibc_nosym.c).

gdb runs with `set debug-file-directory /nonexistent`, which hides libc6-dbg:
retain then finds main_arena, the other arenas and their heaps, sbrk_base
and the tcaches from the heap's own structure. Its answers must be the
fixture's truth, the same as with the symbols, and the layout it finds must
be the one libc's DWARF describes. fixtures/basics.c has one arena per
thread; fixtures/shared_arena.c has four threads in the main arena, whose
tcaches (all but the first) only the TLS offset or a scan can find."""

import re

from conftest import (check_path_answer, fixture_target, gdb_script, h, retain_json, retain_json_many,
                      run_retain)

FIXTURE = "basics.c"
NOSYM = ["set debug-file-directory /nonexistent"]


def answers(target, cmds, iex=NOSYM):
    return retain_json_many(target, cmds, iex=iex)


# ---- basics.c: same truth as with symbols ----------------------------------


def test_stats_say_heap_structure(target):
    ans = retain_json(target, "retain stats", iex=NOSYM)
    heap = ans["heap"]
    assert heap["method"] == "heap-structure", heap
    assert heap["kind"] == "glibc"
    assert heap["arenas"] >= 2 and heap["heaps"] >= 1 and heap["mmapped"] >= 1, heap
    assert ans["incomplete"] is False and ans["warnings"] == [], ans["warnings"]
    with_symbols = retain_json(target, "retain stats")
    assert with_symbols["heap"]["method"] == "debug-symbols"
    for key in ("blocks", "bytes", "edges", "root_edges", "roots", "unreadable_bytes"):
        assert ans[key] == with_symbols[key], key
    assert {k: v for k, v in ans["heap"].items() if k != "method"} == \
           {k: v for k, v in with_symbols["heap"].items() if k != "method"}


def test_text_note_not_error(target):
    rc, out, err = run_retain(target, "retain stats", iex=NOSYM)
    assert rc == 0, err
    assert "found by heap-structure" in out, out
    notes = [l for l in err.splitlines() if l.startswith("note:")]
    assert len(notes) == 1, err
    assert re.search(r"glibc \d+\.\d+'s heap from its own structure", notes[0]), notes[0]
    assert not [l for l in err.splitlines() if l.startswith("retain:")], err


def test_truth_without_symbols(target):
    t = target.truth
    tail = t["list"]["nodes"][-1]
    freed = t["freed"]
    cmds = ([f"retain path {tail['addr']} --kind global"]
            + [f"retain path {a['addr']} --kind global" for a in t["arena"]]
            + [f"retain path {t['mmapped']['addr']} --kind global",
               f"retain path {t['tls']['addr']}"]
            + [f"retain info {f['addr']}" for f in freed]
            + [f"retain path {f['addr']}" for f in freed])
    res = answers(target, cmds)
    for ans in res[:-len(freed)]:
        assert "error" not in ans, ans

    # the list tail: 50 hops from g_list along ->next
    ans = check_path_answer(res[0])
    p = ans["paths"][0]
    assert p["root"]["kind"] == "global" and p["root"]["name"] == t["list"]["global"], p["root"]
    assert [h(x["addr"]) for x in p["hops"]] == [h(n["addr"]) for n in t["list"]["nodes"]]
    assert ans["target"]["heap"] == "main-arena"

    # blocks of the second thread's arena
    for a, ans in zip(t["arena"], res[1:1 + len(t["arena"])]):
        check_path_answer(ans)
        assert ans["target"]["heap"] == "arena" and ans["target"]["state"] == "in-use"
        assert h(ans["target"]["block"]) == h(a["addr"])
        root = ans["paths"][0]["root"]
        assert root["name"] == a["global"] and root["offset"] == 8 * a["index"], root
        assert len(ans["paths"][0]["hops"]) == 1

    # the mmapped chunk
    ans = check_path_answer(res[1 + len(t["arena"])])
    assert ans["target"]["heap"] == "mmapped"
    assert h(ans["target"]["block"]) == h(t["mmapped"]["addr"])
    assert ans["paths"][0]["root"]["name"] == t["mmapped"]["global"]

    # the TLS-held block (in the second thread's arena)
    ans = check_path_answer(res[2 + len(t["arena"])])
    assert ans["paths"][0]["root"]["kind"] == "tls"
    assert ans["target"]["heap"] == "arena"

    # freed blocks: in the tcache and in a bin, as the fixture freed them
    infos = res[3 + len(t["arena"]):3 + len(t["arena"]) + len(freed)]
    for f, ans in zip(freed, infos):
        assert ans["state"] == "free", ans
        assert ans["free_reason"] == f["free_reason"], (f, ans)
        assert h(ans["block"]) == h(f["addr"])
    for f, ans in zip(freed, res[-len(freed):]):
        assert "error" in ans, ans
        assert "free heap block" in ans["error"] and f["free_reason"] in ans["error"], ans


def test_same_answers_as_with_symbols(target):
    t = target.truth
    ns = t["list"]["nodes"]
    cmds = [f"retain path {ns[-1]['addr']}", f"retain path {ns[7]['payload']} -n 2",
            f"retain who {ns[3]['addr']}", f"retain info {ns[20]['addr']}",
            f"retain path {t['arena'][2]['addr']}", f"retain info {t['mmapped']['addr']}",
            f"retain path {t['two_roots']['addr']} -n 3", f"retain info {t['cycle']['nodes'][0]}",
            f"retain path {t['local']['addr']}", f"retain path {t['register']['addr']}"]
    cmds += [f"retain info {f['addr']}" for f in t["freed"]]
    without = answers(target, cmds)
    with_symbols = answers(target, cmds, iex=())
    for cmd, a, b in zip(cmds, without, with_symbols):
        assert "error" not in b, (cmd, b)
        assert a == b, cmd


def test_layout_matches_debug_symbols(target):
    """With libc6-dbg loaded, the layout found from the heap's structure is
    the one libc's DWARF gives: every offset, main_arena, sbrk_base and the
    tcaches."""
    body = r'''
import _retain
from retain import engine, glibc
session, _ = engine._open(gdb.selected_inferior())
sym, _ = glibc._symbol_layout()
out["sym"] = sym
out["found"] = _retain.find_glibc_layout(session, glibc._thread_pointers())
out["version"] = gdb.parse_and_eval("__libc_version").string()
'''
    res = gdb_script(target, body)
    sym, found = res["sym"], res["found"]
    assert found["method"] == "heap-structure" and sym["method"] == "debug-symbols"
    for key, value in sym.items():
        if key == "method":
            continue
        assert found[key] == value, (key, found[key], value)
    assert found["glibc_version"] == ".".join(res["version"].split(".")[:2])
    assert found["warnings"] == []
    assert found["sbrk_source"] == "system_mem"
    assert found["tls_offset"] is not None and found["tls_offset"] < 0


def test_method_parameter(target):
    body = r'''
out["show"] = run("show retain glibc-method")[1]
run("set retain glibc-method heap-structure")
out["structure"] = retain("retain stats --json")
run("set retain glibc-method symbols")
out["symbols"] = retain("retain stats --json")
'''
    res = gdb_script(target, body, iex=())
    assert "auto" in res["show"], res["show"]
    assert res["structure"]["heap"]["method"] == "heap-structure", res["structure"]
    assert res["symbols"]["heap"]["method"] == "debug-symbols", res["symbols"]
    res = gdb_script(target, body, iex=NOSYM)
    assert res["structure"]["heap"]["method"] == "heap-structure"
    err = res["symbols"]["error"]
    assert err.startswith("retain:") and "libc6-dbg" in err, err


# ---- shared_arena.c: several threads' tcaches in one arena --------------------


shared = fixture_target("shared_arena.c")


def test_tcaches_of_threads_sharing_an_arena(shared):
    threads = shared.truth["threads"]
    cmds = ["retain stats"] + [f"retain info {th['freed']}" for th in threads] \
        + [f"retain path {th['held']} --kind global" for th in threads]
    res = answers(shared, cmds)
    stats = res[0]
    assert stats["heap"]["method"] == "heap-structure" and stats["heap"]["arenas"] == 1, stats["heap"]
    assert stats["incomplete"] is False, stats["warnings"]
    for th, ans in zip(threads, res[1:1 + len(threads)]):
        assert ans["state"] == "free" and ans["free_reason"] == "tcache", (th, ans)
        assert h(ans["block"]) == h(th["freed"])
    for th, ans in zip(threads, res[1 + len(threads):]):
        check_path_answer(ans)
        root = ans["paths"][0]["root"]
        assert root["name"] == th["global"] and root["offset"] == 8 * th["index"], root
    assert res[1:] == answers(shared, cmds[1:], iex=())


def test_tcache_sources(shared):
    """Thread pointers find the tcaches through libc's TLS; without them an
    in-use chunk scan finds the same (non-empty) ones; too few found for the
    threads named is a warning."""
    body = r'''
import _retain
from retain import engine, glibc
session, _ = engine._open(gdb.selected_inferior())
out["tls"] = _retain.find_glibc_layout(session, glibc._thread_pointers())
out["scan"] = _retain.find_glibc_layout(session)
out["short"] = _retain.find_glibc_layout(session, [8] * 10)
'''
    res = gdb_script(shared, body, iex=NOSYM)
    n = len(shared.truth["threads"])
    tls, scan, short = res["tls"], res["scan"], res["short"]
    assert len(tls["tcaches"]) == n, tls
    assert tls["tcache_sources"] == {"position": 1, "tls": n - 1, "scan": 0}, tls["tcache_sources"]
    assert scan["tcaches"] == tls["tcaches"]
    assert scan["tcache_sources"] == {"position": 1, "tls": 0, "scan": n - 1}, scan["tcache_sources"]
    assert tls["warnings"] == [] and scan["warnings"] == []
    assert short["tcaches"] == tls["tcaches"]
    assert any("10 threads" in w and "tcache" in w for w in short["warnings"]), short["warnings"]
