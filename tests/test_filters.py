"""The name filters (docs/json-schema.md, "Filters"): --root, --exclude-root,
--through and --type on path, who, top, histogram and leaks, live and from
a core, against fixtures/retained.c and fixtures/hierarchy.cc; and a bad
pattern: one `retain:` line with pcre2's message and the offset.

Patterns are passed through gdb's argument splitting, which eats
backslashes even inside quotes: the patterns here use [.] for a literal dot."""

import pytest

from conftest import check_path_answer, fixture_target, gdb_script, h, json_lines, run_retain

FIXTURE = "retained.c"

_SCRIPT = "out['json'] = {k: retain(c) for k, c in ARGS.items()}"


def retained_queries(t):
    s = t["shared"]["addr"]
    d = t["diamond"]["D"]["addr"]
    item3 = t["registry"]["items"][3]["addr"]
    return {
        # top: roots left out retain nothing
        "reg_root": "retain top 5 --by root --root '^g_registry$'",
        "reg_block": "retain top 3 --by block --root '^g_registry$'",
        "excl_block": "retain top 3 --by block --exclude-root '^g_(tree|registry)$'",
        "excl_root": "retain top 100 --by root --exclude-root '^g_(tree|registry)$'",
        "excl_shared_b": "retain top 100 --by root --exclude-root '^g_shared_b$'",
        "only_shared_a": "retain top 100 --by root --root '^g_shared_a$'",
        "all_roots": "retain top 100 --by root",
        "top_items": "retain top 10 --by block --type 'struct item'",
        # path: --root, --exclude-root
        "path_s": f"retain path {s} -n 2",
        "path_s_root": f"retain path {s} -n 2 --root '^g_shared_b$'",
        "path_s_excl": f"retain path {s} -n 2 --exclude-root '^g_shared_a$'",
        # path: --through a field or a type
        "through_side": f"retain path {d} --through '[.]side'",
        "through_left": f"retain path {d} --through '^[.]left$'",
        "through_none": f"retain path {d} --through 'no_such_field'",
        "through_reg": f"retain path {item3} --through '^struct registry$'",
        "through_tnode": f"retain path {item3} --through '^struct tnode$'",
        # who: --root, --exclude-root (root referrers)
        "who_s_root": f"retain who {s} --root '^g_shared_a$'",
        "who_s_excl": f"retain who {s} --exclude-root '^g_shared_a$'",
    }


@pytest.fixture(scope="module")
def answers(target):
    qs = {k: c + " --json" for k, c in retained_queries(target.truth).items()}
    res = gdb_script(target, _SCRIPT, args=qs)["json"]
    return {k: (qs[k], res[k]) for k in qs}


def answer(answers, key):
    cmd, ans = answers[key]
    assert "error" not in ans, f"`{cmd}` failed: {ans}"
    assert ans["schema"] == "retain/1"
    return ans


def entries(ans, by):
    assert ans["command"] == "top" and ans["by"] == by, ans
    es = ans["entries"]
    ret = [e["retained"] for e in es]
    assert ret == sorted(ret, reverse=True), ret
    return es


def root_names(es):
    return [e["root"]["name"] for e in es]


# ---- top --root / --exclude-root / --type (retained.c) --------------------------------


def test_top_root_keeps_only_g_registry(target, answers):
    t = target.truth
    es = entries(answer(answers, "reg_root"), "root")
    assert es and es[0]["root"]["name"] == "g_registry", es
    assert es[0]["retained"] == t["registry"]["retained"]
    assert es[0]["count"] == t["registry"]["blocks"]
    assert all(e["retained"] == 0 for e in es[1:]), es     # roots left out retain nothing

    ans = answer(answers, "reg_block")
    es = entries(ans, "block")
    r = t["registry"]
    big = r["items"][r["largest_item"]]
    assert [h(e["block"]) for e in es] == [h(r["addr"]), h(r["index"]), h(big["addr"])], es
    assert [e["retained"] for e in es] == [r["retained"], r["index_size"], big["retained"]]
    assert all(e["root"]["name"] == "g_registry" for e in es), es
    assert ans["reachable_bytes"] == r["retained"]


def test_top_exclude_root(target, answers):
    t = target.truth
    c = t["chain"]
    es = entries(answer(answers, "excl_block"), "block")
    assert [h(e["block"]) for e in es] == [h(c["head"]), h(c["second"]), h(c["third"])], es
    assert [e["retained"] for e in es] == [c["retained"], c["retained"] - c["link_size"],
                                           c["retained"] - 2 * c["link_size"]]
    es = entries(answer(answers, "excl_root"), "root")
    assert es[0]["root"]["name"] == "g_chain" and es[0]["retained"] == c["retained"], es[0]
    assert not {"g_tree", "g_registry"} & {n for n, e in zip(root_names(es), es) if e["retained"]}


def test_top_exclude_one_of_two_globals(target, answers):
    """Without g_shared_b, g_shared_a alone keeps the shared block (and its
    buffer) alive; unfiltered, neither retains anything."""
    s = target.truth["shared"]
    for key in ("excl_shared_b", "only_shared_a"):
        es = entries(answer(answers, key), "root")
        a = [e for e in es if e["root"]["name"] == "g_shared_a"]
        assert len(a) == 1, (key, es)
        assert a[0]["retained"] == s["retained"] == s["size"] + s["buf_size"], (key, a)
        assert a[0]["count"] == 2, (key, a)
        assert all(e["retained"] == 0 for e in es if e["root"]["name"] == "g_shared_b"), (key, es)
    es = entries(answer(answers, "all_roots"), "root")
    for e in es:
        if e["root"]["name"] in s["globals"]:
            assert e["retained"] == 0, e


def test_top_type(target, answers):
    r = target.truth["registry"]
    es = entries(answer(answers, "top_items"), "block")
    want = sorted(r["items"], key=lambda i: -i["retained"])[:10]
    assert len(es) == 10
    assert all(e["type"] == "struct item" for e in es), es
    assert [e["retained"] for e in es] == [i["retained"] for i in want]
    assert h(es[0]["block"]) == h(r["items"][r["largest_item"]]["addr"])


# ---- path --root / --exclude-root / --through (retained.c) -------------------------------


def test_path_root_and_exclude_root(target, answers):
    s = target.truth["shared"]
    ans = check_path_answer(answer(answers, "path_s"))
    assert sorted(p["root"]["name"] for p in ans["paths"]) == ["g_shared_a", "g_shared_b"]
    for key in ("path_s_root", "path_s_excl"):
        ans = check_path_answer(answer(answers, key))
        assert [p["root"]["name"] for p in ans["paths"]] == ["g_shared_b"], (key, ans["paths"])
        assert h(ans["paths"][0]["root"]["addr"]) == h(s["global_addrs"][1])


def fields(path):
    return [hop["field"] for hop in path["hops"]]


def test_path_through_field(target, answers):
    """D is 3 hops from g_diamond via B (.left .left) or via C (.right .side):
    --through picks the chain that passes the matching field."""
    d = target.truth["diamond"]
    ans = check_path_answer(answer(answers, "through_side"))
    p = ans["paths"][0]
    assert [h(x["addr"]) for x in p["hops"]] == [h(d[k]["addr"]) for k in "ACD"], p
    assert fields(p)[1:] == [".right", ".side"], p
    ans = check_path_answer(answer(answers, "through_left"))
    p = ans["paths"][0]
    assert [h(x["addr"]) for x in p["hops"]] == [h(d[k]["addr"]) for k in "ABD"], p
    assert fields(p)[1:] == [".left", ".left"], p
    ans = answer(answers, "through_none")
    assert ans["paths"] == [] and ans["reachable"] is not True, ans


def test_path_through_type(target, answers):
    t = target.truth
    ans = check_path_answer(answer(answers, "through_reg"))
    hops = ans["paths"][0]["hops"]
    assert [h(x["addr"]) for x in hops] == [h(t["registry"]["addr"]), h(t["registry"]["items"][3]["addr"])]
    assert hops[0]["type"] == "struct registry"
    ans = answer(answers, "through_tnode")
    assert ans["paths"] == [] and ans["reachable"] is not True, ans


# ---- who --root / --exclude-root (retained.c) --------------------------------------------


def test_who_root_filters(target, answers):
    s = target.truth["shared"]
    for key, name in (("who_s_root", "g_shared_a"), ("who_s_excl", "g_shared_b")):
        ans = answer(answers, key)
        assert ans["command"] == "who"
        assert h(ans["target"]["block"]) == h(s["addr"])
        roots = [r for r in ans["referrers"] if r["kind"] == "root"]
        assert [r["root"]["name"] for r in roots] == [name], (key, ans["referrers"])


# ---- hierarchy.cc: --type on histogram, top, who, leaks ---------------------------------


hierarchy = fixture_target("hierarchy.cc")


def hierarchy_queries(t):
    x = t["shared_object"]["addr"]
    return {
        "hist": "retain histogram",
        "hist_derived": "retain histogram --type '^Derived'",
        "hist_oh": "retain histogram --type 'Orphan|Holder'",
        "top_d1": "retain top 20 --by block --type '^Derived1$'",
        "top_type": "retain top 20 --by type --type 'Derived'",
        "who_x": f"retain who {x}",
        "who_x_d2": f"retain who {x} --type '^Derived2$'",
        "who_x_holder": f"retain who {x} --type '^Holder$'",
        "who_x_excl": f"retain who {x} --exclude-root 'g_objects'",
        "leaks_orphan": "retain leaks --type '^Orphan$'",
    }


@pytest.fixture(scope="module")
def hanswers(hierarchy):
    qs = {k: c + " --json" for k, c in hierarchy_queries(hierarchy.truth).items()}
    res = gdb_script(hierarchy, _SCRIPT, args=qs)["json"]
    return {k: (qs[k], res[k]) for k in qs}


CLASS_ROWS = {"Base", "Derived1", "Derived2", "Derived3", "Orphan"}


def hist_rows(ans):
    assert ans["command"] == "histogram", ans
    for k in ("rows", "typed_blocks", "blocks", "conflicts", "incomplete", "warnings"):
        assert k in ans, f"histogram lacks {k!r}"
    rows = {}
    for r in ans["rows"]:
        assert set(r) >= {"type", "size", "count", "bytes"}, r
        if r["type"] is not None:
            assert r["size"] is None, r
            assert r["type"] not in rows, f"two rows for {r['type']}"
            rows[r["type"]] = r
    if ans.get("sort", "bytes") == "bytes":
        b = [r["bytes"] for r in ans["rows"]]
        assert b == sorted(b, reverse=True), b
    return rows


def test_histogram_counts_per_dynamic_type(hierarchy, hanswers):
    """Objects held through Base* (and a Derived3 through Derived1*) count
    under their dynamic class; leaked Orphans count too."""
    t = hierarchy.truth
    rows = hist_rows(answer(hanswers, "hist"))
    for cls, want in t["classes"].items():
        assert cls in rows, (cls, sorted(rows))
        assert (rows[cls]["count"], rows[cls]["bytes"]) == (want["count"], want["bytes"]), (cls, rows[cls])
    ho = rows["Holder"]
    assert (ho["count"], ho["bytes"]) == (1, t["holder"]["size"])


def test_histogram_type_filter(hierarchy, hanswers):
    t = hierarchy.truth
    rows = hist_rows(answer(hanswers, "hist_derived"))
    assert set(rows) == {"Derived1", "Derived2", "Derived3"}
    assert all(r["type"] is not None for r in answer(hanswers, "hist_derived")["rows"])
    for cls, r in rows.items():
        assert (r["count"], r["bytes"]) == (t["classes"][cls]["count"], t["classes"][cls]["bytes"]), r
    rows = hist_rows(answer(hanswers, "hist_oh"))
    assert set(rows) == {"Orphan", "Holder"}
    assert rows["Orphan"]["count"] == 3 and rows["Holder"]["count"] == 1


def test_top_type_filter_on_classes(hierarchy, hanswers):
    t = hierarchy.truth
    d1 = sorted((o for o in t["objects"] if o["class"] == "Derived1"), key=lambda o: -o["retained"])
    es = entries(answer(hanswers, "top_d1"), "block")
    assert [h(e["block"]) for e in es] == [h(o["addr"]) for o in d1], es
    assert [e["retained"] for e in es] == [o["retained"] for o in d1]
    assert all(e["type"] == "Derived1" for e in es)
    es = entries(answer(hanswers, "top_type"), "type")
    got = {e["type"]: e for e in es}
    assert set(got) == {"Derived1", "Derived2", "Derived3"}, es
    for cls, e in got.items():
        objs = [o for o in t["objects"] if o["class"] == cls]
        assert e["count"] == len(objs) == t["classes"][cls]["count"], e
        assert e["size"] == sum(o["size"] for o in objs), e
        assert e["retained"] == sum(o["retained"] for o in objs), e


def block_refs(ans):
    assert ans["command"] == "who", ans
    return [r for r in ans["referrers"] if r["kind"] == "block"]


def test_who_type_filter(hierarchy, hanswers):
    """X (a Derived1) is held by g_objects[0], a Holder's .obj and a
    Derived2's .peer: --type keeps the block referrers of that type."""
    x = hierarchy.truth["shared_object"]
    refs = block_refs(answer(hanswers, "who_x"))
    assert sorted(h(r["addr"]) for r in refs) == sorted([h(x["holder"]), h(x["peer_of"])]), refs
    roots = [r for r in answer(hanswers, "who_x")["referrers"] if r["kind"] == "root"]
    assert [r["root"]["name"] for r in roots] == [x["root"]], roots

    refs = block_refs(answer(hanswers, "who_x_d2"))
    assert [h(r["addr"]) for r in refs] == [h(x["peer_of"])], refs
    assert refs[0]["type"] == "Derived2" and refs[0]["field"] == x["peer_field"]
    assert refs[0]["offset"] == x["peer_offset"]
    refs = block_refs(answer(hanswers, "who_x_holder"))
    assert [h(r["addr"]) for r in refs] == [h(x["holder"])], refs
    assert refs[0]["type"] == "Holder" and refs[0]["field"] == x["holder_field"]

    ans = answer(hanswers, "who_x_excl")
    assert [r for r in ans["referrers"] if r["kind"] == "root"] == [], ans["referrers"]
    assert len(block_refs(ans)) == 2      # --exclude-root leaves block referrers alone


def test_leaks_type_filter(hierarchy, hanswers):
    """The two leaked Orphans (typed by their vtables) are the leak roots
    whose type matches, each holding its name and scratch buffers."""
    leaked = [o for o in hierarchy.truth["objects"] if o["leaked"]]
    assert len(leaked) == 2 and all(o["class"] == "Orphan" for o in leaked)
    ans = answer(hanswers, "leaks_orphan")
    assert ans["command"] == "leaks"
    got = {h(r["blocks"][0]): r for r in ans["roots"]}
    assert set(got) == {h(o["addr"]) for o in leaked}, ans["roots"]
    for o in leaked:
        r = got[h(o["addr"])]
        assert r["kind"] == "block" and r["type"] == "Orphan", r
        assert r["own_bytes"] == o["size"], r
        assert r["total_bytes"] == o["retained"] == o["size"] + o["name_size"] + o["scratch_size"], r
        assert r["held_blocks"] == o["owned_blocks"] == 2, r
    groups = [g for g in ans["groups"] if g["roots"]]
    assert len(groups) == 1 and groups[0]["type"] == "Orphan", ans["groups"]
    assert groups[0]["roots"] == 2 and groups[0]["total_bytes"] == sum(o["retained"] for o in leaked)


# ---- bad patterns -------------------------------------------------------------------------

BAD = "a("


@pytest.mark.parametrize("cmd,option", [
    ("retain histogram --type '%s'", "--type"),
    ("retain top 5 --type '%s'", "--type"),
    ("retain top 5 --by root --root '%s'", "--root"),
    ("retain top 5 --exclude-root '%s'", "--exclude-root"),
    ("retain leaks --type '%s'", "--type"),
    ("retain who g_holder --type '%s'", "--type"),
    ("retain who g_holder --root '%s'", "--root"),
    ("retain path g_holder --through '%s'", "--through"),
    ("retain path g_holder --exclude-root '%s'", "--exclude-root"),
    ("retain path --type '%s'", "--type"),
], ids=["histogram-type", "top-type", "top-root", "top-exclude-root", "leaks-type", "who-type",
        "who-root", "path-through", "path-exclude-root", "path-type"])
def test_bad_pattern(hierarchy, cmd, option):
    """One `retain:` line with pcre2's message and the offset; status != 0;
    no JSON; no traceback (run_retain checks that)."""
    full = (cmd % BAD) + " --json"
    rc, out, err = run_retain(hierarchy, full)
    assert rc != 0, f"`{full}` succeeded:\n{out}\n{err}"
    lines = [l for l in err.splitlines() if l.startswith("retain:")]
    assert len(lines) == 1, f"`{full}`: expected one 'retain:' line:\n{err}"
    line = lines[0]
    assert f"bad {option} pattern '{BAD}'" in line, line
    assert "missing closing parenthesis" in line, line
    assert "at offset 2" in line, line
    assert not json_lines(out), out
