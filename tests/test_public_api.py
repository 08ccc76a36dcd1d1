"""The engine's public surface is locked, and it stays pure computation."""

from __future__ import annotations

import subprocess
import sys

import engine_server.engine as engine

PUBLIC = [
    "BatchResults",
    "CalculateRequest",
    "Calculation",
    "Cancelled",
    "ConfigError",
    "Evidence",
    "Factor",
    "FieldViolation",
    "LRToolError",
    "LoggedRun",
    "Outcome",
    "Personalization",
    "ScheduleCurve",
    "ScoreCurve",
    "TrainingConfig",
    "calculate",
    "calculate_batch",
    "calculate_rows",
    "catalog",
    "check_adjustment",
    "check_run",
    "efficiency_band",
    "evaluate",
    "model_family",
    "personalize",
    "risk_band",
    "schedule_curve",
    "score_curve",
    "stop_when",
    "sweep",
]


#: Defined outside the engine: the one violation type the client shares without importing the engine.
SHARED = {"FieldViolation": "engine_server.violations"}


def test_public_surface_is_exactly_this() -> None:
    assert sorted(engine.__all__) == PUBLIC
    for name in PUBLIC:
        value = getattr(engine, name)
        module = getattr(value, "__module__", getattr(value, "__name__", ""))
        assert module.startswith(SHARED.get(name, "engine_server.engine"))


def test_the_engine_and_the_client_share_one_violation_type() -> None:
    from engine_server import client, violations

    assert engine.FieldViolation is violations.FieldViolation is client.FieldViolation
    assert issubclass(engine.ConfigError, violations.InvalidFields)


def test_exception_tree() -> None:
    assert issubclass(engine.Cancelled, engine.LRToolError)
    assert issubclass(engine.ConfigError, engine.LRToolError)
    assert issubclass(engine.ConfigError, ValueError)


def test_engine_imports_no_io_frameworks() -> None:
    code = (
        "import sys, engine_server.engine;"
        "bad = [m for m in sys.modules if m.split('.')[0] in {'grpc', 'gradio', 'sqlite3', 'comfy', 'google'}];"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
