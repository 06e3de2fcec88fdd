"""Files for other tools: `retain path --dot FILE` (a Graphviz graph of the
chains found, SVG through `dot` when FILE ends in .svg) and `retain top
--pprof FILE` (a gzipped perftools.profiles.Profile whose stacks are root
paths and whose values are retained bytes, for `go tool pprof` and flame
graphs). Both writers are plain Python: no protobuf or graphviz module."""

import gzip
import os
import shutil
import subprocess
import tempfile

import _retain

from . import render
from .errors import RetainError

MAX_DOT_NODES = 5000   # a graph beyond this is cut (dot would not lay it out anyway)


# ---- Graphviz ----------------------------------------------------------------------

def _q(text):
    """A DOT quoted string."""
    return '"%s"' % str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _root_name(root):
    return render.root_short(root)


class _Graph:
    def __init__(self):
        self.lines, self.ids, self.edges, self.count, self.cut = [], {}, set(), 0, False

    def node(self, key, label, shape="box"):
        nid = self.ids.get(key)
        if nid is None:
            if self.count >= MAX_DOT_NODES:
                self.cut = True
                return None
            nid = self.ids[key] = "n%d" % self.count
            self.count += 1
            self.lines.append("  %s [label=%s, shape=%s];" % (nid, _q(label), shape))
        return nid

    def edge(self, a, b, label):
        if a is None or b is None or (a, b, label) in self.edges:
            return
        self.edges.add((a, b, label))
        self.lines.append("  %s -> %s [label=%s];" % (a, b, _q(label or "")))

    def text(self, title):
        head = ["digraph retain {", "  rankdir=LR;", "  label=%s;" % _q(title), "  labelloc=t;",
                '  node [fontname="monospace", fontsize=10];', '  edge [fontname="monospace", fontsize=9];']
        tail = ['  cut [label="(graph cut at %d nodes)", shape=plaintext];' % MAX_DOT_NODES] if self.cut else []
        return "\n".join(head + self.lines + tail + ["}"]) + "\n"


def _hop_label(hops, start, count):
    first, last = hops[start], hops[start + count - 1]
    tname = first[2] or "(unknown)"
    if count > 1:
        return "%s x %d\n0x%x .. 0x%x\n%d bytes each" % (tname, count, first[0], last[0], first[1])
    return "0x%x\n%s\n%d bytes" % (first[0], tname, first[1])


def paths_dot(paths, title):
    """The chains of `retain path ADDR` (one or more, from distinct roots,
    ending at the same block): roots and blocks are nodes (a folded run of
    same-shaped hops is one node "TYPE x N"), fields label the edges."""
    g = _Graph()
    for pa in paths:
        root, hops = pa["root"], pa["hops"]
        prev = g.node(("root", _root_name(root)),
                      _root_name(root) + ("\n(%s)" % root["type"] if root["type"] else ""), "ellipse")
        for start, count in render.fold(hops):
            end = hops[start + count - 1]
            key = ("run", hops[start][0], end[0]) if count > 1 else ("block", hops[start][0])
            nid = g.node(key, _hop_label(hops, start, count))
            field = render.hop_arrow(hops[start], start == 0)
            g.edge(prev, nid, field + (" x%d" % count if count > 1 else ""))
            prev = nid
            if nid is None:
                break
    return g.text(title)


def tree_dot(tree, title):
    """The merged tree of `retain path --type RE` / --leaked (body["tree"])."""
    g = _Graph()
    stack = [(None, n) for n in reversed(tree)]
    while stack:
        parent, n = stack.pop()
        if n["kind"] == "root":
            label = n["label"] + ("\n(%s)" % n["type"] if n["type"] else "")
            shape = "ellipse"
        else:
            label = (n["type"] or "(unknown)") + (" x %d" % n["repeat"] if n.get("repeat", 1) > 1 else "")
            shape = "box"
        label += "\n%d block%s, %d bytes" % (n["blocks"], "" if n["blocks"] == 1 else "s", n["bytes"])
        nid = g.node(("tree", g.count), label, shape)
        if parent is not None:
            g.edge(parent, nid, n["label"] + (" x%d" % n["repeat"] if n.get("repeat", 1) > 1 else ""))
        if nid is None:
            continue
        stack.extend((nid, c) for c in reversed(n["children"]))
    return g.text(title)


def write_dot(path, text):
    """Writes the graph; FILE.svg goes through `dot -Tsvg` when Graphviz is
    installed, else the DOT text goes to FILE with .dot for .svg. Returns
    (file written, what it is)."""
    if path.lower().endswith(".svg"):
        dot = shutil.which("dot")
        if dot:
            with tempfile.NamedTemporaryFile("w", suffix=".dot", delete=False) as f:
                f.write(text)
            try:
                res = subprocess.run([dot, "-Tsvg", "-o", path, f.name], capture_output=True, text=True,
                                     timeout=600, stdin=subprocess.DEVNULL)
            except (OSError, subprocess.SubprocessError) as e:
                raise RetainError("--dot: running dot failed: %s" % e) from None
            finally:
                os.unlink(f.name)
            if res.returncode != 0:
                raise RetainError("--dot: dot -Tsvg failed: %s" % (res.stderr.strip() or res.returncode))
            return path, "SVG"
        path = path[:-4] + ".dot"
    try:
        with open(path, "w") as f:
            f.write(text)
    except OSError as e:
        raise RetainError("--dot: cannot write %s: %s" % (path, e.strerror or e)) from None
    return path, "Graphviz DOT" + ("" if shutil.which("dot") else " (dot not installed: no SVG)")


# ---- pprof ---------------------------------------------------------------------------

def _varint(n):
    out = bytearray()
    n &= 0xFFFFFFFFFFFFFFFF
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _int(field, n):
    return _varint(field << 3) + _varint(n)


def _bytes(field, data):
    return _varint((field << 3) | 2) + _varint(len(data)) + data


def _packed(field, nums):
    return _bytes(field, b"".join(_varint(n) for n in nums))


class _Profile:
    """perftools.profiles.Profile (github.com/google/pprof proto/profile.proto):
    string_table (6), sample_type (1), sample (2), location (4), function (5)."""

    def __init__(self):
        self.strings, self.string_ids = [""], {"": 0}
        self.functions = {}   # name -> id; a location per function, same id
        self.samples = []

    def string(self, s):
        i = self.string_ids.get(s)
        if i is None:
            i = self.string_ids[s] = len(self.strings)
            self.strings.append(s)
        return i

    def function(self, name):
        fid = self.functions.get(name)
        if fid is None:
            fid = self.functions[name] = len(self.functions) + 1
            self.string(name)
        return fid

    def sample(self, frames, values):
        """frames root first; pprof wants the leaf first."""
        self.samples.append(([self.function(f) for f in reversed(frames)], values))

    def encode(self, types, default):
        out = [_bytes(1, _int(1, self.string(t)) + _int(2, self.string(u))) for t, u in types]
        for locs, values in self.samples:
            out.append(_bytes(2, _packed(1, locs) + _packed(2, values)))
        for name, fid in self.functions.items():
            out.append(_bytes(4, _int(1, fid) + _bytes(4, _int(1, fid))))          # Location{id, Line{function_id}}
            out.append(_bytes(5, _int(1, fid) + _int(2, self.string(name)) + _int(3, self.string(name))))
        out.append(_int(14, self.string(default)))
        out = [_bytes(6, s.encode("utf-8", "replace")) for s in self.strings] + out
        return b"".join(out)


def _frames(root, hops):
    """A root path as stack frames, root first: the root, then each hop as
    `FIELD TYPE` (a run of same-shaped hops as one frame `FIELD xN TYPE`),
    the last one being the block itself."""
    head = _root_name(root) + (" (%s)" % root["type"] if root["type"] else "")
    frames = [head]
    for start, count in render.fold(hops):
        hop = hops[start]
        field = render.hop_arrow(hop, start == 0)
        what = hop[2] or "(unknown, %d bytes)" % hop[1]
        frames.append("%s%s%s" % (field, " x%d" % count if count > 1 else "", (" " if field else "") + what))
    return frames


def _dominated(session, addr, picked, groups, limit=100000):
    """Whether another picked block dominates addr (its retained bytes are
    already in that block's)."""
    for _ in range(limit):
        up = _retain.idom(session, addr, groups=groups)
        if up is None or up[0] != "block":
            return False
        addr = up[1]
        if addr in picked:
            return True
    return False


def top_profile(session, blocks, groups, root=None, exclude_root=None):
    """blocks: [(addr, size, retained)] from _retain.top_blocks. Keeps the
    blocks no other listed block dominates (so their retained sets are
    disjoint and a flame graph's sums count no byte twice); one sample per
    block: stack = its shortest root path, values = (retained, blocks).
    Returns (gzipped profile, samples, dropped as dominated)."""
    picked = {a for a, _s, _r in blocks}
    prof, kept, dominated = _Profile(), 0, 0
    for addr, size, retained in blocks:
        if _dominated(session, addr, picked, groups):
            dominated += 1
            continue
        paths, _ = session.paths(addr, n=1, root=root, exclude_root=exclude_root)
        if paths:
            frames = _frames(paths[0]["root"], paths[0]["hops"])
        else:
            frames = ["(no chain from the roots allowed)", _retain.type_of(session, addr) or
                      "(unknown, %d bytes)" % size]
        prof.sample(frames, [retained, 1])
        kept += 1
    data = prof.encode([("retained", "bytes"), ("count", "blocks")], "retained")
    return gzip.compress(data), kept, dominated


def write_pprof(path, data):
    try:
        with open(path, "wb") as f:
            f.write(data)
    except OSError as e:
        raise RetainError("--pprof: cannot write %s: %s" % (path, e.strerror or e)) from None
