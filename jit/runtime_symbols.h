/* What generated code may call: pow for non-literal exponents, sin/cos/tan for the lanes whose
 * arguments are too large for the inline reduction (llvm/vmath_trig.c), fmod for frem, and what
 * LLVM's own rewrites may introduce (memset/memcpy from loop idioms, exp2/ldexp from pow(2, x)). Defined explicitly, for
 * the LLJIT (llvm/engine.c) and for our loader (module.c) alike, so resolution never depends on
 * which libraries the process happened to link. */
#ifndef TJ_JIT_RUNTIME_SYMBOLS_H
#define TJ_JIT_RUNTIME_SYMBOLS_H

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    void *addr;
} tjJ_runtime_symbols[] = {
    {"pow", (void *)pow},       {"powf", (void *)powf},     {"exp2", (void *)exp2},
    {"exp2f", (void *)exp2f},   {"ldexp", (void *)ldexp},   {"ldexpf", (void *)ldexpf},
    {"memset", (void *)memset}, {"memcpy", (void *)memcpy}, {"memmove", (void *)memmove},
    {"sin", (void *)sin},       {"cos", (void *)cos},       {"tan", (void *)tan},
    {"fmod", (void *)fmod},     {"fmodf", (void *)fmodf},
};

#endif /* TJ_JIT_RUNTIME_SYMBOLS_H */
