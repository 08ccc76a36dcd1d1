"""Calculation entry points: offsets, evaluation, batches, curves and sweeps."""

from __future__ import annotations

import math
from typing import Any

import pytest
from conftest import TYPICAL

from engine_server.engine import (
    CalculateRequest,
    ConfigError,
    TrainingConfig,
    calculate,
    calculate_batch,
    evaluate,
    score_curve,
    sweep,
)


def test_typical_sdxl_character_recommendation() -> None:
    result = calculate(TrainingConfig(**TYPICAL))
    # 0.000712 / (sf · √(2000·1.7/40) · √2 · 1 · 1)
    expected = 0.000712 / (result.scheduler_factor * math.sqrt(2000 * 1.7 / 40) * math.sqrt(2))
    assert result.recommended_lr == pytest.approx(expected, rel=1e-15)
    assert 5e-5 < result.recommended_lr < 2e-4
    assert (result.risk_band, result.efficiency_band) == ("Safe", "Optimal")
    assert result.warmup_steps == 200


def test_offset_scales_the_rate_and_overshoot_is_penalised_harder() -> None:
    config = TrainingConfig(**TYPICAL)
    up, down = calculate(config, offset=0.5), calculate(config, offset=-0.5)
    assert up.adjusted_lr == pytest.approx(1.5 * up.recommended_lr)
    assert up.deviation == down.deviation == 0.5
    assert up.stability_score < down.stability_score  # overshoot_k > undershoot_k here
    assert up.energy_ratio == 1.5 and down.energy_ratio == 0.5


def test_evaluate_scores_a_rate_outside_the_slider() -> None:
    config = TrainingConfig(**TYPICAL)
    recommended = calculate(config).recommended_lr
    result = evaluate(config, 3.5 * recommended)
    assert result.offset == pytest.approx(2.5)
    assert result.adjusted_lr == 3.5 * recommended
    assert result.risk_band == "Risky"


def test_batch_keeps_order_and_names_every_bad_request() -> None:
    good = TrainingConfig(**TYPICAL)
    other = TrainingConfig(**{**TYPICAL, "rank": 64})
    results = calculate_batch([CalculateRequest(good), CalculateRequest(other, offset=0.2)])
    assert results[0].recommended_lr > results[1].recommended_lr
    assert results[1].offset == 0.2
    with pytest.raises(ConfigError) as caught:
        calculate_batch(
            [CalculateRequest(good), CalculateRequest(good, offset=3.0), CalculateRequest(good, learning_rate=-1.0)]
        )
    assert [v.field for v in caught.value.violations] == ["requests[1].offset", "requests[2].learning_rate"]
    never_trains = TrainingConfig(
        **{**TYPICAL, "scheduler": "piecewise_constant", "warmup_fraction": None, "step_rules": "0"}
    )
    with pytest.raises(ConfigError) as caught:
        calculate_batch([CalculateRequest(good), CalculateRequest(never_trains)], first_index=100)
    assert [v.field for v in caught.value.violations] == ["requests[101].config.scheduler"]


def test_score_curve_peaks_at_zero_and_marks_the_asymmetry() -> None:
    curve = score_curve(TrainingConfig(**TYPICAL), points=201)
    assert curve.offsets[0] == -1.0 and curve.offsets[-1] == 1.0
    middle = curve.offsets.index(0.0)
    assert curve.stability[middle] == 100.0 == max(curve.stability)
    assert curve.efficiency[middle] == 100.0
    assert curve.stability[-1] < curve.stability[0]


def test_sweep_varies_one_field_like_the_seed_users_ten_runs() -> None:
    # Ten runs varying rank, steps and rate: sweep rank with everything else fixed.
    base: dict[str, Any] = {
        **TYPICAL,
        "model": "SD1.5",
        "resolution": 512,
        "optimizer": "AdamW8bit",
        "scheduler": "cosine_with_restarts",
        "warmup_fraction": None,
    }
    configs = sweep(TrainingConfig(**base), "rank", [4, 16, 32, 64])
    rates = [calculate(config).recommended_lr for config in configs]
    assert rates == sorted(rates, reverse=True)  # higher rank (alpha fixed) → lower rate
    with pytest.raises(ConfigError) as caught:
        sweep(TrainingConfig(**base), "rank", [8, 0])
    assert caught.value.violations[0].field == "values[1].rank"


def test_lrtool_1_0_and_energy_differ_only_in_the_schedule() -> None:
    legacy = calculate(TrainingConfig(**{**TYPICAL, "formula": "lrtool-1.0"}))
    energy = calculate(TrainingConfig(**TYPICAL))
    assert legacy.exposure == energy.exposure and legacy.capacity == energy.capacity
    assert legacy.scheduler_factor != energy.scheduler_factor
    assert legacy.recommended_lr * legacy.scheduler_factor == pytest.approx(
        energy.recommended_lr * energy.scheduler_factor
    )


def test_a_calculated_configuration_still_equals_a_fresh_one() -> None:
    calculated_config, fresh = TrainingConfig(**TYPICAL), TrainingConfig(**TYPICAL)
    first = calculate(calculated_config, offset=0.3)
    assert calculated_config == fresh and hash(calculated_config) == hash(fresh)
    assert calculate(calculated_config, offset=0.3) == first == calculate(fresh, offset=0.3)


def test_a_batch_stops_when_asked() -> None:
    from engine_server.engine import Cancelled

    asked = iter([False, False, True])
    with pytest.raises(Cancelled) as caught:
        calculate_batch([CalculateRequest(TrainingConfig(**TYPICAL))] * 5, stop=lambda: next(asked))
    assert caught.value.completed == 2


def _long_legacy_run(steps: int) -> TrainingConfig:
    """A run long enough that LRTool 1.0's step-by-step sum takes several chunks."""
    return TrainingConfig(**{**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Rex", "steps": steps})


def test_a_long_calculation_stops_inside_the_run_when_asked() -> None:
    from engine_server.engine import Cancelled, stop_when

    config = _long_legacy_run(2_500_003)  # three chunks of 2^20 steps
    answers = iter([False, True])
    asked: list[bool] = []

    def stop() -> bool:
        asked.append(True)
        return next(answers)

    with stop_when(stop), pytest.raises(Cancelled) as caught:
        calculate(config)
    assert caught.value.completed == 0
    assert len(asked) == 2  # before the first chunk, then between the first and second
    # Nothing half-done was kept: the same configuration calculates in full afterwards.
    assert calculate(config) == calculate(_long_legacy_run(2_500_003))


def test_a_batch_stopped_inside_a_long_request_counts_what_it_finished() -> None:
    from engine_server.engine import Cancelled

    answers = iter([False, False, False, True])  # request 1, request 2, its first chunk, its second
    requests = [CalculateRequest(TrainingConfig(**TYPICAL)), CalculateRequest(_long_legacy_run(2_500_007))]
    with pytest.raises(Cancelled) as caught:
        calculate_batch(requests, stop=lambda: next(answers))
    assert caught.value.completed == 1


def test_stop_when_applies_only_inside_its_block() -> None:
    from engine_server.engine import stop_when

    with stop_when(lambda: True):
        pass
    assert calculate(_long_legacy_run(1_100_009)).recommended_lr > 0  # two chunks, never stopped
