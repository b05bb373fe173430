"""Property-based fuzzing with random programs of 1-30 steps over a
vocabulary of element-wise ops (neg, abs, exp, tanh, sigmoid, sin, relu,
square, sqrt, log, pow, clamp), broadcasting binary ops against leaves,
earlier values or numbers (add, sub, mul, div, maximum, minimum, where,
masked_fill), reductions with dims and keepdim (sum, mean, amax, amin, prod,
logsumexp, var, max(dim)), softmax, log_softmax, cumsum, index_select,
shape ops and views (reshape, flatten, transpose, permute, t, mT, unsqueeze,
squeeze, slices with steps, narrow, select, chunk, expand, flip, cat,
stack), matmul, clone, contiguous, detach, and in-place ops (add_, sub_,
mul_, div_, clamp_) on intermediates and on their views. The leaves are
0-d, have size-0 dims or dims of size 1, are laid out as transposes,
stepped slices or expands of their bases, are float32, float64 or both, and
some do not require grad.

A *program* is planned once, from small integers drawn by hypothesis,
through a NumPy model of PyTorch's semantics: shapes, broadcasting, dim
wrapping, type promotion, which tensors share memory (NumPy views stand for
PyTorch's views, so an in-place op through one view shows in the others),
which tensors require grad, which ones backward saves (an in-place op on
one makes backward raise), and the exception class of every invalid step
(where PyTorch's class depends on its kernel, like an index out of range in
index_select, the programs do not go). Values are kept within [-4, 4] by
scaling down by powers of two. Each step
is a line of Python with ``torch`` standing for the library, so the
program hypothesis prints on a failure is itself a reproducer.

Checked:

* every value the program made matches the model (shape, dtype,
  requires_grad, values within a dtype-appropriate tolerance); a program
  ends at its first invalid step, which must raise in rustgrad too, with
  the class PyTorch raises (one of RuntimeError, IndexError, ValueError,
  TypeError; never a Rust panic);
* ``backward`` of a weighted sum of every value gives the leaves gradients
  that match float64 central finite differences through rustgrad's own
  float64 forward (only for single-dtype programs that stay 1e-3 away from
  kinks such as abs at 0 or ties of amax, and finite; the others only run
  backward), or raises RuntimeError where the program modified in place a
  tensor saved for backward;
* with PyTorch installed, the same programs in PyTorch: the same values,
  errors (class, step) and gradients; PyTorch must also agree with the
  model (else the model is wrong: "test model" in the message).

``KNOWN_BUGS`` lists what the fuzzers found: the programs steer around
them (each has an xfail regression test at the end of this file), and
``RUSTGRAD_FUZZ_KNOWN_BUGS=1`` lets them through. The short versions run
derandomized in the default suite; the long ones are marked ``fuzz``
(``pytest -m fuzz``) and draw new examples each run. The tests at the end
plant faults to show that the checks catch them.
"""

import dataclasses
import itertools
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rustgrad as rg
from conftest import REFERENCE, broadcastable, broadcasts_to, hsettings, pick_dim, rand_array, seeds

# ---------------------------------------------------------------------------
# the NumPy model
# ---------------------------------------------------------------------------

ALLOWED_ERRORS = (RuntimeError, IndexError, ValueError, TypeError)
MAX_NUMEL = 200          # steps making bigger values are left out of a program
MAX_NDIM = 6
BOUND = 4.0              # values above this are scaled down by a power of two
KINK = 1e-3              # gradients are only checked this far from a kink
NUMBERS = (2.0, -1.5, 0.5, 3.0)
CLAMPS = ((-1.0, 1.0), (0.0, 2.0), (-0.5, 0.5), (-2.0, 0.25))


# Bugs this file found in rustgrad, each kept as an xfail regression test at
# the end. The random programs steer around them, so that the suite stays
# green and the fuzzers look for new bugs; RUSTGRAD_FUZZ_KNOWN_BUGS=1 lets
# them through (to see whether a fix holds up against the fuzzers).
KNOWN_BUGS = set() if os.environ.get("RUSTGRAD_FUZZ_KNOWN_BUGS") == "1" or REFERENCE else set()


class Expected(Exception):
    """Raised by the model for an invalid step: PyTorch raises ``cls``."""

    def __init__(self, cls, why):
        super().__init__(why)
        self.cls = cls
        self.why = why


def f64(a):
    return np.asarray(a, dtype=np.float64)


def promote(*arrays):
    """PyTorch's result dtype for float tensors: 0-d tensors only count when
    every operand is 0-d."""
    group = [a for a in arrays if a.ndim > 0] or list(arrays)
    return np.dtype(np.float64) if any(a.dtype == np.float64 for a in group) else np.dtype(np.float32)


def wrap(d, nd):
    m = max(nd, 1)
    if not -m <= d < m:
        raise Expected(IndexError, f"dim {d} out of range for a {nd}-d tensor")
    return d % m


def wrap_all(dims, nd):
    w = [wrap(d, nd) for d in dims]
    if len(set(w)) != len(w):
        raise Expected(RuntimeError, f"dims {dims} repeat a dim")
    return tuple(w) if nd else ()


def bshape(*shapes):
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        raise Expected(RuntimeError, f"shapes {shapes} do not broadcast") from None








def _two_dims(nd, b, c):
    """Two distinct dims by ``b`` (a repeat or one out of range for
    ``c == 7`` or ``b == 7``)."""
    first = pick_dim(nd, b)
    if c == 7 or b == 7 or nd < 2:
        return (first, pick_dim(nd, c))
    rest = [d for d in (pick_dim(nd, k) for k in range(2 * nd)) if d % nd != first % nd]
    return (first, rest[c % len(rest)])


def overlapping(a):
    """Whether a NumPy view has elements sharing memory (PyTorch refuses to
    write to those)."""
    return a.size > 0 and any(st == 0 and n > 1 for st, n in zip(a.strides, a.shape))


def strided_expand(x, sizes):
    """``np.broadcast_to`` as a writable view (so that in-place ops through
    other views of the same storage can be modelled)."""
    sizes = tuple(sizes)
    lead = len(sizes) - x.ndim
    strides = [0] * lead + [0 if (n == 1 and s != 1) else st
                            for n, s, st in zip(x.shape, sizes[lead:], x.strides)]
    return np.lib.stride_tricks.as_strided(x, sizes, strides)


def min_abs(a):
    a = f64(a)
    return float(np.min(np.abs(a))) if a.size else math.inf


def top2_gap(x, axes):
    """The smallest gap between the largest two elements of any slice
    reduced by amax (0 for a tie)."""
    x = f64(x)
    if x.size == 0:
        return math.inf
    axes = tuple(axes) if x.ndim else ()
    k = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
    if k < 2:
        return math.inf
    rows = np.moveaxis(x, axes, tuple(range(x.ndim - len(axes), x.ndim))).reshape(-1, k)
    s = np.sort(rows, axis=1)
    return float(np.min(s[:, -1] - s[:, -2]))


# --- reference implementations (float64 in, the caller casts) ---------------

def ref_reduce(name, x, dims, keep):
    nd = x.ndim
    if dims is None or (not isinstance(dims, int) and len(dims) == 0):
        axes, explicit = tuple(range(nd)), False
    else:
        axes, explicit = wrap_all((dims,) if isinstance(dims, int) else tuple(dims), nd), True
    if name in ("amax", "amin") and x.size == 0:
        if not explicit:
            raise Expected(RuntimeError, f"{name} of an empty tensor needs a dim")
        if any(x.shape[a] == 0 for a in axes):
            raise Expected(IndexError, f"{name} over a dim of size 0")
    x = f64(x)
    if name == "sum":
        return np.sum(x, axis=axes, keepdims=keep)
    if name == "mean":
        n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        return np.sum(x, axis=axes, keepdims=keep) / n
    if name == "prod":
        return np.prod(x, axis=axes, keepdims=keep)
    if name == "amax":
        return np.max(x, axis=axes, keepdims=keep)
    if name == "amin":
        return np.min(x, axis=axes, keepdims=keep)
    if name == "var":                                    # correction=1
        n = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
        mean = np.sum(x, axis=axes, keepdims=True) / n
        return np.sum((x - mean) ** 2, axis=axes, keepdims=keep) / (n - 1)
    if name == "logsumexp":
        if any(x.shape[a] == 0 for a in axes):
            return np.full(np.sum(x, axis=axes, keepdims=keep).shape, -np.inf)
        m = np.max(x, axis=axes, keepdims=True)
        m = np.where(np.isfinite(m), m, 0.0)
        r = np.log(np.sum(np.exp(x - m), axis=axes, keepdims=True)) + m
        return r if keep else np.squeeze(r, axis=axes)
    raise AssertionError(name)


def ref_reshape(x, shape):
    n = x.size
    if shape.count(-1) > 1:
        raise Expected(RuntimeError, "only one dimension can be inferred")
    if -1 in shape:
        rest = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
        if rest == 0 or n % rest:
            raise Expected(RuntimeError, f"shape {shape} is invalid for {n} elements")
        shape = tuple(n // rest if s == -1 else s for s in shape)
    if int(np.prod(shape, dtype=np.int64)) != n:
        raise Expected(RuntimeError, f"shape {shape} is invalid for {n} elements")
    return x.reshape(shape)


def ref_expand(x, sizes):
    nd, k = x.ndim, len(sizes)
    if k < nd:
        raise Expected(RuntimeError, "expand: fewer sizes than dims")
    out = []
    for i, s in enumerate(sizes):
        j = i - (k - nd)
        if j < 0:
            if s < 0:
                raise Expected(RuntimeError, "expand: -1 in a new leading dim")
            out.append(s)
        elif s == -1:
            out.append(x.shape[j])
        elif s < -1 or (x.shape[j] != 1 and s != x.shape[j]):
            raise Expected(RuntimeError, f"expand {x.shape} to {sizes}")
        else:
            out.append(s)
    return strided_expand(x, out)


def ref_permute(x, perm):
    if len(perm) != x.ndim:
        raise Expected(RuntimeError, "permute: wrong number of dims")
    return np.transpose(x, wrap_all(perm, x.ndim)) if x.ndim else x


def ref_index(x, idx):
    """PyTorch's basic indexing: a lone slice checks its step first; a
    tuple checks the number of indices first, then the steps."""
    inner = idx[1:-1]
    items = [t.strip() for t in inner.split(",")]
    bad_step = "::-" in inner or "::0" in inner
    if len(items) == 1 and ":" in inner and bad_step:
        raise Expected(ValueError, "step must be greater than zero")
    if sum(t not in ("None", "...") for t in items) > x.ndim:
        raise Expected(IndexError, f"too many indices for a {x.ndim}-d tensor")
    if bad_step:
        raise Expected(ValueError, "step must be greater than zero")
    if "..." not in inner:
        inner += ", ..."                                 # always a view, never a copy
    try:
        return eval(f"x[{inner}]", {"x": x})  # noqa: S307  (an index from INDEXES)
    except IndexError as e:
        raise Expected(IndexError, str(e)) from None


def ref_cat(ts, dim):
    if any(t.ndim == 0 for t in ts):
        raise Expected(RuntimeError, "zero-dimensional tensor cannot be concatenated")
    kept = [t for t in ts if t.shape != (0,)]      # PyTorch skips legacy empty 1-d tensors
    if not kept:
        return np.zeros((0,))
    nd = kept[0].ndim
    d = wrap(dim, nd)
    for t in kept:
        if t.ndim != nd:
            raise Expected(RuntimeError, "tensors must have the same number of dims")
        if any(a != b for i, (a, b) in enumerate(zip(t.shape, kept[0].shape)) if i != d):
            raise Expected(RuntimeError, "sizes must match except in the cat dim")
    return np.concatenate([f64(t) for t in kept], axis=d)


def ref_stack(ts, dim):
    d = wrap(dim, ts[0].ndim + 1)
    if any(t.shape != ts[0].shape for t in ts):
        raise Expected(RuntimeError, "stack expects tensors of equal size")
    return np.stack([f64(t) for t in ts], axis=d)


def ref_matmul(x, y):
    if x.ndim == 0 or y.ndim == 0:
        raise Expected(RuntimeError, "matmul needs at least 1-d arguments")
    if x.dtype != y.dtype:
        raise Expected(RuntimeError, "matmul needs the same dtype")
    try:
        return np.matmul(f64(x), f64(y))
    except ValueError as e:
        raise Expected(RuntimeError, str(e)) from None


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------
# programs
# ---------------------------------------------------------------------------

@dataclasses.dataclass
class Step:
    line: str
    error: type = None          # the final, invalid step: the class PyTorch raises
    why: str = ""
    detached: str = None        # the name it assigns a detached tensor to


@dataclasses.dataclass
class Meta:
    group: str                  # the storage it lives in (named after its first value)
    multi: bool = False         # (a view of) one output of a multi-output view op (chunk)
    unknown: bool = False       # made by an op that may or may not copy (contiguous, reshape)
    detached: bool = False      # (a view of) the result of detach()
    retired: bool = False       # replaced by a scaled-down copy (not picked again)


@dataclasses.dataclass
class Program:
    bases: list                 # (float64 array, dtype name)
    requires: list              # whether each base requires grad
    consts: dict                # name -> bool array
    steps: list                 # Steps, the leaf views first
    values: dict                # name -> reference value (final state, model dtype)
    value_rg: dict              # name -> whether it requires grad
    weights: dict               # name -> float64 weights for the loss
    margin: float               # distance of the closest kink
    backward_error: bool        # backward must raise (a saved tensor was modified)

    @property
    def error(self):
        return self.steps[-1].error if self.steps and self.steps[-1].error else None

    @property
    def n_valid(self):
        return len(self.steps) - (1 if self.error else 0)

    @property
    def dtypes(self):
        return {dt for _, dt in self.bases}

    @property
    def finite(self):
        return all(np.all(np.isfinite(v)) for v in self.values.values())

    @property
    def smooth(self):
        return self.margin >= KINK and self.finite

    def source(self, loss=True):
        lines = ["import rustgrad as torch  # or: import torch"]
        for i, (arr, dt) in enumerate(self.bases):
            lines.append(f"b{i} = torch.tensor({arr.tolist()!r}, dtype=torch.{dt}, "
                         f"requires_grad={self.requires[i]})")
        for name, m in self.consts.items():
            lines.append(f"{name} = torch.tensor({m.tolist()!r})")
        for s in self.steps:
            lines.append(s.line + (f"  # expected: {s.error.__name__} ({s.why})" if s.error else ""))
        if loss:
            lines.append("# loss = sum((v * w_v).sum() for every value v) with weights w_v in U(0.5, 1.5);")
            lines.append("# loss.backward() " + ("must raise RuntimeError (a saved tensor was modified "
                                                  "in place)" if self.backward_error else
                                                  "gives the leaves b0, b1, ... their gradients"))
        return "\n".join(lines)

    def __repr__(self):
        return "\n" + self.source() + "\n"

    def _repr_pretty_(self, p, cycle):           # what hypothesis prints for a failing example
        p.text(repr(self))


class Planner:
    """Turns abstract steps ``(op, a, b, c, d)`` into a Program, choosing
    operands, dims and variants from the small integers by the shapes it
    sees, and running the NumPy model."""

    def __init__(self, seed):
        self.rng = np.random.default_rng(seed)
        self.env = {}
        self.meta = {}
        self.steps = []
        self.consts = {}
        self.count = 0
        self.margin = math.inf
        self.backward_error = False
        self.failed = False
        self.leaf_groups = set()     # storages of the leaves (b0, b1, ...)
        self.tainted = set()         # storages the model does not know the aliasing of
        self.saved = {}              # storage saved for backward -> by which ops
        self.group_rg = {}           # storage -> whether its tensors require grad

    # --- values --------------------------------------------------------
    def new_name(self):
        name = f"v{self.count}"
        self.count += 1
        return name

    def shape(self, name):
        return self.env[name].shape

    def nd(self, name):
        return self.env[name].ndim

    def pick(self, k, pred=None, fallback=True, retired=False):
        """The ``k``-th most recent live value satisfying ``pred`` (any
        value when none does and ``fallback``, so that invalid steps get
        made too); ``retired``: retired values too."""
        names = [n for n in self.env if retired or not self.meta[n].retired]
        cands = [n for n in names if pred is None or pred(n)]
        if not cands:
            if not fallback:
                return None
            cands = names
        return cands[-1 - k % len(cands)]

    def inplaceable(self, name, saved_ok=False):
        """Whether an in-place op on ``name`` is valid, and the model knows
        its effect: not a leaf or a view of one, not in a storage whose
        aliasing the model does not know (after reshape, contiguous,
        chunk), not overlapping itself (expand), and (unless
        ``saved_ok``) not in a storage saved for backward."""
        m = self.meta[name]
        return not (m.multi or m.group in self.leaf_groups or m.group in self.tainted
                    or overlapping(self.env[name])) and (
            m.group not in self.saved or (saved_ok and not self.saved[m.group] & KNOWN_BUGS))

    def bad_inplace_target(self, name):
        """An in-place op on ``name`` raises RuntimeError: a leaf that
        requires grad or a view of one, an output of chunk (or a view of
        one) that requires grad -- PyTorch refuses only those, whose graph
        the write would break --, or overlapping itself (detach() makes the
        first two fine). Never a value that may be a copy (the model can't
        tell)."""
        m = self.meta[name]
        if m.unknown:
            return False
        return overlapping(self.env[name]) or not m.detached and (
            m.group in self.leaf_groups or m.multi and self.rg(name))

    def rg(self, name):
        """Whether ``name`` requires grad."""
        m = self.meta[name]
        return not m.detached and self.group_rg[m.group]

    def group(self, name):
        return [n for n, m in self.meta.items() if m.group == self.meta[name].group]

    def const(self, arr):
        name = f"m{len(self.consts)}"
        self.consts[name] = arr
        return name

    # --- steps ---------------------------------------------------------
    def emit(self, expr, compute, dtype, *, inputs=(), saves=(), saves_result=False, saver="", alias=None,
             multi=False, detached=False, inplace=None, kink=None):
        """Adds a step computing ``compute()`` (float64; cast to ``dtype``).
        ``expr`` is the right-hand side (or, for ``inplace``, the whole
        statement, and ``compute`` the new values of ``inplace``).
        ``inputs``: the tensor operands (the first is the one a view is
        of); ``saves``: those saved for backward (only where PyTorch saves
        them, which depends on which operands require grad).
        ``alias``: None for a new tensor; "exact" for a view of
        ``inputs[0]`` (``compute`` returns the NumPy view); "unknown" for a
        view or a copy (reshape, contiguous)."""
        name = inplace or self.new_name()
        line = expr if inplace else f"{name} = {expr}"
        try:
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out = compute()
                dt = dtype() if callable(dtype) else dtype
        except Expected as e:
            self.steps.append(Step(line, e.cls, e.why))
            self.failed = True
            return None
        out = np.asarray(out)
        if out.size > MAX_NUMEL or out.ndim > MAX_NDIM:
            return None                                   # left out of the program
        self.steps.append(Step(line, detached=name if detached else None))
        if kink is not None:
            with np.errstate(all="ignore"):
                self.margin = min(self.margin, kink())
        for n in saves:
            self.saved.setdefault(self.meta[n].group, set()).add(saver)
        requires = any(self.rg(n) for n in inputs)
        if inplace:
            if self.meta[name].group in self.saved:
                self.backward_error = True
            g = self.meta[name].group
            if requires and not self.group_rg[g]:
                # the storage starts requiring grad: PyTorch regenerates the
                # autograd data of the other views lazily, and an in-place
                # op on one of them before that raises ("a leaf Variable
                # that requires grad ..."); the model leaves them alone
                self.tainted.add(g)
            self.group_rg[g] |= requires
            self.env[name][...] = out.astype(self.env[name].dtype)
            for n in self.group(name):
                self.rescale(n, copy=n == name)
            return name
        if alias is None:
            self.env[name] = np.array(out, dtype=dt, copy=True)
            self.meta[name] = Meta(group=name)
            self.group_rg[name] = requires
        else:
            src = self.meta[inputs[0]]
            self.env[name] = out if out.dtype == dt else out.astype(dt)
            self.meta[name] = Meta(group=src.group, multi=src.multi or multi,
                                   detached=src.detached or detached, unknown=src.unknown or alias == "unknown")
            if alias == "unknown" or multi or detached:
                self.tainted.add(src.group)
        if saves_result:
            self.saved.setdefault(self.meta[name].group, set()).add(saver)
        self.rescale(name)
        return name

    def rescale(self, name, copy=True):
        """Retires a value above BOUND, replaced by a copy scaled down by a
        power of two (exact in floating point)."""
        v = f64(self.env[name])
        fin = np.abs(v[np.isfinite(v)])
        if fin.size and fin.max() > BOUND and not self.meta[name].retired:
            self.meta[name].retired = True
            if not copy:
                return
            factor = 2.0 ** -math.ceil(math.log2(fin.max() / BOUND))
            new = self.new_name()
            self.steps.append(Step(f"{new} = {name} * {factor!r}"))
            self.env[new] = np.array(v * factor, dtype=self.env[name].dtype)
            self.meta[new] = Meta(group=new)
            self.group_rg[new] = self.rg(name)

    def add_leaf(self, i, arr, dtype, layout, shape, requires):
        """The leaf value ``v{i}`` of ``shape``: base ``b{i}`` itself, or a
        view of it."""
        nd = arr.ndim
        base = np.array(arr, dtype=dtype)
        if layout == "contiguous":
            line, value = f"b{i}", base
        elif layout == "transposed":
            perm = tuple(range(nd))[::-1]
            line = f"b{i}.t()" if nd == 2 else f"b{i}.permute{perm if nd > 1 else '(0,)'}"
            value = np.transpose(base, perm)
        elif layout == "strided":
            line = f"b{i}[{':, ' * (nd - 1)}1::2]"
            value = base[(slice(None),) * (nd - 1) + (slice(1, None, 2),)]
        elif layout == "expanded":
            line = f"b{i}.expand({', '.join(map(str, shape))})"
            value = strided_expand(base, shape)
        else:
            raise AssertionError(layout)
        name = self.new_name()
        self.steps.append(Step(f"{name} = {line}"))
        self.env[name] = value
        self.meta[name] = Meta(group=f"b{i}")
        self.group_rg[f"b{i}"] = requires
        if requires:                                      # PyTorch refuses in-place ops on those
            self.leaf_groups.add(f"b{i}")
        return name

    def finish(self, seed):
        rng = np.random.default_rng(seed + 7)
        weights = {n: rng.uniform(0.5, 1.5, size=v.shape) for n, v in self.env.items()}
        return weights


def base_for(shape, layout, seed):
    """The base array of a leaf of ``shape`` laid out as ``layout``."""
    shape = tuple(shape)
    nd = len(shape)
    if layout == "contiguous" or nd == 0:
        bshape_ = shape
    elif layout == "transposed":
        bshape_ = shape[::-1]
    elif layout == "strided":
        bshape_ = shape[:-1] + (2 * shape[-1],)
    elif layout == "expanded":
        bshape_ = (1,) + shape[1:]
    else:
        raise AssertionError(layout)
    return rand_array(seed, bshape_, avoid=[0.0], margin=0.05)


# ---------------------------------------------------------------------------
# the op vocabulary: each op plans one step from (P, a, b, c, d)
# ---------------------------------------------------------------------------

def cast_as(*arrays):
    return lambda: promote(*arrays)


def saved_if(*pairs):
    """The names of ``(name, condition)`` pairs whose condition holds."""
    return [n for n, cond in pairs if cond]


UNARY = {
    # name: (spellings, reference, saves its input, saves its result, kink)
    "neg": (["-{x}", "torch.neg({x})", "{x}.neg()"], np.negative, False, False, None),
    "abs": (["{x}.abs()", "torch.abs({x})", "abs({x})"], np.abs, True, False, min_abs),
    "exp": (["{x}.exp()", "torch.exp({x})"], np.exp, False, True, None),
    "tanh": (["{x}.tanh()", "torch.tanh({x})"], np.tanh, False, True, None),
    "sigmoid": (["{x}.sigmoid()", "torch.sigmoid({x})"], sigmoid, False, True, None),
    "sin": (["{x}.sin()", "torch.sin({x})"], np.sin, True, False, None),
    "relu": (["{x}.relu()", "torch.relu({x})"], lambda x: np.maximum(x, 0.0), False, True, min_abs),
    "square": (["{x}.square()", "{x} ** 2", "{x} * {x}"], np.square, True, False, None),
}


def op_unary(name):
    spellings, fn, saves_in, saves_out, kink = UNARY[name]

    def op(P, a, b, c, d):
        x = P.pick(a)
        X = P.env[x]
        r = P.rg(x)
        P.emit(spellings[c % len(spellings)].format(x=x), lambda: fn(f64(X)), X.dtype, inputs=[x],
               saves=saved_if((x, saves_in and r)), saves_result=saves_out and r,
               kink=(lambda: kink(X)) if kink else None)
    return op


def op_sqrt(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    r = P.rg(x)
    if X.size == 0 or (np.all(np.isfinite(X)) and X.min() >= 0.25):
        P.emit(f"{x}.sqrt()" if c % 2 else f"torch.sqrt({x})", lambda: np.sqrt(f64(X)), X.dtype,
               inputs=[x], saves_result=r)
    else:                                                         # away from 0
        P.emit(f"({x} * {x} + 0.25).sqrt()", lambda: np.sqrt(f64(X) ** 2 + 0.25), X.dtype,
               inputs=[x], saves=saved_if((x, r)), saves_result=r)


def op_clamp(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    lo, hi = CLAMPS[b % len(CLAMPS)]
    expr = [f"{x}.clamp({lo!r}, {hi!r})", f"torch.clamp({x}, min={lo!r}, max={hi!r})"][c % 2]
    P.emit(expr, lambda: np.clip(f64(X), lo, hi), X.dtype, inputs=[x], saves=saved_if((x, P.rg(x))),
           kink=lambda: min(min_abs(f64(X) - lo), min_abs(f64(X) - hi)))


BINARY = {
    # name: (spellings of x op y, references, what it saves, kink); "what it
    # saves": None, "product" (x if y requires grad and y if x does), "both"
    # (both if either requires grad)
    "add": (["{x} + {y}", "torch.add({x}, {y}, alpha=2.0)", "{x}.add({y})"],
            [lambda x, y: x + y, lambda x, y: x + 2.0 * y, lambda x, y: x + y], None, None),
    "sub": (["{x} - {y}", "torch.sub({x}, {y})", "{x}.sub({y}, alpha=0.5)"],
            [lambda x, y: x - y, lambda x, y: x - y, lambda x, y: x - 0.5 * y], None, None),
    "mul": (["{x} * {y}", "torch.mul({x}, {y})", "{x}.mul({y})"], [np.multiply] * 3, "product", None),
    "maximum": (["torch.maximum({x}, {y})", "{x}.maximum({y})"], [np.maximum] * 2, "both",
                lambda x, y: min_abs(x - y)),
    "minimum": (["torch.minimum({x}, {y})", "{x}.minimum({y})"], [np.minimum] * 2, "both",
                lambda x, y: min_abs(x - y)),
}


def pick_other(P, x, b, d):
    """A tensor operand for ``x``: one that broadcasts with it (any one for
    ``d == 7``, likely not)."""
    if d == 7:
        return P.pick(b, lambda n: not broadcastable(P.shape(x), P.shape(n)))
    return P.pick(b, lambda n: broadcastable(P.shape(x), P.shape(n)))


def op_binary(name):
    spellings, fns, saves, kink = BINARY[name]

    def op(P, a, b, c, d):
        x = P.pick(a)
        X = P.env[x]
        if name in ("add", "sub", "mul") and d == 3:            # a Python number
            s = NUMBERS[b % len(NUMBERS)]
            sym = {"add": "+", "sub": "-", "mul": "*"}[name]
            ops = {"add": np.add, "sub": np.subtract, "mul": np.multiply}
            if c % 2:
                P.emit(f"{s!r} {sym} {x}", lambda: ops[name](s, f64(X)), X.dtype, inputs=[x])
            else:
                P.emit(f"{x} {sym} {s!r}", lambda: ops[name](f64(X), s), X.dtype, inputs=[x])
            return
        y = pick_other(P, x, b, d)
        if c % 4 == 3:
            x, y = y, x
        X, Y = P.env[x], P.env[y]
        rx, ry = P.rg(x), P.rg(y)
        i = c % len(spellings)

        def compute():
            bshape(X.shape, Y.shape)
            return fns[i](f64(X), f64(Y))
        if saves == "product":
            sv = saved_if((x, ry), (y, rx))
        elif saves == "both":
            sv = saved_if((x, rx or ry), (y, rx or ry))
        else:
            sv = []
        P.emit(spellings[i].format(x=x, y=y), compute, cast_as(X, Y), inputs=[x, y], saves=sv,
               saver="saved_by_maximum" if name in ("maximum", "minimum") else name,
               kink=(lambda: kink(f64(X), f64(Y))) if kink else None)
    return op


def op_div(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    if d == 3:                                                   # a Python number
        s = NUMBERS[b % len(NUMBERS)]
        if c % 2:
            P.emit(f"{s!r} / ({x} * {x} + 0.5)", lambda: s / (f64(X) ** 2 + 0.5), X.dtype, inputs=[x],
                   saves=saved_if((x, P.rg(x))))
        else:
            P.emit(f"{x} / {s!r}", lambda: f64(X) / s, X.dtype, inputs=[x])
        return
    y = pick_other(P, x, b, d)
    Y = P.env[y]
    rx, ry = P.rg(x), P.rg(y)

    def compute(den):
        bshape(X.shape, Y.shape)
        return f64(X) / den(f64(Y))
    if Y.size == 0 or (np.all(np.isfinite(Y)) and np.abs(Y).min() >= 0.25):
        expr = [f"{x} / {y}", f"torch.div({x}, {y})", f"{x}.div({y})"][c % 3]
        P.emit(expr, lambda: compute(lambda v: v), cast_as(X, Y), inputs=[x, y],
               saves=saved_if((x, ry), (y, rx or ry)))
    else:                                                         # away from 0
        P.emit(f"{x} / ({y} * {y} + 0.5)", lambda: compute(lambda v: v * v + 0.5), cast_as(X, Y),
               inputs=[x, y], saves=saved_if((x, ry), (y, ry)))


def op_where(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    scalar = d == 3
    y = None if scalar else pick_other(P, x, b, d)
    Y = np.float64(NUMBERS[b % len(NUMBERS)]) if scalar else P.env[y]
    full = bshape(X.shape, np.shape(Y)) if broadcastable(X.shape, np.shape(Y)) else X.shape
    mshape = list(full[(c // 2) % 2:] if full else full)     # maybe a dim fewer,
    for i in range(len(mshape)):                              # maybe some dims of 1
        if (c >> i) & 1 and i < len(mshape) - 1:
            mshape[i] = 1
    mask = P.rng.random(tuple(mshape)) < 0.5
    m = P.const(mask)
    other = repr(float(Y)) if scalar else y

    def compute():
        bshape(mask.shape, X.shape, np.shape(Y))
        return np.where(mask, f64(X), f64(Y))
    P.emit(f"torch.where({m}, {x}, {other})", compute, X.dtype if scalar else cast_as(X, Y),
           inputs=[x] if scalar else [x, y])


def op_reduce(name):
    def op(P, a, b, c, d):
        x = P.pick(a)
        X = P.env[x]
        nd = X.ndim
        keep = d % 2 == 1
        mode = c % 4
        if name == "prod" and mode >= 2:
            mode = 1
        if name == "var" and mode == 3:
            mode = 0                                  # (var(()) is not a full reduction)
        if name == "logsumexp" and mode in (0, 3):
            dims = tuple(range(nd)) if nd else 0
        elif mode == 0:
            dims = None
        elif mode == 1:
            dims = pick_dim(nd, b)
        elif mode == 2:
            dims = _two_dims(nd, b, 7 if d == 7 else c) if nd >= 2 else (pick_dim(nd, b),)
        else:
            dims = ()
        fname = name
        if name in ("prod", "var"):          # keep products in range, variances finite
            try:
                axes = tuple(range(nd)) if dims is None else wrap_all(
                    (dims,) if isinstance(dims, int) else dims, nd)
                count = int(np.prod([X.shape[i] for i in axes], dtype=np.int64))
                if name == "prod" and count > 8:
                    fname = "sum"
                if name == "var" and count < 2:
                    fname = "mean"
            except Expected:
                pass
        if dims is None:
            expr = [f"{x}.{fname}()", f"torch.{fname}({x})"][c // 4 % 2]
        elif c // 4 % 2:
            expr = f"torch.{fname}({x}, {dims!r}, keepdim={keep})"
        else:
            expr = f"{x}.{fname}(dim={dims!r}, keepdim={keep})"

        def kink():
            axes = tuple(range(nd)) if dims is None or dims == () else wrap_all(
                (dims,) if isinstance(dims, int) else dims, nd)
            return top2_gap(X if fname == "amax" else -f64(X), axes)
        saves = fname in ("amax", "amin", "prod", "logsumexp", "var") and P.rg(x)
        saver = {"logsumexp": "saved_by_logsumexp",
                 "prod": "saved_by_prod_of_0d" if nd == 0 else "prod"}.get(fname, fname)
        P.emit(expr, lambda: ref_reduce(fname, X, dims, keep if dims is not None else False), X.dtype,
               inputs=[x], saves=saved_if((x, saves)), saves_result=saves and fname != "var",
               saver=saver, kink=kink if fname in ("amax", "amin") else None)
    return op


def op_reshape(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    s = X.shape
    n = X.size
    options = [(-1,), s[::-1], (1,) + s, s + (1,), (-1, s[-1]) if s else (1, -1),
               (2, -1) if n % 2 == 0 else (-1, 1),
               (s[0] * s[1],) + s[2:] if len(s) >= 2 else (n, 1), (n + 1,)]
    shape = tuple(options[b % len(options)])
    if c % 3 == 0:
        expr = f"{x}.reshape({shape!r})"
    elif c % 3 == 1 and shape:
        expr = f"{x}.reshape({', '.join(map(str, shape))})"
    else:
        expr = f"torch.reshape({x}, {shape!r})"
    P.emit(expr, lambda: ref_reshape(X, shape), X.dtype, inputs=[x], alias="unknown")


def op_transpose(P, a, b, c, d):
    x = P.pick(a, lambda n: P.nd(n) >= 2)
    X = P.env[x]
    nd = X.ndim
    d0, d1 = pick_dim(nd, b), pick_dim(nd, c)

    def compute():
        i, j = wrap(d0, nd), wrap(d1, nd)
        return np.swapaxes(X, i, j) if nd else X
    expr = f"{x}.transpose({d0}, {d1})" if d % 2 else f"torch.transpose({x}, {d0}, {d1})"
    P.emit(expr, compute, X.dtype, inputs=[x], alias="exact")


def op_permute(P, a, b, c, d):
    x = P.pick(a, lambda n: P.nd(n) >= 2)
    X = P.env[x]
    nd = X.ndim
    perms = list(itertools.permutations(range(nd)))
    perm = perms[(b * 8 + c) % len(perms)]
    if d == 7:                                              # invalid: too short, or a repeat
        perm = perm[:-1] if c % 2 or nd < 2 else (perm[0],) + perm[:-1]
    elif d == 6:
        perm = tuple(p - nd for p in perm)                  # negative dims
    expr = f"{x}.permute({perm!r})" if c % 2 or not perm else f"{x}.permute({', '.join(map(str, perm))})"
    P.emit(expr, lambda: ref_permute(X, perm), X.dtype, inputs=[x], alias="exact")


def op_t(P, a, b, c, d):
    if c % 2:
        x = P.pick(a, (lambda n: P.nd(n) >= 1) if d == 7 else (lambda n: P.nd(n) >= 2))
        X = P.env[x]
        if X.ndim == 0:  # (mT of 0-d: deprecated)
            return op_t(P, a, b, c - 1, d)

        def compute():
            if X.ndim == 1:
                raise Expected(RuntimeError, "mT needs at least 2 dims")
            return np.swapaxes(X, -1, -2)
        P.emit(f"{x}.mT", compute, X.dtype, inputs=[x], alias="exact")
    else:
        x = P.pick(a, None if d == 7 else (lambda n: P.nd(n) <= 2))
        X = P.env[x]

        def compute():
            if X.ndim > 2:
                raise Expected(RuntimeError, "t() expects at most 2 dims")
            return X.T
        P.emit(f"{x}.t()" if b % 2 else f"torch.t({x})", compute, X.dtype, inputs=[x], alias="exact")


def op_unsqueeze(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    dim = pick_dim(X.ndim, b, extra=1)
    P.emit(f"{x}.unsqueeze({dim})" if c % 2 else f"torch.unsqueeze({x}, {dim})",
           lambda: np.expand_dims(X, wrap(dim, X.ndim + 1)), X.dtype, inputs=[x], alias="exact")


def op_squeeze(P, a, b, c, d):
    x = P.pick(a, lambda n: 1 in P.shape(n))
    X = P.env[x]
    if c % 2 == 0:
        P.emit(f"{x}.squeeze()", lambda: np.squeeze(X), X.dtype, inputs=[x], alias="exact")
        return
    ones = [i for i, n in enumerate(X.shape) if n == 1]
    dim = ones[b % len(ones)] if ones and b < 4 else pick_dim(X.ndim, b)

    def compute():
        i = wrap(dim, X.ndim)
        return np.squeeze(X, i) if X.ndim and X.shape[i] == 1 else X
    P.emit(f"{x}.squeeze({dim})", compute, X.dtype, inputs=[x], alias="exact")


INDEXES = ["[0]", "[1:]", "[::2]", "[..., ::2]", "[:, 1::2]", "[-1]", "[None, ..., 1:]",
           "[..., -2::3]", "[:, None, :2]", "[..., 0]", "[1:, ::2]", "[..., None]", "[-3:-1]",
           "[:, ::3, None]"]
BAD_INDEXES = ["[::-1]", "[5]", "[:, :, :, 0]", "[..., ::0]", "[-4]"]      # often invalid


def op_index(P, a, b, c, d):
    x = P.pick(a, None if d == 7 else (lambda n: P.nd(n) >= 1))
    X = P.env[x]
    if d == 7:
        idx = BAD_INDEXES[(b * 8 + c) % len(BAD_INDEXES)]
    else:
        idx = INDEXES[(b * 8 + c) % len(INDEXES)]
    P.emit(f"{x}{idx}", lambda: ref_index(X, idx), X.dtype, inputs=[x], alias="exact")


def op_narrow(P, a, b, c, d):
    x = P.pick(a) if d == 7 else P.pick(a, lambda n: P.nd(n) >= 1, fallback=False)
    if x is None:
        return
    X = P.env[x]
    nd = X.ndim
    dim = pick_dim(nd, b)
    size = X.shape[dim % nd] if nd and -nd <= dim < nd else 1
    if d == 7:
        start, length = [size + 1, 0, 1][c % 3], [0, size + 1, size][c % 3]
    else:
        start = [0, 1, -1, -size][c % 4] if size else 0
        s0 = start % size if size and start < 0 else min(start, size)
        length = min(size - s0, [1, 2, size][c % 3])

    def compute():
        if nd == 0:
            raise Expected(RuntimeError, "narrow() cannot be applied to a 0-dim tensor")
        i = wrap(dim, nd)
        n = X.shape[i]
        if not -n <= start <= n:
            raise Expected(IndexError, "start out of range")
        s0 = start % n if n and start < 0 else start
        if s0 + length > n:
            raise Expected(RuntimeError, "start + length exceeds dimension size")
        return X[(slice(None),) * i + (slice(s0, s0 + length), Ellipsis)]
    P.emit(f"{x}.narrow({dim}, {start}, {length})", compute, X.dtype, inputs=[x], alias="exact")


def _pick_along_a_dim(P, a, b, d):
    """(name, value, ndim, dim) of an operand with a nonempty dim to work
    along (any operand when ``d == 7``, so that the errors are reached too),
    or None if there is none."""
    x = P.pick(a) if d == 7 else P.pick(a, lambda n: P.nd(n) >= 1 and 0 not in P.shape(n), fallback=False)
    if x is None:
        return None
    X = P.env[x]
    return x, X, X.ndim, pick_dim(X.ndim, b)


def op_select(P, a, b, c, d):
    picked = _pick_along_a_dim(P, a, b, d)
    if picked is None:
        return
    x, X, nd, dim = picked
    size = X.shape[dim % nd] if nd and -nd <= dim < nd else 1
    index = [0, -1, min(1, size - 1), -size][c % 4] if d != 7 else size

    def compute():
        if nd == 0:
            raise Expected(IndexError, "select() cannot be applied to a 0-dim tensor")
        i = wrap(dim, nd)
        if not -X.shape[i] <= index < X.shape[i]:
            raise Expected(IndexError, "select(): index out of range")
        return X[(slice(None),) * i + (index, Ellipsis)]
    expr = f"{x}.select({dim}, {index})" if c % 2 else f"torch.select({x}, {dim}, {index})"
    P.emit(expr, compute, X.dtype, inputs=[x], alias="exact")


def op_chunk(P, a, b, c, d):
    picked = _pick_along_a_dim(P, a, b, d)
    if picked is None:
        return
    x, X, nd, dim = picked
    k = 2 + c % 2
    size = X.shape[dim % nd] if nd and -nd <= dim < nd else 1
    step = -(-size // k)
    n_out = -(-size // step) if step else k
    i = [0, -1, 1][d % 3] % max(n_out, 1)

    def compute():
        if nd == 0:
            raise Expected(RuntimeError, "chunk expects at least a 1-dimensional tensor")
        j = wrap(dim, nd)
        if X.shape[j] == 0:                              # k empty chunks
            return X
        return X[(slice(None),) * j + (slice(i * step, (i + 1) * step), Ellipsis)]
    expr = f"{x}.chunk({k}, {dim})[{i}]" if c % 2 else f"torch.chunk({x}, {k}, dim={dim})[{i}]"
    P.emit(expr, compute, X.dtype, inputs=[x], alias="exact", multi=True)


def op_expand(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    s = X.shape
    options = [(2,) + s, (2,) + (-1,) * len(s), tuple(3 if n == 1 else n for n in s), (0,) + s,
               (-1,) * len(s), (1, 2) + s, tuple(2 if n == 1 else n for n in s),
               tuple(n + 1 for n in s) or (2,)]
    sizes = options[b % len(options)]
    expr = f"{x}.expand({', '.join(map(str, sizes))})" if sizes and c % 2 else f"{x}.expand({sizes!r})"
    P.emit(expr, lambda: ref_expand(X, sizes), X.dtype, inputs=[x], alias="exact")


def op_flip(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    dims = [(pick_dim(nd, b),), _two_dims(nd, b, 7 if d == 7 else c), ()][d % 3]
    expr = f"{x}.flip({dims!r})" if c % 2 else f"torch.flip({x}, {dims!r})"

    def compute():
        axes = wrap_all(dims, nd)
        return np.flip(f64(X), axes) if nd else f64(X)
    P.emit(expr, compute, X.dtype, inputs=[x])


def op_clone(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    P.emit(f"{x}.clone()" if c % 2 else f"torch.clone({x})", lambda: f64(X), X.dtype, inputs=[x])


def op_contiguous(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    P.emit(f"{x}.contiguous()", lambda: X, X.dtype, inputs=[x], alias="unknown")


def op_detach(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    P.emit(f"{x}.detach()", lambda: X, X.dtype, inputs=[x], alias="exact", detached=True)


def op_cat(P, a, b, c, d):
    x = P.pick(a) if d == 7 else P.pick(a, lambda n: P.nd(n) >= 1, fallback=False)
    if x is None:
        return
    X = P.env[x]
    dim = pick_dim(X.ndim, c)

    def fits(n):
        s = P.shape(n)
        return (len(s) == X.ndim and X.ndim > 0 and
                all(p == q for i, (p, q) in enumerate(zip(s, X.shape)) if i != dim % X.ndim))
    y = P.pick(b) if d == 7 else (P.pick(b, fits, fallback=False) or x)
    names = [x, y, x] if d % 3 == 1 else [x, y]
    ts = [P.env[n] for n in names]
    lst = ", ".join(names)
    expr = f"torch.cat([{lst}], {dim})" if d % 2 else f"torch.cat(({lst}), dim={dim})"
    P.emit(expr, lambda: ref_cat(ts, dim), cast_as(*ts) if all(t.ndim for t in ts) else ts[0].dtype,
           inputs=names)


def op_stack(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    dim = pick_dim(X.ndim, c, extra=1)
    y = P.pick(b) if d == 7 else (P.pick(b, lambda n: P.shape(n) == X.shape, fallback=False) or x)
    Y = P.env[y]
    expr = f"torch.stack([{x}, {y}], {dim})" if d % 2 else f"torch.stack(({x}, {y}), dim={dim})"
    P.emit(expr, lambda: ref_stack([X, Y], dim), lambda: promote(X[None], Y[None]), inputs=[x, y])


def matmul_ok(X, Y):
    try:
        with np.errstate(all="ignore"):
            ref_matmul(X, Y)
        return True
    except Expected:
        return False


def op_matmul(P, a, b, c, d):
    x = P.pick(a, None if d == 7 else (lambda n: P.nd(n) >= 1))
    X = P.env[x]
    spell = ["{x} @ {y}", "torch.matmul({x}, {y})", "{x}.matmul({y})"][c % 3]
    y = P.pick(b) if d == 7 else P.pick(b, lambda n: matmul_ok(X, P.env[n]), fallback=False)
    if y is not None:
        Y = P.env[y]
        rx, ry = P.rg(x), P.rg(y)
        P.emit(spell.format(x=x, y=y), lambda: ref_matmul(X, Y), X.dtype, inputs=[x, y],
               saves=saved_if((x, ry), (y, rx)), saver="matmul")
    elif X.ndim >= 2:
        P.emit(spell.format(x=x, y=f"{x}.mT"), lambda: ref_matmul(X, np.swapaxes(X, -1, -2)), X.dtype,
               inputs=[x], saves=saved_if((x, P.rg(x))))
    else:
        P.emit(spell.format(x=x, y=x), lambda: ref_matmul(X, X), X.dtype, inputs=[x],
               saves=saved_if((x, P.rg(x))))


def op_softmax(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    dim = pick_dim(nd, b)
    log = c % 2 == 1
    fname = "log_softmax" if log else "softmax"
    expr = f"{x}.{fname}({dim})" if d % 2 else f"torch.{fname}({x}, {dim})"

    def compute():
        i = wrap(dim, nd)
        v = f64(X)
        if v.size == 0:
            return v
        ax = i if nd else None
        z = v - np.max(v, axis=ax, keepdims=True)
        lse = np.log(np.sum(np.exp(z), axis=ax, keepdims=True))
        return z - lse if log else np.exp(z - lse)
    P.emit(expr, compute, X.dtype, inputs=[x], saves_result=P.rg(x), saver=fname)


def op_cumsum(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    dim = pick_dim(nd, b)

    def compute():
        i = wrap(dim, nd)
        return np.cumsum(f64(X), axis=i) if nd else f64(X)
    P.emit(f"{x}.cumsum({dim})" if c % 2 else f"torch.cumsum({x}, dim={dim})", compute, X.dtype, inputs=[x])


def op_max_dim(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    dim = pick_dim(nd, b)
    keep = d % 2 == 1
    expr = (f"{x}.max({dim}, keepdim={keep}).values" if c % 2 else
            f"torch.max({x}, dim={dim}, keepdim={keep})[0]")

    def compute():
        i = wrap(dim, nd)
        if nd and X.shape[i] == 0:
            raise Expected(IndexError, "max(): reduction dim of size 0")
        return np.max(f64(X), axis=i if nd else None, keepdims=keep and nd > 0)

    def kink():                       # at a tie, the index each library picks may differ
        gap = top2_gap(X, (wrap(dim, nd),) if nd else ())
        return gap if gap > 0 else 1e-300
    P.emit(expr, compute, X.dtype, inputs=[x], kink=kink)


EXPONENTS = (0.5, 1.5, -1.0, 2.5, -0.5, 3.0)


def op_pow(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    e = EXPONENTS[b % len(EXPONENTS)]
    expr = [f"({x} * {x} + 0.5) ** {e!r}", f"torch.pow({x} * {x} + 0.5, {e!r})"][c % 2]
    P.emit(expr, lambda: (f64(X) ** 2 + 0.5) ** e, X.dtype, inputs=[x], saves=saved_if((x, P.rg(x))))


def op_log(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    expr = [f"({x} * {x} + 0.5).log()", f"torch.log({x} * {x} + 0.5)"][c % 2]
    P.emit(expr, lambda: np.log(f64(X) ** 2 + 0.5), X.dtype, inputs=[x], saves=saved_if((x, P.rg(x))))


def op_masked_fill(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    mshape = list(X.shape[(c // 2) % 2:])                     # maybe a dim fewer,
    for i in range(len(mshape)):                              # maybe some dims of 1
        if (c >> i) & 1 and i < len(mshape) - 1:
            mshape[i] = 1
    if d == 7:
        mshape = [2] + mshape if mshape and mshape[0] != 2 else [3]   # larger or mismatched
    mask = P.rng.random(tuple(mshape)) < 0.5
    m = P.const(mask)
    v = NUMBERS[b % len(NUMBERS)]

    def compute():
        bshape(mask.shape, X.shape)
        return np.where(mask, v, f64(X))
    P.emit(f"{x}.masked_fill({m}, {v!r})", compute, X.dtype, inputs=[x])


def op_index_select(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    dim = pick_dim(nd, b)
    size = (X.shape[dim % nd] if nd else 1) if -max(nd, 1) <= dim < max(nd, 1) else 1
    n = [1, 2, 3, 0][c % 4]
    # (no index out of range: PyTorch raises IndexError or RuntimeError for
    # it, depending on the dim and the layout)
    idx = np.asarray(P.rng.integers(0, size, size=n) if size else np.zeros(0), dtype=np.int64)
    m = P.const(idx)
    expr = f"{x}.index_select({dim}, {m})" if d % 2 else f"torch.index_select({x}, {dim}, {m})"

    def compute():
        i = wrap(dim, nd)
        if nd == 0:
            if idx.size != 1:
                raise Expected(RuntimeError, "index_select(): index to a scalar must have one value")
            return f64(X)
        return np.take(f64(X), idx, axis=i)
    P.emit(expr, compute, X.dtype, inputs=[x])


def op_flatten(P, a, b, c, d):
    x = P.pick(a)
    X = P.env[x]
    nd = X.ndim
    start, end = pick_dim(nd, b), pick_dim(nd, c)
    if c % 3 == 0 and d != 7:
        start, end = 0, -1

    def compute():
        i, j = wrap(start, nd), wrap(end, nd)
        if nd == 0:
            return X.reshape((1,))
        if i > j:
            raise Expected(RuntimeError, "flatten(): start_dim cannot come after end_dim")
        return X.reshape(X.shape[:i] + (-1 if X.size else int(np.prod(X.shape[i:j + 1])),) + X.shape[j + 1:])
    expr = (f"{x}.flatten()" if (start, end) == (0, -1) and d % 2 else
            f"{x}.flatten({start}, {end})" if c % 2 else f"torch.flatten({x}, {start}, {end})")
    P.emit(expr, compute, X.dtype, inputs=[x], alias="unknown")


def inplace_target(P, a, b, c, d):
    """The tensor an in-place op writes (retired values too: in-place ops
    do not make values larger than mul_/div_ by 3): one the model can
    follow (saved for backward only for ``d`` 5 or 6), or, for ``c == 7``, one PyTorch
    refuses to write (a leaf that requires grad or a view of one, an output
    of chunk, an expanded view). Returns (name, refused)."""
    if c == 7:
        t = P.pick(a, P.bad_inplace_target, fallback=False, retired=True)
        if t is not None:
            return t, True
    return P.pick(a, lambda n: P.inplaceable(n, saved_ok=d >= 5), fallback=False, retired=True), False


def refused():
    raise Expected(RuntimeError, "an in-place op on a leaf that requires grad, a view of one, "
                                 "a view from chunk or an expanded view")


def op_add_(P, a, b, c, d):
    t, bad = inplace_target(P, a, b, c, d)
    if t is None:
        return
    T_ = P.env[t]
    variant = b % 4
    if variant == 0:
        s = NUMBERS[c % len(NUMBERS)]
        P.emit(f"{t}.add_({s!r})", lambda: refused() if bad else f64(T_) + s, T_.dtype, inputs=[t],
               inplace=t)
        return
    mine = P.meta[t].group

    def usable(n):                   # no operand sharing memory with t (unless t itself)
        return n == t or P.meta[n].group != mine
    if d == 7:
        y = P.pick(a + 1, usable)                             # may not broadcast to t
    else:
        y = P.pick(a + 1, lambda n: usable(n) and broadcasts_to(P.shape(n), T_.shape), fallback=False) or t
    Y = P.env[y]
    alpha = {1: 1.0, 2: -0.5, 3: -1.0}[variant]
    expr = {1: f"{t}.add_({y})", 2: f"{t}.add_({y}, alpha=-0.5)", 3: f"{t}.sub_({y})"}[variant]

    def compute():
        if bad:
            refused()
        if bshape(T_.shape, Y.shape) != T_.shape:
            raise Expected(RuntimeError, f"output with shape {T_.shape} doesn't match the broadcast shape")
        return f64(T_) + alpha * f64(Y)
    P.emit(expr, compute, T_.dtype, inputs=[t, y], inplace=t)


def op_mul_(P, a, b, c, d):
    t, bad = inplace_target(P, a, b, c, d)
    if t is None:
        return
    T_ = P.env[t]
    s = NUMBERS[b % len(NUMBERS)]
    if d % 2:
        P.emit(f"{t}.div_({s!r})", lambda: refused() if bad else f64(T_) / s, T_.dtype, inputs=[t],
               inplace=t)
    else:
        P.emit(f"{t}.mul_({s!r})", lambda: refused() if bad else f64(T_) * s, T_.dtype, inputs=[t],
               inplace=t)


def op_clamp_(P, a, b, c, d):
    t, bad = inplace_target(P, a, b, c, d)
    if t is None:
        return
    T_ = P.env[t]
    lo, hi = CLAMPS[b % len(CLAMPS)]
    P.emit(f"{t}.clamp_({lo!r}, {hi!r})", lambda: refused() if bad else np.clip(f64(T_), lo, hi),
           T_.dtype, inputs=[t], inplace=t, kink=lambda: min(min_abs(f64(T_) - lo), min_abs(f64(T_) - hi)))


OPS = {
    **{name: op_unary(name) for name in UNARY},
    "sqrt": op_sqrt, "clamp": op_clamp,
    **{name: op_binary(name) for name in BINARY},
    "div": op_div, "where": op_where,
    **{name: op_reduce(name) for name in ("sum", "mean", "amax", "amin", "prod", "logsumexp", "var")},
    "softmax": op_softmax, "cumsum": op_cumsum, "max_dim": op_max_dim, "pow": op_pow, "log": op_log,
    "masked_fill": op_masked_fill, "index_select": op_index_select, "flatten": op_flatten,
    "reshape": op_reshape, "transpose": op_transpose, "permute": op_permute, "t": op_t,
    "unsqueeze": op_unsqueeze, "squeeze": op_squeeze, "index": op_index, "expand": op_expand,
    "narrow": op_narrow, "select": op_select, "chunk": op_chunk,
    "flip": op_flip, "clone": op_clone, "contiguous": op_contiguous, "detach": op_detach,
    "cat": op_cat, "stack": op_stack, "matmul": op_matmul,
    "add_": op_add_, "mul_": op_mul_, "clamp_": op_clamp_,
}

LAYOUTS = ["contiguous", "transposed", "strided", "expanded"]


def plan(shapes, layouts, dtypes, requires, seed, abstract):
    P = Planner(seed)
    bases = []
    for i, (shape, layout, dt, req) in enumerate(zip(shapes, layouts, dtypes, requires)):
        if layout == "expanded" and (len(shape) == 0 or shape[0] == 1):
            layout = "contiguous"
        if layout in ("transposed", "strided") and len(shape) == 0:
            layout = "contiguous"
        arr = base_for(shape, layout, seed + 13 * i)
        arr = arr.astype(dt).astype(np.float64)                # what the library will hold
        bases.append((arr, dt))
        P.add_leaf(i, arr, dt, layout, tuple(shape), req)
    for op, a, b, c, d in abstract:
        OPS[op](P, a, b, c, d)
        if P.failed:
            break
    return program_of(P, bases, requires, seed)


def program_of(P, bases, requires, seed):
    return Program(bases=bases, requires=list(requires), consts=P.consts, steps=P.steps,
                   values=dict(P.env), value_rg={n: P.rg(n) for n in P.env}, weights=P.finish(seed),
                   margin=P.margin, backward_error=P.backward_error)


_small = st.integers(0, 6)


def abstract_steps(max_steps):
    """``(op, a, b, c, d)``: ``a`` picks the operand, ``b``, ``c``, ``d``
    the other operands, dims and variants. One step in 20 is *bad*:
    one of ``b``, ``c``, ``d`` is 7, which asks for an out-of-range dim, a
    mismatched operand, an invalid shape, ... (and the last integer shrinks
    towards a good step)."""
    def build(t):
        op, a, b, c, d, e = t
        if e >= 57:
            b, c, d = [(7 if i == e - 57 else v) for i, v in enumerate((b, c, d))]
        return (op, a, b, c, d)
    step = st.tuples(st.sampled_from(sorted(OPS)), _small, _small, _small, _small,
                     st.integers(0, 59)).map(build)
    return st.integers(1, max_steps).flatmap(lambda n: st.lists(step, min_size=n, max_size=n))


@st.composite
def programs(draw, max_steps=30, dtype_modes=("float64", "float64", "float32", "mixed")):
    n = draw(st.integers(1, 3))
    zero = draw(st.integers(0, 5)) == 5                       # some programs have size-0 dims
    shapes = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=0, max_dims=3, min_side=0 if zero else 1, max_side=3)).input_shapes
    layouts = [draw(st.sampled_from(LAYOUTS)) for _ in shapes]
    mode = draw(st.sampled_from(dtype_modes))
    if mode == "mixed":
        dtypes = [draw(st.sampled_from(["float64", "float32"])) for _ in shapes]
    else:
        dtypes = [mode] * n
    requires = [True] + [draw(st.sampled_from([True, True, False])) for _ in shapes[1:]]
    seed = draw(seeds)
    abstract = draw(abstract_steps(max_steps))
    return plan(shapes, layouts, dtypes, requires, seed, abstract)


# ---------------------------------------------------------------------------
# running programs
# ---------------------------------------------------------------------------

_CODE = {}


def _code(line):
    c = _CODE.get(line)
    if c is None:
        if len(_CODE) > 100_000:              # (the long runs)
            _CODE.clear()
        c = _CODE[line] = compile(line, "<program>", "exec")
    return c


def execute(lib, prog, *, dtype=None, grad=True, upto=None, bases=None, extra=None, detached=None):
    """Runs ``prog`` with ``lib`` as ``torch``: returns the namespace and the
    first error as ``(step index, exception)`` (or None). ``detached``:
    values for the results of ``detach()`` (constants to autograd, so
    finite differences must not perturb them)."""
    ns = {"torch": lib, **(extra or {})}
    for i, (arr, dt) in enumerate(prog.bases):
        arr = arr if bases is None else bases[i]
        ns[f"b{i}"] = lib.tensor(arr, dtype=getattr(lib, dtype or dt), requires_grad=grad and prog.requires[i])
    for name, m in prog.consts.items():
        ns[name] = lib.tensor(m)
    steps = prog.steps if upto is None else prog.steps[:upto]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, step in enumerate(steps):
            try:
                exec(_code(step.line), ns)  # noqa: S102  (a program line)
            except BaseException as e:  # noqa: BLE001  (a Rust panic is no Exception)
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                return ns, (i, e)
            if detached is not None and step.detached:
                ns[step.detached] = lib.tensor(detached[step.detached], dtype=ns[step.detached].dtype)
    return ns, None


def arr_of(t):
    return np.array(t.detach().numpy(), copy=True)


def dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def tolerance(dtype_names):
    if "float32" in dtype_names:
        return 2e-4, 2e-5
    return 1e-9, 1e-10


def assert_values(got, want, what, rtol, atol):
    """Same shape; values within rtol and atol scaled by the largest finite
    magnitude (inf, -inf and nan in the same places)."""
    assert got.shape == want.shape, f"{what}: shape {got.shape}, expected {want.shape}"
    fin = np.abs(want[np.isfinite(want)])
    scale = max(1.0, float(fin.max()) if fin.size else 1.0)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=atol * scale, equal_nan=True, err_msg=what)


def check_exception(e, expected, where):
    name = type(e).__name__
    assert name != "PanicException" and "This is a bug in rustgrad" not in str(e), (
        f"{where}: a Rust panic: {name}: {e}")
    assert isinstance(e, ALLOWED_ERRORS), f"{where}: raised {name}: {e}"
    if expected is not None:
        assert type(e) is expected, f"{where}: raised {name}: {e}; PyTorch raises {expected.__name__}"


def check_forward(prog, ns, err, who="rustgrad"):
    """The run's error (or none) and every value against the model."""
    if prog.error:
        last = len(prog.steps) - 1
        assert err is not None, (f"{who} did not raise at the invalid step {prog.steps[-1].line!r} "
                                 f"(expected {prog.error.__name__}: {prog.steps[-1].why})")
        i, e = err
        assert i == last, f"{who} raised at step {prog.steps[i].line!r}, not at the last one: {e!r}"
        check_exception(e, prog.error, f"{who} at {prog.steps[i].line!r}")
    elif err is not None:
        i, e = err
        check_exception(e, None, f"{who} at {prog.steps[i].line!r}")
        raise AssertionError(f"{who} raised at the valid step {prog.steps[i].line!r}: "
                             f"{type(e).__name__}: {e}")
    rtol, atol = tolerance(prog.dtypes)
    for name, want in prog.values.items():
        t = ns[name]
        assert dtype_name(t) == want.dtype.name, f"{name}: dtype {t.dtype}, expected {want.dtype.name}"
        assert t.requires_grad == prog.value_rg[name], (
            f"{name}.requires_grad is {t.requires_grad}, expected {prog.value_rg[name]}")
        assert_values(arr_of(t), f64(want), f"{name} ({who})", rtol, atol)


def run_backward(lib, prog, ns):
    """``backward`` of the weighted sum of every value: the gradients of
    the bases, or the exception raised."""
    loss = None
    for name, w in prog.weights.items():
        t = ns[name]
        part = (t * lib.tensor(w, dtype=t.dtype)).sum()
        loss = part if loss is None else loss + part
    try:
        loss.backward()
    except BaseException as e:  # noqa: BLE001
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        return e
    grads = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # .grad of a non-leaf
        for i, (arr, dt) in enumerate(prog.bases):
            g = ns[f"b{i}"].grad
            if not prog.requires[i]:
                assert g is None, f"b{i} does not require grad, but has a .grad"
                grads.append(None)
                continue
            assert g is not None, f"b{i}.grad is None"
            assert tuple(g.shape) == arr.shape, f"b{i}.grad shape {tuple(g.shape)}, expected {arr.shape}"
            assert dtype_name(g) == dtype_name(ns[f"b{i}"]), f"b{i}.grad dtype {g.dtype}"
            grads.append(arr_of(g))
    return grads


def loss_value(prog, bases, extra=None, detached=None):
    with rg.no_grad():
        ns, err = execute(rg, prog, dtype="float64", grad=False, upto=prog.n_valid, bases=bases,
                          extra=extra, detached=detached)
    assert err is None, f"the float64 forward raised at {prog.steps[err[0]].line!r}: {err[1]!r}"
    return sum(float(np.sum(arr_of(ns[n]) * w)) for n, w in prog.weights.items())


def finite_difference_check(prog, grads, eps=1e-6, max_elements=24, directions=3, extra=None):
    """``grads`` (of the bases that require grad; None for the others)
    against float64 central differences: element by element for small
    programs, else along random directions."""
    x0 = [arr.copy() for arr, _ in prog.bases]
    wrt = [i for i, r in enumerate(prog.requires) if r]
    float32 = "float32" in prog.dtypes
    rtol, atol = (3e-3, 3e-3) if float32 else (1e-5, 1e-6)

    with rg.no_grad():
        ns, _ = execute(rg, prog, dtype="float64", grad=False, upto=prog.n_valid, extra=extra)
    detached = {s.detached: arr_of(ns[s.detached]) for s in prog.steps[:prog.n_valid] if s.detached}

    def loss(shifts):                                 # shifts: {i: array}
        return loss_value(prog, [x + shifts[i] if i in shifts else x for i, x in enumerate(x0)], extra,
                          detached)
    if sum(x0[i].size for i in wrt) <= max_elements:
        num = {i: np.zeros_like(x0[i]) for i in wrt}
        for i in wrt:
            for idx in np.ndindex(x0[i].shape):
                e = np.zeros_like(x0[i])
                e[idx] = eps
                num[i][idx] = (loss({i: e}) - loss({i: -e})) / (2 * eps)
        scale = max([1.0] + [float(np.max(np.abs(n))) for n in num.values() if n.size])
        for i in wrt:
            np.testing.assert_allclose(grads[i], num[i], rtol=rtol, atol=atol * scale,
                                       err_msg=f"gradient of b{i} vs finite differences")
        return
    rng = np.random.default_rng(len(prog.steps))
    for k in range(directions):
        u = {i: rng.standard_normal(x0[i].shape) for i in wrt}
        fd = (loss({i: eps * v for i, v in u.items()}) - loss({i: -eps * v for i, v in u.items()})) / (2 * eps)
        an = sum(float(np.sum(f64(grads[i]) * v)) for i, v in u.items())
        scale = max(1.0, sum(float(np.sum(np.abs(f64(grads[i]) * v))) for i, v in u.items()))
        assert abs(an - fd) <= rtol * abs(fd) + atol * scale, (
            f"directional derivative {k}: backward {an!r}, finite differences {fd!r}")


def check_program(prog, extra=None):
    """The whole check against the model: forward, then backward.
    ``extra``: more names for the program's namespace."""
    ns, err = execute(rg, prog, extra=extra)
    check_forward(prog, ns, err)
    if prog.n_valid == 0:
        return
    out = run_backward(rg, prog, ns)
    if prog.backward_error:
        assert isinstance(out, BaseException), (
            "backward did not raise though a tensor saved for backward was modified in place")
        check_exception(out, RuntimeError, "backward")
        return
    if isinstance(out, BaseException):
        check_exception(out, None, "backward")
        raise AssertionError(f"backward raised {type(out).__name__}: {out}")
    if len(prog.dtypes) == 1 and prog.smooth:
        finite_difference_check(prog, out, extra=extra)


def check_against_torch(torch, prog, extra=(None, None)):
    """The same program in PyTorch: errors (class, step), values, gradients.
    ``extra``: more names for the namespaces of rustgrad's and torch's run."""
    ns_r, err_r = execute(rg, prog, extra=extra[0])
    ns_t, err_t = execute(torch, prog, extra=extra[1])

    def said(who, err):
        return f"{who} raised nothing" if err is None else (
            f"{who} raised {type(err[1]).__name__}({err[1]}) at {prog.steps[err[0]].line!r}")
    assert (err_r and err_r[0]) == (err_t and err_t[0]), said("rustgrad", err_r) + "; " + said("torch", err_t)
    if err_r:
        check_exception(err_r[1], type(err_t[1]), f"rustgrad at {prog.steps[err_r[0]].line!r}")
    # the model must agree with PyTorch too (else the test is wrong)
    assert (type(err_t[1]) if err_t else None) is prog.error, (
        f"test model: torch raised {err_t!r}, the model expected {prog.error}")
    rtol, atol = tolerance(prog.dtypes)
    for name, want in prog.values.items():
        r, t = ns_r[name], ns_t[name]
        assert dtype_name(r) == dtype_name(t), f"{name}: dtype rustgrad {r.dtype}, torch {t.dtype}"
        assert r.requires_grad == t.requires_grad, (
            f"{name}: requires_grad rustgrad {r.requires_grad}, torch {t.requires_grad}")
        assert t.requires_grad == prog.value_rg[name], f"test model: {name}.requires_grad"
        assert_values(arr_of(r), arr_of(t), f"{name}: rustgrad vs torch", rtol, atol)
        assert dtype_name(t) == want.dtype.name, f"test model: {name} dtype torch {t.dtype}, model {want.dtype}"
        assert_values(arr_of(t), f64(want), f"test model: {name}: torch vs the model", rtol, atol)
    if prog.n_valid == 0:
        return
    out_r, out_t = run_backward(rg, prog, ns_r), run_backward(torch, prog, ns_t)
    assert isinstance(out_t, BaseException) == prog.backward_error, (
        f"test model: torch backward gave {out_t!r}, model expected an error: {prog.backward_error}")
    if isinstance(out_t, BaseException):
        assert isinstance(out_r, BaseException), f"backward: rustgrad did not raise, torch raised {out_t!r}"
        check_exception(out_r, type(out_t), "backward")
        return
    if isinstance(out_r, BaseException):
        check_exception(out_r, None, "backward")
        raise AssertionError(f"backward: rustgrad raised {out_r!r}, torch did not")
    float32 = "float32" in prog.dtypes
    if 0 < prog.margin < (KINK if float32 else 1e-7):
        return                                   # which side of a kink depends on rounding
    grtol, gatol = (1e-3, 1e-4) if float32 else (1e-8, 1e-9)
    for i, (g_r, g_t) in enumerate(zip(out_r, out_t)):
        if g_t is not None:
            assert_values(g_r, g_t, f"b{i}.grad: rustgrad vs torch", grtol, gatol)


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------

# the long runs (pytest -m fuzz): about 5.5 minutes each on two cores
LONG = settings(hsettings(35000), derandomize=False)
LONG_TORCH = settings(hsettings(25000), derandomize=False)


@hsettings(max_examples=1500)
@given(prog=programs())
def test_random_programs_match_numpy_and_finite_differences(prog):
    check_program(prog)


@hsettings(max_examples=1000)
@given(prog=programs())
def test_random_programs_match_pytorch(torch, prog):
    check_against_torch(torch, prog)


@pytest.mark.fuzz
@LONG
@given(prog=programs())
def test_fuzz_random_programs_match_numpy_and_finite_differences(prog):
    check_program(prog)


@pytest.mark.fuzz
@LONG_TORCH
@given(prog=programs())
def test_fuzz_random_programs_match_pytorch(torch, prog):
    check_against_torch(torch, prog)


# ---------------------------------------------------------------------------
# the checks catch planted faults (each test above can fail)
# ---------------------------------------------------------------------------

def planted_program(expr, compute, *, dtype="float64", inputs=("v0",), **kw):
    """Leaf ``v0`` (2x3, requires grad) and one step ``expr`` that the model
    computes as ``compute(X)``."""
    P = Planner(0)
    arr = rand_array(1, (2, 3), avoid=[0.0], margin=0.2).astype(dtype).astype(np.float64)
    P.add_leaf(0, arr, dtype, "contiguous", (2, 3), True)
    X = P.env["v0"]
    P.emit(expr, lambda: compute(f64(X)), X.dtype, inputs=list(inputs), **kw)
    return program_of(P, [(arr, dtype)], [True], seed=0)


def _wrong_grad_sin(lib):
    class WrongSin(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin()

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x.cos() * 1.001
    return WrongSin.apply


class PanicException(BaseException):
    """Named like PyO3's exception for a Rust panic."""


def _raise(cls):
    def fault(x):
        raise cls("planted")
    return fault


def _error_step():
    def compute(x):
        raise Expected(RuntimeError, "the model says this step is invalid")
    return planted_program("fault(v0)", compute)


PLANTED = {
    # name: (program, the fault as a function of the library)
    "wrong_value": (lambda: planted_program("fault(v0)", np.sin),
                    lambda lib: lambda x: x.sin() * (1 + 1e-6)),
    "wrong_value_float32": (lambda: planted_program("fault(v0)", np.sin, dtype="float32"),
                            lambda lib: lambda x: x.sin() * (1 + 1e-3)),
    "wrong_shape": (lambda: planted_program("fault(v0)", np.sin),
                    lambda lib: lambda x: x.sin().unsqueeze(0)),
    "wrong_dtype": (lambda: planted_program("fault(v0)", np.sin, dtype="float32"),
                    lambda lib: lambda x: x.sin().double()),
    "wrong_requires_grad": (lambda: planted_program("fault(v0)", np.sin),
                            lambda lib: lambda x: x.detach().sin()),
    "wrong_gradient": (lambda: planted_program("fault(v0)", np.sin), _wrong_grad_sin),
    "raises_on_a_valid_step": (lambda: planted_program("fault(v0)", np.sin),
                               lambda lib: _raise(RuntimeError)),
    "no_error": (_error_step, lambda lib: lambda x: x.sin()),
    "wrong_error_class": (_error_step, lambda lib: _raise(ValueError)),
    "a_panic": (_error_step, lambda lib: _raise(PanicException)),
    "a_bug_message": (_error_step, lambda lib: lambda x: (_ for _ in ()).throw(
        RuntimeError("index out of bounds\nThis is a bug in rustgrad (a Rust panic ...)"))),
    "no_backward_error": (lambda: planted_program("fault(v0).exp()", np.exp, saves_result=True),
                          lambda lib: lambda x: x),
}


@pytest.mark.skipif(REFERENCE is not None, reason="plants faults into rustgrad's runs")
@pytest.mark.parametrize("fault", sorted(PLANTED))
def test_checks_catch_planted_faults(fault):
    make, planted = PLANTED[fault]
    prog = make()
    if fault == "no_backward_error":            # modify the saved result in place, unnoticed
        prog.steps.append(Step("v1.data.mul_(2.0)"))
        prog.backward_error = True
    with pytest.raises(AssertionError):
        check_program(prog, extra={"fault": planted(rg)})


@pytest.mark.skipif(REFERENCE is not None, reason="plants faults into rustgrad's runs")
@pytest.mark.parametrize("fault", ["wrong_value", "wrong_value_float32", "wrong_gradient",
                                   "wrong_error_class", "no_error", "wrong_requires_grad"])
def test_torch_check_catches_planted_faults(torch, fault):
    make, planted = PLANTED[fault]
    prog = make()
    honest = _raise(RuntimeError) if fault in ("no_error", "wrong_error_class") else (lambda x: x.sin())
    with pytest.raises(AssertionError):
        check_against_torch(torch, prog, extra=({"fault": planted(rg)}, {"fault": honest}))


def test_planted_fault_programs_pass_when_honest():
    """The planted programs with honest functions pass (the faults, not
    the programs, make the checks above fail)."""
    for fault in ("wrong_value", "wrong_value_float32", "wrong_gradient", "no_error"):
        prog = PLANTED[fault][0]()
        honest = _raise(RuntimeError) if fault == "no_error" else (lambda x: x.sin())
        check_program(prog, extra={"fault": honest})


# ---------------------------------------------------------------------------
# regressions: bugs the fuzzers found (KNOWN_BUGS keeps them out of the
# random programs); each is the smallest program showing it, with what
# PyTorch does
# ---------------------------------------------------------------------------

def known_bug(reason):
    return pytest.mark.xfail(REFERENCE is None, strict=True, reason="rustgrad bug: " + reason)


def test_regression_mT_of_1d_raises():
    with pytest.raises(RuntimeError, match="tensor.mT is only supported on matrices or batches of matrices"):
        rg.tensor([1.0, 2.0]).mT


def test_regression_negative_step_slice_of_0d_raises_value_error():
    with pytest.raises(ValueError):
        rg.tensor(1.0)[::-1]


def test_regression_chunk_of_0d_raises_runtime_error():
    """Found as a Rust panic; fixed since (PyTorch: RuntimeError 'chunk
    expects at least a 1-dimensional tensor')."""
    with pytest.raises(RuntimeError) as info:
        rg.tensor(1.0).chunk(2, 0)
    assert "This is a bug in rustgrad" not in str(info.value)


def test_regression_chunk_of_empty_dim_gives_k_chunks():
    chunks = rg.zeros(0, 3).chunk(2, 0)
    assert [tuple(c.shape) for c in chunks] == [(0, 3), (0, 3)]


@pytest.mark.parametrize("view", ["", "[1:]"])
def test_regression_inplace_on_chunk_output_raises(view):
    a = rg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True) * 1
    piece = eval("a.chunk(2)[0]" + view)  # noqa: S307
    with pytest.raises(RuntimeError):
        piece.mul_(2.0)


def test_regression_inplace_on_chunk_output_without_grad_works():
    """The fuzzer's model once expected this to raise (it took every chunk
    output as refused); PyTorch refuses only those that require grad. The
    chunk of an expanded 0-d tensor has one element: no overlap either."""
    b = rg.tensor(1.5, dtype=rg.float64)
    piece = rg.chunk(b.expand((2,)), 2, dim=0)[0]
    piece.add_(3.0)
    assert piece.tolist() == [4.5] and b.item() == 4.5


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_regression_maximum_minimum_saved_operand_modified(op):
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    a = x * 1
    r = getattr(rg, op)(a, rg.tensor([1.5, 1.5]))
    a.mul_(-1.0)          # r's backward needs the original a (this gave x.grad [0, 0] / [1, 1])
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        r.sum().backward()


@pytest.mark.parametrize("modified", ["result", "input"])
def test_regression_logsumexp_saved_tensor_modified(modified):
    x = rg.tensor([[1.0, 2.0], [3.0, 0.5]], requires_grad=True)
    a = x * 1
    r = a.logsumexp(0)
    (r if modified == "result" else a).mul_(2.0)   # rustgrad: x.grad doubled / unchanged
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        r.sum().backward()


def test_regression_prod_of_0d_saved_result_modified():
    x = rg.tensor(2.0, requires_grad=True)
    r = (x * 1).prod()
    r.add_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        r.backward()


@pytest.mark.parametrize("expr", ["a @ c", "c @ a", "a @ c[0]", "a[0] @ c[0]"])
def test_regression_matmul_saves_only_what_backward_needs(expr):
    x = rg.tensor([[1.0, 2.0], [3.0, 0.5]], requires_grad=True)
    c = rg.tensor([[0.5, -1.0], [2.0, 1.5]])
    a = x * 1
    r = eval(expr)  # noqa: S307
    a.add_(1.0)           # a is not needed for the gradient of r (c needs none)
    (r.sum() + a.sum()).backward()
    assert x.grad is not None


def test_regression_cat_of_empty_1d_tensors_is_a_new_tensor():
    x = rg.zeros(0, requires_grad=True)
    y = rg.zeros(0, requires_grad=True)
    a = x * 1
    c = rg.cat([a, y * 1])
    d = c * c             # saves c
    a.add_(1.0)
    assert c._version == 0
    (d.sum() + a.sum()).backward()


def test_regression_cumsum_of_0d_is_a_new_tensor():
    x = rg.tensor(2.0, requires_grad=True)
    a = x * 1
    c = a.cumsum(0)
    c.sub_(a)             # rustgrad: a becomes 0 too
    assert a.item() == 2.0
    x.cumsum(0).add_(1.0)   # rustgrad: RuntimeError (a leaf Variable that requires grad ...)


def test_regression_index_select_of_0d_checks_dim_first():
    with pytest.raises(IndexError):
        rg.tensor(2.0).index_select(1, rg.tensor([0, 0]))

