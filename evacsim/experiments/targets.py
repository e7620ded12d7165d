"""Calibration against a record of targets: counts as of a time, per operator, and KPIs.

A daily series (:func:`evacsim.experiments.backtest.calibrate`) is not what an early record
usually gives: it gives cumulative counts "as of" a time, counts over a 24 h window that is
not a calendar day, counts for one operator only (US military flights), and aggregate
figures (a total, a peak 24 h). A **targets file** is a CSV with one row per such figure:

* ``quantity``: ``evacuated`` (all operators), ``evacuated.OPERATOR`` (people flown out by
  that operator's aircraft), or the name of a run KPI (``peak_24h_evacuated``,
  ``flights_departed``, ...);
* ``from``, ``to``: the window of departures ``[from, to)`` for counts (local date-times;
  empty ``from``: since the start; empty ``to``: to the deadline); empty for KPIs;
* ``low``, ``high``: the band the record allows (its stated uncertainty);
* ``weight`` (optional, default 1) and ``source`` (free text).

The objective is weighted least squares with each target scaled by its band: with
``c = (low + high) / 2`` and ``h = (high - low) / 2``,

    S(theta) = sum over targets of weight * ((model mean(theta) - c) / h)^2,

the model mean over the same replications at every point (common random numbers). The
search (full factorial grid, zooming ``rounds - 1`` times on the best point) and the
F-based confidence region are those of :func:`~evacsim.experiments.backtest.calibrate`
(Bates & Watts 1988, §2.3), with ``n`` the number of targets. Replications run on any
engine, seeded as every experiment's (:class:`~evacsim.experiments.worker.ReplicationKey`).

:meth:`TargetFit.record` writes the fit as Markdown, with the command that produced it, so
that one command regenerates a committed calibration record.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import math
import os
import shlex
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from evacsim.results.result import collect
from evacsim.scenario.loader import Problem
from evacsim.scenario.schema import Scenario

from .backtest import (
    ObservedDataError,
    Parameter,
    estimate_lines,
    parse_parameter,
    resolve_parameters,
    with_parameters,
)
from .engines import Engine, make_engine
from .progress import Progress
from .replications import as_scenario
from .worker import ReplicationKey, scenario_hash

__all__ = ["TargetFit", "calibrate_targets", "read_targets", "target_values"]

TARGET_COLUMNS = ("quantity", "from", "to", "low", "high", "weight", "source")


# ------------------------------------------------------------------------------ the record


def read_targets(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and check a targets CSV (see the module docstring); every mistake is reported
    with its line (:class:`~evacsim.experiments.backtest.ObservedDataError`)."""
    file = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ObservedDataError(
            [
                Problem(
                    file,
                    "",
                    f"cannot read as CSV ({exc}; expected a "
                    "header line 'quantity,from,to,low,high')",
                )
            ]
        ) from None
    problems: list[Problem] = []
    for col in ("quantity", "low", "high"):
        if col not in frame.columns:
            problems.append(
                Problem(
                    file,
                    "columns",
                    f"missing column '{col}' (expected columns: {', '.join(TARGET_COLUMNS)})",
                )
            )
    unknown = [c for c in frame.columns if c not in TARGET_COLUMNS]
    for col in unknown:
        problems.append(
            Problem(
                file,
                "columns",
                f"unknown column '{col}' (expected one of: {', '.join(TARGET_COLUMNS)})",
            )
        )
    if problems:
        raise ObservedDataError(problems)
    rows = []
    for i, row in frame.iterrows():
        line = int(i) + 2  # the header is line 1

        def bad(field: str, message: str, line: int = line) -> None:
            problems.append(Problem(file, field, message, line))

        quantity = row["quantity"].strip()
        if not quantity:
            bad("quantity", "empty (expected evacuated, evacuated.OPERATOR or a KPI name)")
        times = {}
        for col in ("from", "to"):
            text = row.get(col, "").strip()
            times[col] = pd.NaT
            if text:
                try:
                    times[col] = pd.Timestamp(dt.datetime.fromisoformat(text))
                except ValueError:
                    bad(col, f"'{text}' is not a date-time (expected e.g. 2021-08-20T11:30)")
        numbers = {}
        for col, default in (("low", None), ("high", None), ("weight", "1")):
            text = row.get(col, "").strip() or default
            try:
                numbers[col] = float(text)
            except (TypeError, ValueError):
                bad(col, f"'{row.get(col, '')}' is not a number")
                numbers[col] = math.nan
        if not numbers["low"] < numbers["high"]:
            bad(
                "high",
                f"{numbers['high']:g} is not above low {numbers['low']:g} (expected "
                "low < high: the band the record allows)",
            )
        if not numbers["weight"] > 0:
            bad("weight", f"{numbers['weight']:g} (expected a weight above 0)")
        rows.append({"quantity": quantity, **times, **numbers, "source": row.get("source", "")})
    if problems:
        raise ObservedDataError(problems)
    return pd.DataFrame(rows, columns=list(TARGET_COLUMNS))


def target_values(result, targets: pd.DataFrame) -> np.ndarray:
    """One run's value of each target, in the targets' order."""
    flights = result.flights
    flights = flights[flights["status"] == "departed"]
    operators = set(result.provenance["resolved_scenario"]["operators"])
    values = []
    for row in targets.itertuples(index=False):
        quantity, start, end = row.quantity, row._1, row.to  # _1: the column 'from'
        operator = quantity.removeprefix("evacuated.")
        if quantity == "evacuated" or operator in operators:
            f = flights if quantity == "evacuated" else flights[flights["operator"] == operator]
            mask = pd.Series(True, index=f.index)
            if not pd.isna(start):
                mask &= f["departed"] >= start
            if not pd.isna(end):
                mask &= f["departed"] < end
            values.append(float(f.loc[mask, "boarded"].sum()))
        elif quantity in result.kpis:
            values.append(float(result.kpis[quantity]))
        else:
            raise ValueError(
                f"target '{quantity}' is neither evacuated, evacuated.OPERATOR "
                f"(operators: {', '.join(sorted(operators))}) nor a KPI"
            )
    return np.array(values, dtype=float)


def _target_job(job: tuple[Scenario, ReplicationKey, pd.DataFrame]) -> np.ndarray:
    """One replication's target values (run in a worker; seeded as every experiment)."""
    from evacsim.model.model import build

    scenario, key, targets = job
    result = collect(build(scenario, key.seed_sequence(), keep_records=False).run())
    return target_values(result, targets)


# ------------------------------------------------------------------------------ the fit


@dataclasses.dataclass
class TargetFit:
    """Fitted parameters against a targets record (see :func:`calibrate_targets`).

    ``estimates``: parameter, fitted, low, high, unit, at_bound; ``evaluations``: one row per
    design point (round, parameters, S, in_region); ``fit``: the targets with the model's mean
    and standard deviation over replications at the fitted values and whether the mean is
    inside each band.
    """

    parameters: list[Parameter]
    estimates: pd.DataFrame
    evaluations: pd.DataFrame
    s_min: float
    threshold: float
    targets: int
    confidence: float
    replications: int
    seed: int
    scenario: Scenario
    fit: pd.DataFrame
    method: str

    def fitted(self) -> dict[str, float]:
        return dict(zip(self.estimates["parameter"], self.estimates["fitted"], strict=True))

    def summary(self) -> str:
        lines = [
            f"Calibration of {self.scenario.name} against {self.targets} targets",
            f"Method: {self.method}",
            "",
            *estimate_lines(self.estimates),
        ]
        lines += [
            "",
            f"{len(self.evaluations)} points evaluated; S_min = {self.s_min:.4g}, "
            f"region S <= {self.threshold:.4g} ({self.confidence:.0%})",
            "",
            "Targets at the fitted values (model mean over replications):",
        ]
        lines += [
            f"  {_target_label(r)}: model {r.model:,.0f} (sd {r.sd:,.0f}), record "
            f"{r.low:,.0f}-{r.high:,.0f}{'' if r.inside else '  OUTSIDE'}"
            for r in self.fit.itertuples(index=False)
        ]
        return "\n".join(lines)

    def record(self, command: Sequence[str], title: str = "") -> str:
        """The fit as a Markdown record: the command, the parameters with their search ranges,
        fitted values and intervals, and the targets against the model at the fit."""
        ranges = {p.label: (p.low, p.high) for p in self.parameters}
        out = [
            f"# {title or 'Calibration of ' + self.scenario.name}",
            "",
            "Generated by the command below; rerun it to regenerate this file (a slow test "
            "checks that it gives these values).",
            "",
            "```",
            shlex.join(command),
            "```",
            "",
            f"Method: {self.method}.",
            "",
            "## Fitted parameters",
            "",
            "| parameter | search range | fitted | interval | unit |",
            "|---|---|---|---|---|",
        ]
        for r in self.estimates.itertuples(index=False):
            lo, hi = ranges[r.parameter]
            flag = " (reaches a search bound)" if r.at_bound else ""
            out.append(
                f"| `{r.parameter}` | {lo:.6g} to {hi:.6g} | {r.fitted:.6g} | "
                f"{r.low:.6g} to {r.high:.6g}{flag} | {r.unit} |"
            )
        out += [
            "",
            f"{len(self.evaluations)} design points, {self.replications} replications "
            f"each (root seed {self.seed}); S_min = {self.s_min:.4g}; "
            f"{self.confidence:.0%} region S <= {self.threshold:.4g}.",
            "",
            "## Targets at the fitted values",
            "",
            "| quantity | from | to | record band | model mean | model sd | inside |",
            "|---|---|---|---|---|---|---|",
        ]
        for r in self.fit.itertuples(index=False):
            out.append(
                f"| {r.quantity} | {_time(r._1)} | {_time(r.to)} | {r.low:,.0f} to "
                f"{r.high:,.0f} | {r.model:,.0f} | {r.sd:,.0f} | "
                f"{'yes' if r.inside else 'no'} |"
            )
        return "\n".join(out) + "\n"

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.estimates.to_csv(out / "estimates.csv", index=False)
        self.evaluations.to_csv(out / "evaluations.csv", index=False)
        self.fit.to_csv(out / "targets_fit.csv", index=False)
        return out


def _time(value) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).strftime("%Y-%m-%d %H:%M")


def _target_label(r) -> str:
    window = (
        f" {_time(r._1) or 'start'}..{_time(r.to) or 'end'}"
        if r.quantity.startswith("evacuated")
        else ""
    )
    return f"{r.quantity}{window}"


def calibrate_targets(
    scenario: Scenario | str | os.PathLike[str],
    targets: pd.DataFrame | str | os.PathLike[str],
    parameters: Sequence[Parameter | str],
    *,
    seed: int = 0,
    replications: int = 2,
    points: int = 3,
    rounds: int = 2,
    confidence: float = 0.95,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool | None = False,
) -> TargetFit:
    """Fit ``parameters`` to a targets record by weighted least squares (module docstring).

    Every design point runs replications ``0..replications-1`` of root seed ``seed``.
    ``engine`` as for :func:`evacsim.replicate` (default sequential, in this process);
    ``progress`` shows a bar per round.
    """
    sc = as_scenario(scenario)
    table = targets if isinstance(targets, pd.DataFrame) else read_targets(targets)
    params = resolve_parameters(
        sc, [parse_parameter(p) if isinstance(p, str) else p for p in parameters]
    )
    p, n = len(params), len(table)
    if not params:
        raise ValueError("calibration needs at least one parameter")
    if n <= p:
        raise ValueError(f"{n} targets cannot determine {p} parameters (need more targets)")
    if points < 2 or rounds < 1 or replications < 1:
        raise ValueError("points must be 2 or more, rounds and replications 1 or more")
    centre = ((table["low"] + table["high"]) / 2).to_numpy()
    half = ((table["high"] - table["low"]) / 2).to_numpy()
    weight = table["weight"].to_numpy()
    evaluated: dict[tuple[float, ...], dict] = {}
    box = [(param.low, param.high) for param in params]
    steps = [0.0] * p
    eng = make_engine(engine or ("dask" if scheduler else "sequential"), workers, scheduler)
    own = not isinstance(engine, Engine)
    try:
        for rnd in range(1, rounds + 1):
            axes = [param.grid(lo, hi, points) for param, (lo, hi) in zip(params, box, strict=True)]
            steps = [
                float(np.min(np.diff(a))) if len(a) > 1 else steps[i] for i, a in enumerate(axes)
            ]
            todo = {
                pt: with_parameters(sc, params, pt)
                for pt in dict.fromkeys(
                    tuple(float(v) for v in point) for point in itertools.product(*axes)
                )
                if pt not in evaluated
            }
            jobs = [
                (scen, ReplicationKey(scenario_hash(scen), seed, r), table)
                for scen in todo.values()
                for r in range(replications)
            ]
            values: dict[str, list[np.ndarray]] = {}
            with Progress(len(jobs), f"calibrate round {rnd}", progress) as bar:
                for job, result, error in eng.map(_target_job, jobs):
                    if error is not None:
                        raise RuntimeError(f"a calibration replication failed: {error}")
                    values.setdefault(job[1].scenario, []).append(result)
                    bar.update()
            for pt, scen in todo.items():
                runs = np.vstack(values[scenario_hash(scen)])
                s = float(np.sum(weight * ((runs.mean(axis=0) - centre) / half) ** 2))
                evaluated[pt] = {"round": rnd, "s": s, "runs": runs}
            best = min(evaluated, key=lambda k: evaluated[k]["s"])
            box = [
                (max(param.low, b - 2 * st), min(param.high, b + 2 * st))
                for param, b, st in zip(params, best, steps, strict=True)
            ]
    finally:
        if own:
            eng.close()
    s_min = evaluated[best]["s"]
    threshold = s_min * (1.0 + p / (n - p) * float(stats.f.ppf(confidence, p, n - p)))
    labels = [param.label for param in params]
    evaluations = pd.DataFrame(
        [
            {"round": v["round"], **dict(zip(labels, pt, strict=True)), "S": v["s"]}
            for pt, v in evaluated.items()
        ]
    ).sort_values(["round", *labels], ignore_index=True)
    evaluations["in_region"] = evaluations["S"] <= threshold
    region = evaluations[evaluations["in_region"]]
    rows = []
    for i, param in enumerate(params):
        widen = 0.0 if param.integer and steps[i] <= 1 else steps[i]
        low = max(param.low, float(region[param.label].min()) - widen)
        high = min(param.high, float(region[param.label].max()) + widen)
        rows.append(
            {
                "parameter": param.label,
                "fitted": best[i],
                "low": low,
                "high": high,
                "unit": param.unit,
                "at_bound": bool(low <= param.low + 1e-12 or high >= param.high - 1e-12),
            }
        )
    runs = evaluated[best]["runs"]
    fit = table.assign(
        model=runs.mean(axis=0), sd=runs.std(axis=0, ddof=1) if len(runs) > 1 else 0.0
    )
    fit["inside"] = (fit["model"] >= fit["low"]) & (fit["model"] <= fit["high"])
    method = (
        f"weighted least squares on {n} targets, each scaled by its band's half-width; "
        f"model mean of {replications} replications per point (common random numbers, "
        f"seed {seed}); {rounds} round(s) of a {points}-point grid per parameter, "
        f"zooming on the best; {confidence:.0%} F-region "
        f"S <= S_min (1 + {p}/{n - p} F({p},{n - p}))"
    )
    return TargetFit(
        params,
        pd.DataFrame(rows),
        evaluations,
        s_min,
        threshold,
        n,
        confidence,
        replications,
        seed,
        with_parameters(sc, params, best),
        fit,
        method,
    )
