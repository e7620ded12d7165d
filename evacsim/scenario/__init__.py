"""The scenario language: what a user writes, read once at the boundary into frozen objects.

Modules, in the order a file travels: :mod:`.units` (durations and date-times as written),
:mod:`.schema` (the typed scenario: every field, its unit, range and meaning),
:mod:`.loader` (YAML reading, ``extends:`` overlays, one-line problems with file, line and
field path), :mod:`.overrides` (``--set PATH=VALUE``), :mod:`.diagnostics` (turning
validation errors into those lines) and :mod:`.reference` (the JSON Schema and the
generated field reference).
"""

from __future__ import annotations

from .loader import Problem, ScenarioError, load_scenario, scenario_from_dict
from .schema import Scenario

__all__ = ["Problem", "Scenario", "ScenarioError", "load_scenario", "scenario_from_dict"]
