"""Random factories and in-place samplers built on the core generators
(``rand``/``randn``, seeded by ``manual_seed``): ``randperm``, ``normal``,
``bernoulli``, ``multinomial``, and ``Tensor.uniform_``/``normal_``/
``bernoulli_``/``exponential_``/``random_``. Their values come from
rustgrad's own stream (the same distributions as PyTorch's, other
numbers)."""

from __future__ import annotations

from . import _core
from ._composites import _type_name
from ._arg_parser import Sequence, Tensor, dtype, parsed
from ._utils import NOT_GIVEN

_Tensor = _core.Tensor


def _uniform_like(x, generator):
    """float64 uniforms on [0, 1) shaped like ``x``, from ``generator`` (a
    ``torch.Generator``) or the default generator."""
    return _core.rand(x.shape, dtype=_core.float64, generator=generator)


@parsed
def randperm(n: int, *, dtype: dtype | None = None, device=None, requires_grad=False, generator=None):
    """A random permutation of ``0..n-1`` (int64 by default), the order of
    ``n`` uniform draws."""
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    perm = _core.rand(n, dtype=_core.float64, generator=generator).argsort()
    return perm if dtype is None else perm.to(dtype)


@parsed
def normal(mean: Tensor | float, std: Tensor | float = 1.0, size: Sequence[int] | None = None, *, generator=None,
           dtype: dtype | None = None):
    """Samples from ``N(mean, std^2)``: tensor ``mean``/``std`` broadcast
    together, or numbers with a ``size``. RuntimeError for a negative std."""
    if isinstance(mean, _Tensor) or isinstance(std, _Tensor):
        if isinstance(mean, _Tensor):
            _floating_only(mean, "normal_kernel_cpu")
        m = mean if isinstance(mean, _Tensor) else _core.tensor(float(mean))
        s = std if isinstance(std, _Tensor) else _core.tensor(float(std))
        if bool((s < 0).any()):
            raise RuntimeError("normal expects all elements of std >= 0.0")
        shape = (m + s).shape
        dt = m.dtype if m.is_floating_point() else _core.float32
        return (_core.randn(shape, dtype=dt, generator=generator) * s + m).detach()
    if size is None:
        raise TypeError("normal() missing required argument 'size' when mean and std are numbers")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    return _core.randn(size, dtype=dtype, generator=generator) * std + mean


@parsed
def bernoulli(input: Tensor, p: float | None = None, *, generator=None):
    """0/1 samples, 1 with probability ``input`` (or ``p``), in ``input``'s
    dtype. RuntimeError for probabilities outside [0, 1]; NotImplementedError
    for integer or bool probabilities, as PyTorch."""
    if p is None:
        _floating_only(input, "bernoulli_tensor_cpu_p_")
    prob = input if p is None else _core.full_like(input, p)
    if bool(((prob < 0) | (prob > 1)).any()):
        raise RuntimeError("Expected p_in >= 0 && p_in <= 1 to be true, but got false.")
    return (_uniform_like(prob, generator) < prob).to(input.dtype)


@parsed
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator=None):
    """``num_samples`` category indices (int64) drawn for each row of the
    1-D ``[n]`` or 2-D ``[m, n]`` float tensor of non-negative weights
    ``input`` (rows need not sum to 1): ``[num_samples]`` or
    ``[m, num_samples]``. Without replacement the indices of a row are
    distinct. RuntimeError, with PyTorch's text, for a non-float input,
    another ndim, ``num_samples <= 0``, ``num_samples > n`` without
    replacement, a weight that is negative, inf or NaN, or a row whose sum
    is not positive. Method: the exponential race (Efraimidis & Spirakis,
    2006; PyTorch's CPU kernel samples without replacement the same way):
    with ``E ~ Exp(1)`` per weight, the order of ``w / E`` is a weighted
    sample without replacement, so the top ``num_samples`` are the draw,
    and the top one of fresh keys per draw samples with replacement (memory
    ``m * num_samples * n`` then)."""
    if not input.is_floating_point():
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {_type_name(input.dtype)}")
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    n = input.shape[-1]
    if not replacement and num_samples > n:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    w = input.detach().to(_core.float64).reshape(input.shape[0] if input.dim() == 2 else 1, n)
    if not bool(((w >= 0) & (w != float("inf"))).all()):  # NaN fails `>= 0`
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if bool((w.sum(1) <= 0).any()):
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    # E = -log(U) > 0 for U uniform in [0, 1): a zero weight keys 0 (never
    # NaN), so it is drawn only after every positive one.
    if replacement:
        keys = w.unsqueeze(1) / -_core.rand(w.shape[0], num_samples, n, dtype=_core.float64, generator=generator).log()
        picks = keys.argmax(-1)
    else:
        picks = (w / -_uniform_like(w, generator).log()).topk(num_samples, -1).indices
    return picks.reshape(*input.shape[:-1], num_samples)


def _floating_only(t, kernel):
    """PyTorch's NotImplementedError for a sampler without integer kernels."""
    if not t.is_floating_point():
        raise NotImplementedError(f'"{kernel}" not implemented for \'{_type_name(t.dtype)}\'')


def _fill_from(self, values):
    """Writes sampled ``values`` into ``self`` in place (PyTorch's in-place
    rules apply: not on a leaf that requires grad, unless under no_grad)."""
    return self.copy_(values)


@parsed
def uniform_(self: Tensor, a: float = 0.0, b: float = 1.0, *, generator=None):
    """Fills with samples from ``U(a, b)``. RuntimeError when ``a > b``;
    NotImplementedError for integer and bool tensors, as PyTorch."""
    _floating_only(self, "check_uniform_bounds")
    if a > b:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={a:g} > to={b:g}")
    return _fill_from(self, _uniform_like(self, generator) * (b - a) + a)


@parsed
def normal_(self: Tensor, mean: float = 0.0, std: float = 1.0, *, generator=None):
    """Fills with samples from ``N(mean, std^2)``; NotImplementedError for
    integer and bool tensors, as PyTorch."""
    _floating_only(self, "normal_kernel_cpu")
    return _fill_from(self, _core.randn(self.shape, dtype=_core.float64, generator=generator) * std + mean)


@parsed
def bernoulli_(self: Tensor, p: Tensor | float = 0.5, *, generator=None):
    """Fills with 0/1 samples, 1 with probability ``p``."""
    return _fill_from(self, bernoulli(self, p, generator=generator) if not isinstance(p, _Tensor) else bernoulli(p, generator=generator))


@parsed
def exponential_(self: Tensor, lambd: float = 1.0, *, generator=None):
    """Fills with samples from the exponential distribution of rate
    ``lambd`` (inverse-CDF sampling: ``-log(1 - U) / lambd``). RuntimeError
    for ``lambd <= 0`` and for integer and bool tensors, as PyTorch."""
    if not self.is_floating_point():
        raise RuntimeError("Exponential distribution is a continuous probability distribution. dtype must be a "
                           f"floating point but you specified {_type_name(self.dtype)}")
    if not lambd > 0:
        raise RuntimeError(f"exponential_ expects lambda > 0.0, but found lambda={lambd:g}")
    u = _uniform_like(self, generator)
    return _fill_from(self, -(1 - u).log() / lambd)


@parsed
def random_(self: Tensor, from_: int = NOT_GIVEN, to: int | None = NOT_GIVEN, *, generator=None):
    """Fills with integers drawn uniformly from ``[from_, to)``: one
    argument is ``to`` (``random_(10)``: ``[0, 10)``); ``to=None``, or no
    argument, goes up to the dtype's top (2^24 for float32, 2^53 for
    float64, 2^63 - 1 for int64). RuntimeError when ``from_ >= to``."""
    top = {_core.float32: 2 ** 24, _core.float64: 2 ** 53}.get(self.dtype, 2 ** 63 - 1)
    if to is NOT_GIVEN:
        from_, to = (0, top) if from_ is NOT_GIVEN else (0, from_)
    else:
        from_ = 0 if from_ is NOT_GIVEN else from_
        to = top if to is None else to
    if from_ >= to:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={from_} >= to={to}")
    values = (_uniform_like(self, generator) * (to - from_)).floor() + from_
    return _fill_from(self, values)


for _name in ("multinomial", "uniform_", "normal_", "bernoulli_", "exponential_", "random_"):
    setattr(_Tensor, _name, globals()[_name])

__all__ = ["randperm", "normal", "bernoulli", "multinomial"]
