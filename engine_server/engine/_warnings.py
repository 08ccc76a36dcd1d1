"""What is questionable in a configuration and its recommendation, in words (every formula set)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _catalog as catalog
from ._config import Resolved


def configuration_warnings(
    fields: Mapping[str, Any], resolved: Resolved, recommended_lr: float, zero_fraction: float
) -> tuple[str, ...]:
    """What is questionable in a configuration (its validated fields) and its recommendation."""
    found: list[str] = []
    steps, alpha, rank = fields["steps"], fields["alpha"], fields["rank"]
    if resolved.warmup_steps > catalog.WARMUP_WARN_FRACTION * steps:
        share = resolved.warmup_steps / steps
        found.append(
            f"warmup: {resolved.warmup_steps:,} of {steps:,} steps ({share:.0%}) are warmup;"
            " more than half the run trains below the full rate"
        )
    if alpha > catalog.ALPHA_WARN_RATIO * rank:
        found.append(
            f"alpha: {alpha:g} is more than {catalog.ALPHA_WARN_RATIO:g}× the rank ({rank});"
            " updates are scaled up unusually far (alpha is usually at most the rank)"
        )
    # An adaptive optimizer's rate is its multiplier (Prodigy's 1.0), not a step size to check.
    adaptive = catalog.OPTIMIZER_FAMILIES.by_id(resolved.optimizer.family).adaptive
    if not adaptive and not catalog.PLAUSIBLE_LR_MIN <= recommended_lr <= catalog.PLAUSIBLE_LR_MAX:
        found.append(
            f"recommended_lr: {recommended_lr:.3g} is outside the usual {catalog.PLAUSIBLE_LR_MIN:g} …"
            f" {catalog.PLAUSIBLE_LR_MAX:g}; check steps, images and rank/alpha"
        )
    if zero_fraction >= catalog.ZERO_SCHEDULE_WARN_FRACTION:
        found.append(
            f"scheduler: the multiplier is zero on {zero_fraction:.0%} of the steps; those steps train nothing"
        )
    if not resolved.formula.uses_trainer and resolved.schedule.id == "cosine":
        found.append(
            "scheduler: LRTool 1.0's Cosine goes negative in the second half of the run (kept for parity);"
            " the energy formula set integrates the cosine trainers really apply"
        )
    for name in resolved.ignored_parameters:
        found.append(f"{name}: not used by schedule {resolved.schedule.id!r}; ignored")
    if runs_without_its_schedule(resolved):
        found.append(
            f"scheduler: sd-scripts and musubi-tuner run {resolved.optimizer.display_name} at a constant rate and"
            f" ignore lr_scheduler {resolved.schedule.id!r} and any warmup it sets (warm up with the optimizer's"
            " own warmup_steps in optimizer_args); choose constant to score the rate that really runs"
        )
    return tuple(found)


def runs_without_its_schedule(resolved: Resolved) -> bool:
    """A schedule-free optimizer named with a schedule that sd-scripts' trainers would not apply."""
    return (
        resolved.optimizer.schedule_free
        and resolved.trainer.id == catalog.DEFAULT_TRAINER
        and (resolved.schedule.id != "constant" or resolved.warmup_steps > 0)
    )
