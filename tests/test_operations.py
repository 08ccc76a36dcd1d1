"""Running the engine: settings that must not fail silently, secrets kept private, errors in one line."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TYPICAL

from engine_server.client import LRToolClient
from engine_server.server import Settings, create_server
from engine_server.store import SQLiteProfileStore, StoreError
from gradio_ui.access import read_credentials


def lrtool(*arguments: str, **environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine_server.cli", *arguments],
        capture_output=True, text=True, env={**os.environ, **environment}, timeout=60,
    )  # fmt: skip


def test_a_blank_token_is_refused_rather_than_turning_authentication_off(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="only blank characters"):
        create_server(Settings(port=0, db=tmp_path / "p.sqlite3", token="   "))
    result = lrtool("serve", "--port", "0", "--db", str(tmp_path / "p.sqlite3"), LRTOOL_TOKEN=" \t ")
    assert result.returncode == 2 and "only blank characters" in result.stderr and "Traceback" not in result.stderr


def test_an_ipv6_host_in_brackets_binds(tmp_path: Path) -> None:
    try:
        server, port = create_server(Settings(host="[::1]", port=0, db=tmp_path / "p.sqlite3"))
    except OSError:
        pytest.skip("no IPv6 loopback here")
    server.start()
    try:
        with LRToolClient(f"[::1]:{port}") as client:
            assert client.calculate(TYPICAL).recommended_lr > 0
    finally:
        server.stop(0)


def test_a_store_that_cannot_open_is_one_line(tmp_path: Path) -> None:
    result = lrtool("serve", "--port", "0", "--db", str(tmp_path))
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert f"{tmp_path}: is a directory; name a file, e.g. {tmp_path / 'profiles.sqlite3'}" in result.stderr
    with pytest.raises(StoreError, match="is a directory"):
        SQLiteProfileStore(tmp_path)


def test_a_password_in_db_draws_a_warning_before_anything_else() -> None:
    # Port 1 on loopback: nothing listens, so the connection fails at once after the warning.
    result = lrtool("serve", "--port", "0", "--db", "postgresql://someone:hunter2@127.0.0.1:1/none")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    first = result.stderr.splitlines()[0]
    assert "visible to every user" in first and "PGPASSWORD" in first and "hunter2" not in result.stderr


def test_secrets_readable_by_others_draw_a_warning(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token_file, auth_file = tmp_path / "token", tmp_path / "logins"
    token_file.write_text("s3cret\n")
    auth_file.write_text("alice:pw\n")
    for path in (token_file, auth_file):
        path.chmod(0o644)
    caplog.set_level("WARNING", logger="lrtool.auth")
    server, _ = create_server(Settings(port=0, db=tmp_path / "p.sqlite3", token_file=token_file))
    server.stop(0)
    read_credentials(auth_file)
    warned = [record.getMessage() for record in caplog.records]
    assert any(f"token file {token_file} is readable by other users (mode 0644)" in text for text in warned)
    assert any(f"auth file {auth_file} is readable by other users" in text for text in warned)
    caplog.clear()
    for path in (token_file, auth_file):
        path.chmod(0o600)
    server, _ = create_server(Settings(port=0, db=tmp_path / "p.sqlite3", token_file=token_file))
    server.stop(0)
    read_credentials(auth_file)
    assert not caplog.records


def test_a_new_store_file_is_private_to_its_owner(tmp_path: Path) -> None:
    path = tmp_path / "new" / "profiles.sqlite3"
    with SQLiteProfileStore(path) as store:
        store.save("p", {}, 0.0, {})
        for made in (path, path.with_name(path.name + "-wal")):
            assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    shared = tmp_path / "shared.sqlite3"
    shared.touch(mode=0o640)
    shared.chmod(0o640)
    SQLiteProfileStore(shared).close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o640  # an existing store keeps what its owner chose
