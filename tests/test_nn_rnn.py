"""Recurrent layers (``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and their cells).

NumPy references of the recurrences (PyTorch's documented formulas and gate
orders) check the values without PyTorch; float64 finite differences check
the gradients. With PyTorch installed, the same weights are loaded into both
libraries through ``load_state_dict`` and the outputs, final states and every
gradient are compared, as are parameter names, reprs and error messages.
"""

import warnings

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
from conftest import N, T, assert_close, check_grads, raises_same

# ---------------------------------------------------------------------------
# NumPy reference
# ---------------------------------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_step(mode, x, state, w_ih, w_hh, b_ih, b_hh, w_hr=None):
    """One step of ``mode`` in NumPy, from PyTorch's documented formulas."""
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = state[0] @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode in ("tanh", "relu"):
        pre = gi + gh
        return (np.tanh(pre) if mode == "tanh" else np.maximum(pre, 0),)
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sigmoid(f) * state[1] + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
        return (h if w_hr is None else h @ w_hr.T, c)
    i_r, i_z, i_n = np.split(gi, 3, axis=-1)
    h_r, h_z, h_n = np.split(gh, 3, axis=-1)
    r, z = _sigmoid(i_r + h_r), _sigmoid(i_z + h_z)
    n = np.tanh(i_n + r * h_n)
    return ((1 - z) * n + z * state[0],)


def np_rnn(mode, module, x, states):
    """A stacked (bi)directional recurrence in NumPy with ``module``'s
    weights; ``x`` (T, B, I) time-major, ``states`` a tuple of (L*D, B, *)."""
    params = {k: N(v) for k, v in module.named_parameters()}
    D = 2 if module.bidirectional else 1
    finals = []
    for layer in range(module.num_layers):
        outs = []
        for d in range(D):
            sfx = f"_l{layer}" + ("_reverse" if d else "")
            w = [params.get(k + sfx) for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")]
            state = tuple(s[layer * D + d] for s in states)
            out = [None] * len(x)
            for t in (reversed(range(len(x))) if d else range(len(x))):
                state = np_step(mode, x[t], state, *w)
                out[t] = state[0]
            outs.append(np.stack(out))
            finals.append(state)
        x = np.concatenate(outs, -1)
    return x, tuple(np.stack(s) for s in zip(*finals))


def _rng(seed=0):
    return np.random.default_rng(seed)


def _make(cls, *args, **kw):
    return getattr(nn, cls)(*args, dtype=rg.float64, **kw)


MODES = {"RNN": "tanh", "LSTM": "LSTM", "GRU": "GRU"}

CONFIGS = [
    ("RNN", {}),
    ("RNN", dict(nonlinearity="relu")),
    ("RNN", dict(num_layers=2, bidirectional=True)),
    ("LSTM", {}),
    ("LSTM", dict(num_layers=2, bidirectional=True, bias=False)),
    ("LSTM", dict(proj_size=2, num_layers=2)),
    ("LSTM", dict(proj_size=3, bidirectional=True, batch_first=True)),
    ("GRU", {}),
    ("GRU", dict(num_layers=3, batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True, bias=False)),
]


def _ids(configs):
    return [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for c, kw in configs]


def _states(module, batch, rng):
    """Random initial states (h, or h and c) for ``module``."""
    D = 2 if module.bidirectional else 1
    h = rng.standard_normal((module.num_layers * D, batch, module.proj_size or module.hidden_size))
    if isinstance(module, nn.LSTM):
        return (h, rng.standard_normal((module.num_layers * D, batch, module.hidden_size)))
    return (h,)


def _call(module, x, states):
    """``module(x, hx)`` with numpy inputs; returns (output, state tuple)."""
    hx = tuple(T(s) for s in states)
    out, h = module(T(x), hx if isinstance(module, nn.LSTM) else hx[0])
    return out, (h if isinstance(h, tuple) else (h,))


# ---------------------------------------------------------------------------
# values against NumPy
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=_ids(CONFIGS))
def test_matches_numpy_reference(cls, kw):
    rg.manual_seed(0)
    m = _make(cls, 3, 4, **kw)
    rng = _rng(1)
    x = rng.standard_normal((5, 2, 3))
    states = _states(m, 2, rng)
    mode = kw.get("nonlinearity", MODES[cls])
    ref_out, ref_states = np_rnn(mode, m, x, states)
    xin = x.transpose(1, 0, 2) if kw.get("batch_first") else x
    out, got_states = _call(m, xin, states)
    assert_close(out, ref_out.transpose(1, 0, 2) if kw.get("batch_first") else ref_out)
    assert len(got_states) == len(ref_states)
    for g, r in zip(got_states, ref_states):
        assert_close(g, r)


def test_single_step_elman_by_hand():
    """A one-step, one-layer RNN is ``tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)``."""
    m = nn.RNN(2, 3, dtype=rg.float64)
    rng = _rng(2)
    with rg.no_grad():
        for p in m.parameters():
            p.copy_(T(rng.standard_normal(tuple(p.shape))))
    x, h0 = rng.standard_normal((1, 4, 2)), rng.standard_normal((1, 4, 3))
    out, h1 = m(T(x), T(h0))
    p = {k: N(v) for k, v in m.named_parameters()}
    expected = np.tanh(x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h0[0] @ p["weight_hh_l0"].T + p["bias_hh_l0"])
    assert_close(out, expected[None])
    assert_close(h1, expected[None])


def test_default_initial_state_is_zeros():
    rg.manual_seed(0)
    m = _make("LSTM", 3, 4, num_layers=2)
    x = _rng(3).standard_normal((4, 2, 3))
    zeros = (np.zeros((2, 2, 4)), np.zeros((2, 2, 4)))
    out0, (h0, c0) = m(T(x))
    out1, states = _call(m, x, zeros)
    assert_close(out0, N(out1))
    assert_close(h0, N(states[0]))
    assert_close(c0, N(states[1]))


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_unbatched_input_is_a_batch_of_one(cls, batch_first):
    rg.manual_seed(0)
    m = _make(cls, 3, 4, num_layers=2, bidirectional=True, batch_first=batch_first)
    rng = _rng(4)
    x = rng.standard_normal((5, 3))
    states = tuple(s[:, 0] for s in _states(m, 1, rng))
    out, got = _call(m, x, states)
    assert tuple(out.shape) == (5, 8)
    batched_x = x[None] if batch_first else x[:, None]
    ref_out, ref = _call(m, batched_x, tuple(s[:, None] for s in states))
    assert_close(out, N(ref_out.squeeze(0 if batch_first else 1)))
    for g, r in zip(got, ref):
        assert tuple(g.shape) == (4, 4)
        assert_close(g, N(r.squeeze(1)))


def test_output_shapes_and_dtype_float32():
    m = nn.LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2, batch_first=True)
    out, (h, c) = m(rg.randn(4, 7, 3))
    assert tuple(out.shape) == (4, 7, 4)
    assert tuple(h.shape) == (4, 4, 2)
    assert tuple(c.shape) == (4, 4, 6)
    assert out.dtype == rg.float32


def test_empty_batch():
    out, h = nn.GRU(3, 4)(rg.randn(5, 0, 3))
    assert tuple(out.shape) == (5, 0, 4)
    assert tuple(h.shape) == (1, 0, 4)


# ---------------------------------------------------------------------------
# gradients
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls,kw", [("RNN", dict(bidirectional=True)), ("LSTM", dict(proj_size=2)),
                                    ("GRU", dict(num_layers=2))])
def test_gradients_match_finite_differences(cls, kw):
    rg.manual_seed(0)
    m = _make(cls, 2, 3, **kw)
    rng = _rng(5)
    x = rng.standard_normal((3, 2, 2))
    states = _states(m, 2, rng)

    def fn(x, *hx):
        out, h = m(x, hx if cls == "LSTM" else hx[0])
        h = h if isinstance(h, tuple) else (h,)
        return rg.cat([out.reshape(-1)] + [s.reshape(-1) for s in h])

    check_grads(fn, [x, *states])


@pytest.mark.parametrize("cls", ["LSTM", "GRU"])
def test_second_order_gradients(cls):
    from rustgrad.autograd import gradgradcheck

    rg.manual_seed(0)
    m = _make(cls, 2, 3)
    x = T(_rng(12).standard_normal((3, 2, 2)), requires_grad=True)
    assert gradgradcheck(lambda x: m(x)[0], (x,))


def test_parameters_get_gradients():
    rg.manual_seed(0)
    m = _make("GRU", 3, 4, num_layers=2, bidirectional=True)
    out, h = m(T(_rng(6).standard_normal((4, 2, 3))))
    (out.sum() + h.sum()).backward()
    for name, p in m.named_parameters():
        assert p.grad is not None, name
        assert tuple(p.grad.shape) == tuple(p.shape)
        assert np.abs(N(p.grad)).sum() > 0, name


# ---------------------------------------------------------------------------
# cells
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls,mode,kw", [("RNNCell", "tanh", {}), ("RNNCell", "relu", dict(nonlinearity="relu")),
                                         ("LSTMCell", "LSTM", {}), ("GRUCell", "GRU", {}),
                                         ("GRUCell", "GRU", dict(bias=False))])
def test_cells_match_numpy(cls, mode, kw):
    rg.manual_seed(0)
    cell = _make(cls, 3, 4, **kw)
    rng = _rng(7)
    x = rng.standard_normal((2, 3))
    states = tuple(rng.standard_normal((2, 4)) for _ in range(2 if mode == "LSTM" else 1))
    p = {k: N(v) for k, v in cell.named_parameters()}
    ref = np_step(mode, x, states, p["weight_ih"], p["weight_hh"], p.get("bias_ih"), p.get("bias_hh"))
    hx = tuple(T(s) for s in states)
    got = cell(T(x), hx if mode == "LSTM" else hx[0])
    got = got if isinstance(got, tuple) else (got,)
    for g, r in zip(got, ref):
        assert_close(g, r)
    # unbatched input: 1-D in, 1-D out
    one = cell(T(x[0]), tuple(h[0] for h in hx) if mode == "LSTM" else hx[0][0])
    one = one if isinstance(one, tuple) else (one,)
    for g, r in zip(one, ref):
        assert_close(g, r[0])
    # the default state is zeros
    default = cell(T(x))
    default = default if isinstance(default, tuple) else (default,)
    zero = np_step(mode, x, tuple(np.zeros((2, 4)) for _ in states), p["weight_ih"], p["weight_hh"],
                   p.get("bias_ih"), p.get("bias_hh"))
    for g, r in zip(default, zero):
        assert_close(g, r)


def test_lstm_cell_gradients():
    rg.manual_seed(0)
    cell = _make("LSTMCell", 2, 3)
    rng = _rng(8)
    check_grads(lambda x, h, c: rg.cat(list(cell(x, (h, c))), -1),
                [rng.standard_normal((2, 2)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))])


# ---------------------------------------------------------------------------
# parameters, init, repr
# ---------------------------------------------------------------------------


def test_parameter_names_and_shapes():
    m = nn.LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True)
    expected = []
    for layer, in_size in ((0, 3), (1, 4)):
        for sfx in ("", "_reverse"):
            expected += [(f"weight_ih_l{layer}{sfx}", (16, in_size)), (f"weight_hh_l{layer}{sfx}", (16, 2)),
                         (f"bias_ih_l{layer}{sfx}", (16,)), (f"bias_hh_l{layer}{sfx}", (16,)),
                         (f"weight_hr_l{layer}{sfx}", (2, 4))]
    assert [(n, tuple(p.shape)) for n, p in m.named_parameters()] == expected
    g = nn.GRU(3, 4, bias=False, num_layers=2, bidirectional=True)
    assert [(n, tuple(p.shape)) for n, p in g.named_parameters()] == [
        ("weight_ih_l0", (12, 3)), ("weight_hh_l0", (12, 4)), ("weight_ih_l0_reverse", (12, 3)),
        ("weight_hh_l0_reverse", (12, 4)), ("weight_ih_l1", (12, 8)), ("weight_hh_l1", (12, 4)),
        ("weight_ih_l1_reverse", (12, 8)), ("weight_hh_l1_reverse", (12, 4))]
    assert [[tuple(p.shape) for p in ps] for ps in g.all_weights] == [[(12, 3), (12, 4)]] * 2 + [[(12, 8), (12, 4)]] * 2
    c = nn.LSTMCell(3, 4, bias=False)
    assert [(n, tuple(p.shape)) for n, p in c.named_parameters()] == [("weight_ih", (16, 3)), ("weight_hh", (16, 4))]
    assert c.bias_ih is None and c.bias_hh is None


@pytest.mark.parametrize("module", [nn.RNN(3, 16, num_layers=2), nn.LSTM(3, 16, proj_size=4), nn.GRUCell(3, 16)])
def test_init_is_uniform_in_inverse_sqrt_hidden(module):
    for name, p in module.named_parameters():
        a = N(p)
        assert np.all(np.abs(a) <= 0.25), name
        assert a.std() > 0.05, name  # spread over the range, not constant


def test_reassigned_parameter_is_used():
    m = nn.RNN(2, 3, bias=False)
    m.weight_ih_l0 = nn.Parameter(rg.zeros(3, 2))
    m.weight_hh_l0 = nn.Parameter(rg.zeros(3, 3))
    out, h = m(rg.randn(4, 1, 2))
    assert np.all(N(out) == 0)


@pytest.mark.parametrize("module,text", [
    (lambda: nn.RNN(10, 20, num_layers=2, nonlinearity="relu", bias=False, batch_first=True, dropout=0.5,
                    bidirectional=True),
     "RNN(10, 20, num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)"),
    (lambda: nn.LSTM(10, 20, num_layers=2, batch_first=True), "LSTM(10, 20, num_layers=2, batch_first=True)"),
    (lambda: nn.LSTM(10, 20, proj_size=5), "LSTM(10, 20, proj_size=5)"),
    (lambda: nn.GRU(3, 4, 2, dropout=0.25), "GRU(3, 4, num_layers=2, dropout=0.25)"),
    (lambda: nn.RNN(3, 4, 2, "relu"), "RNN(3, 4, num_layers=2)"),
    (lambda: nn.RNNCell(3, 4, bias=False, nonlinearity="relu"), "RNNCell(3, 4, bias=False, nonlinearity=relu)"),
    (lambda: nn.LSTMCell(3, 4), "LSTMCell(3, 4)"),
    (lambda: nn.GRUCell(3, 4, bias=False), "GRUCell(3, 4, bias=False)"),
])
def test_repr(module, text):
    assert repr(module()) == text


def test_positional_nonlinearity():
    m = nn.RNN(3, 4, 2, "relu")
    assert m.nonlinearity == "relu" and m.mode == "RNN_RELU" and m.num_layers == 2


# ---------------------------------------------------------------------------
# dropout between layers
# ---------------------------------------------------------------------------


def test_dropout_between_layers_only_in_training():
    rg.manual_seed(0)
    m = _make("RNN", 3, 4, num_layers=2, dropout=1.0, bias=False)
    x = T(_rng(9).standard_normal((4, 2, 3)))
    out, h = m(x)  # training: the second layer sees zeros, and without biases stays at zero
    assert np.all(N(out) == 0)
    assert np.all(N(h[1]) == 0) and np.any(N(h[0]) != 0)
    m.eval()
    out, h = m(x)
    assert np.any(N(out) != 0)


def test_dropout_warning_for_one_layer():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1"):
        nn.GRU(3, 4, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.GRU(3, 4, num_layers=2, dropout=0.5)


# ---------------------------------------------------------------------------
# errors (PyTorch's types and messages)
# ---------------------------------------------------------------------------

ERRORS = [
    (lambda: nn.RNN(3, 4)(rg.randn(5, 2, 4)), RuntimeError,
     "input.size(-1) must be equal to input_size. Expected 3, got 4"),
    (lambda: nn.RNN(3, 4)(rg.randn(5, 2, 3, 1)), ValueError,
     "RNN: Expected input to be 2D or 3D, got 4D tensor instead"),
    (lambda: nn.GRU(3, 4)(rg.randn(3)), ValueError, "GRU: Expected input to be 2D or 3D, got 1D instead"),
    (lambda: nn.LSTM(3, 4)(rg.randn(3)), ValueError, "LSTM: Expected input to be 2D or 3D, got 1D instead"),
    (lambda: nn.RNN(3, 4)(rg.randn(5, 2, 3).double()), ValueError,
     "RNN input dtype (torch.float64) does not match weight dtype (torch.float32). Convert input: "
     "input.to(torch.float32), or convert model: model.to(torch.float64)"),
    (lambda: nn.RNN(3, 4)(rg.randn(5, 2, 3), rg.randn(1, 3, 4)), RuntimeError,
     "Expected hidden size (1, 2, 4), got [1, 3, 4]"),
    (lambda: nn.GRU(3, 4)(rg.randn(5, 2, 3), rg.randn(2, 4)), RuntimeError,
     "For batched 3-D input, hx should also be 3-D but got 2-D tensor"),
    (lambda: nn.GRU(3, 4)(rg.randn(5, 3), rg.randn(1, 1, 4)), RuntimeError,
     "For unbatched 2-D input, hx should also be 2-D but got 3-D tensor"),
    (lambda: nn.LSTM(3, 4)(rg.randn(5, 2, 3), (rg.randn(1, 2, 4), rg.randn(1, 2, 5))), RuntimeError,
     "Expected hidden[1] size (1, 2, 4), got [1, 2, 5]"),
    (lambda: nn.LSTM(3, 4, proj_size=2)(rg.randn(5, 2, 3), (rg.randn(1, 2, 4), rg.randn(1, 2, 4))), RuntimeError,
     "Expected hidden[0] size (1, 2, 2), got [1, 2, 4]"),
    (lambda: nn.LSTM(3, 4)(rg.randn(5, 3), (rg.randn(1, 4), rg.randn(1, 1, 4))), RuntimeError,
     "For unbatched 2-D input, hx and cx should also be 2-D but got (2-D, 3-D) tensors"),
    (lambda: nn.RNN(3, 4)(rg.randn(0, 2, 3)), RuntimeError, "Expected sequence length to be larger than 0 in RNN"),
    (lambda: nn.RNN(3, 4, nonlinearity="foo"), ValueError, "Unknown nonlinearity 'foo'. Select from 'tanh' or 'relu'."),
    (lambda: nn.GRU(3, 4, proj_size=2), ValueError, "proj_size argument is only supported for LSTM, not RNN or GRU"),
    (lambda: nn.LSTM(3, 4, proj_size=4), ValueError, "proj_size has to be smaller than hidden_size"),
    (lambda: nn.LSTM(3, 4, proj_size=-1), ValueError,
     "proj_size should be a positive integer or zero to disable projections"),
    (lambda: nn.LSTM(3, 4, dropout=1.5), ValueError,
     "dropout should be a number in range [0, 1] representing the probability of an element being zeroed"),
    (lambda: nn.LSTM(3, 0), ValueError, "hidden_size must be greater than zero"),
    (lambda: nn.LSTM(3.0, 4), TypeError, "input_size should be of type int, got: float"),
    (lambda: nn.LSTM(3, 4, 0), ValueError, "num_layers must be greater than zero"),
    (lambda: nn.LSTM(3, 4, bias=1), TypeError, "bias should be of type bool, got: int"),
    (lambda: nn.RNNCell(3, 4)(rg.randn(2, 5)), RuntimeError, "input has inconsistent input_size: got 5 expected 3"),
    (lambda: nn.RNNCell(3, 4)(rg.randn(2, 3), rg.randn(2, 5)), RuntimeError,
     "hidden0 has inconsistent hidden_size: got 5, expected 4"),
    (lambda: nn.RNNCell(3, 4)(rg.randn(2, 3), rg.randn(3, 4)), RuntimeError,
     "Input batch size 2 doesn't match hidden0 batch size 3"),
    (lambda: nn.LSTMCell(3, 4)(rg.randn(2, 3), (rg.randn(2, 4), rg.randn(2, 5))), RuntimeError,
     "hidden1 has inconsistent hidden_size: got 5, expected 4"),
    (lambda: nn.GRUCell(3, 4)(rg.randn(2, 2, 3)), ValueError, "GRUCell: Expected input to be 1D or 2D, got 3D instead"),
    (lambda: nn.RNNCell(3, 4)(rg.randn(2, 3), rg.randn(1, 2, 4)), ValueError,
     "RNNCell: Expected hidden to be 1D or 2D, got 3D instead"),
    (lambda: nn.LSTMCell(3, 4)(rg.randn(2, 3), (rg.randn(2, 4), rg.randn(1, 2, 4))), ValueError,
     "LSTMCell: Expected hx[1] to be 1D or 2D, got 3D instead"),
    (lambda: nn.RNNCell(3, 4, nonlinearity="foo")(rg.randn(2, 3)), RuntimeError, "Unknown nonlinearity: foo"),
]


@pytest.mark.parametrize("fn,cls,msg", ERRORS, ids=[e[2][:50] for e in ERRORS])
def test_errors(fn, cls, msg):
    with pytest.raises(cls) as info:
        fn()
    assert str(info.value) == msg


# ---------------------------------------------------------------------------
# against PyTorch
# ---------------------------------------------------------------------------


def _load_from_torch(module, tmodule):
    module.load_state_dict({k: rg.tensor(v.detach().numpy()) for k, v in tmodule.state_dict().items()})


def _pair(torch, cls, *args, **kw):
    """The same layer in both libraries, float64, with torch's weights."""
    tm = getattr(torch.nn, cls)(*args, dtype=torch.float64, **kw)
    m = getattr(nn, cls)(*args, dtype=rg.float64, **kw)
    _load_from_torch(m, tm)
    return m, tm


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=_ids(CONFIGS))
@pytest.mark.parametrize("unbatched", [False, True])
def test_matches_torch_values_and_gradients(torch, cls, kw, unbatched):
    m, tm = _pair(torch, cls, 3, 5 if kw.get("proj_size") else 4, **kw)
    rng = _rng(10)
    x = rng.standard_normal((4, 3) if unbatched else (2, 4, 3) if kw.get("batch_first") else (4, 2, 3))
    states = _states(m, 1 if unbatched else 2, rng)
    if unbatched:
        states = tuple(s[:, 0] for s in states)
    xs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hs = [tuple(T(s, requires_grad=True) for s in states), tuple(torch.tensor(s, requires_grad=True) for s in states)]
    results = []
    for mod, xin, h in ((m, xs[0], hs[0]), (tm, xs[1], hs[1])):
        out, hn = mod(xin, h if cls == "LSTM" else h[0])
        hn = hn if isinstance(hn, tuple) else (hn,)
        w = np.linspace(0.5, 1.5, out.numel()).reshape(tuple(out.shape))
        loss = (out * (T(w) if mod is m else torch.tensor(w))).sum()
        loss = loss + sum((s * s).sum() for s in hn)
        loss.backward()
        results.append((out, hn))
    (out, hn), (tout, thn) = results
    assert_close(out, tout.detach().numpy())
    for a, b in zip(hn, thn):
        assert_close(a, b.detach().numpy())
    assert_close(xs[0].grad, xs[1].grad.numpy())
    for a, b in zip(hs[0], hs[1]):
        assert_close(a.grad, b.grad.numpy())
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy())


@pytest.mark.parametrize("cls,kw", [("RNNCell", {}), ("RNNCell", dict(nonlinearity="relu", bias=False)),
                                    ("LSTMCell", {}), ("GRUCell", {})])
def test_cells_match_torch(torch, cls, kw):
    m, tm = _pair(torch, cls, 3, 4, **kw)
    rng = _rng(11)
    x = rng.standard_normal((2, 3))
    states = [rng.standard_normal((2, 4)) for _ in range(2 if cls == "LSTMCell" else 1)]
    xs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    outs = []
    for mod, xin, lib in ((m, xs[0], rg), (tm, xs[1], torch)):
        hx = tuple(lib.tensor(s) for s in states)
        out = mod(xin, hx if cls == "LSTMCell" else hx[0])
        out = out if isinstance(out, tuple) else (out,)
        sum((o.sin()).sum() for o in out).backward()
        outs.append(out)
    for a, b in zip(*outs):
        assert_close(a, b.detach().numpy())
    assert_close(xs[0].grad, xs[1].grad.numpy())
    tparams = dict(tm.named_parameters())
    for name, p in m.named_parameters():
        assert_close(p.grad, tparams[name].grad.numpy())


def test_parameter_names_match_torch(torch):
    for cls, kw in CONFIGS:
        args = (3, 5 if kw.get("proj_size") else 4)
        got = [(n, tuple(p.shape)) for n, p in getattr(nn, cls)(*args, **kw).named_parameters()]
        want = [(n, tuple(p.shape)) for n, p in getattr(torch.nn, cls)(*args, **kw).named_parameters()]
        assert got == want, cls


@pytest.mark.parametrize("fn,cls,msg", ERRORS, ids=[e[2][:50] for e in ERRORS])
def test_errors_match_torch(torch, fn, cls, msg):
    """The hard-coded messages above are PyTorch's: the same call on the same
    shapes in PyTorch raises them too."""

    def in_torch():
        # run ``fn`` with its globals (rg, nn) pointing at torch
        g = dict(fn.__globals__, rg=torch, nn=torch.nn)
        return type(fn)(fn.__code__, g)()

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = raises_same(fn, in_torch)
    assert ours == theirs


@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_float32_matches_torch(torch, cls):
    tm = getattr(torch.nn, cls)(3, 4, num_layers=2, batch_first=True)
    m = getattr(nn, cls)(3, 4, num_layers=2, batch_first=True)
    _load_from_torch(m, tm)
    x = _rng(13).standard_normal((2, 5, 3)).astype(np.float32)
    out, tout = m(T(x))[0], tm(torch.tensor(x))[0]
    assert out.dtype == rg.float32
    assert_close(out, tout.detach().numpy(), rtol=1e-5, atol=1e-6)
