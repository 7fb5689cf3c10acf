/* The run as JSON (benchmarks/results/latest.json and a dated copy). */
#include "bench.h"

#include "json_out.h"

#include <math.h>
#include <stdio.h>

static const char *kind_name(rk_kind k)
{
    return k == RK_TJ ? "tensorjit" : k == RK_C ? "c" : "peer";
}

static double ratio(const bx_row *a, const bx_row *b)
{
    if (a && b && a->status == RS_OK && b->status == RS_OK && a->nsamples && b->nsamples)
        return a->median / b->median;
    return NAN;
}

static void row_json(FILE *f, const bx_row *row)
{
    fprintf(f, "{\"label\":");
    jo_str(f, row->label);
    fprintf(f, ",\"runner\":");
    jo_str(f, row->runner->name);
    fprintf(f, ",\"kind\":\"%s\",\"variant\":", kind_name(row->runner->kind));
    jo_str(f, row->variant);
    fprintf(f, ",\"threads\":%d,\"status\":\"%s\",\"checked\":%s,\"note\":", row->threads,
            bx_status_name(row->status), row->checked ? "true" : "false");
    jo_str(f, row->note);
    fprintf(f, ",\"reps_per_sample\":%ld,\"samples_s\":[", row->reps);
    for (int i = 0; i < row->nsamples; i++) {
        if (i)
            fputc(',', f);
        jo_num(f, row->samples[i]);
    }
    fprintf(f, "],\"median_s\":");
    jo_num(f, row->nsamples ? row->median : NAN);
    fprintf(f, ",\"min_s\":");
    jo_num(f, row->nsamples ? row->min : NAN);
    fprintf(f, ",\"max_s\":");
    jo_num(f, row->nsamples ? row->max : NAN);
    fprintf(f, "}");
}

static void case_json(FILE *f, const bx_run *run, const bx_result *r)
{
    const bc_case *c = r->c;
    fprintf(f, "{\"workload\":");
    jo_str(f, c->workload);
    fprintf(f, ",\"size\":");
    jo_str(f, c->size);
    fprintf(f, ",\"title\":");
    jo_str(f, c->title);
    fprintf(f, ",\"size_label\":");
    jo_str(f, c->size_label);
    fprintf(f, ",\"target\":");
    jo_str(f, c->target);
    fprintf(f, ",\"note\":");
    jo_str(f, r->note);
    const bx_row *t1 = bx_tj_row(r, true), *tm = bx_tj_row(r, false);
    const bx_row *c1 = bx_c_limit(r, true), *cm = bx_c_limit(r, false);
    fprintf(f, ",\"c_limit_1t\":");
    jo_str(f, c1 ? c1->label : "");
    fprintf(f, ",\"c_limit\":");
    jo_str(f, cm ? cm->label : "");
    fprintf(f, ",\"tj_1t_over_c_limit_1t\":");
    jo_num(f, ratio(t1, c1));
    fprintf(f, ",\"tj_over_c_limit\":");
    jo_num(f, ratio(tm, cm));
    fprintf(f, ",\"peer_over_tj\":{");
    int n = 0;
    for (int k = 0; k < run->nrunners; k++) {
        if (run->runners[k].kind != RK_PEER)
            continue;
        fprintf(f, "%s", n++ ? "," : "");
        jo_str(f, run->runners[k].name);
        fputc(':', f);
        jo_num(f, ratio(bx_row_of(r, &run->runners[k]), tm));
    }
    fprintf(f, "},\"rows\":[");
    for (int i = 0; i < r->nrows; i++) {
        fprintf(f, "%s\n    ", i ? "," : "");
        row_json(f, &r->rows[i]);
    }
    fprintf(f, "]}");
}

static void runners_json(FILE *f, const bx_run *run)
{
    fprintf(f, "\"runners\":[");
    for (int k = 0; k < run->nrunners; k++) {
        const bx_runner *r = &run->runners[k];
        fprintf(f, "%s\n  {\"name\":", k ? "," : "");
        jo_str(f, r->name);
        fprintf(f, ",\"kind\":\"%s\",\"threads\":%d,\"version\":", kind_name(r->kind), r->threads);
        jo_str(f, r->version);
        fprintf(f, ",\"python\":");
        jo_str(f, r->interp);
        fprintf(f, ",\"note\":");
        jo_str(f, r->note);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

static void extras_json(FILE *f, const bx_run *run)
{
    const bx_disk *d = &run->disk;
    fprintf(f, ",\n\"compile_new_process\":");
    if (!run->disk_measured) {
        fprintf(f, "null");
    } else {
        fprintf(f, "{\"ok\":%s,\"pairs\":%d,\"first_median_s\":", d->ok ? "true" : "false", d->n);
        jo_num(f, d->first_median);
        fprintf(f, ",\"first_min_s\":");
        jo_num(f, d->first_min);
        fprintf(f, ",\"first_max_s\":");
        jo_num(f, d->first_max);
        fprintf(f, ",\"disk_cache_hits\":%llu,\"disk_warm_median_s\":", d->disk_hits);
        jo_num(f, d->disk_hits ? d->warm_median : NAN);
        fprintf(f, ",\"note\":");
        jo_str(f, d->note);
        fprintf(f, "}");
    }
    fprintf(f, ",\n\"memory\":[");
    for (int i = 0; i < run->nmem; i++) {
        const bx_mem *m = &run->mem[i];
        fprintf(f, "%s\n  {\"what\":", i ? "," : "");
        jo_str(f, m->what);
        fprintf(f, ",\"config\":");
        jo_str(f, m->config);
        fprintf(f, ",\"ok\":%s,\"median_mib\":", m->ok ? "true" : "false");
        jo_num(f, m->ok ? m->median_mb : NAN);
        fprintf(f, ",\"hwm_mib_last\":");
        jo_num(f, m->hwm_mb);
        fprintf(f, ",\"compile_server_peak_mib\":");
        jo_num(f, m->server_mb);
        fprintf(f, ",\"runs_mib\":[");
        for (int k = 0; k < m->n; k++) {
            if (k)
                fputc(',', f);
            jo_num(f, m->mb[k]);
        }
        fprintf(f, "],\"note\":");
        jo_str(f, m->note);
        fprintf(f, "}");
    }
    fprintf(f, "]");
}

int bx_write_json(const char *path, const bx_run *run)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "{\"date\":");
    jo_str(f, run->date);
    fprintf(f, ",\"git\":");
    jo_str(f, run->git);
    fprintf(f, ",\"machine\":");
    jo_str(f, run->machine);
    fprintf(f, ",\"cores\":%d,\"quick\":%s,\"samples\":%d,\"min_sample_s\":", run->cfg.cores,
            run->cfg.quick ? "true" : "false", run->cfg.samples);
    jo_num(f, run->cfg.min_sample_s);
    fprintf(f, ",\"openblas\":");
    jo_str(f, run->blas_note);
    fprintf(f, ",\"openblas_env\":");
    jo_str(f, run->blas_env);
    fprintf(f, ",\n");
    runners_json(f, run);
    fprintf(f, ",\n\"cases\":[");
    for (int i = 0; i < run->nresults; i++) {
        fprintf(f, "%s\n ", i ? "," : "");
        case_json(f, run, &run->results[i]);
    }
    fprintf(f, "]");
    extras_json(f, run);
    fprintf(f, "}\n");
    return fclose(f) == 0 ? 0 : -1;
}
