/* The benchmark cases (cases.h), in the order, and the check comparison. */
#include "cases.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define ELEM .variants = {"loop_1t", "loop_mt"}
#define W2V .variants = {"two_pass_1t", "blocked_1t", "two_pass_mt", "blocked_mt"}
#define W2OUT .outputs = "prediction,xent,cost,w,b"
#define SGEMM .variants = {"sgemm_1t", "sgemm_mt"}

const bc_case bc_cases[] = {
    {.workload = "W1", .size = "1000000", .title = "W1 sigmoid", .size_label = "n=10^6", ELEM,
     .outputs = "y", .rtol = 1e-4, .quick = true, .target = "<=1.0 (1t), <=1.1 (2t)"},
    {.workload = "W1", .size = "10000000", .title = "W1 sigmoid", .size_label = "n=10^7", ELEM,
     .outputs = "y", .rtol = 1e-4, .target = "<=1.0 (1t), <=1.1 (2t)"},
    {.workload = "W2", .size = "10x3", .title = "W2 logreg step", .size_label = "10x3", W2V, W2OUT,
     .rtol = 1e-3, .quick = true, .target = "<=2.0"},
    {.workload = "W2", .size = "4000x784", .title = "W2 logreg step", .size_label = "4000x784",
     W2V, W2OUT, .rtol = 1e-3, .quick = true, .target = "<=1.15"},
    {.workload = "W2", .size = "100000x100", .title = "W2 logreg step",
     .size_label = "100000x100", W2V, W2OUT, .rtol = 1e-3, .quick = true, .target = "<=1.15"},
    {.workload = "W3sum", .size = "10000000", .title = "W3 sum", .size_label = "n=10^7", ELEM,
     .outputs = "sum", .rtol = 1e-4, .quick = true, .target = "<=1.1"},
    {.workload = "W3rows", .size = "4000x4000", .title = "W3 row sums", .size_label = "4000x4000",
     ELEM, .outputs = "sums", .rtol = 1e-4, .target = "<=1.1"},
    {.workload = "W3cols", .size = "4000x4000", .title = "W3 column sums",
     .size_label = "4000x4000", ELEM, .outputs = "sums", .rtol = 1e-4, .target = "<=1.1"},
    {.workload = "W4", .size = "1024x1024x1024", .title = "W4 dot", .size_label = "1024^3", SGEMM,
     .outputs = "C", .rtol = 1e-4, .flops = 2.0 * 1024 * 1024 * 1024, .target = "<=1.03"},
    {.workload = "W4", .size = "4096x784x500", .title = "W4 dot", .size_label = "4096x784.784x500",
     SGEMM, .outputs = "C", .rtol = 1e-4, .flops = 2.0 * 4096 * 784 * 500, .quick = true,
     .target = "<=1.03"},
    {.workload = "W5", .size = "0d", .title = "W5 call overhead", .size_label = "0-d",
     .variants = {"fnptr"}, .outputs = "x+y,x*y", .rtol = 1e-6, .quick = true,
     .target = "<=50 ns", .in_ns = true},
    {.workload = "W6", .size = "256", .title = "W6 MLP step", .size_label = "batch 256",
     .variants = {"blas_1t", "blas_mt"}, .outputs = "loss,W1,b1,W2,b2", .rtol = 1e-3,
     .quick = true, .target = "<=1.15"},
    {.workload = "W7cold", .size = "4000x784", .title = "W7 compile cold", .size_label = "W2 train",
     .ref_workload = "W2", .ref_size = "10x3", W2OUT, .rtol = 1e-3, .quick = true,
     .tj_default_only = true, .target = "<=50 ms"},
    {.workload = "W7again", .size = "4000x784", .title = "W7 compile again",
     .size_label = "W2 train", .ref_workload = "W2", .ref_size = "10x3", W2OUT, .rtol = 1e-3,
     .quick = true, .tj_default_only = true, .target = "<=50 us"},
};
const int bc_ncases = (int)(sizeof bc_cases / sizeof bc_cases[0]);

static void output_name(const char *outputs, int k, char *out, int len)
{
    const char *p = outputs;
    for (int i = 0; i < k && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p) {
        snprintf(out, (size_t)len, "output %d", k);
        return;
    }
    const char *e = strchr(p, ',');
    snprintf(out, (size_t)len, "%.*s", e ? (int)(e - p) : (int)strlen(p), p);
}

int bc_compare(const bc_case *c, const double *ref, int nref, const double *got, int ngot,
               char *why, int len)
{
    static const char *part[4] = {"sum|v|", "sum v", "weighted sum", "sum v^2"};
    if (nref != ngot || nref % 4 != 0) {
        snprintf(why, (size_t)len, "%d check values, the reference has %d", ngot, nref);
        return -1;
    }
    for (int g = 0; g < nref; g += 4) {
        double scale = fmax(fabs(ref[g]), fabs(got[g]));
        for (int k = 0; k < 4; k++) {
            double r = ref[g + k], v = got[g + k];
            double tol = k == 3 ? 2 * c->rtol * fmax(fabs(r), fabs(v)) : c->rtol * scale;
            if (!isfinite(r) || !isfinite(v) || fabs(r - v) > tol + 1e-30) {
                char name[32];
                output_name(c->outputs, g / 4, name, sizeof name);
                snprintf(why, (size_t)len, "%s: %s %.9g, C reference %.9g", name, part[k], v, r);
                return -1;
            }
        }
    }
    return 0;
}
