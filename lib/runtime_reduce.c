/* Running a reduction kernel (sum mean prod max min all any): the output filled with the op's
 * identity, the iteration axes ordered and coalesced, the work cut into a FIXED list of pieces,
 * the pieces' partial results combined in a fixed order, means divided, empty max/min refused.
 *
 * Why pieces. A float sum's value depends on the order of its additions, and a thread pool
 * splitting [begin, end) would both race on shared output elements and change that order. So
 * the decomposition depends only on the iteration space, never on how many threads run it:
 *   - axes are ordered kept-outer, then reduced, then (when it is kept) the last axis, so the
 *     rows that feed one output element (or one output row) form a run of R consecutive rows;
 *   - a run of at most G rows (G ~ BLOCK elements, 256 rows at most) is one piece writing its
 *     output directly,
 *     and consecutive such runs are one kernel call a pool may cut at any multiple of R;
 *   - a longer run is cut into pieces of G rows (a single 1-D row: into CHUNKs of 16 BLOCKs,
 *     aligned to the kernel's BLOCK segments), each reducing into its own partial result;
 *   - partial results are combined in piece order (float sums with Neumaier compensation).
 * Every piece is independent and writes its own memory: a pool may run pieces in any order on
 * any number of threads and the bits of the result stay the same. The blocking also keeps float32
 * accurate: BLOCK-sized segments with vector partial sums, compensated combination above them. */
#include "replay.h"
#include "pool.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    BLOCK = 4096,       /* jit/llvm/lower.c's segment: G rows cover about this many elements */
    CHUNK = 16 * BLOCK, /* the piece of a single long row (a multiple of BLOCK) */
    /* rows of a piece: their results are combined plainly (no compensation), so at most
     * MAX_ROWS of them (float32: <= 256 roundings, ~1.5e-5 relative at worst); column-style
     * pieces have MAX_ROWS rows (their partial rows are 1/256 of the input: with 16 rows,
     * writing and folding the partials cost as much as the kernel; 64 rows were still ~6%
     * slower than 256 on W3's 4000x4000 column sums) */
    MAX_ROWS = 256,
};

/* ---- identities ------------------------------------------------------------------------------ */

/* The identity of op in dtype d, as the kernels' identity() (jit/llvm/lower.c). */
static void identity_bytes(tj_op op, tj_dtype d, unsigned char *out)
{
    bool max = op == TJ_OP_MAX, min = op == TJ_OP_MIN;
    memset(out, 0, 8);
    if (d == TJ_BOOL) {
        out[0] = op == TJ_OP_PROD || min || op == TJ_OP_ALL;
        return;
    }
    if (op == TJ_OP_PROD) {
        tjA_store(d, out, 0, 1.0);
    } else if ((max || min) && tj_dtype_is_float(d)) {
        tjA_store(d, out, 0, max ? -INFINITY : INFINITY);
    } else if (max || min) {
        /* integers: the lowest / highest value (tjA_store saturates) */
        tjA_store(d, out, 0, max ? -1e300 : 1e300);
    }
}

/* n copies of value: memset for an all-zero identity, else one element copied by doubling
 * (an element-by-element memcpy here cost more than the column-sum kernel) */
static void fill(void *p, int64_t n, const unsigned char *value, size_t es)
{
    static const unsigned char zero[8];
    size_t total = (size_t)n * es, have = es;
    if (n <= 0)
        return;
    if (n == 1) { /* a scalar result (a replayed call's common case): no library calls */
        unsigned char *q = p;
        for (size_t b = 0; b < es; b++)
            q[b] = value[b];
        return;
    }
    if (memcmp(value, zero, es) == 0) {
        memset(p, 0, total);
        return;
    }
    memcpy(p, value, es);
    for (; have < total; have *= 2)
        memcpy((char *)p + have, p, have < total - have ? have : total - have);
}

/* ---- combining partial results --------------------------------------------------------------- */

/* Partial results are folded a block of FOLD_COLS outputs at a time, piece after piece: each
 * output still sees its parts in piece order (the bits do not change), but the walk is along
 * rows, so a row of partials (column sums) is read contiguously and the loops vectorize. */
enum { FOLD_COLS = 256 };

#define FLOAT_FOLD(SUF, T)                                                                         \
    static void fold_##SUF(tj_op op, char *outp, const char *parts, int64_t n, int64_t width,      \
                           int64_t cols)                                                           \
    {                                                                                              \
        T acc[FOLD_COLS], c[FOLD_COLS];                                                            \
        bool sum = op == TJ_OP_SUM || op == TJ_OP_MEAN, max = op == TJ_OP_MAX;                     \
        for (int64_t e0 = 0; e0 < cols; e0 += FOLD_COLS) {                                         \
            int64_t m = cols - e0 < FOLD_COLS ? cols - e0 : FOLD_COLS;                             \
            memcpy(acc, outp + (size_t)e0 * sizeof(T), (size_t)m * sizeof(T));                     \
            memset(c, 0, sizeof c);                                                                \
            for (int64_t p = 0; p < n; p++) {                                                      \
                const T *v = (const T *)parts + p * width + e0;                                    \
                if (sum) { /* Neumaier: c catches what each addition rounds away; values are   \
                            * selected, never computed under a condition, so the loop vectorizes   \
                            * (4x faster here) */                                                  \
                    for (int64_t e = 0; e < m; e++) {                                              \
                        T a = acc[e], x = v[e], t = a + x;                                         \
                        bool big = ABS_##SUF(a) >= ABS_##SUF(x);                                   \
                        T hi = big ? a : x, lo = big ? x : a;                                      \
                        c[e] += (hi - t) + lo;                                                     \
                        acc[e] = t;                                                                \
                    }                                                                              \
                } else if (op == TJ_OP_PROD) {                                                     \
                    for (int64_t e = 0; e < m; e++)                                                \
                        acc[e] *= v[e];                                                            \
                } else { /* max, min: NaN wins, as numpy */                                        \
                    for (int64_t e = 0; e < m; e++)                                                \
                        if ((max ? v[e] > acc[e] : v[e] < acc[e]) || v[e] != v[e])                 \
                            acc[e] = acc[e] != acc[e] ? acc[e] : v[e];                             \
                }                                                                                  \
            }                                                                                      \
            for (int64_t e = 0; sum && e < m; e++) {                                               \
                T with = acc[e] + c[e];                                                            \
                acc[e] = isfinite(acc[e]) ? with : acc[e];                                         \
            }                                                                                      \
            memcpy(outp + (size_t)e0 * sizeof(T), acc, (size_t)m * sizeof(T));                     \
        }                                                                                          \
    }

#define ABS_f32 fabsf
#define ABS_f64 fabs
FLOAT_FOLD(f32, float)
FLOAT_FOLD(f64, double)

/* Integers: wrapping sum/prod (as the kernels' integer arithmetic), exact max/min; read through
 * tjA_load_int, never through double (int64 would lose bits). */
static int64_t int_step(tj_op op, int64_t acc, int64_t v)
{
    switch (op) {
    case TJ_OP_PROD: return (int64_t)((uint64_t)acc * (uint64_t)v);
    case TJ_OP_MAX: return v > acc ? v : acc;
    case TJ_OP_MIN: return v < acc ? v : acc;
    case TJ_OP_ALL: return acc && v;
    case TJ_OP_ANY: return acc || v;
    default: return (int64_t)((uint64_t)acc + (uint64_t)v);
    }
}

/* out[e] = op(out[e], parts[e], parts[width + e], ..., parts[(n-1)*width + e]) in that order,
 * for e in [0, cols) (elements; cols <= width). */
static void fold(tj_op op, tj_dtype d, char *out, const char *parts, int64_t n, int64_t width,
                 int64_t cols)
{
    if (d == TJ_FLOAT32) {
        fold_f32(op, out, parts, n, width, cols);
        return;
    }
    if (d == TJ_FLOAT64) {
        fold_f64(op, out, parts, n, width, cols);
        return;
    }
    size_t es = tjA_es(d);
    int64_t acc[FOLD_COLS];
    for (int64_t e0 = 0; e0 < cols; e0 += FOLD_COLS) {
        int64_t m = cols - e0 < FOLD_COLS ? cols - e0 : FOLD_COLS;
        for (int64_t e = 0; e < m; e++)
            acc[e] = tjA_load_int(d, out + (size_t)(e0 + e) * es);
        for (int64_t p = 0; p < n; p++)
            for (int64_t e = 0; e < m; e++)
                acc[e] = int_step(op, acc[e], tjA_load_int(d, parts + (size_t)(p * width + e0 + e) * es));
        for (int64_t e = 0; e < m; e++)
            tjA_store_int(d, out + (size_t)(e0 + e) * es, acc[e]);
    }
}

/* The fold on the pool: an item is the columns [b * FOLD_ITEM_COLS, ...) of one run's output.
 * Each output element is folded by one item, its parts in piece order: the same bits on any
 * number of threads (W3's column sums: the fold was 2% of a two-thread call, on one thread). */
enum { FOLD_ITEM_COLS = 4 * FOLD_COLS };

typedef struct {
    tj_op op;
    tj_dtype dt;
    char *out;
    const char *parts;
    int64_t per_run, width, blocks;
    size_t es;
} fold_job;

static tj_status fold_task(void *arg, int64_t item)
{
    const fold_job *j = arg;
    int64_t r = item / j->blocks, e0 = (item % j->blocks) * FOLD_ITEM_COLS;
    int64_t m = j->width - e0 < FOLD_ITEM_COLS ? j->width - e0 : FOLD_ITEM_COLS;
    size_t at = (size_t)(r * j->per_run * j->width + e0) * j->es;
    fold(j->op, j->dt, j->out + (size_t)(r * j->width + e0) * j->es, j->parts + at, j->per_run,
         j->width, m);
    return TJ_OK;
}

/* ---- pieces on the pool ---------------------------------------------------------------------- */

/* Piece q = r * per_run + p reduces rows (or 1-D elements) [r*unit_len + p*piece, ... + piece)
 * into its own partial result at partial + q * width elements. An item is `batch` pieces. */
typedef struct {
    tj_ctx *ctx;
    const tjS_step *st;
    tjK_fn fn;
    char *const *in_ptrs;
    const int64_t *shape, *strides;
    int nin, cnd;
    int64_t per_run, piece, unit_len, width, npieces, batch;
    char *partial;
    size_t es;
    const unsigned char *id;
} pieces_job;

enum { LOCAL_PTRS = 16 };

static tj_status nomem(tj_ctx *ctx, const tjS_step *st);

static tj_status piece_task(void *arg, int64_t item)
{
    const pieces_job *j = arg;
    char *local[LOCAL_PTRS], **ptrs = local;
    if (j->nin + 1 > LOCAL_PTRS &&
        !(ptrs = tjC_malloc(j->ctx, sizeof *ptrs * (size_t)(j->nin + 1))))
        return nomem(j->ctx, j->st);
    memcpy(ptrs, j->in_ptrs, sizeof *ptrs * (size_t)j->nin);
    int64_t q_end = (item + 1) * j->batch < j->npieces ? (item + 1) * j->batch : j->npieces;
    for (int64_t q = item * j->batch; q < q_end; q++) {
        int64_t r = q / j->per_run, lo = (q % j->per_run) * j->piece;
        int64_t hi = lo + j->piece < j->unit_len ? lo + j->piece : j->unit_len;
        ptrs[j->nin] = j->partial + (size_t)(q * j->width) * j->es;
        fill(ptrs[j->nin], j->width, j->id, j->es); /* here, in parallel and into this cache */
        j->fn(ptrs, j->shape, j->strides, j->cnd, r * j->unit_len + lo, r * j->unit_len + hi);
    }
    if (ptrs != local)
        tjC_free(j->ctx, ptrs);
    return TJ_OK;
}

/* ---- the driver ------------------------------------------------------------------------------ */

/* Strides of every operand, packed operand-major for a kernel call of rank cnd. When `partial`,
 * the output's strides are replaced: 0 on outer axes, and on the inner axis 0 (a register
 * reduction into one element) or 1 (a row of partials). */
static void pack(int64_t *packed, const int64_t *strides, int nops, int cnd, bool partial,
                 bool acc_mode)
{
    for (int k = 0; k < nops; k++)
        memcpy(packed + k * cnd, strides + k * TJ_MAX_NDIM, sizeof(int64_t) * (size_t)cnd);
    if (!partial)
        return;
    int64_t *o = packed + (nops - 1) * cnd;
    for (int d = 0; d < cnd; d++)
        o[d] = 0;
    o[cnd - 1] = acc_mode ? 0 : 1;
}

static tj_status nomem(tj_ctx *ctx, const tjS_step *st)
{
    char buf[160];
    return tjC_error(ctx, TJ_ERR_NOMEM, "out of memory reducing %s",
                     tjG_describe(st->root, buf, sizeof buf));
}

void tjS_reduce_prepare(const tjS_step *st, const int64_t *shape, const int64_t *strides,
                        int64_t *scratch, tjS_reduce *R)
{
    int nd = st->iter_ndim, nin = st->nin, nops = nin + 1;
    identity_bytes(st->reduce, st->out_nodes[0]->dtype, R->id);
    /* the output's shape; the count of elements each result folds */
    int64_t ost[TJ_MAX_NDIM], acc = 1;
    R->count = 1;
    R->ond = 0;
    for (int d = 0; d < nd; d++) {
        bool red = (st->red_mask >> d) & 1u;
        if (red)
            R->count *= shape[d];
        if (!red || st->keepdims)
            R->oshape[R->ond++] = red ? 1 : shape[d];
    }
    for (int d = nd - 1; d >= 0; d--) { /* contiguous over the kept axes, 0 on reduced ones */
        bool red = (st->red_mask >> d) & 1u;
        ost[d] = red || shape[d] == 1 ? 0 : acc;
        acc *= red ? 1 : shape[d];
    }
    /* axis order: kept axes, reduced axes, then the last axis if it is kept */
    int order[TJ_MAX_NDIM], no = 0;
    bool last_kept = nd > 0 && !((st->red_mask >> (nd - 1)) & 1u);
    for (int d = 0; d < nd; d++)
        if (!((st->red_mask >> d) & 1u) && !(last_kept && d == nd - 1))
            order[no++] = d;
    for (int d = 0; d < nd; d++)
        if ((st->red_mask >> d) & 1u)
            order[no++] = d;
    if (last_kept)
        order[no++] = nd - 1;
    int64_t *pstr = scratch;
    for (int i = 0; i < nd; i++) {
        R->cshape[i] = shape[order[i]];
        for (int k = 0; k < nin; k++)
            pstr[k * TJ_MAX_NDIM + i] = strides[k * TJ_MAX_NDIM + order[i]];
        pstr[nin * TJ_MAX_NDIM + i] = ost[order[i]];
    }
    int cnd = R->count == 0 ? 0 : tjA_coalesce(nd, R->cshape, nops, pstr);
    for (int d = 0; d < cnd; d++)
        if (R->cshape[d] == 0) /* an empty kept axis: no result at all (and no piece sizes) */
            cnd = 0;
    R->cnd = cnd;
    if (cnd == 0)
        return; /* nothing to fold: every result is the identity */
    const int64_t *cshape = R->cshape;
    bool acc_mode = pstr[nin * TJ_MAX_NDIM + cnd - 1] == 0;
    int64_t inner = cshape[cnd - 1], rows = 1, run = 1;
    for (int d = 0; d < cnd - 1; d++)
        rows *= cshape[d];
    for (int d = cnd - 2; d >= 0 && pstr[nin * TJ_MAX_NDIM + d] == 0; d--)
        run *= cshape[d]; /* rows per output element (row) */
    /* the unit of a piece: rows (n-D) or elements of the single row (1-D) */
    int64_t unit_len = cnd == 1 ? inner : run;
    int64_t piece = cnd == 1 ? CHUNK : inner >= BLOCK ? 1 : BLOCK / inner;
    if (cnd > 1 && (piece > MAX_ROWS || !acc_mode))
        piece = MAX_ROWS;
    if (cnd > 1) { /* as many pieces, of equal sizes: 4000 rows as 16 x 250, not 15 x 256 + 160,
                    * so two threads get equal halves (the cut still depends on the shape alone) */
        int64_t count = (unit_len + piece - 1) / piece;
        piece = (unit_len + count - 1) / count;
    }
    R->pieces = !((cnd == 1 && !acc_mode) || unit_len <= piece);
    pack(R->packed, pstr, nops, cnd, R->pieces, acc_mode);
    if (!R->pieces) { /* every run is one piece; a pool may cut [0, rows) at multiples of run */
        R->rows = cnd == 1 ? inner : rows;
        R->unit = cnd == 1 ? (acc_mode ? inner : 1) : run;
        return;
    }
    R->per_run = (unit_len + piece - 1) / piece;
    R->nruns = cnd == 1 ? 1 : rows / run;
    R->width = acc_mode ? 1 : inner;
    R->piece = piece;
    R->unit_len = unit_len;
}

/* The pieces of R, each into its own partial result, folded into out in order. The partial
 * results come from the workspace's pool: a fresh 256 KiB per call (W3's column sums) was handed
 * back to the system by free and faulted in again by the next call. */
static tj_status run_pieces(tj_ctx *ctx, const tjS_step *st, tjK_fn fn, const tjS_reduce *R,
                            char *const *pptrs, tj_array *out, tjS_pool *pool)
{
    tj_dtype dt = st->out_nodes[0]->dtype;
    size_t es = tjA_es(dt);
    int64_t nparts = R->nruns * R->per_run * R->width;
    tj_array *partials = tjS_pool_buffer(ctx, pool, dt, 1, &nparts);
    if (!partials)
        return nomem(ctx, st);
    char *partial = partials->data;
    int64_t piece_elems = R->cnd == 1 ? R->piece : R->piece * R->cshape[R->cnd - 1];
    pieces_job job = {ctx,       st,         fn,        pptrs,    R->cshape,
                      R->packed, st->nin,    R->cnd,    R->per_run, R->piece,
                      R->unit_len, R->width, R->nruns * R->per_run,
                      piece_elems >= TJP_CHUNK_ELEMS ? 1 : TJP_CHUNK_ELEMS / piece_elems,
                      partial,   es,         R->id};
    int threads = tjP_threads(ctx);
    tj_status rc = tjP_run(threads, (job.npieces + job.batch - 1) / job.batch, piece_task, &job);
    if (rc == TJ_OK) {
        fold_job fj = {st->reduce, dt, out->data, partial, R->per_run, R->width,
                       (R->width + FOLD_ITEM_COLS - 1) / FOLD_ITEM_COLS, es};
        tjP_run(nparts >= TJP_CHUNK_ELEMS ? threads : 1, R->nruns * fj.blocks, fold_task, &fj);
    }
    tjS_pool_put(pool, partials);
    return rc;
}

tj_status tjS_reduce_run(tj_ctx *ctx, const tjS_step *st, tjK_fn fn, const tjS_reduce *R,
                         char *const *ptrs, tj_array *out, tjS_pool *pool)
{
    int nin = st->nin;
    tj_op op = st->reduce;
    tj_dtype dt = st->out_nodes[0]->dtype;
    fill(out->data, out->size, R->id, tjA_es(dt));
    if (out->size == 0)
        return TJ_OK;
    if (R->count == 0 && (op == TJ_OP_MAX || op == TJ_OP_MIN)) {
        char buf[160];
        return tjC_error(ctx, TJ_ERR_VALUE,
                         "%s: %s of an empty axis (a zero-size reduction has no identity; numpy "
                         "raises too)",
                         tjG_describe(st->root, buf, sizeof buf), tjG_ops[op].name);
    }
    if (R->cnd > 0) {
        /* operand pointers on the stack for ordinary kernels: this runs on every call */
        char *buf[TJS_SMALL_OPS], **pptrs = buf;
        if (nin + 1 > TJS_SMALL_OPS && !(pptrs = tjC_malloc(ctx, sizeof *pptrs * (size_t)(nin + 1))))
            return nomem(ctx, st);
        memcpy(pptrs, ptrs, sizeof *pptrs * (size_t)nin);
        pptrs[nin] = out->data;
        tj_status rc = TJ_OK;
        if (R->pieces)
            rc = run_pieces(ctx, st, fn, R, pptrs, out, pool);
        else
            tjP_run_rows(ctx, fn, pptrs, R->cshape, R->packed, R->cnd, R->rows, R->unit);
        if (pptrs != buf)
            tjC_free(ctx, pptrs);
        if (rc != TJ_OK)
            return rc;
    }
    if (op == TJ_OP_MEAN) { /* 0/0 for an empty mean: NaN, as numpy */
        for (int64_t i = 0; i < out->size; i++) {
            if (dt == TJ_FLOAT32)
                ((float *)out->data)[i] /= (float)R->count;
            else
                ((double *)out->data)[i] /= (double)R->count;
        }
    }
    return TJ_OK;
}

tj_status tjS_run_reduce(tj_ctx *ctx, const tjS_step *st, tjK_fn fn, const int64_t *shape,
                         char **ptrs, int64_t *strides, tj_array **slots, const tjS_mem *mem)
{
    int nops = st->nin + 1;
    /* strides on the stack for ordinary kernels: this runs on every call */
    int64_t scratch_buf[TJS_SMALL_OPS * TJ_MAX_NDIM], packed_buf[TJS_SMALL_OPS * TJ_MAX_NDIM];
    bool small = nops <= TJS_SMALL_OPS;
    size_t table = sizeof(int64_t) * (size_t)nops * TJ_MAX_NDIM;
    int64_t *scratch = small ? scratch_buf : tjC_malloc(ctx, table);
    tjS_reduce R = {.packed = small ? packed_buf : tjC_malloc(ctx, table)};
    tj_status rc = TJ_OK;
    tj_array *out = NULL;
    if (!scratch || !R.packed)
        rc = nomem(ctx, st);
    if (rc == TJ_OK) {
        tjS_reduce_prepare(st, shape, strides, scratch, &R);
        out = tjS_out_array(ctx, mem, st->out_slots[0], st->out_nodes[0]->dtype, R.ond,
                            R.oshape);
        if (!out)
            rc = tjS_out_failed(ctx, st);
        else
            slots[st->out_slots[0]] = out;
    }
    if (rc == TJ_OK && mem && mem->rec)
        tjS_rec_reduce(mem->rec, st, &R);
    if (rc == TJ_OK)
        rc = tjS_reduce_run(ctx, st, fn, &R, ptrs, out, mem ? mem->pool : NULL);
    if (!small) {
        tjC_free(ctx, scratch);
        tjC_free(ctx, R.packed);
    }
    return rc;
}
