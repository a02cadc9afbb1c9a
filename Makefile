# holdfast -- one Makefile (see README.md).
#
#   make            build bin/holdfast
#   make run        install what is missing, build, serve a single node on 127.0.0.1:9000
#   make test       install what is missing, build, run every test; last line "N passed, N failed"
#   make unit       build and run the unit tests only
#   make bench      holdfast next to nginx on loopback; writes docs/benchmarks.md (minutes)
#   make SANITIZER=address,undefined ...   build into build/asan with ASan+UBSan
#   make check      layer check (no #include across a forbidden edge) and warnings as errors
#   make clean

CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
WARN    := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
ALLCFLAGS := -std=c11 -D_GNU_SOURCE -pthread -Isrc $(WARN) $(CFLAGS) $(EXTRA_CFLAGS)
LIBS    := -llmdb -lisal -lexpat -ljansson -lcurl -lcrypto -lpthread
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

LIB_SRC  := $(sort $(wildcard src/base/*.c src/net/*.c src/auth/*.c src/meta/*.c src/chunk/*.c \
                 src/guard/*.c src/s3/*.c src/status/*.c src/bench/*.c src/cli/*.c))
LIB_SRC  := $(filter-out src/cli/main.c,$(LIB_SRC))
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
LIB      := $(BUILD)/libholdfast.a

UNIT_SRC := $(sort $(wildcard tests/unit/*/*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%)
UNIT_HARNESS := $(BUILD)/tests/unit/test.o

.PHONY: all run test unit check clean deps integ bench
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

test: deps
	@$(MAKE) --no-print-directory all $(UNIT_BIN)
	@$(MAKE) --no-print-directory SANITIZER=address,undefined OPT=-O1 $(UNIT_BIN:build/rel/%=build/san/%) build/san/holdfast
	@tests/run.sh

bench:
	@scripts/install-deps.sh --bench
	@$(MAKE) --no-print-directory all
	@scripts/bench.py

check:
	@scripts/check-layers.sh
	@$(MAKE) --no-print-directory clean-objs EXTRA_CFLAGS=-Werror all $(UNIT_BIN)

clean-objs:
	rm -rf $(BUILD)

clean:
	rm -rf build bin

-include $(LIB_OBJ:.o=.d) $(BUILD)/src/cli/main.d
