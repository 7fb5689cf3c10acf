/* Graph sources: symbolic inputs, constants, weak literals and shared variables. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static bool check_ctx(tj_ctx *ctx, const char *fn)
{
    if (tjC_valid(ctx))
        return true;
    tjA_error(TJ_ERR_INVALID, "%s: the context is NULL or not a live tj_ctx", fn);
    return false;
}

tj_var *tj_tensor(tj_ctx *ctx, tj_dtype dtype, int ndim, const bool *broadcastable,
                  const char *name)
{
    if (!check_ctx(ctx, "tj_tensor"))
        return NULL;
    if (!tj_dtype_valid((int)dtype)) {
        tjC_error(ctx, TJ_ERR_TYPE, "tj_tensor: dtype %d is not a tj_dtype", (int)dtype);
        return NULL;
    }
    if (ndim < 0 || ndim > TJ_MAX_NDIM) {
        tjC_error(ctx, TJ_ERR_VALUE, "tj_tensor: ndim %d of '%s' is outside 0..%d", ndim,
                  name ? name : "(unnamed)", TJ_MAX_NDIM);
        return NULL;
    }
    uint32_t bcast = 0;
    for (int d = 0; broadcastable && d < ndim; d++)
        bcast |= (uint32_t)broadcastable[d] << d;
    tj_var *v = tjG_make(ctx, TJ_OP_INPUT, dtype, ndim, bcast, NULL, 0, NULL, 0, NULL);
    if (v && name && tj_var_set_name(v, name) != TJ_OK)
        return NULL;
    return v;
}

tj_var *tj_scalar(tj_ctx *ctx, tj_dtype dtype, const char *name)
{
    return tj_tensor(ctx, dtype, 0, NULL, name);
}

tj_var *tj_vector(tj_ctx *ctx, tj_dtype dtype, const char *name)
{
    return tj_tensor(ctx, dtype, 1, NULL, name);
}

tj_var *tj_matrix(tj_ctx *ctx, tj_dtype dtype, const char *name)
{
    return tj_tensor(ctx, dtype, 2, NULL, name);
}

/* Length-1 axes of a constant are broadcastable, as in Theano. */
static uint32_t bcast_of_shape(const tj_array *a)
{
    uint32_t b = 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] == 1)
            b |= 1u << d;
    return b;
}

tj_var *tj_constant(tj_ctx *ctx, const tj_array *value)
{
    if (!check_ctx(ctx, "tj_constant"))
        return NULL;
    if (!tjA_valid(value)) {
        tjC_error(ctx, TJ_ERR_INVALID, "tj_constant: value is NULL or not a live tj_array");
        return NULL;
    }
    tj_array *copy = tjA_convert(ctx, value, value->dtype);
    if (!copy) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_constant: out of memory copying the value");
        return NULL;
    }
    return tjG_make(ctx, TJ_OP_CONSTANT, copy->dtype, copy->ndim, bcast_of_shape(copy), NULL, 0,
                    NULL, 0, copy);
}

tj_var *tj_const(tj_ctx *ctx, tj_dtype dtype, double value)
{
    if (!check_ctx(ctx, "tj_const"))
        return NULL;
    if (!tj_dtype_valid((int)dtype)) {
        tjC_error(ctx, TJ_ERR_TYPE, "tj_const: dtype %d is not a tj_dtype", (int)dtype);
        return NULL;
    }
    tj_array *a = tjA_scalar(ctx, dtype, value);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_const: out of memory");
        return NULL;
    }
    return tjG_make(ctx, TJ_OP_CONSTANT, dtype, 0, 0, NULL, 0, NULL, 0, a);
}

static tj_var *literal(tj_ctx *ctx, tj_dtype dtype, double value, const char *fn)
{
    if (!check_ctx(ctx, fn))
        return NULL;
    tj_array *a = tjA_scalar(ctx, dtype, value);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "%s: out of memory", fn);
        return NULL;
    }
    return tjG_make_weak(ctx, a);
}

tj_var *tj_lit(tj_ctx *ctx, double value) { return literal(ctx, TJ_FLOAT64, value, "tj_lit"); }

tj_var *tj_lit_int(tj_ctx *ctx, int64_t value)
{
    if (!check_ctx(ctx, "tj_lit_int"))
        return NULL;
    tj_array *a = tjA_alloc(ctx, TJ_INT64, 0, NULL, false);
    if (!a) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_lit_int: out of memory");
        return NULL;
    }
    memcpy(a->data, &value, sizeof value); /* exact, even beyond 2^53 */
    return tjG_make_weak(ctx, a);
}

tj_var *tjG_const_like(tj_var *like, double value)
{
    if (!like)
        return NULL;
    tj_array *a = tjA_scalar(like->ctx, like->dtype, value);
    if (!a) {
        tjC_error(like->ctx, TJ_ERR_NOMEM, "out of memory making a constant");
        return NULL;
    }
    return tjG_make(like->ctx, TJ_OP_CONSTANT, like->dtype, 0, 0, NULL, 0, NULL, 0, a);
}

/* ---- shared variables ---- */

tj_var *tj_shared(tj_ctx *ctx, tj_array *value, const char *name, bool borrow)
{
    if (!check_ctx(ctx, "tj_shared"))
        return NULL;
    if (!tjA_valid(value)) {
        tjC_error(ctx, TJ_ERR_INVALID, "tj_shared: value of '%s' is NULL or not a live tj_array",
                  name ? name : "(unnamed)");
        return NULL;
    }
    tj_array *held = borrow ? tj_array_ref(value) : tjA_convert(ctx, value, value->dtype);
    if (!held) {
        tjC_error(ctx, TJ_ERR_NOMEM, "tj_shared: out of memory copying the value of '%s'",
                  name ? name : "(unnamed)");
        return NULL;
    }
    /* Theano's shared variables are not broadcastable on any axis by default. */
    tj_var *v = tjG_make(ctx, TJ_OP_SHARED, held->dtype, held->ndim, 0, NULL, 0, NULL, 0, held);
    if (v && name && tj_var_set_name(v, name) != TJ_OK)
        return NULL;
    return v;
}

static bool check_shared(const tj_var *v, const char *fn)
{
    if (!tjG_valid(v)) {
        tjA_error(TJ_ERR_INVALID, "%s: the variable is NULL or not a live tj_var", fn);
        return false;
    }
    if (v->op != TJ_OP_SHARED) {
        char buf[160];
        tjC_error(v->ctx, TJ_ERR_INVALID, "%s: %s is not a shared variable", fn,
                  tjG_describe(v, buf, sizeof buf));
        return false;
    }
    return true;
}

tj_array *tj_shared_get(tj_var *shared, bool borrow)
{
    if (!check_shared(shared, "tj_shared_get"))
        return NULL;
    pthread_rwlock_rdlock(&shared->ctx->shared_lock); /* a concurrent call may update it */
    tj_array *copy = borrow ? tj_array_ref(shared->value)
                            : tjA_convert(shared->ctx, shared->value,
                                          shared->value->dtype);
    pthread_rwlock_unlock(&shared->ctx->shared_lock);
    if (!copy)
        tjC_error(shared->ctx, TJ_ERR_NOMEM, "tj_shared_get: out of memory copying '%s'",
                  shared->name ? shared->name : "(unnamed)");
    return copy;
}

tj_status tj_shared_set(tj_var *shared, tj_array *value, bool borrow)
{
    if (!check_shared(shared, "tj_shared_set"))
        return TJ_ERR_INVALID;
    tj_ctx *ctx = shared->ctx;
    const char *name = shared->name ? shared->name : "(unnamed)";
    if (!tjA_valid(value))
        return tjC_error(ctx, TJ_ERR_INVALID, "tj_shared_set: the value for '%s' is NULL", name);
    if (value->ndim != shared->ndim)
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "tj_shared_set: '%s' has %d dimensions but the value has %d", name,
                         shared->ndim, value->ndim);
    if (value->dtype != shared->dtype && !tjA_can_cast_safely(value->dtype, shared->dtype))
        return tjC_error(ctx, TJ_ERR_TYPE,
                         "tj_shared_set: '%s' is %s; a %s value would lose precision "
                         "(cast it first)",
                         name, tj_dtype_name(shared->dtype), tj_dtype_name(value->dtype));
    tj_array *held;
    if (value->dtype == shared->dtype && borrow)
        held = tj_array_ref(value);
    else
        held = tjA_convert(shared->ctx, value, shared->dtype);
    if (!held)
        return tjC_error(ctx, TJ_ERR_NOMEM, "tj_shared_set: out of memory copying '%s'", name);
    pthread_rwlock_wrlock(&ctx->shared_lock);
    tj_array *old = shared->value;
    shared->value = held;
    pthread_rwlock_unlock(&ctx->shared_lock);
    tj_array_unref(old);
    return TJ_OK;
}

tj_status tj_shared_set_default_update(tj_var *shared, tj_var *update)
{
    if (!check_shared(shared, "tj_shared_set_default_update"))
        return TJ_ERR_INVALID;
    char b1[160], b2[160];
    if (update && (!tjG_valid(update) || update->ctx != shared->ctx))
        return tjC_error(shared->ctx, TJ_ERR_INVALID,
                         "tj_shared_set_default_update: the update of %s is not a variable of "
                         "its context",
                         tjG_describe(shared, b1, sizeof b1));
    if (update && (update->dtype != shared->dtype || update->ndim != shared->ndim))
        return tjC_error(shared->ctx, TJ_ERR_TYPE,
                         "tj_shared_set_default_update: %s cannot take the value of %s (the "
                         "type must stay the same)",
                         tjG_describe(shared, b1, sizeof b1), tjG_describe(update, b2, sizeof b2));
    shared->default_update = update;
    return TJ_OK;
}
