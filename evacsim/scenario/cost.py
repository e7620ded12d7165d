"""What a run of a scenario will cost, estimated before it starts, and the budget it must fit.

Validation bounds each number on its own; a scenario can still combine legal numbers into a
run that would take hours or exhaust memory (thousands of categories over a year, millions
of arrivals, a crowd that gives up and comes back every minute). :func:`estimate_cost`
computes, from the resolved scenario alone (no simulation), the work and memory a run
needs, from the quantities that drive them:

* group visits to the crowd: first arrivals (rates over the run, capped by the pool, in
  groups of the mean size) times one plus the expected returns of a group that gives up;
* gates times visits (each gate looks at the crowd), and gates and categories times hours
  (every gate and category keeps hourly statistics; waiting times in minute bins);
* flights planned, and timeline events.

The coefficients were measured on this implementation (``python benchmarks/cost_probe.py``
prints measured against estimated); they err on the high side. A run above
:data:`DEFAULT_BUDGET` is refused by the command line unless ``--allow-large`` is given.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from .schema import ArrivalsStopped, Scenario, expected_arrivals, planned_flights

__all__ = [
    "DEFAULT_BUDGET",
    "Budget",
    "CostEstimate",
    "cost_problems",
    "estimate_cost",
    "returns_per_group",
]

# Measured per-unit costs (CPU seconds, bytes) on the reference machine; see module doc.
_S_PER_VISIT = 2.0e-5
_S_PER_GATE_VISIT = 1.2e-5  # an idle gate wakes for every arrival
_S_PER_CATEGORY_H = 1.2e-5
_S_PER_GATE_H = 4.0e-6
_S_PER_FLIGHT = 2.0e-4
_S_PER_EVENT = 1.0e-3
_S_FIXED = 0.3
_B_PER_GROUP = 1.2e3
_B_PER_VISIT = 250.0
_B_PER_GATE_VISIT = 130.0
_B_PER_CATEGORY_H = 3.4e3
_B_PER_GATE_H = 320.0
_B_PER_FLIGHT = 4.0e3


@dataclasses.dataclass(frozen=True)
class Budget:
    """Most a single replication may cost: CPU seconds and bytes of memory."""

    cpu_s: float = 300.0
    memory_bytes: float = 2 * 2**30


DEFAULT_BUDGET = Budget()
"""Five minutes of CPU and 2 GiB of memory per replication (Kabul: about 1 s and 0.1 GiB).
A local run with one worker per core must fit a shared machine; ``--allow-large`` lifts it."""


@dataclasses.dataclass(frozen=True)
class CostEstimate:
    """The estimated cost of one replication and what drives it."""

    groups: float  # first arrivals, in groups
    visits: float  # group visits to the crowd, returns included
    gates: int
    categories: int
    flights: float
    events: int
    horizon_h: float
    cpu_s: float
    memory_bytes: float

    def drivers(self) -> str:
        """The quantities behind the estimate, in words."""
        return (
            f"{self.groups:,.0f} groups arriving, {self.visits:,.0f} visits to the gates "
            f"with returns, {self.gates:,} gates, {self.categories:,} categories, "
            f"{self.flights:,.0f} flights over {self.horizon_h / 24:,.0f} days"
        )


def returns_per_group(cat: Any, horizon_h: float) -> float:
    """Expected times a group of category ``cat`` comes back after giving up (at most one
    return per cycle of patience plus return delay in the run); ``inf`` for a loop in zero
    time."""
    p = cat.return_probability
    if cat.patience is None or p == 0:
        return 0.0
    cycle_h = cat.patience.mean_h + cat.return_after.mean_h
    most = horizon_h / cycle_h if cycle_h > 0 else math.inf
    geometric = p / (1 - p) if p < 1 else math.inf
    return min(most, geometric)


def _arrivals_through_checkpoints(s: Scenario, name: str, cat: Any) -> float:
    """People of category ``name`` expected to reach the perimeter: its rate profile, cut
    by ``arrivals_stopped`` events from their time on to the share they let pass."""
    steps = sorted(
        (min(max(e.at, s.start), s.latest_deadline), e.passing)
        for e in s.events.values()
        if isinstance(e, ArrivalsStopped) and (e.categories == "all" or name in e.categories)
    )
    total, share, since = 0.0, 1.0, s.start
    for at, passing in steps:
        total += share * expected_arrivals(cat.arrivals_per_day, since, at) if at > since else 0
        share, since = share * passing, max(since, at)
    return total + share * expected_arrivals(cat.arrivals_per_day, since, s.latest_deadline)


def estimate_cost(s: Scenario) -> CostEstimate:
    """Estimate the CPU time and memory of one replication of ``s`` (see module doc)."""
    horizon_h = s.horizon_h
    groups = visits = 0.0
    for name, cat in s.demand.items():
        people = min(cat.pool, _arrivals_through_checkpoints(s, name, cat))
        g = people / cat.mean_group_size
        groups += g
        visits += g * (1 + returns_per_group(cat, horizon_h))
    gates, categories = len(s.gates), len(s.demand)
    flights = planned_flights(s, s.start, s.latest_deadline)[0]
    events = len(s.events)
    cpu = (
        _S_FIXED
        + visits * (_S_PER_VISIT + gates * _S_PER_GATE_VISIT)
        + horizon_h * (categories * _S_PER_CATEGORY_H + gates * _S_PER_GATE_H)
        + flights * _S_PER_FLIGHT
        + events * _S_PER_EVENT
    )
    memory = (
        groups * _B_PER_GROUP
        + visits * (_B_PER_VISIT + gates * _B_PER_GATE_VISIT)
        + horizon_h * (categories * _B_PER_CATEGORY_H + gates * _B_PER_GATE_H)
        + flights * _B_PER_FLIGHT
    )
    return CostEstimate(groups, visits, gates, categories, flights, events, horizon_h, cpu, memory)


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "forever"
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:,.1f} h"


def _bytes(n: float) -> str:
    return "unbounded" if not math.isfinite(n) else f"{n / 2**30:,.1f} GiB"


def cost_problems(s: Scenario, budget: Budget = DEFAULT_BUDGET) -> list[str]:
    """One message if a replication of ``s`` would exceed ``budget``, else none."""
    cost = estimate_cost(s)
    if cost.cpu_s <= budget.cpu_s and cost.memory_bytes <= budget.memory_bytes:
        return []
    return [
        f"a run would need about {_duration(cost.cpu_s)} of CPU and "
        f"{_bytes(cost.memory_bytes)} of memory per replication ({cost.drivers()}), over the "
        f"budget of {_duration(budget.cpu_s)} and {_bytes(budget.memory_bytes)} "
        "(expected a smaller scenario; add --allow-large to run it anyway)"
    ]
