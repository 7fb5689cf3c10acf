# The two commands of the README: `make demo` and `make test`. Both install what is missing.
BUILD ?= build
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all deps configure build demo test test-jit-off test-asan check-tsan check-valgrind clean

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

# The multi-threaded suites under ThreadSanitizer (gcc or clang -fsanitize=thread) in $(BUILD)-tsan.
# They run in one process each (tests/inprocess/: Criterion's forking runner cannot start under
# TSan); a report ends the process (halt_on_error) and fails the suite. tools/tsan.supp says why
# races inside libLLVM are suppressed.
TSAN_SUITES ?= test_threads test_jit test_function test_seed test_allocator test_replay test_pool
check-tsan: deps
	@cmake -S . -B $(BUILD)-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTJ_TSAN=ON \
	  -DTJ_INPROCESS_SUITES="$(TSAN_SUITES)" >/dev/null
	@cmake --build $(BUILD)-tsan -j $(JOBS) --target $(TSAN_SUITES)
	TSAN_OPTIONS=halt_on_error=1:exitcode=66:second_deadlock_stack=1:suppressions=$(CURDIR)/tools/tsan.supp \
	  ctest --test-dir $(BUILD)-tsan \
	  --output-on-failure -j $(JOBS) -R '^($(subst $(eval) ,|,$(strip $(TSAN_SUITES))))$$'

# Selected suites in one process each (tests/inprocess/) and the leak cycles (tools/leak_cycles.c)
# under valgrind's memcheck in $(BUILD)-valgrind: any error or leak fails. --smc-check: the JIT
# writes code into memory it may reuse.
VALGRIND_SUITES ?= test_seed test_function test_threads
VALGRIND_CYCLES ?= 20
VALGRIND = valgrind --leak-check=full --error-exitcode=1 --smc-check=all-non-file --quiet \
  --suppressions=$(CURDIR)/tools/valgrind.supp
check-valgrind: deps
	@command -v valgrind >/dev/null || { echo "check-valgrind needs valgrind: apt-get install valgrind"; exit 1; }
	@cmake -S . -B $(BUILD)-valgrind -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTJ_INPROCESS_TESTS=ON \
	  -DTJ_INPROCESS_SUITES="$(VALGRIND_SUITES)" >/dev/null
	@cmake --build $(BUILD)-valgrind -j $(JOBS) --target $(VALGRIND_SUITES) leak-cycles
	@for s in $(VALGRIND_SUITES); do echo "== valgrind $$s"; \
	  TJ_CACHE_DIR=off $(VALGRIND) $(BUILD)-valgrind/tests/$$s || exit 1; done
	@echo "== valgrind leak-cycles $(VALGRIND_CYCLES)"
	TJ_CACHE_DIR=off $(VALGRIND) $(BUILD)-valgrind/tools/leak-cycles $(VALGRIND_CYCLES)

clean:
	rm -rf $(BUILD) $(BUILD)-asan $(BUILD)-tsan $(BUILD)-valgrind

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
	@cmake --build $(BENCH_BUILD) -j $(JOBS) --target tjrun tjrun-c tjbench
	$(BENCH_BUILD)/benchmarks/tjbench $(if $(filter 1 yes true,$(QUICK)),--quick) \
		$(foreach p,$(BENCH_PYTHONS),--python $(abspath $(p))) --git "$(BENCH_REV)" $(BENCH_ARGS)

bench-peers:
	@bash benchmarks/peers/setup-peers.sh

# ---- Fuzzing (tools/fuzz/, tools/fuzz_repl.c; docs/RELIABILITY.md) ----
# `make fuzz` builds the libFuzzer targets with clang (-fsanitize=fuzzer,address,undefined, the
# whole library instrumented) in $(FUZZ_BUILD) and runs each of FUZZ_TARGETS for FUZZ_SECONDS,
# one after the other at nice 19, from its checked-in corpus. New inputs collect in
# $(FUZZ_BUILD)/corpus-<target>, crashes in $(FUZZ_BUILD)/crash-<target>-*: copy a crash into
# the target's checked-in corpus (below) once fixed, so ctest replays it. LLVM compiles in the
# fuzzed process (TJ_COMPILE_SERVER=off): the lowering's coverage then guides the fuzzer.
# OpenBLAS runs one thread: its idle workers spin in sched_yield, taking the core a second
# fuzzer runs on.
FUZZ_SECONDS ?= 60
FUZZ_BUILD ?= $(BUILD)-fuzz
FUZZ_TARGETS ?= repl api diff elf server grad
FUZZ_ARGS ?=
fuzz_corpus_repl = tests/repl/corpus
fuzz_corpus_api = tests/fuzz/api
fuzz_corpus_diff = tests/fuzz/diff
fuzz_corpus_elf = tests/fuzz/elf
fuzz_corpus_server = tests/fuzz/server
fuzz_corpus_grad = tests/fuzz/grad
fuzz_flags_repl = -max_len=4096 -timeout=20 -dict=tools/fuzz_repl.dict
fuzz_flags_api = -max_len=512 -timeout=60
fuzz_flags_diff = -max_len=256 -timeout=60
fuzz_flags_elf = -max_len=65536 -timeout=10 -dict=tools/fuzz/fuzz_elf.dict
fuzz_flags_server = -max_len=65536 -timeout=60
fuzz_flags_grad = -max_len=256 -timeout=60
.PHONY: fuzz fuzz-build fuzz-repl
fuzz-build: deps
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang"; exit 1; }
	@cmake -S . -B $(FUZZ_BUILD) -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	  -DTJ_FUZZ=ON -DTJ_BUILD_TESTS=OFF >/dev/null
	@nice cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz-,$(FUZZ_TARGETS))
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	  case $$t in repl) c="$(fuzz_corpus_repl)"; f="$(fuzz_flags_repl)";; \
	    api) c="$(fuzz_corpus_api)"; f="$(fuzz_flags_api)";; \
	    diff) c="$(fuzz_corpus_diff)"; f="$(fuzz_flags_diff)";; \
	    elf) c="$(fuzz_corpus_elf)"; f="$(fuzz_flags_elf)";; \
	    server) c="$(fuzz_corpus_server)"; f="$(fuzz_flags_server)";; \
	    grad) c="$(fuzz_corpus_grad)"; f="$(fuzz_flags_grad)";; esac; \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$t; \
	  echo "== fuzz-$$t for $(FUZZ_SECONDS) s"; \
	  TJ_CACHE_DIR=off TJ_COMPILE_SERVER=off OPENBLAS_NUM_THREADS=1 \
	  ASAN_OPTIONS=allocator_may_return_null=1:max_allocation_size_mb=512 \
	    nice -n 19 $(FUZZ_BUILD)/tools/fuzz/fuzz-$$t -max_total_time=$(FUZZ_SECONDS) $$f \
	    -rss_limit_mb=3072 -print_final_stats=1 -artifact_prefix=$(FUZZ_BUILD)/crash-$$t- \
	    $(FUZZ_ARGS) $(FUZZ_BUILD)/corpus-$$t $$c || exit 1; \
	done
fuzz-repl:
	@$(MAKE) --no-print-directory fuzz FUZZ_TARGETS=repl
