"""Mapping between protobuf messages and the engine's types, in one place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from functools import cache, lru_cache
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from ._generated.lrtool.v1 import engine_pb2 as pb
from .engine import Calculation, Evidence, Factor, Outcome, ScheduleCurve, ScoreCurve, TrainingConfig, catalog

#: Scalar and string statistics; the evidence band and the factors are messages of their own.
_NESTED_FIELDS = frozenset({"evidence", "factors"})
_CALCULATION_FIELDS = tuple(field.name for field in dataclasses.fields(Calculation) if field.name not in _NESTED_FIELDS)
_EVIDENCE_SCALARS = tuple(field.name for field in dataclasses.fields(Evidence) if field.name != "sources")


def config_from_proto(message: pb.TrainingConfig) -> TrainingConfig:
    """Validate a TrainingConfig message; raises ConfigError (paths relative to the config).

    Clients resend the same configuration over and over (every slider move, every
    re-queued node), so validated configurations are kept by their wire bytes.
    """
    return _config_from_wire(message.SerializeToString(deterministic=True))


@lru_cache(maxsize=4096)
def _config_from_wire(data: bytes) -> TrainingConfig:
    return TrainingConfig(**config_fields_from_proto(pb.TrainingConfig.FromString(data)))


def config_fields_from_proto(message: pb.TrainingConfig) -> dict[str, Any]:
    """The fields a message sets (proto3 presence), as TrainingConfig keyword arguments."""
    return {_FIELD_NAMES[field]: value for field, value in message.ListFields()}


class _FieldNames(dict[Any, str]):
    """Each TrainingConfig field's name by its descriptor: reading a descriptor's name costs more
    than the lookup, and a batch reads ten fields of every request."""

    def __missing__(self, field: Any) -> str:
        name: str = field.name
        return name


_FIELD_NAMES = _FieldNames({field: field.name for field in pb.TrainingConfig.DESCRIPTOR.fields})


def config_to_proto(config: TrainingConfig | Mapping[str, Any]) -> pb.TrainingConfig:
    fields = config.model_dump(exclude_none=True) if isinstance(config, TrainingConfig) else dict(config)
    return pb.TrainingConfig(**{name: value for name, value in fields.items() if value is not None})


def calculation_to_proto(calculation: Calculation) -> pb.Calculation:
    # Fields are copied one by one: dataclasses.asdict deep-copies, and cost 10× the rest.
    message = pb.Calculation(**{name: getattr(calculation, name) for name in _CALCULATION_FIELDS})
    factors = calculation.factors
    if factors:
        encoded = _encoded_if_met_before(factors, _encoded_factors)
        if encoded is not None:
            message.MergeFromString(encoded)
        else:
            add_factor = message.factors.add
            for factor in factors:
                encoded = _encoded_if_met_before(factor, _encoded_factors)
                if encoded is not None:
                    message.MergeFromString(encoded)
                else:
                    _add_factor(add_factor, factor)
    evidence = calculation.evidence
    if evidence is not None:
        encoded = _encoded_if_met_before(evidence, _encoded_evidence)
        if encoded is not None:
            message.MergeFromString(encoded)
        else:
            _set_evidence(message.evidence, evidence)
    return message


#: Pieces of results met before, by id(), with their encoding once met a second time. Each entry
#: holds its piece, so that no other object takes its id while it is here.
_MET: dict[int, tuple[object, bytes | None]] = {}
#: Entries kept at most; then the table starts afresh.
_MET_LIMIT = 4096


def _encoded_if_met_before(piece: Any, encode: Callable[[Any], bytes]) -> bytes | None:
    """The bytes that merge `piece` into a Calculation message if the same object was met before,
    else None (and it is remembered). Results share their pieces: a configuration's factors
    across slider moves, a setup's fixed factors and evidence band across configurations."""
    key = id(piece)
    met = _MET.get(key)
    if met is None or met[0] is not piece:
        if len(_MET) >= _MET_LIMIT:
            _MET.clear()
        _MET[key] = (piece, None)
        return None
    encoded = met[1]
    if encoded is None:
        encoded = encode(piece)
        _MET[key] = (piece, encoded)
    return encoded


def _add_factor(add: Any, factor: Factor) -> None:
    add(name=factor.name, value=factor.value, multiplier=factor.multiplier, explanation=factor.explanation)


def _set_evidence(message: pb.Evidence, evidence: Evidence) -> None:
    for name in _EVIDENCE_SCALARS:
        setattr(message, name, getattr(evidence, name))
    message.sources.extend(evidence.sources)


def _encoded_factors(factors: Factor | Sequence[Factor]) -> bytes:
    """The bytes that append `factors` (or one factor) to a Calculation message's factors when merged."""
    shell = pb.Calculation()
    add = shell.factors.add
    for factor in (factors,) if isinstance(factors, Factor) else factors:
        _add_factor(add, factor)
    return shell.SerializeToString()


def _encoded_evidence(evidence: Evidence) -> bytes:
    """The bytes that set a Calculation message's evidence when merged."""
    shell = pb.Calculation()
    _set_evidence(shell.evidence, evidence)
    return shell.SerializeToString()


def calculation_to_dict(calculation: Calculation) -> dict[str, Any]:
    """JSON-ready statistics, as the profile store keeps them."""
    values = {name: getattr(calculation, name) for name in _CALCULATION_FIELDS}
    values["warnings"] = list(calculation.warnings)
    values["factors"] = [dataclasses.asdict(factor) for factor in calculation.factors]
    if calculation.evidence is not None:
        evidence = dataclasses.asdict(calculation.evidence)
        evidence["sources"] = list(evidence["sources"])
        values["evidence"] = evidence
    return values


def calculation_from_dict(values: Mapping[str, Any]) -> pb.Calculation:
    message = pb.Calculation(**{name: values[name] for name in _CALCULATION_FIELDS if name in values})
    message.factors.extend(pb.Factor(**factor) for factor in values.get("factors", ()))
    if values.get("evidence"):
        message.evidence.CopyFrom(pb.Evidence(**values["evidence"]))
    return message


def outcome_from_proto(value: int) -> Outcome:
    """The engine's Outcome of a proto enum value (ValueError for a number the enum lacks)."""
    name = pb.Outcome.Name(value)  # proto3 keeps numbers the enum lacks: refuse them here
    return Outcome.UNSPECIFIED if value == pb.OUTCOME_UNSPECIFIED else Outcome[name]


def outcome_to_proto(outcome: Outcome) -> pb.Outcome:
    return pb.OUTCOME_UNSPECIFIED if outcome is Outcome.UNSPECIFIED else getattr(pb, outcome.name)


def curves_to_proto(schedule: ScheduleCurve, scores: ScoreCurve, calculation: Calculation) -> pb.Curves:
    return pb.Curves(
        steps=schedule.steps,
        multipliers=schedule.multipliers,
        offsets=scores.offsets,
        stability=scores.stability,
        efficiency=scores.efficiency,
        calculation=calculation_to_proto(calculation),
    )


def timestamp(moment: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(moment)
    return stamp


# --- Catalog -------------------------------------------------------------------


def _range_to_proto(field: str, accepted: catalog.NumberRange) -> pb.InputRange:
    return pb.InputRange(
        field=field,
        kind=accepted.kind,
        minimum=accepted.minimum,
        maximum=accepted.maximum,
        minimum_exclusive=accepted.minimum_exclusive,
        maximum_exclusive=accepted.maximum_exclusive,
        description=accepted.describe(),
    )


def _parameter_to_proto(use: catalog.ScheduleParameterUse) -> pb.ScheduleParameterInfo:
    spec = catalog.SCHEDULE_PARAMETERS[use.name]
    message = pb.ScheduleParameterInfo(
        name=use.name, description=spec.description, required=use.required, default_text=use.describe_default()
    )
    if use.default is not None:
        message.default_value = use.default
    if spec.accepted is not None:
        message.accepted.CopyFrom(_range_to_proto(use.name, spec.accepted))
    return message


def _schedule_to_proto(schedule: catalog.Schedule) -> pb.ScheduleInfo:
    return pb.ScheduleInfo(
        id=schedule.id,
        display_name=schedule.display_name,
        aliases=schedule.aliases,
        description=schedule.description,
        parameters=[_parameter_to_proto(use) for use in schedule.parameters],
        takes_warmup=schedule.takes_warmup,
    )


@cache
def catalog_to_proto() -> pb.Catalog:
    """The whole catalog as one message (built once: the catalog is constant)."""
    return pb.Catalog(
        models=[
            pb.ModelInfo(
                id=model.id,
                display_name=model.display_name,
                aliases=model.aliases,
                native_resolution=model.native_resolution,
                # Models without LRTool 1.0 constants (calibrated formula set only) leave these unset.
                base_energy=model.base_energy or 0.0,
                arch=model.arch.id if model.arch else "",
                fragility=model.arch.fragility if model.arch else 0.0,
                resolution_exponent=model.arch.resolution_exponent if model.arch else 0.0,
                family=model.family_id,
            )
            for model in catalog.MODELS
        ],
        architectures=[
            pb.ArchitectureInfo(
                id=arch.id,
                display_name=arch.display_name,
                fragility=arch.fragility,
                resolution_exponent=arch.resolution_exponent,
            )
            for arch in catalog.ARCHITECTURES
        ],
        optimizers=[
            pb.OptimizerInfo(
                id=o.id, display_name=o.display_name, aliases=o.aliases, modifier=o.modifier or 0.0, family=o.family
            )
            for o in catalog.OPTIMIZERS
        ],
        objectives=[
            pb.ObjectiveInfo(
                id=o.id,
                display_name=o.display_name,
                aliases=o.aliases,
                energy_modifier=o.energy_modifier,
                overshoot_sensitivity=o.overshoot_sensitivity,
            )
            for o in catalog.OBJECTIVES
        ],
        trainers=[
            pb.TrainerInfo(
                id=trainer.id,
                display_name=trainer.display_name,
                aliases=trainer.aliases,
                description=trainer.description,
                schedules=[_schedule_to_proto(schedule) for schedule in trainer.schedules],
                refused_schedules=[
                    pb.RefusedScheduleInfo(id=r.id, display_name=r.display_name, aliases=r.aliases, reason=r.reason)
                    for r in trainer.refused_schedules
                ],
            )
            for trainer in catalog.TRAINERS
        ],
        formula_sets=[
            pb.FormulaSetInfo(
                id=formula.id,
                display_name=formula.display_name,
                aliases=formula.aliases,
                description=formula.description,
                uses_trainer=formula.uses_trainer,
                schedules=[]
                if formula.uses_trainer
                else [_schedule_to_proto(schedule) for schedule in catalog.LRTOOL_1_0_SCHEDULES],
            )
            for formula in catalog.FORMULA_SETS
        ],
        input_ranges=[_range_to_proto(field, accepted) for field, accepted in catalog.INPUT_RANGES.items()],
        field_help=[pb.FieldHelp(field=field, help=text) for field, text in catalog.FIELD_HELP.items()],
        networks=[
            pb.NetworkInfo(id=n.id, display_name=n.display_name, aliases=n.aliases, description=n.description)
            for n in catalog.NETWORKS
        ],
        default_network=catalog.DEFAULT_NETWORK,
        model_name_qualifiers=catalog.MODELS.qualifiers.pattern if catalog.MODELS.qualifiers else "",
        default_formula=catalog.DEFAULT_FORMULA,
        default_trainer=catalog.DEFAULT_TRAINER,
        bands=pb.Bands(
            stability_safe=catalog.STABILITY_SAFE,
            stability_caution=catalog.STABILITY_CAUTION,
            efficiency_optimal=catalog.EFFICIENCY_OPTIMAL,
            efficiency_suboptimal=catalog.EFFICIENCY_SUBOPTIMAL,
        ),
    )
