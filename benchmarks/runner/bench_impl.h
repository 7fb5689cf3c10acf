/* One implementation of one benchmark case, as the runner process (tjrun) holds it.
 *
 * A case is a workload ("W2"), a size ("4000x784") and a variant ("blocked_mt", or "-"). Its setup
 * allocates the data (bench_data.h), prepares the implementation, runs ONE operation from the
 * initial state and fingerprints that operation's results into `check`; the driver compares the
 * check with the C reference's before it believes any time. After setup, `op` (or `timed_op`) is
 * the operation the samples repeat. */
#ifndef BENCH_IMPL_H
#define BENCH_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define BI_MAX_CHECK 40 /* ten fingerprinted outputs */
#define BI_MAX_DIMS 4

typedef struct {
    char workload[16];
    char size[64];
    int64_t dims[BI_MAX_DIMS];
    int ndims;
    char variant[32];
} bi_spec;

typedef struct {
    void *state;
    int (*op)(void *state);          /* one operation; 0 on success */
    double (*timed_op)(void *state); /* instead of op: one operation that times its own part and
                                        returns seconds, < 0 on failure */
    void (*destroy)(void *state);    /* frees state; may be NULL */
    /* optional: a note written after the samples (W7 reports code-cache hits this way) */
    void (*describe)(void *state, char *note, size_t len);
    double check[BI_MAX_CHECK];
    int ncheck;
    int threads; /* threads the implementation uses (0 = unknown / library default) */
    char note[256];
} bi_case;

/* Fills `out`; returns 0, or -1 with a reason in err ("skip" reasons start with "skip: "). */
typedef int (*bi_setup_fn)(const bi_spec *spec, bi_case *out, char *err, size_t errlen);

typedef struct {
    const char *workload;
    bi_setup_fn setup;
} bi_entry;

/* NULL-terminated tables: the tensorjit and the hand-written C implementations. */
extern const bi_entry bi_tj_entries[];
extern const bi_entry bi_c_entries[];

/* Appends a fingerprint (BD_FP_LEN doubles) to c->check; -1 when full. */
int bi_check_add(bi_case *c, const double *fp);

/* The number of threads "_mt" variants use: the online cores (at least 1). */
int bi_cores(void);

#endif
