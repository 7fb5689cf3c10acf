/* Indexing and slicing with Python's rules: lists and tuples, concrete arrays (numpy's basic
 * indexing: integers and slices, negative indices counting from the end), and the shape tuple.
 * Symbolic tensors need the library's subtensor ops. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

/* Python's slice.indices(n): start, stop, step clipped to a length n; returns the count. */
static bool slice_indices(repl_session *s, const repl_value *sl, int64_t n, size_t pos,
                          int64_t *start, int64_t *step, int64_t *count)
{
    int64_t v[3];
    bool given[3];
    for (int i = 0; i < 3; i++) {
        given[i] = sl->as.seq.items[i]->kind != V_NONE;
        if (given[i] && !repl_to_int(s, sl->as.seq.items[i], pos, &v[i]))
            return false;
    }
    *step = given[2] ? v[2] : 1;
    if (*step == 0)
        return repl_fail(s, pos, "slice step cannot be zero"), false;
    if (*step == INT64_MIN)
        *step = -INT64_MAX;
    int64_t lo = *step < 0 ? -1 : 0, hi = *step < 0 ? n - 1 : n;
    int64_t b[2] = {*step < 0 ? hi : lo, *step < 0 ? lo : hi};
    for (int i = 0; i < 2; i++) {
        if (!given[i])
            continue;
        int64_t x = v[i];
        if (x < 0) {
            x = x < -n ? lo : x + n; /* no overflow: -n <= x < 0 */
            if (x < lo)
                x = lo;
        } else if (x > hi) {
            x = hi;
        }
        b[i] = x;
    }
    *start = b[0];
    int64_t span = *step < 0 ? b[0] - b[1] : b[1] - b[0];
    int64_t st = *step < 0 ? -*step : *step;
    *count = span <= 0 ? 0 : (span - 1) / st + 1;
    return true;
}

static bool normalize_index(repl_session *s, const repl_value *ix, int64_t n, size_t pos,
                            int64_t *out)
{
    int64_t i;
    if (!repl_to_int(s, ix, pos, &i))
        return false;
    if (i < -n || i >= n)
        return repl_fail(s, pos, "index %lld is out of range for length %lld", (long long)i,
                         (long long)n),
               false;
    *out = i < 0 ? i + n : i;
    return true;
}

static repl_value *index_seq(repl_session *s, repl_value *obj, repl_value *sub, size_t pos)
{
    if (sub->kind != V_SLICE) {
        int64_t i;
        if (!normalize_index(s, sub, obj->as.seq.n, pos, &i))
            return NULL;
        return repl_ref(obj->as.seq.items[i]);
    }
    int64_t start, step, count;
    if (!slice_indices(s, sub, obj->as.seq.n, pos, &start, &step, &count))
        return NULL;
    repl_value *r = repl_new_seq(obj->kind, (int)count);
    if (!r)
        return repl_oom(s, pos);
    for (int64_t k = 0; k < count; k++)
        r->as.seq.items[k] = repl_ref(obj->as.seq.items[start + k * step]);
    repl_seq_done(r);
    return r;
}

static void release_array(void *arg) { tj_array_unref(arg); }

/* numpy basic indexing: a strided view of a contiguous copy, then copied out contiguous. */
static repl_value *index_array(repl_session *s, repl_value *obj, repl_value *const *subs,
                               const size_t *subpos, int nsubs, size_t pos)
{
    tj_array *src = obj->as.array;
    int nd = tj_array_ndim(src);
    if (nsubs > nd)
        return repl_fail(s, subpos[nd], "too many indices: the array has %d dimension%s", nd,
                         nd == 1 ? "" : "s");
    tj_array *base = tj_array_data(src) ? tj_array_ref(src) : tj_array_copy(src);
    if (!base)
        return repl_fail_lib(s, pos, "indexing");
    const int64_t *shape = tj_array_shape(base);
    const int64_t *strides = tj_array_strides(base);
    int64_t out_shape[TJ_MAX_NDIM], out_strides[TJ_MAX_NDIM];
    int out_nd = 0;
    int64_t offset = 0;
    bool empty = false;
    for (int d = 0; d < nd; d++) {
        const repl_value *sub = d < nsubs ? subs[d] : NULL;
        if (!sub) {
            out_shape[out_nd] = shape[d];
            out_strides[out_nd++] = strides[d];
        } else if (sub->kind == V_SLICE) {
            int64_t start, step, count;
            if (!slice_indices(s, sub, shape[d], subpos[d], &start, &step, &count)) {
                tj_array_unref(base);
                return NULL;
            }
            empty |= count == 0;
            if (count > 0)
                offset += start * strides[d];
            out_shape[out_nd] = count;
            out_strides[out_nd++] = step * strides[d];
        } else {
            int64_t i;
            if (!normalize_index(s, sub, shape[d], subpos[d], &i)) {
                tj_array_unref(base);
                return NULL;
            }
            offset += i * strides[d];
        }
    }
    tj_array *result;
    if (empty) {
        result = tj_array_new(tj_array_dtype(base), out_nd, out_shape);
        tj_array_unref(base);
    } else {
        char *data = (char *)tj_array_data(base) + offset;
        tj_array *view = tj_array_wrap(tj_array_dtype(base), out_nd, out_shape, out_strides, data,
                                       release_array, base);
        if (!view) {
            tj_array_unref(base);
            return repl_fail_lib(s, pos, "indexing");
        }
        result = tj_array_copy(view);
        tj_array_unref(view); /* releases base */
    }
    if (!result)
        return repl_fail_lib(s, pos, "indexing");
    repl_value *r = repl_new_array(result);
    return r ? r : repl_oom(s, pos);
}

static tj_var *bound(repl_session *s, repl_value *v, size_t pos, bool *symbolic)
{
    if (v->kind == V_NONE)
        return NULL;
    bool sym;
    tj_var *b = repl_to_var(s, v, pos, &sym);
    *symbolic |= sym;
    return b;
}

/* x[...] on a symbolic tensor (or an array indexed by integer arrays), one axis at a time:
 * an integer drops its axis (tj_index), a slice keeps it (tj_slice), an integer list or array
 * replaces it by its own axes (tj_take). */
static repl_value *index_tensor(repl_session *s, repl_value *obj, repl_value *const *subs,
                                const size_t *subpos, int nsubs, size_t pos)
{
    bool symbolic = false;
    tj_var *x = repl_to_var(s, obj, pos, &symbolic);
    if (!x)
        return NULL;
    if (nsubs > tj_var_ndim(x))
        return repl_fail(s, subpos[tj_var_ndim(x)],
                         "too many indices: the tensor has %d dimension%s", tj_var_ndim(x),
                         tj_var_ndim(x) == 1 ? "" : "s");
    int axis = 0;
    for (int k = 0; k < nsubs && x; k++) {
        repl_value *sub = subs[k];
        if (sub->kind == V_SLICE) {
            repl_value *const *b = sub->as.seq.items;
            tj_var *start = bound(s, b[0], subpos[k], &symbolic);
            tj_var *stop = s->failed ? NULL : bound(s, b[1], subpos[k], &symbolic);
            tj_var *step = s->failed ? NULL : bound(s, b[2], subpos[k], &symbolic);
            if (s->failed)
                return NULL;
            x = tj_slice(x, axis++, start, stop, step);
            continue;
        }
        bool sym = false;
        tj_var *ix = repl_to_var(s, sub, subpos[k], &sym);
        if (!ix)
            return NULL;
        symbolic |= sym;
        int nd = tj_var_ndim(ix);
        if (nd == 0) {
            x = tj_index(x, axis, ix);
        } else {
            x = tj_take(x, ix, axis);
            axis += nd;
        }
    }
    return repl_result(s, x, symbolic, pos, "indexing");
}

repl_value *repl_index(repl_session *s, repl_value *obj, repl_value *const *subs,
                       const size_t *subpos, int nsubs, size_t pos)
{
    switch (obj->kind) {
    case V_LIST:
    case V_TUPLE:
        if (nsubs != 1)
            return repl_fail(s, subpos[1], "%s takes one index", repl_a_kind(obj));
        return index_seq(s, obj, subs[0], subpos[0]);
    case V_ARRAY:
        for (int i = 0; i < nsubs; i++)
            if (subs[i]->kind != V_SLICE && subs[i]->kind != V_INT && subs[i]->kind != V_BOOL)
                return index_tensor(s, obj, subs, subpos, nsubs, pos); /* integer arrays: take */
        return index_array(s, obj, subs, subpos, nsubs, pos);
    case V_VAR: return index_tensor(s, obj, subs, subpos, nsubs, pos);
    default: return repl_fail(s, pos, "%s cannot be indexed", repl_a_kind(obj));
    }
}
