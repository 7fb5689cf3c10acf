/* Gradient options: known_grads (with and without a cost), zero_grad and disconnected_grad /
 * stop_gradient, Hessian-vector products (grad of grad), tj_hessian and tj_jacobian checked
 * against hand-derived float64 formulas and central finite differences of the gradient, in the
 * JIT and the reference executor. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

#define EXPECT_MSG(ctx, needle)                                                                   \
    cr_expect(strstr(tj_errmsg(ctx), needle), "message '%s' lacks '%s'", tj_errmsg(ctx), needle)

static tj_ctx *ctx;
static void setup(void) { ctx = tj_ctx_new(); }
static void teardown(void) { tj_ctx_free(ctx); }
TestSuite(grad_opts, .init = setup, .fini = teardown);

static tj_array *vec(int64_t n, const double *v) { return tjt_array(TJ_FLOAT64, 1, &n, v); }

/* Compiles outs(inputs) in `mode` and runs it once; results receive new references. */
static void run(tj_mode mode, tj_var *const *in, int nin, tj_array *const *val, tj_var *const *outs,
                int nout, tj_array **res)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *f = tj_function(ctx, in, nin, outs, nout, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call(f, val, res), TJ_OK, "%s", tj_errmsg(ctx));
    tj_fn_free(f);
}

static void expect_close(double got, double want, double tol, const char *what, int i)
{
    cr_expect(fabs(got - want) <= tol * fmax(1.0, fabs(want)), "%s[%d]: %.17g, expected %.17g",
              what, i, got, want);
}

/* ---- known_grads ----------------------------------------------------------------------------- */

/* y = tanh(W x) with dL/dy known (no cost): dL/dW = (g * (1 - y^2)) outer x, dL/dx = W^T (...) */
Test(grad_opts, known_grads_without_a_cost)
{
    tj_var *W = tj_matrix(ctx, TJ_FLOAT64, "W"), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *gy = tj_vector(ctx, TJ_FLOAT64, "gy");
    tj_var *y = tj_tanh(tj_dot(W, x));
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.known_grads = (tj_known_grad[]){{y, gy}};
    o.nknown_grads = 1;
    tj_var *g[2];
    cr_assert_eq(tj_grad_v2(NULL, (tj_var *[]){W, x}, 2, g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    double Wv[6] = {0.3, -0.2, 0.5, 0.1, 0.7, -0.4}, xv[3] = {1.0, -2.0, 0.5},
           gv[2] = {0.25, -1.5};
    tj_array *vals[3] = {tjt_array(TJ_FLOAT64, 2, (int64_t[]){2, 3}, Wv), vec(3, xv), vec(2, gv)};
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_array *r[2];
        run((tj_mode)mode, (tj_var *[]){W, x, gy}, 3, vals, g, 2, r);
        double d[2];
        for (int i = 0; i < 2; i++) {
            double a = 0;
            for (int j = 0; j < 3; j++)
                a += Wv[i * 3 + j] * xv[j];
            double t = tanh(a);
            d[i] = gv[i] * (1 - t * t);
        }
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                expect_close(tjt_at(r[0], i * 3 + j), d[i] * xv[j], 1e-12, "dW", i * 3 + j);
        for (int j = 0; j < 3; j++)
            expect_close(tjt_at(r[1], j), d[0] * Wv[j] + d[1] * Wv[3 + j], 1e-12, "dx", j);
        tj_array_unref(r[0]);
        tj_array_unref(r[1]);
    }
    for (int i = 0; i < 3; i++)
        tj_array_unref(vals[i]);
}

/* A known gradient overrides what the cost would send into that variable; the cost itself can be
 * listed (its gradient is then not 1); a listed wrt gets its given gradient. */
Test(grad_opts, known_grads_override_and_combine_with_the_cost)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *h = tj_mul(x, x);
    tj_var *cost = tj_sum(tj_mulc(h, 3.0), NULL, 0, false);
    tj_var *five = tj_const(ctx, TJ_FLOAT64, 5.0); /* 0-d: broadcast to h's type */
    tj_var *g, *gh[2];
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;

    /* h's gradient given as 5 instead of 3: dcost/dx = 5 * 2x */
    o.known_grads = (tj_known_grad[]){{h, tj_dimshuffle(five, (int[]){-1}, 1)}};
    o.nknown_grads = 1;
    cr_assert_eq(tj_grad_v2(cost, &x, 1, &g, &o), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *xv = vec(3, (double[]){1, -2, 4}), *r;
    run(TJ_MODE_FAST_RUN, &x, 1, &xv, &g, 1, &r);
    for (int i = 0; i < 3; i++)
        expect_close(tjt_at(r, i), 10.0 * tjt_at(xv, i), 1e-15, "override", i);
    tj_array_unref(r);

    /* the cost listed with gradient 2: everything doubles */
    o.known_grads = (tj_known_grad[]){{cost, tj_const(ctx, TJ_FLOAT64, 2.0)}};
    cr_assert_eq(tj_grad_v2(cost, (tj_var *[]){x, h}, 2, gh, &o), TJ_OK, "%s", tj_errmsg(ctx));
    tj_array *rr[2];
    run(TJ_MODE_FAST_COMPILE, &x, 1, &xv, gh, 2, rr);
    for (int i = 0; i < 3; i++) {
        expect_close(tjt_at(rr[0], i), 12.0 * tjt_at(xv, i), 1e-15, "scaled cost", i);
        expect_close(tjt_at(rr[1], i), 6.0, 1e-15, "d/dh", i);
    }
    tj_array_unref(rr[0]);
    tj_array_unref(rr[1]);

    /* a wrt that is itself listed gets the given gradient */
    tj_var *gx;
    tj_var *given = tj_vector(ctx, TJ_FLOAT64, "given");
    o.known_grads = (tj_known_grad[]){{x, given}};
    cr_assert_eq(tj_grad_v2(NULL, &x, 1, &gx, &o), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(gx, given);
    tj_array_unref(xv);
}

Test(grad_opts, known_grads_errors)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_exp(x), *g;
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    tj_var *m = tj_matrix(ctx, TJ_FLOAT64, "m"), *iv = tj_vector(ctx, TJ_INT32, "iv");

    o.known_grads = (tj_known_grad[]){{y, m}};
    o.nknown_grads = 1;
    cr_expect_eq(tj_grad_v2(NULL, &x, 1, &g, &o), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "float tensor of the variable's rank 1");
    cr_expect_null(g);

    o.known_grads = (tj_known_grad[]){{y, iv}};
    cr_expect_eq(tj_grad_v2(NULL, &x, 1, &g, &o), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "'iv'");

    o.known_grads = (tj_known_grad[]){{y, x}, {y, x}};
    o.nknown_grads = 2;
    cr_expect_eq(tj_grad_v2(NULL, &x, 1, &g, &o), TJ_ERR_INVALID);
    EXPECT_MSG(ctx, "twice");

    o.known_grads = NULL;
    o.nknown_grads = 1;
    cr_expect_eq(tj_grad_v2(NULL, &x, 1, &g, &o), TJ_ERR_INVALID);

    /* no cost and no known gradients: nothing to differentiate */
    o.nknown_grads = 0;
    cr_expect_eq(tj_grad_v2(NULL, &x, 1, &g, &o), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(NULL), "the cost is NULL"), "%s", tj_errmsg(NULL));

    /* a wrt the known gradients do not reach is disconnected */
    tj_var *z = tj_vector(ctx, TJ_FLOAT64, "z");
    o.known_grads = (tj_known_grad[]){{y, x}};
    o.nknown_grads = 1;
    cr_expect_eq(tj_grad_v2(NULL, &z, 1, &g, &o), TJ_ERR_DISCONNECTED);
    EXPECT_MSG(ctx, "'z'");
}

/* ---- markers --------------------------------------------------------------------------------- */

Test(grad_opts, zero_grad_and_disconnected_grad)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *zx = tj_zero_grad(x), *sx = tj_stop_gradient(x);
    cr_expect_eq(sx, tj_disconnected_grad(x), "stop_gradient is disconnected_grad");
    tj_array *xv = vec(4, (double[]){1.5, -2, 0.25, 3});

    /* values pass through unchanged in both executors */
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_array *r[2];
        run((tj_mode)mode, &x, 1, &xv, (tj_var *[]){tj_mulc(zx, 2.0), sx}, 2, r);
        for (int i = 0; i < 4; i++) {
            cr_expect_eq(tjt_at(r[0], i), 2 * tjt_at(xv, i));
            cr_expect_eq(tjt_at(r[1], i), tjt_at(xv, i));
        }
        tj_array_unref(r[0]);
        tj_array_unref(r[1]);
    }

    /* d/dx sum(x * marker(x)) = marker(x) = x: only the unmarked factor differentiates */
    tj_var *g[2];
    cr_assert_eq(tj_grad(tj_sum(tj_mul(x, zx), NULL, 0, false), &x, 1, &g[0]), TJ_OK);
    cr_assert_eq(tj_grad(tj_sum(tj_mul(x, sx), NULL, 0, false), &x, 1, &g[1]), TJ_OK);
    tj_array *r[2];
    run(TJ_MODE_FAST_RUN, &x, 1, &xv, g, 2, r);
    for (int i = 0; i < 4; i++) {
        cr_expect_eq(tjt_at(r[0], i), tjt_at(xv, i));
        cr_expect_eq(tjt_at(r[1], i), tjt_at(xv, i));
    }
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);

    /* only through the marker: zero_grad is connected (zeros), disconnected_grad is not */
    tj_var *gz;
    cr_assert_eq(tj_grad(tj_sum(tj_exp(zx), NULL, 0, false), &x, 1, &gz), TJ_OK, "%s",
                 tj_errmsg(ctx));
    tj_array *zr;
    run(TJ_MODE_FAST_COMPILE, &x, 1, &xv, &gz, 1, &zr);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(tjt_at(zr, i), 0.0);
    tj_array_unref(zr);
    tj_var *gs;
    tj_var *cost = tj_sum(tj_exp(sx), NULL, 0, false);
    cr_expect_eq(tj_grad(cost, &x, 1, &gs), TJ_ERR_DISCONNECTED);
    EXPECT_MSG(ctx, "disconnected_grad");
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
    cr_assert_eq(tj_grad_v2(cost, &x, 1, &gs, &o), TJ_OK);
    run(TJ_MODE_FAST_RUN, &x, 1, &xv, &gs, 1, &zr);
    for (int i = 0; i < 4; i++)
        cr_expect_eq(tjt_at(zr, i), 0.0);
    tj_array_unref(zr);

    /* sticky NULL, and the marker keeps the type */
    cr_expect_null(tj_zero_grad(NULL));
    tj_var *b = tj_tensor(ctx, TJ_FLOAT32, 2, (bool[]){true, false}, "b");
    tj_var *zb = tj_zero_grad(b);
    cr_expect_eq(tj_var_dtype(zb), TJ_FLOAT32);
    cr_expect(tj_var_broadcastable(zb, 0) && !tj_var_broadcastable(zb, 1));
    tj_array_unref(xv);
}

/* A marker aliases its operand's buffer at run time: in-place kernels after it must still leave
 * shared values and the caller's inputs alone. */
Test(grad_opts, markers_never_expose_their_operand_to_in_place_writes)
{
    tj_array *wv = vec(3, (double[]){1, 2, 3}), *xv = vec(3, (double[]){4, 5, 6});
    tj_var *w = tj_shared(ctx, wv, "w", false), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *outs[2] = {tj_mulc(tj_zero_grad(w), 2.0), tj_exp(tj_stop_gradient(x))};
    tj_fn *f = tj_function(ctx, &x, 1, outs, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    for (int call = 0; call < 2; call++) {
        tj_array *r[2];
        cr_assert_eq(tj_call(f, &xv, r), TJ_OK, "%s", tj_errmsg(ctx));
        for (int i = 0; i < 3; i++) {
            cr_expect_eq(tjt_at(r[0], i), 2.0 * (i + 1));
            cr_expect_float_eq(tjt_at(r[1], i), exp(4.0 + i), 1e-15 * exp(4.0 + i));
        }
        tj_array_unref(r[0]);
        tj_array_unref(r[1]);
    }
    tj_array *now = tj_shared_get(w, true);
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(tjt_at(now, i), i + 1.0, "the shared value changed");
        cr_expect_eq(tjt_at(xv, i), i + 4.0, "the caller's input changed");
    }
    tj_array_unref(now);
    tj_array_unref(wv);
    tj_array_unref(xv);
}

Test(grad_opts, integer_inputs_get_zero_gradients)
{
    tj_var *i = tj_vector(ctx, TJ_INT32, "i"), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *cost = tj_sum(tj_mul(x, tj_cast(tj_mul(i, i), TJ_FLOAT64)), NULL, 0, false);
    tj_var *g[2];
    cr_assert_eq(tj_grad(cost, (tj_var *[]){i, x}, 2, g), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_dtype(g[0]), TJ_INT32);
    tj_array *iv = tjt_array(TJ_INT32, 1, (int64_t[]){2}, (double[]){3, -4});
    tj_array *xv = vec(2, (double[]){0.5, 2});
    tj_array *r[2];
    run(TJ_MODE_FAST_RUN, (tj_var *[]){i, x}, 2, (tj_array *[]){iv, xv}, g, 2, r);
    cr_expect_eq(tjt_at(r[0], 0), 0.0);
    cr_expect_eq(tjt_at(r[0], 1), 0.0);
    cr_expect_eq(tjt_at(r[1], 0), 9.0);
    cr_expect_eq(tjt_at(r[1], 1), 16.0);
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    tj_array_unref(iv);
    tj_array_unref(xv);
}

/* ---- second order ---------------------------------------------------------------------------- */

/* f(x) = (x.x)^2 + sum(exp(x) * c):  grad = 4 (x.x) x + c exp(x),
 * H = 8 x x^T + 4 (x.x) I + diag(c exp(x)). */
static const double C[4] = {0.5, -1.0, 2.0, 0.75};
static const double X0[4] = {0.3, -0.7, 0.2, 1.1};

static tj_var *f_of(tj_var *x)
{
    tj_array *c = vec(4, C);
    tj_var *cv = tj_constant(ctx, c);
    tj_array_unref(c);
    tj_var *xx = tj_sum(tj_sqr(x), NULL, 0, false);
    return tj_add(tj_sqr(xx), tj_sum(tj_mul(tj_exp(x), cv), NULL, 0, false));
}

static double hess(const double *x, int i, int j)
{
    double xx = 0;
    for (int k = 0; k < 4; k++)
        xx += x[k] * x[k];
    return 8 * x[i] * x[j] + (i == j ? 4 * xx + C[i] * exp(x[i]) : 0.0);
}

/* Central differences of the compiled gradient: column j of H. */
static void fd_hessian(tj_var *x, tj_var *g, double *H)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    tj_fn *f = tj_function(ctx, &x, 1, &g, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    const double h = 1e-5;
    for (int j = 0; j < 4; j++) {
        double xp[4], xm[4];
        memcpy(xp, X0, sizeof xp);
        memcpy(xm, X0, sizeof xm);
        xp[j] += h;
        xm[j] -= h;
        tj_array *ap = vec(4, xp), *am = vec(4, xm), *gp, *gm;
        cr_assert_eq(tj_call(f, &ap, &gp), TJ_OK);
        cr_assert_eq(tj_call(f, &am, &gm), TJ_OK);
        for (int i = 0; i < 4; i++)
            H[i * 4 + j] = (tjt_at(gp, i) - tjt_at(gm, i)) / (2 * h);
        tj_array_unref(ap);
        tj_array_unref(am);
        tj_array_unref(gp);
        tj_array_unref(gm);
    }
    tj_fn_free(f);
}

Test(grad_opts, hessian_vector_product_is_grad_of_grad)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *v = tj_vector(ctx, TJ_FLOAT64, "v");
    tj_var *g, *hv;
    cr_assert_eq(tj_grad(f_of(x), &x, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_grad(tj_sum(tj_mul(g, v), NULL, 0, false), &x, 1, &hv), TJ_OK, "%s",
                 tj_errmsg(ctx));
    double V[4] = {1.0, 0.5, -2.0, 0.25};
    tj_array *vals[2] = {vec(4, X0), vec(4, V)};
    double Hfd[16];
    fd_hessian(x, g, Hfd);
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_array *r;
        run((tj_mode)mode, (tj_var *[]){x, v}, 2, vals, &hv, 1, &r);
        for (int i = 0; i < 4; i++) {
            double want = 0, fd = 0;
            for (int j = 0; j < 4; j++) {
                want += hess(X0, i, j) * V[j];
                fd += Hfd[i * 4 + j] * V[j];
            }
            expect_close(tjt_at(r, i), want, 1e-12, "Hv (formula)", i);
            expect_close(tjt_at(r, i), fd, 1e-6, "Hv (finite differences)", i);
        }
        tj_array_unref(r);
    }
    tj_array_unref(vals[0]);
    tj_array_unref(vals[1]);
}

Test(grad_opts, hessian_matches_formula_and_finite_differences)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *H, *g;
    tj_var *f = f_of(x);
    cr_assert_eq(tj_hessian(f, x, 4, &H, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(H), 2);
    cr_assert_eq(tj_grad(f, &x, 1, &g), TJ_OK);
    double Hfd[16];
    fd_hessian(x, g, Hfd);
    tj_array *xv = vec(4, X0);
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_array *r;
        run((tj_mode)mode, &x, 1, &xv, &H, 1, &r);
        cr_assert_eq(tj_array_ndim(r), 2);
        cr_assert_eq(tj_array_shape(r)[0], 4);
        cr_assert_eq(tj_array_shape(r)[1], 4);
        for (int k = 0; k < 16; k++) {
            expect_close(tjt_at(r, k), hess(X0, k / 4, k % 4), 1e-12, "H (formula)", k);
            expect_close(tjt_at(r, k), Hfd[k], 1e-6, "H (finite differences)", k);
        }
        tj_array_unref(r);
    }
    /* the runtime length must be the n given */
    tj_array *x5 = vec(5, (double[]){1, 2, 3, 4, 5}), *r = NULL;
    tj_fn *fn = tj_function(ctx, &x, 1, &H, 1, NULL);
    cr_assert(fn, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_call(fn, &x5, &r), TJ_ERR_SHAPE);
    cr_expect_null(r);
    tj_array_unref(x5);
    tj_array_unref(xv);

    /* a linear cost has a disconnected Hessian unless asked for zeros */
    tj_var *lin = tj_sum(tj_mulc(x, 3.0), NULL, 0, false), *Hl;
    cr_expect_eq(tj_hessian(lin, x, 4, &Hl, NULL), TJ_ERR_DISCONNECTED);
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
    cr_assert_eq(tj_hessian(lin, x, 4, &Hl, &o), TJ_OK, "%s", tj_errmsg(ctx));
    xv = vec(4, X0);
    run(TJ_MODE_FAST_RUN, &x, 1, &xv, &Hl, 1, &r);
    for (int k = 0; k < 16; k++)
        cr_expect_eq(tjt_at(r, k), 0.0);
    tj_array_unref(r);
    tj_array_unref(xv);
}

/* y = tanh(A x) * s (A 3x4, s a scalar input):  dy_i/dx_j = s (1 - tanh^2(a_i)) A_ij,
 * dy_i/dA_kl = s (1 - tanh^2(a_i)) [i == k] x_l  (a Jacobian with respect to a matrix). */
Test(grad_opts, jacobian_of_a_vector_function)
{
    tj_var *A = tj_matrix(ctx, TJ_FLOAT64, "A"), *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *s = tj_scalar(ctx, TJ_FLOAT64, "s");
    tj_var *y = tj_mul(tj_tanh(tj_dot(A, x)), s);
    tj_var *Jx, *JA, *Js;
    cr_assert_eq(tj_jacobian(y, x, 3, &Jx, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_jacobian(y, A, 3, &JA, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_jacobian(y, s, 3, &Js, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(Jx), 2);
    cr_expect_eq(tj_var_ndim(JA), 3);
    cr_expect_eq(tj_var_ndim(Js), 1);
    double Av[12], xv[4] = {0.5, -1, 0.25, 2}, sv = 1.5;
    for (int k = 0; k < 12; k++)
        Av[k] = 0.1 * (k % 5) - 0.2;
    tj_array *vals[3] = {tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 4}, Av), vec(4, xv),
                         tj_array_scalar(TJ_FLOAT64, sv)};
    double a[3], d[3];
    for (int i = 0; i < 3; i++) {
        a[i] = 0;
        for (int j = 0; j < 4; j++)
            a[i] += Av[i * 4 + j] * xv[j];
        d[i] = sv * (1 - tanh(a[i]) * tanh(a[i]));
    }
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_array *r[3];
        run((tj_mode)mode, (tj_var *[]){A, x, s}, 3, vals, (tj_var *[]){Jx, JA, Js}, 3, r);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++)
                expect_close(tjt_at(r[0], i * 4 + j), d[i] * Av[i * 4 + j], 1e-12, "dy/dx",
                             i * 4 + j);
            for (int k = 0; k < 3; k++)
                for (int l = 0; l < 4; l++)
                    expect_close(tjt_at(r[1], (i * 3 + k) * 4 + l), i == k ? d[i] * xv[l] : 0.0,
                                 1e-12, "dy/dA", (i * 3 + k) * 4 + l);
            expect_close(tjt_at(r[2], i), tanh(a[i]), 1e-12, "dy/ds", i);
        }
        for (int k = 0; k < 3; k++)
            tj_array_unref(r[k]);
    }
    for (int k = 0; k < 3; k++)
        tj_array_unref(vals[k]);

    /* a scalar expression: the Jacobian is the gradient */
    tj_var *c = tj_sum(y, NULL, 0, false), *Jc, *gc;
    cr_assert_eq(tj_jacobian(c, x, 0, &Jc, NULL), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_grad(c, &x, 1, &gc), TJ_OK);
    cr_expect_eq(Jc, gc);
}

/* The Jacobian of a scalar is its gradient, of wrt's rank: wrt may have TJ_MAX_NDIM axes. The
 * rank check refused every 32-d wrt ("the result would exceed 32") as if a vector expression
 * added an axis; a vector expression still cannot. d sum(x^2)/dx = 2x on a (2, 1, ..., 1, 3) x. */
Test(grad_opts, jacobian_of_a_scalar_with_respect_to_the_maximum_rank)
{
    tj_var *x = tj_tensor(ctx, TJ_FLOAT64, TJ_MAX_NDIM, NULL, "x"), *J = NULL;
    cr_assert_eq(tj_jacobian(tj_sum(tj_sqr(x), NULL, 0, false), x, 0, &J, NULL), TJ_OK, "%s",
                 tj_errmsg(ctx));
    cr_assert_eq(tj_var_ndim(J), TJ_MAX_NDIM);
    int64_t shape[TJ_MAX_NDIM];
    for (int d = 0; d < TJ_MAX_NDIM; d++)
        shape[d] = d == 0 ? 2 : d == TJ_MAX_NDIM - 1 ? 3 : 1;
    double xv[6] = {0.5, -1, 2, 3.25, 0, -4};
    tj_array *in = tjt_array(TJ_FLOAT64, TJ_MAX_NDIM, shape, xv), *r;
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        run((tj_mode)mode, &x, 1, &in, &J, 1, &r);
        cr_assert_eq(tj_array_size(r), 6);
        for (int i = 0; i < 6; i++)
            expect_close(tjt_at(r, i), 2 * xv[i], 0, "d sum(x^2)/dx", i);
        tj_array_unref(r);
    }
    tj_array_unref(in);
    tj_var *v = tj_vector(ctx, TJ_FLOAT64, "v");
    cr_expect_eq(tj_jacobian(tj_mul(v, tj_sum(x, NULL, 0, false)), x, 2, &J, NULL), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "wrt has 32 dimensions");
}

Test(grad_opts, jacobian_and_hessian_errors)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *m = tj_matrix(ctx, TJ_FLOAT64, "m"), *J;
    cr_expect_eq(tj_jacobian(m, x, 3, &J, NULL), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "'m'");
    EXPECT_MSG(ctx, "float scalar or vector");
    cr_expect_null(J);
    cr_expect_eq(tj_jacobian(tj_exp(x), x, 0, &J, NULL), TJ_ERR_VALUE);
    EXPECT_MSG(ctx, "n = 0 must be the length");
    cr_expect_eq(tj_hessian(tj_sum(m, NULL, 0, false), m, 3, &J, NULL), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "must be a float vector");
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    o.known_grads = (tj_known_grad[]){{x, x}};
    o.nknown_grads = 1;
    cr_expect_eq(tj_jacobian(tj_exp(x), x, 2, &J, &o), TJ_ERR_INVALID);
    EXPECT_MSG(ctx, "known_grads do not apply");
    cr_expect_eq(tj_jacobian(NULL, x, 2, &J, NULL), TJ_ERR_INVALID);
    cr_expect_eq(tj_hessian(tj_sum(x, NULL, 0, false), x, 2, NULL, NULL), TJ_ERR_INVALID);
}
