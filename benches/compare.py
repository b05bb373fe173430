#!/usr/bin/env python3
"""rustgrad vs PyTorch vs hand-written NumPy: one table, one target per row.

    python3 benches/compare.py                   # full run (about 1-2 min on 2 cores)
    python3 benches/compare.py --quick           # fewer repeats, shorter loops (< 60 s)
    python3 benches/compare.py --no-torch        # skip PyTorch even if importable
    python3 benches/compare.py --only add4,chain100 --json out.json

Workloads (see benches/README.md for the full description):
  seed_loop     seed example 2's step: cubic fit of sin(x) on 2000 float32
                points, forward + backward + SGD update of 4 scalars (time per
                step). Targets: rg/torch <= 0.25, rg/numpy <= 1.5.
  add4          `a + b` on two 4-element float32 tensors, no grad (time per
                call): the fixed cost of one op. Target: rg/torch <= 0.2.
  chain100      forward + backward of a chain of 100 tiny ops on a 4-element
                leaf (time per op, i.e. per fwd+bwd / 100): the cost of
                recording and running one graph node. Target: rg/torch <= 0.1.
  mlp_step      one SGD training step of an MLP 784-512-256-10 (ReLU,
                cross_entropy), batch 128, float32, same initial weights in
                every framework. Target: rg/torch <= 0.8.
  matmul1024,   float32 n x n matmul (time per matmul, GFLOP/s in the notes).
  matmul2048    Target: rustgrad GFLOP/s >= 0.9 x NumPy's (BLAS), i.e.
                rg/numpy time <= 1/0.9 = 1.11.
  exp_fma_16m   `(a*b + c).exp().sum()` forward + backward on three 16M-element
                float32 leaves (--quick: 4M): memory-bound kernels. Target:
                rg/torch <= 1.0.
  branches_2v1  backward of two independent 8-op branches on a 1M-element
                leaf, run in subprocesses with RAYON_NUM_THREADS=1 and =2
                (torch: set_num_threads(1)/(2), for information). Only
                `loss.backward()` is timed. Target: rustgrad t2/t1 <= 0.55, and
                x.grad bit-identical for 1 and 2 threads.
  mlp_memory    resident memory (RSS, from /proc/self/statm) growth over 500
                mlp_step training steps (--quick: 200) after 20 warm-up steps,
                each framework in its own subprocess. Target: rustgrad growth
                <= max(torch growth, 1 MiB).

Method: every framework runs each workload once untimed (warm-up); the
results of these warm-up runs are compared between the frameworks, and a
difference prints `MISMATCH ...` (so a fast but wrong result is never timed).
Then R repetitions (default 7, --quick 3) run with the frameworks
ALTERNATING (rustgrad, torch, numpy, rustgrad, torch, numpy, ...), so that
drift in the machine's speed hits all of them alike, and the table reports
the median. The NumPy versions are written by hand (forward pass plus
analytic gradients, float32): NumPy records no graph, so it is the cost of
the arithmetic alone.

Reading the table: the time columns are per `per` (one step, one call, one
op, ...); for mlp_memory they are MiB of RSS growth. Each comparison is
`label value target verdict`: a ratio such as rg/torch is rustgrad's time
divided by the other framework's time, so lower is better for rustgrad;
PASS/MISS says whether the value meets the target, `-` that the reference is
absent (e.g. no PyTorch), and an empty target that the ratio is for
information only. The last line counts the targets met. The exit code is 0
whether targets are met or missed (this is a measurement, not a test); it is
1 when results mismatch or a workload crashed.
"""

import argparse
import dataclasses
import gc
import hashlib
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as np

import rustgrad as rg

FRAMEWORKS = ("rustgrad", "torch", "numpy")
SCRIPT = os.path.abspath(__file__)


def import_torch():
    """PyTorch, or None when it is not installed (or broken)."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return None
    return torch


# ---------------------------------------------------------------------------
# shared helpers: conversion, cross-checks, timing, subprocess workers


class Mismatch(Exception):
    """Two frameworks computed different results for the same workload."""


def as_numpy(value):
    """A result (tensor of either framework, NumPy array, float, or a list of
    these) as a float64 NumPy array."""
    if hasattr(value, "detach"):
        value = value.detach().numpy()
    if isinstance(value, (list, tuple)):
        return np.array([as_numpy(v) for v in value], dtype=np.float64)
    return np.array(value, dtype=np.float64, copy=True)


def make_tensor(T, array):
    """`array` (NumPy) as a tensor of framework T (rg or torch), or as a
    private copy when T is NumPy."""
    if T is np:
        return np.array(array, copy=True)
    return T.tensor(array)


@dataclass
class Check:
    """One cross-check: `select` picks a value out of a run's result; rustgrad's
    value must match each other framework's within rtol, and atol given as a
    fraction of the largest |value| of the reference."""
    what: str
    select: Callable = lambda r: r
    rtol: float = 1e-4
    atol: float = 1e-6


def run_checks(case, checks, results, subject="rustgrad"):
    """Compares `subject`'s results with every other framework's; raises
    Mismatch on the first difference. results: framework -> raw result."""
    for check in checks:
        got = as_numpy(check.select(results[subject]))
        for fw, res in results.items():
            if fw == subject:
                continue
            want = as_numpy(check.select(res))
            atol = check.atol * float(np.max(np.abs(want), initial=0.0))
            if got.shape != want.shape or not np.allclose(got, want, rtol=check.rtol, atol=atol):
                err = np.max(np.abs(got - want)) if got.shape == want.shape else "shape"
                raise Mismatch(f"MISMATCH in {case}: {check.what}, {subject} vs {fw}: max abs diff {err:.3g} "
                               f"(rtol {check.rtol}, atol {atol:.3g})\n"
                               f"  {subject:<8} {got.ravel()[:6]}\n  {fw:<8} {want.ravel()[:6]}")


# Idle time before each timed run. After a BLAS call, OpenBLAS's threads
# (NumPy's, and so every framework's process) spin for about 2**28 cycles,
# ~0.1 s, and OpenMP's (PyTorch's) spin after each parallel region: without
# a pause they take a core from whichever framework runs next.
SETTLE_S = 0.15


def alternate(runs, reps):
    """Runs each callable of `runs` (framework -> run) `reps` times,
    interleaved round-robin; returns framework -> list of seconds."""
    times = {fw: [] for fw in runs}
    for _ in range(reps):
        for fw, run in runs.items():
            time.sleep(SETTLE_S)
            t0 = time.perf_counter()
            run()
            times[fw].append(time.perf_counter() - t0)
    return times


def run_worker(workload, fw, ctx, threads=None):
    """Runs `workload`'s worker for framework `fw` in a fresh interpreter (this
    script with the hidden --worker flag); returns the dict it printed.
    threads: sets RAYON_NUM_THREADS (rustgrad) and torch.set_num_threads."""
    cmd = [sys.executable, SCRIPT, "--worker", f"{workload.name}:{fw}", "--reps", str(ctx.reps)]
    if ctx.quick:
        cmd.append("--quick")
    env = dict(os.environ)
    if threads is not None:
        cmd += ["--threads", str(threads)]
        env["RAYON_NUM_THREADS"] = str(threads)
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
    for line in proc.stdout.splitlines():
        if line.startswith("MISMATCH"):
            raise Mismatch(proc.stdout[proc.stdout.index("MISMATCH"):].rstrip())
    if proc.returncode != 0:
        raise RuntimeError(f"worker {workload.name}:{fw} (threads={threads}) exited with "
                           f"{proc.returncode}:\n{proc.stdout}{proc.stderr}")
    result = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    return json.loads(result[-1][len("RESULT "):])


def worker_main(spec, quick, reps, threads):
    """The child side of run_worker: runs one framework's worker, prints
    `RESULT <json>` (or `MISMATCH ...` and exits 1)."""
    name, fw = spec.split(":")
    workload = WORKLOADS_BY_NAME[name]
    if fw == "torch":
        T = import_torch()
        if threads is not None:
            T.set_num_threads(threads)
    else:
        T = {"rustgrad": rg, "numpy": np}[fw]
    size = workload.size_for(quick)
    try:
        result = workload.workers[fw](T, workload.prepare(size), size, reps)
    except Mismatch as e:
        print(e)
        sys.exit(1)
    print("RESULT " + json.dumps(result))


def rss_mib():
    """Resident set size of this process in MiB (from /proc/self/statm)."""
    with open("/proc/self/statm") as f:
        resident_pages = int(f.read().split()[1])
    return resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20


# ---------------------------------------------------------------------------
# results: a row of the table


@dataclass
class Comparison:
    """`value` against `limit` (PASS when value <= limit and `require`).
    value None: the reference is absent; limit None: no target."""
    label: str
    value: Optional[float]
    limit: Optional[float]
    unit: str = ""
    require: bool = True

    @property
    def verdict(self):
        if self.limit is None:
            return ""
        if self.value is None:
            return "-"
        return "PASS" if self.value <= self.limit and self.require else "MISS"


@dataclass
class Row:
    name: str
    per: str
    kind: str                      # "time" (seconds per `per`) or "MiB"
    values: dict                   # framework -> float or None
    comparisons: list
    notes: str = ""
    extra: dict = field(default_factory=dict)


def ratio(a, b):
    return a / b if a is not None and b else None


# ---------------------------------------------------------------------------
# chains of elementwise ops (chain100, branches_2v1)

# 25 x [mul, add, sin, mul]: values stay around 0.1-1 and gradients O(1).
CHAIN = [("mul", 1.1), ("add", 0.001), ("sin", None), ("mul", 0.95)] * 25
assert len(CHAIN) == 100
BRANCH_A = [("sin", None), ("mul", 1.01), ("tanh", None), ("exp", None),
            ("mul", 0.5), ("sin", None), ("add", 0.1), ("tanh", None)]
BRANCH_B = [("cos", None), ("sigmoid", None), ("mul", 1.02), ("exp", None),
            ("add", -0.2), ("cos", None), ("mul", 0.9), ("sigmoid", None)]

# op -> (forward, derivative(input, output, k) or None for a derivative of 1), in float32
NUMPY_OPS = {
    "mul": (lambda y, k: y * np.float32(k), lambda y, out, k: np.float32(k)),
    "add": (lambda y, k: y + np.float32(k), None),
    "sin": (lambda y, k: np.sin(y), lambda y, out, k: np.cos(y)),
    "cos": (lambda y, k: np.cos(y), lambda y, out, k: -np.sin(y)),
    "tanh": (lambda y, k: np.tanh(y), lambda y, out, k: 1 - out * out),
    "exp": (lambda y, k: np.exp(y), lambda y, out, k: out),
    "sigmoid": (lambda y, k: 1 / (1 + np.exp(-y)), lambda y, out, k: out * (1 - out)),
}


def apply_chain(y, ops):
    """Applies `ops` to a rustgrad or torch tensor (recording the graph)."""
    for op, k in ops:
        if op == "mul":
            y = y * k
        elif op == "add":
            y = y + k
        else:
            y = getattr(y, op)()
    return y


def chain_grad_numpy(x, ops):
    """d(sum(ops(x)))/dx, forward and backward by hand in float32."""
    saved = []
    y = x
    for op, k in ops:
        forward, derivative = NUMPY_OPS[op]
        out = forward(y, k)
        if derivative is not None:
            saved.append((derivative, y, out, k))
        y = out
    y.sum()
    g = np.ones_like(x)
    for derivative, inp, out, k in reversed(saved):
        g = g * derivative(inp, out, k)
    return g


# ---------------------------------------------------------------------------
# seed_loop: seed example 2, per step

LR = 1e-6


def seed_loop_data(_):
    return [float(v) for v in np.random.default_rng(1).standard_normal(4).astype(np.float32)]


def seed_loop_autograd(T, init, steps):
    x = T.linspace(-math.pi, math.pi, 2000, dtype=T.float32)
    y = T.sin(x)

    def run():
        a, b, c, d = params = [T.tensor(v, dtype=T.float32, requires_grad=True) for v in init]
        for _ in range(steps):
            y_pred = a + b * x + c * x ** 2 + d * x ** 3
            loss = (y_pred - y).pow(2).sum()
            loss.backward()
            with T.no_grad():
                for p in params:
                    p -= LR * p.grad
                    p.grad = None
        return [p.item() for p in params]
    return run


def seed_loop_numpy(_, init, steps):
    x = np.linspace(-math.pi, math.pi, 2000, dtype=np.float32)
    y = np.sin(x)
    lr = np.float32(LR)

    def run():
        a, b, c, d = (np.float32(v) for v in init)
        for _ in range(steps):
            x2 = x * x
            x3 = x2 * x
            diff = a + b * x + c * x2 + d * x3 - y
            np.square(diff).sum()
            g = 2.0 * diff
            a -= lr * g.sum()
            b -= lr * (g * x).sum()
            c -= lr * (g * x2).sum()
            d -= lr * (g * x3).sum()
        return [float(p) for p in (a, b, c, d)]
    return run


# ---------------------------------------------------------------------------
# add4: a + b on 4 elements, per call


def add4_data(_):
    rng = np.random.default_rng(3)
    return rng.standard_normal(4).astype(np.float32), rng.standard_normal(4).astype(np.float32)


def add4_any(T, data, calls):
    """Same code for every framework: T.tensor (or a NumPy copy), then a + b."""
    a, b = (make_tensor(T, v) for v in data)

    def run():
        for _ in range(calls):
            c = a + b
        return c
    return run


# ---------------------------------------------------------------------------
# chain100: 100 tiny ops forward + backward, per op


def chain100_data(_):
    return np.random.default_rng(2).uniform(-0.5, 0.5, 4).astype(np.float32)


def chain100_autograd(T, x0, iters):
    x = T.tensor(x0, requires_grad=True)

    def run():
        for _ in range(iters):
            x.grad = None
            apply_chain(x, CHAIN).sum().backward()
        return x.grad
    return run


def chain100_numpy(_, x0, iters):
    def run():
        for _ in range(iters):
            g = chain_grad_numpy(x0, CHAIN)
        return g
    return run


# ---------------------------------------------------------------------------
# mlp_step: MLP 784-512-256-10 training step (also used by mlp_memory)

MLP_SIZES = (784, 512, 256, 10)
MLP_BATCH = 128
MLP_LR = 0.01


def mlp_data(_=None):
    """(X, y, state dict): the batch and torch-style initial weights
    (uniform(+-1/sqrt(fan_in)), weights stored out x in), as NumPy arrays."""
    rng = np.random.default_rng(4)
    X = rng.standard_normal((MLP_BATCH, MLP_SIZES[0])).astype(np.float32)
    y = rng.integers(0, MLP_SIZES[-1], MLP_BATCH).astype(np.int64)
    state = {}
    for i, (n_in, n_out) in enumerate(zip(MLP_SIZES, MLP_SIZES[1:])):
        bound = 1 / math.sqrt(n_in)
        state[f"{2 * i}.weight"] = rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32)
        state[f"{2 * i}.bias"] = rng.uniform(-bound, bound, n_out).astype(np.float32)
    return X, y, state


def mlp_step_autograd(T, data, steps):
    X, y, state = data
    layers = []
    for n_in, n_out in zip(MLP_SIZES, MLP_SIZES[1:]):
        layers += [T.nn.Linear(n_in, n_out), T.nn.ReLU()]
    model = T.nn.Sequential(*layers[:-1])
    model.load_state_dict({k: T.tensor(v) for k, v in state.items()})
    opt = T.optim.SGD(model.parameters(), lr=MLP_LR)
    F = T.nn.functional
    X, y = T.tensor(X), T.tensor(y)

    def run():
        losses = []
        for _ in range(steps):
            opt.zero_grad()
            loss = F.cross_entropy(model(X), y)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        return losses
    return run


def mlp_step_numpy(_, data, steps):
    X, y, state = data
    params = [np.array(v, copy=True) for v in state.values()]    # W0, b0, W1, b1, W2, b2
    n_layers = len(params) // 2
    rows = np.arange(len(X))
    onehot = np.zeros((len(X), MLP_SIZES[-1]), np.float32)
    onehot[rows, y] = 1
    lr = np.float32(MLP_LR)

    def run():
        losses = []
        for _ in range(steps):
            acts = [X]
            for i in range(n_layers):
                z = acts[-1] @ params[2 * i].T + params[2 * i + 1]
                if i < n_layers - 1:
                    acts.append(np.maximum(z, 0))
            z = z - z.max(axis=1, keepdims=True)
            e = np.exp(z)
            se = e.sum(axis=1, keepdims=True)
            losses.append(float(-(z[rows, y] - np.log(se[:, 0])).mean()))
            g = (e / se - onehot) / len(X)
            for i in reversed(range(n_layers)):
                W, b, a = params[2 * i], params[2 * i + 1], acts[i]
                gW, gb = g.T @ a, g.sum(axis=0)
                if i > 0:
                    g = (g @ W) * (a > 0)
                W -= lr * gW
                b -= lr * gb
        return losses
    return run


def mlp_memory_worker(T, data, steps, reps):
    """RSS growth over `steps` training steps, after 20 warm-up steps."""
    step = (mlp_step_numpy if T is np else mlp_step_autograd)(T, data, 1)
    for _ in range(20):
        step()
    gc.collect()
    before = rss_mib()
    for _ in range(steps):
        loss = step()[-1]
    gc.collect()
    after = rss_mib()
    return {"growth_mib": after - before, "rss_before_mib": before, "rss_after_mib": after, "final_loss": loss}


# ---------------------------------------------------------------------------
# matmul: n x n float32


def matmul_data(n):
    rng = np.random.default_rng(5)
    return rng.standard_normal((n, n)).astype(np.float32), rng.standard_normal((n, n)).astype(np.float32)


# Back-to-back products per timed run: one product right after an idle
# pause measures how fast the pool's threads wake up more than the GEMM.
MATMUL_CALLS = 4


def matmul_any(T, data, n):
    """Same code for every framework: a @ b, MATMUL_CALLS times."""
    a, b = (make_tensor(T, v) for v in data)

    def run():
        for _ in range(MATMUL_CALLS):
            c = a @ b
        return c
    return run


# ---------------------------------------------------------------------------
# exp_fma_16m: (a*b + c).exp().sum() forward + backward on big leaves


def exp_fma_data(n):
    rng = np.random.default_rng(6)
    return [rng.uniform(-1, 1, n).astype(np.float32) for _ in range(3)]


def exp_fma_autograd(T, data, n):
    a, b, c = leaves = [T.tensor(v, requires_grad=True) for v in data]

    def run():
        for p in leaves:
            p.grad = None
        s = (a * b + c).exp().sum()
        s.backward()
        return s.detach(), a.grad, b.grad, c.grad
    return run


def exp_fma_numpy(_, data, n):
    a, b, c = data

    def run():
        e = np.exp(a * b + c)
        return e.sum(), e * b, e * a, e
    return run


# ---------------------------------------------------------------------------
# branches_2v1: backward of two independent branches, 1 vs 2 threads


def branches_data(n):
    return np.random.default_rng(7).uniform(-1, 1, n).astype(np.float32)


def branches_worker(T, x0, n, reps):
    """Median time of `loss.backward()` (graph rebuilt untimed before each
    run) and the SHA-256 of x.grad's bytes; the warm-up gradient is first
    checked against the NumPy one."""
    x = T.tensor(x0, requires_grad=True)

    def build():
        x.grad = None
        return apply_chain(x, BRANCH_A).sum() + apply_chain(x, BRANCH_B).sum()

    build().backward()
    want = chain_grad_numpy(x0, BRANCH_A) + chain_grad_numpy(x0, BRANCH_B)
    name = T.__name__
    run_checks("branches_2v1", [Check("x.grad", rtol=1e-4, atol=1e-5)], {name: x.grad, "numpy": want}, subject=name)
    times = []
    for _ in range(reps):
        loss = build()
        t0 = time.perf_counter()
        loss.backward()
        times.append(time.perf_counter() - t0)
    digest = hashlib.sha256(x.grad.detach().numpy().tobytes()).hexdigest()
    return {"median_s": statistics.median(times), "times_s": times, "digest": digest}


# ---------------------------------------------------------------------------
# measuring a workload


@dataclass
class Context:
    quick: bool
    reps: int
    modules: dict          # framework -> module (rg, torch, np); only those that run


@dataclass
class Workload:
    name: str
    per: str                                   # the unit a time is given for
    size: tuple                                # (full, quick): steps, calls, n, ...
    prepare: Callable[[int], Any]              # size -> the data every framework starts from
    measure: Callable                          # (workload, ctx) -> Row
    runners: dict = field(default_factory=dict)   # framework -> factory(T, data, size) -> run()
    units_per_run: Callable[[int], int] = lambda size: 1
    checks: list = field(default_factory=list)    # [Check] on the warm-up results
    targets: dict = field(default_factory=dict)   # framework -> max of rustgrad time / its time
    flops: Optional[Callable[[int], float]] = None  # flops per unit -> GFLOP/s in the notes
    workers: dict = field(default_factory=dict)   # framework -> worker(T, data, size, reps) -> dict
    note: Optional[Callable[[int], str]] = None   # size -> a line for the table's notes

    def size_for(self, quick):
        return self.size[1] if quick else self.size[0]


def measure_in_process(w, ctx):
    """Warm-up run per framework, cross-check, then alternating timed runs."""
    size = w.size_for(ctx.quick)
    data = w.prepare(size)
    runs = {fw: w.runners[fw](T, data, size) for fw, T in ctx.modules.items() if fw in w.runners}
    run_checks(w.name, w.checks, {fw: run() for fw, run in runs.items()})
    times = alternate(runs, ctx.reps)
    units = w.units_per_run(size)
    values = {fw: statistics.median(times[fw]) / units if fw in times else None for fw in FRAMEWORKS}
    comparisons = [Comparison(f"rg/{ref}", ratio(values["rustgrad"], values[ref]), w.targets.get(ref))
                   for ref in ("torch", "numpy")]
    row = Row(w.name, w.per, "time", values, comparisons,
              extra={"size": size, "units_per_run": units, "times_s": times})
    if w.note:
        row.notes = w.note(size)
    if w.flops:
        gflops = {fw: w.flops(size) / v / 1e9 for fw, v in values.items() if v}
        row.extra["gflops"] = gflops
        row.notes = "GFLOP/s: " + ", ".join(f"{fw} {g:.1f}" for fw, g in gflops.items())
        if "numpy" in gflops and w.targets.get("numpy"):
            row.notes += f" (target: rustgrad >= {gflops['numpy'] / w.targets['numpy']:.1f})"
    return row


def measure_branches(w, ctx):
    """Workers with 1 and 2 threads for rustgrad (and torch, for information)."""
    res = {(fw, n): run_worker(w, fw, ctx, threads=n)
           for fw in ctx.modules if fw in w.workers for n in (1, 2)}
    t = {key: r["median_s"] for key, r in res.items()}
    same = {fw: res[fw, 1]["digest"] == res[fw, 2]["digest"] for fw, _ in res}
    comparisons = [Comparison(f"{'rg' if fw == 'rustgrad' else fw} t2/t1", ratio(t.get((fw, 2)), t.get((fw, 1))),
                              0.55 if fw == "rustgrad" else None, require=same.get(fw, False))
                   for fw in ("rustgrad", "torch")]
    notes = ("1 thread: " + ", ".join(f"{fw} {fmt_time(t[fw, 1])}" for fw in same)
             + f"; rustgrad x.grad bit-identical (1 vs 2 threads): {'yes' if same['rustgrad'] else 'no'}")
    return Row(w.name, w.per, "time", {fw: t.get((fw, 2)) for fw in FRAMEWORKS}, comparisons, notes,
               extra={f"{fw}_{n}t": r for (fw, n), r in res.items()})


def measure_memory(w, ctx):
    """One worker per framework; RSS growth, then the final losses cross-checked."""
    res = {fw: run_worker(w, fw, ctx) for fw in ctx.modules if fw in w.workers}
    run_checks(w.name, w.checks, res)
    growth = {fw: res[fw]["growth_mib"] if fw in res else None for fw in FRAMEWORKS}
    limit = max(growth["torch"], 1.0) if growth["torch"] is not None else None
    comparisons = [Comparison("rg growth", growth["rustgrad"], limit, unit="MiB")]
    notes = "RSS after warm-up: " + ", ".join(f"{fw} {r['rss_before_mib']:.0f} MiB" for fw, r in res.items())
    return Row(w.name, f"{w.size_for(ctx.quick)} steps", "MiB", growth, comparisons, notes, extra={"workers": res})


# ---------------------------------------------------------------------------
# the registry

AUTOGRAD = ("rustgrad", "torch")


def runners(autograd, numpy):
    return {**{fw: autograd for fw in AUTOGRAD}, "numpy": numpy}


def matmul_workload(n):
    return Workload(f"matmul{n}", "matmul", (n, n), matmul_data, measure_in_process,
                    runners=runners(matmul_any, matmul_any),
                    checks=[Check("a @ b", rtol=1e-3, atol=1e-4)],
                    units_per_run=lambda n: MATMUL_CALLS, targets={"numpy": 1 / 0.9}, flops=lambda n: 2.0 * n ** 3)


WORKLOADS = [
    Workload("seed_loop", "step", (500, 200), seed_loop_data, measure_in_process,
             runners=runners(seed_loop_autograd, seed_loop_numpy), units_per_run=lambda steps: steps,
             checks=[Check("final a, b, c, d", rtol=1e-3, atol=1e-4)],
             targets={"torch": 0.25, "numpy": 1.5}),
    Workload("add4", "call", (20000, 5000), add4_data, measure_in_process,
             runners=runners(add4_any, add4_any), units_per_run=lambda calls: calls,
             checks=[Check("a + b")], targets={"torch": 0.2}),
    Workload("chain100", "op", (200, 50), chain100_data, measure_in_process,
             runners=runners(chain100_autograd, chain100_numpy), units_per_run=lambda iters: 100 * iters,
             checks=[Check("x.grad")], targets={"torch": 0.1}),
    Workload("mlp_step", "step", (10, 4), mlp_data, measure_in_process,
             runners=runners(mlp_step_autograd, mlp_step_numpy), units_per_run=lambda steps: steps,
             checks=[Check("loss of steps 1-4 (the 4th is after 3 updates)", lambda r: r[:4], rtol=1e-4)],
             targets={"torch": 0.8}),
    matmul_workload(1024),
    matmul_workload(2048),
    Workload("exp_fma_16m", "fwd+bwd", (1 << 24, 1 << 22), exp_fma_data, measure_in_process,
             runners=runners(exp_fma_autograd, exp_fma_numpy),
             checks=[Check("sum", lambda r: r[0], rtol=1e-4, atol=0)]
             + [Check(f"{p}.grad", lambda r, i=i: r[i], rtol=1e-4) for i, p in enumerate("abc", 1)],
             targets={"torch": 1.0}, note=lambda n: f"{n:,} elements per leaf"),
    Workload("branches_2v1", "backward", (1 << 20, 1 << 20), branches_data, measure_branches,
             workers={fw: branches_worker for fw in AUTOGRAD}),
    Workload("mlp_memory", "steps", (500, 200), mlp_data, measure_memory,
             workers={fw: mlp_memory_worker for fw in FRAMEWORKS},
             checks=[Check("loss after all steps", lambda r: r["final_loss"], rtol=1e-3)]),
]
WORKLOADS_BY_NAME = {w.name: w for w in WORKLOADS}


# ---------------------------------------------------------------------------
# machine description and the table


def machine_description(T):
    cpu = platform.processor() or "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "usable_cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": T.__version__ if T else None,
        "torch_threads": T.get_num_threads() if T else None,
        "rustgrad": rg.__version__,
        "RAYON_NUM_THREADS": os.environ.get("RAYON_NUM_THREADS"),
        "env": {k: os.environ.get(k) for k in ("RAYON_NUM_THREADS", "OMP_NUM_THREADS", "OMP_WAIT_POLICY")},
    }


def fmt_time(s):
    if s is None:
        return "-"
    for scale, unit in ((1, "s"), (1e-3, "ms"), (1e-6, "us")):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s * 1e9:.3g} ns"


def fmt_value(v, kind):
    if kind == "MiB":
        return "-" if v is None else f"{v:.1f} MiB"
    return fmt_time(v)


def fmt_comparison(c):
    value = "-" if c.value is None else f"{c.value:.2f}{c.unit}"
    target = "" if c.limit is None else f"<={c.limit:.2f}{c.unit}"
    return f"{c.label:<12}{value:>9} {target:<13}{c.verdict:<4}"


def print_table(rows, reps):
    print(f"\nmedian of {reps} alternating repetitions, per unit in column `per`; "
          "ratios are rustgrad / other: lower is better for rustgrad")
    head = (f"{'workload':<14}{'per':<10}" + "".join(f"{fw:>11}" for fw in FRAMEWORKS)
            + "   comparisons (value, target, verdict)")
    print(head)
    print("-" * (len(head) + 40))
    for row in rows:
        cells = "".join(f"{fmt_value(row.values.get(fw), row.kind):>11}" for fw in FRAMEWORKS)
        print((f"{row.name:<14}{row.per:<10}{cells}   " + "   ".join(map(fmt_comparison, row.comparisons))).rstrip())
        if row.notes:
            print(f"{'':<16}{row.notes}")


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="3 repetitions, shorter loops (< 60 s)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    ap.add_argument("--only", metavar="NAME[,NAME]", help="run only these workloads: " + ", ".join(WORKLOADS_BY_NAME))
    ap.add_argument("--json", metavar="PATH", help="also write the results (and the machine description) here")
    ap.add_argument("--reps", type=int, help="timed repetitions (default 7, --quick 3)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)        # NAME:FRAMEWORK, run by run_worker
    ap.add_argument("--threads", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 7)
    if args.worker:
        return worker_main(args.worker, args.quick, reps, args.threads)

    selected = WORKLOADS
    if args.only:
        names = [n.strip() for n in args.only.split(",") if n.strip()]
        unknown = [n for n in names if n not in WORKLOADS_BY_NAME]
        if unknown:
            ap.error(f"unknown workload(s) {', '.join(unknown)}; choose from {', '.join(WORKLOADS_BY_NAME)}")
        selected = [WORKLOADS_BY_NAME[n] for n in names]

    start = time.perf_counter()
    T = None if args.no_torch else import_torch()
    modules = {fw: m for fw, m in (("rustgrad", rg), ("torch", T), ("numpy", np)) if m is not None}
    ctx = Context(args.quick, reps, modules)
    machine = machine_description(T)
    print(f"CPU: {machine['cpu']}, {machine['cores']} cores ({machine['usable_cores']} usable), "
          f"RAYON_NUM_THREADS={machine['RAYON_NUM_THREADS'] or 'unset'}")
    print(f"python {machine['python']}, rustgrad {machine['rustgrad']}, numpy {machine['numpy']}, "
          + (f"torch {machine['torch']} ({machine['torch_threads']} threads)" if T
             else "torch: skipped (not importable, or --no-torch)")
          + ("  [--quick]" if args.quick else ""))
    load = machine["load_average"]
    if load is not None and load > 0.5 * (machine["cores"] or 1):
        print(f"warning: load average {load:.2f} on {machine['cores']} cores; timings will be noisy "
              "(PyTorch's spin-waiting OpenMP threads suffer most: its times can grow 10x or more)")

    rows, failures = [], []
    for w in selected:
        print(f"  {w.name} ...", end=" ", flush=True)
        gc.collect()
        t0 = time.perf_counter()
        try:
            rows.append(w.measure(w, ctx))
            rows[-1].extra["wall_s"] = time.perf_counter() - t0
            print(f"{rows[-1].extra['wall_s']:.2f} s", flush=True)
        except Mismatch as e:
            print(f"\n{e}", flush=True)
            failures.append({"workload": w.name, "error": str(e)})
        except Exception:  # noqa: BLE001 - report it, go on with the other workloads
            message = traceback.format_exc()
            print(f"\nERROR in {w.name}:\n{message}", flush=True)
            failures.append({"workload": w.name, "error": message})

    print_table(rows, reps)
    verdicts = [c.verdict for row in rows for c in row.comparisons if c.verdict in ("PASS", "MISS")]
    absent = sum(c.verdict == "-" for row in rows for c in row.comparisons)
    met = verdicts.count("PASS")
    elapsed = time.perf_counter() - start
    print(f"\n{met}/{len(verdicts)} targets met"
          + (f" ({absent} not evaluated: reference absent)" if absent else "")
          + (f"; FAILED: {', '.join(f['workload'] for f in failures)}" if failures else "")
          + f"; total run time {elapsed:.1f} s")

    if args.json:
        report = {
            "machine": machine, "quick": args.quick, "reps": reps, "total_run_time_s": elapsed,
            "targets_met": met, "targets_evaluated": len(verdicts), "failures": failures,
            "rows": [dict(dataclasses.asdict(row),
                          comparisons=[dict(dataclasses.asdict(c), verdict=c.verdict) for c in row.comparisons])
                     for row in rows],
        }
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
