#!/usr/bin/env bash
# retain benchmark driver, Go heaps: big Go heap core -> floor vs. retain engine.
# The Go counterpart of bench/run.sh; see bench/README.md ("Go heaps").
#
#   bench/run_go.sh [--runs N] [--retain-runs N] [--keep] [--dir DIR] [--small]
#                   [--gen-args "ARGS"] [--reuse DIR] [--floor-mode MODE]
#                   [--timeout S]
#
#   --runs N         measured floor runs (default 5; one more warm-up run first)
#   --retain-runs N  retain runs (default 3); medians are reported
#   --keep           keep the work dir (core, program, logs) and print it
#   --dir DIR        parent of the work dir (default $BENCH_DIR or /tmp)
#   --small          small smoke-test heap (300k objects), not the benchmark
#   --gen-args ARGS  extra arguments for gen_heap_go (see bench/gen_heap_go.go)
#   --reuse DIR      skip generation: measure the core kept in DIR by --keep
#   --floor-mode M   mmap (default), populate or read (see bench/floor.c)
#   --timeout S      kill a retain run after S seconds (default 1800, 0: never)
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
BUILD="$BENCH/build"
RETAIN="${RETAIN:-$ROOT/retain-gdb-dev}"
GO="${GO:-go}"

RUNS=5 RRUNS=3 KEEP=0 PARENT="${BENCH_DIR:-/tmp}" GEN_ARGS="" REUSE="" FMODE=mmap TIMEOUT=1800
while [ $# -gt 0 ]; do
    case "$1" in
        --runs) RUNS="$2"; shift 2 ;;
        --retain-runs) RRUNS="$2"; shift 2 ;;
        --keep) KEEP=1; shift ;;
        --dir) PARENT="$2"; shift 2 ;;
        --small) GEN_ARGS="-n 300000 -c 50000 -B 64 -g 10000 $GEN_ARGS"; shift ;;
        --gen-args) GEN_ARGS="$GEN_ARGS $2"; shift 2 ;;
        --reuse) REUSE="$2"; shift 2 ;;
        --floor-mode) FMODE="$2"; shift 2 ;;
        --timeout) TIMEOUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
        *) echo "run_go.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
case "$FMODE" in mmap) FOPT="" ;; populate) FOPT=--populate ;; read) FOPT=--read ;;
    *) echo "run_go.sh: --floor-mode mmap|populate|read" >&2; exit 2 ;; esac

log() { printf '[bench-go %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
now() { date +%s.%N; }

# ---- build ----
mkdir -p "$BUILD"
command -v "$GO" >/dev/null || { echo "run_go.sh: no go ($GO); install golang-go (Go 1.19)" >&2; exit 1; }
# no go.mod, no network; a build cache under bench/build (gitignored)
GOCACHE="${GOCACHE:-$BUILD/gocache}" GOFLAGS="" GOPROXY=off GO111MODULE=auto \
    "$GO" build -o "$BUILD/gen_heap_go" "$BENCH/gen_heap_go.go"
CC="${CC:-gcc}"
$CC -O2 -Wall -Wextra -o "$BUILD/floor" "$BENCH/floor.c"

GEN_PID=""
cleanup() {
    if [ -n "$GEN_PID" ] && kill -0 "$GEN_PID" 2>/dev/null; then
        kill "$GEN_PID" 2>/dev/null || true
        wait "$GEN_PID" 2>/dev/null || true
    fi
    if [ -n "${WORK:-}" ] && [ -z "$REUSE" ]; then
        if [ "$KEEP" = 1 ]; then log "kept $WORK (re-measure: bench/run_go.sh --reuse $WORK)"
        else rm -rf "$WORK"; fi
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -n "$REUSE" ]; then
    WORK="$(cd "$REUSE" && pwd)"
    for f in core gen_heap_go gen.json gen.out heap_range gen_seconds gcore_seconds; do
        [ -e "$WORK/$f" ] || { echo "run_go.sh: $WORK/$f missing (make it with --keep)" >&2; exit 1; }
    done
    log "reusing $WORK"
else
    mkdir -p "$PARENT"
    avail_kb=$(df -Pk "$PARENT" | awk 'NR==2 {print $4}')
    case " $GEN_ARGS " in *" -n "*|*" -B "*) ;;
        *) if [ "$avail_kb" -lt $((4 * 1024 * 1024)) ]; then
               echo "run_go.sh: need ~4 GiB free in $PARENT (have $((avail_kb / 1024)) MiB); use --dir" >&2
               exit 1
           fi ;;
    esac
    WORK="$(mktemp -d "$PARENT/retain-bench-go.XXXXXX")"
    cp "$BUILD/gen_heap_go" "$WORK/gen_heap_go"      # the program that matches the core

    # ---- generate ----
    log "generating heap: gen_heap_go $GEN_ARGS"
    t0=$(now)
    # shellcheck disable=SC2086
    "$WORK/gen_heap_go" $GEN_ARGS "$WORK/gen.json" >"$WORK/gen.out" 2>"$WORK/gen.err" &
    GEN_PID=$!
    until grep -q READY "$WORK/gen.out" 2>/dev/null; do
        if ! kill -0 "$GEN_PID" 2>/dev/null; then
            echo "run_go.sh: gen_heap_go died:" >&2; cat "$WORK/gen.err" >&2; exit 1
        fi
        sleep 0.2
    done
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' > "$WORK/gen_seconds"
    cat "$WORK/gen.err" >&2
    awk '/^HEAP_LO / {print $2, $4}' "$WORK/gen.out" > "$WORK/heap_range"
    [ -s "$WORK/heap_range" ] || { echo "run_go.sh: no HEAP_LO line from gen_heap_go" >&2; exit 1; }
    log "generated in $(cat "$WORK/gen_seconds") s; $(grep -E '^(OBJECTS|BYTES)' "$WORK/gen.out" | tr '\n' ' ')heap range $(cat "$WORK/heap_range")"

    # ---- core ----
    log "gcore -> $WORK/core"
    t0=$(now)
    gdb -nx -batch -p "$GEN_PID" -ex "gcore $WORK/core" >"$WORK/gcore.log" 2>&1 || {
        echo "run_go.sh: gcore failed:" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    t1=$(now)
    awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' > "$WORK/gcore_seconds"
    [ -s "$WORK/core" ] || { echo "run_go.sh: no core written" >&2; tail -20 "$WORK/gcore.log" >&2; exit 1; }
    kill "$GEN_PID"; wait "$GEN_PID" 2>/dev/null || true; GEN_PID=""
    log "gcore took $(cat "$WORK/gcore_seconds") s; core $(stat -c %s "$WORK/core") bytes"
fi

read -r HLO HHI < "$WORK/heap_range"
QUERY=$(awk '/^TAIL / {print $2}' "$WORK/gen.out")
[ -n "$QUERY" ] || { echo "run_go.sh: no TAIL line in $WORK/gen.out" >&2; exit 1; }

# ---- floor (first run warms the page cache for both sides) ----
log "floor: 1 warm-up + $RUNS runs ($FMODE) over [$HLO, $HHI)"
: > "$WORK/floor.jsonl"
"$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT > "$WORK/floor.warmup.json"
for _ in $(seq "$RUNS"); do
    "$BUILD/floor" "$WORK/core" "$HLO" "$HHI" $FOPT >> "$WORK/floor.jsonl"
done

# ---- retain (the same commands as bench/run.sh) ----
: > "$WORK/retain.status"
TO=()
[ "$TIMEOUT" != 0 ] && TO=(timeout -k 10 "$TIMEOUT")
if [ ! -x "$RETAIN" ]; then
    echo "retain not built ($RETAIN missing)" > "$WORK/retain.status"
else
    log "retain: $RRUNS runs"
    for i in $(seq "$RRUNS"); do
        set +e
        "${TO[@]}" /usr/bin/time -v -o "$WORK/retain.$i.time" "$RETAIN" -nx -batch \
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
            "$WORK/gen_heap_go" "$WORK/core" >"$WORK/retain.$i.out" 2>"$WORK/retain.$i.err"
        rc=$?
        echo "$rc" > "$WORK/retain.$i.rc"
        set -e
        log "retain run $i: exit $rc, $(grep -E 'Elapsed' "$WORK/retain.$i.time" 2>/dev/null | sed 's/.*: //') wall"
        if [ "$TIMEOUT" != 0 ] && { [ "$rc" = 124 ] || [ "$rc" = 137 ]; }; then
            echo "retain timed out after $TIMEOUT s (run $i)" > "$WORK/retain.status"
            break
        fi
    done
fi

# ---- report ----
mkdir -p "$BUILD"
python3 - "$WORK" "$RRUNS" "$RETAIN" "$BUILD/last-result-go.json" <<'PY'
import json, os, re, statistics, sys
work, rruns, retain, outpath = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
P = lambda *a: os.path.join(work, *a)
med = lambda xs: statistics.median(xs) if xs else None
gen = json.load(open(P("gen.json")))
floors = [json.loads(l) for l in open(P("floor.jsonl")) if l.strip()]
floor_s = med([f["seconds"] for f in floors])
c = gen["counts"]
res = {
    "schema": "retain-bench-go/1",
    "go": gen["go"],
    "heap_objects": gen["heap_objects"], "heap_alloc": gen["heap_alloc"],
    "heap_inuse": gen["heap_inuse"], "heap_sys": gen["heap_sys"],
    "planted_objects": c["PlantedObjects"], "planted_edges": c["PlantedEdges"],
    "heap_lo": gen["heap_lo"], "heap_hi": gen["heap_hi"],
    "chain_len": gen["chain_len"], "query": gen["query"], "counts": c,
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

runs, failure, heap_kind, heap_info = [], None, None, None
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
        heap_info = stats.get("heap")
        heap_kind = heap_info.get("kind") if isinstance(heap_info, dict) else None
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
            "bytes_in_use": (stats.get("bytes") or {}).get("in_use"),
            "edges": stats.get("edges"), "root_edges": stats.get("root_edges"),
            "reachable": path.get("reachable"), "hops": hops,
            **extra,
        })
    if failure:
        status = f"retain failed (run {failure[0]}): " + " | ".join(failure[1])
    elif heap_kind != "go":
        status = f"retain did not see a Go heap (stats heap.kind = {heap_kind!r})"

if runs:
    m = lambda k: med([r[k] for r in runs if r[k] is not None])
    r = {k: m(k) for k in ("walk", "roots", "graph", "bfs", "stats_cmd", "path", "wall",
                           "max_rss", "memory_bytes", "blocks", "blocks_free", "bytes_in_use",
                           "edges", "root_edges", "path_json", "dominators", "types", "leaks")}
    for k in ("max_rss", "memory_bytes", "blocks", "blocks_free", "bytes_in_use", "edges", "root_edges"):
        if r[k] is not None: r[k] = int(r[k])
    r["heap"] = heap_info
    r["reachable"], r["hops"] = runs[0]["reachable"], runs[0]["hops"]
    r["bytes_per_object"] = r["memory_bytes"] / r["blocks"] if r["memory_bytes"] and r["blocks"] else None
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
print(f"retain benchmark, Go heap ({gen['go']})")
print(f"  heap      {gen['heap_objects']:,} objects (MemStats.HeapObjects), "
      f"{gen['heap_alloc'] / GB:.2f} GiB allocated (HeapAlloc), {gen['heap_inuse'] / GB:.2f} GiB in spans; "
      f"{c['PlantedEdges']:,} planted pointers")
print(f"  planted   {c['Nodes']:,} nodes ({c['ListNodes']:,} list, {c['TreeNodes']:,} tree, "
      f"{c['ChainNodes']:,} chain, {c['Holder']:,} in a goroutine), {c['Payloads']:,} payload arrays, "
      f"{c['Names']:,} names, {c['Maps']:,} maps, {c['Groups']:,} pointer slices, "
      f"{c['Buffers']:,} buffers ({c['BufferBytes'] / GB:.2f} GiB)")
print(f"  core      {res['core_bytes'] / GB:.2f} GiB; generation {res['gen_seconds']:.1f} s, "
      f"gcore {res['gcore_seconds']:.1f} s; heap range [{gen['heap_lo']}, {gen['heap_hi']})")
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
          f"  ({fmt(r['bytes_per_object'], '{:.1f}')} B/object over {fmt(r['blocks'], '{:,.0f}')} in-use objects, "
          f"{fmt(r['bytes_per_edge'], '{:.1f}')} B/edge over {fmt(r['edges'], '{:,.0f}')} edges)")
    print(f"  gdb max RSS           {fmt(r['max_rss'] and r['max_rss'] / 2**20, '{:.0f}')} MiB")
    print(f"  retain heap           {json.dumps(r['heap'])}")
    print(f"  path                  reachable={r['reachable']} hops={r['hops']} "
          f"(expected {gen['chain_len']})")
    print(f"  medians of {len(r['runs'])} retain runs")
if status:
    print(f"  retain: {status}")
json.dump(res, open(outpath, "w"), indent=1)
print()
print(json.dumps({k: v for k, v in res.items() if k not in ("retain", "counts")} |
                 {"retain": {k: v for k, v in res["retain"].items() if k != "runs"}
                             if res["retain"] else None}))
PY
