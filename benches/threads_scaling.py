#!/usr/bin/env python3
"""Python threads that each train their own model: how does it scale?

    python3 benches/threads_scaling.py              # full run (about 50 s on 2 quiet cores)
    python3 benches/threads_scaling.py --quick      # shorter loops, 3 repetitions (~15 s)
    python3 benches/threads_scaling.py --no-torch   # rustgrad only, even if PyTorch is importable
    python3 benches/threads_scaling.py --intra-op 1 # RAYON_NUM_THREADS=1 and torch.set_num_threads(1)
    python3 benches/threads_scaling.py --threads 1,2,4 --reps 5 --json out.json

What it measures. A fixed total number of SGD training steps of an MLP
(Linear - ReLU - Linear, cross_entropy, float32) is split over k Python
threads (k = 1, 2, 4): thread i trains its OWN model (its own parameters,
data and optimizer, initialised from NumPy with seed i) for total/k steps.
Nothing is shared between the threads except the library itself: its
global graph arena, its counters, its rayon pool (PyTorch: its intra-op
pool). For each k the table gives

  wall s      the wall time of the whole run (all threads started together
              at a barrier, timed until the last one joins), median over
              the repetitions;
  steps/s     total steps / wall time;
  speed-up    the 1-thread wall time / the k-thread wall time (same total
              steps, so > 1 means the threads ran at the same time);
  eff         speed-up / k (1.00 = perfect scaling). The machine cannot give
              more than min(k, cores) (`ideal` in the header line);
  identical   whether every thread's result (its losses and final
              parameters, bit for bit) equals the result of training that
              same model alone on one thread, before any timing: threads
              must not change results (determinism under threads).

Two model sizes:

  tiny  8-32-4, batch 16: every op is a few hundred elements, so a step is
        almost all Python and library overhead run under the GIL. With the
        GIL, threads CANNOT scale here (expect speed-up <= 1, a little
        below 1 from GIL hand-offs); the row shows what the contention
        costs, nothing more.
  big   256-1024-10, batch 256: the matmuls and their gradients are
        >= 32768 elements, and rustgrad releases the GIL inside such
        kernels (and in backward() and optimizer.step()), as PyTorch does
        in its ops. Here threads can overlap. The measure of "the global
        graph arena does not serialise threads" is rustgrad's speed-up on
        this model compared with PyTorch's (the `speed-up rg/torch` line:
        ~1 or more is good; well below 1 means something in rustgrad
        serialises the threads).

Reading the intra-op setting: by default both libraries keep their own
intra-op parallelism (rustgrad's rayon pool, PyTorch's threads), so one
Python thread already uses several cores in the big model's kernels and
the room for Python-thread scaling is small on a machine with few cores.
`--intra-op 1` makes each kernel single-threaded in both libraries, which
isolates Python-level concurrency (but note that rustgrad's heavy kernels
still run on its rayon pool, now of ONE worker, shared by every Python
thread).

Method: each framework first runs every job once alone and untimed, on a
thread of its own like the timed runs (PyTorch can be several times slower
on the main thread of a loaded machine): the warm-up, and the reference
for `identical`. Then the repetitions run
with the thread counts and the frameworks alternating (rustgrad k=1, torch
k=1, rustgrad k=2, ...), with a short pause before each, so drift in the
machine's speed hits all of them alike; the table shows medians. Ratios
rg/torch are rustgrad's value divided by PyTorch's: for time, lower is
better for rustgrad; for speed-up, higher is. Exit code 0, or 1 when a
threaded result was not identical to its single-threaded reference (this
is a measurement, not a test: slow scaling does not fail it).
"""

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import threading
import time

import numpy as np

# (input, hidden, output, batch) and the total steps (full, --quick)
MODELS = {
    "tiny": dict(din=8, hidden=32, dout=4, batch=16, steps=(3000, 800)),
    "big": dict(din=256, hidden=1024, dout=10, batch=256, steps=(128, 32)),
}
BATCHES = 4        # each job cycles over this many fixed random batches
LR = 0.01
SETTLE_S = (0.1, 0.05)  # pause before each timed run, full and --quick (lets spinning pool threads sleep)


def import_torch():
    """PyTorch, or None when it is not installed (or broken)."""
    try:
        import torch
    except Exception:  # noqa: BLE001 - a broken install counts as absent
        return None
    return torch


# ---------------------------------------------------------------------------
# one job: one thread's own model, data and optimizer


def job_arrays(spec, seed):
    """The initial parameters and the batches of job `seed`, as NumPy arrays."""
    rng = np.random.default_rng(seed)
    din, h, dout, b = spec["din"], spec["hidden"], spec["dout"], spec["batch"]
    params = [(rng.standard_normal((din, h)) / np.sqrt(din)).astype(np.float32),
              np.zeros(h, np.float32),
              (rng.standard_normal((h, dout)) / np.sqrt(h)).astype(np.float32),
              np.zeros(dout, np.float32)]
    batches = [(rng.standard_normal((b, din)).astype(np.float32), rng.integers(0, dout, b))
               for _ in range(BATCHES)]
    return params, batches


def make_job(T, spec, seed, steps):
    """Builds job `seed`'s tensors and optimizer (untimed); returns run(),
    which trains and returns the job's result (a digest of every step's
    loss and the final parameters' bytes)."""
    arrays, batch_arrays = job_arrays(spec, seed)
    params = [T.tensor(a, requires_grad=True) for a in arrays]
    batches = [(T.tensor(x), T.tensor(y)) for x, y in batch_arrays]
    opt = T.optim.SGD(params, lr=LR)
    F = T.nn.functional
    w1, b1, w2, b2 = params

    def run():
        losses = []
        for step in range(steps):
            x, y = batches[step % BATCHES]
            opt.zero_grad()
            loss = F.cross_entropy(F.relu(x @ w1 + b1) @ w2 + b2, y)
            loss.backward()
            opt.step()
            losses.append(loss.detach())
        digest = hashlib.sha256()
        for t in losses + params:
            digest.update(np.ascontiguousarray(t.detach().numpy()).tobytes())
        return digest.hexdigest()
    return run


def run_threads(T, spec, jobs):
    """Trains one own model per job, each on a fresh thread of its own (all
    started together at a barrier); jobs: [(seed, steps)]. Returns (wall
    seconds until the last thread ends, [result of each job])."""
    runs = [make_job(T, spec, seed, steps) for seed, steps in jobs]
    results, errors = [None] * len(runs), []
    barrier = threading.Barrier(len(runs) + 1)

    def body(i):
        barrier.wait()
        try:
            results[i] = runs[i]()
        except BaseException as e:  # noqa: BLE001 - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=body, args=(i,), daemon=True) for i in range(len(runs))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return wall, results


# ---------------------------------------------------------------------------
# measurement and table


def measure(frameworks, spec, counts, total_steps, reps, settle):
    """For each framework and thread count: the wall times of the repetitions
    and whether every threaded result matched its single-thread reference.
    Returns {fw: {k: {"times": [...], "identical": bool}}}."""
    out = {fw: {k: {"times": [], "identical": True} for k in counts} for fw in frameworks}
    jobs = {k: [(seed, total_steps // k) for seed in range(k)] for k in counts}
    reference = {}  # (fw, seed, steps) -> the job's result when it ran alone on one thread
    for fw, T in frameworks.items():
        for job in sorted({job for k in counts for job in jobs[k]}):
            reference[(fw,) + job] = run_threads(T, spec, [job])[1][0]
    for _ in range(reps):
        for k in counts:
            for fw, T in frameworks.items():
                time.sleep(settle)
                wall, results = run_threads(T, spec, jobs[k])
                cell = out[fw][k]
                cell["times"].append(wall)
                cell["identical"] &= all(r == reference[(fw,) + job] for job, r in zip(jobs[k], results))
    return out


def summarise(cells, counts, total_steps):
    """Medians and derived columns: {fw: {k: row dict}}."""
    table = {}
    for fw, per_k in cells.items():
        base = statistics.median(per_k[1]["times"])  # one thread, the same total steps
        table[fw] = {}
        for k in counts:
            wall = statistics.median(per_k[k]["times"])
            speedup = base / wall
            table[fw][k] = dict(wall_s=wall, steps_per_s=total_steps / wall, speedup=speedup,
                                efficiency=speedup / k, identical=per_k[k]["identical"],
                                times=per_k[k]["times"])
    return table


def print_model_table(name, spec, total_steps, table, counts, cores):
    print(f"\n{name}: MLP {spec['din']}-{spec['hidden']}-{spec['dout']}, batch {spec['batch']}, SGD, "
          f"{total_steps} steps in total, split over the threads; "
          f"ideal speed-up min(k, {cores} cores) = " + ", ".join(str(min(k, cores)) for k in counts))
    head = f"  {'framework':<10}{'threads':>8}{'wall s':>10}{'steps/s':>10}{'speed-up':>10}{'eff':>7}  identical"
    print(head)
    print("  " + "-" * (len(head) - 2))
    for fw, rows in table.items():
        for k in counts:
            r = rows[k]
            print(f"  {fw:<10}{k:>8}{r['wall_s']:>10.3f}{r['steps_per_s']:>10.0f}{r['speedup']:>10.2f}"
                  f"{r['efficiency']:>7.2f}  {'yes' if r['identical'] else 'NO'}")
    if "torch" in table:
        rg, tc = table["rustgrad"], table["torch"]
        for label, key in (("rg/torch time:    ", "wall_s"), ("speed-up rg/torch:", "speedup")):
            print(f"  {label} " + "   ".join(f"{k} thr {rg[k][key] / tc[k][key]:.2f}" for k in counts))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="shorter loops, 3 repetitions (~15 s)")
    ap.add_argument("--no-torch", action="store_true", help="skip PyTorch even if importable")
    ap.add_argument("--reps", type=int, help="timed repetitions (default 5, --quick 3)")
    ap.add_argument("--threads", default="1,2,4", help="thread counts, starting with 1 (default 1,2,4)")
    ap.add_argument("--models", default=",".join(MODELS), help="which models: " + ", ".join(MODELS))
    ap.add_argument("--intra-op", type=int, metavar="N",
                    help="RAYON_NUM_THREADS=N for rustgrad and torch.set_num_threads(N) (default: leave both)")
    ap.add_argument("--json", metavar="PATH", help="also write the results here")
    args = ap.parse_args()
    reps = args.reps or (3 if args.quick else 5)
    counts = [int(c) for c in args.threads.split(",")]
    if counts[0] != 1:
        ap.error("--threads must start with 1 (the baseline)")
    names = [n for n in args.models.split(",") if n]
    if any(n not in MODELS for n in names):
        ap.error(f"--models: choose from {', '.join(MODELS)}")
    if args.intra_op:
        os.environ["RAYON_NUM_THREADS"] = str(args.intra_op)  # read when rustgrad's pool starts

    import rustgrad as rg
    start = time.perf_counter()
    frameworks = {"rustgrad": rg}
    torch = None if args.no_torch else import_torch()
    if torch is not None:
        if args.intra_op:
            torch.set_num_threads(args.intra_op)
        frameworks["torch"] = torch
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    print(f"{cores} usable cores, load average {load if load is None else round(load, 2)}; python "
          f"{platform.python_version()}, rustgrad {rg.__version__}, RAYON_NUM_THREADS="
          f"{os.environ.get('RAYON_NUM_THREADS') or 'unset'}; "
          + (f"torch {torch.__version__} ({torch.get_num_threads()} intra-op threads)" if torch
             else "torch: skipped (not importable, or --no-torch)")
          + f"; median of {reps} alternating repetitions" + ("  [--quick]" if args.quick else ""))
    if load is not None and load > 0.5 * cores:
        print(f"warning: load average {load:.2f} on {cores} cores; timings will be noisy")

    report, all_identical = {}, True
    for name in names:
        spec = MODELS[name]
        total = spec["steps"][1 if args.quick else 0]
        total -= total % int(np.lcm.reduce(counts))
        cells = measure(frameworks, spec, counts, total, reps, SETTLE_S[1 if args.quick else 0])
        table = summarise(cells, counts, total)
        print_model_table(name, spec, total, table, counts, cores)
        all_identical &= all(r["identical"] for rows in table.values() for r in rows.values())
        report[name] = {"spec": {k: v for k, v in spec.items() if k != "steps"}, "total_steps": total,
                        "results": {fw: {str(k): r for k, r in rows.items()} for fw, rows in table.items()}}
    elapsed = time.perf_counter() - start
    print(f"\nthreaded results identical to single-threaded: {'yes' if all_identical else 'NO'}; "
          f"total run time {elapsed:.1f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"cores": cores, "load_average": load, "reps": reps, "quick": args.quick,
                       "intra_op": args.intra_op, "total_run_time_s": elapsed, "models": report}, f, indent=2)
    return 0 if all_identical else 1


if __name__ == "__main__":
    sys.exit(main())
