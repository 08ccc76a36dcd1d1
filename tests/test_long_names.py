"""Long names cost neither CPU nor log space: capped before any matching, logged as a bounded prefix."""

from __future__ import annotations

import time
from typing import Any

import pytest
from conftest import TYPICAL

from engine_server.client import InvalidArgument, LRToolClient, calculate_request
from engine_server.engine import catalog
from engine_server.name_matching import MAX_NAME_CHARACTERS

HUGE = 900_000
#: Seconds within which a request with huge names is answered (difflib alone spent ~1.2 s on each).
PROMPTLY = 1.0
#: The longest log line a refused request may cause: the bounded summary and its prefix.
LONGEST_LOG_LINE = 1_200


def refused(call: Any) -> tuple[InvalidArgument, float]:
    started = time.perf_counter()
    with pytest.raises(InvalidArgument) as caught:
        call()
    return caught.value, time.perf_counter() - started


@pytest.mark.parametrize("field", ["model", "optimizer", "scheduler", "objective", "formula", "trainer"])
def test_a_huge_name_is_refused_promptly_and_logged_briefly(
    client: LRToolClient, field: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="lrtool")
    error, seconds = refused(lambda: client.calculate({**TYPICAL, field: "x" * HUGE}))
    assert [str(v) for v in error.violations] == [
        f"config.{field}: must be at most {MAX_NAME_CHARACTERS} characters; got {HUGE:,}"
    ]
    assert seconds < PROMPTLY
    assert caplog.records and all(len(record.getMessage()) < LONGEST_LOG_LINE for record in caplog.records)


def test_every_request_of_a_batch_and_every_profile_field_is_capped(client: LRToolClient) -> None:
    long_batch = [calculate_request(TYPICAL), calculate_request({**TYPICAL, "optimizer": "y" * HUGE})]
    error, _ = refused(lambda: client.calculate_batch(long_batch))
    assert [v.field for v in error.violations] == ["requests[1].config.optimizer"]
    error, _ = refused(lambda: client.save_profile("long", {**TYPICAL, "scheduler": "z" * HUGE}))
    assert [v.field for v in error.violations] == ["profile.config.scheduler"]
    error, _ = refused(lambda: client.calculate({**TYPICAL, "step_rules": "1:5," * 2_000}))
    assert error.violations[0].description == "must be at most 4,096 characters; got 8,000"


def test_a_huge_name_in_a_trainer_file_is_quoted_briefly_or_its_override_refused(client: LRToolClient) -> None:
    content = (
        b'pretrained_model_name_or_path = "sdxl.safetensors"\nnetwork_dim = 16\nlearning_rate = 1e-4\n'
        b'optimizer_type = "' + b"o" * HUGE + b'"\n'
    )
    started = time.perf_counter()
    result = client.import_trainer_config(content, "c.toml")
    assert time.perf_counter() - started < PROMPTLY
    assert "optimizer" in result.missing_fields
    assert all(len(warning) < 1_000 for warning in result.warnings)
    overrides = {"objective": "c" * HUGE}
    error, _ = refused(lambda: client.import_trainer_config(content[:100], "c.toml", overrides=overrides))
    assert [v.field for v in error.violations] == ["overrides.objective"]


def test_names_up_to_the_cap_are_matched_and_longer_text_matches_nothing_at_once() -> None:
    padded = "-" * (MAX_NAME_CHARACTERS - len("AdamW8bit")) + "AdamW8bit"
    entry = catalog.OPTIMIZERS.get(padded)
    assert entry is not None and entry.id == "adamw_8bit"
    started = time.perf_counter()
    assert catalog.OPTIMIZERS.get("-" + padded) is None
    assert catalog.OPTIMIZERS.suggestion("AdamW8bit" * (HUGE // 9)) is None
    assert time.perf_counter() - started < 0.1
