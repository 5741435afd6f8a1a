# osmem: build the allocator and its test programs, grade them, test the kit.
#
#   make check   build, then grade src/libosmem.so (or OSMEM=...) and print the score table
#   make test    everything the kit tests about itself (includes the grading)
#   make refs    regenerate tests/ref/*.ref from the reference library, checked by the model
#
# Variables: OSMEM=<libosmem.so or a source dir with a Makefile>, TRACER=strace|ltrace,
# TEST=<program>, JOBS=<pytest-xdist workers, default auto>, RUN_TIMEOUT=<seconds per program>.

CC      = gcc
PYTHON  ?= /usr/bin/python3
CFLAGS  ?= -O2 -g
WARN    := -Wall -Wextra -Werror
TRACER  ?= strace
OSMEM   ?= src/libosmem.so
JOBS    ?= auto
RUN_TIMEOUT ?= 10

LIB_SRCS  := $(wildcard src/*.c) utils/printf.c
LIB_HDRS  := $(wildcard src/*.h) $(wildcard utils/*.h)
PROGRAMS  := $(patsubst tests/%.c,build/tests/%,$(wildcard tests/*.c))
MARKERS   := build/libosmem_markers.so

# Test programs: ltrace only sees calls through a lazily bound PLT without IBT stubs.
PROG_FLAGS := $(WARN) -O2 -g -fcf-protection=none -Iutils -Itests
PROG_LINK  := -Lsrc -losmem -Wl,-z,lazy

.PHONY: all check test refs deps clean
all: src/libosmem.so $(PROGRAMS) $(MARKERS)

src/libosmem.so: $(LIB_SRCS) $(LIB_HDRS) src/libosmem.map
	$(CC) $(WARN) $(CFLAGS) -fPIC -shared -Isrc -Iutils -Wl,--version-script=src/libosmem.map \
		-Wl,-soname,libosmem.so -o $@ $(LIB_SRCS)

build/tests/%: tests/%.c utils/printf.c $(wildcard tests/*.h) $(LIB_HDRS) src/libosmem.so
	@mkdir -p $(@D)
	$(CC) $(PROG_FLAGS) -o $@ $< utils/printf.c $(PROG_LINK)

$(MARKERS): checker/markers.c utils/printf.c utils/printf.h
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -fPIC -shared -Iutils -o $@ checker/markers.c utils/printf.c -ldl

deps:
	@checker/deps.sh

PYTEST := $(PYTHON) -m pytest -p no:cacheprovider --rootdir=checker -c checker/pytest.ini
GRADE_ARGS := --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT) \
	$(if $(TEST),--program=$(TEST))

check: deps all
	$(PYTEST) -n $(JOBS) checker/test_grade.py $(GRADE_ARGS)

test: deps all
	$(PYTEST) -n $(JOBS) checker $(GRADE_ARGS)

refs: deps all
	$(PYTHON) checker/refs.py --tracer=$(TRACER)

clean:
	rm -rf build src/libosmem.so

# ---- random differential testing (issue 3): make fuzz, make replay ---------------------------
#   make fuzz [OSMEM=...] [RUNS=N] [SEED=S]  replay N random operation scripts (tests/replay.c)
#                                            against the model; exit 1 on a divergence, printing
#                                            the shrunk script's path (build/fuzz/minimal-*.ops)
#   make replay OPS=<script> [OSMEM=...]     replay one script: the first divergence, with a diff
RUNS ?= 3000
FUZZ := $(PYTHON) checker/fuzz.py --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT)
.PHONY: fuzz replay

fuzz: deps src/libosmem.so build/tests/replay $(MARKERS)
	@$(FUZZ) fuzz --runs=$(RUNS) $(if $(SEED),--seed=$(SEED))

replay: deps src/libosmem.so build/tests/replay $(MARKERS)
	@test -n "$(OPS)" || { echo "usage: make replay OPS=<script> [OSMEM=...]" >&2; exit 2; }
	@$(FUZZ) replay $(OPS)
# ---- end of random differential testing ------------------------------------------------------

# ---- pictures of the heap (issue 3): make show -----------------------------------------------
#   make show TEST=<program> [OSMEM=...]     the heap call by call: a terminal timeline, and a
#   make show OPS=<script> [OSMEM=...]       self-contained page build/show/<name>.html (its path
#                                            is printed); a failing run shows expected and actual
#                                            side by side from the first divergence
# `make test` also installs chromium (checker/deps.sh --show) for the page's rendering test.
.PHONY: show deps-show
show: deps all
	@test -n "$(TEST)$(OPS)" || { echo "usage: make show TEST=<program> | OPS=<script> [OSMEM=...]" >&2; exit 2; }
	@$(PYTHON) checker/show.py --osmem=$(OSMEM) --tracer=$(TRACER) --run-timeout=$(RUN_TIMEOUT) \
		$(if $(OPS),--ops=$(OPS),--program=$(TEST))

deps-show:
	@checker/deps.sh --show
test: deps-show
# ---- end of pictures of the heap -------------------------------------------------------------
