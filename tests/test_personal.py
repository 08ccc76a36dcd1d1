"""The run log's learning in the engine: how each outcome moves the user's factor, and its band."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import SEED_004_SETUP

from engine_server.engine import (
    ConfigError,
    LoggedRun,
    Outcome,
    TrainingConfig,
    calculate,
    catalog,
    check_run,
    model_family,
    personalize,
)
from engine_server.engine import _calibration_data as calibration_data
from engine_server.engine._calculate import population as population_of
from engine_server.engine._personal import MISJUDGED, OTHER_FAMILY_LOG_SD

#: Seed 004's setup: SD1.5 at 512 px, 20 images, AdamW8bit, cosine with restarts.
SD15: dict[str, Any] = {**SEED_004_SETUP, "steps": 1200, "rank": 64, "alpha": 32.0}


def config(**changes: Any) -> TrainingConfig:
    return TrainingConfig(**{**SD15, **changes})


def population(cfg: TrainingConfig) -> float:
    return calculate(cfg).population_lr


def run_at(factor: float, outcome: Outcome, best_step: int | None = None, **changes: Any) -> LoggedRun:
    """A run at `factor` × the population's recommendation for its own configuration."""
    cfg = config(**changes)
    return LoggedRun(cfg, factor * population(cfg), outcome, best_step)


def test_no_runs_is_the_population() -> None:
    personal = personalize(config(), [])
    # The prior is the formula set's own spread around its recommendation (calibrated: measured on presets).
    assert (personal.factor, personal.runs) == (1.0, 0)
    assert personal.log_sd == population_of(config()).log_sd == calibration_data.RESIDUAL_LOG_SD


def test_one_good_run_moves_toward_it_but_not_all_the_way() -> None:
    personal = personalize(config(), [run_at(2.0, Outcome.GOOD)])
    assert personal.runs == 1
    # The prior keeps one run from swinging the factor: between the population and the run.
    assert 1.3 < personal.factor < 2.0
    assert personal.log_sd < catalog.POPULATION_LOG_SD


@pytest.mark.parametrize(
    ("outcome", "direction"),
    [(Outcome.UNDERTRAINED, +1), (Outcome.OVERTRAINED, -1), (Outcome.DIVERGED, -1)],
)
def test_one_sided_outcomes_push_to_their_side(outcome: Outcome, direction: int) -> None:
    personal = personalize(config(), [run_at(1.0, outcome)])
    assert math.copysign(1.0, math.log(personal.factor)) == direction
    assert abs(math.log(personal.factor)) > 0.15


def test_diverged_says_the_best_rate_is_far_below() -> None:
    overtrained = personalize(config(), [run_at(3.0, Outcome.OVERTRAINED)]).factor
    diverged = personalize(config(), [run_at(3.0, Outcome.DIVERGED)]).factor
    assert diverged < overtrained


def test_the_band_narrows_as_runs_agree() -> None:
    widths = [personalize(config(), [run_at(1.5, Outcome.GOOD)] * count).log_sd for count in range(0, 7)]
    assert widths == sorted(widths, reverse=True) and widths[-1] < 0.5 * widths[0]


def test_an_early_best_checkpoint_lowers_the_factor() -> None:
    full = personalize(config(), [run_at(1.5, Outcome.GOOD)]).factor
    halfway = personalize(config(), [run_at(1.5, Outcome.GOOD, best_step=600)]).factor
    assert halfway < full
    # A best step alone, without an outcome, still informs.
    alone = personalize(config(), [run_at(1.5, Outcome.UNSPECIFIED, best_step=600)])
    assert alone.runs == 1 and alone.factor < 1.5


def test_a_run_with_nothing_to_say_is_not_counted() -> None:
    silent = [run_at(3.0, Outcome.UNSPECIFIED), run_at(3.0, Outcome.UNSPECIFIED, best_step=1200)]
    assert personalize(config(), silent).runs == 0


def test_other_families_inform_weakly() -> None:
    same = personalize(config(), [run_at(2.0, Outcome.GOOD)]).factor
    nudged = personalize(config(), [run_at(2.0, Outcome.GOOD, model="SDXL", resolution=1024)])
    other = nudged.factor
    assert nudged.runs == 0  # only this family's runs are counted
    assert model_family(config(model="SDXL", resolution=1024)) != model_family(config())
    assert 1.0 < other < 1.0 + (same - 1.0) / 3
    assert OTHER_FAMILY_LOG_SD > catalog.POPULATION_LOG_SD


def test_one_misjudged_run_among_many_does_not_swing_it() -> None:
    agreeing = [run_at(1.6, Outcome.GOOD, steps=steps) for steps in (800, 1000, 1200, 1400, 1600)]
    settled = personalize(config(), agreeing).factor
    contradicted = personalize(config(), [*agreeing, run_at(0.2, Outcome.DIVERGED)]).factor
    assert MISJUDGED > 0
    assert abs(math.log(contradicted / settled)) < math.log(1.25)


def test_runs_are_measured_against_their_own_configuration() -> None:
    # The same factor on the population rate of very different runs is one consistent user.
    runs = [run_at(1.8, Outcome.GOOD, steps=s, rank=r) for s, r in ((600, 16), (3000, 64), (1500, 8))]
    assert personalize(config(steps=2000, rank=32), runs).factor == pytest.approx(
        personalize(config(), runs).factor, rel=1e-9
    )


def test_lrtool_1_0_is_never_personalized() -> None:
    legacy = config(formula="lrtool-1.0", scheduler="Cosine")
    personal = personalize(legacy, [run_at(2.0, Outcome.GOOD)] * 5)
    assert personal.factor == 1.0 and personal.runs == 0
    assert calculate(legacy, personalization=personal).recommended_lr == calculate(legacy).recommended_lr


@pytest.mark.parametrize(
    ("learning_rate", "best_step", "fields"),
    [
        (0.0, None, ["learning_rate"]),
        (-1e-4, None, ["learning_rate"]),
        (math.nan, None, ["learning_rate"]),
        (math.inf, None, ["learning_rate"]),
        (1e-4, 0, ["best_step"]),
        (1e-4, 1201, ["best_step"]),
        (math.nan, 5000, ["learning_rate", "best_step"]),
    ],
)
def test_check_run_names_every_bad_field(learning_rate: float, best_step: int | None, fields: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        check_run(config(), learning_rate, best_step)
    assert [v.field for v in caught.value.violations] == fields
    assert "1,200" in str(caught.value) or "above 0" in str(caught.value)


def test_outcome_words() -> None:
    assert Outcome.from_word(" Good ") is Outcome.GOOD and Outcome.from_word("") is Outcome.UNSPECIFIED
    with pytest.raises(ValueError, match="UNDERTRAINED, GOOD, OVERTRAINED, DIVERGED"):
        Outcome.from_word("burned")
