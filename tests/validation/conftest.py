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
def kabul_run() -> evacsim.RunResult:
    """One replication of the Kabul baseline with per-group records (seed 11)."""
    return evacsim.simulate(SCENARIOS / "kabul_2021.yaml", seed=11)
