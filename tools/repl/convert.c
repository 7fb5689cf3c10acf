/* Conversions between REPL values and tensorjit: Python numbers to weak literals, nested lists
 * to arrays (numpy's dtype rules), and immediate computation of graphs that have no inputs. */
#include "internal.h"

#include <math.h>
#include <string.h>

bool repl_parse_dtype(const char *name, tj_dtype *out)
{
    static const struct {
        const char *name;
        tj_dtype dtype;
    } names[] = {
        {"bool", TJ_BOOL},       {"int8", TJ_INT8},       {"int16", TJ_INT16},
        {"int32", TJ_INT32},     {"int64", TJ_INT64},     {"uint8", TJ_UINT8},
        {"float32", TJ_FLOAT32}, {"float64", TJ_FLOAT64}, {"floatX", TJ_FLOAT64},
        {"float", TJ_FLOAT64},   {"int", TJ_INT64},       {"double", TJ_FLOAT64},
    };
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        if (!strcmp(name, names[i].name)) {
            *out = names[i].dtype;
            return true;
        }
    }
    return false;
}

bool repl_to_dtype(repl_session *s, const repl_value *v, size_t pos, tj_dtype *out)
{
    if (v->kind != V_STR)
        return repl_fail(s, pos, "expected a dtype name such as 'float32', got %s", repl_a_kind(v)),
               false;
    if (!repl_parse_dtype(v->as.str.s, out))
        return repl_fail(s, pos,
                         "unknown dtype '%s' (bool int8 int16 int32 int64 uint8 float32 float64)",
                         v->as.str.s),
               false;
    return true;
}

bool repl_to_int(repl_session *s, const repl_value *v, size_t pos, int64_t *out)
{
    if (v->kind == V_INT || v->kind == V_BOOL) {
        *out = v->kind == V_INT ? v->as.i : v->as.b;
        return true;
    }
    if (v->kind == V_ARRAY && tj_array_ndim(v->as.array) == 0 &&
        tj_array_dtype(v->as.array) != TJ_FLOAT32 && tj_array_dtype(v->as.array) != TJ_FLOAT64) {
        *out = (int64_t)tj_array_get(v->as.array, NULL);
        return true;
    }
    repl_fail(s, pos, "expected an integer, got %s", repl_a_kind(v));
    return false;
}

bool repl_to_bool(repl_session *s, const repl_value *v, size_t pos, bool *out)
{
    if (v->kind == V_BOOL || v->kind == V_INT) {
        *out = v->kind == V_BOOL ? v->as.b : v->as.i != 0;
        return true;
    }
    repl_fail(s, pos, "expected True or False, got %s", repl_a_kind(v));
    return false;
}

bool repl_to_axes(repl_session *s, const repl_value *v, size_t pos, int *axes, int *naxes)
{
    *naxes = 0;
    if (v->kind == V_NONE)
        return true;
    const repl_value *const *items = (const repl_value *const *)&v;
    int n = 1;
    if (repl_is_seq(v)) {
        items = (const repl_value *const *)v->as.seq.items;
        n = v->as.seq.n;
        if (n == 0)
            return repl_fail(s, pos, "axis=() names no axis"), false;
    }
    if (n > TJ_MAX_NDIM)
        return repl_fail(s, pos, "too many axes (at most %d)", TJ_MAX_NDIM), false;
    for (int i = 0; i < n; i++) {
        int64_t a;
        if (!repl_to_int(s, items[i], pos, &a))
            return false;
        if (a < -TJ_MAX_NDIM || a >= TJ_MAX_NDIM)
            return repl_fail(s, pos, "axis %lld is out of range", (long long)a), false;
        axes[i] = (int)a;
    }
    *naxes = n;
    return true;
}

bool repl_to_shape(repl_session *s, repl_value *const *dims, int ndims, const size_t *pos,
                   int64_t *shape, int *ndim)
{
    bool from_seq = ndims == 1 && repl_is_seq(dims[0]);
    if (from_seq) {
        ndims = dims[0]->as.seq.n;
        dims = dims[0]->as.seq.items;
    }
    size_t at = pos ? pos[0] : 0;
    if (ndims > TJ_MAX_NDIM)
        return repl_fail(s, at, "too many dimensions (at most %d)", TJ_MAX_NDIM), false;
    int64_t total = 1;
    for (int i = 0; i < ndims; i++) {
        size_t p = from_seq || !pos ? at : pos[i];
        if (!repl_to_int(s, dims[i], p, &shape[i]))
            return false;
        if (shape[i] < 0)
            return repl_fail(s, p, "negative dimension %lld", (long long)shape[i]), false;
        if (shape[i] != 0 && total > s->cfg.max_elements / shape[i])
            return repl_fail(s, p, "array too large (more than %lld elements)",
                             (long long)s->cfg.max_elements),
                   false;
        total *= shape[i];
    }
    *ndim = ndims;
    return true;
}

/* ---- nested lists to arrays ---- */

typedef struct {
    int ndim;
    int64_t shape[TJ_MAX_NDIM];
    bool any_float, any_int;
} list_layout;

static bool is_scalar_leaf(const repl_value *v)
{
    return repl_is_number(v) || (v->kind == V_ARRAY && tj_array_ndim(v->as.array) == 0);
}

/* Shape from the first element at each level; dtype from every leaf (checked while filling). */
static bool layout_of(repl_session *s, const repl_value *v, size_t pos, list_layout *l)
{
    l->ndim = 0;
    while (repl_is_seq(v)) {
        if (l->ndim == TJ_MAX_NDIM)
            return repl_fail(s, pos, "list nested deeper than %d levels", TJ_MAX_NDIM), false;
        l->shape[l->ndim++] = v->as.seq.n;
        if (v->as.seq.n == 0)
            break;
        v = v->as.seq.items[0];
    }
    return true;
}

static bool leaf_kinds(repl_session *s, const repl_value *v, int level, const list_layout *l,
                       size_t pos, list_layout *kinds)
{
    if (level == l->ndim) {
        if (!is_scalar_leaf(v))
            return repl_fail(s, pos, "a list for an array may hold only numbers and lists, not %s",
                             repl_a_kind(v)),
                   false;
        tj_dtype d = v->kind == V_ARRAY ? tj_array_dtype(v->as.array) : TJ_BOOL;
        if (v->kind == V_FLOAT || d == TJ_FLOAT32 || d == TJ_FLOAT64)
            kinds->any_float = true;
        else if (v->kind == V_INT || (v->kind == V_ARRAY && d != TJ_BOOL))
            kinds->any_int = true;
        return true;
    }
    if (!repl_is_seq(v) || v->as.seq.n != l->shape[level])
        return repl_fail(s, pos,
                         "the nested lists are not rectangular (numpy would make a ragged "
                         "object array)"),
               false;
    for (int i = 0; i < v->as.seq.n; i++)
        if (!leaf_kinds(s, v->as.seq.items[i], level + 1, l, pos, kinds))
            return false;
    return true;
}

static void fill(tj_array *a, const repl_value *v, int level, int ndim, int64_t *index)
{
    if (level == ndim) {
        double x = v->kind == V_ARRAY ? tj_array_get(v->as.array, NULL) : repl_number(v);
        if (v->kind == V_INT && tj_array_dtype(a) == TJ_INT64) {
            /* exact for 64-bit integers that a double cannot hold */
            int64_t *data = tj_array_data(a);
            int64_t off = 0, stride = 1;
            const int64_t *shape = tj_array_shape(a);
            for (int k = ndim - 1; k >= 0; k--) {
                off += index[k] * stride;
                stride *= shape[k];
            }
            data[off] = v->as.i;
            return;
        }
        tj_array_set(a, ndim ? index : NULL, x);
        return;
    }
    for (int i = 0; i < v->as.seq.n; i++) {
        index[level] = i;
        fill(a, v->as.seq.items[i], level + 1, ndim, index);
    }
}

static tj_array *convert_dtype(repl_session *s, tj_array *a, tj_dtype dtype, size_t pos)
{
    tj_array *out = tj_array_new(dtype, tj_array_ndim(a), tj_array_shape(a));
    if (!out)
        return repl_fail_lib(s, pos, "converting an array");
    int nd = tj_array_ndim(a);
    int64_t n = tj_array_size(a), index[TJ_MAX_NDIM] = {0};
    const int64_t *shape = tj_array_shape(a);
    for (int64_t k = 0; k < n; k++) {
        tj_array_set(out, nd ? index : NULL, tj_array_get(a, nd ? index : NULL));
        for (int d = nd - 1; d >= 0; d--) {
            if (++index[d] < shape[d])
                break;
            index[d] = 0;
        }
    }
    return out;
}

tj_array *repl_to_array(repl_session *s, repl_value *v, int dtype, size_t pos)
{
    if (v->kind == V_ARRAY) {
        if (dtype < 0 || (tj_dtype)dtype == tj_array_dtype(v->as.array))
            return tj_array_ref(v->as.array);
        return convert_dtype(s, v->as.array, (tj_dtype)dtype, pos);
    }
    if (!repl_is_number(v) && !repl_is_seq(v))
        return repl_fail(s, pos, "expected a number, a list or an array, got %s", repl_a_kind(v));
    list_layout l = {0}, kinds = {0};
    if (!layout_of(s, v, pos, &l) || !leaf_kinds(s, v, 0, &l, pos, &kinds))
        return NULL;
    int64_t total = 1;
    for (int d = 0; d < l.ndim; d++) {
        if (l.shape[d] != 0 && total > s->cfg.max_elements / l.shape[d])
            return repl_fail(s, pos, "array too large (more than %lld elements)",
                             (long long)s->cfg.max_elements);
        total *= l.shape[d];
    }
    if (dtype < 0) {
        bool empty = total == 0;
        dtype = kinds.any_float || empty ? TJ_FLOAT64 : kinds.any_int ? TJ_INT64 : TJ_BOOL;
    }
    tj_array *a = tj_array_new((tj_dtype)dtype, l.ndim, l.shape);
    if (!a)
        return repl_fail_lib(s, pos, "making an array");
    int64_t index[TJ_MAX_NDIM] = {0};
    if (total > 0)
        fill(a, v, 0, l.ndim, index);
    return a;
}

tj_var *repl_to_var(repl_session *s, repl_value *v, size_t pos, bool *symbolic)
{
    *symbolic = false;
    tj_var *out = NULL;
    switch (v->kind) {
    case V_VAR: *symbolic = true; return v->as.var.v;
    case V_BOOL: out = tj_const(s->ctx, TJ_BOOL, v->as.b); break;
    case V_INT: out = tj_lit_int(s->ctx, v->as.i); break;
    case V_FLOAT: out = tj_lit(s->ctx, v->as.f); break;
    case V_ARRAY: out = tj_constant(s->ctx, v->as.array); break;
    case V_LIST:
    case V_TUPLE: {
        tj_array *a = repl_to_array(s, v, -1, pos);
        if (!a)
            return NULL;
        out = tj_constant(s->ctx, a);
        tj_array_unref(a);
        break;
    }
    default: return repl_fail(s, pos, "expected a tensor or a number, got %s", repl_a_kind(v));
    }
    return out ? out : repl_fail_lib(s, pos, "making a constant");
}

tj_array *repl_compute(repl_session *s, tj_var *v, size_t pos)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    tj_fn *f = tj_function(s->ctx, NULL, 0, &v, 1, &o);
    if (!f)
        return repl_fail_lib(s, pos, "computing the value");
    tj_array *out = NULL;
    tj_status st = tj_call(f, NULL, &out);
    tj_fn_free(f);
    if (st != TJ_OK)
        return repl_fail_lib(s, pos, "computing the value");
    return out;
}

repl_value *repl_result(repl_session *s, tj_var *v, bool symbolic, size_t pos, const char *what)
{
    if (!v)
        return repl_fail_lib(s, pos, what);
    if (symbolic) {
        repl_value *r = repl_new_var(v, false);
        return r ? r : repl_oom(s, pos);
    }
    tj_array *a = repl_compute(s, v, pos);
    if (!a)
        return NULL;
    repl_value *r = repl_new_array(a);
    return r ? r : repl_oom(s, pos);
}
