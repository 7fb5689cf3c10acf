/* Helpers for the C-limit implementations (c_impls.h). */
#include "c_impls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

float *ca_floats(size_t n)
{
    size_t bytes = ((n ? n : 1) * sizeof(float) + 63) & ~(size_t)63;
    float *p = aligned_alloc(64, bytes);
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
