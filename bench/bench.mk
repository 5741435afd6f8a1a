# ---- benchmarks: make bench ------------------------------------------------------------------
#   make bench [OSMEM=...] [TRACES=<dir>] [QUICK=1] [ROUNDS=n] [BENCH_TIMEOUT=seconds per run]
#       replays the kit's workloads (and the *.rep malloc-lab traces of TRACES=) and the
#       steady state against glibc (as it is, without its thread cache, and keeping its heap),
#       jemalloc, mimalloc, tcmalloc, src/libosmem.so and OSMEM=; prints the tables and writes
#       build/bench/report.md, ratios.svg, steady.svg (README, "Benchmarks")
BENCH_DRIVER := build/bench/bench_replay
.PHONY: bench bench-deps
all: $(BENCH_DRIVER)

$(BENCH_DRIVER): bench/bench_replay.c
	@mkdir -p $(@D)
	$(CC) $(WARN) -O2 -g -o $@ $< -ldl

bench-deps: deps
	@checker/deps.sh --bench

bench: bench-deps src/libosmem.so $(BENCH_DRIVER)
	@$(PYTHON) bench/bench.py --driver=$(BENCH_DRIVER) \
		$(if $(filter-out src/libosmem.so,$(OSMEM)),--osmem=$(OSMEM)) \
		$(if $(TRACES),--traces=$(TRACES)) $(if $(QUICK),--quick) $(if $(ROUNDS),--rounds=$(ROUNDS)) \
		$(if $(BENCH_TIMEOUT),--timeout=$(BENCH_TIMEOUT))
# ---- end of benchmarks -----------------------------------------------------------------------
