"""How a calculation reads, for every front-end (CLI, web UI, ComfyUI): what the names resolved to,
every statistic with its meaning, the reasons, the evidence band and the warnings.

Works on the `Calculation` messages the client returns; imports neither the engine nor grpc, so
each front-end can use it beside the client.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import fields
from ._generated.lrtool.v1 import engine_pb2 as pb

#: Factors whose multiplier is a rate itself: the family's at the reference setup, or what an
#: adaptive optimizer takes (Prodigy's 1.0, automagic's start). The others multiply it.
RATE_FACTORS = frozenset({"family", "adaptive optimizer"})


@dataclass(frozen=True)
class FactorRow:
    """One factor as a row: its name, the multiplier as people read it, the input and why."""

    name: str
    multiplier: str
    value: str
    explanation: str


def rate(value: float, *, decimal: bool = False) -> str:
    """A learning rate as every front-end shows it, to four significant digits: '9.235e-05' the way
    trainers write it, and rates from 0.01 up (Prodigy's 1) or 0 as plain numbers: '1', '0.5'.

    `decimal` adds the small rate spelled out for a trainer field that takes no exponent, the same four
    digits: '9.235e-05 (0.00009235)'. The headline rates use it; bands, lists and sentences do not.
    """
    if value == 0 or abs(value) >= 0.01 or not math.isfinite(value):
        return f"{value:.4g}"
    scientific = f"{value:.3e}"
    if not decimal:
        return scientific
    places = 3 - int(scientific.partition("e")[2])
    spelled = f"{float(scientific):.{places}f}".rstrip("0").rstrip(".")
    return f"{scientific} ({spelled})"


def factor_rows(calculation: Any) -> list[FactorRow]:
    """The recommendation factor by factor (formula set calibrated; empty otherwise)."""
    return [
        FactorRow(
            factor.name,
            rate(factor.multiplier) if factor.name in RATE_FACTORS else f"×{factor.multiplier:.3g}",
            factor.value,
            factor.explanation,
        )
        for factor in calculation.factors
    ]


def has_evidence(calculation: Any) -> bool:
    return bool(calculation.HasField("evidence") and calculation.evidence.count)


def evidence_summary(calculation: Any) -> str:
    """'What 17 public SD1.5 AdamW family presets (LoRA) use: p10 … p90', or '' without evidence."""
    if not has_evidence(calculation):
        return ""
    evidence = calculation.evidence
    return (
        f"What {evidence.count} public {evidence.family} {evidence.optimizer_family} presets ({evidence.network})"
        f" use: p10 {rate(evidence.p10)} · p25 {rate(evidence.p25)} · median {rate(evidence.p50)}"
        f" · p75 {rate(evidence.p75)} · p90 {rate(evidence.p90)}"
    )


def band_summary(calculation: Any) -> str:
    """The 80 % band around the recommendation, and what informed it."""
    if not calculation.recommended_high:
        return ""
    text = f"80 % band: {rate(calculation.recommended_low)} … {rate(calculation.recommended_high)}"
    if calculation.personal_runs:
        text += (
            f" (your runs: ×{calculation.personal_factor:.2g} on the population's {rate(calculation.population_lr)},"
            f" {calculation.personal_runs} run{'s' if calculation.personal_runs != 1 else ''})"
        )
    return text


def reasons_text(calculation: Any) -> str:
    """The reasons and the evidence as plain text (a terminal, a ComfyUI report)."""
    lines: list[str] = []
    rows = factor_rows(calculation)
    if rows:
        lines.append("Why this rate (factor by factor):")
        width = max(len(row.name) for row in rows)
        for row in rows:
            lines.append(f"  {row.name:<{width}}  {row.multiplier:<10} {row.value}")
            lines.append(f"  {'':<{width}}  {row.explanation}")
    band = band_summary(calculation)
    if band:
        lines.append(band)
    summary = evidence_summary(calculation)
    if summary:
        lines.append(summary)
        lines.append(f"  sources: {', '.join(calculation.evidence.sources)}")
    return "\n".join(lines)


# --- What the names resolved to --------------------------------------------------------------


def _given(config: Mapping[str, Any], name: str, default: str = "") -> str:
    value = config.get(name)
    return str(value) if value not in (None, "") else default


def resolved_text(config: Mapping[str, Any], catalog: pb.Catalog) -> str:
    """What the configuration's names resolved to, defaults included:
    "SDXL · Character · AdamW (8-Bit) · LoRA · cosine (huggingface schedules, calibrated formula)"."""
    formula = _given(config, "formula", catalog.default_formula)
    trainer = _given(config, "trainer", catalog.default_trainer)
    network = _given(config, "network", catalog.default_network)
    names = [fields.display_name(catalog, name, _given(config, name)) for name in ("model", "objective", "optimizer")]
    names.append(fields.display_name(catalog, "network", network))
    schedule = f"{_given(config, 'scheduler')} ({trainer} schedules, {formula} formula)"
    return " · ".join(part for part in (*names, schedule) if part)


# --- Every statistic ------------------------------------------------------------------------------

#: Every statistic of a calculation with what it means, in the order they are shown.
STATISTICS: tuple[tuple[str, str], ...] = (
    ("recommended_lr", "rate that delivers the target energy"),
    ("adjusted_lr", "recommended × (1 + offset), or your rate"),
    ("offset", "position of the slider"),
    ("target_energy", "base energy × objective modifier"),
    ("delivered_energy", "energy the adjusted rate delivers"),
    ("energy_ratio", "delivered / target"),
    ("deviation", "|delivered − target| / target"),
    ("effective_batch", "batch + 0.7 × (accumulation − 1)"),
    ("exposure", "√(steps × effective batch / images)"),
    ("capacity", "√(rank / alpha)"),
    ("resolution_scale", "(resolution / native) ^ p"),
    ("scheduler_factor", "RMS of the schedule over the run"),
    ("optimizer_modifier", "optimizer's calibrated modifier"),
    ("warmup_steps", "steps of warmup"),
    ("curvature_factor", "√(base energy / reference energy)"),
    ("objective_sensitivity", "objective's overshoot sensitivity"),
    ("undershoot_k", "curvature below the target"),
    ("overshoot_k", "curvature above the target"),
    ("stability_score", "100 · exp(−k · deviation²)"),
    ("efficiency_score", "100 · exp(−2 · (ratio − 1)²)"),
    ("risk_band", "Safe / Caution / Risky"),
    ("efficiency_band", "Optimal / Suboptimal / Inefficient"),
    ("population_lr", "the recommendation before any run log"),
    ("personal_factor", "recommended / population, from your runs"),
    ("personal_runs", "logged runs of this model family that informed it"),
    ("recommended_low", "low edge of the 80 % band"),
    ("recommended_high", "high edge of the 80 % band"),
)


@dataclass(frozen=True)
class StatisticRow:
    name: str
    value: str
    meaning: str


def statistic_rows(calculation: Any) -> list[StatisticRow]:
    """Every statistic as a row: its name, its value as text, what it means."""
    rows = []
    for name, meaning in STATISTICS:
        value = getattr(calculation, name)
        rows.append(StatisticRow(name, f"{value:.6g}" if isinstance(value, float) else str(value), meaning))
    return rows
