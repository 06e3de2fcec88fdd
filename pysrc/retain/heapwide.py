"""Whole-heap answers: retain histogram, top and leaks, and merged paths for
a set of blocks (retain path --type / --leaked). The engine computes; this
filters names with the engine's PCRE2 matcher and renders."""

import re

import gdb

import _retain

from . import engine, render
from .errors import RetainError


def match(option, pattern, names):
    """Indexes of names the PCRE2 pattern matches (all, without a pattern)."""
    if not pattern:
        return list(range(len(names)))
    try:
        return _retain.match(option, pattern, names)
    except _retain.Error as e:
        raise RetainError(str(e)) from None


def _size_label(row_type, size):
    return row_type if row_type else "(unknown, %d bytes)" % size


# ---- histogram -------------------------------------------------------------------

SORT_KEYS = {
    "bytes": lambda r: (-r[3], -r[2], r[0] or "", r[1] or 0),
    "count": lambda r: (-r[2], -r[3], r[0] or "", r[1] or 0),
    "name": lambda r: (r[0] is None, r[0] or "", r[1] or 0),
}


def histogram(analysis, type_pattern, sort):
    h = _retain.histogram(analysis.session)
    rows = h["rows"]
    keep = set(match("--type", type_pattern, [r[0] for r in rows]))
    rows = sorted((r for i, r in enumerate(rows) if i in keep), key=SORT_KEYS[sort])
    body = {"sort": sort,
            "rows": [{"type": r[0], "size": r[1], "count": r[2], "bytes": r[3]} for r in rows],
            "typed_blocks": h["typed_blocks"], "blocks": h["blocks"], "conflicts": h["conflicts"]}
    lines = ["%12s %14s  %s" % ("count", "bytes", "type")]
    lines += ["%12d %14d  %s" % (r[2], r[3], _size_label(r[0], r[1])) for r in rows]
    lines.append("%d of %d in-use blocks typed (%d by C++ vtables); %d conflicting declarations" % (
        h["typed_blocks"], h["blocks"], h["from_vtables"], h["conflicts"]))
    return body, lines


# ---- merged shortest paths -------------------------------------------------------

MAX_TREE_DEPTH = 200   # deeper trees (after folding) are cut, and say so
_INDEX = re.compile(r"\[\d+\]")


class _Node:
    __slots__ = ("label", "kind", "type", "blocks", "bytes", "children", "index", "repeat")

    def __init__(self, label, kind, type_name):
        self.label, self.kind, self.type = label, kind, type_name
        self.blocks = self.bytes = 0
        self.children, self.index, self.repeat = [], {}, 1

    def child(self, label, type_name):
        key = (label, type_name)
        node = self.index.get(key)
        if node is None:
            node = self.index[key] = _Node(label, "hop", type_name)
            self.children.append(node)
        return node


def _root_label(root):
    return render.root_short(root)


def _merge(nodes):
    """The engine's nodes (parents first) merged: roots by variable, hops by
    field and type under the same parent."""
    top, by_label, merged = [], {}, [None] * len(nodes)
    for i, (parent, root, field, type_name, blocks, nbytes, _addr) in enumerate(nodes):
        if parent < 0:
            label = _root_label(root)
            node = by_label.get(label)
            if node is None:
                node = by_label[label] = _Node(label, "root", root["type"])
                top.append(node)
        else:
            # Array elements merge: ->items[3] and ->items[17] are one path shape.
            label = _INDEX.sub("[]", render.arrow(field, False) or "+0x0")
            node = merged[parent].child(label, type_name)
        node.blocks += blocks
        node.bytes += nbytes
        merged[i] = node
    return top


def _fold(node):
    """Runs of single children with the same label and type become one node
    with a repeat count (a linked list is one line, not a million)."""
    stack = [node]
    while stack:
        n = stack.pop()
        while (len(n.children) == 1 and n.kind == "hop" and n.children[0].label == n.label
               and n.children[0].type == n.type):
            only = n.children[0]
            n.repeat += only.repeat
            n.children = only.children
        stack.extend(n.children)


def _tree_json(node, depth=0):
    out = {"label": node.label, "kind": node.kind, "type": node.type, "blocks": node.blocks,
           "bytes": node.bytes, "children": []}
    if node.repeat > 1:
        out["repeat"] = node.repeat
    if depth >= MAX_TREE_DEPTH and node.children:
        out["truncated"] = True
        return out
    out["children"] = [_tree_json(c, depth + 1) for c in node.children]
    return out


def _tree_lines(roots):
    lines, stack = [], [(r, 0) for r in reversed(roots)]
    while stack:
        node, depth = stack.pop()
        label = node.label + ("  x%d" % node.repeat if node.repeat > 1 else "")
        lines.append("%s%-*s %s  %d blocks, %d bytes" % (
            "  " * depth, max(1, 36 - 2 * depth), label, node.type or "", node.blocks, node.bytes))
        if depth < MAX_TREE_DEPTH:
            stack.extend((c, depth + 1) for c in reversed(node.children))
    return lines


def merged_path(analysis, args, kinds):
    s = analysis.session
    if args.leaked:
        what, res = "leaked blocks", s.merged("leaked", kinds=kinds, root=args.root, exclude_root=args.exclude_root)
    else:
        names = _retain.type_index(s)
        views = match("--type", args.type, names)
        views = [v for v in views if names[v] is not None]
        what = "blocks of types matching /%s/" % args.type
        res = s.merged("types", views=views, kinds=kinds, root=args.root, exclude_root=args.exclude_root)
    top = _merge(res["nodes"])
    for node in top:
        _fold(node)
    body = {"merged": True,
            "targets": {"blocks": res["target_blocks"], "bytes": res["target_bytes"]},
            "unreachable": {"blocks": res["unreached_blocks"], "bytes": res["unreached_bytes"]},
            "tree": [_tree_json(n) for n in top]}
    lines = ["%d %s (%d bytes), merged shortest paths:" % (res["target_blocks"], what, res["target_bytes"])]
    lines += ["  " + l for l in _tree_lines(top)]
    if res["unreached_blocks"]:
        lines.append("%d of them (%d bytes) are unreachable%s" % (
            res["unreached_blocks"], res["unreached_bytes"],
            ": see 'retain leaks'" if not (args.root or args.exclude_root or kinds) else " from the roots allowed"))
    return body, lines


# ---- root groups -------------------------------------------------------------------

def _group_key(root):
    kind = root["kind"]
    if kind == "register":
        return (kind, root["thread"], root["register"])
    if root["name"] and kind in ("global", "tls", "stack", "goroutine"):
        frame = root["frame"]["level"] if root["frame"] else None
        return (kind, root["name"], root["thread"] if kind != "global" else None, frame)
    return (kind, root["addr"])


def root_groups(session, root_pattern, exclude_pattern):
    """One group per root variable (each root word of a global array is the
    same root; an unnamed conservative word is its own): the group number of
    each root edge, -1 for those the filters leave out, and a representative
    root of each group."""
    roots = session.root_edge_roots()
    names = [r["name"] or r["label"] for r in roots]
    keep = set(match("--root", root_pattern, names))
    drop = set(match("--exclude-root", exclude_pattern, names)) if exclude_pattern else set()
    groups, index, reps = [], {}, []
    for i, r in enumerate(roots):
        if i not in keep or i in drop:
            groups.append(-1)
            continue
        key = _group_key(r)
        if key not in index:
            index[key] = len(reps)
            reps.append(r)
        groups.append(index[key])
    return groups, reps


# ---- top ---------------------------------------------------------------------------

def _chain(session, addr, args):
    paths, _ = session.paths(addr, n=1, root=args.root, exclude_root=args.exclude_root)
    if not paths:
        return "(no chain from the roots allowed)", None
    return render.chain_line(paths[0]["root"], paths[0]["hops"]), render.root_json(paths[0]["root"])


def pick_top_blocks(s, type_pattern, n, groups):
    """[(addr, size, retained)]: the n blocks (of types matching the
    pattern) that retain the most, largest first."""
    if not type_pattern:
        return [(a, size, ret) for a, size, ret in _retain.top_blocks(s, n, groups=groups)]
    names = _retain.type_index(s)
    views = [v for v in match("--type", type_pattern, names) if names[v] is not None]
    addrs = _retain.blocks_with_types(s, views) if views else []
    lookups = ((a, s.lookup(a)["size"], _retain.retained(s, a, groups=groups)) for a in addrs)
    return sorted(lookups, key=lambda x: (-x[2], x[0]))[:n]


def _top_blocks(s, args, groups):
    picked = pick_top_blocks(s, args.type, args.n, groups)
    entries = []
    for rank, (addr, size, retained) in enumerate(picked, 1):
        chain, root = _chain(s, addr, args)
        entries.append({"rank": rank, "block": render.hexa(addr), "size": size, "retained": retained, "count": 1,
                        "type": _retain.type_of(s, addr), "chain": chain, "root": root})
    return entries


def _top_types(s, args):
    names = _retain.type_index(s)
    keep = set(match("--type", args.type, names))
    totals = s.type_totals()
    rows = [(names[v], t) for v, t in enumerate(totals) if names[v] is not None and v in keep and t[0]]
    rows.sort(key=lambda r: (-r[1][2], -r[1][1], r[0]))
    entries = []
    for rank, (name, (count, shallow, retained, largest)) in enumerate(rows[:args.n], 1):
        chain, root = _chain(s, largest, args) if largest is not None else ("", None)
        entries.append({"rank": rank, "block": render.hexa(largest), "size": shallow, "retained": retained,
                        "count": count, "type": name, "chain": chain, "root": root})
    return entries


def _top_roots(s, args, groups, reps):
    retained = _retain.group_retained(s, groups)
    counts = s.group_counts()
    order = sorted(range(len(reps)), key=lambda g: (-retained[g], -counts[g], g))
    entries = []
    for rank, g in enumerate(order[:args.n], 1):
        entries.append({"rank": rank, "block": None, "size": None, "retained": retained[g], "count": counts[g],
                        "type": reps[g]["type"], "chain": render.root_text(reps[g]),
                        "root": render.root_json(reps[g])})
    return entries


def top(analysis, args):
    s = analysis.session
    groups, reps = root_groups(s, args.root, args.exclude_root)
    dom = _retain.dominators(s, groups=groups)
    if args.by == "block":
        entries = _top_blocks(s, args, groups)
    elif args.by == "type":
        entries = _top_types(s, args)
    else:
        entries = _top_roots(s, args, groups, reps)
    body = {"by": args.by, "entries": entries, "reachable_bytes": dom["reachable_bytes"]}
    return body, _top_lines(args.by, entries, dom["reachable_bytes"])


def _top_lines(by, entries, reachable):
    what = {"block": "block", "type": "type", "root": "root"}[by]
    lines = ["%4s %14s %14s %10s  %s" % ("#", "retained", "shallow" if by != "root" else "", "blocks", what)]
    for e in entries:
        if by == "block":
            label = "%s  %s" % (e["block"], e["type"] or "")
        elif by == "type":
            label = e["type"]
        else:
            label = e["chain"]
        lines.append("%4d %14d %14s %10d  %s" % (e["rank"], e["retained"], e["size"] if e["size"] is not None else "",
                                                 e["count"], label))
        if by != "root":
            lines.append("%4s %s" % ("", e["chain"]))
    lines.append("%d bytes are reachable from the roots" % reachable)
    return lines


# ---- leaks -------------------------------------------------------------------------

def leaks(analysis, args):
    s = analysis.session
    found = _retain.leaks(s)
    roots, groups = [], {}
    for kind, members, own, total, held in found["roots"]:
        type_name = _retain.type_of(s, members[0])
        size = None if type_name else s.lookup(members[0])["size"]
        roots.append({"kind": kind, "blocks": [render.hexa(a) for a in members], "type": type_name,
                      "size": size, "own_bytes": own, "total_bytes": total, "held_blocks": held})
    keep = set(match("--type", args.type, [r["type"] for r in roots])) if args.type else range(len(roots))
    roots = [r for i, r in enumerate(roots) if i in keep]
    for r in roots:
        g = groups.setdefault((r["type"], r["size"]), {"type": r["type"], "size": r["size"], "roots": 0,
                                                       "total_bytes": 0})
        g["roots"] += 1
        g["total_bytes"] += r["total_bytes"]
    group_list = sorted(groups.values(), key=lambda g: (-g["total_bytes"], g["type"] or "", g["size"] or 0))
    body = {"leaked_blocks": found["leaked_blocks"], "leaked_bytes": found["leaked_bytes"],
            "roots": roots, "groups": group_list}
    lines = ["%d leaked blocks (%d bytes): in-use blocks no root reaches" % (
        found["leaked_blocks"], found["leaked_bytes"])]
    if _retain.go_heap_info(s)["go"]:
        # A Go heap frees nothing by hand: unreachable objects are garbage the
        # collector has not swept yet, not leaks.
        body["go_unswept"] = True
        lines[0] = "%d unreachable Go objects (%d bytes): garbage the GC has not swept yet, not leaks" % (
            found["leaked_blocks"], found["leaked_bytes"])
    if roots:
        lines.append("%14s %10s %6s  %s" % ("bytes", "own", "held", "leak root"))
    for r in roots:
        what = r["type"] or "(unknown, %d bytes)" % r["size"]
        if r["kind"] == "cycle":
            what = "cycle of %d: %s" % (len(r["blocks"]), what)
        lines.append("%14d %10d %6d  %s %s" % (r["total_bytes"], r["own_bytes"], r["held_blocks"],
                                               r["blocks"][0], what))
    if group_list:
        lines.append("by type:")
        lines += ["%14d  %d root%s  %s" % (g["total_bytes"], g["roots"], "" if g["roots"] == 1 else "s",
                                          g["type"] or "(unknown, %d bytes)" % g["size"]) for g in group_list]
    return body, lines


# ---- who filters -------------------------------------------------------------------

def filter_referrers(session, refs, args):
    """--type on block referrers (their heap-wide type; it also names their
    field), --root / --exclude-root on root referrers."""
    blocks = [r for r in refs if r["kind"] == "block"]
    roots = [r for r in refs if r["kind"] == "root"]
    if args.type:
        types = [_retain.type_of(session, r["hop"][0]) for r in blocks]
        blocks = [blocks[i] for i in match("--type", args.type, types)]
    if args.root or args.exclude_root:
        names = [r["root"]["name"] or r["root"]["label"] for r in roots]
        keep = set(match("--root", args.root, names))
        drop = set(match("--exclude-root", args.exclude_root, names)) if args.exclude_root else set()
        roots = [r for i, r in enumerate(roots) if i in keep and i not in drop]
    return blocks + roots
