"""The README's examples run as written, against a real engine."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RunningEngine

README = Path(__file__).resolve().parents[1] / "README.md"


def code_block(heading: str, language: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    found = re.search(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert found, f"no {language} block under {heading!r}"
    return found.group(1)


def run_python(code: str, engine: RunningEngine | None = None) -> str:
    environment = dict(os.environ)
    if engine is not None:
        environment["LRTOOL_ENGINE"] = engine.address
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=environment, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_python_client_example(engine: RunningEngine) -> None:
    output = run_python(code_block("From Python", "python"), engine)
    assert re.search(r"recommended \d\.\d{3}e-0[45]: Safe, Optimal", output)
    assert "rank 64:" in output and "saved version 1" in output
    assert "config.steps: must be an integer from 1 to 10,000,000; got -5" in output
    again = run_python(code_block("From Python", "python"), engine)
    assert "'sdxl character' is saved already; left as it is" in again and "saved version" not in again


def test_in_process_engine_example() -> None:
    output = run_python(code_block("The engine in process", "python"))
    assert "Safe Optimal" in output


def test_command_line_examples(engine: RunningEngine) -> None:
    lrtool = [sys.executable, "-m", "engine_server.cli"]
    for line in code_block("The command line", "sh").replace("\\\n", " ").splitlines():
        command = line.split("#")[0].strip()
        if not command.startswith("lrtool calc --model"):
            continue  # the profile lines name a file of the reader's
        result = subprocess.run(
            [*lrtool, *shlex.split(command)[1:], "--engine", engine.address], capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "Recommended LR" in result.stdout


def test_grpcurl_examples(engine: RunningEngine) -> None:
    grpcurl = shutil.which("grpcurl")
    if grpcurl is None:
        pytest.skip("grpcurl is not installed here; the same reflection calls are covered by test_service")
    for line in code_block("From any gRPC tool", "sh").splitlines():
        arguments = shlex.split(line.replace("127.0.0.1:50051", engine.address))
        result = subprocess.run([grpcurl, *arguments[1:]], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert "lrtool.v1.LRToolEngine" in result.stdout or "recommended_lr" in result.stdout


def test_run_log_example_shows_what_the_commands_print(engine: RunningEngine) -> None:
    lrtool = [sys.executable, "-m", "engine_server.cli"]
    root = README.parent
    printed: list[str] = []
    for line in code_block("Learning from your runs", "sh").replace("\\\n", " ").splitlines():
        arguments = shlex.split(line)
        result = subprocess.run(
            [*lrtool, *arguments[1:], "--engine", engine.address], capture_output=True, text=True, timeout=60, cwd=root
        )
        assert result.returncode == 0, result.stderr
        printed += [out for out in result.stdout.splitlines() if out.startswith("Population LR")]
    assert printed == code_block("Learning from your runs", "text").splitlines()
