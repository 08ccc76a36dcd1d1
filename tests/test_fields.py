"""The field table against the engine's catalog and message: every input once, nothing it does not know."""

from __future__ import annotations

import subprocess
import sys

import pytest
from conftest import TYPICAL

from engine_server import fields, presenting
from engine_server._convert import catalog_to_proto
from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import LRToolClient


def test_every_training_config_field_is_in_the_table_once() -> None:
    names = [field.name for field in fields.FIELDS]
    assert len(names) == len(set(names))
    assert set(names) == {descriptor.name for descriptor in pb.TrainingConfig.DESCRIPTOR.fields}


def test_schedule_parameters_are_those_the_catalog_lists() -> None:
    catalog = catalog_to_proto()
    listed = {
        parameter.name
        for owner in (*catalog.trainers, *catalog.formula_sets)
        for schedule in owner.schedules
        for parameter in schedule.parameters
    }
    assert {field.name for field in fields.SCHEDULE_PARAMETERS} == listed


def test_kinds_ranges_and_help_agree_with_the_catalog() -> None:
    catalog = catalog_to_proto()
    for field in fields.FIELDS:
        assert fields.help_text(catalog, field.name) != field.help, f"{field.name}: no catalog help"
        accepted = fields.input_range(catalog, field.name)
        if field.kind in ("int", "float"):
            assert accepted is not None and accepted.kind == field.kind, field.name
        else:
            assert accepted is None, field.name
        if field.kind == "choice" and field.default is not None:
            ids = [choice for _, choice in fields.choices(catalog, field.name)]
            assert field.default in ids, f"{field.name}: {field.default!r} not among {ids}"


def test_schedules_and_their_parameters_come_from_the_catalog() -> None:
    catalog = catalog_to_proto()
    energy = fields.choices(catalog, "scheduler", "energy", "huggingface")
    assert "cosine_with_restarts" in {choice for _, choice in energy}
    schedule = fields.schedule(catalog, "energy", "huggingface", "cosine_with_restarts")
    assert "num_cycles" in fields.taken_parameters(schedule)
    assert fields.taken_parameters(fields.schedule(catalog, "energy", "huggingface", "constant")) == {}
    assert fields.schedules(catalog, "no such formula", "no such trainer") == ()


def test_the_table_imports_neither_the_engine_nor_grpc() -> None:
    code = (
        "import sys, engine_server.fields, engine_server.presenting\n"
        "heavy = [m for m in ('grpc', 'numpy', 'engine_server.engine') if m in sys.modules]\n"
        "print(heavy)"
    )
    shown = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert shown.strip() == "[]"


def test_the_presenter_shows_every_statistic_of_a_calculation(client: LRToolClient) -> None:
    calculation = client.calculate({**TYPICAL, "formula": "calibrated"})
    rows = {row.name: row for row in presenting.statistic_rows(calculation)}
    scalars = {
        descriptor.name
        for descriptor in pb.Calculation.DESCRIPTOR.fields
        if not descriptor.is_repeated and descriptor.message_type is None
    }
    assert set(rows) == scalars
    assert float(rows["recommended_lr"].value) == pytest.approx(calculation.recommended_lr, rel=1e-5)
    assert rows["risk_band"].value == calculation.risk_band and all(row.meaning for row in rows.values())


def test_the_presenter_says_what_the_names_resolved_to(client: LRToolClient) -> None:
    catalog = client.get_catalog()
    config = {"model": "pony", "objective": "CHARACTER", "optimizer": "adamw8bit", "scheduler": "cosine"}
    assert presenting.resolved_text(config, catalog) == (
        "Pony (SDXL) · Character · AdamW (8-Bit) · LoRA · cosine (huggingface schedules, calibrated formula)"
    )
    named = {**config, "network": "dora", "formula": "energy", "trainer": "onetrainer"}
    assert presenting.resolved_text(named, catalog).endswith("· DoRA · cosine (onetrainer schedules, energy formula)")
    # A variant's name, as the engine reads it (the catalog serves the qualifiers); an unknown name as typed.
    for typed, shown in (("wan2.2-t2v-a14b", "Wan"), ("sd_xl_base_1.0.safetensors", "SDXL"), ("SD 4.0", "SD 4.0")):
        assert presenting.resolved_text({**config, "model": typed}, catalog).startswith(f"{shown} · ")


@pytest.mark.parametrize(
    ("value", "short", "with_decimal"),
    [
        (9.23456e-05, "9.235e-05", "9.235e-05 (0.00009235)"),
        (1e-4, "1.000e-04", "1.000e-04 (0.0001)"),
        (3e-7, "3.000e-07", "3.000e-07 (0.0000003)"),
        (1.0, "1", "1"),  # Prodigy's and D-Adaptation's rate reads as trainers write it
        (0.5, "0.5", "0.5"),
        (0.0, "0", "0"),
    ],
)
def test_every_front_end_shows_a_rate_one_way(value: float, short: str, with_decimal: str) -> None:
    assert presenting.rate(value) == short
    assert presenting.rate(value, decimal=True) == with_decimal
