"""`retain report --html FILE`, opened in headless Chromium.

fixtures/retained.c (live and from a core) knows its top blocks, their
retained sizes and the global that holds each, its top roots and the count
and bytes of each type; fixtures/growing.c (a core, as in test_report.py)
knows its leaks. Each run writes the JSON report and the HTML page in one
gdb (`--json J --html H`), so the page is also checked against the JSON of
the same analysis. Chromium renders the page (--dump-dom, after its
scripts ran: the page's title then ends with "- ready") and takes a
screenshot, the artifact a person looks at (copied to
$RETAIN_TEST_ARTIFACTS when set). Skipped when chromium is not installed."""

import json
import os
import shutil
import struct
import subprocess
import sys
import zlib
from html.parser import HTMLParser

import pytest

from conftest import ROOT, h, json_lines, make_target, require_retain, run_retain

FIXTURE = "retained.c"
TOP = 10
GROWING = ("growing.c", ("10",))   # the small instance of test_report.py (shared, session-wide)

CHROMIUM = shutil.which("chromium")
CHROMIUM_TIMEOUT = 120
SCREEN = (1280, 2000)

# retain.html renders outside gdb too (the package imports without gdb)
sys.path.insert(0, str(ROOT / "pysrc"))
from retain import html as retain_html  # noqa: E402


def require_chromium():
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (scripts/setup.sh deps installs it)")


def chromium(tmp, *args):
    """Run headless Chromium (never the network, never longer than
    CHROMIUM_TIMEOUT); return its stdout."""
    require_chromium()
    profile = tmp / "chromium-profile"
    profile.mkdir(exist_ok=True)
    argv = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={profile}", "--virtual-time-budget=5000", *args]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=CHROMIUM_TIMEOUT,
                         stdin=subprocess.DEVNULL)
    assert res.returncode == 0, f"chromium failed (status {res.returncode}):\n{' '.join(argv)}\n{res.stderr[-3000:]}"
    return res.stdout


# ---- a small DOM, from Chromium's --dump-dom (or the page's own source) ------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class Node:
    def __init__(self, tag, attrs, parent):
        self.tag, self.attrs, self.parent, self.children = tag, dict(attrs), parent, []

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def text(self):
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def walk(self):
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.walk()

    def find_all(self, tag=None, cls=None, **attrs):
        """Descendants by tag, class and attributes (data_by= is data-by=)."""
        want = {k.replace("_", "-"): str(v) for k, v in attrs.items()}
        return [n for n in self.walk() if (tag is None or n.tag == tag) and (cls is None or cls in n.classes())
                and all(n.attrs.get(k) == v for k, v in want.items())]

    def find(self, *args, **kwargs):
        found = self.find_all(*args, **kwargs)
        assert len(found) == 1, f"expected one {args} {kwargs}, found {len(found)}"
        return found[0]

    def ancestor(self, tag, cls=None):
        n = self.parent
        while n is not None and not (n.tag == tag and (cls is None or cls in n.classes())):
            n = n.parent
        return n


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = self.cur = Node("#document", {}, None)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, attrs, self.cur)
        self.cur.children.append(node)
        if tag not in VOID:
            self.cur = node

    def handle_startendtag(self, tag, attrs):
        self.cur.children.append(Node(tag, attrs, self.cur))

    def handle_endtag(self, tag):
        n = self.cur
        while n is not None and n.tag != tag:
            n = n.parent
        if n is not None and n.parent is not None:
            self.cur = n.parent

    def handle_data(self, data):
        self.cur.children.append(data)


def parse_html(text):
    b = _TreeBuilder()
    b.feed(text)
    b.close()
    return b.root


def render_dom(tmp, html_path):
    """The page's DOM after its scripts ran."""
    return parse_html(chromium(tmp, "--dump-dom", html_path.as_uri()))


def title(dom):
    return dom.find("title").text()


def embedded_data(source_dom):
    return json.loads(source_dom.find("script", id="retain-data").text())


def png_size(data):
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def png_pixels(data):
    """The PNG's decompressed image data (filter bytes and all)."""
    pos, idat = 8, b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            idat += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return zlib.decompress(idat)


def screenshot(tmp, html_path, name):
    """Screenshot the page into TMP (and $RETAIN_TEST_ARTIFACTS); check it
    is a real picture of the right size, not a blank page."""
    png = tmp / name
    chromium(tmp, f"--screenshot={png}", "--window-size=%d,%d" % SCREEN, html_path.as_uri())
    assert png.exists(), f"chromium wrote no screenshot {png}"
    data = png.read_bytes()
    assert png_size(data) == SCREEN
    # a blank page compresses to a few KB and has a handful of distinct bytes
    assert len(data) > 20_000, f"{png}: only {len(data)} bytes"
    assert len(set(png_pixels(data))) > 64, f"{png} looks blank"
    artifacts = os.environ.get("RETAIN_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(png, os.path.join(artifacts, name))
    return png


class Page:
    """One `retain report --json J --html H` run: the JSON, the page's
    source and its DOM as Chromium rendered it."""

    def __init__(self, target, tmp, top):
        require_chromium()
        self.target, self.tmp = target, tmp
        self.json_path, self.html_path = tmp / "report.json", tmp / "report.html"
        rc, out, err = run_retain(target, f"retain report --json {self.json_path} --html {self.html_path} --top {top}")
        assert rc == 0, f"{out}\n{err}"
        assert f"retain report: wrote {self.json_path}" in out, out
        assert f"retain report: wrote {self.html_path}" in out, out
        self.doc = json.loads(self.json_path.read_text())
        self.source = self.html_path.read_text()
        self.source_dom = parse_html(self.source)
        self.dom = render_dom(tmp, self.html_path)

    def rows(self, by):
        return self.dom.find_all("details", cls="entry", data_by=by)

    def row(self, by, **attrs):
        return self.dom.find("details", cls="entry", data_by=by, **attrs)


@pytest.fixture(scope="module")
def page(target, tmp_path_factory):
    require_chromium()
    return Page(target, tmp_path_factory.mktemp(f"html-{target.mode}"), TOP)


@pytest.fixture(scope="module")
def growing(fixture_cache, tmp_path_factory):
    require_retain()
    require_chromium()
    t = make_target(fixture_cache.get(*GROWING), "core")
    return Page(t, tmp_path_factory.mktemp("html-growing"), 5)


# ---- retained.c: live and core -----------------------------------------------------

def test_rendered_and_ready(page):
    assert title(page.dom).endswith("ready"), title(page.dom)
    error = page.dom.find(id="render-error")
    assert "hidden" in error.attrs, error.text()
    assert page.doc["stats"]["source"] == page.target.mode
    assert page.target.mode in title(page.dom)


def test_self_contained(page):
    assert "http://" not in page.source and "https://" not in page.source
    # nothing to fetch: no element names another resource
    for n in page.source_dom.walk():
        for attr in ("src", "href", "srcset", "data", "action"):
            assert attr not in n.attrs, f"<{n.tag} {attr}={n.attrs[attr]!r}>"
    assert "@import" not in page.source and "url(" not in page.source
    # the embedded data is the very document --json wrote
    assert embedded_data(page.source_dom) == page.doc


def test_top_blocks_tree(page):
    truth = page.target.truth
    rows = page.rows("block")
    assert len(rows) == len(page.doc["top"]["block"]["entries"]) == TOP
    doc_types = {h(e["block"]): e["type"] for e in page.doc["top"]["block"]["entries"]}
    for want in truth["top_blocks"]:
        (row,) = [r for r in rows if h(r.attrs["data-addr"]) == h(want["addr"])]
        assert int(row.attrs["data-rank"]) == want["rank"], (want, row.attrs)
        assert int(row.attrs["data-retained"]) == want["retained"], (want, row.attrs)
        assert row.attrs["data-type"] == doc_types[h(want["addr"])], (want, row.attrs)
        # "tree root data" is held through g_tree, "chain second" through g_chain ...
        glob = truth[want["what"].split()[0]]["global"]
        assert row.attrs["data-root"] == f"global {glob}", (want, row.attrs)
        # the tree: the row sits under its root's group ...
        group = row.ancestor("details", "group")
        assert group is not None and group.attrs["data-root"] == f"global {glob}", want
        # ... and expands to its root and the chain from it
        assert glob in row.find("span", cls="root-name").text(), want
        chain = row.find("pre", cls="chain").text()
        assert chain.startswith(f"global {glob} ") and want["addr"] in chain, (want, chain)
    # the largest one is shown expanded
    assert "open" in page.row("block", data_rank=1).attrs


def test_top_roots(page):
    for want in page.target.truth["top_roots"]:
        row = page.row("root", data_rank=want["rank"])
        assert row.attrs["data-root"] == f"global {want['name']}", (want, row.attrs)
        assert int(row.attrs["data-retained"]) == want["retained"], (want, row.attrs)
        assert int(row.attrs["data-count"]) == want["count"], (want, row.attrs)
        assert want["name"] in row.find("span", cls="root-name").text()


def test_top_types(page):
    truth = page.target.truth
    rows = {r.attrs["data-type"]: r for r in page.rows("type")}
    for e in page.doc["top"]["type"]["entries"]:
        row = rows[e["type"]]
        assert (int(row.attrs["data-rank"]), int(row.attrs["data-retained"])) == (e["rank"], e["retained"])
        assert h(row.attrs["data-addr"]) == h(e["block"])
    assert int(rows[truth["chain"]["type"]].attrs["data-count"]) == truth["chain"]["length"]
    assert int(rows[truth["chain"]["type"]].attrs["data-retained"]) == truth["chain"]["retained"]
    assert int(rows[truth["tree"]["type"]].attrs["data-count"]) == truth["tree"]["node_count"]


def hist_rows(dom):
    table = dom.find("table", id="histogram-table")
    return [(r.attrs["data-type"], int(r.attrs["data-count"]), int(r.attrs["data-bytes"]))
            for r in table.find_all("tr", cls="hist-row")]


def test_histogram(page):
    truth = page.target.truth
    rows = hist_rows(page.dom)
    assert rows == [(r["type"] or "", r["count"], r["bytes"]) for r in page.doc["histogram"]["rows"]]
    by_type = {t: (c, b) for t, c, b in rows if t}
    expected = {
        truth["chain"]["type"]: (truth["chain"]["length"], truth["chain"]["length"] * truth["chain"]["link_size"]),
        truth["tree"]["type"]: (truth["tree"]["node_count"], truth["tree"]["node_bytes"]),
        truth["registry"]["item_type"]: (truth["registry"]["item_count"], truth["registry"]["item_bytes"]),
        truth["registry"]["type"]: (1, truth["registry"]["size"]),
        truth["diamond"]["type"]: (4, truth["diamond"]["bytes"]),
        truth["shared"]["type"]: (1, truth["shared"]["size"]),
    }
    for t, want in expected.items():
        assert by_type.get(t) == want, (t, by_type)


def test_histogram_sorts(page):
    """Clicking a header sorts the table: a copy of the page with one more
    script, run after the page's own, clicks "count" once (ascending) and
    then sets the title."""
    clicked = page.tmp / "clicked.html"
    click = ('<script>document.querySelectorAll("#histogram-table th")[2].click();'
             'document.title = "sorted";</script>')
    clicked.write_text(page.source.replace("</body>", click + "</body>"))
    dom = render_dom(page.tmp, clicked)
    assert title(dom) == "sorted"
    counts = [c for _, c, _ in hist_rows(dom)]
    assert counts == sorted(counts) and counts != [c for _, c, _ in hist_rows(page.dom)], counts
    assert "asc" in dom.find("table", id="histogram-table").find_all("th")[2].classes()


def test_static_summary_without_javascript(page):
    """What a browser without JavaScript shows: the page source minus its scripts."""
    summary = page.source_dom.find("section", id="summary").text()
    stats = page.doc["stats"]
    assert "{:,}".format(stats["blocks"]["in_use"]) in summary
    assert "{:,}".format(stats["bytes"]["in_use"]) in summary
    first = page.target.truth["top_blocks"][0]
    assert first["addr"] in summary and "{:,}".format(first["retained"]) in summary
    assert page.target.truth[first["what"].split()[0]]["global"] in summary
    assert page.source_dom.find("noscript").text().strip()


def test_screenshot(page):
    screenshot(page.tmp, page.html_path, f"report-retained-{page.target.mode}.png")


# ---- growing.c: leaks (a core) -----------------------------------------------------

def test_leaks(growing):
    truth, doc = growing.target.truth, growing.doc
    assert title(growing.dom).endswith("ready")
    total = growing.dom.find(id="leak-total").text()
    assert "{:,} bytes in {:,} blocks".format(truth["leaked_bytes"], truth["leaked_blocks"]) in total, total
    roots = growing.dom.find("table", id="leak-roots").find_all("tr", cls="leak-root")
    # each leaked block is its own leak root: nothing points to it
    assert len(roots) == len(doc["leaks"]["roots"]) == truth["leaked_blocks"]
    assert {h(r.attrs["data-addr"]) for r in roots} == {h(r["blocks"][0]) for r in doc["leaks"]["roots"]}
    groups = growing.dom.find("table", id="leak-groups").find_all("tr", cls="leak-group")
    assert [(g.attrs["data-type"], int(g.attrs["data-bytes"])) for g in groups] == \
        [(g["type"] or "", g["total_bytes"]) for g in doc["leaks"]["groups"]]
    assert sum(int(g.attrs["data-bytes"]) for g in groups) == truth["leaked_bytes"]
    by_type = {t: c for t, c, _ in hist_rows(growing.dom)}
    assert by_type[truth["request_type"]] == truth["requests"]
    screenshot(growing.tmp, growing.html_path, "report-growing-core.png")


def test_json_on_stdout_with_html(growing, tmp_path):
    """--json (to stdout) and --html together: stdout is the one JSON line."""
    path = tmp_path / "r.html"
    rc, out, err = run_retain(growing.target, f"retain report --json --html {path} --top 3")
    assert rc == 0, f"{out}\n{err}"
    (doc,) = json_lines(out)
    assert "wrote" not in out, out
    assert embedded_data(parse_html(path.read_text())) == doc
    assert doc["leaks"]["leaked_bytes"] == growing.target.truth["leaked_bytes"]


def test_html_errors(growing, tmp_path):
    for args, word in ((f"--html {tmp_path}/no/such/dir/r.html", "cannot write"),
                       ("--html", "--html"),
                       (f"--json {tmp_path}/r --html {tmp_path}/r", "different files")):
        rc, out, err = run_retain(growing.target, f"retain report {args}")
        assert rc == 1, f"`retain report {args}`: status {rc}\n{out}\n{err}"
        lines = [l for l in err.splitlines() if l.startswith("retain:")]
        assert len(lines) == 1 and word in lines[0], err
    assert not (tmp_path / "r").exists()


# ---- escaping (no gdb) -------------------------------------------------------------

HOSTILE = '</script><script>document.title="pwned"</script><!-- <img src=x onerror=alert(1)> &amp;'


def test_hostile_names_stay_text(tmp_path):
    """Type names, chains and paths go into the page as text, whatever they
    hold: the page renders, nothing is injected, the data reads back."""
    require_chromium()
    root = {"kind": "global", "name": "g_" + HOSTILE, "addr": "0x1000", "offset": 0, "thread": None,
            "frame": None, "type": HOSTILE + " *", "precise": True, "objfile": "/tmp/" + HOSTILE}
    entry = {"rank": 1, "block": "0x2000", "size": 24, "retained": 48, "count": 1, "type": HOSTILE,
             "chain": "global g_%s => 0x2000" % HOSTILE, "root": root}
    doc = {"schema": "retain/1", "command": "report", "top_n": 1,
           "stats": {"blocks": {"in_use": 2, "free": 0}, "bytes": {"in_use": 48, "free": 0}, "source": "core",
                     "roots": {"global": 1}, "heap": {"kind": HOSTILE}, "missing": []},
           "top": {by: {"by": by, "entries": [entry], "reachable_bytes": 48} for by in ("block", "type", "root")},
           "histogram": {"rows": [{"type": HOSTILE, "size": None, "count": 2, "bytes": 48}],
                         "typed_blocks": 2, "blocks": 2},
           "leaks": {"leaked_blocks": 1, "leaked_bytes": 24, "groups": [],
                     "roots": [{"kind": "block", "blocks": ["0x3000"], "type": HOSTILE, "size": 24,
                                "own_bytes": 24, "total_bytes": 24, "held_blocks": 0}]},
           "incomplete": True, "warnings": [HOSTILE]}
    text = retain_html.render_html(doc)
    assert text.count("</script>") == 2 and "<!--" not in text   # the data's and the code's own ends only
    path = tmp_path / "hostile.html"
    path.write_text(text)
    assert embedded_data(parse_html(text)) == doc
    dom = render_dom(tmp_path, path)
    assert title(dom) == "retain report (core) - ready"
    assert not dom.find_all("img")
    assert [r.attrs["data-type"] for r in dom.find_all("tr", cls="hist-row")] == [HOSTILE]
    assert HOSTILE in dom.find("details", cls="entry", data_by="block").find("pre", cls="chain").text()
    assert HOSTILE in dom.find(id="warnings").text()
