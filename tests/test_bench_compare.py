"""Smoke test of ``benches/compare.py``: a quick run of three small workloads
(rustgrad vs NumPy, no PyTorch) completes, cross-checks without a
MISMATCH and writes its JSON report. It never asserts on speed: a missed
target is a measurement, not a failure."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from conftest import REFERENCE

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="runs rustgrad in a subprocess")

ROOT = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benches" / "compare.py"
WORKLOADS = ("add4", "chain100", "seed_loop")


def test_quick_run_writes_rows_and_agrees(tmp_path):
    out = tmp_path / "compare.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p)
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--no-torch", "--only", ",".join(WORKLOADS), "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    printed = result.stdout + result.stderr
    assert result.returncode == 0, printed
    assert "MISMATCH" not in printed
    assert "targets met" in result.stdout

    report = json.loads(out.read_text())
    assert report["failures"] == []
    assert report["machine"]["torch"] is None and report["machine"]["cores"] >= 1
    rows = {row["name"]: row for row in report["rows"]}
    assert set(rows) == set(WORKLOADS)
    for name, row in rows.items():
        assert row["values"]["rustgrad"] > 0, name
        assert row["values"]["numpy"] > 0, name
        assert row["values"]["torch"] is None, name
        assert all(t > 0 for t in row["extra"]["times_s"]["rustgrad"]), name
        vs_torch = next(c for c in row["comparisons"] if c["label"] == "rg/torch")
        assert vs_torch["value"] is None and vs_torch["verdict"] in ("-", ""), name


def test_threads_scaling_quick_run_is_identical_across_threads(tmp_path):
    """``benches/threads_scaling.py`` (tiny model, 1 and 4 threads, one
    repetition): every thread's result equals the same job run alone."""
    out = tmp_path / "threads.json"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "python"), env.get("PYTHONPATH")) if p)
    script = ROOT / "benches" / "threads_scaling.py"
    result = subprocess.run(
        [sys.executable, str(script), "--quick", "--no-torch", "--models", "tiny", "--threads", "1,4", "--reps", "1",
         "--json", str(out)],
        capture_output=True, text=True, env=env, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    runs = json.loads(out.read_text())["models"]["tiny"]["results"]["rustgrad"]
    assert sorted(runs) == ["1", "4"]
    assert all(r["identical"] for r in runs.values())
