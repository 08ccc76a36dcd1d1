"""Profile store: named, versioned training configurations kept in SQLite or PostgreSQL.

open_store() picks the backend from the location: a ``postgresql://`` URL opens the shared
PostgresProfileStore (engine_server._store_postgres, psycopg 3), anything else a SQLite file.
Both follow the one ProfileStore contract and raise the same errors:

StoreError
├── InvalidProfileName   the name breaks the naming rule (also a ValueError)
├── ProfileNotFound      no profile of that name (also a KeyError)
├── ProfileExists        create-only save over an existing name
├── VersionConflict      compare-and-set failed: the profile is at another version
└── StoreBusy            the database stayed locked for longer than the busy timeout

On SQLite, every write runs inside ``BEGIN IMMEDIATE`` … ``COMMIT`` on a WAL database with
``synchronous=FULL``, so a save is durable once it returns and a version check and the
write it guards are one atomic step. Each thread gets its own connection.
"""

from __future__ import annotations

import abc
import base64
import binascii
import builtins
import json
import math
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any, Self

__all__ = [
    "SCHEMA_VERSION",
    "InvalidProfileName",
    "ProfileExists",
    "ProfileNotFound",
    "ProfileStore",
    "ProfileSummary",
    "SQLiteProfileStore",
    "StoreBusy",
    "StoreError",
    "StoredProfile",
    "VersionConflict",
    "open_store",
    "validate_profile_name",
]

MAX_NAME_LENGTH = 128
MAX_PAGE_SIZE = 1000
_NAME_PUNCTUATION = frozenset(" ._-")
_NAME_RULE = (
    f"must be 1–{MAX_NAME_LENGTH} characters of letters, digits, space, '.', '_' or '-' "
    "(not starting or ending with a space)"
)
_PAGE_TOKEN_PREFIX = b"p1:"


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base class of every error the profile store raises on purpose."""


class InvalidProfileName(StoreError, ValueError):
    """The profile name breaks the naming rule."""


class ProfileNotFound(StoreError, KeyError):
    """No profile of that name exists."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"profile {name!r} not found")

    def __str__(self) -> str:
        # KeyError.__str__ would repr() the message and wrap it in quotes.
        return str(self.args[0])


class ProfileExists(StoreError):
    """A create-only save (expected_version=0) found the name taken."""

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(f"profile {name!r} already exists")


class VersionConflict(StoreError):
    """Compare-and-set failed: the profile is not at the expected version."""

    def __init__(self, name: str, expected_version: int, current_version: int | None) -> None:
        self.name = name
        self.expected_version = expected_version
        self.current_version = current_version
        current = "the profile does not exist" if current_version is None else f"current version is {current_version}"
        super().__init__(f"profile {name!r}: expected version {expected_version}, but {current}")


class StoreBusy(StoreError):
    """The database stayed locked by other writers for longer than the busy timeout.

    PostgreSQL also raises it for other passing trouble: no pooled connection in time (server
    unreachable), a connection lost mid-call, a server shutting down.
    """


# --------------------------------------------------------------------------- values


@dataclass(frozen=True, slots=True)
class StoredProfile:
    """One saved profile as read back from the store."""

    name: str
    config: dict[str, Any]
    offset: float
    statistics: dict[str, Any]
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ProfileSummary:
    """A list entry: enough to pick a profile and to compare-and-set on it."""

    name: str
    version: int
    updated_at: datetime


def validate_profile_name(name: str) -> str:
    """Return `name` unchanged if it follows the naming rule; raise InvalidProfileName otherwise."""
    if not isinstance(name, str):
        raise InvalidProfileName(f"name: {_NAME_RULE}; got a {type(name).__name__}")
    if (
        not 1 <= len(name) <= MAX_NAME_LENGTH
        or name[0] == " "
        or name[-1] == " "
        or not all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in name)
    ):
        shown = repr(name) if len(name) <= MAX_NAME_LENGTH else f"{name[:MAX_NAME_LENGTH]!r}… ({len(name)} characters)"
        raise InvalidProfileName(f"name: {_NAME_RULE}; got {shown}")
    return name


# --------------------------------------------------------------------------- interface


class ProfileStore(abc.ABC):
    """Named, versioned profiles with compare-and-set updates and a remembered default."""

    @abc.abstractmethod
    def save(
        self,
        name: str,
        config: dict[str, Any],
        offset: float,
        statistics: dict[str, Any],
        notes: str = "",
        expected_version: int | None = None,
    ) -> StoredProfile:
        """Create or update a profile; durable once it returns.

        expected_version None upserts, 0 creates only (ProfileExists), n > 0 updates only
        from version n (VersionConflict otherwise, current_version None if missing).
        """

    @abc.abstractmethod
    def get(self, name: str) -> StoredProfile:
        """The profile called `name`; ProfileNotFound if there is none."""

    @abc.abstractmethod
    def list(self, page_size: int = 50, page_token: str = "") -> tuple[builtins.list[ProfileSummary], str]:
        """One page of profiles ordered by name, and the token of the next page ("" at the end)."""

    @abc.abstractmethod
    def delete(self, name: str, expected_version: int | None = None) -> None:
        """Delete a profile (only from `expected_version` if given)."""

    @abc.abstractmethod
    def set_default(self, name: str | None) -> None:
        """Remember `name` as the default profile (None clears it)."""

    @abc.abstractmethod
    def get_default(self) -> str | None:
        """The default profile's name, or None (also once that profile is deleted)."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release every resource; further calls raise StoreError."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


# --------------------------------------------------------------------------- argument checks


def _check_expected_version(expected_version: int | None, *, allow_zero: bool) -> None:
    if expected_version is None:
        return
    lowest = 0 if allow_zero else 1
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version < lowest:
        raise ValueError(f"expected_version: must be None or an integer ≥ {lowest}; got {expected_version!r}")


def _to_json(field_name: str, value: dict[str, Any]) -> str:
    if not isinstance(value, dict):
        raise ValueError(f"{field_name}: must be a JSON object (dict); got a {type(value).__name__}")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field_name}: not JSON-serialisable: {exc}") from exc


def _from_json(field_name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"stored {field_name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StoreError(f"stored {field_name} is not a JSON object")
    return value


#: Permissions of a new store file: profiles are the owner's, not every local user's.
PRIVATE_FILE_MODE = 0o600
#: The store's file name in a directory (the default location, and the hint for a directory given).
DB_FILE_NAME = "profiles.sqlite3"

#: The one character no store keeps in text (PostgreSQL cannot), and what is said of it.
NUL = "\x00"
NO_NUL = "must not contain NUL (U+0000) characters"


def _check_offset(offset: float) -> float:
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
        raise ValueError(f"offset: must be a finite number; got {offset!r}")
    return float(offset)


def _check_save_arguments(
    name: str,
    config: dict[str, Any],
    offset: float,
    statistics: dict[str, Any],
    notes: str,
    to_json: Callable[[str, dict[str, Any]], str] = _to_json,
) -> tuple[str, str, float]:
    """save()'s checks, in the same order for every store: the config and statistics as the
    store's JSON text, and the offset as a float."""
    validate_profile_name(name)
    config_json = to_json("config", config)
    statistics_json = to_json("statistics", statistics)
    offset = _check_offset(offset)
    if not isinstance(notes, str):
        raise ValueError(f"notes: must be a string; got a {type(notes).__name__}")
    if NUL in notes:  # PostgreSQL text cannot hold it; every store refuses it alike
        raise ValueError(f"notes: {NO_NUL}")
    return config_json, statistics_json, offset


def _timestamp(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _parse_timestamp(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _encode_page_token(last_name: str) -> str:
    return base64.urlsafe_b64encode(_PAGE_TOKEN_PREFIX + last_name.encode("utf-8")).decode("ascii")


def _decode_page_token(token: str) -> str:
    malformed = ValueError(f"page_token: malformed token {token!r}; pass back a next_page_token exactly as returned")
    if not isinstance(token, str):
        raise ValueError(f"page_token: must be a string; got a {type(token).__name__}")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        if not raw.startswith(_PAGE_TOKEN_PREFIX):
            raise malformed
        return validate_profile_name(raw[len(_PAGE_TOKEN_PREFIX) :].decode("utf-8"))
    except (UnicodeError, binascii.Error, InvalidProfileName) as exc:
        raise malformed from exc


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True, slots=True)
class _Migration:
    version: int
    description: str
    statements: tuple[str, ...]


# Append only: a released migration is never edited, since databases already carry it.
# Each statement runs on its own (executescript would COMMIT the migration transaction).
_MIGRATIONS: tuple[_Migration, ...] = (
    _Migration(
        1,
        "profiles table",
        (
            """CREATE TABLE schema_migrations (
                version     INTEGER PRIMARY KEY,
                description TEXT NOT NULL,
                applied_at  TEXT NOT NULL
            )""",
            # "offset" is an SQL keyword, hence lr_offset.
            """CREATE TABLE profiles (
                name        TEXT PRIMARY KEY NOT NULL,
                config      TEXT NOT NULL,
                lr_offset   REAL NOT NULL,
                statistics  TEXT NOT NULL,
                notes       TEXT NOT NULL DEFAULT '',
                version     INTEGER NOT NULL CHECK (version >= 1),
                created_at  TEXT NOT NULL,
                updated_at  TEXT NOT NULL
            )""",
        ),
    ),
    _Migration(
        2,
        "settings table with the default profile",
        (
            # One row; the foreign key clears the default when its profile is deleted.
            """CREATE TABLE settings (
                id              INTEGER PRIMARY KEY CHECK (id = 1),
                default_profile TEXT REFERENCES profiles (name) ON DELETE SET NULL ON UPDATE CASCADE
            )""",
            "INSERT INTO settings (id, default_profile) VALUES (1, NULL)",
        ),
    ),
)

#: The schema version this code writes; databases at a higher version are refused.
SCHEMA_VERSION: int = _MIGRATIONS[-1].version

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
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"profile store {self.path}: cannot create its directory: {exc}") from exc
        if self.path.is_dir():
            raise StoreError(f"profile store {self.path}: is a directory; name a file, e.g. {self.path / DB_FILE_NAME}")
        self._create_private()
        try:
            self._migrate()
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
        deadline = time.monotonic() + self._busy_timeout_ms / 1000
        delay = 0.001
        while True:
            try:
                return str(conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.05)

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
        deadline = time.monotonic() + timeout
        if not self._write_lock.acquire(timeout=timeout):
            raise StoreBusy(f"profile store {self.path}: timed out waiting for other writers in this process")
        try:
            with self._connection() as conn:
                self._begin_immediate(conn, deadline)
                try:
                    yield conn
                    conn.execute("COMMIT")
                except BaseException:
                    if conn.in_transaction:
                        conn.execute("ROLLBACK")
                    raise
        finally:
            self._write_lock.release()

    def _begin_immediate(self, conn: sqlite3.Connection, deadline: float) -> None:
        # busy_timeout already waits inside SQLite; some BUSY results (e.g. during WAL
        # recovery by another process) skip the busy handler, so retry until the deadline.
        delay = 0.001
        while True:
            try:
                conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() >= deadline:
                    raise
            time.sleep(delay * (1 + random.random()))
            delay = min(delay * 2, 0.05)

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
            for migration in _MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.statements:
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
            raise ValueError(f"page_size: must be an integer from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")
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

    def close(self) -> None:
        with self._registry_lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for connection in connections:
            connection.close()


# --------------------------------------------------------------------------- choosing a backend

_POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | os.PathLike[str]) -> ProfileStore:
    """Open the profile store at `location`: a ``postgresql://`` URL or the path of a SQLite file.

    psycopg is imported only for a URL, so SQLite users need not have it installed.
    """
    text = os.fspath(location)
    if not isinstance(text, str):
        raise ValueError(f"location: must be a str path or URL; got {type(text).__name__}")
    scheme = text[: text.find(":") + 1].lower() if ":" in text else ""
    if text.lower().startswith(_POSTGRES_SCHEMES):
        try:
            from ._store_postgres import PostgresProfileStore
        except ImportError as exc:
            raise StoreError(
                f"profile store: a PostgreSQL URL needs psycopg 3 and psycopg_pool ({exc}); "
                "install them with: pip install 'psycopg[binary]' psycopg_pool"
            ) from exc
        return PostgresProfileStore(text)
    if scheme in ("postgresql:", "postgres:"):
        # pathlib collapses "//", so a URL that went through Path arrives as "postgresql:/host/…".
        raise ValueError(f"location: {scheme}// URL expected (was it passed through pathlib.Path?); got {scheme}/…")
    return SQLiteProfileStore(text)
