"""`retain report` on a Go heap (fixtures/go/synccache.go) lists the small
views that pin the largest objects: each request buffer is held through a
one-byte slice, in the JSON report and in the HTML page. Live and core."""

import json
import subprocess

from conftest import ROOT, gdb_env, h, run_retain

FIXTURE = "go/synccache.go"
GO_BUILDS = ("opt",)
TOP = 8


def test_report_lists_small_views(target, tmp_path):
    out_json, out_html = tmp_path / "report.json", tmp_path / "report.html"
    rc, out, err = run_retain(target, f"retain report --top {TOP} --json {out_json} --html {out_html}",
                              f"retain report --top {TOP}")
    assert rc == 0, out + err
    doc = json.loads(out_json.read_text())
    assert doc["stats"]["heap"]["kind"] == "go"
    buffers = {h(t["addr"]): t for t in target.truth["targets"]}
    views = doc["views"]
    assert views, "no small views among the %d largest objects" % TOP
    for v in views:
        t = buffers.get(h(v["block"]))
        assert t is not None, ("a view into something else than a request buffer", v)
        assert v["size"] == t["size"] == 65536
        [view] = v["views"]
        assert view["kind"] == "slice" and view["len"] == t["slice_len"] == 1, view
        assert view["object_size"] == 65536 and view["holder"], view
    html = out_html.read_text()
    for v in views:
        assert 'class="view-row" data-addr="%s"' % v["block"] in html
    text = out[out.index("== small views pinning big objects"):]
    for v in views:
        assert "%s (65536 bytes" % v["block"] in text and "slice len 1 pins 64 KiB object" in text, text


def test_batch_output_is_only_retain(target):
    """`retain-gdb --batch` on a Go core: retain's lines and nothing of gdb's
    (no frame line, no source line, no auto-load warning for the Go runtime's
    gdb script)."""
    if target.mode != "core":
        return
    t = target.truth["targets"][0]
    res = subprocess.run([str(ROOT / "retain-gdb-dev"), "--batch", str(target.binary), str(target.core),
                          "--", "info", t["addr"]], capture_output=True, text=True, timeout=300, env=gdb_env())
    assert res.returncode == 0, res.stdout + res.stderr
    assert res.stderr == "", res.stderr
    lines = res.stdout.splitlines()
    assert lines[0].startswith("%s is in an in-use block" % t["addr"]), lines
    assert lines[-1].startswith("held through a small view"), lines
    assert all(line.startswith((t["addr"], "distance", "held")) for line in lines), lines
