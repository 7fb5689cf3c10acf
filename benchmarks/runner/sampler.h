/* Timing one implementation of a case: warm-up with calibration, then samples that each last at
 * least the minimum sample time. */
#ifndef SAMPLER_H
#define SAMPLER_H

#include "bench_impl.h"

double sm_now(void); /* CLOCK_MONOTONIC, seconds */

/* Runs `reps` operations; returns seconds per operation, or -1 if an operation failed. */
double sm_run(bi_case *c, long reps);

/* One sample of *reps operations that lasts at least min_seconds: a shorter one (the calibration
 * met a slow moment) is discarded and the count raised until a sample is long enough. Returns the
 * seconds per operation (-1 on failure); *reps holds the count used. */
double sm_sample(bi_case *c, double min_seconds, long *reps);

/* Warm-up: one operation (not used to calibrate), then the count grown from 1 by sm_sample, then
 * one more sample at that count. Returns the last sample's seconds per operation (-1 on failure)
 * and sets *reps. When max_op_seconds > 0 and the first operation took longer, stops there and
 * returns that operation's time (the driver will skip a participant that slow). */
double sm_warmup(bi_case *c, double min_seconds, double max_op_seconds, long *reps);

/* Untimed operations for `seconds` (at least one), after a pause the driver made: brings the
 * participant back to its steady state (its threads awake, its data in cache) without changing
 * the calibration. Returns 0, or -1 if an operation failed. */
int sm_rewarm(bi_case *c, double seconds);

#endif
