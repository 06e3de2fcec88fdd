"""glibc malloc's layout, as libc's debug symbols describe it to gdb. The
engine walks the heap; this only says where main_arena is, the offsets of
the fields it needs, and each thread's tcache."""

import gdb

from .errors import RetainError

HEAP_MAX_SIZE_64 = 64 << 20   # 2 * DEFAULT_MMAP_THRESHOLD_MAX on 64-bit

NO_DEBUG_SYMBOLS = (
    "libc's debug symbols are not loaded, so the glibc heap cannot be found "
    "(main_arena is unknown): install libc6-dbg (Debian) or your distribution's "
    "glibc debug package, or enable debuginfod; walking glibc heaps without "
    "symbols is not supported yet")


def _offsets(type_name, names):
    try:
        t = gdb.lookup_type(type_name)
    except gdb.error:
        raise RetainError(NO_DEBUG_SYMBOLS) from None
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


def layout():
    """The dict the engine's walk_glibc takes, plus warnings (a list of str)."""
    try:
        main_arena = int(gdb.parse_and_eval("&main_arena"))
        sbrk_base = int(gdb.parse_and_eval("(unsigned long) mp_.sbrk_base"))
    except gdb.error:
        raise RetainError(NO_DEBUG_SYMBOLS) from None
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
    }, warnings
