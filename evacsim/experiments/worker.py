"""One replication on a worker: a scenario and a seed in, small results out.

A replication is identified by (scenario content hash, root seed, replication index). Its
random streams come from ``SeedSequence(entropy=root_seed, spawn_key=(index,))``, the same
sequence as ``SeedSequence(root_seed).spawn(n)[index]`` for any ``n > index``: replication
``i`` is the same whether 10 or 30 are run, on whichever engine or worker. The model then
spawns one stream per stochastic source *by name* (:mod:`evacsim.model.streams`), so two scenarios
run with the same root seed share their arrivals, group sizes, service times ... (common
random numbers).

Workers return KPIs and a few daily series, never the per-group tables: the model runs with
``keep_records=False`` and the full :class:`~evacsim.results.RunResult` is dropped here.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import json
import os
import socket
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from evacsim.model.model import build
from evacsim.results.binding import CONSTRAINTS, NONE, binding_constraints
from evacsim.results.days import end_of_day_hours, reporting_days
from evacsim.results.result import RunResult, collect
from evacsim.scenario.schema import Scenario

__all__ = ["Outcome", "ReplicationKey", "Task", "daily_series", "run_replication", "scenario_hash"]


def scenario_hash(scenario: Scenario) -> str:
    """A 16-hex-digit content hash of the resolved scenario (same inputs, same hash)."""
    data = scenario.model_dump(mode="json", by_alias=True)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@dataclasses.dataclass(frozen=True, order=True)
class ReplicationKey:
    """What identifies a replication: scenario hash, root seed and replication index."""

    scenario: str
    seed: int
    rep: int

    def seed_sequence(self) -> np.random.SeedSequence:
        """This replication's root seed sequence (independent of n, engine and workers)."""
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(self.rep,))


@dataclasses.dataclass(frozen=True)
class Task:
    """What a worker needs: the key and the validated scenario (pickles as a frozen model)."""

    key: ReplicationKey
    scenario: Scenario


@dataclasses.dataclass
class Outcome:
    """A replication's small results: KPIs, daily series and provenance (error if failed)."""

    key: ReplicationKey
    ok: bool
    kpis: dict[str, float]
    series: pd.DataFrame | None
    provenance: dict[str, Any]


@functools.cache
def code_fingerprint() -> str:
    """A hash of the package's source (every evacsim/**/*.py), 16 hex digits.

    Stored with every replication, so that a rerun into an old results folder can tell that
    the stored replications came from different model code (the version number does not
    change with every edit).
    """
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    # Every module of the package, subpackages included (the model lives in evacsim/model/).
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _provenance(task: Task) -> dict[str, Any]:
    from evacsim.version import __version__

    key = task.key
    return {
        "scenario_hash": key.scenario,
        "scenario": task.scenario.name,
        "root_seed": key.seed,
        "rep": key.rep,
        "seed": {"entropy": key.seed, "spawn_key": [key.rep]},
        "evacsim_version": __version__,
        "code": code_fingerprint(),
        "worker": f"{socket.gethostname()}:{os.getpid()}",
        "started_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
    }


def replication_kpis(result: RunResult) -> dict[str, float]:
    """The run's KPIs plus per category: never arrived, and not out (left behind + never).

    ``not_out.<category>`` counts everyone in the pool who was neither evacuated nor turned
    away at screening: the people a planner means by "not everyone eligible got out".
    """
    kpis = {k: float(v) for k, v in result.kpis.items()}
    left = result.left_behind
    never = left[left["location"] == "never_arrived"].groupby("category", sort=False)["people"]
    never_by_cat = never.sum()
    total_not_out = 0.0
    for cat, people in never_by_cat.items():
        kpis[f"never_arrived.{cat}"] = float(people)
        not_out = kpis.get(f"left_behind_by_category.{cat}", 0.0) + float(people)
        kpis[f"not_out.{cat}"] = not_out
        total_not_out += not_out
    kpis["not_out"] = total_not_out
    for row in result.by_operator().to_dict("records"):
        # By nation / operator, so that every report of replications can table them.
        op = row.pop("operator")
        for name, value in row.items():
            kpis[f"operator.{op}.{name}"] = float(value)
    return kpis


def daily_series(
    result: RunResult, categories: list[str], through: pd.Timestamp | None = None
) -> pd.DataFrame:
    """Small daily series of one run, tidy (date, series, value).

    ``evacuated`` and ``evacuated.<category>``: people flown out that reporting day (see
    :mod:`evacsim.results.days`); ``backlog.<stage>``: people at that stage (all categories)
    at the end of the day (of its last hour), for the stages outside, screening,
    inside_waiting, aboard and staging:<base>; ``departures``: flights that took off that day
    (what a backtest compares with observed flights); ``binding.<name>``: 1 if that
    constraint (or ``none``) was binding that day (:mod:`evacsim.results.binding`).

    ``through``: the last day every replication is to cover (an uncertain deadline makes
    runs of different lengths). Days after this run's deadline get what the day after the
    end means: no one flown out, no flight, and each backlog as it was left at the deadline,
    so that daily bands over replications compare like with like, day by day.
    """
    backlog = result.backlog
    level = backlog.groupby(["stage", "time"], sort=True)["end"].sum().reset_index()
    level["date"] = end_of_day_hours(level["time"], result.reporting_day_starts_h)
    end_of_day = level.groupby(["stage", "date"], sort=True)["end"].last().reset_index()
    days = pd.DatetimeIndex(sorted(level["date"].unique()))
    frames = [
        pd.DataFrame(
            {
                "date": end_of_day["date"],
                "series": "backlog." + end_of_day["stage"],
                "value": end_of_day["end"].astype(float),
            }
        )
    ]
    evac = result.evacuated.rename(columns={"day": "date"})
    total = evac.groupby("date")["people"].sum().reindex(days, fill_value=0)
    frames.append(
        pd.DataFrame({"date": days, "series": "evacuated", "value": total.to_numpy(dtype=float)})
    )
    flights = result.flights
    took_off = flights.loc[flights["status"] == "departed", "day"]  # its reporting day
    departures = took_off.value_counts().reindex(days, fill_value=0)
    frames.append(
        pd.DataFrame(
            {"date": days, "series": "departures", "value": departures.to_numpy(dtype=float)}
        )
    )
    for cat in categories:
        per = (
            evac[evac["category"] == cat]
            .groupby("date")["people"]
            .sum()
            .reindex(days, fill_value=0)
        )
        frames.append(
            pd.DataFrame(
                {"date": days, "series": f"evacuated.{cat}", "value": per.to_numpy(dtype=float)}
            )
        )
    binding = binding_constraints(result.utilisation, result.flights)["binding"]
    for name in [*CONSTRAINTS, NONE]:
        # 1 on the days this constraint was binding: the mean over replications is the share
        # of replications in which it bound that day.
        bound = (binding == name).astype(float)
        frames.append(
            pd.DataFrame(
                {
                    "date": pd.DatetimeIndex(bound.index).normalize(),
                    "series": f"binding.{name}",
                    "value": bound.to_numpy(dtype=float),
                }
            )
        )
    out = pd.concat(frames, ignore_index=True)
    if through is not None and len(days) and through > days[-1]:
        out = _extend_past_end(out, days[-1], through)
    out["date"] = out["date"].astype("datetime64[us]")
    out["series"] = out["series"].astype(str)
    return out


def _extend_past_end(out: pd.DataFrame, last: pd.Timestamp, through: pd.Timestamp):
    """Daily series continued from the day after ``last`` to ``through``: flows 0, levels
    as they were at the end."""
    extra = pd.date_range(last + pd.Timedelta(days=1), through, freq="D")
    final = out[out["date"] == last]
    rows = []
    for series, value in zip(final["series"], final["value"], strict=True):
        kept = value if series.startswith("backlog.") else 0.0
        rows.append(pd.DataFrame({"date": extra, "series": series, "value": kept}))
    return pd.concat([out, *rows], ignore_index=True)


def run_replication(task: Task) -> Outcome:
    """Run one replication; any exception becomes a failed :class:`Outcome` with its error."""
    provenance = _provenance(task)
    started, cpu = time.perf_counter(), time.process_time()
    try:
        result = collect(build(task.scenario, task.key.seed_sequence(), keep_records=False).run())
        kpis = replication_kpis(result)
        through = None
        if not isinstance(task.scenario.deadline, dt.datetime):  # runs of different lengths
            s = task.scenario
            through = reporting_days(s.start, s.latest_deadline, s.reporting_day_starts)[-1]
        series = daily_series(result, list(task.scenario.demand), through)
    except Exception as exc:  # recorded by the driver; the experiment goes on
        provenance.update(
            status="failed",
            error=f"{type(exc).__name__}: {exc}",
            traceback=traceback.format_exc(),
            wall_time_s=round(time.perf_counter() - started, 4),
        )
        return Outcome(task.key, False, {}, None, provenance)
    provenance.update(
        status="ok",
        wall_time_s=round(time.perf_counter() - started, 4),
        cpu_time_s=round(time.process_time() - cpu, 4),
    )
    return Outcome(task.key, True, kpis, series, provenance)


def failed_outcome(task: Task, error: BaseException) -> Outcome:
    """A failed outcome for a task whose worker raised or died before returning."""
    provenance = _provenance(task)
    provenance.update(
        status="failed",
        error=f"{type(error).__name__}: {error}",
        traceback="".join(traceback.format_exception(error)),
    )
    return Outcome(task.key, False, {}, None, provenance)
