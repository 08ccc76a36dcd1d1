"""gRPC status for every failure, as API.md specifies (google.rpc.Status with details)."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .engine import FieldViolation

#: A status message stays readable; the details carry every violation anyway.
_MAX_MESSAGE_VIOLATIONS = 5


def invalid_argument(violations: Iterable[FieldViolation]) -> grpc.Status:
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming every bad field."""
    listed = list(violations)
    shown = "; ".join(str(violation) for violation in listed[:_MAX_MESSAGE_VIOLATIONS])
    more = len(listed) - _MAX_MESSAGE_VIOLATIONS
    message = shown + (f"; and {more} more" if more > 0 else "")
    detail = error_details_pb2.BadRequest(
        field_violations=[
            error_details_pb2.BadRequest.FieldViolation(field=v.field, description=v.description) for v in listed
        ]
    )
    packed = any_pb2.Any()
    packed.Pack(detail)
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[packed])
    return rpc_status.to_status(status)


def plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    return rpc_status.to_status(status)
