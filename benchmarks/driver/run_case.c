/* Running one case: every participant (tensorjit runners, C variants, peers) is set up, checked
 * against the C reference, warmed up, then sampled in rounds A B C A B C ... (the start rotating
 * each round) so that a disturbance on this shared machine hits them all alike. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { SETUP_TIMEOUT = 1800, RUN_TIMEOUT = 900, END_TIMEOUT = 120 };

static int next_id = 1;

/* Sends a command and parses the one-line reply. On a dead or silent runner the process is
 * stopped and the runner marked unavailable. Returns 0 when the reply says ok. */
static int exchange(bx_runner *r, const char *cmd, double timeout, jl_obj *o, char *why, int len)
{
    char line[8192];
    if (!r->proc) {
        snprintf(why, (size_t)len, "%s is not running", r->name);
        return -1;
    }
    int rc = bp_send(r->proc, cmd);
    if (rc == 0)
        rc = bp_recv(r->proc, timeout, line, sizeof line);
    if (rc != 0) {
        snprintf(why, (size_t)len, "%s %s after '%s' (see the runner's log)", r->name,
                 rc == -2 ? "timed out" : "died", cmd);
        bx_note(r->note, sizeof r->note, why, NULL);
        bp_stop(r->proc);
        r->proc = NULL;
        return -1;
    }
    if (jl_parse(line, o) != 0) {
        snprintf(why, (size_t)len, "unreadable reply from %s: %.200s", r->name, line);
        return -1;
    }
    if (!jl_bool(o, "ok", false)) {
        const char *m = jl_str(o, "skip");
        snprintf(why, (size_t)len, "%s", m[0] ? m : jl_str(o, "error"));
        return jl_str(o, "skip")[0] ? 1 : -1;
    }
    return 0;
}

static bx_row *add_row(bx_result *res, bx_runner *r, const char *label, const char *variant)
{
    if (res->nrows == BX_MAX_ROWS)
        return NULL;
    bx_row *row = &res->rows[res->nrows++];
    memset(row, 0, sizeof *row);
    snprintf(row->label, sizeof row->label, "%s", label);
    snprintf(row->variant, sizeof row->variant, "%s", variant);
    row->runner = r;
    row->threads = r->threads;
    row->status = RS_OK;
    return row;
}

static void make_rows(const bc_case *c, bx_run *run, bx_result *res)
{
    for (int i = 0; i < run->nrunners; i++) {
        bx_runner *r = &run->runners[i];
        if (r->kind == RK_TJ) {
            if (!(c->tj_default_only && r->threads == 1))
                add_row(res, r, r->name, "-");
        } else if (r->kind == RK_C) {
            for (int v = 0; v < BC_MAX_VARIANTS && c->variants[v]; v++) {
                char label[48];
                snprintf(label, sizeof label, "C %s", c->variants[v]);
                add_row(res, r, label, c->variants[v]);
            }
        } else {
            add_row(res, r, r->name, "-");
        }
    }
}

static void open_row(const bc_case *c, bx_row *row)
{
    char cmd[256], why[600];
    jl_obj o;
    row->id = next_id++;
    snprintf(cmd, sizeof cmd, "case %d %s %s %s", row->id, c->workload, c->size, row->variant);
    int rc = exchange(row->runner, cmd, SETUP_TIMEOUT, &o, why, sizeof why);
    if (rc != 0) {
        row->status = rc > 0 ? RS_SKIPPED : RS_ERROR;
        bx_note(row->note, sizeof row->note, why, NULL);
        return;
    }
    row->opened = true;
    const jl_field *f = jl_get(&o, "check");
    if (f && f->type == JL_ARR) {
        memcpy(row->check, f->arr, (size_t)f->narr * sizeof *f->arr);
        row->ncheck = f->narr;
    }
    int th = (int)jl_num(&o, "threads", 0);
    if (th > 0)
        row->threads = th;
    bx_note(row->note, sizeof row->note, jl_str(&o, "note"), NULL);
}

static void close_row(bx_row *row)
{
    if (!row->opened)
        return;
    char cmd[64], why[600];
    jl_obj o;
    snprintf(cmd, sizeof cmd, "end %d", row->id);
    if (exchange(row->runner, cmd, END_TIMEOUT, &o, why, sizeof why) == 0) {
        const char *note = jl_str(&o, "note");
        if (note[0])
            bx_note(row->note, sizeof row->note, note, NULL);
    }
    row->opened = false;
}

/* The C check every row is compared with: the first C variant, or the referenced C case. */
static int reference(const bc_case *c, bx_run *run, bx_result *res, double *ref, int *nref)
{
    for (int i = 0; i < res->nrows; i++) {
        bx_row *row = &res->rows[i];
        if (row->runner->kind == RK_C && strcmp(row->variant, c->variants[0]) == 0 &&
            row->status == RS_OK && row->ncheck > 0) {
            memcpy(ref, row->check, (size_t)row->ncheck * sizeof *ref);
            *nref = row->ncheck;
            return 0;
        }
    }
    if (!c->ref_workload)
        return -1;
    const bc_case *rc = NULL;
    for (int i = 0; i < bc_ncases; i++)
        if (strcmp(bc_cases[i].workload, c->ref_workload) == 0 &&
            strcmp(bc_cases[i].size, c->ref_size) == 0)
            rc = &bc_cases[i];
    for (int i = 0; rc && i < run->nrunners; i++) {
        bx_runner *r = &run->runners[i];
        if (r->kind != RK_C)
            continue;
        bx_result tmp = {0};
        bx_row *row = add_row(&tmp, r, "C reference", rc->variants[0]);
        open_row(rc, row);
        close_row(row);
        if (row->status == RS_OK && row->ncheck > 0) {
            memcpy(ref, row->check, (size_t)row->ncheck * sizeof *ref);
            *nref = row->ncheck;
            return 0;
        }
    }
    return -1;
}

static void check_rows(const bc_case *c, bx_run *run, bx_result *res)
{
    double ref[JL_MAX_ARRAY];
    int nref = 0;
    if (reference(c, run, res, ref, &nref) != 0) {
        snprintf(res->note, sizeof res->note, "no C reference: results unchecked");
        return;
    }
    for (int i = 0; i < res->nrows; i++) {
        bx_row *row = &res->rows[i];
        if (row->status != RS_OK)
            continue;
        char why[400];
        if (bc_compare(c, ref, nref, row->check, row->ncheck, why, sizeof why) != 0) {
            row->status = RS_FAILED;
            bx_note(row->note, sizeof row->note, "result mismatch: ", why);
        } else {
            row->checked = true;
        }
    }
}

static void warm_row(bx_run *run, bx_row *row)
{
    char cmd[96], why[600];
    jl_obj o;
    /* The budget applies to the peers only: tensorjit and the C limit are always measured. */
    double budget = run->cfg.quick ? run->cfg.quick_row_budget_s : run->cfg.row_budget_s;
    bool peer = row->runner->kind == RK_PEER;
    snprintf(cmd, sizeof cmd, "warmup %d %.6f %.6f", row->id, run->cfg.min_sample_s,
             peer ? budget / run->cfg.samples : 0.0);
    if (exchange(row->runner, cmd, RUN_TIMEOUT, &o, why, sizeof why) != 0) {
        row->status = RS_ERROR;
        bx_note(row->note, sizeof row->note, "warm-up: ", why);
        return;
    }
    row->reps = (long)jl_num(&o, "reps", 1);
    double per_op = jl_num(&o, "seconds", NAN);
    double total = per_op * (double)row->reps * run->cfg.samples;
    if (peer && !(total <= budget)) {
        char t[32];
        bx_format_time(per_op, t, sizeof t);
        row->status = RS_SKIPPED;
        snprintf(row->note, sizeof row->note, "too slow for %s: %s per op",
                 run->cfg.quick ? "QUICK" : "the time budget", t);
    }
}

static void sample_row(bx_row *row)
{
    char cmd[64], why[600];
    jl_obj o;
    snprintf(cmd, sizeof cmd, "sample %d", row->id);
    if (exchange(row->runner, cmd, RUN_TIMEOUT, &o, why, sizeof why) != 0) {
        row->status = RS_ERROR;
        bx_note(row->note, sizeof row->note, "sample: ", why);
        return;
    }
    double t = jl_num(&o, "seconds", NAN);
    if (!(t >= 0)) {
        row->status = RS_ERROR;
        snprintf(row->note, sizeof row->note, "sample: no time in the reply");
        return;
    }
    row->samples[row->nsamples++] = t;
}

/* After the pause, untimed operations for one minimum sample time: the pause also lets this
 * participant's own threads sleep and its data go cold, and a first call that pays for waking
 * them weighed on the ~15-operation samples of the millisecond cases (W3 column sums at two
 * threads: 1.3 ms a call in a steady loop, 2-3 ms in samples taken right after the pause, for
 * tensorjit and the C limit alike). */
static void rewarm_row(const bx_run *run, bx_row *row)
{
    char cmd[64], why[600];
    jl_obj o;
    snprintf(cmd, sizeof cmd, "rewarm %d %.6f", row->id, run->cfg.min_sample_s);
    if (exchange(row->runner, cmd, RUN_TIMEOUT, &o, why, sizeof why) != 0) {
        row->status = RS_ERROR;
        bx_note(row->note, sizeof row->note, "rewarm: ", why);
    }
}

/* Every participant is its own process, and the one sampled before may leave threads spinning
 * after its last operation (OpenBLAS's workers spin ~0.1 s before sleeping, OpenMP runtimes
 * for their block time): on two cores they take CPU from whoever is sampled next. Rotating the
 * order keeps who-follows-whom fixed, so without a pause the same participant always paid for
 * the same neighbour (tensorjit followed the last peer: W4's single sgemm measured 1.4-1.9x the
 * same call in C in full runs, 1.0 alone). A pause before each sample lets them park. */
static void settle(bool quick)
{
    struct timespec t = {0, quick ? 100000000L : 250000000L};
    nanosleep(&t, NULL);
}

/* Every row's samples, in rounds A B C A B C ... with the start rotating each round. */
static void sample_rows(const bx_run *run, bx_result *res)
{
    int n = res->nrows;
    for (int s = 0; s < run->cfg.samples && s < BX_MAX_SAMPLES; s++)
        for (int k = 0; k < n; k++) {
            bx_row *row = &res->rows[(k + s) % n];
            if (row->status != RS_OK)
                continue;
            settle(run->cfg.quick);
            rewarm_row(run, row);
            if (row->status == RS_OK)
                sample_row(row);
        }
}

/* A disturbed case is sampled again. Another tenant of this shared machine can slow everyone 2-4x
 * for tens of seconds: W3's column sums at 23:43 on 2026-11-27 had the C limit's samples spread
 * over 1.25-11.9 ms and tensorjit's over 1.34-8.75 ms, a ratio of 2.95 that one case of noise
 * made. The measure is the worst median/min among the tensorjit and C rows, whichever of them
 * was hit, so no side is favoured; undisturbed cases stayed under 1.8 in the twelve full runs of
 * that day. At most MAX_ATTEMPTS; the steadiest attempt is the one reported. */
enum { MAX_ATTEMPTS = 3 };
#define DISTURBED 2.0

static double unsteadiness(const bx_result *res)
{
    double worst = 1;
    for (int i = 0; i < res->nrows; i++) {
        const bx_row *row = &res->rows[i];
        if (row->status != RS_OK || row->runner->kind == RK_PEER || row->nsamples == 0)
            continue;
        double lo, hi, med = bx_median(row->samples, row->nsamples, &lo, &hi);
        if (lo > 0 && med / lo > worst)
            worst = med / lo;
    }
    return worst;
}

/* Samples every row until the case is steady or MAX_ATTEMPTS are spent, leaves the steadiest
 * attempt's samples in the rows and says so in the case's note when it took more than one. */
static void sample_steadiest(const bx_run *run, bx_result *res)
{
    static double kept[BX_MAX_ROWS][BX_MAX_SAMPLES];
    int nkept[BX_MAX_ROWS] = {0}, attempt = 1;
    double best = INFINITY, first = 0;
    for (;; attempt++) {
        for (int i = 0; i < res->nrows; i++)
            res->rows[i].nsamples = 0;
        sample_rows(run, res);
        double u = unsteadiness(res);
        first = attempt == 1 ? u : first;
        if (u < best) {
            best = u;
            for (int i = 0; i < res->nrows; i++) {
                nkept[i] = res->rows[i].nsamples;
                memcpy(kept[i], res->rows[i].samples, sizeof kept[i]);
            }
        }
        if (u <= DISTURBED || attempt == MAX_ATTEMPTS)
            break;
    }
    for (int i = 0; i < res->nrows; i++) {
        res->rows[i].nsamples = nkept[i];
        memcpy(res->rows[i].samples, kept[i], sizeof kept[i]);
    }
    if (attempt == 1)
        return;
    char why[160], before[sizeof res->note + 2];
    snprintf(why, sizeof why,
             "sampled %d times, the machine disturbed it (worst median/min of tensorjit and C: "
             "%.2f first, %.2f kept)",
             attempt, first, best);
    snprintf(before, sizeof before, "%s%s", res->note, res->note[0] ? "; " : "");
    bx_note(res->note, sizeof res->note, before, why);
}

void bx_run_case(const bc_case *c, bx_run *run, bx_result *res)
{
    memset(res, 0, sizeof *res);
    res->c = c;
    make_rows(c, run, res);
    for (int i = 0; i < res->nrows; i++)
        open_row(c, &res->rows[i]);
    check_rows(c, run, res);
    for (int i = 0; i < res->nrows; i++)
        if (res->rows[i].status == RS_OK)
            warm_row(run, &res->rows[i]);
    sample_steadiest(run, res);
    for (int i = 0; i < res->nrows; i++) {
        bx_row *row = &res->rows[i];
        close_row(row);
        if (row->status == RS_OK)
            row->median = bx_median(row->samples, row->nsamples, &row->min, &row->max);
    }
}
