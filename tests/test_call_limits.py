"""No call holds a worker for long: the engine's own ceiling per call, and health answering while all are busy."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import grpc
from conftest import TYPICAL, running_engine
from grpc_health.v1 import health_pb2, health_pb2_grpc

from engine_server._generated.lrtool.v1 import engine_pb2 as pb
from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc
from engine_server.client import calculate_request
from engine_server.service import DEFAULT_WORKERS

#: Each request is seconds of LRTool 1.0 arithmetic: a batch of them would hold a worker for minutes.
LONG_BATCH = pb.CalculateBatchRequest(
    requests=[
        calculate_request({**TYPICAL, "formula": "lrtool-1.0", "scheduler": "cosine", "steps": 10_000_000 - index})
        for index in range(50)
    ]
)
CEILING_SECONDS = 8.0
#: Within what a load balancer's or Kubernetes' gRPC health probe allows (1 to 5 s).
PROBE_TIMEOUT_SECONDS = 3.0


def test_health_answers_while_every_worker_is_busy_and_no_call_outlives_the_ceiling(tmp_path: Path) -> None:
    with (
        running_engine(tmp_path / "p.sqlite3", max_call_seconds=CEILING_SECONDS) as engine,
        grpc.insecure_channel(engine.address) as channel,
    ):
        stub = pb_grpc.LRToolEngineStub(channel)
        outcomes: list[tuple[grpc.StatusCode, str, float]] = []

        def hold_a_worker() -> None:
            started = time.monotonic()
            try:
                stub.CalculateBatch(LONG_BATCH)  # no deadline of its own
                outcomes.append((grpc.StatusCode.OK, "", time.monotonic() - started))
            except grpc.RpcError as error:
                call: Any = error
                outcomes.append((call.code(), call.details(), time.monotonic() - started))

        callers = [threading.Thread(target=hold_a_worker) for _ in range(DEFAULT_WORKERS)]
        started = time.monotonic()
        for caller in callers:
            caller.start()
        # Every worker is busy once an ordinary call has to wait for one (and gives up at its own deadline)...
        waited = False
        while not waited and time.monotonic() < started + CEILING_SECONDS / 2:
            try:
                stub.Calculate(calculate_request(TYPICAL), timeout=0.3)
            except grpc.RpcError as error:
                waited = error.code() == grpc.StatusCode.DEADLINE_EXCEEDED  # type: ignore[attr-defined]
        assert waited
        # ...while the health check answers within a probe's timeout, before any worker is free again
        # (sixteen computing threads share one interpreter with it, so not at once).
        health: Any = health_pb2_grpc.HealthStub(channel)
        answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=PROBE_TIMEOUT_SECONDS)
        assert answer.status == health_pb2.HealthCheckResponse.SERVING
        assert not outcomes, "a long call ended before the health check answered"
        for caller in callers:
            caller.join(timeout=CEILING_SECONDS + 30)
        assert len(outcomes) == DEFAULT_WORKERS
        for code, details, seconds in outcomes:
            assert code == grpc.StatusCode.DEADLINE_EXCEEDED, details
            assert "LRTOOL_MAX_CALL_SECONDS" in details
            assert seconds < CEILING_SECONDS + 10
        # The workers are free again.
        assert stub.Calculate(calculate_request(TYPICAL), timeout=5).recommended_lr > 0
