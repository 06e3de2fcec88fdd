"""Sanity of the fixtures themselves, checked without retain (plain gdb and
/proc/PID/mem): the ground truth each fixture writes matches its memory, and
no stale copy of a pointer (on a stack, in a register, in a forgotten
buffer) gives a truth block a root the truth does not know about. When one
of these fails, retain's tests against that fixture cannot be trusted.

These run even when retain is not built."""

import bisect
import collections
import struct

import pytest

from conftest import GDB, h, plain_gdb, read_mem
from test_random_graph import FIXTURE_ARGS as RG_ARGS

pytestmark = pytest.mark.skipif(GDB is None, reason="gdb is not installed")

REGS = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15"]


def usable_size(pid, addr):
    """malloc_usable_size from the chunk header (size field at addr-8)."""
    size = struct.unpack("<Q", read_mem(pid, addr - 8, 8))[0]
    csize = size & ~7
    return csize - (16 if size & 2 else 8)


def scan_pointers(pid, blocks):
    """All words in readable memory that point into [addr, addr+size) of
    one of BLOCKS ({addr: size}); yields (where, value, block addr)."""
    starts = sorted(blocks)
    lo_all, hi_all = starts[0], max(a + s for a, s in blocks.items())
    with open(f"/proc/{pid}/maps") as maps:
        regions = [line.split() for line in maps]
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for parts in regions:
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5] if len(parts) > 5 else ""
            if "r" not in parts[1] or name in ("[vvar]", "[vsyscall]"):
                continue
            try:
                mem.seek(lo)
                data = mem.read(hi - lo)
            except OSError:
                continue
            for k, (v,) in enumerate(struct.iter_unpack("<Q", data[:len(data) // 8 * 8])):
                if lo_all <= v < hi_all:
                    i = bisect.bisect_right(starts, v) - 1
                    if i >= 0 and v < starts[i] + blocks[starts[i]]:
                        yield lo + 8 * k, v, starts[i]


@pytest.fixture(scope="module", params=["live", "core"])
def gdb_args(request, fixture_cache):
    """(fixture process, gdb target args) for basics, live and core."""
    fp = fixture_cache.get("basics.c")
    if request.param == "live":
        return fp, ["-p", str(fp.pid)]
    return fp, [str(fp.binary), str(fp.core())]


# ---- basics ----------------------------------------------------------------


def basics_expectations(t):
    """{block addr: (size, {slot: value})}: the only words that may point
    into each truth block, per the truth."""
    exp = {}
    lst = t["list"]
    prev = h(lst["global_addr"])
    for n in lst["nodes"]:
        exp[h(n["addr"])] = (lst["node_size"], {prev: h(n["addr"])})
        exp[h(n["payload"])] = (lst["payload_size"], {h(n["addr"]) + 16: h(n["payload"])})
        prev = h(n["addr"])
    tab = t["table"]
    last = {}
    for e in sorted(tab["entries"], key=lambda e: e["pos"]):
        b = e["bucket"]
        slot = last.get(b, h(tab["global_addr"]) + tab["buckets_offset"] + 8 * b)
        exp[h(e["addr"])] = (tab["entry_size"], {slot: h(e["addr"])})
        last[b] = h(e["addr"])
    exp[h(t["local"]["addr"])] = (t["local"]["size"], {h(t["local"]["var_addr"]): h(t["local"]["addr"])})
    exp[h(t["register"]["addr"])] = (t["register"]["size"], {})
    exp[h(t["tls"]["addr"])] = (t["tls"]["size"], {h(t["tls"]["var_addr"]): h(t["tls"]["addr"])})
    for a in t["arena"]:
        exp[h(a["addr"])] = (a["size"], {h(a["global_addr"]): h(a["addr"])})
    m = t["mmapped"]
    exp[h(m["addr"])] = (m["size"], {h(m["global_addr"]): h(m["addr"])})
    i = t["interior"]
    exp[h(i["block"])] = (i["size"], {h(i["global_addr"]): h(i["block"]) + i["offset"]})
    cyc = [h(a) for a in t["cycle"]["nodes"]]
    for k, a in enumerate(cyc):
        exp[a] = (t["cycle"]["size"], {cyc[k - 1]: a})
    two = t["two_roots"]
    exp[h(two["addr"])] = (two["size"], {h(g): h(two["addr"]) for g in two["global_addrs"]})
    return exp


def test_basics_no_stale_pointers(fixture_cache):
    """Live memory: every word pointing into a truth block (over its whole
    usable size) is one the truth accounts for."""
    fp = fixture_cache.get("basics.c")
    exp = basics_expectations(fp.truth)
    blocks = {a: max(size, usable_size(fp.pid, a)) for a, (size, _) in exp.items()}
    seen = collections.defaultdict(dict)
    unexpected = []
    for where, value, block in scan_pointers(fp.pid, blocks):
        allowed = exp[block][1]
        if allowed.get(where) == value:
            seen[block][where] = value
        else:
            unexpected.append(f"{where:#x} holds {value:#x} (block {block:#x})")
    assert not unexpected, "stale or unknown pointers:\n" + "\n".join(unexpected[:30])
    missing = [(hex(b), hex(w)) for b, (_, allowed) in exp.items() for w in allowed
               if w not in seen[b]]
    assert not missing, f"expected pointers not found: {missing[:10]}"


GDB_BASICS_CHECK = r"""
import gdb, json
t = json.load(open(%(truth)r))
inf = gdb.selected_inferior()
out = {"regs": {}}
for th in inf.threads():
    th.switch()
    f = gdb.newest_frame()
    out["regs"][str(th.ptid[1])] = {r: int(f.read_register(r)) & (2**64 - 1) for r in %(regs)r}
    if th.ptid[1] == t["main_tid"]:
        out["frames"] = []
        while f is not None:
            out["frames"].append(f.name())
            f = f.older()
        f1 = gdb.newest_frame().older()
        out["held_by_local"] = int(f1.read_var("held_by_local"))
        out["tcache_entry"] = int(gdb.parse_and_eval("(long)tcache->entries[2]"))
        out["tcache_count"] = int(gdb.parse_and_eval("tcache->counts[2]"))
    if th.ptid[1] == t["thread2_tid"]:
        out["tls_block"] = int(gdb.parse_and_eval("(long)tls_block"))
        out["tls_var"] = int(gdb.parse_and_eval("(long)&tls_block"))
def word(a):
    return int.from_bytes(bytes(inf.read_memory(a, 8)), "little")
out["size_fields"] = {k: word(int(a, 16) - 8) for k, a in
                      [("arena%%d" %% i, x["addr"]) for i, x in enumerate(t["arena"])]
                      + [("mmapped", t["mmapped"]["addr"])]}
out["unsorted_fd"] = int(gdb.parse_and_eval("(long)main_arena.bins[0]"))
out["unsorted_bk"] = int(gdb.parse_and_eval("(long)main_arena.bins[1]"))
print("@@" + json.dumps(out))
"""


def test_basics_registers_frames_and_heap(gdb_args):
    """With plain gdb, live and from the core: r12, the frames, the local,
    the TLS variable, the chunk bits and the free lists are as the truth says,
    and no other register of any thread points into a truth block."""
    fp, args = gdb_args
    t = fp.truth
    script = GDB_BASICS_CHECK % {"truth": str(fp.truth_path), "regs": REGS}
    res = plain_gdb(args, script)
    main = str(t["main_tid"])
    assert res["regs"][main]["r12"] == h(t["register"]["addr"])
    assert res["frames"][:3] == ["park_main", "hold_local", "main"], res["frames"]
    assert res["held_by_local"] == h(t["local"]["addr"])
    assert res["tls_block"] == h(t["tls"]["addr"])
    assert res["tls_var"] == h(t["tls"]["var_addr"])
    for i in range(len(t["arena"])):
        assert res["size_fields"][f"arena{i}"] & 4, "NON_MAIN_ARENA bit"
    assert res["size_fields"]["mmapped"] & 2, "IS_MMAPPED bit"
    assert res["tcache_count"] == 1 and res["tcache_entry"] == h(t["freed"][0]["addr"])
    assert res["unsorted_fd"] == res["unsorted_bk"] == h(t["freed"][1]["addr"]) - 16
    exp = basics_expectations(t)
    for tid, regs in res["regs"].items():
        for reg, v in regs.items():
            for a, (size, _) in exp.items():
                if a <= v < a + size:
                    assert (tid, reg, a) == (main, "r12", h(t["register"]["addr"])), (
                        f"thread {tid} {reg} = {v:#x} points into truth block {a:#x}")


# ---- vtable -------------------------------------------------------------------


def test_vtable_truth(fixture_cache):
    fp = fixture_cache.get("vtable.cc")
    t = fp.truth
    exp = {}
    arr = t["array"]
    for o in arr["objects"]:
        a = h(o["addr"])
        exp[a] = {h(arr["global_addr"]) + 8 * o["index"]: a}
        exp[h(o["tag"])] = {a + 8: h(o["tag"])}
        exp[h(o["buffer"])] = {a + 24: h(o["buffer"])}
    vec = t["vector"]
    storage = h(vec["storage"])
    exp[storage] = {h(vec["global_addr"]): storage}
    for o in vec["objects"]:
        a = h(o["addr"])
        exp[a] = {storage + 8 * o["index"]: a}
        exp[h(o["tag"])] = {a + 8: h(o["tag"])}
        exp[h(o["buffer"])] = {a + 24: h(o["buffer"])}
    blocks = {a: usable_size(fp.pid, a) for a in exp}
    unexpected = []
    for where, value, block in scan_pointers(fp.pid, blocks):
        if exp[block].get(where) == value:
            continue
        # the vector's _M_finish / _M_end_of_storage point just past the
        # 4 elements, which is still inside the storage block's slack
        if block == storage and where in (h(vec["global_addr"]) + 8, h(vec["global_addr"]) + 16):
            continue
        unexpected.append(f"{where:#x} holds {value:#x} (block {block:#x})")
    assert not unexpected, "\n".join(unexpected[:30])
    # the dynamic classes, as gdb sees them from the vtable pointers
    script = ("import gdb, json\n"
              "out = [gdb.parse_and_eval('(Shape *)' + a).dynamic_type.target().name\n"
              "       for a in %r]\n"
              "print('@@' + json.dumps(out))\n"
              % ([o["addr"] for o in arr["objects"] + vec["objects"]],))
    classes = plain_gdb(["-p", str(fp.pid)], script)
    assert classes == [o["class"] for o in arr["objects"] + vec["objects"]]


# ---- random graph ------------------------------------------------------------------


def test_random_graph_truth_consistent(fixture_cache):
    fp = fixture_cache.get("random_graph.c", RG_ARGS)
    t = fp.truth
    blocks = t["blocks"]
    n = len(blocks)
    assert n == t["nblocks"] >= 1000
    # BFS from the recorded roots over the recorded edges gives the truth's distances
    dist = [None] * n
    queue = collections.deque()
    for r in t["roots"]:
        if dist[r["to"]] is None:
            dist[r["to"]] = 1
            queue.append(r["to"])
    while queue:
        i = queue.popleft()
        for _, to, _ in blocks[i]["edges"]:
            if dist[to] is None:
                dist[to] = dist[i] + 1
                queue.append(to)
    assert dist == [b["dist"] for b in blocks]
    unreachable = dist.count(None)
    assert 0.03 * n <= unreachable <= 0.08 * n
    assert t["max_dist"] >= 8
    for b in blocks:
        assert 16 <= b["size"] <= 512
        assert len(b["edges"]) <= 4
        offs = [e[0] for e in b["edges"]]
        assert len(set(offs)) == len(offs) and all(o % 8 == 0 and o + 8 <= b["size"] for o in offs)
        assert all(0 <= e[2] < blocks[e[1]]["size"] for e in b["edges"])
    interior = sum(1 for b in blocks for e in b["edges"] if e[2])
    assert interior > 0
    # some unreachable blocks are in cycles (here: a self-loop or a 2..5-cycle)
    def in_cycle(i):
        seen, frontier = set(), [i]
        for _ in range(6):
            frontier = [e[1] for j in frontier for e in blocks[j]["edges"]]
            if i in frontier:
                return True
            frontier = [j for j in frontier if j not in seen and dist[j] is None]
            seen.update(frontier)
        return False
    assert sum(in_cycle(i) for i in range(n) if dist[i] is None) >= unreachable // 4


def test_random_graph_memory_matches_truth(fixture_cache):
    """Live memory holds exactly the recorded edges and roots: no stale
    pointer into any block anywhere (stacks, registers' spill, buffers)."""
    fp = fixture_cache.get("random_graph.c", RG_ARGS)
    t = fp.truth
    addr = [h(b["addr"]) for b in t["blocks"]]
    expected = {}
    for i, b in enumerate(t["blocks"]):
        for off, to, po in b["edges"]:
            expected[addr[i] + off] = addr[to] + po
    g = h(t["global_addr"])
    for r in t["roots"]:
        expected[g + 8 * r["index"]] = addr[r["to"]] + r["ptr_offset"]
    blocks = {a: b["size"] for a, b in zip(addr, t["blocks"])}
    found, unexpected = 0, []
    for where, value, _ in scan_pointers(fp.pid, blocks):
        if expected.get(where) == value:
            found += 1
        else:
            unexpected.append(f"{where:#x} holds {value:#x}")
    assert not unexpected, "\n".join(unexpected[:30])
    assert found == len(expected)
    # and no register of the parked process points into a block
    script = ("import gdb, json\n"
              "f = gdb.newest_frame()\n"
              "print('@@' + json.dumps([int(f.read_register(r)) & (2**64-1) for r in %r]))\n"
              % (REGS,))
    starts = sorted(blocks)
    for v in plain_gdb(["-p", str(fp.pid)], script):
        i = bisect.bisect_right(starts, v) - 1
        assert not (i >= 0 and v < starts[i] + blocks[starts[i]]), f"register holds {v:#x}"
