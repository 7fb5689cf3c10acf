/* Every public function, every bad argument: the rows of tests/badargs_table.inc (generated from
 * the header by tools/gen-badargs.py) each call one function with one bad argument -- NULL, a
 * handle of the wrong kind, a freed handle, an out-of-range enum or axis, a negative or overflowing
 * size -- and the others valid. Each must return its error value (NULL, a failing status, -1, NaN,
 * ...) with a message in the context or the thread's slot, and never crash (this suite also runs
 * under ASan+UBSan). Freed handles are the ones the header defines: a tj_fn freed while its
 * context lives, a freed tj_ctx before another context reuses its header. Each function's rows
 * run on a fresh fixture; a test runs 16 functions (a crash under ASan names the row's line). */
#include "support.h"

#include <criterion/criterion.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 64 /* every array argument has this many entries: bad counts never read past it */

struct fixture {
    tj_ctx *ctx, *dead_ctx;
    tj_var *x, *shared, *state, *rshape, *sub, *cond, *idx, *i, *cost;
    tj_var *vars[SLOTS], *vars_null[SLOTS], *vars_bad[SLOTS], *ints[SLOTS], *outs[SLOTS];
    tj_var *outv[SLOTS];
    tj_array *arr, *arrs[SLOTS], *arrs_null[SLOTS], *arrs_bad[SLOTS], *outa[SLOTS];
    tj_fn *fn, *dead_fn;
    int64_t shape[SLOTS], shape_neg[SLOTS], shape_huge[SLOTS], shape_bytes[SLOTS];
    int64_t sizes[SLOTS], sizes_huge[SLOTS], strides_huge[SLOTS], index[SLOTS], index_big[SLOTS];
    int axes[SLOTS], axes_big[SLOTS], axes_dup[SLOTS];
    double data[SLOTS];
    FILE *devnull;
    tj_stats stats;
    tj_grad_opts gopts_enum, gopts_count, gopts_null;
    tj_allocator alloc_partial;
    tj_function_opts fopts_mode, fopts_unused, fopts_nupd, fopts_updnull, fopts_updvar,
        fopts_downcast, fopts_optname, fopts_optnull;
    tj_update upd_bad;
    const char *optname_bad;
    tj_var *null_var;
};

static void fill64(int64_t *p, int64_t v)
{
    for (int k = 0; k < SLOTS; k++)
        p[k] = v;
}

static struct fixture *fixture_new(void)
{
    struct fixture *f = calloc(1, sizeof *f);
    cr_assert(f);
    f->ctx = tj_ctx_new();
    f->dead_ctx = tj_ctx_new(); /* freed after f->ctx is made: no later tj_ctx_new reuses it */
    cr_assert(f->ctx && f->dead_ctx);
    tj_ctx_free(f->dead_ctx);
    tj_ctx *c = f->ctx;
    f->x = tj_vector(c, TJ_FLOAT64, "x");
    int64_t three = 3;
    f->arr = tjt_array(TJ_FLOAT64, 1, &three, (double[]){1, 2, 3});
    f->shared = tj_shared(c, f->arr, "w", false);
    f->state = tj_rng_state(c, 7, "rng");
    f->i = tj_scalar(c, TJ_INT64, "i");
    f->rshape = tj_stack(&f->i, 1, 0);
    f->sub = tj_slicei(f->x, 0, 0, 2, 1);
    f->cond = tj_gt(f->x, tj_lit(c, 0));
    f->idx = tj_vector(c, TJ_INT64, "idx");
    f->cost = tj_sum(f->x, NULL, 0, false);
    cr_assert(f->x && f->shared && f->state && f->rshape && f->sub && f->cond && f->cost,
              "%s", tj_errmsg(c));
    for (int k = 0; k < SLOTS; k++) {
        f->vars[k] = f->vars_null[k] = f->vars_bad[k] = f->x;
        f->ints[k] = f->i;
        f->outs[k] = f->cost;
        f->arrs[k] = f->arrs_null[k] = f->arrs_bad[k] = f->arr;
        f->data[k] = k;
    }
    f->vars_null[0] = NULL;
    f->vars_bad[0] = (tj_var *)f->arr;
    f->arrs_null[0] = NULL;
    f->arrs_bad[0] = (tj_array *)f->x;
    fill64(f->shape, 3);
    fill64(f->shape_neg, -5);
    fill64(f->shape_huge, INT64_C(1) << 32);  /* 2^32 * 2^32 elements */
    fill64(f->shape_bytes, INT64_C(1) << 61); /* 2^61 float64 = 2^64 bytes */
    fill64(f->sizes, -1);
    fill64(f->sizes_huge, INT64_MAX);
    fill64(f->strides_huge, INT64_MAX); /* (3 - 1) * INT64_MAX bytes */
    fill64(f->index, 0);
    fill64(f->index_big, 99);
    for (int k = 0; k < SLOTS; k++) {
        f->axes[k] = 0;
        f->axes_big[k] = 99;
        f->axes_dup[k] = 0;
    }
    f->devnull = fopen("/dev/null", "w");
    cr_assert(f->devnull);
    /* the reference executor: no LLVM compile in each of the suite's forks */
    tj_function_opts quick = TJ_FUNCTION_OPTS_INIT;
    quick.mode = TJ_MODE_FAST_COMPILE;
    f->fn = tj_function(c, &f->x, 1, &f->cost, 1, &quick);
    f->dead_fn = tj_function(c, &f->x, 1, &f->x, 1, &quick);
    cr_assert(f->fn && f->dead_fn, "%s", tj_errmsg(c));
    tj_fn_free(f->dead_fn); /* its header stays in the context's arena, marked dead */

    tj_grad_opts g = TJ_GRAD_OPTS_INIT;
    f->gopts_enum = f->gopts_count = f->gopts_null = g;
    f->gopts_enum.disconnected_inputs = (tj_disconnected)99;
    f->gopts_count.nconsider_constant = -1;
    f->gopts_null.consider_constant = &f->null_var;
    f->gopts_null.nconsider_constant = 1;
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    f->fopts_mode = f->fopts_unused = f->fopts_nupd = f->fopts_updnull = f->fopts_updvar = o;
    f->fopts_downcast = f->fopts_optname = f->fopts_optnull = o;
    f->fopts_mode.mode = (tj_mode)99;
    f->fopts_unused.on_unused_input = (tj_unused_input)99;
    f->fopts_nupd.nupdates = -1;
    f->fopts_updnull.nupdates = 1;
    f->upd_bad = (tj_update){f->x, f->x};
    f->fopts_updvar.updates = &f->upd_bad;
    f->fopts_updvar.nupdates = 1;
    f->fopts_downcast.allow_input_downcast = 7;
    f->optname_bad = "no_such_pass";
    f->fopts_optname.optimizer_excluding = &f->optname_bad;
    f->fopts_optname.noptimizer_excluding = 1;
    f->fopts_optnull.noptimizer_including = 1;
    return f;
}

static void fixture_free(struct fixture *f)
{
    tj_array_unref(f->arr);
    fclose(f->devnull);
    tj_ctx_free(f->ctx);
    free(f);
}

#define FIXTURE(name) struct fixture *f = fixture_new()
#define END_FIXTURE() fixture_free(f)

/* The error value of each return type; a non-error result is released before failing. */
#define WHAT "%s: %s %s", fname, param, label
#define EXPECT_NULL(call) cr_expect(!(call), WHAT)
#define EXPECT_NULL_ARRAY(call)                                                                   \
    do {                                                                                          \
        tj_array *r_ = (call);                                                                    \
        cr_expect(!r_, WHAT);                                                                     \
        tj_array_unref(r_);                                                                       \
    } while (0)
#define EXPECT_NULL_FN(call)                                                                      \
    do {                                                                                          \
        tj_fn *r_ = (call);                                                                       \
        cr_expect(!r_, WHAT);                                                                     \
        tj_fn_free(r_);                                                                           \
    } while (0)
#define EXPECT_NULL_FREE(call)                                                                    \
    do {                                                                                          \
        char *r_ = (call);                                                                        \
        cr_expect(!r_, WHAT);                                                                     \
        free(r_);                                                                                 \
    } while (0)
#define EXPECT_STATUS(call) cr_expect((call) != TJ_OK, WHAT)
#define EXPECT_MINUS1(call) cr_expect_eq((call), -1, WHAT)
#define EXPECT_NAN(call) cr_expect(isnan((call)), WHAT)
#define EXPECT_FALSE(call) cr_expect(!(call), WHAT)
#define EXPECT_NODTYPE(call) cr_expect_eq((call), TJ_NUM_DTYPES, WHAT)
#define EXPECT_ZERO(call) cr_expect_eq((call), 0, WHAT)
#define EXPECT_VOID(call) (call)
/* a const char * answer: the name lookups give their documented sentinel, tj_errmsg a sentence */
#define EXPECT_STRING(call)                                                                       \
    do {                                                                                          \
        const char *r_ = (call);                                                                  \
        cr_expect(r_ && *r_, WHAT);                                                               \
        if (r_ && strcmp(fname, "tj_dtype_name") == 0)                                            \
            cr_expect_str_eq(r_, "invalid", WHAT);                                                \
        if (r_ && strcmp(fname, "tj_status_name") == 0)                                           \
            cr_expect_str_eq(r_, "TJ_ERR_UNKNOWN", WHAT);                                         \
    } while (0)

#define MESSAGE true
#define SILENT false

static bool has_message(const struct fixture *f)
{
    return tj_errmsg(f->ctx)[0] != '\0' || tj_errmsg(NULL)[0] != '\0';
}

/* One row: both error slots cleared, the call, its error value, the message. */
#define ROW(check, message, fname_, param_, label_, call)                                         \
    do {                                                                                          \
        const char *fname = fname_, *param = param_, *label = label_;                             \
        tj_clear_error(f->ctx);                                                                   \
        tj_clear_error(NULL);                                                                     \
        check(call);                                                                              \
        if (message)                                                                              \
            cr_expect(has_message(f), "%s: %s %s: no message", fname, param, label);              \
    } while (0)

#include "badargs_table.inc"
