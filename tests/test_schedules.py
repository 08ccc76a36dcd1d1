"""Schedules integrate exactly as the trainers apply them (docs/model.md §5)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from conftest import TYPICAL, load_json

from engine_server.engine import ConfigError, TrainingConfig, calculate, schedule_curve
from engine_server.engine._catalog import TRAINERS
from engine_server.engine._config import ScheduleArgs
from engine_server.engine._schedules import CURVES, SQUARE_SUMS, direct_square_sum, integrate, integrate_many

HF_CASES = load_json("schedules_huggingface.json")["cases"]


def config_for(trainer: str, scheduler: str, steps: int, warmup_steps: int, **params: Any) -> TrainingConfig:
    fields: dict[str, Any] = {**TYPICAL, "trainer": trainer, "scheduler": scheduler, "steps": steps}
    fields.pop("warmup_fraction")
    if warmup_steps:
        fields["warmup_steps"] = warmup_steps
    return TrainingConfig(**fields, **params)


def hf_params(case: dict[str, Any]) -> dict[str, Any]:
    params = dict(case["params"])
    if "rules" in params:
        params["step_rules"] = params.pop("rules")
    return params


@pytest.mark.parametrize("case", HF_CASES, ids=lambda c: f"{c['scheduler']}-N{c['steps']}-W{c['warmup_steps']}")
def test_huggingface_reference_cases(case: dict[str, Any]) -> None:
    config = config_for("huggingface", case["scheduler"], case["steps"], case["warmup_steps"], **hf_params(case))
    result = calculate(config)
    expected = case["expected_scheduler_factor"]
    assert abs(result.scheduler_factor - expected) <= 1e-9 * expected
    curve = schedule_curve(config, points=max(2, case["steps"]))
    first = curve.multipliers[: len(case["first"])]
    assert np.allclose(first, case["first"], rtol=1e-9, atol=1e-15)
    assert math.isclose(curve.multipliers[-1], case["last"], rel_tol=1e-9, abs_tol=1e-15)


# docs/model.md §5 reference values for N = 1000 (six digits).
SPEC_VALUES = [
    ("huggingface", "constant_with_warmup", 100, {}, 0.965834),
    ("huggingface", "linear", 100, {}, 0.577352),
    ("huggingface", "cosine", 100, {}, 0.608962),
    ("huggingface", "cosine_with_restarts", 100, {"num_cycles": 3}, 0.609783),
    ("huggingface", "inverse_sqrt", 100, {}, 0.513366),
    ("huggingface", "cosine_with_min_lr", 100, {"num_cycles": 0.5, "min_lr_ratio": 0.1}, 0.629845),
    ("huggingface", "warmup_stable_decay", 100, {"decay_steps": 200, "min_lr_ratio": 0.05}, 0.901539),
    ("huggingface", "cosine", 0, {}, 0.612781),
    ("huggingface", "linear", 0, {}, 0.577783),
    ("onetrainer", "constant", 50, {}, 0.982939),
    ("onetrainer", "linear", 50, {"min_lr_ratio": 0.1}, 0.606766),
    ("onetrainer", "cosine", 50, {}, 0.610672),
    ("onetrainer", "rex", 50, {}, 0.840636),
    ("ai-toolkit", "linear", 0, {}, 0.693568),
    ("ai-toolkit", "cosine", 0, {}, 0.612781),
]


@pytest.mark.parametrize(("trainer", "scheduler", "warmup", "params", "expected"), SPEC_VALUES)
def test_spec_reference_values(
    trainer: str, scheduler: str, warmup: int, params: dict[str, Any], expected: float
) -> None:
    result = calculate(config_for(trainer, scheduler, 1000, warmup, **params))
    assert round(result.scheduler_factor, 6) == expected


def test_every_catalog_schedule_has_a_curve() -> None:
    for trainer in TRAINERS:
        assert set(trainer.schedules.ids) == set(CURVES[trainer.id]), trainer.id


CLOSED_FORMS = ["constant", "linear", "cosine", "cosine_with_restarts"]


@pytest.mark.parametrize("schedule", CLOSED_FORMS)
@pytest.mark.parametrize("steps", [1, 2, 7, 2000, 99_991, 1_000_000])
def test_closed_forms_equal_the_direct_sum(schedule: str, steps: int) -> None:
    warmups = [0] if schedule == "constant" else sorted({0, min(1, steps - 1), steps // 10, steps - 1})
    for warmup in warmups:
        for params in ({}, {"num_cycles": 3.0}, {"num_cycles": 7.0}) if schedule == "cosine_with_restarts" else ({},):
            config = config_for("huggingface", schedule, steps, warmup, **params)
            resolved = config.resolved
            integral = integrate("huggingface", schedule, steps, warmup, resolved.schedule_args)
            assert integral.closed_form
            total, _ = direct_square_sum("huggingface", schedule, steps, warmup, resolved.schedule_args)
            direct = math.sqrt(total / steps)
            assert abs(integral.scheduler_factor - direct) <= 1e-12 * direct, (warmup, params)


@pytest.mark.parametrize(
    ("trainer", "scheduler", "params"),
    [
        ("huggingface", "polynomial", {"power": 3.0, "min_lr_ratio": 0.02}),
        ("huggingface", "inverse_sqrt", {"timescale": 77}),
        ("huggingface", "cosine_with_min_lr", {"num_cycles": 1.5, "min_lr_ratio": 0.1}),
        ("huggingface", "warmup_stable_decay", {"decay_steps": 300, "min_lr_ratio": 0.1}),
        ("huggingface", "piecewise_constant", {"step_rules": "1:100,0.5:700,0.1"}),
        ("huggingface", "rex", {"min_lr_ratio": 0.05}),
        ("onetrainer", "constant", {}),
        ("onetrainer", "linear", {"min_lr_ratio": 0.2}),
        ("onetrainer", "cosine", {"min_lr_ratio": 0.1}),
        ("onetrainer", "cosine_with_restarts", {"num_cycles": 2.5, "min_lr_ratio": 0.1}),
        ("onetrainer", "cosine_with_hard_restarts", {"num_cycles": 4, "min_lr_ratio": 0.1}),
        ("onetrainer", "rex", {"min_lr_ratio": 0.1}),
        ("ai-toolkit", "linear", {"start_factor": 0.5, "end_factor": 0.9}),
        ("ai-toolkit", "cosine_with_restarts", {}),
    ],
)
def test_other_closed_forms_equal_the_direct_sum(trainer: str, scheduler: str, params: dict[str, Any]) -> None:
    takes_warmup = TRAINERS[trainer].schedules[scheduler].takes_warmup
    for steps in (3, 1000, 54_321):
        for warmup in sorted({0, 1, 2, steps // 7}) if takes_warmup else [0]:
            if scheduler == "warmup_stable_decay" and params["decay_steps"] > steps - warmup:
                continue
            config = config_for(trainer, scheduler, steps, warmup, **params)
            args = config.resolved.schedule_args
            integral = integrate(trainer, scheduler, steps, warmup, args)
            total, _ = direct_square_sum(trainer, scheduler, steps, warmup, args)
            direct = math.sqrt(total / steps)
            assert integral.closed_form or scheduler in ("cosine_with_restarts", "cosine_with_min_lr")
            assert abs(integral.scheduler_factor - direct) <= 1e-12 * direct, (steps, warmup)


def test_fractional_restarts_fall_back_to_the_direct_sum() -> None:
    config = config_for("huggingface", "cosine_with_restarts", 5000, 100, num_cycles=2.5)
    integral = integrate("huggingface", "cosine_with_restarts", 5000, 100, config.resolved.schedule_args)
    assert not integral.closed_form
    assert 0.5 < integral.scheduler_factor < 0.7


def test_warmup_fraction_floors_like_the_trainers() -> None:
    config = config_for("huggingface", "linear", 999, 0)
    fields = {**config.model_dump(exclude_none=True), "warmup_fraction": 0.1}
    assert TrainingConfig(**fields).resolved.warmup_steps == 99


def test_polynomial_default_lr_end_is_solved_against_the_recommended_rate() -> None:
    default = calculate(config_for("huggingface", "polynomial", 2000, 100, power=2.0))
    explicit_floor = 1e-7 / default.recommended_lr
    explicit = calculate(config_for("huggingface", "polynomial", 2000, 100, power=2.0, min_lr_ratio=explicit_floor))
    assert math.isclose(default.recommended_lr, explicit.recommended_lr, rel_tol=1e-12)


@pytest.mark.parametrize(
    ("trainer", "scheduler", "reason"),
    [
        ("huggingface", "adafactor", "computed inside the optimizer"),
        ("onetrainer", "ADAFACTOR", "computed inside the optimizer"),
        ("onetrainer", "CUSTOM", "user code"),
    ],
)
def test_internally_computed_schedules_are_refused_with_the_reason(trainer: str, scheduler: str, reason: str) -> None:
    with pytest.raises(ConfigError) as caught:
        config_for(trainer, scheduler, 1000, 0)
    (violation,) = caught.value.violations
    assert violation.field == "scheduler"
    assert reason in violation.description


def test_schedule_free_optimizers_are_refused_with_the_reason() -> None:
    with pytest.raises(ConfigError) as caught:
        TrainingConfig(**{**TYPICAL, "optimizer": "AdamWScheduleFree"})
    (violation,) = caught.value.violations
    assert violation.field == "optimizer"
    assert "inside the optimizer" in violation.description


def test_schedule_curve_shows_warmup_and_spans_the_run() -> None:
    curve = schedule_curve(config_for("huggingface", "cosine", 1000, 100), points=101)
    assert curve.steps[0] == 0 and curve.steps[-1] == 999
    assert curve.multipliers[0] == 0.0  # warmup starts from zero
    assert max(curve.multipliers) <= 1.0
    assert len(curve.steps) == 101
    peak = curve.steps[curve.multipliers.index(max(curve.multipliers))]
    assert 90 <= peak <= 110


def test_schedule_curve_of_a_short_run_lists_every_step() -> None:
    curve = schedule_curve(config_for("huggingface", "linear", 5, 0), points=200)
    assert curve.steps == (0, 1, 2, 3, 4)
    assert curve.multipliers == pytest.approx((1.0, 0.8, 0.6, 0.4, 0.2))


#: Parameters the array forms are checked with: whole and fractional cycles (fractional restarts
#: have no closed form), floors, and ai-toolkit's linear factors.
ARRAY_ARGS = (
    ScheduleArgs(min_lr_ratio=0.0),
    ScheduleArgs(num_cycles=2.0, min_lr_ratio=0.1),
    ScheduleArgs(num_cycles=3.0, min_lr_ratio=0.05, start_factor=0.2, end_factor=1.0),
    ScheduleArgs(num_cycles=0.5, min_lr_ratio=0.0),
    ScheduleArgs(num_cycles=1.7, min_lr_ratio=0.3),
    ScheduleArgs(num_cycles=100.0, min_lr_ratio=0.3),
)


@pytest.mark.parametrize(
    "owner, schedule", [(owner, schedule) for owner, table in SQUARE_SUMS.items() for schedule in table]
)
def test_array_integrals_equal_the_scalar_ones_exactly(owner: str, schedule: str) -> None:
    """Batches integrate many runs at once: every element is the scalar integral, to the last bit."""
    rng = np.random.default_rng(7)
    edges = [1, 2, 3, 4, 6, 8, 64, 128, 129, 1000, 4096, 9_999_999, 10_000_000]
    steps = np.unique(np.concatenate([rng.integers(1, 2000, 150), rng.integers(2000, 10**6, 150), edges]))
    warmup = np.where(rng.random(len(steps)) < 0.5, 0, (steps * rng.uniform(0, 0.3, len(steps))).astype(np.int64))
    if schedule == "constant" or (owner == "ai-toolkit" and schedule != "constant_with_warmup"):
        warmup[:] = 0  # these take no warmup
    for args in ARRAY_ARGS:
        factors, zero_fractions = integrate_many(owner, schedule, steps, np.minimum(warmup, steps - 1), args)
        for run, (factor, zero_fraction) in enumerate(zip(factors.tolist(), zero_fractions.tolist(), strict=True)):
            integral = integrate(owner, schedule, int(steps[run]), int(min(warmup[run], steps[run] - 1)), args)
            assert (factor, zero_fraction) == (integral.scheduler_factor, integral.zero_fraction), (args, steps[run])
