"""Go's own stack maps: which words of a goroutine frame hold live pointers
at the frame's pc, as the collector itself sees them (Go 1.19's pclntab:
ftab -> _func, the PCDATA_StackMapIndex pc-value table, the locals and args
pointer maps, the stack objects). A slot these maps call dead is no root,
however much it looks like a pointer.

The tables are in read-only data that a core made by gcore leaves out, so
they are read through gdb, which takes them from the executable."""

import bisect
import struct

import gdb

PCDATA_STACK_MAP_INDEX = 1
FUNCDATA_ARGS, FUNCDATA_LOCALS, FUNCDATA_STACK_OBJECTS = 0, 1, 2
ARGS_SIZE_UNKNOWN = -0x80000000
NO_FUNCDATA = 0xFFFFFFFF
MAX_TABLE_BYTES = 1 << 20   # a pc-value table longer than this is corrupt


class FrameMap:
    """The live pointer words of one frame: ranges with their bitmaps."""

    def __init__(self):
        self.ranges = []   # [(start, end, mask bytes or None: every word)]


class StackMaps:
    """The stack maps of the main Go module."""

    def __init__(self, module, md, func_fields):
        self.inf = gdb.selected_inferior()
        self.f = func_fields
        self.header = func_fields["nfuncdata"] + 1
        word = lambda off: self._u64(module + off)
        self.text, self.gofunc, self.rodata = word(md["text"]), word(md["gofunc"]), word(md["rodata"])
        self.pctab, self.pclntable = word(md["pctab"]), word(md["pclntable"])
        ftab, nftab = word(md["ftab"]), word(md["ftab"] + 8)
        raw = self._read(ftab, 8 * nftab)
        pairs = list(struct.iter_unpack("<II", raw))
        self.entries = [p[0] for p in pairs]
        self.funcoffs = [p[1] for p in pairs]
        self.cache = {}

    def _read(self, addr, n):
        return bytes(self.inf.read_memory(addr, n))

    def _u64(self, addr):
        return struct.unpack("<Q", self._read(addr, 8))[0]

    def _func(self, pc):
        """(entry, _func address, args, npcdata, nfuncdata) for the function at pc, or None."""
        off = pc - self.text
        i = bisect.bisect_right(self.entries, off) - 1
        if i < 0 or i + 1 >= len(self.entries):   # the last entry marks the end of the text
            return None
        fp = self.pclntable + self.funcoffs[i]
        hdr = self._read(fp, self.header)
        entry = struct.unpack_from("<I", hdr, self.f["entryoff"])[0]
        args = struct.unpack_from("<i", hdr, self.f["args"])[0]
        npcdata = struct.unpack_from("<I", hdr, self.f["npcdata"])[0]
        return self.text + entry, fp, args, npcdata, hdr[self.f["nfuncdata"]]

    def _pcdata(self, fp, npcdata, table, entry, target):
        if table >= npcdata:
            return -1
        off = struct.unpack("<I", self._read(fp + self.header + 4 * table, 4))[0]
        if off == 0:
            return -1
        return self._pcvalue(off, entry, target)

    def _pcvalue(self, off, entry, target):
        """The value of the pc-value table at pctab+off for target (runtime.pcvalue)."""
        data, pos, pc, val, first = b"", 0, entry, -1, True
        while True:
            if pos + 10 > len(data):
                if len(data) >= MAX_TABLE_BYTES:
                    return -1
                data += self._read(self.pctab + off + len(data), 4096)
            uv, pos = _varint(data, pos)
            if uv == 0 and not first:
                return -1
            first = False
            val += -(uv & 1) ^ (uv >> 1)
            pcdelta, pos = _varint(data, pos)
            pc += pcdelta
            if target < pc:
                return val

    def _funcdata(self, fp, npcdata, nfuncdata, i):
        if i >= nfuncdata:
            return None
        off = struct.unpack("<I", self._read(fp + self.header + 4 * npcdata + 4 * i, 4))[0]
        return None if off == NO_FUNCDATA else self.gofunc + off

    def _bitmap(self, stkmap, index):
        """(nbit, bytes) of bitmap index of a stackmap {n int32, nbit int32, bytedata}."""
        n, nbit = struct.unpack("<ii", self._read(stkmap, 8))
        if n <= 0 or index >= n or nbit < 0 or nbit > 1 << 20:
            return None
        if nbit == 0:
            return 0, b""
        size = (nbit + 7) // 8
        return nbit, self._read(stkmap + 8 + index * size, size)

    def frame(self, pc, sp, cfa):
        """The FrameMap of a frame [sp, cfa) stopped at return address pc
        (frame pointers kept: varp = cfa - 16, argp = cfa), or None when the
        maps cannot say (then the caller scans the frame conservatively)."""
        if pc not in self.cache:
            try:
                f = self._func(pc - 1)
                self.cache[pc] = self._maps(*f, pc - 1) if f else None
            except (gdb.MemoryError, gdb.error, struct.error, IndexError):
                self.cache[pc] = None   # unreadable or corrupt tables: conservative
        maps = self.cache[pc]
        if maps is None:
            return None
        locals_map, args_map, objects = maps
        varp, argp = cfa - 16, cfa
        out = FrameMap()
        if varp > sp and locals_map and locals_map[0]:
            nbit, bits = locals_map
            out.ranges.append((varp - 8 * nbit, varp, bits))
        if args_map and args_map[0]:
            nbit, bits = args_map
            out.ranges.append((argp, argp + 8 * nbit, bits))
        for off, size, mask in objects:
            base = (varp if off < 0 else argp) + off
            out.ranges.append((base, base + size, mask))
        return out

    def _maps(self, entry, fp, args, npcdata, nfuncdata, target):
        index = self._pcdata(fp, npcdata, PCDATA_STACK_MAP_INDEX, entry, target)
        if index == -1:
            index = 0
        locals_map = args_map = None
        stkmap = self._funcdata(fp, npcdata, nfuncdata, FUNCDATA_LOCALS)
        if stkmap is not None:
            locals_map = self._bitmap(stkmap, index)
            if locals_map is None:
                return None
        if args > 0 and args != ARGS_SIZE_UNKNOWN:
            argmap = self._funcdata(fp, npcdata, nfuncdata, FUNCDATA_ARGS)
            if argmap is not None:
                args_map = self._bitmap(argmap, index)
        return locals_map, args_map, self._stack_objects(fp, npcdata, nfuncdata)

    def _stack_objects(self, fp, npcdata, nfuncdata):
        """[(offset, size, mask or None)] of the frame's address-taken locals,
        each with its type's pointer mask (None: a GC program, every word)."""
        p = self._funcdata(fp, npcdata, nfuncdata, FUNCDATA_STACK_OBJECTS)
        if p is None:
            return []
        n = self._u64(p)
        if n > 4096:
            return []
        out = []
        for i in range(n):
            off, size, ptrdata, gcdataoff = struct.unpack("<iiiI", self._read(p + 8 + 16 * i, 16))
            if size <= 0 or ptrdata == 0:
                continue
            mask = None
            if ptrdata > 0:
                words = ptrdata // 8
                mask = self._read(self.rodata + gcdataoff, (words + 7) // 8)
                size = words * 8   # words past ptrdata hold no pointers
            out.append((off, size, mask))
        return out


def _varint(data, pos):
    v = shift = 0
    while True:
        b = data[pos]
        pos += 1
        v |= (b & 0x7F) << shift
        if not b & 0x80:
            return v, pos
        shift += 7
