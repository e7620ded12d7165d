"""Courses of action side by side: paired differences under common random numbers.

Every scenario is run with the same root seed, so replication ``i`` of each sees the same
random streams wherever the scenarios share a source: arrivals, group sizes, screening
times, flight slots. The difference in a KPI between an alternative and the base, taken
replication by replication, then reflects the change rather than the noise, and its
paired-t interval is narrower than comparing two independent samples (Law 2015, §10.2).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from evacsim.scenario.schema import Scenario

from . import statistics
from .engines import Engine, make_engine
from .progress import Progress
from .replications import Replications, RunStats, as_scenario, budget_for, execute
from .store import ResultStore
from .worker import ReplicationKey, scenario_hash

__all__ = ["Comparison", "compare", "lower_is_better", "paired_difference"]

log = logging.getLogger(__name__)

_LOWER_IS_BETTER = (
    "left_behind",
    "not_out",
    "never_arrived",
    "turned_away",
    "wait_",
    "peak_backlog",
    "held_for_staging",
)


def lower_is_better(kpi: str) -> bool:
    """Whether a smaller value of ``kpi`` is better (people left, waits, backlogs)."""
    return kpi.startswith(_LOWER_IS_BETTER)


def paired_difference(alt: pd.Series, base: pd.Series, level: float = 0.95) -> dict[str, float]:
    """Mean of ``alt - base`` over the replications both have, paired-t CI and p-value."""
    joined = pd.concat([alt.rename("alt"), base.rename("base")], axis=1, join="inner").dropna()
    d = (joined["alt"] - joined["base"]).to_numpy(dtype=float)
    mean, low, high = statistics.mean_ci(d, level)
    if len(d) >= 2 and np.std(d) > 0:
        p_value = float(stats.ttest_1samp(d, 0.0).pvalue)
    else:
        p_value = math.nan if len(d) < 2 else (1.0 if mean == 0 else 0.0)
    return {
        "n": len(d),
        "diff": mean,
        "ci_low": low,
        "ci_high": high,
        "std": float(d.std(ddof=1)) if len(d) > 1 else math.nan,
        "p_value": p_value,
    }


@dataclasses.dataclass
class Comparison:
    """Replications of a base scenario and alternatives, all with the same root seed."""

    runs: dict[str, Replications]
    stats: RunStats

    @property
    def labels(self) -> list[str]:
        return list(self.runs)

    @property
    def base(self) -> str:
        return self.labels[0]

    @functools.cached_property
    def kpis(self) -> pd.DataFrame:
        """Tidy KPIs of every scenario: scenario, replication, kpi, value (a property, as on
        :class:`Replications`)."""
        return pd.concat(
            [r.kpis.assign(scenario=label) for label, r in self.runs.items()], ignore_index=True
        )[["scenario", "replication", "kpi", "value"]]

    @functools.cached_property
    def series(self) -> pd.DataFrame:
        """Tidy daily series of every scenario: scenario, replication, date, series, value."""
        return pd.concat(
            [r.series.assign(scenario=label) for label, r in self.runs.items()], ignore_index=True
        )[["scenario", "replication", "date", "series", "value"]]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Every KPI of every scenario: mean, CI, percentiles (see :func:`.summarise`)."""
        return statistics.summarise(self.kpis, by=["scenario"], level=level)

    def differences(self, kpis: Sequence[str] | None = None, level: float = 0.95) -> pd.DataFrame:
        """Each alternative minus the base, per KPI, paired by replication, with its CI."""
        base = self.runs[self.base].wide()
        names = list(kpis) if kpis else list(base.columns)
        rows = []
        for label in self.labels[1:]:
            alt = self.runs[label].wide()
            for kpi in names:
                if kpi not in alt.columns or kpi not in base.columns:
                    continue
                row = {
                    "scenario": label,
                    "versus": self.base,
                    "kpi": kpi,
                    "base_mean": float(base[kpi].mean()),
                    "mean": float(alt[kpi].mean()),
                }
                row.update(paired_difference(alt[kpi], base[kpi], level))
                rows.append(row)
        return pd.DataFrame(
            rows,
            columns=[
                "scenario",
                "versus",
                "kpi",
                "n",
                "base_mean",
                "mean",
                "diff",
                "ci_low",
                "ci_high",
                "std",
                "p_value",
            ],
        )

    def ranking(
        self, kpi: str = "not_out", maximize: bool | None = None, level: float = 0.95
    ) -> pd.DataFrame:
        """Scenarios ranked on ``kpi`` (best first), with the paired gap to the best.

        The default, ``not_out``, counts everyone eligible who did not get out: those left
        at the airport and those who never reached it (``left_behind`` misses the latter).

        ``maximize`` defaults to what the KPI means (people evacuated: more is better; people
        left behind, waits, backlogs: less is better). ``p_best`` is the share of
        replications in which the scenario was the best (ties shared), under common random
        numbers a direct reading of how often the choice would have been right.
        """
        if maximize is None:
            maximize = not lower_is_better(kpi)
        values = pd.concat({label: r.kpi(kpi) for label, r in self.runs.items()}, axis=1)
        paired = values.dropna()
        means = values.mean()
        order = means.sort_values(ascending=not maximize).index.tolist()
        best = order[0]
        arr = paired.to_numpy(dtype=float)
        top = arr.max(axis=1, keepdims=True) if maximize else arr.min(axis=1, keepdims=True)
        is_best = arr == top
        share = (
            (is_best / is_best.sum(axis=1, keepdims=True)).mean(axis=0)
            if len(arr)
            else (np.full(arr.shape[1], math.nan))
        )
        p_best = dict(zip(paired.columns, share, strict=True))
        rows = []
        for rank, label in enumerate(order, start=1):
            mean, low, high = statistics.mean_ci(values[label].to_numpy(), level)
            gap = paired_difference(values[label], values[best], level)
            rows.append(
                {
                    "rank": rank,
                    "scenario": label,
                    "kpi": kpi,
                    "mean": mean,
                    "ci_low": low,
                    "ci_high": high,
                    "gap_to_best": gap["diff"],
                    "gap_ci_low": gap["ci_low"],
                    "gap_ci_high": gap["ci_high"],
                    "p_best": float(p_best.get(label, math.nan)),
                }
            )
        return pd.DataFrame(rows)

    def write(
        self,
        out: str | os.PathLike[str] | None = None,
        kpi: str = "not_out",
        maximize: bool | None = None,
    ) -> os.PathLike[str]:
        """Write summary, differences and ranking (Parquet + CSV) to the store folder."""
        store = next(iter(self.runs.values())).store if out is None else ResultStore(out)
        store.write_table("compare_summary", self.summary())
        store.write_table("compare_differences", self.differences())
        store.write_table("compare_ranking", self.ranking(kpi, maximize))
        store.write_table("compare_kpis", self.kpis)
        return store.root


def _labels(scenarios: Sequence[Scenario], labels: Sequence[str] | None) -> list[str]:
    if labels is not None:
        if len(labels) != len(scenarios) or len(set(labels)) != len(labels):
            raise ValueError("expected one distinct label per scenario")
        return list(labels)
    out: list[str] = []
    for s in scenarios:
        label, k = s.name, 2
        while label in out:
            label, k = f"{s.name}_{k}", k + 1
        out.append(label)
    return out


def compare(
    scenarios: Sequence[Scenario | str | os.PathLike[str]],
    n: int = 30,
    seed: int = 0,
    *,
    labels: Sequence[str] | None = None,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = None,
    allow_large: bool = False,
) -> Comparison:
    """Run ``n`` replications of each scenario with the same root ``seed`` (common random
    numbers); the first scenario is the base the others are compared with."""
    if len(scenarios) < 2:
        raise ValueError("compare needs a base scenario and at least one alternative")
    if n < 1:
        raise ValueError(f"n must be 1 or more replications, got {n}")
    resolved = [as_scenario(s) for s in scenarios]
    names = _labels(resolved, labels)
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    hashes = [scenario_hash(s) for s in resolved]
    # Interleave by replication so that a partial run has every scenario's early reps.
    jobs = (
        (s, ReplicationKey(h, seed, i))
        for i in range(n)
        for s, h in zip(resolved, hashes, strict=True)
    )
    own = not isinstance(engine, Engine)
    eng = make_engine(engine, workers, scheduler)
    try:
        with Progress(n * len(resolved), "compare", progress) as bar:
            run_stats = execute(jobs, eng, store, bar, budget_for(allow_large))
    finally:
        if own:
            eng.close()
    runs = {
        label: Replications(s, h, seed, n, store, label=label, stats=run_stats)
        for label, s, h in zip(names, resolved, hashes, strict=True)
    }
    store.write_json(
        "compare.json",
        {
            "seed": seed,
            "n": n,
            "scenarios": [
                {"label": label, "scenario": s.name, "hash": h}
                for label, s, h in zip(names, resolved, hashes, strict=True)
            ],
        },
    )
    return Comparison(runs, run_stats)
