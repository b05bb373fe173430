"""``torch.autograd.Function``: custom forward/backward, ``ctx`` features
(``save_for_backward``, ``needs_input_grad``, ``mark_dirty``,
``mark_non_differentiable``, ``set_materialize_grads``), ``setup_context``,
``once_differentiable``, double backward, and PyTorch's errors."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)
HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def message(excinfo):
    return str(excinfo.value)


def make_legendre(base):
    """PyTorch's tutorial example, P3(x) = 0.5 (5x^3 - 3x), as a subclass of
    ``base`` (rustgrad's or torch's Function)."""

    class LegendrePolynomial3(base):
        @staticmethod
        def forward(ctx, input):
            ctx.save_for_backward(input)
            return 0.5 * (5 * input ** 3 - 3 * input)

        @staticmethod
        def backward(ctx, grad_output):
            (input,) = ctx.saved_tensors
            return grad_output * 1.5 * (5 * input ** 2 - 1)

    return LegendrePolynomial3


@pytest.fixture
def Function():
    return rg.autograd.Function


@pytest.fixture
def P3(Function):
    return make_legendre(Function)


# ---------------------------------------------------------------------------
# the tutorial function
# ---------------------------------------------------------------------------

def test_legendre_forward_backward_by_hand(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    y = P3.apply(x)
    assert N(y).tolist() == [-0.4375, 17.0]             # 0.5 (5x^3 - 3x)
    y.sum().backward()
    assert N(x.grad).tolist() == [0.375, 28.5]          # 1.5 (5x^2 - 1)


def test_grad_fn_is_named_after_the_class(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    y = P3.apply(x)
    assert type(y.grad_fn).__name__ == "LegendrePolynomial3Backward"
    assert y.grad_fn.name() == "LegendrePolynomial3Backward"
    assert isinstance(y.grad_fn, rg.autograd.graph.Node)
    assert y.grad_fn.next_functions[0][0].variable is x


def _train_legendre(m, P3, steps, dtype):
    """The tutorial's training loop (fewer points and steps)."""
    x = m.linspace(-np.pi, np.pi, 200, dtype=dtype)
    y = x.sin()
    a = m.full((), 0.0, dtype=dtype, requires_grad=True)
    b = m.full((), -1.0, dtype=dtype, requires_grad=True)
    c = m.full((), 0.0, dtype=dtype, requires_grad=True)
    d = m.full((), 0.3, dtype=dtype, requires_grad=True)
    lr = 5e-6
    losses = []
    for _ in range(steps):
        y_pred = a + b * P3.apply(c + d * x)
        loss = ((y_pred - y) ** 2).sum()
        losses.append(loss.item())
        loss.backward()
        with m.no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return losses, [p.item() for p in (a, b, c, d)]


def _train_legendre_numpy(steps):
    x = np.linspace(-np.pi, np.pi, 200)
    y = np.sin(x)
    a, b, c, d = 0.0, -1.0, 0.0, 0.3
    lr = 5e-6
    losses = []
    for _ in range(steps):
        z = c + d * x
        p3 = 0.5 * (5 * z ** 3 - 3 * z)
        r = a + b * p3 - y
        losses.append(float((r ** 2).sum()))
        g = 2 * r
        gz = g * b * 1.5 * (5 * z ** 2 - 1)
        a, b, c, d = (a - lr * g.sum(), b - lr * (g * p3).sum(), c - lr * gz.sum(), d - lr * (gz * x).sum())
    return losses, [a, b, c, d]


def test_legendre_training_steps_match_numpy(P3):
    losses, params = _train_legendre(rg, P3, 5, rg.float64)
    ref_losses, ref_params = _train_legendre_numpy(5)
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    np.testing.assert_allclose(params, ref_params, rtol=1e-10, atol=1e-14)
    assert losses[-1] < losses[0]


def test_legendre_training_matches_torch(torch, P3):
    mine = _train_legendre(rg, P3, 10, rg.float32)
    ref = _train_legendre(torch, make_legendre(torch.autograd.Function), 10, torch.float32)
    np.testing.assert_allclose(mine[0], ref[0], rtol=1e-5)
    np.testing.assert_allclose(mine[1], ref[1], rtol=1e-5, atol=1e-7)


# ---------------------------------------------------------------------------
# saved tensors
# ---------------------------------------------------------------------------

def test_saved_tensor_modified_in_place_raises(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    h = x * 1
    y = P3.apply(h)
    h.add_(1)
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == ("one of the variables needed for gradient computation has been modified by an "
                          "inplace operation: [torch.FloatTensor [2]], which is output 0 of Add, is at "
                          f"version 1; expected version 0 instead. {HINT}")


def test_saved_output_modified_in_place_raises(Function):
    class MyExp(Function):
        @staticmethod
        def forward(ctx, x):
            out = x.exp()
            ctx.save_for_backward(out)
            return out

        @staticmethod
        def backward(ctx, g):
            (out,) = ctx.saved_tensors
            return g * out

    x = rg.tensor([0.0, 1.0], requires_grad=True)
    y = MyExp.apply(x)
    y.mul_(2)
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == ("one of the variables needed for gradient computation has been modified by an "
                          "inplace operation: [torch.FloatTensor [2]], which is output 0 of MyExp, is at "
                          f"version 1; expected version 0 instead. {HINT}")


def test_saved_tensors_are_freed_after_backward(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    y = P3.apply(x)
    y.sum().backward()
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == FREED
    with pytest.raises(RuntimeError) as e:
        y.grad_fn.saved_tensors
    assert message(e) == FREED


def test_saved_tensors_kept_with_retain_graph(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    y = P3.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    assert N(x.grad).tolist() == [0.75, 57.0]


def test_saved_tensors_readable_from_the_node(P3):
    x = rg.tensor([0.5, 2.0], requires_grad=True)
    y = P3.apply(x)
    saved = y.grad_fn.saved_tensors
    assert type(saved) is tuple and len(saved) == 1
    assert saved[0] is x


def test_save_intermediate_and_none(Function):
    seen = []

    class SI(Function):
        @staticmethod
        def forward(ctx, x):
            e = x.exp()
            ctx.save_for_backward(e, None)
            return e * 2

        @staticmethod
        def backward(ctx, g):
            e, nothing = ctx.saved_tensors
            seen.append(nothing)
            return g * 2 * e

    x = rg.tensor([0.0, 1.0], dtype=rg.float64, requires_grad=True)
    SI.apply(x).sum().backward()
    np.testing.assert_allclose(N(x.grad), 2 * np.exp([0.0, 1.0]), rtol=1e-12)
    assert seen == [None]


def test_save_for_backward_rejects_non_tensors(Function):
    class SN(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x, 3)
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2

    with pytest.raises(TypeError) as e:
        SN.apply(rg.ones(2, requires_grad=True))
    assert message(e) == "save_for_backward can only save variables, but argument 1 is of type int"


# ---------------------------------------------------------------------------
# needs_input_grad, non-tensor arguments, grad mode
# ---------------------------------------------------------------------------

@pytest.fixture
def ScaleAdd(Function):
    class ScaleAdd(Function):
        log = []

        @staticmethod
        def forward(ctx, a, k, b):
            ScaleAdd.log.append(("forward", ctx.needs_input_grad, rg.is_grad_enabled()))
            ctx.k = k
            return a * k + b

        @staticmethod
        def backward(ctx, g):
            ScaleAdd.log.append(("backward", ctx.needs_input_grad, rg.is_grad_enabled()))
            return (g * ctx.k if ctx.needs_input_grad[0] else None, None,
                    g if ctx.needs_input_grad[2] else None)

    return ScaleAdd


def test_needs_input_grad_and_non_tensor_arguments(ScaleAdd):
    a = rg.ones(2, requires_grad=True)
    b = rg.ones(2)
    y = ScaleAdd.apply(a, 3.0, b)
    assert y.requires_grad
    y.sum().backward()
    assert N(a.grad).tolist() == [3.0, 3.0]
    assert ScaleAdd.log == [("forward", (True, False, False), False),
                            ("backward", (True, False, False), False)]


def test_function_without_inputs_requiring_grad(ScaleAdd):
    y = ScaleAdd.apply(rg.ones(2), 3.0, rg.ones(2))
    assert not y.requires_grad and y.grad_fn is None
    assert ScaleAdd.log == [("forward", (False, False, False), False)]


def test_function_under_no_grad(ScaleAdd):
    with rg.no_grad():
        y = ScaleAdd.apply(rg.ones(2, requires_grad=True), 3.0, rg.ones(2))
    assert not y.requires_grad and y.grad_fn is None


def test_gradient_for_input_not_requiring_grad_is_dropped(Function):
    class NR(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g, g

    a = rg.ones(2, requires_grad=True)
    b = rg.ones(2)
    NR.apply(a, b).sum().backward()
    assert N(a.grad).tolist() == [1.0, 1.0] and b.grad is None


def test_gradient_for_a_non_tensor_argument_raises(Function):
    class NT(Function):
        @staticmethod
        def forward(ctx, a, k):
            return a * k

        @staticmethod
        def backward(ctx, g):
            return g * 2, rg.ones(1)

    with pytest.raises(RuntimeError) as e:
        NT.apply(rg.ones(2, requires_grad=True), 3).sum().backward()
    assert message(e) == ("function NTBackward returned a gradient different than None at position 2, "
                          "but the corresponding forward input was not a Variable")


# ---------------------------------------------------------------------------
# several outputs, materialize grads, non-differentiable outputs
# ---------------------------------------------------------------------------

@pytest.fixture
def TwoOutputs(Function):
    class TwoOutputs(Function):
        got = []

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2, x * x

        @staticmethod
        def backward(ctx, g1, g2):
            (x,) = ctx.saved_tensors
            TwoOutputs.got.append((N(g1).tolist(), N(g2).tolist()))
            return g1 * 2 + g2 * 2 * x

    return TwoOutputs


def test_several_outputs_share_one_node(TwoOutputs):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    p, q = TwoOutputs.apply(x)
    assert p.grad_fn is q.grad_fn
    (p.sum() + (q * 10).sum()).backward()
    assert N(x.grad).tolist() == [22.0, 62.0]
    assert TwoOutputs.got == [([1.0, 1.0], [10.0, 10.0])]


def test_unused_output_gets_zero_gradient(TwoOutputs):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    p, q = TwoOutputs.apply(x)
    p.sum().backward()
    assert TwoOutputs.got == [([1.0, 1.0], [0.0, 0.0])]
    assert N(x.grad).tolist() == [2.0, 2.0]


def test_set_materialize_grads_false_passes_none(Function):
    got = []

    class NoMat(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x * 2, x * 3

        @staticmethod
        def backward(ctx, g1, g2):
            got.append((g1 is None, g2 is None))
            r = rg.zeros(2)
            if g1 is not None:
                r = r + g1 * 2
            if g2 is not None:
                r = r + g2 * 3
            return r

    x = rg.tensor([1.0, 3.0], requires_grad=True)
    p, q = NoMat.apply(x)
    q.sum().backward()
    assert got == [(True, False)]
    assert N(x.grad).tolist() == [3.0, 3.0]


def test_mark_non_differentiable(Function):
    got = []

    class WithMask(Function):
        @staticmethod
        def forward(ctx, x):
            mask = (x > 0).float()
            ctx.mark_non_differentiable(mask)
            return x * 2, mask

        @staticmethod
        def backward(ctx, g, g_mask):
            got.append(N(g_mask).tolist())
            return g * 2

    x = rg.tensor([1.0, -3.0], requires_grad=True)
    v, mask = WithMask.apply(x)
    assert v.requires_grad
    assert not mask.requires_grad and mask.grad_fn is None and mask.is_leaf
    v.sum().backward()
    assert N(x.grad).tolist() == [2.0, 2.0]
    assert got == [[0.0, 0.0]]
    with pytest.raises(RuntimeError) as e:
        mask.sum().backward()
    assert message(e) == "element 0 of tensors does not require grad and does not have a grad_fn"


# ---------------------------------------------------------------------------
# mark_dirty
# ---------------------------------------------------------------------------

@pytest.fixture
def MulInplace(Function):
    class MulInplace(Function):
        @staticmethod
        def forward(ctx, x):
            x.mul_(2)
            ctx.mark_dirty(x)
            return x

        @staticmethod
        def backward(ctx, g):
            return g * 2

    return MulInplace


def test_mark_dirty_inplace_function(MulInplace):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    h = x * 1
    r = MulInplace.apply(h)
    assert r is h
    assert N(h).tolist() == [2.0, 6.0]
    assert type(h.grad_fn).__name__ == "MulInplaceBackward"
    (h * h).sum().backward()
    assert N(x.grad).tolist() == [8.0, 24.0]          # d(2x)^2/dx = 8x


def test_mark_dirty_on_a_leaf_raises(MulInplace):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        MulInplace.apply(x)
    assert message(e) == "a leaf Variable that requires grad has been used in an in-place operation."


# ---------------------------------------------------------------------------
# setup_context, once_differentiable, double backward
# ---------------------------------------------------------------------------

def test_setup_context_form(Function):
    seen = []

    class Scale(Function):
        @staticmethod
        def forward(x, k):
            seen.append(("forward", rg.is_grad_enabled()))
            return x * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, k = inputs
            seen.append(("setup", type(inputs), len(inputs), output.requires_grad))
            ctx.k = k
            ctx.save_for_backward(x)

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * ctx.k, None

    x = rg.tensor([1.0, 3.0], requires_grad=True)
    y = Scale.apply(x, 4.0)
    assert seen == [("forward", False), ("setup", tuple, 2, False)]
    assert type(y.grad_fn).__name__ == "ScaleBackward"
    y.sum().backward()
    assert N(x.grad).tolist() == [4.0, 4.0]


@pytest.fixture
def Cube(Function):
    class Cube(Function):
        modes = []

        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            Cube.modes.append(rg.is_grad_enabled())
            return 3 * x ** 2 * g

    return Cube


def test_backward_is_differentiable_with_create_graph(Cube):
    x = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    y = Cube.apply(x)
    (gx,) = rg.autograd.grad(y.sum(), x, create_graph=True)
    assert N(gx).tolist() == [3.0, 12.0]
    assert gx.requires_grad
    (g2,) = rg.autograd.grad(gx.sum(), x)
    assert N(g2).tolist() == [6.0, 12.0]               # 6x
    assert Cube.modes == [True]


def test_backward_runs_without_grad_mode_normally(Cube):
    x = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    Cube.apply(x).sum().backward()
    assert Cube.modes == [False]


@pytest.fixture
def Square(Function):
    class Square(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 2

        @staticmethod
        @rg.autograd.function.once_differentiable
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 2 * x * g

    return Square


def test_once_differentiable_first_order(Square):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    Square.apply(x).sum().backward()
    assert N(x.grad).tolist() == [2.0, 6.0]
    assert Square.backward.__name__ == "backward"


def test_once_differentiable_refuses_double_backward(Square):
    x = rg.tensor([1.0, 3.0], requires_grad=True)
    y = Square.apply(x)
    (gx,) = rg.autograd.grad((y ** 2).sum(), x, create_graph=True)
    assert N(gx).tolist() == [4.0, 108.0]               # 4 x^3
    assert gx.requires_grad
    with pytest.raises(RuntimeError) as e:
        gx.sum().backward()
    assert message(e) == "trying to differentiate twice a function that was marked with @once_differentiable"


# ---------------------------------------------------------------------------
# wrong gradients
# ---------------------------------------------------------------------------

def test_too_few_gradients(Function):
    class W(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, g):
            return g

    a = rg.ones(2, requires_grad=True)
    b = rg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        W.apply(a, b).sum().backward()
    assert message(e) == "function WBackward returned an incorrect number of gradients (expected 2, got 1)"


def test_too_many_gradients(Function):
    class W3(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g, g, g

    with pytest.raises(RuntimeError) as e:
        W3.apply(rg.ones(2, requires_grad=True)).sum().backward()
    assert message(e) == "function W3Backward returned an incorrect number of gradients (expected 1, got 3)"


def test_extra_none_gradients_are_allowed(Function):
    class E(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2, None, None

    a = rg.ones(2, requires_grad=True)
    E.apply(a).sum().backward()
    assert N(a.grad).tolist() == [2.0, 2.0]


@pytest.mark.parametrize("in_shape,grad_shape,expected", [
    ((2,), (3,), "got [3] but expected shape compatible with [2]"),
    ((2, 3), (3,), "got [3] but expected shape compatible with [2, 3]"),
    ((2, 3), (1,), "got [1] but expected shape compatible with [2, 3]"),
])
def test_wrong_shaped_gradient(in_shape, grad_shape, expected, Function):
    class WS(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return rg.ones(*grad_shape)

    a = rg.ones(*in_shape, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        WS.apply(a).sum().backward()
    assert message(e) == "Function WSBackward returned an invalid gradient at index 0 - " + expected
    assert a.grad is None


def test_gradient_that_sums_to_the_input_shape_is_reduced(Function):
    # PyTorch accepts a gradient the input shape broadcasts to, and sums it
    class Big(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return rg.ones(3, 1, 1)

    a = rg.ones(1, 1, requires_grad=True)
    Big.apply(a).sum().backward()
    assert N(a.grad).tolist() == [[3.0]]


def test_gradient_of_other_dtype_is_cast(Function):
    class D(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return rg.ones(2, dtype=rg.float32)

    a = rg.ones(2, dtype=rg.float64, requires_grad=True)
    D.apply(a).sum().backward()
    assert a.grad.dtype == rg.float64 and N(a.grad).tolist() == [1.0, 1.0]


def test_non_tensor_gradient_raises(Function):
    class I(Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2

        @staticmethod
        def backward(ctx, g):
            return 3

    with pytest.raises(RuntimeError) as e:
        I.apply(rg.ones(2, requires_grad=True)).sum().backward()
    assert message(e) == "expected Variable or None (got int)"
