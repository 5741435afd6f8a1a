# osmem: build the allocator and its test programs, grade them, test the kit.
#
#   make check   build, then grade src/libosmem.so (or OSMEM=...) and print the score table
#   make test    everything the kit tests about itself (includes the grading); the costly
#                families (fault injection, memcheck, hostile submissions...) on a sample
#   make test-full  the same with every case of every family (what CI runs)
#   make refs    regenerate tests/ref/*.ref from the reference library, checked by the model
#
# Variables: OSMEM=<libosmem.so or a source dir with a Makefile>, TRACER=strace|ltrace,
# TEST=<program>, JOBS=<pytest-xdist workers, default auto>, RUN_TIMEOUT=<seconds per program>,
# PROFILE=default|layout (layout also grades the block_meta headers), RESULTS=<file.json>.

CC      = gcc
PYTHON  ?= /usr/bin/python3
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
TRACER  ?= strace
OSMEM   ?= src/libosmem.so
JOBS    ?= auto
RUN_TIMEOUT ?= 10
PROFILE ?= default

LIB_SRCS  := $(wildcard src/*.c) utils/printf.c
LIB_HDRS  := $(wildcard src/*.h) $(wildcard utils/*.h)
PROGRAMS  := $(patsubst tests/%.c,build/tests/%,$(wildcard tests/*.c))
MARKERS   := build/libosmem_markers.so
LAUNCHER  := build/osmem-launcher

# Test programs: ltrace only sees calls through a lazily bound PLT without IBT stubs.
PROG_FLAGS := $(WARN) -O2 -g -fcf-protection=none -Iutils -Itests
PROG_LINK  := -Lsrc -losmem -Wl,-z,lazy
# The heap-free printf every program links, compiled once for all of them.
PROG_PRINTF := build/printf.o

.PHONY: all check test test-full refs deps deps-test clean
all: src/libosmem.so $(PROGRAMS) $(MARKERS) $(LAUNCHER)

# Every build of the library (graded, memcheck, asan) exports only the API, as libosmem.so;
# link-time optimisation inlines the small cross-file helpers of the hot paths (heap bounds,
# block list, free index) into the API functions.
LIB_LINK := -fPIC -shared -flto -Isrc -Iutils -Wl,--version-script=src/libosmem.map \
	-Wl,-soname,libosmem.so

src/libosmem.so: $(LIB_SRCS) $(LIB_HDRS) src/libosmem.map
	$(CC) $(WARN) $(CFLAGS) $(LIB_LINK) -o $@ $(LIB_SRCS)

$(PROG_PRINTF): utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(PROG_FLAGS) -c -o $@ $<

build/tests/%: tests/%.c $(PROG_PRINTF) $(wildcard tests/*.h) $(LIB_HDRS) src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(PROG_FLAGS) -o $@ $< $(PROG_PRINTF) $(PROG_LINK)

$(MARKERS): checker/markers.c utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared -Iutils -o $@ checker/markers.c utils/printf.c -ldl

# Every build and traced program starts through it, in the sandbox: limits, seccomp, exec.
$(LAUNCHER): checker/launcher.c utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -Iutils -o $@ checker/launcher.c utils/printf.c

# ---- instruments: the bad-input cases and the fault driver ------------------------------------
# Not graded programs: they live outside tests/*.c and are run by checker/selftest/test_badinput.py
# and test_faults.py. They may use the debug interface (utils/osmem_debug.h).
INSTRUMENT_PROGRAMS := build/instruments/badinput build/instruments/fault_driver
all: $(INSTRUMENT_PROGRAMS)

build/instruments/badinput: tests/badinput/badinput.c $(PROG_PRINTF) $(LIB_HDRS) \
		$(wildcard tests/*.h) src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(PROG_FLAGS) -o $@ $< $(PROG_PRINTF) $(PROG_LINK)

build/instruments/fault_driver: tests/faults/fault_driver.c $(PROG_PRINTF) $(LIB_HDRS) \
		$(wildcard tests/*.h) src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(PROG_FLAGS) -o $@ $< $(PROG_PRINTF) $(PROG_LINK)
# ---- end of instruments ---------------------------------------------------------------------

deps:
	@checker/deps.sh

# What only the kit's own tests need: chromium (make show's page), clang (make fuzz-lib).
deps-test:
	@checker/deps.sh --test

PYTEST := $(PYTHON) -m pytest -p no:cacheprovider --rootdir=checker -c checker/pytest.ini
GRADE_ARGS := --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT) \
	--profile=$(PROFILE) $(if $(TEST),--program=$(TEST)) $(if $(RESULTS),--results-json=$(RESULTS))

check: deps all
	$(PYTEST) -n $(JOBS) checker/test_grade.py $(GRADE_ARGS)

# The build runs one job per core; deps.sh --test also checks what deps checks. Tests that
# share a costly fixture carry one xdist_group, kept on one worker (--dist loadgroup).
test: deps-test
	$(MAKE) -j$(shell nproc) all
	$(PYTEST) -n $(JOBS) --dist loadgroup checker $(GRADE_ARGS) $(if $(FULL),--full) \
		--durations=30

test-full:
	$(MAKE) test FULL=1

refs: deps all
	$(PYTHON) checker/refs.py --tracer=$(TRACER)

clean:
	rm -rf build src/libosmem.so

# ---- random differential testing: make fuzz, make replay ---------------------------------------
#   make fuzz [OSMEM=...] [RUNS=N] [SEED=S]  replay N random operation scripts (tests/replay.c)
#                                            against the model; exit 1 on a divergence, printing
#                                            the shrunk script's path (build/fuzz/minimal-*.ops)
#   make replay OPS=<script> [OSMEM=...]     replay one script: the first divergence, with a diff
FUZZ := $(PYTHON) checker/fuzz.py --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT)
.PHONY: fuzz replay

fuzz: deps src/libosmem.so build/tests/replay $(MARKERS) $(LAUNCHER)
	@$(FUZZ) fuzz $(if $(RUNS),--runs=$(RUNS)) $(if $(SEED),--seed=$(SEED))

replay: deps src/libosmem.so build/tests/replay $(MARKERS) $(LAUNCHER)
	@test -n "$(OPS)" || { echo "usage: make replay OPS=<script> [OSMEM=...]" >&2; exit 2; }
	@$(FUZZ) replay $(OPS)
# ---- end of random differential testing ------------------------------------------------------

# ---- pictures of the heap: make show ---------------------------------------------------------
#   make show TEST=<program> [OSMEM=...]     the heap call by call: a terminal timeline, and a
#   make show OPS=<script> [OSMEM=...]       self-contained page build/show/<name>.html (its path
#                                            is printed); a failing run shows expected and actual
#                                            side by side from the first divergence
.PHONY: show
show: deps all
	@test -n "$(TEST)$(OPS)" || { echo "usage: make show TEST=<program> | OPS=<script> [OSMEM=...]" >&2; exit 2; }
	@$(PYTHON) checker/show.py --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT) \
		$(if $(OPS),--ops=$(OPS),--program=$(TEST))

# ---- end of pictures of the heap -------------------------------------------------------------

# ---- leaks and misuse, sanitizers and libFuzzer -------------------------------------------------
#   make memcheck [TEST=name]  the programs under valgrind with the annotated library
#                              (-DOSMEM_VALGRIND, src/annotate.h): the graded programs clean,
#                              each tests/misuse/*.c reported with the bug its comment declares
#   make asan [TEST=name]      library and programs built with -fsanitize=address,undefined
#                              (build/asan/): the graded programs exit 0, the buggy ones caught
#   make fuzz-lib [SECONDS=N]  libFuzzer on os_* (tests/fuzz/fuzz_osmem.c, clang), seed corpus
#                              tests/fuzz/corpus/; executions and crashes (default 60 s)
CLANG      ?= clang
SECONDS    ?= 60
MC_DIR     := build/memcheck
MISUSE_PROGS    := $(patsubst tests/misuse/%.c,$(MC_DIR)/%,$(wildcard tests/misuse/*.c))
ASAN_DIR   := build/asan
# Programs: only writes are instrumented, since the contract lets them read headers (poisoned).
ASAN_FLAGS := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=undefined
ASAN_PROGS := $(patsubst tests/%.c,$(ASAN_DIR)/tests/%,$(wildcard tests/*.c)) \
	$(patsubst tests/misuse/%.c,$(ASAN_DIR)/misuse/%,$(wildcard tests/misuse/*.c))
FUZZ_LIB   := build/fuzz-lib/fuzz_osmem
.PHONY: memcheck memcheck-build asan asan-build fuzz-lib fuzz-lib-build

memcheck-build: all $(MC_DIR)/libosmem.so $(MISUSE_PROGS)

$(MC_DIR)/libosmem.so: $(LIB_SRCS) $(LIB_HDRS) src/libosmem.map
	@mkdir -p $(@D)
	$(CC) $(WARN) $(CFLAGS) -DOSMEM_VALGRIND $(LIB_LINK) -o $@ $(LIB_SRCS)

$(MC_DIR)/%: tests/misuse/%.c $(LIB_HDRS) src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(WARN) -O0 -g -Iutils -Itests -o $@ $< $(PROG_LINK)

memcheck: deps memcheck-build
	@$(PYTHON) checker/memcheck.py $(if $(TEST),--test=$(TEST))

asan-build: $(ASAN_DIR)/libosmem.so $(ASAN_PROGS)

$(ASAN_DIR)/libosmem.so: $(LIB_SRCS) $(LIB_HDRS) src/libosmem.map
	@mkdir -p $(@D)
	$(CC) $(WARN) $(ASAN_FLAGS) $(LIB_LINK) -o $@ $(LIB_SRCS)

$(ASAN_DIR)/printf.o: utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(WARN) $(ASAN_FLAGS) -c -o $@ $<

$(ASAN_DIR)/tests/%: tests/%.c $(ASAN_DIR)/printf.o $(wildcard tests/*.h) $(LIB_HDRS) \
		$(ASAN_DIR)/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(WARN) $(ASAN_FLAGS) --param asan-instrument-reads=0 -Iutils -Itests -o $@ $< \
		$(ASAN_DIR)/printf.o -L$(ASAN_DIR) -losmem

$(ASAN_DIR)/misuse/%: tests/misuse/%.c $(LIB_HDRS) $(ASAN_DIR)/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(WARN) $(ASAN_FLAGS) --param asan-instrument-reads=0 -Iutils -Itests -o $@ $< \
		-L$(ASAN_DIR) -losmem

asan: deps asan-build
	@$(PYTHON) checker/asan.py $(if $(TEST),--test=$(TEST))

fuzz-lib-build: $(FUZZ_LIB)

$(FUZZ_LIB): tests/fuzz/fuzz_osmem.c tests/fuzz/ignorelist.txt $(LIB_SRCS) $(LIB_HDRS)
	@command -v $(CLANG) >/dev/null || { echo "make fuzz-lib needs clang:" \
		"apt-get install -y clang libclang-rt-14-dev" >&2; exit 1; }
	@mkdir -p $(@D)
	$(CLANG) $(WARN) -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -fsanitize-ignorelist=tests/fuzz/ignorelist.txt \
		-Isrc -Iutils -o $@ tests/fuzz/fuzz_osmem.c $(LIB_SRCS)

fuzz-lib: fuzz-lib-build
	@$(PYTHON) checker/fuzz_lib.py --seconds=$(SECONDS)
# ---- end of leaks, misuse, sanitizers --------------------------------------------------------

# ---- Included makefiles: one line per part of the kit that keeps its own targets -------------
-include course/course.mk
-include bench/bench.mk
-include dropin/dropin.mk
