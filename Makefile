# SPDX-License-Identifier: GPL-2.0
# Helios: build everything into build/. `make help` lists the targets.

BUILD		?= build
CC		?= cc
CLANG		?= clang
BPFTOOL		?= bpftool
V		?= 0

ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

ARCH		:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
CFLAGS		?= -O2 -g
CFLAGS		+= -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter \
		   -Iinclude -I$(BUILD) -Iuser -I$(shell pg_config --includedir 2>/dev/null || echo /usr/include/postgresql) -D_GNU_SOURCE
LIBS		:= -lbpf -lelf -lz -ljson-c -lmnl -levent -lpq -lconfig -lmicrohttpd -lm -lsystemd
# helios-agent opens libpq, libmicrohttpd and libsystemd at first use
# (user/agent/dl.h): a CLI run does not load them.
AGENT_LIBS	:= $(filter-out -lpq -lmicrohttpd -lsystemd,$(LIBS))
BPF_CFLAGS	:= -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -Iinclude -I$(BUILD)/vmlinux -Ibpf
# -D flags of a test variant build (make variants), for both compilers.
HL_DEFS		?=
CFLAGS		+= $(HL_DEFS)
BPF_CFLAGS	+= $(HL_DEFS)

BPF_PROGS	:= helios_xdp helios_decap
BPF_OBJS	:= $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
SKELS		:= $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))
BPF_HDRS	:= $(wildcard bpf/lib/*.h) include/helios/abi.h

# user/lib, user/cmd and user/agent are one archive each (HACKING.md has
# the arrows between them); main.c and the tests link all three.
LAYERS		:= agent cmd lib
LAYER_LIBS	:= $(patsubst %,$(BUILD)/libhelios-%.a,$(LAYERS))

UNIT_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
BENCH_PROGS	:= $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
# Helpers of the e2e suites (tests/e2e/*.c), not suites themselves.
E2E_PROGS	:= $(patsubst tests/e2e/%.c,$(BUILD)/tests/%,$(filter-out %.bpf.c,$(wildcard tests/e2e/*.c)))

# The unit suites once more under gcc's ASan+UBSan, against the layers
# built again into $(BUILD)/asan/ (-O1: a modest extra build); any report,
# a leak included, fails the suite.
SAN_FLAGS	:= -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
ASAN_LIBS	:= $(patsubst %,$(BUILD)/asan/libhelios-%.a,$(LAYERS))
ASAN_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/asan/%,$(wildcard tests/unit/test_*.c))
# libFuzzer targets (tests/fuzz/fuzz_*.c): clang with ASan+UBSan, the
# three layers built again into $(BUILD)/fuzz/ with coverage for them.
FUZZ_CC		?= clang
FUZZ_FLAGS	:= -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all \
		   -Wno-missing-field-initializers
FUZZ_LIBS	:= $(patsubst %,$(BUILD)/fuzz/libhelios-%.a,$(LAYERS))
FUZZ_TARGETS	:= $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TIME	?= 600
FUZZ_PACKETS	?= 1000000
BENCH_SKELS	:= $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard bench/bpf/*.bpf.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: variants FORCE all deps test demo demo-lab bench clean help unit-test bpf-test e2e-test check \
	fuzz man install

all: $(BUILD)/helios-agent $(BUILD)/man/.stamp $(UNIT_TESTS) $(BPF_TESTS) $(BENCH_PROGS) $(E2E_PROGS)

help:
	@echo 'make            build build/helios-agent, BPF objects and tests'
	@echo 'make test       install what is missing, build, run every suite'
	@echo 'make unit-test  tests/unit suites, also under ASan+UBSan'
	@echo 'make bpf-test   tests/bpf suites (BPF_PROG_TEST_RUN, root)'
	@echo 'make e2e-test   tests/e2e bats suites (namespaces, root)'
	@echo 'make check      cppcheck and clang-tidy over user/ and bench/'
	@echo 'make fuzz       hostile input: FUZZ_PACKETS packets, libFuzzer targets FUZZ_TIME s each'
	@echo 'make demo       PostgreSQL primary + standby behind the director (< 1 min)'
	@echo 'make demo-lab   namespace lab: director + three weighted TCP backends'
	@echo 'make bench      benchmarks, results in BENCHMARKS.md'
	@echo 'make man        man pages into build/man (scdoc)'
	@echo 'make install    binary, man pages, completion, systemd unit, example'
	@echo '                configuration (PREFIX=/usr/local, DESTDIR, SYSCONFDIR=/etc)'
	@echo 'make clean      remove build/'
	@echo 'make V=1 ...    show the commands'

deps:
	$(Q)scripts/install-deps.sh

$(BUILD)/vmlinux/vmlinux.h:
	$(call msg,GEN,$@)
	$(Q)scripts/gen-vmlinux.sh $@

# -mcpu=v3: the rate limiter's compare-and-swap and the active-flow
# counters' fetch-and-or need BPF atomics (kernel 5.12+).
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -mcpu=v3 -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# -MMD -MP: each object also depends on the headers it includes.
$(BUILD)/user/%.o: user/%.c $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/asan/user/%.o: user/%.c $(SKELS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -c $< -o $@

$(BUILD)/fuzz/user/%.o: user/%.c $(SKELS)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@

-include $(shell find $(BUILD)/user $(BUILD)/asan $(BUILD)/tests $(BUILD)/fuzz -name '*.d' 2>/dev/null)

layer_objs = $(patsubst user/%.c,$(BUILD)/user/%.o,$(wildcard user/$(1)/*.c))
$(foreach l,$(LAYERS),$(eval $(BUILD)/libhelios-$(l).a: $(call layer_objs,$(l))))
$(BUILD)/libhelios-%.a:
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

asan_objs = $(patsubst user/%.c,$(BUILD)/asan/user/%.o,$(wildcard user/$(1)/*.c))
$(foreach l,$(LAYERS),$(eval $(BUILD)/asan/libhelios-$(l).a: $(call asan_objs,$(l))))
$(BUILD)/asan/libhelios-%.a:
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

fuzz_objs = $(patsubst user/%.c,$(BUILD)/fuzz/user/%.o,$(wildcard user/$(1)/*.c))
$(foreach l,$(LAYERS),$(eval $(BUILD)/fuzz/libhelios-$(l).a: $(call fuzz_objs,$(l))))
$(BUILD)/fuzz/libhelios-%.a:
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_LIBS)
	$(call msg,CC-FUZZ,$@)
	$(Q)$(FUZZ_CC) $(CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer,address,undefined -Itests/fuzz $< $(FUZZ_LIBS) $(LIBS) -o $@

# The version `helios-agent version` prints: git describe, else the
# Makefile's own. version.h is rewritten only when it changes.
VERSION		:= $(shell git describe --tags --always --dirty 2>/dev/null || echo 0.1)
$(BUILD)/version.h: FORCE
	$(Q)mkdir -p $(@D)
	$(Q)echo '#define HELIOS_VERSION "$(VERSION)"' | cmp -s - $@ || \
		echo '#define HELIOS_VERSION "$(VERSION)"' > $@
$(BUILD)/user/main.o: $(BUILD)/version.h
FORCE:

$(BUILD)/helios-agent: $(BUILD)/user/main.o $(LAYER_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(AGENT_LIBS) -o $@

# Man pages: synopsis, options and details from the binary's tables, prose
# from man/*.scd (scripts/gen-man.sh; tests/drift.sh compares).
$(BUILD)/man/.stamp: $(BUILD)/helios-agent $(wildcard man/*.scd) scripts/gen-man.sh
	$(call msg,GEN,$(BUILD)/man)
	$(Q)scripts/gen-man.sh $(BUILD)
	$(Q)touch $@
man: $(BUILD)/man/.stamp

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc]. The
# example configuration goes next to where the unit reads its file, never
# over it: an installed unit starts nothing until the operator writes one.
PREFIX		?= /usr/local
SBINDIR		?= $(PREFIX)/sbin
MANDIR		?= $(PREFIX)/share/man
SYSCONFDIR	?= /etc
UNITDIR		?= $(PREFIX)/lib/systemd/system
COMPLETIONDIR	?= $(PREFIX)/share/bash-completion/completions
DOCDIR		?= $(PREFIX)/share/doc/helios

install: $(BUILD)/helios-agent $(BUILD)/man/.stamp FORCE
	$(Q)install -D -m 0755 $(BUILD)/helios-agent $(DESTDIR)$(SBINDIR)/helios-agent
	$(Q)install -d $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	$(Q)install -m 0644 $(BUILD)/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	$(Q)install -m 0644 $(BUILD)/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	$(Q)install -D -m 0644 dist/helios-agent.bash $(DESTDIR)$(COMPLETIONDIR)/helios-agent
	$(Q)install -d $(DESTDIR)$(UNITDIR)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		dist/helios-agent.service.in >$(DESTDIR)$(UNITDIR)/helios-agent.service
	$(Q)install -D -m 0644 dist/helios.conf.example $(DESTDIR)$(DOCDIR)/helios.conf.example
	$(Q)install -D -m 0644 dist/helios.conf.example \
		$(DESTDIR)$(SYSCONFDIR)/helios/helios.conf.example

$(BUILD)/tests/%: tests/unit/%.c $(LAYER_LIBS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -Itests/unit $< $(LAYER_LIBS) $(LIBS) -o $@

$(BUILD)/tests/asan/%: tests/unit/%.c $(ASAN_LIBS)
	$(call msg,CC-ASAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(SAN_FLAGS) -MMD -MP -Itests/unit $< $(ASAN_LIBS) $(LIBS) -o $@

$(BUILD)/tests/%: tests/bpf/%.c $(LAYER_LIBS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP -Itests/unit $< $(LAYER_LIBS) $(LIBS) -o $@

$(BUILD)/tests/%: tests/e2e/%.c $(LAYER_LIBS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -MMD -MP $< $(LAYER_LIBS) $(LIBS) -o $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/libhelios-lib.a $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libhelios-lib.a $(LIBS) -o $@

# Benchmark-only BPF programs (floors, restoring wrapper, generator).
$(BUILD)/bench/bpf/%.bpf.o: bench/bpf/%.bpf.c include/helios/abi.h $(BUILD)/vmlinux/vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/bench/%.skel.h: $(BUILD)/bench/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

$(BENCH_PROGS): $(BENCH_SKELS) $(wildcard bench/*.h)

test: deps
	$(Q)$(MAKE) --no-print-directory all $(ASAN_TESTS) variants
	$(Q)tests/run.sh $(BUILD)

unit-test: $(UNIT_TESTS) $(ASAN_TESTS)
	$(Q)tests/run.sh $(BUILD) $^

bpf-test: $(BPF_TESTS)
	$(Q)tests/run.sh $(BUILD) $^

e2e-test: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent $(E2E_PROGS) variants
	$(Q)tests/run.sh $(BUILD) $(wildcard tests/e2e/*.bats)

# Test builds of the director, each a whole build of its own under
# $(BUILD)/variants/NAME/: another program over the same maps (next), a
# connection entry of layout 3 (flow2), both for tests/e2e/96-upgrade.bats,
# and small connection and client tables for the flood tests (ctsmall).
VARIANTS	:= next flow2 ctsmall
VARIANT_next	:= -DHL_BUILD_TAG=2
VARIANT_flow2	:= -DHL_FLOW_TEST_LAYOUT
VARIANT_ctsmall	:= -DHL_CT_ENTRIES=4096 -DHL_CLIENT_ENTRIES=1024
variants: $(patsubst %,$(BUILD)/variants/%/helios-agent,$(VARIANTS))

# Make does not see flags change: a variant whose flags did starts over.
$(BUILD)/variants/%/helios-agent: FORCE
	$(Q)if [ "$$(cat $(@D)/defs 2>/dev/null)" != "$(VARIANT_$*)" ]; then \
		rm -rf $(@D) && mkdir -p $(@D) && echo "$(VARIANT_$*)" >$(@D)/defs; fi
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/variants/$* \
		HL_DEFS="$(VARIANT_$*)" $@

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)scripts/demo.sh $(BUILD)

demo-lab: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)scripts/demo-lab.sh $(BUILD)

# Static analysis, clean or failing (scripts/check.sh, .clang-tidy). Not
# part of `make test`: it takes about half a minute more.
check: $(SKELS) $(BENCH_SKELS) $(BUILD)/version.h
	$(Q)scripts/install-deps.sh --check
	$(Q)scripts/check.sh $(BUILD)

# Hostile input at full size: FUZZ_PACKETS packets through the director
# (tests/bpf/test_fuzz.c), then each libFuzzer target FUZZ_TIME seconds
# from its corpus in tests/fuzz/corpus/ (new inputs go to build/).
fuzz:
	$(Q)scripts/install-deps.sh --fuzz
	$(Q)$(MAKE) --no-print-directory $(BUILD)/tests/test_fuzz $(FUZZ_TARGETS)
	$(Q)HELIOS_FUZZ_PACKETS=$(FUZZ_PACKETS) $(BUILD)/tests/test_fuzz
	$(Q)tests/fuzz/run.sh $(BUILD) $(FUZZ_TIME)

bench:
	$(Q)scripts/install-deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_PROGS) $(BUILD)/variants/ablate/bench/pktcost
	$(Q)bench/run.sh $(BUILD)

# bench/pktcost's per-stage ablation (-s ablate) runs a director built with
# HL_BENCH_ABLATE: its stages skip work by a .rodata mask (enum hl_ablate).
VARIANT_ablate	:= -DHL_BENCH_ABLATE
$(BUILD)/variants/ablate/bench/pktcost: FORCE
	$(Q)if [ "$$(cat $(BUILD)/variants/ablate/defs 2>/dev/null)" != "$(VARIANT_ablate)" ]; then \
		rm -rf $(BUILD)/variants/ablate && mkdir -p $(BUILD)/variants/ablate && \
		echo "$(VARIANT_ablate)" >$(BUILD)/variants/ablate/defs; fi
	$(Q)$(MAKE) --no-print-directory BUILD=$(BUILD)/variants/ablate \
		HL_DEFS="$(VARIANT_ablate)" $@

clean:
	$(Q)rm -rf $(BUILD)
