/* The seed's logistic regression, as Theano's tutorial writes it, in tensorjit's C API:
 *
 *   x = T.dmatrix("x"); y = T.dvector("y")
 *   w = theano.shared(rng.randn(feats), name="w"); b = theano.shared(0., name="b")
 *   p_1 = 1 / (1 + T.exp(-T.dot(x, w) - b))
 *   prediction = p_1 > 0.5
 *   xent = -y * T.log(p_1) - (1-y) * T.log(1-p_1)
 *   cost = xent.mean() + 0.01 * (w ** 2).sum()
 *   gw, gb = T.grad(cost, [w, b])
 *   train = theano.function([x, y], [prediction, xent],
 *                           updates=((w, w - 0.1 * gw), (b, b - 0.1 * gb)))
 *   predict = theano.function([x], prediction)
 *
 * Usage: logreg [N feats steps]  (default 10 samples of 3 features, 1000 steps, fixed seed) */
#include <tensorjit.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* A fixed-seed generator (splitmix64 + Box-Muller) so every run prints the same numbers. */
static uint64_t rng_state = 0x5eed2026u;
static double uniform01(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}
static double randn(void)
{
    return sqrt(-2.0 * log(uniform01())) * cos(6.283185307179586 * uniform01());
}

#define CHECK(cond)                                                                           \
    do {                                                                                      \
        if (!(cond)) {                                                                        \
            fprintf(stderr, "logreg: %s failed: %s\n", #cond, tj_errmsg(ctx));                \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

int main(int argc, char **argv)
{
    int64_t N = argc > 1 ? atoll(argv[1]) : 10, feats = argc > 2 ? atoll(argv[2]) : 3;
    int steps = argc > 3 ? atoi(argv[3]) : 1000;
    if (N < 1 || feats < 1 || steps < 0) {
        fprintf(stderr, "usage: logreg [N feats steps]\n");
        return 2;
    }
    double *xd = malloc(sizeof *xd * (size_t)(N * feats)), *yd = malloc(sizeof *yd * (size_t)N);
    double *wd = malloc(sizeof *wd * (size_t)feats);
    for (int64_t i = 0; i < N * feats; i++)
        xd[i] = randn();
    for (int64_t i = 0; i < N; i++)
        yd[i] = uniform01() < 0.5 ? 0.0 : 1.0;
    for (int64_t i = 0; i < feats; i++)
        wd[i] = randn();

    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x");
    tj_var *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_array *w0 = tj_array_from_data(TJ_FLOAT64, 1, &feats, wd);
    tj_array *b0 = tj_array_scalar(TJ_FLOAT64, 0.0);
    tj_var *w = tj_shared(ctx, w0, "w", false);
    tj_var *b = tj_shared(ctx, b0, "b", false);
    tj_array_unref(w0);
    tj_array_unref(b0);

    tj_var *p_1 = tj_rdivc(1, tj_addc(tj_exp(tj_sub(tj_neg(tj_dot(x, w)), b)), 1));
    tj_var *prediction = tj_gt(p_1, tj_lit(ctx, 0.5));
    tj_var *xent = tj_sub(tj_mul(tj_neg(y), tj_log(p_1)),
                          tj_mul(tj_rsubc(1, y), tj_log(tj_rsubc(1, p_1))));
    tj_var *cost = tj_add(tj_mean(xent, NULL, 0, false),
                          tj_mulc(tj_sum(tj_powc(w, 2), NULL, 0, false), 0.01));
    tj_var *grads[2];
    CHECK(tj_grad(cost, (tj_var *[]){w, b}, 2, grads) == TJ_OK);

    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.name = "train";
    o.updates = (tj_update[]){{w, tj_sub(w, tj_mulc(grads[0], 0.1))},
                              {b, tj_sub(b, tj_mulc(grads[1], 0.1))}};
    o.nupdates = 2;
    tj_fn *train = tj_function(ctx, (tj_var *[]){x, y}, 2, (tj_var *[]){prediction, xent, cost},
                               3, &o);
    CHECK(train);
    tj_function_opts po = TJ_FUNCTION_OPTS_INIT;
    po.name = "predict";
    tj_fn *predict = tj_function(ctx, &x, 1, &prediction, 1, &po);
    CHECK(predict);

    int64_t xshape[2] = {N, feats};
    tj_array *X = tj_array_from_data(TJ_FLOAT64, 2, xshape, xd);
    tj_array *Y = tj_array_from_data(TJ_FLOAT64, 1, &N, yd);
    printf("tensorjit logistic regression: N=%lld feats=%lld steps=%d (JIT: %s)\n",
           (long long)N, (long long)feats, steps, tj_fn_jitted(train) ? "yes" : "no");
    for (int i = 0; i < steps; i++) {
        tj_array *out[3];
        CHECK(tj_call(train, (tj_array *[]){X, Y}, out) == TJ_OK);
        if (i % 100 == 0 || i == steps - 1)
            printf("step %4d  cost %.9f\n", i, tj_array_get(out[2], NULL));
        for (int k = 0; k < 3; k++)
            tj_array_unref(out[k]);
    }
    tj_array *pred;
    CHECK(tj_call(predict, &X, &pred) == TJ_OK);
    int64_t correct = 0;
    for (int64_t i = 0; i < N; i++)
        correct += (tj_array_get(pred, &i) != 0) == (yd[i] != 0);
    printf("final accuracy: %lld/%lld (%.1f%%)\n", (long long)correct, (long long)N,
           100.0 * (double)correct / (double)N);
    tj_array *wf = tj_shared_get(w, false), *bf = tj_shared_get(b, false);
    printf("final w = ");
    tj_array_print(wf, stdout);
    printf("\nfinal b = ");
    tj_array_print(bf, stdout);
    printf("\n");

    tj_stats st;
    tj_ctx_stats(ctx, &st);
    printf("LLVM compiles: %llu, loaded from the disk cache: %llu, memory cache hits: %llu, "
           "compile time: %.1f ms\n",
           (unsigned long long)st.llvm_compiles, (unsigned long long)st.disk_cache_hits,
           (unsigned long long)st.cache_hits, st.compile_ms);
    tj_array_unref(pred);
    tj_array_unref(wf);
    tj_array_unref(bf);
    tj_array_unref(X);
    tj_array_unref(Y);
    tj_ctx_free(ctx);
    free(xd);
    free(yd);
    free(wd);
    return 0;
}
