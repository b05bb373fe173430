"""``torch.autograd.gradcheck``: compare autograd's gradients with finite
differences.

A function ``f`` with inputs ``x_0 .. x_{n-1}`` and outputs ``y_0 .. y_{m-1}``
has one Jacobian block ``J[i][j] = d y_i / d x_j`` per (output, input) pair.
Both are laid out as PyTorch lays them out: a 2-D array of shape
``(x_j.numel(), y_i.numel())`` whose row ``k`` is the derivative of the
flattened output with respect to element ``k`` of the flattened input.

* The **numerical** Jacobian comes from central differences,
  ``d y / d x_k ~= (f(x + eps e_k) - f(x - eps e_k)) / (2 eps)``: each input
  element is perturbed in place (through ``x.data``, which autograd does not
  version-track, under ``no_grad``) and restored afterwards. Its dtype is the
  output's.
* The **analytical** Jacobian comes from reverse mode, one row of ``J^T`` at a
  time: ``autograd.grad(y_i, inputs, grad_outputs=e_r)`` is ``e_r^T J``, the
  vector-Jacobian product with the ``r``-th one-hot vector. Its dtype is the
  input's.
* They must agree elementwise with ``torch.allclose``'s criterion,
  ``|analytical - numerical| <= atol + rtol * |numerical|``.

``fast_mode=True`` checks a single random projection per (output, input)
pair instead of the full matrices (PyTorch's fast gradcheck, see
https://github.com/pytorch/pytorch/issues/53876): with random unit vectors
``u`` (input-sized) and ``v`` (output-sized) it compares ``v . (J u)``, where
``J u`` is one central difference along ``u``, with ``(v^T J) . u``, where
``v^T J`` is one backward call; ``atol`` is scaled by ``sum(u) * sum(v)``.

Not supported (rustgrad has no such features): complex inputs or outputs,
sparse and MKLDNN layouts, forward-mode AD (``check_forward_ad``,
``check_batched_forward_grad``, ``gradgradcheck(check_fwd_over_rev=True)``)
and vmap (``check_batched_grad``); asking for any of these raises
``NotImplementedError``. ``masked`` only concerns sparse tensors and is
accepted and ignored.

All arithmetic on Jacobians is done in NumPy on copies of the tensors; they
are turned back into rustgrad tensors only to print them in error messages.
"""

import itertools
import warnings

import numpy as np

import rustgrad as torch  # PyTorch's names; only used at call time (import cycle)

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError"]


class GradcheckError(RuntimeError):
    r"""Error raised by :func:`gradcheck` and :func:`gradgradcheck`."""


FAILED_NONDET_MSG = """\n
NOTE: If your op relies on non-deterministic operations i.e., it is listed here:
https://pytorch.org/docs/stable/generated/torch.use_deterministic_algorithms.html
this failure might be expected.

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck.
If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `nondet_tol=<tol>` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_nondet_tol=<tol>`.
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_nondet_tol=<tol>`
"""

FAST_FAIL_SLOW_OK_MSG = """
Fast gradcheck failed but element-wise differences are small. This means that the
test might've passed in slow_mode!

If you are adding a new operator, please file an issue and then use one of the
workarounds. The workaround depends on how your test invokes gradcheck/gradgradcheck:

If the test
- manually invokes gradcheck/gradgradcheck, then call gradcheck/gradgradcheck
  with `fast_mode=False` as a keyword argument.
- is OpInfo-based (e.g., in test_ops_gradients.py), then modify the OpInfo for the test
  to have `gradcheck_fast_mode=False`
- is a Module test (e.g., in common_nn.py), then modify the corresponding
  module_test entry to have `gradcheck_fast_mode=False`
""".strip()

# Seed of the private generator fast mode draws its random vectors from, so
# that a check is reproducible and leaves the user's RNG state alone (PyTorch
# likewise uses a fresh ``torch.Generator()`` with its default seed).
_FAST_MODE_SEED = 67280421310721


# ---------------------------------------------------------------------------
# small helpers
# ---------------------------------------------------------------------------

def _as_tuple(x):
    if isinstance(x, tuple):
        return x
    if isinstance(x, list):
        return tuple(x)
    return (x,)


def _differentiable_outputs(out):
    return tuple(o for o in _as_tuple(out) if o.requires_grad)


def _diff_inputs(tupled_inputs):
    """(positions, tensors) of the inputs that require grad."""
    pairs = [(i, t) for i, t in enumerate(tupled_inputs) if torch.is_tensor(t) and t.requires_grad]
    return [i for i, _ in pairs], [t for _, t in pairs]


def _np(t):
    """A NumPy copy of ``t``'s values (same shape and dtype)."""
    return np.array(t.detach().numpy(), copy=True)


def _np_dtype(t):
    return t.detach().numpy().dtype


def _allclose(a, b, rtol, atol):
    """``torch.allclose(a, b, rtol, atol)`` with type promotion:
    ``|a - b| <= atol + rtol * |b|`` everywhere, NaN never close."""
    return bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def _max_abs_diff(a, b):
    return float(np.max(np.abs(a - b))) if a.size else 0.0


def _tensor(arr, dtype=None):
    """An ndarray (any shape, 0-d included) as a new tensor."""
    return torch.tensor(np.array(arr, order="C"), dtype=dtype)


def _show(arr):
    """An ndarray as a tensor, for error messages shaped like PyTorch's."""
    return _tensor(arr)


def _notallclose_msg(analytical, numerical, output_idx, input_idx):
    return (f"Jacobian mismatch for output {output_idx:d} with respect to input {input_idx:d},\n"
            f"numerical:{numerical}\nanalytical:{analytical}\n")


def _check_same_dtype_and_shape(out_a, out_b, eps, idx=None):
    """Perturbing an input must not change the outputs' shapes or dtypes."""
    on_index = f"on index {idx} " if idx is not None else ""
    if out_a.shape != out_b.shape:
        raise AssertionError(
            f"Expected `func` to return outputs with the same shape when inputs are perturbed "
            f"{on_index}by {eps}, but got: shapes {out_a.shape} and {out_b.shape}.")
    if out_a.dtype != out_b.dtype:
        raise AssertionError(
            f"Expected `func` to return outputs with the same dtype when inputs are perturbed "
            f"{on_index}by {eps}, but got: dtypes {out_a.dtype} and {out_b.dtype}.")


def _check_inputs(tupled_inputs):
    """Warns about non-double inputs; rejects overlapping memory and inputs
    of which none requires grad."""
    any_input_requiring_grad = False
    for idx, inp in enumerate(tupled_inputs):
        if not (torch.is_tensor(inp) and inp.requires_grad):
            continue
        if inp.dtype != torch.float64:
            warnings.warn(
                f"Input #{idx} requires gradient and "
                "is not a double precision floating point or complex. "
                "This check will likely fail if all the inputs are "
                "not of double precision floating point or complex. ",
                stacklevel=4,
            )
        if not all(st > 0 or sz <= 1 for st, sz in zip(inp.stride(), inp.shape)):
            raise RuntimeError(
                f"The {idx}th input has a dimension with stride 0. gradcheck only "
                "supports inputs that are non-overlapping to be able to "
                "compute the numerical gradients correctly. You should call "
                ".contiguous on the input before passing it to gradcheck.")
        any_input_requiring_grad = True
    if not any_input_requiring_grad:
        raise ValueError(
            "gradcheck expects at least one input tensor to require gradient, "
            "but none of them have requires_grad=True.")


# ---------------------------------------------------------------------------
# numerical Jacobians: central differences
# ---------------------------------------------------------------------------

def _evaluate(func, tupled_inputs):
    # Clone: an output may alias an input (f(x) = x), whose value is about
    # to be perturbed again.
    return tuple(o.detach().clone() for o in _as_tuple(func(*tupled_inputs)))


def _central_difference(func, tupled_inputs, data, index, delta, eps, idx=None):
    """``(f(x + delta) - f(x - delta)) / (2 eps)`` per float output (None for
    the others), flattened, where ``x + delta`` writes ``data[index] + delta``
    in place. ``data`` aliases an input's storage (``input.data``) so that
    ``func`` sees the perturbation through the original input tensor."""
    with torch.no_grad():
        orig = data[index].clone()
    try:
        with torch.no_grad():
            data[index] = orig - delta
        out_a = _evaluate(func, tupled_inputs)
        with torch.no_grad():
            data[index] = orig + delta
        out_b = _evaluate(func, tupled_inputs)
    finally:
        with torch.no_grad():
            data[index] = orig
    cols = []
    for a, b in zip(out_a, out_b):
        _check_same_dtype_and_shape(a, b, eps, idx)
        cols.append(((_np(b) - _np(a)) / (2 * eps)).reshape(-1) if a.is_floating_point() else None)
    return cols


def _numerical_jacobian(func, tupled_inputs, input_idx, eps):
    """The numerical Jacobian of every output of ``func`` with respect to
    ``tupled_inputs[input_idx]``: a list over the outputs of arrays of shape
    ``(input.numel(), output.numel())`` in the output's dtype (None for
    outputs that are not floating point)."""
    inp = tupled_inputs[input_idx]
    data = inp.data
    jacobians = None
    for k, idx in enumerate(itertools.product(*(range(n) for n in inp.shape))):
        cols = _central_difference(func, tupled_inputs, data, idx, delta=eps, eps=eps, idx=idx)
        if jacobians is None:
            jacobians = [None if c is None else np.zeros((inp.numel(), c.size), dtype=c.dtype)
                         for c in cols]
        for jac, col in zip(jacobians, cols):
            if jac is not None:
                jac[k] = col
    if jacobians is None:  # an input without elements: evaluate once for the shapes
        jacobians = [np.zeros((0, o.numel()), dtype=_np_dtype(o)) if o.is_floating_point() else None
                     for o in _evaluate(func, tupled_inputs)]
    return jacobians


# ---------------------------------------------------------------------------
# analytical Jacobians: vector-Jacobian products
# ---------------------------------------------------------------------------

def _vjps(output, diff_inputs, grad_outputs):
    """For each grad_output ``g`` (a flat ndarray of ``output.numel()``
    values), ``g^T J`` with respect to every input, via
    ``autograd.grad(output, inputs, g)``. Returns ``(jacobians, sizes_ok,
    types_ok)`` with ``jacobians[i]`` of shape ``(inputs[i].numel(),
    len(grad_outputs))`` in ``inputs[i]``'s dtype; an input the output does
    not depend on (grad None) gets zeros."""
    jacobians = [np.zeros((inp.numel(), len(grad_outputs)), dtype=_np_dtype(inp)) for inp in diff_inputs]
    sizes_ok = types_ok = True
    for r, g in enumerate(grad_outputs):
        g_t = _tensor(g.reshape(tuple(output.shape)), output.dtype)
        grads = torch.autograd.grad(output, diff_inputs, g_t, retain_graph=True, allow_unused=True)
        for jac, d, inp in zip(jacobians, grads, diff_inputs):
            if d is None:
                continue
            if tuple(d.shape) != tuple(inp.shape):
                sizes_ok = False
            elif d.dtype != inp.dtype:
                types_ok = False
            values = _np(d).reshape(-1)
            if values.size == jac.shape[0]:
                jac[:, r] = values
    return jacobians, sizes_ok, types_ok


def _analytical_jacobian(diff_inputs, output, nondet_tol, check_grad_dtypes, grad_outputs=None):
    """``grad_outputs`` defaults to the one-hot vectors, giving the full
    Jacobians ``(input.numel(), output.numel())``. Backward runs twice: it
    must give the same values both times, within ``nondet_tol``
    (reentrancy)."""
    if grad_outputs is None:
        grad_outputs = np.eye(output.numel(), dtype=_np_dtype(output))
    jac1, sizes_ok, types_ok = _vjps(output, diff_inputs, grad_outputs)
    jac2, _, _ = _vjps(output, diff_inputs, grad_outputs)
    if not types_ok and check_grad_dtypes:
        raise GradcheckError("Gradient has dtype mismatch")
    if not sizes_ok:
        raise GradcheckError("Analytical gradient has incorrect size")
    if any(a.size and _max_abs_diff(a, b) > nondet_tol for a, b in zip(jac1, jac2)):
        raise GradcheckError(
            "Backward is not reentrant, i.e., running backward with "
            "same input and grad_output multiple times gives different values, "
            "although analytical gradient matches numerical gradient."
            f"The tolerance for nondeterminism was {nondet_tol}." + FAILED_NONDET_MSG)
    return jac1


# ---------------------------------------------------------------------------
# slow (full Jacobian) and fast (random projection) comparisons
# ---------------------------------------------------------------------------

def _slow_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol):
    func_out = _as_tuple(func_out)
    diff_idx, diff_inputs = _diff_inputs(tupled_inputs)
    # numerical[j][k]: input j (among those requiring grad), output k of func
    numerical = [_numerical_jacobian(func, tupled_inputs, idx, eps) for idx in diff_idx]
    if not outputs:
        # Nothing is differentiable, so every finite difference must be 0.
        if any(n is not None and np.any(n != 0) for per_input in numerical for n in per_input):
            raise GradcheckError("Numerical gradient for function expected to be zero")
        return True
    out_pos = [k for k, o in enumerate(func_out) if o.requires_grad]
    for i, o in enumerate(outputs):
        analytical = _analytical_jacobian(diff_inputs, o, nondet_tol, check_grad_dtypes)
        for j, a in enumerate(analytical):
            n = numerical[j][out_pos[i]]
            if not _allclose(a, n, rtol, atol):
                raise GradcheckError(_notallclose_msg(_show(a), _show(n), i, j))
    return True


def _random_unit_vector(rng, t):
    """``t.numel()`` uniform [0, 1) values in ``t``'s dtype, scaled to unit
    L2 norm (PyTorch's ``_vec_from_tensor``)."""
    vec = rng.random(t.numel()).astype(_np_dtype(t))
    if vec.size:
        vec /= np.linalg.norm(vec)
    return vec


def _slow_mode_msg(func, tupled_inputs, diff_idx, j, func_out_pos, output, rtol, atol, eps):
    """PyTorch's explanation after a fast-mode mismatch: the full Jacobians
    of output ``output`` (``func``'s output ``func_out_pos``) with respect to
    the ``j``-th input requiring grad (``tupled_inputs[diff_idx[j]]``)."""
    slow_numerical = _numerical_jacobian(func, tupled_inputs, diff_idx[j], eps)[func_out_pos]
    diff_inputs = [tupled_inputs[k] for k in diff_idx]
    slow_analytical = _analytical_jacobian(diff_inputs, output, float("inf"), False)[j]
    msg = (
        "\nThe above quantities relating the numerical and analytical jacobians are computed \n"
        "in fast mode. See: https://github.com/pytorch/pytorch/issues/53876 for more background \n"
        "about fast mode. Below, we recompute numerical and analytical jacobians in slow mode:\n\n"
        f"Numerical:\n {_show(slow_numerical)}\n"
        f"Analytical:\n{_show(slow_analytical)}\n\n"
        f"The max per-element difference (slow mode) is: {_max_abs_diff(slow_numerical, slow_analytical)}.\n"
    )
    if _allclose(slow_analytical, slow_numerical, rtol, atol):
        msg += FAST_FAIL_SLOW_OK_MSG
    return msg


def _fast_gradcheck(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol):
    func_out = _as_tuple(func_out)
    diff_idx, diff_inputs = _diff_inputs(tupled_inputs)
    rng = np.random.default_rng(_FAST_MODE_SEED)
    all_u = [_random_unit_vector(rng, inp) for inp in diff_inputs]
    all_v = [_random_unit_vector(rng, o) for o in outputs]
    out_pos = [k for k, o in enumerate(func_out) if o.requires_grad]

    # numerical[j][i] = v_i . (J_ij u_j), J u_j by one central difference along u_j
    numerical = []
    for idx, inp, u in zip(diff_idx, diff_inputs, all_u):
        delta = _tensor(u.reshape(tuple(inp.shape)), inp.dtype) * eps
        ju = _central_difference(func, tupled_inputs, inp.data, ..., delta, eps)
        if not outputs:
            for col in ju:
                if col is not None and col.size and np.max(np.abs(col)) > nondet_tol:
                    raise GradcheckError("Numerical gradient for function expected to be zero")
        numerical.append([float(np.sum(v * ju[k])) for v, k in zip(all_v, out_pos)])

    # analytical[i][j] = (v_i^T J_ij) . u_j, v_i^T J by one backward call
    analytical = []
    for o, v in zip(outputs, all_v):
        vjs = _analytical_jacobian(diff_inputs, o, nondet_tol, check_grad_dtypes, grad_outputs=[v])
        analytical.append([float(np.sum(vj[:, 0] * u)) for vj, u in zip(vjs, all_u)])

    for j, (u, per_input) in enumerate(zip(all_u, numerical)):
        for i, n in enumerate(per_input):
            a = analytical[i][j]
            # |v^T (A - N) u| <= sum_kl v_k |A - N|_kl u_l <= atol * sum(u) * sum(v)
            adjusted_atol = atol * float(np.sum(u)) * float(np.sum(all_v[i]))
            if not _allclose(a, n, rtol, adjusted_atol):
                detail = _slow_mode_msg(func, tupled_inputs, diff_idx, j, out_pos[i], outputs[i],
                                        rtol, atol, eps)
                raise GradcheckError(_notallclose_msg(a, n, i, j) + detail)
    return True


# ---------------------------------------------------------------------------
# further backward checks
# ---------------------------------------------------------------------------

def _test_backward_mul_by_grad_output(outputs, tupled_inputs, masked):
    """Backward with all-zero grad_outputs must give zero input grads of the
    inputs' dtype, device and size (i.e. it really multiplies by grad_output)."""
    _, diff_inputs = _diff_inputs(tupled_inputs)
    if not outputs:
        return True  # no graph to run backward through; PyTorch gets all-None grads
    grads = torch.autograd.grad(outputs, diff_inputs, [torch.zeros_like(o) for o in outputs],
                                allow_unused=True)
    for gi, di in zip(grads, diff_inputs):
        if gi is None:
            continue
        values = _np(gi)
        zero = np.allclose(values, 0.0) if masked else bool(np.all(values == 0))
        if not zero:
            raise GradcheckError("backward not multiplied by grad_output")
        if gi.dtype != di.dtype:
            raise GradcheckError("grad is incorrect type")
        if str(gi.device) != str(di.device):
            raise GradcheckError("grad is incorrect device")
        if tuple(gi.shape) != tuple(di.shape):
            raise GradcheckError("grad is incorrect size")
    return True


def _test_undefined_backward_mode(func, tupled_inputs):
    """Backward must cope with output grads that are undefined (None), and
    treat them as zeros.

    PyTorch makes an output's grad undefined with an ``UndefinedGrad`` node.
    rustgrad has none; leaving an output out of ``autograd.grad``'s outputs
    has the same effect on the graph (the node that made it receives None
    for it), so each output in turn is left out while the others get zero
    grads. (The all-outputs-undefined case needs no backward call at all.)"""
    _, diff_inputs = _diff_inputs(tupled_inputs)

    def warn_bc_breaking():
        warnings.warn(
            "Backwards compatibility: New undefined gradient support checking "
            "feature is enabled by default, but it may break existing callers "
            "of this function. If this is true for you, you can call this "
            'function with "check_undefined_grad=False" to disable the feature',
            stacklevel=5,
        )

    n_outputs = len(_differentiable_outputs(func(*tupled_inputs)))
    if n_outputs < 2:
        return True
    for undefined in range(n_outputs):
        outs = [o for k, o in enumerate(_differentiable_outputs(func(*tupled_inputs))) if k != undefined]
        try:
            grads = torch.autograd.grad(outs, diff_inputs, [torch.zeros_like(o) for o in outs],
                                        allow_unused=True)
        except RuntimeError as e:
            warn_bc_breaking()
            raise GradcheckError(
                "Expected backward function to handle undefined output grads. "
                'Please look at "Notes about undefined output gradients" in '
                '"tools/autograd/derivatives.yaml"') from e
        if any(g is not None and not np.all(_np(g) == 0) for g in grads):
            warn_bc_breaking()
            raise GradcheckError(
                "Expected all input grads to be undefined or zero when all output grads are undefined "
                'or zero. Please look at "Notes about undefined output gradients" in '
                '"tools/autograd/derivatives.yaml"')
    return True


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

def gradcheck(func, inputs, *, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, nondet_tol=0.0,
              check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
              check_batched_forward_grad=False, check_forward_ad=False, check_backward_ad=True,
              fast_mode=False, masked=None):
    r"""Checks the gradients autograd computes for ``func`` against finite
    differences, with respect to the floating-point tensors in ``inputs``
    that have ``requires_grad=True``.

    Args:
        func: takes the tensors of ``inputs`` as positional arguments and
            returns a Tensor or a tuple of Tensors.
        inputs (Tensor or tuple): the arguments of ``func``; non-tensors are
            passed through. Each input that requires grad is perturbed in
            place (and restored), so it must not have overlapping memory
            (e.g. from ``expand``).
        eps (float): finite-difference step.
        atol, rtol (float): tolerances, as for ``torch.allclose``.
        raise_exception (bool): raise :class:`GradcheckError` describing the
            failure (default) or return ``False``.
        nondet_tol (float): how far two backward passes with the same
            inputs may differ.
        check_undefined_grad (bool): check that backward treats undefined
            (None) output grads as zeros.
        check_grad_dtypes (bool): check that each gradient has its input's
            dtype.
        check_backward_ad (bool): must be ``True``: rustgrad has no forward
            mode, so there is nothing else to check.
        fast_mode (bool): compare one random projection of the Jacobians
            instead of the full matrices (see the module docstring).
        masked: accepted for compatibility; only matters for sparse tensors.
        check_batched_grad, check_batched_forward_grad, check_forward_ad:
            need vmap or forward-mode AD; ``True`` raises
            ``NotImplementedError``.

    Returns:
        ``True`` if every check passes (``False`` on failure when
        ``raise_exception=False``).

    Raises:
        GradcheckError: a Jacobian mismatch, a backward that is not
            reentrant, a gradient of the wrong size/dtype, or one not
            multiplied by grad_output.
        ValueError: no input requires grad.
        RuntimeError: an input that requires grad has a stride-0 dimension.
        AssertionError: inconsistent flags, or ``func``'s outputs change
            shape or dtype when an input is perturbed.
        NotImplementedError: forward-mode or batched checks were requested.

    .. note:: The defaults are meant for float64 inputs; a UserWarning is
       issued for inputs of lower precision, for which the check will likely
       fail.
    """
    if not (check_forward_ad or check_backward_ad):
        raise AssertionError("Expected at least one of check_forward_ad or check_backward_ad to be True")
    if check_batched_grad and not check_backward_ad:
        raise AssertionError("Setting check_batched_grad=True requires check_backward_ad to be True")
    if check_batched_forward_grad and not check_forward_ad:
        raise AssertionError("Setting check_batched_forward_grad=True requires check_forward_ad to be True")
    if check_forward_ad or check_batched_forward_grad:
        raise NotImplementedError(
            "gradcheck: check_forward_ad=True and check_batched_forward_grad=True need forward-mode AD, "
            "which rustgrad does not implement; use the default check_forward_ad=False.")
    if check_batched_grad:
        raise NotImplementedError(
            "gradcheck: check_batched_grad=True needs vmap, which rustgrad does not implement; "
            "use the default check_batched_grad=False.")
    try:
        return _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad,
                                 check_grad_dtypes, fast_mode, masked)
    except GradcheckError:
        if raise_exception:
            raise
        return False


def _gradcheck_helper(func, inputs, eps, atol, rtol, nondet_tol, check_undefined_grad, check_grad_dtypes,
                      fast_mode, masked):
    tupled_inputs = _as_tuple(inputs)
    _check_inputs(tupled_inputs)
    func_out = func(*tupled_inputs)
    outputs = _differentiable_outputs(func_out)
    check = _fast_gradcheck if fast_mode else _slow_gradcheck
    check(func, func_out, tupled_inputs, outputs, eps, rtol, atol, check_grad_dtypes, nondet_tol)
    _test_backward_mul_by_grad_output(outputs, tupled_inputs, masked)
    if check_undefined_grad:
        _test_undefined_backward_mode(func, tupled_inputs)
    return True


def gradgradcheck(func, inputs, grad_outputs=None, *, eps=1e-6, atol=1e-5, rtol=1e-3,
                  gen_non_contig_grad_outputs=False, raise_exception=True, nondet_tol=0.0,
                  check_undefined_grad=True, check_grad_dtypes=False, check_batched_grad=False,
                  check_fwd_over_rev=False, check_rev_over_rev=True, fast_mode=False, masked=False):
    r"""Checks second derivatives: runs :func:`gradcheck` on the function
    ``(inputs, grad_outputs) -> autograd.grad(func(inputs), inputs,
    grad_outputs, create_graph=True)``, i.e. on the vector-Jacobian product,
    with respect to both the inputs and ``grad_outputs``.

    Args:
        func, inputs, eps, atol, rtol, raise_exception, nondet_tol,
            check_undefined_grad, check_grad_dtypes, fast_mode, masked: as
            for :func:`gradcheck`.
        grad_outputs (Tensor or tuple, optional): the vectors of the
            vector-Jacobian product, one per differentiable output of
            ``func``. By default random values uniform in [-1, 1) with the
            outputs' shapes and (floating) dtypes (float64 for non-float
            outputs), drawn from rustgrad's global RNG, with
            ``requires_grad=True``.
        gen_non_contig_grad_outputs (bool): make the generated
            ``grad_outputs`` non-contiguous (every other element of a
            larger buffer).
        check_rev_over_rev (bool): must be ``True``.
        check_fwd_over_rev, check_batched_grad: need forward-mode AD / vmap;
            ``True`` raises ``NotImplementedError``.

    Returns:
        ``True`` if every check passes (``False`` on failure when
        ``raise_exception=False``).
    """
    if not (check_fwd_over_rev or check_rev_over_rev):
        raise AssertionError("Expected at least one of check_fwd_over_rev or check_rev_over_rev to be True")
    if check_undefined_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_undefined_grad=True requires check_rev_over_rev to be True")
    if check_batched_grad and not check_rev_over_rev:
        raise AssertionError("Setting check_batched_grad=True requires check_rev_over_rev to be True")
    tupled_inputs = _as_tuple(inputs)

    if grad_outputs is None:
        tupled_grad_outputs = tuple(
            _random_grad_output(o, gen_non_contig_grad_outputs)
            for o in _differentiable_outputs(func(*tupled_inputs)))
    else:
        tupled_grad_outputs = _as_tuple(grad_outputs)
    num_outputs = len(tupled_grad_outputs)

    # gradcheck's perturbations go through .data, but remember which
    # arguments must require grad inside new_func all the same.
    diff_input_args_indices = {i for i, x in enumerate(tupled_inputs) if torch.is_tensor(x) and x.requires_grad}
    diff_grad_output_indices = {i for i, x in enumerate(tupled_grad_outputs) if x.requires_grad}

    def new_func(*args):
        input_args = tuple(x.requires_grad_() if i in diff_input_args_indices else x
                           for i, x in enumerate(args[:-num_outputs]))
        outputs = _differentiable_outputs(func(*input_args))
        grad_outs = tuple(x.requires_grad_() if i in diff_grad_output_indices else x
                          for i, x in enumerate(args[-num_outputs:]))
        diff_input_args = tuple(x for i, x in enumerate(input_args) if i in diff_input_args_indices)
        grad_inputs = torch.autograd.grad(outputs, diff_input_args, grad_outs, create_graph=True,
                                          allow_unused=True)
        return tuple(g for g in grad_inputs if g is not None)

    return gradcheck(new_func, tupled_inputs + tupled_grad_outputs, eps=eps, atol=atol, rtol=rtol,
                     raise_exception=raise_exception, nondet_tol=nondet_tol,
                     check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
                     check_batched_grad=check_batched_grad, fast_mode=fast_mode,
                     check_forward_ad=check_fwd_over_rev, check_backward_ad=check_rev_over_rev,
                     masked=masked)


def _random_grad_output(output, noncontiguous):
    """Like ``torch.testing.make_tensor(output.shape, low=-1, high=1,
    requires_grad=True, noncontiguous=...)``: uniform [-1, 1) values in the
    output's dtype (float64 if it is not floating point)."""
    dtype = output.dtype if output.is_floating_point() else torch.float64
    shape = tuple(output.shape)
    if noncontiguous and output.numel() > 1:
        # every other element of a buffer twice as long in the last dimension
        g = (torch.rand(shape + (2,), dtype=dtype) * 2 - 1)[..., 0]
    else:
        g = torch.rand(shape, dtype=dtype) * 2 - 1
    return g.detach().requires_grad_()
