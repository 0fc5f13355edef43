"""Tests of tensorgrad.optim.lr_scheduler: the learning rates (and OneCycleLR's momenta) over
many steps against the closed-form formulas and against torch.optim.lr_scheduler when PyTorch
is installed; resuming from state dicts; errors."""
import math

import numpy as np
import pytest

from tensorgrad import nn, optim
from tensorgrad.optim import lr_scheduler as sch

LRS = (0.1, 0.03)  # two parameter groups with their own rates


def _opt(module, name="SGD", make=None, **kwargs):
    make = make or (lambda a: nn.Parameter(a))
    groups = [{"params": [make(np.ones(2))], "lr": LRS[0]},
              {"params": [make(np.ones(3))], "lr": LRS[1]}]
    return getattr(module, name)(groups, **kwargs)


def _run(opt, sched, steps, params=()):
    """(lr per group, momentum per group) after creation and after each of ``steps`` steps."""
    rec = []
    for t in range(steps + 1):
        if t:
            opt.step()
            sched.step()
        lrs = sched.get_last_lr()
        assert lrs == [g["lr"] for g in opt.param_groups]
        moms = [g["betas"][0] if "betas" in g else g.get("momentum") for g in opt.param_groups]
        rec.append((lrs, moms))
    return rec


def _closed_step(base, t, step_size, gamma):
    return base * gamma ** (t // step_size)


def _closed_cos(base, t, T, eta_min):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


SCHEDULES = [  # (name, kwargs, optimiser, steps, the closed form of lr(base, t) or None)
    ("StepLR", {"step_size": 7, "gamma": 0.5}, "SGD", 100,
     lambda b, t: _closed_step(b, t, 7, 0.5)),
    ("StepLR", {"step_size": 1}, "Adam", 30, lambda b, t: _closed_step(b, t, 1, 0.1)),
    ("ExponentialLR", {"gamma": 0.97}, "SGD", 150, lambda b, t: b * 0.97 ** t),
    ("CosineAnnealingLR", {"T_max": 25}, "SGD", 100, lambda b, t: _closed_cos(b, t, 25, 0.0)),
    ("CosineAnnealingLR", {"T_max": 40, "eta_min": 1e-3}, "Adam", 200,
     lambda b, t: _closed_cos(b, t, 40, 1e-3)),
    ("LambdaLR", {"lr_lambda": lambda t: 1 / (1 + t)}, "SGD", 50, lambda b, t: b / (1 + t)),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 100}, "SGD", 100, None),
    ("OneCycleLR", {"max_lr": [0.5, 0.2], "epochs": 4, "steps_per_epoch": 25,
                    "pct_start": 0.25, "anneal_strategy": "linear", "div_factor": 10.0},
     "Adam", 100, None),
    ("OneCycleLR", {"max_lr": 1.0, "total_steps": 80, "three_phase": True,
                    "base_momentum": [0.8, 0.7], "max_momentum": 0.9}, "SGD", 80, None),
    ("OneCycleLR", {"max_lr": 0.1, "total_steps": 60, "cycle_momentum": False}, "RMSprop", 60,
     None),
]
IDS = [f"{s[0]}-{i}" for i, s in enumerate(SCHEDULES)]


def _optimiser_kwargs(name):
    return {"momentum": 0.9} if name == "SGD" else {}


@pytest.mark.parametrize("name,kwargs,opt_name,steps,closed",
                         [s for s in SCHEDULES if s[-1] is not None],  # OneCycleLR: see below
                         ids=[i for i, s in zip(IDS, SCHEDULES) if s[-1] is not None])
def test_rates_follow_the_closed_form(name, kwargs, opt_name, steps, closed):
    opt = _opt(optim, opt_name, **_optimiser_kwargs(opt_name))
    rec = _run(opt, getattr(sch, name)(opt, **kwargs), steps)
    for t, (lrs, _) in enumerate(rec):
        for base, lr in zip(LRS, lrs):
            # the recursion accumulates rounding: about one ulp of the base rate per step
            assert lr == pytest.approx(closed(base, t), rel=1e-12, abs=1e-14 * base * (t + 1))


@pytest.mark.parametrize("name,kwargs,opt_name,steps,closed", SCHEDULES, ids=IDS)
def test_rates_and_momenta_match_torch(name, kwargs, opt_name, steps, closed):
    torch = pytest.importorskip("torch")
    opt = _opt(optim, opt_name, **_optimiser_kwargs(opt_name))
    ours = _run(opt, getattr(sch, name)(opt, **kwargs), steps)
    topt = _opt(torch.optim, opt_name, make=lambda a: torch.tensor(a, requires_grad=True),
                **_optimiser_kwargs(opt_name))
    tsched = getattr(torch.optim.lr_scheduler, name)(topt, **kwargs)
    theirs = _run(topt, tsched, steps)
    for t, ((lrs, moms), (tlrs, tmoms)) in enumerate(zip(ours, theirs)):
        np.testing.assert_allclose(lrs, tlrs, rtol=1e-13, atol=1e-16, err_msg=f"step {t}")
        if moms[0] is not None:
            np.testing.assert_allclose(moms, tmoms, rtol=1e-13, err_msg=f"step {t}")
    assert opt.param_groups[0]["initial_lr"] == topt.param_groups[0]["initial_lr"]


def test_one_cycle_hand_computed_values():
    opt = _opt(optim, "SGD", momentum=0.9)
    sched = sch.OneCycleLR(opt, max_lr=[0.5, 0.2], total_steps=101, pct_start=0.2)
    rec = _run(opt, sched, 100)
    # the first phase ends at step 0.2 * 101 - 1 = 19.2, the second at 100
    assert rec[0][0] == pytest.approx([0.5 / 25, 0.2 / 25], rel=1e-15)  # max_lr / div_factor
    assert rec[0][1] == [0.95, 0.95]  # max_momentum while the rate is lowest
    # midway through the first phase (step 9.6 would be exact): cos anneal of pct 9 / 19.2
    pct = 9 / 19.2
    want = 0.5 + (0.02 - 0.5) / 2 * (1 + math.cos(math.pi * pct))
    assert rec[9][0][0] == pytest.approx(want, rel=1e-14)
    want_m = 0.85 + (0.95 - 0.85) / 2 * (1 + math.cos(math.pi * pct))
    assert rec[9][1][0] == pytest.approx(want_m, rel=1e-14)
    min_lr = 0.5 / 25 / 1e4
    assert rec[100][0][0] == pytest.approx(min_lr, rel=1e-12)  # the last step: the minimum
    assert rec[100][1][0] == pytest.approx(0.95, rel=1e-14)
    assert max(r[0][0] for r in rec) <= 0.5
    sched.step()  # step 101 = total_steps is allowed (PyTorch's check is step > total_steps)
    with pytest.raises(ValueError, match="tried to step 102 times; the specified number of "
                                         "total steps is 101"):
        sched.step()


def test_one_cycle_cycles_adams_beta1():
    opt = _opt(optim, "Adam", betas=(0.9, 0.99))
    sched = sch.OneCycleLR(opt, max_lr=0.01, total_steps=10)
    assert opt.param_groups[0]["betas"] == (0.95, 0.99)
    sched.step()  # halfway through the first phase (steps 0..2): the mean of 0.95 and 0.85
    assert opt.param_groups[0]["betas"][0] == pytest.approx(0.9, rel=1e-15)
    assert opt.param_groups[1]["betas"][1] == 0.99


def test_step_lr_hand_computed():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=1.0)
    sched = sch.StepLR(opt, step_size=3, gamma=0.5)
    got = []
    for _ in range(9):
        got.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    assert got == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25]


def test_optimiser_uses_the_scheduled_rate():
    w = nn.Parameter(np.array([0.0]))
    opt = optim.SGD([w], lr=1.0)
    sched = sch.ExponentialLR(opt, gamma=0.5)
    for _ in range(3):
        w.grad = np.ones(1)
        opt.step()
        sched.step()
    np.testing.assert_array_equal(w.data, [-(1.0 + 0.5 + 0.25)])


@pytest.mark.parametrize("name,kwargs,opt_name,steps,closed", SCHEDULES, ids=IDS)
def test_state_dicts_resume_the_schedule(name, kwargs, opt_name, steps, closed):
    opt = _opt(optim, opt_name, **_optimiser_kwargs(opt_name))
    full = _run(opt, getattr(sch, name)(opt, **kwargs), steps)
    opt = _opt(optim, opt_name, **_optimiser_kwargs(opt_name))
    sched = getattr(sch, name)(opt, **kwargs)
    _run(opt, sched, steps // 2)
    saved_opt, saved_sched = opt.state_dict(), sched.state_dict()
    assert "optimizer" not in saved_sched and "lr_lambdas" not in saved_sched
    # PyTorch's order: a new optimiser and scheduler, then both state dicts
    opt2 = _opt(optim, opt_name, **_optimiser_kwargs(opt_name))
    sched2 = getattr(sch, name)(opt2, **kwargs)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict({k: (np.asarray(v) if isinstance(v, (int, float, list)) else v)
                            for k, v in saved_sched.items()})  # as read back from a file
    rest = _run(opt2, sched2, steps - steps // 2)
    assert rest[1:] == full[steps // 2 + 1:]


def test_resuming_with_last_epoch_needs_initial_lr():
    opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    with pytest.raises(KeyError, match=r"param_groups\[0\] has no 'initial_lr'"):
        sch.StepLR(opt, step_size=2, last_epoch=3)
    opt.param_groups[0]["initial_lr"] = 0.1
    sched = sch.CosineAnnealingLR(opt, T_max=10, last_epoch=4)
    assert sched.last_epoch == 5 and sched.base_lrs == [0.1]


def test_scheduler_errors_are_clear():
    opt = _opt(optim, "SGD")
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        sch.StepLR([], step_size=2)
    with pytest.raises(ValueError, match="expected a positive integer step_size, got 0"):
        sch.StepLR(opt, step_size=0)
    with pytest.raises(ValueError, match="positive integer T_max"):
        sch.CosineAnnealingLR(opt, T_max=2.5)
    with pytest.raises(TypeError, match="gamma must be a finite real number"):
        sch.ExponentialLR(opt, gamma="0.9")
    with pytest.raises(ValueError, match="expected 2 lr_lambdas"):
        sch.LambdaLR(opt, [lambda t: 1.0])
    with pytest.raises(ValueError, match=r"give either total_steps or \(epochs and "
                                         r"steps_per_epoch\)"):
        sch.OneCycleLR(opt, max_lr=0.1, epochs=3)
    with pytest.raises(ValueError, match="pct_start in"):
        sch.OneCycleLR(opt, max_lr=0.1, total_steps=10, pct_start=1.5)
    with pytest.raises(ValueError, match="anneal_strategy must be 'cos' or 'linear'"):
        sch.OneCycleLR(opt, max_lr=0.1, total_steps=10, anneal_strategy="exp")
    with pytest.raises(ValueError, match="max_lr must have one value per parameter group: got "
                                         "3 values for 2 groups"):
        sch.OneCycleLR(opt, max_lr=[0.1, 0.2, 0.3], total_steps=10)
    plain = optim.Optimizer([nn.Parameter(np.zeros(1))], {"lr": 0.1})
    with pytest.raises(ValueError, match="Optimizer has neither"):
        sch.OneCycleLR(plain, max_lr=0.1, total_steps=10)
