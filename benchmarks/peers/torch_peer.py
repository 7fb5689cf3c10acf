"""PyTorch (eager, CPU, one thread per core): autograd for the training steps, an in-place
elementwise chain for W1 (the fastest way torch offers without a compiler)."""
import common


def load():
    global np, torch
    import os

    import numpy as np
    import torch
    default = torch.get_num_threads()
    # Debian's build starts with one thread here (its OpenMP reports a maximum of 1): give it
    # every core, as the measurements did ("torch ... 2 threads").
    torch.set_num_threads(os.cpu_count() or 1)
    return torch.__version__, f"{torch.get_num_threads()} threads (default was {default})"


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def w2(n, f):
    Xn, yn, wn, _ = common.w2_data(np, n, f)
    X, y = t(Xn), t(yn)
    w = t(wn).requires_grad_(True)
    b = torch.zeros((), dtype=torch.float32, requires_grad=True)

    def step():
        p = 1 / (1 + torch.exp(-(X @ w) - b))
        pred = p > 0.5
        xent = -y * torch.log(p) - (1 - y) * torch.log(1 - p)
        cost = xent.mean() + common.W2_L2 * (w ** 2).sum()
        cost.backward()
        with torch.no_grad():
            w.sub_(common.W2_LR * w.grad)
            b.sub_(common.W2_LR * b.grad)
        w.grad = None
        b.grad = None
        return pred, xent.detach(), cost.detach()

    first = [v.numpy() for v in step()]
    return common.Case(step, common.fingerprints(np, [*first, w.detach().numpy(),
                                                      b.detach().numpy()]))


def w6(batch):
    data = [t(a) for a in common.w6_data(np, batch)]
    X, Y = data[0], data[1]
    params = [p.requires_grad_(True) for p in data[2:]]
    W1, b1, W2, b2 = params

    def step():
        H = torch.tanh(X @ W1 + b1)
        L = H @ W2 + b2
        loss = -(Y * torch.log_softmax(L, dim=1)).sum(dim=1).mean()
        loss.backward()
        with torch.no_grad():
            for p in params:
                p.sub_(common.W6_LR * p.grad)
                p.grad = None
        return loss.detach()

    first = step().numpy()
    return common.Case(step, common.fingerprints(np, [first] + [p.detach().numpy() for p in params]))


def setup(workload, dims, variant):
    with torch.no_grad():
        if workload == "W1":
            x = t(common.normal(np, common.W1_X, dims))
            out = torch.empty_like(x)

            def op():
                torch.mul(x, common.W1_A, out=out)
                out.add_(common.W1_B)
                return torch.sigmoid(out, out=out)
            return common.Case(op, common.fingerprint(np, op().numpy()))
        if workload in ("W3sum", "W3rows", "W3cols"):
            x = t(common.uniform(np, common.W3_X if workload == "W3sum" else common.W3_M, dims))
            dim = {"W3sum": None, "W3rows": 1, "W3cols": 0}[workload]

            def op():
                return x.sum() if dim is None else x.sum(dim=dim)
            return common.Case(op, common.fingerprint(np, op().numpy()))
        if workload == "W4":
            m, k, n = dims
            A = t(common.normal(np, common.W4_A, (m, k)))
            B = t(common.normal(np, common.W4_B, (k, n)))

            def op():
                return A @ B
            return common.Case(op, common.fingerprint(np, op().numpy()))
        if workload == "W5":
            x, y = torch.tensor(common.W5_X), torch.tensor(common.W5_Y)

            def op():
                return [x + y, x * y]
            return common.Case(op, common.fingerprints(np, [v.numpy() for v in op()]))
    if workload == "W2":
        return w2(*dims)
    if workload == "W6":
        return w6(*dims)
    raise common.Skip("eager PyTorch has no compile step here" if workload.startswith("W7")
                      else f"no {workload}")


if __name__ == "__main__":
    common.serve("torch", load, setup)
