/* Small helpers shared by every implementation. */
#include "bench_impl.h"

#include "bench_data.h"

#include <string.h>
#include <unistd.h>

int bi_check_add(bi_case *c, const double *fp)
{
    if (c->ncheck + BD_FP_LEN > BI_MAX_CHECK)
        return -1;
    memcpy(c->check + c->ncheck, fp, BD_FP_LEN * sizeof *fp);
    c->ncheck += BD_FP_LEN;
    return 0;
}

int bi_cores(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}
