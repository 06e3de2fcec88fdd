#!/usr/bin/env bash
# retain benchmark driver: big glibc heap core -> floor vs. retain engine.
# See bench/README.md.
#
#   bench/run.sh [--runs N] [--retain-runs N] [--keep] [--dir DIR] [--small]
#                [--gen-args "ARGS"] [--reuse DIR] [--floor-mode MODE]
#                [--timeout S]
#
#   --runs N         measured floor runs (default 5; one more warm-up run first)
#   --retain-runs N  retain runs (default 3); medians are reported
#   --keep           keep the work dir (core, program, logs) and print it
#   --dir DIR        parent of the work dir (default $BENCH_DIR or /tmp)
#   --small          small smoke-test heap (300k blocks), not the benchmark
#   --gen-args ARGS  extra arguments for gen_heap (see bench/gen_heap.c)
#   --reuse DIR      skip generation: measure the core kept in DIR by --keep
#   --floor-mode M   mmap (default), populate or read (see bench/floor.c)
#   --timeout S      kill a retain run after S seconds (default 0: never)
set -euo pipefail

BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
NAME=run.sh TAG=bench GEN=gen_heap TIMEOUT=0
SMALL_ARGS="-n 300000 -c 50000 -B 64 -T 10000"
# shellcheck source=bench/lib.sh
. "$BENCH/lib.sh"
parse_options "$@"

# ---- build ----
CC="${CC:-gcc}"
$CC -O2 -g -Wall -Wextra -pthread -o "$BUILD/gen_heap" "$BENCH/gen_heap.c"
build_floor

prepare_work core gen_heap gen.json heap_range gen_seconds gcore_seconds
if [ -z "$REUSE" ]; then
    generate
    awk '/\[heap\]/ {split($1, r, "-"); print r[1], r[2]}' "/proc/$GEN_PID/maps" > "$WORK/heap_range"
    [ -s "$WORK/heap_range" ] || die "no [heap] mapping in gen_heap"
    log "generated in $(cat "$WORK/gen_seconds") s; heap $(cat "$WORK/heap_range")"
    make_core
fi

QUERY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["query"])' "$WORK/gen.json")
measure_floor
run_retain "$QUERY"

# ---- report ----
bench_report "$BUILD/last-result.json" <<'PY'
res = result(
    "retain-bench/1",
    blocks_in_use=gen["blocks_in_use"], blocks_freed=gen["blocks_freed"],
    bytes_in_use=gen["bytes_in_use"], planted_edges=gen["planted_edges"],
    heap_bytes=gen["heap_bytes"], chain_len=gen["chain_len"], query=gen["query"])
runs, _, status = retain_runs()
if runs:
    res["retain"] = summarize(runs, "block")

print()
print("retain benchmark")
print(f"  heap      {gen['blocks_in_use']:,} blocks in use ({gen['blocks_freed']:,} freed), "
      f"{gen['bytes_in_use'] / GB:.2f} GiB in use, [heap] {gen['heap_bytes'] / GB:.2f} GiB, "
      f"{gen['planted_edges']:,} planted pointers")
print(f"  core      {res['core_bytes'] / GB:.2f} GiB; generation {res['gen_seconds']:.1f} s, "
      f"gcore {res['gcore_seconds']:.1f} s")
print_floor(res)
if res["retain"]:
    print_phases(res["retain"], "block")
    print_path(res["retain"])
finish(res, status)
PY
