/* The op bindings: ONE table from Theano's name to the kind of signature and the tensorjit
 * builder. Binding a new op of the library is one line here; the kind decides how the call's
 * arguments are read (see apply_op). Operators (+, *, <, ...) go through the same table. */
#include "internal.h"

#include <string.h>

typedef enum {
    OPK_UNARY,    /* f(x) */
    OPK_BINARY,   /* f(a, b); with `nary` set, f(a, b, c, ...) too */
    OPK_TERNARY,  /* f(a, b, c) */
    OPK_REDUCE,   /* f(x, axis=None, keepdims=False) */
    OPK_CAST,     /* f(x, dtype) */
    OPK_AXIS,     /* f(x, axis=default_axis) */
    OPK_PATTERN,  /* f(x, *pattern): ints and 'x' */
    OPK_DDOF,     /* f(x, axis=None, keepdims=False, ddof=0) */
    OPK_ARG,      /* f(x, axis=None, keepdims=False): one axis or all (argmax) */
    OPK_AXES,     /* f(x, axis=None): axes (squeeze) */
    OPK_PERMUTE,  /* f(x, axes=None): reversed, or the given permutation (transpose) */
    OPK_RESHAPE,  /* f(x, shape): ints (-1 inferred) or symbolic scalars */
    OPK_LIST,     /* f(tensors, axis=0): a list of tensors (concatenate, stack) */
    OPK_TENSORDOT /* f(a, b, axes=2) */
} op_kind;

struct repl_op {
    const char *name;
    op_kind kind;
    union {
        tj_var *(*unary)(tj_var *);
        tj_var *(*binary)(tj_var *, tj_var *);
        tj_var *(*ternary)(tj_var *, tj_var *, tj_var *);
        tj_var *(*reduce)(tj_var *, const int *, int, bool);
        tj_var *(*cast)(tj_var *, tj_dtype);
        tj_var *(*axis)(tj_var *, int);
        tj_var *(*pattern)(tj_var *, const int *, int);
        tj_var *(*ddof)(tj_var *, const int *, int, bool, int);
        tj_var *(*arg)(tj_var *, int, bool);
        tj_var *(*list)(tj_var *const *, int, int);
        tj_var *(*tensordot)(tj_var *, tj_var *, const int *, const int *, int);
    } fn;
    tj_var *(*nary)(tj_var *const *, int);
    int default_axis;
    const char *doc;
    const char *param; /* OPK_AXIS: the name of the int parameter ("axis", "ndim") */
};

#define UNARY(n, f, d)                                                                             \
    {                                                                                              \
        n, OPK_UNARY, {.unary = f}, NULL, 0, d, NULL                                               \
    }
#define BINARY(n, f, d)                                                                            \
    {                                                                                              \
        n, OPK_BINARY, {.binary = f}, NULL, 0, d, NULL                                             \
    }
#define NARY(n, f, fn, d)                                                                          \
    {                                                                                              \
        n, OPK_BINARY, {.binary = f}, fn, 0, d, NULL                                               \
    }
#define TERNARY(n, f, d)                                                                           \
    {                                                                                              \
        n, OPK_TERNARY, {.ternary = f}, NULL, 0, d, NULL                                           \
    }
#define REDUCE(n, f, d)                                                                            \
    {                                                                                              \
        n, OPK_REDUCE, {.reduce = f}, NULL, 0, d, NULL                                             \
    }
#define CAST(n, f, d)                                                                              \
    {                                                                                              \
        n, OPK_CAST, {.cast = f}, NULL, 0, d, NULL                                                 \
    }
#define AXIS(n, f, param, ax, d)                                                                   \
    {                                                                                              \
        n, OPK_AXIS, {.axis = f}, NULL, ax, d, param                                               \
    }
#define PATTERN(n, f, d)                                                                           \
    {                                                                                              \
        n, OPK_PATTERN, {.pattern = f}, NULL, 0, d, NULL                                           \
    }
#define DDOF(n, f, d)                                                                              \
    {                                                                                              \
        n, OPK_DDOF, {.ddof = f}, NULL, 0, d, NULL                                                 \
    }
#define ARG(n, f, d)                                                                               \
    {                                                                                              \
        n, OPK_ARG, {.arg = f}, NULL, 0, d, NULL                                                   \
    }
#define AXES(n, f, d)                                                                              \
    {                                                                                              \
        n, OPK_AXES, {.pattern = f}, NULL, 0, d, NULL                                              \
    }
#define PERMUTE(n, f, d)                                                                           \
    {                                                                                              \
        n, OPK_PERMUTE, {.pattern = f}, NULL, 0, d, NULL                                           \
    }
#define RESHAPE(n, d)                                                                              \
    {                                                                                              \
        n, OPK_RESHAPE, {.unary = NULL}, NULL, 0, d, NULL                                          \
    }
#define LIST(n, f, d)                                                                              \
    {                                                                                              \
        n, OPK_LIST, {.list = f}, NULL, 0, d, NULL                                                 \
    }
#define TENSORDOT(n, f, d)                                                                         \
    {                                                                                              \
        n, OPK_TENSORDOT, {.tensordot = f}, NULL, 0, d, NULL                                       \
    }

/* Adapters where the C signature differs from the table's kinds. */
static tj_var *join_list(tj_var *const *vars, int n, int axis)
{
    return tj_concatenate(vars, n, axis);
}
static tj_var *permute_or_reverse(tj_var *a, const int *axes, int n)
{
    return n ? tj_permute(a, axes, n) : tj_transpose(a);
}

static const repl_op op_table[] = {
    /* elementwise, unary */
    UNARY("neg", tj_neg, "-x"),
    UNARY("abs", tj_abs, "|x|"),
    UNARY("abs_", tj_abs, "|x| (Theano's spelling)"),
    UNARY("exp", tj_exp, "e**x"),
    UNARY("log", tj_log, "natural logarithm"),
    UNARY("sqrt", tj_sqrt, "square root"),
    UNARY("sqr", tj_sqr, "x*x"),
    UNARY("inv", tj_inv, "1/x"),
    UNARY("sigmoid", tj_sigmoid, "1/(1+exp(-x))"),
    UNARY("tanh", tj_tanh, "hyperbolic tangent"),
    UNARY("log1p", tj_log1p, "log(1 + x), accurate near 0"),
    UNARY("expm1", tj_expm1, "exp(x) - 1, accurate near 0"),
    UNARY("softplus", tj_softplus, "log(1 + exp(x)), never overflows"),
    UNARY("exp2", tj_exp2, "2**x"),
    UNARY("log2", tj_log2, "base-2 logarithm"),
    UNARY("log10", tj_log10, "base-10 logarithm"),
    UNARY("rsqrt", tj_rsqrt, "1 / sqrt(x)"),
    UNARY("sin", tj_sin, "sine"),
    UNARY("cos", tj_cos, "cosine"),
    UNARY("tan", tj_tan, "tangent"),
    UNARY("arcsin", tj_arcsin, "inverse sine"),
    UNARY("arccos", tj_arccos, "inverse cosine"),
    UNARY("arctan", tj_arctan, "inverse tangent"),
    UNARY("sinh", tj_sinh, "hyperbolic sine"),
    UNARY("cosh", tj_cosh, "hyperbolic cosine"),
    UNARY("arcsinh", tj_arcsinh, "inverse hyperbolic sine"),
    UNARY("arccosh", tj_arccosh, "inverse hyperbolic cosine"),
    UNARY("arctanh", tj_arctanh, "inverse hyperbolic tangent"),
    UNARY("erf", tj_erf, "error function"),
    UNARY("erfc", tj_erfc, "1 - erf(x)"),
    UNARY("sgn", tj_sign, "-1, 0 or 1 (Theano's name)"),
    UNARY("sign", tj_sign, "-1, 0 or 1"),
    UNARY("floor", tj_floor, "round down"),
    UNARY("ceil", tj_ceil, "round up"),
    UNARY("round", tj_round, "round half to even"),
    UNARY("trunc", tj_trunc, "round toward 0"),
    UNARY("isnan", tj_isnan, "x is NaN (bool)"),
    UNARY("isinf", tj_isinf, "x is infinite (bool)"),
    UNARY("logical_not", tj_not, "not x (bool result)"),
    UNARY("invert", tj_invert, "~x: bitwise on integers, logical on bool"),
    UNARY("zeros_like", tj_zeros_like, "zeros of x's dtype and shape"),
    UNARY("ones_like", tj_ones_like, "ones of x's dtype and shape"),
    UNARY("zero_grad", tj_zero_grad, "x, with a zero gradient"),
    UNARY("disconnected_grad", tj_disconnected_grad, "x, with no gradient"),
    UNARY("stop_gradient", tj_stop_gradient, "x, with no gradient (JAX's name)"),
    /* elementwise, binary (numpy broadcasting and dtype promotion) */
    NARY("add", tj_add, tj_add_n, "a + b (+ c ...)"),
    BINARY("sub", tj_sub, "a - b"),
    NARY("mul", tj_mul, tj_mul_n, "a * b (* c ...)"),
    BINARY("true_div", tj_div, "a / b (integers give float64)"),
    BINARY("pow", tj_pow, "a ** b"),
    BINARY("maximum", tj_maximum, "elementwise max"),
    BINARY("minimum", tj_minimum, "elementwise min"),
    BINARY("gt", tj_gt, "a > b"),
    BINARY("lt", tj_lt, "a < b"),
    BINARY("ge", tj_ge, "a >= b"),
    BINARY("le", tj_le, "a <= b"),
    BINARY("eq", tj_eq, "a == b elementwise"),
    BINARY("neq", tj_neq, "a != b elementwise"),
    BINARY("int_div", tj_int_div, "a // b (floor division, numpy's rules)"),
    BINARY("mod", tj_mod, "a % b (the divisor's sign, numpy's rules)"),
    BINARY("and_", tj_and, "a & b: bitwise on integers, logical on bool"),
    BINARY("or_", tj_or, "a | b"),
    BINARY("xor", tj_xor, "a ^ b"),
    BINARY("arctan2", tj_arctan2, "the angle of (x=b, y=a)"),
    TERNARY("clip", tj_clip, "x limited to [lo, hi] (clip(x, lo, hi))"),
    TERNARY("switch", tj_switch, "cond ? a : b elementwise"),
    TERNARY("where", tj_switch, "numpy's name for switch"),
    CAST("cast", tj_cast, "x converted to dtype"),
    /* reductions */
    REDUCE("sum", tj_sum, "sum over axis (None = all)"),
    REDUCE("mean", tj_mean, "mean over axis (None = all)"),
    REDUCE("prod", tj_prod, "product over axis (None = all)"),
    REDUCE("max", tj_max, "maximum over axis (None = all)"),
    REDUCE("min", tj_min, "minimum over axis (None = all)"),
    REDUCE("all", tj_all, "logical and over axis (None = all)"),
    REDUCE("any", tj_any, "logical or over axis (None = all)"),
    REDUCE("logsumexp", tj_logsumexp, "log(sum(exp(x))) over axis, stable"),
    DDOF("var", tj_variance_ddof, "variance over axis (numpy.var; ddof=0)"),
    DDOF("std", tj_std_ddof, "standard deviation over axis (numpy.std; ddof=0)"),
    ARG("argmax", tj_argmax, "index of the maximum along axis (None = flattened)"),
    ARG("argmin", tj_argmin, "index of the minimum along axis (None = flattened)"),
    AXIS("softmax", tj_softmax, "axis", -1, "exp(x) / sum(exp(x)) along axis, stable"),
    AXIS("log_softmax", tj_log_softmax, "axis", -1, "log(softmax(x)) along axis, stable"),
    /* linear algebra */
    BINARY("dot", tj_dot, "numpy.dot for vectors and matrices (BLAS)"),
    BINARY("matmul", tj_matmul, "a @ b (numpy.matmul, batched)"),
    BINARY("outer", tj_outer, "outer product of the flattened operands"),
    TENSORDOT("tensordot", tj_tensordot, "numpy.tensordot; axes an int or a pair of lists"),
    /* shape */
    PATTERN("dimshuffle", tj_dimshuffle, "axes in a new order; 'x' adds a broadcastable axis"),
    PERMUTE("transpose", permute_or_reverse, "axes reversed, or permuted as axes=(...)"),
    AXIS("shape_of", tj_shape_of, "axis", 0, "the length of one axis (int64 scalar)"),
    RESHAPE("reshape", "numpy.reshape: a shape of ints (one may be -1) or symbolic scalars"),
    AXIS("flatten", tj_flatten, "ndim", 1, "the first ndim-1 axes kept, the rest collapsed"),
    AXES("squeeze", tj_squeeze, "broadcastable axes removed (axis=None: all of them)"),
    AXIS("expand_dims", tj_expand_dims, "axis", 0, "a new broadcastable axis at axis"),
    LIST("concatenate", join_list, "concatenate([a, b, ...], axis=0)"),
    LIST("stack", tj_stack, "stack([a, b, ...], axis=0): along a new axis"),
    BINARY("set_subtensor", tj_set_subtensor, "x with x[...] set: set_subtensor(x[...], value)"),
    BINARY("inc_subtensor", tj_inc_subtensor,
           "x with x[...] incremented: inc_subtensor(x[...], v)"),
};
enum { NOPS = sizeof op_table / sizeof *op_table };

const repl_op *repl_op_find(const char *name)
{
    for (int i = 0; i < NOPS; i++)
        if (!strcmp(op_table[i].name, name))
            return &op_table[i];
    return NULL;
}

const char *repl_op_name(const repl_op *op) { return op->name; }

void repl_op_each(void (*fn)(void *arg, const char *name), void *arg)
{
    for (int i = 0; i < NOPS; i++)
        fn(arg, op_table[i].name);
}

void repl_op_help(repl_buf *b, const repl_op *op)
{
    static const char *const signatures[] = {
        [OPK_UNARY] = "(x)",
        [OPK_BINARY] = "(a, b)",
        [OPK_TERNARY] = "(a, b, c)",
        [OPK_REDUCE] = "(x, axis=None, keepdims=False)",
        [OPK_CAST] = "(x, dtype)",
        [OPK_AXIS] = "(x, axis)",
        [OPK_PATTERN] = "(x, *pattern)",
        [OPK_DDOF] = "(x, axis=None, keepdims=False, ddof=0)",
        [OPK_ARG] = "(x, axis=None, keepdims=False)",
        [OPK_AXES] = "(x, axis=None)",
        [OPK_PERMUTE] = "(x, axes=None)",
        [OPK_RESHAPE] = "(x, newshape)",
        [OPK_LIST] = "(tensors, axis=0)",
        [OPK_TENSORDOT] = "(a, b, axes=2)",
    };
    if (op->kind == OPK_AXIS) {
        repl_buf_printf(b, "%s(x, %s=%d): %s", op->name, op->param, op->default_axis, op->doc);
        return;
    }
    repl_buf_printf(b, "%s%s: %s", op->name, signatures[op->kind], op->doc);
}

/* Reads a dimshuffle pattern: ints and 'x', given one by one or as one tuple/list. */
static bool read_pattern(repl_session *s, repl_value *const *items, int n, size_t pos, int *pattern)
{
    if (n == 1 && repl_is_seq(items[0])) {
        n = items[0]->as.seq.n;
        items = items[0]->as.seq.items;
    }
    if (n > TJ_MAX_NDIM)
        return repl_fail(s, pos, "a pattern has at most %d entries", TJ_MAX_NDIM), false;
    for (int i = 0; i < n; i++) {
        if (items[i]->kind == V_STR && !strcmp(items[i]->as.str.s, "x")) {
            pattern[i] = -1;
            continue;
        }
        int64_t a;
        if (!repl_to_int(s, items[i], pos, &a))
            return false;
        if (a < 0 || a >= TJ_MAX_NDIM)
            return repl_fail(s, pos, "pattern entry %lld is not an axis", (long long)a), false;
        pattern[i] = (int)a;
    }
    return true;
}

/* reshape(x, shape): literal sizes use tj_reshape; any symbolic size uses tj_reshape_sym (and makes
 * the result symbolic). */
static tj_var *reshape(repl_session *s, tj_var *x, repl_value *shape, size_t pos, bool *symbolic)
{
    repl_value *const *dims = &shape;
    int n = 1;
    if (repl_is_seq(shape)) {
        dims = shape->as.seq.items;
        n = shape->as.seq.n;
    }
    if (n > TJ_MAX_NDIM)
        return repl_fail(s, pos, "a shape has at most %d entries", TJ_MAX_NDIM);
    bool any_var = false;
    for (int i = 0; i < n; i++)
        any_var |= dims[i]->kind == V_VAR;
    if (!any_var) {
        int64_t sizes[TJ_MAX_NDIM];
        for (int i = 0; i < n; i++)
            if (!repl_to_int(s, dims[i], pos, &sizes[i]))
                return NULL;
        return tj_reshape(x, sizes, n);
    }
    tj_var *sizes[TJ_MAX_NDIM];
    for (int i = 0; i < n; i++) {
        bool sym;
        if (!(sizes[i] = repl_to_var(s, dims[i], pos, &sym)))
            return NULL;
    }
    *symbolic = true;
    return tj_reshape_sym(x, sizes, n);
}

/* Applies an op to already-sorted arguments: tensors[0..ntensors) are the tensor operands,
 * extra[] the kind's other parameters (axis, keepdims, dtype, pattern). */
static repl_value *apply_op(repl_session *s, const repl_op *op, repl_value *const *tensors,
                            const size_t *tpos, int ntensors, repl_value *const *extra,
                            const size_t *epos, int nextra, size_t pos)
{
    tj_var *vars[64];
    bool symbolic = false;
    if (ntensors > 64)
        return repl_fail(s, pos, "%s: too many operands (at most 64)", op->name);
    for (int i = 0; i < ntensors; i++) {
        bool sym;
        if (!(vars[i] = repl_to_var(s, tensors[i], tpos[i], &sym)))
            return NULL;
        symbolic |= sym;
    }
    tj_var *r = NULL;
    switch (op->kind) {
    case OPK_UNARY: r = op->fn.unary(vars[0]); break;
    case OPK_BINARY:
        r = ntensors == 2 ? op->fn.binary(vars[0], vars[1]) : op->nary(vars, ntensors);
        break;
    case OPK_TERNARY: r = op->fn.ternary(vars[0], vars[1], vars[2]); break;
    case OPK_REDUCE: {
        int axes[TJ_MAX_NDIM], naxes = 0;
        bool keepdims = false;
        if (extra[0] && !repl_to_axes(s, extra[0], epos[0], axes, &naxes))
            return NULL;
        if (extra[1] && !repl_to_bool(s, extra[1], epos[1], &keepdims))
            return NULL;
        r = op->fn.reduce(vars[0], naxes ? axes : NULL, naxes, keepdims);
        break;
    }
    case OPK_CAST: {
        tj_dtype d;
        if (!repl_to_dtype(s, extra[0], epos[0], &d))
            return NULL;
        r = op->fn.cast(vars[0], d);
        break;
    }
    case OPK_AXIS: {
        int64_t axis = op->default_axis;
        if (extra[0] && !repl_to_int(s, extra[0], epos[0], &axis))
            return NULL;
        if (axis < -TJ_MAX_NDIM || axis >= TJ_MAX_NDIM)
            return repl_fail(s, epos[0], "axis %lld is out of range", (long long)axis);
        r = op->fn.axis(vars[0], (int)axis);
        break;
    }
    case OPK_PATTERN: {
        int pattern[TJ_MAX_NDIM];
        if (!read_pattern(s, extra, nextra, nextra ? epos[0] : pos, pattern))
            return NULL;
        r = op->fn.pattern(vars[0], pattern,
                           nextra == 1 && repl_is_seq(extra[0]) ? extra[0]->as.seq.n : nextra);
        break;
    }
    case OPK_DDOF:
    case OPK_ARG: {
        int axes[TJ_MAX_NDIM], naxes = 0;
        bool keepdims = false;
        int64_t ddof = 0;
        if (extra[0] && !repl_to_axes(s, extra[0], epos[0], axes, &naxes))
            return NULL;
        if (extra[1] && !repl_to_bool(s, extra[1], epos[1], &keepdims))
            return NULL;
        if (op->kind == OPK_ARG) {
            if (naxes > 1)
                return repl_fail(s, epos[0], "%s takes one axis or None", op->name);
            r = op->fn.arg(vars[0], naxes ? axes[0] : TJ_AXIS_ALL, keepdims);
            break;
        }
        if (extra[2] && !repl_to_int(s, extra[2], epos[2], &ddof))
            return NULL;
        if (ddof < 0 || ddof > INT32_MAX)
            return repl_fail(s, epos[2], "ddof must be >= 0");
        r = op->fn.ddof(vars[0], naxes ? axes : NULL, naxes, keepdims, (int)ddof);
        break;
    }
    case OPK_AXES:
    case OPK_PERMUTE: {
        int axes[TJ_MAX_NDIM], naxes = 0;
        if (extra[0] && !repl_to_axes(s, extra[0], epos[0], axes, &naxes))
            return NULL;
        r = op->fn.pattern(vars[0], naxes ? axes : NULL, naxes);
        break;
    }
    case OPK_RESHAPE:
        r = reshape(s, vars[0], extra[0], epos[0], &symbolic);
        if (!r && s->failed)
            return NULL;
        break;
    case OPK_LIST: {
        int64_t axis = 0;
        if (extra[0] && !repl_to_int(s, extra[0], epos[0], &axis))
            return NULL;
        if (axis < -TJ_MAX_NDIM - 1 || axis > TJ_MAX_NDIM)
            return repl_fail(s, epos[0], "axis %lld is out of range", (long long)axis);
        r = op->fn.list(vars, ntensors, (int)axis);
        break;
    }
    case OPK_TENSORDOT: {
        int64_t n = 2;
        int axes_a[TJ_MAX_NDIM], axes_b[TJ_MAX_NDIM], na = 0, nb = 0;
        repl_value *ax = extra[0];
        if (ax && repl_is_seq(ax)) {
            if (ax->as.seq.n != 2 || !repl_to_axes(s, ax->as.seq.items[0], epos[0], axes_a, &na) ||
                !repl_to_axes(s, ax->as.seq.items[1], epos[0], axes_b, &nb))
                return s->failed ? NULL
                                 : repl_fail(s, epos[0], "axes must be an int or a pair of lists");
            if (na != nb)
                return repl_fail(s, epos[0], "tensordot pairs %d axes of a with %d of b", na, nb);
            r = op->fn.tensordot(vars[0], vars[1], axes_a, axes_b, na);
            break;
        }
        if (ax && !repl_to_int(s, ax, epos[0], &n))
            return NULL;
        if (n < 0 || n > TJ_MAX_NDIM)
            return repl_fail(s, epos[0], "tensordot axes %lld is out of range", (long long)n);
        r = op->fn.tensordot(vars[0], vars[1], NULL, NULL, (int)n);
        break;
    }
    }
    return repl_result(s, r, symbolic, pos, op->name);
}

repl_value *repl_op_call(repl_session *s, const repl_op *op, const repl_args *a)
{
    static const char *const p1[] = {"x"}, *const p2[] = {"a", "b"}, *const p3[] = {"a", "b", "c"};
    static const char *const pred[] = {"x", "axis", "keepdims"}, *const pcast[] = {"x", "dtype"};
    repl_value *slots[3], *slots4[4];
    size_t spos[3], spos4[4];
    switch (op->kind) {
    case OPK_UNARY:
        if (!repl_bind(s, a, p1, 1, 1, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, NULL, NULL, 0, a->pos);
    case OPK_BINARY:
        if (op->nary && a->nargs > 2 && a->nkw == 0)
            return apply_op(s, op, a->args, a->argpos, a->nargs, NULL, NULL, 0, a->pos);
        if (!repl_bind(s, a, p2, 2, 2, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 2, NULL, NULL, 0, a->pos);
    case OPK_TERNARY:
        if (!repl_bind(s, a, p3, 3, 3, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 3, NULL, NULL, 0, a->pos);
    case OPK_REDUCE:
        if (!repl_bind(s, a, pred, 3, 1, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 2, a->pos);
    case OPK_CAST:
        if (!repl_bind(s, a, pcast, 2, 2, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 1, a->pos);
    case OPK_AXIS: {
        const char *const pnamed[] = {"x", op->param};
        if (!repl_bind(s, a, pnamed, 2, 1, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 1, a->pos);
    }
    case OPK_DDOF: {
        static const char *const p[] = {"x", "axis", "keepdims", "ddof"};
        if (!repl_bind(s, a, p, 4, 1, slots4, spos4))
            return NULL;
        return apply_op(s, op, slots4, spos4, 1, slots4 + 1, spos4 + 1, 3, a->pos);
    }
    case OPK_ARG:
        if (!repl_bind(s, a, pred, 3, 1, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 2, a->pos);
    case OPK_AXES:
    case OPK_PERMUTE: {
        static const char *const pax[] = {"x", "axis"}, *const pperm[] = {"x", "axes"};
        if (!repl_bind(s, a, op->kind == OPK_AXES ? pax : pperm, 2, 1, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 1, a->pos);
    }
    case OPK_RESHAPE: {
        static const char *const p[] = {"x", "newshape", "ndim"};
        if (!repl_bind(s, a, p, 3, 2, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 1, slots + 1, spos + 1, 1, a->pos);
    }
    case OPK_LIST: {
        static const char *const p[] = {"tensors", "axis"};
        if (!repl_bind(s, a, p, 2, 1, slots, spos))
            return NULL;
        if (!repl_is_seq(slots[0]) || slots[0]->as.seq.n < 1 || slots[0]->as.seq.n > 64)
            return repl_fail(s, spos[0], "%s takes a list of 1 to 64 tensors", op->name);
        size_t tp[64];
        for (int i = 0; i < slots[0]->as.seq.n; i++)
            tp[i] = spos[0];
        return apply_op(s, op, slots[0]->as.seq.items, tp, slots[0]->as.seq.n, slots + 1, spos + 1,
                        1, a->pos);
    }
    case OPK_TENSORDOT: {
        static const char *const p[] = {"a", "b", "axes"};
        if (!repl_bind(s, a, p, 3, 2, slots, spos))
            return NULL;
        return apply_op(s, op, slots, spos, 2, slots + 2, spos + 2, 1, a->pos);
    }
    case OPK_PATTERN:
        if (a->nkw > 0)
            return repl_fail(s, a->kwpos[0], "%s takes no keyword arguments", op->name);
        if (a->nargs < 1)
            return repl_fail(s, a->pos, "%s needs a tensor", op->name);
        return apply_op(s, op, a->args, a->argpos, 1, a->args + 1, a->argpos + 1, a->nargs - 1,
                        a->pos);
    }
    return repl_fail(s, a->pos, "internal error: unknown op kind");
}

repl_value *repl_apply_named(repl_session *s, const char *name, const char *needs,
                             repl_value *const *operands, int n, size_t pos)
{
    const repl_op *op = repl_op_find(name);
    if (!op)
        return repl_fail(s, pos, "not supported yet: %s", needs);
    size_t tpos[3] = {pos, pos, pos}, epos[4] = {pos, pos, pos, pos};
    repl_value *defaults[4] = {NULL, NULL, NULL, NULL}; /* every optional parameter left out */
    return apply_op(s, op, operands, tpos, n, defaults, epos, 0, pos);
}
