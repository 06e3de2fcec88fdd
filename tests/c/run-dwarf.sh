#!/bin/sh
# Runs test_dwarf on the sample program it reads (built by make check).
top=${abs_top_builddir:-.}
exec "$top/tests/c/test_dwarf" "$top/tests/c/dwarf_sample"
