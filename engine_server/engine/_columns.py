"""Batches of raw configurations, validated column by column.

`calculate_rows` answers as validating each configuration with TrainingConfig and then calling
calculate_batch does — the same results, the same violations under the same paths — for a
fraction of the cost: validating one row at a time costs more than calculating it, and the
calibrated rows are then calculated on arrays too (_results.py). Here the
ranges are checked on whole columns (the catalog's INPUT_RANGES), each distinct name is looked
up once (the catalog's NamedTables), and the checks between fields run on arrays. A row that
these checks do not accept at once is handed to TrainingConfig itself: every message comes
from the one place that writes it, and the columns only ever say "this row is fine".
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager
from operator import itemgetter, methodcaller
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from . import _catalog as catalog
from ._calculate import (
    Calculation,
    Personalization,
    calculate,
    check_adjustment,
    placed_in_request,
)
from ._cancel import raise_if_stopped, stop_when
from ._config import _NAME_TABLES as NAME_TABLES
from ._config import Resolved, ScheduleArgs, TrainingConfig, parse_step_rules
from ._config import _needs_lrtool_1_0_calibration as needs_lrtool_1_0_calibration
from ._exceptions import Cancelled, ConfigError, FieldViolation
from ._results import BatchResults, calculate_fitted
from ._sums import BoolArray

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
_TEXT_OR_NONE = {str, _NONE}
#: Rows calculated between two checks of the caller's stop condition.
_STOP_CHECK_EVERY = 256
_UNSET: Any = object()
#: Beyond this many different sets of given fields a batch is read field by field.
_FIELD_SETS_READ_TOGETHER = 64


#: What a caller knows about a configuration beside its fields (a run log's verdict): given the
#: row's index in the batch and its validated configuration.
Personalize = Callable[[int, TrainingConfig], Personalization | None]


class ConfigColumns(Sequence[Mapping[str, Any]]):
    """Configurations given field by field: `columns[name][row]`, None where a row leaves the
    field out (as a decoder of many messages collects them). Read row by row, each is the
    mapping of its given fields; calculate_rows reads the columns as they are."""

    def __init__(self, columns: Mapping[str, list[Any]], count: int) -> None:
        unknown = set(columns) - set(_FIELDS)
        if unknown:
            raise ValueError(f"not fields of a configuration: {', '.join(sorted(unknown))}")
        self.columns = {name: columns.get(name) or [None] * count for name in _FIELDS}
        self._count = count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, row: int) -> Mapping[str, Any]: ...
    @overload
    def __getitem__(self, row: slice) -> Sequence[Mapping[str, Any]]: ...
    def __getitem__(self, row: int | slice) -> Mapping[str, Any] | Sequence[Mapping[str, Any]]:
        if isinstance(row, slice):
            return [self[index] for index in range(*row.indices(self._count))]
        index = range(self._count)[row]
        return {name: value for name, column in self.columns.items() if (value := column[index]) is not None}


def calculate_rows(
    configs: Sequence[Mapping[str, Any]],
    offsets: Sequence[float | None] | None = None,
    learning_rates: Sequence[float | None] | None = None,
    first_index: int = 0,
    stop: Callable[[], bool] | None = None,
    personalize: Personalize | None = None,
    personalized: Collection[int] | None = None,
) -> BatchResults:
    """Validate and calculate many configurations given as raw fields (as TrainingConfig takes
    them), each with its offset or learning rate (None: not given).

    `configs` may be ConfigColumns, which saves building a mapping per row.

    Every bad request is reported, as `requests[i].offset` or `requests[i].config.field` (i
    counted from `first_index`), before anything is calculated; then it goes as
    calculate_batch goes, `stop` included, and answers with the same calculations (as a
    sequence that also reads column by column, see BatchResults). `personalize` is asked for each row whose
    configuration is valid (of the rows `personalized`, if given; the others take the
    population's recommendation); a ConfigError it raises is reported as it is, beside that
    row's other problems.
    """
    if stop is not None:
        with stop_when(stop):
            return calculate_rows(configs, offsets, learning_rates, first_index, None, personalize, personalized)
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
            for row in range(count) if personalized is None else sorted(personalized):
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
) -> tuple[BatchResults, list[FieldViolation]]:
    """calculate_batch's loop over the checked rows: the results, or what calculating found wrong.
    The rows of the calibrated formula are calculated on arrays first (calculate_fitted); the
    rest, and any row those arrays leave, one by one."""
    raise_if_stopped()
    fitted = calculate_fitted(
        checked.fields, checked.resolved_rows, _fitted_rows(checked, personal), offsets, learning_rates
    )
    on_arrays = np.zeros(len(offsets), bool)
    if fitted is not None:
        on_arrays[fitted.rows] = True
    calculated: dict[int, Calculation] = {}
    failures: list[FieldViolation] = []
    for count, row in enumerate(np.flatnonzero(~on_arrays).tolist()):
        if count % _STOP_CHECK_EVERY == 0:
            try:
                raise_if_stopped()
            except Cancelled:
                raise Cancelled(row) from None  # every row before it is done
        try:
            calculated[row] = calculate(checked.config(row), offsets[row], learning_rates[row], personal[row])
        except Cancelled:
            raise Cancelled(row) from None  # every row before it is done
        except ConfigError as error:
            prefix = f"requests[{first_index + row}]"
            failures.extend(placed_in_request(error, prefix, f"{prefix}.config"))
    return BatchResults(len(offsets), fitted, calculated), failures


def _fitted_rows(checked: _Columns, personal: Sequence[Personalization | None]) -> list[int]:
    """Rows the arrays calculate: checked by the columns, formula calibrated, no run log's factor."""
    rows = []
    for row, resolved in enumerate(checked.resolved_rows):
        if resolved is not None and personal[row] is None and resolved.formula.id == catalog.CALIBRATED:
            rows.append(row)
    return rows


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
                if self.present.all():
                    self.values: NDArray[Any] = np.array(column, dtype)
                elif not self.present.any():
                    self.values = np.zeros(count, dtype)
                else:
                    self.values = np.array([0 if value is None else value for value in column], dtype)
                self.typed: BoolArray = np.ones(count, bool)
                return
            except OverflowError:  # an integer beyond 64 bits: outside every range anyway
                pass
        typed = [value is None or (type(value) is kind and _fits(value)) for value in column]
        self.typed = np.array(typed, bool)
        self.values = np.array(
            [value if fine and value is not None else 0 for value, fine in zip(column, typed, strict=True)], dtype
        )


def _columns_of(configs: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Each field's values in row order (None where a row leaves it out; unknown fields are not
    read). Rows that give the same fields are read together, a row per C-level call."""
    count = len(configs)
    by_fields: dict[tuple[str, ...], list[int]] = {}
    for row, config in enumerate(configs):
        if type(config) is not dict or len(by_fields) > _FIELD_SETS_READ_TOGETHER:  # field by field
            return {name: list(map(methodcaller("get", name), configs)) for name in _FIELDS}
        by_fields.setdefault(tuple(config), []).append(row)
    columns = {name: np.full(count, None, object) for name in _FIELDS}
    for names, rows in by_fields.items():
        known = [name for name in names if name in columns]
        if not known:
            continue
        group = itemgetter(*rows)(configs) if len(rows) > 1 else (configs[rows[0]],)
        read = itemgetter(*known)
        values = zip(*map(read, group), strict=True) if len(known) > 1 else (map(read, group),)
        for name, column_values in zip(known, values, strict=True):
            column = columns[name]
            column[rows] = np.fromiter(column_values, object, len(rows))  # values as they are, lists too
    return {name: column.tolist() for name, column in columns.items()}


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
        columns = dict(configs.columns) if isinstance(configs, ConfigColumns) else _columns_of(configs)
        given = self._given = {name: _given(column) for name, column in columns.items()}
        if isinstance(configs, ConfigColumns):
            accepted = np.ones(count, bool)  # only known fields, and None is "not given"
        else:
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
            if set(map(type, column)) <= _TEXT_OR_NONE:  # names as written (or left out): read at C speed
                entries = {value: table.get(value) for value in set(column) if value is not None}
                ids = {value: entry.id for value, entry in entries.items() if entry is not None}
                if len(ids) < len(entries):  # an unknown name: its rows are TrainingConfig's to judge
                    accepted &= np.array([value is None or value in ids for value in column], bool)
                final[name] = list(map(ids.get, column, column))  # the id, or the value as it was
                continue
            entries = {value: table.get(value) for value in set(column) if type(value) is str}
            found = [entries.get(value) if type(value) is str else None for value in column]
            accepted &= np.array(
                [entry is not None or value is None for entry, value in zip(found, column, strict=True)], bool
            )
            final[name] = [entry.id if entry is not None else value for entry, value in zip(found, column, strict=True)]
        for name in _TEXTS:
            if not set(map(type, columns[name])) <= _TEXT_OR_NONE:
                accepted &= np.array([value is None or type(value) is str for value in columns[name]], bool)
        for name, default in _DEFAULTS.items():
            if default is not None and None in final[name]:
                final[name] = [default if value is None else value for value in final[name]]
        self.fields = final
        self.resolved_rows: list[Resolved | None] = [None] * count
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
        model_by_id, optimizer_by_id = catalog.MODELS.by_id, catalog.OPTIMIZERS.by_id
        objective_by_id, resolved_rows = catalog.OBJECTIVES.by_id, self.resolved_rows
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
                if schedule.parameter(name) is None and self._given[name][rows].any()
            ]
            decays = schedule.id == "warmup_stable_decay"
            takes_warmup, legacy = schedule.takes_warmup, formula.id != catalog.CALIBRATED
            args_cache: dict[tuple[Any, ...], ScheduleArgs | None] = {}
            fixed_args = None if used else _schedule_args(schedule, ())  # a schedule without parameters
            entries: dict[tuple[str, str, str], tuple[catalog.Model, catalog.Optimizer, catalog.Objective]] = {}
            for row in rows:
                if not takes_warmup and warmup[row] > 0:
                    accepted[row] = False
                    continue
                if legacy:
                    key = (models[row], optimizers[row], formula.id)
                    fine = legacy_fine.get(key)
                    if fine is None:
                        fine = legacy_fine[key] = not needs_lrtool_1_0_calibration(*key[:2], formula)
                    if not fine:
                        accepted[row] = False
                        continue
                if used:
                    values = tuple([column[row] for column in used])
                    args = args_cache.get(values, _UNSET)
                    if args is _UNSET:
                        args = args_cache[values] = _schedule_args(schedule, values)
                else:
                    args = fixed_args
                if args is None or (decays and args.decay_steps > room[row]):
                    accepted[row] = False
                    continue
                names = (models[row], optimizers[row], objectives[row])
                named = entries.get(names)
                if named is None:
                    named = entries[names] = (
                        model_by_id(names[0]),
                        optimizer_by_id(names[1]),
                        objective_by_id(names[2]),
                    )
                model_entry, optimizer_entry, objective_entry = named
                resolved_rows[row] = Resolved(  # positional, in its fields' order: this runs for every row
                    model_entry,
                    optimizer_entry,
                    objective_entry,
                    formula,
                    trainer,
                    schedule,
                    warmup[row],
                    args,
                    tuple([name for name in unused if final[name][row] is not None]) if unused else (),
                )

    def config(self, row: int) -> TrainingConfig:
        found = self.built.get(row)
        if found is not None:
            return found
        resolved = self.resolved_rows[row]
        assert resolved is not None  # an accepted row is resolved
        return TrainingConfig._checked_elsewhere(
            {name: column[row] for name, column in self.fields.items()}, set(self._configs[row]), resolved
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
