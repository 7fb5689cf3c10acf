/* The benchmark cases: which workload at which size, its C variants and check tolerance. */
#ifndef CASES_H
#define CASES_H

#include <stdbool.h>

#define BC_MAX_VARIANTS 4

typedef struct {
    const char *workload;   /* the runners' name: "W2" */
    const char *size;       /* the runners' size: "4000x784" */
    const char *title;      /* "W2 logreg train step" */
    const char *size_label; /* "4000x784" */
    const char *variants[BC_MAX_VARIANTS]; /* C variants; the first is the check reference */
    const char *ref_workload, *ref_size;   /* no C variant: the C case whose check to use */
    const char *outputs;    /* names of the fingerprinted outputs, comma-separated */
    double rtol;            /* fingerprint tolerance */
    double flops;           /* floating-point operations per op (0: not reported) */
    bool quick;             /* part of QUICK=1 */
    bool tj_default_only;   /* one tensorjit runner (the default thread count) is enough */
    const char *target;     /* the target, for the table */
    bool in_ns;             /* report times in ns (the call-overhead workload) */
} bc_case;

extern const bc_case bc_cases[];
extern const int bc_ncases;

/* 0 if the fingerprints agree within rtol, else -1 with the first disagreement in why. */
int bc_compare(const bc_case *c, const double *ref, int nref, const double *got, int ngot,
               char *why, int len);

#endif
