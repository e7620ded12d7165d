"""Deadline answers a planner asks first, estimated over replications.

* Will everyone eligible in a category be out by the deadline? ``P(not_out.<cat> = 0)``,
  where ``not_out`` counts the category's pool that was neither evacuated nor turned away
  at screening (left behind at the airport, gave up, or never reached it).
* How many are left behind? Percentiles of ``left_behind`` (arrived, not out) or
  ``not_out``, in total and by category.
* How likely is "at most N left behind"? The share of replications with ``kpi <= N``.

Each probability comes with its Wilson 95 % interval (see :mod:`.statistics`).

An uncertain deadline (a distribution between two date-times) is drawn anew in each
replication, so every answer above integrates over it: P(all out) is the share of
replications, each with its own deadline, in which everyone got out.
:func:`deadline_distribution` says which deadlines were drawn.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd

from .statistics import wilson_interval

__all__ = [
    "all_out_probability",
    "deadline_distribution",
    "left_behind_distribution",
    "prob_at_most",
]

_QUANTILES = (5, 25, 50, 75, 95)


def _values(kpis: pd.DataFrame, name: str) -> np.ndarray:
    x = kpis.loc[kpis["kpi"] == name, "value"].to_numpy(dtype=float)
    return x[~np.isnan(x)]


def prob_at_most(values: Iterable[float], threshold: float) -> tuple[float, float, float]:
    """P(value <= threshold) over replications, with its Wilson 95 % interval."""
    x = np.asarray(list(values), dtype=float)
    x = x[~np.isnan(x)]
    if len(x) == 0:
        return (math.nan, math.nan, math.nan)
    hits = int((x <= threshold).sum())
    low, high = wilson_interval(hits, len(x))
    return (hits / len(x), low, high)


def all_out_probability(kpis: pd.DataFrame, categories: Iterable[str]) -> pd.DataFrame:
    """Per category (and ``all``): probability that nobody eligible is left at the deadline.

    ``kpis`` is the tidy replication table (replication, kpi, value) with the ``not_out.<category>``
    KPIs that :func:`evacsim.experiments.worker.replication_kpis` adds.
    """
    rows = []
    for cat, name in [*((c, f"not_out.{c}") for c in categories), ("all", "not_out")]:
        x = _values(kpis, name)
        p, low, high = prob_at_most(x, 0.0)
        rows.append(
            {
                "category": cat,
                "n": len(x),
                "p_all_out": p,
                "ci_low": low,
                "ci_high": high,
                "mean_not_out": float(x.mean()) if len(x) else math.nan,
            }
        )
    return pd.DataFrame(rows)


def left_behind_distribution(
    kpis: pd.DataFrame, categories: Iterable[str], measure: str = "left_behind"
) -> pd.DataFrame:
    """Percentiles of people left behind over replications, total (``all``) and by category.

    ``measure`` is ``left_behind`` (arrived at the airport, not out: the model's KPI) or
    ``not_out`` (also counting those who never reached it). ``p_zero`` is the share of
    replications with nobody left.
    """
    if measure == "left_behind":
        names = [("all", "left_behind"), *((c, f"left_behind_by_category.{c}") for c in categories)]
    elif measure == "not_out":
        names = [("all", "not_out"), *((c, f"not_out.{c}") for c in categories)]
    else:
        raise ValueError(f"unknown measure '{measure}' (expected left_behind or not_out)")
    rows = []
    for cat, name in names:
        x = _values(kpis, name)
        row = {
            "category": cat,
            "measure": measure,
            "n": len(x),
            "mean": float(x.mean()) if len(x) else math.nan,
        }
        for q in _QUANTILES:
            row[f"p{q:02d}"] = float(np.percentile(x, q)) if len(x) else math.nan
        row["max"] = float(x.max()) if len(x) else math.nan
        row["p_zero"] = float((x == 0).mean()) if len(x) else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def deadline_distribution(kpis: pd.DataFrame, start) -> pd.DataFrame:
    """The deadlines the replications drew (uncertain deadline), as date-time percentiles.

    Empty when the deadline was fixed (no ``deadline_h`` KPI). ``start`` is the scenario's
    start; ``deadline_h`` is each replication's run length in hours.
    """
    x = _values(kpis, "deadline_h")
    if len(x) == 0:
        return pd.DataFrame(columns=["statistic", "deadline"])
    at = lambda h: pd.Timestamp(start) + pd.Timedelta(hours=float(h))  # noqa: E731
    rows = [("n", len(x)), ("min", at(x.min()))]
    rows += [(f"p{q:02d}", at(np.percentile(x, q))) for q in _QUANTILES]
    rows += [("max", at(x.max()))]
    return pd.DataFrame(rows, columns=["statistic", "deadline"])
