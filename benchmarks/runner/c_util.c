/* Helpers for the C-limit implementations (c_impls.h). */
#include "c_impls.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* Zeroed floats, 64-byte aligned; from 4 MiB on, 2 MiB-aligned with transparent huge pages
 * advised, as tensorjit's arrays are (lib/array.c): the limit gets every trick the library has. */
float *ca_floats(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    size_t huge = (size_t)1 << 21;
    bool big = bytes >= ((size_t)4 << 20) && !(getenv("TJ_HUGEPAGES") &&
                                               !strcmp(getenv("TJ_HUGEPAGES"), "off"));
    if (big)
        bytes = (bytes + huge - 1) & ~(huge - 1);
    float *p = aligned_alloc(big ? huge : 64, bytes);
    if (p && big)
        madvise(p, bytes, MADV_HUGEPAGE);
    if (p)
        memset(p, 0, bytes);
    return p;
}

int ca_threads(const char *variant)
{
    size_t n = strlen(variant);
    if (n >= 3 && strcmp(variant + n - 3, "_1t") == 0)
        return 1;
    if (n >= 3 && strcmp(variant + n - 3, "_mt") == 0)
        return bi_cores();
    return 0;
}

int ca_bad_variant(const bi_spec *spec, char *err, size_t errlen)
{
    snprintf(err, errlen, "unknown variant '%s' for %s", spec->variant, spec->workload);
    return -1;
}
