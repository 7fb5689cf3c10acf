/* Value constructors, reference counting and repr. */
#include "value.h"

#include <stdlib.h>
#include <string.h>

static repl_value *alloc_value(repl_value_kind kind)
{
    repl_value *v = calloc(1, sizeof *v);
    if (v) {
        v->refs = 1;
        v->kind = kind;
    }
    return v;
}

repl_value *repl_new_none(void) { return alloc_value(V_NONE); }

repl_value *repl_new_bool(bool b)
{
    repl_value *v = alloc_value(V_BOOL);
    if (v)
        v->as.b = b;
    return v;
}

repl_value *repl_new_int(int64_t i)
{
    repl_value *v = alloc_value(V_INT);
    if (v)
        v->as.i = i;
    return v;
}

repl_value *repl_new_float(double f)
{
    repl_value *v = alloc_value(V_FLOAT);
    if (v)
        v->as.f = f;
    return v;
}

repl_value *repl_new_str(const char *s, size_t len)
{
    repl_value *v = alloc_value(V_STR);
    if (!v)
        return NULL;
    v->as.str.s = malloc(len + 1);
    if (!v->as.str.s) {
        free(v);
        return NULL;
    }
    memcpy(v->as.str.s, s, len);
    v->as.str.s[len] = '\0';
    v->as.str.len = len;
    return v;
}

repl_value *repl_new_array(tj_array *a)
{
    repl_value *v = a ? alloc_value(V_ARRAY) : NULL;
    if (!v) {
        tj_array_unref(a);
        return NULL;
    }
    v->as.array = a;
    return v;
}

repl_value *repl_new_var(tj_var *var, bool shared)
{
    repl_value *v = var ? alloc_value(V_VAR) : NULL;
    if (v) {
        v->as.var.v = var;
        v->as.var.shared = shared;
    }
    return v;
}

repl_value *repl_new_fn(const repl_function *f)
{
    repl_value *v = alloc_value(V_FN);
    if (v)
        v->as.fn = *f;
    return v;
}

repl_value *repl_new_seq(repl_value_kind kind, int n)
{
    repl_value *v = alloc_value(kind);
    if (!v)
        return NULL;
    if (n > 0) {
        v->as.seq.items = calloc((size_t)n, sizeof *v->as.seq.items);
        if (!v->as.seq.items) {
            free(v);
            return NULL;
        }
    }
    v->as.seq.n = n;
    return v;
}

void repl_seq_done(repl_value *v)
{
    int d = 0;
    for (int i = 0; i < v->as.seq.n; i++)
        if (v->as.seq.items[i] && v->as.seq.items[i]->depth > d)
            d = v->as.seq.items[i]->depth;
    v->depth = d + 1;
}

repl_value *repl_new_callable(repl_value_kind kind, const void *entry, int payload,
                              const char *name)
{
    repl_value *v = alloc_value(kind);
    if (v) {
        v->as.callable.entry = entry;
        v->as.callable.payload = payload;
        snprintf(v->as.callable.name, sizeof v->as.callable.name, "%s", name);
    }
    return v;
}

repl_value *repl_ref(repl_value *v)
{
    if (v)
        v->refs++;
    return v;
}

void repl_unref(repl_value *v)
{
    if (!v || --v->refs > 0)
        return;
    switch (v->kind) {
    case V_STR: free(v->as.str.s); break;
    case V_ARRAY: tj_array_unref(v->as.array); break;
    case V_FN:
        tj_fn_free(v->as.fn.fn);
        free(v->as.fn.inputs);
        free(v->as.fn.name);
        break;
    case V_LIST:
    case V_TUPLE:
    case V_DICT:
    case V_SLICE:
        for (int i = 0; i < v->as.seq.n; i++)
            repl_unref(v->as.seq.items[i]);
        free(v->as.seq.items);
        break;
    default: break;
    }
    free(v);
}

bool repl_is_number(const repl_value *v)
{
    return v->kind == V_BOOL || v->kind == V_INT || v->kind == V_FLOAT;
}

bool repl_is_seq(const repl_value *v) { return v->kind == V_LIST || v->kind == V_TUPLE; }

double repl_number(const repl_value *v)
{
    switch (v->kind) {
    case V_BOOL: return v->as.b;
    case V_INT: return (double)v->as.i;
    case V_FLOAT: return v->as.f;
    default: return 0;
    }
}

const char *repl_kind_name(const repl_value *v)
{
    switch (v->kind) {
    case V_NONE: return "None";
    case V_BOOL: return "bool";
    case V_INT: return "int";
    case V_FLOAT: return "float";
    case V_STR: return "str";
    case V_ARRAY: return "array";
    case V_VAR: return v->as.var.shared ? "shared variable" : "tensor variable";
    case V_FN: return "function";
    case V_LIST: return "list";
    case V_TUPLE: return "tuple";
    case V_DICT: return "dict";
    case V_SLICE: return "slice";
    case V_BUILTIN:
    case V_OP: return "builtin function";
    case V_MODULE: return "module";
    }
    return "value";
}

const char *repl_a_kind(const repl_value *v)
{
    switch (v->kind) {
    case V_NONE: return "None";
    case V_INT: return "an int";
    case V_ARRAY: return "an array";
    default: break;
    }
    static const char *const with_a[] = {
        [V_BOOL] = "a bool",           [V_FLOAT] = "a float",   [V_STR] = "a str",
        [V_FN] = "a function",         [V_LIST] = "a list",     [V_TUPLE] = "a tuple",
        [V_DICT] = "a dict",           [V_SLICE] = "a slice",   [V_BUILTIN] = "a builtin function",
        [V_OP] = "a builtin function", [V_MODULE] = "a module",
    };
    if (v->kind == V_VAR)
        return v->as.var.shared ? "a shared variable" : "a tensor variable";
    return with_a[v->kind];
}

void repl_describe_type(repl_buf *b, const tj_var *v)
{
    int nd = tj_var_ndim(v);
    const char *shape = NULL;
    char other[16];
    if (nd == 0)
        shape = "scalar";
    else if (nd == 1)
        shape = tj_var_broadcastable(v, 0) ? "(True,)" : "vector";
    else if (nd == 2 && tj_var_broadcastable(v, 0) && !tj_var_broadcastable(v, 1))
        shape = "row";
    else if (nd == 2 && !tj_var_broadcastable(v, 0) && tj_var_broadcastable(v, 1))
        shape = "col";
    else if (nd == 2)
        shape = "matrix";
    if (!shape) {
        snprintf(other, sizeof other, "%dD", nd);
        shape = other;
    }
    repl_buf_printf(b, "TensorType(%s, %s)", tj_dtype_name(tj_var_dtype(v)), shape);
}

static void repr_string(repl_buf *b, const char *s, size_t n)
{
    /* Python picks single quotes unless the text holds one and no double quote */
    bool has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char q = has_single && !has_double ? '"' : '\'';
    repl_buf_append(b, &q, 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == (unsigned char)q)
            repl_buf_printf(b, "\\%c", c);
        else if (c == '\n')
            repl_buf_puts(b, "\\n");
        else if (c == '\t')
            repl_buf_puts(b, "\\t");
        else if (c == '\r')
            repl_buf_puts(b, "\\r");
        else if (c < 0x20 || c == 0x7f)
            repl_buf_printf(b, "\\x%02x", c);
        else
            repl_buf_append(b, (const char *)&c, 1);
    }
    repl_buf_append(b, &q, 1);
}

void repl_repr(repl_buf *b, const repl_value *v)
{
    char num[40];
    switch (v->kind) {
    case V_NONE: repl_buf_puts(b, "None"); break;
    case V_BOOL: repl_buf_puts(b, v->as.b ? "True" : "False"); break;
    case V_INT: repl_buf_printf(b, "%lld", (long long)v->as.i); break;
    case V_FLOAT:
        repl_format_float(v->as.f, num, sizeof num);
        repl_buf_puts(b, num);
        break;
    case V_STR: repr_string(b, v->as.str.s, v->as.str.len); break;
    case V_ARRAY: {
        char *s = tj_array_to_string(v->as.array);
        repl_buf_puts(b, s ? s : "<array>");
        free(s);
        break;
    }
    case V_VAR: {
        const char *name = tj_var_name(v->as.var.v);
        if (name) {
            repl_buf_puts(b, name);
        } else {
            repl_buf_puts(b, v->as.var.shared ? "<TensorSharedVariable " : "<");
            repl_describe_type(b, v->as.var.v);
            repl_buf_puts(b, ">");
        }
        break;
    }
    case V_FN: {
        const repl_function *f = &v->as.fn;
        repl_buf_printf(b, "<function %s(", f->name ? f->name : "<unnamed>");
        for (int i = 0; i < f->nin; i++) {
            const char *n = tj_var_name(f->inputs[i]);
            repl_buf_printf(b, "%s%s", i ? ", " : "", n ? n : "_");
        }
        repl_buf_printf(b, ") -> %d output%s, %s>", f->nout, f->nout == 1 ? "" : "s",
                        tj_fn_jitted(f->fn) ? "JIT" : "reference executor");
        break;
    }
    case V_LIST:
    case V_TUPLE: {
        bool list = v->kind == V_LIST;
        repl_buf_puts(b, list ? "[" : "(");
        for (int i = 0; i < v->as.seq.n; i++) {
            if (i)
                repl_buf_puts(b, ", ");
            repl_repr(b, v->as.seq.items[i]);
        }
        repl_buf_puts(b, list ? "]" : v->as.seq.n == 1 ? ",)" : ")");
        break;
    }
    case V_DICT:
        repl_buf_puts(b, "{");
        for (int i = 0; i + 1 < v->as.seq.n; i += 2) {
            if (i)
                repl_buf_puts(b, ", ");
            repl_repr(b, v->as.seq.items[i]);
            repl_buf_puts(b, ": ");
            repl_repr(b, v->as.seq.items[i + 1]);
        }
        repl_buf_puts(b, "}");
        break;
    case V_SLICE:
        repl_buf_puts(b, "slice(");
        for (int i = 0; i < 3; i++) {
            if (i)
                repl_buf_puts(b, ", ");
            repl_repr(b, v->as.seq.items[i]);
        }
        repl_buf_puts(b, ")");
        break;
    case V_BUILTIN:
    case V_OP: repl_buf_printf(b, "<built-in function %s>", v->as.callable.name); break;
    case V_MODULE: repl_buf_printf(b, "<module '%s'>", v->as.callable.name); break;
    }
}

void repl_str(repl_buf *b, const repl_value *v)
{
    if (v->kind == V_STR)
        repl_buf_append(b, v->as.str.s, v->as.str.len);
    else
        repl_repr(b, v);
}
