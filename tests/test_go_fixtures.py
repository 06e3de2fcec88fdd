"""Sanity of the Go fixtures themselves (fixtures/go/*.go), checked without
retain (plain gdb and /proc/PID/mem): each builds in every variant, prints
READY, writes a truth file of the common shape whose addresses lie in the
Go heap, the heap objects really are linked the way the truth says, a core
holds the same bytes, and the DWARF is (or, stripped, is not) there. When
one of these fails, the retain tests against that fixture cannot be
trusted.

These run even when retain is not built (they need go and gdb)."""

import re
import struct
import subprocess

import pytest

from conftest import GDB, GO_VARIANTS, FIXTURES_DIR, gdb_env, h, plain_gdb, read_mem

pytestmark = pytest.mark.skipif(GDB is None, reason="gdb is not installed")

GO_FIXTURES = {
    "ctxchain": "go/ctxchain.go",
    "synccache": "go/synccache.go",
    "nocopy": "go/nocopy.go",
    "goleak": "go/goleak.go",
    "finalclosure": "go/finalclosure.go",
    "randgraph": "go/randgraph.go",
}
ROOT_KINDS = {"goroutine", "global", "finalizer"}
TARGET_KEYS = {"name", "addr", "size", "root_kind", "root_name", "goroutine", "function", "hops"}

CASES = [(name, variant) for name in GO_FIXTURES for variant in GO_VARIANTS]
CASES.append(("goleak", "stripped"))


@pytest.fixture(scope="module", params=CASES, ids=[f"{n}-{v}" for n, v in CASES])
def fp(request, fixture_cache):
    name, variant = request.param
    return fixture_cache.get(GO_FIXTURES[name], (), variant)


def word(pid, addr):
    return struct.unpack("<Q", read_mem(pid, addr, 8))[0]


def words(pid, addr, n):
    return list(struct.unpack(f"<{n}Q", read_mem(pid, addr, 8 * n)))


def heap_mappings(pid):
    """The anonymous rw mappings from 0xc000000000 (where the Go heap arenas
    start on linux/amd64), adjacent ones merged."""
    out = []
    with open(f"/proc/{pid}/maps") as maps:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if parts[1].startswith("rw") and len(parts) < 6 and lo >= 0xc000000000:
                if out and out[-1][1] == lo:
                    out[-1] = (out[-1][0], hi)
                else:
                    out.append((lo, hi))
    return out


def all_addrs(truth):
    """Every heap address the truth names, with the size known to be there."""
    out = [(t["addr"], t["size"]) for t in truth["targets"]]
    for t in truth["targets"]:
        for k in ("span", "logs_array", "closure", "object"):
            if t.get(k):
                out.append((t[k], 8))
    for n in truth.get("nodes", []):
        out.append((n["addr"], n["size"]))
        if n["edges_array"]:
            out.append((n["edges_array"], 8 * n["degree"]))
    if truth.get("roots_array"):
        out.append((truth["roots_array"], 8 * len(truth["roots"])))
    return out


def test_truth_shape(fp):
    t = fp.truth
    assert t["pid"] == fp.pid
    assert t["fixture"] == fp.src.stem
    assert isinstance(t["targets"], list)
    if t["fixture"] != "randgraph":
        assert t["targets"], "no targets"
    for tg in t["targets"]:
        missing = TARGET_KEYS - set(tg)
        assert not missing, f"target lacks {missing}: {tg}"
        assert re.match(r"^0x[0-9a-f]+$", tg["addr"]), tg
        assert isinstance(tg["size"], int) and tg["size"] > 0
        assert tg["root_kind"] in ROOT_KINDS, tg
        if tg["root_kind"] == "goroutine":
            assert isinstance(tg["goroutine"], int) and tg["goroutine"] > 1, tg
            assert tg["function"].startswith("main."), tg
        else:
            assert tg["goroutine"] is None and tg["function"] is None, tg
        assert tg["hops"] is None or (isinstance(tg["hops"], int) and tg["hops"] >= 1), tg


def test_addresses_in_the_go_heap(fp):
    maps = heap_mappings(fp.pid)
    assert maps, "no Go heap mapping at 0xc000000000"
    for addr, size in all_addrs(fp.truth):
        a = h(addr)
        assert a >= 0xc000000000, f"{addr} does not look like a Go heap address"
        assert any(lo <= a and a + size <= hi for lo, hi in maps), (
            f"{addr}+{size} is not inside one Go heap mapping: {[(hex(l), hex(h_)) for l, h_ in maps]}")


def test_memory_matches_truth(fp):
    """The objects are linked in memory the way the truth says."""
    t, pid = fp.truth, fp.pid
    kind = t["fixture"]
    if kind == "ctxchain":
        (tg,) = t["targets"]
        array, n, cap = words(pid, h(tg["span"]), 3)  # span.logs
        assert array == h(tg["logs_array"]) and n == 1 and cap >= 1
        ptr, ln, cp = words(pid, array, 3)            # logs[0]
        assert ptr == h(tg["addr"]) and ln == cp == tg["size"] == t["log_size"]
        assert read_mem(pid, ptr, 4) == b"abcd"
        assert tg["hops"] == t["messages"] + 3 == tg["contexts"] + 3
    elif kind == "synccache":
        assert len(t["targets"]) == t["requests"]
        assert len({tg["addr"] for tg in t["targets"]}) == t["requests"]
        for tg in t["targets"]:
            i = tg["key"]
            assert read_mem(pid, h(tg["addr"]), 8) == bytes((i + 7 * j) & 0xff for j in range(8))
            assert tg["slice_len"] == 1 and tg["size"] == 65536
    elif kind == "nocopy":
        (tg,) = t["targets"]
        got = read_mem(pid, h(tg["addr"]) + tg["str_offset"], tg["str_len"])
        assert got.decode() == tg["str_value"] and tg["str_value"].startswith("user")
        assert read_mem(pid, h(tg["addr"]), 12) == b"id=00000000 "
    elif kind == "goleak":
        assert len({tg["goroutine"] for tg in t["targets"]}) == len(t["targets"]) == 3
        for tg in t["targets"]:
            assert word(pid, h(tg["addr"])) == tg["leaker"]                # blob.id
            assert read_mem(pid, h(tg["addr"]) + 8, 1) == bytes([ord("A") + tg["leaker"]])
    elif kind == "finalclosure":
        fin = next(tg for tg in t["targets"] if tg["root_kind"] == "finalizer")
        hook = next(tg for tg in t["targets"] if tg["root_kind"] == "global")
        assert words(pid, h(fin["closure"]), 2)[1] == h(fin["addr"])   # funcval{fn, b}
        assert words(pid, h(hook["closure"]), 2)[1] == h(hook["addr"])  # funcval{fn, cfg}
        assert word(pid, h(t["hook_addr"])) == h(hook["closure"])
        assert word(pid, h(t["keeper_addr"])) == h(fin["object"])
        assert word(pid, h(fin["addr"])) == 2 and word(pid, h(hook["addr"])) == 7
    elif kind == "randgraph":
        nodes = t["nodes"]
        addr = [h(n["addr"]) for n in nodes]
        assert len(set(addr)) == len(nodes)
        off = t["edges_field"]
        out = {}
        for e in t["edges"]:
            out.setdefault(e["from"], {})[e["field"]] = e["to"]
        for i, n in enumerate(nodes):
            assert word(pid, addr[i]) == i
            array, ln, cap = words(pid, addr[i] + off, 3)
            assert ln == cap == n["degree"] == len(out.get(i, {}))
            assert array == (h(n["edges_array"]) if n["degree"] else 0)
            if ln:
                assert words(pid, array, ln) == [addr[out[i][f]] for f in range(ln)]
        array, ln, cap = words(pid, h(t["global_addr"]), 3)
        assert array == h(t["roots_array"]) and ln == len(t["roots"])
        assert words(pid, array, ln) == [addr[r["node"]] for r in t["roots"]]
    else:
        pytest.fail(f"unknown fixture {kind}")


def test_core_has_the_heap(fp):
    """gcore works, and the core holds the same bytes at the truth's addresses."""
    core = fp.core()
    addrs = [a for a, _ in all_addrs(fp.truth)][:200]
    script = f"""
import gdb, json
inf = gdb.selected_inferior()
out = {{}}
for a in {addrs!r}:
    try:
        out[a] = int.from_bytes(bytes(inf.read_memory(int(a, 16), 8)), "little")
    except gdb.MemoryError as e:
        out[a] = str(e)
print("@@" + json.dumps(out))
"""
    got = plain_gdb([str(fp.binary), str(core)], script)
    for a in addrs:
        assert got[a] == word(fp.pid, h(a)), f"core and live differ at {a}: {got[a]!r}"


# The blocking receive in each goroutine-root fixture: the function's frame
# there must describe the local (in DWARF) for retain to name the root.
BLOCKING = {"ctxchain": ("\t<-block", "ctx"), "goleak": ("\t<-never", "hoard")}


def test_dwarf(fp):
    t = fp.truth
    if fp.variant == "stripped":
        res = subprocess.run(["readelf", "-S", "-W", str(fp.binary)], capture_output=True,
                             text=True)
        if res.returncode != 0:
            pytest.skip("readelf failed")
        assert "debug_info" not in res.stdout and ".symtab" not in res.stdout, res.stdout
        return
    cmds = ["info address main.main"]
    for g in ("global", "hook", "keeper"):
        if isinstance(t.get(g), str) and t[g].startswith("main."):
            cmds.append(f"info address {t[g]}")
    if t["fixture"] in BLOCKING and fp.variant == "noopt":
        text, local = BLOCKING[t["fixture"]]
        src = (FIXTURES_DIR / "go" / f"{t['fixture']}.go").read_text().splitlines()
        line = next(i for i, l in enumerate(src, 1) if l.startswith(text))
        cmds.append(f"info scope {t['fixture']}.go:{line}")
    args = [str(fp.binary)]
    for c in cmds:
        args += ["-ex", c]
    res = subprocess.run([GDB, "-nx", "-batch", *args], capture_output=True, text=True,
                         timeout=120, env=gdb_env(), stdin=subprocess.DEVNULL)
    assert "No symbol" not in res.stdout + res.stderr, res.stdout + res.stderr
    if t["fixture"] in BLOCKING and fp.variant == "noopt":
        assert f"Symbol {BLOCKING[t['fixture']][1]} is" in res.stdout, res.stdout


def test_stays_alive(fp):
    assert fp.proc.poll() is None, f"the fixture exited with status {fp.proc.returncode}"
