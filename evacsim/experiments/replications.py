"""Independent replications of a scenario, streamed to a results store, summarised.

``replicate(scenario, n=30)`` runs replications ``0 .. n-1`` of the scenario with root seed
``seed`` (see :mod:`evacsim.experiments.worker` for how each replication is seeded) on an
engine, writes each one to the store the moment it finishes, skips those already in the
store, and returns a :class:`Replications` that reads the store back for statistics: every
KPI as mean, 95 % confidence interval and percentiles, daily series as bands, and the
deadline answers (:mod:`evacsim.experiments.deadline`).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from evacsim.scenario.cost import DEFAULT_BUDGET, Budget, cost_problems
from evacsim.scenario.loader import Problem, ScenarioError, load_scenario
from evacsim.scenario.schema import Scenario

from . import deadline, statistics
from .engines import Engine, make_engine
from .progress import Progress
from .store import ResultStore
from .worker import (
    ReplicationKey,
    Task,
    code_fingerprint,
    failed_outcome,
    run_replication,
    scenario_hash,
)

__all__ = ["Replications", "RunStats", "as_scenario", "budget_for", "execute", "replicate"]


def budget_for(allow_large: bool) -> Budget | None:
    """The cost budget an experiment enforces: none when the user allowed large runs."""
    return None if allow_large else DEFAULT_BUDGET


log = logging.getLogger(__name__)


def as_scenario(scenario: Scenario | str | os.PathLike[str]) -> Scenario:
    """A validated scenario, loading it if given a file path."""
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


@dataclasses.dataclass
class RunStats:
    """What one call did: replications run now, skipped (already done), failed; wall time."""

    ran: int = 0
    skipped: int = 0
    failed: int = 0
    wall_s: float = 0.0


def execute(
    jobs: Iterable[tuple[Scenario, ReplicationKey]],
    engine: Engine,
    store: ResultStore,
    progress: Progress | None = None,
    budget: Budget | None = None,
) -> RunStats:
    """Run the jobs not already done in ``store`` on ``engine``, writing each as it finishes.

    A job that raises (or whose worker dies) is written to the store as failed, with its
    error, and the rest go on. Nothing is held after it is written. With a ``budget``, a
    scenario whose estimated cost per replication is over it (see
    :mod:`evacsim.scenario.cost`) raises :class:`ScenarioError` before any of its
    replications runs.
    """
    started = time.perf_counter()
    stats = RunStats()
    done: dict[tuple[str, int], set[int]] = {}

    def pending() -> Iterator[Task]:
        # Lazy, so that neither the jobs nor their results pile up in memory.
        for scenario, key in jobs:
            finished = done.get((key.scenario, key.seed))
            if finished is None:
                _check_budget(scenario, budget)
                store.verify(key.scenario, key.seed)  # damaged or swapped files are redone
                finished = done[(key.scenario, key.seed)] = store.done(key.scenario, key.seed)
                store.save_scenario(key.scenario, scenario)
                _warn_if_other_code(store, key, finished)
            if key.rep in finished:
                stats.skipped += 1
                if progress is not None:
                    progress.update(1)
            else:
                yield Task(key, scenario)

    try:
        _drain(engine, pending(), store, stats, progress)
    except KeyboardInterrupt:  # what is written stays written; the workers stop now
        engine.terminate()
        raise
    stats.wall_s = time.perf_counter() - started
    if stats.skipped:
        log.info("%d replications already in %s: skipped", stats.skipped, store.root)
    return stats


def _drain(
    engine: Engine,
    tasks: Iterator[Task],
    store: ResultStore,
    stats: RunStats,
    progress: Progress | None,
) -> None:
    for task, outcome, error in engine.map(run_replication, tasks):
        if error is not None:
            outcome = failed_outcome(task, error)
        outcome.provenance["engine"] = engine.describe()
        store.put(outcome)
        stats.ran += 1
        if not outcome.ok:
            stats.failed += 1
            log.warning(
                "replication %d of %s failed: %s",
                task.key.rep,
                task.scenario.name,
                outcome.provenance.get("error"),
            )
        if progress is not None:
            progress.update(1, failed=0 if outcome.ok else 1)


def _check_budget(scenario: Scenario, budget: Budget | None) -> None:
    if budget is None:
        return
    problems = cost_problems(scenario, budget)
    if problems:
        raise ScenarioError([Problem(scenario.name, "", message) for message in problems])


def _warn_if_other_code(store: ResultStore, key: ReplicationKey, finished: set[int]) -> None:
    """Stored replications made by other model code are kept, but say so (once per group)."""
    if not finished:
        return
    prov = store.provenance(ReplicationKey(key.scenario, key.seed, min(finished))) or {}
    if prov.get("code") not in (None, code_fingerprint()):
        log.warning(
            "%d stored replications of %s (seed %d) in %s were run by other model "
            "code (%s, now %s); they are reused: delete them or use a new folder to "
            "rerun",
            len(finished),
            prov.get("scenario", key.scenario),
            key.seed,
            store.root,
            prov.get("code"),
            code_fingerprint(),
        )


@dataclasses.dataclass
class Replications:
    """Replications ``0 .. n-1`` of one scenario and root seed, as stored.

    Tables are read from the store when first asked for: ``kpis`` (replication, kpi, value)
    and ``series`` (replication, date, series, value), over the replications that finished:
    the long format :mod:`evacsim.results.charts` takes.
    """

    scenario: Scenario
    scenario_hash: str
    seed: int
    n: int
    store: ResultStore
    label: str = ""
    stats: RunStats = dataclasses.field(default_factory=RunStats)

    @property
    def reps(self) -> list[int]:
        """Indices of the replications that finished (failed ones are left out)."""
        done = self.store.done(self.scenario_hash, self.seed)
        return [r for r in range(self.n) if r in done]

    @functools.cached_property
    def kpis(self) -> pd.DataFrame:
        """Tidy KPIs: one row per replication × KPI (replication, kpi, value)."""
        return self.store.kpis(self.scenario_hash, self.seed, self.reps)

    @functools.cached_property
    def series(self) -> pd.DataFrame:
        """Tidy daily series: one row per replication × day × series (replication, date,
        series, value)."""
        return self.store.series(self.scenario_hash, self.seed, self.reps)

    def kpi(self, name: str) -> pd.Series:
        """One KPI across replications, indexed by replication."""
        frame = self.kpis[self.kpis["kpi"] == name]
        if frame.empty and name not in set(self.kpis["kpi"]) and self.reps:
            known = ", ".join(sorted(set(self.kpis["kpi"])))
            raise KeyError(f"unknown KPI '{name}' (expected one of: {known})")
        return frame.set_index("replication")["value"].rename(name)

    def wide(self) -> pd.DataFrame:
        """KPIs as one row per replication, one column per KPI."""
        return self.kpis.pivot(index="replication", columns="kpi", values="value")

    def failures(self) -> pd.DataFrame:
        """Failed replications (replication, error)."""
        return self.store.failures(self.scenario_hash, self.seed, range(self.n))

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Every KPI: n, mean, std, CI of the mean (``level``), p05, p50, p95, min, max."""
        return statistics.summarise(self.kpis, level=level)

    def bands(self) -> pd.DataFrame:
        """Daily throughput and backlog series as median and 5-95 % bands over replications."""
        return statistics.bands(self.series)

    def all_out(self, categories: Iterable[str] | None = None) -> pd.DataFrame:
        """Per category: probability that everyone eligible is out by the deadline."""
        return deadline.all_out_probability(self.kpis, categories or list(self.scenario.demand))

    def left_behind(self, kpi_prefix: str = "left_behind") -> pd.DataFrame:
        """Distribution of people left behind, total and by category."""
        return deadline.left_behind_distribution(self.kpis, list(self.scenario.demand), kpi_prefix)

    def deadlines(self) -> pd.DataFrame:
        """The deadlines drawn, when the deadline is uncertain (empty when it is fixed)."""
        return deadline.deadline_distribution(self.kpis, self.scenario.start)

    def prob_at_most(self, kpi: str, threshold: float) -> tuple[float, float, float]:
        """P(``kpi`` <= ``threshold``) over replications with its Wilson 95 % interval."""
        return deadline.prob_at_most(self.kpi(kpi), threshold)

    def write(self, out: str | Path | None = None) -> Path:
        """Write the summary, bands and deadline answers as Parquet + CSV into the store."""
        store = self.store if out is None else ResultStore(out)
        prefix = f"{self.label or 'replications'}_"
        store.write_json(
            f"{prefix}run.json",
            {
                "scenario": self.scenario.name,
                "scenario_hash": self.scenario_hash,
                "seed": self.seed,
                "n": self.n,
                "finished": len(self.reps),
                "failed": len(self.failures()),
            },
        )
        store.write_table(f"{prefix}summary", self.summary())
        store.write_table(f"{prefix}bands", self.bands())
        store.write_table(f"{prefix}all_out", self.all_out())
        store.write_table(f"{prefix}left_behind", self.left_behind())
        store.write_table(f"{prefix}kpis", self.kpis)
        return store.root


def replicate(
    scenario: Scenario | str | os.PathLike[str],
    n: int = 30,
    seed: int = 0,
    *,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = None,
    label: str = "",
    allow_large: bool = False,
) -> Replications:
    """Run ``n`` independent replications of ``scenario`` and return them for statistics.

    ``seed`` is the root seed (a non-negative integer); replication ``i`` is seeded with
    ``SeedSequence(entropy=seed, spawn_key=(i,))``. ``engine`` is ``"sequential"``,
    ``"local"`` (default: worker processes, ``workers`` of them, all cores if None) or
    ``"dask"`` (``scheduler`` address, or a local Dask cluster), or an :class:`Engine`.
    Each replication is written to ``out`` (a folder, or a temporary one if None) as it
    finishes; replications already there are not run again. A scenario over the cost budget
    (:data:`~evacsim.scenario.cost.DEFAULT_BUDGET`) is refused unless ``allow_large``.
    """
    if n < 1:
        raise ValueError(f"n must be 1 or more replications, got {n}")
    if seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed}")
    scenario = as_scenario(scenario)
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    digest = scenario_hash(scenario)
    jobs = ((scenario, ReplicationKey(digest, seed, i)) for i in range(n))
    own = not isinstance(engine, Engine)
    eng = make_engine(engine, workers, scheduler)
    try:
        with Progress(n, f"{scenario.name}", progress) as bar:
            stats = execute(jobs, eng, store, bar, budget_for(allow_large))
    finally:
        if own:
            eng.close()
    log.info(
        "%s: %d replications run, %d skipped, %d failed in %.1f s on %s",
        scenario.name,
        stats.ran,
        stats.skipped,
        stats.failed,
        stats.wall_s,
        eng.describe(),
    )
    return Replications(scenario, digest, seed, n, store, label=label, stats=stats)
