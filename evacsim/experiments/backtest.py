"""Validation against history: backtest a scenario on an observed daily series, and calibrate.

**Observed data** is a CSV file with one row per day: ``date`` (``2021-08-23``), ``evacuated``
(people flown out that day) and, optionally, ``flights`` (departures that day).
:func:`read_observed` checks it and reports every mistake with its line.

**Backtest** (:func:`backtest`) runs independent replications of the scenario on the
experiments' machinery, as ``evacsim run -n`` does (replication ``r`` of root seed ``s`` is
seeded ``SeedSequence(entropy=s, spawn_key=(r,))``; any engine; each replication streamed to
a results store, resumable; failures recorded and left out), takes each one's departures by
reporting day, and compares the mean daily series and its band across replications with the
observed one on the days both cover:

* cumulative total: model minus observed, in people and in per cent of observed;
* daily RMSE of the mean series (people per day; in per cent of the observed daily mean);
* Pearson correlation of the daily series;
* peak day (date) and peak size, model against observed;
* coverage: the share of observed days inside the model's band;
* with observed flights: total departures and the correlation of daily departures.

**Calibration** (:func:`calibrate`) fits chosen numeric inputs, each given by its dotted
path and a search range, to an observed series by least squares on the daily evacuated
series:

    S(theta) = sum over days of (model mean(theta) - observed)^2,

where the model mean is over the same replications (same seeds, common random numbers) at
every theta, so that differences in S come from theta, not from noise. The search is a
designed one over replicated runs: a full factorial grid over the search box, then
``rounds - 1`` zooms onto a smaller grid around the best point so far. The fitted value is
the grid point with least S. Its uncertainty is the classical F-based confidence region of
nonlinear least squares (Bates & Watts, *Nonlinear Regression Analysis and Its
Applications*, 1988, §2.3 and §6.1; Seber & Wild, *Nonlinear Regression*, 1989, §5.2)

    { theta : S(theta) <= S_min * (1 + p / (n - p) * F(p, n - p; confidence)) }

(``n`` days, ``p`` parameters), projected on each parameter over the evaluated points and
widened by one step of the final grid (the region's edge lies between an evaluated point
inside it and its neighbour outside; a whole-number parameter whose every value near the
best was evaluated is not widened). It assumes independent daily errors of
equal variance; daily evacuations are autocorrelated, so read it as indicative, and see the
coverage check in ``tests/test_backtest.py``. An interval that reaches a search bound is
flagged: the region may extend beyond it.

Times in the model are hours; dates here are the scenario's reporting days (local clock,
``reporting_day_starts``; labelled by the date each starts), so an observed series kept
11:30 to 11:30 compares like with like.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from scipy import stats

from evacsim.results.days import reporting_days
from evacsim.scenario.loader import Problem, ScenarioError, scenario_from_dict
from evacsim.scenario.schema import Scenario
from evacsim.scenario.units import format_duration, parse_duration, parse_timestamp

from .engines import Engine, make_engine
from .progress import Progress
from .replications import RunStats, as_scenario, execute
from .store import ResultStore
from .worker import ReplicationKey, daily_series, scenario_hash

__all__ = [
    "Backtest",
    "Calibration",
    "ObservedDataError",
    "Parameter",
    "ReplicationsFailed",
    "backtest",
    "daily_runs",
    "calibrate",
    "estimate_lines",
    "fit_metrics",
    "model_days",
    "observed_from_run",
    "overlay_figure",
    "parse_parameter",
    "read_observed",
    "simulate_daily",
    "validate_observed",
    "with_parameters",
]

log = logging.getLogger(__name__)

OBSERVED_COLUMNS = ("date", "evacuated", "flights")
REQUIRED_COLUMNS = ("date", "evacuated")


class ObservedDataError(ValueError):
    """An observed-data file or table is unusable; ``problems`` lists every mistake."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ------------------------------------------------------------------------------ observed data


def validate_observed(frame: pd.DataFrame, file: str = "<observed>") -> pd.DataFrame:
    """Check an observed table and return it clean: ``date`` (day), ``evacuated`` (people)
    and ``flights`` (departures, NaN where unknown) if given, sorted by date.

    Cells may be text (as read from CSV) or numbers. Raises :class:`ObservedDataError` with
    one problem per mistake; ``line`` is the CSV line (the header is line 1).
    """
    problems: list[Problem] = []
    columns = [str(c).strip() for c in frame.columns]
    frame = frame.set_axis(columns, axis=1)
    for col in REQUIRED_COLUMNS:
        if col not in columns:
            problems.append(
                Problem(
                    file,
                    "columns",
                    f"missing column '{col}' (expected "
                    "columns: date, evacuated and optionally flights)",
                )
            )
    for col in columns:
        if col not in OBSERVED_COLUMNS:
            problems.append(
                Problem(
                    file,
                    "columns",
                    f"unknown column '{col}' (expected "
                    "columns: date, evacuated and optionally flights)",
                )
            )
    if len(set(columns)) != len(columns):
        problems.append(Problem(file, "columns", "a column name appears twice"))
    if problems:
        raise ObservedDataError(problems)
    if frame.empty:
        raise ObservedDataError([Problem(file, "", "no rows (expected one row per day)")])

    dates: list[pd.Timestamp | None] = []
    seen: dict[pd.Timestamp, int] = {}
    for i, value in enumerate(frame["date"]):
        line = i + 2
        try:
            day = pd.Timestamp(parse_timestamp(_cell(value))).normalize()
        except ValueError:
            problems.append(
                Problem(
                    file, "date", f"'{_cell(value)}' is not a date (expected e.g. 2021-08-23)", line
                )
            )
            dates.append(None)
            continue
        if day in seen:
            problems.append(
                Problem(
                    file,
                    "date",
                    f"{day.date()} appears twice (first on "
                    f"line {seen[day]}; expected one row per day)",
                    line,
                )
            )
        seen.setdefault(day, line)
        dates.append(day)

    def numbers(col: str, required: bool) -> list[float]:
        out = []
        for i, value in enumerate(frame[col]):
            text = _cell(value)
            if text == "" and not required:
                out.append(math.nan)
                continue
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number) or number < 0:
                what = "a count of people" if col == "evacuated" else "a count of flights"
                problems.append(
                    Problem(
                        file, col, f"'{text}' is not {what} (expected a number 0 or more)", i + 2
                    )
                )
            out.append(number)
        return out

    evacuated = numbers("evacuated", required=True)
    flights = numbers("flights", required=False) if "flights" in frame.columns else None
    if problems:
        raise ObservedDataError(problems)
    clean = pd.DataFrame({"date": pd.DatetimeIndex(dates), "evacuated": evacuated})
    if flights is not None:
        clean["flights"] = flights
    return clean.sort_values("date", ignore_index=True)


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def read_observed(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read and check an observed CSV (``date,evacuated[,flights]``); see
    :func:`validate_observed`. Raises :class:`ObservedDataError` if unreadable or invalid."""
    file = str(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise ObservedDataError([Problem(file, "", "no such file")]) from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ObservedDataError(
            [
                Problem(
                    file,
                    "",
                    f"cannot read as CSV ({reason}; expected a header line "
                    "'date,evacuated' and one row per day)",
                )
            ]
        ) from None
    return validate_observed(frame, file)


# ------------------------------------------------------------------------------ model side


def model_days(scenario: Scenario) -> pd.DatetimeIndex:
    """Reporting days the scenario covers (labels; see :mod:`evacsim.results.days`), from
    the one its start falls in to the one its deadline ends."""
    return reporting_days(scenario.start, scenario.latest_deadline, scenario.reporting_day_starts)


def daily_runs(series: pd.DataFrame, days: pd.DatetimeIndex, reps: Sequence[int]) -> pd.DataFrame:
    """Each replication's people evacuated and flights departed per reporting day of ``days``:
    tidy (replication, date, evacuated, flights), from the replications' daily series as the
    results
    store keeps them (:func:`evacsim.experiments.worker.daily_series`: one binning by day
    for every experiment). Days without a departure count 0."""
    part = series[series["series"].isin(("evacuated", "departures"))]
    part = part.assign(date=pd.DatetimeIndex(part["date"]).as_unit("ns"))
    wide = part.pivot_table(
        index=["replication", "date"], columns="series", values="value", aggfunc="sum"
    )
    full = pd.MultiIndex.from_product(
        [sorted(reps), days.as_unit("ns")], names=["replication", "date"]
    )
    wide = wide.reindex(index=full, columns=["evacuated", "departures"], fill_value=0.0)
    frame = wide.fillna(0.0).rename(columns={"departures": "flights"}).reset_index()
    frame.columns.name = None
    return frame.astype({"replication": np.int64, "evacuated": float, "flights": float})


def _replicated(
    scenario: Scenario,
    seed: int,
    replications: int,
    store: ResultStore,
    engine: Engine,
    progress: bool | None,
    desc: str,
) -> RunStats:
    """Run replications ``0..replications-1`` of ``scenario`` into ``store`` (those already
    there are skipped), as every experiment does (:func:`.replications.execute`)."""
    digest = scenario_hash(scenario)
    jobs = ((scenario, ReplicationKey(digest, seed, r)) for r in range(replications))
    with Progress(replications, desc, progress) as bar:
        return execute(jobs, engine, store, bar)


def _stored_runs(
    scenario: Scenario, seed: int, replications: int, store: ResultStore
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The finished replications' daily runs (see :func:`daily_runs`) and the failed ones
    (replication, error), read back from ``store``."""
    digest = scenario_hash(scenario)
    done = sorted(store.done(digest, seed) & set(range(replications)))
    runs = daily_runs(store.series(digest, seed, done), model_days(scenario), done)
    return runs, store.failures(digest, seed, range(replications))


class ReplicationsFailed(RuntimeError):
    """No replication of a backtest (or of any calibration point) finished; ``failures``
    holds (replication, error) of those that failed."""

    def __init__(self, message: str, failures: pd.DataFrame):
        self.failures = failures
        super().__init__(message)


def _own_engine(
    engine: str | Engine | None, workers: int | None, scheduler: str | None
) -> tuple[Engine, bool]:
    """The engine to use (default: sequential, in this process) and whether we close it."""
    own = not isinstance(engine, Engine)
    return make_engine(engine or ("dask" if scheduler else "sequential"), workers, scheduler), own


def simulate_daily(
    scenario: Scenario,
    seed: int = 0,
    replications: int = 10,
    *,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = False,
) -> pd.DataFrame:
    """Daily departures of ``replications`` independent runs: tidy (replication, date,
    evacuated, flights), people and flights per reporting day, finished replications only.
    ``engine`` is an :class:`evacsim.experiments.Engine` or its name (default: sequential,
    in this process); ``out`` a results folder (resumable) or a store."""
    if replications < 1:
        raise ValueError(f"replications must be 1 or more, got {replications}")
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    eng, own = _own_engine(engine, workers, scheduler)
    try:
        _replicated(scenario, seed, replications, store, eng, progress, "backtest")
    finally:
        if own:
            eng.close()
    return _stored_runs(scenario, seed, replications, store)[0]


def observed_from_run(result, flights: bool = True) -> pd.DataFrame:
    """A run's own daily series in the observed format (synthetic observations for tests
    and demonstrations): date, evacuated and, if ``flights``, departures per day."""
    scenario = scenario_from_dict(result.provenance["resolved_scenario"])
    run = daily_runs(daily_series(result, []).assign(replication=0), model_days(scenario), [0])
    frame = pd.DataFrame({"date": run["date"], "evacuated": run["evacuated"].astype(np.int64)})
    if flights:
        frame["flights"] = run["flights"].astype(np.int64)
    return frame


# ------------------------------------------------------------------------------ comparison


def _daily_table(runs: pd.DataFrame, observed: pd.DataFrame, band: float) -> pd.DataFrame:
    """Model mean and band beside the observed series, on the days both cover."""
    lo_q, hi_q = (1 - band) / 2, (1 + band) / 2
    grouped = runs.groupby("date")
    model = pd.DataFrame(
        {
            "model_mean": grouped["evacuated"].mean(),
            "model_low": grouped["evacuated"].quantile(lo_q),
            "model_high": grouped["evacuated"].quantile(hi_q),
            "model_flights_mean": grouped["flights"].mean(),
        }
    )
    obs = observed.set_index("date")
    table = obs[["evacuated"]].rename(columns={"evacuated": "observed"}).join(model, how="inner")
    # Cumulative over the compared days: the band of the running totals of each replication
    # (not the running total of daily quantiles, which is no replication's path).
    compared = runs[runs["date"].isin(table.index)].sort_values(["replication", "date"])
    cum = compared.assign(cum=compared.groupby("replication")["evacuated"].cumsum()).groupby(
        "date"
    )["cum"]
    table["observed_cum"] = table["observed"].cumsum()
    table["model_cum_mean"] = cum.mean()
    table["model_cum_low"] = cum.quantile(lo_q)
    table["model_cum_high"] = cum.quantile(hi_q)
    if "flights" in obs.columns:
        table.insert(1, "observed_flights", obs.loc[table.index, "flights"])
    else:
        table = table.drop(columns="model_flights_mean")
    table.index.name = "date"
    return table.reset_index()


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    if len(x) < 2 or np.std(x) == 0 or np.std(y) == 0:
        return math.nan
    return float(np.corrcoef(x, y)[0, 1])


def fit_metrics(daily: pd.DataFrame) -> pd.DataFrame:
    """Goodness of fit of a daily table (from :class:`Backtest`), tidy: one row per metric
    with ``model``, ``observed``, ``error`` (model - observed) and ``error_pct`` (per cent of
    observed). Units: people, people per day, days, flights; correlation and coverage are
    shares (dimensionless) in ``model``."""
    obs = daily["observed"].to_numpy(dtype=float)
    mod = daily["model_mean"].to_numpy(dtype=float)
    dates = pd.DatetimeIndex(daily["date"])
    rows: list[dict[str, Any]] = []

    def add(metric, model, observed, error, error_pct, unit):
        rows.append(
            {
                "metric": metric,
                "model": model,
                "observed": observed,
                "error": error,
                "error_pct": error_pct,
                "unit": unit,
            }
        )

    def pct(error: float, base: float) -> float:
        return 100.0 * error / base if base else math.nan

    add("days compared", float(len(daily)), float(len(daily)), 0.0, 0.0, "days")
    total_m, total_o = float(mod.sum()), float(obs.sum())
    add(
        "total evacuated",
        total_m,
        total_o,
        total_m - total_o,
        pct(total_m - total_o, total_o),
        "people",
    )
    rmse = float(np.sqrt(np.mean((mod - obs) ** 2))) if len(obs) else math.nan
    add(
        "daily RMSE",
        rmse,
        math.nan,
        rmse,
        pct(rmse, float(obs.mean()) if len(obs) else 0.0),
        "people/day",
    )
    add("daily correlation", _pearson(mod, obs), math.nan, math.nan, math.nan, "r")
    i_m, i_o = int(np.argmax(mod)), int(np.argmax(obs))
    add(
        "peak day",
        dates[i_m],
        dates[i_o],
        float((dates[i_m] - dates[i_o]).days),
        math.nan,
        "date (error in days)",
    )
    add(
        "peak size",
        float(mod[i_m]),
        float(obs[i_o]),
        float(mod[i_m] - obs[i_o]),
        pct(float(mod[i_m] - obs[i_o]), float(obs[i_o])),
        "people/day",
    )
    inside = (daily["model_low"] <= daily["observed"]) & (daily["observed"] <= daily["model_high"])
    add("days inside model band", float(inside.mean()), math.nan, math.nan, math.nan, "share")
    if "observed_flights" in daily.columns:
        known = daily["observed_flights"].notna()
        f_o = daily.loc[known, "observed_flights"].to_numpy(dtype=float)
        f_m = daily.loc[known, "model_flights_mean"].to_numpy(dtype=float)
        add(
            "total flights",
            float(f_m.sum()),
            float(f_o.sum()),
            float(f_m.sum() - f_o.sum()),
            pct(float(f_m.sum() - f_o.sum()), float(f_o.sum())),
            "flights",
        )
        add("daily flights correlation", _pearson(f_m, f_o), math.nan, math.nan, math.nan, "r")
    return pd.DataFrame(rows)


def overlay_figure(daily: pd.DataFrame, title: str = "", band: float = 0.9) -> Figure:
    """Observed against model: daily bars with the model mean and band (top) and cumulative
    totals (bottom). A matplotlib :class:`~matplotlib.figure.Figure` (no pyplot state)."""
    fig = Figure(figsize=(9, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    dates = pd.DatetimeIndex(daily["date"])
    top.bar(dates, daily["observed"], width=0.8, color="#bbbbbb", label="observed")
    top.fill_between(
        dates,
        daily["model_low"],
        daily["model_high"],
        color="#1f77b4",
        alpha=0.2,
        step=None,
        label=f"model {band:.0%} band",
    )
    top.plot(dates, daily["model_mean"], color="#1f77b4", marker="o", ms=3, label="model mean")
    top.set_ylabel("people evacuated per day")
    top.legend(loc="upper left", frameon=False)
    top.set_title(title or "Backtest: daily evacuated, model against observed")
    bottom.plot(dates, daily["observed_cum"], color="#555555", label="observed")
    bottom.plot(dates, daily["model_cum_mean"], color="#1f77b4", label="model mean")
    bottom.fill_between(
        dates,
        daily["model_cum_low"],
        daily["model_cum_high"],
        color="#1f77b4",
        alpha=0.15,
        label=f"model {band:.0%} band",
    )
    bottom.set_ylabel("cumulative evacuated")
    bottom.legend(loc="upper left", frameon=False)
    for ax in (top, bottom):
        ax.grid(True, axis="y", alpha=0.3)
        ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    fig.autofmt_xdate()
    return fig


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}"


@dataclasses.dataclass
class Backtest:
    """A scenario's replicated daily departures against an observed series.

    ``daily``: date, observed, [observed_flights,] model_mean, model_low, model_high,
    [model_flights_mean], and running totals observed_cum, model_cum_mean, model_cum_low,
    model_cum_high, on the days both cover (people, flights per day); ``runs``: every
    replication's daily series (replication, date, evacuated, flights); ``metrics``: see
    :func:`fit_metrics`; ``dropped_dates``: observed days outside the scenario;
    ``failures``: the replications that failed (replication, error), recorded in the results store
    and left out of every table; ``store``: that results folder (rerun into it to resume).
    """

    scenario_name: str
    seed: int
    replications: int
    band: float
    daily: pd.DataFrame
    runs: pd.DataFrame
    metrics: pd.DataFrame
    dropped_dates: list[dt.date]
    failures: pd.DataFrame = dataclasses.field(
        default_factory=lambda: pd.DataFrame(columns=["replication", "error"])
    )
    store: Path | None = None

    @property
    def finished(self) -> int:
        """Replications that finished (the model mean and band are over these)."""
        return int(self.runs["replication"].nunique())

    def figure(self) -> Figure:
        return overlay_figure(
            self.daily,
            f"Backtest of {self.scenario_name} ({self.replications} replications)",
            self.band,
        )

    def summary(self) -> str:
        """The fit as a plain-text table (what ``evacsim backtest`` prints)."""
        lines = [
            f"Backtest of {self.scenario_name}: {self.replications} replications, root seed "
            f"{self.seed}; model band = central {self.band:.0%}",
            "",
            f"{'metric':<28}{'model':>14}{'observed':>14}{'error':>12}{'error %':>10}",
        ]
        for row in self.metrics.itertuples(index=False):
            lines.append(
                f"{row.metric:<28}{_fmt(row.model):>14}{_fmt(row.observed):>14}"
                f"{_fmt(row.error):>12}{_fmt(row.error_pct, pct=True):>10}"
            )
        if self.dropped_dates:
            lines += [
                "",
                "Observed days outside the scenario, not compared: "
                + ", ".join(str(d) for d in self.dropped_dates),
            ]
        lines += failure_lines(self.failures, self.replications)
        return "\n".join(lines)

    def metric(self, name: str) -> pd.Series:
        """One row of :attr:`metrics` by name."""
        rows = self.metrics[self.metrics["metric"] == name]
        if rows.empty:
            raise KeyError(
                f"unknown metric '{name}' (expected one of: {', '.join(self.metrics['metric'])})"
            )
        return rows.iloc[0]

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write metrics.csv, daily.csv, runs.csv and overlay.png into ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.metrics.to_csv(out / "metrics.csv", index=False)
        self.daily.to_csv(out / "daily.csv", index=False)
        self.runs.to_csv(out / "runs.csv", index=False)
        self.failures.to_csv(out / "failures.csv", index=False)
        self.figure().savefig(out / "overlay.png", dpi=120)
        return out


def failure_lines(failures: pd.DataFrame, requested: int) -> list[str]:
    """The summary's lines on failed replications (none when every one finished)."""
    if failures.empty:
        return []
    lines = [
        "",
        f"{len(failures)} of {requested} replication(s) failed and are left out "
        "(recorded in the results folder):",
    ]
    lines += [f"  replication {r.replication}: {r.error}" for r in failures.head(10).itertuples()]
    return lines


def _fmt(value: Any, pct: bool = False) -> str:
    if isinstance(value, pd.Timestamp | dt.date):
        return str(pd.Timestamp(value).date())
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if pct:
        return f"{value:+.1f}"
    if abs(value) >= 100 or float(value).is_integer():
        return f"{value:,.0f}"
    return f"{value:.3f}"


def _as_observed(observed: pd.DataFrame | str | os.PathLike[str]) -> pd.DataFrame:
    if isinstance(observed, pd.DataFrame):
        return validate_observed(observed)
    return read_observed(observed)


def _overlap(scenario: Scenario, observed: pd.DataFrame, file: str) -> tuple[pd.DataFrame, list]:
    days = model_days(scenario)
    inside = observed["date"].isin(days)
    dropped = [d.date() for d in observed.loc[~inside, "date"]]
    if not inside.any():
        raise ObservedDataError(
            [
                Problem(
                    file,
                    "date",
                    f"no observed day falls within the scenario's days "
                    f"{days[0].date()}..{days[-1].date()} (expected dates in that range)",
                )
            ]
        )
    if dropped:
        log.warning(
            "observed days outside the scenario ignored: %s", ", ".join(str(d) for d in dropped)
        )
    return observed[inside].reset_index(drop=True), dropped


def _from_runs(
    scenario: Scenario,
    observed: pd.DataFrame,
    runs: pd.DataFrame,
    seed: int,
    replications: int,
    band: float,
    dropped: list,
    failures: pd.DataFrame,
    store: ResultStore,
) -> Backtest:
    if runs.empty:
        first = failures["error"].iloc[0] if len(failures) else "no replication ran"
        raise ReplicationsFailed(
            f"all {replications} replications of {scenario.name} failed (first: {first})", failures
        )
    daily = _daily_table(runs, observed, band)
    return Backtest(
        scenario.name,
        seed,
        replications,
        band,
        daily,
        runs,
        fit_metrics(daily),
        dropped,
        failures,
        None if store.temporary else store.root,
    )


def backtest(
    scenario: Scenario | str | os.PathLike[str],
    observed: pd.DataFrame | str | os.PathLike[str],
    *,
    seed: int = 0,
    replications: int = 10,
    band: float = 0.9,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = False,
) -> Backtest:
    """Compare ``replications`` runs of ``scenario`` with an observed daily series.

    ``observed`` is a CSV path or a table with columns date, evacuated[, flights]. Only the
    days both cover are compared (others are listed in ``dropped_dates``). ``band`` is the
    central share of replications in the model band (0.9: 5th to 95th percentile).
    Replications run as in every experiment: seeded by :class:`ReplicationKey`, on
    ``engine`` (an :class:`evacsim.experiments.Engine` or its name; default sequential),
    each written to the results store ``out`` as it finishes (a rerun into the same folder
    skips those already there). A replication that fails is recorded there and left out of
    the tables (:attr:`Backtest.failures`); :class:`ReplicationsFailed` if none finished.
    """
    if not 0 < band < 1:
        raise ValueError(f"band must be between 0 and 1, got {band}")
    if replications < 1:
        raise ValueError(f"replications must be 1 or more, got {replications}")
    sc = as_scenario(scenario)
    obs = _as_observed(observed)
    obs, dropped = _overlap(
        sc, obs, str(observed) if not isinstance(observed, pd.DataFrame) else "<observed>"
    )
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    eng, own = _own_engine(engine, workers, scheduler)
    try:
        _replicated(sc, seed, replications, store, eng, progress, "backtest")
    finally:
        if own:
            eng.close()
    runs, failures = _stored_runs(sc, seed, replications, store)
    result = _from_runs(sc, obs, runs, seed, replications, band, dropped, failures, store)
    log.info(
        "backtest of %s: %d days, total error %.1f %%",
        sc.name,
        len(result.daily),
        result.metric("total evacuated")["error_pct"],
    )
    return result


# ------------------------------------------------------------------------------ calibration


@dataclasses.dataclass(frozen=True)
class Parameter:
    """An input to fit: ``path`` (dotted, as in the scenario file) searched over
    ``[low, high]``. With ``scale``, the value multiplies every number at the path (a whole
    step profile, say); otherwise it replaces the value there. ``integer`` and ``duration``
    say how values are written (whole numbers; hours written as a duration)."""

    path: str
    low: float
    high: float
    scale: bool = False
    integer: bool = False
    duration: bool = False

    @property
    def label(self) -> str:
        return f"{self.path}*" if self.scale else self.path

    @property
    def unit(self) -> str:
        if self.scale:
            return "x"
        return "h" if self.duration else ""

    def grid(self, low: float, high: float, points: int) -> np.ndarray:
        """``points`` values spread evenly over ``[low, high]`` (whole numbers if integer)."""
        if self.integer:
            lo, hi = math.ceil(low - 1e-9), math.floor(high + 1e-9)
            if hi - lo + 1 <= points:
                return np.arange(lo, hi + 1, dtype=float)
            return np.unique(np.round(np.linspace(lo, hi, points)))
        return np.linspace(low, high, points)


def parse_parameter(text: str) -> Parameter:
    """Parse ``PATH=LO..HI`` (set the value) or ``PATH*=LO..HI`` (scale every number at the
    path), in the lever language (:mod:`evacsim.scenario.levers`); ``LO:HI`` is read too.
    Bounds may be durations (``3min..12min``). Raises ValueError naming the mistake."""
    from .levers import LeverSyntaxError, Range, parse_lever

    expected = (
        "expected PATH=LO..HI, e.g. screening.lanes=10..80, or PATH*=LO..HI to scale a profile"
    )
    head, sep, tail = text.partition("=")
    if sep and ".." not in tail and tail.count(":") == 1:  # the older spelling LOW:HIGH
        text = f"{head}={tail.replace(':', '..')}"
    try:
        lever = parse_lever(text, several=True, example="screening.lanes=10..80")
    except LeverSyntaxError as exc:
        raise ValueError(f"'{text}' is not a parameter ({exc}; {expected})") from None
    if not isinstance(lever.value, Range):
        raise ValueError(f"'{text}' is not a parameter ({expected})")
    if lever.mode == "add":
        raise ValueError(f"{lever.path}: calibration sets or scales a value ({expected})")
    duration = False
    values = []
    for bound in (lever.value.low, lever.value.high):
        if isinstance(bound, int | float) and not isinstance(bound, bool):
            values.append(float(bound))
            continue
        try:
            values.append(parse_duration(str(bound)))
            duration = True
        except ValueError:
            raise ValueError(
                f"{lever.path}: bound '{bound}' is not a number or a duration "
                "(expected e.g. 10..80 or 3min..12min)"
            ) from None
    low, high = values
    if not low < high:
        raise ValueError(f"{lever.path}: expected LO < HI, got {lever.value}")
    return Parameter(lever.path, low, high, scale=lever.mode == "scale", duration=duration)


def resolve_parameters(
    scenario: Scenario, parameters: Sequence[Parameter], source: str = "--param"
) -> list[Parameter]:
    """Check each parameter's path against the scenario and note how its values are written
    (whole numbers, durations). Raises :class:`ScenarioError` listing every problem."""
    from .levers import PathError, get_path

    data = scenario.model_dump(mode="json", by_alias=True)
    problems: list[Problem] = []
    resolved: list[Parameter] = []
    for i, param in enumerate(parameters, start=1):
        try:
            current = get_path(data, param.path)
        except PathError as exc:
            problems.append(Problem(source, param.path, exc.message, i))
            continue
        if param.scale:
            if param.low < 0:
                problems.append(Problem(source, param.path, "a scale factor must be 0 or more", i))
            resolved.append(dataclasses.replace(param, integer=False, duration=False))
            continue
        if isinstance(current, dict | list):
            problems.append(
                Problem(
                    source,
                    param.path,
                    "is a step profile or range: scale it "
                    f"with {param.path}*=LO..HI, or name one step",
                    i,
                )
            )
            continue
        is_duration = isinstance(current, str)
        if is_duration:
            try:
                parse_duration(current)
            except ValueError:
                problems.append(
                    Problem(
                        source,
                        param.path,
                        f"holds the text '{current}', not a number or a duration",
                        i,
                    )
                )
                continue
        elif isinstance(current, bool):
            problems.append(Problem(source, param.path, "is a yes/no field, not a number", i))
            continue
        resolved.append(
            dataclasses.replace(
                param, integer=isinstance(current, int), duration=is_duration or param.duration
            )
        )
    if problems:
        raise ScenarioError(problems)
    return resolved


def with_parameters(
    scenario: Scenario, parameters: Sequence[Parameter], values: Sequence[float]
) -> Scenario:
    """The scenario with each parameter set to (or scaled by) its value, validated again."""
    from .levers import Lever, apply_levers

    levers = []
    for param, value in zip(parameters, values, strict=True):
        if param.scale:
            levers.append(Lever(param.path, float(value), "scale"))
        elif param.duration:
            levers.append(Lever(param.path, format_duration(float(value)), "set"))
        elif param.integer:
            levers.append(Lever(param.path, int(round(value)), "set"))
        else:
            levers.append(Lever(param.path, float(value), "set"))
    return apply_levers(scenario, levers, source="--param")


@dataclasses.dataclass
class Calibration:
    """Fitted parameters, their uncertainty, every evaluated point and the fit at the best.

    ``estimates``: parameter, fitted, low, high, unit, at_bound (the interval reaches a
    search bound). ``evaluations``: one row per design point (round, one column per
    parameter, sse, failed replications, in_region; a point whose every replication failed
    has sse NaN and is not scored). ``backtest``: the fit at the fitted values (the same
    runs). ``failed``: replications that failed over all points (left out of the means).
    """

    parameters: list[Parameter]
    estimates: pd.DataFrame
    evaluations: pd.DataFrame
    sse_min: float
    threshold: float
    days: int
    confidence: float
    replications: int
    seed: int
    scenario: Scenario
    backtest: Backtest
    method: str
    failed: int = 0

    def fitted(self) -> dict[str, float]:
        """Fitted value by parameter label."""
        return dict(zip(self.estimates["parameter"], self.estimates["fitted"], strict=True))

    def summary(self) -> str:
        """Fitted values, intervals and the fit, as plain text (what ``evacsim calibrate``
        prints)."""
        lines = [
            f"Calibration of {self.scenario.name}",
            f"Method: {self.method}",
            "",
            *estimate_lines(self.estimates),
        ]
        lines += [
            "",
            f"{len(self.evaluations)} points evaluated; S_min = {self.sse_min:.5g}, "
            f"region S <= {self.threshold:.5g} ({self.confidence:.0%})",
        ]
        if self.failed:
            lines.append(
                f"{self.failed} of {len(self.evaluations) * self.replications} "
                "replications failed and are left out of the points' means "
                "(column 'failed' of evaluations.csv)"
            )
        lines += ["", "Fit at the fitted values:", self.backtest.summary()]
        return "\n".join(lines)

    def profile_figure(self) -> Figure:
        """S(theta) of every evaluated point against each parameter, with the region's
        threshold: how well determined each parameter is."""
        p = len(self.parameters)
        fig = Figure(figsize=(4.5 * p, 3.6), layout="constrained")
        axes = np.atleast_1d(fig.subplots(1, p))
        ev = self.evaluations
        for ax, param in zip(axes, self.parameters, strict=True):
            inside = ev["in_region"]
            ax.scatter(
                ev.loc[~inside, param.label],
                ev.loc[~inside, "sse"],
                s=14,
                color="#999999",
                label="outside region",
            )
            ax.scatter(
                ev.loc[inside, param.label],
                ev.loc[inside, "sse"],
                s=18,
                color="#1f77b4",
                label=f"{self.confidence:.0%} region",
            )
            ax.axhline(self.threshold, color="#d62728", lw=1, ls="--", label="threshold")
            ax.set_yscale("log")
            ax.set_xlabel(f"{param.label} ({param.unit})" if param.unit else param.label)
            ax.set_ylabel("sum of squared daily errors")
            ax.grid(True, alpha=0.3)
        axes[0].legend(frameon=False, fontsize=8)
        fig.suptitle("Calibration: least-squares profile")
        return fig

    def write(self, out_dir: str | os.PathLike[str]) -> Path:
        """Write estimates.csv, evaluations.csv, fitted_scenario.yaml, profile.png and the
        backtest at the fitted values (metrics.csv, daily.csv, runs.csv, overlay.png)."""
        out = self.backtest.write(out_dir)
        self.estimates.to_csv(out / "estimates.csv", index=False)
        self.evaluations.to_csv(out / "evaluations.csv", index=False)
        with open(out / "fitted_scenario.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(
                self.scenario.model_dump(mode="json", by_alias=True),
                fh,
                sort_keys=False,
                allow_unicode=True,
            )
        self.profile_figure().savefig(out / "profile.png", dpi=120)
        return out


def estimate_lines(estimates: pd.DataFrame) -> list[str]:
    """The table of fitted values and intervals as plain text lines (header first), flagging
    an interval that reaches a search bound: shared by both kinds of calibration."""
    lines = [f"{'parameter':<44}{'fitted':>12}{'low':>12}{'high':>12}  unit"]
    for row in estimates.itertuples(index=False):
        flag = "  (interval reaches a search bound)" if row.at_bound else ""
        lines.append(
            f"{row.parameter:<44}{row.fitted:>12.5g}{row.low:>12.5g}"
            f"{row.high:>12.5g}  {row.unit}{flag}"
        )
    return lines


def _default_points(p: int) -> int:
    return {1: 9, 2: 5}.get(p, 3)


def calibrate(
    scenario: Scenario | str | os.PathLike[str],
    observed: pd.DataFrame | str | os.PathLike[str],
    parameters: Sequence[Parameter | str],
    *,
    seed: int = 0,
    replications: int = 4,
    points: int | None = None,
    rounds: int = 3,
    confidence: float = 0.95,
    band: float = 0.9,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = False,
) -> Calibration:
    """Fit ``parameters`` to the observed daily evacuated series by least squares over
    replicated runs (see the module docstring for the method and its assumptions).

    Args:
        scenario: a Scenario or a scenario file.
        observed: a CSV path or table (date, evacuated[, flights]).
        parameters: :class:`Parameter` objects or ``PATH=LO..HI`` / ``PATH*=LO..HI``.
        seed: root seed; every design point uses replications ``0..replications-1`` of it
            (common random numbers).
        replications: runs per design point (the model mean is over them).
        points: grid points per parameter per round (default 9 for one parameter, 5 for
            two, 3 for more: a full factorial of ``points ** p``).
        rounds: 1 + the number of zooms around the best point.
        confidence: level of the F-based confidence region.
        band: central share of replications in the backtest band.
        engine: an :class:`evacsim.experiments.Engine` or its name (default sequential);
            ``workers`` and ``scheduler`` as for :func:`evacsim.replicate`.
        out: results folder (or store) every replication of every point is written to as
            it finishes; a rerun into it skips what is there (resumable). Failed
            replications are recorded there and left out of the points' means.

    Returns:
        :class:`Calibration`.
    """
    sc = as_scenario(scenario)
    obs = _as_observed(observed)
    obs, dropped = _overlap(
        sc, obs, str(observed) if not isinstance(observed, pd.DataFrame) else "<observed>"
    )
    params = [parse_parameter(p) if isinstance(p, str) else p for p in parameters]
    if not params:
        raise ValueError("calibration needs at least one parameter")
    params = resolve_parameters(sc, params)
    p, n = len(params), len(obs)
    if n <= p:
        raise ValueError(
            f"{n} observed days cannot determine {p} parameters (need more days than parameters)"
        )
    if rounds < 1 or replications < 1:
        raise ValueError("rounds and replications must be 1 or more")
    points = points or _default_points(p)
    if points < 2:
        raise ValueError(f"points must be 2 or more, got {points}")
    days = model_days(sc)
    keep = days.isin(obs["date"])
    target = obs.set_index("date").loc[days[keep], "evacuated"].to_numpy(dtype=float)

    evaluated: dict[tuple[float, ...], dict[str, Any]] = {}
    box = [(param.low, param.high) for param in params]
    steps = [0.0] * p
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    eng, own = _own_engine(engine, workers, scheduler)
    try:
        for rnd in range(1, rounds + 1):
            axes = [param.grid(lo, hi, points) for param, (lo, hi) in zip(params, box, strict=True)]
            steps = [
                float(np.min(np.diff(a))) if len(a) > 1 else steps[i] for i, a in enumerate(axes)
            ]
            design = [tuple(float(v) for v in point) for point in itertools.product(*axes)]
            todo = {
                pt: with_parameters(sc, params, pt)
                for pt in dict.fromkeys(design)
                if pt not in evaluated
            }
            # Every point runs the same replications (common random numbers), into one store.
            jobs = (
                (scen, ReplicationKey(scenario_hash(scen), seed, r))
                for scen in todo.values()
                for r in range(replications)
            )
            with Progress(len(todo) * replications, f"calibrate round {rnd}", progress) as bar:
                execute(jobs, eng, store, bar)
            for pt, scen in todo.items():
                runs, failures = _stored_runs(scen, seed, replications, store)
                if runs.empty:  # every replication failed: the point cannot be scored
                    sse = math.nan
                else:
                    mean = runs.groupby("date")["evacuated"].mean().reindex(days)
                    sse = float(np.sum((mean.to_numpy()[keep] - target) ** 2))
                evaluated[pt] = {"round": rnd, "sse": sse, "runs": runs, "failures": failures}
                log.info("calibrate round %d: %s -> S = %.4g", rnd, pt, sse)
            scored = [k for k in evaluated if math.isfinite(evaluated[k]["sse"])]
            if not scored:
                failures = pd.concat([v["failures"] for v in evaluated.values()])
                first = failures["error"].iloc[0] if len(failures) else "none ran"
                raise ReplicationsFailed(
                    f"every replication of every calibration point failed (first: {first})",
                    failures,
                )
            best = min(scored, key=lambda k: evaluated[k]["sse"])
            # Zoom: the next grid spans two of this round's steps either side of the best.
            box = [
                (max(param.low, b - 2 * s), min(param.high, b + 2 * s))
                for param, b, s in zip(params, best, steps, strict=True)
            ]
    finally:
        if own:
            eng.close()

    failed = sum(len(v["failures"]) for v in evaluated.values())
    sse_min = evaluated[best]["sse"]
    f_crit = float(stats.f.ppf(confidence, p, n - p))
    threshold = sse_min * (1.0 + p / (n - p) * f_crit)
    labels = [param.label for param in params]
    evaluations = pd.DataFrame(
        [
            {
                "round": v["round"],
                **dict(zip(labels, pt, strict=True)),
                "sse": v["sse"],
                "failed": len(v["failures"]),
            }
            for pt, v in evaluated.items()
        ]
    ).sort_values(["round", *labels], ignore_index=True)
    evaluations["in_region"] = evaluations["sse"] <= threshold
    region = evaluations[evaluations["in_region"]]
    rows = []
    for i, param in enumerate(params):
        # Whole numbers all evaluated (step 1) need no widening: the region is what it is.
        widen = 0.0 if param.integer and steps[i] <= 1 else steps[i]
        low = max(param.low, float(region[param.label].min()) - widen)
        high = min(param.high, float(region[param.label].max()) + widen)
        at_bound = low <= param.low + 1e-12 or high >= param.high - 1e-12
        rows.append(
            {
                "parameter": param.label,
                "fitted": best[i],
                "low": low,
                "high": high,
                "unit": param.unit,
                "at_bound": bool(at_bound),
            }
        )
    estimates = pd.DataFrame(rows)
    fitted = with_parameters(sc, params, best)
    fit = _from_runs(
        fitted,
        obs,
        evaluated[best]["runs"],
        seed,
        replications,
        band,
        dropped,
        evaluated[best]["failures"],
        store,
    )
    method = (
        f"least squares on {n} daily totals; model mean of {replications} replications per "
        f"point (common random numbers, seed {seed}); {rounds} round(s) of a {points}-point "
        f"grid per parameter, zooming on the best; {confidence:.0%} F-region "
        f"S <= S_min (1 + {p}/{n - p} F({p},{n - p})) = {threshold:.4g}"
    )
    if failed:
        log.warning(
            "calibrate: %d of %d replications failed and were left out",
            failed,
            len(evaluated) * replications,
        )
    return Calibration(
        params,
        estimates,
        evaluations,
        sse_min,
        threshold,
        n,
        confidence,
        replications,
        seed,
        fitted,
        fit,
        method,
        failed,
    )
