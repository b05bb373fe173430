"""Matrix and vector products with PyTorch's names and shape checks
(``mm``, ``bmm``, ``mv``, ``dot``, ``outer``, ``addmm``, ``baddbmm``), both
as ``torch.`` functions and as Tensor methods. Each checks its operands as
PyTorch does (same error text) and computes through ``matmul``, whose
backward rule serves them all."""

from . import _core

_Tensor = _core.Tensor


def _size(t):
    return "x".join(str(s) for s in t.shape)


def mm(input, mat2):
    """``input @ mat2`` for matrices ``[n, m]`` and ``[m, p]`` -> ``[n, p]``.
    RuntimeError for other ranks or mismatched inner sizes."""
    for name, t in (("self", input), ("mat2", mat2)):
        if t.dim() != 2:
            raise RuntimeError(f"{name} must be a matrix" if name == "mat2" else
                               f"mm: self must be a matrix, got {t.dim()}-D tensor")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(f"mm: mat1 and mat2 shapes cannot be multiplied ({_size(input)} and {_size(mat2)})")
    return input.matmul(mat2)


def bmm(input, mat2):
    """Batched ``[b, n, m] @ [b, m, p] -> [b, n, p]`` (no broadcasting)."""
    if input.dim() != 3:
        raise RuntimeError("batch1 must be a 3D tensor")
    if mat2.dim() != 3:
        raise RuntimeError("batch2 must be a 3D tensor")
    b, n, m = input.shape
    if tuple(mat2.shape[:2]) != (b, m):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {m}] "
                           f"but got: [{mat2.shape[0]}, {mat2.shape[1]}].")
    return input.matmul(mat2)


def mv(input, vec):
    """Matrix-vector product ``[n, m] @ [m] -> [n]``."""
    if input.dim() != 2 or vec.dim() != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got 1, {input.dim()}, {vec.dim()}")
    if input.shape[1] != vec.shape[0]:
        raise RuntimeError(f"size mismatch, got input ({input.shape[0]}), mat ({_size(input)}), vec ({vec.shape[0]})")
    return input.matmul(vec)


def dot(input, tensor):
    """Inner product of two 1-D tensors of the same length (a 0-d tensor)."""
    if input.dim() != 1 or tensor.dim() != 1:
        raise RuntimeError(f"1D tensors expected, but got {input.dim()}D and {tensor.dim()}D tensors")
    if input.shape[0] != tensor.shape[0]:
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{input.shape[0]}] and src [{tensor.shape[0]}] "
                           f"to have the same number of elements, but got {input.shape[0]} and {tensor.shape[0]} "
                           "elements respectively")
    return input.matmul(tensor)


def outer(input, vec2):
    """Outer product of 1-D tensors ``[n]`` and ``[m]`` -> ``[n, m]``."""
    for name, t in (("self", input), ("vec2", vec2)):
        if t.dim() != 1:
            raise RuntimeError(f"outer: Expected 1-D argument {name}, but got {t.dim()}-D")
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    """``beta * input + alpha * (mat1 @ mat2)``, ``input`` broadcast to the
    product's shape."""
    return _scaled_sum(input, mm(mat1, mat2), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    """``beta * input + alpha * bmm(batch1, batch2)``."""
    return _scaled_sum(input, bmm(batch1, batch2), beta, alpha)


def _scaled_sum(input, product, beta, alpha):
    product = product if alpha == 1 else product * alpha
    if beta == 0:  # PyTorch ignores `input` (even NaN in it) when beta is 0
        return product + 0 * product
    return (input if beta == 1 else input * beta) + product


_FUNCTIONS = {"mm": mm, "bmm": bmm, "mv": mv, "dot": dot, "outer": outer, "addmm": addmm, "baddbmm": baddbmm}
for _name, _f in _FUNCTIONS.items():
    setattr(_Tensor, _name, _f)

__all__ = list(_FUNCTIONS)
