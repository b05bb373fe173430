"""Saved-tensor version checks: modifying a tensor in place after autograd
saved it makes backward raise PyTorch's error; ``_version`` counters, shared
by views and ``detach()``, but not by ``.data``."""

import numpy as np
import pytest

import rustgrad as rg
from conftest import N

HINT = ("Hint: enable anomaly detection to find the operation that failed to compute its gradient, "
        "with torch.autograd.set_detect_anomaly(True, check_nan=False).")


def modified(desc, node, version, expected=0):
    """PyTorch's message for a saved tensor found at the wrong version.
    ``node`` is the op that produced the tensor (None for a leaf)."""
    made_by = f", which is output 0 of {node}," if node is not None else ""
    return ("one of the variables needed for gradient computation has been modified by an inplace "
            f"operation: [{desc}]{made_by} is at version {version}; expected version {expected} "
            f"instead. {HINT}")


def message(excinfo):
    return str(excinfo.value)


# ---------------------------------------------------------------------------
# ops that save their output
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("op,node", [
    ("sigmoid", "Sigmoid"), ("exp", "Exp"), ("tanh", "Tanh"), ("sqrt", "Sqrt"),
])
def test_zeroing_a_saved_output_fails_backward(op, node):
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = getattr(a, op)()
    out.zero_()
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert message(e) == modified("torch.FloatTensor [3]", node, 1)


def test_message_counts_every_inplace_op():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.exp()
    out.mul_(2)
    out.add_(1)
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert message(e) == modified("torch.FloatTensor [3]", "Exp", 2)


def test_message_describes_dtype_and_shape():
    a = rg.ones(2, 3, dtype=rg.float64, requires_grad=True)
    out = a.tanh()
    out.mul_(2)
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert message(e) == modified("torch.DoubleTensor [2, 3]", "Tanh", 1)
    s = rg.tensor(1.0, requires_grad=True)
    out = s.sigmoid()
    out.zero_()
    with pytest.raises(RuntimeError) as e:
        out.backward()
    assert message(e) == modified("torch.FloatTensor []", "Sigmoid", 1)


def test_modifying_through_detach_fails_backward():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.sigmoid()
    out.detach().zero_()
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert message(e) == modified("torch.FloatTensor [3]", "Sigmoid", 1)


def test_modifying_through_a_view_fails_backward():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.exp()
    out[1:].mul_(2)
    with pytest.raises(RuntimeError) as e:
        out.sum().backward()
    assert message(e) == modified("torch.FloatTensor [3]", "Exp", 1)


def test_modifying_through_data_is_not_detected():
    # .data has its own version counter: no error, and the gradient uses the
    # modified values (sigmoid' = out * (1 - out) = 0 for out = 0)
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.sigmoid()
    out.data.zero_()
    assert out._version == 0
    out.sum().backward()
    assert N(a.grad).tolist() == [0.0, 0.0, 0.0]


def test_modifying_after_a_retained_backward_fails_the_next():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    out = a.exp()
    s = out.sum()
    s.backward(retain_graph=True)
    out.add_(1)
    with pytest.raises(RuntimeError) as e:
        s.backward()
    assert message(e) == modified("torch.FloatTensor [3]", "Exp", 1)


# ---------------------------------------------------------------------------
# ops that save their inputs
# ---------------------------------------------------------------------------

def test_modified_saved_input_names_its_producer():
    a = rg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = a * 1
    c = b * b
    b.add_(1)
    with pytest.raises(RuntimeError) as e:
        c.sum().backward()
    # b's grad_fn is now AddBackward0
    assert message(e) == modified("torch.FloatTensor [3]", "Add", 1)


def test_modified_saved_input_of_sin():
    a = rg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = a * 1
    c = b.sin()
    b.add_(1)
    with pytest.raises(RuntimeError) as e:
        c.sum().backward()
    assert message(e) == modified("torch.FloatTensor [2, 2]", "Add", 1)


def test_saved_input_modified_by_setitem():
    a = rg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    b = a * 1
    c = b @ b
    b[0, 0] = 5.0
    with pytest.raises(RuntimeError) as e:
        c.sum().backward()
    assert message(e) == modified("torch.FloatTensor [2, 2]", "torch::autograd::CopySlices", 1)


def test_leaf_modified_under_no_grad_after_being_saved():
    w = rg.ones(3, requires_grad=True)
    y = (w * w).sum()
    with rg.no_grad():
        w.add_(1)
    with pytest.raises(RuntimeError) as e:
        y.backward()
    assert message(e) == modified("torch.FloatTensor [3]", None, 1)


def test_leaf_modified_when_not_saved_is_fine():
    # w * 2 saves nothing of w, exp saves only its output
    w = rg.ones(3, requires_grad=True)
    y = (w * 2).sum() + w.exp().sum()
    with rg.no_grad():
        w.mul_(2)
    y.backward()
    np.testing.assert_allclose(N(w.grad), [2.0 + np.e] * 3, rtol=1e-6)


def test_leaf_modified_through_data_is_not_detected():
    w = rg.ones(3, requires_grad=True)
    y = (w * w).sum()
    w.data.mul_(3)
    y.backward()
    assert N(w.grad).tolist() == [6.0, 6.0, 6.0]       # 2 w, with the new w


def test_version_error_matches_torch(torch):
    msgs = []
    for m in (rg, torch):
        a = m.tensor([1.0, 2.0, 3.0], requires_grad=True)
        out = a.sigmoid()
        out.zero_()
        with pytest.raises(RuntimeError) as e:
            out.sum().backward()
        msgs.append(message(e))
    assert msgs[0] == msgs[1]


# ---------------------------------------------------------------------------
# _version
# ---------------------------------------------------------------------------

def test_version_starts_at_zero_and_counts_inplace_ops():
    t = rg.zeros(3)
    assert t._version == 0
    t.add_(1)
    assert t._version == 1
    t += 1
    assert t._version == 2
    t[0] = 1.0
    assert t._version == 3
    t.zero_()
    t.fill_(2.0)
    t.mul_(2)
    t.div_(2)
    t.sub_(1)
    t *= 1
    t /= 1
    t -= 1
    assert t._version == 11


def test_setitem_bumps_version_once_per_assignment():
    t = rg.zeros(2, 3)
    t[0] = 1.0
    t[:, 1] = 2.0
    t[...] = 3.0
    assert t._version == 3


def test_out_of_place_ops_and_new_tensors_do_not_bump():
    t = rg.ones(3)
    t + 1
    t.sum()
    t.exp()
    assert t._version == 0
    t.add_(1)
    assert t.clone()._version == 0
    assert (t * 1)._version == 0


def test_views_share_the_version_counter():
    t = rg.zeros(2, 3)
    t.add_(1)
    views = [t[0], t[:, 1:], t.view(6), t.reshape(6), t.t(), t.transpose(0, 1), t.unsqueeze(0),
             t.expand(2, 2, 3), t.flatten(), t[None], t[...]]
    assert [v._version for v in views] == [1] * len(views)
    views[0].mul_(2)
    assert t._version == 2
    assert [v._version for v in views] == [2] * len(views)
    v = t.t()
    vv = v[0]
    vv.fill_(1.0)
    assert t._version == v._version == vv._version == 3


def test_detach_shares_the_version_counter():
    t = rg.zeros(3)
    t.add_(1)
    d = t.detach()
    assert d._version == 1
    d.add_(1)
    assert t._version == 2 and d._version == 2
    t.add_(1)
    assert d._version == 3


def test_data_has_its_own_version_counter():
    t = rg.zeros(3)
    t.add_(1)
    d = t.data
    assert d._version == 0
    d.add_(1)
    assert d._version == 1
    assert t._version == 1
    assert t.data._version == 0
    assert N(t).tolist() == [2.0, 2.0, 2.0]           # same storage


def test_data_setter_does_not_bump_version():
    t = rg.ones(3)
    t.data = rg.zeros(4)
    assert t._version == 0


def test_inplace_under_no_grad_still_bumps_version():
    w = rg.ones(3, requires_grad=True)
    with rg.no_grad():
        w.add_(1)
        w -= 1
    assert w._version == 2


def test_version_is_read_only():
    t = rg.ones(3)
    with pytest.raises(AttributeError):
        t._version = 5
    assert t._version == 0
