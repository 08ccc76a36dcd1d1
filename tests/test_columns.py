"""The columnar batch path answers exactly as the per-configuration path: the same results and
the same violations, on random valid, broken and hostile rows (hypothesis)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from conftest import TYPICAL
from fuzzing import INT64, NUMBERS, TEXT, training_configs
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import config_fields

from engine_server._convert import config_fields_from_proto
from engine_server.engine import (
    CalculateRequest,
    Calculation,
    ConfigError,
    FieldViolation,
    Personalization,
    TrainingConfig,
    calculate_batch,
    calculate_rows,
    check_adjustment,
)
from engine_server.engine._columns import _Columns

EQUIVALENCE_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RELATIVE = 1e-12

Adjustment = tuple[float | None, float | None]


def per_configuration(configs: Sequence[dict[str, Any]], adjustments: Sequence[Adjustment]) -> list[Calculation]:
    """The reference: each adjustment checked, each configuration validated by TrainingConfig,
    all problems reported together, then calculate_batch (as CalculateBatch did item by item)."""
    problems: list[FieldViolation] = []
    requests = []
    for index, (fields, (offset, learning_rate)) in enumerate(zip(configs, adjustments, strict=True)):
        try:
            check_adjustment(offset, learning_rate)
        except ConfigError as error:
            problems.extend(error.under(f"requests[{index}]").violations)
        try:
            config = TrainingConfig(**fields)
        except ConfigError as error:
            problems.extend(error.under(f"requests[{index}].config").violations)
            continue
        requests.append(CalculateRequest(config, offset, learning_rate))
    if problems:
        raise ConfigError(problems)
    return calculate_batch(requests)


def columnar(configs: Sequence[dict[str, Any]], adjustments: Sequence[Adjustment]) -> list[Calculation]:
    return calculate_rows(configs, [a[0] for a in adjustments], [a[1] for a in adjustments])


def outcome(
    path: Callable[[Sequence[dict[str, Any]], Sequence[Adjustment]], list[Calculation]],
    configs: Sequence[dict[str, Any]],
    adjustments: Sequence[Adjustment],
) -> list[dict[str, Any]] | tuple[FieldViolation, ...] | str:
    try:
        return [dataclasses.asdict(result) for result in path(configs, adjustments)]
    except ConfigError as error:
        return error.violations
    except OverflowError as error:  # scoring a rate ~1e154 × a tiny recommendation: both paths raise it
        return repr(error)


def assert_same(expected: Any, got: Any, where: str = "") -> None:
    """Equal, numbers to 1e-12 relative."""
    if isinstance(expected, float) and isinstance(got, float):
        assert math.isclose(got, expected, rel_tol=RELATIVE) or got == expected, where
    elif isinstance(expected, dict) and isinstance(got, dict):
        assert expected.keys() == got.keys(), where
        for key in expected:
            assert_same(expected[key], got[key], f"{where}.{key}")
    elif isinstance(expected, (list, tuple)) and isinstance(got, (list, tuple)):
        assert len(expected) == len(got), where
        for index, (want, have) in enumerate(zip(expected, got, strict=True)):
            assert_same(want, have, f"{where}[{index}]")
    else:
        assert got == expected, where


#: A value of any kind the wire or a caller could put in a field, or the field left out.
_ODD_VALUES = st.one_of(NUMBERS, INT64, TEXT, st.booleans(), st.none(), st.just("leave out"))
_FIELD_NAMES = st.sampled_from([*TrainingConfig.model_fields, "unknown_field"])


@st.composite
def rows(draw: st.DrawFn) -> dict[str, Any]:
    """Valid configurations, valid ones with a field or two broken, and hostile wire messages."""
    kind = draw(st.sampled_from(["valid", "valid", "broken", "wire"]))
    if kind == "wire":
        return config_fields_from_proto(draw(training_configs()))
    fields = draw(config_fields(max_steps=5_000))
    if kind == "broken":
        for name in draw(st.lists(_FIELD_NAMES, min_size=1, max_size=2)):
            value = draw(_ODD_VALUES)
            if value == "leave out":
                fields.pop(name, None)
            else:
                fields[name] = value
    return fields


ADJUSTMENTS = st.one_of(
    st.just((None, None)),
    st.tuples(st.one_of(st.floats(-1.0, 1.0), NUMBERS), st.none()),
    st.tuples(st.none(), st.one_of(st.floats(1e-7, 1e-2), NUMBERS)),
    st.tuples(NUMBERS, NUMBERS),
)


@EQUIVALENCE_SETTINGS
@given(st.lists(st.tuples(rows(), ADJUSTMENTS), min_size=1, max_size=12))
def test_the_columns_answer_as_the_per_configuration_path(batch: list[tuple[dict[str, Any], Adjustment]]) -> None:
    configs = [fields for fields, _ in batch]
    adjustments = [adjustment for _, adjustment in batch]
    assert_same(outcome(per_configuration, configs, adjustments), outcome(columnar, configs, adjustments))


@EQUIVALENCE_SETTINGS
@given(st.lists(config_fields(max_steps=5_000), min_size=1, max_size=12), st.floats(-1.0, 1.0))
def test_valid_rows_give_the_same_calculations(configs: list[dict[str, Any]], offset: float) -> None:
    adjustments = [(offset, None)] * len(configs)
    expected = outcome(per_configuration, configs, adjustments)
    got = outcome(columnar, configs, adjustments)
    assert_same(expected, got)


@EQUIVALENCE_SETTINGS
@given(st.lists(config_fields(max_steps=5_000), min_size=1, max_size=12))
def test_a_row_the_columns_accept_builds_the_validated_configuration(configs: list[dict[str, Any]]) -> None:
    checked = _Columns(configs)
    for row, fields in enumerate(configs):
        validated = TrainingConfig(**fields)
        built = checked.config(row)
        assert built == validated and hash(built) == hash(validated)
        assert built.resolved == validated.resolved
        assert built.model_dump() == validated.model_dump()
        assert built.model_fields_set == validated.model_fields_set


@EQUIVALENCE_SETTINGS
@given(
    st.lists(
        st.tuples(
            config_fields(max_steps=200_000),
            st.one_of(st.tuples(st.floats(-1.0, 1.0), st.none()), st.tuples(st.none(), st.floats(1e-7, 1e-2))),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_rows_calculated_on_arrays_equal_the_per_configuration_results_exactly(
    batch: list[tuple[dict[str, Any], Adjustment]],
) -> None:
    """Rows of the calibrated formula are calculated on arrays; each result is the one calculate()
    gives, to the last bit, texts included (the rest of the rows take calculate() itself)."""
    configs = [fields for fields, _ in batch]
    adjustments = [adjustment for _, adjustment in batch]
    assert outcome(columnar, configs, adjustments) == outcome(per_configuration, configs, adjustments)


def test_warnings_only_a_catalog_entry_raises_are_written_on_arrays_too() -> None:
    """A schedule-free optimizer under a schedule sd-scripts would not apply: nothing numeric hints
    at that warning, so the array path must find it from the entries the row names."""
    calibrated = TYPICAL | {"formula": "calibrated"}
    configs = [
        calibrated | {"optimizer": optimizer, "scheduler": scheduler, "warmup_fraction": warmup, "steps": steps}
        for optimizer in ("AdamW", "AdamWScheduleFree", "SGDScheduleFree")
        for scheduler, warmup in (("constant", 0.0), ("cosine", 0.1))
        for steps in range(1000, 1020)  # enough rows of each schedule to be integrated on arrays
    ]
    adjustments = [(0.0, None)] * len(configs)
    expected = [False] * 60 + [True] * 20 + [False] * 20 + [True] * 20
    results = columnar(configs, adjustments)
    assert [any("ignore lr_scheduler" in warning for warning in result.warnings) for result in results] == expected
    # The wire reads every row's warnings at once, skipping the rows the arrays found none for.
    every = calculate_rows(configs, [0.0] * len(configs)).all_warnings()
    assert [any("ignore lr_scheduler" in warning for warning in row) for row in every] == expected
    assert outcome(columnar, configs, adjustments) == outcome(per_configuration, configs, adjustments)


def test_most_rows_of_a_typical_batch_are_checked_by_the_columns() -> None:
    configs = [{**TYPICAL, "rank": rank, "formula": "calibrated"} for rank in range(1, 101)]
    configs.append({**TYPICAL, "alpha": 16})  # an int for a float field: TrainingConfig's to judge
    accepted = _Columns(configs).accepted
    assert accepted[:100].all() and not accepted[100]


def test_violations_name_the_request_from_the_first_index() -> None:
    configs = [TYPICAL, {**TYPICAL, "steps": 0}, {**TYPICAL, "model": "SD 3.5", "formula": "energy"}]
    with pytest.raises(ConfigError) as caught:
        calculate_rows(configs, [None, 2.0, None], first_index=10)
    fields = [violation.field for violation in caught.value.violations]
    assert fields == ["requests[11].offset", "requests[11].config.steps", "requests[12].config.model"]


def test_personalized_rows_are_calculated_as_calculate_batch_does() -> None:
    configs = [{**TYPICAL, "formula": "calibrated", "rank": rank} for rank in (8, 16, 32)]
    learned = Personalization(1.7, 4, 0.3)

    def personalize(row: int, config: TrainingConfig) -> Personalization | None:
        return learned if config.rank >= 16 else None

    got = calculate_rows(configs, personalize=personalize)
    expected = calculate_batch(
        CalculateRequest(config, personalization=personalize(row, config))
        for row, config in enumerate(TrainingConfig(**fields) for fields in configs)
    )
    assert got == expected  # the first row on arrays, the others one by one: equal to the last bit
    assert [result.personal_factor for result in got] == [1.0, 1.7, 1.7]


def test_what_personalizing_rejects_is_reported_beside_the_other_problems() -> None:
    def personalize(row: int, config: TrainingConfig) -> Personalization | None:
        raise ConfigError([FieldViolation(f"requests[{row}].run_log", "no such log")])

    configs = [TYPICAL, {**TYPICAL, "steps": 0}, TYPICAL]
    with pytest.raises(ConfigError) as caught:
        calculate_rows(configs, [2.0, None, None], personalize=personalize)
    fields = [violation.field for violation in caught.value.violations]
    assert fields == [
        "requests[0].offset",
        "requests[0].run_log",
        "requests[1].config.steps",
        "requests[2].run_log",
    ]


def test_polynomial_default_floors_are_solved_on_arrays_as_one_by_one() -> None:
    """transformers' polynomial ends at lr_end 1e-7, so its floor depends on the rate: batches
    solve it on arrays, round for round as calculate() does (a power without a closed form,
    and a rate not above lr_end, take calculate() itself)."""
    polynomial = {**TYPICAL, "formula": "calibrated", "scheduler": "polynomial"}
    configs = [
        {**polynomial, "steps": steps, "power": power, "rank": rank}
        for steps in (10, 700, 5_000, 200_000)
        for power in (1.0, 2.0, 1.5)
        for rank in (4, 128)
    ]
    configs.append({**polynomial, "optimizer": "Prodigy"})  # lr = 1.0
    adjustments: list[Adjustment] = [(0.1, None)] * len(configs)
    assert outcome(columnar, configs, adjustments) == outcome(per_configuration, configs, adjustments)
    # A rate below lr_end: refused, naming min_lr_ratio, on both paths.
    tiny = {
        **polynomial,
        "model": "SDXL",
        "objective": "style",
        "steps": 10_000_000,
        "images": 1,
        "grad_accum": 1,
        "rank": 1,
        "alpha": 4096.0,
        "optimizer": "Lion",
        "warmup_fraction": 0.0,
        "resolution": 8192,
        "network": "lokr",
    }
    refused = outcome(columnar, [TYPICAL, tiny], [(None, None)] * 2)
    assert refused == outcome(per_configuration, [TYPICAL, tiny], [(None, None)] * 2)
    assert [violation.field for violation in refused] == ["requests[1].config.min_lr_ratio"]
