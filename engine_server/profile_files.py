"""LRTool 1.0 profile files: read the JSON files the original desktop program saved, and write them back.

A profile file is one JSON object (docs/api.md, ExportProfile / ImportProfile)::

    {"meta": {"app": "LRTool", "version": "1.0.0"},
     "configuration": {"steps": "2000", "batch": "1", ..., "warmup": "10%", "slider_offset": 0.0},
     "statistics": {"recommended_lr": ..., ...}}

The configuration holds the original's text boxes as strings, its display names and a warmup percentage
(LRTool 1.0 offered 0, 5, 10, 15, 20 and 25 %). It reads as formula set ``lrtool-1.0`` so the saved
numbers reproduce exactly.

A configuration LRTool 1.0 cannot express (formula ``energy``, a trainer's schedule, warmup in steps or
not one of its percentages, schedule parameters) is still written in that format, as near as it goes, so
LRTool 1.0 opens it; the exact fields go under an extra top-level key ``"lrtool": {"config": {...}}``,
which `read_profile_file` prefers, so LRTool round-trips its own files exactly.

Reading never lets bad input escape as anything but `ProfileFileError`, which lists every problem found
with its JSON path (``configuration.steps``; ``""`` for the file as a whole).
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine_server.engine import Calculation, ConfigError, FieldViolation, TrainingConfig
from engine_server.engine._catalog import (
    LRTOOL_1_0_SCHEDULES,
    MODELS,
    OBJECTIVES,
    OFFSET_MAX,
    OFFSET_MIN,
    OPTIMIZERS,
)
from engine_server.violations import InvalidFields

__all__ = [
    "MAX_PROFILE_FILE_BYTES",
    "ProfileFile",
    "ProfileFileError",
    "read_profile_file",
    "write_profile_file",
]

#: Larger files are refused unread.
MAX_PROFILE_FILE_BYTES = 1_048_576

#: meta.app of every LRTool profile file.
APP_NAME = "LRTool"
#: meta.version written: the format is LRTool 1.0's.
FILE_VERSION = "1.0.0"
#: The formula set an LRTool 1.0 configuration block reads as.
LRTOOL_1_0_FORMULA = "lrtool-1.0"
#: The warmup percentages LRTool 1.0 offered.
WARMUP_CHOICES = (0, 5, 10, 15, 20, 25)
#: The top-level key holding a configuration LRTool 1.0 cannot express.
EXTENSION_KEY = "lrtool"

#: LRTool 1.0's configuration keys, in the order it wrote them, with an example of each.
_EXAMPLES: Mapping[str, str] = {
    "steps": '"2000"',
    "batch": '"1"',
    "grad_accum": '"1"',
    "images": '"40"',
    "rank": '"32"',
    "alpha": '"16" or "0.5"',
    "resolution": '"1024"',
    "model": '"SDXL"',
    "objective": '"Character"',
    "optimizer": '"AdamW"',
    "scheduler": '"Cosine"',
    "warmup": '"10%"',
    "slider_offset": "0.0",
}
_CONFIGURATION_KEYS = tuple(_EXAMPLES)

#: Configuration keys holding whole numbers, and the TrainingConfig field each becomes.
_WHOLE_NUMBER_KEYS: Mapping[str, str] = {
    "steps": "steps",
    "batch": "batch_size",
    "grad_accum": "grad_accum",
    "images": "images",
    "rank": "rank",
    "resolution": "resolution",
}
_NAME_KEYS: Mapping[str, str] = {
    "model": "model",
    "objective": "objective",
    "optimizer": "optimizer",
    "scheduler": "scheduler",
}
#: TrainingConfig field → the configuration key it came from.
_KEY_OF_FIELD: Mapping[str, str] = {
    **{field: key for key, field in _WHOLE_NUMBER_KEYS.items()},
    **{field: key for key, field in _NAME_KEYS.items()},
    "alpha": "alpha",
    "warmup_fraction": "warmup",
}
#: Valid stand-ins for fields that failed to parse, so the remaining fields are still checked by
#: TrainingConfig (LRTool 1.0's schedules take no parameters, so no stand-in can cause a problem).
_STAND_INS: Mapping[str, Any] = {
    "steps": 1000,
    "batch_size": 1,
    "grad_accum": 1,
    "images": 1,
    "rank": 1,
    "alpha": 1.0,
    "resolution": 1024,
    "model": "sdxl",
    "objective": "character",
    "optimizer": "adamw",
    "scheduler": "constant",
    "warmup_fraction": 0.0,
}
#: Longer names are refused before the catalog sees them (and error messages stay short).
_MAX_NAME_LENGTH = 100
#: The name fields of a configuration given in the extension.
_EXTENSION_NAME_FIELDS = frozenset({"model", "optimizer", "objective", "formula", "trainer", "scheduler"})

#: The statistics LRTool 1.0 saved, in its order; other keys follow.
#: Statistics LRTool 1.0 never had: recomputed whenever a profile loads, so not written to files.
_NOT_IN_FILES = (
    "population_lr",
    "personal_factor",
    "personal_runs",
    "recommended_low",
    "recommended_high",
    "evidence",
    "factors",
)
_STATISTICS_ORDER = (
    "recommended_lr",
    "adjusted_lr",
    "base_lr",
    "target_energy",
    "delivered_energy",
    "energy_ratio",
    "deviation",
    "effective_batch",
    "exposure",
    "capacity",
    "resolution_scale",
    "scheduler_factor",
    "optimizer_modifier",
    "warmup_fraction",
    "warmup_steps",
    "curvature_factor",
    "objective_sensitivity",
    "undershoot_k",
    "overshoot_k",
    "stability_score",
    "efficiency_score",
    "risk_band",
    "efficiency_band",
)

#: A trainer's schedule → the nearest LRTool 1.0 schedule, for the configuration block LRTool 1.0 reads
#: (schedules of the same id map to themselves; any other becomes Constant).
_NEAREST_LRTOOL_1_0_SCHEDULE: Mapping[str, str] = {
    "constant_with_warmup": "constant",
    "cosine_with_restarts": "cosine_restarts",
    "cosine_with_hard_restarts": "cosine_hard_restarts",
    "cosine_with_min_lr": "cosine",
    "polynomial": "linear",
    "inverse_sqrt": "adafactor",  # LRTool 1.0's Adafactor schedule is 1/√t
}

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
#: Whole numbers longer than this are refused as text (every range ends far below).
_MAX_DIGITS = 18
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


class ProfileFileError(InvalidFields):
    """A profile file that cannot be read; `violations` names every problem found.

    A violation's field is dotted from the top of the file ("configuration.steps"); "" is the file as a whole.
    """

    def __str__(self) -> str:
        return "; ".join(f"{v.field or 'profile file'}: {v.description}" for v in self.violations)


@dataclass(frozen=True, slots=True)
class ProfileFile:
    """A profile file read and checked."""

    config: dict[str, Any]  # TrainingConfig fields, ready for TrainingConfig(**config)
    offset: float  # the slider offset, −1 … +1
    statistics: dict[str, Any]  # the statistics block as saved ({} if the file has none)
    app_version: str  # meta.version ("" if the file does not say)


class _Invalid(Exception):
    """One value that cannot be read; the message says what was expected."""


# --- Reading -------------------------------------------------------------------------------------


def read_profile_file(content: bytes) -> ProfileFile:
    """Parse and check a profile file; raises `ProfileFileError` naming every problem found."""
    document = _load(content)
    problems: list[FieldViolation] = []
    app_version = _read_meta(document, problems)

    config: dict[str, Any] | None = None
    offset: float | None = None
    has_extension = EXTENSION_KEY in document
    configuration = document.get("configuration")
    if "configuration" not in document:
        problems.append(
            FieldViolation("configuration", "is missing: LRTool profile files hold the training settings there")
        )
    elif not isinstance(configuration, dict):
        problems.append(
            FieldViolation("configuration", f"must be an object of the training settings; got {_show(configuration)}")
        )
    else:
        if not has_extension:
            config = _read_configuration(configuration, problems)
        offset = _read_offset(configuration, problems)

    statistics = document.get("statistics", {})
    if not isinstance(statistics, dict):
        problems.append(
            FieldViolation("statistics", f"must be an object of the saved statistics; got {_show(statistics)}")
        )

    if has_extension:
        config = _read_extension(document[EXTENSION_KEY], problems)
        if config is not None and offset is not None and isinstance(configuration, dict):
            _check_agreement(configuration, config, offset, problems)

    if problems:
        raise ProfileFileError(problems)
    if config is None or offset is None:  # pragma: no cover - both are read or a problem is reported
        raise AssertionError
    return ProfileFile(config=config, offset=offset, statistics=statistics, app_version=app_version)


#: The configuration keys that name catalog entries, and the tables they are looked up in.
_NAMED_KEYS: Mapping[str, Any] = {
    "model": MODELS,
    "objective": OBJECTIVES,
    "optimizer": OPTIMIZERS,
    "scheduler": LRTOOL_1_0_SCHEDULES,
}


def _check_agreement(
    configuration: Mapping[str, Any], config: dict[str, Any], offset: float, problems: list[FieldViolation]
) -> None:
    """LRTool reads the extension, so an edit to the LRTool 1.0 block alone would be ignored: refuse
    a block that says something else than LRTool writes for the extension's configuration."""
    written = _configuration_block(TrainingConfig(**config), offset)
    differing = [
        f"{key} {_show(configuration[key])} here, {_show(written[key])} there"
        for key in _CONFIGURATION_KEYS
        if key != "slider_offset" and key in configuration and not _same_setting(key, configuration[key], written[key])
    ]
    if differing:
        problems.append(
            FieldViolation(
                "configuration",
                f'disagrees with "{EXTENSION_KEY}".config, which LRTool reads instead ({"; ".join(differing)}):'
                f' make the change there too, or delete the "{EXTENSION_KEY}" section to read this one',
            )
        )


def _same_setting(key: str, given: Any, written: str) -> bool:
    """Whether a value of the LRTool 1.0 block means what LRTool writes there (spelling aside)."""
    if key in _NAMED_KEYS:
        entry = _NAMED_KEYS[key].get(given) if isinstance(given, str) else None
        return entry is not None and entry is _NAMED_KEYS[key].get(written)
    try:
        return float(str(given).strip().removesuffix("%")) == float(written.removesuffix("%"))
    except ValueError:
        return False


def _load(content: bytes) -> dict[str, Any]:
    """The file's top-level JSON object, or `ProfileFileError` with the one reason it has none."""
    if isinstance(content, (bytearray, memoryview)):
        content = bytes(content)
    if not isinstance(content, bytes):
        raise ProfileFileError([FieldViolation("", f"must be given as the file's bytes; got {type(content).__name__}")])
    if len(content) > MAX_PROFILE_FILE_BYTES:
        raise ProfileFileError(
            [
                FieldViolation(
                    "",
                    f"is {len(content):,} bytes; a profile file may be at most"
                    f" {MAX_PROFILE_FILE_BYTES:,} bytes (1 MiB)",
                )
            ]
        )
    try:
        text = content.decode("utf-8-sig")  # tolerate a byte-order mark, as Windows editors add
    except UnicodeDecodeError as error:
        raise ProfileFileError(
            [
                FieldViolation(
                    "",
                    f"is not UTF-8 text (byte 0x{content[error.start]:02x} at offset {error.start:,});"
                    " a profile file is UTF-8 JSON",
                )
            ]
        ) from None
    if not text.strip():
        raise ProfileFileError([FieldViolation("", "is empty; a profile file is a JSON object")])
    try:
        document = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise ProfileFileError(
            [FieldViolation("", f"is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")]
        ) from None
    except _Invalid as error:
        raise ProfileFileError([FieldViolation("", f"is not valid JSON: {error}")]) from None
    except ValueError:  # an integer of thousands of digits
        raise ProfileFileError(
            [FieldViolation("", "is not a profile file: it holds a number too long to read")]
        ) from None
    except RecursionError:
        raise ProfileFileError([FieldViolation("", "is not a profile file: its JSON is nested too deeply")]) from None
    if not isinstance(document, dict):
        raise ProfileFileError(
            [
                FieldViolation(
                    "", f'must be a JSON object with "meta", "configuration" and "statistics"; got {_show(document)}'
                )
            ]
        )
    return document


def _refuse_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not a number JSON allows")


def _read_meta(document: Mapping[str, Any], problems: list[FieldViolation]) -> str:
    if "meta" not in document:
        return ""
    meta = document["meta"]
    example = f'{{"app": "{APP_NAME}", "version": "{FILE_VERSION}"}}'
    if not isinstance(meta, dict):
        problems.append(FieldViolation("meta", f"must be an object like {example}; got {_show(meta)}"))
        return ""
    app = meta.get("app", APP_NAME)
    if app != APP_NAME:
        problems.append(
            FieldViolation("meta.app", f'must be "{APP_NAME}": this is not an LRTool profile file; got {_show(app)}')
        )
    version = meta.get("version", "")
    if not isinstance(version, str):
        problems.append(FieldViolation("meta.version", f'must be text like "{FILE_VERSION}"; got {_show(version)}'))
        return ""
    return version


def _read_offset(configuration: Mapping[str, Any], problems: list[FieldViolation]) -> float | None:
    path = "configuration.slider_offset"
    if "slider_offset" not in configuration:
        problems.append(
            FieldViolation(
                path, f"is missing: the learning-rate slider, a number from -1 to 1 like {_EXAMPLES['slider_offset']}"
            )
        )
        return None
    value = configuration["slider_offset"]
    example = _EXAMPLES["slider_offset"]
    message = f"must be a number from -1 to 1 (the learning-rate slider) like {example}; got {_show(value)}"
    try:
        offset = _decimal(value)
    except _Invalid:
        problems.append(FieldViolation(path, message))
        return None
    if not OFFSET_MIN <= offset <= OFFSET_MAX:
        problems.append(FieldViolation(path, message))
        return None
    return offset + 0.0  # -0.0 → 0.0


def _read_configuration(configuration: Mapping[str, Any], problems: list[FieldViolation]) -> dict[str, Any] | None:
    """LRTool 1.0's configuration block as TrainingConfig fields (formula lrtool-1.0), checked by the engine."""
    found: dict[str, str] = {}  # configuration key → problem
    fields: dict[str, Any] = {}
    for key in _CONFIGURATION_KEYS:
        if key == "slider_offset":
            continue  # read by _read_offset
        if key not in configuration:
            found[key] = f"is missing: {_help(key)}, given like {_EXAMPLES[key]}"
            continue
        value = configuration[key]
        try:
            if key in _WHOLE_NUMBER_KEYS:
                fields[_WHOLE_NUMBER_KEYS[key]] = _whole_number(value, key)
            elif key in _NAME_KEYS:
                fields[_NAME_KEYS[key]] = _name(value, key)
            elif key == "alpha":
                fields["alpha"] = _alpha(value)
            else:
                fields["warmup_fraction"] = _warmup_percent(value) / 100
        except _Invalid as error:
            found[key] = str(error)
    fields["formula"] = LRTOOL_1_0_FORMULA

    # Names and ranges are the engine's to check; broken fields get stand-ins so the others are checked too.
    stand_ins = {field: value for field, value in _STAND_INS.items() if field not in fields}
    try:
        TrainingConfig(**stand_ins, **fields)
    except ConfigError as error:
        for violation in error.violations:
            source = _KEY_OF_FIELD.get(violation.field)
            if source is None:
                found.setdefault("", f"{violation.field}: {violation.description}")
            elif source not in found:
                found[source] = violation.description
    for key in ("", *_CONFIGURATION_KEYS):
        if key in found:
            problems.append(FieldViolation(f"configuration.{key}" if key else "configuration", found[key]))
    return None if found else fields


def _read_extension(extension: Any, problems: list[FieldViolation]) -> dict[str, Any] | None:
    """LRTool's exact configuration, written where LRTool 1.0 could not express it."""
    if not isinstance(extension, dict):
        problems.append(
            FieldViolation(
                EXTENSION_KEY, f'must be an object {{"config": {{...}}}} as LRTool writes it; got {_show(extension)}'
            )
        )
        return None
    path = f"{EXTENSION_KEY}.config"
    if "config" not in extension:
        problems.append(FieldViolation(path, "is missing: the training configuration's fields"))
        return None
    config = extension["config"]
    if not isinstance(config, dict):
        problems.append(
            FieldViolation(path, f"must be an object of training configuration fields; got {_show(config)}")
        )
        return None
    refused: dict[str, str] = {}  # field → problem, for fields the engine is not given
    for key, value in config.items():
        if key not in TrainingConfig.model_fields:
            accepted = ", ".join(TrainingConfig.model_fields)
            refused[key] = f"is not a configuration field; accepted fields: {accepted}"
        elif key in _EXTENSION_NAME_FIELDS and isinstance(value, str) and len(value) > _MAX_NAME_LENGTH:
            refused[key] = f"must be a name from the catalog; got {_show(value)} ({len(value):,} characters)"
    checked = {key: value for key, value in config.items() if key not in refused}
    found: list[FieldViolation] = [FieldViolation(f"{path}.{_short(key)}", message) for key, message in refused.items()]
    try:
        TrainingConfig(**checked)
    except ConfigError as error:
        found.extend(
            FieldViolation(_under(path, violation), violation.description, violation.accepted)
            for violation in error.violations
            if violation.field not in refused
        )
    problems.extend(found)
    return None if found else dict(config)


def _under(path: str, violation: FieldViolation) -> str:
    return path if violation.field == "config" else f"{path}.{violation.field}"


def _whole_number(value: Any, key: str) -> int:
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and len(value) <= 1000 and _WHOLE_NUMBER.fullmatch(value.strip()):
        number = int(value.strip())
    if number is None:
        raise _Invalid(f"must be a whole number like {_EXAMPLES[key]}; got {_show(value)}")
    if abs(number) >= 10**_MAX_DIGITS:  # far outside every range: say so here, briefly
        raise _Invalid(
            f"must be a whole number like {_EXAMPLES[key]}, of at most {_MAX_DIGITS} digits; got {_show(value)}"
        )
    return number


def _decimal(value: Any) -> float:
    """A finite number, given as a JSON number or as text ("16", "0.5", "1e-3")."""
    number: float
    if isinstance(value, bool):
        raise _Invalid
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise _Invalid from None
    elif isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
        number = float(value.strip())
    else:
        raise _Invalid
    if not math.isfinite(number):
        raise _Invalid
    return number


def _alpha(value: Any) -> float:
    try:
        return _decimal(value)
    except _Invalid:
        raise _Invalid(f"must be a number like {_EXAMPLES['alpha']}; got {_show(value)}") from None


def _warmup_percent(value: Any) -> float:
    choices = ", ".join(f"{choice}%" for choice in WARMUP_CHOICES)
    try:
        percent = _decimal(value.strip().removesuffix("%") if isinstance(value, str) else value)
    except _Invalid:
        raise _Invalid(f'must be a percentage like "10%" (LRTool 1.0 offered {choices}); got {_show(value)}') from None
    if percent not in WARMUP_CHOICES:
        hint = ' (a plain number is a percentage: "10" or "10%" is a tenth of the steps)' if 0 < percent < 1 else ""
        raise _Invalid(f"must be one of LRTool 1.0's warmup choices {choices}; got {_show(value)}{hint}")
    return percent + 0.0  # -0.0 → 0.0


def _name(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _Invalid(f"must be {_help(key)} as text like {_EXAMPLES[key]}; got {_show(value)}")
    if len(value) > _MAX_NAME_LENGTH:
        raise _Invalid(f"must be {_help(key)} like {_EXAMPLES[key]}; got {_show(value)} ({len(value):,} characters)")
    return value


def _help(key: str) -> str:
    return {
        "steps": "the total optimizer steps",
        "batch": "the batch size",
        "grad_accum": "the gradient accumulation steps",
        "images": "the number of images",
        "rank": "the LoRA rank",
        "alpha": "the LoRA alpha",
        "resolution": "the training resolution in pixels",
        "model": "a model name",
        "objective": "an objective name",
        "optimizer": "an optimizer name",
        "scheduler": "a scheduler name",
        "warmup": "the warmup percentage",
        "slider_offset": "the learning-rate slider",
    }[key]


def _short(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _show(value: Any) -> str:
    """A value as it appears in the file, shortened for a message."""
    if isinstance(value, str):
        return json.dumps(_short(value))
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, int):
        text = str(value) if value.bit_length() < 200 else "a number of many digits"
        return _short(text)
    if isinstance(value, float):
        return json.dumps(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- Writing -------------------------------------------------------------------------------------


def write_profile_file(config: TrainingConfig, offset: float, statistics: Calculation | dict[str, Any]) -> bytes:
    """A profile file LRTool 1.0 opens, holding `config`, the slider `offset` and the statistics.

    A configuration LRTool 1.0 cannot express is written as near as it goes, with the exact fields
    under the top-level key "lrtool" (read back by `read_profile_file`). Raises `ConfigError` for an
    offset outside −1 … +1.
    """
    if not isinstance(config, TrainingConfig):
        raise TypeError(f"config must be a TrainingConfig; got {type(config).__name__}")
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not OFFSET_MIN <= offset <= OFFSET_MAX:
        raise ConfigError([FieldViolation("offset", f"must be a number from -1 to 1; got {offset!r}")])
    offset = float(offset) + 0.0

    configuration = _configuration_block(config, offset)
    document: dict[str, Any] = {
        "meta": {"app": APP_NAME, "version": FILE_VERSION},
        "configuration": configuration,
        "statistics": _statistics_block(config, statistics),
    }
    if not _expresses(configuration, config):
        document[EXTENSION_KEY] = {"config": config.model_dump(exclude_none=True)}
    content = json.dumps(document, indent=4, allow_nan=False).encode("utf-8")
    if len(content) > MAX_PROFILE_FILE_BYTES:
        raise ProfileFileError(
            [
                FieldViolation(
                    "",
                    f"would be {len(content):,} bytes; a profile file may be at most {MAX_PROFILE_FILE_BYTES:,} bytes",
                )
            ]
        )
    return content


def _configuration_block(config: TrainingConfig, offset: float) -> dict[str, Any]:
    """The configuration as LRTool 1.0 wrote it: text as in its boxes, display names, warmup in %."""
    if config.warmup_fraction is not None:
        percent = config.warmup_fraction * 100
    elif config.warmup_steps is not None:
        percent = config.warmup_steps / config.steps * 100
    else:
        percent = 0.0
    return {
        "steps": str(config.steps),
        "batch": str(config.batch_size),
        "grad_accum": str(config.grad_accum),
        "images": str(config.images),
        "rank": str(config.rank),
        "alpha": _number_text(config.alpha),
        "resolution": str(config.resolution),
        "model": MODELS.by_id(config.model).display_name,
        "objective": OBJECTIVES.by_id(config.objective).display_name,
        "optimizer": OPTIMIZERS.by_id(config.optimizer).lrtool_1_0_name
        or OPTIMIZERS.by_id(config.optimizer).display_name,
        "scheduler": _lrtool_1_0_schedule_name(config),
        "warmup": f"{_nearest_warmup_choice(percent)}%",
        "slider_offset": offset,
    }


def _nearest_warmup_choice(percent: float) -> int:
    """round(percent), or the nearest percentage LRTool 1.0 offered if it is not one (then the exact
    warmup goes into the extension)."""
    return min(WARMUP_CHOICES, key=lambda choice: abs(choice - round(percent)))


def _number_text(value: float) -> str:
    """16.0 → "16", 0.5 → "0.5": as typed into LRTool 1.0 (and read back exactly)."""
    return str(int(value)) if value.is_integer() else repr(value)


def _lrtool_1_0_schedule_name(config: TrainingConfig) -> str:
    schedule = config.resolved.schedule
    if config.resolved.formula.id == LRTOOL_1_0_FORMULA:
        return schedule.display_name
    nearest = LRTOOL_1_0_SCHEDULES.get(_NEAREST_LRTOOL_1_0_SCHEDULE.get(schedule.id, schedule.id))
    return (nearest or LRTOOL_1_0_SCHEDULES.by_id("constant")).display_name


def _expresses(configuration: Mapping[str, Any], config: TrainingConfig) -> bool:
    """Whether reading the configuration block back gives `config` (up to spelling of names)."""
    problems: list[FieldViolation] = []
    fields = _read_configuration(configuration, problems)
    if fields is None:
        return False
    return _canonical(TrainingConfig(**fields)) == _canonical(config)


def _canonical(config: TrainingConfig) -> dict[str, Any]:
    fields = config.model_dump(exclude_none=True)
    fields["scheduler"] = config.resolved.schedule.id
    if "warmup_fraction" not in fields and "warmup_steps" not in fields:
        fields["warmup_fraction"] = 0.0  # no warmup given means none
    return fields


def _statistics_block(config: TrainingConfig, statistics: Calculation | dict[str, Any]) -> dict[str, Any]:
    """The statistics as LRTool 1.0 saved them: the calculation plus base_lr and warmup_fraction."""
    if isinstance(statistics, Calculation):
        given = dataclasses.asdict(statistics)
    elif isinstance(statistics, dict):
        given = dict(statistics)
    else:
        raise TypeError(f"statistics must be a Calculation or a dict; got {type(statistics).__name__}")
    for key in ("warnings", *_NOT_IN_FILES):
        given.pop(key, None)
    if "base_lr" not in given and "recommended_lr" in given:
        given["base_lr"] = given["recommended_lr"]
    if "warmup_fraction" not in given:
        if config.warmup_fraction is not None:
            given["warmup_fraction"] = config.warmup_fraction
        elif config.warmup_steps is not None:
            given["warmup_fraction"] = config.warmup_steps / config.steps
        else:
            given["warmup_fraction"] = 0.0
    ordered = {key: given.pop(key) for key in _STATISTICS_ORDER if key in given}
    return ordered | given
