"""The inputs of a calculation, once, for every front-end (CLI, web UI, ComfyUI).

`FIELDS` names each TrainingConfig input with its label, a short help, its type, the value a new
form starts with and whether it is a schedule parameter; what the engine accepts (ranges,
choices, the longer help, which schedule takes which parameter) is read from its catalog
(GetCatalog) by the functions below, never written here. Adding an input is one row here.

Imports neither the engine nor grpc: only the catalog's message types.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._generated.lrtool.v1 import engine_pb2 as pb
from .name_matching import name_key, shortenings

Kind = Literal["choice", "int", "float", "text"]


@dataclass(frozen=True)
class Field:
    """One input of a calculation."""

    name: str  # the TrainingConfig field
    label: str  # what a form shows beside it
    kind: Kind
    help: str  # one short line (the catalog's help is longer; `help_text` prefers it)
    default: Any = None  # what a new form starts with; None: empty (the engine's default)
    schedule_parameter: bool = False  # only schedules whose catalog entry lists it take it

    @property
    def flag(self) -> str:
        """Its command-line flag."""
        return "--" + self.name.replace("_", "-")


#: Every input, in the order of the ComfyUI Recommend node's widgets (saved workflows keep widget
#: values by position, so a new input goes last).
FIELDS: tuple[Field, ...] = (
    Field("model", "Model", "choice", "base model, e.g. SDXL, flux, 'Pony (SDXL)'", "sdxl"),
    Field("resolution", "Resolution (px)", "int", "training edge length in px", 1024),
    Field("steps", "Steps", "int", "total optimizer steps", 2000),
    Field("images", "Images (distinct)", "int", "distinct images in the dataset", 40),
    Field("batch_size", "Batch size", "int", "batch size (default 1)", 1),
    Field("grad_accum", "Grad. accumulation", "int", "gradient accumulation steps (default 1)", 1),
    Field("rank", "Rank (network_dim)", "int", "LoRA rank (network_dim)", 32),
    Field("alpha", "Alpha (network_alpha)", "float", "LoRA alpha", 16.0),
    Field("optimizer", "Optimizer", "choice", "optimizer, e.g. AdamW8bit", "adamw_8bit"),
    Field("trainer", "Trainer", "choice", "huggingface (default), onetrainer or ai-toolkit", "huggingface"),
    Field("scheduler", "Schedule", "choice", "schedule, e.g. cosine, constant_with_warmup", "cosine"),
    Field("warmup_fraction", "Warmup (share of steps)", "float", "warmup as a fraction (0.1) or 10%%", 0.1),
    Field("objective", "Objective", "choice", "Style, Concept, Character or Fidelity", "character"),
    Field("formula", "Formula set", "choice", "calibrated (default), energy or lrtool-1.0", "calibrated"),
    Field("warmup_steps", "Warmup (steps)", "int", "warmup as a number of steps"),
    Field("num_cycles", "Cycles", "float", "cosine cycles / restarts", schedule_parameter=True),
    Field("power", "Power", "float", "polynomial power", schedule_parameter=True),
    Field("min_lr_ratio", "Minimum LR ratio", "float", "schedule floor as a fraction of the peak", None, True),
    Field("decay_steps", "Decay steps", "int", "warmup_stable_decay decay steps", schedule_parameter=True),
    Field("timescale", "Timescale", "int", "inverse_sqrt timescale", schedule_parameter=True),
    Field("step_rules", "Step rules", "text", "piecewise_constant rules, e.g. '1:500,0.5:1000,0.1'", None, True),
    Field("start_factor", "Start factor", "float", "ai-toolkit linear start factor", schedule_parameter=True),
    Field("end_factor", "End factor", "float", "ai-toolkit linear end factor", schedule_parameter=True),
    Field("network", "Network", "choice", "LoRA (default), LoCon, LoHa, LoKr or DoRA", "lora"),
    Field("repeats", "Repeats", "int", "passes over each image per epoch (default 1)", 1),
)
BY_NAME: dict[str, Field] = {field.name: field for field in FIELDS}
#: The two ways of giving warmup; a configuration sets one of them.
WARMUP_FIELDS = ("warmup_fraction", "warmup_steps")
SCHEDULE_PARAMETERS: tuple[Field, ...] = tuple(field for field in FIELDS if field.schedule_parameter)
#: The configuration fields that are neither warmup nor a schedule parameter.
PLAIN_FIELDS: tuple[Field, ...] = tuple(
    field for field in FIELDS if not field.schedule_parameter and field.name not in WARMUP_FIELDS
)
STARTING_VALUES: dict[str, Any] = {field.name: field.default for field in FIELDS if field.default is not None}


def typed(field: Field, value: Any) -> Any:
    """A form's value as its field takes it: whole numbers of an int field as int (forms give floats)."""
    if field.kind == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- What the catalog says of a field ----------------------------------------------------------


def help_text(catalog: pb.Catalog, name: str) -> str:
    """The catalog's help for an input (a field, or the offset), else the table's."""
    found = next((entry.help for entry in catalog.field_help if entry.field == name), "")
    return found or (BY_NAME[name].help if name in BY_NAME else "")


def input_range(catalog: pb.Catalog, name: str) -> pb.InputRange | None:
    """The range the engine accepts for a numeric field."""
    return next((entry for entry in catalog.input_ranges if entry.field == name), None)


def choices(catalog: pb.Catalog, name: str, formula: str = "", trainer: str = "") -> list[tuple[str, str]]:
    """(display name, id) of a choice field; the schedules are those of the formula set or trainer given."""
    if name == "scheduler":
        entries: Sequence[Any] = schedules(
            catalog, formula or catalog.default_formula, trainer or catalog.default_trainer
        )
    else:
        listed: dict[str, Sequence[Any]] = {
            "model": catalog.models,
            "optimizer": catalog.optimizers,
            "objective": catalog.objectives,
            "network": catalog.networks,
            "trainer": catalog.trainers,
            "formula": catalog.formula_sets,
        }
        entries = listed[name]
    return [(entry.display_name, entry.id) for entry in entries]


def schedules(catalog: pb.Catalog, formula: str, trainer: str) -> Sequence[pb.ScheduleInfo]:
    """The schedules a formula set offers: its own, or the trainer's when it integrates a trainer's."""
    for formula_set in catalog.formula_sets:
        if formula_set.id == formula and not formula_set.uses_trainer:
            return formula_set.schedules
    for trainer_info in catalog.trainers:
        if trainer_info.id == trainer:
            return trainer_info.schedules
    return ()


def schedule(catalog: pb.Catalog, formula: str, trainer: str, scheduler: str) -> pb.ScheduleInfo | None:
    return next((entry for entry in schedules(catalog, formula, trainer) if entry.id == scheduler), None)


def taken_parameters(schedule_info: pb.ScheduleInfo | None) -> dict[str, pb.ScheduleParameterInfo]:
    """The schedule parameters a schedule takes, by name (none for an unknown schedule)."""
    return {parameter.name: parameter for parameter in schedule_info.parameters} if schedule_info else {}


def display_name(catalog: pb.Catalog, name: str, value: str) -> str:
    """The catalog's display name for a choice given by any of its names (id, display name or alias);
    `value` itself when the catalog does not know it."""
    if name not in _NAMED_ENTRIES:
        return value
    entries = getattr(catalog, _NAMED_ENTRIES[name])
    spellings = [value]
    if name == "model" and catalog.model_name_qualifiers:  # a variant's name: its model's ("wan2.2-t2v" → Wan)
        spellings += shortenings(value, re.compile(catalog.model_name_qualifiers))  # re keeps it compiled
    for spelling in spellings:
        for entry in entries:
            if names(spelling, entry):
                return str(entry.display_name)
    return value


def names(value: str, entry: Any) -> bool:
    """Whether `value` is one of a catalog entry's names (id, display name or alias), as the engine matches."""
    key = name_key(value)
    return key in {name_key(entry.id), name_key(entry.display_name), *map(name_key, entry.aliases)}


#: The catalog's list of each choice field whose entries carry aliases.
_NAMED_ENTRIES = {"model": "models", "optimizer": "optimizers", "objective": "objectives", "network": "networks"}
