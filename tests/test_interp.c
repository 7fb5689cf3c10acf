/* The reference executor, op by op, against values computed independently here (by hand or by a
 * double-precision formula). Nodes are made by hand (no builders), so each test states exactly
 * the node the executor sees. */
#include <criterion/criterion.h>

#include "internal.h"
#include "support.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- fixture: a context and a pool of hand-made nodes ---------------------------------------- */

static tj_ctx *ctx;
static tj_var **pool;
static size_t npool, pool_cap;

static void setup(void) { ctx = tj_ctx_new(); }

static void teardown(void)
{
    for (size_t i = 0; i < npool; i++) {
        free(pool[i]->in);
        free(pool[i]->attr);
        free(pool[i]);
    }
    free(pool);
    pool = NULL;
    npool = pool_cap = 0;
    tj_ctx_free(ctx);
}

TestSuite(interp, .init = setup, .fini = teardown);

static tj_var *mk(tj_op op, tj_dtype dt, int ndim, uint32_t bcast, tj_var *const *in, int nin,
                  const int64_t *attr, int nattr)
{
    tj_var *v = calloc(1, sizeof *v);
    cr_assert(v);
    v->magic = TJ_VAR_MAGIC;
    v->op = op;
    v->dtype = dt;
    v->ndim = ndim;
    v->bcast = bcast;
    v->nin = nin;
    if (nin) {
        v->in = calloc((size_t)nin, sizeof *v->in);
        memcpy(v->in, in, (size_t)nin * sizeof *in);
    }
    v->nattr = nattr;
    if (nattr) {
        v->attr = calloc((size_t)nattr, sizeof *v->attr);
        memcpy(v->attr, attr, (size_t)nattr * sizeof *attr);
    }
    v->id = npool + 1;
    if (npool == pool_cap) {
        pool_cap = pool_cap ? 2 * pool_cap : 64;
        pool = realloc(pool, pool_cap * sizeof *pool);
        cr_assert(pool);
    }
    pool[npool++] = v;
    return v;
}

static tj_var *var(tj_dtype dt, int ndim, uint32_t bcast, const char *name)
{
    tj_var *v = mk(TJ_OP_INPUT, dt, ndim, bcast, NULL, 0, NULL, 0);
    v->name = (char *)name;
    return v;
}

/* An elementwise node of dtype dt over 1-3 inputs (NULL ends the list); its broadcastable axes
 * are those every input has. */
static tj_var *ew(tj_op op, tj_dtype dt, tj_var *a, tj_var *b, tj_var *c)
{
    tj_var *in[3] = {a, b, c};
    int n = c ? 3 : b ? 2 : 1;
    uint32_t bc = ~0u;
    for (int i = 0; i < n; i++)
        bc &= in[i]->bcast;
    if (a->ndim < 32)
        bc &= (1u << a->ndim) - 1;
    return mk(op, dt, a->ndim, bc, in, n, NULL, 0);
}

static tj_array *eval1(const tj_var *node, tj_array *const *in)
{
    tj_array *r = NULL;
    tj_status st = tjI_eval_node(ctx, node, in, &r);
    cr_assert_eq(st, TJ_OK, "%s: %s", tjG_ops[node->op].name, tj_errmsg(ctx));
    cr_assert(r);
    cr_assert_eq(r->dtype, node->dtype);
    cr_assert_eq(r->ndim, node->ndim);
    cr_assert(tjA_is_contiguous(r));
    return r;
}

static tj_status eval_err(const tj_var *node, tj_array *const *in)
{
    tj_array *r = (tj_array *)1;
    tj_clear_error(ctx);
    tj_status st = tjI_eval_node(ctx, node, in, &r);
    cr_assert_neq(st, TJ_OK, "%s unexpectedly succeeded", tjG_ops[node->op].name);
    cr_assert_null(r);
    cr_assert_eq(tj_errcode(ctx), st);
    return st;
}

/* ---- arrays ---------------------------------------------------------------------------------- */

static tj_array *arr(tj_dtype dt, int ndim, const int64_t *shape, const double *v)
{
    tj_array *a = tjt_array(dt, ndim, shape, v);
    cr_assert(a);
    return a;
}

static void release_array(void *p) { tj_array_unref(p); }

/* A (rows, cols) transposed view: logical element (i, j) is stored at (j, i) of a contiguous
 * (cols, rows) buffer, so the strides are (elem, rows*elem). */
static tj_array *transposed(tj_dtype dt, int64_t rows, int64_t cols, const double *logical)
{
    double *t = malloc(sizeof(double) * (size_t)(rows * cols + 1));
    for (int64_t i = 0; i < rows; i++)
        for (int64_t j = 0; j < cols; j++)
            t[j * rows + i] = logical[i * cols + j];
    tj_array *base = arr(dt, 2, (int64_t[]){cols, rows}, t);
    free(t);
    int64_t es = (int64_t)tj_dtype_size(dt);
    tj_array *v = tj_array_wrap(dt, 2, (int64_t[]){rows, cols}, (int64_t[]){es, rows * es},
                                base->data, release_array, base);
    cr_assert(v);
    cr_assert_null(tj_array_data(v)); /* really strided */
    return v;
}

/* Raw element i of a contiguous array, exact for int64 (tj_array_get goes through double). */
static int64_t raw_int(const tj_array *a, int64_t i)
{
    const char *p = a->data + i * (int64_t)tj_dtype_size(a->dtype);
    switch (a->dtype) {
    case TJ_BOOL: return *(const uint8_t *)p;
    case TJ_INT8: return *(const int8_t *)p;
    case TJ_INT16: return *(const int16_t *)p;
    case TJ_INT32: return *(const int32_t *)p;
    case TJ_INT64: return *(const int64_t *)p;
    case TJ_UINT8: return *(const uint8_t *)p;
    default: cr_assert_fail("raw_int of a float array"); return 0;
    }
}

static tj_array *int_arr(tj_dtype dt, int64_t n, const int64_t *v)
{
    tj_array *a = tj_array_new(dt, 1, &n);
    cr_assert(a);
    for (int64_t i = 0; i < n; i++) {
        char *p = a->data + i * (int64_t)tj_dtype_size(dt);
        switch (dt) {
        case TJ_BOOL: *(uint8_t *)p = v[i] != 0; break;
        case TJ_INT8: *(int8_t *)p = (int8_t)v[i]; break;
        case TJ_INT16: *(int16_t *)p = (int16_t)v[i]; break;
        case TJ_INT32: *(int32_t *)p = (int32_t)v[i]; break;
        case TJ_INT64: *(int64_t *)p = v[i]; break;
        case TJ_UINT8: *(uint8_t *)p = (uint8_t)v[i]; break;
        default: cr_assert_fail("int_arr of a float dtype");
        }
    }
    return a;
}

/* got (of dtype dt) within `ulps` of want rounded to dt; NaN matches NaN. */
static void expect_near(tj_dtype dt, double got, double want, uint64_t ulps, const char *what,
                        int64_t i)
{
    uint64_t d = dt == TJ_FLOAT32 ? tjt_ulp_f32((float)got, (float)want) : tjt_ulp_f64(got, want);
    cr_expect(d <= ulps, "%s [%lld]: got %.17g, want %.17g (%llu ulp)", what, (long long)i, got,
              want, (unsigned long long)d);
}

/* The element of `a` that output index idx (rank nd) reads, broadcasting length-1 axes. */
static double bget(const tj_array *a, const int64_t *idx)
{
    int64_t j[TJ_MAX_NDIM];
    for (int d = 0; d < a->ndim; d++)
        j[d] = a->shape[d] == 1 ? 0 : idx[d];
    return tj_array_get(a, j);
}

static void unravel(const tj_array *r, int64_t i, int64_t *idx)
{
    for (int d = r->ndim - 1; d >= 0; d--) {
        idx[d] = i % r->shape[d];
        i /= r->shape[d];
    }
}

static double gen_a(int64_t i) { return sin((double)i * 1.3 + 0.5) * 3.0; }
static double gen_b(int64_t i) { return cos((double)i * 0.7 - 0.2) * 2.0; }

/* Shape cases shared by the elementwise tests: (), (5,), (3,4), (0,), a transposed (3,4). */
enum { NCASES = 5 };
static const char *case_name[NCASES] = {"()", "(5,)", "(3,4)", "(0,)", "(3,4) transposed"};

static tj_array *case_array(int c, tj_dtype dt, double (*gen)(int64_t), bool positive)
{
    double v[12];
    for (int i = 0; i < 12; i++)
        v[i] = positive ? fabs(gen(i)) + 0.05 : gen(i);
    switch (c) {
    case 0: return arr(dt, 0, NULL, v);
    case 1: return arr(dt, 1, (int64_t[]){5}, v);
    case 2: return arr(dt, 2, (int64_t[]){3, 4}, v);
    case 3: return arr(dt, 1, (int64_t[]){0}, v);
    default: return transposed(dt, 3, 4, v);
    }
}

static const tj_dtype float_types[2] = {TJ_FLOAT32, TJ_FLOAT64};

/* ---- unary float ops ------------------------------------------------------------------------- */

static double r_neg(double x) { return -x; }
static double r_sqr(double x) { return x * x; }
static double r_inv(double x) { return 1.0 / x; }
/* the stable form the executors use: exp(x) / (1 + exp(x)) below 0 */
static double r_sigmoid(double x)
{
    return x >= 0 ? 1.0 / (1.0 + exp(-x)) : exp(x) / (1.0 + exp(x));
}

static const struct {
    tj_op op;
    double (*ref)(double);
    bool positive;
    uint64_t ulps_f32; /* against the double formula rounded; 0 = correctly rounded */
} unary_ops[] = {
    {TJ_OP_NEG, r_neg, false, 0}, {TJ_OP_ABS, fabs, false, 0},
    {TJ_OP_EXP, exp, false, 1},   {TJ_OP_LOG, log, true, 1},
    {TJ_OP_SQRT, sqrt, true, 0},  {TJ_OP_SQR, r_sqr, false, 0},
    {TJ_OP_INV, r_inv, false, 0}, {TJ_OP_SIGMOID, r_sigmoid, false, 2},
    {TJ_OP_TANH, tanh, false, 2},
};

Test(interp, unary_float_ops_all_shapes)
{
    for (size_t o = 0; o < sizeof unary_ops / sizeof *unary_ops; o++) {
        for (int t = 0; t < 2; t++) {
            tj_dtype dt = float_types[t];
            for (int c = 0; c < NCASES; c++) {
                tj_array *x = case_array(c, dt, gen_a, unary_ops[o].positive);
                tj_var *vx = var(dt, x->ndim, 0, "x");
                tj_var *n = ew(unary_ops[o].op, dt, vx, NULL, NULL);
                tj_array *r = eval1(n, &x);
                cr_assert_eq(r->size, x->size);
                for (int d = 0; d < x->ndim; d++)
                    cr_assert_eq(r->shape[d], x->shape[d]);
                int64_t idx[TJ_MAX_NDIM];
                for (int64_t i = 0; i < r->size; i++) {
                    unravel(r, i, idx);
                    double want = unary_ops[o].ref(tj_array_get(x, idx));
                    char what[96];
                    snprintf(what, sizeof what, "%s %s %s", tjG_ops[n->op].name, tj_dtype_name(dt),
                             case_name[c]);
                    expect_near(dt, tjt_at(r, i), want,
                                dt == TJ_FLOAT32 ? unary_ops[o].ulps_f32 : 0, what, i);
                }
                tj_array_unref(r);
                tj_array_unref(x);
            }
        }
    }
}

/* float32 is computed in float: the results are exactly the float expressions. */
Test(interp, float32_computed_in_float)
{
    double v[64];
    for (int i = 0; i < 64; i++)
        v[i] = (i - 32) * 0.731;
    tj_array *x = arr(TJ_FLOAT32, 1, (int64_t[]){64}, v);
    tj_var *vx = var(TJ_FLOAT32, 1, 0, "x");
    tj_array *sg = eval1(ew(TJ_OP_SIGMOID, TJ_FLOAT32, vx, NULL, NULL), &x);
    tj_array *ex = eval1(ew(TJ_OP_EXP, TJ_FLOAT32, vx, NULL, NULL), &x);
    tj_array *th = eval1(ew(TJ_OP_TANH, TJ_FLOAT32, vx, NULL, NULL), &x);
    const float *xs = tj_array_data(x);
    for (int i = 0; i < 64; i++) {
        /* the stable form: e / (1 + e) with e = exp(x) below 0 (no underflow to 0) */
        float e = expf(xs[i]), s = xs[i] >= 0 ? 1.0f / (1.0f + expf(-xs[i])) : e / (1.0f + e);
        cr_expect_eq(((float *)sg->data)[i], s, "sigmoid(%g)", xs[i]);
        cr_expect_eq(((float *)ex->data)[i], expf(xs[i]));
        cr_expect_eq(((float *)th->data)[i], tanhf(xs[i]));
    }
    tj_array_unref(sg);
    tj_array_unref(ex);
    tj_array_unref(th);
    tj_array_unref(x);
}

Test(interp, unary_special_values)
{
    double v[] = {-1.0, 0.0, -0.0, INFINITY, -INFINITY, NAN, 1000.0, -1000.0};
    for (int t = 0; t < 2; t++) {
        tj_dtype dt = float_types[t];
        tj_array *x = arr(dt, 1, (int64_t[]){8}, v);
        tj_var *vx = var(dt, 1, 0, "x");
        tj_array *lg = eval1(ew(TJ_OP_LOG, dt, vx, NULL, NULL), &x);
        tj_array *sq = eval1(ew(TJ_OP_SQRT, dt, vx, NULL, NULL), &x);
        tj_array *sg = eval1(ew(TJ_OP_SIGMOID, dt, vx, NULL, NULL), &x);
        tj_array *iv = eval1(ew(TJ_OP_INV, dt, vx, NULL, NULL), &x);
        tj_array *ab = eval1(ew(TJ_OP_ABS, dt, vx, NULL, NULL), &x);
        cr_expect(isnan(tjt_at(lg, 0)));
        cr_expect(isinf(tjt_at(lg, 1)) && tjt_at(lg, 1) < 0);
        cr_expect(isnan(tjt_at(lg, 5)));
        cr_expect(isnan(tjt_at(sq, 0)));
        cr_expect(signbit(tjt_at(sq, 2)));
        cr_expect_eq(tjt_at(sg, 3), 1.0);
        cr_expect_eq(tjt_at(sg, 4), 0.0);
        cr_expect(isnan(tjt_at(sg, 5)));
        cr_expect_eq(tjt_at(sg, 6), 1.0);
        cr_expect_eq(tjt_at(sg, 7), 0.0);
        cr_expect(isinf(tjt_at(iv, 1)) && tjt_at(iv, 1) > 0);
        cr_expect(isinf(tjt_at(iv, 2)) && tjt_at(iv, 2) < 0);
        cr_expect(!signbit(tjt_at(ab, 2)));
        cr_expect(isnan(tjt_at(ab, 5)));
        tj_array *all[] = {lg, sq, sg, iv, ab, x};
        for (int i = 0; i < 6; i++)
            tj_array_unref(all[i]);
    }
}

/* ---- binary float ops ------------------------------------------------------------------------ */

static double r_add(double a, double b) { return a + b; }
static double r_sub(double a, double b) { return a - b; }
static double r_mul(double a, double b) { return a * b; }
static double r_div(double a, double b) { return a / b; }
static double r_max(double a, double b) { return a > b ? a : b; }
static double r_min(double a, double b) { return a < b ? a : b; }
static double r_gt(double a, double b) { return a > b; }
static double r_lt(double a, double b) { return a < b; }
static double r_ge(double a, double b) { return a >= b; }
static double r_le(double a, double b) { return a <= b; }
static double r_eq(double a, double b) { return a == b; }
static double r_neq(double a, double b) { return a != b; }
static double r_second(double a, double b)
{
    (void)a;
    return b;
}

static const struct {
    tj_op op;
    double (*ref)(double, double);
    bool positive_a;
    uint64_t ulps_f32;
} binary_ops[] = {
    {TJ_OP_ADD, r_add, false, 0},     {TJ_OP_SUB, r_sub, false, 0},
    {TJ_OP_MUL, r_mul, false, 0},     {TJ_OP_DIV, r_div, false, 0},
    {TJ_OP_POW, pow, true, 1},        {TJ_OP_MAXIMUM, r_max, false, 0},
    {TJ_OP_MINIMUM, r_min, false, 0}, {TJ_OP_GT, r_gt, false, 0},
    {TJ_OP_LT, r_lt, false, 0},       {TJ_OP_GE, r_ge, false, 0},
    {TJ_OP_LE, r_le, false, 0},       {TJ_OP_EQ, r_eq, false, 0},
    {TJ_OP_NEQ, r_neq, false, 0},     {TJ_OP_SECOND, r_second, false, 0},
};

/* Binary shape cases: the five of case_array paired with themselves (the transposed one with a
 * contiguous (3,4)), plus the broadcast (3,1) + (1,4) and an empty broadcast (0,4) + (1,4). */
enum { NBCASES = NCASES + 2 };

static void binary_case(int c, tj_dtype dt, bool pos_a, tj_array **a, tj_array **b, uint32_t *ba,
                        uint32_t *bb)
{
    *ba = *bb = 0;
    if (c < NCASES) {
        *a = case_array(c, dt, gen_a, pos_a);
        *b = case_array(c == 4 ? 2 : c, dt, gen_b, false);
    } else {
        double va[12], vb[12];
        for (int i = 0; i < 12; i++) {
            va[i] = pos_a ? fabs(gen_a(i)) + 0.05 : gen_a(i);
            vb[i] = gen_b(i);
        }
        if (c == NCASES) { /* (3,1) + (1,4) */
            *a = arr(dt, 2, (int64_t[]){3, 1}, va);
            *ba = 2u;
        } else { /* (0,4) + (1,4) */
            *a = arr(dt, 2, (int64_t[]){0, 4}, va);
        }
        *b = arr(dt, 2, (int64_t[]){1, 4}, vb);
        *bb = 1u;
    }
    /* make some elements equal so EQ/NEQ/GE/LE see ties */
    if ((*a)->size && (*a)->size == (*b)->size && tj_array_data(*b) && !pos_a) {
        int64_t idx[TJ_MAX_NDIM];
        unravel(*b, 0, idx);
        tj_array_set(*b, idx, tj_array_get(*a, idx));
    }
}

Test(interp, binary_float_ops_all_shapes)
{
    for (size_t o = 0; o < sizeof binary_ops / sizeof *binary_ops; o++) {
        tj_op op = binary_ops[o].op;
        for (int t = 0; t < 2; t++) {
            tj_dtype dt = float_types[t];
            tj_dtype odt = tj_op_is(op, OPF_BOOLOUT) ? TJ_BOOL : dt;
            for (int c = 0; c < NBCASES; c++) {
                tj_array *a, *b;
                uint32_t ba, bb;
                binary_case(c, dt, binary_ops[o].positive_a, &a, &b, &ba, &bb);
                tj_var *va = var(dt, a->ndim, ba, "a"), *vb = var(dt, b->ndim, bb, "b");
                tj_var *n = ew(op, odt, va, vb, NULL);
                tj_array *in[2] = {a, b};
                tj_array *r = eval1(n, in);
                int64_t want_size = 1;
                for (int d = 0; d < r->ndim; d++) {
                    int64_t len = a->shape[d] == 1 && ((ba >> d) & 1) ? b->shape[d] : a->shape[d];
                    cr_assert_eq(r->shape[d], len, "%s case %d axis %d", tjG_ops[op].name, c, d);
                    want_size *= len;
                }
                cr_assert_eq(r->size, want_size);
                int64_t idx[TJ_MAX_NDIM];
                char what[96];
                snprintf(what, sizeof what, "%s %s case %d", tjG_ops[op].name, tj_dtype_name(dt),
                         c);
                for (int64_t i = 0; i < r->size; i++) {
                    unravel(r, i, idx);
                    double want = binary_ops[o].ref(bget(a, idx), bget(b, idx));
                    expect_near(odt == TJ_BOOL ? TJ_FLOAT64 : dt, tjt_at(r, i), want,
                                dt == TJ_FLOAT32 ? binary_ops[o].ulps_f32 : 0, what, i);
                }
                tj_array_unref(r);
                tj_array_unref(a);
                tj_array_unref(b);
            }
        }
    }
}

/* numpy: maximum/minimum propagate NaN; comparisons with NaN are false except !=. */
Test(interp, nan_in_maximum_minimum_and_comparisons)
{
    double av[] = {NAN, 1.0, NAN, -0.0, 2.0};
    double bv[] = {1.0, NAN, NAN, 0.0, 2.0};
    for (int t = 0; t < 2; t++) {
        tj_dtype dt = float_types[t];
        tj_array *in[2] = {arr(dt, 1, (int64_t[]){5}, av), arr(dt, 1, (int64_t[]){5}, bv)};
        tj_var *a = var(dt, 1, 0, "a"), *b = var(dt, 1, 0, "b");
        tj_array *mx = eval1(ew(TJ_OP_MAXIMUM, dt, a, b, NULL), in);
        tj_array *mn = eval1(ew(TJ_OP_MINIMUM, dt, a, b, NULL), in);
        for (int i = 0; i < 3; i++) {
            cr_expect(isnan(tjt_at(mx, i)), "maximum [%d]", i);
            cr_expect(isnan(tjt_at(mn, i)), "minimum [%d]", i);
        }
        cr_expect_eq(tjt_at(mx, 3), 0.0);
        cr_expect_eq(tjt_at(mn, 3), 0.0);
        cr_expect_eq(tjt_at(mx, 4), 2.0);
        tj_op cmp[] = {TJ_OP_GT, TJ_OP_LT, TJ_OP_GE, TJ_OP_LE, TJ_OP_EQ, TJ_OP_NEQ};
        for (int k = 0; k < 6; k++) {
            tj_array *r = eval1(ew(cmp[k], TJ_BOOL, a, b, NULL), in);
            for (int i = 0; i < 3; i++)
                cr_expect_eq(raw_int(r, i), cmp[k] == TJ_OP_NEQ, "%s [%d]", tjG_ops[cmp[k]].name,
                             i);
            /* -0.0 == 0.0 */
            cr_expect_eq(raw_int(r, 3),
                         cmp[k] == TJ_OP_GE || cmp[k] == TJ_OP_LE || cmp[k] == TJ_OP_EQ);
            tj_array_unref(r);
        }
        tj_array_unref(mx);
        tj_array_unref(mn);
        tj_array_unref(in[0]);
        tj_array_unref(in[1]);
    }
}

/* ---- integers: wrapping, pow, comparisons ---------------------------------------------------- */

static tj_array *int_binop(tj_op op, tj_dtype dt, int64_t n, const int64_t *av, const int64_t *bv)
{
    tj_array *in[2] = {int_arr(dt, n, av), int_arr(dt, n, bv)};
    tj_var *a = var(dt, 1, 0, "a"), *b = var(dt, 1, 0, "b");
    tj_array *r = eval1(ew(op, tj_op_is(op, OPF_BOOLOUT) ? TJ_BOOL : dt, a, b, NULL), in);
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
    return r;
}

static tj_array *int_unop(tj_op op, tj_dtype dt, int64_t n, const int64_t *av)
{
    tj_array *x = int_arr(dt, n, av);
    tj_array *r = eval1(ew(op, dt, var(dt, 1, 0, "x"), NULL, NULL), &x);
    tj_array_unref(x);
    return r;
}

static void expect_ints(tj_array *r, int64_t n, const int64_t *want, const char *what)
{
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(raw_int(r, i), want[i], "%s [%lld]: got %lld want %lld", what, (long long)i,
                     (long long)raw_int(r, i), (long long)want[i]);
    tj_array_unref(r);
}

Test(interp, integer_arithmetic_wraps)
{
    /* int8 */
    expect_ints(
        int_binop(TJ_OP_ADD, TJ_INT8, 3, (int64_t[]){100, -128, 5}, (int64_t[]){100, -1, -7}), 3,
        (int64_t[]){-56, 127, -2}, "int8 add");
    expect_ints(int_binop(TJ_OP_MUL, TJ_INT8, 2, (int64_t[]){16, -128}, (int64_t[]){16, -1}), 2,
                (int64_t[]){0, -128}, "int8 mul");
    expect_ints(int_unop(TJ_OP_NEG, TJ_INT8, 2, (int64_t[]){-128, 5}), 2, (int64_t[]){-128, -5},
                "int8 neg");
    expect_ints(int_unop(TJ_OP_ABS, TJ_INT8, 3, (int64_t[]){-128, -5, 7}), 3,
                (int64_t[]){-128, 5, 7}, "int8 abs");
    expect_ints(int_unop(TJ_OP_SQR, TJ_INT8, 2, (int64_t[]){12, -11}), 2, (int64_t[]){-112, 121},
                "int8 sqr");
    /* uint8 */
    expect_ints(int_binop(TJ_OP_ADD, TJ_UINT8, 2, (int64_t[]){200, 255}, (int64_t[]){100, 1}), 2,
                (int64_t[]){44, 0}, "uint8 add");
    expect_ints(int_binop(TJ_OP_SUB, TJ_UINT8, 2, (int64_t[]){0, 3}, (int64_t[]){1, 5}), 2,
                (int64_t[]){255, 254}, "uint8 sub");
    expect_ints(int_unop(TJ_OP_NEG, TJ_UINT8, 2, (int64_t[]){1, 0}), 2, (int64_t[]){255, 0},
                "uint8 neg");
    expect_ints(int_unop(TJ_OP_ABS, TJ_UINT8, 1, (int64_t[]){200}), 1, (int64_t[]){200},
                "uint8 abs");
    /* int32 */
    expect_ints(
        int_binop(TJ_OP_ADD, TJ_INT32, 2, (int64_t[]){INT32_MAX, INT32_MIN}, (int64_t[]){1, -1}), 2,
        (int64_t[]){INT32_MIN, INT32_MAX}, "int32 add");
    expect_ints(
        int_binop(TJ_OP_MUL, TJ_INT32, 2, (int64_t[]){65536, 46341}, (int64_t[]){65536, 46341}), 2,
        (int64_t[]){0, -2147479015}, "int32 mul");
    expect_ints(int_binop(TJ_OP_SUB, TJ_INT32, 1, (int64_t[]){INT32_MIN}, (int64_t[]){1}), 1,
                (int64_t[]){INT32_MAX}, "int32 sub");
    /* int64 */
    expect_ints(int_binop(TJ_OP_ADD, TJ_INT64, 1, (int64_t[]){INT64_MAX}, (int64_t[]){1}), 1,
                (int64_t[]){INT64_MIN}, "int64 add");
    expect_ints(int_binop(TJ_OP_MUL, TJ_INT64, 2, (int64_t[]){INT64_MAX, 3037000500},
                          (int64_t[]){2, 3037000500}),
                2, (int64_t[]){-2, -9223372036709301616}, "int64 mul");
    expect_ints(int_unop(TJ_OP_NEG, TJ_INT64, 2, (int64_t[]){INT64_MIN, INT64_MAX}), 2,
                (int64_t[]){INT64_MIN, -INT64_MAX}, "int64 neg");
    expect_ints(int_unop(TJ_OP_ABS, TJ_INT64, 1, (int64_t[]){INT64_MIN}), 1, (int64_t[]){INT64_MIN},
                "int64 abs");
    /* int16 */
    expect_ints(int_binop(TJ_OP_ADD, TJ_INT16, 1, (int64_t[]){32767}, (int64_t[]){1}), 1,
                (int64_t[]){-32768}, "int16 add");
}

Test(interp, integer_pow)
{
    int64_t base[] = {2, 2, 3, -2, 0, 2, 1, -1, -1, 0, 7};
    int64_t ex[] = {10, 30, 5, 3, 0, -1, -5, -3, -4, 3, 1};
    expect_ints(int_binop(TJ_OP_POW, TJ_INT32, 11, base, ex), 11,
                (int64_t[]){1024, 1073741824, 243, -8, 1, 0, 1, -1, 1, 0, 7}, "int32 pow");
    expect_ints(int_binop(TJ_OP_POW, TJ_INT8, 4, (int64_t[]){2, 3, 2, -3}, (int64_t[]){7, 5, 8, 3}),
                4, (int64_t[]){-128, -13, 0, -27}, "int8 pow");
    expect_ints(int_binop(TJ_OP_POW, TJ_UINT8, 2, (int64_t[]){3, 2}, (int64_t[]){5, 9}), 2,
                (int64_t[]){243, 0}, "uint8 pow");
    /* 3^40 = 12157665459056928801 wraps to 12157665459056928801 - 2^64 */
    expect_ints(int_binop(TJ_OP_POW, TJ_INT64, 2, (int64_t[]){3, 2}, (int64_t[]){40, 63}), 2,
                (int64_t[]){-6289078614652622815, INT64_MIN}, "int64 pow");
}

Test(interp, integer_and_bool_comparisons_and_extrema)
{
    int64_t a[] = {-5, 3, 7, INT64_MIN};
    int64_t b[] = {3, 3, -7, INT64_MAX};
    tj_dtype types[] = {TJ_INT8, TJ_INT32, TJ_INT64};
    for (int t = 0; t < 3; t++) {
        int64_t n = types[t] == TJ_INT64 ? 4 : 3;
        expect_ints(int_binop(TJ_OP_GT, types[t], n, a, b), n, (int64_t[]){0, 0, 1, 0}, "gt");
        expect_ints(int_binop(TJ_OP_LE, types[t], n, a, b), n, (int64_t[]){1, 1, 0, 1}, "le");
        expect_ints(int_binop(TJ_OP_EQ, types[t], n, a, b), n, (int64_t[]){0, 1, 0, 0}, "eq");
        expect_ints(int_binop(TJ_OP_NEQ, types[t], n, a, b), n, (int64_t[]){1, 0, 1, 1}, "neq");
        expect_ints(int_binop(TJ_OP_MAXIMUM, types[t], n, a, b), n, (int64_t[]){3, 3, 7, INT64_MAX},
                    "maximum");
        expect_ints(int_binop(TJ_OP_MINIMUM, types[t], n, a, b), n,
                    (int64_t[]){-5, 3, -7, INT64_MIN}, "minimum");
    }
    /* uint8 compares unsigned */
    expect_ints(int_binop(TJ_OP_GT, TJ_UINT8, 1, (int64_t[]){200}, (int64_t[]){100}), 1,
                (int64_t[]){1}, "uint8 gt");
    /* bool: add is or, mul is and, maximum/minimum likewise */
    int64_t p[] = {0, 0, 1, 1}, q[] = {0, 1, 0, 1};
    expect_ints(int_binop(TJ_OP_ADD, TJ_BOOL, 4, p, q), 4, (int64_t[]){0, 1, 1, 1}, "bool add");
    expect_ints(int_binop(TJ_OP_MUL, TJ_BOOL, 4, p, q), 4, (int64_t[]){0, 0, 0, 1}, "bool mul");
    expect_ints(int_binop(TJ_OP_MAXIMUM, TJ_BOOL, 4, p, q), 4, (int64_t[]){0, 1, 1, 1}, "bool max");
    expect_ints(int_binop(TJ_OP_MINIMUM, TJ_BOOL, 4, p, q), 4, (int64_t[]){0, 0, 0, 1}, "bool min");
    expect_ints(int_binop(TJ_OP_GT, TJ_BOOL, 4, p, q), 4, (int64_t[]){0, 0, 1, 0}, "bool gt");
    expect_ints(int_binop(TJ_OP_EQ, TJ_BOOL, 4, p, q), 4, (int64_t[]){1, 0, 0, 1}, "bool eq");
}

/* Integer ops through the same shape cases as the floats: broadcast, strided, empty, 0-d. */
Test(interp, integer_ops_broadcast_strided_empty)
{
    double col[3] = {100, -7, 2}, row[4] = {30, -40, 5, 127}, v[12];
    for (int i = 0; i < 12; i++)
        v[i] = i * 37 - 200;
    tj_dtype types[] = {TJ_INT8, TJ_INT32, TJ_INT64, TJ_UINT8};
    for (int t = 0; t < 4; t++) {
        tj_dtype dt = types[t];
        int bits = (int)tj_dtype_size(dt) * 8;
        /* (3,1) + (1,4), wrapped to the width by hand */
        tj_array *in[2] = {arr(dt, 2, (int64_t[]){3, 1}, col), arr(dt, 2, (int64_t[]){1, 4}, row)};
        tj_var *a = var(dt, 2, 2, "a"), *b = var(dt, 2, 1, "b");
        tj_array *r = eval1(ew(TJ_OP_ADD, dt, a, b, NULL), in);
        cr_assert(r->shape[0] == 3 && r->shape[1] == 4);
        for (int i = 0; i < 3; i++) {
            for (int j = 0; j < 4; j++) {
                int64_t x = (int64_t)tj_array_get(in[0], (int64_t[]){i, 0});
                int64_t y = (int64_t)tj_array_get(in[1], (int64_t[]){0, j});
                int64_t w = x + y; /* small: no overflow in int64 */
                if (bits < 64) {
                    w &= (1LL << bits) - 1;
                    if (dt != TJ_UINT8 && w >= (1LL << (bits - 1)))
                        w -= 1LL << bits;
                }
                cr_expect_eq(raw_int(r, i * 4 + j), w, "%s add [%d,%d]", tj_dtype_name(dt), i, j);
            }
        }
        tj_array_unref(r);
        tj_array_unref(in[0]);
        tj_array_unref(in[1]);
        /* transposed (3,4) times itself; the int8 products wrap */
        tj_array *tr = transposed(dt, 3, 4, v);
        tj_var *vt = var(dt, 2, 0, "t");
        tj_array *sq = eval1(ew(TJ_OP_MUL, dt, vt, vt, NULL), (tj_array *[]){tr, tr});
        tj_array *sq2 = eval1(ew(TJ_OP_SQR, dt, vt, NULL, NULL), &tr);
        for (int i = 0; i < 12; i++) {
            int64_t x = (int64_t)tjt_at(tr, i), w = x * x;
            if (bits < 64) {
                w &= (1LL << bits) - 1;
                if (dt != TJ_UINT8 && w >= (1LL << (bits - 1)))
                    w -= 1LL << bits;
            }
            cr_expect_eq(raw_int(sq, i), w, "%s mul [%d]", tj_dtype_name(dt), i);
            cr_expect_eq(raw_int(sq2, i), w, "%s sqr [%d]", tj_dtype_name(dt), i);
        }
        tj_array_unref(sq);
        tj_array_unref(sq2);
        tj_array_unref(tr);
        /* empty and 0-d */
        tj_array *e = arr(dt, 1, (int64_t[]){0}, v);
        tj_var *ve = var(dt, 1, 0, "e");
        r = eval1(ew(TJ_OP_SUB, dt, ve, ve, NULL), (tj_array *[]){e, e});
        cr_expect(r->ndim == 1 && r->shape[0] == 0);
        tj_array_unref(r);
        tj_array_unref(e);
        tj_array *z = arr(dt, 0, NULL, (double[]){5});
        tj_var *vz = var(dt, 0, 0, "z");
        r = eval1(ew(TJ_OP_POW, dt, vz, vz, NULL), (tj_array *[]){z, z});
        cr_expect_eq(raw_int(r, 0), bits == 8 ? 53 : 3125); /* 5^5 = 3125 = 53 mod 256 */
        tj_array_unref(r);
        tj_array_unref(z);
    }
    /* bool abs is the identity, and 32-bit negation/abs wrap at INT32_MIN */
    expect_ints(int_unop(TJ_OP_ABS, TJ_BOOL, 2, (int64_t[]){1, 0}), 2, (int64_t[]){1, 0},
                "bool abs");
    expect_ints(int_unop(TJ_OP_NEG, TJ_INT32, 2, (int64_t[]){INT32_MIN, 7}), 2,
                (int64_t[]){INT32_MIN, -7}, "int32 neg");
    expect_ints(int_unop(TJ_OP_ABS, TJ_INT32, 2, (int64_t[]){INT32_MIN, -7}), 2,
                (int64_t[]){INT32_MIN, 7}, "int32 abs");
    expect_ints(int_unop(TJ_OP_SQR, TJ_INT32, 1, (int64_t[]){65536}), 1, (int64_t[]){0},
                "int32 sqr");
}

Test(interp, switch_of_integers_and_bools)
{
    tj_array *c = int_arr(TJ_BOOL, 4, (int64_t[]){1, 0, 0, 1});
    tj_var *vc = var(TJ_BOOL, 1, 0, "c");
    tj_dtype types[] = {TJ_INT64, TJ_BOOL, TJ_UINT8, TJ_INT16, TJ_INT32}; /* each element size */
    for (int t = 0; t < 5; t++) {
        tj_dtype dt = types[t];
        tj_array *a = int_arr(dt, 4, (int64_t[]){INT64_MAX, 1, 1, 0});
        tj_array *b = int_arr(dt, 4, (int64_t[]){-1, 0, 0x7fff, 1});
        tj_var *va = var(dt, 1, 0, "a"), *vb = var(dt, 1, 0, "b");
        tj_array *r = eval1(ew(TJ_OP_SWITCH, dt, vc, va, vb), (tj_array *[]){c, a, b});
        for (int i = 0; i < 4; i++)
            cr_expect_eq(raw_int(r, i), raw_int(i == 0 || i == 3 ? a : b, i), "%s [%d]",
                         tj_dtype_name(dt), i);
        tj_array_unref(r);
        tj_array_unref(a);
        tj_array_unref(b);
    }
    tj_array_unref(c);
}

/* ---- switch, second, cast -------------------------------------------------------------------- */

Test(interp, switch_broadcasts_condition)
{
    /* cond (3,1), a (1,4), b (3,4) */
    tj_array *cond = int_arr(TJ_BOOL, 3, (int64_t[]){1, 0, 1});
    tj_array *c2 =
        tj_array_wrap(TJ_BOOL, 2, (int64_t[]){3, 1}, NULL, cond->data, release_array, cond);
    double av[] = {1, 2, 3, 4}, bv[12];
    for (int i = 0; i < 12; i++)
        bv[i] = -i;
    for (int t = 0; t < 2; t++) {
        tj_dtype dt = float_types[t];
        tj_array *in[3] = {c2, arr(dt, 2, (int64_t[]){1, 4}, av),
                           arr(dt, 2, (int64_t[]){3, 4}, bv)};
        tj_var *vc = var(TJ_BOOL, 2, 2, "c"), *va = var(dt, 2, 1, "a"), *vb = var(dt, 2, 0, "b");
        tj_array *r = eval1(ew(TJ_OP_SWITCH, dt, vc, va, vb), in);
        cr_assert_eq(r->shape[0], 3);
        cr_assert_eq(r->shape[1], 4);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                cr_expect_eq(tjt_at(r, i * 4 + j), i != 1 ? av[j] : bv[i * 4 + j]);
        tj_array_unref(r);
        tj_array_unref(in[1]);
        tj_array_unref(in[2]);
    }
    /* a condition that is not bool is a malformed node */
    tj_array *f = int_arr(TJ_INT32, 3, (int64_t[]){1, 0, 1});
    tj_var *vi = var(TJ_INT32, 1, 0, "i");
    tj_array *in[3] = {f, f, f};
    cr_expect_eq(eval_err(ew(TJ_OP_SWITCH, TJ_INT32, vi, vi, vi), in), TJ_ERR_INVALID);
    tj_array_unref(f);
    tj_array_unref(c2);
}

Test(interp, second_takes_shape_from_a_and_values_from_b)
{
    double av[] = {9, 9, 9};
    tj_array *in[2] = {arr(TJ_FLOAT64, 2, (int64_t[]){3, 1}, av),
                       int_arr(TJ_INT32, 4, (int64_t[]){1, -2, 3, -4})};
    tj_array *b2 =
        tj_array_wrap(TJ_INT32, 2, (int64_t[]){1, 4}, NULL, in[1]->data, release_array, in[1]);
    in[1] = b2;
    tj_var *va = var(TJ_FLOAT64, 2, 2, "a"), *vb = var(TJ_INT32, 2, 1, "b");
    tj_array *r = eval1(ew(TJ_OP_SECOND, TJ_INT32, va, vb, NULL), in);
    cr_assert_eq(r->shape[0], 3);
    cr_assert_eq(r->shape[1], 4);
    for (int i = 0; i < 12; i++)
        cr_expect_eq(raw_int(r, i), ((int64_t[]){1, -2, 3, -4})[i % 4]);
    tj_array_unref(r);
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
}

static tj_array *cast_node(tj_array *x, tj_dtype to)
{
    int64_t attr = to;
    tj_var *vx = var(x->dtype, x->ndim, 0, "x");
    tj_var *n = mk(TJ_OP_CAST, to, x->ndim, 0, &vx, 1, &attr, 1);
    return eval1(n, &x);
}

Test(interp, cast_conversions)
{
    /* int -> int wraps */
    tj_array *i64 = int_arr(TJ_INT64, 5, (int64_t[]){300, -1, 4294967301LL, -129, INT64_MIN});
    expect_ints(cast_node(i64, TJ_UINT8), 5, (int64_t[]){44, 255, 5, 127, 0}, "int64->uint8");
    expect_ints(cast_node(i64, TJ_INT8), 5, (int64_t[]){44, -1, 5, 127, 0}, "int64->int8");
    expect_ints(cast_node(i64, TJ_INT32), 5, (int64_t[]){300, -1, 5, -129, 0}, "int64->int32");
    expect_ints(cast_node(i64, TJ_BOOL), 5, (int64_t[]){1, 1, 1, 1, 1}, "int64->bool");
    tj_array_unref(i64);
    tj_array *i16 = int_arr(TJ_INT16, 2, (int64_t[]){-1, 256});
    expect_ints(cast_node(i16, TJ_UINT8), 2, (int64_t[]){255, 0}, "int16->uint8");
    tj_array_unref(i16);
    tj_array *u8 = int_arr(TJ_UINT8, 1, (int64_t[]){255});
    expect_ints(cast_node(u8, TJ_INT8), 1, (int64_t[]){-1}, "uint8->int8");
    expect_ints(cast_node(u8, TJ_INT64), 1, (int64_t[]){255}, "uint8->int64");
    tj_array_unref(u8);

    /* float -> int: truncation, NaN -> 0, saturation */
    double fv[] = {3.7, -3.7, NAN, 1e30, -1e30, 300.5, -0.5};
    tj_array *f64 = arr(TJ_FLOAT64, 1, (int64_t[]){7}, fv);
    expect_ints(cast_node(f64, TJ_INT32), 7, (int64_t[]){3, -3, 0, INT32_MAX, INT32_MIN, 300, 0},
                "float64->int32");
    expect_ints(cast_node(f64, TJ_INT64), 7, (int64_t[]){3, -3, 0, INT64_MAX, INT64_MIN, 300, 0},
                "float64->int64");
    expect_ints(cast_node(f64, TJ_UINT8), 7, (int64_t[]){3, 0, 0, 255, 0, 255, 0},
                "float64->uint8");
    expect_ints(cast_node(f64, TJ_INT8), 7, (int64_t[]){3, -3, 0, 127, -128, 127, 0},
                "float64->int8");
    tj_array_unref(f64);
    tj_array *f32 = arr(TJ_FLOAT32, 1, (int64_t[]){7}, fv);
    expect_ints(cast_node(f32, TJ_INT16), 7, (int64_t[]){3, -3, 0, INT16_MAX, INT16_MIN, 300, 0},
                "float32->int16");
    tj_array_unref(f32);

    /* -> bool is != 0; NaN is true, -0.0 false */
    double bvals[] = {0.0, -0.0, NAN, 0.5, -2};
    tj_array *fb = arr(TJ_FLOAT32, 1, (int64_t[]){5}, bvals);
    expect_ints(cast_node(fb, TJ_BOOL), 5, (int64_t[]){0, 0, 1, 1, 1}, "float32->bool");
    tj_array_unref(fb);

    /* int -> float rounds once: 2^24+1 -> float32 2^24, 2^53+1 -> float64 2^53 */
    tj_array *big =
        int_arr(TJ_INT64, 4, (int64_t[]){16777217, 9007199254740993LL, -7, 1152921573326323713LL});
    tj_array *r32 = cast_node(big, TJ_FLOAT32), *r64 = cast_node(big, TJ_FLOAT64);
    cr_expect_eq(((float *)r32->data)[0], 16777216.0f);
    cr_expect_eq(((float *)r32->data)[1], (float)9007199254740993LL);
    /* 2^60 + 2^36 + 1: through double it would tie and round down to 2^60 */
    cr_expect_eq(((float *)r32->data)[3], ldexpf(1.0f, 60) + ldexpf(1.0f, 37));
    cr_expect_eq(((double *)r64->data)[1], 9007199254740992.0);
    cr_expect_eq(((double *)r64->data)[2], -7.0);
    tj_array_unref(r32);
    tj_array_unref(r64);
    tj_array_unref(big);

    /* float64 -> float32 rounds to nearest; float32 -> float64 exact; bool -> float */
    double pv[] = {0.1, 1e40, -1e-50};
    tj_array *p = arr(TJ_FLOAT64, 1, (int64_t[]){3}, pv);
    tj_array *q = cast_node(p, TJ_FLOAT32);
    cr_expect_eq(((float *)q->data)[0], 0.1f);
    cr_expect(isinf(((float *)q->data)[1]));
    cr_expect(((float *)q->data)[2] == 0.0f && signbit(((float *)q->data)[2]));
    tj_array *q64 = cast_node(q, TJ_FLOAT64);
    cr_expect_eq(((double *)q64->data)[0], (double)0.1f);
    tj_array_unref(q64);
    tj_array_unref(q);
    tj_array_unref(p);
    tj_array *bl = int_arr(TJ_BOOL, 2, (int64_t[]){1, 0});
    tj_array *bf = cast_node(bl, TJ_FLOAT64);
    cr_expect_eq(((double *)bf->data)[0], 1.0);
    cr_expect_eq(((double *)bf->data)[1], 0.0);
    tj_array_unref(bf);
    tj_array_unref(bl);
}

Test(interp, cast_of_strided_and_empty)
{
    double v[12];
    for (int i = 0; i < 12; i++)
        v[i] = i * 1.5 - 4;
    tj_array *t = transposed(TJ_FLOAT64, 3, 4, v);
    tj_array *r = cast_node(t, TJ_INT32);
    for (int i = 0; i < 12; i++)
        cr_expect_eq(raw_int(r, i), (int64_t)v[i]);
    tj_array_unref(r);
    tj_array_unref(t);
    tj_array *e = arr(TJ_INT32, 1, (int64_t[]){0}, v);
    r = cast_node(e, TJ_FLOAT32);
    cr_expect_eq(r->size, 0);
    tj_array_unref(r);
    tj_array_unref(e);
}

/* ---- type and broadcasting errors ------------------------------------------------------------ */

Test(interp, shape_mismatch_names_axis_and_lengths)
{
    double v[20] = {0};
    tj_array *in[2] = {arr(TJ_FLOAT32, 2, (int64_t[]){3, 4}, v),
                       arr(TJ_FLOAT32, 2, (int64_t[]){3, 5}, v)};
    tj_var *a = var(TJ_FLOAT32, 2, 0, "a"), *b = var(TJ_FLOAT32, 2, 0, "b");
    tj_var *n = ew(TJ_OP_ADD, TJ_FLOAT32, a, b, NULL);
    n->name = "total";
    cr_assert_eq(eval_err(n, in), TJ_ERR_SHAPE);
    const char *m = tj_errmsg(ctx);
    cr_expect(strstr(m, "axis 1"), "%s", m);
    cr_expect(strstr(m, "length 4"), "%s", m);
    cr_expect(strstr(m, "length 5"), "%s", m);
    cr_expect(strstr(m, "total"), "message names the node: %s", m);

    /* the same through tjI_broadcast_shape */
    int64_t shape[2];
    tj_clear_error(ctx);
    cr_expect_eq(tjI_broadcast_shape(ctx, n, in, shape), TJ_ERR_SHAPE);

    /* a length-1 axis that is not statically broadcastable does not stretch (Theano) */
    tj_array_unref(in[1]);
    in[1] = arr(TJ_FLOAT32, 2, (int64_t[]){1, 4}, v);
    cr_assert_eq(eval_err(n, in), TJ_ERR_SHAPE);
    m = tj_errmsg(ctx);
    cr_expect(strstr(m, "axis 0") && strstr(m, "length 3") && strstr(m, "length 1"), "%s", m);

    /* a broadcastable axis whose runtime length is not 1 */
    tj_var *bb = var(TJ_FLOAT32, 2, 1, "bb");
    tj_var *n2 = ew(TJ_OP_ADD, TJ_FLOAT32, a, bb, NULL);
    tj_array_unref(in[1]);
    in[1] = arr(TJ_FLOAT32, 2, (int64_t[]){3, 4}, v);
    cr_assert_eq(eval_err(n2, in), TJ_ERR_SHAPE);
    m = tj_errmsg(ctx);
    cr_expect(strstr(m, "axis 0") && strstr(m, "length 3"), "%s", m);

    /* and the good broadcast through tjI_broadcast_shape */
    tj_var *col = var(TJ_FLOAT32, 2, 2, "col"), *row = var(TJ_FLOAT32, 2, 1, "row");
    tj_var *n3 = ew(TJ_OP_MUL, TJ_FLOAT32, col, row, NULL);
    tj_array *in3[2] = {arr(TJ_FLOAT32, 2, (int64_t[]){3, 1}, v),
                        arr(TJ_FLOAT32, 2, (int64_t[]){1, 4}, v)};
    cr_assert_eq(tjI_broadcast_shape(ctx, n3, in3, shape), TJ_OK);
    cr_expect(shape[0] == 3 && shape[1] == 4);
    /* both broadcastable: length 1 */
    tj_var *n4 = ew(TJ_OP_MUL, TJ_FLOAT32, row, row, NULL);
    tj_array *in4[2] = {in3[1], in3[1]};
    cr_assert_eq(tjI_broadcast_shape(ctx, n4, in4, shape), TJ_OK);
    cr_expect(shape[0] == 1 && shape[1] == 4);
    tj_array_unref(in3[0]);
    tj_array_unref(in3[1]);
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
}

Test(interp, malformed_nodes_are_errors)
{
    double v[4] = {1, 2, 3, 4};
    tj_array *f = arr(TJ_FLOAT32, 1, (int64_t[]){4}, v);
    tj_array *d = arr(TJ_FLOAT64, 1, (int64_t[]){4}, v);
    tj_array *i = arr(TJ_INT32, 1, (int64_t[]){4}, v);
    tj_var *vf = var(TJ_FLOAT32, 1, 0, "f"), *vi = var(TJ_INT32, 1, 0, "i");
    /* a value of the wrong dtype for its variable */
    cr_expect_eq(eval_err(ew(TJ_OP_NEG, TJ_FLOAT32, vf, NULL, NULL), &d), TJ_ERR_TYPE);
    /* exp of an integer (the builders cast to float) */
    cr_expect_eq(eval_err(ew(TJ_OP_EXP, TJ_INT32, vi, NULL, NULL), &i), TJ_ERR_INVALID);
    /* inputs of different dtypes in an add */
    tj_array *mix[2] = {f, i};
    cr_expect_eq(eval_err(ew(TJ_OP_ADD, TJ_FLOAT32, vf, vi, NULL), mix), TJ_ERR_INVALID);
    /* a comparison that does not produce bool */
    tj_array *ff[2] = {f, f};
    cr_expect_eq(eval_err(ew(TJ_OP_GT, TJ_FLOAT32, vf, vf, NULL), ff), TJ_ERR_INVALID);
    /* a missing input value */
    tj_array *none[2] = {f, NULL};
    cr_expect_eq(eval_err(ew(TJ_OP_ADD, TJ_FLOAT32, vf, vf, NULL), none), TJ_ERR_INVALID);
    /* wrong arity */
    tj_var *bad = mk(TJ_OP_ADD, TJ_FLOAT32, 1, 0, &vf, 1, NULL, 0);
    cr_expect_eq(eval_err(bad, &f), TJ_ERR_INVALID);
    /* bool subtraction is undefined (numpy refuses it too) */
    tj_var *vb = var(TJ_BOOL, 1, 0, "b");
    tj_array *b = int_arr(TJ_BOOL, 1, (int64_t[]){1});
    tj_array *bb[2] = {b, b};
    cr_expect_eq(eval_err(ew(TJ_OP_SUB, TJ_BOOL, vb, vb, NULL), bb), TJ_ERR_INVALID);
    tj_array_unref(b);
    tj_array_unref(f);
    tj_array_unref(d);
    tj_array_unref(i);
}

/* ---- reductions ------------------------------------------------------------------------------ */

static tj_var *reduce_node(tj_op op, tj_var *x, unsigned mask, bool keep)
{
    int nd = keep ? x->ndim : x->ndim - __builtin_popcount(mask);
    uint32_t bc = 0;
    for (int d = 0, o = 0; d < x->ndim; d++) {
        if ((mask >> d) & 1) {
            if (keep)
                bc |= 1u << o++;
        } else {
            o++;
        }
    }
    int64_t attr[2] = {mask, keep};
    return mk(op, x->dtype, nd, bc, &x, 1, attr, 2);
}

/* Checks sum/mean of x (2,3,4) over every axis subset, with and without keepdims, against a
 * direct double loop over the logical elements. */
static void check_reductions(tj_array *x, uint64_t ulps)
{
    tj_dtype dt = x->dtype;
    tj_var *vx = var(dt, 3, 0, "x");
    for (unsigned mask = 0; mask < 8; mask++) {
        for (int keep = 0; keep < 2; keep++) {
            for (int m = 0; m < (tj_dtype_is_float(dt) ? 2 : 1); m++) {
                tj_var *n = reduce_node(m ? TJ_OP_MEAN : TJ_OP_SUM, vx, mask, keep);
                tj_array *r = eval1(n, &x);
                /* expected shape */
                int o = 0;
                for (int d = 0; d < 3; d++) {
                    if ((mask >> d) & 1) {
                        if (keep)
                            cr_assert_eq(r->shape[o++], 1);
                    } else {
                        cr_assert_eq(r->shape[o++], x->shape[d]);
                    }
                }
                double want[24] = {0};
                int count = 1;
                for (int d = 0; d < 3; d++)
                    if ((mask >> d) & 1)
                        count *= (int)x->shape[d];
                for (int64_t i = 0; i < 2; i++)
                    for (int64_t j = 0; j < 3; j++)
                        for (int64_t k = 0; k < 4; k++) {
                            int64_t full[3] = {i, j, k}, oi = 0;
                            for (int d = 0; d < 3; d++)
                                if (!((mask >> d) & 1))
                                    oi = oi * x->shape[d] + full[d];
                            want[oi] += tj_array_get(x, full);
                        }
                for (int64_t i = 0; i < r->size; i++) {
                    double w = m ? want[i] / count : want[i];
                    char what[64];
                    snprintf(what, sizeof what, "%s %s mask %u keep %d", m ? "mean" : "sum",
                             tj_dtype_name(dt), mask, keep);
                    if (tj_dtype_is_float(dt))
                        expect_near(dt, tjt_at(r, i), w, ulps, what, i);
                    else
                        cr_expect_eq(raw_int(r, i), (int64_t)w, "%s [%lld]", what, (long long)i);
                }
                tj_array_unref(r);
            }
        }
    }
}

Test(interp, sum_and_mean_every_axis_subset)
{
    double v[24];
    for (int i = 0; i < 24; i++)
        v[i] = i * 0.5 - 3.25;
    int64_t shape[3] = {2, 3, 4};
    /* quarter-integers: every partial sum is exact, so the results are exact in any order */
    for (int t = 0; t < 2; t++) {
        tj_array *x = arr(float_types[t], 3, shape, v);
        check_reductions(x, 0);
        tj_array_unref(x);
    }
    for (int i = 0; i < 24; i++)
        v[i] = i * 7 - 50;
    tj_dtype ints[] = {TJ_INT32, TJ_INT64, TJ_INT16};
    for (int t = 0; t < 3; t++) {
        tj_array *x = arr(ints[t], 3, shape, v);
        check_reductions(x, 0);
        tj_array_unref(x);
    }
}

Test(interp, sum_of_a_strided_input)
{
    /* x (2,3,4) viewed through a buffer laid out as (4,3,2): strides (8, 16, 48) for float64 */
    double buf[24], v[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++) {
                v[(i * 3 + j) * 4 + k] = (i * 3 + j) * 4 + k + 0.25;
                buf[(k * 3 + j) * 2 + i] = v[(i * 3 + j) * 4 + k];
            }
    tj_array *x =
        tj_array_wrap(TJ_FLOAT64, 3, (int64_t[]){2, 3, 4}, (int64_t[]){8, 16, 48}, buf, NULL, NULL);
    cr_assert(x);
    check_reductions(x, 0);
    tj_array_unref(x);
}

Test(interp, sums_of_nothing)
{
    double v[1] = {0};
    for (int t = 0; t < 2; t++) {
        tj_dtype dt = float_types[t];
        tj_array *e = arr(dt, 1, (int64_t[]){0}, v);
        tj_var *ve = var(dt, 1, 0, "e");
        tj_array *s = eval1(reduce_node(TJ_OP_SUM, ve, 1, false), &e);
        tj_array *m = eval1(reduce_node(TJ_OP_MEAN, ve, 1, false), &e);
        cr_expect_eq(tjt_at(s, 0), 0.0);
        cr_expect(isnan(tjt_at(m, 0)));
        tj_array_unref(s);
        tj_array_unref(m);
        tj_array_unref(e);
        /* (3,0) over axis 1 -> three empty sums; over axis 0 -> (0,) */
        tj_array *e2 = arr(dt, 2, (int64_t[]){3, 0}, v);
        tj_var *ve2 = var(dt, 2, 0, "e2");
        s = eval1(reduce_node(TJ_OP_SUM, ve2, 2, false), &e2);
        m = eval1(reduce_node(TJ_OP_MEAN, ve2, 2, true), &e2);
        cr_assert_eq(s->size, 3);
        cr_assert(m->ndim == 2 && m->shape[0] == 3 && m->shape[1] == 1);
        for (int i = 0; i < 3; i++) {
            cr_expect_eq(tjt_at(s, i), 0.0);
            cr_expect(isnan(tjt_at(m, i)));
        }
        tj_array_unref(s);
        tj_array_unref(m);
        s = eval1(reduce_node(TJ_OP_SUM, ve2, 1, false), &e2);
        cr_expect(s->ndim == 1 && s->shape[0] == 0);
        tj_array_unref(s);
        tj_array_unref(e2);
    }
    tj_array *ei = arr(TJ_INT64, 1, (int64_t[]){0}, v);
    tj_array *s = eval1(reduce_node(TJ_OP_SUM, var(TJ_INT64, 1, 0, "i"), 1, false), &ei);
    cr_expect_eq(raw_int(s, 0), 0);
    tj_array_unref(s);
    tj_array_unref(ei);
}

Test(interp, integer_sum_wraps_and_bad_reductions)
{
    tj_array *x = int_arr(TJ_INT8, 3, (int64_t[]){100, 100, 1});
    tj_var *vx = var(TJ_INT8, 1, 0, "x");
    tj_array *s = eval1(reduce_node(TJ_OP_SUM, vx, 1, false), &x);
    cr_expect_eq(raw_int(s, 0), -55);
    tj_array_unref(s);
    /* integer means: the builder casts to float first */
    cr_expect_eq(eval_err(reduce_node(TJ_OP_MEAN, vx, 1, false), &x), TJ_ERR_INVALID);
    /* an axis beyond the rank */
    tj_var *bad = reduce_node(TJ_OP_SUM, vx, 1, false);
    bad->attr[0] = 2;
    cr_expect_eq(eval_err(bad, &x), TJ_ERR_INVALID);
    tj_array_unref(x);
}

Test(interp, float32_pairwise_sum_accuracy)
{
    enum { N = 10000000 };
    int64_t n = N;
    tj_array *x = tjA_alloc(NULL, TJ_FLOAT32, 1, &n, false);
    cr_assert(x);
    float *p = (float *)x->data;
    for (int i = 0; i < N; i++)
        p[i] = 0.1f;
    tj_var *vx = var(TJ_FLOAT32, 1, 0, "x");
    tj_array *s = eval1(reduce_node(TJ_OP_SUM, vx, 1, false), &x);
    tj_array *m = eval1(reduce_node(TJ_OP_MEAN, vx, 1, false), &x);
    double exact = (double)N * (double)0.1f;
    double got = ((float *)s->data)[0];
    cr_expect(fabs(got - exact) / exact < 1e-5, "sum %.9g, exact %.9g", got, exact);
    double mean = ((float *)m->data)[0];
    cr_expect(fabs(mean - 0.1f) / 0.1 < 1e-5, "mean %.9g", mean);
    tj_array_unref(s);
    tj_array_unref(m);
    tj_array_unref(x);
}

/* ---- dot ------------------------------------------------------------------------------------- */

static tj_var *dot_node(tj_var *a, tj_var *b)
{
    tj_var *in[2] = {a, b};
    return mk(TJ_OP_DOT, a->dtype, a->ndim + b->ndim - 2, 0, in, 2, NULL, 0);
}

/* dot(a, b) against a triple loop in double over the logical elements. */
static void check_dot(tj_array *a, tj_array *b, double rel)
{
    tj_var *va = var(a->dtype, a->ndim, 0, "a"), *vb = var(b->dtype, b->ndim, 0, "b");
    tj_array *in[2] = {a, b};
    tj_array *r = eval1(dot_node(va, vb), in);
    int64_t m = a->ndim == 2 ? a->shape[0] : 1, k = b->shape[0];
    int64_t n = b->ndim == 2 ? b->shape[1] : 1;
    cr_assert_eq(r->size, m * n);
    for (int64_t i = 0; i < m; i++) {
        for (int64_t j = 0; j < n; j++) {
            double want = 0, scale = 0;
            for (int64_t p = 0; p < k; p++) {
                int64_t ia[2] = {a->ndim == 2 ? i : p, p}, ib[2] = {p, j};
                double t = tj_array_get(a, ia) * tj_array_get(b, ib);
                want += t;
                scale += fabs(t);
            }
            double got = tjt_at(r, i * n + j);
            if (tj_dtype_is_float(a->dtype))
                cr_expect(fabs(got - want) <= rel * scale, "dot [%lld,%lld]: got %.17g want %.17g",
                          (long long)i, (long long)j, got, want);
            else
                cr_expect_eq(got, want, "dot [%lld,%lld]", (long long)i, (long long)j);
        }
    }
    tj_array_unref(r);
}

static tj_array *seq(tj_dtype dt, int ndim, const int64_t *shape, double phase)
{
    double v[4096];
    for (int i = 0; i < 4096; i++)
        v[i] =
            tj_dtype_is_float(dt) ? sin(i * 0.37 + phase) : (double)((i * 7 + (int)phase) % 11 - 5);
    return arr(dt, ndim, shape, v);
}

Test(interp, dot_rank_combinations)
{
    tj_dtype types[] = {TJ_FLOAT32, TJ_FLOAT64, TJ_INT32, TJ_INT64};
    for (int t = 0; t < 4; t++) {
        tj_dtype dt = types[t];
        double rel = dt == TJ_FLOAT32 ? 1e-5 : 1e-14;
        tj_array *v5 = seq(dt, 1, (int64_t[]){5}, 0.1), *w5 = seq(dt, 1, (int64_t[]){5}, 2.0);
        tj_array *m35 = seq(dt, 2, (int64_t[]){3, 5}, 1.0),
                 *m54 = seq(dt, 2, (int64_t[]){5, 4}, 3.0);
        check_dot(v5, w5, rel);   /* vec . vec -> () */
        check_dot(m35, v5, rel);  /* mat . vec -> (3,) */
        check_dot(w5, m54, rel);  /* vec . mat -> (4,) */
        check_dot(m35, m54, rel); /* mat . mat -> (3,4) */
        tj_array *big_a = seq(dt, 2, (int64_t[]){37, 53}, 0.5),
                 *big_b = seq(dt, 2, (int64_t[]){53, 29}, 1.5);
        check_dot(big_a, big_b, rel);
        tj_array *all[] = {v5, w5, m35, m54, big_a, big_b};
        for (int i = 0; i < 6; i++)
            tj_array_unref(all[i]);
    }
}

Test(interp, dot_strided_operands)
{
    for (int t = 0; t < 2; t++) {
        tj_dtype dt = float_types[t];
        double rel = dt == TJ_FLOAT32 ? 1e-5 : 1e-14, v[64];
        for (int i = 0; i < 64; i++)
            v[i] = cos(i * 0.9);
        /* transposed views: BLAS takes them with a transpose flag */
        tj_array *at = transposed(dt, 3, 5, v), *bt = transposed(dt, 5, 4, v + 7);
        tj_array *a = seq(dt, 2, (int64_t[]){3, 5}, 0.3), *b = seq(dt, 2, (int64_t[]){5, 4}, 0.6);
        tj_array *x = seq(dt, 1, (int64_t[]){5}, 1.1);
        check_dot(at, b, rel);
        check_dot(a, bt, rel);
        check_dot(at, bt, rel);
        check_dot(at, x, rel);
        check_dot(x, bt, rel);
        /* every other element of a buffer: a vector with stride 2 (BLAS increment), and a
         * matrix whose rows are padded (lda > cols) */
        int64_t es = (int64_t)tj_dtype_size(dt);
        tj_array *buf = seq(dt, 1, (int64_t[]){40}, 0.2);
        tj_array *xs =
            tj_array_wrap(dt, 1, (int64_t[]){5}, (int64_t[]){2 * es}, buf->data, NULL, NULL);
        tj_array *pad =
            tj_array_wrap(dt, 2, (int64_t[]){3, 5}, (int64_t[]){8 * es, es}, buf->data, NULL, NULL);
        check_dot(xs, x, rel);
        check_dot(pad, xs, rel);
        check_dot(xs, bt, rel);
        /* neither stride unit (every other column), a negative stride, a zero stride: copied */
        tj_array *odd = tj_array_wrap(dt, 2, (int64_t[]){3, 5}, (int64_t[]){12 * es, 2 * es},
                                      buf->data, NULL, NULL);
        tj_array *neg =
            tj_array_wrap(dt, 1, (int64_t[]){5}, (int64_t[]){-es}, buf->data + 4 * es, NULL, NULL);
        tj_array *zero =
            tj_array_wrap(dt, 2, (int64_t[]){5, 4}, (int64_t[]){0, es}, buf->data, NULL, NULL);
        check_dot(odd, b, rel);
        check_dot(odd, neg, rel);
        check_dot(neg, zero, rel);
        check_dot(a, zero, rel);
        tj_array *all[] = {at, bt, a, b, x, xs, pad, odd, neg, zero, buf};
        for (int i = 0; i < 11; i++)
            tj_array_unref(all[i]);
    }
}

Test(interp, dot_empty_dimensions)
{
    double v[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    tj_dtype types[] = {TJ_FLOAT32, TJ_FLOAT64, TJ_INT64};
    for (int t = 0; t < 3; t++) {
        tj_dtype dt = types[t];
        tj_array *a30 = arr(dt, 2, (int64_t[]){3, 0}, v), *b02 = arr(dt, 2, (int64_t[]){0, 2}, v);
        tj_array *e = arr(dt, 1, (int64_t[]){0}, v);
        tj_array *a03 = arr(dt, 2, (int64_t[]){0, 3}, v), *v3 = arr(dt, 1, (int64_t[]){3}, v);
        tj_var *va = var(dt, 2, 0, "a"), *vb = var(dt, 2, 0, "b");
        tj_var *ve = var(dt, 1, 0, "e"), *ve2 = var(dt, 1, 0, "e2");
        tj_array *in[2] = {a30, b02};
        tj_array *r = eval1(dot_node(va, vb), in); /* k = 0: zeros */
        cr_assert(r->shape[0] == 3 && r->shape[1] == 2);
        for (int i = 0; i < 6; i++)
            cr_expect_eq(tjt_at(r, i), 0.0);
        tj_array_unref(r);
        in[0] = e;
        in[1] = e;
        r = eval1(dot_node(ve, ve2), in);
        cr_expect_eq(tjt_at(r, 0), 0.0);
        tj_array_unref(r);
        in[0] = a30;
        r = eval1(dot_node(va, ve), in);
        cr_assert_eq(r->size, 3);
        for (int i = 0; i < 3; i++)
            cr_expect_eq(tjt_at(r, i), 0.0);
        tj_array_unref(r);
        in[0] = a03;
        in[1] = v3;
        r = eval1(dot_node(va, ve), in); /* m = 0 */
        cr_expect_eq(r->size, 0);
        tj_array_unref(r);
        tj_array *all[] = {a30, b02, e, a03, v3};
        for (int i = 0; i < 5; i++)
            tj_array_unref(all[i]);
    }
}

Test(interp, dot_integer_wraps_and_bool)
{
    tj_array *a = int_arr(TJ_INT8, 2, (int64_t[]){100, 100});
    tj_array *in[2] = {a, a};
    tj_var *va = var(TJ_INT8, 1, 0, "a"), *vb = var(TJ_INT8, 1, 0, "b");
    tj_array *r = eval1(dot_node(va, vb), in);
    cr_expect_eq(raw_int(r, 0), (int8_t)(uint8_t)(20000 % 256)); /* 20000 mod 256 = 32 */
    tj_array_unref(r);
    tj_array_unref(a);
    tj_array *p = int_arr(TJ_BOOL, 3, (int64_t[]){1, 0, 1}),
             *q = int_arr(TJ_BOOL, 3, (int64_t[]){0, 1, 1});
    tj_array *q0 = int_arr(TJ_BOOL, 3, (int64_t[]){0, 1, 0});
    tj_var *vp = var(TJ_BOOL, 1, 0, "p"), *vq = var(TJ_BOOL, 1, 0, "q");
    in[0] = p;
    in[1] = q;
    r = eval1(dot_node(vp, vq), in);
    cr_expect_eq(raw_int(r, 0), 1);
    tj_array_unref(r);
    in[1] = q0;
    r = eval1(dot_node(vp, vq), in);
    cr_expect_eq(raw_int(r, 0), 0);
    tj_array_unref(r);
    tj_array_unref(p);
    tj_array_unref(q);
    tj_array_unref(q0);
}

Test(interp, dot_shape_mismatch)
{
    double v[20] = {0};
    tj_array *in[2] = {arr(TJ_FLOAT64, 2, (int64_t[]){3, 4}, v),
                       arr(TJ_FLOAT64, 1, (int64_t[]){5}, v)};
    tj_var *a = var(TJ_FLOAT64, 2, 0, "a"), *b = var(TJ_FLOAT64, 1, 0, "b");
    tj_var *n = dot_node(a, b);
    n->name = "prod";
    cr_assert_eq(eval_err(n, in), TJ_ERR_SHAPE);
    const char *m = tj_errmsg(ctx);
    cr_expect(strstr(m, "(3, 4)") && strstr(m, "(5,)") && strstr(m, "prod"), "%s", m);
    tj_array_unref(in[0]);
    tj_array_unref(in[1]);
}

/* ---- shape ops and leaves -------------------------------------------------------------------- */

Test(interp, dimshuffle_permutes_adds_and_drops_axes)
{
    double v[12];
    for (int i = 0; i < 12; i++)
        v[i] = i;
    tj_array *x = arr(TJ_FLOAT32, 2, (int64_t[]){3, 4}, v);
    tj_var *vx = var(TJ_FLOAT32, 2, 0, "x");
    tj_array *r = eval1(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 2, 0, &vx, 1, (int64_t[]){1, 0}, 2), &x);
    cr_assert(r->shape[0] == 4 && r->shape[1] == 3);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            cr_expect_eq(tjt_at(r, i * 3 + j), v[j * 4 + i]);
    tj_array_unref(r);
    r = eval1(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 4, 0x9, &vx, 1, (int64_t[]){-1, 0, 1, -1}, 4), &x);
    cr_assert(r->ndim == 4 && r->shape[0] == 1 && r->shape[1] == 3 && r->shape[2] == 4 &&
              r->shape[3] == 1);
    for (int i = 0; i < 12; i++)
        cr_expect_eq(tjt_at(r, i), v[i]);
    tj_array_unref(r);

    /* a transposed input shuffled back is the original order */
    tj_array *t = transposed(TJ_FLOAT32, 3, 4, v);
    r = eval1(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 2, 0, &vx, 1, (int64_t[]){1, 0}, 2), &t);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            cr_expect_eq(tjt_at(r, i * 3 + j), v[j * 4 + i]);
    tj_array_unref(r);
    tj_array_unref(t);

    /* dropping a broadcastable length-1 axis */
    tj_array *c = arr(TJ_FLOAT32, 2, (int64_t[]){3, 1}, v);
    tj_var *vc = var(TJ_FLOAT32, 2, 2, "c");
    r = eval1(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 1, 0, &vc, 1, (int64_t[]){0}, 1), &c);
    cr_assert(r->ndim == 1 && r->shape[0] == 3);
    tj_array_unref(r);
    tj_array_unref(c);

    /* dropping an axis of length 4 is a shape error naming it */
    cr_expect_eq(eval_err(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 1, 0, &vx, 1, (int64_t[]){0}, 1), &x),
                 TJ_ERR_SHAPE);
    cr_expect(strstr(tj_errmsg(ctx), "axis 1") && strstr(tj_errmsg(ctx), "length 4"), "%s",
              tj_errmsg(ctx));
    /* a repeated axis is malformed */
    cr_expect_eq(eval_err(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 2, 0, &vx, 1, (int64_t[]){0, 0}, 2), &x),
                 TJ_ERR_INVALID);
    /* empty */
    tj_array *e = arr(TJ_FLOAT32, 2, (int64_t[]){0, 4}, v);
    r = eval1(mk(TJ_OP_DIMSHUFFLE, TJ_FLOAT32, 2, 0, &vx, 1, (int64_t[]){1, 0}, 2), &e);
    cr_expect(r->shape[0] == 4 && r->shape[1] == 0);
    tj_array_unref(r);
    tj_array_unref(e);
    tj_array_unref(x);
}

Test(interp, shape_of_and_leaves)
{
    double v[12] = {0};
    tj_array *x = arr(TJ_FLOAT32, 2, (int64_t[]){3, 4}, v);
    tj_var *vx = var(TJ_FLOAT32, 2, 0, "x");
    for (int axis = 0; axis < 2; axis++) {
        tj_array *r = eval1(mk(TJ_OP_SHAPE_OF, TJ_INT64, 0, 0, &vx, 1, (int64_t[]){axis}, 1), &x);
        cr_expect_eq(raw_int(r, 0), axis ? 4 : 3);
        tj_array_unref(r);
    }
    cr_expect_eq(eval_err(mk(TJ_OP_SHAPE_OF, TJ_INT64, 0, 0, &vx, 1, (int64_t[]){2}, 1), &x),
                 TJ_ERR_INVALID);

    tj_var *k = mk(TJ_OP_CONSTANT, TJ_FLOAT32, 2, 0, NULL, 0, NULL, 0);
    k->value = x;
    tj_array *r = eval1(k, NULL);
    cr_expect_eq(r, x);
    tj_array_unref(r);
    tj_var *s = mk(TJ_OP_SHARED, TJ_FLOAT32, 2, 0, NULL, 0, NULL, 0);
    s->value = x;
    r = eval1(s, NULL);
    cr_expect_eq(r, x);
    tj_array_unref(r);
    /* a shared value of the wrong dtype */
    tj_var *s2 = mk(TJ_OP_SHARED, TJ_FLOAT64, 2, 0, NULL, 0, NULL, 0);
    s2->value = x;
    cr_expect_eq(eval_err(s2, NULL), TJ_ERR_TYPE);
    cr_expect_eq(eval_err(vx, NULL), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(ctx), "input 'x' has no value"), "%s", tj_errmsg(ctx));
    tj_array_unref(x);
}

/* ---- whole graphs ---------------------------------------------------------------------------- */

Test(interp, eval_graph_with_shared_subexpressions)
{
    double xv[] = {1, 2, 3}, yv[] = {10, 20, 30};
    tj_array *vals[2] = {arr(TJ_FLOAT64, 1, (int64_t[]){3}, xv),
                         arr(TJ_FLOAT64, 1, (int64_t[]){3}, yv)};
    tj_var *x = var(TJ_FLOAT64, 1, 0, "x"), *y = var(TJ_FLOAT64, 1, 0, "y");
    tj_var *s = ew(TJ_OP_ADD, TJ_FLOAT64, x, y, NULL);
    tj_var *p = ew(TJ_OP_MUL, TJ_FLOAT64, s, x, NULL);
    tj_var *t = reduce_node(TJ_OP_SUM, s, 1, false);
    tj_var *ins[2] = {x, y}, *outs[4] = {p, t, p, x};
    tj_array *res[4];
    cr_assert_eq(tjI_eval(ctx, ins, vals, 2, outs, 4, res), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(tjt_at(res[0], i), (xv[i] + yv[i]) * xv[i]);
        cr_expect_eq(tjt_at(res[2], i), (xv[i] + yv[i]) * xv[i]);
    }
    cr_expect_eq(tjt_at(res[1], 0), 66.0);
    cr_expect_eq(res[3], vals[0]); /* an input asked as an output is its value */
    for (int i = 0; i < 4; i++)
        tj_array_unref(res[i]);
    /* the walk kept no references to the inputs */
    cr_expect_eq(atomic_load(&vals[0]->refcount), 1);
    cr_expect_eq(atomic_load(&vals[1]->refcount), 1);

    /* a value supplied for an intermediate cuts the graph there (y is then not needed) */
    double sv[] = {100, 200, 300};
    tj_array *sval = arr(TJ_FLOAT64, 1, (int64_t[]){3}, sv);
    tj_var *ins2[2] = {x, s};
    tj_array *vals2[2] = {vals[0], sval};
    cr_assert_eq(tjI_eval(ctx, ins2, vals2, 2, &p, 1, res), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 3; i++)
        cr_expect_eq(tjt_at(res[0], i), sv[i] * xv[i]);
    tj_array_unref(res[0]);

    /* a missing input */
    tj_clear_error(ctx);
    res[0] = (tj_array *)1;
    cr_expect_eq(tjI_eval(ctx, ins, vals, 1, &p, 1, res), TJ_ERR_INVALID);
    cr_expect_null(res[0]);
    cr_expect(strstr(tj_errmsg(ctx), "input 'y' has no value"), "%s", tj_errmsg(ctx));
    /* an input given twice */
    tj_var *twice[2] = {x, x};
    cr_expect_eq(tjI_eval(ctx, twice, vals, 2, &p, 1, res), TJ_ERR_INVALID);
    /* an error inside the graph leaves no results and no references behind */
    double zv[] = {1, 2};
    tj_array *bad[2] = {vals[0], arr(TJ_FLOAT64, 1, (int64_t[]){2}, zv)};
    cr_expect_eq(tjI_eval(ctx, ins, bad, 2, outs, 2, res), TJ_ERR_SHAPE);
    cr_expect_null(res[0]);
    cr_expect_null(res[1]);
    cr_expect_eq(atomic_load(&vals[0]->refcount), 1);
    tj_array_unref(bad[1]);
    tj_array_unref(sval);
    tj_array_unref(vals[0]);
    tj_array_unref(vals[1]);
}

Test(interp, eval_long_chain_iteratively)
{
    enum { N = 100000 };
    double xv[] = {1.5, -2.5};
    tj_array *x = arr(TJ_FLOAT64, 1, (int64_t[]){2}, xv);
    tj_var *vx = var(TJ_FLOAT64, 1, 0, "x"), *v = vx;
    for (int i = 0; i < N; i++)
        v = ew(TJ_OP_NEG, TJ_FLOAT64, v, NULL, NULL);
    tj_array *r = NULL;
    cr_assert_eq(tjI_eval(ctx, &vx, &x, 1, &v, 1, &r), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tjt_at(r, 0), 1.5);
    cr_expect_eq(tjt_at(r, 1), -2.5);
    tj_array_unref(r);
    cr_expect_eq(atomic_load(&x->refcount), 1);
    tj_array_unref(x);
}

Test(interp, eval_without_context_records_in_the_thread_slot)
{
    tj_var *vx = var(TJ_FLOAT64, 1, 0, "lonely");
    tj_array *r = NULL;
    cr_expect_eq(tjI_eval(NULL, NULL, NULL, 0, &vx, 1, &r), TJ_ERR_INVALID);
    cr_expect_null(r);
    cr_expect_eq(tj_errcode(NULL), TJ_ERR_INVALID);
    cr_expect(strstr(tj_errmsg(NULL), "lonely"), "%s", tj_errmsg(NULL));
}
