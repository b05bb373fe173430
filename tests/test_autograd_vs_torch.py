"""Differential test against PyTorch: the same graph-building programs run
in rustgrad and in torch, and every gradient and every raised error must
agree.

A *program* is a list of steps over a few float64 leaf tensors (the
*data*). A step is either an abstract tuple ``(op, a, b, c)`` drawn by
hypothesis, whose small integers the interpreter turns into operand, dim
and variant choices using the shapes it sees at run time, or a literal line
of Python (the hand-written regression programs). Either way the
interpreter ``run`` executes each step as a line of source code in a
namespace where ``torch`` is the library under test, so the trace a
failure prints is itself a reproducer: run it with ``torch`` as either
library after ``globals().update(functions(torch))`` (``Cube``,
``SinAndDouble``, ``MulTwo``) and ``logged = make_logged({})`` (hooks that
double the gradient) from this module.

Compared between the libraries: the trace (the programs must not diverge),
every raised error (class and message, at the same line), every tensor the
program made (shape, dtype, ``requires_grad``, ``is_leaf``, whether it has a
``grad_fn``, ``_version`` and final values; not the ``grad_fn`` class, where
PyTorch's fast paths for no-op slices give ``AliasBackward0``,
``FillBackward2`` and the like), the ``.grad`` of every leaf and of
every tensor that retains its grad, the results of ``autograd.grad`` (and
of the second-order ``grad``), the gradients each hook saw, and warnings.
Values compare within float64 tolerances; ``None``-ness, shapes and
``requires_grad`` of gradients exactly.

The generator avoids one kind of program: an in-place op whose tensor
operand partially overlaps the tensor it writes (PyTorch computes those in
memory order where it cannot detect the overlap). Skipped without PyTorch.
"""

import re
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import rustgrad as rg
from conftest import REFERENCE, broadcastable, broadcasts_to, hsettings, pick_dim, rand_array, seeds

# Transcendental ops may differ in the last bits between libm and PyTorch's
# vectorized kernels, and sums may add in another order; through these short
# programs float64 relative differences stay ~1e-13, while exact
# cancellations leave absolute noise of ~1e-11 (ATOL is scaled by the largest
# finite magnitude compared). An RTOL of 1e-7 would let float32-rounded
# values through.
RTOL, ATOL = 1e-10, 1e-9

NUMBERS = (2.0, -1.5, 0.5, 3.0)
EXPONENTS = (2.0, 0.5, 3.0, -0.5, 1.5)
INDEXES = ("[0]", "[1:]", "[..., :1]", "[-1]")


# ---------------------------------------------------------------------------
# custom Functions and hooks, defined the same way for both libraries
# ---------------------------------------------------------------------------

_FUNCTIONS = {}


def functions(lib):
    """``Cube``, ``SinAndDouble`` (two outputs) and ``MulTwo`` (two inputs
    that may broadcast, so its backward returns gradients the engine must
    sum down) as subclasses of ``lib.autograd.Function``."""
    if lib.__name__ in _FUNCTIONS:
        return _FUNCTIONS[lib.__name__]

    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * 3 * x ** 2

    class SinAndDouble(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.sin(), x * 2

        @staticmethod
        def backward(ctx, g_sin, g_double):
            (x,) = ctx.saved_tensors
            return g_sin * x.cos() + g_double * 2

    class MulTwo(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b

        @staticmethod
        def backward(ctx, g):
            a, b = ctx.saved_tensors
            return g * b, g * a

    _FUNCTIONS[lib.__name__] = dict(Cube=Cube, SinAndDouble=SinAndDouble, MulTwo=MulTwo)
    return _FUNCTIONS[lib.__name__]


def snap(t):
    # force=True: PyTorch's autograd.grad may return (efficient) zero tensors
    return None if t is None else np.array(t.detach().numpy(force=True), copy=True)


def make_logged(seen):
    def logged(k):
        """Hook number ``k``: records the gradient it sees, returns ``g * 2``
        (PyTorch calls a hook with ``None`` for an output of a multi-output
        node that got no gradient)."""
        def hook(g):
            seen.setdefault(k, []).append(None if g is None else (tuple(g.shape), g.requires_grad, snap(g)))
            return None if g is None else g * 2
        return hook
    return logged


# ---------------------------------------------------------------------------
# the interpreter
# ---------------------------------------------------------------------------

_ASSIGNED = re.compile(r"^\s*(v\d+(?:\s*,\s*v\d+)*)\s*=(?!=)")








def _literal(shape):
    """Deterministic non-uniform values of ``shape`` as source text."""
    n = int(np.prod(shape, dtype=np.int64))
    a = np.linspace(0.5, 1.5, n).reshape(shape)
    return f"torch.tensor({a.tolist()!r}, dtype=torch.float64)"


class Env:
    def __init__(self, ns, n_leaves):
        self.ns = ns
        self.values = {}            # name -> tensor, in creation order
        self.count = n_leaves
        self.hooks = 0
        self.leaves = [f"v{i}" for i in range(n_leaves)]

    def new(self):
        name = f"v{self.count}"
        self.count += 1
        return name

    def shape(self, name):
        return tuple(self.values[name].shape)

    def pick(self, k, pred=None):
        """The ``k``-th most recent value satisfying ``pred`` (any value
        when none does, so that invalid programs get made too)."""
        names = list(self.values)
        cands = [n for n in names if pred is None or pred(self.values[n])] or names
        return cands[-1 - k % len(cands)]

    def operand(self, k, dest, shape):
        """A tensor operand for an in-place op writing ``dest`` (a tensor)
        that broadcasts to ``shape`` and shares no memory with ``dest`` (but
        may be ``dest`` itself), or a number where there is none. (PyTorch
        rejects partially overlapping operands only where it can tell, and
        otherwise computes in memory order: those results are not
        specified; ``inplace_with_a_partially_overlapping_operand`` checks
        the errors.)"""
        cands = [n for n, t in self.values.items()
                 if broadcasts_to(tuple(t.shape), shape) and (t is dest or not _may_alias(t, dest))]
        return cands[-1 - k % len(cands)] if cands else NUMBERS[k % len(NUMBERS)]


def _memory(t):
    """The byte range ``t``'s elements occupy (None when it has none)."""
    if t.numel() == 0:
        return None
    start = t.data_ptr()
    span = sum((n - 1) * abs(st) for n, st in zip(t.shape, t.stride())) + 1
    return start, start + span * t.element_size()


def _may_alias(a, b):
    ra, rb = _memory(a), _memory(b)
    return ra is not None and rb is not None and ra[0] < rb[1] and rb[0] < ra[1]


def _nonleaf(t):
    return not t.is_leaf


def _requires(t):
    return t.requires_grad


def _binary(sym):
    def op(env, a, b, c):
        x = env.pick(a)
        y = env.pick(b, lambda t: broadcastable(env.shape(x), tuple(t.shape)))
        yield f"{env.new()} = {x} {sym} {y}"
    return op


def _binary_number(sym):
    def op(env, a, b, c):
        x, n = env.pick(a), NUMBERS[b % len(NUMBERS)]
        yield f"{env.new()} = {x} {sym} {n!r}" if c % 2 == 0 else f"{env.new()} = {n!r} {sym} {x}"
    return op


def _unary(method, functional):
    def op(env, a, b, c):
        x = env.pick(a)
        yield f"{env.new()} = " + (method if c % 2 == 0 else functional).format(x=x)
    return op


def op_pow(env, a, b, c):
    x, e = env.pick(a), EXPONENTS[b % len(EXPONENTS)]
    yield f"{env.new()} = ({x}.abs() + 0.5) ** {e!r}"


def _reduction(name):
    def op(env, a, b, c):
        x = env.pick(a)
        if c % 3 == 0:
            yield f"{env.new()} = {x}.{name}()"
        else:
            yield f"{env.new()} = {x}.{name}({pick_dim(len(env.shape(x)), b)}, keepdim={c % 3 == 2})"
    return op


def _shape_change(name):
    def op(env, a, b, c):
        x = env.pick(a)
        s = env.shape(x)
        new = [(-1,), s[::-1], (1,) + s, s + (1,), (-1, 1)][b % 5]
        if c % 2 == 0 or not new:
            yield f"{env.new()} = {x}.{name}({new!r})"
        else:
            yield f"{env.new()} = {x}.{name}({', '.join(map(str, new))})"
    return op


def op_t(env, a, b, c):
    x = env.pick(a, lambda t: t.dim() == 2)
    yield f"{env.new()} = {x}.t()" if c % 2 == 0 else f"{env.new()} = torch.t({x})"


def op_transpose(env, a, b, c):
    x = env.pick(a, lambda t: t.dim() >= 2)
    nd = len(env.shape(x))
    yield f"{env.new()} = {x}.transpose({pick_dim(nd, b)}, {pick_dim(nd, c)})"


def op_unsqueeze(env, a, b, c):
    x = env.pick(a)
    yield f"{env.new()} = {x}.unsqueeze({pick_dim(len(env.shape(x)), b, extra=1)})"


def op_squeeze(env, a, b, c):
    x = env.pick(a)
    if c % 2 == 0:
        yield f"{env.new()} = {x}.squeeze()"
    else:
        yield f"{env.new()} = {x}.squeeze({pick_dim(len(env.shape(x)), b)})"


def op_expand(env, a, b, c):
    x = env.pick(a)
    s = env.shape(x)
    if b == 7:
        sizes = tuple(n + 1 for n in s) or (2,)             # invalid
    else:
        sizes = [(2,) + tuple(3 if n == 1 else n for n in s), (2,) + (-1,) * len(s),
                 tuple(3 if n == 1 else n for n in s) or (2,)][c % 3]
    yield f"{env.new()} = {x}.expand({', '.join(map(str, sizes))})"


def op_clone(env, a, b, c):
    yield f"{env.new()} = {env.pick(a)}.clone()"


def op_detach(env, a, b, c):
    yield f"{env.new()} = {env.pick(a)}.detach()"


def op_matmul(env, a, b, c):
    x = env.pick(a, lambda t: t.dim() == 2)
    xs = env.shape(x)
    if c % 4 == 3:
        y = env.pick(b)                                     # maybe mismatched
    else:
        fits = [n for n, t in env.values.items()
                if len(xs) == 2 and t.dim() == 2 and t.shape[0] == xs[1]]
        y = fits[-1 - b % len(fits)] if fits else f"{x}.t()"
    yield f"{env.new()} = {x} @ {y}" if c % 2 == 0 else f"{env.new()} = torch.matmul({x}, {y})"


def op_cat(env, a, b, c):
    x = env.pick(a)
    y = env.pick(b, lambda t: tuple(t.shape) == env.shape(x))
    yield f"{env.new()} = torch.cat([{x}, {y}], dim={pick_dim(len(env.shape(x)), c)})"


def op_stack(env, a, b, c):
    x = env.pick(a)
    y = env.pick(b, lambda t: tuple(t.shape) == env.shape(x))
    yield f"{env.new()} = torch.stack(({x}, {y}), {pick_dim(len(env.shape(x)), c, extra=1)})"


def op_index(env, a, b, c):
    x = env.pick(a, lambda t: t.dim() >= 1)
    yield f"{env.new()} = {x}{INDEXES[c % len(INDEXES)]}"


def op_retain_grad(env, a, b, c):
    yield f"{env.pick(a, _nonleaf)}.retain_grad()"


def op_hook(env, a, b, c):
    x = env.pick(a, lambda t: t.requires_grad and not t.is_leaf)
    k, env.hooks = env.hooks, env.hooks + 1
    yield f"{x}.register_hook(logged({k}))"


def _inplace(name):
    def op(env, a, b, c):
        x = env.pick(a, _nonleaf)
        if c % 3 == 0:
            yield f"{x}.{name}({NUMBERS[b % len(NUMBERS)]!r})"
        else:
            y = env.operand(b, env.values[x], env.shape(x))
            yield f"{x}.{name}({y}, alpha=2.0)" if (name == "add_" and c % 3 == 2) else f"{x}.{name}({y})"
    return op


def op_zero_(env, a, b, c):
    yield f"{env.pick(a, _nonleaf)}.zero_()"


def op_setitem(env, a, b, c):
    x = env.pick(a, lambda t: not t.is_leaf and t.dim() >= 1)
    idx = INDEXES[c % len(INDEXES)]
    if b % 2 == 0:
        yield f"{x}{idx} = {NUMBERS[b // 2 % len(NUMBERS)]!r}"
        return
    try:
        target = eval("arr" + idx, {"arr": np.empty(env.shape(x))}).shape
    except IndexError:
        target = env.shape(x)
    cands = [n for n, t in env.values.items()
             if broadcasts_to(tuple(t.shape), target) and not _may_alias(t, env.values[x])]
    y = cands[-1 - b // 2 % len(cands)] if cands else NUMBERS[b // 2 % len(NUMBERS)]
    yield f"{x}{idx} = {y}"


VIEWS = ("[0]", "[1:]", "[..., :1]", "[-1]", ".t()", ".unsqueeze(0)", ".view(-1)", "expand")


def op_view_inplace(env, a, b, c):
    """In-place on a view of an intermediate (CopySlices on its base)."""
    x = env.pick(a, _nonleaf)
    view = VIEWS[b % len(VIEWS)]
    if view == "expand":
        view = f".expand({', '.join(['2'] + ['-1'] * len(env.shape(x)))})"
    v = env.new()
    yield f"{v} = {x}{view}"
    mode = c % 4
    if mode == 0:
        yield f"{v}.mul_(2.0)"
    elif mode == 1:
        yield f"{v}.zero_()"
    elif mode == 2:
        yield f"{v}.add_(1.5)"
    else:
        yield f"{v}.mul_({env.operand(c // 4, env.values[v], env.shape(v))})"


def op_cube(env, a, b, c):
    yield f"{env.new()} = Cube.apply({env.pick(a)})"


def op_two_outputs(env, a, b, c):
    yield f"{env.new()}, {env.new()} = SinAndDouble.apply({env.pick(a)})"


def op_mul_fn(env, a, b, c):
    x = env.pick(a)
    y = env.pick(b, lambda t: broadcastable(env.shape(x), tuple(t.shape)))
    yield f"{env.new()} = MulTwo.apply({x}, {y})"


# --- final steps -----------------------------------------------------------

def _inputs(env, c):
    """Names for ``autograd.grad``'s inputs: the leaves that require grad,
    sometimes a non-leaf too, sometimes every leaf (an error if one does not
    require grad)."""
    if c % 4 == 3:
        return list(env.leaves)
    names = [n for n in env.leaves if env.values[n].requires_grad]
    if c % 2 == 1:
        mids = [n for n, t in env.values.items() if t.requires_grad and not t.is_leaf]
        names += mids[-1:]
    return names


def final_backward(env, a, b, c):
    x = env.pick(a, _requires)
    if len(env.shape(x)) == 0 and b % 2 == 0:
        yield f"{x}.backward()"
    elif b % 4 == 3:
        yield f"{x}.backward()"                             # non-scalar: an error
    else:
        yield f"{x}.sum().backward()"


def final_backward_gradient(env, a, b, c):
    x = env.pick(a, _requires)
    s = env.shape(x) if b != 7 else env.shape(x) + (2,)
    if c % 2 == 0:
        yield f"{x}.backward(gradient={_literal(s)})"
    else:
        yield f"torch.autograd.backward([{x}], [{_literal(s)}])"


def final_grad(env, a, b, c):
    x = env.pick(a, _requires)
    inputs = ", ".join(_inputs(env, c))
    yield f"gs = torch.autograd.grad({x}.sum(), [{inputs}], allow_unused={b % 3 != 2})"


def final_double_grad(env, a, b, c):
    x = env.pick(a, _requires)
    inputs = ", ".join(_inputs(env, c))
    yield f"gs = torch.autograd.grad(({x} * {x}).sum(), [{inputs}], create_graph=True, allow_unused=True)"
    terms = [f"(gs[{i}] * gs[{i}]).sum()" for i, g in enumerate(env.ns["gs"])
             if g is not None and g.requires_grad]
    if not terms:
        return
    yield "s = " + " + ".join(terms)
    if b % 2 == 0:
        yield f"gs2 = torch.autograd.grad(s, [{inputs}], allow_unused=True)"
    else:
        yield "s.backward()"


def final_backward_twice(env, a, b, c):
    x = env.pick(a, _requires)
    yield f"{x}.sum().backward(retain_graph={b % 2 == 0})"
    yield f"{x}.sum().backward()"


OPS = {
    "add": _binary("+"), "sub": _binary("-"), "mul": _binary("*"), "div": _binary("/"),
    "add_n": _binary_number("+"), "sub_n": _binary_number("-"),
    "mul_n": _binary_number("*"), "div_n": _binary_number("/"),
    "pow": op_pow,
    "neg": _unary("-{x}", "torch.neg({x})"),
    "sin": _unary("{x}.sin()", "torch.sin({x})"),
    "cos": _unary("{x}.cos()", "torch.cos({x})"),
    "exp": _unary("{x}.exp()", "torch.exp({x})"),
    "log": _unary("({x}.abs() + 1).log()", "torch.log(torch.abs({x}) + 1)"),
    "sqrt": _unary("({x}.abs() + 0.1).sqrt()", "torch.sqrt(abs({x}) + 0.1)"),
    "tanh": _unary("{x}.tanh()", "torch.tanh({x})"),
    "sigmoid": _unary("{x}.sigmoid()", "torch.sigmoid({x})"),
    "relu": _unary("{x}.relu()", "torch.relu({x})"),
    "abs": _unary("{x}.abs()", "abs({x})"),
    "sum": _reduction("sum"), "mean": _reduction("mean"),
    "reshape": _shape_change("reshape"), "view": _shape_change("view"),
    "t": op_t, "transpose": op_transpose, "unsqueeze": op_unsqueeze, "squeeze": op_squeeze,
    "expand": op_expand, "clone": op_clone, "detach": op_detach, "matmul": op_matmul,
    "cat": op_cat, "stack": op_stack, "index": op_index,
    "retain_grad": op_retain_grad, "hook": op_hook,
    "mul_": _inplace("mul_"), "add_": _inplace("add_"), "zero_": op_zero_,
    "setitem": op_setitem, "view_inplace": op_view_inplace,
    "cube": op_cube, "two_outputs": op_two_outputs, "mul_fn": op_mul_fn,
}
FINALS = {
    "backward": final_backward, "backward_gradient": final_backward_gradient,
    "grad": final_grad, "double_grad": final_double_grad, "backward_twice": final_backward_twice,
}
STEPS = {**OPS, **FINALS}


def _lines(env, step):
    if isinstance(step, str):
        return iter([line for line in step.strip().splitlines() if line.strip()])
    op, a, b, c = step
    return STEPS[op](env, a, b, c)


def run(lib, program, data):
    """Runs ``program`` (a list of steps) on leaves ``data`` (a list of
    ``(array, requires_grad)``) with ``lib`` as ``torch``. Returns a dict of
    everything the comparison looks at; an error raised by a line is
    recorded and the rest of its step skipped, the program goes on."""
    seen = {}
    ns = {"torch": lib, "logged": make_logged(seen), **functions(lib)}
    env = Env(ns, len(data))
    trace, errors = [], []
    steps = [f"v{i} = torch.tensor({np.asarray(arr).tolist()!r}, dtype=torch.float64, "
             f"requires_grad={bool(req)})" for i, (arr, req) in enumerate(data)] + list(program)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for step in steps:
            lines = _lines(env, step)
            for line in lines:
                trace.append(line)
                try:
                    exec(compile(line, "<program>", "exec"), ns)
                except BaseException as e:  # noqa: BLE001  (compared with the other library;
                    if isinstance(e, (KeyboardInterrupt, SystemExit)):  # a Rust panic is no Exception)
                        raise
                    errors.append((len(trace) - 1, type(e).__name__, str(e)))
                    if hasattr(lines, "close"):
                        lines.close()
                    break
                m = _ASSIGNED.match(line)
                if m:
                    for name in re.split(r"\s*,\s*", m.group(1)):
                        env.values[name] = ns[name]

    values, grads = {}, {}
    for name, t in env.values.items():
        fn = None if t.grad_fn is None else type(t.grad_fn).__name__
        values[name] = dict(shape=tuple(t.shape), dtype=str(t.dtype), requires_grad=t.requires_grad,
                            is_leaf=t.is_leaf, grad_fn=fn, version=t._version, value=snap(t))
        if t.is_leaf or t.retains_grad:
            g = t.grad
            grads[name] = None if g is None else (tuple(g.shape), g.requires_grad, snap(g))

    def results(name):
        if name not in ns:
            return None
        return [None if g is None else (tuple(g.shape), g.requires_grad, snap(g)) for g in ns[name]]

    return dict(trace=trace, errors=errors, values=values, grads=grads, gs=results("gs"),
                gs2=results("gs2"), seen=seen,
                warnings=[(w.category.__name__, str(w.message)) for w in caught])


# ---------------------------------------------------------------------------
# comparison
# ---------------------------------------------------------------------------

def _close(a, b):
    if a.shape != b.shape:
        return False
    finite = np.abs(b[np.isfinite(b)])
    scale = max(1.0, float(finite.max()) if finite.size else 1.0)
    return bool(np.allclose(a, b, rtol=RTOL, atol=ATOL * scale, equal_nan=True))


def _diff_grad(what, a, b, diffs):
    """``a``, ``b``: None or (shape, requires_grad, array)."""
    if (a is None) != (b is None):
        diffs.append(f"{what}: rustgrad {'None' if a is None else 'a tensor'}, "
                     f"torch {'None' if b is None else 'a tensor'}")
    elif a is not None:
        if a[:2] != b[:2]:
            diffs.append(f"{what}: (shape, requires_grad) rustgrad {a[:2]}, torch {b[:2]}")
        elif not _close(a[2], b[2]):
            diffs.append(f"{what}: rustgrad {a[2].tolist()}\n    torch    {b[2].tolist()}")


def differences(r, t, grad_fn_classes=False):
    """What differs between rustgrad's results ``r`` and torch's ``t``.
    ``grad_fn`` classes are only compared with ``grad_fn_classes``; otherwise
    only whether there is one."""
    diffs = []
    if r["errors"] != t["errors"]:
        diffs.append(f"errors:\n  rustgrad {r['errors']}\n  torch    {t['errors']}")
    if r["trace"] != t["trace"]:
        i = next((i for i, (a, b) in enumerate(zip(r["trace"], t["trace"])) if a != b),
                 min(len(r["trace"]), len(t["trace"])))
        return diffs + [f"the programs diverged at line {i}:\n  rustgrad {r['trace'][i:i + 1]}\n"
                        f"  torch    {t['trace'][i:i + 1]}"]
    for name, a in r["values"].items():
        b = t["values"][name]
        meta = [k for k in a if k != "value" and a[k] != b[k]
                and (k != "grad_fn" or grad_fn_classes or (a[k] is None) != (b[k] is None))]
        if meta:
            diffs.append(f"{name}: " + ", ".join(f"{k} rustgrad {a[k]!r} torch {b[k]!r}" for k in meta))
        elif not _close(a["value"], b["value"]):
            diffs.append(f"{name} value: rustgrad {a['value'].tolist()}\n    torch    {b['value'].tolist()}")
    if r["grads"].keys() != t["grads"].keys():
        diffs.append(f"tensors with a readable .grad: rustgrad {sorted(r['grads'])} "
                     f"torch {sorted(t['grads'])}")
    for name in r["grads"].keys() & t["grads"].keys():
        _diff_grad(f"{name}.grad", r["grads"][name], t["grads"][name], diffs)
    for key in ("gs", "gs2"):
        a, b = r[key], t[key]
        if (a is None) != (b is None) or (a is not None and len(a) != len(b)):
            diffs.append(f"{key}: rustgrad {a!r} torch {b!r}")
        elif a is not None:
            for i, (x, y) in enumerate(zip(a, b)):
                _diff_grad(f"{key}[{i}]", x, y, diffs)
    if r["seen"].keys() != t["seen"].keys():
        diffs.append(f"hooks called: rustgrad {sorted(r['seen'])} torch {sorted(t['seen'])}")
    for k in r["seen"].keys() & t["seen"].keys():
        a, b = r["seen"][k], t["seen"][k]
        if len(a) != len(b):
            diffs.append(f"hook {k} called rustgrad {len(a)} times, torch {len(b)} times")
        for i, (x, y) in enumerate(zip(a, b)):
            _diff_grad(f"hook {k} call {i}", x, y, diffs)
    if r["warnings"] != t["warnings"]:
        diffs.append(f"warnings:\n  rustgrad {r['warnings']}\n  torch    {t['warnings']}")
    return diffs


def check(torch, program, data, grad_fn_classes=False):
    r, t = run(rg, program, data), run(torch, program, data)
    diffs = differences(r, t, grad_fn_classes)
    assert not diffs, ("rustgrad and PyTorch differ:\n" + "\n".join(diffs)
                       + "\n\nprogram (as run by torch; line numbers from 0):\n" + render(r, t))
    return t


def render(r, t):
    """torch's trace, each line numbered and marked with the error each
    library raised there."""
    marks = {}
    for who, res in (("rustgrad", r), ("torch", t)):
        for i, cls, _ in res["errors"]:
            marks.setdefault(i, []).append(f"{who}: {cls}")
    return "\n".join(f"{i:3}  {line}" + (f"  # {', '.join(marks[i])}" if i in marks else "")
                     for i, line in enumerate(t["trace"]))


# ---------------------------------------------------------------------------
# random programs
# ---------------------------------------------------------------------------

_small = st.integers(0, 7)


def steps(names):
    return st.tuples(st.sampled_from(list(names)), _small, _small, _small)


programs = st.tuples(st.lists(steps(OPS), min_size=1, max_size=8), steps(FINALS)).map(
    lambda p: p[0] + [p[1]])


@st.composite
def leaf_data(draw):
    n = draw(st.integers(1, 3))
    shapes = draw(hnp.mutually_broadcastable_shapes(
        num_shapes=n, min_dims=0, max_dims=3, min_side=1, max_side=3)).input_shapes
    requires = [True] + [draw(st.sampled_from([True, True, False])) for _ in shapes[1:]]
    seed = draw(seeds)
    return [(rand_array(seed + i, s, avoid=[0.0]), req) for i, (s, req) in enumerate(zip(shapes, requires))]


@hsettings(max_examples=100)
@given(program=programs, data=leaf_data())
def test_random_programs_match_pytorch(torch, program, data):
    check(torch, program, data)


# ---------------------------------------------------------------------------
# hand-written regression programs
# ---------------------------------------------------------------------------

M23 = np.array([[0.5, -1.25, 2.0], [1.5, 0.75, -0.5]])
V3 = np.array([0.25, -1.5, 1.75])

# name: (leaf data..., program). Leaves are v0, v1, ... in order; each
# program line is one step (an error is recorded and the program goes on).
REGRESSIONS = {
    # --- the autograd features the random programs combine ------------------
    "inplace_on_view_of_nonleaf": ((M23, True), (V3, True), """
        v2 = v0 * 2
        v3 = v2[0]
        v3.mul_(v1)
        v4 = (v2 * v2).sum()
        v4.backward()
    """),
    "inplace_on_views_of_nonleaf_then_double_backward": ((M23, True), (V3, True), """
        v2 = v0.sin()
        v3 = v2[:, 1:]
        v3.add_(v1[1:] * 3)
        v2[1] = v1.exp()
        gs = torch.autograd.grad((v2 * v2).sum(), [v0, v1], create_graph=True)
        s = gs[0].sum() + gs[1].sum()
        gs2 = torch.autograd.grad(s, [v0, v1])
    """),
    "inplace_on_a_view_breaks_a_saved_base": ((M23, True), """
        v1 = v0.exp()
        v2 = v1[0]
        v3 = v2 * v2
        v1[0].zero_()
        v3.sum().backward()
    """),
    "retain_grad_then_inplace": ((M23, True), (V3, True), """
        v2 = v0 * v1
        v2.retain_grad()
        v2.add_(v1)
        v3 = v2.exp()
        v3.sum().backward()
    """),
    "retain_grad_then_inplace_on_a_view": ((M23, True), """
        v1 = v0 * 3
        v1.retain_grad()
        v1[1:].mul_(2.0)
        v2 = v1.t()
        v2.retain_grad()
        (v2 @ v1).sum().backward()
    """),
    "hook_then_double_backward": ((M23, True), (V3, True), """
        v2 = v0.sin() * v1
        v2.register_hook(logged(0))
        v3 = (v2 * v2).sum()
        gs = torch.autograd.grad(v3, [v0, v1], create_graph=True)
        s = (gs[0] * gs[0]).sum() + (gs[1] * gs[1]).sum()
        gs2 = torch.autograd.grad(s, [v0, v1])
    """),
    "custom_function_create_graph": ((M23, True), (V3, True), """
        v2 = Cube.apply(v0 * v1)
        gs = torch.autograd.grad(v2.sum(), [v0, v1], create_graph=True)
        s = (gs[0] * gs[0]).sum() + gs[1].sum()
        gs2 = torch.autograd.grad(s, [v0, v1])
    """),
    "two_output_function_one_output_used": ((V3, True), """
        v1, v2 = SinAndDouble.apply(v0)
        gs = torch.autograd.grad(v1.sum(), [v0], create_graph=True)
        s = (gs[0] * v2).sum()
        s.backward()
    """),
    "function_gradients_summed_to_broadcast_inputs": ((M23, True), (V3, True), """
        v2 = MulTwo.apply(v0, v1)
        v2.backward(torch.ones(2, 3, dtype=torch.float64) * 2)
    """),
    "allow_unused_and_detach": ((M23, True), (V3, True), """
        v2 = v1.detach()
        v3 = (v0 * v2).tanh()
        gs = torch.autograd.grad(v3.sum(), [v0, v1], retain_graph=True, allow_unused=True)
        gs2 = torch.autograd.grad(v3.sum(), [v0, v1])
    """),
    # --- divergences the random programs found -----------------------------
    "float64_literals_keep_their_precision": ((np.array([0.1, 1 / 3, -2.2]), True), """
        v1 = v0.exp()
        v1.sum().backward()
    """),
    "indexing_a_0d_tensor": ((np.array(0.75), True), """
        v1 = v0 * 2
        v2 = v1[0]
        v3 = v1[1:]
        v1[-1] = 2.0
        v1.backward()
    """),
    "setitem_value_with_leading_ones": ((M23, True), """
        v1 = v0 * 2
        v1[0] = v0[1:].unsqueeze(0)
        v1.sum().backward()
    """),
    "cat_and_stack_outputs_start_at_version_0": ((V3, True), """
        v1 = torch.cat([v0, v0])
        v2 = torch.stack([v0, v0])
        v2.mul_(2.0)
        (v1.sum() + v2.sum()).backward()
    """),
    "zero__backward_gives_zeros_even_for_inf": ((V3, True), """
        v1 = v0 * 1
        v1.zero_()
        v2 = 1.0 / v1
        v2.sum().backward()
    """),
    "zero__backward_gives_zeros_without_a_graph": ((V3, True), """
        v1 = v0 * 1
        v1.zero_()
        gs = torch.autograd.grad((v1 * v1).sum(), [v0], create_graph=True)
    """),
    "relu_keeps_nan_and_masks_its_gradient": ((np.array([-1.0, 0.5, 2.0]), True), """
        v1 = v0.relu()
        v2 = 1.0 / v1
        v3 = (v2 - v2).relu()
        v2.sum().backward()
    """),
    "inplace_with_a_partially_overlapping_operand": ((V3, True), """
        v1 = v0 * 1
        v1[1:].add_(v1[:-1])
        v2 = v0.unsqueeze(0) * v0.unsqueeze(1)
        v2.mul_(v2.t())
        v3 = v0.sum() * 1
        v4 = v3.view(-1)
        v4.mul_(v3)
        (v1.sum() + v2.sum() + v4.sum()).backward()
    """),
    "grad_of_a_hooked_input_whose_node_also_runs": ((np.array(0.5), True), """
        v1 = v0.sin()
        v1.register_hook(logged(0))
        gs = torch.autograd.grad(v1 * v1, [v0, v1])
    """),
    "hooks_and_retain_grad_before_a_freed_graph_error": ((V3, True), """
        v1 = v0 * v0
        v1.retain_grad()
        v1.register_hook(logged(0))
        (v1 * v1).sum().backward()
        (v1 * v1).sum().backward()
    """),
    "retained_grad_under_create_graph": ((V3, True), """
        v1 = v0 * v0
        v1.retain_grad()
        gs = torch.autograd.grad((v1 * v1).sum(), [v0], create_graph=True)
    """),
    "hook_on_an_output_that_got_no_gradient": ((V3, True), """
        v1, v2 = SinAndDouble.apply(v0)
        v1.register_hook(logged(0))
        v2.sum().backward()
    """),
    "copy_slices_is_freed_by_backward": ((V3, True), """
        v1 = v0 + 0
        v1[0] = 5.0
        v1.sum().backward()
        v1.sum().backward()
        v2 = v0 + 0
        v2[:1].add_(1.5)
        v2.sum().backward()
        v2.sum().backward()
    """),
    "cat_and_stack_of_empty_tensors": ((V3, True), """
        v1 = v0[3:]
        v2 = torch.stack([v1, v1], 1)
        v3 = torch.cat([v1.unsqueeze(1), v1.unsqueeze(1)], 1)
        (v0.sum() + v2.sum() + v3.sum()).backward()
    """),
    "fill_of_an_expanded_tensor": ((V3, False), (V3, True), """
        v2 = v0.expand(2, 3)
        v2.zero_()
        v3 = v1 * 1
        v4 = v3.expand(2, 3)
        v4.zero_()
        v3.sum().backward()
    """),
    "inplace_on_an_empty_expanded_tensor": ((V3, True), """
        v1 = v0 * 1
        v2 = v1[3:].expand(2, 0)
        v2.mul_(2.0)
        v1.sum().backward()
    """),
    "hook_on_a_view_then_inplace_on_the_view": ((np.array([[1.0, 2.0]]), True), """
        v1 = v0 * 1
        v2 = v1.squeeze(0)
        v2.register_hook(logged(0))
        v2.add_(0.5)
        v1.sum().backward()
    """),
    "noop_slice_is_the_tensor_itself": ((np.array([[0.5], [1.5]]), True), """
        v0[..., :1] = 2.0
        v1 = v0 * 1
        v1[..., :1] = 3.0
        gs = torch.autograd.grad((v1 * v1).sum(), [v0], create_graph=True)
    """),
    "expand_and_matmul_shape_error_messages": ((V3, True), (M23, True), """
        v2 = v1.expand(4, 4)
        v3 = v0 @ v1.unsqueeze(0)
        v4 = v1.unsqueeze(0) @ v1
        v5 = v1.expand(2, 2, 3) @ v1.expand(3, 2, 3)
        v6 = v0 @ v1.expand(2, 2, 3)
        (v0 @ v1.t()).sum().backward()
    """),
}


def _program(source):
    return [line.strip() for line in source.splitlines() if line.strip()]


# Known differences, each to be fixed by the issue named (strict: a fix
# makes the test pass and the mark must then go).
KNOWN = {
    "indexing_a_0d_tensor": "setitem on a 0-d tensor names PyTorch's index_put error (operator issue)",
    "inplace_with_a_partially_overlapping_operand": "partial-overlap detection of in-place operands (reliability issue)",
    "grad_of_a_hooked_input_whose_node_also_runs": "PyTorch captures before tensor hooks when the input's node also runs",
    "hooks_and_retain_grad_before_a_freed_graph_error": "PyTorch runs nodes until it meets the freed one; rustgrad checks first",
    "hook_on_an_output_that_got_no_gradient": "hooks of a multi-output node's unused outputs are not called with None",
    "fill_of_an_expanded_tensor": "PyTorch allows zero_ on an expanded tensor and fails in backward",
    "expand_and_matmul_shape_error_messages": "matmul's error wording for batched shapes (operator issue)",
}


@pytest.mark.parametrize("name", [
    pytest.param(n, marks=pytest.mark.xfail(reason=KNOWN[n], strict=True)) if n in KNOWN and REFERENCE is None else n
    for n in REGRESSIONS
])
def test_regression_programs_match_pytorch(torch, name):
    *data, source = REGRESSIONS[name]
    check(torch, _program(source), list(data))


GRAD_FN_PROGRAM = """
    v1 = v0.sin()
    v2 = torch.stack([v1, v1])
    v3 = torch.cat([v1, v1])
    v4 = v1.t()
    v5 = v1.transpose(0, 1)
    v6 = v1[0]
    v7 = v1[1:]
    v8 = v1[..., :2]
    v9 = v1.unsqueeze(0)
    v10 = v9.expand(4, 2, 3)
    v11 = v1.reshape(3, 2)
    v12 = v1.view(6)
    v13 = v1.sum()
    v14 = v1.sum(0, keepdim=True)
    v15 = v1.mean()
    v16 = v1.mean(1)
    v17 = Cube.apply(v1)
    v18, v19 = SinAndDouble.apply(v1)
    v20 = MulTwo.apply(v1, v1)
    v21 = v1 @ v1.t()
    v22 = v1.clone()
    v23 = v1.detach()
    v24 = v1 * 2
    v24.mul_(2.0)
    v25 = v1 * 1
    v25[0] = 2.0
    v26 = v1 * 1
    v26[1:] = v1[:1]
    v27 = v1 * 1
    v27[..., :2].zero_()
    v28 = v1 - 1
    v29 = 1 - v1
    v30 = v1 / v1
    v31 = 2.0 / v1
    v32 = (v1.abs() + 0.5) ** 1.5
    v33 = v1.relu() + v1.sigmoid() + v1.tanh() + v1.exp() + v1.cos() + -v1 + (v1.abs() + 1).log()
    v34 = v9.squeeze()
    v35 = v9.squeeze(0)
    v36 = v1.add(v1, alpha=2.0)
    v37 = v1 * 1
    v37.add_(v1, alpha=2.0)
    (v2.sum() + v3.sum() + v10.sum() + v21.sum() + v25.sum() + v26.sum() + v27.sum() + v33.sum()).backward()
"""


def test_grad_fn_classes_match_pytorch(torch):
    """Away from PyTorch's fast paths for no-op slices, every op's grad_fn
    has PyTorch's class name."""
    check(torch, _program(GRAD_FN_PROGRAM), [(M23, True)], grad_fn_classes=True)


# Which tensors each op saves for backward decides which later in-place
# changes make backward raise (PyTorch's version-counter check).
SAVED_OPS = [
    "v1.sin()", "v1.cos()", "v1.exp()", "(v1.abs() + 1).log()", "(v1.abs() + 0.1).sqrt()",
    "v1.tanh()", "v1.sigmoid()", "v1.relu()", "v1.abs()", "-v1", "(v1.abs() + 0.5) ** 1.5",
    "v1 * v1", "v1 * 2.0", "v1 / 2.0", "2.0 / v1", "v1 / v1", "v1 + v1", "1.0 - v1",
    "v1.sum()", "v1.mean()", "v1 @ v1", "v1.t()", "v1[0]", "v1[1:]", "v1.clone()",
    "v1.unsqueeze(0)", "v1.expand(2, 2)", "v1.reshape(1, 2)", "torch.cat([v1, v1])",
    "torch.stack([v1, v1])", "v1.sum(0)", "Cube.apply(v1)", "MulTwo.apply(v1, v1)",
    "v1.reciprocal()", "v1.sign()", "v1.norm()",
]


@pytest.mark.parametrize("modified", ["input", "output"])
@pytest.mark.parametrize("op", SAVED_OPS)
def test_saved_tensor_version_checks_match_pytorch(torch, op, modified):
    program = ["v1 = v0 * 1", f"v2 = {op}",
               "v1.mul_(2.0)" if modified == "input" else "v2.mul_(1.0)",
               "(v2 * 1).sum().backward()"]
    check(torch, program, [(np.array([1.5, 2.0]), True)])
