"""Bad input is rejected with the field, the accepted range and the value; warnings for odd configs."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import TYPICAL

from engine_server.engine import ConfigError, TrainingConfig, calculate
from engine_server.engine._catalog import INPUT_RANGES, MODELS, OPTIMIZERS, NumberRange

CONFIG_NUMBER_FIELDS = [name for name in INPUT_RANGES if name not in ("offset", "learning_rate")]


def bad_values(accepted: NumberRange) -> list[Any]:
    """Negative, zero/below the minimum, NaN, ±inf, too large and wrong types."""
    below = accepted.minimum if accepted.minimum_exclusive else accepted.minimum - 1
    values: list[Any] = [below, -5, accepted.maximum * 10 + 1, math.nan, math.inf, -math.inf, "abc", [1]]
    if accepted.kind == "int":
        values += [2.5, True, "12"]
    return [value for value in values if not (isinstance(value, (int, float)) and accepted.contains(value))]


def rejection(**fields: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        TrainingConfig(**{**TYPICAL, **fields})
    return caught.value


BAD_NUMBERS = [(name, value) for name in CONFIG_NUMBER_FIELDS for value in bad_values(INPUT_RANGES[name])]


@pytest.mark.parametrize(("field", "value"), BAD_NUMBERS, ids=[f"{f}={v!r}" for f, v in BAD_NUMBERS])
def test_every_numeric_field_names_its_range(field: str, value: Any) -> None:
    fields: dict[str, Any] = {field: value}
    if field == "warmup_steps":
        fields["warmup_fraction"] = None
    error = rejection(**fields)
    (violation,) = error.violations
    assert violation.field == field
    assert violation.description.startswith(f"must be {INPUT_RANGES[field].describe()}; got ")
    assert "Traceback" not in str(error)


def test_the_message_reads_as_documented() -> None:
    (violation,) = rejection(steps=-5).violations
    assert str(violation) == "steps: must be an integer from 1 to 10,000,000; got -5"
    (violation,) = rejection(alpha=math.nan).violations
    assert str(violation) == "alpha: must be a finite number above 0 and at most 4,096; got NaN"
    (violation,) = rejection(resolution=math.inf).violations
    assert str(violation) == "resolution: must be an integer from 64 to 8,192; got infinity"


NAME_FIELDS = ["model", "optimizer", "objective", "formula", "trainer", "scheduler"]


@pytest.mark.parametrize("field", NAME_FIELDS)
@pytest.mark.parametrize("value", ["nonexistent thing", "", 5, None])
def test_every_name_field_rejects_unknown_names_and_wrong_types(field: str, value: Any) -> None:
    (violation,) = rejection(**{field: value}).violations
    assert violation.field == field
    if isinstance(value, str):
        assert "accepted:" in violation.description
    else:
        assert "got" in violation.description


def test_unknown_names_list_the_accepted_ones_and_suggest_a_close_one() -> None:
    (violation,) = rejection(model="SDXL Lightnin").violations
    assert "did you mean 'SDXL Lightning'" in violation.description
    for model in MODELS:
        assert model.display_name in violation.description
    (violation,) = rejection(optimizer="AdamX").violations
    for optimizer in OPTIMIZERS:
        assert optimizer.display_name in violation.description


def test_schedule_names_depend_on_the_trainer() -> None:
    (violation,) = rejection(trainer="ai-toolkit", scheduler="rex", warmup_fraction=None).violations
    assert violation.field == "scheduler"
    assert "'rex' is not a schedule of trainer 'ai-toolkit'" in violation.description
    assert "constant, linear, cosine" in violation.description


def test_all_problems_are_reported_together() -> None:
    error = rejection(steps=-5, alpha=math.inf, model="SD9", optimizer="nope", rank=0)
    assert {violation.field for violation in error.violations} == {"steps", "alpha", "model", "optimizer", "rank"}


def test_missing_fields_are_named() -> None:
    fields = dict(TYPICAL)
    del fields["steps"], fields["model"]
    with pytest.raises(ConfigError) as caught:
        TrainingConfig(**fields)
    assert {violation.field for violation in caught.value.violations} == {"steps", "model"}
    assert all("is required" in violation.description for violation in caught.value.violations)
    # Each says what it takes, as a wrong value would be told.
    described = {violation.field: violation for violation in caught.value.violations}
    assert "accepted: SD1.5, SD2.1, SDXL" in described["model"].description
    assert described["steps"].description.endswith("must be an integer from 1 to 10,000,000")
    assert described["steps"].accepted == "an integer from 1 to 10,000,000"


@pytest.mark.parametrize("model", [None, "SD9"])
def test_a_bad_model_is_not_blamed_on_the_resolution_it_would_default(model: str | None) -> None:
    """Without a resolution the model's native size is used; with no known model there is no
    such size, and the model's own error is the only one reported."""
    fields = {name: value for name, value in TYPICAL.items() if name not in ("resolution", "model")}
    if model is not None:
        fields["model"] = model
    with pytest.raises(ConfigError) as caught:
        TrainingConfig(**fields)
    assert [violation.field for violation in caught.value.violations] == ["model"]


def test_unknown_fields_are_rejected() -> None:
    (violation,) = rejection(learning_rat=1e-4).violations
    assert violation.field == "learning_rat"
    assert "accepted fields" in violation.description


def test_warmup_must_fit_the_run_and_be_given_once() -> None:
    (violation,) = rejection(warmup_fraction=None, warmup_steps=2000).violations
    assert str(violation) == "warmup_steps: must be an integer from 0 to 1,999 (steps − 1); got 2,000"
    (violation,) = rejection(warmup_steps=10).violations
    assert "not both" in violation.description


def test_schedule_parameters_are_checked_against_the_schedule() -> None:
    (violation,) = rejection(scheduler="cosine_with_min_lr").violations
    assert violation.field == "min_lr_ratio" and "required" in violation.description
    (violation,) = rejection(scheduler="warmup_stable_decay", decay_steps=5000).violations
    assert violation.field == "decay_steps" and "from 1 to 1,800" in violation.description
    (violation,) = rejection(scheduler="polynomial", min_lr_ratio=1.0).violations
    assert violation.field == "min_lr_ratio" and "below 1" in violation.description
    (violation,) = rejection(scheduler="piecewise_constant", warmup_fraction=None, step_rules="1:abc,0.1").violations
    assert violation.field == "step_rules" and "whole number" in violation.description
    (violation,) = rejection(scheduler="constant").violations
    assert violation.field == "warmup_fraction" and "constant_with_warmup" in violation.description


def test_parameters_a_schedule_does_not_use_are_ignored_with_a_warning() -> None:
    result = calculate(TrainingConfig(**{**TYPICAL, "power": 2.0}))
    assert any(warning.startswith("power: not used by schedule 'cosine'") for warning in result.warnings)


@pytest.mark.parametrize(
    ("adjustment", "message"),
    [
        ({"offset": 1.5}, "offset: must be a finite number at least -1 and at most 1; got 1.5"),
        ({"offset": math.nan}, "offset: must be a finite number at least -1 and at most 1; got NaN"),
        ({"learning_rate": 0.0}, "learning_rate: must be a finite number above 0 and at most 1,000,000; got 0"),
        ({"learning_rate": -1e-4}, "learning_rate: must be a finite number above 0 and at most 1,000,000; got -0.0001"),
        (
            {"learning_rate": math.inf},
            "learning_rate: must be a finite number above 0 and at most 1,000,000; got infinity",
        ),
        ({"offset": 0.1, "learning_rate": 1e-4}, "learning_rate: give either offset or learning_rate, not both"),
    ],
)
def test_adjustments_are_checked(adjustment: dict[str, float], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        calculate(TrainingConfig(**TYPICAL), **adjustment)
    assert [str(violation) for violation in caught.value.violations] == [message]


def test_a_schedule_that_never_trains_is_an_input_error() -> None:
    with pytest.raises(ConfigError) as caught:
        calculate(
            TrainingConfig(**{**TYPICAL, "scheduler": "piecewise_constant", "warmup_fraction": None, "step_rules": "0"})
        )
    (violation,) = caught.value.violations
    assert violation.field == "scheduler" and "never trains" in violation.description


@pytest.mark.parametrize(
    ("fields", "start"),
    [
        ({"warmup_fraction": 0.6}, "warmup: 1,200 of 2,000 steps (60%) are warmup"),
        ({"alpha": 200.0}, "alpha: 200 is more than 4× the rank (32)"),
        ({"steps": 10_000_000, "images": 1, "batch_size": 4096}, "recommended_lr: "),
        ({"formula": "lrtool-1.0", "scheduler": "Cosine (Hard Restarts)"}, "scheduler: the multiplier is zero on"),
        ({"formula": "lrtool-1.0", "scheduler": "Cosine"}, "scheduler: LRTool 1.0's Cosine goes negative"),
    ],
)
def test_questionable_configs_get_warnings(fields: dict[str, Any], start: str) -> None:
    result = calculate(TrainingConfig(**{**TYPICAL, **fields}))
    assert any(warning.startswith(start) for warning in result.warnings), result.warnings


def test_a_plain_config_has_no_warnings() -> None:
    assert calculate(TrainingConfig(**TYPICAL)).warnings == ()


def test_from_mapping_rejects_what_is_not_a_mapping() -> None:
    with pytest.raises(ConfigError) as caught:
        TrainingConfig.from_mapping([1, 2])  # type: ignore[arg-type]
    assert caught.value.violations[0].field == "config"
