"""Property-based requests through gRPC: every answer is OK or a named client-error status.

Never UNKNOWN or INTERNAL. 10,000 requests here (2,500 examples of 4 calls: hypothesis's
per-example overhead is paid once per 4 requests); scripts/fuzz.py runs longer.
"""

from __future__ import annotations

from typing import Any

import grpc
from conftest import RunningEngine
from fuzzing import calls
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine_server._generated.lrtool.v1 import engine_pb2_grpc as pb_grpc

#: Statuses a well-formed service may give to arbitrary input.
EXPECTED = {
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.NOT_FOUND,
    grpc.StatusCode.ABORTED,
    grpc.StatusCode.ALREADY_EXISTS,
}


def check_answer(stub: Any, kind: str, request: Any) -> None:
    try:
        getattr(stub, kind)(request, timeout=20)
    except grpc.RpcError as error:
        call: Any = error
        code = call.code()
        assert code in EXPECTED, f"{kind} answered {code.name}: {call.details()} for {request}"
        if code == grpc.StatusCode.INVALID_ARGUMENT:
            status = rpc_status.from_call(call)
            assert status is not None and status.details, f"no BadRequest details for {request}"
            bad_request = error_details_pb2.BadRequest()
            status.details[0].Unpack(bad_request)
            assert bad_request.field_violations, request
            for violation in bad_request.field_violations:
                assert violation.field and violation.description


CALLS_PER_EXAMPLE = 4
REQUESTS = 10_000


def test_ten_thousand_fuzzed_requests(engine: RunningEngine) -> None:
    sent = 0
    with grpc.insecure_channel(engine.address) as channel:
        stub = pb_grpc.LRToolEngineStub(channel)

        @settings(
            max_examples=REQUESTS // CALLS_PER_EXAMPLE,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        )
        @given(st.lists(calls(), min_size=CALLS_PER_EXAMPLE, max_size=CALLS_PER_EXAMPLE))
        def fuzz(batch: list[tuple[str, Any]]) -> None:
            nonlocal sent
            for call in batch:
                check_answer(stub, *call)
                sent += 1

        fuzz()
    assert sent >= REQUESTS
