"""Every public function and Tensor method, called with bad arguments, either
works or raises one of PyTorch's exception types (TypeError, ValueError,
IndexError, RuntimeError, NotImplementedError) -- never a crash, a hang or a
Rust panic.

The walk covers the callables in ``rustgrad.__all__``, ``rustgrad.nn.functional``
and ``rustgrad.linalg``, every public Tensor method (plus the operator
methods behind ``x[i]``, ``x + y``, ``bool(x)``, ...) and the writable Tensor
properties. Each gets wrong argument types (a string, None, a dict, a list of
strings), wrong argument counts (none, too many), out-of-range dims (99, -99,
positional and ``dim=``), sizes no machine has (2**40) or no int64 holds
(2**63), and special tensors: NaN/inf, 0-d, size-0, integer (with zeros, for
integer division) and bool. A tensor that comes back must have as many
elements as its shape says, and print.

The calls run in a child interpreter (this file run as a script) under an
address-space limit; it prints one JSON line per call, and the parent reads
them with a deadline, so a crash or a hang is reported against the call and
the walk resumes after it. With PyTorch installed the same plan runs through
PyTorch and, where both raise, the exception classes are compared.

What the walk found is in the tables at the end: ``KNOWN_BUGS`` (calls that
break the contract, tolerated by the walk, each a strict xfail),
``FORMERLY_SLOW`` (calls that once took all memory, now timed),
``PYTORCH_SAME`` (outside the contract as in PyTorch),
``KNOWN_MISMATCHES`` (another exception class than PyTorch's) and
``KNOWN_LENIENT`` (calls rustgrad answers where PyTorch raises, each family
with its reason; any other such call fails the walk: an argument PyTorch
refuses must not be silently used).
"""

import json
import math
import os
import sys
import time

import pytest

if __name__ != "__main__":
    from conftest import REFERENCE, child_env, stream_child

    pytestmark = pytest.mark.skipif(REFERENCE is not None, reason="walks rustgrad's own public surface")

# The exceptions bad input may raise (PyTorch's: TypeError for a wrong type or
# count, IndexError for a dim out of range, RuntimeError/ValueError for bad
# values, NotImplementedError for what is not supported).
ALLOWED = (TypeError, ValueError, IndexError, RuntimeError, NotImplementedError)

# Further exception types some calls may raise, with the reason.
EXTRA_ALLOWED = {
    # rustgrad.load("a") looks for a file named "a", as torch.load does.
    ("rg", "load"): (OSError,),
}

PANIC_MARK = "This is a bug in rustgrad"  # the guard's message (rustgrad/_errors.py)

# Operator methods (dunders are left out of the walk except these, which are
# what ``x[i]``, ``x + y``, ``bool(x)`` ... call).
OPERATORS = [
    "__getitem__", "__setitem__", "__add__", "__radd__", "__iadd__", "__sub__", "__rsub__", "__isub__",
    "__mul__", "__rmul__", "__imul__", "__truediv__", "__rtruediv__", "__itruediv__", "__floordiv__",
    "__rfloordiv__", "__mod__", "__rmod__", "__pow__", "__rpow__", "__matmul__", "__rmatmul__", "__and__",
    "__or__", "__xor__", "__lshift__", "__rshift__", "__lt__", "__le__", "__gt__", "__ge__", "__eq__",
    "__ne__", "__neg__", "__pos__", "__abs__", "__invert__", "__bool__", "__float__", "__int__", "__index__",
    "__len__", "__iter__", "__contains__", "__array__", "__format__", "__repr__", "__deepcopy__",
    "__reduce_ex__",
]

# Writable properties, set to bad values (``x.grad = "a"``).
SETTABLE = ["data", "grad", "requires_grad"]

# The tensors calls take, built afresh for each call by both libraries (see
# make_tensor): X, a float32 2x3 matrix; NAN, [[nan, inf], [-inf, 1]]; S0, a
# 0-d tensor; E0 and E00, size-0 tensors of shape (0,) and (0, 0); I, int64
# with zeros; B, bool.
SPECIALS = ["NAN", "S0", "E0", "E00", "I", "B"]
BAD = ["a", None, {}, ["a", "b"]]
HUGE = 2**40       # a size no machine can allocate (as elements, and as bytes)
OVERFLOW = 2**63   # does not fit an int64


def make_tensor(m, token):
    """A fresh tensor of library ``m`` (rustgrad or torch) for a plan token."""
    inf, nan = math.inf, math.nan
    if token == "X":
        return m.tensor([[0.5, -1.5, 2.0], [3.0, -0.25, 1.0]], dtype=m.float32)
    if token == "NAN":
        return m.tensor([[nan, inf], [-inf, 1.0]], dtype=m.float32)
    if token == "S0":
        return m.tensor(1.5, dtype=m.float32)
    if token == "E0":
        return m.zeros(0, dtype=m.float32)
    if token == "E00":
        return m.zeros(0, 0, dtype=m.float32)
    if token == "I":
        return m.tensor([[1, -2, 0], [3, 4, 0]], dtype=m.int64)
    if token == "B":
        return m.tensor([[True, False, True], [False, False, True]], dtype=m.bool)
    raise KeyError(token)


def T(name):
    """A tensor argument in a plan (JSON-able)."""
    return "@" + name


def materialize(m, value):
    if isinstance(value, str) and value.startswith("@"):
        return make_tensor(m, value[1:])
    if isinstance(value, list):
        return [materialize(m, v) for v in value]
    if isinstance(value, dict):
        return {k: materialize(m, v) for k, v in value.items()}
    return value


def fmt_value(value):
    if isinstance(value, str) and value.startswith("@"):
        return value[1:]
    if isinstance(value, list):
        return "[" + ", ".join(fmt_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {fmt_value(v)}" for k, v in value.items()) + "}"
    return repr(value)


# rg is rustgrad (as in the rest of the suite), F its nn.functional.
PREFIX = {"rg": "rg.", "F": "F.", "linalg": "rg.linalg.", "selftest": "selftest."}


def describe(entry):
    """``rg.add(X, 'a')``, ``F.relu(None)``, ``X.sum(dim=99)``, ``X.grad = 'a'``."""
    kind, name, recv, args, kwargs = entry
    parts = [fmt_value(a) for a in args] + [f"{k}={fmt_value(v)}" for k, v in kwargs.items()]
    if kind == "setattr":
        return f"{fmt_value(recv)}.{name} = {parts[0]}"
    if kind == "method":
        return f"{fmt_value(recv)}.{name}({', '.join(parts)})"
    if kind == "expr":
        return name
    return f"{PREFIX[kind]}{name}({', '.join(parts)})"


# ---------------------------------------------------------------------------
# the plan (built in the parent from rustgrad's surface)
# ---------------------------------------------------------------------------


def public_names(rg):
    import inspect

    F, L = rg.nn.functional, rg.linalg
    names = []
    for n in sorted(set(rg.__all__)):
        obj = getattr(rg, n)
        if callable(obj) and not inspect.ismodule(obj):
            names.append(("rg", n))
    for n in sorted(dir(F)):
        obj = getattr(F, n)
        if not n.startswith("_") and callable(obj) and not inspect.ismodule(obj):
            names.append(("F", n))
    for n in sorted(set(L.__all__)):
        obj = getattr(L, n)
        if not n.startswith("_") and callable(obj) and not inspect.ismodule(obj):
            names.append(("linalg", n))
    x = rg.ones(2, 2)  # a matrix: properties such as .mT raise on vectors, as in PyTorch
    for n in sorted(dir(rg.Tensor)):
        if not n.startswith("_") and callable(getattr(x, n)):
            names.append(("method", n))
    for n in OPERATORS:
        if hasattr(rg.Tensor, n):
            names.append(("method", n))
    for n in SETTABLE:
        names.append(("setattr", n))
    return names


def calls_for(kind, name):
    """(receiver, args, kwargs) of every call made to one callable."""
    X = T("X")
    out = []
    if kind == "setattr":
        for v in BAD + [T(s) for s in SPECIALS] + [[T("X")], 99]:
            out.append((X, [v], {}))
        for s in SPECIALS:
            out.append((T(s), [X], {}))
        return out
    if kind == "method":
        calls = [
            (X, [], {}),                        # a valid call, for reference
            (X, [X] * 9, {}),                   # too many
            (X, [1] * 9, {}),
        ]
        calls += [(X, [b], {}) for b in BAD]
        calls += [(X, [X, b], {}) for b in BAD]
        calls += [(X, [1, b], {}) for b in BAD]
        calls += [(X, [99], {}), (X, [-99], {}), (X, [], {"dim": 99}), (X, [], {"dim": -99}),
                  (X, [], {"dim": "a"}), (X, [0, 99], {}), (X, [-99, 0], {})]
        calls += [(X, [HUGE], {}), (X, [OVERFLOW], {}), (X, [0, HUGE], {}), (T("S0"), [HUGE], {})]
        for s in SPECIALS:
            calls += [(T(s), [], {}), (T(s), [T(s)], {}), (T(s), [0], {}), (T(s), [], {"dim": -1}),
                      (X, [T(s)], {})]
        return calls
    calls = [
        (None, [], {}),                         # none
        (None, [X], {}),                        # a valid call, for reference
        (None, [X, X], {}),
        (None, [X] * 9, {}),                    # too many
        (None, [X] + [1] * 8, {}),
    ]
    calls += [(None, [b], {}) for b in BAD]
    calls += [(None, [X, b], {}) for b in BAD]
    calls += [(None, [X, X, b], {}) for b in BAD]
    calls += [(None, [X, 99], {}), (None, [X, -99], {}), (None, [X], {"dim": 99}), (None, [X], {"dim": -99}),
              (None, [X], {"dim": "a"}), (None, [X, 0, 99], {})]
    calls += [(None, [HUGE], {}), (None, [-99], {}), (None, [X, HUGE], {}), (None, [X, OVERFLOW], {}),
              (None, [HUGE, HUGE], {})]
    for s in SPECIALS:
        calls += [(None, [T(s)], {}), (None, [T(s), T(s)], {}), (None, [T(s), 0], {}),
                  (None, [T(s)], {"dim": -1}), (None, [X, T(s)], {})]
    return calls


def build_plan(rg):
    return [[kind, name, recv, args, kwargs] for kind, name in public_names(rg)
            for recv, args, kwargs in calls_for(kind, name)]


# ---------------------------------------------------------------------------
# the child: runs plan entries [start:], one JSON line each
# ---------------------------------------------------------------------------


def _selftest_target(name):
    """Misbehaving callables, to check the walk reports each (harness test)."""
    import ctypes

    class PanicException(BaseException):  # what PyO3 raises for a panic
        pass

    def segfault(*args):
        ctypes.string_at(0)

    def hang(*args):
        time.sleep(3600)

    def panic(*args):
        raise PanicException("index out of bounds: the len is 0 but the index is 0")

    def guarded_panic(*args):
        raise RuntimeError("index out of bounds\n" + PANIC_MARK + " (a Rust panic stopped at the Python boundary)")

    def key_error(*args):
        raise KeyError("x")

    def ok(*args):
        return 1

    def type_error(*args):
        raise TypeError("fine")

    def wrapped_around(*args):  # a tensor-like result whose size overflowed
        class Tensor:
            shape = (2**33, 2**33)

            def numel(self):
                return 0
        return Tensor()

    return {"segfault": segfault, "hang": hang, "panic": panic, "guarded_panic": guarded_panic,
            "key_error": key_error, "ok": ok, "abort": lambda *args: os.abort(), "type_error": type_error,
            "wrapped_around": wrapped_around}[name]


def _reset(m):
    """Global state a call may have changed (cheaply: this runs after each)."""
    m.set_grad_enabled(True)
    m.set_anomaly_enabled(False)
    m.set_default_device(None)
    if m.are_deterministic_algorithms_enabled():
        m.use_deterministic_algorithms(False)
    m.default_generator.manual_seed(0)


def canonical(e):
    """The contract class an exception is (``LinAlgError`` is a
    RuntimeError, NotImplementedError is itself), else its own name."""
    for c in type(e).__mro__:
        if c in ALLOWED:
            return c.__name__
    return type(e).__name__


def _call(m, kind, name, recv, args, kwargs, bound):
    """Makes one call; returns (outcome, message of a bad outcome or None)."""
    if kind == "selftest":
        fn = _selftest_target(name)
    elif kind == "expr":  # an expression in ``m``, the library
        fn = lambda: eval(name, {"m": m})  # noqa: E731
    elif kind in ("method", "setattr"):
        receiver = materialize(m, recv)
        fn = None if kind == "setattr" else getattr(receiver, name, None)
    else:
        if (kind, name) not in bound:
            mod = {"rg": m, "F": getattr(getattr(m, "nn", None), "functional", None),
                   "linalg": getattr(m, "linalg", None)}[kind]
            bound[kind, name] = getattr(mod, name, None)
        fn = bound[kind, name]
    if fn is None and kind != "setattr":
        return "missing", None
    a, kw = materialize(m, args), materialize(m, kwargs)
    try:
        if kind == "setattr":
            setattr(receiver, name, a[0])
            return "ok", None
        result = fn(*a, **kw)
        if name == "__iter__":
            result = list(result)
        if type(result).__name__ in ("Tensor", "Parameter"):
            # A tensor's element count agrees with its shape (a size that
            # overflows must raise, not wrap around), and it prints.
            if result.numel() != math.prod(result.shape):
                return "wrapped_size", f"numel() is {result.numel()} for shape {tuple(result.shape)}"
            if result.numel() <= 10**5:
                repr(result)
        return "ok", None
    except BaseException as e:  # noqa: BLE001  (PanicException is a BaseException)
        if type(e).__name__ == "PanicException" or PANIC_MARK in str(e):
            return "panic", f"{type(e).__name__}: {str(e)[:300]}"
        if not isinstance(e, ALLOWED + EXTRA_ALLOWED.get((kind, name), ())):
            return type(e).__name__, f"{type(e).__name__}: {str(e)[:300]}"
        return canonical(e), None


def child_main(argv):
    import warnings

    warnings.simplefilter("ignore")
    lib, plan_path, start = argv[0], argv[1], int(argv[2])
    # JSON lines go to a private copy of stdout; what a call prints, to stderr.
    out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    m = None
    if lib == "torch":
        import torch as m
    elif lib == "rustgrad":
        import rustgrad as m
    with open(plan_path) as fh:
        spec = json.load(fh)
    plan, skip = spec["plan"], set(spec["skip"])
    out.write(json.dumps({"ready": True}) + "\n")
    bound = {}
    for i in range(start, len(plan)):
        t0 = time.perf_counter()
        if i in skip:
            outcome, bad = "skipped", None
        else:
            try:
                outcome, bad = _call(m, *plan[i], bound)
            finally:
                if m is not None:
                    _reset(m)
        record = {"i": i, "o": outcome, "t": round(time.perf_counter() - t0, 4)}
        if bad is not None:
            record["bad"] = bad
        out.write(json.dumps(record) + "\n")
    out.write(json.dumps({"done": True}) + "\n")
    out.flush()


# ---------------------------------------------------------------------------
# the parent: runs the child, resumes after a crash or a hang
# ---------------------------------------------------------------------------


class Walk:
    """What a walk found: ``outcomes[i]`` ("ok", "missing", "skipped",
    "crash", "hang", "panic" or an exception class name), ``problems`` (plan
    index, what went wrong) for each crash, hang, panic or exception outside
    the contract, and ``seconds[i]``."""

    def __init__(self):
        self.outcomes, self.problems, self.seconds = {}, [], {}




def run_walk(lib, plan, workdir, skip=(), call_timeout=30.0, max_restarts=20, rlimit_gib=None):
    """Runs ``plan`` through ``lib`` ("rustgrad", "torch", or "none" for the
    self-test) in child processes under an address-space limit. A call that
    crashes the child or gives no answer within ``call_timeout`` seconds is
    recorded and the walk resumes after it."""
    os.makedirs(workdir, exist_ok=True)
    plan_path = os.path.join(workdir, "plan.json")
    with open(plan_path, "w") as fh:
        json.dump({"plan": plan, "skip": sorted(skip)}, fh)
    walk = Walk()
    start, restarts = 0, 0

    def limit():
        if rlimit_gib is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (int(rlimit_gib * 2**30),) * 2)

    while start < len(plan):
        err_path = os.path.join(workdir, f"stderr-{restarts}.txt")
        state = {"last": start - 1, "done": False, "started": False}

        def on_record(rec):
            if rec.get("done") or rec.get("ready"):
                state["done" if rec.get("done") else "started"] = True
                return
            last = state["last"] = rec["i"]
            walk.outcomes[last], walk.seconds[last] = rec["o"], rec["t"]
            if "bad" in rec:
                walk.problems.append((last, f"raised {rec['bad']!r}" if rec["o"] != "wrapped_size"
                                      else f"returned a tensor whose {rec['bad']}"))

        rc, hung = stream_child([sys.executable, os.path.abspath(__file__), lib, plan_path, str(start)], on_record,
                                cwd=workdir, stderr_path=err_path, timeout=call_timeout, env=child_env(),
                                preexec_fn=limit)
        last, done, started = state["last"], state["done"], state["started"]
        if done and rc == 0:
            break
        i = last + 1
        with open(err_path, "rb") as fh:
            tail = fh.read()[-300:].decode(errors="replace").strip().replace("\n", " | ")
        if not started:
            raise RuntimeError(f"the {lib} child did not start (exit status {rc}): ...{tail}")
        if hung:
            walk.outcomes[i] = "hang"
            walk.problems.append((i, f"hung (no answer within {call_timeout:g} s)"))
        else:
            walk.outcomes[i] = "crash"
            walk.problems.append((i, f"crashed the interpreter (exit status {rc}): ...{tail}"))
        restarts += 1
        if restarts > max_restarts:
            if i + 1 < len(plan):
                walk.problems.append((i + 1, f"not run: the walk stopped after {restarts} crashes or hangs"))
            break
        start = i + 1
    return walk


# ---------------------------------------------------------------------------
# what the walk found
# ---------------------------------------------------------------------------

QUALIFIED = {"rg": "", "F": "F.", "linalg": "linalg.", "method": "Tensor.", "setattr": "Tensor.", "expr": "",
             "selftest": "selftest."}


def qualified(entry):
    """``add``, ``F.conv2d``, ``linalg.svd``, ``Tensor.sum``, ``Tensor.grad=``."""
    return QUALIFIED[entry[0]] + entry[1] + ("=" if entry[0] == "setattr" else "")


def _rows(table, columns):
    return [tuple(line.split(None, columns - 1)) for line in table.strip().splitlines()]


# Bugs: calls that break the contract. Each family's reason, then one row per
# callable and outcome: family, outcome, a call that shows it. The walk
# tolerates exactly these (that outcome, from that callable) and fails when one
# no longer occurs (remove the row then); each family is a strict xfail
# (test_known_bugs) that runs its calls.
BUG_FAMILIES = {}

KNOWN_BUGS = """
"""

# Calls that once ran for 10-30 s and took all the memory the process could
# have before failing (repeat_interleave built a Python list of 2**40
# indices; pow(int, int) fell back to Python's power of two huge ints). Each
# must answer within 2 s under a 1 GiB address-space limit (test_fails_fast).
FORMERLY_SLOW = ["X.repeat_interleave(1099511627776)", "X.repeat_interleave(9223372036854775808)",
                 "S0.repeat_interleave(1099511627776)", "rg.repeat_interleave(X, 1099511627776)",
                 "rg.pow(1099511627776, 1099511627776)", "F.adaptive_avg_pool1d(X, 1099511627776)"]

# Exceptions outside the contract that PyTorch raises too, for the same calls
# (checked by test_exception_classes_match_pytorch): PyTorch's Python-level
# nn.functional code calls tensor methods on its arguments unchecked, and
# group_norm computes channels // num_groups. Outcome, a call that shows it.
PYTORCH_SAME = """
    ZeroDivisionError F.group_norm(X, 0, 99)
"""

# Both raise an exception of the contract, but of a different class
# (rustgrad's, PyTorch's, a call that shows it). Not deliberate:
# mostly PyTorch's argument parser raising TypeError where rustgrad checks
# the value first (RuntimeError/ValueError). test_exception_classes_match_pytorch
# fails on a difference not listed here and on a row that no longer occurs.
# Deliberate differences (not listed, with the reason):
# * classes are compared as the contract class they are: rustgrad's
#   linalg.LinAlgError and PyTorch's _LinAlgError, AcceleratorError and
#   RecursionError are all RuntimeErrors (``except RuntimeError`` works the same);
# * where PyTorch raises outside the contract (AttributeError from its Python
#   wrappers, ZeroDivisionError) and rustgrad inside it, rustgrad is right.
KNOWN_MISMATCHES = """
    RuntimeError        TypeError           F.adaptive_avg_pool2d(X, 'a')
    RuntimeError        ValueError          F.adaptive_avg_pool2d(X, X)
    TypeError           RuntimeError        F.adaptive_max_pool1d(X, X, X, X, X, X, X, X, X)
    RuntimeError        TypeError           F.adaptive_max_pool2d(X, 'a')
    RuntimeError        ValueError          F.adaptive_max_pool2d(X, X)
    TypeError           RuntimeError        F.adaptive_max_pool2d(X, X, X, X, X, X, X, X, X)
    RuntimeError        TypeError           F.adaptive_max_pool2d_with_indices(X, 'a')
    RuntimeError        ValueError          F.adaptive_max_pool2d_with_indices(X, X)
    NotImplementedError RuntimeError        F.avg_pool1d(B, 0)
    IndexError          RuntimeError        F.avg_pool2d(X, 1099511627776)
    RuntimeError        NotImplementedError F.binary_cross_entropy(I, I)
    RuntimeError        NotImplementedError F.binary_cross_entropy_with_logits(I, I)
    NotImplementedError RuntimeError        F.conv1d(B, B)
    IndexError          RuntimeError        F.conv1d(NAN, NAN)
    RuntimeError        TypeError           F.gelu(X, 'a')
    RuntimeError        IndexError          F.glu(X, 99)
    RuntimeError        ValueError          F.group_norm(X, 9223372036854775808)
    ValueError          TypeError           F.hardtanh_(1099511627776, 1099511627776)
    RuntimeError        TypeError           F.hardtanh_(X, X)
    ValueError          NotImplementedError F.interpolate(I, I)
    TypeError           NotImplementedError F.interpolate(X, X)
    ValueError          TypeError           F.lp_pool2d(X, X, ['a', 'b'])
    RuntimeError        ValueError          F.lp_pool2d(X, X, {})
    NotImplementedError RuntimeError        F.max_pool1d(I, 0)
    TypeError           RuntimeError        F.max_pool1d(X, X, X, X, X, X, X, X, X)
    NotImplementedError RuntimeError        F.max_pool1d_with_indices(I, 0)
    TypeError           RuntimeError        F.max_pool2d(X, X, X, X, X, X, X, X, X)
    RuntimeError        TypeError           F.multi_margin_loss(E0, 0)
    ValueError          RuntimeError        F.nll_loss(E0, E0)
    TypeError           IndexError          F.normalize(S0, S0)
    TypeError           NotImplementedError F.softshrink(I)
    NotImplementedError TypeError           F.unfold(X, 9223372036854775808)
    NotImplementedError IndexError          F.unfold(X, 99)
    ValueError          TypeError           F.unfold(X, X)
    NotImplementedError RuntimeError        F.unfold(X, {})
    ValueError          NotImplementedError F.upsample(I, I)
    TypeError           NotImplementedError F.upsample(X, X)
    ValueError          NotImplementedError F.upsample_bilinear(I, I)
    TypeError           NotImplementedError F.upsample_bilinear(X, X)
    ValueError          NotImplementedError F.upsample_nearest(I, I)
    TypeError           NotImplementedError F.upsample_nearest(X, X)
    RuntimeError        IndexError          S0.mv(S0)
    TypeError           RuntimeError        S0.split(S0)
    RuntimeError        TypeError           X.new_tensor(None)
    TypeError           RuntimeError        X.unflatten(X, None)
    RuntimeError        TypeError           rg.bernoulli(X, None)
    RuntimeError        TypeError           rg.linalg.matrix_norm(X, dim=99)
    RuntimeError        IndexError          rg.mv(S0, S0)
    NotImplementedError RuntimeError        rg.normal(I, I)
    RuntimeError        TypeError           rg.normal(X, X, None)
    TypeError           RuntimeError        rg.repeat_interleave(I)
    TypeError           NotImplementedError rg.repeat_interleave(X)
    TypeError           RuntimeError        rg.split(S0, S0)
    TypeError           RuntimeError        rg.unique(X, X, X, X, X, X, X, X, X)
    TypeError           RuntimeError        rg.unique_consecutive(X, X, X, X, X, X, X, X, X)
"""

# Calls rustgrad answers where PyTorch raises (test_nothing_succeeds_that_pytorch_refuses).
# Each family's reason, then one row per callable and PyTorch's exception:
# family, PyTorch's class, a call that shows it. Anything else rustgrad
# accepts and PyTorch refuses is a bug: a wrong argument silently used.
LENIENT_FAMILIES = {
    "dtype": "an integer or bool tensor where PyTorch's CPU build has no kernel (NotImplementedError/RuntimeError "
             "'not implemented for Long'): rustgrad computes the function's values for it (in float where the "
             "function is real-valued) rather than refusing",
    "size": "torch.Size(...) does not check its items: it is the class of every tensor's .shape, and a check would "
            "slow each access",
    "no_grad": "no_grad(None) is a no_grad(): a check would cost every `with no_grad():` an __init__ call",
}

KNOWN_LENIENT = """
    dtype    NotImplementedError F.gelu(I)
    dtype    NotImplementedError F.glu(I, 0)
    dtype    NotImplementedError F.hardshrink(I)
    dtype    NotImplementedError F.hardsigmoid(I)
    dtype    NotImplementedError F.hardswish(I)
    dtype    NotImplementedError F.hardtanh(B)
    dtype    NotImplementedError F.hardtanh_(B)
    dtype    NotImplementedError F.hinge_embedding_loss(I, I)
    dtype    NotImplementedError F.huber_loss(I, I)
    dtype    NotImplementedError F.leaky_relu(I)
    dtype    NotImplementedError F.leaky_relu_(I)
    dtype    NotImplementedError F.logsigmoid(I)
    dtype    NotImplementedError F.mish(I)
    dtype    NotImplementedError F.multilabel_soft_margin_loss(I, I)
    dtype    NotImplementedError F.relu6(B)
    dtype    NotImplementedError F.rrelu(I)
    dtype    NotImplementedError F.rrelu_(I)
    dtype    NotImplementedError F.silu(I)
    dtype    NotImplementedError F.smooth_l1_loss(I, I)
    dtype    RuntimeError        F.soft_margin_loss(I, I)
    dtype    NotImplementedError F.softplus(I)
    dtype    NotImplementedError F.softsign(B)
    size     TypeError           rg.Size(X)
    no_grad  TypeError           rg.no_grad(None)
"""

_BUG_ROWS = _rows(KNOWN_BUGS, 3)            # (family, outcome, call)
_SAME_ROWS = _rows(PYTORCH_SAME, 2)         # (outcome, call)
_MISMATCH_ROWS = _rows(KNOWN_MISMATCHES, 3)  # (rustgrad's, PyTorch's, call)
_LENIENT_ROWS = _rows(KNOWN_LENIENT, 3)      # (family, PyTorch's, call)
_CONTRACT = {c.__name__ for c in ALLOWED}
_NOT_RAISED = {"ok", "missing", "skipped"}


def _listing(lines, limit=300):
    lines = list(lines)
    more = f"\n... and {len(lines) - limit} more" if len(lines) > limit else ""
    return "\n".join(lines[:limit]) + more


# ---------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def plan():
    import rustgrad

    return build_plan(rustgrad)


@pytest.fixture(scope="module")
def by_description(plan):
    return {describe(e): e for e in plan}


@pytest.fixture(scope="module")
def tables(by_description):
    """The tables keyed as the walk's outcomes are: (callable, outcome) for
    KNOWN_BUGS and PYTORCH_SAME, (callable, ours, PyTorch's) for
    KNOWN_MISMATCHES."""
    def key(call):
        return qualified(by_description[call])

    return {"bugs": {(key(c), o): (f, c) for f, o, c in _BUG_ROWS},
            "same": {(key(c), o): c for o, c in _SAME_ROWS},
            "mismatches": {(key(c), a, b): c for a, b, c in _MISMATCH_ROWS}}


@pytest.fixture(scope="module")
def rg_walk(plan, tmp_path_factory):
    return run_walk("rustgrad", plan, str(tmp_path_factory.mktemp("walk-rustgrad")), rlimit_gib=4)


@pytest.fixture(scope="module")
def torch_walk(torch, plan, tmp_path_factory):
    return run_walk("torch", plan, str(tmp_path_factory.mktemp("walk-torch")), rlimit_gib=12)


def test_the_walk_covers_the_public_surface(plan, by_description):
    import rustgrad as rg

    names = {(k, n) for k, n, *_ in plan}
    assert {k for k, _ in names} == {"rg", "F", "linalg", "method", "setattr"}
    public = {n for n in rg.__all__ if callable(getattr(rg, n)) and not isinstance(getattr(rg, n), type(rg))}
    assert {n for k, n in names if k == "rg"} == public
    assert {n for k, n in names if k == "linalg"} == set(rg.linalg.__all__)
    assert {n for k, n in names if k == "method"} >= {n for n in dir(rg.Tensor) if not n.startswith("_")
                                                        and callable(getattr(rg.ones(1, 1), n))}
    for must in [("F", "conv2d"), ("F", "interpolate"), ("method", "__getitem__"), ("setattr", "grad")]:
        assert must in names, must
    assert not any(n.startswith("_") and not n.startswith("__") for _, n in names)  # no private names
    assert len(by_description) == len(plan)  # no call twice, and each has its own description
    for call in [r[-1] for r in _BUG_ROWS + _SAME_ROWS + _MISMATCH_ROWS + _LENIENT_ROWS] + FORMERLY_SLOW:
        assert call in by_description, f"{call} is not a call of the walk"
    assert {f for f, _, _ in _BUG_ROWS} == set(BUG_FAMILIES)
    assert {f for f, _, _ in _LENIENT_ROWS} == set(LENIENT_FAMILIES)


def test_each_table_row_is_its_own_case(tables):
    assert len(tables["bugs"]) == len(_BUG_ROWS)
    assert len(tables["same"]) == len(_SAME_ROWS)
    assert len(tables["mismatches"]) == len(_MISMATCH_ROWS)
    assert not set(tables["bugs"]) & set(tables["same"])


def test_every_call_succeeds_or_raises_a_pytorch_exception(plan, rg_walk, tables):
    outcomes = rg_walk.outcomes
    assert len(outcomes) == len(plan)
    # the walk reaches the code: valid calls work, bad dims are IndexErrors
    for call, expected in [("rg.add(X, X)", "ok"), ("X.sum()", "ok"), ("F.relu(X)", "ok"),
                           ("rg.linalg.vector_norm(X)", "ok"), ("X.sum(99)", "IndexError"),
                           ("rg.zeros('a')", "TypeError"), ("X.grad = 'a'", "TypeError")]:
        i = next(i for i, e in enumerate(plan) if describe(e) == call)
        assert outcomes[i] == expected, (call, outcomes[i])
    tolerated = set(tables["bugs"]) | set(tables["same"])
    failures, seen = [], set()
    for i, what in sorted(rg_walk.problems):
        key = (qualified(plan[i]), outcomes[i])
        seen.add(key)
        if key not in tolerated:
            failures.append(f"{describe(plan[i])}: {what}")
    stale = [f"{q} {o}" for q, o in sorted(tolerated - seen)]
    counts = {}
    for o in outcomes.values():
        kind = o if o in ("ok", "missing", "skipped", "crash", "hang", "panic") else "raised"
        counts[kind] = counts.get(kind, 0) + 1
    assert not failures, (f"{len(failures)} of {len(plan)} calls {counts} crashed, hung, panicked or raised "
                          "outside TypeError/ValueError/IndexError/RuntimeError/NotImplementedError:\n"
                          + _listing(failures))
    assert not stale, ("these known bugs no longer occur (fixed? remove them from KNOWN_BUGS/PYTORCH_SAME):\n"
                       + _listing(stale))


def test_the_walk_reports_crashes_hangs_and_panics(tmp_path):
    """The harness itself: each kind of misbehaviour is reported against the
    call that did it, and the walk goes on after it."""
    names = ["ok", "segfault", "ok", "panic", "guarded_panic", "key_error", "type_error", "wrapped_around", "hang",
             "abort", "ok"]
    plan = [["selftest", n, None, [i], {}] for i, n in enumerate(names)]
    walk = run_walk("none", plan, str(tmp_path), call_timeout=2.0)
    got = {plan[i][1]: what for i, what in walk.problems}
    assert set(got) == {"segfault", "panic", "guarded_panic", "key_error", "wrapped_around", "hang", "abort"}, got
    assert got["segfault"].startswith("crashed the interpreter (exit status -11)")
    assert got["abort"].startswith("crashed the interpreter (exit status -6)")
    assert got["hang"] == "hung (no answer within 2 s)"
    assert got["panic"].startswith("raised 'PanicException: index out of bounds")
    assert got["guarded_panic"].startswith("raised 'RuntimeError: index out of bounds")
    assert got["key_error"] == "raised \"KeyError: 'x'\""
    assert "numel() is 0 for shape (8589934592, 8589934592)" in got["wrapped_around"]
    assert [walk.outcomes[i] for i in range(len(names))] == [
        "ok", "crash", "ok", "panic", "panic", "KeyError", "TypeError", "wrapped_size", "hang", "crash", "ok"]


def _compare(plan, rg_walk, torch_walk, tables):
    """(new mismatches, stale rows, kinds of mismatch seen, PYTORCH_SAME
    outcomes PyTorch does not share)."""
    bad = {i for i, _ in rg_walk.problems}
    new, seen, not_same = [], set(), []
    for i, entry in enumerate(plan):
        ours, theirs = rg_walk.outcomes.get(i), torch_walk.outcomes.get(i)
        if i in bad:
            if (qualified(entry), ours) in tables["same"] and theirs != ours:
                not_same.append(f"{describe(entry)}: rustgrad raised {ours}, PyTorch {theirs}")
            continue
        if ours in _NOT_RAISED or theirs in _NOT_RAISED or theirs in ("crash", "hang"):
            continue
        if theirs not in _CONTRACT:  # PyTorch outside the contract, rustgrad inside it
            continue
        if ours != theirs:
            key = (qualified(entry), ours, theirs)
            seen.add(key)
            if key not in tables["mismatches"]:
                new.append(f"{describe(entry)}: rustgrad raised {ours}, PyTorch {theirs}")
    stale = [" ".join(k) for k in sorted(set(tables["mismatches"]) - seen)]
    return new, stale, seen, not_same


def test_exception_classes_match_pytorch(plan, rg_walk, torch_walk, tables):
    both = sum(1 for i in range(len(plan)) if rg_walk.outcomes.get(i) in _CONTRACT
               and torch_walk.outcomes.get(i) not in _NOT_RAISED)
    assert both > 20000, both  # the comparison covers most of the walk
    new, stale, _, not_same = _compare(plan, rg_walk, torch_walk, tables)
    assert not new, (f"{len(new)} calls raise another exception class than PyTorch's (of {both} where both "
                     "raise):\n" + _listing(new))
    assert not stale, "no longer different from PyTorch (fixed? remove from KNOWN_MISMATCHES):\n" + _listing(stale)
    assert not not_same, "tolerated as PyTorch's behaviour, but PyTorch differs:\n" + _listing(not_same)


@pytest.mark.xfail(strict=True, raises=AssertionError,
                   reason="KNOWN_MISMATCHES: rustgrad raises another class than PyTorch for these")
def test_exception_classes_match_pytorch_everywhere(plan, rg_walk, torch_walk, tables):
    _, _, seen, _ = _compare(plan, rg_walk, torch_walk, tables)
    assert not seen, f"{len(seen)} kinds of difference:\n" + _listing(
        f"{tables['mismatches'].get((q, a, b), q)}: rustgrad {a}, PyTorch {b}" for q, a, b in sorted(seen))


def test_nothing_succeeds_that_pytorch_refuses(plan, rg_walk, torch_walk, by_description):
    """A call PyTorch refuses (a wrong type, a missing argument, a value out
    of range) is refused by rustgrad too, not answered from an argument it
    misread -- except KNOWN_LENIENT's rows."""
    known = {(qualified(by_description[c]), theirs): c for _, theirs, c in _LENIENT_ROWS}
    assert len(known) == len(_LENIENT_ROWS)
    seen, new = set(), []
    for i, entry in enumerate(plan):
        theirs = torch_walk.outcomes.get(i)
        if rg_walk.outcomes.get(i) == "ok" and theirs in _CONTRACT:
            key = (qualified(entry), theirs)
            seen.add(key)
            if key not in known:
                new.append(f"{describe(entry)}: rustgrad answered, PyTorch raised {theirs}")
    stale = [f"{q} {o}" for q, o in sorted(set(known) - seen)]
    assert not new, f"{len(new)} calls answered where PyTorch raises:\n" + _listing(new)
    assert not stale, "no longer answered (fixed? remove from KNOWN_LENIENT):\n" + _listing(stale)


@pytest.fixture(scope="module")
def bug_repros(by_description, tmp_path_factory):
    """The call of each KNOWN_BUGS row, in one child."""
    calls = sorted({call for _, _, call in _BUG_ROWS})
    walk = run_walk("rustgrad", [by_description[c] for c in calls], str(tmp_path_factory.mktemp("bugs")),
                    rlimit_gib=4)
    return {calls[i]: what for i, what in walk.problems}


@pytest.mark.parametrize("family", [pytest.param(f, marks=pytest.mark.xfail(
    strict=True, raises=AssertionError, reason=BUG_FAMILIES[f])) for f in BUG_FAMILIES])
def test_known_bugs(family, bug_repros):
    """The call of each KNOWN_BUGS row of a family works or raises an
    exception of the contract. (A row fixed alone shows up as a known bug
    that no longer occurs, in test_every_call_succeeds_or_raises_a_pytorch_exception.)"""
    calls = [call for fam, _, call in _BUG_ROWS if fam == family]
    assert calls
    broken = [f"{call}: {bug_repros[call]}" for call in calls if call in bug_repros]
    if broken:
        raise AssertionError(f"{len(broken)} of {len(calls)}:\n" + "\n".join(broken))


@pytest.mark.parametrize("call", FORMERLY_SLOW)
def test_fails_fast(call, by_description, tmp_path):
    """Answers within 2 s under a 1 GiB address-space limit, with an
    exception of the contract."""
    walk = run_walk("rustgrad", [by_description[call]], str(tmp_path), call_timeout=2.0, max_restarts=0,
                    rlimit_gib=1)
    assert not walk.problems, walk.problems
    assert walk.outcomes[0] in ("RuntimeError", "TypeError", "ValueError"), walk.outcomes[0]


@pytest.mark.parametrize("op", ["sum()", "mean()", "amax()", "argmax()", "double()"])
def test_an_expanded_view_too_big_to_copy_does_not_abort(op, tmp_path):
    """``ones(1).expand(2**29)`` is a view of one element; under a 1 GiB
    address-space limit its 2 GiB dense copy cannot be allocated."""
    plan = [["expr", f"m.ones(1).expand(2**29).{op}", None, [], {}]]
    walk = run_walk("rustgrad", plan, str(tmp_path), call_timeout=60.0, max_restarts=0, rlimit_gib=1)
    assert not walk.problems, walk.problems
    assert walk.outcomes[0] in ("ok", "RuntimeError")
    if op in ("sum()", "mean()"):
        assert walk.outcomes[0] == "ok", "summed on the view, without a copy"


if __name__ == "__main__":
    child_main(sys.argv[1:])
