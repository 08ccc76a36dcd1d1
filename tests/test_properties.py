"""Properties of the model that hold for every valid configuration (hypothesis)."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine_server.engine import ConfigError, TrainingConfig, calculate, evaluate
from engine_server.engine._catalog import (
    FORMULA_SETS,
    LRTOOL_1_0_SCHEDULES,
    MODELS,
    NETWORKS,
    OBJECTIVES,
    OPTIMIZERS,
    TRAINERS,
)
from engine_server.engine._schedules import direct_square_sum, integrate

PROPERTY_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def schedule_fields(draw: st.DrawFn, steps: int) -> dict[str, Any]:
    formula = draw(st.sampled_from(FORMULA_SETS.ids))
    fields: dict[str, Any] = {"formula": formula}
    if not FORMULA_SETS[formula].uses_trainer:
        fields["scheduler"] = draw(st.sampled_from(LRTOOL_1_0_SCHEDULES.ids))
        fields["warmup_fraction"] = draw(st.sampled_from([0.0, 0.05, 0.1, 0.15, 0.2, 0.25]))
        return fields
    trainer = TRAINERS[draw(st.sampled_from(TRAINERS.ids))]
    schedule = trainer.schedules[draw(st.sampled_from(trainer.schedules.ids))]
    fields["trainer"] = trainer.id
    fields["scheduler"] = schedule.id
    warmup = draw(st.integers(0, steps - 1)) if schedule.takes_warmup else 0
    if warmup:
        fields["warmup_steps"] = warmup
    for use in schedule.parameters:
        if not use.required and draw(st.booleans()):
            continue
        if use.name == "num_cycles":
            fields["num_cycles"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0, 0.75, 1.5]))
        elif use.name == "power":
            fields["power"] = draw(st.sampled_from([0.5, 1.0, 2.0, 3.0]))
        elif use.name == "min_lr_ratio":
            fields["min_lr_ratio"] = draw(st.sampled_from([0.0, 0.01, 0.1, 0.5]))
        elif use.name == "decay_steps":
            fields["decay_steps"] = draw(st.integers(1, steps - warmup))
        elif use.name == "timescale":
            fields["timescale"] = draw(st.integers(1, 100_000))
        elif use.name == "step_rules":
            first = draw(st.integers(0, steps))
            fields["step_rules"] = f"1:{first},0.5:{first + draw(st.integers(0, steps))},0.1"
        elif use.name == "start_factor":
            fields["start_factor"] = draw(st.sampled_from([0.1, 1 / 3, 1.0]))
        elif use.name == "end_factor":
            fields["end_factor"] = draw(st.sampled_from([0.0, 0.5, 1.0]))
    return fields


@st.composite
def config_fields(draw: st.DrawFn, max_steps: int = 20_000) -> dict[str, Any]:
    """The fields of a valid configuration, as TrainingConfig takes them."""
    steps = draw(st.integers(1, max_steps))
    schedule = draw(schedule_fields(steps))
    # Only LRTool 1.0's models and optimizers have the constants of formula sets energy and lrtool-1.0.
    legacy = schedule["formula"] != "calibrated"
    models = [m for m in MODELS if m.base_energy is not None or not legacy]
    optimizers = [o for o in OPTIMIZERS if o.modifier is not None or not legacy]
    fields: dict[str, Any] = {
        # Also as a variant's name ("Wan 5B fp16"), which resolves to its base.
        "model": draw(
            st.sampled_from(
                [m.display_name for m in models]
                + [m.id for m in models]
                + [f"{m.display_name} 5B fp16" for m in models]
            )
        ),
        "resolution": draw(st.integers(64, 8192)),
        "steps": steps,
        "images": draw(st.integers(1, 10_000_000)),
        "batch_size": draw(st.integers(1, 4096)),
        "grad_accum": draw(st.integers(1, 4096)),
        "rank": draw(st.integers(1, 4096)),
        "alpha": draw(st.floats(min_value=0.0, max_value=4096.0, exclude_min=True, allow_nan=False)),
        "optimizer": draw(st.sampled_from([o.display_name for o in optimizers])),
        "objective": draw(st.sampled_from(OBJECTIVES.ids)),
        "network": draw(st.sampled_from(NETWORKS.ids)),
        "repeats": draw(st.integers(1, 10_000)),
        **schedule,
    }
    return fields


def configs(max_steps: int = 20_000) -> st.SearchStrategy[TrainingConfig]:
    return config_fields(max_steps).map(lambda fields: TrainingConfig(**fields))


def calculated(config: TrainingConfig, **adjustment: float) -> Any:
    """The calculation, or skip the rare schedules that never train (an input error by design)."""
    try:
        return calculate(config, **adjustment)
    except ConfigError as error:
        assert {v.field for v in error.violations} <= {"scheduler", "min_lr_ratio"}, error
        assume(False)


@PROPERTY_SETTINGS
@given(configs())
def test_recommended_lr_is_finite_and_positive(config: TrainingConfig) -> None:
    result = calculated(config)
    assert math.isfinite(result.recommended_lr) and result.recommended_lr > 0
    assert 0 < result.scheduler_factor < math.inf


@PROPERTY_SETTINGS
@given(configs().filter(lambda c: c.formula == "energy"))
def test_offset_zero_is_exactly_on_target(config: TrainingConfig) -> None:
    result = calculated(config, offset=0.0)
    assert result.stability_score == 100.0
    assert result.deviation == 0.0
    assert result.efficiency_score == 100.0
    assert result.adjusted_lr == result.recommended_lr


@PROPERTY_SETTINGS
@given(configs(), st.floats(0.0, 0.99), st.floats(0.001, 0.01))
def test_stability_strictly_falls_as_the_offset_grows_either_side(
    config: TrainingConfig, offset: float, step: float
) -> None:
    for sign in (1.0, -1.0):
        nearer = calculated(config, offset=sign * offset)
        farther = calculated(config, offset=sign * min(1.0, offset + step))
        assert farther.stability_score < nearer.stability_score


@PROPERTY_SETTINGS
@given(configs(), st.floats(-1.0, 1.0).filter(lambda o: o > -1.0))
def test_evaluating_the_adjusted_rate_gives_back_the_offset(config: TrainingConfig, offset: float) -> None:
    recommended = calculated(config).recommended_lr
    assume(recommended <= 1e5)
    result = evaluate(config, recommended * (1.0 + offset))
    assert math.isclose(result.offset, offset, rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(result.stability_score, calculate(config, offset=offset).stability_score, rel_tol=1e-9)


@PROPERTY_SETTINGS
@given(configs(max_steps=5_000))
def test_closed_forms_equal_the_direct_sum(config: TrainingConfig) -> None:
    resolved = config.resolved
    owner = resolved.trainer.id if resolved.formula.uses_trainer else "lrtool-1.0"
    args = resolved.schedule_args
    if args.min_lr_ratio is None and resolved.schedule.id == "polynomial":
        args = dataclasses.replace(args, min_lr_ratio=1e-3)
    integral = integrate(owner, resolved.schedule.id, config.steps, resolved.warmup_steps, args)
    total, _ = direct_square_sum(owner, resolved.schedule.id, config.steps, resolved.warmup_steps, args)
    direct = math.sqrt(total / config.steps)
    assert math.isclose(integral.scheduler_factor, direct, rel_tol=1e-12, abs_tol=1e-300)


@PROPERTY_SETTINGS
@given(configs())
def test_bands_follow_the_scores(config: TrainingConfig) -> None:
    result = calculated(config, offset=0.4)
    expected_risk = "Safe" if result.stability_score >= 85 else "Caution" if result.stability_score >= 65 else "Risky"
    assert result.risk_band == expected_risk
    assert result.efficiency_band in {"Optimal", "Suboptimal", "Inefficient"}
