"""YAML documents: safe parsing, where each value was written, and overlays.

The primitives every part of the scenario language builds on, below both the loader
(:mod:`.loader`: ``extends:`` and validation) and the command-line overrides
(:mod:`.overrides`): a :class:`Problem` and :class:`ScenarioError`; :func:`parse_yaml` and
:func:`read_document`, which parse safely into a :class:`Document` keeping the line of every
value; the overlay markers ``!remove`` (:data:`REMOVE`) and ``!replace`` (:class:`Replace`);
and :func:`deep_merge` / :func:`merge_documents`, how an overlay applies to its base.

Parsing is safe by construction: a safe loader (no tag constructs an object, except the two
overlay markers); a text larger than :data:`MAX_FILE_BYTES`, nested deeper than
:data:`MAX_DEPTH`, or expanding (through aliases) to more than :data:`MAX_NODES` values is
refused before it is built, and so are recursive aliases and duplicate keys.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from .diagnostics import norm_key

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_NODES",
    "MISSING",
    "REMOVE",
    "Document",
    "Origin",
    "Problem",
    "Replace",
    "ScenarioError",
    "deep_merge",
    "find_key",
    "leftover_removes",
    "merge_documents",
    "parse_yaml",
    "plain",
    "read_document",
    "read_yaml",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
"""Largest scenario file read (bytes): about a hundred times the Kabul baseline."""
MAX_DEPTH = 32
"""Deepest nesting of mappings and lists accepted (the schema needs 6)."""
MAX_NODES = 200_000
"""Most values a file may expand to, counting each use of an alias in full."""


# --------------------------------------------------------------------------- problems


@dataclasses.dataclass(frozen=True)
class Problem:
    """One mistake in a scenario: where it is and what is expected.

    ``file`` is the file as the user named it (or ``--set`` for a command-line override,
    whose ``line`` is then the position of that ``--set`` among them); ``path`` is the dotted
    field path; ``severity`` is ``"error"`` (the scenario is refused) or ``"warning"``.
    """

    file: str
    path: str
    message: str
    line: int | None = None
    severity: str = "error"

    def __str__(self) -> str:
        where = self.file if self.line is None else f"{self.file}:{self.line}"
        message = self.message if self.severity == "error" else f"warning: {self.message}"
        text = f"{where}: {self.path}: {message}" if self.path else f"{where}: {message}"
        return _one_line(text)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _one_line(text: str) -> str:
    """One problem, one line: control characters a user typed are shown escaped."""
    return _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)


class ScenarioError(Exception):
    """A scenario could not be read or is invalid; ``problems`` lists every mistake.

    ``unreadable`` is true when the input could not be read or parsed at all (exit code 2 in
    the CLI), false when it was read but is invalid (exit code 1).
    """

    def __init__(self, problems: list[Problem], *, unreadable: bool = False):
        self.problems = problems
        self.unreadable = unreadable
        super().__init__("\n".join(str(p) for p in problems))


# --------------------------------------------------------------------------- safe YAML


class _RemoveMarker:
    """``!remove``: delete this key from the scenario being extended (a singleton)."""

    _instance: _RemoveMarker | None = None

    def __new__(cls) -> _RemoveMarker:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "!remove"

    def __copy__(self) -> _RemoveMarker:
        return self

    def __deepcopy__(self, memo: dict) -> _RemoveMarker:
        return self

    def __reduce__(self) -> str:
        return "REMOVE"


REMOVE = _RemoveMarker()
"""The value of a ``key: !remove`` in an overlay or a ``--set``."""


class Replace(dict):
    """``!replace {...}``: this mapping replaces the base's instead of merging into it."""


_SafeBase: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class _Loader(_SafeBase):  # type: ignore[misc, valid-type]
    """The safe loader plus the two overlay markers; every other tag is an error."""


def _construct_remove(loader: Any, node: yaml.Node) -> _RemoveMarker:
    if not isinstance(node, yaml.ScalarNode) or node.value:
        raise yaml.constructor.ConstructorError(
            None, None, "!remove takes no value (write 'key: !remove')", node.start_mark
        )
    return REMOVE


def _construct_replace(loader: Any, node: yaml.Node) -> Replace:
    if not isinstance(node, yaml.MappingNode):
        raise yaml.constructor.ConstructorError(
            None,
            None,
            "!replace applies to a mapping (write 'key: !replace {...}')",
            node.start_mark,
        )
    return Replace(loader.construct_mapping(node, deep=True))


def _construct_timestamp(loader: Any, node: yaml.Node) -> Any:
    """A date YAML recognises but the calendar does not (2021-08-33) stays text, so that
    validation reports it at its field instead of the parser failing without a path."""
    try:
        return yaml.constructor.SafeConstructor.construct_yaml_timestamp(loader, node)
    except ValueError:
        return loader.construct_scalar(node)


def _construct_number(loader: Any, node: yaml.Node) -> Any:
    """YAML 1.1 reads ``11:30`` as the base-60 number 690 (and ``07:30`` as text): a time of
    day written without quotes stays text, so that it means what it says wherever it is."""
    if ":" in str(node.value):
        return loader.construct_scalar(node)
    if node.tag.endswith(":int"):
        return yaml.constructor.SafeConstructor.construct_yaml_int(loader, node)
    return yaml.constructor.SafeConstructor.construct_yaml_float(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _construct_timestamp)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_number)
_Loader.add_constructor("tag:yaml.org,2002:float", _construct_number)
_Loader.add_constructor("!remove", _construct_remove)
_Loader.add_constructor("!replace", _construct_replace)

_MERGE_TAG = "tag:yaml.org,2002:merge"

Origin = tuple[str, int | None]
"""Where a value was written: (file as the user named it, 1-based line or None)."""


@dataclasses.dataclass
class Document:
    """Parsed scenario data and where each of its values was written.

    ``origins`` maps a path (mapping keys normalised by
    :func:`~evacsim.diagnostics.norm_key`, list indices as text) to its :data:`Origin`.
    """

    data: Any
    file: str
    origins: dict[tuple[str, ...], Origin] = dataclasses.field(default_factory=dict)

    def origin(self, parts: Sequence[str]) -> Origin:
        """Where the value at ``parts`` (or its nearest written ancestor) was written."""
        for n in range(len(parts), -1, -1):
            found = self.origins.get(tuple(parts[:n]))
            if found is not None:
                return found
        return self.file, None


def _yaml_problem(file: str, exc: yaml.YAMLError, text: str, line_offset: int = 0) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    line = mark.line + 1 + line_offset if mark is not None else None
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    expected = "plain YAML: key: value mappings, lists, numbers and text"
    unknown_tag = re.match(r"could not determine a constructor for the tag '(.*)'", reason)
    if unknown_tag:
        tag = unknown_tag.group(1).replace("tag:yaml.org,2002:", "!!")
        return Problem(
            file,
            "",
            f"unknown tag '{tag}' (expected {expected}; the only tags are !remove and !replace)",
            line,
        )
    if "nesting depth" in reason:  # libyaml's own limit (PyYAML >= 6.0.4) stops it first
        deep = f"nested more than {MAX_DEPTH} levels deep (expected a scenario's shape)"
        return Problem(file, "", deep, line)
    if "another document" in reason:
        return Problem(file, "", "a second YAML document (expected one scenario per file)", line)
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return Problem(file, "", "a tab character in the indentation (expected spaces)", line)
    return Problem(file, "", f"not valid YAML: {reason} (expected {expected})", line)


def _refuse(file: str, message: str, line: int | None = None) -> ScenarioError:
    return ScenarioError([Problem(file, "", message, line)], unreadable=True)


def _check_events(text: str, file: str) -> None:
    """Refuse too-deep nesting before building anything (the composer recurses)."""
    depth = 0
    for count, event in enumerate(yaml.parse(text, Loader=_Loader), start=1):
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise _refuse(
                    file,
                    f"nested more than {MAX_DEPTH} levels deep (expected a scenario's shape)",
                    event.start_mark.line + 1,
                )
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        if count > MAX_NODES:
            raise _refuse(file, f"more than {MAX_NODES} values (expected a scenario's size)")


def _check_nodes(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs and recursive aliases: measure the expanded tree, iteratively."""
    size: dict[int, int] = {}
    height: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            kids = _children(node)
            size[key] = 1 + sum(size[id(k)] for k in kids)
            height[key] = 1 + max((height[id(k)] for k in kids), default=0)
            if size[key] > MAX_NODES:
                raise _refuse(
                    file,
                    f"expands to more than {MAX_NODES} values through aliases "
                    "(expected a scenario's size)",
                    node.start_mark.line + 1,
                )
            if height[key] > MAX_DEPTH + 1:
                raise _refuse(
                    file,
                    f"nested more than {MAX_DEPTH} levels deep through aliases "
                    "(expected a scenario's shape)",
                    node.start_mark.line + 1,
                )
            continue
        if key in size:
            continue
        if key in on_path:
            raise _refuse(
                file,
                "an alias refers to a mapping or list that contains it "
                "(expected no recursive aliases)",
                node.start_mark.line + 1,
            )
        on_path.add(key)
        stack.append((node, True))
        stack.extend((kid, False) for kid in _children(node) if id(kid) not in size)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _check_duplicates(root: yaml.Node, file: str, line_offset: int) -> list[Problem]:
    """PyYAML keeps the last of two equal keys silently; a planner must hear of it."""
    problems: list[Problem] = []
    seen_nodes: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key_node, _ in node.value:
                if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                    continue
                line = key_node.start_mark.line + 1 + line_offset
                ident = (key_node.tag, key_node.value)
                if ident in first:
                    problems.append(
                        Problem(
                            file,
                            "",
                            f"duplicate key '{key_node.value}', first written at line "
                            f"{first[ident]} (expected each key once in a mapping)",
                            line,
                        )
                    )
                else:
                    first[ident] = line
        stack.extend(_children(node))
    return problems


def _origins(
    loader: Any, node: yaml.Node, file: str, line_offset: int, prefix: tuple[str, ...] = ()
) -> dict[tuple[str, ...], Origin]:
    """Path -> (file, line) for every value under ``node`` (depth bounded by the checks)."""
    found: dict[tuple[str, ...], Origin] = {}

    def visit(n: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                if key_node.tag == _MERGE_TAG:
                    continue
                key = loader.construct_object(key_node, deep=True)
                sub = (*path, norm_key(key))
                found[sub] = (file, key_node.start_mark.line + 1 + line_offset)
                visit(value_node, sub)
        elif isinstance(n, yaml.SequenceNode):
            for index, item in enumerate(n.value):
                sub = (*path, str(index))
                found[sub] = (file, item.start_mark.line + 1 + line_offset)
                visit(item, sub)

    found[prefix] = (file, node.start_mark.line + 1 + line_offset)
    visit(node, prefix)
    return found


def parse_yaml(text: str, file: str, *, line_offset: int = 0) -> Document:
    """Parse YAML text safely into a :class:`Document` with the line of every value.

    Raises :class:`ScenarioError` (``unreadable``) for text that is not YAML, too large, too
    deep, an alias bomb, or that repeats a key.
    """
    if len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        raise _refuse(file, f"larger than {MAX_FILE_BYTES} bytes (expected a scenario's size)")
    loader = None
    try:
        _check_events(text, file)
        loader = _Loader(text)
        node = loader.get_single_node()
        if node is None:
            return Document(None, file, {(): (file, None)})
        _check_nodes(node, file)
        duplicates = _check_duplicates(node, file, line_offset)
        if duplicates:
            raise ScenarioError(duplicates, unreadable=True)
        data = loader.construct_document(node)
        origins = _origins(loader, node, file, line_offset)
    except yaml.YAMLError as exc:
        problem = _yaml_problem(file, exc, text, line_offset)
        raise ScenarioError([problem], unreadable=True) from None
    except (TypeError, ValueError, RecursionError) as exc:  # e.g. an unhashable key
        raise _refuse(file, f"not valid YAML: {exc} (expected a YAML mapping of fields)") from None
    finally:
        if loader is not None:
            loader.dispose()
    return Document(data, file, origins)


def read_document(path: str | os.PathLike[str], shown: str | None = None) -> Document:
    """Read and parse one YAML file (no ``extends``); ``shown`` is its name in messages."""
    file = str(path) if shown is None else shown
    try:
        with open(path, "rb") as handle:
            raw = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise _refuse(file, f"cannot read file ({reason})") from None
    if len(raw) > MAX_FILE_BYTES:
        raise _refuse(file, f"larger than {MAX_FILE_BYTES} bytes (expected a scenario's size)")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _refuse(file, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    return parse_yaml(text, file)


def read_yaml(path: str | os.PathLike[str]) -> Any:
    """Parse a YAML file safely (no object construction from tags); return its data."""
    return read_document(path).data


# --------------------------------------------------------------------------- overlays


def _same_key(a: Any, b: Any) -> bool:
    return a == b or norm_key(a) == norm_key(b)


def find_key(mapping: dict, key: Any) -> Any:
    """The key of ``mapping`` that ``key`` addresses (same key, or the same time)."""
    if key in mapping:
        return key
    for existing in mapping:
        if _same_key(existing, key):
            return existing
    return MISSING


MISSING = object()
"""What :func:`find_key` returns when the mapping has no such key."""


def deep_merge(base: Any, overlay: Any) -> Any:
    """``overlay`` on top of ``base``.

    Mappings merge key by key, to any depth (a step-profile time matches the same time
    written differently); a ``!replace`` mapping and anything that is not a mapping
    (numbers, text, lists) replace the base value whole; ``!remove`` deletes the key. A
    ``!remove`` with nothing to delete stays in the result, for the caller to report.
    """
    if isinstance(overlay, Replace) or not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    merged = dict(base)
    for key, value in overlay.items():
        target = find_key(merged, key)
        if target is MISSING:
            merged[key] = value
        elif value is REMOVE:
            del merged[target]
        else:
            old = merged.pop(target)
            merged[key] = deep_merge(old, value)
    return merged


def _paths(data: Any, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*prefix, norm_key(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*prefix, str(index)))


def merge_documents(base: Document, overlay: Document) -> Document:
    """:func:`deep_merge` of the data, each value keeping the line it was written on."""
    data = deep_merge(base.data, overlay.data)
    origins: dict[tuple[str, ...], Origin] = {}
    for path in _paths(data):
        where = overlay.origins.get(path) or base.origins.get(path)
        if where is not None:
            origins[path] = where
    return Document(data, overlay.file, origins)


def leftover_removes(doc: Document) -> list[Problem]:
    """A ``!remove`` left after merging had nothing to remove: say so."""
    problems = []
    for path in _paths(doc.data):
        value: Any = doc.data
        for part in path:
            value = _child(value, part)
        if value is REMOVE:
            file, line = doc.origin(path)
            problems.append(
                Problem(
                    file,
                    ".".join(path),
                    "!remove has nothing to remove "
                    "(expected a key of the scenario this file extends, or of the file itself)",
                    line,
                )
            )
    return problems


def _child(value: Any, part: str) -> Any:
    if isinstance(value, dict):
        key = find_key(value, part)
        return value[key] if key is not MISSING else None
    return value[int(part)]


def plain(data: Any) -> Any:
    """Drop the overlay markers' types: plain dicts and lists for validation and output."""
    if isinstance(data, dict):
        return {key: plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [plain(value) for value in data]
    return data
