"""Trainer spellings of optimizers and schedules, resolved through the engine's catalog.

A name the catalog does not know, or one LRTool cannot model (an optimizer that sets its own step
size, a schedule computed inside the optimizer), leaves the field missing with a hint that names it:
the user picks the nearest entry rather than LRTool guessing.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from engine_server.engine import catalog
from engine_server.name_matching import name_key

from ._common import Draft, show

#: Spelling fragments of optimizers that set their own step size or schedule, for names the catalog does not know.
_ADAPTIVE_FRAGMENTS = ("dadapt", "prodigy", "schedulefree", "automagic")


def resolve_optimizer(draft: Draft, name: str, where: str, aliases: Mapping[str, str] | None = None) -> None:
    """Set `optimizer` to the catalog id `name` stands for, or leave it missing with a hint."""
    key = name_key(name)
    alias = (aliases or {}).get(key)
    if alias is not None:
        draft.set("optimizer", alias)
        return
    entry = catalog.OPTIMIZERS.get(name) or catalog.OPTIMIZERS.get(name.rsplit(".", 1)[-1])
    if entry is None and any(fragment in key for fragment in _ADAPTIVE_FRAGMENTS):
        draft.miss(
            "optimizer",
            f"{where} {show(name)} sets its own step size or schedule inside the optimizer, and LRTool does not"
            " know this one; choose the optimizer nearest to it to get a recommendation",
        )
        return
    if entry is None:
        draft.miss(
            "optimizer",
            f"{where} {show(name)} is not in LRTool's optimizer list; choose the nearest of"
            f" {catalog.OPTIMIZERS.accepted_text()}",
        )
        return
    draft.set("optimizer", entry.id)


def resolve_schedule(
    draft: Draft, trainer_id: str, name: str, where: str, *, accepted: Collection[str] | None = None
) -> str | None:
    """Set `scheduler` to the trainer's catalog schedule `name` stands for; None (missing) when there is none.

    `accepted` narrows the catalog to the spellings this trainer itself accepts (name keys).
    """
    trainer = catalog.TRAINERS.by_id(trainer_id)
    refused = trainer.refused_schedules.get(name)
    if refused is not None:
        draft.miss("scheduler", f"{where} {show(name)}: {refused.reason}")
        return None
    schedule = trainer.schedules.get(name)
    if schedule is None or (accepted is not None and name_key(name) not in accepted):
        draft.miss(
            "scheduler",
            f"{where} {show(name)} is not a schedule LRTool can integrate for {trainer.display_name}"
            f" (known: {trainer.schedules.accepted_text()}); choose the nearest",
        )
        return None
    draft.set("scheduler", schedule.id)
    return schedule.id


def takes(trainer_id: str, schedule_id: str, parameter: str) -> bool:
    """Whether the trainer's schedule uses the schedule parameter (others are left out of the config)."""
    schedule = catalog.TRAINERS.by_id(trainer_id).schedules.get(schedule_id)
    return schedule is not None and schedule.parameter(parameter) is not None


def takes_warmup(trainer_id: str, schedule_id: str) -> bool:
    schedule = catalog.TRAINERS.by_id(trainer_id).schedules.get(schedule_id)
    return schedule is not None and schedule.takes_warmup


def resolve_network(draft: Draft, name: str, where: str) -> None:
    """Set `network` to the catalog id `name` stands for; a network LRTool does not calibrate is
    modelled as LoRA, and said so."""
    entry = catalog.NETWORKS.get(name)
    if entry is None:
        draft.warn(
            f"network: {where} {show(name)} is not one LRTool calibrates ({catalog.NETWORKS.accepted_text()});"
            " modelled as LoRA"
        )
        return
    draft.set("network", entry.id)
