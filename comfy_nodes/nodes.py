"""The LRTool nodes (classic ComfyUI node API).

Every number comes from the engine: the nodes turn widget values into a TrainingConfig,
ask the engine through `LRToolClient`, and format what it answers.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

from google.protobuf.message import Message

from engine_server import fields, presenting
from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import LRToolClient, LRToolClientError, ProfileAlreadyExists, ProfileNotFound

from . import catalog as cat
from . import connection
from .connection import NodeError

CATEGORY = "LRTool"
#: The custom type carrying one configuration (and its offset) between LRTool nodes.
CONFIG_TYPE = "LRTOOL_CONFIG"

#: ComfyUI's TrainLoraNode takes learning_rate as FLOAT in this range and does not check linked values.
COMFY_LR_MIN = 1e-7
COMFY_LR_MAX = 1.0

InputSpec = tuple[Any, ...]
InputTypes = dict[str, dict[str, InputSpec]]


class Settings(TypedDict):
    """What travels on an LRTOOL_CONFIG link: TrainingConfig fields by name, and the offset."""

    config: dict[str, Any]
    offset: float


# --- Widgets from the catalog ----------------------------------------------------------------

#: Where a new Recommend LR node starts apart from the field table's starting values: ComfyUI's own
#: Train LoRA node's (rank 8, alpha 1, AdamW, constant learning rate).
_TRAIN_LORA_VALUES: dict[str, Any] = {
    "rank": 8,
    "alpha": 1.0,
    "optimizer": "adamw",
    "scheduler": "constant",
    "warmup_fraction": 0.0,
    "offset": 0.0,
}
#: Fields whose combo lists display names (the others list ids).
_BY_DISPLAY_NAME = ("model", "optimizer", "objective", "network")


def _default(catalog: pb.Catalog, name: str) -> Any:
    """A new node's value for an input: ComfyUI's trainer's where it has one, else the field table's."""
    value = _TRAIN_LORA_VALUES[name] if name in _TRAIN_LORA_VALUES else fields.BY_NAME[name].default
    if name in _BY_DISPLAY_NAME:
        return next((shown for shown, choice in fields.choices(catalog, name) if choice == value), value)
    return value


_EXTRA_TOOLTIPS: dict[str, str] = {
    "rank": "Wire the rank output to the trainer so both use the same value.",
    "alpha": "ComfyUI's Train LoRA node trains with alpha 1.",
    "optimizer": "ComfyUI's Train LoRA node offers AdamW, Adam, SGD and RMSprop.",
    "scheduler": "ComfyUI's Train LoRA node keeps the learning rate constant: use constant there.",
    "offset": "0 gives the recommended rate.",
}


def _combo(options: list[str], preferred: str, tooltip: str) -> InputSpec:
    default = preferred if preferred in options else options[0]
    return (options, {"default": default, "tooltip": tooltip})


def _number(catalog: pb.Catalog, name: str, default: float, tooltip: str, **extra: Any) -> InputSpec:
    """An INT or FLOAT widget whose range is the engine's accepted range for `name`."""
    entry = cat.input_range(catalog, name)
    if entry is None or entry.kind not in ("int", "float"):
        raise NodeError(f"the LRTool catalog has no numeric range for {name!r}")
    if entry.kind == "int":
        low = int(entry.minimum) + (1 if entry.minimum_exclusive else 0)
        high = int(entry.maximum) - (1 if entry.maximum_exclusive else 0)
        return ("INT", {"default": int(default), "min": low, "max": high, "step": 1, "tooltip": tooltip, **extra})
    step = float(extra.pop("step", 0.01))
    low_f = entry.minimum + (step if entry.minimum_exclusive else 0.0)
    high_f = entry.maximum - (step if entry.maximum_exclusive else 0.0)
    spec = {"default": float(default), "min": low_f, "max": high_f, "step": step, "tooltip": tooltip, **extra}
    return ("FLOAT", spec)


def _tooltip(catalog: pb.Catalog, name: str, *more: str) -> str:
    parts = [fields.help_text(catalog, name)]
    accepted = cat.accepted_text(catalog, name)
    if accepted:
        parts.append(f"Accepted: {accepted}.")
    parts.extend(text for text in more if text)
    return " ".join(part for part in parts if part)


@dataclass(frozen=True)
class ScheduleParameter:
    """An optional input for one schedule parameter; `unset` means "the schedule's default"."""

    name: str
    kind: str  # INT, FLOAT or STRING
    unset: Any
    users: tuple[str, ...]
    defaults: tuple[str, ...]


def schedule_parameters(catalog: pb.Catalog) -> list[ScheduleParameter]:
    """Every parameter any schedule of the catalog takes, in catalog order."""
    found: dict[str, tuple[list[str], list[str]]] = {}
    owners: list[tuple[str, list[pb.ScheduleInfo]]] = [(t.id, list(t.schedules)) for t in catalog.trainers]
    owners += [(f.id, list(f.schedules)) for f in catalog.formula_sets]
    for owner, schedules in owners:
        for schedule in schedules:
            for parameter in schedule.parameters:
                users, defaults = found.setdefault(parameter.name, ([], []))
                users.append(f"{schedule.id} ({owner})")
                if parameter.default_text:
                    defaults.append(f"{schedule.id} ({owner}): {parameter.default_text}")
    result = []
    for name, (users, defaults) in found.items():
        entry = cat.input_range(catalog, name)
        unset: str | int | float
        if entry is None or entry.kind not in ("int", "float"):
            kind, unset = "STRING", ""
        else:
            kind = "INT" if entry.kind == "int" else "FLOAT"
            zero_is_invalid = entry.minimum > 0 or (entry.minimum == 0 and entry.minimum_exclusive)
            unset = 0 if zero_is_invalid else entry.minimum - 1
            unset = int(unset) if kind == "INT" else float(unset)
        result.append(ScheduleParameter(name, kind, unset, tuple(users), tuple(defaults)))
    return result


def _parameter_input(catalog: pb.Catalog, parameter: ScheduleParameter) -> InputSpec:
    used_by = f"Used by: {', '.join(parameter.users)}."
    if parameter.kind == "STRING":
        tooltip = _tooltip(catalog, parameter.name, used_by, "Leave empty when the schedule does not use it.")
        return ("STRING", {"default": "", "multiline": False, "tooltip": tooltip})
    defaults = f" ({'; '.join(parameter.defaults)})" if parameter.defaults else ""
    unset_text = f"{parameter.unset:g}" if parameter.kind == "FLOAT" else str(parameter.unset)
    keep = f"Leave at {unset_text} for the schedule's own default{defaults}."
    tooltip = _tooltip(catalog, parameter.name, used_by, keep)
    entry = cat.input_range(catalog, parameter.name)
    assert entry is not None
    if parameter.kind == "INT":
        return (
            "INT",
            {"default": parameter.unset, "min": parameter.unset, "max": int(entry.maximum), "tooltip": tooltip},
        )
    step = 0.001 if entry.maximum <= 1 else 0.01
    high = entry.maximum - (step if entry.maximum_exclusive else 0.0)
    spec = {"default": parameter.unset, "min": parameter.unset, "max": high, "step": step, "tooltip": tooltip}
    return ("FLOAT", spec)


def configuration_inputs(catalog: pb.Catalog) -> InputTypes:
    """The Recommend node's inputs: every configuration field, the offset, schedule parameters."""
    d = {name: _default(catalog, name) for name in (*fields.BY_NAME, "offset")}
    x = _EXTRA_TOOLTIPS
    required: dict[str, InputSpec] = {
        "model": _combo(cat.model_options(catalog), d["model"], _tooltip(catalog, "model")),
        "resolution": _number(catalog, "resolution", d["resolution"], _tooltip(catalog, "resolution"), step=8),
    }
    for name in ("steps", "images", "batch_size", "grad_accum", "rank"):
        required[name] = _number(catalog, name, d[name], _tooltip(catalog, name, x.get(name, "")))
    required["alpha"] = _number(catalog, "alpha", d["alpha"], _tooltip(catalog, "alpha", x["alpha"]), step=0.01)
    required["optimizer"] = _combo(
        cat.optimizer_options(catalog), d["optimizer"], _tooltip(catalog, "optimizer", x["optimizer"])
    )
    required["trainer"] = _combo(
        cat.trainer_options(catalog),
        cat.default_trainer(catalog),
        _tooltip(catalog, "trainer", "Only used by formulas that integrate a trainer's schedules."),
    )
    scheduler_help = _tooltip(catalog, "scheduler", x["scheduler"], "Options:\n" + cat.schedule_summary(catalog))
    required["scheduler"] = _combo(cat.scheduler_options(catalog), d["scheduler"], scheduler_help)
    required["warmup_fraction"] = _number(
        catalog, "warmup_fraction", d["warmup_fraction"], _tooltip(catalog, "warmup_fraction"), step=0.01
    )
    required["objective"] = _combo(cat.objective_options(catalog), d["objective"], _tooltip(catalog, "objective"))
    required["formula"] = _combo(
        cat.formula_options(catalog), cat.default_formula(catalog), _tooltip(catalog, "formula")
    )
    required["offset"] = _number(
        catalog, "offset", d["offset"], _tooltip(catalog, "offset", x["offset"]), step=0.01, display="slider"
    )
    warmup_steps = _number(
        catalog,
        "warmup_steps",
        -1,
        _tooltip(catalog, "warmup_steps", "Leave at -1 to use warmup_fraction instead."),
    )
    warmup_steps[1]["min"] = -1
    optional: dict[str, InputSpec] = {"warmup_steps": warmup_steps}
    for parameter in schedule_parameters(catalog):
        optional[parameter.name] = _parameter_input(catalog, parameter)
    # The field table's later inputs follow, optional and last, so that workflows saved before they existed
    # still load.
    for field in fields.FIELDS:
        if field.name in required or field.name in optional:
            continue
        if field.kind == "choice":
            listed = [shown for shown, _ in fields.choices(catalog, field.name)]
            optional[field.name] = _combo(listed, d[field.name], _tooltip(catalog, field.name))
        else:
            optional[field.name] = _number(catalog, field.name, d[field.name], _tooltip(catalog, field.name))
    return {"required": required, "optional": optional}


# --- Configurations, calculations, reports ------------------------------------------------

_CONFIG_FIELDS = tuple(field.name for field in fields.PLAIN_FIELDS)


def settings_from_inputs(catalog: pb.Catalog, inputs: Mapping[str, Any]) -> Settings:
    """The configuration the Recommend node's inputs describe (unset schedule parameters left out)."""
    config: dict[str, Any] = {name: inputs[name] for name in _CONFIG_FIELDS if inputs.get(name) is not None}
    warmup_steps = inputs.get("warmup_steps")
    if warmup_steps is not None and warmup_steps >= 0:
        config["warmup_steps"] = warmup_steps
    elif inputs.get("warmup_fraction") is not None:
        config["warmup_fraction"] = inputs["warmup_fraction"]
    for parameter in schedule_parameters(catalog):
        value = inputs.get(parameter.name)
        if value is None or value == parameter.unset or (isinstance(value, str) and not value.strip()):
            continue
        config[parameter.name] = value.strip() if isinstance(value, str) else value
    offset = inputs.get("offset")
    return {"config": config, "offset": float(offset) if offset is not None else 0.0}


def config_dict(message: pb.TrainingConfig) -> dict[str, Any]:
    """The fields set in a TrainingConfig message, by name."""
    return {descriptor.name: value for descriptor, value in message.ListFields()}


def _settings_of(value: Any) -> Settings:
    """An LRTOOL_CONFIG input, checked (it may come from a copy of this pack loaded under another name)."""
    if not isinstance(value, Mapping) or not isinstance(value.get("config"), Mapping):
        raise NodeError("config: connect the config output of an LRTool Recommend LR or Load Profile node")
    return {"config": dict(value["config"]), "offset": float(value.get("offset", 0.0))}


@dataclass(frozen=True)
class Outcome:
    learning_rate: float  # what the node outputs (clamped to ComfyUI's range)
    calculation: pb.Calculation  # the recommendation at the offset
    scored: pb.Calculation  # the statistics of learning_rate
    notes: tuple[str, ...]


def recommend(client: LRToolClient, settings: Settings) -> Outcome:
    """The recommended rate at the settings' offset, clamped to what ComfyUI's trainer accepts."""
    calculation = client.calculate(settings["config"], offset=settings["offset"])
    wanted = calculation.adjusted_lr
    rate = min(max(wanted, COMFY_LR_MIN), COMFY_LR_MAX)
    if rate == wanted:
        return Outcome(rate, calculation, calculation, ())
    scored = client.calculate(settings["config"], learning_rate=rate)
    side = "below" if wanted < rate else "above"
    note = (
        f"warning: the learning rate {presenting.rate(wanted)} is {side} the"
        f" {COMFY_LR_MIN:g} … {COMFY_LR_MAX:g} that ComfyUI's"
        f" Train LoRA node accepts, so the learning_rate output is clamped to {presenting.rate(rate)};"
        f" stability and efficiency are those of the clamped rate"
    )
    return Outcome(rate, calculation, scored, (note,))


def report_text(settings: Settings, outcome: Outcome, header: str = "") -> str:
    config = settings["config"]
    catalog = connection.catalog()
    calc, scored = outcome.calculation, outcome.scored
    if "warmup_steps" in config:
        warmup = f"{config['warmup_steps']} warmup steps"
    else:
        warmup = f"warmup {float(config.get('warmup_fraction', 0.0)):.0%} ({calc.warmup_steps} steps)"
    lines = [header] if header else []
    lines += [
        f"LRTool: {presenting.resolved_text(config, catalog)}",
        f"learning rate {presenting.rate(outcome.learning_rate)}"
        f" (recommended {presenting.rate(calc.recommended_lr)}, offset {calc.offset:+.2f})",
        f"stability {scored.stability_score:.1f} ({scored.risk_band}) · "
        f"efficiency {scored.efficiency_score:.1f} ({scored.efficiency_band})",
        f"run: {config.get('steps')} steps × batch {config.get('batch_size', 1)} × accumulation "
        f"{config.get('grad_accum', 1)} (effective batch {calc.effective_batch:.2f}) on {config.get('images')} images"
        f" at {config.get('resolution')} px; rank {config.get('rank')}, alpha {config.get('alpha')}; {warmup}",
    ]
    reasons = presenting.reasons_text(calc)
    if reasons:  # the calibrated formula set explains itself factor by factor
        lines.append(reasons)
    else:
        lines += [
            f"energy: target {calc.target_energy:.4e}, delivered {scored.delivered_energy:.4e}"
            f" (ratio {scored.energy_ratio:.3f})",
            f"factors: exposure {calc.exposure:.4g} · capacity {calc.capacity:.4g}"
            f" · resolution {calc.resolution_scale:.4g} · schedule {calc.scheduler_factor:.4g}"
            f" · optimizer {calc.optimizer_modifier:.4g}",
        ]
    lines += [f"warning: {warning}" for warning in calc.warnings]
    lines += list(outcome.notes)
    return "\n".join(lines)


def summary_text(outcome: Outcome, header: str = "") -> str:
    scored = outcome.scored
    lines = [header] if header else []
    lines.append(f"LR {presenting.rate(outcome.learning_rate)}")
    lines.append(
        f"stability {scored.stability_score:.1f} {scored.risk_band} · "
        f"efficiency {scored.efficiency_score:.1f} {scored.efficiency_band}"
    )
    lines += [f"⚠ {warning}" for warning in outcome.calculation.warnings]
    lines += [f"⚠ {note.removeprefix('warning: ')}" for note in outcome.notes]
    return "\n".join(lines)


def _int(config: Mapping[str, Any], field: str, default: int = 1) -> int:
    value = config.get(field)
    return int(value) if value is not None else default


def _training_outputs(settings: Settings, outcome: Outcome, report: str) -> tuple[Any, ...]:
    config = settings["config"]
    return (
        outcome.learning_rate,
        outcome.scored.stability_score,
        outcome.scored.efficiency_score,
        report,
        _int(config, "steps"),
        _int(config, "batch_size"),
        _int(config, "grad_accum"),
        _int(config, "rank"),
        settings,
    )


_TRAINING_RETURN_TYPES = ("FLOAT", "FLOAT", "FLOAT", "STRING", "INT", "INT", "INT", "INT", CONFIG_TYPE)
_TRAINING_RETURN_NAMES = (
    "learning_rate",
    "stability",
    "efficiency",
    "report",
    "steps",
    "batch_size",
    "grad_accum",
    "rank",
    "config",
)
_TRAINING_OUTPUT_TOOLTIPS = (
    f"The learning rate to train with: recommended × (1 + offset), clamped to {COMFY_LR_MIN:g} … {COMFY_LR_MAX:g}"
    " for ComfyUI's Train LoRA node (the report says when it was clamped).",
    "Stability score of that learning rate, 0 … 100 (Safe ≥ 85, Caution ≥ 65, else Risky).",
    "Efficiency score of that learning rate, 0 … 100 (Optimal ≥ 90, Suboptimal ≥ 60, else Inefficient).",
    "A readable report: the rate, its scores, the run and the factors behind them, and any warnings.",
    "Training steps, the same value LRTool used: wire it to the trainer's steps.",
    "Batch size, the same value LRTool used: wire it to the trainer's batch_size.",
    "Gradient accumulation steps, the same value LRTool used: wire it to grad_accumulation_steps.",
    "LoRA rank, the same value LRTool used: wire it to the trainer's rank.",
    "The whole configuration, for LRTool Evaluate LR, Save Profile and Record Run.",
)


def _with_summary(summary: str, result: tuple[Any, ...]) -> dict[str, Any]:
    return {"ui": {"text": [summary]}, "result": result}


def _fingerprint(*parts: Any) -> str:
    digest = hashlib.sha256()
    for part in parts:
        data = part.SerializeToString(deterministic=True) if isinstance(part, Message) else repr(part).encode()
        digest.update(data)
        digest.update(b"\x00")
    return digest.hexdigest()


# --- Nodes ----------------------------------------------------------------------------------------


class LRToolRecommendLR:
    """Recommend a learning rate for a LoRA training run."""

    DESCRIPTION = (
        "Recommends a learning rate for a LoRA training run from the LRTool engine, with its stability and"
        " efficiency. Passes steps, batch size, accumulation and rank on, so the trainer uses the same run."
    )
    CATEGORY = CATEGORY
    FUNCTION = "recommend"
    RETURN_TYPES = _TRAINING_RETURN_TYPES
    RETURN_NAMES = _TRAINING_RETURN_NAMES
    OUTPUT_TOOLTIPS = _TRAINING_OUTPUT_TOOLTIPS

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return configuration_inputs(connection.catalog())

    @classmethod
    def VALIDATE_INPUTS(cls, scheduler: str | None, trainer: str | None, formula: str | None) -> bool | str:
        """Check the names whose validity depends on each other (ComfyUI checks the other inputs)."""
        catalog = connection.catalog()
        choices = (
            ("scheduler", scheduler, cat.scheduler_options(catalog)),
            ("trainer", trainer, cat.trainer_options(catalog)),
            ("formula", formula, cat.formula_options(catalog)),
        )
        for label, value, options in choices:
            if value is not None and value not in options:
                return f"{label}: {value!r} is not one of {', '.join(options)}"
        if scheduler is None or trainer is None or formula is None:
            return True  # linked: the engine checks the value when the node runs
        owner = cat.schedule_owner(catalog, formula, trainer)
        if owner is None:
            return True
        who, schedules = owner
        if cat.find_schedule(schedules, scheduler) is None:
            reason = cat.refused_reason(catalog, trainer, scheduler) if who.startswith("trainer") else None
            if reason:
                return f"scheduler: {scheduler!r} cannot be used with {who}: {reason}"
            accepted = ", ".join(schedule.id for schedule in schedules)
            return f"scheduler: {scheduler!r} is not a schedule of {who}; choose one of: {accepted}"
        return True

    @classmethod
    def IS_CHANGED(cls, **_: Any) -> str | float:
        """What the default run log holds: the recommendation learns from it, so the node runs again
        when a run is recorded or judged (ComfyUI reruns it anyway when an input changes)."""
        try:
            runs = list(connection.connect().iter_runs())
        except (NodeError, LRToolClientError):
            return math.nan  # run, and show the error there
        return _fingerprint(*((run.id, run.outcome, run.best_step, run.config) for run in runs))

    def recommend(self, **inputs: Any) -> dict[str, Any]:
        settings = settings_from_inputs(connection.catalog(), inputs)
        outcome = connection.call(lambda client: recommend(client, settings))
        report = report_text(settings, outcome)
        return _with_summary(summary_text(outcome), _training_outputs(settings, outcome, report))


class LRToolEvaluateLR:
    """Score a learning rate you already have for a configuration."""

    DESCRIPTION = (
        "Scores a learning rate you already have in mind for the configuration from an LRTool Recommend LR or"
        " Load Profile node: its stability and efficiency, the risk band and a report."
    )
    CATEGORY = CATEGORY
    FUNCTION = "evaluate"
    RETURN_TYPES = ("FLOAT", "FLOAT", "STRING", "STRING")
    RETURN_NAMES = ("stability", "efficiency", "band", "report")
    OUTPUT_TOOLTIPS = (
        "Stability score of the learning rate, 0 … 100 (overshooting is punished harder than undershooting).",
        "Efficiency score of the learning rate, 0 … 100.",
        "Risk band of the learning rate: Safe, Caution or Risky.",
        "A readable report: the rate against the recommendation, its scores and any warnings.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        catalog = connection.catalog()
        learning_rate = _number(
            catalog,
            "learning_rate",
            1e-4,
            _tooltip(catalog, "learning_rate", "Link a learning rate here, or type one."),
            step=1e-6,
        )
        learning_rate[1]["min"] = 1e-10
        learning_rate[1]["round"] = False
        return {
            "required": {
                "config": (
                    CONFIG_TYPE,
                    {"tooltip": "The configuration: the config output of Recommend LR or Load Profile."},
                ),
                "learning_rate": learning_rate,
            }
        }

    def evaluate(self, config: Any, learning_rate: float) -> dict[str, Any]:
        settings = _settings_of(config)
        rate = float(learning_rate)
        if not math.isfinite(rate) or rate <= 0:
            raise NodeError(f"learning_rate: must be a finite number above 0; got {learning_rate!r}")
        scored = connection.call(lambda client: client.calculate(settings["config"], learning_rate=rate))
        notes: tuple[str, ...] = ()
        if not COMFY_LR_MIN <= rate <= COMFY_LR_MAX:
            notes = (
                f"warning: {presenting.rate(rate)} is outside the {COMFY_LR_MIN:g} … {COMFY_LR_MAX:g}"
                " that ComfyUI's Train LoRA"
                " node accepts",
            )
        outcome = Outcome(rate, scored, scored, notes)
        lines = report_text(settings, outcome).splitlines()
        lines[1] = (
            f"learning rate {presenting.rate(rate)} = recommended {presenting.rate(scored.recommended_lr)}"
            f" × {1 + scored.offset:.3f}"
            f" (offset {scored.offset:+.3f})"
        )
        report = "\n".join(lines)
        result = (scored.stability_score, scored.efficiency_score, scored.risk_band, report)
        return _with_summary(summary_text(outcome), result)


class LRToolLoadProfile:
    """Load a profile saved in the engine's store."""

    DESCRIPTION = (
        "Loads a profile (a saved configuration with its offset) from the LRTool engine's store and recommends"
        " its learning rate, with the same outputs as LRTool Recommend LR. An empty name loads the default profile."
    )
    CATEGORY = CATEGORY
    FUNCTION = "load"
    RETURN_TYPES = _TRAINING_RETURN_TYPES
    RETURN_NAMES = _TRAINING_RETURN_NAMES
    OUTPUT_TOOLTIPS = _TRAINING_OUTPUT_TOOLTIPS

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        tooltip = (
            "Name of a profile in the engine's store (see `lrtool profiles list`); empty loads the default"
            " profile (`lrtool profiles default NAME`)."
        )
        return {"required": {"name": ("STRING", {"default": "", "multiline": False, "tooltip": tooltip})}}

    @classmethod
    def IS_CHANGED(cls, name: str | None = None, **_: Any) -> str | float:
        """The stored version: the node runs again when the profile was saved since."""
        if name is None:
            return math.nan
        try:
            client = connection.connect()
            profile_name = name.strip() or client.default_profile() or ""
            profile = client.get_profile(profile_name)
        except (NodeError, LRToolClientError):
            return math.nan  # run, and show the error there
        return f"{profile.name}@{profile.version}@{profile.updated_at.ToNanoseconds()}"

    def load(self, name: str) -> dict[str, Any]:
        def action(client: LRToolClient) -> tuple[pb.Profile, Outcome, Settings]:
            profile_name = name.strip() or client.default_profile()
            if not profile_name:
                raise NodeError(
                    "name: no profile name given and no default profile is set (lrtool profiles default NAME)"
                )
            try:
                profile = client.get_profile(profile_name)
            except ProfileNotFound:
                raise NodeError(
                    f"name: no profile named {profile_name!r} in the engine's store (see `lrtool profiles list`)"
                ) from None
            settings: Settings = {"config": config_dict(profile.config), "offset": profile.offset}
            return profile, recommend(client, settings), settings

        profile, outcome, settings = connection.call(action)
        header = f"profile {profile.name!r} (version {profile.version})"
        if profile.notes:
            header += f": {profile.notes}"
        report = report_text(settings, outcome, header)
        return _with_summary(summary_text(outcome, header), _training_outputs(settings, outcome, report))


class LRToolSaveProfile:
    """Save a configuration as a profile in the engine's store."""

    DESCRIPTION = (
        "Saves the configuration from an LRTool Recommend LR node (with its offset) as a named profile in the"
        " LRTool engine's store, where the LRTool command line, the web UI and Load Profile find it."
    )
    CATEGORY = CATEGORY
    FUNCTION = "save"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING", "INT")
    RETURN_NAMES = ("name", "version")
    OUTPUT_TOOLTIPS = ("The profile's name.", "The version the profile was saved as (1 when it is new).")

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "config": (CONFIG_TYPE, {"tooltip": "The configuration to save: the config output of Recommend LR."}),
                "name": (
                    "STRING",
                    {
                        "default": "comfyui",
                        "multiline": False,
                        "tooltip": "Profile name: letters, digits, space, '.', '_' or '-', up to 128 characters.",
                    },
                ),
                "overwrite": (
                    "BOOLEAN",
                    {"default": True, "tooltip": "Replace a profile of the same name; off refuses to."},
                ),
            },
            "optional": {
                "notes": ("STRING", {"default": "", "multiline": True, "tooltip": "Notes stored with the profile."}),
            },
        }

    @classmethod
    def VALIDATE_INPUTS(cls, name: str | None) -> bool | str:
        if name is not None and not name.strip():
            return "name: give the profile a name"
        return True

    @classmethod
    def IS_CHANGED(cls, name: str | None = None, **_: Any) -> str | float:
        """What is stored under the name: the node saves again when the stored profile changed."""
        if name is None:
            return math.nan
        try:
            profile = connection.connect().get_profile(name.strip())
        except ProfileNotFound:
            return "missing"
        except (NodeError, LRToolClientError):
            return math.nan
        return _fingerprint(profile.config, profile.offset, profile.notes)

    def save(self, config: Any, name: str, overwrite: bool, notes: str = "") -> dict[str, Any]:
        settings = _settings_of(config)
        profile_name = name.strip()

        def action(client: LRToolClient) -> pb.Profile:
            try:
                return client.save_profile(
                    profile_name,
                    settings["config"],
                    offset=settings["offset"],
                    notes=notes,
                    expected_version=None if overwrite else 0,
                )
            except ProfileAlreadyExists:
                raise NodeError(
                    f"name: a profile named {profile_name!r} already exists; switch overwrite on to replace it"
                ) from None

        profile = connection.call(action)
        statistics = profile.statistics
        summary = (
            f"saved {profile.name!r} (version {profile.version})\n"
            f"LR {presenting.rate(statistics.adjusted_lr)}"
            f" · stability {statistics.stability_score:.1f} {statistics.risk_band}"
        )
        return _with_summary(summary, (profile.name, profile.version))


# --- The run log --------------------------------------------------------------------------------

#: ComfyUI's Train LoRA node outputs its loss history as {"loss": [one float per micro-step]}.
LOSS_MAP_TYPE = "LOSS_MAP"
#: The outcome choices: the run log's words, and "not judged" for a run looked at later.
NOT_JUDGED = "not judged"
OUTCOME_WORDS = [NOT_JUDGED, "undertrained", "good", "overtrained", "diverged"]
#: A loss whose last fifth runs this many times above its first fifth (medians: the loss of
#: diffusion training jumps with the random noise level of each step) has blown up, even
#: without NaN: a LoRA that trains settles at or below where it started.
EXPLOSION_RATIO = 3.0
#: The share of the loss curve at each end that the explosion test compares.
LOSS_END_SHARE = 0.2
#: Runs of the log searched for this training's earlier record (the newest ones).
RECENT_RUNS = 20
#: Loss values sent with a run at most; longer curves are thinned evenly (the engine takes up to 10⁶).
MAX_LOSS_VALUES = 10_000


def loss_values(loss_map: Any) -> list[float]:
    """The loss curve of a LOSS_MAP (a dict with a "loss" list, as ComfyUI's Train LoRA node makes it)."""
    if not isinstance(loss_map, Mapping) or "loss" not in loss_map:
        raise NodeError("loss: connect the loss output (LOSS_MAP) of ComfyUI's Train LoRA node")
    try:
        return [float(value) for value in loss_map["loss"]]
    except (TypeError, ValueError):
        raise NodeError('loss: the loss map\'s "loss" entry must be a list of numbers') from None


def divergence(loss: list[float]) -> str | None:
    """Why the loss says the run diverged (NaN or infinite values, or an explosion), or None."""
    broken = sum(1 for value in loss if not math.isfinite(value))
    if broken:
        first = next(index for index, value in enumerate(loss) if not math.isfinite(value))
        return f"the loss is NaN or infinite at {broken:,} of {len(loss):,} points (first at point {first + 1:,})"
    span = max(1, int(len(loss) * LOSS_END_SHARE))
    if len(loss) < 2 * span + 1:
        return None
    start, end = _median(loss[:span]), _median(loss[-span:])
    if start > 0 and end > EXPLOSION_RATIO * start:
        return f"the loss rose from a median {start:.4g} at the start to {end:.4g} at the end (×{end / start:.1f})"
    return None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _thinned(loss: list[float]) -> list[float]:
    if len(loss) <= MAX_LOSS_VALUES:
        return loss
    return [loss[index * len(loss) // MAX_LOSS_VALUES] for index in range(MAX_LOSS_VALUES)]


def _same_run(run: pb.Run, steps: int, learning_rate: float, loss: list[float]) -> bool:
    """The run already recorded for this training (ComfyUI runs the node again when only its outcome changed):
    the same rate, length and loss curve, which no other training repeats."""
    if run.config.steps != steps or run.learning_rate != learning_rate or len(run.loss) != len(loss) or not loss:
        return False
    return all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(run.loss, loss, strict=True))


class LRToolRecordRun:
    """Record the run ComfyUI's Train LoRA node just trained in the run log, so LRTool learns from it."""

    DESCRIPTION = (
        "Records the run that ComfyUI's Train LoRA node trained — the configuration and learning rate from LRTool"
        " Recommend LR, the trainer's loss and steps — with how it came out, in the LRTool run log. A NaN or"
        " exploding loss is flagged as diverged by itself. Recommend LR then learns from the log: change the outcome"
        " after looking at the samples and queue again, and the same run is updated."
    )
    CATEGORY = CATEGORY
    FUNCTION = "record"
    OUTPUT_NODE = True
    RETURN_TYPES = ("STRING", "STRING", "FLOAT", "STRING")
    RETURN_NAMES = ("run_id", "outcome", "next_learning_rate", "report")
    OUTPUT_TOOLTIPS = (
        "The run's id in the log (lrtool runs list).",
        "The outcome recorded: the one chosen, or diverged when the loss says so.",
        "What LRTool now recommends for this configuration, having learned from the log.",
        "A readable report: the run, its outcome, and the recommendation before and after.",
    )

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        learning_rate = (
            "FLOAT",
            {
                "default": 1e-4,
                "min": 1e-10,
                "max": 10.0,
                "step": 1e-6,
                "round": False,
                "tooltip": "The learning rate the trainer used: link the learning_rate that fed Train LoRA.",
            },
        )
        return {
            "required": {
                "config": (CONFIG_TYPE, {"tooltip": "The configuration trained: the config output of Recommend LR."}),
                "learning_rate": learning_rate,
                "loss": (LOSS_MAP_TYPE, {"tooltip": "The loss output of ComfyUI's Train LoRA node."}),
                "steps": (
                    "INT",
                    {
                        "default": 1,
                        "min": 1,
                        "max": 10_000_000,
                        "tooltip": "The steps output of Train LoRA: the steps really trained.",
                    },
                ),
                "outcome": (
                    OUTCOME_WORDS,
                    {
                        "default": NOT_JUDGED,
                        "tooltip": (
                            "How the final LoRA came out: undertrained (weak likeness or style), good, overtrained"
                            " (burned, rigid, artifacts), diverged (noise). Leave 'not judged' until you have looked"
                            " at samples, then set it and queue again: the same run is updated."
                        ),
                    },
                ),
            },
            "optional": {
                "best_step": (
                    "INT",
                    {
                        "default": 0,
                        "min": 0,
                        "max": 10_000_000,
                        "tooltip": "The step of the checkpoint that looked best, if you saved several; 0: not known.",
                    },
                ),
                "notes": ("STRING", {"default": "", "multiline": True, "tooltip": "What you saw."}),
                "log": (
                    "STRING",
                    {
                        "default": "default",
                        "multiline": False,
                        "tooltip": "The run log (one per user or team). Recommend LR learns from 'default'.",
                    },
                ),
            },
        }

    def record(
        self,
        config: Any,
        learning_rate: float,
        loss: Any,
        steps: int,
        outcome: str,
        best_step: int = 0,
        notes: str = "",
        log: str = "default",
    ) -> dict[str, Any]:
        settings = _settings_of(config)
        rate = float(learning_rate)
        if not math.isfinite(rate) or rate <= 0:
            raise NodeError(f"learning_rate: must be a finite number above 0; got {learning_rate!r}")
        if outcome not in OUTCOME_WORDS:
            raise NodeError(f"outcome: must be one of {', '.join(OUTCOME_WORDS)}; got {outcome!r}")
        curve = loss_values(loss)
        diverged = divergence(curve)
        chosen = "diverged" if diverged else outcome
        trained = {**settings["config"], "steps": int(steps)}  # what the trainer ran, e.g. after an existing LoRA
        sent = _thinned(curve)
        word = "" if chosen == NOT_JUDGED else chosen
        best = int(best_step) if best_step else None

        def action(client: LRToolClient) -> tuple[pb.Run, pb.Calculation, pb.Calculation, bool]:
            before = client.calculate(trained, run_log=log)
            recent = client.list_runs(log, page_size=RECENT_RUNS).runs
            existing = next((run for run in recent if _same_run(run, int(steps), rate, sent)), None)
            if existing is not None:
                run = client.update_run(existing.id, outcome=word, best_step=best, notes=notes)
            else:
                run = client.record_run(trained, rate, outcome=word, best_step=best, notes=notes, loss=sent, log=log)
            after = client.calculate(trained, run_log=log)
            return run, before, after, existing is not None

        run, before, after, updated = connection.call(action)
        described = presenting.resolved_text(trained, connection.catalog())
        lines = [
            f"{'updated' if updated else 'recorded'} run {run.id} in log {run.log!r}: {described}",
            f"learning rate {presenting.rate(rate)} over {int(steps):,} steps; outcome: {chosen}"
            + (f"; best checkpoint at step {best:,}" if best else ""),
        ]
        if diverged:
            lines.append(f"flagged as diverged: {diverged}")
        lines.append(
            f"recommendation for this configuration: {presenting.rate(before.recommended_lr)} before,"
            f" {presenting.rate(after.recommended_lr)}"
            f" now (population {presenting.rate(after.population_lr)}; your runs ×{after.personal_factor:.2f},"
            f" {after.personal_runs} of this model;"
            f" 80 % band {presenting.rate(after.recommended_low)} … {presenting.rate(after.recommended_high)})"
        )
        summary = (
            f"run {run.id}: {chosen}\nnext LR {presenting.rate(after.recommended_lr)} (×{after.personal_factor:.2f})"
        )
        if diverged:
            summary += "\n⚠ diverged loss"
        return _with_summary(summary, (run.id, chosen, after.recommended_lr, "\n".join(lines)))


NODE_CLASS_MAPPINGS: dict[str, type] = {
    "LRToolRecommendLR": LRToolRecommendLR,
    "LRToolEvaluateLR": LRToolEvaluateLR,
    "LRToolLoadProfile": LRToolLoadProfile,
    "LRToolSaveProfile": LRToolSaveProfile,
    "LRToolRecordRun": LRToolRecordRun,
}

NODE_DISPLAY_NAME_MAPPINGS: dict[str, str] = {
    "LRToolRecommendLR": "LRTool Recommend LR",
    "LRToolEvaluateLR": "LRTool Evaluate LR",
    "LRToolLoadProfile": "LRTool Load Profile",
    "LRToolSaveProfile": "LRTool Save Profile",
    "LRToolRecordRun": "LRTool Record Run",
}
