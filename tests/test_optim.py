"""rustgrad.optim: every optimizer's trajectory against a NumPy transcription
of the algorithm PyTorch documents (the pseudo-code of each class's
docstring) and against PyTorch itself; parameter groups, parameters without
gradients, odd layouts; state_dict/load_state_dict in PyTorch's format;
zero_grad, closures, step hooks, reprs and PyTorch's error messages; and a
small least-squares problem trained end to end with autograd's gradients."""

import pickle

import numpy as np
import pytest

import rustgrad as rg
import rustgrad.optim as optim

from conftest import REFERENCE, N, raises_same

# ---------------------------------------------------------------------------
# NumPy references: PyTorch's documented algorithms, one step of one
# parameter each. ``s`` is the parameter's state (a dict, empty at first),
# ``t`` the step number counting from 1. Defaults are the classes' defaults.
# ---------------------------------------------------------------------------


def ref_sgd(theta, g, s, t, lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False, maximize=False):
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * theta
    if momentum != 0:
        # b_1 = g_1 (the buffer starts at the first gradient that meets momentum)
        s["b"] = g if "b" not in s else momentum * s["b"] + (1 - dampening) * g
        g = g + momentum * s["b"] if nesterov else s["b"]
    return theta - lr * g


def ref_adam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
             maximize=False, decoupled_weight_decay=False):
    b1, b2 = betas
    g = -g if maximize else g
    if weight_decay != 0:
        if decoupled_weight_decay:  # AdamW's pseudo-code
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    if amsgrad:
        s["vmax"] = np.maximum(s.get("vmax", 0.0), s["v"])
        v_hat = s["vmax"] / (1 - b2**t)
    else:
        v_hat = s["v"] / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_adamw(theta, g, s, t, weight_decay=1e-2, **kw):
    return ref_adam(theta, g, s, t, weight_decay=weight_decay, decoupled_weight_decay=True, **kw)


def ref_rmsprop(theta, g, s, t, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0, momentum=0, centered=False,
                maximize=False):
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["v"] = alpha * s.get("v", 0.0) + (1 - alpha) * g**2
    v_tilde = s["v"]
    if centered:
        s["g_ave"] = s.get("g_ave", 0.0) * alpha + (1 - alpha) * g
        v_tilde = v_tilde - s["g_ave"] ** 2
    if momentum > 0:
        s["b"] = momentum * s.get("b", 0.0) + g / (np.sqrt(v_tilde) + eps)
        return theta - lr * s["b"]
    return theta - lr * g / (np.sqrt(v_tilde) + eps)


def ref_adagrad(theta, g, s, t, lr=1e-2, lr_decay=0, weight_decay=0, initial_accumulator_value=0, eps=1e-10,
                maximize=False):
    g = -g if maximize else g
    lr_t = lr / (1 + (t - 1) * lr_decay)
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["sum"] = s.get("sum", initial_accumulator_value) + g**2
    return theta - lr_t * g / (np.sqrt(s["sum"]) + eps)


def ref_adadelta(theta, g, s, t, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0, maximize=False):
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["v"] = s.get("v", 0.0) * rho + g**2 * (1 - rho)
    delta = np.sqrt(s.get("u", 0.0) + eps) / np.sqrt(s["v"] + eps) * g
    s["u"] = s.get("u", 0.0) * rho + delta**2 * (1 - rho)
    return theta - lr * delta


def ref_adamax(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, maximize=False):
    b1, b2 = betas
    g = -g if maximize else g
    if weight_decay != 0:
        g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["u"] = np.maximum(b2 * s.get("u", 0.0), np.abs(g) + eps)
    return theta - lr * s["m"] / ((1 - b1**t) * s["u"])


def ref_nadam(theta, g, s, t, lr=2e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, momentum_decay=4e-3,
              decoupled_weight_decay=False, maximize=False, mu_product_dtype=np.float32):
    b1, b2 = betas
    g = -g if maximize else g
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
    mu_t = b1 * (1 - 0.5 * 0.96 ** (t * momentum_decay))
    mu_next = b1 * (1 - 0.5 * 0.96 ** ((t + 1) * momentum_decay))
    # prod_{i=1}^{t} mu_i. PyTorch keeps it in state["mu_product"], a 0-d
    # tensor of the default scalar dtype (float32): rounded there each step.
    s["prod"] = float(mu_product_dtype(s.get("prod", 1.0)) * mu_product_dtype(mu_t))
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = mu_next * s["m"] / (1 - s["prod"] * mu_next) + (1 - mu_t) * g / (1 - s["prod"])
    v_hat = s["v"] / (1 - b2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps)


def ref_radam(theta, g, s, t, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, decoupled_weight_decay=False,
              maximize=False):
    b1, b2 = betas
    rho_inf = 2 / (1 - b2) - 1
    g = -g if maximize else g
    if weight_decay != 0:
        if decoupled_weight_decay:
            theta = theta - lr * weight_decay * theta
        else:
            g = g + weight_decay * theta
    s["m"] = b1 * s.get("m", 0.0) + (1 - b1) * g
    s["v"] = b2 * s.get("v", 0.0) + (1 - b2) * g**2
    m_hat = s["m"] / (1 - b1**t)
    rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
    if rho_t > 5:
        l_t = np.sqrt(1 - b2**t) / (np.sqrt(s["v"]) + eps)
        r_t = np.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
        return theta - lr * m_hat * r_t * l_t
    return theta - lr * m_hat


REFERENCES = {"SGD": ref_sgd, "Adam": ref_adam, "AdamW": ref_adamw, "RMSprop": ref_rmsprop, "Adagrad": ref_adagrad,
              "Adadelta": ref_adadelta, "Adamax": ref_adamax, "NAdam": ref_nadam, "RAdam": ref_radam}


def reference_run(name, theta0, grads, kwargs):
    """The documented algorithm on one parameter: ``grads[k]`` is the
    gradient at step k, or None when the parameter has none (skipped: its
    step count does not advance); ``kwargs`` is a dict, or a function of k
    giving the hyper-parameters in force at step k. Returns the parameter
    after every step."""
    step = REFERENCES[name]
    theta, state, t, out = np.array(theta0, dtype=np.float64), {}, 0, []
    for k, g in enumerate(grads):
        if g is not None:
            t += 1
            theta = step(theta, np.asarray(g, dtype=np.float64), state, t,
                         **(kwargs(k) if callable(kwargs) else kwargs))
        out.append(theta.copy())
    return out


def reference_trajectory(name, kwargs, params0, grads):
    """``reference_run`` for each parameter; ``grads[k][i]`` is parameter
    i's gradient at step k. Returns ``traj[k][i]``."""
    runs = [reference_run(name, p0, [gs[i] for gs in grads], kwargs) for i, p0 in enumerate(params0)]
    return [list(step) for step in zip(*runs)]


# ---------------------------------------------------------------------------
# configurations: every flag of every optimizer
# ---------------------------------------------------------------------------

CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.2)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.05, momentum=0.5, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.05)),
    ("Adam", dict(lr=0.05, amsgrad=True)),
    ("Adam", dict(lr=0.05, weight_decay=0.1)),
    ("Adam", dict(lr=0.05, weight_decay=0.1, decoupled_weight_decay=True)),
    ("Adam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.05)),
    ("AdamW", dict(lr=0.05, weight_decay=0.3, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-3, centered=True, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, weight_decay=0.1, eps=1e-3)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.5, eps=1e-3, weight_decay=0.1)),
    ("Adadelta", dict(maximize=True)),
    ("Adamax", dict(lr=0.05)),
    ("Adamax", dict(lr=0.05, betas=(0.8, 0.9), eps=1e-3, weight_decay=0.1, maximize=True)),
    ("NAdam", dict(lr=0.05)),
    ("NAdam", dict(lr=0.05, momentum_decay=0.01, weight_decay=0.1)),
    ("NAdam", dict(lr=0.05, betas=(0.8, 0.99), weight_decay=0.1, decoupled_weight_decay=True, maximize=True)),
    ("RAdam", dict(lr=0.05)),  # rho_t <= 5 for the first steps, then rectified
    ("RAdam", dict(lr=0.05, weight_decay=0.1)),
    ("RAdam", dict(lr=0.05, betas=(0.8, 0.99), eps=1e-3, weight_decay=0.1, decoupled_weight_decay=True,
                   maximize=True)),
]
CONFIG_IDS = [f"{name}-" + ("-".join(f"{k}={v}" for k, v in kw.items()) or "defaults") for name, kw in CONFIGS]

SHAPES = [(3, 4), (5,), ()]
STEPS = 20


def problem(seed=0, shapes=SHAPES, steps=STEPS):
    """Initial parameters and ``steps`` gradients per parameter (fixed,
    pseudo-random, of mixed magnitudes so that the adaptive methods'
    per-element scaling matters)."""
    rng = np.random.default_rng(seed)
    params0 = [rng.standard_normal(s) for s in shapes]
    scale = [rng.uniform(0.1, 3.0, size=s) for s in shapes]
    grads = [[rng.standard_normal(s) * c for s, c in zip(shapes, scale)] for _ in range(steps)]
    return params0, grads


def run_trajectory(lib, name, kwargs, params0, grads, dtype):
    """Runs ``lib.optim.<name>`` over the fixed gradients; returns NumPy
    copies of the parameters after every step, and the optimizer."""
    params = [lib.tensor(np.asarray(p), dtype=dtype).requires_grad_() for p in params0]
    opt = getattr(lib.optim, name)(params, **kwargs)
    traj = []
    for gs in grads:
        for p, g in zip(params, gs):
            p.grad = lib.tensor(np.asarray(g), dtype=dtype)
        opt.step()
        traj.append([np.array(p.detach().numpy(), dtype=np.float64, copy=True) for p in params])
    return traj, opt


def assert_trajectories_close(actual, expected, params0, rtol, atol=0.0, what=""):
    """Compares the displacements ``p_t - p_0`` step by step (a relative
    tolerance on the parameters themselves would hide the update when the
    parameters are much larger than the steps)."""
    for t, (a_step, e_step) in enumerate(zip(actual, expected), start=1):
        for i, (a, e, p0) in enumerate(zip(a_step, e_step, params0)):
            assert a.shape == e.shape
            np.testing.assert_allclose(a - p0, e - p0, rtol=rtol, atol=atol,
                                       err_msg=f"{what}: parameter {i} after step {t}")


# ---------------------------------------------------------------------------
# 1. trajectories
# ---------------------------------------------------------------------------


def test_every_optimizer_and_flag_is_configured():
    """The configuration table exercises every class and every option."""
    assert {name for name, _ in CONFIGS} == set(REFERENCES)
    exported = set(optim.__all__) - {"Optimizer", "lr_scheduler"}
    assert set(REFERENCES) <= exported
    if not REFERENCE:  # PyTorch has more optimizers
        assert exported == set(REFERENCES)
    used = {(name, k) for name, kw in CONFIGS for k in kw}
    for name, flags in [("SGD", "momentum dampening nesterov weight_decay maximize"),
                        ("Adam", "betas eps weight_decay amsgrad maximize decoupled_weight_decay"),
                        ("AdamW", "weight_decay amsgrad maximize"),
                        ("RMSprop", "alpha eps weight_decay momentum centered maximize"),
                        ("Adagrad", "lr_decay weight_decay initial_accumulator_value eps maximize"),
                        ("Adadelta", "lr rho eps weight_decay maximize"),
                        ("Adamax", "betas eps weight_decay maximize"),
                        ("NAdam", "betas weight_decay momentum_decay decoupled_weight_decay maximize"),
                        ("RAdam", "betas eps weight_decay decoupled_weight_decay maximize")]:
        for flag in flags.split():
            assert (name, flag) in used, (name, flag)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_trajectory_matches_documented_algorithm_float64(name, kwargs):
    params0, grads = problem()
    expected = reference_trajectory(name, kwargs, params0, grads)
    actual, opt = run_trajectory(rg, name, kwargs, params0, grads, rg.float64)
    # the parameters moved (the comparison below is not vacuous)
    assert max(np.max(np.abs(a - p)) for a, p in zip(actual[-1], params0)) > 1e-2
    assert_trajectories_close(actual, expected, params0, rtol=1e-10, atol=1e-14, what=name)


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_gradients_are_left_untouched_by_step(name, kwargs):
    """maximize / weight decay work on a copy of the gradient, as in PyTorch."""
    params0, grads = problem(shapes=[(2, 3)], steps=3)
    params = [rg.tensor(p).requires_grad_() for p in params0]
    opt = getattr(optim, name)(params, **kwargs)
    for gs in grads:
        gt = rg.tensor(gs[0])
        params[0].grad = gt
        opt.step()
        np.testing.assert_array_equal(N(params[0].grad), gs[0])
        assert params[0].grad is gt
    assert params[0].is_leaf and params[0].requires_grad and params[0].grad_fn is None


# PyTorch runs the same formulas op for op; ATen fuses a few multiply-adds,
# so the parameters agree to a few ulps (at most 3 seen over these 20 steps).
def ulps(dtype, n=8):
    eps = float(np.finfo(dtype).eps)
    return dict(rtol=n * eps, atol=n * eps)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_trajectory_and_state_match_pytorch(torch, name, kwargs, dtype):
    params0, grads = problem(seed=1)
    actual, opt = run_trajectory(rg, name, kwargs, params0, grads, getattr(rg, dtype))
    expected, topt = run_trajectory(torch, name, kwargs, params0, grads, getattr(torch, dtype))
    for t, (a_step, e_step) in enumerate(zip(actual, expected), start=1):
        for i, (a, e) in enumerate(zip(a_step, e_step)):
            np.testing.assert_allclose(a, e, **ulps(dtype), err_msg=f"parameter {i} after step {t}")
    # the state: same keys in the same order, same dtypes, same values
    sd, tsd = opt.state_dict(), topt.state_dict()
    assert list(sd["state"]) == list(tsd["state"])
    for i in tsd["state"]:
        assert list(sd["state"][i]) == list(tsd["state"][i])
        for key, tv in tsd["state"][i].items():
            v = sd["state"][i][key]
            assert isinstance(v, rg.Tensor)
            assert str(v.dtype) == str(tv.dtype) and tuple(v.shape) == tuple(tv.shape), key
            tv = tv.detach().numpy()
            tol = ulps(dtype, 16)
            np.testing.assert_allclose(N(v), tv, rtol=tol["rtol"], atol=tol["atol"] * np.max(np.abs(tv)),
                                       err_msg=f"state {i} {key}")


# ---------------------------------------------------------------------------
# 2. groups, shapes, layouts, parameters without gradients
# ---------------------------------------------------------------------------

# one configuration per optimizer with most of its flags on
FULL = {}
for _name, _kw in CONFIGS:
    FULL[_name] = _kw
NAMES = list(FULL)


def leaf(a, dtype=rg.float64):
    return rg.tensor(np.asarray(a), dtype=dtype).requires_grad_()


def assert_matches_reference(p, expected, p0, what=""):
    """A parameter's final value against the reference (displacement
    compared, as above)."""
    np.testing.assert_allclose(N(p) - p0, expected - p0, rtol=1e-10, atol=1e-14, err_msg=what)


@pytest.mark.parametrize("name", NAMES)
def test_one_group_of_mixed_shapes_layouts_and_missing_grads(name):
    kwargs = FULL[name]
    rng = np.random.default_rng(3)
    steps = 8
    base_t = rng.standard_normal((4, 3))
    base_s = rng.standard_normal(10)
    base_c = rng.standard_normal((4, 3))
    t_storage = rg.tensor(base_t)
    s_storage = rg.tensor(base_s)
    c_storage = rg.tensor(base_c)
    params = {
        "matrix": leaf(rng.standard_normal((3, 4))),
        "scalar": leaf(rng.standard_normal(())),
        "transposed": t_storage.t().detach().requires_grad_(),  # non-contiguous, strides (1, 3)
        "offset": s_storage[2:7].detach().requires_grad_(),  # contiguous, storage offset 2
        "col0": c_storage[:, 0].detach().requires_grad_(),  # two strided views of one storage
        "col2": c_storage[:, 2].detach().requires_grad_(),
        "never": leaf(rng.standard_normal(4)),  # never gets a gradient
        "late": leaf(rng.standard_normal((2, 2))),  # from step 3 on, none at step 5
    }
    assert not params["transposed"].is_contiguous() and params["transposed"].stride() == (1, 3)
    p0 = {k: N(v) for k, v in params.items()}
    grads = {k: [rng.standard_normal(v.shape) for _ in range(steps)] for k, v in params.items()}
    grads["never"] = [None] * steps
    grads["late"] = [None, None, *grads["late"][2:5], None, *grads["late"][6:]]
    opt = getattr(optim, name)(list(params.values()), **kwargs)
    for k in range(steps):
        for key, p in params.items():
            g = grads[key][k]
            if g is None:
                p.grad = None
            elif key == "transposed" and k % 2:
                p.grad = rg.tensor(g.T.copy()).t()  # a non-contiguous gradient too
            elif key == "offset" and k == 2:
                g[:] = g[0]
                p.grad = rg.tensor(g[:1]).expand(5)  # and an expanded one (stride 0)
            else:
                p.grad = rg.tensor(g)
        opt.step()
    for key, p in params.items():
        expected = reference_run(name, p0[key], grads[key], kwargs)[-1]
        assert tuple(p.shape) == p0[key].shape
        assert_matches_reference(p, expected, p0[key], what=key)
    np.testing.assert_array_equal(N(params["never"]), p0["never"])
    # the updates were made in place, in the parameters' own storages
    assert params["transposed"].stride() == (1, 3)
    np.testing.assert_array_equal(N(t_storage), N(params["transposed"]).T)
    got = N(s_storage)
    np.testing.assert_array_equal(got[[0, 1, 7, 8, 9]], base_s[[0, 1, 7, 8, 9]])
    np.testing.assert_array_equal(got[2:7], N(params["offset"]))
    got = N(c_storage)
    np.testing.assert_array_equal(got[:, 1], base_c[:, 1])
    np.testing.assert_array_equal(got[:, [0, 2]], np.stack([N(params["col0"]), N(params["col2"])], axis=1))
    # state: none for a parameter that never had a gradient (Adagrad makes
    # its state at construction), and a per-parameter step count
    never = params["never"]
    if name == "Adagrad":
        assert float(opt.state[never]["step"]) == 0.0
        np.testing.assert_array_equal(N(opt.state[never]["sum"]),
                                      np.full(4, kwargs.get("initial_accumulator_value", 0)))
    else:
        assert not any(k is never for k in opt.state)
        assert 6 not in opt.state_dict()["state"]
    if name != "SGD":
        assert float(opt.state[params["late"]]["step"]) == 5.0
        assert float(opt.state[params["matrix"]]["step"]) == float(steps)


@pytest.mark.parametrize("name", NAMES)
def test_large_parameters_split_across_threads(name):
    """Parameters past the size where the update is split across threads,
    contiguous and transposed."""
    kwargs = FULL[name]
    rng = np.random.default_rng(4)
    shapes = [(300, 400), (400, 300)]
    params0 = [rng.standard_normal(sh) for sh in shapes]
    grads = [[rng.standard_normal(sh) for sh in shapes] for _ in range(3)]
    ps = [leaf(params0[0]), rg.tensor(params0[1].T.copy()).t().detach().requires_grad_()]
    assert not ps[1].is_contiguous()
    opt = getattr(optim, name)(ps, **kwargs)
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = rg.tensor(g)
        opt.step()
    for i, p in enumerate(ps):
        expected = reference_run(name, params0[i], [gs[i] for gs in grads], kwargs)[-1]
        assert_matches_reference(p, expected, params0[i], what=f"parameter {i}")


@pytest.mark.parametrize("name", NAMES)
def test_empty_parameter(name):
    z = rg.zeros(0, dtype=rg.float64, requires_grad=True)
    p = leaf([1.0, 2.0])
    opt = getattr(optim, name)([z, p], **FULL[name])
    z.grad = rg.zeros(0, dtype=rg.float64)
    p.grad = rg.tensor([0.5, -0.5], dtype=rg.float64)
    opt.step()
    assert tuple(z.shape) == (0,)
    assert list(opt.state[z]) == expected_state_keys(name, FULL[name])
    for key, v in opt.state[z].items():
        assert tuple(v.shape) == (() if key in ("step", "mu_product") else (0,))
    assert_matches_reference(p, reference_run(name, [1.0, 2.0], [np.array([0.5, -0.5])], FULL[name])[-1],
                             np.array([1.0, 2.0]))


def test_integer_hyperparameters():
    cases = [("SGD", dict(lr=1, momentum=1, dampening=1, weight_decay=1)),
             ("Adam", dict(lr=1, eps=0, weight_decay=1)),
             ("Adagrad", dict(lr=1, lr_decay=1, initial_accumulator_value=1, eps=0)),
             ("RMSprop", dict(lr=1, alpha=0, momentum=1, eps=1)),
             ("Adadelta", dict(lr=2, rho=1, eps=1))]
    params0, grads = problem(seed=16, shapes=[(3,)], steps=4)
    for name, kwargs in cases:
        p = leaf(params0[0])
        opt = getattr(optim, name)([p], **kwargs)
        for gs in grads:
            p.grad = rg.tensor(gs[0])
            opt.step()
        assert_matches_reference(p, reference_run(name, params0[0], [gs[0] for gs in grads], kwargs)[-1],
                                 params0[0], what=name)


@pytest.mark.parametrize("name", NAMES)
def test_mixed_dtypes_in_one_group_match_pytorch(torch, name):
    kwargs = FULL[name]
    params0, grads = problem(seed=5, shapes=[(3, 2), (4,)], steps=10)
    results = []
    for lib in (rg, torch):
        ps = [lib.tensor(params0[0], dtype=lib.float32).requires_grad_(),
              lib.tensor(params0[1], dtype=lib.float64).requires_grad_()]
        opt = getattr(lib.optim, name)(ps, **kwargs)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = lib.tensor(g, dtype=p.dtype)
            opt.step()
        assert [p.dtype for p in ps] == [lib.float32, lib.float64]
        results.append([p.detach().numpy().copy() for p in ps])
    np.testing.assert_allclose(results[0][0], results[1][0], **ulps(np.float32))
    np.testing.assert_allclose(results[0][1], results[1][1], **ulps(np.float64))


@pytest.mark.parametrize("name", NAMES)
def test_param_groups_with_their_own_hyperparameters(name):
    kwargs = FULL[name]
    params0, grads = problem(seed=11, shapes=[(3,), (2, 2), ()], steps=10)
    ps = [leaf(p) for p in params0]
    group1 = dict(kwargs, lr=kwargs.get("lr", 1.0) * 0.1, weight_decay=0.25)
    opt = getattr(optim, name)([{"params": [ps[0]]}, {"params": ps[1:], "lr": group1["lr"], "weight_decay": 0.25}],
                               **kwargs)
    assert [g["lr"] for g in opt.param_groups] == [kwargs.get("lr", opt.defaults["lr"]), group1["lr"]]
    assert opt.param_groups[1]["weight_decay"] == 0.25
    # hyper-parameters a group does not set come from the defaults
    assert {k: v for k, v in opt.param_groups[1].items() if k not in ("params", "lr", "weight_decay")} == \
        {k: v for k, v in opt.defaults.items() if k not in ("lr", "weight_decay")}
    for gs in grads:
        for p, g in zip(ps, gs):
            p.grad = rg.tensor(g)
        opt.step()
    for i, (p, kw) in enumerate(zip(ps, [kwargs, group1, group1])):
        expected = reference_run(name, params0[i], [gs[i] for gs in grads], kw)[-1]
        assert_matches_reference(p, expected, params0[i], what=f"parameter {i}")


@pytest.mark.parametrize("name", NAMES)
def test_add_param_group_mid_run(name):
    kwargs = FULL[name]
    params0, grads = problem(seed=12, shapes=[(3,), (2,)], steps=10)
    a, b = leaf(params0[0]), leaf(params0[1])
    opt = getattr(optim, name)([a], **kwargs)
    for k, gs in enumerate(grads):
        if k == 4:
            opt.add_param_group({"params": b, "lr": 0.02})  # a single tensor is accepted here
            assert len(opt.param_groups[1]["params"]) == 1 and opt.param_groups[1]["params"][0] is b
            assert opt.param_groups[1]["lr"] == 0.02
            assert opt.state_dict()["param_groups"][1]["params"] == [1]
        a.grad = rg.tensor(gs[0])
        b.grad = rg.tensor(gs[1])
        opt.step()
    assert_matches_reference(a, reference_run(name, params0[0], [gs[0] for gs in grads], kwargs)[-1], params0[0])
    expected_b = reference_run(name, params0[1], [None] * 4 + [gs[1] for gs in grads[4:]], dict(kwargs, lr=0.02))
    assert_matches_reference(b, expected_b[-1], params0[1])


@pytest.mark.parametrize("name", NAMES)
def test_hyperparameters_edited_between_steps_take_effect(name):
    kwargs = FULL[name]
    lr = kwargs.get("lr", 1.0)

    def schedule(k):  # lr divided by 4 from step 5, zero from step 10, weight decay changed at step 12
        return dict(kwargs, lr=lr if k < 5 else lr / 4 if k < 10 else 0.0 if k < 14 else lr,
                    weight_decay=kwargs.get("weight_decay", 0) if k < 12 else 0.3)

    params0, grads = problem(seed=13, shapes=[(4,)], steps=18)
    p = leaf(params0[0])
    opt = getattr(optim, name)([p], **kwargs)
    for k, gs in enumerate(grads):
        opt.param_groups[0]["lr"] = schedule(k)["lr"]
        opt.param_groups[0]["weight_decay"] = schedule(k)["weight_decay"]
        before = N(p)
        p.grad = rg.tensor(gs[0])
        opt.step()
        if 10 <= k < 14:
            np.testing.assert_array_equal(N(p), before)  # lr = 0: no move
    expected = reference_run(name, params0[0], [gs[0] for gs in grads], schedule)
    assert_matches_reference(p, expected[-1], params0[0])


def test_sgd_momentum_switched_on_mid_run_starts_its_buffer_at_the_gradient():
    params0, grads = problem(seed=14, shapes=[(5,)], steps=8)
    p = leaf(params0[0])
    opt = optim.SGD([p], lr=0.1)

    def schedule(k):
        return dict(lr=0.1, momentum=0.0 if k < 3 else 0.9, dampening=0.5)

    for k, gs in enumerate(grads):
        opt.param_groups[0].update(schedule(k))
        p.grad = rg.tensor(gs[0])
        opt.step()
        if k == 3:
            np.testing.assert_array_equal(N(opt.state[p]["momentum_buffer"]), gs[0])
    assert_matches_reference(p, reference_run("SGD", params0[0], [gs[0] for gs in grads], schedule)[-1], params0[0])


# ---------------------------------------------------------------------------
# 3. state_dict / load_state_dict
# ---------------------------------------------------------------------------


def expected_state_keys(name, kwargs):
    """PyTorch's per-parameter state keys, in its order."""
    if name == "SGD":
        return ["momentum_buffer"] if kwargs.get("momentum", 0) != 0 else []
    if name in ("Adam", "AdamW"):
        return ["step", "exp_avg", "exp_avg_sq"] + (["max_exp_avg_sq"] if kwargs.get("amsgrad") else [])
    if name == "RMSprop":
        return (["step", "square_avg"] + (["momentum_buffer"] if kwargs.get("momentum", 0) > 0 else [])
                + (["grad_avg"] if kwargs.get("centered") else []))
    return {"Adagrad": ["step", "sum"], "Adadelta": ["step", "square_avg", "acc_delta"],
            "Adamax": ["step", "exp_avg", "exp_inf"], "NAdam": ["step", "mu_product", "exp_avg", "exp_avg_sq"],
            "RAdam": ["step", "exp_avg", "exp_avg_sq"]}[name]


def two_group_optimizer(lib, name, kwargs, dtype=None):
    """Parameters a (2, 3) and b (4,) in group 0, c (0-d) and d (3,) in
    group 1 with its own lr; d never has a gradient."""
    dtype = dtype or lib.float64
    rng = np.random.default_rng(21)
    ps = [lib.tensor(rng.standard_normal(s), dtype=dtype).requires_grad_() for s in [(2, 3), (4,), (), (3,)]]
    opt = getattr(lib.optim, name)([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.01}], **kwargs)
    return opt, ps


def take_steps(lib, opt, ps, steps, seed, with_grad=3):
    rng = np.random.default_rng(seed)
    for _ in range(steps):
        for p in ps[:with_grad]:
            p.grad = lib.tensor(rng.standard_normal(tuple(p.shape)), dtype=p.dtype)
        opt.step()


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_format(name, kwargs):
    opt, ps = two_group_optimizer(rg, name, kwargs)
    take_steps(rg, opt, ps, 3, seed=1)
    sd = opt.state_dict()
    assert list(sd) == ["state", "param_groups"]
    # groups: the hyper-parameters, then the parameters as indices counted across groups
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    for packed, group in zip(sd["param_groups"], opt.param_groups):
        assert list(packed)[-1] == "params"
        assert {k: v for k, v in packed.items() if k != "params"} == {k: v for k, v in group.items() if k != "params"}
        assert list(packed)[:-1] == list(opt.defaults)
    assert sd["param_groups"][1]["lr"] == 0.01
    # state: int keys, PyTorch's names, tensors shaped and typed like the parameters
    keys = expected_state_keys(name, kwargs)
    with_state = [0, 1, 2] if keys else []
    if name == "Adagrad":
        with_state = [0, 1, 2, 3]  # made at construction
    assert sorted(sd["state"]) == with_state
    for i in with_state:
        st = sd["state"][i]
        assert list(st) == keys
        for key, v in st.items():
            assert isinstance(v, rg.Tensor)
            if key in ("step", "mu_product"):
                assert v.shape == () and v.dtype == rg.float32
            else:
                assert tuple(v.shape) == tuple(ps[i].shape) and v.dtype == ps[i].dtype, key
        if "step" in st:
            assert float(st["step"]) == (0.0 if i == 3 else 3.0)
    # the state dict holds the optimizer's own state tensors, not copies (as PyTorch)
    for i in with_state:
        for key in keys:
            assert sd["state"][i][key] is opt.state[ps[i]][key]


def test_sgd_without_momentum_keeps_an_empty_state():
    p = leaf([1.0, 2.0])
    opt = optim.SGD([p], lr=0.1)
    p.grad = rg.tensor([1.0, 1.0], dtype=rg.float64)
    opt.step()
    assert opt.state_dict()["state"] == {}
    assert len(opt.state) == 0


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_state_dict_structure_matches_pytorch(torch, name, kwargs):
    sds = []
    for lib in (rg, torch):
        opt, ps = two_group_optimizer(lib, name, kwargs)
        take_steps(lib, opt, ps, 2, seed=2)
        sds.append(opt.state_dict())
    sd, tsd = sds
    assert list(sd) == list(tsd)
    assert len(sd["param_groups"]) == len(tsd["param_groups"])
    for g, tg in zip(sd["param_groups"], tsd["param_groups"]):
        assert list(g.items()) == list(tg.items())
    assert list(sd["state"]) == list(tsd["state"])
    for i, tst in tsd["state"].items():
        assert list(sd["state"][i]) == list(tst)
        for key, tv in tst.items():
            v = sd["state"][i][key]
            assert (str(v.dtype), tuple(v.shape)) == (str(tv.dtype), tuple(tv.shape))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=CONFIG_IDS)
def test_load_state_dict_continues_the_trajectory(name, kwargs, dtype):
    dtype = getattr(rg, dtype)
    # uninterrupted: 6 + 6 steps
    whole, wps = two_group_optimizer(rg, name, kwargs, dtype)
    take_steps(rg, whole, wps, 6, seed=3)
    take_steps(rg, whole, wps, 6, seed=4)
    # interrupted after 6 steps, saved (pickled, as torch.save does), loaded
    # into a fresh optimizer built with the default hyper-parameters
    first, fps = two_group_optimizer(rg, name, kwargs, dtype)
    take_steps(rg, first, fps, 6, seed=3)
    saved = pickle.loads(pickle.dumps(first.state_dict()))
    params = [leaf(N(p), dtype) for p in fps]
    resumed = getattr(optim, name)([{"params": params[:2]}, {"params": params[2:]}])
    resumed.load_state_dict(saved)
    assert [{k: v for k, v in g.items() if k != "params"} for g in resumed.param_groups] == \
        [{k: v for k, v in g.items() if k != "params"} for g in first.param_groups]
    assert all(a is b for g, pg in zip(resumed.param_groups, [params[:2], params[2:]])
               for a, b in zip(g["params"], pg, strict=True))
    take_steps(rg, resumed, params, 6, seed=4)
    # identical, except that loading casts NAdam's float32 ``mu_product`` to
    # a float64 parameter's dtype (PyTorch casts every state but ``step``),
    # so that run then keeps a more precise product
    tol = dict(rtol=1e-9, atol=0) if (name == "NAdam" and dtype == rg.float64) else dict(rtol=0, atol=0)
    for p, w in zip(params, wps):
        np.testing.assert_allclose(N(p), N(w), **tol)
    rs, ws = resumed.state_dict()["state"], whole.state_dict()["state"]
    assert list(rs) == list(ws)
    for i in ws:
        assert list(rs[i]) == list(ws[i])
        for key in ws[i]:
            # (the product itself differs by float32's rounding there)
            np.testing.assert_allclose(N(rs[i][key]), N(ws[i][key]), **(
                dict(rtol=1e-6) if key == "mu_product" and tol["rtol"] else tol))


def test_load_state_dict_casts_nadam_mu_product_like_pytorch():
    """PyTorch's load casts every state tensor but ``step`` to its
    parameter's dtype, NAdam's 0-d ``mu_product`` included."""
    for dtype in (rg.float32, rg.float64):
        opt, ps = two_group_optimizer(rg, "NAdam", {}, dtype)
        take_steps(rg, opt, ps, 2, seed=8)
        other = optim.NAdam([{"params": [leaf(N(p), dtype) for p in ps[:2]]},
                             {"params": [leaf(N(p), dtype) for p in ps[2:]]}])
        other.load_state_dict(opt.state_dict())
        st = other.state_dict()["state"][0]
        assert st["step"].dtype == rg.float32
        assert st["mu_product"].dtype == dtype
        assert float(st["mu_product"]) == float(opt.state_dict()["state"][0]["mu_product"])


def test_load_state_dict_keeps_the_state_keyed_by_the_new_parameters():
    opt, ps = two_group_optimizer(rg, "Adam", {})
    take_steps(rg, opt, ps, 2, seed=5)
    params = [leaf(N(p)) for p in ps]
    other = optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    other.load_state_dict(opt.state_dict())
    assert all(any(k is p for k in other.state) for p in params[:3])
    assert not any(any(k is p for k in other.state) for p in ps)
    assert all(a is b for a, b in zip([p for g in other.param_groups for p in g["params"]], params, strict=True))


def test_load_state_dict_casts_buffers_to_the_parameter_dtype_but_not_step():
    opt, ps = two_group_optimizer(rg, "Adam", dict(amsgrad=True), dtype=rg.float32)
    take_steps(rg, opt, ps, 2, seed=6)
    params = [leaf(N(p), dtype=rg.float64) for p in ps]
    other = optim.Adam([{"params": params[:2]}, {"params": params[2:]}])
    other.load_state_dict(opt.state_dict())
    for i in range(3):
        st = other.state[params[i]]
        assert st["step"].dtype == rg.float32 and float(st["step"]) == 2.0
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert st[key].dtype == rg.float64
            np.testing.assert_array_equal(N(st[key]), N(opt.state[ps[i]][key]).astype(np.float64))


def test_load_state_dict_mismatch_errors():
    opt, ps = two_group_optimizer(rg, "SGD", dict(momentum=0.9))
    take_steps(rg, opt, ps, 1, seed=7)
    sd = opt.state_dict()
    one_group = optim.SGD([leaf(np.zeros(3))], lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match=r"^loaded state dict has a different number of parameter groups$"):
        one_group.load_state_dict(sd)
    other_sizes = optim.SGD([{"params": [leaf(np.zeros(3))]}, {"params": [leaf(np.zeros(3)), leaf(np.zeros(2))]}],
                            lr=0.5, momentum=0.9)
    with pytest.raises(ValueError, match=r"^loaded state dict contains a parameter group that doesn't match the "
                                         r"size of optimizer's group$"):
        other_sizes.load_state_dict(sd)
    # a failed load leaves the optimizer as it was
    assert one_group.param_groups[0]["lr"] == 0.5 and len(one_group.state) == 0
    assert [g["lr"] for g in other_sizes.param_groups] == [0.5, 0.5]


def test_load_state_dict_mismatch_errors_match_pytorch(torch):
    for n_groups, sizes in [(1, [3]), (2, [1, 3])]:
        outs = []
        for lib in (rg, torch):
            src = lib.optim.SGD([{"params": [lib.zeros(2, requires_grad=True) for _ in range(2)]},
                                 {"params": [lib.zeros(2, requires_grad=True) for _ in range(2)]}])
            groups = [{"params": [lib.zeros(2, requires_grad=True) for _ in range(n)]} for n in sizes[:n_groups]]
            dst = lib.optim.SGD(groups)
            outs.append(raises_same(lambda: dst.load_state_dict(src.state_dict()), lambda: None)[0])
        assert outs[0] == outs[1] and outs[0][0] == "ValueError"


# ---------------------------------------------------------------------------
# 4. zero_grad, closures, hooks, repr, errors
# ---------------------------------------------------------------------------


def test_zero_grad_sets_to_none_by_default():
    a, b, c = leaf([1.0, 2.0]), leaf([[3.0]]), leaf(4.0)
    opt = optim.Adam([{"params": [a]}, {"params": [b, c]}])
    a.grad, b.grad = rg.ones(2, dtype=rg.float64), rg.ones(1, 1, dtype=rg.float64)
    opt.zero_grad()
    assert a.grad is None and b.grad is None and c.grad is None


@pytest.mark.filterwarnings("ignore:Using backward\\(\\) with create_graph=True")
def test_zero_grad_set_to_none_false_zeroes_in_place_and_detaches():
    a, b, c = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf(5.0)
    opt = optim.SGD([{"params": [a, b]}, {"params": [c]}], lr=0.1)
    ga = rg.tensor([1.0, -1.0], dtype=rg.float64)
    a.grad = ga
    (b * b).sum().backward(create_graph=True)  # a gradient with a grad_fn
    assert b.grad.grad_fn is not None
    opt.zero_grad(set_to_none=False)
    assert a.grad is ga  # the same tensor, zeroed in place
    np.testing.assert_array_equal(N(ga), [0.0, 0.0])
    np.testing.assert_array_equal(N(b.grad), [0.0, 0.0])
    assert b.grad.grad_fn is None and not b.grad.requires_grad and not a.grad.requires_grad
    assert c.grad is None  # no gradient stays None
    # zero gradients still make a step (unlike None): momentum-free SGD with
    # a zero gradient leaves the parameter where it is
    opt.step()
    np.testing.assert_array_equal(N(a), [1.0, 2.0])


def least_squares(seed=0, n=24, d=3, dtype=rg.float64):
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d))
    y = A @ rng.standard_normal(d) + 0.5 + 0.05 * rng.standard_normal(n)
    return rg.tensor(A, dtype=dtype), rg.tensor(y, dtype=dtype), A, y


def test_step_with_closure_returns_the_loss_and_uses_its_gradients():
    A, y, An, yn = least_squares()
    w, b = leaf(np.zeros(3)), leaf(0.0)
    opt = optim.SGD([w, b], lr=0.1)
    calls = []

    def closure():
        calls.append(rg.is_grad_enabled())
        opt.zero_grad()
        loss = ((A @ w + b - y) ** 2).mean()
        loss.backward()
        return loss

    with rg.no_grad():  # the closure runs with gradients enabled anyway
        loss = opt.step(closure)
    assert calls == [True]
    assert isinstance(loss, rg.Tensor)
    np.testing.assert_allclose(loss.item(), np.mean(yn**2), rtol=1e-12)
    # one gradient step from zero: w = -lr * dL/dw
    np.testing.assert_allclose(N(w), 0.1 * 2 * An.T @ yn / len(yn), rtol=1e-12)
    np.testing.assert_allclose(b.item(), 0.1 * 2 * np.mean(yn), rtol=1e-12)
    assert w.grad_fn is None and w.is_leaf and w.requires_grad
    assert opt.step() is None
    assert opt.step(lambda: 7.5) == 7.5


def test_step_updates_in_place_outside_autograd():
    p = leaf([1.0, 2.0])
    ref = p
    version = p._version
    opt = optim.Adam([p], lr=0.1)
    p.grad = rg.tensor([1.0, 1.0], dtype=rg.float64)
    opt.step()
    assert p is ref and p._version > version
    assert p.is_leaf and p.grad_fn is None and p.requires_grad


def test_step_hooks_run_in_order_and_can_be_removed():
    p = leaf([1.0])
    opt = optim.SGD([p], lr=1.0)
    seen = []
    h1 = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre1", o, p.item())))
    h2 = opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre2", o, p.item())))
    h3 = opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", o, p.item())))
    p.grad = rg.tensor([0.5], dtype=rg.float64)
    opt.step()
    assert seen == [("pre1", opt, 1.0), ("pre2", opt, 1.0), ("post", opt, 0.5)]
    seen.clear()
    assert opt.step(lambda: 3.0) == 3.0
    assert [s[0] for s in seen] == ["pre1", "pre2", "post"]
    seen.clear()
    h1.remove()
    h3.remove()
    opt.step()
    assert [s[0] for s in seen] == ["pre2"]
    h2.remove()
    h2.remove()  # removing twice is harmless
    seen.clear()
    opt.step()
    assert seen == []
    # hooks belong to their optimizer
    other = optim.SGD([leaf([1.0])])
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append("opt"))
    other.step()
    assert seen == []


def test_step_hooks_receive_the_arguments_of_step():
    """PyTorch calls ``hook(optimizer, args, kwargs)`` with step's own
    arguments, ``self`` included: ``args == (opt,)`` for ``opt.step()``."""
    p = leaf([1.0])
    opt = optim.SGD([p], lr=1.0)
    seen = []
    opt.register_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", args, kwargs)))
    opt.register_step_post_hook(lambda o, args, kwargs: seen.append(("post", args, kwargs)))

    def closure():
        return 3.0

    opt.step()
    opt.step(closure)
    opt.step(closure=closure)
    assert seen == [("pre", (opt,), {}), ("post", (opt,), {}),
                    ("pre", (opt, closure), {}), ("post", (opt, closure), {}),
                    ("pre", (opt,), {"closure": closure}), ("post", (opt,), {"closure": closure})]


def test_step_pre_hook_may_replace_the_arguments():
    p = leaf([1.0])
    opt = optim.SGD([p], lr=1.0)
    opt.register_step_pre_hook(lambda o, args, kwargs: ((o,), {"closure": lambda: "replaced"}))
    assert opt.step() == "replaced"
    bad = optim.SGD([leaf([1.0])], lr=1.0)
    bad.register_step_pre_hook(lambda o, args, kwargs: 5)
    with pytest.raises(RuntimeError, match=r"must return None or a tuple of \(new_args, new_kwargs\), but got 5\.$"):
        bad.step()


def test_global_step_hooks():
    import sys

    module = sys.modules[optim.Optimizer.__module__]  # torch.optim.optimizer
    seen = []
    h1 = module.register_optimizer_step_pre_hook(lambda o, args, kwargs: seen.append(("pre", type(o).__name__)))
    h2 = module.register_optimizer_step_post_hook(lambda o, args, kwargs: seen.append(("post", type(o).__name__)))
    try:
        own = optim.Adam([leaf([1.0])])
        own.register_step_pre_hook(lambda o, args, kwargs: seen.append(("own pre", "")))
        own.register_step_post_hook(lambda o, args, kwargs: seen.append(("own post", "")))
        own.step()
        optim.SGD([leaf([1.0])]).step()
    finally:
        h1.remove()
        h2.remove()
    # global pre hooks run before the optimizer's own, global post hooks after
    assert seen == [("pre", "Adam"), ("own pre", ""), ("own post", ""), ("post", "Adam"), ("pre", "SGD"),
                    ("post", "SGD")]
    optim.SGD([leaf([1.0])]).step()
    assert len(seen) == 6


def test_state_dict_and_load_state_dict_hooks():
    p = leaf([1.0])
    p.grad = rg.tensor([1.0], dtype=rg.float64)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    opt.step()
    seen = []
    opt.register_state_dict_pre_hook(lambda o: seen.append("sd pre"))
    opt.register_state_dict_post_hook(lambda o, sd: seen.append("sd post") or {**sd, "extra": 1})
    sd = opt.state_dict()
    assert seen == ["sd pre", "sd post"] and sd["extra"] == 1
    other = optim.SGD([leaf([1.0])], lr=0.1, momentum=0.9)
    other.register_load_state_dict_pre_hook(lambda o, sd: seen.append("load pre"))
    other.register_load_state_dict_post_hook(lambda o: seen.append("load post"))
    other.load_state_dict(opt.state_dict())
    assert seen[-2:] == ["load pre", "load post"]


SGD_TWO_GROUPS_REPR = (
    "SGD (\nParameter Group 0\n    dampening: 0\n    differentiable: False\n    foreach: None\n    fused: None\n"
    "    lr: 0.1\n    maximize: False\n    momentum: 0.9\n    nesterov: True\n    weight_decay: 0\n\n"
    "Parameter Group 1\n    dampening: 0\n    differentiable: False\n    foreach: None\n    fused: None\n"
    "    lr: 0.01\n    maximize: False\n    momentum: 0.9\n    nesterov: True\n    weight_decay: 0\n)")


def test_repr_is_pytorch_text():
    opt = optim.SGD([{"params": [leaf([1.0])]}], lr=0.1, momentum=0.9, nesterov=True)
    assert repr(opt) == SGD_TWO_GROUPS_REPR[:SGD_TWO_GROUPS_REPR.index("\n\nParameter Group 1")] + "\n)"
    assert repr(optim.Adam([leaf([1.0])])) == (
        "Adam (\nParameter Group 0\n    amsgrad: False\n    betas: (0.9, 0.999)\n    capturable: False\n"
        "    decoupled_weight_decay: False\n    differentiable: False\n    eps: 1e-08\n    foreach: None\n"
        "    fused: None\n    lr: 0.001\n    maximize: False\n    weight_decay: 0\n)")


def test_repr_separates_groups_with_a_blank_line():
    opt = optim.SGD([{"params": [leaf([1.0])]}], lr=0.1, momentum=0.9, nesterov=True)
    opt.add_param_group({"params": [leaf([2.0])], "lr": 0.01})
    assert repr(opt) == SGD_TWO_GROUPS_REPR


REPR_CONFIGS = CONFIGS + [(name, {}) for name in NAMES] + [("Adamax", dict(betas=[0.8, 0.9]))]


@pytest.mark.parametrize("name,kwargs", REPR_CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(REPR_CONFIGS)])
def test_repr_matches_pytorch(torch, name, kwargs):
    texts = [repr(getattr(lib.optim, name)([lib.ones(2, requires_grad=True)], **kwargs)) for lib in (rg, torch)]
    assert texts[0] == texts[1]


def test_repr_of_several_groups_matches_pytorch(torch):
    for name in NAMES:
        texts = []
        for lib in (rg, torch):
            opt = getattr(lib.optim, name)([lib.ones(2, requires_grad=True)], **FULL[name])
            opt.add_param_group({"params": [lib.ones(1, requires_grad=True)], "lr": 0.5, "weight_decay": 0.125})
            opt.add_param_group({"params": [lib.ones(1, requires_grad=True)], "lr": 0.25})
            texts.append(repr(opt))
        assert texts[0] == texts[1], name


def test_adam_betas_are_stored_as_a_tuple():
    for cls in (optim.Adam, optim.AdamW):
        betas = cls([leaf([1.0])], betas=[0.8, 0.9]).param_groups[0]["betas"]
        assert betas == (0.8, 0.9) and isinstance(betas, tuple)


BAD_HYPERPARAMETERS = [
    ("SGD", dict(lr=-0.1), "Invalid learning rate: -0.1"),
    ("SGD", dict(momentum=-0.5), "Invalid momentum value: -0.5"),
    ("SGD", dict(weight_decay=-1e-3), "Invalid weight_decay value: -0.001"),
    ("SGD", dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(nesterov=True, momentum=0.9, dampening=0.1),
     "Nesterov momentum requires a momentum and zero dampening"),
    ("SGD", dict(lr=-1, momentum=-1), "Invalid learning rate: -1"),  # checked in PyTorch's order
    ("Adam", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adam", dict(eps=-1e-8), "Invalid epsilon value: -1e-08"),
    ("Adam", dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0: 1.0"),
    ("Adam", dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1: -0.1"),
    ("Adam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adam", dict(betas=(0, 0.999)), "betas must be either both floats or both Tensors"),
    ("Adam", dict(eps=-1, betas=(2.0, 0.9)), "Invalid epsilon value: -1"),
    ("AdamW", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("AdamW", dict(weight_decay=-0.01), "Invalid weight_decay value: -0.01"),
    ("AdamW", dict(betas=(0.9, 1)), "Invalid beta parameter at index 1: 1"),
    ("RMSprop", dict(lr=-0.01), "Invalid learning rate: -0.01"),
    ("RMSprop", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RMSprop", dict(momentum=-0.9), "Invalid momentum value: -0.9"),
    ("RMSprop", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("RMSprop", dict(alpha=-0.5), "Invalid alpha value: -0.5"),
    ("RMSprop", dict(alpha=-0.5, momentum=-1), "Invalid momentum value: -1"),
    ("Adagrad", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adagrad", dict(lr_decay=-1), "Invalid lr_decay value: -1"),
    ("Adagrad", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adagrad", dict(initial_accumulator_value=-0.5), "Invalid initial_accumulator_value value: -0.5"),
    ("Adagrad", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adadelta", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adadelta", dict(rho=1.5), "Invalid rho value: 1.5"),
    ("Adadelta", dict(rho=-0.1), "Invalid rho value: -0.1"),
    ("Adadelta", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adadelta", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("Adamax", dict(lr=-1), "Invalid learning rate: -1"),
    ("Adamax", dict(eps=-1), "Invalid epsilon value: -1"),
    ("Adamax", dict(betas=(-0.1, 0.9)), "Invalid beta parameter at index 0: -0.1"),
    ("Adamax", dict(betas=(0.9, 1.5)), "Invalid beta parameter at index 1: 1.5"),
    ("Adamax", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("NAdam", dict(lr=-1), "Invalid learning rate: -1"),
    ("NAdam", dict(eps=-1), "Invalid epsilon value: -1"),
    ("NAdam", dict(betas=(1.0, 0.9)), "Invalid beta parameter at index 0: 1.0"),
    ("NAdam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
    ("NAdam", dict(momentum_decay=-1), "Invalid momentum_decay value: -1"),
    ("RAdam", dict(lr=-1), "Invalid learning rate: -1"),
    ("RAdam", dict(eps=-1), "Invalid epsilon value: -1"),
    ("RAdam", dict(betas=(0.9, 1.0)), "Invalid beta parameter at index 1: 1.0"),
    ("RAdam", dict(weight_decay=-1), "Invalid weight_decay value: -1"),
]
BAD_IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw, _ in BAD_HYPERPARAMETERS]


@pytest.mark.parametrize("name,kwargs,message", BAD_HYPERPARAMETERS, ids=BAD_IDS)
def test_bad_hyperparameters_raise_pytorch_value_errors(name, kwargs, message):
    with pytest.raises(ValueError) as info:
        getattr(optim, name)([leaf([1.0])], **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("name,kwargs,message", BAD_HYPERPARAMETERS, ids=BAD_IDS)
def test_bad_hyperparameters_match_pytorch(torch, name, kwargs, message):
    got, expected = raises_same(lambda: getattr(optim, name)([rg.ones(1, requires_grad=True)], **kwargs),
                                lambda: getattr(torch.optim, name)([torch.ones(1, requires_grad=True)], **kwargs))
    assert got == expected == ("ValueError", message)


def test_tensor_lr_must_have_one_element():
    for name in NAMES:
        with pytest.raises(ValueError, match=r"^Tensor lr must be 1-element$"):
            getattr(optim, name)([leaf([1.0])], lr=rg.tensor([0.1, 0.2]))


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_one_element_tensor_lr_works_like_a_number(name):
    params0, grads = problem(seed=15, shapes=[(3,)], steps=4)
    kw = FULL[name]
    lr = kw.get("lr", 1.0)
    a, b = leaf(params0[0]), leaf(params0[0])
    oa = getattr(optim, name)([a], **kw)
    ob = getattr(optim, name)([b], **dict(kw, lr=rg.tensor(lr, dtype=rg.float64)))
    for gs in grads:
        a.grad, b.grad = rg.tensor(gs[0]), rg.tensor(gs[0])
        oa.step()
        ob.step()
    np.testing.assert_allclose(N(b), N(a), rtol=1e-14)


def test_params_argument_forms():
    p, q = leaf([1.0]), leaf([2.0])
    # a single tensor is refused, with its type named as PyTorch names it
    with pytest.raises(TypeError) as info:
        optim.SGD(rg.ones(2, requires_grad=True))
    assert str(info.value) == ("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                               "but got torch.FloatTensor")
    with pytest.raises(TypeError, match=r"but got torch\.DoubleTensor$"):
        optim.Adam(p)
    # an empty list / iterable
    for empty in ([], (), iter([])):
        with pytest.raises(ValueError) as info:
            optim.SGD(empty)
        assert str(info.value) == "optimizer got an empty parameter list"
    # a generator (Module.parameters()), a tuple
    lin = rg.nn.Linear(3, 2)
    opt = optim.SGD(lin.parameters(), lr=0.1)
    assert [id(x) for x in opt.param_groups[0]["params"]] == [id(lin.weight), id(lin.bias)]
    assert len(optim.SGD((p, q)).param_groups[0]["params"]) == 2


def test_a_non_tensor_parameter_is_named_like_pytorch():
    p = leaf([1.0])
    for bad, typename in [(3, "int"), ("w", "str"), (None, "NoneType"), ([p], "list")]:
        with pytest.raises(TypeError) as info:
            optim.SGD([p, bad])
        assert str(info.value) == f"optimizer can only optimize Tensors, but one of the params is {typename}"


def test_add_param_group_refuses_a_set_and_a_non_dict():
    p, q = leaf([1.0]), leaf([2.0])
    opt = optim.SGD([p])
    with pytest.raises(TypeError) as info:
        opt.add_param_group({"params": {q}})
    assert str(info.value) == ("optimizer parameters need to be organized in ordered collections, but the ordering of "
                               "tensors in sets will change between runs. Please use a list instead.")
    assert len(opt.param_groups) == 1
    with pytest.raises(TypeError) as info:
        opt.add_param_group([q])
    assert str(info.value) == "param_group must be a dict, but got <class 'list'>"
    assert len(opt.param_groups) == 1


def test_a_set_of_parameters_warns():
    p = leaf([1.0])
    with pytest.warns(FutureWarning, match=r"^optimizer parameters need to be organized in ordered collections, but "
                      r"the ordering of tensors in sets will change between runs\. Please use a list instead\. This "
                      r"will be an error in a future release\.$"):
        opt = optim.SGD({p})
    assert opt.param_groups[0]["params"][0] is p


def test_a_non_leaf_parameter_is_refused():
    x = leaf([1.0, 2.0])
    with pytest.raises(ValueError) as info:
        optim.SGD([x * 2])
    assert str(info.value) == "can't optimize a non-leaf Tensor"


def test_a_non_leaf_that_retains_its_gradient_is_accepted():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    opt = optim.SGD([y], lr=0.5)
    y.sum().backward()
    opt.step()
    np.testing.assert_array_equal(N(y), [1.5, 3.5])


def test_duplicate_parameters():
    p, q = leaf([1.0]), leaf([2.0])
    with pytest.raises(ValueError) as info:
        optim.SGD([{"params": [p]}, {"params": [q, p]}])
    assert str(info.value) == "some parameters appear in more than one parameter group"
    opt = optim.SGD([p])
    with pytest.raises(ValueError, match="^some parameters appear in more than one parameter group$"):
        opt.add_param_group({"params": [p]})
    assert len(opt.param_groups) == 1
    with pytest.warns(UserWarning, match=r"^optimizer contains a parameter group with duplicate parameters; in "
                      r"future, this will cause an error; see github\.com/pytorch/pytorch/issues/40967 for more "
                      r"information$"):
        optim.SGD([p, q, p])


def test_named_parameters():
    lin = rg.nn.Linear(2, 1)
    opt = optim.Adam(lin.named_parameters())
    group = opt.param_groups[0]
    assert group["param_names"] == ["weight", "bias"]
    assert group["params"][0] is lin.weight and group["params"][1] is lin.bias
    assert opt.state_dict()["param_groups"][0]["param_names"] == ["weight", "bias"]
    assert opt.state_dict()["param_groups"][0]["params"] == [0, 1]
    opt.add_param_group({"params": [("extra", leaf([1.0]))], "lr": 0.5})
    assert opt.param_groups[1]["param_names"] == ["extra"]


def test_named_and_unnamed_parameters_do_not_mix():
    with pytest.raises(ValueError) as info:
        optim.SGD([("w", leaf([1.0])), leaf([2.0])])
    assert str(info.value) == "all optimizer params should be with/without names. Some param names are missing"
    named = optim.SGD([("w", leaf([1.0]))])
    with pytest.raises(ValueError) as info:
        named.add_param_group({"params": [leaf([1.0])]})
    assert str(info.value) == ("all optimizer param groups should be with/without names. cannot add param group "
                               "without names to the optimizer")
    plain = optim.SGD([leaf([1.0])])
    with pytest.raises(ValueError) as info:
        plain.add_param_group({"params": [("v", leaf([1.0]))]})
    assert str(info.value) == ("all optimizer param groups should be with/without names. cannot add param group "
                               "with names to the optimizer")
    assert len(named.param_groups) == len(plain.param_groups) == 1


def _param_error_cases(lib):
    p = lib.ones(1, requires_grad=True)
    nonleaf = p * 2
    return {
        "tensor": lambda: lib.optim.SGD(lib.ones(1, requires_grad=True)),
        "empty": lambda: lib.optim.SGD([]),
        "int": lambda: lib.optim.SGD([p, 3]),
        "none": lambda: lib.optim.SGD([p, None]),
        "nonleaf": lambda: lib.optim.SGD([nonleaf]),
        "dup groups": lambda: lib.optim.SGD([{"params": [p]}, {"params": [p]}]),
        "group not dict": lambda: lib.optim.SGD([p]).add_param_group([lib.ones(1)]),
        "group set": lambda: lib.optim.SGD([p]).add_param_group({"params": {lib.ones(1, requires_grad=True)}}),
        "names missing": lambda: lib.optim.SGD([("a", p), lib.ones(1, requires_grad=True)]),
        "group names": lambda: lib.optim.SGD([("a", p)]).add_param_group({"params": [lib.ones(1, requires_grad=True)]}),
        "nadam lr": lambda: lib.optim.NAdam([p], lr=lib.tensor([1.0, 2.0])),
    }


def test_parameter_errors_match_pytorch(torch):
    ours, theirs = _param_error_cases(rg), _param_error_cases(torch)
    for key in ours:
        got, expected = raises_same(ours[key], theirs[key])
        assert expected[0] is not None, key
        assert got == expected, key


# ---------------------------------------------------------------------------
# 5. end to end: least squares with autograd's gradients
# ---------------------------------------------------------------------------

TRAIN_CONFIGS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("Adam", dict(lr=0.1)),
    ("Adam", dict(lr=0.1, maximize=True)),  # maximizing the negated loss
    ("AdamW", dict(lr=0.1, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.5)),
    ("Adagrad", dict(lr=0.5)),
    ("Adadelta", dict(lr=10.0)),
    ("Adamax", dict(lr=0.1)),
    ("NAdam", dict(lr=0.1)),
    ("RAdam", dict(lr=0.1)),
]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,kwargs", TRAIN_CONFIGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(TRAIN_CONFIGS)])
def test_least_squares_training_converges(name, kwargs, dtype):
    rng = np.random.default_rng(0)
    n, d = 32, 4
    A = rng.standard_normal((n, d))
    y = A @ rng.standard_normal(d) + 0.7 + 0.05 * rng.standard_normal(n)
    X = np.c_[A, np.ones(n)]
    solution = np.linalg.lstsq(X, y, rcond=None)[0]
    best = np.mean((X @ solution - y) ** 2)
    At, yt = rg.tensor(A, dtype=getattr(rg, dtype)), rg.tensor(y, dtype=getattr(rg, dtype))
    w = rg.zeros(d, dtype=getattr(rg, dtype), requires_grad=True)
    b = rg.zeros((), dtype=getattr(rg, dtype), requires_grad=True)
    model = rg.nn.Linear(d, 1, dtype=getattr(rg, dtype))  # a second, nn-based copy of the problem
    with rg.no_grad():
        model.weight.zero_()
        model.bias.zero_()
    opt = getattr(optim, name)([{"params": [w, b]}, {"params": model.parameters()}], **kwargs)
    sign = -1.0 if kwargs.get("maximize") else 1.0

    def closure():
        opt.zero_grad()
        loss = ((At @ w + b - yt) ** 2).mean() + ((model(At).squeeze(1) - yt) ** 2).mean()
        (sign * loss).backward()
        return loss

    losses = [opt.step(closure).item() / 2 for _ in range(100)]
    with rg.no_grad():
        final = ((At @ w + b - yt) ** 2).mean().item()
        final_nn = ((model(At).squeeze(1) - yt) ** 2).mean().item()
    assert losses[0] == pytest.approx(np.mean(y**2), rel=1e-5)
    assert (final - best) < 1e-2 * (losses[0] - best)
    assert final_nn == pytest.approx(final, rel=1e-4)  # the same problem, the same path
    np.testing.assert_allclose(np.r_[N(w), b.item()], solution, atol=0.1)


def test_a_plain_number_step_from_an_older_checkpoint_is_accepted():
    p = rg.ones(3, requires_grad=True)
    opt = rg.optim.Adam([p], lr=0.1)
    p.grad = rg.ones(3)
    opt.step()
    state = opt.state_dict()
    state["state"][0]["step"] = 1
    fresh = rg.optim.Adam([p], lr=0.1)
    fresh.load_state_dict(state)
    fresh.step()
    assert isinstance(fresh.state[p]["step"], rg.Tensor) and fresh.state[p]["step"].item() == 2.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_parameters_are_updated_in_float32(dtype):
    dtype = getattr(rg, dtype)
    p = rg.tensor([1.0, -2.0, 0.5], dtype=dtype, requires_grad=True)
    opt = rg.optim.Adam([p], lr=0.1)
    p.grad = rg.tensor([1.0, 1.0, -1.0], dtype=dtype)
    opt.step()
    assert p.dtype == dtype and opt.state[p]["exp_avg"].dtype == dtype
    # Adam's first step moves every element by lr against the gradient's sign.
    np.testing.assert_allclose(p.float().detach().numpy(), [0.9, -2.1, 0.6], rtol=1e-2)


@pytest.mark.skipif(REFERENCE is not None, reason="rustgrad checks every state before it writes")
def test_a_scalar_state_with_several_elements_is_refused_before_anything_changes():
    a, b = rg.ones(2, requires_grad=True), rg.ones(2, requires_grad=True)
    opt = rg.optim.Adam([a, b], lr=0.1)
    a.grad, b.grad = rg.ones(2), rg.ones(2)
    opt.step()
    opt.state[b]["step"] = rg.tensor([1.0, 1.0])
    before = a.detach().clone()
    with pytest.raises(RuntimeError, match="one element"):
        opt.step()
    assert rg.equal(a.detach(), before) and opt.state[a]["step"].item() == 1.0
