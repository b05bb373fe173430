"""``torch.autograd.gradcheck`` / ``gradgradcheck``: True for every
differentiable op on float64 inputs (hypothesis-drawn shapes and values),
``GradcheckError`` for a wrong backward, ``raise_exception=False``, and the
float32 warning."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rustgrad as rg
from conftest import MATMUL_SHAPES, broadcast_pair, hsettings, rand_array, seeds, shapes

MISMATCH = "Jacobian mismatch for output 0 with respect to input 0,\nnumerical:"
NOT_DOUBLE = ("Input #0 requires gradient and is not a double precision floating point or complex. "
              "This check will likely fail if all the inputs are not of double precision floating point "
              "or complex. ")


def message(excinfo):
    return str(excinfo.value)


def gradcheck(*args, **kw):
    return rg.autograd.gradcheck(*args, **kw)


def gradgradcheck(*args, **kw):
    return rg.autograd.gradgradcheck(*args, **kw)


def GradcheckError():
    from rustgrad.autograd.gradcheck import GradcheckError as E
    return E


def leaf(a):
    return rg.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)


# ---------------------------------------------------------------------------
# every op: (function, value range / points to keep away from)
# ---------------------------------------------------------------------------

ANY = dict(low=-2.0, high=2.0)
POSITIVE = dict(low=0.5, high=2.0)
NO_KINK = dict(low=-2.0, high=2.0, avoid=[0.0], margin=0.1)

UNARY = {
    "neg": (lambda x: -x, ANY),
    "sin": (lambda x: x.sin(), ANY),
    "cos": (lambda x: x.cos(), ANY),
    "exp": (lambda x: x.exp(), ANY),
    "log": (lambda x: x.log(), POSITIVE),
    "log1p": (lambda x: x.log1p(), dict(low=-0.5, high=2.0)),
    "sqrt": (lambda x: x.sqrt(), POSITIVE),
    "tanh": (lambda x: x.tanh(), ANY),
    "sigmoid": (lambda x: x.sigmoid(), ANY),
    "relu": (lambda x: x.relu(), NO_KINK),
    "abs": (lambda x: x.abs(), NO_KINK),
    "sign": (lambda x: x.sign(), NO_KINK),
    "reciprocal": (lambda x: x.reciprocal(), POSITIVE),
    "pow2": (lambda x: x ** 2, ANY),
    "pow2.5": (lambda x: x ** 2.5, POSITIVE),
    "rpow": (lambda x: 2 ** x, ANY),
    "self_pow": (lambda x: x ** x, POSITIVE),
    "add_scalar": (lambda x: x + 1.5, ANY),
    "rsub_scalar": (lambda x: 1.5 - x, ANY),
    "mul_scalar": (lambda x: x * 3, ANY),
    "div_scalar": (lambda x: x / 3, ANY),
    "rdiv_scalar": (lambda x: 3 / x, POSITIVE),
    "sum": (lambda x: x.sum(), ANY),
    "sum_dim": (lambda x: x.sum(0), ANY),
    "sum_keepdim": (lambda x: x.sum(-1, keepdim=True), ANY),
    "mean": (lambda x: x.mean(), ANY),
    "norm": (lambda x: x.norm(), POSITIVE),
    "transpose": (lambda x: x.transpose(0, -1), ANY),
    "reshape": (lambda x: x.reshape(-1), ANY),
    "view": (lambda x: x.view(-1), ANY),
    "unsqueeze": (lambda x: x.unsqueeze(0), ANY),
    "squeeze": (lambda x: x.unsqueeze(1).squeeze(), ANY),
    "expand": (lambda x: x.expand(2, *x.shape), ANY),
    "flatten": (lambda x: x.flatten(), ANY),
    "clone": (lambda x: x.clone(), ANY),
    "contiguous": (lambda x: x.transpose(0, -1).contiguous(), ANY),
    "masked_fill": (lambda x: x.masked_fill(x > 0, 0.5), NO_KINK),
    "index": (lambda x: x[0], ANY),
    "slice": (lambda x: x[..., ::2], ANY),
    "newaxis": (lambda x: x[None, ..., None], ANY),
    "chain": (lambda x: (x.sin() * x.exp()).sum(-1), ANY),
}

SMOOTH = ["sin", "cos", "exp", "log", "log1p", "sqrt", "tanh", "sigmoid", "reciprocal", "pow2",
          "pow2.5", "rpow", "self_pow", "rdiv_scalar", "norm", "mean", "chain"]

BINARY = {
    "add": (lambda a, b: a + b, ANY, ANY),
    "sub": (lambda a, b: a - b, ANY, ANY),
    "mul": (lambda a, b: a * b, ANY, ANY),
    "div": (lambda a, b: a / b, ANY, POSITIVE),
    "pow": (lambda a, b: a ** b, POSITIVE, ANY),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@hsettings(max_examples=8)
@given(shape=shapes(min_dims=1, max_dims=3, max_side=3), seed=seeds)
def test_gradcheck_unary_ops(name, shape, seed):
    fn, domain = UNARY[name]
    x = leaf(rand_array(seed, shape, **domain))
    assert gradcheck(fn, (x,)) is True


@pytest.mark.parametrize("name", SMOOTH)
@hsettings(max_examples=4)
@given(shape=shapes(min_dims=1, max_dims=2, max_side=3), seed=seeds)
def test_gradgradcheck_smooth_ops(name, shape, seed):
    fn, domain = UNARY[name]
    x = leaf(rand_array(seed, shape, **domain))
    assert gradgradcheck(fn, (x,)) is True


@pytest.mark.parametrize("name", sorted(BINARY))
@hsettings(max_examples=8)
@given(pair=broadcast_pair(max_dims=3, max_side=3), seed=seeds)
def test_gradcheck_binary_ops_with_broadcasting(name, pair, seed):
    fn, dom_a, dom_b = BINARY[name]
    a = leaf(rand_array(seed, pair[0], **dom_a))
    b = leaf(rand_array(seed + 1, pair[1], **dom_b))
    assert gradcheck(fn, (a, b)) is True
    assert gradgradcheck(fn, (a, b)) is True


@pytest.mark.parametrize("shapes_", [s for s in MATMUL_SHAPES if 0 not in s[0] + s[1]], ids=str)
def test_gradcheck_matmul(shapes_):
    a = leaf(rand_array(0, shapes_[0]))
    b = leaf(rand_array(1, shapes_[1]))
    assert gradcheck(lambda a, b: a @ b, (a, b)) is True
    assert gradgradcheck(lambda a, b: a @ b, (a, b)) is True


def test_gradcheck_mm_and_t():
    a = leaf(rand_array(0, (2, 3)))
    b = leaf(rand_array(1, (2, 4)))
    assert gradcheck(lambda a, b: a.t().mm(b), (a, b)) is True


@hsettings(max_examples=10)
@given(seed=seeds, n=st.integers(1, 4))
def test_gradcheck_with_an_input_not_requiring_grad(seed, n):
    a = leaf(rand_array(seed, (n,)))
    c = rg.tensor(rand_array(seed + 1, (n,)))
    assert gradcheck(lambda a, c: a * c + c.exp(), (a, c)) is True


def test_gradcheck_accepts_a_single_tensor_and_several_outputs():
    x = leaf([0.3, 0.7])
    assert gradcheck(lambda x: x.sin(), x) is True
    assert gradcheck(lambda x: (x.sin(), x.exp()), (x,)) is True


def test_gradcheck_fast_mode():
    x = leaf([0.3, 0.7])
    assert gradcheck(lambda x: x.sin(), (x,), fast_mode=True) is True
    with pytest.raises(GradcheckError()) as e:
        gradcheck(_bad_square().apply, (x,), fast_mode=True)
    assert message(e).startswith("Jacobian mismatch for output 0 with respect to input 0,\nnumerical:")


# ---------------------------------------------------------------------------
# failures
# ---------------------------------------------------------------------------

def _bad_square():
    class BadSquare(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x                      # should be 2x

    return BadSquare


def _once_right_square():
    class DetachedSquare(rg.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 2 * x.detach()             # right value, not differentiable in x

    return DetachedSquare


def test_gradcheck_error_is_a_runtime_error():
    assert issubclass(GradcheckError(), RuntimeError)


def test_wrong_backward_raises_gradcheck_error():
    x = leaf([0.3, 0.7])
    with pytest.raises(GradcheckError()) as e:
        gradcheck(_bad_square().apply, (x,))
    text = message(e)
    assert text.startswith(MISMATCH)
    assert "\nanalytical:" in text


def test_wrong_backward_with_raise_exception_false():
    x = leaf([0.3, 0.7])
    assert gradcheck(_bad_square().apply, (x,), raise_exception=False) is False


def test_gradgradcheck_catches_a_non_differentiable_backward():
    x = leaf([0.3, 0.7])
    fn = _once_right_square().apply
    assert gradcheck(fn, (x,)) is True
    with pytest.raises(GradcheckError()) as e:
        gradgradcheck(fn, (x,))
    assert message(e).startswith(MISMATCH)
    assert gradgradcheck(fn, (x,), raise_exception=False) is False


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError) as e:
        gradcheck(lambda x: x * 2, (rg.ones(2, dtype=rg.float64),))
    assert message(e) == ("gradcheck expects at least one input tensor to require gradient, but none of "
                          "them have requires_grad=True.")


def test_float32_inputs_warn_and_fail():
    x = rg.tensor([0.3, 0.7], requires_grad=True)
    with pytest.warns(UserWarning, match="^" + NOT_DOUBLE.replace(".", r"\.")):
        assert gradcheck(lambda x: x * 2, (x,), raise_exception=False) is False
    with pytest.warns(UserWarning, match="^Input #0 requires gradient and is not a double"):
        with pytest.raises(GradcheckError()) as e:
            gradcheck(lambda x: x * 2, (x,))
    assert message(e).startswith(MISMATCH)
