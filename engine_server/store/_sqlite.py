"""The SQLite profile store: one file, WAL, ``synchronous=FULL``, a connection per thread.

Every write runs inside ``BEGIN IMMEDIATE`` … ``COMMIT``, so a save is durable once it returns
and a version check and the write it guards are one atomic step.
"""

from __future__ import annotations

import builtins
import mmap
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ._contract import (
    DB_FILE_NAME,
    MAX_PAGE_SIZE,
    PRIVATE_FILE_MODE,
    Backoff,
    NewRun,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    ProfileSummary,
    RunNotFound,
    StoreBusy,
    StoredProfile,
    StoredRun,
    StoreError,
    VersionConflict,
    _check_expected_version,
    _check_judgement,
    _check_new_runs,
    _check_run_page,
    _check_save_arguments,
    _decode_page_token,
    _decode_run_page_token,
    _encode_page_token,
    _encode_run_page_token,
    _from_json,
    _loss_bytes,
    _loss_values,
    _parse_timestamp,
    _refused,
    _run_key,
    _timestamp,
    _to_json,
    validate_log_name,
    validate_profile_name,
)
from ._migrations import MIGRATIONS, SCHEMA_VERSION

_BUSY_CODES = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _is_busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return (code & 0xFF) in _BUSY_CODES
    return "locked" in str(exc) or "busy" in str(exc)


# --------------------------------------------------------------------------- SQLite


@dataclass(slots=True, eq=False)
class _Connection:
    """A thread's connection; `lock` is only contended by close()."""

    conn: sqlite3.Connection
    owner: threading.Thread
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed = True
                self.conn.close()


#: SQLite's WAL-index header (https://sqlite.org/walformat.html, "The WAL-Index Header"): two
#: copies at the start of the -shm file, written copy 2 then copy 1 on every commit (the frame
#: count grows, or a restarted WAL takes new salts); readers trust them only when they agree.
_WAL_INDEX_HEADER_BYTES = 48


class _WalIndex:
    """The WAL-index header of one database file, mapped read-only. `keeper` stays open so that the
    -shm file stays the one every connection uses: SQLite removes or truncates it only when the
    last connection to the database closes."""

    def __init__(self, keeper: sqlite3.Connection, memory: mmap.mmap) -> None:
        self._keeper = keeper
        self._memory = memory

    @classmethod
    def open(cls, path: Path, keeper: sqlite3.Connection) -> _WalIndex | None:
        """None (and `keeper` closed) where the header cannot be mapped."""
        try:
            keeper.execute("SELECT 1 FROM schema_migrations LIMIT 1").fetchall()  # maps the -shm file
            with open(f"{os.path.realpath(path)}-shm", "rb") as file:  # SQLite names it after the real file
                memory = mmap.mmap(file.fileno(), 2 * _WAL_INDEX_HEADER_BYTES, access=mmap.ACCESS_READ)
        except (OSError, ValueError, sqlite3.Error):
            keeper.close()
            return None
        return cls(keeper, memory)

    def header(self) -> bytes | None:
        """The current header; None while a writer is between its two copies."""
        first = self._memory[:_WAL_INDEX_HEADER_BYTES]
        second = self._memory[_WAL_INDEX_HEADER_BYTES : 2 * _WAL_INDEX_HEADER_BYTES]
        return first if first == second else None

    def close(self) -> None:
        self._memory.close()
        self._keeper.close()


class SQLiteProfileStore(ProfileStore):
    """ProfileStore on one SQLite file (WAL, synchronous=FULL), one connection per thread."""

    def __init__(self, path: str | os.PathLike[str], *, busy_timeout_ms: int = 10_000) -> None:
        if isinstance(busy_timeout_ms, bool) or not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms: must be an integer ≥ 0; got {busy_timeout_ms!r}")
        text = os.fspath(path)
        if text in ("", ":memory:"):
            raise ValueError("path: must name a database file (WAL needs a file, not an in-memory database)")
        self.path = Path(text)
        self._busy_timeout_ms = busy_timeout_ms
        self._local = threading.local()
        self._registry_lock = threading.Lock()
        self._connections: list[_Connection] = []
        self._closed = False
        # Writers in this process queue here instead of polling SQLite's busy handler,
        # which sleeps in coarse steps; other processes are still handled by busy_timeout.
        self._write_lock = threading.Lock()
        # Watches the WAL-index of the file (see log_version); None until the schema is in place.
        self._wal_index: _WalIndex | None = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"profile store {self.path}: cannot create its directory: {exc}") from exc
        if self.path.is_dir():
            raise StoreError(f"profile store {self.path}: is a directory; name a file, e.g. {self.path / DB_FILE_NAME}")
        self._create_private()
        try:
            self._migrate()
            self._wal_index = _WalIndex.open(self.path, self._open_connection())
        except BaseException:
            self.close()
            raise

    # ---------------------------------------------------------------- connections

    def _create_private(self) -> None:
        """Create a new store file readable by its owner only; SQLite gives its WAL and shared-memory
        files the same permissions. An existing file keeps the permissions it has."""
        try:
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
        except FileExistsError:
            pass
        except OSError as exc:
            raise StoreError(f"profile store {self.path}: cannot create it: {exc.strerror}") from exc

    def _open_connection(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path,
            timeout=self._busy_timeout_ms / 1000,
            isolation_level=None,  # autocommit: transactions are explicit BEGIN IMMEDIATE … COMMIT
            check_same_thread=False,  # close() may close it from another thread
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {self._busy_timeout_ms:d}")
            mode = self._switch_to_wal(conn)
            if str(mode).lower() != "wal":
                raise StoreError(f"profile store {self.path}: cannot switch to WAL journal mode (got {mode!r})")
            conn.execute("PRAGMA synchronous = FULL")
            conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            conn.close()
            raise
        return conn

    def _switch_to_wal(self, conn: sqlite3.Connection) -> str:
        # The switch needs an exclusive lock, and SQLite answers BUSY at once, without the busy
        # handler, while another connection is switching the same new file: retry until the deadline.
        backoff = Backoff(self._busy_timeout_ms / 1000)
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or backoff.expired():
                    raise
            backoff.wait()

    def _thread_connection(self) -> _Connection:
        current: _Connection | None = getattr(self._local, "connection", None)
        if current is not None and not current.closed:
            return current
        with self._registry_lock:
            if self._closed:
                raise StoreError(f"profile store {self.path} is closed")
            # Threads of a pool come and go: close connections whose thread has ended.
            finished = [c for c in self._connections if not c.owner.is_alive()]
            self._connections = [c for c in self._connections if c.owner.is_alive()]
        for stale in finished:
            stale.close()
        conn = self._open_connection()
        current = _Connection(conn, threading.current_thread())
        with self._registry_lock:
            if self._closed:
                conn.close()
                raise StoreError(f"profile store {self.path} is closed")
            self._connections.append(current)
        self._local.connection = current
        return current

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, with SQLite errors turned into StoreError."""
        try:
            current = self._thread_connection()
            with current.lock:
                if current.closed:
                    raise StoreError(f"profile store {self.path} is closed")
                yield current.conn
        except sqlite3.Error as exc:
            if _is_busy(exc):
                raise StoreBusy(f"profile store {self.path}: database is locked: {exc}") from exc
            raise StoreError(f"profile store {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: BEGIN IMMEDIATE takes the write lock before anything is read."""
        timeout = self._busy_timeout_ms / 1000
        backoff = Backoff(timeout)
        if not self._write_lock.acquire(timeout=timeout):
            raise StoreBusy(f"profile store {self.path}: timed out waiting for other writers in this process")
        try:
            with self._connection() as conn:
                self._begin_immediate(conn, backoff)
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        finally:
            self._write_lock.release()

    def _begin_immediate(self, conn: sqlite3.Connection, backoff: Backoff) -> None:
        # busy_timeout already waits inside SQLite; some BUSY results (e.g. during WAL
        # recovery by another process) skip the busy handler, so retry until the deadline.
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or backoff.expired():
                    raise
            backoff.wait()

    # ---------------------------------------------------------------- schema

    def _migrate(self) -> None:
        with self._connection() as conn:
            if self._read_user_version(conn) == SCHEMA_VERSION:
                return
        with self._write() as conn:
            current = self._read_user_version(conn)  # again, now that we hold the write lock
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"profile store {self.path} has schema version {current}, newer than this LRTool supports "
                    f"({SCHEMA_VERSION}); upgrade LRTool or use another database file"
                )
            if current < 0:
                raise StoreError(f"profile store {self.path} has an invalid schema version {current}")
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.sqlite:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)",
                    (migration.version, migration.description, _timestamp(datetime.now(UTC))),
                )
                # user_version lives in the file header and is part of this transaction.
                conn.execute(f"PRAGMA user_version = {migration.version:d}")

    @staticmethod
    def _read_user_version(conn: sqlite3.Connection) -> int:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])

    def schema_version(self) -> int:
        """The schema version recorded in the database file."""
        with self._connection() as conn:
            return self._read_user_version(conn)

    def integrity_check(self) -> str:
        """The result of PRAGMA integrity_check: "ok" for a sound database."""
        with self._connection() as conn:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
        return "\n".join(str(row[0]) for row in rows)

    # ---------------------------------------------------------------- profiles

    def save(
        self,
        name: str,
        config: dict[str, Any],
        offset: float,
        statistics: dict[str, Any],
        notes: str = "",
        expected_version: int | None = None,
    ) -> StoredProfile:
        config_json, statistics_json, offset = _check_save_arguments(name, config, offset, statistics, notes)
        _check_expected_version(expected_version, allow_zero=True)

        with self._write() as conn:
            row = conn.execute(
                "SELECT version, created_at, updated_at FROM profiles WHERE name = ?", (name,)
            ).fetchone()
            now = datetime.now(UTC)
            if row is None:
                if expected_version is not None and expected_version > 0:
                    raise VersionConflict(name, expected_version, None)
                version, created_at, updated_at = 1, now, now
                conn.execute(
                    "INSERT INTO profiles (name, config, lr_offset, statistics, notes, version, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (name, config_json, offset, statistics_json, notes, version, _timestamp(now), _timestamp(now)),
                )
            else:
                current_version = int(row[0])
                if expected_version == 0:
                    raise ProfileExists(name)
                if expected_version is not None and expected_version != current_version:
                    raise VersionConflict(name, expected_version, current_version)
                version = current_version + 1
                created_at = _parse_timestamp(row[1])
                # Never let updated_at run backwards (clock steps) behind the stored one.
                updated_at = max(now, _parse_timestamp(row[2]))
                # UPDATE, not INSERT OR REPLACE: a replace deletes the row, which would clear
                # the default profile through the foreign key.
                conn.execute(
                    "UPDATE profiles SET config = ?, lr_offset = ?, statistics = ?, notes = ?, version = ?,"
                    " updated_at = ? WHERE name = ?",
                    (config_json, offset, statistics_json, notes, version, _timestamp(updated_at), name),
                )
        return StoredProfile(
            name=name,
            config=_from_json("config", config_json),  # the stored form, exactly what get() returns
            offset=offset,
            statistics=_from_json("statistics", statistics_json),
            notes=notes,
            version=version,
            created_at=created_at,
            updated_at=updated_at,
        )

    def get(self, name: str) -> StoredProfile:
        validate_profile_name(name)
        with self._connection() as conn:
            row = conn.execute(
                "SELECT name, config, lr_offset, statistics, notes, version, created_at, updated_at"
                " FROM profiles WHERE name = ?",
                (name,),
            ).fetchone()
        if row is None:
            raise ProfileNotFound(name)
        return StoredProfile(
            name=row[0],
            config=_from_json("config", row[1]),
            offset=float(row[2]),
            statistics=_from_json("statistics", row[3]),
            notes=row[4],
            version=int(row[5]),
            created_at=_parse_timestamp(row[6]),
            updated_at=_parse_timestamp(row[7]),
        )

    def list(self, page_size: int = 50, page_token: str = "") -> tuple[builtins.list[ProfileSummary], str]:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _refused("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")
        after = _decode_page_token(page_token) if page_token else None
        # Names compare as UTF-8 bytes (BINARY collation), which is code-point order, as in Python.
        with self._connection() as conn:
            if after is None:
                rows = conn.execute(
                    "SELECT name, version, updated_at FROM profiles ORDER BY name LIMIT ?", (page_size + 1,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT name, version, updated_at FROM profiles WHERE name > ? ORDER BY name LIMIT ?",
                    (after, page_size + 1),
                ).fetchall()
        summaries = [ProfileSummary(row[0], int(row[1]), _parse_timestamp(row[2])) for row in rows[:page_size]]
        next_token = _encode_page_token(summaries[-1].name) if len(rows) > page_size else ""
        return summaries, next_token

    def delete(self, name: str, expected_version: int | None = None) -> None:
        validate_profile_name(name)
        _check_expected_version(expected_version, allow_zero=False)
        with self._write() as conn:
            row = conn.execute("SELECT version FROM profiles WHERE name = ?", (name,)).fetchone()
            if row is None:
                raise ProfileNotFound(name)
            if expected_version is not None and expected_version != int(row[0]):
                raise VersionConflict(name, expected_version, int(row[0]))
            conn.execute("DELETE FROM profiles WHERE name = ?", (name,))

    def set_default(self, name: str | None) -> None:
        if name is not None:
            validate_profile_name(name)
        with self._write() as conn:
            if name is not None and conn.execute("SELECT 1 FROM profiles WHERE name = ?", (name,)).fetchone() is None:
                raise ProfileNotFound(name)
            conn.execute("UPDATE settings SET default_profile = ? WHERE id = 1", (name,))

    def get_default(self) -> str | None:
        with self._connection() as conn:
            # The join guards against a writer that ran with foreign keys off.
            row = conn.execute(
                "SELECT p.name FROM settings AS s JOIN profiles AS p ON p.name = s.default_profile WHERE s.id = 1"
            ).fetchone()
        return None if row is None else str(row[0])

    # ---------------------------------------------------------------- runs

    def record_runs(self, runs: Sequence[NewRun]) -> builtins.list[StoredRun]:
        _check_new_runs(runs)
        rows = [
            (
                validate_log_name(run.log),
                run.model,
                _to_json("config", run.config),
                run.learning_rate,
                run.outcome,
                run.best_step,
                run.notes,
                _loss_bytes(run.loss),
            )
            for run in runs
        ]
        now = datetime.now(UTC)
        ids: builtins.list[int] = []
        with self._write() as conn:
            for row in rows:
                cursor = conn.execute(
                    "INSERT INTO runs (log, model, config, learning_rate, outcome, best_step, notes, loss, recorded_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*row, _timestamp(now)),
                )
                assert cursor.lastrowid is not None
                ids.append(cursor.lastrowid)
        return [
            StoredRun(
                str(run_id),
                row[0],
                row[1],
                _from_json("config", row[2]),
                row[3],
                row[4],
                row[5],
                row[6],
                tuple(run.loss),
                now,
            )
            for run_id, row, run in zip(ids, rows, runs, strict=True)
        ]

    _RUN_COLUMNS = "id, log, model, config, learning_rate, outcome, best_step, notes, loss, recorded_at"

    @staticmethod
    def _run(row: tuple[Any, ...]) -> StoredRun:
        return StoredRun(
            id=str(row[0]),
            log=row[1],
            model=row[2],
            config=_from_json("config", row[3]),
            learning_rate=float(row[4]),
            outcome=row[5],
            best_step=None if row[6] is None else int(row[6]),
            notes=row[7],
            loss=_loss_values(row[8]),
            recorded_at=_parse_timestamp(row[9]),
        )

    def get_run(self, run_id: str) -> StoredRun:
        key = _run_key(run_id)
        with self._connection() as conn:
            row = conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return self._run(row)

    def list_runs(
        self, log: str, model: str = "", page_size: int = 50, page_token: str = ""
    ) -> tuple[builtins.list[StoredRun], str]:
        log = _check_run_page(log, model, page_size)
        before = _decode_run_page_token(page_token) if page_token else None
        query = f"SELECT {self._RUN_COLUMNS} FROM runs WHERE log = ?"
        parameters: builtins.list[Any] = [log]
        if model:
            query += " AND model = ?"
            parameters.append(model)
        if before is not None:
            query += " AND id < ?"
            parameters.append(before)
        with self._connection() as conn:
            rows = conn.execute(f"{query} ORDER BY id DESC LIMIT ?", (*parameters, page_size + 1)).fetchall()
        runs = [self._run(row) for row in rows[:page_size]]
        next_token = _encode_run_page_token(int(runs[-1].id)) if len(rows) > page_size else ""
        return runs, next_token

    def log_runs(self, log: str) -> builtins.list[StoredRun]:
        log = validate_log_name(log)
        with self._connection() as conn:
            rows = conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE log = ? ORDER BY id", (log,)).fetchall()
        return [self._run(row) for row in rows]

    def log_version(self, log: str) -> bytes | None:
        """The WAL-index header, which every commit to the file (by any connection of any process)
        rewrites: read from memory, without a query. A query would cost an empty log's read, since
        each one lets the server's other threads take the interpreter."""
        watch = self._wal_index
        return None if watch is None else watch.header()

    def update_run(self, run_id: str, outcome: str, best_step: int | None, notes: str) -> StoredRun:
        key = _run_key(run_id)
        _check_judgement(outcome, best_step, notes)
        with self._write() as conn:
            conn.execute(
                "UPDATE runs SET outcome = ?, best_step = ?, notes = ? WHERE id = ?", (outcome, best_step, notes, key)
            )
            row = conn.execute(f"SELECT {self._RUN_COLUMNS} FROM runs WHERE id = ?", (key,)).fetchone()
        if row is None:
            raise RunNotFound(run_id)
        return self._run(row)

    def delete_run(self, run_id: str) -> None:
        key = _run_key(run_id)
        with self._write() as conn:
            if not conn.execute("DELETE FROM runs WHERE id = ?", (key,)).rowcount:
                raise RunNotFound(run_id)

    def close(self) -> None:
        with self._registry_lock:
            self._closed = True
            connections, self._connections = self._connections, []
            watch, self._wal_index = self._wal_index, None
        for connection in connections:
            connection.close()
        if watch is not None:
            watch.close()
