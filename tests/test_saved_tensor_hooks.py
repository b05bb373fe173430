"""``torch.autograd.graph.saved_tensors_hooks(pack, unpack)``: pack runs
when autograd saves a tensor, unpack when backward needs it; also for
custom Functions' ``save_for_backward``."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N


def hooks(pack, unpack):
    return rg.autograd.graph.saved_tensors_hooks(pack, unpack)


def message(excinfo):
    return str(excinfo.value)


class Log:
    """pack/unpack hooks that record what they see."""

    def __init__(self):
        self.events = []

    def pack(self, t):
        self.events.append(("pack", N(t).tolist()))
        return t * 1

    def unpack(self, t):
        self.events.append(("unpack", N(t).tolist()))
        return t

    def kinds(self):
        return [k for k, _ in self.events]


def test_pack_at_save_time_unpack_at_backward():
    log = Log()
    x = rg.tensor([1.0, 2.0], dtype=rg.float64, requires_grad=True)
    with hooks(log.pack, log.unpack):
        y = x.sin()                       # saves x
        assert log.events == [("pack", [1.0, 2.0])]
        z = (y * y).sum()                 # saves y twice
    assert log.kinds() == ["pack"] * 3
    log.events.clear()
    z.backward()
    assert log.kinds() == ["unpack"] * 3
    assert sorted(v for _, v in log.events) == sorted([[1.0, 2.0]] + [np.sin([1.0, 2.0]).tolist()] * 2)
    np.testing.assert_allclose(N(x.grad), 2 * np.sin([1.0, 2.0]) * np.cos([1.0, 2.0]), rtol=1e-12)


def test_hooks_are_not_active_outside_the_block():
    log = Log()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(log.pack, log.unpack):
        pass
    (x * x).sum().backward()
    assert log.events == []


def test_graph_built_inside_still_uses_unpack_after_the_block():
    log = Log()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(log.pack, log.unpack):
        y = x.exp().sum()
    y.backward()
    assert log.kinds() == ["pack", "unpack"]


def test_pack_may_return_any_object():
    # the docs' example: pack to something else, unpack back to a tensor
    def pack(t):
        return ("key", t.detach().clone())

    def unpack(packed):
        assert packed[0] == "key"
        return packed[1]

    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(pack, unpack):
        y = x ** 2
    y.sum().backward()
    assert N(x.grad).tolist() == [2.0, 4.0]


def test_unpack_result_is_what_backward_uses():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: t, lambda t: t * 10):
        y = x * x
    y.sum().backward()
    assert N(x.grad).tolist() == [20.0, 40.0]         # x*10 + x*10


def test_pack_is_called_once_per_saved_tensor():
    calls = []
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: (calls.append(1), t)[1], lambda t: t):
        x * x                                          # self and other
    assert len(calls) == 2


def test_pack_not_called_when_nothing_is_saved():
    calls = []
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: (calls.append(1), t)[1], lambda t: t):
        with rg.no_grad():
            x * x
        rg.ones(2) * rg.ones(2)                        # no grad: nothing saved
        x * 3                                          # saves no tensor
        x + x
    assert calls == []


def test_unpack_runs_on_every_backward_of_a_retained_graph():
    log = Log()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(log.pack, log.unpack):
        y = x.exp().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert log.kinds() == ["pack", "unpack", "unpack"]


def test_packed_copy_hides_later_inplace_changes():
    # pack clones, so the saved value is the one at save time
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: t.clone(), lambda t: t):
        h = x * 1
        y = h * h
    h.add_(100)
    y.sum().backward()
    assert N(x.grad).tolist() == [2.0, 4.0]


def test_hooks_run_with_grad_disabled():
    modes = []
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: (modes.append(rg.is_grad_enabled()), t)[1],
               lambda t: (modes.append(rg.is_grad_enabled()), t)[1]):
        y = x.exp()
    y.sum().backward()
    assert modes == [False, False]


def test_inner_hooks_win_when_nested():
    seen = []
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: (seen.append("outer"), t)[1], lambda t: t):
        with hooks(lambda t: (seen.append("inner"), t)[1], lambda t: t):
            x.exp()
        x.exp()
    assert seen == ["inner", "outer"]


def test_saved_tensor_attribute_goes_through_unpack():
    log = Log()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(log.pack, log.unpack):
        y = x.sin()
    assert log.kinds() == ["pack"]
    assert N(y.grad_fn._saved_self).tolist() == [1.0, 2.0]
    assert log.kinds() == ["pack", "unpack"]


def test_hooks_apply_to_custom_function_saved_tensors():
    class Square(rg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a ** 2

        @staticmethod
        def backward(ctx, g):
            (a,) = ctx.saved_tensors
            return 2 * a * g

    log = Log()
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(log.pack, log.unpack):
        y = Square.apply(x)
    assert log.events == [("pack", [1.0, 2.0])]
    y.sum().backward()
    assert log.events == [("pack", [1.0, 2.0]), ("unpack", [1.0, 2.0])]
    assert N(x.grad).tolist() == [2.0, 4.0]


def test_unpack_must_return_a_tensor():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    with hooks(lambda t: t, lambda t: 5):
        y = x * x
    with pytest.raises(TypeError) as e:
        y.sum().backward()
    assert message(e) == "Output of saved tensor unpack_hook expected to be a Tensor but got result of type int"


def test_disable_saved_tensors_hooks():
    with rg.autograd.graph.disable_saved_tensors_hooks("no hooks here"):
        with pytest.raises(RuntimeError) as e:
            with hooks(lambda t: t, lambda t: t):
                pass
    assert message(e) == "no hooks here"
    with hooks(lambda t: t, lambda t: t):
        pass
