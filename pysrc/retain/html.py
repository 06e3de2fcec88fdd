"""retain report --html: the report document as one self-contained HTML page.

The page needs no network: CSS and JavaScript are inline and the whole
report document (the dict 'retain report --json' writes, docs/json-schema.md)
is embedded as JSON in <script type="application/json" id="retain-data">.
Python renders a static summary, which is all a browser without JavaScript
shows; the script renders the rest from the embedded JSON (top retainers as
a tree of expandable rows, a sortable histogram, the leaks) and then sets
document.title to "... - ready" (tests wait for that).

Stable hooks for tests and scripts: top-retainer rows are
<details class="entry" data-by="block|type|root" data-rank data-addr
data-type data-retained data-root>, each holding its chain in <pre
class="chain">; histogram rows are <tr class="hist-row" data-type data-size
data-count data-bytes>; leak roots are <tr class="leak-root" data-addr
data-type>.
"""

import html
import json

_CSS = """
body { font-family: sans-serif; margin: 1.5em 2em; color: #1d2430; background: #fbfbfd; }
h1 { font-size: 1.6em; margin: 0 0 .2em 0; }
h2 { font-size: 1.25em; margin: 1.6em 0 .5em 0; border-bottom: 2px solid #c9d3e3; padding-bottom: .2em; }
h3 { font-size: 1.05em; margin: 1.1em 0 .4em 0; }
.meta { color: #556; margin-bottom: 1em; }
.cards { display: flex; flex-wrap: wrap; gap: .7em; }
.card { background: #fff; border: 1px solid #d5dbe6; border-radius: 6px; padding: .5em .9em; min-width: 10em; }
.card .k { color: #556; font-size: .85em; }
.card .v { font-size: 1.25em; font-weight: bold; }
.card .s { color: #667; font-size: .85em; }
table { border-collapse: collapse; background: #fff; margin: .3em 0; }
th, td { border: 1px solid #d5dbe6; padding: .25em .6em; text-align: left; }
th { background: #eef2f8; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th:hover, table.sortable th:focus { background: #dde5f2; }
th.asc::after { content: " \\25B2"; }
th.desc::after { content: " \\25BC"; }
.warn { background: #fff4e0; border: 1px solid #e8b85c; border-radius: 6px; padding: .5em .9em; }
.error { background: #fde8e8; border: 1px solid #d66; border-radius: 6px; padding: .5em .9em; }
.ok { color: #2a7a2a; }
.tools { margin: .3em 0 .6em 0; }
.tools button, .tools input { font-size: .9em; margin-right: .4em; }
details { margin: .15em 0; }
details > summary { cursor: pointer; padding: .2em .3em; border-radius: 4px; }
details > summary:hover { background: #eef2f8; }
details.group > summary { font-weight: bold; }
.entries { margin-left: 1.4em; }
.row { display: inline-flex; align-items: center; gap: .7em; }
.rank { display: inline-block; min-width: 2.2em; }
.bytes { display: inline-block; min-width: 9.5em; text-align: right; font-weight: bold;
         font-variant-numeric: tabular-nums; }
.human { display: inline-block; min-width: 6.5em; }
.bar { display: inline-block; width: 120px; height: .7em; background: #e4e8ef; border-radius: 3px; overflow: hidden; }
.bar > span { display: block; height: 100%; background: #4a78c2; }
.type, code, pre { font-family: monospace; }
.dim { color: #667; }
.detail { margin: .2em 0 .6em 2.2em; }
pre.chain { background: #f2f4f8; border: 1px solid #d5dbe6; border-radius: 4px; padding: .4em .6em;
            white-space: pre-wrap; word-break: break-all; margin: .3em 0; }
"""

# Renders everything below the summary from the embedded JSON. Strings from
# the report (type names, chains, paths) only ever go into textContent or
# attribute values, never into innerHTML.
_JS = r"""
(function () {
  "use strict";
  var LEAK_ROOTS_SHOWN = 200;   // 'retain leaks' lists them all
  var doc;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    for (var k in (attrs || {})) {
      var v = attrs[k];
      if (v === null || v === undefined) continue;
      if (k === "text") e.textContent = String(v);
      else if (k === "class") e.className = v;
      else e.setAttribute(k, String(v));
    }
    (children || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    });
    return e;
  }
  function num(n) {
    return n === null || n === undefined ? "-" : String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  }
  function human(n) {
    if (n === null || n === undefined || n < 1024) return "";
    var units = ["KiB", "MiB", "GiB", "TiB"], i = -1;
    do { n /= 1024; i++; } while (n >= 1024 && i < units.length - 1);
    return "(" + n.toFixed(1) + " " + units[i] + ")";
  }
  function plural(n, word) { return num(n) + " " + word + (n === 1 ? "" : "s"); }
  function typeLabel(type, size) { return type || "(unknown, " + num(size) + " bytes)"; }
  function rootLabel(r) {
    if (!r) return "(no root)";
    if (r.name) return r.kind + " " + r.name;
    var extra = [];
    if (r.thread !== null && r.thread !== undefined) extra.push("thread " + r.thread);
    if (r.frame && r.frame.function) extra.push("in " + r.frame.function);
    return r.kind + (r.addr ? " at " + r.addr : "") + (extra.length ? " (" + extra.join(", ") + ")" : "");
  }
  function bytesCell(n) {
    return [el("span", {"class": "bytes", text: num(n) + " bytes"}), el("span", {"class": "dim human", text: human(n)})];
  }
  function bar(value, total) {
    var pct = total && value ? Math.min(100, 100 * value / total) : 0;
    return el("span", {"class": "bar", title: pct.toFixed(1) + "% of reachable bytes"},
              [el("span", {style: "width:" + pct.toFixed(1) + "%"})]);
  }

  // What expanding a row shows: its root, and the chain from that root.
  function rootDetail(e) {
    var r = e.root, parts = [];
    if (!r) return el("div", {"class": "dim root", text: "no root reaches it"});
    parts.push(el("b", {text: "root "}), el("span", {"class": "root-name", text: rootLabel(r)}));
    if (r.type) parts.push(" \u00b7 ", el("span", {"class": "type", text: r.type}));
    if (r.addr) parts.push(" \u00b7 at ", el("code", {text: r.addr}));
    parts.push(" \u00b7 " + (r.precise ? "precise" : "conservative (a word that looks like a pointer)"));
    if (r.frame) {
      var f = r.frame;
      parts.push(" \u00b7 frame " + f.level + (f.function ? " " + f.function : "") +
                 (f.file ? " at " + f.file + (f.line ? ":" + f.line : "") : ""));
    }
    if (r.objfile) parts.push(" \u00b7 ", el("span", {"class": "dim", text: r.objfile}));
    return el("div", {"class": "root"}, parts);
  }

  function entry(e, by, total) {
    var label;
    if (by === "block") {
      label = [el("span", {"class": "type", text: typeLabel(e.type, e.size)}), " ",
               el("code", {text: e.block}), el("span", {"class": "dim", text: " (" + num(e.size) + " bytes)"})];
    } else if (by === "type") {
      label = [el("span", {"class": "type", text: e.type}), " ",
               el("span", {"class": "dim", text: plural(e.count, "block") + ", " + num(e.size) + " bytes"})];
    } else {
      label = [el("span", {text: rootLabel(e.root)}), " ",
               el("span", {"class": "dim", text: "keeps " + plural(e.count, "block") + " alive"})];
    }
    var body = [rootDetail(e)];
    if (by === "type" && e.block)
      body.push(el("div", {text: "largest block: " + e.block + " (its chain below)"}));
    body.push(el("pre", {"class": "chain", text: e.chain || "(no chain)"}));
    return el("details", {"class": "entry", "data-by": by, "data-rank": e.rank, "data-addr": e.block || "",
                          "data-type": e.type || "", "data-retained": e.retained, "data-count": e.count,
                          "data-root": rootLabel(e.root)}, [
      el("summary", {}, [el("span", {"class": "row"}, [el("span", {"class": "dim rank", text: "#" + e.rank})]
                                                    .concat(bytesCell(e.retained), [bar(e.retained, total)], label))]),
      el("div", {"class": "detail"}, body)]);
  }

  function topSection(by) {
    var top = (doc.top || {})[by] || {}, entries = top.entries || [], total = top.reachable_bytes;
    var box = document.getElementById("top-" + by);
    box.textContent = "";
    box.appendChild(el("h3", {text: "Top " + entries.length + " by " + by}));
    if (!entries.length) { box.appendChild(el("p", {"class": "dim", text: "none"})); return; }
    if (by !== "block") {
      entries.forEach(function (e) { box.appendChild(entry(e, by, total)); });
      return;
    }
    // By block, as a tree: each root, then the top blocks whose chain starts
    // at it, largest first. (Retained sizes under one root may nest, e.g. the
    // head of a list retains the rest, so a group's sizes are not summed.)
    var groups = [], byRoot = {};
    entries.forEach(function (e) {
      var k = rootLabel(e.root);
      if (!byRoot[k]) { byRoot[k] = []; groups.push(k); }
      byRoot[k].push(e);
    });
    groups.forEach(function (k, i) {
      var es = byRoot[k], rows = es.map(function (e) { return entry(e, by, total); });
      if (i === 0) rows[0].open = true;   // show what a row holds: the largest one, expanded
      box.appendChild(el("details", {"class": "group", open: "", "data-root": k}, [
        el("summary", {}, [k + " ", el("span", {"class": "dim", text: "(" + es.length + " of the top " +
                                                entries.length + ", largest retains " + num(es[0].retained) +
                                                " bytes)"})]),
        el("div", {"class": "entries"}, rows)]));
    });
  }

  // A table whose rows sort when a header is clicked (numbers by data-sort).
  function sortable(table) {
    var ths = table.querySelectorAll("thead th");
    Array.prototype.forEach.call(ths, function (th, col) {
      th.tabIndex = 0;
      th.title = "click to sort";
      function sort() {
        var asc = !th.classList.contains("asc");
        Array.prototype.forEach.call(ths, function (h) { h.classList.remove("asc", "desc"); });
        th.classList.add(asc ? "asc" : "desc");
        var numeric = th.classList.contains("num"), tbody = table.tBodies[0];
        var rows = Array.prototype.slice.call(tbody.rows);
        rows.sort(function (a, b) {
          var x = a.cells[col].getAttribute("data-sort"), y = b.cells[col].getAttribute("data-sort"), c;
          if (numeric) c = (parseFloat(x) || 0) - (parseFloat(y) || 0);
          else c = x < y ? -1 : x > y ? 1 : 0;
          return asc ? c : -c;
        });
        rows.forEach(function (r) { tbody.appendChild(r); });
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (ev) { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); sort(); } });
    });
  }
  function cell(text, sortKey, cls) {
    return el("td", {"class": cls || null, "data-sort": sortKey, text: text});
  }
  function table(id, heads, rows) {
    return el("table", {"class": "sortable", id: id}, [
      el("thead", {}, [el("tr", {}, heads.map(function (h) {
        return el("th", {"class": h[1] ? "num" : null, text: h[0]});
      }))]),
      el("tbody", {}, rows)]);
  }

  function histogram() {
    var h = doc.histogram || {}, rows = h.rows || [];
    var box = document.getElementById("histogram-body");
    box.textContent = "";
    box.appendChild(el("p", {"class": "dim", text: plural(rows.length, "row") + "; " + num(h.typed_blocks) +
                             " of " + num(h.blocks) + " blocks typed; click a header to sort"}));
    var filter = el("input", {type: "search", placeholder: "filter types (regex)", id: "histogram-filter"});
    box.appendChild(el("div", {"class": "tools"}, [filter]));
    var t = table("histogram-table", [["type"], ["size", 1], ["count", 1], ["bytes", 1]], rows.map(function (r) {
      return el("tr", {"class": "hist-row", "data-type": r.type || "", "data-size": r.size, "data-count": r.count,
                       "data-bytes": r.bytes}, [
        cell(typeLabel(r.type, r.size), r.type || "", "type"), cell(num(r.size), r.size || 0, "num"),
        cell(num(r.count), r.count, "num"), cell(num(r.bytes), r.bytes, "num")]);
    }));
    box.appendChild(t);
    sortable(t);
    filter.addEventListener("input", function () {
      var re;
      try { re = new RegExp(filter.value); filter.style.outline = ""; }
      catch (err) { filter.style.outline = "2px solid #d66"; return; }
      Array.prototype.forEach.call(t.tBodies[0].rows, function (tr) {
        tr.hidden = !re.test(tr.cells[0].textContent);
      });
    });
  }

  function leaks() {
    var lk = doc.leaks || {}, box = document.getElementById("leaks-body");
    box.textContent = "";
    var groups = lk.groups || [], roots = lk.roots || [];
    if (groups.length) {
      box.appendChild(el("h3", {text: "By type"}));
      var g = table("leak-groups", [["type"], ["leak roots", 1], ["bytes", 1]], groups.map(function (r) {
        return el("tr", {"class": "leak-group", "data-type": r.type || "", "data-bytes": r.total_bytes}, [
          cell(typeLabel(r.type, r.size), r.type || "", "type"), cell(num(r.roots), r.roots, "num"),
          cell(num(r.total_bytes), r.total_bytes, "num")]);
      }));
      box.appendChild(g);
      sortable(g);
    }
    if (roots.length) {
      box.appendChild(el("h3", {text: "Leak roots"}));
      box.appendChild(el("p", {"class": "dim", text: "a leaked block (or cycle) that no other leaked block " +
                                                       "points to, with everything it alone holds"}));
      var t = table("leak-roots", [["kind"], ["block"], ["type"], ["own bytes", 1], ["total bytes", 1],
                                   ["blocks held", 1]], roots.slice(0, LEAK_ROOTS_SHOWN).map(function (r) {
        var blocks = r.blocks || [];
        return el("tr", {"class": "leak-root", "data-addr": blocks[0] || "", "data-type": r.type || "",
                         "data-kind": r.kind, "data-bytes": r.total_bytes}, [
          cell(r.kind, r.kind), cell(blocks.join(" "), blocks[0] || ""),
          cell(typeLabel(r.type, r.size), r.type || "", "type"), cell(num(r.own_bytes), r.own_bytes, "num"),
          cell(num(r.total_bytes), r.total_bytes, "num"), cell(num(r.held_blocks), r.held_blocks, "num")]);
      }));
      box.appendChild(t);
      sortable(t);
      if (roots.length > LEAK_ROOTS_SHOWN)
        box.appendChild(el("p", {"class": "dim", text: "... and " + num(roots.length - LEAK_ROOTS_SHOWN) +
                                                       " more leak roots ('retain leaks' lists them all)"}));
    }
  }

  function setOpen(open) {
    Array.prototype.forEach.call(document.querySelectorAll("#top details.entry"), function (d) { d.open = open; });
  }

  try {
    doc = JSON.parse(document.getElementById("retain-data").textContent);
    ["block", "type", "root"].forEach(topSection);
    var tools = document.getElementById("top-tools");
    tools.appendChild(el("button", {type: "button", id: "expand-all", text: "expand all"}));
    tools.appendChild(el("button", {type: "button", id: "collapse-all", text: "collapse all"}));
    document.getElementById("expand-all").addEventListener("click", function () { setOpen(true); });
    document.getElementById("collapse-all").addEventListener("click", function () { setOpen(false); });
    histogram();
    leaks();
    document.title = document.title + " - ready";
  } catch (err) {
    // Say so on the page (and in the title) rather than show half a report.
    var box = document.getElementById("render-error");
    box.hidden = false;
    box.textContent = "This page could not be rendered: " + err;
    document.title = document.title + " - error";
  }
})();
"""


def _e(x):
    return html.escape("" if x is None else str(x), quote=True)


def _n(x):
    return "-" if x is None else "{:,}".format(x)


def human(n):
    """'23.8 MiB' (None below 1 KiB, where the exact count says it all)."""
    if n is None or n < 1024:
        return None
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024.0
        if n < 1024 or unit == "TiB":
            return "%.1f %s" % (n, unit)


def embed_json(obj):
    """JSON that is safe inside <script type="application/json">: '<', '>'
    and '&' become \\u escapes (JSON.parse turns them back), so no '</script'
    or '<!--' in a type name or path can end or confuse the element."""
    text = json.dumps(obj, separators=(",", ":"))   # ASCII: other characters are \u escapes
    for ch, esc in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(ch, esc)
    return text


def _card(k, v, sub=None):
    return '<div class="card"><div class="k">%s</div><div class="v">%s</div><div class="s">%s</div></div>' % (
        _e(k), _e(v), _e(sub or ""))


def _summary(doc):
    """The static part: what the page shows even without JavaScript."""
    st = doc.get("stats") or {}
    blocks, byt = st.get("blocks") or {}, st.get("bytes") or {}
    lk = doc.get("leaks") or {}
    cards = [
        _card("blocks in use", _n(blocks.get("in_use"))),
        _card("bytes in use", _n(byt.get("in_use")), human(byt.get("in_use"))),
        _card("free blocks", _n(blocks.get("free"))),
        _card("free bytes", _n(byt.get("free")), human(byt.get("free"))),
        _card("edges", _n(st.get("edges")), "root edges: %s" % _n(st.get("root_edges"))),
        _card("leaked bytes", _n(lk.get("leaked_bytes")), "in %s blocks" % _n(lk.get("leaked_blocks"))),
    ]
    out = ['<section id="summary"><h2>Summary</h2>', '<div class="cards">%s</div>' % "".join(cards)]
    top = ((doc.get("top") or {}).get("block") or {}).get("entries") or []
    if top:
        e = top[0]
        out.append('<p id="largest">Largest retainer: <span class="type">%s</span> <code>%s</code> retains '
                   '<b>%s bytes</b>, held by:</p><pre class="chain">%s</pre>' % (
                       _e(e.get("type") or "(unknown type)"), _e(e.get("block")), _n(e.get("retained")),
                       _e(e.get("chain") or "(no chain)")))
    roots = st.get("roots") or {}
    out.append('<h3>Root words by kind</h3><table id="roots"><thead><tr><th>kind</th><th class="num">words</th>'
               '</tr></thead><tbody>')
    out += ['<tr><td>%s</td><td class="num">%s</td></tr>' % (_e(k), _n(v)) for k, v in roots.items()]
    out.append("</tbody></table>")
    heap = st.get("heap") or {}
    if heap:
        out.append('<p class="dim">heap: %s</p>' % _e(", ".join("%s %s" % (k, v) for k, v in heap.items())))
    missing = st.get("missing") or []
    if missing:
        out.append('<p class="dim">%d range%s the core lacks: %s</p>' % (
            len(missing), "" if len(missing) == 1 else "s",
            _e(", ".join("%s-%s%s" % (m.get("start"), m.get("end"), " " + m["path"] if m.get("path") else "")
                         for m in missing))))
    warnings = doc.get("warnings") or []
    if doc.get("incomplete") or warnings:
        out.append('<div class="warn" id="warnings"><b>The answers may be incomplete:</b><ul>%s</ul></div>' %
                   "".join("<li>%s</li>" % _e(w) for w in warnings))
    else:
        out.append('<p class="ok" id="warnings">No warnings: the answers are complete.</p>')
    out.append("</section>")
    return "\n".join(out)


_NOSCRIPT = ('<noscript><p class="warn">The top retainers, the histogram and the leaks are drawn by '
             "JavaScript, which is off: the summary above is all this page can show. "
             "<code>retain report</code> prints them as text.</p></noscript>")


def _views(doc):
    """Go heaps: the small views that pin big objects (static: a short list)."""
    if "views" not in doc:
        return ""
    rows = []
    for v in doc["views"]:
        for view in v["views"]:
            rows.append('<tr class="view-row" data-addr="%s"><td>%s</td><td class="num">%s</td><td>%s</td>'
                        '<td>%s</td><td>%s len %s of %s bytes</td></tr>' % (
                            _e(v["block"]), _e(v["block"]), _n(v["size"]), _e(v["type"] or "?"),
                            _e(view["holder"]), _e(view["kind"]), _n(view["len"]), _n(view["object_size"])))
    table = ('<table><tr><th>object</th><th class="num">bytes</th><th>type</th><th>held by</th>'
             '<th>through</th></tr>%s</table>' % "".join(rows)) if rows else "<p>none among the largest objects</p>"
    return ('<section id="views"><h2>Small views pinning big objects</h2><p class="dim">A slice or string '
            'much shorter than the object it points into keeps the whole object alive.</p>%s</section>' % table)


def render_html(doc):
    """The HTML page (a str) of a report document: the dict that
    'retain report --json' writes."""
    st = doc.get("stats") or {}
    title = "retain report (%s)" % st["source"] if st.get("source") else "retain report"
    meta = "source: %s &middot; top %s &middot; schema %s" % (
        _e(st.get("source") or "?"), _e(doc.get("top_n", "?")), _e(doc.get("schema", "?")))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title>" % _e(title),
        "<style>%s</style>" % _CSS,
        "</head><body>",
        "<h1>retain report</h1>",
        '<div class="meta">%s</div>' % meta,
        '<div class="error" id="render-error" hidden></div>',
        _summary(doc),
        _NOSCRIPT,
        '<section id="top"><h2>Top retainers</h2>',
        '<p class="dim">Retained bytes: the block (or the blocks of a type, or a root) and everything only it '
        'keeps alive. Click a row for its root and the chain from that root.</p>',
        '<div class="tools" id="top-tools"></div>',
        '<div id="top-block"></div><div id="top-type"></div><div id="top-root"></div>',
        "</section>",
        '<section id="histogram"><h2>Histogram</h2><div id="histogram-body"></div></section>',
        '<section id="leaks"><h2>Leaks</h2>',
        '<p id="leak-total">%s bytes in %s blocks that no root reaches</p>' % (
            _n((doc.get("leaks") or {}).get("leaked_bytes")), _n((doc.get("leaks") or {}).get("leaked_blocks"))),
        '<div id="leaks-body"></div></section>',
        _views(doc),
        '<script type="application/json" id="retain-data">%s</script>' % embed_json(doc),
        "<script>%s</script>" % _JS,
        "</body></html>",
    ]
    # All ASCII, so the file reads the same whatever encoding writes it: the
    # JSON and the scripts already are, and the static text gets &#NNN; refs.
    return ("\n".join(parts) + "\n").encode("ascii", "xmlcharrefreplace").decode("ascii")
