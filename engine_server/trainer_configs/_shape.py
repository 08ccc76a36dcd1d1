"""Refusing hostile files before a parser runs: nesting depth, YAML size, TOML tables and keys.

A parser cannot be stopped once it runs, and some cost far more than a file's size suggests: ruamel's
scanner is quadratic in flow nesting (4 KB of `[[[…]]]` is seconds of CPU) and takes about a second
per 60 KB of YAML, tomllib is quadratic in the parts of a dotted key, and tomlkit grows faster than
linearly with the number of tables. These checks cost a small part of a parse and bound what any one
file can cost; a trainer's real configuration is far inside every limit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from ruamel.yaml.scanner import Scanner

from ._common import TrainerConfigError

#: Mappings and lists inside one another; trainer configs nest fewer than 10.
MAX_NESTING = 32
#: ai-toolkit's YAML files are a few KiB; ruamel reads about 60 KiB a second.
MAX_YAML_BYTES = 64 * 1024
#: Parts of one dotted TOML key or table name (`a.b.c`).
MAX_KEY_PARTS = MAX_NESTING
#: Tables and keys of a TOML file: trainers write tens of tables and a few hundred keys; tomllib reads
#: about 70,000 keys a second, and tomlkit's cost of editing grows faster than the number of tables.
MAX_TOML_TABLES = 1_000
MAX_TOML_KEYS = 5_000

_TOO_DEEP = f"mappings or lists are nested too deeply (more than {MAX_NESTING} levels; trainer configs nest far less)"

# Strings are matched whole so that brackets inside them do not count.
_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')
_TOML_STRING = r'"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'[^\'\n]*\''
_TOML_TOKENS = re.compile(rf"{_TOML_STRING}|#[^\n]*|[\[\]{{}}]")
# Possessive, so that a search stays linear in the text's length.
_TOML_KEY_PART = r'(?:[A-Za-z0-9_-]++|"(?:[^"\\\n]|\\.)*+"|\'[^\'\n]*+\')'
_TOML_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.MULTILINE)
# Where a key can start: a line (or a table header) or a member of an inline table.
_TOML_KEY_START = r"(?:^[ \t]*+\[{0,2}|[{,])[ \t]*+"
_TOML_LONG_KEY = re.compile(
    rf"{_TOML_KEY_START}{_TOML_KEY_PART}(?:[ \t]*+\.[ \t]*+{_TOML_KEY_PART}){{{MAX_KEY_PARTS}}}", re.MULTILINE
)


def _line(text: str, position: int) -> str:
    return f"line {text.count(chr(10), 0, position) + 1}"


def _check_brackets(text: str, tokens: Iterable[re.Match[str]]) -> None:
    depth = 0
    for token in tokens:
        character = token.group()
        if character in "[{":
            depth += 1
            if depth > MAX_NESTING:
                raise TrainerConfigError.one(_line(text, token.start()), _TOO_DEEP)
        elif character in "]}":
            depth = max(0, depth - 1)


def check_json(text: str) -> None:
    _check_brackets(text, _JSON_TOKENS.finditer(text))


def check_toml(text: str) -> None:
    # Upper bounds, counted without parsing: header lines and "{" for tables, "=" for keys.
    tables = len(_TOML_TABLE_HEADER.findall(text)) + text.count("{")
    keys = text.count("=")
    if tables > MAX_TOML_TABLES or keys > MAX_TOML_KEYS:
        raise TrainerConfigError.one(
            "",
            f"has {tables:,} tables and {keys:,} keys or more; LRTool reads TOML files of up to"
            f" {MAX_TOML_TABLES:,} tables and {MAX_TOML_KEYS:,} keys (trainers write far fewer)",
        )
    long_key = _TOML_LONG_KEY.search(text)
    if long_key is not None:
        raise TrainerConfigError.one(_line(text, long_key.start()), f"a dotted key has more than {MAX_KEY_PARTS} parts")
    _check_brackets(text, _TOML_TOKENS.finditer(text))


def check_yaml(text: str) -> None:
    """The size; `BoundedScanner` bounds the nesting while ruamel reads."""
    size = len(text.encode("utf-8"))
    if size > MAX_YAML_BYTES:
        raise TrainerConfigError.one(
            "", f"is {size:,} bytes of YAML; YAML trainer configs are limited to {MAX_YAML_BYTES // 1024} KiB"
        )


class BoundedScanner(Scanner):
    """ruamel's scanner, refusing to nest deeper than MAX_NESTING.

    A check in the scanner itself, not a scan before it: ruamel holds back every token of a flow
    collection that may turn out to be a mapping key, so a separate pass over its tokens would pay the
    quadratic cost of the nesting before seeing the first bracket.
    """

    def _refuse_deeper(self, depth: int) -> None:
        if depth >= MAX_NESTING:
            raise TrainerConfigError.one(f"line {self.reader.get_mark().line + 1}", _TOO_DEEP)

    def fetch_flow_collection_start(self, TokenClass: Any, to_push: str) -> None:
        self._refuse_deeper(self.flow_level + len(self.indents))
        super().fetch_flow_collection_start(TokenClass, to_push)

    def add_indent(self, column: int) -> bool:
        if self.indent < column:  # a new, deeper block level (ruamel asks for every key)
            self._refuse_deeper(self.flow_level + len(self.indents))
        return bool(super().add_indent(column))
