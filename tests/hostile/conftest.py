"""Helpers for the hostile-input suite: run the CLI in-process or in a limited child."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KABUL = ROOT / "scenarios" / "kabul_2021.yaml"

TINY = {
    "name": "tiny",
    "start": "2021-01-01T00:00",
    "deadline": "2021-01-03T00:00",
    "demand": {"people": {"pool": 200, "arrivals_per_day": 400, "group_size": {1: 1, 3: 1}}},
    "gates": {"main": {"throughput_per_h": 100}},
    "screening": {"lanes": 2, "service": "5min"},
    "airfield": {"separation": "2min", "ramp_capacity": 2},
    "aircraft": {"plane": {"seats": 50, "turnaround": "1h"}},
    "operators": {"op": {}},
    "flights": {
        "shuttle": {
            "operator": "op",
            "aircraft": "plane",
            "from": "2021-01-01T06:00",
            "to": "2021-01-02T18:00",
            "per_day": 4,
            "destinations": "base",
        }
    },
    "staging": {"base": {"capacity": 100_000, "onward_per_day": 0, "flight_time": "1h"}},
}
"""A one-gate scenario that runs in a fraction of a second."""


def tiny() -> dict:
    return copy.deepcopy(TINY)


def write_yaml(folder: Path, data: dict, name: str = "s.yaml") -> Path:
    path = folder / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def run_cli(
    *args: str, cwd: Path | None = None, timeout: float = 120, address_space: int | None = 3 * 2**30
) -> subprocess.CompletedProcess:
    """``python -m evacsim.cli ARGS`` in a child with a time and address-space limit."""

    def limit() -> None:
        if address_space:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "evacsim.cli", *args],
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        preexec_fn=limit,
    )


@pytest.fixture
def tiny_file(tmp_path: Path) -> Path:
    return write_yaml(tmp_path, tiny())
