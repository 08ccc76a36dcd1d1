"""Profile store on PostgreSQL (psycopg 3), so several engine replicas can share one store.

Same contract as SQLiteProfileStore. Every save and delete is a single statement, so a single
transaction: ``INSERT … ON CONFLICT`` for creates and upserts, ``UPDATE … WHERE version = n``
for compare-and-set. A concurrent writer of the same row makes PostgreSQL wait for it and then
re-check the condition on the new row, so no update is ever lost; a save is durable once it
returns (COMMIT with ``synchronous_commit`` on). Deadlocks and serialization failures are
retried; a lock or a pooled connection not obtained within the busy timeout raises StoreBusy.

Tables are prefixed ``lrtool_`` (the database may be shared with other applications) and live
in the connection's current schema, or in ``schema`` if one is given. Names are ``COLLATE "C"``:
byte order of UTF-8, which is code-point order, exactly as in SQLite and Python.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import errors as pg_errors
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import TupleRow
from psycopg_pool import ConnectionPool, PoolClosed, PoolTimeout

from ._contract import (
    MAX_PAGE_SIZE,
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
    _refused,
    _run_key,
    _to_json,
    validate_log_name,
    validate_profile_name,
)
from ._migrations import MIGRATIONS, SCHEMA_VERSION

__all__ = ["PostgresProfileStore"]

_T = TypeVar("_T")
_Mode = Literal["read", "write", "transaction"]
_Connection = psycopg.Connection[TupleRow]

_URL_SCHEMES = ("postgresql://", "postgres://")
#: First key of the two-key advisory lock that serialises migrations ("LRT1"); the second is the schema.
_ADVISORY_LOCK_CLASS = 0x4C525431
_MAX_RACES = 100

_PROFILE_COLUMNS = "name, config::text, lr_offset, statistics::text, notes, version, created_at, updated_at"
# statement_timestamp(): one value for created_at and updated_at, from the clock every replica shares.
_NEW_ROW = (
    "INSERT INTO lrtool_profiles (name, config, lr_offset, statistics, notes, version, created_at, updated_at)"
    " VALUES (%s, %s::jsonb, %s, %s::jsonb, %s, 1, statement_timestamp(), statement_timestamp())"
)
_UPSERT = (
    f"{_NEW_ROW} ON CONFLICT (name) DO UPDATE SET config = EXCLUDED.config, lr_offset = EXCLUDED.lr_offset,"
    " statistics = EXCLUDED.statistics, notes = EXCLUDED.notes, version = lrtool_profiles.version + 1,"
    # greatest(): updated_at never runs backwards behind the stored one (clock steps).
    " updated_at = greatest(EXCLUDED.updated_at, lrtool_profiles.updated_at)"
    f" RETURNING {_PROFILE_COLUMNS}"
)
_INSERT = f"{_NEW_ROW} ON CONFLICT (name) DO NOTHING RETURNING {_PROFILE_COLUMNS}"
_UPDATE = (
    "UPDATE lrtool_profiles SET config = %s::jsonb, lr_offset = %s, statistics = %s::jsonb, notes = %s,"
    " version = version + 1, updated_at = greatest(statement_timestamp(), updated_at)"
    f" WHERE name = %s AND version = %s RETURNING {_PROFILE_COLUMNS}"
)


# --------------------------------------------------------------------------- schema


_TABLES = ("lrtool_schema_migrations", "lrtool_profiles", "lrtool_settings", "lrtool_runs", "lrtool_run_changes")
_KEYS = (
    ("lrtool_schema_migrations", "p", "primary key"),
    ("lrtool_profiles", "p", "primary key"),
    ("lrtool_settings", "p", "primary key"),
    ("lrtool_settings", "f", "foreign key to lrtool_profiles"),
    ("lrtool_runs", "p", "primary key"),
    ("lrtool_run_changes", "p", "primary key"),
)
_RUN_COLUMNS = "id, log, model, config::text, learning_rate, outcome, best_step, notes, loss, recorded_at"


# --------------------------------------------------------------------------- values


def _to_jsonb_text(field_name: str, value: dict[str, Any]) -> str:
    """JSON text for a jsonb column that reads back as the same Python values.

    Validation (and its error messages) is the SQLite store's; the value is then re-encoded
    because jsonb keeps numbers as numeric and prints them without an exponent, so 1e+20 would
    come back as the integer 100000000000000000000. Floats are therefore written positionally
    with a decimal point, which jsonb keeps.
    """
    canonical: Any = json.loads(_to_json(field_name, value))
    parts: builtins.list[str] = []
    _encode(field_name, canonical, parts)
    return "".join(parts)


def _encode(field_name: str, value: Any, out: builtins.list[str]) -> None:
    if isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(_encode_string(field_name, key))
            out.append(":")
            _encode(field_name, item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(field_name, item, out)
        out.append("]")
    elif isinstance(value, str):
        out.append(_encode_string(field_name, value))
    elif isinstance(value, float):
        text = format(Decimal(repr(value)), "f")  # shortest round-trip digits, no exponent
        out.append(text if "." in text else text + ".0")
    else:  # int, bool, None: json.dumps already writes what jsonb reads back unchanged
        out.append(json.dumps(value))


def _encode_string(field_name: str, text: str) -> str:
    # jsonb (like every PostgreSQL text) cannot hold U+0000; refuse it instead of a server error.
    if "\x00" in text:
        raise _refused(field_name, "strings must not contain NUL (U+0000) characters in a PostgreSQL store")
    return json.dumps(text, ensure_ascii=False)


def _from_jsonb_text(field_name: str, text: str) -> dict[str, Any]:
    try:
        # jsonb orders keys by length first; sort them as the SQLite store's JSON does.
        value = json.loads(text, object_pairs_hook=lambda pairs: dict(sorted(pairs)))
    except ValueError as exc:
        raise StoreError(f"stored {field_name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StoreError(f"stored {field_name} is not a JSON object")
    return value


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _fetch(cursor: psycopg.Cursor[TupleRow]) -> tuple[Any, ...]:
    row = cursor.fetchone()
    if row is None:  # RETURNING of an INSERT … ON CONFLICT DO UPDATE always yields the row
        raise StoreError("the database returned no row for an upsert")
    return row


def _profile(row: tuple[Any, ...]) -> StoredProfile:
    return StoredProfile(
        name=str(row[0]),
        config=_from_jsonb_text("config", row[1]),
        offset=float(row[2]),
        statistics=_from_jsonb_text("statistics", row[3]),
        notes=str(row[4]),
        version=int(row[5]),
        created_at=_utc(row[6]),
        updated_at=_utc(row[7]),
    )


def _run(row: tuple[Any, ...]) -> StoredRun:
    return StoredRun(
        id=str(row[0]),
        log=str(row[1]),
        model=str(row[2]),
        config=_from_jsonb_text("config", row[3]),
        learning_rate=float(row[4]),
        outcome=str(row[5]),
        best_step=None if row[6] is None else int(row[6]),
        notes=str(row[7]),
        loss=tuple(float(value) for value in row[8]),
        recorded_at=_utc(row[9]),
    )


def _refuse_nul(field_name: str, text: str) -> None:
    # PostgreSQL text cannot hold U+0000; refuse it instead of a server error.
    if "\x00" in text:
        raise _refused(field_name, "must not contain NUL (U+0000) characters in a PostgreSQL store")


# --------------------------------------------------------------------------- URLs


def _scrub(text: str, secrets: builtins.list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _passwords(url: str) -> builtins.list[str]:
    """Every spelling of the URL's password that an error message could echo."""
    found: builtins.list[str] = []
    try:
        split = urlsplit(url)
        raw = split.netloc.rpartition("@")[0].partition(":")[2] if "@" in split.netloc else ""
        query = split.query
    except ValueError:
        return found
    if raw:
        found += [raw, unquote(raw)]
    for key, _, value in (item.partition("=") for item in query.split("&")):
        if key == "password" and value:
            found += [value, unquote(value)]
    return sorted(set(found), key=len, reverse=True)  # longer first, so no partial replacement


# --------------------------------------------------------------------------- the store


class PostgresProfileStore(ProfileStore):
    """ProfileStore on a PostgreSQL database, through a pool of psycopg 3 connections."""

    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout_ms: int = 10_000,
        connect_timeout_s: int = 10,
        min_connections: int = 1,
        max_connections: int = 10,
    ) -> None:
        if not isinstance(url, str) or not url.lower().startswith(_URL_SCHEMES):
            raise ValueError("url: must be a postgresql:// (or postgres://) URL")
        if isinstance(busy_timeout_ms, bool) or not isinstance(busy_timeout_ms, int) or busy_timeout_ms < 0:
            raise ValueError(f"busy_timeout_ms: must be an integer ≥ 0; got {busy_timeout_ms!r}")
        if isinstance(connect_timeout_s, bool) or not isinstance(connect_timeout_s, int) or connect_timeout_s < 1:
            raise ValueError(f"connect_timeout_s: must be an integer ≥ 1; got {connect_timeout_s!r}")
        if not (isinstance(min_connections, int) and isinstance(max_connections, int)) or not (
            0 <= min_connections <= max_connections and max_connections >= 1
        ):
            raise ValueError(
                "min_connections, max_connections: need 0 ≤ min ≤ max and max ≥ 1; "
                f"got {min_connections!r}, {max_connections!r}"
            )
        if schema is not None and (
            not isinstance(schema, str) or not schema or len(schema.encode("utf-8")) > 63 or "\x00" in schema
        ):
            raise ValueError(f"schema: must be a PostgreSQL identifier of 1–63 bytes; got {schema!r}")

        self._secrets = _passwords(url)
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error as exc:
            # from None: libpq's message, and so the chained exception, may quote the password.
            raise StoreError(
                f"profile store: invalid PostgreSQL URL {_scrub(url, self._secrets)}: {_scrub(str(exc), self._secrets)}"
            ) from None
        self._secrets = sorted({*self._secrets, str(params.get("password") or "")}, key=len, reverse=True)
        self.schema = schema
        #: The database without its password, for logs and messages (the URL itself may hold a password).
        self.description = self._describe(params)
        self._where = f"profile store {self.description}"
        self._busy_timeout = busy_timeout_ms / 1000
        self._lock_timeout_ms = max(busy_timeout_ms, 1)  # lock_timeout 0 would mean "wait forever"
        self._max_connections = max_connections
        self._closed = False
        self._close_lock = threading.Lock()
        kwargs: dict[str, Any] = {"autocommit": True, "client_encoding": "UTF8"}
        if "connect_timeout" not in params:
            kwargs["connect_timeout"] = connect_timeout_s
        if "application_name" not in params:
            kwargs["application_name"] = "lrtool"

        # A direct first connection: its failure says why (a pool would only time out).
        try:
            first = psycopg.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(f"{self._where}: cannot connect: {self._message(exc)}") from exc
        try:
            with first:
                self._configure(first)
                self._migrate(first)
        except psycopg.Error as exc:
            raise StoreError(f"{self._where}: {self._message(exc)}") from exc

        self._pool: ConnectionPool[_Connection] = ConnectionPool(
            url,
            kwargs=kwargs,
            min_size=min_connections,
            max_size=max_connections,
            configure=self._configure,
            timeout=self._busy_timeout,
            name="lrtool-profiles",
            open=False,
        )
        try:
            self._pool.open(wait=min_connections > 0, timeout=float(connect_timeout_s))
        except PoolTimeout as exc:
            self._pool.close()
            raise StoreError(f"{self._where}: cannot open {min_connections} pooled connection(s)") from exc

    @staticmethod
    def _describe(params: dict[str, Any]) -> str:
        user = params.get("user")
        host = params.get("host") or params.get("hostaddr") or "localhost"
        port = f":{params['port']}" if params.get("port") else ""
        return f"postgresql://{f'{user}@' if user else ''}{host}{port}/{params.get('dbname') or ''}"

    def __repr__(self) -> str:
        return f"PostgresProfileStore({self.description!r}, schema={self.schema!r})"

    def _message(self, exc: BaseException) -> str:
        # One line, and never the password (libpq does not print it, but a URL typo could).
        return _scrub(" ".join(str(exc).split()), self._secrets)

    # ---------------------------------------------------------------- connections

    def _configure(self, conn: _Connection) -> None:
        """Session settings of every connection (autocommit, so they outlive any transaction)."""
        search_path = "" if self.schema is None else sql.Identifier(self.schema).as_string(conn)
        conn.execute(
            "SELECT set_config('lock_timeout', %s, false), set_config('TimeZone', 'UTC', false),"
            # A server configured with synchronous_commit=off would acknowledge writes it can still lose.
            " CASE WHEN current_setting('synchronous_commit') = 'off'"
            " THEN set_config('synchronous_commit', 'on', false) END,"
            " CASE WHEN %s <> '' THEN set_config('search_path', %s, false) END",
            (f"{self._lock_timeout_ms:d}ms", search_path, search_path),
        )

    def _run(self, body: Callable[[_Connection], _T], *, mode: _Mode) -> _T:
        """Run `body` on a pooled connection; map errors; retry what is safe to retry.

        mode "read": autocommit statements that change nothing, so any failure may be retried.
        mode "write": autocommit statements, each its own transaction. The connection is probed
        first, so a stale pooled one (e.g. the server restarted since) is replaced before anything
        is sent; a connection lost after that leaves the write's fate unknown, so that is reported.
        mode "transaction": `body` runs inside BEGIN … COMMIT; a failure before COMMIT is retried.
        Deadlocks and serialization failures roll the transaction back, so they are retried too.
        """
        if self._closed:
            raise StoreError(f"{self._where} is closed")
        backoff = Backoff(self._busy_timeout)
        while True:
            unsure = False  # True once a write may have reached the server
            conn: _Connection | None = None
            try:
                with self._pool.connection(timeout=max(backoff.remaining(), 0.001)) as conn:
                    if mode == "read":
                        return body(conn)
                    if mode == "write":
                        conn.execute("")  # the probe: an empty query, one round trip
                        unsure = True
                        return body(conn)
                    with conn.transaction():
                        result = body(conn)
                        unsure = True  # leaving the block sends COMMIT
                    return result
            except PoolTimeout as exc:
                raise StoreBusy(
                    f"{self._where}: no database connection within {self._busy_timeout:g} s "
                    f"(server unreachable, or all {self._max_connections} connections busy): {self._message(exc)}"
                ) from exc
            except PoolClosed as exc:
                raise StoreError(f"{self._where} is closed") from exc
            except (pg_errors.SerializationFailure, pg_errors.DeadlockDetected) as exc:
                # The server rolled the whole transaction back: running it again is safe.
                if backoff.expired():
                    raise StoreBusy(f"{self._where}: transaction kept conflicting: {self._message(exc)}") from exc
            except psycopg.OperationalError as exc:
                broken = conn is not None and conn.broken
                if broken and unsure:
                    raise StoreBusy(
                        f"{self._where}: connection lost during a write, which may or may not have been applied "
                        f"(read it back): {self._message(exc)}"
                    ) from exc
                if not broken or backoff.expired():
                    # lock_timeout, statement cancelled, server shutting down, …: all passing trouble.
                    raise StoreBusy(f"{self._where}: {self._message(exc)}") from exc
                backoff.delay = 0.0  # a stale pooled connection: the next one is likely fine
            except psycopg.Error as exc:
                raise StoreError(f"{self._where}: {self._message(exc)}") from exc
            backoff.wait()

    # ---------------------------------------------------------------- schema

    def _migrate(self, conn: _Connection) -> None:
        if self._read_version(conn) == SCHEMA_VERSION:
            return
        with conn.transaction():
            scope = self.schema
            if scope is None:
                row = conn.execute("SELECT current_schema()").fetchone()
                scope = "" if row is None or row[0] is None else str(row[0])
            # Replicas starting together queue here; each re-reads the version once it holds the lock.
            conn.execute("SELECT pg_advisory_xact_lock(%s, hashtext(%s))", (_ADVISORY_LOCK_CLASS, scope))
            if self.schema is not None:
                exists = conn.execute("SELECT to_regnamespace(%s) IS NOT NULL", (self.schema,)).fetchone()
                if not (exists and exists[0]):
                    conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(self.schema)))
            current = self._read_version(conn)
            if current > SCHEMA_VERSION:
                raise StoreError(
                    f"{self._where} has schema version {current}, newer than this LRTool supports "
                    f"({SCHEMA_VERSION}); upgrade LRTool or use another database or schema"
                )
            for migration in MIGRATIONS:
                if migration.version <= current:
                    continue
                for statement in migration.postgres:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO lrtool_schema_migrations (version, description) VALUES (%s, %s)",
                    (migration.version, migration.description),
                )

    @staticmethod
    def _read_version(conn: _Connection) -> int:
        row = conn.execute("SELECT to_regclass('lrtool_schema_migrations') IS NOT NULL").fetchone()
        if not (row and row[0]):
            return 0
        row = conn.execute("SELECT coalesce(max(version), 0) FROM lrtool_schema_migrations").fetchone()
        return 0 if row is None else int(row[0])

    def schema_version(self) -> int:
        """The highest migration recorded in the database (0 for an empty one)."""
        return self._run(self._read_version, mode="read")

    def integrity_check(self) -> str:
        """ "ok" if the tables, constraints and rows are as the migrations left them; the problems otherwise."""

        def check(conn: _Connection) -> builtins.list[str]:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")  # one snapshot
            missing = [
                table
                for table in _TABLES
                if not (row := conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()) or not row[0]
            ]
            if missing:
                return [f"missing table {table}" for table in missing]
            problems: builtins.list[str] = []
            versions = [int(row[0]) for row in conn.execute("SELECT version FROM lrtool_schema_migrations ORDER BY 1")]
            if versions != list(range(1, SCHEMA_VERSION + 1)):
                problems.append(f"applied migrations {versions}, expected 1…{SCHEMA_VERSION}")
            tables = list(_TABLES)
            for table, kind, label in _KEYS:
                row = conn.execute(
                    'SELECT count(*) FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = %s::"char"',
                    (table, kind),
                ).fetchone()
                if not row or row[0] != 1:
                    problems.append(f"{table} lacks its {label}")
            for row in conn.execute(
                "SELECT conrelid::regclass::text, conname FROM pg_constraint"
                " WHERE conrelid = ANY (%s::regclass[]) AND NOT convalidated",
                (tables,),
            ):
                problems.append(f"constraint {row[1]} on {row[0]} is not validated")
            for row in conn.execute(
                "SELECT indexrelid::regclass::text FROM pg_index"
                " WHERE indrelid = ANY (%s::regclass[])"
                " AND NOT (indisvalid AND indisready)",
                (tables,),
            ):
                problems.append(f"index {row[0]} is invalid")
            for row in conn.execute(
                "SELECT name FROM lrtool_profiles WHERE NOT (version >= 1 AND updated_at >= created_at"
                " AND jsonb_typeof(config) = 'object' AND jsonb_typeof(statistics) = 'object'"
                " AND char_length(name) BETWEEN 1 AND 128) ORDER BY name LIMIT 20"
            ):
                problems.append(f"profile {row[0]!r} breaks a row constraint")
            for table in ("lrtool_settings", "lrtool_run_changes"):
                ids = [row[0] for row in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
                if ids != [1]:
                    problems.append(f"{table} has rows {ids}, expected exactly [1]")
            row = conn.execute(
                "SELECT count(*) FROM pg_trigger WHERE tgrelid = to_regclass('lrtool_runs')"
                " AND tgname = 'lrtool_runs_changed' AND tgenabled <> 'D'"
            ).fetchone()
            if not row or row[0] != 1:
                problems.append("lrtool_runs lacks its enabled trigger lrtool_runs_changed (servers miss changes)")
            for row in conn.execute(
                "SELECT s.default_profile FROM lrtool_settings AS s WHERE s.default_profile IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM lrtool_profiles AS p WHERE p.name = s.default_profile)"
            ):
                problems.append(f"default profile {row[0]!r} does not exist")
            return problems

        problems = self._run(check, mode="transaction")
        return "\n".join(problems) if problems else "ok"

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
        config_json, statistics_json, offset = _check_save_arguments(
            name, config, offset, statistics, notes, to_json=_to_jsonb_text
        )
        _check_expected_version(expected_version, allow_zero=True)

        parameters = (name, config_json, offset, statistics_json, notes)

        def write(conn: _Connection) -> StoredProfile:
            # Each case is one statement, so one atomic transaction: row locks and PostgreSQL's
            # re-check of a row changed by a concurrent writer make the version test and the write one step.
            for _ in range(_MAX_RACES):
                if expected_version is None:
                    return _profile(_fetch(conn.execute(_UPSERT, parameters)))
                if expected_version == 0:
                    created = conn.execute(_INSERT, parameters).fetchone()
                    if created is None:
                        raise ProfileExists(name)
                    return _profile(created)
                updated = conn.execute(
                    _UPDATE, (config_json, offset, statistics_json, notes, name, expected_version)
                ).fetchone()
                if updated is not None:
                    return _profile(updated)
                row = conn.execute("SELECT version FROM lrtool_profiles WHERE name = %s", (name,)).fetchone()
                current = None if row is None else int(row[0])
                if current != expected_version:
                    raise VersionConflict(name, expected_version, current)
                # Back at the expected version by now (deleted and re-created): the UPDATE decides again.
            raise StoreBusy(f"{self._where}: profile {name!r} kept changing under a compare-and-set")

        return self._run(write, mode="write")

    def get(self, name: str) -> StoredProfile:
        validate_profile_name(name)
        row = self._run(
            lambda conn: conn.execute(
                f"SELECT {_PROFILE_COLUMNS} FROM lrtool_profiles WHERE name = %s", (name,)
            ).fetchone(),
            mode="read",
        )
        if row is None:
            raise ProfileNotFound(name)
        return _profile(row)

    def list(self, page_size: int = 50, page_token: str = "") -> tuple[builtins.list[ProfileSummary], str]:
        if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
            raise _refused("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")
        after = _decode_page_token(page_token) if page_token else None

        def read(conn: _Connection) -> builtins.list[tuple[Any, ...]]:
            # The column's "C" collation makes both > and ORDER BY code-point order, using the primary key.
            if after is None:
                return conn.execute(
                    "SELECT name, version, updated_at FROM lrtool_profiles ORDER BY name LIMIT %s", (page_size + 1,)
                ).fetchall()
            return conn.execute(
                "SELECT name, version, updated_at FROM lrtool_profiles WHERE name > %s ORDER BY name LIMIT %s",
                (after, page_size + 1),
            ).fetchall()

        rows = self._run(read, mode="read")
        summaries = [ProfileSummary(str(row[0]), int(row[1]), _utc(row[2])) for row in rows[:page_size]]
        next_token = _encode_page_token(summaries[-1].name) if len(rows) > page_size else ""
        return summaries, next_token

    def delete(self, name: str, expected_version: int | None = None) -> None:
        validate_profile_name(name)
        _check_expected_version(expected_version, allow_zero=False)

        def write(conn: _Connection) -> None:
            for _ in range(_MAX_RACES):
                # ON DELETE SET NULL clears the default in the same statement, so the same transaction.
                deleted = conn.execute(
                    "DELETE FROM lrtool_profiles WHERE name = %s AND (%s::bigint IS NULL OR version = %s)"
                    " RETURNING version",
                    (name, expected_version, expected_version),
                ).fetchone()
                if deleted is not None:
                    return
                row = conn.execute("SELECT version FROM lrtool_profiles WHERE name = %s", (name,)).fetchone()
                if row is None:
                    raise ProfileNotFound(name)
                if expected_version is not None and int(row[0]) != expected_version:
                    raise VersionConflict(name, expected_version, int(row[0]))
            raise StoreBusy(f"{self._where}: profile {name!r} kept changing under a delete")

        self._run(write, mode="write")

    def set_default(self, name: str | None) -> None:
        if name is not None:
            validate_profile_name(name)

        def write(conn: _Connection) -> None:
            # Lock the profile first (as delete does, before its cascade reaches the settings row),
            # so the two never wait on each other in opposite orders; KEY SHARE still lets saves run.
            if (
                name is not None
                and conn.execute("SELECT 1 FROM lrtool_profiles WHERE name = %s FOR KEY SHARE", (name,)).fetchone()
                is None
            ):
                raise ProfileNotFound(name)
            conn.execute(
                "INSERT INTO lrtool_settings (id, default_profile) VALUES (1, %s)"
                " ON CONFLICT (id) DO UPDATE SET default_profile = EXCLUDED.default_profile",
                (name,),
            )

        self._run(write, mode="transaction")

    def get_default(self) -> str | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT p.name FROM lrtool_settings AS s JOIN lrtool_profiles AS p ON p.name = s.default_profile"
                " WHERE s.id = 1"
            ).fetchone(),
            mode="read",
        )
        return None if row is None else str(row[0])

    # ---------------------------------------------------------------- runs

    def record_runs(self, runs: Sequence[NewRun]) -> builtins.list[StoredRun]:
        _check_new_runs(runs)
        rows = []
        for index, run in enumerate(runs):
            _refuse_nul(f"runs[{index}].notes", run.notes)
            rows.append(
                (
                    validate_log_name(run.log),
                    run.model,
                    _to_jsonb_text(f"runs[{index}].config", run.config),
                    run.learning_rate,
                    run.outcome,
                    run.best_step,
                    run.notes,
                    list(run.loss),
                )
            )

        def write(conn: _Connection) -> builtins.list[StoredRun]:
            # One transaction: an import is recorded whole or not at all; one timestamp for the batch.
            return [
                _run(
                    _fetch(
                        conn.execute(
                            "INSERT INTO lrtool_runs"
                            " (log, model, config, learning_rate, outcome, best_step, notes, loss, recorded_at)"
                            " VALUES (%s, %s, %s::jsonb, %s, %s, %s, %s, %s::float8[], statement_timestamp())"
                            f" RETURNING {_RUN_COLUMNS}",
                            row,
                        )
                    )
                )
                for row in rows
            ]

        return self._run(write, mode="transaction")

    def get_run(self, run_id: str) -> StoredRun:
        key = _run_key(run_id)
        row = self._run(
            lambda conn: conn.execute(f"SELECT {_RUN_COLUMNS} FROM lrtool_runs WHERE id = %s", (key,)).fetchone(),
            mode="read",
        )
        if row is None:
            raise RunNotFound(run_id)
        return _run(row)

    def list_runs(
        self, log: str, model: str = "", page_size: int = 50, page_token: str = ""
    ) -> tuple[builtins.list[StoredRun], str]:
        log = _check_run_page(log, model, page_size)
        before = _decode_run_page_token(page_token) if page_token else None
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM lrtool_runs WHERE log = %s AND (%s = '' OR model = %s)"
                " AND (%s::bigint IS NULL OR id < %s) ORDER BY id DESC LIMIT %s",
                (log, model, model, before, before, page_size + 1),
            ).fetchall(),
            mode="read",
        )
        runs = [_run(row) for row in rows[:page_size]]
        next_token = _encode_run_page_token(int(runs[-1].id)) if len(rows) > page_size else ""
        return runs, next_token

    def log_runs(self, log: str) -> builtins.list[StoredRun]:
        log = validate_log_name(log)
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT {_RUN_COLUMNS} FROM lrtool_runs WHERE log = %s ORDER BY id", (log,)
            ).fetchall(),
            mode="read",
        )
        return [_run(row) for row in rows]

    def log_version(self, log: str) -> int | None:
        """The count of changes to the runs, of every log, by any writer (a trigger keeps it): one
        read of one row, where learning from the log would read all its runs again."""
        row = self._run(
            lambda conn: conn.execute("SELECT changes FROM lrtool_run_changes WHERE id = 1").fetchone(), mode="read"
        )
        return None if row is None else int(row[0])

    def update_run(self, run_id: str, outcome: str, best_step: int | None, notes: str) -> StoredRun:
        key = _run_key(run_id)
        _check_judgement(outcome, best_step, notes)
        _refuse_nul("notes", notes)
        row = self._run(
            lambda conn: conn.execute(
                "UPDATE lrtool_runs SET outcome = %s, best_step = %s, notes = %s WHERE id = %s"
                f" RETURNING {_RUN_COLUMNS}",
                (outcome, best_step, notes, key),
            ).fetchone(),
            mode="write",
        )
        if row is None:
            raise RunNotFound(run_id)
        return _run(row)

    def delete_run(self, run_id: str) -> None:
        key = _run_key(run_id)
        deleted = self._run(
            lambda conn: conn.execute("DELETE FROM lrtool_runs WHERE id = %s RETURNING id", (key,)).fetchone(),
            mode="write",
        )
        if deleted is None:
            raise RunNotFound(run_id)

    def close(self) -> None:
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
        pool = getattr(self, "_pool", None)
        if pool is not None:
            pool.close()
