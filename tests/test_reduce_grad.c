/* Gradients of prod (with zero entries: PyTensor's rule), max/min (to the extreme's position,
 * ties sharing it evenly), variance, std, softmax, log_softmax and logsumexp against central
 * finite differences in float64 (rtol 1e-6), through the reference executor and the JIT; and
 * gradients that stay finite for logits of +-1000. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"

static tj_ctx *ctx;

static void setup(void)
{
    ctx = tj_ctx_new();
    cr_assert(ctx);
}

static void teardown(void) { tj_ctx_free(ctx); }

TestSuite(reduce_grad, .init = setup, .fini = teardown);

static double uniform(uint64_t *s, double lo, double hi)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return lo + (hi - lo) * (double)(*s >> 11) / 9007199254740992.0;
}

typedef tj_var *(*build_fn)(tj_var *x);

static const int ax0[] = {0}, ax1[] = {1}, axm1[] = {-1}, ax02[] = {0, 2};
static tj_var *prod_1(tj_var *x) { return tj_prod(x, ax1, 1, false); }
static tj_var *prod_all(tj_var *x) { return tj_prod(x, NULL, 0, false); }
static tj_var *prod_m1k(tj_var *x) { return tj_prod(x, axm1, 1, true); }
static tj_var *max_0(tj_var *x) { return tj_max(x, ax0, 1, false); }
static tj_var *min_02k(tj_var *x) { return tj_min(x, ax02, 2, true); }
static tj_var *max_all(tj_var *x) { return tj_max(x, NULL, 0, false); }
static tj_var *var_1(tj_var *x) { return tj_variance(x, ax1, 1, false); }
static tj_var *std_all(tj_var *x) { return tj_std(x, NULL, 0, false); }
static tj_var *var_ddof_0k(tj_var *x) { return tj_variance_ddof(x, ax0, 1, true, 1); }
static tj_var *std_02(tj_var *x) { return tj_std(x, ax02, 2, false); }
static tj_var *softmax_1(tj_var *x) { return tj_softmax(x, 1); }
static tj_var *softmax_0(tj_var *x) { return tj_softmax(x, 0); }
static tj_var *log_softmax_m1(tj_var *x) { return tj_log_softmax(x, -1); }
static tj_var *lse_02(tj_var *x) { return tj_logsumexp(x, ax02, 2, false); }
static tj_var *lse_allk(tj_var *x) { return tj_logsumexp(x, NULL, 0, true); }

/* (3,4) with zeros: row 0 none, row 1 one (at column 2), row 2 two */
static const double zeros34[12] = {0.5, -1.5, 2.0, 1.25, 3.0, -0.75, 0.0, 1.5, 0.0, 2.5, -1.0, 0.0};
/* (2,3,4) with exactly one zero */
static double one_zero[24];

typedef struct {
    const char *name;
    build_fn f;
    int ndim;
    int64_t shape[3];
    const double *values; /* NULL: uniform in [lo, hi], distinct with probability 1 */
    double lo, hi;
} gcase;

static const gcase cases[] = {
    {"prod axis 1", prod_1, 2, {3, 4}, NULL, 0.5, 1.5},
    {"prod all, one zero", prod_all, 3, {2, 3, 4}, one_zero, 0, 0},
    {"prod axis -1 keepdims, rows of 0/1/2 zeros", prod_m1k, 2, {3, 4}, zeros34, 0, 0},
    {"max axis 0", max_0, 3, {2, 3, 4}, NULL, -2, 2},
    {"min axes (0,2) keepdims", min_02k, 3, {2, 3, 4}, NULL, -2, 2},
    {"max all", max_all, 2, {3, 4}, NULL, -2, 2},
    {"variance axis 1", var_1, 2, {3, 4}, NULL, -2, 2},
    {"std all", std_all, 3, {2, 3, 4}, NULL, -2, 2},
    {"variance ddof 1 axis 0 keepdims", var_ddof_0k, 2, {3, 4}, NULL, -2, 2},
    {"std axes (0,2)", std_02, 3, {2, 3, 4}, NULL, -2, 2},
    {"softmax axis 1", softmax_1, 2, {3, 4}, NULL, -3, 3},
    {"softmax axis 0", softmax_0, 3, {2, 3, 4}, NULL, -3, 3},
    {"log_softmax axis -1", log_softmax_m1, 2, {3, 4}, NULL, -3, 3},
    {"logsumexp axes (0,2)", lse_02, 3, {2, 3, 4}, NULL, -3, 3},
    {"logsumexp all keepdims", lse_allk, 2, {3, 4}, NULL, -3, 3},
};
#define NCASES (int)(sizeof cases / sizeof *cases)

static tj_fn *reference(tj_var *const *in, int nin, tj_var *const *outs, int nout)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    tj_fn *f = tj_function(ctx, in, nin, outs, nout, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    return f;
}

static double scalar_of(tj_fn *f, tj_array *x)
{
    tj_array *r;
    cr_assert_eq(tj_call(f, &x, &r), TJ_OK, "%s", tj_errmsg(ctx));
    double v = tj_array_get(r, NULL);
    tj_array_unref(r);
    return v;
}

typedef struct {
    tj_var *x, *g;
    tj_array *val;
    double fd[24];
} prepared;

/* cost = sum(f(x) * R), R a fixed random array of f(x)'s shape; fills the symbolic gradient
 * and the central differences of the cost at the case's point. */
static void prepare(const gcase *c, uint64_t seed, prepared *p)
{
    uint64_t s = seed * 0x9E3779B97F4A7C15ull + 7;
    p->x = tj_tensor(ctx, TJ_FLOAT64, c->ndim, NULL, c->name);
    p->val = tj_array_new(TJ_FLOAT64, c->ndim, c->shape);
    double *xv = tj_array_data(p->val);
    int64_t n = tj_array_size(p->val);
    for (int64_t i = 0; i < n; i++)
        xv[i] = c->values ? c->values[i] : uniform(&s, c->lo, c->hi);
    tj_var *y = c->f(p->x);
    cr_assert(y, "%s: %s", c->name, tj_errmsg(ctx));
    tj_fn *fy = reference(&p->x, 1, &y, 1);
    tj_array *yv;
    cr_assert_eq(tj_call(fy, &p->val, &yv), TJ_OK, "%s: %s", c->name, tj_errmsg(ctx));
    tj_array *r = tj_array_new(TJ_FLOAT64, tj_array_ndim(yv), tj_array_shape(yv));
    double *rv = tj_array_data(r);
    for (int64_t i = 0; i < tj_array_size(r); i++)
        rv[i] = uniform(&s, 0.5, 1.5);
    tj_var *cost = tj_sum(tj_mul(y, tj_constant(ctx, r)), NULL, 0, false);
    tj_array_unref(r);
    tj_array_unref(yv);
    cr_assert_eq(tj_grad(cost, &p->x, 1, &p->g), TJ_OK, "%s: %s", c->name, tj_errmsg(ctx));
    cr_assert_eq(tj_var_ndim(p->g), c->ndim);
    cr_assert_eq(tj_var_dtype(p->g), TJ_FLOAT64);
    tj_fn *fc = reference(&p->x, 1, &cost, 1);
    const double h = 1e-6;
    for (int64_t i = 0; i < n; i++) {
        double keep = xv[i];
        xv[i] = keep + h;
        double up = scalar_of(fc, p->val);
        xv[i] = keep - h;
        double down = scalar_of(fc, p->val);
        xv[i] = keep;
        p->fd[i] = (up - down) / (2 * h);
    }
}

static void compare(const gcase *c, const prepared *p, tj_array *g, const char *who)
{
    cr_assert_eq(tj_array_size(g), tj_array_size(p->val), "%s %s: gradient size", who, c->name);
    for (int64_t i = 0; i < tj_array_size(g); i++) {
        double sym = tjt_at(g, i), num = p->fd[i];
        double scale = fabs(num) > fabs(sym) ? fabs(num) : fabs(sym);
        cr_expect(fabs(sym - num) <= 1e-6 * scale + 1e-8, "%s %s [%lld]: grad %.12g, numeric %.12g",
                  who, c->name, (long long)i, sym, num);
    }
}

Test(reduce_grad, against_finite_differences)
{
    for (int k = 0; k < 24; k++)
        one_zero[k] = k == 13 ? 0.0 : 0.6 + 0.05 * k * (k % 2 ? 1 : -1);
    prepared p[NCASES];
    tj_var *xs[NCASES], *gs[NCASES];
    tj_array *vals[NCASES];
    for (int c = 0; c < NCASES; c++) {
        prepare(&cases[c], (uint64_t)c + 1, &p[c]);
        xs[c] = p[c].x;
        gs[c] = p[c].g;
        vals[c] = p[c].val;
    }
    /* every gradient in one function per executor */
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    tj_fn *jit = tj_function(ctx, xs, NCASES, gs, NCASES, &o);
    cr_assert(jit, "%s", tj_errmsg(ctx));
    cr_assert(tj_fn_jitted(jit) != tjt_jit_off());
    tj_fn *ref = reference(xs, NCASES, gs, NCASES);
    tj_array *rj[NCASES], *rr[NCASES];
    cr_assert_eq(tj_call(jit, vals, rj), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call(ref, vals, rr), TJ_OK, "%s", tj_errmsg(ctx));
    for (int c = 0; c < NCASES; c++) {
        compare(&cases[c], &p[c], rr[c], "reference");
        compare(&cases[c], &p[c], rj[c], "jit");
        tj_array_unref(rj[c]);
        tj_array_unref(rr[c]);
        tj_array_unref(vals[c]);
    }
}

/* prod's rule at zeros, exactly: d prod / d x_j is the product of the others */
Test(reduce_grad, prod_at_zeros_exactly)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *g;
    cr_assert_eq(tj_grad(tj_sum(tj_prod(x, axm1, 1, false), NULL, 0, false), &x, 1, &g), TJ_OK);
    tj_array *v = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 4}, zeros34);
    double want[12] = {-1.5 * 2.0 * 1.25, 0.5 * 2.0 * 1.25, 0.5 * -1.5 * 1.25, 0.5 * -1.5 * 2.0,
                       0, 0, 3.0 * -0.75 * 1.5, 0,
                       0, 0, 0, 0};
    tj_fn *ref = reference(&x, 1, &g, 1);
    tj_fn *jit = tj_function(ctx, &x, 1, &g, 1, NULL);
    cr_assert(jit, "%s", tj_errmsg(ctx));
    for (int e = 0; e < 2; e++) {
        tj_array *r;
        cr_assert_eq(tj_call(e ? ref : jit, &v, &r), TJ_OK, "%s", tj_errmsg(ctx));
        for (int i = 0; i < 12; i++)
            cr_expect(fabs(tjt_at(r, i) - want[i]) <= 1e-15 * fabs(want[i]),
                      "%s [%d]: %.17g, want %.17g", e ? "reference" : "jit", i, tjt_at(r, i),
                      want[i]);
        tj_array_unref(r);
    }
    tj_array_unref(v);
}

/* max/min at ties: the tied positions share g evenly (JAX's rule), so max(concatenate([x, x]))
 * has the derivative of x: 1/2 to each copy of the largest, summing to 1 (Theano gave each tie
 * all of g: 2; found by fuzz-grad). A NaN group (max is NaN) gives nothing. */
Test(reduce_grad, max_and_min_share_g_among_ties)
{
    tj_var *x = tj_matrix(ctx, TJ_FLOAT64, "x"), *g[3];
    int ax1 = 1;
    tj_var *twice = tj_max(tj_concatenate((tj_var *[]){x, x}, 2, 1), &ax1, 1, false);
    tj_var *costs[3] = {tj_sum(twice, NULL, 0, false),
                        tj_sum(tj_min(x, &ax1, 1, false), NULL, 0, false),
                        tj_sum(tj_max(x, NULL, 0, false), NULL, 0, false)};
    for (int k = 0; k < 3; k++)
        cr_assert_eq(tj_grad(costs[k], &x, 1, &g[k]), TJ_OK, "%s", tj_errmsg(ctx));
    /* rows: a single max/min; a tie of three; a NaN */
    tj_array *v = tjt_array(TJ_FLOAT64, 2, (int64_t[]){3, 3},
                            (double[]){1, 5, 2, 4, 4, 4, NAN, 1, 0});
    static const double want[3][9] = {
        {0, 1, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0}, /* each max in [x, x] gets 1/2, twice */
        {1, 0, 0, 1.0 / 3, 1.0 / 3, 1.0 / 3, 0, 0, 0},
        {0, 0, 0, 0, 0, 0, 0, 0, 0}, /* the whole max is NaN */
    };
    tj_fn *ref = reference(&x, 1, g, 3);
    tj_fn *jit = tj_function(ctx, &x, 1, g, 3, NULL);
    cr_assert(jit, "%s", tj_errmsg(ctx));
    for (int e = 0; e < 2; e++) {
        tj_array *r[3];
        cr_assert_eq(tj_call(e ? ref : jit, &v, r), TJ_OK, "%s", tj_errmsg(ctx));
        for (int k = 0; k < 3; k++) {
            for (int i = 0; i < 9; i++)
                cr_expect(fabs(tjt_at(r[k], i) - want[k][i]) <= 1e-15, "%s cost %d [%d]: %.17g",
                          e ? "reference" : "jit", k, i, tjt_at(r[k], i));
            tj_array_unref(r[k]);
        }
    }
    tj_array_unref(v);
}

Test(reduce_grad, finite_for_large_logits)
{
    for (int t = 0; t < 2; t++) {
        tj_dtype d = t ? TJ_FLOAT64 : TJ_FLOAT32;
        tj_var *x = tj_matrix(ctx, d, "x"), *g[3];
        tj_var *costs[3] = {tj_sum(tj_mul(tj_log_softmax(x, 1), x), NULL, 0, false),
                            tj_sum(tj_sqr(tj_softmax(x, 1)), NULL, 0, false),
                            tj_sum(tj_logsumexp(x, ax1, 1, false), NULL, 0, false)};
        for (int k = 0; k < 3; k++)
            cr_assert_eq(tj_grad(costs[k], &x, 1, &g[k]), TJ_OK, "%s", tj_errmsg(ctx));
        double v[6] = {1000, -1000, 999, -1000, 1000, 1000};
        tj_array *in = tjt_array(d, 2, (int64_t[]){2, 3}, v);
        tj_fn *jit = tj_function(ctx, &x, 1, g, 3, NULL);
        cr_assert(jit, "%s", tj_errmsg(ctx));
        tj_fn *ref = reference(&x, 1, g, 3);
        /* d logsumexp / d x is the softmax: row 0 = (e/(1+e), 0, 1/(1+e))... by the formula */
        for (int e = 0; e < 2; e++) {
            tj_array *r[3];
            cr_assert_eq(tj_call(e ? ref : jit, &in, r), TJ_OK, "%s", tj_errmsg(ctx));
            for (int k = 0; k < 3; k++)
                for (int i = 0; i < 6; i++)
                    cr_expect(isfinite(tjt_at(r[k], i)), "%s %s grad %d [%d] = %g",
                              e ? "reference" : "jit", tj_dtype_name(d), k, i, tjt_at(r[k], i));
            for (int row = 0; row < 2; row++) {
                double m = fmax(fmax(v[3 * row], v[3 * row + 1]), v[3 * row + 2]), s = 0;
                for (int j = 0; j < 3; j++)
                    s += exp(v[3 * row + j] - m);
                for (int j = 0; j < 3; j++) {
                    double want = exp(v[3 * row + j] - m) / s;
                    double got = tjt_at(r[2], 3 * row + j);
                    cr_expect(fabs(got - want) <= (t ? 1e-15 : 1e-7) * 4,
                              "%s softmax [%d][%d]: %.9g, want %.9g", e ? "reference" : "jit",
                              row, j, got, want);
                }
            }
            for (int k = 0; k < 3; k++)
                tj_array_unref(r[k]);
        }
        tj_array_unref(in);
    }
}
