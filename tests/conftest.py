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
}


def load_json(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


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
