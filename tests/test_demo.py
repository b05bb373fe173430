"""The README's demos: the digits training demo in its short form (a few
epochs, both models above 90% test accuracy, a checkpoint reloaded to the
same accuracy, the curves written as a PNG), and the tour of the seed
article's examples."""

import subprocess
import sys

import pytest

from conftest import REFERENCE

pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="runs rustgrad's own demo")


def run_demo(*args):
    return subprocess.run([sys.executable, "-m", "rustgrad.demo", *args], capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("compare", [False, True], ids=["alone", "beside-pytorch"])
def test_the_digits_demo_trains_both_models_and_reloads_their_checkpoints(tmp_path, compare, request):
    pytest.importorskip("sklearn")
    pytest.importorskip("tqdm")
    pytest.importorskip("matplotlib")
    if compare:
        request.getfixturevalue("torch")
    result = run_demo("--quick", "--out", str(tmp_path), *([] if compare else ["--no-torch"]))
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for name in ("mlp", "cnn"):
        line = next(line for line in out.splitlines() if line.startswith(f"{name}: test accuracy"))
        accuracy = float(line.split("test accuracy ")[1].split("%")[0])
        assert accuracy >= 90.0, line
        assert line.endswith("(same)"), line
        assert (tmp_path / f"digits_{name}.safetensors").stat().st_size > 0
    assert (tmp_path / "digits_curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert ("rustgrad/PyTorch" in out) == compare
    assert "epoch" in result.stderr  # the tqdm bars


def test_the_seed_tour_runs():
    result = run_demo("seeds")
    assert result.returncode == 0, result.stderr
    assert "=== 5." in result.stdout
