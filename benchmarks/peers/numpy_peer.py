"""NumPy as a user would write each workload by hand (float32; gradients derived by hand)."""
import common


def load():
    global np
    import numpy as np
    try:
        from threadpoolctl import threadpool_info
        blas = ", ".join(f"{i['internal_api']} {i.get('num_threads')} threads"
                         for i in threadpool_info())
    except Exception:
        blas = "BLAS threads: library default"
    return np.__version__, blas


def w2(n, f):
    X, y, w, b = common.w2_data(np, n, f)
    b = np.array(0.0, dtype=np.float32)
    lr, l2 = np.float32(common.W2_LR), np.float32(common.W2_L2)

    def step():
        z = X @ w + b
        p = 1 / (1 + np.exp(-z))
        pred = p > 0.5
        xent = -y * np.log(p) - (1 - y) * np.log(1 - p)
        cost = xent.mean() + l2 * (w ** 2).sum()
        dz = (p - y) / np.float32(n)
        gw = X.T @ dz + 2 * l2 * w
        gb = dz.sum()
        w[...] = w - lr * gw
        b[...] = b - lr * gb
        return pred, xent, cost

    first = step()
    return common.Case(step, common.fingerprints(np, [*first, w, b]))


def w6(batch):
    X, Y, W1, b1, W2, b2 = common.w6_data(np, batch)
    lr = np.float32(common.W6_LR)

    def step():
        H = np.tanh(X @ W1 + b1)
        L = H @ W2 + b2
        m = L.max(axis=1, keepdims=True)
        e = np.exp(L - m)
        s = e.sum(axis=1, keepdims=True)
        loss = (m + np.log(s) - (Y * L).sum(axis=1, keepdims=True)).mean()
        dL = (e / s - Y) / np.float32(batch)
        dH = (dL @ W2.T) * (1 - H * H)
        W2[...] -= lr * (H.T @ dL)
        b2[...] -= lr * dL.sum(axis=0)
        W1[...] -= lr * (X.T @ dH)
        b1[...] -= lr * dH.sum(axis=0)
        return loss

    first = step()
    return common.Case(step, common.fingerprints(np, [first, W1, b1, W2, b2]))


def setup(workload, dims, variant):
    if workload == "W1":
        x = common.normal(np, common.W1_X, dims)
        a, b = np.float32(common.W1_A), np.float32(common.W1_B)

        def op():
            return 1 / (1 + np.exp(-(a * x + b)))
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W2":
        return w2(*dims)
    if workload in ("W3sum", "W3rows", "W3cols"):
        x = common.uniform(np, common.W3_X if workload == "W3sum" else common.W3_M, dims)
        axis = {"W3sum": None, "W3rows": 1, "W3cols": 0}[workload]

        def op():
            return x.sum(axis=axis)
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W4":
        m, k, n = dims
        A, B = common.normal(np, common.W4_A, (m, k)), common.normal(np, common.W4_B, (k, n))

        def op():
            return A @ B
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W5":
        x, y = np.array(common.W5_X, dtype=np.float32), np.array(common.W5_Y, dtype=np.float32)

        def f(x, y):
            return [x + y, x * y]

        def op():
            return f(x, y)
        return common.Case(op, common.fingerprints(np, op()))
    if workload == "W6":
        return w6(*dims)
    raise common.Skip("NumPy has no compile step" if workload.startswith("W7") else
                      f"no {workload}")


if __name__ == "__main__":
    common.serve("numpy", load, setup)
