"""Levers on a validated scenario: change fields by path, then validate again.

A lever is a change in the scenario language's lever syntax (:mod:`evacsim.scenario.levers`:
``PATH=V`` sets, ``PATH+=V`` adds to and ``PATH*=V`` scales every number at the path: each
step of a profile, both ends of a range, whole numbers kept whole and durations as
durations), the same one ``--set`` reads. Experiments (sweeps, goal seek, calibration) apply
levers to the scenario's dictionary form (``scenario.model_dump(mode="json",
by_alias=True)``) and validate the result again with :func:`evacsim.scenario_from_dict`,
so a lever can never produce an unchecked scenario.
"""

from __future__ import annotations

import copy
import dataclasses

from evacsim.scenario.levers import (
    Lever,
    LeverSyntaxError,
    Mode,
    PathError,
    Range,
    apply_change,
    get_path,
    parse_lever,
    parse_value,
    set_path,
)
from evacsim.scenario.loader import Problem, ScenarioError, scenario_from_dict
from evacsim.scenario.schema import Scenario

__all__ = [
    "Lever",
    "LeverSyntaxError",
    "Mode",
    "Range",
    "apply_levers",
    "check_paths",
    "get_path",
    "parse_lever",
    "parse_value",
    "set_path",
]


def check_paths(scenario: Scenario, paths: list[str], source: str) -> None:
    """Every path must name a field of the scenario: ScenarioError listing those that do
    not, each with the fields that exist there (and the closest one)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    problems = []
    for i, path in enumerate(paths, start=1):
        try:
            get_path(data, path)
        except (PathError, LeverSyntaxError) as exc:
            problems.append(_problem(source, path, exc, i if source.startswith("--") else None))
    if problems:
        raise ScenarioError(problems)


def _problem(source: str, path: str, exc: Exception, line: int | None = None) -> Problem:
    message = exc.message if isinstance(exc, PathError) else str(exc)
    return Problem(source, path, message.removeprefix(f"{path}: "), line)


def apply_levers(
    scenario: Scenario, levers: list[Lever] | tuple[Lever, ...], source: str = "<levers>"
) -> Scenario:
    """A new validated scenario with every lever (one value each) applied (ScenarioError
    listing every problem)."""
    if not levers:
        return scenario
    data = scenario.model_dump(mode="json", by_alias=True)
    problems = []
    for lever in levers:
        try:
            apply_change(data, dataclasses.replace(lever, value=copy.deepcopy(lever.value)))
        except (PathError, ValueError) as exc:
            problems.append(_problem(source, lever.path, exc))
    if problems:
        raise ScenarioError(problems)
    try:
        return scenario_from_dict(data, source)
    except ScenarioError as err:
        changed = ", ".join(lv.label() for lv in levers)
        raise ScenarioError(
            [dataclasses.replace(p, message=f"{p.message} (after {changed})") for p in err.problems]
        ) from None
