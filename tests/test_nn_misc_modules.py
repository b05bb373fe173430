"""``InstanceNorm1d/2d/3d``, ``Fold``/``Unfold`` and
``PixelShuffle``/``PixelUnshuffle`` (with ``F.pixel_shuffle`` and
``F.pixel_unshuffle``): values against NumPy, gradients against finite
differences, and, with PyTorch, values, reprs and errors against it."""

import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
import rustgrad.nn.functional as F
from conftest import N, T, assert_close, check_grads, raises_same


def _x(shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------------------
# InstanceNorm
# ---------------------------------------------------------------------------

NORMS = [(nn.InstanceNorm1d, (2, 3, 5)), (nn.InstanceNorm2d, (2, 3, 4, 3)), (nn.InstanceNorm3d, (2, 3, 2, 3, 2))]


@pytest.mark.parametrize("cls,shape", NORMS)
def test_instance_norm_values(cls, shape):
    x = _x(shape)
    axes = tuple(range(2, len(shape)))
    want = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + 1e-5)
    module = cls(3)
    assert module.weight is None and module.running_mean is None
    assert_close(module(T(x)), want)
    assert_close(module(T(x[0])), want[0])  # unbatched


def test_instance_norm_affine_tracking_and_gradient():
    module = nn.InstanceNorm1d(3, affine=True, track_running_stats=True, dtype=rg.float64)
    x = _x((2, 3, 4))
    module(T(x))
    assert_close(module.running_mean, 0.1 * x.mean(2).mean(0))
    module.eval()
    rm, rv = N(module.running_mean), N(module.running_var)
    assert_close(module(T(x)), (x - rm[:, None]) / np.sqrt(rv[:, None] + 1e-5))
    module.train()
    check_grads(lambda t: nn.InstanceNorm1d(3)(t) * T(x), [x])


@pytest.mark.parametrize("cls,shape,message", [
    (nn.InstanceNorm1d, (2, 3, 4, 5), "expected 2D or 3D input (got 4D input)"),
    (nn.InstanceNorm2d, (2, 3), "expected 3D or 4D input (got 2D input)"),
    (nn.InstanceNorm3d, (2, 3, 4), "expected 4D or 5D input (got 3D input)"),
])
def test_instance_norm_dim_errors(cls, shape, message):
    with pytest.raises(ValueError) as info:
        cls(3)(rg.ones(*shape))
    assert str(info.value) == message


def test_instance_norm_num_features_mismatch():
    with pytest.raises(ValueError, match=r"expected input's size at dim=1 to match num_features \(4\), but got: 3."):
        nn.InstanceNorm1d(4, affine=True)(rg.ones(2, 3, 5))
    with pytest.warns(UserWarning, match="input's size at dim=0 does not match num_features"):
        nn.InstanceNorm2d(4)(T(_x((3, 2, 2))))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm2d(3)(T(_x((3, 2, 2))))


def test_instance_norm_repr():
    # ``bias`` reports whether there is a bias parameter, so it is False without ``affine``
    assert repr(nn.InstanceNorm2d(3)) == \
        "InstanceNorm2d(3, eps=1e-05, momentum=0.1, affine=False, bias=False, track_running_stats=False)"
    module = nn.InstanceNorm1d(3, affine=True, bias=False)
    assert module.bias is None and "affine=True, bias=False" in repr(module)


# ---------------------------------------------------------------------------
# Fold / Unfold
# ---------------------------------------------------------------------------


def test_fold_unfold_modules():
    x = _x((1, 2, 4, 4))
    unfold = nn.Unfold(kernel_size=2, stride=2)
    cols = unfold(T(x))
    want = x.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 3, 5, 2, 4).reshape(1, 8, 4)
    assert_close(cols, want)
    assert_close(nn.Fold(output_size=(4, 4), kernel_size=2, stride=2)(cols), x)  # no overlap: exact inverse
    check_grads(lambda t: nn.Fold((3, 3), 2)(t), [_x((2, 8, 4))])
    assert repr(unfold) == "Unfold(kernel_size=2, dilation=1, padding=0, stride=2)"
    assert repr(nn.Fold((4, 5), (2, 2), padding=1)) == \
        "Fold(output_size=(4, 5), kernel_size=(2, 2), dilation=1, padding=1, stride=1)"


# ---------------------------------------------------------------------------
# PixelShuffle / PixelUnshuffle
# ---------------------------------------------------------------------------


def np_pixel_shuffle(x, r):
    *b, c, h, w = x.shape
    y = x.reshape(*b, c // (r * r), r, r, h, w)
    out = np.empty((*b, c // (r * r), h * r, w * r))
    for i in range(r):
        for j in range(r):
            out[..., i::r, j::r] = y[..., i, j, :, :]
    return out


@pytest.mark.parametrize("shape,r", [((1, 8, 2, 3), 2), ((2, 2, 9, 1, 2), 3), ((4, 2, 2), 2), ((3, 1, 1), 1)])
def test_pixel_shuffle_round_trip(shape, r):
    x = _x(shape)
    y = nn.PixelShuffle(r)(T(x))
    assert_close(y, np_pixel_shuffle(x, r))
    assert_close(nn.PixelUnshuffle(r)(y), x)
    check_grads(lambda t: F.pixel_shuffle(t, r) * T(np_pixel_shuffle(x, r)), [x])


def test_pixel_shuffle_reprs_and_errors():
    assert repr(nn.PixelShuffle(3)) == "PixelShuffle(upscale_factor=3)"
    assert repr(nn.PixelUnshuffle(2)) == "PixelUnshuffle(downscale_factor=2)"
    cases = [
        (lambda: F.pixel_shuffle(rg.zeros(2, 3, 4), 2),
         "pixel_shuffle expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
         "but input.size(-3)=2 is not divisible by 4"),
        (lambda: F.pixel_unshuffle(rg.zeros(2, 3, 4), 3),
         "pixel_unshuffle expects width to be divisible by downscale_factor, but input.size(-1)=4 is not divisible "
         "by 3"),
        (lambda: F.pixel_unshuffle(rg.zeros(2, 3, 4), 2),
         "pixel_unshuffle expects height to be divisible by downscale_factor, but input.size(-2)=3 is not "
         "divisible by 2"),
        (lambda: F.pixel_shuffle(rg.zeros(4), 2),
         "pixel_shuffle expects input to have at least 3 dimensions, but got input with 1 dimension(s)"),
        (lambda: F.pixel_shuffle(rg.zeros(1, 4, 2, 2), 0),
         "pixel_shuffle expects a positive upscale_factor, but got 0"),
    ]
    for call, message in cases:
        with pytest.raises(RuntimeError) as info:
            call()
        assert str(info.value) == message


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def test_match_torch(torch):
    x = _x((2, 8, 4, 6))
    pairs = [
        (nn.InstanceNorm2d(8), torch.nn.InstanceNorm2d(8)),
        (nn.InstanceNorm2d(8, affine=True, track_running_stats=True),
         torch.nn.InstanceNorm2d(8, affine=True, track_running_stats=True)),
        (nn.Unfold(3, dilation=1, padding=1, stride=2), torch.nn.Unfold(3, dilation=1, padding=1, stride=2)),
        (nn.PixelShuffle(2), torch.nn.PixelShuffle(2)),
        (nn.PixelUnshuffle(2), torch.nn.PixelUnshuffle(2)),
    ]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)
        a, b = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = ours.double()(a), theirs.double()(b)
        assert_close(ya, yb.detach().numpy(), rtol=1e-10, atol=1e-10)
        w = _x(tuple(yb.shape), seed=1)
        (ya * T(w)).sum().backward()
        (yb * torch.tensor(w)).sum().backward()
        assert_close(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-10)
    fold, tfold = nn.Fold((5, 4), 2), torch.nn.Fold((5, 4), 2)
    assert repr(fold) == repr(tfold)
    cols = _x((2, 12, 12))
    assert_close(fold(T(cols)), tfold(torch.tensor(cols)).numpy())
    for make in (lambda lib: lib.nn.InstanceNorm1d(3)(lib.ones(2, 3, 4, 5)),
                 lambda lib: lib.nn.functional.pixel_unshuffle(lib.zeros(2, 3, 4), 2),
                 lambda lib: lib.nn.functional.pixel_shuffle(lib.zeros(1, 4, 2, 2), -1)):
        got, want = raises_same(lambda: make(rg), lambda: make(torch))
        assert got == want and got[0] is not None
