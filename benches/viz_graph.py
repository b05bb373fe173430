"""How long rustgrad.viz takes on a 10,000-node graph (target: under a
second of Python time for the walk and each output), with torchviz's
make_dot on the same graph built by PyTorch when both are installed.

    python3 benches/viz_graph.py [--nodes N] [--repeat R]

Two graphs of about N backward nodes each: a chain (`h = h * 1.0001`, the
deepest case: no recursion may be used) and a ladder of residual blocks
(`h = h + (h * w_i).tanh()`, every block joining two paths and with its own
named leaf). Times are medians of R runs, in seconds.
"""

import argparse
import statistics
import time

import rustgrad
from rustgrad import viz


def chain(T, nodes):
    leaf = T.randn(4, requires_grad=True)
    h = leaf
    for _ in range(nodes):
        h = h * 1.0001
    return h, {"leaf": leaf}


def ladder(T, nodes):
    params = {}
    h = T.randn(4, requires_grad=True)
    params["x"] = h
    for i in range(nodes // 4):  # mul, tanh, add and an AccumulateGrad per block
        w = T.randn(4, requires_grad=True)
        params[f"w{i}"] = w
        h = h + (h * w).tanh()
    return h, params


def median_time(f, repeat):
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    try:
        import torch
        from torchviz import make_dot as torchviz_make_dot
    except ImportError:
        torch = None
    print(f"{'graph':<8} {'step':<26} {'rustgrad s':>11} {'torchviz s':>11}")
    for build in (chain, ladder):
        out, params = build(rustgrad, a.nodes)
        g = viz.graph(out, params=params)
        rows = [
            ("graph() walk", lambda: viz.graph(out, params=params)),
            ("graph(show_saved=True)", lambda: viz.graph(out, params=params, show_saved=True)),
            ("to_dot()", g.to_dot),
            ("to_text()", g.to_text),
        ]
        reference = {}
        if torch is not None:
            t_out, t_params = build(torch, a.nodes)
            reference["graph() walk"] = median_time(lambda: torchviz_make_dot(t_out, params=t_params), a.repeat)
        print(f"{build.__name__:<8} ({g.num_nodes} boxes, {g.num_edges} lines)")
        for name, f in rows:
            ref = reference.get(name)
            print(f"{'':<8} {name:<26} {median_time(f, a.repeat):>11.3f} {'' if ref is None else f'{ref:>11.3f}'}")


if __name__ == "__main__":
    main()
