"""Overrides from the command line: ``--set flights.us_c17.per_day=30``.

An override is a change in the lever language (:mod:`.levers`): ``PATH=VALUE`` sets,
``PATH+=VALUE`` adds to and ``PATH*=VALUE`` scales every number at the path. ``PATH`` is the
dotted path of a field, through the scenario's named mappings (``flights.us_c17.per_day``,
``demand.siv_applicants.pool``, ``screening.lanes.2021-08-18``); a number addresses a list
item (rarely needed: the schema uses named mappings). ``VALUE`` is YAML, read like a value
in a scenario file: ``30``, ``[20, 26]``, ``2021-09-11``, ``45min``,
``{dist: exponential, mean: 36h}``, ``null``, or ``!remove`` to delete the key.

Overrides apply in order, after every ``extends``. ``=`` *sets* the value at its path: a
mapping given as ``VALUE`` replaces the mapping there (use an overlay file to merge), and
missing mappings along the path are created. ``+=`` and ``*=`` change the value written in
the files (every step of a profile, both ends of a range). Mistakes are reported with the
file ``--set`` and, as line, the position of the override among the ``--set`` options.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence
from typing import Any

from .diagnostics import norm_key
from .documents import REMOVE, Document, Problem, ScenarioError, parse_yaml
from .levers import (
    Lever,
    LeverSyntaxError,
    Mode,
    PathError,
    apply_change,
    locate,
    parse_lever,
)

__all__ = ["SOURCE", "Override", "apply_overrides", "parse_override"]

SOURCE = "--set"
"""The file name given to problems in an override."""


@dataclasses.dataclass(frozen=True)
class Override:
    """One parsed ``--set PATH=VALUE`` (or ``+=``, ``*=``); ``index`` is its 1-based
    position."""

    parts: tuple[str, ...]
    value: Any
    index: int
    origins: dict[tuple[str, ...], tuple[str, int | None]]
    mode: Mode = "set"

    @property
    def path(self) -> str:
        return ".".join(self.parts)


def _refuse(index: int, path: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(SOURCE, path, message, index)], unreadable=True)


def parse_override(text: str, index: int = 1) -> Override:
    """Parse ``PATH=VALUE`` (``+=``, ``*=``); raise :class:`ScenarioError` (unreadable) if
    malformed."""
    try:
        lever = parse_lever(text, example="deadline=2021-09-11")
    except LeverSyntaxError:
        head = text.partition("=")[0].rstrip("+*").strip()
        if "=" not in text or not head:
            raise _refuse(
                index,
                "",
                f"'{text}' is not an override (expected PATH=VALUE, e.g. deadline=2021-09-11)",
            ) from None
        raise _refuse(
            index, head, "empty name in the path (expected names joined by dots, e.g. a.b.c)"
        ) from None
    parts = tuple(lever.path.split("."))
    if parts[0] == "extends":
        raise _refuse(
            index, lever.path, "extends cannot be overridden (expected a field of the scenario)"
        )
    value_text = text.partition("=")[2]
    try:
        doc = parse_yaml(value_text, SOURCE)
    except ScenarioError as err:
        reason = err.problems[0].message if err.problems else "not valid YAML"
        raise _refuse(index, lever.path, f"value {value_text!r}: {reason}") from None
    if lever.mode != "set" and doc.data is REMOVE:
        raise _refuse(
            index,
            lever.path,
            f"!remove goes with '=', not '{lever.op}' (expected {lever.path}=!remove)",
        )
    origins = {(*parts, *sub): (SOURCE, index) for sub in doc.origins}
    return Override(parts, doc.data, index, origins, lever.mode)


def _apply(data: Any, override: Override) -> Any:
    """``data`` with the override applied (``data`` itself is modified; pass a copy)."""
    if not isinstance(data, dict):
        data = {}
    lever = Lever(override.path, override.value, override.mode)
    try:
        if override.value is REMOVE:
            node, key = _container(data, override)
            del node[key]
        else:
            apply_change(data, lever, create=True)
    except PathError as exc:
        # Reaching inside a value that is not a mapping: the override cannot be read at all.
        unreadable = "cannot set a field inside" in exc.message or "no item" in exc.message
        raise ScenarioError(
            [Problem(SOURCE, override.path, exc.message, override.index)], unreadable=unreadable
        ) from None
    except ValueError as exc:
        message = str(exc).partition(": ")[2] or str(exc)
        raise ScenarioError([Problem(SOURCE, override.path, message, override.index)]) from None
    return data


def _container(data: dict, override: Override) -> tuple[Any, Any]:
    """Where a ``!remove`` deletes: the key must be there (a list item cannot be removed)."""
    node, key = locate(data, override.parts, create=True)
    if isinstance(node, list):
        raise PathError(
            override.path,
            f"no item {key} in the list at "
            f"{'.'.join(override.parts[:-1])} (expected an index "
            f"below {len(node)}, or set the whole list)",
        )
    if key not in node:
        raise PathError(
            override.path, "!remove has nothing to remove (expected a key of the scenario)"
        )
    return node, key


def apply_overrides(doc: Document, overrides: Sequence[str]) -> Document:
    """Apply overrides in order; every value set keeps its ``--set`` origin."""
    data = copy.deepcopy(doc.data)
    origins = dict(doc.origins)
    for index, text in enumerate(overrides, start=1):
        override = parse_override(text, index)
        data = _apply(data, override)
        prefix = tuple(norm_key(p) for p in override.parts)
        if override.mode == "set":
            origins = {
                path: where for path, where in origins.items() if path[: len(prefix)] != prefix
            }
            origins.update(
                {
                    tuple(norm_key(p) for p in path): where
                    for path, where in override.origins.items()
                }
            )
        else:  # the value changed where it was written: point there and at this --set
            origins[prefix] = (SOURCE, index)
    return Document(data, doc.file, origins)
