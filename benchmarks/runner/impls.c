/* The tables of implementations the runner dispatches to, by workload name. */
#include "bench_impl.h"

#ifndef TJB_C_ONLY /* tjrun-c: the C limit alone, without tensorjit (CMakeLists.txt) */
#include "tj_impls.h"

const bi_entry bi_tj_entries[] = {
    {"W1", tjw1_setup},         {"W2", tjw2_setup},          {"W3sum", tjw3_sum_setup},
    {"W3rows", tjw3_rows_setup}, {"W3cols", tjw3_cols_setup}, {"W4", tjw4_setup},
    {"W5", tjw5_setup},         {"W6", tjw6_setup},          {"W7cold", tjw7_cold_setup},
    {"W7again", tjw7_again_setup}, {NULL, NULL},
};
#endif

#ifndef TJB_TJ_ONLY /* tjrun: tensorjit alone, without the C limit's OpenMP */
#include "c_impls.h"

const bi_entry bi_c_entries[] = {
    {"W1", cw1_setup},         {"W2", cw2_setup},          {"W3sum", cw3_sum_setup},
    {"W3rows", cw3_rows_setup}, {"W3cols", cw3_cols_setup}, {"W4", cw4_setup},
    {"W5", cw5_setup},         {"W6", cw6_setup},          {NULL, NULL},
};
#endif
