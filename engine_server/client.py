"""Python client of the LRTool engine: typed methods for every RPC.

    from engine_server.client import LRToolClient

    with LRToolClient("127.0.0.1:50051") as engine:
        result = engine.calculate({"model": "SDXL", "resolution": 1024, "steps": 2000, "images": 40,
                                   "rank": 32, "alpha": 16, "optimizer": "AdamW8bit",
                                   "scheduler": "cosine", "objective": "Character"})
        print(result.recommended_lr)

Failures raise `LRToolClientError` subclasses (status code mapped; field
violations attached). This module imports neither numpy, the engine nor the store.

    LRToolClientError
    ├── EngineUnavailable      UNAVAILABLE: nothing answers at the address, or it is shutting down
    ├── InvalidArgument        INVALID_ARGUMENT: .violations lists every FieldViolation (field, description, accepted)
    ├── ProfileNotFound        NOT_FOUND (a profile)
    ├── RunNotFound            NOT_FOUND (a run of the run log)
    ├── VersionConflict        ABORTED: compare-and-set lost; reload and retry
    ├── ProfileAlreadyExists   ALREADY_EXISTS
    ├── DeadlineExceeded       DEADLINE_EXCEEDED
    ├── Unauthenticated        UNAUTHENTICATED / PERMISSION_DENIED: wrong or missing token
    ├── EngineBusy             RESOURCE_EXHAUSTED: a limit of the engine (message size, concurrent calls)
    └── ServerError            anything else (a bug in the engine: see its log)

Security settings come from the arguments or the environment: LRTOOL_TOKEN /
LRTOOL_TOKEN_FILE (sent as `authorization: Bearer <token>`) and LRTOOL_CA_FILE
(use TLS, trusting that CA; LRTOOL_TLS=1 uses TLS with the system's CAs). A token
goes in clear text only to a loopback address, unless insecure=True / LRTOOL_INSECURE=1.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import grpc
from google.rpc import error_details_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_status import rpc_status

from ._auth import is_loopback
from ._generated.lrtool.v1 import engine_pb2 as pb
from ._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from .violations import ACCEPTED_REASON, ERROR_DOMAIN, FieldViolation

DEFAULT_ENGINE = "127.0.0.1:50051"
#: Seconds a call may take unless told otherwise; batches get more.
DEFAULT_TIMEOUT = 10.0
BATCH_TIMEOUT = 60.0
#: Large enough for the answer to a 10,000-request CalculateBatch (~17 MB with every result's factors).
MAX_MESSAGE_BYTES = 32 * 1024 * 1024
#: Reconnect within seconds once a restarted engine is back (gRPC's default backoff grows to 2 minutes).
CHANNEL_OPTIONS: tuple[tuple[str, int], ...] = (
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    ("grpc.initial_reconnect_backoff_ms", 250),
    ("grpc.min_reconnect_backoff_ms", 250),
    ("grpc.max_reconnect_backoff_ms", 2000),
)

ConfigInput = Mapping[str, Any] | pb.TrainingConfig
#: An outcome: a word ("good", "OVERTRAINED"; "" for none) or the enum's value (pb.GOOD).
OutcomeInput = str | int


def default_engine_address() -> str:
    """LRTOOL_ENGINE, else 127.0.0.1:50051."""
    return os.environ.get("LRTOOL_ENGINE") or DEFAULT_ENGINE


def default_token() -> str | None:
    """LRTOOL_TOKEN, else the first line of the file LRTOOL_TOKEN_FILE names."""
    token = os.environ.get("LRTOOL_TOKEN")
    if token:
        return token.strip()
    path = os.environ.get("LRTOOL_TOKEN_FILE")
    if path:
        try:
            with open(path, encoding="utf-8") as handle:
                return handle.readline().strip() or None
        except OSError as error:
            raise LRToolClientError(f"cannot read the token file {path}: {error.strerror}") from None
    return None


def default_insecure() -> bool:
    """LRTOOL_INSECURE=1: send the token even over plaintext to a non-loopback address."""
    return os.environ.get("LRTOOL_INSECURE") == "1"


def _target_host(target: str) -> str | None:
    """The host a gRPC target names ("host:port", "[::1]:port", "dns:///host:port", "ipv4:…");
    None for a Unix socket, which never leaves the machine."""
    if target.startswith(("unix:", "unix-abstract:")):
        return None
    address = target
    for scheme in ("dns:", "ipv4:", "ipv6:"):
        if address.startswith(scheme):
            address = address.removeprefix(scheme)
            if address.startswith("//"):  # dns://resolver/host:port
                address = address[2:].partition("/")[2]
            address = address.split(",", 1)[0]
            break
    if address.startswith("["):
        return address[1 : address.find("]")]
    if address.count(":") == 1:
        return address.partition(":")[0]
    return address


def default_ca_file() -> str | None:
    """LRTOOL_CA_FILE: the CA certificate a TLS engine's certificate is checked against."""
    return os.environ.get("LRTOOL_CA_FILE") or None


class LRToolClientError(Exception):
    """A call to the engine failed; `code` is the gRPC status code."""

    def __init__(self, message: str, code: grpc.StatusCode | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


class EngineUnavailable(LRToolClientError):
    pass


class InvalidArgument(LRToolClientError):
    """INVALID_ARGUMENT: `violations` are the engine's FieldViolations, every bad field with what it accepts."""

    def __init__(self, message: str, violations: Iterable[FieldViolation], code: grpc.StatusCode | None = None) -> None:
        super().__init__(message, code or grpc.StatusCode.INVALID_ARGUMENT)
        self.violations: tuple[FieldViolation, ...] = tuple(violations)


class ProfileNotFound(LRToolClientError):
    pass


class RunNotFound(LRToolClientError):
    pass


class VersionConflict(LRToolClientError):
    pass


class ProfileAlreadyExists(LRToolClientError):
    pass


class DeadlineExceeded(LRToolClientError):
    pass


class Unauthenticated(LRToolClientError):
    pass


class EngineBusy(LRToolClientError):
    """RESOURCE_EXHAUSTED: a limit of the engine (message size, concurrent calls); the message says which."""


class ServerError(LRToolClientError):
    pass


_ERRORS: dict[grpc.StatusCode, type[LRToolClientError]] = {
    grpc.StatusCode.UNAVAILABLE: EngineUnavailable,
    grpc.StatusCode.NOT_FOUND: ProfileNotFound,
    grpc.StatusCode.ABORTED: VersionConflict,
    grpc.StatusCode.ALREADY_EXISTS: ProfileAlreadyExists,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
    grpc.StatusCode.UNAUTHENTICATED: Unauthenticated,
    grpc.StatusCode.PERMISSION_DENIED: Unauthenticated,
    grpc.StatusCode.RESOURCE_EXHAUSTED: EngineBusy,
}


def _error_from(
    error: grpc.RpcError, target: str, not_found: type[LRToolClientError] = ProfileNotFound
) -> LRToolClientError:
    call: Any = error
    code: grpc.StatusCode = call.code()
    details: str = call.details() or code.name
    if code == grpc.StatusCode.UNAVAILABLE:
        reason = "connection refused" if "refused" in details.lower() else details
        return EngineUnavailable(
            f"cannot reach the LRTool engine at {target} ({reason}); start it with `lrtool serve`"
            " (or `make run`), or point --engine / LRTOOL_ENGINE at a running engine",
            code,
        )
    if code == grpc.StatusCode.INVALID_ARGUMENT:
        return InvalidArgument(details, _violations(rpc_status.from_call(call)), code)
    if code == grpc.StatusCode.NOT_FOUND:
        return not_found(details, code)
    return _ERRORS.get(code, ServerError)(details, code)


def _violations(status: Any) -> list[FieldViolation]:
    """The BadRequest's field violations of an INVALID_ARGUMENT status, with what each field accepts."""
    found: list[error_details_pb2.BadRequest.FieldViolation] = []
    accepted: dict[str, str] = {}
    for detail in status.details if status is not None else ():
        if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
            found.extend(bad_request.field_violations)
        elif detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            if info.domain == ERROR_DOMAIN and info.reason == ACCEPTED_REASON:
                accepted.update(info.metadata)
    return [FieldViolation(v.field, v.description, accepted.get(v.field, "")) for v in found]


def config_message(config: ConfigInput) -> pb.TrainingConfig:
    """A TrainingConfig message from a mapping of field names (None values are left unset)."""
    if isinstance(config, pb.TrainingConfig):
        return config
    try:
        return pb.TrainingConfig(**_set_fields(config))
    except (TypeError, ValueError):
        problems = _config_problems(config)
        if not problems.violations:  # pragma: no cover - the fields one by one fail as they fail together
            raise
        raise problems from None


def _set_fields(config: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in config.items() if value is not None}


def _config_problems(config: Mapping[str, Any]) -> InvalidArgument:
    """Every field of `config` that a TrainingConfig message cannot hold, named (a message built in
    one call says only that something was wrong)."""
    message = pb.TrainingConfig()
    problems: list[FieldViolation] = []
    for name, value in _set_fields(config).items():
        field = pb.TrainingConfig.DESCRIPTOR.fields_by_name.get(name)
        if field is None:
            accepted = ", ".join(pb.TrainingConfig.DESCRIPTOR.fields_by_name)
            problems.append(
                FieldViolation(f"config.{name}", f"is not a configuration field; accepted fields: {accepted}")
            )
            continue
        try:
            setattr(message, name, value)
        except (TypeError, ValueError) as error:
            problems.append(FieldViolation(f"config.{name}", f"cannot be {value!r} ({error})"))
    return InvalidArgument("; ".join(map(str, problems)), problems)


def outcome_value(outcome: OutcomeInput) -> pb.Outcome:
    """The Outcome enum value of a word ("good", "Overtrained", "" for none) or of a value already."""
    if isinstance(outcome, int):
        return outcome  # type: ignore[return-value]  # the engine checks the number
    word = outcome.strip().upper()
    if not word:
        return pb.OUTCOME_UNSPECIFIED
    if word == "OUTCOME_UNSPECIFIED" or word not in pb.Outcome.keys():  # noqa: SIM118 (an enum wrapper, not a dict)
        accepted = ", ".join(name for name in pb.Outcome.keys() if name != "OUTCOME_UNSPECIFIED")  # noqa: SIM118
        problem = FieldViolation("outcome", f"must be one of {accepted} (or empty); got {outcome!r}")
        raise InvalidArgument(str(problem), [problem])
    return pb.Outcome.Value(word)  # type: ignore[return-value]


def calculate_request(
    config: ConfigInput,
    offset: float | None = None,
    learning_rate: float | None = None,
    *,
    run_log: str = "",
    population_only: bool = False,
) -> pb.CalculateRequest:
    """A CalculateRequest; `run_log` personalizes it ("" = the default log), `population_only` ignores every log."""
    fields: dict[str, Any] = {"run_log": run_log, "population_only": population_only}
    if offset is not None:
        fields["offset"] = offset
    if learning_rate is not None:
        fields["learning_rate"] = learning_rate
    # Built in one call: a slider or a node asks for a request on every move.
    return pb.CalculateRequest(config=config_message(config), **fields)


ResponseT = TypeVar("ResponseT")


class LRToolClient:
    """A connection to one engine. Use as a context manager, or call close()."""

    def __init__(
        self,
        target: str | None = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        token: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        tls: bool | None = None,
        insecure: bool | None = None,
        channel: grpc.Channel | None = None,
    ) -> None:
        self.target = target or default_engine_address()
        self.timeout = timeout
        token = token if token is not None else default_token()
        self._metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()
        self._owns_channel = channel is None
        if channel is None:
            ca_file = ca_file if ca_file is not None else default_ca_file()
            use_tls = tls if tls is not None else (ca_file is not None or os.environ.get("LRTOOL_TLS") == "1")
            if token and not use_tls:
                self._check_plaintext_token(default_insecure() if insecure is None else insecure)
            channel = self._open_channel(ca_file, use_tls)
        self._channel = channel
        self._stub = pb_grpc.LRToolEngineStub(self._channel)
        # typeshed's HealthStub declares no methods; the calls are typed where they are made.
        self._health: Any = health_pb2_grpc.HealthStub(self._channel)

    def _check_plaintext_token(self, insecure: bool) -> None:
        """A token sent in clear text beyond this machine can be read on the way: refuse unless told."""
        host = _target_host(self.target)
        if insecure or host is None or is_loopback(host):
            return
        raise LRToolClientError(
            f"refusing to send the token in clear text to {host}: the connection to {self.target} has no TLS."
            " Give the engine's CA (ca_file= / --ca-file / LRTOOL_CA_FILE, or LRTOOL_TLS=1 for the system's"
            " CAs), or pass insecure=True / LRTOOL_INSECURE=1 to accept that"
        )

    def _open_channel(self, ca_file: str | os.PathLike[str] | None, use_tls: bool) -> grpc.Channel:
        if not use_tls:
            return grpc.insecure_channel(self.target, options=list(CHANNEL_OPTIONS))
        roots = None
        if ca_file is not None:
            try:
                with open(ca_file, "rb") as handle:
                    roots = handle.read()
            except OSError as error:
                raise LRToolClientError(f"cannot read the CA file {ca_file}: {error.strerror}") from None
        credentials = grpc.ssl_channel_credentials(root_certificates=roots)
        return grpc.secure_channel(self.target, credentials, options=list(CHANNEL_OPTIONS))

    def __enter__(self) -> LRToolClient:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._owns_channel:
            self._channel.close()

    def _call(
        self,
        method: Callable[..., ResponseT],
        request: Any,
        timeout: float | None,
        not_found: type[LRToolClientError] = ProfileNotFound,
    ) -> ResponseT:
        try:
            return method(request, timeout=self.timeout if timeout is None else timeout, metadata=self._metadata)
        except grpc.RpcError as error:
            raise _error_from(error, self.target, not_found) from None

    # --- Service state ---------------------------------------------------------

    def is_serving(self, timeout: float | None = None) -> bool:
        """True when the engine's health service answers SERVING."""
        try:
            response: health_pb2.HealthCheckResponse = self._call(
                self._health.Check, health_pb2.HealthCheckRequest(service=""), timeout
            )
        except LRToolClientError:
            return False
        return bool(response.status == health_pb2.HealthCheckResponse.SERVING)

    def wait_until_serving(self, timeout: float = 30.0) -> None:
        """Block until the engine answers (e.g. just after starting it); EngineUnavailable after `timeout`."""
        try:
            grpc.channel_ready_future(self._channel).result(timeout=timeout)
        except grpc.FutureTimeoutError:
            raise EngineUnavailable(f"the LRTool engine at {self.target} did not start within {timeout:g} s") from None
        if not self.is_serving(timeout):
            raise EngineUnavailable(f"the LRTool engine at {self.target} is not serving")

    # --- Calculation ----------------------------------------------------------

    def get_catalog(self, *, timeout: float | None = None) -> pb.Catalog:
        return self._call(self._stub.GetCatalog, pb.GetCatalogRequest(), timeout)

    def calculate(
        self,
        config: ConfigInput,
        *,
        offset: float | None = None,
        learning_rate: float | None = None,
        run_log: str = "",
        population_only: bool = False,
        timeout: float | None = None,
    ) -> pb.Calculation:
        """Recommend a learning rate (and score it at `offset`), or score `learning_rate`.

        The recommendation learns from the runs of `run_log` ("" = the default log) unless
        `population_only`; population_lr always holds the population's own recommendation.
        """
        request = calculate_request(config, offset, learning_rate, run_log=run_log, population_only=population_only)
        return self._call(self._stub.Calculate, request, timeout)

    def calculate_batch(
        self,
        requests: Iterable[pb.CalculateRequest | ConfigInput],
        *,
        statistics_only: bool = False,
        timeout: float | None = None,
    ) -> list[pb.Calculation]:
        """Many calculations in one call; items are CalculateRequest messages (see
        calculate_request) or plain configurations (offset 0). `statistics_only` leaves out each
        result's factors and evidence band: a far smaller and faster answer."""
        items = [r if isinstance(r, pb.CalculateRequest) else calculate_request(r) for r in requests]
        detail = pb.RESULT_DETAIL_STATISTICS if statistics_only else pb.RESULT_DETAIL_FULL
        response = self._call(
            self._stub.CalculateBatch,
            pb.CalculateBatchRequest(requests=items, detail=detail),
            BATCH_TIMEOUT if timeout is None else timeout,
        )
        return list(response.results)

    def get_curves(
        self,
        config: ConfigInput,
        *,
        offset: float = 0.0,
        points: int = 200,
        run_log: str = "",
        population_only: bool = False,
        timeout: float | None = None,
    ) -> pb.Curves:
        """Plot data, and the calculation at `offset` (learning from `run_log` as calculate does)."""
        request = pb.GetCurvesRequest(
            config=config_message(config),
            offset=offset,
            points=points,
            run_log=run_log,
            population_only=population_only,
        )
        return self._call(self._stub.GetCurves, request, timeout)

    # --- Profiles --------------------------------------------------------------

    def save_profile(
        self,
        name: str,
        config: ConfigInput,
        *,
        offset: float = 0.0,
        notes: str = "",
        expected_version: int | None = None,
        timeout: float | None = None,
    ) -> pb.Profile:
        """Store a profile; expected_version 0 creates only, n > 0 updates only version n."""
        request = pb.SaveProfileRequest(
            profile=pb.Profile(name=name, config=config_message(config), offset=offset, notes=notes)
        )
        if expected_version is not None:
            request.expected_version = expected_version
        return self._call(self._stub.SaveProfile, request, timeout)

    def get_profile(self, name: str, *, timeout: float | None = None) -> pb.Profile:
        return self._call(self._stub.GetProfile, pb.GetProfileRequest(name=name), timeout)

    def list_profiles(
        self, *, page_size: int = 50, page_token: str = "", timeout: float | None = None
    ) -> pb.ListProfilesResponse:
        request = pb.ListProfilesRequest(page_size=page_size, page_token=page_token)
        return self._call(self._stub.ListProfiles, request, timeout)

    def iter_profiles(self, *, page_size: int = 200) -> Iterator[pb.ProfileSummary]:
        """Every profile summary, page by page."""
        token = ""
        while True:
            page = self.list_profiles(page_size=page_size, page_token=token)
            yield from page.profiles
            token = page.next_page_token
            if not token:
                return

    def delete_profile(self, name: str, *, expected_version: int | None = None, timeout: float | None = None) -> None:
        request = pb.DeleteProfileRequest(name=name)
        if expected_version is not None:
            request.expected_version = expected_version
        self._call(self._stub.DeleteProfile, request, timeout)

    def set_default_profile(self, name: str | None, *, timeout: float | None = None) -> str:
        """Make `name` the profile clients load at start (None clears it)."""
        response = self._call(self._stub.SetDefaultProfile, pb.SetDefaultProfileRequest(name=name or ""), timeout)
        return response.name

    def default_profile(self, *, timeout: float | None = None) -> str | None:
        return self.list_profiles(page_size=1, timeout=timeout).default_profile or None

    def export_profile(self, name: str, *, timeout: float | None = None) -> pb.ExportProfileResponse:
        """The profile as an LRTool 1.0 profile file (content and a suggested file name)."""
        return self._call(self._stub.ExportProfile, pb.ExportProfileRequest(name=name), timeout)

    def import_trainer_config(
        self,
        content: bytes,
        filename: str = "",
        *,
        format: str = "",
        dataset_content: bytes = b"",
        dataset_filename: str = "",
        overrides: ConfigInput | None = None,
        timeout: float | None = None,
    ) -> pb.ImportTrainerConfigResponse:
        """Read a trainer config (kohya, kohya_ss GUI, ai-toolkit, OneTrainer, musubi-tuner): its configuration,
        the learning rates in it (scored), what is missing, and the recommendation when nothing is."""
        request = pb.ImportTrainerConfigRequest(
            content=content,
            filename=filename,
            format=format,
            dataset_content=dataset_content,
            dataset_filename=dataset_filename,
        )
        if overrides is not None:
            request.overrides.CopyFrom(config_message(overrides))
        return self._call(self._stub.ImportTrainerConfig, request, timeout)

    def export_trainer_config(
        self,
        content: bytes,
        learning_rate: float,
        filename: str = "",
        *,
        format: str = "",
        timeout: float | None = None,
    ) -> bytes:
        """The same trainer config with its learning rates set to train at `learning_rate`."""
        request = pb.ExportTrainerConfigRequest(
            content=content, filename=filename, format=format, learning_rate=learning_rate
        )
        return self._call(self._stub.ExportTrainerConfig, request, timeout).content

    def import_profile(
        self, content: bytes, name: str, *, expected_version: int | None = None, timeout: float | None = None
    ) -> pb.Profile:
        """Save an LRTool 1.0 profile file under `name`."""
        request = pb.ImportProfileRequest(content=content, name=name)
        if expected_version is not None:
            request.expected_version = expected_version
        return self._call(self._stub.ImportProfile, request, timeout)

    # --- The run log -----------------------------------------------------------

    def record_run(
        self,
        config: ConfigInput,
        learning_rate: float,
        *,
        outcome: OutcomeInput = "",
        best_step: int | None = None,
        notes: str = "",
        loss: Iterable[float] = (),
        log: str = "",
        timeout: float | None = None,
    ) -> pb.Run:
        """Record a run that was really trained ("" = the default log); its id and time are assigned."""
        run = pb.Run(
            log=log,
            config=config_message(config),
            learning_rate=learning_rate,
            outcome=outcome_value(outcome),
            notes=notes,
            loss=list(loss),
        )
        if best_step is not None:
            run.best_step = best_step
        return self._call(self._stub.RecordRun, pb.RecordRunRequest(run=run), timeout, RunNotFound)

    def list_runs(
        self, log: str = "", *, model: str = "", page_size: int = 50, page_token: str = "", timeout: float | None = None
    ) -> pb.ListRunsResponse:
        """One page of a log's runs, newest first (only `model`'s, if given)."""
        request = pb.ListRunsRequest(log=log, model=model, page_size=page_size, page_token=page_token)
        return self._call(self._stub.ListRuns, request, timeout, RunNotFound)

    def iter_runs(self, log: str = "", *, model: str = "", page_size: int = 200) -> Iterator[pb.Run]:
        """Every run of a log, newest first, page by page."""
        token = ""
        while True:
            page = self.list_runs(log, model=model, page_size=page_size, page_token=token)
            yield from page.runs
            token = page.next_page_token
            if not token:
                return

    def update_run(
        self,
        run_id: str,
        *,
        outcome: OutcomeInput = "",
        best_step: int | None = None,
        notes: str = "",
        timeout: float | None = None,
    ) -> pb.Run:
        """Set how a run came out (its outcome, best step and notes; the rest is what was trained)."""
        run = pb.Run(id=run_id, outcome=outcome_value(outcome), notes=notes)
        if best_step is not None:
            run.best_step = best_step
        return self._call(self._stub.UpdateRun, pb.UpdateRunRequest(run=run), timeout, RunNotFound)

    def delete_run(self, run_id: str, *, timeout: float | None = None) -> None:
        self._call(self._stub.DeleteRun, pb.DeleteRunRequest(id=run_id), timeout, RunNotFound)

    def import_runs(
        self,
        content: bytes,
        log: str = "",
        *,
        filename: str = "",
        base: ConfigInput | None = None,
        timeout: float | None = None,
    ) -> list[pb.Run]:
        """Record every run of a CSV tuning log, or none (INVALID_ARGUMENT names each bad row and field).
        Fields a row leaves out come from `base`."""
        request = pb.ImportRunsRequest(log=log, content=content, filename=filename)
        if base is not None:
            request.base.CopyFrom(config_message(base))
        return list(self._call(self._stub.ImportRuns, request, timeout, RunNotFound).runs)

    def export_runs(self, log: str = "", *, timeout: float | None = None) -> pb.ExportRunsResponse:
        """A log as the CSV import_runs reads (content and a suggested file name)."""
        return self._call(self._stub.ExportRuns, pb.ExportRunsRequest(log=log), timeout, RunNotFound)


__all__ = [
    "DEFAULT_ENGINE",
    "DeadlineExceeded",
    "EngineBusy",
    "EngineUnavailable",
    "FieldViolation",
    "InvalidArgument",
    "LRToolClient",
    "LRToolClientError",
    "ProfileAlreadyExists",
    "ProfileNotFound",
    "RunNotFound",
    "ServerError",
    "Unauthenticated",
    "VersionConflict",
    "calculate_request",
    "config_message",
    "default_ca_file",
    "default_engine_address",
    "default_insecure",
    "default_token",
    "outcome_value",
]
