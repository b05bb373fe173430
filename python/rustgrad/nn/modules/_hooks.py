"""Hook plumbing for ``Module``: the
global (all-module) hooks, and the node pair that implements
``register_full_backward_hook`` (after ``torch/utils/hooks.py`` and
``torch/nn/modules/module.py``)."""

import functools
import warnings
import weakref
from collections import OrderedDict

from ...autograd.function import Function
from ..._core import Tensor
from ... import _core
from ...utils.hooks import RemovableHandle  # noqa: F401  (re-exported for module.py)


class BackwardHookFunction(Function):
    """Identity on a group of tensors whose backward node is where the module
    backward hooks see (and may replace) the gradients."""

    @staticmethod
    def forward(ctx, *args):
        ctx.mark_non_differentiable(*[a for a in args if not a.requires_grad])
        # Views, so the outputs get this node as grad_fn (PyTorch returns the
        # inputs themselves, which its Function machinery turns into views).
        return tuple(a.view_as(a) for a in args)

    @staticmethod
    def backward(ctx, *grads):
        return grads


def _pack_with_none(indices, values, size):
    res = [None] * size
    for idx, val in zip(indices, values):
        res[idx] = val
    return tuple(res)


class BackwardHook:
    """One forward call's full backward (pre-)hooks.

    ``setup_input_hook`` routes the tensor arguments through a
    ``BackwardHookFunction`` whose node, once backward reaches it, holds the
    gradients w.r.t. the module's inputs; ``setup_output_hook`` does the same
    for the outputs, capturing ``grad_output`` (and running the pre-hooks)
    first. Non-tensor arguments appear as ``None`` in the tuples the user
    hooks receive.
    """

    def __init__(self, module, user_hooks, user_pre_hooks):
        self.module = module
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.grad_outputs = None
        self.n_outputs = -1
        self.output_tensors_index = None
        self.n_inputs = -1
        self.input_tensors_index = None

    def _apply_on_tensors(self, on_node, args):
        """Routes the tensors among ``args`` through one identity node and
        calls ``on_node(node)``; returns (new args, tensor positions), or
        (args, None) when nothing requires grad."""
        idx = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in idx]
        if not (any(t.requires_grad for t in tensors) and _core.is_grad_enabled()):
            return args, None
        new_tensors = BackwardHookFunction.apply(*tensors)
        on_node(next(t.grad_fn for t in new_tensors if t.grad_fn is not None))
        out = list(args)
        for i, old, t in zip(idx, tensors, new_tensors):
            # Tensors that do not require grad keep their identity: the core
            # does not honour mark_non_differentiable, and the node still
            # receives (materialized zero) gradients for them, as in PyTorch.
            out[i] = t if old.requires_grad else old
        return tuple(out), idx

    def _input_node_hook(self, grad_input, _):
        if self.grad_outputs is None:
            return None
        res = _pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
        for hook in self.user_hooks:
            out = hook(self.module, res, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError("Backward hook returned an invalid number of grad_input, "
                                   f"got {len(out)}, but expected {len(res)}")
            res = out
        self.grad_outputs = None
        return tuple(res[i] for i in self.input_tensors_index)

    def _output_node_hook(self, _, grad_output):
        self.grad_outputs = _pack_with_none(self.output_tensors_index, grad_output, self.n_outputs)
        for pre_hook in self.user_pre_hooks:
            new = pre_hook(self.module, self.grad_outputs)
            if new is None:
                continue
            if len(new) != len(self.grad_outputs):
                raise RuntimeError("Backward pre hook returned an invalid number of grad_output, "
                                   f"got {len(new)}, but expected {len(self.grad_outputs)}")
            self.grad_outputs = new
        local = self.grad_outputs
        if self.input_tensors_index is None:
            # No input requires grad: the hooks fire here, with grad_input all None.
            if self.user_hooks:
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to module "
                    "outputs since no inputs require gradients. See "
                    "https://docs.pytorch.org/docs/main/generated/torch.nn.Module.html"
                    "#torch.nn.Module.register_full_backward_hook for more details.",
                    stacklevel=5)
                grad_inputs = (None,) * self.n_inputs
                for hook in self.user_hooks:
                    res = hook(self.module, grad_inputs, self.grad_outputs)
                    if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                        raise RuntimeError("Backward hook for Modules where no input requires "
                                           "gradient should always return None or None for all gradients.")
            self.grad_outputs = None
        return tuple(local[i] for i in self.output_tensors_index)

    def setup_input_hook(self, args):
        """``args`` with their tensors routed through the input node."""
        res, self.input_tensors_index = self._apply_on_tensors(
            lambda node: node.register_hook(self._input_node_hook), args)
        self.n_inputs = len(args)
        return res

    def setup_output_hook(self, result):
        """``result`` (a tensor or a tuple) routed through the output node."""
        is_tuple = isinstance(result, tuple)
        args = result if is_tuple else (result,)
        res, self.output_tensors_index = self._apply_on_tensors(
            lambda node: node.register_hook(self._output_node_hook), args)
        self.n_outputs = len(args)
        return res if is_tuple else res[0]


class _WrappedHook:
    """A hook called with the module prepended to its arguments (held
    weakly, so the hook does not keep the module alive)."""

    def __init__(self, hook, module=None):
        self.hook = hook
        functools.update_wrapper(self, hook)
        self.with_module = module is not None
        if self.with_module:
            self.module = weakref.ref(module)

    def __call__(self, *args, **kwargs):
        if self.with_module:
            module = self.module()
            if module is None:
                raise RuntimeError("You are trying to call the hook of a dead Module!")
            return self.hook(module, *args, **kwargs)
        return self.hook(*args, **kwargs)

    def __getstate__(self):
        state = {"hook": self.hook, "with_module": self.with_module}
        if self.with_module:
            state["module"] = self.module()
        return state

    def __setstate__(self, state):
        self.hook = state["hook"]
        self.with_module = state["with_module"]
        if self.with_module:
            if state["module"] is None:
                raise RuntimeError("You are trying to revive the hook of a dead Module!")
            self.module = weakref.ref(state["module"])


# Hooks common to all modules (``register_module_*_hook``).
_global_buffer_registration_hooks = OrderedDict()
_global_module_registration_hooks = OrderedDict()
_global_parameter_registration_hooks = OrderedDict()
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_forward_hooks_always_called = OrderedDict()
_global_forward_hooks_with_kwargs = OrderedDict()
_global_backward_pre_hooks = OrderedDict()
_global_backward_hooks = OrderedDict()


def _register_global(hooks, hook):
    """Adds ``hook`` to one of the global hook dicts; returns its handle."""
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


def register_module_buffer_registration_hook(hook):
    """``hook(module, name, buffer) -> None or new buffer`` runs on every
    ``register_buffer`` of every module."""
    return _register_global(_global_buffer_registration_hooks, hook)


def register_module_module_registration_hook(hook):
    """``hook(module, name, submodule) -> None or new submodule`` runs on
    every submodule registration of every module."""
    return _register_global(_global_module_registration_hooks, hook)


def register_module_parameter_registration_hook(hook):
    """``hook(module, name, param) -> None or new param`` runs on every
    ``register_parameter`` of every module."""
    return _register_global(_global_parameter_registration_hooks, hook)


def register_module_forward_pre_hook(hook):
    """A forward pre-hook for all modules, run before their own."""
    return _register_global(_global_forward_pre_hooks, hook)


def register_module_forward_hook(hook, *, with_kwargs=False, always_call=False):
    """A forward hook for all modules, run before their own."""
    handle = RemovableHandle(_global_forward_hooks,
                             extra_dict=[_global_forward_hooks_always_called,
                                         _global_forward_hooks_with_kwargs])
    _global_forward_hooks[handle.id] = hook
    if with_kwargs:
        _global_forward_hooks_with_kwargs[handle.id] = True
    if always_call:
        _global_forward_hooks_always_called[handle.id] = True
    return handle


def register_module_full_backward_pre_hook(hook):
    """A backward pre-hook for all modules, run before their own."""
    return _register_global(_global_backward_pre_hooks, hook)


def register_module_full_backward_hook(hook):
    """A full backward hook for all modules, run before their own."""
    return _register_global(_global_backward_hooks, hook)


def _run_module_registration_hooks(module, name, value):
    for hook in _global_module_registration_hooks.values():
        output = hook(module, name, value)
        if output is not None:
            value = output
    return value
