/* Timing one implementation of a case (sampler.h). */
#include "sampler.h"

#include <time.h>

enum { MAX_REPS = 1000000000 };

double sm_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

double sm_run(bi_case *c, long reps)
{
    if (reps < 1)
        return -1;
    if (c->timed_op) {
        double sum = 0;
        for (long r = 0; r < reps; r++) {
            double t = c->timed_op(c->state);
            if (t < 0)
                return -1;
            sum += t;
        }
        return sum / (double)reps;
    }
    double t0 = sm_now();
    for (long r = 0; r < reps; r++)
        if (c->op(c->state) != 0)
            return -1;
    return (sm_now() - t0) / (double)reps;
}

double sm_sample(bi_case *c, double min_seconds, long *reps)
{
    long n = *reps < 1 ? 1 : *reps;
    double t = sm_run(c, n);
    while (t >= 0 && t * (double)n < min_seconds && n < MAX_REPS) {
        double grow = t > 0 ? 1.25 * min_seconds / (t * (double)n) : 16;
        grow = grow < 2 ? 2 : grow > 1000 ? 1000 : grow;
        n = (long)((double)n * grow);
        t = sm_run(c, n);
    }
    *reps = n;
    return t;
}

double sm_warmup(bi_case *c, double min_seconds, double max_op_seconds, long *reps)
{
    double first = sm_run(c, 1);
    *reps = 1;
    if (first < 0 || (max_op_seconds > 0 && first > max_op_seconds))
        return first;
    if (sm_sample(c, min_seconds, reps) < 0)
        return -1;
    return sm_sample(c, min_seconds, reps);
}

int sm_rewarm(bi_case *c, double seconds)
{
    double end = sm_now() + seconds;
    do {
        if (sm_run(c, 1) < 0)
            return -1;
    } while (sm_now() < end);
    return 0;
}
