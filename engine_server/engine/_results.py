"""A batch's results as columns: the calibrated formula calculated on arrays.

calculate_rows (see _columns.py) hands the rows of the calibrated formula that no run log
personalizes to `calculate_fitted`, which runs the operations of calibrated.recommend,
_calibrated_model, calculate and _finish on whole columns: numpy's arithmetic (which rounds
as Python's does) and Python's own exp, log and pow element by element (numpy's exp and log
differ from libm in the last bit). Each result therefore equals calculate()'s to the last bit.

The results stay columns (`BatchResults`): a row becomes a Calculation only when read as one,
and an encoder reads whole columns instead.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import fields as dataclass_fields
from operator import itemgetter
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from . import _calibrated as calibrated
from . import _calibration_data as calibration_data
from . import _catalog as catalog
from ._calculate import (
    _ALPHA_RATIO_FACTOR,
    _OPTIMIZER_FACTOR,
    _RESOLUTION_FACTOR,
    Calculation,
    efficiency_band,
    risk_band,
    solve_polynomial_floors,
)
from ._calculate import _schedule_owner as schedule_owner
from ._calculate import _score_widths as score_widths
from ._calculate import _ScoreWidths as ScoreWidths
from ._calculate import _uses_polynomial_default as uses_polynomial_default
from ._calibrated import Evidence, Factor, Recommendation
from ._config import Resolved, ScheduleArgs
from ._schedules import affine_square_sum, has_array_form, integrate_many, integrate_once, polynomial_sums
from ._sums import FloatArray, IntArray, each
from ._warnings import runs_without_its_schedule

#: Rows of one schedule below which integrating them one by one costs less than arrays.
_ARRAY_GROUP_ROWS = 8
#: Calculation's fields, in order; the statistics are every field but the texts and the evidence.
_FIELDS = tuple(field.name for field in dataclass_fields(Calculation))
_TEXTS_AND_EVIDENCE = ("warnings", "factors", "evidence")
STATISTICS = tuple(name for name in _FIELDS if name not in _TEXTS_AND_EVIDENCE)
#: Calculation's fields are the statistics with the warnings after this many, then the evidence.
_BEFORE_WARNINGS = _FIELDS.index("warnings")
assert (*STATISTICS[:_BEFORE_WARNINGS], "warnings", *STATISTICS[_BEFORE_WARNINGS:], "evidence", "factors") == _FIELDS


class _RowFields(Mapping[str, Any]):
    """One row of the checked columns, read as the validated configuration's fields."""

    __slots__ = ("_columns", "_row")

    def __init__(self, columns: Mapping[str, list[Any]], row: int) -> None:
        self._columns = columns
        self._row = row

    def __getitem__(self, name: str) -> Any:
        return self._columns[name][self._row]

    def __iter__(self) -> Iterator[str]:
        return iter(self._columns)

    def __len__(self) -> int:
        return len(self._columns)


def _square(value: float) -> float:
    return value**2  # Python's pow, as the per-configuration path squares


class Fitted:
    """The rows calculate_fitted calculated: their statistics as columns, and what describing
    one of them (its factors and warnings) needs."""

    def __init__(
        self,
        rows: IntArray,
        statistics: dict[str, NDArray[Any]],
        recommendation_parts: tuple[Any, ...],
        maybe_warned: NDArray[np.bool_],
    ) -> None:
        self.rows = rows
        self.statistics = statistics
        self._parts = recommendation_parts
        self.maybe_warned = maybe_warned  # False: the row has no warning, for sure
        self._recommendations: dict[int, Recommendation] = {}
        self._factors: dict[tuple[str, str, float], Factor] = {}  # shared between rows (Recommendation)
        self._lists: list[list[Any]] | None = None
        self._factor_rows: list[tuple[Factor, ...]] | None = None

    def factors(self, index: int) -> tuple[Factor, ...]:
        """The index-th fitted row's factors, as its recommendation describes them; the first read
        describes every row's, column by column (calibrated.describe_rows)."""
        if self._factor_rows is None:
            self._factor_rows = self._describe_all()
        return self._factor_rows[index]

    def _describe_all(self) -> list[tuple[Factor, ...]]:
        fields, rows, resolved, setups, multipliers = self._parts[:5]
        scheduler_factors = self._parts[7]
        take = itemgetter(*rows) if len(rows) > 1 else (lambda column: (column[rows[0]],))
        computed = {
            name: list(map(read, resolved, scheduler_factors)) for name, read in calibrated.DESCRIPTION_INPUTS.items()
        }

        def inputs(name: str) -> Sequence[Any]:
            found = computed.get(name)
            return take(fields[name]) if found is None else found

        columns = [
            calibrated.describe_rows(name, multipliers[:, position].tolist(), inputs)
            for position, name in enumerate(calibrated.EXPONENTS, start=1)
        ]
        return [
            (setup.adaptive,) if setup.adaptive is not None else (setup.family, *described, *setup.fixed)
            for setup, *described in zip(setups, *columns, strict=True)
        ]

    def recommendation(self, index: int) -> Recommendation:
        """The index-th fitted row's recommendation, built once."""
        found = self._recommendations.get(index)
        if found is None:
            fields, rows, resolved, setups, multipliers, log_sds, rates, scheduler_factors, zero_fractions, pullings = (
                self._parts
            )
            setup = setups[index]
            adaptive = setup.adaptive
            found = self._recommendations[index] = Recommendation(
                rates[index],
                (adaptive.multiplier,) if adaptive is not None else tuple(multipliers[index].tolist()),
                setup.evidence,
                log_sds[index],
                _RowFields(fields, rows[index]),
                resolved[index],
                scheduler_factors[index],
                zero_fractions[index],
                setup,
                pulling=pullings.get(index),
                shared_factors=self._factors,
                described=None if self._factor_rows is None else self._factor_rows[index],
            )
        return found

    def evidence(self, index: int) -> Evidence | None:
        setups = self._parts[3]
        evidence: Evidence | None = setups[index].evidence
        return evidence

    def calculation(self, index: int) -> Calculation:
        if self._lists is None:
            self._lists = [self.statistics[name].tolist() for name in STATISTICS]
        before, after = _BEFORE_WARNINGS, len(STATISTICS)
        lists = self._lists
        recommendation = self.recommendation(index)
        # Positional, in its fields' order (see _BEFORE_WARNINGS): statistics, warnings (described
        # on read), statistics, the evidence band.
        values: list[Any] = [row[index] for row in lists[:before]]
        values.append(())
        values.extend(row[index] for row in lists[before:after])
        values.append(recommendation.evidence)
        calculation = Calculation(*values)
        calculation._describe_later(recommendation)
        return calculation

    def warnings(self, index: int) -> tuple[str, ...]:
        if not self.maybe_warned[index]:
            return ()
        return self.recommendation(index).described_warnings()


class BatchResults(Sequence[Calculation]):
    """The results of a batch, in order: each is a Calculation when read as one, built then and
    kept; `column` reads a statistic of every row at once."""

    def __init__(self, count: int, fitted: Fitted | None, calculated: dict[int, Calculation]) -> None:
        self._count = count
        self._fitted = fitted
        self._calculated = calculated  # the rows calculated one by one
        self._fitted_index = np.full(count, -1, np.int64)
        if fitted is not None:
            self._fitted_index[fitted.rows] = np.arange(len(fitted.rows))
        # Every row on arrays: a statistic's column is the arrays' own.
        self._all_on_arrays = fitted is not None and len(fitted.rows) == count

    def __len__(self) -> int:
        return self._count

    @overload
    def __getitem__(self, index: int) -> Calculation: ...
    @overload
    def __getitem__(self, index: slice) -> list[Calculation]: ...
    def __getitem__(self, index: int | slice) -> Calculation | list[Calculation]:
        if isinstance(index, slice):
            return [self[row] for row in range(*index.indices(self._count))]
        row = range(self._count)[index]  # negative indices, and IndexError beyond the end
        found = self._calculated.get(row)
        if found is None:
            assert self._fitted is not None
            found = self._calculated[row] = self._fitted.calculation(int(self._fitted_index[row]))
        return found

    def __eq__(self, other: object) -> bool:
        """Equal to a sequence of the same calculations, in order (a list, say)."""
        if not isinstance(other, Sequence) or isinstance(other, str):
            return NotImplemented
        return len(self) == len(other) and all(mine == theirs for mine, theirs in zip(self, other, strict=True))

    __hash__ = None  # type: ignore[assignment]  # mutable caches, and equal to lists

    def column(self, name: str) -> NDArray[Any]:
        """The statistic `name` (a Calculation field, not a text) of every row."""
        if name not in STATISTICS:
            raise KeyError(name)
        fitted = self._fitted
        if fitted is not None and self._all_on_arrays:
            return fitted.statistics[name]
        kind = object if name in ("risk_band", "efficiency_band") else None
        values = np.empty(self._count, kind or np.float64)
        if fitted is not None:
            values[fitted.rows] = fitted.statistics[name]
        for row, calculation in self._calculated.items():
            if self._fitted_index[row] < 0:
                values[row] = getattr(calculation, name)
        return values.astype(np.int64) if name in ("warmup_steps", "personal_runs") else values

    def all_warnings(self) -> list[tuple[str, ...]]:
        """Every row's warnings, in order (a row of the columns with none is not described)."""
        found: list[tuple[str, ...]] = [()] * self._count
        fitted = self._fitted
        if fitted is not None:
            for index in np.flatnonzero(fitted.maybe_warned).tolist():
                found[int(fitted.rows[index])] = fitted.warnings(index)
        for row in np.flatnonzero(self._fitted_index < 0).tolist():
            found[row] = self[row].warnings
        return found

    def all_texts(self) -> tuple[list[tuple[Factor, ...]], list[Evidence | None]]:
        """Every row's factors and evidence band, in order."""
        factors: list[tuple[Factor, ...]] = [()] * self._count
        evidence: list[Evidence | None] = [None] * self._count
        fitted = self._fitted
        if fitted is not None:
            for row, index in enumerate(self._fitted_index.tolist()):
                if index >= 0:
                    factors[row], evidence[row] = fitted.factors(index), fitted.evidence(index)
        for row, calculation in self._calculated.items():
            factors[row], evidence[row] = calculation.factors, calculation.evidence
        return factors, evidence


def calculate_fitted(
    fields: Mapping[str, list[Any]],
    resolved_rows: Sequence[Resolved | None],
    rows: list[int],
    offsets: Sequence[float | None],
    learning_rates: Sequence[float | None],
) -> Fitted | None:
    """calculate() of the given rows (checked, formula calibrated, no run log's factor) on arrays.
    A row whose schedule never trains, or whose polynomial default floor has no solution or no
    closed form, is left out, for calculate() to report or to do."""
    if not rows:
        return None
    resolved = [entry for entry in map(resolved_rows.__getitem__, rows) if entry is not None]
    assert len(resolved) == len(rows)  # a fitted row is resolved
    take = itemgetter(*rows) if len(rows) > 1 else (lambda column: (column[rows[0]],))

    def column(name: str, dtype: type) -> NDArray[Any]:
        return np.array(take(fields[name]), dtype)

    steps, rank, images = column("steps", np.int64), column("rank", np.int64), column("images", np.int64)
    alpha, resolution = column("alpha", np.float64), column("resolution", np.int64)
    effective = column("batch_size", np.int64) * column("grad_accum", np.int64)
    networks = take(fields["network"])
    warmup_list = [entry.warmup_steps for entry in resolved]
    warmup = np.array(warmup_list, np.int64)

    # The schedules, integrated per owner, schedule and parameters: on arrays where a group of
    # rows is large enough to pay for them, else run by run (and cached) as calculate() does.
    factors, zero_fractions = [0.0] * len(rows), [0.0] * len(rows)
    groups: dict[tuple[str, str, ScheduleArgs], list[int]] = {}
    floored: list[int] = []  # polynomial's default floor: solved below, on arrays
    for index, entry in enumerate(resolved):
        if uses_polynomial_default(entry):
            floored.append(index)
        else:
            groups.setdefault((schedule_owner(entry), entry.schedule.id, entry.schedule_args), []).append(index)
    step_list = steps.tolist()
    for (owner, schedule, args), members in groups.items():
        if len(members) < _ARRAY_GROUP_ROWS or not has_array_form(owner, schedule):
            for index in members:
                integral = integrate_once(owner, schedule, step_list[index], warmup_list[index], args)
                factors[index], zero_fractions[index] = integral.scheduler_factor, integral.zero_fraction
            continue
        where = np.array(members, np.int64)
        factor, zeros = integrate_many(owner, schedule, steps[where], warmup[where], args)
        for index, value, zero in zip(members, factor.tolist(), zeros.tolist(), strict=True):
            factors[index], zero_fractions[index] = value, zero
    # Polynomial's sums before its floor; a power without a closed form is left to calculate().
    left = np.zeros(len(rows), bool)
    sums = [
        polynomial_sums(step_list[index], warmup_list[index], resolved[index].schedule_args.power) for index in floored
    ]
    for index, found in zip(floored, sums, strict=True):
        left[index] = found is None
        zero_fractions[index] = (1 if warmup_list[index] > 0 else 0) / step_list[index]
    solvable = [(index, found) for index, found in zip(floored, sums, strict=True) if found is not None]
    scheduler_factor, zero_fraction = np.array(factors), np.array(zero_fractions)

    # What each row's catalog entries set, looked up once per combination.
    setups: dict[tuple[str, str, str, str], int] = {}
    setup_of = []
    for entry, network in zip(resolved, networks, strict=True):
        key = (entry.model.id, entry.optimizer.id, network, entry.objective.id)
        setup_of.append(setups.setdefault(key, len(setups)))
    listed = [calibrated.setup_for(*key) for key in setups]
    which = np.array(setup_of, np.int64)

    def per_setup(values: list[Any]) -> FloatArray:
        return np.array(values, np.float64)[which]

    native = per_setup([catalog.MODELS.by_id(key[0]).native_resolution for key in setups])
    p90 = per_setup([math.nan if setup.evidence is None else setup.evidence.p90 for setup in listed])
    p10 = per_setup([math.nan if setup.evidence is None else setup.evidence.p10 for setup in listed])

    # calibrated.recommend: the features, each factor's multiplier and their product, left to right.
    full_matrix = np.array([network in ("lokr", "loha") for network in networks]) & (rank >= catalog.FULL_MATRIX_RANK)
    horizon_scale = calibration_data.HORIZON_SCALE_STEPS
    features = (
        np.where(full_matrix, 0.0, each(math.log, alpha) - each(math.log, rank.astype(np.float64))),
        each(math.log, effective.astype(np.float64)),
        each(math.log1p, np.maximum(steps, calibration_data.HORIZON_SHORTEST_STEPS) / horizon_scale)
        - math.log1p(calibrated.REFERENCE_STEPS / horizon_scale),
        each(math.log, images / calibrated.REFERENCE_IMAGES),
        each(math.log, resolution / native),
    )
    multipliers = [per_setup([setup.family.multiplier for setup in listed])]
    multipliers += [
        each(math.exp, calibration_data.EXPONENTS[name] * feature)
        for name, feature in zip(calibrated.EXPONENTS[:-1], features, strict=True)  # the schedule's: below
    ]
    fixed = [per_setup([setup.fixed[position].multiplier for setup in listed]) for position in range(3)]
    before_schedule = multipliers[0] * multipliers[1]
    for multiplier in multipliers[2:]:
        before_schedule = before_schedule * multiplier
    # An adaptive optimizer: its one factor is the rate (1.0, or a start rate), the fitted ones count as 1.
    adaptive = per_setup([setup.adaptive is not None for setup in listed]).astype(bool)
    adaptive_rate = per_setup([1.0 if setup.adaptive is None else setup.adaptive.multiplier for setup in listed])
    assert calibrated.EXPONENTS[-1] == "schedule"
    schedule_exponent = calibration_data.EXPONENTS["schedule"]

    def schedule_multiplier(factor: FloatArray) -> FloatArray:
        return each(math.exp, schedule_exponent * -each(math.log, np.where(factor > 0.0, factor, 1.0)))

    def rate_of(where: Any, schedule: FloatArray) -> FloatArray:
        product = before_schedule[where] * schedule
        for multiplier in fixed:
            product = product * multiplier[where]
        rate: FloatArray = np.where(adaptive[where], adaptive_rate[where], product)
        return rate

    if solvable:
        where = np.array([index for index, _ in solvable], np.int64)
        ramp, sum_h, sum_h_squared = (
            np.array(column) for column in zip(*(found for _, found in solvable), strict=True)
        )
        length = steps[where] - warmup[where]

        def floored_factor(floor: FloatArray) -> FloatArray:
            total: FloatArray = ramp + affine_square_sum(sum_h, sum_h_squared, length, floor)
            factor: FloatArray = np.sqrt(np.maximum(0.0, total) / steps[where])
            return factor

        floor, factor = solve_polynomial_floors(
            len(where), floored_factor, lambda factor: rate_of(where, schedule_multiplier(factor))
        )
        left[where] = np.isnan(floor)
        scheduler_factor[where] = factor
    trains = (scheduler_factor > 0.0) & ~left
    multipliers.append(schedule_multiplier(scheduler_factor))
    multipliers += fixed
    rate = rate_of(slice(None), multipliers[len(calibrated.EXPONENTS)])

    # _calibrated_model's scores and calculate's adjustment (no run log: factor 1).
    fitted_widths = score_widths(calibration_data.RESIDUAL_LOG_SD)
    adaptive_widths = score_widths(calibration_data.ADAPTIVE_LOG_SD)

    def by_widths(value: Callable[[ScoreWidths], float]) -> FloatArray:
        return np.where(adaptive, value(adaptive_widths), value(fitted_widths))

    undershoot_k = by_widths(lambda widths: widths.undershoot_k)
    widest_overshoot_k = by_widths(lambda widths: widths.overshoot_k)
    shown_working = p90 / rate - 1.0
    evidence_k = -math.log(catalog.STABILITY_CAUTION / 100.0) / each(_square, np.where(p90 > rate, shown_working, 1.0))
    overshoot_k = np.where(p90 > rate, np.minimum(widest_overshoot_k, evidence_k), widest_overshoot_k)
    chosen = np.array([math.nan if (value := learning_rates[row]) is None else float(value) for row in rows])
    given_rate = ~np.isnan(chosen)
    offset = np.array([0.0 if (value := offsets[row]) is None else float(value) for row in rows])
    offset = np.where(given_rate, chosen / rate - 1.0, offset)
    energy_ratio = 1.0 + offset
    deviation = np.abs(offset)
    stability = 100.0 * each(math.exp, -np.where(offset > 0, overshoot_k, undershoot_k) * deviation * deviation)
    efficiency_sensitivity = by_widths(lambda widths: widths.efficiency_sensitivity)
    efficiency = 100.0 * each(math.exp, -efficiency_sensitivity * each(_square, energy_ratio - 1.0))
    target_energy = rate * scheduler_factor
    effective_batch = effective.astype(np.float64)
    statistics: dict[str, NDArray[Any]] = {
        "recommended_lr": rate,
        "adjusted_lr": np.where(given_rate, chosen, rate * (1.0 + offset)),
        "offset": offset,
        "target_energy": target_energy,
        "delivered_energy": target_energy * energy_ratio,
        "energy_ratio": energy_ratio,
        "deviation": deviation,
        "effective_batch": effective_batch,
        "exposure": np.sqrt(steps * effective_batch / images),
        # capacity, resolution_scale and optimizer_modifier, as _calibrated_model reports them.
        "capacity": np.where(adaptive, 1.0, multipliers[_ALPHA_RATIO_FACTOR]),
        "resolution_scale": np.where(adaptive, 1.0, multipliers[_RESOLUTION_FACTOR]),
        "scheduler_factor": scheduler_factor,
        "optimizer_modifier": np.where(adaptive, 1.0, multipliers[_OPTIMIZER_FACTOR]),
        "warmup_steps": warmup,
        "curvature_factor": np.ones(len(rows)),
        "objective_sensitivity": per_setup([catalog.OBJECTIVES.by_id(key[3]).overshoot_sensitivity for key in setups]),
        "undershoot_k": undershoot_k,
        "overshoot_k": overshoot_k,
        "stability_score": stability,
        "efficiency_score": efficiency,
        "risk_band": np.array([risk_band(score) for score in stability.tolist()], object),
        "efficiency_band": np.array([efficiency_band(score) for score in efficiency.tolist()], object),
        "population_lr": rate,
        "personal_factor": np.ones(len(rows)),
        "personal_runs": np.zeros(len(rows), np.int64),
        "recommended_low": rate * by_widths(lambda widths: widths.population.band()[0]),
        "recommended_high": rate * by_widths(lambda widths: widths.population.band()[1]),
    }
    assert tuple(statistics) == STATISTICS

    # Where the evidence's warning is, and the two factors it names (as pulling_factors finds
    # them), on arrays: describing a warning then only writes it.
    leaving = calibrated.leaves_evidence(rate, p10, p90)
    warned = np.flatnonzero(leaving)
    fitted_multipliers = np.stack([values[warned] for values in multipliers[1:]], axis=1)
    toward = np.where((rate[warned] < p10[warned])[:, None], fitted_multipliers < 1.0, fitted_multipliers > 1.0)
    toward &= ~adaptive[warned][:, None]  # an adaptive optimizer's one factor pulls nothing
    strength = np.abs(each(math.log, fitted_multipliers.ravel())).reshape(fitted_multipliers.shape)
    strongest = np.argsort(np.where(toward, -strength, np.inf), axis=1, kind="stable")[:, :2]
    named = np.take_along_axis(toward, strongest, axis=1)
    pulling = {
        index: tuple(column + 1 for column, used in zip(columns, uses, strict=True) if used)
        for index, columns, uses in zip(warned.tolist(), strongest.tolist(), named.tolist(), strict=True)
    }
    # Where a configuration warning may be (configuration_warnings, checked loosely) or the
    # evidence's is: the other rows have none, and are never described for it.
    ignored = np.array([bool(entry.ignored_parameters) or runs_without_its_schedule(entry) for entry in resolved])
    maybe_warned = (
        leaving
        | ignored
        | (warmup > 0.99 * catalog.WARMUP_WARN_FRACTION * steps)
        | (alpha > 0.99 * catalog.ALPHA_WARN_RATIO * rank)
        | ~((rate >= catalog.PLAUSIBLE_LR_MIN * 1.01) & (rate <= catalog.PLAUSIBLE_LR_MAX * 0.99))
        | (zero_fraction >= 0.99 * catalog.ZERO_SCHEDULE_WARN_FRACTION)
    )

    kept = np.flatnonzero(trains)
    if len(kept) < len(rows):  # rows whose schedule never trains: calculate() reports them
        statistics = {name: values[kept] for name, values in statistics.items()}
    kept_list = kept.tolist()
    parts = (
        fields,
        [rows[index] for index in kept_list],
        [resolved[index] for index in kept_list],
        [listed[setup_of[index]] for index in kept_list],
        np.stack(multipliers, axis=1)[kept],  # a row's tuple is built when its recommendation is
        by_widths(lambda widths: widths.population.log_sd)[kept].tolist(),
        rate[kept].tolist(),
        scheduler_factor[kept].tolist(),
        zero_fraction[kept].tolist(),
        {position: found for position, index in enumerate(kept_list) if (found := pulling.get(index)) is not None},
    )
    return Fitted(np.array(rows, np.int64)[kept], statistics, parts, maybe_warned[kept])
