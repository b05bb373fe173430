"""The losses of ``torch.nn.functional`` and their ``torch.nn`` modules.

One table, ``CASES``, holds every loss with its options. An entry is an id,
``call(lib, *floats)`` that runs the loss in ``lib`` (``rg`` or
``torch``; targets, weights and other constants are built inside from
NumPy arrays), a NumPy reference ``ref(*floats)`` written from the
documented formula (ATen's, for the weighted and smoothed cross entropy),
and the float arrays the gradients are taken for. Each entry is checked,
for every reduction it takes:

* forward values against the NumPy reference, in float64 and float32;
* float64 gradients against central finite differences;
* values and gradients against PyTorch (``torch`` fixture).

The error and warning tables hold PyTorch's exact exception classes and
texts; they are checked against rustgrad and, with the fixture, against
PyTorch itself.
"""

import math
import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn.functional as F
from conftest import N, REFERENCE, assert_close, check_grads

REDUCTIONS = ["mean", "sum", "none"]


def fn_of(lib):
    """``lib.nn.functional`` (``import torch.nn.functional`` may not have run)."""
    return lib.nn.functional


def rand(seed, shape, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def away_from(a, points, margin=0.05):
    """``a`` with values within ``margin`` of a kink moved off it, so finite
    differences do not straddle it."""
    for p in points:
        a = np.where(np.abs(a - p) < margin, p + np.where(a >= p, 2 * margin, -2 * margin), a)
    return a


def reduce_np(loss, reduction):
    return {"mean": np.mean, "sum": np.sum, "none": lambda v: v}[reduction](loss)


def log_softmax_np(x, axis):
    m = x.max(axis=axis, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=axis, keepdims=True))


# ---------------------------------------------------------------------------
# NumPy references
# ---------------------------------------------------------------------------


def nll_np(logp, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """NLL (and cross entropy's label-smoothing term, ATen's formula) with
    an explicit loop over the samples: class axis 1 (0 for 1-D input)."""
    class_axis = 0 if logp.ndim == 1 else 1
    lp = np.moveaxis(logp, class_axis, -1).reshape(-1, logp.shape[class_axis])
    t = np.asarray(target).reshape(-1)
    w = np.ones(lp.shape[1]) if weight is None else weight
    nll = np.zeros(len(t))
    smooth = np.zeros(len(t))
    total = 0.0
    for i, c in enumerate(t):
        if c == ignore_index:
            continue
        nll[i] = -w[c] * lp[i, c]
        smooth[i] = -(w * lp[i]).sum()
        total += w[c]
    shape = np.asarray(target).shape
    if reduction == "none":
        nll, smooth = nll.reshape(shape), smooth.reshape(shape)
    elif reduction == "sum":
        nll, smooth = nll.sum(), smooth.sum()
    else:
        nll, smooth = nll.sum() / total, smooth.sum() / total
    n_classes = lp.shape[1]
    return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)


def cross_entropy_probs_np(x, p, weight=None, reduction="mean", label_smoothing=0.0):
    class_axis = 0 if x.ndim == 1 else 1
    n_classes = x.shape[class_axis]
    q = p * (1 - label_smoothing) + label_smoothing / n_classes
    w = 1.0
    if weight is not None:
        shape = [1] * x.ndim
        shape[class_axis] = n_classes
        w = weight.reshape(shape)
    per_sample = -(log_softmax_np(x, class_axis) * q * w).sum(axis=class_axis)
    if reduction == "mean":
        return per_sample.sum() / (x.size // n_classes)
    return reduce_np(per_sample, reduction)


def bce_np(x, t, w=1.0):
    return -w * (t * np.maximum(np.log(x), -100) + (1 - t) * np.maximum(np.log1p(-x), -100))


def bce_logits_np(x, t, w=1.0, pos_weight=1.0):
    return w * ((1 - t) * x + (1 + (pos_weight - 1) * t) * np.logaddexp(0, -x))


def cosine_np(x1, x2, t, margin):
    eps = 1e-12
    cos = (x1 * x2).sum(-1) / np.sqrt(((x1 * x1).sum(-1) + eps) * ((x2 * x2).sum(-1) + eps))
    return np.where(t == 1, 1 - cos, 0) + np.where(t == -1, np.maximum(cos - margin, 0), 0)


def gaussian_np(x, t, var, full=False, eps=1e-6):
    v = np.maximum(var, eps)
    return 0.5 * (np.log(v) + (x - t) ** 2 / v) + (0.5 * math.log(2 * math.pi) if full else 0)


def multi_margin_np(x, y, p=1, margin=1.0, w=None):
    x2 = x.reshape(-1, x.shape[-1])
    y2 = np.asarray(y).reshape(-1)
    out = np.zeros(len(y2))
    for i, c in enumerate(y2):
        z = np.maximum(margin - x2[i, c] + x2[i], 0) ** p * (1.0 if w is None else w[c])
        out[i] = (z.sum() - z[c]) / x2.shape[1]
    return out if x.ndim == 2 else out.reshape(())


def triplet_np(a, p, n, margin=1.0, norm=2, eps=1e-6, swap=False):
    def dist(u, v):
        return (np.abs(u - v + eps) ** norm).sum(-1) ** (1.0 / norm)
    d_neg = dist(a, n)
    if swap:
        d_neg = np.minimum(d_neg, dist(p, n))
    return np.maximum(margin + dist(a, p) - d_neg, 0)


def log_sigmoid_np(x):
    return -np.logaddexp(0, -x)


# ---------------------------------------------------------------------------
# the table
# ---------------------------------------------------------------------------

X = away_from(rand(1, (4, 5)), [0.0])
Y = away_from(rand(2, (4, 5)), [0.0])
# differences kept away from 0 and from the smooth-L1 / Huber thresholds
Y = np.where(np.abs(np.abs(X - Y) - 0.5) < 0.05, Y + 0.2, Y)
Y = np.where(np.abs(np.abs(X - Y) - 0.7) < 0.05, Y + 0.2, Y)
Y = np.where(np.abs(X - Y) < 0.05, Y + 0.2, Y)
W = rand(3, (4, 5), 0.2, 2.0)
CLASS_W = rand(4, (5,), 0.2, 2.0)
TARGET = np.array([1, 0, 4, 2])
TARGET_IGNORED = np.array([1, 3, 4, 3])  # ignore_index=3 below
X4 = rand(5, (2, 5, 3, 2))
T4 = np.random.default_rng(6).integers(0, 5, (2, 3, 2))
T4[0, 1, 1] = -100
PROBS = rand(7, (4, 5), 0.0, 1.0)
PROBS /= PROBS.sum(1, keepdims=True)
UNIT = rand(8, (4, 5), 0.05, 0.95)
UNIT_T = rand(9, (4, 5), 0.0, 1.0)
LOGP = log_softmax_np(X, 1)
KL_T = np.where(UNIT_T < 0.2, 0.0, UNIT_T)  # some zeros: xlogy's 0 log 0 = 0
SIGNS = np.array([1.0, -1.0, 1.0, -1.0])
A3, P3, N3 = (rand(s, (4, 3)) for s in (10, 11, 12))
COS_X1, COS_X2 = rand(13, (4, 3)), rand(14, (4, 3))
HINGE_T = np.sign(rand(15, (4, 5)))
MARGIN_X1 = rand(16, (6,))
MARGIN_X2 = away_from(MARGIN_X1 + rand(17, (6,), -1, 1), [])
MARGIN_T = np.array([1.0, -1, 1, -1, 1, -1])
VAR = rand(18, (4, 5), 0.1, 2.0)
MULTI_LABEL = (UNIT_T > 0.5).astype(np.float64)


# the dtype of the floating constants (weights, targets): the float32 value
# test switches it so that nothing promotes its results to float64
_CONSTANTS = {"dtype": "float64"}


def _t(lib, a):
    """A constant argument in ``lib``: int arrays stay int64, float ones take
    ``_CONSTANTS["dtype"]``."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        return lib.tensor(a, dtype=getattr(lib, _CONSTANTS["dtype"]))
    return lib.tensor(a)


def case(id, call, ref, floats, reductions=REDUCTIONS):
    """One entry per reduction: ``call(lib, *floats, reduction)`` and
    ``ref(*floats, reduction)``."""
    return [pytest.param(
        (lambda lib, *ts, r=r: call(lib, *ts, r)),
        (lambda *a, r=r: ref(*a, r)),
        floats, id=f"{id}-{r}") for r in reductions]


CASES = [
    *case("mse", lambda lib, x, y, r: fn_of(lib).mse_loss(x, y, reduction=r),
          lambda x, y, r: reduce_np((x - y) ** 2, r), [X, Y]),
    *case("mse_weight", lambda lib, x, y, r: fn_of(lib).mse_loss(x, y, reduction=r, weight=_t(lib, W)),
          lambda x, y, r: (W * (x - y) ** 2).sum() / W.sum() if r == "mean" else reduce_np(W * (x - y) ** 2, r),
          [X, Y]),
    *case("l1", lambda lib, x, y, r: fn_of(lib).l1_loss(x, y, reduction=r),
          lambda x, y, r: reduce_np(np.abs(x - y), r), [X, Y]),
    *case("l1_weight", lambda lib, x, y, r: fn_of(lib).l1_loss(x, y, reduction=r, weight=_t(lib, W)),
          lambda x, y, r: (W * np.abs(x - y)).sum() / W.sum() if r == "mean" else reduce_np(W * np.abs(x - y), r),
          [X, Y]),
    *case("smooth_l1", lambda lib, x, y, r: fn_of(lib).smooth_l1_loss(x, y, reduction=r, beta=0.5),
          lambda x, y, r: reduce_np(np.where(np.abs(x - y) < 0.5, (x - y) ** 2, np.abs(x - y) - 0.25), r),
          [X, Y]),
    *case("smooth_l1_beta0", lambda lib, x, y, r: fn_of(lib).smooth_l1_loss(x, y, reduction=r, beta=0.0),
          lambda x, y, r: reduce_np(np.abs(x - y), r), [X, Y]),
    *case("huber", lambda lib, x, y, r: fn_of(lib).huber_loss(x, y, reduction=r, delta=0.7),
          lambda x, y, r: reduce_np(np.where(np.abs(x - y) < 0.7, 0.5 * (x - y) ** 2,
                                             0.7 * (np.abs(x - y) - 0.35)), r), [X, Y]),
    *case("huber_weight", lambda lib, x, y, r: fn_of(lib).huber_loss(x, y, reduction=r, weight=_t(lib, W)),
          lambda x, y, r: reduce_np(W * np.where(np.abs(x - y) < 1, 0.5 * (x - y) ** 2, np.abs(x - y) - 0.5), r),
          [X, Y]),
    *case("nll", lambda lib, lp, r: fn_of(lib).nll_loss(lp, _t(lib, TARGET), reduction=r),
          lambda lp, r: nll_np(lp, TARGET, reduction=r), [LOGP]),
    *case("nll_weight_ignore",
          lambda lib, lp, r: fn_of(lib).nll_loss(lp, _t(lib, TARGET_IGNORED), _t(lib, CLASS_W), ignore_index=3,
                                                 reduction=r),
          lambda lp, r: nll_np(lp, TARGET_IGNORED, CLASS_W, 3, r), [LOGP]),
    *case("nll_1d", lambda lib, lp, r: fn_of(lib).nll_loss(lp, _t(lib, 2), reduction=r),
          lambda lp, r: nll_np(lp, np.array(2), reduction=r), [LOGP[0]]),
    *case("cross_entropy", lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, TARGET), reduction=r),
          lambda x, r: nll_np(log_softmax_np(x, 1), TARGET, reduction=r), [X]),
    *case("cross_entropy_weight_ignore",
          lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, TARGET_IGNORED), _t(lib, CLASS_W), ignore_index=3,
                                                     reduction=r),
          lambda x, r: nll_np(log_softmax_np(x, 1), TARGET_IGNORED, CLASS_W, 3, r), [X]),
    *case("cross_entropy_smoothing",
          lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, TARGET_IGNORED), _t(lib, CLASS_W), ignore_index=3,
                                                     reduction=r, label_smoothing=0.3),
          lambda x, r: nll_np(log_softmax_np(x, 1), TARGET_IGNORED, CLASS_W, 3, r, 0.3), [X]),
    *case("cross_entropy_4d_smoothing",
          lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, T4), reduction=r, label_smoothing=0.2),
          lambda x, r: nll_np(log_softmax_np(x, 1), T4, reduction=r, label_smoothing=0.2), [X4]),
    *case("cross_entropy_4d_weight",
          lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, T4), _t(lib, CLASS_W), reduction=r),
          lambda x, r: nll_np(log_softmax_np(x, 1), T4, CLASS_W, reduction=r), [X4]),
    *case("cross_entropy_1d", lambda lib, x, r: fn_of(lib).cross_entropy(x, _t(lib, 4), reduction=r),
          lambda x, r: nll_np(log_softmax_np(x, 0), np.array(4), reduction=r), [X[0]]),
    *case("cross_entropy_probs",
          lambda lib, x, p, r: fn_of(lib).cross_entropy(x, p, _t(lib, CLASS_W), reduction=r, label_smoothing=0.1),
          lambda x, p, r: cross_entropy_probs_np(x, p, CLASS_W, r, 0.1), [X, PROBS]),
    *case("cross_entropy_probs_4d",
          lambda lib, x, p, r: fn_of(lib).cross_entropy(x, p, reduction=r),
          lambda x, p, r: cross_entropy_probs_np(x, p, reduction=r), [X4, rand(19, X4.shape, 0, 1)]),
    *case("binary_cross_entropy", lambda lib, x, t, r: fn_of(lib).binary_cross_entropy(x, t, reduction=r),
          lambda x, t, r: reduce_np(bce_np(x, t), r), [UNIT, UNIT_T]),
    *case("binary_cross_entropy_weight",
          lambda lib, x, t, r: fn_of(lib).binary_cross_entropy(x, t, _t(lib, CLASS_W), reduction=r),
          lambda x, t, r: reduce_np(bce_np(x, t, CLASS_W), r), [UNIT, UNIT_T]),
    *case("bce_with_logits",
          lambda lib, x, t, r: fn_of(lib).binary_cross_entropy_with_logits(
              x, t, _t(lib, W[:1]), reduction=r, pos_weight=_t(lib, CLASS_W)),
          lambda x, t, r: reduce_np(bce_logits_np(x, t, W[:1], CLASS_W), r), [X, UNIT_T]),
    *case("kl_div", lambda lib, x, t, r: fn_of(lib).kl_div(x, t, reduction=r),
          lambda x, t, r: (reduce_np(np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x, "sum")
                           / len(x) if r == "batchmean"
                           else reduce_np(np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0) - t * x, r)),
          [LOGP, KL_T], reductions=REDUCTIONS + ["batchmean"]),
    *case("kl_div_log_target", lambda lib, x, t, r: fn_of(lib).kl_div(x, t, reduction=r, log_target=True),
          lambda x, t, r: (np.sum(np.exp(t) * (t - x)) / len(x) if r == "batchmean"
                           else reduce_np(np.exp(t) * (t - x), r)),
          [LOGP, np.log(UNIT_T)], reductions=REDUCTIONS + ["batchmean"]),
    *case("cosine_embedding",
          lambda lib, x1, x2, r: fn_of(lib).cosine_embedding_loss(x1, x2, _t(lib, SIGNS), margin=-0.2, reduction=r),
          lambda x1, x2, r: reduce_np(cosine_np(x1, x2, SIGNS, -0.2), r), [COS_X1, COS_X2]),
    *case("cosine_embedding_1d",
          lambda lib, x1, x2, r: fn_of(lib).cosine_embedding_loss(x1, x2, _t(lib, -1.0), reduction=r),
          lambda x1, x2, r: reduce_np(cosine_np(x1, x2, np.array(-1.0), 0.0), r), [COS_X1[0], -COS_X2[0]]),
    *case("margin_ranking",
          lambda lib, x1, x2, r: fn_of(lib).margin_ranking_loss(x1, x2, _t(lib, MARGIN_T), margin=0.3, reduction=r),
          lambda x1, x2, r: reduce_np(np.maximum(-MARGIN_T * (x1 - x2) + 0.3, 0), r), [MARGIN_X1, MARGIN_X2]),
    *case("hinge_embedding",
          lambda lib, x, r: fn_of(lib).hinge_embedding_loss(x, _t(lib, HINGE_T), margin=0.5, reduction=r),
          lambda x, r: reduce_np(np.where(HINGE_T == 1, x, np.maximum(0.5 - x, 0)), r),
          [away_from(X, [0.5])]),
    *case("soft_margin", lambda lib, x, r: fn_of(lib).soft_margin_loss(x, _t(lib, HINGE_T), reduction=r),
          lambda x, r: reduce_np(np.log1p(np.exp(-HINGE_T * x)), r), [X]),
    *case("poisson_nll", lambda lib, x, t, r: fn_of(lib).poisson_nll_loss(x, t, reduction=r),
          lambda x, t, r: reduce_np(np.exp(x) - t * x, r), [X, 3 * UNIT_T]),
    *case("poisson_nll_rate_full",
          lambda lib, x, t, r: fn_of(lib).poisson_nll_loss(x, t, log_input=False, full=True, reduction=r),
          lambda x, t, r: reduce_np(x - t * np.log(x + 1e-8) + np.where(
              t > 1, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t), 0), r),
          [UNIT, away_from(3 * UNIT_T, [1.0])]),
    *case("gaussian_nll", lambda lib, x, t, v, r: fn_of(lib).gaussian_nll_loss(x, t, v, full=True, reduction=r),
          lambda x, t, v, r: reduce_np(gaussian_np(x, t, v, True), r), [X, Y, VAR]),
    *case("gaussian_nll_shared_var", lambda lib, x, t, v, r: fn_of(lib).gaussian_nll_loss(x, t, v, reduction=r),
          lambda x, t, v, r: reduce_np(gaussian_np(x, t, v[:, None]), r), [X, Y, VAR[:, 0]]),
    *case("gaussian_nll_float_var", lambda lib, x, t, r: fn_of(lib).gaussian_nll_loss(x, t, 0.5, reduction=r),
          lambda x, t, r: reduce_np(gaussian_np(x, t, 0.5), r), [X, Y]),
    *case("triplet_margin", lambda lib, a, p, n, r: fn_of(lib).triplet_margin_loss(a, p, n, margin=1.5, reduction=r),
          lambda a, p, n, r: reduce_np(triplet_np(a, p, n, 1.5), r), [A3, P3, N3]),
    *case("triplet_margin_p1_swap",
          lambda lib, a, p, n, r: fn_of(lib).triplet_margin_loss(a, p, n, margin=2.0, p=1, swap=True, reduction=r),
          lambda a, p, n, r: reduce_np(triplet_np(a, p, n, 2.0, 1, swap=True), r), [A3, P3, N3]),
    *case("triplet_with_distance",
          lambda lib, a, p, n, r: fn_of(lib).triplet_margin_with_distance_loss(
              a, p, n, distance_function=lambda u, v: ((u - v) ** 2).sum(-1), margin=3.0, reduction=r),
          lambda a, p, n, r: reduce_np(np.maximum(3.0 + ((a - p) ** 2).sum(-1) - ((a - n) ** 2).sum(-1), 0), r),
          [A3, P3, N3]),
    *case("multilabel_soft_margin",
          lambda lib, x, r: fn_of(lib).multilabel_soft_margin_loss(x, _t(lib, MULTI_LABEL), _t(lib, CLASS_W),
                                                                   reduction=r),
          lambda x, r: reduce_np((-(MULTI_LABEL * log_sigmoid_np(x) + (1 - MULTI_LABEL) * log_sigmoid_np(-x))
                                  * CLASS_W).mean(-1), r), [X]),
    *case("multi_margin",
          lambda lib, x, r: fn_of(lib).multi_margin_loss(x, _t(lib, TARGET), margin=0.7, reduction=r),
          lambda x, r: reduce_np(multi_margin_np(x, TARGET, 1, 0.7), r), [X]),
    *case("multi_margin_p2_weight",
          lambda lib, x, r: fn_of(lib).multi_margin_loss(x, _t(lib, TARGET), p=2, weight=_t(lib, CLASS_W),
                                                         reduction=r),
          lambda x, r: reduce_np(multi_margin_np(x, TARGET, 2, 1.0, CLASS_W), r), [X]),
    *case("multi_margin_1d", lambda lib, x, r: fn_of(lib).multi_margin_loss(x, _t(lib, 3), reduction=r),
          lambda x, r: reduce_np(multi_margin_np(x, np.array(3)), r), [X[0]]),
]


def _quiet(fn):
    """Runs ``fn`` with warnings silenced (kl_div's 'mean' warns)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn()


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("call,ref,floats", CASES)
def test_value_matches_numpy(call, ref, floats, dtype, monkeypatch):
    monkeypatch.setitem(_CONSTANTS, "dtype", dtype)
    ts = [rg.tensor(a, dtype=getattr(rg, dtype)) for a in floats]
    out = _quiet(lambda: call(rg, *ts))
    assert out.dtype == getattr(rg, dtype)
    expected = ref(*[np.asarray(a, dtype=dtype).astype(np.float64) for a in floats])
    assert_close(out, np.asarray(expected), rtol=1e-5 if dtype == "float32" else 1e-10,
                 atol=1e-6 if dtype == "float32" else 1e-12)


@pytest.mark.parametrize("call,ref,floats", CASES)
def test_gradient_matches_finite_differences(call, ref, floats):
    check_grads(lambda *ts: _quiet(lambda: call(rg, *ts)), floats, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("call,ref,floats", CASES)
def test_value_and_gradient_match_pytorch(torch, call, ref, floats):
    results = []
    for lib in (rg, torch):
        ts = [lib.tensor(a, requires_grad=True) for a in floats]
        out = _quiet(lambda: call(lib, *ts))
        weight = lib.tensor(np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape)))
        (out * weight).sum().backward()
        results.append([out.detach().numpy()] + [t.grad.numpy() for t in ts])
    for got, want in zip(*results):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------------------
# specific behaviours
# ---------------------------------------------------------------------------


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    x = rg.tensor(X, requires_grad=True)
    F.cross_entropy(x, rg.tensor(TARGET)).backward()
    p = np.exp(log_softmax_np(X, 1))
    p[np.arange(4), TARGET] -= 1
    assert_close(x.grad, p / 4)


@pytest.mark.skipif(REFERENCE is not None, reason="PyTorch has a fused NllLossBackward0")
def test_cross_entropy_records_log_softmax_and_gather():
    """Built from the core's ops, so the graph holds a gather of a log-softmax."""
    x = rg.tensor(X, requires_grad=True)
    out = F.cross_entropy(x, rg.tensor(TARGET), reduction="none")
    seen, stack = set(), [out.grad_fn]
    while stack:
        node = stack.pop()
        if node is not None:
            seen.add(type(node).__name__)
            stack.extend(f for f, _ in node.next_functions)
    assert {"GatherBackward0", "LogSoftmaxBackward0"} <= seen


def test_cross_entropy_large_batch():
    """A batch of 20000 x 10 (a loop over the samples would take seconds)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20000, 10))
    t = rng.integers(0, 10, 20000)
    xt = rg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, rg.tensor(t))
    loss.backward()
    assert abs(loss.item() - nll_np(log_softmax_np(x, 1), t)) < 1e-10
    assert xt.grad.shape == (20000, 10)


def test_nll_ignored_targets_give_zero_even_at_minus_inf():
    logp = rg.tensor([[-math.inf, 0.0], [0.0, -math.inf]], requires_grad=True)
    out = F.nll_loss(logp, rg.tensor([0, 0]), ignore_index=0, reduction="none")
    assert N(out).tolist() == [0.0, 0.0]
    out.sum().backward()
    assert N(logp.grad).tolist() == [[0.0, 0.0], [0.0, 0.0]]


@pytest.mark.parametrize("reduction,expected", [("mean", math.nan), ("sum", 0.0)])
def test_nll_all_ignored_or_empty(reduction, expected):
    for logp, target in [(rg.tensor(LOGP), rg.full((4,), -100)), (rg.zeros(0, 5), rg.zeros(0, dtype=rg.int64))]:
        out = F.nll_loss(logp, target, reduction=reduction)
        assert out.shape == () and (math.isnan(out.item()) if math.isnan(expected) else out.item() == expected)


def test_nll_uint8_target_and_one_element_target_of_1d_input():
    assert F.nll_loss(rg.tensor(LOGP), rg.tensor(TARGET).to(rg.uint8)).item() == pytest.approx(nll_np(LOGP, TARGET))
    out = F.nll_loss(rg.tensor(LOGP[0]), rg.tensor([2]), reduction="none")
    assert out.shape == () and out.item() == pytest.approx(-LOGP[0, 2])


def test_cross_entropy_negative_label_smoothing_is_ignored():
    x, t = rg.tensor(X), rg.tensor(TARGET)
    assert F.cross_entropy(x, t, label_smoothing=-0.5).item() == F.cross_entropy(x, t).item()


def test_cross_entropy_probs_empty_mean_is_nan():
    assert math.isnan(F.cross_entropy(rg.zeros(0, 5), rg.zeros(0, 5)).item())


def test_binary_cross_entropy_saturated_input():
    """log is clamped at -100, and the gradient stays finite: ATen's
    ``(x - t) / max(x (1 - x), 1e-12)`` (a saturated sigmoid still learns)."""
    x = rg.tensor([0.0, 1.0, 1.0, 0.5], requires_grad=True)
    t = rg.tensor([1.0, 0.0, 1.0, 0.5], requires_grad=True)
    out = F.binary_cross_entropy(x, t, reduction="none")
    assert N(out).tolist() == pytest.approx([100.0, 100.0, 0.0, math.log(2)])
    out.sum().backward()
    assert N(x.grad).tolist() == pytest.approx([-1e12, 1e12, 0.0, 0.0])
    assert N(t.grad).tolist()[:2] == [math.inf, -math.inf]  # ATen's unclamped log(1 - x) - log(x)


def test_binary_cross_entropy_weight_broadcasts():
    out = F.binary_cross_entropy(rg.tensor(UNIT), rg.tensor(UNIT_T), rg.tensor(CLASS_W[:, None][:1]), reduction="none")
    assert_close(out, bce_np(UNIT, UNIT_T, CLASS_W[0]))


def test_dtypes_of_weighted_results():
    """binary_cross_entropy reads its weight in the input's dtype; the
    probability form of cross_entropy promotes (it is composite in ATen)."""
    x32 = rg.tensor(UNIT, dtype=rg.float32)
    out = F.binary_cross_entropy(x32, rg.tensor(UNIT_T, dtype=rg.float32), weight=rg.tensor(CLASS_W))
    assert out.dtype == rg.float32
    assert out.item() == pytest.approx(bce_np(UNIT, UNIT_T, CLASS_W).mean(), rel=1e-5)
    out = F.cross_entropy(x32, rg.tensor(PROBS, dtype=rg.float32), weight=rg.tensor(CLASS_W))
    assert out.dtype == rg.float64


def test_kl_div_target_gradient_is_nan_at_zero_targets():
    """PyTorch's xlogy(t, t) derivative is NaN where t == 0 (t / t)."""
    t = rg.tensor([0.0, 0.5], requires_grad=True)
    F.kl_div(rg.tensor([-1.0, -2.0]), t, reduction="sum").backward()
    g = N(t.grad)
    assert math.isnan(g[0]) and g[1] == pytest.approx(math.log(0.5) + 1 + 2.0)


def test_gaussian_nll_var_gradient_passes_the_clamp():
    """var is clamped to eps outside autograd, so a var below eps still gets
    the gradient of the clamped value."""
    var = rg.tensor([1e-9, 2.0], dtype=rg.float64, requires_grad=True)
    F.gaussian_nll_loss(rg.zeros(2, dtype=rg.float64), rg.ones(2, dtype=rg.float64), var, reduction="sum").backward()
    v = np.array([1e-6, 2.0])
    np.testing.assert_allclose(N(var.grad), 0.5 * (1 / v - 1 / v ** 2), rtol=1e-12)


def test_losses_keep_higher_order_gradients():
    """Composed of differentiable ops: a Hessian-vector product works."""
    x = rg.tensor(X, requires_grad=True)
    loss = F.cross_entropy(x, rg.tensor(TARGET)) + F.huber_loss(x, rg.tensor(Y))
    (g,) = rg.autograd.grad(loss, x, create_graph=True)
    (hv,) = rg.autograd.grad((g * rg.tensor(W)).sum(), x)
    p = np.exp(log_softmax_np(X, 1))
    ce_hv = p * (W - (p * W).sum(1, keepdims=True)) / 4
    huber_hv = np.where(np.abs(X - Y) < 1, W, 0) / X.size
    assert_close(hv, ce_hv + huber_hv)


# ---------------------------------------------------------------------------
# errors and warnings (PyTorch's classes and texts)
# ---------------------------------------------------------------------------


def _x(lib):
    return lib.tensor(X)


ERRORS = [
    ("bad_reduction", lambda lib: fn_of(lib).mse_loss(_x(lib), _x(lib), reduction="foo"),
     ValueError, "foo is not a valid value for reduction"),
    ("bad_reduction_ce", lambda lib: fn_of(lib).cross_entropy(_x(lib), _t(lib, TARGET), reduction="bad"),
     ValueError, "bad is not a valid value for reduction"),
    ("bad_reduction_weighted", lambda lib: fn_of(lib).mse_loss(_x(lib), _x(lib), reduction="foo", weight=_x(lib)),
     ValueError, "Invalid reduction mode: foo. Expected one of 'none', 'mean', 'sum'."),
    ("weight_size", lambda lib: fn_of(lib).l1_loss(_x(lib), _x(lib), weight=_t(lib, CLASS_W)),
     ValueError, "Weights and input must have the same size."),
    ("no_broadcast", lambda lib: fn_of(lib).mse_loss(_x(lib), lib.zeros(4)), RuntimeError,
     "The size of tensor a (5) must match the size of tensor b (4) at non-singleton dimension 1"),
    ("smooth_l1_beta", lambda lib: fn_of(lib).smooth_l1_loss(_x(lib), _x(lib), beta=-1.0), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
    ("huber_delta", lambda lib: fn_of(lib).huber_loss(_x(lib), _x(lib), delta=0.0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    ("nll_out_of_bounds", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, [1, 5, 7, 0])), IndexError,
     "Target 5 is out of bounds."),
    ("nll_negative", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, [1, -2, 0, 0])), IndexError,
     "Target -2 is out of bounds."),
    ("ce_out_of_bounds_4d", lambda lib: fn_of(lib).cross_entropy(lib.tensor(X4), lib.full((2, 3, 2), 5)),
     IndexError, "Target 5 is out of bounds."),
    ("ce_smoothing_out_of_bounds",
     lambda lib: fn_of(lib).cross_entropy(_x(lib), _t(lib, [1, 5, 0, 0]), label_smoothing=0.1),
     IndexError, "Target 5 is out of bounds."),
    ("nll_float_target", lambda lib: fn_of(lib).nll_loss(_x(lib), lib.tensor([1.0, 0, 0, 0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    ("nll_int32_target", lambda lib: fn_of(lib).nll_loss(_x(lib), lib.tensor([1, 0, 0, 0], dtype=lib.int32)),
     RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
    ("nll_batch", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, [1, 0])), ValueError,
     "Expected input batch_size (4) to match target batch_size (2)."),
    ("nll_0d_input", lambda lib: fn_of(lib).nll_loss(lib.tensor(1.0), _t(lib, 0)), ValueError,
     "Expected 1 or more dimensions (got 0)"),
    ("nll_1d_long_target", lambda lib: fn_of(lib).nll_loss(lib.tensor(X[0]), _t(lib, [0, 1])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    ("nll_2d_target", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, [[1], [0], [0], [0]])), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    ("nll_weight", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(4)), RuntimeError,
     "weight tensor should be defined either for all 5 classes or no classes but got weight tensor of shape: [4]"),
    ("nll_3d_target", lambda lib: fn_of(lib).nll_loss(lib.randn(2, 3, 4), lib.zeros(2, 5, dtype=lib.int64)),
     RuntimeError, "Expected target size [2, 4], got [2, 5]"),
    ("nll_4d_target_dims", lambda lib: fn_of(lib).nll_loss(lib.randn(2, 3, 4, 4), lib.zeros(2, 5, dtype=lib.int64)),
     RuntimeError, "only batches of spatial targets supported (3D tensors) but got targets of dimension: 2"),
    ("nll_4d_target_size",
     lambda lib: fn_of(lib).nll_loss(lib.randn(2, 3, 4, 4), lib.zeros(2, 4, 5, dtype=lib.int64)),
     RuntimeError, "size mismatch (got input: [2, 3, 4, 4] , target: [2, 4, 5]"),
    ("nll_weight_requires_grad",
     lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(5, requires_grad=True)),
     RuntimeError, "The function 'nll_loss_forward' is not differentiable with respect to argument 'weight'. "
                   "This input cannot have requires_grad True."),
    ("ce_weight_requires_grad_4d",
     lambda lib: fn_of(lib).cross_entropy(lib.tensor(X4), lib.zeros(2, 3, 2, dtype=lib.int64),
                                          weight=lib.ones(5, requires_grad=True)),
     RuntimeError, "The function 'nll_loss2d_forward' is not differentiable with respect to argument 'weight'. "
                   "This input cannot have requires_grad True."),
    ("nll_weight_dtype", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(5)),
     RuntimeError, "expected scalar type Double but found Float"),
    ("ce_weight_dtype_3d",
     lambda lib: fn_of(lib).cross_entropy(lib.zeros(2, 5, 3), lib.zeros(2, 3, dtype=lib.int64),
                                          weight=lib.ones(5, dtype=lib.float64)),
     RuntimeError, "expected scalar type Float but found Double"),
    ("multi_margin_weight_dtype",
     lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(5, dtype=lib.int64)),
     RuntimeError, "expected scalar type Double but found Long"),
    ("ce_probs_long", lambda lib: fn_of(lib).cross_entropy(_x(lib), lib.ones(4, 5, dtype=lib.int64)), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    ("ce_probs_ignore_index", lambda lib: fn_of(lib).cross_entropy(_x(lib), lib.tensor(PROBS), ignore_index=1),
     RuntimeError, "ignore_index is not supported for floating point target"),
    ("ce_probs_weight", lambda lib: fn_of(lib).cross_entropy(_x(lib), lib.tensor(PROBS), weight=lib.ones(4)),
     RuntimeError, "cross_entropy: weight tensor should be defined either for all 5 classes or no classes but got "
                   "weight tensor of shape: [4]"),
    ("ce_smoothing_range", lambda lib: fn_of(lib).cross_entropy(_x(lib), _t(lib, TARGET), label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    ("ce_int_input", lambda lib: fn_of(lib).cross_entropy(lib.ones(4, 5, dtype=lib.int64), _t(lib, TARGET)),
     NotImplementedError, "\"log_softmax_lastdim_kernel_impl\" not implemented for 'Long'"),
    ("bce_size", lambda lib: fn_of(lib).binary_cross_entropy(lib.rand(3), lib.rand(3, 1)), ValueError,
     "Using a target size (torch.Size([3, 1])) that is different to the input size (torch.Size([3])) is deprecated. "
     "Please ensure they have the same size."),
    ("bce_input_range", lambda lib: fn_of(lib).binary_cross_entropy(lib.tensor([1.5]), lib.tensor([0.5])),
     RuntimeError, "all elements of input should be between 0 and 1"),
    ("bce_input_nan", lambda lib: fn_of(lib).binary_cross_entropy(lib.tensor([math.nan]), lib.tensor([0.5])),
     RuntimeError, "all elements of input should be between 0 and 1"),
    ("bce_target_range", lambda lib: fn_of(lib).binary_cross_entropy(lib.tensor([0.5]), lib.tensor([-0.5])),
     RuntimeError, "all elements of target should be between 0 and 1"),
    ("bce_dtype", lambda lib: fn_of(lib).binary_cross_entropy(lib.tensor([0.5]), lib.tensor([0.5], dtype=lib.float64)),
     RuntimeError, "Found dtype Double but expected Float"),
    ("bce_weight_broadcast",
     lambda lib: fn_of(lib).binary_cross_entropy(lib.rand(2, 3), lib.rand(2, 3), weight=lib.rand(2)), RuntimeError,
     "Attempting to broadcast a dimension of length 2 at -1! Mismatching argument at index 1 had torch.Size([2]); "
     "but expected shape should be broadcastable to [2, 3]"),
    ("bce_weight_too_big",
     lambda lib: fn_of(lib).binary_cross_entropy(lib.rand(2, 3), lib.rand(2, 3), weight=lib.rand(4, 2, 3)),
     RuntimeError, "output with shape [2, 3] doesn't match the broadcast shape [4, 2, 3]"),
    ("bce_weight_requires_grad",
     lambda lib: fn_of(lib).binary_cross_entropy(lib.rand(3), lib.rand(3), weight=lib.ones(3, requires_grad=True)),
     RuntimeError, "The function 'binary_cross_entropy' is not differentiable with respect to argument 'weight'. "
                   "This input cannot have requires_grad True."),
    ("bce_logits_size", lambda lib: fn_of(lib).binary_cross_entropy_with_logits(lib.rand(3), lib.rand(3, 1)),
     ValueError, "Target size (torch.Size([3, 1])) must be the same as input size (torch.Size([3]))"),
    ("bce_logits_pos_weight_requires_grad",
     lambda lib: fn_of(lib).binary_cross_entropy_with_logits(lib.rand(3), lib.rand(3),
                                                             pos_weight=lib.ones(3, requires_grad=True)),
     RuntimeError, "The function 'binary_cross_entropy_with_logits' is not differentiable with respect to argument "
                   "'pos_weight'. This input cannot have requires_grad True."),
    ("kl_div_bad_reduction", lambda lib: fn_of(lib).kl_div(_x(lib), _x(lib), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    ("kl_div_integer", lambda lib: fn_of(lib).kl_div(lib.randn(3), lib.ones(3, dtype=lib.int64), reduction="sum"),
     RuntimeError, "kl_div: Integral inputs not supported."),
    ("cosine_2d_target",
     lambda lib: fn_of(lib).cosine_embedding_loss(lib.randn(3, 4), lib.randn(3, 4), lib.ones(3, 1)),
     RuntimeError, "0D or 1D target tensor expected, multi-target not supported"),
    ("cosine_dims", lambda lib: fn_of(lib).cosine_embedding_loss(lib.randn(4), lib.randn(4), lib.ones(1)),
     RuntimeError, "1D target tensor expects 2D input tensors, but found inputs with sizes [4] and [4]."),
    ("cosine_0d_target_dims",
     lambda lib: fn_of(lib).cosine_embedding_loss(lib.randn(2, 4), lib.randn(2, 4), lib.tensor(1.0)),
     RuntimeError, "0D target tensor expects 1D input tensors, but found inputs with sizes [2, 4] and [2, 4]."),
    ("margin_ranking_dims",
     lambda lib: fn_of(lib).margin_ranking_loss(lib.zeros(3), lib.zeros(3), lib.ones(3, 1)), RuntimeError,
     "margin_ranking_loss : All input tensors should have same dimension but got sizes: input1: torch.Size([3]), "
     "input2: torch.Size([3]), target: torch.Size([3, 1]) "),
    ("soft_margin_shape", lambda lib: fn_of(lib).soft_margin_loss(lib.zeros(3), lib.ones(3, 1)), RuntimeError,
     "output with shape [3] doesn't match the broadcast shape [3, 3]"),
    ("soft_margin_target_requires_grad",
     lambda lib: fn_of(lib).soft_margin_loss(lib.zeros(3), lib.ones(3, requires_grad=True)), RuntimeError,
     "The function 'soft_margin_loss' is not differentiable with respect to argument 'target'. "
     "This input cannot have requires_grad True."),
    ("triplet_margin", lambda lib: fn_of(lib).triplet_margin_loss(_x(lib), _x(lib), _x(lib), margin=0),
     ValueError, "margin must be greater than 0, got 0"),
    ("triplet_dims", lambda lib: fn_of(lib).triplet_margin_loss(_x(lib), _x(lib), lib.zeros(5)), RuntimeError,
     "The anchor, positive, and negative tensors are expected to have the same number of dimensions, but got: "
     "anchor 2D, positive 2D, and negative 1D inputs"),
    ("triplet_distance_reduction",
     lambda lib: fn_of(lib).triplet_margin_with_distance_loss(_x(lib), _x(lib), _x(lib), reduction="foo"),
     ValueError, "foo is not a valid value for reduction"),
    ("gaussian_negative_var", lambda lib: fn_of(lib).gaussian_nll_loss(_x(lib), _x(lib), -1.0), ValueError,
     "var has negative entry/entries"),
    ("gaussian_negative_var_tensor",
     lambda lib: fn_of(lib).gaussian_nll_loss(_x(lib), _x(lib), -lib.ones(4, 5)), ValueError,
     "var has negative entry/entries"),
    ("gaussian_var_size", lambda lib: fn_of(lib).gaussian_nll_loss(_x(lib), _x(lib), lib.ones(2)), ValueError,
     "var is of incorrect size"),
    ("gaussian_reduction", lambda lib: fn_of(lib).gaussian_nll_loss(_x(lib), _x(lib), lib.ones(4, 5), reduction="x"),
     ValueError, "x is not valid"),
    ("poisson_reduction", lambda lib: fn_of(lib).poisson_nll_loss(_x(lib), _x(lib), reduction="foo"), ValueError,
     "foo is not a valid value for reduction"),
    ("multilabel_reduction", lambda lib: fn_of(lib).multilabel_soft_margin_loss(_x(lib), _x(lib), reduction="foo"),
     ValueError, "foo is not valid"),
    ("multi_margin_p", lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, TARGET), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    ("multi_margin_weight_dims",
     lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(1, 5)), ValueError,
     "weight must be one-dimensional"),
    ("multi_margin_weight_size",
     lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, TARGET), weight=lib.ones(4)), RuntimeError,
     "inconsistent weight size, expected 5 but got [4]"),
    ("multi_margin_out_of_range", lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, [1, 5, 0, 0])),
     RuntimeError, "target out of range"),
    ("multi_margin_target_size", lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, [1, 0])), RuntimeError,
     "multi_margin_loss: target tensor should be 1-D with size equal to the number of input samples (batch size). "
     "Expected target size [4], but got [2]. Input has shape [4, 5]."),
    ("multi_margin_3d", lambda lib: fn_of(lib).multi_margin_loss(lib.zeros(2, 5, 3), _t(lib, [1, 0])), RuntimeError,
     "Expected non-empty vector or matrix with optional 0-dim batch size, but got: [2, 5, 3]"),
    ("multi_margin_float_target", lambda lib: fn_of(lib).multi_margin_loss(_x(lib), lib.tensor([1.0, 0, 0, 0])),
     RuntimeError, "expected scalar type Long but found Float"),
]


@pytest.mark.parametrize("fn,exc,message", [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_error(fn, exc, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as info:
            fn(rg)
    assert str(info.value) == message


@pytest.mark.parametrize("fn,exc,message", [pytest.param(*e[1:], id=e[0]) for e in ERRORS])
def test_error_table_is_pytorchs(torch, fn, exc, message):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc) as info:
            fn(torch)
    assert str(info.value) == message


SIZE_WARNING = ("Using a target size (torch.Size([4])) that is different to the input size (torch.Size([4, 1])). "
                "This will likely lead to incorrect results due to broadcasting. Please ensure they have the same "
                "size.")
KL_WARNING = ("reduction: 'mean' divides the total loss by both the batch size and the support size."
              "'batchmean' divides only by the batch size, and aligns with the KL div math definition."
              "'mean' will be changed to behave the same as 'batchmean' in the next major release.")

WARNINGS = [
    ("mse_size", lambda lib: fn_of(lib).mse_loss(lib.zeros(4, 1), lib.zeros(4)), [SIZE_WARNING]),
    ("l1_size", lambda lib: fn_of(lib).l1_loss(lib.zeros(4, 1), lib.zeros(4)), [SIZE_WARNING]),
    ("smooth_l1_size", lambda lib: fn_of(lib).smooth_l1_loss(lib.zeros(4, 1), lib.zeros(4)), [SIZE_WARNING]),
    ("huber_size", lambda lib: fn_of(lib).huber_loss(lib.zeros(4, 1), lib.zeros(4)), [SIZE_WARNING]),
    ("size_then_legacy", lambda lib: fn_of(lib).mse_loss(lib.zeros(4, 1), lib.zeros(4), reduce=False),
     [SIZE_WARNING, "size_average and reduce args will be deprecated, please use reduction='none' instead."]),
    ("legacy_sum", lambda lib: fn_of(lib).nll_loss(_x(lib), _t(lib, TARGET), size_average=False),
     ["size_average and reduce args will be deprecated, please use reduction='sum' instead."]),
    ("legacy_mean", lambda lib: fn_of(lib).cross_entropy(_x(lib), _t(lib, TARGET), reduce=True),
     ["size_average and reduce args will be deprecated, please use reduction='mean' instead."]),
    ("kl_mean", lambda lib: fn_of(lib).kl_div(_x(lib), _x(lib)), [KL_WARNING]),
    ("kl_batchmean", lambda lib: fn_of(lib).kl_div(_x(lib), _x(lib), reduction="batchmean"), []),
    ("kl_legacy", lambda lib: fn_of(lib).kl_div(_x(lib), _x(lib), size_average=True),
     ["size_average and reduce args will be deprecated, please use reduction='mean' instead."]),
    ("elementwise_mean", lambda lib: fn_of(lib).mse_loss(_x(lib), _x(lib), reduction="elementwise_mean"),
     ["reduction='elementwise_mean' is deprecated. Please use reduction='mean' instead."]),
    ("same_size", lambda lib: fn_of(lib).mse_loss(_x(lib), _x(lib)), []),
]


def _warnings_of(fn, lib):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fn(lib)
    return [(w.category, str(w.message)) for w in caught]


@pytest.mark.parametrize("fn,messages", [pytest.param(*w[1:], id=w[0]) for w in WARNINGS])
def test_warning(fn, messages):
    assert _warnings_of(fn, rg) == [(UserWarning, m) for m in messages]


@pytest.mark.parametrize("fn,messages", [pytest.param(*w[1:], id=w[0]) for w in WARNINGS])
def test_warning_table_is_pytorchs(torch, fn, messages):
    assert _warnings_of(fn, torch) == [(UserWarning, m) for m in messages]


@pytest.mark.skipif(REFERENCE is not None, reason="checks where rustgrad's warning points")
def test_size_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.mse_loss(rg.zeros(4, 1), rg.zeros(4))
        F.smooth_l1_loss(rg.zeros(4, 1), rg.zeros(4))
    assert [w.filename for w in caught] == [__file__, __file__]


def test_weight_may_require_grad_outside_grad_mode():
    with rg.no_grad():
        out = F.nll_loss(rg.tensor(LOGP), rg.tensor(TARGET), weight=rg.ones(5, dtype=rg.float64, requires_grad=True))
    assert out.item() == pytest.approx(nll_np(LOGP, TARGET))


# ---------------------------------------------------------------------------
# modules
# ---------------------------------------------------------------------------

MODULES = [
    ("L1Loss", {}, lambda lib, m: m(_x(lib), lib.tensor(Y)), lambda lib: fn_of(lib).l1_loss(_x(lib), lib.tensor(Y))),
    ("MSELoss", {"reduction": "sum"}, lambda lib, m: m(_x(lib), lib.tensor(Y)),
     lambda lib: fn_of(lib).mse_loss(_x(lib), lib.tensor(Y), reduction="sum")),
    ("SmoothL1Loss", {"beta": 0.5}, lambda lib, m: m(_x(lib), lib.tensor(Y)),
     lambda lib: fn_of(lib).smooth_l1_loss(_x(lib), lib.tensor(Y), beta=0.5)),
    ("HuberLoss", {"delta": 0.7, "reduction": "none"}, lambda lib, m: m(_x(lib), lib.tensor(Y)),
     lambda lib: fn_of(lib).huber_loss(_x(lib), lib.tensor(Y), delta=0.7, reduction="none")),
    ("NLLLoss", {"ignore_index": 3}, lambda lib, m: m(lib.tensor(LOGP), _t(lib, TARGET_IGNORED)),
     lambda lib: fn_of(lib).nll_loss(lib.tensor(LOGP), _t(lib, TARGET_IGNORED), ignore_index=3)),
    ("CrossEntropyLoss", {"label_smoothing": 0.2}, lambda lib, m: m(_x(lib), _t(lib, TARGET)),
     lambda lib: fn_of(lib).cross_entropy(_x(lib), _t(lib, TARGET), label_smoothing=0.2)),
    ("BCELoss", {}, lambda lib, m: m(lib.tensor(UNIT), lib.tensor(UNIT_T)),
     lambda lib: fn_of(lib).binary_cross_entropy(lib.tensor(UNIT), lib.tensor(UNIT_T))),
    ("BCEWithLogitsLoss", {}, lambda lib, m: m(_x(lib), lib.tensor(UNIT_T)),
     lambda lib: fn_of(lib).binary_cross_entropy_with_logits(_x(lib), lib.tensor(UNIT_T))),
    ("KLDivLoss", {"reduction": "batchmean", "log_target": True},
     lambda lib, m: m(lib.tensor(LOGP), lib.tensor(LOGP[::-1].copy())),
     lambda lib: fn_of(lib).kl_div(lib.tensor(LOGP), lib.tensor(LOGP[::-1].copy()), reduction="batchmean",
                                   log_target=True)),
    ("PoissonNLLLoss", {"log_input": False}, lambda lib, m: m(lib.tensor(UNIT), lib.tensor(UNIT_T)),
     lambda lib: fn_of(lib).poisson_nll_loss(lib.tensor(UNIT), lib.tensor(UNIT_T), log_input=False)),
    ("GaussianNLLLoss", {"full": True}, lambda lib, m: m(_x(lib), lib.tensor(Y), lib.tensor(VAR)),
     lambda lib: fn_of(lib).gaussian_nll_loss(_x(lib), lib.tensor(Y), lib.tensor(VAR), full=True)),
    ("HingeEmbeddingLoss", {"margin": 0.5}, lambda lib, m: m(_x(lib), lib.tensor(HINGE_T)),
     lambda lib: fn_of(lib).hinge_embedding_loss(_x(lib), lib.tensor(HINGE_T), margin=0.5)),
    ("SoftMarginLoss", {}, lambda lib, m: m(_x(lib), lib.tensor(HINGE_T)),
     lambda lib: fn_of(lib).soft_margin_loss(_x(lib), lib.tensor(HINGE_T))),
    ("MultiLabelSoftMarginLoss", {}, lambda lib, m: m(_x(lib), lib.tensor(MULTI_LABEL)),
     lambda lib: fn_of(lib).multilabel_soft_margin_loss(_x(lib), lib.tensor(MULTI_LABEL))),
    ("CosineEmbeddingLoss", {"margin": 0.1},
     lambda lib, m: m(lib.tensor(COS_X1), lib.tensor(COS_X2), lib.tensor(SIGNS)),
     lambda lib: fn_of(lib).cosine_embedding_loss(lib.tensor(COS_X1), lib.tensor(COS_X2), lib.tensor(SIGNS),
                                                  margin=0.1)),
    ("MarginRankingLoss", {"margin": 0.3},
     lambda lib, m: m(lib.tensor(MARGIN_X1), lib.tensor(MARGIN_X2), lib.tensor(MARGIN_T)),
     lambda lib: fn_of(lib).margin_ranking_loss(lib.tensor(MARGIN_X1), lib.tensor(MARGIN_X2), lib.tensor(MARGIN_T),
                                                margin=0.3)),
    ("MultiMarginLoss", {"p": 2}, lambda lib, m: m(_x(lib), _t(lib, TARGET)),
     lambda lib: fn_of(lib).multi_margin_loss(_x(lib), _t(lib, TARGET), p=2)),
    ("TripletMarginLoss", {"swap": True}, lambda lib, m: m(lib.tensor(A3), lib.tensor(P3), lib.tensor(N3)),
     lambda lib: fn_of(lib).triplet_margin_loss(lib.tensor(A3), lib.tensor(P3), lib.tensor(N3), swap=True)),
    ("TripletMarginWithDistanceLoss", {"margin": 2.0},
     lambda lib, m: m(lib.tensor(A3), lib.tensor(P3), lib.tensor(N3)),
     lambda lib: fn_of(lib).triplet_margin_with_distance_loss(lib.tensor(A3), lib.tensor(P3), lib.tensor(N3),
                                                              margin=2.0)),
]


@pytest.mark.parametrize("name,kwargs,call,functional", [pytest.param(*m, id=m[0]) for m in MODULES])
def test_module_calls_its_functional(name, kwargs, call, functional):
    module = getattr(rg.nn, name)(**kwargs)
    assert isinstance(module, rg.nn.Module)
    got, want = _quiet(lambda: call(rg, module)), _quiet(lambda: functional(rg))
    assert_close(got, N(want))


@pytest.mark.parametrize("name,kwargs,call,functional", [pytest.param(*m, id=m[0]) for m in MODULES])
def test_module_matches_pytorch(torch, name, kwargs, call, functional):
    got = _quiet(lambda: call(rg, getattr(rg.nn, name)(**kwargs)))
    want = _quiet(lambda: call(torch, getattr(torch.nn, name)(**kwargs)))
    np.testing.assert_allclose(N(got), want.numpy(), rtol=1e-12, atol=1e-12)
    assert repr(getattr(rg.nn, name)(**kwargs)) == repr(getattr(torch.nn, name)(**kwargs))


@pytest.mark.parametrize("name", ["L1Loss", "MSELoss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "KLDivLoss"])
def test_module_repr(name):
    assert repr(getattr(rg.nn, name)()) == f"{name}()"


def test_triplet_with_distance_default_is_a_pairwise_distance_submodule():
    assert repr(rg.nn.TripletMarginWithDistanceLoss()) == (
        "TripletMarginWithDistanceLoss(\n  (distance_function): PairwiseDistance()\n)")


@pytest.mark.parametrize("name", ["CrossEntropyLoss", "NLLLoss", "BCELoss", "MultiLabelSoftMarginLoss",
                                  "MultiMarginLoss"])
def test_class_weight_is_a_buffer(name):
    w = rg.tensor(CLASS_W)
    module = getattr(rg.nn, name)(weight=w)
    assert module.weight is w
    assert list(module.state_dict()) == ["weight"]
    assert [b is w for b in module.buffers()] == [True]
    assert list(module.parameters()) == []
    assert list(getattr(rg.nn, name)().state_dict()) == []


def test_bce_with_logits_buffers():
    module = rg.nn.BCEWithLogitsLoss(weight=rg.ones(5), pos_weight=rg.full((5,), 2.0))
    assert list(module.state_dict()) == ["weight", "pos_weight"]
    module = module.double()
    assert module.weight.dtype == rg.float64 and module.pos_weight.dtype == rg.float64


def test_module_legacy_flags_set_reduction_once():
    with pytest.warns(UserWarning, match="please use reduction='none' instead"):
        module = rg.nn.MSELoss(size_average=False, reduce=False)
    assert module.reduction == "none"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert module(rg.zeros(2), rg.ones(2)).shape == (2,)
    with pytest.warns(UserWarning, match="reduction='sum'"):
        assert rg.nn.CrossEntropyLoss(size_average=False).reduction == "sum"


def test_module_reduction_is_checked_when_called():
    module = rg.nn.L1Loss(reduction="foo")
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        module(rg.zeros(2), rg.zeros(2))


@pytest.mark.parametrize("make,exc,message", [
    (lambda: rg.nn.HuberLoss(delta="1"), TypeError, "delta must be a float or int, got: <class 'str'>"),
    (lambda: rg.nn.MultiMarginLoss(p=3), ValueError, "only p == 1 and p == 2 supported"),
    (lambda: rg.nn.MultiMarginLoss(weight=rg.ones(1, 5)), ValueError,
     "MultiMarginLoss: expected weight to be None or 1D tensor, got 2D instead"),
    (lambda: rg.nn.TripletMarginLoss(margin=0.0), ValueError,
     "TripletMarginLoss: expected margin to be greater than 0, got 0.0 instead"),
    (lambda: rg.nn.TripletMarginWithDistanceLoss(margin=-1), ValueError,
     "TripletMarginWithDistanceLoss: expected margin to be greater than 0, got -1 instead"),
])
def test_module_constructor_errors(make, exc, message):
    with pytest.raises(exc) as info:
        make()
    assert str(info.value) == message


def test_nllloss2d_is_deprecated():
    with pytest.warns(FutureWarning, match="`NLLLoss2d` has been deprecated"):
        module = rg.nn.NLLLoss2d()
    assert isinstance(module, rg.nn.NLLLoss)


def test_module_gradient_flows_to_a_model():
    """A loss module at the end of a small model trains it: its gradient
    reaches the parameters (what a training loop relies on)."""
    w = rg.tensor(rand(20, (3, 5)), requires_grad=True)
    x = rg.tensor(rand(21, (4, 3)))
    loss = rg.nn.CrossEntropyLoss()(x @ w, rg.tensor(TARGET))
    loss.backward()
    p = np.exp(log_softmax_np(N(x) @ N(w), 1))
    p[np.arange(4), TARGET] -= 1
    assert_close(w.grad, N(x).T @ p / 4)
