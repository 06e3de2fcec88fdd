# Builds retain's fuzz targets and their replay programs (GNU make; see
# fuzz/README.md). fuzz/run.sh calls it; by hand, from the top of the tree:
#
#   make -f fuzz/fuzz.mk -j2 fuzz     fuzz/build/fuzz_{core,glibc,dwarf,go}  (libFuzzer)
#   make -f fuzz/fuzz.mk -j2 replay   fuzz/build/replay_{core,glibc,dwarf,go} (a plain main)
#
# The engine sources are compiled here again, with the fuzzer's coverage
# instrumentation and sanitizers: nothing of this is part of the gdb module.
#
# Variables: FUZZ_CC (a clang with libFuzzer; default clang-14, else clang),
# REPLAY_CC (default FUZZ_CC if it works, else cc), REPLAY_SAN (sanitizer
# flags of the replay programs; empty to build them without), B (build dir).

TOP := $(patsubst %/,%,$(dir $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))))
B ?= $(TOP)/fuzz/build

FUZZ_CC ?= $(shell command -v clang-14 || command -v clang || echo clang)
REPLAY_CC ?= $(FUZZ_CC)
REPLAY_SAN ?= -fsanitize=address,undefined -fno-sanitize-recover=all

F_CPPFLAGS = -D_GNU_SOURCE -iquote $(TOP)/gdbext -iquote $(TOP)/fuzz
F_CFLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer -Wall -Wextra -pthread
FUZZ_SAN = -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
# every mmap of the input file becomes an exactly sized, ASan-checked copy
WRAP = -Wl,--wrap=mmap -Wl,--wrap=munmap

TARGETS = core glibc dwarf go
core_engine = error memory elfcore mapfile
glibc_engine = error memory elfcore mapfile blocks heap_glibc heap_report
dwarf_engine = error dwarf elfsym mapfile
go_engine = error memory elfcore mapfile blocks heap_report heap_go
core_libs =
glibc_libs =
dwarf_libs = -ldwarf -lelf -lz
go_libs =
# fuzz_go caps the size of one allocation while the walk runs (see fuzz_go.c)
go_ldflags = -Wl,--wrap=malloc -Wl,--wrap=calloc -Wl,--wrap=realloc

headers = $(wildcard $(TOP)/gdbext/*.h) $(TOP)/fuzz/fuzz_common.h

.PHONY: all fuzz replay clean
all: fuzz replay
fuzz: $(TARGETS:%=$(B)/fuzz_%)
replay: $(TARGETS:%=$(B)/replay_%)

# -fsanitize=fuzzer on the engine and the harness (coverage), and on the
# link (libFuzzer's main). The replay objects use the same sources without it.
$(B)/obj-fuzz/%.o: $(TOP)/gdbext/%.c $(headers)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(F_CPPFLAGS) $(F_CFLAGS) $(FUZZ_SAN) -c -o $@ $<
$(B)/obj-fuzz/%.o: $(TOP)/fuzz/%.c $(headers)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(F_CPPFLAGS) $(F_CFLAGS) $(FUZZ_SAN) -c -o $@ $<
$(B)/obj-replay/%.o: $(TOP)/gdbext/%.c $(headers)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(F_CPPFLAGS) $(F_CFLAGS) $(REPLAY_SAN) -c -o $@ $<
$(B)/obj-replay/%.o: $(TOP)/fuzz/%.c $(headers)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(F_CPPFLAGS) $(F_CFLAGS) $(REPLAY_SAN) -c -o $@ $<

define target_rules
$(B)/fuzz_$(1): $(B)/obj-fuzz/fuzz_$(1).o $(B)/obj-fuzz/fuzz_common.o $($(1)_engine:%=$(B)/obj-fuzz/%.o)
	$(FUZZ_CC) $(F_CFLAGS) $(FUZZ_SAN) $(WRAP) $($(1)_ldflags) -o $$@ $$^ $($(1)_libs)
$(B)/replay_$(1): $(B)/obj-replay/replay.o $(B)/obj-replay/fuzz_$(1).o $(B)/obj-replay/fuzz_common.o $($(1)_engine:%=$(B)/obj-replay/%.o)
	$(REPLAY_CC) $(F_CFLAGS) $(REPLAY_SAN) $(WRAP) $($(1)_ldflags) -o $$@ $$^ $($(1)_libs)
endef
$(foreach t,$(TARGETS),$(eval $(call target_rules,$(t))))

clean:
	rm -rf $(B)/obj-fuzz $(B)/obj-replay $(TARGETS:%=$(B)/fuzz_%) $(TARGETS:%=$(B)/replay_%)
