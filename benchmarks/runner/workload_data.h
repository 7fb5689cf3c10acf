/* The data of each workload: seeds and constants, repeated in peers/common.py (keep in step). */
#ifndef WORKLOAD_DATA_H
#define WORKLOAD_DATA_H

/* W1: x ~ normal(seed 11); y = 1/(1+exp(-(a*x+b))) with the 0-d inputs a, b */
#define WD_W1_X 11
#define WD_W1_A 1.5
#define WD_W1_B (-0.25)

/* W2: X ~ normal(21) of N x F; y ~ bernoulli(22); w0 ~ normal(23) / sqrt(F); b0 = 0.
 * (w0 is scaled so that X w is about N(0, 1): with the tutorial's unscaled randn w and 784 features
 * the float32 sigmoid saturates to exactly 1 and xent is inf for every implementation.) */
#define WD_W2_X 21
#define WD_W2_Y 22
#define WD_W2_W 23
#define WD_W2_LR 0.1
#define WD_W2_L2 0.01

/* W3: x ~ uniform(31) (n), X ~ uniform(32) (rows x cols); uniform, not normal, so that a sum is
 * not a cancellation and a float32 accuracy bug shows. */
#define WD_W3_X 31
#define WD_W3_M 32

/* W4: A ~ normal(41) of M x K, B ~ normal(42) of K x N */
#define WD_W4_A 41
#define WD_W4_B 42

/* W5: x = 2, y = 3 (0-d float32) */
#define WD_W5_X 2.0
#define WD_W5_Y 3.0

/* W6: X ~ normal(61) of B x 784; one-hot labels (62) of B x 10; W1 ~ normal(63) / sqrt(784);
 * b1 = 0; W2 ~ normal(64) / sqrt(512); b2 = 0; SGD with lr 0.1 on the mean cross-entropy. */
#define WD_W6_X 61
#define WD_W6_Y 62
#define WD_W6_W1 63
#define WD_W6_W2 64
#define WD_W6_IN 784
#define WD_W6_HIDDEN 512
#define WD_W6_CLASSES 10
#define WD_W6_LR 0.1

#endif
