/* libFuzzer target (d), gradients: a small random float64 graph out = G(x1..x3), the cost
 * C = sum(out * W) with W a fuzzed weight array of out's shape (so a gradient with its elements
 * swapped or summed over the wrong axis shows), and tj_grad's dC/dxi compiled FAST_RUN (the
 * optimizer's rewrites of the gradient graph included) against central differences of C run
 * by FAST_COMPILE (the graph as built), element by element. When the byte after the values is
 * odd, the second order too: the cost sum(dC/dx * V) (a Hessian-vector product) with fuzzed V
 * of x's shapes, differentiated and checked the same way.
 *
 * A difference quotient is only evidence where C is smooth around the point: each element is
 * differenced with steps h, h/2, h/4 (h = 2^-12 max(1, |x|), exact in binary) and compared only
 * when the three converge as a smooth function's do (the last two closer than half the first
 * two, beyond rounding noise) and the one-sided slopes at x agree as the step shrinks (a kink
 * at x itself). A kink (abs, maximum, clip) within a step breaks that and the element is
 * skipped, as are non-finite costs and gradients (a singular point: sqrt at 0). Rounding noise
 * is bounded from M = sum |out * W|, a second output: 64 ulps of M over the step. Agreement:
 * |g - d| <= 1e-4 max(1, |d|) + 2 |d(h/2) - d(h/4)| + 2 noise.
 *
 * Graphs are built and differentiated, their gradients run and checked for type and shape, but
 * values are not compared when a difference cannot see the derivative: a jump on the way to out
 * (floor, mod, a comparison, a cast to an integer, an index of computed values: its steps can be
 * denser than any difference's), an intermediate value outside 2^-960 .. 2^10 in magnitude
 * (cos(x + 3e38) is flat in doubles: a change of x is absorbed; tan(128^x) oscillates faster
 * than any step resolves), float32 values, and ops whose gradient is a convention (zero_grad,
 * disconnected_grad, set_subtensor through take). Constants are small integers and quarters
 * (fz_in.tame): with 1e30 in a graph the gradient's rounding, not its rule, is what differs.
 *
 * The JIT is turned off (TJ_JIT=off, set before the first context): LLVM's agreement with the
 * reference executor is the diff target's job, and without LLVM an input takes milliseconds.
 *
 *   make fuzz FUZZ_TARGETS=grad                 run it (docs/RELIABILITY.md)
 *   build/fuzz/fuzz-grad-replay FILE_OR_DIR...  replay inputs with the normal compiler (ctest) */
#include "fuzz.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_INPUTS = 3, MAX_OPS = 5, MAX_POOL = MAX_INPUTS + MAX_OPS, CTX_INPUTS = 256 };

static tj_ctx *ctx;
static int ctx_uses;

static void fresh_ctx(void)
{
    if (ctx && ctx_uses < CTX_INPUTS)
        return;
    if (!ctx)
        setenv("TJ_JIT", "off", 1); /* before any context: nothing reads it concurrently */
    tj_ctx_free(ctx);
    ctx_uses = 0;
    if ((ctx = tj_ctx_new()))
        tj_ctx_set_log(ctx, fz_quiet_log, NULL);
}

/* The k-th input value of an input: about [-4, 4], off the small integers and fractions where
 * kinks and jumps sit, and apart from the others even when the bytes run out. Equal values
 * make ties at which the tie rules of max, clip and maximum compose into gradients that no
 * difference can confirm: max over min of a matrix of equal values is flat by any single
 * element, its gradient 1/9 each. Ties of one variable with itself remain. */
static double smooth_value(fz_in *in, int k)
{
    double whole = ((double)fz_u8(in) - 128) / 32;
    return whole + (double)fz_u8(in) / 8192 + 0x1p-10 + k * 0x1p-7;
}

/* the input values (from *k on) or, for weights, values in (-1, 1) */
static tj_array *smooth_array(fz_in *in, int ndim, const int64_t *shape, int *k)
{
    tj_array *a = tj_array_new(TJ_FLOAT64, ndim, shape);
    double *p = a ? tj_array_data(a) : NULL;
    for (int64_t e = 0; p && e < tj_array_size(a); e++)
        p[e] = k ? smooth_value(in, (*k)++) : ((double)fz_u8(in) - 127.5) / 128;
    return a;
}

/* FAST_COMPILE's rewrites left out: the cost is evaluated as built. Rules that drop an operand
 * kept only for its shape (mul(j, second(a, 0)) -> mul(j, 0)) make a graph whose shapes do not
 * broadcast run anyway, while its gradient, built from the graph as it is, still fails. */
static const char *const as_built[] = {"canonicalize"};

/* what is under test, shown on a mismatch */
static tj_fn *cur_grad_fn, *cur_cost_fn;
static tj_array **cur_args;
static int cur_nargs;

_Noreturn static void mismatch(const char *what, int input, int64_t k, double g, double d1,
                               double d2, double d3)
{
    fprintf(stderr,
            "fuzz-grad: input %d element %lld: %s\n  tj_grad %.17g\n  central differences "
            "(h, h/8, h/16) %.17g %.17g %.17g\n",
            input, (long long)k, what, g, d1, d2, d3);
    for (int i = 0; i < cur_nargs; i++) { /* x, W, and for the second order V */
        char *text = tj_array_to_string(cur_args[i]);
        fprintf(stderr, "argument %d: %s\n", i, text ? text : "?");
        free(text);
    }
    char *cost = tj_fn_graph(cur_cost_fn), *graph = tj_fn_graph(cur_grad_fn);
    char *rw = tj_fn_rewrites(cur_grad_fn);
    fprintf(stderr, "cost (FAST_COMPILE):\n%s\ngradient (FAST_RUN):\n%s\nits rewrites:\n%s\n",
            cost ? cost : "?", graph ? graph : "?", rw ? rw : "?");
    abort();
}

/* C and M at the current arguments; false when the call fails or either is not finite */
static bool cost_at(tj_fn *fc, tj_array **args, double *c, double *m)
{
    tj_array *r[2] = {0};
    bool ok = tj_call(fc, args, r) == TJ_OK;
    tj_clear_error(ctx);
    if (ok) {
        *c = tj_array_get(r[0], NULL);
        *m = tj_array_get(r[1], NULL);
        ok = isfinite(*c) && isfinite(*m);
    }
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    return ok;
}

/* the arguments' cost C and magnitude M */
typedef struct {
    double c, m;
} at_point;

enum { STEPS = 5 }; /* h, h/2, ..., h/16 */

/* Compares g, tj_grad's derivative of C by element k of argument i, with C's differences
 * around the arguments (where C and M are p). */
static void check_element(tj_fn *fc, tj_array **args, int i, int64_t k, at_point p, double g)
{
    double *x = tj_array_data(args[i]), v = x[k], c0 = p.c, m = p.m;
    double h = ldexp(1, ilogb(fmax(1, fabs(v))) - 12), d[STEPS], bend[STEPS];
    for (int s = 0; s < STEPS; s++, h /= 2) {
        double cp, cm, mp, mm;
        x[k] = v + h;
        bool ok = cost_at(fc, args, &cp, &mp);
        x[k] = v - h;
        ok = ok && cost_at(fc, args, &cm, &mm);
        x[k] = v;
        if (!ok)
            return;
        m = fmax(m, fmax(mp, mm));
        d[s] = (cp - cm) / (2 * h);
        bend[s] = (cp - 2 * c0 + cm) / h; /* h C'' where smooth, the slopes' jump at a kink */
    }
    const int z = STEPS - 1;
    double noise = 64 * DBL_EPSILON * m / (2 * h); /* of d[z]: 2h is the last step */
    /* smooth: each difference of differences at most half the one before (a quarter, h^2, for
     * a smooth C; an oscillation finer than the steps gives them at random); the one-sided
     * slopes' disagreement shrinking with the step (not at a kink at x, where the central
     * differences are the mean slope whatever the step); and the slope changing within the
     * last step by less than half of itself (not an oscillation on the step's scale) */
    bool smooth = isfinite(g) && fabs(bend[z]) <= 0.75 * fabs(bend[z - 1]) + 4 * noise &&
                  fabs(bend[z]) <= fmax(fabs(g), fabs(d[z])) / 2 + 4 * noise;
    for (int s = 1; smooth && s < z; s++)
        smooth = fabs(d[s] - d[s + 1]) <= fabs(d[s - 1] - d[s]) / 2 + 2 * noise;
    if (!smooth)
        return;
    double step = fabs(d[z - 1] - d[z]);
    if (fabs(g - d[z]) > 1e-4 * fmax(1, fabs(d[z])) + 2 * step + 2 * noise)
        mismatch("the gradient is not the derivative", i, k, g, d[0], d[z - 1], d[z]);
}

/* The gradient by argument i has its type and shape; with comparable, its values too. */
static void check_gradient(tj_fn *fc, tj_array **args, int i, at_point p, const tj_array *g,
                           bool comparable)
{
    int nd = tj_array_ndim(args[i]);
    if (tj_array_dtype(g) != TJ_FLOAT64 || tj_array_ndim(g) != nd)
        mismatch("the gradient's dtype or rank is not its input's", i, -1, tj_array_dtype(g),
                 tj_array_ndim(g), nd, NAN);
    for (int a = 0; a < nd; a++)
        if (tj_array_shape(g)[a] != tj_array_shape(args[i])[a])
            mismatch("the gradient's shape is not its input's", i, a,
                     (double)tj_array_shape(g)[a], (double)tj_array_shape(args[i])[a], NAN, NAN);
    tj_array *gc = comparable ? tj_array_copy(g) : NULL; /* C-contiguous */
    for (int64_t k = 0; gc && k < tj_array_size(gc); k++)
        check_element(fc, args, i, k, p, ((const double *)tj_array_data(gc))[k]);
    tj_array_unref(gc);
}

/* Builds a graph of nin inputs (returned; 0: nothing was built) into pool, the inputs first;
 * *npool in all. */
static int build(fz_in *in, tj_var **pool, int *npool, bool *comparable)
{
    static const char *names[MAX_INPUTS] = {"a", "b", "c"};
    fz_accuracy acc[MAX_POOL];
    int nin = 1 + (int)fz_pick(in, MAX_INPUTS), n = 0;
    for (int i = 0; i < nin; i++) {
        int nd = (int)fz_pick(in, 3);
        acc[n] = FZ_REASSOC; /* any value: a jump of it makes the result chaotic */
        pool[n++] = tj_tensor(ctx, TJ_FLOAT64, nd, NULL, names[i]);
    }
    bool convention = false;
    int nops = 1 + (int)fz_pick(in, MAX_OPS);
    for (int i = 0; i < nops; i++) {
        tj_var *v = fz_apply(in, ctx, pool, acc, n, &acc[n], &convention);
        if (v)
            pool[n++] = v;
    }
    *comparable = !convention && acc[n - 1] != FZ_CHAOTIC;
    for (int i = nin; i < n; i++)
        *comparable = *comparable && tj_var_dtype(pool[i]) != TJ_FLOAT32;
    *npool = n;
    return n > nin ? nin : 0;
}

static tj_var *as_f64(tj_var *v)
{
    return tj_var_dtype(v) == TJ_FLOAT64 ? v : tj_cast(v, TJ_FLOAT64);
}

/* every element 0 or of a magnitude differences can follow (see the top) */
static bool in_window(const tj_array *a)
{
    tj_array *c = tj_array_copy(a);
    const double *p = c ? tj_array_data(c) : NULL;
    bool ok = p != NULL;
    for (int64_t k = 0; ok && k < tj_array_size(c); k++)
        ok = p[k] == 0 || (fabs(p[k]) > 0x1p-960 && fabs(p[k]) < 0x1p10);
    tj_array_unref(c);
    return ok;
}

/* One order of differentiation: cost[0] (cost[1] its magnitude M) of the arguments vars[0..n),
 * differentiated by the first nin into grads (variables, for a next order: false when tj_grad
 * refuses); the gradient compiled FAST_RUN, the cost FAST_COMPILE; at args (all n given), the
 * gradient run and checked, its values too when comparable. */
static bool check_order(tj_var *const *vars, int n, int nin, tj_var *const *cost, tj_array **args,
                        bool comparable, tj_var **grads)
{
    tj_grad_opts go = TJ_GRAD_OPTS_INIT;
    go.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
    if (!cost[0] || !cost[1] || tj_grad_v2(cost[0], vars, nin, grads, &go) != TJ_OK) {
        tj_clear_error(ctx);
        return false;
    }
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *fg = tj_function(ctx, vars, n, grads, nin, &o);
    char why[1024];
    snprintf(why, sizeof why, "%s", tj_errmsg(ctx));
    tj_clear_error(ctx);
    o.mode = TJ_MODE_FAST_COMPILE;
    o.optimizer_excluding = as_built;
    o.noptimizer_excluding = 1;
    tj_fn *fc = tj_function(ctx, vars, n, cost, 2, &o);
    tj_clear_error(ctx);
    if (fc && !fg) {
        char *text = tj_fn_graph(fc);
        fprintf(stderr, "fuzz-grad: the cost compiles, its gradient does not: %s\ncost:\n%s\n",
                why, text ? text : "?");
        abort();
    }
    at_point p;
    tj_array *g[MAX_INPUTS] = {0};
    if (args && cost_at(fc, args, &p.c, &p.m)) {
        cur_grad_fn = fg;
        cur_cost_fn = fc;
        cur_args = args;
        cur_nargs = n;
        if (tj_call(fg, args, g) != TJ_OK) {
            fprintf(stderr, "fuzz-grad: the cost runs, its gradient does not: %s\n",
                    tj_errmsg(ctx));
            mismatch("the gradient call failed", -1, -1, NAN, NAN, NAN, NAN);
        }
        for (int i = 0; i < nin; i++)
            check_gradient(fc, args, i, p, g[i], comparable);
    }
    tj_clear_error(ctx);
    for (int i = 0; i < nin; i++)
        tj_array_unref(g[i]);
    tj_fn_free(fg);
    tj_fn_free(fc);
    return true;
}

/* sum(a * b) and sum(|a * b|) added to cost[0] and cost[1] (NULL: start them) */
static void add_weighted(tj_var **cost, tj_var *a, tj_var *b)
{
    tj_var *prod = tj_mul(a, b);
    tj_var *c = tj_sum(prod, NULL, 0, false), *m = tj_sum(tj_abs(prod), NULL, 0, false);
    cost[0] = cost[0] ? tj_add(cost[0], c) : c;
    cost[1] = cost[1] ? tj_add(cost[1], m) : m;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fz_in in = {.p = data, .n = size, .tame = true}; /* 1e30 makes float noise, not tests */
    fresh_ctx();
    if (!ctx)
        return 0;
    ctx_uses++;
    tj_clear_error(ctx);
    /* pool: the inputs x, then what was built; vals: what was built as float64, the last (out)
     * first; vars: x, W, then for the second order V */
    tj_var *pool[MAX_POOL], *vals[MAX_OPS], *vars[2 * MAX_INPUTS + 1];
    bool comparable = false;
    int npool, nin = build(&in, pool, &npool, &comparable), nvals = 0;
    if (!nin)
        return 0;
    for (int i = npool - 1; i >= nin; i--)
        vals[nvals++] = as_f64(pool[i]);
    memcpy(vars, pool, sizeof *pool * (size_t)nin);
    vars[nin] = tj_tensor(ctx, TJ_FLOAT64, tj_var_ndim(vals[0]), NULL, "W");
    tj_var *cost[2] = {0}, *grads[MAX_INPUTS] = {0}, *grads2[MAX_INPUTS];
    add_weighted(cost, vals[0], vars[nin]);
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    o.optimizer_excluding = as_built;
    o.noptimizer_excluding = 1;
    tj_fn *fv = tj_function(ctx, vars, nin, vals, nvals, &o);
    tj_clear_error(ctx);
    /* the arguments: one length for every axis, so most graphs are valid at run time; W of
     * out's shape once out is known */
    int64_t len = 1 + fz_pick(&in, 3), shape[2] = {len, len};
    tj_array *args[2 * MAX_INPUTS + 1] = {0}, *v[MAX_OPS] = {0};
    int nargs = 0;
    int nvalues = 0;
    for (; nargs < nin; nargs++)
        args[nargs] = smooth_array(&in, tj_var_ndim(pool[nargs]), shape, &nvalues);
    if (fv && tj_call(fv, args, v) == TJ_OK)
        args[nargs++] = smooth_array(&in, tj_array_ndim(v[0]), tj_array_shape(v[0]), NULL);
    tj_clear_error(ctx);
    for (int i = 0; i < nvals && nargs > nin; i++)
        comparable = comparable && in_window(v[i]);
    bool given = nargs == nin + 1;
    if (check_order(vars, nin + 1, nin, cost, given ? args : NULL, comparable, grads) &&
        fz_u8(&in) & 1) {
        /* the second order: sum(dC/dx * V) by x, a Hessian-vector product */
        tj_var *cost2[2] = {0};
        for (int i = 0; i < nin; i++) {
            vars[nin + 1 + i] = tj_tensor(ctx, TJ_FLOAT64, tj_var_ndim(pool[i]), NULL, "V");
            add_weighted(cost2, grads[i], vars[nin + 1 + i]);
        }
        for (int i = 0; given && i < nin; i++)
            args[nargs++] = smooth_array(&in, tj_array_ndim(args[i]), tj_array_shape(args[i]),
                                         NULL);
        check_order(vars, 2 * nin + 1, nin, cost2, given ? args : NULL, comparable, grads2);
    }
    for (int i = 0; i < nargs; i++)
        tj_array_unref(args[i]);
    for (int i = 0; i < nvals; i++)
        tj_array_unref(v[i]);
    tj_fn_free(fv);
    return 0;
}
