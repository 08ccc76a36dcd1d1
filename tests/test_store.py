"""Profile store: round trips, compare-and-set, paging, concurrency, crash safety, migrations."""

from __future__ import annotations

import base64
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from engine_server.store import (
    SCHEMA_VERSION,
    InvalidProfileName,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    ProfileSummary,
    SQLiteProfileStore,
    StoredProfile,
    StoreError,
    VersionConflict,
    validate_profile_name,
)

CRASH_WRITER = Path(__file__).with_name("store_crash_writer.py")
STATS: dict[str, Any] = {"energy": 1.25, "curve": [0.1, 0.2]}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SQLiteProfileStore]:
    with SQLiteProfileStore(tmp_path / "profiles.db") as opened:
        yield opened


def _all_names(store: ProfileStore, page_size: int) -> list[str]:
    names: list[str] = []
    token = ""
    while True:
        page, token = store.list(page_size=page_size, page_token=token)
        assert len(page) <= page_size
        names.extend(summary.name for summary in page)
        if not token:
            return names


# --------------------------------------------------------------------------- round trips


def test_save_get_round_trip(store: SQLiteProfileStore, typical: dict[str, Any]) -> None:
    before = datetime.now(UTC)
    saved = store.save("SDXL character", typical, -0.25, STATS, notes="first try")
    assert saved.version == 1
    assert saved.created_at == saved.updated_at
    assert saved.created_at.tzinfo is not None and saved.created_at.utcoffset() == timedelta(0)
    assert before <= saved.created_at <= datetime.now(UTC)

    got = store.get("SDXL character")
    assert got == saved
    assert got == StoredProfile("SDXL character", typical, -0.25, STATS, "first try", 1, got.created_at, got.created_at)
    # The returned dicts are copies: mutating them changes nothing stored.
    got.config["rank"] = 999
    assert store.get("SDXL character").config == typical


def test_update_increments_version_and_keeps_created_at(store: SQLiteProfileStore, typical: dict[str, Any]) -> None:
    first = store.save("p", typical, 0.0, {})
    second = store.save("p", {**typical, "rank": 64}, 0.5, {"x": 1}, notes="rank 64")
    third = store.save("p", typical, 1.0, {}, expected_version=2)
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert second.created_at == third.created_at == first.created_at
    assert first.updated_at <= second.updated_at <= third.updated_at
    got = store.get("p")
    assert got.version == 3 and got.offset == 1.0 and got.notes == "" and got.created_at == first.created_at


def test_persists_across_reopen(tmp_path: Path, typical: dict[str, Any]) -> None:
    path = tmp_path / "nested" / "dir" / "profiles.db"  # parent directories are created
    with SQLiteProfileStore(path) as store:
        saved = store.save("kept", typical, 0.125, STATS, notes="ünïcode notes ✓")
        store.set_default("kept")
        assert store.path == path
    with SQLiteProfileStore(str(path)) as store:
        assert store.get("kept") == saved
        assert store.get_default() == "kept"
        assert store.schema_version() == SCHEMA_VERSION
        assert store.integrity_check() == "ok"


def test_get_and_delete_missing(store: SQLiteProfileStore) -> None:
    with pytest.raises(ProfileNotFound) as info:
        store.get("nope")
    assert info.value.name == "nope"
    assert isinstance(info.value, KeyError) and isinstance(info.value, StoreError)
    assert str(info.value) == "profile 'nope' not found"
    with pytest.raises(ProfileNotFound):
        store.delete("nope")


def test_delete(store: SQLiteProfileStore, typical: dict[str, Any]) -> None:
    store.save("a", typical, 0.0, {})
    store.save("b", typical, 0.0, {})
    store.delete("a")
    with pytest.raises(ProfileNotFound):
        store.get("a")
    assert _all_names(store, 10) == ["b"]
    # A deleted name can be created again, starting over at version 1.
    assert store.save("a", typical, 0.0, {}, expected_version=0).version == 1


def test_default_profile(store: SQLiteProfileStore, typical: dict[str, Any]) -> None:
    assert store.get_default() is None
    with pytest.raises(ProfileNotFound):
        store.set_default("missing")
    store.save("a", typical, 0.0, {})
    store.save("b", typical, 0.0, {})
    store.set_default("a")
    assert store.get_default() == "a"
    store.save("a", typical, 1.0, {})  # updating the default keeps it the default
    assert store.get_default() == "a"
    store.set_default("b")
    assert store.get_default() == "b"
    store.set_default(None)
    assert store.get_default() is None
    store.set_default("b")
    store.delete("b")
    assert store.get_default() is None
    store.save("b", typical, 0.0, {})  # re-creating the name does not revive the old default
    assert store.get_default() is None
    with pytest.raises(InvalidProfileName):
        store.set_default("a/b")


# --------------------------------------------------------------------------- listing


def test_list_empty(store: SQLiteProfileStore) -> None:
    assert store.list() == ([], "")


def test_list_pages_in_name_order(store: SQLiteProfileStore) -> None:
    names = [f"profile-{index:03d}" for index in range(23)] + ["Zeta", "alpha", "Ärger", "日本語"]
    for name in random.Random(7).sample(names, len(names)):
        store.save(name, {"n": name}, 0.0, {})
    expected = sorted(names)  # code-point order
    for page_size in (1, 2, 5, 10, 27, 50, 1000):
        assert _all_names(store, page_size) == expected

    page, token = store.list(page_size=10)
    assert [summary.name for summary in page] == expected[:10]
    assert all(isinstance(summary, ProfileSummary) and summary.version == 1 for summary in page)
    assert token
    page2, token2 = store.list(page_size=10, page_token=token)
    assert [summary.name for summary in page2] == expected[10:20]
    # Exactly one full last page: no further token.
    _, token_end = store.list(page_size=7, page_token=store.list(page_size=20)[1])
    assert token_end == ""
    assert token2


def test_list_token_survives_deletion_of_its_profile(store: SQLiteProfileStore) -> None:
    for name in "abcdef":
        store.save(name, {}, 0.0, {})
    page, token = store.list(page_size=2)
    assert [summary.name for summary in page] == ["a", "b"]
    store.delete("b")
    store.delete("c")
    page, token = store.list(page_size=2, page_token=token)
    assert [summary.name for summary in page] == ["d", "e"]


def test_list_summary_fields(store: SQLiteProfileStore) -> None:
    store.save("x", {}, 0.0, {})
    saved = store.save("x", {}, 0.0, {})
    assert store.list() == ([ProfileSummary("x", 2, saved.updated_at)], "")


@pytest.mark.parametrize("page_size", [0, -1, 1001, 10**9])
def test_list_bad_page_size(store: SQLiteProfileStore, page_size: int) -> None:
    with pytest.raises(ValueError, match="page_size"):
        store.list(page_size=page_size)


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "abc",  # bad padding
        base64.urlsafe_b64encode(b"some other token").decode(),
        base64.urlsafe_b64encode(b"p1:a/b").decode(),  # decodes to an invalid name
        base64.urlsafe_b64encode(b"p1:\xff\xfe").decode(),  # not UTF-8
        "ünïcode",
    ],
)
def test_list_bad_page_token(store: SQLiteProfileStore, token: str) -> None:
    with pytest.raises(ValueError, match=r"^page_token: "):
        store.list(page_token=token)


# --------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    "name",
    [
        "a",
        "A-1",
        "my_profile.v2",
        "with inner space",
        "x" * 128,
        "Ärger",
        "日本語",
        "Ελληνικά",
        "١٢٣",
        "a..b",
        "-",
        ".",
    ],
)
def test_valid_names(store: SQLiteProfileStore, name: str) -> None:
    assert validate_profile_name(name) == name
    store.save(name, {}, 0.0, {})
    assert store.get(name).name == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 129, "a/b", " leading", "trailing ", " ", "tab\there", "new\nline", "semi;colon", "quote'", "emoji😀"],
)
def test_invalid_names(store: SQLiteProfileStore, name: str) -> None:
    with pytest.raises(InvalidProfileName) as info:
        validate_profile_name(name)
    message = str(info.value)
    assert message.startswith("name: must be 1–128 characters of letters, digits, space, '.', '_' or '-'")
    assert "not starting or ending with a space" in message
    assert repr(name[:128]) in message
    assert isinstance(info.value, ValueError) and isinstance(info.value, StoreError)
    with pytest.raises(InvalidProfileName):
        store.save(name, {}, 0.0, {})
    with pytest.raises(InvalidProfileName):
        store.get(name)
    with pytest.raises(InvalidProfileName):
        store.delete(name)


def test_name_error_message_example() -> None:
    with pytest.raises(InvalidProfileName) as info:
        validate_profile_name("a/b")
    assert str(info.value) == (
        "name: must be 1–128 characters of letters, digits, space, '.', '_' or '-' "
        "(not starting or ending with a space); got 'a/b'"
    )


# --------------------------------------------------------------------------- other bad input


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"config": {"x": float("nan")}}, "config"),
        ({"config": {"x": object()}}, "config"),
        ({"config": ["not", "a", "dict"]}, "config"),
        ({"statistics": {"x": float("inf")}}, "statistics"),
        ({"offset": float("nan")}, "offset"),
        ({"offset": float("-inf")}, "offset"),
        ({"offset": "0.5"}, "offset"),
        ({"notes": None}, "notes"),
        ({"expected_version": -1}, "expected_version"),
    ],
)
def test_save_rejects_bad_values(store: SQLiteProfileStore, kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"name": "p", "config": {}, "offset": 0.0, "statistics": {}, **kwargs}
    with pytest.raises(ValueError, match=f"^{field}: "):
        store.save(**arguments)
    with pytest.raises(ProfileNotFound):
        store.get("p")  # nothing half-written


def test_delete_rejects_expected_version_zero(store: SQLiteProfileStore) -> None:
    store.save("p", {}, 0.0, {})
    with pytest.raises(ValueError, match=r"^expected_version: "):
        store.delete("p", expected_version=0)


def test_closed_store_refuses_calls(tmp_path: Path) -> None:
    store = SQLiteProfileStore(tmp_path / "p.db")
    store.save("p", {}, 0.0, {})
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.get("p")
    with pytest.raises(StoreError, match="closed"):
        store.save("q", {}, 0.0, {})


def test_in_memory_path_refused() -> None:
    with pytest.raises(ValueError, match="path"):
        SQLiteProfileStore(":memory:")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite database at all" * 100)
    with pytest.raises(StoreError):
        SQLiteProfileStore(path)


def test_pragmas(store: SQLiteProfileStore) -> None:
    conn = sqlite3.connect(store.path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    # Per-connection settings of the store's own connection.
    with store._connection() as own:
        assert own.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
        assert own.execute("PRAGMA foreign_keys").fetchone()[0] == 1
        assert own.execute("PRAGMA busy_timeout").fetchone()[0] == 10_000


# --------------------------------------------------------------------------- compare-and-set


def test_create_only_over_existing_raises_profile_exists(store: SQLiteProfileStore, typical: dict[str, Any]) -> None:
    store.save("p", typical, 0.0, {}, expected_version=0)
    with pytest.raises(ProfileExists) as info:
        store.save("p", {"other": True}, 1.0, {}, expected_version=0)
    assert info.value.name == "p"
    assert store.get("p").config == typical and store.get("p").version == 1


def test_stale_version_raises_version_conflict(store: SQLiteProfileStore) -> None:
    store.save("p", {"v": 1}, 0.0, {})
    store.save("p", {"v": 2}, 0.0, {}, expected_version=1)
    with pytest.raises(VersionConflict) as info:
        store.save("p", {"v": "stale"}, 0.0, {}, expected_version=1)
    conflict = info.value
    assert (conflict.name, conflict.expected_version, conflict.current_version) == ("p", 1, 2)
    assert "current version is 2" in str(conflict)
    with pytest.raises(VersionConflict) as info:
        store.save("p", {"v": "future"}, 0.0, {}, expected_version=5)
    assert info.value.current_version == 2
    got = store.get("p")
    assert got.config == {"v": 2} and got.version == 2


def test_update_of_missing_raises_version_conflict_without_current(store: SQLiteProfileStore) -> None:
    with pytest.raises(VersionConflict) as info:
        store.save("ghost", {}, 0.0, {}, expected_version=3)
    assert info.value.current_version is None and info.value.expected_version == 3
    assert "does not exist" in str(info.value)
    with pytest.raises(ProfileNotFound):
        store.get("ghost")


def test_delete_with_stale_version(store: SQLiteProfileStore) -> None:
    store.save("p", {}, 0.0, {})
    store.save("p", {}, 0.0, {})
    with pytest.raises(VersionConflict) as info:
        store.delete("p", expected_version=1)
    assert info.value.current_version == 2
    assert store.get("p").version == 2
    store.delete("p", expected_version=2)
    with pytest.raises(ProfileNotFound):
        store.get("p")


# --------------------------------------------------------------------------- concurrency


def test_concurrent_writers(tmp_path: Path) -> None:
    threads_count, saves_per_thread = 16, 100
    own_saves = cas_saves = saves_per_thread // 2
    store = SQLiteProfileStore(tmp_path / "concurrent.db")
    store.save("shared", {"n": 0}, 0.0, {}, expected_version=0)
    barrier = threading.Barrier(threads_count)
    acknowledged: list[list[tuple[str, int]]] = [[] for _ in range(threads_count)]
    shared_versions: list[list[int]] = [[] for _ in range(threads_count)]
    conflicts = [0] * threads_count
    errors: list[BaseException] = []

    def cas_update(worker: int, version: int) -> bool:
        try:
            saved = store.save("shared", {"by": worker}, float(worker), {}, expected_version=version)
        except VersionConflict as exc:
            assert exc.current_version is not None and exc.current_version > version
            conflicts[worker] += 1
            return False
        assert saved.version == version + 1
        shared_versions[worker].append(saved.version)
        return True

    def work(worker: int) -> None:
        try:
            # First round in lock-step: all read the same version, so exactly one CAS may win.
            version = store.get("shared").version
            barrier.wait()
            won_first = cas_update(worker, version)
            done = 1 if won_first else 0
            for index in range(own_saves):
                name = f"worker-{worker:02d}-{index % 5}"
                saved = store.save(name, {"worker": worker, "index": index}, 0.0, {"i": index})
                acknowledged[worker].append((name, saved.version))
                if done < cas_saves:
                    while not cas_update(worker, store.get("shared").version):
                        pass
                    done += 1
            while done < cas_saves:
                if cas_update(worker, store.get("shared").version):
                    done += 1
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(index,)) for index in range(threads_count)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    assert errors == []

    with SQLiteProfileStore(store.path) as reader:  # a fresh connection sees everything
        for worker_acks in acknowledged:
            assert len(worker_acks) == own_saves
            for name, version in worker_acks:
                assert reader.get(name).version >= version
            # Each own name was saved own_saves / 5 times, all acknowledged, none lost.
            for name in {name for name, _ in worker_acks}:
                assert reader.get(name).version == max(v for n, v in worker_acks if n == name) == own_saves // 5
        successes = sorted(version for versions in shared_versions for version in versions)
        # No two writers won on one version, and every win is in the final count.
        assert successes == list(range(2, 2 + threads_count * cas_saves))
        assert reader.get("shared").version == 1 + threads_count * cas_saves
        assert sum(conflicts) >= threads_count - 1  # the lock-step round alone refuses 15 stale writes
        assert reader.integrity_check() == "ok"
    store.close()


def test_connections_per_thread_closed_on_close(tmp_path: Path) -> None:
    store = SQLiteProfileStore(tmp_path / "p.db")
    store.save("p", {}, 0.0, {})
    results: list[int] = []

    def read() -> None:
        results.append(store.get("p").version)

    for _ in range(3):
        thread = threading.Thread(target=read)
        thread.start()
        thread.join()
    assert results == [1, 1, 1]
    # Connections of finished threads are pruned when new threads connect.
    assert len(store._connections) <= 2
    store.close()
    assert store._connections == []


# --------------------------------------------------------------------------- crash safety


def _read_acknowledged(path: Path) -> list[tuple[str, int]]:
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # an unfinished line was never acknowledged
    acknowledged = []
    for line in lines:
        if not line or line == "ready":
            continue
        assert not line.startswith("conflict"), line
        name, version = line.split(" ")
        acknowledged.append((name, int(version)))
    return acknowledged


def test_crash_keeps_every_acknowledged_save(tmp_path: Path) -> None:
    db_path = tmp_path / "crash.db"
    rng = random.Random(20240601)
    best: dict[str, int] = {}
    total_acknowledged = 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    started = time.monotonic()
    for run in range(25):
        ack_path = tmp_path / f"ack-{run}.txt"
        with ack_path.open("w", encoding="utf-8") as ack_file:
            process = subprocess.Popen(
                [sys.executable, str(CRASH_WRITER), str(db_path), str(run)],
                stdout=ack_file,
                stderr=subprocess.PIPE,
                env=env,
            )
            try:
                # Wait until the store is open, so the kill lands among the saves.
                deadline = time.monotonic() + 10
                while not ack_path.read_text(encoding="utf-8").startswith("ready"):
                    assert process.poll() is None, process.communicate()[1].decode()
                    assert time.monotonic() < deadline, "crash writer did not start"
                    time.sleep(0.005)
                time.sleep(rng.uniform(0.05, 0.5))
                assert process.poll() is None, process.communicate()[1].decode()
                process.send_signal(signal.SIGKILL)
            finally:
                process.kill()
                process.communicate()
        assert process.returncode == -signal.SIGKILL

        acknowledged = _read_acknowledged(ack_path)
        total_acknowledged += len(acknowledged)
        for name, version in acknowledged:
            best[name] = max(best.get(name, 0), version)
        with SQLiteProfileStore(db_path) as store:
            assert store.integrity_check() == "ok"
            for name, version in best.items():
                assert store.get(name).version >= version, (run, name)
    assert total_acknowledged > 100  # the kills really did interrupt a stream of saves
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------- migrations

# The schema exactly as migration 1 created it, written without the store's code.
_SCHEMA_V1 = [
    "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)",
    """CREATE TABLE profiles (
        name TEXT PRIMARY KEY NOT NULL, config TEXT NOT NULL, lr_offset REAL NOT NULL, statistics TEXT NOT NULL,
        notes TEXT NOT NULL DEFAULT '', version INTEGER NOT NULL CHECK (version >= 1),
        created_at TEXT NOT NULL, updated_at TEXT NOT NULL)""",
    "INSERT INTO schema_migrations VALUES (1, 'profiles table', '2024-01-01T00:00:00.000000+00:00')",
    """INSERT INTO profiles VALUES ('old one', '{"rank":16}', 0.5, '{"e":1}', 'from v1', 3,
        '2024-01-01T00:00:00.000000+00:00', '2024-02-01T12:30:00.000000+00:00')""",
    "PRAGMA user_version = 1",
]


def test_migrates_version_1_database(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    for statement in _SCHEMA_V1:
        conn.execute(statement)
    conn.commit()
    conn.close()

    with SQLiteProfileStore(path) as store:
        assert store.schema_version() == SCHEMA_VERSION >= 2
        old = store.get("old one")
        assert old.config == {"rank": 16} and old.statistics == {"e": 1} and old.notes == "from v1"
        assert old.version == 3 and old.offset == 0.5
        assert old.created_at == datetime(2024, 1, 1, tzinfo=UTC)
        assert old.updated_at == datetime(2024, 2, 1, 12, 30, tzinfo=UTC)
        assert store.get_default() is None
        store.set_default("old one")  # the settings table of migration 2 works
        assert store.get_default() == "old one"
        updated = store.save("old one", {"rank": 32}, 0.0, {}, expected_version=3)
        assert updated.version == 4 and updated.created_at == old.created_at
        assert store.integrity_check() == "ok"

    conn = sqlite3.connect(path)
    try:
        applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
        assert applied == list(range(1, SCHEMA_VERSION + 1))
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_fresh_database_gets_every_migration(tmp_path: Path) -> None:
    with SQLiteProfileStore(tmp_path / "new.db") as store:
        assert store.schema_version() == SCHEMA_VERSION
    conn = sqlite3.connect(tmp_path / "new.db")
    try:
        applied = [row[0] for row in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    finally:
        conn.close()
    assert applied == list(range(1, SCHEMA_VERSION + 1))


def test_refuses_newer_schema(tmp_path: Path) -> None:
    path = tmp_path / "future.db"
    with SQLiteProfileStore(path) as store:
        store.save("p", {}, 0.0, {})
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()

    with pytest.raises(StoreError) as info:
        SQLiteProfileStore(path)
    message = str(info.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "newer than this LRTool supports" in message and f"({SCHEMA_VERSION})" in message
    # Refusing changed nothing.
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 1
        assert conn.execute("SELECT count(*) FROM profiles").fetchone()[0] == 1
    finally:
        conn.close()


def test_opening_concurrently_migrates_once(tmp_path: Path) -> None:
    path = tmp_path / "race.db"
    stores: list[SQLiteProfileStore] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def open_store() -> None:
        try:
            opened = SQLiteProfileStore(path)
            with lock:
                stores.append(opened)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(opened.schema_version() == SCHEMA_VERSION for opened in stores)
    for opened in stores:
        opened.close()
