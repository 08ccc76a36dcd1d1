"""The training configuration: validated input of every calculation (docs/model.md §1).

`TrainingConfig` is a pydantic model. Building one either yields a fully checked
configuration (names resolved to catalog ids, schedule parameters defaulted and
checked against the schedule) or raises `ConfigError` naming every bad field
with the accepted range.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from . import _catalog as catalog
from ._catalog import (
    FORMULA_SETS,
    INPUT_RANGES,
    MODELS,
    NETWORKS,
    OBJECTIVES,
    OPTIMIZERS,
    TRAINERS,
    FormulaSet,
    Model,
    NamedTable,
    NumberRange,
    Objective,
    Optimizer,
    Schedule,
    Trainer,
)
from ._exceptions import ConfigError, FieldViolation

_CROSS_FIELD_ERROR = "lrtool_cross_field"
_UNKNOWN_NAME_ERROR = "lrtool_unknown_name"
#: A resolution that passes its own check, filled in when no resolution is given and the model
#: is unknown or missing (see _native_resolution_by_default).
_RESOLUTION_BESIDE_A_BAD_MODEL = int(INPUT_RANGES["resolution"].minimum)


def _bounded(name: str) -> Any:
    """pydantic constraints for a numeric field, taken from the catalog's ranges."""
    accepted = INPUT_RANGES[name]
    low, high = accepted.minimum, accepted.maximum
    return Field(
        gt=low if accepted.minimum_exclusive else None,
        ge=None if accepted.minimum_exclusive else low,
        lt=high if accepted.maximum_exclusive else None,
        le=None if accepted.maximum_exclusive else high,
        allow_inf_nan=False if accepted.kind == "float" else None,
    )


@dataclass(frozen=True, slots=True)
class StepRules:
    """diffusers' piecewise-constant rules: `multiplier` holds while step < `bound`."""

    bounds: tuple[int, ...]
    multipliers: tuple[float, ...]
    last_multiplier: float


@dataclass(frozen=True, slots=True)
class ScheduleArgs:
    """Schedule parameters with the schedule's defaults filled in (hashable, for caching)."""

    num_cycles: float = 1.0
    power: float = 1.0
    min_lr_ratio: float | None = None  # None: polynomial's lr_end default (depends on the LR)
    decay_steps: int = 0
    timescale: int | None = None  # None: inverse_sqrt's default
    step_rules: StepRules | None = None
    start_factor: float = 1.0 / 3.0
    end_factor: float = 1.0


@dataclass(slots=True)  # not frozen: a batch builds one per row, and a frozen one costs 4× to build
class Resolved:
    """Catalog entries a validated configuration names, and derived settings."""

    model: Model
    optimizer: Optimizer
    objective: Objective
    formula: FormulaSet
    trainer: Trainer
    schedule: Schedule
    warmup_steps: int
    schedule_args: ScheduleArgs
    ignored_parameters: tuple[str, ...]


_SCHEDULE_PARAMETER_NAMES = tuple(catalog.SCHEDULE_PARAMETERS)


class TrainingConfig(BaseModel):
    """One LoRA training configuration. Names are stored as catalog ids once validated."""

    model_config = ConfigDict(strict=True, frozen=True, extra="forbid")

    model: str
    resolution: Annotated[int, _bounded("resolution")]
    steps: Annotated[int, _bounded("steps")]
    images: Annotated[int, _bounded("images")]
    batch_size: Annotated[int, _bounded("batch_size")] = 1
    grad_accum: Annotated[int, _bounded("grad_accum")] = 1
    rank: Annotated[int, _bounded("rank")]
    alpha: Annotated[float, _bounded("alpha")]
    optimizer: str
    scheduler: str
    warmup_fraction: Annotated[float | None, _bounded("warmup_fraction")] = None
    warmup_steps: Annotated[int | None, _bounded("warmup_steps")] = None
    objective: str
    formula: str = catalog.DEFAULT_FORMULA
    trainer: str = catalog.DEFAULT_TRAINER
    network: str = catalog.DEFAULT_NETWORK
    repeats: Annotated[int, _bounded("repeats")] = 1
    num_cycles: Annotated[float | None, _bounded("num_cycles")] = None
    power: Annotated[float | None, _bounded("power")] = None
    min_lr_ratio: Annotated[float | None, _bounded("min_lr_ratio")] = None
    decay_steps: Annotated[int | None, _bounded("decay_steps")] = None
    timescale: Annotated[int | None, _bounded("timescale")] = None
    step_rules: str | None = None
    start_factor: Annotated[float | None, _bounded("start_factor")] = None
    end_factor: Annotated[float | None, _bounded("end_factor")] = None

    _resolved: Resolved = PrivateAttr()
    # The offset-independent part of its calculation, kept once computed: slider moves
    # and repeated requests reuse it (the configuration is immutable).
    _calculation_memo: Any = PrivateAttr(default=None)

    def __init__(self, **data: Any) -> None:
        try:
            super().__init__(**data)
        except ValidationError as error:
            raise ConfigError(violations_from_pydantic(error, data)) from None

    def __eq__(self, other: object) -> bool:
        # Fields only: the private memo of a calculated configuration is not part of its value.
        if isinstance(other, TrainingConfig):
            return self.__dict__ == other.__dict__
        return NotImplemented

    def __hash__(self) -> int:
        return hash(tuple(self.__dict__.values()))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TrainingConfig:
        """Validate a mapping (e.g. parsed JSON); raises `ConfigError`."""
        if not isinstance(data, Mapping):
            raise ConfigError([FieldViolation("config", f"must be a mapping of fields; got {show_value(data)}")])
        return cls(**dict(data))

    @classmethod
    def _checked_elsewhere(cls, fields: dict[str, Any], given: set[str], resolved: Resolved) -> TrainingConfig:
        """A configuration from fields the columnar path (_columns.py) has already checked and
        resolved: every field in declaration order, names as catalog ids. It equals what
        TrainingConfig(**given fields) builds, without validating a second time."""
        config = cls.__new__(cls)
        # What pydantic's model_construct sets, and the private attributes validation sets.
        object.__setattr__(config, "__dict__", fields)
        object.__setattr__(config, "__pydantic_fields_set__", given)
        object.__setattr__(config, "__pydantic_extra__", None)
        object.__setattr__(config, "__pydantic_private__", {"_resolved": resolved, "_calculation_memo": None})
        return config

    @property
    def resolved(self) -> Resolved:
        """The catalog entries and derived settings this configuration names."""
        # Read the private slot directly: pydantic's attribute fallback is slow on this hot path.
        resolved: Resolved = self.__pydantic_private__["_resolved"]  # type: ignore[index]
        return resolved

    @model_validator(mode="before")
    @classmethod
    def _native_resolution_by_default(cls, data: Any) -> Any:
        """No resolution given: the model's native size (what a trainer's default bucket is).
        Without a known model that size is unknowable; the model's own error is the one to
        report, so the resolution is not reported missing beside it (the placeholder is never
        used: a configuration without a valid model is not built)."""
        if isinstance(data, dict) and data.get("resolution") is None:
            model = MODELS.get(data["model"]) if isinstance(data.get("model"), str) else None
            resolution = model.native_resolution if model is not None else _RESOLUTION_BESIDE_A_BAD_MODEL
            return {**data, "resolution": resolution}
        return data

    @field_validator("model", "optimizer", "objective", "formula", "trainer", "network")
    @classmethod
    def _resolve_name(cls, value: str, info: ValidationInfo) -> str:
        """Store each name as its catalog id; an unknown name lists the accepted ones."""
        field_name = info.field_name or ""
        table = _NAME_TABLES[field_name]
        entry = table.get(value)
        if entry is None:
            accepted = table.accepted_text()
            raise PydanticCustomError(
                _UNKNOWN_NAME_ERROR,
                "{message}",
                {"message": _unknown_name(table, value, accepted), "accepted": accepted},
            )
        entry_id: str = entry.id
        return entry_id

    @model_validator(mode="after")
    def _check_together(self) -> TrainingConfig:
        """Checks that need several fields at once; all problems are reported together."""
        problems: list[FieldViolation] = []
        formula = FORMULA_SETS.by_id(self.formula)
        trainer = TRAINERS.by_id(self.trainer)
        if formula.id != catalog.CALIBRATED:
            problems.extend(_needs_lrtool_1_0_calibration(self.model, self.optimizer, formula))
        schedules = catalog.schedules_for(formula, trainer)
        schedule = schedules.get(self.scheduler)
        if schedule is None:
            problems.append(FieldViolation("scheduler", _unknown_schedule(formula, trainer, self.scheduler)))

        warmup_steps = 0
        if self.warmup_fraction is not None and self.warmup_steps is not None:
            problems.append(
                FieldViolation("warmup_steps", "give warmup either as warmup_fraction or as warmup_steps, not both")
            )
        elif self.warmup_steps is not None:
            warmup_steps = self.warmup_steps
            if warmup_steps > self.steps - 1:
                accepted = f"an integer from 0 to {self.steps - 1:,}"
                problems.append(
                    FieldViolation("warmup_steps", f"must be {accepted} (steps − 1); got {warmup_steps:,}", accepted)
                )
        elif self.warmup_fraction is not None:
            # As sd-scripts and OneTrainer read a ratio (and LRTool 1.0 did): floor in floating point.
            warmup_steps = int(self.steps * self.warmup_fraction)

        args = ScheduleArgs()
        ignored: tuple[str, ...] = ()
        if schedule is not None:
            if warmup_steps > 0 and not schedule.takes_warmup:
                problems.append(
                    FieldViolation(
                        "warmup_steps" if self.warmup_steps is not None else "warmup_fraction",
                        f"schedule {schedule.id!r} of {_schedule_owner(formula, trainer)} takes no warmup;"
                        " set warmup to 0"
                        + (
                            " or use constant_with_warmup" if schedule.id == "constant" and formula.uses_trainer else ""
                        ),
                    )
                )
            args, ignored = self._schedule_args(schedule, formula, trainer, warmup_steps, problems)

        if problems:
            raise _cross_field_error(problems)
        if schedule is None:  # pragma: no cover - a missing schedule always adds a problem
            raise AssertionError
        self._resolved = Resolved(
            model=MODELS.by_id(self.model),
            optimizer=OPTIMIZERS.by_id(self.optimizer),
            objective=OBJECTIVES.by_id(self.objective),
            formula=formula,
            trainer=trainer,
            schedule=schedule,
            warmup_steps=warmup_steps,
            schedule_args=args,
            ignored_parameters=ignored,
        )
        return self

    def _schedule_args(
        self,
        schedule: Schedule,
        formula: FormulaSet,
        trainer: Trainer,
        warmup_steps: int,
        problems: list[FieldViolation],
    ) -> tuple[ScheduleArgs, tuple[str, ...]]:
        values: dict[str, Any] = {}
        for use in schedule.parameters:
            given = getattr(self, use.name)
            if given is None:
                if use.required:
                    problems.append(
                        FieldViolation(
                            use.name,
                            f"required by schedule {schedule.id!r}: "
                            + catalog.SCHEDULE_PARAMETERS[use.name].description,
                        )
                    )
                elif use.default is not None:
                    values[use.name] = use.default
            else:
                values[use.name] = given
        ignored = tuple(
            name
            for name in _SCHEDULE_PARAMETER_NAMES
            if getattr(self, name) is not None and schedule.parameter(name) is None
        )

        owner = f"{schedule.id!r} ({_schedule_owner(formula, trainer)})"
        if "step_rules" in values:
            try:
                values["step_rules"] = parse_step_rules(values["step_rules"])
            except ValueError as error:
                problems.append(FieldViolation("step_rules", str(error)))
                del values["step_rules"]
        if schedule.id == "polynomial" and values.get("min_lr_ratio", 0.0) >= 1.0:
            problems.append(
                FieldViolation(
                    "min_lr_ratio",
                    f"must be below 1 for {owner}: the end rate must be lower than the start rate;"
                    f" got {values['min_lr_ratio']:g}",
                )
            )
        if schedule.id == "warmup_stable_decay" and "decay_steps" in values:
            room = self.steps - warmup_steps
            if values["decay_steps"] > room:
                accepted = f"an integer from 1 to {room:,}"
                problems.append(
                    FieldViolation(
                        "decay_steps",
                        f"must be {accepted} (steps − warmup steps) for {owner}; got {values['decay_steps']:,}",
                        accepted,
                    )
                )
        return ScheduleArgs(**values), ignored


def _needs_lrtool_1_0_calibration(model_id: str, optimizer_id: str, formula: FormulaSet) -> list[FieldViolation]:
    """Formula sets energy and lrtool-1.0 run on LRTool 1.0's constants, which only its own
    models and optimizers have."""
    problems = []
    model = MODELS.by_id(model_id)
    if model.base_energy is None:
        problems.append(
            FieldViolation(
                "model",
                f"{model.display_name!r} has no LRTool 1.0 constants, so formula {formula.id!r} cannot use it;"
                f" use formula {catalog.CALIBRATED!r} (fitted to public presets)",
            )
        )
    optimizer = OPTIMIZERS.by_id(optimizer_id)
    if optimizer.modifier is None:
        problems.append(
            FieldViolation(
                "optimizer",
                f"{optimizer.display_name!r} sets its own step size or schedule inside the optimizer, so formula"
                f" {formula.id!r} cannot integrate its schedule; use formula {catalog.CALIBRATED!r}, which"
                " recommends its multiplier",
            )
        )
    return problems


_NAME_TABLES: Mapping[str, NamedTable[Any]] = {
    "network": NETWORKS,
    "model": MODELS,
    "optimizer": OPTIMIZERS,
    "objective": OBJECTIVES,
    "formula": FORMULA_SETS,
    "trainer": TRAINERS,
}


def _cross_field_error(problems: list[FieldViolation]) -> PydanticCustomError:
    return PydanticCustomError(
        _CROSS_FIELD_ERROR, "{summary}", {"summary": "; ".join(map(str, problems)), "violations": problems}
    )


def parse_step_rules(text: str) -> StepRules:
    """Parse diffusers' step rules 'm1:s1,m2:s2,…,m_last' (s = absolute step bounds)."""
    example = "'1:500,0.5:1000,0.1'"
    parts = [part.strip() for part in text.split(",")]
    if not parts or not parts[-1]:
        raise ValueError(f"must look like {example} (multiplier:step pairs, then the last multiplier); got {text!r}")
    rules: dict[int, float] = {}
    for part in parts[:-1]:
        pieces = part.split(":")
        if len(pieces) != 2:
            raise ValueError(f"rule {part!r} must be multiplier:step, as in {example}")
        multiplier = _parse_multiplier(pieces[0], part, example)
        try:
            bound = int(pieces[1])
        except ValueError:
            raise ValueError(f"step in rule {part!r} must be a whole number, as in {example}") from None
        if bound < 0:
            raise ValueError(f"step in rule {part!r} must be 0 or more")
        rules[bound] = multiplier  # as diffusers: a repeated step keeps the last multiplier
    last = _parse_multiplier(parts[-1], parts[-1], example)
    bounds = tuple(sorted(rules))
    return StepRules(bounds, tuple(rules[bound] for bound in bounds), last)


def _parse_multiplier(text: str, rule: str, example: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"multiplier in {rule!r} must be a number, as in {example}") from None
    if not math.isfinite(value) or value < 0 or value > 1000:
        raise ValueError(f"multiplier in {rule!r} must be a finite number from 0 to 1,000; got {text}")
    return value


# --- Messages ------------------------------------------------------------------


def show_value(value: Any) -> str:
    """A rejected value as a person reads it."""
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        if math.isinf(value):
            return "infinity" if value > 0 else "-infinity"
        return f"{value:g}"
    if isinstance(value, bool):
        return f"{value} (a boolean)"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return repr(shown)
    if value is None:
        return "nothing"
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 60 else text[:57] + '...'}"


def _unknown_name(table: NamedTable[Any], value: str, accepted: str) -> str:
    hint = table.suggestion(value)
    did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
    return f"unknown {table.kind} {value!r}{did_you_mean}; accepted: {accepted}"


def _schedule_owner(formula: FormulaSet, trainer: Trainer) -> str:
    return f"trainer {trainer.id!r}" if formula.uses_trainer else f"formula {formula.id!r}"


def _unknown_schedule(formula: FormulaSet, trainer: Trainer, value: str) -> str:
    owner = _schedule_owner(formula, trainer)
    if formula.uses_trainer:
        refused = trainer.refused_schedules.get(value)
        if refused is not None:
            return f"{refused.display_name!r} cannot be used with {owner}: {refused.reason}"
    schedules = catalog.schedules_for(formula, trainer)
    hint = schedules.suggestion(value)
    did_you_mean = f" (did you mean {hint!r}?)" if hint else ""
    return f"{value!r} is not a schedule of {owner}{did_you_mean}; accepted: {schedules.accepted_text()}"


def _describe_field(field_name: str) -> str:
    accepted: NumberRange | None = INPUT_RANGES.get(field_name)
    if accepted is not None:
        return f"must be {accepted.describe()}"
    if field_name in ("model", "optimizer", "objective", "formula", "trainer", "scheduler", "network"):
        return "must be a name from the catalog"
    if field_name == "step_rules":
        return "must be text like '1:500,0.5:1000,0.1'"
    return "is not valid"


def violations_from_pydantic(error: ValidationError, data: Mapping[str, Any]) -> list[FieldViolation]:
    """Turn pydantic's report into one actionable violation per bad field."""
    violations: list[FieldViolation] = []
    for line in error.errors(include_url=False):
        violations.extend(_violations_from_line(line, data))
    # One message per field: pydantic may report a field twice (e.g. int and None branches).
    seen: set[str] = set()
    unique = []
    for violation in violations:
        if violation.field not in seen:
            seen.add(violation.field)
            unique.append(violation)
    return unique


def _violations_from_line(line: Any, data: Mapping[str, Any]) -> list[FieldViolation]:
    kind = line["type"]
    if kind == _CROSS_FIELD_ERROR:
        return list(line["ctx"]["violations"])
    location = line["loc"]
    if not location:
        return [FieldViolation("config", line["msg"])]
    field_name = str(location[0])
    if kind == _UNKNOWN_NAME_ERROR:
        return [FieldViolation(field_name, line["ctx"]["message"], line["ctx"]["accepted"])]
    if kind == "missing":
        help_text = catalog.FIELD_HELP.get(field_name, "").rstrip(".")
        description = f"is required ({help_text})" if help_text else "is required"
        # Say what it takes, as a wrong value is told: the catalog's names, or the range.
        table, ranged = _NAME_TABLES.get(field_name), INPUT_RANGES.get(field_name)
        if table is not None:
            return [
                FieldViolation(field_name, f"{description}; accepted: {table.accepted_text()}", table.accepted_text())
            ]
        if ranged is not None:
            return [FieldViolation(field_name, f"{description}; must be {ranged.describe()}", ranged.describe())]
        return [FieldViolation(field_name, description)]
    if kind == "extra_forbidden":
        accepted = ", ".join(TrainingConfig.model_fields)
        return [FieldViolation(field_name, f"is not a configuration field; accepted fields: {accepted}")]
    value = data.get(field_name, line.get("input"))
    ranged = INPUT_RANGES.get(field_name)
    accepted = ranged.describe() if ranged is not None else ""
    return [FieldViolation(field_name, f"{_describe_field(field_name)}; got {show_value(value)}", accepted)]
