"""Batches of raw configurations, validated column by column.

`calculate_rows` answers as validating each configuration with TrainingConfig and then calling
calculate_batch does — the same results, the same violations under the same paths — for a
fraction of the cost, because most of that cost is validating one row at a time. Here the
ranges are checked on whole columns (the catalog's INPUT_RANGES), each distinct name is looked
up once (the catalog's NamedTables), and the checks between fields run on arrays. A row that
these checks do not accept at once is handed to TrainingConfig itself: every message comes
from the one place that writes it, and the columns only ever say "this row is fine".
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
from numpy.typing import NDArray

from . import _catalog as catalog
from ._calculate import Calculation, Personalization, calculate, check_adjustment, placed_in_request
from ._cancel import raise_if_stopped, stop_when
from ._config import _NAME_TABLES as NAME_TABLES
from ._config import Resolved, ScheduleArgs, TrainingConfig, parse_step_rules
from ._config import _needs_lrtool_1_0_calibration as needs_lrtool_1_0_calibration
from ._exceptions import Cancelled, ConfigError, FieldViolation

BoolArray = NDArray[np.bool_]

_FIELDS = tuple(TrainingConfig.model_fields)
_REQUIRED = frozenset(name for name, info in TrainingConfig.model_fields.items() if info.is_required())
_DEFAULTS = {name: info.default for name, info in TrainingConfig.model_fields.items() if not info.is_required()}
_NUMBER_TYPES = {"int": int, "float": float}
#: Numeric fields with their accepted range and the one Python type strict validation takes as is.
_NUMBERS = {
    name: (catalog.INPUT_RANGES[name], _NUMBER_TYPES[catalog.INPUT_RANGES[name].kind])
    for name in _FIELDS
    if name in catalog.INPUT_RANGES
}
_TEXTS = ("scheduler", "step_rules")
_SCHEDULE_PARAMETERS = tuple(catalog.SCHEDULE_PARAMETERS)
_NONE = type(None)
#: Rows calculated between two checks of the caller's stop condition.
_STOP_CHECK_EVERY = 256
_UNSET: Any = object()


#: What a caller knows about a configuration beside its fields (a run log's verdict): given the
#: row's index in the batch and its validated configuration.
Personalize = Callable[[int, TrainingConfig], Personalization | None]


def calculate_rows(
    configs: Sequence[Mapping[str, Any]],
    offsets: Sequence[float | None] | None = None,
    learning_rates: Sequence[float | None] | None = None,
    first_index: int = 0,
    stop: Callable[[], bool] | None = None,
    personalize: Personalize | None = None,
) -> list[Calculation]:
    """Validate and calculate many configurations given as raw fields (as TrainingConfig takes
    them), each with its offset or learning rate (None: not given).

    Every bad request is reported, as `requests[i].offset` or `requests[i].config.field` (i
    counted from `first_index`), before anything is calculated; then it goes as
    calculate_batch goes, `stop` included. `personalize` is asked for each row whose
    configuration is valid; a ConfigError it raises is reported as it is, beside that row's
    other problems.
    """
    if stop is not None:
        with stop_when(stop):
            return calculate_rows(configs, offsets, learning_rates, first_index, personalize=personalize)
    count = len(configs)
    offsets = [None] * count if offsets is None else offsets
    learning_rates = [None] * count if learning_rates is None else learning_rates
    problems: dict[int, list[FieldViolation]] = {}
    _check_adjustments(offsets, learning_rates, problems)
    with collector_paused():
        checked = _Columns(configs)
        invalid: set[int] = set()
        for row in np.flatnonzero(~checked.accepted).tolist():
            try:
                checked.built[row] = TrainingConfig.from_mapping(configs[row])
            except ConfigError as error:
                invalid.add(row)
                problems.setdefault(row, []).extend(error.under("config").violations)
        for row, violations in problems.items():
            problems[row] = [violation.under(f"requests[{first_index + row}]") for violation in violations]
        personal: list[Personalization | None] = [None] * count
        if personalize is not None:
            for row in range(count):
                if row not in invalid:
                    config = checked.built[row] = checked.config(row)  # kept for calculating
                    try:
                        personal[row] = personalize(row, config)
                    except ConfigError as error:
                        problems.setdefault(row, []).extend(error.violations)
        if problems:
            raise ConfigError(violation for row in sorted(problems) for violation in problems[row])
        results, failures = _calculate_checked(checked, offsets, learning_rates, personal, first_index)
    if failures:
        raise ConfigError(failures)
    return results


def _calculate_checked(
    checked: _Columns,
    offsets: Sequence[float | None],
    learning_rates: Sequence[float | None],
    personal: Sequence[Personalization | None],
    first_index: int,
) -> tuple[list[Calculation], list[FieldViolation]]:
    """calculate_batch's loop over the checked rows: the results, or what calculating found wrong."""
    results: list[Calculation] = []
    failures: list[FieldViolation] = []
    for row in range(len(offsets)):
        if row % _STOP_CHECK_EVERY == 0:
            try:
                raise_if_stopped()
            except Cancelled:
                raise Cancelled(len(results)) from None
        try:
            results.append(calculate(checked.config(row), offsets[row], learning_rates[row], personal[row]))
        except Cancelled:
            raise Cancelled(len(results)) from None
        except ConfigError as error:
            prefix = f"requests[{first_index + row}]"
            failures.extend(placed_in_request(error, prefix, f"{prefix}.config"))
    return results, failures


_pause_lock = threading.Lock()
_pauses = 0
_paused_collector = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a batch checks its rows and builds its results.

    What it builds is acyclic and lives on, so each of the collector's passes over the growing
    heap frees nothing; for a batch of 100,000 they cost half as much as the calculations. Nested
    and concurrent batches share one pause; the collector resumes, if it ran before, when the
    last of them ends.
    """
    global _pauses, _paused_collector
    with _pause_lock:
        if _pauses == 0:
            _paused_collector = gc.isenabled()
            gc.disable()
        _pauses += 1
    try:
        yield
    finally:
        with _pause_lock:
            _pauses -= 1
            if _pauses == 0 and _paused_collector:
                gc.enable()


def _check_adjustments(
    offsets: Sequence[float | None], learning_rates: Sequence[float | None], problems: dict[int, list[FieldViolation]]
) -> None:
    """check_adjustment for every row; only the rows the columns cannot clear ask it."""
    offset = _Numbers(list(offsets), float)
    rate = _Numbers(list(learning_rates), float)
    fine = (
        offset.typed
        & rate.typed
        & ~(offset.present & rate.present)
        & (~offset.present | catalog.INPUT_RANGES["offset"].contains(offset.values))
        & (~rate.present | catalog.INPUT_RANGES["learning_rate"].contains(rate.values))
    )
    for row in np.flatnonzero(~fine).tolist():
        try:
            check_adjustment(offsets[row], learning_rates[row])
        except ConfigError as error:
            problems.setdefault(row, []).extend(error.violations)


class _Numbers:
    """One numeric column: its values (0 where absent), where a value is given, and where the
    value is of the type strict validation takes as is (absent counts as typed)."""

    def __init__(self, column: list[Any], kind: type) -> None:
        count = len(column)
        dtype = np.int64 if kind is int else np.float64
        self.present: BoolArray = _given(column)
        if set(map(type, column)) <= {kind, _NONE}:
            try:
                self.values: NDArray[Any] = np.array([0 if value is None else value for value in column], dtype)
                self.typed: BoolArray = np.ones(count, bool)
                return
            except OverflowError:  # an integer beyond 64 bits: outside every range anyway
                pass
        typed = [value is None or (type(value) is kind and _fits(value)) for value in column]
        self.typed = np.array(typed, bool)
        self.values = np.array(
            [value if fine and value is not None else 0 for value, fine in zip(column, typed, strict=True)], dtype
        )


def _given(column: list[Any]) -> BoolArray:
    missing = column.count(None)
    if missing in (0, len(column)):
        return np.full(len(column), missing == 0)
    return np.array([value is not None for value in column], bool)


def _fits(value: Any) -> bool:
    return type(value) is float or -(2**63) <= value < 2**63


class _Columns:
    """The rows of a batch checked column by column. `accepted` marks the rows whose fields and
    cross-field rules all hold; `config(row)` builds such a row's TrainingConfig without
    validating it again (other rows: what `built` holds)."""

    def __init__(self, configs: Sequence[Mapping[str, Any]]) -> None:
        count = len(configs)
        self._configs = configs
        #: Configurations already built: rows the columns leave to TrainingConfig, and rows
        #: a caller asked for before they are calculated.
        self.built: dict[int, TrainingConfig] = {}
        # Column by column: a few long lists, not a tuple per row for the collector to walk.
        columns = {name: [config.get(name) for config in configs] for name in _FIELDS}
        given = {name: _given(column) for name, column in columns.items()}
        # Unknown fields and explicit None values (a row with more fields than non-None known
        # ones) are the per-configuration path's to judge.
        accepted = np.array([len(config) for config in configs], np.int64) == sum(
            given.values(), np.zeros(count, np.int64)
        )
        for name in _REQUIRED:
            accepted &= given[name]
        self._numbers = {name: _Numbers(columns[name], kind) for name, (_, kind) in _NUMBERS.items()}
        for name, (accepted_range, _) in _NUMBERS.items():
            numbers = self._numbers[name]
            accepted &= numbers.typed & (~numbers.present | accepted_range.contains(numbers.values))
        # The fields as TrainingConfig keeps them: names as catalog ids, defaults filled in.
        final = dict(columns)
        for name, table in NAME_TABLES.items():
            column = columns[name]
            entries = {value: table.get(value) for value in set(column) if type(value) is str}
            found = [entries.get(value) if type(value) is str else None for value in column]
            accepted &= np.array(
                [entry is not None or value is None for entry, value in zip(found, column, strict=True)], bool
            )
            final[name] = [entry.id if entry is not None else value for entry, value in zip(found, column, strict=True)]
        for name in _TEXTS:
            accepted &= np.array([value is None or type(value) is str for value in columns[name]], bool)
        for name, default in _DEFAULTS.items():
            if default is not None and None in final[name]:
                final[name] = [default if value is None else value for value in final[name]]
        self._fields = final
        self._resolved: list[Resolved | None] = [None] * count
        self._resolve(accepted, final)
        self.accepted: BoolArray = accepted

    def _resolve(self, accepted: BoolArray, final: dict[str, list[Any]]) -> None:
        """The checks of TrainingConfig._check_together on arrays, group by group of rows that name
        the same formula, trainer and schedule; a row breaking any of them leaves `accepted`."""
        numbers = self._numbers
        steps = numbers["steps"].values
        fraction, given_steps = numbers["warmup_fraction"], numbers["warmup_steps"]
        accepted &= ~(fraction.present & given_steps.present)
        accepted &= ~given_steps.present | (given_steps.values <= steps - 1)
        # As TrainingConfig: a fraction is floored in floating point.
        fractions = np.where(accepted & fraction.present, fraction.values, 0.0)  # rows out of range: no matter
        warmup_array = np.where(given_steps.present, given_steps.values, (steps * fractions).astype(np.int64))
        warmup, room = warmup_array.tolist(), (steps - warmup_array).tolist()
        groups: dict[tuple[str, str, str], list[int]] = {}
        for row in np.flatnonzero(accepted).tolist():
            groups.setdefault((final["formula"][row], final["trainer"][row], final["scheduler"][row]), []).append(row)
        # Formula sets energy and lrtool-1.0 take only the models and optimizers with LRTool 1.0's constants.
        legacy_fine: dict[tuple[str, str, str], bool] = {}
        models, optimizers, objectives = final["model"], final["optimizer"], final["objective"]
        for (formula_id, trainer_id, scheduler), rows in groups.items():
            formula = catalog.FORMULA_SETS.by_id(formula_id)
            trainer = catalog.TRAINERS.by_id(trainer_id)
            schedule = catalog.schedules_for(formula, trainer).get(scheduler)
            if schedule is None:
                accepted[rows] = False
                continue
            used = [final[use.name] for use in schedule.parameters]
            # Parameters the schedule does not take, where some row of the group gives one.
            unused = [
                name
                for name in _SCHEDULE_PARAMETERS
                if schedule.parameter(name) is None and any(final[name][row] is not None for row in rows)
            ]
            decays = schedule.id == "warmup_stable_decay"
            args_cache: dict[tuple[Any, ...], ScheduleArgs | None] = {}
            for row in rows:
                if warmup[row] > 0 and not schedule.takes_warmup:
                    accepted[row] = False
                    continue
                if formula.id != catalog.CALIBRATED:
                    key = (models[row], optimizers[row], formula.id)
                    fine = legacy_fine.get(key)
                    if fine is None:
                        fine = legacy_fine[key] = not needs_lrtool_1_0_calibration(*key[:2], formula)
                    if not fine:
                        accepted[row] = False
                        continue
                values = tuple([column[row] for column in used])
                args = args_cache.get(values, _UNSET)
                if args is _UNSET:
                    args = args_cache[values] = _schedule_args(schedule, values)
                if args is None or (decays and args.decay_steps > room[row]):
                    accepted[row] = False
                    continue
                self._resolved[row] = Resolved(
                    model=catalog.MODELS.by_id(models[row]),
                    optimizer=catalog.OPTIMIZERS.by_id(optimizers[row]),
                    objective=catalog.OBJECTIVES.by_id(objectives[row]),
                    formula=formula,
                    trainer=trainer,
                    schedule=schedule,
                    warmup_steps=warmup[row],
                    schedule_args=args,
                    ignored_parameters=tuple([name for name in unused if final[name][row] is not None])
                    if unused
                    else (),
                )

    def config(self, row: int) -> TrainingConfig:
        found = self.built.get(row)
        if found is not None:
            return found
        resolved = self._resolved[row]
        assert resolved is not None  # an accepted row is resolved
        return TrainingConfig._checked_elsewhere(
            {name: column[row] for name, column in self._fields.items()}, set(self._configs[row]), resolved
        )


def _schedule_args(schedule: catalog.Schedule, values: tuple[Any, ...]) -> ScheduleArgs | None:
    """ScheduleArgs as TrainingConfig._schedule_args builds them from the given values (None:
    not given); None where one of its rules is broken."""
    given: dict[str, Any] = {}
    for use, value in zip(schedule.parameters, values, strict=True):
        if value is None:
            if use.required:
                return None
            if use.default is not None:
                given[use.name] = use.default
        else:
            given[use.name] = value
    if "step_rules" in given:
        try:
            given["step_rules"] = parse_step_rules(given["step_rules"])
        except ValueError:
            return None
    if schedule.id == "polynomial" and given.get("min_lr_ratio", 0.0) >= 1.0:
        return None
    return ScheduleArgs(**given)
