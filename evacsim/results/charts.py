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
from matplotlib.lines import Line2D
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
    "binding_share",
    "binding_strip",
    "category_colours",
    "daily_by_scenario",
    "distribution_chart",
    "evacuated_per_day",
    "fan_chart",
    "flight_loads",
    "forces_and_flights",
    "interval_table",
    "kpi_frame",
    "kpi_intervals",
    "replication_frame",
    "response_chart",
    "save_charts",
    "sensitivity_chart",
    "throughput_difference",
    "waiting_times",
]

log = logging.getLogger(__name__)

CATEGORY_PALETTE: tuple[str, ...] = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
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
        raise ValueError(
            f"no '{name}' table in the data given (expected a RunResult or a "
            f"mapping with key '{name}')"
        )
    return table


def _provenance(source: Any) -> dict:
    if isinstance(source, pd.DataFrame):
        return {}
    prov = (
        source.get("provenance")
        if isinstance(source, Mapping)
        else getattr(source, "provenance", None)
    )
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


def _daily_by(
    frame: pd.DataFrame, time_col: str, by: str, value: str, starts_h: float = 0.0
) -> pd.DataFrame:
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
        ax.bar(
            daily.index + pd.Timedelta(hours=12),
            values,
            width=0.8,
            bottom=bottom,
            color=colours[cat],
            label=labels[cat],
            gid=f"category:{cat}",
        )
        bottom += values
    ax.set_ylabel("People evacuated per day")
    ax.set_title("Evacuated per day, by category")
    ax.yaxis.set_major_formatter("{x:,.0f}")
    _date_axis(ax)
    twin = ax.twinx()
    cumulative = daily.sum(axis=1).cumsum()
    twin.plot(
        daily.index + pd.Timedelta(days=1),
        cumulative.to_numpy(),
        color="black",
        marker="o",
        markersize=3,
        linewidth=1.6,
        label="Cumulative total (right axis)",
        gid="cumulative",
    )
    twin.set_ylabel("Cumulative evacuated")
    twin.set_ylim(bottom=0)
    twin.yaxis.set_major_formatter("{x:,.0f}")
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 3),
        frameon=False,
        fontsize=9,
    )
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
        top.plot(
            series.index,
            series.to_numpy(),
            color=STAGE_COLOURS[stage],
            label=STAGE_LABELS[stage],
            linewidth=1.4,
            gid=f"stage:{stage}",
        )
    top.set_ylabel("People (hourly mean)")
    top.set_title("Backlog at the airport")
    top.yaxis.set_major_formatter("{x:,.0f}")
    top.legend(loc="best", frameon=True, framealpha=0.85, fontsize=9)
    top.set_ylim(bottom=0)
    if bases:
        base_colours = [
            CATEGORY_PALETTE[(i + 3) % len(CATEGORY_PALETTE)] for i in range(len(bases))
        ]
        for stage, colour in zip(bases, base_colours, strict=True):
            series = totals.loc[stage]
            bottom.plot(
                series.index,
                series.to_numpy(),
                color=colour,
                linewidth=1.3,
                label=stage.split(":", 1)[1],
                gid=f"stage:{stage}",
            )
        bottom.legend(
            loc="upper right",
            frameon=False,
            fontsize=8,
            ncol=2,
            title="Staging base",
            title_fontsize=8,
        )
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
            [
                rows,
                pd.DataFrame(
                    [
                        {
                            "name": "deadline",
                            "type": "deadline",
                            "time": deadline,
                            "until": pd.NaT,
                            "detail": "whoever is not out stays",
                        }
                    ]
                ),
            ],
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
    events = (
        events
        if events is not None
        else pd.DataFrame(columns=["name", "type", "time", "until", "detail"])
    )
    deadline = _deadline(source)
    rows = _event_rows(events, deadline)

    n_rows = max(len(rows), 1)
    fig = _figure(4.6 + 0.28 * n_rows)
    top, low = fig.subplots(2, 1, sharex=True, height_ratios=[4.0, 0.5 + 0.28 * n_rows])

    troops = ground[ground["series"] == "troops_on_ground"]
    # A scenario without forces gets no troops axis (a flat zero line says nothing).
    has_troops = bool(len(troops)) and float(troops["mean"].max()) > 0
    departed = flights[flights["status"] == "departed"]
    if has_troops:
        top.plot(
            pd.to_datetime(troops["time"]),
            troops["mean"].to_numpy(),
            color="#2f4f4f",
            linewidth=1.8,
            label="Troops on the ground (left axis)",
            gid="troops_on_ground",
            zorder=3,
        )
        top.set_ylabel("Troops on the ground")
        top.yaxis.set_major_formatter("{x:,.0f}")
        top.set_ylim(0, float(troops["mean"].max()) * 1.05)
        top.set_title("Forces, flights and events")
    else:
        top.set_yticks([])
        top.set_title("Flights and events (no forces in this scenario)")
        if not len(departed):
            _no_data(top, "No forces and no flight departed")

    twin = top.twinx()
    operators = _operator_labels(source)
    handles = top.get_legend_handles_labels()[0]
    if len(departed):
        per_day = _daily_by(
            departed.assign(n=1), "departed", "operator", "n", day_starts_h(_scenario_spec(source))
        )
        bottom = np.zeros(len(per_day))
        for i, op in enumerate(per_day.columns):
            values = per_day[op].to_numpy(dtype=float)
            bars = twin.bar(
                per_day.index + pd.Timedelta(hours=12),
                values,
                width=0.75,
                bottom=bottom,
                color=CATEGORY_PALETTE[(i + 5) % 10],
                alpha=0.45,
                label=f"Flights: {operators.get(op, op)}" + (" (right axis)" if has_troops else ""),
                gid=f"flights:{op}",
            )
            handles.append(bars)
            bottom += values
    if len(departed):
        twin.set_ylabel("Flights departed per day")
        twin.set_ylim(bottom=0)
    else:
        twin.set_yticks([])
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
            ax.axvline(
                start,
                color=colour,
                linewidth=1.6 if kind == "deadline" else 0.9,
                linestyle="-" if kind in ("deadline", "incident") else "--",
                alpha=0.8,
            )
        low.plot(
            [start], [i], marker="D" if kind != "deadline" else "s", color=colour, markersize=5
        )
        when = f"{start:%d %b %H:%M}"
        detail = f" ({ev['detail']})" if isinstance(ev["detail"], str) and ev["detail"] else ""
        what = f"{ev['name']}: {kind}" if kind != "deadline" else "deadline"
        label = _plain(_shorten(f"{when}  {what}{detail}"))
        right_half = (mdates.date2num(start) - x0) > 0.55 * (x1 - x0)
        low.annotate(
            label,
            (start, i),
            xytext=(-8 if right_half else 8, 0),
            textcoords="offset points",
            ha="right" if right_half else "left",
            va="center",
            fontsize=8,
            color="#222222",
            gid=f"event:{ev['name']}",
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.85},
        )
    if not len(rows):
        low.text(0.5, 0.5, "No events", transform=low.transAxes, ha="center", va="center")
    low.set_xlim(t0, max(t1, pd.to_datetime(ground["time"]).max()) + pd.Timedelta(hours=6))
    _date_axis(low)
    if handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=min(len(handles), 3),
            frameon=False,
            fontsize=8,
        )
    return fig


def flight_loads(source: Any) -> Figure:
    """Load factors (people aboard / seats) of departed evacuation flights by operator and
    aircraft type (with, where people waited who were not allowed the empty seats, the mean
    load had they been eligible), and the hours departures were held by full staging bases,
    per day.

    ``source``: a RunResult, a mapping with ``flights``, or the ``flights`` table.
    """
    flights = _table(source, "flights")
    held = flights[flights["held_for_staging_h"].fillna(0) > 0]
    fig = _figure(4.8)
    # The held panel only when something was held: otherwise the loads take the full width.
    if len(held):
        left, right = fig.subplots(1, 2, width_ratios=[3, 2])
    else:
        left, right = fig.subplots(1, 1), None
    evac = flights[(flights["status"] == "departed") & (flights["seats"] > 0)]
    operators = _operator_labels(source)
    if len(evac):
        groups = list(evac.groupby(["operator", "aircraft"])["load_factor"])
        names = [f"{operators.get(op, op)} · {ac} (n={len(v)})" for (op, ac), v in groups]
        data = [v.to_numpy(dtype=float) for _, v in groups]
        box = left.boxplot(
            data,
            tick_labels=names,
            patch_artist=True,
            widths=0.6,
            orientation="horizontal",
            medianprops={"color": "black"},
        )
        for i, patch in enumerate(box["boxes"]):
            patch.set_facecolor(CATEGORY_PALETTE[(i + 5) % 10])
            patch.set_alpha(0.6)
        left.scatter(
            [d.mean() for d in data],
            np.arange(1, len(data) + 1),
            marker="D",
            color="black",
            zorder=3,
            s=18,
            label="mean",
            gid="mean_load_factor",
        )
        if "may_not_board" in evac and evac["may_not_board"].fillna(0).any():
            # Where people waited who were not allowed the empty seats (operators' rules).
            empty = (evac["seats"] - evac["boarded"] - evac["troops_out"]).clip(lower=0)
            refused = np.minimum(empty, evac["may_not_board"].fillna(0)) / evac["seats"]
            could = [(v + refused.loc[v.index]).to_numpy(dtype=float).mean() for _, v in groups]
            left.scatter(
                could,
                np.arange(1, len(data) + 1),
                marker="D",
                facecolors="none",
                edgecolors="black",
                zorder=3,
                s=18,
                label="mean if those waiting had been eligible",
                gid="load_if_eligible",
            )
            left.legend(frameon=False, fontsize=7, loc="lower right")
        left.axvline(1.0, color="#555555", linewidth=0.8, linestyle=":")
        left.set_xlim(0, max(1.05, float(np.nanmax(evac["load_factor"])) * 1.05))
        left.tick_params(axis="y", labelsize=8)
    else:
        _no_data(left, "No evacuation flight departed")
    left.set_xlabel("Load factor (aboard / seats; box: quartiles, diamond: mean)")
    left.set_title(
        "Flight load factors by operator and aircraft"
        + ("" if len(held) else " (no departure was held by a full staging base)"),
        fontsize=10,
    )
    if right is not None:
        per_day = _daily_by(
            held.assign(departed=held["departed"].fillna(held["boarding"])),
            "departed",
            "destination",
            "held_for_staging_h",
            day_starts_h(_scenario_spec(source)),
        )
        bottom = np.zeros(len(per_day))
        for i, base in enumerate(per_day.columns):
            values = per_day[base].to_numpy(dtype=float)
            right.bar(
                per_day.index + pd.Timedelta(hours=12),
                values,
                width=0.8,
                bottom=bottom,
                color=CATEGORY_PALETTE[(i + 3) % 10],
                label=str(base),
                gid=f"held:{base}",
            )
            bottom += values
        right.legend(frameon=False, fontsize=8, title="Staging base", title_fontsize=8)
        _date_axis(right)
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

    floor_h = 0.1  # 6 min: the log axis starts here; quicker journeys are drawn at it
    if groups is not None and len(groups) and "t_depart" in groups:
        out = groups[groups["t_depart"].notna()]
        for cat in cats:
            g = out[out["category"] == cat]
            if not len(g):
                continue
            hours = np.maximum((g["t_depart"] - g["t_arrive"]).to_numpy(dtype=float), floor_h)
            order = np.argsort(hours)
            weights = g["size"].to_numpy(dtype=float)[order]
            share = np.cumsum(weights) / weights.sum()
            left.step(
                hours[order],
                share,
                where="post",
                color=colours[cat],
                label=labels[cat],
                gid=f"category:{cat}",
            )
        if left.get_legend_handles_labels()[0]:
            # A true log axis from 6 min (a symlog one put a stray "0" at its origin),
            # tick labels in plain hours.
            left.set_xscale("log")
            left.set_xlim(left=floor_h)
            left.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:g}"))
            left.set_ylim(0, 1.01)
            left.set_xlabel("Hours from arrival at the gates to departure (log scale)")
            left.set_ylabel("Share of evacuees")
        else:
            _no_data(left, "Nobody was evacuated")
    else:
        _no_data(left, "Per-group records were not kept:\nsee the percentiles on the right")
    left.set_title("Time to departure (cumulative)", fontsize=10)

    stages = [
        s for s in ("outside", "screening_queue", "inside", "total") if s in set(waits["stage"])
    ]
    width = 0.8 / max(len(cats), 1)
    x = np.arange(len(stages))
    for i, cat in enumerate(cats):
        w = waits[waits["category"] == cat].set_index("stage").reindex(stages)
        offset = x - 0.4 + width * (i + 0.5)
        right.bar(
            offset,
            w["p50_h"].to_numpy(dtype=float),
            width=width * 0.9,
            color=colours[cat],
            label=labels[cat],
            gid=f"category:{cat}",
        )
        right.scatter(
            offset,
            w["p90_h"].to_numpy(dtype=float),
            marker="_",
            s=80,
            color=colours[cat],
            linewidths=2,
        )
    right.set_xticks(x, [s.replace("_", " ") for s in stages])
    right.set_ylabel("Hours")
    right.set_title("Waits by stage and category", fontsize=10)
    # One legend for both panels, below them (inside, it covered the curves): the category
    # colours, then how to read the bars.
    handles = [Patch(color=colours[c], label=labels[c]) for c in cats]
    handles += [
        Patch(facecolor="#bbbbbb", label="bar: median wait"),
        Line2D(
            [],
            [],
            color="#555555",
            marker="_",
            linestyle="none",
            markersize=12,
            markeredgewidth=2,
            label="dash: 90th percentile",
        ),
    ]
    fig.legend(
        handles=handles,
        loc="outside lower center",
        ncol=min(len(handles), 4),
        frameon=False,
        fontsize=8,
    )
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
        strip.pcolormesh(
            edges, [0, 1], codes, cmap=cmap, norm=norm, edgecolors="white", linewidth=1.0
        )
    strip.set_yticks([0.5], ["Binding"])
    strip.set_title("What was binding, day by day")
    present = list(dict.fromkeys(binding["binding"]))
    fig.legend(
        handles=[
            Patch(color=CONSTRAINT_COLOURS[n], label=CONSTRAINT_LABELS[n])
            for n in names
            if n in present
        ],
        loc="outside lower center",
        ncol=min(len(present), 4),
        frameon=False,
        fontsize=8,
        title="Binding constraint",
        title_fontsize=8,
    )
    scores = binding[list(CONSTRAINTS)].to_numpy(dtype=float).T
    if len(days):
        greys = ListedColormap(colormaps["Greys"](np.linspace(0.0, 0.75, 256)))
        mesh = heat.pcolormesh(
            edges,
            np.arange(len(CONSTRAINTS) + 1),
            scores,
            cmap=greys,
            vmin=0,
            vmax=1,
            edgecolors="white",
            linewidth=0.5,
        )
        fig.colorbar(mesh, ax=[strip, heat], label="Saturation score", shrink=0.8)
        for j, b in enumerate(binding["binding"]):
            if b != NONE:
                heat.plot(
                    (edges[j] + edges[j + 1]) / 2,
                    CONSTRAINTS.index(b) + 0.5,
                    marker="o",
                    markersize=10,
                    markerfacecolor=CONSTRAINT_COLOURS[b],
                    markeredgecolor="white",
                    markeredgewidth=1.5,
                    gid=f"binding:{b}",
                )
    heat.set_yticks(np.arange(len(CONSTRAINTS)) + 0.5, [CONSTRAINT_LABELS[c] for c in CONSTRAINTS])
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
        evac_day = (
            evac["day"]
            if "day" in evac.columns
            else day_label(pd.to_datetime(evac["time"]), starts_h)
        )
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
        for stage, name in (
            ("outside", "waiting outside (end of day)"),
            ("inside_waiting", "waiting inside (end of day)"),
        ):
            at = levels[levels["stage"] == stage].groupby("time")["end"].sum()
            at_day = end_of_day_hours(pd.DatetimeIndex(at.index), starts_h)
            series[name] = at.groupby(at_day).last().reindex(days)
        for name, values in series.items():
            frames.append(
                pd.DataFrame(
                    {
                        "replication": rep,
                        "date": days,
                        "series": name,
                        "value": values.to_numpy(dtype=float),
                    }
                )
            )
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


def interval_table(
    frame: pd.DataFrame, by: Sequence[str], low: float = 0.05, high: float = 0.95
) -> pd.DataFrame:
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
            ax.plot(
                q.index,
                q[0.5],
                color=colour,
                linewidth=1.6,
                label=label,
                gid=f"median:{scen if scen is not None else name}",
            )
        ax.set_title(_plain(name), fontsize=10)
        ax.set_ylabel("People")
        ax.yaxis.set_major_formatter("{x:,.0f}")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False, fontsize=8, loc="upper left")
    _date_axis(axes[-1])
    fig.suptitle(f"Median and 5-95 % band over {n_reps} replications (dark: 25-75 %)", fontsize=11)
    return fig


def kpi_intervals(
    frame: pd.DataFrame, kpis: Sequence[str] | None = None, labels: Mapping[str, str] | None = None
) -> Figure:
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
            ax.plot(
                [r["low"], r["high"]],
                [i, i],
                color=colour,
                linewidth=4,
                alpha=0.5,
                solid_capstyle="butt",
            )
            ax.plot([r["median"]], [i], marker="o", color=colour, gid=f"median:{scen}:{kpi}")
        ax.set_yticks(
            range(len(scenarios)),
            ["all runs" if s is None else _plain(s) for s in scenarios],
            fontsize=8,
        )
        ax.set_ylim(len(scenarios) - 0.5, -0.5)
        ax.set_title(_plain(labels.get(kpi, kpi)), fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
        ax.tick_params(axis="x", labelsize=8)
        ax.margins(x=0.15)
    for ax in axes[len(chosen) :]:
        ax.set_visible(False)
    fig.suptitle("KPIs: median (dot) and 5-95 % band over replications", fontsize=11)
    return fig


def daily_by_scenario(frame: pd.DataFrame) -> pd.DataFrame:
    """People evacuated per day, one column per scenario, indexed by (replication, date),
    over every day any scenario ran: a scenario whose run is over (an earlier deadline, a
    later start) evacuates no one on the days it lacks, so those count as 0 and cumulative
    differences add up to the difference in totals (dropping the days undercounted it).
    Only replications every scenario finished are kept: pairs stay pairs.

    ``frame``: long format with ``scenario``, ``replication``, ``date``, ``value``.
    """
    frame = frame.assign(date=pd.to_datetime(frame["date"]))
    scenarios = list(dict.fromkeys(frame["scenario"]))
    reps = frame.groupby("scenario")["replication"].unique()
    common = set.intersection(*(set(reps[s]) for s in scenarios))
    frame = frame[frame["replication"].isin(common)]
    days = pd.DatetimeIndex(sorted(frame["date"].unique()))
    index = pd.MultiIndex.from_product([sorted(common), days], names=["replication", "date"])
    wide = frame.pivot_table(
        index=["replication", "date"], columns="scenario", values="value", aggfunc="sum"
    )
    return wide.reindex(index=index, columns=scenarios).fillna(0.0)


def throughput_difference(frame: pd.DataFrame, baseline: str, series: str | None = None) -> Figure:
    """Difference in people evacuated per day (and cumulatively) between each scenario and
    ``baseline``, per replication (paired by replication: with common random numbers the
    noise cancels), as a median line and 5-95 % band.

    ``frame``: long format with ``scenario``, ``replication`` (or ``rep``), ``date`` and
    ``value`` (people evacuated per day; days one scenario lacks count as 0 for it, see
    :func:`daily_by_scenario`); if it has a ``series`` column, the rows of ``series`` are
    used: by default ``"evacuated per day"`` (as made by :func:`replication_frame`) or else
    ``"evacuated"`` (as the experiments store names it).
    """
    frame = _require(frame, ["scenario", "replication", "date", "value"])
    if "series" in frame:
        names = set(frame["series"])
        if series is None:
            series = "evacuated per day" if "evacuated per day" in names else "evacuated"
        if series not in names:
            raise ValueError(
                f"no series '{series}' in the data (expected one of: "
                f"{', '.join(sorted(map(str, names)))})"
            )
        frame = frame[frame["series"] == series]
    if baseline not in set(frame["scenario"]):
        raise ValueError(
            f"baseline '{baseline}' is not among the scenarios: "
            f"{', '.join(map(str, dict.fromkeys(frame['scenario'])))}"
        )
    wide = daily_by_scenario(frame)
    others = [s for s in dict.fromkeys(frame["scenario"]) if s != baseline]
    fig = _figure(6.0)
    daily_ax, cum_ax = fig.subplots(2, 1, sharex=True)
    for i, scen in enumerate(others):
        diff = (wide[scen] - wide[baseline]).rename("diff").reset_index()
        diff["cum"] = diff.sort_values("date").groupby("replication")["diff"].cumsum()
        colour = CATEGORY_PALETTE[(i + 1) % 10]
        for ax, col in ((daily_ax, "diff"), (cum_ax, "cum")):
            q = diff.groupby("date")[col].quantile([0.05, 0.5, 0.95]).unstack()
            ax.fill_between(q.index, q[0.05], q[0.95], color=colour, alpha=0.2, linewidth=0)
            ax.plot(
                q.index,
                q[0.5],
                color=colour,
                linewidth=1.6,
                label=f"{_plain(scen)} minus {_plain(baseline)}",
                gid=f"diff:{scen}:{col}",
            )
    for ax, title in (
        (daily_ax, "Difference in people evacuated per day"),
        (cum_ax, "Cumulative difference"),
    ):
        ax.axhline(0, color="#333333", linewidth=0.8)
        ax.set_title(title, fontsize=10)
        ax.set_ylabel("People")
        ax.yaxis.set_major_formatter("{x:+,.0f}")
    daily_ax.legend(frameon=False, fontsize=8, loc="upper left")
    _date_axis(cum_ax)
    fig.suptitle(
        f"Each scenario against {_plain(baseline)}: median and 5-95 % band over replications",
        fontsize=11,
    )
    return fig


def sensitivity_chart(
    indices: pd.DataFrame, kpi: str | None = None, method: str | None = None
) -> Figure:
    """Tornado chart of a sensitivity study: one bar per input, most influential on top, one
    panel per KPI.

    Sobol: the total index ST (light bar) with the first-order index S1 inside it (dark bar),
    each with its bootstrap interval; both are shares of the KPI's variance (0-1). Morris:
    mu* (mean absolute elementary effect, in the KPI's unit) with its interval, and sigma
    (diamond). ``indices``: as :class:`evacsim.experiments.SensitivityResult.indices`.
    """
    method = method or ("sobol" if "ST" in indices.columns else "morris")
    kpis = [kpi] if kpi else list(dict.fromkeys(indices["kpi"]))
    n_params = indices["parameter"].nunique()
    fig = _figure(1.2 + len(kpis) * (0.9 + 0.42 * n_params))
    axes = np.atleast_1d(fig.subplots(len(kpis), 1, squeeze=False)[:, 0])
    key = "ST" if method == "sobol" else "mu_star"
    for ax, name in zip(axes, kpis, strict=True):
        part = indices[indices["kpi"] == name].sort_values(key, ascending=True, na_position="first")
        y = np.arange(len(part))
        labels = [_plain(_shorten(p, 48)) for p in part["parameter"]]
        if part[key].isna().all():
            _no_data(ax, f"{name} does not vary over the ranges: no index to compute")
            ax.set_title(_plain(name), fontsize=10)
            continue
        if method == "sobol":
            for col, colour, height, lift, label in (
                ("ST", "#9ecae1", 0.7, 0.26, "total (ST)"),
                ("S1", "#08519c", 0.35, 0.0, "first order (S1)"),
            ):
                values = part[col].to_numpy(dtype=float)
                err = np.vstack([values - part[f"{col}_low"], part[f"{col}_high"] - values])
                ax.barh(
                    y,
                    np.clip(values, 0, None),
                    height=height,
                    color=colour,
                    label=label,
                    gid=f"{col}:{name}",
                )
                # Whiskers apart (ST's along the top of its bar) so the two never overlap.
                ax.errorbar(
                    values,
                    y + lift,
                    xerr=np.clip(err, 0, None),
                    fmt="none",
                    ecolor="#08519c" if col == "ST" else "#333333",
                    capsize=2,
                    lw=0.8,
                )
            lows = np.nanmin(part[["S1_low", "ST_low"]].to_numpy(dtype=float))
            highs = np.nanmax(part[["S1_high", "ST_high"]].to_numpy(dtype=float))
            ax.set_xlim(min(0.0, lows) - 0.02, max(1.0, highs) * 1.03)
            ax.axvline(0, color="#333333", linewidth=0.6)
            ax.set_xlabel(
                "Share of the KPI's variance (bars: estimate, whiskers: bootstrap interval)"
            )
        else:
            values = part["mu_star"].to_numpy(dtype=float)
            err = np.vstack([values - part["mu_star_low"], part["mu_star_high"] - values])
            ax.barh(
                y,
                values,
                height=0.6,
                color="#9ecae1",
                label="mu* (mean |effect|)",
                xerr=np.clip(err, 0, None),
                error_kw={"ecolor": "#333333", "capsize": 2, "lw": 0.8},
                gid=f"mu_star:{name}",
            )
            ax.scatter(
                part["sigma"],
                y,
                marker="D",
                color="#08519c",
                zorder=3,
                s=22,
                label="sigma (spread)",
            )
            ax.set_xlim(left=0)
            ax.xaxis.set_major_formatter(FuncFormatter(_compact))
            ax.set_xlabel(f"Change in {_plain(name)} across an input's range")
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_title(_plain(name), fontsize=10)
    handles = axes[0].get_legend_handles_labels()[0]
    if handles:  # one legend for every panel, below them (inside, it hid the whiskers)
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=len(handles),
            frameon=False,
            fontsize=8,
        )
    fig.suptitle(
        ("Sobol indices" if method == "sobol" else "Morris screening")
        + ": which inputs the KPI hangs on",
        fontsize=11,
    )
    return fig


def binding_share(share: pd.DataFrame, title: str | None = None) -> Figure:
    """What was binding each day over replications: per day, a bar split by the share of
    replications in which each constraint was binding (the day's bar sums to 1).

    ``share``: columns ``date``, ``constraint`` (a name of :data:`CONSTRAINTS` or ``none``)
    and ``share`` (0-1).
    """
    names = [*CONSTRAINTS, NONE]
    wide = share.assign(date=pd.to_datetime(share["date"])).pivot_table(
        index="date", columns="constraint", values="share", aggfunc="sum", fill_value=0.0
    )
    fig = _figure(3.6)
    ax = fig.add_subplot()
    bottom = np.zeros(len(wide))
    present = [n for n in names if n in wide.columns and wide[n].sum() > 0]
    for name in present:
        values = wide[name].to_numpy(dtype=float)
        ax.bar(
            wide.index + pd.Timedelta(hours=12),
            values,
            width=0.9,
            bottom=bottom,
            color=CONSTRAINT_COLOURS[name],
            label=CONSTRAINT_LABELS[name],
            edgecolor="white",
            linewidth=0.5,
            gid=f"share:{name}",
        )
        bottom += values
    ax.set_ylim(0, 1)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _p: f"{v:.0%}"))
    ax.set_ylabel("Share of replications")
    ax.set_title(title or "What was binding, day by day: share of replications", fontsize=10)
    _date_axis(ax, minor_days=False)
    fig.legend(
        loc="outside lower center",
        ncol=min(max(len(present), 1), 4),
        frameon=False,
        fontsize=8,
        title="Binding constraint",
        title_fontsize=8,
    )
    return fig


def distribution_chart(
    frame: pd.DataFrame, kpis: Sequence[str], labels: Mapping[str, str] | None = None
) -> Figure:
    """The distribution of KPIs over replications: a histogram per KPI (one panel each),
    one colour per scenario if a ``scenario`` column is present, the mean dashed.

    ``frame``: long format with ``replication``, ``kpi``, ``value`` [, ``scenario``].
    """
    frame = _require(frame, ["replication", "kpi", "value"])
    labels = dict(labels or {})
    scenarios = _scenarios(frame)
    fig = _figure(3.4, _WIDTH_IN)
    axes = np.atleast_1d(fig.subplots(1, len(kpis), squeeze=False)[0])
    for ax, kpi in zip(axes, kpis, strict=True):
        part = frame[frame["kpi"] == kpi]
        values = part["value"].to_numpy(dtype=float)
        if not len(values):
            _no_data(ax, f"no {kpi} in these results")
            continue
        edges = np.histogram_bin_edges(values, bins=min(20, max(5, len(values) // 2)))
        if edges[0] == edges[-1]:
            edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
        for i, scen in enumerate(scenarios):
            sub = part if scen is None else part[part["scenario"] == scen]
            colour = CATEGORY_PALETTE[i % 10]
            ax.hist(
                sub["value"],
                bins=edges,
                color=colour,
                alpha=0.55,
                label="replications" if scen is None else _plain(scen),
                gid=f"hist:{scen}:{kpi}",
            )
            ax.axvline(sub["value"].mean(), color=colour, linestyle="--", linewidth=1.2)
        ax.set_title(_plain(labels.get(kpi, kpi)), fontsize=10)
        ax.set_ylabel("Replications")
        ax.xaxis.set_major_formatter(FuncFormatter(_compact))
        ax.xaxis.set_major_locator(MaxNLocator(nbins=5))
    handles = axes[0].get_legend_handles_labels()[0]
    if len(scenarios) > 1 and handles:
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncol=min(len(handles), 4),
            frameon=False,
            fontsize=8,
        )
    fig.suptitle("Over replications (dashed: mean)", fontsize=11)
    return fig


def response_chart(
    points: pd.DataFrame,
    levers: Sequence[str],
    kpis: Sequence[str],
    labels: Mapping[str, str] | None = None,
) -> Figure:
    """Each KPI against each lever, across the uncertainties: one dot per design point (its
    mean over replications) and a line through the median at each lever value; the spread
    of the dots at one lever value is what the uncertainties do to it.

    ``points``: one row per point, a column per lever and per KPI (point means).
    """
    labels = dict(labels or {})
    fig = _figure(0.6 + 2.6 * len(kpis))
    axes = fig.subplots(len(kpis), max(len(levers), 1), squeeze=False)
    for r, kpi in enumerate(kpis):
        for c, lever in enumerate(levers):
            ax = axes[r, c]
            x = pd.to_numeric(points[lever], errors="coerce")
            y = points[kpi].astype(float)
            if x.isna().all():  # a profile or text value: one category per setting
                codes = {v: i for i, v in enumerate(dict.fromkeys(points[lever].astype(str)))}
                x = points[lever].astype(str).map(codes).astype(float)
                ax.set_xticks(list(codes.values()), [_shorten(k, 18) for k in codes], fontsize=7)
            ax.scatter(
                x, y, s=14, alpha=0.6, color=CATEGORY_PALETTE[c % 10], gid=f"points:{kpi}:{lever}"
            )
            med = y.groupby(x).median()
            if len(med) > 1 and len(med) < len(y):
                ax.plot(
                    med.index,
                    med.to_numpy(),
                    color="black",
                    linewidth=1.3,
                    label="median across the uncertainties",
                )
            ax.yaxis.set_major_formatter(FuncFormatter(_compact))
            if np.allclose(x.dropna(), np.round(x.dropna())):  # whole-number settings
                ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if r == len(kpis) - 1:
                ax.set_xlabel(_plain(_shorten(lever, 40)), fontsize=9)
            if c == 0:
                ax.set_ylabel(_plain(labels.get(kpi, kpi)), fontsize=9)
    fig.suptitle(
        "Response of each KPI to each lever (dots: design points, mean over "
        "replications; line: median across the uncertainties)",
        fontsize=11,
    )
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


def save_charts(
    source: Any, out_dir: str | Path, formats: Sequence[str] = ("png",), dpi: int = 110
) -> list[Path]:
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
