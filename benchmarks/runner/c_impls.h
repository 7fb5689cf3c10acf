/* The C-limit implementations of the workloads (one file each), wrapping baselines/. */
#ifndef C_IMPLS_H
#define C_IMPLS_H

#include "bench_impl.h"

int cw1_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw2_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw3_sum_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw3_rows_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw3_cols_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw4_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw5_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int cw6_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);

/* Zeroed, 64-byte aligned memory (every page touched before any timing); NULL on failure. */
float *ca_floats(size_t n);
/* 1 for a "..._1t" variant, the core count for "..._mt", 0 (unknown variant) otherwise. */
int ca_threads(const char *variant);
/* Writes "unknown variant V for W" into err; returns -1. */
int ca_bad_variant(const bi_spec *spec, char *err, size_t errlen);

#endif
