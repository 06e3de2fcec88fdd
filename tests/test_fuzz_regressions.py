"""Replays the fuzzing regression cases (fuzz/regressions/TARGET/*.txt) through
the fuzz targets, without libFuzzer.

`fuzz/run.sh build-replay` builds fuzz/build/replay_TARGET: each fuzz target
(fuzz/fuzz_TARGET.c, with its invariants) and the engine sources it drives,
linked with a plain main (fuzz/replay.c), with ASan and UBSan when the
compiler has them. Each case is one test: it passes when the replay program
exits 0 within the time limit (a crash, a sanitizer report, a failed
invariant or a hang fails it). Skipped when the replay programs cannot be
built here (no C compiler, or no libdwarf/libelf/zlib headers).
"""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FUZZ = ROOT / "fuzz"
BUILD = FUZZ / "build"
TARGETS = ("core", "glibc", "dwarf", "go")
# A case is a few hundred bytes: seconds at most, even sanitized. Longer is
# a hang (two of the cases were hangs).
CASE_TIMEOUT = 120
CASES = sorted(p for t in TARGETS for p in (FUZZ / "regressions" / t).glob("*.txt"))


def _case_id(path):
    return f"{path.parent.name}/{path.stem}"


@pytest.fixture(scope="session")
def replay_programs():
    if shutil.which("bash") is None:
        pytest.skip("bash not found (fuzz/run.sh needs it)")
    proc = subprocess.run(
        ["bash", str(FUZZ / "run.sh"), "build-replay"],
        cwd=ROOT, capture_output=True, text=True, timeout=900,
    )
    if proc.returncode == 77:
        pytest.skip("the fuzz replay programs cannot be built here: " + proc.stderr.strip())
    assert proc.returncode == 0, (
        f"fuzz/run.sh build-replay failed (exit {proc.returncode}):\n"
        f"{proc.stdout}\n{proc.stderr}")
    return {t: BUILD / f"replay_{t}" for t in TARGETS}


def test_cases_exist():
    # every target keeps at least its seed-like cases (empty input and others)
    for t in TARGETS:
        assert list((FUZZ / "regressions" / t).glob("*.txt")), f"no regression cases for {t}"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_regression_case(replay_programs, case, tmp_path):
    program = replay_programs[case.parent.name]
    env = dict(os.environ, TMPDIR=str(tmp_path),
               UBSAN_OPTIONS="print_stacktrace=1:" + os.environ.get("UBSAN_OPTIONS", ""))
    try:
        proc = subprocess.run([str(program), str(case)], capture_output=True, text=True,
                              timeout=CASE_TIMEOUT, env=env)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{_case_id(case)} did not finish within {CASE_TIMEOUT} s (a hang)")
    assert proc.returncode == 0, (
        f"{program.name} {case} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-6000:]}")
    assert "passed" in proc.stdout
