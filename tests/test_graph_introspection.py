"""Graph introspection: ``grad_fn`` node classes and names, identity of
``grad_fn``/``.grad``, ``next_functions``, ``AccumulateGrad`` and its
``.variable``, ``metadata``, ``torch.autograd.graph.Node``."""

import gc

import pytest

import rustgrad as rg
from conftest import N


def node_name(t):
    return type(t.grad_fn).__name__


# ---------------------------------------------------------------------------
# node classes and names
# ---------------------------------------------------------------------------

def test_grad_fn_class_name_and_name():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    assert type(y.grad_fn).__name__ == "MulBackward0"
    assert y.grad_fn.name() == "MulBackward0"


@pytest.mark.parametrize("f,name", [
    (lambda x: x + 1, "AddBackward0"),
    (lambda x: 1 + x, "AddBackward0"),
    (lambda x: x - 1, "SubBackward0"),
    (lambda x: 1 - x, "RsubBackward1"),
    (lambda x: x * 2, "MulBackward0"),
    (lambda x: x / 2, "DivBackward0"),
    (lambda x: x ** 2, "PowBackward0"),
    (lambda x: 2 ** x, "PowBackward2"),
    (lambda x: x ** x, "PowBackward1"),
    (lambda x: -x, "NegBackward0"),
    (lambda x: x.sin(), "SinBackward0"),
    (lambda x: x.cos(), "CosBackward0"),
    (lambda x: x.exp(), "ExpBackward0"),
    (lambda x: x.log(), "LogBackward0"),
    (lambda x: x.log1p(), "Log1PBackward0"),
    (lambda x: x.sqrt(), "SqrtBackward0"),
    (lambda x: x.tanh(), "TanhBackward0"),
    (lambda x: x.sigmoid(), "SigmoidBackward0"),
    (lambda x: x.relu(), "ReluBackward0"),
    (lambda x: x.abs(), "AbsBackward0"),
    (lambda x: x.sign(), "SignBackward0"),
    (lambda x: x.reciprocal(), "ReciprocalBackward0"),
    (lambda x: x.sum(), "SumBackward0"),
    (lambda x: x.sum(0), "SumBackward1"),
    (lambda x: x.mean(), "MeanBackward0"),
    (lambda x: x.mean(0), "MeanBackward1"),
    (lambda x: x.clone(), "CloneBackward0"),
    (lambda x: x.reshape(2, 1), "ViewBackward0"),
    (lambda x: x.view(2, 1), "ViewBackward0"),
    (lambda x: x.unsqueeze(0), "UnsqueezeBackward0"),
    (lambda x: x[None], "UnsqueezeBackward0"),
    (lambda x: x.reshape(1, 2).squeeze(), "SqueezeBackward0"),
    (lambda x: x.reshape(1, 2).squeeze(0), "SqueezeBackward1"),
    (lambda x: x.expand(3, 2), "ExpandBackward0"),
    (lambda x: x.reshape(1, 2).t(), "TBackward0"),
    (lambda x: x.reshape(1, 2).transpose(0, 1), "TransposeBackward0"),
    (lambda x: x[0], "SelectBackward0"),
    (lambda x: x[0:1], "SliceBackward0"),
    (lambda x: x @ x, "DotBackward0"),
    (lambda x: x.reshape(2, 1) @ x.reshape(1, 2), "MmBackward0"),
    (lambda x: x.reshape(2, 1).mm(x.reshape(1, 2)), "MmBackward0"),
    (lambda x: x.reshape(1, 2).expand(2, 2) @ x, "MvBackward0"),
    (lambda x: x.masked_fill(x > 1, 0.0), "MaskedFillBackward0"),
    (lambda x: x.double(), "ToCopyBackward0"),
])
def test_node_names(f, name):
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = f(x)
    assert type(y.grad_fn).__name__ == name
    assert y.grad_fn.name() == name


def test_leaves_and_untracked_results_have_no_grad_fn():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    assert x.grad_fn is None and c.grad_fn is None
    assert (c * 2).grad_fn is None
    assert x.detach().grad_fn is None
    with rg.no_grad():
        assert (x * 2).grad_fn is None


# ---------------------------------------------------------------------------
# identity
# ---------------------------------------------------------------------------

def test_grad_fn_is_the_same_object_each_time():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert y.grad_fn is y.grad_fn
    assert hash(y.grad_fn) == hash(y.grad_fn)
    assert y.grad_fn == y.grad_fn


def test_grad_is_the_same_object_each_time():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    (x * 2).sum().backward()
    assert x.grad is x.grad


def test_next_function_nodes_are_shared_objects():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    z = (x * x).sum()
    mul = z.grad_fn.next_functions[0][0]
    assert mul is z.grad_fn.next_functions[0][0]
    assert type(mul).__name__ == "MulBackward0"


# ---------------------------------------------------------------------------
# next_functions and AccumulateGrad
# ---------------------------------------------------------------------------

def test_next_functions_with_a_constant_operand():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    nf = (x * c).grad_fn.next_functions
    assert type(nf) is tuple and len(nf) == 2
    assert type(nf[0]) is tuple and len(nf[0]) == 2
    acc, nr = nf[0]
    assert type(acc).__name__ == "AccumulateGrad" and nr == 0
    assert nf[1] == (None, 0)
    nf = (c * x).grad_fn.next_functions
    assert nf[0] == (None, 0) and type(nf[1][0]).__name__ == "AccumulateGrad"


def test_accumulate_grad_variable_is_the_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    acc = (x * 2).grad_fn.next_functions[0][0]
    assert acc.variable is x
    assert acc.name() == "torch::autograd::AccumulateGrad"
    assert acc.next_functions == ()


def test_one_accumulate_grad_per_leaf():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x + x
    (a0, _), (a1, _) = y.grad_fn.next_functions
    assert a0 is a1
    assert (x * 2).grad_fn.next_functions[0][0] is (x * 3).grad_fn.next_functions[0][0]


def test_two_leaves_get_their_own_accumulate_grad():
    a = rg.ones(2, requires_grad=True)
    b = rg.ones(2, requires_grad=True)
    nf = (a * b).grad_fn.next_functions
    assert nf[0][0].variable is a and nf[1][0].variable is b
    assert nf[0][0] is not nf[1][0]


def test_walking_a_chain():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    w = x.sin().exp().sum()
    names = []
    node = w.grad_fn
    while node is not None:
        names.append(type(node).__name__)
        node = node.next_functions[0][0] if node.next_functions else None
    assert names == ["SumBackward0", "ExpBackward0", "SinBackward0", "AccumulateGrad"]


def test_next_functions_skip_untracked_intermediates():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    p = rg.ones(2)
    r = (x * p) * p
    nf = r.grad_fn.next_functions
    assert type(nf[0][0]).__name__ == "MulBackward0" and nf[1] == (None, 0)


# ---------------------------------------------------------------------------
# metadata, Node
# ---------------------------------------------------------------------------

def test_metadata_is_a_dict_that_persists():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    md = y.grad_fn.metadata
    assert type(md) is dict and md == {}
    md["k"] = 1
    assert y.grad_fn.metadata == {"k": 1}
    assert y.grad_fn.metadata is md


def test_metadata_survives_losing_the_python_node_object():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    y.grad_fn.metadata["a"] = 1
    gc.collect()
    assert y.grad_fn.metadata == {"a": 1}


def test_nodes_are_autograd_graph_nodes():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    Node = rg.autograd.graph.Node
    assert isinstance(y.grad_fn, Node)
    assert isinstance(y.grad_fn.next_functions[0][0], Node)
    assert issubclass(type(y.grad_fn), Node)
    assert not isinstance(x, Node)


def test_node_cannot_be_instantiated():
    with pytest.raises(TypeError):
        rg.autograd.graph.Node()


def test_grad_fn_keeps_the_graph_alive():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    g = (x * 2).grad_fn
    gc.collect()
    assert g.name() == "MulBackward0"
    assert g.next_functions[0][0].variable is x


def test_node_repr_names_the_class():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    assert repr((x * 2).grad_fn).startswith("<MulBackward0 object at 0x")
    assert repr((x * 2).grad_fn.next_functions[0][0]).startswith("<AccumulateGrad object at 0x")


def test_version_of_leaf_and_result():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    assert x._version == 0 and y._version == 0
    y.add_(1)
    assert y._version == 1 and x._version == 0
    assert type(y.grad_fn).__name__ == "AddBackward0"
    assert N(y).tolist() == [3.0, 5.0]


# A Python number is an input of the node PyTorch records for add, sub, mul
# and div (it wraps the number as a tensor), so it shows as (None, 0); rsub
# and pow take it as a plain argument.
@pytest.mark.parametrize("make,name,inputs", [
    (lambda x: x * 2, "MulBackward0", ["AccumulateGrad", None]),
    (lambda x: 2 * x, "MulBackward0", ["AccumulateGrad", None]),
    (lambda x: x + 1, "AddBackward0", ["AccumulateGrad", None]),
    (lambda x: 1 + x, "AddBackward0", ["AccumulateGrad", None]),
    (lambda x: x - 1, "SubBackward0", ["AccumulateGrad", None]),
    (lambda x: 1 - x, "RsubBackward1", ["AccumulateGrad"]),
    (lambda x: x / 2, "DivBackward0", ["AccumulateGrad", None]),
    (lambda x: 2 / x, "MulBackward0", ["ReciprocalBackward0", None]),
    (lambda x: x ** 2, "PowBackward0", ["AccumulateGrad"]),
    (lambda x: x * x, "MulBackward0", ["AccumulateGrad", "AccumulateGrad"]),
])
def test_next_functions_with_python_numbers(make, name, inputs):
    y = make(rg.ones(2, requires_grad=True))
    assert type(y.grad_fn).__name__ == name
    assert [None if f is None else type(f).__name__ for f, _ in y.grad_fn.next_functions] == inputs
    y.sum().backward()
