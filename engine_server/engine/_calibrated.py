"""The calibrated formula set (docs/calibration.md): a product of
named factors, each fitted to public presets by scripts/calibrate.py.

    recommended_lr = family_rate(family)                  the family's rate at the reference setup
                   × (alpha / rank) ^ alpha_ratio         LoRA scales its update by alpha / rank
                   × (batch × accumulation) ^ batch       Adam wants more with a bigger batch
                   × horizon(steps) ^ horizon             longer runs want less, slowly
                   × (images / 20) ^ images               distinct images, not repeats
                   × (resolution / native) ^ resolution
                   × (1 / scheduler_factor) ^ schedule    a decaying schedule delivers less
                   × optimizer family × network × objective

The features (the logarithms the exponents multiply) are defined here once; the fitting
script builds its design matrix from the same function, so what is fitted is what is computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from . import _calibration_data as fitted
from . import _catalog as catalog
from ._config import Resolved, TrainingConfig
from ._warnings import configuration_warnings

#: The reference setup each family's rate is quoted at (the most common preset).
REFERENCE_STEPS = 2000
REFERENCE_IMAGES = 20


@dataclass(frozen=True, slots=True)
class Evidence:
    """What public presets of one family, optimizer family and network type train with."""

    family: str
    optimizer_family: str
    network: str
    count: int
    p10: float
    p25: float
    p50: float
    p75: float
    p90: float
    sources: tuple[str, ...]


@dataclass(slots=True)  # up to six built per description: not frozen, which is cheaper to build
class Factor:
    """One factor of a recommendation: its input as a person reads it, its multiplier on the
    rate (the first factor is the family's reference rate itself) and what it means."""

    name: str
    value: str
    multiplier: float
    explanation: str


#: The fitted exponents, in the order the factors are explained.
EXPONENTS = ("alpha_ratio", "batch", "horizon", "images", "resolution", "schedule")
#: The natural logarithms the fitted exponents multiply, in the order of EXPONENTS; 0 at the
#: reference setup. A plain tuple: built once per calculation, where every allocation counts.
Features = tuple[float, float, float, float, float, float]


def horizon_feature(
    steps: float, horizon_scale: float = fitted.HORIZON_SCALE_STEPS, shortest: float = fitted.HORIZON_SHORTEST_STEPS
) -> float:
    """ln((1 + steps / S0) / (1 + 2000 / S0)): flat for runs much shorter than S0, a power law
    for longer ones. A run shorter than the shortest the controlled evidence covers counts as
    that long: below it, nothing measured says how the rate moves (docs/calibration.md)."""
    return math.log1p(max(steps, shortest) / horizon_scale) - math.log1p(REFERENCE_STEPS / horizon_scale)


def is_full_matrix(network: str, rank: int) -> bool:
    """LyCORIS's full-matrix LoKr / LoHa, where alpha does not scale the update."""
    return network in ("lokr", "loha") and rank >= catalog.FULL_MATRIX_RANK


def features(
    config: TrainingConfig,
    scheduler_factor: float,
    horizon_scale: float = fitted.HORIZON_SCALE_STEPS,
    horizon_shortest: float = fitted.HORIZON_SHORTEST_STEPS,
) -> Features:
    """The feature vector of a configuration (its schedule integrated: `scheduler_factor`)."""
    log = math.log
    values = config.__dict__  # the validated fields, read without attribute lookups
    rank = values["rank"]
    return (
        0.0 if is_full_matrix(values["network"], rank) else log(values["alpha"]) - log(rank),
        log(values["batch_size"] * values["grad_accum"]),
        horizon_feature(values["steps"], horizon_scale, horizon_shortest),
        log(values["images"] / REFERENCE_IMAGES),
        log(values["resolution"] / config.resolved.model.native_resolution),
        -log(scheduler_factor),
    )


def family_log_rate(family_id: str) -> float:
    """The family's fitted log-rate at the reference setup (a family without presets of its
    own has its group's)."""
    own = fitted.FAMILY_LOG_RATE.get(family_id)
    if own is not None:
        return own
    return fitted.GROUP_LOG_RATE[catalog.FAMILIES.by_id(family_id).group]


def optimizer_scale(family: catalog.OptimizerFamily) -> float:
    if family.scale is not None:
        return family.scale
    return math.exp(fitted.OPTIMIZER_FAMILY_LOG_SCALE.get(family.id, 0.0))


def network_scale(network_id: str) -> float:
    return math.exp(fitted.NETWORK_LOG_SCALE.get(network_id, 0.0))


@cache
def evidence_for(family_id: str, optimizer_family: str, network: str) -> Evidence | None:
    """What public presets use, from the most specific slice with enough presets to speak of a
    spread (catalog.EVIDENCE_MIN_PRESETS): the family with this optimizer family and network,
    then with any network, then the family's group; where none has that many, the broadest
    that has any."""
    group = catalog.FAMILIES.by_id(family_id).group
    chosen = None
    for slice_key in (
        (family_id, optimizer_family, network),
        (family_id, optimizer_family, "*"),
        ("group:" + group, optimizer_family, "*"),
    ):
        found = fitted.EVIDENCE.get(slice_key)
        if found is not None:
            chosen = slice_key, found
            if found[0] >= catalog.EVIDENCE_MIN_PRESETS:
                break
    if chosen is None:
        return None
    (family, _, slice_network), (count, (p10, p25, p50, p75, p90), sources) = chosen
    name = catalog.FAMILY_GROUPS[group] if family.startswith("group:") else catalog.FAMILIES.by_id(family).display_name
    network_name = "any network" if slice_network == "*" else catalog.NETWORKS.by_id(slice_network).display_name
    family_name = catalog.OPTIMIZER_FAMILIES.by_id(optimizer_family).display_name
    return Evidence(name, family_name, network_name, count, p10, p25, p50, p75, p90, sources)


def pulling_factors(multipliers: tuple[float, ...], below: bool) -> tuple[int, ...]:
    """The two factors (indices into FACTOR_ORDER; the family's own rate is not one) that pull
    the rate furthest toward the side it leaves the evidence on, the stronger first; a stable
    sort, so ties keep their order. (Batches find the same on arrays: _results.py.)"""
    return tuple(
        sorted(
            (
                index
                for index in range(1, len(multipliers))
                if (multipliers[index] < 1.0 if below else multipliers[index] > 1.0)
            ),
            key=lambda index: abs(math.log(multipliers[index])),
            reverse=True,
        )[:2]
    )


def leaves_evidence(rate: Any, p10: Any, p90: Any) -> Any:
    """Whether a rate lies outside what the presets use, with the catalog's rounding margin (on
    numbers, or element by element on arrays; NaN percentiles: no evidence, never outside)."""
    tolerance = catalog.EVIDENCE_ROUNDING
    return (rate < p10 / tolerance) | (rate > p90 * tolerance)


@dataclass(slots=True)  # built once per calculation: not frozen, which is cheaper to build
class Recommendation:
    """A recommendation's rate and its factors' multipliers, in FACTOR_ORDER (an adaptive
    optimizer: its one factor). The factors themselves, with their inputs as a person reads
    them, are described when first read: most calculations (batches, slider moves) never ask."""

    learning_rate: float
    multipliers: tuple[float, ...]
    evidence: Evidence | None
    log_sd: float
    fields: Mapping[str, Any]  # the configuration's validated fields (not the configuration, which memoizes
    resolved: Resolved  # its calculation: that would make a reference cycle) and what they name
    scheduler_factor: float
    zero_fraction: float  # the share of steps at zero, for the warnings
    setup: _Setup
    described: tuple[Factor, ...] | None = None
    all_warnings: tuple[str, ...] | None = None  # once described
    pulling: tuple[int, ...] | None = None  # see pulling_factors; a batch gives them, found on arrays
    # A batch's factors met so far: rows whose factor reads the same share one object (and its
    # encoding), e.g. every row with batch 4 × accumulation 1.
    shared_factors: dict[tuple[str, str, float], Factor] | None = None

    def described_warnings(self) -> tuple[str, ...]:
        """Every warning, described once: the configuration's, then what the presets of its setup say."""
        if self.all_warnings is None:
            configuration = configuration_warnings(self.fields, self.resolved, self.learning_rate, self.zero_fraction)
            self.all_warnings = configuration + self._evidence_warnings()
        return self.all_warnings

    def _evidence_warnings(self) -> tuple[str, ...]:
        """Say why the recommendation leaves what the matching presets use."""
        evidence = self.evidence
        rate = self.learning_rate
        if evidence is None or not leaves_evidence(rate, evidence.p10, evidence.p90):
            return ()
        below = rate < evidence.p10
        side, edge = ("below", evidence.p10) if below else ("above", evidence.p90)
        pulling = self.pulling if self.pulling is not None else pulling_factors(self.multipliers, below)
        because = "; ".join(f"{f.name} {f.value}: ×{f.multiplier:.2g}" for f in map(self.factor, pulling))
        # No factor pulls that way: the family's fitted rate itself sits outside these presets.
        because = because or (
            f"{self.setup.family.value}'s fitted rate itself: the fit reads every trainer's presets through one"
            " set of alpha and run-length factors, so one trainer's habit (short runs at alpha 1, say) moves every"
            " family's rate, and it draws a family with few presets toward its group's rate; a rate from these"
            f" presets' 10th to 90th percentile ({evidence.p10:.3g} … {evidence.p90:.3g}) is not scored Risky"
        )
        percentile = "10th" if side == "below" else "90th"
        return (
            f"recommended_lr: {rate:.3g} is {side} what {evidence.count} public {evidence.family}"
            f" {evidence.optimizer_family} presets ({evidence.network}) use ({percentile} percentile {edge:.3g}),"
            f" because of {because}",
        )

    @property
    def factors(self) -> tuple[Factor, ...]:
        """Every factor, described once."""
        described = self.described
        if described is None:
            count = 1 if self.setup.adaptive is not None else len(FACTOR_ORDER)
            described = self.described = tuple(map(self.factor, range(count)))
        return described

    def factor(self, index: int) -> Factor:
        """The factor at `index` (in FACTOR_ORDER; an adaptive optimizer has only its own), described
        alone when the others are not needed (a warning names two)."""
        if self.described is not None:
            return self.described[index]
        setup = self.setup
        if setup.adaptive is not None:
            return (setup.adaptive,)[index]
        if index == 0:
            return setup.family
        if index > len(EXPONENTS):
            return setup.fixed[index - len(EXPONENTS) - 1]
        name = EXPONENTS[index - 1]
        reads, describe = _DESCRIBE[name]
        fields, resolved, scheduler_factor = self.fields, self.resolved, self.scheduler_factor
        value, why = describe(*(_description_input(read, fields, resolved, scheduler_factor) for read in reads))
        shared = self.shared_factors
        if shared is None:
            return Factor(name, value, self.multipliers[index], why)
        key = (value, why, self.multipliers[index])
        found = shared.get(key)
        if found is None:
            found = shared[key] = Factor(name, value, self.multipliers[index], why)
        return found


# The explanations depend on the fitted constants only: written once, here.
_EXPONENT = fitted.EXPONENTS
_ALPHA_RATIO, _BATCH, _HORIZON, _IMAGES, _RESOLUTION, _SCHEDULE = (_EXPONENT[name] for name in EXPONENTS)
_WHY = {
    "alpha_ratio": "LoRA scales its update by alpha / rank, so a smaller ratio needs a higher rate"
    f" (rate ∝ (alpha/rank)^{_EXPONENT['alpha_ratio']:.2f})",
    "full_matrix": "alpha does not scale a full-matrix LyCORIS network",
    "batch": "averaging more samples per step lowers gradient noise, so Adam-type optimizers take a higher rate"
    f" (rate ∝ batch^{_EXPONENT['batch']:.2f})",
    "horizon": "a longer run of the same data wants a lower rate, falling more slowly than 1/steps"
    f" (rate ∝ (1 + steps/{fitted.HORIZON_SCALE_STEPS:,.0f})^{_EXPONENT['horizon']:.2f}; a run shorter than"
    f" {fitted.HORIZON_SHORTEST_STEPS:,.0f} steps, the shortest a controlled comparison covers, counts as that long)",
    "images": "more distinct images spread the same steps over more data; repeats are extra passes, not new"
    f" images (rate ∝ images^{_EXPONENT['images']:.2f})",
    "resolution": f"training size against the model's native size (rate ∝ (size/native)^{_EXPONENT['resolution']:.2f})",
    "schedule": "a decaying or warming schedule delivers less than its peak, so the peak may be higher"
    f" (rate ∝ (1/RMS)^{_EXPONENT['schedule']:.2f})",
}


@cache
def _family_factor(model_id: str) -> Factor:
    model = catalog.MODELS.by_id(model_id)
    family = catalog.FAMILIES.by_id(model.family_id)
    return Factor(
        "family",
        model.display_name,
        math.exp(family_log_rate(family.id)),
        f"the fitted rate of {family.display_name} at the reference setup (alpha = rank, batch 1,"
        f" {REFERENCE_STEPS:,} steps, {REFERENCE_IMAGES} images, native size, constant rate, AdamW, LoRA)"
        + (f"; {model.note}" if model.note else ""),
    )


@cache
def _fixed_factors(optimizer_id: str, network_id: str, objective_id: str) -> tuple[Factor, Factor, Factor]:
    optimizer = catalog.OPTIMIZERS.by_id(optimizer_id)
    optimizer_family = catalog.OPTIMIZER_FAMILIES.by_id(optimizer.family)
    objective = catalog.OBJECTIVES.by_id(objective_id)
    return (
        Factor(
            "optimizer",
            optimizer.display_name,
            optimizer_scale(optimizer_family) * optimizer.scale,
            optimizer_family.reason + (f"; {optimizer.note}" if optimizer.note else ""),
        ),
        Factor(
            "network",
            catalog.NETWORKS.by_id(network_id).display_name,
            network_scale(network_id),
            fitted.NETWORK_REASONS.get(network_id, "the reference network type"),
        ),
        Factor(
            "objective",
            objective.display_name,
            objective.energy_modifier,
            "LRTool 1.0's objective modifier (no public evidence separates objectives)",
        ),
    )


@cache
def _adaptive(optimizer_id: str) -> Factor:
    optimizer = catalog.OPTIMIZERS.by_id(optimizer_id)
    family = catalog.OPTIMIZER_FAMILIES.by_id(optimizer.family)
    return Factor(
        "adaptive optimizer", optimizer.display_name, family.start_rate, f"{family.reason}: {family.settings}"
    )


@dataclass(frozen=True, slots=True)
class _Setup:
    """What a recommendation takes from the catalog entries it names alone."""

    evidence: Evidence | None
    adaptive: Factor | None  # an adaptive optimizer's one factor; None: the fitted factors apply
    family: Factor
    fixed: tuple[Factor, Factor, Factor]


@cache
def setup_for(model_id: str, optimizer_id: str, network_id: str, objective_id: str) -> _Setup:
    """Looked up once per combination of catalog entries: a new configuration pays only for its numbers."""
    model = catalog.MODELS.by_id(model_id)
    optimizer = catalog.OPTIMIZERS.by_id(optimizer_id)
    adaptive = catalog.OPTIMIZER_FAMILIES.by_id(optimizer.family).adaptive
    return _Setup(
        evidence_for(model.family_id, optimizer.family, network_id),
        _adaptive(optimizer_id) if adaptive else None,
        _family_factor(model_id),
        _fixed_factors(optimizer_id, network_id, objective_id),
    )


#: The factors of a fitted recommendation, in the order recommend() lists them.
FACTOR_ORDER = (
    "family",
    "alpha_ratio",
    "batch",
    "horizon",
    "images",
    "resolution",
    "schedule",
    "optimizer",
    "network",
    "objective",
)


def recommend(config: TrainingConfig, scheduler_factor: float, zero_fraction: float = 0.0) -> Recommendation:
    """The calibrated recommendation for `config`, factor by factor (their product is the rate)."""
    resolved = config.resolved
    setup = setup_for(resolved.model.id, resolved.optimizer.id, config.network, resolved.objective.id)
    adaptive = setup.adaptive
    if adaptive is not None:  # its one factor is the rate
        return Recommendation(
            adaptive.multiplier,
            (adaptive.multiplier,),
            setup.evidence,
            fitted.ADAPTIVE_LOG_SD,
            config.__dict__,
            resolved,
            scheduler_factor,
            zero_fraction,
            setup,
        )

    alpha_x, batch_x, horizon_x, images_x, resolution_x, schedule_x = features(config, scheduler_factor)
    exp = math.exp
    optimizer, network, objective = setup.fixed
    multipliers = (
        setup.family.multiplier,
        exp(_ALPHA_RATIO * alpha_x),
        exp(_BATCH * batch_x),
        exp(_HORIZON * horizon_x),
        exp(_IMAGES * images_x),
        exp(_RESOLUTION * resolution_x),
        exp(_SCHEDULE * schedule_x),
        optimizer.multiplier,
        network.multiplier,
        objective.multiplier,
    )
    # Multiplied left to right, in the order the factors are listed.
    learning_rate = math.prod(multipliers)
    return Recommendation(
        learning_rate,
        multipliers,
        setup.evidence,
        fitted.RESIDUAL_LOG_SD,
        config.__dict__,
        resolved,
        scheduler_factor,
        zero_fraction,
        setup,
    )


# How each fitted factor reads its inputs, and why it pulls the rate: (value, explanation). Each
# takes exactly what it reads (named in _DESCRIBE), so a batch describes each distinct reading once.
def _describe_alpha_ratio(network: str, rank: int, alpha: float) -> tuple[str, str]:
    if is_full_matrix(network, rank):
        return f"full-matrix {catalog.NETWORKS.by_id(network).display_name} (rank {rank:,})", _WHY["full_matrix"]
    return f"alpha {alpha:g} of rank {rank:,}", _WHY["alpha_ratio"]


def _describe_batch(batch_size: int, grad_accum: int) -> tuple[str, str]:
    return f"batch {batch_size} × accumulation {grad_accum}", _WHY["batch"]


def _describe_horizon(steps: int) -> tuple[str, str]:
    shortest = fitted.HORIZON_SHORTEST_STEPS
    if steps < shortest:
        return f"{steps:,} steps, counted as {shortest:,.0f}", _WHY["horizon"]
    return f"{steps:,} steps", _WHY["horizon"]


def _describe_images(images: int, repeats: int) -> tuple[str, str]:
    if repeats > 1:
        return f"{images:,} distinct images × {repeats} repeats", _WHY["images"]
    return f"{images:,} distinct images", _WHY["images"]


def _describe_resolution(resolution: int, native_resolution: int) -> tuple[str, str]:
    return f"{resolution} px of native {native_resolution}", _WHY["resolution"]


def _describe_schedule(schedule_name: str, scheduler_factor: float) -> tuple[str, str]:
    return f"{schedule_name}, RMS multiplier {scheduler_factor:.3f}", _WHY["schedule"]


#: Each fitted factor's description and what it reads: a configuration field by name, or one of
#: DESCRIPTION_INPUTS (describe_rows reads the same from columns).
_DESCRIBE: dict[str, tuple[tuple[str, ...], Callable[..., tuple[str, str]]]] = {
    "alpha_ratio": (("network", "rank", "alpha"), _describe_alpha_ratio),
    "batch": (("batch_size", "grad_accum"), _describe_batch),
    "horizon": (("steps",), _describe_horizon),
    "images": (("images", "repeats"), _describe_images),
    "resolution": (("resolution", "native_resolution"), _describe_resolution),
    "schedule": (("schedule_name", "scheduler_factor"), _describe_schedule),
}
#: Inputs of a description that are not configuration fields: what the configuration names, or
#: what its calculation found.
DESCRIPTION_INPUTS: dict[str, Callable[[Resolved, float], Any]] = {
    "native_resolution": lambda resolved, scheduler_factor: resolved.model.native_resolution,
    "schedule_name": lambda resolved, scheduler_factor: resolved.schedule.display_name,
    "scheduler_factor": lambda resolved, scheduler_factor: scheduler_factor,
}


def _description_input(name: str, fields: Mapping[str, Any], resolved: Resolved, scheduler_factor: float) -> Any:
    found = DESCRIPTION_INPUTS.get(name)
    return fields[name] if found is None else found(resolved, scheduler_factor)


def describe_rows(name: str, multipliers: Sequence[float], inputs: Callable[[str], Sequence[Any]]) -> list[Factor]:
    """Factor `name` of many rows: `inputs(input_name)` gives an input of every row (see
    _DESCRIBE) and `multipliers` the factor's multiplier in each. Rows that read the same
    share one Factor, described once."""
    reads, describe = _DESCRIBE[name]
    shared: dict[tuple[Any, ...], Factor] = {}
    factors = []
    for key in zip(*map(inputs, reads), multipliers, strict=True):
        found = shared.get(key)
        if found is None:
            value, why = describe(*key[:-1])
            found = shared[key] = Factor(name, value, key[-1], why)
        factors.append(found)
    return factors


assert tuple(_DESCRIBE) == EXPONENTS == FACTOR_ORDER[1 : len(EXPONENTS) + 1]
