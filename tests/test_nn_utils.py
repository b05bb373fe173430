"""nn.utils: gradient clipping (PyTorch's norm and clip coefficient
max_norm / (total_norm + 1e-6), clamped to 1) and the parameter <-> vector
conversions."""

import math
import types

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
from rustgrad.nn.utils import (clip_grad_norm, clip_grad_norm_, clip_grad_value_, clip_grads_with_norm_,
                               get_total_norm, parameters_to_vector, vector_to_parameters)

from conftest import REFERENCE, N, T, raises_same, rand_array


def params_with_grads(seed=0, scale=1.0, dtype="float32"):
    """Three parameters with known gradients and one without a gradient."""
    shapes = [(3, 4), (4,), (2, 2, 2)]
    params = [nn.Parameter(T(rand_array(seed + i, s, dtype))) for i, s in enumerate(shapes)]
    for i, p in enumerate(params):
        p.grad = T(rand_array(seed + 10 + i, tuple(p.shape), dtype) * scale)
    params.append(nn.Parameter(rg.ones(2)))  # no .grad: ignored
    return params


def np_total_norm(grads, p):
    flat = np.concatenate([g.ravel() for g in grads]).astype(np.float64)
    if p == math.inf:
        return np.abs(flat).max()
    if p == -math.inf:
        return min(np.abs(g).min() for g in grads)
    return (np.abs(flat) ** p).sum() ** (1 / p)


@pytest.mark.parametrize("norm_type", [2.0, 1, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    params = params_with_grads()
    before = [N(p.grad) for p in params[:3]]
    p = float(norm_type)
    expected_norm = np_total_norm(before, p)
    grads = [p_.grad for p_ in params[:3]]
    total = clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert isinstance(total, rg.Tensor) and total.shape == () and total.dtype == rg.float32
    np.testing.assert_allclose(total.item(), expected_norm, rtol=1e-5)
    coef = min(max_norm / (expected_norm + 1e-6), 1.0)
    for g_before, prm, g_handle in zip(before, params[:3], grads):
        np.testing.assert_allclose(N(prm.grad), g_before * coef, rtol=1e-5)
        np.testing.assert_allclose(N(g_handle), g_before * coef, rtol=1e-5)  # scaled in place
    if coef < 1:
        np.testing.assert_allclose(get_total_norm([q.grad for q in params[:3]], norm_type).item(), max_norm,
                                   rtol=1e-4)
    assert params[3].grad is None


def test_clip_grad_norm_single_tensor_and_generator():
    p = nn.Parameter(rg.zeros(2))
    p.grad = rg.tensor([3.0, 4.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    np.testing.assert_allclose(N(p.grad), [3.0 / (5 + 1e-6), 4.0 / (5 + 1e-6)], rtol=1e-6)
    lin = nn.Linear(2, 2)
    lin(rg.ones(1, 2)).sum().backward()
    expected = np_total_norm([N(q.grad) for q in lin.parameters()], 2.0)
    total = clip_grad_norm_(lin.parameters(), 0.1)  # a generator
    np.testing.assert_allclose(total.item(), expected, rtol=1e-5)
    after = np_total_norm([N(q.grad) for q in lin.parameters()], 2.0)
    np.testing.assert_allclose(after, 0.1, rtol=1e-4)


def test_clip_grad_norm_empty_inputs():
    assert clip_grad_norm_([], 1.0).item() == 0.0
    with pytest.warns(UserWarning, match="^`parameters` is an empty generator, no gradient clipping will occur.$"):
        assert clip_grad_norm_((p for p in []), 1.0).item() == 0.0
    assert get_total_norm([]).item() == 0.0


def test_clip_grad_norm_nonfinite():
    p = nn.Parameter(rg.zeros(2))
    p.grad = rg.tensor([1.0, math.inf])
    with pytest.raises(RuntimeError, match=r"^The total norm of order 2.0 for gradients from `parameters` is "
                                           r"non-finite, so it cannot be clipped. To disable this error and scale "
                                           r"the gradients by the non-finite norm anyway, set "
                                           r"`error_if_nonfinite=False`$"):
        clip_grad_norm_(p, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(p, 1.0).item())


def test_clip_grad_norm_float64_and_zero():
    params = params_with_grads(dtype="float64")
    expected = np_total_norm([N(q.grad) for q in params[:3]], 2.0)
    total = clip_grad_norm_(params, 0.1)
    assert total.dtype == rg.float64
    np.testing.assert_allclose(total.item(), expected, rtol=1e-12)
    z = nn.Parameter(rg.zeros(3))
    z.grad = rg.zeros(3)
    assert clip_grad_norm_(z, 1.0).item() == 0.0 and N(z.grad).tolist() == [0.0, 0.0, 0.0]


def test_deprecated_clip_grad_norm():
    params = params_with_grads()
    with pytest.warns(FutureWarning, match="clip_grad_norm` is now deprecated"):
        clip_grad_norm(params, 1.0)


def test_get_total_norm_and_clip_grads_with_norm():
    params = params_with_grads(scale=3.0)
    before = [N(q.grad) for q in params[:3]]
    total = get_total_norm([q.grad for q in params[:3]], 2.0)
    np.testing.assert_allclose(total.item(), np_total_norm(before, 2.0), rtol=1e-5)
    assert clip_grads_with_norm_(params, 2.0, total) is None
    coef = 2.0 / (total.item() + 1e-6)
    for b, q in zip(before, params[:3]):
        np.testing.assert_allclose(N(q.grad), b * coef, rtol=1e-5)


def test_clip_grad_value():
    params = params_with_grads(scale=2.0)
    before = [N(q.grad) for q in params[:3]]
    assert clip_grad_value_(params, 0.5) is None
    for b, q in zip(before, params[:3]):
        np.testing.assert_array_equal(N(q.grad), np.clip(b, -0.5, 0.5))
    assert params[3].grad is None
    single = nn.Parameter(rg.zeros(2))
    single.grad = rg.tensor([-3.0, 0.25])
    clip_grad_value_(single, 1)
    assert N(single.grad).tolist() == [-1.0, 0.25]


def test_clipping_does_not_record_graph():
    params = params_with_grads()
    clip_grad_norm_(params, 0.1)
    clip_grad_value_(params, 0.01)
    assert all(q.grad.grad_fn is None and not q.grad.requires_grad for q in params[:3])


def test_parameters_to_vector_and_back():
    lin = nn.Linear(3, 2)
    vec = parameters_to_vector(lin.parameters())
    assert vec.shape == (8,)
    np.testing.assert_array_equal(N(vec), np.concatenate([N(lin.weight).ravel(), N(lin.bias)]))
    vec.sum().backward()  # differentiable, like torch.cat
    np.testing.assert_array_equal(N(lin.weight.grad), np.ones((2, 3)))
    new = rg.arange(8, dtype=rg.float32)
    weight = lin.weight
    vector_to_parameters(new, lin.parameters())
    assert lin.weight is weight and isinstance(weight, nn.Parameter) and weight.requires_grad
    np.testing.assert_array_equal(N(lin.weight), np.arange(6).reshape(2, 3))
    np.testing.assert_array_equal(N(lin.bias), [6.0, 7.0])
    with rg.no_grad():
        new[0] = 100.0
    assert lin.weight[0, 0].item() == 100.0  # the parameters alias the vector


def test_vector_to_parameters_type_error():
    with pytest.raises(TypeError, match="^expected torch.Tensor, but got: list$"):
        vector_to_parameters([1.0], nn.Linear(1, 1).parameters())


def test_module_exports():
    import rustgrad.nn.utils as utils

    for name in ("clip_grad_norm_", "clip_grad_value_", "get_total_norm", "clip_grads_with_norm_",
                 "parameters_to_vector", "vector_to_parameters"):
        assert name in utils.__all__ and isinstance(getattr(utils, name), types.FunctionType)


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("norm_type", [2.0, 1.0, math.inf, 0.5])
def test_clipping_matches_pytorch(torch, norm_type):
    mine = params_with_grads(seed=3)[:3]
    ref = [torch.nn.Parameter(torch.tensor(N(q))) for q in mine]
    for q, r in zip(mine, ref):
        r.grad = torch.tensor(N(q.grad))
    total_m = clip_grad_norm_(mine, 0.7, norm_type)
    total_r = torch.nn.utils.clip_grad_norm_(ref, 0.7, norm_type)
    np.testing.assert_allclose(total_m.item(), total_r.item(), rtol=1e-6)
    for q, r in zip(mine, ref):
        np.testing.assert_allclose(N(q.grad), r.grad.numpy(), rtol=1e-6, atol=1e-7)
    clip_grad_value_(mine, 0.05)
    torch.nn.utils.clip_grad_value_(ref, 0.05)
    for q, r in zip(mine, ref):
        np.testing.assert_array_equal(N(q.grad), r.grad.numpy())


def test_errors_match_pytorch(torch):
    def nonfinite(lib):
        p = lib.nn.Parameter(lib.zeros(2))
        p.grad = lib.tensor([1.0, float("nan")])
        return lib.nn.utils.clip_grad_norm_(p, 1.0, norm_type=3, error_if_nonfinite=True)

    r = raises_same(lambda: nonfinite(rg), lambda: nonfinite(torch))
    assert r[0] == r[1] and r[0][0] == "RuntimeError"
    r = raises_same(lambda: rg.nn.utils.vector_to_parameters((1,), []),
                    lambda: torch.nn.utils.vector_to_parameters((1,), []))
    assert r[0] == r[1]


# ---------------------------------------------------------------------------
# the helpers nn and optim share (rustgrad._utils, nn.modules.utils)
# ---------------------------------------------------------------------------


def test_typename_matches_pytorch(torch):
    """One ``typename`` (torch.typename's rules) names the objects in nn's
    and optim's TypeErrors."""
    if REFERENCE:
        pytest.skip("rustgrad's own helper")
    from rustgrad._utils import typename

    def function():
        pass

    plain = [1, "s", None, [1], int, function, math.sqrt, types.SimpleNamespace(), types.SimpleNamespace]
    for obj in plain:
        assert typename(obj) == torch.typename(obj)
    for make in (lambda lib: lib.ones(2), lambda lib: lib.ones(2, dtype=lib.int64), lambda lib: lib.nn.Linear,
                 lambda lib: lib.nn.Linear(2, 2), lambda lib: lib.nn.Linear(2, 2).weight, lambda lib: lib.optim.SGD):
        assert typename(make(rg)).replace("rustgrad", "torch") == torch.typename(make(torch))
    r = raises_same(lambda: rg.optim.SGD(rg.ones(2), 0.1), lambda: torch.optim.SGD(torch.ones(2), 0.1))
    assert r[0] == r[1]


def test_ntuple_parsers_match_pytorch(torch):
    """``nn.modules.utils`` has PyTorch's parsers, and ``nn.utils`` stays
    the package of clipping and conversions (``from .modules import *`` in
    ``nn`` must not export the ``modules.utils`` submodule over it)."""
    from rustgrad.nn.modules import utils as ours
    from torch.nn.modules import utils as theirs

    for name in ("_single", "_pair", "_triple", "_quadruple"):
        for value in (3, (1, 2), [4], "ab", range(3)):
            assert getattr(ours, name)(value) == getattr(theirs, name)(value)
    assert ours._ntuple(6)(1) == theirs._ntuple(6)(1)
    assert ours._reverse_repeat_tuple((1, 2), 2) == theirs._reverse_repeat_tuple((1, 2), 2)
    assert nn.utils.clip_grad_norm_ is clip_grad_norm_ and not hasattr(nn, "conv")


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
@pytest.mark.parametrize("owner", ["module", "optimizer"])
def test_zero_grad_in_place_detaches_a_gradient_that_has_a_graph(owner):
    """``Module.zero_grad`` and ``Optimizer.zero_grad`` (one helper): with
    ``set_to_none=False`` a gradient made with ``create_graph=True`` is
    detached, then zeroed in place; the default sets it to None."""
    lin = nn.Linear(2, 1)
    reset = lin.zero_grad if owner == "module" else rg.optim.SGD(lin.parameters(), 0.1).zero_grad
    (lin(rg.ones(1, 2)) ** 2).sum().backward(create_graph=True)
    grad = lin.weight.grad
    assert grad.grad_fn is not None
    reset(set_to_none=False)
    assert lin.weight.grad is grad and grad.grad_fn is None and not grad.requires_grad
    assert N(grad).tolist() == [[0.0, 0.0]]
    reset()
    assert lin.weight.grad is None and lin.bias.grad is None
