/* Theano's variable constructors, recognized by spelling rather than listed one by one:
 * [prefix](scalar|vector|matrix|row|col|tensor3|tensor4)[plural], e.g. fscalar, dmatrices, irow,
 * tensor3s. No prefix is floatX (float64 here); b=int8, w=int16, i=int32, l=int64, f=float32,
 * d=float64. Plurals take names (fscalars('x', 'y')) or a count (fscalars(2)) and give a tuple.
 * tensor(dtype, broadcastable, name) is the general form. */
#include "internal.h"

#include <string.h>

typedef enum { R_SCALAR, R_VECTOR, R_MATRIX, R_ROW, R_COL, R_TENSOR3, R_TENSOR4 } rank_kind;

static const struct {
    const char *singular, *plural;
    int ndim;
} ranks[] = {
    [R_SCALAR] = {"scalar", "scalars", 0},
    [R_VECTOR] = {"vector", "vectors", 1},
    [R_MATRIX] = {"matrix", "matrices", 2},
    [R_ROW] = {"row", "rows", 2},
    [R_COL] = {"col", "cols", 2},
    [R_TENSOR3] = {"tensor3", "tensor3s", 3},
    [R_TENSOR4] = {"tensor4", "tensor4s", 4},
};
enum { NRANKS = sizeof ranks / sizeof *ranks };

static const struct {
    char letter;
    tj_dtype dtype;
} prefixes[] = {
    {'b', TJ_INT8},  {'w', TJ_INT16},   {'i', TJ_INT32},
    {'l', TJ_INT64}, {'f', TJ_FLOAT32}, {'d', TJ_FLOAT64},
};
enum { NPREFIXES = sizeof prefixes / sizeof *prefixes };

/* payload: dtype * 64 + rank * 2 + plural */
bool repl_ctor_parse(const char *name, int *payload)
{
    tj_dtype dtype = TJ_FLOAT64;
    for (int p = 0; p < NPREFIXES; p++) {
        if (name[0] == prefixes[p].letter) {
            for (int r = 0; r < NRANKS; r++) {
                if (!strcmp(name + 1, ranks[r].singular) || !strcmp(name + 1, ranks[r].plural)) {
                    dtype = prefixes[p].dtype;
                    name++;
                    break;
                }
            }
            break;
        }
    }
    for (int r = 0; r < NRANKS; r++) {
        bool plural = !strcmp(name, ranks[r].plural);
        if (plural || !strcmp(name, ranks[r].singular)) {
            *payload = (int)dtype * 64 + r * 2 + plural;
            return true;
        }
    }
    return false;
}

void repl_ctor_each(void (*fn)(void *arg, const char *name), void *arg)
{
    char name[32];
    for (int r = 0; r < NRANKS; r++) {
        for (int p = -1; p < NPREFIXES; p++) {
            for (int plural = 0; plural < 2; plural++) {
                snprintf(name, sizeof name, "%s%s", p < 0 ? "" : (char[]){prefixes[p].letter, 0},
                         plural ? ranks[r].plural : ranks[r].singular);
                fn(arg, name);
            }
        }
    }
}

static tj_var *make_var(repl_session *s, tj_dtype dtype, rank_kind r, const char *name)
{
    bool bc[2] = {r == R_ROW, r == R_COL};
    switch (r) {
    case R_SCALAR: return tj_scalar(s->ctx, dtype, name);
    case R_VECTOR: return tj_vector(s->ctx, dtype, name);
    case R_MATRIX: return tj_matrix(s->ctx, dtype, name);
    case R_ROW:
    case R_COL: return tj_tensor(s->ctx, dtype, 2, bc, name);
    default: return tj_tensor(s->ctx, dtype, ranks[r].ndim, NULL, name);
    }
}

static repl_value *one_var(repl_session *s, tj_dtype dtype, rank_kind r, const repl_value *name,
                           size_t pos)
{
    if (name && name->kind != V_NONE && name->kind != V_STR)
        return repl_fail(s, pos, "a variable's name must be a string, not %s", repl_a_kind(name));
    tj_var *v = make_var(s, dtype, r, name && name->kind == V_STR ? name->as.str.s : NULL);
    if (!v)
        return repl_fail_lib(s, pos, "making a variable");
    repl_value *out = repl_new_var(v, false);
    return out ? out : repl_oom(s, pos);
}

repl_value *repl_ctor_call(repl_session *s, int payload, const repl_args *a)
{
    tj_dtype dtype = (tj_dtype)(payload / 64);
    rank_kind r = (rank_kind)(payload % 64 / 2);
    bool plural = payload & 1;
    static const char *const params[] = {"name", "dtype"};
    if (!plural) {
        repl_value *slots[2];
        size_t spos[2];
        if (!repl_bind(s, a, params, 2, 0, slots, spos))
            return NULL;
        if (slots[1] && !repl_to_dtype(s, slots[1], spos[1], &dtype))
            return NULL;
        return one_var(s, dtype, r, slots[0], spos[0]);
    }
    if (a->nkw > 0)
        return repl_fail(s, a->kwpos[0], "%s takes names or a count, not keywords", a->fname);
    /* fscalars(3): three unnamed variables; fscalars('x', 'y'): named ones */
    int64_t count = a->nargs;
    bool counted = a->nargs == 1 && a->args[0]->kind == V_INT;
    if (counted)
        count = a->args[0]->as.i;
    if (count < 1 || count > 1024)
        return repl_fail(s, a->nargs ? a->argpos[0] : a->pos, "%s makes 1 to 1024 variables",
                         a->fname);
    repl_value *t = repl_new_seq(V_TUPLE, (int)count);
    if (!t)
        return repl_oom(s, a->pos);
    for (int i = 0; i < count; i++) {
        t->as.seq.items[i] = one_var(s, dtype, r, counted ? NULL : a->args[i],
                                     a->nargs ? a->argpos[counted ? 0 : i] : a->pos);
        if (!t->as.seq.items[i]) {
            repl_unref(t);
            return NULL;
        }
    }
    repl_seq_done(t);
    return t;
}
