"""The LRTool energy model (docs/model.md §3): recommend, adjust, evaluate, score."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from typing import TYPE_CHECKING, Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from . import _calibrated as calibrated
from . import _catalog as catalog
from ._calibrated import Evidence, Factor
from ._cancel import raise_if_stopped, stop_when
from ._config import Resolved, ScheduleArgs, TrainingConfig, show_value
from ._exceptions import Cancelled, ConfigError, FieldViolation
from ._schedules import LRTOOL_1_0, Integral, integrate, step_multipliers
from ._warnings import configuration_warnings

#: Fields of a calculation request beside its configuration.
ADJUSTMENT_FIELDS = frozenset({"offset", "learning_rate"})


def placed_in_request(error: ConfigError, request: str, config: str) -> list[FieldViolation]:
    """A request's violations at their paths: offset and learning_rate belong to the request
    (`request`, "" at the top), every other field to its configuration (`config`)."""
    return [
        violation.under(request if violation.field in ADJUSTMENT_FIELDS else config) for violation in error.violations
    ]


#: transformers' polynomial schedule ends at lr_end = 1e-7 unless told otherwise.
_POLYNOMIAL_DEFAULT_LR_END = 1e-7
#: Fixed-point rounds for polynomial's default floor (lr_end / lr depends on lr).
_POLYNOMIAL_FIXED_POINT_ROUNDS = 8


class _DescribedOnRead:
    """A calibrated calculation's texts (its factors, and the warning that compares it with the
    presets) are described when first read: writing them costs more than the rest of a
    calculation, and batches and slider moves seldom read them. Once read, they are kept."""

    __slots__ = ("_described_by",)
    _described_by: calibrated.Recommendation
    warnings: tuple[str, ...]
    factors: tuple[Factor, ...]

    def _described_from(self, recommendation: calibrated.Recommendation) -> None:
        self._described_by = recommendation

    if not TYPE_CHECKING:  # to type checkers every attribute stays declared

        def __getattr__(self, name: str) -> Any:
            # Called only for a slot left unset: a text not read yet.
            if name == "warnings":
                value = self._described_by.described_warnings()
            elif name == "factors":
                value = self._described_by.factors
            else:
                raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
            setattr(self, name, value)
            return value


@dataclass(slots=True)  # not frozen: batches build 10⁵ of these and frozen fields cost ~40 % more
class Calculation(_DescribedOnRead):
    """Every statistic of one calculation (names as LRTool 1.0's saved statistics)."""

    recommended_lr: float
    adjusted_lr: float
    offset: float
    target_energy: float
    delivered_energy: float
    energy_ratio: float
    deviation: float
    effective_batch: float
    exposure: float
    capacity: float
    resolution_scale: float
    scheduler_factor: float
    optimizer_modifier: float
    warmup_steps: int
    curvature_factor: float
    objective_sensitivity: float
    undershoot_k: float
    overshoot_k: float
    stability_score: float
    efficiency_score: float
    risk_band: str
    efficiency_band: str
    warnings: tuple[str, ...] = ()
    # Personalization by a run log (docs/api.md "The run log"): the population's recommendation,
    # the factor the user's own runs put on it, how many runs informed it, and an 80 % band.
    population_lr: float = 0.0
    personal_factor: float = 1.0
    personal_runs: int = 0
    recommended_low: float = 0.0
    recommended_high: float = 0.0
    # What public presets of this setup use, and the recommendation factor by factor
    # (formula set "calibrated" only).
    evidence: Evidence | None = None
    factors: tuple[Factor, ...] = ()

    def _describe_later(self, recommendation: calibrated.Recommendation) -> None:
        """Leave the texts unset until read, unless `recommendation` has described them already."""
        self._described_from(recommendation)
        if recommendation.all_warnings is None:
            del self.warnings
        else:
            self.warnings = recommendation.all_warnings
        if recommendation.described is None:
            del self.factors
        else:
            self.factors = recommendation.described


@dataclass(frozen=True, slots=True)
class Personalization:
    """What a run log says about a configuration: the factor on the population rate, the
    number of runs behind it and the remaining uncertainty (1 sd of the natural log). A
    posterior that is not symmetric gives its 80 % band's edges as factors too."""

    factor: float
    runs: int
    log_sd: float
    low_factor: float | None = None
    high_factor: float | None = None

    def band(self) -> tuple[float, float]:
        """The 80 % band's edges as factors on the population rate."""
        if self.low_factor is not None and self.high_factor is not None:
            return self.low_factor, self.high_factor
        half_band = math.exp(catalog.BAND_Z_80 * self.log_sd)
        return self.factor / half_band, self.factor * half_band


@dataclass(frozen=True, slots=True)
class CalculateRequest:
    """One configuration with its adjustment: an `offset`, or a `learning_rate` to evaluate."""

    config: TrainingConfig
    offset: float | None = None
    learning_rate: float | None = None
    personalization: Personalization | None = None


@dataclass(frozen=True, slots=True)
class ScheduleCurve:
    """The multiplier the trainer applies, sampled at `steps` (the full run, downsampled)."""

    steps: tuple[int, ...]
    multipliers: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ScoreCurve:
    """Stability and efficiency against the slider offset."""

    offsets: tuple[float, ...]
    stability: tuple[float, ...]
    efficiency: tuple[float, ...]


@dataclass(slots=True)  # internal and short-lived: not frozen, which is cheaper to build
class _Model:
    """The offset-independent part of a calculation."""

    recommended_lr: float
    target_energy: float
    effective_batch: float
    exposure: float
    capacity: float
    resolution_scale: float
    integral: Integral
    optimizer_modifier: float
    curvature_factor: float
    objective_sensitivity: float
    overshoot_k: float
    warnings: tuple[str, ...]  # formula sets energy and lrtool-1.0; calibrated: the recommendation's
    parity_rounding: bool  # reproduce LRTool 1.0's floating-point steps (formula lrtool-1.0)
    schedule_args: ScheduleArgs  # as integrated, polynomial's default floor solved
    population: Personalization  # no run log: factor 1, the population's own spread
    undershoot_k: float = catalog.UNDERSHOOT_K
    efficiency_sensitivity: float = catalog.EFFICIENCY_SENSITIVITY
    recommendation: calibrated.Recommendation | None = None  # formula set calibrated

    def delivered_energy(self, learning_rate: float) -> float:
        """learning_rate · scheduler_factor · exposure · capacity · resolution_scale · optimizer_modifier,
        multiplied left to right as LRTool 1.0 did (its rounding is part of its results)."""
        return (
            learning_rate
            * self.integral.scheduler_factor
            * self.exposure
            * self.capacity
            * self.resolution_scale
            * self.optimizer_modifier
        )

    def stability(self, offset: float) -> float:
        deviation = abs(offset)
        k = self.overshoot_k if offset > 0 else self.undershoot_k
        return 100.0 * math.exp(-k * deviation * deviation)

    def efficiency(self, energy_ratio: float) -> float:
        return 100.0 * math.exp(-self.efficiency_sensitivity * (energy_ratio - 1.0) ** 2)


def risk_band(stability_score: float) -> str:
    if stability_score >= catalog.STABILITY_SAFE:
        return "Safe"
    if stability_score >= catalog.STABILITY_CAUTION:
        return "Caution"
    return "Risky"


def efficiency_band(efficiency_score: float) -> str:
    if efficiency_score >= catalog.EFFICIENCY_OPTIMAL:
        return "Optimal"
    if efficiency_score >= catalog.EFFICIENCY_SUBOPTIMAL:
        return "Suboptimal"
    return "Inefficient"


def _schedule_owner(resolved: Resolved) -> str:
    return resolved.trainer.id if resolved.formula.uses_trainer else LRTOOL_1_0


def _integrate(config: TrainingConfig, resolved: Resolved, args: ScheduleArgs) -> Integral:
    return integrate(_schedule_owner(resolved), resolved.schedule.id, config.steps, resolved.warmup_steps, args)


def _schedule_integral(
    config: TrainingConfig, resolved: Resolved, rate_for: Callable[[TrainingConfig, Integral], float]
) -> tuple[Integral, ScheduleArgs]:
    """The schedule integrated as the trainer applies it (polynomial's default floor solved for
    the rate it produces); a schedule that never trains is an input error."""
    args = resolved.schedule_args
    if _uses_polynomial_default(resolved):
        floor, integral = _polynomial_default_floor(config, args, rate_for)
        args = replace(args, min_lr_ratio=floor)
    else:
        integral = _integrate(config, resolved, args)
    if integral.scheduler_factor <= 0.0:
        raise ConfigError(
            [FieldViolation("scheduler", f"schedule {resolved.schedule.id!r} is zero at every step: it never trains")]
        )
    return integral, args


def _model(config: TrainingConfig) -> _Model:
    if config.resolved.formula.id == catalog.CALIBRATED:
        return _calibrated_model(config)
    return _energy_model(config)


def _energy_model(config: TrainingConfig) -> _Model:
    """Formula sets energy and lrtool-1.0: LRTool 1.0's constants."""
    resolved = config.resolved
    model = resolved.model
    arch = model.arch
    objective = resolved.objective
    # Validation admits only LRTool 1.0's models and optimizers here.
    assert arch is not None and model.base_energy is not None and resolved.optimizer.modifier is not None

    effective_batch = config.batch_size + catalog.ACCUM_EFFICIENCY * (config.grad_accum - 1)
    # LRTool 1.0 counted repeats as extra images.
    exposure = math.sqrt(config.steps * effective_batch / (config.images * config.repeats))
    rank_per_alpha = config.rank / config.alpha
    # A vanishingly small alpha overflows the ratio; the square roots apart stay finite.
    capacity = (
        math.sqrt(rank_per_alpha) if math.isfinite(rank_per_alpha) else math.sqrt(config.rank) / math.sqrt(config.alpha)
    )
    resolution_scale = (config.resolution / model.native_resolution) ** arch.resolution_exponent
    optimizer_modifier = resolved.optimizer.modifier
    target_energy = model.base_energy * objective.energy_modifier
    scale_without_schedule = exposure * capacity * resolution_scale * optimizer_modifier

    integral, args = _schedule_integral(
        config, resolved, lambda _, integral: target_energy / (integral.scheduler_factor * scale_without_schedule)
    )
    energy_scale = integral.scheduler_factor * exposure * capacity * resolution_scale * optimizer_modifier
    recommended_lr = target_energy / energy_scale  # multiplied in LRTool 1.0's order: parity

    curvature_factor = math.sqrt(model.base_energy / catalog.REFERENCE_ENERGY)
    noise_factor = max(catalog.NOISE_FACTOR_FLOOR, math.sqrt(1.0 / effective_batch))
    overshoot_k = curvature_factor * arch.fragility * objective.overshoot_sensitivity * noise_factor
    return _Model(
        recommended_lr=recommended_lr,
        target_energy=target_energy,
        effective_batch=effective_batch,
        exposure=exposure,
        capacity=capacity,
        resolution_scale=resolution_scale,
        integral=integral,
        optimizer_modifier=optimizer_modifier,
        curvature_factor=curvature_factor,
        objective_sensitivity=objective.overshoot_sensitivity,
        overshoot_k=overshoot_k,
        warnings=configuration_warnings(config.__dict__, resolved, recommended_lr, integral.zero_fraction),
        parity_rounding=not resolved.formula.uses_trainer,
        schedule_args=args,
        population=Personalization(1.0, 0, catalog.POPULATION_LOG_SD),
    )


def _calibrated_model(config: TrainingConfig) -> _Model:
    """Formula set calibrated (docs/calibration.md)."""
    resolved = config.resolved
    integral, args = _schedule_integral(config, resolved, _calibrated_rate)
    recommendation = calibrated.recommend(config, integral.scheduler_factor, integral.zero_fraction)
    recommended_lr = recommendation.learning_rate
    widths = _score_widths(recommendation.log_sd)
    multipliers = recommendation.multipliers
    # An adaptive optimizer's one factor replaces the fitted ones: those then count as 1.
    fitted = len(multipliers) > 1
    effective_batch = float(config.batch_size * config.grad_accum)
    return _Model(
        recommended_lr=recommended_lr,
        # The rate-time product the run delivers at the recommendation: its "energy".
        target_energy=recommended_lr * integral.scheduler_factor,
        effective_batch=effective_batch,
        exposure=math.sqrt(config.steps * effective_batch / config.images),
        capacity=multipliers[_ALPHA_RATIO_FACTOR] if fitted else 1.0,
        resolution_scale=multipliers[_RESOLUTION_FACTOR] if fitted else 1.0,
        integral=integral,
        optimizer_modifier=multipliers[_OPTIMIZER_FACTOR] if fitted else 1.0,
        curvature_factor=1.0,
        objective_sensitivity=resolved.objective.overshoot_sensitivity,
        overshoot_k=_overshoot_k(recommendation, widths),
        warnings=(),  # described on read, as the evidence's
        parity_rounding=False,
        schedule_args=args,
        population=widths.population,
        undershoot_k=widths.undershoot_k,
        efficiency_sensitivity=widths.efficiency_sensitivity,
        recommendation=recommendation,
    )


def _calibrated_rate(config: TrainingConfig, integral: Integral) -> float:
    return calibrated.recommend(config, integral.scheduler_factor, integral.zero_fraction).learning_rate


#: Where calibrated.recommend lists the factors _Model reports as statistics.
_ALPHA_RATIO_FACTOR, _RESOLUTION_FACTOR, _OPTIMIZER_FACTOR = (
    calibrated.FACTOR_ORDER.index(name) for name in ("alpha_ratio", "resolution", "optimizer")
)


class _ScoreWidths(NamedTuple):
    overshoot_k: float
    undershoot_k: float
    efficiency_sensitivity: float
    population: Personalization  # no run log: factor 1, the fit's own spread


@cache
def _score_widths(log_sd: float) -> _ScoreWidths:
    """Stability and efficiency widths from the fit's spread: the 80 % band of where the best
    rate lies stays Safe (computed once per spread; see _overshoot_k for the evidence's part)."""
    spread = catalog.BAND_Z_80 * log_sd
    over = math.expm1(spread)  # the band's upper edge, as an offset
    under = -math.expm1(-spread)
    overshoot_k = -math.log(catalog.STABILITY_SAFE / 100.0) / over**2
    undershoot_k = -math.log(catalog.STABILITY_SAFE / 100.0) / under**2
    efficiency_sensitivity = -math.log(catalog.EFFICIENCY_SUBOPTIMAL / 100.0) / over**2
    return _ScoreWidths(overshoot_k, undershoot_k, efficiency_sensitivity, Personalization(1.0, 0, log_sd))


def _overshoot_k(recommendation: calibrated.Recommendation, widths: _ScoreWidths) -> float:
    """A rate up to the 90th percentile of the matching presets is never Risky."""
    evidence = recommendation.evidence
    if evidence is not None and evidence.p90 > recommendation.learning_rate:
        shown_working = evidence.p90 / recommendation.learning_rate - 1.0
        return min(widths.overshoot_k, -math.log(catalog.STABILITY_CAUTION / 100.0) / shown_working**2)
    return widths.overshoot_k


def population(config: TrainingConfig) -> Personalization:
    """No run log: factor 1 and the spread of the best rate around this formula set's recommendation."""
    return _memoized_model(config).population


def _memoized_model(config: TrainingConfig) -> _Model:
    """_model(config), computed once per configuration object (two threads may both compute it; same result)."""
    private: dict[str, Any] = config.__pydantic_private__  # type: ignore[assignment]
    model: _Model | None = private["_calculation_memo"]
    if model is None:
        model = private["_calculation_memo"] = _model(config)
    return model


def _uses_polynomial_default(resolved: Resolved) -> bool:
    return (
        resolved.formula.uses_trainer
        and resolved.schedule.id == "polynomial"
        and resolved.schedule_args.min_lr_ratio is None
    )


def _polynomial_default_floor(
    config: TrainingConfig, args: ScheduleArgs, rate_for: Callable[[TrainingConfig, Integral], float]
) -> tuple[float, Integral]:
    """transformers' polynomial ends at lr_end = 1e-7, so its floor ratio depends on the LR itself.

    Solve lr = rate_for(integral(1e-7 / lr)) by fixed-point iteration: the factor barely
    depends on the floor, so a few rounds settle to machine precision.
    """
    floor = 0.0
    integral = _integrate(config, config.resolved, replace(args, min_lr_ratio=floor))
    for _ in range(_POLYNOMIAL_FIXED_POINT_ROUNDS):
        learning_rate = rate_for(config, integral)
        next_floor = _POLYNOMIAL_DEFAULT_LR_END / learning_rate
        if next_floor >= 1.0:
            raise ConfigError(
                [
                    FieldViolation(
                        "min_lr_ratio",
                        f"the recommended rate {learning_rate:.3g} is not above transformers' default lr_end 1e-7;"
                        " give min_lr_ratio (lr_end / lr) explicitly, from 0 to below 1",
                    )
                ]
            )
        if next_floor == floor:
            break
        floor = next_floor
        integral = _integrate(config, config.resolved, replace(args, min_lr_ratio=floor))
    return floor, integral


def solve_polynomial_floors(
    count: int,
    factor_of: Callable[[NDArray[np.float64]], NDArray[np.float64]],
    rate_of: Callable[[NDArray[np.float64]], NDArray[np.float64]],
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """_polynomial_default_floor for `count` runs at once, round for round: the floors (NaN where
    lr_end is not below the rate, which calculate() reports) and the scheduler factors there.
    `factor_of(floors)` integrates the schedules, `rate_of(factors)` recommends."""
    floor = np.zeros(count)
    factor = factor_of(floor)
    going = np.ones(count, bool)
    failed = np.zeros(count, bool)
    for _ in range(_POLYNOMIAL_FIXED_POINT_ROUNDS):
        next_floor = _POLYNOMIAL_DEFAULT_LR_END / rate_of(factor)
        failed |= going & (next_floor >= 1.0)
        going &= (next_floor < 1.0) & (next_floor != floor)
        if not going.any():
            break
        floor = np.where(going, next_floor, floor)
        factor = np.where(going, factor_of(floor), factor)
    return np.where(failed, np.nan, floor), factor


def _finish(
    model: _Model, offset: float, adjusted_lr: float, warmup_steps: int, personal: Personalization
) -> Calculation:
    """Every statistic at `offset` from the (personal) recommendation `model.recommended_lr × personal.factor`."""
    recommended_lr = model.recommended_lr * personal.factor
    target_energy = model.target_energy * personal.factor
    recommendation = model.recommendation
    low_factor, high_factor = personal.band()
    if model.parity_rounding:
        # LRTool 1.0 rebuilt the energy from the rate, rounding included.
        delivered_energy = model.delivered_energy(adjusted_lr)
        energy_ratio = delivered_energy / model.target_energy
        deviation = abs(delivered_energy - model.target_energy) / model.target_energy
        k = model.overshoot_k if delivered_energy > model.target_energy else catalog.UNDERSHOOT_K
        stability_score = 100.0 * math.exp(-k * deviation * deviation)
    else:
        # Algebraically delivered / target = 1 + offset; computing it so keeps offset 0 exact.
        energy_ratio = 1.0 + offset
        delivered_energy = target_energy * energy_ratio
        deviation = abs(offset)
        stability_score = model.stability(offset)
    efficiency_score = model.efficiency(energy_ratio)
    calculation = Calculation(
        recommended_lr=recommended_lr,
        adjusted_lr=adjusted_lr,
        offset=offset,
        target_energy=target_energy,
        delivered_energy=delivered_energy,
        energy_ratio=energy_ratio,
        deviation=deviation,
        effective_batch=model.effective_batch,
        exposure=model.exposure,
        capacity=model.capacity,
        resolution_scale=model.resolution_scale,
        scheduler_factor=model.integral.scheduler_factor,
        optimizer_modifier=model.optimizer_modifier,
        warmup_steps=warmup_steps,
        curvature_factor=model.curvature_factor,
        objective_sensitivity=model.objective_sensitivity,
        undershoot_k=model.undershoot_k,
        overshoot_k=model.overshoot_k,
        stability_score=stability_score,
        efficiency_score=efficiency_score,
        risk_band=risk_band(stability_score),
        efficiency_band=efficiency_band(efficiency_score),
        warnings=model.warnings,
        population_lr=model.recommended_lr,
        personal_factor=personal.factor,
        personal_runs=personal.runs,
        recommended_low=model.recommended_lr * low_factor,
        recommended_high=model.recommended_lr * high_factor,
        evidence=None if recommendation is None else recommendation.evidence,
    )
    if recommendation is not None:
        calculation._describe_later(recommendation)
    return calculation


def check_adjustment(offset: float | None = None, learning_rate: float | None = None) -> None:
    """Raise ConfigError unless the slider offset / chosen rate are acceptable (and not both given)."""
    problems = []
    if offset is not None and learning_rate is not None:
        problems.append(FieldViolation("learning_rate", "give either offset or learning_rate, not both"))
    for name, value in (("offset", offset), ("learning_rate", learning_rate)):
        if value is None:
            continue
        accepted = catalog.INPUT_RANGES[name]
        # NaN and infinities fall outside every range.
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not accepted.contains(value):
            problems.append(
                FieldViolation(name, f"must be {accepted.describe()}; got {show_value(value)}", accepted.describe())
            )
    if problems:
        raise ConfigError(problems)


def calculate(
    config: TrainingConfig,
    offset: float | None = None,
    learning_rate: float | None = None,
    personalization: Personalization | None = None,
) -> Calculation:
    """Recommend a learning rate for `config` and score it at `offset` (default 0),
    or score a chosen `learning_rate` (its offset = learning_rate / recommended − 1, not clamped).

    `personalization` (what a run log says) scales the population's recommendation; the
    lrtool-1.0 formula set reproduces LRTool 1.0 and is never personalized.
    """
    if learning_rate is not None or not (offset is None or (type(offset) is float and -1.0 <= offset <= 1.0)):
        check_adjustment(offset, learning_rate)
    model = _memoized_model(config)
    personal = model.population if personalization is None or model.parity_rounding else personalization
    recommended_lr = model.recommended_lr * personal.factor
    warmup_steps = config.resolved.warmup_steps
    if learning_rate is not None:
        return _finish(model, learning_rate / recommended_lr - 1.0, float(learning_rate), warmup_steps, personal)
    chosen = 0.0 if offset is None else float(offset)
    return _finish(model, chosen, recommended_lr * (1.0 + chosen), warmup_steps, personal)


def evaluate(config: TrainingConfig, learning_rate: float) -> Calculation:
    """Score a learning rate the user already has in mind."""
    return calculate(config, learning_rate=learning_rate)


def calculate_batch(
    requests: Iterable[CalculateRequest], first_index: int = 0, stop: Callable[[], bool] | None = None
) -> list[Calculation]:
    """Calculate many configurations, in order; every bad request is reported, as
    `requests[i].offset` or `requests[i].config.field` (i counted from `first_index`).

    `stop` is asked before each request and inside long ones (as `stop_when` does); when
    it answers True the batch raises Cancelled with the number of results completed.
    """
    if stop is not None:
        with stop_when(stop):
            return calculate_batch(requests, first_index)
    results: list[Calculation] = []
    problems: list[FieldViolation] = []
    for index, request in enumerate(requests, start=first_index):
        try:
            raise_if_stopped()
            results.append(calculate(request.config, request.offset, request.learning_rate, request.personalization))
        except Cancelled:
            raise Cancelled(len(results)) from None
        except ConfigError as error:
            problems.extend(placed_in_request(error, f"requests[{index}]", f"requests[{index}].config"))
    if problems:
        raise ConfigError(problems)
    return results


def schedule_curve(config: TrainingConfig, points: int = 200) -> ScheduleCurve:
    """The multiplier at up to `points` evenly spread steps (always the first and last)."""
    if not 2 <= points <= 100_000:
        raise ConfigError([FieldViolation("points", f"must be an integer from 2 to 100,000; got {points}")])
    resolved = config.resolved
    owner = _schedule_owner(resolved)
    first = 1 if owner == LRTOOL_1_0 else 0
    steps = np.unique(np.linspace(first, first + config.steps - 1, num=min(points, config.steps)).round()).astype(
        np.int64
    )
    # Polynomial's default floor depends on the rate: take the one the calculation solved for.
    args = _memoized_model(config).schedule_args if _uses_polynomial_default(resolved) else resolved.schedule_args
    values = step_multipliers(owner, resolved.schedule.id, config.steps, resolved.warmup_steps, args, steps)
    return ScheduleCurve(tuple(int(step) for step in steps), tuple(float(value) for value in values))


def score_curve(config: TrainingConfig, points: int = 201) -> ScoreCurve:
    """Stability and efficiency at `points` offsets evenly spread over −1 … +1."""
    if not 2 <= points <= 100_000:
        raise ConfigError([FieldViolation("points", f"must be an integer from 2 to 100,000; got {points}")])
    model = _memoized_model(config)
    offsets = [float(value) for value in np.linspace(catalog.OFFSET_MIN, catalog.OFFSET_MAX, points)]
    return ScoreCurve(
        tuple(offsets),
        tuple(model.stability(offset) for offset in offsets),
        tuple(model.efficiency(1.0 + offset) for offset in offsets),
    )


def sweep(config: TrainingConfig, field: str, values: Sequence[object]) -> list[TrainingConfig]:
    """Copies of `config` with `field` set to each value (validated), for comparing runs."""
    base = config.model_dump(exclude_none=True)
    configs = []
    problems: list[FieldViolation] = []
    for index, value in enumerate(values):
        try:
            configs.append(TrainingConfig(**{**base, field: value}))
        except ConfigError as error:
            problems.extend(violation.under(f"values[{index}]") for violation in error.violations)
    if problems:
        raise ConfigError(problems)
    return configs
