#!/usr/bin/env bash
# retain benchmark driver: big glibc heap core -> floor vs. retain engine.
# See bench/README.md.
#
#   bench/run.sh [--runs N] [--retain-runs N] [--keep] [--dir DIR] [--small]
#                [--gen-args "ARGS"] [--reuse DIR] [--floor-mode MODE]
#
#   --runs N         measured floor runs (default 5; one more warm-up run first)
#   --retain-runs N  retain runs (default 3); medians are reported
#   --keep           keep the work dir (core, program, logs) and print it
#   --dir DIR        parent of the work dir (default $BENCH_DIR or /tmp)
#   --small          small smoke-test heap (300k blocks), not the benchmark
#   --gen-args ARGS  extra arguments for gen_heap (see bench/gen_heap.c)
#   --reuse DIR      skip generation: measure the core kept in DIR by --keep
#   --floor-mode M   mmap (default), populate or read (see bench/floor.c)
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
BUILD="$BENCH/build"
RETAIN="${RETAIN:-$ROOT/retain-gdb-dev}"

RUNS=5 RRUNS=3 KEEP=0 PARENT="${BENCH_DIR:-/tmp}" GEN_ARGS="" REUSE="" FMODE=mmap
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --retain-runs) RRUNS="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --dir) PARENT="$2"; shift 2 ;;
        --small) GEN_ARGS="-n 300000 -c 50000 -B 64 -T 10000 $GEN_ARGS"; shift ;;
        --gen-args) GEN_ARGS="$GEN_ARGS $2"; shift 2 ;;
        --reuse) REUSE="$2"; shift 2 ;;
        --floor-mode) FMODE="$2"; shift 2 ;;
        -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$FMODE" in mmap) FOPT="" ;; populate) FOPT=--populate ;; read) FOPT=--read ;;
    *) echo "run.sh: --floor-mode mmap|populate|read" >&2; exit 2 ;; esac

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }

# ---- build ----
mkdir -p "$BUILD"
CC="${CC:-gcc}"
$CC -O2 -g -Wall -Wextra -pthread -o "$BUILD/gen_heap" "$BENCH/gen_heap.c"
$CC -O2 -Wall -Wextra -o "$BUILD/floor" "$BENCH/floor.c"

GEN_PID=""
cleanup() {
    if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
        kill "$GEN_PID" 2>/dev/null || true
        wait "$GEN_PID" 2>/dev/null || true
    fi
    if [ -n "${WORK:-}" ] && [ -z "$REUSE" ]; then
        if [ "$KEEP" = 1 ]; then log "kept $WORK (re-measure: bench/run.sh --reuse $WORK)"
        else rm -rf "$WORK"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$REUSE" ]; then
    WORK="$(cd "$REUSE" && pwd)"
    for f in core gen_heap gen.json heap_range gen_seconds gcore_seconds; do
        [ -e "$WORK/$f" ] || { echo "run.sh: $WORK/$f missing (make it with --keep)" >&2; exit 1; }
    done
    log "reusing $WORK"
else
    mkdir -p "$PARENT"
    avail_kb=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
    case " $GEN_ARGS " in *" -n "*|*" -B "*) ;;
        *) if [ "$avail_kb" -lt $((4 * 1024 * 1024)) ]; then
               echo "run.sh: need ~4 GiB free in $PARENT (have $((avail_kb / 1024)) MiB); use --dir" >&2
               exit 1
           fi ;;
    esac
    WORK="$(mktemp -d "$PARENT/retain-bench.XXXXXX")"
    cp "$BUILD/gen_heap" "$WORK/gen_heap"      # the program that matches the core

    # ---- generate ----
    log "generating heap: gen_heap $GEN_ARGS"
    t0=$(now)
    # shellcheck disable=SC2086
    "$WORK/gen_heap" $GEN_ARGS "$WORK/gen.json" >"$WORK/gen.out" 2>"$WORK/gen.err" &
    GEN_PID=$!
    until grep -q READY "$WORK/gen.out" 2>/dev/null; do
        if ! kill -0 "$GEN_PID" 2>/dev/null; then
            echo "run.sh: gen_heap died:" >&2; cat "$WORK/gen.err" >&2; exit 1
        fi
        sleep 0.2
    done
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' > "$WORK/gen_seconds"
    cat "$WORK/gen.err" >&2
    awk '/\[heap\]/ {split($1, r, "-"); print r[1], r[2]}' "/proc/$GEN_PID/maps" > "$WORK/heap_range"
    [ -s "$WORK/heap_range" ] || { echo "run.sh: no [heap] mapping in gen_heap" >&2; exit 1; }
    log "generated in $(cat "$WORK/gen_seconds") s; heap $(cat "$WORK/heap_range")"

    # ---- core ----
    log "gcore -> $WORK/core"
    t0=$(now)
    gdb -nx -batch -p "$GEN_PID" -ex "gcore $WORK/core" >"$WORK/gcore.log" 2>&1 || {
        echo "run.sh: gcore failed:" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' > "$WORK/gcore_seconds"
    [ -s "$WORK/core" ] || { echo "run.sh: no core written" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    kill "$GEN_PID"; wait "$GEN_PID" 2>/dev/null || true; GEN_PID=""
    log "gcore took $(cat "$WORK/gcore_seconds") s; core $(stat -c %s "$WORK/core") bytes"
fi

read -r HLO HHI < "$WORK/heap_range"
QUERY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["query"])' "$WORK/gen.json")

# ---- floor (first run warms the page cache for both sides) ----
log "floor: 1 warm-up + $RUNS runs ($FMODE)"
: > "$WORK/floor.jsonl"
"$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT > "$WORK/floor.warmup.json"
for _ in $(seq "$RUNS"); do
    "$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT >> "$WORK/floor.jsonl"
done

# ---- retain ----
: > "$WORK/retain.status"
if [ ! -x "$RETAIN" ]; then
    echo "retain not built ($RETAIN missing)" > "$WORK/retain.status"
else
    log "retain: $RRUNS runs"
    for i in $(seq "$RRUNS"); do
        set +e
        /usr/bin/time -v -o "$WORK/retain.$i.time" "$RETAIN" -nx -batch \
            -ex 'python import time; _bench_t = time.monotonic()' \
            -ex 'retain stats --json' \
            -ex 'python print("STATS_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex "retain path $QUERY" \
            -ex 'python print("PATH_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex "retain path $QUERY --json" \
            -ex 'python print("PATH_JSON_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python import _retain, retain.engine as _e; _s = _e.current().session; _bench_t = time.monotonic()' \
            -ex 'python _retain.dominators(_s); print("DOMINATORS_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python _retain.block_types(_s); print("TYPES_SECONDS", time.monotonic() - _bench_t); _bench_t = time.monotonic()' \
            -ex 'python _retain.leaks(_s); print("LEAKS_SECONDS", time.monotonic() - _bench_t)' \
            "$WORK/gen_heap" "$WORK/core" >"$WORK/retain.$i.out" 2>"$WORK/retain.$i.err"
        echo "$?" > "$WORK/retain.$i.rc"
        set -e
    done
fi

# ---- report ----
mkdir -p "$BUILD"
python3 - "$WORK" "$RRUNS" "$RETAIN" "$BUILD/last-result.json" <<'PY'
import json, os, re, statistics, sys
work, rruns, retain, outpath = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
P = lambda *a: os.path.join(work, *a)
med = lambda xs: statistics.median(xs) if xs else None
gen = json.load(open(P("gen.json")))
floors = [json.loads(l) for l in open(P("floor.jsonl")) if l.strip()]
floor_s = med([f["seconds"] for f in floors])
res = {
    "schema": "retain-bench/1",
    "blocks_in_use": gen["blocks_in_use"], "blocks_freed": gen["blocks_freed"],
    "bytes_in_use": gen["bytes_in_use"], "planted_edges": gen["planted_edges"],
    "heap_bytes": gen["heap_bytes"], "chain_len": gen["chain_len"], "query": gen["query"],
    "core_bytes": os.path.getsize(P("core")),
    "gen_seconds": float(open(P("gen_seconds")).read()),
    "gcore_seconds": float(open(P("gcore_seconds")).read()),
    "floor_seconds": floor_s, "floor_runs": [f["seconds"] for f in floors],
    "floor_bytes": floors[0]["bytes"], "floor_count": floors[0]["count"],
    "floor_mode": floors[0]["mode"],
    "retain": None,
}
status = open(P("retain.status")).read().strip()

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

runs, failure = [], None
if not status:
    for i in range(1, rruns + 1):
        out = open(P(f"retain.{i}.out")).read()
        err = open(P(f"retain.{i}.err")).read()
        tv = open(P(f"retain.{i}.time")).read() if os.path.exists(P(f"retain.{i}.time")) else ""
        stats, path = last_json(out, "stats"), last_json(out, "path")
        ps = re.search(r"^PATH_SECONDS ([\d.e+-]+)", out, re.M)
        extra = {k: re.search(r"^%s_SECONDS ([\d.e+-]+)" % k.upper(), out, re.M)
                 for k in ("path_json", "dominators", "types", "leaks")}
        extra = {k: float(v.group(1)) if v else None for k, v in extra.items()}
        ss = re.search(r"^STATS_SECONDS ([\d.e+-]+)", out, re.M)
        if not stats or not path or not ps:
            failure = (i, (err.strip().splitlines() or ["(no stderr)"])[-5:])
            break
        rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", tv)
        sec = stats.get("seconds", {})
        blocks = stats.get("blocks", {})
        nblocks = blocks.get("in_use", 0) if isinstance(blocks, dict) else blocks
        hops = len(path["paths"][0]["hops"]) if path.get("paths") else None
        runs.append({
            "walk": sec.get("walk"), "roots": sec.get("roots"), "graph": sec.get("graph"),
            "bfs": sec.get("bfs"), "stats_cmd": float(ss.group(1)) if ss else None,
            "path": float(ps.group(1)), "wall": wall(tv),
            "max_rss": int(rss.group(1)) * 1024 if rss else None,
            "memory_bytes": stats.get("memory_bytes"), "blocks": nblocks,
            "blocks_free": blocks.get("free") if isinstance(blocks, dict) else None,
            "edges": stats.get("edges"), "reachable": path.get("reachable"), "hops": hops,
            **extra,
        })
    if failure:
        status = f"retain failed (run {failure[0]}): " + " | ".join(failure[1])

if runs:
    m = lambda k: med([r[k] for r in runs if r[k] is not None])
    r = {k: m(k) for k in ("walk", "roots", "graph", "bfs", "stats_cmd", "path", "wall",
                           "max_rss", "memory_bytes", "blocks", "edges",
                           "path_json", "dominators", "types", "leaks")}
    for k in ("max_rss", "memory_bytes", "blocks", "edges"):
        if r[k] is not None: r[k] = int(r[k])
    r["reachable"], r["hops"] = runs[0]["reachable"], runs[0]["hops"]
    r["bytes_per_block"] = r["memory_bytes"] / r["blocks"] if r["memory_bytes"] and r["blocks"] else None
    r["bytes_per_edge"] = r["memory_bytes"] / r["edges"] if r["memory_bytes"] and r["edges"] else None
    core3 = [r[k] for k in ("walk", "graph", "path")]
    r["walk_graph_path"] = sum(core3) if None not in core3 else None
    r["ratio"] = r["walk_graph_path"] / floor_s if r["walk_graph_path"] is not None else None
    r["runs"] = runs
    res["retain"] = r
res["retain_status"] = status or "ok"

GB = 1 << 30
fmt = lambda x, f="{:.3f}": "-" if x is None else f.format(x)
ratio = lambda x: "" if x is None or not floor_s else f"{x / floor_s:6.2f}x floor"
print()
print("retain benchmark")
print(f"  heap      {gen['blocks_in_use']:,} blocks in use ({gen['blocks_freed']:,} freed), "
      f"{gen['bytes_in_use'] / GB:.2f} GiB in use, [heap] {gen['heap_bytes'] / GB:.2f} GiB, "
      f"{gen['planted_edges']:,} planted pointers")
print(f"  core      {res['core_bytes'] / GB:.2f} GiB; generation {res['gen_seconds']:.1f} s, "
      f"gcore {res['gcore_seconds']:.1f} s")
print(f"  query     {gen['query']} (tail of a {gen['chain_len']:,}-node chain)")
print(f"  {'phase':<22}{'seconds':>10}   vs floor")
print(f"  {'floor (' + res['floor_mode'] + ')':<22}{fmt(floor_s):>10}   "
      f"median of {len(floors)} (min {min(res['floor_runs']):.3f}, max {max(res['floor_runs']):.3f}); "
      f"{res['floor_bytes'] / GB:.2f} GiB scanned, "
      f"{res['floor_count']:,} heap-range words")
if res["retain"]:
    r = res["retain"]
    for name, key in (("walk", "walk"), ("roots", "roots"), ("graph", "graph"),
                      ("first path (text)", "path"), ("  of which bfs", "bfs"),
                      ("first path (--json)", "path_json"),
                      ("stats command", "stats_cmd"), ("dominators", "dominators"),
                      ("heap types", "types"), ("leaks", "leaks"), ("gdb process wall", "wall")):
        print(f"  {name:<22}{fmt(r[key]):>10}   {ratio(r[key])}")
    print(f"  {'walk+graph+path':<22}{fmt(r['walk_graph_path']):>10}   "
          f"{ratio(r['walk_graph_path'])}   (target <= 4x)")
    print(f"  engine memory         {fmt(r['memory_bytes'] and r['memory_bytes'] / 2**20, '{:.0f}')} MiB"
          f"  ({fmt(r['bytes_per_block'], '{:.1f}')} B/block over {fmt(r['blocks'], '{:,.0f}')} in-use blocks, "
          f"{fmt(r['bytes_per_edge'], '{:.1f}')} B/edge over {fmt(r['edges'], '{:,.0f}')} edges)")
    print(f"  gdb max RSS           {fmt(r['max_rss'] and r['max_rss'] / 2**20, '{:.0f}')} MiB")
    print(f"  path                  reachable={r['reachable']} hops={r['hops']} "
          f"(expected {gen['chain_len']})")
    print(f"  medians of {len(r['runs'])} retain runs")
else:
    print(f"  retain: {status}")
json.dump(res, open(outpath, "w"), indent=1)
print()
print(json.dumps({k: v for k, v in res.items() if k != "retain"} |
                 {"retain": {k: v for k, v in res["retain"].items() if k != "runs"}
                             if res["retain"] else None}))
PY
