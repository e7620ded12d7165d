"""The Kabul baseline, run once per session over several seeds, for the record suite.

Every test in ``tests/history`` reads these runs (no test runs the baseline again), so the
suite costs ``len(SEEDS)`` Kabul runs plus the sensitivity tests' alternatives.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import evacsim

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
KABUL = SCENARIOS / "kabul_2021.yaml"
SEEDS = range(6)  # >= 5 seeds: the record suite's replications (common to every test)


@pytest.fixture(scope="session")
def kabul() -> evacsim.Scenario:
    return evacsim.load_scenario(KABUL)


@pytest.fixture(scope="session")
def kabul_runs(kabul) -> list[evacsim.RunResult]:
    """The baseline at seeds 0-5 (no per-group records: the suite reads tables only)."""
    return [evacsim.simulate(kabul, seed=s, keep_records=False) for s in SEEDS]
