"""Fixtures of the validation suite (helpers shared by its modules are in ``_validation.py``).

Tiers: the default run keeps to small, short cases (well under a minute in all); heavier
cases are marked ``slow`` and run with ``pytest -m slow tests/validation``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import evacsim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="session")
def kabul_scenario() -> evacsim.Scenario:
    """The Kabul baseline, as shipped."""
    return evacsim.load_scenario(SCENARIOS / "kabul_2021.yaml")
