/* libFuzzer target for the REPL's lexer, parser and evaluator: each input is a script run with
 * -k in a fresh session, output discarded. Functions compile in FAST_COMPILE (no LLVM: the JIT
 * has its own tests and would make each execution slow), arrays the REPL builds are capped, and
 * so is the session context's memory (fuzz/fuzz_budget.c: a gradient of a gradient of ... grows
 * its graph without bound), so the fuzzer explores the language rather than the allocator.
 *
 *   make fuzz-repl                      build with clang and run for FUZZ_SECONDS
 *   build/tools/tj-repl-replay FILE...  replay inputs with the normal compiler (what ctest does) */
#include "fuzz/fuzz.h"
#include "repl.h"

#include <stdint.h>
#include <stdio.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *sink;
    if (!sink && !(sink = fopen("/dev/null", "w")))
        return 0;
    repl_config cfg;
    repl_config_default(&cfg);
    cfg.out = sink;
    cfg.err = sink;
    cfg.source_name = "<fuzz>";
    cfg.no_jit = true;
    cfg.max_elements = 1 << 16;
    cfg.time_budget_s = 0.001;
    cfg.allocator = fz_budget();
    repl_session *s = repl_session_new(&cfg);
    if (!s)
        return 0;
    repl_run_text(s, (const char *)data, size, true);
    repl_session_free(s);
    return 0;
}
