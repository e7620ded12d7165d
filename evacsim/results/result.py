"""Results of one run: tidy pandas DataFrames, summary KPIs and provenance.

Components record small things as the run goes (levels folded into hourly bins, tallies,
flight and group records); this module is the edge where they become DataFrames in long
format with real date-times, and where they are written to disk.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import importlib.util
import math
import platform
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evacsim.model.convoys import ConvoyRecord
from evacsim.model.demand import Stage
from evacsim.model.flights import FlightRecord
from evacsim.model.ledger import WAIT_STAGES, GroupRecord
from evacsim.model.model import Model, collector_paused

from .days import day_label, day_starts_h, hour_weights

__all__ = ["RunResult", "collect"]

_STAGE_NAMES = {
    Stage.OUTSIDE: "outside",
    Stage.SCREENING: "screening",
    Stage.INSIDE: "inside_waiting",
    Stage.ABOARD: "aboard",
}


def _version() -> str:
    from evacsim.version import __version__

    return __version__


@dataclasses.dataclass
class RunResult:
    """Everything one run produced.

    DataFrames (times are local date-times at the airport, hourly unless named daily; a
    ``date`` or ``day`` is a reporting day, labelled by the date on which it starts, see
    :mod:`evacsim.results.days`):

    * ``evacuated``: people departed per hour by category, operator and destination, with the
      reporting ``day`` of those departures;
    * ``backlog``: people per stage (outside, screening, inside_waiting, aboard, staging:BASE)
      and category: ``mean`` over the hour and ``end`` level at its end;
    * ``ground``: troops on the ground, aircraft on the ground, lanes manned (same columns);
    * ``flights``: one row per flight (``day``: reporting day of its departure);
      ``groups``: one row per group (if records were kept);
    * ``utilisation``: per reporting day and constrained resource, utilisation (0-1) and
      hours full;
    * ``left_behind``: people not evacuated at the deadline, by category and where they were;
    * ``waits``: waiting-time statistics (hours) by category and stage;
    * ``events``: the timeline as it happened;
    * ``convoys``: one row per convoy departure, when the scenario has convoys (departed,
      arrived, people carried, status arrived / turned_back / on_road at the deadline); the
      backlog then also has ``assembly:POINT`` and ``on_road:CONVOY`` stages.
    """

    scenario_name: str
    seed: Any
    kpis: dict[str, float]
    evacuated: pd.DataFrame
    backlog: pd.DataFrame
    ground: pd.DataFrame
    flights: pd.DataFrame
    groups: pd.DataFrame | None
    utilisation: pd.DataFrame
    left_behind: pd.DataFrame
    waits: pd.DataFrame
    events: pd.DataFrame
    provenance: dict[str, Any]
    convoys: pd.DataFrame | None = None  # one row per convoy departure (scenarios with convoys)

    # -- views ------------------------------------------------------------------------------

    @property
    def reporting_day_starts_h(self) -> float:
        """When this run's reporting days start (hours after local midnight)."""
        return day_starts_h(self.provenance.get("resolved_scenario"))

    def evacuated_daily(self, by: str | list[str] = "category") -> pd.DataFrame:
        """People evacuated per reporting day (``date``: its label, see
        :mod:`evacsim.results.days`), by ``category``/``operator``/``destination``."""
        by = [by] if isinstance(by, str) else list(by)
        frame = self.evacuated
        if "day" not in frame:  # tables written before the column existed: by the hour
            frame = frame.assign(day=day_label(frame["time"], self.reporting_day_starts_h))
        frame = frame.rename(columns={"day": "date"})
        return frame.groupby(["date", *by], as_index=False)["people"].sum()

    def by_operator(self) -> pd.DataFrame:
        """One row per operator (a nation or charter): evacuation flights departed, seats
        they offered, people carried in all and by category (``people.<category>``), their
        mean load factor and the seats they flew empty (seats - evacuees - troops aboard).

        Flights that carried no one by design (``seats`` 0: troops only) are not evacuation
        flights and are left out. Operators that flew nothing still get a row of zeros.
        """
        spec = self.provenance.get("resolved_scenario") or {}
        operators = list(spec.get("operators", {}))
        categories = list(spec.get("demand", {}))
        flights = self.flights
        evac = flights[(flights["status"] == "departed") & (flights["seats"] > 0)]
        operators += [op for op in dict.fromkeys(evac["operator"]) if op not in operators]
        carried = self.evacuated.groupby(["operator", "category"])["people"].sum()
        categories += [c for c in dict.fromkeys(self.evacuated["category"]) if c not in categories]
        rows = []
        for op in operators:
            mine = evac[evac["operator"] == op]
            aboard = (mine["boarded"] + mine["troops_out"]).clip(upper=mine["seats"])
            row = {
                "operator": op,
                "flights": len(mine),
                "seats": int(mine["seats"].sum()),
                "people": int(mine["boarded"].sum()),
            }
            for cat in categories:
                row[f"people.{cat}"] = int(carried.get((op, cat), 0))
            row["mean_load_factor"] = float(mine["load_factor"].mean()) if len(mine) else (math.nan)
            row["seats_empty"] = int((mine["seats"] - aboard).sum())
            rows.append(row)
        return pd.DataFrame(
            rows,
            columns=[
                "operator",
                "flights",
                "seats",
                "people",
                *(f"people.{c}" for c in categories),
                "mean_load_factor",
                "seats_empty",
            ],
        )

    def kpi_table(self) -> pd.DataFrame:
        return pd.DataFrame({"kpi": list(self.kpis), "value": list(self.kpis.values())})

    def summary(self) -> str:
        """A plain-text summary table of the headline KPIs."""
        k = self.kpis
        lines = [
            f"Scenario: {self.scenario_name}   seed: {self.seed}",
            "",
            f"{'Evacuated':<34}{k['evacuated']:>12,.0f}",
            f"{'Left behind (arrived, not out)':<34}{k['left_behind']:>12,.0f}",
            f"{'  outside the gates':<34}{k['left_behind.outside']:>12,.0f}",
            f"{'  in screening':<34}{k['left_behind.screening']:>12,.0f}",
            f"{'  inside waiting':<34}{k['left_behind.inside_waiting']:>12,.0f}",
            f"{'  aboard, not departed':<34}{k['left_behind.aboard']:>12,.0f}",
            f"{'  gave up (away)':<34}{k['left_behind.away']:>12,.0f}",
            f"{'Turned away at screening':<34}{k['turned_away']:>12,.0f}",
            f"{'Never reached the airport':<34}{k['never_arrived']:>12,.0f}",
            f"{'Peak 24 h evacuated':<34}{k['peak_24h_evacuated']:>12,.0f}",
            f"{'Peak backlog outside':<34}{k['peak_backlog.outside']:>12,.0f}",
            f"{'Peak waiting inside':<34}{k['peak_backlog.inside_waiting']:>12,.0f}",
            f"{'Flights departed':<34}{k['flights_departed']:>12,.0f}",
            f"{'Mean load factor':<34}{k['mean_load_factor']:>12.2f}",
            f"{'Median time to departure (h)':<34}{k['wait_total_p50_h']:>12.1f}",
            f"{'90th pct time to departure (h)':<34}{k['wait_total_p90_h']:>12.1f}",
            "",
            "Evacuated by category:",
        ]
        for key, value in k.items():
            if key.startswith("evacuated."):
                lines.append(f"  {key[len('evacuated.') :]:<32}{value:>12,.0f}")
        return "\n".join(lines)

    # -- writing ----------------------------------------------------------------------------

    def tables(self) -> dict[str, pd.DataFrame]:
        tables = {
            "kpis": self.kpi_table(),
            "evacuated_hourly": self.evacuated,
            "evacuated_daily": self.evacuated_daily(["category", "operator", "destination"]),
            "backlog": self.backlog,
            "ground": self.ground,
            "flights": self.flights,
            "utilisation": self.utilisation,
            "left_behind": self.left_behind,
            "waits": self.waits,
            "events": self.events,
        }
        if self.groups is not None:
            tables["groups"] = self.groups
        if self.convoys is not None:
            tables["convoys"] = self.convoys
        return tables

    def write(self, out_dir: str | Path, parquet: bool | None = None) -> Path:
        """Write every table as CSV (and Parquet where pyarrow is present) plus provenance."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        if parquet is None:
            parquet = importlib.util.find_spec("pyarrow") is not None
        for name, frame in self.tables().items():
            frame.to_csv(out / f"{name}.csv", index=False)
            if parquet:
                frame.to_parquet(out / f"{name}.parquet", index=False)
        with open(out / "provenance.yaml", "w", encoding="utf-8") as fh:
            yaml.safe_dump(self.provenance, fh, sort_keys=False, allow_unicode=True)
        return out


# ------------------------------------------------------------------------------- collecting


def _hour_index(start: dt.datetime, n: int) -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="h")


def collect(model: Model) -> RunResult:
    """Turn a finished model's records into a :class:`RunResult`.

    Built with the garbage collector paused, as the run is (see
    :func:`evacsim.model.model.collector_paused`).
    """
    if not model.ran:
        raise RuntimeError("run the model before asking for its results")
    with collector_paused():
        return _collect(model)


def _collect(model: Model) -> RunResult:
    s = model.scenario
    led = model.ledger
    names = model.categories
    start = s.start
    n_hours = math.ceil(model.horizon_h - 1e-9)
    hours = _hour_index(start, n_hours)
    to_time = lambda h: pd.NaT if (h is None or np.isnan(h)) else start + dt.timedelta(hours=h)  # noqa: E731

    day_starts_h = s.reporting_day_starts

    # Evacuated per hour by category, operator, destination, and the reporting day of the
    # departures (from their minute: an hour in which a day starts can have a row for each).
    last_minute = max(0, math.ceil(model.horizon_h * 60 - 1e-6) - 1)
    minutes = np.fromiter(
        (min(m, last_minute) for (m, _c, _op, _dest) in model.flights.departures),
        dtype=np.int64,
        count=len(model.flights.departures),
    )
    departed = pd.DataFrame(
        [
            (names[c], op, dest, people)
            for (_m, c, op, dest), people in model.flights.departures.items()
        ],
        columns=["category", "operator", "destination", "people"],
    ).astype({"people": "int64"})
    departed.insert(0, "time", hours.take(np.minimum(minutes // 60, n_hours - 1)))
    departed.insert(
        1,
        "day",
        day_label(pd.Timestamp(start) + pd.to_timedelta(minutes, unit="min"), day_starts_h),
    )
    evacuated = (
        departed.groupby(["time", "day", "category", "operator", "destination"], sort=True)[
            "people"
        ]
        .sum()
        .reset_index()
    )

    # Backlog by stage and category, and staging bases.
    backlog = _levels_frame(
        hours,
        [
            ({"category": name, "stage": _STAGE_NAMES[stage]}, level)
            for stage, levels in led.backlog.items()
            for name, level in zip(names, levels, strict=True)
        ]
        + [
            ({"category": "all", "stage": f"staging:{name}"}, base.occupancy)
            for name, base in model.bases.items()
        ]
        + [
            ({"category": "all", "stage": f"assembly:{name}"}, point.present_level)
            for name, point in model.assembly_points.items()
        ]
        + [
            ({"category": "all", "stage": f"on_road:{name}"}, level)
            for name, level in (model.convoys.road_level.items() if model.convoys else ())
        ],
    )
    ground = _levels_frame(
        hours,
        [
            ({"series": "troops_on_ground"}, model.forces.on_ground),
            ({"series": "aircraft_on_ground"}, model.airfield.on_ground),
            ({"series": "lanes_manned"}, model.screening.manned_level),
            *[({"series": f"gate_open:{name}"}, g.available) for name, g in model.gates.items()],
        ],
    )

    flights = pd.DataFrame(
        sorted(model.flights.records.values()),  # FlightRecord tuples
        columns=list(FlightRecord._fields),
    )
    for col in ("slot_h", "t_land", "t_board", "t_depart"):
        name = col.removesuffix("_h").replace("t_", "") if col != "slot_h" else "slot"
        flights[name] = _times(start, flights[col])
    flights = flights.rename(columns={"land": "landed", "board": "boarding", "depart": "departed"})
    flights["day"] = day_label(flights["departed"], day_starts_h)
    flights["load_factor"] = np.where(
        flights["seats"] > 0,
        (flights["boarded"] + flights["troops_out"]) / flights["seats"].clip(lower=1),
        np.nan,
    )

    groups = None
    if led.keep_records:
        columns = list(GroupRecord._fields)
        groups = pd.DataFrame(led.record_columns() if led.records else [], columns=columns)
        if not groups.empty:
            for col in ("t_arrive", "t_gate", "t_screened", "t_board", "t_depart"):
                groups[col.replace("t_", "") + "_time"] = _times(start, groups[col])

    utilisation = _utilisation(model, hours)
    left = _left_behind(model)
    waits = pd.DataFrame(
        [
            (name, stage, t.n, t.mean, *t.quantiles([0.5, 0.9, 0.95]))
            for stage in WAIT_STAGES
            for name, t in zip(names, led.waits[stage], strict=True)
        ],
        columns=["category", "stage", "people", "mean_h", "p50_h", "p90_h", "p95_h"],
    )
    events = pd.DataFrame(
        [
            {
                "name": r.name,
                "type": r.type,
                "time": to_time(r.t_h),
                "until": to_time(r.until_h),
                "detail": r.detail,
            }
            for r in model.timeline.records
        ],
        columns=["name", "type", "time", "until", "detail"],
    )
    kpis = _kpis(model, evacuated, backlog, flights, left, n_hours)
    convoys = _convoys(model, to_time, kpis)
    provenance = {
        "scenario": s.name,
        "seed": _seed_repr(model.seed),
        "evacsim_version": _version(),
        "wall_time_s": round(model.wall_s, 4),
        "created_utc": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "packages": dict(_package_versions()),
        "keep_records": led.keep_records,
        "resolved_scenario": s.model_dump(mode="json", by_alias=True),
    }
    return RunResult(
        scenario_name=s.name,
        seed=_seed_repr(model.seed),
        kpis=kpis,
        evacuated=evacuated,
        backlog=backlog,
        ground=ground,
        flights=flights,
        groups=groups,
        utilisation=utilisation,
        left_behind=left,
        waits=waits,
        events=events,
        provenance=provenance,
        convoys=convoys,
    )


def _convoys(model, to_time, kpis: dict[str, float]) -> pd.DataFrame | None:
    """The convoys table (and its KPIs), for a scenario with convoys."""
    if model.convoys is None:
        return None
    records = sorted(model.convoys.records, key=lambda r: (r.convoy, r.departure))
    table = pd.DataFrame(records, columns=ConvoyRecord._fields)
    table["departed"] = [to_time(t) for t in table["t_depart"]]
    table["arrived"] = [to_time(t) for t in table["t_arrive"]]
    status = table["status"]
    kpis["convoys_departed"] = float(len(table))
    kpis["convoys_arrived"] = float((status == "arrived").sum())
    kpis["convoys_turned_back"] = float((status == "turned_back").sum())
    kpis["convoy_people_delivered"] = float(table.loc[status == "arrived", "people"].sum())
    at_points, on_road, _ = model.people_before_perimeter()
    kpis["left_behind.assembly_point"] = float(sum(at_points))
    kpis["left_behind.on_road"] = float(sum(on_road))
    return table


def _times(start: dt.datetime, hours: pd.Series) -> pd.Series:
    """Date-times from hours since ``start`` (NaN hours become NaT), vectorised."""
    return pd.Timestamp(start) + pd.to_timedelta(hours.astype(float), unit="h")


def _seed_repr(seed) -> Any:
    if isinstance(seed, np.random.SeedSequence):
        return {"entropy": int(seed.entropy), "spawn_key": list(seed.spawn_key)}
    return int(seed) if isinstance(seed, int | np.integer) else seed


@functools.cache
def _package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for pkg in ("simpy", "numpy", "pandas", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:  # pragma: no cover - all are dependencies
            out[pkg] = "missing"
    return out


def _levels_frame(hours: pd.DatetimeIndex, series: list[tuple[dict, Any]]) -> pd.DataFrame:
    """One long table of hourly levels: time, the labels, mean and end of each hour."""
    n = len(hours)
    columns: dict[str, Any] = {"time": np.tile(hours.to_numpy(), len(series))}
    for key in series[0][0]:
        columns[key] = np.repeat([labels[key] for labels, _ in series], n)
    columns["mean"] = _tidy(np.concatenate([level.mean_per_bin()[:n] for _, level in series]))
    columns["end"] = _tidy(np.concatenate([level.at_bin_end()[:n] for _, level in series]))
    return pd.DataFrame(columns)


RESIDUE = 1e-6
"""Float residue (people, hours): a level is the running sum of its changes, and fractional
changes (onward flights at a rate per hour, hour shares) can leave it at -1.8e-12 where it is
0. Values closer to zero than this are zero in the tables; nothing real is that small."""


def _tidy(values: np.ndarray) -> np.ndarray:
    """``values`` with float residue (see :data:`RESIDUE`) set to exactly zero."""
    values = np.asarray(values, dtype=float)
    return np.where(np.abs(values) < RESIDUE, 0.0, values)


def _room(capacity: np.ndarray, held: np.ndarray) -> np.ndarray:
    """Capacity-hours a space gave per hour: its capacity, or what it held when it held more.

    A space (the holding area, a staging base) holds more than its capacity only when the
    model lets a group or a flight larger than the whole space into an empty one, or when an
    event cuts the capacity below the load already there: those people were housed, so the
    room they used was there to use (utilisation 1, not above). NaN (no limit) stays NaN.
    """
    return np.where(np.isnan(capacity), np.nan, np.fmax(capacity, held))


def _utilisation(model, hours: pd.DatetimeIndex) -> pd.DataFrame:
    """Per reporting day: how busy each constrained resource was and for how long it was full.

    ``utilisation`` is busy capacity-hours over available capacity-hours; ``full_h`` is the
    hours the resource was at its limit (for gates: people waiting but no room inside; for
    screening and the ramp and runway: every unit busy, to the hour; for holding: at capacity;
    for a staging base: a departure held for room). Hours are shared between reporting days
    as :func:`evacsim.results.days.hour_weights` says.
    """
    n = len(hours)
    days, weights = hour_weights(hours, model.scenario.reporting_day_starts)
    rows = []

    def add(resource: str, kind: str, busy: np.ndarray, capacity: np.ndarray, full: np.ndarray):
        busy_d, cap_d, full_d = (
            weights @ _tidy(np.asarray(v, dtype=float)[:n]) for v in (busy, capacity, full)
        )
        for day, b, c, f in zip(days, busy_d, cap_d, full_d, strict=True):
            rows.append(
                {
                    "date": day,
                    "resource": resource,
                    "kind": kind,
                    "busy_h": b,
                    "available_h": c,
                    "utilisation": b / c if c > 0 else np.nan,
                    "full_h": f,
                }
            )

    for name, gate in model.gates.items():
        avail = gate.available.mean_per_bin()
        add(
            f"gate:{name}",
            "gate",
            gate.busy.mean_per_bin(),
            avail,
            gate.blocked_full.mean_per_bin(),
        )
    sc = model.screening
    # Against the lanes open: a lane unmanned while screening a group finishes it (the work
    # happened, on a lane that was open for it), so busy lanes never exceed open ones.
    busy, lanes = sc.busy.mean_per_bin(), sc.open_level.mean_per_bin()
    add("screening", "screening", busy, lanes, ((busy >= lanes - 1e-6) & (lanes > 0)) * 1.0)
    inside = sum(
        lv.mean_per_bin()
        for stage in (Stage.SCREENING, Stage.INSIDE)
        for lv in model.ledger.backlog[stage]
    )
    cap = model.holding.room.capacity
    add(
        "holding",
        "holding",
        inside,
        _room(np.full(n, cap if math.isfinite(cap) else np.nan), inside),
        model.holding.full.mean_per_bin(),
    )
    af = model.airfield
    busy = af.runway_busy.mean_per_bin()
    add(
        "runway",
        "runway",
        busy,
        np.full(n, float(af.runway_capacity)),
        (busy >= af.runway_capacity - 1e-6) * 1.0,
    )
    ground = af.on_ground.mean_per_bin()
    add(
        "ramp",
        "ramp",
        ground,
        np.full(n, float(af.ramp_capacity)),
        (ground >= af.ramp_capacity - 1e-6) * 1.0,
    )
    for name, base in model.bases.items():
        add(
            f"staging:{name}",
            "staging",
            base.occupancy.mean_per_bin(),
            _room(
                np.where(
                    base.unlimited.mean_per_bin() > 0, np.nan, base.capacity_level.mean_per_bin()
                ),
                base.occupancy.mean_per_bin(),
            ),
            base.full.mean_per_bin(),
        )
    return pd.DataFrame(rows)


# Where people left behind at the deadline were, and the stage that holds them.
_LEFT_BEHIND_AT = {
    "outside": Stage.OUTSIDE,
    "screening": Stage.SCREENING,
    "inside_waiting": Stage.INSIDE,
    "aboard": Stage.ABOARD,
    "away": Stage.AWAY,
}


def _left_behind(model) -> pd.DataFrame:
    led = model.ledger
    where = _LEFT_BEHIND_AT
    at_points, on_road, _ = model.people_before_perimeter()
    rows = []
    for c, name in enumerate(model.categories):
        pool = model.scenario.demand[name].pool
        for location, stage in where.items():
            rows.append({"category": name, "location": location, "people": led.people[stage][c]})
        if model.assembly_points:  # gathered for a convoy, not yet at the perimeter
            rows.append({"category": name, "location": "assembly_point", "people": at_points[c]})
            rows.append({"category": name, "location": "on_road", "people": on_road[c]})
            before = at_points[c] + on_road[c]
        else:
            before = 0
        rows.append(
            {
                "category": name,
                "location": "never_arrived",
                "people": pool - led.arrived[c] - before,
            }
        )
    return pd.DataFrame(rows)


def _kpis(model, evacuated, backlog, flights, left, n_hours) -> dict[str, float]:
    led = model.ledger
    k: dict[str, float] = {}
    k["arrived"] = float(sum(led.arrived))
    k["evacuated"] = float(led.total(Stage.EVACUATED))
    people = left["people"].to_numpy()
    never = (left["location"] == "never_arrived").to_numpy()
    # Arrived at the perimeter, not out (those still at an assembly point or on the road
    # have their own KPIs, see _convoys).
    before = left["location"].isin(("assembly_point", "on_road")).to_numpy()
    k["left_behind"] = float(people[~never & ~before].sum())
    for location, stage in sorted(_LEFT_BEHIND_AT.items()):
        k[f"left_behind.{location}"] = float(led.total(stage))
    k["turned_away"] = float(led.total(Stage.TURNED_AWAY))
    k["never_arrived"] = float(people[never].sum())
    for c, name in enumerate(model.categories):
        k[f"evacuated.{name}"] = float(led.people[Stage.EVACUATED][c])
    for c, name in enumerate(model.categories):
        k[f"left_behind_by_category.{name}"] = float(
            sum(
                led.people[s][c]
                for s in (Stage.OUTSIDE, Stage.SCREENING, Stage.INSIDE, Stage.ABOARD, Stage.AWAY)
            )
        )
    hourly = np.zeros(n_hours)
    for (m, _c, _op, _dest), people in model.flights.departures.items():
        hourly[min(m // 60, n_hours - 1)] += people
    rolling = np.convolve(hourly, np.ones(24), mode="valid") if n_hours >= 24 else hourly
    k["peak_24h_evacuated"] = float(rolling.max()) if len(rolling) else 0.0
    daily = evacuated.groupby("day")["people"].sum()
    k["peak_day_evacuated"] = float(daily.max()) if len(daily) else 0.0
    levels = led.backlog
    for stage in (Stage.OUTSIDE, Stage.SCREENING, Stage.INSIDE):
        at_ends = sum(level.at_bin_end()[:n_hours] for level in levels[stage])
        k[f"peak_backlog.{_STAGE_NAMES[stage]}"] = float(np.max(at_ends)) if n_hours else 0.0
    departed = flights[flights["status"] == "departed"]
    k["flights_departed"] = float(len(departed))
    evac_flights = departed[departed["seats"] > 0]
    k["mean_load_factor"] = (
        float(evac_flights["load_factor"].mean()) if len(evac_flights) else math.nan
    )
    k["held_for_staging_h"] = float(flights["held_for_staging_h"].sum())
    total = _merge_tallies(led.waits["total"])
    k["wait_total_mean_h"] = total[0]
    k["wait_total_p50_h"] = total[1]
    k["wait_total_p90_h"] = total[2]
    if model.deadline_uncertain:  # this replication's own deadline (h after start)
        k["deadline_h"] = float(model.horizon_h)
    return k


def _merge_tallies(tallies) -> tuple[float, float, float]:
    """Mean, median and 90th percentile over several tallies of the same bin width."""
    counts = np.sum([t.counts for t in tallies], axis=0)
    n = counts.sum()
    if n == 0:
        return (math.nan, math.nan, math.nan)
    width = tallies[0].bin_h
    mean = sum(t.total for t in tallies) / n
    cum = np.cumsum(counts)
    q = lambda p: (int(np.searchsorted(cum, p * n, side="left")) + 0.5) * width  # noqa: E731
    return (mean, q(0.5), q(0.9))
