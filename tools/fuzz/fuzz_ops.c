/* fz_apply: one fuzzed graph builder on fuzzed operands (fuzz.h). Every public builder family
 * is reachable; arguments (axes, patterns, sizes, dtypes) are fuzzed too, so invalid ones
 * exercise the builders' checks. */
#include "fuzz.h"

/* In the tables, JUMP marks an exact but discontinuous op: exact of exact operands, chaotic of
 * inexact ones. */
#define JUMP FZ_CHAOTIC

typedef tj_var *(*unary_fn)(tj_var *);
typedef tj_var *(*binary_fn)(tj_var *, tj_var *);
typedef tj_var *(*reduce_fn)(tj_var *, const int *, int, bool);
typedef tj_var *(*scalar_fn)(tj_var *, double);

static const struct {
    unary_fn f;
    fz_accuracy acc;
} unary[] = {
    {tj_neg, FZ_EXACT},      {tj_abs, FZ_EXACT},       {tj_exp, FZ_ULPS},
    {tj_log, FZ_ULPS},       {tj_sqrt, FZ_EXACT},      {tj_sqr, FZ_REASSOC},
    {tj_inv, FZ_REASSOC},      {tj_sigmoid, FZ_ULPS},    {tj_tanh, FZ_ULPS},
    {tj_log1p, FZ_ULPS},     {tj_expm1, FZ_ULPS},      {tj_softplus, FZ_ULPS},
    {tj_exp2, FZ_ULPS},      {tj_log2, FZ_ULPS},       {tj_log10, FZ_ULPS},
    {tj_rsqrt, FZ_EXACT},    {tj_sin, FZ_ULPS},        {tj_cos, FZ_ULPS},
    {tj_tan, FZ_ULPS},       {tj_arcsin, FZ_ULPS},     {tj_arccos, FZ_ULPS},
    {tj_arctan, FZ_ULPS},    {tj_sinh, FZ_ULPS},       {tj_cosh, FZ_ULPS},
    {tj_arcsinh, FZ_ULPS},   {tj_arccosh, FZ_ULPS},    {tj_arctanh, FZ_ULPS},
    {tj_erf, FZ_ULPS},       {tj_erfc, FZ_ULPS},       {tj_sign, JUMP},
    {tj_floor, JUMP},    {tj_ceil, JUMP},      {tj_round, JUMP},
    {tj_trunc, JUMP},    {tj_isnan, JUMP},     {tj_isinf, JUMP},
    {tj_not, JUMP},      {tj_invert, JUMP},    {tj_zero_grad, FZ_EXACT},
    {tj_disconnected_grad, FZ_EXACT}, {tj_zeros_like, FZ_EXACT}, {tj_ones_like, FZ_EXACT},
    {tj_transpose, FZ_EXACT},
};
static const struct {
    binary_fn f;
    fz_accuracy acc;
} binary[] = {
    {tj_add, FZ_REASSOC},     {tj_sub, FZ_REASSOC},     {tj_mul, FZ_REASSOC},     {tj_div, FZ_REASSOC},
    {tj_pow, FZ_ULPS},      {tj_maximum, FZ_EXACT}, {tj_minimum, FZ_EXACT}, {tj_int_div, JUMP},
    {tj_mod, JUMP},     {tj_and, JUMP},     {tj_or, JUMP},      {tj_xor, JUMP},
    {tj_gt, JUMP},      {tj_lt, JUMP},      {tj_ge, JUMP},      {tj_le, JUMP},
    {tj_eq, JUMP},      {tj_neq, JUMP},     {tj_arctan2, FZ_ULPS},  {tj_dot, FZ_REASSOC},
    {tj_matmul, FZ_REASSOC}, {tj_outer, FZ_REASSOC},
};
static const struct {
    scalar_fn f;
    fz_accuracy acc;
} with_scalar[] = {
    {tj_addc, FZ_REASSOC}, {tj_subc, FZ_REASSOC},    {tj_mulc, FZ_REASSOC},  {tj_divc, FZ_REASSOC},
    {tj_powc, FZ_ULPS},  {tj_int_divc, JUMP}, {tj_modc, JUMP},
};
static const struct {
    reduce_fn f;
    fz_accuracy acc;
} reduce[] = {
    {tj_sum, FZ_REASSOC}, {tj_mean, FZ_REASSOC}, {tj_prod, FZ_REASSOC}, {tj_max, FZ_EXACT},
    {tj_min, FZ_EXACT},   {tj_all, JUMP},    {tj_any, JUMP},    {tj_variance, FZ_REASSOC},
    {tj_std, FZ_REASSOC}, {tj_logsumexp, FZ_REASSOC},
};
enum {
    NUNARY = sizeof unary / sizeof unary[0],
    NBINARY = sizeof binary / sizeof binary[0],
    NSCALAR = sizeof with_scalar / sizeof with_scalar[0],
    NREDUCE = sizeof reduce / sizeof reduce[0],
};

/* an axis usually in range for rank ndim (negative half the time), sometimes anything */
static int fz_axis(fz_in *in, int ndim)
{
    uint8_t b = fz_u8(in);
    if (b >= 240)
        return (int)(b - 248) * 1000;
    int n = ndim > 0 ? ndim : 1;
    int a = (b >> 1) % n;
    return b & 1 ? a - n : a;
}

static int fz_axes(fz_in *in, int ndim, int *axes)
{
    int n = (int)fz_pick(in, 3);
    for (int i = 0; i < n; i++)
        axes[i] = fz_axis(in, ndim);
    return n;
}

/* the class of an op's result from its operands' (a) and the op's own (b) */
static fz_accuracy loosest(fz_accuracy a, fz_accuracy b)
{
    if (b == JUMP)
        return a == FZ_EXACT ? FZ_EXACT : FZ_CHAOTIC;
    return a > b ? a : b;
}

/* the operand at a fuzzed pool index, its class folded into *acc (the looser of the two: an
 * operand's FZ_CHAOTIC is its value's class, not the JUMP of an op, which loosest() reads it as;
 * found by fuzz-grad: a chaotic operand made an op's result exact) */
static tj_var *operand(fz_in *in, tj_var *const *pool, const fz_accuracy *pool_acc, int npool,
                       fz_accuracy *acc)
{
    unsigned k = fz_pick(in, (unsigned)npool);
    if (pool_acc && pool_acc[k] > *acc)
        *acc = pool_acc[k];
    return pool[k];
}

tj_var *fz_apply(fz_in *in, tj_ctx *ctx, tj_var *const *pool, const fz_accuracy *pool_acc,
                 int npool, fz_accuracy *acc, bool *grad_by_convention)
{
    *acc = FZ_EXACT;
    tj_var *a = operand(in, pool, pool_acc, npool, acc);
    int nd = tj_var_ndim(a);
    int axes[TJ_MAX_NDIM];
    int64_t sizes[4];
    switch (fz_pick(in, 20)) {
    case 0: case 1: case 2: case 3: { /* the elementwise ops, most often */
        unsigned k = fz_pick(in, NUNARY);
        *acc = loosest(*acc, unary[k].acc);
        bool marker = unary[k].f == tj_zero_grad || unary[k].f == tj_disconnected_grad;
        if (grad_by_convention && marker)
            *grad_by_convention = true;
        return unary[k].f(a);
    }
    case 4: case 5: case 6: case 7: {
        unsigned k = fz_pick(in, NBINARY);
        tj_var *b = operand(in, pool, pool_acc, npool, acc);
        *acc = loosest(*acc, binary[k].acc);
        return binary[k].f(a, b);
    }
    case 8: {
        unsigned k = fz_pick(in, NSCALAR);
        *acc = loosest(*acc, with_scalar[k].acc);
        return with_scalar[k].f(a, fz_value(in));
    }
    case 9: {
        unsigned k = fz_pick(in, NREDUCE);
        *acc = loosest(*acc, reduce[k].acc);
        int n = fz_axes(in, nd, axes);
        return reduce[k].f(a, n ? axes : NULL, n, fz_bool(in));
    }
    case 10: { /* argmax/argmin, softmax */
        int axis;
        switch (fz_pick(in, 4)) {
        case 0:
            *acc = loosest(*acc, JUMP);
            axis = fz_bool(in) ? TJ_AXIS_ALL : fz_axis(in, nd);
            return tj_argmax(a, axis, fz_bool(in));
        case 1:
            *acc = loosest(*acc, JUMP);
            axis = fz_axis(in, nd);
            return tj_argmin(a, axis, fz_bool(in));
        case 2: *acc = loosest(*acc, FZ_REASSOC); return tj_softmax(a, fz_axis(in, nd));
        default: *acc = loosest(*acc, FZ_REASSOC); return tj_log_softmax(a, fz_axis(in, nd));
        }
    }
    case 11: { /* dimshuffle / permute */
        int n = (int)fz_pick(in, 5);
        for (int i = 0; i < n; i++)
            axes[i] = (int)fz_pick(in, (unsigned)(nd > 0 ? nd + 1 : 1)) - 1;
        return fz_bool(in) ? tj_dimshuffle(a, axes, n) : tj_permute(a, axes, n);
    }
    case 12: { /* reshape, flatten, squeeze, expand_dims */
        int n = (int)fz_pick(in, 4);
        for (int i = 0; i < n; i++)
            sizes[i] = (int64_t)fz_pick(in, 6) - 1;
        switch (fz_pick(in, 4)) {
        case 0: return tj_reshape(a, sizes, n);
        case 1: return tj_flatten(a, n);
        case 2: return tj_squeeze(a, axes, fz_axes(in, nd, axes));
        default: return tj_expand_dims(a, fz_axis(in, nd + 1));
        }
    }
    case 13: { /* slicing and indexing with literal bounds */
        int64_t start = (int64_t)fz_pick(in, 9) - 4, stop = (int64_t)fz_pick(in, 9) - 4;
        int64_t step = (int64_t)fz_pick(in, 5) - 2;
        if (fz_bool(in))
            return tj_indexi(a, fz_axis(in, nd), start);
        int axis = fz_axis(in, nd);
        int64_t lo = fz_bool(in) ? TJ_OPEN : start;
        int64_t hi = fz_bool(in) ? TJ_OPEN : stop;
        return tj_slicei(a, axis, lo, hi, step ? step : 1);
    }
    case 14: { /* set_subtensor / inc_subtensor of a slice, index or take */
        tj_var *b = operand(in, pool, pool_acc, npool, acc);
        int axis = fz_axis(in, nd);
        tj_var *sub;
        unsigned how = fz_pick(in, 3);
        switch (how) {
        case 0: sub = tj_slicei(a, axis, (int64_t)fz_pick(in, 4) - 2, TJ_OPEN, 1); break;
        case 1: sub = tj_indexi(a, axis, (int64_t)fz_pick(in, 4) - 2); break;
        default: sub = tj_take(a, tj_cast(b, TJ_INT64), axis); *acc = loosest(*acc, JUMP); break;
        }
        if (fz_bool(in)) {
            *acc = loosest(*acc, FZ_REASSOC); /* duplicate indices accumulate */
            return tj_inc_subtensor(sub, b);
        }
        if (grad_by_convention && how == 2)
            *grad_by_convention = true; /* duplicate indices: the last write is the value */
        return tj_set_subtensor(sub, b);
    }
    case 15: { /* take with an integer operand */
        tj_var *idx = operand(in, pool, pool_acc, npool, acc);
        *acc = loosest(*acc, JUMP); /* the indices' values pick elements */
        tj_var *ix = fz_bool(in) ? tj_cast(idx, TJ_INT32) : idx;
        return tj_take(a, ix, fz_axis(in, nd));
    }
    case 16: { /* joining */
        tj_var *two[2] = {a, operand(in, pool, pool_acc, npool, acc)};
        return fz_bool(in) ? tj_concatenate(two, 2, fz_axis(in, nd))
                           : tj_stack(two, 2, fz_axis(in, nd + 1));
    }
    case 17: { /* casts, clip, switch */
        tj_var *b = operand(in, pool, pool_acc, npool, acc);
        switch (fz_pick(in, 4)) {
        case 0: { /* to an integer: a jump at each integer */
            tj_dtype dt = fz_dtype(in);
            if (dt != TJ_FLOAT32 && dt != TJ_FLOAT64)
                *acc = loosest(*acc, JUMP);
            return tj_cast(a, dt);
        }
        case 1: {
            double lo = fz_value(in), hi = fz_value(in);
            return tj_clipc(a, lo, hi);
        }
        case 2: return tj_clip(a, b, operand(in, pool, pool_acc, npool, acc));
        default: { /* the condition's jump applies to the values picked */
            tj_var *c = operand(in, pool, pool_acc, npool, acc);
            *acc = loosest(*acc, JUMP);
            return tj_switch(a, b, c);
        }
        }
    }
    case 18: { /* tensordot over fuzzed axis pairs */
        tj_var *b = operand(in, pool, pool_acc, npool, acc);
        int n = (int)fz_pick(in, 3), bx[2];
        for (int i = 0; i < n; i++) {
            axes[i] = fz_axis(in, nd);
            bx[i] = fz_axis(in, tj_var_ndim(b));
        }
        *acc = loosest(*acc, FZ_REASSOC);
        return fz_bool(in) ? tj_tensordot(a, b, axes, bx, n) : tj_tensordot(a, b, NULL, NULL, n);
    }
    default: { /* literals and constants mixed into elementwise ops */
        tj_var *c;
        switch (fz_pick(in, 3)) {
        case 0: c = tj_lit(ctx, fz_value(in)); break;
        case 1: c = tj_lit_int(ctx, (int64_t)fz_pick(in, 256) - 128); break;
        default: {
            tj_dtype dt = fz_dtype(in);
            c = tj_const(ctx, dt, fz_value(in));
            break;
        }
        }
        unsigned k = fz_pick(in, 9); /* add .. mod of the binary table */
        *acc = loosest(*acc, binary[k].acc);
        return fz_bool(in) ? binary[k].f(a, c) : binary[k].f(c, a);
    }
    }
}
