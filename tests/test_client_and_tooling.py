"""The client stays light, generated code is current, and the CLI talks like a tool."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import DATA, TYPICAL, RunningEngine

ROOT = Path(__file__).resolve().parents[1]


def test_client_imports_neither_numpy_nor_the_engine_nor_the_store() -> None:
    code = (
        "import sys, engine_server.client;"
        "heavy = [m for m in sys.modules if m == 'numpy' or m.startswith(('numpy.', 'engine_server.engine',"
        " 'engine_server.store', 'engine_server.service', 'pydantic', 'sqlite3'))];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_generated_code_is_not_stale() -> None:
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "generate_proto.py"), "--check"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr


def lrtool(*arguments: str, engine: str | None = None) -> subprocess.CompletedProcess[str]:
    environment = dict(os.environ)
    if engine:
        environment["LRTOOL_ENGINE"] = engine
    return subprocess.run(
        [sys.executable, "-m", "engine_server.cli", *arguments],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )


CALC = [
    "calc", "--model", "SDXL", "--resolution", "1024", "--steps", "2000", "--images", "40", "--grad-accum", "2",
    "--rank", "32", "--alpha", "16", "--optimizer", "AdamW", "--scheduler", "cosine", "--warmup", "10%",
    "--objective", "Character", "--formula", "energy",
]  # fmt: skip


def test_calc_prints_a_table_and_json(engine: RunningEngine) -> None:
    from engine_server.engine import TrainingConfig, calculate

    expected = calculate(TrainingConfig(**TYPICAL))
    table = lrtool(*CALC, engine=engine.address)
    assert table.returncode == 0, table.stderr
    assert "Recommended LR" in table.stdout and "Safe" in table.stdout
    assert f"{expected.recommended_lr:.3e}" in table.stdout
    assert "Resolved as      SDXL · Character · AdamW · LoRA · cosine (huggingface schedules" in table.stdout
    as_json = lrtool(*CALC, "--json", "--offset", "0.2", "--engine", engine.address)
    result = json.loads(as_json.stdout)
    assert result["recommended_lr"] == expected.recommended_lr
    assert result["offset"] == 0.2


def test_calc_rejections_are_listed_without_traceback(engine: RunningEngine) -> None:
    result = lrtool("calc", "--model", "SD9", "--steps", "-5", engine=engine.address)
    assert result.returncode == 2
    assert "config.steps: must be an integer from 1 to 10,000,000; got -5" in result.stderr
    assert "Traceback" not in result.stderr


def test_unreachable_engine_gets_one_clear_line() -> None:
    result = lrtool(*CALC, "--engine", "127.0.0.1:9")
    assert result.returncode == 3
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "lrtool serve" in lines[0] and "127.0.0.1:9" in lines[0]
    assert "Traceback" not in result.stderr


def test_profiles_commands(engine: RunningEngine, tmp_path: Path) -> None:
    imported = lrtool("profiles", "import", str(DATA / "lrtool_1_0_profile_sdxl_character.json"), "--name",
                      "cli import", engine=engine.address)  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "9.235e-05" in imported.stdout
    again = lrtool("profiles", "import", str(DATA / "lrtool_1_0_profile_sdxl_character.json"), "--name",
                   "cli import", engine=engine.address)  # fmt: skip
    assert again.returncode == 4 and "--replace" in again.stderr
    listing = lrtool("profiles", "list", engine=engine.address)
    assert "cli import" in listing.stdout
    shown = lrtool("profiles", "show", "cli import", engine=engine.address)
    assert "Recommended LR" in shown.stdout and "lrtool-1.0" in shown.stdout
    target = tmp_path / "out.json"
    exported = lrtool("profiles", "export", "cli import", str(target), engine=engine.address)
    assert exported.returncode == 0 and json.loads(target.read_text())["meta"]["app"] == "LRTool"
    assert lrtool("profiles", "default", "cli import", engine=engine.address).returncode == 0
    assert lrtool("profiles", "default", engine=engine.address).stdout.strip() == "cli import"
    assert lrtool("profiles", "delete", "cli import", engine=engine.address).returncode == 0
    missing = lrtool("profiles", "show", "cli import", engine=engine.address)
    assert missing.returncode == 5 and "no profile named 'cli import'" in missing.stderr


def test_profiles_save_refuses_an_existing_name_unless_replace(engine: RunningEngine) -> None:
    flags = CALC[1:]
    saved = lrtool("profiles", "save", "cli saved", *flags, "--notes", "from flags", engine=engine.address)
    assert saved.returncode == 0 and "saved 'cli saved' (version 1)" in saved.stdout, saved.stderr
    again = lrtool("profiles", "save", "cli saved", *flags, "--rank", "64", engine=engine.address)
    assert again.returncode == 4 and "--replace" in again.stderr
    replaced = lrtool("profiles", "save", "cli saved", *flags, "--rank", "64", "--replace", engine=engine.address)
    assert replaced.returncode == 0 and "(version 2)" in replaced.stdout
    assert "rank=64" in lrtool("profiles", "show", "cli saved", engine=engine.address).stdout


def test_a_bad_number_is_one_line_not_the_usage_page() -> None:
    result = lrtool("calc", "--steps", "abc", engine="127.0.0.1:9")
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [
        "lrtool calc: argument --steps: invalid int value: 'abc' (see lrtool calc --help)"
    ]


def test_catalog_lists_the_names_the_engine_accepts(engine: RunningEngine) -> None:
    from engine_server._convert import catalog_to_proto

    catalog = catalog_to_proto()
    optimizers = lrtool("catalog", "optimizers", engine=engine.address)
    assert optimizers.returncode == 0 and optimizers.stdout.startswith("optimizers:\n")
    listed = [line.split()[0] for line in optimizers.stdout.splitlines()[1:]]
    assert listed == [optimizer.id for optimizer in catalog.optimizers]
    everything = lrtool("catalog", engine=engine.address).stdout
    assert "models:" in everything and "schedules:" in everything
    assert "cosine_with_restarts" in everything and "(takes num_cycles)" in everything


def test_serve_refuses_a_bad_setting_clearly() -> None:
    environment = dict(os.environ, LRTOOL_PORT="not a port")
    result = subprocess.run(
        [sys.executable, "-m", "engine_server.cli", "serve"],
        capture_output=True,
        text=True,
        env=environment,
        timeout=60,
    )
    assert result.returncode == 2 and "port" in result.stderr and "Traceback" not in result.stderr


def test_serve_does_not_wait_at_exit_for_a_thread_that_will_not_finish() -> None:
    """Python joins worker threads at exit; a stuck one must not keep a stopped engine alive."""
    stuck = (
        "import threading, logging; from engine_server import cli;"
        "logging.basicConfig(level='INFO');"
        "threading.Thread(target=threading.Event().wait, name='stuck-request').start();"
        "cli.leave_without_lingering_threads(wait=0.2)"
    )
    result = subprocess.run([sys.executable, "-c", stuck], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    assert "exiting with 1 thread(s) still busy after 0.2 s: stuck-request" in result.stderr


def test_output_cut_short_is_not_an_error(engine: RunningEngine) -> None:
    command = " ".join([sys.executable, "-m", "engine_server.cli", *CALC, "--engine", engine.address, "| head -1"])
    result = subprocess.run(["bash", "-o", "pipefail", "-c", command], capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith("Recommended LR")
    assert "Traceback" not in result.stderr and "BrokenPipe" not in result.stderr


SEED_RUNS = ROOT / "docs" / "examples" / "seed_004_sd15_runs.csv"
SD15_FLAGS = [
    "--model", "SD1.5", "--resolution", "512", "--steps", "1200", "--images", "20", "--rank", "64",
    "--alpha", "32", "--optimizer", "AdamW8bit", "--scheduler", "cosine_with_restarts", "--objective", "Character",
]  # fmt: skip


def test_runs_commands_and_the_personal_line(engine: RunningEngine, tmp_path: Path) -> None:
    before = lrtool("calc", *SD15_FLAGS, "--run-log", "cli runs", engine=engine.address)
    assert before.returncode == 0, before.stderr
    assert "no logged runs of this model;" in before.stdout
    imported = lrtool("runs", "import", str(SEED_RUNS), "--alpha", "32", "--log", "cli runs", engine=engine.address)
    assert imported.returncode == 0, imported.stderr
    assert "imported 10 runs into log 'cli runs'" in imported.stdout
    after = lrtool("calc", *SD15_FLAGS, "--run-log", "cli runs", engine=engine.address)
    assert "your runs: ×" in after.stdout and ", 5 runs" in after.stdout
    population = lrtool("calc", *SD15_FLAGS, "--population-only", "--json", engine=engine.address)
    assert json.loads(population.stdout).get("personal_runs", "0") in ("0", 0)

    added = lrtool("runs", "add", *SD15_FLAGS, "--lr", "1.2e-4", "--outcome", "GOOD", "--best-step", "1000",
                   "--notes", "from the shell", "--log", "cli runs", engine=engine.address)  # fmt: skip
    assert added.returncode == 0, added.stderr
    run_id = added.stdout.split()[2]
    assert "6 runs" in added.stdout
    listing = lrtool("runs", "list", "--log", "cli runs", engine=engine.address)
    first = listing.stdout.splitlines()[0]
    assert first.split()[0] == run_id and "good" in first and "best 1,000" in first and "from the shell" in first
    assert len(listing.stdout.splitlines()) == 11

    target = tmp_path / "runs.csv"
    assert lrtool("runs", "export", str(target), "--log", "cli runs", engine=engine.address).returncode == 0
    assert target.read_text(encoding="utf-8").splitlines()[0].endswith("learning_rate,outcome,best_step,notes")
    assert lrtool("runs", "delete", run_id, engine=engine.address).returncode == 0
    missing = lrtool("runs", "delete", run_id, engine=engine.address)
    assert missing.returncode == 5 and f"no run with id '{run_id}'" in missing.stderr

    refused = lrtool("runs", "add", *SD15_FLAGS, "--lr", "nan", "--best-step", "5000", engine=engine.address)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "run.learning_rate: must be a finite number above 0" in refused.stderr
    assert "run.best_step: must be a step of the run, from 1 to steps (1,200)" in refused.stderr


def test_the_client_gets_the_engines_violations_with_what_each_field_accepts(engine: RunningEngine) -> None:
    from engine_server.client import FieldViolation, InvalidArgument, LRToolClient

    with LRToolClient(engine.address) as client:
        try:
            client.calculate({**TYPICAL, "steps": -5, "model": "no such model"})
        except InvalidArgument as error:
            violations = {violation.field: violation for violation in error.violations}
        else:
            raise AssertionError("a negative step count was accepted")
    assert violations["config.steps"] == FieldViolation(
        "config.steps", "must be an integer from 1 to 10,000,000; got -5", "an integer from 1 to 10,000,000"
    )
    model = violations["config.model"]
    assert model.description.startswith("unknown model 'no such model'")
    assert model.accepted and model.description.endswith(f"accepted: {model.accepted}")


def test_a_configuration_the_message_cannot_hold_names_every_bad_field() -> None:
    from engine_server.client import InvalidArgument, calculate_request, config_message

    request = calculate_request({**TYPICAL, "warmup_fraction": None}, offset=0.1)
    assert request.config.steps == TYPICAL["steps"] and not request.config.HasField("warmup_fraction")
    assert request.offset == 0.1 and not request.HasField("learning_rate")
    try:
        config_message({**TYPICAL, "stepz": 3, "rank": 1.5})
    except InvalidArgument as error:
        fields = [violation.field for violation in error.violations]
        text = str(error)
    else:
        raise AssertionError("an unknown field and a fractional rank were accepted")
    assert sorted(fields) == ["config.rank", "config.stepz"]
    assert "is not a configuration field; accepted fields: model," in text and "cannot be 1.5" in text
