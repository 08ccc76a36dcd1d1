"""Trainer configuration files: import a run's settings from them, export a chosen learning rate into them.

Formats (auto-detected, or named): kohya sd-scripts `--config_file` TOML with its `--dataset_config`
TOML ("sd-scripts"), the kohya_ss GUI's JSON ("kohya_ss"), ai-toolkit's YAML or JSON ("ai-toolkit"),
OneTrainer's JSON ("onetrainer"; presets are partial, absent keys take OneTrainer's defaults) and
musubi-tuner's TOML with its dataset TOML ("musubi-tuner").

`import_trainer_config` maps a file to TrainingConfig fields by the trainer's own rules and sets the
trainer whose schedule curves the energy formula integrates. What the file cannot say (the image
count, the objective, a model LRTool has no calibration for) is listed in `missing_fields` with a
warning saying what to supply and, for a number, the range accepted; it is never guessed.
`overrides` supply those fields.

`images` is the number of distinct training images and `repeats` the passes over each per epoch,
two fields as TrainingConfig has them: readers fill `repeats` from the dataset settings that say it
and ask for it where the file does not hold it (kohya's DreamBooth folder names), and never fold
repeats into `images`. Steps a trainer counts from epochs use images × repeats, as the trainer does.

`export_trainer_config` returns the same file with the learning rate set: the U-Net / DiT LoRA's rate
to the chosen one (divided by OneTrainer's learning-rate scale), other rates (text encoders) in
proportion, and every other byte as it was.

Files above `MAX_CONFIG_BYTES`, malformed files, YAML with object tags or alias bombs, and values of
the wrong type raise `TrainerConfigError`, naming the key or line at fault.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from engine_server.engine import TrainingConfig, catalog
from engine_server.engine._cancel import raise_if_stopped
from engine_server.name_matching import name_key

from ..violations import FieldViolation
from . import _ai_toolkit, _detect, _kohya, _kohya_gui, _musubi, _onetrainer
from ._common import (
    MAX_CONFIG_BYTES,
    Draft,
    Edit,
    FoundLearningRate,
    ImportedConfig,
    TrainerConfigError,
    check_size,
    decode,
    render_path,
    show,
    to_float,
    to_int,
)

__all__ = [
    "FORMATS",
    "MAX_CONFIG_BYTES",
    "FoundLearningRate",
    "ImportedConfig",
    "TrainerConfigError",
    "detect_format",
    "export_trainer_config",
    "import_trainer_config",
    "written_rate",
]

FORMATS = ("sd-scripts", "kohya_ss", "ai-toolkit", "onetrainer", "musubi-tuner")

Reader = Callable[[Any, Any, Draft], None]


@dataclass(frozen=True)
class _Format:
    name: str
    syntaxes: tuple[str, ...]
    read: Reader
    dataset_syntax: str | None  # the syntax of its dataset file (None: it has none)


_FORMATS: Mapping[str, _Format] = {
    entry.name: entry
    for entry in (
        _Format("sd-scripts", ("toml",), _kohya.read, "toml"),
        _Format("kohya_ss", ("json",), _kohya_gui.read, "toml"),
        _Format("ai-toolkit", ("yaml", "json"), _ai_toolkit.read, None),
        _Format("onetrainer", ("json",), _onetrainer.read, "json"),
        _Format("musubi-tuner", ("toml",), _musubi.read, "toml"),
    )
}

_FORMAT_NAMES = {name_key(name): name for name in FORMATS} | {
    name_key(alias): name
    for alias, name in (
        ("kohya", "sd-scripts"),
        ("kohya-ss gui", "kohya_ss"),
        ("kohya gui", "kohya_ss"),
        ("ostris", "ai-toolkit"),
        ("musubi", "musubi-tuner"),
    )
}

#: Every TrainingConfig field and the Python type a value of it has ("int", "float" or "str").
FIELD_KINDS: Mapping[str, str] = {
    name: catalog.INPUT_RANGES[name].kind if name in catalog.INPUT_RANGES else "str"
    for name in TrainingConfig.model_fields
}

_OBJECTIVE_HINT = "a trainer file does not say what the LoRA should learn; choose one of " + ", ".join(
    objective.display_name for objective in catalog.OBJECTIVES
)


@dataclass(frozen=True)
class _Opened:
    entry: _Format
    syntax: str
    bom: str
    text: str
    data: Any


def _open(content: bytes, filename: str, format: str) -> _Opened:
    check_size(content, "file")
    bom, text = decode(content, "the file")
    raise_if_stopped()  # each parse below is bounded, but the caller may already have given up
    entry = _named_format(format) if format else None
    if entry is None:
        syntax = _detect.syntax_of(text, filename)
    elif len(entry.syntaxes) == 1:
        syntax = entry.syntaxes[0]
    else:  # ai-toolkit reads YAML and JSON
        syntax = "json" if text.lstrip().startswith("{") else entry.syntaxes[0]
    data = _detect.SYNTAXES[syntax].load(text)
    raise_if_stopped()
    if entry is None:
        entry = _FORMATS[_detect.trainer_of(syntax, data)]
    return _Opened(entry, syntax, bom, text, data)


def _named_format(format: str) -> _Format:
    name = _FORMAT_NAMES.get(name_key(format))
    if name is None:
        raise TrainerConfigError.one("format", f"unknown format {show(format)}; accepted: {', '.join(FORMATS)}")
    return _FORMATS[name]


def detect_format(content: bytes, filename: str = "") -> str:
    """The trainer a configuration file belongs to (one of FORMATS); TrainerConfigError when unknown."""
    return _open(content, filename, "").entry.name


def import_trainer_config(
    content: bytes,
    filename: str = "",
    format: str = "",
    *,
    dataset_content: bytes = b"",
    dataset_filename: str = "",
    overrides: Mapping[str, Any] | None = None,
) -> ImportedConfig:
    """The TrainingConfig fields, learning rates and gaps of a trainer configuration file.

    `dataset_content` is the dataset file the config refers to (sd-scripts', the kohya_ss GUI's and
    musubi-tuner's `dataset_config` TOML, OneTrainer's concepts JSON); `dataset_filename` is checked
    against the name the config gives it. `overrides` (TrainingConfig fields the user supplies, e.g.
    the image count and the objective) replace what the file says and fill what it cannot; values that
    depend on them (steps counted from epochs) follow. Ranges are not checked here: build a
    TrainingConfig from `config` for that.
    """
    opened = _open(content, filename, format)
    dataset = _dataset(opened.entry, dataset_content)
    draft = Draft(opened.entry.name)
    opened.entry.read(opened.data, dataset, draft)
    if dataset_content and opened.entry.dataset_syntax is None:
        draft.warn(f"{opened.entry.name} has no separate dataset file; the one given was not read")
    named = PurePath(draft.dataset_name.replace("\\", "/")).name
    if dataset_content and dataset_filename and named and named != PurePath(dataset_filename).name:
        draft.warn(f"the config names the dataset file {show(named)}, but {show(dataset_filename)} was given")
    draft.raise_problems()
    _apply_overrides(draft, overrides or {})
    for finalize in draft.finalizers:
        finalize(draft)
    if "objective" not in draft.config:
        draft.miss("objective", _OBJECTIVE_HINT)
    missing = tuple(name for name in FIELD_KINDS if name in draft.hints and name not in draft.config)
    hints = [f"{name}: {draft.hints[name]}{_accepted(name)}" for name in missing]
    rates = sorted((rate for rate in draft.rates if rate.value > 0), key=lambda rate: not rate.primary)
    return ImportedConfig(
        format=opened.entry.name,
        config={name: draft.config[name] for name in FIELD_KINDS if name in draft.config},
        learning_rates=tuple(FoundLearningRate(render_path(rate.path), rate.value) for rate in rates),
        missing_fields=missing,
        warnings=tuple(draft.warnings + hints),
        learning_rate_scale=draft.scale,
    )


def _accepted(name: str) -> str:
    """What a missing number field accepts, for its hint ("; accepted: an integer from 1 to 10,000")."""
    accepted = catalog.INPUT_RANGES.get(name)
    return f"; accepted: {accepted.describe()}" if accepted is not None else ""


def _dataset(entry: _Format, content: bytes) -> Any:
    if not content or entry.dataset_syntax is None:
        return None
    check_size(content, "dataset file")
    _, text = decode(content, "the dataset file")
    raise_if_stopped()
    try:
        return _detect.SYNTAXES[entry.dataset_syntax].load(text)
    except TrainerConfigError as error:
        raise TrainerConfigError(
            FieldViolation(f"dataset {v.field}".strip(), v.description) for v in error.violations
        ) from None


def _apply_overrides(draft: Draft, overrides: Mapping[str, Any]) -> None:
    problems: list[FieldViolation] = []
    for name, value in overrides.items():
        kind = FIELD_KINDS.get(name)
        if kind is None:
            problems.append(
                FieldViolation(f"overrides.{name}", f"is not a configuration field; accepted: {', '.join(FIELD_KINDS)}")
            )
            continue
        if value is None:
            draft.config.pop(name, None)
        else:
            converted = _converted(kind, value)
            if converted is None:
                expected = {"int": "a whole number", "float": "a finite number", "str": "text"}[kind]
                problems.append(FieldViolation(f"overrides.{name}", f"must be {expected}; got {show(value)}"))
                continue
            draft.config[name] = converted
        draft.hints.pop(name, None)
        draft.overridden.add(name)
    if problems:
        raise TrainerConfigError(problems)
    _to_catalog_ids(draft.config, overrides)
    # Warmup is one of two fields: the one the user gave replaces the one the file gave.
    for given, other in (("warmup_steps", "warmup_fraction"), ("warmup_fraction", "warmup_steps")):
        if overrides.get(given) is not None and other not in overrides:
            draft.config.pop(other, None)


_NAMED: Mapping[str, catalog.NamedTable[Any]] = {
    "model": catalog.MODELS,
    "optimizer": catalog.OPTIMIZERS,
    "objective": catalog.OBJECTIVES,
    "formula": catalog.FORMULA_SETS,
    "trainer": catalog.TRAINERS,
    "network": catalog.NETWORKS,
}


def _to_catalog_ids(config: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """Names the user typed ("SDXL", "AdamW8bit") as catalog ids, like the names read from files.

    A name the catalog does not know is left as typed, for TrainingConfig to reject with the accepted names.
    """
    for name, table in _NAMED.items():
        entry = table.get(config[name]) if name in overrides and name in config else None
        if entry is not None:
            config[name] = entry.id
    formula = catalog.FORMULA_SETS.get(str(config.get("formula", catalog.DEFAULT_FORMULA)))
    trainer = catalog.TRAINERS.get(str(config.get("trainer", catalog.DEFAULT_TRAINER)))
    if "scheduler" in overrides and "scheduler" in config and formula is not None and trainer is not None:
        schedule = catalog.schedules_for(formula, trainer).get(config["scheduler"])
        if schedule is not None:
            config["scheduler"] = schedule.id


def _converted(kind: str, value: Any) -> Any:
    if kind == "str":
        return value if isinstance(value, str) else None
    if isinstance(value, bool):
        return None
    return to_int(value) if kind == "int" else to_float(value)


#: Significant digits of a rate written into a trainer file: finer than any trainer's rate
#: matters, and every rate of a file written the same way (2.53e-4, not 2.5299254315468416e-4).
WRITTEN_RATE_DIGITS = 4


def written_rate(value: float) -> float:
    """A learning rate as LRTool writes it into a trainer file."""
    return float(f"{value:.{WRITTEN_RATE_DIGITS}g}")


def export_trainer_config(content: bytes, filename: str = "", format: str = "", *, learning_rate: float) -> bytes:
    """The same file with its learning rate set so the trainer trains the U-Net / DiT LoRA at `learning_rate`.

    Text-encoder and other rates keep their proportion to it; every other byte is kept.
    """
    rate = to_float(learning_rate)
    if rate is None or rate <= 0:
        raise TrainerConfigError.one("learning_rate", f"must be a finite number above 0; got {show(learning_rate)}")
    opened = _open(content, filename, format)
    draft = Draft(opened.entry.name)
    opened.entry.read(opened.data, None, draft)
    draft.raise_problems()
    target = written_rate(rate / draft.scale)
    primaries = [field for field in draft.rates if field.primary]
    current = next((field.value for field in primaries if field.value > 0), 0.0)
    edits: list[Edit] = []
    for field in draft.rates:
        if field.primary:
            edits.append(Edit(field.path, target))
        elif field.value > 0 and current > 0:
            edits.append(Edit(field.path, written_rate(field.value * target / current)))
    if not primaries:
        if draft.primary_home is None:
            raise TrainerConfigError.one("", "the file has no learning-rate setting to change")
        edits.append(Edit(draft.primary_home, target, insert=True))
    raise_if_stopped()
    return (opened.bom + _detect.SYNTAXES[opened.syntax].write(opened.text, edits)).encode("utf-8")
