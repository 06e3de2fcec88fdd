"""glibc malloc's layout: where main_arena is, the offsets of the fields the
engine needs, and each thread's tcache. The engine walks the heap.

Two methods (`set retain glibc-method`):
  debug-symbols   libc's debug symbols (libc6-dbg) describe it to gdb
  heap-structure  without them, the engine finds it from the heap's own
                  structure and the arena ring, with per-version layouts
                  (_retain.find_glibc_layout, gdbext/glibc_nosym.c)
"auto" (the default) uses the symbols when gdb has them."""

import gdb

import _retain

from .errors import RetainError

METHODS = ("auto", "symbols", "heap-structure")

HEAP_MAX_SIZE_64 = 64 << 20   # 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit

NO_DEBUG_SYMBOLS = (
    "libc's debug symbols are not loaded, so main_arena is unknown "
    "('set retain glibc-method symbols' asks for them): install libc6-dbg (Debian) "
    "or your distribution's glibc debug package, or enable debuginfod; or "
    "'set retain glibc-method auto' to find the heap from its own structure")


class _NoSymbols(RetainError):
    """libc's debug symbols are not there: the heap's structure may still do."""

    def __init__(self):
        super().__init__(NO_DEBUG_SYMBOLS)


def _offsets(type_name, names):
    try:
        t = gdb.lookup_type(type_name)
    except gdb.error:
        raise _NoSymbols() from None
    fields = {f.name: f for f in t.fields()}
    out = {}
    for name in names:
        if name not in fields:
            raise RetainError("this glibc's %s has no field '%s': unsupported glibc version"
                              % (type_name, name))
        out[name] = fields[name].bitpos // 8
    return t, fields, out


def _version():
    try:
        text = gdb.parse_and_eval("__libc_version").string()
        major, minor = text.split(".")[:2]
        return int(major), int(minor)
    except (gdb.error, ValueError, RuntimeError):
        return None


def _tcaches():
    """Each thread's tcache_perthread_struct (a TLS variable of libc)."""
    found, missing = [], 0
    selected = gdb.selected_thread()
    try:
        for th in gdb.selected_inferior().threads():
            th.switch()
            try:
                value = int(gdb.parse_and_eval("(unsigned long) tcache"))
            except gdb.error:
                missing += 1
                continue
            if value > 1:   # 0: none yet; 1: tcache disabled (glibc's TCACHE_SHUTTING_DOWN)
                found.append(value)
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
    return sorted(set(found)), missing


class MethodParameter(gdb.Parameter):
    """How retain finds glibc malloc's state: auto (libc's debug symbols when
gdb has them, else the heap's own structure), symbols (libc6-dbg only) or
heap-structure (never the symbols)."""

    set_doc = "Set how retain finds glibc malloc's state (auto, symbols, heap-structure)."
    show_doc = "Show how retain finds glibc malloc's state."

    def __init__(self):
        super().__init__("retain glibc-method", gdb.COMMAND_DATA, gdb.PARAM_ENUM, list(METHODS))
        self.value = "auto"

    def get_set_string(self):
        from . import engine   # engine imports this module
        engine.invalidate()
        return ""

    def get_show_string(self, svalue):
        return "retain finds glibc malloc's state by: %s." % svalue


def _method():
    try:
        value = gdb.parameter("retain glibc-method")
    except (gdb.error, RuntimeError):
        return "auto"
    return value if value in METHODS else "auto"


def layout(session):
    """The dict the engine's walk_glibc takes (with "method": "debug-symbols"
    or "heap-structure"), plus warnings (a list of str)."""
    method = _method()
    if method != "heap-structure":
        try:
            return _symbol_layout()
        except _NoSymbols:
            if method == "symbols":
                raise
    return _structure_layout(session, method)


def _thread_pointers():
    """Each thread's thread pointer (fs_base), for finding tcaches."""
    found = []
    selected = gdb.selected_thread()
    try:
        frame = gdb.selected_frame()
    except gdb.error:
        frame = None
    try:
        for th in gdb.selected_inferior().threads():
            if not th.is_valid():
                continue
            th.switch()
            try:
                value = int(gdb.newest_frame().read_register("fs_base")) & 0xFFFFFFFFFFFFFFFF
            except (gdb.error, RuntimeError, ValueError):
                continue
            if value:
                found.append(value)
    finally:
        if selected is not None and selected.is_valid():
            selected.switch()
        if frame is not None and frame.is_valid():
            frame.select()
    return found


def _structure_layout(session, method):
    """The layout from the heap's own structure (no debug symbols)."""
    try:
        lay = _retain.find_glibc_layout(session, _thread_pointers())
    except _retain.Error as e:
        if method == "heap-structure":
            raise RetainError("cannot find glibc's heap from its structure: %s" % e) from None
        raise RetainError("cannot find glibc's heap: libc's debug symbols are not loaded, and %s"
                          % e) from None
    gdb.write("note: %s\n" % structure_note(lay, method), gdb.STDERR)
    return lay, list(lay["warnings"])


def structure_note(lay, method="auto"):
    """One line: how the heap was found without symbols."""
    why = ("libc's debug symbols are not loaded" if method == "auto"
           else "set retain glibc-method is heap-structure")
    if not lay.get("initialized", True):
        found = "main_arena at 0x%x, malloc not used yet" % lay["main_arena"]
    else:
        n = len(lay["tcaches"])
        found = "main_arena at 0x%x, %d arena%s, %d tcache%s" % (
            lay["main_arena"], lay["narenas"], "" if lay["narenas"] == 1 else "s",
            n, "" if n == 1 else "s")
    return "%s: retain found glibc %s's heap from its own structure (%s)" % (
        why, lay["glibc_version"], found)


def _symbol_layout():
    """The layout from libc's debug symbols, through gdb."""
    try:
        main_arena = int(gdb.parse_and_eval("&main_arena"))
        sbrk_base = int(gdb.parse_and_eval("(unsigned long) mp_.sbrk_base"))
    except gdb.error:
        raise _NoSymbols() from None
    state, fields, off = _offsets("struct malloc_state", ["fastbinsY", "top", "next", "system_mem"])
    info_type, _, info_off = _offsets("heap_info", ["size", "prev"])
    nfastbins = fields["fastbinsY"].type.sizeof // 8
    try:
        tcache_type = gdb.lookup_type("struct tcache_perthread_struct")
        tfields = {f.name: f for f in tcache_type.fields()}
        tcache_bins = tfields["entries"].type.sizeof // 8
        count_size = tfields["counts"].type.target().sizeof
    except (gdb.error, KeyError):
        tcache_bins, count_size = 0, 0
    warnings = []
    tcaches, missing = _tcaches() if tcache_bins else ([], 0)
    if missing:
        warnings.append("could not read the tcache of %d thread(s): blocks cached there "
                        "may be reported in use" % missing)
    version = _version()
    return {
        "main_arena": main_arena,
        "sbrk_base": sbrk_base,
        "off_fastbins": off["fastbinsY"],
        "nfastbins": nfastbins,
        "off_top": off["top"],
        "off_next": off["next"],
        "off_system_mem": off["system_mem"],
        "sizeof_malloc_state": state.sizeof,
        "sizeof_heap_info": info_type.sizeof,
        "off_heap_info_size": info_off["size"],
        "off_heap_info_prev": info_off["prev"],
        "heap_max_size": HEAP_MAX_SIZE_64,
        "safe_linking": 1 if version is None or version >= (2, 32) else 0,
        "tcaches": tcaches,
        "tcache_bins": tcache_bins,
        "tcache_count_size": count_size,
        "method": "debug-symbols",
    }, warnings
