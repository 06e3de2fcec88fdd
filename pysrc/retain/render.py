"""Text and JSON for what the engine found. JSON follows
docs/json-schema.md (schema "retain/1"); text puts one hop per line and
folds runs of hops of the same shape into one line with a count."""

import json

from . import sizes

SCHEMA = "retain/1"
FOLD_MIN = 3   # this many same-shaped hops in a row fold into one line


def hexa(value):
    return None if value is None else "0x%x" % value


def dumps(obj):
    return json.dumps(obj, separators=(", ", ": "))


def envelope(command, body, analysis):
    out = {"schema": SCHEMA, "command": command}
    out.update(body)
    warnings = list(analysis.warnings) if analysis is not None else []
    if analysis is not None:
        stats = analysis.session.stats()
        warnings += stats["warnings"]
        if stats["unscanned_blocks"]:
            warnings.append("memory limit: %d blocks (%d bytes) were not scanned for pointers, "
                            "so chains through them are missing (set retain memory-limit)"
                            % (stats["unscanned_blocks"], stats["unscanned_bytes"]))
        if stats["unreadable_bytes"] or stats["missing_bytes"]:
            warnings.append("%d bytes of the target could not be read" %
                            (stats["unreadable_bytes"] + stats["missing_bytes"]))
    out["incomplete"] = bool(warnings)
    out["warnings"] = warnings
    return out


# ---- blocks -------------------------------------------------------------

def block_json(query, block, type_name=None):
    if block is None:
        return {"query": hexa(query), "state": "not-heap", "block": None, "size": None,
                "offset": None, "heap": None, "free_reason": None, "type": None}
    return {"query": hexa(query), "state": block["state"], "block": hexa(block["addr"]),
            "size": block["size"], "offset": query - block["addr"], "heap": block["heap"],
            "free_reason": block["free_reason"], "type": type_name}


def block_text(block, type_name=None):
    tname = (", " + type_name) if type_name else ""
    return "0x%x (%d bytes%s)" % (block["addr"], block["size"], tname)


# ---- roots --------------------------------------------------------------

def root_json(root):
    kind = root["kind"]
    name = root["name"]
    if kind == "register":
        name = root["register"]
    elif kind == "mapping" and name is None:
        name = root["label"]
    goroutine = kind == "goroutine"   # the engine keeps its goroutine id where a thread's goes
    out = {"kind": kind, "name": name, "addr": root["addr"], "offset": root["offset"],
           "thread": None if goroutine else root["thread"], "frame": root["frame"], "type": root["type"],
           "precise": root["precise"], "objfile": root["label"] if kind == "global" else None}
    if kind == "register":
        out["variable"] = root["name"]
    if goroutine:
        out["goroutine"] = root["thread"]
        out["goroutine_start"] = root["label"]   # the function the goroutine was started with
    if kind == "finalizer":
        out["name"] = root["label"]              # "finalizer of 0x..."
    return out


def root_short(root):
    """A root in a few words, for one-line chains and tables."""
    kind, name = root["kind"], root["name"]
    if kind == "register":
        return "register $" + root["register"]
    if kind == "goroutine":
        frame = root["frame"]
        where = name or ("in " + frame["function"] if frame and frame["function"] else root["addr"])
        return "goroutine %s %s" % (root["thread"], where)
    if kind == "finalizer":
        return root["label"] or kind
    return "%s %s" % (kind, name or root["label"] or root["addr"] or "?")


def root_text(root):
    kind, name = root["kind"], root["name"]
    parts = [kind]
    if kind == "goroutine":
        parts.append("%d [%s]" % (root["thread"], root["label"] or "?"))
    elif kind == "finalizer":
        parts = [root["label"] or kind]
    elif root["thread"] is not None:
        parts.append("thread %d" % root["thread"])
    frame = root["frame"]
    if frame:
        where = frame["function"] or "??"
        if frame["file"]:
            where += " (%s:%s)" % (frame["file"], frame["line"])
        parts.append("frame #%d %s" % (frame["level"], where))
    if kind == "register":
        parts.append(root["register"])
        if name:
            parts.append("holding local " + name)
    elif name:
        parts.append(("local " if kind in ("stack", "goroutine") else "") + name +
                     ("+0x%x" % root["offset"] if root["offset"] and not root["type"] else ""))
    elif kind == "mapping" and root["label"]:
        parts.append(root["label"])
    if root["type"]:
        parts.append("(%s)" % root["type"])
    if root["addr"]:
        parts.append("at " + root["addr"])
    if root["precise"]:
        parts.append("[precise]")
    elif kind in ("stack", "goroutine"):
        parts.append("[conservative: not a variable in scope at this pc]")
    else:
        parts.append("[conservative]")
    return " ".join(parts)


# ---- hops ---------------------------------------------------------------

HOP_FIELDS = ("addr", "size", "type", "slot", "offset", "field", "pointer", "interior", "via")


def hop_json(hop):
    h = dict(zip(HOP_FIELDS, hop))
    return {"addr": hexa(h["addr"]), "size": h["size"], "type": h["type"],
            "slot": hexa(h["slot"]), "offset": h["offset"], "field": h["field"],
            "pointer": hexa(h["pointer"]), "interior": h["interior"], "via": h["via"]}


class _JsonStrings:
    """json.dumps for the few distinct strings (types, fields) of many hops."""

    def __init__(self):
        self.memo = {None: "null"}

    def __call__(self, value):
        out = self.memo.get(value)
        if out is None:
            out = self.memo[value] = json.dumps(value)
        return out


def _hop_text(hop, enc):
    addr, size, tname, slot, offset, field, pointer, interior, via = hop
    return ('{"addr": "0x%x", "size": %d, "type": %s, "slot": %s, "offset": %d, "field": %s, '
            '"pointer": "0x%x", "interior": %d, "via": %s}' % (
                addr, size, enc(tname), '"0x%x"' % slot if slot is not None else "null",
                offset, enc(field), pointer, interior, enc(via)))


def _hops_text(path, enc):
    text = ", ".join(_hop_text(h, enc) for h in path["hops"])
    if path.get("view"):   # views.py: the last hop is reached through a small view
        text = text[:-1] + ', "view": %s}' % dumps(path["view"])
    return text


def path_document(obj, paths):
    """The path command's JSON: obj (with "paths" empty) plus the paths,
    whose hops are formatted directly: a chain may have a million of them,
    and one dict per hop through json.dumps is several times slower."""
    enc = _JsonStrings()
    body = ", ".join('{"root": %s, "hops": [%s]}' % (
        dumps(root_json(p["root"])), _hops_text(p, enc)) for p in paths)
    text = dumps(obj)
    marker = '"paths": []'
    at = text.index(marker)
    return text[:at] + '"paths": [' + body + "]" + text[at + len(marker):]


def arrow(field, first):
    """How a hop's field reads in a chain: `.buckets[3]` on the root,
    `->next` after a pointer, `+0x18` where no type is known."""
    if not field:
        return ""
    if first or field.startswith("["):
        return field
    if field.startswith("."):
        return "->" + field[1:]
    return "->" + field


def _shape(hop):
    return (hop[5], hop[2] if hop[2] else hop[1])


def fold(hops):
    """[(first_index, count)]: runs of FOLD_MIN or more same-shaped hops
    become one entry; the first hop (the root's own word) stands alone."""
    runs, i, n = [], 0, len(hops)
    while i < n:
        j = i + 1
        if i > 0:
            while j < n and _shape(hops[j]) == _shape(hops[i]):
                j += 1
            if j - i < FOLD_MIN:
                j = i + 1
        runs.append((i, j - i))
        i = j
    return runs


def _root_word(root):
    if root["kind"] == "register":
        return "$" + root["register"]
    if root["kind"] == "goroutine" and not root["name"]:
        return root["addr"] or "?"
    return root["name"] or root["addr"] or "?"


def hop_arrow(hop, first):
    """arrow() plus how the word reaches the block when the field does not
    say: `->val (interface: *main.span)`."""
    text = arrow(hop[5], first)
    if not hop[8]:
        return text
    return "%s (%s)" % (text, hop[8]) if text else "(%s)" % hop[8]


def _step(hops, start, count, root):
    text = hop_arrow(hops[start], start == 0)
    if start == 0:
        text = _root_word(root) + (" " if text.startswith("(") else "") + text
    return text + ("  x%d" % count if count > 1 else "")


def _block_desc(hop):
    addr, size, tname, _slot, _off, _field, _ptr, interior, _via = hop
    text = "0x%x%s (%d bytes)" % (addr, "  " + tname if tname else "", size)
    if interior:
        text += "  via interior pointer +0x%x" % interior
    return text


def chain_line(root, hops):
    """The chain on one line: `global g_cache (struct cache *) ->head->next x3->payload => 0x... (N bytes)`."""
    head = root_short(root)
    if root["type"]:
        head += " (%s)" % root["type"]
    steps = []
    for start, count in fold(hops):
        a = hop_arrow(hops[start], start == 0)
        steps.append(a + (" x%d" % count if count > 1 else ""))
    return "%s %s  => %s" % (head, "".join(steps), _block_desc(hops[-1]))


def view_text(view):
    """A small view that pins a big object, in words (views.py finds them)."""
    size = sizes.format_size(view["object_size"])
    size = size + " bytes" if size.isdigit() else size[:-1] + " " + size[-1] + "iB"
    return "%s len %d pins %s object" % (view["kind"], view["len"], size)


def path_text(index, path):
    root, hops = path["root"], path["hops"]
    lines = ["#%d %s" % (index, root_text(root))]
    for start, count in fold(hops):
        end = start + count - 1
        arrow = "=>" if end == len(hops) - 1 else "->"
        note = "  (%d hops of the same shape)" % count if count > 1 else ""
        if end == len(hops) - 1 and path.get("view"):
            note += "  (%s)" % view_text(path["view"])
        lines.append("    %-30s %s %s%s" % (_step(hops, start, count, root), arrow,
                                          _block_desc(hops[end]), note))
    lines.append("    " + chain_line(root, hops))
    return lines
