"""What gdb knows about the target: how to read its memory, its threads,
registers, frames and their variables. Collected once per stop and handed
to the engine; nothing here touches the heap word by word."""

import re

import gdb

from .errors import RetainError

# General-purpose registers that can hold a pointer (x86-64).
POINTER_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
                     "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15")

# The System V x86-64 ABI lets a leaf function use 128 bytes below SP.
RED_ZONE = 128
# Fallbacks when libc's debug symbols cannot say.
DEFAULT_STATIC_TLS = 4096
DEFAULT_PTHREAD_SIZE = 2368


def inferior():
    """The selected inferior, or an error when there is nothing to analyse."""
    inf = gdb.selected_inferior()
    if inf is None or inf.pid == 0 or not inf.threads():
        raise RetainError("no process or core file to analyse "
                          "(start the program, attach to it, or load a core file)")
    return inf


def source_kind(inf):
    """("core", path) | ("live", pid) | ("callback", None)."""
    conn = getattr(inf, "connection", None)
    ctype = conn.type if conn is not None else None
    if ctype == "core":
        info = gdb.execute("info target", to_string=True)
        m = re.search(r"Local core dump file:\s*`(.*?)'", info)
        if m:
            return "core", m.group(1)
        return "callback", None
    if ctype == "native":
        return "live", inf.pid
    return "callback", None


def memory_reader(inf):
    """A reader for targets the engine cannot read itself (gdbserver...):
    the readable prefix of [addr, addr+length), as the engine expects."""
    def read(addr, length):
        try:
            return inf.read_memory(addr, length).tobytes()
        except gdb.MemoryError:
            pass
        out, end = bytearray(), addr + length
        while addr < end:   # part of it is unreadable: find where, a page at a time
            n = min(end, (addr | 0xFFF) + 1) - addr
            try:
                out += inf.read_memory(addr, n).tobytes()
            except gdb.MemoryError:
                break
            addr += n
        return bytes(out)
    return read


def callback_mappings():
    """Mappings as gdb reports them; empty if the target cannot say."""
    try:
        text = gdb.execute("info proc mappings", to_string=True)
    except gdb.error:
        return []
    maps = []
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 4 or not parts[0].startswith("0x"):
            continue
        start, end, offset = (int(p, 16) for p in (parts[0], parts[1], parts[3]))
        perms = parts[4] if len(parts) > 4 and re.match(r"^[r-][w-][x-][ps]$", parts[4]) else "rw-p"
        path_parts = parts[5:] if len(parts) > 4 and perms == parts[4] else parts[4:]
        path = " ".join(path_parts) or None
        prot = (1 if perms[0] == "r" else 0) | (2 if perms[1] == "w" else 0) | (4 if perms[2] == "x" else 0)
        maps.append((start, end, offset, prot, path))
    return maps


def _value_or_none(expr):
    try:
        return gdb.parse_and_eval(expr)
    except gdb.error:
        return None


def tls_geometry():
    """(bytes of static TLS below the thread pointer, size of struct pthread)."""
    size = _value_or_none("_rtld_global_ro._dl_tls_static_size")
    static_tls = int(size) if size is not None else DEFAULT_STATIC_TLS
    try:
        pthread_size = gdb.lookup_type("struct pthread").sizeof
    except gdb.error:
        pthread_size = DEFAULT_PTHREAD_SIZE
    return static_tls, pthread_size


class ThreadFacts:
    """One thread's registers, stack range, TLS range and frames."""

    def __init__(self, num, registers, sp, fs_base):
        self.num = num
        self.registers = registers     # [(name, value)]
        self.sp = sp
        self.fs_base = fs_base
        self.frames = []               # [FrameFacts]
        self.register_vars = {}        # register name -> (var, type)


class FrameFacts:
    def __init__(self, level, sp, function, file, line):
        self.level, self.sp, self.function, self.file, self.line = level, sp, function, file, line
        self.variables = []            # [(addr, size, name, type)]


def _read_register(frame, name):
    try:
        return int(frame.read_register(name)) & 0xFFFFFFFFFFFFFFFF
    except (gdb.error, ValueError):
        return None


def _frame_variables(frame):
    """(in memory: [(addr, size, name, type)], in registers: [(value, name, type)])."""
    in_memory, in_registers = [], []
    try:
        block = frame.block()
    except RuntimeError:
        return in_memory, in_registers
    seen = set()
    while block is not None:
        for sym in block:
            if not (sym.is_variable or sym.is_argument) or sym.name in seen:
                continue
            seen.add(sym.name)
            try:
                val = sym.value(frame)
                addr = val.address
                type_name = str(sym.type)
                if addr is not None:
                    in_memory.append((int(addr), max(val.type.sizeof, 1), sym.name, type_name))
                elif val.type.strip_typedefs().code == gdb.TYPE_CODE_PTR:
                    in_registers.append((int(val) & 0xFFFFFFFFFFFFFFFF, sym.name, type_name))
            except (gdb.error, RuntimeError, ValueError):
                continue   # optimized out, or unreadable
        if block.function is not None:
            break
        block = block.superblock
    return in_memory, in_registers


def _frame_facts(frame, level):
    sal = frame.find_sal()
    file = sal.symtab.filename if sal and sal.symtab else None
    line = sal.line if sal and sal.symtab else 0
    facts = FrameFacts(level, _read_register(frame, "sp"), frame.name(), file, line)
    facts.variables, in_registers = _frame_variables(frame)
    return facts, in_registers


def collect_threads(max_frames=256):
    """Facts about every thread; restores the selected thread and frame."""
    inf = inferior()
    selected_thread = gdb.selected_thread()
    try:
        selected_frame = gdb.selected_frame()
    except gdb.error:
        selected_frame = None
    threads = []
    try:
        for th in sorted(inf.threads(), key=lambda t: t.num):
            if not th.is_valid() or th.is_exited():
                continue
            th.switch()
            threads.append(_thread_facts(th, max_frames))
    finally:
        if selected_thread is not None and selected_thread.is_valid():
            selected_thread.switch()
        if selected_frame is not None and selected_frame.is_valid():
            selected_frame.select()
    return threads


def _thread_facts(th, max_frames):
    frame = gdb.newest_frame()
    registers = [(r, _read_register(frame, r)) for r in POINTER_REGISTERS]
    registers = [(r, v) for r, v in registers if v is not None]
    facts = ThreadFacts(th.num, registers, _read_register(frame, "sp"), _read_register(frame, "fs_base"))
    level = 0
    while frame is not None and level < max_frames:
        try:
            ff, in_registers = _frame_facts(frame, level)
        except (gdb.error, RuntimeError):
            break
        facts.frames.append(ff)
        if level == 0:
            # A pointer variable that lives in a register names that register.
            by_value = {v: r for r, v in registers}
            for value, name, type_name in in_registers:
                if value in by_value:
                    facts.register_vars[by_value[value]] = (name, type_name)
        try:
            frame = frame.older()
        except gdb.error:
            break
        level += 1
    return facts


MAX_TLS_LOOKUPS = 4096   # thread-local names x threads; beyond this, TLS roots stay unnamed


def tls_variables(names):
    """{thread number: [(addr, size, name, type)]}: where each thread's copy
    of each thread-local variable lives, as gdb (libthread_db) computes it."""
    out = {}
    threads = [t for t in target_threads() if t.is_valid()]
    if not names or len(names) * len(threads) > MAX_TLS_LOOKUPS:
        return out
    selected = gdb.selected_thread()
    try:
        for th in threads:
            th.switch()
            found = out.setdefault(th.num, [])
            for name in names:
                try:
                    value = gdb.parse_and_eval("'%s'" % name)
                    if value.address is not None:
                        found.append((int(value.address), max(value.type.sizeof, 1), name, str(value.type)))
                except (gdb.error, RuntimeError):
                    continue   # no debug info for it, or no TLS block in this thread
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
    return out


def target_threads():
    return sorted(inferior().threads(), key=lambda t: t.num)
