"""Options every command that reads a scenario shares: ``--set``, ``--allow-dir`` and
``--allow-large``.

``add_scenario_options(parser)`` registers them; ``checked_scenario(path, args)`` reads the
scenario with them, validated as ``evacsim validate`` does (warnings to stderr, errors
raised as one :class:`~evacsim.scenario.ScenarioError` for :func:`report_scenario_error`).
Every command (run, validate, compare, sweep, goalseek, backtest, calibrate, and any new one)
uses these, so a change is written the same way everywhere (the lever language,
:mod:`evacsim.scenario.levers`).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loaded by the command that reads a scenario: --help stays quick
    from evacsim.scenario.loader import Problem, ScenarioError
    from evacsim.scenario.schema import Scenario

__all__ = [
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_UNREADABLE",
    "add_scenario_options",
    "checked_scenario",
    "over_budget",
    "report_scenario_error",
]

EXIT_OK, EXIT_INVALID, EXIT_UNREADABLE = 0, 1, 2


def add_scenario_options(parser: argparse.ArgumentParser) -> None:
    """``--set`` changes and ``--allow-dir`` for a command that reads scenarios."""
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="change a field after extends: PATH=VALUE sets (VALUE is YAML; !remove "
        "deletes), PATH+=VALUE adds to and PATH*=VALUE scales every number at PATH, e.g. "
        "--set flights.us_c17.per_day+=5 (repeatable)",
    )
    parser.add_argument(
        "--allow-large",
        action="store_true",
        help="run even if the estimated cost of a replication is over the budget "
        "(default: refuse above 5 min of CPU or 2 GiB of memory)",
    )
    parser.add_argument(
        "--allow-dir",
        dest="allow_dirs",
        action="append",
        default=[],
        type=Path,
        metavar="DIR",
        help="also let 'extends:' read scenario files under DIR (repeatable)",
    )


def checked_scenario(path: str | os.PathLike[str], args: argparse.Namespace) -> Scenario:
    """The scenario at ``path`` with ``args.overrides`` applied, validated as ``validate``
    does; warnings go to stderr, errors are raised as one :class:`ScenarioError`."""
    from evacsim.scenario.loader import ScenarioError, check_scenario

    scenario, problems = check_scenario(
        path, getattr(args, "overrides", ()), allow_dirs=getattr(args, "allow_dirs", ())
    )
    errors = [p for p in problems if p.severity == "error"]
    if scenario is None or errors:
        raise ScenarioError(problems)  # warnings too, as validate prints them
    over = over_budget(path, scenario, args)
    if over:
        raise ScenarioError([*problems, *over])
    for problem in problems:
        print(str(problem), file=sys.stderr)
    return scenario


def over_budget(
    path: str | os.PathLike[str], scenario: Scenario, args: argparse.Namespace
) -> list[Problem]:
    """The cost estimate's refusal, unless ``--allow-large`` (see evacsim.scenario.cost)."""
    if getattr(args, "allow_large", False):
        return []
    from evacsim.scenario.cost import cost_problems
    from evacsim.scenario.loader import Problem

    return [Problem(str(path), "", message) for message in cost_problems(scenario)]


def report_scenario_error(err: ScenarioError) -> int:
    """Every problem on its own line on stderr; exit 2 if unreadable, 1 if invalid."""
    for problem in err.problems:
        print(str(problem), file=sys.stderr)
    return EXIT_UNREADABLE if err.unreadable else EXIT_INVALID
