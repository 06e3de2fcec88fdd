#!/bin/sh
# Runs test_go_naming on the Go sample make check built (skipped without go).
top=${abs_top_builddir:-.}
if [ ! -x "$top/tests/c/go_sample" ]; then
    echo "SKIP: no tests/c/go_sample (no go toolchain)"
    exit 77
fi
exec "$top/tests/c/test_go_naming" "$top/tests/c/go_sample"
