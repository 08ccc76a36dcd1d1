"""Shared fixtures: reference data and a typical configuration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).parent / "data"

#: A typical SDXL character LoRA (LRTool 1.0's sample profile, energy formula).
TYPICAL: dict[str, Any] = {
    "model": "SDXL",
    "resolution": 1024,
    "steps": 2000,
    "images": 40,
    "batch_size": 1,
    "grad_accum": 2,
    "rank": 32,
    "alpha": 16.0,
    "optimizer": "AdamW",
    "scheduler": "cosine",
    "warmup_fraction": 0.1,
    "objective": "Character",
    # The tests of the energy model's arithmetic pin its formula set; calibrated has its own tests.
    "formula": "energy",
}


#: The seed-004 user's setup (tests/data/seed_004_runs.tsv): SD1.5 at 512 px, 20 images,
#: AdamW8bit, cosine with restarts; each test adds the length, rank and alpha it needs.
SEED_004_SETUP: dict[str, Any] = {
    "model": "SD1.5",
    "resolution": 512,
    "images": 20,
    "optimizer": "AdamW8bit",
    "scheduler": "cosine_with_restarts",
    "objective": "Character",
}


def load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def golden_fields(case_input: dict[str, Any]) -> dict[str, Any]:
    """The configuration fields of a golden_lrtool_1_0.json case's input (LRTool 1.0's names)."""
    return {
        "model": case_input["model"],
        "resolution": case_input["resolution"],
        "steps": case_input["steps"],
        "images": case_input["images"],
        "batch_size": case_input["batch"],
        "grad_accum": case_input["grad_accum"],
        "rank": case_input["rank"],
        "alpha": float(case_input["alpha"]),
        "optimizer": case_input["optimizer"],
        "scheduler": case_input["scheduler"],
        "warmup_fraction": case_input["warmup_percent"] / 100,
        "objective": case_input["objective"],
        "formula": "lrtool-1.0",
    }


@pytest.fixture
def typical() -> dict[str, Any]:
    return dict(TYPICAL)


# --- A real engine server on a free port, with a real SQLite store -------------


@dataclass
class RunningEngine:
    server: Any
    port: int
    db: Path

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@contextmanager
def running_engine(db: Path, **settings: Any) -> Iterator[RunningEngine]:
    from engine_server.server import Settings, create_server

    server, port = create_server(Settings(port=0, db=db, grace_seconds=1.0, **settings))
    server.start()
    try:
        yield RunningEngine(server, port, db)
    finally:
        server.stop(0)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningEngine]:
    with running_engine(tmp_path_factory.mktemp("engine") / "profiles.sqlite3") as running:
        yield running


@pytest.fixture
def client(engine: RunningEngine) -> Iterator[Any]:
    from engine_server.client import LRToolClient

    with LRToolClient(engine.address) as connected:
        yield connected
