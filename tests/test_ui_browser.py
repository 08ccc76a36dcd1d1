"""The web UI in a real browser (Debian's chromium driven by Playwright): numbers equal the engine's."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import RunningEngine
from test_ui_handlers import free_port

from engine_server.engine import TrainingConfig, calculate
from engine_server.trainer_configs import written_rate
from gradio_ui import app as ui

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip("no Chromium here (apt-get install chromium); browser tests skipped", allow_module_level=True)
sync_api = pytest.importorskip("playwright.sync_api")

SCREENSHOT = Path(__file__).resolve().parents[1] / "bench" / "out" / "ui.png"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@pytest.fixture(scope="module")
def page(engine: RunningEngine) -> Iterator[Any]:
    ui.configure(engine.address)
    port = free_port()
    ui.launch(port=port, prevent_thread_lock=True, quiet=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1400, "height": 1800})
        tab.set_default_timeout(20_000)
        tab.goto(f"http://127.0.0.1:{port}/")
        tab.wait_for_selector("#lr-recommended")
        try:
            yield tab
        finally:
            browser.close()
            ui.demo.close()


def shown(page: Any, element: str) -> float:
    return float(page.locator(f"#{element}").first.get_attribute("data-value"))


#: True once the element's shown value is no longer `old`.
_CHANGED = "([id, old]) => { const e = document.querySelector('#' + id); return e && Number(e.dataset.value) !== old; }"


def wait_for_change(page: Any, element: str, before: float, timeout: float | None = None) -> float:
    page.wait_for_function(_CHANGED, arg=[element, before], timeout=timeout)  # None: Playwright's default
    return shown(page, element)


def set_number(page: Any, field: str, value: str) -> None:
    box = page.locator(f"#field-{field} input").first
    box.fill(value)
    box.press("Tab")


def set_number_until_changed(page: Any, field: str, value: str, element: str, before: float) -> float:
    """set_number, then the new value of `element`. An edit made while the previous
    recalculation was still arriving was, rarely and only on a loaded machine, not recalculated
    (seen twice in CI): the edit is made again once, as a person would, before the full wait."""
    set_number(page, field, value)
    try:
        return wait_for_change(page, element, before, timeout=5_000)
    except sync_api.TimeoutError:
        set_number(page, field, value)
        return wait_for_change(page, element, before)


def engine_result(**fields: Any) -> Any:
    config = {**ui.STARTING_VALUES, **fields}
    config.pop("warmup_mode")
    config["warmup_fraction"] = config.pop("warmup_value") / 100
    offset = config.pop("offset", 0.0)
    learning_rate = config.pop("learning_rate", None)
    return calculate(TrainingConfig(**config), offset=None if learning_rate else offset, learning_rate=learning_rate)


def test_the_desk_end_to_end(page: Any) -> None:
    # The starting configuration, computed by the engine; no rate of the user's yet (not a rate of 0).
    assert shown(page, "lr-recommended") == engine_result().recommended_lr
    assert page.locator("#my-rate input").first.input_value() == ""
    # The score cards' text is white on its band colour, whatever Gradio's own styles say.
    colours = page.eval_on_selector_all(
        "#result-card .lrtool-score *", "all => all.map(e => getComputedStyle(e).color)"
    )
    assert colours and set(colours) == {"rgb(255, 255, 255)"}

    # Change the model (a dropdown) and the steps.
    before = shown(page, "lr-recommended")
    page.locator("#field-model input").first.click()
    page.get_by_role("option", name="FLUX.1", exact=True).click()
    flux = wait_for_change(page, "lr-recommended", before)
    assert flux == engine_result(model="flux1").recommended_lr
    set_number(page, "steps", "3000")
    changed = wait_for_change(page, "lr-recommended", flux)
    assert changed == engine_result(model="flux1", steps=3000).recommended_lr
    # Images (which steps counted from epochs follow) recalculate like any field.
    set_number(page, "images", "60")
    assert (
        wait_for_change(page, "lr-recommended", changed)
        == engine_result(model="flux1", steps=3000, images=60).recommended_lr
    )
    set_number(page, "images", "40")
    wait_for_change(page, "lr-recommended", engine_result(model="flux1", steps=3000, images=60).recommended_lr)

    # Move the offset slider: the numbers follow while it moves.
    slider = page.locator("#offset-slider input[type=range]").first
    slider.fill("40")
    adjusted = wait_for_change(page, "lr-offset", 0.0)
    assert adjusted == pytest.approx(0.4)
    expected = engine_result(model="flux1", steps=3000, offset=0.4)
    assert shown(page, "lr-adjusted") == pytest.approx(expected.adjusted_lr, rel=1e-12)
    assert shown(page, "stability") == pytest.approx(expected.stability_score, rel=1e-12)

    # Double-click resets the slider.
    page.locator("#offset-slider").first.dblclick()
    wait_for_change(page, "lr-offset", 0.4)
    assert shown(page, "lr-offset") == 0.0

    # Score a typed learning rate.
    page.locator("#my-rate input").first.fill("0.0002")
    page.locator("#evaluate").click()
    page.wait_for_selector("#evaluation #stability")
    scored = engine_result(model="flux1", steps=3000, learning_rate=2e-4)
    assert float(page.locator("#evaluation #stability").get_attribute("data-value")) == pytest.approx(
        scored.stability_score, rel=1e-12
    )
    # The main card shows it too, with its score.
    page.wait_for_function("() => Number(document.querySelector('#lr-adjusted').dataset.value) === 2e-4")
    assert shown(page, "stability") == pytest.approx(scored.stability_score, rel=1e-12)
    # Moving the slider sets the rate by the offset again, and empties My learning rate.
    track = slider.bounding_box()
    assert track is not None
    page.mouse.click(track["x"] + 0.75 * track["width"], track["y"] + track["height"] / 2)  # press and release
    page.wait_for_function("() => document.querySelector('#my-rate input').value === ''")
    page.wait_for_function("() => Number(document.querySelector('#lr-offset').dataset.value) > 0.3")
    released = shown(page, "lr-offset")
    expected = engine_result(model="flux1", steps=3000, offset=released)
    assert shown(page, "lr-adjusted") == pytest.approx(expected.adjusted_lr, rel=1e-12)

    # Save a profile, change the form, reload the profile: the numbers come back.
    page.get_by_role("tab", name="Profiles").click()
    page.locator("#profile-name textarea, #profile-name input").first.fill("browser profile")
    page.locator("#profile-save").click()
    page.wait_for_selector("#profile-status:has-text('Saved')")
    page.get_by_role("tab", name="Calculator").click()
    set_number(page, "rank", "8")
    wait_for_change(page, "lr-recommended", changed)
    page.get_by_role("tab", name="Profiles").click()
    page.locator("#profile-list input").first.click()
    page.get_by_role("option", name="browser profile").first.click()
    page.locator("#profile-load").click()
    page.wait_for_selector("#profile-status:has-text('Loaded')")
    page.get_by_role("tab", name="Calculator").click()
    page.wait_for_function("v => Number(document.querySelector('#lr-recommended').dataset.value) === v", arg=changed)
    assert shown(page, "lr-recommended") == changed

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    # Gradio dims outputs while an update is pending; photograph the settled page.
    page.wait_for_function("() => document.querySelectorAll('.pending').length === 0")
    page.wait_for_timeout(300)  # let the fade back to full opacity finish
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000


SEED_RUNS = Path(__file__).resolve().parents[1] / "docs" / "examples" / "seed_004_sd15_runs.csv"
RUNS_SCREENSHOT = SCREENSHOT.with_name("ui_runs.png")


def choose(page: Any, element: str, option: str) -> None:
    page.locator(f"#{element} input").first.click()
    page.get_by_role("option", name=option, exact=True).first.click()


def run_count(page: Any) -> int:
    """Rows of the runs table (the grid counts its header row too; only visible rows are rendered)."""
    return int(page.locator("#runs-table [role=grid]").first.get_attribute("aria-rowcount")) - 1


def newest_run(page: Any) -> list[str]:
    cells = page.locator('#runs-table .virtual-row[data-index="0"] [role=gridcell]')
    return [cell.inner_text().strip() for cell in cells.all()]


def test_the_runs_tab_records_imports_edits_and_learns(page: Any) -> None:
    # The seed-004 setup in the Calculator (its CSV leaves alpha to the form).
    page.get_by_role("tab", name="Calculator").click()
    choose(page, "field-model", "SD1.5")
    for field, value in (("resolution", "512"), ("steps", "1200"), ("images", "20"), ("rank", "64"), ("alpha", "32")):
        set_number(page, field, value)
    page.keyboard.press("Escape")  # Tab out of alpha opened the optimizer's list over the tabs
    page.wait_for_function("() => document.querySelectorAll('.pending').length === 0")

    page.get_by_role("tab", name="Runs").click()
    log = page.locator("#runs-log textarea, #runs-log input").first
    log.fill("browser runs")
    log.press("Enter")
    page.wait_for_selector("#runs-summary:has-text('no logged runs of this model yet')")

    # Import the seed's tuning log: ten runs, five of which say something.
    page.locator("#runs-upload input[type=file]").set_input_files(str(SEED_RUNS))
    page.locator("#runs-import").click()
    page.wait_for_selector("#runs-status:has-text('Imported 10 runs')")
    page.wait_for_selector("#runs-summary:has-text('5 runs')")
    first = newest_run(page)
    assert run_count(page) == 10 and first[8] == "undertrained" and first[9] == "2750"
    # The Calculator learns from the log named on this tab.
    page.wait_for_selector("#result-card #lr-personal[data-runs='5']", state="attached")  # on the hidden tab
    summary = page.locator("#runs-summary #lr-personal")
    factor = float(summary.get_attribute("data-factor"))
    population = float(summary.get_attribute("data-population"))
    assert summary.get_attribute("data-runs") == "5" and population > 0 and factor != 1.0

    # Record the current configuration's run: GOOD at twice the population's rate moves the factor up.
    page.locator("#run-rate input").first.fill(repr(2 * population))
    page.locator("#run-best-step input").first.fill("1200")
    page.get_by_label("Good", exact=True).check()
    page.locator("#run-notes textarea").first.fill("recorded in the browser")
    page.locator("#run-record").click()
    page.wait_for_selector("#runs-status:has-text('Recorded run')")
    page.wait_for_selector("#runs-summary:has-text('6 runs')")
    recorded_factor = float(page.locator("#runs-summary #lr-personal").get_attribute("data-factor"))
    assert recorded_factor > factor
    newest = newest_run(page)
    assert newest[8] == "good" and newest[10] == "recorded in the browser" and float(newest[7]) == pytest.approx(2.0)

    # Correct its outcome to overtrained: the factor falls back below.
    choose_run(page, newest[0])
    choose(page, "run-edit-outcome", "Overtrained (burned, rigid, artifacts)")
    page.locator("#run-set-outcome").click()
    page.wait_for_selector(f"#runs-status:has-text('Run {newest[0]} is now')")
    page.wait_for_function(
        "old => Number(document.querySelector('#runs-summary #lr-personal').dataset.factor) < old", arg=recorded_factor
    )
    assert newest_run(page)[8] == "overtrained"

    # The chart plots every run by its outcome, and the band.
    for outcome in ("overtrained", "undertrained", "good", "not judged", "your band"):
        page.wait_for_selector(f"#runs-chart [aria-label*='outcome: {outcome}']")
    assert page.locator("#runs-chart [aria-label*='outcome: good']").count() == 2
    RUNS_SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.wait_for_function("() => document.querySelectorAll('.pending').length === 0")
    page.wait_for_timeout(300)
    page.screenshot(path=str(RUNS_SCREENSHOT), full_page=True)

    # Delete it: back to the five runs of the import.
    choose_run(page, newest[0])
    page.locator("#run-delete").click()
    page.wait_for_selector(f"#runs-status:has-text('Deleted run {newest[0]}')")
    page.wait_for_selector("#runs-summary:has-text('5 runs')")
    assert float(page.locator("#runs-summary #lr-personal").get_attribute("data-factor")) == pytest.approx(factor)
    assert run_count(page) == 10

    # Export: the same CSV the engine writes.
    page.locator("#runs-export").click()
    page.wait_for_selector("#runs-status:has-text('browser_runs_runs.csv')")
    with page.expect_download() as download:
        page.locator("#runs-file").click()
    exported = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert exported[0].endswith("learning_rate,outcome,best_step,notes") and len(exported) == 11


def choose_run(page: Any, run_id: str) -> None:
    """Pick a run in the dropdown by its id (the options read "ID: model, steps, rate")."""
    box = page.locator("#run-id input").first
    box.click()
    box.fill(f"{run_id}:")
    page.get_by_role("option").filter(has_text=f"{run_id}:").first.click()


TRAINER_CONFIGS = Path(__file__).resolve().parent / "data" / "trainer_configs"


def field_value(page: Any, field: str) -> str:
    return str(page.locator(f"#field-{field} input").first.input_value())


def test_an_imported_trainer_config_asks_for_what_it_cannot_say(page: Any, engine: RunningEngine) -> None:
    """The file counts steps from epochs and says nothing of images, repeats (its folder names hold them) or
    objective: the form's leftovers (40 images, Character) must not stand in for them, and the steps follow the
    images and repeats typed later."""
    from engine_server.client import LRToolClient

    page.reload()
    page.wait_for_selector("#lr-recommended")
    assert field_value(page, "images") == "40"  # the fresh page's starting value
    source = TRAINER_CONFIGS / "kohya_ss_gui_sdxl.json"
    page.locator("#trainer-import").get_by_text("Import a trainer config").first.click()
    page.locator("#trainer-file input[type=file]").set_input_files(str(source))
    page.locator("#trainer-import-button").click()
    page.wait_for_selector("#trainer-status:has-text('Still to fill in')")
    assert "steps, images, objective, repeats" in page.locator("#trainer-status").inner_text()
    page.wait_for_function("() => document.querySelector('#field-images input').value === ''")
    page.wait_for_function("() => document.querySelector('#field-repeats input').value === ''")
    assert field_value(page, "steps") == ""
    assert page.locator("#field-objective input:checked").count() == 0

    with LRToolClient(engine.address) as client:

        def expected(images: int) -> tuple[int, float]:
            overrides = {"images": images, "repeats": 10, "objective": "character"}
            result = client.import_trainer_config(source.read_bytes(), source.name, overrides=overrides)
            return result.config.steps, result.recommendation.recommended_lr

        page.locator("#field-objective").get_by_label("Character", exact=True).check()
        set_number(page, "repeats", "10")
        set_number(page, "images", "40")
        steps, rate = expected(40)
        page.wait_for_function("v => document.querySelector('#field-steps input').value === v", arg=str(steps))
        page.wait_for_function("v => Number(document.querySelector('#lr-recommended')?.dataset.value) === v", arg=rate)

        # More images: the trainer counts more steps, and the rate follows.
        set_number(page, "images", "80")
        more_steps, more_rate = expected(80)
        assert more_steps > steps
        page.wait_for_function("v => document.querySelector('#field-steps input').value === v", arg=str(more_steps))
        page.wait_for_function(
            "v => Number(document.querySelector('#lr-recommended')?.dataset.value) === v", arg=more_rate
        )

        # The written file downloads under a new name, with the rate the CLI would write for 80 images.
        page.wait_for_function("() => document.querySelectorAll('.pending').length === 0")
        page.locator("#trainer-export-button").click()
        page.wait_for_selector("#trainer-status:has-text('kohya_ss_gui_sdxl.lrtool.json')")
        with page.expect_download() as download:
            page.locator("#trainer-download").click()
        assert download.value.suggested_filename == "kohya_ss_gui_sdxl.lrtool.json"
        written = Path(download.value.path()).read_bytes()
        found = client.import_trainer_config(written, source.name).learning_rates[0].trained_value
        assert found == written_rate(more_rate)  # rates are written to four significant digits


def test_narrow_screens_show_the_results_first(page: Any) -> None:
    page.set_viewport_size({"width": 420, "height": 1600})
    try:
        page.get_by_role("tab", name="Calculator").click()
        results = page.locator("#results-column").bounding_box()
        form = page.locator("#field-model").bounding_box()
        assert results is not None and form is not None and results["y"] < form["y"]
        # The schedule's own parameters and the formula set wait under Advanced.
        assert not page.locator("#field-formula").is_visible()
        page.locator("#advanced").get_by_text("Advanced").first.click()
        page.locator("#field-formula").wait_for(state="visible")
    finally:
        page.set_viewport_size({"width": 1400, "height": 1800})


#: What in the compare table is wider than its box: a scrolling container, or a header or cell cut off.
OVERFLOWING = """table => [table, ...table.querySelectorAll('*')]
    .filter(e => ['auto', 'scroll'].includes(getComputedStyle(e).overflowX) || e.matches('th *, .body-cell *'))
    .filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)
    .map(e => `${e.tagName}.${e.className} "${e.innerText.slice(0, 20)}": ${e.scrollWidth} > ${e.clientWidth}`)"""


def test_compare_adds_and_computes_in_one_click(page: Any) -> None:
    page.set_viewport_size({"width": 1280, "height": 1800})
    try:
        page.get_by_role("tab", name="Compare").click()
        page.locator("#compare-add").click()
        page.wait_for_selector("#compare-note:has-text('Compared 1 runs in one call')")
        header = page.locator("#compare-table").inner_text()
        assert "Recommended" in header and "Batch size" in header and "batch_size" not in header
        # The results come first, and every column, inputs too, fits a 1280 px window: nothing scrolls sideways.
        table = page.locator("#compare-table").bounding_box()
        for column in ("Recommended", "Stability", "Risk", "Efficiency", "Objective", "Your LR"):
            cell = page.locator("#compare-table th").filter(has_text=column).first.bounding_box()
            assert table is not None and cell is not None and cell["x"] + cell["width"] <= table["x"] + table["width"]
        assert page.eval_on_selector("#compare-table", OVERFLOWING) == []
    finally:
        page.set_viewport_size({"width": 1400, "height": 1800})
    page.get_by_role("tab", name="Calculator").click()


def test_warnings_take_room_only_while_they_hold(page: Any) -> None:
    page.reload()
    page.wait_for_selector("#lr-recommended")
    start = engine_result()
    assert shown(page, "lr-recommended") == start.recommended_lr and not start.warnings
    assert page.locator("#warnings-box").is_hidden() and page.locator("#evaluation").is_hidden()

    set_number(page, "alpha", "256")
    high_alpha = engine_result(alpha=256.0)
    assert wait_for_change(page, "lr-recommended", start.recommended_lr) == high_alpha.recommended_lr
    page.wait_for_selector("#warnings-box .lrtool-warnings")
    warnings = [item.strip() for item in page.locator("#warnings-box li").all_inner_texts()]
    assert warnings == list(high_alpha.warnings) and any(warning.startswith("alpha:") for warning in warnings)

    back = set_number_until_changed(
        page, "alpha", str(ui.STARTING_VALUES["alpha"]), "lr-recommended", high_alpha.recommended_lr
    )
    assert back == start.recommended_lr
    page.wait_for_selector("#warnings-box", state="hidden")
