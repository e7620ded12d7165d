"""Goal seek: the smallest value of a lever that meets a deadline goal with a given chance.

"How many C-17 sorties a day (screening lanes, troops, staging places) do we need so that,
with probability at least ``p``, no more than ``N`` people are left behind?" The lever is
searched on a grid ``low, low + step, ..., high`` by bisection (Burden & Faires, *Numerical
Analysis*, §2.1), assuming the goal gets no harder to meet as the lever grows. Each value
tried runs the same ``n`` replications with the same root seed (common random numbers), so
the estimated probability moves with the lever rather than with the noise; each estimate
carries its Wilson 95 % interval, and ``conservative=True`` asks that its lower end, not
the estimate, reach ``p``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
from collections.abc import Sequence
from typing import Any

import pandas as pd

from evacsim.scenario.schema import Scenario

from .deadline import prob_at_most
from .engines import Engine, make_engine
from .levers import Lever, Mode, apply_levers
from .progress import Progress
from .replications import Replications, as_scenario, budget_for, execute
from .store import ResultStore
from .worker import ReplicationKey, scenario_hash

__all__ = ["GoalSeekResult", "goal_seek"]

log = logging.getLogger(__name__)


@dataclasses.dataclass
class GoalSeekResult:
    """The answer (``value``; None if even ``high`` falls short) and every value tried."""

    lever: str
    mode: str
    kpi: str
    at_most: float
    probability: float
    value: float | int | None
    evaluations: pd.DataFrame
    at_value: Replications | None
    monotone: bool

    @property
    def found(self) -> bool:
        return self.value is not None

    def message(self) -> str:
        """One sentence stating the answer the way a planner asks the question."""
        goal = f"P({self.kpi} <= {self.at_most:,.0f}) >= {self.probability:.0%}"
        op = {"set": "", "add": "+", "scale": "×"}[self.mode]
        if self.value is None:
            top = self.evaluations.sort_values("value").iloc[-1]
            return (
                f"{goal} is not reached within the range: at {self.lever} = {op}{top['value']}"
                f" it is {top['p']:.0%} [{top['ci_low']:.0%}, {top['ci_high']:.0%}]."
            )
        row = self.evaluations.loc[self.evaluations["value"] == self.value].iloc[0]
        return (
            f"Smallest {self.lever} = {op}{self.value} gives {goal}: estimated "
            f"{row['p']:.0%} [{row['ci_low']:.0%}, {row['ci_high']:.0%}] over {row['n']} "
            f"replications."
        )


class _Grid(Sequence):
    """The values ``low, low + step, ..., high`` computed on demand: bisection reads about
    log2(n) of them, so a grid of a hundred million values costs nothing to hold."""

    def __init__(self, low: float, high: float, step: float, whole: bool):
        self.low, self.high, self.step, self.whole = low, high, step, whole
        self._n = math.ceil((high - low) / step - 1e-9) + 1

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i: int) -> Any:  # type: ignore[override]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError(i)
        value = min(self.low + i * self.step, self.high)
        return int(round(value)) if self.whole else float(value)


MAX_GRID = 2**52
"""Most values a goal seek's grid may have (beyond this, steps fall below float precision)."""


def _grid(low: float, high: float, step: float | None) -> _Grid:
    for name, x in (("low", low), ("high", high), ("step", step)):
        if x is not None and not math.isfinite(x):
            raise ValueError(f"{name} must be a finite number, got {x}")
    if high < low:
        raise ValueError(f"high ({high}) is below low ({low})")
    whole = all(float(x).is_integer() for x in (low, high)) and (
        step is None or float(step).is_integer()
    )
    if step is None:
        step = 1 if whole else (high - low) / 64 or 1.0
    if step <= 0:
        raise ValueError(f"step must be positive, got {step}")
    if (high - low) / step > MAX_GRID:
        raise ValueError(
            f"step {step:g} is too fine for the range {low:g}..{high:g} "
            f"(expected at most {MAX_GRID:,} values)"
        )
    return _Grid(low, high, step, whole)


def goal_seek(
    scenario: Scenario | str | os.PathLike[str],
    lever: str,
    low: float,
    high: float,
    *,
    at_most: float,
    probability: float = 0.9,
    kpi: str = "left_behind",
    mode: Mode = "set",
    step: float | None = None,
    n: int = 30,
    seed: int = 0,
    conservative: bool = False,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = None,
    allow_large: bool = False,
) -> GoalSeekResult:
    """Smallest lever value in ``[low, high]`` with ``P(kpi <= at_most) >= probability``.

    ``lever`` is a dotted scenario path changed by ``mode`` (``set``, ``add`` or ``scale``,
    see :mod:`.levers`): e.g. ``flights.us_c17.per_day`` with ``mode="add"`` adds sorties per
    day to every step of the schedule. ``step`` is the resolution (default 1 for whole
    bounds). ``kpi`` is any replication KPI; ``left_behind`` counts people who reached the
    airport but were not flown out, ``not_out`` also those who never reached it.
    """
    if not 0 < probability <= 1:
        raise ValueError(f"probability must be in (0, 1], got {probability}")
    if n < 1:
        raise ValueError(f"n must be 1 or more replications, got {n}")
    base = as_scenario(scenario)
    source = base.name if isinstance(scenario, Scenario) else str(scenario)
    values = _grid(low, high, step)
    # Validate both ends before running anything: a bad lever is a user mistake, not a failure.
    scenarios = {
        0: apply_levers(base, [Lever(lever, values[0], mode)], source),
        len(values) - 1: apply_levers(base, [Lever(lever, values[-1], mode)], source),
    }
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    own = not isinstance(engine, Engine)
    eng = make_engine(engine, workers, scheduler)
    rows: dict[int, dict[str, Any]] = {}
    runs: dict[int, Replications] = {}
    bound = 2 + max(0, math.ceil(math.log2(max(len(values) - 1, 1))))

    def evaluate(i: int, bar: Progress) -> bool:
        if i in rows:
            return rows[i]["satisfied"]
        s = scenarios.get(i) or apply_levers(base, [Lever(lever, values[i], mode)], source)
        digest = scenario_hash(s)
        bar.describe(f"{lever}={values[i]}")
        execute(
            ((s, ReplicationKey(digest, seed, r)) for r in range(n)),
            eng,
            store,
            bar,
            budget_for(allow_large),
        )
        reps = Replications(s, digest, seed, n, store, label=f"{lever}={values[i]}")
        x = reps.kpi(kpi)
        p, lo_ci, hi_ci = prob_at_most(x.to_numpy(), at_most)
        satisfied = bool((lo_ci if conservative else p) >= probability)
        rows[i] = {
            "value": values[i],
            "scenario": digest,
            "n": int(x.notna().sum()),
            "p": p,
            "ci_low": lo_ci,
            "ci_high": hi_ci,
            "satisfied": satisfied,
            "kpi_mean": float(x.mean()),
            "kpi_p50": float(x.median()),
            "kpi_p95": float(x.quantile(0.95)),
            "failed": n - len(reps.reps),
        }
        runs[i] = reps
        log.info(
            "goal seek: %s=%s gives P(%s <= %s) = %.3f [%.3f, %.3f]",
            lever,
            values[i],
            kpi,
            at_most,
            p,
            lo_ci,
            hi_ci,
        )
        return satisfied

    answer: int | None = None
    try:
        with Progress(bound * n, "goal seek", progress) as bar:
            top = len(values) - 1
            if evaluate(top, bar):
                if evaluate(0, bar):
                    answer = 0
                else:
                    lo, hi = 0, top  # invariant: lo fails, hi meets the goal
                    while hi - lo > 1:
                        mid = (lo + hi) // 2
                        if evaluate(mid, bar):
                            hi = mid
                        else:
                            lo = mid
                    answer = hi
    finally:
        if own:
            eng.close()
    table = pd.DataFrame([rows[i] for i in sorted(rows)])
    ordered = table.sort_values("value")["satisfied"].tolist()
    monotone = ordered == sorted(ordered)
    if not monotone:
        log.warning(
            "goal seek: the goal is met at some values of %s and missed at larger "
            "ones; the answer assumes it is monotone (try more replications)",
            lever,
        )
    store.write_json(
        "goalseek.json",
        {
            "lever": lever,
            "mode": mode,
            "kpi": kpi,
            "at_most": at_most,
            "probability": probability,
            "seed": seed,
            "n": n,
            "value": None if answer is None else values[answer],
            "evaluations": table.to_dict(orient="records"),
        },
    )
    return GoalSeekResult(
        lever,
        mode,
        kpi,
        at_most,
        probability,
        None if answer is None else values[answer],
        table,
        None if answer is None else runs[answer],
        monotone,
    )
