/* The hand-written C limit of each workload: plain loops compiled with -O3 -march=native
 * -ffast-math (gcc vectorizes expf/log1pf/tanhf through glibc's libmvec), OpenBLAS for the
 * products, OpenMP for the "_mt" variants. Every function writes into caller-provided buffers:
 * the limit allocates nothing per operation. */
#ifndef BASELINES_H
#define BASELINES_H

#include <stddef.h>
#include <stdint.h>

/* Sets OpenBLAS's thread count (the variants call it before their BLAS work). */
void cb_blas_threads(int n);
/* The kernel set OpenBLAS picked for this CPU ("Haswell", "SkylakeX"; "Prescott" is the generic
 * fallback of a DYNAMIC_ARCH build that does not know the CPU). */
const char *cb_blas_core(void);

/* W1: y = 1/(1+exp(-(a*x+b))) */
void cb_w1_sigmoid(const float *x, float *y, size_t n, float a, float b);
void cb_w1_sigmoid_mt(const float *x, float *y, size_t n, float a, float b, int threads);

/* W2: one step of the seed's logistic regression on X (n x f), y; w and b updated in place. */
typedef struct {
    const float *X, *y;
    int64_t n, f;
    float *w, *b;  /* parameters, updated */
    uint8_t *pred; /* n: p_1 > 0.5 */
    float *xent;   /* n */
    float *cost;   /* 1 */
    float *z;      /* n scratch */
    float *gw;     /* f * threads scratch */
    float lr, l2;
} cb_logreg;
/* gemv, one fused elementwise loop, gemv transposed with beta folding the weight decay. */
void cb_w2_two_pass(cb_logreg *s);
/* the same with the rows split across threads (OpenBLAS single-threaded inside each). */
void cb_w2_two_pass_mt(cb_logreg *s, int threads);
/* one pass over X: a block of rows is used for X w and for X^T dz while it is in cache. */
void cb_w2_blocked(cb_logreg *s);
void cb_w2_blocked_mt(cb_logreg *s, int threads);

/* W3: reductions; sums of blocks in float, blocks added in double. */
float cb_w3_sum(const float *x, size_t n);
float cb_w3_sum_mt(const float *x, size_t n, int threads);
void cb_w3_rows(const float *X, size_t rows, size_t cols, float *out);
void cb_w3_rows_mt(const float *X, size_t rows, size_t cols, float *out, int threads);
void cb_w3_cols(const float *X, size_t rows, size_t cols, float *out);
void cb_w3_cols_mt(const float *X, size_t rows, size_t cols, float *out, int threads);

/* W4: C = A B (m x k by k x n) through cblas_sgemm with the given OpenBLAS thread count. */
void cb_w4_sgemm(const float *A, const float *B, float *C, int m, int k, int n, int threads);

/* W5: the function [x + y, x * y] the call-overhead workload calls through a pointer. */
typedef void (*cb_w5_fn)(const float *x, const float *y, float *sum, float *prod);
cb_w5_fn cb_w5_function(void);

/* W6: one SGD step of the MLP in-hid-cls (tanh, softmax cross-entropy with the max subtracted). */
typedef struct {
    const float *X, *Y; /* batch x in, batch x cls (one-hot) */
    int batch, in, hid, cls;
    float *W1, *b1, *W2, *b2; /* updated */
    float *loss;
    float *H, *L, *dH; /* scratch: batch x hid, batch x cls, batch x hid */
    float lr;
} cb_mlp;
void cb_w6_step(cb_mlp *s, int threads);

#endif
