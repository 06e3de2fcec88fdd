#!/usr/bin/env python3
"""Seed inputs for retain's fuzz targets, made at fuzz time (no binary is
committed). Used by fuzz/run.sh:

    mkseeds.py core  OUTDIR [CORE...]   small cores: a synthetic one, and each
                                        CORE (e.g. from gcore) trimmed
    mkseeds.py glibc OUTDIR             synthetic heaps in fuzz_glibc's format
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
