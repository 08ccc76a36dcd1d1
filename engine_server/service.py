"""The LRToolEngine gRPC service: maps messages onto the engine and the profile store."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from . import _convert, _status
from ._generated.lrtool.v1 import engine_pb2 as pb
from ._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from .engine import (
    Calculation,
    Cancelled,
    ConfigError,
    FieldViolation,
    TrainingConfig,
    calculate,
    calculate_rows,
    check_adjustment,
    schedule_curve,
    score_curve,
    stop_when,
)
from .profile_files import ProfileFile, ProfileFileError, read_profile_file, write_profile_file
from .store import (
    InvalidProfileName,
    ProfileExists,
    ProfileNotFound,
    ProfileStore,
    StoreBusy,
    StoredProfile,
    VersionConflict,
    validate_profile_name,
)
from .trainer_configs import TrainerConfigError, export_trainer_config, import_trainer_config

log = logging.getLogger("lrtool.service")

SERVICE_NAME = pb.DESCRIPTOR.services_by_name["LRToolEngine"].full_name

#: Requests converted between two deadline checks in a batch.
_DEADLINE_CHECK_EVERY = 1000


@dataclass(frozen=True, slots=True)
class Limits:
    """What one call may ask for; each limit answers with a clear error."""

    max_batch_requests: int = 10_000
    max_curve_points: int = 10_000
    default_curve_points: int = 200
    max_notes_characters: int = 10_000
    default_page_size: int = 50
    max_page_size: int = 1000


class _Abort(Exception):
    """A failure already turned into a gRPC status."""

    def __init__(self, status: grpc.Status, summary: str) -> None:
        super().__init__(summary)
        self.status = status


RequestT = TypeVar("RequestT")
ResponseT = TypeVar("ResponseT")
Handler = Callable[[Any, RequestT, grpc.ServicerContext], ResponseT]


def _rpc(handler: Handler[RequestT, ResponseT]) -> Handler[RequestT, ResponseT]:
    """Map every failure to its status (API.md) and log one line for it; nothing escapes as UNKNOWN."""
    name = handler.__name__

    @functools.wraps(handler)
    def wrapper(self: Any, request: RequestT, context: grpc.ServicerContext) -> ResponseT:
        try:
            # Long engine work stops at the caller's deadline instead of finishing for no one.
            with stop_when(lambda: _expired(context)):
                return handler(self, request, context)
        except Cancelled as stopped:
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
            log.error("%s failed: INTERNAL %s: %s", name, type(error).__name__, error)
            log.debug("%s traceback", name, exc_info=True)
            status = _status.plain(grpc.StatusCode.INTERNAL, "internal error in the LRTool engine; see its log")
            context.abort_with_status(status)
            raise AssertionError("unreachable: abort_with_status raises") from None  # pragma: no cover
        # The caller's mistake, not the server's: one line, at INFO.
        log.info("%s failed: %s %s", name, status.code.name, summary)
        context.abort_with_status(status)
        raise AssertionError("unreachable: abort_with_status raises")  # pragma: no cover

    return wrapper


def _invalid(field: str, description: str) -> ConfigError:
    return ConfigError([FieldViolation(field, description)])


def _config(message: pb.TrainingConfig, path: str) -> TrainingConfig:
    try:
        return _convert.config_from_proto(message)
    except ConfigError as error:
        raise error.under(path) from None


def _calculate(config: TrainingConfig, offset: float | None, learning_rate: float | None, path: str) -> Calculation:
    """calculate(), with configuration problems reported under `path` (e.g. "config")."""
    try:
        return calculate(config, offset, learning_rate)
    except ConfigError as error:
        raise ConfigError(
            violation if violation.field in ("offset", "learning_rate") else violation.under(path)
            for violation in error.violations
        ) from None


def _profile_name(name: str, path: str) -> str:
    try:
        return validate_profile_name(name)
    except InvalidProfileName as error:
        message = str(error).removeprefix("name: ")
        raise _invalid(path, message) from None


def _expired(context: grpc.ServicerContext) -> bool:
    """The caller's deadline has passed or it has gone away: stop working for it."""
    remaining = context.time_remaining()
    return (remaining is not None and remaining <= 0) or not context.is_active()


def _check_deadline(context: grpc.ServicerContext) -> None:
    """For the service's own loops; _rpc turns Cancelled into DEADLINE_EXCEEDED."""
    if _expired(context):
        raise Cancelled(0)


def _filename(name: str) -> str:
    stem = re.sub(r"[^0-9A-Za-z._-]+", "_", name).strip("._") or "profile"
    return f"{stem}.json"


class LRToolEngineService(pb_grpc.LRToolEngineServicer):
    """Each RPC validates, computes with the engine and answers; the store keeps profiles."""

    def __init__(self, store: ProfileStore, limits: Limits | None = None) -> None:
        self._store = store
        self._limits = limits or Limits()

    # --- Calculation ---------------------------------------------------------

    @_rpc
    def GetCatalog(self, request: pb.GetCatalogRequest, context: grpc.ServicerContext) -> pb.Catalog:
        return _convert.catalog_to_proto()

    @_rpc
    def Calculate(self, request: pb.CalculateRequest, context: grpc.ServicerContext) -> pb.Calculation:
        config = _config(request.config, "config")
        offset, learning_rate = _adjustment(request)
        return _convert.calculation_to_proto(_calculate(config, offset, learning_rate, "config"))

    @_rpc
    def CalculateBatch(
        self, request: pb.CalculateBatchRequest, context: grpc.ServicerContext
    ) -> pb.CalculateBatchResponse:
        count = len(request.requests)
        if count > self._limits.max_batch_requests:
            raise _invalid(
                "requests",
                f"at most {self._limits.max_batch_requests:,} requests per call; got {count:,}: split the batch",
            )
        configs: list[dict[str, Any]] = []
        offsets: list[float | None] = []
        learning_rates: list[float | None] = []
        for index, item in enumerate(request.requests):
            if index % _DEADLINE_CHECK_EVERY == 0:
                _check_deadline(context)
            offset, learning_rate = _adjustment(item)
            offsets.append(offset)
            learning_rates.append(learning_rate)
            configs.append(_convert.config_fields_from_proto(item.config))
        # Checked column by column, with the same violations as item by item; stops at the deadline: see _rpc.
        calculations = calculate_rows(configs, offsets, learning_rates)
        return _convert.calculations_to_proto(calculations)

    @_rpc
    def GetCurves(self, request: pb.GetCurvesRequest, context: grpc.ServicerContext) -> pb.Curves:
        config = _config(request.config, "config")
        points = request.points or self._limits.default_curve_points
        if not 2 <= points <= self._limits.max_curve_points:
            raise _invalid("points", f"must be an integer from 2 to {self._limits.max_curve_points:,}; got {points:,}")
        calculation = _calculate(config, request.offset, None, "config")
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
        if len(notes) > self._limits.max_notes_characters:
            raise _invalid(
                "profile.notes",
                f"must be at most {self._limits.max_notes_characters:,} characters; got {len(notes):,}",
            )

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
        except ValueError as error:
            raise _invalid("page_token", str(error).removeprefix("page_token: ")) from None
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
                FieldViolation("name", f"{path or 'profile'}: {text}") for path, text in error.problems
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

    # --- Trainer config files --------------------------------------------------

    @_rpc
    def ImportTrainerConfig(
        self, request: pb.ImportTrainerConfigRequest, context: grpc.ServicerContext
    ) -> pb.ImportTrainerConfigResponse:
        overrides = _convert.config_fields_from_proto(request.overrides)
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
        response = pb.ImportTrainerConfigResponse(
            format=imported.format,
            config=_convert.config_to_proto(imported.config),
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
        raise ConfigError(
            FieldViolation(f"content.{path}" if path else "content", text) for path, text in error.problems
        ) from None


def _file_problems(error: TrainerConfigError, field: str) -> ConfigError:
    """A trainer file's problems as violations of the request field that carried the file."""
    violations = []
    for where, text in error.problems:
        if not where:
            violations.append(FieldViolation(field, text))
        elif where.startswith("line "):
            violations.append(FieldViolation(field, f"{where}: {text}"))
        else:
            violations.append(FieldViolation(f"{field}.{where}", text))
    return ConfigError(violations)


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
