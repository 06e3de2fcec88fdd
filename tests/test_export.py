"""`retain path --dot FILE` (Graphviz) and `retain top --pprof FILE` (a pprof
profile of root paths weighted by retained bytes) against fixtures/retained.c,
live and from a core. The SVG check needs Graphviz's `dot`, the profile
check Go's `go tool pprof`; each is skipped without them."""

import re
import shutil
import subprocess

import pytest

from conftest import run_retain

FIXTURE = "retained.c"

DOT = shutil.which("dot")
GO = shutil.which("go")


def retain_ok(target, *cmds):
    rc, out, err = run_retain(target, *cmds)
    assert rc == 0, (cmds, out, err)
    assert "retain:" not in err, (cmds, out, err)
    return out


def test_dot_single_path(target, tmp_path):
    """g_registry -> the registry -> items[3] -> its name buffer: the root,
    every block and the fields along the chain are in the graph."""
    t = target.truth
    item = t["registry"]["items"][3]
    f = tmp_path / "chain.dot"
    out = retain_ok(target, "retain path g_registry->items[3]->name --dot %s" % f)
    assert "wrote %s" % f in out, out
    text = f.read_text()
    assert text.startswith("digraph retain {") and text.rstrip().endswith("}"), text
    assert "global g_registry" in text and "struct registry *" in text, text
    assert '[label="->items[3]"]' in text and '[label="->name"]' in text, text
    for addr in (t["registry"]["addr"], item["addr"], item["name"]):
        assert "0x%x" % int(addr, 16) in text, (addr, text)
    assert "struct registry" in text and "struct item" in text
    assert "%d bytes" % item["size"] in text, text
    # root, registry, item, name buffer; three edges
    assert len(re.findall(r"^\s*n\d+ \[label=", text, re.M)) == 4, text
    assert len(re.findall(r"^\s*n\d+ -> n\d+", text, re.M)) == 3, text


def test_dot_folds_runs(target, tmp_path):
    """Five ->next hops after the head: one node "struct link x 5"."""
    f = tmp_path / "links.dot"
    retain_ok(target, "retain path g_chain->next->next->next->next->next --dot %s" % f)
    text = f.read_text()
    assert "global g_chain" in text, text
    assert "struct link x 5" in text and '"->next x5"' in text, text
    assert len(re.findall(r"^\s*n\d+ \[label=", text, re.M)) == 3, text


def test_dot_merged_tree(target, tmp_path):
    r = target.truth["registry"]
    f = tmp_path / "items.dot"
    retain_ok(target, "retain path --type '^struct item$' --dot %s" % f)
    text = f.read_text()
    assert "global g_registry" in text and '"->items[]"' in text, text
    assert "struct item\\n%d blocks, %d bytes" % (r["item_count"], r["item_bytes"]) in text, text


def test_dot_svg(target, tmp_path):
    f = tmp_path / "chain.svg"
    out = retain_ok(target, "retain path g_registry->items[3]->name --dot %s" % f)
    if DOT is None:
        assert (tmp_path / "chain.dot").exists() and not f.exists(), out
        pytest.skip("Graphviz dot is not installed: DOT text written instead of SVG")
    text = f.read_text()
    assert "<svg" in text and "g_registry" in text and "items[3]" in text, text[:2000]


def test_dot_json_output_unchanged(target, tmp_path):
    f = tmp_path / "chain.dot"
    out = retain_ok(target, "retain path g_registry->items[3]->name --json --dot %s" % f)
    assert "wrote" not in out and f.exists(), out


def _pprof_top(path, *extra):
    """{name: (flat, cum)} in bytes from `go tool pprof -top`."""
    res = subprocess.run([GO, "tool", "pprof", "-top", "-unit=B", "-nodecount=1000", *extra, str(path)],
                         capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    assert res.returncode == 0, res.stderr
    rows = {}
    for line in res.stdout.splitlines():
        m = re.match(r"^\s*(\d+)B?\s+\S+%\s+\S+%\s+(\d+)B?\s+\S+%\s+(.*)$", line)
        if m:
            rows[m.group(3).strip()] = (int(m.group(1)), int(m.group(2)))
    assert rows, res.stdout + res.stderr
    return rows, res.stdout


def test_pprof_top(target, tmp_path):
    """The three structures that retain the most (tree, registry, chain) are
    the samples: their root globals and types carry the exact retained bytes;
    the blocks inside them (the big buffers, the chain's next links) are
    left out, so no byte counts twice."""
    t = target.truth
    f = tmp_path / "top.pb.gz"
    out = retain_ok(target, "retain top --pprof %s" % f)
    assert "wrote %s (pprof:" % f in out, out
    assert f.read_bytes()[:2] == b"\x1f\x8b", "not gzip"
    if GO is None:
        pytest.skip("go is not installed (apt-get install golang-go)")
    rows, text = _pprof_top(f, "-sample_index=retained")
    want = {"g_tree": ("struct tnode *", "struct tnode", t["tree"]["retained"]),
            "g_registry": ("struct registry *", "struct registry", t["registry"]["retained"]),
            "g_chain": ("struct link *", "struct link", t["chain"]["retained"])}
    for name, (ptype, btype, retained) in want.items():
        root = "global %s (%s)" % (name, ptype)
        assert root in rows, (root, text)
        assert rows[root] == (0, retained), (root, rows[root], text)
        assert rows[btype][0] == retained, (btype, rows.get(btype), text)
    # the 25 MB buffer under the tree root is inside it, not a sample of its own
    assert not any(k.startswith("->data") for k in rows), text
    counts, text = _pprof_top(f, "-sample_index=count")
    assert counts["struct tnode"][0] == 1 and counts["struct link"][0] == 1, text


def test_pprof_fields_in_stacks(target, tmp_path):
    """With --type the samples are registry items: their stacks go through
    the registry's items[] field."""
    t = target.truth["registry"]
    big = t["items"][t["largest_item"]]
    f = tmp_path / "items.pb.gz"
    retain_ok(target, "retain top 5 --type '^struct item$' --pprof %s" % f)
    if GO is None:
        pytest.skip("go is not installed (apt-get install golang-go)")
    rows, text = _pprof_top(f)
    frame = "->items[%d] struct item" % t["largest_item"]
    assert frame in rows, text
    assert rows[frame][0] == big["retained"], (rows[frame], big, text)
    assert rows["global g_registry (struct registry *)"][1] >= big["retained"], text


def test_pprof_needs_by_block(target, tmp_path):
    rc, out, err = run_retain(target, "retain top --by type --pprof %s" % (tmp_path / "x.pb.gz"))
    assert "--pprof goes with --by block" in out + err
