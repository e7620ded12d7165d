"""Shared fixtures: paths and small scenarios built as dictionaries."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"

_DETERMINISTIC = {
    "name": "deterministic",
    "description": "Everyone arrives within the first hour; flights are the only limit.",
    "start": "2021-01-01T00:00",
    "deadline": "2021-01-04T00:00",
    "demand": {
        "people": {
            "pool": 5_000,
            "arrivals_per_day": 240_000,
            "group_size": {1: 1.0},
        }
    },
    "gates": {"main": {"throughput_per_h": None}},
    "screening": {"lanes": 1000, "service": {"dist": "fixed", "value": 0}},
    "airfield": {"runways": 1, "separation": "1min", "ramp_capacity": 10},
    "aircraft": {"plane": {"seats": 100, "turnaround": "1h"}},
    "operators": {"op": {}},
    "flights": {
        "shuttle": {
            "operator": "op",
            "aircraft": "plane",
            "from": "2021-01-01T06:00",
            "to": "2021-01-03T06:00",
            "per_day": 10,
            "destinations": "base",
            "slot_jitter": 0,
        }
    },
    "staging": {"base": {"capacity": 1_000_000, "onward_per_day": 0, "flight_time": "1h"}},
}


@pytest.fixture
def deterministic() -> dict:
    """A scenario whose throughput is exact arithmetic: 20 flights x 100 seats = 2,000."""
    return copy.deepcopy(_DETERMINISTIC)


@pytest.fixture
def scenario_dir() -> Path:
    return SCENARIOS
