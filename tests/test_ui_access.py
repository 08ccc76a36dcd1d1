"""The web UI beyond loopback: a login (Gradio's) or an explicit --insecure, as the engine requires."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import RunningEngine
from test_ui_handlers import free_port

from gradio_ui import app as ui
from gradio_ui.access import AUTH_ENV, AUTH_FILE_ENV, UIExposureError, check_ui_exposure, read_credentials

gradio_client = pytest.importorskip("gradio_client")

LOGIN = ("alice", "correct horse battery staple")


def lrtool(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    clean = {key: value for key, value in os.environ.items() if key not in (AUTH_ENV, AUTH_FILE_ENV)}
    return subprocess.run(
        [sys.executable, "-m", "engine_server.cli", *arguments],
        capture_output=True, text=True, env={**clean, **environment}, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize(
    "arguments",
    [("ui", "--host", "0.0.0.0"), ("up", "--host", "0.0.0.0", "--engine-port", "0"), ("ui", "--share")],
)
def test_an_exposed_ui_without_a_login_is_refused_naming_the_options(arguments: tuple[str, ...]) -> None:
    result = lrtool(*arguments, "--port", "0")
    assert result.returncode == 2, result.stderr
    for option in ("--auth-file", AUTH_ENV, "--insecure"):
        assert option in result.stderr
    assert "Traceback" not in result.stderr and "LRTool engine on" not in result.stdout


def test_a_bad_auth_file_is_named_without_its_secret(tmp_path: Path) -> None:
    auth_file = tmp_path / "logins"
    auth_file.write_text("alice:first-password\nbob no-colon-secret\n")
    auth_file.chmod(0o600)
    result = lrtool("ui", "--host", "0.0.0.0", "--port", "0", "--auth-file", str(auth_file))
    assert result.returncode == 2 and "line 2: must be username:password" in result.stderr
    assert "secret" not in result.stderr and "Traceback" not in result.stderr


def test_logins_come_from_a_file_or_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(AUTH_FILE_ENV, raising=False)
    monkeypatch.delenv(AUTH_ENV, raising=False)
    assert read_credentials() is None
    monkeypatch.setenv(AUTH_ENV, "carol:pa:ss")
    assert read_credentials() == [("carol", "pa:ss")]
    auth_file = tmp_path / "logins"
    auth_file.write_text("# the team\nalice:one\n\nbob:two\n")
    assert read_credentials(auth_file) == [("alice", "one"), ("bob", "two")]
    monkeypatch.setenv(AUTH_ENV, ":")
    with pytest.raises(ValueError, match="neither part empty"):
        read_credentials()


def test_the_rule() -> None:
    for host in ("127.0.0.1", "localhost", "::1"):
        check_ui_exposure(host, share=False, auth=None, insecure=False)
    check_ui_exposure("0.0.0.0", share=False, auth=[LOGIN], insecure=False)
    check_ui_exposure("0.0.0.0", share=True, auth=None, insecure=True)
    for host, share in (("0.0.0.0", False), ("192.168.1.5", False), ("127.0.0.1", True)):
        with pytest.raises(UIExposureError, match="--insecure"):
            check_ui_exposure(host, share=share, auth=None, insecure=False)
    with pytest.raises(UIExposureError):
        ui.launch(host="0.0.0.0", port=free_port(), prevent_thread_lock=True)


@pytest.fixture(scope="module")
def guarded(engine: RunningEngine) -> Iterator[str]:
    ui.configure(engine.address)
    port = free_port()
    ui.launch(port=port, prevent_thread_lock=True, quiet=True, auth=[LOGIN])
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        ui.demo.close()


def test_with_a_login_the_api_answers_only_after_logging_in(guarded: str) -> None:
    config = httpx.get(guarded + "config", timeout=10)
    assert config.status_code == 401
    with pytest.raises(Exception, match=r"(?i)login|auth|401"):
        gradio_client.Client(guarded, verbose=False)
    with httpx.Client(timeout=10) as browser:
        refused = browser.post(guarded + "login", data={"username": LOGIN[0], "password": "wrong"})
        assert refused.status_code >= 400
    client: Any = gradio_client.Client(guarded, auth=LOGIN, verbose=False)
    page = client.predict(api_name="/load_page")
    assert page is not None
