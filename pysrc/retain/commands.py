"""The gdb commands: retain path | who | info | stats, and `set retain ...`."""

import argparse

import gdb

import _retain

from . import engine, export, glibc, heapwide, render, sizes, views
from .errors import RetainError

ROOT_KINDS = ("global", "stack", "register", "tls", "mapping", "goroutine", "finalizer")
C_ROOT_KINDS = ROOT_KINDS[:5]
GO_ROOT_KINDS = ("global", "goroutine", "register", "finalizer")


class _Parser(argparse.ArgumentParser):
    """argparse that reports through gdb instead of exiting."""

    def error(self, message):
        raise RetainError("%s: %s (see 'help %s')" % (self.prog, message, self.prog))

    def exit(self, status=0, message=None):
        if message:
            raise RetainError(message.strip())
        raise RetainError("%s: bad arguments" % self.prog)


def _parser(prog):
    p = _Parser(prog=prog, add_help=False)
    p.add_argument("--json", action="store_true")
    return p


def parse_address(expr):
    """A gdb expression (variable, field, cast, number) -> an address."""
    try:
        value = gdb.parse_and_eval(expr)
        code = value.type.strip_typedefs().code
        if code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION, gdb.TYPE_CODE_ARRAY) and value.address is not None:
            return int(value.address)   # a struct or array names its own storage
        return int(value) & 0xFFFFFFFFFFFFFFFF
    except gdb.error as e:
        raise RetainError("cannot evaluate '%s': %s" % (expr, e)) from None
    except (ValueError, TypeError) as e:
        raise RetainError("'%s' is not an address: %s" % (expr, e)) from None


def parse_kinds(text):
    if text is None:
        return None
    kinds = [k.strip() for k in text.split(",") if k.strip()]
    for k in kinds:
        if k not in ROOT_KINDS:
            raise RetainError("unknown root kind '%s' (kinds: %s)" % (k, ", ".join(ROOT_KINDS)))
    return kinds


def _emit(args, text_lines, json_obj):
    if args.json:
        gdb.write(render.dumps(json_obj) + "\n")
    else:
        gdb.write("\n".join(text_lines) + "\n")


def _wrote(args, written):
    if not args.json:
        gdb.write("wrote %s (%s)\n" % (written[0], written[1]))


def _lookup(analysis, addr):
    return analysis.session.lookup(addr)


def _not_in_use_message(addr, block, analysis=None):
    if block is None:
        heap = "Go" if analysis is not None and analysis.heap_method == "go-runtime" else "glibc"
        return "0x%x is not in any heap block (not a %s heap address)" % (addr, heap)
    if block["heap"] == "go":
        return "0x%x is in a free Go heap slot 0x%x (%d bytes): nothing retains it" % (
            addr, block["addr"], block["size"])
    return "0x%x is in a free heap block 0x%x (%d bytes, %s): nothing retains it" % (
        addr, block["addr"], block["size"], block["free_reason"] or "free")


def _warning_lines(obj):
    if not obj["incomplete"]:
        return []
    return ["warning: results may be incomplete: " + w for w in obj["warnings"]]


def _complete_kinds(text, word):
    """Completes the comma-separated value of --kind."""
    prefix = word.rsplit(",", 1)[-1] if word else ""
    return [k for k in ROOT_KINDS if k.startswith(prefix)]


class RetainPrefix(gdb.Command):
    """Find who keeps heap memory alive.

retain path ADDR   the shortest chains of references from roots to ADDR's block
retain path --type RE | --leaked
                   the chains of a whole set of blocks, merged into one tree
retain who ADDR    every direct referrer of ADDR's block
retain info ADDR   what ADDR is: its block, size, state, type, distance from roots
retain top [N]     what retains the most memory (--by block, type or root)
retain histogram   count and bytes per type
retain leaks       in-use blocks no root reaches, by leak root
retain stats       what the heap walk and the reference graph found
retain report      all of the above in one document (--json FILE to save it)
retain check       CI conditions (--max-retained, --max-leaked, --no-path-from)
retain diff OLD NEW  what grew between two saved reports

ADDR is any gdb expression (a number, a variable, req->msg). Add --json for
machine-readable output (schema in docs/json-schema.md). Settings:
`show retain`. In batch use a failing command fails `gdb -batch` when it
is the last one, or at once with `set retain exit-on-error on`."""

    def __init__(self):
        super().__init__("retain", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class _RetainCommand(gdb.Command):
    name = ""
    options = ("--json",)

    def __init__(self):
        super().__init__("retain " + self.name, gdb.COMMAND_DATA)

    def complete(self, text, word):
        if text.rstrip().endswith("--kind") or text.endswith("--kind "):
            return _complete_kinds(text, word)
        if word and word.startswith("-"):
            return [o for o in self.options if o.startswith(word)]
        return gdb.COMPLETE_EXPRESSION

    def invoke(self, argument, from_tty):
        try:
            self._invoke(argument, from_tty)
        except gdb.GdbError as e:
            if gdb.parameter("retain exit-on-error"):
                gdb.write("%s\n" % e, gdb.STDERR)
                gdb.flush()
                gdb.execute("set confirm off")   # quit detaches from a live process
                gdb.execute("quit 1")
            raise

    def _invoke(self, argument, from_tty):
        try:
            self.run(gdb.string_to_argv(argument), from_tty)
        except RetainError:
            raise
        except _retain.Error as e:
            raise RetainError(str(e)) from None
        except gdb.GdbError:
            raise
        except gdb.error as e:
            raise RetainError(str(e)) from None
        except KeyboardInterrupt:
            raise RetainError("interrupted") from None
        except Exception as e:  # a bug: still one line, never a traceback
            raise RetainError("internal error: %s: %s" % (type(e).__name__, e)) from None


def _scope(args, kinds):
    """' from global roots matching /g_/': which roots a search allowed."""
    words = []
    if kinds:
        words.append("/".join(kinds))
    text = " from %s roots" % " ".join(words) if words else ""
    if getattr(args, "root", None):
        text = (text or " from roots") + " matching /%s/" % args.root
    if getattr(args, "exclude_root", None):
        text = (text or " from roots") + " not matching /%s/" % args.exclude_root
    if getattr(args, "through", None):
        text += " through /%s/" % args.through
    return text


class PathCommand(_RetainCommand):
    """Show the shortest chains of references from roots to a heap block.

Usage: retain path ADDR [-n N] [--kind K,...] [--root RE] [--exclude-root RE]
                   [--max-depth D] [--fail-if C] [--dot FILE] [--json]

ADDR is any gdb expression; its heap block (interior addresses count) is the
target. Prints N chains (default 1) that start at distinct roots, shortest
first, one hop per line; hops of the same shape (a linked list) fold into one
line with a count. Root kinds: global, stack, register, tls, mapping (Go
programs: global, goroutine, register, finalizer); --kind
limits the search to some of them; --root RE and --exclude-root RE keep or
drop roots by name (a PCRE2 pattern matched against the variable or symbol,
else the object file, mapping or register). --max-depth D stops the search after D hops
(default: no limit, so the tail of a million-node list is found).
An unreachable block is reported as a leak candidate.
--fail-if reachable|unreachable makes the command fail (after printing its
answer) when the block is so: in `gdb -batch`, a failing last command makes
gdb exit with status 1 (see also `set retain exit-on-error`).
--dot FILE also writes the chains (or the merged tree of --type / --leaked)
as a Graphviz graph; FILE.svg is drawn with `dot -Tsvg` when it is installed."""

    name = "path"
    options = ("-n", "--kind", "--root", "--exclude-root", "--max-depth", "--fail-if", "--dot", "--json")

    def run(self, argv, from_tty):
        p = _parser("retain path")
        p.add_argument("address", nargs="*")
        p.add_argument("-n", type=int, default=1)
        p.add_argument("--kind")
        p.add_argument("--max-depth", type=int, default=None)
        p.add_argument("--fail-if", choices=("reachable", "unreachable"))
        p.add_argument("--root", help="only roots whose name matches this PCRE2 pattern")
        p.add_argument("--exclude-root", help="no roots whose name matches this PCRE2 pattern")
        p.add_argument("--type", help="every block whose type matches: merged paths")
        p.add_argument("--leaked", action="store_true", help="every leaked block: merged paths")
        p.add_argument("--through", help="only chains through a field or type matching this pattern")
        p.add_argument("--dot", metavar="FILE", help="also write the chains as a Graphviz graph (.svg: drawn)")
        args = p.parse_args(argv)
        if args.type or args.leaked:
            return self.merged(args)
        if not args.address:
            raise RetainError("retain path: give an address, or --type RE / --leaked (see 'help retain path')")
        if args.n < 1:
            raise RetainError("retain path: -n must be at least 1")
        max_depth = args.max_depth if args.max_depth is not None else int(gdb.parameter("retain max-depth") or 0)
        if max_depth < 0:
            raise RetainError("retain path: --max-depth must not be negative")
        kinds = parse_kinds(args.kind)
        addr = parse_address(" ".join(args.address))
        analysis = engine.current(progress=not args.json)
        block = _lookup(analysis, addr)
        if block is None or block["state"] != "in-use":
            raise RetainError(_not_in_use_message(addr, block, analysis))
        time_limit = time_limit_parameter.seconds if time_limit_parameter else 0.0
        paths, truncated = analysis.session.paths(addr, n=args.n, kinds=kinds, max_depth=max_depth,
                                                  root=args.root, exclude_root=args.exclude_root,
                                                  through=args.through, time_limit=time_limit)
        if block.get("heap") == "go":
            views.annotate(analysis.session, paths)
        target_type = paths[0]["hops"][-1][2] if paths else analysis.session.block_type(block["addr"])
        obj = render.envelope("path", {
            "target": render.block_json(addr, block, target_type),
            # null: --max-depth stopped the search before any chain was found
            "reachable": True if paths else (None if truncated else False),
            "paths": [],   # filled in by render.path_document: a chain may have a million hops
            "truncated": bool(truncated)}, analysis)
        if args.json:
            gdb.write(render.path_document(obj, paths) + "\n")
        else:
            gdb.write("\n".join(self.text(addr, block, target_type, paths, truncated, _scope(args, kinds),
                                           max_depth, obj)) + "\n")
        if args.dot:
            _wrote(args, export.write_dot(args.dot, export.paths_dot(
                paths, "retain path: " + render.block_text(block, target_type))))
        if args.fail_if == "reachable" and paths:
            raise RetainError("0x%x is reachable (--fail-if reachable)" % addr)
        if args.fail_if == "unreachable" and not paths:
            raise RetainError("0x%x is unreachable (--fail-if unreachable)" % addr)

    @staticmethod
    def merged(args):
        if args.address:
            raise RetainError("retain path: --type and --leaked take no address")
        if args.type and args.leaked:
            raise RetainError("retain path: give --type or --leaked, not both")
        kinds = parse_kinds(args.kind)
        analysis = engine.current(progress=not args.json)
        body, lines = heapwide.merged_path(analysis, args, kinds)
        obj = render.envelope("path", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)
        if args.dot:
            _wrote(args, export.write_dot(args.dot, export.tree_dot(body["tree"], lines[0])))

    @staticmethod
    def text(addr, block, target_type, paths, truncated, scope, max_depth, obj):
        lines = []
        where = "" if addr == block["addr"] else " (0x%x is at offset +0x%x)" % (addr, addr - block["addr"])
        if not paths:
            if truncated:
                lines.append("no chain%s reaches %s%s%s" % (
                    scope, render.block_text(block, target_type),
                    " within %d hops" % max_depth if max_depth else "", where))
            elif scope:
                lines.append("no chain%s reaches %s%s" % (scope, render.block_text(block, target_type), where))
            else:
                lines.append("%s is unreachable%s: no root holds it (a leak candidate)" % (
                    render.block_text(block, target_type), where))
        for i, pa in enumerate(paths, 1):
            lines.extend(render.path_text(i, pa))
        if paths:
            shortest = min(len(pa["hops"]) for pa in paths)
            lines.append("%d chain%s to %s%s; shortest: %d hop%s%s" % (
                len(paths), "" if len(paths) == 1 else "s", render.block_text(block, target_type), where,
                shortest, "" if shortest == 1 else "s", scope))
        if truncated:
            limits = []
            if max_depth:
                limits.append("--max-depth %d" % max_depth)
            if time_limit_parameter and time_limit_parameter.seconds:
                limits.append("the time limit (%gs, set retain time-limit)" % time_limit_parameter.seconds)
            lines.append("search cut short at %s: %s" % (
                " or ".join(limits), "other chains may exist" if paths else "a chain may exist beyond it"))
        return lines + _warning_lines(obj)


class WhoCommand(_RetainCommand):
    """Show every direct referrer of a heap block.

Usage: retain who ADDR [--type RE] [--root RE] [--exclude-root RE] [--json]

--type keeps the block referrers whose type matches; --root and
--exclude-root keep or drop root referrers by name (PCRE2 patterns).

Lists the heap blocks (with the offset and field of the pointer word) and the
roots (globals, stack slots, registers, thread-local storage, other mappings)
that point into ADDR's block."""

    name = "who"
    options = ("--type", "--root", "--exclude-root", "--json")

    def run(self, argv, from_tty):
        p = _parser("retain who")
        p.add_argument("address", nargs="+")
        p.add_argument("--type")
        p.add_argument("--root")
        p.add_argument("--exclude-root")
        args = p.parse_args(argv)
        addr = parse_address(" ".join(args.address))
        analysis = engine.current(progress=not args.json)
        block = _lookup(analysis, addr)
        if block is None or block["state"] != "in-use":
            raise RetainError(_not_in_use_message(addr, block, analysis))
        refs = heapwide.filter_referrers(analysis.session, analysis.session.referrers(addr), args)
        target_type = analysis.session.block_type(block["addr"])
        items, lines = [], []
        for ref in refs:
            if ref["kind"] == "block":
                h = render.hop_json(ref["hop"])
                h["kind"] = "block"
                items.append(h)
                lines.append("  block 0x%x (%d bytes%s) %s at +0x%x%s" % (
                    ref["hop"][0], ref["hop"][1], ", " + ref["hop"][2] if ref["hop"][2] else "",
                    ref["hop"][5], max(ref["hop"][4], 0),
                    "  -> interior +0x%x" % ref["hop"][7] if ref["hop"][7] else ""))
            else:
                root = ref["root"]
                ptr = int(root["pointer"], 16)
                items.append({"kind": "root", "root": render.root_json(root), "slot": root["addr"],
                              "pointer": root["pointer"], "interior": ptr - ref["block"]})
                lines.append("  " + render.root_text(root) +
                             ("  -> interior +0x%x" % (ptr - ref["block"]) if ptr != ref["block"] else ""))
        obj = render.envelope("who", {"target": render.block_json(addr, block, target_type),
                                      "referrers": items}, analysis)
        head = "%s has %d direct referrer%s%s" % (render.block_text(block, target_type), len(refs),
                                                  "" if len(refs) == 1 else "s", ":" if refs else
                                                  " (unreachable: a leak candidate)")
        _emit(args, [head] + lines + _warning_lines(obj), obj)


class InfoCommand(_RetainCommand):
    """Say what an address is: its heap block, size, state, type and distance from the roots.

Usage: retain info ADDR [--json]

States: in-use, free (with why: tcache, fastbin, bin, top) or not-heap."""

    name = "info"

    def run(self, argv, from_tty):
        p = _parser("retain info")
        p.add_argument("address", nargs="+")
        args = p.parse_args(argv)
        addr = parse_address(" ".join(args.address))
        analysis = engine.current(progress=not args.json)
        block = _lookup(analysis, addr)
        body = render.block_json(addr, block)
        body["distance"], body["reachable"] = None, False
        lines = []
        if block is None:
            lines.append("0x%x is not in any heap block (not-heap)" % addr)
        elif block["state"] != "in-use" and block["heap"] == "go":
            lines.append("0x%x is in a free slot of a Go span: 0x%x (%d bytes)" % (addr, block["addr"], block["size"]))
        elif block["state"] != "in-use":
            lines.append("0x%x is in a free block: 0x%x (%d bytes), %s heap, free in %s" % (
                addr, block["addr"], block["size"], block["heap"], block["free_reason"] or "a bin"))
        else:
            dist = analysis.session.distance(addr)
            paths, _ = analysis.session.paths(addr, n=1) if dist is not None else ([], False)
            tname = paths[0]["hops"][-1][2] if paths else analysis.session.block_type(block["addr"])
            body.update(type=tname, distance=dist, reachable=dist is not None)
            lines.append("0x%x is in an in-use block: 0x%x (%d bytes%s), offset +0x%x, %s heap" % (
                addr, block["addr"], block["size"], ", " + tname if tname else "",
                addr - block["addr"], block["heap"]))
            lines.append("distance from the roots: %s" % (
                "%d hop%s" % (dist, "" if dist == 1 else "s") if dist is not None
                else "unreachable (a leak candidate)"))
            if block["heap"] == "go":
                body["views"] = views.views_of(analysis.session, analysis.session.referrers(block["addr"]),
                                               block["size"], tname)
                for v in body["views"]:
                    lines.append("held through a small view in %s (its word at %s): %s" % (
                        v["holder"] or "?", v["slot"], render.view_text(v)))
        obj = render.envelope("info", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)


MISSING_LINES = 20   # ranges listed one per line by `retain stats`


def _missing_lines(missing):
    """What a core lacks: a summary line, then one line a range."""
    if not missing:
        return []
    writable = sum(m["end"] - m["start"] for m in missing if m["writable"])
    lines = ["missing from the core: %d range%s, %d bytes writable (may hold pointers), %d bytes read-only" % (
        len(missing), "" if len(missing) == 1 else "s", writable,
        sum(m["end"] - m["start"] for m in missing) - writable)]
    for m in missing[:MISSING_LINES]:
        lines.append("  0x%x-0x%x %s%s" % (m["start"], m["end"], "rw" if m["writable"] else "r-",
                                          " " + m["path"] if m["path"] else ""))
    if len(missing) > MISSING_LINES:
        lines.append("  ... and %d more" % (len(missing) - MISSING_LINES))
    return lines


class StatsCommand(_RetainCommand):
    """Show what the heap walk and the reference graph found.

Usage: retain stats [--json]

Blocks and bytes in use and free, edges, root words by kind, unreadable
bytes, the ranges a core lacks (cut short, or left out by a coredump
filter), the engine's memory, and the time each phase took."""

    name = "stats"

    def run(self, argv, from_tty):
        args = _parser("retain stats").parse_args(argv)
        analysis = engine.current(progress=not args.json)
        body, lines = stats_body(analysis)
        obj = render.envelope("stats", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)


def stats_body(analysis):
    """The body of `retain stats` (its JSON without the envelope) and its text lines."""
    s = analysis.session.stats()
    go_info = _retain.go_heap_info(analysis.session)
    if go_info["go"]:
        heap = {"kind": "go", "spans": go_info["spans"], "stack_spans": go_info["stack_spans"],
                "arenas": go_info["arenas"], "finalizers": go_info["finalizers"], "method": "go-runtime"}
        heap_line = "heap: go, %d spans in use, %d arena%s, %d stack spans, %d finalizer%s (read from %s)" % (
            heap["spans"], heap["arenas"], "" if heap["arenas"] == 1 else "s", heap["stack_spans"],
            heap["finalizers"], "" if heap["finalizers"] == 1 else "s", s["source"])
    else:
        heap = {"kind": "glibc", "arenas": s["arenas"], "heaps": s["heaps"], "mmapped": s["mmapped"],
                "method": getattr(analysis, "heap_method", "debug-symbols")}
        heap_line = "heap: glibc, %d arena%s, %d heap%s, %d mmapped chunk%s (read from %s; found by %s)" % (
            s["arenas"], "" if s["arenas"] == 1 else "s", s["heaps"], "" if s["heaps"] == 1 else "s",
            s["mmapped"], "" if s["mmapped"] == 1 else "s", s["source"], heap["method"])
    body = {
        "heap": heap,
        "blocks": {"in_use": s["blocks_in_use"], "free": s["blocks_free"]},
        "bytes": {"in_use": s["bytes_in_use"], "free": s["bytes_free"]},
        "edges": s["edges"], "root_edges": s["root_edges"],
        "roots": {k: s["roots"][k] for k in (GO_ROOT_KINDS if go_info["go"] else C_ROOT_KINDS)},
        "unreadable_bytes": s["unreadable_bytes"] + s["missing_bytes"],
        "memory_bytes": s["memory_bytes"],
        "seconds": {"walk": s["walk"], "roots": s["roots_seconds"], "graph": s["graph"], "bfs": s["bfs"]},
        "source": s["source"],
        "missing": [{"start": render.hexa(m["start"]), "end": render.hexa(m["end"]), "path": m["path"],
                     "writable": m["writable"]} for m in s.get("missing", [])],
    }
    lines = [
        heap_line,
        "blocks: %d in use (%d bytes), %d free (%d bytes)" % (
            s["blocks_in_use"], s["bytes_in_use"], s["blocks_free"], s["bytes_free"]),
        "edges: %d between blocks, %d from roots" % (s["edges"], s["root_edges"]),
        "root words: " + ", ".join("%s %d" % kv for kv in body["roots"].items()),
        "unreadable: %d bytes" % body["unreadable_bytes"],
    ] + _missing_lines(s.get("missing", [])) + [
        "engine memory: %.1f MiB" % (s["memory_bytes"] / 1048576.0),
        "time: walk %.3fs, roots %.3fs, graph %.3fs, distances %.3fs" % (
            s["walk"], s["roots_seconds"], s["graph"], s["bfs"]),
    ]
    return body, lines


class HistogramCommand(_RetainCommand):
    """Count and bytes of in-use blocks per type.

Usage: retain histogram [--type RE] [--sort bytes|count|name] [--json]

Types come from DWARF, propagated from typed roots through typed pointer
fields across the whole heap, and from C++ vtables (the dynamic type);
blocks of unknown type are counted per usable size. --type keeps the rows
whose type matches the PCRE2 pattern."""

    name = "histogram"
    options = ("--type", "--sort", "--json")

    def run(self, argv, from_tty):
        p = _parser("retain histogram")
        p.add_argument("--type")
        p.add_argument("--sort", choices=sorted(heapwide.SORT_KEYS), default="bytes")
        args = p.parse_args(argv)
        analysis = engine.current(progress=not args.json)
        body, lines = heapwide.histogram(analysis, args.type, args.sort)
        obj = render.envelope("histogram", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)


class TopCommand(_RetainCommand):
    """Show what retains the most memory.

Usage: retain top [N] [--by block|type|root] [--type RE] [--root RE]
                  [--exclude-root RE] [--pprof FILE] [--json]

The N (default 10) blocks, types or roots that retain the most bytes: a
block's retained size is what would be freed if it were gone (itself and
every block only it keeps alive, by the dominator tree). --by type sums the
blocks of each type without counting a block twice; --by root counts what
each root variable alone keeps alive. Each entry shows its shortest chain.
--type keeps entries whose type matches; --root / --exclude-root leave roots
out of the graph (what only they held then retains nothing).
--pprof FILE also writes a pprof profile (for `go tool pprof`, flame graphs)
of the N (default: 1000 for the profile) largest blocks no other of them
dominates: stacks are their shortest chains from the roots (root, fields,
types), values retained bytes."""

    name = "top"
    options = ("--by", "--type", "--root", "--exclude-root", "--pprof", "--json")

    def run(self, argv, from_tty):
        p = _parser("retain top")
        p.add_argument("n", nargs="?", type=int, default=None)
        p.add_argument("--by", choices=("block", "type", "root"), default="block")
        p.add_argument("--type")
        p.add_argument("--root")
        p.add_argument("--exclude-root")
        p.add_argument("--pprof", metavar="FILE", help="write a pprof profile of the top blocks' root paths")
        args = p.parse_args(argv)
        if args.pprof and args.by != "block":
            raise RetainError("retain top: --pprof goes with --by block")
        export_n = args.n if args.n is not None else PPROF_DEFAULT_N
        if args.n is None:
            args.n = 10
        if args.n < 1:
            raise RetainError("retain top: N must be at least 1")
        analysis = engine.current(progress=not args.json)
        body, lines = heapwide.top(analysis, args)
        obj = render.envelope("top", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)
        if args.pprof:
            self.pprof(analysis, args, export_n)

    @staticmethod
    def pprof(analysis, args, n):
        s = analysis.session
        groups, _reps = heapwide.root_groups(s, args.root, args.exclude_root)
        blocks = heapwide.pick_top_blocks(s, args.type, n, groups)
        data, kept, dominated = export.top_profile(s, blocks, groups, args.root, args.exclude_root)
        export.write_pprof(args.pprof, data)
        if not args.json:
            gdb.write("wrote %s (pprof: %d blocks%s; try: go tool pprof -top %s)\n" % (
                args.pprof, kept, ", %d more inside them left out" % dominated if dominated else "", args.pprof))


PPROF_DEFAULT_N = 1000


class LeaksCommand(_RetainCommand):
    """Show in-use blocks that no root reaches, grouped by what holds them.

Usage: retain leaks [--type RE] [--json]

A leak root is a block (or a cycle of blocks) that nothing else leaked
points to; every other leaked block is lost because a leak root holds it.
Each leak root shows the bytes it takes down with it; --type keeps the leak
roots whose type matches. (Garbage-collected heaps have no leaks in this
sense: use retain top there.)"""

    name = "leaks"
    options = ("--type", "--json")

    def run(self, argv, from_tty):
        p = _parser("retain leaks")
        p.add_argument("--type")
        args = p.parse_args(argv)
        analysis = engine.current(progress=not args.json)
        body, lines = heapwide.leaks(analysis, args)
        obj = render.envelope("leaks", body, analysis)
        _emit(args, lines + _warning_lines(obj), obj)


class MaxDepthParameter(gdb.Parameter):
    """Default limit on chain length for 'retain path' (0: no limit)."""

    set_doc = "Set the default --max-depth of 'retain path' (0: no limit)."
    show_doc = "Show the default --max-depth of 'retain path'."

    def __init__(self):
        super().__init__("retain max-depth", gdb.COMMAND_DATA, gdb.PARAM_ZUINTEGER)
        self.value = 0

    def get_show_string(self, svalue):
        return "The default maximum chain length of 'retain path' is %s." % (
            svalue if svalue != "0" else "unlimited")


class ExitOnErrorParameter(gdb.Parameter):
    """Whether a failing retain command ends gdb with exit status 1.

For batch use: `gdb -batch` exits non-zero only when its LAST command fails;
with this on, the first failing retain command ends gdb at once, exit 1."""

    set_doc = "Set whether a failing retain command ends gdb with exit status 1."
    show_doc = "Show whether a failing retain command ends gdb with exit status 1."

    def __init__(self):
        super().__init__("retain exit-on-error", gdb.COMMAND_DATA, gdb.PARAM_BOOLEAN)
        self.value = False


class MemoryLimitParameter(gdb.Parameter):
    """Limit on the engine's own memory (its block table and reference graph).

0 means no limit. Sizes take K, M or G suffixes (512M, 2G). When the graph
would need more, retain stops scanning blocks for pointers at the limit and
says how many blocks and bytes it left out: chains through them are missing.
Takes effect at the next analysis (the current one is dropped)."""

    set_doc = "Set the limit on retain's own memory (0: none; 512M, 2G...)."
    show_doc = "Show the limit on retain's own memory."

    def __init__(self):
        super().__init__("retain memory-limit", gdb.COMMAND_DATA, gdb.PARAM_STRING)
        self.value = "0"
        self.bytes = 0

    def get_set_string(self):
        try:
            self.bytes = sizes.parse_size(self.value)
        except ValueError as e:
            self.value = sizes.format_size(self.bytes)
            raise RetainError(str(e)) from None
        engine.invalidate()
        return ""

    def get_show_string(self, svalue):
        return "retain's memory limit is %s." % ("unlimited" if not self.bytes else sizes.format_size(self.bytes))


class TimeLimitParameter(gdb.Parameter):
    """Limit on how long one 'retain path' search may take, in seconds.

0 means no limit. Past it the search stops and says it was cut short
("truncated": true in JSON); decimals are allowed (0.5)."""

    set_doc = "Set the time limit of a 'retain path' search in seconds (0: none)."
    show_doc = "Show the time limit of a 'retain path' search."

    def __init__(self):
        super().__init__("retain time-limit", gdb.COMMAND_DATA, gdb.PARAM_STRING)
        self.value = "0"
        self.seconds = 0.0

    def get_set_string(self):
        try:
            seconds = float(self.value)
            if seconds < 0 or seconds != seconds:
                raise ValueError
        except ValueError:
            self.value = "%g" % self.seconds
            raise RetainError("time-limit takes a number of seconds (0: no limit)") from None
        self.seconds = seconds
        return ""

    def get_show_string(self, svalue):
        return "A 'retain path' search may take %s." % (
            "%g seconds" % self.seconds if self.seconds else "as long as it needs")


time_limit_parameter = None


class SetRetainPrefix(gdb.Command):
    """Settings of the retain commands."""

    def __init__(self):
        super().__init__("set retain", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


class ShowRetainPrefix(gdb.Command):
    """Settings of the retain commands."""

    def __init__(self):
        super().__init__("show retain", gdb.COMMAND_DATA, gdb.COMPLETE_NONE, True)


def register():
    RetainPrefix()
    SetRetainPrefix()
    ShowRetainPrefix()
    MaxDepthParameter()
    ExitOnErrorParameter()
    engine.memory_limit = MemoryLimitParameter()
    global time_limit_parameter
    time_limit_parameter = TimeLimitParameter()
    glibc.MethodParameter()
    PathCommand()
    WhoCommand()
    InfoCommand()
    StatsCommand()
    HistogramCommand()
    TopCommand()
    LeaksCommand()
    from . import report   # report, check, diff (report.py imports this module)
    report.register()
    engine.connect_events()
