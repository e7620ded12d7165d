"""Statistics over replications: confidence intervals, percentiles, bands, proportions.

Every function takes tidy frames (one row per replication × KPI or per replication × day ×
series) and returns tidy frames. Intervals are the textbook ones for independent
replications: Student's t for means (Law, *Simulation Modeling and Analysis*, 5th ed., §9.4),
the paired-t interval for differences under common random numbers (§10.2) and Wilson's score
interval for proportions (Agresti & Coull 1998).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["bands", "mean_ci", "summarise", "wilson_interval"]

PERCENTILES = (5, 50, 95)


def mean_ci(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """Mean and Student-t confidence interval of independent observations (NaNs dropped).

    With fewer than two observations the interval is undefined (NaN); with no spread it
    collapses to the mean.
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = len(x)
    if n == 0:
        return (math.nan, math.nan, math.nan)
    mean = float(x.mean())
    if n < 2:
        return (mean, math.nan, math.nan)
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return (mean, mean - half, mean + half)


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a proportion ``successes / n`` (Agresti & Coull 1998)."""
    if n == 0:
        return (math.nan, math.nan)
    z = float(stats.norm.ppf(0.5 + level / 2))
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def summarise(kpis: pd.DataFrame, by: list[str] | None = None, level: float = 0.95) -> pd.DataFrame:
    """Per KPI (and per ``by`` group): n, mean, std, CI of the mean, percentiles, min, max.

    ``kpis`` is tidy: columns ``kpi`` and ``value`` plus any ``by`` columns, one row per
    replication. NaN values (e.g. a load factor with no flights) are left out of that KPI's n.
    """
    keys = [*(by or []), "kpi"]
    rows = []
    for key, group in kpis.groupby(keys, sort=False):
        x = group["value"].to_numpy(dtype=float)
        x = x[~np.isnan(x)]
        mean, low, high = mean_ci(x, level)
        row = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
        row.update(
            n=len(x),
            mean=mean,
            std=float(x.std(ddof=1)) if len(x) > 1 else math.nan,
            ci_low=low,
            ci_high=high,
        )
        for p in PERCENTILES:
            row[f"p{p:02d}"] = float(np.percentile(x, p)) if len(x) else math.nan
        row["min"] = float(x.min()) if len(x) else math.nan
        row["max"] = float(x.max()) if len(x) else math.nan
        rows.append(row)
    columns = [
        *keys,
        "n",
        "mean",
        "std",
        "ci_low",
        "ci_high",
        *(f"p{p:02d}" for p in PERCENTILES),
        "min",
        "max",
    ]
    return pd.DataFrame(rows, columns=columns)


def bands(series: pd.DataFrame, by: list[str] | None = None) -> pd.DataFrame:
    """Daily bands over replications: median and 5-95 % band (and mean) per series and date.

    ``series`` is tidy: columns ``replication``, ``date``, ``series``, ``value`` (plus ``by``).
    """
    keys = [*(by or []), "series", "date"]
    if series.empty:
        return pd.DataFrame(columns=[*keys, "n", "mean", "p05", "p50", "p95"])
    grouped = series.groupby(keys, sort=True)["value"]
    out = grouped.agg(n="count", mean="mean").reset_index()
    for p in PERCENTILES:
        out[f"p{p:02d}"] = grouped.quantile(p / 100).to_numpy()
    return out
