"""A Go runtime whose heap layout retain does not know is refused by name,
with one line, never walked into garbage. The real Go 1.20-1.22 runtimes
are not installed here, so the test shows retain the Go 1.19 program's DWARF
with what those versions changed: heapArena.bitmap gone (1.22's allocation
headers), a noMorePtrs field beside it (1.20's one-bit bitmap), or an mspan
field missing."""

import pytest

from conftest import gdb_script

FIXTURE = "go/goleak.go"
GO_BUILDS = ("opt",)

# Wraps go._fields so that TYPE's fields lose DROP and gain ADD (names).
_PATCH = r'''
import retain.go as go
_real_fields = go._fields
class _Fake:
    def __init__(self, like):
        self.type, self.bitpos, self.name = like.type, like.bitpos, "fake"
def _patched(type_name, names):
    drop, add = ARGS["drop"], ARGS["add"]
    if type_name != ARGS["type"]:
        return _real_fields(type_name, names)
    t, offs, fields = _real_fields(type_name, [n for n in names if n not in drop])
    for n in drop:
        fields.pop(n, None)
        if n in names:
            raise go.RetainError("this Go runtime's %s has no field %s: a runtime layout retain does not "
                                 "understand (it knows Go 1.19's)" % (type_name, n))
    for n in add:
        fields[n] = _Fake(next(iter(fields.values())))
    return t, offs, fields
go._fields = _patched
out["stats"] = run("retain stats")
'''

CASES = {
    "go1.22 allocation headers": ({"type": "runtime.heapArena", "drop": ["bitmap"], "add": []},
                                  "no heap arena bitmap (Go 1.22+"),
    "go1.20 one-bit bitmap": ({"type": "runtime.heapArena", "drop": [], "add": ["noMorePtrs"]},
                              "one bit per word (Go 1.20-1.21)"),
    "mspan without allocBits": ({"type": "runtime.mspan", "drop": ["allocBits"], "add": []},
                                "runtime.mspan has no field allocBits"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_unknown_runtime_layout_is_refused(target, case):
    args, expected = CASES[case]
    res = gdb_script(target, _PATCH, args=args)
    ok, text = res["stats"]
    assert not ok, "retain walked a heap whose layout it does not know:\n" + text
    assert expected in text, text
    assert "\n" not in text.strip(), "not one line: " + text


def test_known_layout_still_walks(target):
    res = gdb_script(target, _PATCH, args={"type": "none", "drop": [], "add": []})
    ok, text = res["stats"]
    assert ok, text
    assert "heap: go," in text, text
