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
from dataclasses import dataclass
from functools import cache

from . import _calibration_data as fitted
from . import _catalog as catalog
from ._config import TrainingConfig

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


@dataclass(slots=True)  # built ten per calculation: not frozen, which is cheaper to build
class Factor:
    """One factor of a recommendation: its input as a person reads it, its multiplier on the
    rate (the first factor is the family's reference rate itself) and what it means."""

    name: str
    value: str
    multiplier: float
    explanation: str


@dataclass(frozen=True, slots=True)
class Features:
    """The natural logarithms the fitted exponents multiply; 0 at the reference setup."""

    alpha_ratio: float
    batch: float
    horizon: float
    images: float
    resolution: float
    schedule: float


#: The fitted exponents, in the order the factors are explained.
EXPONENTS = ("alpha_ratio", "batch", "horizon", "images", "resolution", "schedule")


def horizon_feature(steps: float, horizon_scale: float) -> float:
    """ln((1 + steps / S0) / (1 + 2000 / S0)): flat for runs much shorter than S0, a power law
    for longer ones."""
    return math.log1p(steps / horizon_scale) - math.log1p(REFERENCE_STEPS / horizon_scale)


def is_full_matrix(network: str, rank: int) -> bool:
    """LyCORIS's full-matrix LoKr / LoHa, where alpha does not scale the update."""
    return network in ("lokr", "loha") and rank >= catalog.FULL_MATRIX_RANK


def features(
    config: TrainingConfig, scheduler_factor: float, horizon_scale: float = fitted.HORIZON_SCALE_STEPS
) -> Features:
    """The feature vector of a configuration (its schedule integrated: `scheduler_factor`)."""
    full_matrix = is_full_matrix(config.network, config.rank)
    return Features(
        alpha_ratio=0.0 if full_matrix else math.log(config.alpha) - math.log(config.rank),
        batch=math.log(config.batch_size * config.grad_accum),
        horizon=horizon_feature(config.steps, horizon_scale),
        images=math.log(config.images / REFERENCE_IMAGES),
        resolution=math.log(config.resolution / config.resolved.model.native_resolution),
        schedule=-math.log(scheduler_factor),
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
    """What public presets use, from the most specific slice that has any: the family with
    this optimizer family and network, then with any network, then the family's group."""
    group = catalog.FAMILIES.by_id(family_id).group
    for slice_key in (
        (family_id, optimizer_family, network),
        (family_id, optimizer_family, "*"),
        ("group:" + group, optimizer_family, "*"),
    ):
        found = fitted.EVIDENCE.get(slice_key)
        if found is not None:
            count, (p10, p25, p50, p75, p90), sources = found
            family, _, slice_network = slice_key
            name = (
                catalog.FAMILY_GROUPS[group]
                if family.startswith("group:")
                else catalog.FAMILIES.by_id(family).display_name
            )
            network_name = "any network" if slice_network == "*" else catalog.NETWORKS.by_id(slice_network).display_name
            family_name = catalog.OPTIMIZER_FAMILIES.by_id(optimizer_family).display_name
            return Evidence(name, family_name, network_name, count, p10, p25, p50, p75, p90, sources)
    return None


@dataclass(frozen=True, slots=True)
class Recommendation:
    learning_rate: float
    factors: tuple[Factor, ...]
    evidence: Evidence | None
    log_sd: float


# The explanations depend on the fitted constants only: written once, here.
_EXPONENT = fitted.EXPONENTS
_WHY = {
    "alpha_ratio": "LoRA scales its update by alpha / rank, so a smaller ratio needs a higher rate"
    f" (rate ∝ (alpha/rank)^{_EXPONENT['alpha_ratio']:.2f})",
    "full_matrix": "alpha does not scale a full-matrix LyCORIS network",
    "batch": "averaging more samples per step lowers gradient noise, so Adam-type optimizers take a higher rate"
    f" (rate ∝ batch^{_EXPONENT['batch']:.2f})",
    "horizon": "a longer run of the same data wants a lower rate, falling more slowly than 1/steps"
    f" (rate ∝ (1 + steps/{fitted.HORIZON_SCALE_STEPS:,.0f})^{_EXPONENT['horizon']:.2f})",
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
        Factor("optimizer", optimizer.display_name, optimizer_scale(optimizer_family), optimizer_family.reason),
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
    reason = catalog.OPTIMIZER_FAMILIES.by_id(optimizer.family).reason
    return Factor("adaptive optimizer", optimizer.display_name, 1.0, f"{reason}: {catalog.ADAPTIVE_SETTINGS}")


def recommend(config: TrainingConfig, scheduler_factor: float) -> Recommendation:
    """The calibrated recommendation for `config`, factor by factor (their product is the rate)."""
    resolved = config.resolved
    model = resolved.model
    optimizer = resolved.optimizer
    evidence = evidence_for(model.family_id, optimizer.family, config.network)
    if catalog.OPTIMIZER_FAMILIES.by_id(optimizer.family).adaptive:
        return Recommendation(1.0, (_adaptive(optimizer.id),), evidence, fitted.ADAPTIVE_LOG_SD)

    x = features(config, scheduler_factor)
    exp = math.exp
    full_matrix = is_full_matrix(config.network, config.rank)
    factors = (
        _family_factor(model.id),
        Factor(
            "alpha_ratio",
            f"full-matrix {config.network} (rank {config.rank:,})"
            if full_matrix
            else f"alpha {config.alpha:g} of rank {config.rank:,}",
            exp(_EXPONENT["alpha_ratio"] * x.alpha_ratio),
            _WHY["full_matrix" if full_matrix else "alpha_ratio"],
        ),
        Factor(
            "batch",
            f"batch {config.batch_size} × accumulation {config.grad_accum}",
            exp(_EXPONENT["batch"] * x.batch),
            _WHY["batch"],
        ),
        Factor("horizon", f"{config.steps:,} steps", exp(_EXPONENT["horizon"] * x.horizon), _WHY["horizon"]),
        Factor(
            "images",
            f"{config.images:,} distinct images" + (f" × {config.repeats} repeats" if config.repeats > 1 else ""),
            exp(_EXPONENT["images"] * x.images),
            _WHY["images"],
        ),
        Factor(
            "resolution",
            f"{config.resolution} px of native {model.native_resolution}",
            exp(_EXPONENT["resolution"] * x.resolution),
            _WHY["resolution"],
        ),
        Factor(
            "schedule",
            f"{resolved.schedule.display_name}, RMS multiplier {scheduler_factor:.3f}",
            exp(_EXPONENT["schedule"] * x.schedule),
            _WHY["schedule"],
        ),
        *_fixed_factors(optimizer.id, config.network, resolved.objective.id),
    )
    learning_rate = math.prod([factor.multiplier for factor in factors])
    return Recommendation(learning_rate, factors, evidence, fitted.RESIDUAL_LOG_SD)
