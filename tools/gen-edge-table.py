#!/usr/bin/env python3
"""Generates tests/edges_table.inc: every elementwise op of lib/ops.def on the edge values of each
dtype (NaN, +-inf, +-0, denormals, the largest and smallest values, integer extremes that
overflow), with numpy's answers written out as literals. tests/test_edges.c runs each row
through the JIT (FAST_RUN) and the reference executor (FAST_COMPILE).

Each row's comment is the numpy expression that produced it (xs, ys, zs: the row's inputs as
numpy arrays of its dtype). numpy has no sigmoid, softplus, erf or erfc: those are written
from numpy primitives in float64 (math.erf for erf/erfc) and rounded to the dtype, as said in the
comment. Pairs numpy refuses (integer ** negative) are left out of their row.

    /usr/bin/python3 tools/gen-edge-table.py           rewrites tests/edges_table.inc
    /usr/bin/python3 tools/gen-edge-table.py --check   exits 1 when the file is stale
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from generated import write_or_check  # noqa: E402
import warnings

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "tests", "edges_table.inc")
warnings.simplefilter("ignore")  # overflow and invalid-value warnings are the point here

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "float32", "float64"]
TJ = {d: "TJ_" + d.upper() for d in DTYPES}
FLOATS = ["float32", "float64"]
INTS = ["int8", "int16", "int32", "int64", "uint8"]


def edges(dt, small=False):
    """The edge values of a dtype; small: fewer, for crossing in binary ops."""
    if dt == "bool":
        return [False, True]
    if dt in INTS:
        i = np.iinfo(dt)
        vals = [i.min, i.max, 0, 1, -1] if dt != "uint8" else [0, 255, 1, 128]
        if not small:
            vals += [i.min + 1, i.max - 1, 2] if dt != "uint8" else [254, 2]
        return vals
    f = np.finfo(dt)
    den = np.nextafter(np.array(0, dt), np.array(1, dt))  # the smallest denormal
    vals = [np.nan, np.inf, -np.inf, 0.0, -0.0, den, -den, f.max, -f.max, 1.0, -1.0]
    if not small:
        vals += [f.tiny, -f.tiny, 0.5, -0.5, 2.5, -2.5, 1e-3]
    return [np.array(v, dt)[()] for v in vals]


def f64(fn):
    """fn computed in float64 and rounded to the input's dtype."""
    return lambda x: fn(x.astype(np.float64)).astype(x.dtype)


def erf_vec(fn):
    return lambda x: np.array([fn(float(v)) for v in x], np.float64).astype(x.dtype)


def np2(fn):
    """numpy 2's rounding: integers come back unchanged, in their dtype (numpy 1 gave floats)."""
    return lambda x: x.copy() if x.dtype.kind in "iub" else fn(x)


# op name (ops.def) -> (public builder, numpy function, comment, dtypes)
UNARY = [
    ("neg", "tj_neg", np.negative, "np.negative(xs)", [d for d in DTYPES if d != "bool"]),
    ("abs", "tj_abs", np.absolute, "np.absolute(xs)", DTYPES),
    ("exp", "tj_exp", np.exp, "np.exp(xs)", FLOATS),
    ("log", "tj_log", np.log, "np.log(xs)", FLOATS),
    ("sqrt", "tj_sqrt", np.sqrt, "np.sqrt(xs)", FLOATS),
    ("sqr", "tj_sqr", np.square, "np.square(xs)", [d for d in DTYPES if d != "bool"]),
    ("inv", "tj_inv", np.reciprocal, "np.reciprocal(xs)", FLOATS),
    ("sigmoid", "tj_sigmoid", f64(lambda x: 1 / (1 + np.exp(-x))),
     "(1 / (1 + np.exp(-xs.astype(np.float64)))).astype(xs.dtype)", FLOATS),
    ("tanh", "tj_tanh", np.tanh, "np.tanh(xs)", FLOATS),
    ("log1p", "tj_log1p", np.log1p, "np.log1p(xs)", FLOATS),
    ("expm1", "tj_expm1", np.expm1, "np.expm1(xs)", FLOATS),
    ("softplus", "tj_softplus", f64(lambda x: np.logaddexp(0, x)),
     "np.logaddexp(0, xs.astype(np.float64)).astype(xs.dtype)", FLOATS),
    ("exp2", "tj_exp2", np.exp2, "np.exp2(xs)", FLOATS),
    ("log2", "tj_log2", np.log2, "np.log2(xs)", FLOATS),
    ("log10", "tj_log10", np.log10, "np.log10(xs)", FLOATS),
    ("rsqrt", "tj_rsqrt", lambda x: np.reciprocal(np.sqrt(x)), "np.reciprocal(np.sqrt(xs))",
     FLOATS),
    ("sin", "tj_sin", np.sin, "np.sin(xs)", FLOATS),
    ("cos", "tj_cos", np.cos, "np.cos(xs)", FLOATS),
    ("tan", "tj_tan", np.tan, "np.tan(xs)", FLOATS),
    ("arcsin", "tj_arcsin", np.arcsin, "np.arcsin(xs)", FLOATS),
    ("arccos", "tj_arccos", np.arccos, "np.arccos(xs)", FLOATS),
    ("arctan", "tj_arctan", np.arctan, "np.arctan(xs)", FLOATS),
    ("sinh", "tj_sinh", np.sinh, "np.sinh(xs)", FLOATS),
    ("cosh", "tj_cosh", np.cosh, "np.cosh(xs)", FLOATS),
    ("arcsinh", "tj_arcsinh", np.arcsinh, "np.arcsinh(xs)", FLOATS),
    ("arccosh", "tj_arccosh", np.arccosh, "np.arccosh(xs)", FLOATS),
    ("arctanh", "tj_arctanh", np.arctanh, "np.arctanh(xs)", FLOATS),
    ("erf", "tj_erf", erf_vec(math.erf), "[math.erf(v) for v in xs] rounded to xs.dtype", FLOATS),
    ("erfc", "tj_erfc", erf_vec(math.erfc), "[math.erfc(v) for v in xs] rounded to xs.dtype",
     FLOATS),
    ("sign", "tj_sign", np.sign, "np.sign(xs)", [d for d in DTYPES if d != "bool"]),
    ("floor", "tj_floor", np2(np.floor), "np.floor(xs)", FLOATS + INTS),
    ("ceil", "tj_ceil", np2(np.ceil), "np.ceil(xs)", FLOATS + INTS),
    ("round", "tj_round", np2(np.round), "np.round(xs)", FLOATS + INTS),
    ("trunc", "tj_trunc", np2(np.trunc), "np.trunc(xs)", FLOATS + INTS),
    ("isnan", "tj_isnan", np.isnan, "np.isnan(xs)", DTYPES),
    ("isinf", "tj_isinf", np.isinf, "np.isinf(xs)", DTYPES),
    ("not", "tj_not", np.logical_not, "np.logical_not(xs)", DTYPES),
    ("invert", "tj_invert", np.invert, "np.invert(xs)", ["bool"] + INTS),
]
BINARY = [
    ("add", "tj_add", np.add, "np.add(xs, ys)", DTYPES),
    ("sub", "tj_sub", np.subtract, "np.subtract(xs, ys)", [d for d in DTYPES if d != "bool"]),
    ("mul", "tj_mul", np.multiply, "np.multiply(xs, ys)", DTYPES),
    ("true_div", "tj_div", np.true_divide, "np.true_divide(xs, ys)", FLOATS),
    ("pow", "tj_pow", np.power, "np.power(xs, ys)", FLOATS + INTS),
    ("maximum", "tj_maximum", np.maximum, "np.maximum(xs, ys)", DTYPES),
    ("minimum", "tj_minimum", np.minimum, "np.minimum(xs, ys)", DTYPES),
    ("gt", "tj_gt", np.greater, "np.greater(xs, ys)", DTYPES),
    ("lt", "tj_lt", np.less, "np.less(xs, ys)", DTYPES),
    ("ge", "tj_ge", np.greater_equal, "np.greater_equal(xs, ys)", DTYPES),
    ("le", "tj_le", np.less_equal, "np.less_equal(xs, ys)", DTYPES),
    ("eq", "tj_eq", np.equal, "np.equal(xs, ys)", DTYPES),
    ("neq", "tj_neq", np.not_equal, "np.not_equal(xs, ys)", DTYPES),
    ("int_div", "tj_int_div", np.floor_divide, "np.floor_divide(xs, ys)", FLOATS + INTS),
    ("mod", "tj_mod", np.remainder, "np.remainder(xs, ys)", FLOATS + INTS),
    ("arctan2", "tj_arctan2", np.arctan2, "np.arctan2(xs, ys)", FLOATS),
    ("and", "tj_and", np.bitwise_and, "np.bitwise_and(xs, ys)", ["bool"] + INTS),
    ("or", "tj_or", np.bitwise_or, "np.bitwise_or(xs, ys)", ["bool"] + INTS),
    ("xor", "tj_xor", np.bitwise_xor, "np.bitwise_xor(xs, ys)", ["bool"] + INTS),
]
TERNARY = [
    ("switch", "tj_switch", lambda c, a, b: np.where(c, a, b), "np.where(xs != 0, ys, zs)",
     DTYPES),
    ("clip", "tj_clip", np.clip, "np.clip(xs, ys, zs)", [d for d in DTYPES if d != "bool"]),
]
# Transcendental results are compared within the ulps docs/VMATH.md promises; the rest exactly.
APPROX = {"exp", "log", "sigmoid", "tanh", "log1p", "expm1", "softplus", "exp2", "log2", "log10",
          "sin", "cos", "tan", "arcsin", "arccos", "arctan", "sinh", "cosh", "arcsinh",
          "arccosh", "arctanh", "erf", "erfc", "arctan2", "pow"}


def lit(v, dt):
    """A C literal of one value of dtype dt (integers exact, floats round-trip)."""
    if dt == "bool" or dt in INTS:
        v = int(v)
        if v == -2 ** 63:
            return "INT64_MIN"
        return str(v)
    v = float(v)
    if math.isnan(v):
        return "NAN"
    if math.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    if v == 0:
        return "-0.0" if math.copysign(1, v) < 0 else "0.0"
    return repr(v)  # exact: a float32 value is a double


def array_lit(vals, dt):
    return "{" + ", ".join(lit(v, dt) for v in vals) + "}"


def row(name, builder, comment, dt, ins, want):
    """One table row: the op, its builder, the inputs by dtype and numpy's results."""
    n = len(want)
    rdt = str(want.dtype)
    kind = lambda d: "f" if d in FLOATS else "i"
    args = []
    for k in range(3):
        if k < len(ins):
            a = ins[k]
            args.append("(const %s[]){%s}" % ("double" if kind(str(a.dtype)) == "f" else "int64_t",
                                              array_lit(a, str(a.dtype))[1:-1]))
        else:
            args.append("NULL")
    fi = lambda k: args[k] if k < len(ins) and kind(str(ins[k].dtype)) == "f" else "NULL"
    ii = lambda k: args[k] if k < len(ins) and kind(str(ins[k].dtype)) == "i" else "NULL"
    wf = "(const double[]){%s}" % array_lit(want, rdt)[1:-1] if kind(rdt) == "f" else "NULL"
    wi = "(const int64_t[]){%s}" % array_lit(want, rdt)[1:-1] if kind(rdt) == "i" else "NULL"
    dts = ", ".join(TJ[str(a.dtype)] for a in ins)
    return ("    /* %s, %s */\n    {\"%s\", %s, %d, %d, {%s}, {%s, %s, %s}, {%s, %s, %s}, %s, %s, %s, %s},"
            % (comment, dt, name, builder, len(ins), n, dts, fi(0), fi(1), fi(2), ii(0), ii(1),
               ii(2), TJ[rdt], wf, wi, "true" if name in APPROX else "false"))


def builder(fn):
    return "FN(%s)" % fn


def generate():
    rows = []
    for name, b, fn, comment, dts in UNARY:
        for dt in dts:
            xs = np.array(edges(dt), dt)
            want = fn(xs)
            rows.append(row(name, builder(b), comment, dt, [xs], want))
    for name, b, fn, comment, dts in BINARY:
        for dt in dts:
            e = edges(dt, small=True)
            pairs = [(a, b) for a in e for b in e]
            if name == "pow" and dt in INTS:  # numpy refuses integers to negative powers
                pairs = [(a, b) for a, b in pairs if b >= 0]
            xs = np.array([p[0] for p in pairs], dt)
            ys = np.array([p[1] for p in pairs], dt)
            rows.append(row(name, builder(b), comment, dt, [xs, ys], fn(xs, ys)))
    for name, b, fn, comment, dts in TERNARY:
        for dt in dts:
            e = edges(dt, small=True)
            if name == "switch":
                trip = [(c, a, b) for c in (False, True) for a in e for b in e[:3]]
                cs = np.array([t[0] for t in trip], "bool")
                want = fn(cs, np.array([t[1] for t in trip], dt), np.array([t[2] for t in trip], dt))
                ins = [cs]
            else:
                # a tie of signed zeros (clip(-0., 0., 1.)) is left out: numpy 1.24 answers the
                # bound, numpy 2.4 (and tensorjit, tests/test_elemwise_numpy.c) x
                zero_tie = lambda x, b: x == 0 and b == 0 and np.signbit(x) != np.signbit(b)
                trip = [(x, lo, hi) for x in e for lo in e[:4] for hi in e[:4]
                        if not zero_tie(x, lo) and not zero_tie(x, hi)]
                ins = [np.array([t[0] for t in trip], dt)]
                want = fn(ins[0], np.array([t[1] for t in trip], dt),
                          np.array([t[2] for t in trip], dt))
            ins += [np.array([t[1] for t in trip], dt), np.array([t[2] for t in trip], dt)]
            rows.append(row(name, builder(b), comment, dt, ins, want))
    # casts between every pair of dtypes, from values each target holds or wraps (numpy's
    # float -> int conversion of out-of-range values is undefined; tensorjit saturates)
    for src in DTYPES:
        for dst in DTYPES:
            xs = np.array(edges(src), src)
            if src in FLOATS and dst not in FLOATS and dst != "bool":
                i = np.iinfo(dst)
                xs = xs[np.isfinite(xs) & (xs > i.min - 1) & (xs < i.max + 1)]
            rows.append(row("cast", "CAST(%s)" % TJ[dst], "xs.astype(np.%s)" % dst, src, [xs],
                            xs.astype(dst)))
    head = ("/* Generated by tools/gen-edge-table.py with numpy %s; do not edit. Each row: op, "
            "builder\n * (FN(f), or CAST(dtype) for tj_cast), arity, n, input dtypes, float inputs, integer inputs, result dtype, "
            "float results,\n * integer results, compared within ulps (else exactly). */\n"
            % np.__version__)
    return head + "\n".join(rows) + "\n"


def main():
    text = generate()
    return write_or_check(OUT, text, "/usr/bin/python3 tools/gen-edge-table.py", "%d rows" % text.count("\n    {"))


if __name__ == "__main__":
    sys.exit(main())
