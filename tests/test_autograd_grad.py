"""``torch.autograd.grad``: returns gradients instead of accumulating them,
non-leaf and several inputs/outputs, ``grad_outputs``, unused inputs
(``allow_unused``, ``materialize_grads``), freed graphs, and higher-order
derivatives with ``create_graph=True``."""

import warnings

import numpy as np
import pytest

import rustgrad as rg
from conftest import REFERENCE, N, run_python

FREED = (
    "Trying to backward through the graph a second time (or directly access saved tensors after "
    "they have already been freed). Saved intermediate values of the graph are freed when you call "
    ".backward() or autograd.grad(). Specify retain_graph=True if you need to backward through the "
    "graph a second time or if you need to access saved tensors after calling backward."
)
UNUSED = ("The differentiated Tensor at index {} appears to not have been used in the graph. "
          "Set allow_unused=True if this is the desired behavior.")
NOT_REQUIRING = "One of the differentiated Tensors does not require grad"
NO_GRAD_FN = "element 0 of tensors does not require grad and does not have a grad_fn"
CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the parameter "
    "and its gradient which can cause a memory leak. We recommend using autograd.grad when creating "
    "the graph to avoid this. If you have to use this function, make sure to reset the .grad fields "
    "of your parameters to None after use to break the cycle and avoid the leak."
)


def message(excinfo):
    return str(excinfo.value)


def f64(values, requires_grad=True):
    return rg.tensor(values, dtype=rg.float64, requires_grad=requires_grad)


# ---------------------------------------------------------------------------
# basics
# ---------------------------------------------------------------------------

def test_grad_returns_a_tuple_of_gradients():
    x = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    r = rg.autograd.grad((x * x).sum(), x)
    assert type(r) is tuple and len(r) == 1
    assert N(r[0]).tolist() == [2.0, 4.0, 6.0]
    r = rg.autograd.grad([(x * 3).sum()], (x,))
    assert type(r) is tuple and N(r[0]).tolist() == [3.0, 3.0, 3.0]


def test_grad_leaves_dot_grad_untouched():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = rg.autograd.grad((x * x).sum(), x)
    assert x.grad is None
    (x * 5).sum().backward()
    (g,) = rg.autograd.grad((x * x).sum(), x)
    assert N(g).tolist() == [2.0, 4.0]
    assert N(x.grad).tolist() == [5.0, 5.0]


def test_grad_result_does_not_require_grad_without_create_graph():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = rg.autograd.grad((x * x).sum(), x)
    assert not g.requires_grad and g.grad_fn is None


def test_grad_with_respect_to_a_non_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    out = (h * h).sum()
    (gh,) = rg.autograd.grad(out, h)
    assert N(gh).tolist() == [4.0, 8.0]
    assert x.grad is None


def test_grad_of_an_output_with_respect_to_itself():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    (g,) = rg.autograd.grad(y, y, rg.tensor([3.0, 4.0]))
    assert N(g).tolist() == [3.0, 4.0]


def test_grad_several_outputs_and_inputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    gx, gy = rg.autograd.grad([(x * y).sum(), (x * x).sum()], [x, y])
    assert N(gx).tolist() == [3.0 + 2.0, 3.0 + 4.0]     # y + 2x
    assert gy.item() == 3.0                            # sum(x)
    assert tuple(gy.shape) == ()


def test_grad_outputs_weight_each_output():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = rg.autograd.grad([x * 2, x * x], [x], [rg.tensor([1.0, 1.0]), rg.tensor([1.0, 10.0])])
    assert N(g).tolist() == [2.0 + 2.0, 2.0 + 40.0]
    (g,) = rg.autograd.grad(x * 3, x, grad_outputs=rg.tensor([1.0, -2.0]))
    assert N(g).tolist() == [3.0, -6.0]


def test_grad_outputs_none_for_a_scalar_output():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (g,) = rg.autograd.grad([(x * 2).sum(), (x * x).sum()], [x], [None, rg.tensor(2.0)])
    assert N(g).tolist() == [2.0 + 4.0, 2.0 + 8.0]


def test_grad_implicit_only_for_scalar_outputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad(x * 2, x)
    assert message(e) == "grad can be implicitly created only for scalar outputs"


def test_grad_outputs_shape_mismatch():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad(x * 2, x, grad_outputs=rg.ones(3))
    assert message(e) == ("Mismatch in shape: grad_output[0] has a shape of torch.Size([3]) and "
                          "output[0] has a shape of torch.Size([2]).")


def test_grad_empty_inputs_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad((x * 2).sum(), [])
    assert message(e) == "`inputs` argument to `grad()` cannot be empty."


# ---------------------------------------------------------------------------
# unused inputs, inputs not requiring grad, outputs without grad_fn
# ---------------------------------------------------------------------------

def test_unused_input_error_names_its_index():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    z = rg.tensor(1.0, requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad((x * y).sum(), [x, z])
    assert message(e) == UNUSED.format(1)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad((x * y).sum(), [z, x])
    assert message(e) == UNUSED.format(0)


def test_allow_unused_gives_none():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    z = rg.tensor(1.0, requires_grad=True)
    gx, gz = rg.autograd.grad((x * y).sum(), [x, z], allow_unused=True)
    assert N(gx).tolist() == [3.0, 3.0]
    assert gz is None


def test_materialize_grads_gives_zeros_of_the_input_shape():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = rg.tensor(3.0, requires_grad=True)
    z = rg.zeros(2, 3, dtype=rg.float64, requires_grad=True)
    gx, gz = rg.autograd.grad((x * y).sum(), [x, z], materialize_grads=True)
    assert N(gx).tolist() == [3.0, 3.0]
    assert tuple(gz.shape) == (2, 3) and gz.dtype == rg.float64
    assert N(gz).tolist() == [[0.0] * 3] * 2


def test_materialize_grads_with_allow_unused_false_is_a_value_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    z = rg.tensor(1.0, requires_grad=True)
    with pytest.raises(ValueError) as e:
        rg.autograd.grad((x * 2).sum(), [x, z], allow_unused=False, materialize_grads=True)
    assert message(e) == ("Expected allow_unused to be True or not passed when materialize_grads=True, "
                          "but got: allow_unused=False.")


def test_input_not_requiring_grad_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    w = rg.tensor([1.0, 2.0])
    for inputs in ([w], [x, w]):
        with pytest.raises(RuntimeError) as e:
            rg.autograd.grad((x * 2).sum(), inputs)
        assert message(e) == NOT_REQUIRING


def test_output_without_grad_fn_error():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad((rg.tensor([1.0, 2.0]) * 2).sum(), [x])
    assert message(e) == NO_GRAD_FN


# ---------------------------------------------------------------------------
# retain_graph
# ---------------------------------------------------------------------------

def test_grad_frees_the_graph_by_default():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    rg.autograd.grad(loss, x)
    with pytest.raises(RuntimeError) as e:
        rg.autograd.grad(loss, x)
    assert message(e) == FREED
    with pytest.raises(RuntimeError) as e:
        loss.backward()
    assert message(e) == FREED


def test_grad_retain_graph_allows_reuse():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    (g1,) = rg.autograd.grad(loss, x, retain_graph=True)
    (g2,) = rg.autograd.grad(loss, x)
    assert N(g1).tolist() == N(g2).tolist() == [2.0, 4.0]


# ---------------------------------------------------------------------------
# create_graph: higher-order derivatives
# ---------------------------------------------------------------------------

def test_second_and_third_derivative_of_cube():
    x = f64(2.0)
    y = x ** 3
    (d1,) = rg.autograd.grad(y, x, create_graph=True)
    assert d1.item() == pytest.approx(12.0) and d1.requires_grad       # 3x^2
    (d2,) = rg.autograd.grad(d1, x, create_graph=True)
    assert d2.item() == pytest.approx(12.0) and d2.requires_grad       # 6x
    (d3,) = rg.autograd.grad(d2, x)
    assert d3.item() == pytest.approx(6.0)                             # 6
    assert x.grad is None


def test_create_graph_implies_retain_graph():
    x = f64(2.0)
    y = x ** 3
    rg.autograd.grad(y, x, create_graph=True)
    (again,) = rg.autograd.grad(y, x)
    assert again.item() == pytest.approx(12.0)


def test_mixed_partials_of_x_times_y_squared():
    x = f64(3.0)
    y = f64(2.0)
    f = x * y ** 2
    dfdx, dfdy = rg.autograd.grad(f, [x, y], create_graph=True)
    assert dfdx.item() == pytest.approx(4.0)          # y^2
    assert dfdy.item() == pytest.approx(12.0)         # 2xy
    # d/dx (y^2) does not involve x at all
    dxx, dxy = rg.autograd.grad(dfdx, [x, y], retain_graph=True, allow_unused=True)
    assert dxx is None
    assert dxy.item() == pytest.approx(4.0)           # 2y
    dyx, dyy = rg.autograd.grad(dfdy, [x, y])
    assert dyx.item() == pytest.approx(4.0)           # 2y  (= d2f/dxdy)
    assert dyy.item() == pytest.approx(6.0)           # 2x


def test_hessian_vector_product():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    x = f64([1.0, 2.0])
    f = 0.5 * (x @ (rg.tensor(A) @ x))
    (g,) = rg.autograd.grad(f, x, create_graph=True)
    assert N(g).tolist() == pytest.approx((A @ [1.0, 2.0]).tolist())   # A x = [4, 7]
    v = rg.tensor([1.0, -1.0], dtype=rg.float64)
    (hv,) = rg.autograd.grad(g, x, grad_outputs=v, retain_graph=True)
    assert N(hv).tolist() == pytest.approx([1.0, -2.0])                 # A v
    (hv2,) = rg.autograd.grad((g * v).sum(), x)
    assert N(hv2).tolist() == pytest.approx([1.0, -2.0])


def test_gradient_penalty_backpropagates_into_parameters():
    # y = sum(w * x^2); dy/dx = 2 w x = [6, 8]; |dy/dx| = 10; penalty = (10 - 1)^2 = 81
    # d penalty/dw_i = 2 * 9 * (2 w_i x_i)(2 x_i) / 10  = 18 * [36, 64] / 10
    # d penalty/dx_i = 2 * 9 * (2 w_i x_i)(2 w_i) / 10  = 18 * [12, 16] / 10
    w = f64([1.0, 1.0])
    x = f64([3.0, 4.0])
    y = (w * x * x).sum()
    (gx,) = rg.autograd.grad(y, x, create_graph=True)
    assert N(gx).tolist() == pytest.approx([6.0, 8.0])
    penalty = (gx.norm() - 1) ** 2
    assert penalty.item() == pytest.approx(81.0)
    assert w.grad is None and x.grad is None
    penalty.backward()
    np.testing.assert_allclose(N(w.grad), [64.8, 115.2], rtol=1e-12)
    np.testing.assert_allclose(N(x.grad), [21.6, 28.8], rtol=1e-12)


def test_grad_with_create_graph_does_not_warn():
    x = f64(2.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rg.autograd.grad(x ** 3, x, create_graph=True)
    assert not [w for w in caught if "reference cycle" in str(w.message)]


# ---------------------------------------------------------------------------
# backward(create_graph=True) warning (PyTorch warns once per process, so it
# is checked in a fresh interpreter)
# ---------------------------------------------------------------------------

_PREAMBLE = """
import os, sys, warnings
if os.environ.get("RUSTGRAD_TEST_REFERENCE") == "torch":
    import torch
    sys.modules["rustgrad"] = torch
import rustgrad as rg

def count(f):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f()
    for w in caught:
        print(w.category.__name__, "|", str(w.message))
    print("COUNT", len(caught))
"""


def _run_with_rustgrad(code):
    r = run_python(_PREAMBLE + code, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_backward_create_graph_warns_user_warning():
    out = _run_with_rustgrad("""
x = rg.tensor(2.0, requires_grad=True)
count(lambda: (x ** 3).backward(create_graph=True))
""")
    assert out.startswith("UserWarning | " + CREATE_GRAPH_WARNING), out
    assert "COUNT 1" in out


def test_backward_create_graph_warns_once_per_process():
    out = _run_with_rustgrad("""
a = rg.tensor(2.0, requires_grad=True)
count(lambda: (a ** 3).backward(create_graph=True))
b = rg.tensor([2.0], requires_grad=True)
count(lambda: rg.autograd.backward([(b ** 3).sum()], create_graph=True))
""")
    counts = [line for line in out.splitlines() if line.startswith("COUNT")]
    assert counts == ["COUNT 1", "COUNT 0"], out


def test_backward_create_graph_warning_matches_torch(torch):
    # the in-process check (pytest.warns) only works before the first warning
    # of the process, so compare both libraries in fresh interpreters
    if REFERENCE:
        pytest.skip("compares the real rustgrad with torch in subprocesses")
    code = """
import warnings, {mod} as m
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    x = m.tensor(2.0, requires_grad=True)
    (x ** 3).backward(create_graph=True)
print([(w.category.__name__, str(w.message).split(" (Triggered internally")[0]) for w in caught])
"""
    outs = []
    for mod in ("rustgrad", "torch"):
        r = run_python(code.format(mod=mod))
        assert r.returncode == 0, r.stderr
        outs.append(r.stdout)
    assert CREATE_GRAPH_WARNING in outs[1]
    assert outs[0] == outs[1]
