"""Shared by the experiments tests: a tiny airlift scenario that runs in a few milliseconds.

Not a scenario file on purpose (every file under scenarios/ is run by the suite); the
numbers are illustrative, chosen so that flights are the bottleneck and people are left
behind in some replications and not in others.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

import evacsim

MINI = {
    "name": "mini_airlift",
    "description": "Three days, two categories, one gate, one aircraft type.",
    "start": "2021-08-14T00:00",
    "deadline": "2021-08-17T00:00",
    "demand": {
        "citizens": {
            "pool": 300,
            "priority": 0,
            "arrivals_per_day": 250,
            "group_size": {1: 0.5, 2: 0.3, 3: 0.2},
            "patience": {"dist": "exponential", "mean": "12h"},
            "return_probability": 0.9,
            "return_after": {"dist": "uniform", "low": "2h", "high": "6h"},
        },
        "afghans": {
            "pool": 3000,
            "priority": 1,
            "arrivals_per_day": 1400,
            "group_size": {1: 0.3, 3: 0.4, 5: 0.3},
            "turned_away": 0.1,
            "patience": {"dist": "exponential", "mean": "24h"},
            "return_probability": 0.5,
            "return_after": {"dist": "uniform", "low": "6h", "high": "12h"},
        },
    },
    "gates": {"main": {"throughput_per_h": 150}},
    "screening": {
        "lanes": 4,
        "service": {"dist": "lognormal", "mean": "10min", "cv": 0.8},
        "per_person": "1min",
    },
    "holding": {"capacity": 1500},
    "airfield": {"separation": "5min", "ramp_capacity": 4},
    "aircraft": {"c17": {"seats": 300, "turnaround": "2h"}},
    "operators": {"us": {}},
    "flights": {
        "us_c17": {
            "operator": "us",
            "aircraft": "c17",
            "from": "2021-08-14T06:00",
            "to": "2021-08-16T20:00",
            "per_day": [3, 5],
            "destinations": "base",
        }
    },
    "staging": {"base": {"capacity": 100000, "onward_per_day": 10000, "flight_time": "3h"}},
}


def mini(**changes) -> evacsim.Scenario:
    """The mini scenario, with top-level fields replaced by ``changes``."""
    data = copy.deepcopy(MINI)
    data.update(changes)
    return evacsim.scenario_from_dict(data, "mini_airlift")


def write_mini(folder: Path, name: str = "mini.yaml", **changes) -> Path:
    """Write the mini scenario as a YAML file and return its path."""
    data = copy.deepcopy(MINI)
    data.update(changes)
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path
