#!/usr/bin/env python3
"""Seed inputs for retain's fuzz targets, made at fuzz time (no binary is
committed). Used by fuzz/run.sh:

    mkseeds.py core  OUTDIR [CORE...]   small cores: a synthetic one, and each
                                        CORE (e.g. from gcore) trimmed
    mkseeds.py glibc OUTDIR             synthetic heaps in fuzz_glibc's format
    mkseeds.py go    OUTDIR             synthetic Go heaps in fuzz_go's format
    mkseeds.py hex   FILE               FILE as the text form of
                                        fuzz/regressions/ (to stdout)
    mkseeds.py unhex OUTDIR TXT...      each regression case TXT decoded
                                        into OUTDIR (as more seeds)

A trimmed core keeps the ELF header, every program header, the notes the
engine reads (NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_SIGINFO, NT_FILE; the
large register-state and gdb notes are dropped) and at most SEG_KEEP bytes
of each PT_LOAD, so it stays far below the fuzzer's -max_len while its
program headers still describe the original address space (the rest of
each segment becomes "absent", as in a truncated core).
"""

import struct
import sys
from pathlib import Path

SEG_KEEP = 64          # bytes kept of each PT_LOAD in a trimmed core
CORE_MAX = 16384       # a seed larger than this is cut (fuzz/run.sh: -max_len)

PT_LOAD, PT_NOTE = 1, 4
NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_SIGINFO, NT_FILE = 1, 3, 6, 0x53494749, 0x46494C45
KEEP_NOTES = {NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_SIGINFO, NT_FILE}
EHDR = struct.Struct("<16sHHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


def align4(n):
    return (n + 3) & ~3


# ---- cores -------------------------------------------------------------------

def ehdr(phnum, phoff=64):
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)   # ELF64, LSB, current
    return EHDR.pack(ident, 4, 62, 1, 0, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)


def note(name, ntype, desc):
    n = name + b"\0"
    return (struct.pack("<III", len(n), len(desc), ntype) + n.ljust(align4(len(n)), b"\0")
            + desc.ljust(align4(len(desc)), b"\0"))


def nt_file(entries, page=4096):
    """entries: (start, end, file page offset, path)."""
    desc = struct.pack("<QQ", len(entries), page)
    desc += b"".join(struct.pack("<QQQ", s, e, o) for s, e, o, _ in entries)
    desc += b"".join(p.encode() + b"\0" for *_, p in entries)
    return desc


def build_core(notes, loads):
    """notes: bytes of one PT_NOTE; loads: (vaddr, memsz, flags, data)."""
    phnum = 1 + len(loads)
    off = 64 + 56 * phnum
    phdrs = [PHDR.pack(PT_NOTE, 4, off, 0, 0, len(notes), 0, 1)]
    body = notes
    off += len(notes)
    for vaddr, memsz, flags, data in loads:
        phdrs.append(PHDR.pack(PT_LOAD, flags, off, vaddr, 0, len(data), memsz, 1))
        body += data
        off += len(data)
    return ehdr(phnum) + b"".join(phdrs) + body


def synthetic_cores():
    """A small core like tests/c/test_memory.c's: a program, its data, a heap."""
    files = nt_file([(0x400000, 0x401000, 0, "/bin/prog"),
                     (0x401000, 0x403000, 1, "/lib/with space.so")])
    notes = note(b"CORE", NT_FILE, files) + note(b"CORE", NT_PRSTATUS, bytes(336))
    pattern = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(256))
    loads = [(0x400000, 0x1000, 5, pattern[:128]),          # r-x, mostly absent
             (0x401000, 0x2000, 6, pattern),                # rw-, adjacent
             (0x555555559000, 0x21000, 6, pattern[:64]),    # [heap]
             (0x7ffff7ff0000, 0x1000, 4, b"")]              # nothing present
    full = build_core(notes, loads)
    yield "synthetic", full
    yield "synthetic-cut-in-notes", full[:64 + 56 * 5 + 40]
    yield "synthetic-headers-only", full[:64 + 56 * 5]
    # NT_FILE that claims more entries than it holds
    bad = nt_file([(0x400000, 0x401000, 0, "/bin/prog")])
    bad = struct.pack("<Q", 1000) + bad[8:]
    yield "synthetic-bad-nt-file", build_core(note(b"CORE", NT_FILE, bad), loads[:2])


def trim_core(image):
    ident, e_type, e_machine, _, _, e_phoff, _, _, _, e_phentsize, e_phnum, *_ = EHDR.unpack_from(image)
    if ident[:4] != b"\x7fELF" or e_type != 4 or e_phentsize != 56:
        raise ValueError("not an ELF64 core")
    notes, loads = b"", []
    for i in range(e_phnum):
        p_type, p_flags, p_offset, p_vaddr, _, p_filesz, p_memsz, _ = \
            PHDR.unpack_from(image, e_phoff + 56 * i)
        if p_type == PT_NOTE:
            pos, end = p_offset, p_offset + p_filesz
            while pos + 12 <= end:
                namesz, descsz, ntype = struct.unpack_from("<III", image, pos)
                nxt = pos + 12 + align4(namesz) + align4(descsz)
                if nxt > end:
                    break
                if ntype in KEEP_NOTES:
                    notes += image[pos:nxt]
                pos = nxt
        elif p_type == PT_LOAD and p_memsz:
            keep = min(p_filesz, SEG_KEEP) if len(loads) % 4 != 3 else 0
            loads.append((p_vaddr, p_memsz, p_flags, image[p_offset:p_offset + keep]))
    return build_core(notes, loads)


def cmd_core(out, cores):
    out.mkdir(parents=True, exist_ok=True)
    for name, data in synthetic_cores():
        (out / name).write_bytes(data)
    for i, path in enumerate(cores):
        try:
            small = trim_core(Path(path).read_bytes())
        except (ValueError, struct.error) as e:
            print(f"mkseeds: {path}: {e}; not used", file=sys.stderr)
            continue
        if len(small) > CORE_MAX:
            print(f"mkseeds: {path}: trimmed core is {len(small)} bytes; cut to {CORE_MAX}",
                  file=sys.stderr)
            small = small[:CORE_MAX]
        (out / f"gcore-{i}").write_bytes(small)
        (out / f"gcore-{i}-truncated").write_bytes(small[:len(small) * 2 // 3])


# ---- glibc heaps (fuzz/fuzz_glibc.c's input format) -------------------------------

MAX_REGIONS = 8
HEADER = 88 + 24 * MAX_REGIONS
P, M, NM = 1, 2, 4


class Space:
    """Regions of a fake address space, written into at absolute addresses."""

    def __init__(self):
        self.regions = []   # [start, map_len, bytearray, prot, named]

    def region(self, start, map_len, data_len, prot=3, named=False):
        self.regions.append([start, map_len, bytearray(data_len), prot, named])

    def put(self, addr, value, size=8):
        for start, _, buf, _, _ in self.regions:
            if start <= addr and addr + size <= start + len(buf):
                buf[addr - start:addr - start + size] = value.to_bytes(size, "little")
                return
        raise ValueError(f"no readable region at {addr:#x}")

    def chunk(self, c, size):
        self.put(c + 8, size)

    def encode(self, flags, main_arena, sbrk_base, tcaches, layout=None):
        h = bytearray(HEADER)
        h[0] = flags
        h[1] = len(self.regions)
        h[2] = len(tcaches)
        lay = layout or dict(nfastbins=10, tcache_bins=64, off_fastbins=16, off_top=96,
                             off_next=2160, sizeof_malloc_state=2200, sizeof_heap_info=48,
                             off_heap_info_size=16, off_heap_info_prev=8, heap_max_log2=26)
        h[3] = lay["nfastbins"]
        struct.pack_into("<IQQ", h, 4, lay["tcache_bins"], main_arena, sbrk_base)
        for i, tc in enumerate(tcaches):
            struct.pack_into("<Q", h, 24 + 8 * i, tc)
        struct.pack_into("<7II", h, 56, lay["off_fastbins"], lay["off_top"], lay["off_next"],
                         lay["sizeof_malloc_state"], lay["sizeof_heap_info"],
                         lay["off_heap_info_size"], lay["off_heap_info_prev"], lay["heap_max_log2"])
        body = b""
        for i, (start, map_len, buf, prot, named) in enumerate(self.regions):
            struct.pack_into("<QIIBB", h, 88 + 24 * i, start, map_len, len(buf), prot, int(named))
            body += bytes(buf)
        return bytes(h) + body


def protect(pos, ptr):
    return (pos >> 12) ^ ptr


MAIN_ARENA = 0x7F0000200000        # in libc's .data (a named mapping)
SBRK = 0x555555559000
H1 = 0x7E0004000000                # a non-main arena's first heap (64 MiB aligned)
ARENA = H1 + 48
H2 = 0x7E0008000000                # its second heap, holding top
MM = 0x7D0000000000                # mmapped chunks


def glibc_world(safe=True, arenas=True):
    """The heap of tests/c/test_heap_glibc.c, made compact: a main arena with
    a tcache and a fastbin list, a non-main arena with two heaps, two
    mmapped chunks."""
    mangle = protect if safe else (lambda pos, ptr: ptr)
    s = Space()
    s.region(MAIN_ARENA, 0x1000, 2208, named=True)
    c = [SBRK + o for o in (0x000, 0x290, 0x2B0, 0x340, 0x370, 0x3B0, 0x3D0, 0x3F0, 0x410, 0x430)]
    mtop = SBRK + 0x460
    s.region(SBRK, 0x21000, 0x470)
    s.put(MAIN_ARENA + 96, mtop)
    s.put(MAIN_ARENA + 2160, ARENA if arenas else MAIN_ARENA)
    s.put(MAIN_ARENA + 16, c[6])                       # fastbin 0: C6 -> C8
    for addr, size in zip(c, (0x290 | P, 0x20 | P, 0x90 | P, 0x30, 0x40 | P, 0x20 | P,
                              0x20 | P, 0x20 | P, 0x20 | P, 0x30 | P)):
        s.chunk(addr, size)
    s.put(c[3], 0x90)                                  # C2 is free: C3's prev_size
    s.put(c[4] + 16, mangle(c[4] + 16, 0))             # tcache entry C4
    s.put(c[6] + 16, mangle(c[6] + 16, c[8]))
    s.put(c[8] + 16, mangle(c[8] + 16, 0))
    s.chunk(mtop, (0x21000 - 0x460) | P)
    s.put(c[0] + 16 + 2 * 2, 1, 2)                     # thread 1's tcache: bin 2 holds C4
    s.put(c[0] + 16 + 128 + 2 * 8, c[4] + 16)
    tcaches = [c[0] + 16]
    if arenas:
        h1_len, h2_len = 0xC00, 0x300
        d0, d1, d2, fp1 = H1 + 0x8D0, H1 + 0xB60, H1 + 0xBB0, H1 + h1_len - 32
        e = [H2 + o for o in (0x30, 0x130, 0x170, 0x1D0, 0x210)]
        atop = H2 + 0x240
        s.region(H1, 0x1000, h1_len)
        s.region(H2, 0x1000, 0x250)
        s.put(H1, ARENA)
        s.put(H1 + 8, 0)
        s.put(H1 + 16, h1_len)
        s.put(ARENA + 96, atop)
        s.put(ARENA + 2160, MAIN_ARENA)
        s.put(ARENA + 16 + 8, e[4])                    # fastbin 1: E4
        s.chunk(d0, 0x290 | P | NM)
        s.chunk(d1, 0x50 | P | NM)
        s.chunk(d2, (fp1 - d2) | P)
        s.put(fp1, fp1 - d2)
        s.chunk(fp1, 0x10)                             # fencepost; D2 is free
        s.chunk(fp1 + 16, 0 | P)
        s.put(H2, ARENA)
        s.put(H2 + 8, H1)
        s.put(H2 + 16, h2_len)
        for addr, size in zip(e, (0x100, 0x40, 0x60, 0x40, 0x30)):
            s.chunk(addr, size | P | NM)
        s.put(e[1] + 16, mangle(e[1] + 16, e[3] + 16))
        s.put(e[3] + 16, mangle(e[3] + 16, 0))
        s.put(e[4] + 16, mangle(e[4] + 16, 0))
        s.chunk(atop, (h2_len - 0x240) | P)
        s.put(d0 + 16 + 2 * 2, 2, 2)                   # thread 2's tcache: bin 2 holds E1 -> E3
        s.put(d0 + 16 + 128 + 2 * 8, e[1] + 16)
        tcaches.append(d0 + 16)
        s.region(MM, 0x2000, 16)                       # two mmapped chunks, only
        s.region(MM + 0x2000, 0x4000, 16)              # their headers readable
        s.chunk(MM, 0x2000 | M)
        s.chunk(MM + 0x2000, 0x4000 | M)
    s.regions.sort(key=lambda r: r[0])
    return s, tcaches


def cmd_glibc(out):
    out.mkdir(parents=True, exist_ok=True)
    s, tc = glibc_world()
    (out / "world").write_bytes(s.encode(1, MAIN_ARENA, SBRK, tc))
    lay = dict(nfastbins=10, tcache_bins=64, off_fastbins=16, off_top=96, off_next=2160,
               sizeof_malloc_state=2200, sizeof_heap_info=48, off_heap_info_size=16,
               off_heap_info_prev=8, heap_max_log2=26)
    (out / "world-custom-layout").write_bytes(s.encode(1 | 4, MAIN_ARENA, SBRK, tc, lay))
    s, tc = glibc_world(safe=False)
    (out / "world-no-safe-linking").write_bytes(s.encode(0, MAIN_ARENA, SBRK, tc))
    s, tc = glibc_world(arenas=False)
    (out / "main-arena-only").write_bytes(s.encode(1, MAIN_ARENA, SBRK, tc))
    # corrupt variants: each breaks one structure the walker follows
    c = [SBRK + o for o in (0x000, 0x290, 0x2B0, 0x340, 0x370, 0x3B0, 0x3D0, 0x3F0, 0x410, 0x430)]
    e1, e3, d0 = H2 + 0x130, H2 + 0x1D0, H1 + 0x8D0
    corrupt = {
        "arena-ring-loops": lambda s: s.put(ARENA + 2160, ARENA),
        "arena-ring-breaks": lambda s: s.put(ARENA + 2160, 0),
        "fastbin-loops": lambda s: s.put(c[8] + 16, protect(c[8] + 16, c[6])),
        "tcache-loops": lambda s: s.put(e3 + 16, protect(e3 + 16, e1 + 16)),
        "tcache-count-huge": lambda s: (s.put(d0 + 16 + 2 * 2, 0xFFFF, 2),
                                        s.put(e3 + 16, protect(e3 + 16, e1 + 16))),
        "chunk-size-corrupt": lambda s: s.chunk(c[3], 0x12345678),
        "top-size-corrupt": lambda s: s.chunk(SBRK + 0x460, 0xFFFFFFFFFFFFFF01),
        "heap-info-prev-loops": lambda s: s.put(H2 + 8, H2),
        "heap-info-size-huge": lambda s: s.put(H1 + 16, 1 << 40),
        "fencepost-missing": lambda s: s.chunk(H1 + 0xC00 - 16, 0x20 | P),
    }
    for name, breakit in corrupt.items():
        s, tc = glibc_world()
        breakit(s)
        (out / f"world-{name}").write_bytes(s.encode(1, MAIN_ARENA, SBRK, tc))


# ---- Go heaps (fuzz/fuzz_go.c's input format) ---------------------------------------

GO_HEADER = 192
# fuzz_go.c's regions: (start, maximum readable length)
GO_REGIONS = [(0x550000, 0x1000), (0x560000, 0x10000), (0x570000, 0x10000), (0x580000, 0x10000),
              (0x590000, 0x1000), (0x600000000, 0x10000), (0x700000000, 0x800000)]
MHEAP, SPANS, MSPANS, ABITS, SPECIAL, L2REG, HEAPARENA = (r[0] for r in GO_REGIONS)
GO_ARENA = 0xC000000000
# Go 1.19's runtime.mspan and runtime.special offsets (tests/c/test_heap_go.c)
MSPAN = dict(sizeof_mspan=144, startaddr=24, npages=32, freeindex=48, nelems=56, allocbits=72,
             spanclass=98, state=99, elemsize=104, specials=128, special_next=0, special_offset=8,
             special_kind=10, finalizer_fn=16, bitmap=0)
# fuzz_go.c's layouts 0-2 (layout 3 is read from the header)
GO_LAYOUTS = {
    0: dict(page=8192, arena=64 << 20, base=0xFFFF800000000000, l1=1, l2=1 << 22),
    1: dict(page=8192, arena=1 << 20, base=0xBFF0000000, l1=16, l2=64),
    2: dict(page=64, arena=2048, base=0, l1=1, l2=0),
}
SPAN_DEAD, SPAN_INUSE, SPAN_MANUAL = 0, 1, 2
MASK64 = (1 << 64) - 1


class GoSpace:
    """fuzz_go's seven regions, written into at absolute addresses: each
    region's data grows to the last byte written; readable defaults to the
    region's maximum (the rest reads as zeros)."""

    def __init__(self, layout_id):
        self.layout_id = layout_id
        self.lay = GO_LAYOUTS[layout_id if layout_id in GO_LAYOUTS else 0]
        self.data = [bytearray() for _ in GO_REGIONS]
        self.readable = [m for _, m in GO_REGIONS]
        self.probes = [0] * 8
        self.custom = None
        self.arenas = {}   # arena start -> heapArena address

    def put(self, addr, value, size=8):
        for i, (start, maxlen) in enumerate(GO_REGIONS):
            if start <= addr and addr + size <= start + maxlen:
                off = addr - start
                buf = self.data[i]
                if len(buf) < off + size:
                    buf.extend(bytes(off + size - len(buf)))
                buf[off:off + size] = (value & ((1 << (8 * size)) - 1)).to_bytes(size, "little")
                return
        raise ValueError(f"no region at {addr:#x}")

    def get(self, addr, size=1):
        for i, (start, maxlen) in enumerate(GO_REGIONS):
            if start <= addr < start + maxlen:
                off = addr - start
                buf = self.data[i]
                return int.from_bytes(bytes(buf[off:off + size]).ljust(size, b"\0"), "little")
        raise ValueError(f"no region at {addr:#x}")

    def arena_of(self, addr):
        lay = self.lay
        return addr - ((addr - lay["base"]) & MASK64) % lay["arena"]

    def heap_arena(self, arena):
        """The heapArena of the arena starting at arena (made on first use):
        its bitmap in region 6, its L2 entry in region 5, its L1 entry in 0."""
        if arena in self.arenas:
            return self.arenas[arena]
        lay = self.lay
        bitmap = lay["arena"] // 32
        ha = HEAPARENA + len(self.arenas) * max(bitmap, 0x100)
        idx = ((arena - lay["base"]) & MASK64) // lay["arena"]
        l1, l2 = divmod(idx, lay["l2"]) if lay["l2"] else (0, idx)
        l1_slot = MHEAP + 0x100 + 8 * l1
        l2_array = self.get(l1_slot, 8)
        if not l2_array:   # a new L2 array: this entry in the next free slot of region 5
            l2_array = (L2REG + len(self.data[5]) - 8 * l2) & MASK64
            self.put(l1_slot, l2_array)
        self.put((l2_array + 8 * l2) & MASK64, ha)
        self.arenas[arena] = ha
        self.readable[6] = max(self.readable[6] if len(self.arenas) > 1 else 0,
                               ha + max(bitmap, 0x100) - HEAPARENA)
        return ha

    def bitmap_word(self, addr, pointer, scan):
        arena = self.arena_of(addr)
        ha = self.heap_arena(arena)
        w = (addr - arena) // 8
        byte = ha + MSPAN["bitmap"] + w // 4
        self.put(byte, self.get(byte) | (pointer << (w % 4)) | (scan << (4 + w % 4)), 1)

    def span(self, ms, start, npages, elemsize, nelems, freeindex, allocbits, spanclass, state,
             specials=0, heap_arenas=True):
        o = MSPAN
        self.put(ms + o["startaddr"], start)
        self.put(ms + o["npages"], npages)
        self.put(ms + o["freeindex"], freeindex)
        self.put(ms + o["nelems"], nelems)
        self.put(ms + o["allocbits"], allocbits)
        self.put(ms + o["spanclass"], spanclass, 1)
        self.put(ms + o["state"], state, 1)
        self.put(ms + o["elemsize"], elemsize)
        self.put(ms + o["specials"], specials)
        self.put(ms + o["sizeof_mspan"] - 1, self.get(ms + o["sizeof_mspan"] - 1), 1)   # whole record
        page = self.lay["page"]
        if (heap_arenas and state == SPAN_INUSE and 0 < npages <= (1 << 40) // page and elemsize
                and nelems * elemsize <= npages * page and start + npages * page <= MASK64):
            a = self.arena_of(start)
            while a < start + npages * page:
                self.heap_arena(a)
                a += self.lay["arena"]

    def allspans(self, records):
        self.put(MHEAP, SPANS)
        self.put(MHEAP + 8, len(records))
        for i, r in enumerate(records):
            self.put(SPANS + 8 * i, r)

    def encode(self):
        h = bytearray(GO_HEADER)
        h[0] = self.layout_id
        body = b""
        for i, buf in enumerate(self.data):
            readable = max(self.readable[i], len(buf))
            struct.pack_into("<II", h, 4 + 8 * i, readable, len(buf))
            body += bytes(buf)
        if self.custom:
            c = self.custom
            struct.pack_into("<15H", h, 64, *(c[k] for k in (
                "sizeof_mspan", "startaddr", "npages", "freeindex", "nelems", "allocbits", "spanclass",
                "state", "elemsize", "specials", "special_next", "special_offset", "special_kind",
                "finalizer_fn", "bitmap")))
            h[94], h[95], h[96] = c["page_shift"], c["arena_shift"], c.get("flags", 0)
            struct.pack_into("<IIIQII", h, 100, c.get("page_raw", 0), c.get("arena_raw", 0),
                             c.get("bitmap_raw", 0), c["base"], c["l1"], c["l2"])
        for i, p in enumerate(self.probes):
            struct.pack_into("<Q", h, 128 + 8 * i, p & MASK64)
        return bytes(h) + body


def go_world(layout_id=0, crossing=True, lay=None):
    """The heap of tests/c/test_heap_go.c in fuzz_go's format: a scannable
    span A (a finalizer on object 5), a noscan span B, a goroutine stack C,
    a span D that claims more objects than it holds; on layouts with small
    arenas also E, one large object that crosses an arena edge."""
    s = GoSpace(layout_id)
    if lay:
        s.lay = lay
    page = s.lay["page"]
    npages = max(1, 8192 // page)           # A and B: 8 KiB each
    a_start, b_start = GO_ARENA, GO_ARENA + 8192
    c_start, d_start = GO_ARENA + 2 * 8192, GO_ARENA + 6 * 8192
    records = [MSPANS + 0x100 * i for i in range(4)]
    # A: 256 objects of 32 bytes, pointerful; 0 and 1 below freeindex, 5 by allocBits
    s.span(records[0], a_start, npages, 32, 256, 2, ABITS, 2 << 1, SPAN_INUSE, SPECIAL)
    s.put(ABITS, 1 << 5, 1)
    # B: 512 objects of 16 bytes, noscan; 0 and 3 allocated
    s.span(records[1], b_start, npages, 16, 512, 0, ABITS + 0x40, (1 << 1) | 1, SPAN_INUSE)
    s.put(ABITS + 0x40, 1 | (1 << 3), 1)
    # C: a goroutine stack; D: claims more objects than its pages hold
    s.span(records[2], c_start, 4 * npages, 0, 0, 0, 0, 0, SPAN_MANUAL)
    s.span(records[3], d_start, npages, 64, 1000, 0, ABITS + 0x80, 0, SPAN_INUSE)
    # a finalizer on A's object 5, whose function value is 0xf00d
    s.put(SPECIAL, 0)
    s.put(SPECIAL + 8, 5 * 32, 2)
    s.put(SPECIAL + 10, 1, 1)
    s.put(SPECIAL + 16, 0xF00D)
    # A's object 0: pointer, scalar, pointer, then no more; object 1: a stale bit
    s.bitmap_word(a_start, 1, 1)
    s.bitmap_word(a_start + 8, 0, 1)
    s.bitmap_word(a_start + 16, 1, 1)
    s.bitmap_word(a_start + 40, 1, 1)
    arena = s.lay["arena"]
    if crossing and arena <= (1 << 20):
        # E: one object of two pages' worth, across the edge of A's arena
        e_start = GO_ARENA - GO_ARENA % page + (s.arena_of(GO_ARENA) + arena - GO_ARENA) - page
        if e_start < d_start + 8192:
            e_start += arena * ((d_start + 8192 - e_start) // arena + 1)
        e_size = 2 * page if page >= 1024 else 1024
        records.append(MSPANS + 0x100 * len(records))
        s.span(records[-1], e_start, e_size // page, e_size, 1, 1, ABITS + 0xC0, 5 << 1, SPAN_INUSE)
        edge = s.arena_of(e_start + e_size - 1)
        if s.lay["arena"] // 32 <= 0x100:   # small bitmaps: pointers on both sides of the edge
            for x in range(max(e_start, edge - 32), min(edge + 32, e_start + e_size), 8):
                s.bitmap_word(x, int(x % 16 == 0), 1)
    s.allspans(records)
    s.probes = [0, 8, 5 * 32 + 8, 8192 + 48 + 15, 2 * 8192, 6 * 8192 + 8, -8, 1 << 40]
    return s, records


def cmd_go(out):
    out.mkdir(parents=True, exist_ok=True)
    for lid in (0, 1, 2):
        s, _ = go_world(lid)
        (out / f"world-layout{lid}").write_bytes(s.encode())
    # layout 3: Go 1.19's numbers from the header, then inconsistent ones
    custom = dict(MSPAN, page_shift=13, arena_shift=13, base=0xFFFF800000000000, l1=1, l2=1 << 22)
    for name, change in {
        "custom-layout": {},
        "custom-bitmap-size-wrong": dict(flags=4, bitmap_raw=1000),
        "custom-page-not-power-of-two": dict(flags=1, page_raw=12288),
        "custom-state-outside-mspan": dict(state=144),
        "custom-fields-overlap": dict(nelems=32, freeindex=24),
        "custom-two-level-index": dict(l1=64, l2=1 << 16),
    }.items():
        c = dict(custom, **change)
        s, _ = go_world(0, lay=dict(GO_LAYOUTS[0], l1=c["l1"], l2=c["l2"]))
        s.layout_id = 3
        s.custom = c
        (out / f"world-{name}").write_bytes(s.encode())
    # corrupt variants of the Go 1.19 world: each breaks one thing the walker follows
    o = MSPAN

    def extra_spans(s, recs, spans):
        for i, args in enumerate(spans):
            r = MSPANS + 0x100 * (len(recs) + i)
            s.span(r, *args)
        s.allspans(recs + [MSPANS + 0x100 * (len(recs) + i) for i in range(len(spans))])

    corrupt = {
        "span-sizes-corrupt": lambda s, r: extra_spans(s, r, [
            (GO_ARENA + 8 * 8192, 0, 32, 0, 0, 0, 0, SPAN_INUSE),                 # no pages
            (GO_ARENA + 9 * 8192, 1, 0, 10, 0, 0, 0, SPAN_INUSE),                 # elemsize 0
            (0xFFFFFFFFFFFFF000, 1, 8, 1, 0, 0, 0, SPAN_INUSE),                   # wraps
            (GO_ARENA, 1 << 40, 8192, 1, 0, 0, 0, SPAN_INUSE)]),                  # 2^53 bytes
        "allspans-huge": lambda s, r: s.put(MHEAP + 8, (1 << 28) + 1),
        "allspans-long": lambda s, r: s.put(MHEAP + 8, 1 << 16),
        "allspans-unreadable": lambda s, r: s.put(MHEAP, 0xDEAD0000),
        "no-spans": lambda s, r: s.put(MHEAP + 8, 0),
        "span-record-unreadable": lambda s, r: s.put(SPANS + 8, 0x10),
        "spans-unsorted": lambda s, r: s.allspans(list(reversed(r))),
        "span-listed-twice": lambda s, r: s.allspans(r + r[:1]),
        "special-cycle": lambda s, r: (s.put(SPECIAL, SPECIAL + 32), s.put(SPECIAL + 32 + 10, 2, 1),
                                       s.put(SPECIAL + 32, SPECIAL + 64), s.put(SPECIAL + 64 + 10, 3, 1),
                                       s.put(SPECIAL + 64, SPECIAL + 32)),
        "specials-unreadable": lambda s, r: s.put(r[0] + o["specials"], 0xBAD000),
        "arena-l1-missing": lambda s, r: s.put(MHEAP + 0x100, 0),
        "arena-l2-missing": lambda s, r: s.put(L2REG, 0),
        "bitmap-unreadable": lambda s, r: s.readable.__setitem__(6, 100),
        "allocbits-unreadable": lambda s, r: s.put(r[0] + o["allocbits"], 0x1234),
        "freeindex-huge": lambda s, r: s.put(r[1] + o["freeindex"], 1 << 63),
        "span-state-dead": lambda s, r: s.put(r[0] + o["state"], SPAN_DEAD, 1),
    }
    for name, breakit in corrupt.items():
        s, recs = go_world(0)
        breakit(s, recs)
        (out / f"world-{name}").write_bytes(s.encode())


def cmd_hex(path):
    data = Path(path).read_bytes()
    for i in range(0, len(data), 32):
        print(data[i:i + 32].hex())


def decode_text(text):
    """The text form: '#' lines are comments, the rest hex digits."""
    digits = "".join(line for line in text.splitlines() if not line.startswith("#"))
    return bytes.fromhex("".join(digits.split()))


def cmd_unhex(out, cases):
    out.mkdir(parents=True, exist_ok=True)
    for case in cases:
        case = Path(case)
        (out / f"regression-{case.stem}").write_bytes(decode_text(case.read_text()))


def main(argv):
    if len(argv) >= 3 and argv[1] == "core":
        cmd_core(Path(argv[2]), argv[3:])
    elif len(argv) == 3 and argv[1] == "glibc":
        cmd_glibc(Path(argv[2]))
    elif len(argv) == 3 and argv[1] == "go":
        cmd_go(Path(argv[2]))
    elif len(argv) == 3 and argv[1] == "hex":
        cmd_hex(argv[2])
    elif len(argv) >= 3 and argv[1] == "unhex":
        cmd_unhex(Path(argv[2]), argv[3:])
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
