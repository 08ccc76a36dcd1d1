"""Web UI latency, measured in the browser: from a field change to the new recommended rate on the page,
and from a slider change to the updated numbers.

Run: python bench/ui.py   (starts `lrtool up` on free ports; needs Debian's chromium)

Targets (issue 13): field change median ≤ 300 ms; slider median ≤ 150 ms.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _engine import free_port

ROOT = Path(__file__).resolve().parents[1]
MOVES = 60
EDITS = 40
TARGET_MS = 150.0
FIELD_TARGET_MS = 300.0
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

# Sets the slider as a drag does (an input event) and resolves when the page shows the new offset.
MEASURE = """
async (value) => {
  const slider = document.querySelector('#offset-slider input[type=range]');
  const shown = () => document.querySelector('#lr-offset');
  const wanted = value / 100;
  return await new Promise((resolve) => {
    const start = performance.now();
    const observer = new MutationObserver(() => {
      const element = shown();
      if (element && Math.abs(Number(element.dataset.value) - wanted) < 1e-12) {
        observer.disconnect();
        resolve(performance.now() - start);
      }
    });
    observer.observe(document.querySelector('#result-card'), {subtree: true, childList: true, attributes: true});
    slider.value = String(value);
    slider.dispatchEvent(new Event('input', {bubbles: true}));
  });
}
"""


# Types a new step count as a person does (input event) and resolves when the page shows the new recommended rate.
MEASURE_FIELD = """
async (value) => {
  const box = document.querySelector('#field-steps input');
  const rate = () => document.querySelector('#lr-recommended');
  const before = rate() ? rate().dataset.value : null;
  return await new Promise((resolve) => {
    const start = performance.now();
    const observer = new MutationObserver(() => {
      const element = rate();
      if (element && element.dataset.value !== before) {
        observer.disconnect();
        resolve(performance.now() - start);
      }
    });
    observer.observe(document.querySelector('#result-card'), {subtree: true, childList: true, attributes: true});
    const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
    setter.call(box, String(value));
    box.dispatchEvent(new Event('input', {bubbles: true}));
  });
}
"""


def summary(name: str, latencies: list[float], target: float) -> bool:
    median = statistics.median(latencies)
    p90 = statistics.quantiles(latencies, n=10)[-1]
    ok = median <= target
    print(f"{name}, {len(latencies)} changes in headless Chromium")
    print(f"  median {median:.1f} ms   p90 {p90:.1f} ms   min {min(latencies):.1f} ms   max {max(latencies):.1f} ms")
    print(f"  target median ≤ {target:.0f} ms {'ok' if ok else 'MISSED'}")
    return ok


def wait_for(url: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:g} s")


def main() -> int:
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs chromium (apt-get install chromium)")
    ui_port, engine_port = free_port(), free_port()
    with tempfile.TemporaryDirectory() as directory:
        command = [sys.executable, "-m", "engine_server.cli", "up", "--port", str(ui_port),
                   "--engine-port", str(engine_port), "--db", str(Path(directory) / "bench.sqlite3")]  # fmt: skip
        process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, env=dict(os.environ))
        try:
            url = f"http://127.0.0.1:{ui_port}/"
            wait_for(url)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 1600})
                page.goto(url)
                page.wait_for_selector("#lr-recommended", timeout=60_000)
                page.wait_for_timeout(1000)
                rng = random.Random(7)
                values: list[int] = []
                previous = 0
                while len(values) < MOVES:
                    value = rng.randint(-100, 100)
                    if value != previous:
                        values.append(value)
                        previous = value
                for value in values[:5]:  # warm up
                    page.evaluate(MEASURE, value)
                latencies = [page.evaluate(MEASURE, value) for value in values[5:]]
                # Each step count a different one, so that the recommended rate changes every time.
                steps = [1000 + 37 * index for index in range(EDITS + 5)]
                for value in steps[:5]:  # warm up
                    page.evaluate(MEASURE_FIELD, value)
                field_latencies = [page.evaluate(MEASURE_FIELD, value) for value in steps[5:]]
                browser.close()
        finally:
            process.terminate()
            process.wait(timeout=30)
    field_ok = summary("Field change (steps) → new recommended rate on the page", field_latencies, FIELD_TARGET_MS)
    slider_ok = summary("Slider change → updated numbers in the page", latencies, TARGET_MS)
    return 0 if field_ok and slider_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
