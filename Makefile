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
LIBS		:= -lbpf -lelf -lz -ljson-c -lmnl -levent -lpq -lconfig -lm
BPF_CFLAGS	:= -O2 -g -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
		   -Iinclude -I$(BUILD)/vmlinux -Ibpf

BPF_PROGS	:= helios_xdp helios_decap
BPF_OBJS	:= $(patsubst %,$(BUILD)/bpf/%.bpf.o,$(BPF_PROGS))
SKELS		:= $(patsubst %,$(BUILD)/%.skel.h,$(BPF_PROGS))
BPF_HDRS	:= $(wildcard bpf/lib/*.h) include/helios/abi.h

# Everything in user/ except main.c forms a library the tests link too.
LIB_SRCS	:= $(filter-out user/main.c,$(wildcard user/*.c))
LIB_OBJS	:= $(patsubst user/%.c,$(BUILD)/user/%.o,$(LIB_SRCS))
USER_HDRS	:= $(wildcard user/*.h) include/helios/abi.h

UNIT_TESTS	:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(wildcard tests/unit/test_*.c))
BPF_TESTS	:= $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(wildcard tests/bpf/test_*.c))
BENCH_PROGS	:= $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))
BENCH_SKELS	:= $(patsubst bench/bpf/%.bpf.c,$(BUILD)/bench/%.skel.h,$(wildcard bench/bpf/*.bpf.c))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps test demo bench clean help unit-test bpf-test e2e-test

all: $(BUILD)/helios-agent $(UNIT_TESTS) $(BPF_TESTS)

help:
	@echo 'make            build build/helios-agent, BPF objects and tests'
	@echo 'make test       install what is missing, build, run every suite'
	@echo 'make demo       namespace lab: director + three weighted backends'
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

$(BUILD)/user/%.o: user/%.c $(USER_HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libhelios.a: $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/helios-agent: $(BUILD)/user/main.o $(BUILD)/libhelios.a
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c tests/unit/unit.h $(BUILD)/libhelios.a
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(BUILD)/libhelios.a $(LIBS) -lm -o $@

$(BUILD)/tests/%: tests/bpf/%.c tests/unit/unit.h $(wildcard tests/bpf/*.h) $(BUILD)/libhelios.a $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(BUILD)/libhelios.a $(LIBS) -lm -o $@

$(BUILD)/bench/%: bench/%.c $(BUILD)/libhelios.a $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $< $(BUILD)/libhelios.a $(LIBS) -lm -o $@

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
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/run.sh $(BUILD)

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BUILD)/helios-agent
	$(Q)scripts/demo.sh $(BUILD)

bench:
	$(Q)scripts/install-deps.sh --bench
	$(Q)$(MAKE) --no-print-directory all $(BENCH_PROGS)
	$(Q)bench/run.sh $(BUILD)

clean:
	$(Q)rm -rf $(BUILD)
