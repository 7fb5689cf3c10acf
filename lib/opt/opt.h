/* The graph optimizer (lib/opt/): rules as static pattern data, a driver indexed by root op that
 * runs each pass to a fixpoint, and a log of every firing.
 *
 * A rule is a name, a pattern over ops and a right-hand-side function that may decline:
 *     { "log1p", P(LOG, P(ADD, K(1.0), V(0))), rw_log1p }
 * Patterns bind sub-expressions to slots (V), match uniform constants (K: a scalar or any
 * constant whose elements are all equal, also behind dimshuffles) and try both operand orders of
 * commutative ops. The right-hand side builds its replacement with the builders (nodes are
 * hash-consed: nothing is mutated) and must return a node of exactly the root's type (dtype, rank,
 * broadcast pattern); the driver declines anything else.
 *
 * Passes run in Theano's order: merge -> canonicalize -> stabilize -> blas -> specialize ->
 * (fusion and inplace, decided by the scheduler on the plan) -> final merge. Each rule pass also
 * runs the canonicalize rules, so what a rewrite exposes is cleaned up in the same fixpoint.
 *
 * Internal prefix: tjR_ (rewrite). */
#ifndef TJ_OPT_H
#define TJ_OPT_H

#include "internal.h"

/* ---- patterns -------------------------------------------------------------------------------- */
enum { TJR_P_OP, TJR_P_VAR, TJR_P_CONST, TJR_P_ANYCONST, TJR_P_ANY };

typedef struct tjR_pat {
    int kind;  /* TJR_P_* */
    int op;    /* TJR_P_OP: the op; TJR_P_ANY (root only): every op */
    int slot;  /* TJR_P_VAR / TJR_P_ANYCONST: the binding slot */
    double value; /* TJR_P_CONST */
    int nsub;  /* TJR_P_OP: sub-patterns (0: inputs not looked at) */
    const struct tjR_pat *sub[3];
} tjR_pat;

#define TJR_NARGS_(a, b, c, n, ...) n
#define TJR_NARGS(...) TJR_NARGS_(__VA_ARGS__, 3, 2, 1, 0)
/* P(OP, subs...): a node of op TJ_OP_<OP> whose inputs match subs (both orders if commutative) */
#define TJR_P(o, ...)                                                                              \
    (&(const tjR_pat){TJR_P_OP, TJ_OP_##o, -1, 0, TJR_NARGS(__VA_ARGS__), {__VA_ARGS__}})
/* P0(OP): a node of that op, inputs not examined */
#define TJR_P0(o) (&(const tjR_pat){TJR_P_OP, TJ_OP_##o, -1, 0, 0, {0}})
/* V(i): any node, bound to slot i (a second V(i) must be the same node) */
#define TJR_V(i) (&(const tjR_pat){TJR_P_VAR, 0, i, 0, 0, {0}})
/* K(x): a uniform constant equal to x */
#define TJR_K(x) (&(const tjR_pat){TJR_P_CONST, 0, -1, x, 0, {0}})
/* C(i): any uniform constant, bound to slot i with its value in c[i] */
#define TJR_C(i) (&(const tjR_pat){TJR_P_ANYCONST, 0, i, 0, 0, {0}})
/* ANY: a rule tried on every node (constant folding) */
#define TJR_ANY (&(const tjR_pat){TJR_P_ANY, 0, -1, 0, 0, {0}})

enum { TJR_SLOTS = 6 };

typedef struct tjR_run tjR_run; /* the driver's state, for rules that ask about the graph */

typedef struct {
    tj_var *root;
    tj_var *v[TJR_SLOTS];
    double c[TJR_SLOTS];
    tjR_run *run;
} tjR_match;

typedef tj_var *(*tjR_rhs)(tjR_match *m);

enum { TJR_DEFAULT_OFF = 1 }; /* a rule that runs only when optimizer_including names it */

typedef struct {
    const char *name;
    const tjR_pat *pat;
    tjR_rhs rhs;
    unsigned flags;
} tjR_rule;

/* One family of rules (one file). */
typedef struct {
    const char *name;
    const tjR_rule *rules;
    int nrules;
} tjR_family;

TJ_HIDDEN extern const tjR_family tjR_merge_rules;
TJ_HIDDEN extern const tjR_family tjR_canonicalize_rules; /* arithmetic (canonicalize.c) */
TJ_HIDDEN extern const tjR_family tjR_canon_shape_rules;  /* types, shapes (canon_shape.c) */
TJ_HIDDEN extern const tjR_family tjR_stabilize_rules;
TJ_HIDDEN extern const tjR_family tjR_blas_rules;
TJ_HIDDEN extern const tjR_family tjR_specialize_rules;

/* ---- the log --------------------------------------------------------------------------------- */
typedef struct {
    const char *pass;  /* static strings */
    const char *rule;
    tj_var *before, *after; /* rewrites: the node and its replacement (both live in the context) */
    char *note;        /* plan decisions (fusion, inplace): a sentence; NULL for rewrites */
} tjR_entry;

typedef struct {
    tjR_entry *e;
    size_t n, cap;
} tjR_log;

/* Entries and notes come from ctx's allocator; tjR_log_free takes the same ctx. */
TJ_HIDDEN tj_status tjR_log_add(tj_ctx *ctx, tjR_log *log, const char *pass, const char *rule,
                                tj_var *before, tj_var *after, const char *note);
TJ_HIDDEN void tjR_log_free(tj_ctx *ctx, tjR_log *log);
/* The log as text, one firing per line; the caller frees it. */
TJ_HIDDEN char *tjR_log_text(const tjR_log *log);
/* Firings whose rule or pass is `name` (NULL: all). */
TJ_HIDDEN int tjR_log_count(const tjR_log *log, const char *name);
/* A compact one-line rendering of the expression at v (depth-limited): "log1p(neg('x'))". */
TJ_HIDDEN void tjR_expr(const tj_var *v, char *buf, size_t len);

/* ---- configuration --------------------------------------------------------------------------- */
typedef struct {
    bool fast_compile; /* only merge and canonicalize (plus passes named in including) */
    const char *const *excluding;
    int nexcluding;
    const char *const *including;
    int nincluding;
} tjR_config;

/* TJ_ERR_INVALID naming the first name that is no rule or pass. */
TJ_HIDDEN tj_status tjR_config_check(tj_ctx *ctx, const tjR_config *cfg);
/* Whether a pass (or a plan decision such as "fusion", "inplace") runs under cfg. */
TJ_HIDDEN bool tjR_pass_enabled(const tjR_config *cfg, const char *pass);
/* Whether a named rule of a family runs under cfg (flags: TJR_DEFAULT_OFF or 0). */
TJ_HIDDEN bool tjR_rule_enabled(const tjR_config *cfg, const char *family, const char *rule,
                                unsigned flags);

/* ---- the driver ------------------------------------------------------------------------------ */
/* Rewrites outs[0..nouts) in place (function outputs then update values) through every enabled
 * pass; appends each firing to log. The graph the caller built is never modified. */
TJ_HIDDEN tj_status tjR_optimize(tj_ctx *ctx, const tjR_config *cfg, tj_var **outs, int nouts,
                                 tjR_log *log);
/* Runs one set of families to a fixpoint as pass `pass` (tests drive custom rule sets with it).
 * max_sweeps bounds the fixpoint: exceeding it is TJ_ERR_INVALID naming the rules still firing. */
TJ_HIDDEN tj_status tjR_run_pass(tj_ctx *ctx, const tjR_config *cfg, const char *pass,
                                 const tjR_family *const *fams, int nfams, tj_var **outs,
                                 int nouts, tjR_log *log, int max_sweeps);

/* TJ_MODE_DEBUG (lib/opt/debug.c): every logged rewrite's node before and after evaluated on
 * the call's inputs; TJ_ERR_VALUE naming the first rewrite that changed a value. */
TJ_HIDDEN tj_status tjR_debug_check(tj_ctx *ctx, const tjR_log *log, tj_var *const *inputs,
                                    tj_array *const *values, int nin, const char *fname);

/* Plan decisions (lib/opt/inplace.c), after the scheduler built `plan` for outs (nout outputs,
 * then nupd update values of upd_vars): in-place outputs (elemwise_inplace, blas_inplace, and
 * update_inplace when updates_allowed), each logged; and one "fusion" note per kernel. */
struct tjS_plan;
TJ_HIDDEN tj_status tjR_plan_inplace(tj_ctx *ctx, struct tjS_plan *plan, const tjR_config *cfg,
                                     tj_var *const *outs, int nout, tj_var *const *upd_vars,
                                     int nupd, bool updates_allowed, tjR_log *log);
TJ_HIDDEN tj_status tjR_plan_log_fusion(tj_ctx *ctx, const struct tjS_plan *plan, tjR_log *log);

/* ---- helpers for rules ----------------------------------------------------------------------- */
/* Whether v is a constant (behind any dimshuffles) whose elements all equal one value. */
TJ_HIDDEN bool tjR_uniform(const tj_var *v, double *value);
/* Consumers of v in the graph being rewritten (outputs count as consumers), as at the start of
 * the sweep; a node made during the sweep as the replacement of one takes over its consumers,
 * any other new node reports 2 (unknown: rules needing a single consumer leave it shared). */
TJ_HIDDEN int tjR_clients(const tjR_run *run, const tj_var *v);
/* Whether v is a node of the graph being rewritten (as it was when the sweep began). */
TJ_HIDDEN bool tjR_in_graph(const tjR_run *run, const tj_var *v);
/* A 0-d constant of dtype d. */
TJ_HIDDEN tj_var *tjR_const(tj_ctx *ctx, tj_dtype d, double value);
/* A constant of v's dtype and rank, broadcastable on every axis (v's scalar literal form). */
TJ_HIDDEN tj_var *tjR_const_like(const tj_var *v, double value);
/* v as a 0-d node when v is broadcastable on every axis (dimshuffle dropping them), else NULL. */
TJ_HIDDEN tj_var *tjR_scalar_of(tj_var *v);
/* n standing in for the elementwise node r (built from r's operands or below), wrapped in
 * second(leaf, n) for each shape leaf of r's parts that n no longer has and does not broadcast
 * against itself, so that the call still fails where numpy would (lib/opt/shape_check.c). For
 * rewrites whose n is elementwise or one of r's operands. NULL when that does not give r's
 * type, or r is too big to tell. */
TJ_HIDDEN tj_var *tjR_keep_shape_checks(tj_var *r, tj_var *n);
/* x standing in for a rule's elementwise root: tjR_keep_shape_checks(root, x) */
static inline tj_var *tjR_as_root(tjR_match *m, tj_var *x)
{
    return tjR_keep_shape_checks(m->root, x);
}
/* Whether a and b have the same type (dtype, rank, broadcast pattern). */
static inline bool tjR_same_type(const tj_var *a, const tj_var *b)
{
    return a && b && a->dtype == b->dtype && a->ndim == b->ndim && a->bcast == b->bcast;
}
static inline uint32_t tjR_full(int ndim) { return ndim >= 32 ? ~0u : (1u << ndim) - 1; }
/* every axis broadcastable: a scalar in disguise */
static inline bool tjR_is_scalar(const tj_var *v) { return v->bcast == tjR_full(v->ndim); }

#endif /* TJ_OPT_H */
