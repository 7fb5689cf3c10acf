/* TJ_MODE_DEBUG's check of the optimizer: the node before and the node after every rewrite are
 * evaluated by the reference executor on the call's actual inputs (one walk: shared subgraphs
 * are computed once), and the first rewrite that changes a value beyond tolerance, or makes a
 * NaN (or an infinity) where there was a finite value, is reported with both nodes. A rewrite
 * that turns an overflow into a finite value is what stabilization is for, not a mismatch. */
#include "opt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Stabilizing rewrites exist to change values the written formula gets wrong by cancellation
 * (log(1 - sigmoid(30)) in float64 is off in its third digit): they are held to a looser bound,
 * the others to rounding. */
static double tolerance(tj_dtype d, bool stabilizing)
{
    if (stabilizing && tj_dtype_is_float(d))
        return 1e-3;
    return d == TJ_FLOAT32 ? 1e-4 : d == TJ_FLOAT64 ? 1e-8 : 0;
}

/* The first element where after differs from before (-1: none); *why says how. */
static int64_t first_difference(tj_ctx *ctx, const tj_array *b, const tj_array *a, bool stabilizing,
                                const char **why, double *bv, double *av)
{
    *why = "";
    *bv = *av = NAN;
    if (b->ndim != a->ndim || memcmp(b->shape, a->shape, sizeof(int64_t) * (size_t)b->ndim)) {
        *why = "the shapes differ";
        return 0;
    }
    tj_array *cb = tjA_convert(ctx, b, TJ_FLOAT64), *ca = tjA_convert(ctx, a, TJ_FLOAT64);
    int64_t bad = -1;
    if (!cb || !ca) {
        tj_array_unref(cb);
        tj_array_unref(ca);
        *why = "out of memory comparing";
        return 0;
    }
    const double *x = (const double *)cb->data, *y = (const double *)ca->data;
    double rtol = tolerance(b->dtype, stabilizing), scale = 0;
    for (int64_t i = 0; i < cb->size; i++)
        if (isfinite(x[i]))
            scale = fmax(scale, fabs(x[i]));
    double atol = rtol * scale + (b->dtype == TJ_FLOAT32 ? 1e-30 : 1e-300);
    for (int64_t i = 0; i < cb->size && bad < 0; i++) {
        double u = x[i], v = y[i];
        if (isnan(v) && !isnan(u)) {
            *why = "a NaN appeared";
            bad = i;
        } else if (isfinite(u) && !isfinite(v)) {
            *why = "an infinity appeared";
            bad = i;
        } else if (isfinite(u) && fabs(u - v) > rtol * fmax(fabs(u), fabs(v)) + atol) {
            *why = "the values differ beyond tolerance";
            bad = i;
        } else if (isinf(u) && isinf(v) && (u > 0) != (v > 0)) {
            *why = "an infinity changed sign";
            bad = i;
        }
    }
    if (bad >= 0)
        *bv = x[bad], *av = y[bad];
    tj_array_unref(cb);
    tj_array_unref(ca);
    return bad;
}

tj_status tjR_debug_check(tj_ctx *ctx, const tjR_log *log, tj_var *const *inputs,
                          tj_array *const *values, int nin, const char *fname)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++)
        n += !log->e[i].note;
    if (n == 0)
        return TJ_OK;
    tj_var **outs = tjC_malloc(ctx, sizeof *outs * 2 * n);
    tj_array **res = tjC_calloc(ctx, 2 * n, sizeof *res);
    size_t *entry = tjC_malloc(ctx, sizeof *entry * n);
    tj_status st = TJ_OK;
    if (!outs || !res || !entry) {
        st = tjC_error(ctx, TJ_ERR_NOMEM, "DEBUG mode: out of memory checking the rewrites");
        goto done;
    }
    size_t k = 0;
    for (size_t i = 0; i < log->n; i++)
        if (!log->e[i].note) {
            outs[2 * k] = log->e[i].before;
            outs[2 * k + 1] = log->e[i].after;
            entry[k++] = i;
        }
    /* one walk for everything; when it fails, pair by pair to find the rewrite responsible */
    bool all = tjI_eval(ctx, inputs, values, nin, outs, (int)(2 * n), res) == TJ_OK;
    char b1[400], b2[400];
    for (k = 0; k < n && st == TJ_OK; k++) {
        const tjR_entry *e = &log->e[entry[k]];
        tj_array *pair[2] = {NULL, NULL};
        if (all) {
            pair[0] = tj_array_ref(res[2 * k]);
            pair[1] = tj_array_ref(res[2 * k + 1]);
        } else {
            if (tjI_eval(ctx, inputs, values, nin, &outs[2 * k], 1, &pair[0]) != TJ_OK)
                continue; /* the written graph fails here itself: nothing to compare */
            if (tjI_eval(ctx, inputs, values, nin, &outs[2 * k + 1], 1, &pair[1]) != TJ_OK) {
                char msg[sizeof ctx->errmsg];
                snprintf(msg, sizeof msg, "%s", ctx->errmsg);
                tjR_expr(e->before, b1, sizeof b1);
                tjR_expr(e->after, b2, sizeof b2);
                st = tjC_error(ctx, TJ_ERR_VALUE,
                               "DEBUG mode, function '%s': rewrite %zu (pass %s, rule %s) made a "
                               "graph that fails where the written one works: #%llu %s -> #%llu "
                               "%s: %s",
                               fname, entry[k] + 1, e->pass, e->rule,
                               (unsigned long long)e->before->id, b1,
                               (unsigned long long)e->after->id, b2, msg);
                tj_array_unref(pair[0]);
                break;
            }
        }
        const char *why;
        double u, v;
        bool stabilizing = strcmp(e->pass, "stabilize") == 0;
        int64_t bad = first_difference(ctx, pair[0], pair[1], stabilizing, &why, &u, &v);
        if (bad >= 0) {
            tjR_expr(e->before, b1, sizeof b1);
            tjR_expr(e->after, b2, sizeof b2);
            st = tjC_error(ctx, TJ_ERR_VALUE,
                           "DEBUG mode, function '%s': rewrite %zu (pass %s, rule %s) changed a "
                           "value: %s at element %lld (%.17g before, %.17g after); before: #%llu "
                           "%s; after: #%llu %s (exclude the rule with optimizer_excluding)",
                           fname, entry[k] + 1, e->pass, e->rule, why, (long long)bad, u, v,
                           (unsigned long long)e->before->id, b1,
                           (unsigned long long)e->after->id, b2);
        }
        tj_array_unref(pair[0]);
        tj_array_unref(pair[1]);
    }
    if (!all && st == TJ_OK) {
        ctx->err = TJ_OK; /* the written graph's own failure is reported by the run itself */
        ctx->errmsg[0] = '\0';
    }
done:
    for (size_t i = 0; res && i < 2 * n; i++)
        tj_array_unref(res[i]);
    tjC_free(ctx, outs);
    tjC_free(ctx, res);
    tjC_free(ctx, entry);
    return st;
}
