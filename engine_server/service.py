"""The LRToolEngine gRPC service: maps messages onto the engine and the profile store."""

from __future__ import annotations

import functools
import logging
import queue
import re
import time
from collections.abc import Callable, Collection, Hashable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any, TypeVar

import grpc

from . import _convert, _status, _wire
from ._batch_processes import BatchProcesses
from ._generated.lrtool.v1 import engine_pb2 as pb
from ._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from .engine import (
    Calculation,
    Cancelled,
    ConfigError,
    FieldViolation,
    LoggedRun,
    Outcome,
    Personalization,
    TrainingConfig,
    calculate,
    calculate_rows,
    catalog,
    check_adjustment,
    check_run,
    model_family,
    personalize,
    schedule_curve,
    score_curve,
    stop_when,
)
from .engine._calculate import placed_in_request, population
from .engine._cancel import raise_if_stopped
from .engine._columns import ConfigColumns, collector_paused
from .name_matching import MAX_NAME_CHARACTERS
from .profile_files import ProfileFile, ProfileFileError, read_profile_file, write_profile_file
from .run_files import RunFileError, RunRow, read_run_file, write_run_file
from .store import (
    NO_NUL,
    NUL,
    InvalidProfileName,
    NewRun,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    RunNotFound,
    StoreBusy,
    StoredProfile,
    StoredRun,
    VersionConflict,
    validate_log_name,
    validate_profile_name,
)
from .trainer_configs import TrainerConfigError, export_trainer_config, import_trainer_config
from .violations import InvalidFields

log = logging.getLogger("lrtool.service")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["LRToolEngine"].full_name

#: The fields a configuration message may set.
_CONFIG_FIELDS = tuple(pb.TrainingConfig.DESCRIPTOR.fields_by_name)
#: Requests converted between two deadline checks in a batch.
_DEADLINE_CHECK_EVERY = 1000
#: The longest any call may run, deadline or not (LRTOOL_MAX_CALL_SECONDS).
DEFAULT_MAX_CALL_SECONDS = 60.0
#: Calls computing at once (LRTOOL_WORKERS); more wait for one to finish.
DEFAULT_WORKERS = 16
#: Characters of a value quoted in an error message.
_SHOWN_CHARACTERS = 60
#: Characters of a failure's summary in the log: enough to act on, never the whole of a huge input.
_LOGGED_CHARACTERS = 1000
#: Text fields of a configuration that are not names, and their limits; every other one is a name.
_TEXT_CHARACTERS = {"step_rules": 4096}
#: What a CalculateBatch answer may carry (ResultDetail).
_RESULT_DETAILS = frozenset(pb.ResultDetail.values())
#: Run logs whose runs the service keeps between calls; then it starts afresh.
_LEARNED_LOGS = 256
#: How often a call waiting for a worker looks whether its caller still wants the answer.
_WAIT_SLICE_SECONDS = 0.1


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call may ask for; each limit answers with a clear error."""

    max_call_seconds: float = DEFAULT_MAX_CALL_SECONDS
    workers: int = DEFAULT_WORKERS
    max_batch_requests: int = 10_000
    max_curve_points: int = 10_000
    default_curve_points: int = 200
    max_notes_characters: int = 10_000
    default_page_size: int = 50
    max_page_size: int = 1000
    max_loss_values: int = 1_000_000


class _Abort(Exception):
    """A failure already turned into a gRPC status."""

    def __init__(self, status: grpc.Status, summary: str) -> None:
        super().__init__(summary)
        self.status = status


RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Handler = Callable[[Any, RequestT, grpc.ServicerContext], ResponseT]


def _rpc(handler: Handler[RequestT, ResponseT]) -> Handler[RequestT, ResponseT]:
    """Map every failure to its status (docs/api.md) and log one line for it; nothing escapes as UNKNOWN."""
    name = handler.__name__

    @functools.wraps(handler)
    def wrapper(self: Any, request: RequestT, context: grpc.ServicerContext) -> ResponseT:
        # A call waits for one of the service's workers, then runs until it is done, its caller's deadline
        # passes or the caller goes, or it reaches the engine's own ceiling (Limits.max_call_seconds).
        limits: Limits = self._limits
        ceiling = time.monotonic() + limits.max_call_seconds

        def stop() -> bool:
            return time.monotonic() >= ceiling or _expired(context)

        try:
            # Long engine work stops at the deadline instead of finishing for no one.
            with stop_when(stop), self._worker(stop):
                return handler(self, request, context)
        except Cancelled as stopped:
            if time.monotonic() >= ceiling:
                summary = (
                    f"{name} ran into the engine's limit of {limits.max_call_seconds:g} s per call"
                    " (LRTOOL_MAX_CALL_SECONDS); ask for less work per call"
                )
            else:
                summary = f"deadline exceeded or call cancelled during {name}"
            if stopped.completed:
                summary += f" after {stopped.completed:,} results"
            status = _status.plain(grpc.StatusCode.DEADLINE_EXCEEDED, summary)
        except _Abort as failure:
            status, summary = failure.status, str(failure)
        except ConfigError as error:
            status, summary = _status.invalid_argument(error.violations), str(error)
        except ProfileNotFound as error:
            summary = f"no profile named {error.name!r}"
            status = _status.plain(grpc.StatusCode.NOT_FOUND, summary)
        except RunNotFound as error:
            summary = str(error)
            status = _status.plain(grpc.StatusCode.NOT_FOUND, summary)
        except VersionConflict as error:
            summary = str(error)
            status = _status.plain(grpc.StatusCode.ABORTED, summary)
        except ProfileExists as error:
            summary = f"a profile named {error.name!r} already exists"
            status = _status.plain(grpc.StatusCode.ALREADY_EXISTS, summary)
        except StoreBusy as error:
            summary = str(error)
            status = _status.plain(grpc.StatusCode.UNAVAILABLE, f"the profile store is busy; retry shortly ({error})")
        except Exception as error:  # a bug: say so without leaking internals
            log.error("%s failed: INTERNAL %s: %s", name, type(error).__name__, _cut(str(error), _LOGGED_CHARACTERS))
            log.debug("%s traceback", name, exc_info=True)
            status = _status.plain(grpc.StatusCode.INTERNAL, "internal error in the LRTool engine; see its log")
            context.abort_with_status(status)
            raise AssertionError("unreachable: abort_with_status raises") from None  # pragma: no cover
        # The caller's mistake, not the server's: one line, at INFO.
        log.info("%s failed: %s %s", name, status.code.name, _cut(summary, _LOGGED_CHARACTERS))
        context.abort_with_status(status)
        raise AssertionError("unreachable: abort_with_status raises")  # pragma: no cover

    return wrapper


def _invalid(field: str, description: str) -> ConfigError:
    return ConfigError([FieldViolation(field, description)])


def _cut(text: str, limit: int) -> str:
    """`text`, or its first `limit` characters and how long it was: inputs can be megabytes long."""
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text):,} characters)"


def _check_text_lengths(fields: dict[str, Any]) -> None:
    """Names (and other text) no longer than they can be, before anything matches, caches or logs them;
    violations name the configuration's fields."""
    problems = []
    for name, value in fields.items():
        limit = _TEXT_CHARACTERS.get(name, MAX_NAME_CHARACTERS)
        if isinstance(value, str) and len(value) > limit:
            problems.append(FieldViolation(name, f"must be at most {limit:,} characters; got {len(value):,}"))
    if problems:
        raise ConfigError(problems)


def _checked_config(message: pb.TrainingConfig) -> TrainingConfig:
    if message.ByteSize() > MAX_NAME_CHARACTERS:  # else no text in it can be too long: the usual case, for free
        _check_text_lengths(_convert.config_fields_from_proto(message))
    return _convert.config_from_proto(message)


def _config(message: pb.TrainingConfig, path: str) -> TrainingConfig:
    try:
        return _checked_config(message)
    except ConfigError as error:
        raise error.under(path) from None


def _calculate(
    config: TrainingConfig,
    offset: float | None,
    learning_rate: float | None,
    path: str,
    personalization: Personalization | None = None,
) -> Calculation:
    """calculate(), with configuration problems reported under `path` (e.g. "config")."""
    try:
        return calculate(config, offset, learning_rate, personalization)
    except ConfigError as error:
        raise ConfigError(placed_in_request(error, "", path)) from None


def _profile_name(name: str, path: str) -> str:
    try:
        return validate_profile_name(name)
    except InvalidProfileName as error:
        raise ConfigError(replace(v, field=path) for v in error.violations) from None


def _log_name(log: str, path: str) -> str:
    try:
        return validate_log_name(log)
    except InvalidProfileName as error:
        raise ConfigError(replace(v, field=path) for v in error.violations) from None


def _run_id(run_id: str) -> str:
    """`run_id` if it can name a run; INVALID_ARGUMENT otherwise (NOT_FOUND is for ids that could)."""
    if run_id.isascii() and run_id.isdigit() and 0 < len(run_id) <= 18:
        return run_id
    raise _invalid("id", f"must be a run id, the digits ListRuns gives; got {run_id!r}")


def _expired(context: grpc.ServicerContext) -> bool:
    """The caller's deadline has passed or it has gone away: stop working for it."""
    remaining = context.time_remaining()
    return (remaining is not None and remaining <= 0) or not context.is_active()


def _filename(name: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z._-]+", "_", name).strip("._") or "profile"
    return f"{stem}.json"


class _LearnedLog:
    """A run log's runs as read at `version` of the store, and the fits made from them: a fit
    depends on the runs, the configuration's model family, its formula set and the prior."""

    def __init__(self, version: Hashable | None, runs: list[LoggedRun]) -> None:
        self.version = version
        self.runs = runs
        self._fits: dict[tuple[str, str, Personalization], Personalization] = {}

    def personalize(self, config: TrainingConfig) -> Personalization:
        if not self.runs:
            return personalize(config, self.runs)  # the prior itself: nothing to keep
        key = (model_family(config), config.formula, population(config))
        fit = self._fits.get(key)
        if fit is None:
            fit = self._fits[key] = personalize(config, self.runs)
        return fit


class LRToolEngineService(pb_grpc.LRToolEngineServicer):
    """Each RPC validates, computes with the engine and answers; the store keeps profiles."""

    def __init__(self, store: ProfileStore, limits: Limits | None = None, batch_processes: int = 0) -> None:
        self._store = store
        self._limits = limits or Limits()
        #: Helpers that share large batches (_batch_processes.py); stopped by close().
        self.batch_processes = BatchProcesses(batch_processes, answer_part)
        # gRPC gives every call a thread of its own (see server.py), so calls beyond the workers wait
        # here, and the health check never queues behind them. One token per worker: a SimpleQueue
        # (in C) costs a fraction of threading.Semaphore, which is paid on every call.
        self._free_workers: queue.SimpleQueue[None] = queue.SimpleQueue()
        for _ in range(self._limits.workers):
            self._free_workers.put(None)
        # Run logs as last read, by name (see _learned_log).
        self._learned_logs: dict[str, _LearnedLog] = {}

    @contextmanager
    def _worker(self, stop: Callable[[], bool]) -> Iterator[None]:
        """Hold one of the workers, waiting for one while the caller still wants the answer."""
        while True:
            try:
                self._free_workers.get(timeout=_WAIT_SLICE_SECONDS)
                break
            except queue.Empty:
                if stop():
                    raise Cancelled(0) from None
        try:
            yield
        finally:
            self._free_workers.put(None)

    # --- Calculation ---------------------------------------------------------

    @_rpc
    def GetCatalog(self, request: pb.GetCatalogRequest, context: grpc.ServicerContext) -> pb.Catalog:
        return _convert.catalog_to_proto()

    @_rpc
    def Calculate(self, request: pb.CalculateRequest, context: grpc.ServicerContext) -> pb.Calculation:
        config = _config(request.config, "config")
        offset, learning_rate = _adjustment(request)
        personal = self._personalization(config, request, "run_log", {})
        return _convert.calculation_to_proto(_calculate(config, offset, learning_rate, "config", personal))

    @_rpc
    def CalculateBatch(  # type: ignore[override]  # the response's bytes: see server._SerializedAnswers
        self, request: pb.CalculateBatchRequest, context: grpc.ServicerContext
    ) -> bytes:
        """The answer is a serialized CalculateBatchResponse, written from the results' columns
        (_wire.py); the server sends it as it is (server._SerializedAnswers)."""
        count = len(request.requests)
        if count > self._limits.max_batch_requests:
            raise _invalid(
                "requests",
                f"at most {self._limits.max_batch_requests:,} requests per call; got {count:,}: split the batch",
            )
        detail = request.detail
        if detail not in _RESULT_DETAILS:  # proto3 keeps numbers the enum lacks: refuse them here
            names = ", ".join(pb.ResultDetail.Name(value) for value in sorted(_RESULT_DETAILS))
            raise _invalid("detail", f"must be one of {names}; got {detail}")
        details = detail != pb.RESULT_DETAIL_STATISTICS
        requests = request.requests
        personalized = self._with_runs(request)
        if not personalized:  # a helper has no store: it takes rows that no run log personalizes
            remaining = context.time_remaining()  # None: the caller set no deadline
            seconds = (
                self._limits.max_call_seconds if remaining is None else min(remaining, self._limits.max_call_seconds)
            )

            def later_rows(first: int) -> bytes:
                return pb.CalculateBatchRequest(requests=requests[first:]).SerializeToString()

            shared = self.batch_processes.share(count, later_rows, details, seconds)
            if shared is not None:
                try:
                    first_rows = batch_answer(requests[: shared.first_row], details)
                except ConfigError:
                    pass  # the whole batch, below, reports every problem as one call does
                else:
                    later = shared.answer()
                    if later is not None:
                        first_rows.append(later)
                        return b"".join(first_rows)
        learned: dict[tuple[str, str, str, Personalization], Personalization] = {}  # one fit per log and prior

        def personalize(row: int, config: TrainingConfig) -> Personalization | None:
            return self._personalization(config, requests[row], f"requests[{row}].run_log", learned)

        return b"".join(batch_answer(requests, details, personalize=personalize, personalized=personalized))

    @_rpc
    def GetCurves(self, request: pb.GetCurvesRequest, context: grpc.ServicerContext) -> pb.Curves:
        config = _config(request.config, "config")
        points = request.points or self._limits.default_curve_points
        if not 2 <= points <= self._limits.max_curve_points:
            raise _invalid("points", f"must be an integer from 2 to {self._limits.max_curve_points:,}; got {points:,}")
        personal = self._personalization(config, request, "run_log", {})
        calculation = _calculate(config, request.offset, None, "config", personal)
        return _convert.curves_to_proto(schedule_curve(config, points), score_curve(config, points), calculation)

    # --- Profiles ------------------------------------------------------------

    def _profile_message(self, stored: StoredProfile) -> pb.Profile:
        return pb.Profile(
            name=stored.name,
            config=_convert.config_to_proto(stored.config),
            offset=stored.offset,
            statistics=_convert.calculation_from_dict(stored.statistics),
            notes=stored.notes,
            version=stored.version,
            created_at=_convert.timestamp(stored.created_at),
            updated_at=_convert.timestamp(stored.updated_at),
        )

    def _save(
        self, name: str, config: TrainingConfig, offset: float, notes: str, expected_version: int | None
    ) -> pb.Profile:
        # The statistics are always the server's own, computed from the configuration.
        calculation = _calculate(config, offset, None, "profile.config")
        stored = self._store.save(
            name,
            config.model_dump(exclude_none=True),
            offset,
            _convert.calculation_to_dict(calculation),
            notes,
            expected_version=expected_version,
        )
        return self._profile_message(stored)

    @_rpc
    def SaveProfile(self, request: pb.SaveProfileRequest, context: grpc.ServicerContext) -> pb.Profile:
        profile = request.profile
        _, config, _, _, _ = _all_checked(
            lambda: _profile_name(profile.name, "profile.name"),
            lambda: _config(profile.config, "profile.config"),
            lambda: self._check_notes(profile.notes),
            lambda: _check_offset(profile.offset, "profile.offset"),
            lambda: _check_expected_version(request),
        )
        expected = request.expected_version if request.HasField("expected_version") else None
        return self._save(profile.name, config, profile.offset, profile.notes, expected)

    def _check_notes(self, notes: str) -> None:
        problems = self._note_problems(notes, "profile.notes")
        if problems:
            raise ConfigError(problems)

    @_rpc
    def GetProfile(self, request: pb.GetProfileRequest, context: grpc.ServicerContext) -> pb.Profile:
        return self._profile_message(self._store.get(_profile_name(request.name, "name")))

    @_rpc
    def ListProfiles(self, request: pb.ListProfilesRequest, context: grpc.ServicerContext) -> pb.ListProfilesResponse:
        page_size = request.page_size or self._limits.default_page_size
        if not 1 <= page_size <= self._limits.max_page_size:
            raise _invalid(
                "page_size", f"must be an integer from 1 to {self._limits.max_page_size:,}; got {page_size:,}"
            )
        try:
            summaries, next_token = self._store.list(page_size, request.page_token)
        except InvalidFields as error:
            raise ConfigError(error.violations) from None
        return pb.ListProfilesResponse(
            profiles=[
                pb.ProfileSummary(name=s.name, version=s.version, updated_at=_convert.timestamp(s.updated_at))
                for s in summaries
            ],
            next_page_token=next_token,
            default_profile=self._store.get_default() or "",
        )

    @_rpc
    def DeleteProfile(
        self, request: pb.DeleteProfileRequest, context: grpc.ServicerContext
    ) -> pb.DeleteProfileResponse:
        name = _profile_name(request.name, "name")
        expected = request.expected_version if request.HasField("expected_version") else None
        if expected is not None and expected < 1:
            raise _invalid("expected_version", f"must be the profile's current version (1 or more); got {expected}")
        self._store.delete(name, expected_version=expected)
        return pb.DeleteProfileResponse()

    @_rpc
    def SetDefaultProfile(
        self, request: pb.SetDefaultProfileRequest, context: grpc.ServicerContext
    ) -> pb.SetDefaultProfileResponse:
        name = _profile_name(request.name, "name") if request.name else None
        self._store.set_default(name)
        return pb.SetDefaultProfileResponse(name=name or "")

    @_rpc
    def ExportProfile(
        self, request: pb.ExportProfileRequest, context: grpc.ServicerContext
    ) -> pb.ExportProfileResponse:
        stored = self._store.get(_profile_name(request.name, "name"))
        config = TrainingConfig(**stored.config)
        try:
            content = write_profile_file(config, stored.offset, stored.statistics)
        except ProfileFileError as error:
            raise ConfigError(
                FieldViolation("name", f"{v.field or 'profile'}: {v.description}") for v in error.violations
            ) from None
        return pb.ExportProfileResponse(content=content, filename=_filename(stored.name))

    @_rpc
    def ImportProfile(self, request: pb.ImportProfileRequest, context: grpc.ServicerContext) -> pb.Profile:
        _, _, profile_file = _all_checked(
            lambda: _profile_name(request.name, "name"),
            lambda: _check_expected_version(request),
            lambda: _profile_file(request.content),
        )
        config = TrainingConfig(**profile_file.config)
        expected = request.expected_version if request.HasField("expected_version") else None
        return self._save(request.name, config, profile_file.offset, "", expected)

    # --- The run log -----------------------------------------------------------

    def _personalization(
        self,
        config: TrainingConfig,
        request: pb.CalculateRequest | pb.GetCurvesRequest,
        path: str,
        learned: dict[tuple[str, str, str, Personalization], Personalization],
    ) -> Personalization | None:
        """What the request's run log says about `config` (None: the population's recommendation).

        `learned` keeps fits within one call: a fit depends only on the log, the configuration's
        model family, its formula set and its prior (the population's spread differs between,
        e.g., AdamW and Prodigy), so a batch reads each log and fits each of those once.
        """
        if request.population_only:
            return None
        log = _log_name(request.run_log, path)
        key = (log, model_family(config), config.formula, population(config))
        if key not in learned:
            learned[key] = self._learned_log(log).personalize(config)
        return learned[key]

    def _with_runs(self, request: pb.CalculateBatchRequest) -> list[int]:
        """The requests of a batch whose run log holds runs: only those are personalized (an empty
        log gives the population's own recommendation, and those rows are calculated column by
        column). A bad log name counts, so that personalizing reports it beside the row's other
        problems."""
        requests = request.requests
        logs = list(map(attrgetter("run_log"), requests))
        population_only = list(map(attrgetter("population_only"), requests))
        has_runs: dict[str, bool] = {}
        for name in set(logs):
            try:
                has_runs[name] = bool(self._learned_log(validate_log_name(name)).runs)
            except InvalidProfileName:
                has_runs[name] = True
        return [
            index
            for index, (name, alone) in enumerate(zip(logs, population_only, strict=True))
            if not alone and has_runs[name]
        ]

    def _learned_log(self, log_name: str) -> _LearnedLog:
        """What the service knows of a log, read again only when the store says it may have changed."""
        version = self._store.log_version(log_name)
        known = self._learned_logs.get(log_name)
        if known is not None and version is not None and known.version == version:
            return known
        learned = _LearnedLog(version, self._logged_runs(log_name))
        if version is not None:
            if len(self._learned_logs) >= _LEARNED_LOGS:
                self._learned_logs.clear()
            self._learned_logs[log_name] = learned
        return learned

    def _logged_runs(self, log_name: str) -> list[LoggedRun]:
        """A log's runs as the engine learns from them. A run whose stored configuration this engine
        no longer accepts (a catalog change) is left out, rather than failing every calculation."""
        runs = []
        for stored in self._store.log_runs(log_name):
            try:
                config = TrainingConfig(**stored.config)
            except ConfigError as error:
                log.warning("run %s of log %r is not learned from: %s", stored.id, stored.log, error)
                continue
            runs.append(LoggedRun(config, stored.learning_rate, Outcome[stored.outcome], stored.best_step))
        return runs

    def _run_message(self, stored: StoredRun) -> pb.Run:
        message = pb.Run(
            id=stored.id,
            log=stored.log,
            config=_convert.config_to_proto(stored.config),
            learning_rate=stored.learning_rate,
            outcome=_convert.outcome_to_proto(Outcome[stored.outcome]),
            notes=stored.notes,
            loss=stored.loss,
            recorded_at=_convert.timestamp(stored.recorded_at),
        )
        if stored.best_step is not None:
            message.best_step = stored.best_step
        return message

    def _new_run(self, run: pb.Run, log: str, path: str, config_path: str) -> NewRun:
        """A run to record, every problem named: run fields under `path`, configuration fields under `config_path`."""
        config: TrainingConfig | None = None
        outcome = Outcome.UNSPECIFIED
        problems: list[FieldViolation] = []
        try:
            config = _convert.config_from_proto(run.config)
        except ConfigError as error:
            problems.extend(error.under(config_path).violations)
        try:
            outcome = _convert.outcome_from_proto(run.outcome)
        except ValueError:
            problems.append(FieldViolation(f"{path}.outcome", f"must be one of {_outcomes()}; got {run.outcome}"))
        best_step = run.best_step if run.HasField("best_step") else None
        if config is not None:
            try:
                check_run(config, run.learning_rate, best_step)
            except ConfigError as error:
                problems.extend(error.under(path).violations)
        problems.extend(self._note_problems(run.notes, f"{path}.notes"))
        if len(run.loss) > self._limits.max_loss_values:
            problems.append(
                FieldViolation(
                    f"{path}.loss",
                    f"at most {self._limits.max_loss_values:,} values; got {len(run.loss):,}: downsample the curve",
                )
            )
        if problems:
            raise ConfigError(problems)
        assert config is not None
        return NewRun(
            log=log,
            model=config.resolved.model.id,
            config=config.model_dump(exclude_none=True),
            learning_rate=run.learning_rate,
            outcome=outcome.name,
            best_step=best_step,
            notes=run.notes,
            loss=tuple(run.loss),
        )

    def _note_problems(self, notes: str, path: str) -> list[FieldViolation]:
        """Notes of a profile or a run: what neither store can keep, said the same for both."""
        if NUL in notes:
            return [FieldViolation(path, NO_NUL)]
        if len(notes) > self._limits.max_notes_characters:
            return [
                FieldViolation(
                    path, f"must be at most {self._limits.max_notes_characters:,} characters; got {len(notes):,}"
                )
            ]
        return []

    @_rpc
    def RecordRun(self, request: pb.RecordRunRequest, context: grpc.ServicerContext) -> pb.Run:
        run = request.run
        log = _log_name(run.log, "run.log")
        (stored,) = self._store.record_runs([self._new_run(run, log, "run", "run.config")])
        return self._run_message(stored)

    @_rpc
    def ListRuns(self, request: pb.ListRunsRequest, context: grpc.ServicerContext) -> pb.ListRunsResponse:
        log = _log_name(request.log, "log")
        page_size = request.page_size or self._limits.default_page_size
        if not 1 <= page_size <= self._limits.max_page_size:
            raise _invalid(
                "page_size", f"must be an integer from 1 to {self._limits.max_page_size:,}; got {page_size:,}"
            )
        model = ""
        if request.model:
            found = catalog.MODELS.get(request.model)
            if found is None:
                raise _invalid("model", f"unknown model {request.model!r}; GetCatalog lists the models")
            model = found.id
        try:
            runs, next_token = self._store.list_runs(log, model, page_size, request.page_token)
        except InvalidFields as error:
            raise ConfigError(error.violations) from None
        return pb.ListRunsResponse(runs=[self._run_message(run) for run in runs], next_page_token=next_token)

    @_rpc
    def UpdateRun(self, request: pb.UpdateRunRequest, context: grpc.ServicerContext) -> pb.Run:
        run = request.run
        stored = self._store.get_run(_run_id(run.id))
        problems = self._note_problems(run.notes, "run.notes")
        outcome = Outcome.UNSPECIFIED
        try:
            outcome = _convert.outcome_from_proto(run.outcome)
        except ValueError:
            problems.append(FieldViolation("run.outcome", f"must be one of {_outcomes()}; got {run.outcome}"))
        best_step = run.best_step if run.HasField("best_step") else None
        try:
            check_run(TrainingConfig(**stored.config), stored.learning_rate, best_step)
        except ConfigError as error:
            problems.extend(error.under("run").violations)
        if problems:
            raise ConfigError(problems)
        return self._run_message(self._store.update_run(stored.id, outcome.name, best_step, run.notes))

    @_rpc
    def DeleteRun(self, request: pb.DeleteRunRequest, context: grpc.ServicerContext) -> pb.DeleteRunResponse:
        self._store.delete_run(_run_id(request.id))
        return pb.DeleteRunResponse()

    @_rpc
    def ImportRuns(self, request: pb.ImportRunsRequest, context: grpc.ServicerContext) -> pb.ImportRunsResponse:
        log = _log_name(request.log, "log")
        try:
            rows = read_run_file(request.content)
        except RunFileError as error:
            raise ConfigError(error.under("content").violations) from None
        runs: list[NewRun] = []
        problems: list[FieldViolation] = []
        for row in rows:
            where = f"content.rows[{row.number}]"
            try:
                message = _row_message(request.base, row, where)
            except ConfigError as error:
                problems.extend(error.violations)
                continue
            try:
                runs.append(self._new_run(message, log, where, where))
            except ConfigError as error:
                problems.extend(FieldViolation(v.field, f"line {row.line}: {v.description}") for v in error.violations)
        if problems:
            raise ConfigError(problems)  # nothing is recorded unless every row is sound
        stored = self._store.record_runs(runs)
        return pb.ImportRunsResponse(runs=[self._run_message(run) for run in stored])

    @_rpc
    def ExportRuns(self, request: pb.ExportRunsRequest, context: grpc.ServicerContext) -> pb.ExportRunsResponse:
        log = _log_name(request.log, "log")
        rows = [
            RunRow(
                number=index,
                line=index + 1,
                config=run.config,
                learning_rate=run.learning_rate,
                outcome="" if run.outcome == Outcome.UNSPECIFIED.name else run.outcome,
                best_step=run.best_step,
                notes=run.notes,
            )
            for index, run in enumerate(self._store.log_runs(log), start=1)
        ]
        stem = re.sub(r"[^0-9A-Za-z._-]+", "_", log).strip("._") or "runs"
        return pb.ExportRunsResponse(content=write_run_file(rows), filename=f"{stem}_runs.csv")

    # --- Trainer config files --------------------------------------------------

    @_rpc
    def ImportTrainerConfig(
        self, request: pb.ImportTrainerConfigRequest, context: grpc.ServicerContext
    ) -> pb.ImportTrainerConfigResponse:
        overrides = _convert.config_fields_from_proto(request.overrides)
        try:
            _check_text_lengths(overrides)
        except ConfigError as error:
            raise error.under("overrides") from None
        try:
            imported = import_trainer_config(
                request.content,
                request.filename,
                request.format,
                dataset_content=request.dataset_content,
                dataset_filename=request.dataset_filename,
                overrides=overrides,
            )
        except TrainerConfigError as error:
            raise _file_problems(error, "content") from None
        try:
            _check_text_lengths(imported.config)
        except ConfigError as error:
            raise ConfigError(FieldViolation("content", str(violation)) for violation in error.violations) from None
        response = pb.ImportTrainerConfigResponse(
            format=imported.format,
            config=_imported_config(imported.config),
            missing_fields=imported.missing_fields,
            warnings=imported.warnings,
            learning_rate_scale=imported.learning_rate_scale,
        )
        config = None
        if not imported.missing_fields:
            try:
                config = TrainingConfig(**imported.config)
                response.recommendation.CopyFrom(_convert.calculation_to_proto(calculate(config)))
            except ConfigError as error:
                # The file is read; what LRTool cannot accept is said, field by field.
                response.warnings.extend(f"cannot calculate: {violation}" for violation in error.violations)
                config = None
        for found in imported.learning_rates:
            trained = found.value * imported.learning_rate_scale
            item = response.learning_rates.add(key=found.key, value=found.value, trained_value=trained)
            if config is not None and trained > 0:
                try:
                    item.evaluation.CopyFrom(_convert.calculation_to_proto(calculate(config, learning_rate=trained)))
                except ConfigError as error:
                    response.warnings.extend(f"{found.key}: {violation.description}" for violation in error.violations)
        return response

    @_rpc
    def ExportTrainerConfig(
        self, request: pb.ExportTrainerConfigRequest, context: grpc.ServicerContext
    ) -> pb.ExportTrainerConfigResponse:
        check_adjustment(learning_rate=request.learning_rate)
        try:
            content = export_trainer_config(
                request.content, request.filename, request.format, learning_rate=request.learning_rate
            )
        except TrainerConfigError as error:
            raise _file_problems(error, "content") from None
        return pb.ExportTrainerConfigResponse(content=content, filename=request.filename)


def _outcomes() -> str:
    return ", ".join(outcome.name for outcome in Outcome if outcome is not Outcome.UNSPECIFIED)


def _row_message(base: pb.TrainingConfig, row: RunRow, where: str) -> pb.Run:
    """A CSV row as a Run: the base configuration with the row's own fields over it."""
    config = pb.TrainingConfig()
    config.CopyFrom(base)
    problems: list[FieldViolation] = []
    for name, value in row.config.items():
        try:  # a oneof member (warmup_fraction / warmup_steps) replaces the base's other one
            setattr(config, name, value)
        except (TypeError, ValueError) as error:
            problems.append(FieldViolation(f"{where}.{name}", f"line {row.line}: cannot be {value!r} ({error})"))
    run = pb.Run(config=config, notes=row.notes)
    if row.learning_rate is None:
        problems.append(FieldViolation(f"{where}.learning_rate", f"line {row.line}: is empty; give the peak rate used"))
    else:
        run.learning_rate = row.learning_rate
    try:
        run.outcome = _convert.outcome_to_proto(Outcome.from_word(row.outcome))
    except ValueError as error:
        problems.append(FieldViolation(f"{where}.outcome", f"line {row.line}: {error}"))
    if row.best_step is not None:
        try:
            run.best_step = row.best_step
        except ValueError:
            problems.append(FieldViolation(f"{where}.best_step", f"line {row.line}: {row.best_step} is not a step"))
    if problems:
        raise ConfigError(problems)
    return run


def _all_checked(*checks: Callable[[], Any]) -> list[Any]:
    """Run every check and report all their problems together; else their results, in order."""
    results: list[Any] = []
    problems: list[FieldViolation] = []
    for check in checks:
        try:
            results.append(check())
        except ConfigError as error:
            problems.extend(error.violations)
            results.append(None)
    if problems:
        raise ConfigError(problems)
    return results


def _profile_file(content: bytes) -> ProfileFile:
    try:
        return read_profile_file(content)
    except ProfileFileError as error:
        raise ConfigError(error.under("content").violations) from None


def _imported_config(fields: dict[str, Any]) -> pb.TrainingConfig:
    """A trainer file's configuration as a message; a value its wire type cannot carry is the file's problem."""
    try:
        return _convert.config_to_proto(fields)
    except (TypeError, ValueError):
        pass
    problems = []
    for name, value in fields.items():
        try:
            pb.TrainingConfig(**{name: value})
        except (TypeError, ValueError):
            accepted = catalog.INPUT_RANGES[name].describe() if name in catalog.INPUT_RANGES else "text"
            shown = _cut(repr(value), _SHOWN_CHARACTERS)
            problems.append(FieldViolation("content", f"{name}: must be {accepted}; got {shown}"))
    raise ConfigError(problems)


def _file_problems(error: TrainerConfigError, field: str) -> ConfigError:
    """A trainer file's problems as violations of the request field that carried the file."""
    violations = []
    for violation in error.violations:
        if violation.field.startswith("line "):  # a place in the file's text, not one of its keys
            violations.append(FieldViolation(field, str(violation)))
        else:
            violations.append(violation.under(field))
    return ConfigError(violations)


def batch_answer(
    requests: Sequence[pb.CalculateRequest],
    details: bool,
    first_index: int = 0,
    personalize: Callable[[int, TrainingConfig], Personalization | None] | None = None,
    personalized: Collection[int] | None = None,
) -> list[bytes]:
    """The serialized CalculateBatchResponse of `requests` (the batch's rows from `first_index` on),
    in pieces to be joined with any answer that follows: decoded into columns and checked column
    by column, with the same violations as item by item, then calculated and written (_wire.py);
    stops at the deadline (see _rpc). The collector stays paused throughout: what a batch builds
    lives on until its answer is written, so each of its passes would walk it all, freeing nothing."""
    with collector_paused():
        configs, offsets, learning_rates = _batch_columns(requests, first_index)
        calculations = calculate_rows(
            configs, offsets, learning_rates, first_index, personalize=personalize, personalized=personalized
        )
        parts = _wire.batch_response_parts(calculations, details)
        # Freed here, while the collector is paused (they are acyclic), so that its first pass after
        # the pause has nothing of them to walk: that pass took about 7 % of a 10,000-row call.
        del configs, calculations
        return parts


def answer_part(serialized: bytes, first_index: int, details: bool, seconds: float) -> bytes | None:
    """A helper process's part of a batch (_batch_processes.PartWork): its answer, or None when its
    rows cannot be answered as they stand (the server then answers the whole batch itself)."""
    ceiling = time.monotonic() + seconds
    requests = pb.CalculateBatchRequest.FromString(serialized).requests
    try:
        with stop_when(lambda: time.monotonic() >= ceiling):
            return b"".join(batch_answer(requests, details, first_index))
    except (ConfigError, Cancelled):
        return None


def _batch_columns(
    requests: Sequence[pb.CalculateRequest], first_index: int = 0
) -> tuple[ConfigColumns, list[float | None], list[float | None]]:
    """A batch's configurations as columns, and its offsets and learning rates; names longer than
    they can be are refused first, each under its request (counted from `first_index`)."""
    count = len(requests)
    columns: dict[str, list[Any]] = {name: [None] * count for name in _CONFIG_FIELDS}
    column_of = {field: columns[field.name] for field in pb.TrainingConfig.DESCRIPTOR.fields}
    offsets: list[float | None] = [None] * count
    learning_rates: list[float | None] = [None] * count
    too_long: list[FieldViolation] = []
    for index, item in enumerate(requests):
        if index % _DEADLINE_CHECK_EVERY == 0:
            raise_if_stopped()  # _rpc turns Cancelled into DEADLINE_EXCEEDED
        offsets[index], learning_rates[index] = _adjustment(item)
        config = item.config
        for field, value in config.ListFields():
            column_of[field][index] = value
        if config.ByteSize() > MAX_NAME_CHARACTERS:  # names capped before any matching
            try:
                _check_text_lengths(_convert.config_fields_from_proto(config))
            except ConfigError as error:
                too_long.extend(error.under(f"requests[{first_index + index}].config").violations)
    if too_long:
        raise ConfigError(too_long)
    return ConfigColumns(columns, count), offsets, learning_rates


def _adjustment(request: pb.CalculateRequest) -> tuple[float | None, float | None]:
    which = request.WhichOneof("adjustment")
    if which == "offset":
        return request.offset, None
    if which == "learning_rate":
        return None, request.learning_rate
    return None, None


def _check_offset(offset: float, path: str) -> None:
    try:
        check_adjustment(offset=offset)
    except ConfigError as error:
        raise ConfigError(FieldViolation(path, v.description) for v in error.violations) from None


def _check_expected_version(request: pb.SaveProfileRequest | pb.ImportProfileRequest) -> None:
    if request.HasField("expected_version") and request.expected_version < 0:
        raise _invalid(
            "expected_version",
            f"must be 0 (create only) or a current version of 1 or more; got {request.expected_version}",
        )
