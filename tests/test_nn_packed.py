"""Variable-length sequences: ``nn.utils.rnn`` and recurrent layers over a
``PackedSequence``.

Without PyTorch, packing is checked against NumPy index arithmetic, its
gradients against finite differences, and a packed RNN against running each
sequence alone (unbatched, at its own length) through the same layer. With
PyTorch, the same weights are loaded into both libraries and the packed
data, final states and every gradient are compared.
"""

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn
from rustgrad.nn.utils import rnn as R
from conftest import N, T, assert_close, check_grads, raises_same

LENGTHS = [[4, 2, 1], [2, 4, 1, 3], [3]]


def np_pack(x, lengths):
    """Packed data and batch sizes of time-major ``x`` whose columns are in
    decreasing order of ``lengths``."""
    sizes = [sum(n > t for n in lengths) for t in range(max(lengths))]
    return np.concatenate([x[t, :b] for t, b in enumerate(sizes)]), sizes


# ---------------------------------------------------------------------------
# pack / pad
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_padded_unsorted_matches_numpy(lengths, batch_first):
    x = np.random.default_rng(0).standard_normal((max(lengths) + 1, len(lengths), 2))
    packed = R.pack_padded_sequence(T(x.transpose(1, 0, 2) if batch_first else x), lengths,
                                    batch_first=batch_first, enforce_sorted=False)
    order = np.argsort(-np.array(lengths), kind="stable")
    data, sizes = np_pack(x[:, order], sorted(lengths, reverse=True))
    assert_close(packed.data, data)
    assert packed.batch_sizes.tolist() == sizes and packed.batch_sizes.dtype == rg.int64
    assert packed.sorted_indices.tolist() == order.tolist()
    assert packed.unsorted_indices.tolist() == np.argsort(order).tolist()


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_packed_round_trip(lengths, batch_first):
    x = np.random.default_rng(1).standard_normal((max(lengths), len(lengths), 3))
    padded_in = x.transpose(1, 0, 2) if batch_first else x
    packed = R.pack_padded_sequence(T(padded_in), lengths, batch_first, enforce_sorted=False)
    padded, lens = R.pad_packed_sequence(packed, batch_first, padding_value=-7.0, total_length=max(lengths) + 2)
    want = np.full((max(lengths) + 2, len(lengths), 3), -7.0)
    for b, n in enumerate(lengths):
        want[:n, b] = x[:n, b]
    assert_close(padded, want.transpose(1, 0, 2) if batch_first else want)
    assert lens.tolist() == lengths and lens.dtype == rg.int64


def test_pack_pad_gradients():
    lengths = [2, 3, 1]

    def fn(x):
        packed = R.pack_padded_sequence(x, lengths, enforce_sorted=False)
        return R.pad_packed_sequence(R.PackedSequence(packed.data.sin(), *packed[1:]), total_length=4)[0]

    grads = check_grads(fn, [np.random.default_rng(2).standard_normal((3, 3, 2))])
    # the padded positions take no part in the result
    assert np.all(grads[0][2, 0] == 0) and np.all(grads[0][1:, 2] == 0)


def test_pad_sequence_sides_and_gradient():
    seqs = [np.arange(1.0, 3.0), np.arange(3.0, 6.0)]
    assert_close(R.pad_sequence([T(s) for s in seqs], padding_value=9.0), [[1.0, 3.0], [2.0, 4.0], [9.0, 5.0]])
    assert_close(R.pad_sequence([T(s) for s in seqs], batch_first=True, padding_side="left"),
                 [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])
    check_grads(lambda a, b: R.pad_sequence([a, b], batch_first=True) ** 2, seqs)


def test_pack_and_unpack_sequence():
    seqs = [T(np.full((n, 2), float(n))) for n in (2, 3, 1)]
    packed = R.pack_sequence(seqs, enforce_sorted=False)
    assert packed.batch_sizes.tolist() == [3, 2, 1]
    for got, want in zip(R.unpack_sequence(packed), seqs):
        assert_close(got, N(want))
    padded = R.pad_sequence(seqs)
    for got, want in zip(R.unpad_sequence(padded, rg.tensor([2, 3, 1])), seqs):
        assert_close(got, N(want))


def test_packed_sequence_methods():
    packed = R.pack_sequence([T(np.ones((2, 1))), T(np.ones((1, 1)))])
    assert packed.sorted_indices is None and packed.unsorted_indices is None
    assert packed.float().data.dtype == rg.float32 and packed.double() is packed
    data, batch_sizes, sorted_indices, unsorted_indices = packed
    assert batch_sizes.tolist() == [2, 1] and not packed.is_cuda
    rebuilt = R.PackedSequence((data, batch_sizes))
    assert rebuilt.batch_sizes is batch_sizes
    assert R.PackedSequence(data, batch_sizes, rg.tensor([1, 0])).unsorted_indices.tolist() == [1, 0]


@pytest.mark.parametrize("call,message", [
    (lambda: R.pack_padded_sequence(rg.zeros(3, 2), [1, 3]),
     "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. You can pass "
     "`enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to sidestep this requirement if you do "
     "not need ONNX exportability."),
    (lambda: R.pack_padded_sequence(rg.zeros(3, 2), [3, 0]),
     "Length of all samples has to be greater than 0, but found an element in 'lengths' that is <= 0"),
    (lambda: R.pack_padded_sequence(rg.zeros(3, 2), [3]),
     "Expected `len(lengths)` to be equal to batch_size, but got 1 (batch_size=2)"),
    (lambda: R.pack_padded_sequence(rg.zeros(0, 2), [1, 1]), "Cannot pack empty tensors."),
    (lambda: R.pad_sequence([]), "received an empty list of sequences"),
])
def test_errors(call, message):
    with pytest.raises(RuntimeError) as info:
        call()
    assert str(info.value) == message


def test_total_length_and_padding_side_errors():
    packed = R.pack_sequence([rg.ones(3), rg.ones(2)])
    with pytest.raises(ValueError, match="but got total_length=2 and max sequence length being 3"):
        R.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got up."):
        R.pad_sequence([rg.ones(1)], padding_side="up")


def test_matches_torch(torch):
    x = np.random.default_rng(3).standard_normal((3, 4, 2))
    lengths = [2, 4, 3]
    ours, theirs = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    p = R.pack_padded_sequence(ours, lengths, batch_first=True, enforce_sorted=False)
    q = torch.nn.utils.rnn.pack_padded_sequence(theirs, lengths, batch_first=True, enforce_sorted=False)
    for a, b in zip(p, q):
        assert_close(a, b.detach().numpy())
    a, la = R.pad_packed_sequence(p, batch_first=True, padding_value=0.5, total_length=5)
    b, lb = torch.nn.utils.rnn.pad_packed_sequence(q, batch_first=True, padding_value=0.5, total_length=5)
    assert_close(a, b.detach().numpy())
    assert la.tolist() == lb.tolist()
    w = np.random.default_rng(4).standard_normal(a.shape)
    (a * T(w)).sum().backward()
    (b * torch.tensor(w)).sum().backward()
    assert_close(ours.grad, theirs.grad.numpy())
    got, want = raises_same(lambda: R.pack_padded_sequence(rg.zeros(3, 2), [1, 3]),
                            lambda: torch.nn.utils.rnn.pack_padded_sequence(torch.zeros(3, 2), [1, 3]))
    assert got == want


# ---------------------------------------------------------------------------
# recurrent layers over packed sequences
# ---------------------------------------------------------------------------

CONFIGS = [
    ("RNN", {}),
    ("RNN", dict(num_layers=2, bidirectional=True, nonlinearity="relu")),
    ("LSTM", dict(bidirectional=True)),
    ("LSTM", dict(num_layers=2, proj_size=2)),
    ("GRU", dict(batch_first=True)),
    ("GRU", dict(num_layers=2, bidirectional=True)),
]
IDS = [f"{c}-{'-'.join(f'{k}={v}' for k, v in kw.items()) or 'default'}" for c, kw in CONFIGS]


def _inputs(module, lengths, seed):
    """A padded batch (as the module takes it) and initial states, NumPy."""
    rng = np.random.default_rng(seed)
    D = 2 if module.bidirectional else 1
    x = rng.standard_normal((max(lengths), len(lengths), module.input_size))
    states = [rng.standard_normal((module.num_layers * D, len(lengths), module.proj_size or module.hidden_size))]
    if isinstance(module, nn.LSTM):
        states.append(rng.standard_normal((module.num_layers * D, len(lengths), module.hidden_size)))
    return (x.transpose(1, 0, 2) if module.batch_first else x), states


def _as_hx(module, states):
    """``hx`` as ``module`` takes it: (h, c) for an LSTM, else h."""
    return tuple(states) if type(module).__name__ == "LSTM" else states[0]


def _as_tuple(h):
    return h if isinstance(h, tuple) else (h,)


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_packed_matches_one_sequence_at_a_time(cls, kw):
    rg.manual_seed(0)
    module = getattr(nn, cls)(3, 4, dtype=rg.float64, **kw)
    lengths = [2, 4, 1]
    x, states = _inputs(module, lengths, seed=5)
    packed = R.pack_padded_sequence(T(x), lengths, module.batch_first, enforce_sorted=False)
    out, h = module(packed, _as_hx(module, [T(s) for s in states]))
    assert isinstance(out, R.PackedSequence)
    padded, _ = R.pad_packed_sequence(out, module.batch_first)
    if module.batch_first:
        padded = padded.transpose(0, 1)
    time_major = x.transpose(1, 0, 2) if module.batch_first else x
    with rg.no_grad():
        for b, n in enumerate(lengths):
            alone = nn.utils.rnn.pack_sequence([T(time_major[:n, b])])  # one sequence: its own last step
            o, hb = module(alone, _as_hx(module, [T(s[:, b:b + 1]) for s in states]))
            assert_close(padded[:n, b], N(o.data))
            assert np.all(N(padded[n:, b]) == 0)
            for got, want in zip(_as_tuple(h), _as_tuple(hb)):
                assert_close(got[:, b], N(want[:, 0]))


def test_packed_gradients_against_finite_differences():
    rg.manual_seed(0)
    module = nn.GRU(2, 3, bidirectional=True, dtype=rg.float64)
    lengths = [1, 3]

    def fn(x, h0):
        out, h = module(R.pack_padded_sequence(x, lengths, enforce_sorted=False), h0)
        return rg.cat([out.data.flatten(), h.flatten()])

    rng = np.random.default_rng(6)
    check_grads(fn, [rng.standard_normal((3, 2, 2)), rng.standard_normal((2, 2, 3))])


def test_packed_hidden_size_error():
    module = nn.GRU(2, 3)
    packed = R.pack_sequence([rg.ones(3, 2), rg.ones(2, 2)])
    with pytest.raises(RuntimeError, match=r"Expected hidden size \(1, 2, 3\), got \[1, 3, 3\]"):
        module(packed, rg.zeros(1, 3, 3))


@pytest.mark.parametrize("cls,kw", CONFIGS, ids=IDS)
def test_packed_matches_torch(torch, cls, kw):
    theirs = getattr(torch.nn, cls)(3, 4, dtype=torch.float64, **kw)
    ours = getattr(nn, cls)(3, 4, dtype=rg.float64, **kw)
    ours.load_state_dict({k: T(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    lengths = [3, 5, 1, 4]
    x, states = _inputs(ours, lengths, seed=7)
    results = []
    for lib, mod, make in ((R, ours, lambda a: T(a, requires_grad=True)),
                           (torch.nn.utils.rnn, theirs, lambda a: torch.tensor(a, requires_grad=True))):
        leaves = [make(x)] + [make(s) for s in states]
        packed = lib.pack_padded_sequence(leaves[0], lengths, mod.batch_first, enforce_sorted=False)
        out, h = mod(packed, _as_hx(mod, leaves[1:]))
        loss = (out.data ** 2).sum() + sum((s ** 3).sum() for s in _as_tuple(h))
        loss.backward()
        results.append([out.data, *_as_tuple(h)] + [t.grad for t in leaves] + [p.grad for p in mod.parameters()])
    for a, b in zip(*results):
        assert_close(a, b.detach().numpy(), rtol=1e-10, atol=1e-10)
