"""Batch use: exit status of `gdb -batch` as CI scripts rely on it, against
fixtures/basics.c, live and core."""

import subprocess

from conftest import ROOT, json_lines, run_retain

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


# ---- retain-gdb --batch PROGRAM CORE -- COMMAND ... ---------------------------------


def batch(*args):
    res = subprocess.run([str(ROOT / "retain-gdb-dev"), "--batch", *map(str, args)],
                         capture_output=True, text=True, timeout=300)
    assert "Traceback" not in res.stdout + res.stderr
    return res


def test_batch_runs_commands_on_a_core(target, tmp_path):
    if target.mode != "core":
        return
    tail = target.truth["list"]["nodes"][-1]["addr"]
    out = tmp_path / "report.json"
    res = batch(target.binary, target.core, "--", "path", tail, "--kind", "global", "--json",
                "--", "report", "--json", out)
    assert res.returncode == 0, res.stderr
    (path,) = [j for j in json_lines(res.stdout) if j["command"] == "path"]
    assert len(path["paths"][0]["hops"]) == 50
    assert "[New LWP" not in res.stdout and "Core was generated" not in res.stdout
    assert out.exists() and '"command": "report"' in out.read_text()


def test_batch_fails_with_one_line_reason(target, tmp_path):
    if target.mode != "core":
        return
    res = batch(target.binary, target.core, "--", "path", "0x10", "--", "stats")
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [
        "retain: 0x10 is not in any heap block (not a glibc heap address)"]
    garbage = tmp_path / "garbage.core"
    garbage.write_bytes(b"not a core" * 100)
    res = batch(target.binary, garbage, "--", "stats")
    assert res.returncode == 1 and "not a core dump" in res.stderr


def test_batch_usage_errors(target):
    if target.mode != "core":
        return
    for args in ([target.binary], [target.binary, target.core, "stats"],
                 [target.binary, target.core, "--", "no such"]):
        res = batch(*args)
        assert res.returncode == 2 and res.stderr.strip(), (args, res.stderr)
