"""What the page shows: results, statistics, banners and plot data (pure functions, escaped HTML)."""

from __future__ import annotations

import html
import math
from collections.abc import Iterable
from typing import Any

import pandas as pd

from engine_server import presenting
from engine_server.client import FieldViolation

#: The statistics table, in LRTool 1.0's order, with what each one means.
_BAND_COLOURS = {
    "Safe": "green",
    "Optimal": "green",
    "Caution": "orange",
    "Suboptimal": "orange",
    "Risky": "red",
    "Inefficient": "red",
}


def _band(label: str, score: float, band: str, element: str) -> str:
    colour = _BAND_COLOURS.get(band, "grey")
    return (
        f'<div class="lrtool-score band-{colour}" id="{element}" data-value="{score!r}">'
        f'<span class="lrtool-label">{label}</span>'
        f'<span class="lrtool-value" data-value="{score!r}">{score:.1f}</span>'
        f'<span class="lrtool-band" data-band="{html.escape(band)}">{html.escape(band)}</span></div>'
    )


def result_card(calculation: Any, *, evaluated: bool = False) -> str:
    """The recommended and adjusted rate with the two scores in their band colours."""
    adjusted_label = "Your learning rate" if evaluated else "Adjusted learning rate"
    return (
        '<div class="lrtool-result">'
        '<div class="lrtool-rates">'
        f'<div><span class="lrtool-label">Recommended learning rate</span>'
        f'<span class="lrtool-rate" id="lr-recommended" data-value="{calculation.recommended_lr!r}">'
        f"{html.escape(presenting.rate(calculation.recommended_lr, decimal=True))}</span></div>"
        f'<div><span class="lrtool-label">{adjusted_label}</span>'
        f'<span class="lrtool-rate" id="lr-adjusted" data-value="{calculation.adjusted_lr!r}">'
        f"{html.escape(presenting.rate(calculation.adjusted_lr, decimal=True))}</span>"
        f'<span class="lrtool-offset" id="lr-offset" data-value="{calculation.offset!r}">'
        f"offset {calculation.offset:+.1%}</span></div>" + personal_line(calculation) + "</div>"
        '<div class="lrtool-scores">'
        + _band("Stability", calculation.stability_score, calculation.risk_band, "stability")
        + _band("Efficiency", calculation.efficiency_score, calculation.efficiency_band, "efficiency")
        + "</div>"
        "</div>"
    )


def resolved_line(text: str) -> str:
    """What the form's names resolved to (model, objective, optimizer, network, schedule, formula)."""
    return f'<p class="lrtool-resolved" id="lr-resolved">{html.escape(text)}</p>'


def personal_line(calculation: Any) -> str:
    """The population's rate beside what the user's own runs make of it, with the 80 % band."""
    band = f"80 % band {presenting.rate(calculation.recommended_low)} … {presenting.rate(calculation.recommended_high)}"
    if calculation.personal_runs:
        runs = "run" if calculation.personal_runs == 1 else "runs"
        learned = f"your runs: ×{calculation.personal_factor:.2f}, {calculation.personal_runs} {runs}"
    elif calculation.personal_factor != 1.0:
        learned = f"no logged runs of this model yet (runs of others nudge it ×{calculation.personal_factor:.2f})"
    else:
        learned = "no logged runs of this model yet"
    return (
        f'<div class="lrtool-personal" id="lr-personal" data-factor="{calculation.personal_factor!r}"'
        f' data-runs="{calculation.personal_runs}" data-population="{calculation.population_lr!r}">'
        f'<span class="lrtool-label">Population</span> {html.escape(presenting.rate(calculation.population_lr))}'
        f" · {html.escape(learned)} · {html.escape(band)}</div>"
    )


def warnings_list(warnings: Iterable[str]) -> str:
    items = "".join(f"<li>{html.escape(warning)}</li>" for warning in warnings)
    return f'<ul class="lrtool-warnings" id="warnings">{items}</ul>' if items else ""


def statistics_table(calculation: Any) -> str:
    rows = [
        f'<tr><th scope="row">{row.name}</th><td class="num" data-field="{row.name}">{html.escape(row.value)}</td>'
        f"<td>{html.escape(row.meaning)}</td></tr>"
        for row in presenting.statistic_rows(calculation)
    ]
    return f'<table class="lrtool-statistics" id="statistics"><tbody>{"".join(rows)}</tbody></table>'


def problems(violations: Iterable[FieldViolation], message: str = "") -> str:
    """Rejected input: every field with its accepted range, as text (never markup from the input)."""
    items = "".join(f"<li><code>{html.escape(v.field)}</code>: {html.escape(v.description)}</li>" for v in violations)
    if not items and message:
        items = f"<li>{html.escape(message)}</li>"
    return (
        f'<div class="lrtool-problems" id="problems"><strong>Please check these inputs</strong><ul>{items}</ul></div>'
    )


def trainer_config_report(filename: str, result: Any) -> str:
    """What an imported trainer config says: its learning rates (scored), what is missing, notes."""
    rows = []
    for found in result.learning_rates:
        scored = ""
        if found.HasField("evaluation"):
            evaluation = found.evaluation
            scored = (
                f" — stability {evaluation.stability_score:.1f} ({evaluation.risk_band}),"
                f" efficiency {evaluation.efficiency_score:.1f} ({evaluation.efficiency_band})"
            )
        rows.append(f"<li><code>{html.escape(found.key)}</code> = {found.value:g}{html.escape(scored)}</li>")
    missing = ""
    if result.missing_fields:
        names = ", ".join(result.missing_fields)
        missing = f"<p class='lrtool-error'>Still to fill in: <strong>{html.escape(names)}</strong>.</p>"
    notes = "".join(f"<li>{html.escape(warning)}</li>" for warning in result.warnings)
    return (
        f'<div class="lrtool-import" id="trainer-report"><p>Read <strong>{html.escape(filename)}</strong>'
        f" as a {html.escape(result.format)} config. The form now shows its settings.</p>"
        f"<p>Learning rates in the file:</p><ul>{''.join(rows) or '<li>none</li>'}</ul>{missing}"
        f"{f'<details><summary>Notes</summary><ul>{notes}</ul></details>' if notes else ''}</div>"
    )


def notice(text: str, kind: str = "info") -> str:
    return f'<div class="lrtool-notice lrtool-{kind}">{html.escape(text)}</div>'


def engine_banner(address: str, reason: str) -> str:
    return (
        '<div class="lrtool-banner" id="engine-banner-text">'
        f"<strong>The LRTool engine at {html.escape(address)} does not answer.</strong> "
        "Start it with <code>lrtool serve</code> (or run <code>make run</code>, which starts everything), "
        "or point <code>--engine</code> / <code>LRTOOL_ENGINE</code> at a running engine. "
        f"This page reconnects by itself. <small>({html.escape(reason)})</small></div>"
    )


def score_frame(curves: Any, offset: float) -> pd.DataFrame:
    """Stability and efficiency against the offset, with the current offset as a vertical marker."""
    offsets = [100.0 * value for value in curves.offsets]
    frame = pd.DataFrame(
        {
            "offset (%)": offsets + offsets + [100.0 * offset, 100.0 * offset],
            "score": list(curves.stability) + list(curves.efficiency) + [0.0, 100.0],
            "series": ["stability"] * len(offsets) + ["efficiency"] * len(offsets) + ["current offset"] * 2,
        }
    )
    return frame


#: How the run log's outcomes are named on the page, and their colours in the chart.
OUTCOME_LABELS = {
    "UNDERTRAINED": "undertrained",
    "GOOD": "good",
    "OVERTRAINED": "overtrained",
    "DIVERGED": "diverged",
    "OUTCOME_UNSPECIFIED": "not judged",
}
RUNS_COLOURS = {
    "undertrained": "#1a73e8",
    "good": "#1e8e3e",
    "overtrained": "#e37400",
    "diverged": "#c5221f",
    "not judged": "#9aa0a6",
    "your band": "#7b1fa2",
}
RUN_COLUMNS = [
    "id", "recorded", "model", "steps", "rank", "alpha", "learning rate", "× recommendation", "outcome",
    "best step", "notes",
]  # fmt: skip
#: Points drawn along each edge of the band in the runs chart.
_BAND_POINTS = 24


def outcome_label(run: Any, names: Any) -> str:
    return OUTCOME_LABELS.get(names.Name(run.outcome), "not judged")


def runs_rows(runs: Iterable[Any], populations: Iterable[float], names: Any) -> list[list[Any]]:
    """The run log as a table, newest first: what was trained, the rate against the population's, the outcome."""
    rows = []
    for run, population in zip(runs, populations, strict=True):
        config = run.config
        rows.append(
            [
                run.id,
                run.recorded_at.ToDatetime().strftime("%Y-%m-%d %H:%M"),
                config.model,
                config.steps,
                config.rank,
                config.alpha,
                presenting.rate(run.learning_rate),
                round(run.learning_rate / population, 3) if population > 0 else "",
                outcome_label(run, names),
                run.best_step if run.HasField("best_step") else "",
                run.notes,
            ]
        )
    return rows


def runs_frame(runs: Iterable[Any], populations: Iterable[float], names: Any, calculation: Any) -> pd.DataFrame:
    """Each run's rate ÷ the population's recommendation for its own configuration, over its steps, by outcome;
    with the user's 80 % band (as the same ratio) across the chart."""
    steps: list[float] = []
    ratios: list[float] = []
    series: list[str] = []
    for run, population in zip(runs, populations, strict=True):
        if population > 0:
            steps.append(float(run.config.steps))
            ratios.append(run.learning_rate / population)
            series.append(outcome_label(run, names))
    if calculation is not None and calculation.population_lr > 0:
        last = max(steps, default=1.0)
        for index in range(_BAND_POINTS):
            at = last * index / (_BAND_POINTS - 1)
            for edge in (calculation.recommended_low, calculation.recommended_high):
                steps.append(at)
                ratios.append(edge / calculation.population_lr)
                series.append("your band")
    # One empty point per series: Gradio keeps the series a plot first showed, so all must be there from the start.
    for name in RUNS_COLOURS:
        steps.append(math.nan)
        ratios.append(math.nan)
        series.append(name)
    return pd.DataFrame({"steps": steps, "× recommendation": ratios, "outcome": series})


#: Room left around the runs chart's points, so that none sits on its frame (the band's edges would).
_CHART_ROOM = 0.08


def runs_chart_limits(frame: pd.DataFrame) -> tuple[list[float | None], list[float | None]]:
    """The runs chart's x and y ranges: every point, the band's edges included, inside the frame."""
    steps, ratios = frame["steps"].dropna(), frame["× recommendation"].dropna()
    if steps.empty:
        return [0.0, 1.0], [0.0, 2.0]
    low, high = float(ratios.min()), float(ratios.max())
    room = max(high - low, 0.1) * _CHART_ROOM
    return [0.0, float(steps.max()) * (1 + _CHART_ROOM)], [max(0.0, low - room), high + room]


def schedule_frame(curves: Any, learning_rate: float) -> pd.DataFrame:
    """The learning rate at each optimizer step, as the trainer applies it (warmup included)."""
    return pd.DataFrame(
        {"step": list(curves.steps), "learning rate": [learning_rate * value for value in curves.multipliers]}
    )


CSS = """
.lrtool-result { display: flex; flex-wrap: wrap; gap: 1rem; align-items: flex-start; }
.lrtool-rates { display: flex; flex-direction: column; gap: .5rem; flex: 2 1 18rem; }
.lrtool-rates > div { display: flex; flex-direction: column; }
.lrtool-label { font-size: .8rem; opacity: .75; }
.lrtool-rate { font-size: 1.6rem; font-weight: 600; font-variant-numeric: tabular-nums; }
.lrtool-offset { font-size: .85rem; opacity: .8; }
.lrtool-personal { font-size: .85rem; }
.lrtool-scores { display: flex; gap: .5rem; flex: 1 1 12rem; }
.lrtool-score { flex: 1; border-radius: .4rem; padding: .3rem .6rem; color: white;
                display: flex; flex-direction: column; line-height: 1.2; }
.lrtool-score .lrtool-value { font-size: 1.4rem; font-weight: 700; }
/* Gradio's prose styles colour text inside an HTML component; the cards' text stays white on its band. */
.lrtool-score, .lrtool-score * { color: #fff !important; }
.lrtool-score .lrtool-label { opacity: 1; }
/* White text on each band colour at a contrast of at least 4.5:1 (WCAG AA). */
.band-green { background: #137333; } .band-orange { background: #a14e00; } .band-red { background: #b3261e; }
.lrtool-resolved { font-size: .8rem; opacity: .8; margin: .25rem 0 0; }
/* The compare table fits a 1280 px window without scrolling sideways (app.COMPARE_WIDTHS): small type,
   headers broken between words only, values inside a word only when it is longer than its column, and a
   quarter of Gradio's cell padding (on the cell and again on its wrapper, 32 px of every column). */
#compare-table, #compare-table th, #compare-table td, #compare-table .body-cell,
#compare-table .body-cell * { font-size: .75rem; }
#compare-table th, #compare-table th * { word-break: normal; overflow-wrap: normal; hyphens: none; }
#compare-table .body-cell * { word-break: normal; overflow-wrap: anywhere; }
#compare-table td { padding: 0 !important; }
#compare-table .cell-wrap { padding: 4px !important; }
/* Narrow screens stack the columns: the results come before the form. */
@media (max-width: 900px) { #results-column { order: -1; } }
.lrtool-warnings { color: #b06000; margin: .25rem 0; }
.lrtool-problems { border: 1px solid #c5221f; border-radius: .5rem; padding: .5rem .75rem; color: #c5221f; }
.lrtool-banner { background: #c5221f; color: white; padding: .75rem 1rem; border-radius: .5rem; }
.lrtool-banner code { color: white; }
.lrtool-statistics { width: 100%; font-size: .85rem; }
.lrtool-statistics td.num { font-variant-numeric: tabular-nums; text-align: right; padding-right: 1rem; }
.lrtool-notice { padding: .25rem .5rem; border-radius: .25rem; }
.lrtool-error { color: #c5221f; } .lrtool-ok { color: #1e8e3e; }
/* The score of your own rate and the warnings take no room until they have something to say. */
#evaluation:has(.prose:empty), #warnings-box:has(.prose:empty) { display: none; }
"""

#: Double-clicking the offset slider resets it (LRTool 1.0 did the same).
HEAD = """
<script>
document.addEventListener("dblclick", (event) => {
  if (event.target.closest && event.target.closest("#offset-slider")) {
    const reset = document.querySelector("#offset-reset");
    if (reset) reset.click();
  }
});
</script>
"""


# --- Evidence band and reasons (formula set calibrated) ---------------------------------------

_CHART_WIDTH, _CHART_MARGIN = 640, 24
#: Rows of the chart (y of each band's centre line) and the band heights.
_EVIDENCE_ROW, _BAND_ROW, _AXIS_ROW, _CHART_HEIGHT = 34, 78, 104, 124


def _log_position(value: float, low: float, high: float) -> float:
    share = (math.log10(value) - math.log10(low)) / (math.log10(high) - math.log10(low))
    return _CHART_MARGIN + min(1.0, max(0.0, share)) * (_CHART_WIDTH - 2 * _CHART_MARGIN)


def _ticks(low: float, high: float) -> list[float]:
    """1, 2 and 5 times each power of ten inside the axis."""
    ticks = []
    for exponent in range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1):
        ticks += [mantissa * 10.0**exponent for mantissa in (1, 2, 5)]
    return [tick for tick in ticks if low <= tick <= high]


def evidence_chart(calculation: Any) -> str:
    """The recommendation, your rate and the 80 % band on a log-rate axis, over what public
    presets of the same setup use (10th–90th and 25th–75th percentiles, median)."""
    evidence = calculation.evidence if presenting.has_evidence(calculation) else None
    shown = [
        calculation.recommended_lr,
        calculation.adjusted_lr,
        calculation.recommended_low,
        calculation.recommended_high,
    ]
    if evidence is not None:
        shown += [evidence.p10, evidence.p90]
    shown = [value for value in shown if value > 0]
    if not shown:
        return ""
    low, high = min(shown) / 1.6, max(shown) * 1.6

    def x(value: float) -> float:
        return _log_position(value, low, high)

    parts = [
        f'<svg class="lrtool-evidence-chart" viewBox="0 0 {_CHART_WIDTH} {_CHART_HEIGHT}" role="img"'
        ' aria-label="learning rate on a log axis: the recommendation, your rate, the 80 % band and the presets"'
        ' xmlns="http://www.w3.org/2000/svg" font-size="11" font-family="sans-serif">'
    ]
    if evidence is not None:
        label = f"{evidence.count} public presets: {evidence.family}, {evidence.optimizer_family}, {evidence.network}"
        parts.append(
            f'<rect class="evidence-p10-p90" x="{x(evidence.p10):.1f}" y="{_EVIDENCE_ROW - 9}"'
            f' width="{max(2.0, x(evidence.p90) - x(evidence.p10)):.1f}" height="18" fill="#c6dafc"/>'
            f'<rect class="evidence-p25-p75" x="{x(evidence.p25):.1f}" y="{_EVIDENCE_ROW - 9}"'
            f' width="{max(2.0, x(evidence.p75) - x(evidence.p25)):.1f}" height="18" fill="#8ab4f8"/>'
            f'<line x1="{x(evidence.p50):.1f}" x2="{x(evidence.p50):.1f}" y1="{_EVIDENCE_ROW - 11}"'
            f' y2="{_EVIDENCE_ROW + 11}" stroke="#174ea6" stroke-width="2"/>'
            f'<text x="{_CHART_MARGIN}" y="{_EVIDENCE_ROW - 14}" fill="#174ea6">'
            f"{html.escape(label)}</text>"
        )
    parts.append(
        f'<rect class="recommended-band" x="{x(calculation.recommended_low):.1f}" y="{_BAND_ROW - 6}"'
        f' width="{max(2.0, x(calculation.recommended_high) - x(calculation.recommended_low)):.1f}" height="12"'
        ' fill="#ceead6"/>'
        f'<text x="{_CHART_MARGIN}" y="{_BAND_ROW - 10}" fill="#137333">80 % band of the best rate for this run</text>'
    )
    for value, label, colour, element in (
        (calculation.recommended_lr, "recommended", "#137333", "marker-recommended"),
        (calculation.adjusted_lr, "your rate", "#c5221f", "marker-yours"),
    ):
        parts.append(
            f'<g class="{element}" data-value="{value!r}"><line x1="{x(value):.1f}" x2="{x(value):.1f}"'
            f' y1="{_EVIDENCE_ROW - 12}" y2="{_BAND_ROW + 8}" stroke="{colour}" stroke-width="2"/>'
            f'<text x="{x(value) + 3:.1f}" y="{_BAND_ROW + 18 if element == "marker-yours" else _BAND_ROW + 8}"'
            f' fill="{colour}">{label}</text></g>'
        )
    parts.append(
        f'<line x1="{_CHART_MARGIN}" x2="{_CHART_WIDTH - _CHART_MARGIN}" y1="{_AXIS_ROW}" y2="{_AXIS_ROW}"'
        ' stroke="#5f6368"/>'
    )
    for tick in _ticks(low, high):
        parts.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{_AXIS_ROW}" y2="{_AXIS_ROW + 4}" stroke="#5f6368"/>'
            f'<text x="{x(tick) - 12:.1f}" y="{_AXIS_ROW + 16}" fill="#3c4043">{tick:.0e}</text>'
        )
    parts.append("</svg>")
    summary = presenting.evidence_summary(calculation) or "No public presets to compare with for this formula set."
    sources = (
        f'<div class="lrtool-sources">sources: {html.escape(", ".join(evidence.sources))}</div>' if evidence else ""
    )
    return (
        f'<div class="lrtool-evidence" id="evidence">{"".join(parts)}'
        f'<div class="lrtool-evidence-summary">{html.escape(summary)}</div>{sources}</div>'
    )


def reasons_table(calculation: Any) -> str:
    """Why this rate: each factor's multiplier, the input it comes from, and what it means."""
    rows = presenting.factor_rows(calculation)
    if not rows:
        return (
            '<p class="lrtool-reasons" id="reasons">This formula set explains its rate with the statistics'
            " below (energy model); choose the calibrated formula set for reasons in words.</p>"
        )
    body = "".join(
        f'<tr data-factor="{html.escape(row.name)}"><th scope="row">{html.escape(row.name)}</th>'
        f'<td class="num">{html.escape(row.multiplier)}</td><td>{html.escape(row.value)}</td>'
        f"<td>{html.escape(row.explanation)}</td></tr>"
        for row in rows
    )
    return (
        '<table class="lrtool-reasons" id="reasons"><thead><tr><th>factor</th><th>×</th><th>your input</th>'
        f"<th>why</th></tr></thead><tbody>{body}</tbody></table>"
    )
