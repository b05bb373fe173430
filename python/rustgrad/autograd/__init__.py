"""``torch.autograd``: the backward entry point and grad-mode helpers."""

from .. import _core
from ..grad_mode import enable_grad, no_grad, set_grad_enabled

Node = _core.Node


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None):
    """Computes the sum of gradients of ``tensors`` with respect to the graph
    leaves, accumulating them into each leaf's ``.grad``."""
    _core._backward(tensors, grad_tensors, retain_graph, create_graph, inputs)


__all__ = ["backward", "no_grad", "enable_grad", "set_grad_enabled", "Node"]
