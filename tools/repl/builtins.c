/* Builtin functions other than ops: shared, function, grad, array helpers (zeros, ones, arange,
 * array, rand, randn, seed), print, len, help, quit; the modules (theano, T, np ...) and dtype
 * names. Lookup order for a free name: the session's names, then these, the ops table and the
 * constructor families. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef repl_value *(*builtin_fn)(repl_session *s, const repl_args *a, int payload);

struct repl_builtin {
    const char *name;
    builtin_fn fn;
    const char *help;
};

/* ---- shared, grad ---- */

static repl_value *b_shared(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"value", "name", "borrow", "strict", "allow_downcast"};
    repl_value *v[5];
    size_t at[5];
    if (!repl_bind(s, a, params, 5, 1, v, at))
        return NULL;
    if (v[1] && v[1]->kind != V_NONE && v[1]->kind != V_STR)
        return repl_fail(s, at[1], "name must be a string");
    bool borrow = false;
    if (v[2] && !repl_to_bool(s, v[2], at[2], &borrow))
        return NULL;
    if (v[0]->kind == V_VAR)
        return repl_fail(s, at[0], "shared needs a value, not a symbolic variable");
    tj_array *arr = repl_to_array(s, v[0], -1, at[0]);
    if (!arr)
        return NULL;
    tj_var *var =
        tj_shared(s->ctx, arr, v[1] && v[1]->kind == V_STR ? v[1]->as.str.s : NULL, borrow);
    tj_array_unref(arr);
    if (!var)
        return repl_fail_lib(s, a->pos, "shared");
    repl_value *r = repl_new_var(var, true);
    return r ? r : repl_oom(s, a->pos);
}

static repl_value *b_grad(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"cost", "wrt", "consider_constant", "disconnected_inputs"};
    repl_value *v[4];
    size_t at[4];
    if (!repl_bind(s, a, params, 4, 2, v, at))
        return NULL;
    if (v[0]->kind != V_VAR)
        return repl_fail(s, at[0], "grad's cost must be a symbolic variable, not %s",
                         repl_a_kind(v[0]));
    repl_value *const *wrt = &v[1];
    int nwrt = 1;
    bool listed = repl_is_seq(v[1]);
    if (listed) {
        wrt = v[1]->as.seq.items;
        nwrt = v[1]->as.seq.n;
    }
    repl_value *const *cc = NULL;
    int ncc = 0;
    if (v[2] && v[2]->kind != V_NONE) {
        if (!repl_is_seq(v[2]))
            return repl_fail(s, at[2], "consider_constant must be a list of variables");
        cc = v[2]->as.seq.items;
        ncc = v[2]->as.seq.n;
    }
    tj_grad_opts o = TJ_GRAD_OPTS_INIT;
    if (v[3] && v[3]->kind != V_NONE) {
        const char *d = v[3]->kind == V_STR ? v[3]->as.str.s : "";
        if (!strcmp(d, "raise"))
            o.disconnected_inputs = TJ_DISCONNECTED_RAISE;
        else if (!strcmp(d, "warn"))
            o.disconnected_inputs = TJ_DISCONNECTED_WARN;
        else if (!strcmp(d, "ignore"))
            o.disconnected_inputs = TJ_DISCONNECTED_IGNORE;
        else
            return repl_fail(s, at[3], "disconnected_inputs must be 'raise', 'warn' or 'ignore'");
    }
    tj_var **vars = calloc((size_t)(nwrt + ncc) * 2 + 1, sizeof *vars);
    if (!vars)
        return repl_oom(s, a->pos);
    tj_var **wrt_vars = vars, **grads = vars + nwrt, **consts = vars + 2 * nwrt;
    repl_value *r = NULL;
    for (int i = 0; i < nwrt; i++) {
        if (wrt[i]->kind != V_VAR) {
            repl_fail(s, at[1], "grad's wrt must be variables; item %d is %s", i,
                      repl_a_kind(wrt[i]));
            goto done;
        }
        wrt_vars[i] = wrt[i]->as.var.v;
    }
    for (int i = 0; i < ncc; i++) {
        if (cc[i]->kind != V_VAR) {
            repl_fail(s, at[2], "consider_constant must hold variables; item %d is %s", i,
                      repl_a_kind(cc[i]));
            goto done;
        }
        consts[i] = cc[i]->as.var.v;
    }
    o.consider_constant = consts;
    o.nconsider_constant = ncc;
    if (tj_grad_v2(v[0]->as.var.v, wrt_vars, nwrt, grads, &o) != TJ_OK) {
        repl_fail_lib(s, a->pos, "grad");
        goto done;
    }
    if (!listed) {
        r = repl_new_var(grads[0], false);
    } else if ((r = repl_new_seq(V_LIST, nwrt))) {
        bool ok = true;
        for (int i = 0; i < nwrt; i++)
            ok &= (r->as.seq.items[i] = repl_new_var(grads[i], false)) != NULL;
        repl_seq_done(r);
        if (!ok) {
            repl_unref(r);
            r = NULL;
        }
    }
    if (!r)
        repl_oom(s, a->pos);
done:
    free(vars);
    return r;
}

static repl_value *b_function(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_function_build(s, a);
}

static repl_value *b_constant(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"x", "name", "dtype"};
    repl_value *v[3];
    size_t at[3];
    if (!repl_bind(s, a, params, 3, 1, v, at))
        return NULL;
    tj_dtype d;
    if (v[2] && !repl_to_dtype(s, v[2], at[2], &d))
        return NULL;
    tj_array *arr = repl_to_array(s, v[0], v[2] ? (int)d : -1, at[0]);
    if (!arr)
        return NULL;
    tj_var *c = tj_constant(s->ctx, arr);
    tj_array_unref(arr);
    if (!c)
        return repl_fail_lib(s, a->pos, "constant");
    if (v[1] && v[1]->kind == V_STR)
        tj_var_set_name(c, v[1]->as.str.s);
    repl_value *r = repl_new_var(c, false);
    return r ? r : repl_oom(s, a->pos);
}

/* ---- array helpers ---- */

static repl_value *array_value(repl_session *s, tj_array *arr, size_t pos)
{
    if (!arr)
        return NULL;
    repl_value *r = repl_new_array(arr);
    return r ? r : repl_oom(s, pos);
}

/* zeros(shape, dtype='float64') and ones(...): payload is the fill value. */
static repl_value *b_filled(repl_session *s, const repl_args *a, int payload)
{
    static const char *const params[] = {"shape", "dtype"};
    repl_value *v[2];
    size_t at[2];
    if (!repl_bind(s, a, params, 2, 1, v, at))
        return NULL;
    tj_dtype d = TJ_FLOAT64;
    if (v[1] && !repl_to_dtype(s, v[1], at[1], &d))
        return NULL;
    int64_t shape[TJ_MAX_NDIM];
    int nd;
    if (!repl_to_shape(s, &v[0], 1, &at[0], shape, &nd))
        return NULL;
    tj_array *arr = tj_array_new(d, nd, shape);
    if (!arr)
        return repl_fail_lib(s, a->pos, a->fname);
    if (payload) {
        int64_t n = tj_array_size(arr), index[TJ_MAX_NDIM] = {0};
        for (int64_t k = 0; k < n; k++) {
            tj_array_set(arr, nd ? index : NULL, payload);
            for (int dd = nd - 1; dd >= 0; dd--) {
                if (++index[dd] < shape[dd])
                    break;
                index[dd] = 0;
            }
        }
    }
    return array_value(s, arr, a->pos);
}

/* arange([start,] stop[, step], dtype=None): int64 when every bound is an integer. */
static repl_value *b_arange(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"start", "stop", "step", "dtype"};
    repl_value *v[4];
    size_t at[4];
    if (!repl_bind(s, a, params, 4, 1, v, at))
        return NULL;
    repl_value *start = v[0], *stop = v[1], *step = v[2];
    if (!stop || stop->kind == V_NONE) {
        stop = start;
        start = NULL;
    }
    bool ints = true;
    repl_value *bounds[3] = {start, stop, step};
    for (int i = 0; i < 3; i++) {
        if (bounds[i] && bounds[i]->kind == V_VAR) {
            tj_dtype sd = TJ_INT64;
            bool any_float = false;
            for (int k = 0; k < 3; k++) {
                const repl_value *bk = bounds[k];
                tj_dtype kd = bk && bk->kind == V_VAR ? tj_var_dtype(bk->as.var.v) : TJ_INT64;
                any_float |= (bk && bk->kind == V_FLOAT) || kd == TJ_FLOAT32 || kd == TJ_FLOAT64;
            }
            if (any_float)
                sd = TJ_FLOAT64;
            if (v[3] && !repl_to_dtype(s, v[3], at[3], &sd))
                return NULL;
            return repl_symbolic_arange(s, start, stop, step, sd, a->pos);
        }
    }
    double b[3] = {0, 0, 1};
    for (int i = 0; i < 3; i++) {
        if (!bounds[i] || bounds[i]->kind == V_NONE)
            continue;
        if (!repl_is_number(bounds[i]))
            return repl_fail(s, at[i], "arange needs numbers, not %s", repl_a_kind(bounds[i]));
        ints &= bounds[i]->kind != V_FLOAT;
        b[i] = repl_number(bounds[i]);
    }
    if (b[2] == 0 || !isfinite(b[0]) || !isfinite(b[1]) || !isfinite(b[2]))
        return repl_fail(s, a->pos, "arange needs finite bounds and a step other than 0");
    double count = ceil((b[1] - b[0]) / b[2]);
    if (count < 0)
        count = 0;
    if (count > (double)s->cfg.max_elements)
        return repl_fail(s, a->pos, "array too large (more than %lld elements)",
                         (long long)s->cfg.max_elements);
    tj_dtype d = ints ? TJ_INT64 : TJ_FLOAT64;
    if (v[3] && !repl_to_dtype(s, v[3], at[3], &d))
        return NULL;
    int64_t n = (int64_t)count;
    tj_array *arr = tj_array_new(d, 1, &n);
    if (!arr)
        return repl_fail_lib(s, a->pos, "arange");
    for (int64_t i = 0; i < n; i++)
        tj_array_set(arr, &i, b[0] + (double)i * b[2]);
    return array_value(s, arr, a->pos);
}

static repl_value *b_array(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"object", "dtype"};
    repl_value *v[2];
    size_t at[2];
    if (!repl_bind(s, a, params, 2, 1, v, at))
        return NULL;
    tj_dtype d;
    if (v[1] && v[1]->kind != V_NONE && !repl_to_dtype(s, v[1], at[1], &d))
        return NULL;
    return array_value(s, repl_to_array(s, v[0], v[1] && v[1]->kind != V_NONE ? (int)d : -1, at[0]),
                       a->pos);
}

/* splitmix64: the same fixed-seed stream on every machine, so scripts print the same numbers */
static double uniform01(repl_session *s)
{
    uint64_t z = (s->rng += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

/* rand(d0, d1, ...) uniform in [0, 1); randn(...) standard normal (Box-Muller). payload 1 = normal
 */
static repl_value *b_random(repl_session *s, const repl_args *a, int payload)
{
    if (a->nkw)
        return repl_fail(s, a->kwpos[0], "%s takes dimensions only", a->fname);
    int64_t shape[TJ_MAX_NDIM];
    int nd;
    if (!repl_to_shape(s, a->args, a->nargs, a->argpos, shape, &nd))
        return NULL;
    tj_array *arr = tj_array_new(TJ_FLOAT64, nd, shape);
    if (!arr)
        return repl_fail_lib(s, a->pos, a->fname);
    double *data = tj_array_data(arr);
    int64_t n = tj_array_size(arr);
    for (int64_t i = 0; i < n; i++)
        data[i] = payload ? sqrt(-2.0 * log(uniform01(s))) * cos(6.283185307179586 * uniform01(s))
                          : uniform01(s);
    return array_value(s, arr, a->pos);
}

static repl_value *none(repl_session *s, size_t pos)
{
    repl_value *r = repl_new_none();
    return r ? r : repl_oom(s, pos);
}

static repl_value *b_seed(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"seed"};
    repl_value *v[1];
    size_t at[1];
    int64_t seed;
    if (!repl_bind(s, a, params, 1, 1, v, at) || !repl_to_int(s, v[0], at[0], &seed))
        return NULL;
    s->rng = (uint64_t)seed;
    return none(s, a->pos);
}

static repl_value *b_take(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_b_take(s, a);
}
static repl_value *b_join(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_b_join(s, a);
}
static repl_value *b_split(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_b_split(s, a);
}
static repl_value *b_alloc(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_b_alloc(s, a);
}
static repl_value *b_jacobian(repl_session *s, const repl_args *a, int payload)
{
    return repl_b_jacobian(s, a, payload == 1);
}

static repl_value *b_streams(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    return repl_random_streams(s, a);
}

/* ---- Python's own ---- */

static repl_value *b_print(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    if (a->nkw)
        return repl_fail(s, a->kwpos[0], "print takes no keyword arguments here");
    repl_buf b = {0};
    for (int i = 0; i < a->nargs; i++) {
        if (i)
            repl_buf_puts(&b, " ");
        repl_str(&b, a->args[i]);
    }
    repl_buf_puts(&b, "\n");
    fwrite(repl_buf_str(&b), 1, b.len, s->cfg.out);
    repl_buf_free(&b);
    return none(s, a->pos);
}

static repl_value *b_len(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    static const char *const params[] = {"obj"};
    repl_value *v[1];
    size_t at[1];
    if (!repl_bind(s, a, params, 1, 1, v, at))
        return NULL;
    int64_t n;
    if (repl_is_seq(v[0]))
        n = v[0]->as.seq.n;
    else if (v[0]->kind == V_DICT)
        n = v[0]->as.seq.n / 2;
    else if (v[0]->kind == V_STR)
        n = (int64_t)v[0]->as.str.len;
    else if (v[0]->kind == V_ARRAY && tj_array_ndim(v[0]->as.array) > 0)
        n = tj_array_shape(v[0]->as.array)[0];
    else
        return repl_fail(s, at[0], "%s has no len()", repl_a_kind(v[0]));
    repl_value *r = repl_new_int(n);
    return r ? r : repl_oom(s, a->pos);
}

static repl_value *b_quit(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    s->quit = true;
    return none(s, a->pos);
}

static repl_value *b_help(repl_session *s, const repl_args *a, int payload)
{
    (void)payload;
    const char *topic = NULL;
    if (a->nargs > 0) {
        const repl_value *v = a->args[0];
        topic = v->kind == V_STR                          ? v->as.str.s
                : v->kind == V_BUILTIN || v->kind == V_OP ? v->as.callable.name
                                                          : NULL;
        if (!topic)
            return repl_fail(s, a->argpos[0], "help takes a name or a builtin");
    }
    repl_print_help(s, topic);
    return none(s, a->pos);
}

static const repl_builtin builtin_table[] = {
    {"function", b_function,
     "function(inputs, outputs, updates=[(w, expr)], givens=[(x, expr)], "
     "mode='FAST_RUN', name=None, on_unused_input='raise', "
     "allow_input_downcast=None, profile=False, optimizer_excluding=None, "
     "optimizer_including=None): compile a function"},
    {"shared", b_shared, "shared(value, name=None, borrow=False): a shared variable"},
    {"grad", b_grad,
     "grad(cost, wrt, consider_constant=None, disconnected_inputs='raise'): "
     "d cost / d wrt (wrt a variable or a list of them)"},
    {"constant", b_constant, "constant(x, name=None, dtype=None): a constant variable"},
    {"zeros", b_filled, "zeros(shape, dtype='float64'): an array of zeros"},
    {"ones", b_filled, "ones(shape, dtype='float64'): an array of ones"},
    {"arange", b_arange, "arange([start,] stop[, step], dtype=None): evenly spaced values"},
    {"array", b_array, "array(object, dtype=None): an array from numbers and nested lists"},
    {"asarray", b_array, "asarray(object, dtype=None): as array"},
    {"rand", b_random,
     "rand(d0, d1, ...): uniform [0, 1) float64 from the REPL's fixed-seed stream"},
    {"randn", b_random, "randn(d0, d1, ...): standard normal float64 from the fixed-seed stream"},
    {"seed", b_seed, "seed(n): restart the rand/randn stream"},
    {"RandomStreams", b_streams,
     "RandomStreams(seed=0): a random state; .uniform(size, low, high), "
     ".normal(size, avg, std), .binomial(size, n, p) draw from it"},
    {"take", b_take, "take(x, indices, axis=0): numpy.take (integer-array indexing)"},
    {"join", b_join, "join(axis, *tensors): Theano's concatenate"},
    {"split", b_split, "split(x, splits_size, n_splits, axis=0): a list of parts"},
    {"alloc", b_alloc, "alloc(value, *shape): value broadcast into a new tensor"},
    {"jacobian", b_jacobian,
     "jacobian(expression, wrt, n): d expression / d wrt for a vector "
     "expression of length n"},
    {"hessian", b_jacobian,
     "hessian(cost, wrt, n): second derivatives for a vector wrt of length n"},
    {"print", b_print, "print(*values): prints values separated by spaces"},
    {"len", b_len, "len(x): length of a list, tuple, string or an array's first axis"},
    {"help", b_help, "help(name): what a builtin does"},
    {"quit", b_quit, "quit(): leave the REPL"},
    {"exit", b_quit, "exit(): leave the REPL"},
};
enum { NBUILTINS = sizeof builtin_table / sizeof *builtin_table };

/* fill values of zeros/ones, the normal flag of randn, the second-derivative flag of hessian */
static int payload_of(const repl_builtin *b)
{
    return !strcmp(b->name, "ones") || !strcmp(b->name, "randn") || !strcmp(b->name, "hessian");
}

static const repl_builtin ctor_entry = {"<constructor>", NULL, NULL};
static const repl_builtin module_entry = {"<module>", NULL, NULL};

static const char *const module_names[] = {"theano", "T",    "tensor", "tt",    "np",
                                           "numpy",  "nnet", "random", "config"};

repl_value *repl_builtin_lookup(const char *name)
{
    for (int i = 0; i < NBUILTINS; i++)
        if (!strcmp(builtin_table[i].name, name))
            return repl_new_callable(V_BUILTIN, &builtin_table[i], payload_of(&builtin_table[i]),
                                     name);
    const repl_op *op = repl_op_find(name);
    if (op)
        return repl_new_callable(V_OP, op, 0, name);
    int payload;
    if (repl_ctor_parse(name, &payload))
        return repl_new_callable(V_BUILTIN, &ctor_entry, payload, name);
    for (size_t i = 0; i < sizeof module_names / sizeof *module_names; i++)
        if (!strcmp(module_names[i], name))
            return repl_new_callable(V_MODULE, &module_entry, 0, name);
    tj_dtype d;
    if (repl_parse_dtype(name, &d))
        return repl_new_str(tj_dtype_name(d), strlen(tj_dtype_name(d)));
    return NULL;
}

repl_value *repl_builtin_call(repl_session *s, const repl_value *callee, const repl_args *a)
{
    const repl_builtin *b = callee->as.callable.entry;
    if (b == &ctor_entry)
        return repl_ctor_call(s, callee->as.callable.payload, a);
    return b->fn(s, a, callee->as.callable.payload);
}

void repl_builtin_each(void (*fn)(void *arg, const char *name), void *arg)
{
    for (int i = 0; i < NBUILTINS; i++)
        fn(arg, builtin_table[i].name);
    for (size_t i = 0; i < sizeof module_names / sizeof *module_names; i++)
        fn(arg, module_names[i]);
}

bool repl_builtin_help(repl_buf *b, const char *name)
{
    for (int i = 0; i < NBUILTINS; i++) {
        if (!strcmp(builtin_table[i].name, name)) {
            repl_buf_puts(b, builtin_table[i].help);
            return true;
        }
    }
    const repl_op *op = repl_op_find(name);
    if (op) {
        repl_op_help(b, op);
        return true;
    }
    int payload;
    if (repl_ctor_parse(name, &payload)) {
        repl_buf_printf(b, "%s(%s): a symbolic %s variable", name,
                        payload & 1 ? "*names or count" : "name=None",
                        tj_dtype_name((tj_dtype)(payload / 64)));
        return true;
    }
    return false;
}
