# bench/lib.sh: what bench/run.sh (glibc heaps) and bench/run_go.sh (Go
# heaps) share; sourced by both, not run. See bench/README.md.
#
# Before sourcing it, a script sets
#   BENCH       its own directory (bench/)
#   NAME        its name, for messages ("run.sh")
#   TAG         the log tag and work dir prefix ("bench": [bench HH:MM:SS],
#               $PARENT/retain-bench.XXXXXX)
#   GEN         the generator program ("gen_heap"), which the script builds
#               into $BUILD/$GEN and which prints READY when its heap is built
#   SMALL_ARGS  the generator arguments of --small
#   TIMEOUT     the default --timeout (seconds, 0: never)
# then calls parse_options "$@", builds $BUILD/$GEN and build_floor, and
# measures with prepare_work, generate (it then writes $WORK/heap_range)
# and make_core, measure_floor, run_retain QUERY and bench_report OUT.json.
#
# Options (parse_options; the script's header comment is its --help):
#   --runs N, --retain-runs N, --keep, --dir DIR, --small, --gen-args ARGS,
#   --reuse DIR, --floor-mode mmap|populate|read, --timeout S
# shellcheck shell=bash

ROOT="$(cd "$BENCH/.." && pwd)"
BUILD="$BENCH/build"
RETAIN="${RETAIN:-$ROOT/retain-gdb-dev}"
mkdir -p "$BUILD"

log() { printf '[%s %s] %s\n' "$TAG" "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }
die() { echo "$NAME: $*" >&2; exit 1; }
# seconds from $1 to $2 (now() times), "%.3f"
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f\n", b - a}'; }

parse_options() {
    RUNS=5 RRUNS=3 KEEP=0 PARENT="${BENCH_DIR:-/tmp}" GEN_ARGS="" REUSE="" FMODE=mmap
    while [ $# -gt 0 ]; do
        case "$1" in
            --runs) RUNS="$2"; shift 2 ;;
            --retain-runs) RRUNS="$2"; shift 2 ;;
            --keep) KEEP=1; shift ;;
            --dir) PARENT="$2"; shift 2 ;;
            --small) GEN_ARGS="$SMALL_ARGS $GEN_ARGS"; shift ;;
            --gen-args) GEN_ARGS="$GEN_ARGS $2"; shift 2 ;;
            --reuse) REUSE="$2"; shift 2 ;;
            --floor-mode) FMODE="$2"; shift 2 ;;
            --timeout) TIMEOUT="$2"; shift 2 ;;
            -h|--help) awk 'NR > 1 && /^#/ {print; next} NR > 1 {exit}' "$0"; exit 0 ;;
            *) echo "$NAME: unknown argument $1" >&2; exit 2 ;;
        esac
    done
    case "$FMODE" in mmap) FOPT="" ;; populate) FOPT=--populate ;; read) FOPT=--read ;;
        *) echo "$NAME: --floor-mode mmap|populate|read" >&2; exit 2 ;; esac
}

build_floor() {
    CC="${CC:-gcc}"
    $CC -O2 -Wall -Wextra -o "$BUILD/floor" "$BENCH/floor.c"
}

GEN_PID=""
cleanup() {
    if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
        kill "$GEN_PID" 2>/dev/null || true
        wait "$GEN_PID" 2>/dev/null || true
    fi
    if [ -n "${WORK:-}" ] && [ -z "$REUSE" ]; then
        if [ "$KEEP" = 1 ]; then log "kept $WORK (re-measure: bench/$NAME --reuse $WORK)"
        else rm -rf "$WORK"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# prepare_work FILE...: with --reuse, WORK is the kept dir, which must hold
# every FILE; else a new work dir under $PARENT (~4 GiB free unless the
# generator is told a size) with a copy of the generator that matches the
# core.
prepare_work() {
    if [ -n "$REUSE" ]; then
        WORK="$(cd "$REUSE" && pwd)"
        for f in "$@"; do
            [ -e "$WORK/$f" ] || die "$WORK/$f missing (make it with --keep)"
        done
        log "reusing $WORK"
        return
    fi
    mkdir -p "$PARENT"
    avail_kb=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
    case " $GEN_ARGS " in *" -n "*|*" -B "*) ;;
        *) [ "$avail_kb" -ge $((4 * 1024 * 1024)) ] ||
               die "need ~4 GiB free in $PARENT (have $((avail_kb / 1024)) MiB); use --dir" ;;
    esac
    WORK="$(mktemp -d "$PARENT/retain-$TAG.XXXXXX")"
    cp "$BUILD/$GEN" "$WORK/$GEN"      # the program that matches the core
}

# generate: start the generator (GEN_PID), wait for its READY; its stdout
# is $WORK/gen.out, its time to READY $WORK/gen_seconds.
generate() {
    log "generating heap: $GEN $GEN_ARGS"
    local t0 t1
    t0=$(now)
    # shellcheck disable=SC2086
    "$WORK/$GEN" $GEN_ARGS "$WORK/gen.json" >"$WORK/gen.out" 2>"$WORK/gen.err" &
    GEN_PID=$!
    until grep -q READY "$WORK/gen.out" 2>/dev/null; do
        if ! kill -0 "$GEN_PID" 2>/dev/null; then
            echo "$NAME: $GEN died:" >&2; cat "$WORK/gen.err" >&2; exit 1
        fi
        sleep 0.2
    done
    t1=$(now)
    elapsed "$t0" "$t1" > "$WORK/gen_seconds"
    cat "$WORK/gen.err" >&2
}

# make_core: gcore the generator into $WORK/core, then stop it.
make_core() {
    log "gcore -> $WORK/core"
    local t0 t1
    t0=$(now)
    gdb -nx -batch -p "$GEN_PID" -ex "gcore $WORK/core" >"$WORK/gcore.log" 2>&1 || {
        echo "$NAME: gcore failed:" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    t1=$(now)
    elapsed "$t0" "$t1" > "$WORK/gcore_seconds"
    [ -s "$WORK/core" ] || { echo "$NAME: no core written" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    kill "$GEN_PID"; wait "$GEN_PID" 2>/dev/null || true; GEN_PID=""
    log "gcore took $(cat "$WORK/gcore_seconds") s; core $(stat -c %s "$WORK/core") bytes"
}

# measure_floor: the floor over $WORK/heap_range (sets HLO, HHI), the first
# run warming the page cache for both sides; $WORK/floor.jsonl.
measure_floor() {
    read -r HLO HHI < "$WORK/heap_range"
    log "floor: 1 warm-up + $RUNS runs ($FMODE) over [$HLO, $HHI)"
    : > "$WORK/floor.jsonl"
    # shellcheck disable=SC2086
    "$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT > "$WORK/floor.warmup.json"
    for _ in $(seq "$RUNS"); do
        # shellcheck disable=SC2086
        "$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT >> "$WORK/floor.jsonl"
    done
}

# run_retain QUERY: $RRUNS runs of retain on $WORK/$GEN and $WORK/core
# (each killed after $TIMEOUT s unless 0), timing the commands in gdb's
# Python: $WORK/retain.I.{out,err,time,rc}; $WORK/retain.status says why
# there are no (more) runs.
run_retain() {
    local query="$1" i rc
    : > "$WORK/retain.status"
    local to=()
    [ "$TIMEOUT" != 0 ] && to=(timeout -k 10 "$TIMEOUT")
    if [ ! -x "$RETAIN" ]; then
        echo "retain not built ($RETAIN missing)" > "$WORK/retain.status"
        return
    fi
    log "retain: $RRUNS runs"
    for i in $(seq "$RRUNS"); do
        set +e
        "${to[@]}" /usr/bin/time -v -o "$WORK/retain.$i.time" "$RETAIN" -nx -batch \
            -ex 'python import time; _bench_t = time.monotonic()' \
            -ex 'retain stats --json' \
            -ex 'python print("STATS_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex "retain path $query" \
            -ex 'python print("PATH_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex "retain path $query --json" \
            -ex 'python print("PATH_JSON_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python import _retain, retain.engine as _e; _s = _e.current().session; _bench_t = time.monotonic()' \
            -ex 'python _retain.dominators(_s); print("DOMINATORS_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python _retain.block_types(_s); print("TYPES_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python _retain.leaks(_s); print("LEAKS_SECONDS", time.monotonic() - _bench_t)' \
            "$WORK/$GEN" "$WORK/core" >"$WORK/retain.$i.out" 2>"$WORK/retain.$i.err"
        rc=$?
        echo "$rc" > "$WORK/retain.$i.rc"
        set -e
        log "retain run $i: exit $rc, $(grep -E 'Elapsed' "$WORK/retain.$i.time" 2>/dev/null | sed 's/.*: //') wall"
        if [ "$TIMEOUT" != 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
            echo "retain timed out after $TIMEOUT s (run $i)" > "$WORK/retain.status"
            break
        fi
    done
}

# bench_report OUT.json < SCRIPT.py: run the shared report code below, then
# the script's own Python (from stdin), which builds the result with
# result(), parses the runs with retain_runs() and summarize(), prints, and
# ends with finish(). Writes OUT.json.
bench_report() {
    { report_py; cat; } | python3 - "$WORK" "$RRUNS" "$RETAIN" "$1"
}

report_py() {
    cat <<'PY'
import json, os, re, statistics, sys
work, rruns, retain, outpath = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
P = lambda *a: os.path.join(work, *a)
med = lambda xs: statistics.median(xs) if xs else None
gen = json.load(open(P("gen.json")))
floors = [json.loads(l) for l in open(P("floor.jsonl")) if l.strip()]
floor_s = med([f["seconds"] for f in floors])
GB = 1 << 30
fmt = lambda x, f="{:.3f}": "-" if x is None else f.format(x)
ratio = lambda x: "" if x is None or not floor_s else f"{x / floor_s:6.2f}x floor"

# the per-run figures whose medians are reported; those in INT_KEYS are whole numbers
RUN_KEYS = ("walk", "roots", "graph", "bfs", "stats_cmd", "path", "wall", "max_rss",
            "memory_bytes", "blocks", "edges", "path_json", "dominators", "types", "leaks")
INT_KEYS = ("max_rss", "memory_bytes", "blocks", "edges")


def result(schema, **fields):
    """The result document: SCHEMA, the script's FIELDS (about its heap),
    then the core, the generation and the floor; "retain" is filled later."""
    return {
        "schema": schema, **fields,
        "core_bytes": os.path.getsize(P("core")),
        "gen_seconds": float(open(P("gen_seconds")).read()),
        "gcore_seconds": float(open(P("gcore_seconds")).read()),
        "floor_seconds": floor_s, "floor_runs": [f["seconds"] for f in floors],
        "floor_bytes": floors[0]["bytes"], "floor_count": floors[0]["count"],
        "floor_mode": floors[0]["mode"],
        "retain": None,
    }


def last_json(text, command):
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                o = json.loads(line)
            except ValueError:
                continue
            if o.get("command") == command:
                return o
    return None


def wall(text):
    m = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", text)
    return (int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))) if m else None


def retain_runs():
    """(runs, the last parsed `retain stats` JSON, status): one dict of
    figures per run that answered; status is "" when all did, else why not."""
    runs, stats, failure = [], None, None
    status = open(P("retain.status")).read().strip()
    if status:
        return runs, stats, status
    for i in range(1, rruns + 1):
        out = open(P(f"retain.{i}.out")).read()
        err = open(P(f"retain.{i}.err")).read()
        tv = open(P(f"retain.{i}.time")).read() if os.path.exists(P(f"retain.{i}.time")) else ""
        st, path = last_json(out, "stats"), last_json(out, "path")
        ps = re.search(r"^PATH_SECONDS ([\d.e+-]+)", out, re.M)
        extra = {k: re.search(r"^%s_SECONDS ([\d.e+-]+)" % k.upper(), out, re.M)
                 for k in ("path_json", "dominators", "types", "leaks")}
        extra = {k: float(v.group(1)) if v else None for k, v in extra.items()}
        ss = re.search(r"^STATS_SECONDS ([\d.e+-]+)", out, re.M)
        if not st or not path or not ps:
            failure = (i, (err.strip().splitlines() or ["(no stderr)"])[-5:])
            break
        stats = st
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
        sec = st.get("seconds", {})
        blocks = st.get("blocks", {})
        nblocks = blocks.get("in_use", 0) if isinstance(blocks, dict) else blocks
        hops = len(path["paths"][0]["hops"]) if path.get("paths") else None
        runs.append({
            "walk": sec.get("walk"), "roots": sec.get("roots"), "graph": sec.get("graph"),
            "bfs": sec.get("bfs"), "stats_cmd": float(ss.group(1)) if ss else None,
            "path": float(ps.group(1)), "wall": wall(tv),
            "max_rss": int(rss.group(1)) * 1024 if rss else None,
            "memory_bytes": st.get("memory_bytes"), "blocks": nblocks,
            "blocks_free": blocks.get("free") if isinstance(blocks, dict) else None,
            "bytes_in_use": (st.get("bytes") or {}).get("in_use"),
            "edges": st.get("edges"), "root_edges": st.get("root_edges"),
            "reachable": path.get("reachable"), "hops": hops,
            **extra,
        })
    if failure:
        status = f"retain failed (run {failure[0]}): " + " | ".join(failure[1])
    return runs, stats, status


def summarize(runs, unit, extra_ints=()):
    """The medians over RUNS of RUN_KEYS and EXTRA_INTS (whole numbers),
    memory per block ("bytes_per_" + UNIT) and per edge, walk+graph+path
    and its ratio to the floor."""
    m = lambda k: med([r[k] for r in runs if r[k] is not None])
    r = {k: m(k) for k in RUN_KEYS + tuple(extra_ints)}
    for k in INT_KEYS + tuple(extra_ints):
        if r[k] is not None: r[k] = int(r[k])
    r["reachable"], r["hops"] = runs[0]["reachable"], runs[0]["hops"]
    r["bytes_per_" + unit] = r["memory_bytes"] / r["blocks"] if r["memory_bytes"] and r["blocks"] else None
    r["bytes_per_edge"] = r["memory_bytes"] / r["edges"] if r["memory_bytes"] and r["edges"] else None
    core3 = [r[k] for k in ("walk", "graph", "path")]
    r["walk_graph_path"] = sum(core3) if None not in core3 else None
    r["ratio"] = r["walk_graph_path"] / floor_s if r["walk_graph_path"] is not None else None
    r["runs"] = runs
    return r


def print_floor(res):
    """The query, then the table's head and the floor's row."""
    print(f"  query     {gen['query']} (tail of a {gen['chain_len']:,}-node chain)")
    print(f"  {'phase':<22}{'seconds':>10}   vs floor")
    print(f"  {'floor (' + res['floor_mode'] + ')':<22}{fmt(floor_s):>10}   "
          f"median of {len(floors)} (min {min(res['floor_runs']):.3f}, max {max(res['floor_runs']):.3f}); "
          f"{res['floor_bytes'] / GB:.2f} GiB scanned, "
          f"{res['floor_count']:,} heap-range words")


def print_phases(r, unit):
    """The retain phases, walk+graph+path, engine memory per UNIT
    (r["bytes_per_" + UNIT]) and gdb's max RSS."""
    for name, key in (("walk", "walk"), ("roots", "roots"), ("graph", "graph"),
                      ("first path (text)", "path"), ("  of which bfs", "bfs"),
                      ("first path (--json)", "path_json"),
                      ("stats command", "stats_cmd"), ("dominators", "dominators"),
                      ("heap types", "types"), ("leaks", "leaks"), ("gdb process wall", "wall")):
        print(f"  {name:<22}{fmt(r[key]):>10}   {ratio(r[key])}")
    print(f"  {'walk+graph+path':<22}{fmt(r['walk_graph_path']):>10}   "
          f"{ratio(r['walk_graph_path'])}   (target <= 4x)")
    print(f"  engine memory         {fmt(r['memory_bytes'] and r['memory_bytes'] / 2**20, '{:.0f}')} MiB"
          f"  ({fmt(r['bytes_per_' + unit], '{:.1f}')} B/{unit} over {fmt(r['blocks'], '{:,.0f}')} in-use {unit}s, "
          f"{fmt(r['bytes_per_edge'], '{:.1f}')} B/edge over {fmt(r['edges'], '{:,.0f}')} edges)")
    print(f"  gdb max RSS           {fmt(r['max_rss'] and r['max_rss'] / 2**20, '{:.0f}')} MiB")


def print_path(r):
    print(f"  path                  reachable={r['reachable']} hops={r['hops']} "
          f"(expected {gen['chain_len']})")
    print(f"  medians of {len(r['runs'])} retain runs")


def finish(res, status, drop=()):
    """Print STATUS (unless ""), write RES to the output file and print it
    as one JSON line (without the per-run figures and the keys in DROP)."""
    res["retain_status"] = status or "ok"
    if status:
        print(f"  retain: {status}")
    json.dump(res, open(outpath, "w"), indent=1)
    print()
    print(json.dumps({k: v for k, v in res.items() if k not in ("retain", *drop)} |
                     {"retain": {k: v for k, v in res["retain"].items() if k != "runs"}
                                 if res["retain"] else None}))
PY
}
