"""Profile store: named, versioned training configurations kept in SQLite or PostgreSQL.

open_store() picks the backend from the location: a ``postgresql://`` URL opens the shared
PostgresProfileStore (engine_server.store._postgres, psycopg 3), anything else a SQLite file.
Both follow the one ProfileStore contract and raise the same errors:

StoreError
├── InvalidProfileName   the name breaks the naming rule (also a ValueError)
├── ProfileNotFound      no profile of that name (also a KeyError)
├── ProfileExists        create-only save over an existing name
├── VersionConflict      compare-and-set failed: the profile is at another version
├── RunNotFound          no run of that id (also a KeyError)
└── StoreBusy            the database stayed locked for longer than the busy timeout

Runs (the run log) live in the same store: each belongs to a named log, gets an id counting up
from 1, and a batch of runs (an imported CSV) is recorded in one transaction, all or nothing.

The contract lives in ``_contract``, the backends in ``_sqlite`` and ``_postgres``.
"""

from __future__ import annotations

import os

from ._contract import (
    DB_FILE_NAME,
    DEFAULT_LOG,
    MAX_NAME_LENGTH,
    MAX_PAGE_SIZE,
    NO_NUL,
    NUL,
    PRIVATE_FILE_MODE,
    InvalidProfileName,
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
    validate_log_name,
    validate_profile_name,
)
from ._migrations import SCHEMA_VERSION
from ._sqlite import SQLiteProfileStore

__all__ = [
    "DB_FILE_NAME",
    "DEFAULT_LOG",
    "MAX_NAME_LENGTH",
    "MAX_PAGE_SIZE",
    "NO_NUL",
    "NUL",
    "PRIVATE_FILE_MODE",
    "SCHEMA_VERSION",
    "InvalidProfileName",
    "NewRun",
    "ProfileExists",
    "ProfileNotFound",
    "ProfileStore",
    "ProfileSummary",
    "RunNotFound",
    "SQLiteProfileStore",
    "StoreBusy",
    "StoreError",
    "StoredProfile",
    "StoredRun",
    "VersionConflict",
    "open_store",
    "validate_log_name",
    "validate_profile_name",
]

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
            from ._postgres import PostgresProfileStore
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
