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
NAME=run_go.sh TAG=bench-go GEN=gen_heap_go TIMEOUT=1800
SMALL_ARGS="-n 300000 -c 50000 -B 64 -g 10000"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
parse_options "$@"
GO="${GO:-go}"

# ---- build ----
command -v "$GO" >/dev/null || die "no go ($GO); install golang-go (Go 1.19)"
# no go.mod, no network; a build cache under bench/build (gitignored)
GOCACHE="${GOCACHE:-$BUILD/gocache}" GOFLAGS="" GOPROXY=off GO111MODULE=auto \
    "$GO" build -o "$BUILD/gen_heap_go" "$BENCH/gen_heap_go.go"
build_floor

prepare_work core gen_heap_go gen.json gen.out heap_range gen_seconds gcore_seconds
if [ -z "$REUSE" ]; then
    generate
    awk '/^HEAP_LO / {print $2, $4}' "$WORK/gen.out" > "$WORK/heap_range"
    [ -s "$WORK/heap_range" ] || die "no HEAP_LO line from gen_heap_go"
    log "generated in $(cat "$WORK/gen_seconds") s; $(grep -E '^(OBJECTS|BYTES)' "$WORK/gen.out" | tr '\n' ' ')heap range $(cat "$WORK/heap_range")"
    make_core
fi

QUERY=$(awk '/^TAIL / {print $2}' "$WORK/gen.out")
[ -n "$QUERY" ] || die "no TAIL line in $WORK/gen.out"
measure_floor
run_retain "$QUERY"   # the same commands as bench/run.sh

# ---- report ----
bench_report "$BUILD/last-result-go.json" <<'PY'
c = gen["counts"]
res = result(
    "retain-bench-go/1",
    go=gen["go"],
    heap_objects=gen["heap_objects"], heap_alloc=gen["heap_alloc"],
    heap_inuse=gen["heap_inuse"], heap_sys=gen["heap_sys"],
    planted_objects=c["PlantedObjects"], planted_edges=c["PlantedEdges"],
    heap_lo=gen["heap_lo"], heap_hi=gen["heap_hi"],
    chain_len=gen["chain_len"], query=gen["query"], counts=c)
runs, stats, status = retain_runs()
heap_info = stats.get("heap") if stats else None
heap_kind = heap_info.get("kind") if isinstance(heap_info, dict) else None
if not status and heap_kind != "go":
    status = f"retain did not see a Go heap (stats heap.kind = {heap_kind!r})"
if runs:
    res["retain"] = summarize(runs, "object", ("blocks_free", "bytes_in_use", "root_edges"))
    res["retain"]["heap"] = heap_info

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
print_floor(res)
if res["retain"]:
    r = res["retain"]
    print_phases(r, "object")
    print(f"  retain heap           {json.dumps(r['heap'])}")
    print_path(r)
finish(res, status, drop=("counts",))
PY
