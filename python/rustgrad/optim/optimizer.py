"""``torch.optim.Optimizer``: parameter groups, per-parameter state, hooks
and ``state_dict``; the update itself runs in Rust, one fused call per
parameter group (``_core._optimizer_step``) with the GIL released."""

import copy
import functools
import itertools
import warnings
from collections import OrderedDict, defaultdict

from .. import _core
from .._utils import typename as _typename, zero_grad_
from ..grad_mode import enable_grad, no_grad
from ..utils.hooks import RemovableHandle

__all__ = ["Optimizer", "required", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]


class _RequiredParameter:
    """Marks a hyper-parameter that has no default (``lr`` of ``SGD`` in old
    PyTorch versions)."""

    def __repr__(self):
        return "<required parameter>"


required = _RequiredParameter()


def check_lr(lr):
    """PyTorch's first check of every optimizer: a tensor ``lr`` has one
    element, and ``lr >= 0``."""
    if isinstance(lr, _core.Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    check_range("learning", lr, what="rate")


def check_range(name, value, low=0.0, high=None, what="value"):
    """PyTorch's hyper-parameter checks: ValueError ``Invalid {name} {what}:
    {value}`` unless ``low <= value`` (and ``value < high`` when given)."""
    if not (low <= value and (high is None or value < high)):
        raise ValueError(f"Invalid {name} {what}: {value}")


def check_adam_family(lr, eps, betas, weight_decay):
    """The checks the Adam family shares, in PyTorch's order: ValueError for
    a negative ``lr``, ``eps`` or ``weight_decay`` or betas outside
    ``[0, 1)``."""
    check_lr(lr)
    check_range("epsilon", eps)
    for i, beta in enumerate(betas):
        if not 0.0 <= beta < 1.0:
            raise ValueError(f"Invalid beta parameter at index {i}: {beta}")
    check_range("weight_decay", weight_decay)


_global_optimizer_pre_hooks = OrderedDict()
_global_optimizer_post_hooks = OrderedDict()


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs before every optimizer's
    ``step``, before the optimizer's own pre-hooks; returns a handle."""
    return Optimizer._register(_global_optimizer_pre_hooks, hook)


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs after every optimizer's
    ``step``, after the optimizer's own post-hooks; returns a handle."""
    return Optimizer._register(_global_optimizer_post_hooks, hook)


def _hooked(step):
    """Wraps a ``step`` so that the step hooks run around it, as PyTorch's
    ``profile_hook_step``: pre-hooks see ``(self, *args)`` and ``kwargs``
    and may return replacements for both."""
    if getattr(step, "_hooked", False):
        return step

    @functools.wraps(step)
    def wrapper(*args, **kwargs):
        self = args[0]
        # An optimizer whose __init__ skipped the base's has no hook tables.
        own_pre, own_post = (getattr(self, name, {}) for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks"))
        for pre_hook in itertools.chain(_global_optimizer_pre_hooks.values(), own_pre.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{step} must return None or a tuple of (new_args, new_kwargs), but got {result}.")
        out = step(*args, **kwargs)
        for post_hook in itertools.chain(own_post.values(), _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out

    wrapper._hooked = True
    return wrapper


class Optimizer:
    """Base class of all optimizers (``torch.optim.Optimizer``).

    ``params`` is an iterable of tensors, of ``(name, tensor)`` pairs, or of
    dicts each defining a parameter group (``{"params": [...], "lr": ...}``);
    ``defaults`` holds the hyper-parameters a group does not set.
    Subclasses name their Rust update rule in ``_rule`` and may override
    ``_new_state`` for states that do not start at zero.

    Raises TypeError for a single tensor or a set of parameters, ValueError
    for an empty list, a non-leaf tensor, or a parameter in two groups.
    """

    _rule = None

    def __init_subclass__(cls, **kwargs):
        # A subclass's own ``step`` (a custom optimizer) runs the hooks too.
        super().__init_subclass__(**kwargs)
        if "step" in cls.__dict__:
            cls.step = _hooked(cls.__dict__["step"])

    def __init__(self, params, defaults):
        self.defaults = defaults
        self._init_hooks()
        if isinstance(params, _core.Tensor):
            raise TypeError(
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                f"but got {_typename(params)}")
        if isinstance(params, set):
            warnings.warn(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead. This will be an error in a future "
                "release.", FutureWarning, stacklevel=3)
        self.state = defaultdict(dict)
        self.param_groups = []
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._init_hooks()

    def _init_hooks(self):
        self._optimizer_step_pre_hooks = OrderedDict()
        self._optimizer_step_post_hooks = OrderedDict()
        self._optimizer_state_dict_pre_hooks = OrderedDict()
        self._optimizer_state_dict_post_hooks = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks = OrderedDict()
        self._optimizer_load_state_dict_post_hooks = OrderedDict()

    def __repr__(self):
        text = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            text += f"\nParameter Group {i}\n"
            text += "".join(f"    {key}: {group[key]}\n" for key in sorted(group) if key != "params")
        return text + ")"

    def add_param_group(self, param_group):
        """Adds a group (a dict with ``"params"`` and optional
        hyper-parameters; the rest come from ``defaults``)."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        params = param_group["params"]
        if isinstance(params, _core.Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError(
                "optimizer parameters need to be organized in ordered collections, but the ordering of tensors "
                "in sets will change between runs. Please use a list instead.")
        else:
            param_group["params"] = list(params)
        extracted = [p[1] if isinstance(p, tuple) else p for p in param_group["params"]]
        names = [p[0] for p in param_group["params"] if isinstance(p, tuple)]
        if names:
            if len(names) != len(extracted):
                raise ValueError("all optimizer params should be with/without names. Some param names are missing")
            param_group["param_names"] = names
        param_group["params"] = extracted
        for param in extracted:
            if not isinstance(param, _core.Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but one of the params is {_typename(param)}")
            if not self.defaults.get("differentiable") and not (param.is_leaf or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")
        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {name}")
            param_group.setdefault(name, default)
        if len({id(p) for p in extracted}) != len(extracted):
            warnings.warn(
                "optimizer contains a parameter group with duplicate parameters; in future, this will cause an error; "
                "see github.com/pytorch/pytorch/issues/40967 for more information", stacklevel=3)
        for group in self.param_groups:
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        seen = {id(p) for group in self.param_groups for p in group["params"]}
        if seen & {id(p) for p in extracted}:
            raise ValueError("some parameters appear in more than one parameter group")
        self.param_groups.append(param_group)

    def zero_grad(self, set_to_none=True):
        """Resets the gradients of all parameters: to ``None`` (the default),
        or to zeros in place (detached first, as PyTorch)."""
        zero_grad_((p for group in self.param_groups for p in group["params"]), set_to_none)

    # ---- the update --------------------------------------------------------

    def _new_state(self, group, name, param):
        """The initial value of buffer or scalar state ``name`` of ``param``:
        zeros like it for buffers, ``tensor(0.)`` for scalars (``step``),
        in float64 when that is the default dtype (PyTorch's
        ``_get_scalar_dtype``)."""
        if name in ("step", "mu_product"):
            from .. import get_default_dtype

            dtype = _core.float64 if get_default_dtype() == _core.float64 else _core.float32
            return _core.tensor(1.0 if name == "mu_product" else 0.0, dtype=dtype)
        return _core.zeros_like(param)

    def _group_step(self, group):
        params = [p for p in group["params"] if p.grad is not None]
        if not params:
            return
        if group.get("differentiable"):
            raise RuntimeError(f"{type(self).__name__}: differentiable=True is not supported by rustgrad's fused update")
        buffer_names, scalar_names = _core._optimizer_state_names(self._rule, group)
        buffers, scalars, fresh = [], [], []
        for p in params:
            if not buffer_names and not scalar_names:
                buffers.append([]), scalars.append([]), fresh.append(False)
                continue
            state = self.state[p]
            fresh.append(buffer_names[:1] == ["momentum_buffer"] and state.get("momentum_buffer") is None)
            for name in scalar_names + buffer_names:
                if state.get(name) is None:
                    state[name] = self._new_state(group, name, p)
                elif name in scalar_names and not isinstance(state[name], _core.Tensor):
                    # A plain number (older checkpoints): a tensor of the scalar dtype, as PyTorch's __setstate__.
                    state[name] = self._new_state(group, name, p).fill_(float(state[name]))
            buffers.append([state[n] for n in buffer_names])
            scalars.append([state[n] for n in scalar_names])
        _core._optimizer_step(self._rule, group, params, [p.grad for p in params], buffers, scalars, fresh)

    @_hooked
    def step(self, closure=None):
        """Performs one update of every parameter that has a gradient.
        ``closure`` (re-evaluating the model and returning the loss) is
        called first, with gradients enabled; its loss is returned."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        with no_grad():
            for group in self.param_groups:
                self._group_step(group)
        return loss

    # ---- hooks ---------------------------------------------------------------

    @staticmethod
    def _register(table, hook):
        handle = RemovableHandle(table)
        table[handle.id] = hook
        return handle

    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before each ``step``;
        returns a handle with ``remove()``."""
        return self._register(self._optimizer_step_pre_hooks, hook)

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``;
        returns a handle with ``remove()``."""
        return self._register(self._optimizer_step_post_hooks, hook)

    @staticmethod
    def _register_ordered(table, hook, prepend):
        handle = Optimizer._register(table, hook)
        if prepend:
            table.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs before ``state_dict`` builds its result."""
        return self._register_ordered(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs on ``state_dict``'s result
        and may return a replacement."""
        return self._register_ordered(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs before ``load_state_dict``
        and may return a replacement ``state_dict``."""
        return self._register_ordered(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs after ``load_state_dict``."""
        return self._register_ordered(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ---- state_dict ------------------------------------------------------------

    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [group with
        "params" as indices]}``, indices counting parameters across groups
        in order (PyTorch's format; the state tensors are not copied)."""
        for hook in self._optimizer_state_dict_pre_hooks.values():
            hook(self)
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: s for p, s in self.state.items() if id(p) in index}
        result = {"state": state, "param_groups": groups}
        for hook in self._optimizer_state_dict_post_hooks.values():
            replaced = hook(self, result)
            result = result if replaced is None else replaced
        return result

    def load_state_dict(self, state_dict):
        """Restores hyper-parameters and state from ``state_dict()``'s
        output. State tensors are copied to each parameter's dtype, except
        ``step``. ValueError if the number or sizes of groups differ."""
        for hook in self._optimizer_load_state_dict_pre_hooks.values():
            replaced = hook(self, state_dict)
            state_dict = state_dict if replaced is None else replaced
        state_dict = copy.deepcopy(state_dict)
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(self.param_groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match the size of optimizer's group")
        id_map = {old: p for g, s in zip(self.param_groups, saved_groups) for old, p in zip(s["params"], g["params"])}
        state = defaultdict(dict)
        for key, value in state_dict["state"].items():
            if key in id_map:
                param = id_map[key]
                state[param] = {k: self._cast_state(param, k, v) for k, v in value.items()}
            else:
                state[key] = value
        self.state = state
        self.param_groups = [{**s, "params": g["params"]} for g, s in zip(self.param_groups, saved_groups)]
        for hook in self._optimizer_load_state_dict_post_hooks.values():
            hook(self)

    @staticmethod
    def _cast_state(param, key, value):
        if not isinstance(value, _core.Tensor) or key == "step":
            return value
        return value.to(dtype=param.dtype) if param.is_floating_point() else value
