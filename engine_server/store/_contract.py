"""The store contract: errors, records, the naming rule and the ProfileStore interface, with
the checks and encodings both backends share."""

from __future__ import annotations

import abc
import array
import base64
import binascii
import builtins
import json
import math
import random
import sys
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self

from ..violations import FieldViolation, InvalidFields

MAX_NAME_LENGTH = 128
MAX_PAGE_SIZE = 1000
_NAME_PUNCTUATION = frozenset(" ._-")
_NAME_RULE = (
    f"must be 1–{MAX_NAME_LENGTH} characters of letters, digits, space, '.', '_' or '-' "
    "(not starting or ending with a space)"
)
_PAGE_TOKEN_PREFIX = b"p1:"
_RUN_PAGE_TOKEN_PREFIX = b"r1:"
#: The log a run goes to when none is named.
DEFAULT_LOG = "default"


# --------------------------------------------------------------------------- errors


class StoreError(Exception):
    """Base class of every error the profile store raises on purpose."""


class InvalidProfileName(StoreError, InvalidFields):
    """The profile name breaks the naming rule (a ValueError; `violations` names the field)."""


#: A value the store cannot keep: the ValueError every store raises, naming the argument.
_refused = InvalidFields.one


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


class RunNotFound(StoreError, KeyError):
    """No run of that id exists."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        super().__init__(f"no run with id {run_id!r}")

    def __str__(self) -> str:
        return str(self.args[0])


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


@dataclass(frozen=True, slots=True)
class NewRun:
    """A run to record: what was trained (`config`, of base model `model`), how it came out.

    `outcome` is the run log's word for it (the service's Outcome names); `loss` may hold NaN
    and infinities (a diverged run's loss is kept as it was).
    """

    log: str
    model: str
    config: dict[str, Any]
    learning_rate: float
    outcome: str
    best_step: int | None = None
    notes: str = ""
    loss: tuple[float, ...] = ()


@dataclass(frozen=True, slots=True)
class StoredRun:
    """One recorded run as read back from the store."""

    id: str
    log: str
    model: str
    config: dict[str, Any]
    learning_rate: float
    outcome: str
    best_step: int | None
    notes: str
    loss: tuple[float, ...]
    recorded_at: datetime


#: Permissions of a new store file: profiles are the owner's, not every local user's.
PRIVATE_FILE_MODE = 0o600
#: The store's file name in a directory (the default location, and the hint for a directory given).
DB_FILE_NAME = "profiles.sqlite3"

#: The one character no store keeps in text (PostgreSQL cannot), and what is said of it.
NUL = "\x00"
NO_NUL = "must not contain NUL (U+0000) characters"


def validate_profile_name(name: str) -> str:
    """Return `name` unchanged if it follows the naming rule; raise InvalidProfileName otherwise."""
    return _validate_name(name, "name")


def validate_log_name(log: str) -> str:
    """A run log's name ("" means DEFAULT_LOG), following the profile naming rule; InvalidProfileName otherwise."""
    return _validate_name(log, "log") if log != "" else DEFAULT_LOG


def _validate_name(name: str, field_name: str) -> str:
    if not isinstance(name, str):
        raise InvalidProfileName([FieldViolation(field_name, f"{_NAME_RULE}; got a {type(name).__name__}")])
    if (
        not 1 <= len(name) <= MAX_NAME_LENGTH
        or name[0] == " "
        or name[-1] == " "
        or not all(ch.isalnum() or ch in _NAME_PUNCTUATION for ch in name)
    ):
        shown = repr(name) if len(name) <= MAX_NAME_LENGTH else f"{name[:MAX_NAME_LENGTH]!r}… ({len(name)} characters)"
        raise InvalidProfileName([FieldViolation(field_name, f"{_NAME_RULE}; got {shown}")])
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
    def record_runs(self, runs: Sequence[NewRun]) -> builtins.list[StoredRun]:
        """Record runs in one transaction (all or none); durable once it returns. Ids count up in order."""

    @abc.abstractmethod
    def get_run(self, run_id: str) -> StoredRun:
        """The run with this id; RunNotFound if there is none."""

    @abc.abstractmethod
    def list_runs(
        self, log: str, model: str = "", page_size: int = 50, page_token: str = ""
    ) -> tuple[builtins.list[StoredRun], str]:
        """One page of a log's runs (of `model` only, unless ""), newest first, and the next page's token."""

    @abc.abstractmethod
    def log_runs(self, log: str) -> builtins.list[StoredRun]:
        """Every run of a log, oldest first."""

    def log_version(self, log: str) -> Hashable | None:
        """A value that stays equal only while no writer, in any process, has changed the log's
        runs since (it may change for other writes too), read before the runs it vouches for;
        None when the store cannot tell without reading the log."""
        return None

    @abc.abstractmethod
    def update_run(self, run_id: str, outcome: str, best_step: int | None, notes: str) -> StoredRun:
        """Set how a run came out; RunNotFound if there is none."""

    @abc.abstractmethod
    def delete_run(self, run_id: str) -> None:
        """Delete a run; RunNotFound if there is none."""

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
        raise _refused("expected_version", f"must be None or an integer ≥ {lowest}; got {expected_version!r}")


def _to_json(field_name: str, value: dict[str, Any]) -> str:
    if not isinstance(value, dict):
        raise _refused(f"{field_name}", f"must be a JSON object (dict); got a {type(value).__name__}")
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, sort_keys=True, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise _refused(f"{field_name}", f"not JSON-serialisable: {exc}") from exc


def _from_json(field_name: str, text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise StoreError(f"stored {field_name} is not valid JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise StoreError(f"stored {field_name} is not a JSON object")
    return value


def _check_offset(offset: float) -> float:
    if isinstance(offset, bool) or not isinstance(offset, int | float) or not math.isfinite(offset):
        raise _refused("offset", f"must be a finite number; got {offset!r}")
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
        raise _refused("notes", f"must be a string; got a {type(notes).__name__}")
    if NUL in notes:  # PostgreSQL text cannot hold it; every store refuses it alike
        raise _refused("notes", NO_NUL)
    return config_json, statistics_json, offset


def _check_new_runs(runs: Sequence[NewRun]) -> None:
    """record_runs()'s checks, the same for every store (the service has checked the values' meaning)."""
    for index, run in enumerate(runs):
        if not isinstance(run, NewRun):
            raise _refused(f"runs[{index}]", f"must be a NewRun; got a {type(run).__name__}")
        validate_log_name(run.log)
        _check_learning_rate(run.learning_rate, f"runs[{index}].")
        _check_judgement(run.outcome, run.best_step, run.notes, f"runs[{index}].")
        if not isinstance(run.model, str) or not run.model:
            raise _refused(f"runs[{index}].model", f"must be a model id; got {run.model!r}")
        if not isinstance(run.config, dict):
            raise _refused(f"runs[{index}].config", f"must be a JSON object (dict); got a {type(run.config).__name__}")
        if not all(isinstance(value, float) for value in run.loss):
            raise _refused(f"runs[{index}].loss", "must be floats")


def _check_learning_rate(learning_rate: float, where: str) -> None:
    if isinstance(learning_rate, bool) or not isinstance(learning_rate, float) or not learning_rate > 0:
        raise _refused(f"{where}learning_rate", f"must be a float above 0; got {learning_rate!r}")
    if not math.isfinite(learning_rate):
        raise _refused(f"{where}learning_rate", f"must be finite; got {learning_rate!r}")


def _check_judgement(outcome: str, best_step: int | None, notes: str, where: str = "") -> None:
    """How a run came out: the outcome word, the best step (None or ≥ 1) and notes."""
    if not isinstance(outcome, str) or not outcome:
        raise _refused(f"{where}outcome", f"must be an outcome word; got {outcome!r}")
    if best_step is not None and (isinstance(best_step, bool) or not isinstance(best_step, int) or best_step < 1):
        raise _refused(f"{where}best_step", f"must be None or an integer ≥ 1; got {best_step!r}")
    if not isinstance(notes, str):
        raise _refused(f"{where}notes", f"must be a string; got a {type(notes).__name__}")


def _run_key(run_id: str) -> int:
    """A run id's row key; ValueError for text that no run id can be."""
    if isinstance(run_id, str) and run_id.isascii() and run_id.isdigit() and 0 < len(run_id) <= 18:
        return int(run_id)
    raise _refused("id", f"must be a run id (the digits ListRuns gives); got {run_id!r}")


def _loss_bytes(loss: Sequence[float]) -> bytes:
    """A loss curve as little-endian float64s: exact, NaN and infinities included, 8 bytes a value."""
    values = array.array("d", loss)
    if sys.byteorder != "little":  # pragma: no cover - every supported platform is little-endian
        values.byteswap()
    return values.tobytes()


def _loss_values(data: bytes) -> tuple[float, ...]:
    values = array.array("d")
    values.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover
        values.byteswap()
    return tuple(values)


def _encode_run_page_token(last_id: int) -> str:
    return base64.urlsafe_b64encode(_RUN_PAGE_TOKEN_PREFIX + str(last_id).encode("ascii")).decode("ascii")


def _decode_run_page_token(token: str) -> int:
    malformed = _refused("page_token", f"malformed token {token!r}; pass back a next_page_token exactly as returned")
    if not isinstance(token, str):
        raise _refused("page_token", f"must be a string; got a {type(token).__name__}")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        if not raw.startswith(_RUN_PAGE_TOKEN_PREFIX):
            raise malformed
        return _run_key(raw[len(_RUN_PAGE_TOKEN_PREFIX) :].decode("ascii"))
    except (UnicodeError, binascii.Error, ValueError) as exc:
        raise malformed from exc


def _check_run_page(log: str, model: str, page_size: int) -> str:
    """list_runs()'s checks; the log's name ("" is the default log)."""
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= MAX_PAGE_SIZE:
        raise _refused("page_size", f"must be an integer from 1 to {MAX_PAGE_SIZE}; got {page_size!r}")
    if not isinstance(model, str):
        raise _refused("model", f"must be a string; got a {type(model).__name__}")
    return validate_log_name(log)


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
    malformed = _refused("page_token", f"malformed token {token!r}; pass back a next_page_token exactly as returned")
    if not isinstance(token, str):
        raise _refused("page_token", f"must be a string; got a {type(token).__name__}")
    try:
        raw = base64.b64decode(token.encode("ascii"), altchars=b"-_", validate=True)
        if not raw.startswith(_PAGE_TOKEN_PREFIX):
            raise malformed
        return validate_profile_name(raw[len(_PAGE_TOKEN_PREFIX) :].decode("utf-8"))
    except (UnicodeError, binascii.Error, InvalidProfileName) as exc:
        raise malformed from exc


# --------------------------------------------------------------------------- schema


class Backoff:
    """Waits between retries of a busy database until a deadline: jittered, doubling from 1 ms
    to 50 ms (both backends retry this way)."""

    FIRST_SECONDS = 0.001
    LONGEST_SECONDS = 0.05

    def __init__(self, seconds: float) -> None:
        self.deadline = time.monotonic() + seconds
        self.delay = self.FIRST_SECONDS

    def remaining(self) -> float:
        return self.deadline - time.monotonic()

    def expired(self) -> bool:
        return time.monotonic() >= self.deadline

    def wait(self) -> None:
        time.sleep(self.delay * (1 + random.random()))
        self.delay = min(max(self.delay, self.FIRST_SECONDS) * 2, self.LONGEST_SECONDS)
