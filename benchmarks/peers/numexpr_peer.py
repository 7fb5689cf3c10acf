"""numexpr: the elementwise expression (W1) and a full sum (W3), with numexpr's default threads."""
import common


def load():
    global np, ne
    import numexpr as ne
    import numpy as np
    return ne.__version__, f"{ne.get_num_threads()} threads"


def setup(workload, dims, variant):
    if workload == "W1":
        x = common.normal(np, common.W1_X, dims)
        a, b = np.float32(common.W1_A), np.float32(common.W1_B)
        out = np.empty_like(x)

        def op():
            return ne.evaluate("1 / (1 + exp(-(a * x + b)))", local_dict={"a": a, "b": b, "x": x},
                               out=out)
        return common.Case(op, common.fingerprint(np, op()))
    if workload == "W3sum":
        x = common.uniform(np, common.W3_X, dims)

        def op():
            return ne.evaluate("sum(x)", local_dict={"x": x})
        return common.Case(op, common.fingerprint(np, op()))
    raise common.Skip("numexpr evaluates elementwise expressions and sums only")


if __name__ == "__main__":
    common.serve("numexpr", load, setup)
