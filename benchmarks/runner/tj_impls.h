/* The tensorjit implementations of the workloads (one file each). */
#ifndef TJ_IMPLS_H
#define TJ_IMPLS_H

#include "bench_impl.h"
#include "tj_util.h"

int tjw1_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw2_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw3_sum_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw3_rows_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw3_cols_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw4_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw5_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw6_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw7_cold_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);
int tjw7_again_setup(const bi_spec *spec, bi_case *c, char *err, size_t errlen);

/* The seed's logistic-regression train function in float32 (W2, W7):
 *   p_1 = 1/(1+exp(-dot(x,w)-b)); prediction = p_1 > 0.5;
 *   xent = -y*log(p_1) - (1-y)*log(1-p_1); cost = mean(xent) + 0.01*sum(w**2)
 *   train = function([x, y], [prediction, xent, cost], updates={w: w-0.1*gw, b: b-0.1*gb})
 * The variables in *v that are NULL are created (w from w0, b from 0); those given are reused, so
 * building twice with the same v builds the same graph. Returns NULL on failure (see ctx). */
typedef struct {
    tj_var *x, *y, *w, *b;
} tjw2_vars;
tj_fn *tjw2_build(tj_ctx *ctx, tjw2_vars *v, tj_array *w0);
/* w0 for F features: normal(WD_W2_W) / sqrt(F). */
tj_array *tjw2_w0(int64_t feats);

#endif
