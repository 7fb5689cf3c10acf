/* Running a blocked chain (tjS_chain, function.h): for each block of rows of X, v = alpha X x on
 * the block, kernel B on the same rows, and the block's share of X^T r, while the block is still
 * in cache. The rows are cut into a fixed list of pieces, each summing its own share of X^T r,
 * combined in order: the result does not depend on how pieces are spread over threads. */
#include "blas_layout.h"
#include "replay.h"
#include "pool.h"

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

enum { MAX_PIECES = 8 };

/* The bytes of a block of X: a quarter of this core's L2, so its second read (X^T r) hits there
 * beside the vectors, between 64 KiB and 1 MiB. Each block costs two gemv calls, each taking
 * OpenBLAS's buffer lock, which two threads contend: on this machine (2 MiB of L2) 512 KiB blocks
 * took W2's 4000x784 step at two threads from 0.40-0.43 to 0.37-0.39 ms, and 1 MiB ones were
 * slower again (12 blocks do not share evenly among 8 pieces). */
static int64_t block_bytes(void)
{
    static _Atomic int64_t bytes; /* 0: not yet read */
    int64_t b = atomic_load_explicit(&bytes, memory_order_relaxed);
    if (b == 0) {
        long l2 = sysconf(_SC_LEVEL2_CACHE_SIZE);
        b = l2 > 0 ? l2 / 4 : 256 * 1024;
        b = b < 64 * 1024 ? 64 * 1024 : b > 1024 * 1024 ? 1024 * 1024 : b;
        atomic_store_explicit(&bytes, b, memory_order_relaxed);
    }
    return b;
}

int64_t tjS_chain_block_rows(int64_t cols, tj_dtype dtype)
{
    int64_t r = block_bytes() / (int64_t)tjA_es(dtype) / (cols > 0 ? cols : 1);
    r = r < 16 ? 16 : r;
    return (r + 7) & ~(int64_t)7;
}

typedef struct {
    tj_dtype dtype;
    const char *X;
    blasint ld, cols;
    const char *x;
    blasint incx;
    double alpha;
    char *v;        /* A's result, one element per row */
    const char *r;  /* B's output read by C, contiguous */
    tjS_launch *L;  /* B, ready to launch */
    int64_t n, rb;  /* rows, rows per block */
    int64_t nblocks;
    int pieces;
    char *shares;   /* pieces x cols partial products (pieces > 1) */
    char *product;  /* cols */
} chain_run;

/* y = alpha op(X rows) x + beta y over m rows starting at row r0 (op: X or X^T) */
static void gemv_rows(const chain_run *c, bool trans, int64_t r0, int64_t m, double alpha,
                      const char *x, blasint incx, double beta, char *y)
{
    enum CBLAS_TRANSPOSE t = trans ? CblasTrans : CblasNoTrans;
    size_t es = tjA_es(c->dtype);
    const char *a = c->X + (size_t)r0 * (size_t)c->ld * es;
    if (c->dtype == TJ_FLOAT32)
        cblas_sgemv(CblasRowMajor, t, (blasint)m, c->cols, (float)alpha, (const float *)a, c->ld,
                    (const float *)x, incx, (float)beta, (float *)y, 1);
    else
        cblas_dgemv(CblasRowMajor, t, (blasint)m, c->cols, alpha, (const double *)a, c->ld,
                    (const double *)x, incx, beta, (double *)y, 1);
}

/* v = alpha X x on rows [r0, r0 + m). BLAS skips the product when alpha is 0 (its contract), so
 * an inf or NaN in it would not reach v, where numpy's 0 * (X @ x) is NaN: then the product is
 * computed with alpha 1 and scaled. */
static void gemv_a(const chain_run *c, int64_t r0, int64_t m)
{
    size_t es = tjA_es(c->dtype);
    char *v = c->v + (size_t)r0 * es;
    gemv_rows(c, false, r0, m, c->alpha == 0 ? 1 : c->alpha, c->x, c->incx, 0, v);
    for (int64_t i = 0; i < m && c->alpha == 0; i++) {
        if (c->dtype == TJ_FLOAT32)
            ((float *)v)[i] *= 0.0f;
        else
            ((double *)v)[i] *= 0.0;
    }
}

/* rows [lo, hi): A and B on each block, the block's X^T r added into share (cols elements) */
static void run_rows(const chain_run *c, int64_t lo, int64_t hi, char *share)
{
    size_t es = tjA_es(c->dtype);
    for (int64_t r0 = lo; r0 < hi; r0 += c->rb) {
        int64_t m = hi - r0 < c->rb ? hi - r0 : c->rb;
        gemv_a(c, r0, m);
        c->L->fn(c->L->ptrs, c->L->cshape, c->L->packed, c->L->cnd, r0, r0 + m);
        gemv_rows(c, true, r0, m, 1, c->r + (size_t)r0 * es, 1, r0 == lo ? 0 : 1, share);
    }
}

static void add_into(tj_dtype d, char *acc, const char *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        if (d == TJ_FLOAT32)
            ((float *)acc)[i] += ((const float *)x)[i];
        else
            ((double *)acc)[i] += ((const double *)x)[i];
    }
}

/* Piece k: its run of whole blocks, into its own share of X^T r. */
static tj_status run_piece(void *arg, int64_t k)
{
    const chain_run *c = arg;
    int64_t lo = c->nblocks * k / c->pieces * c->rb;
    int64_t hi = c->nblocks * (k + 1) / c->pieces * c->rb;
    size_t share = (size_t)k * (size_t)c->cols * tjA_es(c->dtype);
    run_rows(c, lo, hi < c->n ? hi : c->n, c->pieces > 1 ? c->shares + share : c->product);
    return TJ_OK;
}

/* X^T r over every row, the pieces spread over the pool and their shares summed in order; its
 * buffers come from the call's pool */
static tj_status product_by_pieces(tj_ctx *ctx, chain_run *c, tjS_pool *pool,
                                   tj_array **product)
{
    int64_t cols = c->cols;
    c->nblocks = (c->n + c->rb - 1) / c->rb;
    c->pieces = c->nblocks < MAX_PIECES ? (int)c->nblocks : MAX_PIECES;
    int64_t shape2[2] = {c->pieces, cols};
    tj_array *P = tjS_pool_buffer(ctx, pool, c->dtype, 1, &cols);
    tj_array *shares = c->pieces > 1 ? tjS_pool_buffer(ctx, pool, c->dtype, 2, shape2) : NULL;
    if (!P || (c->pieces > 1 && !shares)) {
        tjS_pool_put(pool, P);
        tjS_pool_put(pool, shares);
        return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory for a blocked gradient product");
    }
    memset(P->data, 0, (size_t)cols * tjA_es(c->dtype));
    c->product = P->data;
    c->shares = shares ? shares->data : NULL;
    /* one piece (a small X): run here, without the pool's job bookkeeping */
    int threads = c->pieces == 1 ? 1 : tjP_threads(ctx);
    threads = threads < c->pieces ? threads : c->pieces;
    /* the pieces are the parallelism: their gemv calls stay serial at every thread count. Left
     * to OpenBLAS's own count at one thread, its threaded sgemv_t (0.3.21, AMD EPYC) summed the
     * rows in another order than the serial one, so the bits depended on the thread count. */
    tjP_blas_threads(1);
    tj_status rc = c->pieces == 1 ? run_piece(c, 0) : tjP_run(threads, c->pieces, run_piece, c);
    size_t es = tjA_es(c->dtype);
    for (int k = 0; k < c->pieces && c->pieces > 1; k++)
        add_into(c->dtype, P->data, c->shares + (size_t)k * (size_t)cols * es, cols);
    tjS_pool_put(pool, shares);
    if (rc != TJ_OK) {
        tjS_pool_put(pool, P);
        return rc;
    }
    *product = P;
    return TJ_OK;
}

/* A's operands as BLAS takes them row by row, or false (the chain then runs as plain steps) */
static bool blockable(const tjS_step *A, tj_array *X, tj_array *x, chain_run *c)
{
    tjB_mat m;
    blasint inc;
    if (X->ndim != 2 || x->ndim != 1 || X->dtype != A->root->dtype || x->dtype != X->dtype ||
        X->shape[1] != x->shape[0] || !tjB_fits_int(X->shape[0]) || !tjB_fits_int(X->shape[1]) ||
        X->shape[0] == 0 || X->shape[1] == 0 || !tjB_as_mat(X, &m) || m.trans ||
        !tjB_as_vec(x, &inc))
        return false;
    *c = (chain_run){.dtype = X->dtype, .X = m.p, .ld = m.ld, .cols = (blasint)X->shape[1],
                     .x = x->data, .incx = inc, .n = X->shape[0],
                     .rb = tjS_chain_block_rows(X->shape[1], X->dtype)};
    return true;
}

/* A and B over every row once B's launch is ready: by blocks, X^T r into *product (r: B's
 * output C reads), or when B's space is not X's rows after all (r NULL) one pass each */
static tj_status run_ab(tj_ctx *ctx, chain_run *c, tjS_launch *L, const tj_array *r,
                        tjS_pool *pool, tj_array **product)
{
    if (r) {
        c->L = L;
        c->r = r->data;
        return product_by_pieces(ctx, c, pool, product);
    }
    gemv_a(c, 0, c->n);
    if (L->rows > 0)
        L->fn(L->ptrs, L->cshape, L->packed, L->cnd, 0, L->rows);
    return TJ_OK;
}

/* r (C's operand) when it is B's output over exactly X's rows, contiguous; else NULL */
static const tj_array *blocked_r(const chain_run *c, const tjS_launch *L, const tj_array *r)
{
    bool ok = L->rows == c->n && r && r->ndim == 1 && r->shape[0] == c->n && tjA_is_contiguous(r);
    return ok ? r : NULL;
}

static tj_status run_b(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns, tj_array **slots,
                       const tjS_mem *mem, const tjS_chain *ch, tj_array **product)
{
    const tjS_step *A = &plan->steps[ch->a], *B = &plan->steps[ch->b], *C = &plan->steps[ch->c];
    tj_array *X = slots[A->in_slots[0]], *x = slots[A->in_slots[1]];
    chain_run c;
    if (!blockable(A, X, x, &c)) {
        tj_status rc = tjS_run_blas(ctx, A, slots, mem);
        return rc == TJ_OK ? tjS_run_kernel(ctx, plan, B, fns[B->kernel], slots, mem) : rc;
    }
    c.alpha = tjS_scalar(slots[A->in_slots[2]]);
    tj_array *v = tjS_out_array(ctx, mem, A->out_slots[0], c.dtype, 1, &c.n);
    if (!v)
        return tjS_out_failed(ctx, A);
    slots[A->out_slots[0]] = v;
    c.v = v->data;
    tjS_launch L;
    tj_status rc = tjS_kernel_begin(ctx, plan, B, fns[B->kernel], slots, mem, &L);
    const tj_array *r = rc == TJ_OK ? blocked_r(&c, &L, slots[C->in_slots[1]]) : NULL;
    if (rc == TJ_OK && mem && mem->rec) {
        tjS_chain_args args = {c.dtype, c.ld, c.cols, c.incx, c.n, c.rb};
        tjS_rec_chain_b(mem->rec, B, &L, r != NULL, &args);
    }
    if (rc == TJ_OK)
        rc = run_ab(ctx, &c, &L, r, mem ? mem->pool : NULL, product);
    tjS_kernel_end(&L);
    return rc;
}

tj_status tjS_chain_replay_b(tj_ctx *ctx, const tjS_plan *plan, int b, tj_array *const *slots,
                             tjS_launch *L, bool blocked, const tjS_chain_args *args,
                             tjS_pool *pool, tj_array **product)
{
    const tjS_chain *ch = &plan->chains[plan->step_chain[b]];
    const tjS_step *A = &plan->steps[ch->a], *C = &plan->steps[ch->c];
    /* blockable's layout (X as stored, not transposed), taken as recorded */
    chain_run c = {.dtype = args->dtype, .X = slots[A->in_slots[0]]->data,
                   .ld = (blasint)args->ld, .cols = (blasint)args->cols,
                   .x = slots[A->in_slots[1]]->data, .incx = (blasint)args->incx,
                   .alpha = tjS_scalar(slots[A->in_slots[2]]),
                   .v = slots[A->out_slots[0]]->data, .n = args->n, .rb = args->rb};
    return run_ab(ctx, &c, L, blocked ? slots[C->in_slots[1]] : NULL, pool, product);
}

/* C's alpha and beta, and Z's shape against the product's (an error as the step reports it) */
static tj_status c_args(tj_ctx *ctx, const tjS_step *C, tj_array *const *slots, int64_t n,
                        double *alpha, double *beta)
{
    tj_array *Z = slots[C->in_slots[4]];
    *alpha = tjS_scalar(slots[C->in_slots[2]]);
    *beta = tjS_scalar(slots[C->in_slots[3]]);
    bool bad_z = Z->ndim != 1 || (Z->shape[0] != n && Z->shape[0] != 1);
    if (tjG_blas_reads_z(C->root, *beta) && bad_z) {
        char buf[160];
        return tjC_error(ctx, TJ_ERR_SHAPE,
                         "%s: the added term has length %lld on axis 0, the product %lld",
                         tjG_describe(C->root, buf, sizeof buf),
                         (long long)(Z->ndim ? Z->shape[0] : 1), (long long)n);
    }
    return TJ_OK;
}

/* out = beta out + alpha product (out holds Z when C reads it: tjG_blas_reads_z) */
static void c_combine(const tjS_step *C, tj_array *out, const tj_array *product, double alpha,
                      double beta)
{
    bool z = tjG_blas_reads_z(C->root, beta);
    for (int64_t i = 0; i < product->size; i++) {
        if (out->dtype == TJ_FLOAT32) {
            float *y = (float *)out->data, p = ((const float *)product->data)[i];
            y[i] = z ? (float)alpha * p + (float)beta * y[i] : (float)alpha * p;
        } else {
            double *y = (double *)out->data, p = ((const double *)product->data)[i];
            y[i] = z ? alpha * p + beta * y[i] : alpha * p;
        }
    }
}

/* C = beta Z + alpha X^T r with X^T r already in product */
static tj_status run_c(tj_ctx *ctx, const tjS_step *C, tj_array **slots, const tjS_mem *mem,
                       tj_array *product)
{
    double alpha, beta;
    int64_t n = product->size;
    tj_status rc = c_args(ctx, C, slots, n, &alpha, &beta);
    tj_array *out;
    if (rc == TJ_OK)
        rc = tjS_blas_out(ctx, C, slots[C->in_slots[4]], &n, beta, mem, &out);
    if (rc != TJ_OK)
        return rc;
    if (mem && mem->rec)
        tjS_rec_chain_c(mem->rec, C);
    c_combine(C, out, product, alpha, beta);
    slots[C->out_slots[0]] = out;
    return TJ_OK;
}

tj_status tjS_chain_replay_c(tj_ctx *ctx, const tjS_step *C, tj_array *const *slots,
                             const tj_array *product)
{
    double alpha, beta;
    tj_array *Z = slots[C->in_slots[4]], *out = slots[C->out_slots[0]];
    tj_status rc = c_args(ctx, C, slots, product->size, &alpha, &beta);
    if (rc != TJ_OK)
        return rc;
    if (tjG_blas_reads_z(C->root, beta) && out->data != Z->data) /* as tjS_blas_out */
        tjS_fill_broadcast(out, Z);
    c_combine(C, out, product, alpha, beta);
    return TJ_OK;
}

tj_status tjS_run_chain_step(tj_ctx *ctx, const tjS_plan *plan, tjK_fn const *fns,
                             tj_array **slots, int i, const tjS_mem *mem, tj_array **product)
{
    const tjS_chain *ch = &plan->chains[plan->step_chain[i]];
    if (i == ch->a)
        return TJ_OK; /* runs with B */
    if (i == ch->b)
        return run_b(ctx, plan, fns, slots, mem, ch, product);
    const tjS_step *C = &plan->steps[ch->c];
    if (!*product)
        return tjS_run_blas(ctx, C, slots, mem);
    tj_status rc = run_c(ctx, C, slots, mem, *product);
    tjS_pool_put(mem ? mem->pool : NULL, *product);
    *product = NULL;
    return rc;
}
