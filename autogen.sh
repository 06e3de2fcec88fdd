#!/bin/sh
# Generate ./configure and Makefile.in (needs autoconf, automake, libtool,
# pkg-config: scripts/setup.sh deps installs them).
set -e
cd "$(dirname "$0")"
exec autoreconf -fi
