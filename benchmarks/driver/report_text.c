/* The report on stdout: tensorjit against the C limit, against the peers, W7, peak memory, then
 * every participant's median [min - max] and notes. */
#include "bench.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* A row's median (in ns when ns is set), or its status. */
static void cell_in(const bx_row *row, bool ns, char *out, int len)
{
    if (!row)
        snprintf(out, (size_t)len, "-");
    else if (row->status == RS_OK && row->nsamples > 0 && ns)
        snprintf(out, (size_t)len, "%.0f ns", row->median * 1e9);
    else if (row->status == RS_OK && row->nsamples > 0)
        bx_format_time(row->median, out, len);
    else
        snprintf(out, (size_t)len, "%s", row->status == RS_OK ? "-" : bx_status_name(row->status));
}

static void cell(const bx_row *row, char *out, int len)
{
    cell_in(row, false, out, len);
}

static void ratio(const bx_row *a, const bx_row *b, char *out, int len)
{
    if (a && b && a->status == RS_OK && b->status == RS_OK && a->nsamples && b->nsamples)
        snprintf(out, (size_t)len, "%.2f", a->median / b->median);
    else
        snprintf(out, (size_t)len, "-");
}

static bool has_c(const bx_result *r)
{
    return r->c->variants[0] != NULL;
}

static void limit_cell(const bx_row *lim, bool ns, char *out, int len)
{
    char t[32];
    cell_in(lim, ns, t, sizeof t);
    if (lim)
        snprintf(out, (size_t)len, "%s %s", t, lim->variant);
    else
        snprintf(out, (size_t)len, "-");
}

static void vs_limit(FILE *f, const bx_run *run)
{
    fprintf(f, "\nAgainst the C limit (medians; tj/C = tensorjit / C limit, lower is better, "
               "1.00 = the limit;\nthe C limit is the fastest checked C variant with that many "
               "threads, named after its time)\n");
    char tjn[16], cn[24];
    snprintf(tjn, sizeof tjn, "tj %dt", run->cfg.cores);
    snprintf(cn, sizeof cn, "C limit <=%dt", run->cfg.cores);
    fprintf(f, "%-22s %-17s %-10s %-22s %-6s %-10s %-22s %-6s %s\n", "workload", "size", "tj 1t",
            "C limit 1t", "tj/C", tjn, cn, "tj/C", "target");
    for (int i = 0; i < run->nresults; i++) {
        const bx_result *r = &run->results[i];
        if (!has_c(r))
            continue;
        bool ns = r->c->in_ns;
        const bx_row *t1 = bx_tj_row(r, true), *tm = bx_tj_row(r, false);
        const bx_row *c1 = bx_c_limit(r, true), *cm = bx_c_limit(r, false);
        char a[32], b[80], c[16], d[32], e[80], g[16];
        cell_in(t1, ns, a, sizeof a);
        limit_cell(c1, ns, b, sizeof b);
        ratio(t1, c1, c, sizeof c);
        cell_in(tm, ns, d, sizeof d);
        limit_cell(cm, ns, e, sizeof e);
        ratio(tm, cm, g, sizeof g);
        fprintf(f, "%-22s %-17s %-10s %-22s %-6s %-10s %-22s %-6s %s\n", r->c->title,
                r->c->size_label, a, b, c, d, e, g, r->c->target);
    }
}

static void vs_peers(FILE *f, const bx_run *run)
{
    char tjn[16];
    snprintf(tjn, sizeof tjn, "tj %dt", run->cfg.cores);
    fprintf(f, "\nPeers (medians; (x) = peer / %s, above 1 means tensorjit is faster)\n", tjn);
    fprintf(f, "%-22s %-17s %-10s", "workload", "size", tjn);
    for (int k = 0; k < run->nrunners; k++)
        if (run->runners[k].kind == RK_PEER)
            fprintf(f, " %-18s", run->runners[k].name);
    fprintf(f, "\n");
    for (int i = 0; i < run->nresults; i++) {
        const bx_result *r = &run->results[i];
        const bx_row *tm = bx_tj_row(r, false);
        char a[32];
        cell_in(tm, r->c->in_ns, a, sizeof a);
        fprintf(f, "%-22s %-17s %-10s", r->c->title, r->c->size_label, a);
        for (int k = 0; k < run->nrunners; k++) {
            if (run->runners[k].kind != RK_PEER)
                continue;
            const bx_row *p = bx_row_of(r, &run->runners[k]);
            char t[32], q[16], both[64];
            cell_in(p, r->c->in_ns, t, sizeof t);
            ratio(p, tm, q, sizeof q);
            if (strcmp(q, "-") != 0)
                snprintf(both, sizeof both, "%s (%s)", t, q);
            else
                snprintf(both, sizeof both, "%s", t);
            fprintf(f, " %-18s", both);
        }
        fprintf(f, "\n");
    }
}

static void compile_table(FILE *f, const bx_run *run)
{
    bool any = run->disk_measured;
    for (int i = 0; i < run->nresults; i++)
        any |= !has_c(&run->results[i]);
    if (!any)
        return;
    fprintf(f, "\nW7 compile latency of W2's train function (build + grad + compile; median "
               "[min - max])\n");
    for (int i = 0; i < run->nresults; i++) {
        const bx_result *r = &run->results[i];
        if (has_c(r))
            continue;
        bool cold = strcmp(r->c->workload, "W7cold") == 0;
        fprintf(f, "  %s: %s\n", r->c->title,
                cold ? "a fresh context each time, in a process that has compiled before"
                     : "the same graph built and compiled again in the same context");
        for (int k = 0; k < r->nrows; k++) {
            const bx_row *row = &r->rows[k];
            char t[32], lo[32], hi[32];
            cell(row, t, sizeof t);
            bx_format_time(row->min, lo, sizeof lo);
            bx_format_time(row->max, hi, sizeof hi);
            if (row->status == RS_OK && row->nsamples)
                fprintf(f, "    %-16s %-10s [%s - %s]  %s\n", row->label, t, lo, hi, row->note);
            else
                fprintf(f, "    %-16s %-10s %s\n", row->label, t, row->note);
        }
        fprintf(f, "    target %s\n", r->c->target);
    }
    if (run->disk_measured) {
        const bx_disk *d = &run->disk;
        char t[32], lo[32], hi[32];
        fprintf(f, "  W7 in a new process (fresh tjrun per sample, %d pairs%s)\n", d->n,
                d->quick_cut ? ", cut short by QUICK's time budget" : "");
        if (!d->ok) {
            fprintf(f, "    failed: %s\n", d->note);
            return;
        }
        bx_format_time(d->first_median, t, sizeof t);
        bx_format_time(d->first_min, lo, sizeof lo);
        bx_format_time(d->first_max, hi, sizeof hi);
        fprintf(f, "    %-34s %-10s [%s - %s]\n", "first compile, empty disk cache", t, lo, hi);
        if (d->disk_hits == 0) {
            fprintf(f, "    %-34s %s\n", "disk cache warm", d->note);
        } else {
            bx_format_time(d->warm_median, t, sizeof t);
            bx_format_time(d->warm_min, lo, sizeof lo);
            bx_format_time(d->warm_max, hi, sizeof hi);
            fprintf(f, "    %-34s %-10s [%s - %s]  (%llu disk-cache hits)  target <=3 ms\n",
                    "disk cache warm", t, lo, hi, d->disk_hits);
        }
    }
}

static void memory_table(FILE *f, const bx_run *run)
{
    if (run->nmem == 0)
        return;
    fprintf(f, "\nPeak memory (ru_maxrss of a fresh process: setup + 5 operations; median of %d; "
               "target tj <= 1.2 x C)\n", run->mem[0].n);
    fprintf(f, "  %-16s %-24s %10s %10s  %s\n", "workload", "configuration", "MiB", "/ C best",
            "compile server (own process)");
    for (int i = 0; i < run->nmem; i++) {
        const bx_mem *m = &run->mem[i];
        double best = 0;
        for (int k = 0; k < run->nmem; k++)
            if (run->mem[k].ok && run->mem[k].is_c && strcmp(run->mem[k].what, m->what) == 0 &&
                (best == 0 || run->mem[k].median_mb < best))
                best = run->mem[k].median_mb;
        if (!m->ok) {
            fprintf(f, "  %-16s %-24s %10s  %s\n", m->what, m->config, "error", m->note);
            continue;
        }
        char r[16] = "";
        if (best > 0)
            snprintf(r, sizeof r, "%.2f", m->median_mb / best);
        char server[48] = "";
        if (m->server_mb > 0)
            snprintf(server, sizeof server, "%.1f MiB peak", m->server_mb);
        fprintf(f, "  %-16s %-24s %10.1f %10s  %s\n", m->what, m->config, m->median_mb, r,
                server);
    }
}

static void details(FILE *f, const bx_run *run)
{
    fprintf(f, "\nEvery participant: median [min - max] of the samples, operations per sample, "
               "status, note\n");
    for (int i = 0; i < run->nresults; i++) {
        const bx_result *r = &run->results[i];
        fprintf(f, "%s %s%s%s\n", r->c->title, r->c->size_label, r->note[0] ? ": " : "", r->note);
        for (int k = 0; k < r->nrows; k++) {
            const bx_row *row = &r->rows[k];
            char t[32], lo[32], hi[32];
            cell(row, t, sizeof t);
            bx_format_time(row->min, lo, sizeof lo);
            bx_format_time(row->max, hi, sizeof hi);
            const char *st = row->status == RS_OK ? (row->checked ? "ok, checked" : "ok, unchecked")
                                                  : bx_status_name(row->status);
            if (row->status == RS_OK && row->nsamples)
                fprintf(f, "  %-18s %-10s [%s - %s] x%-8ld %d samples  %s  %s\n", row->label, t,
                        lo, hi, row->reps, row->nsamples, st, row->note);
            else
                fprintf(f, "  %-18s %-10s %s\n", row->label, st, row->note);
            if (row->status == RS_OK && row->nsamples && r->c->flops > 0)
                fprintf(f, "  %-18s %.1f GFLOP/s\n", "", r->c->flops / row->median * 1e-9);
        }
    }
    fprintf(f, "\nRunners\n");
    for (int k = 0; k < run->nrunners; k++) {
        const bx_runner *r = &run->runners[k];
        fprintf(f, "  %-16s %s%s%s %s\n", r->name, r->proc || r->version[0] ? r->version : "missing",
                r->interp[0] ? " via " : "", r->interp, r->note);
    }
}

void bx_print_report(FILE *f, const bx_run *run)
{
    fprintf(f, "tensorjit benchmarks  %s  %s  %s, %d cores\n", run->date, run->git, run->machine,
            run->cfg.cores);
    fprintf(f, "%s: %d samples per participant, each >= %.0f ms, interleaved with the others\n",
            run->cfg.quick ? "QUICK" : "full", run->cfg.samples, run->cfg.min_sample_s * 1e3);
    fprintf(f, "%s\n", run->blas_note);
    vs_limit(f, run);
    vs_peers(f, run);
    compile_table(f, run);
    memory_table(f, run);
    details(f, run);
}
