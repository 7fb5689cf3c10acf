/* Every op of the starter set, through the JIT and the reference executor, against values
 * computed independently here in double precision: shapes (), (5,), (3,4), broadcast
 * (3,1)+(1,4), empty (0,), non-contiguous (transposed) inputs; float32 and float64. */
#include "support.h"

#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef enum { EXACT, TRANSCENDENTAL } accuracy;

typedef struct {
    const char *name;
    int arity;
    tj_var *(*u)(tj_var *);
    tj_var *(*b)(tj_var *, tj_var *);
    double (*ref1)(double);
    double (*ref2)(double, double);
    accuracy acc;
    double lo, hi; /* input domain */
    bool bool_out;
} op_case;

static double r_neg(double a) { return -a; }
static double r_sqr(double a) { return a * a; }
static double r_sig(double a) { return 1 / (1 + exp(-a)); }
static double r_add(double a, double b) { return a + b; }
static double r_sub(double a, double b) { return a - b; }
static double r_mul(double a, double b) { return a * b; }
static double r_div(double a, double b) { return a / b; }
static double r_max(double a, double b) { return a > b ? a : b; }
static double r_gt(double a, double b) { return a > b; }
static double r_lt(double a, double b) { return a < b; }
static double r_ge(double a, double b) { return a >= b; }
static double r_le(double a, double b) { return a <= b; }
static double r_eq(double a, double b) { return a == b; }

static const op_case cases[] = {
    {"neg", 1, tj_neg, NULL, r_neg, NULL, EXACT, -5, 5, false},
    {"exp", 1, tj_exp, NULL, exp, NULL, TRANSCENDENTAL, -20, 20, false},
    {"log", 1, tj_log, NULL, log, NULL, TRANSCENDENTAL, 1e-3, 1e3, false},
    {"sigmoid", 1, tj_sigmoid, NULL, r_sig, NULL, TRANSCENDENTAL, -15, 15, false},
    {"tanh", 1, tj_tanh, NULL, tanh, NULL, TRANSCENDENTAL, -6, 6, false},
    {"sqr", 1, tj_sqr, NULL, r_sqr, NULL, EXACT, -5, 5, false},
    {"add", 2, NULL, tj_add, NULL, r_add, EXACT, -5, 5, false},
    {"sub", 2, NULL, tj_sub, NULL, r_sub, EXACT, -5, 5, false},
    {"mul", 2, NULL, tj_mul, NULL, r_mul, EXACT, -5, 5, false},
    {"div", 2, NULL, tj_div, NULL, r_div, EXACT, 0.5, 5, false},
    {"pow", 2, NULL, tj_pow, NULL, pow, TRANSCENDENTAL, 0.5, 3, false},
    {"maximum", 2, NULL, tj_maximum, NULL, r_max, EXACT, -5, 5, false},
    {"gt", 2, NULL, tj_gt, NULL, r_gt, EXACT, -2, 2, true},
    {"lt", 2, NULL, tj_lt, NULL, r_lt, EXACT, -2, 2, true},
    {"ge", 2, NULL, tj_ge, NULL, r_ge, EXACT, -2, 2, true},
    {"le", 2, NULL, tj_le, NULL, r_le, EXACT, -2, 2, true},
    {"eq", 2, NULL, tj_eq, NULL, r_eq, EXACT, -2, 2, true},
};

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[2][2];  /* per operand */
    bool bcast[2][2];     /* per operand: static broadcastable flags */
    bool transposed;      /* operand 0 passed as a transposed (strided) view */
} shape_case;

static const shape_case shapes[] = {
    {"scalar", 0, {{0}, {0}}, {{0}, {0}}, false},
    {"vector", 1, {{5}, {5}}, {{0}, {0}}, false},
    {"matrix", 2, {{3, 4}, {3, 4}}, {{0}, {0}}, false},
    {"broadcast", 2, {{3, 1}, {1, 4}}, {{false, true}, {true, false}}, false},
    {"empty", 1, {{0}, {0}}, {{0}, {0}}, false},
    {"transposed", 2, {{3, 4}, {3, 4}}, {{0}, {0}}, true},
};

static double value_at(uint64_t *state, double lo, double hi)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    double u = (double)(*state >> 11) / 9007199254740992.0;
    double v = lo + (hi - lo) * u;
    double q = round(v * 8) / 8; /* eighths: exact in float32, and equal values for compares */
    return q < lo ? lo : q;
}

/* A float array for operand k, possibly as a transposed view of a (cols, rows) buffer. */
static tj_array *make_operand(tj_dtype dt, const shape_case *sc, int k, double lo, double hi,
                              uint64_t *st, double *vals)
{
    int64_t n = 1;
    for (int d = 0; d < sc->ndim; d++)
        n *= sc->shape[k][d];
    for (int64_t i = 0; i < n; i++)
        vals[i] = value_at(st, lo, hi);
    if (!(sc->transposed && k == 0))
        return tjt_array(dt, sc->ndim, sc->shape[k], vals);
    /* storage is (cols, rows) C order; the view swaps strides so element (i,j) = vals[i*c+j] */
    int64_t r = sc->shape[k][0], c = sc->shape[k][1];
    int64_t tshape[2] = {c, r};
    tj_array *base = tj_array_new(dt, 2, tshape);
    for (int64_t i = 0; i < r; i++)
        for (int64_t j = 0; j < c; j++)
            tj_array_set(base, (int64_t[]){j, i}, vals[i * c + j]);
    size_t es = tj_dtype_size(dt);
    int64_t strides[2] = {(int64_t)es, (int64_t)es * r};
    tj_array_ref(base);
    tj_array *view = tj_array_wrap(dt, 2, sc->shape[k], strides, tj_array_data(base),
                                   (void (*)(void *))tj_array_unref, base);
    tj_array_unref(base);
    return view;
}

static void check_case(const op_case *oc, const shape_case *sc, tj_dtype dt)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *in[2];
    for (int k = 0; k < oc->arity; k++)
        in[k] = tj_tensor(ctx, dt, sc->ndim, sc->bcast[k], k ? "b" : "a");
    tj_var *out = oc->arity == 1 ? oc->u(in[0]) : oc->b(in[0], in[1]);
    cr_assert(out, "%s: %s", oc->name, tj_errmsg(ctx));
    tj_function_opts fast = TJ_FUNCTION_OPTS_INIT, ref = TJ_FUNCTION_OPTS_INIT;
    ref.mode = TJ_MODE_FAST_COMPILE;
    tj_fn *fj = tj_function(ctx, in, oc->arity, &out, 1, &fast);
    tj_fn *fr = tj_function(ctx, in, oc->arity, &out, 1, &ref);
    cr_assert(fj && fr, "%s: %s", oc->name, tj_errmsg(ctx));
    cr_assert(tj_fn_jitted(fj) != tjt_jit_off(), "%s: jitted must be %d", oc->name, !tjt_jit_off());

    uint64_t st = 42;
    double vals[2][64];
    tj_array *args[2];
    for (int k = 0; k < oc->arity; k++)
        args[k] = make_operand(dt, sc, k, oc->lo, oc->hi, &st, vals[k]);
    tj_array *rj, *rr;
    cr_assert_eq(tj_call(fj, args, &rj), TJ_OK, "%s/%s: %s", oc->name, sc->name, tj_errmsg(ctx));
    cr_assert_eq(tj_call(fr, args, &rr), TJ_OK, "%s/%s: %s", oc->name, sc->name, tj_errmsg(ctx));

    /* expected shape: broadcast of the operands */
    int64_t oshape[2] = {1, 1}, n = 1;
    for (int d = 0; d < sc->ndim; d++) {
        for (int k = 0; k < oc->arity; k++)
            if (!sc->bcast[k][d])
                oshape[d] = sc->shape[k][d];
        n *= oshape[d];
    }
    cr_assert_eq(tj_array_ndim(rj), sc->ndim);
    cr_assert_eq(tj_array_size(rj), n, "%s/%s: size %lld", oc->name, sc->name,
                 (long long)tj_array_size(rj));
    cr_assert_eq(tj_array_dtype(rj), oc->bool_out ? TJ_BOOL : dt);
    for (int64_t i = 0; i < n; i++) {
        int64_t r = sc->ndim == 2 ? i / oshape[1] : 0, c = sc->ndim == 2 ? i % oshape[1] : i;
        double a[2];
        for (int k = 0; k < oc->arity; k++) {
            if (sc->ndim < 2) {
                a[k] = vals[k][sc->ndim == 0 ? 0 : c];
            } else {
                int64_t rk = sc->bcast[k][0] ? 0 : r, ck = sc->bcast[k][1] ? 0 : c;
                a[k] = vals[k][rk * sc->shape[k][1] + ck];
            }
        }
        double want = oc->arity == 1 ? oc->ref1(a[0]) : oc->ref2(a[0], a[1]);
        double gj = tjt_at(rj, i), gr = tjt_at(rr, i);
        uint64_t ulp_j, ulp_r, ulp_jr;
        if (dt == TJ_FLOAT32 && !oc->bool_out) {
            ulp_j = tjt_ulp_f32((float)gj, (float)want);
            ulp_r = tjt_ulp_f32((float)gr, (float)want);
            ulp_jr = tjt_ulp_f32((float)gj, (float)gr);
        } else {
            ulp_j = tjt_ulp_f64(gj, want);
            ulp_r = tjt_ulp_f64(gr, want);
            ulp_jr = tjt_ulp_f64(gj, gr);
        }
        uint64_t tol = oc->acc == EXACT ? 1 : 4;
        cr_expect(ulp_j <= tol && ulp_r <= tol && ulp_jr <= tol,
                  "%s/%s/%s element %lld: jit %.17g ref %.17g expected %.17g", oc->name,
                  sc->name, tj_dtype_name(dt), (long long)i, gj, gr, want);
    }
    for (int k = 0; k < oc->arity; k++)
        tj_array_unref(args[k]);
    tj_array_unref(rj);
    tj_array_unref(rr);
    tj_ctx_free(ctx);
}

Test(ops, every_op_every_shape_float32_and_float64)
{
    tj_dtype dts[2] = {TJ_FLOAT32, TJ_FLOAT64};
    for (size_t o = 0; o < sizeof cases / sizeof *cases; o++)
        for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
            if (cases[o].arity == 1 && !strcmp(shapes[s].name, "broadcast"))
                continue; /* one operand cannot broadcast against itself */
            for (int d = 0; d < 2; d++)
                check_case(&cases[o], &shapes[s], dts[d]);
        }
}

/* One fused kernel computing many ops at once agrees with the double formula. */
Test(ops, fused_expression_matches_formula)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *y = tj_vector(ctx, TJ_FLOAT64, "y");
    tj_var *e = tj_add(tj_mul(tj_tanh(x), tj_exp(tj_neg(y))), tj_div(tj_sqr(x), tj_addc(y, 3)));
    e = tj_switch(tj_gt(x, y), e, tj_maximum(x, y));
    tj_fn *f = tj_function(ctx, (tj_var *[]){x, y}, 2, &e, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    int64_t n = 1001;
    double *xv = malloc(sizeof *xv * (size_t)n), *yv = malloc(sizeof *yv * (size_t)n);
    for (int64_t i = 0; i < n; i++) {
        xv[i] = sin((double)i) * 3;
        yv[i] = cos((double)i * 0.7) * 2;
    }
    tj_array *X = tj_array_from_data(TJ_FLOAT64, 1, &n, xv),
             *Y = tj_array_from_data(TJ_FLOAT64, 1, &n, yv), *r;
    cr_assert_eq(tj_call(f, (tj_array *[]){X, Y}, &r), TJ_OK, "%s", tj_errmsg(ctx));
    for (int64_t i = 0; i < n; i++) {
        double want = xv[i] > yv[i] ? tanh(xv[i]) * exp(-yv[i]) + xv[i] * xv[i] / (yv[i] + 3)
                                    : fmax(xv[i], yv[i]);
        cr_expect(fabs(tjt_at(r, i) - want) <= 1e-14 * fmax(1, fabs(want)), "i=%lld %.17g %.17g",
                  (long long)i, tjt_at(r, i), want);
    }
    tj_array_unref(X);
    tj_array_unref(Y);
    tj_array_unref(r);
    free(xv);
    free(yv);
    tj_ctx_free(ctx);
}

/* Sums and means over axis subsets, keepdims, and their fusion with an elementwise producer. */
Test(ops, reductions_over_axes)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_tensor(ctx, TJ_FLOAT64, 3, NULL, "x");
    int64_t shape[3] = {2, 3, 4};
    double v[24];
    for (int i = 0; i < 24; i++)
        v[i] = (i % 7) - 2.5 + i * 0.125;
    tj_array *X = tj_array_from_data(TJ_FLOAT64, 3, shape, v);
    for (int mask = 0; mask < 8; mask++) {
        int axes[3], na = 0;
        for (int d = 0; d < 3; d++)
            if (mask & (1 << d))
                axes[na++] = d;
        if (na == 0)
            continue;
        for (int keep = 0; keep < 2; keep++) {
            for (int mean = 0; mean < 2; mean++) {
                tj_var *sq = tj_sqr(x);
                tj_var *r = mean ? tj_mean(sq, axes, na, keep) : tj_sum(sq, axes, na, keep);
                tj_fn *f = tj_function(ctx, &x, 1, &r, 1, NULL);
                cr_assert(f, "%s", tj_errmsg(ctx));
                tj_array *out;
                cr_assert_eq(tj_call(f, &X, &out), TJ_OK, "%s", tj_errmsg(ctx));
                cr_assert_eq(tj_array_ndim(out), keep ? 3 : 3 - na);
                /* expected by brute force over the kept index */
                int64_t count = 1;
                for (int d = 0; d < 3; d++)
                    if (mask & (1 << d))
                        count *= shape[d];
                int64_t k = 0;
                for (int64_t i = 0; i < 2; i++)
                    for (int64_t j = 0; j < 3; j++)
                        for (int64_t l = 0; l < 4; l++) {
                            int64_t idx[3] = {i, j, l};
                            bool first = true;
                            for (int d = 0; d < 3; d++)
                                if ((mask & (1 << d)) && idx[d] != 0)
                                    first = false;
                            if (!first)
                                continue;
                            double s = 0;
                            for (int64_t a = 0; a < 2; a++)
                                for (int64_t b = 0; b < 3; b++)
                                    for (int64_t c = 0; c < 4; c++) {
                                        int64_t q[3] = {a, b, c};
                                        bool match = true;
                                        for (int d = 0; d < 3; d++)
                                            if (!(mask & (1 << d)) && q[d] != idx[d])
                                                match = false;
                                        if (match)
                                            s += v[a * 12 + b * 4 + c] * v[a * 12 + b * 4 + c];
                                    }
                            if (mean)
                                s /= (double)count;
                            double got = tjt_at(out, k++);
                            cr_expect(fabs(got - s) <= 1e-12 * fmax(1, fabs(s)),
                                      "mask %d keep %d mean %d: %.17g vs %.17g", mask, keep,
                                      mean, got, s);
                        }
                cr_expect_eq(k, tj_array_size(out));
                tj_array_unref(out);
                tj_fn_free(f);
            }
        }
    }
    tj_array_unref(X);
    tj_ctx_free(ctx);
}

/* dot for every rank combination against a hand loop, with a transposed operand. */
Test(ops, dot_all_ranks)
{
    tj_dtype dts[2] = {TJ_FLOAT32, TJ_FLOAT64};
    for (int t = 0; t < 2; t++) {
        tj_ctx *ctx = tj_ctx_new();
        tj_var *A = tj_matrix(ctx, dts[t], "A"), *B = tj_matrix(ctx, dts[t], "B");
        tj_var *u = tj_vector(ctx, dts[t], "u"), *v = tj_vector(ctx, dts[t], "v");
        double a[12], b[20], uu[4], vv[4];
        for (int i = 0; i < 12; i++)
            a[i] = i * 0.5 - 2;
        for (int i = 0; i < 20; i++)
            b[i] = (i % 5) - 1.5;
        for (int i = 0; i < 4; i++) {
            uu[i] = i + 1;
            vv[i] = 2 - i;
        }
        int64_t as[2] = {3, 4}, bs[2] = {4, 5}, n4 = 4;
        tj_array *AA = tjt_array(dts[t], 2, as, a), *BB = tjt_array(dts[t], 2, bs, b);
        tj_array *U = tjt_array(dts[t], 1, &n4, uu), *V = tjt_array(dts[t], 1, &n4, vv);
        struct { tj_var *l, *r; tj_array *L, *R; int64_t m, n; const double *rv; } c[4] = {
            {A, B, AA, BB, 3, 5, b}, {A, u, AA, U, 3, 1, uu}, {u, B, U, BB, 1, 5, b},
            {u, v, U, V, 1, 1, vv}};
        for (int k = 0; k < 4; k++) {
            tj_var *d = tj_dot(c[k].l, c[k].r);
            tj_var *ins[2] = {c[k].l, c[k].r};
            tj_fn *f = tj_function(ctx, ins, 2, &d, 1, NULL);
            cr_assert(f, "%s", tj_errmsg(ctx));
            tj_array *out;
            cr_assert_eq(tj_call(f, (tj_array *[]){c[k].L, c[k].R}, &out), TJ_OK, "%s",
                         tj_errmsg(ctx));
            for (int64_t i = 0; i < c[k].m; i++)
                for (int64_t j = 0; j < c[k].n; j++) {
                    double s = 0;
                    for (int64_t q = 0; q < 4; q++) {
                        double l = tj_array_ndim(c[k].L) == 2 ? a[i * 4 + q] : uu[q];
                        double r = tj_array_ndim(c[k].R) == 2 ? c[k].rv[q * 5 + j] : c[k].rv[q];
                        s += l * r;
                    }
                    cr_expect(fabs(tjt_at(out, i * c[k].n + j) - s) < 1e-5, "case %d", k);
                }
            tj_array_unref(out);
        }
        /* dot(A^T-view, ...): a transposed operand as a strided view */
        tj_var *dt = tj_dot(tj_transpose(B), u); /* (5,4)·(4,) */
        tj_var *ins[2] = {B, u};
        tj_fn *f = tj_function(ctx, ins, 2, &dt, 1, NULL);
        cr_assert(f, "%s", tj_errmsg(ctx));
        tj_array *out;
        cr_assert_eq(tj_call(f, (tj_array *[]){BB, U}, &out), TJ_OK, "%s", tj_errmsg(ctx));
        for (int64_t j = 0; j < 5; j++) {
            double s = 0;
            for (int64_t q = 0; q < 4; q++)
                s += b[q * 5 + j] * uu[q];
            cr_expect(fabs(tjt_at(out, j) - s) < 1e-5);
        }
        tj_array_unref(out);
        tj_array_unref(AA);
        tj_array_unref(BB);
        tj_array_unref(U);
        tj_array_unref(V);
        tj_ctx_free(ctx);
    }
}

/* Hash-consing: the same expression built twice is the same node. */
Test(ops, hash_consing)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT32, "x");
    cr_expect_eq(tj_exp(tj_addc(x, 1)), tj_exp(tj_addc(x, 1)));
    cr_expect_neq(tj_exp(tj_addc(x, 1)), tj_exp(tj_addc(x, 2)));
    /* a literal keeps float32: x * 0.1 stays float32 */
    cr_expect_eq(tj_var_dtype(tj_mulc(x, 0.1)), TJ_FLOAT32);
    tj_var *i = tj_vector(ctx, TJ_INT32, "i");
    cr_expect_eq(tj_var_dtype(tj_addc(i, 1)), TJ_INT32);
    cr_expect_eq(tj_var_dtype(tj_mulc(i, 0.5)), TJ_FLOAT64);
    cr_expect_eq(tj_var_dtype(tj_add(i, x)), TJ_FLOAT64); /* numpy: int32 + float32 */
    cr_expect_eq(tj_var_dtype(tj_div(i, i)), TJ_FLOAT64);
    tj_ctx_free(ctx);
}
