#!/usr/bin/env bash
# retain's set-up script for Debian 12 (bookworm).
#
#   scripts/setup.sh deps    install the Debian packages retain needs (only the
#                            missing ones; apt-get, so run it as root)
#   scripts/setup.sh build   deps are assumed; autoreconf if needed, configure,
#                            make: gives ./retain-gdb-dev and ./retain-dev.gdb
#   scripts/setup.sh demo    deps + build, then run fixtures/demo.c, make a core
#                            of it and print what retains its target block
#   scripts/setup.sh test    deps + build, then make check (C unit tests) and
#                            pytest (gdb tests)
#   scripts/setup.sh fuzz [SECONDS]
#                            deps, then fuzz/run.sh: libFuzzer on the engine's
#                            parsers, SECONDS per target (default 60)
#
# Environment:
#   RETAIN_CONFIGURE_FLAGS   flags for ./configure (default: --enable-sanitizers,
#                            which sanitizes the C unit tests only); when set,
#                            configure is run again even if the tree is configured
#   RETAIN_JOBS              make -j (default 2)
#   RETAIN_FUZZ_SECONDS      seconds each fuzz target runs in `test` (default 40; 0 skips)
set -euo pipefail

readonly PACKAGES=(
    build-essential autoconf automake libtool pkg-config
    gdb gdbserver g++ libdwarf-dev libelf-dev zlib1g-dev libpcre2-dev
    python3-dev python3-pytest libc6-dbg
    clang-14 libclang-rt-14-dev
    golang-go graphviz
    chromium
)
readonly PYTHON=/usr/bin/python3   # Debian's, the one python3-pytest is for
readonly JOBS=${RETAIN_JOBS:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
cd "$ROOT"

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'setup.sh: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,/^[^#]/s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
}

# --- deps ------------------------------------------------------------------------
missing_packages() {
    local p status
    for p in "${PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
        [[ $status == installed ]] || printf '%s\n' "$p"
    done
}

cmd_deps() {
    command -v dpkg-query >/dev/null 2>&1 ||
        die "dpkg-query not found: this script targets Debian 12; install by hand: ${PACKAGES[*]}"
    local missing
    mapfile -t missing < <(missing_packages)
    if ((${#missing[@]} == 0)); then
        say "deps: all ${#PACKAGES[@]} Debian packages are installed"
        return 0
    fi
    say "deps: installing ${missing[*]}"
    local -a asroot=()
    if ((EUID != 0)); then
        command -v sudo >/dev/null 2>&1 ||
            die "not root and no sudo: as root, run: apt-get install ${missing[*]}"
        asroot=(sudo)
    fi
    "${asroot[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null ||
        die "apt-get update failed"
    "${asroot[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" </dev/null ||
        die "apt-get install failed for: ${missing[*]}"
    mapfile -t missing < <(missing_packages)
    ((${#missing[@]} == 0)) || die "still not installed after apt-get: ${missing[*]}"
}

# --- build -----------------------------------------------------------------------
needs_autoreconf() {
    [[ ! -x configure || ! -f Makefile.in || ! -f config.h.in ]] && return 0
    [[ configure.ac -nt configure || m4/retain.m4 -nt configure || Makefile.am -nt Makefile.in ]]
}

needs_configure() {
    [[ -n ${RETAIN_CONFIGURE_FLAGS+set} ]] && return 0
    [[ ! -f Makefile || ! -f config.status ]] && return 0
    # A tree configured elsewhere (copied or moved) has stale absolute paths.
    [[ $(sed -n 's/^abs_top_builddir = //p' Makefile) != "$ROOT" ]]
}

cmd_build() {
    if needs_autoreconf; then
        say "build: autoreconf -fi"
        autoreconf -fi || die "autoreconf failed (are autoconf, automake, libtool, pkg-config installed? run: scripts/setup.sh deps)"
    fi
    if needs_configure; then
        local -a flags
        read -r -a flags <<<"${RETAIN_CONFIGURE_FLAGS---enable-sanitizers}"
        say "build: ./configure ${flags[*]}"
        ./configure "${flags[@]}" || die "configure failed: see $ROOT/config.log"
    fi
    say "build: make -j$JOBS"
    make -j"$JOBS" || die "make failed"
    [[ -f retain-dev.gdb && -x retain-gdb-dev && -f gdbext/.libs/_retain.so ]] ||
        die "build finished but retain-dev.gdb, retain-gdb-dev or gdbext/.libs/_retain.so is missing"
}

# --- demo ------------------------------------------------------------------------
demo_tmp=
demo_pid=
demo_cleanup() {
    if [[ -n $demo_pid ]] && kill -0 "$demo_pid" 2>/dev/null; then
        kill -KILL "$demo_pid" 2>/dev/null || true
        wait "$demo_pid" 2>/dev/null || true
    fi
    [[ -z $demo_tmp ]] || rm -rf "$demo_tmp"
}

cmd_demo() {
    cmd_deps
    cmd_build
    [[ -f fixtures/demo.c ]] || die "fixtures/demo.c not found"
    demo_tmp=$(mktemp -d "${TMPDIR:-/tmp}/retain-demo.XXXXXX")
    trap demo_cleanup EXIT

    say "demo: building fixtures/demo.c"
    gcc -g -O0 -pthread -o "$demo_tmp/demo" fixtures/demo.c || die "could not build fixtures/demo.c"

    say "demo: running it until it prints READY"
    "$demo_tmp/demo" "$demo_tmp/truth.json" >"$demo_tmp/demo.out" 2>&1 </dev/null &
    demo_pid=$!
    local i
    for ((i = 0; i < 300; i++)); do
        grep -q READY "$demo_tmp/demo.out" 2>/dev/null && break
        kill -0 "$demo_pid" 2>/dev/null ||
            die "demo exited before printing READY; its output: $(cat "$demo_tmp/demo.out")"
        sleep 0.1
    done
    grep -q READY "$demo_tmp/demo.out" || die "demo did not print READY within 30 s"

    local target
    target=$("$PYTHON" -c 'import json, sys; print(json.load(open(sys.argv[1]))["target"])' \
        "$demo_tmp/truth.json") || die "could not read \"target\" from the demo's ground truth"

    say "demo: writing a core with gdb (gcore) of pid $demo_pid"
    if ! gdb -nx -batch -p "$demo_pid" -ex "gcore $demo_tmp/demo.core" >"$demo_tmp/gcore.log" 2>&1 ||
        [[ ! -s $demo_tmp/demo.core ]]; then
        die "gcore failed (ptrace not allowed? see /proc/sys/kernel/yama/ptrace_scope): $(cat "$demo_tmp/gcore.log")"
    fi
    kill -KILL "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
    demo_pid=

    say "demo: ./retain-gdb-dev -nx -batch -ex 'retain path $target' demo demo.core"
    ./retain-gdb-dev -nx -batch -ex "retain path $target" "$demo_tmp/demo" "$demo_tmp/demo.core" ||
        die "retain path failed"
}

# --- test ------------------------------------------------------------------------
cmd_test() {
    cmd_deps
    cmd_build
    say "test: make check (C unit tests)"
    if ! make -j"$JOBS" check; then
        [[ ! -f test-suite.log ]] || cat test-suite.log >&2
        die "C unit tests failed (make check)"
    fi
    # A short fuzz run of each libFuzzer target (RETAIN_FUZZ_SECONDS=0 skips it).
    if ((${RETAIN_FUZZ_SECONDS:-40} > 0)); then
        say "test: fuzz/run.sh ${RETAIN_FUZZ_SECONDS:-40} (seconds per target)"
        bash fuzz/run.sh "${RETAIN_FUZZ_SECONDS:-40}" ||
            die "fuzzing found a problem: see fuzz/build/logs/ and fuzz/build/crashes/"
    fi
    say "test: $PYTHON -m pytest -q tests/"
    local rc=0
    "$PYTHON" -m pytest -q tests/ || rc=$?
    case $rc in
        0) ;;
        5) die "pytest collected no tests in tests/" ;;
        *) die "pytest failed (exit status $rc)" ;;
    esac
}

# --- fuzz ------------------------------------------------------------------------
# fuzz/run.sh builds its own targets with clang (not the configured tree).
cmd_fuzz() {
    cmd_deps
    say "fuzz: fuzz/run.sh ${1:-60} (seconds per target)"
    bash fuzz/run.sh "${1:-60}" || die "fuzzing failed: see fuzz/build/logs/ and fuzz/build/crashes/"
}

case ${1:-} in
    deps) cmd_deps ;;
    build) cmd_build ;;
    demo) cmd_demo ;;
    test) cmd_test ;;
    fuzz) cmd_fuzz "${2:-60}" ;;
    -h | --help | help) usage ;;
    *)
        usage
        exit 2
        ;;
esac
