/* Theano's RandomStreams over tensorjit's counter-based generator: RandomStreams(seed) makes a
 * shared random state; its uniform/normal/binomial methods draw symbolic numbers whose state
 * advances by itself on each call of a function that uses them (the state's default update). */
#include "internal.h"

#include <string.h>

/* The REPL marks the states it makes: a shared int64 vector named "random_state". */
static bool is_stream(const repl_value *v)
{
    if (v->kind != V_VAR || !v->as.var.shared)
        return false;
    const char *name = tj_var_name(v->as.var.v);
    return name && !strcmp(name, "random_state");
}

bool repl_is_stream_method(const repl_value *obj, const char *name)
{
    return is_stream(obj) &&
           (!strcmp(name, "uniform") || !strcmp(name, "normal") || !strcmp(name, "binomial"));
}

repl_value *repl_random_streams(repl_session *s, const repl_args *a)
{
    static const char *const params[] = {"seed"};
    repl_value *v[1];
    size_t at[1];
    int64_t seed = 0;
    if (!repl_bind(s, a, params, 1, 0, v, at) ||
        (v[0] && v[0]->kind != V_NONE && !repl_to_int(s, v[0], at[0], &seed)))
        return NULL;
    tj_var *state = tj_rng_state(s->ctx, (uint64_t)seed, "random_state");
    if (!state)
        return repl_fail_lib(s, a->pos, "RandomStreams");
    repl_value *r = repl_new_var(state, true);
    return r ? r : repl_oom(s, a->pos);
}

/* size: a tuple of ints (a constant int64 vector) or of symbolic scalars (stacked). */
static tj_var *size_var(repl_session *s, repl_value *size, size_t pos)
{
    if (!size || size->kind == V_NONE)
        return repl_fail(s, pos, "a draw needs size=(...)");
    repl_value *const *items = &size;
    int n = 1;
    if (repl_is_seq(size)) {
        items = size->as.seq.items;
        n = size->as.seq.n;
    }
    if (n > TJ_MAX_NDIM)
        return repl_fail(s, pos, "size has at most %d entries", TJ_MAX_NDIM);
    bool any_var = false;
    for (int i = 0; i < n; i++)
        any_var |= items[i]->kind == V_VAR;
    if (!any_var) {
        int64_t dims[TJ_MAX_NDIM], len = n;
        for (int i = 0; i < n; i++)
            if (!repl_to_int(s, items[i], pos, &dims[i]))
                return NULL;
        tj_array *arr = tj_array_from_data(TJ_INT64, 1, &len, dims);
        if (!arr)
            return repl_fail_lib(s, pos, "size");
        tj_var *c = tj_constant(s->ctx, arr);
        tj_array_unref(arr);
        return c ? c : repl_fail_lib(s, pos, "size");
    }
    tj_var *dims[TJ_MAX_NDIM];
    for (int i = 0; i < n; i++) {
        bool sym;
        if (!(dims[i] = repl_to_var(s, items[i], pos, &sym)) ||
            !(dims[i] = tj_cast(dims[i], TJ_INT64)))
            return s->failed ? NULL : repl_fail_lib(s, pos, "size");
    }
    tj_var *v = tj_stack(dims, n, 0);
    return v ? v : repl_fail_lib(s, pos, "size");
}

static bool number_arg(repl_session *s, const repl_value *v, size_t pos, double *out)
{
    if (!v || v->kind == V_NONE)
        return true;
    if (!repl_is_number(v))
        return repl_fail(s, pos, "expected a number, got %s", repl_a_kind(v)), false;
    *out = repl_number(v);
    return true;
}

repl_value *repl_stream_draw(repl_session *s, repl_value *stream, const char *name,
                             const repl_args *a)
{
    static const char *const p_uniform[] = {"size", "low", "high", "ndim", "dtype"};
    static const char *const p_normal[] = {"size", "avg", "std", "ndim", "dtype"};
    static const char *const p_binomial[] = {"size", "n", "p", "ndim", "dtype"};
    bool binomial = !strcmp(name, "binomial"), normal = !strcmp(name, "normal");
    repl_value *v[5];
    size_t at[5];
    if (!repl_bind(s, a, binomial ? p_binomial : normal ? p_normal : p_uniform, 5, 0, v, at))
        return NULL;
    tj_dtype dtype = binomial ? TJ_INT64 : TJ_FLOAT64;
    if (v[4] && v[4]->kind != V_NONE && !repl_to_dtype(s, v[4], at[4], &dtype))
        return NULL;
    double x1 = binomial ? 1 : normal ? 0 : 0, x2 = binomial ? 0.5 : 1;
    if (!number_arg(s, v[1], at[1], &x1) || !number_arg(s, v[2], at[2], &x2))
        return NULL;
    tj_var *shape = size_var(s, v[0], v[0] ? at[0] : a->pos);
    if (!shape)
        return NULL;
    tj_var *state = stream->as.var.v, *draw;
    if (binomial)
        draw = tj_random_binomial(state, shape, (int64_t)x1, x2, dtype, NULL);
    else if (normal)
        draw = x1 == 0 && x2 == 1 ? tj_random_normal(state, shape, dtype, NULL)
                                  : tj_random_normal_scaled(state, shape, x1, x2, dtype, NULL);
    else
        draw = x1 == 0 && x2 == 1 ? tj_random_uniform(state, shape, dtype, NULL)
                                  : tj_random_uniform_range(state, shape, x1, x2, dtype, NULL);
    return repl_result(s, draw, true, a->pos, name);
}
