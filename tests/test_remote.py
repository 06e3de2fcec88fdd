"""Targets the engine cannot read itself: through gdbserver, retain reads
memory with gdb's own reads (the callback source) and must give the same
answers as on a live process. fixtures/basics.c, its own instance, because
gdbserver keeps it attached for the whole module."""

import shutil
import socket
import subprocess
import time

import pytest

from conftest import GDB, RETAIN_DEV, assert_gdb_did_not_crash, assert_no_python_failure, h, json_lines, require_retain

FIXTURE = "basics.c"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def remote(fixture_cache):
    require_retain()
    if shutil.which("gdbserver") is None:
        pytest.skip("gdbserver is not installed (Debian package gdbserver)")
    fp = fixture_cache.get(FIXTURE, ("remote",))
    port = free_port()
    server = subprocess.Popen(["gdbserver", "--attach", f"127.0.0.1:{port}", str(fp.pid)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:   # wait until it listens
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.1)
    yield fp, port
    server.kill()
    server.wait()


def remote_retain(fp, port, *cmds):
    argv = [GDB, "-nx", "-batch", "-iex", "set python print-stack full", "-iex", f"source {RETAIN_DEV}",
            str(fp.binary), "-ex", f"target remote 127.0.0.1:{port}"]
    for c in cmds:
        argv += ["-ex", c]
    # gdbserver takes one connection at a time and stays up after a detach.
    argv += ["-ex", "disconnect"]
    res = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    assert_gdb_did_not_crash(res.returncode, res.stdout, res.stderr)
    assert_no_python_failure(res.stdout, res.stderr)
    return res


def test_remote_stats_say_callback(remote):
    fp, port = remote
    res = remote_retain(fp, port, "retain stats --json")
    (stats,) = json_lines(res.stdout)
    assert stats["source"] == "callback"
    assert stats["blocks"]["in_use"] > 50 and stats["edges"] > 0


def test_remote_list_tail_chain(remote):
    fp, port = remote
    tail = fp.truth["list"]["nodes"][-1]["addr"]
    res = remote_retain(fp, port, f"retain path {tail} --kind global --json")
    (ans,) = json_lines(res.stdout)
    assert ans["reachable"] is True
    (path,) = ans["paths"]
    assert path["root"]["name"] == "g_list"
    assert len(path["hops"]) == 50
    assert h(path["hops"][-1]["addr"]) == h(tail)
    assert all(hop["field"] == ".next" for hop in path["hops"][1:])
