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

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # names the type checker sees; at run time they load on first use
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

# Every public name is imported on first use (PEP 562): the model pulls in NumPy, pandas and
# SimPy, the experiments SciPy, PyArrow and Dask pieces, and `evacsim --help` (or a worker
# process) should not pay for what it does not use.
_LAZY = {
    "ConservationError": "evacsim.model.model",
    "Model": "evacsim.model.model",
    "build": "evacsim.model.model",
    "RunResult": "evacsim.results.result",
    "collect": "evacsim.results.result",
    "Problem": "evacsim.scenario.loader",
    "ScenarioError": "evacsim.scenario.loader",
    "load_scenario": "evacsim.scenario.loader",
    "scenario_from_dict": "evacsim.scenario.loader",
    "Scenario": "evacsim.scenario.schema",
    **{
        name: "evacsim.experiments"
        for name in ("backtest", "calibrate", "compare", "goal_seek", "replicate", "sweep")
    },
}


def __getattr__(name: str):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'evacsim' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # once loaded, a plain module attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


def simulate(
    scenario: Scenario | str,
    seed: int | np.random.SeedSequence = 0,
    *,
    keep_records: bool = True,
) -> RunResult:
    """Build, run and collect one replication of ``scenario`` (a Scenario or a file path)."""
    from evacsim.model.model import build
    from evacsim.results.result import collect
    from evacsim.scenario.loader import load_scenario
    from evacsim.scenario.schema import Scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    return collect(build(scenario, seed, keep_records=keep_records).run())
