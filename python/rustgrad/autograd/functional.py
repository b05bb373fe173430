"""``torch.autograd.functional``: Jacobians, Hessians and their products with
vectors, for functions of tensors, built on :func:`rustgrad.autograd.grad`.

Conventions (PyTorch's):

* ``inputs`` is a Tensor or a tuple of Tensors, passed to ``func`` as
  positional arguments; ``func`` returns a Tensor or a tuple of Tensors.
  Results mirror that structure: a tuple where the input (or output) was a
  tuple, a bare Tensor where it was a Tensor.
* ``func`` is called on fresh tensors that require grad (``inputs`` are
  never modified and never get a ``.grad``); results are detached unless
  ``create_graph=True``, in which case they are differentiable (also with
  respect to the original inputs, when those require grad).
* Where an output does not depend on an input, the mathematically right
  zeros are returned; ``strict=True`` raises ``RuntimeError`` instead.

Formulas, with ``J = d func(x) / d x``:

* ``vjp``: ``v^T J`` is one reverse pass, ``autograd.grad(y, x, v)``.
* ``jvp``: ``J v`` without forward mode, by the double-vjp trick: ``g(u) =
  u^T J`` (``autograd.grad(y, x, u, create_graph=True)``) is linear in
  ``u``, so differentiating it with respect to ``u`` along ``v`` gives
  ``d (u^T J v) / d u = J v``.
* ``jacobian``: one ``vjp`` per output element ``r``, with the one-hot
  ``e_r``: ``e_r^T J`` is row ``r``. Result shape ``output.shape +
  input.shape``, in the input's dtype.
* ``hessian``: the ``jacobian`` of the gradient (``jacobian`` of a
  ``jacobian`` with ``create_graph=True``). Shape ``input_i.shape +
  input_j.shape`` for each pair.
* ``vhp``: ``v^T H = d (grad f . v) / d x``: a vjp of the gradient.
* ``hvp``: ``H v``, by the double-vjp trick applied to the gradient. (Equal
  to ``vhp`` when ``f`` is twice continuously differentiable, since ``H`` is
  then symmetric.)

Not available in rustgrad: ``vectorize=True`` (needs vmap) and
``strategy="forward-mode"`` (needs forward-mode AD); both raise
``NotImplementedError``.
"""

import rustgrad as torch  # PyTorch's names; only used at call time (import cycle)

__all__ = ["vjp", "jvp", "jacobian", "hessian", "hvp", "vhp"]


# ---------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------

def _as_tuple(inp, arg_name, fn_name):
    """``(was_tuple, tuple_of_tensors)``; TypeError for anything that is not
    a Tensor or a tuple of Tensors."""
    is_inp_tuple = isinstance(inp, tuple)
    if not is_inp_tuple:
        inp = (inp,)
    for i, el in enumerate(inp):
        if not isinstance(el, torch.Tensor):
            if is_inp_tuple:
                raise TypeError(
                    f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the"
                    f" value at index {i} has type {type(el)}.")
            raise TypeError(
                f"The {arg_name} given to {fn_name} must be either a Tensor or a tuple of Tensors but the"
                f" given {arg_name} has type {type(el)}.")
    return is_inp_tuple, inp


def _tuple_postprocess(res, to_unpack):
    """Undoes ``_as_tuple``: ``to_unpack`` is one flag, or two for a nested
    (outer, inner) tuple of results."""
    if isinstance(to_unpack, tuple):
        if not to_unpack[1]:
            res = tuple(el[0] for el in res)
        if not to_unpack[0]:
            res = res[0]
    elif not to_unpack:
        res = res[0]
    return res


def _grad_preprocess(inputs, create_graph, need_graph):
    """New tensor objects for the user function. With ``create_graph`` an
    input that requires grad is kept connected (a view of it) so the result
    can be differentiated with respect to it; otherwise it is detached and
    requires grad only if ``need_graph``. Always a new object, so that the
    inputs we differentiate with respect to are not confused with the same
    tensors captured by ``func`` (pytorch/pytorch#32576)."""
    res = []
    for inp in inputs:
        if create_graph and inp.requires_grad:
            res.append(inp.view(tuple(inp.shape)))
        else:
            res.append(inp.detach().requires_grad_(need_graph))
    return tuple(res)


def _grad_postprocess(inputs, create_graph):
    """Detaches results (nested tuples too) unless ``create_graph``."""
    if isinstance(inputs[0], torch.Tensor):
        return inputs if create_graph else tuple(inp.detach() for inp in inputs)
    return tuple(_grad_postprocess(inp, create_graph) for inp in inputs)


def _validate_v(v, other, is_other_tuple):
    """``v`` must have one tensor per tensor of ``other``, of the same size."""
    if len(other) != len(v):
        if is_other_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(other)} but got {len(v)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for idx, (el_v, el_other) in enumerate(zip(v, other)):
        if el_v.size() != el_other.size():
            prepend = f"Entry {idx} in " if is_other_tuple else ""
            raise RuntimeError(
                f"{prepend}v has invalid size: should be {el_other.size()} but got {el_v.size()}.")


def _check_requires_grad(inputs, input_type, strict):
    """In strict mode, every tensor of ``inputs`` must require grad (and not
    be None); the message depends on what they are."""
    if not strict:
        return
    if input_type not in ("outputs", "grad_inputs", "jacobian", "hessian"):
        raise RuntimeError("Invalid input_type to _check_requires_grad")
    for i, inp in enumerate(inputs):
        if inp is None:
            # only grad_inputs can hold None
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}."
                " This is not allowed in strict mode.")
        if inp.requires_grad:
            continue
        if input_type == "hessian":
            raise RuntimeError(
                f"The hessian of the user-provided function with respect to input {i}"
                " is independent of the input. This is not allowed in strict mode."
                " You should ensure that your function is thrice differentiable and that"
                " the hessian depends on the inputs.")
        if input_type == "jacobian":
            raise RuntimeError(
                "While computing the hessian, found that the jacobian of the user-provided"
                f" function with respect to input {i} is independent of the input. This is not"
                " allowed in strict mode. You should ensure that your function is twice"
                " differentiable and that the jacobian depends on the inputs (this would be"
                " violated by a linear function for example).")
        if input_type == "grad_inputs":
            raise RuntimeError(
                f"The gradient with respect to input {i} is independent of the inputs of the"
                " user-provided function. This is not allowed in strict mode.")
        raise RuntimeError(
            f"Output {i} of the user-provided function does not require gradients."
            " The outputs must be computed in a differentiable manner from the input"
            " when running in strict mode.")


def _autograd_grad(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None):
    """``autograd.grad`` that skips outputs which are None or do not require
    grad (returning all None if none is left) and allows unused inputs."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    pairs = [(out, g) for out, g in zip(outputs, grad_outputs) if out is not None and out.requires_grad]
    if not pairs:
        return (None,) * len(inputs)
    return torch.autograd.grad([p[0] for p in pairs], inputs, [p[1] for p in pairs], allow_unused=True,
                               create_graph=create_graph, retain_graph=retain_graph)


def _fill_in_zeros(grads, refs, strict, create_graph, stage):
    """Replaces None grads by zeros shaped like ``refs`` (or raises in strict
    mode). ``stage`` names the backward pass, for the error message."""
    if stage not in ("back", "back_trick", "double_back", "double_back_trick"):
        raise RuntimeError(f"Invalid stage argument '{stage}' to _fill_in_zeros")
    res = ()
    for i, grads_i in enumerate(grads):
        if grads_i is None:
            if strict:
                if stage == "back":
                    raise RuntimeError(
                        "The output of the user-provided function is independent of "
                        f"input {i}. This is not allowed in strict mode.")
                if stage == "back_trick":
                    raise RuntimeError(
                        f"The gradient with respect to the input is independent of entry {i}"
                        " in the grad_outputs when using the double backward trick to compute"
                        " forward mode gradients. This is not allowed in strict mode.")
                if stage == "double_back":
                    raise RuntimeError(
                        "The jacobian of the user-provided function is independent of "
                        f"input {i}. This is not allowed in strict mode.")
                raise RuntimeError(
                    "The hessian of the user-provided function is independent of "
                    f"entry {i} in the grad_jacobian. This is not allowed in strict "
                    "mode as it prevents from using the double backward trick to "
                    "replace forward mode AD.")
            grads_i = torch.zeros_like(refs[i])
        elif strict and create_graph and not grads_i.requires_grad:
            if "double" not in stage:
                raise RuntimeError(
                    "The jacobian of the user-provided function is independent of "
                    f"input {i}. This is not allowed in strict mode when create_graph=True.")
            raise RuntimeError(
                "The hessian of the user-provided function is independent of "
                f"input {i}. This is not allowed in strict mode when create_graph=True.")
        res += (grads_i,)
    return res


def _prepare_v(v, refs, is_refs_tuple, create_graph, fn_name, none_msg):
    """Checks ``v`` against ``refs`` (or that it may be omitted: a single
    one-element ref, for which autograd uses an implicit 1)."""
    if v is not None:
        _, v = _as_tuple(v, "v", fn_name)
        v = _grad_preprocess(v, create_graph=create_graph, need_graph=False)
        _validate_v(v, refs, is_refs_tuple)
        return v
    if len(refs) != 1 or refs[0].nelement() != 1:
        raise RuntimeError(none_msg)
    return None


_V_NONE_OUTPUT = ("The vector v can only be None if the user-provided function returns "
                  "a single Tensor with a single element.")
_V_NONE_INPUT = ("The vector v can only be None if the input to the user-provided function "
                 "is a single Tensor with a single element.")


def _single_scalar_output(outputs, is_outputs_tuple, fn_name):
    if is_outputs_tuple or not isinstance(outputs[0], torch.Tensor):
        raise RuntimeError(f"The function given to {fn_name} should return a single Tensor")
    if outputs[0].nelement() != 1:
        raise RuntimeError(f"The Tensor returned by the function given to {fn_name} should contain a single element")


# ---------------------------------------------------------------------------
# public API
# ---------------------------------------------------------------------------

def _prepare_inputs(inputs, create_graph, fn_name):
    """``(is_tuple, inputs)`` with the inputs made ready to differentiate."""
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", fn_name)
    return is_inputs_tuple, _grad_preprocess(inputs, create_graph=create_graph, need_graph=True)


def _call(func, inputs, strict, fn_name):
    """``(is_tuple, outputs)`` of ``func(*inputs)``, checked for ``strict``."""
    is_outputs_tuple, outputs = _as_tuple(func(*inputs), "outputs of the user-provided function", fn_name)
    _check_requires_grad(outputs, "outputs", strict=strict)
    return is_outputs_tuple, outputs


def _vjp_stage(outputs, inputs, v, create_graph, strict, refs, stage):
    """The gradient of ``outputs`` weighted by ``v`` with respect to
    ``inputs`` (zeros where independent, shaped like ``refs``), recorded
    only under ``create_graph``: the last step of every product here."""
    with torch.set_grad_enabled(True if create_graph else torch.is_grad_enabled()):
        grad_res = _autograd_grad(outputs, inputs, v, create_graph=create_graph)
        return _fill_in_zeros(grad_res, refs, strict, create_graph, stage)


def _finish(outputs, result, create_graph, is_outputs_tuple, is_result_tuple):
    """``(func_output, result)`` as the public functions return them."""
    return (_tuple_postprocess(_grad_postprocess(outputs, create_graph), is_outputs_tuple),
            _tuple_postprocess(_grad_postprocess(result, create_graph), is_result_tuple))


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    r"""Vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Args:
        func: Tensor(s) -> Tensor or tuple of Tensors.
        inputs (Tensor or tuple of Tensors): where to evaluate ``func``.
        v (Tensor or tuple of Tensors): one tensor per output, of the
            output's size. May be omitted when ``func`` returns a single
            one-element Tensor (then ``v = 1``).
        create_graph (bool): make the results differentiable.
        strict (bool): raise if an output does not require grad or if all
            outputs are independent of some input, instead of returning
            zeros for it.

    Returns:
        ``(func_output, vjp)``: ``func(*inputs)`` and ``v^T J``, shaped like
        the inputs (a tuple iff ``inputs`` is).

    Raises:
        TypeError: ``inputs``, ``v`` or the outputs are not Tensors.
        RuntimeError: a bad ``v`` (wrong number of tensors or sizes, or
            omitted for a non-scalar output) or a strict-mode violation.
    """
    with torch.enable_grad():
        is_inputs_tuple, inputs = _prepare_inputs(inputs, create_graph, "vjp")
        is_outputs_tuple, outputs = _call(func, inputs, strict, "vjp")
        v = _prepare_v(v, outputs, is_outputs_tuple, create_graph, "vjp", _V_NONE_OUTPUT)

    result = _vjp_stage(outputs, inputs, v, create_graph, strict, inputs, "back")

    return _finish(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    r"""Jacobian-vector product ``J v`` of ``func`` at ``inputs``, computed
    with two reverse passes (the double-vjp trick, see the module
    docstring) since rustgrad has no forward mode.

    Args:
        func: Tensor(s) -> Tensor or tuple of Tensors.
        inputs (Tensor or tuple of Tensors): where to evaluate ``func``.
        v (Tensor or tuple of Tensors): one tensor per input, of the input's
            size. May be omitted when ``inputs`` is a single one-element
            Tensor.
        create_graph, strict: as for :func:`vjp`.

    Returns:
        ``(func_output, jvp)``, ``jvp`` shaped like the outputs (a tuple iff
        ``func`` returns one).

    Raises:
        TypeError, RuntimeError: as for :func:`vjp`.
    """
    with torch.enable_grad():
        is_inputs_tuple, inputs = _prepare_inputs(inputs, create_graph, "jvp")
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "jvp", _V_NONE_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, strict, "jvp")
        # g(u) = u^T J is linear in u, so the value of u does not matter; it
        # only has to require grad (zeros: no inf or nan can appear).
        grad_outputs = tuple(torch.zeros_like(out, requires_grad=True) for out in outputs)
        grad_inputs = _autograd_grad(outputs, inputs, grad_outputs, create_graph=True)
        _check_requires_grad(grad_inputs, "grad_inputs", strict=strict)

    # d (u^T J v) / du = J v
    result = _vjp_stage(grad_inputs, grad_outputs, v, create_graph, strict, outputs, "back_trick")

    return _finish(outputs, result, create_graph, is_outputs_tuple, is_outputs_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False, strategy="reverse-mode"):
    r"""The Jacobian of ``func`` at ``inputs``, by reverse mode: one
    ``autograd.grad`` call per output element.

    Args:
        func: Tensor(s) -> Tensor or tuple of Tensors.
        inputs (Tensor or tuple of Tensors): where to evaluate ``func``.
        create_graph (bool): make the Jacobian differentiable.
        strict (bool): raise if an output does not require grad or is
            independent of an input, instead of returning zeros.
        vectorize (bool): must be ``False`` (needs vmap).
        strategy (str): must be ``"reverse-mode"`` (``"forward-mode"``
            needs forward-mode AD).

    Returns:
        ``J`` with ``J[i][j]`` the Jacobian of output ``i`` with respect to
        input ``j``, of shape ``output_i.shape + input_j.shape`` and input
        ``j``'s dtype: a Tensor for one input and one output, a tuple if
        either is a tuple, a tuple of tuples if both are.

    Raises:
        TypeError: ``inputs`` or the outputs are not Tensors.
        RuntimeError: a strict-mode violation.
        AssertionError: an unknown ``strategy``.
        NotImplementedError: ``vectorize=True`` or
            ``strategy="forward-mode"``.
    """
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(
            'Expected strategy to be either "forward-mode" or "reverse-mode". Hint: If your '
            'function has more outputs than inputs, "forward-mode" tends to be more performant. '
            'Otherwise, prefer to use "reverse-mode".')
    if strategy == "forward-mode":
        raise NotImplementedError(
            'torch.autograd.functional.jacobian: strategy="forward-mode" needs forward-mode AD, '
            'which rustgrad does not implement. Use strategy="reverse-mode" (the default).')
    if vectorize:
        raise NotImplementedError(
            "torch.autograd.functional.jacobian: vectorize=True needs vmap, which rustgrad does not "
            "implement. Use vectorize=False (the default): one autograd.grad call per output element.")

    with torch.enable_grad():
        is_inputs_tuple, inputs = _prepare_inputs(inputs, create_graph, "jacobian")
        is_outputs_tuple, outputs = _call(func, inputs, strict, "jacobian")

        jacobian = ()
        for i, out in enumerate(outputs):
            rows = tuple([] for _ in inputs)  # rows[j][r] = d out.flatten()[r] / d inputs[j]
            flat_out = out.reshape(-1)
            for r in range(out.nelement()):
                vj = _autograd_grad((flat_out[r],), inputs, retain_graph=True, create_graph=create_graph)
                for j, (rows_j, vj_el, inp) in enumerate(zip(rows, vj, inputs)):
                    if vj_el is not None:
                        if strict and create_graph and not vj_el.requires_grad:
                            raise RuntimeError(
                                "The jacobian of the user-provided function is "
                                f"independent of input {i}. This is not allowed in "
                                "strict mode when create_graph=True.")
                        rows_j.append(vj_el)
                    else:
                        if strict:
                            raise RuntimeError(
                                f"Output {i} of the user-provided function is "
                                f"independent of input {j}. This is not allowed in "
                                "strict mode.")
                        rows_j.append(torch.zeros_like(inp))
            jacobian += (tuple(torch.stack(rows_j).reshape(tuple(out.shape) + tuple(inp.shape))
                               for rows_j, inp in zip(rows, inputs)),)

        jacobian = _grad_postprocess(jacobian, create_graph)
        return _tuple_postprocess(jacobian, (is_outputs_tuple, is_inputs_tuple))


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    r"""The Hessian of a scalar function ``func`` at ``inputs``: the
    ``jacobian`` of its gradient.

    Args:
        func: Tensor(s) -> a Tensor with a single element.
        inputs (Tensor or tuple of Tensors): where to evaluate ``func``.
        create_graph (bool): make the Hessian differentiable.
        strict (bool): raise if the output does not require grad, or if the
            gradient or Hessian is independent of an input (e.g. a linear
            function), instead of returning zeros.
        vectorize (bool): must be ``False`` (needs vmap).
        outer_jacobian_strategy (str): must be ``"reverse-mode"``.

    Returns:
        ``H`` with ``H[i][j]`` of shape ``input_i.shape + input_j.shape``
        and input ``i``'s dtype: a Tensor for a single input, a tuple of
        tuples for a tuple of inputs.

    Raises:
        RuntimeError: ``func`` does not return a single one-element Tensor,
            or a strict-mode violation.
        TypeError, AssertionError, NotImplementedError: as for
            :func:`jacobian`.
    """
    is_inputs_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")
    if outer_jacobian_strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError('Expected strategy to be either "forward-mode" or "reverse-mode".')

    def ensure_single_output_function(*inp):
        out = func(*inp)
        is_out_tuple, t_out = _as_tuple(out, "outputs of the user-provided function", "hessian")
        _check_requires_grad(t_out, "outputs", strict=strict)
        _single_scalar_output(t_out, is_out_tuple, "hessian")
        return out.squeeze()

    def jac_func(*inp):
        jac = jacobian(ensure_single_output_function, inp, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        return jac

    res = jacobian(jac_func, inputs, create_graph=create_graph, strict=strict, vectorize=vectorize,
                   strategy=outer_jacobian_strategy)
    return _tuple_postprocess(res, (is_inputs_tuple, is_inputs_tuple))


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    r"""Vector-Hessian product ``v^T H`` of a scalar function ``func`` at
    ``inputs``: the vjp of the gradient with ``v``.

    Args:
        func: Tensor(s) -> a Tensor with a single element.
        inputs (Tensor or tuple of Tensors): where to evaluate ``func``.
        v (Tensor or tuple of Tensors): one tensor per input, of the input's
            size. May be omitted when ``inputs`` is a single one-element
            Tensor.
        create_graph, strict: as for :func:`vjp`.

    Returns:
        ``(func_output, vhp)``, ``vhp`` shaped like the inputs.

    Raises:
        RuntimeError: ``func`` does not return a single one-element Tensor,
            a bad ``v``, or a strict-mode violation.
        TypeError: ``inputs``, ``v`` or the output are not Tensors.
    """
    with torch.enable_grad():
        is_inputs_tuple, inputs = _prepare_inputs(inputs, create_graph, "vhp")
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "vhp", _V_NONE_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, strict, "vhp")
        _single_scalar_output(outputs, is_outputs_tuple, "vhp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)

    # v^T H = d (grad f . v) / dx
    result = _vjp_stage(jac, inputs, v, create_graph, strict, inputs, "double_back")

    return _finish(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    r"""Hessian-vector product ``H v`` of a scalar function ``func`` at
    ``inputs``, by the double-vjp trick on the gradient: with ``g(u) = u^T
    H`` (a vjp of the gradient), ``d (g(u) . v) / du = H v``. Slower than
    :func:`vhp`, which gives the same result for twice continuously
    differentiable ``func``.

    Args, Returns, Raises: as for :func:`vhp`.
    """
    with torch.enable_grad():
        is_inputs_tuple, inputs = _prepare_inputs(inputs, create_graph, "hvp")
        v = _prepare_v(v, inputs, is_inputs_tuple, create_graph, "hvp", _V_NONE_INPUT)
        is_outputs_tuple, outputs = _call(func, inputs, strict, "hvp")
        _single_scalar_output(outputs, is_outputs_tuple, "hvp")
        jac = _autograd_grad(outputs, inputs, create_graph=True)
        _check_requires_grad(jac, "jacobian", strict=strict)
        grad_jac = tuple(torch.zeros_like(inp, requires_grad=True) for inp in inputs)
        double_back = _autograd_grad(jac, inputs, grad_jac, create_graph=True)
        _check_requires_grad(jac, "hessian", strict=strict)

    result = _vjp_stage(double_back, grad_jac, v, create_graph, strict, inputs, "double_back_trick")

    return _finish(outputs, result, create_graph, is_outputs_tuple, is_inputs_tuple)
