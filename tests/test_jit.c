/* The LLVM lowering of kernels (jit/): hand-built kernel descriptions, compiled and called with
 * real buffers, compared with values computed here independently (double / long double, or
 * exact integer arithmetic written out in the test). */
#include <criterion/criterion.h>

#include "jit.h"
#include "support.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- kernel builder ------------------------------------------------------------------------- */

typedef struct {
    tjK_kernel k;
    tj_dtype dt[16];
    bool sc[16];
    tjK_instr code[64];
    int32_t outs[8];
} kb;

/* The description, its arrays pointing into b (a kb may have been copied by value). */
static const tjK_kernel *kb_kernel(kb *b)
{
    b->k.dtype = b->dt;
    b->k.scalar = b->sc;
    b->k.code = b->code;
    b->k.out_instr = b->outs;
    return &b->k;
}

static void kb_begin(kb *b, int reduce)
{
    memset(b, 0, sizeof *b);
    b->k.reduce = reduce;
    kb_kernel(b);
}

/* inputs first, then outputs */
static int kb_input(kb *b, tj_dtype d, bool scalar)
{
    cr_assert_eq(b->k.nout, 0, "declare inputs before outputs");
    b->dt[b->k.nin] = d;
    b->sc[b->k.nin] = scalar;
    return b->k.nin++;
}

static int kb_instr(kb *b, int op, tj_dtype d, int a0, int a1, int a2, double v)
{
    tjK_instr *c = &b->code[b->k.ncode];
    c->op = op;
    c->dtype = d;
    c->args[0] = a0;
    c->args[1] = a1;
    c->args[2] = a2;
    c->value = v;
    return b->k.ncode++;
}

static int kb_load(kb *b, int operand)
{
    return kb_instr(b, TJK_LOAD, b->dt[operand], operand, -1, -1, 0);
}
static int kb_const(kb *b, tj_dtype d, double v)
{
    return kb_instr(b, TJK_CONST, d, -1, -1, -1, v);
}
static int kb_op(kb *b, int op, tj_dtype d, int a0, int a1, int a2)
{
    return kb_instr(b, op, d, a0, a1, a2, 0);
}

static void kb_output(kb *b, tj_dtype d, int instr)
{
    b->dt[b->k.nin + b->k.nout] = d;
    b->outs[b->k.nout++] = instr;
}

/* ---- engine and calls ----------------------------------------------------------------------- */

static tjJ_engine *eng;

static void setup(void)
{
    char err[512] = "";
    cr_assert_eq(tjJ_engine_new(NULL, &eng, err, sizeof err), TJ_OK, "engine: %s", err);
}

static void teardown(void)
{
    tjJ_engine_free(eng);
    eng = NULL;
}

TestSuite(jit, .init = setup, .fini = teardown, .timeout = 300);

static tjJ_module *build(kb *b, const char *name)
{
    const tjK_kernel *ks[1] = {kb_kernel(b)};
    char err[512] = "";
    tjJ_module *m = NULL;
    tj_status st = tjJ_compile(eng, ks, 1, NULL, 0, &m, err, sizeof err);
    cr_assert_eq(st, TJ_OK, "compiling %s failed: %s", name, err);
    cr_assert_not_null(tjJ_kernel_fn(m, 0));
    return m;
}

static void call(tjJ_module *m, void **bufs, int nops, int ndim, const int64_t *shape,
                 const int64_t *strides, int64_t begin, int64_t end)
{
    char *ptrs[16];
    for (int i = 0; i < nops; i++)
        ptrs[i] = bufs[i];
    tjJ_kernel_fn(m, 0)(ptrs, shape, strides, ndim, begin, end);
}

/* contiguous 1-D call over [begin, end) of n elements */
static void call_flat(tjJ_module *m, void **bufs, int nops, int64_t n, int64_t begin, int64_t end)
{
    int64_t shape[1] = {n}, strides[16];
    for (int i = 0; i < nops; i++)
        strides[i] = 1;
    call(m, bufs, nops, 1, shape, strides, begin, end);
}

/* ---- typed buffers -------------------------------------------------------------------------- */

static void *buf_new(tj_dtype d, int64_t n)
{
    return calloc((size_t)(n ? n : 1), tj_dtype_size(d));
}

static double getf(tj_dtype d, const void *p, int64_t i)
{
    if (d == TJ_FLOAT32)
        return ((const float *)p)[i];
    return ((const double *)p)[i];
}

static void setf(tj_dtype d, void *p, int64_t i, double v)
{
    if (d == TJ_FLOAT32)
        ((float *)p)[i] = (float)v;
    else
        ((double *)p)[i] = v;
}

static int64_t geti(tj_dtype d, const void *p, int64_t i)
{
    switch (d) {
    case TJ_BOOL: return ((const uint8_t *)p)[i] != 0;
    case TJ_INT8: return ((const int8_t *)p)[i];
    case TJ_INT16: return ((const int16_t *)p)[i];
    case TJ_INT32: return ((const int32_t *)p)[i];
    case TJ_INT64: return ((const int64_t *)p)[i];
    case TJ_UINT8: return ((const uint8_t *)p)[i];
    default: return 0;
    }
}

/* the value truncated to the dtype's width, as two's complement */
static int64_t wrap(tj_dtype d, uint64_t v)
{
    switch (d) {
    case TJ_BOOL: return v != 0;
    case TJ_INT8: return (int8_t)(uint8_t)v;
    case TJ_INT16: return (int16_t)(uint16_t)v;
    case TJ_INT32: return (int32_t)(uint32_t)v;
    case TJ_UINT8: return (uint8_t)v;
    default: return (int64_t)v;
    }
}

static void seti(tj_dtype d, void *p, int64_t i, int64_t v)
{
    switch (d) {
    case TJ_BOOL:
    case TJ_UINT8: ((uint8_t *)p)[i] = (uint8_t)v; break;
    case TJ_INT8: ((int8_t *)p)[i] = (int8_t)wrap(d, (uint64_t)v); break;
    case TJ_INT16: ((int16_t *)p)[i] = (int16_t)wrap(d, (uint64_t)v); break;
    case TJ_INT32: ((int32_t *)p)[i] = (int32_t)wrap(d, (uint64_t)v); break;
    case TJ_INT64: ((int64_t *)p)[i] = v; break;
    default: break;
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}
static double unif(double lo, double hi)
{
    return lo + (hi - lo) * ((double)(rnd() >> 11) * 0x1p-53);
}

/* Random floats in [lo, hi) with IEEE special values sprinkled in (every 37th element). */
static void fill_float(tj_dtype d, void *p, int64_t n, double lo, double hi)
{
    static const double special[] = {0.0,  -0.0,  INFINITY, -INFINITY, NAN,    1.0,
                                     -1.0, 1e-40, -3e-39,   1e300,     -1e300, 0.5};
    for (int64_t i = 0; i < n; i++)
        setf(d, p, i, i % 37 == 5 ? special[(i / 37) % 12] : unif(lo, hi));
}

static bool same_float(tj_dtype d, double got, double want, uint64_t maxulp)
{
    uint64_t u = d == TJ_FLOAT32 ? tjt_ulp_f32((float)got, (float)want) : tjt_ulp_f64(got, want);
    return u <= maxulp;
}

#define EXPECT_FLOAT(d, got, want, ulps, ...) cr_expect(same_float(d, got, want, ulps), __VA_ARGS__)

/* ---- float elementwise ---------------------------------------------------------------------- */

/* Exact ops are computed in double (a long double result rounded to double could round twice;
 * for float inputs, double then float is innocuous). */
static long double ref_unary(int op, long double lx)
{
    double x = (double)lx;
    switch (op) {
    case TJ_OP_NEG: return -x;
    case TJ_OP_ABS: return fabs(x);
    case TJ_OP_EXP: return expl(lx);
    case TJ_OP_LOG: return logl(lx);
    case TJ_OP_SQRT: return sqrt(x);
    case TJ_OP_SQR: return x * x;
    case TJ_OP_INV: return 1 / x;
    case TJ_OP_SIGMOID: return lx < 0 ? expl(lx) / (1 + expl(lx)) : 1 / (1 + expl(-lx));
    case TJ_OP_TANH: return tanhl(lx);
    default: return NAN;
    }
}

static const int64_t sizes[] = {0, 1, 7, 1000, 100003};

static void unary_case(int op, tj_dtype d, double lo, double hi, uint64_t ulps)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, d, false);
    kb_output(&b, d, kb_op(&b, op, d, kb_load(&b, x), -1, -1));
    tjJ_module *m = build(&b, tjG_ops[op].name);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        void *in = buf_new(d, n), *out = buf_new(d, n), *bufs[2] = {in, out};
        fill_float(d, in, n, lo, hi);
        call_flat(m, bufs, 2, n, 0, n);
        for (int64_t i = 0; i < n; i++) {
            double xv = getf(d, in, i);
            double want =
                d == TJ_FLOAT32 ? (double)(float)ref_unary(op, xv) : (double)ref_unary(op, xv);
            EXPECT_FLOAT(d, getf(d, out, i), want, ulps,
                         "%s %s(%.17g) = %.17g, want %.17g (n=%lld)", tj_dtype_name(d),
                         tjG_ops[op].name, xv, getf(d, out, i), want, (long long)n);
        }
        free(in);
        free(out);
    }
    tjJ_module_free(m);
}

Test(jit, unary_float_ops)
{
    for (tj_dtype d = TJ_FLOAT32; d <= TJ_FLOAT64; d++) {
        unary_case(TJ_OP_NEG, d, -100, 100, 0);
        unary_case(TJ_OP_ABS, d, -100, 100, 0);
        unary_case(TJ_OP_SQRT, d, 0, 1e6, 0);
        unary_case(TJ_OP_SQR, d, -1e3, 1e3, 0);
        unary_case(TJ_OP_INV, d, -1e3, 1e3, 0);
        unary_case(TJ_OP_EXP, d, -120, 100, 2);
        unary_case(TJ_OP_LOG, d, 0, 1e6, 2);
        unary_case(TJ_OP_TANH, d, -12, 12, 2);
        unary_case(TJ_OP_SIGMOID, d, -100, 100, 4);
    }
}

static long double ref_binary(int op, double x, double y)
{
    switch (op) {
    case TJ_OP_ADD: return x + y;
    case TJ_OP_SUB: return x - y;
    case TJ_OP_MUL: return x * y;
    case TJ_OP_DIV: return x / y;
    case TJ_OP_POW: return powl(x, y);
    case TJ_OP_MAXIMUM: return (x >= y || isnan(x)) ? x : y; /* numpy: NaN wins */
    case TJ_OP_MINIMUM: return (x <= y || isnan(x)) ? x : y;
    case TJ_OP_GT: return x > y;
    case TJ_OP_LT: return x < y;
    case TJ_OP_GE: return x >= y;
    case TJ_OP_LE: return x <= y;
    case TJ_OP_EQ: return x == y;
    case TJ_OP_NEQ: return x != y;
    default: return NAN;
    }
}

static void binary_case(int op, tj_dtype d, double lo, double hi, uint64_t ulps)
{
    bool boolout = tj_op_is((tj_op)op, OPF_BOOLOUT);
    tj_dtype od = boolout ? TJ_BOOL : d;
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, d, false), y = kb_input(&b, d, false);
    kb_output(&b, od, kb_op(&b, op, od, kb_load(&b, x), kb_load(&b, y), -1));
    tjJ_module *m = build(&b, tjG_ops[op].name);
    for (size_t s = 0; s < sizeof sizes / sizeof *sizes; s++) {
        int64_t n = sizes[s];
        void *a = buf_new(d, n), *c = buf_new(d, n), *out = buf_new(od, n), *bufs[3] = {a, c, out};
        fill_float(d, a, n, lo, hi);
        fill_float(d, c, n, lo, hi);
        for (int64_t i = 0; i < n; i += 11) /* equal operands for the comparisons */
            setf(d, c, i, getf(d, a, i));
        call_flat(m, bufs, 3, n, 0, n);
        for (int64_t i = 0; i < n; i++) {
            double av = getf(d, a, i), cv = getf(d, c, i);
            long double r = ref_binary(op, av, cv);
            if (boolout) {
                cr_expect_eq(geti(TJ_BOOL, out, i), (int64_t)r, "%s %.17g %s %.17g",
                             tj_dtype_name(d), av, tjG_ops[op].name, cv);
                continue;
            }
            double want = d == TJ_FLOAT32 ? (double)(float)r : (double)r;
            EXPECT_FLOAT(d, getf(d, out, i), want, ulps, "%s %s(%.17g, %.17g) = %.17g, want %.17g",
                         tj_dtype_name(d), tjG_ops[op].name, av, cv, getf(d, out, i), want);
        }
        free(a);
        free(c);
        free(out);
    }
    tjJ_module_free(m);
}

Test(jit, binary_float_ops)
{
    static const int ops[] = {TJ_OP_ADD,     TJ_OP_SUB,     TJ_OP_MUL, TJ_OP_DIV,
                              TJ_OP_MAXIMUM, TJ_OP_MINIMUM, TJ_OP_GT,  TJ_OP_LT,
                              TJ_OP_GE,      TJ_OP_LE,      TJ_OP_EQ,  TJ_OP_NEQ};
    for (tj_dtype d = TJ_FLOAT32; d <= TJ_FLOAT64; d++) {
        for (size_t i = 0; i < sizeof ops / sizeof *ops; i++)
            binary_case(ops[i], d, -1e3, 1e3, 0);
        binary_case(TJ_OP_POW, d, 0, 8, 2);
    }
}

/* pow with a literal exponent: the special-cased forms must equal libm's pow. */
Test(jit, pow_literal_exponents)
{
    static const double cs[] = {0, 1, 2, 3, -1, 0.5, 2.5, -2, 7};
    static const double xs[] = {0.0,     -0.0, 1.0,      -1.0,      2.0, -2.0,   0.3,   -0.3, 1e-3,
                                123.456, -7.5, INFINITY, -INFINITY, NAN, 1e-310, 1e200, 3e-39};
    enum { NX = sizeof xs / sizeof *xs };
    for (tj_dtype d = TJ_FLOAT32; d <= TJ_FLOAT64; d++)
        for (size_t ci = 0; ci < sizeof cs / sizeof *cs; ci++) {
            kb b;
            kb_begin(&b, TJ_OP_NONE_);
            int x = kb_input(&b, d, false);
            int c = kb_const(&b, d, cs[ci]);
            kb_output(&b, d, kb_op(&b, TJ_OP_POW, d, kb_load(&b, x), c, -1));
            tjJ_module *m = build(&b, "powc");
            void *in = buf_new(d, NX), *out = buf_new(d, NX), *bufs[2] = {in, out};
            for (int i = 0; i < NX; i++)
                setf(d, in, i, xs[i]);
            call_flat(m, bufs, 2, NX, 0, NX);
            uint64_t ulps = cs[ci] == 3 || cs[ci] == 2.5 || cs[ci] == -2 || cs[ci] == 7 ? 2 : 0;
            for (int i = 0; i < NX; i++) {
                double xv = getf(d, in, i);
                double want =
                    d == TJ_FLOAT32 ? (double)powf((float)xv, (float)cs[ci]) : pow(xv, cs[ci]);
                EXPECT_FLOAT(d, getf(d, out, i), want, ulps,
                             "%s pow(%.17g, %g) = %.17g, want %.17g", tj_dtype_name(d), xv, cs[ci],
                             getf(d, out, i), want);
            }
            free(in);
            free(out);
            tjJ_module_free(m);
        }
}

/* ---- integer and bool elementwise ----------------------------------------------------------- */

static bool is_signed_d(tj_dtype d) { return d >= TJ_INT8 && d <= TJ_INT64; }

/* wpow as specified: modulo 2^64, negative exponent 0 except for bases 1 and -1 */
static uint64_t ref_ipow(int64_t base, int64_t e)
{
    if (e < 0)
        return base == 1 ? 1 : base == -1 ? ((e & 1) ? (uint64_t)-1 : 1) : 0;
    uint64_t r = 1, b = (uint64_t)base;
    for (uint64_t n = (uint64_t)e; n; n >>= 1, b *= b)
        if (n & 1)
            r *= b;
    return r;
}

static int64_t ref_int(int op, tj_dtype d, int64_t x, int64_t y)
{
    uint64_t ux = (uint64_t)x, uy = (uint64_t)y;
    switch (op) {
    case TJ_OP_NEG: return wrap(d, 0 - ux);
    case TJ_OP_ABS: return wrap(d, x < 0 ? 0 - ux : ux);
    case TJ_OP_SQR: return wrap(d, ux * ux);
    case TJ_OP_ADD: return wrap(d, ux + uy);
    case TJ_OP_SUB: return wrap(d, ux - uy);
    case TJ_OP_MUL: return wrap(d, ux * uy);
    case TJ_OP_POW: return wrap(d, ref_ipow(x, y));
    case TJ_OP_MAXIMUM: return x > y ? x : y;
    case TJ_OP_MINIMUM: return x < y ? x : y;
    case TJ_OP_GT: return x > y;
    case TJ_OP_LT: return x < y;
    case TJ_OP_GE: return x >= y;
    case TJ_OP_LE: return x <= y;
    case TJ_OP_EQ: return x == y;
    case TJ_OP_NEQ: return x != y;
    default: return 0;
    }
}

static void int_values(tj_dtype d, void *p, int64_t n, bool small)
{
    int bits = (int)tj_dtype_size(d) * 8;
    int64_t mn = is_signed_d(d) ? (bits == 64 ? INT64_MIN : -(1ll << (bits - 1))) : 0;
    int64_t mx = is_signed_d(d) ? (bits == 64 ? INT64_MAX : (1ll << (bits - 1)) - 1) : 255;
    const int64_t special[] = {mn, mx, -1, 0, 1, 2, mn + 1, mx - 1, 3, -3};
    for (int64_t i = 0; i < n; i++) {
        int64_t v = i % 5 == 0 ? special[(i / 5) % 10] : (int64_t)rnd();
        if (small)
            v = (int64_t)(rnd() % 9) - 3;
        seti(d, p, i, v);
    }
}

static void int_case(int op, tj_dtype d, int64_t n)
{
    bool boolout = tj_op_is((tj_op)op, OPF_BOOLOUT);
    bool unary = tjG_ops[op].arity == 1;
    tj_dtype od = boolout ? TJ_BOOL : d;
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, d, false), y = kb_input(&b, d, false);
    int lx = kb_load(&b, x), ly = kb_load(&b, y);
    kb_output(&b, od, kb_op(&b, op, od, lx, unary ? -1 : ly, -1));
    tjJ_module *m = build(&b, tjG_ops[op].name);
    void *a = buf_new(d, n), *c = buf_new(d, n), *out = buf_new(od, n), *bufs[3] = {a, c, out};
    int_values(d, a, n, false);
    int_values(d, c, n, op == TJ_OP_POW);
    for (int64_t i = 0; i < n; i += 7)
        seti(d, c, i, geti(d, a, i));
    call_flat(m, bufs, 3, n, 0, n);
    for (int64_t i = 0; i < n; i++) {
        int64_t av = geti(d, a, i), cv = geti(d, c, i);
        cr_expect_eq(geti(od, out, i), ref_int(op, d, av, cv),
                     "%s %s(%lld, %lld) = %lld, want %lld", tj_dtype_name(d), tjG_ops[op].name,
                     (long long)av, (long long)cv, (long long)geti(od, out, i),
                     (long long)ref_int(op, d, av, cv));
    }
    free(a);
    free(c);
    free(out);
    tjJ_module_free(m);
}

Test(jit, integer_ops_wrap)
{
    static const int ops[] = {TJ_OP_NEG, TJ_OP_ABS,     TJ_OP_SQR,     TJ_OP_ADD, TJ_OP_SUB,
                              TJ_OP_MUL, TJ_OP_MAXIMUM, TJ_OP_MINIMUM, TJ_OP_GT,  TJ_OP_LT,
                              TJ_OP_GE,  TJ_OP_LE,      TJ_OP_EQ,      TJ_OP_NEQ, TJ_OP_POW};
    static const tj_dtype dts[] = {TJ_INT8, TJ_INT16, TJ_INT32, TJ_INT64, TJ_UINT8};
    for (size_t di = 0; di < 5; di++)
        for (size_t oi = 0; oi < sizeof ops / sizeof *ops; oi++)
            for (int64_t n = 1; n <= 1001; n += 1000)
                int_case(ops[oi], dts[di], n);
}

/* Integer pow with literal exponents (unrolled at lowering time), including negative ones. */
Test(jit, integer_pow_literals)
{
    static const int64_t es[] = {-3, -2, -1, 0, 1, 2, 3, 5, 13, 40, 63};
    static const tj_dtype dts[] = {TJ_INT8, TJ_INT32, TJ_INT64, TJ_UINT8};
    for (size_t di = 0; di < 4; di++)
        for (size_t ei = 0; ei < sizeof es / sizeof *es; ei++) {
            tj_dtype d = dts[di];
            if (!is_signed_d(d) && es[ei] < 0)
                continue;
            kb b;
            kb_begin(&b, TJ_OP_NONE_);
            int x = kb_input(&b, d, false);
            int c = kb_const(&b, d, (double)es[ei]);
            kb_output(&b, d, kb_op(&b, TJ_OP_POW, d, kb_load(&b, x), c, -1));
            tjJ_module *m = build(&b, "ipowc");
            enum { N = 200 };
            void *in = buf_new(d, N), *out = buf_new(d, N), *bufs[2] = {in, out};
            int_values(d, in, N, false);
            call_flat(m, bufs, 2, N, 0, N);
            for (int i = 0; i < N; i++) {
                int64_t xv = geti(d, in, i), want = wrap(d, ref_ipow(xv, es[ei]));
                cr_expect_eq(geti(d, out, i), want, "%s %lld ** %lld = %lld, want %lld",
                             tj_dtype_name(d), (long long)xv, (long long)es[ei],
                             (long long)geti(d, out, i), (long long)want);
            }
            free(in);
            free(out);
            tjJ_module_free(m);
        }
}

Test(jit, bool_ops)
{
    static const int ops[] = {TJ_OP_ABS,     TJ_OP_ADD, TJ_OP_MUL, TJ_OP_MAXIMUM,
                              TJ_OP_MINIMUM, TJ_OP_GT,  TJ_OP_LT,  TJ_OP_GE,
                              TJ_OP_LE,      TJ_OP_EQ,  TJ_OP_NEQ};
    static const uint8_t bytes[] = {0, 1, 2, 255};
    for (size_t oi = 0; oi < sizeof ops / sizeof *ops; oi++) {
        int op = ops[oi];
        kb b;
        kb_begin(&b, TJ_OP_NONE_);
        int x = kb_input(&b, TJ_BOOL, false), y = kb_input(&b, TJ_BOOL, false);
        kb_output(&b, TJ_BOOL,
                  kb_op(&b, op, TJ_BOOL, kb_load(&b, x),
                        tjG_ops[op].arity == 1 ? -1 : kb_load(&b, y), -1));
        tjJ_module *m = build(&b, "bool");
        uint8_t a[16], c[16], out[16];
        for (int i = 0; i < 16; i++) {
            a[i] = bytes[i % 4];
            c[i] = bytes[i / 4];
        }
        void *bufs[3] = {a, c, out};
        call_flat(m, bufs, 3, 16, 0, 16);
        for (int i = 0; i < 16; i++) {
            int p = a[i] != 0, q = c[i] != 0;
            int want = op == TJ_OP_ABS                          ? p
                       : op == TJ_OP_ADD || op == TJ_OP_MAXIMUM ? (p | q)
                       : op == TJ_OP_MUL || op == TJ_OP_MINIMUM ? (p & q)
                                                                : (int)ref_int(op, TJ_BOOL, p, q);
            cr_expect_eq(out[i], want, "bool %s(%d, %d) = %d, want %d", tjG_ops[op].name, a[i],
                         c[i], out[i], want);
        }
        tjJ_module_free(m);
    }
}

/* ---- CAST ------------------------------------------------------------------------------------ */

/* The reference conversion of a float value to an integer dtype: saturating, NaN -> 0. */
static int64_t sat(tj_dtype d, double v)
{
    if (isnan(v))
        return 0;
    int bits = (int)tj_dtype_size(d) * 8;
    double lo = is_signed_d(d) ? -ldexp(1, bits - 1) : 0,
           hi = is_signed_d(d) ? ldexp(1, bits - 1) : ldexp(1, bits);
    if (v <= lo)
        return d == TJ_INT64 ? INT64_MIN : (int64_t)lo;
    if (v >= hi)
        return d == TJ_INT64 ? INT64_MAX : (int64_t)hi - 1;
    return (int64_t)v;
}

Test(jit, cast_every_pair)
{
    static const double fvals[] = {
        NAN,          INFINITY, -INFINITY, 0.0,    -0.0,    0.5,   -0.5,    1.7,       -1.7,
        127.9,        128.0,    -128.5,    -129.0, 255.9,   256.0, 32767.5, 40000.0,   -40000.0,
        2147483647.0, 3e9,      -3e9,      9.3e18, -9.3e18, 1e30,  1e-40,   16777217.0};
    enum { NF = sizeof fvals / sizeof *fvals, NI = 64 };
    for (tj_dtype from = 0; from < TJ_NUM_DTYPES; from++)
        for (tj_dtype to = 0; to < TJ_NUM_DTYPES; to++) {
            kb b;
            kb_begin(&b, TJ_OP_NONE_);
            int x = kb_input(&b, from, false);
            kb_output(&b, to, kb_op(&b, TJ_OP_CAST, to, kb_load(&b, x), -1, -1));
            tjJ_module *m = build(&b, "cast");
            bool ff = tj_dtype_is_float(from);
            int n = ff ? NF : NI;
            void *in = buf_new(from, n), *out = buf_new(to, n), *bufs[2] = {in, out};
            if (ff)
                for (int i = 0; i < n; i++)
                    setf(from, in, i, fvals[i]);
            else
                int_values(from, in, n, false);
            if (from == TJ_BOOL)
                for (int i = 0; i < n; i++)
                    ((uint8_t *)in)[i] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 7);
            call_flat(m, bufs, 2, n, 0, n);
            for (int i = 0; i < n; i++) {
                char what[160];
                if (ff) {
                    double v = getf(from, in, i);
                    snprintf(what, sizeof what, "cast %s %.17g -> %s", tj_dtype_name(from), v,
                             tj_dtype_name(to));
                    if (to == TJ_BOOL)
                        cr_expect_eq(((uint8_t *)out)[i], v != 0, "%s", what);
                    else if (tj_dtype_is_float(to))
                        EXPECT_FLOAT(to, getf(to, out, i), to == TJ_FLOAT32 ? (double)(float)v : v,
                                     0, "%s", what);
                    else
                        cr_expect_eq(geti(to, out, i), sat(to, v), "%s = %lld", what,
                                     (long long)geti(to, out, i));
                } else {
                    int64_t v = geti(from, in, i);
                    snprintf(what, sizeof what, "cast %s %lld -> %s", tj_dtype_name(from),
                             (long long)v, tj_dtype_name(to));
                    if (to == TJ_BOOL)
                        cr_expect_eq(((uint8_t *)out)[i], v != 0, "%s", what);
                    else if (to == TJ_FLOAT32)
                        cr_expect_eq(((float *)out)[i], (float)v, "%s", what);
                    else if (to == TJ_FLOAT64)
                        cr_expect_eq(((double *)out)[i], (double)v, "%s", what);
                    else
                        cr_expect_eq(geti(to, out, i), wrap(to, (uint64_t)v), "%s = %lld", what,
                                     (long long)geti(to, out, i));
                }
            }
            free(in);
            free(out);
            tjJ_module_free(m);
        }
}

/* SECOND returns its second argument (the first only gives the shape, in another dtype);
 * SWITCH selects by a bool condition; both with NaN payloads passing untouched. */
Test(jit, second_and_switch)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int a = kb_input(&b, TJ_INT32, false), v = kb_input(&b, TJ_FLOAT64, false);
    int c = kb_input(&b, TJ_BOOL, false), w = kb_input(&b, TJ_FLOAT64, false);
    int la = kb_load(&b, a), lv = kb_load(&b, v), lc = kb_load(&b, c), lw = kb_load(&b, w);
    kb_output(&b, TJ_FLOAT64, kb_op(&b, TJ_OP_SECOND, TJ_FLOAT64, la, lv, -1));
    kb_output(&b, TJ_FLOAT64, kb_op(&b, TJ_OP_SWITCH, TJ_FLOAT64, lc, lv, lw));
    tjJ_module *m = build(&b, "second_switch");
    enum { N = 1000 };
    int32_t ai[N];
    double vv[N], ww[N], o1[N], o2[N];
    uint8_t cc[N];
    for (int i = 0; i < N; i++) {
        ai[i] = (int32_t)rnd();
        vv[i] = i % 10 == 3 ? NAN : unif(-5, 5);
        ww[i] = -unif(0, 5);
        cc[i] = (uint8_t)(i % 3 == 0 ? 0 : i % 3 == 1 ? 1 : 9);
    }
    void *bufs[6] = {ai, vv, cc, ww, o1, o2};
    call_flat(m, bufs, 6, N, 0, N);
    for (int i = 0; i < N; i++) {
        cr_expect(memcmp(&o1[i], &vv[i], 8) == 0, "second at %d", i);
        double want = cc[i] ? vv[i] : ww[i];
        cr_expect(memcmp(&o2[i], &want, 8) == 0, "switch at %d", i);
    }
    tjJ_module_free(m);
}

/* ---- strides, broadcasting, ranges ---------------------------------------------------------- */

/* out = exp(x) * 2 - y in float32, compared with long double within 2 ulp (exp) */
static kb strided_kernel(void)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, TJ_FLOAT32, false), y = kb_input(&b, TJ_FLOAT32, false);
    int e = kb_op(&b, TJ_OP_EXP, TJ_FLOAT32, kb_load(&b, x), -1, -1);
    int t = kb_op(&b, TJ_OP_MUL, TJ_FLOAT32, e, kb_const(&b, TJ_FLOAT32, 2.0), -1);
    kb_output(&b, TJ_FLOAT32, kb_op(&b, TJ_OP_SUB, TJ_FLOAT32, t, kb_load(&b, y), -1));
    return b;
}

/* exp is within 1 ulp and the subtraction may cancel: allow 2 ulp of the larger term */
static bool strided_ok(float got, float x, float y)
{
    long double e2 = 2 * expl(x), want = e2 - y;
    return fabsl(got - want) <= 0x1p-22L * (fabsl(e2) + fabsl(y));
}

/* Checks out[i] (with byte-free element strides os over shape) against the reference computed
 * from x and y at their strides. */
static void check_nd(int ndim, const int64_t *shape, const float *x, const int64_t *xs,
                     const float *y, const int64_t *ys, const float *out, const int64_t *os)
{
    int64_t n = 1, idx[8] = {0};
    for (int d = 0; d < ndim; d++)
        n *= shape[d];
    for (int64_t f = 0; f < n; f++) {
        int64_t r = f, xo = 0, yo = 0, oo = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
            xo += idx[d] * xs[d];
            yo += idx[d] * ys[d];
            oo += idx[d] * os[d];
        }
        cr_expect(strided_ok(out[oo], x[xo], y[yo]), "flat index %lld: %.9g, want %.9Lg",
                  (long long)f, out[oo], 2 * expl(x[xo]) - y[yo]);
    }
}

static void run_nd(tjJ_module *m, int ndim, const int64_t *shape, float *x, const int64_t *xs,
                   float *y, const int64_t *ys, float *out, const int64_t *os)
{
    int64_t strides[3 * 8], rows = 1;
    for (int d = 0; d < ndim; d++) {
        strides[0 * ndim + d] = xs[d];
        strides[1 * ndim + d] = ys[d];
        strides[2 * ndim + d] = os[d];
    }
    for (int d = 0; d < ndim - 1; d++)
        rows *= shape[d];
    if (ndim == 1)
        rows = shape[0];
    void *bufs[3] = {x, y, out};
    call(m, bufs, 3, ndim, shape, strides, 0, rows);
    check_nd(ndim, shape, x, xs, y, ys, out, os);
}

static float *frand(int64_t n)
{
    float *p = malloc((size_t)n * sizeof *p);
    for (int64_t i = 0; i < n; i++)
        p[i] = (float)unif(-3, 3);
    return p;
}

Test(jit, strided_2d_transposed_and_broadcast)
{
    kb b = strided_kernel();
    tjJ_module *m = build(&b, "strided");
    const int64_t R = 37, C = 1001, shape[2] = {R, C};
    float *x = frand(R * C), *y = frand(R * C), *out = calloc((size_t)(R * C), sizeof *out);
    const int64_t cont[2] = {C, 1};
    /* x transposed: element (r, c) at c*R + r */
    run_nd(m, 2, shape, x, (int64_t[]){1, R}, y, cont, out, cont);
    /* y a broadcast row (stride 0 on axis 0): the unit-stride variant */
    run_nd(m, 2, shape, x, cont, y, (int64_t[]){0, 1}, out, cont);
    /* y a broadcast column (stride 0 on the inner axis): the buffered variant */
    run_nd(m, 2, shape, x, cont, y, (int64_t[]){1, 0}, out, cont);
    /* both contiguous, as 2-D */
    run_nd(m, 2, shape, x, cont, y, cont, out, cont);
    /* a transposed output */
    run_nd(m, 2, shape, x, cont, y, cont, out, (int64_t[]){1, R});
    free(x);
    free(y);
    free(out);
    tjJ_module_free(m);
}

Test(jit, strided_1d_and_negative)
{
    kb b = strided_kernel();
    tjJ_module *m = build(&b, "strided1");
    const int64_t n = 5003, shape[1] = {n};
    float *x = frand(3 * n), *y = frand(n), *out = calloc((size_t)n, sizeof *out);
    run_nd(m, 1, shape, x, (int64_t[]){3}, y, (int64_t[]){1}, out, (int64_t[]){1});
    /* x walked backwards from its last element */
    run_nd(m, 1, shape, x + n - 1, (int64_t[]){-1}, y, (int64_t[]){1}, out, (int64_t[]){1});
    /* a scalar-like broadcast in 1-D */
    run_nd(m, 1, shape, x, (int64_t[]){0}, y, (int64_t[]){1}, out, (int64_t[]){1});
    free(x);
    free(y);
    free(out);
    tjJ_module_free(m);
}

Test(jit, strided_3d_and_4d)
{
    kb b = strided_kernel();
    tjJ_module *m = build(&b, "strided3");
    const int64_t A = 5, B = 7, C = 33, s3[3] = {A, B, C};
    float *x = frand(A * B * C), *y = frand(A * B * C),
          *out = calloc((size_t)(A * B * C), sizeof *out);
    /* x is a (C, A, B) array viewed as (A, B, C); y broadcast on the middle axis */
    run_nd(m, 3, s3, x, (int64_t[]){B, 1, A * B}, y, (int64_t[]){C, 0, 1}, out,
           (int64_t[]){B * C, C, 1});
    const int64_t s4[4] = {3, 4, 5, 6};
    run_nd(m, 4, s4, x, (int64_t[]){1, 3, 12, 60}, y, (int64_t[]){120, 30, 6, 1}, out,
           (int64_t[]){120, 30, 6, 1});
    free(x);
    free(y);
    free(out);
    tjJ_module_free(m);
}

/* Running [0, k) then [k, rows) gives exactly the result of one call over [0, rows). */
Test(jit, begin_end_ranges)
{
    kb b = strided_kernel();
    tjJ_module *m = build(&b, "ranges");
    const int64_t shape3[3] = {3, 5, 77}, rows = 15;
    const int64_t n = 3 * 5 * 77;
    float *x = frand(n), *y = frand(n);
    float *one = calloc((size_t)n, 4), *two = calloc((size_t)n, 4);
    int64_t st[9] = {1, 3, 15, /* x permuted */ 385, 77, 1, /* y */ 385, 77, 1 /* out */};
    for (int64_t k = 0; k <= rows; k += 4) {
        void *b1[3] = {x, y, one}, *b2[3] = {x, y, two};
        memset(one, 0, (size_t)n * 4);
        memset(two, 0xff, (size_t)n * 4);
        call(m, b1, 3, 3, shape3, st, 0, rows);
        call(m, b2, 3, 3, shape3, st, 0, k);
        call(m, b2, 3, 3, shape3, st, k, rows);
        cr_expect(memcmp(one, two, (size_t)n * 4) == 0, "split at row %lld differs", (long long)k);
    }
    /* 1-D: element ranges */
    void *b1[3] = {x, y, one}, *b2[3] = {x, y, two};
    for (int64_t k = 0; k <= n; k += 301) {
        memset(two, 0xff, (size_t)n * 4);
        call_flat(m, b1, 3, n, 0, n);
        call_flat(m, b2, 3, n, 0, k);
        call_flat(m, b2, 3, n, k, n);
        cr_expect(memcmp(one, two, (size_t)n * 4) == 0, "1-D split at %lld differs", (long long)k);
    }
    /* an empty range writes nothing */
    memset(two, 0xab, (size_t)n * 4);
    call_flat(m, b2, 3, n, 5, 5);
    call_flat(m, b2, 3, n, 9, 3);
    for (int64_t i = 0; i < n; i++)
        cr_expect_eq(((uint8_t *)two)[4 * i], 0xab);
    free(x);
    free(y);
    free(one);
    free(two);
    tjJ_module_free(m);
}

/* ---- several outputs, scalars, several kernels ---------------------------------------------- */

Test(jit, multi_output_and_scalars)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, TJ_FLOAT64, false), s = kb_input(&b, TJ_FLOAT64, true);
    int t = kb_input(&b, TJ_INT32, true);
    int lx = kb_load(&b, x), ls = kb_load(&b, s), lt = kb_load(&b, t);
    int xs = kb_op(&b, TJ_OP_MUL, TJ_FLOAT64, lx, ls, -1);
    int tf = kb_op(&b, TJ_OP_CAST, TJ_FLOAT64, lt, -1, -1);
    kb_output(&b, TJ_FLOAT64, kb_op(&b, TJ_OP_ADD, TJ_FLOAT64, xs, tf, -1));
    kb_output(&b, TJ_BOOL, kb_op(&b, TJ_OP_GT, TJ_BOOL, lx, ls, -1));
    kb_output(&b, TJ_INT32, kb_op(&b, TJ_OP_CAST, TJ_INT32, lx, -1, -1));
    tjJ_module *m = build(&b, "multi");
    enum { N = 1003 };
    double xv[N], sv = 1.5, o1[N];
    int32_t tv = -7, o3[N];
    uint8_t o2[N];
    for (int i = 0; i < N; i++)
        xv[i] = unif(-100, 100);
    void *bufs[6] = {xv, &sv, &tv, o1, o2, o3};
    /* the scalars' strides are garbage on purpose: they must be ignored */
    int64_t shape[1] = {N}, strides[6] = {1, 12345, -999, 1, 1, 1};
    call(m, bufs, 6, 1, shape, strides, 0, N);
    for (int i = 0; i < N; i++) {
        cr_expect(fabsl(o1[i] - (xv[i] * 1.5L - 7)) <= 0x1p-52 * (fabs(xv[i] * 1.5) + 7),
                  "out0[%d]", i);
        cr_expect_eq(o2[i], xv[i] > 1.5, "out1[%d]", i);
        cr_expect_eq(o3[i], (int32_t)xv[i], "out2[%d]", i);
    }
    tjJ_module_free(m);
}

Test(jit, several_kernels_one_module)
{
    kb k1 = strided_kernel(), k2;
    kb_begin(&k2, TJ_OP_NONE_);
    int x = kb_input(&k2, TJ_FLOAT64, false);
    kb_output(&k2, TJ_FLOAT64, kb_op(&k2, TJ_OP_SQRT, TJ_FLOAT64, kb_load(&k2, x), -1, -1));
    const tjK_kernel *ks[3] = {kb_kernel(&k1), kb_kernel(&k2), kb_kernel(&k1)};
    char err[512] = "";
    tjJ_module *m = NULL;
    cr_assert_eq(tjJ_compile(eng, ks, 3, NULL, 0, &m, err, sizeof err), TJ_OK, "%s", err);
    cr_assert_null(tjJ_kernel_fn(m, 3));
    double in[5] = {0, 1, 4, 9, 2}, out[5];
    char *p[2] = {(char *)in, (char *)out};
    int64_t shape[1] = {5}, strides[2] = {1, 1};
    tjJ_kernel_fn(m, 1)(p, shape, strides, 1, 0, 5);
    for (int i = 0; i < 5; i++)
        cr_expect_eq(out[i], sqrt(in[i]));
    float fx[4] = {0, 1, -1, 2}, fy[4] = {1, 1, 1, 1}, fo[4];
    char *q[3] = {(char *)fx, (char *)fy, (char *)fo};
    int64_t s3[3] = {1, 1, 1}, sh4[1] = {4};
    tjJ_kernel_fn(m, 2)(q, sh4, s3, 1, 0, 4);
    for (int i = 0; i < 4; i++)
        cr_expect(strided_ok(fo[i], fx[i], fy[i]));
    tjJ_module_free(m);
}

/* A kernel without inputs fills its output; a zero fill becomes a memset call, which the engine
 * resolves through its own symbol table. */
Test(jit, constant_fill_without_inputs)
{
    static const double vals[] = {3.5, 0.0};
    for (int v = 0; v < 2; v++) {
        kb b;
        kb_begin(&b, TJ_OP_NONE_);
        kb_output(&b, TJ_FLOAT64, kb_const(&b, TJ_FLOAT64, vals[v]));
        kb_output(&b, TJ_INT8, kb_const(&b, TJ_INT8, 300)); /* saturates to 127 */
        tjJ_module *m = build(&b, "fill");
        enum { N = 5000 };
        double *o = malloc(N * sizeof *o);
        int8_t *o2 = malloc(N);
        for (int i = 0; i < N; i++)
            o[i] = -1;
        void *bufs[2] = {o, o2};
        call_flat(m, bufs, 2, N, 0, N);
        for (int i = 0; i < N; i++) {
            cr_expect_eq(o[i], vals[v], "fill %g at %d", vals[v], i);
            cr_expect_eq(o2[i], 127);
        }
        free(o);
        free(o2);
        tjJ_module_free(m);
    }
}

/* ---- reductions ----------------------------------------------------------------------------- */

/* sum of (x * x) [* over reduced axes], in dtype d (input and output) */
static kb sumsq_kernel(tj_dtype in, tj_dtype out)
{
    kb b;
    kb_begin(&b, TJ_OP_SUM);
    int x = kb_input(&b, in, false);
    int l = kb_load(&b, x);
    kb_output(&b, out, kb_op(&b, TJ_OP_MUL, in, l, l, -1));
    return b;
}

/* Reduces x (ndim, shape, x strides) into out (out strides, 0 on reduced axes) and checks
 * every output element against a long double sum. */
static void check_sum(tjJ_module *m, int ndim, const int64_t *shape, double *x, const int64_t *xs,
                      double *out, int64_t nout, const int64_t *os, int64_t split)
{
    int64_t strides[16], rows = 1, n = 1;
    for (int d = 0; d < ndim; d++) {
        strides[d] = xs[d];
        strides[ndim + d] = os[d];
        n *= shape[d];
    }
    for (int d = 0; d < ndim - 1; d++)
        rows *= shape[d];
    if (ndim == 1)
        rows = shape[0];
    long double *want = calloc((size_t)nout, sizeof *want);
    int64_t idx[8];
    for (int64_t f = 0; f < n; f++) {
        int64_t r = f, xo = 0, oo = 0;
        for (int d = ndim - 1; d >= 0; d--) {
            idx[d] = r % shape[d];
            r /= shape[d];
            xo += idx[d] * xs[d];
            oo += idx[d] * os[d];
        }
        want[oo] += (long double)x[xo] * x[xo];
    }
    memset(out, 0, (size_t)nout * sizeof *out);
    void *bufs[2] = {x, out};
    int64_t k = split < rows ? split : rows;
    call(m, bufs, 2, ndim, shape, strides, 0, k);
    call(m, bufs, 2, ndim, shape, strides, k, rows);
    for (int64_t o = 0; o < nout; o++)
        cr_expect(fabsl(out[o] - want[o]) <= 1e-13L * fabsl(want[o]) + 1e-300L,
                  "sum element %lld: %.17g, want %.17Lg", (long long)o, out[o], want[o]);
    free(want);
}

Test(jit, reductions)
{
    kb b = sumsq_kernel(TJ_FLOAT64, TJ_FLOAT64);
    tjJ_module *m = build(&b, "sumsq");
    const int64_t R = 61, C = 10007;
    double *x = malloc((size_t)(R * C) * sizeof *x), out[20000];
    for (int64_t i = 0; i < R * C; i++)
        x[i] = unif(-2, 2);
    /* full sum, 1-D, split mid-block */
    check_sum(m, 1, (int64_t[]){R * C}, x, (int64_t[]){1}, out, 1, (int64_t[]){0}, 5000);
    /* full sum of a 2-D array */
    check_sum(m, 2, (int64_t[]){R, C}, x, (int64_t[]){C, 1}, out, 1, (int64_t[]){0, 0}, 7);
    /* row sums: output stride 0 on the inner axis */
    check_sum(m, 2, (int64_t[]){R, C}, x, (int64_t[]){C, 1}, out, R, (int64_t[]){1, 0}, 30);
    /* column sums: read-modify-write along rows */
    check_sum(m, 2, (int64_t[]){R, C}, x, (int64_t[]){C, 1}, out, C, (int64_t[]){0, 1}, 13);
    /* row sums of a transposed operand (buffered variant) */
    check_sum(m, 2, (int64_t[]){C, R}, x, (int64_t[]){1, C}, out, C, (int64_t[]){1, 0}, 4000);
    /* column sums of a transposed operand */
    check_sum(m, 2, (int64_t[]){C, R}, x, (int64_t[]){1, C}, out, R, (int64_t[]){0, 1}, 4000);
    /* 3-D, summing the middle axis */
    const int64_t A = 7, B = 11, D = 13;
    check_sum(m, 3, (int64_t[]){A, B, D}, x, (int64_t[]){B * D, D, 1}, out, A * D,
              (int64_t[]){D, 0, 1}, 20);
    /* 3-D, summing the first and last axes */
    check_sum(m, 3, (int64_t[]){A, B, D}, x, (int64_t[]){B * D, D, 1}, out, B, (int64_t[]){0, 1, 0},
              40);
    free(x);
    tjJ_module_free(m);
}

Test(jit, reductions_integer_and_empty)
{
    /* int32 values summed into int64 (the value is converted to the output dtype first) */
    kb b;
    kb_begin(&b, TJ_OP_SUM);
    int x = kb_input(&b, TJ_INT32, false);
    kb_output(&b, TJ_INT64, kb_load(&b, x));
    tjJ_module *m = build(&b, "isum");
    enum { N = 100003 };
    int32_t *v = malloc(N * sizeof *v);
    int64_t want = 0, out = 0;
    for (int i = 0; i < N; i++) {
        v[i] = (int32_t)rnd();
        want += v[i];
    }
    void *bufs[2] = {v, &out};
    int64_t shape[1] = {N}, strides[2] = {1, 0};
    call(m, bufs, 2, 1, shape, strides, 0, N);
    cr_expect_eq(out, want);
    /* an empty inner axis adds nothing */
    out = 42;
    int64_t shape2[2] = {3, 0}, strides2[4] = {0, 1, 0, 0};
    call(m, bufs, 2, 2, shape2, strides2, 0, 3);
    cr_expect_eq(out, 42);
    free(v);
    tjJ_module_free(m);
}

Test(jit, float32_sum_accuracy)
{
    kb b;
    kb_begin(&b, TJ_OP_SUM);
    int x = kb_input(&b, TJ_FLOAT32, false);
    kb_output(&b, TJ_FLOAT32, kb_load(&b, x));
    tjJ_module *m = build(&b, "fsum");
    enum { N = 10000000 };
    float *v = malloc((size_t)N * sizeof *v), out = 0;
    void *bufs[2] = {v, &out};
    int64_t shape[1] = {N}, strides[2] = {1, 0};
    for (int i = 0; i < N; i++)
        v[i] = 1.0f;
    call(m, bufs, 2, 1, shape, strides, 0, N);
    cr_expect_eq(out, 1e7f, "sum of 1e7 ones = %.9g", out);
    for (int i = 0; i < N; i++)
        v[i] = 0.1f;
    out = 0;
    call(m, bufs, 2, 1, shape, strides, 0, N);
    double want = (double)N * (double)0.1f;
    cr_expect(fabs(out - want) <= 1e-4 * want, "sum of 1e7 x 0.1f = %.9g, want %.9g", out, want);
    /* the same through the buffered variant (a strided vector) */
    float *w = malloc((size_t)N * sizeof *w);
    for (int i = 0; i < N; i++)
        w[i] = 0.1f;
    out = 0;
    int64_t shape2[1] = {N / 2}, strides2[2] = {2, 0};
    void *bufs2[2] = {w, &out};
    call(m, bufs2, 2, 1, shape2, strides2, 0, N / 2);
    cr_expect(fabs(out - want / 2) <= 1e-4 * want / 2, "strided sum = %.9g, want %.9g", out,
              want / 2);
    free(v);
    free(w);
    tjJ_module_free(m);
}

/* ---- NaN and infinities --------------------------------------------------------------------- */

Test(jit, nan_inf_propagation)
{
    static const double a[] = {NAN, 1.0, NAN, INFINITY, -INFINITY, INFINITY, -0.0, 0.0, 2.0};
    static const double c[] = {1.0, NAN, NAN, 1.0, 1.0, INFINITY, 0.0, -0.0, -INFINITY};
    enum { N = 9 };
    static const int ops[] = {TJ_OP_MAXIMUM, TJ_OP_MINIMUM, TJ_OP_GT,  TJ_OP_LT,  TJ_OP_GE,
                              TJ_OP_LE,      TJ_OP_EQ,      TJ_OP_NEQ, TJ_OP_ADD, TJ_OP_MUL};
    for (tj_dtype d = TJ_FLOAT32; d <= TJ_FLOAT64; d++)
        for (size_t oi = 0; oi < sizeof ops / sizeof *ops; oi++) {
            int op = ops[oi];
            bool bo = tj_op_is((tj_op)op, OPF_BOOLOUT);
            kb b;
            kb_begin(&b, TJ_OP_NONE_);
            int x = kb_input(&b, d, false), y = kb_input(&b, d, false);
            kb_output(&b, bo ? TJ_BOOL : d,
                      kb_op(&b, op, bo ? TJ_BOOL : d, kb_load(&b, x), kb_load(&b, y), -1));
            tjJ_module *m = build(&b, "naninf");
            void *pa = buf_new(d, N), *pc = buf_new(d, N), *po = buf_new(TJ_FLOAT64, N);
            for (int i = 0; i < N; i++) {
                setf(d, pa, i, a[i]);
                setf(d, pc, i, c[i]);
            }
            void *bufs[3] = {pa, pc, po};
            call_flat(m, bufs, 3, N, 0, N);
            for (int i = 0; i < N; i++) {
                long double r = ref_binary(op, a[i], c[i]);
                if (bo)
                    cr_expect_eq(((uint8_t *)po)[i], (int)r, "%s(%g, %g)", tjG_ops[op].name, a[i],
                                 c[i]);
                else
                    cr_expect(same_float(d, getf(d, po, i), (double)r, 0), "%s(%g, %g) = %g",
                              tjG_ops[op].name, a[i], c[i], getf(d, po, i));
            }
            free(pa);
            free(pc);
            free(po);
            tjJ_module_free(m);
        }
    /* a sum containing +inf is +inf; one containing NaN is NaN */
    kb b = sumsq_kernel(TJ_FLOAT64, TJ_FLOAT64);
    tjJ_module *m = build(&b, "naninf_sum");
    double v[5000], out = 0;
    for (int i = 0; i < 5000; i++)
        v[i] = 1;
    v[4321] = INFINITY;
    void *bufs[2] = {v, &out};
    int64_t shape[1] = {5000}, strides[2] = {1, 0};
    call(m, bufs, 2, 1, shape, strides, 0, 5000);
    cr_expect(isinf(out) && out > 0);
    v[17] = NAN;
    out = 0;
    call(m, bufs, 2, 1, shape, strides, 0, 5000);
    cr_expect(isnan(out));
    tjJ_module_free(m);
}

/* ---- what the generated code looks like ----------------------------------------------------- */

Test(jit, flat_float32_sigmoid_vectorizes)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, TJ_FLOAT32, false);
    kb_output(&b, TJ_FLOAT32, kb_op(&b, TJ_OP_SIGMOID, TJ_FLOAT32, kb_load(&b, x), -1, -1));
    tjJ_module *m = build(&b, "sigmoid");
    const char *ir = tjJ_module_ir(m, false), *opt = tjJ_module_ir(m, true);
    cr_assert_not_null(ir);
    cr_assert_not_null(opt);
    cr_expect(strstr(ir, "define") != NULL);
    cr_expect(strstr(ir, "<8 x float>") == NULL, "the lowering itself emits scalar code");
    cr_expect(strstr(opt, "<8 x float>") || strstr(opt, "<16 x float>"),
              "the optimized flat loop is not vectorized");
    cr_expect(strstr(opt, "call float @expf") == NULL && strstr(opt, "@llvm.exp.") == NULL,
              "exp must be inline, not a call");
    cr_expect(strstr(opt, "vector.memcheck") == NULL, "operands need no runtime alias checks");
    char *as = tjJ_module_asm(m);
    cr_assert_not_null(as);
    cr_expect(strstr(as, "vfmadd") != NULL || strstr(as, "vmulps") != NULL,
              "no vector code in asm");
    free(as);
    cr_expect_gt(tjJ_module_compile_ms(m), 0.0);
    tjJ_module_free(m);
}

/* ---- malformed descriptions ----------------------------------------------------------------- */

static void expect_rejected(const tjK_kernel *k, const char *what)
{
    const tjK_kernel *ks[1] = {k};
    char err[512] = "";
    tjJ_module *m = (tjJ_module *)0x1;
    tj_status st = tjJ_compile(eng, ks, 1, NULL, 0, &m, err, sizeof err);
    cr_expect(st == TJ_ERR_INVALID || st == TJ_ERR_JIT, "%s: status %d", what, (int)st);
    cr_expect_null(m, "%s: a module came back", what);
    cr_expect_gt(strlen(err), 10, "%s: no message", what);
}

static kb good_kernel(void)
{
    kb b;
    kb_begin(&b, TJ_OP_NONE_);
    int x = kb_input(&b, TJ_FLOAT32, false), y = kb_input(&b, TJ_FLOAT32, false);
    kb_output(&b, TJ_FLOAT32, kb_op(&b, TJ_OP_ADD, TJ_FLOAT32, kb_load(&b, x), kb_load(&b, y), -1));
    return b;
}

Test(jit, malformed_kernels_are_rejected)
{
    kb b = good_kernel();
    b.code[2].args[0] = 2; /* refers to itself */
    expect_rejected(kb_kernel(&b), "self reference");
    b = good_kernel();
    b.code[0].op = TJ_OP_ADD; /* arguments must be earlier: none exist */
    b.code[0].args[1] = 1;
    expect_rejected(kb_kernel(&b), "forward reference");
    b = good_kernel();
    b.code[2].op = TJ_OP_SUM;
    expect_rejected(kb_kernel(&b), "a reduction op as an instruction");
    b = good_kernel();
    b.code[2].op = 9999;
    expect_rejected(kb_kernel(&b), "op out of range");
    b = good_kernel();
    b.code[2].op = -3;
    expect_rejected(kb_kernel(&b), "negative op");
    b = good_kernel();
    b.code[1].args[0] = 2; /* the output operand is not an input */
    expect_rejected(kb_kernel(&b), "load of an output");
    b = good_kernel();
    b.code[1].dtype = TJ_FLOAT64;
    expect_rejected(kb_kernel(&b), "load with the wrong dtype");
    b = good_kernel();
    b.dt[1] = TJ_FLOAT64;
    b.code[1].dtype = TJ_FLOAT64;
    expect_rejected(kb_kernel(&b), "add of float32 and float64");
    b = good_kernel();
    b.dt[2] = (tj_dtype)42;
    expect_rejected(kb_kernel(&b), "invalid operand dtype");
    b = good_kernel();
    b.outs[0] = 3;
    expect_rejected(kb_kernel(&b), "output of a missing instruction");
    b = good_kernel();
    b.k.reduce = TJ_OP_MEAN;
    expect_rejected(kb_kernel(&b), "mean reduction");
    b = good_kernel();
    b.k.ncode = 0;
    expect_rejected(kb_kernel(&b), "no code");
    /* an argument past the op's arity must be -1: the lowering reads any other as an index
     * (fuzz-server's first finding: a unary op with args[1] = 40 read past the values) */
    b = good_kernel();
    b.code[1].args[1] = 40; /* a load uses args[0] only */
    expect_rejected(kb_kernel(&b), "load with a second argument");
    b = good_kernel();
    b.code[2].args[2] = 0; /* add uses two */
    expect_rejected(kb_kernel(&b), "add with a third argument");
    kb e;
    kb_begin(&e, TJ_OP_NONE_);
    int x = kb_input(&e, TJ_INT32, false);
    kb_output(&e, TJ_INT32, kb_op(&e, TJ_OP_EXP, TJ_INT32, kb_load(&e, x), -1, -1));
    expect_rejected(kb_kernel(&e), "exp of int32");
    kb_begin(&e, TJ_OP_NONE_);
    x = kb_input(&e, TJ_FLOAT32, false);
    kb_output(&e, TJ_FLOAT32, kb_op(&e, TJ_OP_SWITCH, TJ_FLOAT32, kb_load(&e, x), 0, 0));
    expect_rejected(kb_kernel(&e), "switch on a float condition");
    kb_begin(&e, TJ_OP_SUM);
    x = kb_input(&e, TJ_FLOAT32, false);
    kb_output(&e, TJ_FLOAT32, kb_load(&e, x));
    kb_output(&e, TJ_FLOAT32, 0);
    expect_rejected(kb_kernel(&e), "sum with two outputs");
    expect_rejected(NULL, "NULL kernel");
    /* the engine still works afterwards */
    b = good_kernel();
    tjJ_module *m = build(&b, "after_errors");
    tjJ_module_free(m);
}

/* ---- engine lifetime ------------------------------------------------------------------------ */

Test(jit, same_kernels_twice_and_teardown)
{
    kb b = strided_kernel();
    tjJ_module *m1 = build(&b, "twice_a"), *m2 = build(&b, "twice_b"), *m3 = build(&b, "twice_a");
    /* code is identified by the kernels' digest: the same kernels share one linked copy,
     * refcounted, whatever name the caller gives */
    cr_expect_eq((void *)tjJ_kernel_fn(m1, 0), (void *)tjJ_kernel_fn(m2, 0));
    cr_expect_eq((void *)tjJ_kernel_fn(m1, 0), (void *)tjJ_kernel_fn(m3, 0));
    float x[3] = {0, 1, 2}, y[3] = {1, 1, 1}, o[3];
    void *bufs[3] = {x, y, o};
    tjJ_module *ms[3] = {m1, m2, m3};
    for (int i = 0; i < 3; i++) {
        memset(o, 0, sizeof o);
        call_flat(ms[i], bufs, 3, 3, 0, 3);
        for (int j = 0; j < 3; j++)
            cr_expect(strided_ok(o[j], x[j], y[j]));
    }
    tjJ_module_free(m2);
    /* the others keep working after one is freed */
    call_flat(m1, bufs, 3, 3, 0, 3);
    call_flat(m3, bufs, 3, 3, 0, 3);
    tjJ_module_free(m1);
    tjJ_module_free(m3);
    tjJ_module_free(NULL);
    /* a second engine alongside the first, freed in the other order */
    tjJ_engine *e2 = NULL;
    char err[256];
    cr_assert_eq(tjJ_engine_new(NULL, &e2, err, sizeof err), TJ_OK, "%s", err);
    const tjK_kernel *ks[1] = {kb_kernel(&b)};
    tjJ_module *m4 = NULL;
    cr_assert_eq(tjJ_compile(e2, ks, 1, NULL, 0, &m4, err, sizeof err), TJ_OK, "%s", err);
    call_flat(m4, bufs, 3, 3, 0, 3);
    tjJ_module_free(m4);
    tjJ_engine_free(e2);
    tjJ_engine_free(NULL);
}

/* Two threads compiling into one engine at once: optimization runs in parallel, adding and
 * looking up code is serialized by the engine. */
typedef struct {
    int ok;
    char err[256];
} thread_result;

static void *compile_and_run(void *arg)
{
    thread_result *r = arg;
    kb b = strided_kernel();
    float x[100], y[100], o[100];
    for (int i = 0; i < 100; i++) {
        x[i] = (float)i * 0.03f;
        y[i] = 1;
    }
    r->ok = 1;
    for (int rep = 0; rep < 4 && r->ok; rep++) {
        const tjK_kernel *ks[1] = {kb_kernel(&b)};
        tjJ_module *m = NULL;
        if (tjJ_compile(eng, ks, 1, NULL, 0, &m, r->err, sizeof r->err) != TJ_OK) {
            r->ok = 0;
            break;
        }
        char *p[3] = {(char *)x, (char *)y, (char *)o};
        int64_t shape[1] = {100}, strides[3] = {1, 1, 1};
        tjJ_kernel_fn(m, 0)(p, shape, strides, 1, 0, 100);
        for (int i = 0; i < 100; i++)
            r->ok &= strided_ok(o[i], x[i], y[i]);
        tjJ_module_free(m);
    }
    return NULL;
}

Test(jit, concurrent_compiles)
{
    pthread_t t[2];
    thread_result r[2] = {{0, ""}, {0, ""}};
    for (int i = 0; i < 2; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, compile_and_run, &r[i]), 0);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect(r[i].ok, "thread %d: %s", i, r[i].err);
    }
}
