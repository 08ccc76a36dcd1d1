"""What the nodes read from the engine's catalog: combo options, ranges, help texts.

The catalog comes from the engine (GetCatalog); `catalog_snapshot.json` beside this file is
a copy for when no engine can be reached while ComfyUI lists the nodes. Regenerate it with
`python -m comfy_nodes.make_catalog_snapshot`; a test fails when it differs from the engine's.
"""

from __future__ import annotations

import json
from pathlib import Path

from google.protobuf import json_format

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.fields import input_range as input_range
from engine_server.fields import names

SNAPSHOT_PATH = Path(__file__).with_name("catalog_snapshot.json")


def catalog_to_json(catalog: pb.Catalog) -> str:
    """The snapshot file's text for a catalog."""
    data = json_format.MessageToDict(catalog, preserving_proto_field_name=True)
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def catalog_from_json(text: str) -> pb.Catalog:
    return json_format.Parse(text, pb.Catalog())


def load_snapshot(path: Path = SNAPSHOT_PATH) -> pb.Catalog:
    return catalog_from_json(path.read_text(encoding="utf-8"))


# --- Combo options ---------------------------------------------------------------------------


def model_options(catalog: pb.Catalog) -> list[str]:
    return [model.display_name for model in catalog.models]


def optimizer_options(catalog: pb.Catalog) -> list[str]:
    return [optimizer.display_name for optimizer in catalog.optimizers]


def objective_options(catalog: pb.Catalog) -> list[str]:
    return [objective.display_name for objective in catalog.objectives]


def network_options(catalog: pb.Catalog) -> list[str]:
    return [network.display_name for network in catalog.networks]


def default_network(catalog: pb.Catalog) -> str:
    for network in catalog.networks:
        if network.id == catalog.default_network:
            return network.display_name
    return catalog.networks[0].display_name


def trainer_options(catalog: pb.Catalog) -> list[str]:
    return [trainer.id for trainer in catalog.trainers]


def formula_options(catalog: pb.Catalog) -> list[str]:
    return [formula.id for formula in catalog.formula_sets]


def scheduler_options(catalog: pb.Catalog) -> list[str]:
    """Every schedule id of every trainer, then those only a formula set of its own has."""
    options: list[str] = []
    for trainer in catalog.trainers:
        options.extend(schedule.id for schedule in trainer.schedules if schedule.id not in options)
    for formula in catalog.formula_sets:
        options.extend(schedule.id for schedule in formula.schedules if schedule.id not in options)
    return options


def default_trainer(catalog: pb.Catalog) -> str:
    return catalog.default_trainer or catalog.trainers[0].id


def default_formula(catalog: pb.Catalog) -> str:
    return catalog.default_formula or catalog.formula_sets[0].id


# --- Ranges and help ------------------------------------------------------------------------


def accepted_text(catalog: pb.Catalog, name: str) -> str:
    entry = input_range(catalog, name)
    return entry.description if entry is not None else ""


# --- Schedules --------------------------------------------------------------------------------


def find_trainer(catalog: pb.Catalog, name: str) -> pb.TrainerInfo | None:
    return next((trainer for trainer in catalog.trainers if names(name, trainer)), None)


def find_formula(catalog: pb.Catalog, name: str) -> pb.FormulaSetInfo | None:
    return next((formula for formula in catalog.formula_sets if names(name, formula)), None)


def schedule_owner(catalog: pb.Catalog, formula: str, trainer: str) -> tuple[str, list[pb.ScheduleInfo]] | None:
    """(who, schedules) that a scheduler name is looked up in: the formula set's own schedules,
    or the trainer's when the formula set uses one. None when formula or trainer is unknown."""
    formula_set = find_formula(catalog, formula or default_formula(catalog))
    if formula_set is None:
        return None
    if not formula_set.uses_trainer:
        return f"formula {formula_set.id!r}", list(formula_set.schedules)
    owner = find_trainer(catalog, trainer or default_trainer(catalog))
    if owner is None:
        return None
    return f"trainer {owner.id!r}", list(owner.schedules)


def find_schedule(schedules: list[pb.ScheduleInfo], name: str) -> pb.ScheduleInfo | None:
    return next((schedule for schedule in schedules if names(name, schedule)), None)


def refused_reason(catalog: pb.Catalog, trainer: str, name: str) -> str | None:
    owner = find_trainer(catalog, trainer or default_trainer(catalog))
    if owner is None:
        return None
    return next((refused.reason for refused in owner.refused_schedules if names(name, refused)), None)


def schedule_summary(catalog: pb.Catalog) -> str:
    """One line per scheduler option: which trainers / formula sets offer it, and its parameters."""
    owners: list[tuple[str, list[pb.ScheduleInfo]]] = [(t.id, list(t.schedules)) for t in catalog.trainers]
    owners += [(f.id, list(f.schedules)) for f in catalog.formula_sets]
    lines = []
    for option in scheduler_options(catalog):
        offered = []
        for owner, schedules in owners:
            for schedule in schedules:
                if schedule.id == option:
                    parameters = ", ".join(parameter.name for parameter in schedule.parameters)
                    offered.append(f"{owner} ({parameters})" if parameters else owner)
        lines.append(f"{option}: {'; '.join(offered)}")
    return "\n".join(lines)
