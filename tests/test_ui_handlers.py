"""The web UI's handlers through gradio_client, against a launched app and a real engine."""

from __future__ import annotations

import csv
import html
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pytest
from conftest import DATA, RunningEngine, running_engine

gradio_client = pytest.importorskip("gradio_client")

from engine_server.engine import TrainingConfig, calculate  # noqa: E402
from gradio_ui import app as ui  # noqa: E402


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def web(engine: RunningEngine) -> Iterator[Any]:
    ui.configure(engine.address)
    port = free_port()
    ui.launch(port=port, prevent_thread_lock=True, quiet=True)
    client = gradio_client.Client(f"http://127.0.0.1:{port}/", verbose=False)
    try:
        yield client
    finally:
        client.close() if hasattr(client, "close") else None
        ui.demo.close()


def named_form(**changes: Any) -> dict[str, Any]:
    """The form's values by field name: the starting values with `changes`."""
    values = {**ui.STARTING_VALUES, **changes}
    return {name: values.get(name) for name, _ in ui.ALL_FIELDS}


def _endpoint(api_name: str) -> Any:
    return next(function for function in ui.demo.fns.values() if function.api_name == api_name)


def _visible(components: Any) -> list[str]:
    """Names of the components an API call sends or returns (state stays on the server)."""
    return [ui.PAGE.name_of(component) for component in components if not isinstance(component, gr.State)]


def call(web: Any, api_name: str, **values: Any) -> dict[str, Any]:
    """An endpoint called with its inputs by component name (those not named empty); its outputs by name."""
    function = _endpoint(api_name)
    # Inputs not named are left empty (My learning rate, for one).
    outputs = web.predict(*(values.get(name) for name in _visible(function.inputs)), api_name=f"/{api_name}")
    names = _visible(function.outputs)
    return dict(zip(names, outputs if len(names) > 1 else [outputs], strict=True))


def handle(handler: Any, **values: Any) -> dict[str, Any]:
    """A handler called in process with `{component: value}`; its updates by component name."""
    updates = handler({ui.PAGE[name]: value for name, value in values.items()})
    return {ui.PAGE.name_of(component): update for component, update in updates.items()}


def page_values(**changes: Any) -> dict[str, Any]:
    """What the page's timer sends: the form, the offset, the run log and the page's state."""
    return {**named_form(**changes), "offset": 0, "run_log": "", "page_state": {"loaded": True, "down": False}}


def engine_config(**changes: Any) -> TrainingConfig:
    values = {**ui.STARTING_VALUES, **changes}
    fields = {k: v for k, v in values.items() if k not in ("warmup_mode", "warmup_value")}
    fields["warmup_fraction"] = values["warmup_value"] / 100
    return TrainingConfig(**fields)


def text(html_fragment: str) -> str:
    """What a person reads: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", html_fragment))


def file_path(output: Any) -> Path:
    """A file output, whether the client gave a path or a component update holding one."""
    value = output.get("value", output) if isinstance(output, dict) else output
    if isinstance(value, dict):
        value = value.get("path") or value.get("url")
    return Path(value)


def data_value(html: str, element: str) -> float:
    found = re.search(rf'id="{element}"[^>]*data-value="([^"]+)"', html)
    assert found, f"{element} not in {html[:200]}"
    return float(found.group(1))


def test_page_load_fills_choices_from_the_catalog(web: Any) -> None:
    card = call(web, "load_page")["card"]
    expected = calculate(engine_config())
    assert data_value(card, "lr-recommended") == expected.recommended_lr


def test_recalculate_shows_rates_scores_statistics_and_plots(web: Any) -> None:
    result = call(web, "recalculate", offset=30, run_log="", **named_form(model="flux1", steps=3000))
    card, statistics, score_plot, schedule_plot = (
        result[name] for name in ("card", "statistics", "score_plot", "schedule_plot")
    )
    expected = calculate(engine_config(model="flux1", steps=3000), offset=0.3)
    assert data_value(card, "lr-recommended") == expected.recommended_lr
    assert data_value(card, "lr-adjusted") == pytest.approx(expected.adjusted_lr)
    assert data_value(card, "stability") == pytest.approx(expected.stability_score)
    assert 'data-band="' + expected.risk_band + '"' in card
    assert "scheduler_factor" in statistics
    assert score_plot is not None and schedule_plot is not None
    # The evidence band on a log axis with both rates on it, and the reasons factor by factor.
    assert data_value(result["evidence"].replace('class="marker-recommended"', 'id="marker-recommended"'),
                      "marker-recommended") == expected.recommended_lr  # fmt: skip
    assert "public presets" in text(result["evidence"]) and "<svg" in result["evidence"]
    assert all(f'data-factor="{factor.name}"' in result["reasons"] for factor in expected.factors)
    assert "alpha 16 of rank 32" in text(result["reasons"])


def test_the_slider_fast_path(web: Any) -> None:
    fast = call(web, "move_offset", offset=-40, run_log="", **named_form())
    card, evidence = fast["card"], fast["evidence"]
    expected = calculate(engine_config(), offset=-0.4)
    assert data_value(evidence.replace('class="marker-yours"', 'id="marker-yours"'), "marker-yours") == pytest.approx(
        expected.adjusted_lr
    )
    assert data_value(card, "lr-adjusted") == pytest.approx(expected.adjusted_lr)
    assert data_value(card, "lr-offset") == pytest.approx(-0.4)


def test_my_learning_rate_is_scored(web: Any) -> None:
    html = call(web, "evaluate", my_rate=3e-4, offset=0, run_log="", **named_form())["evaluation"]
    expected = calculate(engine_config(), learning_rate=3e-4)
    assert data_value(html, "stability") == pytest.approx(expected.stability_score)
    assert "Your learning rate" in html


def test_rejected_input_names_the_field_and_range_escaped(web: Any) -> None:
    card = call(web, "recalculate", offset=0, run_log="", **named_form(steps=-5, model="sdxl"))["card"]
    assert "config.steps" in card and "must be an integer from 1 to 10,000,000; got -5" in card
    rules = named_form(scheduler="piecewise_constant", warmup_value=0.0, step_rules="<script>alert(1)</script>")
    card = call(web, "recalculate", offset=0, run_log="", **rules)["card"]
    assert "config.step_rules" in card
    assert "<script>" not in card and "&lt;script&gt;" in card
    assert "Traceback" not in card


def test_compare_varies_a_field_and_downloads_csv(web: Any) -> None:
    empty = {"headers": ui.COMPARE_COLUMNS, "data": []}
    shown = call(
        web, "compare_vary", table=empty, vary="rank", vary_values="16, 32, 64", **named_form(formula="energy")
    )
    # Added and computed in one call.
    assert "Compared 3 runs" in shown["compare_note"]
    again = call(web, "compare", table=shown["table"], formula="energy", trainer="huggingface")
    assert again["table"] == shown["table"]
    data, csv_file = shown["table"]["data"], shown["download_csv"]
    assert [row[0] for row in data] == ["rank=16", "rank=32", "rank=64"]
    rates = [float(row[ui.COMPARE_COLUMNS.index("recommended_lr")]) for row in data]
    assert rates == sorted(rates, reverse=True)
    assert rates[1] == pytest.approx(calculate(engine_config(rank=32, formula="energy")).recommended_lr, rel=1e-3)
    with file_path(csv_file).open(encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == ui.COMPARE_COLUMNS and len(written) == 4


def test_compare_scores_the_rates_a_tuning_log_used(web: Any) -> None:
    setup = named_form(model="sd15", resolution=512, scheduler="cosine_with_restarts", rank=64, formula="energy")
    empty = {"headers": ui.COMPARE_COLUMNS, "data": []}
    rows = call(web, "compare_vary", table=empty, vary="learning_rate", vary_values="5e-5, 1e-4, 1.5e-4", **setup)
    stability = [row[ui.COMPARE_COLUMNS.index("stability")] for row in rows["table"]["data"]]
    assert len(stability) == 3 and all(0 < value <= 100 for value in stability)


def test_profiles_save_load_default_export_import_delete(web: Any, tmp_path: Path) -> None:
    status = call(web, "save_profile", profile_name="ui profile", notes="from the UI", offset=25, **named_form(rank=64))
    assert "Saved 'ui profile' (version 1)" in text(status["profile_status"])
    loaded = call(web, "load_profile", profiles="ui profile")
    assert "Loaded 'ui profile'" in text(loaded["profile_status"])
    assert loaded["offset"] == 25.0 and loaded["notes"] == "from the UI" and loaded["rank"] == 64
    status = call(web, "set_default_profile", profiles="ui profile")
    assert "now loads when the page opens" in text(status["profile_status"])
    assert data_value(call(web, "load_page")["card"], "lr-offset") == pytest.approx(0.25)
    exported = call(web, "export_profile", profiles="ui profile")["download_file"]
    assert file_path(exported).read_bytes().startswith(b"{")
    legacy = gradio_client.handle_file(str(DATA / "lrtool_1_0_profile_sdxl_character.json"))
    status = call(web, "import_profile", upload=legacy, profile_name="from 1.0", replace=False)["profile_status"]
    assert "Imported 'from 1.0'" in text(status)
    # Over an existing name, as the CLI without --replace: refused, and the way to replace it said.
    status = call(web, "import_profile", upload=legacy, profile_name="ui profile", replace=False)["profile_status"]
    assert f"A profile 'ui profile' exists already: tick '{ui.REPLACE_LABEL}'" in text(status)
    assert call(web, "load_profile", profiles="ui profile")["rank"] == 64
    status = call(web, "import_profile", upload=legacy, profile_name="ui profile", replace=True)["profile_status"]
    assert "Imported 'ui profile'" in text(status)
    status = call(web, "delete_profile", profiles="ui profile")["profile_status"]
    assert "Deleted 'ui profile'" in text(status)


def test_unreachable_engine_shows_the_banner_then_recovers(tmp_path: Path) -> None:
    port = free_port()
    ui.configure(f"127.0.0.1:{port}")
    try:
        banner = handle(ui.recalculate, offset=0, run_log="", **named_form())["banner"]
        assert banner["visible"] is True and "lrtool serve" in banner["value"]
        watched = handle(ui.watch_engine, **page_values())
        state, banner = watched["page_state"], watched["banner"]
        assert state["down"] is True and banner["visible"] is True
        from engine_server.server import Settings, create_server

        server, _ = create_server(Settings(port=port, db=tmp_path / "p.sqlite3"))
        server.start()
        try:
            ui.ENGINE.client.wait_until_serving(timeout=15)
            watched = handle(ui.watch_engine, **page_values() | {"page_state": state})
            assert watched["page_state"] == {"loaded": True, "down": False} and watched["banner"]["visible"] is False
            assert data_value(watched["card"], "lr-recommended") == calculate(engine_config()).recommended_lr
        finally:
            server.stop(0)
    finally:
        ui.configure("127.0.0.1:1")


def test_engine_restart_under_a_running_page(tmp_path: Path) -> None:
    with running_engine(tmp_path / "a.sqlite3") as first:
        ui.configure(first.address)
        assert "lr-recommended" in handle(ui.recalculate, offset=0, run_log="", **named_form())["card"]
        port = first.port
    state = handle(ui.watch_engine, **page_values())["page_state"]
    assert state["down"] is True
    from engine_server.server import Settings, create_server

    server, _ = create_server(Settings(port=port, db=tmp_path / "a.sqlite3"))
    server.start()
    try:
        ui.ENGINE.client.wait_until_serving(timeout=15)
        watched = handle(ui.watch_engine, **page_values() | {"page_state": state})
        assert watched["page_state"]["down"] is False and watched["banner"]["visible"] is False
    finally:
        server.stop(0)


def test_runs_handlers_record_refuse_and_summarize(web: Any, engine: RunningEngine) -> None:
    ui.configure(engine.address)  # an earlier test may have pointed the page at an engine it stopped
    call(web, "load_page")  # the form's choices come from the catalog

    def record(rate: float, outcome: str, best_step: int, notes: str) -> dict[str, Any]:
        run = {"run_rate": rate, "run_outcome": outcome, "run_best_step": best_step, "run_notes": notes}
        return call(web, "record_run", run_log="ui runs", **run, **named_form())

    assert "run.learning_rate: must be a finite number above 0" in text(record(-1e-4, "good", 0, "")["runs_status"])
    refused = record(1e-4, "good", 99_999, "")["runs_status"]
    assert "run.best_step: must be a step of the run, from 1 to steps (2,000)" in text(refused)
    recorded = record(2e-4, "undertrained", 0, "weak likeness")
    status, rows, summary = recorded["runs_status"], recorded["runs_table"], recorded["runs_summary"]
    assert "Recorded run" in text(status) and "your runs: ×" in text(summary) and "1 run" in text(summary)
    table = rows["data"] if isinstance(rows, dict) else rows
    assert table[0][8] == "undertrained" and table[0][9] in ("", None) and table[0][10] == "weak likeness"
    personal = calculate(engine_config())
    assert float(re.search(r'data-factor="([^"]+)"', summary).group(1)) > 1.0  # type: ignore[union-attr]
    assert personal.personal_runs == 0  # the engine alone knows no log
    # The calculator learns from the log the page names (the default log when it is empty).
    learned = call(web, "recalculate", offset=0, run_log="ui runs", **named_form())["card"]
    population = call(web, "recalculate", offset=0, run_log="", **named_form())["card"]
    assert 'data-runs="1"' in learned and 'data-runs="0"' in population
    assert data_value(learned, "lr-recommended") > data_value(population, "lr-recommended")
    fast = call(web, "move_offset", offset=0, run_log="ui runs", **named_form())["card"]
    assert data_value(fast, "lr-recommended") == data_value(learned, "lr-recommended")
    refused = call(web, "show_runs", run_log="bad/log", **named_form())["runs_summary"]
    assert "log: must be 1–128 characters" in text(refused)


def test_my_learning_rate_drives_the_card_and_the_marker(web: Any, engine: RunningEngine) -> None:
    ui.configure(engine.address)
    scored = calculate(engine_config(), learning_rate=3e-4)
    shown = handle(ui.recalculate, offset=40, run_log="", my_rate=3e-4, **named_form())
    card = shown["card"]
    assert data_value(card, "lr-adjusted") == pytest.approx(3e-4)
    assert data_value(card, "stability") == pytest.approx(scored.stability_score)
    assert data_value(card, "lr-recommended") == scored.recommended_lr
    marker = shown["score_plot"]
    marker = marker[marker["series"] == "current offset"]["offset (%)"]
    assert list(marker) == pytest.approx([100 * (3e-4 / scored.recommended_lr - 1)] * 2)
    # While the slider moves, the card follows the slider (its release empties My learning rate: the browser test).
    moved = handle(ui.move_offset, offset=-20, run_log="", my_rate=3e-4, **named_form())
    assert "my_rate" not in moved and data_value(moved["card"], "lr-offset") == pytest.approx(-0.2)


def _luminance(colour: str) -> float:
    channels = [int(colour[index : index + 2], 16) / 255 for index in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def test_score_cards_keep_white_text_readable() -> None:
    from gradio_ui import _views as views

    bands = re.findall(r"\.band-(\w+) \{ background: (#[0-9a-f]{6}); \}", views.CSS)
    assert {band for band, _ in bands} == {"green", "orange", "red"}
    for band, colour in bands:
        assert 1.05 / (_luminance(colour) + 0.05) >= 4.5, f"{band} {colour}: below WCAG AA for white text"


def test_the_runs_chart_keeps_every_run_and_the_band_inside_its_frame(engine: RunningEngine) -> None:
    """The band's edges are the chart's extreme points: its range leaves room around them, so that they
    are not drawn on the frame (where the runs at 3,000 steps and the band looked cut off)."""
    from gradio_ui import _views as views

    ui.configure(engine.address)
    log = Path(__file__).parents[1] / "docs" / "examples" / "seed_004_sd15_runs.csv"
    runs = ui.ENGINE.client.import_runs(log.read_bytes(), "chart", base={"alpha": 32})
    populations = [1.0e-4] * len(runs)
    frame = views.runs_frame(runs, populations, ui.pb.Outcome, calculate(engine_config()))
    (x_low, x_high), (y_low, y_high) = views.runs_chart_limits(frame)
    steps, ratios = frame["steps"].dropna(), frame["× recommendation"].dropna()
    assert x_low <= steps.min() and x_high > steps.max() == 3000
    assert y_low < ratios.min() and y_high > ratios.max()
    assert views.runs_chart_limits(views.runs_frame([], [], ui.pb.Outcome, None)) == ([0.0, 1.0], [0.0, 2.0])
