"""evacsim: a discrete-event simulator of evacuation airlifts.

Troops arrive to hold the gates, crowds queue outside, consular teams screen, people wait
inside for seats, aircraft fly them to staging bases that fill up, and a deadline ends it
all. A scenario (YAML) sets every input; a run reports throughput and backlog.

Quick start::

    import evacsim
    scenario = evacsim.load_scenario("scenarios/kabul_2021.yaml")
    result = evacsim.simulate(scenario, seed=1)
    result.evacuated_daily()
"""

from __future__ import annotations

import numpy as np

from evacsim.model.model import ConservationError, Model, build
from evacsim.results.result import RunResult, collect
from evacsim.scenario.loader import Problem, ScenarioError, load_scenario, scenario_from_dict
from evacsim.scenario.schema import Scenario
from evacsim.version import __version__

__all__ = [
    "ConservationError",
    "Model",
    "Problem",
    "RunResult",
    "Scenario",
    "ScenarioError",
    "__version__",
    "backtest",
    "build",
    "calibrate",
    "collect",
    "compare",
    "goal_seek",
    "load_scenario",
    "replicate",
    "scenario_from_dict",
    "simulate",
    "sweep",
]

# Experiments (evacsim.experiments) load SciPy, PyArrow and Dask pieces: imported on first use
# so that `import evacsim` stays quick in every worker process.
_EXPERIMENTS = ("backtest", "calibrate", "compare", "goal_seek", "replicate", "sweep")


def __getattr__(name: str):
    if name in _EXPERIMENTS:
        from evacsim import experiments

        return getattr(experiments, name)
    raise AttributeError(f"module 'evacsim' has no attribute '{name}'")


def simulate(
    scenario: Scenario | str,
    seed: int | np.random.SeedSequence = 0,
    *,
    keep_records: bool = True,
) -> RunResult:
    """Build, run and collect one replication of ``scenario`` (a Scenario or a file path)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return collect(build(scenario, seed, keep_records=keep_records).run())
