"""The engine session for the current stop: built on first use, cached until
the inferior resumes, exits, or loads new code (gdb.events)."""

import os

import gdb

import _retain

from . import glibc, go, target
from .errors import RetainError


class Analysis:
    """One engine session plus the facts gdb gave it."""

    def __init__(self, session, source, warnings, threads):
        self.session = session
        self.source = source              # ("core", path) | ("live", pid) | ("callback", None)
        self.warnings = list(warnings)
        self.threads = threads


_cache = {"analysis": None, "key": None}
memory_limit = None   # the `set retain memory-limit` parameter, once registered


def invalidate(*_args):
    _cache["analysis"] = None
    _cache["key"] = None


def connect_events():
    for event in (gdb.events.cont, gdb.events.exited, gdb.events.new_objfile,
                  gdb.events.memory_changed, gdb.events.inferior_call,
                  gdb.events.register_changed):
        event.connect(invalidate)
    if hasattr(gdb.events, "new_inferior"):
        gdb.events.new_inferior.connect(invalidate)


def _open(inf):
    kind, where = target.source_kind(inf)
    try:
        if kind == "core":
            return _retain.open_core(where), (kind, where)
        if kind == "live":
            try:
                return _retain.open_live(where), (kind, where)
            except _retain.Error:
                pass   # e.g. /proc/PID/mem not readable: read through gdb instead
        maps = target.callback_mappings()
        return _retain.open_callback(target.memory_reader(inf), maps), ("callback", None)
    except _retain.Error as e:
        raise RetainError(str(e)) from None


def _mapping_at(maps, addr):
    for start, end, offset, prot, path in maps:
        if start <= addr < end:
            return start, end, path
    return None


def _add_thread_roots(session, threads, maps):
    static_tls, pthread_size = target.tls_geometry()
    for th in threads:
        for reg, value in th.registers:
            var, vtype = th.register_vars.get(reg, (None, None))
            session.add_value("register", value, th.num, reg, var, vtype)
        if th.sp is None:
            continue
        stack = _mapping_at(maps, th.sp)
        if stack is None:
            continue
        lo, hi = th.sp - target.RED_ZONE, stack[1]
        tls = _mapping_at(maps, th.fs_base) if th.fs_base else None
        if tls is not None:
            # Static TLS lies below the thread pointer, struct pthread above it.
            tls_lo = max(tls[0], th.fs_base - static_tls)
            tls_hi = min(tls[1], th.fs_base + pthread_size)
            session.add_range("tls", tls_lo, tls_hi, th.num, None)
            if lo < th.fs_base < hi:      # a non-main thread: TLS sits above its stack
                hi = min(hi, tls_lo)
        session.exclude(stack[0], lo)     # the dead part of the stack below SP
        session.add_range("stack", lo, hi, th.num, stack[2])
        _add_frames(session, th, lo, hi)


def _add_frames(session, th, lo, hi):
    frames = th.frames
    for i, f in enumerate(frames):
        f_lo = lo if i == 0 or f.sp is None else f.sp
        f_hi = frames[i + 1].sp if i + 1 < len(frames) and frames[i + 1].sp else hi
        if f_hi <= f_lo:
            f_hi = f_lo + 8
        index = session.add_frame(th.num, f.level, f_lo, f_hi, f.function, f.file, f.line or 0)
        for addr, size, name, vtype in f.variables:
            kind = "stack" if lo <= addr < hi else "global"   # a static local lives in .data
            if kind == "stack":
                session.add_var("stack", addr, size, th.num, index, name, vtype)


def _add_tls_variables(session):
    names = sorted({n for _objfile, ns in session.tls_symbols() for n in ns})
    for thread, variables in target.tls_variables(names).items():
        for addr, size, name, vtype in variables:
            session.add_var("tls", addr, size, thread, 0xFFFFFFFF, name, vtype)


class _Progress:
    """Shows progress on a terminal for long scans; silent otherwise."""

    def __init__(self, enabled):
        # gdb's sys.stdout is not a file: ask the terminal itself. Batch runs
        # (gdb -batch, output to a pipe) stay quiet.
        self.enabled = enabled and os.isatty(1) and os.isatty(0)
        self.last = -1

    def __call__(self, phase, done, total):
        if not self.enabled or total == 0:
            return
        pct = int(100 * done / total)
        if pct // 10 != self.last // 10:
            self.last = pct
            gdb.write("\rretain: %s %d%%" % (phase, pct), gdb.STDERR)
            gdb.flush()

    def finish(self):
        if self.enabled and self.last >= 0:
            gdb.write("\r" + " " * 40 + "\r", gdb.STDERR)


def _setup_glibc(session):
    """Walks the glibc heap and adds the C roots: (warnings, threads, method)."""
    lay, warnings = glibc.layout(session)   # debug symbols, else the heap's own structure
    try:
        session.walk_glibc(lay)
    except _retain.Error as e:
        raise RetainError("cannot walk the glibc heap: %s" % e) from None
    # malloc's own bookkeeping points at chunk headers, which lie inside the
    # previous block's last word: it retains nothing.
    session.exclude(lay["main_arena"], lay["main_arena"] + lay["sizeof_malloc_state"])
    threads = target.collect_threads()
    _add_thread_roots(session, threads, session.mappings())
    _add_tls_variables(session)
    return warnings, threads, lay.get("method", "debug-symbols")


def _key(inf):
    return (inf.num, inf.pid)


def current(progress=True):
    """The analysis of the selected inferior at this stop, building it if needed."""
    inf = target.inferior()
    if _cache["analysis"] is not None and _cache["key"] == _key(inf):
        return _cache["analysis"]
    session, source = _open(inf)
    if go.is_go_program():
        warnings, threads, method = go.setup(session), [], "go-runtime"
    else:
        warnings, threads, method = _setup_glibc(session)
    if memory_limit is not None:
        session.set_memory_limit(memory_limit.bytes)
    reporter = _Progress(progress)
    try:
        session.build(reporter)
    except _retain.Error as e:
        raise RetainError(str(e)) from None
    except KeyboardInterrupt:
        raise RetainError("interrupted; nothing was cached, run the command again to restart") from None
    finally:
        reporter.finish()
    analysis = Analysis(session, source, warnings, threads)
    analysis.heap_method = method
    _cache["analysis"], _cache["key"] = analysis, _key(inf)
    return analysis
