/* Replayed calls (lib/replay.h): a call with the layouts of the two before it runs the launches
 * recorded then, with this call's pointers. Nothing a replay keeps may go stale: shapes change,
 * strided views and misaligned buffers come in, input and output arrays are swapped, updates
 * read what the call before wrote, a shared value is replaced (another shape, another array,
 * one the caller still holds), tj_call and tj_call_into alternate, two threads call. Every
 * result is compared bit for bit with a function compiled with TJ_REPLAY=off (the general
 * path) and with a float64 model written out here; errors must be the general path's. */
#include "support.h"

#include "../lib/function.h"

#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static double datum(int64_t i, int salt) { return tjt_datum(i, salt); }
static bool close_to(double got, double want, double tol)
{
    return fabs(got - want) <= tol * (1 + fabs(want));
}

/* fn compiled with the replay (replay true) or with TJ_REPLAY=off */
static tj_fn *compile(tj_ctx *ctx, tj_var *const *in, int nin, tj_var *const *outs, int nout,
                      const tj_function_opts *o, bool replay)
{
    if (!replay)
        setenv("TJ_REPLAY", "off", 1);
    tj_fn *fn = tj_function(ctx, in, nin, outs, nout, o);
    unsetenv("TJ_REPLAY");
    cr_assert(fn, "%s", tj_errmsg(ctx));
    return fn;
}

static uint64_t replays(tj_fn *fn)
{
    uint64_t n, rec;
    tjF_replays(fn, &n, &rec);
    return n;
}

/* v's value, borrowed (tj_shared_get's reference given back: the variable keeps its own, and no
 * call runs meanwhile) */
static tj_array *value_of(tj_var *v)
{
    tj_array *a = tj_shared_get(v, true);
    tj_array_unref(a);
    return a;
}

static bool same_bits(const tj_array *a, const tj_array *b)
{
    return tj_array_dtype(a) == tj_array_dtype(b) && tj_array_size(a) == tj_array_size(b) &&
           !memcmp(tj_array_data((tj_array *)a), tj_array_data((tj_array *)b),
                   (size_t)tj_array_size(a) * tj_dtype_size(tj_array_dtype(a)));
}

/* ---- the logistic-regression train step (benchmarks' W2, tjt_logreg_train) ----------------- */

typedef struct {
    tj_fn *fn;
    tj_var *w, *b;
} train;

static train train_fn(tj_ctx *ctx, bool replay)
{
    train t;
    if (!replay)
        setenv("TJ_REPLAY", "off", 1);
    t.fn = tjt_logreg_train(ctx, &t.w, &t.b);
    unsetenv("TJ_REPLAY");
    cr_assert(t.fn, "%s", tj_errmsg(ctx));
    return t;
}

/* the float64 model's step: out[] checked, w and b advanced */
static void model_step(tj_array *const *out, int64_t n, int salt, double *w, double *b, int call)
{
    char why[160];
    cr_expect_eq(tjt_logreg_step(out, n, salt, w, b, why, sizeof why), 0, "call %d (n %lld): %s",
                 call, (long long)n, why);
}

static void expect_shared(tj_var *v, const double *want, int n, const char *what, int call)
{
    tj_array *a = value_of(v);
    for (int j = 0; j < n; j++)
        cr_expect(close_to(tjt_at(a, j), want[j], 1e-4), "call %d %s[%d] %g, expected %g", call,
                  what, j, tjt_at(a, j), want[j]);
}

/* One step: the same inputs to the replaying function and the general one, into the caller's
 * arrays (a set chosen by call) or into new ones */
typedef struct {
    int64_t n;
    bool column_major, into;
} step;

static const step steps[] = {
    {10, 0, 1}, {10, 0, 1}, {10, 0, 1}, {10, 0, 1}, {10, 0, 1}, /* recorded, then replayed */
    {7, 0, 1},  {7, 0, 1},  {7, 0, 1},  {7, 0, 1},              /* another row count */
    {10, 0, 1}, {10, 0, 1}, {10, 0, 1},                         /* back */
    {10, 1, 1}, {10, 1, 1}, {10, 1, 1}, {10, 1, 1},             /* X as a strided view */
    {10, 0, 0}, {10, 0, 0}, {10, 0, 0}, {10, 0, 0},             /* tj_call: new results */
    {10, 0, 1}, {10, 0, 0}, {10, 0, 1}, {10, 0, 0},             /* alternating */
    {1, 0, 1},  {1, 0, 1},  {1, 0, 1},  {33, 0, 1}, {33, 0, 1}, {33, 0, 1}, {33, 0, 1},
    {10, 0, 1}, {10, 0, 1}, {10, 0, 1}, {10, 0, 1},
};

Test(replay, train_step_matches_general_path_and_float64)
{
    tj_ctx *ctx = tj_ctx_new();
    train r = train_fn(ctx, true), g = train_fn(ctx, false);
    double w[TJT_FEATS] = {0.5, 0.2, -0.1}, b = 0.25;
    tj_array *held[3] = {NULL}, *held_copy[3] = {NULL}; /* a tj_call's results, kept */
    int nsteps = (int)(sizeof steps / sizeof steps[0]);
    for (int call = 0; call < nsteps; call++) {
        const step *s = &steps[call];
        int64_t n = s->n;
        int salt = call % 2 ? 3 : 5; /* two data sets of one shape, in turn */
        tj_array *X = tjt_logreg_x(n, salt, s->column_major), *Y = tjt_logreg_y(n, salt);
        tj_array *outs[2][3] = {{NULL}};
        for (int k = 0; k < 2 && s->into; k++) {
            outs[k][0] = tj_array_new(TJ_BOOL, 1, &n);
            outs[k][1] = tj_array_new(TJ_FLOAT32, 1, &n);
            outs[k][2] = tj_array_new(TJ_FLOAT32, 0, NULL);
        }
        tj_array *in[2] = {X, Y};
        for (int k = 0; k < 2; k++) {
            tj_fn *fn = k ? g.fn : r.fn;
            tj_status st = s->into ? tj_call_into(fn, in, outs[k]) : tj_call(fn, in, outs[k]);
            cr_assert_eq(st, TJ_OK, "call %d (%s): %s", call, k ? "general" : "replay",
                         tj_errmsg(ctx));
        }
        for (int o = 0; o < 3; o++)
            cr_expect(same_bits(outs[0][o], outs[1][o]), "call %d: output %d differs from the "
                      "general path's", call, o);
        cr_expect(same_bits(value_of(r.w), value_of(g.w)),
                  "call %d: w differs from the general path's", call);
        cr_expect(same_bits(value_of(r.b), value_of(g.b)),
                  "call %d: b differs from the general path's", call);
        model_step(outs[0], n, salt, w, &b, call);
        expect_shared(r.w, w, TJT_FEATS, "w", call);
        expect_shared(r.b, &b, 1, "b", call);
        /* an earlier call's results are the caller's: later calls leave them alone */
        for (int o = 0; o < 3 && held[o]; o++)
            cr_expect(same_bits(held[o], held_copy[o]), "call %d: an earlier result changed",
                      call);
        for (int o = 0; o < 3; o++) {
            if (!s->into) {
                tj_array_unref(held[o]);
                tj_array_unref(held_copy[o]);
                held[o] = tj_array_ref(outs[0][o]);
                held_copy[o] = tj_array_copy(outs[0][o]);
            }
            tj_array_unref(outs[0][o]);
            tj_array_unref(outs[1][o]);
        }
        tj_array_unref(X);
        tj_array_unref(Y);
    }
    for (int o = 0; o < 3; o++) {
        tj_array_unref(held[o]);
        tj_array_unref(held_copy[o]);
    }
    if (tjt_jit_off())
        cr_expect_eq(replays(r.fn), 0, "TJ_JIT=off: the reference executor, no replay");
    else
        cr_expect_geq(replays(r.fn), 12, "only %llu calls replayed",
                      (unsigned long long)replays(r.fn));
    cr_expect_eq(replays(g.fn), 0, "TJ_REPLAY=off, yet calls were replayed");
    tj_ctx_free(ctx);
}

/* The same call, over and over, with the caller's output arrays swapped between two sets and
 * the inputs between two pairs: every pointer a replay fills in changes from call to call. */
Test(replay, arrays_swapped_every_call)
{
    tj_ctx *ctx = tj_ctx_new();
    train r = train_fn(ctx, true), g = train_fn(ctx, false);
    int64_t n = 12;
    tj_array *X[2] = {tjt_logreg_x(n, 1, false), tjt_logreg_x(n, 2, false)};
    tj_array *Y[2] = {tjt_logreg_y(n, 1), tjt_logreg_y(n, 2)};
    tj_array *outs[2][2][3];
    for (int k = 0; k < 2; k++)
        for (int set = 0; set < 2; set++) {
            outs[k][set][0] = tj_array_new(TJ_BOOL, 1, &n);
            outs[k][set][1] = tj_array_new(TJ_FLOAT32, 1, &n);
            outs[k][set][2] = tj_array_new(TJ_FLOAT32, 0, NULL);
        }
    double w[TJT_FEATS] = {0.5, 0.2, -0.1}, b = 0.25;
    tj_array *held[2] = {NULL, NULL};
    for (int call = 0; call < 24; call++) {
        int set = (call / 3) % 2, data = call % 2;
        /* calls 8 to 15: the caller holds w's value, so w's update goes to a new array */
        for (int k = 0; k < 2 && (call == 8 || call == 16); k++) {
            tj_array_unref(held[k]);
            held[k] = call == 8 ? tj_shared_get(k ? g.w : r.w, true) : NULL;
        }
        tj_array *before = held[0] ? tj_array_copy(held[0]) : NULL;
        for (int k = 0; k < 2; k++)
            cr_assert_eq(tj_call_into(k ? g.fn : r.fn, (tj_array *[]){X[data], Y[data]},
                                      outs[k][set]),
                         TJ_OK, "%s", tj_errmsg(ctx));
        for (int o = 0; o < 3; o++)
            cr_expect(same_bits(outs[0][set][o], outs[1][set][o]), "call %d output %d", call, o);
        model_step(outs[0][set], n, data + 1, w, &b, call);
        expect_shared(r.w, w, TJT_FEATS, "w", call);
        cr_expect(!before || same_bits(before, held[0]), "call %d: the held w changed", call);
        tj_array_unref(before);
    }
    cr_expect(tjt_jit_off() || replays(r.fn) >= 18, "only %llu calls replayed",
              (unsigned long long)replays(r.fn));
    for (int k = 0; k < 2; k++) {
        tj_array_unref(X[k]);
        tj_array_unref(Y[k]);
        for (int set = 0; set < 2; set++)
            for (int o = 0; o < 3; o++)
                tj_array_unref(outs[k][set][o]);
    }
    tj_ctx_free(ctx);
}

/* ---- shared values replaced ----------------------------------------------------------------- */

/* out = tanh(x * s) + sum(s); update s = 0.5 s + x (in place when only s holds its value) */
static tj_fn *decay_fn(tj_ctx *ctx, tj_var **s, bool replay, int64_t n0)
{
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *s0 = tj_array_new(TJ_FLOAT64, 1, &n0);
    for (int64_t i = 0; i < n0; i++)
        tj_array_set(s0, &i, 0.1 * (double)i);
    *s = tj_shared(ctx, s0, "s", false);
    tj_array_unref(s0);
    tj_var *out = tj_add(tj_tanh(tj_mul(x, *s)), tj_sum(*s, NULL, 0, false));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{*s, tj_add(tj_mulc(*s, 0.5), x)}};
    o.nupdates = 1;
    return compile(ctx, &x, 1, &out, 1, &o, replay);
}

/* One call of decay_fn against the model; sv: s's value before (advanced) */
static void decay_call(tj_ctx *ctx, tj_fn *fn, int64_t n, int k, double *sv)
{
    tj_array *x = tj_array_new(TJ_FLOAT64, 1, &n), *out = NULL;
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        tj_array_set(x, &i, datum(i, k));
        sum += sv[i];
    }
    cr_assert_eq(tj_call(fn, &x, &out), TJ_OK, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_array_size(out), n);
    for (int64_t i = 0; i < n; i++) {
        double want = tanh(datum(i, k) * sv[i]) + sum;
        cr_expect(close_to(tjt_at(out, i), want, 1e-12), "call %d out[%lld] %g, expected %g", k,
                  (long long)i, tjt_at(out, i), want);
        sv[i] = 0.5 * sv[i] + datum(i, k);
    }
    tj_array_unref(out);
    tj_array_unref(x);
}

static void expect_values(tj_var *s, const double *sv, int64_t n, int k)
{
    tj_array *a = value_of(s);
    cr_assert_eq(tj_array_size(a), n, "call %d: s has %lld elements", k, (long long)tj_array_size(a));
    for (int64_t i = 0; i < n; i++)
        cr_expect(close_to(tjt_at(a, i), sv[i], 1e-12), "call %d s[%lld] %g, expected %g", k,
                  (long long)i, tjt_at(a, i), sv[i]);
}

Test(replay, shared_value_replaced_or_held)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s;
    int64_t n = 6;
    tj_fn *fn = decay_fn(ctx, &s, true, n);
    double sv[64];
    for (int64_t i = 0; i < n; i++)
        sv[i] = 0.1 * (double)i;
    int k = 0;
    for (; k < 5; k++) /* recorded, replayed */
        decay_call(ctx, fn, n, k, sv);
    expect_values(s, sv, n, k);

    /* another shape: the next calls must read it, and the replay must not write the old one */
    n = 9;
    tj_array *v = tj_array_new(TJ_FLOAT64, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        sv[i] = 1.0 - 0.2 * (double)i;
        tj_array_set(v, &i, sv[i]);
    }
    cr_assert_eq(tj_shared_set(s, v, false), TJ_OK);
    tj_array_unref(v);
    for (; k < 10; k++)
        decay_call(ctx, fn, n, k, sv);
    expect_values(s, sv, n, k);

    /* the same shape, another array: its values, not the replaced one's buffer */
    tj_array *v2 = tj_array_new(TJ_FLOAT64, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        sv[i] = 3.0 + (double)i;
        tj_array_set(v2, &i, sv[i]);
    }
    cr_assert_eq(tj_shared_set(s, v2, false), TJ_OK);
    tj_array_unref(v2);
    for (; k < 14; k++)
        decay_call(ctx, fn, n, k, sv);
    expect_values(s, sv, n, k);

    /* the caller holds s's value: an update in place would change the caller's array */
    tj_array *held = tj_shared_get(s, true), *copy = tj_array_copy(held);
    for (; k < 18; k++)
        decay_call(ctx, fn, n, k, sv);
    cr_expect(same_bits(held, copy), "an update wrote into the value the caller holds");
    expect_values(s, sv, n, k);
    tj_array_unref(held);
    tj_array_unref(copy);
    for (; k < 22; k++) /* let go: in place again */
        decay_call(ctx, fn, n, k, sv);
    expect_values(s, sv, n, k);

    /* a value the caller lent (borrow: the caller still holds it) */
    tj_array *lent = tj_array_new(TJ_FLOAT64, 1, &n);
    for (int64_t i = 0; i < n; i++) {
        sv[i] = -0.5 * (double)i;
        tj_array_set(lent, &i, sv[i]);
    }
    tj_array *lent_copy = tj_array_copy(lent);
    cr_assert_eq(tj_shared_set(s, lent, true), TJ_OK);
    for (; k < 26; k++)
        decay_call(ctx, fn, n, k, sv);
    cr_expect(same_bits(lent, lent_copy), "an update wrote into the caller's lent array");
    expect_values(s, sv, n, k);
    tj_array_unref(lent);
    tj_array_unref(lent_copy);
    cr_expect(tjt_jit_off() || replays(fn) >= 8, "only %llu calls replayed",
              (unsigned long long)replays(fn));
    tj_ctx_free(ctx);
}

/* ---- out of memory in a replayed call ------------------------------------------------------ */

/* an allocator whose next `fail` allocations fail (single-threaded use) */
typedef struct {
    int fail;
} failing;

static void *fail_malloc(void *user, size_t size)
{
    failing *f = user;
    return f->fail > 0 && f->fail-- ? NULL : malloc(size);
}
static void *fail_realloc(void *user, void *p, size_t size)
{
    failing *f = user;
    return f->fail > 0 && f->fail-- ? NULL : realloc(p, size);
}
static void fail_free(void *user, void *p)
{
    (void)user;
    free(p);
}

/* A replayed call whose result cannot be made fails with TJ_ERR_NOMEM; the next call, with the
 * same (new) arrays, must read them, not the pointers of the call before the failure. */
Test(replay, out_of_memory_then_the_same_arrays)
{
    failing f = {0};
    tj_allocator a = {fail_malloc, fail_realloc, fail_free, &f};
    tj_ctx *ctx = tj_ctx_new_with_allocator(&a);
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_var *outs[2] = {tj_addc(tj_mulc(x, 2), 1), tj_sum(tj_mul(x, x), NULL, 0, false)};
    tj_fn *fn = compile(ctx, &x, 1, outs, 2, NULL, true);
    int64_t n = 7;
    for (int k = 0; k < 12; k++) {
        tj_array *xa = tj_array_new(TJ_FLOAT64, 1, &n), *res[2] = {NULL, NULL};
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            tj_array_set(xa, &i, datum(i, k));
            sum += datum(i, k) * datum(i, k);
        }
        if (k >= 4 && k % 2 == 0) { /* the result fails first, then the same call again */
            f.fail = 1;
            tj_status st = tj_call(fn, &xa, res);
            f.fail = 0;
            cr_expect_eq(st, TJ_ERR_NOMEM, "call %d: %s", k, tj_errmsg(ctx));
            tj_array_unref(res[0]);
            tj_array_unref(res[1]);
            res[0] = res[1] = NULL;
        }
        cr_assert_eq(tj_call(fn, &xa, res), TJ_OK, "call %d: %s", k, tj_errmsg(ctx));
        for (int64_t i = 0; i < n; i++)
            cr_expect_eq(tjt_at(res[0], i), 2 * datum(i, k) + 1, "call %d y[%lld]", k,
                         (long long)i);
        cr_expect(close_to(tjt_at(res[1], 0), sum, 1e-12), "call %d: sum", k);
        tj_array_unref(res[0]);
        tj_array_unref(res[1]);
        tj_array_unref(xa);
    }
    cr_expect(tjt_jit_off() || replays(fn) >= 6, "only %llu calls replayed",
              (unsigned long long)replays(fn));
    tj_ctx_free(ctx);
}

/* Empty inputs (a kernel with nothing to launch, a sum of nothing, a max of nothing: an error)
 * and 0-d ones, each several calls in a row, the same as the general path. */
Test(replay, empty_and_scalar_arrays)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x"), *c = tj_scalar(ctx, TJ_FLOAT64, "c");
    tj_var *outs[3] = {tj_mul(x, tj_dimshuffle(c, (int[]){-1}, 1)), tj_sum(x, NULL, 0, false),
                       tj_mulc(c, 3)};
    tj_var *mx = tj_max(x, NULL, 0, false);
    tj_fn *fn[2], *fmax[2];
    for (int k = 0; k < 2; k++) {
        fn[k] = compile(ctx, (tj_var *[]){x, c}, 2, outs, 3, NULL, k == 0);
        fmax[k] = compile(ctx, &x, 1, &mx, 1, NULL, k == 0);
    }
    for (int call = 0; call < 12; call++) {
        int64_t n = call < 4 ? 0 : call < 8 ? 1 : 0;
        tj_array *xa = tj_array_new(TJ_FLOAT64, 1, &n), *ca = tj_array_scalar(TJ_FLOAT64, call);
        for (int64_t i = 0; i < n; i++)
            tj_array_set(xa, &i, 2.5);
        tj_array *res[2][3] = {{NULL}}, *m[2] = {NULL, NULL};
        tj_status st[2];
        char msg[2][1024];
        for (int k = 0; k < 2; k++) {
            cr_assert_eq(tj_call(fn[k], (tj_array *[]){xa, ca}, res[k]), TJ_OK, "%s",
                         tj_errmsg(ctx));
            tj_clear_error(ctx);
            st[k] = tj_call(fmax[k], &xa, &m[k]);
            snprintf(msg[k], sizeof msg[k], "%s", tj_errmsg(ctx));
        }
        for (int o = 0; o < 3; o++)
            cr_expect(same_bits(res[0][o], res[1][o]), "call %d output %d", call, o);
        cr_expect_eq(tj_array_size(res[0][0]), n);
        cr_expect_eq(tjt_at(res[0][1], 0), 2.5 * (double)n, "call %d: sum", call);
        cr_expect_eq(tjt_at(res[0][2], 0), 3.0 * call, "call %d: 3c", call);
        cr_expect_eq(st[0], n ? TJ_OK : TJ_ERR_VALUE, "call %d: max of %lld", call, (long long)n);
        cr_expect_eq(st[0], st[1], "call %d: max's status", call);
        cr_expect_str_eq(msg[0], msg[1], "call %d: max's message", call);
        if (n)
            cr_expect(same_bits(m[0], m[1]), "call %d: max", call);
        for (int k = 0; k < 2; k++) {
            for (int o = 0; o < 3; o++)
                tj_array_unref(res[k][o]);
            tj_array_unref(m[k]);
        }
        tj_array_unref(xa);
        tj_array_unref(ca);
    }
    cr_expect(tjt_jit_off() || replays(fn[0]) >= 4, "only %llu calls replayed",
              (unsigned long long)replays(fn[0]));
    tj_ctx_free(ctx);
}

/* ---- errors: the general path's, once a replay is ready ------------------------------------- */

/* msg without node numbers ("node #12"): the two functions' graphs are built apart */
static void drop_node_numbers(char *msg)
{
    char *w = msg;
    for (const char *r = msg; *r; r++) {
        *w++ = *r;
        if (*r == '#')
            while (r[1] >= '0' && r[1] <= '9')
                r++;
    }
    *w = 0;
}

Test(replay, errors_are_the_general_paths)
{
    tj_ctx *ctx = tj_ctx_new();
    train r = train_fn(ctx, true), g = train_fn(ctx, false);
    int64_t n = 8, m = 5;
    tj_array *X = tjt_logreg_x(n, 1, false), *Y = tjt_logreg_y(n, 1), *Y5 = tjt_logreg_y(m, 1);
    tj_array *X64 = tj_array_new(TJ_FLOAT64, 2, (int64_t[]){n, TJT_FEATS});
    tj_array *vec = tj_array_new(TJ_FLOAT32, 1, &n);
    tj_array *o[2][3];
    for (int k = 0; k < 2; k++) {
        o[k][0] = tj_array_new(TJ_BOOL, 1, &n);
        o[k][1] = tj_array_new(TJ_FLOAT32, 1, &n);
        o[k][2] = tj_array_new(TJ_FLOAT32, 0, NULL);
    }
    for (int call = 0; call < 4; call++) /* the replay is ready */
        for (int k = 0; k < 2; k++)
            cr_assert_eq(tj_call_into(k ? g.fn : r.fn, (tj_array *[]){X, Y}, o[k]), TJ_OK);
    uint64_t before = replays(r.fn);
    cr_expect(tjt_jit_off() || before > 0, "no call replayed");
    tj_array *wrong_shape = tj_array_new(TJ_FLOAT32, 1, &m), *wrong_dtype = tj_array_new(TJ_FLOAT64, 1, &n);
    struct {
        const char *what;
        tj_array *in[2];
        int out; /* which output to replace (-1: none) */
        tj_array *with;
    } bad[] = {
        {"a NULL input", {NULL, Y}, -1, NULL},
        {"an input of another rank", {vec, Y}, -1, NULL},
        {"a lossy dtype", {X64, Y}, -1, NULL},
        {"rows that differ", {X, Y5}, -1, NULL},
        {"an output aliasing an input", {X, Y}, 1, Y},
        {"an output of another shape", {X, Y}, 1, wrong_shape},
        {"an output of another dtype", {X, Y}, 1, wrong_dtype},
        {"an output that is another output", {X, Y}, 2, NULL /* set below */},
    };
    int nbad = (int)(sizeof bad / sizeof bad[0]);
    for (int i = 0; i < nbad; i++) {
        tj_status st[2];
        char msg[2][1024];
        for (int k = 0; k < 2; k++) {
            tj_array *out[3] = {o[k][0], o[k][1], o[k][2]};
            if (bad[i].out >= 0)
                out[bad[i].out] = bad[i].with ? bad[i].with : out[1];
            tj_clear_error(ctx);
            st[k] = tj_call_into(k ? g.fn : r.fn, bad[i].in, out);
            snprintf(msg[k], sizeof msg[k], "%s", tj_errmsg(ctx));
            drop_node_numbers(msg[k]);
        }
        cr_expect_neq(st[0], TJ_OK, "%s: accepted", bad[i].what);
        cr_expect_eq(st[0], st[1], "%s: status %d, the general path's %d", bad[i].what, st[0],
                     st[1]);
        /* both functions are "(unnamed)" */
        cr_expect_str_eq(msg[0], msg[1], "%s", bad[i].what);
        /* and a good call right after is right again */
        for (int k = 0; k < 2; k++)
            cr_assert_eq(tj_call_into(k ? g.fn : r.fn, (tj_array *[]){X, Y}, o[k]), TJ_OK);
        for (int j = 0; j < 3; j++)
            cr_expect(same_bits(o[0][j], o[1][j]), "after %s: output %d", bad[i].what, j);
        cr_expect(same_bits(value_of(r.w), value_of(g.w)),
                  "after %s: w", bad[i].what);
    }
    for (int k = 0; k < 2; k++)
        for (int j = 0; j < 3; j++)
            tj_array_unref(o[k][j]);
    tj_array_unref(wrong_shape);
    tj_array_unref(wrong_dtype);
    tj_array_unref(X);
    tj_array_unref(X64);
    tj_array_unref(Y);
    tj_array_unref(Y5);
    tj_array_unref(vec);
    tj_ctx_free(ctx);
}

/* ---- strides and alignment: BLAS takes each layout its own way ----------------------------- */

/* out = dot(A, v) * 2 + sum(v): a gemv and a kernel over its result */
Test(replay, strided_and_misaligned_blas_operands)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *A = tj_matrix(ctx, TJ_FLOAT64, "A"), *v = tj_vector(ctx, TJ_FLOAT64, "v");
    tj_var *out = tj_add(tj_mulc(tj_dot(A, v), 2), tj_sum(v, NULL, 0, false));
    tj_fn *r = compile(ctx, (tj_var *[]){A, v}, 2, &out, 1, NULL, true);
    tj_fn *g = compile(ctx, (tj_var *[]){A, v}, 2, &out, 1, NULL, false);
    int64_t rows = 5, cols = 4;
    /* one buffer, 8 bytes spare in front: A at offset 0 or (misaligned) 4 */
    char *buf = malloc(sizeof(double) * (size_t)(rows * cols) + 16);
    double vv[4] = {0.5, -1, 2, 0.25};
    int64_t shape[2] = {rows, cols};
    int64_t row_major[2] = {cols * 8, 8}, col_major[2] = {8, rows * 8};
    for (int call = 0; call < 24; call++) {
        int layout = (call / 4) % 3; /* C order, column-major view, misaligned C order */
        char *base = buf + (layout == 2 ? 4 : 0);
        for (int64_t i = 0; i < rows; i++)
            for (int64_t j = 0; j < cols; j++) {
                double x = datum(i * cols + j, call);
                int64_t at = layout == 1 ? j * rows + i : i * cols + j;
                memcpy(base + at * 8, &x, 8);
            }
        tj_array *Aa = tj_array_wrap(TJ_FLOAT64, 2, shape, layout == 1 ? col_major : row_major,
                                     base, NULL, NULL);
        tj_array *va = tjt_array(TJ_FLOAT64, 1, &cols, vv);
        tj_array *res[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++)
            cr_assert_eq(tj_call(k ? g : r, (tj_array *[]){Aa, va}, &res[k]), TJ_OK, "%s",
                         tj_errmsg(ctx));
        cr_expect(same_bits(res[0], res[1]), "call %d (layout %d)", call, layout);
        for (int64_t i = 0; i < rows; i++) {
            double want = 0.5 - 1 + 2 + 0.25;
            for (int64_t j = 0; j < cols; j++)
                want += 2 * datum(i * cols + j, call) * vv[j];
            cr_expect(close_to(tjt_at(res[0], i), want, 1e-12), "call %d row %lld", call,
                      (long long)i);
        }
        tj_array_unref(res[0]);
        tj_array_unref(res[1]);
        tj_array_unref(Aa);
        tj_array_unref(va);
    }
    cr_expect(tjt_jit_off() || replays(r) >= 6, "only %llu calls replayed",
              (unsigned long long)replays(r));
    free(buf);
    tj_ctx_free(ctx);
}

/* ---- two threads ---------------------------------------------------------------------------- */

typedef struct {
    tj_ctx *ctx;
    tj_fn *fn;
    tj_var *s;
    int salt, failures;
} worker;

/* out = x * s + sum(x), s read only: calls run side by side, each with its own workspace */
static void *read_many(void *arg)
{
    worker *w = arg;
    for (int k = 0; k < 600; k++) {
        int64_t n = 3 + (k / 50 + w->salt) % 3; /* runs of one shape, then another */
        tj_array *x = tj_array_new(TJ_FLOAT64, 1, &n), *out = NULL;
        double sum = 0;
        for (int64_t i = 0; i < n; i++) {
            tj_array_set(x, &i, datum(i + k, w->salt));
            sum += datum(i + k, w->salt);
        }
        if (tj_call(w->fn, &x, &out) != TJ_OK) {
            w->failures++;
        } else {
            for (int64_t i = 0; i < n; i++)
                w->failures += !close_to(tjt_at(out, i), datum(i + k, w->salt) * 1.5 + sum, 1e-12);
        }
        tj_array_unref(out);
        tj_array_unref(x);
    }
    return NULL;
}

/* out = x + c; update c = c + sum(x): serialized, so the calls' outputs are c's values in turn */
static void *count_many(void *arg)
{
    worker *w = arg;
    int64_t n = 2;
    tj_array *x = tjt_array(TJ_FLOAT64, 1, &n, (double[]){1, 0});
    tj_array *out = tj_array_new(TJ_FLOAT64, 1, &n);
    for (int k = 0; k < 500; k++) {
        if (tj_call_into(w->fn, &x, &out) != TJ_OK)
            w->failures++;
        double c = tjt_at(out, 1); /* c before this call's update */
        w->failures += tjt_at(out, 0) != c + 1 || c != floor(c) || c < 0 || c >= 1000;
    }
    tj_array_unref(x);
    tj_array_unref(out);
    return NULL;
}

Test(replay, two_threads)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    tj_array *s0 = tj_array_scalar(TJ_FLOAT64, 1.5), *c0 = tj_array_scalar(TJ_FLOAT64, 0);
    tj_var *s = tj_shared(ctx, s0, "s", false), *c = tj_shared(ctx, c0, "c", false);
    tj_array_unref(s0);
    tj_array_unref(c0);
    tj_var *read = tj_add(tj_mul(x, tj_dimshuffle(s, (int[]){-1}, 1)),
                          tj_dimshuffle(tj_sum(x, NULL, 0, false), (int[]){-1}, 1));
    tj_fn *reader = compile(ctx, &x, 1, &read, 1, NULL, true);
    tj_var *count = tj_add(x, tj_dimshuffle(c, (int[]){-1}, 1));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{c, tj_add(c, tj_sum(x, NULL, 0, false))}};
    o.nupdates = 1;
    tj_fn *counter = compile(ctx, &x, 1, &count, 1, &o, true);
    pthread_t t[2];
    worker w[2] = {{ctx, reader, s, 1, 0}, {ctx, reader, s, 2, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, read_many, &w[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(w[i].failures, 0, "reader %d: %d wrong results", i, w[i].failures);
    }
    worker u[2] = {{ctx, counter, c, 1, 0}, {ctx, counter, c, 2, 0}};
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, count_many, &u[i]);
    for (int i = 0; i < 2; i++) {
        pthread_join(t[i], NULL);
        cr_expect_eq(u[i].failures, 0, "counter %d: %d wrong results", i, u[i].failures);
    }
    cr_expect_eq(tjt_at(value_of(c), 0), 1000, "N calls of c += 1 give N");
    tj_ctx_free(ctx);
}
