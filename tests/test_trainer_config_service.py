"""Trainer configs through the engine: ImportTrainerConfig / ExportTrainerConfig, `lrtool import`, the UI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DATA, RunningEngine

from engine_server.client import InvalidArgument, LRToolClient
from engine_server.engine import TrainingConfig, calculate
from engine_server.trainer_configs import MAX_CONFIG_BYTES, import_trainer_config

CONFIGS = DATA / "trainer_configs"
CASES = [
    ("sd_scripts_pony.toml", "sd_scripts_pony_dataset.toml", "sd-scripts"),
    ("kohya_ss_gui_sdxl.json", None, "kohya_ss"),
    ("ai_toolkit_flux.yaml", None, "ai-toolkit"),
    ("onetrainer_flux.json", None, "onetrainer"),
    ("musubi_zimage.toml", "musubi_zimage_dataset.toml", "musubi-tuner"),
]
SUPPLIED = {"images": 120, "repeats": 2, "objective": "Character"}


def read(name: str | None) -> bytes:
    return (CONFIGS / name).read_bytes() if name else b""


@pytest.mark.parametrize(("name", "dataset", "format_"), CASES)
def test_import_scores_the_files_rate_and_recommends(
    client: LRToolClient, name: str, dataset: str | None, format_: str
) -> None:
    result = client.import_trainer_config(
        read(name), name, dataset_content=read(dataset), dataset_filename=dataset or "", overrides=SUPPLIED
    )
    library = import_trainer_config(read(name), name, dataset_content=read(dataset), overrides=SUPPLIED)
    assert result.format == format_ == library.format
    assert list(result.missing_fields) == list(library.missing_fields)
    if result.missing_fields:
        assert not result.HasField("recommendation")
        return
    config = TrainingConfig(**library.config)
    assert result.recommendation.recommended_lr == calculate(config).recommended_lr
    found = result.learning_rates[0]
    assert found.trained_value == pytest.approx(found.value * result.learning_rate_scale)
    expected = calculate(config, learning_rate=found.trained_value)
    assert found.evaluation.stability_score == pytest.approx(expected.stability_score, rel=1e-12)


@pytest.mark.parametrize(("name", "dataset", "format_"), CASES)
def test_export_round_trip(client: LRToolClient, name: str, dataset: str | None, format_: str) -> None:
    before = client.import_trainer_config(read(name), name, dataset_content=read(dataset), overrides=SUPPLIED)
    written = client.export_trainer_config(read(name), 1.234e-4, name)
    after = client.import_trainer_config(written, name, dataset_content=read(dataset), overrides=SUPPLIED)
    assert after.learning_rates[0].trained_value == pytest.approx(1.234e-4, rel=1e-12)
    assert after.config == before.config
    assert after.format == format_


def test_missing_fields_are_asked_for(client: LRToolClient) -> None:
    result = client.import_trainer_config(read("ai_toolkit_flux.yaml"), "ai_toolkit_flux.yaml")
    assert {"images", "objective"} <= set(result.missing_fields)
    assert any(warning.startswith("images:") for warning in result.warnings)
    assert not result.HasField("recommendation")
    assert result.config.repeats == 3  # read from the file, not folded into images


def test_images_and_repeats_go_in_and_come_out_separately(client: LRToolClient) -> None:
    """The repeats the file does not hold are asked for with their range; given, they are the config's."""
    asked = client.import_trainer_config(read("onetrainer_flux.json"), "onetrainer_flux.json")
    assert {"images", "repeats", "steps"} <= set(asked.missing_fields)
    repeats_hint = next(warning for warning in asked.warnings if warning.startswith("repeats:"))
    assert repeats_hint.endswith("accepted: an integer from 1 to 10,000")
    given = client.import_trainer_config(
        read("onetrainer_flux.json"),
        "onetrainer_flux.json",
        overrides={"images": 30, "repeats": 4, "objective": "Style"},
    )
    assert list(given.missing_fields) == []
    assert (given.config.images, given.config.repeats) == (30, 4)
    assert given.config.steps == (30 * 4 // 4) * 20  # OneTrainer: full batches of the 120 samples × 20 epochs
    assert given.HasField("recommendation")


@pytest.mark.parametrize(
    ("content", "field", "text"),
    [
        (b"x" * (MAX_CONFIG_BYTES + 1), "content", "1 MiB"),
        (b"[model\nname = 'x'\n", "content", "line"),
        (b"a: &a [*a]\n" + b"b: !!python/object:os.system {}\n", "content", ""),
    ],
)
def test_hostile_files_are_named(client: LRToolClient, content: bytes, field: str, text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.import_trainer_config(content, "hostile.yaml" if b"python" in content else "hostile.toml")
    assert caught.value.violations and caught.value.violations[0].field.startswith(field)
    assert text in str([v.description for v in caught.value.violations]) + caught.value.message


def test_export_needs_a_positive_rate(client: LRToolClient) -> None:
    with pytest.raises(InvalidArgument) as caught:
        client.export_trainer_config(read("ai_toolkit_flux.yaml"), 0.0, "ai_toolkit_flux.yaml")
    assert caught.value.violations[0].field == "learning_rate"


def lrtool(engine: RunningEngine, *arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine_server.cli", *arguments],
        capture_output=True,
        text=True,
        env=dict(os.environ, LRTOOL_ENGINE=engine.address),
        timeout=60,
    )


def test_lrtool_import_prints_and_writes(engine: RunningEngine, tmp_path: Path) -> None:
    source = CONFIGS / "onetrainer_flux.json"
    asked = lrtool(engine, "import", str(source))
    assert asked.returncode == 0, asked.stderr
    assert "onetrainer" in asked.stdout and "missing:" in asked.stdout and "--images" in asked.stdout
    assert "--repeats" in asked.stdout and "accepted: an integer from 1 to 10,000" in asked.stdout
    out = tmp_path / "out.json"
    done = lrtool(engine, "import", str(source), "--images", "60", "--repeats", "2", "--objective", "Style",
                  "--write", str(out), "--offset", "0.1")  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Recommended LR" in done.stdout and f"wrote {out}" in done.stdout
    assert "images=60" in done.stdout and "repeats=2" in done.stdout and "steps=600" in done.stdout
    original, written = source.read_text().splitlines(), out.read_text().splitlines()
    changed = [(a, b) for a, b in zip(original, written, strict=True) if a != b]
    assert changed and all("learning_rate" in a for a, _ in changed)
    refused = lrtool(engine, "import", str(source), "--write", str(tmp_path / "no.json"))
    assert refused.returncode == 2 and "configuration is complete" in refused.stderr


def test_the_ui_fills_its_form_from_a_file(engine: RunningEngine, tmp_path: Path) -> None:
    from gradio_ui import app as ui

    ui.configure(engine.address)
    page = ui.PAGE
    updates = ui.import_config(
        {page["trainer_file"]: str(CONFIGS / "ai_toolkit_flux.yaml"), page["dataset_file"]: None}
    )
    shown: dict[str, Any] = {page.name_of(component): value for component, value in updates.items()}
    assert shown["model"] == "flux1" and shown["trainer"] == "ai-toolkit"
    status, loaded = shown["trainer_status"], shown["trainer_loaded"]
    assert "ai-toolkit" in status and loaded["format"] == "ai-toolkit"
    assert shown["my_rate"] > 0
    # What the file cannot say is emptied, not left as the form had it; the user fills it in.
    assert shown["images"] is None and shown["objective"] is None
    assert "Still to fill in: <strong>images, objective</strong>" in status
    form = {name: shown.get(name, ui.STARTING_VALUES.get(name)) for name, _ in ui.ALL_FIELDS}
    form |= {"images": 120, "objective": "style"}
    given = {page[name]: value for name, value in form.items()}
    written = ui.export_config(given | {page["trainer_loaded"]: loaded, page["offset"]: 0.0, page["run_log"]: ""})
    message, download = written[page["trainer_status"]], written[page["trainer_download"]]
    assert "everything else as it was" in message.replace("&#x27;", "'")
    assert Path(download["value"]).read_bytes() != read("ai_toolkit_flux.yaml")


def test_the_ui_counts_steps_from_the_images_and_repeats_on_its_form(engine: RunningEngine) -> None:
    from gradio_ui import app as ui

    ui.configure(engine.address)
    page = ui.PAGE
    updates = ui.import_config(
        {page["trainer_file"]: str(CONFIGS / "kohya_ss_gui_sdxl.json"), page["dataset_file"]: None}
    )
    shown: dict[str, Any] = {page.name_of(component): value for component, value in updates.items()}
    # The folder names hold the repeats: the form asks for them beside the distinct images.
    assert shown["images"] is None and shown["repeats"] is None
    assert "repeats" in shown["trainer_status"]
    loaded = shown["trainer_loaded"]
    assert loaded["steps_follow_images"]

    def steps(images: int | None, repeats: int | None) -> Any:
        given = {page["trainer_loaded"]: loaded, page["images"]: images, page["repeats"]: repeats}
        return ui.count_steps(given)[page["steps"]]

    assert steps(20, None) == ui.gr.update()  # no repeats yet: the steps cannot be counted
    # the GUI counts 20 images × 10 repeats / batch 2 / accumulation 1 × 10 epochs
    assert steps(20, 10) == 1000
    assert steps(20, 5) == 500
