# holdfast -- one Makefile (see README.md).
#
#   make            build bin/holdfast
#   make run        install what is missing, build, serve a single node on 127.0.0.1:9000
#   make run-cluster  a 3-member etcd and 6 nodes in 3 zones on loopback (./data-cluster);
#                   make stop-cluster stops them
#   make test       install what is missing, build, run every test; last line "N passed, N failed"
#   make unit       build and run the unit tests only
#   make bench      holdfast next to nginx on loopback; writes docs/benchmarks.md (minutes)
#   make SANITIZER=address,undefined ...   build into build/asan with ASan+UBSan
#   make check      layer check (no #include across a forbidden edge) and warnings as errors
#   make crash      the kill -9 crash test with many cycles (HF_CRASH_CYCLES, default 300)
#   make fuzz       run each libFuzzer harness for FUZZ_SECONDS (default 60) from its corpus
#   make clean

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ALLCFLAGS := -std=c11 -D_GNU_SOURCE -pthread -Isrc $(WARN) $(CFLAGS) $(EXTRA_CFLAGS)
LIBS    := -llmdb -lisal -lexpat -ljansson -lcurl -lssl -lcrypto -lpthread
LDFLAGS ?=

ifneq ($(SANITIZER),)
  BUILD := build/san
  ALLCFLAGS += -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
  LDFLAGS += -fsanitize=$(SANITIZER)
  BIN := $(BUILD)/holdfast
else
  BUILD := build/rel
  BIN := bin/holdfast
endif

LIB_SRC  := $(sort $(wildcard src/base/*.c src/net/*.c src/auth/*.c src/meta/*.c src/chunk/*.c src/access/*.c \
                 src/guard/*.c src/scrub/*.c src/sse/*.c src/s3/*.c src/status/*.c src/bench/*.c \
                 src/peer/*.c src/etcd/*.c src/cluster/*.c src/cli/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libholdfast.a

UNIT_SRC := $(sort $(wildcard tests/unit/*/*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HARNESS := $(BUILD)/tests/unit/test.o

.PHONY: all run run-cluster stop-cluster test unit check clean deps integ crash fuzz fuzz-build bench perf
all: $(BIN)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -MMD -MP -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(BUILD)/src/cli/main.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(UNIT_HARNESS): tests/unit/test.c tests/unit/test.h
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit -c $< -o $@

$(BUILD)/tests/unit/%: tests/unit/%.c $(UNIT_HARNESS) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -Itests/unit $(LDFLAGS) -o $@ $< $(UNIT_HARNESS) $(LIB) $(LIBS)

unit: $(UNIT_BIN)
	@tests/run-unit.sh $(UNIT_BIN)

deps:
	@scripts/install-deps.sh

run: deps
	@$(MAKE) --no-print-directory all
	@scripts/run.sh

run-cluster: deps
	@$(MAKE) --no-print-directory all
	@scripts/run-cluster.sh

stop-cluster:
	@scripts/run-cluster.sh stop

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@$(MAKE) --no-print-directory SANITIZER=address,undefined OPT=-O1 $(UNIT_BIN:build/rel/%=build/san/%) build/san/holdfast
	@$(MAKE) --no-print-directory fuzz-build
	@tests/run.sh

# ---- fuzzing (clang + libFuzzer; llhttp from Debian's node-llhttp as an oracle) ----
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -pthread -Isrc -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_DIR)/%.o)
FUZZ_LIB     := $(FUZZ_DIR)/libholdfast.a
FUZZ_NAMES   := $(basename $(notdir $(wildcard tests/fuzz/fuzz_*.c)))
FUZZ_BIN     := $(FUZZ_NAMES:%=$(FUZZ_DIR)/%)
LLHTTP_DIR   := /usr/share/llhttp
LLHTTP_INC   := /usr/share/include/llhttp
LLHTTP_OBJ   := $(FUZZ_DIR)/llhttp/llhttp.o $(FUZZ_DIR)/llhttp/api.o $(FUZZ_DIR)/llhttp/http.o

$(FUZZ_DIR)/src/%.o: src/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	@rm -f $@
	ar rcs $@ $^

# llhttp is built from the files Debian installs, never copied into the tree.
$(FUZZ_DIR)/llhttp/%.o: $(LLHTTP_DIR)/%.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) -I$(LLHTTP_INC) -g -O1 $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/fuzz_http_head: tests/fuzz/fuzz_http_head.c $(FUZZ_LIB) $(LLHTTP_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -I$(LLHTTP_INC) -fsanitize=fuzzer -o $@ $< $(LLHTTP_OBJ) $(FUZZ_LIB) $(LIBS)

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_LIB) $(LIBS)

fuzz-build: $(FUZZ_BIN)

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-build
	@tests/fuzz/run.sh fuzz $(FUZZ_SECONDS)

crash: deps
	@$(MAKE) --no-print-directory all
	@HF_CRASH_CYCLES=$${HF_CRASH_CYCLES:-300} /usr/bin/python3 tests/integ/test_crash.py
bench:
	@scripts/install-deps.sh --bench
	@$(MAKE) --no-print-directory all perf
	@scripts/bench.py

# Micro-measurements for make bench: the fiber switch with the assembly
# switch and with ucontext, the I/O pool hand-off, a thread hand-off.
PERF_BIN := $(BUILD)/tests/perf/perf_fiber $(BUILD)/tests/perf/perf_fiber_ucontext
perf: $(PERF_BIN)

$(BUILD)/tests/perf/perf_fiber: tests/perf/perf_fiber.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) $(LDFLAGS) -o $@ $< $(LIB) $(LIBS)

$(BUILD)/tests/perf/perf_fiber_ucontext: tests/perf/perf_fiber.c src/base/fiber.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALLCFLAGS) -DHF_FIBER_UCONTEXT $(LDFLAGS) -o $@ $< src/base/fiber.c $(LIB) $(LIBS)

check:
	@scripts/check-layers.sh
	@$(MAKE) --no-print-directory clean-objs EXTRA_CFLAGS=-Werror all $(UNIT_BIN)

clean-objs:
	rm -rf $(BUILD)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/cli/main.d $(FUZZ_OBJ:.o=.d)
