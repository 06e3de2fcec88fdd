#!/usr/bin/env bash
# fuzz/run.sh: retain's fuzzing with libFuzzer (see fuzz/README.md).
#
#   fuzz/run.sh [SECONDS]           build the targets, make seed corpora, fuzz
#                                   each target for SECONDS (default 60); exit 1
#                                   if any target crashed, hung or ran out of
#                                   memory (the input is kept in fuzz/build/crashes/)
#   fuzz/run.sh build               build the fuzz targets and replay programs only
#   fuzz/run.sh build-replay        build the replay programs only (exit 77 when
#                                   they cannot be built here)
#   fuzz/run.sh replay [TARGET FILE...]
#                                   run inputs through the replay programs (no
#                                   libFuzzer needed): by default every case in
#                                   fuzz/regressions/TARGET/*.txt; exit 77 when
#                                   they cannot be built here
#
# Environment:
#   FUZZ_CC        a clang with libFuzzer (default clang-14, else clang)
#   FUZZ_TARGETS   the targets to fuzz (default "core glibc dwarf go")
#   FUZZ_JOBS      make -j for the build (default 2)
# Output, in fuzz/build/ (gitignored):
#   fuzz_TARGET, replay_TARGET   the programs
#   corpus/TARGET/               what fuzzing found interesting, kept between runs
#   crashes/TARGET-*             inputs that crashed (-crash-), hung (-timeout-),
#                                leaked (-leak-) or ran out of memory (-oom-)
#   logs/TARGET.log              libFuzzer's output of the last run
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly ROOT
readonly FUZZ="$ROOT/fuzz"
readonly B="$FUZZ/build"
readonly JOBS=${FUZZ_JOBS:-2}
readonly PYTHON=${PYTHON:-python3}
read -r -a TARGETS <<<"${FUZZ_TARGETS:-core glibc dwarf go}"
readonly TARGETS

# Per target: the largest input (the seeds must fit: libFuzzer cuts longer ones).
declare -A MAX_LEN=([core]=16384 [glibc]=12288 [dwarf]=20480 [go]=8192)
readonly PER_INPUT_TIMEOUT=25   # seconds; longer is a hang
readonly RSS_LIMIT_MB=2048

say() { printf '==> %s\n' "$*" >&2; }
die() { printf 'fuzz/run.sh: error: %s\n' "$*" >&2; exit 1; }

tmp=
seed_pid=
cleanup() {
    if [[ -n $seed_pid ]] && kill -0 "$seed_pid" 2>/dev/null; then
        kill -KILL "$seed_pid" 2>/dev/null || true
        wait "$seed_pid" 2>/dev/null || true
    fi
    [[ -z $tmp ]] || rm -rf "$tmp"
}
trap cleanup EXIT
tmp=$(mktemp -d "${TMPDIR:-/tmp}/retain-fuzz-run.XXXXXX")
# the targets write their input file under $TMPDIR: keep it in ours
export TMPDIR=$tmp

# --- compilers ---------------------------------------------------------------------
pick_fuzz_cc() {
    local cc=${FUZZ_CC:-}
    if [[ -z $cc ]]; then
        cc=$(command -v clang-14 || command -v clang || true)
    fi
    printf '%s' "$cc"
}

# True when $1 links a libFuzzer target with the sanitizers.
has_libfuzzer() {
    [[ -n $1 ]] || return 1
    printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' \
        >"$tmp/probe.c"
    "$1" -fsanitize=fuzzer,address,undefined -o "$tmp/probe" "$tmp/probe.c" >/dev/null 2>&1
}

# True when $1 builds a program with flags $2 (and the libraries the targets need).
can_build() {
    printf 'int main(void) { return 0; }\n' >"$tmp/probe2.c"
    # shellcheck disable=SC2086
    "$1" $2 -o "$tmp/probe2" "$tmp/probe2.c" -ldwarf -lelf -lz >/dev/null 2>&1 &&
        printf '#include <libdwarf/libdwarf.h>\n#include <gelf.h>\n' | "$1" -E -x c - >/dev/null 2>&1
}

build_fuzz() {
    local cc
    cc=$(pick_fuzz_cc)
    has_libfuzzer "$cc" ||
        die "no clang with libFuzzer (tried ${cc:-clang-14, clang}): on Debian 12, apt-get install clang-14 libclang-rt-14-dev (or: scripts/setup.sh deps); FUZZ_CC=/path/to/clang to choose another"
    say "build: fuzz targets with $cc"
    make -s -f "$FUZZ/fuzz.mk" -j"$JOBS" FUZZ_CC="$cc" REPLAY_CC="$cc" fuzz ||
        die "building the fuzz targets failed"
}

# Builds the replay programs with the best compiler at hand; returns 77 when
# none can build them (no compiler, no libdwarf headers).
build_replay() {
    local cc san="-fsanitize=address,undefined -fno-sanitize-recover=all"
    local -a candidates=()
    local c
    c=$(pick_fuzz_cc)
    [[ -z $c ]] || candidates+=("$c")
    for c in "${CC:-}" gcc cc; do
        [[ -n $c ]] && command -v "$c" >/dev/null 2>&1 && candidates+=("$c")
    done
    for c in "${candidates[@]}"; do
        if can_build "$c" "$san"; then
            cc=$c
            break
        elif can_build "$c" ""; then
            cc=$c
            san=
            break
        fi
    done
    if [[ -z ${cc:-} ]]; then
        say "replay: no C compiler here can build the replay programs (need libdwarf-dev, libelf-dev, zlib1g-dev)"
        return 77
    fi
    say "build: replay programs with $cc ${san:-(no sanitizers)}"
    make -s -f "$FUZZ/fuzz.mk" -j"$JOBS" REPLAY_CC="$cc" REPLAY_SAN="$san" replay ||
        die "building the replay programs failed"
}

# --- seeds ---------------------------------------------------------------------------
# A small program with a few heap blocks, for a core (gcore) and for DWARF.
write_seed_program() {
    cat >"$tmp/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
struct node { struct node *next; const char *name; long value[2]; };
union cell { long number; struct node *link; };
typedef struct node *node_ref;
struct node *g_head;
node_ref g_ref;
union cell g_cells[4];
static __thread struct node *t_last;
int main(void)
{
    for (int i = 0; i < 8; i++) {
        struct node *n = malloc(sizeof *n);
        n->next = g_head;
        n->name = "node";
        n->value[0] = i;
        g_head = n;
        t_last = n;
    }
    g_ref = g_head->next;
    g_cells[1].link = g_head;
    free(malloc(100));
    printf("READY %p\n", (void *)t_last);
    fflush(stdout);
    for (int i = 0; i < 600; i++)
        sleep(1);
    return 0;
}
EOF
}

make_core_seeds() {
    local out=$tmp/seeds/core core=$tmp/prog.core
    local -a cores=()
    if command -v gdb >/dev/null 2>&1 && [[ -x $tmp/prog ]]; then
        "$tmp/prog" >"$tmp/prog.out" 2>&1 </dev/null &
        seed_pid=$!
        local i
        for ((i = 0; i < 100; i++)); do
            grep -q READY "$tmp/prog.out" 2>/dev/null && break
            sleep 0.1
        done
        if grep -q READY "$tmp/prog.out" 2>/dev/null &&
            gdb -nx -batch -p "$seed_pid" -ex "gcore $core" >"$tmp/gcore.log" 2>&1 && [[ -s $core ]]; then
            cores+=("$core")
        else
            say "seeds: gcore failed (ptrace not allowed?); fuzz_core starts from synthetic cores only"
        fi
        kill -KILL "$seed_pid" 2>/dev/null || true
        wait "$seed_pid" 2>/dev/null || true
        seed_pid=
    else
        say "seeds: no gdb; fuzz_core starts from synthetic cores only"
    fi
    "$PYTHON" "$FUZZ/mkseeds.py" core "$out" "${cores[@]}"
}

make_dwarf_seeds() {
    local out=$tmp/seeds/dwarf d=$tmp/dwarf
    mkdir -p "$out" "$d"
    local cc=${CC:-gcc}
    command -v "$cc" >/dev/null 2>&1 || cc=$(pick_fuzz_cc)
    "$cc" -g -O0 -c -o "$d/prog.o" "$tmp/prog.c" || true
    "$cc" -gdwarf-4 -O0 -c -o "$d/prog-dwarf4.o" "$tmp/prog.c" || true
    cp "$tmp/prog" "$d/prog" 2>/dev/null || true
    if command -v objcopy >/dev/null 2>&1 && [[ -f $d/prog ]]; then
        objcopy --only-keep-debug "$d/prog" "$d/prog.debug" || true
        objcopy --compress-debug-sections=zlib "$d/prog.debug" "$d/prog.zdebug" || true
        objcopy --strip-debug "$d/prog" "$d/prog.nodebug" || true
    fi
    if command -v g++ >/dev/null 2>&1 && command -v objcopy >/dev/null 2>&1; then
        # C++: classes, vtables, namespaces, the shapes test_dwarf checks
        if g++ -g -O0 -fno-pie -no-pie -o "$d/sample" "$ROOT/tests/c/dwarf_sample.cc"; then
            objcopy --only-keep-debug "$d/sample" "$d/sample.debug" || true
        fi
        rm -f "$d/sample"
    fi
    local f
    for f in "$d"/*; do
        [[ -f $f ]] || continue
        if (($(stat -c %s "$f") > MAX_LEN[dwarf])); then
            say "seeds: $(basename "$f") is larger than -max_len=${MAX_LEN[dwarf]}; not used"
            continue
        fi
        cp "$f" "$out/"
    done
}

make_seeds() {
    say "seeds: in $tmp/seeds"
    write_seed_program
    local cc=${CC:-gcc}
    command -v "$cc" >/dev/null 2>&1 || cc=$(pick_fuzz_cc)
    "$cc" -g -O0 -pthread -o "$tmp/prog" "$tmp/prog.c" ||
        say "seeds: could not build the seed program; fewer seeds"
    local t
    for t in "${TARGETS[@]}"; do
        case $t in
            core) make_core_seeds ;;
            glibc) "$PYTHON" "$FUZZ/mkseeds.py" glibc "$tmp/seeds/glibc" ;;
            go) "$PYTHON" "$FUZZ/mkseeds.py" go "$tmp/seeds/go" ;;
            dwarf) make_dwarf_seeds ;;
            *) die "unknown target $t (known: core glibc dwarf go)" ;;
        esac
        # the regression cases are seeds too
        local -a cases=("$FUZZ/regressions/$t"/*.txt)
        if [[ -e ${cases[0]} ]]; then
            "$PYTHON" "$FUZZ/mkseeds.py" unhex "$tmp/seeds/$t" "${cases[@]}"
        fi
        say "seeds: $t: $(find "$tmp/seeds/$t" -type f | wc -l) inputs"
    done
}

# --- fuzz ------------------------------------------------------------------------------
# Prints "executions coverage features corpus" from a libFuzzer log.
log_stats() {
    local execs cov
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$1" | tail -1)
    cov=$(grep -E '^#[0-9]+' "$1" | grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9/a-zA-Z]*' | tail -1)
    printf '%s executions, %s' "${execs:-?}" "${cov:-no coverage line}"
}

cmd_fuzz() {
    local secs=$1
    [[ $secs =~ ^[0-9]+$ && $secs -gt 0 ]] || die "SECONDS must be a positive number, not '$secs'"
    build_fuzz
    make_seeds
    mkdir -p "$B/crashes" "$B/logs"
    local t rc failed=0
    local -a summary=()
    for t in "${TARGETS[@]}"; do
        mkdir -p "$B/corpus/$t"
        touch "$tmp/stamp-$t"
        say "fuzz: $t for ${secs}s (log: fuzz/build/logs/$t.log)"
        rc=0
        "$B/fuzz_$t" -max_total_time="$secs" -max_len="${MAX_LEN[$t]}" \
            -timeout="$PER_INPUT_TIMEOUT" -rss_limit_mb="$RSS_LIMIT_MB" \
            -artifact_prefix="$B/crashes/$t-" -print_final_stats=1 \
            "$B/corpus/$t" "$tmp/seeds/$t" >"$B/logs/$t.log" 2>&1 || rc=$?
        local -a found
        mapfile -t found < <(find "$B/crashes" -name "$t-*" -type f -newer "$tmp/stamp-$t")
        if ((rc != 0 || ${#found[@]} > 0)); then
            failed=1
            summary+=("$t: FAILED (exit $rc): $(log_stats "$B/logs/$t.log")")
            grep -E -m1 -A12 'ERROR: |runtime error|fuzz invariant failed' "$B/logs/$t.log" >&2 ||
                tail -20 "$B/logs/$t.log" >&2
            ((${#found[@]} == 0)) || printf '    input: %s\n' "${found[@]}" >&2
        else
            summary+=("$t: ok: $(log_stats "$B/logs/$t.log")")
        fi
    done
    say "summary (${secs}s per target):"
    printf '    %s\n' "${summary[@]}" >&2
    if ((failed)); then
        cat >&2 <<EOF
==> a target failed. The inputs are in fuzz/build/crashes/. To reproduce one:
        fuzz/build/fuzz_TARGET FILE      (or, without libFuzzer: fuzz/run.sh replay TARGET FILE)
    To keep it as a regression case once it is fixed:
        python3 fuzz/mkseeds.py hex FILE > fuzz/regressions/TARGET/NAME.txt
    and put '#' lines at its top saying what it found and what fixed it.
EOF
        exit 1
    fi
}

cmd_replay() {
    local rc=0
    build_replay || rc=$?
    ((rc == 0)) || exit "$rc"
    if (($# > 0)); then
        local t=$1
        shift
        (($# > 0)) || die "replay: TARGET FILE... (no FILE given)"
        "$B/replay_$t" "$@"
        return
    fi
    local t n=0
    for t in "${TARGETS[@]}"; do
        local -a cases=("$FUZZ/regressions/$t"/*.txt)
        [[ -e ${cases[0]} ]] || continue
        "$B/replay_$t" "${cases[@]}" || die "replay: a $t regression case failed"
        n=$((n + ${#cases[@]}))
    done
    say "replay: all $n regression cases passed"
}

case ${1:-60} in
    build)
        build_fuzz
        build_replay
        ;;
    build-replay) build_replay ;;
    replay)
        shift
        cmd_replay "$@"
        ;;
    -h | --help | help) sed -n '2,28s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2 ;;
    *) cmd_fuzz "${1:-60}" ;;
esac
