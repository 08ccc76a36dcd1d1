"""Shared fixtures: reference data and a typical configuration."""

from __future__ import annotations

import json
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
