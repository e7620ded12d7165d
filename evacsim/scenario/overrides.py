"""Overrides from the command line: ``--set flights.us_c17.per_day=30``.

An override is ``PATH=VALUE``. ``PATH`` is the dotted path of a field, through the
scenario's named mappings (``flights.us_c17.per_day``, ``demand.siv_applicants.pool``,
``screening.lanes.2021-08-18``); a number addresses a list item (rarely needed: the schema
uses named mappings). ``VALUE`` is YAML, read like a value in a scenario file: ``30``,
``[20, 26]``, ``2021-09-11``, ``45min``, ``{dist: exponential, mean: 36h}``, ``null``, or
``!remove`` to delete the key.

Overrides apply in order, after every ``extends``, and each *sets* the value at its path:
a mapping given as ``VALUE`` replaces the mapping there (use an overlay file to merge).
Missing mappings along the path are created. Mistakes are reported with the file ``--set``
and, as line, the position of the override among the ``--set`` options.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from .diagnostics import norm_key, show_value
from .documents import MISSING, REMOVE, Document, Problem, ScenarioError, find_key, parse_yaml

__all__ = ["SOURCE", "Override", "apply_overrides", "parse_override"]

SOURCE = "--set"
"""The file name given to problems in an override."""


@dataclasses.dataclass(frozen=True)
class Override:
    """One parsed ``--set PATH=VALUE``; ``index`` is its 1-based position."""

    parts: tuple[str, ...]
    value: Any
    index: int
    origins: dict[tuple[str, ...], tuple[str, int | None]]

    @property
    def path(self) -> str:
        return ".".join(self.parts)


def _refuse(index: int, path: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(SOURCE, path, message, index)], unreadable=True)


def parse_override(text: str, index: int = 1) -> Override:
    """Parse ``PATH=VALUE``; raise :class:`ScenarioError` (unreadable) if malformed."""
    path, sep, value_text = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise _refuse(
            index,
            "",
            f"'{text}' is not an override (expected PATH=VALUE, e.g. deadline=2021-09-11)",
        )
    parts = tuple(part.strip() for part in path.split("."))
    if any(not part for part in parts):
        raise _refuse(
            index, path, "empty name in the path (expected names joined by dots, e.g. a.b.c)"
        )
    if parts[0] == "extends":
        raise _refuse(
            index, path, "extends cannot be overridden (expected a field of the scenario)"
        )
    try:
        doc = parse_yaml(value_text, SOURCE)
    except ScenarioError as err:
        reason = err.problems[0].message if err.problems else "not valid YAML"
        raise _refuse(index, path, f"value {value_text!r}: {reason}") from None
    origins = {(*parts, *sub): (SOURCE, index) for sub in doc.origins}
    return Override(parts, doc.data, index, origins)


def _set(data: Any, override: Override) -> Any:
    """``data`` with the override applied (``data`` itself is modified; pass a copy)."""
    parts, value = override.parts, override.value
    if not isinstance(data, dict):
        data = {}
    node: Any = data
    for depth, part in enumerate(parts[:-1]):
        where = ".".join(parts[: depth + 1])
        if isinstance(node, dict):
            key = find_key(node, part)
            if key is MISSING:
                node[part] = {}
                key = part
            child = node[key]
            if child is None:
                node[key] = child = {}
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            child = node[int(part)]
        else:
            raise _refuse(
                override.index,
                override.path,
                f"cannot go inside {'.'.join(parts[:depth])}: it is {show_value(node)} "
                f"(expected a mapping at {where})",
            )
        if not isinstance(child, dict | list):
            raise _refuse(
                override.index,
                override.path,
                f"cannot set a field inside {where}: it is {show_value(child)}, not a mapping "
                f"(expected a mapping there, or set {where} itself)",
            )
        node = child
    last = parts[-1]
    if isinstance(node, list):
        if not (last.isdigit() and int(last) < len(node)) or value is REMOVE:
            raise _refuse(
                override.index,
                override.path,
                f"no item {last} in the list at {'.'.join(parts[:-1])} "
                f"(expected an index below {len(node)}, or set the whole list)",
            )
        node[int(last)] = value
        return data
    key = find_key(node, last)
    if value is REMOVE:
        if key is MISSING:
            raise ScenarioError(
                [
                    Problem(
                        SOURCE,
                        override.path,
                        "!remove has nothing to remove (expected a key of the scenario)",
                        override.index,
                    )
                ]
            )
        del node[key]
    else:
        if key is not MISSING:
            del node[key]
        node[last] = value
    return data


def apply_overrides(doc: Document, overrides: Sequence[str]) -> Document:
    """Apply ``PATH=VALUE`` overrides in order; every value set keeps its ``--set`` origin."""
    data = copy.deepcopy(doc.data)
    origins = dict(doc.origins)
    for index, text in enumerate(overrides, start=1):
        override = parse_override(text, index)
        data = _set(data, override)
        prefix = tuple(norm_key(p) for p in override.parts)
        origins = {path: where for path, where in origins.items() if path[: len(prefix)] != prefix}
        origins.update(
            {tuple(norm_key(p) for p in path): where for path, where in override.origins.items()}
        )
    return Document(data, doc.file, origins)
