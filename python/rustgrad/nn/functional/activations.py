"""``torch.nn.functional``: activations."""

from ... import _core


def _maybe_inplace(input, output, inplace):
    """``inplace=True``: the result is written into ``input`` (PyTorch's
    in-place errors apply, e.g. on a leaf that requires grad)."""
    return input.copy_(output) if inplace else output


def relu(input, inplace=False):
    """``max(x, 0)`` (NaN and -0. pass through)."""
    return input.relu_() if inplace else input.relu()


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def silu(input, inplace=False):
    """``x * sigmoid(x)``."""
    return _maybe_inplace(input, _core.silu(input), inplace)


def mish(input, inplace=False):
    """``x * tanh(softplus(x))``."""
    return _maybe_inplace(input, _core.mish(input), inplace)


def softsign(input):
    """``x / (1 + |x|)``."""
    return _core.softsign(input)


def softplus(input, beta=1.0, threshold=20.0):
    """``log(1 + exp(beta * x)) / beta``, linear where ``beta * x > threshold``."""
    return _core.softplus(input, beta, threshold)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _maybe_inplace(input, _core.leaky_relu(input, negative_slope), inplace)


def elu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(input, _core.elu(input, alpha), inplace)


def selu(input, inplace=False):
    """ELU with the constants of Klambauer et al. (2017)."""
    return _maybe_inplace(input, _core.selu(input), inplace)


def celu(input, alpha=1.0, inplace=False):
    return _maybe_inplace(input, _core.celu(input, alpha), inplace)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _maybe_inplace(input, _core.hardtanh(input, min_val, max_val), inplace)


def relu6(input, inplace=False):
    return _maybe_inplace(input, _core.relu6(input), inplace)


def hardsigmoid(input, inplace=False):
    return _maybe_inplace(input, _core.hardsigmoid(input), inplace)


def hardswish(input, inplace=False):
    return _maybe_inplace(input, _core.hardswish(input), inplace)


def gelu(input, approximate="none"):
    """GELU (Hendrycks & Gimpel 2016), exact or with ``approximate='tanh'``."""
    return _core.gelu(input, approximate)
