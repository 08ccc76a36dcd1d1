"""TOML files (kohya sd-scripts, musubi-tuner, their dataset configs): read with tomllib, edit with tomlkit.

tomlkit keeps every byte it does not touch (comments, order, spacing, line endings), so an edited
file differs from the original only in the numbers that were set.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Sequence
from typing import Any

import tomlkit
import tomlkit.exceptions
from tomlkit.container import Container
from tomlkit.items import AoT, Array, Item, String, Table

from . import _numbers, _shape
from ._common import Edit, TrainerConfigError, newline_of, render_path, too_long_number

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")
_AT_END = " (at end of document)"


def load(text: str) -> dict[str, Any]:
    _shape.check_toml(text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        if message.endswith(_AT_END):
            last = f"line {max(1, len(text.splitlines()))}"
            raise TrainerConfigError.one(
                last, f"not valid TOML: {message.removesuffix(_AT_END)} at the end of the file"
            ) from None
        found = _POSITION.search(message)
        if found is None:
            raise TrainerConfigError.one("", f"not valid TOML: {message}") from None
        where = f"line {found.group(1)}"
        raise TrainerConfigError.one(
            where, f"not valid TOML: {message[: found.start()]} (column {found.group(2)})"
        ) from None
    except ValueError:  # the only other one: an integer longer than Python converts
        raise too_long_number(text, "TOML") from None
    except RecursionError:
        raise TrainerConfigError.one("", "not readable: tables or lists are nested too deeply") from None


def write(text: str, edits: Sequence[Edit]) -> str:
    _shape.check_toml(text)
    try:
        document = tomlkit.parse(text)
    except tomlkit.exceptions.TOMLKitError as error:  # pragma: no cover - tomllib accepted the file first
        raise TrainerConfigError.one("", f"cannot be edited as TOML: {error}") from None
    except RecursionError:  # pragma: no cover - the nesting check refused such a file first
        raise TrainerConfigError.one("", "not editable: tables or lists are nested too deeply") from None
    newline = newline_of(text)
    for edit in edits:
        parent = _navigate(document, edit.path[:-1], edit)
        key = edit.path[-1]
        if edit.insert:
            item = tomlkit.value(_numbers.scientific(edit.value))
            item.trivia.trail = newline
            if not isinstance(parent, Table | Container) or not isinstance(key, str):
                raise TrainerConfigError.one(render_path(edit.path), "has no table to add the learning rate to")
            parent.add(key, item)
        else:
            old = parent[key]
            parent[key] = _replacement(old, edit.value)
    return tomlkit.dumps(document)


def _navigate(document: Container, path: Sequence[str | int], edit: Edit) -> Any:
    node: Any = document
    for part in path:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            raise TrainerConfigError.one(render_path(edit.path), "is not in the file") from None
        if isinstance(node, AoT):
            node = list(node)
    return node


def _replacement(old: Any, value: float) -> Item:
    """The new value as a tomlkit item written like `old`, keeping its comment."""
    if isinstance(old, String):
        new: Item = tomlkit.string(_numbers.like(value, str(old)), literal=old.type.is_literal())
    else:
        original = old.as_string() if isinstance(old, Item) else str(old)
        new = tomlkit.value(_numbers.like(value, original))
    if isinstance(old, Item) and not isinstance(old, Array | Table):
        new.trivia.indent = old.trivia.indent
        new.trivia.comment_ws = old.trivia.comment_ws
        new.trivia.comment = old.trivia.comment
        new.trivia.trail = old.trivia.trail
    return new
