/* The evaluator: expressions to values, statements to assignments and printed results.
 * Python numbers keep Python's arithmetic; as soon as a tensor (symbolic or concrete) takes part,
 * operators become tensorjit ops through the bindings table. Recursion follows the syntax tree,
 * whose height the parser bounds. */
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- operators ---- */

typedef struct {
    repl_tok_kind tok;
    const char *op;    /* the bindings-table name */
    const char *sym;   /* as typed */
    const char *needs; /* the C function, for "not supported yet" */
} operator_binding;

static const operator_binding binary_operators[] = {
    {TK_PLUS, "add", "+", "tj_add"},
    {TK_MINUS, "sub", "-", "tj_sub"},
    {TK_STAR, "mul", "*", "tj_mul"},
    {TK_SLASH, "true_div", "/", "tj_div"},
    {TK_DSLASH, "int_div", "//", "tj_int_div"},
    {TK_PERCENT, "mod", "%", "tj_mod"},
    {TK_DSTAR, "pow", "**", "tj_pow"},
    {TK_AT, "matmul", "@", "tj_matmul"},
    {TK_AMP, "and_", "&", "tj_and"},
    {TK_PIPE, "or_", "|", "tj_or"},
    {TK_CARET, "xor", "^", "tj_xor"},
    {TK_LT, "lt", "<", "tj_lt"},
    {TK_GT, "gt", ">", "tj_gt"},
    {TK_LE, "le", "<=", "tj_le"},
    {TK_GE, "ge", ">=", "tj_ge"},
    {TK_EQ, "eq", "==", "tj_eq"},
    {TK_NE, "neq", "!=", "tj_neq"},
};

static const operator_binding *find_operator(repl_tok_kind tok)
{
    for (size_t i = 0; i < sizeof binary_operators / sizeof *binary_operators; i++)
        if (binary_operators[i].tok == tok)
            return &binary_operators[i];
    return NULL;
}

static bool is_tensor(const repl_value *v) { return v->kind == V_VAR || v->kind == V_ARRAY; }

static repl_value *int_result(repl_session *s, bool overflow, int64_t r, size_t pos)
{
    if (overflow)
        return repl_fail(s, pos, "integer overflow (the REPL's integers are 64-bit)");
    repl_value *v = repl_new_int(r);
    return v ? v : repl_oom(s, pos);
}

static repl_value *new_float(repl_session *s, double f, size_t pos)
{
    repl_value *v = repl_new_float(f);
    return v ? v : repl_oom(s, pos);
}

static repl_value *new_bool(repl_session *s, bool b, size_t pos)
{
    repl_value *v = repl_new_bool(b);
    return v ? v : repl_oom(s, pos);
}

static repl_value *int_power(repl_session *s, int64_t base, int64_t exp, size_t pos)
{
    int64_t r = 1;
    bool overflow = false;
    while (exp > 0 && !overflow) {
        if (exp & 1)
            overflow |= __builtin_mul_overflow(r, base, &r);
        exp >>= 1;
        if (exp)
            overflow |= __builtin_mul_overflow(base, base, &base);
    }
    return int_result(s, overflow, r, pos);
}

/* Python's arithmetic on bool/int/float. */
static repl_value *number_binop(repl_session *s, repl_tok_kind op, const repl_value *a,
                                const repl_value *b, size_t pos)
{
    bool ints = a->kind != V_FLOAT && b->kind != V_FLOAT;
    int64_t x = ints ? (a->kind == V_INT ? a->as.i : a->as.b) : 0;
    int64_t y = ints ? (b->kind == V_INT ? b->as.i : b->as.b) : 0;
    double fx = repl_number(a), fy = repl_number(b);
    int64_t r = 0;
    switch (op) {
    case TK_PLUS:
    case TK_MINUS:
    case TK_STAR: {
        if (!ints)
            return new_float(s, op == TK_PLUS ? fx + fy : op == TK_MINUS ? fx - fy : fx * fy, pos);
        bool overflow = op == TK_PLUS    ? __builtin_add_overflow(x, y, &r)
                        : op == TK_MINUS ? __builtin_sub_overflow(x, y, &r)
                                         : __builtin_mul_overflow(x, y, &r);
        return int_result(s, overflow, r, pos);
    }
    case TK_SLASH:
        if (fy == 0)
            return repl_fail(s, pos, "division by zero");
        return new_float(s, fx / fy, pos);
    case TK_DSLASH:
    case TK_PERCENT:
        if (fy == 0)
            return repl_fail(s, pos, "%s by zero", op == TK_DSLASH ? "integer division" : "modulo");
        if (ints) {
            if (x == INT64_MIN && y == -1)
                return int_result(s, op == TK_DSLASH, 0, pos);
            int64_t q = x / y, m = x % y;
            if (m != 0 && ((m < 0) != (y < 0))) { /* Python floors toward negative infinity */
                q -= 1;
                m += y;
            }
            return int_result(s, false, op == TK_DSLASH ? q : m, pos);
        } else {
            double m = fmod(fx, fy);
            if (m != 0 && ((m < 0) != (fy < 0)))
                m += fy;
            return new_float(s, op == TK_DSLASH ? floor(fx / fy) : m, pos);
        }
    case TK_DSTAR:
        if (ints && y >= 0)
            return int_power(s, x, y, pos);
        if (fx == 0 && fy < 0)
            return repl_fail(s, pos, "zero to a negative power");
        if (fx < 0 && fy != floor(fy))
            return repl_fail(s, pos, "a negative number to a fractional power is complex");
        return new_float(s, pow(fx, fy), pos);
    case TK_LT: return new_bool(s, fx < fy, pos);
    case TK_GT: return new_bool(s, fx > fy, pos);
    case TK_LE: return new_bool(s, fx <= fy, pos);
    case TK_GE: return new_bool(s, fx >= fy, pos);
    case TK_EQ: return new_bool(s, ints ? x == y : fx == fy, pos);
    case TK_NE: return new_bool(s, ints ? x != y : fx != fy, pos);
    case TK_AMP:
    case TK_PIPE:
    case TK_CARET:
        if (!ints)
            break;
        r = op == TK_AMP ? (x & y) : op == TK_PIPE ? (x | y) : (x ^ y);
        if (a->kind == V_BOOL && b->kind == V_BOOL)
            return new_bool(s, r != 0, pos);
        return int_result(s, false, r, pos);
    default: break;
    }
    return repl_fail(s, pos, "unsupported operand types for %s: %s and %s", find_operator(op)->sym,
                     repl_kind_name(a), repl_kind_name(b));
}

static repl_value *concat(repl_session *s, const repl_value *a, const repl_value *b, size_t pos)
{
    if (a->kind == V_STR) {
        size_t n = a->as.str.len + b->as.str.len;
        char *t = malloc(n + 1);
        if (!t)
            return repl_oom(s, pos);
        memcpy(t, a->as.str.s, a->as.str.len);
        memcpy(t + a->as.str.len, b->as.str.s, b->as.str.len);
        repl_value *v = repl_new_str(t, n);
        free(t);
        return v ? v : repl_oom(s, pos);
    }
    if ((int64_t)a->as.seq.n + b->as.seq.n > (1 << 28))
        return repl_fail(s, pos, "list too long");
    repl_value *v = repl_new_seq(a->kind, a->as.seq.n + b->as.seq.n);
    if (!v)
        return repl_oom(s, pos);
    for (int i = 0; i < a->as.seq.n; i++)
        v->as.seq.items[i] = repl_ref(a->as.seq.items[i]);
    for (int i = 0; i < b->as.seq.n; i++)
        v->as.seq.items[a->as.seq.n + i] = repl_ref(b->as.seq.items[i]);
    repl_seq_done(v);
    return v;
}

static repl_value *binop(repl_session *s, repl_tok_kind op, repl_value *a, repl_value *b,
                         size_t pos)
{
    const operator_binding *ob = find_operator(op);
    if (is_tensor(a) || is_tensor(b)) {
        char needs[80];
        snprintf(needs, sizeof needs, "the operator %s needs %s", ob->sym, ob->needs);
        repl_value *operands[2] = {a, b};
        return repl_apply_named(s, ob->op, needs, operands, 2, pos);
    }
    if (repl_is_number(a) && repl_is_number(b))
        return number_binop(s, op, a, b, pos);
    if (op == TK_PLUS && a->kind == b->kind && (a->kind == V_STR || repl_is_seq(a)))
        return concat(s, a, b, pos);
    if ((op == TK_EQ || op == TK_NE) && a->kind == V_STR && b->kind == V_STR) {
        bool eq =
            a->as.str.len == b->as.str.len && !memcmp(a->as.str.s, b->as.str.s, a->as.str.len);
        return new_bool(s, op == TK_EQ ? eq : !eq, pos);
    }
    if ((op == TK_EQ || op == TK_NE) && (a->kind == V_NONE || b->kind == V_NONE))
        return new_bool(s, (a->kind == b->kind) == (op == TK_EQ), pos);
    return repl_fail(s, pos, "unsupported operand types for %s: %s and %s", ob->sym,
                     repl_kind_name(a), repl_kind_name(b));
}

static repl_value *unop(repl_session *s, repl_tok_kind op, repl_value *a, size_t pos)
{
    if (op == TK_PLUS && (repl_is_number(a) || is_tensor(a)))
        return repl_ref(a);
    if (is_tensor(a)) {
        repl_value *operands[1] = {a};
        if (op == TK_MINUS)
            return repl_apply_named(s, "neg", "unary - needs tj_neg", operands, 1, pos);
        return repl_apply_named(s, "invert", "the operator ~ needs tj_not", operands, 1, pos);
    }
    if (a->kind == V_INT || a->kind == V_BOOL) {
        int64_t x = a->kind == V_INT ? a->as.i : a->as.b;
        if (op == TK_MINUS)
            return int_result(s, x == INT64_MIN, -x, pos);
        return int_result(s, false, ~x, pos);
    }
    if (a->kind == V_FLOAT && op == TK_MINUS)
        return new_float(s, -a->as.f, pos);
    return repl_fail(s, pos, "bad operand type for unary %s: %s",
                     op == TK_MINUS  ? "-"
                     : op == TK_PLUS ? "+"
                                     : "~",
                     repl_kind_name(a));
}

/* ---- calls ---- */

bool repl_bind(repl_session *s, const repl_args *a, const char *const *params, int nparams,
               int nrequired, repl_value **slots, size_t *slotpos)
{
    for (int i = 0; i < nparams; i++) {
        slots[i] = NULL;
        slotpos[i] = a->pos;
    }
    if (a->nargs > nparams)
        return repl_fail(s, a->argpos[nparams], "%s takes at most %d argument%s (%d given)",
                         a->fname, nparams, nparams == 1 ? "" : "s", a->nargs),
               false;
    for (int i = 0; i < a->nargs; i++) {
        slots[i] = a->args[i];
        slotpos[i] = a->argpos[i];
    }
    for (int k = 0; k < a->nkw; k++) {
        int i = 0;
        while (i < nparams && strcmp(params[i], a->kwnames[k]))
            i++;
        if (i == nparams)
            return repl_fail(s, a->kwpos[k], "%s got an unexpected keyword argument '%s'", a->fname,
                             a->kwnames[k]),
                   false;
        if (slots[i])
            return repl_fail(s, a->kwpos[k], "%s got multiple values for argument '%s'", a->fname,
                             params[i]),
                   false;
        slots[i] = a->kwargs[k];
        slotpos[i] = a->kwpos[k];
    }
    for (int i = 0; i < nrequired; i++)
        if (!slots[i])
            return repl_fail(s, a->pos, "%s is missing the argument '%s'", a->fname, params[i]),
                   false;
    return true;
}

repl_value *repl_call(repl_session *s, repl_value *callee, const repl_args *a)
{
    switch (callee->kind) {
    case V_BUILTIN: return repl_builtin_call(s, callee, a);
    case V_OP: return repl_op_call(s, callee->as.callable.entry, a);
    case V_FN: return repl_function_call(s, callee, a);
    case V_MODULE:
        /* theano.tensor is a module and, called, Theano's tensor(dtype, broadcastable, name) */
        if (!strcmp(callee->as.callable.name, "tensor"))
            return repl_b_tensor(s, a);
        return repl_fail(s, a->pos, "a module is not callable");
    default: return repl_fail(s, a->pos, "%s is not callable", repl_a_kind(callee));
    }
}

bool repl_eval_args(repl_session *s, const repl_node *call, repl_args *out)
{
    int n = call->nkids - 1;
    *out = (repl_args){.pos = call->pos};
    if (n == 0)
        return true;
    out->args = calloc((size_t)n, sizeof *out->args);
    out->argpos = calloc((size_t)n, sizeof *out->argpos);
    out->kwnames = calloc((size_t)n, sizeof *out->kwnames);
    out->kwargs = calloc((size_t)n, sizeof *out->kwargs);
    out->kwpos = calloc((size_t)n, sizeof *out->kwpos);
    if (!out->args || !out->argpos || !out->kwnames || !out->kwargs || !out->kwpos) {
        repl_oom(s, call->pos);
        return false;
    }
    for (int i = 1; i <= n; i++) {
        const repl_node *k = call->kids[i];
        repl_value *v = repl_eval(s, k);
        if (!v)
            return false;
        if (call->kwnames && call->kwnames[i]) {
            out->kwnames[out->nkw] = call->kwnames[i];
            out->kwpos[out->nkw] = k->pos;
            out->kwargs[out->nkw++] = v;
        } else {
            out->argpos[out->nargs] = k->pos;
            out->args[out->nargs++] = v;
        }
    }
    return true;
}

void repl_args_free(repl_args *a)
{
    for (int i = 0; i < a->nargs; i++)
        repl_unref(a->args[i]);
    for (int i = 0; i < a->nkw; i++)
        repl_unref(a->kwargs[i]);
    free(a->args);
    free(a->argpos);
    free(a->kwnames);
    free(a->kwargs);
    free(a->kwpos);
    *a = (repl_args){0};
}

static repl_value *eval_call(repl_session *s, const repl_node *n)
{
    const repl_node *callee = n->kids[0];
    repl_value *obj = NULL, *fn = NULL, *result = NULL;
    repl_args a;
    /* obj.method(...) is dispatched on the object, not through a bound-method value */
    if (callee->kind == N_ATTR) {
        if (!(obj = repl_eval(s, callee->kids[0])))
            return NULL;
        if (!repl_is_method(obj, callee->str) &&
            !(fn = repl_attribute(s, obj, callee->str, callee->pos)))
            goto done;
    } else if (!(fn = repl_eval(s, callee))) {
        return NULL;
    }
    if (repl_eval_args(s, n, &a)) {
        a.pos = callee->pos;
        if (fn) {
            a.fname = fn->kind == V_BUILTIN || fn->kind == V_OP ? fn->as.callable.name
                      : fn->kind == V_FN && fn->as.fn.name      ? fn->as.fn.name
                                                                : "the function";
            result = repl_call(s, fn, &a);
        } else {
            a.fname = callee->str;
            result = repl_method_call(s, obj, callee->str, &a);
        }
    }
    repl_args_free(&a);
done:
    repl_unref(fn);
    repl_unref(obj);
    return result;
}

/* ---- containers, indexing ---- */

static repl_value *eval_seq(repl_session *s, const repl_node *n, repl_value_kind kind)
{
    repl_value *v = repl_new_seq(kind, n->nkids);
    if (!v)
        return repl_oom(s, n->pos);
    for (int i = 0; i < n->nkids; i++) {
        if (!n->kids[i]) {
            v->as.seq.items[i] = repl_new_none();
        } else if (!(v->as.seq.items[i] = repl_eval(s, n->kids[i]))) {
            repl_unref(v);
            return NULL;
        }
        if (!v->as.seq.items[i]) {
            repl_unref(v);
            return repl_oom(s, n->pos);
        }
    }
    repl_seq_done(v);
    if (v->depth > s->cfg.max_depth) {
        repl_unref(v);
        return repl_fail(s, n->pos, "containers nested too deeply (more than %d levels)",
                         s->cfg.max_depth);
    }
    return v;
}

static repl_value *eval_index(repl_session *s, const repl_node *n)
{
    repl_value *obj = repl_eval(s, n->kids[0]);
    if (!obj)
        return NULL;
    int nsubs = n->nkids - 1;
    repl_value **subs = calloc((size_t)nsubs, sizeof *subs);
    size_t *subpos = calloc((size_t)nsubs, sizeof *subpos);
    repl_value *result = NULL;
    if (!subs || !subpos) {
        repl_oom(s, n->pos);
        goto done;
    }
    for (int i = 0; i < nsubs; i++) {
        const repl_node *k = n->kids[i + 1];
        subpos[i] = k->pos;
        subs[i] = k->kind == N_SLICE ? eval_seq(s, k, V_SLICE) : repl_eval(s, k);
        if (!subs[i])
            goto done;
    }
    result = repl_index(s, obj, subs, subpos, nsubs, n->pos);
done:
    for (int i = 0; subs && i < nsubs; i++)
        repl_unref(subs[i]);
    free(subs);
    free(subpos);
    repl_unref(obj);
    return result;
}

static repl_value *lookup(repl_session *s, const repl_node *n)
{
    repl_value *v = repl_env_get(s, n->str);
    if (v)
        return repl_ref(v);
    if ((v = repl_builtin_lookup(n->str)))
        return v;
    return repl_fail(s, n->pos, "name '%s' is not defined", n->str);
}

static repl_value *eval_chain(repl_session *s, const repl_node *n)
{
    repl_value *acc = repl_eval(s, n->kids[0]);
    for (int i = 1; acc && i < n->nkids; i++) {
        repl_value *rhs = repl_eval(s, n->kids[i]);
        repl_value *next = rhs ? binop(s, n->ops[i - 1], acc, rhs, n->oppos[i - 1]) : NULL;
        repl_unref(rhs);
        repl_unref(acc);
        acc = next;
    }
    return acc;
}

repl_value *repl_eval(repl_session *s, const repl_node *n)
{
    repl_value *v = NULL, *a, *b;
    switch (n->kind) {
    case N_INT: v = repl_new_int(n->ival); break;
    case N_FLOAT: v = repl_new_float(n->fval); break;
    case N_STR: v = repl_new_str(n->str, n->slen); break;
    case N_CONST: v = n->op == TK_NONE ? repl_new_none() : repl_new_bool(n->op == TK_TRUE); break;
    case N_NAME: return lookup(s, n);
    case N_LIST: return eval_seq(s, n, V_LIST);
    case N_TUPLE: return eval_seq(s, n, V_TUPLE);
    case N_DICT: return eval_seq(s, n, V_DICT);
    case N_SLICE: return eval_seq(s, n, V_SLICE);
    case N_CHAIN: return eval_chain(s, n);
    case N_BINARY:
        if (!(a = repl_eval(s, n->kids[0])))
            return NULL;
        if ((b = repl_eval(s, n->kids[1])))
            v = binop(s, n->op, a, b, n->pos);
        repl_unref(a);
        repl_unref(b);
        return v;
    case N_UNARY:
        if (!(a = repl_eval(s, n->kids[0])))
            return NULL;
        v = unop(s, n->op, a, n->pos);
        repl_unref(a);
        return v;
    case N_CALL: return eval_call(s, n);
    case N_INDEX: return eval_index(s, n);
    case N_ATTR:
        if (!(a = repl_eval(s, n->kids[0])))
            return NULL;
        v = repl_attribute(s, a, n->str, n->pos);
        repl_unref(a);
        return v;
    }
    return v ? v : repl_oom(s, n->pos);
}

/* ---- statements ---- */

static bool assign(repl_session *s, const repl_node *target, repl_value *v)
{
    if (target->kind == N_NAME) {
        if (!repl_env_set(s, target->str, v))
            return repl_oom(s, target->pos), false;
        return true;
    }
    /* tuple/list target: unpack a tuple or list of the same length */
    if (!repl_is_seq(v))
        return repl_fail(s, target->pos, "cannot unpack %s into %d names", repl_a_kind(v),
                         target->nkids),
               false;
    if (v->as.seq.n != target->nkids)
        return repl_fail(s, target->pos, "cannot unpack %d values into %d names", v->as.seq.n,
                         target->nkids),
               false;
    for (int i = 0; i < target->nkids; i++)
        if (!assign(s, target->kids[i], v->as.seq.items[i]))
            return false;
    return true;
}

static void print_value(repl_session *s, const repl_value *v)
{
    repl_buf b = {0};
    repl_repr(&b, v);
    fputs(repl_buf_str(&b), s->cfg.out);
    fputc('\n', s->cfg.out);
    repl_buf_free(&b);
}

bool repl_exec(repl_session *s, const repl_stmt *st)
{
    repl_value *v = repl_eval(s, st->value);
    if (!v)
        return false;
    bool ok = true;
    switch (st->kind) {
    case S_EXPR:
        if (v->kind != V_NONE)
            print_value(s, v);
        break;
    case S_ASSIGN:
        for (int i = 0; ok && i < st->ntargets; i++)
            ok = assign(s, st->targets[i], v);
        break;
    case S_AUGASSIGN: {
        const repl_node *t = st->targets[0];
        repl_value *cur = repl_env_get(s, t->str);
        if (!cur) {
            ok = repl_fail(s, t->pos, "name '%s' is not defined", t->str) != NULL;
            break;
        }
        repl_value *next = binop(s, st->op, cur, v, st->oppos);
        ok = next && assign(s, t, next);
        repl_unref(next);
        break;
    }
    }
    repl_unref(v);
    return ok;
}
