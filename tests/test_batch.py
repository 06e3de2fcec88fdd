"""Batch use: exit status of `gdb -batch` as CI scripts rely on it, against
fixtures/basics.c, live and core."""

from conftest import run_retain

FIXTURE = "basics.c"


def test_fail_if_reachable_fails_on_a_held_block(target):
    tail = target.truth["list"]["nodes"][-1]["addr"]
    rc, out, err = run_retain(target, f"retain path {tail} --fail-if reachable")
    assert rc == 1, (out, err)
    assert "g_list" in out                    # the answer is printed first
    assert "is reachable (--fail-if reachable)" in err


def test_fail_if_unreachable_passes_on_a_held_block(target):
    tail = target.truth["list"]["nodes"][-1]["addr"]
    rc, out, err = run_retain(target, f"retain path {tail} --fail-if unreachable")
    assert rc == 0, (out, err)


def test_fail_if_unreachable_fails_on_a_leaked_cycle(target):
    node = target.truth["cycle"]["nodes"][0]
    rc, out, err = run_retain(target, f"retain path {node} --fail-if unreachable")
    assert rc == 1, (out, err)
    assert "unreachable" in out and "is unreachable (--fail-if unreachable)" in err


def test_only_the_last_command_sets_the_status(target):
    node = target.truth["cycle"]["nodes"][0]
    rc, out, err = run_retain(target, f"retain path {node} --fail-if unreachable", "retain stats")
    assert rc == 0, (out, err)                # gdb's own rule: documented in the README


def test_exit_on_error_stops_at_the_first_failure(target):
    node = target.truth["cycle"]["nodes"][0]
    rc, out, err = run_retain(target, "set retain exit-on-error on",
                              f"retain path {node} --fail-if unreachable", "retain stats")
    assert rc == 1, (out, err)
    assert "blocks:" not in out               # retain stats never ran
