/* theano.function: building a compiled function from the REPL's arguments, calling it with
 * Python values converted to the inputs' dtypes, and x.eval({...}). */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum { MAX_FN_VARS = 1024 };

/* A list of variables, or one; numbers and arrays become constants when allow_values. */
static int to_var_list(repl_session *s, repl_value *v, size_t pos, tj_var **vars, bool allow_values,
                       const char *what, bool *listed)
{
    repl_value *const *items = &v;
    int n = 1;
    *listed = repl_is_seq(v);
    if (*listed) {
        items = v->as.seq.items;
        n = v->as.seq.n;
    }
    if (n > MAX_FN_VARS)
        return repl_fail(s, pos, "too many %s (at most %d)", what, MAX_FN_VARS), -1;
    for (int i = 0; i < n; i++) {
        if (items[i]->kind != V_VAR && !allow_values)
            return repl_fail(s, pos, "%s must be symbolic variables; item %d is %s", what, i,
                             repl_a_kind(items[i])),
                   -1;
        bool sym;
        if (!(vars[i] = repl_to_var(s, items[i], pos, &sym)))
            return -1;
    }
    return n;
}

/* updates=[(w, expr), ...] or {w: expr}; givens the same. */
static int to_pairs(repl_session *s, repl_value *v, size_t pos, tj_var **first, tj_var **second,
                    const char *what)
{
    if (v->kind == V_NONE)
        return 0;
    int n;
    bool dict = v->kind == V_DICT;
    if (dict)
        n = v->as.seq.n / 2;
    else if (repl_is_seq(v))
        n = v->as.seq.n;
    else
        return repl_fail(s, pos, "%s must be a list of pairs or a dict", what), -1;
    if (n > MAX_FN_VARS)
        return repl_fail(s, pos, "too many %s (at most %d)", what, MAX_FN_VARS), -1;
    for (int i = 0; i < n; i++) {
        repl_value *k, *val;
        if (dict) {
            k = v->as.seq.items[2 * i];
            val = v->as.seq.items[2 * i + 1];
        } else {
            repl_value *pair = v->as.seq.items[i];
            if (!repl_is_seq(pair) || pair->as.seq.n != 2)
                return repl_fail(s, pos, "%s[%d] must be a pair (variable, expression)", what, i),
                       -1;
            k = pair->as.seq.items[0];
            val = pair->as.seq.items[1];
        }
        if (k->kind != V_VAR)
            return repl_fail(s, pos, "%s[%d]: the first item must be a variable, not %s", what, i,
                             repl_a_kind(k)),
                   -1;
        bool sym;
        first[i] = k->as.var.v;
        if (!(second[i] = repl_to_var(s, val, pos, &sym)))
            return -1;
    }
    return n;
}

static bool read_mode(repl_session *s, const repl_value *v, size_t pos, tj_mode *mode)
{
    static const struct {
        const char *name;
        tj_mode mode;
    } modes[] = {{"FAST_RUN", TJ_MODE_FAST_RUN},
                 {"FAST_COMPILE", TJ_MODE_FAST_COMPILE},
                 {"DEBUG_MODE", TJ_MODE_DEBUG},
                 {"DebugMode", TJ_MODE_DEBUG},
                 {"DEBUG", TJ_MODE_DEBUG}};
    if (v->kind == V_NONE)
        return true;
    for (size_t i = 0; v->kind == V_STR && i < sizeof modes / sizeof *modes; i++) {
        if (!strcmp(v->as.str.s, modes[i].name)) {
            *mode = modes[i].mode;
            return true;
        }
    }
    repl_fail(s, pos, "mode must be 'FAST_RUN', 'FAST_COMPILE' or 'DEBUG_MODE'");
    return false;
}

static bool read_choice(repl_session *s, const repl_value *v, size_t pos, const char *what,
                        const char *const *choices, int n, int *out)
{
    if (v->kind == V_NONE)
        return true;
    for (int i = 0; v->kind == V_STR && i < n; i++) {
        if (!strcmp(v->as.str.s, choices[i])) {
            *out = i;
            return true;
        }
    }
    repl_fail(s, pos, "%s must be 'raise', 'warn' or 'ignore'", what);
    return false;
}

static bool read_flag(repl_session *s, const repl_value *v, size_t pos, bool *out)
{
    return !v || repl_to_bool(s, v, pos, out);
}

typedef struct {
    tj_var *inputs[MAX_FN_VARS], *outputs[MAX_FN_VARS];
    tj_var *upd_var[MAX_FN_VARS], *upd_new[MAX_FN_VARS];
    tj_var *giv_var[MAX_FN_VARS], *giv_new[MAX_FN_VARS];
    tj_update updates[MAX_FN_VARS];
    tj_given givens[MAX_FN_VARS];
    const char *excluding[MAX_FN_VARS], *including[MAX_FN_VARS];
} fn_parts;

/* A string or a list of strings (borrowed from the value). */
static int to_names(repl_session *s, repl_value *v, size_t pos, const char **names)
{
    if (v->kind == V_NONE)
        return 0;
    repl_value *const *items = &v;
    int n = 1;
    if (repl_is_seq(v)) {
        items = v->as.seq.items;
        n = v->as.seq.n;
    }
    if (n > MAX_FN_VARS)
        return repl_fail(s, pos, "too many names (at most %d)", MAX_FN_VARS), -1;
    for (int i = 0; i < n; i++) {
        if (items[i]->kind != V_STR)
            return repl_fail(s, pos, "optimizer names must be strings, not %s",
                             repl_a_kind(items[i])),
                   -1;
        names[i] = items[i]->as.str.s;
    }
    return n;
}

static repl_value *build(repl_session *s, const repl_args *a, fn_parts *p)
{
    static const char *const params[] = {"inputs",
                                         "outputs",
                                         "updates",
                                         "givens",
                                         "mode",
                                         "name",
                                         "on_unused_input",
                                         "allow_input_downcast",
                                         "no_default_updates",
                                         "profile",
                                         "accept_inplace",
                                         "rebuild_strict",
                                         "optimizer_excluding",
                                         "optimizer_including"};
    enum { NP = sizeof params / sizeof *params };
    repl_value *v[NP];
    size_t at[NP];
    if (!repl_bind(s, a, params, NP, 1, v, at))
        return NULL;
    bool listed, unused;
    int nin = to_var_list(s, v[0], at[0], p->inputs, false, "function inputs", &unused);
    if (nin < 0)
        return NULL;
    /* no outputs (None or []) is a function run for its updates: it returns [] */
    int nout = 0;
    listed = true;
    if (v[1] && v[1]->kind != V_NONE)
        nout = to_var_list(s, v[1], at[1], p->outputs, true, "function outputs", &listed);
    if (nout < 0)
        return NULL;
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.nupdates = v[2] ? to_pairs(s, v[2], at[2], p->upd_var, p->upd_new, "updates") : 0;
    o.ngivens = v[3] ? to_pairs(s, v[3], at[3], p->giv_var, p->giv_new, "givens") : 0;
    if (o.nupdates < 0 || o.ngivens < 0)
        return NULL;
    for (int i = 0; i < o.nupdates; i++)
        p->updates[i] = (tj_update){p->upd_var[i], p->upd_new[i]};
    for (int i = 0; i < o.ngivens; i++)
        p->givens[i] = (tj_given){p->giv_var[i], p->giv_new[i]};
    o.updates = o.nupdates ? p->updates : NULL;
    o.givens = o.ngivens ? p->givens : NULL;
    if (v[4] && !read_mode(s, v[4], at[4], &o.mode))
        return NULL;
    if (s->cfg.no_jit && o.mode != TJ_MODE_FAST_COMPILE)
        o.mode = TJ_MODE_FAST_COMPILE;
    if (v[5] && v[5]->kind != V_NONE) {
        if (v[5]->kind != V_STR)
            return repl_fail(s, at[5], "name must be a string");
        o.name = v[5]->as.str.s;
    }
    static const char *const unused_choices[] = {"raise", "warn", "ignore"};
    int choice = (int)o.on_unused_input;
    if (v[6] && !read_choice(s, v[6], at[6], "on_unused_input", unused_choices, 3, &choice))
        return NULL;
    o.on_unused_input = (tj_unused_input)choice;
    if (v[7] && v[7]->kind != V_NONE) {
        bool down;
        if (!repl_to_bool(s, v[7], at[7], &down))
            return NULL;
        o.allow_input_downcast = down;
    }
    if (!read_flag(s, v[8], at[8], &o.no_default_updates) ||
        !read_flag(s, v[9], at[9], &o.profile) || !read_flag(s, v[10], at[10], &o.accept_inplace) ||
        !read_flag(s, v[11], at[11], &o.rebuild_strict))
        return NULL;

    /* optimizer_excluding=['fusion'], optimizer_including=[...]: pass and rule names */
    o.noptimizer_excluding = v[12] ? to_names(s, v[12], at[12], p->excluding) : 0;
    o.noptimizer_including = v[13] ? to_names(s, v[13], at[13], p->including) : 0;
    if (o.noptimizer_excluding < 0 || o.noptimizer_including < 0)
        return NULL;
    o.optimizer_excluding = o.noptimizer_excluding ? p->excluding : NULL;
    o.optimizer_including = o.noptimizer_including ? p->including : NULL;

    tj_fn *fn = tj_function(s->ctx, p->inputs, nin, p->outputs, nout, &o);
    if (!fn)
        return repl_fail_lib(s, a->pos, "function");
    tj_var **inputs = nin ? malloc((size_t)nin * sizeof *inputs) : NULL;
    char *name = o.name ? strdup(o.name) : NULL;
    repl_value *r = NULL;
    if ((!nin || inputs) && (!o.name || name)) {
        if (nin)
            memcpy(inputs, p->inputs, (size_t)nin * sizeof *inputs);
        r = repl_new_fn(&(repl_function){fn, inputs, nin, nout, listed, name});
    }
    if (!r) {
        tj_fn_free(fn);
        free(inputs);
        free(name);
        return repl_oom(s, a->pos);
    }
    return r;
}

repl_value *repl_function_build(repl_session *s, const repl_args *a)
{
    fn_parts *p = malloc(sizeof *p); /* about 100 KB: not for the stack */
    if (!p)
        return repl_oom(s, a->pos);
    repl_value *r = build(s, a, p);
    free(p);
    return r;
}

/* A Python value for an input of dtype: numbers and lists are converted; a float that an integer
 * input would truncate is refused, as Theano refuses a downcast. */
static tj_array *input_array(repl_session *s, tj_var *input, repl_value *v, size_t pos)
{
    tj_dtype d = tj_var_dtype(input);
    const char *name = tj_var_name(input);
    if (v->kind == V_VAR)
        return repl_fail(s, pos, "input '%s' needs a value, not a symbolic variable",
                         name ? name : "?");
    if (v->kind == V_FLOAT && d != TJ_FLOAT32 && d != TJ_FLOAT64 && v->as.f != floor(v->as.f))
        return repl_fail(s, pos, "input '%s' is %s: %g would be truncated", name ? name : "?",
                         tj_dtype_name(d), v->as.f);
    return repl_to_array(s, v, v->kind == V_ARRAY ? -1 : (int)d, pos);
}

bool repl_function_args(repl_session *s, const repl_function *f, const repl_args *a,
                        tj_array **arrays)
{
    if (a->nkw > 0)
        return repl_fail(s, a->kwpos[0],
                         "keyword arguments to compiled functions are not supported"),
               false;
    if (a->nargs != f->nin)
        return repl_fail(s, a->pos, "%s takes %d input%s, %d given",
                         f->name ? f->name : "the function", f->nin, f->nin == 1 ? "" : "s",
                         a->nargs),
               false;
    for (int i = 0; i < f->nin; i++) {
        if (!(arrays[i] = input_array(s, f->inputs[i], a->args[i], a->argpos[i]))) {
            while (i-- > 0)
                tj_array_unref(arrays[i]);
            return false;
        }
    }
    return true;
}

repl_value *repl_function_outputs(repl_session *s, const repl_function *f, tj_array **outs)
{
    if (!f->listed) {
        repl_value *r = repl_new_array(outs[0]);
        return r ? r : repl_oom(s, 0);
    }
    repl_value *list = repl_new_seq(V_LIST, f->nout);
    if (!list) {
        for (int i = 0; i < f->nout; i++)
            tj_array_unref(outs[i]);
        return repl_oom(s, 0);
    }
    bool ok = true;
    for (int i = 0; i < f->nout; i++)
        ok &= (list->as.seq.items[i] = repl_new_array(outs[i])) != NULL;
    repl_seq_done(list);
    if (!ok) {
        repl_unref(list);
        return repl_oom(s, 0);
    }
    return list;
}

repl_value *repl_function_call(repl_session *s, repl_value *fv, const repl_args *a)
{
    const repl_function *f = &fv->as.fn;
    tj_array **ins = calloc((size_t)f->nin + 1, sizeof *ins);
    tj_array **outs = calloc((size_t)f->nout + 1, sizeof *outs);
    repl_value *r = NULL;
    if (!ins || !outs) {
        repl_oom(s, a->pos);
    } else if (repl_function_args(s, f, a, ins)) {
        if (tj_call_n(f->fn, ins, f->nin, outs, f->nout) != TJ_OK) {
            char what[96];
            snprintf(what, sizeof what, "calling %s", f->name ? f->name : "the function");
            repl_fail_lib(s, a->pos, what);
        } else {
            r = repl_function_outputs(s, f, outs);
        }
        for (int i = 0; i < f->nin; i++)
            tj_array_unref(ins[i]);
    }
    free(ins);
    free(outs);
    return r;
}

repl_value *repl_var_eval(repl_session *s, repl_value *var, repl_value *inputs, size_t pos)
{
    if (!inputs || inputs->kind == V_NONE) {
        tj_array *a = repl_compute(s, var->as.var.v, pos);
        repl_value *r = a ? repl_new_array(a) : NULL;
        return r || !a ? r : repl_oom(s, pos);
    }
    if (inputs->kind != V_DICT)
        return repl_fail(s, pos, "eval takes a dict {variable: value}, not %s",
                         repl_a_kind(inputs));
    int n = inputs->as.seq.n / 2;
    if (n > MAX_FN_VARS)
        return repl_fail(s, pos, "too many inputs (at most %d)", MAX_FN_VARS);
    tj_var **vars = calloc((size_t)n + 1, sizeof *vars);
    tj_array **arrays = calloc((size_t)n + 1, sizeof *arrays);
    repl_value *r = NULL;
    tj_fn *fn = NULL;
    int made = 0;
    if (!vars || !arrays) {
        repl_oom(s, pos);
        goto done;
    }
    for (; made < n; made++) {
        repl_value *k = inputs->as.seq.items[2 * made];
        if (k->kind != V_VAR) {
            repl_fail(s, pos, "eval's dict keys must be variables, not %s", repl_a_kind(k));
            goto done;
        }
        vars[made] = k->as.var.v;
        if (!(arrays[made] = input_array(s, vars[made], inputs->as.seq.items[2 * made + 1], pos)))
            goto done;
    }
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = TJ_MODE_FAST_COMPILE;
    o.on_unused_input = TJ_UNUSED_IGNORE;
    fn = tj_function(s->ctx, vars, n, &var->as.var.v, 1, &o);
    if (!fn) {
        repl_fail_lib(s, pos, "eval");
        goto done;
    }
    tj_array *out = NULL;
    if (tj_call_n(fn, arrays, n, &out, 1) != TJ_OK) {
        repl_fail_lib(s, pos, "eval");
        goto done;
    }
    if (!(r = repl_new_array(out)))
        repl_oom(s, pos);
done:
    tj_fn_free(fn);
    for (int i = 0; i < made; i++)
        tj_array_unref(arrays[i]);
    free(vars);
    free(arrays);
    return r;
}
