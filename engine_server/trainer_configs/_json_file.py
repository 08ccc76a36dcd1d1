"""JSON files (kohya_ss GUI, OneTrainer, ai-toolkit's JSON form): read with json, edit in place.

Editing replaces only the characters of the numbers it sets, so key order, indentation, escapes and
every other byte stay as the file had them. The scanner that finds those characters runs on text
json has already accepted, so it only needs to follow valid JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from . import _numbers, _shape
from ._common import Edit, Path, TrainerConfigError, newline_of, render_path, too_long_number

_DECODER = json.JSONDecoder()


def load(text: str) -> Any:
    _shape.check_json(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise TrainerConfigError.one(
            f"line {error.lineno}", f"not valid JSON: {error.msg} (column {error.colno})"
        ) from None
    except ValueError:  # the only other one: an integer longer than Python converts
        raise too_long_number(text, "JSON") from None
    except RecursionError:
        raise TrainerConfigError.one("", "not readable: objects or lists are nested too deeply") from None


@dataclass
class _Layout:
    """Where each value of the document sits: (start, end) of scalars, and each object's members."""

    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    #: object path -> (position after "{", [(key start, value end), ...])
    objects: dict[Path, tuple[int, list[tuple[int, int]]]] = field(default_factory=dict)


def _skip(text: str, at: int) -> int:
    """The position of the next token: JSON whitespace is only these four characters."""
    while at < len(text) and text[at] in " \t\n\r":
        at += 1
    return at


def _scan(text: str) -> _Layout:
    layout = _Layout()

    def value(at: int, path: Path) -> int:
        start = at = _skip(text, at)
        if text[at] == "{":
            at = _skip(text, at + 1)
            members: list[tuple[int, int]] = []
            layout.objects[path] = (start + 1, members)
            while text[at] != "}":
                key_start = at
                key, at = _DECODER.raw_decode(text, at)
                at = value(_skip(text, at) + 1, (*path, key))  # past the ":"
                members.append((key_start, at))
                at = _skip(text, at)
                if text[at] == ",":
                    at = _skip(text, at + 1)
            end = at + 1
        elif text[at] == "[":
            at = _skip(text, at + 1)
            index = 0
            while text[at] != "]":
                at = _skip(text, value(at, (*path, index)))
                index += 1
                if text[at] == ",":
                    at = _skip(text, at + 1)
            end = at + 1
        else:  # a string, number or literal: json finds its end
            end = _DECODER.raw_decode(text, at)[1]
        layout.values[path] = (start, end)
        return end

    try:
        value(0, ())
    except RecursionError:  # pragma: no cover - json.loads refuses such nesting first
        raise TrainerConfigError.one("", "not readable: objects or lists are nested too deeply") from None
    return layout


def write(text: str, edits: Sequence[Edit]) -> str:
    layout = _scan(text)
    replacements: list[tuple[int, int, str]] = []
    for edit in edits:
        if edit.insert:
            replacements.append(_insertion(text, layout, edit))
            continue
        span = layout.values.get(edit.path)
        if span is None:
            raise TrainerConfigError.one(render_path(edit.path), "is not in the file")
        start, end = span
        token = text[start:end]
        if token.startswith('"'):
            # A number kept as text (older kohya_ss GUI files): it stays text.
            written = json.dumps(_numbers.like(edit.value, json.loads(token)))
        else:
            written = _numbers.like(edit.value, token)
        replacements.append((start, end, written))
    for start, end, written in sorted(replacements, reverse=True):
        text = text[:start] + written + text[end:]
    return text


def _insertion(text: str, layout: _Layout, edit: Edit) -> tuple[int, int, str]:
    """Add `"key": value` as the last member of the object at path[:-1], indented like its siblings."""
    parent, key = edit.path[:-1], edit.path[-1]
    found = layout.objects.get(parent)
    if found is None or not isinstance(key, str):
        raise TrainerConfigError.one(render_path(edit.path), "has no object to add the learning rate to")
    opening, members = found
    member = f"{json.dumps(key)}: {_numbers.decimal(edit.value)}"
    if not members:
        return opening, opening, member
    first_key = members[0][0]
    line_start = text.rfind("\n", 0, first_key) + 1
    indent = text[line_start:first_key]
    if indent.strip() or line_start <= opening:  # members share a line: keep it on one line too
        return members[-1][1], members[-1][1], ", " + member
    return members[-1][1], members[-1][1], "," + newline_of(text) + indent + member
