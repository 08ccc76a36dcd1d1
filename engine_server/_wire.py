"""A batch's answer written in protobuf's wire format straight from its columns.

Building a CalculateBatchResponse result by result costs several times more than the
calculations themselves. The statistics of every row are numeric columns (BatchResults), so
their fields are laid out with numpy for all rows at once; only the parts that differ in
length (the integers, the bands, the warnings, the factors) are written row by row, from
pieces that most rows share. Field numbers and types come from the message descriptors, and
the bytes parse to the very message the result-by-result encoder builds (a test holds them
to that). Every numeric field is written, zero or not: a reader takes an explicit zero as the
default it is.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

import numpy as np
from google.protobuf.descriptor import FieldDescriptor

from ._convert import _encoded_evidence as encoded_evidence
from ._generated.lrtool.v1 import engine_pb2 as pb
from .engine import BatchResults, Factor

_VARINT = 0
_FIXED64 = 1
_LENGTH_DELIMITED = 2
_CALCULATION = pb.Calculation.DESCRIPTOR
_FACTOR = pb.Factor.DESCRIPTOR
_RESULTS_FIELD = pb.CalculateBatchResponse.DESCRIPTOR.fields_by_name["results"].number


def _varint(value: int) -> bytes:
    """An unsigned varint (the integers written here are never negative)."""
    out = bytearray()
    while value > 0x7F:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


#: Varints of the lengths most pieces have, looked up instead of written.
_SHORT_VARINTS = [_varint(length) for length in range(1 << 14)]


def _length(value: int) -> bytes:
    return _SHORT_VARINTS[value] if value < 16384 else _varint(value)


def _tag(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _field_tag(descriptor: Any, name: str, wire_type: int) -> bytes:
    return _tag(descriptor.fields_by_name[name].number, wire_type)


_DOUBLES = tuple(field.name for field in _CALCULATION.fields if field.type == FieldDescriptor.TYPE_DOUBLE)
_INTEGERS = tuple(field.name for field in _CALCULATION.fields if field.type == FieldDescriptor.TYPE_INT64)
_BANDS = ("risk_band", "efficiency_band")
_DOUBLE_TAGS = {name: np.frombuffer(_field_tag(_CALCULATION, name, _FIXED64), np.uint8) for name in _DOUBLES}
#: The doubles of a row, each behind its tag: one record per row, laid out for all rows at once.
_DOUBLES_RECORD = np.dtype(
    [item for name, tag in _DOUBLE_TAGS.items() for item in ((f"tag {name}", np.uint8, tag.shape), (name, "<f8"))]
)
_WARNING_TAG = _field_tag(_CALCULATION, "warnings", _LENGTH_DELIMITED)
_FACTOR_TAG = _field_tag(_CALCULATION, "factors", _LENGTH_DELIMITED)
_EVIDENCE_TAG = _field_tag(_CALCULATION, "evidence", _LENGTH_DELIMITED)
_RESULT_TAG = _tag(_RESULTS_FIELD, _LENGTH_DELIMITED)
_MULTIPLIER_TAG = _field_tag(_FACTOR, "multiplier", _FIXED64)
_DOUBLE = struct.Struct("<d")
_MULTIPLIER_SIZE = len(_MULTIPLIER_TAG) + _DOUBLE.size


class _Pieces(dict[Any, bytes]):
    """Encoded pieces by what they encode, each encoded once."""

    def __init__(self, encode: Callable[[Any], bytes]) -> None:
        super().__init__()
        self._encode = encode

    def __missing__(self, key: Any) -> bytes:
        piece = self[key] = self._encode(key)
        return piece


def _delimited(tag: bytes, data: bytes) -> bytes:
    return tag + _length(len(data)) + data


def _text_piece(tag: bytes) -> _Pieces:
    return _Pieces(lambda text: _delimited(tag, text.encode()))


def _integer_pieces(name: str) -> _Pieces:
    tag = _field_tag(_CALCULATION, name, _VARINT)
    return _Pieces(lambda value: tag + _varint(value) if value else b"")


_BAND_PIECES = {name: _text_piece(_field_tag(_CALCULATION, name, _LENGTH_DELIMITED)) for name in _BANDS}
_FACTOR_TEXT_PIECES = {
    name: _text_piece(_field_tag(_FACTOR, name, _LENGTH_DELIMITED)) for name in ("name", "explanation")
}


_FACTOR_VALUE_TAG = _field_tag(_FACTOR, "value", _LENGTH_DELIMITED)


def _factor_piece(factor: Factor) -> bytes:
    """The bytes that append `factor` to a Calculation's factors; its name and explanation are
    a few texts shared by many factors, its value and multiplier its own."""
    name = _FACTOR_TEXT_PIECES["name"][factor.name]
    explanation = _FACTOR_TEXT_PIECES["explanation"][factor.explanation]
    value = factor.value.encode()
    value_length = _length(len(value))
    size = len(name) + len(_FACTOR_VALUE_TAG) + len(value_length) + len(value) + _MULTIPLIER_SIZE + len(explanation)
    return b"".join(
        (
            _FACTOR_TAG,
            _length(size),
            name,
            _FACTOR_VALUE_TAG,
            value_length,
            value,
            _MULTIPLIER_TAG,
            _DOUBLE.pack(factor.multiplier),
            explanation,
        )
    )


def batch_response(results: BatchResults, details: bool) -> bytes:
    """The CalculateBatchResponse of `results`, serialized; without `details`, no factors and
    no evidence band (the statistics and the warnings alone)."""
    return b"".join(batch_response_parts(results, details))


def batch_response_parts(results: BatchResults, details: bool) -> list[bytes]:
    """batch_response's bytes in pieces, to be joined, with any answer that follows, in one copy."""
    count = len(results)
    records = np.zeros(count, _DOUBLES_RECORD)
    for name, tag in _DOUBLE_TAGS.items():
        records[f"tag {name}"] = tag
        records[name] = results.column(name)
    doubles = records.tobytes()
    size = _DOUBLES_RECORD.itemsize
    # Per call: integers take any value (warmup steps), and a table kept between calls would only grow.
    integers = [list(map(_integer_pieces(name).__getitem__, results.column(name).tolist())) for name in _INTEGERS]
    bands = [[pieces[value] for value in results.column(name).tolist()] for name, pieces in _BAND_PIECES.items()]
    warning_pieces = _text_piece(_WARNING_TAG)
    evidence_pieces: dict[int, bytes] = {}
    factor_pieces: dict[int, bytes] = {}  # by id(): shared factors (a setup's) are encoded once
    parts: list[bytes] = []
    append = parts.append
    texts = results.all_texts() if details else ([()] * count, [None] * count)  # first: warnings quote factors
    rows = zip(range(0, count * size, size), results.all_warnings(), *texts, *integers, *bands, strict=True)
    for start, warnings, factors, evidence, *fixed in rows:
        body = [doubles[start : start + size], *fixed]
        if warnings:
            body.extend(warning_pieces[warning] for warning in warnings)
        if details:
            if evidence is not None:
                piece = evidence_pieces.get(id(evidence))
                if piece is None:
                    piece = evidence_pieces[id(evidence)] = encoded_evidence(evidence)
                body.append(piece)
            for factor in factors:
                piece = factor_pieces.get(id(factor))
                if piece is None:
                    piece = factor_pieces[id(factor)] = _factor_piece(factor)
                body.append(piece)
        encoded = b"".join(body)
        append(_RESULT_TAG)
        append(_length(len(encoded)))
        append(encoded)
    return parts
