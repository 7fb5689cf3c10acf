/* A 2-layer MLP (784-64-10, tanh hidden layer, softmax cross-entropy) trained by full-batch SGD
 * for 200 steps on a synthetic separable data set, through tj_grad and tj_function updates, in the
 * JIT and in the reference executor. The same training is computed here in plain float64 C with
 * hand-derived gradients; every step's loss and the final weights must agree to ~1e-9 relative.
 *
 * Data: 10 class centers with i.i.d. N(0, 0.5^2) coordinates in 784-d, 20 samples per class, each
 * center + N(0, 0.5^2) noise. Centers are ~0.5 * sqrt(2 * 784) = 19.8 apart and a sample is ~14
 * from its own center, but in 784 dimensions the noise is nearly orthogonal to every difference
 * of centers: the projection of a sample on (c_j - c_k) separates the classes by a margin of about
 * |c_j - c_k|^2 / 2 = 196 against noise of standard deviation 0.5 * 19.8 = 9.9, so the data set is
 * linearly separable with a wide margin and the network can drive the loss close to 0.
 *
 * The loss threshold: the loss starts near ln 10 = 2.30 (random small weights); we require it to
 * fall below 0.05 after 200 steps, i.e. the geometric mean of the probability given to the true
 * class above e^-0.05 = 0.95, and every training sample classified correctly. With the step size
 * 0.5 the float64 reference reaches about 0.0017: the threshold leaves a wide margin for the
 * learning and none for the agreement, which is checked separately (observed agreement ~1e-15).
 *
 * The reference costs ~4e9 multiply-adds; it is compiled at -O3 so the suite takes seconds. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

enum { N = 200, D = 784, H = 64, K = 10, STEPS = 200 };
static const double LR = 0.5;

/* ---- deterministic data (splitmix64 + Box-Muller) -------------------------------------------- */

static uint64_t rng_next(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static double gauss(uint64_t *s)
{
    double u1 = ((double)(rng_next(s) >> 11) + 1.0) / 9007199254740993.0; /* (0, 1] */
    double u2 = (double)(rng_next(s) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

typedef struct {
    double X[N * D], Y[N * K];
    int label[N];
    double W1[D * H], b1[H], W2[H * K], b2[K];
} problem;

static void make_problem(problem *p)
{
    uint64_t s = 20240601;
    static double centers[K * D];
    for (int i = 0; i < K * D; i++)
        centers[i] = 0.5 * gauss(&s);
    memset(p->Y, 0, sizeof p->Y);
    for (int i = 0; i < N; i++) {
        int c = i % K;
        p->label[i] = c;
        p->Y[i * K + c] = 1.0;
        for (int d = 0; d < D; d++)
            p->X[i * D + d] = centers[c * D + d] + 0.5 * gauss(&s);
    }
    for (int i = 0; i < D * H; i++)
        p->W1[i] = gauss(&s) / sqrt((double)D);
    for (int i = 0; i < H * K; i++)
        p->W2[i] = gauss(&s) / sqrt((double)H);
    memset(p->b1, 0, sizeof p->b1);
    memset(p->b2, 0, sizeof p->b2);
}

/* ---- the float64 reference: forward, hand-derived backward, SGD ------------------------------ */

typedef struct {
    double A[N * H], Hh[N * H], Z[N * K], dZ[N * K], dA[N * H];
    double gW1[D * H], gb1[H], gW2[H * K], gb2[K];
} scratch;

#if defined(__GNUC__) && !defined(__clang__)
#define HOT __attribute__((optimize("O3")))
#else
#define HOT
#endif

/* One SGD step on p's weights; returns the loss before the step. */
HOT static double reference_step(problem *p, scratch *w)
{
    /* A = X W1 + b1, Hh = tanh(A) */
    for (int i = 0; i < N; i++) {
        double *a = w->A + i * H;
        for (int j = 0; j < H; j++)
            a[j] = p->b1[j];
        for (int d = 0; d < D; d++) {
            double x = p->X[i * D + d];
            const double *wr = p->W1 + d * H;
            for (int j = 0; j < H; j++)
                a[j] += x * wr[j];
        }
        for (int j = 0; j < H; j++)
            w->Hh[i * H + j] = tanh(a[j]);
    }
    /* Z = Hh W2 + b2; softmax cross-entropy; dZ = (softmax(Z) - Y) / N */
    double loss = 0;
    for (int i = 0; i < N; i++) {
        double *z = w->Z + i * K, m = -INFINITY, sum = 0;
        for (int k = 0; k < K; k++) {
            z[k] = p->b2[k];
            for (int j = 0; j < H; j++)
                z[k] += w->Hh[i * H + j] * p->W2[j * K + k];
            m = fmax(m, z[k]);
        }
        for (int k = 0; k < K; k++)
            sum += exp(z[k] - m);
        double lse = m + log(sum);
        loss -= z[p->label[i]] - lse;
        for (int k = 0; k < K; k++)
            w->dZ[i * K + k] = (exp(z[k] - lse) - p->Y[i * K + k]) / N;
    }
    loss /= N;
    /* gW2 = Hh^T dZ, gb2 = sum_i dZ, dA = (dZ W2^T) * (1 - Hh^2) */
    memset(w->gW2, 0, sizeof w->gW2);
    memset(w->gb2, 0, sizeof w->gb2);
    for (int i = 0; i < N; i++) {
        for (int j = 0; j < H; j++)
            for (int k = 0; k < K; k++)
                w->gW2[j * K + k] += w->Hh[i * H + j] * w->dZ[i * K + k];
        for (int k = 0; k < K; k++)
            w->gb2[k] += w->dZ[i * K + k];
        for (int j = 0; j < H; j++) {
            double dh = 0, h = w->Hh[i * H + j];
            for (int k = 0; k < K; k++)
                dh += w->dZ[i * K + k] * p->W2[j * K + k];
            w->dA[i * H + j] = dh * (1 - h * h);
        }
    }
    /* gW1 = X^T dA, gb1 = sum_i dA */
    memset(w->gW1, 0, sizeof w->gW1);
    memset(w->gb1, 0, sizeof w->gb1);
    for (int i = 0; i < N; i++) {
        const double *da = w->dA + i * H;
        for (int d = 0; d < D; d++) {
            double x = p->X[i * D + d];
            double *g = w->gW1 + d * H;
            for (int j = 0; j < H; j++)
                g[j] += x * da[j];
        }
        for (int j = 0; j < H; j++)
            w->gb1[j] += da[j];
    }
    for (int i = 0; i < D * H; i++)
        p->W1[i] -= LR * w->gW1[i];
    for (int i = 0; i < H; i++)
        p->b1[i] -= LR * w->gb1[i];
    for (int i = 0; i < H * K; i++)
        p->W2[i] -= LR * w->gW2[i];
    for (int i = 0; i < K; i++)
        p->b2[i] -= LR * w->gb2[i];
    return loss;
}

/* ---- the same network in tensorjit ----------------------------------------------------------- */

static tj_array *arr2(int64_t r, int64_t c, const double *v)
{
    return tj_array_from_data(TJ_FLOAT64, 2, (int64_t[]){r, c}, v);
}

/* max |a - b| <= tol * max |b| over the tensor */
static void expect_same(const char *what, tj_var *shared, const double *want, int64_t n,
                        double tol)
{
    tj_array *a = tj_shared_get(shared, false);
    cr_assert(a);
    cr_assert_eq(tj_array_size(a), n, "%s: %lld elements", what, (long long)tj_array_size(a));
    const double *got = tj_array_data(a);
    double err = 0, scale = 0;
    int64_t worst = 0;
    for (int64_t i = 0; i < n; i++) {
        if (fabs(got[i] - want[i]) > err) {
            err = fabs(got[i] - want[i]);
            worst = i;
        }
        scale = fmax(scale, fabs(want[i]));
    }
    cr_expect(err <= tol * scale, "%s: max error %.3g (element %lld: %.17g vs %.17g), scale %.3g",
              what, err, (long long)worst, got[worst], want[worst], scale);
    tj_array_unref(a);
}

static void train_and_compare(tj_mode mode)
{
    static problem start, ref;
    static scratch w;
    make_problem(&start);
    ref = start;
    double ref_loss[STEPS];
    for (int t = 0; t < STEPS; t++)
        ref_loss[t] = reference_step(&ref, &w);

    tj_ctx *ctx = tj_ctx_new();
    tj_var *X = tj_matrix(ctx, TJ_FLOAT64, "X"), *Y = tj_matrix(ctx, TJ_FLOAT64, "Y");
    tj_array *init[4] = {arr2(D, H, start.W1), tj_array_from_data(TJ_FLOAT64, 1, (int64_t[]){H},
                                                                  start.b1),
                         arr2(H, K, start.W2), tj_array_from_data(TJ_FLOAT64, 1, (int64_t[]){K},
                                                                  start.b2)};
    static const char *names[4] = {"W1", "b1", "W2", "b2"};
    tj_var *params[4];
    for (int i = 0; i < 4; i++) {
        params[i] = tj_shared(ctx, init[i], names[i], false);
        tj_array_unref(init[i]);
    }
    tj_var *hidden = tj_tanh(tj_add(tj_dot(X, params[0]), params[1]));
    tj_var *logits = tj_add(tj_dot(hidden, params[2]), params[3]);
    tj_var *nll = tj_neg(tj_sum(tj_mul(Y, tj_log_softmax(logits, 1)), (int[]){1}, 1, false));
    tj_var *loss = tj_mean(nll, NULL, 0, false);
    tj_var *correct = tj_eq(tj_argmax(logits, 1, false), tj_argmax(Y, 1, false));
    tj_var *accuracy = tj_mean(correct, NULL, 0, false);
    tj_var *grads[4];
    cr_assert_eq(tj_grad(loss, params, 4, grads), TJ_OK, "%s", tj_errmsg(ctx));
    tj_update upd[4];
    for (int i = 0; i < 4; i++)
        upd[i] = (tj_update){params[i], tj_sub(params[i], tj_mulc(grads[i], LR))};
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.updates = upd;
    o.nupdates = 4;
    o.name = "train";
    tj_fn *train = tj_function(ctx, (tj_var *[]){X, Y}, 2, (tj_var *[]){loss, accuracy}, 2, &o);
    cr_assert(train, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_fn_jitted(train), mode == TJ_MODE_FAST_RUN && !tjt_jit_off());

    tj_array *xv = arr2(N, D, start.X), *yv = arr2(N, K, start.Y);
    double first = 0, last = 0, last_acc = 0;
    for (int t = 0; t < STEPS; t++) {
        tj_array *out[2];
        cr_assert_eq(tj_call(train, (tj_array *[]){xv, yv}, out), TJ_OK, "step %d: %s", t,
                     tj_errmsg(ctx));
        double l = tj_array_get(out[0], NULL);
        cr_expect(fabs(l - ref_loss[t]) <= 1e-9 * ref_loss[t],
                  "step %d: loss %.17g, reference %.17g", t, l, ref_loss[t]);
        if (t == 0)
            first = l;
        last = l;
        last_acc = tj_array_get(out[1], NULL);
        tj_array_unref(out[0]);
        tj_array_unref(out[1]);
    }
    cr_expect(first > 2.0, "the initial loss %.4g should be near ln 10", first);
    cr_expect(last < 0.05, "after %d steps the loss is %.4g, not below 0.05", STEPS, last);
    cr_expect_eq(last_acc, 1.0, "training accuracy %.3f", last_acc);
    expect_same("W1", params[0], ref.W1, D * H, 1e-9);
    expect_same("b1", params[1], ref.b1, H, 1e-9);
    expect_same("W2", params[2], ref.W2, H * K, 1e-9);
    expect_same("b2", params[3], ref.b2, K, 1e-9);
    tj_array_unref(xv);
    tj_array_unref(yv);
    tj_ctx_free(ctx);
}

Test(mlp, trains_like_the_float64_reference_in_the_jit, .timeout = 120)
{
    train_and_compare(TJ_MODE_FAST_RUN);
}

Test(mlp, trains_like_the_float64_reference_in_the_reference_executor, .timeout = 120)
{
    train_and_compare(TJ_MODE_FAST_COMPILE);
}
