/* The elementwise op table shared by test_elemwise*.c: each op's builder, numpy's result dtype,
 * and its expected value computed independently of the library (double / long double / 128-bit
 * integer arithmetic, numpy's rules written out). Included by the suites; static throughout. */
#ifndef TJ_TEST_ELEMWISE_H
#define TJ_TEST_ELEMWISE_H

#include "tensorjit.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>

enum { TJT_EXACT, TJT_TRANS, TJT_BOOLRES };

typedef enum {
    O_NEG,
    O_ABS,
    O_SIGN,
    O_SQR,
    O_INV,
    O_SQRT,
    O_RSQRT,
    O_FLOOR,
    O_CEIL,
    O_ROUND,
    O_TRUNC,
    O_ISNAN,
    O_ISINF,
    O_NOT,
    O_INVERT,
    O_CAST,
    O_EXP,
    O_EXP2,
    O_EXPM1,
    O_LOG,
    O_LOG2,
    O_LOG10,
    O_LOG1P,
    O_SIN,
    O_COS,
    O_TAN,
    O_ARCSIN,
    O_ARCCOS,
    O_ARCTAN,
    O_SINH,
    O_COSH,
    O_TANH,
    O_ARCSINH,
    O_ARCCOSH,
    O_ARCTANH,
    O_SIGMOID,
    O_SOFTPLUS,
    O_ERF,
    O_ERFC,
    O_ADD,
    O_SUB,
    O_MUL,
    O_DIV,
    O_INT_DIV,
    O_MOD,
    O_POW,
    O_MAXIMUM,
    O_MINIMUM,
    O_ARCTAN2,
    O_GT,
    O_LT,
    O_GE,
    O_LE,
    O_EQ,
    O_NEQ,
    O_AND,
    O_OR,
    O_XOR,
    O_CLIP,
} tjt_id;

typedef struct {
    const char *name;
    tjt_id id;
    int arity;
    int kind;
} tjt_op;

static const tjt_op tjt_ops[] = {
    {"neg", O_NEG, 1, TJT_EXACT},
    {"abs", O_ABS, 1, TJT_EXACT},
    {"sign", O_SIGN, 1, TJT_EXACT},
    {"sqr", O_SQR, 1, TJT_EXACT},
    {"inv", O_INV, 1, TJT_EXACT},
    {"sqrt", O_SQRT, 1, TJT_EXACT},
    {"rsqrt", O_RSQRT, 1, TJT_EXACT},
    {"floor", O_FLOOR, 1, TJT_EXACT},
    {"ceil", O_CEIL, 1, TJT_EXACT},
    {"round", O_ROUND, 1, TJT_EXACT},
    {"trunc", O_TRUNC, 1, TJT_EXACT},
    {"isnan", O_ISNAN, 1, TJT_BOOLRES},
    {"isinf", O_ISINF, 1, TJT_BOOLRES},
    {"not", O_NOT, 1, TJT_BOOLRES},
    {"invert", O_INVERT, 1, TJT_EXACT},
    {"cast", O_CAST, 1, TJT_EXACT},
    {"exp", O_EXP, 1, TJT_TRANS},
    {"exp2", O_EXP2, 1, TJT_TRANS},
    {"expm1", O_EXPM1, 1, TJT_TRANS},
    {"log", O_LOG, 1, TJT_TRANS},
    {"log2", O_LOG2, 1, TJT_TRANS},
    {"log10", O_LOG10, 1, TJT_TRANS},
    {"log1p", O_LOG1P, 1, TJT_TRANS},
    {"sin", O_SIN, 1, TJT_TRANS},
    {"cos", O_COS, 1, TJT_TRANS},
    {"tan", O_TAN, 1, TJT_TRANS},
    {"arcsin", O_ARCSIN, 1, TJT_TRANS},
    {"arccos", O_ARCCOS, 1, TJT_TRANS},
    {"arctan", O_ARCTAN, 1, TJT_TRANS},
    {"sinh", O_SINH, 1, TJT_TRANS},
    {"cosh", O_COSH, 1, TJT_TRANS},
    {"tanh", O_TANH, 1, TJT_TRANS},
    {"arcsinh", O_ARCSINH, 1, TJT_TRANS},
    {"arccosh", O_ARCCOSH, 1, TJT_TRANS},
    {"arctanh", O_ARCTANH, 1, TJT_TRANS},
    {"sigmoid", O_SIGMOID, 1, TJT_TRANS},
    {"softplus", O_SOFTPLUS, 1, TJT_TRANS},
    {"erf", O_ERF, 1, TJT_TRANS},
    {"erfc", O_ERFC, 1, TJT_TRANS},
    {"add", O_ADD, 2, TJT_EXACT},
    {"sub", O_SUB, 2, TJT_EXACT},
    {"mul", O_MUL, 2, TJT_EXACT},
    {"div", O_DIV, 2, TJT_EXACT},
    {"int_div", O_INT_DIV, 2, TJT_EXACT},
    {"mod", O_MOD, 2, TJT_EXACT},
    {"pow", O_POW, 2, TJT_TRANS},
    {"maximum", O_MAXIMUM, 2, TJT_EXACT},
    {"minimum", O_MINIMUM, 2, TJT_EXACT},
    {"arctan2", O_ARCTAN2, 2, TJT_TRANS},
    {"gt", O_GT, 2, TJT_BOOLRES},
    {"lt", O_LT, 2, TJT_BOOLRES},
    {"ge", O_GE, 2, TJT_BOOLRES},
    {"le", O_LE, 2, TJT_BOOLRES},
    {"eq", O_EQ, 2, TJT_BOOLRES},
    {"neq", O_NEQ, 2, TJT_BOOLRES},
    {"and", O_AND, 2, TJT_EXACT},
    {"or", O_OR, 2, TJT_EXACT},
    {"xor", O_XOR, 2, TJT_EXACT},
    {"clip", O_CLIP, 3, TJT_EXACT},
};
static const int tjt_nops = (int)(sizeof tjt_ops / sizeof *tjt_ops);
#define TJT_MAX_OPS 64

static inline bool tj_dtype_is_float_(tj_dtype d) { return d == TJ_FLOAT32 || d == TJ_FLOAT64; }
static inline bool tjt_is_int(tj_dtype d) { return d != TJ_BOOL && !tj_dtype_is_float_(d); }

static inline bool tjt_float_fn(tjt_id id)
{
    return (id >= O_EXP && id <= O_ERFC) || id == O_INV || id == O_SQRT || id == O_RSQRT ||
           id == O_ARCTAN2 || id == O_DIV;
}

/* numpy refuses these (TypeError) and so do the builders */
static inline bool tjt_rejects(const tjt_op *op, tj_dtype d)
{
    if (d == TJ_BOOL)
        return op->id == O_NEG || op->id == O_SUB || op->id == O_SIGN;
    if (tj_dtype_is_float_(d))
        return op->id == O_AND || op->id == O_OR || op->id == O_XOR || op->id == O_INVERT;
    return false;
}

/* numpy 2's result dtype for operands of dtype d (float16 becomes float32 here) */
static inline tj_dtype tjt_result_dtype(const tjt_op *op, tj_dtype d)
{
    if (op->kind == TJT_BOOLRES)
        return TJ_BOOL;
    if (op->id == O_CAST)
        return TJ_FLOAT64;
    if (op->id == O_DIV)
        return tj_dtype_is_float_(d) ? d : TJ_FLOAT64;
    if (tjt_float_fn(op->id)) {
        if (tj_dtype_is_float_(d))
            return d;
        return d == TJ_INT32 || d == TJ_INT64 ? TJ_FLOAT64 : TJ_FLOAT32;
    }
    if (d == TJ_BOOL) {
        if (op->id == O_SQR || op->id == O_POW || op->id == O_INT_DIV || op->id == O_MOD)
            return TJ_INT8;
        if (op->id == O_ROUND)
            return TJ_FLOAT32;
    }
    return d;
}

static inline tj_var *tjt_build(const tjt_op *op, tj_var *const *in)
{
    tj_var *x = in[0], *y = in[1], *z = in[2];
    switch (op->id) {
    case O_NEG: return tj_neg(x);
    case O_ABS: return tj_abs(x);
    case O_SIGN: return tj_sign(x);
    case O_SQR: return tj_sqr(x);
    case O_INV: return tj_inv(x);
    case O_SQRT: return tj_sqrt(x);
    case O_RSQRT: return tj_rsqrt(x);
    case O_FLOOR: return tj_floor(x);
    case O_CEIL: return tj_ceil(x);
    case O_ROUND: return tj_round(x);
    case O_TRUNC: return tj_trunc(x);
    case O_ISNAN: return tj_isnan(x);
    case O_ISINF: return tj_isinf(x);
    case O_NOT: return tj_not(x);
    case O_INVERT: return tj_invert(x);
    case O_CAST: return tj_cast(x, TJ_FLOAT64);
    case O_EXP: return tj_exp(x);
    case O_EXP2: return tj_exp2(x);
    case O_EXPM1: return tj_expm1(x);
    case O_LOG: return tj_log(x);
    case O_LOG2: return tj_log2(x);
    case O_LOG10: return tj_log10(x);
    case O_LOG1P: return tj_log1p(x);
    case O_SIN: return tj_sin(x);
    case O_COS: return tj_cos(x);
    case O_TAN: return tj_tan(x);
    case O_ARCSIN: return tj_arcsin(x);
    case O_ARCCOS: return tj_arccos(x);
    case O_ARCTAN: return tj_arctan(x);
    case O_SINH: return tj_sinh(x);
    case O_COSH: return tj_cosh(x);
    case O_TANH: return tj_tanh(x);
    case O_ARCSINH: return tj_arcsinh(x);
    case O_ARCCOSH: return tj_arccosh(x);
    case O_ARCTANH: return tj_arctanh(x);
    case O_SIGMOID: return tj_sigmoid(x);
    case O_SOFTPLUS: return tj_softplus(x);
    case O_ERF: return tj_erf(x);
    case O_ERFC: return tj_erfc(x);
    case O_ADD: return tj_add(x, y);
    case O_SUB: return tj_sub(x, y);
    case O_MUL: return tj_mul(x, y);
    case O_DIV: return tj_div(x, y);
    case O_INT_DIV: return tj_int_div(x, y);
    case O_MOD: return tj_mod(x, y);
    case O_POW: return tj_pow(x, y);
    case O_MAXIMUM: return tj_maximum(x, y);
    case O_MINIMUM: return tj_minimum(x, y);
    case O_ARCTAN2: return tj_arctan2(x, y);
    case O_GT: return tj_gt(x, y);
    case O_LT: return tj_lt(x, y);
    case O_GE: return tj_ge(x, y);
    case O_LE: return tj_le(x, y);
    case O_EQ: return tj_eq(x, y);
    case O_NEQ: return tj_neq(x, y);
    case O_AND: return tj_and(x, y);
    case O_OR: return tj_or(x, y);
    case O_XOR: return tj_xor(x, y);
    case O_CLIP: return tj_clip(x, y, z);
    }
    return NULL;
}

/* ---- expected values ---------------------------------------------------------------------- */

typedef __int128 tjt_i128;

/* v (any integer) wrapped into integer dtype d, as two's complement of its width */
static inline double tjt_wrap(tj_dtype d, tjt_i128 v)
{
    uint64_t u = (uint64_t)v;
    switch (d) {
    case TJ_BOOL: return u != 0;
    case TJ_INT8: return (double)(int8_t)(uint8_t)u;
    case TJ_INT16: return (double)(int16_t)(uint16_t)u;
    case TJ_INT32: return (double)(int32_t)(uint32_t)u;
    case TJ_UINT8: return (double)(uint8_t)u;
    default: return (double)(int64_t)u;
    }
}

/* value of an operand of dtype d converted to dtype c (as numpy's astype would) */
static inline double tjt_as(double v, tj_dtype c)
{
    if (c == TJ_FLOAT32)
        return (double)(float)v;
    if (c == TJ_BOOL)
        return v != 0;
    return v;
}

static inline double tjt_round_to(double v, tj_dtype od)
{
    return od == TJ_FLOAT32 ? (double)(float)v : v;
}

/* floor(x / y) for integers, exactly (128-bit), numpy: y == 0 gives 0 */
static inline tjt_i128 tjt_floordiv_int(tjt_i128 x, tjt_i128 y)
{
    if (y == 0)
        return 0;
    tjt_i128 q = x / y;
    while (y > 0 ? q * y > x : q * y < x)
        q--;
    while (y > 0 ? (q + 1) * y <= x : (q + 1) * y >= x)
        q++;
    return q;
}

/* numpy's sign: -1, 0, 1, NaN for NaN, +0 for -0 */
static inline double tjt_sign(double x) { return x != x ? x : x > 0 ? 1 : x < 0 ? -1 : 0.0; }

static inline double tjt_softplus(double x) { return x > 30 ? x + exp(-x) : log1p(exp(x)); }

/* Computes *want for op on operands a[] of dtype d with result dtype od. Returns false when
 * this table has no independent value for the case (it is then covered by hand-written cases
 * in test_elemwise_numpy.c). */
static inline bool tjt_expected(const tjt_op *op, tj_dtype d, tj_dtype od, const double *a,
                                double *want)
{
    /* the dtype the op computes in: the operands' for bool results, else the result's */
    tj_dtype cd = op->kind == TJT_BOOLRES ? d : od;
    if (op->id == O_CAST) {
        *want = a[0];
        return true;
    }
    double x = tjt_as(a[0], cd), y = tjt_as(a[1], cd), z = tjt_as(a[2], cd);
    bool fl = tj_dtype_is_float_(cd);
    double r;
    switch (op->id) {
    case O_ISNAN: *want = x != x; return true;
    case O_ISINF: *want = isinf(x) != 0; return true;
    case O_NOT: *want = x == 0; return true;
    case O_GT: *want = x > y; return true;
    case O_LT: *want = x < y; return true;
    case O_GE: *want = x >= y; return true;
    case O_LE: *want = x <= y; return true;
    case O_EQ: *want = x == y; return true;
    case O_NEQ: *want = x != y; return true;
    default: break;
    }
    if (cd == TJ_BOOL) { /* logical */
        bool p = x != 0, q = y != 0, s = z != 0;
        switch (op->id) {
        case O_ABS:
        case O_FLOOR:
        case O_CEIL:
        case O_TRUNC: r = p; break;
        case O_INVERT: r = !p; break;
        case O_ADD:
        case O_OR:
        case O_MAXIMUM: r = p || q; break;
        case O_MUL:
        case O_AND:
        case O_MINIMUM: r = p && q; break;
        case O_XOR: r = p != q; break;
        case O_CLIP: r = (p || q) && s; break;
        default: return false;
        }
        *want = r;
        return true;
    }
    if (!fl) { /* integers: exact in 128 bits, then wrapped */
        tjt_i128 i = (tjt_i128)x, j = (tjt_i128)y, k = (tjt_i128)z;
        tjt_i128 v;
        switch (op->id) {
        case O_NEG: v = -i; break;
        case O_ABS: v = i < 0 ? -i : i; break;
        case O_SIGN: v = i > 0 ? 1 : i < 0 ? -1 : 0; break;
        case O_SQR: v = i * i; break;
        case O_FLOOR:
        case O_CEIL:
        case O_ROUND:
        case O_TRUNC: v = i; break;
        case O_INVERT: v = ~i; break;
        case O_ADD: v = i + j; break;
        case O_SUB: v = i - j; break;
        case O_MUL: v = (tjt_i128)((uint64_t)i * (uint64_t)j); break;
        case O_INT_DIV: v = tjt_floordiv_int(i, j); break;
        case O_MOD: v = j == 0 ? 0 : i - tjt_floordiv_int(i, j) * j; break;
        case O_POW: {
            if (j < 0) { /* numpy raises; we give the limit of the integer sequence */
                v = i == 1 ? 1 : i == -1 ? ((j & 1) ? -1 : 1) : 0;
                break;
            }
            if (j > 4096)
                return false;
            uint64_t p = 1;
            for (tjt_i128 e = 0; e < j; e++)
                p *= (uint64_t)i;
            v = (tjt_i128)p;
            break;
        }
        case O_MAXIMUM: v = i > j ? i : j; break;
        case O_MINIMUM: v = i < j ? i : j; break;
        case O_AND: v = i & j; break;
        case O_OR: v = i | j; break;
        case O_XOR: v = i ^ j; break;
        case O_CLIP:
            v = i < j ? j : i;
            v = v > k ? k : v;
            break;
        default: return false;
        }
        *want = tjt_wrap(cd, v);
        return true;
    }
    switch (op->id) {
    case O_NEG: r = -x; break;
    case O_ABS: r = fabs(x); break;
    case O_SIGN: r = tjt_sign(x); break;
    case O_SQR: r = x * x; break;
    case O_INV: r = 1 / x; break;
    case O_SQRT: r = sqrt(x); break;
    case O_RSQRT: r = 1 / tjt_round_to(sqrt(x), cd); break;
    case O_FLOOR: r = floor(x); break;
    case O_CEIL: r = ceil(x); break;
    case O_ROUND: r = nearbyint(x); break; /* the default mode rounds half to even */
    case O_TRUNC: r = trunc(x); break;
    case O_EXP: r = exp(x); break;
    case O_EXP2: r = exp2(x); break;
    case O_EXPM1: r = expm1(x); break;
    case O_LOG: r = log(x); break;
    case O_LOG2: r = log2(x); break;
    case O_LOG10: r = log10(x); break;
    case O_LOG1P: r = log1p(x); break;
    case O_SIN: r = sin(x); break;
    case O_COS: r = cos(x); break;
    case O_TAN: r = tan(x); break;
    case O_ARCSIN: r = asin(x); break;
    case O_ARCCOS: r = acos(x); break;
    case O_ARCTAN: r = atan(x); break;
    case O_SINH: r = sinh(x); break;
    case O_COSH: r = cosh(x); break;
    case O_TANH: r = tanh(x); break;
    case O_ARCSINH: r = asinh(x); break;
    case O_ARCCOSH: r = acosh(x); break;
    case O_ARCTANH: r = atanh(x); break;
    case O_SIGMOID: r = 1 / (1 + exp(-x)); break;
    case O_SOFTPLUS: r = tjt_softplus(x); break;
    case O_ERF: r = erf(x); break;
    case O_ERFC: r = erfc(x); break;
    case O_ADD: r = x + y; break;
    case O_SUB: r = x - y; break;
    case O_MUL: r = x * y; break;
    case O_DIV: r = x / y; break;
    case O_POW: r = pow(x, y); break;
    case O_ARCTAN2: r = atan2(x, y); break;
    /* numpy 2: NaN wins, a tie (-0, +0) gives the second operand */
    case O_MAXIMUM: r = (x != x || y != y) ? (x != x ? x : y) : (x > y ? x : y); break;
    case O_MINIMUM: r = (x != x || y != y) ? (x != x ? x : y) : (x < y ? x : y); break;
    case O_CLIP: /* numpy: max with lo first, then min with hi; any NaN gives NaN */
        if (x != x || y != y || z != z) {
            r = NAN;
        } else {
            r = x < y ? y : x;
            r = r > z ? z : r;
        }
        break;
    case O_INT_DIV:
    case O_MOD: {
        /* Python's floor division, exactly: r = fmod (exact), moved to y's sign */
        if (!isfinite(x) || !isfinite(y) || y == 0)
            return false;
        long double m = fmodl(x, y);
        if (m != 0 && ((m < 0) != (y < 0)))
            m += y;
        if (op->id == O_MOD) {
            r = m == 0 ? copysign(0.0, y) : (double)m;
            if (cd == TJ_FLOAT32 && m != 0 && (double)(float)(double)m != (double)m)
                return false; /* m + y rounded in float: numpy rounds in float too */
        } else {
            long double q = roundl(((long double)x - m) / y);
            r = q == 0 ? copysign(0.0, x / y) : (double)q;
        }
        break;
    }
    default: return false;
    }
    *want = tjt_round_to(r, od);
    return true;
}

#endif /* TJ_TEST_ELEMWISE_H */
