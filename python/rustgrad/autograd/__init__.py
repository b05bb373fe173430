"""``torch.autograd``: backward and grad, custom Functions, grad modes,
anomaly detection, graph introspection and saved-tensor hooks."""

from .. import _core
from ..grad_mode import enable_grad, inference_mode, no_grad, set_grad_enabled
from .anomaly_mode import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .function import Function, once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from . import functional, graph

Node = graph.Node


def _tensors(obj):
    return (obj,) if isinstance(obj, _core.Tensor) else tuple(obj)


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, grad_variables=None, inputs=None):
    """Computes the sum of gradients of ``tensors`` with respect to the graph
    leaves, accumulating them into each leaf's ``.grad`` (or only into the
    ``.grad`` of ``inputs``, leaves or not, when given).

    Raises RuntimeError as PyTorch does: a root that does not require grad,
    a non-scalar root without a gradient, a graph already freed."""
    if grad_variables is not None:
        grad_tensors = grad_variables
    if inputs is not None:
        inputs = _tensors(inputs)
    _core._backward(_tensors(tensors), grad_tensors, retain_graph, create_graph, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, only_inputs=True,
         allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """Returns the gradients of ``outputs`` with respect to each of ``inputs``
    as a tuple (``.grad`` is left untouched); ``inputs`` need not be leaves.

    ``grad_outputs`` weights each output (a vector-Jacobian product); it may
    be omitted for scalar outputs. ``create_graph=True`` records the
    backward pass so the result can be differentiated again. An input the
    outputs do not depend on is an error unless ``allow_unused=True`` (its
    gradient is then ``None``, or zeros with ``materialize_grads=True``)."""
    if materialize_grads and allow_unused is False:
        raise ValueError(
            "Expected allow_unused to be True or not passed when materialize_grads=True, "
            "but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if is_grads_batched:
        raise NotImplementedError("grad(is_grads_batched=True) needs vmap, which rustgrad does not have")
    outputs = _tensors(outputs)
    inputs = _tensors(inputs)
    if not inputs:
        raise RuntimeError("`inputs` argument to `grad()` cannot be empty.")
    if grad_outputs is not None:
        grad_outputs = _tensors(grad_outputs)
    result = _core._grad(outputs, inputs, grad_outputs, retain_graph, create_graph)
    for i, g in enumerate(result):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"The differentiated Tensor at index {i} appears to not have been used in the graph. "
                "Set allow_unused=True if this is the desired behavior.")
    if materialize_grads:
        result = [_core.zeros_like(x) if g is None else g for g, x in zip(result, inputs)]
    return tuple(result)


__all__ = [
    "backward", "grad", "Function", "once_differentiable", "no_grad", "enable_grad",
    "set_grad_enabled", "inference_mode", "detect_anomaly", "set_detect_anomaly",
    "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "graph", "Node", "functional",
    "gradcheck", "gradgradcheck", "GradcheckError",
]
