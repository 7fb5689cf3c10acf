/* Which OpenBLAS kernels tensorjit and the C limit run. A DYNAMIC_ARCH OpenBLAS that does not know
 * the CPU (Debian 12's 0.3.21 on recent Intel server parts) falls back to its generic "Prescott"
 * kernels, several times slower: a product then measures that fallback, not tensorjit. In "auto"
 * mode such a fallback is replaced by the newest kernel set the CPU can run (SkylakeX with
 * AVX-512, Haswell with AVX2) through OPENBLAS_CORETYPE for every process that uses the system
 * OpenBLAS: tjrun and Debian's torch. The report says what was detected and what was used. */
#include "bench.h"

#include <stdio.h>
#include <string.h>

static int blas_info(const char *tjrun, const char *env_set, jl_obj *o)
{
    const char *env[] = {env_set, NULL};
    char *argv[] = {(char *)tjrun, "--blas-info", NULL};
    bp_proc *p = bp_start(argv, env_set ? env : NULL, NULL);
    if (!p)
        return -1;
    char line[1024];
    int rc = bp_recv(p, 60, line, sizeof line);
    bp_finish(p, 10, NULL);
    return rc == 0 && jl_parse(line, o) == 0 && jl_bool(o, "ok", false) ? 0 : -1;
}

void bx_choose_blas(bx_run *run, const char *tjrun, const char *mode)
{
    jl_obj o;
    run->blas_env[0] = '\0';
    if (blas_info(tjrun, NULL, &o) != 0) {
        snprintf(run->blas_note, sizeof run->blas_note, "OpenBLAS: tjrun --blas-info failed");
        return;
    }
    char detected[64], want[64] = "";
    snprintf(detected, sizeof detected, "%s", jl_str(&o, "core"));
    if (strcmp(mode, "auto") == 0) {
        if (strcmp(detected, "Prescott") == 0)
            snprintf(want, sizeof want, "%s", jl_bool(&o, "avx512f", false) ? "SkylakeX"
                                              : jl_bool(&o, "avx2", false)  ? "Haswell"
                                                                             : "");
    } else if (strcmp(mode, "default") != 0) {
        snprintf(want, sizeof want, "%s", mode);
    }
    if (!want[0]) {
        snprintf(run->blas_note, sizeof run->blas_note, "OpenBLAS kernels: %s (as detected)",
                 detected);
        return;
    }
    snprintf(run->blas_env, sizeof run->blas_env, "OPENBLAS_CORETYPE=%s", want);
    const char *used = blas_info(tjrun, run->blas_env, &o) == 0 ? jl_str(&o, "core") : "?";
    snprintf(run->blas_note, sizeof run->blas_note,
             "OpenBLAS kernels: detected %s%s; tensorjit, the C limit and torch run with %s "
             "(in use: %s)",
             detected, strcmp(detected, "Prescott") == 0 ? " (the generic fallback)" : "",
             run->blas_env, used);
}
