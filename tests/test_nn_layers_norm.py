"""The normalization, dropout, embedding, distance, padding and upsampling
modules: default initialization, parameters and buffers (PyTorch's names),
batch normalization's running statistics over several training steps
(against NumPy, and against PyTorch), evaluation mode, reprs and errors,
and outputs and gradients against PyTorch with the same state loaded
through ``state_dict`` (``torch`` fixture)."""

from collections import OrderedDict

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.nn as nn

from conftest import N, T, assert_close, check_grads, rand_array


# ---------------------------------------------------------------------------
# construction, initialization, reprs
# ---------------------------------------------------------------------------


REPRS = [
    ("BatchNorm2d(16)", "BatchNorm2d(16, eps=1e-05, momentum=0.1, affine=True, bias=True, track_running_stats=True)"),
    ("BatchNorm1d(4, affine=False, momentum=None, track_running_stats=False)",
     "BatchNorm1d(4, eps=1e-05, momentum=None, affine=False, bias=False, track_running_stats=False)"),
    ("BatchNorm3d(2, eps=1e-3, bias=False)",
     "BatchNorm3d(2, eps=0.001, momentum=0.1, affine=True, bias=False, track_running_stats=True)"),
    ("LayerNorm(4)", "LayerNorm((4,), eps=1e-05, elementwise_affine=True, bias=True)"),
    ("LayerNorm([4, 5], elementwise_affine=False, bias=False)",
     "LayerNorm((4, 5), eps=1e-05, elementwise_affine=False, bias=False)"),
    ("GroupNorm(2, 4)", "GroupNorm(2, 4, eps=1e-05, affine=True, bias=True)"),
    ("RMSNorm(4)", "RMSNorm((4,), eps=None, elementwise_affine=True)"),
    ("RMSNorm([4, 3], eps=1e-3, elementwise_affine=False)", "RMSNorm((4, 3), eps=0.001, elementwise_affine=False)"),
    ("LocalResponseNorm(3)", "LocalResponseNorm(3, alpha=0.0001, beta=0.75, k=1.0)"),
    ("Dropout()", "Dropout(p=0.5, inplace=False)"),
    ("Dropout1d(0.2, True)", "Dropout1d(p=0.2, inplace=True)"),
    ("Dropout2d()", "Dropout2d(p=0.5, inplace=False)"),
    ("Dropout3d(0.1)", "Dropout3d(p=0.1, inplace=False)"),
    ("AlphaDropout(0.1)", "AlphaDropout(p=0.1, inplace=False)"),
    ("FeatureAlphaDropout()", "FeatureAlphaDropout(p=0.5, inplace=False)"),
    ("Embedding(10, 3)", "Embedding(10, 3)"),
    ("Embedding(10, 3, padding_idx=-1, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, sparse=True)",
     "Embedding(10, 3, padding_idx=9, max_norm=1.0, norm_type=3.0, scale_grad_by_freq=True, sparse=True)"),
    ("CosineSimilarity(dim=0)", "CosineSimilarity()"),
    ("PairwiseDistance(p=3.0)", "PairwiseDistance()"),
    ("ZeroPad1d(2)", "ZeroPad1d((2, 2))"),
    ("ZeroPad2d((1, 2, 3, 4))", "ZeroPad2d((1, 2, 3, 4))"),
    ("ZeroPad3d(1)", "ZeroPad3d((1, 1, 1, 1, 1, 1))"),
    ("ConstantPad1d(2, 3.5)", "ConstantPad1d(padding=(2, 2), value=3.5)"),
    ("ConstantPad2d(1, 0)", "ConstantPad2d(padding=(1, 1, 1, 1), value=0)"),
    ("ConstantPad3d((1, 0, 1, 0, 1, 0), 2)", "ConstantPad3d(padding=(1, 0, 1, 0, 1, 0), value=2)"),
    ("ReflectionPad1d(2)", "ReflectionPad1d((2, 2))"),
    ("ReflectionPad2d((1, 0, 2, 0))", "ReflectionPad2d((1, 0, 2, 0))"),
    ("ReflectionPad3d(1)", "ReflectionPad3d((1, 1, 1, 1, 1, 1))"),
    ("ReplicationPad1d(1)", "ReplicationPad1d((1, 1))"),
    ("ReplicationPad2d(1)", "ReplicationPad2d((1, 1, 1, 1))"),
    ("ReplicationPad3d(1)", "ReplicationPad3d((1, 1, 1, 1, 1, 1))"),
    ("CircularPad1d(1)", "CircularPad1d((1, 1))"),
    ("CircularPad2d((1, 2, 0, 1))", "CircularPad2d((1, 2, 0, 1))"),
    ("CircularPad3d(1)", "CircularPad3d((1, 1, 1, 1, 1, 1))"),
    ("Upsample(scale_factor=2)", "Upsample(scale_factor=2.0, mode='nearest')"),
    ("Upsample(size=(3, 4), mode='bilinear', align_corners=True)", "Upsample(size=(3, 4), mode='bilinear')"),
    ("Upsample(scale_factor=(2, 3))", "Upsample(scale_factor=(2.0, 3.0), mode='nearest')"),
    ("UpsamplingNearest2d(scale_factor=2)", "UpsamplingNearest2d(scale_factor=2.0, mode='nearest')"),
    ("UpsamplingBilinear2d(size=3)", "UpsamplingBilinear2d(size=3, mode='bilinear')"),
]


@pytest.mark.parametrize("source, expected", REPRS, ids=[r[0] for r in REPRS])
def test_reprs(source, expected):
    assert repr(eval("nn." + source)) == expected


@pytest.mark.parametrize("source", [r[0] for r in REPRS])
def test_reprs_match_pytorch(torch, source):
    assert repr(eval("nn." + source)) == repr(eval("torch.nn." + source))


def test_batchnorm_parameters_buffers_and_reset():
    bn = nn.BatchNorm2d(3)
    assert [name for name, _ in bn.named_parameters()] == ["weight", "bias"]
    assert [name for name, _ in bn.named_buffers()] == ["running_mean", "running_var", "num_batches_tracked"]
    assert_close(bn.weight, np.ones(3))
    assert_close(bn.bias, np.zeros(3))
    assert_close(bn.running_mean, np.zeros(3))
    assert_close(bn.running_var, np.ones(3))
    assert bn.num_batches_tracked.dtype == rg.int64 and int(bn.num_batches_tracked) == 0
    bn(rg.randn(4, 3, 2, 2))
    bn.reset_running_stats()
    assert int(bn.num_batches_tracked) == 0
    assert_close(bn.running_var, np.ones(3))
    plain = nn.BatchNorm1d(3, affine=False, track_running_stats=False)
    assert plain.weight is None and plain.running_mean is None and list(plain.state_dict()) == []
    assert list(nn.BatchNorm1d(3, bias=False).state_dict()) == ["weight", "running_mean", "running_var",
                                                                "num_batches_tracked"]
    assert nn.BatchNorm1d(3, dtype=rg.float64).running_mean.dtype == rg.float64


def test_norm_layers_init_and_errors():
    ln = nn.LayerNorm((2, 3))
    assert_close(ln.weight, np.ones((2, 3)))
    assert_close(ln.bias, np.zeros((2, 3)))
    assert nn.LayerNorm(3, bias=False).bias is None
    assert nn.LayerNorm(3, elementwise_affine=False).weight is None
    assert tuple(nn.RMSNorm(5).weight.shape) == (5,)
    gn = nn.GroupNorm(2, 4, affine=False)
    assert gn.weight is None and gn.bias is None
    with pytest.raises(ValueError, match=r"num_channels \(5\) must be divisible by num_groups \(2\)"):
        nn.GroupNorm(2, 5)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
            nn.Dropout(p)


@pytest.mark.parametrize("module, bad, message", [
    (nn.BatchNorm1d(3), (2, 3, 4, 5), "expected 2D or 3D input (got 4D input)"),
    (nn.BatchNorm2d(3), (2, 3, 4), "expected 4D input (got 3D input)"),
    (nn.BatchNorm3d(3), (2, 3, 4, 5), "expected 5D input (got 4D input)"),
    (nn.CircularPad1d(1), (2, 3, 4, 5), "expected 2D or 3D input (got 4D input)"),
    (nn.CircularPad2d(1), (2, 3), "expected 3D or 4D input (got 2D input)"),
    (nn.CircularPad3d(1), (2, 3, 4), "expected 4D or 5D input (got 3D input)"),
])
def test_input_rank_errors(module, bad, message):
    with pytest.raises(ValueError) as info:
        module(rg.zeros(*bad))
    assert str(info.value) == message


# ---------------------------------------------------------------------------
# batch normalization: running statistics, train and eval
# ---------------------------------------------------------------------------


def np_batchnorm_steps(batches, momentum):
    """Running mean/var after training on ``batches`` (NumPy): exponential
    average with ``momentum`` or, for None, the cumulative average."""
    c = batches[0].shape[1]
    mean, var = np.zeros(c), np.ones(c)
    for step, x in enumerate(batches, 1):
        axes = (0,) + tuple(range(2, x.ndim))
        factor = 1.0 / step if momentum is None else momentum
        mean = (1 - factor) * mean + factor * x.mean(axis=axes)
        var = (1 - factor) * var + factor * x.var(axis=axes, ddof=1)
    return mean, var


@pytest.mark.parametrize("momentum", [0.1, 0.7, None])
@pytest.mark.parametrize("cls, shape", [(nn.BatchNorm1d, (6, 3)), (nn.BatchNorm1d, (4, 3, 5)),
                                        (nn.BatchNorm2d, (3, 3, 2, 4)), (nn.BatchNorm3d, (2, 3, 2, 2, 3))])
def test_batchnorm_running_statistics_over_steps(cls, shape, momentum):
    bn = cls(3, momentum=momentum, dtype=rg.float64)
    batches = [rand_array(40 + i, shape, low=-1 + i, high=2 + 2 * i) for i in range(4)]
    for x in batches:
        out = bn(T(x))
        axes = (0,) + tuple(range(2, x.ndim))
        expected = (x - x.mean(axis=axes, keepdims=True)) / np.sqrt(x.var(axis=axes, keepdims=True) + 1e-5)
        assert_close(out, expected)
    mean, var = np_batchnorm_steps(batches, momentum)
    assert_close(bn.running_mean, mean)
    assert_close(bn.running_var, var)
    assert int(bn.num_batches_tracked) == 4
    bn.eval()
    x = batches[0]
    cshape = [1, 3] + [1] * (x.ndim - 2)
    assert_close(bn(T(x)), (x - mean.reshape(cshape)) / np.sqrt(var.reshape(cshape) + 1e-5))
    assert int(bn.num_batches_tracked) == 4  # eval does not count


def test_batchnorm_without_running_stats_uses_batch_statistics_in_eval():
    bn = nn.BatchNorm1d(3, track_running_stats=False, dtype=rg.float64).eval()
    x = rand_array(50, (5, 3))
    assert_close(bn(T(x)), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5))
    # Tracking turned off after construction: training leaves the buffers alone.
    bn = nn.BatchNorm1d(3, dtype=rg.float64)
    bn.track_running_stats = False
    bn(T(x))
    assert_close(bn.running_mean, np.zeros(3))


def test_batchnorm_gradients_in_training_mode():
    bn = nn.BatchNorm1d(3, dtype=rg.float64)
    with rg.no_grad():
        bn.weight.copy_(T(rand_array(51, (3,))))
        bn.bias.copy_(T(rand_array(52, (3,))))
    check_grads(lambda x: bn(x), [rand_array(53, (4, 3, 2))])
    x = T(rand_array(54, (4, 3)), requires_grad=True)
    bn(x).pow(2).sum().backward()
    assert bn.weight.grad is not None and bn.bias.grad is not None and x.grad is not None


def test_batchnorm_loads_old_checkpoint_without_num_batches_tracked():
    bn = nn.BatchNorm1d(2)
    bn.num_batches_tracked.fill_(7)
    state = OrderedDict((k, v) for k, v in nn.BatchNorm1d(2).state_dict().items() if k != "num_batches_tracked")
    state._metadata = OrderedDict({"": {"version": 1}})
    bn.load_state_dict(state)
    assert int(bn.num_batches_tracked) == 7
    state._metadata = OrderedDict({"": {"version": 2}})
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "num_batches_tracked"'):
        bn.load_state_dict(state)  # a version 2 checkpoint must have it


# ---------------------------------------------------------------------------
# dropout, embedding, distance, padding, upsampling modules
# ---------------------------------------------------------------------------


def test_dropout_modules_train_and_eval():
    x = T(np.ones((30, 20)))
    for module in (nn.Dropout(0.5), nn.Dropout1d(0.5), nn.Dropout2d(0.5), nn.AlphaDropout(0.5),
                   nn.FeatureAlphaDropout(0.5)):
        inp = x.reshape(30, 20, 1, 1) if isinstance(module, nn.Dropout2d) else x
        assert not np.allclose(N(module(inp)), 1.0), type(module).__name__
        module.eval()
        assert_close(module(inp), N(inp))
    assert nn.Dropout(0.5).eval()(x) is x  # eval returns the input itself
    x = T(np.ones((4, 5)))
    out = nn.Dropout(0.5, inplace=True)(x)
    assert out is x and set(np.unique(N(x))) <= {0.0, 2.0}


def test_embedding_module():
    rg.manual_seed(0)
    emb = nn.Embedding(1000, 8, padding_idx=-2)
    assert emb.padding_idx == 998
    w = N(emb.weight)
    assert np.all(w[998] == 0)
    assert abs(w.mean()) < 0.05 and abs(w.std() - 1) < 0.05
    idx = T(np.array([[1, 998], [3, 1]]))
    out = emb(idx)
    assert tuple(out.shape) == (2, 2, 8)
    out.sum().backward()
    grad = N(emb.weight.grad)
    assert np.all(grad[998] == 0) and np.all(grad[1] == 2) and np.all(grad[3] == 1)
    with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
        nn.Embedding(3, 2, padding_idx=3)
    with pytest.raises(AssertionError, match="Shape of weight does not match"):
        nn.Embedding(3, 2, _weight=rg.zeros(2, 2))


def test_embedding_from_pretrained_shares_and_freezes():
    weights = T(rand_array(55, (4, 3)))
    emb = nn.Embedding.from_pretrained(weights)
    assert not emb.weight.requires_grad
    assert_close(emb(T(np.array([2, 0]))), N(weights)[[2, 0]])
    with rg.no_grad():
        weights[0, 0] = 100.0
    assert float(emb.weight[0, 0]) == 100.0  # shares storage, as PyTorch's
    trainable = nn.Embedding.from_pretrained(weights, freeze=False, padding_idx=1)
    assert trainable.weight.requires_grad and trainable.padding_idx == 1
    assert float(trainable.weight[1].detach().abs().sum()) != 0  # pretrained rows are kept
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        nn.Embedding.from_pretrained(rg.zeros(3))


def test_distance_padding_and_upsampling_modules():
    a, b = rand_array(56, (4, 5)), rand_array(57, (4, 5))
    assert_close(nn.PairwiseDistance(p=1.0)(T(a), T(b)), np.abs(a - b + 1e-6).sum(1))
    cos = (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
    assert_close(nn.CosineSimilarity()(T(a), T(b)), cos)
    x = rand_array(58, (1, 2, 3, 4))
    assert_close(nn.ZeroPad2d((1, 0, 2, 1))(T(x)), np.pad(x, [(0, 0), (0, 0), (2, 1), (1, 0)]))
    assert_close(nn.ConstantPad1d(2, -1.0)(T(x)), np.pad(x, [(0, 0)] * 3 + [(2, 2)], constant_values=-1.0))
    assert_close(nn.ReflectionPad2d(1)(T(x)), np.pad(x, [(0, 0), (0, 0), (1, 1), (1, 1)], mode="reflect"))
    assert_close(nn.ReplicationPad1d((0, 3))(T(x[0])), np.pad(x[0], [(0, 0), (0, 0), (0, 3)], mode="edge"))
    assert_close(nn.CircularPad2d((1, 1, 0, 2))(T(x)), np.pad(x, [(0, 0), (0, 0), (0, 2), (1, 1)], mode="wrap"))
    assert_close(nn.ReplicationPad3d(1)(T(x)), np.pad(x, [(0, 0), (1, 1), (1, 1), (1, 1)], mode="edge"))
    up = nn.Upsample(scale_factor=2)
    assert_close(up(T(x)), x.repeat(2, axis=2).repeat(2, axis=3))
    corners = N(nn.UpsamplingBilinear2d(size=(5, 7))(T(x)))
    assert_close(corners[..., [0, -1], :][..., [0, -1]], x[..., [0, -1], :][..., [0, -1]])


# ---------------------------------------------------------------------------
# against PyTorch, with the same state
# ---------------------------------------------------------------------------


def load_torch_state(module, torch_module):
    """Copies the PyTorch module's state_dict into the rustgrad module."""
    state = OrderedDict((k, rg.tensor(v.detach().numpy().copy())) for k, v in torch_module.state_dict().items())
    module.load_state_dict(state)


def randomize(torch, torch_module, seed):
    """Non-trivial affine parameters and running statistics."""
    gen = np.random.default_rng(seed)
    with torch.no_grad():
        for name, t in torch_module.state_dict().items():
            if t.is_floating_point():
                values = gen.uniform(0.5, 1.5, tuple(t.shape)) if "var" in name else gen.normal(size=tuple(t.shape))
                t.copy_(torch.tensor(values))


MODULES = [
    ("BatchNorm1d(3)", (5, 3)), ("BatchNorm1d(3, momentum=None)", (4, 3, 6)), ("BatchNorm2d(3)", (2, 3, 4, 5)),
    ("BatchNorm2d(3, affine=False)", (2, 3, 2, 2)), ("BatchNorm3d(3, bias=False)", (2, 3, 2, 3, 2)),
    ("BatchNorm2d(3, track_running_stats=False)", (2, 3, 3, 2)),
    ("LayerNorm(5)", (2, 3, 5)), ("LayerNorm((3, 5), bias=False)", (2, 3, 5)),
    ("LayerNorm(5, elementwise_affine=False)", (4, 5)), ("GroupNorm(3, 6)", (2, 6, 4)),
    ("GroupNorm(2, 6, affine=False)", (2, 6, 2, 2)), ("RMSNorm(5)", (2, 3, 5)),
    ("RMSNorm((3, 5), eps=1e-3)", (2, 3, 5)),
    ("LocalResponseNorm(3, alpha=0.1)", (2, 5, 4)), ("Upsample(scale_factor=2, mode='bilinear')", (1, 2, 3, 4)),
    ("Upsample(size=7, mode='linear', align_corners=True)", (1, 2, 4)), ("ReflectionPad2d((1, 2, 0, 1))", (1, 2, 3, 4)),
    ("ReplicationPad1d(2)", (2, 3, 4)), ("CircularPad1d((1, 2))", (2, 3, 4)), ("ConstantPad3d(1, 0.5)", (1, 2, 2, 2)),
]


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("source, shape", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_pytorch(torch, source, shape, dtype, train):
    torch_module = eval("torch.nn." + source).to(getattr(torch, dtype))
    randomize(torch, torch_module, 60)
    module = eval("nn." + source).to(getattr(rg, dtype))
    load_torch_state(module, torch_module)
    module.train(train)
    torch_module.train(train)
    tol = dict(rtol=1e-4, atol=1e-5) if dtype == "float32" else dict(rtol=1e-10, atol=1e-11)
    for step in range(3):  # several steps: running statistics evolve in training
        x = rand_array(61 + step, shape, dtype)
        xr, xt = T(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out_r, out_t = module(xr), torch_module(xt)
        np.testing.assert_allclose(N(out_r), out_t.detach().numpy(), **tol)
        w = rand_array(70 + step, tuple(out_t.shape), dtype, low=0.5, high=1.5)
        (out_r * T(w)).sum().backward()
        (out_t * torch.tensor(w)).sum().backward()
        np.testing.assert_allclose(N(xr.grad), xt.grad.numpy(), **tol)
        for (name, p_r), (_, p_t) in zip(module.named_parameters(), torch_module.named_parameters()):
            np.testing.assert_allclose(N(p_r.grad), p_t.grad.numpy(), **tol, err_msg=name)
    state_r, state_t = module.state_dict(), torch_module.state_dict()
    assert list(state_r) == list(state_t)
    for key in state_t:
        np.testing.assert_allclose(N(state_r[key]), state_t[key].numpy(), **tol, err_msg=key)


@pytest.mark.parametrize("kwargs", [dict(padding_idx=2, scale_grad_by_freq=True), dict(max_norm=1.2, norm_type=1.5)])
def test_embedding_module_matches_pytorch(torch, kwargs):
    torch_emb, emb = torch.nn.Embedding(6, 4, **kwargs), nn.Embedding(6, 4, **kwargs)
    load_torch_state(emb, torch_emb)
    idx = np.array([[0, 2, 5], [5, 5, 1]])
    out_r, out_t = emb(T(idx)), torch_emb(torch.tensor(idx))
    np.testing.assert_allclose(N(out_r), out_t.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(N(emb.weight), torch_emb.weight.detach().numpy(), rtol=1e-6)  # max_norm's renorm
    w = rand_array(80, (2, 3, 4), "float32")
    (out_r * T(w)).sum().backward()
    (out_t * torch.tensor(w)).sum().backward()
    np.testing.assert_allclose(N(emb.weight.grad), torch_emb.weight.grad.numpy(), rtol=1e-6)


def test_eval_batchnorm_matches_pytorch_after_training(torch):
    torch_bn, bn = torch.nn.BatchNorm2d(4, momentum=None), nn.BatchNorm2d(4, momentum=None)
    for step in range(5):
        x = rand_array(90 + step, (3, 4, 2, 2), "float32", low=step, high=2 * step + 1)
        bn(T(x))
        torch_bn(torch.tensor(x))
    bn.eval()
    torch_bn.eval()
    x = rand_array(99, (2, 4, 3, 3), "float32")
    np.testing.assert_allclose(N(bn(T(x))), torch_bn(torch.tensor(x)).detach().numpy(), rtol=1e-4, atol=1e-5)
    assert int(bn.num_batches_tracked) == int(torch_bn.num_batches_tracked) == 5
