"""Bad input on Go programs: a stripped binary (no DWARF), addresses outside
the Go heap, bad expressions and arguments. Every failure is a one-line
`retain:` error (or gdb's own message for a bad expression) with a non-zero
`gdb -batch` status; never a Python traceback (run_retain() asserts that on
every run) and never a gdb crash."""

import re

import pytest

from conftest import (assert_retain_error, check_bad_expression, check_unmapped_address,
                      json_lines, make_target, require_retain, run_retain)
from test_go_common import check_go_block

FIXTURE = "go/goleak.go"


# ---- the normal builds (live and core, opt and noopt) --------------------


def test_global_address_info_is_not_heap(target):
    """The address of a global (in .bss) is not in the Go heap: info says so."""
    addr = target.truth["not_heap"]
    rc, out, err = run_retain(target, f"retain info {addr} --json")
    assert rc == 0, err
    (ans,) = json_lines(out)
    check_go_block(ans)
    assert ans["state"] == "not-heap", ans
    assert ans["block"] is None


@pytest.mark.parametrize("cmd", ["path", "who"])
def test_global_address_path_is_not_heap(target, cmd):
    """path/who of a non-heap address: a not-heap answer, or (as for C
    programs, see test_batch.py) the one-line error "retain: 0x... is not in
    any heap block (not a Go heap address)"."""
    addr = target.truth["not_heap"]
    rc, out, err = run_retain(target, f"retain {cmd} {addr} --json")
    if rc != 0:
        line = assert_retain_error(rc, out, err)
        assert "not in any heap block" in line and "Go" in line, line
        return
    (ans,) = json_lines(out)
    check_go_block(ans["target"])
    assert ans["target"]["state"] == "not-heap", ans
    assert ans["target"]["block"] is None
    if cmd == "path":
        assert ans["reachable"] is False and ans["paths"] == []


@pytest.mark.parametrize("cmd", ["path", "who", "info"])
def test_unmapped_address(target, cmd):
    check_unmapped_address(target, cmd)


def test_bad_expression(target):
    check_bad_expression(target)


@pytest.mark.parametrize("args", [
    "retain path",
    "retain path 1 -n x",
    "retain path 1 --kind nosuchkind",
    "retain info",
    "retain stats --bogus",
])
def test_garbage_arguments(target, args):
    rc, out, err = run_retain(target, args)
    assert_retain_error(rc, out, err)


def test_answer_then_error(target):
    """An answer, then a failing command: the answer is printed, the
    status is non-zero, one `retain:` or gdb error line."""
    t = target.truth["targets"][0]
    rc, out, err = run_retain(target, f"retain info {t['addr']} --json",
                              "retain path nosuchvar --json")
    answers = json_lines(out)
    assert len(answers) == 1 and answers[0]["state"] == "in-use", (out, err)
    assert rc != 0


# ---- a stripped build (-ldflags=-s -w): no symbols, no DWARF ------------


@pytest.fixture(scope="module", params=["live", "core"])
def stripped(request, fixture_cache):
    require_retain()
    fp = fixture_cache.get(FIXTURE, (), "stripped")
    return make_target(fp, request.param)


@pytest.mark.parametrize("cmd", ["path {addr}", "info {addr}", "stats"])
def test_stripped_binary(stripped, cmd):
    addr = stripped.truth["targets"][0]["addr"]
    rc, out, err = run_retain(stripped, "retain " + cmd.format(addr=addr) + " --json")
    line = assert_retain_error(rc, out, err)
    assert re.search(r"DWARF|debug info", line, re.I), line


def test_stripped_binary_text(stripped):
    addr = stripped.truth["targets"][0]["addr"]
    rc, out, err = run_retain(stripped, f"retain path {addr}")
    line = assert_retain_error(rc, out, err)
    assert re.search(r"DWARF|debug info", line, re.I), line

