"""``torch.autograd.functional``: jacobian, hessian, vjp, jvp, hvp, vhp on
small functions with hand-known results, tuple inputs/outputs,
``create_graph`` and ``strict``."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

STRICT_NO_GRAD = ("Output 0 of the user-provided function does not require gradients. The outputs must "
                  "be computed in a differentiable manner from the input when running in strict mode.")


def message(excinfo):
    return str(excinfo.value)


def F():
    return rg.autograd.functional


def f64(values):
    return rg.tensor(values, dtype=rg.float64)


X = [1.0, 2.0, 3.0]


def close(t, expected):
    np.testing.assert_allclose(N(t), np.asarray(expected, dtype=np.float64), rtol=1e-12, atol=1e-12)
    assert tuple(t.shape) == np.asarray(expected).shape


# ---------------------------------------------------------------------------
# jacobian
# ---------------------------------------------------------------------------

def test_jacobian_of_elementwise_square():
    close(F().jacobian(lambda x: x ** 2, f64(X)), np.diag([2.0, 4.0, 6.0]))


def test_jacobian_of_a_scalar_function_is_the_gradient():
    close(F().jacobian(lambda x: (x ** 2).sum(), f64(X)), [2.0, 4.0, 6.0])


def test_jacobian_tuple_inputs():
    x, y = f64(X), f64([2.0, 3.0, 4.0])
    jx, jy = F().jacobian(lambda x, y: x * y, (x, y))
    close(jx, np.diag([2.0, 3.0, 4.0]))          # d(xy)/dx = diag(y)
    close(jy, np.diag(X))                         # d(xy)/dy = diag(x)


def test_jacobian_tuple_outputs_and_inputs():
    x, y = f64(X), f64([2.0, 3.0, 4.0])
    (j00, j01), (j10, j11) = F().jacobian(lambda x, y: (x * y, x + y), (x, y))
    close(j00, np.diag([2.0, 3.0, 4.0]))
    close(j01, np.diag(X))
    close(j10, np.eye(3))
    close(j11, np.eye(3))


def test_jacobian_tuple_outputs_single_input():
    j_vec, j_sum = F().jacobian(lambda x: (x * 2, x.sum()), f64(X))
    close(j_vec, 2 * np.eye(3))
    close(j_sum, [1.0, 1.0, 1.0])


def test_jacobian_shape_for_matrix_function():
    M = f64([[1.0, 2.0], [3.0, 4.0]])
    J = F().jacobian(lambda m: m @ m, M)
    assert tuple(J.shape) == (2, 2, 2, 2)
    # d(MM)_ij / dM_kl = delta_ik M_lj + M_ik delta_jl
    A = N(M)
    expected = np.einsum("ik,lj->ijkl", np.eye(2), A) + np.einsum("ik,jl->ijkl", A, np.eye(2))
    close(J, expected)


def test_jacobian_does_not_touch_inputs():
    x = f64(X)
    J = F().jacobian(lambda x: x ** 2, x)
    assert not J.requires_grad
    assert not x.requires_grad and x.grad is None


def test_jacobian_create_graph():
    x = f64(X)
    J = F().jacobian(lambda x: x ** 3, x, create_graph=True)
    assert J.requires_grad
    close(J, np.diag([3.0, 12.0, 27.0]))


def test_jacobian_of_an_independent_output_is_zero():
    close(F().jacobian(lambda x: rg.ones(2, dtype=rg.float64), f64(X)), np.zeros((2, 3)))
    jx, jy = F().jacobian(lambda x, y: x * 2, (f64(X), f64(X)))
    close(jx, 2 * np.eye(3))
    close(jy, np.zeros((3, 3)))


def test_jacobian_strict_errors():
    x = f64(X)
    with pytest.raises(RuntimeError) as e:
        F().jacobian(lambda x: rg.ones(2, dtype=rg.float64), x, strict=True)
    assert message(e) == STRICT_NO_GRAD
    with pytest.raises(RuntimeError) as e:
        F().jacobian(lambda x: x.detach() * 2, x, strict=True)
    assert message(e) == STRICT_NO_GRAD
    with pytest.raises(RuntimeError) as e:
        F().jacobian(lambda x, y: x * 2, (x, x.clone()), strict=True)
    assert message(e) == ("Output 0 of the user-provided function is independent of input 1. "
                          "This is not allowed in strict mode.")


def test_jacobian_type_errors():
    with pytest.raises(TypeError) as e:
        F().jacobian(lambda x: 3, f64(X))
    assert message(e) == ("The outputs of the user-provided function given to jacobian must be either a "
                          "Tensor or a tuple of Tensors but the given outputs of the user-provided function "
                          "has type <class 'int'>.")
    with pytest.raises(TypeError) as e:
        F().jacobian(lambda x: x, 3)
    assert message(e) == ("The inputs given to jacobian must be either a Tensor or a tuple of Tensors but "
                          "the given inputs has type <class 'int'>.")


# ---------------------------------------------------------------------------
# hessian
# ---------------------------------------------------------------------------

def test_hessian_of_sum_of_cubes():
    close(F().hessian(lambda x: (x ** 3).sum(), f64(X)), np.diag([6.0, 12.0, 18.0]))


def test_hessian_of_a_quadratic_form():
    A = np.array([[2.0, 1.0], [1.0, 3.0]])
    H = F().hessian(lambda x: 0.5 * (x @ (f64(A) @ x)), f64([1.0, -1.0]))
    close(H, A)


def test_hessian_tuple_inputs():
    (hxx, hxy), (hyx, hyy) = F().hessian(lambda x, y: (x * y).sum(), (f64(X), f64(X)))
    close(hxx, np.zeros((3, 3)))
    close(hxy, np.eye(3))
    close(hyx, np.eye(3))
    close(hyy, np.zeros((3, 3)))


def test_hessian_of_a_linear_function_is_zero():
    close(F().hessian(lambda x: (x * 2).sum(), f64(X)), np.zeros((3, 3)))


def test_hessian_needs_a_scalar_output():
    with pytest.raises(RuntimeError) as e:
        F().hessian(lambda x: x ** 3, f64(X))
    assert message(e) == "The Tensor returned by the function given to hessian should contain a single element"


def test_hessian_strict_errors():
    with pytest.raises(RuntimeError) as e:
        F().hessian(lambda x: (x * 2).sum(), f64(X), strict=True)
    assert message(e) == (
        "While computing the hessian, found that the jacobian of the user-provided function with respect "
        "to input 0 is independent of the input. This is not allowed in strict mode. You should ensure "
        "that your function is twice differentiable and that the jacobian depends on the inputs (this "
        "would be violated by a linear function for example).")
    with pytest.raises(RuntimeError) as e:
        F().hessian(lambda x: (x.detach() ** 3).sum(), f64(X), strict=True)
    assert message(e) == STRICT_NO_GRAD


# ---------------------------------------------------------------------------
# vjp / jvp / hvp / vhp
# ---------------------------------------------------------------------------

def test_vjp():
    out, g = F().vjp(lambda x: x ** 2, f64(X), f64([1.0, 1.0, 1.0]))
    close(out, [1.0, 4.0, 9.0])
    close(g, [2.0, 4.0, 6.0])
    out, g = F().vjp(lambda x: x ** 2, f64(X), f64([1.0, 0.0, -1.0]))
    close(g, [2.0, 0.0, -6.0])


def test_vjp_of_a_scalar_function_without_v():
    out, g = F().vjp(lambda x: (x ** 2).sum(), f64(X))
    close(out, 14.0)
    close(g, [2.0, 4.0, 6.0])


def test_vjp_tuple_inputs():
    x, y = f64(X), f64([2.0, 3.0, 4.0])
    out, (gx, gy) = F().vjp(lambda x, y: x * y, (x, y), f64([1.0, 1.0, 1.0]))
    close(out, [2.0, 6.0, 12.0])
    close(gx, [2.0, 3.0, 4.0])
    close(gy, X)


def test_vjp_errors():
    with pytest.raises(RuntimeError) as e:
        F().vjp(lambda x: x ** 2, f64(X))
    assert message(e) == ("The vector v can only be None if the user-provided function returns a single "
                          "Tensor with a single element.")
    with pytest.raises(RuntimeError) as e:
        F().vjp(lambda x: x ** 2, f64(X), f64([1.0, 1.0]))
    assert message(e) == "v has invalid size: should be torch.Size([3]) but got torch.Size([2])."
    with pytest.raises(RuntimeError) as e:
        F().vjp(lambda x: x.detach() * 2, f64(X), f64([1.0, 1.0, 1.0]), strict=True)
    assert message(e) == STRICT_NO_GRAD


def test_jvp():
    out, jv = F().jvp(lambda x: x ** 2, f64(X), f64([1.0, 1.0, 1.0]))
    close(out, [1.0, 4.0, 9.0])
    close(jv, [2.0, 4.0, 6.0])
    out, jv = F().jvp(lambda x: (x ** 2).sum(), f64(X), f64([1.0, 1.0, 1.0]))
    close(out, 14.0)
    close(jv, 12.0)


def test_jvp_tuple_inputs():
    x, y = f64(X), f64([2.0, 3.0, 4.0])
    ones, zeros = f64([1.0, 1.0, 1.0]), f64([0.0, 0.0, 0.0])
    out, jv = F().jvp(lambda x, y: x * y, (x, y), (ones, zeros))
    close(out, [2.0, 6.0, 12.0])
    close(jv, [2.0, 3.0, 4.0])                   # y * dx


def test_jvp_errors():
    with pytest.raises(RuntimeError) as e:
        F().jvp(lambda x: x ** 2, f64(X))
    assert message(e) == ("The vector v can only be None if the input to the user-provided function is a "
                          "single Tensor with a single element.")
    with pytest.raises(RuntimeError) as e:
        F().jvp(lambda x: x.detach() * 2, f64(X), f64([1.0, 1.0, 1.0]), strict=True)
    assert message(e) == STRICT_NO_GRAD


def test_hvp_and_vhp():
    v = f64([1.0, 1.0, 1.0])
    out, hv = F().hvp(lambda x: (x ** 3).sum(), f64(X), v)
    close(out, 36.0)
    close(hv, [6.0, 12.0, 18.0])
    out, vh = F().vhp(lambda x: (x ** 3).sum(), f64(X), v)
    close(out, 36.0)
    close(vh, [6.0, 12.0, 18.0])


def test_hvp_of_a_non_symmetric_looking_quadratic():
    # f = x0^2 x1: H = [[2 x1, 2 x0], [2 x0, 0]] at (1, 2) = [[4, 2], [2, 0]]
    f = lambda x: x[0] ** 2 * x[1]  # noqa: E731
    v = f64([1.0, 3.0])
    _, hv = F().hvp(f, f64([1.0, 2.0]), v)
    close(hv, [4.0 + 6.0, 2.0])
    _, vh = F().vhp(f, f64([1.0, 2.0]), v)
    close(vh, [4.0 + 6.0, 2.0])


def test_hvp_create_graph():
    x = f64(X)
    out, hv = F().hvp(lambda x: (x ** 3).sum(), x, f64([1.0, 1.0, 1.0]), create_graph=True)
    assert hv.requires_grad
    close(hv, [6.0, 12.0, 18.0])


def test_hvp_needs_a_scalar_output():
    with pytest.raises(RuntimeError) as e:
        F().hvp(lambda x: x ** 3, f64(X), f64([1.0, 1.0, 1.0]))
    assert message(e) == "The Tensor returned by the function given to hvp should contain a single element"


def test_functional_matches_torch(torch):
    a = np.array([0.3, -1.2, 2.0])

    def results(m):
        x = m.tensor(a, dtype=m.float64)
        f = (lambda x: (x.sin() * x.exp()).sum())
        return [np.array(t.detach().numpy(), copy=True)
                for t in (m.autograd.functional.jacobian(f, x), m.autograd.functional.hessian(f, x))]

    for mine, ref in zip(results(rg), results(torch)):
        np.testing.assert_allclose(mine, ref, rtol=1e-12, atol=1e-12)
