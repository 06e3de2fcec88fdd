"""Shared fixtures and helpers for retain's integration tests.

Every integration test runs gdb with the build tree's retain-dev.gdb:

    gdb -nx -batch -iex "source ROOT/retain-dev.gdb" -p PID -ex CMD ...   (live)
    gdb -nx -batch -iex "source ROOT/retain-dev.gdb" BINARY CORE -ex CMD  (core)

and is skipped when retain-dev.gdb has not been built. The fixture programs
(fixtures/*.c, *.cc) are compiled at test time, started once per session,
and cored once per session (`gcore`); each writes its own ground truth to a
JSON file that the tests compare retain's answers against.

A test module says which program it uses with a module-level FIXTURE (the
source file name) and optionally FIXTURE_ARGS (extra argv after the truth
path); the `target` fixture is parametrized over ["live", "core"].

Go fixtures (FIXTURE = "go/NAME.go", fixtures/go/*.go but common.go, the
code they share and each is built together with) are built with
`go build` (RETAIN_GO names another go; skipped when there is none) in
several variants (GO_BUILD_FLAGS): "opt" (default flags, as users ship),
"noopt" (-gcflags=all=-N -l) and "stripped" (-ldflags=-s -w, no symbols
or DWARF). A Go module's tests run against every variant in its GO_BUILDS
(default GO_VARIANTS = ("opt", "noopt")): pytest_generate_tests
parametrizes the module-scoped `build_variant` fixture (None for C
fixtures), so each test runs live x core x variant, and the FixtureCache
keys a program by (source, args, variant).
"""

import json
import os
import random
import re
import select
import shlex
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

TESTS_DIR = Path(__file__).resolve().parent
ROOT = TESTS_DIR.parent
FIXTURES_DIR = ROOT / "fixtures"
# RETAIN_DEV_GDB may name another loader script (e.g. an installed build's)
RETAIN_DEV = Path(os.environ.get("RETAIN_DEV_GDB", ROOT / "retain-dev.gdb"))

GDB = shutil.which("gdb")
GCC = shutil.which("gcc")
GXX = shutil.which("g++")
GO = os.environ.get("RETAIN_GO") or shutil.which("go")

# Go builds: the variant name -> extra `go build` flags.
GO_BUILD_FLAGS = {
    "opt": [],                          # default flags, as users ship
    "noopt": ["-gcflags=all=-N -l"],    # no optimization, no inlining (runtime too)
    "stripped": ["-ldflags=-s -w"],     # no symbol table, no DWARF
}
# The variants every Go test module runs against unless it sets GO_BUILDS.
GO_VARIANTS = ("opt", "noopt")
# Built into every Go fixture (fixtures/go/common.go); not a fixture itself.
GO_COMMON = "common.go"
GO_BUILD_TIMEOUT = 300  # a cold -N -l build recompiles the standard library (~5 s here)

READY_TIMEOUT = 20
GDB_TIMEOUT = 300

# A JSON answer is the one stdout line that starts like this.
JSON_LINE = re.compile(r'^\{\s*"schema"\s*:\s*"retain/1"')
# Signs of a Python exception escaping (never acceptable, whatever the input).
PY_FAILURE = ("Traceback", "Python Exception", "Error occurred in Python")
# Signs of gdb itself failing.
GDB_FAILURE = ("Fatal signal", "internal-error", "A problem internal to GDB")


def gdb_env():
    env = dict(os.environ)
    env.pop("DEBUGINFOD_URLS", None)  # never go to the network for symbols
    env["LC_ALL"] = "C"
    return env


def require_retain():
    """Skip the calling test unless gdb and the built retain-dev.gdb exist."""
    if GDB is None:
        pytest.skip("gdb is not installed")
    if not RETAIN_DEV.exists():
        pytest.skip(f"{RETAIN_DEV} does not exist: build retain first "
                    "(the build tree's retain-dev.gdb loads the extension)")


@pytest.fixture(scope="session")
def retain_dev():
    require_retain()
    return RETAIN_DEV


# --------------------------------------------------------------------------
# fixture programs


def go_env():
    """The environment for `go build`: no user GOFLAGS, no network, and a
    writable build cache (the user's default one when it is writable, so
    that the -N -l standard library is compiled once, not every session)."""
    env = dict(os.environ)
    env["GOFLAGS"] = ""
    env["GOPROXY"] = "off"
    env.pop("GOOS", None)
    env.pop("GOARCH", None)
    fallback = Path(tempfile.gettempdir()) / f"retain-tests-go-{os.getuid()}"
    if "GOCACHE" not in env:
        cache_home = Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache")
        try:
            (cache_home / "go-build").mkdir(parents=True, exist_ok=True)
            writable = os.access(cache_home / "go-build", os.W_OK)
        except OSError:
            writable = False
        if not writable:
            env["GOCACHE"] = str(fallback / "cache")
    if "GOPATH" not in env and not os.access(Path.home(), os.W_OK):
        env["GOPATH"] = str(fallback / "gopath")
    if not os.access(Path.home(), os.W_OK):
        env["HOME"] = str(fallback)   # `go` wants a writable config dir too
    return env


def build_go_fixture(src: Path, outdir: Path, variant: str) -> Path:
    """`go build` fixtures/go/SRC (a package main file) together with the
    fixtures' shared fixtures/go/common.go, in VARIANT."""
    if GO is None:
        pytest.skip("go is not installed (Debian: golang-go): cannot build the Go fixtures")
    if variant not in GO_BUILD_FLAGS:
        raise ValueError(f"unknown Go build variant {variant!r}; known: {sorted(GO_BUILD_FLAGS)}")
    common = src.parent / GO_COMMON
    if src.name == GO_COMMON:
        raise ValueError(f"{src} is the Go fixtures' shared code, not a fixture")
    binary = outdir / src.stem
    # `go build` wants all the files it is given in one directory (fixtures/go)
    cmd = [GO, "build", *GO_BUILD_FLAGS[variant], "-o", str(binary), str(src), str(common)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=GO_BUILD_TIMEOUT,
                         env=go_env(), cwd=outdir)
    if res.returncode != 0:
        pytest.fail(f"building {src.name} ({variant}) failed:\n{shlex.join(cmd)}\n{res.stderr}")
    return binary


def build_fixture(src: Path, outdir: Path, variant: Optional[str] = None) -> Path:
    """Compile fixtures/SRC with -g -O0 -pthread into outdir (a .go file:
    with `go build`, see build_go_fixture); return the binary."""
    if src.suffix == ".go":
        return build_go_fixture(src, outdir, variant or "opt")
    assert variant is None, f"{src.name}: build variants are for Go fixtures only"
    if src.suffix in (".cc", ".cpp"):
        compiler = GXX
    else:
        compiler = GCC
    if compiler is None:
        pytest.skip(f"no compiler for {src.name}")
    binary = outdir / src.stem
    cmd = [compiler, "-g", "-O0", "-pthread", "-Wall", "-o", str(binary), str(src)]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    if res.returncode != 0:
        pytest.fail(f"building {src.name} failed:\n{' '.join(cmd)}\n{res.stderr}")
    return binary


class FixtureProcess:
    """One running fixture program: binary, process, truth, and its core."""

    def __init__(self, src: Path, args: tuple, workdir: Path, variant: Optional[str] = None):
        self.src = src
        self.args = tuple(str(a) for a in args)
        self.workdir = workdir
        self.variant = variant
        self.binary = build_fixture(src, workdir, variant)
        self.truth_path = workdir / f"{src.stem}.truth.json"
        self.proc = None
        self.truth = None
        self._core = None
        self._start()

    def _start(self):
        self.proc = subprocess.Popen(
            [str(self.binary), str(self.truth_path), *self.args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=self.workdir)
        deadline = time.monotonic() + READY_TIMEOUT
        line = b""
        while time.monotonic() < deadline:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(left, 0))
            if not ready:
                break
            line = self.proc.stdout.readline()
            if line.strip() == b"READY" or not line:
                break
        if line.strip() != b"READY":
            self.kill()
            err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
            pytest.fail(f"{self.binary.name} did not print READY within {READY_TIMEOUT} s "
                        f"(last line {line!r}, exit status {self.proc.poll()}): {err}")
        with open(self.truth_path) as f:
            self.truth = json.load(f)
        assert self.truth.get("pid") == self.proc.pid, "truth file is not from this process"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def core(self) -> Path:
        """Make (once) a core of the running process with gdb's gcore."""
        if self._core is None:
            if GDB is None:
                pytest.skip("gdb is not installed")
            core = self.workdir / f"{self.src.stem}.core"
            res = subprocess.run(
                [GDB, "-nx", "-batch", "-p", str(self.pid), "-ex", f"gcore {core}"],
                capture_output=True, text=True, timeout=GDB_TIMEOUT, env=gdb_env())
            if res.returncode != 0 or not core.exists():
                pytest.fail(f"gcore of {self.binary.name} failed (status {res.returncode}):\n"
                            f"{res.stdout}\n{res.stderr}")
            assert self.proc.poll() is None, "the fixture died while being cored"
            self._core = core
        return self._core

    def kill(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


class FixtureCache:
    """Session-wide: each (program, args, build variant) is built, started
    and cored once. The variant is None for C fixtures and one of
    GO_BUILD_FLAGS for Go ones (None means "opt")."""

    def __init__(self, tmp_path_factory):
        self.tmp_path_factory = tmp_path_factory
        self.procs = {}

    def get(self, src_name: str, args=(), variant: Optional[str] = None) -> FixtureProcess:
        if src_name.endswith(".go") and variant is None:
            variant = "opt"
        key = (src_name, tuple(args), variant)
        if key not in self.procs:
            src = FIXTURES_DIR / src_name
            assert src.exists(), f"no fixture {src}"
            workdir = self.tmp_path_factory.mktemp(
                src.stem if variant is None else f"{src.stem}-{variant}")
            self.procs[key] = FixtureProcess(src, tuple(args), workdir, variant)
        fp = self.procs[key]
        if fp.proc.poll() is not None:
            pytest.fail(f"fixture {src_name} exited early with status {fp.proc.returncode}")
        return fp

    def close(self):
        for fp in self.procs.values():
            fp.kill()


@pytest.fixture(scope="session")
def fixture_cache(tmp_path_factory):
    cache = FixtureCache(tmp_path_factory)
    yield cache
    cache.close()


@dataclass
class Target:
    """What a test points gdb at: a live process or a core of it."""
    mode: str                      # "live" or "core"
    name: str                      # fixture program name (stem)
    binary: Path
    pid: int
    core: Optional[Path]
    truth: dict
    workdir: Path
    process: FixtureProcess = field(repr=False, default=None)
    variant: Optional[str] = None  # Go fixtures: the build variant ("opt", "noopt", ...)

    def gdb_args(self) -> list:
        if self.mode == "live":
            return ["-p", str(self.pid)]
        return [str(self.binary), str(self.core)]

    def __str__(self):
        if self.variant is not None:
            return f"{self.name}-{self.variant}-{self.mode}"
        return f"{self.name}-{self.mode}"


def make_target(fp: FixtureProcess, mode: str) -> Target:
    core = fp.core() if mode == "core" else None
    return Target(mode=mode, name=fp.src.stem, binary=fp.binary, pid=fp.pid, core=core,
                  truth=fp.truth, workdir=fp.workdir, process=fp, variant=fp.variant)


@pytest.fixture(scope="module")
def build_variant():
    """How the module's FIXTURE is built: None (C fixtures; Go ones are
    parametrized over the module's GO_BUILDS by pytest_generate_tests)."""
    return None


def pytest_generate_tests(metafunc):
    """Go fixture modules: run every test that builds on `build_variant`
    (through `target`) once per variant in GO_BUILDS (default GO_VARIANTS)."""
    if "build_variant" not in metafunc.fixturenames:
        return
    src_name = getattr(metafunc.module, "FIXTURE", None) or ""
    if not src_name.endswith(".go"):
        return
    variants = tuple(getattr(metafunc.module, "GO_BUILDS", GO_VARIANTS))
    unknown = set(variants) - set(GO_BUILD_FLAGS)
    assert not unknown, f"{metafunc.module.__name__}: unknown GO_BUILDS {unknown}"
    metafunc.parametrize("build_variant", variants, scope="module")


def fixture_target(src_name):
    """A module-scoped pytest fixture for a second fixture program of a test
    module (beside its FIXTURE): fixtures/SRC_NAME, live and core."""
    @pytest.fixture(scope="module", params=["live", "core"])
    def _target(request, fixture_cache):
        require_retain()
        return make_target(fixture_cache.get(src_name), request.param)
    return _target


@pytest.fixture(scope="module", params=["live", "core"])
def target(request, fixture_cache, build_variant):
    """The module's FIXTURE program, live or as a core (skips without retain);
    Go fixtures in the build variant `build_variant`."""
    require_retain()
    src_name = getattr(request.module, "FIXTURE", None)
    assert src_name, f"{request.module.__name__} must set FIXTURE = 'name.c'"
    args = getattr(request.module, "FIXTURE_ARGS", ())
    fp = fixture_cache.get(src_name, args, build_variant)
    return make_target(fp, request.param)


# --------------------------------------------------------------------------
# running gdb


def assert_no_python_failure(*texts):
    for text in texts:
        for bad in PY_FAILURE:
            assert bad not in text, f"{bad!r} in gdb output:\n{text}"


def assert_gdb_did_not_crash(rc, out, err):
    assert rc >= 0, f"gdb was killed by signal {-rc}:\n{out}\n{err}"
    for bad in GDB_FAILURE:
        assert bad not in out + err, f"{bad!r} in gdb output:\n{out}\n{err}"


def gdb_command(target, cmds=(), iex=(), extra=(), retain=True):
    """The gdb argv: -nx -batch, retain-dev.gdb, the target, then -ex CMDs."""
    argv = [GDB, "-nx", "-batch", "-iex", "set python print-stack full"]
    for i in iex:
        argv += ["-iex", i]
    if retain:
        argv += ["-iex", f"source {RETAIN_DEV}"]
    if target is not None:
        argv += target.gdb_args() if isinstance(target, Target) else list(target)
    argv += list(extra)
    for c in cmds:
        argv += ["-ex", c]
    return argv


def run_gdb(argv, timeout=GDB_TIMEOUT):
    res = subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                         env=gdb_env(), stdin=subprocess.DEVNULL)
    return res.returncode, res.stdout, res.stderr


def run_retain(target, *cmds, iex=(), timeout=GDB_TIMEOUT):
    """Run gdb on TARGET (a Target, a list of gdb args, or None for no
    program) with each CMD as an -ex; return (rc, stdout, stderr).
    Asserts that no Python traceback appears and gdb did not crash."""
    require_retain()
    rc, out, err = run_gdb(gdb_command(target, cmds, iex=iex), timeout=timeout)
    assert_no_python_failure(out, err)
    assert_gdb_did_not_crash(rc, out, err)
    return rc, out, err


def json_lines(text):
    return [json.loads(line) for line in text.splitlines() if JSON_LINE.match(line)]


def retain_json(target, cmd, iex=()):
    """Run `CMD --json` on TARGET; return the parsed JSON answer."""
    full = cmd if cmd.rstrip().endswith("--json") else f"{cmd} --json"
    rc, out, err = run_retain(target, full, iex=iex)
    answers = json_lines(out)
    assert rc == 0, (f"`{full}` failed (status {rc}); to reproduce:\n"
                     f"{shlex.join(gdb_command(target, [full], iex=iex))}\n"
                     f"stdout:\n{out}\nstderr:\n{err}")
    assert len(answers) == 1, f"`{full}`: expected one JSON line, got {len(answers)}:\n{out}\n{err}"
    ans = answers[0]
    assert ans["schema"] == "retain/1"
    assert ans["command"] == full.split()[1], ans
    return ans


_SCRIPT_PRELUDE = r'''
import gdb, json, re
_JSON_LINE = re.compile(r'^\{\s*"schema"\s*:\s*"retain/1"')

def run(cmd):
    """(ok, text): the command's output, or its error message."""
    try:
        return True, gdb.execute(cmd, to_string=True)
    except gdb.error as e:
        return False, str(e)

def retain(cmd):
    """The parsed JSON answer of `cmd` (which must include --json), or
    {"error": message} when the command failed."""
    ok, text = run(cmd)
    if not ok:
        return {"error": text}
    lines = [l for l in text.splitlines() if _JSON_LINE.match(l)]
    if len(lines) != 1:
        return {"error": "expected one JSON line, got %d" % len(lines), "output": text}
    return json.loads(lines[0])

def read_word(addr):
    return int.from_bytes(bytes(gdb.selected_inferior().read_memory(addr, 8)), "little")

def thread_numbers():
    """{lwp: gdb thread number} for the current inferior."""
    return {str(t.ptid[1]): t.num for t in gdb.selected_inferior().threads()}

ARGS = json.loads(open(@ARGS_PATH@).read())
out = {}
'''

_SCRIPT_EPILOGUE = r'''
with open(@RESULT_PATH@, "w") as _f:
    json.dump(out, _f)
'''


def gdb_script(target, body, args=None, iex=(), timeout=GDB_TIMEOUT):
    """Run Python BODY inside one gdb session on TARGET (with retain loaded).

    BODY sees `run(cmd)`, `retain(cmd)`, `read_word(addr)`,
    `thread_numbers()`, `ARGS` (the JSON-able `args`) and fills the dict
    `out`, which is returned. Use it to ask many questions in one gdb."""
    require_retain()
    tmpdir = Path(tempfile.mkdtemp(prefix="retain-gdbpy-"))
    try:
        args_path = tmpdir / "args.json"
        result_path = tmpdir / "result.json"
        script_path = tmpdir / "script.py"
        args_path.write_text(json.dumps(args))
        script_path.write_text(
            _SCRIPT_PRELUDE.replace("@ARGS_PATH@", repr(str(args_path))) + "\n" + body + "\n"
            + _SCRIPT_EPILOGUE.replace("@RESULT_PATH@", repr(str(result_path))))
        argv = gdb_command(target, iex=iex, extra=["-x", str(script_path)])
        rc, out, err = run_gdb(argv, timeout=timeout)
        assert_no_python_failure(out, err)
        assert_gdb_did_not_crash(rc, out, err)
        assert result_path.exists(), f"the gdb script did not finish (status {rc}):\n{out}\n{err}"
        result = json.loads(result_path.read_text())
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    # Non-GdbError exceptions surface as "Error occurred in Python" errors.
    assert_no_python_failure(json.dumps(result))
    return result


_JSON_AND_TEXT = r"""
out['json'] = {k: retain(c) for k, c in ARGS['json'].items()}
out['text'] = {k: run(c) for k, c in ARGS['text'].items()}
"""


def json_and_text(target, json_queries, text_queries):
    """Both kinds of query in one gdb: {"json": {key: answer}, "text": {key:
    (ok, output)}} for dicts of commands (the JSON ones end in --json)."""
    return gdb_script(target, _JSON_AND_TEXT, args={"json": json_queries, "text": text_queries})


def retain_json_many(target, cmds, iex=()):
    """Run every command (each gets --json) in ONE gdb; list of answers
    (an answer is {"error": msg} for a failing command)."""
    cmds = [c if c.rstrip().endswith("--json") else f"{c} --json" for c in cmds]
    res = gdb_script(target, "out['answers'] = [retain(c) for c in ARGS]", args=cmds, iex=iex)
    return res["answers"]


# --------------------------------------------------------------------------
# small helpers for assertions


def h(x):
    """An address from the truth or from retain's JSON ("0x..." or int)."""
    if x is None:
        return None
    if isinstance(x, int):
        return x
    return int(x, 16)


ADDR_RE = re.compile(r"^0x[0-9a-f]+$")


def check_addr(x, nullable=False):
    if x is None and nullable:
        return
    assert isinstance(x, str) and ADDR_RE.match(x), f"not a lower-case 0x address: {x!r}"


BLOCK_KEYS = {"query", "state", "block", "size", "offset", "heap", "free_reason", "type"}
ROOT_KEYS = {"kind", "name", "addr", "offset", "thread", "frame", "type", "precise", "objfile"}
HOP_KEYS = {"addr", "size", "type", "slot", "offset", "field", "pointer", "interior"}
ROOT_KINDS = {"global", "stack", "register", "tls", "mapping"}


def check_block(b):
    """The shared `block` object of docs/json-schema.md."""
    missing = BLOCK_KEYS - set(b)
    assert not missing, f"block lacks {missing}: {b}"
    check_addr(b["query"])
    assert b["state"] in ("in-use", "free", "not-heap"), b
    if b["state"] == "not-heap":
        assert b["block"] is None, b
    else:
        check_addr(b["block"])
        assert isinstance(b["size"], int) and b["size"] > 0, b
        assert b["offset"] == h(b["query"]) - h(b["block"]), b
        assert b["heap"] in ("main-arena", "arena", "mmapped"), b
    if b["state"] == "free":
        assert b["free_reason"] in ("tcache", "fastbin", "bin", "top"), b


def check_root(r):
    missing = ROOT_KEYS - set(r)
    assert not missing, f"root lacks {missing}: {r}"
    assert r["kind"] in ROOT_KINDS, r
    check_addr(r["addr"], nullable=True)
    if r["kind"] == "register":
        assert r["addr"] is None, r
    assert isinstance(r["offset"], int), r
    assert isinstance(r["precise"], bool), r
    if r["kind"] in ("stack", "register", "tls"):
        assert isinstance(r["thread"], int), r
    if r["kind"] == "stack":
        assert isinstance(r["frame"], dict), r
    return r


def check_hop(hop):
    missing = HOP_KEYS - set(hop)
    assert not missing, f"hop lacks {missing}: {hop}"
    check_addr(hop["addr"])
    check_addr(hop["pointer"])
    check_addr(hop["slot"], nullable=True)
    assert isinstance(hop["size"], int) and hop["size"] > 0, hop
    assert isinstance(hop["offset"], int), hop
    assert hop["interior"] == h(hop["pointer"]) - h(hop["addr"]), hop
    assert 0 <= hop["interior"] < hop["size"], hop


def check_path_answer(ans):
    """A whole `retain path --json` answer: keys, types, chained hops."""
    assert ans["command"] == "path"
    for k in ("target", "reachable", "paths", "truncated", "incomplete", "warnings"):
        assert k in ans, f"path answer lacks {k!r}: {ans}"
    check_block(ans["target"])
    assert isinstance(ans["paths"], list)
    # null only when --max-depth stopped the search before any chain was found
    assert isinstance(ans["reachable"], bool) or (ans["reachable"] is None and ans["truncated"]), ans
    if ans["paths"]:
        assert ans["reachable"] is True, ans
    if not ans["reachable"]:
        assert ans["paths"] == [], ans
    lengths = [len(p["hops"]) for p in ans["paths"]]
    assert lengths == sorted(lengths), f"paths not sorted shortest first: {lengths}"
    for p in ans["paths"]:
        root = check_root(p["root"])
        assert p["hops"], "a path has at least one hop"
        first = p["hops"][0]
        if root["addr"] is not None:
            # hop 0's slot is the root word itself
            assert h(first["slot"]) == h(root["addr"]), (root, first)
        if root["name"] is not None and root["kind"] in ("global", "stack", "tls"):
            assert first["offset"] == root["offset"], (root, first)
        for i, hop in enumerate(p["hops"]):
            check_hop(hop)
            if i > 0:
                prev = p["hops"][i - 1]
                # the slot lies inside the previous block, at `offset`
                assert h(hop["slot"]) == h(prev["addr"]) + hop["offset"], (prev, hop)
                assert 0 <= hop["offset"] < prev["size"], (prev, hop)
        # the last hop is the block that holds the target
        assert h(p["hops"][-1]["addr"]) == h(ans["target"]["block"]), p
    return ans


def root_identity(root):
    return (root["kind"], root["name"], root["addr"], root["thread"])


# --------------------------------------------------------------------------
# helpers shared by the C and the Go test modules


def read_mem(pid, addr, n):
    """N bytes of process PID's memory at ADDR (/proc/PID/mem)."""
    with open(f"/proc/{pid}/mem", "rb", buffering=0) as f:
        f.seek(addr)
        return f.read(n)


def plain_gdb(args, script):
    """Run a Python SCRIPT in plain gdb (no retain); it prints one "@@" JSON line."""
    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(script)
        path = f.name
    try:
        res = subprocess.run([GDB, "-nx", "-batch", *args, "-x", path],
                             capture_output=True, text=True, timeout=120, env=gdb_env(),
                             stdin=subprocess.DEVNULL)
    finally:
        os.unlink(path)
    lines = [l for l in res.stdout.splitlines() if l.startswith("@@")]
    assert lines, f"gdb failed:\n{res.stdout}\n{res.stderr}"
    return json.loads(lines[-1][2:])


def retain_lines(err):
    return [l for l in err.splitlines() if l.startswith("retain:")]


def assert_retain_error(rc, out, err):
    """The last command failed cleanly: status != 0, one `retain:` line."""
    assert rc != 0, f"expected failure, got status 0:\n{out}\n{err}"
    lines = retain_lines(err)
    assert len(lines) == 1, f"expected one 'retain:' error line on stderr:\n{err}"
    assert not json_lines(out), "no JSON for a failed command"
    return lines[0]


def assert_answer_or_error(rc, out, err):
    """Either a JSON answer (status 0) or a clean `retain:` error."""
    answers = json_lines(out)
    if rc == 0:
        assert len(answers) == 1, f"status 0 but {len(answers)} JSON lines:\n{out}\n{err}"
        return answers[0]
    assert_retain_error(rc, out, err)
    return None


def check_bad_expression(target):
    """`retain path` of an expression gdb cannot evaluate fails cleanly."""
    rc, out, err = run_retain(target, "retain path nosuchvar --json")
    assert rc != 0
    assert "nosuchvar" in err or retain_lines(err), err
    assert not json_lines(out)


def check_unmapped_address(target, cmd):
    """`retain CMD 0x1000` (nothing mapped there): a not-heap answer or a
    clean `retain:` error."""
    rc, out, err = run_retain(target, f"retain {cmd} 0x1000 --json")
    ans = assert_answer_or_error(rc, out, err)
    if ans is not None:
        block = ans if cmd == "info" else ans["target"]
        assert block["state"] == "not-heap", ans
        assert block["block"] is None
        if cmd == "path":
            assert ans["reachable"] is False and ans["paths"] == []


# The seeded random graphs (random_graph.c, go/randgraph.go).

# RETAIN_TEST_SEED picks another graph (and another sample); the default is
# fixed so that a failure reproduces.
GRAPH_SEED = int(os.environ.get("RETAIN_TEST_SEED", "20240601"))


class HeapGraph:
    """A fixture's recorded graph of heap OBJECTS (truth dicts with "addr"
    and "size"): object i at addr[i], of size[i]; a subclass sets hops[i],
    the heap hops of its shortest path from a root (None when no root
    reaches it)."""

    def __init__(self, truth, objects):
        self.truth = truth
        self.addr = [h(o["addr"]) for o in objects]
        self.size = [o["size"] for o in objects]
        self.index = {a: i for i, a in enumerate(self.addr)}
        self.hops = [None] * len(objects)


def sample_graph_queries(graph, seed, n_reach, n_unreach):
    """(reach, unreach): N_REACH reachable objects (the deepest always among
    them) and N_UNREACH unreachable ones, picked with SEED, as (i, address):
    the object's start or (1 time in 4) an address inside it."""
    rnd = random.Random(seed)
    reachable = [i for i, k in enumerate(graph.hops) if k is not None]
    unreachable = [i for i, k in enumerate(graph.hops) if k is None]
    assert len(reachable) >= n_reach and len(unreachable) >= n_unreach, (
        "the seed gives too few reachable or unreachable objects")
    reach = rnd.sample(reachable, n_reach)
    deepest = max(reachable, key=lambda i: (graph.hops[i], i))
    if deepest not in reach:
        reach[0] = deepest
    unreach = rnd.sample(unreachable, n_unreach)

    def query(i):
        off = rnd.randrange(graph.size[i]) if rnd.random() < 0.25 else 0
        return i, graph.addr[i] + off
    return [query(i) for i in reach], [query(i) for i in unreach]


def check_graph_paths(target, graph, seed, n_reach, n_unreach, check_answer, check_chain):
    """`retain path` of the queries sample_graph_queries picks, in one gdb:
    the answer to (i, address) passes CHECK_ANSWER, its target is object i,
    in use, and it is unreachable exactly when the graph says so; otherwise
    CHECK_CHAIN(graph, i, answer) checks the shortest path. Reports all the
    wrong answers."""
    reach, unreach = sample_graph_queries(graph, seed, n_reach, n_unreach)
    queries = reach + unreach
    answers = retain_json_many(target, [f"retain path {hex(q)}" for _, q in queries])
    failures = []
    for (i, q), ans in zip(queries, answers):
        try:
            assert "error" not in ans, ans
            check_answer(ans)
            assert h(ans["target"]["block"]) == graph.addr[i]
            assert ans["target"]["offset"] == q - graph.addr[i]
            assert ans["target"]["state"] == "in-use"
            assert ans["target"]["size"] >= graph.size[i]
            if graph.hops[i] is None:
                assert ans["reachable"] is False and ans["paths"] == [], "should be unreachable"
            else:
                assert ans["reachable"] is True
                check_chain(graph, i, ans)
        except AssertionError as e:
            failures.append(f"object {i} query {hex(q)}: {e}")
    assert not failures, f"{len(failures)} of {len(queries)} queries wrong:\n" + "\n".join(
        failures[:20])


def check_graph_info_distances(target, graph, seed, n):
    """`retain info` of N objects picked with SEED, in one gdb: each in use,
    with the graph's distance (hops) and reachability."""
    picked = random.Random(seed).sample(range(len(graph.addr)), n)
    answers = retain_json_many(target, [f"retain info {hex(graph.addr[i])}" for i in picked])
    wrong = []
    for i, ans in zip(picked, answers):
        want = graph.hops[i]
        if (ans.get("distance", "missing") != want or ans.get("reachable") != (want is not None)
                or ans.get("state") != "in-use"):
            wrong.append((i, want, ans.get("distance"), ans.get("state"), ans.get("error")))
    assert not wrong, f"{len(wrong)} wrong (object, want, got, state, error): {wrong[:20]}"
