/* Small helpers both sides of the plugin seam use (compiled into the core and the plugin). */
#include "backend.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

tj_status tjJ_fail(char *err, size_t errlen, tj_status st, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return st;
}

bool tjJ_fault(const char *point)
{
    const char *env = getenv("TJ_JIT_FAULT");
    size_t n = strlen(point);
    for (const char *p = env; p && *p; p += strcspn(p, ",")) {
        p += *p == ',';
        if (!strncmp(p, point, n) && (p[n] == ',' || p[n] == '\0'))
            return true;
    }
    return false;
}

void tjJ_artifacts_free(tjJ_artifacts *a)
{
    for (int g = 0; g < a->ngroups; g++) {
        if (a->ir)
            tjC_mem_free(a->mem, a->ir[g]);
        if (a->ir_opt)
            tjC_mem_free(a->mem, a->ir_opt[g]);
        if (a->obj)
            tjC_mem_free(a->mem, a->obj[g].p);
    }
    tjC_mem_free(a->mem, a->ir);
    tjC_mem_free(a->mem, a->ir_opt);
    tjC_mem_free(a->mem, a->obj);
    memset(a, 0, sizeof *a);
}

bool tjJ_artifacts_alloc(const tj_allocator *mem, tjJ_artifacts *a, int ngroups)
{
    a->mem = mem;
    a->ngroups = ngroups;
    a->ir = tjC_mem_calloc(mem, (size_t)ngroups, sizeof *a->ir);
    a->ir_opt = tjC_mem_calloc(mem, (size_t)ngroups, sizeof *a->ir_opt);
    a->obj = tjC_mem_calloc(mem, (size_t)ngroups, sizeof *a->obj);
    if (a->ir && a->ir_opt && a->obj)
        return true;
    tjJ_artifacts_free(a);
    return false;
}
