"""Bad input: every failure is a one-line `retain:` error (or gdb's own
message for a bad expression) with a non-zero `gdb -batch` status, never a
Python traceback and never a gdb crash. run_retain() itself asserts "no
Traceback / Python Exception" and "not killed by a signal" on every run."""

import os
import select
import shutil
import subprocess

import pytest

from conftest import (RETAIN_DEV, assert_answer_or_error, assert_retain_error,
                      check_bad_expression, check_unmapped_address, json_lines, retain_lines,
                      run_retain)

FIXTURE = "basics.c"


# ---- on a real target (live and core) ------------------------------------


def test_bad_expression(target):
    check_bad_expression(target)


@pytest.mark.parametrize("cmd", ["path", "who", "info"])
def test_unmapped_address(target, cmd):
    check_unmapped_address(target, cmd)


@pytest.mark.parametrize("args", [
    "retain path",
    "retain path 1 -n x",
    "retain path 1 -n",
    "retain path 1 --no-such-option",
    "retain path 1 --kind nosuchkind",
    "retain path 1 --max-depth deep",
    "retain who",
    "retain info",
    "retain stats --bogus",
])
def test_garbage_arguments(target, args):
    rc, out, err = run_retain(target, args)
    assert_retain_error(rc, out, err)


def test_error_then_more_commands(target):
    """A failing command does not break the session: later ones still work."""
    n = target.truth["list"]["nodes"][0]
    rc, out, err = run_retain(target, "retain path 1 -n x", f"retain info {n['addr']} --json")
    assert rc == 0, err
    assert retain_lines(err)
    assert [a["command"] for a in json_lines(out)] == ["info"]


def test_no_libc_debug_symbols(target):
    """Without libc6-dbg, retain finds malloc's state from the heap's own
    structure (tests/test_nosym.py checks its answers); asking for the
    symbols alone (`set retain glibc-method symbols`) fails and says why."""
    nosym = ["set debug-file-directory /nonexistent"]
    rc, out, err = run_retain(target, "retain stats --json", iex=nosym)
    assert rc == 0, err
    answers = json_lines(out)
    assert len(answers) == 1 and answers[0]["heap"]["method"] == "heap-structure", out
    rc, out, err = run_retain(target, "set retain glibc-method symbols", "retain stats --json", iex=nosym)
    line = assert_retain_error(rc, out, err).lower()
    assert "debug symbols" in line and "libc6-dbg" in line, line


STATIC_PROGRAM = r"""
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
int main(void)
{
    char *volatile p = malloc(100);
    printf("READY\n");
    fflush(stdout);
    for (;;)
        pause();
    return p != NULL;
}
"""


@pytest.fixture(scope="module")
def static_process(tmp_path_factory):
    """A statically linked glibc program, running."""
    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc")
    d = tmp_path_factory.mktemp("static")
    (d / "static.c").write_text(STATIC_PROGRAM)
    binary = d / "static"
    res = subprocess.run([gcc, "-static", "-g", "-O0", "-o", str(binary), str(d / "static.c")],
                         capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.skip("cannot link statically (no libc.a?): " + res.stderr[-300:])
    proc = subprocess.Popen([str(binary)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    try:
        ready, _, _ = select.select([proc.stdout], [], [], 20)
        assert ready and proc.stdout.readline().strip() == b"READY", "the static program did not start"
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def test_static_program_is_refused(retain_dev, static_process):
    """Still an error: a statically linked program has no libc.so whose data
    holds main_arena, and libc6-dbg does not describe the libc.a copied into
    it. With or without the debug symbols, retain says so in one line."""
    for iex in ([], ["set debug-file-directory /nonexistent"]):
        rc, out, err = run_retain(["-p", str(static_process.pid)], "retain stats --json", iex=iex)
        line = assert_retain_error(rc, out, err)
        assert "statically linked" in line and "libc.so" in line, line


# ---- no target, or a broken one ------------------------------------------


@pytest.mark.parametrize("cmd", ["retain path 0x1000", "retain who 0x1000",
                                 "retain info 0x1000", "retain stats"])
def test_no_inferior(retain_dev, cmd):
    rc, out, err = run_retain(None, cmd)
    assert_retain_error(rc, out, err)


@pytest.mark.parametrize("cmd", ["retain path 0x1000", "retain stats"])
def test_program_not_started(retain_dev, fixture_cache, cmd):
    fp = fixture_cache.get(FIXTURE)
    rc, out, err = run_retain([str(fp.binary)], cmd)
    assert_retain_error(rc, out, err)


@pytest.mark.parametrize("fraction", [0.5, 0.2])
def test_truncated_core(retain_dev, fixture_cache, tmp_path, fraction):
    fp = fixture_cache.get(FIXTURE)
    core = fp.core()
    cut = tmp_path / "truncated.core"
    shutil.copyfile(core, cut)
    os.truncate(cut, int(os.path.getsize(cut) * fraction))
    t = fp.truth
    target = [str(fp.binary), str(cut)]
    for cmd in ("retain stats --json",
                f"retain path {t['list']['nodes'][-1]['addr']} --json",
                f"retain who {t['list']['nodes'][3]['addr']} --json",
                f"retain info {t['mmapped']['addr']} --json"):
        rc, out, err = run_retain(target, cmd)   # asserts: no traceback, no crash
        ans = assert_answer_or_error(rc, out, err)
        if ans is not None:
            assert ans["schema"] == "retain/1"
            if "incomplete" in ans:
                assert isinstance(ans["incomplete"], bool), ans


def test_help(retain_dev):
    rc, out, err = run_retain(None, "help retain")
    assert rc == 0, err
    for sub in ("path", "who", "info", "stats"):
        assert sub in out, out
    rc, out, err = run_retain(None, "help retain path")
    assert rc == 0, err
    for opt in ("--json", "-n", "--kind", "--max-depth"):
        assert opt in out, out


def test_retain_dev_script_exists(retain_dev):
    assert RETAIN_DEV.is_file()
