"""nn.Module, nn.Parameter and the containers: registration, naming, hooks,
state_dict/load_state_dict (PyTorch's keys and exact error texts),
train/eval, dtype conversion keeping Parameter identity, copying and
pickling, and reprs written from PyTorch's output."""

import copy
import pickle
from collections import OrderedDict

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn

from conftest import N, raises_same


# ---------------------------------------------------------------------------
# fixtures: a small model exercising every kind of member
# ---------------------------------------------------------------------------


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.enc = nn.Sequential(nn.Linear(3, 4), nn.ReLU(inplace=True))
        self.heads = nn.ModuleList([nn.Linear(4, 2) for _ in range(3)] + [nn.Tanh()])
        self.d = nn.ModuleDict({"a": nn.Identity(), "b": nn.Softmax(dim=1)})
        self.scale = nn.Parameter(rg.ones(1))
        self.register_buffer("steps", rg.zeros((), dtype=rg.int64))

    def forward(self, x):
        return self.heads[0](self.enc(x)) * self.scale


NET_REPR = (
    "Net(\n  (enc): Sequential(\n    (0): Linear(in_features=3, out_features=4, bias=True)\n"
    "    (1): ReLU(inplace=True)\n  )\n  (heads): ModuleList(\n"
    "    (0-2): 3 x Linear(in_features=4, out_features=2, bias=True)\n    (3): Tanh()\n  )\n"
    "  (d): ModuleDict(\n    (a): Identity()\n    (b): Softmax(dim=1)\n  )\n)"
)
NET_KEYS = ["scale", "steps", "enc.0.weight", "enc.0.bias", "heads.0.weight", "heads.0.bias",
            "heads.1.weight", "heads.1.bias", "heads.2.weight", "heads.2.bias"]
NET_MODULES = ["", "enc", "enc.0", "enc.1", "heads", "heads.0", "heads.1", "heads.2", "heads.3", "d", "d.a",
               "d.b"]


def fixed_linear(out_f, in_f, bias=True, dtype=rg.float32):
    """A Linear whose weight is 0.1 * arange and bias is -0.5 * arange."""
    lin = nn.Linear(in_f, out_f, bias=bias, dtype=dtype)
    with rg.no_grad():
        lin.weight.copy_(rg.arange(out_f * in_f, dtype=dtype).reshape(out_f, in_f) * 0.1)
        if bias:
            lin.bias.copy_(rg.arange(out_f, dtype=dtype) * -0.5)
    return lin


# ---------------------------------------------------------------------------
# Parameter
# ---------------------------------------------------------------------------


def test_parameter_is_a_leaf_tensor_requiring_grad():
    p = nn.Parameter(rg.tensor([1.0, 2.0]))
    assert isinstance(p, rg.Tensor) and isinstance(p, nn.Parameter)
    assert p.requires_grad and p.is_leaf and p.grad_fn is None
    assert not nn.Parameter(rg.ones(2), requires_grad=False).requires_grad
    with rg.no_grad():
        assert nn.Parameter(rg.ones(2)).requires_grad  # no_grad does not change the default


def test_parameter_aliases_data_keeping_dtype_and_detaching():
    base = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    src = base * 2
    p = nn.Parameter(src)
    assert p.dtype == rg.float64 and p.is_leaf and p.grad_fn is None
    with rg.no_grad():
        p[0] = 7.0
    assert src[0].item() == 7.0  # same storage


def test_parameter_of_integer_tensor_keeps_dtype():
    p = nn.Parameter(rg.tensor([1, 2]), requires_grad=False)
    assert p.dtype == rg.int64 and not p.requires_grad


def test_parameter_default_is_empty():
    p = nn.Parameter()
    assert tuple(p.shape) == (0,) and p.dtype == rg.float32 and p.requires_grad


def test_parameter_repr_and_str():
    expected = "Parameter containing:\ntensor([1., 2.], requires_grad=True)"
    p = nn.Parameter(rg.tensor([1.0, 2.0]))
    assert repr(p) == expected and str(p) == expected
    assert repr(nn.Parameter(rg.tensor([1.0, 2.0]), requires_grad=False)) == (
        "Parameter containing:\ntensor([1., 2.])")
    assert repr(nn.Parameter()) == "Parameter containing:\ntensor([], requires_grad=True)"


def test_operations_on_parameters_return_plain_tensors():
    p = nn.Parameter(rg.ones(2))
    for out in (p + 1, p * p, p.sum(), p.detach(), p.data):
        assert type(out) is rg.Tensor


def test_parameter_gets_gradient():
    p = nn.Parameter(rg.tensor([1.0, -2.0]))
    (p * p).sum().backward()
    np.testing.assert_allclose(N(p.grad), [2.0, -4.0])


def test_parameter_deepcopy():
    p = nn.Parameter(rg.tensor([1.0, 2.0], dtype=rg.float64), requires_grad=False)
    memo = {}
    q = copy.deepcopy(p, memo)
    assert type(q) is nn.Parameter and q is not p and q.dtype == rg.float64 and not q.requires_grad
    assert copy.deepcopy(p, memo) is q  # memo honoured
    with rg.no_grad():
        q[0] = 5.0
    assert p[0].item() == 1.0  # independent storage


def test_parameter_reduce_ex_layout():
    p = nn.Parameter(rg.tensor([1.0, 2.0]))
    fn, args = p.__reduce_ex__(2)
    assert fn.__name__ == "_rebuild_parameter"
    data, requires_grad, hooks = args
    assert type(data) is rg.Tensor and requires_grad is True and hooks == OrderedDict()
    q = fn(*args)
    assert type(q) is nn.Parameter and q.requires_grad and N(q).tolist() == [1.0, 2.0]


def test_parameter_pickle_roundtrip():
    p = nn.Parameter(rg.tensor([1.0, 2.0], dtype=rg.float64))
    q = pickle.loads(pickle.dumps(p))
    assert type(q) is nn.Parameter and q.requires_grad and q.dtype == rg.float64
    assert N(q).tolist() == [1.0, 2.0]


def test_buffer_assignment_registers_a_buffer():
    m = nn.Module()
    m.a = nn.Buffer(rg.ones(2))
    m.b = nn.Buffer(rg.zeros(3), persistent=False)
    assert list(m._buffers) == ["a", "b"] and m._non_persistent_buffers_set == {"b"}
    assert type(m.a) is rg.Tensor  # stored as a plain tensor, as in PyTorch
    assert list(m.state_dict()) == ["a"]


# ---------------------------------------------------------------------------
# registration through attributes
# ---------------------------------------------------------------------------


def test_attribute_assignment_registers_members():
    m = nn.Module()
    m.w = nn.Parameter(rg.ones(2))
    m.sub = nn.Linear(2, 2)
    m.plain = rg.ones(3)  # plain tensors are ordinary attributes
    m.register_buffer("buf", rg.zeros(2))
    assert list(m._parameters) == ["w"] and list(m._modules) == ["sub"] and list(m._buffers) == ["buf"]
    assert "plain" in m.__dict__ and "w" not in m.__dict__
    assert m.w is m._parameters["w"] and m.sub is m._modules["sub"] and m.buf is m._buffers["buf"]


def test_reassignment_moves_between_tables():
    m = nn.Module()
    m.x = nn.Linear(1, 1)
    m.x = nn.Parameter(rg.ones(1))  # a module name becomes a parameter
    assert "x" not in m._modules and "x" in m._parameters
    m.x = None  # parameters may be set to None
    assert m._parameters["x"] is None and m.x is None
    assert list(m.parameters()) == [] and list(m.state_dict()) == []
    m.register_buffer("b", rg.ones(1))
    m.b = rg.zeros(2)  # assigning a tensor to a buffer name replaces the buffer
    assert m._buffers["b"].shape == (2,)


def test_assignment_type_errors():
    lin = nn.Linear(2, 3)
    with pytest.raises(TypeError, match=r"^cannot assign 'torch.FloatTensor' as parameter 'weight' "
                                        r"\(torch.nn.Parameter or None expected\)$"):
        lin.weight = rg.ones(3, 2)
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(TypeError, match=r"^cannot assign 'int' as child module '0' "
                                        r"\(torch.nn.Module or None expected\)$"):
        setattr(seq, "0", 3)
    lin.register_buffer("b", rg.ones(1))
    with pytest.raises(TypeError, match=r"^cannot assign 'int' as buffer 'b' "
                                        r"\(torch.nn.Buffer, torch.Tensor or None expected\)$"):
        lin.b = 3


def test_register_errors():
    m = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"^cannot assign 'torch.FloatTensor' object to parameter 'w' "
                                        r"\(torch.nn.Parameter or None required\)$"):
        m.register_parameter("w", rg.ones(1))
    for call, message in [(lambda: m.register_parameter("a.b", None), 'parameter name can\'t contain "."'),
                          (lambda: m.register_parameter("", None), 'parameter name can\'t be empty string ""'),
                          (lambda: m.register_buffer("training", rg.ones(1)), "attribute 'training' already exists"),
                          (lambda: m.add_module("x.y", None), 'module name can\'t contain ".", got: x.y')]:
        with pytest.raises(KeyError) as info:
            call()
        assert info.value.args == (message,)
    with pytest.raises(TypeError, match="buffer name should be a string. Got int"):
        m.register_buffer(1, rg.ones(1))
    with pytest.raises(TypeError, match=r"^cannot assign 'list' object to buffer 'x' "
                                        r"\(torch Tensor or None required\)$"):
        m.register_buffer("x", [1])
    with pytest.raises(TypeError, match="^int is not a Module subclass$"):
        m.add_module("x", 3)


def test_assignment_before_init_raises():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(rg.ones(1))

    with pytest.raises(AttributeError, match=r"^cannot assign parameters before Module.__init__\(\) call$"):
        Bad()

    class BadModule(nn.Module):
        def __init__(self):
            self.m = nn.ReLU()

    with pytest.raises(AttributeError, match=r"^cannot assign module before Module.__init__\(\) call$"):
        BadModule()


def test_delattr_removes_members():
    m = nn.Linear(2, 2)
    m.register_buffer("b", rg.ones(1), persistent=False)
    del m.weight
    del m.b
    assert "weight" not in m._parameters and "b" not in m._buffers and not m._non_persistent_buffers_set
    with pytest.raises(AttributeError):
        del m.nothing


def test_getattr_error_message():
    with pytest.raises(AttributeError, match=r"^'Linear' object has no attribute 'foo'$"):
        nn.Linear(1, 1).foo


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match=r"^Module.__init__\(\) got an unexpected keyword argument 'x'$"):
        nn.Module(x=1)
    with pytest.raises(TypeError, match=r"^Module.__init__\(\) takes 1 positional argument but 2 were given$"):
        nn.Module(1)


def test_forward_not_implemented():
    with pytest.raises(NotImplementedError, match=r'^Module \[Module\] is missing the required "forward" function$'):
        nn.Module()(rg.ones(1))


def test_dir_lists_members_without_numeric_names():
    d = dir(nn.Sequential(nn.Linear(1, 1)))
    assert "0" not in d and "forward" in d and "training" in d
    d = dir(nn.Linear(1, 1))
    assert "weight" in d and "bias" in d and d == sorted(d)


# ---------------------------------------------------------------------------
# iteration and naming
# ---------------------------------------------------------------------------


def test_named_members_order_and_prefix():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == [k for k in NET_KEYS if k != "steps"]
    assert [n for n, _ in net.named_buffers()] == ["steps"]
    assert [n for n, _ in net.named_modules()] == NET_MODULES
    assert [n for n, _ in net.named_children()] == ["enc", "heads", "d"]
    assert [n for n, _ in net.named_parameters(prefix="model")][:2] == ["model.scale", "model.enc.0.weight"]
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert len(list(net.parameters())) == 9 and len(list(net.modules())) == 12


def test_shared_members_listed_once_unless_asked():
    lin = nn.Linear(2, 2)
    seq = nn.Sequential(lin, nn.ReLU(), lin)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert [n for n, _ in seq.named_parameters(remove_duplicate=False)] == [
        "0.weight", "0.bias", "2.weight", "2.bias"]
    assert [n for n, _ in seq.named_modules()] == ["", "0", "1"]
    assert len(list(seq.modules(remove_duplicate=False))) == 4
    assert len(list(seq.children())) == 2
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_get_submodule_parameter_buffer():
    net = Net()
    assert net.get_submodule("enc.0") is net.enc[0]
    assert net.get_submodule("") is net
    assert net.get_parameter("enc.0.bias") is net.enc[0].bias
    assert net.get_buffer("steps") is net.steps
    with pytest.raises(AttributeError, match=r"^Sequential has no attribute `7`$"):
        net.get_submodule("enc.7")
    with pytest.raises(AttributeError, match=r"^`scale` is not an nn.Module$"):
        net.get_submodule("scale")
    with pytest.raises(AttributeError, match=r"^`steps` is not an nn.Parameter$"):
        net.get_parameter("steps")
    with pytest.raises(AttributeError, match=r"^`scale` is not a buffer$"):
        net.get_buffer("scale")
    with pytest.raises(AttributeError, match=r"^Linear has no attribute `nope`$"):
        net.get_parameter("enc.0.nope")


def test_set_submodule():
    net = Net()
    new = nn.Linear(3, 4)
    net.set_submodule("enc.0", new)
    assert net.enc[0] is new
    with pytest.raises(ValueError, match="Cannot set the submodule without a target name!"):
        net.set_submodule("", new)
    with pytest.raises(AttributeError, match=r"^Sequential has no attribute `5`$"):
        net.set_submodule("enc.5", new, strict=True)


def test_apply_visits_children_first():
    seen = []
    seq = nn.Sequential(nn.Linear(1, 1), nn.Sequential(nn.ReLU()))
    assert seq.apply(lambda m: seen.append(type(m).__name__)) is seq
    assert seen == ["Linear", "ReLU", "Sequential", "Sequential"]


# ---------------------------------------------------------------------------
# modes and gradients
# ---------------------------------------------------------------------------


def test_train_eval_propagate():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.enc.train()
    assert net.enc[1].training and not net.training
    with pytest.raises(ValueError, match="^training mode is expected to be boolean$"):
        net.train("yes")


def test_requires_grad_and_zero_grad():
    lin = fixed_linear(2, 3)
    assert lin.requires_grad_(False) is lin and not any(p.requires_grad for p in lin.parameters())
    lin.requires_grad_()
    lin(rg.ones(4, 3)).sum().backward()
    grad = lin.weight.grad
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is not None and N(lin.weight.grad).tolist() == [[0.0] * 3] * 2
    assert N(grad).sum() == 0  # zeroed in place
    lin.zero_grad()
    assert lin.weight.grad is None and lin.bias.grad is None


# ---------------------------------------------------------------------------
# state_dict / load_state_dict
# ---------------------------------------------------------------------------


def test_state_dict_keys_metadata_and_aliasing():
    net = Net()
    sd = net.state_dict()
    assert isinstance(sd, OrderedDict) and list(sd) == NET_KEYS
    assert list(sd._metadata) == NET_MODULES and sd._metadata["enc.0"] == {"version": 1}
    assert all(type(v) is rg.Tensor and not v.requires_grad for v in sd.values())
    with rg.no_grad():
        sd["scale"].fill_(3.0)
    assert net.scale.item() == 3.0  # shares storage
    kept = net.state_dict(keep_vars=True)
    assert kept["scale"] is net.scale
    sub = net.enc.state_dict(prefix="enc.")
    assert list(sub) == ["enc.0.weight", "enc.0.bias"]


def test_state_dict_skips_non_persistent_and_none():
    m = nn.Linear(2, 2, bias=False)
    m.register_buffer("keep", rg.ones(1))
    m.register_buffer("drop", rg.ones(1), persistent=False)
    m.register_buffer("nothing", None)
    assert list(m.state_dict()) == ["weight", "keep"]
    assert [n for n, _ in m.named_buffers()] == ["keep", "drop"]


def test_load_state_dict_roundtrip():
    src, dst = Net(), Net()
    with rg.no_grad():
        src.steps.fill_(5)
    weight = dst.enc[0].weight
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert repr(result) == str(result) == "<All keys matched successfully>"
    assert dst.enc[0].weight is weight  # copied in place
    np.testing.assert_array_equal(N(dst.enc[0].weight), N(src.enc[0].weight))
    assert dst.steps.item() == 5


def test_load_state_dict_error_message():
    lin = nn.Linear(2, 3)
    lin.register_buffer("b", rg.zeros(2))
    with pytest.raises(RuntimeError) as info:
        lin.load_state_dict({"weight": rg.zeros(3, 3), "extra": rg.ones(1)})
    assert str(info.value) == (
        'Error(s) in loading state_dict for Linear:\n\tMissing key(s) in state_dict: "bias", "b". \n\t'
        'Unexpected key(s) in state_dict: "extra". \n\tsize mismatch for weight: copying a param with shape '
        "torch.Size([3, 3]) from checkpoint, the shape in current model is torch.Size([3, 2]).")


def test_load_state_dict_non_tensor_and_non_mapping():
    lin = nn.Linear(2, 3)
    with pytest.raises(RuntimeError) as info:
        lin.load_state_dict({"weight": 1, "bias": rg.zeros(3)})
    assert str(info.value) == (
        'Error(s) in loading state_dict for Linear:\n\tWhile copying the parameter named "weight", expected '
        "torch.Tensor or Tensor-like object from checkpoint but received <class 'int'>")
    with pytest.raises(TypeError, match=r"^Expected state_dict to be dict-like, got <class 'list'>.$"):
        lin.load_state_dict([1])


def test_load_state_dict_nested_unexpected_keys():
    seq = nn.Sequential(nn.Linear(1, 1))
    sd = seq.state_dict()
    sd["0.extra"] = rg.ones(1)
    sd["1.weight"] = rg.ones(1)
    with pytest.raises(RuntimeError) as info:
        seq.load_state_dict(sd)
    assert str(info.value) == ('Error(s) in loading state_dict for Sequential:\n\t'
                               'Unexpected key(s) in state_dict: "1.weight", "0.extra". ')


def test_load_state_dict_not_strict():
    lin = nn.Linear(2, 3)
    res = lin.load_state_dict({"weight": rg.zeros(3, 2), "x": rg.ones(1)}, strict=False)
    # PyTorch collects both lists even when not strict (it only skips raising).
    assert res.missing_keys == ["bias"] and res.unexpected_keys == ["x"]
    assert repr(res) == "_IncompatibleKeys(missing_keys=['bias'], unexpected_keys=['x'])"
    assert N(lin.weight).sum() == 0
    with pytest.raises(RuntimeError, match="size mismatch for weight"):
        lin.load_state_dict({"weight": rg.zeros(2, 2)}, strict=False)  # size errors still raise


def test_load_state_dict_scalar_from_one_element():
    m = nn.Module()
    m.register_buffer("s", rg.zeros(()))
    m.load_state_dict({"s": rg.tensor([4.0])})
    assert m.s.shape == () and m.s.item() == 4.0


def test_load_state_dict_assign():
    lin = nn.Linear(2, 3)
    old = lin.weight
    new_w = rg.ones(3, 2, dtype=rg.float64)
    lin.load_state_dict({"weight": new_w, "bias": rg.zeros(3)}, assign=True)
    assert lin.weight is not old and isinstance(lin.weight, nn.Parameter)
    assert lin.weight.dtype == rg.float64 and lin.weight.requires_grad


def test_load_state_dict_hooks():
    lin = nn.Linear(1, 1)
    calls = []
    lin.register_load_state_dict_pre_hook(lambda mod, sd, prefix, *rest: calls.append(("pre", mod is lin)))
    lin.register_load_state_dict_post_hook(lambda mod, keys: calls.append(("post", keys.missing_keys)))
    lin.load_state_dict({"weight": rg.ones(1, 1)}, strict=False)
    assert calls == [("pre", True), ("post", ["bias"])]


def test_state_dict_hooks():
    lin = nn.Linear(1, 1)
    seen = []
    lin.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: seen.append(prefix))
    lin.register_state_dict_post_hook(lambda mod, sd, prefix, meta: sd.pop("bias"))
    with pytest.raises(RuntimeError, match="state_dict post-hook must return None"):
        lin.state_dict()  # pop returns the tensor, which the public hook API forbids
    assert seen == [""]


def test_extra_state():
    class WithExtra(nn.Module):
        def __init__(self):
            super().__init__()
            self.value = 1

        def get_extra_state(self):
            return {"value": self.value}

        def set_extra_state(self, state):
            self.value = state["value"]

    src, dst = WithExtra(), WithExtra()
    src.value = 7
    sd = src.state_dict()
    assert list(sd) == ["_extra_state"]
    dst.load_state_dict(sd)
    assert dst.value == 7


# ---------------------------------------------------------------------------
# hooks
# ---------------------------------------------------------------------------


def test_forward_pre_hook_and_forward_hook():
    lin = fixed_linear(1, 2, bias=False)  # y = 0.1 * x1
    calls = []
    h1 = lin.register_forward_pre_hook(lambda m, args: (args[0] * 2,))
    h2 = lin.register_forward_hook(lambda m, args, out: calls.append(N(args[0]).tolist()) or out + 1)
    out = lin(rg.tensor([[1.0, 1.0]]))
    assert calls == [[[2.0, 2.0]]]
    np.testing.assert_allclose(N(out), [[1.2]], rtol=1e-6)
    h1.remove()
    h2.remove()
    h2.remove()  # removing twice is harmless
    np.testing.assert_allclose(N(lin(rg.tensor([[1.0, 1.0]]))), [[0.1]], rtol=1e-6)


def test_forward_pre_hook_single_value_is_wrapped():
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1)
    assert m(rg.tensor(1.0)).item() == 2.0


def test_hooks_with_kwargs_and_prepend():
    class Add(nn.Module):
        def forward(self, x, *, y=0):
            return x + y

    m = Add()
    order = []
    m.register_forward_pre_hook(lambda mod, a, kw: (a, {"y": kw["y"] * 10}), with_kwargs=True)
    m.register_forward_hook(lambda mod, a, kw, out: order.append("second") or out + kw["y"], with_kwargs=True)
    m.register_forward_hook(lambda mod, a, out: order.append("first"), prepend=True)
    assert m(rg.tensor(1.0), y=2).item() == 41.0
    assert order == ["first", "second"]


def test_bad_pre_hook_with_kwargs_result():
    m = nn.Identity()
    m.register_forward_pre_hook(lambda mod, a, kw: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match=r"^forward pre-hook must return None or a tuple of "
                                           r"\(new_args, new_kwargs\), but got 3.$"):
        m(rg.ones(1))


def test_always_call_hook_runs_when_forward_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise ValueError("boom")

    m = Boom()
    calls = []
    m.register_forward_hook(lambda mod, a, out: calls.append("always"), always_call=True)
    m.register_forward_hook(lambda mod, a, out: calls.append("normal"))
    with pytest.raises(ValueError, match="boom"):
        m(rg.ones(1))
    assert calls == ["always"]


def test_handle_as_context_manager():
    m = nn.Identity()
    with m.register_forward_hook(lambda mod, a, out: out * 3):
        assert m(rg.tensor(1.0)).item() == 3.0
    assert m(rg.tensor(1.0)).item() == 1.0


def test_full_backward_hook_sees_and_replaces_grads():
    lin = fixed_linear(2, 3, bias=False)
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["in"] = [N(g) for g in grad_input]
        seen["out"] = [N(g) for g in grad_output]
        return (grad_input[0] * 0 + 1,)

    lin.register_full_backward_hook(hook)
    x = rg.ones(4, 3, requires_grad=True)
    lin(x).sum().backward()
    w = N(lin.weight)
    np.testing.assert_allclose(seen["out"][0], np.ones((4, 2)))
    np.testing.assert_allclose(seen["in"][0], np.ones((4, 2)) @ w, rtol=1e-6)
    np.testing.assert_allclose(N(x.grad), np.ones((4, 3)))  # replaced by the hook
    np.testing.assert_allclose(N(lin.weight.grad), np.full((2, 3), 4.0))  # parameters unaffected


def test_full_backward_hooks_with_several_inputs_and_outputs():
    class TwoOut(nn.Module):
        def forward(self, a, k, b):
            return a * b * k, a + b

    m = TwoOut()
    log = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", [N(g).tolist() for g in go])))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(
        ("hook", [None if g is None else N(g).tolist() for g in gi], [N(g).tolist() for g in go])))
    a = rg.tensor([1.0, 2.0], requires_grad=True)
    b = rg.tensor([3.0, 4.0])  # does not require grad: a zero gradient, as in PyTorch
    x, y = m(a, 2.0, b)
    (x.sum() + 2 * y.sum()).backward()
    assert log == [("pre", [[1.0, 1.0], [2.0, 2.0]]),
                   ("hook", [[8.0, 10.0], None, [0.0, 0.0]], [[1.0, 1.0], [2.0, 2.0]])]
    assert N(a.grad).tolist() == [8.0, 10.0]


def test_full_backward_pre_hook_replaces_grad_output():
    lin = fixed_linear(1, 2, bias=False)
    lin.register_full_backward_pre_hook(lambda mod, g: (g[0] * 3,))
    x = rg.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(N(lin.weight.grad), [[3.0, 3.0]])
    np.testing.assert_allclose(N(x.grad), 3 * N(lin.weight), rtol=1e-6)


def test_full_backward_hook_when_no_input_requires_grad():
    lin = fixed_linear(1, 2)
    seen = []
    lin.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, N(go[0]).tolist())))
    with pytest.warns(UserWarning, match="Full backward hook is firing when gradients are computed with "
                                         "respect to module outputs"):
        lin(rg.ones(1, 2)).sum().backward()
    assert seen == [((None,), [[1.0]])]


def test_full_and_regular_backward_hooks_do_not_mix():
    lin = nn.Linear(1, 1)
    lin.register_full_backward_hook(lambda *a: None)
    with pytest.raises(RuntimeError, match="^Cannot use both regular backward hooks and full backward hooks"):
        lin.register_backward_hook(lambda *a: None)


def test_global_forward_hook():
    seen = []
    handle = nn.modules.module.register_module_forward_hook(lambda m, a, out: seen.append(type(m).__name__))
    try:
        nn.Sequential(nn.ReLU())(rg.ones(1))
    finally:
        handle.remove()
    nn.ReLU()(rg.ones(1))
    assert seen == ["ReLU", "Sequential"]


# ---------------------------------------------------------------------------
# conversion
# ---------------------------------------------------------------------------


def test_double_and_to_keep_parameter_identity():
    lin = fixed_linear(2, 3)
    lin.register_buffer("count", rg.zeros(1, dtype=rg.int64))
    lin(rg.ones(1, 3)).sum().backward()
    weight = lin.weight
    assert lin.double() is lin
    assert lin.weight is weight and isinstance(weight, nn.Parameter)
    assert weight.dtype == rg.float64 and weight.grad.dtype == rg.float64 and weight.requires_grad
    assert lin.count.dtype == rg.int64  # only floating tensors change
    np.testing.assert_allclose(N(weight), np.arange(6).reshape(2, 3) * 0.1, rtol=1e-6)
    lin.to(rg.float32)
    assert lin.weight is weight and weight.dtype == rg.float32
    lin.to(rg.ones(1, dtype=rg.float64))
    assert weight.dtype == rg.float64
    lin.to("cpu", dtype=rg.float16)
    assert weight.dtype == rg.float16
    lin.float()
    assert weight.dtype == rg.float32
    lin.type(rg.float64)
    assert weight.dtype == rg.float64 and lin.count.dtype == rg.float64  # type() casts everything
    lin.cpu()
    assert lin.weight is weight


def test_to_rejects_integer_dtype():
    with pytest.raises(TypeError, match=r"^nn.Module.to only accepts floating point or complex dtypes, "
                                        r"but got desired dtype=torch.int64$"):
        nn.Linear(1, 1).to(rg.int64)


def test_cuda_raises_like_tensor_cuda():
    t = rg.ones(1)
    try:
        t.cuda()
    except Exception as e:  # noqa: BLE001
        expected = (type(e), str(e))
    else:
        pytest.skip("a CUDA device is available")
    with pytest.raises(expected[0]) as info:
        nn.Linear(1, 1).cuda()
    assert str(info.value) == expected[1]


def test_deepcopy_model():
    net = Net()
    twin = copy.deepcopy(net)
    assert repr(twin) == NET_REPR
    for (n1, p1), (n2, p2) in zip(net.named_parameters(), twin.named_parameters()):
        assert n1 == n2 and p1 is not p2 and isinstance(p2, nn.Parameter)
        np.testing.assert_array_equal(N(p1), N(p2))
    with rg.no_grad():
        twin.scale.fill_(9.0)
    assert net.scale.item() == 1.0


def test_pickle_model():
    net = Net()
    back = pickle.loads(pickle.dumps(net))
    assert repr(back) == NET_REPR and list(back.state_dict()) == NET_KEYS
    np.testing.assert_array_equal(N(back.enc[0].weight), N(net.enc[0].weight))


def test_share_memory_returns_self():
    lin = nn.Linear(1, 1)
    assert lin.share_memory() is lin


# ---------------------------------------------------------------------------
# reprs (strings copied from PyTorch's output)
# ---------------------------------------------------------------------------


def test_nested_repr():
    assert repr(Net()) == NET_REPR


def test_extra_repr_multiline_and_empty():
    class Multi(nn.Module):
        def extra_repr(self):
            return "a=1\nb=2"

    assert repr(Multi()) == "Multi(\n  a=1\n  b=2\n)"
    assert repr(nn.Module()) == "Module()"


def test_parameter_container_reprs():
    pl = nn.ParameterList([nn.Parameter(rg.ones(2, 3)), rg.zeros(4, dtype=rg.float64)])
    assert repr(pl) == ("ParameterList(\n    (0): Parameter containing: [torch.float32 of size 2x3]\n"
                        "    (1): Parameter containing: [torch.float64 of size 4]\n)")
    pd = nn.ParameterDict({"b": rg.ones(2), "a": nn.Parameter(rg.ones(3, 1))})
    assert repr(pd) == ("ParameterDict(\n    (a): Parameter containing: [torch.FloatTensor of size 3x1]\n"
                        "    (b): Parameter containing: [torch.FloatTensor of size 2]\n)")
    assert repr(nn.ModuleList()) == "ModuleList()" and repr(nn.Sequential()) == "Sequential()"


def test_reprs_match_pytorch(torch):
    def build(lib):
        nn_ = lib.nn
        return nn_.Sequential(OrderedDict([
            ("flat", nn_.Flatten()),
            ("lin", nn_.Linear(6, 3, bias=False)),
            ("acts", nn_.ModuleList([nn_.LeakyReLU(0.2), nn_.LeakyReLU(0.2), nn_.ELU(inplace=True)])),
            ("more", nn_.ModuleDict({"sm": nn_.LogSoftmax(dim=-1), "bil": nn_.Bilinear(2, 3, 4)})),
        ]))

    assert repr(build(rg)) == repr(build(torch))


# ---------------------------------------------------------------------------
# Sequential
# ---------------------------------------------------------------------------


def test_sequential_forward_and_indexing():
    l1, act, l2 = fixed_linear(3, 2), nn.ReLU(), fixed_linear(1, 3)
    seq = nn.Sequential(l1, act, l2)
    x = rg.tensor([[1.0, -2.0]])
    np.testing.assert_allclose(N(seq(x)), N(l2(act(l1(x)))))
    assert seq[0] is l1 and seq[-1] is l2 and seq[-3] is l1 and len(seq) == 3
    assert list(seq) == [l1, act, l2]
    with pytest.raises(IndexError, match="^index 3 is out of range$"):
        seq[3]
    with pytest.raises(IndexError, match="^index -4 is out of range$"):
        seq[-4]
    sub = seq[1:]
    assert type(sub) is nn.Sequential and list(sub._modules) == ["1", "2"] and sub[0] is act
    assert list(seq[::-1]) == [l2, act, l1]


def test_sequential_ordered_dict_constructor():
    seq = nn.Sequential(OrderedDict([("conv", nn.Identity()), ("act", nn.ReLU())]))
    assert list(seq._modules) == ["conv", "act"] and seq.act is seq[1]
    assert repr(seq) == "Sequential(\n  (conv): Identity()\n  (act): ReLU()\n)"


def test_sequential_mutation():
    a, b, c, d = nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity()
    seq = nn.Sequential(a, b)
    assert seq.append(c) is seq and list(seq) == [a, b, c]
    seq.insert(1, d)
    assert list(seq) == [a, d, b, c] and list(seq._modules) == ["0", "1", "2", "3"]
    seq.insert(-1, a)
    assert list(seq) == [a, d, b, a, c]
    with pytest.raises(IndexError, match="^Index out of range: 9$"):
        seq.insert(9, a)
    assert seq.pop(1) is d and list(seq) == [a, b, a, c]
    del seq[0]
    assert list(seq) == [b, a, c] and list(seq._modules) == ["0", "1", "2"]
    del seq[1:]
    assert list(seq) == [b]
    seq[0] = c
    assert list(seq) == [c]
    seq.extend([a, b])
    assert list(seq) == [c, a, b]


def test_sequential_arithmetic():
    a, b = nn.ReLU(), nn.Tanh()
    s1, s2 = nn.Sequential(a), nn.Sequential(b)
    assert list(s1 + s2) == [a, b]
    assert list(s1 * 3) == [a, a, a] and list(2 * s2) == [b, b]
    s1 += s2
    assert list(s1) == [a, b]
    with pytest.raises(ValueError, match="add operator supports only objects of Sequential class"):
        s1 + nn.ReLU()
    with pytest.raises(ValueError, match="^Non-positive multiplication factor 0 for"):
        s1 * 0


# ---------------------------------------------------------------------------
# ModuleList / ModuleDict / ParameterList / ParameterDict
# ---------------------------------------------------------------------------


def test_module_list():
    a, b, c = nn.ReLU(), nn.Tanh(), nn.Sigmoid()
    ml = nn.ModuleList([a, b])
    ml.append(c)
    assert list(ml) == [a, b, c] and ml[-1] is c and len(ml) == 3
    assert type(ml[:2]) is nn.ModuleList and list(ml[:2]) == [a, b]
    ml.insert(0, c)
    assert list(ml) == [c, a, b, c]
    del ml[0]
    assert list(ml._modules) == ["0", "1", "2"]
    ml[1] = a
    assert list(ml + nn.ModuleList([b])) == [a, a, c, b]
    assert ml.pop(0) is a and len(ml) == 2
    with pytest.raises(TypeError, match="^ModuleList.extend should be called with an iterable, but got ReLU$"):
        ml.extend(nn.ReLU())
    with pytest.raises(IndexError, match="^index 5 is out of range$"):
        ml[5]


def test_module_list_registers_parameters():
    ml = nn.ModuleList([nn.Linear(1, 2), nn.Linear(2, 1)])
    assert [n for n, _ in ml.named_parameters()] == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_module_dict():
    a, b = nn.ReLU(), nn.Tanh()
    md = nn.ModuleDict([("x", a), ("y", b)])
    assert list(md) == ["x", "y"] and md["y"] is b and "x" in md and len(md) == 2
    assert list(md.keys()) == ["x", "y"] and list(md.values()) == [a, b]
    md.update({"z": a})
    assert md.pop("x") is a and list(md) == ["y", "z"]
    md.clear()
    assert len(md) == 0
    with pytest.raises(ValueError, match="^ModuleDict update sequence element #0 has length 3; 2 is required$"):
        md.update([("a", a, b)])


def test_parameter_list():
    pl = nn.ParameterList([rg.ones(2), nn.Parameter(rg.zeros(1))])
    assert all(isinstance(p, nn.Parameter) for p in pl) and len(pl) == 2
    assert [n for n, _ in pl.named_parameters()] == ["0", "1"]
    pl.append(rg.ones(3))
    assert pl[-1].shape == (3,) and isinstance(pl[2], nn.Parameter)
    assert type(pl[1:]) is nn.ParameterList and len(pl[1:]) == 2
    with pytest.raises(RuntimeError, match="^ParameterList should not be called.$"):
        pl(1)
    with pytest.raises(TypeError, match="^ParameterList.extend should be called with an iterable, but got Tensor$"):
        pl.extend(rg.ones(2))


def test_parameter_dict():
    pd = nn.ParameterDict({"b": rg.ones(2), "a": rg.zeros(1)})
    assert list(pd) == ["a", "b"]  # plain dicts are inserted sorted, as in PyTorch
    assert isinstance(pd["a"], nn.Parameter) and "b" in pd and pd.get("c") is None
    pd["c"] = rg.ones(3)
    assert [n for n, _ in pd.named_parameters()] == ["a", "b", "c"]
    assert pd.pop("a").shape == (1,) and list(pd.keys()) == ["b", "c"]
    k, v = pd.popitem()
    assert k == "c" and v.shape == (3,)
    merged = pd | nn.ParameterDict({"z": rg.ones(1)})
    assert list(merged) == ["b", "z"]
    with pytest.raises(TypeError, match="^Index given to ParameterDict cannot be used as a key"):
        pd[1]
    with pytest.raises(RuntimeError, match="^ParameterDict should not be called.$"):
        pd(1)


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def test_state_dict_keys_and_errors_match_pytorch(torch):
    def build(lib):
        nn_ = lib.nn
        m = nn_.Sequential(nn_.Linear(2, 3), nn_.ModuleList([nn_.Linear(3, 1), nn_.PReLU()]))
        m.register_buffer("b", lib.zeros(2))
        m.register_buffer("hidden", lib.zeros(2), persistent=False)
        return m

    mine, ref = build(rg), build(torch)
    assert list(mine.state_dict()) == list(ref.state_dict())
    assert list(mine.state_dict()._metadata) == list(ref.state_dict()._metadata)
    bad = {"0.weight": (3, 3), "1.0.bias": (1,), "1.5.weight": (1,), "zz": (2,)}
    r = raises_same(lambda: mine.load_state_dict({k: rg.zeros(*s) for k, s in bad.items()}),
                    lambda: ref.load_state_dict({k: torch.zeros(*s) for k, s in bad.items()}))
    assert r[0] == r[1]
    r = raises_same(lambda: mine.load_state_dict({k: rg.zeros(*s) for k, s in bad.items()}, strict=False),
                    lambda: ref.load_state_dict({k: torch.zeros(*s) for k, s in bad.items()}, strict=False))
    assert r[0] == r[1]
