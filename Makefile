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
LIBS		:= -lbpf -lelf -lz -ljson-c -lmnl -levent -lpq -lconfig -lmicrohttpd -lm
BPF_CFLAGS	:= -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -Iinclude -I$(BUILD)/vmlinux -Ibpf

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

# The unit suites once more under gcc's ASan+UBSan, against the layers
# built again into $(BUILD)/asan/ (-O1: a modest extra build); any report,
# a leak included, fails the suite.
SAN_FLAGS	:= -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
		   -fno-omit-frame-pointer
ASAN_LIBS	:= $(patsubst %,$(BUILD)/asan/libhelios-%.a,$(LAYERS))
ASAN_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/asan/%,$(wildcard tests/unit/test_*.c))
BENCH_SKELS	:= $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard bench/bpf/*.bpf.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test demo demo-lab bench clean help unit-test bpf-test e2e-test check

all: $(BUILD)/helios-agent $(UNIT_TESTS) $(BPF_TESTS) $(BENCH_PROGS)

help:
	@echo 'make            build build/helios-agent, BPF objects and tests'
	@echo 'make test       install what is missing, build, run every suite'
	@echo 'make unit-test  tests/unit suites, also under ASan+UBSan'
	@echo 'make bpf-test   tests/bpf suites (BPF_PROG_TEST_RUN, root)'
	@echo 'make e2e-test   tests/e2e bats suites (namespaces, root)'
	@echo 'make check      cppcheck and clang-tidy over user/ and bench/'
	@echo 'make demo       PostgreSQL primary + standby behind the director (< 1 min)'
	@echo 'make demo-lab   namespace lab: director + three weighted TCP backends'
	@echo 'make bench      benchmarks, results in BENCHMARKS.md'
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

-include $(shell find $(BUILD)/user $(BUILD)/asan $(BUILD)/tests -name '*.d' 2>/dev/null)

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

$(BUILD)/helios-agent: $(BUILD)/user/main.o $(LAYER_LIBS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

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
	$(Q)$(MAKE) --no-print-directory all $(ASAN_TESTS)
	$(Q)tests/run.sh $(BUILD)

unit-test: $(UNIT_TESTS) $(ASAN_TESTS)
	$(Q)tests/run.sh $(BUILD) $^

bpf-test: $(BPF_TESTS)
	$(Q)tests/run.sh $(BUILD) $^

e2e-test: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)tests/run.sh $(BUILD) $(wildcard tests/e2e/*.bats)

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)scripts/demo.sh $(BUILD)

demo-lab: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)scripts/demo-lab.sh $(BUILD)

# Static analysis, clean or failing (scripts/check.sh, .clang-tidy). Not
# part of `make test`: it takes about half a minute more.
check: $(SKELS) $(BENCH_SKELS)
	$(Q)scripts/install-deps.sh --check
	$(Q)scripts/check.sh $(BUILD)

bench:
	$(Q)scripts/install-deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_PROGS)
	$(Q)bench/run.sh $(BUILD)

clean:
	$(Q)rm -rf $(BUILD)
