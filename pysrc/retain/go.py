"""Go programs: the runtime's heap layout (from the binary's DWARF, through
gdb), and the Go GC's roots: data and bss with the module's pointer masks,
every goroutine's stack (framed by frame pointers, locals placed by DWARF),
the threads' registers, and finalizers (found by the engine's span walk).

Layouts are read by field presence, never by version string: a runtime
whose heap bitmap this code does not understand is refused by name."""

import re
import struct

import gdb

import _retain

from . import gostack
from .errors import RetainError

# amd64's arenaBaseOffset (runtime/malloc.go): arena index 0 starts here.
# A Go constant, so DWARF does not carry it.
ARENA_BASE_OFFSET_AMD64 = 0xFFFF800000000000
# runtime2.go goroutine states (without the _Gscan bit, 0x1000).
G_IDLE, G_RUNNING, G_SYSCALL, G_DEAD = 0, 2, 3, 6
G_SCAN = 0x1000
MAX_FRAMES = 256
MAX_GOROUTINES = 10_000_000

NO_DWARF = ("this is a Go program without DWARF debug info (built with -ldflags=-s or -w?): "
            "retain reads the Go runtime's heap layout from DWARF; rebuild without -s -w")


def _symbol_address(name):
    sym = gdb.lookup_global_symbol(name) or gdb.lookup_static_symbol(name)
    if sym is None:
        return None
    try:
        return int(sym.value().address)
    except (gdb.error, TypeError):
        return None


def is_go_program():
    """True when the program's runtime is Go's (with or without DWARF)."""
    if _symbol_address("runtime.mheap_") is not None:
        return True
    try:
        text = gdb.execute("info files", to_string=True)
    except gdb.error:
        return False
    return ".gopclntab" in text or ".go.buildinfo" in text


def _type(name):
    try:
        return gdb.lookup_type(name)
    except gdb.error:
        raise RetainError("the Go runtime's type %s is not in the DWARF: %s" % (name, NO_DWARF)) from None


def _fields(type_name, names):
    t = _type(type_name)
    fields = {f.name: f for f in t.fields()}
    missing = [n for n in names if n not in fields]
    if missing:
        raise RetainError("this Go runtime's %s has no field %s: a runtime layout retain does not "
                          "understand (it knows Go 1.19's)" % (type_name, ", ".join(missing)))
    return t, {n: fields[n].bitpos // 8 for n in names}, fields


def _array_length(t):
    t = t.strip_typedefs()
    lo, hi = t.range()
    return hi - lo + 1


def _heap_bitmap(fields):
    """heapArena.bitmap's length in bytes, for the 2-bit layout (Go 1.19 and
    earlier); the later layouts are refused by what their fields show."""
    if "bitmap" not in fields:
        raise RetainError("this Go runtime has no heap arena bitmap (Go 1.22+ keeps pointer maps in "
                          "allocation headers): not supported yet, retain knows Go 1.19's layout")
    if "noMorePtrs" in fields:
        raise RetainError("this Go runtime's heap bitmap has one bit per word (Go 1.20-1.21): "
                          "not supported yet, retain knows Go 1.19's 2-bit layout")
    bitmap = fields["bitmap"].type.strip_typedefs()
    if bitmap.code != gdb.TYPE_CODE_ARRAY or bitmap.target().sizeof != 1:
        raise RetainError("this Go runtime's heapArena.bitmap is not a byte array: an unknown layout")
    return _array_length(bitmap)


def layout():
    """The dict _retain.walk_go takes."""
    if "x86-64" not in gdb.selected_inferior().architecture().name():
        raise RetainError("Go heaps are supported on x86-64 only")
    mheap = _symbol_address("runtime.mheap_")
    if mheap is None:
        raise RetainError(NO_DWARF)
    _t, mh, mh_fields = _fields("runtime.mheap", ["allspans", "arenas"])
    arenas_t = mh_fields["arenas"].type.strip_typedefs()       # [L1]*[L2]*heapArena
    l2_t = arenas_t.target().strip_typedefs().target()
    # the bitmap's absence (Go 1.22) has its own message: not among the required fields
    _t, _offs, ha_fields = _fields("runtime.heapArena", ["pageInUse"])
    bitmap_bytes = _heap_bitmap(ha_fields)
    arena_bytes = bitmap_bytes * 32           # 4 words a byte, 8 bytes a word
    pages_per_arena = _array_length(ha_fields["pageInUse"].type) * 8
    ms_t, ms, _ = _fields("runtime.mspan", [
        "startAddr", "npages", "freeindex", "nelems", "allocBits", "spanclass", "state", "elemsize",
        "specials"])
    _t, sp, _ = _fields("runtime.special", ["next", "offset", "kind"])
    _t, sf, _ = _fields("runtime.specialfinalizer", ["fn"])
    return {
        "allspans": mheap + mh["allspans"], "arenas": mheap + mh["arenas"],
        "arena_l1": _array_length(arenas_t), "arena_l2": _array_length(l2_t),
        "arena_bytes": arena_bytes, "arena_base_offset": ARENA_BASE_OFFSET_AMD64,
        "page_bytes": arena_bytes // pages_per_arena,
        "off_bitmap": ha_fields["bitmap"].bitpos // 8, "bitmap_bytes": bitmap_bytes,
        "sizeof_mspan": ms_t.sizeof, "off_startaddr": ms["startAddr"], "off_npages": ms["npages"],
        "off_freeindex": ms["freeindex"], "off_nelems": ms["nelems"], "off_allocbits": ms["allocBits"],
        "off_spanclass": ms["spanclass"], "off_state": ms["state"], "off_elemsize": ms["elemsize"],
        "off_specials": ms["specials"],
        "off_special_next": sp["next"], "off_special_offset": sp["offset"], "off_special_kind": sp["kind"],
        "off_finalizer_fn": sf["fn"],
    }


def _u64(session, addr):
    data = session.read(addr, 8)
    if len(data) != 8:
        raise RetainError("cannot read the Go runtime's state at 0x%x" % addr)
    return struct.unpack("<Q", data)[0]


def add_global_roots(session, warnings):
    """data and bss of every Go module, with the GC's pointer masks."""
    _t, md, _ = _fields("runtime.moduledata", [
        "data", "edata", "bss", "ebss", "gcdatamask", "gcbssmask", "next"])
    _t, bv, _ = _fields("runtime.bitvector", ["n", "bytedata"])
    module = _symbol_address("runtime.firstmoduledata")
    objfile = gdb.current_progspace().filename
    seen = 0
    while module and seen < 64:
        seen += 1
        for lo_f, hi_f, mask_f in (("data", "edata", "gcdatamask"), ("bss", "ebss", "gcbssmask")):
            lo, hi = _u64(session, module + md[lo_f]), _u64(session, module + md[hi_f])
            nbits = struct.unpack("<i", session.read(module + md[mask_f] + bv["n"], 4))[0]
            maskp = _u64(session, module + md[mask_f] + bv["bytedata"])
            mask = session.read(maskp, (nbits + 7) // 8) if nbits > 0 and maskp else b""
            if len(mask) * 8 < nbits:
                warnings.append("the GC mask of %s at 0x%x is unreadable: its pointers are missed" % (lo_f, lo))
            _retain.add_masked_range(session, "global", lo, hi, 0, objfile, mask)
        module = _u64(session, module + md["next"])


class _Goroutine:
    def __init__(self, goid, status, lo, hi, sp, pc, bp, m, startpc):
        self.goid, self.status, self.lo, self.hi = goid, status, lo, hi
        self.sp, self.pc, self.bp, self.m, self.startpc = sp, pc, bp, m, startpc


def goroutines(session):
    """Every goroutine that is not dead, from runtime.allgs."""
    g_t, g, g_fields = _fields("runtime.g", ["stack", "sched", "atomicstatus", "goid", "m", "syscallsp",
                                             "syscallpc", "startpc"])
    _t, st, _ = _fields("runtime.stack", ["lo", "hi"])
    _t, gb, _ = _fields("runtime.gobuf", ["sp", "pc", "bp"])
    allgs = _symbol_address("runtime.allgs")
    if allgs is None:
        raise RetainError("runtime.allgs is not in the DWARF: " + NO_DWARF)
    array, length = _u64(session, allgs), _u64(session, allgs + 8)
    if length > MAX_GOROUTINES:
        raise RetainError("runtime.allgs claims %d goroutines: the runtime's state looks corrupt" % length)
    out = []
    ptrs = session.read(array, 8 * length)
    for (gp,) in struct.iter_unpack("<Q", ptrs[:len(ptrs) // 8 * 8]):
        data = session.read(gp, g_t.sizeof)
        if len(data) < g_t.sizeof:
            continue

        def u64(off):
            return struct.unpack_from("<Q", data, off)[0]
        status = struct.unpack_from("<I", data, g["atomicstatus"])[0] & ~G_SCAN
        if status in (G_IDLE, G_DEAD):
            continue
        sched = g["sched"]
        sp, pc, bp = u64(sched + gb["sp"]), u64(sched + gb["pc"]), u64(sched + gb["bp"])
        if status == G_SYSCALL and u64(g["syscallsp"]):
            # entersyscall saves sp and pc only: sched.bp is stale (its thread's
            # registers are used instead when they can be found)
            sp, pc, bp = u64(g["syscallsp"]), u64(g["syscallpc"]), 0
        out.append(_Goroutine(u64(g["goid"]), status, u64(g["stack"] + st["lo"]), u64(g["stack"] + st["hi"]),
                              sp, pc, bp, u64(g["m"]), u64(g["startpc"])))
    return out


def _function_at(pc):
    """(function, file, line) for a code address; any part may be None."""
    try:
        block = gdb.block_for_pc(pc)
        func = block.function if block is not None else None
        name = func.print_name if func is not None else None
    except RuntimeError:
        name = None
    if name is None:
        sym = gdb.execute("info symbol 0x%x" % pc, to_string=True)
        m = re.match(r"(\S+) (\+ \d+ )?in section", sym)
        name = m.group(1) if m else None
    sal = gdb.find_pc_line(pc)
    if sal.symtab is None:
        return name, None, 0
    return name, sal.symtab.filename, sal.line


_PIECE = re.compile(r"DW_OP_fbreg (-?\d+)(?:\s*\[(\d+)-byte piece\])?")


def _locals_at(pc, cache):
    """[(cfa_offset, size, name, type)] of the variables DWARF places in the
    frame at pc (relative to the CFA: Go's frame base is DW_OP_call_frame_cfa)."""
    if pc in cache:
        return cache[pc]
    out = []
    try:
        text = gdb.execute("info scope *0x%x" % pc, to_string=True)
    except gdb.error:
        text = ""
    types = _local_types(pc)
    for chunk in re.split(r"\n(?=Symbol )", text):
        m = re.match(r"Symbol (\S+) is (.*), length (\d+)\.", chunk, re.S)
        if not m:
            continue
        name, where, length = m.group(1), m.group(2), int(m.group(3))
        if "multi-location" in where:
            where = _range_at(where, pc)
        pieces = _PIECE.findall(where or "")
        if not pieces:
            continue
        # The first piece on the stack fixes where the variable starts; later
        # pieces in registers are lost (conservatively, the slot is kept).
        start = int(pieces[0][0]) - _piece_offset(where, pieces[0])
        out.append((start, length, name, types.get(name)))
    cache[pc] = out
    return out


def _piece_offset(where, first):
    """Bytes of the variable that come before its first stack piece."""
    head = where.split("DW_OP_fbreg %s" % first[0], 1)[0]
    # "[8-byte piece]" after a location, "an empty 8-byte piece" for an optimized-out one
    return sum(int(n) for n in re.findall(r"(\d+)-byte piece", head))


def _range_at(where, pc):
    for m in re.finditer(r"Range (0x[0-9a-f]+)-(0x[0-9a-f]+): (.*?)(?=\n\s*Range 0x|\Z)", where, re.S):
        if int(m.group(1), 16) <= pc < int(m.group(2), 16):
            return m.group(3)
    return None


def _local_types(pc):
    types = {}
    try:
        block = gdb.block_for_pc(pc)
    except RuntimeError:
        return types
    while block is not None:
        for sym in block:
            if (sym.is_variable or sym.is_argument) and sym.name not in types:
                types[sym.name] = str(sym.type)
        if block.function is not None:
            break
        block = block.superblock
    return types


def add_goroutine_roots(session, gs, threads_by_lwp, maps):
    """Each goroutine's live stack from SP, framed: in each frame the words
    Go's stack maps call live pointers (maps: a gostack.StackMaps, or None),
    else every word (conservative)."""
    scope_cache = {}
    procid_off = _fields("runtime.m", ["procid"])[1]["procid"]
    for gr in gs:
        sp, pc, bp = gr.sp, gr.pc, gr.bp
        exact_pc = False
        if gr.status in (G_RUNNING, G_SYSCALL) and gr.m:
            th = threads_by_lwp.get(_m_procid(session, gr.m, procid_off))
            if th is not None and gr.lo <= th["rsp"] < gr.hi:
                sp, pc, bp, exact_pc = th["rsp"], th["rip"], th["rbp"], True
        if not gr.lo <= sp < gr.hi:
            continue
        goid = gr.goid & 0xFFFFFFFF
        start_fn = _function_at(gr.startpc)[0] if gr.startpc else None
        end = sp
        for level, f_sp, cfa, f_pc in _frames(session, gr, sp, pc, bp):
            exact = exact_pc and level == 0
            lookup_pc = f_pc if exact else f_pc - 1   # return addresses point past the call
            func, file, line = _function_at(lookup_pc)
            f_hi = cfa if cfa else gr.hi
            index = session.add_frame(goid, level, f_sp, f_hi, func, file, line or 0)
            if cfa is not None:
                for off, size, name, vtype in _locals_at(lookup_pc, scope_cache):
                    if gr.lo <= cfa + off < gr.hi:
                        session.add_var("goroutine", cfa + off, size, goid, index, name, vtype)
            # A running goroutine's top frame may be anywhere (not at a call):
            # the runtime scans such a frame conservatively too.
            frame_map = None if exact or cfa is None or maps is None else maps.frame(f_pc, f_sp, cfa)
            _add_frame_roots(session, frame_map, f_sp, f_hi, goid, start_fn)
            end = f_hi
        if end < gr.hi:   # past where the frame chain ended: unknown, every word
            session.add_range("goroutine", end, gr.hi, goid, start_fn)


def _add_frame_roots(session, frame_map, lo, hi, goid, label):
    """A frame [lo, hi) as goroutine roots: the live words its stack map
    names, or every word when there is no map (conservative)."""
    if frame_map is None:
        session.add_range("goroutine", lo, hi, goid, label)
        return
    for start, end, mask in frame_map.ranges:
        if mask is None:
            session.add_range("goroutine", start, end, goid, label)
        else:
            _retain.add_masked_range(session, "goroutine", start, end, goid, label, mask)


def _frames(session, gr, sp, pc, bp):
    """[(level, sp, cfa or None, pc)] by the frame-pointer chain: a frame is
    [sp, bp + 16), its caller's return address at bp + 8 and bp at bp."""
    out = []
    for level in range(MAX_FRAMES):
        cfa = bp + 16 if sp <= bp < gr.hi else None
        out.append((level, sp, cfa, pc))
        if cfa is None or cfa >= gr.hi:
            break
        try:
            pc, nbp = _u64(session, bp + 8), _u64(session, bp)
        except RetainError:
            break
        if pc == 0 or nbp == 0 or not cfa <= nbp < gr.hi:
            if pc:   # the outermost frame (goexit): it has no frame pointer of its own
                out.append((level + 1, cfa, None, pc))
            break
        sp, bp = cfa, nbp
    return out


def stack_maps(session):
    """The main module's gostack.StackMaps, or None (every frame is then
    scanned conservatively) with the reason as a warning."""
    try:
        _t, md, _ = _fields("runtime.moduledata", ["text", "gofunc", "rodata", "pctab", "pclntable", "ftab"])
        _t, fn, _ = _fields("runtime._func", ["entryoff", "args", "npcdata", "nfuncdata"])
        return gostack.StackMaps(_symbol_address("runtime.firstmoduledata"), md, fn), None
    except (RetainError, gdb.error, gdb.MemoryError, struct.error) as e:
        return None, "Go's stack maps are unreadable (%s): goroutine stacks are scanned conservatively" % e


def _m_procid(session, m, procid_off):
    """The thread id (LWP) of the runtime.m at m, or None."""
    try:
        return _u64(session, m + procid_off)
    except RetainError:
        return None


def thread_registers():
    """[(gdb thread number, lwp, {register: value})] for every thread."""
    out = []
    selected = gdb.selected_thread()
    try:
        for th in sorted(gdb.selected_inferior().threads(), key=lambda t: t.num):
            if not th.is_valid():
                continue
            th.switch()
            frame = gdb.newest_frame()
            regs = {}
            for r in ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9", "r10", "r11",
                      "r12", "r13", "r14", "r15", "rip"):
                try:
                    regs[r] = int(frame.read_register(r)) & 0xFFFFFFFFFFFFFFFF
                except (gdb.error, ValueError):
                    continue
            out.append((th.num, th.ptid[1] or th.ptid[0], regs))
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
    return out


def setup(session):
    """Walks the Go heap and adds the Go roots; returns the warnings."""
    lay = layout()
    try:
        _retain.walk_go(session, lay)
    except _retain.Error as e:
        raise RetainError("cannot walk the Go heap: %s" % e) from None
    warnings = []
    add_global_roots(session, warnings)
    threads = thread_registers()
    by_lwp = {}
    for num, lwp, regs in threads:
        by_lwp[lwp] = regs
        for r, v in regs.items():
            if r != "rip":
                session.add_value("register", v, num, r, None, None)
    maps, why = stack_maps(session)
    if why:
        warnings.append(why)
    add_goroutine_roots(session, goroutines(session), by_lwp, maps)
    return warnings
