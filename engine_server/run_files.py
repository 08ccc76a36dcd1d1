"""The run log's CSV tuning log: one run a row (docs/run-log.md).

The header names the columns: TrainingConfig fields (`model`, `steps`, `rank`, …) and the run's
own `learning_rate`, `outcome`, `best_step`, `notes`, in any order. An empty cell, or a column
left out, leaves that field to the import's base configuration. Reading checks the file's shape
and each cell's type; what the values mean (ranges, names, a best step beyond the run) is
checked by the service, which names every problem by row and column.

    model,resolution,steps,images,rank,alpha,optimizer,scheduler,objective,learning_rate,outcome,best_step,notes
    SD1.5,512,1200,20,64,32,AdamW8bit,cosine_with_restarts,Character,1.5e-4,GOOD,800,extremely accurate
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from google.protobuf.descriptor import FieldDescriptor

from ._generated.lrtool.v1 import engine_pb2 as pb
from .violations import FieldViolation, InvalidFields

__all__ = [
    "MAX_RUN_FILE_BYTES",
    "MAX_RUN_FILE_ROWS",
    "RUN_COLUMNS",
    "RunFileError",
    "RunRow",
    "read_run_file",
    "write_run_file",
]

MAX_RUN_FILE_BYTES = 1_048_576
MAX_RUN_FILE_ROWS = 10_000
#: The run's own columns, after the configuration's.
RUN_COLUMNS = ("learning_rate", "outcome", "best_step", "notes")
#: Configuration columns in the order TrainingConfig declares them (which is the order files are written in).
CONFIG_COLUMNS = tuple(pb.TrainingConfig.DESCRIPTOR.fields_by_name)
_INTEGER_TYPES = frozenset(
    {FieldDescriptor.CPPTYPE_INT32, FieldDescriptor.CPPTYPE_INT64, FieldDescriptor.CPPTYPE_UINT32}
)


class RunFileError(InvalidFields):
    """The CSV cannot be read; `violations` name each problem, their fields like "rows[3].steps" or "columns"."""


@dataclass(frozen=True, slots=True)
class RunRow:
    """One row: its 1-based number among the data rows, its line in the file, and its typed cells."""

    number: int
    line: int
    config: dict[str, Any] = field(default_factory=dict)
    learning_rate: float | None = None
    outcome: str = ""
    best_step: int | None = None
    notes: str = ""


def _kind(name: str) -> str:
    if name == "learning_rate":
        return "float"
    if name == "best_step":
        return "int"
    if name in ("outcome", "notes"):
        return "text"
    cpp_type = pb.TrainingConfig.DESCRIPTOR.fields_by_name[name].cpp_type
    if cpp_type in _INTEGER_TYPES:
        return "int"
    return "float" if cpp_type == FieldDescriptor.CPPTYPE_DOUBLE else "text"


def _cell(kind: str, text: str) -> Any:
    """A cell's value; ValueError with what was wrong."""
    if kind == "text":
        return text
    if kind == "int":
        try:
            number = float(text) if any(ch in text for ch in ".eE") else int(text)
        except ValueError:
            raise ValueError(f"must be a whole number; got {text!r}") from None
        if isinstance(number, float) and not (math.isfinite(number) and number.is_integer()):
            raise ValueError(f"must be a whole number; got {text!r}")
        return int(number)
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"must be a number (e.g. 1e-4 or 0.0001); got {text!r}") from None


def read_run_file(content: bytes) -> list[RunRow]:
    """The rows of a CSV tuning log; RunFileError names every cell that cannot be read."""
    if len(content) > MAX_RUN_FILE_BYTES:
        raise RunFileError(
            [FieldViolation("", f"is {len(content):,} bytes; a run file may be at most {MAX_RUN_FILE_BYTES:,} bytes")]
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RunFileError(
            [FieldViolation("", f"is not UTF-8 text (byte {error.start}); save the CSV as UTF-8")]
        ) from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            raise RunFileError(
                [FieldViolation("", "is empty; the first line must name the columns, e.g. model,steps,learning_rate")]
            )
        columns = [cell.strip() for cell in header]
        _check_columns(columns)
        rows: list[RunRow] = []
        problems: list[FieldViolation] = []
        number = 0  # counts the runs, readable or not, so a row is named the same either way
        for cells in reader:
            if not any(cell.strip() for cell in cells):
                continue  # blank lines between runs
            number += 1
            if number > MAX_RUN_FILE_ROWS:
                raise RunFileError.one("", f"has more than {MAX_RUN_FILE_ROWS:,} runs; split it")
            row = _row(columns, cells, number, reader.line_num, problems)
            if row is not None:
                rows.append(row)
    except csv.Error as error:
        raise RunFileError.one("", f"line {reader.line_num}: not valid CSV ({error})") from None
    if problems:
        raise RunFileError(problems)
    if not rows:
        raise RunFileError.one("", "has a header but no runs")
    return rows


def _check_columns(columns: list[str]) -> None:
    accepted = (*CONFIG_COLUMNS, *RUN_COLUMNS)
    problems: list[FieldViolation] = []
    seen: set[str] = set()
    for index, name in enumerate(columns, start=1):
        if name not in accepted:
            problems.append(
                FieldViolation(
                    "columns", f"column {index} {name!r} is not a run column; accepted: {', '.join(accepted)}"
                )
            )
        elif name in seen:
            problems.append(FieldViolation("columns", f"column {name!r} appears twice"))
        seen.add(name)
    if "learning_rate" not in seen and not problems:
        problems.append(FieldViolation("columns", "needs a learning_rate column (the peak rate each run used)"))
    if problems:
        raise RunFileError(problems)


def _row(columns: list[str], cells: list[str], number: int, line: int, problems: list[FieldViolation]) -> RunRow | None:
    where = f"rows[{number}]"
    if len(cells) != len(columns):
        problems.append(
            FieldViolation(where, f"line {line} has {len(cells)} cells but the header names {len(columns)} columns")
        )
        return None
    values: dict[str, Any] = {}
    ok = True
    for name, raw in zip(columns, cells, strict=True):
        text = raw.strip() if name != "notes" else raw
        if not text.strip():
            continue
        try:
            values[name] = _cell(_kind(name), text)
        except ValueError as error:
            problems.append(FieldViolation(f"{where}.{name}", f"line {line}: {error}"))
            ok = False
    if not ok:
        return None
    return RunRow(
        number=number,
        line=line,
        config={name: value for name, value in values.items() if name in CONFIG_COLUMNS},
        learning_rate=values.get("learning_rate"),
        outcome=values.get("outcome", ""),
        best_step=values.get("best_step"),
        notes=values.get("notes", ""),
    )


def write_run_file(rows: Iterable[RunRow]) -> bytes:
    """The CSV of `rows`: the configuration columns any row sets, in TrainingConfig's order, then the run's."""
    listed = list(rows)
    used = {name for row in listed for name in row.config}
    columns = [name for name in CONFIG_COLUMNS if name in used] + list(RUN_COLUMNS)
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in listed:
        values: dict[str, Any] = {
            **row.config,
            "learning_rate": row.learning_rate,
            "outcome": row.outcome,
            "best_step": row.best_step,
            "notes": row.notes,
        }
        writer.writerow([_text(values.get(name)) for name in columns])
    return out.getvalue().encode("utf-8")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    return str(value)
