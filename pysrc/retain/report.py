"""retain report | check | diff: one saved document of the whole heap, CI
conditions on it, and what grew between two saved documents."""

import argparse
import json

import gdb

import _retain

from . import commands, engine, heapwide, html, render, sizes, views
from .errors import RetainError

DEFAULT_TOP = 20
NO_PATH_CAP = 10000   # blocks checked per --no-path-from condition


def _top_args(by, n, type_pattern=None):
    return argparse.Namespace(by=by, n=n, type=type_pattern, root=None, exclude_root=None)


# ---- report ------------------------------------------------------------------------

def report_body(analysis, n):
    """stats, top by block/type/root (n each), histogram, leaks; on a Go
    heap, the small views that pin the top blocks."""
    stats, stats_lines = commands.stats_body(analysis)
    body = {"stats": stats, "top": {}}
    lines = ["== stats"] + stats_lines
    for by in ("block", "type", "root"):
        top, top_lines = heapwide.top(analysis, _top_args(by, n))
        body["top"][by] = top
        lines += ["", "== top %d by %s" % (n, by)] + top_lines
    hist, hist_lines = heapwide.histogram(analysis, None, "bytes")
    body["histogram"] = hist
    shown = hist_lines[1:-1]
    lines += ["", "== histogram (largest %d of %d rows)" % (min(n, len(shown)), len(shown)),
              hist_lines[0]] + shown[:n] + [hist_lines[-1]]
    leaks, leak_lines = heapwide.leaks(analysis, argparse.Namespace(type=None))
    body["leaks"] = leaks
    by_type = leak_lines.index("by type:") if "by type:" in leak_lines else len(leak_lines)
    lines += ["", "== leaks"] + leak_lines[:min(by_type, n + 2)]
    if by_type > n + 2:
        lines.append("  ... and %d more leak roots ('retain leaks' lists them all)" % (by_type - n - 2))
    lines += leak_lines[by_type:by_type + n + 1]
    if stats["heap"]["kind"] == "go":
        body["views"] = views.report_views(analysis.session, n)
        lines += ["", "== small views pinning big objects (among the %d largest objects)" % n]
        for v in body["views"]:
            for view in v["views"]:
                lines.append("  %s (%d bytes, %s) held by %s: %s" % (
                    v["block"], v["size"], v["type"] or "?", view["holder"], render.view_text(view)))
        if not body["views"]:
            lines.append("  none")
    return body, lines


class ReportCommand(commands._RetainCommand):
    """Everything about the heap in one document.

Usage: retain report [--json [FILE]] [--html FILE] [--top N]

Stats, the top N (default 20) retainers by block, type and root with their
chains, the histogram and the leaks. --json FILE writes the document
(schema retain/1, command "report") to FILE and prints where; --json alone
prints it. --html FILE writes the same report as one self-contained HTML
page to open in a browser (no network needed): the top retainers as a tree
whose rows expand to their chains, a sortable histogram, the leaks. --json
and --html may be given together (with --json alone, only the JSON is
printed). Two saved reports compare with 'retain diff OLD NEW'."""

    name = "report"
    options = ("--json", "--html", "--top")

    def run(self, argv, from_tty):
        p = commands._Parser(prog="retain report", add_help=False)
        p.add_argument("--json", nargs="?", const="-", metavar="FILE")
        p.add_argument("--html", metavar="FILE")
        p.add_argument("--top", type=int, default=DEFAULT_TOP)
        args = p.parse_args(argv)
        if args.top < 1:
            raise RetainError("retain report: --top must be at least 1")
        if args.html == "":
            raise RetainError("retain report: --html needs a FILE")
        if args.html is not None and args.html == args.json:
            raise RetainError("retain report: --json and --html need different files")
        to_stdout = args.json == "-"   # then the JSON must be all that is printed
        analysis = engine.current(progress=not to_stdout)
        body, lines = report_body(analysis, args.top)
        body["top_n"] = args.top
        obj = render.envelope("report", body, analysis)
        # files first, so that a file that cannot be written fails the
        # command before anything goes to stdout
        if args.json not in (None, "-"):
            _write(args.json, render.dumps(obj) + "\n")
            gdb.write("retain report: wrote %s\n" % args.json)
        if args.html is not None:
            _write(args.html, html.render_html(obj))
            if not to_stdout:
                gdb.write("retain report: wrote %s\n" % args.html)
        if to_stdout:
            gdb.write(render.dumps(obj) + "\n")
        elif args.json is None and args.html is None:
            gdb.write("\n".join(lines + commands._warning_lines(obj)) + "\n")


def _write(path, text):
    try:
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
    except OSError as e:
        raise RetainError("retain report: cannot write %s: %s" % (path, e.strerror or e)) from None


# ---- check -------------------------------------------------------------------------

def _size(option, text):
    try:
        return sizes.parse_size(text)
    except ValueError as e:
        raise RetainError("retain check: %s: %s" % (option, e)) from None


def _validate(option, pattern):
    heapwide.match(option, pattern, ["x"])   # raises RetainError on a bad pattern


def _type_retained(analysis, pattern):
    """Retained bytes of the blocks whose type matches (per type, without
    counting a block twice, as top --by type), summed; and the largest."""
    s = analysis.session
    groups, _ = heapwide.root_groups(s, None, None)
    _retain.dominators(s, groups=groups)
    names = _retain.type_index(s)
    keep = set(heapwide.match("--max-retained", pattern, names))
    totals = s.type_totals()
    rows = [(names[v], t) for v, t in enumerate(totals) if names[v] is not None and v in keep and t[0]]
    rows.sort(key=lambda r: (-r[1][2], r[0]))
    return sum(t[2] for _, t in rows), rows


def _chain(s, addr, root=None):
    paths, _ = s.paths(addr, n=1, root=root)
    if not paths:
        return None
    return render.chain_line(paths[0]["root"], paths[0]["hops"])


def check_max_retained(analysis, spec):
    pattern, sep, limit_text = spec.rpartition("=")
    if not sep or not pattern:
        raise RetainError("retain check: --max-retained takes TYPE_REGEX=SIZE, not '%s'" % spec)
    limit = _size("--max-retained", limit_text)
    _validate("--max-retained", pattern)
    value, rows = _type_retained(analysis, pattern)
    cond = {"kind": "max-retained", "spec": spec, "ok": value <= limit, "value": value, "limit": limit,
            "chain": None}
    lines = ["retained by types matching /%s/: %d bytes (limit %d)" % (pattern, value, limit)]
    if not cond["ok"]:
        for name, (count, _shallow, retained, largest) in rows[:5]:
            lines.append("  %s: %d blocks retain %d bytes" % (name, count, retained))
        if rows and rows[0][1][3] is not None:
            cond["chain"] = _chain(analysis.session, rows[0][1][3])
            if cond["chain"]:
                lines.append("  largest %s is held by: %s" % (rows[0][0], cond["chain"]))
    return cond, lines


def check_max_leaked(analysis, spec):
    limit = _size("--max-leaked", spec)
    body, _ = heapwide.leaks(analysis, argparse.Namespace(type=None))
    value = body["leaked_bytes"]
    cond = {"kind": "max-leaked", "spec": spec, "ok": value <= limit, "value": value, "limit": limit,
            "chain": None}
    lines = ["leaked: %d bytes in %d blocks (limit %d)" % (value, body["leaked_blocks"], limit)]
    if not cond["ok"]:
        for g in body["groups"][:5]:
            lines.append("  %d bytes in %d leak root%s of %s" % (
                g["total_bytes"], g["roots"], "" if g["roots"] == 1 else "s",
                g["type"] or "(unknown, %d bytes)" % g["size"]))
        if body["roots"]:
            r = body["roots"][0]
            cond["chain"] = "(unreachable) => %s %s" % (r["blocks"][0], r["type"] or "(%d bytes)" % r["size"])
            lines.append("  largest leak root: %s (no root reaches it; see 'retain leaks')" % r["blocks"][0])
    return cond, lines


def check_no_path(analysis, root_pattern, type_pattern):
    _validate("--no-path-from", root_pattern)
    s = analysis.session
    names = _retain.type_index(s)
    views = [v for v in heapwide.match("--to", type_pattern, names) if names[v] is not None]
    addrs = list(_retain.blocks_with_types(s, views)) if views else []
    capped = len(addrs) > NO_PATH_CAP
    checked = addrs[:NO_PATH_CAP]
    spec = "%s -> %s" % (root_pattern, type_pattern)
    cond = {"kind": "no-path", "spec": spec, "ok": True, "value": 0, "limit": 0, "chain": None,
            "checked": len(checked), "blocks": len(addrs)}
    offending = None
    for addr in checked:
        paths, _ = s.paths(addr, n=1, root=root_pattern)
        if paths:
            cond["value"] += 1
            if offending is None:
                offending = render.chain_line(paths[0]["root"], paths[0]["hops"])
    cond["ok"] = cond["value"] == 0
    cond["chain"] = offending
    lines = ["blocks of types matching /%s/ reachable from roots matching /%s/: %d of %d checked%s" % (
        type_pattern, root_pattern, cond["value"], len(checked),
        " (capped: only the first %d of %d blocks were checked)" % (NO_PATH_CAP, len(addrs)) if capped else "")]
    if offending:
        lines.append("  for example: %s" % offending)
    return cond, lines


class CheckCommand(commands._RetainCommand):
    """Check conditions on the heap, for CI: fails when one is violated.

Usage: retain check [--max-retained 'TYPE_REGEX=SIZE' ...] [--max-leaked SIZE]
                    [--no-path-from ROOT_REGEX --to TYPE_REGEX ...] [--json]

--max-retained: the bytes retained by blocks whose type matches (as
'retain top --by type' counts them, summed over the matching types) must
not exceed SIZE. --max-leaked: the bytes of leaked blocks must not exceed
SIZE. --no-path-from R --to T: no block of a type matching T may be
reachable from a root whose name matches R (at most the first 10000 such
blocks are checked, and the answer says so). SIZE: bytes, or 64K, 512M, 2G.
Every option may be repeated. A violated condition prints why (with a
chain) and makes the command fail: `gdb -batch` exits 1 when it is the last
command (or at once with `set retain exit-on-error on`)."""

    name = "check"
    options = ("--max-retained", "--max-leaked", "--no-path-from", "--to", "--json")

    def run(self, argv, from_tty):
        p = commands._parser("retain check")
        p.add_argument("--max-retained", action="append", default=[], metavar="TYPE_REGEX=SIZE")
        p.add_argument("--max-leaked", action="append", default=[], metavar="SIZE")
        p.add_argument("--no-path-from", action="append", default=[], metavar="ROOT_REGEX")
        p.add_argument("--to", action="append", default=[], metavar="TYPE_REGEX")
        args = p.parse_args(argv)
        if len(args.no_path_from) != len(args.to):
            raise RetainError("retain check: each --no-path-from ROOT_REGEX needs one --to TYPE_REGEX")
        if not (args.max_retained or args.max_leaked or args.no_path_from):
            raise RetainError("retain check: give at least one condition (see 'help retain check')")
        # bad sizes and patterns fail before the (slow) analysis
        for spec in args.max_retained:
            pattern, sep, limit = spec.rpartition("=")
            if not sep or not pattern:
                raise RetainError("retain check: --max-retained takes TYPE_REGEX=SIZE, not '%s'" % spec)
            _size("--max-retained", limit)
            _validate("--max-retained", pattern)
        for spec in args.max_leaked:
            _size("--max-leaked", spec)
        for r, t in zip(args.no_path_from, args.to):
            _validate("--no-path-from", r)
            _validate("--to", t)
        analysis = engine.current(progress=not args.json)
        results = []
        for spec in args.max_retained:
            results.append(check_max_retained(analysis, spec))
        for spec in args.max_leaked:
            results.append(check_max_leaked(analysis, spec))
        for r, t in zip(args.no_path_from, args.to):
            results.append(check_no_path(analysis, r, t))
        conds = [c for c, _ in results]
        failed = [c for c in conds if not c["ok"]]
        obj = render.envelope("check", {"ok": not failed, "conditions": conds}, analysis)
        if args.json:
            gdb.write(render.dumps(obj) + "\n")
        else:
            lines = []
            for c, clines in results:
                lines.append("%s %s: %s" % ("FAIL" if not c["ok"] else "ok  ", c["kind"], c["spec"]))
                lines += ["  " + l for l in clines]
            if not failed:
                lines.append("retain check: the condition holds" if len(conds) == 1 else
                             "retain check: all %d conditions hold" % len(conds))
            gdb.write("\n".join(lines + commands._warning_lines(obj)) + "\n")
        if failed:
            raise RetainError("check failed: %d of %d condition%s violated (%s)" % (
                len(failed), len(conds), "" if len(conds) == 1 else "s",
                ", ".join("%s %s" % (c["kind"], c["spec"]) for c in failed)))


# ---- diff --------------------------------------------------------------------------

def _load(path):
    try:
        with open(path) as f:
            doc = json.load(f)
    except OSError as e:
        raise RetainError("retain diff: cannot read %s: %s" % (path, e.strerror or e)) from None
    except (ValueError, UnicodeDecodeError) as e:
        raise RetainError("retain diff: %s is not JSON: %s" % (path, e)) from None
    if not isinstance(doc, dict) or doc.get("schema") != render.SCHEMA or doc.get("command") != "report":
        raise RetainError("retain diff: %s is not a 'retain report --json' file" % path)
    try:
        hist = {(r["type"], None if r["type"] else r["size"]): r for r in doc["histogram"]["rows"]}
        roots = {}
        for e in doc["top"]["root"]["entries"]:   # unnamed roots of a kind add up
            r = roots.setdefault(_root_key(e), {"retained": 0, "count": 0})
            r["retained"] += e["retained"]
            r["count"] += e["count"]
        types = {e["type"]: e for e in doc["top"]["type"]["entries"]}
    except (KeyError, TypeError) as e:
        raise RetainError("retain diff: %s is not a complete report (%s)" % (path, e)) from None
    return hist, roots, types


def _root_key(entry):
    """'global g_cache'; unnamed roots (conservative words) by kind and thread,
    since their addresses differ from one run to the next."""
    r = entry["root"] or {}
    if r.get("name"):
        return "%s %s" % (r.get("kind"), r["name"])
    return "%s (unnamed%s)" % (r.get("kind"), ", thread %s" % r["thread"] if r.get("thread") is not None else "")


def diff_body(old, new):
    (h0, r0, t0), (h1, r1, t1) = old, new
    types = []
    for key in set(h0) | set(h1):
        a, b = h0.get(key, {}), h1.get(key, {})
        row = {"type": key[0], "size": key[1], "count_old": a.get("count", 0), "count_new": b.get("count", 0),
               "bytes_old": a.get("bytes", 0), "bytes_new": b.get("bytes", 0)}
        row["delta_count"] = row["count_new"] - row["count_old"]
        row["delta_bytes"] = row["bytes_new"] - row["bytes_old"]
        if row["delta_bytes"] > 0 or row["delta_count"] > 0:
            types.append(row)
    types.sort(key=lambda r: (-r["delta_bytes"], -r["delta_count"], r["type"] or "", r["size"] or 0))
    roots = []
    for key in set(r0) | set(r1):
        a, b = r0.get(key, {}), r1.get(key, {})
        row = {"root": key, "retained_old": a.get("retained", 0), "retained_new": b.get("retained", 0),
               "count_old": a.get("count", 0), "count_new": b.get("count", 0)}
        row["delta_bytes"] = row["retained_new"] - row["retained_old"]
        if row["delta_bytes"] > 0:
            roots.append(row)
    roots.sort(key=lambda r: (-r["delta_bytes"], r["root"]))
    retained = []
    for key in set(t0) | set(t1):
        a, b = t0.get(key, {}), t1.get(key, {})
        row = {"type": key, "retained_old": a.get("retained", 0), "retained_new": b.get("retained", 0),
               "count_old": a.get("count", 0), "count_new": b.get("count", 0), "chain": b.get("chain")}
        row["delta_count"] = row["count_new"] - row["count_old"]
        row["delta_bytes"] = row["retained_new"] - row["retained_old"]
        if row["delta_bytes"] > 0:
            retained.append(row)
    retained.sort(key=lambda r: (-r["delta_bytes"], r["type"] or ""))
    return {"types": types, "roots": roots, "retained": retained}


def diff_lines(body, n):
    def label(r):
        return r["type"] or "(unknown, %d bytes)" % r["size"]
    lines = ["types that grew (histogram):"]
    lines += ["  %+14d bytes %+8d blocks  %s  (%d -> %d blocks)" % (
        r["delta_bytes"], r["delta_count"], label(r), r["count_old"], r["count_new"]) for r in body["types"][:n]]
    lines.append("retained by type that grew (top by type):")
    lines += ["  %+14d bytes %+8d blocks  %s" % (r["delta_bytes"], r["delta_count"], r["type"])
              for r in body["retained"][:n]]
    lines.append("retained by root that grew (top by root):")
    lines += ["  %+14d bytes  %s" % (r["delta_bytes"], r["root"]) for r in body["roots"][:n]]
    if not (body["types"] or body["retained"] or body["roots"]):
        lines.append("nothing grew")
    return lines


class DiffCommand(commands._RetainCommand):
    """Show what grew between two saved reports of the same program.

Usage: retain diff OLD.json NEW.json [--top N] [--json]

OLD and NEW are files written by 'retain report --json FILE'. Lists the
types whose count or bytes grew (from the histograms), the types whose
retained bytes grew (top by type) and the roots whose retained bytes grew
(top by root; only entries in either report's top N), biggest growth
first. Needs no program or core."""

    name = "diff"
    options = ("--top", "--json")

    def complete(self, text, word):
        if word and word.startswith("-"):
            return [o for o in self.options if o.startswith(word)]
        return gdb.COMPLETE_FILENAME

    def run(self, argv, from_tty):
        p = commands._parser("retain diff")
        p.add_argument("files", nargs="*")
        p.add_argument("--top", type=int, default=DEFAULT_TOP)
        args = p.parse_args(argv)
        if len(args.files) != 2:
            raise RetainError("retain diff: give two report files, OLD.json NEW.json (see 'help retain diff')")
        body = diff_body(_load(args.files[0]), _load(args.files[1]))
        obj = render.envelope("diff", dict(old=args.files[0], new=args.files[1], **body), None)
        commands._emit(args, diff_lines(body, max(args.top, 1)), obj)


def register():
    ReportCommand()
    CheckCommand()
    DiffCommand()
