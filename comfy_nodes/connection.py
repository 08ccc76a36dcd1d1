"""The pack's connection to the LRTool engine: where it is, starting a local one, the catalog.

The address is `LRTOOL_ENGINE` (default 127.0.0.1:50051). When nothing answers at a
loopback address the pack starts an engine there itself (`python -m engine_server.cli
serve`, in its own session, log in the user's log directory) unless `LRTOOL_AUTOSTART=0`;
an engine the pack started is stopped when the ComfyUI process exits. A remote address
that does not answer is an error that says so.

Everything goes through `engine_server.client.LRToolClient`; nothing here imports the engine.
"""

from __future__ import annotations

import atexit
import ipaddress
import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TypeVar

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server.client import EngineUnavailable, InvalidArgument, LRToolClient, LRToolClientError

from .catalog import load_snapshot

log = logging.getLogger("lrtool.comfy")

AUTOSTART_ENV = "LRTOOL_AUTOSTART"
AUTOSTART_TIMEOUT_ENV = "LRTOOL_AUTOSTART_TIMEOUT"
DEFAULT_PORT = 50051
#: Seconds to wait for an auto-started engine to answer.
DEFAULT_START_TIMEOUT = 60.0
#: Seconds a health probe may take (a refused local port answers at once).
PROBE_TIMEOUT = 3.0
#: Seconds between attempts to replace the shipped catalog by the engine's.
CATALOG_RETRY_SECONDS = 60.0

_FALSE = {"0", "false", "no", "off"}

T = TypeVar("T")


class NodeError(Exception):
    """An error ComfyUI shows on the node: the message is written for the person at the canvas."""


def engine_address() -> str:
    """LRTOOL_ENGINE, else 127.0.0.1:50051."""
    return os.environ.get("LRTOOL_ENGINE") or "127.0.0.1:50051"


def autostart_enabled() -> bool:
    """False when LRTOOL_AUTOSTART is 0, false, no or off."""
    return os.environ.get(AUTOSTART_ENV, "1").strip().lower() not in _FALSE


def start_timeout() -> float:
    try:
        return float(os.environ.get(AUTOSTART_TIMEOUT_ENV, DEFAULT_START_TIMEOUT))
    except ValueError:
        return DEFAULT_START_TIMEOUT


def split_address(address: str) -> tuple[str, int]:
    """(host, port) of "host:port", "[v6]:port", "host" or "dns:///host:port"."""
    rest = address.strip()
    for prefix in ("dns:///", "dns:", "ipv4:", "ipv6:"):
        if rest.startswith(prefix):
            rest = rest[len(prefix) :]
            break
    if rest.startswith("["):
        host, _, tail = rest[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else ""
    elif rest.count(":") == 1:
        host, _, port_text = rest.partition(":")
    else:  # a bare host name or a bare IPv6 address
        host, port_text = rest, ""
    try:
        port = int(port_text) if port_text else DEFAULT_PORT
    except ValueError:
        raise NodeError(f"LRTOOL_ENGINE={address!r} is not HOST:PORT") from None
    return host, port


def local_endpoint(address: str) -> tuple[str, int] | None:
    """(host, port) when `address` is a loopback HOST:PORT, where the pack may start an engine."""
    if address.strip().startswith(("unix:", "unix-abstract:", "vsock:")):
        return None
    host, port = split_address(address)
    return (host, port) if is_loopback(host) else None


def is_loopback(host: str) -> bool:
    """True for localhost and the loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() in ("localhost", "localhost.localdomain", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- Engines the pack started ------------------------------------------------------


@dataclass
class StartedEngine:
    address: str
    process: subprocess.Popen[bytes]
    log_path: Path
    log_file: IO[bytes] = field(repr=False)

    def log_tail(self, lines: int = 15) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.strip().splitlines()[-lines:])

    def stop(self, timeout: float = 5.0) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        self.log_file.close()


_started: dict[str, StartedEngine] = {}
_started_lock = threading.Lock()


def log_directory() -> Path:
    import platformdirs

    return platformdirs.user_log_path("lrtool", appauthor=False)


def _engine_environment() -> dict[str, str]:
    """The environment of a started engine: ours, plus the source tree when the package is not installed."""
    env = dict(os.environ)
    import engine_server

    package_root = str(Path(engine_server.__file__).resolve().parent.parent)
    paths = env.get("PYTHONPATH", "").split(os.pathsep) if env.get("PYTHONPATH") else []
    if package_root not in paths:
        env["PYTHONPATH"] = os.pathsep.join([package_root, *paths])
    return env


def start_engine(address: str) -> StartedEngine:
    """Start `python -m engine_server.cli serve` for a loopback address, detached from ComfyUI's terminal."""
    host, port = split_address(address)
    listen = "127.0.0.1" if host.lower().startswith("localhost") or host.lower() == "ip6-localhost" else host
    directory = log_directory()
    directory.mkdir(parents=True, exist_ok=True)
    log_path = directory / f"engine-{port}.log"
    log_file = log_path.open("ab")
    command = [sys.executable, "-m", "engine_server.cli", "serve", "--host", listen, "--port", str(port)]
    options: dict[str, object] = {}
    if os.name == "nt":
        options["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP | subprocess.DETACHED_PROCESS  # type: ignore[attr-defined,unused-ignore]
    else:
        options["start_new_session"] = True
    log.info("LRTool: starting a local engine at %s (log: %s)", address, log_path)
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        env=_engine_environment(),
        close_fds=True,
        **options,  # type: ignore[call-overload]
    )
    started = StartedEngine(address, process, log_path, log_file)
    with _started_lock:
        _started[address] = started
    return started


def stop_started_engines() -> None:
    """Stop every engine this process started (also run when the process exits)."""
    with _started_lock:
        engines = list(_started.values())
        _started.clear()
    for started in engines:
        started.stop()


atexit.register(stop_started_engines)


def _wait_for(started: StartedEngine, timeout: float) -> LRToolClient:
    """A client of the started engine once it serves; NodeError if it exits or stays silent."""
    deadline = time.monotonic() + timeout
    while True:
        # A fresh channel each round: a channel that saw the port refused backs off for seconds.
        client = LRToolClient(started.address)
        try:
            client.wait_until_serving(timeout=min(1.0, max(0.1, deadline - time.monotonic())))
            return client
        except EngineUnavailable:
            client.close()
        code = started.process.poll()
        if code is not None:
            tail = started.log_tail()
            raise NodeError(
                f"The LRTool engine started at {started.address} exited (code {code}) before it answered."
                f" Its log ({started.log_path}) ends:\n{tail}"
            )
        if time.monotonic() >= deadline:
            raise NodeError(
                f"The LRTool engine started at {started.address} did not answer within {timeout:g} s;"
                f" see its log at {started.log_path}"
            )
        time.sleep(0.1)


# --- Connections ------------------------------------------------------------------------


_clients: dict[str, LRToolClient] = {}
_connect_lock = threading.Lock()


def connect(*, autostart: bool = True) -> LRToolClient:
    """A client of a serving engine at LRTOOL_ENGINE, starting a local one if allowed.

    Raises NodeError with a message for the node when no engine can be reached.
    """
    address = engine_address()
    with _connect_lock:
        cached = _clients.get(address)
        if cached is not None and cached.is_serving(timeout=PROBE_TIMEOUT):
            return cached
        if cached is not None:
            cached.close()
            del _clients[address]
        try:
            client = LRToolClient(address)
        except LRToolClientError as error:  # e.g. a token that would cross the network in clear text
            raise NodeError(f"LRTool engine: {error.message}") from None
        if client.is_serving(timeout=PROBE_TIMEOUT):
            _clients[address] = client
            return client
        client.close()
        endpoint = local_endpoint(address)
        if endpoint is None:
            port_text = "PORT" if address.strip().startswith(("unix:", "unix-abstract:", "vsock:")) else None
            raise NodeError(
                f"The LRTool engine at {address} (LRTOOL_ENGINE) does not answer. The LRTool nodes start an"
                " engine only at a loopback HOST:PORT (127.0.0.1, localhost, ::1), so start one on that machine"
                f" with `lrtool serve --host 0.0.0.0 --port {port_text or split_address(address)[1]}` and TLS and a"
                " token (see the README's team section), or point LRTOOL_ENGINE at a running engine."
            )
        port = endpoint[1]
        if not autostart or not autostart_enabled():
            raise NodeError(
                f"The LRTool engine at {address} does not answer and starting one is switched off"
                f" ({AUTOSTART_ENV}=0): run `lrtool serve --port {port}`, or unset {AUTOSTART_ENV}."
            )
        with _started_lock:
            previous = _started.pop(address, None)
        if previous is not None:
            previous.stop()
        started = start_engine(address)
        client = _wait_for(started, start_timeout())
        _clients[address] = client
        log.info("LRTool: engine at %s is serving", address)
        return client


def call(action: Callable[[LRToolClient], T]) -> T:
    """Run `action` against the engine, turning every client error into a NodeError for the node."""
    client = connect()
    try:
        return action(client)
    except InvalidArgument as error:
        raise NodeError(violations_text(error)) from None
    except LRToolClientError as error:
        raise NodeError(f"LRTool engine: {error.message}") from None


def violations_text(error: InvalidArgument) -> str:
    """The violations of a rejected request, one per line, field paths as the node's inputs name them."""
    lines = []
    for violation in error.violations:
        name = violation.field
        for prefix in ("config.", "profile.config.", "profile."):
            if name.startswith(prefix):
                name = name[len(prefix) :]
                break
        lines.append(f"{name}: {violation.description}")
    body = "\n".join(lines) if lines else error.message
    return f"LRTool rejected the input:\n{body}"


# --- The catalog --------------------------------------------------------------------------


@dataclass
class _CatalogState:
    catalog: pb.Catalog
    live: bool
    checked_at: float


_catalogs: dict[str, _CatalogState] = {}
_catalog_lock = threading.Lock()


def catalog() -> pb.Catalog:
    """The engine's catalog (asked once per address), else the snapshot shipped with the pack.

    The first time, a local engine is started if needed; after a failure the engine is
    asked again (without starting one) at most once a minute.
    """
    address = engine_address()
    with _catalog_lock:
        state = _catalogs.get(address)
        if state is not None and (state.live or time.monotonic() - state.checked_at < CATALOG_RETRY_SECONDS):
            return state.catalog
        try:
            live = connect(autostart=state is None).get_catalog()
        except (NodeError, LRToolClientError) as error:
            message = error.message if isinstance(error, LRToolClientError) else str(error)
            if state is None:
                log.warning("LRTool: using the catalog shipped with the nodes; %s", message)
            state = _CatalogState(load_snapshot(), live=False, checked_at=time.monotonic())
        else:
            state = _CatalogState(live, live=True, checked_at=time.monotonic())
        _catalogs[address] = state
        return state.catalog


def catalog_is_live() -> bool:
    state = _catalogs.get(engine_address())
    return state is not None and state.live


def forget() -> None:
    """Drop cached connections and catalogs (the next call asks the engine again)."""
    with _connect_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()
    with _catalog_lock:
        _catalogs.clear()
