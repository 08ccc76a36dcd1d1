#!/usr/bin/env python3
"""Fit the calibrated formula set to public presets and write the data the engine ships.

    .venv/bin/python scripts/calibrate.py            # fit, print the figures, write the files
    .venv/bin/python scripts/calibrate.py --check    # fit and compare with the shipped files

Reads `tests/data/preset_corpus/presets.tsv` (public presets, with sources) and
`tests/data/seed_004_runs.tsv` (one practitioner's tuning log), and writes
`engine_server/engine/_calibration_data.py` (the fitted constants and the evidence bands),
`docs/calibration_figures.md` (cross-validated figures beside the baselines) and
`docs/calibration.svg` (predicted against preset rates). docs/calibration.md explains the method.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import functools
import hashlib
import math
import pathlib
import sys
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from engine_server.engine import ConfigError, TrainingConfig, calculate, catalog  # noqa: E402
from engine_server.engine._calibrated import EXPONENTS, features  # noqa: E402
from engine_server.engine._schedules import integrate  # noqa: E402

CORPUS = ROOT / "tests" / "data" / "preset_corpus" / "presets.tsv"
SEED_LOG = ROOT / "tests" / "data" / "seed_004_runs.tsv"
DATA_MODULE = ROOT / "engine_server" / "engine" / "_calibration_data.py"
FIGURES = ROOT / "docs" / "calibration_figures.md"
PLOT = ROOT / "docs" / "calibration.svg"

# --- Row rules: a corpus row as a configuration (the same rules score held-out presets) -----

#: Trainers built on kohya's sd-scripts, whose network_alpha defaults to 1.
SD_SCRIPTS_TRAINERS = ("sd-scripts", "kohya", "fluxgym", "lora-scripts", "LoRA_Easy", "musubi")


def runs_sd_scripts(trainer: str) -> bool:
    """Whether a corpus row's trainer is built on sd-scripts (or shares its defaults)."""
    return any(name in trainer for name in SD_SCRIPTS_TRAINERS)


DEFAULT_IMAGES = 20
DEFAULT_STEPS = 2000
SEED_SOURCE = "seed-004"
SEED_ROW_FAMILY = "sd15"  # the seed log trains SD1.5
#: The seed log's setup (SD1.5, 512 px, 20 images, AdamW8bit, cosine with restarts, alpha = rank).
SEED_SETUP = dict(
    model="SD1.5",
    resolution=512,
    images=20,
    optimizer="AdamW8bit",
    scheduler="cosine_with_restarts",
    num_cycles=3.0,
    objective="Character",
)
#: Notes that mark a preset as untuned (a smoke test) or not a plain LoRA: weighted down or out.
UNTUNED_MARKS = ("smoke-test", "not be tuned", "open-ended")
UNTUNED_WEIGHT = 0.3
NOT_A_LORA_MARKS = ("ControlNet",)
#: Notes that call a preset's rate a placeholder (FLUX Kontext with Lion at 1e-8, an SDXL LoKr at
#: 3e-7): not what anyone trains with, so neither fitted nor in the evidence bands.
PLACEHOLDER_MARKS = ("placeholder",)
CORPUS_NAME = {"SD3": "SD3.5", "SD2.x": "SD2.1"}

# --- The fit's priors (literature anchors) and shrinkage -----------------------------------

#: (mean, sd) of each exponent before the data: alpha/rank (LoRA's scale; rsLoRA: between
#: alpha/rank and alpha/√rank), batch (Adam: √batch, Malladi et al. 2022), distinct images,
#: resolution (multi-size presets are read at their first size, so the data cannot tell: kept
#: near 0), schedule (the energy model's 1/RMS, halved: presets rarely raise the peak for cosine).
PRIORS = {
    "alpha_ratio": (-0.5, 0.3),
    "batch": (0.5, 0.2),
    "images": (0.1, 0.1),
    "resolution": (0.0, 0.05),
    "schedule": (0.5, 0.3),
}
#: Horizon: the power law of Bjorck et al. 2025 (exponent about 0.3) as the prior, updated by the
#: only controlled comparison of run length (the seed log); its residual sd per run.
HORIZON_PRIOR = (-0.3, 0.15)
SEED_RUN_LOG_SD = 0.3
HORIZON_SCALE_STEPS = 1000.0
#: Other saturation scales the figures compare it with (see run_length_scales).
OTHER_HORIZON_SCALES = (300.0, 3000.0, 10000.0)
#: The ratio of the seed setup's recommendations at 800 and 2,750 steps that the direction
#: check asks for (the seed log itself shows about ×3 between its best rates there).
SEED_DIRECTION_RATIO = 1.3
#: Spread of trainers' conventions, of model groups around the global rate, and of families
#: around their group (sd of the natural log).
SOURCE_SD = 0.3
#: Spread of one repository's habits around its training code's, where conventions are nested
#: (the figures' "nested" grouping; see training_code).
WITHIN_CODE_SD = 0.15
GROUP_SD = 0.15
FAMILY_SD = 0.1
#: Scales of networks and optimizer families without a literature value: prior sd around 1.
SCALE_SD = 0.5
#: Robust loss: residuals beyond this (natural log) count linearly, not squared.
HUBER = 0.1
IRLS_ROUNDS = 25
FOLDS = 5
FOLD_SEED = 0
BASELINE_RATE = 1e-4
#: Networks whose scale comes from the literature rather than presets.
NETWORK_LITERATURE = {
    "locon": "LyCORIS trains LoCon at LoRA's rates (its guideline: same rate, alpha ≤ dim)",
    "dora": "DoRA's authors train at LoRA's rate (Liu et al. 2024)",
}


@dataclass
class Row:
    source: str
    trainer: str
    family: str
    optimizer_family: str
    network: str
    lr: float
    config: TrainingConfig | None  # None: an adaptive optimizer's multiplier (evidence only)
    weight: float = 1.0
    in_scope: bool = False  # scored by the evaluation protocol (AdamW family, LoRA/LoCon/DoRA)
    x: dict[str, float] = field(default_factory=dict)


def _number(text: str, default: float | None = None) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return default


def _model_name(corpus_family: str) -> str:
    name = CORPUS_NAME.get(corpus_family, corpus_family)
    return name.removeprefix("other:")


def _config(fields: dict[str, object]) -> TrainingConfig:
    """The row as a calibrated configuration; a schedule the trainer does not know becomes constant."""
    try:
        return TrainingConfig(**fields)
    except ConfigError as error:
        if any(v.field == "scheduler" or v.field.startswith("warmup") for v in error.violations):
            return TrainingConfig(**{**fields, "scheduler": "constant"})
        raise


def corpus_rows(path: pathlib.Path = CORPUS) -> list[Row]:
    rows = []
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            row = _corpus_row(record)
            if row is not None:
                rows.append(row)
    return rows


def _corpus_row(record: dict[str, str]) -> Row | None:
    model = catalog.MODELS.get(_model_name(record["model_family"]))
    optimizer = catalog.OPTIMIZERS.get(record["optimizer"] or "AdamW")
    network = catalog.NETWORKS.get(record["network_type"])
    lr = _number(record["lr"])
    if model is None or optimizer is None or network is None or lr is None or lr <= 0:
        return None
    family = catalog.FAMILIES.by_id(model.family_id).id
    optimizer_family = optimizer.family
    common = dict(source=record["source_repo"], trainer=record["trainer"], family=family, network=network.id, lr=lr)
    if any(mark in record["notes"] for mark in PLACEHOLDER_MARKS):
        return None
    if catalog.OPTIMIZER_FAMILIES.by_id(optimizer_family).adaptive:
        return Row(optimizer_family=optimizer_family, config=None, **common)  # type: ignore[arg-type]
    if any(mark in record["notes"] for mark in NOT_A_LORA_MARKS) or "relative-step" in record["notes"]:
        return None
    rank = _number(record["rank"])
    if not rank:
        return None
    alpha = _number(record["alpha"])
    if alpha is None:
        alpha = 1.0 if runs_sd_scripts(record["trainer"]) else rank
    batch = int(_number(record["batch_size"], 1) or 1)
    accumulation = int(_number(record["grad_accum"], 1) or 1)
    images = int(_number(record["images"], DEFAULT_IMAGES) or DEFAULT_IMAGES)
    repeats = int(_number(record["repeats"], 1) or 1)
    steps = _number(record["steps"])
    if not steps:
        epochs = _number(record["epochs"])
        steps = math.ceil(epochs * images * repeats / (batch * accumulation)) if epochs else DEFAULT_STEPS
    fields: dict[str, object] = dict(
        model=model.id,
        rank=int(rank),
        alpha=float(alpha),
        batch_size=batch,
        grad_accum=accumulation,
        images=images,
        repeats=repeats,
        steps=int(steps),
        optimizer=optimizer.id,
        scheduler=(record["scheduler"] or "constant").lower(),
        network=network.id,
        objective="Character",
        resolution=model.native_resolution,
    )
    resolution = record["resolution"].split(",")[0].strip()
    if resolution.isdigit():
        fields["resolution"] = int(resolution)
    untuned = any(mark in record["notes"] for mark in UNTUNED_MARKS)
    return Row(
        optimizer_family=optimizer_family,
        config=_config(fields),
        weight=UNTUNED_WEIGHT if untuned else 1.0,
        in_scope=optimizer_family == "adamw" and network.id in ("lora", "locon", "dora"),
        **common,  # type: ignore[arg-type]
    )


def seed_rows(path: pathlib.Path = SEED_LOG) -> list[Row]:
    """The seed log's judged runs: each rate was good up to its best checkpoint."""
    rows = []
    with path.open(newline="") as handle:
        for record in csv.DictReader(handle, delimiter="\t"):
            if not record["best_step"]:
                continue
            rank = int(record["rank"])
            config = TrainingConfig(**SEED_SETUP, steps=int(record["best_step"]), rank=rank, alpha=float(rank))
            rows.append(
                Row(SEED_SOURCE, "seed", SEED_ROW_FAMILY, "adamw", "lora", float(record["learning_rate"]), config)
            )
    return rows


def scheduler_factor(config: TrainingConfig) -> float:
    resolved = config.resolved
    integral = integrate(
        resolved.trainer.id, resolved.schedule.id, config.steps, resolved.warmup_steps, resolved.schedule_args
    )
    return integral.scheduler_factor


@functools.cache
def shortest_judged_run() -> int:
    """The shortest run of the only controlled comparison of length, the seed log's (its best
    checkpoints at 750 to 2,750 steps): shorter runs count as this long in the run-length factor,
    which nothing measured extends below it (presets choose length and rate by habit)."""
    return min(row.config.steps for row in seed_rows() if row.config is not None)


def add_features(
    rows: Iterable[Row], horizon_scale: float = HORIZON_SCALE_STEPS, shortest: float | None = None
) -> None:
    """Each row's features; `shortest`: the run length below which runs count as that long (by
    default the seed log's shortest judged run; 0 reads every run at its own length)."""
    shortest = shortest_judged_run() if shortest is None else shortest
    for row in rows:
        if row.config is not None:
            values = features(row.config, scheduler_factor(row.config), horizon_scale, shortest)
            row.x = dict(zip(EXPONENTS, values, strict=True))


# --- The fit --------------------------------------------------------------------------------


@dataclass
class Fit:
    exponents: dict[str, float]
    intercept: float
    group_effect: dict[str, float]
    family_effect: dict[str, float]
    network_log_scale: dict[str, float]
    optimizer_log_scale: dict[str, float]

    def log_rate(self, row: Row) -> float:
        family = catalog.FAMILIES.by_id(row.family)
        value = self.intercept + self.group_effect.get(family.group, 0.0) + self.family_effect.get(row.family, 0.0)
        value += sum(self.exponents[name] * row.x[name] for name in self.exponents)
        value += self.network_log_scale.get(row.network, 0.0)
        value += fixed_optimizer_log_scale(row.optimizer_family)
        value += self.optimizer_log_scale.get(row.optimizer_family, 0.0)
        return value

    def family_log_rate(self, family_id: str) -> float:
        group = catalog.FAMILIES.by_id(family_id).group
        return self.intercept + self.group_effect.get(group, 0.0) + self.family_effect[family_id]


def fixed_optimizer_log_scale(optimizer_family: str) -> float:
    scale = catalog.OPTIMIZER_FAMILIES.by_id(optimizer_family).scale
    return math.log(scale) if scale is not None else 0.0


def fit_horizon(seed: Sequence[Row]) -> float:
    """The horizon exponent: the literature prior updated by the seed log (same user, data and
    settings at different lengths), a conjugate normal update on the slope."""
    x = np.array([row.x["horizon"] for row in seed])
    y = np.array([math.log(row.lr) + (-0.0) for row in seed])
    # Remove each rank's mean rate so only the length varies (ranks are otherwise the same setup).
    by_rank: dict[int, list[int]] = defaultdict(list)
    for index, row in enumerate(seed):
        assert row.config is not None
        by_rank[row.config.rank].append(index)
    xc, yc = x.copy(), y.copy()
    for indices in by_rank.values():
        xc[indices] -= x[indices].mean()
        yc[indices] -= y[indices].mean()
    prior_mean, prior_sd = HORIZON_PRIOR
    precision = 1.0 / prior_sd**2 + float(xc @ xc) / SEED_RUN_LOG_SD**2
    return float((prior_mean / prior_sd**2 + float(xc @ yc) / SEED_RUN_LOG_SD**2) / precision)


#: How the fit groups presets into trainers' conventions: by repository (the calibrated set), by
#: training code (the repositories running sd-scripts' code as one), or both, nested.
Conventions = Literal["repository", "training code", "nested"]
#: The repositories whose presets run kohya's sd-scripts code, or share its defaults (musubi-tuner,
#: by the same author): the row rules' alpha-default group.
SD_SCRIPTS_CODE = "sd-scripts"


def training_code(row: Row) -> str:
    """The code a preset trains with: sd-scripts for the repositories built on it, else its own."""
    return SD_SCRIPTS_CODE if runs_sd_scripts(row.trainer) else row.source


def convention_columns(row: Row, conventions: Conventions) -> list[str]:
    """The random-effect columns of the conventions `row` follows."""
    if conventions == "repository":
        return [f"source:{row.source}"]
    code = training_code(row)
    if conventions == "nested" and code != row.source:
        return [f"source:{code}", f"within:{row.source}"]
    return [f"source:{code}"]


def fit(rows: Sequence[Row], horizon: float, with_factors: bool = True, conventions: Conventions = "repository") -> Fit:
    """MAP fit of the log-rate: named exponents with literature priors, trainers' conventions as
    random effects (averaged out when predicting), families shrunk to their group, Huber loss.
    `with_factors=False` pins every exponent at 0: the fitted level alone."""
    train = [row for row in rows if row.config is not None and row.weight > 0]
    convention_names = sorted({column for row in train for column in convention_columns(row, conventions)})
    groups = sorted(catalog.FAMILY_GROUPS)
    families = sorted({row.family for row in train})
    networks = sorted({row.network for row in train} - {"lora"} - set(NETWORK_LITERATURE))
    optimizers = sorted(
        {row.optimizer_family for row in train if catalog.OPTIMIZER_FAMILIES.by_id(row.optimizer_family).scale is None}
    )
    names = list(PRIORS)
    columns = (
        ["intercept"]
        + names
        + convention_names
        + [f"group:{g}" for g in groups]
        + [f"family:{f}" for f in families]
        + [f"network:{n}" for n in networks]
        + [f"optimizer:{o}" for o in optimizers]
    )
    index = {column: i for i, column in enumerate(columns)}
    design = np.zeros((len(train), len(columns)))
    target = np.zeros(len(train))
    for i, row in enumerate(train):
        design[i, 0] = 1.0
        for name in names:
            design[i, index[name]] = row.x[name]
        for key in (
            *convention_columns(row, conventions),
            f"group:{catalog.FAMILIES.by_id(row.family).group}",
            f"family:{row.family}",
            f"network:{row.network}",
            f"optimizer:{row.optimizer_family}",
        ):
            if key in index:
                design[i, index[key]] = 1.0
        target[i] = math.log(row.lr) - horizon * row.x["horizon"] - fixed_optimizer_log_scale(row.optimizer_family)
    prior_mean = np.zeros(len(columns))
    prior_precision = np.zeros(len(columns))
    prior_mean[0] = math.log(BASELINE_RATE)
    prior_precision[0] = 1e-4  # essentially free
    for column, i in index.items():
        kind = column.split(":")[0]
        if column in PRIORS:
            prior_mean[i], sd = PRIORS[column] if with_factors else (0.0, PINNED_SD)
            prior_precision[i] = 1.0 / sd**2
        elif kind != "intercept":
            sd = {"source": SOURCE_SD, "within": WITHIN_CODE_SD, "group": GROUP_SD, "family": FAMILY_SD}.get(
                kind, SCALE_SD
            )
            prior_precision[i] = 1.0 / sd**2
    quality = np.array([row.weight for row in train])
    weights = quality.copy()
    scale = 1.0 / RESIDUAL_SCALE**2
    for _ in range(IRLS_ROUNDS):
        lhs = (design.T * weights) @ design * scale + np.diag(prior_precision)
        rhs = (design.T * weights) @ target * scale + prior_precision * prior_mean
        beta = np.linalg.solve(lhs, rhs)
        residual = np.abs(target - design @ beta)
        weights = quality * np.where(residual <= HUBER, 1.0, HUBER / np.maximum(residual, 1e-12))
    values = dict(zip(columns, beta.tolist(), strict=True))
    return Fit(
        exponents={**{name: values[name] for name in names}, "horizon": horizon},
        intercept=values["intercept"],
        group_effect={g: values[f"group:{g}"] for g in groups},
        family_effect={f: values[f"family:{f}"] for f in families},
        network_log_scale={n: values[f"network:{n}"] for n in networks},
        optimizer_log_scale={o: values[f"optimizer:{o}"] for o in optimizers},
    )


#: The residual scale the priors are weighed against (natural log): the spread of the presets
#: around what their features explain.
RESIDUAL_SCALE = 0.5


#: The variants the figures compare: the calibrated set, two ablations, and trainers' conventions
#: grouped by training code, alone or with each repository nested in it.
Variant = Literal["full", "without run length", "level only", "training code", "nested"]
CONVENTIONS_OF: dict[Variant, Conventions] = {"training code": "training code", "nested": "nested"}
#: Prior sd that pins an exponent (the "level only" ablation).
PINNED_SD = 1e-6


def fit_all(rows: Sequence[Row], variant: Variant = "full") -> Fit:
    """The fit; the ablations leave out the run-length factor, or every factor (the fitted level
    alone, families and groups included), or group trainers' conventions otherwise."""
    seed = [row for row in rows if row.source == SEED_SOURCE]
    horizon = 0.0 if variant in ("without run length", "level only") else fit_horizon(seed)
    conventions = CONVENTIONS_OF.get(variant, "repository")
    return fit(rows, horizon, with_factors=variant != "level only", conventions=conventions)


# --- Cross-validation and baselines ---------------------------------------------------------


@dataclass(frozen=True)
class Score:
    within_2x: float
    mean_abs_log2: float
    count: int

    def text(self) -> str:
        return f"{self.within_2x:.0%} within 2×, mean |log2| {self.mean_abs_log2:.2f} (n = {self.count})"

    def cell(self) -> str:
        """For a Markdown table cell (no pipes)."""
        return f"{self.within_2x:.0%} · {self.mean_abs_log2:.2f}"


def score(pairs: Sequence[tuple[float, float]]) -> Score:
    errors = [abs(math.log2(preset / predicted)) for preset, predicted in pairs]
    return Score(sum(e <= 1.0 + 1e-9 for e in errors) / len(errors), sum(errors) / len(errors), len(errors))


def held_out_predictions(
    rows: Sequence[Row], splits: Iterable[Callable[[Row], bool]], variant: Variant = "full"
) -> dict[int, float]:
    """Each in-scope row's prediction from a fit that did not see it."""
    predictions: dict[int, float] = {}
    for held_out in splits:
        model = fit_all([row for row in rows if not held_out(row)], variant)
        for i, row in enumerate(rows):
            if row.in_scope and held_out(row):
                predictions[i] = math.exp(model.log_rate(row))
    return predictions


def _source_is(source: str) -> Callable[[Row], bool]:
    return lambda row: row.source == source


def source_splits(rows: Sequence[Row]) -> list[Callable[[Row], bool]]:
    """One split per source: its rows held out."""
    return [_source_is(source) for source in sorted({row.source for row in rows})]


def fold_splits(rows: Sequence[Row]) -> list[Callable[[Row], bool]]:
    """Five folds of rows drawn at random (fixed seed)."""
    order = np.random.default_rng(FOLD_SEED).permutation(len(rows))
    fold_of = {id(rows[int(i)]): n % FOLDS for n, i in enumerate(order)}

    def in_fold(fold: int) -> Callable[[Row], bool]:
        return lambda row: fold_of[id(row)] == fold

    return [in_fold(fold) for fold in range(FOLDS)]


def leave_one_source_out(rows: Sequence[Row], variant: Variant = "full") -> dict[int, float]:
    return held_out_predictions(rows, source_splits(rows), variant)


def k_fold(rows: Sequence[Row], variant: Variant = "full") -> dict[int, float]:
    return held_out_predictions(rows, fold_splits(rows), variant)


def energy_rate(row: Row) -> float | None:
    """The `energy` formula set's recommendation for the row, where LRTool 1.0 has constants for it."""
    assert row.config is not None
    try:
        config = TrainingConfig(**{**row.config.model_dump(exclude_none=True), "formula": "energy"})
        return calculate(config).recommended_lr
    except ConfigError:
        return None


def energy_rates(rows: Sequence[Row]) -> dict[int, float]:
    """Formula set energy's recommendation for each in-scope row it can answer, by row index."""
    return {i: rate for i, row in enumerate(rows) if row.in_scope and (rate := energy_rate(row)) is not None}


# --- Evidence bands -------------------------------------------------------------------------


def evidence(rows: Sequence[Row]) -> dict[tuple[str, str, str], tuple[int, tuple[float, ...], tuple[str, ...]]]:
    """Percentiles of what presets use, per (family, optimizer family, network), per family and
    optimizer family, and per model group and optimizer family."""
    slices: dict[tuple[str, str, str], list[Row]] = defaultdict(list)
    for row in rows:
        if row.source == SEED_SOURCE:
            continue
        group = catalog.FAMILIES.by_id(row.family).group
        for key in (
            (row.family, row.optimizer_family, row.network),
            (row.family, row.optimizer_family, "*"),
            ("group:" + group, row.optimizer_family, "*"),
        ):
            slices[key].append(row)
    table = {}
    for key in sorted(slices):
        members = slices[key]
        rates = np.array([row.lr for row in members])
        percentiles = tuple(float(f"{value:.4g}") for value in np.percentile(rates, [10, 25, 50, 75, 90]))
        table[key] = (len(members), percentiles, tuple(sorted({row.source for row in members})))
    return table


# --- Output ---------------------------------------------------------------------------------


def digest(paths: Sequence[pathlib.Path]) -> str:
    hasher = hashlib.sha256()
    for path in paths:
        hasher.update(path.read_bytes())
    return hasher.hexdigest()


def _round(value: float) -> float:
    return float(f"{value:.6g}")


def _rounded(values: dict[str, float]) -> dict[str, float]:
    return {key: _round(value) for key, value in values.items()}


def data_module(model: Fit, rows: Sequence[Row], residual_log_sd: float, energy_log_sd: float) -> str:
    fitted_families = {f: _round(model.family_log_rate(f)) for f in sorted(model.family_effect)}
    groups = {g: _round(model.intercept + model.group_effect[g]) for g in sorted(model.group_effect)}
    network_reasons = dict(NETWORK_LITERATURE)
    for network in model.network_log_scale:
        network_reasons[network] = f"fitted to public {catalog.NETWORKS.by_id(network).display_name} presets"
    lines = [
        '"""Fitted constants of the calibrated formula set: written by scripts/calibrate.py, not by hand.',
        "",
        "Run `python scripts/calibrate.py` after changing the corpus or the method; a test re-runs the",
        'fit and fails when this file is stale."""',
        "",
        f"CORPUS_SHA256 = {digest([CORPUS, SEED_LOG])!r}",
        f"HORIZON_SCALE_STEPS = {HORIZON_SCALE_STEPS!r}",
        "#: Runs shorter than this count as this long in the run-length factor: the seed log's shortest judged run.",
        f"HORIZON_SHORTEST_STEPS = {shortest_judged_run()!r}",
        "#: The exponent of each factor (docs/calibration.md).",
        f"EXPONENTS: dict[str, float] = {{{', '.join(f'{k!r}: {_round(v)!r}' for k, v in model.exponents.items())}}}",
        "#: ln(rate) of each family with presets of its own, at the reference setup.",
        f"FAMILY_LOG_RATE: dict[str, float] = {fitted_families!r}",
        "#: ln(rate) of each model group at the reference setup, for families without presets.",
        f"GROUP_LOG_RATE: dict[str, float] = {groups!r}",
        f"OPTIMIZER_FAMILY_LOG_SCALE: dict[str, float] = {_rounded(model.optimizer_log_scale)!r}",
        f"NETWORK_LOG_SCALE: dict[str, float] = {_rounded(model.network_log_scale)!r}",
        f"NETWORK_REASONS: dict[str, str] = {network_reasons!r}",
        "#: Spread of the best rate around the recommendation: 1.4826 × the median absolute",
        "#: leave-one-source-out error (natural log).",
        f"RESIDUAL_LOG_SD = {_round(residual_log_sd)!r}",
        "#: The same spread for formula set energy (LRTool 1.0's constants) on the rows it answers.",
        f"ENERGY_RESIDUAL_LOG_SD = {_round(energy_log_sd)!r}",
        "#: Adaptive optimizers: the multiplier's spread (presets keep 1.0; d_coef moves it by about ±30 %).",
        "ADAPTIVE_LOG_SD = 0.3",
        "#: (family or 'group:…', optimizer family, network or '*') → (presets, p10 … p90, sources).",
        "EVIDENCE: dict[tuple[str, str, str], tuple[int, tuple[float, ...], tuple[str, ...]]] = {",
    ]
    for key, value in evidence(rows).items():
        lines.append(f"    {key!r}: {value!r},")
    lines.append("}")
    return "\n".join(lines) + "\n"


def figures_markdown(
    rows: Sequence[Row], loso: dict[int, float], folds: dict[int, float], model: Fit, energy: dict[int, float]
) -> str:
    baseline = _rate_text(BASELINE_RATE)
    scope = [i for i, row in enumerate(rows) if row.in_scope]
    pairs = {
        "calibrated, leave one source out": [(rows[i].lr, loso[i]) for i in scope],
        "calibrated, 5-fold": [(rows[i].lr, folds[i]) for i in scope],
        "calibrated, fitted on all rows": [(rows[i].lr, math.exp(model.log_rate(rows[i]))) for i in scope],
        f"always {baseline}": [(rows[i].lr, BASELINE_RATE) for i in scope],
    }
    ablations: tuple[Variant, ...] = ("without run length", "level only")
    for variant in ablations:
        for name, predictions in (
            ("leave one source out", leave_one_source_out(rows, variant)),
            ("5-fold", k_fold(rows, variant)),
        ):
            pairs[f"ablation, {ABLATION_NAMES[variant]}: {name}"] = [(rows[i].lr, predictions[i]) for i in scope]
    unfloored = at_their_own_length(rows)
    for name, predictions in (("leave one source out", leave_one_source_out(unfloored)), ("5-fold", k_fold(unfloored))):
        label = f"ablation, runs shorter than {shortest_judged_run():,} steps read at their own length: {name}"
        pairs[label] = [(rows[i].lr, predictions[i]) for i in scope]
    answered = sorted(energy.items())
    lines = [
        "# Calibration figures",
        "",
        "Written by `scripts/calibrate.py`; the method is in [calibration.md](calibration.md).",
        "",
        f"Rows scored: the {len(scope)} AdamW-family LoRA / LoCon / DoRA presets of the corpus, by the",
        "row rules of calibration.md. Error = |log2(preset rate / predicted rate)|.",
        "",
        "| predictor | within 2× | mean abs log2 error | rows |",
        "|---|---|---|---|",
    ]
    for name, rows_pairs in pairs.items():
        result = score(rows_pairs)
        lines.append(f"| {name} | {result.within_2x:.0%} | {result.mean_abs_log2:.2f} | {result.count} |")
    lines += [
        "",
        f"On the {len(answered)} rows whose model and optimizer LRTool 1.0 has constants for:",
        "",
        "| predictor | within 2× | mean abs log2 error | rows |",
        "|---|---|---|---|",
    ]
    same_rows: dict[str, dict[int, float]] = {
        "energy (LRTool 1.0 constants)": energy,
        "calibrated, leave one source out": loso,
        "calibrated, 5-fold": folds,
        f"always {baseline}": {i: BASELINE_RATE for i, _ in answered},
    }
    for name, rate_of in same_rows.items():
        result = score([(rows[i].lr, rate_of[i]) for i, _ in answered])
        lines.append(f"| {name} | {result.within_2x:.0%} | {result.mean_abs_log2:.2f} | {result.count} |")
    lines += [
        "",
        "Per family, leaving one source out (within 2× · mean abs log2 error):",
        "",
        f"| family | rows | calibrated | always {baseline} |",
        "|---|---|---|---|",
    ]
    by_family: dict[str, list[int]] = defaultdict(list)
    for i in scope:
        by_family[rows[i].family].append(i)
    for family, members in sorted(by_family.items(), key=lambda item: -len(item[1])):
        ours = score([(rows[i].lr, loso[i]) for i in members])
        constant = score([(rows[i].lr, BASELINE_RATE) for i in members])
        name = catalog.FAMILIES.by_id(family).display_name
        lines.append(f"| {name} | {len(members)} | {ours.cell()} | {constant.cell()} |")
    lines += ["", "Fitted exponents:", "", "| factor | exponent |", "|---|---|"]
    lines += [f"| {name} | {value:+.3f} |" for name, value in model.exponents.items()]
    lines += [
        "",
        "The run-length factor's saturation scale S0: each row refits everything with that S0",
        f"(S0 = {HORIZON_SCALE_STEPS:,.0f} is the calibrated set). A larger S0 flattens the factor for the",
        "short runs many presets use, which the presets reward, but it also flattens the seed log's",
        f"controlled comparison below the ×{SEED_DIRECTION_RATIO} that its direction check asks for (the",
        "log itself shows about ×3 between its best rates at 800 and 2,750 steps):",
        "",
        "| S0 (steps) | horizon exponent | 800 ÷ 2,750 steps | leave one source out | 5-fold |",
        "|---|---|---|---|---|",
    ]
    for scale, exponent, ratio, loso_score, fold_score in run_length_scales(rows):
        lines.append(f"| {scale:,.0f} | {exponent:+.3f} | ×{ratio:.2f} | {loso_score.cell()} | {fold_score.cell()} |")
    code_repositories = sorted({row.source for row in rows if training_code(row) == SD_SCRIPTS_CODE})
    lines += [
        "",
        "Trainers' conventions grouped otherwise. The calibrated set gives each repository its own",
        f"habits. {len(code_repositories)} repositories train with kohya's sd-scripts code or share its defaults",
        "(musubi-tuner, by the same author): the row rules' alpha-default group. Each row refits",
        "everything with that grouping; nested, each repository's habit varies around its training",
        f"code's with sd {WITHIN_CODE_SD} (natural log):",
        "",
        "| conventions | fitted on all rows | 5-fold | leave one source out | seed setup, 800 steps |",
        "|---|---|---|---|---|",
    ]
    for name, everything, folded, by_source, seed_setup in convention_scores(rows):
        cells = f"{everything.cell()} | {folded.cell()} | {by_source.cell()} | {_rate_text(seed_setup, 2)}"
        lines.append(f"| {name} | {cells} |")
    always = score([(rows[i].lr, BASELINE_RATE) for i in scope]).cell()
    lines += [
        "",
        "The formula's form fitted as closely as it goes: least absolute deviations of ln(rate) on",
        "the scored rows themselves (the loss the figures measure), a free level per family (each",
        f"departure from the common level costs {CLOSEST_FAMILY_PENALTY} in ln), the formula's exponents",
        "without priors or trainers' conventions, and the direction checks held as bounds on their",
        "exponents. These fits are not shipped; they show what the checks cost on this corpus:",
        "",
        f"| closest fit | fitted on all rows | 5-fold | leave one source out | seed setup, {SEED_BEST_STEPS} steps |",
        "|---|---|---|---|---|",
    ]
    least_checked_score = None
    for name, everything, folded, by_source, seed_setup in closest_fit_scores(rows):
        cells = f"{everything.cell()} | {folded.cell()} | {by_source.cell()} | {_rate_text(seed_setup)}"
        lines.append(f"| {name} | {cells} |")
        if name == LEAST_CHECKED_NAME:
            least_checked_score = everything
    lines.append(f"| always {baseline} | {always} | {always} | {always} | {baseline} |")
    assert least_checked_score is not None
    constant = score([(rows[i].lr, BASELINE_RATE) for i in scope])
    trails = [
        figure
        for figure, behind in (
            ("the share within 2×", least_checked_score.within_2x < constant.within_2x),
            ("the mean error", least_checked_score.mean_abs_log2 > constant.mean_abs_log2),
        )
        if behind
    ]
    seed_rate = math.exp(model.log_rate(_setup_row({})))
    seed_family = [row for row in rows if row.in_scope and row.family == SEED_ROW_FAMILY]
    family_rate = float(np.median([row.lr for row in seed_family]))
    lengths = [row.config.steps for row in seed_family if row.config is not None]
    lines += [
        "",
        f'The row "{LEAST_CHECKED_NAME}" fits neither exponents nor family levels: each checked',
        "exponent sits at the least its direction check allows, the others at 0, and only the common",
        "level is fitted (the median of what the factors leave). "
        + (
            f"It trails the constant on {' and on '.join(trails)} even on the rows it is fitted to."
            if trails
            else "It is level with or ahead of the constant on the rows it is fitted to."
        ),
    ]
    lines += [
        "",
        f"The seed setup's column is each fit's rate for the seed log's user at {SEED_BEST_STEPS} steps, where",
        f"the log's best run used {_rate_text(SEED_BEST_RATE)} (the calibrated set gives {_rate_text(seed_rate, 2)}).",
        f"The closest fits take no account of the log. The corpus's {len(seed_family)} SD1.5 presets have a median",
        f"rate of {_rate_text(family_rate)} at lengths from {min(lengths):,} to {max(lengths):,} steps, and the fits",
        "place SD1.5 near the common level that the other families set.",
    ]
    lines += [
        "",
        "What one repository's presets tell of another's: each repository's presets predicted by the",
        "median rate of the other repositories' presets, overall or of the same model family (where the",
        "others have at least that many presets of it; else the overall median):",
        "",
        "| predictor, leaving one source out | within 2× · mean abs log2 error |",
        "|---|---|",
    ]
    transfer, medians = repository_transfer(rows)
    for least, result in transfer:
        plural = "" if least == 1 else "s"
        name = "the overall median" if least is None else f"the family's median (at least {least} preset{plural})"
        lines.append(f"| {name} | {result.cell()} |")
    if medians == {BASELINE_RATE}:
        lines += [
            "",
            f"Whichever repository is left out, the others' overall median is {baseline}, so the",
            "first row is the constant's own score.",
        ]
    else:
        lowest, highest = _rate_text(min(medians)), _rate_text(max(medians))
        lines += ["", f"The others' overall median lies between {lowest} and {highest}."]
    lines += [
        "A family's rate taken from the other repositories predicts a repository's presets no better",
        "than that one rate for all: on this corpus, what sets a preset's rate is mostly its",
        "repository's habit, which the others do not show. This is why the calibrated set, which must",
        "tell families apart, trails the constant when a whole repository is held out.",
        "",
        "Directions the evidence shows, on the seed-004 setup (800 steps, rank 64, alpha 64), as the",
        "ratio of the two recommendations:",
        "",
        "| direction | higher | lower | ratio |",
        "|---|---|---|---|",
    ]
    for direction in DIRECTIONS:
        higher, lower = direction.higher, direction.lower
        ratio = math.exp(model.log_rate(_setup_row(higher)) - model.log_rate(_setup_row(lower)))
        lines.append(f"| {direction.name} | {_changes(higher)} | {_changes(lower)} | ×{ratio:.2f} |")
    return "\n".join(lines) + "\n"


#: Names of the ablations in the figures.
ABLATION_NAMES: dict[str, str] = {
    "without run length": "without the run-length factor",
    "level only": "the fitted level alone (no factors)",
}
#: The seed log's best run: its length and rate (tests/data/seed_004_runs.tsv, run v8).
SEED_BEST_STEPS = 800
SEED_BEST_RATE = 1.5e-4
#: The seed setup at its best length, and the directions of calibration.md (changes to that setup).
DIRECTION_SETUP: dict[str, object] = {**SEED_SETUP, "steps": SEED_BEST_STEPS, "rank": 64, "alpha": 64.0}


@dataclass(frozen=True)
class Direction:
    """A direction the evidence shows: `higher` (changes to the setup) gets a higher rate than
    `lower`. Where it is one exponent's sign, that exponent and the least ratio its check asks
    for (tests/test_calibrated.py); the closest fits hold them as bounds."""

    name: str
    higher: dict[str, object]
    lower: dict[str, object]
    exponent: str | None = None
    least_ratio: float = 1.0


DIRECTIONS: tuple[Direction, ...] = (
    Direction(
        "less alpha at fixed rank: higher", {"rank": 16, "alpha": 1.0}, {"rank": 16, "alpha": 16.0}, "alpha_ratio", 1.3
    ),
    Direction("a shorter run of the same data: higher", {}, {"steps": 2750}, "horizon", SEED_DIRECTION_RATIO),
    Direction("a larger batch (Adam): higher", {"batch_size": 4}, {}, "batch", 1.2),
    Direction("AdamW above Lion", {"optimizer": "AdamW"}, {"optimizer": "Lion"}),
    Direction("distinct images are not repeats", {"images": 10}, {"images": 1, "repeats": 10}),
)
#: The directions that are one exponent's sign: the checks the closest fits hold as bounds.
DIRECTION_CHECKS = tuple(direction for direction in DIRECTIONS if direction.exponent is not None)
RUN_LENGTH_DIRECTION = next(direction for direction in DIRECTIONS if direction.exponent == "horizon")


def at_their_own_length(rows: Sequence[Row]) -> list[Row]:
    """The rows with every run read at its own length in the run-length factor, however short."""
    unfloored = [dataclasses.replace(row, x={}) for row in rows]
    add_features(unfloored, shortest=0.0)
    return unfloored


def run_length_scales(rows: Sequence[Row]) -> list[tuple[float, float, float, Score, Score]]:
    """For each saturation scale S0: the fitted horizon exponent, the seed setup's 800 ÷ 2,750
    steps ratio, and the leave-one-source-out and 5-fold scores of a fit with that S0."""
    table = []
    for scale in sorted((HORIZON_SCALE_STEPS, *OTHER_HORIZON_SCALES)):
        scaled = [dataclasses.replace(row, x={}) for row in rows]
        add_features(scaled, scale)
        model = fit_all(scaled)
        shorter = _setup_row(RUN_LENGTH_DIRECTION.higher, scale)
        longer = _setup_row(RUN_LENGTH_DIRECTION.lower, scale)
        ratio = math.exp(model.log_rate(shorter) - model.log_rate(longer))
        scores = []
        for predictions in (leave_one_source_out(scaled), k_fold(scaled)):
            scores.append(score([(scaled[i].lr, rate) for i, rate in sorted(predictions.items())]))
        table.append((scale, model.exponents["horizon"], ratio, scores[0], scores[1]))
    return table


#: The groupings of trainers' conventions the figures compare, the calibrated set's first.
CONVENTION_VARIANTS: tuple[tuple[str, Variant], ...] = (
    ("by repository (the calibrated set)", "full"),
    ("by training code: the sd-scripts repositories as one", "training code"),
    ("by training code, each repository nested in it", "nested"),
)


def convention_scores(rows: Sequence[Row]) -> list[tuple[str, Score, Score, Score, float]]:
    """For each grouping of trainers' conventions: the fit's score on all scored rows, under
    5-fold and leaving one source out, and its rate for the seed setup."""
    scope = [i for i, row in enumerate(rows) if row.in_scope]
    table = []
    for name, variant in CONVENTION_VARIANTS:
        model = fit_all(rows, variant)
        everything = score([(rows[i].lr, math.exp(model.log_rate(rows[i]))) for i in scope])
        folded, by_source = (
            score([(rows[i].lr, predictions[i]) for i in scope])
            for predictions in (k_fold(rows, variant), leave_one_source_out(rows, variant))
        )
        table.append((name, everything, folded, by_source, math.exp(model.log_rate(_setup_row({})))))
    return table


# --- The closest fit of this form, with and without the direction checks ------------------

#: The exponents the closest fits use (resolution cannot be told from the corpus: see PRIORS).
CLOSEST_EXPONENTS = ("alpha_ratio", "batch", "horizon", "images", "schedule")
#: Each family's departure from the common level costs this much (natural log), as a residual would.
CLOSEST_FAMILY_PENALTY = 0.3
CLOSEST_IRLS_ROUNDS = 300
#: Residuals below this (natural log) weigh as this in the reweighted least squares.
CLOSEST_IRLS_FLOOR = 1e-5
#: Keeps the solve defined for columns the rows do not vary; too small to move the others.
CLOSEST_RIDGE = 1e-9
#: Which direction checks (their exponents) each closest fit holds.
_CHECKED_EXPONENTS = tuple(str(direction.exponent) for direction in DIRECTION_CHECKS)
CLOSEST_VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("every direction check held", _CHECKED_EXPONENTS),
    ("the run-length check dropped", tuple(name for name in _CHECKED_EXPONENTS if name != "horizon")),
    ("no direction check", ()),
)
#: The row of the closest-fit table that fits nothing but one level (see least_checked_fit).
LEAST_CHECKED_NAME = "the checks' least factors, one common level"


@dataclass
class ClosestFit:
    """A least-absolute-deviations fit of ln(rate) on the scored rows, as the figures score:
    one level, a free level per family (penalized), the exponents. No priors, no trainers'
    conventions: the most a fit of this form can take from the corpus."""

    families: tuple[str, ...]
    coefficients: np.ndarray

    def log_rate(self, row: Row) -> float:
        return float((_closest_design([row], self.families) @ self.coefficients)[0])


def _closest_design(rows: Sequence[Row], families: Sequence[str]) -> np.ndarray:
    design = np.zeros((len(rows), 1 + len(families) + len(CLOSEST_EXPONENTS)))
    design[:, 0] = 1.0
    column_of = {family: 1 + i for i, family in enumerate(families)}
    for i, row in enumerate(rows):
        if row.family in column_of:
            design[i, column_of[row.family]] = 1.0
        design[i, 1 + len(families) :] = [row.x[name] for name in CLOSEST_EXPONENTS]
    return design


def exponent_bounds(checks: Iterable[str]) -> dict[str, tuple[float, float]]:
    """Each checked exponent's allowed interval: the check's ratio holds on the seed setup."""
    bounds = {}
    for direction in DIRECTION_CHECKS:
        name = direction.exponent
        if name is not None and name in checks:
            step = _setup_row(direction.higher).x[name] - _setup_row(direction.lower).x[name]
            limit = math.log(direction.least_ratio) / step
            bounds[name] = (limit, math.inf) if step > 0 else (-math.inf, limit)
    return bounds


def closest_fit(rows: Sequence[Row], checks: Iterable[str]) -> ClosestFit:
    """Minimize Σ|ln preset − ln predicted| + penalty · Σ|family level| with every checked
    exponent inside its bounds: iteratively reweighted least squares, an exponent outside its
    bounds held at the bound and the rest refitted (the loss is convex, so that bound is active)."""
    families = tuple(sorted({row.family for row in rows}))
    design = _closest_design(rows, families)
    target = np.array([math.log(row.lr) for row in rows])
    count = design.shape[1]
    family_columns = list(range(1, 1 + len(families)))
    exponent_column = {name: 1 + len(families) + i for i, name in enumerate(CLOSEST_EXPONENTS)}
    bounds = {exponent_column[name]: interval for name, interval in exponent_bounds(checks).items()}
    held: dict[int, float] = {}
    while True:
        free = [j for j in range(count) if j not in held]
        fixed = sum((design[:, j] * value for j, value in held.items()), np.zeros(len(rows)))
        free_design, free_target = design[:, free], target - fixed
        penalized = [free.index(j) for j in family_columns]  # family levels are never held
        coefficients = np.zeros(len(free))
        coefficients[0] = float(np.median(free_target))
        for _ in range(CLOSEST_IRLS_ROUNDS):
            weights = 1.0 / np.maximum(np.abs(free_target - free_design @ coefficients), CLOSEST_IRLS_FLOOR)
            lhs = (free_design.T * weights) @ free_design
            lhs[penalized, penalized] += CLOSEST_FAMILY_PENALTY / np.maximum(
                np.abs(coefficients[penalized]), CLOSEST_IRLS_FLOOR
            )
            # A column the rows never vary (e.g. images, left at its default) stays at 0.
            lhs += CLOSEST_RIDGE * np.eye(len(free))
            coefficients = np.linalg.solve(lhs, (free_design.T * weights) @ free_target)
        values = np.zeros(count)
        values[free] = coefficients
        for j, value in held.items():
            values[j] = value
        outside = {
            j: min(max(values[j], low), high) for j, (low, high) in bounds.items() if not low <= values[j] <= high
        }
        if not outside:
            return ClosestFit(families, values)
        held.update(outside)


def least_checked_fit(rows: Sequence[Row]) -> ClosestFit:
    """Each checked exponent at the least its direction check allows, the other exponents 0, no
    family levels, and the one level that fits `rows` best by the figures' loss (the median of
    what the factors leave): the checked factors at the least strength the checks allow."""
    least = {
        name: low if math.isfinite(low) else high for name, (low, high) in exponent_bounds(_CHECKED_EXPONENTS).items()
    }
    exponents = np.array([least.get(name, 0.0) for name in CLOSEST_EXPONENTS])
    factors = _closest_design(rows, ())[:, 1:] @ exponents
    level = float(np.median(np.log([row.lr for row in rows]) - factors))
    return ClosestFit((), np.concatenate(([level], exponents)))


def closest_fit_scores(rows: Sequence[Row]) -> list[tuple[str, Score, Score, Score, float]]:
    """Each closest fit's score fitted on all scored rows, then under the calibrated set's 5-fold
    and leave-one-source-out splits; and its rate for the seed setup (fitted on all rows)."""
    scored = [row for row in rows if row.in_scope]
    table: list[tuple[str, Score, Score, Score, float]] = []
    fits: list[tuple[str, Callable[[Sequence[Row]], ClosestFit]]] = [
        (name, functools.partial(closest_fit, checks=checks)) for name, checks in CLOSEST_VARIANTS
    ]
    fits.append((LEAST_CHECKED_NAME, least_checked_fit))
    for name, closest_fit_of in fits:
        model = closest_fit_of(scored)
        everything = score([(row.lr, math.exp(model.log_rate(row))) for row in scored])
        seed_setup = math.exp(model.log_rate(_setup_row({})))
        held_out_scores = []
        for splits in (fold_splits(rows), source_splits(rows)):
            pairs = []
            for held_out in splits:
                model = closest_fit_of([row for row in scored if not held_out(row)])
                pairs += [(row.lr, math.exp(model.log_rate(row))) for row in scored if held_out(row)]
            held_out_scores.append(score(pairs))
        folded, by_source = held_out_scores
        table.append((name, everything, folded, by_source, seed_setup))
    return table


#: Least presets of a family the other repositories must have for its median to be used.
TRANSFER_LEAST_PRESETS = (1, 3, 8)


def repository_transfer(rows: Sequence[Row]) -> tuple[list[tuple[int | None, Score]], set[float]]:
    """Leaving one source out, the scored rows predicted by the other sources' median rate (None),
    and by their family median wherever they have at least that many presets of the family; with
    the overall medians met."""
    scored = [row for row in rows if row.in_scope]
    table: list[tuple[int | None, Score]] = []
    medians: set[float] = set()
    for least in (None, *TRANSFER_LEAST_PRESETS):
        pairs = []
        for held_out in source_splits(scored):
            others = [row for row in scored if not held_out(row)]
            overall = float(np.median([math.log(row.lr) for row in others]))
            medians.add(float(f"{math.exp(overall):.4g}"))
            by_family: dict[str, list[float]] = defaultdict(list)
            for row in others:
                by_family[row.family].append(math.log(row.lr))
            for row in scored:
                if held_out(row):
                    rates = by_family.get(row.family, [])
                    use_family = least is not None and len(rates) >= least
                    pairs.append((row.lr, math.exp(float(np.median(rates)) if use_family else overall)))
        table.append((least, score(pairs)))
    return table, medians


def _rate_text(rate: float, decimals: int = 1) -> str:
    """A rate as presets write it: 1.5e-4, 7.3e-5."""
    mantissa, exponent = f"{rate:.{decimals}e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _changes(changes: dict[str, object]) -> str:
    shown = (f"{key} {value:g}" if isinstance(value, float) else f"{key} {value}" for key, value in changes.items())
    return ", ".join(shown) or "the setup"


def _setup_row(changes: dict[str, object], horizon_scale: float = HORIZON_SCALE_STEPS) -> Row:
    config = TrainingConfig(**{**DIRECTION_SETUP, **changes})
    optimizer_family = catalog.OPTIMIZERS.by_id(config.resolved.optimizer.id).family
    row = Row(SEED_SOURCE, "seed", SEED_ROW_FAMILY, optimizer_family, "lora", BASELINE_RATE, config)
    add_features([row], horizon_scale)
    return row


def plot_svg(rows: Sequence[Row], predictions: dict[int, float]) -> str:
    """Predicted (leave one source out) against preset rates on log axes, as a small SVG."""
    size, margin, low, high = 420, 50, 1e-6, 2e-3

    def position(rate: float) -> float:
        share = (math.log10(rate) - math.log10(low)) / (math.log10(high) - math.log10(low))
        return margin + max(0.0, min(1.0, share)) * (size - 2 * margin)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}"'
        ' font-family="sans-serif" font-size="11">',
        f'<rect width="{size}" height="{size}" fill="white"/>',
    ]
    lo, hi = position(low), position(high)
    # The band within 2× of the diagonal.
    corners = [
        (lo, position(low * 2)),
        (position(high / 2), hi),
        (hi, hi),
        (hi, position(high / 2)),
        (position(low * 2), lo),
        (lo, lo),
    ]
    points = " ".join(f"{x:.1f},{size - y:.1f}" for x, y in corners)
    parts.append(f'<polygon points="{points}" fill="#e8f0fe"/>')
    parts.append(f'<line x1="{lo}" y1="{size - lo}" x2="{hi}" y2="{size - hi}" stroke="#888" stroke-dasharray="4"/>')
    for exponent in range(-6, -2):
        tick = position(10.0**exponent)
        parts.append(f'<text x="{tick - 12}" y="{size - margin + 16}">1e{exponent}</text>')
        parts.append(f'<text x="{margin - 40}" y="{size - tick + 4}">1e{exponent}</text>')
    for i, rate in sorted(predictions.items()):
        x, y = position(rate), size - position(rows[i].lr)
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#1a73e8" fill-opacity="0.5"/>')
    parts.append(f'<text x="{size / 2 - 90}" y="{size - 10}">recommended (leave one source out)</text>')
    parts.append(f'<text x="12" y="{margin - 20}">preset rate; shaded: within 2×</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def all_rows() -> list[Row]:
    rows = corpus_rows() + seed_rows()
    add_features(rows)
    return rows


def outputs() -> dict[pathlib.Path, str]:
    rows = all_rows()
    model = fit_all(rows)
    loso = leave_one_source_out(rows)
    folds = k_fold(rows)
    errors = sorted(abs(math.log(rows[i].lr / rate)) for i, rate in loso.items())
    residual_log_sd = 1.4826 * float(np.median(errors))
    energy = energy_rates(rows)
    energy_log_sd = 1.4826 * float(np.median([abs(math.log(rows[i].lr / rate)) for i, rate in energy.items()]))
    return {
        DATA_MODULE: data_module(model, rows, residual_log_sd, energy_log_sd),
        FIGURES: figures_markdown(rows, loso, folds, model, energy),
        PLOT: plot_svg(rows, loso),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the shipped files instead of writing")
    args = parser.parse_args()
    stale = []
    for path, text in outputs().items():
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(path)
        else:
            path.write_text(text)
    print(FIGURES.read_text() if not args.check else "")
    if stale:
        print("stale: " + ", ".join(str(p.relative_to(ROOT)) for p in stale) + " (run scripts/calibrate.py)")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
