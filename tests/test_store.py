"""Profile store: round trips, compare-and-set, paging, concurrency, crash safety, migrations.

The contract tests run against every backend through the `store_factory` fixture: SQLite always,
PostgreSQL when LRTOOL_TEST_POSTGRES_URL names a reachable server (`.ci/run` starts one with
scripts/start_postgres.sh); each PostgreSQL test gets a schema of its own, dropped afterwards.
"""

from __future__ import annotations

import base64
import functools
import math
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import pytest

from engine_server.store import (
    SCHEMA_VERSION,
    InvalidProfileName,
    NewRun,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    ProfileSummary,
    RunNotFound,
    SQLiteProfileStore,
    StoreBusy,
    StoredProfile,
    StoreError,
    VersionConflict,
    open_store,
    validate_profile_name,
)

if TYPE_CHECKING:
    from engine_server.store._postgres import PostgresProfileStore

CRASH_WRITER = Path(__file__).with_name("store_crash_writer.py")
STATS: dict[str, Any] = {"energy": 1.25, "curve": [0.1, 0.2]}

POSTGRES_URL_VARIABLE = "LRTOOL_TEST_POSTGRES_URL"
POSTGRES_UNAVAILABLE = (
    f"PostgreSQL not available: set {POSTGRES_URL_VARIABLE} to a server's URL, e.g. "
    "postgresql://lrtool:lrtool@127.0.0.1:5432/lrtool_test (.ci/run starts one with scripts/start_postgres.sh)"
)


# --------------------------------------------------------------------------- backends


@functools.cache
def _postgres_problem(url: str) -> str | None:
    """Why the PostgreSQL at `url` cannot be used, or None; asked once per session."""
    try:
        import psycopg
    except ImportError as exc:
        return f"psycopg is not installed ({exc}); pip install 'psycopg[binary]' psycopg_pool"
    try:
        import psycopg_pool  # noqa: F401  (the store needs it)
    except ImportError as exc:
        return f"psycopg_pool is not installed ({exc})"
    try:
        with psycopg.connect(url, connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return " ".join(str(exc).split())
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(POSTGRES_URL_VARIABLE, "")
    if not url:
        pytest.skip(f"{POSTGRES_UNAVAILABLE} (the variable is unset)")
    problem = _postgres_problem(url)
    if problem is not None:
        pytest.skip(f"{POSTGRES_UNAVAILABLE} (cannot connect: {problem})")
    return url


@pytest.fixture
def postgres_schema(postgres_url: str) -> Iterator[str]:
    """A fresh, empty schema name for one test; the schema is dropped afterwards."""
    import psycopg
    from psycopg import sql

    name = f"lrtool_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(name)))


@dataclass
class StoreFactory:
    """Opens stores of one backend on one test's database; every store it opened is closed at teardown."""

    backend: str  # "sqlite" or "postgresql"
    location: str  # the SQLite file, or the PostgreSQL URL
    schema: str | None = None  # PostgreSQL only
    opened: list[ProfileStore] = field(default_factory=list)

    @property
    def migrations_table(self) -> str:
        return "schema_migrations" if self.backend == "sqlite" else "lrtool_schema_migrations"

    def __call__(self, **options: Any) -> SQLiteProfileStore | PostgresProfileStore:
        store: SQLiteProfileStore | PostgresProfileStore
        if self.backend == "sqlite":
            store = SQLiteProfileStore(self.location, **options)
        else:
            from engine_server.store._postgres import PostgresProfileStore

            store = PostgresProfileStore(self.location, schema=self.schema, **options)
        self.opened.append(store)
        return store

    def writer_arguments(self) -> list[str]:
        """How tests/store_crash_writer.py finds this database."""
        return [self.location] if self.schema is None else [self.location, "--schema", self.schema]

    def query(self, statement: str) -> list[tuple[Any, ...]]:
        """Run SQL on the database directly, around the store's code (autocommit)."""
        if self.backend == "sqlite":
            conn = sqlite3.connect(self.location)
            try:
                rows = conn.execute(statement).fetchall()
                conn.commit()
                return rows
            finally:
                conn.close()
        import psycopg

        with psycopg.connect(self.location, autocommit=True, options=f"-c search_path={self.schema}") as pg:
            cursor = pg.execute(statement)
            return list(cursor.fetchall()) if cursor.description else []

    def close_all(self) -> None:
        for store in self.opened:
            store.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_factory(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    if request.param == "sqlite":
        factory = StoreFactory("sqlite", str(tmp_path / "profiles.db"))
    else:
        url = request.getfixturevalue("postgres_url")
        factory = StoreFactory("postgresql", url, request.getfixturevalue("postgres_schema"))
    try:
        yield factory
    finally:
        factory.close_all()


@pytest.fixture
def store(store_factory: StoreFactory) -> SQLiteProfileStore | PostgresProfileStore:
    return store_factory()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteProfileStore]:
    with SQLiteProfileStore(tmp_path / "profiles.db") as opened:
        yield opened


@pytest.fixture
def pg_factory(postgres_url: str, postgres_schema: str) -> Iterator[StoreFactory]:
    factory = StoreFactory("postgresql", postgres_url, postgres_schema)
    try:
        yield factory
    finally:
        factory.close_all()


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


def test_save_get_round_trip(store: ProfileStore, typical: dict[str, Any]) -> None:
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


def test_update_increments_version_and_keeps_created_at(store: ProfileStore, typical: dict[str, Any]) -> None:
    first = store.save("p", typical, 0.0, {})
    second = store.save("p", {**typical, "rank": 64}, 0.5, {"x": 1}, notes="rank 64")
    third = store.save("p", typical, 1.0, {}, expected_version=2)
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert second.created_at == third.created_at == first.created_at
    assert first.updated_at <= second.updated_at <= third.updated_at
    got = store.get("p")
    assert got.version == 3 and got.offset == 1.0 and got.notes == "" and got.created_at == first.created_at


def test_persists_across_reopen(store_factory: StoreFactory, typical: dict[str, Any]) -> None:
    with store_factory() as store:
        saved = store.save("kept", typical, 0.125, STATS, notes="ünïcode notes ✓")
        store.set_default("kept")
    with store_factory() as store:
        assert store.get("kept") == saved
        assert store.get_default() == "kept"
        assert store.schema_version() == SCHEMA_VERSION
        assert store.integrity_check() == "ok"


def test_json_values_round_trip_exactly(store: ProfileStore) -> None:
    config: dict[str, Any] = {
        "huge": 1e300,
        "big": -1.5e20,
        "tiny": 5e-324,
        "small": 1.5e-7,
        "whole float": 2.0,
        "int": 10**30,
        "nested": {"b": [1, 2.5, None, True, False, 'ü ✓ \\ " \n'], "a": {}},
        "": "empty key",
        "zz": [],
    }
    saved = store.save("numbers", config, 1e-300, {"x": 1e16})
    got = store.get("numbers")
    assert got == saved
    assert got.config == config and got.offset == 1e-300 and got.statistics == {"x": 1e16}
    # Types survive too (1e300 == int(1e300) is False, but 2.0 == 2 is True, so check them).
    assert [type(value) for value in got.config.values()] == [type(config[key]) for key in got.config]
    assert type(got.config["whole float"]) is float and type(got.statistics["x"]) is float
    assert type(got.config["int"]) is int
    # Keys come back sorted, whatever the backend keeps internally.
    assert list(got.config) == sorted(config) and list(saved.config) == sorted(config)


def test_get_and_delete_missing(store: ProfileStore) -> None:
    with pytest.raises(ProfileNotFound) as info:
        store.get("nope")
    assert info.value.name == "nope"
    assert isinstance(info.value, KeyError) and isinstance(info.value, StoreError)
    assert str(info.value) == "profile 'nope' not found"
    with pytest.raises(ProfileNotFound):
        store.delete("nope")


def test_delete(store: ProfileStore, typical: dict[str, Any]) -> None:
    store.save("a", typical, 0.0, {})
    store.save("b", typical, 0.0, {})
    store.delete("a")
    with pytest.raises(ProfileNotFound):
        store.get("a")
    assert _all_names(store, 10) == ["b"]
    # A deleted name can be created again, starting over at version 1.
    assert store.save("a", typical, 0.0, {}, expected_version=0).version == 1


def test_default_profile(store: ProfileStore, typical: dict[str, Any]) -> None:
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


def test_list_empty(store: ProfileStore) -> None:
    assert store.list() == ([], "")


def test_list_pages_in_name_order(store: ProfileStore) -> None:
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


def test_list_token_survives_deletion_of_its_profile(store: ProfileStore) -> None:
    for name in "abcdef":
        store.save(name, {}, 0.0, {})
    page, token = store.list(page_size=2)
    assert [summary.name for summary in page] == ["a", "b"]
    store.delete("b")
    store.delete("c")
    page, token = store.list(page_size=2, page_token=token)
    assert [summary.name for summary in page] == ["d", "e"]


def test_list_summary_fields(store: ProfileStore) -> None:
    store.save("x", {}, 0.0, {})
    saved = store.save("x", {}, 0.0, {})
    assert store.list() == ([ProfileSummary("x", 2, saved.updated_at)], "")


@pytest.mark.parametrize("page_size", [0, -1, 1001, 10**9])
def test_list_bad_page_size(store: ProfileStore, page_size: int) -> None:
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
def test_list_bad_page_token(store: ProfileStore, token: str) -> None:
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
def test_valid_names(store: ProfileStore, name: str) -> None:
    assert validate_profile_name(name) == name
    store.save(name, {}, 0.0, {})
    assert store.get(name).name == name


@pytest.mark.parametrize(
    "name",
    ["", "x" * 129, "a/b", " leading", "trailing ", " ", "tab\there", "new\nline", "semi;colon", "quote'", "emoji😀"],
)
def test_invalid_names(store: ProfileStore, name: str) -> None:
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
        ({"notes": "a\x00b"}, "notes"),  # PostgreSQL cannot keep it, so no store does
        ({"expected_version": -1}, "expected_version"),
    ],
)
def test_save_rejects_bad_values(store: ProfileStore, kwargs: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {"name": "p", "config": {}, "offset": 0.0, "statistics": {}, **kwargs}
    with pytest.raises(ValueError, match=f"^{field}: "):
        store.save(**arguments)
    with pytest.raises(ProfileNotFound):
        store.get("p")  # nothing half-written


def test_delete_rejects_expected_version_zero(store: ProfileStore) -> None:
    store.save("p", {}, 0.0, {})
    with pytest.raises(ValueError, match=r"^expected_version: "):
        store.delete("p", expected_version=0)


def test_closed_store_refuses_calls(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.save("p", {}, 0.0, {})
    store.close()
    store.close()  # idempotent
    with pytest.raises(StoreError, match="closed"):
        store.get("p")
    with pytest.raises(StoreError, match="closed"):
        store.save("q", {}, 0.0, {})


# --------------------------------------------------------------------------- compare-and-set


def test_create_only_over_existing_raises_profile_exists(store: ProfileStore, typical: dict[str, Any]) -> None:
    store.save("p", typical, 0.0, {}, expected_version=0)
    with pytest.raises(ProfileExists) as info:
        store.save("p", {"other": True}, 1.0, {}, expected_version=0)
    assert info.value.name == "p"
    assert store.get("p").config == typical and store.get("p").version == 1


def test_stale_version_raises_version_conflict(store: ProfileStore) -> None:
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


def test_update_of_missing_raises_version_conflict_without_current(store: ProfileStore) -> None:
    with pytest.raises(VersionConflict) as info:
        store.save("ghost", {}, 0.0, {}, expected_version=3)
    assert info.value.current_version is None and info.value.expected_version == 3
    assert "does not exist" in str(info.value)
    with pytest.raises(ProfileNotFound):
        store.get("ghost")


def test_delete_with_stale_version(store: ProfileStore) -> None:
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


def test_concurrent_writers(store_factory: StoreFactory) -> None:
    threads_count, saves_per_thread = 16, 100
    own_saves = cas_saves = saves_per_thread // 2
    store = store_factory()
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

    with store_factory() as reader:  # a fresh connection sees everything
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


def _race_saves(store: ProfileStore, name: str, expected: int | None, threads_count: int) -> list[object]:
    """Start `threads_count` saves of `name` at once; each thread's version or exception."""
    barrier = threading.Barrier(threads_count)
    outcomes: list[object] = []
    lock = threading.Lock()

    def save(worker: int) -> None:
        barrier.wait()
        outcome: object
        try:
            outcome = store.save(name, {"by": worker}, 0.0, {}, expected_version=expected).version
        except BaseException as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=save, args=(index,)) for index in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_creates_of_one_name(store_factory: StoreFactory) -> None:
    """Racing creates of a missing name: create-only saves have one winner, upserts all land."""
    store = store_factory()
    created = _race_saves(store, "created", 0, 16)
    assert created.count(1) == 1, created
    assert all(isinstance(outcome, ProfileExists) for outcome in created if outcome != 1), created
    assert store.get("created").version == 1

    upserted = _race_saves(store, "upserted", None, 16)
    assert sorted(upserted, key=repr) == sorted(range(1, 17), key=repr), upserted
    assert store.get("upserted").version == 16
    assert store.integrity_check() == "ok"


def test_concurrent_deletes_and_defaults(store_factory: StoreFactory) -> None:
    """set_default and delete racing on the same profiles neither deadlock nor leave a dangling default."""
    store = store_factory()
    names = [f"d{index}" for index in range(4)]
    errors: list[BaseException] = []

    def churn(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for _ in range(60):
                name = rng.choice(names)
                action = rng.randrange(3)
                try:
                    if action == 0:
                        store.save(name, {}, 0.0, {})
                    elif action == 1:
                        store.set_default(name)
                    else:
                        store.delete(name)
                except ProfileNotFound:
                    pass
                default = store.get_default()
                assert default is None or default in names
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    default = store.get_default()
    if default is not None:
        store.get(default)  # the default always names an existing profile
    assert store.integrity_check() == "ok"


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
        assert not line.startswith(("conflict", "error")), line
        name, version = line.split(" ")
        acknowledged.append((name, int(version)))
    return acknowledged


def test_crash_keeps_every_acknowledged_save(store_factory: StoreFactory, tmp_path: Path) -> None:
    """SIGKILL a writer (3 threads saving concurrently) 25 times; after each, reopen and check."""
    rng = random.Random(20240601)
    best: dict[str, int] = {}
    total_acknowledged = 0
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    started = time.monotonic()
    for run in range(25):
        ack_path = tmp_path / f"ack-{run}.txt"
        with ack_path.open("w", encoding="utf-8") as ack_file:
            process = subprocess.Popen(
                [sys.executable, str(CRASH_WRITER), *store_factory.writer_arguments(), str(run), "--threads", "3"],
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
                time.sleep(rng.uniform(0.03, 0.3))
                assert process.poll() is None, process.communicate()[1].decode()
                process.send_signal(signal.SIGKILL)
            finally:
                process.kill()
                process.wait()
                if process.stderr is not None:
                    process.stderr.close()
        assert process.returncode == -signal.SIGKILL

        acknowledged = _read_acknowledged(ack_path)
        total_acknowledged += len(acknowledged)
        for name, version in acknowledged:
            best[name] = max(best.get(name, 0), version)
        with store_factory() as store:  # the restart
            assert store.integrity_check() == "ok"
            for name, version in best.items():
                assert store.get(name).version >= version, (run, name)
    assert total_acknowledged > 100  # the kills really did interrupt a stream of saves
    assert time.monotonic() - started < 60


# --------------------------------------------------------------------------- runs


def _new_run(log: str = "default", rate: float = 1e-4, **changes: Any) -> NewRun:
    fields: dict[str, Any] = {
        "log": log,
        "model": "sd15",
        "config": {"model": "sd15", "steps": 1200, "rank": 64},
        "learning_rate": rate,
        "outcome": "GOOD",
        **changes,
    }
    return NewRun(**fields)


def test_runs_round_trip(store: ProfileStore) -> None:
    loss = (0.25, 1e-300, math.inf, -math.inf, math.nan, 5e-324)
    (recorded,) = store.record_runs([_new_run(best_step=800, notes="ünïcode notes", loss=loss)])
    again = store.get_run(recorded.id)
    assert again.config == {"model": "sd15", "steps": 1200, "rank": 64} and again.learning_rate == 1e-4
    assert (again.outcome, again.best_step, again.notes, again.log) == ("GOOD", 800, "ünïcode notes", "default")
    assert again.loss[:4] == loss[:4] and math.isnan(again.loss[4]) and again.loss[5] == 5e-324
    assert abs(again.recorded_at - recorded.recorded_at) < timedelta(seconds=1)
    assert recorded.loss[:4] == loss[:4] and recorded.id == again.id


def test_runs_list_newest_first_by_log_and_model(store: ProfileStore) -> None:
    recorded = store.record_runs(
        [_new_run("a", rate=k / 100_000, model="sdxl" if k % 3 == 0 else "sd15") for k in range(1, 8)]
    )
    store.record_runs([_new_run("b")])
    ids: list[str] = []
    token = ""
    while True:
        page, token = store.list_runs("a", page_size=3, page_token=token)
        ids += [run.id for run in page]
        if not token:
            break
    assert ids == [run.id for run in reversed(recorded)]
    assert [int(run_id) for run_id in ids] == sorted((int(run_id) for run_id in ids), reverse=True)
    sdxl, _ = store.list_runs("a", model="sdxl")
    assert [run.learning_rate for run in sdxl] == [6e-5, 3e-5]
    assert [run.id for run in store.log_runs("a")] == [run.id for run in recorded]
    assert store.list_runs("nobody") == ([], "")
    assert store.list_runs("", page_size=1)[0] == []  # "" is the default log
    with pytest.raises(ValueError, match="page_token"):
        store.list_runs("a", page_token="bm90IGEgdG9rZW4=")


def test_runs_update_and_delete(store: ProfileStore) -> None:
    first, second = store.record_runs([_new_run(), _new_run(outcome="UNSPECIFIED")])
    updated = store.update_run(second.id, "OVERTRAINED", 600, "burned at the end")
    assert (updated.outcome, updated.best_step, updated.notes) == ("OVERTRAINED", 600, "burned at the end")
    assert updated.learning_rate == second.learning_rate and updated.recorded_at == store.get_run(second.id).recorded_at
    store.delete_run(first.id)
    with pytest.raises(RunNotFound):
        store.get_run(first.id)
    with pytest.raises(RunNotFound):
        store.delete_run(first.id)
    with pytest.raises(RunNotFound):
        store.update_run(first.id, "GOOD", None, "")
    (third,) = store.record_runs([_new_run()])
    assert int(third.id) > int(second.id)  # a deleted run's id is never handed out again
    with pytest.raises(ValueError, match="id: must be a run id"):
        store.get_run("x1")


def test_a_batch_of_runs_is_recorded_whole_or_not_at_all(store: ProfileStore) -> None:
    with pytest.raises(ValueError, match=r"runs\[1\].learning_rate"):
        store.record_runs([_new_run("batch"), _new_run("batch", rate=math.nan)])
    with pytest.raises(ValueError, match="log"):
        store.record_runs([_new_run("batch"), _new_run(" bad log")])
    assert store.log_runs("batch") == []
    assert len(store.record_runs([_new_run("batch")] * 50)) == 50 == len(store.log_runs("batch"))


def _log_version(store: ProfileStore) -> Any:
    """The store's runs version, read again while a writer is between the two copies of SQLite's header."""
    for _ in range(100):
        version = store.log_version("a")
        if version is not None:
            return version
        time.sleep(0.01)
    raise AssertionError("no runs version")


def test_the_runs_version_moves_with_every_change_by_any_writer(store_factory: StoreFactory) -> None:
    """What a server learned from a log is kept while log_version stands: every change to the runs, by
    this store, another one on the same database or plain SQL, moves it; reading does not."""
    store, other = store_factory(), store_factory()
    seen = [_log_version(store)]
    (run,) = store.record_runs([_new_run("a")])
    seen.append(_log_version(store))
    store.log_runs("a"), store.list_runs("a"), store.get_run(run.id)  # reads
    assert _log_version(store) == seen[-1]
    other.update_run(run.id, "OVERTRAINED", None, "")
    seen.append(_log_version(store))
    table = "runs" if store_factory.backend == "sqlite" else "lrtool_runs"
    store_factory.query(f"UPDATE {table} SET notes = 'edited by hand'")
    seen.append(_log_version(store))
    other.delete_run(run.id)
    seen.append(_log_version(store))
    assert len(set(seen)) == len(seen), seen


def test_runs_survive_a_reopen(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        recorded = store.record_runs([_new_run("kept", best_step=10)])
    with store_factory() as store:
        assert store.log_runs("kept") == recorded
        assert store.integrity_check() == "ok"


# --------------------------------------------------------------------------- migrations


def test_fresh_database_gets_every_migration(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        assert store.schema_version() == SCHEMA_VERSION
    rows = store_factory.query(f"SELECT version FROM {store_factory.migrations_table} ORDER BY version")
    assert [row[0] for row in rows] == list(range(1, SCHEMA_VERSION + 1))


def test_refuses_newer_schema(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        store.save("p", {}, 0.0, {})
    if store_factory.backend == "sqlite":
        store_factory.query(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        store_factory.query(
            f"INSERT INTO lrtool_schema_migrations (version, description) VALUES ({SCHEMA_VERSION + 1}, 'future')"
        )

    with pytest.raises(StoreError) as info:
        store_factory()
    message = str(info.value)
    assert f"schema version {SCHEMA_VERSION + 1}" in message
    assert "newer than this LRTool supports" in message and f"({SCHEMA_VERSION})" in message
    # Refusing changed nothing.
    if store_factory.backend == "sqlite":
        assert store_factory.query("PRAGMA user_version") == [(SCHEMA_VERSION + 1,)]
        assert store_factory.query("SELECT count(*) FROM profiles") == [(1,)]
    else:
        assert store_factory.query("SELECT max(version) FROM lrtool_schema_migrations") == [(SCHEMA_VERSION + 1,)]
        assert store_factory.query("SELECT count(*) FROM lrtool_profiles") == [(1,)]


def test_opening_concurrently_migrates_once(store_factory: StoreFactory) -> None:
    stores: list[ProfileStore] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def open_one() -> None:
        try:
            barrier.wait()
            opened = store_factory()
            with lock:
                stores.append(opened)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(stores) == 8
    assert all(opened.schema_version() == SCHEMA_VERSION for opened in store_factory.opened)
    rows = store_factory.query(f"SELECT version FROM {store_factory.migrations_table} ORDER BY version")
    assert [row[0] for row in rows] == list(range(1, SCHEMA_VERSION + 1))


# The SQLite schema exactly as migration 1 created it, written without the store's code.
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

# The PostgreSQL schema exactly as its migration 1 created it, likewise written by hand.
_POSTGRES_SCHEMA_V1 = [
    """CREATE TABLE lrtool_schema_migrations (version integer PRIMARY KEY, description text NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT clock_timestamp())""",
    """CREATE TABLE lrtool_profiles (
        name text COLLATE "C" PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 128),
        config jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
        lr_offset double precision NOT NULL CHECK (lr_offset > '-Infinity'::float8 AND lr_offset < 'Infinity'::float8),
        statistics jsonb NOT NULL CHECK (jsonb_typeof(statistics) = 'object'),
        notes text NOT NULL DEFAULT '', version bigint NOT NULL CHECK (version >= 1),
        created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL, CHECK (updated_at >= created_at))""",
    "INSERT INTO lrtool_schema_migrations (version, description) VALUES (1, 'profiles table')",
    """INSERT INTO lrtool_profiles VALUES ('old one', '{"rank":16}', 0.5, '{"e":1}', 'from v1', 3,
        '2024-01-01T00:00:00+00:00', '2024-02-01T12:30:00+00:00')""",
]


def test_migrates_version_1_database(store_factory: StoreFactory) -> None:
    if store_factory.backend == "sqlite":
        for statement in _SCHEMA_V1:
            store_factory.query(statement)
    else:
        store_factory.query(f'CREATE SCHEMA "{store_factory.schema}"')
        for statement in _POSTGRES_SCHEMA_V1:
            store_factory.query(statement)

    with store_factory() as store:
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
        (run,) = store.record_runs([_new_run("migrated")])  # the runs table of migration 3 works
        assert store.log_runs("migrated") == [run]
        assert store.integrity_check() == "ok"

    rows = store_factory.query(f"SELECT version FROM {store_factory.migrations_table} ORDER BY version")
    assert [row[0] for row in rows] == list(range(1, SCHEMA_VERSION + 1))
    if store_factory.backend == "sqlite":
        assert store_factory.query("PRAGMA user_version") == [(SCHEMA_VERSION,)]


# --------------------------------------------------------------------------- SQLite only


def test_sqlite_creates_parent_directories(tmp_path: Path, typical: dict[str, Any]) -> None:
    path = tmp_path / "nested" / "dir" / "profiles.db"
    with SQLiteProfileStore(path) as store:
        saved = store.save("kept", typical, 0.125, STATS)
        assert store.path == path
    with SQLiteProfileStore(str(path)) as store:
        assert store.get("kept") == saved


def test_in_memory_path_refused() -> None:
    with pytest.raises(ValueError, match="path"):
        SQLiteProfileStore(":memory:")


def test_not_a_database(tmp_path: Path) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not an SQLite database at all" * 100)
    with pytest.raises(StoreError):
        SQLiteProfileStore(path)


def test_pragmas(sqlite_store: SQLiteProfileStore) -> None:
    store = sqlite_store
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


# --------------------------------------------------------------------------- choosing a backend


def test_open_store_opens_sqlite_for_paths(tmp_path: Path) -> None:
    for location in (tmp_path / "a.db", str(tmp_path / "b.db")):
        with open_store(location) as store:
            assert isinstance(store, SQLiteProfileStore)
            store.save("p", {}, 0.0, {})


def test_open_store_rejects_a_url_mangled_by_path() -> None:
    with pytest.raises(ValueError, match="pathlib"):
        open_store(Path("postgresql://lrtool:lrtool@127.0.0.1:5432/lrtool_test"))


def test_sqlite_users_do_not_import_psycopg(tmp_path: Path) -> None:
    code = (
        "import sys; from engine_server.store import open_store; "
        f"open_store({str(tmp_path / 'x.db')!r}).close(); "
        "print(any(name.split('.')[0] in ('psycopg', 'psycopg_pool') for name in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


# --------------------------------------------------------------------------- PostgreSQL only


def _url_with(url: str, *, password: str | None = None, query: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc
    if password is not None:
        credentials, _, host = netloc.rpartition("@")
        netloc = f"{credentials.partition(':')[0]}:{quote(password, safe='')}@{host}"
    if query is not None:
        query = f"{parts.query}&{query}" if parts.query else query
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query if query is None else query, ""))


def test_open_store_opens_postgresql_for_urls(postgres_url: str, pg_factory: StoreFactory) -> None:
    from engine_server.store._postgres import PostgresProfileStore

    # Without schema=, the store uses the connection's current schema: here one set in the URL.
    pg_factory.query(f'CREATE SCHEMA "{pg_factory.schema}"')
    url = _url_with(postgres_url, query=f"options={quote(f'-csearch_path={pg_factory.schema}')}")
    with open_store(url) as store:
        assert isinstance(store, PostgresProfileStore)
        assert store.schema_version() == SCHEMA_VERSION
        store.save("via url", {}, 0.0, {})
    with open_store("postgres://" + url.split("://", 1)[1]) as store:
        assert isinstance(store, PostgresProfileStore)
        assert _all_names(store, 10) == ["via url"]
    assert pg_factory.query("SELECT name FROM lrtool_profiles") == [("via url",)]


def test_one_migration_list_serves_both_stores() -> None:
    from engine_server.store._migrations import MIGRATIONS

    assert [migration.version for migration in MIGRATIONS] == list(range(1, SCHEMA_VERSION + 1))
    assert all(migration.sqlite or migration.postgres for migration in MIGRATIONS)
    assert all(migration.sqlite and migration.postgres for migration in MIGRATIONS[:3])  # the tables of both


def test_postgres_replicas_share_one_store(pg_factory: StoreFactory, typical: dict[str, Any]) -> None:
    one, two = pg_factory(), pg_factory()
    saved = one.save("shared", typical, 0.5, STATS, expected_version=0)
    assert two.get("shared") == saved
    two.save("shared", typical, 0.75, STATS, expected_version=1)
    with pytest.raises(VersionConflict) as info:
        one.save("shared", typical, 1.0, STATS, expected_version=1)  # one's view is stale
    assert info.value.current_version == 2
    one.set_default("shared")
    assert two.get_default() == "shared"
    two.delete("shared", expected_version=2)
    assert one.get_default() is None and one.list() == ([], "")


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://lrtool:s3cret-pw@127.0.0.1:1/lrtool_nowhere",  # nothing listens
        "postgresql://lrtool:s3cret%zz-pw@127.0.0.1:5432/lrtool_nowhere",  # malformed URL
        "postgresql://127.0.0.1:1/lrtool_nowhere?password=s3cret-pw&user=lrtool",
    ],
)
def test_postgres_connection_errors_name_the_server_not_the_password(url: str) -> None:
    pytest.importorskip("psycopg")
    with pytest.raises(StoreError) as info:
        open_store(url)
    message = str(info.value)
    assert "s3cret" not in message and "s3cret" not in repr(info.value.__cause__)
    assert "127.0.0.1" in message and "lrtool_nowhere" in message


def test_postgres_wrong_password(postgres_url: str) -> None:
    from engine_server.store._postgres import PostgresProfileStore

    with pytest.raises(StoreError, match="cannot connect") as info:
        PostgresProfileStore(_url_with(postgres_url, password="not-the-password-x"))
    message = str(info.value)
    assert "not-the-password-x" not in message and "password authentication failed" in message


def test_postgres_refuses_nul_characters(pg_factory: StoreFactory) -> None:
    store = pg_factory()
    with pytest.raises(ValueError, match=r"^config: .*NUL"):
        store.save("p", {"a": "x\x00y"}, 0.0, {})
    with pytest.raises(ValueError, match=r"^statistics: .*NUL"):
        store.save("p", {}, 0.0, {"k\x00": 1})
    with pytest.raises(ValueError, match=r"^notes: .*NUL"):
        store.save("p", {}, 0.0, {}, notes="a\x00b")
    with pytest.raises(ProfileNotFound):
        store.get("p")


def test_postgres_names_compare_exactly(pg_factory: StoreFactory) -> None:
    store = pg_factory()
    for name in ("a", "A", "ä", "a.", "a-", "B", "Ä"):
        store.save(name, {"name": name}, 0.0, {})
    assert _all_names(store, 3) == sorted(["a", "A", "ä", "a.", "a-", "B", "Ä"])
    assert store.get("Ä").config == {"name": "Ä"} and store.get("ä").config == {"name": "ä"}


def test_postgres_row_lock_timeout_raises_store_busy(pg_factory: StoreFactory) -> None:
    import psycopg

    store = pg_factory(busy_timeout_ms=300)
    store.save("locked", {}, 0.0, {})
    with psycopg.connect(pg_factory.location, options=f"-c search_path={pg_factory.schema}") as blocker:
        blocker.execute("SELECT 1 FROM lrtool_profiles WHERE name = 'locked' FOR UPDATE")
        started = time.monotonic()
        with pytest.raises(StoreBusy):
            store.save("locked", {}, 1.0, {})
        assert time.monotonic() - started < 5
        assert store.get("locked").version == 1  # reads never wait for row locks
        blocker.rollback()
    assert store.save("locked", {}, 1.0, {}).version == 2


def test_postgres_reconnects_after_losing_its_connections(pg_factory: StoreFactory) -> None:
    import psycopg

    store = pg_factory()
    store.save("p", {}, 0.0, {})

    def end_pooled_connection() -> None:
        # The store's pooled connection (it only needs one here) is ended by the server, as on a restart.
        pid = store._run(lambda conn: conn.execute("SELECT pg_backend_pid()").fetchone(), mode="read")
        assert pid is not None
        with psycopg.connect(pg_factory.location, autocommit=True) as admin:
            assert admin.execute("SELECT pg_terminate_backend(%s, 5000)", (pid[0],)).fetchone() == (True,)

    end_pooled_connection()
    assert store.get("p").version == 1  # a read is simply retried on a fresh connection
    end_pooled_connection()
    # A write probes its connection first, so the stale one is replaced before anything is sent.
    assert store.save("p", {}, 0.0, {}, expected_version=1).version == 2
    end_pooled_connection()
    store.set_default("p")  # a transaction that failed before COMMIT runs again
    assert store.get_default() == "p" and store.integrity_check() == "ok"


def test_postgres_integrity_check_finds_problems(pg_factory: StoreFactory) -> None:
    store = pg_factory()
    store.save("p", {}, 0.0, {})
    assert store.integrity_check() == "ok"
    pg_factory.query("ALTER TABLE lrtool_settings DROP CONSTRAINT lrtool_settings_default_profile_fkey")
    pg_factory.query("UPDATE lrtool_settings SET default_profile = 'ghost'")
    report = store.integrity_check()
    assert "lrtool_settings lacks its foreign key" in report
    assert "default profile 'ghost' does not exist" in report
    assert store.get_default() is None  # the join ignores a dangling default
    # Without its trigger, servers would keep what they learned from a log after it changed.
    pg_factory.query("ALTER TABLE lrtool_runs DISABLE TRIGGER lrtool_runs_changed")
    pg_factory.query("DELETE FROM lrtool_run_changes")
    report = store.integrity_check()
    assert "lrtool_runs lacks its enabled trigger lrtool_runs_changed" in report
    assert "lrtool_run_changes has rows [], expected exactly [1]" in report
    assert store.log_version("default") is None  # with no count, a server reads the log on every call
    pg_factory.query("DROP TABLE lrtool_settings")
    assert store.integrity_check() == "missing table lrtool_settings"


def test_postgres_schema_option_isolates_stores(postgres_url: str, pg_factory: StoreFactory) -> None:
    from engine_server.store._postgres import PostgresProfileStore

    store = pg_factory()
    store.save("only here", {}, 0.0, {})
    other_schema = f"{pg_factory.schema}_other"
    try:
        with PostgresProfileStore(postgres_url, schema=other_schema) as other:
            assert other.list() == ([], "")
            other.save("only there", {}, 0.0, {})
        assert _all_names(store, 10) == ["only here"]
    finally:
        pg_factory.query(f'DROP SCHEMA IF EXISTS "{other_schema}" CASCADE')


def test_the_service_refuses_nul_in_notes_alike_for_either_store(store_factory: StoreFactory, tmp_path: Path) -> None:
    from conftest import TYPICAL

    from engine_server.client import InvalidArgument, LRToolClient
    from engine_server.client import ProfileNotFound as NotFound
    from engine_server.server import Settings, create_server

    server, port = create_server(Settings(port=0, db=tmp_path / "unused.sqlite3"), store=store_factory())
    server.start()
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:
            with pytest.raises(InvalidArgument) as caught:
                client.save_profile("nul notes", TYPICAL, notes="before\x00after")
            assert [str(v) for v in caught.value.violations] == [
                "profile.notes: must not contain NUL (U+0000) characters"
            ]
            with pytest.raises(NotFound):
                client.get_profile("nul notes")
    finally:
        server.stop(0)


def _without_password(url: str) -> tuple[str, str]:
    """(the URL without its password, the password)."""
    parts = urlsplit(url)
    credentials, _, host = parts.netloc.rpartition("@")
    user, _, password = credentials.partition(":")
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, "")), unquote(password)


def test_postgres_password_from_pgpassword_or_a_password_file(
    postgres_url: str, postgres_schema: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `lrtool serve --db` users are told to do instead of writing the password where ps shows it."""
    from engine_server.store._postgres import PostgresProfileStore

    bare, password = _without_password(postgres_url)
    monkeypatch.delenv("PGPASSFILE", raising=False)
    monkeypatch.setenv("PGPASSWORD", password)
    with PostgresProfileStore(bare, schema=postgres_schema) as store:
        store.save("from PGPASSWORD", {}, 0.0, {})
    monkeypatch.delenv("PGPASSWORD")
    parts = urlsplit(bare)
    password_file = tmp_path / "pgpass"
    password_file.write_text(
        f"{parts.hostname}:{parts.port or 5432}:{parts.path.lstrip('/')}:{parts.username}:{password}\n"
    )
    password_file.chmod(0o600)
    monkeypatch.setenv("PGPASSFILE", str(password_file))
    with PostgresProfileStore(bare, schema=postgres_schema) as store:
        assert store.get("from PGPASSWORD").version == 1


def test_serve_with_a_wrong_postgres_password_says_so_in_one_line(postgres_url: str) -> None:
    wrong = _url_with(postgres_url, password="not-the-password-y")
    result = subprocess.run(
        [sys.executable, "-m", "engine_server.cli", "serve", "--port", "0", "--db", wrong],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 1
    assert "password authentication failed" in result.stderr and "PGPASSWORD" in result.stderr
    assert "Traceback" not in result.stderr and "not-the-password-y" not in result.stderr
