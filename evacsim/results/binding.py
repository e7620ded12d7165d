"""What was binding: for each day, which constraint limited the evacuation's throughput.

The airlift is a serial line: people pass the **gates**, are **screened**, wait in the
**holding** area (which also holds the screening queue), take **seats** on an aircraft, which
needs a spot on the **ramp** and the **runway** and room at its **staging** base before it
leaves. In a serial line with finite buffers a saturated stage *blocks* the stages upstream of
it (they fill up and stop) and *starves* those downstream (they idle), so the stage that
limits throughput is the one that is saturated while no stage downstream of it is
(bottleneck analysis of flow lines with blocking; Hopp & Spearman, *Factory Physics*, §7).

The rule, per reporting day (the scenario's ``reporting_day_starts``; see
:mod:`evacsim.results.days`), from the utilisation records and the flights table:

1. Each constraint gets a **saturation score** in [0, 1]:

   ============  ====================================================================  ======
   constraint    score                                                                 kind
   ============  ====================================================================  ======
   ``staging``   hours a departure was held for room at a base / 24 (worst base)       time
   ``runway``    busy runway-hours / available runway-hours                            level
   ``ramp``      hours the ramp was at its limit (aircraft on the ground = MOG) / 24   time
   ``seats``     people aboard departing evacuation flights / their seats              level
   ``eligibility`` as ``seats``, counting an empty seat as filled when people waited    level
                 inside who were not allowed to take it (operator's rules, quotas)
   ``screening`` busy lane-hours / manned lane-hours                                   level
   ``holding``   hours the inside (screening + waiting) was at capacity / 24           time
   ``gates``     busy gate-hours / open-and-manned gate-hours, over all gates          level
   ============  ====================================================================  ======

2. A constraint is **saturated** when its score reaches the threshold for its kind:
   ``level_threshold`` (0.9) for utilisations and load factors, ``time_threshold`` (0.25,
   i.e. six hours of the day) for time spent full.

3. The **binding** constraint is the first saturated one in the order above: downstream
   first. The reasons for that order: a full staging base holds loaded aircraft on the ramp
   (the ramp fills, flights leave full); a saturated runway or ramp lets in fewer aircraft,
   so those that come leave full; full flights leave people waiting inside until the holding
   area fills and the gates stop. In each case the upstream symptom is explained by the
   downstream cause. Screening comes before holding because the screening queue lies inside
   the holding area: slow lanes fill it. The holding area is binding on its own only when it
   is full while nothing downstream is saturated (e.g. aircraft come in bursts and it
   cannot hold enough people between them). Gates blocked by a full inside are not busy, so
   they are saturated only when they really work flat out.

   ``eligibility`` comes right after ``seats``: flights left with empty seats while people
   waited who may not take them (not eligible for that operator, or over its quota), so the
   seats would have been full but for the rules.

4. A day on which nothing is saturated is ``"none"``: throughput was limited by how many
   people came (demand), not by a capacity: flights left empty because nobody was waiting.

The rule is a pure function of two tables, so it works on a :class:`~evacsim.RunResult` or on
tables read back from a results folder.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

__all__ = [
    "CONSTRAINTS",
    "LEVEL_THRESHOLD",
    "NONE",
    "TIME_THRESHOLD",
    "binding_constraints",
    "saturation_scores",
]

CONSTRAINTS: tuple[str, ...] = (
    "staging",
    "runway",
    "ramp",
    "seats",
    "eligibility",
    "screening",
    "holding",
    "gates",
)
"""The constraints in the order they are checked: downstream first."""

NONE = "none"
"""Label of a day on which no constraint was saturated (demand-limited)."""

LEVEL_THRESHOLD = 0.9
"""Utilisation or load factor (fraction) at which a level-type constraint counts as saturated."""

TIME_THRESHOLD = 0.25
"""Fraction of the day (6 h of 24 h) spent full at which a time-type constraint is saturated."""

_KIND = {
    "staging": "time",
    "runway": "level",
    "ramp": "time",
    "seats": "level",
    "eligibility": "level",
    "screening": "level",
    "holding": "time",
    "gates": "level",
}

_DAY_H = 24.0


def saturation_scores(utilisation: pd.DataFrame, flights: pd.DataFrame) -> pd.DataFrame:
    """Per day, the saturation score (fraction, 0-1) of every constraint.

    ``utilisation`` has the columns of :attr:`evacsim.RunResult.utilisation` (``date``,
    ``resource``, ``busy_h``, ``available_h``, ``utilisation``, ``full_h``); ``flights`` those
    of :attr:`evacsim.RunResult.flights` (at least ``departed``, ``seats``, ``boarded``,
    ``troops_out``, ``status``). Returns one row per date with one column per constraint in
    :data:`CONSTRAINTS`; a constraint absent from the run (no staging bases) scores 0.
    """
    util = utilisation.copy()
    util["date"] = pd.to_datetime(util["date"]).dt.normalize()
    dates = pd.DatetimeIndex(sorted(util["date"].unique()), name="date")
    scores = pd.DataFrame(0.0, index=dates, columns=list(CONSTRAINTS))
    resource = util["resource"].astype(str)

    def by_day(mask: pd.Series, column: str, how: str) -> pd.Series:
        grouped = util.loc[mask].groupby("date")[column]
        out = grouped.max() if how == "max" else grouped.sum()
        return out.reindex(dates, fill_value=0.0).fillna(0.0)

    def ratio(mask: pd.Series) -> pd.Series:
        busy = by_day(mask, "busy_h", "sum")
        avail = by_day(mask, "available_h", "sum")
        return (busy / avail.where(avail > 0)).fillna(0.0)

    scores["staging"] = by_day(resource.str.startswith("staging:"), "full_h", "max") / _DAY_H
    scores["runway"] = ratio(resource == "runway")
    scores["ramp"] = by_day(resource == "ramp", "full_h", "max") / _DAY_H
    scores["screening"] = ratio(resource == "screening")
    scores["holding"] = by_day(resource == "holding", "full_h", "max") / _DAY_H
    scores["gates"] = ratio(resource.str.startswith("gate:"))
    scores["seats"] = _seat_load(flights, dates)
    scores["eligibility"] = _seat_load(flights, dates, count_refused=True)
    return scores.clip(lower=0.0, upper=1.0)


def _seat_load(
    flights: pd.DataFrame, dates: pd.DatetimeIndex, *, count_refused: bool = False
) -> pd.Series:
    """People (evacuees and withdrawing troops) aboard / seats, over evacuation flights that
    departed on each day. ``count_refused``: also count, up to its empty seats, the people a
    flight left waiting inside who were not allowed to board it (``may_not_board``)."""
    if flights is None or flights.empty:
        return pd.Series(0.0, index=dates)
    departed = flights[(flights["status"] == "departed") & (flights["seats"] > 0)]
    # The reporting day of each departure, as the run labelled it (calendar day if the
    # table predates the ``day`` column).
    when = departed["day"] if "day" in departed.columns else departed["departed"]
    day = pd.to_datetime(when).dt.normalize()
    on = departed["boarded"] + departed["troops_out"]
    if count_refused:
        if "may_not_board" not in departed:  # results written before the column existed
            return pd.Series(0.0, index=dates)
        empty = (departed["seats"] - on).clip(lower=0)
        on = on + np.minimum(empty, departed["may_not_board"].fillna(0))
    aboard = on.groupby(day).sum()
    seats = departed["seats"].groupby(day).sum()
    load = (aboard / seats.where(seats > 0)).reindex(dates).fillna(0.0)
    return load.rename(None)


def binding_constraints(
    utilisation: pd.DataFrame,
    flights: pd.DataFrame,
    *,
    level_threshold: float = LEVEL_THRESHOLD,
    time_threshold: float = TIME_THRESHOLD,
    order: Sequence[str] = CONSTRAINTS,
) -> pd.DataFrame:
    """For each day, the constraint that limited throughput (see the module docstring).

    Returns a DataFrame indexed by ``date`` with one score column per constraint (fraction
    0-1), ``binding`` (a name from :data:`CONSTRAINTS`, or :data:`NONE`) and ``score`` (the
    binding constraint's score; NaN on a ``none`` day). ``level_threshold`` is the
    utilisation/load factor and ``time_threshold`` the fraction of the day full at which a
    constraint counts as saturated; ``order`` is the checking order (downstream first).
    """
    unknown = set(order) - set(CONSTRAINTS)
    if unknown:
        raise ValueError(f"unknown constraints in order: {sorted(unknown)}")
    scores = saturation_scores(utilisation, flights)
    threshold = {c: level_threshold if _KIND[c] == "level" else time_threshold for c in CONSTRAINTS}
    binding, score = [], []
    for _, row in scores.iterrows():
        chosen = next((c for c in order if row[c] >= threshold[c] - 1e-9), NONE)
        binding.append(chosen)
        score.append(row[chosen] if chosen != NONE else math.nan)
    out = scores.copy()
    out["binding"] = pd.Series(binding, index=scores.index, dtype="object")
    out["score"] = np.asarray(score, dtype=float)
    return out
