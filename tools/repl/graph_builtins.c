/* Builtins over graph builders whose C signatures do not fit a kind of the ops table: take,
 * join, split, alloc, jacobian, hessian, symbolic arange, and Theano's general tensor(...). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static repl_value *var_value(repl_session *s, tj_var *v, bool symbolic, size_t pos,
                             const char *what)
{
    return repl_result(s, v, symbolic, pos, what);
}

/* take(x, indices, axis=0): numpy.take along one axis (integer-array indexing). */
repl_value *repl_b_take(repl_session *s, const repl_args *a)
{
    static const char *const params[] = {"x", "indices", "axis"};
    repl_value *v[3];
    size_t at[3];
    int64_t axis = 0;
    if (!repl_bind(s, a, params, 3, 2, v, at) || (v[2] && !repl_to_int(s, v[2], at[2], &axis)))
        return NULL;
    if (axis < -TJ_MAX_NDIM || axis >= TJ_MAX_NDIM)
        return repl_fail(s, at[2], "axis %lld is out of range", (long long)axis);
    bool sx, si;
    tj_var *x = repl_to_var(s, v[0], at[0], &sx);
    tj_var *ix = x ? repl_to_var(s, v[1], at[1], &si) : NULL;
    if (!ix)
        return NULL;
    return var_value(s, tj_take(x, ix, (int)axis), sx || si, a->pos, "take");
}

/* Symbolic operands of a list (at most 64). */
static int var_list(repl_session *s, repl_value *const *items, int n, size_t pos, tj_var **vars,
                    bool *symbolic)
{
    if (n < 1 || n > 64)
        return repl_fail(s, pos, "1 to 64 tensors are needed, %d given", n), -1;
    for (int i = 0; i < n; i++) {
        bool sym;
        if (!(vars[i] = repl_to_var(s, items[i], pos, &sym)))
            return -1;
        *symbolic |= sym;
    }
    return n;
}

/* join(axis, *tensors): Theano's argument order for concatenate. */
repl_value *repl_b_join(repl_session *s, const repl_args *a)
{
    if (a->nkw)
        return repl_fail(s, a->kwpos[0], "join takes (axis, *tensors)");
    if (a->nargs < 2)
        return repl_fail(s, a->pos, "join takes (axis, *tensors)");
    int64_t axis;
    if (!repl_to_int(s, a->args[0], a->argpos[0], &axis))
        return NULL;
    if (axis < -TJ_MAX_NDIM || axis >= TJ_MAX_NDIM)
        return repl_fail(s, a->argpos[0], "axis %lld is out of range", (long long)axis);
    tj_var *vars[64];
    bool symbolic = false;
    int n = var_list(s, a->args + 1, a->nargs - 1, a->argpos[1], vars, &symbolic);
    if (n < 0)
        return NULL;
    return var_value(s, tj_join((int)axis, vars, n), symbolic, a->pos, "join");
}

/* split(x, splits_size, n_splits, axis=0): a list of n_splits parts. */
repl_value *repl_b_split(repl_session *s, const repl_args *a)
{
    static const char *const params[] = {"x", "splits_size", "n_splits", "axis"};
    repl_value *v[4];
    size_t at[4];
    int64_t n, axis = 0;
    if (!repl_bind(s, a, params, 4, 3, v, at) || !repl_to_int(s, v[2], at[2], &n) ||
        (v[3] && !repl_to_int(s, v[3], at[3], &axis)))
        return NULL;
    if (!repl_is_seq(v[1]) || v[1]->as.seq.n != n || n < 1 || n > 1024)
        return repl_fail(s, at[1], "splits_size must list n_splits sizes (1 to 1024)");
    if (axis < -TJ_MAX_NDIM || axis >= TJ_MAX_NDIM)
        return repl_fail(s, at[3], "axis %lld is out of range", (long long)axis);
    int64_t *sizes = calloc((size_t)n, sizeof *sizes);
    tj_var **outs = calloc((size_t)n, sizeof *outs);
    repl_value *list = NULL;
    bool symbolic = false;
    tj_var *x = sizes && outs ? repl_to_var(s, v[0], at[0], &symbolic) : NULL;
    if (!sizes || !outs) {
        repl_oom(s, a->pos);
        goto done;
    }
    if (!x)
        goto done;
    for (int64_t i = 0; i < n; i++)
        if (!repl_to_int(s, v[1]->as.seq.items[i], at[1], &sizes[i]))
            goto done;
    if (tj_split(x, sizes, (int)n, (int)axis, outs) != TJ_OK) {
        repl_fail_lib(s, a->pos, "split");
        goto done;
    }
    if (!(list = repl_new_seq(V_LIST, (int)n))) {
        repl_oom(s, a->pos);
        goto done;
    }
    for (int64_t i = 0; i < n; i++) {
        if (!(list->as.seq.items[i] = var_value(s, outs[i], symbolic, a->pos, "split"))) {
            repl_unref(list);
            list = NULL;
            goto done;
        }
    }
    repl_seq_done(list);
done:
    free(sizes);
    free(outs);
    return list;
}

/* alloc(value, *shape): value broadcast into a new tensor of shape (ints or int scalars). */
repl_value *repl_b_alloc(repl_session *s, const repl_args *a)
{
    if (a->nkw)
        return repl_fail(s, a->kwpos[0], "alloc takes (value, *shape)");
    if (a->nargs < 1 || a->nargs - 1 > TJ_MAX_NDIM)
        return repl_fail(s, a->pos, "alloc takes (value, *shape) with at most %d sizes",
                         TJ_MAX_NDIM);
    bool symbolic = false, sym;
    tj_var *value = repl_to_var(s, a->args[0], a->argpos[0], &symbolic), *shape[TJ_MAX_NDIM];
    if (!value)
        return NULL;
    for (int i = 1; i < a->nargs; i++) {
        if (!(shape[i - 1] = repl_to_var(s, a->args[i], a->argpos[i], &sym)))
            return NULL;
        symbolic |= sym;
    }
    return var_value(s, tj_alloc(value, shape, a->nargs - 1), symbolic, a->pos, "alloc");
}

/* jacobian(expression, wrt, n) and hessian(cost, wrt, n): n is the length of the vector the C
 * API needs (graphs carry no static lengths). payload 1 = hessian. */
repl_value *repl_b_jacobian(repl_session *s, const repl_args *a, bool hessian)
{
    static const char *const params[] = {"expression", "wrt", "n", "consider_constant",
                                         "disconnected_inputs"};
    repl_value *v[5];
    size_t at[5];
    int64_t n;
    if (!repl_bind(s, a, params, 5, 3, v, at) || !repl_to_int(s, v[2], at[2], &n))
        return NULL;
    if (v[0]->kind != V_VAR || v[1]->kind != V_VAR)
        return repl_fail(s, a->pos, "%s needs symbolic variables", a->fname);
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    tj_var *consts[64];
    if (v[3] && v[3]->kind != V_NONE) {
        if (!repl_is_seq(v[3]) || v[3]->as.seq.n > 64)
            return repl_fail(s, at[3], "consider_constant must be a list of at most 64 variables");
        for (int i = 0; i < v[3]->as.seq.n; i++) {
            if (v[3]->as.seq.items[i]->kind != V_VAR)
                return repl_fail(s, at[3], "consider_constant must hold variables");
            consts[i] = v[3]->as.seq.items[i]->as.var.v;
        }
        o.consider_constant = consts;
        o.nconsider_constant = v[3]->as.seq.n;
    }
    if (v[4] && v[4]->kind == V_STR) {
        const char *d = v[4]->as.str.s;
        o.disconnected_inputs = !strcmp(d, "ignore") ? TJ_DISCONNECTED_IGNORE
                                : !strcmp(d, "warn") ? TJ_DISCONNECTED_WARN
                                                     : TJ_DISCONNECTED_RAISE;
    }
    tj_var *out = NULL;
    tj_status st = hessian ? tj_hessian(v[0]->as.var.v, v[1]->as.var.v, n, &out, &o)
                           : tj_jacobian(v[0]->as.var.v, v[1]->as.var.v, n, &out, &o);
    if (st != TJ_OK)
        return repl_fail_lib(s, a->pos, a->fname);
    return var_value(s, out, true, a->pos, a->fname);
}

/* arange with a symbolic bound: tj_arange (start, stop, step may be NULL). */
repl_value *repl_symbolic_arange(repl_session *s, repl_value *start, repl_value *stop,
                                 repl_value *step, tj_dtype dtype, size_t pos)
{
    repl_value *bounds[3] = {start, stop, step};
    tj_var *vars[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++) {
        bool sym;
        if (bounds[i] && bounds[i]->kind != V_NONE &&
            !(vars[i] = repl_to_var(s, bounds[i], pos, &sym)))
            return NULL;
    }
    return var_value(s, tj_arange(vars[0], vars[1], vars[2], dtype), true, pos, "arange");
}

/* tensor(dtype, broadcastable, name=None): Theano's general constructor, any rank. */
repl_value *repl_b_tensor(repl_session *s, const repl_args *a)
{
    static const char *const params[] = {"dtype", "broadcastable", "name"};
    repl_value *v[3];
    size_t at[3];
    tj_dtype d;
    if (!repl_bind(s, a, params, 3, 2, v, at) || !repl_to_dtype(s, v[0], at[0], &d))
        return NULL;
    if (!repl_is_seq(v[1]) || v[1]->as.seq.n > TJ_MAX_NDIM)
        return repl_fail(s, at[1], "broadcastable must be a tuple of at most %d bools",
                         TJ_MAX_NDIM);
    bool bc[TJ_MAX_NDIM];
    for (int i = 0; i < v[1]->as.seq.n; i++)
        if (!repl_to_bool(s, v[1]->as.seq.items[i], at[1], &bc[i]))
            return NULL;
    if (v[2] && v[2]->kind != V_NONE && v[2]->kind != V_STR)
        return repl_fail(s, at[2], "name must be a string");
    tj_var *t = tj_tensor(s->ctx, d, v[1]->as.seq.n, bc,
                          v[2] && v[2]->kind == V_STR ? v[2]->as.str.s : NULL);
    return var_value(s, t, true, a->pos, "tensor");
}
