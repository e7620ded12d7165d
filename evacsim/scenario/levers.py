"""The lever language: one way to write a change to a scenario, shared by every command.

A change names a field by its dotted path, through the scenario's named mappings
(``flights.us_c17.per_day``, ``screening.lanes.2021-08-18``, ``staging.al_udeid.capacity``;
a number addresses a list item), and says what to do there::

    PATH=V      set the value (V is YAML, read as in a scenario file: 30, 45min, [20, 26],
                {dist: exponential, mean: 36h}, null; in --set also !remove)
    PATH+=V     add V to every number at PATH: each step of a profile, both ends of a range
                [low, high]; whole numbers stay whole, durations stay durations
    PATH*=V     scale every number at PATH by V, in the same way

Where a command tries several values (``sweep --vary``, ``goalseek --lever``, ``calibrate
--param``), ``V`` may also be a range ``LO..HI`` or a list ``a,b,c``::

    --vary flights.us_c17.per_day+=0,5,10      --lever screening.lanes=20..90
    --param 'demand.siv.arrivals_per_day*=0.5..2'

One parser (:func:`parse_lever`) reads them all and one walker (:func:`locate`) finds the
field for every command: ``--set`` on a scenario file (:mod:`.overrides`), and levers on a
validated scenario (:func:`evacsim.experiments.levers.apply_levers`). A path that does not
exist is a mistake named with the fields that do (and the closest one).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

from .diagnostics import show_value, suggest
from .documents import MISSING, ScenarioError, find_key, parse_yaml
from .units import format_duration, parse_duration

__all__ = [
    "OPERATORS",
    "Lever",
    "LeverSyntaxError",
    "Mode",
    "PathError",
    "Range",
    "apply_change",
    "combine",
    "get_path",
    "locate",
    "parse_lever",
    "parse_value",
    "set_path",
    "split_path",
]

Mode = Literal["set", "add", "scale"]
OPERATORS: dict[str, Mode] = {"=": "set", "+=": "add", "*=": "scale"}
"""How each operator reads: ``=`` sets, ``+=`` adds, ``*=`` scales."""
SYMBOL: dict[str, str] = {mode: op for op, mode in OPERATORS.items()}


class PathError(KeyError):
    """A path that leads nowhere in the data; ``path`` and ``message`` (without the path)."""

    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message
        super().__init__(f"{path}: {message}")

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class LeverSyntaxError(ValueError):
    """A change not written in the lever language; the message says what is expected."""


@dataclasses.dataclass(frozen=True)
class Range:
    """``LO..HI``: the values between ``low`` and ``high`` (numbers, or durations as text)."""

    low: Any
    high: Any

    def __str__(self) -> str:
        return f"{self.low}..{self.high}"


@dataclasses.dataclass(frozen=True)
class Lever:
    """A change to one field: ``path`` (dotted), ``mode`` and ``value`` (after parsing, one
    value; a :class:`Range` or a list where a command tries several)."""

    path: str
    value: Any
    mode: Mode = "set"

    @property
    def op(self) -> str:
        return SYMBOL[self.mode]

    def label(self) -> str:
        """How the change reads in tables: ``screening.lanes=70``, ``x+=5``, ``y*=1.2``."""
        return f"{self.path}{self.op}{self.value}"


# ------------------------------------------------------------------------------ parsing


def split_path(path: str) -> tuple[str, ...]:
    """``a.b.c`` -> ``("a", "b", "c")``; LeverSyntaxError on an empty name."""
    parts = tuple(part.strip() for part in path.split("."))
    if not path.strip() or any(not part for part in parts):
        raise LeverSyntaxError(
            f"'{path}' is not a dotted path (expected names joined by dots, e.g. screening.lanes)"
        )
    return parts


def parse_value(text: str) -> Any:
    """One value as YAML, read safely as in a scenario file: ``70`` -> 70, ``2h`` -> '2h',
    ``null`` -> None; text that is not YAML stays text."""
    try:
        return parse_yaml(text, "<value>").data
    except ScenarioError:
        return text.strip()


def _split_top(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside brackets and braces (a YAML list stays one value)."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        ch = text[i]
        if ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(text[start:i])
            start = i + len(sep)
            i = start
            continue
        i += 1
    parts.append(text[start:])
    return parts


def parse_lever(text: str, *, several: bool = False, example: str = "screening.lanes=70") -> Lever:
    """Parse ``PATH=V``, ``PATH+=V`` or ``PATH*=V``.

    With ``several``, ``V`` may be a range ``LO..HI`` (value: a :class:`Range`) or a list
    ``a,b,c`` (value: a list; one value alone is a list of one); without, ``V`` is one YAML
    value. Raises :class:`LeverSyntaxError` saying what is expected.
    """
    head, sep, tail = text.partition("=")
    mode: Mode = "set"
    if head.endswith("+") or head.endswith("*"):
        mode = OPERATORS[head[-1] + "="]
        head = head[:-1]
    if not sep or not head.strip():
        raise LeverSyntaxError(
            f"'{text}' is not a change (expected PATH=VALUE, PATH+=VALUE or "
            f"PATH*=VALUE, e.g. {example})"
        )
    path = ".".join(split_path(head))
    if not several:
        return Lever(path, parse_value(tail), mode)
    if not tail.strip():
        raise LeverSyntaxError(
            f"{path}: no value after '{SYMBOL[mode]}' (expected a value, "
            "a range LO..HI or a list a,b,c)"
        )
    bounds = _split_top(tail, "..")
    if len(bounds) == 2:
        low, high = (parse_value(b) for b in bounds)
        if low is None or high is None or bounds[0].strip() == "" or bounds[1].strip() == "":
            raise LeverSyntaxError(
                f"{path}: '{tail}' is not a range (expected LO..HI, e.g. 20..90 or 3min..12min)"
            )
        return Lever(path, Range(low, high), mode)
    if len(bounds) > 2:
        raise LeverSyntaxError(f"{path}: '{tail}' has more than one '..' (expected LO..HI)")
    return Lever(path, [parse_value(v) for v in _split_top(tail, ",")], mode)


# ------------------------------------------------------------------------------ walking


def _where(parts: tuple[str, ...], depth: int) -> str:
    return ".".join(parts[:depth]) or "the scenario"


def _missing(node: Mapping, parts: tuple[str, ...], depth: int) -> PathError:
    options = [str(k) for k in node]
    listed = ", ".join(sorted(options)) or "none"
    return PathError(
        ".".join(parts),
        f"no field '{parts[depth]}' in {_where(parts, depth)}"
        f"{suggest(parts[depth], options)} (expected one of: {listed})",
    )


def locate(data: Any, parts: tuple[str, ...], *, create: bool = False) -> tuple[Any, Any]:
    """The container holding the field at ``parts`` and its key there.

    Mapping keys are matched as a scenario file means them (a step-profile time however it
    is written, :func:`~evacsim.scenario.documents.find_key`); a number addresses a list
    item. With ``create``, missing mappings along the way are made and a missing last key is
    returned as written (what ``--set`` does); without, a missing field is a
    :class:`PathError` naming the fields that exist.
    """
    path = ".".join(parts)
    node = data
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        if isinstance(node, dict):
            key = find_key(node, part)
            if key is MISSING:
                if not create:
                    raise _missing(node, parts, depth)
                if last:
                    return node, part
                node[part] = {}
                key = part
            if last:
                return node, key
            if node[key] is None and create:
                node[key] = {}
            child = node[key]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            if last:
                return node, int(part)
            child = node[int(part)]
        elif isinstance(node, list):
            raise PathError(
                path,
                f"no item {part} in the list at {_where(parts, depth)} "
                f"(expected an index below {len(node)}, or set the whole list)",
            )
        else:
            raise PathError(path, f"{_where(parts, depth)} has no fields below it")
        if not last and not isinstance(child, dict | list):
            where = _where(parts, depth + 1)
            raise PathError(
                path,
                f"cannot set a field inside {where}: it is "
                f"{show_value(child)}, not a mapping (expected a mapping "
                f"there, or set {where} itself)",
            )
        node = child
    raise PathError(path, "empty path")  # pragma: no cover - split_path refuses it


def get_path(data: Any, path: str) -> Any:
    """The value at dotted ``path`` (:class:`PathError`, a KeyError, if there is none)."""
    node, key = locate(data, split_path(path))
    return node[key]


def set_path(data: Any, path: str, value: Any) -> None:
    """Set the existing field at dotted ``path``, in place (:class:`PathError` if none)."""
    node, key = locate(data, split_path(path))
    node[key] = value


def combine(old: Any, amount: Any, mode: Mode, path: str) -> Any:
    """``old`` with ``amount`` added (``add``) or multiplied in (``scale``): every number in
    it (numbers, durations written with a unit, ranges, step profiles). ValueError if
    ``old`` holds something else."""
    if isinstance(old, bool) or old is None:
        raise ValueError(f"{path}: '{mode}' needs a number here, found {show_value(old)} (use set)")
    if isinstance(old, Mapping):
        return {k: combine(v, amount, mode, path) for k, v in old.items()}
    if isinstance(old, list | tuple):
        return [combine(v, amount, mode, path) for v in old]
    if isinstance(old, str):
        # A duration written with a unit: change it in hours, write it back with a unit.
        try:
            hours = parse_duration(old)
        except ValueError:
            raise ValueError(f"{path}: '{mode}' cannot change the text {old!r} (use set)") from None
        delta = parse_duration(amount) if isinstance(amount, str) else amount
        if not isinstance(delta, int | float) or isinstance(delta, bool):
            raise ValueError(f"{path}: expected a number or a duration to {mode}, got {amount!r}")
        new = hours + delta if mode == "add" else hours * delta
        return format_duration(max(new, 0.0))
    if not isinstance(old, int | float):
        raise ValueError(f"{path}: '{mode}' needs a number here, found {show_value(old)} (use set)")
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        raise ValueError(f"{path}: expected a number to {mode}, got {amount!r}")
    new = old + amount if mode == "add" else old * amount
    if isinstance(old, int):
        # Whole numbers (troops, lanes, capacities) stay whole.
        return int(math.floor(new + 0.5)) if math.isfinite(new) else new
    return float(new)


def apply_change(data: Any, lever: Lever, *, create: bool = False) -> None:
    """Apply one lever (one value) to nested data in place.

    ``set`` replaces the value (with ``create``, a missing field is added: ``--set``);
    ``add`` and ``scale`` change the numbers already there (:func:`combine`). Raises
    :class:`PathError` or ValueError naming the path.
    """
    if lever.mode not in SYMBOL:
        raise ValueError(f"{lever.path}: unknown mode '{lever.mode}' (expected set, add or scale)")
    parts = split_path(lever.path)
    if lever.mode == "set":
        node, key = locate(data, parts, create=create)
        node[key] = lever.value
        return
    try:
        node, key = locate(data, parts)
    except PathError as exc:
        if create and exc.message.startswith(f"no field '{parts[-1]}' in"):
            # In a file (--set) a field left to its default is not there to change.
            raise PathError(
                lever.path,
                f"is not written in the scenario, so there is nothing "
                f"to {lever.mode} (set it with {lever.path}=VALUE)",
            ) from None
        raise
    node[key] = combine(node[key], lever.value, lever.mode, lever.path)
