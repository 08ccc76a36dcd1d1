"""The field table against the engine's catalog and message: every input once, nothing it does not know."""

from __future__ import annotations

import subprocess
import sys

from engine_server import fields
from engine_server._convert import catalog_to_proto
from engine_server._generated.lrtool.v1 import engine_pb2 as pb


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
