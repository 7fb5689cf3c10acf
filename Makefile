# The two commands of the README: `make demo` and `make test`. Both install what is missing.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build demo test test-jit-off test-asan clean

all: build

deps:
	@bash tools/install-deps.sh

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

demo: build
	$(BUILD)/examples/logreg

# Every suite, then every suite again with the JIT forced off (each function in the reference
# executor; tests assert the JIT-off facts), then every suite under AddressSanitizer + UBSan
# (with leak checking).
test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	$(MAKE) --no-print-directory test-jit-off
	$(MAKE) --no-print-directory test-asan

# The suite over the normal build with TJ_JIT=off (the installed-copy and API-index checks do not
# depend on it).
test-jit-off: build
	TJ_JIT=off ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS) \
		-E '^(install_consumer|api_index)$$'

# The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DTJ_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j $(JOBS)
	ASAN_OPTIONS=detect_leaks=1 ctest --test-dir $(BUILD)-asan --output-on-failure -j $(JOBS) \
		-E install_consumer # the installed copy is tested by the normal run

clean:
	rm -rf $(BUILD) $(BUILD)-asan

# ---- Benchmarks (benchmarks/, README "Performance") ----
# `make bench` builds tensorjit and the harness in Release in $(BENCH_BUILD) and runs every workload
# against the hand-written C limit and the peers; `make bench QUICK=1` runs the reduced set.
# `make bench-peers` installs the peers (Debian packages + benchmarks/.venv); without them the
# peers are skipped with a note. Results: benchmarks/results/latest.{txt,json,svg}.
BENCH_BUILD ?= build-bench
BENCH_CFLAGS ?=
BENCH_PYTHONS := $(wildcard benchmarks/.venv/bin/python) $(wildcard /usr/bin/python3)
BENCH_ARGS ?=
BENCH_REV = $(shell git rev-parse --short HEAD 2>/dev/null || echo unknown)$(shell \
	GIT_OPTIONAL_LOCKS=0 git diff --quiet HEAD 2>/dev/null || echo +local-changes)

.PHONY: bench bench-peers

bench: deps
	@cmake -S . -B $(BENCH_BUILD) -DCMAKE_BUILD_TYPE=Release -DTJ_BUILD_TESTS=OFF \
		-DTJ_BUILD_BENCH=ON "-DCMAKE_C_FLAGS=$(BENCH_CFLAGS)" >/dev/null
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target tjrun tjbench
	$(BENCH_BUILD)/benchmarks/tjbench $(if $(filter 1 yes true,$(QUICK)),--quick) \
		$(foreach p,$(BENCH_PYTHONS),--python $(abspath $(p))) --git "$(BENCH_REV)" $(BENCH_ARGS)

bench-peers:
	@bash benchmarks/peers/setup-peers.sh

# libFuzzer on the REPL's parser and evaluator (tools/fuzz_repl.c), built with clang against the
# library of $(BUILD); runs FUZZ_SECONDS from tests/repl/corpus. Crashes land in $(BUILD)-fuzz/.
FUZZ_SECONDS ?= 300
LLVM_LIBDIR = $(shell llvm-config-19 --libdir 2>/dev/null || echo /usr/lib/llvm-19/lib)
.PHONY: fuzz-repl
fuzz-repl: build
	@command -v clang >/dev/null || { echo "fuzz-repl needs clang: apt-get install clang"; exit 1; }
	@mkdir -p $(BUILD)-fuzz/corpus
	clang -std=c11 -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Iinclude -Itools/repl \
	  $(filter-out tools/repl/main.c,$(wildcard tools/repl/*.c)) tools/fuzz_repl.c \
	  $(BUILD)/libtensorjit_static.a -L$(LLVM_LIBDIR) -Wl,-rpath,$(LLVM_LIBDIR) -lLLVM \
	  -lopenblas -lm -lpthread -ldl -o $(BUILD)-fuzz/fuzz_repl
	ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=512 \
	  $(BUILD)-fuzz/fuzz_repl -max_total_time=$(FUZZ_SECONDS) -max_len=4096 -timeout=20 \
	  -rss_limit_mb=3072 -dict=tools/fuzz_repl.dict -artifact_prefix=$(BUILD)-fuzz/ \
	  $(BUILD)-fuzz/corpus tests/repl/corpus
