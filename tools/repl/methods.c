/* Attributes and methods: x.T, x.shape, x.ndim, x.dtype, x.name; x.sum(...), x.dot(y) and every
 * other op of the bindings table as a method of tensors; get_value/set_value of shared variables;
 * eval, astype, transpose, dimshuffle. Module attributes resolve to builtins (T.exp is exp). */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const var_methods[] = {"get_value", "set_value", "eval",   "astype",
                                          "transpose", "reshape",   "flatten"};

bool repl_is_method(const repl_value *obj, const char *name)
{
    if (repl_is_stream_method(obj, name))
        return true;
    if (obj->kind != V_VAR && obj->kind != V_ARRAY)
        return false;
    for (size_t i = 0; i < sizeof var_methods / sizeof *var_methods; i++)
        if (!strcmp(var_methods[i], name))
            return true;
    return repl_op_find(name) != NULL;
}

void repl_method_each(void (*fn)(void *arg, const char *name), void *arg)
{
    for (size_t i = 0; i < sizeof var_methods / sizeof *var_methods; i++)
        fn(arg, var_methods[i]);
    static const char *const attrs[] = {"T", "shape", "ndim", "dtype", "name", "type"};
    for (size_t i = 0; i < sizeof attrs / sizeof *attrs; i++)
        fn(arg, attrs[i]);
}

static repl_value *str_value(repl_session *s, const char *text, size_t pos)
{
    repl_value *v = repl_new_str(text, strlen(text));
    return v ? v : repl_oom(s, pos);
}

static repl_value *int_value(repl_session *s, int64_t i, size_t pos)
{
    repl_value *v = repl_new_int(i);
    return v ? v : repl_oom(s, pos);
}

/* x.shape: a tuple of int64 scalars (symbolic for variables, ints for arrays). */
static repl_value *shape_of(repl_session *s, repl_value *obj, size_t pos)
{
    int nd = obj->kind == V_VAR ? tj_var_ndim(obj->as.var.v) : tj_array_ndim(obj->as.array);
    repl_value *t = repl_new_seq(V_TUPLE, nd);
    if (!t)
        return repl_oom(s, pos);
    for (int i = 0; i < nd; i++) {
        if (obj->kind == V_VAR) {
            tj_var *d = tj_shape_of(obj->as.var.v, i);
            t->as.seq.items[i] = d ? repl_new_var(d, false) : repl_fail_lib(s, pos, "shape");
        } else {
            t->as.seq.items[i] = repl_new_int(tj_array_shape(obj->as.array)[i]);
        }
        if (!t->as.seq.items[i]) {
            repl_unref(t);
            return s->failed ? NULL : repl_oom(s, pos);
        }
    }
    repl_seq_done(t);
    return t;
}

static repl_value *module_attribute(repl_session *s, repl_value *module, const char *name,
                                    size_t pos)
{
    if (!strcmp(name, "floatX"))
        return str_value(s, "float64", pos);
    repl_value *v = repl_builtin_lookup(name);
    if (!v)
        return repl_fail(s, pos, "module '%s' has no attribute '%s' here", module->as.callable.name,
                         name);
    return v;
}

repl_value *repl_attribute(repl_session *s, repl_value *obj, const char *name, size_t pos)
{
    if (obj->kind == V_MODULE)
        return module_attribute(s, obj, name, pos);
    if (obj->kind == V_VAR || obj->kind == V_ARRAY) {
        bool var = obj->kind == V_VAR;
        if (!strcmp(name, "T")) {
            repl_value *operand[1] = {obj};
            return repl_apply_named(s, "transpose", "x.T needs tj_transpose", operand, 1, pos);
        }
        if (!strcmp(name, "shape"))
            return shape_of(s, obj, pos);
        if (!strcmp(name, "ndim"))
            return int_value(s, var ? tj_var_ndim(obj->as.var.v) : tj_array_ndim(obj->as.array),
                             pos);
        if (!strcmp(name, "dtype"))
            return str_value(
                s, tj_dtype_name(var ? tj_var_dtype(obj->as.var.v) : tj_array_dtype(obj->as.array)),
                pos);
        if (!strcmp(name, "size") && !var)
            return int_value(s, tj_array_size(obj->as.array), pos);
        if (var && !strcmp(name, "name")) {
            const char *n = tj_var_name(obj->as.var.v);
            repl_value *v = n ? repl_new_str(n, strlen(n)) : repl_new_none();
            return v ? v : repl_oom(s, pos);
        }
        if (var && !strcmp(name, "type")) {
            repl_buf b = {0};
            repl_describe_type(&b, obj->as.var.v);
            repl_value *v = str_value(s, repl_buf_str(&b), pos);
            repl_buf_free(&b);
            return v;
        }
        if (repl_is_method(obj, name))
            return repl_fail(s, pos, "%s is a method: call it, as in x.%s(...)", name, name);
    }
    if (obj->kind == V_FN && !strcmp(name, "name")) {
        const char *n = obj->as.fn.name;
        repl_value *v = n ? repl_new_str(n, strlen(n)) : repl_new_none();
        return v ? v : repl_oom(s, pos);
    }
    return repl_fail(s, pos, "%s has no attribute '%s'", repl_a_kind(obj), name);
}

static repl_value *get_value(repl_session *s, repl_value *obj, const repl_args *a)
{
    static const char *const params[] = {"borrow", "return_internal_type"};
    repl_value *v[2];
    size_t at[2];
    bool borrow = false;
    if (!repl_bind(s, a, params, 2, 0, v, at) || (v[0] && !repl_to_bool(s, v[0], at[0], &borrow)))
        return NULL;
    tj_array *arr = tj_shared_get(obj->as.var.v, borrow);
    if (!arr)
        return repl_fail_lib(s, a->pos, "get_value");
    repl_value *r = repl_new_array(arr);
    return r ? r : repl_oom(s, a->pos);
}

static repl_value *set_value(repl_session *s, repl_value *obj, const repl_args *a)
{
    static const char *const params[] = {"new_value", "borrow"};
    repl_value *v[2];
    size_t at[2];
    bool borrow = false;
    if (!repl_bind(s, a, params, 2, 1, v, at) || (v[1] && !repl_to_bool(s, v[1], at[1], &borrow)))
        return NULL;
    if (v[0]->kind == V_VAR)
        return repl_fail(s, at[0], "set_value needs a value, not a symbolic variable");
    /* Python numbers and lists take the variable's dtype; arrays are checked by the library */
    int dtype = v[0]->kind == V_ARRAY ? -1 : (int)tj_var_dtype(obj->as.var.v);
    tj_array *arr = repl_to_array(s, v[0], dtype, at[0]);
    if (!arr)
        return NULL;
    tj_status st = tj_shared_set(obj->as.var.v, arr, borrow);
    tj_array_unref(arr);
    if (st != TJ_OK)
        return repl_fail_lib(s, a->pos, "set_value");
    repl_value *r = repl_new_none();
    return r ? r : repl_oom(s, a->pos);
}

/* obj.op(args...) is op(obj, args...) */
static repl_value *op_method(repl_session *s, repl_value *obj, const char *opname,
                             const repl_args *a)
{
    const repl_op *op = repl_op_find(opname);
    if (!op)
        return repl_fail(s, a->pos, "not supported yet: x.%s(...) needs tj_%s", opname, opname);
    repl_args b = *a;
    b.args = malloc(((size_t)a->nargs + 1) * sizeof *b.args);
    b.argpos = malloc(((size_t)a->nargs + 1) * sizeof *b.argpos);
    repl_value *r = NULL;
    if (!b.args || !b.argpos) {
        repl_oom(s, a->pos);
    } else {
        b.args[0] = obj;
        b.argpos[0] = a->pos;
        for (int i = 0; i < a->nargs; i++) {
            b.args[i + 1] = a->args[i];
            b.argpos[i + 1] = a->argpos[i];
        }
        b.nargs = a->nargs + 1;
        r = repl_op_call(s, op, &b);
    }
    free(b.args);
    free(b.argpos);
    return r;
}

static repl_value *packed_method(repl_session *s, repl_value *obj, const char *name,
                                 const repl_args *a)
{
    repl_value *t = repl_new_seq(V_TUPLE, a->nargs);
    if (!t)
        return repl_oom(s, a->pos);
    for (int i = 0; i < a->nargs; i++)
        t->as.seq.items[i] = repl_ref(a->args[i]);
    repl_seq_done(t);
    repl_args one = *a;
    one.args = &t;
    one.nargs = 1;
    repl_value *r = op_method(s, obj, name, &one);
    repl_unref(t);
    return r;
}

repl_value *repl_method_call(repl_session *s, repl_value *obj, const char *name, const repl_args *a)
{
    if (repl_is_stream_method(obj, name))
        return repl_stream_draw(s, obj, name, a);
    bool var = obj->kind == V_VAR;
    if (!strcmp(name, "get_value") || !strcmp(name, "set_value")) {
        if (!var || !obj->as.var.shared)
            return repl_fail(s, a->pos, "%s is for shared variables; this is %s", name,
                             repl_a_kind(obj));
        return name[0] == 'g' ? get_value(s, obj, a) : set_value(s, obj, a);
    }
    if (!strcmp(name, "eval")) {
        static const char *const params[] = {"inputs_to_values"};
        repl_value *v[1];
        size_t at[1];
        if (!repl_bind(s, a, params, 1, 0, v, at))
            return NULL;
        return var ? repl_var_eval(s, obj, v[0], v[0] ? at[0] : a->pos) : repl_ref(obj);
    }
    if (!strcmp(name, "astype"))
        return op_method(s, obj, "cast", a);
    /* x.reshape(2, 3) and x.transpose(1, 0) take their sizes/axes one by one, as numpy allows */
    if ((!strcmp(name, "reshape") || !strcmp(name, "transpose")) && a->nargs > 1 && a->nkw == 0)
        return packed_method(s, obj, name, a);
    return op_method(s, obj, name, a);
}
