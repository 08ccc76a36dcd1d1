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


def wait_for_change(page: Any, element: str, before: float) -> float:
    page.wait_for_function(
        "([id, old]) => { const e = document.querySelector('#' + id); return e && Number(e.dataset.value) !== old; }",
        arg=[element, before],
    )
    return shown(page, element)


def set_number(page: Any, field: str, value: str) -> None:
    box = page.locator(f"#field-{field} input").first
    box.fill(value)
    box.press("Tab")


def engine_result(**fields: Any) -> Any:
    config = {**ui.STARTING_VALUES, **fields}
    config.pop("warmup_mode")
    config["warmup_fraction"] = config.pop("warmup_value") / 100
    offset = config.pop("offset", 0.0)
    learning_rate = config.pop("learning_rate", None)
    return calculate(TrainingConfig(**config), offset=None if learning_rate else offset, learning_rate=learning_rate)


def test_the_desk_end_to_end(page: Any) -> None:
    # The starting configuration, computed by the engine.
    assert shown(page, "lr-recommended") == engine_result().recommended_lr

    # Change the model (a dropdown) and the steps.
    before = shown(page, "lr-recommended")
    page.locator("#field-model input").first.click()
    page.get_by_role("option", name="FLUX.1", exact=True).click()
    flux = wait_for_change(page, "lr-recommended", before)
    assert flux == engine_result(model="flux1").recommended_lr
    set_number(page, "steps", "3000")
    changed = wait_for_change(page, "lr-recommended", flux)
    assert changed == engine_result(model="flux1", steps=3000).recommended_lr

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
