"""Shared pieces of the trainer-config readers: errors, results, the draft a reader fills, typed reads.

Every reader turns one trainer's file into a `Draft`: the TrainingConfig fields it could determine, the
fields it could not (with a hint for the user), warnings, every learning-rate field of the file, and
finalizers for values that depend on fields the user may still supply (steps from epochs need the image
count). Bad input never escapes as anything but `TrainerConfigError`, which names the key or line at fault.

Images and repeats are two fields: `images` counts distinct images (no file counts them: the user
supplies it), `repeats` the passes over each image per epoch, which dataset settings say (kohya's
`num_repeats`, ai-toolkit's `num_repeats`, OneTrainer's concept balancing). When the datasets of a
file repeat differently, `settle_repeats` reduces them to one whole number: their mean, which is the
images-weighted mean when every dataset holds as many images (the file does not say how many each
holds), said in a warning. Steps counted from epochs use images × the file's passes per image (the
unrounded mean), so they are the trainer's count for equal-sized datasets; repeats the user supplies
replace the file's in that count too.
"""

from __future__ import annotations

import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..violations import FieldViolation, InvalidFields

#: Larger files are refused unread.
MAX_CONFIG_BYTES = 1_048_576

#: A location in a parsed file: mapping keys and sequence indexes.
Path = tuple[str | int, ...]

_BOM = "\ufeff"


def render_path(path: Path) -> str:
    """The dotted form users read: ``config.process[0].train.lr``."""
    text = ""
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text


class TrainerConfigError(InvalidFields):
    """The file cannot be read; `violations` name each key path (`config.process[0].train.lr`) or line
    (`line 3`) at fault, "" for the file as a whole."""

    def __init__(self, problems: Iterable[FieldViolation]) -> None:
        super().__init__(problems)


@dataclass(frozen=True)
class FoundLearningRate:
    """One learning rate set in the file, at its dotted key path."""

    key: str
    value: float


@dataclass(frozen=True)
class ImportedConfig:
    """What a trainer file says about a run, in TrainingConfig terms.

    `learning_rates` lists every rate set in the file, the one the U-Net / DiT LoRA trains at first
    (the one LRTool's recommendation compares with, after multiplying by `learning_rate_scale`).
    """

    format: str
    config: dict[str, Any]
    learning_rates: tuple[FoundLearningRate, ...]
    missing_fields: tuple[str, ...]
    warnings: tuple[str, ...]
    #: The trainer multiplies the file's learning rate by this (OneTrainer's learning_rate_scaler).
    learning_rate_scale: float = 1.0


@dataclass
class RateField:
    """A learning-rate field of the file. The primary ones set the rate of the UNet/DiT LoRA LRTool models."""

    path: Path
    value: float  # 0.0 when the field is blank or zero (the trainer then falls back or skips the part)
    primary: bool


@dataclass(frozen=True)
class Edit:
    """Set the number at `path`, or (with `insert`) add it under the mapping at path[:-1] as key path[-1]."""

    path: Path
    value: float
    insert: bool = False


#: Runs once the user's overrides are in `config`: derives what needs them (steps from the image count).
Finalizer = Callable[["Draft"], None]
#: (samples per epoch: images × repeats, batch size, accumulation) -> (steps, how they were counted)
StepCount = Callable[[int, int, int], tuple[int, str]]


@dataclass
class Draft:
    """The configuration a reader builds from one file."""

    format: str
    config: dict[str, Any] = field(default_factory=dict)
    hints: dict[str, str] = field(default_factory=dict)  # missing field -> what the user should supply
    warnings: list[str] = field(default_factory=list)
    rates: list[RateField] = field(default_factory=list)
    #: Where the primary learning rate goes when the file has none: the mapping's path plus the key.
    primary_home: Path | None = None
    scale: float = 1.0
    finalizers: list[Finalizer] = field(default_factory=list)
    problems: list[FieldViolation] = field(default_factory=list)
    #: Fields the user supplied: finalizers leave them alone.
    overridden: set[str] = field(default_factory=set)
    #: The dataset file the config names (kohya's `dataset_config`), to check the one given against.
    dataset_name: str = ""
    #: The file's passes over each image per epoch when `repeats` rounds them (datasets repeating
    #: differently, fractional balancing): steps are counted with these unless the user gives repeats.
    passes: float | None = None

    def set(self, name: str, value: Any) -> None:
        self.config[name] = value
        self.hints.pop(name, None)

    def miss(self, name: str, hint: str) -> None:
        """`name` cannot be known from the file; `hint` tells the user what to supply."""
        self.config.pop(name, None)
        self.hints[name] = hint

    def warn(self, text: str) -> None:
        if text not in self.warnings:
            self.warnings.append(text)

    def problem(self, path: Path | str, message: str) -> None:
        self.problems.append(FieldViolation(path if isinstance(path, str) else render_path(path), message))

    def rate(self, path: Path, value: float | None, *, primary: bool) -> None:
        self.rates.append(RateField(path, value or 0.0, primary))

    def raise_problems(self) -> None:
        if self.problems:
            raise TrainerConfigError(self.problems)

    def steps_from_image_count(self, missing: str, count: StepCount) -> None:
        """`steps` that a trainer counts from epochs and the samples per epoch (images × repeats),
        which may be known only later (a dataset config, or the user's images and repeats): missing
        until then, `count` then gives the steps and how they were counted (said as a warning)."""
        self.miss("steps", missing)

        def from_images(draft: Draft) -> None:
            names = ("images", "repeats", "batch_size", "grad_accum")
            images, repeats, batch, accumulation = (draft.config.get(name) for name in names)
            counts = (images, repeats, batch, accumulation)
            if "steps" in draft.overridden or not all(isinstance(v, int) and v > 0 for v in counts):
                return
            assert isinstance(images, int) and isinstance(repeats, int)
            assert isinstance(batch, int) and isinstance(accumulation, int)
            exact = draft.passes if draft.passes is not None and "repeats" not in draft.overridden else None
            passes: float = repeats if exact is None else exact
            samples = max(1, round_half_up(images * passes))
            steps, explanation = count(samples, batch, accumulation)
            draft.set("steps", steps)
            draft.warn(f"steps: {images} images × {format_number(passes)} repeats = {samples} samples; {explanation}")

        self.finalizers.append(from_images)


def round_half_up(value: float) -> int:
    """2.5 -> 3, as a person rounds (Python's round() gives 2)."""
    return math.floor(value + 0.5)


def repeat_count(value: float) -> str:
    return f"{format_number(value)} repeat{'' if value == 1 else 's'}"


def settle_repeats(draft: Draft, sources: list[tuple[str, float]], datasets: str = "datasets") -> None:
    """`repeats` from each dataset's (name, passes per image per epoch); nothing when there are none.

    One value: that value (a fraction rounded, with a warning). Several: their mean, rounded, with a
    warning: it is the images-weighted mean when the datasets hold as many images each, and steps
    are counted with the unrounded mean.
    """
    if not sources:
        return
    values = [passes for _, passes in sources]
    mean = sum(values) / len(values)
    repeats = max(1, round_half_up(mean))
    draft.set("repeats", repeats)
    draft.passes = None if mean == repeats else mean
    if len(set(values)) == 1:
        if mean != repeats:
            draft.warn(
                f"repeats: {sources[0][0]} repeats {format_number(mean)} times per epoch; LRTool counts whole"
                f" passes, so {repeats} (steps are counted with {format_number(mean)})"
            )
        return
    listed = ", ".join(f"{name} × {format_number(passes)}" for name, passes in sources)
    draft.warn(
        f"repeats: the {datasets} repeat differently ({listed}); LRTool takes their mean, {repeats}"
        f"{f' (steps are counted with {mean:.4g})' if mean != repeats else ''}, which is the images-weighted"
        " mean when each holds as many images; if they differ in size, supply repeats as"
        " Σ(images × repeats) / images over them, rounded"
    )


def show(value: Any) -> str:
    """A value as a person reads it in a message."""
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, Mapping):
        return "a table of settings"
    if isinstance(value, list | tuple):
        return "a list"
    if value is None:
        return "nothing"
    return repr(value)


def format_number(value: float) -> str:
    """A number for a message: 1e-4 stays short."""
    return f"{value:g}"


# --- Typed reads -------------------------------------------------------------------


def is_blank(value: Any) -> bool:
    """Trainers write an unset value as nothing or as "" (the kohya_ss GUI)."""
    return value is None or (isinstance(value, str) and not value.strip())


def to_float(value: Any) -> float | None:
    """A finite number from a number or numeric text (YAML 1.1 reads `1e-4` as text); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip().replace("_", ""))
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def to_int(value: Any) -> int | None:
    """A whole number from an int, an integral float or numeric text; None otherwise."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    number = to_float(value)
    if number is None or not number.is_integer():
        return None
    return int(number)


_TRUE = {"true", "yes", "on", "1", "y"}
_FALSE = {"false", "no", "off", "0", "n"}


def to_bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    return None


class Section:
    """Typed reads from one mapping of a file; every problem names the key path."""

    def __init__(
        self,
        data: Mapping[str, Any],
        draft: Draft,
        base: Path = (),
        paths: Mapping[str, Path] | None = None,
    ) -> None:
        self.data = data
        self.draft = draft
        self.base = base
        self._paths = paths or {}

    def path(self, key: str) -> Path:
        return self._paths.get(key, (*self.base, key))

    def has(self, key: str) -> bool:
        return not is_blank(self.data.get(key))

    def raw(self, key: str) -> Any:
        value = self.data.get(key)
        return None if is_blank(value) else value

    def _bad(self, key: str, expected: str) -> None:
        self.draft.problem(self.path(key), f"must be {expected}; got {show(self.data.get(key))}")

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.raw(key)
        if value is None:
            return default
        number = to_int(value)
        if number is None:
            self._bad(key, "a whole number")
            return default
        return number

    def number(self, key: str, default: float | None = None) -> float | None:
        value = self.raw(key)
        if value is None:
            return default
        number = to_float(value)
        if number is None:
            self._bad(key, "a finite number")
            return default
        return number

    def text(self, key: str, default: str | None = None) -> str | None:
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, str):
            self._bad(key, "text")
            return default
        return value.strip()

    def flag(self, key: str, default: bool = False) -> bool:
        value = self.raw(key)
        if value is None:
            return default
        result = to_bool(value)
        if result is None:
            self._bad(key, "true or false")
            return default
        return result

    def section(self, key: str) -> Section | None:
        """The nested mapping under `key` (None when absent)."""
        value = self.raw(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self._bad(key, "a table of settings")
            return None
        return Section(value, self.draft, self.path(key))

    def sequence(self, key: str) -> list[Any]:
        value = self.raw(key)
        if value is None:
            return []
        if not isinstance(value, list):
            self._bad(key, "a list")
            return []
        return value

    def strings(self, key: str) -> list[str]:
        """A list of "name=value" arguments: a list of text, or one text split at spaces (the kohya_ss GUI)."""
        value = self.raw(key)
        if value is None:
            return []
        if isinstance(value, str):
            return value.replace('"', "").split()
        if isinstance(value, list) and all(isinstance(item, str) for item in value):
            return [item.strip() for item in value if item.strip()]
        self._bad(key, "a list of text")
        return []


# --- Text in and out ------------------------------------------------------------------


def check_size(content: bytes, what: str) -> None:
    if len(content) > MAX_CONFIG_BYTES:
        raise TrainerConfigError.one(
            what,
            f"is {len(content):,} bytes; trainer configuration files are limited to {MAX_CONFIG_BYTES:,} bytes (1 MiB)",
        )


def decode(content: bytes, what: str) -> tuple[str, str]:
    """(byte-order mark, text): the mark is kept apart so positions in the text match the parser's."""
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError as error:
        line = content[: error.start].count(b"\n") + 1
        raise TrainerConfigError.one(f"line {line}", f"{what} is not UTF-8 text") from None
    if text.startswith(_BOM):
        return _BOM, text[len(_BOM) :]
    return "", text


def too_long_number(text: str, syntax: str) -> TrainerConfigError:
    """The parser's ValueError for an integer longer than Python converts, as the line holding it."""
    limit = sys.get_int_max_str_digits()
    found = re.search(rf"\d[\d_]{{{limit},}}", text)
    where = f"line {text.count(chr(10), 0, found.start()) + 1}" if found else ""
    return TrainerConfigError.one(
        where, f"not valid {syntax}: a number of more than {limit:,} digits; trainer settings are far shorter"
    )


def newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"
