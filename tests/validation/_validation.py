"""Shared helpers of the validation suite: small scenarios built as dicts, replications,
and confidence intervals over independent replications.

Every statistical check here is of the same form: run ``R`` independent replications (seeds
spawned from one root :class:`numpy.random.SeedSequence`), take one estimate per replication,
and form the Student-t interval ``mean ± t(1 - alpha/2, R - 1) * s / sqrt(R)`` (Law,
*Simulation Modeling and Analysis*, 5th ed., §9.4.1, the method of independent
replications). The theoretical value must lie inside it. Each check also asserts that the
interval is narrow enough to have caught a real error, so that it can fail.

Rates are per hour and times in hours, as inside evacsim.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

import evacsim

START = dt.datetime(2000, 1, 1)

# Two-sided confidence of every interval. A replication-based interval at 99.9 % keeps the
# chance of a spurious failure small when the engine's random streams change, while the
# width checks keep each test able to fail.
CONFIDENCE = 0.999


def exact(data: dict) -> dict:
    """Set every gate and the screening to exact, group-by-group resolution (``batch: 0``).

    The default resolution commits up to 15 minutes of gate passages or screenings at once
    and hands a batch on at its end; the validation suite checks the exact engine against
    exact oracles, so it turns that off. Returns ``data`` (changed in place).
    """
    for gate in data.get("gates", {}).values():
        gate["batch"] = 0
    if "screening" in data:
        data["screening"]["batch"] = 0
    return data


def hours_after(hours: float) -> str:
    """ISO date-time ``hours`` after :data:`START`."""
    return (START + dt.timedelta(hours=hours)).isoformat(timespec="seconds")


def duration(hours: float) -> str:
    """A duration string evacsim parses, from hours (seconds precision is enough here)."""
    seconds = hours * 3600.0
    return f"{seconds:.6f}s"


def queue_scenario(
    arrival_rate: float,
    service_rate: float,
    servers: int,
    horizon_h: float,
    *,
    capacity: int | None = None,
    name: str = "mmc",
    batch: str | None = None,
) -> evacsim.Scenario:
    """The whole model reduced to one M/M/c (or M/M/c/K) queue, as ``scenarios/mmc.yaml``.

    Poisson arrivals of single people at ``arrival_rate`` per hour, a gate with no limit,
    ``servers`` screening lanes with exponential service at ``service_rate`` per hour per
    lane, no flights; exact resolution (``batch: 0``, see :func:`exact`) unless ``batch`` is
    given.

    With ``capacity`` K, the holding area holds K people at most (in screening queue and
    service), and the system is made a *loss* system with two settings the model has:
    every screened person leaves at once (``turned_away: 1.0``, so nobody waits inside for
    a flight), and an arrival who finds no room gives up after a fixed patience of half a
    second (``patience``), i.e. is lost. The loss is exact up to the chance that room frees
    within that half second, which is ``c * mu * 0.5 s``, a relative bias below 0.1 % for
    the rates used here.
    """
    category: dict = {"pool": 10**9, "arrivals_per_day": arrival_rate * 24.0}
    data = {
        "name": name,
        "start": START.isoformat(),
        "deadline": hours_after(horizon_h),
        "demand": {"customers": category},
        "gates": {"open": {"throughput_per_h": None}},
        "screening": {
            "lanes": servers,
            "service": {"dist": "exponential", "mean": duration(1.0 / service_rate)},
        },
        "airfield": {"separation": "2min", "ramp_capacity": 1},
        "aircraft": {},
        "operators": {},
        "staging": {},
    }
    if capacity is not None:
        category["turned_away"] = 1.0
        category["patience"] = {"dist": "fixed", "value": "0.5s"}
        data["holding"] = {"capacity": capacity}
    exact(data)
    if batch is not None:  # a model resolution other than exact (see the README)
        data["gates"]["open"]["batch"] = data["screening"]["batch"] = batch
    return evacsim.scenario_from_dict(data, file=f"<{name}>")


def seeds(root: int, replications: int) -> list[np.random.SeedSequence]:
    """Independent replication seeds spawned from one root."""
    return np.random.SeedSequence(root).spawn(replications)


def replicate(
    scenario: evacsim.Scenario,
    root: int,
    replications: int,
    measure: Callable[[evacsim.RunResult], dict[str, float]],
) -> dict[str, np.ndarray]:
    """Run independent replications and return each measure as an array over replications."""
    rows = [measure(evacsim.simulate(scenario, seed)) for seed in seeds(root, replications)]
    return {key: np.array([row[key] for row in rows]) for key in rows[0]}


@dataclasses.dataclass(frozen=True)
class Interval:
    """A confidence interval for a mean over independent replications."""

    mean: float
    half_width: float
    replications: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def __contains__(self, value: float) -> bool:
        return self.low <= value <= self.high

    def __str__(self) -> str:
        return f"{self.mean:.5g} ± {self.half_width:.3g} (R={self.replications})"


def interval(values: Sequence[float], confidence: float = CONFIDENCE) -> Interval:
    """Student-t interval for the mean of independent replication estimates."""
    x = np.asarray(values, dtype=float)
    n = len(x)
    if n < 2:
        raise ValueError("an interval needs at least two replications")
    t = stats.t.ppf(0.5 + confidence / 2.0, n - 1)
    return Interval(float(x.mean()), float(t * x.std(ddof=1) / math.sqrt(n)), n)


def check_against(name: str, values: Sequence[float], theory: float, max_rel_width: float):
    """Assert ``theory`` lies in the interval of ``values`` and the interval is narrow.

    ``max_rel_width`` bounds the half-width relative to ``theory``: a wide interval would
    accept almost anything, so it fails the check too.
    """
    ci = interval(values)
    assert theory in ci, f"{name}: theory {theory:.5g} outside the interval {ci}"
    assert ci.half_width <= max_rel_width * abs(theory), (
        f"{name}: interval {ci} too wide to test against {theory:.5g} "
        f"(half-width above {max_rel_width:.0%} of it): run longer or more replications"
    )
    return ci
