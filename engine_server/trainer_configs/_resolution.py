"""Training resolutions as the one edge length LRTool models.

A rectangle "W,H" trains buckets of about W·H pixels, so it counts as the square of the same area,
√(W·H). Several resolutions trained in equal shares (ai-toolkit's list, OneTrainer's "512,768,1024")
count as the edge whose resolution factor (edge / native)^p is the mean of theirs: the power mean
with the model's exponent p, which does not depend on the native resolution.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from engine_server.engine import catalog

from ._common import Draft, Path, show, to_int

_SEPARATORS = re.compile(r"\s*[,xX×]\s*")


def edge(draft: Draft, value: Any, path: Path) -> int | None:
    """One resolution: 512, "512", "512,768" or "512x768" (width, height), or [512, 768]."""
    parts: list[Any]
    if isinstance(value, str):
        parts = _SEPARATORS.split(value.strip())
    elif isinstance(value, list):
        parts = value
    else:
        parts = [value]
    sides = [to_int(part) for part in parts]
    if not 1 <= len(sides) <= 2 or any(side is None or side <= 0 for side in sides):
        draft.problem(path, f"must be a size like 512 or width,height like 512,768; got {show(value)}")
        return None
    width, height = sides[0], sides[-1]
    assert width is not None and height is not None
    return width if width == height else round(math.sqrt(width * height))


def combine(edges: Sequence[int], exponent: float) -> int:
    """The edge with the mean resolution factor of `edges` trained in equal shares."""
    mean = sum(math.pow(size, exponent) for size in edges) / len(edges)
    return round(math.pow(mean, 1.0 / exponent))


def settle(draft: Draft, edges: Sequence[int], how: str) -> None:
    """Set `resolution` from the edges trained in equal shares; `how` says why there are several."""
    if len(set(edges)) == 1:
        draft.set("resolution", edges[0])
        return
    draft.set("resolution", combine(edges, 1.0))  # replaced once the model is known

    def with_model_exponent(draft: Draft) -> None:
        if "resolution" in draft.overridden:
            return
        model = catalog.MODELS.get(str(draft.config.get("model", "")))
        exponent = model.arch.resolution_exponent if model is not None and model.arch is not None else 1.0
        draft.config["resolution"] = combine(edges, exponent)
        sizes = ", ".join(str(size) for size in edges)
        draft.warn(
            f"resolution: {how} {sizes} in equal shares; LRTool models them as"
            f" {draft.config['resolution']} px, the size with their mean resolution effect"
        )

    draft.finalizers.append(with_model_exponent)
