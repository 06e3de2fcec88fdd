"""Small views that pin big objects (Go): a slice or string header whose
length is far smaller than the object its pointer points into still keeps
the whole object alive (`cache[k] = req.Msg[:1]` pins all of req.Msg).
A view is recognised by what the pointer points into, as the naming labels
it: a slice's "[]T backing array" (the word is a slice header's array, then
len and cap follow) or a string's "string bytes" (then len)."""

import struct

import gdb

import _retain

PIN_RATIO = 8   # a view at least this many times smaller than its object is worth saying
BACKING = " backing array"   # naming's label for a slice's array: "[]uint8 backing array"
STRING_BYTES = "string bytes"


def _word(session, addr):
    data = session.read(addr, 8)
    return struct.unpack("<Q", data)[0] if len(data) == 8 else None


def _element_size(type_name):
    """Bytes of one element of a "[]T backing array" (1 when unknown)."""
    elem = type_name[2:-len(BACKING)]
    if elem.startswith("*") or elem.startswith("map[") or elem.startswith("chan "):
        return 8
    try:
        return max(gdb.lookup_type(elem).sizeof, 1)
    except gdb.error:
        return 1


def view_at(session, slot, obj_size, obj_type, interior):
    """The view whose pointer word is at slot, into an object of obj_size
    bytes typed obj_type (as naming labels it), interior bytes in: a dict
    when the view is PIN_RATIO times smaller than the object, else None."""
    if slot is None or not obj_type:
        return None
    if obj_type.startswith("[]") and obj_type.endswith(BACKING):
        kind, elem = "slice", _element_size(obj_type)
    elif obj_type == STRING_BYTES:
        kind, elem = "string", 1
    else:
        return None
    length = _word(session, slot + 8)
    cap = _word(session, slot + 16) if kind == "slice" else length
    if length is None or cap is None or length > cap or cap * elem > obj_size - interior:
        return None   # the words after the pointer are not a header's len and cap
    if length * elem * PIN_RATIO > obj_size:
        return None
    view = {"kind": kind, "len": length, "bytes": length * elem, "object_size": obj_size,
            "offset": interior, "slot": "0x%x" % slot}
    if kind == "slice":
        view["cap"] = cap
    return view


def annotate(session, paths):
    """Sets path["view"] when a path's last hop is reached through a small view."""
    for p in paths:
        if not p["hops"]:
            continue
        _addr, size, tname, slot, _off, _field, _ptr, interior, _via = p["hops"][-1]
        p["view"] = view_at(session, slot, size, tname, interior)


def views_of(session, referrers, size, tname):
    """The small views among a block's direct referrers (`retain info`)."""
    out = []
    for r in referrers:
        if r["kind"] == "block":
            holder, _size, _type, slot, _off, _field, _pointer, interior, _via = r["hop"]
            holder = "0x%x" % holder
        else:   # a root variable that is itself a slice or a string
            root = r["root"]
            if root["offset"] != 0 or not root["addr"] or not root["type"]:
                continue
            if root["type"] != "string" and not root["type"].startswith("[]"):
                continue
            holder, slot = root["name"], int(root["addr"], 16)
            interior = int(root["pointer"], 16) - r["block"]
        v = view_at(session, slot, size, tname, interior)
        if v is not None:
            v["holder"] = holder
            out.append(v)
    return out


def report_views(session, n):
    """The small views that pin the n largest objects (`retain report` on a
    Go heap): [{"block", "size", "type", "views": [...]}], largest first."""
    out = []
    for addr, size in sorted(_retain.largest_blocks(session, n), key=lambda b: (-b[1], b[0])):
        paths, _ = session.paths(addr, n=1)
        tname = paths[0]["hops"][-1][2] if paths else None
        found = views_of(session, session.referrers(addr), size, tname)
        if found:
            out.append({"block": "0x%x" % addr, "size": size, "type": tname, "views": found})
    return out
