"""Charts of a run, of replications and of comparisons (matplotlib, no pyplot state).

Every function returns a :class:`matplotlib.figure.Figure` drawn on an Agg canvas: nothing
is shown, nothing global changes, so charts can be made in threads, scripts, the CLI and
notebooks alike (a notebook displays a returned figure as it displays any value).

Inputs:

* one run: a :class:`~evacsim.RunResult` (also as read back from a results folder by
  :func:`evacsim.results.report.read_results`), or a mapping of its table names (``evacuated``,
  ``backlog``, ``ground``, ``flights``, ``utilisation``, ``waits``, ``groups``, ``events``,
  ``provenance``) to DataFrames; single-table charts also take the DataFrame itself;
* replications and comparisons: plain DataFrames in **long format**, so they work with
  whatever produced them (:func:`replication_frame` and :func:`kpi_frame` build them from a
  list of results):

  - series over time: columns ``replication``, ``date``, ``series``, ``value`` and
    optionally ``scenario``;
  - KPIs: columns ``replication``, ``kpi``, ``value`` and optionally ``scenario``.

Colours are fixed per category (scenario order; see :func:`category_colours`), per stage
and per constraint, so the same thing has the same colour on every chart. Time axes carry
real dates.
"""

from __future__ import annotations

import logging
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

from .binding import CONSTRAINTS, NONE, binding_constraints
from .days import day_label, day_starts_h, end_of_day_hours, reporting_days

__all__ = [
    "CATEGORY_PALETTE",
    "CONSTRAINT_COLOURS",
    "STAGE_COLOURS",
    "all_charts",
    "backlog_over_time",
    "binding_strip",
    "category_colours",
    "evacuated_per_day",
    "fan_chart",
    "flight_loads",
    "forces_and_flights",
    "interval_table",
    "kpi_frame",
    "kpi_intervals",
    "replication_frame",
    "save_charts",
    "throughput_difference",
    "waiting_times",
]

log = logging.getLogger(__name__)

CATEGORY_PALETTE: tuple[str, ...] = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)
"""Colours given to categories in scenario order (tab10), then reused cyclically."""

STAGE_COLOURS: dict[str, str] = {
    "outside": "#d62728",
    "screening": "#ff7f0e",
    "inside_waiting": "#1f77b4",
    "aboard": "#2ca02c",
    "staging": "#7f7f7f",
}
STAGE_LABELS: dict[str, str] = {
    "outside": "Outside the gates",
    "screening": "In screening",
    "inside_waiting": "Inside, waiting for a seat",
    "aboard": "Aboard, not departed",
}

CONSTRAINT_COLOURS: dict[str, str] = {
    "gates": "#d62728",
    "screening": "#ff7f0e",
    "holding": "#bcbd22",
    "seats": "#1f77b4",
    "eligibility": "#aec7e8",
    "ramp": "#9467bd",
    "runway": "#8c564b",
    "staging": "#17becf",
    NONE: "#e8e8e8",
}
CONSTRAINT_LABELS: dict[str, str] = {
    "gates": "Gates",
    "screening": "Screening",
    "holding": "Holding area",
    "seats": "Seats",
    "eligibility": "Seats (eligibility)",
    "ramp": "Ramp (MOG)",
    "runway": "Runway",
    "staging": "Staging base",
    NONE: "Nothing (demand: nobody waiting)",
}

EVENT_STYLE: dict[str, tuple[str, str]] = {
    # type: (colour, plain-words kind)
    "runway_closed": ("#d62728", "runway closed"),
    "gate_closed": ("#ff7f0e", "gates closed"),
    "incident": ("#7b0000", "incident"),
    "gate_policy": ("#9467bd", "gate policy"),
    "staging_capacity": ("#17becf", "staging capacity"),
    "arrivals_stopped": ("#8c564b", "arrivals stopped"),
    "operator_ends": ("#7f7f7f", "operator ends"),
}
DEADLINE_COLOUR = "#000000"

_WIDTH_IN = 11.0
_LABEL_CHARS = 78  # longest event label before it is shortened (keeps labels inside the axes)


# ------------------------------------------------------------------------------ helpers


def _figure(height_in: float, width_in: float = _WIDTH_IN) -> Figure:
    fig = Figure(figsize=(width_in, height_in), layout="constrained", dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _table(source: Any, name: str, required: bool = True) -> pd.DataFrame | None:
    """The table ``name`` of a RunResult, a mapping of tables, or a DataFrame given as is."""
    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, Mapping):
        table = source.get(name)
    else:
        table = getattr(source, name, None)
    if table is None and required:
        raise ValueError(f"no '{name}' table in the data given (expected a RunResult or a "
                         f"mapping with key '{name}')")
    return table


def _provenance(source: Any) -> dict:
    if isinstance(source, pd.DataFrame):
        return {}
    prov = source.get("provenance") if isinstance(source, Mapping) else getattr(
        source, "provenance", None)
    return prov or {}


def _scenario_spec(source: Any) -> dict:
    return _provenance(source).get("resolved_scenario") or {}


def _categories(source: Any, present: Iterable[str]) -> list[str]:
    """Categories in scenario order (then any others in order of appearance)."""
    order = list(_scenario_spec(source).get("demand", {}))
    seen = [c for c in dict.fromkeys(present) if c not in order]
    return order + seen


def category_colours(categories: Sequence[str]) -> dict[str, str]:
    """A fixed colour per category: the ``i``-th category of the scenario gets palette[i]."""
    return {c: CATEGORY_PALETTE[i % len(CATEGORY_PALETTE)] for i, c in enumerate(categories)}


def _plain(text: str) -> str:
    """Scenario text drawn as typed: a ``$`` would otherwise start matplotlib mathtext."""
    return str(text).replace("$", r"\$")


def _category_labels(source: Any, categories: Iterable[str]) -> dict[str, str]:
    demand = _scenario_spec(source).get("demand", {})
    return {c: _plain((demand.get(c, {}) or {}).get("label") or c) for c in categories}


def _operator_labels(source: Any) -> dict[str, str]:
    ops = _scenario_spec(source).get("operators", {})
    return {k: _plain((v or {}).get("label") or k) for k, v in ops.items()}


def _deadline(source: Any) -> pd.Timestamp | None:
    spec = _scenario_spec(source)
    return pd.Timestamp(spec["deadline"]) if spec.get("deadline") else None


def _date_axis(ax, minor_days: bool = True) -> None:
    locator = mdates.AutoDateLocator(minticks=4, maxticks=12)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    low, high = ax.get_xlim()
    if minor_days and high - low <= 62:  # day ticks only while days are wide enough to see
        ax.xaxis.set_minor_locator(mdates.DayLocator())


def _shorten(text: str, limit: int = _LABEL_CHARS) -> str:
    return textwrap.shorten(str(text), width=limit, placeholder="…")


def _daily_by(frame: pd.DataFrame, time_col: str, by: str, value: str,
              starts_h: float = 0.0) -> pd.DataFrame:
    """Sum ``value`` per reporting day (days from ``starts_h`` h after midnight, see
    :mod:`evacsim.results.days`): a daily table's ``date``, an hourly table's ``day`` (its
    rows split where a day starts mid-hour), otherwise the day of each time in ``time_col``."""
    if time_col == "date":
        day = pd.to_datetime(frame["date"]).dt.normalize()
    elif time_col == "time" and "day" in frame.columns:
        day = pd.to_datetime(frame["day"])
    else:
        day = day_label(pd.to_datetime(frame[time_col]), starts_h)
    return frame.assign(date=day).pivot_table(
        index="date", columns=by, values=value, aggfunc="sum", fill_value=0
    )


def _no_data(ax, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#555555")
    ax.set_xticks([])
    ax.set_yticks([])


# ------------------------------------------------------------------------------ one run


def evacuated_per_day(source: Any) -> Figure:
    """People evacuated per reporting day, stacked by category, with the cumulative total
    (persons) on a second axis.

    ``source``: a RunResult, a mapping with ``evacuated``, or the hourly ``evacuated`` table
    (``time``, ``category``, ``people``) or a daily one (``date``, ``category``, ``people``).
    """
    table = _table(source, "evacuated")
    time_col = "date" if "date" in table.columns else "time"
    daily = _daily_by(table, time_col, "category", "people")
    cats = _categories(source, daily.columns)
    daily = daily.reindex(columns=[c for c in cats if c in daily.columns])
    colours = category_colours(cats)
    labels = _category_labels(source, cats)

    fig = _figure(5.2)
    ax = fig.add_subplot()
    bottom = np.zeros(len(daily))
    for cat in daily.columns:
        values = daily[cat].to_numpy(dtype=float)
        ax.bar(daily.index + pd.Timedelta(hours=12), values, width=0.8, bottom=bottom,
               color=colours[cat], label=labels[cat], gid=f"category:{cat}")
        bottom += values
    ax.set_ylabel("People evacuated per day")
    ax.set_title("Evacuated per day, by category")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    _date_axis(ax)
    twin = ax.twinx()
    cumulative = daily.sum(axis=1).cumsum()
    twin.plot(daily.index + pd.Timedelta(days=1), cumulative.to_numpy(), color="black",
              marker="o", markersize=3, linewidth=1.6, label="Cumulative total (right axis)",
              gid="cumulative")
    twin.set_ylabel("Cumulative evacuated")
    twin.set_ylim(bottom=0)
    twin.yaxis.set_major_formatter("{x:,.0f}")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
               frameon=False, fontsize=9)
    return fig


def backlog_over_time(source: Any) -> Figure:
    """People waiting at each stage over time (hourly means, persons): outside the gates, in
    screening, inside waiting for a seat; and below, people at each staging base.

    ``source``: a RunResult, a mapping with ``backlog``, or the ``backlog`` table (``time``,
    ``stage``, ``category``, ``mean``).
    """
    table = _table(source, "backlog")
    table = table.assign(time=pd.to_datetime(table["time"]))
    totals = table.groupby(["stage", "time"])["mean"].sum()
    stages = list(dict.fromkeys(table["stage"].astype(str)))
    airport = [s for s in ("outside", "screening", "inside_waiting") if s in stages]
    bases = [s for s in stages if s.startswith("staging:")]

    fig = _figure(6.4)
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    for stage in airport:
        series = totals.loc[stage]
        top.plot(series.index, series.to_numpy(), color=STAGE_COLOURS[stage],
                 label=STAGE_LABELS[stage], linewidth=1.4, gid=f"stage:{stage}")
    top.set_ylabel("People (hourly mean)")
    top.set_title("Backlog at the airport")
    top.yaxis.set_major_formatter("{x:,.0f}")
    top.legend(loc="best", frameon=True, framealpha=0.85, fontsize=9)
    top.set_ylim(bottom=0)
    if bases:
        base_colours = [CATEGORY_PALETTE[(i + 3) % len(CATEGORY_PALETTE)]
                        for i in range(len(bases))]
        for stage, colour in zip(bases, base_colours, strict=True):
            series = totals.loc[stage]
            bottom.plot(series.index, series.to_numpy(), color=colour, linewidth=1.3,
                        label=stage.split(":", 1)[1], gid=f"stage:{stage}")
        bottom.legend(loc="upper right", frameon=False, fontsize=8, ncol=2,
                      title="Staging base", title_fontsize=8)
        bottom.set_ylim(bottom=0)
    else:
        _no_data(bottom, "No staging bases in this scenario")
    bottom.set_ylabel("People at the base")
    bottom.set_title("Staging bases (landed and inbound)", fontsize=10)
    bottom.yaxis.set_major_formatter("{x:,.0f}")
    _date_axis(bottom)
    return fig


def _event_rows(events: pd.DataFrame, deadline: pd.Timestamp | None) -> pd.DataFrame:
    rows = events.copy()
    rows["time"] = pd.to_datetime(rows["time"])
    rows["until"] = pd.to_datetime(rows["until"]) if "until" in rows else pd.NaT
    rows = rows.sort_values("time", kind="stable").reset_index(drop=True)
    if deadline is not None:
        rows = pd.concat(
            [rows, pd.DataFrame([{"name": "deadline", "type": "deadline", "time": deadline,
                                  "until": pd.NaT, "detail": "whoever is not out stays"}])],
            ignore_index=True,
        )
    return rows


def forces_and_flights(source: Any) -> Figure:
    """Troops on the ground (persons) and flights departed per day by operator, against the
    timeline of events: closures and pauses shaded, each event on its own labelled row,
    the deadline marked.

    ``source``: a RunResult or a mapping with ``ground``, ``flights`` and ``events`` (and
    ``provenance`` for the deadline).
    """
    ground = _table(source, "ground")
    flights = _table(source, "flights")
    events = _table(source, "events", required=False)
    events = events if events is not None else pd.DataFrame(
        columns=["name", "type", "time", "until", "detail"])
    deadline = _deadline(source)
    rows = _event_rows(events, deadline)

    n_rows = max(len(rows), 1)
    fig = _figure(4.6 + 0.28 * n_rows)
    top, low = fig.subplots(2, 1, sharex=True, height_ratios=[4.0, 0.5 + 0.28 * n_rows])

    troops = ground[ground["series"] == "troops_on_ground"]
    top.plot(pd.to_datetime(troops["time"]), troops["mean"].to_numpy(), color="#2f4f4f",
             linewidth=1.8, label="Troops on the ground (left axis)", gid="troops_on_ground",
             zorder=3)
    top.set_ylabel("Troops on the ground")
    top.yaxis.set_major_formatter("{x:,.0f}")
    top.set_ylim(0, max(10.0, float(troops["mean"].max() if len(troops) else 0) * 1.05))
    top.set_title("Forces, flights and events")

    twin = top.twinx()
    operators = _operator_labels(source)
    departed = flights[flights["status"] == "departed"]
    handles = top.get_legend_handles_labels()[0]
    if len(departed):
        per_day = _daily_by(departed.assign(n=1), "departed", "operator", "n",
                            day_starts_h(_scenario_spec(source)))
        bottom = np.zeros(len(per_day))
        for i, op in enumerate(per_day.columns):
            values = per_day[op].to_numpy(dtype=float)
            bars = twin.bar(per_day.index + pd.Timedelta(hours=12), values, width=0.75,
                            bottom=bottom, color=CATEGORY_PALETTE[(i + 5) % 10], alpha=0.45,
                            label=f"Flights: {operators.get(op, op)} (right axis)",
                            gid=f"flights:{op}")
            handles.append(bars)
            bottom += values
    twin.set_ylabel("Flights departed per day")
    twin.set_ylim(bottom=0)
    top.set_zorder(twin.get_zorder() + 1)  # the troops line above the bars
    top.patch.set_visible(False)

    low.set_ylim(n_rows - 0.5, -0.5)
    low.set_yticks([])
    low.set_ylabel("Events", rotation=0, ha="right", va="center")
    for spine in ("left", "right", "top"):
        low.spines[spine].set_visible(False)
    t0 = pd.to_datetime(ground["time"]).min()
    t1 = deadline if deadline is not None else pd.to_datetime(ground["time"]).max()
    x0, x1 = mdates.date2num(t0), mdates.date2num(t1)
    for i, ev in rows.iterrows():
        colour, kind = EVENT_STYLE.get(ev["type"], (DEADLINE_COLOUR, "deadline"))
        start = ev["time"]
        has_span = pd.notna(ev["until"]) and ev["until"] > start
        for ax in (top, low):
            if has_span:
                ax.axvspan(start, ev["until"], color=colour, alpha=0.15, linewidth=0)
            ax.axvline(start, color=colour, linewidth=1.6 if kind == "deadline" else 0.9,
                       linestyle="-" if kind in ("deadline", "incident") else "--", alpha=0.8)
        low.plot([start], [i], marker="D" if kind != "deadline" else "s", color=colour,
                 markersize=5)
        when = f"{start:%d %b %H:%M}"
        detail = f" ({ev['detail']})" if isinstance(ev["detail"], str) and ev["detail"] else ""
        what = f"{ev['name']}: {kind}" if kind != "deadline" else "deadline"
        label = _plain(_shorten(f"{when}  {what}{detail}"))
        right_half = (mdates.date2num(start) - x0) > 0.55 * (x1 - x0)
        low.annotate(label, (start, i), xytext=(-8 if right_half else 8, 0),
                     textcoords="offset points", ha="right" if right_half else "left",
                     va="center", fontsize=8, color="#222222", gid=f"event:{ev['name']}",
                     bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none",
                           "alpha": 0.85})
    if not len(rows):
        low.text(0.5, 0.5, "No events", transform=low.transAxes, ha="center", va="center")
    low.set_xlim(t0, max(t1, pd.to_datetime(ground["time"]).max()) + pd.Timedelta(hours=6))
    _date_axis(low)
    fig.legend(handles=handles, loc="outside lower center", ncol=min(len(handles), 3),
               frameon=False, fontsize=8)
    return fig


def flight_loads(source: Any) -> Figure:
    """Load factors (people aboard / seats) of departed evacuation flights by operator and
    aircraft type (with, where people waited who were not allowed the empty seats, the mean
    load had they been eligible), and the hours departures were held by full staging bases,
    per day.

    ``source``: a RunResult, a mapping with ``flights``, or the ``flights`` table.
    """
    flights = _table(source, "flights")
    fig = _figure(4.8)
    left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    evac = flights[(flights["status"] == "departed") & (flights["seats"] > 0)]
    operators = _operator_labels(source)
    if len(evac):
        groups = list(evac.groupby(["operator", "aircraft"])["load_factor"])
        names = [f"{operators.get(op, op)} · {ac} (n={len(v)})" for (op, ac), v in groups]
        data = [v.to_numpy(dtype=float) for _, v in groups]
        box = left.boxplot(data, tick_labels=names, patch_artist=True, widths=0.6,
                           orientation="horizontal", medianprops={"color": "black"})
        for i, patch in enumerate(box["boxes"]):
            patch.set_facecolor(CATEGORY_PALETTE[(i + 5) % 10])
            patch.set_alpha(0.6)
        left.scatter([d.mean() for d in data], np.arange(1, len(data) + 1), marker="D",
                     color="black", zorder=3, s=18, label="mean", gid="mean_load_factor")
        if "may_not_board" in evac and evac["may_not_board"].fillna(0).any():
            # Where people waited who were not allowed the empty seats (operators' rules).
            empty = (evac["seats"] - evac["boarded"] - evac["troops_out"]).clip(lower=0)
            refused = np.minimum(empty, evac["may_not_board"].fillna(0)) / evac["seats"]
            could = [(v + refused.loc[v.index]).to_numpy(dtype=float).mean() for _, v in groups]
            left.scatter(could, np.arange(1, len(data) + 1), marker="D", facecolors="none",
                         edgecolors="black", zorder=3, s=18,
                         label="mean if those waiting had been eligible",
                         gid="load_if_eligible")
            left.legend(frameon=False, fontsize=7, loc="lower right")
        left.axvline(1.0, color="#555555", linewidth=0.8, linestyle=":")
        left.set_xlim(0, max(1.05, float(np.nanmax(evac["load_factor"])) * 1.05))
        left.tick_params(axis="y", labelsize=8)
    else:
        _no_data(left, "No evacuation flight departed")
    left.set_xlabel("Load factor (aboard / seats; box: quartiles, diamond: mean)")
    left.set_title("Flight load factors by operator and aircraft", fontsize=10)

    held = flights[flights["held_for_staging_h"].fillna(0) > 0]
    if len(held):
        per_day = _daily_by(held.assign(departed=held["departed"].fillna(held["boarding"])),
                            "departed", "destination", "held_for_staging_h",
                            day_starts_h(_scenario_spec(source)))
        bottom = np.zeros(len(per_day))
        for i, base in enumerate(per_day.columns):
            values = per_day[base].to_numpy(dtype=float)
            right.bar(per_day.index + pd.Timedelta(hours=12), values, width=0.8, bottom=bottom,
                      color=CATEGORY_PALETTE[(i + 3) % 10], label=str(base),
                      gid=f"held:{base}")
            bottom += values
        right.legend(frameon=False, fontsize=8, title="Staging base", title_fontsize=8)
        _date_axis(right)
    else:
        _no_data(right, "No departure was held by a full staging base")
    right.set_ylabel("Aircraft-hours held")
    right.set_title("Time aircraft were held by full staging bases", fontsize=10)
    return fig


def waiting_times(source: Any) -> Figure:
    """Waiting times by category (hours): the distribution of time from arrival at the gates
    to departure (cumulative share of evacuees, from the per-group records), and the median
    and 90th percentile wait at each stage (from the waits table).

    ``source``: a RunResult or a mapping with ``waits`` (and ``groups`` for the left panel).
    """
    waits = _table(source, "waits")
    groups = _table(source, "groups", required=False)
    cats = _categories(source, waits["category"].astype(str))
    colours = category_colours(cats)
    labels = _category_labels(source, cats)
    fig = _figure(5.0)
    left, right = fig.subplots(1, 2)

    if groups is not None and len(groups) and "t_depart" in groups:
        out = groups[groups["t_depart"].notna()]
        for cat in cats:
            g = out[out["category"] == cat]
            if not len(g):
                continue
            hours = (g["t_depart"] - g["t_arrive"]).to_numpy(dtype=float)
            order = np.argsort(hours)
            weights = g["size"].to_numpy(dtype=float)[order]
            share = np.cumsum(weights) / weights.sum()
            left.step(hours[order], share, where="post", color=colours[cat],
                      label=labels[cat], gid=f"category:{cat}")
        left.set_xscale("symlog", linthresh=1.0)
        left.set_xlim(left=0)
        left.set_ylim(0, 1.01)
        left.set_xlabel("Hours from arrival at the gates to departure")
        left.set_ylabel("Share of evacuees")
        if left.get_legend_handles_labels()[0]:
            left.legend(frameon=False, fontsize=8, loc="lower right")
        else:
            _no_data(left, "Nobody was evacuated")
    else:
        _no_data(left, "Per-group records were not kept:\nsee the percentiles on the right")
    left.set_title("Time to departure (cumulative)", fontsize=10)

    stages = [s for s in ("outside", "screening_queue", "inside", "total")
              if s in set(waits["stage"])]
    width = 0.8 / max(len(cats), 1)
    x = np.arange(len(stages))
    for i, cat in enumerate(cats):
        w = waits[waits["category"] == cat].set_index("stage").reindex(stages)
        offset = x - 0.4 + width * (i + 0.5)
        right.bar(offset, w["p50_h"].to_numpy(dtype=float), width=width * 0.9,
                  color=colours[cat], label=labels[cat], gid=f"category:{cat}")
        right.scatter(offset, w["p90_h"].to_numpy(dtype=float), marker="_", s=80,
                      color=colours[cat], linewidths=2)
    right.set_xticks(x, [s.replace("_", " ") for s in stages])
    right.set_ylabel("Hours (bar: median, dash: 90th percentile)")
    right.set_title("Waits by stage and category", fontsize=10)
    return fig


def binding_strip(source: Any, binding: pd.DataFrame | None = None) -> Figure:
    """What was binding each day: a strip coloured by the binding constraint, above a heat
    map of every constraint's saturation score (0-1) with the binding one ringed.

    ``source``: a RunResult or a mapping with ``utilisation`` and ``flights``; or pass the
    output of :func:`evacsim.results.binding.binding_constraints` as ``binding``.
    """
    if binding is None:
        binding = binding_constraints(_table(source, "utilisation"), _table(source, "flights"))
    days = pd.DatetimeIndex(binding.index)
    edges = mdates.date2num(list(days) + [days[-1] + pd.Timedelta(days=1)]) if len(days) else []
    fig = _figure(4.6)
    strip, heat = fig.subplots(2, 1, sharex=True, height_ratios=[1, 4])
    names = [*CONSTRAINTS, NONE]
    codes = np.array([[names.index(b) for b in binding["binding"]]])
    cmap = ListedColormap([CONSTRAINT_COLOURS[n] for n in names])
    norm = BoundaryNorm(np.arange(len(names) + 1) - 0.5, len(names))
    if len(days):
        strip.pcolormesh(edges, [0, 1], codes, cmap=cmap, norm=norm, edgecolors="white",
                         linewidth=1.0)
    strip.set_yticks([0.5], ["Binding"])
    strip.set_title("What was binding, day by day")
    present = list(dict.fromkeys(binding["binding"]))
    fig.legend(
        handles=[Patch(color=CONSTRAINT_COLOURS[n], label=CONSTRAINT_LABELS[n])
                 for n in names if n in present],
        loc="outside lower center", ncol=min(len(present), 4), frameon=False, fontsize=8,
        title="Binding constraint", title_fontsize=8,
    )
    scores = binding[list(CONSTRAINTS)].to_numpy(dtype=float).T
    if len(days):
        greys = ListedColormap(colormaps["Greys"](np.linspace(0.0, 0.75, 256)))
        mesh = heat.pcolormesh(edges, np.arange(len(CONSTRAINTS) + 1), scores, cmap=greys,
                               vmin=0, vmax=1, edgecolors="white", linewidth=0.5)
        fig.colorbar(mesh, ax=[strip, heat], label="Saturation score", shrink=0.8)
        for j, b in enumerate(binding["binding"]):
            if b != NONE:
                heat.plot((edges[j] + edges[j + 1]) / 2, CONSTRAINTS.index(b) + 0.5,
                          marker="o", markersize=10, markerfacecolor=CONSTRAINT_COLOURS[b],
                          markeredgecolor="white", markeredgewidth=1.5, gid=f"binding:{b}")
    heat.set_yticks(np.arange(len(CONSTRAINTS)) + 0.5,
                    [CONSTRAINT_LABELS[c] for c in CONSTRAINTS])
    heat.set_ylim(len(CONSTRAINTS), 0)
    heat.xaxis_date()
    _date_axis(heat, minor_days=False)
    return fig


# ------------------------------------------------------------------------------ replications


def replication_frame(
    results: Sequence[Any], scenario: str | None = None, replications: Sequence | None = None
) -> pd.DataFrame:
    """Daily series of several runs in long format (``replication``, ``date``, ``series``,
    ``value`` [, ``scenario``]): people evacuated per day and cumulatively, and people
    waiting outside and inside at the end of each day (persons).

    ``replications`` names the runs (default 0, 1, ...): give runs of two scenarios made
    with the same seeds the same names so that comparisons pair them.
    """
    frames = []
    ids = list(replications) if replications is not None else list(range(len(results)))
    for rep, result in zip(ids, results, strict=True):
        starts_h = day_starts_h(_scenario_spec(result))
        evac = _table(result, "evacuated")
        evac_day = (evac["day"] if "day" in evac.columns
                    else day_label(pd.to_datetime(evac["time"]), starts_h))
        daily = evac.assign(date=pd.to_datetime(evac_day)).groupby("date")["people"].sum()
        backlog = _table(result, "backlog")
        levels = backlog.assign(time=pd.to_datetime(backlog["time"]))
        hours = pd.DatetimeIndex(sorted(levels["time"].unique()))
        days = reporting_days(hours[0], hours[-1] + pd.Timedelta(hours=1), starts_h)
        daily = daily.reindex(days, fill_value=0)
        series = {
            "evacuated per day": daily,
            "evacuated (cumulative)": daily.cumsum(),
        }
        for stage, name in (("outside", "waiting outside (end of day)"),
                            ("inside_waiting", "waiting inside (end of day)")):
            at = levels[levels["stage"] == stage].groupby("time")["end"].sum()
            at_day = end_of_day_hours(pd.DatetimeIndex(at.index), starts_h)
            series[name] = at.groupby(at_day).last().reindex(days)
        for name, values in series.items():
            frames.append(pd.DataFrame({"replication": rep, "date": days, "series": name,
                                        "value": values.to_numpy(dtype=float)}))
    out = pd.concat(frames, ignore_index=True)
    if scenario is not None:
        out.insert(0, "scenario", scenario)
    return out


def kpi_frame(
    results: Sequence[Any], scenario: str | None = None, replications: Sequence | None = None
) -> pd.DataFrame:
    """The KPIs of several runs in long format (``replication``, ``kpi``, ``value``
    [, ``scenario``])."""
    ids = list(replications) if replications is not None else list(range(len(results)))
    rows = [
        {"replication": rep, "kpi": k, "value": float(v)}
        for rep, result in zip(ids, results, strict=True)
        for k, v in result.kpis.items()
    ]
    out = pd.DataFrame(rows)
    if scenario is not None:
        out.insert(0, "scenario", scenario)
    return out


def interval_table(frame: pd.DataFrame, by: Sequence[str], low: float = 0.05,
                   high: float = 0.95) -> pd.DataFrame:
    """Median, mean and the ``low``-``high`` percentile band of ``value`` over replications,
    per group of ``by`` columns (empirical quantiles; with n runs the 5-95 % band is only
    as good as n allows)."""
    grouped = frame.groupby(list(by), sort=False)["value"]
    out = grouped.agg(
        n="count",
        mean="mean",
        median="median",
        low=lambda v: v.quantile(low),
        high=lambda v: v.quantile(high),
    )
    return out.reset_index()


def _scenarios(frame: pd.DataFrame) -> list:
    return list(dict.fromkeys(frame["scenario"])) if "scenario" in frame else [None]


def fan_chart(frame: pd.DataFrame, series: Sequence[str] | None = None) -> Figure:
    """Fan chart per series: the median over replications and 5-95 % (light) and 25-75 %
    (dark) bands, one panel per series, one colour per scenario if a ``scenario`` column is
    present.

    ``frame``: long format with ``replication``, ``date``, ``series``, ``value`` and
    optionally ``scenario`` (see :func:`replication_frame`).
    """
    frame = _require(frame, ["replication", "date", "series", "value"])
    names = list(series) if series is not None else list(dict.fromkeys(frame["series"]))
    scenarios = _scenarios(frame)
    n_reps = frame["replication"].nunique()
    fig = _figure(2.6 * len(names) + 0.8)
    axes = np.atleast_1d(fig.subplots(len(names), 1, sharex=True, squeeze=False)[:, 0])
    for ax, name in zip(axes, names, strict=True):
        part = frame[frame["series"] == name]
        for i, scen in enumerate(scenarios):
            sub = part if scen is None else part[part["scenario"] == scen]
            by_date = sub.groupby(pd.to_datetime(sub["date"]))["value"]
            q = by_date.quantile([0.05, 0.25, 0.5, 0.75, 0.95]).unstack()
            colour = CATEGORY_PALETTE[i % 10]
            ax.fill_between(q.index, q[0.05], q[0.95], color=colour, alpha=0.15, linewidth=0)
            ax.fill_between(q.index, q[0.25], q[0.75], color=colour, alpha=0.3, linewidth=0)
            label = "median" if scen is None else _plain(scen)
            ax.plot(q.index, q[0.5], color=colour, linewidth=1.6, label=label,
                    gid=f"median:{scen if scen is not None else name}")
        ax.set_title(_plain(name), fontsize=10)
        ax.set_ylabel("People")
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    _date_axis(axes[-1])
    fig.suptitle(f"Median and 5-95 % band over {n_reps} replications (dark: 25-75 %)",
                 fontsize=11)
    return fig


def kpi_intervals(frame: pd.DataFrame, kpis: Sequence[str] | None = None,
                  labels: Mapping[str, str] | None = None) -> Figure:
    """KPIs with their spread over replications: a dot at the median and a bar over the
    5-95 % band, one panel per KPI, one row per scenario (if a ``scenario`` column is
    present: side-by-side comparison).

    ``frame``: long format with ``replication``, ``kpi``, ``value`` and optionally
    ``scenario`` (see :func:`kpi_frame`).
    """
    frame = _require(frame, ["replication", "kpi", "value"])
    chosen = list(kpis) if kpis is not None else list(dict.fromkeys(frame["kpi"]))[:6]
    labels = dict(labels or {})
    scenarios = _scenarios(frame)
    cols = min(3, len(chosen))
    rows = int(np.ceil(len(chosen) / cols))
    fig = _figure(1.0 + rows * (0.9 + 0.35 * len(scenarios)))
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    by = ["kpi"] if scenarios == [None] else ["scenario", "kpi"]
    table = interval_table(frame[frame["kpi"].isin(chosen)], by)
    for ax, kpi in zip(axes, chosen, strict=False):
        part = table[table["kpi"] == kpi]
        for i, scen in enumerate(scenarios):
            row = part if scen is None else part[part["scenario"] == scen]
            if not len(row):
                continue
            r = row.iloc[0]
            colour = CATEGORY_PALETTE[i % 10]
            ax.plot([r["low"], r["high"]], [i, i], color=colour, linewidth=4, alpha=0.5,
                    solid_capstyle="butt")
            ax.plot([r["median"]], [i], marker="o", color=colour, gid=f"median:{scen}:{kpi}")
        ax.set_yticks(range(len(scenarios)),
                      ["all runs" if s is None else _plain(s) for s in scenarios], fontsize=8)
        ax.set_ylim(len(scenarios) - 0.5, -0.5)
        ax.set_title(_plain(labels.get(kpi, kpi)), fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(x=0.15)
    for ax in axes[len(chosen):]:
        ax.set_visible(False)
    fig.suptitle("KPIs: median (dot) and 5-95 % band over replications", fontsize=11)
    return fig


def throughput_difference(frame: pd.DataFrame, baseline: str,
                          series: str | None = None) -> Figure:
    """Difference in people evacuated per day (and cumulatively) between each scenario and
    ``baseline``, per replication (paired by replication: with common random numbers the
    noise cancels), as a median line and 5-95 % band.

    ``frame``: long format with ``scenario``, ``replication`` (or ``rep``), ``date`` and
    ``value`` (people evacuated per day); if it has a ``series`` column, the rows of
    ``series`` are used: by default ``"evacuated per day"`` (as made by
    :func:`replication_frame`) or else ``"evacuated"`` (as the experiments store names it).
    """
    frame = _require(frame, ["scenario", "replication", "date", "value"])
    if "series" in frame:
        names = set(frame["series"])
        if series is None:
            series = "evacuated per day" if "evacuated per day" in names else "evacuated"
        if series not in names:
            raise ValueError(f"no series '{series}' in the data (expected one of: "
                             f"{', '.join(sorted(map(str, names)))})")
        frame = frame[frame["series"] == series]
    if baseline not in set(frame["scenario"]):
        raise ValueError(f"baseline '{baseline}' is not among the scenarios: "
                         f"{', '.join(map(str, dict.fromkeys(frame['scenario'])))}")
    wide = frame.assign(date=pd.to_datetime(frame["date"])).pivot_table(
        index=["replication", "date"], columns="scenario", values="value", aggfunc="sum")
    others = [s for s in dict.fromkeys(frame["scenario"]) if s != baseline]
    fig = _figure(6.0)
    daily_ax, cum_ax = fig.subplots(2, 1, sharex=True)
    for i, scen in enumerate(others):
        diff = (wide[scen] - wide[baseline]).dropna().rename("diff").reset_index()
        diff["cum"] = diff.sort_values("date").groupby("replication")["diff"].cumsum()
        colour = CATEGORY_PALETTE[(i + 1) % 10]
        for ax, col in ((daily_ax, "diff"), (cum_ax, "cum")):
            q = diff.groupby("date")[col].quantile([0.05, 0.5, 0.95]).unstack()
            ax.fill_between(q.index, q[0.05], q[0.95], color=colour, alpha=0.2, linewidth=0)
            ax.plot(q.index, q[0.5], color=colour, linewidth=1.6,
                    label=f"{_plain(scen)} minus {_plain(baseline)}", gid=f"diff:{scen}:{col}")
    for ax, title in ((daily_ax, "Difference in people evacuated per day"),
                      (cum_ax, "Cumulative difference")):
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("People")
        ax.yaxis.set_major_formatter("{x:+,.0f}")
    daily_ax.legend(frameon=False, fontsize=8, loc="upper left")
    _date_axis(cum_ax)
    fig.suptitle(f"Each scenario against {_plain(baseline)}: median and 5-95 % band over "
                 f"replications", fontsize=11)
    return fig


def _compact(value: float, _pos: int | None = None) -> str:
    """Short tick labels: 117,500 as '117.5k', 0.66 as '0.66'."""
    size = abs(value)
    if size >= 1e6:
        return f"{value / 1e6:.4g}M"
    if size >= 1e4:
        return f"{value / 1e3:.4g}k"
    return f"{value:,.4g}"


def _require(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``frame`` with the expected columns (``rep`` is accepted for ``replication``, as the
    experiments store writes it); a clear error if any is missing."""
    if "replication" not in frame.columns and "rep" in frame.columns:
        frame = frame.rename(columns={"rep": "replication"})
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"expected columns {', '.join(columns)}; missing {', '.join(missing)}")
    return frame


# ------------------------------------------------------------------------------ all at once

CHARTS: dict[str, Any] = {
    "evacuated_per_day": evacuated_per_day,
    "backlog": backlog_over_time,
    "forces_flights_events": forces_and_flights,
    "flight_loads": flight_loads,
    "waiting_times": waiting_times,
    "binding": binding_strip,
}
"""The single-run charts by file name, in report order."""


def all_charts(source: Any) -> dict[str, Figure]:
    """Every single-run chart of ``source`` (a RunResult or mapping of tables), by name."""
    return {name: make(source) for name, make in CHARTS.items()}


def save_charts(source: Any, out_dir: str | Path, formats: Sequence[str] = ("png",),
                dpi: int = 110) -> list[Path]:
    """Write every single-run chart as ``out_dir/NAME.FORMAT`` (png and/or svg); returns
    the paths written."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, fig in all_charts(source).items():
        for fmt in formats:
            path = out / f"{name}.{fmt}"
            fig.savefig(path, format=fmt, dpi=dpi)
            written.append(path)
        log.info("wrote chart %s", name)
    return written
