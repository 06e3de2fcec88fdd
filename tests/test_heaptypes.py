"""Heap-wide types (gdbext/heaptypes.c, rule in heaptypes.h) through the
_retain bindings of gdbext/module_types.c: block_types, histogram, type_of,
type_index, blocks_with_types. fixtures/histogram.c knows every figure
exactly; basics.c (C: a typed list, a hash table, roots of every kind) and
vtable.cc (C++: dynamic types) check the typing itself. Live and on a core."""

import pytest

from conftest import fixture_target, gdb_script, h

FIXTURE = "histogram.c"

# The gdb Python body: one analysis, every binding asked once.
BODY = r'''
import _retain
import retain.engine as engine
s = engine.current().session
out["summary"] = _retain.block_types(s)
out["again"] = _retain.block_types(s)
out["hist"] = _retain.histogram(s)
out["stats"] = s.stats()
out["types"] = {a: _retain.type_of(s, int(a, 16)) for a in ARGS["addrs"]}
index = _retain.type_index(s)
out["index"] = index
selected = {}
for key, pattern in ARGS["patterns"].items():
    views = [i for i, n in enumerate(index) if n is not None and re.search(pattern, n)]
    selected[key] = ["0x%x" % a for a in _retain.blocks_with_types(s, views)]
out["selected"] = selected
out["unknown"] = ["0x%x" % a for a in _retain.blocks_with_types(s, [None])]
out["row_blocks"] = [len(_retain.blocks_with_types(s, [v])) if v is not None else None
                     for v in out["hist"]["row_types"]]
errors = {}
for name, call in [
        ("bad_index", lambda: _retain.blocks_with_types(s, [len(index)])),
        ("not_a_session", lambda: _retain.histogram(42)),
        ("unbuilt", lambda: _retain.histogram(_retain.open_core(ARGS["core"]) if ARGS["core"]
                                              else _retain.open_live(ARGS["pid"])))]:
    try:
        call()
        errors[name] = None
    except Exception as e:
        errors[name] = [type(e).__name__, str(e)]
out["errors"] = errors
'''


def ask(target, addrs=(), patterns=None):
    args = {"addrs": [a if isinstance(a, str) else hex(a) for a in addrs], "patterns": patterns or {},
            "core": str(target.core) if target.core else None, "pid": target.pid}
    return gdb_script(target, BODY, args=args)


def rows_by_name(hist):
    """{name: (count, bytes)} of the typed rows; each name once."""
    named = [r for r in hist["rows"] if r[0] is not None]
    out = {r[0]: (r[2], r[3]) for r in named}
    assert len(out) == len(named), f"a type has two rows: {named}"
    return out


def unknown_rows(hist):
    rows = [r for r in hist["rows"] if r[0] is None]
    out = {r[1]: (r[2], r[3]) for r in rows}
    assert len(out) == len(rows), f"a size has two unknown rows: {rows}"
    return out


def usable(recs):
    return (len(recs), sum(r["usable"] for r in recs))


# --------------------------------------------------------------------------
# histogram.c: every figure


@pytest.fixture(scope="module")
def answer(target):
    t = target.truth
    addrs = [t["a"][0]["addr"], hex(h(t["a"][0]["addr"]) + 8), t["b"][5]["addr"], t["label"][3]["addr"],
             t["c"]["addr"], hex(h(t["c"]["addr"]) + 16 * 9 + 8), t["fam"]["addr"], t["h"]["addr"],
             t["loc"]["addr"], t["tl"]["addr"], t["interior"]["addr"], t["wrong"]["addr"],
             t["conflict"]["addr"], "0x10", "0xffffffffffff0000"]
    addrs += [d["addr"] for d in t["d"]] + [o["addr"] for o in t["opaque"]] + [k["addr"] for k in t["contested"]]
    patterns = {"d": r"^struct d$", "char": r"^char\[\]$", "a_or_b": r"^struct (a|b)$", "arrays": r"\[\]$"}
    return target, ask(target, addrs, patterns)


def expected_rows(t):
    winner = t["conflict_winner"]
    rows = {
        "struct a": usable(t["a"]), "struct b": usable(t["b"]), "char[]": usable(t["label"]),
        "struct c[]": usable([t["c"]]), "struct d": usable(t["d"]), "struct fam": usable([t["fam"]]),
        "struct h": usable([t["h"]]), "struct loc": usable([t["loc"]]), "struct tl": usable([t["tl"]]),
        "struct x": (t["x"]["count"], t["x"]["usable"]),
    }
    for name in ("struct y", "struct z"):
        won = [k for k in t["contested"] if k["winner"] == name]
        if won:
            rows[name] = usable(won)
    rows[winner] = usable([t["conflict"]] + [k for k in t["contested"] if k["winner"] == winner])
    return rows


NTYPED = 198 + 10000 + 300
NTYPES = 13
NCONFLICTS = 1 + 300


def test_typed_rows_exact(answer):
    target, out = answer
    assert rows_by_name(out["hist"]) == expected_rows(target.truth)


def test_unknown_rows_exact(answer):
    target, out = answer
    t = target.truth
    unknown = unknown_rows(out["hist"])
    sizes = {o["usable"] for o in t["opaque"]}
    assert sizes == {5000}
    assert unknown[5000] == usable(t["opaque"])
    assert unknown[t["interior"]["usable"]] == usable([t["interior"]])
    # the block a struct big * points at: too small for one, so unknown
    assert unknown[t["wrong"]["usable"]][0] >= 1


def test_totals(answer):
    target, out = answer
    hist, stats = out["hist"], out["stats"]
    exp = expected_rows(target.truth)
    assert hist["typed_blocks"] == sum(c for c, _ in exp.values()) == NTYPED
    assert hist["blocks"] == stats["blocks_in_use"] == sum(r[2] for r in hist["rows"])
    assert hist["bytes"] == stats["bytes_in_use"] == sum(r[3] for r in hist["rows"])
    assert hist["conflicts"] == NCONFLICTS   # g_conf_e and g_conf_f disagree, and each contested block
    assert hist["oversized"] == 1            # g_wrong
    assert hist["from_vtables"] == 0         # C: no vtables
    summary = dict(out["summary"])
    assert summary.pop("seconds") >= 0
    again = dict(out["again"])
    again.pop("seconds")
    assert summary == again                  # computed once, same answer
    assert summary == {"typed_blocks": NTYPED, "blocks": hist["blocks"], "conflicts": NCONFLICTS,
                       "from_vtables": 0, "oversized": 1, "types": NTYPES}


def test_rows_sorted(answer):
    _, out = answer
    rows = out["hist"]["rows"]
    for r in rows:
        assert len(r) == 4
        assert (r[0] is None) != (r[1] is None), r      # a name, or a size
        assert r[2] > 0 and r[3] > 0, r
    keys = [(-r[3], -r[2]) for r in rows]
    assert keys == sorted(keys), rows


def test_type_of(answer):
    target, out = answer
    t, types = target.truth, out["types"]
    assert types[t["a"][0]["addr"]] == "struct a"
    assert types[hex(h(t["a"][0]["addr"]) + 8)] == "struct a"       # inside the block
    assert types[t["b"][5]["addr"]] == "struct b"
    assert types[t["label"][3]["addr"]] == "char[]"
    assert types[t["c"]["addr"]] == "struct c[]"
    assert types[hex(h(t["c"]["addr"]) + 16 * 9 + 8)] == "struct c[]"
    for d in t["d"]:
        assert types[d["addr"]] == "struct d", d                    # strides, flexible array, slots
    assert types[t["fam"]["addr"]] == "struct fam"
    assert types[t["h"]["addr"]] == "struct h"
    assert types[t["loc"]["addr"]] == "struct loc"                  # a stack variable
    assert types[t["tl"]["addr"]] == "struct tl"                    # a thread-local variable
    assert types[t["conflict"]["addr"]] == t["conflict_winner"]     # the lower global's view
    for o in t["opaque"]:
        assert types[o["addr"]] is None                             # void * says nothing
    assert types[t["interior"]["addr"]] is None                     # only an interior pointer
    assert types[t["wrong"]["addr"]] is None                        # too small for a struct big
    assert types["0x10"] is None and types["0xffffffffffff0000"] is None
    # Two declarations at the same depth: the lower slot address wins. The
    # 10000 struct x form one level, read by two threads: the same answer.
    wrong = {k["addr"]: (types[k["addr"]], k["winner"]) for k in t["contested"] if types[k["addr"]] != k["winner"]}
    assert not wrong, wrong
    assert {k["winner"] for k in t["contested"]} == {"struct y", "struct z"}


def test_type_index_and_blocks(answer):
    target, out = answer
    t, index = target.truth, out["index"]
    assert len(index) == 2 * NTYPES
    names = [n for n in index if n is not None]
    assert len(names) == len(set(names)) == NTYPES
    for i, n in enumerate(index):
        if n is not None:
            assert n.endswith("[]") == (i % 2 == 1), (i, n)
    sel = out["selected"]
    assert sel["d"] == sorted((d["addr"] for d in t["d"]), key=h)
    assert sel["char"] == sorted((r["addr"] for r in t["label"]), key=h)
    assert sorted(sel["a_or_b"], key=h) == sel["a_or_b"]
    assert set(sel["a_or_b"]) == {r["addr"] for r in t["a"] + t["b"]}
    assert set(sel["arrays"]) == {r["addr"] for r in t["label"]} | {t["c"]["addr"]}
    hist = out["hist"]
    assert len(hist["row_types"]) == len(hist["rows"])
    for row, view, nblocks in zip(hist["rows"], hist["row_types"], out["row_blocks"]):
        assert (view is None) == (row[0] is None), (row, view)
        if view is not None:
            assert index[view] == row[0]
            assert nblocks == row[2], (row, nblocks)
    unknown = set(out["unknown"])
    assert {o["addr"] for o in t["opaque"]} | {t["interior"]["addr"], t["wrong"]["addr"]} <= unknown
    assert len(unknown) == out["hist"]["blocks"] - out["hist"]["typed_blocks"]


def test_binding_errors(answer):
    _, out = answer
    err = out["errors"]
    assert err["bad_index"][0] == "IndexError", err
    assert err["not_a_session"][0] == "TypeError", err
    assert err["unbuilt"][0] == "Error" and "not been built" in err["unbuilt"][1], err


# --------------------------------------------------------------------------
# basics.c and vtable.cc: the typing itself


basics = fixture_target("basics.c")


vtable = fixture_target("vtable.cc")


def test_basics_types(basics):
    t = basics.truth
    nodes, entries = t["list"]["nodes"], t["table"]["entries"]
    cases = {n["addr"]: "struct node" for n in nodes}
    cases.update({n["payload"]: "char[]" for n in nodes})          # char *payload -> 72 bytes
    cases.update({e["addr"]: "struct entry" for e in entries})     # g_table.buckets[i], ->next
    cases[t["local"]["addr"]] = "char[]"                           # char *held_by_local (stack)
    cases[t["tls"]["addr"]] = "char[]"                             # __thread char *tls_block
    cases[t["mmapped"]["addr"]] = "char[]"                         # char *g_big (4 MiB)
    cases[t["two_roots"]["addr"]] = "char[]"
    for a in t["arena"]:
        cases[a["addr"]] = "char[]"                                # non-main arena
    cases[t["register"]["addr"]] = None                            # uintptr_t in r12: no pointer type
    cases[t["interior"]["block"]] = None                           # pointed into, not at
    for c in t["cycle"]["nodes"]:
        cases[c] = None                                            # no root reaches them
    out = ask(basics, list(cases))
    got = out["types"]
    wrong = {a: (got[a], want) for a, want in cases.items() if got[a] != want}
    assert not wrong, wrong
    rows = rows_by_name(out["hist"])
    assert rows["struct node"][0] == len(nodes) == 50
    assert rows["struct entry"][0] == len(entries) == 200
    assert out["hist"]["conflicts"] == 0
    assert out["hist"]["from_vtables"] == 0


def test_vtable_types(vtable):
    t = vtable.truth
    objs = t["array"]["objects"] + t["vector"]["objects"]
    cases = {}
    for o in objs:
        cases[o["addr"]] = o["class"]                               # the vtable's class, not Shape
        cases[o["tag"]] = "char[]"                                  # Shape::tag, a base-class member
        cases[o["buffer"]] = "double[]" if o["class"] == "Circle" else "unsigned char[]"
    cases[t["vector"]["storage"]] = "Shape *[]"                     # std::vector<Shape *>'s storage
    out = ask(vtable, list(cases))
    got = out["types"]
    wrong = {a: (got[a], want) for a, want in cases.items() if got[a] != want}
    assert not wrong, wrong
    hist = out["hist"]
    rows = rows_by_name(hist)
    assert hist["from_vtables"] == len(objs) == 10
    assert rows["Circle"][0] + rows["Square"][0] == len(objs)
    assert rows["Circle"][0] == sum(o["class"] == "Circle" for o in objs)
    assert hist["conflicts"] == 0        # Shape * to a Circle is no conflict
