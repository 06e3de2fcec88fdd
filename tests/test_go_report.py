"""`retain report` on a Go heap (fixtures/go/synccache.go) lists the small
views that pin the largest objects: each request buffer is held through a
one-byte slice, in the JSON report and in the HTML page. Live and core."""

import json

from conftest import h, run_retain

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
