"""retain: who is keeping this memory alive?

Loaded by gdb (``source retain.gdb``). Registers the ``retain`` commands.
The engine is the C extension module ``_retain``; this package tells it what
only gdb knows (threads, frames, registers, libc's layout) and renders what
it finds.
"""

__version__ = "0.1.0"

try:
    import gdb  # noqa: F401  (only inside gdb)
except ImportError:  # imported outside gdb, e.g. by a test helper
    gdb = None

def _load_engine():
    """Imports _retain with RTLD_DEEPBIND: gdb links elfutils' libdw, whose
    dwarf_* functions share names (not signatures) with libdwarf's, and the
    engine must call libdwarf's."""
    import os
    import sys
    flags = sys.getdlopenflags()
    sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
    try:
        import _retain  # noqa: F401
    finally:
        sys.setdlopenflags(flags)


if gdb is not None:
    _load_engine()
    from . import commands

    commands.register()
