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
