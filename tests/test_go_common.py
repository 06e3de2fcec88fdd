"""Helpers shared by the Go tests (tests/test_go_*.py); no tests here.

The Go fixtures (fixtures/go/*.go) write a truth file of the common shape

    {"pid": int, "fixture": name,
     "targets": [{"name", "addr": "0x..", "size", "root_kind": "goroutine" |
                  "global" | "finalizer", "root_name", "goroutine": id or
                  null, "function": "main.f" or null, "hops": exact heap hops
                  from the root to the target or null, ...extras}],
     ...fixture-specific keys}

and retain answers for a Go program with the same `retain/1` documents as
for C (docs/json-schema.md), except:

- block `heap` is "go";
- root `kind` is "goroutine" (a goroutine stack slot: `goroutine` = the Go
  goroutine id, `frame` = {"function", "file", "line"}, `name` = the local
  variable DWARF places there or null), "global" (data/bss: `name` = the Go
  symbol, "main.cache"), "register" or "finalizer" (a finalizer special of
  the runtime: `name` = "finalizer of 0x<object>");
- hop `field` is Go syntax (".Context", ".val", "[0]"), hop `type` a Go type;
- a hop reached through a slice or string much shorter than the object has
  `view` = {"kind": "slice" | "string", "len": L, "cap": C (slices),
  "object_size": S, "offset": O, "slot": "0x..", ...}; the text output
  says "(slice len 1 pins 64 KiB object)".
"""

from conftest import (check_addr, check_hop, gdb_script, h, retain_json, retain_json_many,
                      run_retain)

GO_ROOT_KINDS = {"goroutine", "global", "register", "finalizer"}
VIEW_KINDS = {"slice", "string"}


def check_go_block(b):
    """The `target` of path (or the body of info) for a Go program."""
    for k in ("query", "state", "block", "size", "offset", "heap", "type"):
        assert k in b, f"block lacks {k!r}: {b}"
    check_addr(b["query"])
    assert b["state"] in ("in-use", "free", "not-heap"), b
    if b["state"] == "not-heap":
        assert b["block"] is None, b
        return b
    check_addr(b["block"])
    assert isinstance(b["size"], int) and b["size"] > 0, b
    assert b["offset"] == h(b["query"]) - h(b["block"]), b
    assert 0 <= b["offset"] < b["size"], b
    assert b["heap"] == "go", b
    return b


def check_go_root(r):
    for k in ("kind", "name", "addr", "precise"):
        assert k in r, f"root lacks {k!r}: {r}"
    assert r["kind"] in GO_ROOT_KINDS, r
    check_addr(r["addr"], nullable=True)
    assert isinstance(r["precise"], bool), r
    if r["kind"] == "goroutine":
        assert isinstance(r.get("goroutine"), int) and r["goroutine"] > 0, r
        frame = r.get("frame")
        assert isinstance(frame, dict), r
        for k in ("function", "file", "line"):
            assert k in frame, f"goroutine root frame lacks {k!r}: {r}"
        assert r["addr"] is not None, f"a goroutine root is a stack slot: {r}"
    if r["kind"] == "global":
        assert r["name"] is None or (isinstance(r["name"], str) and r["name"]), r
        assert r["addr"] is not None, r
    return r


def check_go_hop(hop):
    """A hop as for C (conftest.check_hop), and its `view` when it has one."""
    check_hop(hop)
    view = hop.get("view")
    if view is not None:
        assert view["kind"] in VIEW_KINDS, hop
        assert isinstance(view["len"], int) and view["len"] >= 0, hop
        assert view["object_size"] == hop["size"], hop
    return hop


def check_go_path_answer(ans):
    """A whole `retain path --json` answer for a Go program: keys, Go roots,
    and hops that chain (each slot inside the previous block, each pointer
    inside its own block, the last block the target's)."""
    assert "error" not in ans, ans
    assert ans["schema"] == "retain/1" and ans["command"] == "path", ans
    for k in ("target", "reachable", "paths", "truncated", "incomplete", "warnings"):
        assert k in ans, f"path answer lacks {k!r}: {ans}"
    check_go_block(ans["target"])
    assert isinstance(ans["paths"], list)
    if ans["paths"]:
        assert ans["reachable"] is True, ans
    if ans["reachable"] is False:
        assert ans["paths"] == [], ans
    lengths = [len(p["hops"]) for p in ans["paths"]]
    assert lengths == sorted(lengths), f"paths not sorted shortest first: {lengths}"
    for p in ans["paths"]:
        root = check_go_root(p["root"])
        hops = p["hops"]
        assert hops, "a path has at least one hop"
        if root["addr"] is not None:
            assert h(hops[0]["slot"]) == h(root["addr"]), (root, hops[0])
        for i, hop in enumerate(hops):
            check_go_hop(hop)
            if i > 0:
                prev = hops[i - 1]
                assert h(hop["slot"]) == h(prev["addr"]) + hop["offset"], (i, prev, hop)
                assert 0 <= hop["offset"] < prev["size"], (i, prev, hop)
        assert h(hops[-1]["addr"]) == h(ans["target"]["block"]), p
    return ans


def go_path(target, addr, opts=""):
    """`retain path ADDR OPTS --json`, checked."""
    return check_go_path_answer(retain_json(target, f"retain path {addr} {opts}".rstrip()))


def go_paths(target, cmds):
    """Several `retain ... --json` answers from one gdb session."""
    return retain_json_many(target, cmds)


def go_text(target, cmd):
    """The text output of CMD (must succeed)."""
    rc, out, err = run_retain(target, cmd)
    assert rc == 0, f"`{cmd}` failed (status {rc}):\n{out}\n{err}"
    return out


_SLOT_WORDS = """
out['answers'] = []
for c in ARGS:
    ans = retain(c)
    words = []
    for p in ans.get('paths', []):
        row = []
        for hop in p['hops']:
            try:
                row.append(read_word(int(hop['slot'], 16)) if hop['slot'] else None)
            except Exception as e:   # unreadable slot: reported, not raised
                row.append('unreadable: %s' % e)
        words.append(row)
    out['answers'].append({'answer': ans, 'words': words})
"""


def paths_with_slot_words(target, cmds):
    """Run the path commands in one gdb; for each, (answer, the word read
    at every hop's slot), so tests can check that a slot really holds the
    hop's pointer."""
    cmds = [c if c.rstrip().endswith("--json") else f"{c} --json" for c in cmds]
    res = gdb_script(target, _SLOT_WORDS, args=cmds)
    return [(item["answer"], item["words"]) for item in res["answers"]]


def assert_slots_hold_pointers(ans, words):
    """Every hop's slot holds the hop's pointer (in the target's memory)."""
    checked = 0
    for p, row in zip(ans["paths"], words):
        for i, (hop, word) in enumerate(zip(p["hops"], row)):
            if hop["slot"] is None:
                continue
            assert word == h(hop["pointer"]), (
                f"hop {i}: the slot {hop['slot']} holds {word!r}, not the pointer "
                f"{hop['pointer']}: {hop}")
            checked += 1
    return checked


def root_name_ok(target, root, want):
    """The goroutine root's variable name: exactly WANT in the noopt build;
    the optimized build may lose the variable (null name) but must not name
    another one."""
    if target.variant == "noopt":
        return root["name"] == want
    return root["name"] in (want, None)


def first_path(ans, t):
    """The shortest path of `retain path`'s answer ANS for the truth target
    T, after checking ANS (check_go_path_answer): T is reachable, in use,
    found as its own block of at least its size."""
    check_go_path_answer(ans)
    assert ans["reachable"] is True, (t["name"], ans)
    assert ans["target"]["state"] == "in-use", ans["target"]
    assert h(ans["target"]["block"]) == h(t["addr"]), (t["name"], ans["target"])
    assert ans["target"]["size"] >= t["size"], (t["name"], ans["target"])
    return ans["paths"][0]


def check_goroutine_root(target, root, t, function, local):
    """ROOT is T's goroutine, in FUNCTION's frame (both as the truth says),
    at the local LOCAL (see root_name_ok); a named root is precise."""
    assert root["kind"] == "goroutine", root
    assert root["goroutine"] == t["goroutine"], (root, t)
    assert root["frame"]["function"] == t["function"] == function, root
    assert t["root_name"] == local, t
    assert root_name_ok(target, root, local), root
    if root["name"] is not None:
        assert root["precise"] is True, root


def check_global_root(root, t, name, addr=None):
    """ROOT is the global NAME (as T's truth says), its word at ADDR if given."""
    assert root["kind"] == "global" and root["name"] == t["root_name"] == name, root
    if addr is not None:
        assert h(root["addr"]) == h(addr), root


def target_named(target, name):
    return next(t for t in target.truth["targets"] if t["name"] == name)
