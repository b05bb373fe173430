"""Backward hooks: ``Tensor.register_hook``, ``register_post_accumulate_grad_hook``,
``Node.register_hook`` / ``register_prehook``, removable handles, hook
errors, and the order PyTorch runs them in."""

import pytest

import rustgrad as rg
from conftest import N


def message(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# Tensor.register_hook
# ---------------------------------------------------------------------------

def test_leaf_hook_replaces_the_gradient():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    assert N(x.grad).tolist() == [6.0, 6.0]


def test_handle_remove_stops_the_hook():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 2)
    h.remove()
    (x * 3).sum().backward()
    assert N(x.grad).tolist() == [3.0, 3.0]
    h.remove()                                       # removing twice is fine


def test_handle_is_a_context_manager_that_removes():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    with y.register_hook(lambda g: g * 2):
        pass
    y.sum().backward()
    assert N(x.grad).tolist() == [3.0, 4.0]


def test_non_leaf_hook_sees_and_replaces_the_gradient_flowing_on():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    seen = []
    y.register_hook(lambda g: seen.append(N(g).tolist()))      # returns None: unchanged
    y.register_hook(lambda g: g * 10)
    (y * y).sum().backward()
    assert seen == [[4.0, 8.0]]                                # 2y
    assert N(x.grad).tolist() == [80.0, 160.0]


def test_hooks_run_in_registration_order_each_seeing_the_last_result():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    z = x * 2
    order = []

    def first(g):
        order.append(("first", N(g).tolist()))
        return g + 1

    def second(g):
        order.append(("second", N(g).tolist()))
        return g * 10

    z.register_hook(first)
    z.register_hook(second)
    z.sum().backward()
    assert order == [("first", [1.0, 1.0]), ("second", [2.0, 2.0])]
    assert N(x.grad).tolist() == [40.0, 40.0]


def test_removing_one_of_two_hooks():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    h1 = y.register_hook(lambda g: g * 2)
    y.register_hook(lambda g: g * 3)
    h1.remove()
    y.sum().backward()
    assert N(x.grad).tolist() == [9.0, 12.0]


def test_leaf_hook_sees_the_summed_gradient_once():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    x.register_hook(lambda g: seen.append(N(g).tolist()))
    (x * rg.tensor([3.0, 4.0]) + x * x).sum().backward()
    assert seen == [[5.0, 8.0]]
    assert N(x.grad).tolist() == [5.0, 8.0]


def test_hook_runs_on_every_backward():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = (x * 3).sum()
    calls = []
    x.register_hook(lambda g: calls.append(1))
    y.backward(retain_graph=True)
    y.backward()
    assert len(calls) == 2


def test_hooks_apply_to_autograd_grad():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    h = x.register_hook(lambda g: g * 5)
    assert N(rg.autograd.grad((x * c).sum(), x)[0]).tolist() == [15.0, 20.0]
    h.remove()
    y = x * c
    y.register_hook(lambda g: g * 7)
    assert N(rg.autograd.grad(y.sum(), x)[0]).tolist() == [21.0, 28.0]
    assert x.grad is None


def test_hook_on_tensor_not_requiring_grad_raises():
    with pytest.raises(RuntimeError) as e:
        rg.ones(2).register_hook(lambda g: g)
    assert message(e) == "cannot register a hook on a tensor that doesn't require gradient"


def test_hook_changing_the_size_raises_naming_the_hook():
    def myhook(g):
        return rg.ones(3)

    x = rg.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(myhook)
    with pytest.raises(RuntimeError) as e:
        (x * 3).sum().backward()
    assert message(e) == "hook 'myhook' has changed the size of value"
    y = rg.tensor([1.0, 2.0], requires_grad=True)
    z = y * 2
    z.register_hook(lambda g: rg.ones(3))
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    assert message(e) == "hook '<lambda>' has changed the size of value"


def test_hook_changing_the_dtype_raises():
    y = rg.tensor([1.0, 2.0], requires_grad=True)
    z = y * 2
    z.register_hook(lambda g: rg.ones(2, dtype=rg.float64))
    with pytest.raises(RuntimeError) as e:
        z.sum().backward()
    assert message(e) == ("hook '<lambda>' has changed the type of value "
                          "(was torch.FloatTensor got torch.DoubleTensor)")


def test_hook_returning_a_non_tensor_raises():
    y = rg.tensor([1.0, 2.0], requires_grad=True)
    z = y * 2
    z.register_hook(lambda g: 3)
    with pytest.raises(TypeError) as e:
        z.sum().backward()
    assert message(e) == "expected Variable, but hook returned 'int'"


def test_hook_error_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        def myhook(g):
            return m.ones(3)
        x = m.tensor([1.0, 2.0], requires_grad=True)
        x.register_hook(myhook)
        with pytest.raises(RuntimeError) as e:
            (x * 3).sum().backward()
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


# ---------------------------------------------------------------------------
# register_post_accumulate_grad_hook
# ---------------------------------------------------------------------------

def test_post_accumulate_grad_hook_gets_the_tensor_after_grad_update():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    h = w.register_post_accumulate_grad_hook(lambda t: calls.append((t is w, N(t.grad).tolist())))
    (w * 3).sum().backward()
    (w * 3).sum().backward()
    assert calls == [(True, [3.0, 3.0]), (True, [6.0, 6.0])]
    h.remove()
    (w * 3).sum().backward()
    assert len(calls) == 2


def test_post_accumulate_grad_hook_sees_tensor_hook_results():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    w.register_post_accumulate_grad_hook(lambda t: seen.append(N(t.grad).tolist()))
    w.register_hook(lambda g: g * 100)
    (w * 1).sum().backward()
    assert seen == [[100.0, 100.0]]


def test_post_accumulate_grad_hook_can_step_and_clear():
    w = rg.tensor([1.0, 2.0], requires_grad=True)

    def step(t):
        with rg.no_grad():
            t.sub_(0.5 * t.grad)
        t.grad = None

    w.register_post_accumulate_grad_hook(step)
    (w * w).sum().backward()
    assert N(w).tolist() == [0.0, 0.0] and w.grad is None


def test_post_accumulate_grad_hook_not_called_by_autograd_grad():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    w.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    rg.autograd.grad((w * 2).sum(), w)
    assert calls == []


def test_post_accumulate_grad_hook_must_return_none():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    w.register_post_accumulate_grad_hook(lambda t: rg.zeros(2))
    with pytest.raises(RuntimeError) as e:
        (w * 3).sum().backward()
    assert message(e) == "Tensor post accumulate grad hooks should return None."
    assert N(w.grad).tolist() == [3.0, 3.0]


def test_post_accumulate_grad_hook_registration_errors():
    w = rg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError) as e:
        (w * 2).register_post_accumulate_grad_hook(lambda t: None)
    assert message(e) == "post accumulate grad hooks cannot be registered on non-leaf tensors"
    with pytest.raises(RuntimeError) as e:
        rg.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    assert message(e) == "cannot register a hook on a tensor that doesn't require gradient"


# ---------------------------------------------------------------------------
# Node hooks
# ---------------------------------------------------------------------------

def test_node_hook_gets_grad_inputs_and_grad_outputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    y = x * c
    calls = []

    def hook(grad_inputs, grad_outputs):
        calls.append((type(grad_inputs), [None if g is None else N(g).tolist() for g in grad_inputs],
                      type(grad_outputs), [N(g).tolist() for g in grad_outputs]))

    y.grad_fn.register_hook(hook)
    y.sum().backward()
    # grad_inputs: gradients for x and (not requiring grad) c
    assert calls == [(tuple, [[3.0, 4.0], None], tuple, [[1.0, 1.0]])]


def test_node_hook_can_replace_grad_inputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    y = x * c
    y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, None))
    y.sum().backward()
    assert N(x.grad).tolist() == [30.0, 40.0]


def test_node_hook_handle_remove():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    h = y.grad_fn.register_hook(lambda gi, go: (gi[0] * 10, None))
    h.remove()
    y.sum().backward()
    assert N(x.grad).tolist() == [3.0, 4.0]


def test_node_prehook_gets_and_replaces_grad_outputs():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    seen = []

    def pre(grad_outputs):
        seen.append((type(grad_outputs), [N(g).tolist() for g in grad_outputs]))
        return (grad_outputs[0] * 2,)

    h = y.grad_fn.register_prehook(pre)
    y.sum().backward()
    assert seen == [(tuple, [[1.0, 1.0]])]
    assert N(x.grad).tolist() == [6.0, 8.0]
    h.remove()
    x.grad = None
    y2 = x * rg.tensor([3.0, 4.0])
    y2.grad_fn.register_prehook(lambda go: None)     # None: unchanged
    y2.sum().backward()
    assert N(x.grad).tolist() == [3.0, 4.0]


def test_order_tensor_hook_then_prehook_then_node_hook():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    y = x * rg.tensor([3.0, 4.0])
    order = []

    def pre(go):
        order.append(("pre", N(go[0]).tolist()))
        return (go[0] + 1,)

    def tensor_hook(g):
        order.append(("tensor", N(g).tolist()))
        return g * 10

    def post(gi, go):
        order.append(("post", N(gi[0]).tolist(), N(go[0]).tolist()))

    # registered out of order on purpose: tensor hooks always run first
    y.grad_fn.register_prehook(pre)
    y.register_hook(tensor_hook)
    y.grad_fn.register_hook(post)
    y.sum().backward()
    assert order == [("tensor", [1.0, 1.0]), ("pre", [10.0, 10.0]), ("post", [33.0, 44.0], [11.0, 11.0])]
    assert N(x.grad).tolist() == [33.0, 44.0]


def test_node_hook_wrong_number_of_values():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    y = x * c
    y.grad_fn.register_hook(lambda gi, go: (gi[0],))
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == "hook '<lambda>' has returned an incorrect number of values (got 1, but expected 2)"
    y = x * c
    y.grad_fn.register_prehook(lambda go: (go[0], go[0]))
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == "hook '<lambda>' has returned an incorrect number of values (got 2, but expected 1)"


def test_node_hook_wrong_size():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    y = x * c
    y.grad_fn.register_hook(lambda gi, go: (rg.ones(3), None))
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == "hook '<lambda>' has changed the size of value"
    y = x * c
    y.grad_fn.register_prehook(lambda go: (rg.ones(3),))
    with pytest.raises(RuntimeError) as e:
        y.sum().backward()
    assert message(e) == "hook '<lambda>' has changed the size of value"


def test_accumulate_grad_node_hooks():
    x = rg.tensor([1.0, 2.0], requires_grad=True)
    c = rg.tensor([3.0, 4.0])
    acc = (x * c).grad_fn.next_functions[0][0]
    post, pre = [], []
    h1 = acc.register_hook(lambda gi, go: post.append((gi, [N(g).tolist() for g in go])))
    h2 = acc.register_prehook(lambda go: pre.append(N(go[0]).tolist()))
    (x * c).sum().backward()
    assert pre == [[3.0, 4.0]]
    assert post == [((), [[3.0, 4.0]])]           # AccumulateGrad has no grad_inputs
    assert N(x.grad).tolist() == [3.0, 4.0]
    h1.remove()
    h2.remove()
    (x * c).sum().backward()
    assert len(pre) == 1 and len(post) == 1
