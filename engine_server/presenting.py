"""How a calculation's reasons and evidence read, for every front-end (CLI, web UI, ComfyUI).

Works on the `Calculation` messages the client returns; imports neither the engine nor grpc, so
each front-end can use it beside the client.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: The factor whose multiplier is the family's rate itself (the others multiply it).
REFERENCE_FACTOR = "family"


@dataclass(frozen=True)
class FactorRow:
    """One factor as a row: its name, the multiplier as people read it, the input and why."""

    name: str
    multiplier: str
    value: str
    explanation: str


def rate(value: float) -> str:
    """A learning rate in the form trainers write it: 1.03e-04."""
    return f"{value:.3g}" if value >= 0.01 else f"{value:.2e}"


def factor_rows(calculation: Any) -> list[FactorRow]:
    """The recommendation factor by factor (formula set calibrated; empty otherwise)."""
    return [
        FactorRow(
            factor.name,
            rate(factor.multiplier) if factor.name == REFERENCE_FACTOR else f"×{factor.multiplier:.3g}",
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
