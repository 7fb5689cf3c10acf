/* Random streams: Philox4x32-10 against Random123's published known-answer vectors, the documented
 * element layout (values recomputed here from the raw generator), reproducibility, JIT and
 * reference executor bit for bit, state advance, default updates and no_default_updates,
 * statistics of 10^6 draws against the theoretical moments, and the error contract. */
#include <criterion/criterion.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "support.h"

#define EXPECT_MSG(ctx, needle)                                                                   \
    cr_expect(strstr(tj_errmsg(ctx), needle), "message '%s' lacks '%s'", tj_errmsg(ctx), needle)

/* ---- the generator --------------------------------------------------------------------------- */

/* Random123's kat_vectors, the three "philox4x32 10" lines: counter, key -> output. */
Test(random, philox_known_answers)
{
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        tjS_philox4x32(kat[t], kat[t] + 4, out);
        for (int i = 0; i < 4; i++)
            cr_expect_eq(out[i], kat[t][6 + i], "vector %d word %d: %08x, expected %08x", t, i,
                         out[i], kat[t][6 + i]);
    }
}

/* ---- helpers --------------------------------------------------------------------------------- */

static tj_var *shape_of(tj_ctx *ctx, int n, const int64_t *dims)
{
    tj_array *a = tj_array_from_data(TJ_INT64, 1, (int64_t[]){n}, dims);
    cr_assert(a);
    tj_var *v = tj_constant(ctx, a);
    tj_array_unref(a);
    cr_assert(v, "%s", tj_errmsg(ctx));
    return v;
}

static tj_fn *compile(tj_ctx *ctx, tj_var *out, tj_mode mode, bool no_default_updates)
{
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    o.no_default_updates = no_default_updates;
    tj_fn *f = tj_function(ctx, NULL, 0, &out, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    return f;
}

static tj_array *call0(tj_fn *f)
{
    tj_array *r = NULL;
    tj_status st = tj_call(f, NULL, &r);
    cr_assert_eq(st, TJ_OK, "tj_call failed with %s", tj_status_name(st));
    return r;
}

/* The state's (key, counter) as raw 64-bit words. */
static void state_words(tj_var *state, uint64_t *key, uint64_t *counter)
{
    tj_array *a = tj_shared_get(state, false);
    cr_assert(a);
    const int64_t *p = tj_array_data(a);
    memcpy(key, &p[0], 8);
    memcpy(counter, &p[1], 8);
    tj_array_unref(a);
}

/* The documented layout, recomputed from the raw generator: element at counter position `pos`
 * reads the block (lo32(pos), hi32(pos), 0, 0) under the key (lo32(seed), hi32(seed)). */
static void raw_block(uint64_t seed, uint64_t pos, uint32_t w[4])
{
    uint32_t ctr[4] = {(uint32_t)pos, (uint32_t)(pos >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    tjS_philox4x32(ctr, key, w);
}

static double expect_uniform64(uint64_t seed, uint64_t pos)
{
    uint32_t w[4];
    raw_block(seed, pos, w);
    uint64_t bits53 = ((((uint64_t)w[1]) << 32) | w[0]) >> 11;
    return (double)bits53 / 9007199254740992.0;
}

static float expect_uniform32(uint64_t seed, uint64_t pos)
{
    uint32_t w[4];
    raw_block(seed, pos, w);
    return (float)(w[0] >> 8) / 16777216.0f;
}

static double expect_normal(uint64_t seed, uint64_t pos)
{
    uint32_t w[4];
    raw_block(seed, pos, w);
    double u1 = 1.0 - (double)(((((uint64_t)w[1]) << 32) | w[0]) >> 11) / 9007199254740992.0;
    double u2 = (double)(((((uint64_t)w[3]) << 32) | w[2]) >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* ---- layout, reproducibility, modes ---------------------------------------------------------- */

Test(random, uniform_values_follow_the_documented_layout)
{
    const uint64_t seed = 0x0123456789abcdefull;
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, seed, "rng");
    tj_var *u64 = tj_random_uniform(s, shape_of(ctx, 2, (int64_t[]){3, 5}), TJ_FLOAT64, NULL);
    cr_assert(u64, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(u64), 2);
    tj_fn *f = compile(ctx, u64, TJ_MODE_FAST_RUN, false);
    tj_array *r = call0(f);
    cr_assert_eq(tj_array_ndim(r), 2);
    cr_expect_eq(tj_array_shape(r)[0], 3);
    cr_expect_eq(tj_array_shape(r)[1], 5);
    const double *p = tj_array_data(r);
    for (int i = 0; i < 15; i++)
        cr_expect_eq(p[i], expect_uniform64(seed, (uint64_t)i), "element %d", i);
    tj_array_unref(r);
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(key, seed);
    cr_expect_eq(counter, 15u, "the state advanced by the 15 elements drawn");

    /* the next call continues at counter 15 */
    r = call0(f);
    p = tj_array_data(r);
    for (int i = 0; i < 15; i++)
        cr_expect_eq(p[i], expect_uniform64(seed, 15u + (uint64_t)i), "second call, element %d", i);
    tj_array_unref(r);

    /* float32: 24 bits of the first word */
    tj_var *s2 = tj_rng_state(ctx, 7, "rng32");
    tj_var *u32 = tj_random_uniform(s2, shape_of(ctx, 1, (int64_t[]){100}), TJ_FLOAT32, NULL);
    tj_fn *g = compile(ctx, u32, TJ_MODE_FAST_RUN, false);
    r = call0(g);
    cr_assert_eq(tj_array_dtype(r), TJ_FLOAT32);
    const float *q = tj_array_data(r);
    for (int i = 0; i < 100; i++)
        cr_expect_eq(q[i], expect_uniform32(7, (uint64_t)i), "float32 element %d", i);
    tj_array_unref(r);
    tj_ctx_free(ctx);
}

Test(random, normal_values_follow_box_muller)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 42, "rng");
    tj_var *z = tj_random_normal_scaled(s, shape_of(ctx, 1, (int64_t[]){64}), 3.0, 0.5,
                                        TJ_FLOAT64, NULL);
    tj_fn *f = compile(ctx, z, TJ_MODE_FAST_RUN, false);
    tj_array *r = call0(f);
    const double *p = tj_array_data(r);
    for (int i = 0; i < 64; i++)
        cr_expect_eq(p[i], 3.0 + 0.5 * expect_normal(42, (uint64_t)i), "element %d", i);
    tj_array_unref(r);
    tj_ctx_free(ctx);
}

/* Builds the same draws in a context and returns one call's outputs (uniform, normal, binomial). */
static void draw_three(uint64_t seed, tj_mode mode, tj_array **out)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, seed, "rng");
    tj_var *shape = shape_of(ctx, 2, (int64_t[]){50, 40});
    tj_var *outs[3] = {
        tj_random_uniform_range(s, shape, -2.0, 5.0, TJ_FLOAT32, NULL),
        tj_random_normal(s, shape, TJ_FLOAT64, NULL),
        tj_random_binomial(s, shape, 7, 0.35, TJ_INT32, NULL),
    };
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.mode = mode;
    tj_fn *f = tj_function(ctx, NULL, 0, outs, 3, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    cr_assert_eq(tj_call(f, NULL, out), TJ_OK, "%s", tj_errmsg(ctx));
    tj_ctx_free(ctx);
}

static bool same_bits(const tj_array *a, const tj_array *b)
{
    return tj_array_dtype(a) == tj_array_dtype(b) && tj_array_size(a) == tj_array_size(b) &&
           !memcmp(tj_array_data((tj_array *)a), tj_array_data((tj_array *)b),
                   (size_t)tj_array_size(a) * tj_dtype_size(tj_array_dtype(a)));
}

Test(random, same_seed_same_numbers_in_every_mode)
{
    tj_array *jit[3], *jit2[3], *ref[3], *dbg[3], *other[3];
    draw_three(2024, TJ_MODE_FAST_RUN, jit);
    draw_three(2024, TJ_MODE_FAST_RUN, jit2);
    draw_three(2024, TJ_MODE_FAST_COMPILE, ref);
    draw_three(2024, TJ_MODE_DEBUG, dbg);
    draw_three(2025, TJ_MODE_FAST_RUN, other);
    for (int k = 0; k < 3; k++) {
        cr_expect(same_bits(jit[k], jit2[k]), "draw %d: same seed, different numbers", k);
        cr_expect(same_bits(jit[k], ref[k]), "draw %d: JIT and reference executor differ", k);
        cr_expect(same_bits(jit[k], dbg[k]), "draw %d: DEBUG mode differs", k);
        cr_expect(!same_bits(jit[k], other[k]), "draw %d: another seed, the same numbers", k);
    }
    /* the three draws of a chain are independent streams, not the same bits reinterpreted */
    tj_array *u = jit[0];
    double lo = 1e9, hi = -1e9;
    for (int64_t i = 0; i < tj_array_size(u); i++) {
        double v = tjt_at(u, i);
        lo = fmin(lo, v);
        hi = fmax(hi, v);
    }
    cr_expect(lo >= -2.0 && hi < 5.0, "uniform_range left [-2, 5): [%g, %g]", lo, hi);
    for (int k = 0; k < 3; k++) {
        tj_array_unref(jit[k]);
        tj_array_unref(jit2[k]);
        tj_array_unref(ref[k]);
        tj_array_unref(dbg[k]);
        tj_array_unref(other[k]);
    }
}

/* Successive draws from one shared state continue where the previous ended, in one function and
 * across functions; a function advances past all of them. */
Test(random, draws_chain_and_the_state_advances)
{
    const uint64_t seed = 99;
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, seed, "rng");
    tj_var *ns1, *ns2;
    tj_var *a = tj_random_uniform(s, shape_of(ctx, 1, (int64_t[]){4}), TJ_FLOAT64, &ns1);
    tj_var *b = tj_random_uniform(s, shape_of(ctx, 1, (int64_t[]){6}), TJ_FLOAT64, &ns2);
    cr_assert(a && b && ns1 && ns2, "%s", tj_errmsg(ctx));
    cr_expect_neq(a, b);
    tj_fn *f = tj_function(ctx, NULL, 0, (tj_var *[]){a, b}, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *r[2];
    for (int call = 0; call < 2; call++) {
        cr_assert_eq(tj_call(f, NULL, r), TJ_OK, "%s", tj_errmsg(ctx));
        uint64_t base = 10u * (uint64_t)call;
        for (int i = 0; i < 4; i++)
            cr_expect_eq(tjt_at(r[0], i), expect_uniform64(seed, base + (uint64_t)i));
        for (int i = 0; i < 6; i++)
            cr_expect_eq(tjt_at(r[1], i), expect_uniform64(seed, base + 4u + (uint64_t)i));
        tj_array_unref(r[0]);
        tj_array_unref(r[1]);
        uint64_t key, counter;
        state_words(s, &key, &counter);
        cr_expect_eq(counter, base + 10u, "after call %d the counter is %llu", call,
                     (unsigned long long)counter);
    }
    /* a function of the first draw only still advances past the whole chain */
    tj_fn *g = compile(ctx, a, TJ_MODE_FAST_RUN, false);
    tj_array *x = call0(g);
    cr_expect_eq(tjt_at(x, 0), expect_uniform64(seed, 20));
    tj_array_unref(x);
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 30u);
    tj_ctx_free(ctx);
}

Test(random, explicit_updates_and_no_default_updates)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 5, "rng");
    tj_var *ns;
    tj_var *u = tj_random_normal(s, shape_of(ctx, 1, (int64_t[]){8}), TJ_FLOAT32, &ns);
    cr_assert(u && ns, "%s", tj_errmsg(ctx));

    /* no_default_updates: the state is frozen, every call gives the same numbers */
    tj_fn *frozen = compile(ctx, u, TJ_MODE_FAST_RUN, true);
    tj_array *a = call0(frozen), *b = call0(frozen);
    cr_expect(same_bits(a, b), "a frozen state gave different numbers");
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 0u);

    /* the RandomStreams pattern spelled out: updates = [(state, new_state)] */
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.updates = (tj_update[]){{s, ns}};
    o.nupdates = 1;
    o.no_default_updates = true;
    tj_fn *f = tj_function(ctx, NULL, 0, &u, 1, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *c = call0(f), *d = call0(f);
    cr_expect(same_bits(a, c), "the first explicit-update call differs from the frozen one");
    cr_expect(!same_bits(c, d), "two calls with the state updated gave the same numbers");
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 16u);
    for (int i = 0; i < 8; i++)
        cr_expect_eq(tjt_at(d, i), (double)(float)expect_normal(5, 8u + (uint64_t)i));

    /* set_value on the state restarts the stream */
    tj_array *init = tj_array_from_data(TJ_INT64, 1, (int64_t[]){2}, (int64_t[]){5, 0});
    cr_assert_eq(tj_shared_set(s, init, false), TJ_OK);
    tj_array *e = call0(f);
    cr_expect(same_bits(a, e), "resetting the state did not reproduce the first numbers");
    tj_array_unref(init);
    tj_array *all[] = {a, b, c, d, e};
    for (int i = 0; i < 5; i++)
        tj_array_unref(all[i]);
    tj_ctx_free(ctx);
}

/* Drawing from a returned new state chains explicitly; the very same state twice repeats. */
Test(random, explicit_chaining_from_new_states)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 11, "rng");
    tj_var *shape = shape_of(ctx, 1, (int64_t[]){3});
    tj_var *ns1, *ns2, *ns3;
    tj_var *a = tj_random_uniform(s, shape, TJ_FLOAT64, &ns1);
    tj_var *b = tj_random_uniform(ns1, shape, TJ_FLOAT64, &ns2);
    tj_var *b_again = tj_random_uniform(ns1, shape, TJ_FLOAT64, &ns3);
    cr_assert(a && b && b_again, "%s", tj_errmsg(ctx));
    cr_expect_eq(b, b_again, "the same draw from the same state is the same variable");
    cr_expect_eq(ns2, ns3);
    tj_fn *f = tj_function(ctx, NULL, 0, (tj_var *[]){a, b, ns2}, 3, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *r[3];
    cr_assert_eq(tj_call(f, NULL, r), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 3; i++) {
        cr_expect_eq(tjt_at(r[0], i), expect_uniform64(11, (uint64_t)i));
        cr_expect_eq(tjt_at(r[1], i), expect_uniform64(11, 3u + (uint64_t)i));
    }
    cr_expect_eq(tjt_at(r[2], 1), 6.0, "the returned new state holds counter 6");
    for (int i = 0; i < 3; i++)
        tj_array_unref(r[i]);
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 6u, "the default update followed the explicit chain");
    tj_ctx_free(ctx);
}

Test(random, empty_and_scalar_draws)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 3, "rng");
    tj_var *e = tj_random_uniform(s, shape_of(ctx, 2, (int64_t[]){0, 4}), TJ_FLOAT32, NULL);
    tj_array *none = tj_array_new(TJ_INT64, 1, (int64_t[]){0});
    tj_var *zero_d_shape = tj_constant(ctx, none);
    tj_array_unref(none);
    tj_var *z = tj_random_normal(s, zero_d_shape, TJ_FLOAT64, NULL);
    cr_assert(e && z, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(z), 0);
    tj_fn *f = tj_function(ctx, NULL, 0, (tj_var *[]){e, z}, 2, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *r[2];
    cr_assert_eq(tj_call(f, NULL, r), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_size(r[0]), 0);
    cr_expect_eq(tj_array_ndim(r[1]), 0);
    cr_expect_eq(tj_array_get(r[1], NULL), expect_normal(3, 0), "an empty draw takes no counter");
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 1u);
    tj_ctx_free(ctx);
}

/* A shape built from symbolic sizes: tj_stack of tj_shape_of and a literal. */
Test(random, shape_from_symbolic_sizes)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 17, "rng");
    tj_var *x = tj_matrix(ctx, TJ_FLOAT32, "x");
    tj_var *shape = tj_stack((tj_var *[]){tj_shape_of(x, 0), tj_lit_int(ctx, 3)}, 2, 0);
    tj_var *mask = tj_random_binomial(s, shape, 1, 0.5, TJ_FLOAT32, NULL);
    cr_assert(mask, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_var_ndim(mask), 2);
    tj_var *dropped = tj_mul(x, mask); /* x's second axis must be 3 too: checked at run time */
    tj_fn *f = tj_function(ctx, &x, 1, &dropped, 1, NULL);
    cr_assert(f, "%s", tj_errmsg(ctx));
    double ones[15];
    for (int i = 0; i < 15; i++)
        ones[i] = 1.0;
    tj_array *xv = tjt_array(TJ_FLOAT32, 2, (int64_t[]){5, 3}, ones), *r;
    cr_assert_eq(tj_call(f, &xv, &r), TJ_OK, "%s", tj_errmsg(ctx));
    cr_expect_eq(tj_array_shape(r)[0], 5);
    cr_expect_eq(tj_array_shape(r)[1], 3);
    for (int i = 0; i < 15; i++) { /* Bernoulli(1/2) by inversion: 1 when u >= 1/2 */
        double u = expect_uniform64(17, (uint64_t)i);
        cr_expect_eq(tjt_at(r, i), u >= 0.5 ? 1.0 : 0.0, "element %d (u = %g)", i, u);
    }
    tj_array_unref(r);
    uint64_t key, counter;
    state_words(s, &key, &counter);
    cr_expect_eq(counter, 15u);
    tj_array_unref(xv);
    tj_ctx_free(ctx);
}

/* Draws are constants to tj_grad; the reparameterization mean + std * z differentiates. */
Test(random, gradients_flow_around_draws)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 8, "rng");
    tj_var *mu = tj_vector(ctx, TJ_FLOAT64, "mu");
    tj_var *z = tj_random_normal(s, shape_of(ctx, 1, (int64_t[]){5}), TJ_FLOAT64, NULL);
    tj_var *cost = tj_sum(tj_sqr(tj_add(mu, z)), NULL, 0, false);
    tj_var *g;
    cr_assert_eq(tj_grad(cost, &mu, 1, &g), TJ_OK, "%s", tj_errmsg(ctx));
    tj_function_opts o = TJ_FUNCTION_OPTS_INIT;
    o.no_default_updates = true;
    tj_fn *f = tj_function(ctx, &mu, 1, (tj_var *[]){g, z}, 2, &o);
    cr_assert(f, "%s", tj_errmsg(ctx));
    tj_array *m = tjt_array(TJ_FLOAT64, 1, (int64_t[]){5}, (double[]){1, 2, 3, 4, 5}), *r[2];
    cr_assert_eq(tj_call(f, &m, r), TJ_OK, "%s", tj_errmsg(ctx));
    for (int i = 0; i < 5; i++)
        cr_expect_float_eq(tjt_at(r[0], i), 2.0 * (i + 1 + tjt_at(r[1], i)), 1e-12);
    tj_array_unref(r[0]);
    tj_array_unref(r[1]);
    tj_array_unref(m);
    tj_ctx_free(ctx);
}

/* ---- statistics ------------------------------------------------------------------------------ */

/* Sample mean and variance of a draw against the theory: each within 5 standard errors, where
 * se(mean) = sqrt(var / N) and se(variance) = sqrt((mu4 - var^2) / N) (mu4 the 4th central
 * moment). */
static void check_moments(const char *what, tj_array *r, double mean, double var, double mu4)
{
    int64_t n = tj_array_size(r);
    double s = 0, s2 = 0;
    for (int64_t i = 0; i < n; i++)
        s += tjt_at(r, i);
    double m = s / (double)n;
    for (int64_t i = 0; i < n; i++) {
        double d = tjt_at(r, i) - m;
        s2 += d * d;
    }
    double v = s2 / (double)n;
    double se_m = sqrt(var / (double)n), se_v = sqrt((mu4 - var * var) / (double)n);
    cr_expect(fabs(m - mean) <= 5 * se_m, "%s: mean %.6g, expected %.6g +- 5 * %.3g", what, m,
              mean, se_m);
    cr_expect(fabs(v - var) <= 5 * se_v, "%s: variance %.6g, expected %.6g +- 5 * %.3g", what, v,
              var, se_v);
}

static tj_array *draw_once(tj_ctx *ctx, tj_var *v)
{
    tj_fn *f = compile(ctx, v, TJ_MODE_FAST_RUN, false);
    tj_array *r = call0(f);
    tj_fn_free(f);
    return r;
}

Test(random, statistics_of_a_million_draws)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 123456789, "rng");
    tj_var *million = shape_of(ctx, 2, (int64_t[]){1000, 1000});
    tj_array *r;

    r = draw_once(ctx, tj_random_uniform(s, million, TJ_FLOAT64, NULL));
    check_moments("uniform float64", r, 0.5, 1.0 / 12, 1.0 / 80);
    tj_array_unref(r);
    r = draw_once(ctx, tj_random_uniform_range(s, million, -1.0, 3.0, TJ_FLOAT32, NULL));
    check_moments("uniform [-1, 3) float32", r, 1.0, 16.0 / 12, 256.0 / 80);
    for (int64_t i = 0; i < tj_array_size(r); i++)
        cr_assert(tjt_at(r, i) >= -1.0 && tjt_at(r, i) < 3.0);
    tj_array_unref(r);
    r = draw_once(ctx, tj_random_normal(s, million, TJ_FLOAT64, NULL));
    check_moments("normal", r, 0.0, 1.0, 3.0);
    tj_array_unref(r);
    r = draw_once(ctx, tj_random_normal_scaled(s, million, -2.0, 3.0, TJ_FLOAT32, NULL));
    check_moments("normal(-2, 3) float32", r, -2.0, 9.0, 3.0 * 81.0);
    tj_array_unref(r);

    /* Binomial(n, p): mean np, variance npq, mu4 = npq (1 + 3 (n - 2) pq) */
    struct { int64_t n; double p; } bin[] = {{20, 0.3}, {20, 0.8}, {1, 0.2}};
    for (int k = 0; k < 3; k++) {
        double n = (double)bin[k].n, p = bin[k].p, q = 1 - p;
        r = draw_once(ctx, tj_random_binomial(s, million, bin[k].n, p, TJ_INT64, NULL));
        char what[64];
        snprintf(what, sizeof what, "binomial(%g, %g)", n, p);
        check_moments(what, r, n * p, n * p * q, n * p * q * (1 + 3 * (n - 2) * p * q));
        tj_array_unref(r);
    }
    tj_ctx_free(ctx);
}

/* The exact pmf of Binomial(5, 0.3): each frequency of 10^6 draws within 5 standard errors. */
Test(random, binomial_frequencies_match_the_pmf)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 77, "rng");
    tj_array *r = draw_once(ctx, tj_random_binomial(s, shape_of(ctx, 1, (int64_t[]){1000000}), 5,
                                                    0.3, TJ_UINT8, NULL));
    int64_t count[6] = {0};
    for (int64_t i = 0; i < tj_array_size(r); i++) {
        double v = tjt_at(r, i);
        cr_assert(v >= 0 && v <= 5 && v == floor(v), "draw %g is not a count of 5 trials", v);
        count[(int)v]++;
    }
    double choose = 1, n = 1e6;
    for (int k = 0; k <= 5; k++) {
        if (k > 0)
            choose = choose * (5 - k + 1) / k;
        double pk = choose * pow(0.3, k) * pow(0.7, 5 - k);
        double se = sqrt(n * pk * (1 - pk));
        cr_expect(fabs((double)count[k] - n * pk) <= 5 * se, "P(X = %d): %lld draws, expected %.1f",
                  k, (long long)count[k], n * pk);
    }
    tj_array_unref(r);
    tj_ctx_free(ctx);
}

/* Large n goes through several inversion chunks: the moments must still be exact. */
Test(random, binomial_with_large_n)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 31337, "rng");
    tj_var *shape = shape_of(ctx, 1, (int64_t[]){20000});
    struct { int64_t n; double p; } bin[] = {{10000, 0.5}, {3000, 0.9}, {100000, 0.001}};
    for (int k = 0; k < 3; k++) {
        double n = (double)bin[k].n, p = bin[k].p, q = 1 - p;
        tj_array *r = draw_once(ctx, tj_random_binomial(s, shape, bin[k].n, p, TJ_FLOAT64, NULL));
        char what[64];
        snprintf(what, sizeof what, "binomial(%g, %g)", n, p);
        check_moments(what, r, n * p, n * p * q, n * p * q * (1 + 3 * (n - 2) * p * q));
        tj_array_unref(r);
    }
    tj_ctx_free(ctx);
}

/* ---- errors ---------------------------------------------------------------------------------- */

Test(random, bad_arguments_are_errors_with_a_message)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 1, "rng");
    tj_var *shape = shape_of(ctx, 1, (int64_t[]){4});

    cr_expect_null(tj_random_uniform(s, shape, TJ_INT32, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "int32 is not float32 or float64");

    cr_expect_null(tj_random_uniform_range(s, shape, 2.0, 1.0, TJ_FLOAT32, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_VALUE);
    EXPECT_MSG(ctx, "[2, 1)");

    cr_expect_null(tj_random_normal_scaled(s, shape, 0.0, -1.0, TJ_FLOAT64, NULL));
    EXPECT_MSG(ctx, "std >= 0");

    cr_expect_null(tj_random_binomial(s, shape, 10, 1.5, TJ_INT64, NULL));
    EXPECT_MSG(ctx, "0 <= p <= 1");
    cr_expect_null(tj_random_binomial(s, shape, 300, 0.5, TJ_INT8, NULL));
    EXPECT_MSG(ctx, "do not fit in int8");
    cr_expect_null(tj_random_binomial(s, shape, (int64_t)1 << 40, 0.25, TJ_INT64, NULL));
    EXPECT_MSG(ctx, "exceeds 2^24");
    cr_expect(tj_random_binomial(s, shape, (int64_t)1 << 40, 1e-9, TJ_INT64, NULL) != NULL,
              "a large n with a small p is cheap: %s", tj_errmsg(ctx));

    tj_var *x = tj_vector(ctx, TJ_FLOAT64, "x");
    cr_expect_null(tj_random_uniform(x, shape, TJ_FLOAT64, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_TYPE);
    EXPECT_MSG(ctx, "'x'");
    EXPECT_MSG(ctx, "int64 vector (key, counter)");

    tj_var *sym = tj_vector(ctx, TJ_INT64, "dims");
    cr_expect_null(tj_random_uniform(s, sym, TJ_FLOAT64, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_ERR_VALUE);
    EXPECT_MSG(ctx, "must be known when the graph is built");

    tj_array *three = tj_array_scalar(TJ_FLOAT32, 3);
    tj_var *fshape = tj_constant(ctx, three);
    tj_array_unref(three);
    cr_expect_null(tj_random_uniform(s, fshape, TJ_FLOAT64, NULL));
    EXPECT_MSG(ctx, "must be an integer vector");

    /* NULL operands are sticky: no new error is recorded */
    tj_clear_error(ctx);
    cr_expect_null(tj_random_uniform(NULL, shape, TJ_FLOAT64, NULL));
    cr_expect_null(tj_random_uniform(s, NULL, TJ_FLOAT64, NULL));
    cr_expect_eq(tj_errcode(ctx), TJ_OK);
    tj_ctx_free(ctx);
}

Test(random, run_time_errors_name_the_node)
{
    tj_ctx *ctx = tj_ctx_new();
    tj_var *s = tj_rng_state(ctx, 1, "rng");
    tj_var *u = tj_random_uniform(s, shape_of(ctx, 2, (int64_t[]){3, -2}), TJ_FLOAT64, NULL);
    cr_assert(u, "%s", tj_errmsg(ctx));
    for (int mode = TJ_MODE_FAST_RUN; mode <= TJ_MODE_FAST_COMPILE; mode++) {
        tj_fn *f = compile(ctx, u, (tj_mode)mode, false);
        tj_array *r = NULL;
        cr_expect_eq(tj_call(f, NULL, &r), TJ_ERR_VALUE);
        EXPECT_MSG(ctx, "entry 1 of the draw's shape is -2; sizes must be >= 0");
        cr_expect_null(r);
    }
    /* a state of the wrong length, set by the user */
    tj_var *s2 = tj_rng_state(ctx, 2, "rng2");
    tj_array *bad = tj_array_new(TJ_INT64, 1, (int64_t[]){3});
    cr_assert_eq(tj_shared_set(s2, bad, false), TJ_OK);
    tj_array_unref(bad);
    tj_var *v = tj_random_uniform(s2, shape_of(ctx, 1, (int64_t[]){2}), TJ_FLOAT64, NULL);
    tj_fn *g = compile(ctx, v, TJ_MODE_FAST_RUN, false);
    tj_array *r = NULL;
    cr_expect_eq(tj_call(g, NULL, &r), TJ_ERR_VALUE);
    EXPECT_MSG(ctx, "'rng2'");
    EXPECT_MSG(ctx, "length 2 (key, counter)");
    tj_array *a = tj_shared_get(s2, false);
    cr_expect_eq(tj_array_size(a), 3, "a failed call leaves the state as it was");
    tj_array_unref(a);
    tj_ctx_free(ctx);
}
