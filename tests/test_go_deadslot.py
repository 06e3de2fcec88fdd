"""A dead stack slot is no root (fixtures/go/deadslot.go): a goroutine's
frame still holds the address of a buffer it no longer uses, but Go's own
stack maps say the slot is dead, so retain (like the collector) does not
count it. The buffer the same frame keeps live is found from its local.
Live and core, optimized and -N -l builds."""

from conftest import gdb_script, h
from test_go_common import check_goroutine_root, first_path, go_paths, target_named

FIXTURE = "go/deadslot.go"

# Where the frame's stack holds copies of the dead buffer's address: the
# fixture is only a test of anything while there is such a stale copy.
_STALE_COPIES = """
frame, dead = int(ARGS['frame'], 16), int(ARGS['dead'], 16)
mem = bytes(gdb.selected_inferior().read_memory(frame - 4096, 8192))
out['copies'] = [frame - 4096 + i for i in range(0, len(mem), 8)
                 if int.from_bytes(mem[i:i + 8], 'little') == dead]
"""


def test_dead_slot_is_not_a_root(target):
    dead = target_named(target, "dead")
    copies = gdb_script(target, _STALE_COPIES, args={"frame": target.truth["frame"], "dead": dead["addr"]})
    assert copies["copies"], "the parked frame holds no stale copy of the dead buffer's address"
    [ans, who] = go_paths(target, [f"retain path {dead['addr']}", f"retain who {dead['addr']}"])
    assert ans["target"]["state"] == "in-use", ans
    assert ans["reachable"] is False, ans["paths"][:1]
    assert ans["paths"] == []
    assert not [r for r in who["referrers"] if r["kind"] == "root"], who["referrers"]


def test_live_local_is_the_root(target):
    live = target_named(target, "live")
    [ans] = go_paths(target, [f"retain path {live['addr']}"])
    path = first_path(ans, live)
    check_goroutine_root(target, path["root"], live, "main.parker", "keep")
    assert path["root"]["precise"] is True, path["root"]
    assert len(path["hops"]) == live["hops"] == 1
    assert h(path["hops"][0]["addr"]) == h(live["addr"])
