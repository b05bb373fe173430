#!/usr/bin/env python3
"""rustgrad vs PyTorch vs hand-written NumPy, on three small autograd workloads.

    python3 benches/bench_seed.py          # full run (about 30 s on 2 cores)
    python3 benches/bench_seed.py --quick  # shorter run (fewer steps/repeats)

Cases (see benches/README.md):
  (a) seed example 2: fit a cubic to sin(x) on 2000 float32 points by
      gradient descent, 2000 steps (time for the whole loop);
  (b) a 100-op forward+backward chain on a 4-element float32 tensor
      (time per forward+backward);
  (c) an MLP-ish graph on 256x256 float32 matrices: tanh(X@W1+b1)@W2, relu,
      sum, backward (time per forward+backward).

Every case is run once as a warm-up, then timed with time.perf_counter; the
best (minimum) of several repeats is reported. The numbers each framework
computes are compared before the table is printed, so a fast but wrong
implementation fails loudly instead of being timed.
"""

import argparse
import math
import os
import sys
import time

import numpy as np

import rustgrad

try:
    import torch
except ImportError:  # the torch columns are skipped
    torch = None


# ---------------------------------------------------------------------------
# timing


def best_of(fn, repeats, warmup=None):
    """Runs `warmup` (or `fn`) once untimed, then `fn` `repeats` times; returns
    (best seconds, result of the last call)."""
    (warmup or fn)()
    best, result = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def check_close(case, name, got, want, rtol, atol=0.0):
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    ok = np.allclose(got, want, rtol=rtol, atol=atol)
    if not ok:
        err = np.max(np.abs(got - want))
        sys.exit(f"MISMATCH in {case}: {name}: max abs diff {err:.3g} (rtol {rtol}, atol {atol})\n"
                 f"  got  {got.ravel()[:8]}\n  want {want.ravel()[:8]}")


def to_np(t):
    """A framework tensor (rustgrad or torch) as a NumPy array."""
    return np.array(t.detach().numpy(), copy=True)


# ---------------------------------------------------------------------------
# (a) seed example 2: polynomial fit of sin(x)

LR = 1e-6


def poly_autograd(T, init, steps):
    """The seed example's loop, for T = rustgrad or torch."""
    dtype = T.float32
    x = T.linspace(-math.pi, math.pi, 2000, dtype=dtype)
    y = T.sin(x)
    a, b, c, d = (T.tensor(v, dtype=dtype, requires_grad=True) for v in init)
    loss_value = None
    for t in range(steps):
        y_pred = a + b * x + c * x ** 2 + d * x ** 3
        loss = (y_pred - y).pow(2).sum()
        if t % 100 == 99:
            loss_value = loss.item()
        loss.backward()
        with T.no_grad():
            a -= LR * a.grad
            b -= LR * b.grad
            c -= LR * c.grad
            d -= LR * d.grad
            a.grad = None
            b.grad = None
            c.grad = None
            d.grad = None
    return loss_value, [p.item() for p in (a, b, c, d)]


def poly_numpy(init, steps):
    """The same loop with the gradients written out by hand (float32)."""
    x = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    y = np.sin(x)
    a, b, c, d = (np.float32(v) for v in init)
    lr = np.float32(LR)
    loss_value = None
    for t in range(steps):
        x2 = x * x
        x3 = x2 * x
        y_pred = a + b * x + c * x2 + d * x3
        diff = y_pred - y
        loss = np.square(diff).sum()
        if t % 100 == 99:
            loss_value = float(loss)
        g = 2.0 * diff
        grad_a, grad_b, grad_c, grad_d = g.sum(), (g * x).sum(), (g * x2).sum(), (g * x3).sum()
        a -= lr * grad_a
        b -= lr * grad_b
        c -= lr * grad_c
        d -= lr * grad_d
    return loss_value, [float(p) for p in (a, b, c, d)]


# ---------------------------------------------------------------------------
# (b) a 100-op chain on a 4-element tensor

# 25 x [mul, add, sin, mul]: values stay around 0.1-1 and gradients O(1).
CHAIN = [("mul", 1.1), ("add", 0.001), ("sin", None), ("mul", 0.95)] * 25
assert len(CHAIN) == 100


def chain_autograd(T, x0, iters):
    x = T.tensor(x0, requires_grad=True)
    for _ in range(iters):
        x.grad = None
        y = x
        for op, k in CHAIN:
            if op == "mul":
                y = y * k
            elif op == "add":
                y = y + k
            else:
                y = y.sin()
        y.sum().backward()
    return to_np(x.grad)


def chain_numpy(x0, iters):
    for _ in range(iters):
        y = x0
        saved = []
        for op, k in CHAIN:
            if op == "mul":
                y = y * np.float32(k)
            elif op == "add":
                y = y + np.float32(k)
            else:
                saved.append(y)
                y = np.sin(y)
        y.sum()
        g = np.ones_like(x0)
        for op, k in reversed(CHAIN):
            if op == "mul":
                g = g * np.float32(k)
            elif op == "sin":
                g = g * np.cos(saved.pop())
    return g


# ---------------------------------------------------------------------------
# (c) MLP-ish graph on 256x256 matrices


def mlp_data(n=256, seed=0):
    rng = np.random.default_rng(seed)
    f = np.float32
    X = rng.standard_normal((n, n)).astype(f)
    W1 = (rng.standard_normal((n, n)) / math.sqrt(n)).astype(f)
    b1 = (0.1 * rng.standard_normal(n)).astype(f)
    W2 = (rng.standard_normal((n, n)) / math.sqrt(n)).astype(f)
    return X, W1, b1, W2


def mlp_autograd(T, data, iters):
    X = T.tensor(data[0])
    W1, b1, W2 = (T.tensor(p, requires_grad=True) for p in data[1:])
    for _ in range(iters):
        W1.grad = b1.grad = W2.grad = None
        h = (X @ W1 + b1).tanh()
        loss = (h @ W2).relu().sum()
        loss.backward()
    return loss.item(), [to_np(p.grad) for p in (W1, b1, W2)]


def mlp_numpy(data, iters):
    X, W1, b1, W2 = data
    for _ in range(iters):
        h = np.tanh(X @ W1 + b1)
        z2 = h @ W2
        loss = np.maximum(z2, 0).sum()
        gz2 = (z2 > 0).astype(np.float32)
        gW2 = h.T @ gz2
        gh = gz2 @ W2.T
        gz1 = gh * (1 - h * h)
        gW1 = X.T @ gz1
        gb1 = gz1.sum(0)
    return float(loss), [gW1, gb1, gW2]


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer steps and repeats")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    args = ap.parse_args()
    T = None if args.no_torch else torch

    if args.quick:
        steps, poly_reps = 500, 2
        chain_iters, chain_reps = 50, 3
        mlp_iters, mlp_reps = 3, 2
    else:
        steps, poly_reps = 2000, 5
        chain_iters, chain_reps = 200, 7
        mlp_iters, mlp_reps = 10, 5

    torch_threads = T.get_num_threads() if T else None
    print(f"rustgrad {rustgrad.__version__}, numpy {np.__version__}, "
          + (f"torch {T.__version__} ({torch_threads} threads by default)" if T else "torch: skipped (not importable, or --no-torch)")
          + ("  [--quick]" if args.quick else ""))

    if hasattr(os, "getloadavg"):
        load, cores = os.getloadavg()[0], os.cpu_count() or 1
        if load > 0.5 * cores:
            print(f"  warning: load average {load:.2f} on {cores} cores; multi-threaded timings "
                  "(torch, BLAS) will be noisy")

    rows = []  # (case, unit, rustgrad s, numpy s, torch s, torch-1-thread s)

    def with_torch(fn):
        """(time with default threads, time with 1 thread, result)."""
        if T is None:
            return None, None, None
        t_def, res = fn()
        T.set_num_threads(1)
        try:
            t_one, _ = fn()
        finally:
            T.set_num_threads(torch_threads)
        return t_def, t_one, res

    # (a) --------------------------------------------------------------------
    init = [float(v) for v in np.random.default_rng(1).standard_normal(4).astype(np.float32)]
    short = min(steps, 200)
    t_rg, (rg_loss, rg_params) = best_of(lambda: poly_autograd(rustgrad, init, steps), poly_reps,
                                         warmup=lambda: poly_autograd(rustgrad, init, short))
    t_np, (np_loss, np_params) = best_of(lambda: poly_numpy(init, steps), poly_reps,
                                         warmup=lambda: poly_numpy(init, short))
    t_th, t_th1, th_res = with_torch(lambda: best_of(lambda: poly_autograd(T, init, steps), poly_reps,
                                                     warmup=lambda: poly_autograd(T, init, short)))
    case_a = f"(a) seed ex.2 cubic fit, {steps} steps"
    check_close(case_a, "final loss rustgrad vs numpy", rg_loss, np_loss, rtol=1e-3)
    check_close(case_a, "final a,b,c,d rustgrad vs numpy", rg_params, np_params, rtol=1e-3, atol=1e-4)
    if th_res:
        check_close(case_a, "final loss rustgrad vs torch", rg_loss, th_res[0], rtol=1e-3)
        check_close(case_a, "final a,b,c,d rustgrad vs torch", rg_params, th_res[1], rtol=1e-3, atol=1e-4)
    rows.append((case_a, "loop", t_rg, t_np, t_th, t_th1))
    print(f"  (a) final loss: rustgrad {rg_loss:.6f}, numpy {np_loss:.6f}"
          + (f", torch {th_res[0]:.6f}" if th_res else ""))
    print(f"      rustgrad: y = {rg_params[0]:.5f} + {rg_params[1]:.5f} x + {rg_params[2]:.5f} x^2 + {rg_params[3]:.5f} x^3")

    # (b) --------------------------------------------------------------------
    x0 = np.random.default_rng(2).uniform(-0.5, 0.5, 4).astype(np.float32)
    t_rg, g_rg = best_of(lambda: chain_autograd(rustgrad, x0, chain_iters), chain_reps)
    t_np, g_np = best_of(lambda: chain_numpy(x0, chain_iters), chain_reps)
    t_th, t_th1, g_th = with_torch(lambda: best_of(lambda: chain_autograd(T, x0, chain_iters), chain_reps))
    case_b = "(b) 100-op chain, 4 elements"
    check_close(case_b, "x.grad rustgrad vs numpy", g_rg, g_np, rtol=1e-4, atol=1e-6)
    if g_th is not None:
        check_close(case_b, "x.grad rustgrad vs torch", g_rg, g_th, rtol=1e-4, atol=1e-6)
    per = 1.0 / chain_iters
    rows.append((case_b, "fwd+bwd", t_rg * per, t_np * per, t_th and t_th * per, t_th1 and t_th1 * per))
    print(f"  (b) x.grad: rustgrad {np.array2string(g_rg, precision=5)}, numpy {np.array2string(g_np, precision=5)}")

    # (c) --------------------------------------------------------------------
    data = mlp_data()
    t_rg, (l_rg, gr_rg) = best_of(lambda: mlp_autograd(rustgrad, data, mlp_iters), mlp_reps)
    t_np, (l_np, gr_np) = best_of(lambda: mlp_numpy(data, mlp_iters), mlp_reps)
    t_th, t_th1, th_res = with_torch(lambda: best_of(lambda: mlp_autograd(T, data, mlp_iters), mlp_reps))
    case_c = "(c) MLP 256x256 matmul/tanh/relu"
    check_close(case_c, "loss rustgrad vs numpy", l_rg, l_np, rtol=1e-3)
    for name, gr, gn in zip(("W1", "b1", "W2"), gr_rg, gr_np):
        scale = float(np.abs(gn).max())
        check_close(case_c, f"{name}.grad rustgrad vs numpy", gr, gn, rtol=1e-3, atol=1e-4 * scale)
        if th_res:
            check_close(case_c, f"{name}.grad rustgrad vs torch", gr, th_res[1][("W1", "b1", "W2").index(name)],
                        rtol=1e-3, atol=1e-4 * scale)
    per = 1.0 / mlp_iters
    rows.append((case_c, "fwd+bwd", t_rg * per, t_np * per, t_th and t_th * per, t_th1 and t_th1 * per))
    print(f"  (c) loss: rustgrad {l_rg:.4f}, numpy {l_np:.4f}" + (f", torch {th_res[0]:.4f}" if th_res else ""))
    print("  results agree (rustgrad vs numpy" + (" vs torch)" if T else ")"))

    # table --------------------------------------------------------------------
    def ms(v):
        return f"{v * 1e3:10.3f}" if v is not None else f"{'-':>10}"

    def ratio(a, b):
        return f"{a / b:8.2f}" if b else f"{'-':>8}"

    print()
    print("times in ms (best of repeats); ratios: lower is better for rustgrad")
    header = (f"{'case':<40}{'per':>8}{'rustgrad':>10}{'numpy':>10}{'torch':>10}{'torch 1t':>10}"
              f"{'rg/torch':>9}{'rg/t1t':>8}{'rg/numpy':>9}")
    print(header)
    print("-" * len(header))
    for case, unit, rg, npy, th, th1 in rows:
        print(f"{case:<40}{unit:>8}{ms(rg)}{ms(npy)}{ms(th)}{ms(th1)} {ratio(rg, th)}{ratio(rg, th1)} {ratio(rg, npy)}")
    print()
    if T is None:
        print("PyTorch skipped (not importable, or --no-torch): no comparison with PyTorch.")
    else:
        for case, _, rg, _, th, th1 in rows[:2]:
            label = case.split(")")[0] + ")"
            if rg <= th:
                verdict = f"rustgrad is no slower than PyTorch ({rg / th:.2f}x torch's time)"
            else:
                verdict = f"rustgrad is slower than PyTorch ({rg / th:.2f}x torch's time)"
            print(f"{label} {verdict}; vs 1-thread PyTorch: {rg / th1:.2f}x")


if __name__ == "__main__":
    main()
