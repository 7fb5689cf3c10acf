"""PyTensor (Theano's successor): the same graphs as tensorjit, pytensor.function with updates.
`pytensor_peer.py c` uses the default FAST_RUN mode (C backend, compiled modules cached on disk in
PyTensor's compiledir); `pytensor_peer.py numba` uses mode="NUMBA". floatX is float32. Function
calls go through the default (checking) call path."""
import os
import sys
import time

import common

os.environ.setdefault("PYTENSOR_FLAGS", "floatX=float32")
BACKEND = sys.argv[1] if len(sys.argv) > 1 else "c"


def load():
    global np, pytensor, pt
    import numpy as np
    import pytensor
    import pytensor.tensor as pt
    if BACKEND == "numba":
        import numba
        info = f"mode NUMBA (numba {numba.__version__})"
    else:
        if not pytensor.config.cxx:
            raise ImportError("no C++ compiler: PyTensor would run its Python fallback")
        info = f"mode FAST_RUN (C via {pytensor.config.cxx})"
    return pytensor.__version__, info


def function(inputs, outputs, updates=None):
    mode = "NUMBA" if BACKEND == "numba" else "FAST_RUN"
    return pytensor.function(inputs, outputs, updates=updates, mode=mode)


def w2_graph(wn, bn):
    x, y = pt.fmatrix("x"), pt.fvector("y")
    w = pytensor.shared(wn.copy(), name="w")
    b = pytensor.shared(np.asarray(bn, dtype=np.float32).copy(), name="b")
    p_1 = 1 / (1 + pt.exp(-pt.dot(x, w) - b))
    prediction = p_1 > 0.5
    xent = -y * pt.log(p_1) - (1 - y) * pt.log(1 - p_1)
    cost = xent.mean() + common.W2_L2 * (w ** 2).sum()
    gw, gb = pytensor.grad(cost, [w, b])
    updates = [(w, w - common.W2_LR * gw), (b, b - common.W2_LR * gb)]
    return [x, y], [prediction, xent, cost], updates, (w, b)


def w2_case(n, f):
    X, y, wn, bn = common.w2_data(np, n, f)
    inputs, outputs, updates, (w, b) = w2_graph(wn, bn)
    train = function(inputs, outputs, updates)

    def op():
        return train(X, y)
    first = op()
    return common.Case(op, common.fingerprints(np, [*first, w.get_value(), b.get_value()]))


def w6(batch):
    Xn, Yn, *params = common.w6_data(np, batch)
    X, Y = pt.fmatrix("X"), pt.fmatrix("Y")
    W1, b1, W2, b2 = (pytensor.shared(p.copy(), name=nm) for p, nm in
                      zip(params, ("W1", "b1", "W2", "b2")))
    H = pt.tanh(pt.dot(X, W1) + b1)
    L = pt.dot(H, W2) + b2
    loss = -(Y * pt.special.log_softmax(L, axis=1)).sum(axis=1).mean()
    shared = [W1, b1, W2, b2]
    grads = pytensor.grad(loss, shared)
    step = function([X, Y], loss, [(p, p - common.W6_LR * g) for p, g in zip(shared, grads)])

    def op():
        return step(Xn, Yn)
    first = op()
    return common.Case(op, common.fingerprints(np, [first] + [p.get_value() for p in shared]))


def w7(dims, again):
    n, f = dims if len(dims) == 2 else (4000, 784)
    check = w2_case(10, 3).check
    X, y, wn, bn = common.w2_data(np, 10, 3)
    wn = common.normal(np, common.W2_W, (f,), 1.0 / np.sqrt(f))
    graph = w2_graph(wn, bn)
    numba = BACKEND == "numba"
    Xf, yf = np.zeros((n, f), dtype=np.float32), np.zeros(n, dtype=np.float32)

    def timed():
        t0 = time.perf_counter()
        inputs, outputs, updates, _ = graph if again else w2_graph(wn, bn)
        fn = function(inputs, outputs, updates)
        if numba:
            fn(Xf, yf)  # Numba compiles at the first call
        return time.perf_counter() - t0

    if again:
        timed()  # the first compile of this graph is setup, not "again"
    note = ("pytensor.function on the same graph again" if again else
            "graph built anew each time") + "; compiledir cache warm after the first"
    if numba:
        note += "; includes the first call (Numba compiles lazily)"
    return common.Case(timed_op=timed, check=check, note=note)


def setup(workload, dims, variant):
    if workload == "W1":
        a, b, x = pt.fscalar("a"), pt.fscalar("b"), pt.fvector("x")
        f = function([a, b, x], 1 / (1 + pt.exp(-(a * x + b))))
        xn = common.normal(np, common.W1_X, dims)
        an, bn = np.float32(common.W1_A), np.float32(common.W1_B)

        def op():
            return f(an, bn, xn)
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W2":
        return w2_case(*dims)
    if workload in ("W3sum", "W3rows", "W3cols"):
        x = pt.fvector("x") if workload == "W3sum" else pt.fmatrix("X")
        axis = {"W3sum": None, "W3rows": 1, "W3cols": 0}[workload]
        f = function([x], x.sum(axis=axis))
        xn = common.uniform(np, common.W3_X if workload == "W3sum" else common.W3_M, dims)

        def op():
            return f(xn)
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W4":
        m, k, n = dims
        A, B = pt.fmatrix("A"), pt.fmatrix("B")
        f = function([A, B], pt.dot(A, B))
        An = common.normal(np, common.W4_A, (m, k))
        Bn = common.normal(np, common.W4_B, (k, n))

        def op():
            return f(An, Bn)
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W5":
        x, y = pt.fscalar("x"), pt.fscalar("y")
        f = function([x, y], [x + y, x * y])
        xn, yn = np.float32(common.W5_X), np.float32(common.W5_Y)

        def op():
            return f(xn, yn)
        return common.Case(op, common.fingerprints(np, op()))
    if workload == "W6":
        return w6(*dims)
    if workload in ("W7cold", "W7again"):
        return w7(dims, workload == "W7again")
    raise common.Skip(f"no {workload}")


if __name__ == "__main__":
    common.serve("pytensor-" + BACKEND, load, setup)
