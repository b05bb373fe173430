"""``torch.autograd.Function``: user-defined ops with a Python backward.

A subclass writes ``forward(ctx, *args)`` (or ``forward(*args)`` plus
``setup_context(ctx, inputs, output)``) and ``backward(ctx, *grad_outputs)``
as staticmethods and is called through ``apply``. The forward runs with
grad recording off; rustgrad then records one graph node whose backward
calls the Python ``backward``. As in PyTorch, that node's Python object *is*
the ``ctx`` (``y.grad_fn`` is an instance of ``<Name>Backward``).
"""

import functools

from .. import _core
from ..grad_mode import no_grad

__all__ = ["Function", "FunctionCtx", "BackwardCFunction", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` (or ``setup_context``) records for ``backward``."""

    to_save = ()
    dirty_tensors = ()
    non_differentiable = ()
    materialize_grads = True

    def save_for_backward(self, *tensors):
        """Saves tensors (or ``None``) for ``backward``; read them back as
        ``ctx.saved_tensors``. They are checked against in-place changes and
        freed after a backward pass that does not retain the graph."""
        self.to_save = tensors

    def save_for_forward(self, *tensors):
        """Forward-mode AD is not supported; kept for API compatibility."""
        self.saved_for_forward = tensors

    def mark_dirty(self, *args):
        """Declares the input tensors ``forward`` modified in place (and
        returned)."""
        self.dirty_tensors = args

    def mark_non_differentiable(self, *args):
        """Declares outputs that get no gradient (``requires_grad=False``)."""
        self.non_differentiable = args

    def set_materialize_grads(self, value):
        """With ``False``, ``backward`` receives ``None`` (not zeros) for
        outputs that got no gradient."""
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        saved = getattr(self, "_saved", None)
        return () if saved is None else saved.unpack()

    @property
    def saved_variables(self):
        return self.saved_tensors


class BackwardCFunction(FunctionCtx):
    """The ``ctx`` of one Function call, which is also its graph node."""

    def name(self):
        return type(self).__name__

    @property
    def next_functions(self):
        node = getattr(self, "_node", None)
        return () if node is None else node.next_functions()

    @property
    def _input_metadata(self):
        node = getattr(self, "_node", None)
        return () if node is None else node._input_metadata()

    @property
    def metadata(self):
        if "_metadata" not in self.__dict__:
            self._metadata = {}
        return self._metadata

    def register_hook(self, fn):
        return self._node.register_hook(fn)

    def register_prehook(self, fn):
        return self._node.register_prehook(fn)

    def _do_backward(self, grads, needs):
        """Called by the engine with one gradient per output; returns one per
        forward argument."""
        result = self._forward_cls.backward(self, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        expected = len(self._input_is_tensor)
        if len(result) > expected and all(r is None for r in result[expected:]):
            result = result[:expected]
        if len(result) != expected:
            raise RuntimeError(
                f"function {type(self).__name__} returned an incorrect number of gradients "
                f"(expected {expected}, got {len(result)})")
        for i, (g, is_tensor) in enumerate(zip(result, self._input_is_tensor)):
            if g is not None and not is_tensor:
                raise RuntimeError(
                    f"function {type(self).__name__} returned a gradient different than None at "
                    f"position {i + 1}, but the corresponding forward input was not a Variable")
            if g is not None and not isinstance(g, _core.Tensor):
                raise RuntimeError(f"expected Variable or None (got {type(g).__name__})")
        return result


class FunctionMeta(type):
    """Gives each Function subclass its node class, ``<Name>Backward``."""

    def __init__(cls, name, bases, attrs):
        cls._backward_cls = type(name + "Backward", (BackwardCFunction,), {"_forward_cls": cls})
        super().__init__(name, bases, attrs)


class Function(metaclass=FunctionMeta):
    """Base class of custom differentiable operations (see module docs)."""

    def __init__(self, *args, **kwargs):
        raise RuntimeError(
            "Legacy autograd function with non-static forward method is deprecated. "
            "Please use new-style autograd function with static forward method. "
            "(Example: https://pytorch.org/docs/stable/autograd.html#torch.autograd.Function)")

    @staticmethod
    def forward(*args, **kwargs):
        raise NotImplementedError(
            "You must implement the forward function for custom autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError(
            "You must implement either the backward or vjp method for your custom "
            "autograd.Function to use it with backward mode AD.")

    vjp = backward

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = cls._backward_cls()
        ctx._input_is_tensor = tuple(isinstance(a, _core.Tensor) for a in args)
        ctx.needs_input_grad = tuple(isinstance(a, _core.Tensor) and a.requires_grad for a in args)
        with no_grad():
            if cls.setup_context is not Function.setup_context:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        for i, t in enumerate(ctx.to_save):
            if t is not None and not isinstance(t, _core.Tensor):
                raise TypeError(
                    f"save_for_backward can only save variables, but argument {i} is of type {type(t).__name__}")
        is_tuple = isinstance(output, tuple)
        outputs = output if is_tuple else (output,)
        recorded = _core._function_record(
            ctx, cls._backward_cls.__name__, args, outputs, ctx.to_save,
            ctx.dirty_tensors, ctx.non_differentiable, ctx.materialize_grads)
        # The node now owns what these named; kept here, an output would hold
        # its own node through the ctx (a cycle Python's GC cannot see).
        ctx.to_save = ctx.dirty_tensors = ctx.non_differentiable = ()
        return recorded if is_tuple else recorded[0]


class _DelayedError(Function):
    """Passes gradients through, failing if they are differentiated again
    (for ``once_differentiable``)."""

    @staticmethod
    def forward(ctx, *inputs):
        return tuple(i.detach() if i is not None else None for i in inputs)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError(
            "trying to differentiate twice a function that was marked with @once_differentiable")


def once_differentiable(fn):
    """Marks a Function's ``backward`` as not differentiable: it runs with
    grad recording off, and differentiating its result raises."""

    @functools.wraps(fn)
    def wrapper(ctx, *args):
        with no_grad():
            outputs = fn(ctx, *args)
        if not _core.is_grad_enabled():
            return outputs
        if not any(isinstance(a, _core.Tensor) and a.requires_grad for a in args):
            return outputs
        single = not isinstance(outputs, tuple)
        outs = (outputs,) if single else outputs
        # Fresh leaves that require grad, so the error node gets recorded.
        wrapped = _DelayedError.apply(*[None if o is None else o.detach().requires_grad_() for o in outs])
        if not isinstance(wrapped, tuple):
            wrapped = (wrapped,)
        return wrapped[0] if single else wrapped

    return wrapper
