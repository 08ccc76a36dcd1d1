"""YAML files (ai-toolkit): composed with ruamel.yaml's safe loader, converted to plain data here.

Reading never constructs objects: only the standard scalar, mapping and sequence tags are allowed, and
aliases may not expand into more than `MAX_NODES` nodes (a billion-laughs file is refused before it is
walked). Editing replaces only the characters of the scalars it sets, located by the parser's marks,
so comments, indentation and flow-style spacing stay byte for byte.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError, YAMLError
from ruamel.yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from . import _numbers, _shape
from ._common import Edit, TrainerConfigError, newline_of, render_path, show

#: Nodes a document may expand to through aliases; real trainer configs have a few hundred.
MAX_NODES = 100_000

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{name}" for name in ("str", "int", "float", "bool", "null", "timestamp", "merge")}
_MERGE = f"{_TAG}merge"
_ALLOWED_TAGS = {MappingNode: {f"{_TAG}map"}, SequenceNode: {f"{_TAG}seq"}, ScalarNode: _SCALAR_TAGS}


def _yaml() -> YAML:
    yaml = YAML(typ="safe", pure=True)
    yaml.Scanner = _shape.BoundedScanner
    return yaml


def _line(node: Node) -> str:
    return f"line {node.start_mark.line + 1}"


def compose(text: str) -> Node | None:
    _shape.check_yaml(text)
    try:
        node: Node | None = _yaml().compose(text)
    except MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        context = error.context or ""
        if context and error.context_mark is not None and error.context_mark is not mark:
            context += f" (from line {error.context_mark.line + 1})"
        what = ": ".join(part for part in (context, error.problem) if part)
        raise TrainerConfigError.one(where, f"not valid YAML: {what}") from None
    except YAMLError as error:
        raise TrainerConfigError.one("", f"not valid YAML: {error}") from None
    except RecursionError:
        raise TrainerConfigError.one("", "not readable: mappings or lists are nested too deeply") from None
    return node


def _check_nodes(root: Node) -> None:
    """Refuse object tags, alias bombs and self-referencing aliases before anything builds the document."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: Node) -> int:
        known = sizes.get(id(node))
        if known is not None:
            return known
        if id(node) in active:
            raise TrainerConfigError.one(_line(node), "an alias refers to the node that contains it")
        if node.tag not in _ALLOWED_TAGS.get(type(node), ()):
            tag = str(node.tag)
            tag = "!!" + tag.removeprefix(_TAG) if tag.startswith(_TAG) else tag
            raise TrainerConfigError.one(
                _line(node), f"the tag {tag} is not allowed: trainer configs hold plain values, not objects"
            )
        active.add(id(node))
        total = 1
        if isinstance(node, MappingNode):
            for key, value in node.value:
                total += size(key) + size(value)
        elif isinstance(node, SequenceNode):
            for item in node.value:
                total += size(item)
        active.discard(id(node))
        if total > MAX_NODES:
            raise TrainerConfigError.one(
                _line(node), f"aliases expand to more than {MAX_NODES:,} values; such a file is refused"
            )
        sizes[id(node)] = total
        return total

    try:
        size(root)
    except RecursionError:
        raise TrainerConfigError.one("", "not readable: mappings or lists are nested too deeply") from None


def load(text: str) -> Any:
    root = compose(text)
    if root is None:
        return None
    _check_nodes(root)
    constructor = _yaml().constructor
    built: dict[int, Any] = {}

    def build(node: Node) -> Any:
        if id(node) in built:
            return built[id(node)]
        if isinstance(node, MappingNode):
            mapping: dict[Any, Any] = {}
            built[id(node)] = mapping
            merged: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                if key_node.tag == _MERGE:
                    for source in _merge_sources(value_node):
                        merged.update(build(source))
                    continue
                key = build(key_node)
                if isinstance(key, dict | list):
                    raise TrainerConfigError.one(_line(key_node), "a mapping key must be plain text or a number")
                mapping[key] = build(value_node)
            for key, value in merged.items():
                mapping.setdefault(key, value)  # explicit keys win over merged ones, as in YAML 1.1
            return mapping
        if isinstance(node, SequenceNode):
            items: list[Any] = []
            built[id(node)] = items
            items.extend(build(item) for item in node.value)
            return items
        return _scalar(node, constructor)

    return build(root)


def _merge_sources(node: Node) -> list[Node]:
    if isinstance(node, MappingNode):
        return [node]
    if isinstance(node, SequenceNode) and all(isinstance(item, MappingNode) for item in node.value):
        return list(reversed(node.value))  # earlier sources win
    raise TrainerConfigError.one(_line(node), "a merge key (<<) must name a mapping or a list of mappings")


def _scalar(node: Node, constructor: Any) -> Any:
    """A scalar with one of the standard tags (`_check_nodes` refused the others)."""
    if node.tag == f"{_TAG}timestamp":
        return str(node.value)  # dates are kept as written
    try:
        return constructor.construct_object(node, deep=True)
    except (YAMLError, ValueError) as error:
        raise TrainerConfigError.one(_line(node), f"cannot read {show(node.value)}: {error}") from None


# --- Editing ---------------------------------------------------------------------


def _child(node: Node, part: str | int) -> Node | None:
    """The node under `part`, as `load` resolves it (last duplicate key, then merged mappings)."""
    if isinstance(node, SequenceNode) and isinstance(part, int):
        return node.value[part] if 0 <= part < len(node.value) else None
    if not isinstance(node, MappingNode):
        return None
    found: Node | None = None
    merges: list[Node] = []
    for key_node, value_node in node.value:
        if key_node.tag == _MERGE:
            merges.extend(_merge_sources(value_node))
        elif isinstance(key_node, ScalarNode) and key_node.value == part:
            found = value_node
    if found is None:
        for source in merges:  # in `load`'s order: the later update, i.e. the earlier source, wins
            hit = _child(source, part)
            found = hit if hit is not None else found
    return found


def write(text: str, edits: Sequence[Edit]) -> str:
    root = compose(text)
    replacements: list[tuple[int, int, str]] = []
    for edit in edits:
        node = root
        for part in edit.path[:-1] if edit.insert else edit.path:
            node = _child(node, part) if node is not None else None
        if node is None:
            raise TrainerConfigError.one(render_path(edit.path), "is not in the file")
        if edit.insert:
            replacements.append(_insertion(text, node, edit))
            continue
        if not isinstance(node, ScalarNode):
            raise TrainerConfigError.one(render_path(edit.path), "is not a number")
        start, end = node.start_mark.index, node.end_mark.index
        number = _numbers.like(edit.value, node.value)
        quote = node.style if node.style in ("'", '"') else ""
        replacements.append((start, end, f"{quote}{number}{quote}"))
    for start, end, written in sorted(replacements, reverse=True):
        text = text[:start] + written + text[end:]
    return text


def _insertion(text: str, mapping: Node, edit: Edit) -> tuple[int, int, str]:
    """A new `key: value` line above the first key of a block mapping, at the same indentation."""
    key = edit.path[-1]
    if not isinstance(mapping, MappingNode) or mapping.flow_style or not mapping.value or not isinstance(key, str):
        raise TrainerConfigError.one(
            render_path(edit.path), "cannot be added automatically here; add it to the file and export again"
        )
    first = mapping.value[0][0]
    line_start = text.rfind("\n", 0, first.start_mark.index) + 1
    indent = text[line_start : first.start_mark.index]
    if indent.strip():  # the first key shares its line with "- ": there is no clean line to copy
        raise TrainerConfigError.one(
            render_path(edit.path), "cannot be added automatically here; add it to the file and export again"
        )
    line = f"{indent}{key}: {_numbers.scientific(edit.value, dotted=True)}{newline_of(text)}"
    return line_start, line_start, line
