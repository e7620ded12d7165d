"""What-if experiments at scale: replications, comparisons, sweeps, deadline answers.

One run of a stochastic model answers nothing. This package runs many, on one of three
engines (sequential, local worker processes, a Dask cluster) with identical results,
streams each finished replication to a results store (resumable), and turns them into
what planners ask for: KPIs with confidence intervals, daily bands, paired comparisons
under common random numbers, tidy sweep tables, the probability that everyone is out by the
deadline, and the smallest lever value that meets a goal with a given chance.

Modules, one role each: :mod:`.worker` (one replication), :mod:`.engines` (where they run),
:mod:`.store` (where they go), :mod:`.replications`, :mod:`.compare`, :mod:`.sweep`,
:mod:`.goalseek`, :mod:`.backtest` (the experiments, backtest and calibration included),
:mod:`.deadline` and :mod:`.statistics` (the answers), :mod:`.levers` (changing a scenario
by path) and :mod:`.progress` (the bar). Their part of the command line is
:mod:`evacsim.cli.experiments`.
"""

from __future__ import annotations

from .backtest import backtest, calibrate
from .compare import Comparison, compare
from .engines import AutoEngine, DaskEngine, Engine, LocalEngine, SequentialEngine, make_engine
from .goalseek import GoalSeekResult, goal_seek
from .levers import Lever, apply_levers
from .replications import Replications, replicate
from .store import ResultStore
from .sweep import SweepResult, SweepSpec, load_sweep, parse_vary, sweep
from .worker import ReplicationKey, scenario_hash

__all__ = [
    "AutoEngine",
    "Comparison",
    "DaskEngine",
    "Engine",
    "GoalSeekResult",
    "Lever",
    "LocalEngine",
    "ReplicationKey",
    "Replications",
    "ResultStore",
    "SequentialEngine",
    "SweepResult",
    "SweepSpec",
    "apply_levers",
    "backtest",
    "calibrate",
    "compare",
    "goal_seek",
    "load_sweep",
    "make_engine",
    "parse_vary",
    "replicate",
    "scenario_hash",
    "sweep",
]
