"""What a run log teaches: this user's factor on the population's recommendation (docs/run-log.md).

Each logged run says where the rate it used stood against the rate this user's setup wants:
an outcome (UNDERTRAINED, GOOD, OVERTRAINED, DIVERGED) for the final checkpoint, and a best
checkpoint that reached the target at its step. Measured against the population's
recommendation for that run's own configuration, every run becomes evidence about one number,
the user's log-factor θ = ln(best rate / population rate), which carries over to the next
configuration of the same model family. The posterior of θ is computed exactly on a grid
(censored outcomes have no conjugate form) from a prior that keeps one run from swinging it.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from . import _catalog as catalog
from ._calculate import Personalization, calculate, population
from ._config import TrainingConfig, show_value
from ._exceptions import ConfigError, FieldViolation

# --- How outcomes are read (every number here is a judgement: docs/run-log.md) ------------

#: The grid of θ: ±4 in ln (÷55 … ×55) holds any plausible user; 801 points resolve the band to 1 %.
THETA_LIMIT = 4.0
THETA_POINTS = 801
#: GOOD: the rate used was within this much (in ln, ×1.28) of the best. People cannot tell
#: rates closer than that apart by the samples, so repeated GOOD runs at one rate say "the best
#: is within ±28 % of it" and never pin it closer: the likelihood is a plateau, not a peak.
GOOD_LOG_TOLERANCE = 0.25
#: How soft every judgement's edge is (in ln): a rate a little outside the tolerance may still
#: be called GOOD, one a little under the best may be called UNDERTRAINED or GOOD.
JUDGEMENT_LOG_SD = 0.2
#: Checkpoints people keep in one run (one every tenth is usual): a best checkpoint stands for the
#: best step give or take one such spacing.
CHECKPOINTS_PER_RUN = 10
#: DIVERGED: the rate was far above the best. LoRA training under Adam-type optimizers burns
#: at 1.5–3× its best rate and blows up (noise, NaN loss) beyond about 3×.
DIVERGED_LOG_MARGIN = math.log(3.0)
#: A run of another model family says little about this one: its terms get this much more spread
#: (in quadrature), so ten such runs weigh less than one of the family itself.
OTHER_FAMILY_LOG_SD = 1.5
#: The chance that an outcome was misjudged or had another cause (a bad seed, broken captions):
#: no run can push θ arbitrarily far, and contradicting runs soften each other instead of
#: cancelling to an overconfident middle.
MISJUDGED = 0.03
#: The posterior's median is the factor; its 10th and 90th percentiles bound the 80 % band.
BAND_QUANTILES = (0.1, 0.5, 0.9)

_THETA = np.linspace(-THETA_LIMIT, THETA_LIMIT, THETA_POINTS)


class Outcome(enum.Enum):
    """How a run's final checkpoint came out, against the rate its setup wants."""

    UNSPECIFIED = "unspecified"
    UNDERTRAINED = "undertrained"
    GOOD = "good"
    OVERTRAINED = "overtrained"
    DIVERGED = "diverged"

    @classmethod
    def from_word(cls, word: str) -> Outcome:
        """'GOOD', 'good', ' Overtrained ' → Outcome; '' → UNSPECIFIED; ValueError otherwise."""
        key = word.strip().lower()
        if not key:
            return cls.UNSPECIFIED
        for outcome in cls:
            if outcome.value == key:
                return outcome
        raise ValueError(f"must be one of {describe_outcomes()} (or empty); got {show_value(word)}")


def describe_outcomes() -> str:
    return ", ".join(outcome.name for outcome in Outcome if outcome is not Outcome.UNSPECIFIED)


@dataclass(frozen=True, slots=True)
class LoggedRun:
    """A run that was really trained: its configuration, the peak rate, how it came out."""

    config: TrainingConfig
    learning_rate: float
    outcome: Outcome = Outcome.UNSPECIFIED
    best_step: int | None = None


def model_family(config: TrainingConfig) -> str:
    """The family whose runs inform each other fully. For now each base model is its own family."""
    return config.resolved.model.id


def check_run(config: TrainingConfig, learning_rate: float, best_step: int | None) -> None:
    """Raise ConfigError (fields learning_rate, best_step) unless the run could have happened."""
    problems: list[FieldViolation] = []
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, int | float):
        problems.append(FieldViolation("learning_rate", f"must be a number; got {show_value(learning_rate)}"))
    elif not (math.isfinite(learning_rate) and learning_rate > 0):
        problems.append(
            FieldViolation("learning_rate", f"must be a finite number above 0; got {show_value(learning_rate)}")
        )
    if best_step is not None and not (
        isinstance(best_step, int) and not isinstance(best_step, bool) and 1 <= best_step <= config.steps
    ):
        problems.append(
            FieldViolation(
                "best_step",
                f"must be a step of the run, from 1 to steps ({config.steps:,}); got {show_value(best_step)}",
            )
        )
    if problems:
        raise ConfigError(problems)


def personalize(config: TrainingConfig, runs: Iterable[LoggedRun]) -> Personalization:
    """This user's factor on the population's recommendation for `config`, from the logged runs.

    Runs of `config`'s model family inform it fully and are counted (`runs`); runs of other
    families nudge it weakly and are not counted; runs with neither an outcome nor an early best
    checkpoint say nothing. With no informative run the answer is the population itself
    (factor 1, the population's spread).
    """
    prior = population(config)  # factor 1, with this formula set's own spread
    if not config.resolved.formula.uses_trainer:  # lrtool-1.0 reproduces LRTool 1.0: never personalized
        return prior
    family = model_family(config)
    formula = config.formula
    # Each outcome's terms as (x, spread, tolerance) rows, evaluated together on the grid below.
    terms: dict[Outcome, list[tuple[float, float, float]]] = {}
    own_runs = 0  # runs of this family: the count a person is shown
    for run in runs:
        evidence = _evidence(run, formula)
        if not evidence:
            continue
        own = model_family(run.config) == family
        # Another family's runs are read with much softer edges: they say little about this one.
        spread = JUDGEMENT_LOG_SD if own else math.hypot(JUDGEMENT_LOG_SD, OTHER_FAMILY_LOG_SD)
        for outcome, x, tolerance in evidence:
            terms.setdefault(outcome, []).append((x, spread, tolerance))
        own_runs += own
    if not terms:
        return prior
    log_posterior = -0.5 * (_THETA / prior.log_sd) ** 2
    for outcome, rows in terms.items():
        # One row per term (x, spread and tolerance as columns), one column per grid point.
        x, spread, tolerance = np.array(rows).T[:, :, np.newaxis]
        likelihood = _likelihood(outcome, x, spread, tolerance)
        log_posterior += np.log(MISJUDGED + (1.0 - MISJUDGED) * likelihood).sum(axis=0)
    posterior = np.exp(log_posterior - log_posterior.max())
    cumulative = np.cumsum(posterior)
    cumulative /= cumulative[-1]
    low, median, high = (float(np.interp(q, cumulative, _THETA)) for q in BAND_QUANTILES)
    # The spread is the 10th–90th percentile width in z units; the band keeps the real edges.
    return Personalization(
        math.exp(median), own_runs, (high - low) / (2.0 * catalog.BAND_Z_80), math.exp(low), math.exp(high)
    )


def _evidence(run: LoggedRun, formula: str) -> list[tuple[Outcome, float, float]]:
    """(outcome, x, tolerance) terms of one run, x = ln(rate used / population rate of its
    configuration); tolerance is how far from x a GOOD rate may lie."""
    steps = run.config.steps
    terms: list[tuple[Outcome, float, float]] = []
    reached_early = run.best_step is not None and run.best_step < steps
    if run.best_step is not None and reached_early:
        # The target was reached at best_step, give or take a checkpoint: the rate was right
        # (GOOD) for a run about that long. A best checkpoint within the first spacing may have
        # come after the target was passed: it says only that the rate was at least that high.
        spacing = max(1, steps // CHECKPOINTS_PER_RUN)
        shortest = _population_lr(run.config, formula, max(1, run.best_step - spacing))
        longest = _population_lr(run.config, formula, min(steps, run.best_step + spacing))
        if shortest is not None and longest is not None:
            low, high = math.log(run.learning_rate / shortest), math.log(run.learning_rate / longest)
            if run.best_step <= spacing:
                terms.append((Outcome.OVERTRAINED, high + GOOD_LOG_TOLERANCE, GOOD_LOG_TOLERANCE))
            else:
                terms.append((Outcome.GOOD, (low + high) / 2.0, GOOD_LOG_TOLERANCE + abs(high - low) / 2.0))
    # A best checkpoint before the end means the full run went past the target: only an outcome
    # that says so (OVERTRAINED, DIVERGED) adds to it; GOOD or UNDERTRAINED there describe the
    # final checkpoint against a worse one and would pull the other way.
    agrees = not reached_early or run.outcome in (Outcome.OVERTRAINED, Outcome.DIVERGED)
    if run.outcome is not Outcome.UNSPECIFIED and agrees:
        population_rate = _population_lr(run.config, formula, steps)
        if population_rate is not None:
            terms.append((run.outcome, math.log(run.learning_rate / population_rate), GOOD_LOG_TOLERANCE))
    return terms


def _likelihood(
    outcome: Outcome,
    x: npt.NDArray[np.float64],
    spread: npt.NDArray[np.float64],
    tolerance: npt.NDArray[np.float64],
) -> npt.NDArray[np.float64]:
    """P(outcome | θ) on the grid (one row per term), for runs whose rates stood at x against the population."""
    if outcome is Outcome.GOOD:  # within the tolerance of x, either side
        return _normal_cdf((_THETA - x + tolerance) / spread) - _normal_cdf((_THETA - x - tolerance) / spread)
    if outcome is Outcome.UNDERTRAINED:  # the best rate is above the one used: θ > x
        return _normal_cdf((_THETA - x) / spread)
    if outcome is Outcome.OVERTRAINED:  # below it: θ < x
        return _normal_cdf((x - _THETA) / spread)
    return _normal_cdf((x - DIVERGED_LOG_MARGIN - _THETA) / spread)  # DIVERGED: far below it


def _normal_cdf(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """Φ(z) by Abramowitz & Stegun 7.1.26 (error < 1.5e-7, far below MISJUDGED): no scipy needed."""
    t = np.abs(z) / math.sqrt(2.0)
    k = 1.0 / (1.0 + 0.3275911 * t)
    poly = k * (0.254829592 + k * (-0.284496736 + k * (1.421413741 + k * (-1.453152027 + k * 1.061405429))))
    erf = 1.0 - poly * np.exp(-t * t)
    result: npt.NDArray[np.float64] = 0.5 * (1.0 + np.sign(z) * erf)
    return result


@lru_cache(maxsize=8192)
def _population_lr(config: TrainingConfig, formula: str, steps: int) -> float | None:
    """The population's recommendation for `config` run `steps` long under the formula set asked for.

    A run recorded under another formula set is measured with the one being personalized, so
    every run speaks about the same population rate; if its configuration does not fit that set
    (a schedule it lacks), its own set is used. None when neither fits a run that long.
    """
    fields = config.model_dump(exclude_none=True)
    candidates = [{**fields, "formula": formula}, fields] if fields.get("formula") != formula else [fields]
    for candidate in candidates:
        try:
            return calculate(TrainingConfig(**_shortened(candidate, steps))).population_lr
        except ConfigError:
            continue
    return None


def _shortened(fields: dict[str, object], steps: int) -> dict[str, object]:
    """The same configuration `steps` long, its step counts clamped to fit."""
    if steps == fields["steps"]:
        return fields
    shortened = {**fields, "steps": steps}
    warmup = fields.get("warmup_steps")
    if isinstance(warmup, int) and warmup >= steps:
        shortened["warmup_steps"] = steps - 1
    decay = fields.get("decay_steps")
    if isinstance(decay, int):
        warmup_now = shortened.get("warmup_steps")
        room = steps - (warmup_now if isinstance(warmup_now, int) else 0)
        shortened["decay_steps"] = max(1, min(decay, room))
    return shortened
