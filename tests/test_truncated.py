"""Truncated and partial cores of fixtures/basics.c.

(a) Cores cut short, as a core size limit (RLIMIT_CORE) or a full disk
    leaves them. gdb's gcore writes the notes (registers) after the memory,
    so any cut loses them and gdb refuses the core; the kernel writes the
    notes first. The tests re-lay gcore's core out the kernel's way (notes,
    then the segments) and also with the main heap's segment last, then cut:
    within the headers, right after the notes, mid-way, at 90%, and at
    several points inside the main heap.
(b) Cores with mappings left out: gcore with `set use-coredump-filter on`
    honours /proc/PID/coredump_filter (gdb omits the filtered mappings), and
    a kernel core says p_filesz = 0 for a filtered mapping, which the tests
    produce by editing the program headers (main heap, arena heap, mmapped
    chunk).

Whatever the input, gdb must not crash and retain must either answer or
fail with one `retain:` line. When it answers about a core that lacks
writable memory, the answer says it may be incomplete and how many bytes
could not be read, and `retain stats` lists the missing ranges."""

import os
import shutil
import struct
import subprocess

import pytest

from conftest import (GDB, GDB_TIMEOUT, check_path_answer, gdb_env, gdb_script, h,
                      json_lines, run_retain)

FIXTURE = "basics.c"

PT_LOAD, PT_NOTE = 1, 4
PF_W = 2
PAGE = 4096
PHDR = struct.Struct("<IIQQQQQQ")   # type, flags, offset, vaddr, paddr, filesz, memsz, align


# ---- ELF core surgery ---------------------------------------------------

class Core:
    """An ELF64 core's bytes and program headers (as mutable lists)."""

    def __init__(self, path):
        self.data = open(path, "rb").read()
        self.ehdr = bytearray(self.data[:64])
        phoff, = struct.unpack_from("<Q", self.ehdr, 32)
        phentsize, phnum = struct.unpack_from("<HH", self.ehdr, 54)
        assert phentsize == PHDR.size
        self.phdrs = [list(PHDR.unpack_from(self.data, phoff + i * PHDR.size)) for i in range(phnum)]

    def loads(self):
        return [p for p in self.phdrs if p[0] == PT_LOAD]

    def load_at(self, addr):
        for p in self.loads():
            if p[3] <= addr < p[3] + p[6]:
                return p
        raise AssertionError("no PT_LOAD holds 0x%x" % addr)

    def write(self, path, order=None):
        """Kernel layout: headers, notes, then each segment's bytes (page
        aligned) in `order` (a list of phdrs; default: by address). Program
        headers keep their order; section headers are dropped."""
        body = [p for p in self.phdrs if p[0] == PT_NOTE]
        body += order if order is not None else sorted(self.loads(), key=lambda p: p[3])
        off = 64 + len(self.phdrs) * PHDR.size
        chunks = []
        for p in body:
            if p[0] == PT_LOAD:
                off = (off + PAGE - 1) & ~(PAGE - 1)
            chunks.append((off, self.data[p[2]:p[2] + p[5]]))
            p[2] = off if p[5] else 0
            off += p[5]
        ehdr = bytearray(self.ehdr)
        struct.pack_into("<Q", ehdr, 32, 64)          # e_phoff
        struct.pack_into("<Q", ehdr, 40, 0)           # e_shoff
        struct.pack_into("<HHH", ehdr, 58, 0, 0, 0)   # e_shentsize, e_shnum, e_shstrndx
        out = bytearray(off)
        out[:64] = ehdr
        for i, p in enumerate(self.phdrs):
            PHDR.pack_into(out, 64 + i * PHDR.size, *p)
        for o, b in chunks:
            out[o:o + len(b)] = b
        with open(path, "wb") as f:
            f.write(out)


def cut(path, size):
    os.truncate(path, size)


# ---- running retain on a broken core ------------------------------------

def retain_lines(err):
    return [line for line in err.splitlines() if line.startswith("retain:")]


def answer_or_error(target, cmd):
    """Run one command: (answer, None) or (None, the one `retain:` line)."""
    rc, out, err = run_retain(target, cmd)   # asserts: no traceback, gdb alive
    answers = json_lines(out)
    if rc == 0:
        assert len(answers) == 1, f"{cmd}: status 0 but {len(answers)} JSON lines:\n{out}\n{err}"
        return answers[0], None
    lines = retain_lines(err)
    assert len(lines) == 1, f"{cmd}: expected one 'retain:' line:\n{out}\n{err}"
    assert not answers
    return None, lines[0]


def ask_all(target, truth):
    """The commands of test_errors' truncated-core test, plus info/who."""
    nodes = truth["list"]["nodes"]
    return [answer_or_error(target, cmd) for cmd in (
        "retain stats --json",
        "retain path %s --json" % nodes[-1]["addr"],
        "retain who %s --json" % nodes[3]["addr"],
        "retain info %s --json" % truth["mmapped"]["addr"],
        "retain info %s --json" % truth["arena"][0]["addr"])]


def assert_incomplete(ans, missing_bytes=None):
    assert ans["incomplete"] is True, ans
    unread = [w for w in ans["warnings"] if w.endswith("bytes of the target could not be read")]
    assert unread, ans["warnings"]
    if missing_bytes is not None:
        assert int(unread[0].split()[0]) >= missing_bytes, (unread, missing_bytes)


def assert_missing_listed(stats, start, end):
    """stats["missing"] has a writable range covering [start, end)."""
    assert any(h(m["start"]) <= start and end <= h(m["end"]) and m["writable"]
               for m in stats["missing"]), (hex(start), hex(end), stats["missing"])


@pytest.fixture(scope="module")
def basics(retain_dev, fixture_cache):
    return fixture_cache.get(FIXTURE)


# ---- (a) cut short ----------------------------------------------------------

@pytest.mark.parametrize("fraction", [0.25, 0.9])
def test_gcore_layout_cut(basics, tmp_path, fraction):
    """gcore puts the notes last: any cut loses the registers; gdb refuses
    the core and retain says there is nothing to analyse."""
    core = tmp_path / "cut.core"
    shutil.copyfile(basics.core(), core)
    cut(core, int(os.path.getsize(core) * fraction))
    for ans, error in ask_all([str(basics.binary), str(core)], basics.truth):
        assert ans is None, ans
        assert error


@pytest.mark.parametrize("where", ["in-headers", "after-notes", "half", "90%"])
def test_kernel_layout_cut(basics, tmp_path, where):
    """Notes first, segments by address: a cut keeps the registers and
    loses the top of the address space (libraries, stacks, the link map)
    first. retain answers or says why not, in one line."""
    c = Core(basics.core())
    core = tmp_path / "kernel.core"
    c.write(core)
    note = [p for p in c.phdrs if p[0] == PT_NOTE][0]
    size = os.path.getsize(core)
    at = {"in-headers": 64 + PHDR.size, "after-notes": note[2] + note[5],
          "half": size // 2, "90%": size * 9 // 10}[where]
    cut(core, at)
    results = ask_all([str(basics.binary), str(core)], basics.truth)
    for ans, error in results:
        if ans is not None:
            assert_incomplete(ans)
    stats, _ = results[0]
    if stats is not None:
        assert stats["missing"], stats


def heap_last_core(basics, tmp_path, keep):
    """A kernel-layout core whose main heap segment comes last, cut `keep`
    bytes into it. Returns (core path, heap vaddr, heap end, cut address)."""
    c = Core(basics.core())
    t = basics.truth
    heap = c.load_at(h(t["list"]["nodes"][0]["addr"]))
    order = [p for p in sorted(c.loads(), key=lambda p: p[3]) if p is not heap] + [heap]
    core = tmp_path / "heap_last.core"
    c.write(core, order)
    cut(core, heap[2] + keep)
    return core, heap[3], heap[3] + heap[6], heap[3] + keep


def table_entries_below(truth, addr):
    """Table entries whose whole bucket chain (and the chunk header after
    each) lies below addr: retain must still find them at their depth."""
    entries = truth["table"]["entries"]
    size = truth["table"]["entry_size"] + 8
    by_bucket = {}
    for e in entries:
        by_bucket.setdefault(e["bucket"], []).append(e)
    ok = []
    for e in entries:
        chain = [x for x in by_bucket[e["bucket"]] if x["pos"] <= e["pos"]]
        if all(h(x["addr"]) + size + 16 <= addr for x in chain):
            ok.append(e)
    return ok


_ASK = r'''
out["answers"] = [retain(c) for c in ARGS["json"]]
ok, text = run("retain stats")
out["stats_text"] = text
'''


@pytest.mark.parametrize("where", ["heap-start", "mid-table", "in-top"])
def test_cut_in_main_heap(basics, tmp_path, where):
    """The core ends inside the main heap: at its start, in the middle of
    the hash table's entries (a chunk header cut in two), or inside the top
    chunk. What lies before the cut is walked, the non-main arena and the
    mmapped chunk are whole, the answers say they may be incomplete, and
    stats lists the missing heap range."""
    t = basics.truth
    c = Core(basics.core())
    heap = c.load_at(h(t["list"]["nodes"][0]["addr"]))
    keep = {"heap-start": 0,
            "mid-table": h(t["table"]["entries"][100]["addr"]) - 8 - heap[3],
            "in-top": heap[5] * 3 // 4}[where]
    core, heap_start, heap_end, cut_at = heap_last_core(basics, tmp_path, keep)
    target = [str(basics.binary), str(core)]
    below = table_entries_below(t, cut_at)
    if where != "heap-start":
        assert len(below) >= 10, "the cut should leave table entries whole"
    cmds = ["retain stats --json",
            "retain path %s --json" % t["arena"][1]["addr"],
            "retain path %s --json" % t["mmapped"]["addr"]]
    cmds += ["retain path %s --json" % e["addr"] for e in below[-10:]]
    res = gdb_script(target, _ASK, args={"json": cmds})
    answers = res["answers"]
    for cmd, ans in zip(cmds, answers):
        assert "error" not in ans, (cmd, ans)
        assert_incomplete(ans, heap_end - cut_at)
    stats = answers[0]
    assert_missing_listed(stats, cut_at, heap_end)
    if where == "in-top":   # every chunk header was read: only the bytes are missing
        assert len(stats["warnings"]) == 1, stats["warnings"]
        assert stats["blocks"]["in_use"] >= len(t["table"]["entries"]) + 2 * len(t["list"]["nodes"])
    else:
        assert any("header is unreadable" in w for w in stats["warnings"]), stats["warnings"]
    # the missing bytes are counted once (the walk does not count them again)
    assert stats["unreadable_bytes"] - (heap_end - cut_at) < 64, stats["unreadable_bytes"]
    text = res["stats_text"]
    assert "missing from the core:" in text, text
    assert "0x%x-0x%x rw" % (cut_at, heap_end) in text, text
    assert "warning: results may be incomplete: " in text, text
    arena, big = answers[1], answers[2]
    for ans, glob in ((arena, "g_arena_blocks"), (big, "g_big")):
        check_path_answer(ans)
        assert ans["paths"][0]["root"]["name"] == glob, ans["paths"][0]["root"]
        assert len(ans["paths"][0]["hops"]) == 1
    for e, ans in zip(below[-10:], answers[3:]):
        check_path_answer(ans)
        assert ans["paths"][0]["root"]["name"] == "g_table", (e, ans["paths"][0]["root"])
        assert len(ans["paths"][0]["hops"]) == e["depth"], (e, ans)


def test_cut_in_main_heap_lost_blocks(basics, tmp_path):
    """A block past the cut is not found: info says not-heap (incomplete),
    path fails with one `retain:` line naming the address."""
    t = basics.truth
    core, heap_start, heap_end, cut_at = heap_last_core(basics, tmp_path, 0)
    target = [str(basics.binary), str(core)]
    node = t["list"]["nodes"][0]["addr"]
    ans, error = answer_or_error(target, "retain info %s --json" % node)
    assert error is None, error
    assert ans["state"] == "not-heap", ans
    assert_incomplete(ans)
    ans, error = answer_or_error(target, "retain path %s --json" % node)
    assert ans is None and node in error, (ans, error)


# ---- (b) mappings left out ------------------------------------------------

def filtered_gcore(basics, tmp_path, value):
    """gcore of the running fixture with gdb honouring coredump_filter=value."""
    path = "/proc/%d/coredump_filter" % basics.pid
    old = open(path).read().strip()
    core = tmp_path / ("filtered-%s.core" % value)
    try:
        with open(path, "w") as f:
            f.write(value)
        res = subprocess.run([GDB, "-nx", "-batch", "-p", str(basics.pid),
                              "-ex", "set use-coredump-filter on", "-ex", "gcore %s" % core],
                             capture_output=True, text=True, timeout=GDB_TIMEOUT, env=gdb_env())
    finally:
        with open(path, "w") as f:
            f.write("0x" + old)   # the file shows hex; without 0x the kernel reads octal
    assert res.returncode == 0 and core.exists(), res.stdout + res.stderr
    assert basics.proc.poll() is None
    return core


def test_filter_anonymous_only(basics, tmp_path):
    """coredump_filter 0x1 (anonymous private memory only): the read-only
    file mappings are left out. Nothing retain reads is missing, so every
    answer is whole and right."""
    t = basics.truth
    core = filtered_gcore(basics, tmp_path, "0x1")
    full = sum(p[6] for p in Core(basics.core()).loads())
    assert sum(p[6] for p in Core(core).loads()) < full, "the filter left nothing out"
    target = [str(basics.binary), str(core)]
    last = t["list"]["nodes"][-1]
    cmds = ["retain stats --json", "retain path %s --json" % last["addr"],
            "retain path %s --json" % t["arena"][0]["addr"], "retain info %s --json" % t["mmapped"]["addr"]]
    answers = gdb_script(target, _ASK, args={"json": cmds})["answers"]
    for cmd, ans in zip(cmds, answers):
        assert "error" not in ans, (cmd, ans)
        assert ans["incomplete"] is False, (cmd, ans["warnings"])
    assert answers[0]["missing"] == []
    path = check_path_answer(answers[1])["paths"][0]
    assert path["root"]["kind"] == "global" and h(path["root"]["addr"]) == h(t["list"]["global_addr"])
    assert len(path["hops"]) == last["depth"]
    assert answers[3]["state"] == "in-use" and h(answers[3]["block"]) == h(t["mmapped"]["addr"])


def test_filter_anonymous_only_names_globals(basics, tmp_path):
    t = basics.truth
    core = filtered_gcore(basics, tmp_path, "0x1")
    ans, error = answer_or_error([str(basics.binary), str(core)],
                                 "retain path %s --json" % t["list"]["nodes"][0]["addr"])
    assert ans["paths"][0]["root"]["name"] == "g_list", ans["paths"][0]["root"]


@pytest.mark.parametrize("value", ["0x0", "0x4"])
def test_filter_without_anonymous(basics, tmp_path, value):
    """Without (most) anonymous memory the core lacks heaps and stacks, and
    maybe the link map (then gdb cannot load libc). One `retain:` line, or
    an answer that says it may be incomplete."""
    core = filtered_gcore(basics, tmp_path, value)
    for ans, error in ask_all([str(basics.binary), str(core)], basics.truth):
        if ans is not None:   # gdb left the memory out: the core cannot say how much
            assert ans["incomplete"] is True and ans["warnings"], ans


@pytest.mark.parametrize("which", ["main-heap", "arena-heap", "mmapped"])
def test_filtered_segment(basics, tmp_path, which):
    """A kernel core gives a filtered mapping p_filesz = 0: the range is
    listed as missing, the answers say they may be incomplete, and what
    lies elsewhere is still found."""
    t = basics.truth
    c = Core(basics.core())
    probe = {"main-heap": t["list"]["nodes"][0]["addr"], "arena-heap": t["arena"][0]["addr"],
             "mmapped": t["mmapped"]["addr"]}
    seg = c.load_at(h(probe[which]))
    assert seg[1] & PF_W
    start, end = seg[3], seg[3] + seg[6]
    seg[5] = 0
    core = tmp_path / ("no-%s.core" % which)
    c.write(core)
    target = [str(basics.binary), str(core)]
    cmds = ["retain stats --json"] + ["retain info %s --json" % probe[k] for k in sorted(probe)]
    cmds += ["retain path %s --json" % probe[k] for k in sorted(probe) if k != which]
    answers = gdb_script(target, _ASK, args={"json": cmds})["answers"]
    for cmd, ans in zip(cmds, answers):
        assert "error" not in ans, (cmd, ans)
        assert_incomplete(ans, end - start)
    assert_missing_listed(answers[0], start, end)
    infos = dict(zip(sorted(probe), answers[1:4]))
    for k, info in infos.items():
        if k == which:
            assert info["state"] == "not-heap", (k, info)
        else:
            assert info["state"] == "in-use" and h(info["block"]) == h(probe[k]), (k, info)
    for ans in answers[4:]:
        check_path_answer(ans)
        assert ans["reachable"], ans
