"""SIGKILL the engine in the middle of concurrent profile writes, restart it: nothing acknowledged is lost."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from conftest import TYPICAL
from test_ui_handlers import free_port

from engine_server.client import EngineUnavailable, LRToolClient, LRToolClientError
from engine_server.store import open_store

WRITERS = 4
KILLS = 4


def store_location(backend: str, tmp_path: Path) -> str:
    if backend == "sqlite":
        return str(tmp_path / "profiles.sqlite3")
    url = os.environ.get("LRTOOL_TEST_POSTGRES_URL")
    if not url:
        pytest.skip("PostgreSQL not available: set LRTOOL_TEST_POSTGRES_URL (.ci/run starts one)")
    return schema_of_its_own(url)


#: Schemas made by schema_of_its_own, dropped when this module's tests are done.
_SCHEMAS: list[str] = []


def schema_of_its_own(url: str) -> str:
    """`url` in a fresh schema: the database's own schema may belong to another version of LRTool."""
    import psycopg
    from psycopg import sql

    schema = f"lrtool_faults_{os.getpid()}_{random.randrange(10**9)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    _SCHEMAS.append(schema)
    parts = urlsplit(url)
    options = "options=" + quote(f"-c search_path={schema}")
    return urlunsplit(parts._replace(query=f"{parts.query}&{options}" if parts.query else options))


@pytest.fixture(autouse=True, scope="module")
def _drop_schemas() -> Iterator[None]:
    yield
    if _SCHEMAS:
        import psycopg
        from psycopg import sql

        with psycopg.connect(os.environ["LRTOOL_TEST_POSTGRES_URL"], autocommit=True) as conn:
            for schema in _SCHEMAS:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
        _SCHEMAS.clear()


def start_engine(db: Path | str, port: int) -> subprocess.Popen[bytes]:
    environment = dict(os.environ, LRTOOL_DB=str(db))
    log = tempfile.NamedTemporaryFile(prefix="lrtool-engine-", suffix=".log", delete=False)  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "engine_server.cli", "serve", "--port", str(port), "--log-level", "INFO"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    process.log_path = log.name  # type: ignore[attr-defined]
    with LRToolClient(f"127.0.0.1:{port}") as client:
        client.wait_until_serving(timeout=60)
    return process


def stop(engine: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and the engine's own log in the failure if it does not stop in time."""
    engine.send_signal(signal.SIGTERM)
    try:
        engine.wait(timeout=60)
    except subprocess.TimeoutExpired:
        engine.kill()
        log = Path(engine.log_path).read_text(encoding="utf-8", errors="replace")  # type: ignore[attr-defined]
        raise AssertionError(f"the engine did not stop within 60 s after SIGTERM; its log:\n{log}") from None


def write_until_the_engine_dies(port: int, writer: int, round_: int, acknowledged: dict[str, int], run: str) -> None:
    with LRToolClient(f"127.0.0.1:{port}", timeout=5) as client:
        for index in range(100_000):
            name = f"{run} r{round_} w{writer} {index:05d}"
            try:
                saved = client.save_profile(name, {**TYPICAL, "rank": 1 + index % 64}, notes=name)
            except EngineUnavailable:
                return
            except LRToolClientError:
                return  # the connection broke mid-call: not acknowledged
            acknowledged[name] = saved.version


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_concurrent_writes_loses_nothing_acknowledged(tmp_path: Path, backend: str) -> None:
    db = store_location(backend, tmp_path)
    run = f"kill{random.randrange(10**9)}"  # a shared PostgreSQL may hold other runs' profiles
    port = free_port()
    acknowledged: dict[str, int] = {}
    rng = random.Random(run)
    for round_ in range(KILLS):
        engine = start_engine(db, port)
        writers = [
            threading.Thread(target=write_until_the_engine_dies, args=(port, n, round_, acknowledged, run))
            for n in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        time.sleep(rng.uniform(0.3, 1.0))
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=30)
        for writer in writers:
            writer.join(timeout=60)
    assert len(acknowledged) > 20, "the writers should have been acknowledged some saves"

    engine = start_engine(db, port)  # restarted on the same file
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:
            stored = {summary.name: summary.version for summary in client.iter_profiles()}
            for name, version in acknowledged.items():
                assert stored.get(name, 0) >= version, f"acknowledged save {name!r} is missing"
            sample = client.get_profile(next(iter(acknowledged)))
            assert sample.notes == sample.name and sample.statistics.recommended_lr > 0
    finally:
        stop(engine)
    with open_store(db) as store:
        assert store.integrity_check() == "ok"


def test_a_client_recovers_when_the_engine_comes_back(tmp_path: Path) -> None:
    db = tmp_path / "profiles.sqlite3"
    port = free_port()
    engine = start_engine(db, port)
    with LRToolClient(f"127.0.0.1:{port}", timeout=3) as client:
        assert client.calculate(TYPICAL).recommended_lr > 0
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=30)
        with pytest.raises(EngineUnavailable) as caught:
            client.calculate(TYPICAL)
        assert "lrtool serve" in caught.value.message
        engine = start_engine(db, port)
        try:
            assert client.calculate(TYPICAL).recommended_lr > 0  # same client, same channel
        finally:
            stop(engine)


def test_a_comfyui_node_recovers_when_the_engine_comes_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from test_comfy_nodes import defaults, load_pack

    db = tmp_path / "profiles.sqlite3"
    port = free_port()
    monkeypatch.setenv("LRTOOL_ENGINE", f"127.0.0.1:{port}")
    monkeypatch.setenv("LRTOOL_AUTOSTART", "0")
    engine = start_engine(db, port)
    pack = load_pack(tmp_path / "custom_nodes")
    node = pack.NODE_CLASS_MAPPINGS["LRToolRecommendLR"]
    inputs = defaults(node)
    assert node().recommend(**inputs)["result"][0] > 0
    engine.send_signal(signal.SIGKILL)
    engine.wait(timeout=30)
    with pytest.raises(Exception, match=r"does not answer .*lrtool serve --port") as caught:
        node().recommend(**inputs)
    assert "Traceback" not in str(caught.value)
    engine = start_engine(db, port)
    try:
        assert node().recommend(**inputs)["result"][0] > 0  # the same loaded pack, no restart of ComfyUI
    finally:
        stop(engine)


def record_until_the_engine_dies(port: int, writer: int, log: str, acknowledged: dict[str, float]) -> None:
    with LRToolClient(f"127.0.0.1:{port}", timeout=5) as client:
        for index in range(100_000):
            rate = 1e-5 * (1 + (writer * 100_000 + index) % 997)
            try:
                recorded = client.record_run(TYPICAL, rate, outcome="GOOD", notes=f"w{writer} {index}", log=log)
            except LRToolClientError:
                return  # the engine died: from here on nothing is acknowledged
            acknowledged[recorded.id] = rate


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_run_recording_loses_no_acknowledged_run(tmp_path: Path, backend: str) -> None:
    db = store_location(backend, tmp_path)
    log = f"kill{random.randrange(10**9)}"  # a shared PostgreSQL may hold other tests' logs
    port = free_port()
    acknowledged: dict[str, float] = {}
    for round_ in range(2):
        engine = start_engine(db, port)
        writers = [
            threading.Thread(target=record_until_the_engine_dies, args=(port, n, log, acknowledged))
            for n in range(WRITERS)
        ]
        for writer in writers:
            writer.start()
        time.sleep(random.Random(f"{log}{round_}").uniform(0.3, 1.0))
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=30)
        for writer in writers:
            writer.join(timeout=60)
    assert len(acknowledged) > 20, "the writers should have been acknowledged some runs"

    engine = start_engine(db, port)
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:
            stored = {run.id: run.learning_rate for run in client.iter_runs(log)}
            missing = [run_id for run_id in acknowledged if run_id not in stored]
            assert missing == [], f"acknowledged runs {missing[:5]} are missing"
            assert all(stored[run_id] == rate for run_id, rate in acknowledged.items())
            assert client.calculate(TYPICAL, run_log=log).personal_runs == len(stored)
    finally:
        stop(engine)
    with open_store(db) as store:
        assert store.integrity_check() == "ok"
