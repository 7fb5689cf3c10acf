/* Random streams: the state variable and the draw builders (Theano's RandomStreams pattern).
 *
 * A draw is two nodes built from the same (state, shape): `random` (the numbers) and `rng_next`
 * (the state after them). The caller may put the new state in a function's updates; the builder
 * also makes it the default update of the shared state the draw comes from, so a function using
 * the draw advances the stream by itself, as in Theano. Successive draws from one shared state
 * form a chain: each continues from the end of the chain (its default update), so they are
 * independent, and a function advances the state past every draw of the chain. */
#include "internal.h"

#include <math.h>
#include <string.h>

tj_var *tj_rng_state(tj_ctx *ctx, uint64_t seed, const char *name)
{
    if (!tjC_valid(ctx)) {
        tjA_error(TJ_ERR_INVALID, "tj_rng_state: the context is NULL or not a live tj_ctx");
        return NULL;
    }
    int64_t init[2] = {0, 0}; /* key = the seed's 64 bits, counter 0 */
    memcpy(&init[0], &seed, sizeof seed);
    tj_array *a = tjA_alloc(ctx, TJ_INT64, 1, (int64_t[]){2}, false);
    if (a)
        memcpy(a->data, init, sizeof init);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_rng_state: out of memory");
        return NULL;
    }
    tj_var *v = tj_shared(ctx, a, name, true);
    tj_array_unref(a);
    return v;
}

/* The first state of v's chain: v itself, or the state an rng_next chain starts from. */
static tj_var *chain_root(tj_var *v)
{
    while (v->op == TJ_OP_RNG_NEXT)
        v = v->in[0];
    return v;
}

/* Whether `anc` is `v` or a state v was advanced from. */
static bool on_chain(tj_var *anc, tj_var *v)
{
    for (;; v = v->in[0]) {
        if (v == anc)
            return true;
        if (v->op != TJ_OP_RNG_NEXT)
            return false;
    }
}

/* The number of entries of a shape vector when the graph is built, or -1: a constant, a
 * broadcastable (length-1) vector, a cast of one, or a join (tj_stack, tj_concatenate) of them. */
static int static_length(const tj_var *v)
{
    if (v->ndim != 1)
        return -1;
    if (v->bcast & 1u)
        return 1;
    switch (v->op) {
    case TJ_OP_CONSTANT:
        return v->value->shape[0] <= TJ_MAX_NDIM ? (int)v->value->shape[0] : -1;
    case TJ_OP_CAST:
        return static_length(v->in[0]);
    case TJ_OP_JOIN: {
        int total = 0;
        for (int i = 0; i < v->nin; i++) {
            int len = static_length(v->in[i]);
            if (len < 0 || (total += len) > TJ_MAX_NDIM)
                return -1;
        }
        return total;
    }
    default:
        return -1;
    }
}

static tj_var *check_state(tj_var *state, const char *fn)
{
    char buf[160];
    if (!tjG_live(state, fn))
        return NULL;
    if (state->dtype != TJ_INT64 || state->ndim != 1) {
        tjC_error(state->ctx, TJ_ERR_TYPE,
                  "%s: the state %s must be an int64 vector (key, counter) made by tj_rng_state "
                  "or returned as a new state by a draw",
                  fn, tjG_describe(state, buf, sizeof buf));
        return NULL;
    }
    return state;
}

/* shape as an int64 vector of statically known length (*ndim), or NULL with the error recorded */
static tj_var *check_shape(tj_var *state, tj_var *shape, int *ndim, const char *fn)
{
    char buf[160];
    if (!tjG_live(shape, fn))
        return NULL;
    if (shape->ctx != state->ctx) {
        tjC_error(state->ctx, TJ_ERR_INVALID,
                  "%s: the shape belongs to another context than the state", fn);
        return NULL;
    }
    if (!tj_dtype_is_int(shape->dtype) || shape->dtype == TJ_BOOL || shape->ndim != 1) {
        tjC_error(state->ctx, TJ_ERR_TYPE,
                  "%s: the shape %s must be an integer vector (one entry per axis of the draw)",
                  fn, tjG_describe(shape, buf, sizeof buf));
        return NULL;
    }
    *ndim = static_length(shape);
    if (*ndim < 0) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: the length of the shape %s must be known when the graph is built (the "
                  "rank of the draw depends on it): pass a constant vector (tj_constant of an "
                  "int64 array) or a tj_stack of integer scalars, of at most %d entries",
                  fn, tjG_describe(shape, buf, sizeof buf), TJ_MAX_NDIM);
        return NULL;
    }
    return tj_cast(shape, TJ_INT64);
}

static int64_t bits(double d)
{
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* The draw node of distribution `dist` with parameters a, b (as attr bits) and its new state. */
static tj_var *draw(tj_var *state, tj_var *shape, tj_dtype dtype, int dist, int64_t a, int64_t b,
                    tj_var **new_state, const char *fn)
{
    if (new_state)
        *new_state = NULL;
    int ndim = 0;
    if (!check_state(state, fn) || !(shape = check_shape(state, shape, &ndim, fn)))
        return NULL;
    tj_ctx *ctx = state->ctx;
    /* a shared state that already has draws continues from the end of their chain */
    tj_var *src = state;
    if (state->op == TJ_OP_SHARED && state->default_update &&
        chain_root(state->default_update) == state)
        src = state->default_update;
    tj_var *in[2] = {src, shape};
    int64_t attr[3] = {dist, a, b};
    tj_var *v = tjG_make(ctx, TJ_OP_RANDOM, dtype, ndim, 0, in, 2, attr, 3, NULL);
    tj_var *next = tjG_make(ctx, TJ_OP_RNG_NEXT, TJ_INT64, 1, 0, in, 2, NULL, 0, NULL);
    if (!v || !next)
        return NULL;
    /* the root's default update moves to the new end of the chain; an update the caller set to
     * something else (or a draw from an older state of the chain) leaves it alone */
    tj_var *root = chain_root(src);
    if (root->op == TJ_OP_SHARED && root->dtype == TJ_INT64 && root->ndim == 1 &&
        (!root->default_update || on_chain(root->default_update, src)) &&
        tj_shared_set_default_update(root, next) != TJ_OK)
        return NULL;
    if (new_state)
        *new_state = next;
    return v;
}

static bool check_float(tj_var *state, tj_dtype dtype, const char *fn)
{
    if (!tjG_valid(state))
        return true; /* check_state reports it */
    if (tj_dtype_valid((int)dtype) && tj_dtype_is_float(dtype))
        return true;
    tjC_error(state->ctx, TJ_ERR_TYPE, "%s: dtype %s is not float32 or float64", fn,
              tj_dtype_valid((int)dtype) ? tj_dtype_name(dtype) : "(invalid)");
    return false;
}

tj_var *tj_random_uniform_range(tj_var *state, tj_var *shape, double low, double high,
                                tj_dtype dtype, tj_var **new_state)
{
    const char *fn = "tj_random_uniform";
    if (new_state)
        *new_state = NULL;
    if (!check_float(state, dtype, fn))
        return NULL;
    if (tjG_valid(state) && !(isfinite(low) && isfinite(high) && low <= high)) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: the interval [low, high) = [%g, %g) must be finite with low <= high", fn,
                  low, high);
        return NULL;
    }
    return draw(state, shape, dtype, TJ_RANDOM_UNIFORM, bits(low), bits(high), new_state, fn);
}

tj_var *tj_random_uniform(tj_var *state, tj_var *shape, tj_dtype dtype, tj_var **new_state)
{
    return tj_random_uniform_range(state, shape, 0.0, 1.0, dtype, new_state);
}

tj_var *tj_random_normal_scaled(tj_var *state, tj_var *shape, double mean, double std,
                                tj_dtype dtype, tj_var **new_state)
{
    const char *fn = "tj_random_normal";
    if (new_state)
        *new_state = NULL;
    if (!check_float(state, dtype, fn))
        return NULL;
    if (tjG_valid(state) && !(isfinite(mean) && isfinite(std) && std >= 0)) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: mean %g and std %g must be finite and std >= 0", fn, mean, std);
        return NULL;
    }
    return draw(state, shape, dtype, TJ_RANDOM_NORMAL, bits(mean), bits(std), new_state, fn);
}

tj_var *tj_random_normal(tj_var *state, tj_var *shape, tj_dtype dtype, tj_var **new_state)
{
    return tj_random_normal_scaled(state, shape, 0.0, 1.0, dtype, new_state);
}

/* The largest count dtype holds exactly. */
static double count_limit(tj_dtype d)
{
    switch (d) {
    case TJ_BOOL: return 1;
    case TJ_INT8: return INT8_MAX;
    case TJ_INT16: return INT16_MAX;
    case TJ_INT32: return INT32_MAX;
    case TJ_UINT8: return UINT8_MAX;
    case TJ_FLOAT32: return 16777216.0; /* 2^24 */
    default: return 9.3e18;             /* int64 and float64 (2^53 of precision: still exact) */
    }
}

tj_var *tj_random_binomial(tj_var *state, tj_var *shape, int64_t n, double p, tj_dtype dtype,
                           tj_var **new_state)
{
    const char *fn = "tj_random_binomial";
    if (new_state)
        *new_state = NULL;
    if (!tjG_valid(state))
        return draw(state, shape, dtype, TJ_RANDOM_BINOMIAL, n, bits(p), new_state, fn);
    if (!tj_dtype_valid((int)dtype)) {
        tjC_error(state->ctx, TJ_ERR_TYPE, "%s: dtype %d is not a tj_dtype", fn, (int)dtype);
        return NULL;
    }
    if (n < 0 || !(p >= 0.0 && p <= 1.0)) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: n = %lld trials and probability p = %g must have n >= 0 and 0 <= p <= 1",
                  fn, (long long)n, p);
        return NULL;
    }
    /* exact inversion costs O(n min(p, 1-p)) per element: past 2^24 a draw would seem to hang */
    if ((double)n * fmin(p, 1.0 - p) > 16777216.0) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: n * min(p, 1 - p) = %.4g exceeds 2^24, the limit of exact inversion "
                  "(approximate such counts with tj_random_normal_scaled)",
                  fn, (double)n * fmin(p, 1.0 - p));
        return NULL;
    }
    if ((double)n > count_limit(dtype)) {
        tjC_error(state->ctx, TJ_ERR_VALUE,
                  "%s: counts up to n = %lld do not fit in %s (use a wider dtype)", fn,
                  (long long)n, tj_dtype_name(dtype));
        return NULL;
    }
    if (dtype == TJ_FLOAT64 && n > (int64_t)9007199254740992LL) {
        tjC_error(state->ctx, TJ_ERR_VALUE, "%s: counts up to n = %lld are not exact in float64",
                  fn, (long long)n);
        return NULL;
    }
    return draw(state, shape, dtype, TJ_RANDOM_BINOMIAL, n, bits(p), new_state, fn);
}
