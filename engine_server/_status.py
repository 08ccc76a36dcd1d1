"""gRPC status for every failure, as docs/api.md specifies (google.rpc.Status with details)."""

from __future__ import annotations

from collections.abc import Iterable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from .violations import ACCEPTED_REASON, ERROR_DOMAIN, FieldViolation

#: A status message stays readable; the details carry every violation anyway.
_MAX_MESSAGE_VIOLATIONS = 5
_MAX_MESSAGE_CHARACTERS = 1000
#: gRPC clients refuse trailers over 8 KiB by default (grpc.max_metadata_size), and the
#: details travel base64-encoded in one: keep them well below that.
_MAX_DETAIL_BYTES = 5000


def invalid_argument(violations: Iterable[FieldViolation]) -> grpc.Status:
    """INVALID_ARGUMENT with a google.rpc.BadRequest naming every bad field (the first ones, if very many)."""
    listed = list(violations)
    shown = "; ".join(str(violation) for violation in listed[:_MAX_MESSAGE_VIOLATIONS])
    more = len(listed) - _MAX_MESSAGE_VIOLATIONS
    message = shown + (f"; and {more} more" if more > 0 else "")
    if len(message) > _MAX_MESSAGE_CHARACTERS:
        message = message[: _MAX_MESSAGE_CHARACTERS - 1] + "…"
    detail = error_details_pb2.BadRequest()
    for index, violation in enumerate(listed):
        entry = error_details_pb2.BadRequest.FieldViolation(field=violation.field, description=violation.description)
        if detail.ByteSize() + entry.ByteSize() > _MAX_DETAIL_BYTES:
            left = len(listed) - index
            detail.field_violations.add(
                field=violation.field, description=f"and {left} more problems: fix the ones above and send again"
            )
            break
        detail.field_violations.append(entry)
    accepted = _accepted_info(listed[: len(detail.field_violations)], _MAX_DETAIL_BYTES - detail.ByteSize())
    packed = []
    for each in (detail, accepted) if accepted.metadata else (detail,):
        packed_detail = any_pb2.Any()
        packed_detail.Pack(each)
        packed.append(packed_detail)
    status = status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=packed)
    return rpc_status.to_status(status)


def _accepted_info(violations: Iterable[FieldViolation], room: int) -> error_details_pb2.ErrorInfo:
    """What each field accepts, where known, keyed by the field's path (BadRequest has no place for it)."""
    info = error_details_pb2.ErrorInfo(reason=ACCEPTED_REASON, domain=ERROR_DOMAIN)
    for violation in violations:
        if violation.accepted and violation.field not in info.metadata:
            info.metadata[violation.field] = violation.accepted
            if info.ByteSize() > room:  # the ranges are in the descriptions too; drop what does not fit
                del info.metadata[violation.field]
    return info


def plain(code: grpc.StatusCode, message: str) -> grpc.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    return rpc_status.to_status(status)
