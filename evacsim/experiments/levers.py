"""Levers: change one field of a scenario by its dotted path, then validate again.

A lever is a path into the scenario as written (``flights.us_c17.per_day``,
``screening.lanes``, ``staging.al_udeid.capacity``, ``forces.deployments.us_build_up.troops``)
and a way to change it:

* ``set``: replace the value (a step profile becomes a constant);
* ``add``: add to every number at that path (each step of a profile, both ends of a range
  ``[low, high]``), keeping whole numbers whole, durations as durations;
* ``scale``: multiply every number at that path in the same way.

Changes are made on the scenario's dictionary form
(``scenario.model_dump(mode="json", by_alias=True)``) and the result is validated again with
:func:`evacsim.scenario_from_dict`, so a lever can never produce an unchecked scenario.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Mapping
from typing import Any, Literal

import yaml

from evacsim.scenario.loader import Problem, ScenarioError, scenario_from_dict
from evacsim.scenario.schema import Scenario
from evacsim.scenario.units import format_duration, parse_duration

__all__ = ["Lever", "Mode", "apply_levers", "get_path", "parse_value", "set_path"]

Mode = Literal["set", "add", "scale"]
MODES: tuple[str, ...] = ("set", "add", "scale")


@dataclasses.dataclass(frozen=True)
class Lever:
    """A change to one field: ``path`` (dotted), ``mode`` and ``value``."""

    path: str
    value: Any
    mode: Mode = "set"

    def label(self) -> str:
        """How the change reads in tables: ``screening.lanes=70``, ``x+=5``, ``y*=1.2``."""
        op = {"set": "=", "add": "+=", "scale": "*="}[self.mode]
        return f"{self.path}{op}{self.value}"


def parse_value(text: str) -> Any:
    """Read a value written on the command line as YAML: ``70`` → 70, ``2h`` → '2h', ``null``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _split(path: str) -> list[str]:
    parts = path.split(".")
    if not path or any(not p for p in parts):
        raise KeyError(f"'{path}' is not a dotted path such as screening.lanes")
    return parts


def _walk(data: Any, parts: list[str], path: str) -> Any:
    node = data
    for depth, part in enumerate(parts):
        if isinstance(node, Mapping) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            where = ".".join(parts[:depth]) or "the scenario"
            if isinstance(node, Mapping):
                options = ", ".join(sorted(map(str, node))) or "none"
                raise KeyError(f"{path}: no field '{part}' in {where} (expected one of: {options})")
            raise KeyError(f"{path}: {where} has no fields below it")
    return node


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at dotted ``path`` in a nested mapping (KeyError naming the path if absent)."""
    return _walk(data, _split(path), path)


def set_path(data: dict[str, Any], path: str, value: Any) -> None:
    """Set the existing field at dotted ``path`` in a nested mapping, in place."""
    parts = _split(path)
    parent = _walk(data, parts[:-1], path)
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        parent[last] = value
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        parent[int(last)] = value
    else:
        _walk(data, parts, path)  # raises with the list of fields that do exist
        raise KeyError(f"{path}: cannot be set")  # pragma: no cover - _walk raised


def _combine(old: Any, amount: Any, mode: Mode, path: str) -> Any:
    """Apply ``add``/``scale`` to every number in ``old`` (numbers, ranges, profiles)."""
    if isinstance(old, bool) or old is None:
        raise ValueError(f"{path}: '{mode}' needs a number here, found {old!r} (use set)")
    if isinstance(old, Mapping):
        return {k: _combine(v, amount, mode, path) for k, v in old.items()}
    if isinstance(old, list | tuple):
        return [_combine(v, amount, mode, path) for v in old]
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
    if not isinstance(amount, int | float) or isinstance(amount, bool):
        raise ValueError(f"{path}: expected a number to {mode}, got {amount!r}")
    new = old + amount if mode == "add" else old * amount
    if isinstance(old, int) and not isinstance(old, bool):
        # Whole numbers (troops, lanes, capacities) stay whole.
        return int(math.floor(new + 0.5))
    return float(new)


def apply_to_dict(data: dict[str, Any], lever: Lever) -> None:
    """Apply one lever to a scenario dictionary in place (KeyError/ValueError on misuse)."""
    if lever.mode not in MODES:
        raise ValueError(f"{lever.path}: unknown mode '{lever.mode}' (expected set, add or scale)")
    if lever.mode == "set":
        get_path(data, lever.path)  # the field must exist: a typo is an error, not a new key
        set_path(data, lever.path, copy.deepcopy(lever.value))
    else:
        set_path(data, lever.path, _combine(get_path(data, lever.path), lever.value,
                                            lever.mode, lever.path))


def apply_levers(scenario: Scenario, levers: list[Lever] | tuple[Lever, ...],
                 source: str = "<levers>") -> Scenario:
    """A new validated scenario with every lever applied (ScenarioError listing problems)."""
    if not levers:
        return scenario
    data = scenario.model_dump(mode="json", by_alias=True)
    problems = []
    for lever in levers:
        try:
            apply_to_dict(data, lever)
        except (KeyError, ValueError) as exc:
            message = exc.args[0] if exc.args else str(exc)
            path, _, text = str(message).partition(": ")
            problems.append(Problem(source, path, text or str(message)))
    if problems:
        raise ScenarioError(problems)
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as err:
        changed = ", ".join(lv.label() for lv in levers)
        raise ScenarioError(
            [dataclasses.replace(p, message=f"{p.message} (after {changed})") for p in err.problems]
        ) from None
