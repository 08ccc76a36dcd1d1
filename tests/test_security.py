"""TLS, bearer tokens for every call shape, the loopback rule, and the server's limits."""

from __future__ import annotations

import datetime
import ipaddress
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import TYPICAL
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from engine_server._auth import InsecureListenError
from engine_server.client import (
    EngineBusy,
    EngineUnavailable,
    LRToolClient,
    LRToolClientError,
    Unauthenticated,
    calculate_request,
)
from engine_server.server import Settings, create_server

TOKEN = "s3cret-team-token"


def make_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (its own CA)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    directory = tmp_path_factory.mktemp("tls")
    cert, key = make_certificate(directory)
    token_file = directory / "token"
    token_file.write_text(TOKEN + "\n")
    settings = Settings(port=0, db=directory / "p.sqlite3", tls_cert=cert, tls_key=key, token_file=token_file)
    server, port = create_server(settings)
    server.start()
    try:
        yield f"127.0.0.1:{port}", cert
    finally:
        server.stop(0)


def test_tls_and_token_let_the_team_in(secured: tuple[str, Path]) -> None:
    address, cert = secured
    with LRToolClient(address, token=TOKEN, ca_file=cert) as client:
        assert client.calculate(TYPICAL).risk_band == "Safe"
        assert client.save_profile("team", TYPICAL).version >= 1


@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1]])
def test_a_missing_or_wrong_token_is_refused(secured: tuple[str, Path], token: str | None) -> None:
    address, cert = secured
    environment_token = os.environ.pop("LRTOOL_TOKEN", None)
    try:
        with LRToolClient(address, token=token or "", ca_file=cert) as client, pytest.raises(Unauthenticated):
            client.calculate(TYPICAL)
    finally:
        if environment_token is not None:
            os.environ["LRTOOL_TOKEN"] = environment_token


def test_every_call_shape_needs_the_token_but_the_health_check(secured: tuple[str, Path]) -> None:
    address, cert = secured
    credentials = grpc.ssl_channel_credentials(root_certificates=cert.read_bytes())
    with grpc.secure_channel(address, credentials) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=5)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as caught:  # unary → stream
            next(iter(health.Watch(health_pb2.HealthCheckRequest(service=""), timeout=5)))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        with pytest.raises(grpc.RpcError) as caught:  # stream ↔ stream: reflection only for the team
            list(reflection.ServerReflectionInfo(iter([request]), timeout=5))
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        answers = list(
            reflection.ServerReflectionInfo(iter([request]), timeout=5, metadata=[("authorization", f"Bearer {TOKEN}")])
        )
        assert any(s.name == "lrtool.v1.LRToolEngine" for s in answers[0].list_services_response.service)


def test_plaintext_to_a_tls_engine_is_unavailable(secured: tuple[str, Path]) -> None:
    address, _ = secured
    with LRToolClient(address, token=TOKEN, tls=False, timeout=3) as client, pytest.raises(EngineUnavailable):
        client.calculate(TYPICAL)


@pytest.mark.parametrize(
    ("changes", "allowed"),
    [
        ({"host": "0.0.0.0"}, False),
        ({"host": "0.0.0.0", "insecure": True}, True),
        ({"host": "0.0.0.0", "token": TOKEN}, False),
        ({"host": "127.0.0.1"}, True),
        ({"host": "::1"}, True),
        ({"host": "localhost"}, True),
    ],
)
def test_non_loopback_needs_tls_and_a_token_or_insecure(tmp_path: Path, changes: dict[str, Any], allowed: bool) -> None:
    settings = Settings(port=0, db=tmp_path / "p.sqlite3", **changes)
    if not allowed:
        with pytest.raises(InsecureListenError, match="--insecure"):
            create_server(settings)
        return
    try:
        server, _ = create_server(settings)
    except OSError:
        pytest.skip(f"cannot bind {changes['host']} here")
    server.stop(0)


def test_non_loopback_with_tls_and_token_starts(tmp_path: Path) -> None:
    cert, key = make_certificate(tmp_path)
    settings = Settings(host="0.0.0.0", port=0, db=tmp_path / "p.sqlite3", tls_cert=cert, tls_key=key, token=TOKEN)
    server, port = create_server(settings)
    assert port > 0
    server.stop(0)


def test_serve_refuses_an_exposed_plaintext_engine_in_one_line(tmp_path: Path) -> None:
    environment = dict(os.environ, LRTOOL_DB=str(tmp_path / "p.sqlite3"))
    environment.pop("LRTOOL_TOKEN", None)
    result = subprocess.run(
        [sys.executable, "-m", "engine_server.cli", "serve", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True, text=True, env=environment, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr and "Traceback" not in result.stderr


def test_limits_answer_with_a_clear_error(tmp_path: Path) -> None:
    settings = Settings(port=0, db=tmp_path / "p.sqlite3", max_receive_message_bytes=64 * 1024)
    server, port = create_server(settings)
    server.start()
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:
            with pytest.raises(EngineBusy) as caught:
                client.calculate_batch([calculate_request(TYPICAL)] * 2000)
            assert "larger than max" in caught.value.message or "exceeds" in caught.value.message
            assert len(client.calculate_batch([TYPICAL] * 100)) == 100
    finally:
        server.stop(0)


def test_concurrent_call_limit(tmp_path: Path) -> None:
    settings = Settings(port=0, db=tmp_path / "p.sqlite3", max_concurrent_rpcs=1)
    server, port = create_server(settings)
    server.start()
    slow = [calculate_request({**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Rex", "steps": 400_000 + i})
            for i in range(4)]  # fmt: skip
    outcomes: list[str] = []
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:

            def busy() -> None:
                try:
                    client.calculate_batch(slow)
                    outcomes.append("done")
                except EngineBusy:
                    outcomes.append("busy")

            threads = [threading.Thread(target=busy) for _ in range(3)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
    finally:
        server.stop(0)
    assert "busy" in outcomes and "done" in outcomes


def test_batch_deadline_is_honoured(tmp_path: Path) -> None:
    from engine_server.client import DeadlineExceeded

    settings = Settings(port=0, db=tmp_path / "p.sqlite3")
    server, port = create_server(settings)
    server.start()
    requests = [calculate_request({**TYPICAL, "formula": "lrtool-1.0", "scheduler": "Rex", "steps": 300_000 + i})
                for i in range(3000)]  # fmt: skip
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client, pytest.raises(DeadlineExceeded):
            client.calculate_batch(requests, timeout=1.0)
    finally:
        server.stop(0)


def test_a_long_calculation_stops_at_its_deadline(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """The server gives up on the work itself, not only the client on the answer."""
    from engine_server.client import DeadlineExceeded

    long_run = {**TYPICAL, "formula": "lrtool-1.0", "scheduler": "cosine", "steps": 9_999_991}  # seconds of work
    caplog.set_level("INFO", logger="lrtool.service")
    settings = Settings(port=0, db=tmp_path / "p.sqlite3")
    server, port = create_server(settings)
    server.start()
    try:
        with LRToolClient(f"127.0.0.1:{port}") as client:
            with pytest.raises(DeadlineExceeded):
                client.calculate(long_run, timeout=0.3)
            expected = "Calculate failed: DEADLINE_EXCEEDED deadline exceeded or call cancelled during Calculate"
            for _ in range(200):  # the handler notices between chunks of the run
                if any(expected in record.getMessage() for record in caplog.records):
                    break
                threading.Event().wait(0.05)
            assert any(expected in record.getMessage() for record in caplog.records), caplog.text
            assert client.calculate(TYPICAL).recommended_lr > 0  # and the server carries on
    finally:
        server.stop(0)


def outward_address() -> str | None:
    """This machine's address on its outward interface (no packet is sent), if it has one."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address: str = probe.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


@pytest.mark.parametrize(
    "target", ["127.0.0.1:50051", "localhost:1", "[::1]:50051", "dns:///localhost:50051", "unix:/tmp/lrtool.sock"]
)
def test_a_token_may_go_in_clear_text_to_this_machine(target: str) -> None:
    LRToolClient(target, token=TOKEN).close()


@pytest.mark.parametrize("target", ["192.0.2.7:50051", "lrtool.example:50051", "[2001:db8::1]:50051", "dns:///a.b:1"])
def test_a_token_is_not_sent_in_clear_text_beyond_this_machine(target: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LRTOOL_INSECURE", raising=False)
    monkeypatch.delenv("LRTOOL_CA_FILE", raising=False)
    monkeypatch.delenv("LRTOOL_TLS", raising=False)
    with pytest.raises(LRToolClientError, match="refusing to send the token in clear text") as caught:
        LRToolClient(target, token=TOKEN)
    for option in ("ca_file=", "LRTOOL_CA_FILE", "insecure=True", "LRTOOL_INSECURE=1"):
        assert option in caught.value.message
    LRToolClient(target).close()  # no token, nothing to leak
    LRToolClient(target, token=TOKEN, insecure=True).close()
    monkeypatch.setenv("LRTOOL_INSECURE", "1")
    LRToolClient(target, token=TOKEN).close()


def test_a_plaintext_engine_beyond_loopback_gets_the_token_only_when_told(tmp_path: Path) -> None:
    address = outward_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback")
    settings = Settings(host="0.0.0.0", port=0, db=tmp_path / "p.sqlite3", token=TOKEN, insecure=True)
    server, port = create_server(settings)
    server.start()
    try:
        target = f"{address}:{port}"
        with pytest.raises(LRToolClientError, match="clear text"):
            LRToolClient(target, token=TOKEN, insecure=False)
        with LRToolClient(target, token=TOKEN, insecure=True) as client:
            assert client.calculate(TYPICAL).recommended_lr > 0
        environment = dict(os.environ, LRTOOL_TOKEN=TOKEN)
        environment.pop("LRTOOL_INSECURE", None)
        command = [sys.executable, "-m", "engine_server.cli", "profiles", "list", "--engine", target]
        refused = subprocess.run(command, capture_output=True, text=True, env=environment, timeout=60)
        assert refused.returncode == 1 and "LRTOOL_INSECURE=1" in refused.stderr
        assert "Traceback" not in refused.stderr
        allowed = subprocess.run(
            command, capture_output=True, text=True, env={**environment, "LRTOOL_INSECURE": "1"}, timeout=60
        )
        assert allowed.returncode == 0, allowed.stderr
    finally:
        server.stop(0)
