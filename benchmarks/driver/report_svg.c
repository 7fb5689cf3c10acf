/* The ratios as an SVG chart written by hand (benchmarks/results/latest.svg): bars on a log scale
 * that start at 1.0. Top panel: tensorjit / C limit per case (one thread, and any threads): left of
 * 1 would beat the limit. Bottom panel: peer / tensorjit: right of 1 means tensorjit is faster. */
#include "bench.h"

#include "json_out.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

enum { WIDTH = 980, LABEL_W = 250, BAR_H = 11, GAP = 3, GROUP_GAP = 10, PLOT_L = LABEL_W + 10,
       PLOT_R = WIDTH - 90 };

static const char *peer_colors[] = {"#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02",
                                    "#a6761d", "#666666", "#1b9e77"};

typedef struct {
    FILE *f;
    double lo, hi; /* log10 of the axis ends */
} axis;

static double px(const axis *a, double ratio)
{
    double l = log10(ratio);
    l = l < a->lo ? a->lo : l > a->hi ? a->hi : l;
    return PLOT_L + (l - a->lo) / (a->hi - a->lo) * (PLOT_R - PLOT_L);
}

static double ratio_of(const bx_row *a, const bx_row *b)
{
    if (a && b && a->status == RS_OK && b->status == RS_OK && a->nsamples && b->nsamples)
        return a->median / b->median;
    return NAN;
}

static void text(FILE *f, double x, double y, const char *anchor, const char *style,
                 const char *s)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" %s>", x, y, anchor, style);
    for (; *s; s++) {
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else
            fputc(*s, f);
    }
    fputs("</text>\n", f);
}

static void bar(const axis *a, double y, double r, const char *color, const char *why)
{
    double one = px(a, 1.0);
    char label[48];
    if (!isfinite(r)) {
        text(a->f, one + 4, y + BAR_H - 2, "start", "font-size=\"9\" fill=\"#999\"", why);
        return;
    }
    double x = px(a, r), l = x < one ? x : one, w = fabs(x - one);
    fprintf(a->f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", l,
            y, w < 1 ? 1 : w, BAR_H, color);
    snprintf(label, sizeof label, "%.2f", r);
    text(a->f, x >= one ? x + 3 : x - 3, y + BAR_H - 2, x >= one ? "start" : "end",
         "font-size=\"9\"", label);
}

static void grid(const axis *a, double top, double bottom)
{
    for (int e = (int)floor(a->lo); e <= (int)ceil(a->hi); e++)
        for (int m = 1; m < 10; m++) {
            double v = m * pow(10, e), l = log10(v);
            if (l < a->lo - 1e-9 || l > a->hi + 1e-9)
                continue;
            double x = px(a, v);
            bool major = m == 1 || m == 2 || m == 5;
            fprintf(a->f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n",
                    x, top, x, bottom, v == 1.0 ? "#000" : major ? "#ccc" : "#eee");
            if (major) {
                char s[16];
                snprintf(s, sizeof s, "%g", v);
                text(a->f, x, bottom + 12, "middle", "font-size=\"10\"", s);
            }
        }
}

static const char *status_word(const bx_row *a, const bx_row *b)
{
    if (!a || !b)
        return "n/a";
    if (a->status == RS_FAILED || b->status == RS_FAILED)
        return "FAILED";
    return a->status != RS_OK ? bx_status_name(a->status) : bx_status_name(b->status);
}

/* Axis bounds covering every finite ratio, at least [0.5, 2]. */
static void bounds(const double *v, int n, axis *a)
{
    double lo = 0.5, hi = 2;
    for (int i = 0; i < n; i++)
        if (isfinite(v[i]) && v[i] > 0) {
            lo = fmin(lo, v[i] / 1.3);
            hi = fmax(hi, v[i] * 1.3);
        }
    a->lo = floor(log10(lo) * 2) / 2;
    a->hi = ceil(log10(hi) * 2) / 2;
}

/* A tensorjit configuration's peak memory over the smallest C configuration of the same workload. */
static double mem_ratio(const bx_run *run, const bx_mem *m)
{
    double best = 0;
    for (int k = 0; k < run->nmem; k++) {
        const bx_mem *c = &run->mem[k];
        if (c->ok && c->is_c && strcmp(c->what, m->what) == 0 && (best == 0 || c->median_mb < best))
            best = c->median_mb;
    }
    return m->ok && best > 0 ? m->median_mb / best : NAN;
}

int bx_write_svg(const char *path, const bx_run *run)
{
    double lim[64], peer[512];
    int nlim = 0, npeer = 0, ncases = 0, npeers = 0;
    const bx_runner *peers[BX_MAX_RUNNERS];
    for (int k = 0; k < run->nrunners; k++)
        if (run->runners[k].kind == RK_PEER)
            peers[npeers++] = &run->runners[k];
    for (int i = 0; i < run->nresults && nlim < 62; i++) {
        const bx_result *r = &run->results[i];
        for (int k = 0; k < npeers && npeer < 512; k++)
            peer[npeer++] = ratio_of(bx_row_of(r, peers[k]), bx_tj_row(r, false));
        if (!r->c->variants[0])
            continue;
        ncases++;
        lim[nlim++] = ratio_of(bx_tj_row(r, true), bx_c_limit(r, true));
        lim[nlim++] = ratio_of(bx_tj_row(r, false), bx_c_limit(r, false));
    }
    /* The peer panel leaves out cases where no peer has a ratio (every one skipped). */
    bool shown[32] = {false};
    int peer_cases = 0, nmem = 0;
    for (int i = 0; i < run->nresults && i < 32; i++)
        for (int k = 0; k < npeers && !shown[i]; k++)
            if (isfinite(ratio_of(bx_row_of(&run->results[i], peers[k]),
                                  bx_tj_row(&run->results[i], false)))) {
                shown[i] = true;
                peer_cases++;
            }
    double mem[16];
    for (int i = 0; i < run->nmem; i++)
        if (!run->mem[i].is_c && strncmp(run->mem[i].config, "tj ", 3) == 0)
            mem[nmem++] = mem_ratio(run, &run->mem[i]);
    double h1 = ncases * (2 * (BAR_H + GAP) + GROUP_GAP);
    double h2 = peer_cases * (npeers * (BAR_H + GAP) + GROUP_GAP);
    double h3 = nmem * (BAR_H + GAP) + GROUP_GAP;
    double top1 = 60, top2 = top1 + h1 + 90, top3 = top2 + h2 + 80;
    double height = (nmem ? top3 + h3 : top2 + h2) + 60;
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%.0f\" "
               "font-family=\"sans-serif\">\n<rect width=\"100%%\" height=\"100%%\" "
               "fill=\"#fff\"/>\n", WIDTH, height);
    char title[256];
    snprintf(title, sizeof title, "tensorjit benchmarks %s %s (%s, %d samples >= %.0f ms)",
             run->date, run->git, run->cfg.quick ? "QUICK" : "full", run->cfg.samples,
             run->cfg.min_sample_s * 1e3);
    text(f, 10, 20, "start", "font-size=\"14\" font-weight=\"bold\"", title);

    axis a = {f, 0, 0};
    bounds(lim, nlim, &a);
    text(f, 10, top1 - 18, "start", "font-size=\"12\" font-weight=\"bold\"",
         "tensorjit / C limit (median ratio, log scale; 1 = the hand-written limit, lower is better)");
    fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"#1f78b4\"/>\n",
            PLOT_R - 170, top1 - 28);
    text(f, PLOT_R - 156, top1 - 19, "start", "font-size=\"10\"", "1 thread");
    fprintf(f, "<rect x=\"%d\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"#a6cee3\"/>\n",
            PLOT_R - 95, top1 - 28);
    char all[32];
    snprintf(all, sizeof all, "%d threads", run->cfg.cores);
    text(f, PLOT_R - 81, top1 - 19, "start", "font-size=\"10\"", all);
    grid(&a, top1 - 4, top1 + h1);
    double y = top1;
    for (int i = 0; i < run->nresults; i++) {
        const bx_result *r = &run->results[i];
        if (!r->c->variants[0])
            continue;
        char label[96];
        snprintf(label, sizeof label, "%s %s", r->c->title, r->c->size_label);
        text(f, LABEL_W, y + BAR_H + 3, "end", "font-size=\"11\"", label);
        const bx_row *t1 = bx_tj_row(r, true), *c1 = bx_c_limit(r, true);
        const bx_row *tm = bx_tj_row(r, false), *cm = bx_c_limit(r, false);
        bar(&a, y, ratio_of(t1, c1), "#1f78b4", status_word(t1, c1));
        y += BAR_H + GAP;
        bar(&a, y, ratio_of(tm, cm), "#a6cee3", status_word(tm, cm));
        y += BAR_H + GAP + GROUP_GAP;
    }

    axis b = {f, 0, 0};
    bounds(peer, npeer, &b);
    char t2[160];
    snprintf(t2, sizeof t2, "peer / tensorjit %d threads (median ratio, log scale; above 1 = "
             "tensorjit is faster)", run->cfg.cores);
    text(f, 10, top2 - 32, "start", "font-size=\"12\" font-weight=\"bold\"", t2);
    for (int k = 0; k < npeers; k++) {
        double x = 10 + k * 120;
        fprintf(f, "<rect x=\"%.0f\" y=\"%.0f\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x,
                top2 - 24, peer_colors[k % 8]);
        text(f, x + 14, top2 - 15, "start", "font-size=\"10\"", peers[k]->name);
    }
    grid(&b, top2 - 4, top2 + h2);
    y = top2;
    for (int i = 0; i < run->nresults && i < 32; i++) {
        const bx_result *r = &run->results[i];
        if (!shown[i])
            continue;
        char label[96];
        snprintf(label, sizeof label, "%s %s", r->c->title, r->c->size_label);
        text(f, LABEL_W, y + npeers * (BAR_H + GAP) / 2.0 + 4, "end", "font-size=\"11\"", label);
        const bx_row *tm = bx_tj_row(r, false);
        for (int k = 0; k < npeers; k++) {
            const bx_row *p = bx_row_of(r, peers[k]);
            bar(&b, y, ratio_of(p, tm), peer_colors[k % 8], status_word(p, tm));
            y += BAR_H + GAP;
        }
        y += GROUP_GAP;
    }
    if (nmem) {
        axis c = {f, 0, 0};
        bounds(mem, nmem, &c);
        text(f, 10, top3 - 18, "start", "font-size=\"12\" font-weight=\"bold\"",
             "peak memory, tensorjit / C limit (ru_maxrss of a fresh process; target <= 1.2)");
        grid(&c, top3 - 4, top3 + h3);
        y = top3;
        for (int i = 0; i < run->nmem; i++) {
            const bx_mem *m = &run->mem[i];
            if (m->is_c || strncmp(m->config, "tj ", 3) != 0)
                continue;
            char label[120];
            snprintf(label, sizeof label, "%s, %s", m->what, m->config);
            text(f, LABEL_W, y + BAR_H - 1, "end", "font-size=\"11\"", label);
            bar(&c, y, mem_ratio(run, m), "#1b9e77", m->ok ? "n/a" : "error");
            y += BAR_H + GAP;
        }
    }
    fprintf(f, "</svg>\n");
    return fclose(f) == 0 ? 0 : -1;
}
