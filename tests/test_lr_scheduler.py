"""`torch.optim.lr_scheduler`: each schedule's lr sequence against its
formula (and, with the `torch` fixture, bit for bit against PyTorch's
scheduler driving a PyTorch optimizer), state_dict round trips,
ReduceLROnPlateau, the cyclic momentum, warnings and errors.

The schedulers are driven by a minimal stand-in optimizer (just
`param_groups`, `defaults` and `step`), and by `rustgrad.optim.SGD`/`Adam`
when those exist."""

import math
import warnings

import pytest

import rustgrad as rg
from rustgrad.optim import lr_scheduler as S

N_STEPS = 30


def _optimizer_base():
    return getattr(rg.optim, "Optimizer", object)


def standin(lr=0.1, groups=2, **defaults):
    """An object with what a scheduler reads: `param_groups` (group i has
    lr `lr * (i + 1)`), `defaults` and a `step` method."""

    class StandIn(_optimizer_base()):
        def __init__(self):  # deliberately not the base's: no parameters
            self.defaults = dict(lr=lr, **defaults)
            self.param_groups = [dict(self.defaults, lr=lr * (i + 1)) for i in range(groups)]

        def step(self, closure=None):
            return None

    return StandIn()


def rg_optimizer(kind, lr=0.1, groups=2, **defaults):
    """`rustgrad.optim.<kind>` over one parameter per group (skips when the
    optimizer is not there yet)."""
    cls = getattr(rg.optim, kind, None)
    if cls is None:
        pytest.skip(f"rustgrad.optim.{kind} is not available")
    params = [rg.zeros(1, requires_grad=True) for _ in range(groups)]
    return cls([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr, **defaults)


def torch_optimizer(torch, kind, lr=0.1, groups=2, **defaults):
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    cls = getattr(torch.optim, kind)
    return cls([{"params": [p], "lr": lr * (i + 1)} for i, p in enumerate(params)], lr=lr, **defaults)


@pytest.fixture(params=["standin", "SGD"])
def make_opt(request):
    """Builds an SGD-like optimizer (momentum 0.9): the stand-in, or
    rustgrad's SGD."""
    def make(lr=0.1, groups=2):
        if request.param == "standin":
            return standin(lr, groups, momentum=0.9)
        return rg_optimizer("SGD", lr, groups, momentum=0.9)
    return make


def lrs(scheduler, n=N_STEPS, metric=None):
    """The lrs of every group at each of ``n`` epochs, stepping the
    optimizer then the scheduler as PyTorch recommends."""
    out = []
    for i in range(n):
        out.append(tuple(scheduler.get_last_lr()))
        scheduler.optimizer.step()
        scheduler.step() if metric is None else scheduler.step(metric(i))
    return out


def advance(scheduler, n=1):
    """``n`` epochs of optimizer step then scheduler step."""
    for _ in range(n):
        scheduler.optimizer.step()
        scheduler.step()


def expected(fn, bases=(0.1, 0.2), n=N_STEPS):
    return [tuple(fn(base, e) for base in bases) for e in range(n)]


def assert_seq_close(actual, want):
    assert len(actual) == len(want)
    for e, (a, w) in enumerate(zip(actual, want)):
        assert a == pytest.approx(w, rel=1e-12, abs=1e-15), f"epoch {e}: {a} != {w}"


# ---------------------------------------------------------------------------
# the schedules, in PyTorch's argument spelling; `M` is the lr_scheduler
# module (rustgrad's or PyTorch's), `o` the optimizer
# ---------------------------------------------------------------------------

SCHEDULES = {
    "StepLR": lambda M, o: M.StepLR(o, step_size=4, gamma=0.5),
    "MultiStepLR": lambda M, o: M.MultiStepLR(o, milestones=[3, 7, 7, 20], gamma=0.3),
    "ExponentialLR": lambda M, o: M.ExponentialLR(o, gamma=0.9),
    "CosineAnnealingLR": lambda M, o: M.CosineAnnealingLR(o, T_max=7, eta_min=0.001),
    "LambdaLR": lambda M, o: M.LambdaLR(o, lambda e: 0.95**e),
    "LambdaLR_per_group": lambda M, o: M.LambdaLR(o, [lambda e: 1.0 / (e + 1), lambda e: 0.9**e]),
    "MultiplicativeLR": lambda M, o: M.MultiplicativeLR(o, lambda e: 0.95),
    "LinearLR": lambda M, o: M.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=10),
    "ConstantLR": lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=6),
    "PolynomialLR": lambda M, o: M.PolynomialLR(o, total_iters=20, power=2.0),
    "CosineAnnealingWarmRestarts": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2, eta_min=0.01),
    "OneCycleLR": lambda M, o: M.OneCycleLR(o, max_lr=1.0, total_steps=N_STEPS + 1),
    "OneCycleLR_three_phase_linear": lambda M, o: M.OneCycleLR(
        o, max_lr=[1.0, 2.0], epochs=2, steps_per_epoch=16, three_phase=True, anneal_strategy="linear"),
    "CyclicLR_triangular2": lambda M, o: M.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4, mode="triangular2"),
    "CyclicLR_exp_range": lambda M, o: M.CyclicLR(
        o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=3, step_size_down=5, mode="exp_range", gamma=0.9),
    "SequentialLR": lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, start_factor=0.1, total_iters=5), M.CosineAnnealingLR(o, T_max=10)], milestones=[5]),
    "ChainedScheduler": lambda M, o: M.ChainedScheduler([M.ConstantLR(o, factor=0.5, total_iters=4),
                                                         M.ExponentialLR(o, gamma=0.9)]),
}


# What each kind of optimizer has among its defaults: cyclic schedules cycle
# SGD's `momentum` and Adam's `betas[0]`.
KIND_DEFAULTS = {"SGD": {"momentum": 0.9}, "Adam": {"betas": (0.9, 0.999)}}
MOMENTUM_KEY = {"SGD": "momentum", "Adam": "betas"}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_sequence_matches_pytorch_bit_for_bit(torch, name, kind):
    ours = SCHEDULES[name](S, standin(**KIND_DEFAULTS[kind]))
    theirs = SCHEDULES[name](torch.optim.lr_scheduler, torch_optimizer(torch, kind, **KIND_DEFAULTS[kind]))
    key = MOMENTUM_KEY[kind]
    for _ in range(N_STEPS):
        assert ours.get_last_lr() == theirs.get_last_lr()
        assert [g[key] for g in ours.optimizer.param_groups] == [g[key] for g in theirs.optimizer.param_groups]
        for s in (ours, theirs):
            s.optimizer.step()
            s.step()


@pytest.mark.parametrize("name", sorted(SCHEDULES))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_rustgrad_optimizers_follow_the_standins_schedule(name, kind):
    want = SCHEDULES[name](S, standin(**KIND_DEFAULTS[kind]))
    got = SCHEDULES[name](S, rg_optimizer(kind, **KIND_DEFAULTS[kind]))
    key = MOMENTUM_KEY[kind]
    for _ in range(N_STEPS):
        assert got.get_last_lr() == want.get_last_lr()
        assert [g[key] for g in got.optimizer.param_groups] == [g[key] for g in want.optimizer.param_groups]
        advance(got)
        advance(want)


def test_the_optimizer_steps_with_the_scheduled_lr():
    p = rg.zeros(1, requires_grad=True)
    opt = rg.optim.SGD([p], lr=1.0)
    sched = S.StepLR(opt, step_size=1, gamma=0.5)
    for expected_p in [-1.0, -1.5, -1.75]:
        p.grad = rg.ones(1)
        opt.step()
        sched.step()
        assert p.item() == expected_p


# ---------------------------------------------------------------------------
# against the formulas
# ---------------------------------------------------------------------------


def test_step_lr(make_opt):
    got = lrs(S.StepLR(make_opt(), step_size=4, gamma=0.5))
    assert_seq_close(got, expected(lambda b, e: b * 0.5 ** (e // 4)))


def test_multistep_lr_counts_repeated_milestones(make_opt):
    got = lrs(S.MultiStepLR(make_opt(), milestones=[3, 7, 7], gamma=0.1))
    assert_seq_close(got, expected(lambda b, e: b * 0.1 ** sum(e >= m for m in [3, 7, 7])))


def test_exponential_lr(make_opt):
    assert_seq_close(lrs(S.ExponentialLR(make_opt(), gamma=0.9)), expected(lambda b, e: b * 0.9**e))


@pytest.mark.parametrize("t_max", [5, 7, 30])
def test_cosine_annealing_follows_the_closed_form_across_periods(make_opt, t_max):
    eta = 0.001
    got = lrs(S.CosineAnnealingLR(make_opt(), T_max=t_max, eta_min=eta))
    assert_seq_close(got, expected(lambda b, e: eta + (b - eta) * (1 + math.cos(math.pi * e / t_max)) / 2))


def test_cosine_annealing_follows_an_lr_changed_by_hand(make_opt):
    """The recursive form scales the current lr, as PyTorch's does."""
    sched = S.CosineAnnealingLR(make_opt(groups=1), T_max=10)
    advance(sched)
    sched.optimizer.param_groups[0]["lr"] *= 0.5
    before = sched.optimizer.param_groups[0]["lr"]
    sched.step()
    ratio = (1 + math.cos(math.pi * 2 / 10)) / (1 + math.cos(math.pi * 1 / 10))
    assert sched.get_last_lr()[0] == pytest.approx(before * ratio, rel=1e-14)


def test_lambda_and_multiplicative_lr(make_opt):
    assert_seq_close(lrs(S.LambdaLR(make_opt(), lambda e: 1.0 / (e + 1))), expected(lambda b, e: b / (e + 1)))
    # MultiplicativeLR multiplies from epoch 1 on: lr_e = base * prod_{k=1..e} f(k)
    got = lrs(S.MultiplicativeLR(make_opt(), lambda e: 0.5 if e % 2 else 1.0))
    assert_seq_close(got, expected(lambda b, e: b * 0.5 ** ((e + 1) // 2)))


def test_linear_constant_and_polynomial_lr(make_opt):
    got = lrs(S.LinearLR(make_opt(), start_factor=0.25, end_factor=0.9, total_iters=10))
    assert_seq_close(got, expected(lambda b, e: b * (0.25 + 0.65 * min(e, 10) / 10)))
    got = lrs(S.ConstantLR(make_opt(), factor=0.5, total_iters=6))
    assert_seq_close(got, expected(lambda b, e: b * (0.5 if e < 6 else 1.0)))
    got = lrs(S.PolynomialLR(make_opt(), total_iters=20, power=2.0))
    assert_seq_close(got, expected(lambda b, e: b * (1 - min(e, 20) / 20) ** 2))


def test_cosine_annealing_warm_restarts_periods(make_opt):
    # T_0=3, T_mult=2: periods of 3, 6, 12, 24 epochs starting at 0, 3, 9, 21.
    def closed(b, e):
        start, period = 0, 3
        while e >= start + period:
            start, period = start + period, period * 2
        return 0.01 + (b - 0.01) * (1 + math.cos(math.pi * (e - start) / period)) / 2

    assert_seq_close(lrs(S.CosineAnnealingWarmRestarts(make_opt(), T_0=3, T_mult=2, eta_min=0.01)),
                     expected(closed))


def test_cosine_annealing_warm_restarts_fractional_epochs(make_opt):
    sched = S.CosineAnnealingWarmRestarts(make_opt(groups=1), T_0=10)
    sched.step(12.5)
    assert sched.T_cur == 2.5 and sched.last_epoch == 12
    assert sched.get_last_lr()[0] == pytest.approx(0.1 * (1 + math.cos(math.pi * 0.25)) / 2)
    with pytest.raises(ValueError, match="Expected non-negative epoch, but got -1"):
        sched.step(-1)


@pytest.mark.parametrize("strategy", ["cos", "linear"])
def test_one_cycle_landmarks(make_opt, strategy):
    total, max_lr = 40, 1.0
    sched = S.OneCycleLR(make_opt(groups=1), max_lr=max_lr, total_steps=total, anneal_strategy=strategy)
    seq = [lr for (lr,) in lrs(sched, n=total)]
    assert seq[0] == pytest.approx(max_lr / 25)
    peak = int(0.3 * total) - 1  # the warm-up phase's last step
    assert seq[peak] == pytest.approx(max_lr)
    assert max(seq) == pytest.approx(max_lr)
    assert seq[-1] == pytest.approx(max_lr / 25 / 1e4)
    assert all(a <= b for a, b in zip(seq[: peak + 1], seq[1 : peak + 1]))
    assert all(a >= b for a, b in zip(seq[peak:], seq[peak + 1 :]))
    if strategy == "linear":
        assert seq[peak // 2 + 1] - seq[peak // 2] == pytest.approx(seq[1] - seq[0])


def test_one_cycle_three_phase_returns_to_initial_lr(make_opt):
    total = 40
    seq = [lr for (lr,) in lrs(S.OneCycleLR(make_opt(groups=1), max_lr=1.0, total_steps=total, three_phase=True),
                               n=total)]
    assert seq[11] == pytest.approx(1.0)
    assert seq[22] == pytest.approx(1.0 / 25)  # end of the second phase: 2 * 0.3 * 40 - 2
    assert seq[-1] == pytest.approx(1.0 / 25 / 1e4)


def test_one_cycle_too_many_steps(make_opt):
    sched = S.OneCycleLR(make_opt(groups=1), max_lr=1.0, total_steps=3)
    advance(sched, 3)
    with pytest.raises(ValueError, match="Tried to step 4 times. The specified number of total steps is 3"):
        sched.step()


def test_one_cycle_momentum_sgd_and_adam():
    sgd = standin(groups=1, momentum=0.9)
    S.OneCycleLR(sgd, max_lr=1.0, total_steps=10)
    assert sgd.param_groups[0]["momentum"] == 0.95
    adam = standin(groups=1, betas=(0.9, 0.999))
    sched = S.OneCycleLR(adam, max_lr=1.0, total_steps=10, base_momentum=0.8, max_momentum=0.9)
    assert adam.param_groups[0]["betas"] == (0.9, 0.999)
    advance(sched, 2)  # to the end of warm-up (step 0.3 * 10 - 1 = 2)
    assert adam.param_groups[0]["betas"] == (pytest.approx(0.8), 0.999)


def test_cyclic_lr_triangle(make_opt):
    got = lrs(S.CyclicLR(make_opt(groups=1), base_lr=0.0, max_lr=1.0, step_size_up=2, step_size_down=3,
                         cycle_momentum=False), n=11)
    assert_seq_close([lr for (lr,) in got],
                     [0.0, 0.5, 1.0, 2 / 3, 1 / 3, 0.0, 0.5, 1.0, 2 / 3, 1 / 3, 0.0])


def test_cyclic_lr_momentum_moves_inversely():
    opt = standin(groups=1, momentum=0.0)
    sched = S.CyclicLR(opt, base_lr=0.0, max_lr=1.0, step_size_up=2, base_momentum=0.8, max_momentum=0.9)
    seen = []
    for _ in range(4):
        seen.append(opt.param_groups[0]["momentum"])
        advance(sched)
    assert seen == pytest.approx([0.9, 0.85, 0.8, 0.85])


def test_sequential_lr_restarts_the_next_scheduler_at_its_milestone(make_opt):
    opt = make_opt(groups=1)
    sched = S.SequentialLR(opt, [S.ConstantLR(opt, factor=0.1, total_iters=2), S.ExponentialLR(opt, gamma=0.9)],
                           milestones=[3])
    got = [lr for (lr,) in lrs(sched, n=7)]
    assert_seq_close(got, [0.01, 0.01, 0.1, 0.1, 0.09, 0.081, 0.0729])


def test_chained_scheduler_composes(make_opt):
    opt = make_opt(groups=1)
    sched = S.ChainedScheduler([S.ConstantLR(opt, factor=0.5, total_iters=3), S.ExponentialLR(opt, gamma=0.9)])
    got = [lr for (lr,) in lrs(sched, n=6)]
    assert_seq_close(got, [0.1 * 0.9**e * (0.5 if e < 3 else 1.0) for e in range(6)])


# ---------------------------------------------------------------------------
# the base class: initial_lr, last_epoch, resuming, state_dict
# ---------------------------------------------------------------------------


def test_initial_lr_base_lrs_and_last_epoch(make_opt):
    opt = make_opt()
    sched = S.StepLR(opt, step_size=2)
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.2]
    assert sched.base_lrs == [0.1, 0.2]
    assert sched.last_epoch == 0 and sched._step_count == 1
    assert sched.get_last_lr() == [0.1, 0.2]
    advance(sched)
    assert sched.last_epoch == 1
    assert isinstance(sched, S.LRScheduler) and issubclass(S._LRScheduler, S.LRScheduler)


def test_resuming_needs_initial_lr(make_opt):
    with pytest.raises(KeyError, match="param 'initial_lr' is not specified in param_groups\\[0\\] when resuming"):
        S.StepLR(make_opt(), step_size=2, last_epoch=3)


def test_resuming_at_an_epoch_continues_the_schedule(make_opt):
    opt = make_opt(groups=1)
    S.StepLR(opt, step_size=2)
    opt.param_groups[0]["lr"] = 0.05  # what the schedule had reached by epoch 3
    sched = S.StepLR(opt, step_size=2, gamma=0.5, last_epoch=3)
    assert sched.last_epoch == 4 and sched.get_last_lr() == [0.025]


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_state_dict_round_trip_continues_identically(name):
    """A scheduler restored from another's state_dict (over an optimizer in
    the same state) continues with exactly the same lrs."""
    a = SCHEDULES[name](S, standin(momentum=0.9))
    lrs(a, n=9)
    state = a.state_dict()
    assert "optimizer" not in state
    b_opt = standin(momentum=0.9)
    b = SCHEDULES[name](S, b_opt)
    b.load_state_dict(state)
    for ga, gb in zip(a.optimizer.param_groups, b_opt.param_groups):
        gb.update(ga)
    assert b.get_last_lr() == a.get_last_lr()
    assert lrs(b, n=12) == lrs(a, n=12)


def test_state_dict_of_lambda_lr_keeps_callable_objects_state():
    class Decay:
        def __init__(self):
            self.rate = 0.5

        def __call__(self, epoch):
            return self.rate**epoch

    a = S.LambdaLR(standin(groups=2), [Decay(), lambda e: 1.0])
    a.lr_lambdas[0].rate = 0.25
    state = a.state_dict()
    assert state["lr_lambdas"] == [{"rate": 0.25}, None]
    b = S.LambdaLR(standin(groups=2), [Decay(), lambda e: 1.0])
    b.load_state_dict(state)
    assert b.lr_lambdas[0].rate == 0.25
    assert "lr_lambdas" in state  # the caller's dict is left as it was


def test_state_dict_matches_pytorchs_keys(torch):
    for name in ["StepLR", "CosineAnnealingLR", "OneCycleLR", "SequentialLR", "CyclicLR_exp_range"]:
        ours = SCHEDULES[name](S, standin(momentum=0.9)).state_dict()
        theirs = SCHEDULES[name](torch.optim.lr_scheduler, torch_optimizer(torch, "SGD", momentum=0.9)).state_dict()
        assert sorted(ours) == sorted(theirs), name


def test_step_with_an_epoch_uses_the_closed_form_and_warns(make_opt):
    sched = S.StepLR(make_opt(groups=1), step_size=3, gamma=0.5)
    sched.optimizer.step()
    with pytest.warns(UserWarning, match="The epoch parameter in `scheduler.step\\(\\)` was not necessary"):
        sched.step(7)
    assert sched.last_epoch == 7 and sched.get_last_lr() == [0.1 * 0.5**2]


# ---------------------------------------------------------------------------
# warnings
# ---------------------------------------------------------------------------


def test_warns_when_scheduler_steps_before_optimizer(make_opt):
    sched = S.StepLR(make_opt(), step_size=2)
    with pytest.warns(UserWarning, match="Detected call of `lr_scheduler.step\\(\\)` before `optimizer.step\\(\\)`"):
        sched.step()


def test_no_warning_in_the_right_order(make_opt):
    sched = S.StepLR(make_opt(), step_size=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        advance(sched, 3)


def test_wrapped_step_still_steps_and_is_wrapped_once(make_opt):
    opt = make_opt()
    S.StepLR(opt, step_size=2)
    wrapped = opt.step
    S.ExponentialLR(opt, gamma=0.5)
    assert opt.step is wrapped and wrapped._wrapped_by_lr_sched
    assert opt.step() is None and opt._opt_called


def test_warns_when_optimizer_step_is_replaced(make_opt):
    opt = make_opt()
    sched = S.StepLR(opt, step_size=2)
    opt.step = lambda: None
    with pytest.warns(UserWarning, match="Seems like `optimizer.step\\(\\)` has been overridden"):
        sched.step()


def test_get_lr_outside_step_warns(make_opt):
    sched = S.ExponentialLR(make_opt(), gamma=0.5)
    with pytest.warns(UserWarning, match="please use `get_last_lr\\(\\)`"):
        sched.get_lr()


# ---------------------------------------------------------------------------
# ReduceLROnPlateau
# ---------------------------------------------------------------------------


def test_plateau_reduces_after_patience(make_opt):
    opt = make_opt(groups=1)
    sched = S.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    seen = []
    for metric in [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95, 0.5]:
        sched.step(metric)
        seen.append(sched.get_last_lr()[0])
    # bad epochs 1, 2, 3 (> patience) -> reduce and reset; 1, 2, 3 -> reduce
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.025, 0.025])


def test_plateau_cooldown_min_lr_and_eps():
    opt = standin(groups=2)
    sched = S.ReduceLROnPlateau(opt, factor=0.1, patience=0, cooldown=2, min_lr=[0.005, 0.0])
    seen = []
    for _ in range(7):
        sched.step(1.0)  # the first sets `best`; then never better
        seen.append(tuple(sched.get_last_lr()))
    assert seen == [(0.1, 0.2)] + [pytest.approx((0.01, 0.02))] * 3 + [pytest.approx((0.005, 0.002))] * 3
    opt = standin(groups=1, lr=1e-8)
    sched = S.ReduceLROnPlateau(opt, patience=0, eps=1e-8)
    sched.step(1.0)
    sched.step(1.0)
    assert opt.param_groups[0]["lr"] == 1e-8  # a change under eps is skipped


@pytest.mark.parametrize("mode, threshold_mode, better, worse", [
    ("min", "rel", 0.989, 0.9991),
    ("min", "abs", 0.899, 0.95),
    ("max", "rel", 1.011, 1.0009),
    ("max", "abs", 1.101, 1.05),
])
def test_plateau_threshold_modes(mode, threshold_mode, better, worse):
    threshold = 0.01 if threshold_mode == "rel" else 0.1
    sched = S.ReduceLROnPlateau(standin(groups=1), mode=mode, patience=0, threshold=threshold,
                                threshold_mode=threshold_mode)
    sched.step(1.0)
    sched.step(better)
    assert sched.best == better and sched.num_bad_epochs == 0
    sched.step(worse)
    assert sched.get_last_lr() == [pytest.approx(0.01)]


def test_plateau_accepts_a_tensor_metric_and_round_trips():
    sched = S.ReduceLROnPlateau(standin(groups=1), mode="max", patience=1)
    sched.step(rg.tensor(0.5))
    assert sched.best == 0.5 and sched.last_epoch == 1
    other = S.ReduceLROnPlateau(standin(groups=1))
    other.load_state_dict(sched.state_dict())
    assert other.mode == "max" and other.mode_worse == -math.inf and other.best == 0.5


def test_plateau_matches_pytorch(torch):
    metrics = [1.0, 0.8, 0.85, 0.9, 0.79, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.7] * 3
    ours = S.ReduceLROnPlateau(standin(), factor=0.3, patience=1, cooldown=1, threshold=0.05, min_lr=0.005)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(torch_optimizer(torch, "SGD"), factor=0.3, patience=1,
                                                        cooldown=1, threshold=0.05, min_lr=0.005)
    assert lrs(ours, n=len(metrics), metric=metrics.__getitem__) == lrs(theirs, n=len(metrics),
                                                                         metric=metrics.__getitem__)


# ---------------------------------------------------------------------------
# errors, with PyTorch's wording
# ---------------------------------------------------------------------------


ERRORS = [
    (lambda M, o: M.StepLR(object(), 2), TypeError, "object is not an Optimizer"),
    (lambda M, o: M.ConstantLR(o, factor=1.5), ValueError,
     "Constant multiplicative factor expected to be between 0 and 1."),
    (lambda M, o: M.LinearLR(o, start_factor=0), ValueError,
     "Starting multiplicative factor expected to be greater than 0 and less or equal to 1."),
    (lambda M, o: M.LinearLR(o, end_factor=2), ValueError,
     "Ending multiplicative factor expected to be between 0 and 1."),
    (lambda M, o: M.LambdaLR(o, [lambda e: 1.0]), ValueError, "Expected 2 lr_lambdas, but got 1"),
    (lambda M, o: M.MultiplicativeLR(o, 0.5), TypeError, "lr_lambda should be a function, but got float"),
    (lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, "Expected positive integer T_0, but got 0"),
    (lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=0), ValueError,
     "Expected integer T_mult >= 1, but got 0"),
    (lambda M, o: M.OneCycleLR(o, 1.0), ValueError,
     "You must define either total_steps OR (epochs AND steps_per_epoch)"),
    (lambda M, o: M.OneCycleLR(o, 1.0, total_steps=0), ValueError, "Expected positive integer total_steps, but got 0"),
    (lambda M, o: M.OneCycleLR(o, 1.0, total_steps=5, pct_start=1), ValueError,
     "Expected float between 0 and 1 pct_start, but got 1"),
    (lambda M, o: M.OneCycleLR(o, 1.0, total_steps=5, anneal_strategy="exp"), ValueError,
     "anneal_strategy must be one of 'cos' or 'linear', instead got exp"),
    (lambda M, o: M.OneCycleLR(o, [1.0], total_steps=5), ValueError,
     "max_lr must have the same length as optimizer.param_groups. max_lr has 1 values, param_groups has 2."),
    (lambda M, o: M.CyclicLR(o, 0.1, 1.0, mode="sawtooth"), ValueError, "mode is invalid and scale_fn is None"),
    (lambda M, o: M.ReduceLROnPlateau(o, factor=1.0), ValueError, "Factor should be < 1.0."),
    (lambda M, o: M.ReduceLROnPlateau(o, mode="median"), ValueError, "mode median is unknown!"),
    (lambda M, o: M.ReduceLROnPlateau(o, threshold_mode="x"), ValueError, "threshold mode x is unknown!"),
    (lambda M, o: M.ReduceLROnPlateau(o, min_lr=[0.1]), ValueError, "expected 2 min_lrs, got 1"),
    (lambda M, o: M.SequentialLR(o, [], []), ValueError,
     "SequentialLR expects at least one scheduler, but got no scheduler."),
    (lambda M, o: M.SequentialLR(o, [M.StepLR(o, 2), M.StepLR(o, 2)], []), ValueError,
     "Sequential Schedulers expects number of schedulers provided to be one more than the number of milestone "
     "points, but got number of schedulers 2 and the number of milestones to be equal to 0"),
    (lambda M, o: M.ChainedScheduler([M.ReduceLROnPlateau(o)]), ValueError,
     "ChainedScheduler does not support `ReduceLROnPlateau` scheduler"),
    (lambda M, o: M.ChainedScheduler([]), ValueError,
     "ChainedScheduler expects at least one scheduler to be chained, but got no scheduler."),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors(i):
    build, cls, message = ERRORS[i]
    with pytest.raises(cls) as info:
        build(S, standin(momentum=0.9))
    assert message in str(info.value)


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_errors_match_pytorch(torch, i):
    build, cls, message = ERRORS[i]
    with pytest.raises(cls) as info:
        build(torch.optim.lr_scheduler, torch_optimizer(torch, "SGD", momentum=0.9))
    assert message in str(info.value)


def test_cycle_momentum_needs_a_momentum():
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1 with `cycle_momentum` option"):
        S.OneCycleLR(standin(), max_lr=1.0, total_steps=10)
    S.OneCycleLR(standin(), max_lr=1.0, total_steps=10, cycle_momentum=False)


def test_sequential_lr_needs_one_optimizer():
    a, b = standin(), standin()
    with pytest.raises(ValueError, match="SequentialLR expects all schedulers to belong to the same optimizer"):
        S.SequentialLR(a, [S.StepLR(a, 2), S.StepLR(b, 2)], milestones=[3])
