"""The stores' schema: one list of migrations, each with its SQL for SQLite and for PostgreSQL.

Append only: a released migration is never edited, since databases already carry it. Both stores
apply the same list, so they report the same schema version; a step one store does not need has no
statements for it (it is recorded all the same). Each statement runs on its own (SQLite's
executescript would COMMIT the migration's transaction).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Migration:
    """One step of the schema: its version, what it adds, and the statements in each SQL dialect."""

    version: int
    description: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "profiles table",
        sqlite=(
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
        postgres=(
            """CREATE TABLE lrtool_schema_migrations (
                version     integer PRIMARY KEY,
                description text NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT clock_timestamp()
            )""",
            # COLLATE "C": byte order, as SQLite's BINARY collation. "offset" is a keyword, hence lr_offset.
            """CREATE TABLE lrtool_profiles (
                name        text COLLATE "C" PRIMARY KEY CHECK (char_length(name) BETWEEN 1 AND 128),
                config      jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
                lr_offset   double precision NOT NULL
                            CHECK (lr_offset > '-Infinity'::float8 AND lr_offset < 'Infinity'::float8),
                statistics  jsonb NOT NULL CHECK (jsonb_typeof(statistics) = 'object'),
                notes       text NOT NULL DEFAULT '',
                version     bigint NOT NULL CHECK (version >= 1),
                created_at  timestamptz NOT NULL,
                updated_at  timestamptz NOT NULL,
                CHECK (updated_at >= created_at)
            )""",
        ),
    ),
    Migration(
        2,
        "settings table with the default profile",
        sqlite=(
            # One row; the foreign key clears the default when its profile is deleted.
            """CREATE TABLE settings (
                id              INTEGER PRIMARY KEY CHECK (id = 1),
                default_profile TEXT REFERENCES profiles (name) ON DELETE SET NULL ON UPDATE CASCADE
            )""",
            "INSERT INTO settings (id, default_profile) VALUES (1, NULL)",
        ),
        postgres=(
            # One row; the foreign key clears the default when its profile is deleted.
            """CREATE TABLE lrtool_settings (
                id              integer PRIMARY KEY CHECK (id = 1),
                default_profile text COLLATE "C"
                                REFERENCES lrtool_profiles (name) ON DELETE SET NULL ON UPDATE CASCADE
            )""",
            "INSERT INTO lrtool_settings (id, default_profile) VALUES (1, NULL)",
        ),
    ),
    Migration(
        3,
        "runs table (the run log)",
        sqlite=(
            # AUTOINCREMENT: a deleted run's id is never given to another run.
            # loss: little-endian float64s (NaN and infinities kept exactly).
            """CREATE TABLE runs (
                id            INTEGER PRIMARY KEY AUTOINCREMENT,
                log           TEXT NOT NULL,
                model         TEXT NOT NULL,
                config        TEXT NOT NULL,
                learning_rate REAL NOT NULL CHECK (learning_rate > 0),
                outcome       TEXT NOT NULL,
                best_step     INTEGER CHECK (best_step >= 1),
                notes         TEXT NOT NULL DEFAULT '',
                loss          BLOB NOT NULL,
                recorded_at   TEXT NOT NULL
            )""",
            # Lists and learning read one log, newest or oldest first.
            "CREATE INDEX runs_by_log ON runs (log, id)",
        ),
        postgres=(
            # An identity column never hands a deleted run's id to another run.
            # loss: float8[] keeps NaN and infinities exactly.
            """CREATE TABLE lrtool_runs (
                id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                log           text COLLATE "C" NOT NULL CHECK (char_length(log) BETWEEN 1 AND 128),
                model         text NOT NULL,
                config        jsonb NOT NULL CHECK (jsonb_typeof(config) = 'object'),
                learning_rate double precision NOT NULL
                              CHECK (learning_rate > 0 AND learning_rate < 'Infinity'::float8),
                outcome       text NOT NULL,
                best_step     bigint CHECK (best_step >= 1),
                notes         text NOT NULL DEFAULT '',
                loss          double precision[] NOT NULL,
                recorded_at   timestamptz NOT NULL
            )""",
            # Lists and learning read one log, newest or oldest first.
            "CREATE INDEX lrtool_runs_by_log ON lrtool_runs (log, id)",
        ),
    ),
    Migration(
        4,
        "a count of the changes to the runs (PostgreSQL)",
        # SQLite needs none: its servers watch the WAL-index header, which every commit rewrites.
        sqlite=(),
        postgres=(
            # One row that every statement changing the runs moves, whoever runs it: a server keeps what
            # it learned from a log while the count stands, instead of reading the log on every call.
            """CREATE TABLE lrtool_run_changes (
                id      integer PRIMARY KEY CHECK (id = 1),
                changes bigint NOT NULL
            )""",
            "INSERT INTO lrtool_run_changes (id, changes) VALUES (1, 0)",
            # FROM CURRENT: the function finds the table in the store's own schema, whoever calls it.
            """CREATE FUNCTION lrtool_count_run_changes() RETURNS trigger LANGUAGE plpgsql
                SET search_path FROM CURRENT
                AS $$ BEGIN UPDATE lrtool_run_changes SET changes = changes + 1 WHERE id = 1; RETURN NULL; END $$""",
            """CREATE TRIGGER lrtool_runs_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON lrtool_runs
                FOR EACH STATEMENT EXECUTE PROCEDURE lrtool_count_run_changes()""",
        ),
    ),
)

#: The schema version this code writes; databases at a higher version are refused.
SCHEMA_VERSION: int = MIGRATIONS[-1].version
