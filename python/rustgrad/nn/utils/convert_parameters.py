"""``torch.nn.utils.convert_parameters``: flatten parameters into one
vector and back (after ``torch/nn/utils/convert_parameters.py``)."""

from ... import _core
from ..._core import Tensor
from ..._utils import typename

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters):
    """The concatenation of the flattened ``parameters`` (differentiable,
    like ``torch.cat`` of ``p.view(-1)``)."""
    return _core.cat([p.reshape(-1) for p in parameters])


def vector_to_parameters(vec, parameters):
    """Assigns consecutive slices of the 1-D ``vec`` to the ``.data`` of
    each parameter (reshaped to it; the parameters then alias ``vec``).
    Raises TypeError when ``vec`` is not a tensor."""
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected torch.Tensor, but got: {typename(vec)}")
    pointer = 0
    for param in parameters:
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param
