"""The engine server: `create_server(settings) -> (server, port)` and `serve(settings)`.

Serves LRToolEngine with the standard health service (SERVING once ready) and
server reflection; shuts down gracefully on SIGTERM / SIGINT (health goes
NOT_SERVING, in-flight calls get a grace period, the store is closed cleanly).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import platform
import signal
import threading
from collections.abc import Callable
from concurrent import futures
from pathlib import Path
from types import FrameType
from typing import Any, cast

import grpc
import platformdirs
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from ._auth import TokenAuthInterceptor, check_exposure, read_token
from ._batch_processes import BatchProcesses, default_batch_processes
from ._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from .service import DEFAULT_MAX_CALL_SECONDS, DEFAULT_WORKERS, SERVICE_NAME, Limits, LRToolEngineService
from .store import DB_FILE_NAME, ProfileStore, open_store

log = logging.getLogger("lrtool.server")

#: Seconds past the grace period that a shutdown waits for gRPC before closing regardless.
_STOP_MARGIN_SECONDS = 5.0

#: A 10,000-request CalculateBatch is ~1.5 MB on the wire; its answer is ~17 MB when every
#: result carries the calibrated set's factors and evidence (~1.7 kB each, warnings aside).
#: These limits leave room for that and little more.
DEFAULT_MAX_RECEIVE_BYTES = 4 * 1024 * 1024
DEFAULT_MAX_SEND_BYTES = 32 * 1024 * 1024


def listen_address(host: str, port: int) -> str:
    """host:port, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def default_db_path() -> str:
    """The profile store in the user's data directory (e.g. ~/.local/share/lrtool)."""
    return str(platformdirs.user_data_path("lrtool", appauthor=False) / DB_FILE_NAME)


def describe_store(location: str) -> str:
    """The store location for logs: a PostgreSQL URL without its password."""
    if "://" not in location:
        return location
    scheme, _, rest = location.partition("://")
    credentials, at, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if at else location


class Settings(BaseSettings):
    """Server settings: flags, else LRTOOL_* environment variables, else these defaults."""

    model_config = SettingsConfigDict(env_prefix="LRTOOL_", extra="ignore")

    host: str = Field("127.0.0.1", description="address to listen on")
    port: int = Field(50051, ge=0, le=65535, description="port to listen on (0 picks a free one)")
    db: str = Field(
        default_factory=default_db_path,
        description="profile store: a SQLite file, or postgresql://user:password@host/database shared by replicas",
    )
    workers: int = Field(DEFAULT_WORKERS, ge=1, le=256, description="calls computing at once; more wait their turn")
    batch_processes: int = Field(
        default_factory=default_batch_processes,
        ge=0,
        le=64,
        description="helper processes that share large CalculateBatch calls (0: none; default: one per CPU"
        " beyond the first, at most 4)",
    )
    max_call_seconds: float = Field(
        DEFAULT_MAX_CALL_SECONDS,
        gt=0,
        le=86_400,
        description="the longest any call may run, deadline or not",
    )
    grace_seconds: float = Field(5.0, ge=0, le=600, description="time in-flight calls get at shutdown")
    max_receive_message_bytes: int = Field(DEFAULT_MAX_RECEIVE_BYTES, ge=64 * 1024)
    max_send_message_bytes: int = Field(DEFAULT_MAX_SEND_BYTES, ge=64 * 1024)
    max_batch_requests: int = Field(10_000, ge=1, le=1_000_000, description="requests per CalculateBatch")
    max_curve_points: int = Field(10_000, ge=2, le=1_000_000, description="points per curve in GetCurves")
    max_concurrent_rpcs: int = Field(
        256, ge=1, le=100_000, description="calls in progress at once; more get RESOURCE_EXHAUSTED"
    )
    log_level: str = Field("INFO", description="DEBUG, INFO, WARNING or ERROR")
    tls_cert: Path | None = Field(None, description="PEM certificate chain of the server (enables TLS)")
    tls_key: Path | None = Field(None, description="PEM private key of the server")
    token: SecretStr | None = Field(None, description="bearer token every caller must send (LRTOOL_TOKEN)")
    token_file: Path | None = Field(None, description="file holding the bearer token")
    insecure: bool = Field(False, description="allow a non-loopback address without TLS and a token")

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        # "[::1]" as in a URL: the brackets are added back where an address needs them.
        return value[1:-1] if value.startswith("[") and value.endswith("]") else value

    @field_validator("db", mode="before")
    @classmethod
    def _location_text(cls, value: object) -> object:
        # A path object is a SQLite file; URLs stay text (Path would fold "//" and break them).
        return os.fspath(value) if isinstance(value, os.PathLike) else value


class EngineServer:
    """A started-or-not gRPC server with its health service and store, stopped as one."""

    def __init__(
        self,
        server: grpc.Server,
        health_servicer: health.HealthServicer,
        store: ProfileStore,
        grace: float,
        batch_processes: BatchProcesses | None = None,
    ) -> None:
        self.grpc_server = server
        self.health = health_servicer
        self.store = store
        self.batch_processes = batch_processes
        self._grace = grace
        self._stopped = threading.Event()
        self._stop_lock = threading.Lock()

    def start(self) -> None:
        self.grpc_server.start()
        for service in ("", SERVICE_NAME):
            self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace: float | None = None) -> None:
        """NOT_SERVING first (load balancers drain), then stop with a grace period, then close the store."""
        with self._stop_lock:
            if self._stopped.is_set():
                return
            grace = self._grace if grace is None else grace
            self.health.enter_graceful_shutdown()
            log.info("health NOT_SERVING; letting calls in flight finish (up to %.1f s)", grace)
            # Bounded: a call that ignores cancellation must not keep the process alive.
            if not self.grpc_server.stop(grace).wait(grace + _STOP_MARGIN_SECONDS):
                log.warning("gRPC did not finish stopping within %.1f s; closing anyway", grace + _STOP_MARGIN_SECONDS)
            if self.batch_processes is not None:
                self.batch_processes.close()
            self.store.close()
            log.info("profile store closed")
            self._stopped.set()

    def wait_for_termination(self, timeout: float | None = None) -> bool:
        return self._stopped.wait(timeout)


def _credentials(settings: Settings) -> grpc.ServerCredentials | None:
    if settings.tls_cert is None and settings.tls_key is None:
        return None
    if settings.tls_cert is None or settings.tls_key is None:
        raise ValueError("tls_cert and tls_key: give both the certificate and its key, or neither")
    try:
        chain, key = settings.tls_cert.read_bytes(), settings.tls_key.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the TLS files: {error}") from None
    return grpc.ssl_server_credentials([(key, chain)])


class _SerializedAnswers:
    """Registers a service as its generated code does, except that a method may answer with the
    bytes of its response message, serialized already: CalculateBatch writes its answer from
    columns (_wire.py), and parsing those bytes into a message only for gRPC to serialize it
    again would cost a tenth of the call."""

    def __init__(self, server: grpc.Server) -> None:
        self._server = server

    def add_generic_rpc_handlers(self, handlers: Any) -> None:
        """Ignored: add_registered_method_handlers receives the same handlers and adds both."""

    def add_registered_method_handlers(self, service: str, handlers: dict[str, Any]) -> None:
        passing = {
            name: handler._replace(response_serializer=_bytes_as_they_are(handler.response_serializer))
            for name, handler in handlers.items()
        }
        self._server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, passing),))
        self._server.add_registered_method_handlers(service, passing)


def _bytes_as_they_are(serialize: Callable[[Any], bytes]) -> Callable[[Any], bytes]:
    def serialized(response: Any) -> bytes:
        return response if type(response) is bytes else serialize(response)

    return serialized


def create_server(settings: Settings | None = None, store: ProfileStore | None = None) -> tuple[EngineServer, int]:
    """Build the server (not started) and bind it; returns it with the port it listens on.

    Raises ValueError for unusable settings (TLS files, a token file, or a non-loopback
    address without TLS and a token) and OSError when the address cannot be bound.
    """
    settings = settings or Settings()
    token = read_token(settings.token.get_secret_value() if settings.token else None, settings.token_file)
    credentials = _credentials(settings)
    check_exposure(settings.host, tls=credentials is not None, token=token, insecure=settings.insecure)
    store = store or open_store(settings.db)
    server = grpc.server(
        # A thread for every call gRPC accepts: calls wait for a worker in the service, not in this pool's
        # queue, so the health check answers while every worker is busy. Threads start only when needed.
        futures.ThreadPoolExecutor(max_workers=settings.max_concurrent_rpcs, thread_name_prefix="lrtool-rpc"),
        interceptors=[TokenAuthInterceptor(token)] if token else [],
        options=[
            ("grpc.max_receive_message_length", settings.max_receive_message_bytes),
            ("grpc.max_send_message_length", settings.max_send_message_bytes),
        ],
        maximum_concurrent_rpcs=settings.max_concurrent_rpcs,
    )
    limits = Limits(
        max_batch_requests=settings.max_batch_requests,
        max_curve_points=settings.max_curve_points,
        max_call_seconds=settings.max_call_seconds,
        workers=settings.workers,
    )
    # The generated function only adds handlers, which is all _SerializedAnswers takes.
    registering = cast(grpc.Server, _SerializedAnswers(server))
    engine_service = LRToolEngineService(store, limits, settings.batch_processes)
    pb_grpc.add_LRToolEngineServicer_to_server(engine_service, registering)
    health_servicer = health.HealthServicer(experimental_non_blocking=True)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    for service in ("", SERVICE_NAME):
        health_servicer.set(service, health_pb2.HealthCheckResponse.NOT_SERVING)
    # With a token set, the interceptor serves reflection to authenticated callers only.
    reflection.enable_server_reflection(
        (SERVICE_NAME, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME), server
    )
    address = listen_address(settings.host, settings.port)
    try:
        if credentials is None:
            port = server.add_insecure_port(address)
        else:
            port = server.add_secure_port(address, credentials)
    except RuntimeError as error:
        store.close()
        raise OSError(f"cannot listen on {address}: {error}") from None
    return EngineServer(server, health_servicer, store, settings.grace_seconds, engine_service.batch_processes), port


#: glibc's mallopt parameter for the most malloc arenas (malloc.h), and the count a server keeps.
_M_ARENA_MAX = -8
_SERVER_MALLOC_ARENAS = 2


def limit_malloc_arenas() -> None:
    """On glibc, keep this process to a few malloc arenas, as MALLOC_ARENA_MAX=2 would (unless
    that is set). gRPC serves each call on a thread, glibc gives busy threads arenas of their
    own, and each arena keeps the most that any call on it ever took: under load with large
    batches the server's memory crept up by tens of MiB (bench/load.py). Python's own lock
    serializes most allocation anyway, so fewer arenas cost nothing measurable."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return
    name = ctypes.util.find_library("c")
    mallopt = getattr(ctypes.CDLL(name), "mallopt", None) if name else None
    if mallopt is not None and "glibc" in platform.libc_ver()[0]:
        mallopt(_M_ARENA_MAX, _SERVER_MALLOC_ARENAS)


def serve(settings: Settings | None = None, on_ready: threading.Event | None = None) -> None:
    """Run the engine until SIGTERM or SIGINT, then shut down gracefully."""
    settings = settings or Settings()
    limit_malloc_arenas()  # before gRPC starts its threads
    server, port = create_server(settings)
    server.start()
    secured = "TLS" if settings.tls_cert else "plaintext"
    where = describe_store(settings.db)
    log.info("LRTool engine listening on %s (%s; profiles in %s)", listen_address(settings.host, port), secured, where)

    def shut_down(signum: int, frame: FrameType | None) -> None:
        log.info("%s received: shutting down (grace %.1f s)", signal.Signals(signum).name, settings.grace_seconds)
        threading.Thread(target=server.stop, name="lrtool-shutdown").start()

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, shut_down)
        signal.signal(signal.SIGINT, shut_down)
    if on_ready is not None:
        on_ready.set()
    server.wait_for_termination()
    log.info("LRTool engine stopped")
