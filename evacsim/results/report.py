"""One self-contained HTML report of a run, for a planner to brief from.

The report is built from a results folder written by :meth:`evacsim.RunResult.write`
(``evacsim run SCENARIO --out DIR``): the CSV tables and ``provenance.yaml``. It holds the
scenario summary, the KPIs, the charts (PNG embedded as ``data:`` URIs), the what-was-binding
strip and table, the events timeline and the provenance. It loads nothing from the network
and runs no script, so it opens offline in any browser and can be mailed as one file.

Every piece of text that comes from a scenario or a results file is passed through
:func:`html.escape` before it reaches the page.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import logging
import math
from collections.abc import Sequence
from html import escape
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from evacsim.scenario.units import format_clock

from . import charts
from .binding import CONSTRAINTS, LEVEL_THRESHOLD, NONE, TIME_THRESHOLD, binding_constraints
from .result import RunResult

__all__ = [
    "SECTIONS",
    "ResultsError",
    "figure_html",
    "operators_html",
    "page_html",
    "read_results",
    "render_report",
    "table_html",
    "timeline",
    "timeline_html",
    "write_report",
]

log = logging.getLogger(__name__)

SECTIONS: tuple[tuple[str, str], ...] = (
    ("summary", "Scenario"),
    ("kpis", "Key results"),
    ("charts", "Charts"),
    ("binding", "What was binding"),
    ("operators", "By nation and operator"),
    ("schedules", "Flights by schedule"),
    ("events", "Events timeline"),
    ("provenance", "Provenance"),
)
"""The report's sections as (HTML id, heading), in order."""

_TIME_COLUMNS = {
    "evacuated_hourly": ["time", "day"],
    "backlog": ["time"],
    "ground": ["time"],
    "flights": ["slot", "landed", "boarding", "departed", "day"],
    "utilisation": ["date"],
    "events": ["time", "until"],
    "groups": ["arrive_time", "gate_time", "screened_time", "board_time", "depart_time"],
    "convoys": ["departed", "arrived"],
}
_REQUIRED = (
    "kpis",
    "evacuated_hourly",
    "backlog",
    "ground",
    "flights",
    "utilisation",
    "left_behind",
    "waits",
    "events",
)

_KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    # key, label, format
    ("evacuated", "Evacuated", "{:,.0f}"),
    ("left_behind", "Left behind (reached the airport, not flown out)", "{:,.0f}"),
    ("left_behind.outside", "  of whom outside the gates at the deadline", "{:,.0f}"),
    ("left_behind.inside_waiting", "  of whom inside, waiting", "{:,.0f}"),
    ("left_behind.away", "  of whom gave up and went away", "{:,.0f}"),
    ("turned_away", "Turned away at screening", "{:,.0f}"),
    ("never_arrived", "Never reached the airport", "{:,.0f}"),
    ("peak_24h_evacuated", "Peak 24 h evacuated", "{:,.0f}"),
    ("peak_day_evacuated", "Peak reporting day evacuated", "{:,.0f}"),
    ("peak_backlog.outside", "Peak crowd outside the gates", "{:,.0f}"),
    ("peak_backlog.inside_waiting", "Peak waiting inside", "{:,.0f}"),
    ("flights_departed", "Flights departed", "{:,.0f}"),
    ("mean_load_factor", "Mean load factor of evacuation flights", "{:.2f}"),
    ("held_for_staging_h", "Aircraft-hours held by full staging bases", "{:,.1f}"),
    ("wait_total_p50_h", "Median time from arrival to departure (h)", "{:,.1f}"),
    ("wait_total_p90_h", "90th percentile time from arrival to departure (h)", "{:,.1f}"),
)

_CHART_TITLES = {
    "evacuated_per_day": "Evacuated per day by category, and the cumulative total",
    "backlog": "Backlog over time by stage, and staging bases",
    "forces_flights_events": "Troops on the ground, flights per day and the timeline of events",
    "flight_loads": "Flight load factors, and aircraft held by full staging bases",
    "waiting_times": "Waiting times by category",
}


class ResultsError(ValueError):
    """A results folder is missing or incomplete; ``str()`` names the file and what's expected."""


# ------------------------------------------------------------------------------ reading


def read_results(results_dir: str | Path) -> RunResult:
    """Read a results folder written by :meth:`RunResult.write` back into a RunResult.

    Raises :class:`ResultsError` naming the missing file if the folder is not one.
    """
    folder = Path(results_dir)
    if not folder.is_dir():
        raise ResultsError(f"{folder}: not a folder (expected the --out folder of evacsim run)")
    tables: dict[str, pd.DataFrame] = {}
    for name in (*_REQUIRED, "groups", "convoys"):
        path = folder / f"{name}.csv"
        if not path.is_file():
            if name in ("groups", "convoys"):  # written only by runs that have them
                continue
            raise ResultsError(
                f"{path}: missing (expected the tables written by evacsim run --out)"
            )
        try:
            frame = pd.read_csv(path)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
            raise ResultsError(f"{path}: unreadable CSV ({err})") from err
        for col in _TIME_COLUMNS.get(name, []):
            if col in frame:
                frame[col] = pd.to_datetime(frame[col], format="ISO8601")
        tables[name] = frame
    prov_path = folder / "provenance.yaml"
    provenance: dict[str, Any] = {}
    if prov_path.is_file():
        try:
            provenance = yaml.safe_load(prov_path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as err:
            raise ResultsError(f"{prov_path}: unreadable YAML ({err})") from err
        if not isinstance(provenance, dict):
            raise ResultsError(f"{prov_path}: expected a mapping of provenance fields")
    else:
        raise ResultsError(
            f"{prov_path}: missing (expected the provenance written by evacsim run --out)"
        )
    kpis = dict(
        zip(tables["kpis"]["kpi"].astype(str), tables["kpis"]["value"].astype(float), strict=True)
    )
    return RunResult(
        scenario_name=str(provenance.get("scenario", folder.name)),
        seed=provenance.get("seed"),
        kpis=kpis,
        evacuated=tables["evacuated_hourly"],
        backlog=tables["backlog"],
        ground=tables["ground"],
        flights=tables["flights"],
        groups=tables.get("groups"),
        utilisation=tables["utilisation"],
        left_behind=tables["left_behind"],
        waits=tables["waits"],
        events=tables["events"],
        provenance=provenance,
        convoys=tables.get("convoys"),
    )


# ------------------------------------------------------------------------------ HTML pieces


def _png(fig, dpi: int = 100) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def figure_html(name: str, title: str, fig) -> str:
    return (
        f'<figure id="chart-{escape(name)}">'
        f'<img alt="{escape(title)}" src="data:image/png;base64,{_png(fig)}">'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NaT:
        return "–"
    if isinstance(value, pd.Timestamp | dt.datetime):
        return escape(f"{value:%d %b %Y %H:%M}")
    if isinstance(value, float):
        return escape(f"{value:,.2f}")
    return escape(str(value))


def _numeric(value: Any) -> str:
    """A class attribute right-aligning numbers (also numbers already formatted as text)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return ' class="n"'
    text = str(value).replace(",", "").replace("–", "")
    try:
        float(text)
    except ValueError:
        return ""
    return ' class="n"'


def table_html(frame: pd.DataFrame, headers: Sequence[str] | None = None, css: str = "") -> str:
    heads = headers if headers is not None else [str(c) for c in frame.columns]
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    body = "".join(
        "<tr>" + "".join(f"<td{_numeric(v)}>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    cls = f' class="{escape(css)}"' if css else ""
    return f"<table{cls}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _fmt(value: float, pattern: str) -> str:
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else (pattern.format(value))
    )


def _summary_html(result: RunResult) -> str:
    spec = result.provenance.get("resolved_scenario") or {}
    start, deadline = spec.get("start"), spec.get("deadline")
    rows = [
        ("Scenario", result.scenario_name),
        ("Description", spec.get("description") or "–"),
        ("Period", f"{start} to {deadline}" if start and deadline else "–"),
        ("Seed", str(result.seed)),
        ("Gates", ", ".join(spec.get("gates", {})) or "–"),
        ("Staging bases", ", ".join(spec.get("staging", {})) or "–"),
        (
            "Operators",
            ", ".join((v or {}).get("label") or k for k, v in spec.get("operators", {}).items())
            or "–",
        ),
    ]
    facts = "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
    demand = spec.get("demand", {})
    cats = pd.DataFrame(
        [
            {
                "Category": (c or {}).get("label") or key,
                "Key": key,
                "Eligible (pool)": f"{(c or {}).get('pool', 0):,}",
                "Priority": (c or {}).get("priority", "–"),
                "Evacuated": _fmt(result.kpis.get(f"evacuated.{key}", math.nan), "{:,.0f}"),
                "Left behind": _fmt(
                    result.kpis.get(f"left_behind_by_category.{key}", math.nan), "{:,.0f}"
                ),
            }
            for key, c in demand.items()
        ]
    )
    table = table_html(cats, css="numbers") if len(cats) else "<p>No categories.</p>"
    return f'<table class="facts">{facts}</table><h3>Categories</h3>{table}'


def _kpi_html(result: RunResult) -> str:
    k = result.kpis
    rows = "".join(
        f"<tr><th>{escape(label)}</th><td>{escape(_fmt(k[key], pattern))}</td></tr>"
        for key, label, pattern in _KPI_ROWS
        if key in k
    )
    shown = {key for key, _, _ in _KPI_ROWS}
    rest = pd.DataFrame(
        [{"KPI": key, "Value": _fmt(v, "{:,.2f}")} for key, v in k.items() if key not in shown]
    )
    more = (
        f"<details><summary>All {len(k)} KPIs</summary>{table_html(rest, css='numbers')}</details>"
        if len(rest)
        else ""
    )
    return f'<table class="kpis">{rows}</table>{more}'


def _binding_html(result: RunResult, binding: pd.DataFrame) -> str:
    fig = charts.binding_strip(result, binding=binding)
    counts = binding["binding"].value_counts()
    summary = ", ".join(
        f"{charts.CONSTRAINT_LABELS[name].lower()}: {int(counts[name])} day"
        f"{'s' if counts[name] != 1 else ''}"
        for name in [*CONSTRAINTS, NONE]
        if name in counts
    )
    table = binding.reset_index()
    table["date"] = table["date"].dt.strftime("%a %d %b")
    table["binding"] = table["binding"].map(charts.CONSTRAINT_LABELS)
    table = table[["date", "binding", *CONSTRAINTS]]
    headers = ["Day", "Binding", *[charts.CONSTRAINT_LABELS[c] for c in CONSTRAINTS]]
    rule = (
        "Each constraint gets a saturation score per day: utilisation for gates, screening "
        "and the runway, the load factor of departing flights for seats, and the share of the "
        "day spent full for the holding area, the ramp and staging bases (a departure held "
        f"for room). A constraint is saturated at {LEVEL_THRESHOLD:.0%} (utilisations and "
        f"loads) or {TIME_THRESHOLD:.0%} of the day (time full). The binding constraint is "
        "the most downstream saturated one (staging, runway, ramp, seats, eligibility, "
        "screening, holding, gates): a saturated stage blocks those upstream of it, so "
        "their saturation is a symptom. 'Eligibility' means flights left with seats that "
        "people waiting inside were not allowed to take (operators' boarding rules); "
        "'Nothing' means throughput followed demand: nobody was waiting for those seats. Days "
        f"are reporting days from {format_clock(result.reporting_day_starts_h)} local time, "
        "each labelled by the date on which it starts (the scenario's reporting_day_starts)."
    )
    return (
        f"<p>{escape(rule)}</p><p><strong>Days binding:</strong> {escape(summary)}.</p>"
        f"{figure_html('binding', 'What was binding, day by day', fig)}"
        f"<details><summary>Scores by day</summary>{table_html(table, headers, 'numbers')}"
        "</details>"
    )


def timeline(spec: dict[str, Any], events: pd.DataFrame | None = None) -> pd.DataFrame:
    """The run's timeline in time order (columns time, until, name, kind, detail): troop
    deployments and withdrawals, operators ending, flight schedules, the scenario's events
    (as they happened, from ``events``, or as scheduled, from ``spec``) and the deadline.

    ``spec`` is a resolved scenario as a plain mapping (``provenance["resolved_scenario"]``).
    """
    rows: list[dict[str, Any]] = []
    forces = spec.get("forces") or {}
    for name, d in (forces.get("deployments") or {}).items():
        rows.append(
            {
                "time": d.get("from"),
                "until": d.get("to"),
                "name": name,
                "kind": "troops deployed",
                "detail": f"{d.get('troops', 0):,} {d.get('nation', '')} troops, "
                f"{d.get('per_aircraft', '?')} per {d.get('aircraft', '')} of "
                f"{d.get('operator', '')}",
            }
        )
    for name, w in (forces.get("withdrawals") or {}).items():
        rows.append(
            {
                "time": w.get("from"),
                "until": w.get("to"),
                "name": name,
                "kind": "troops withdrawn",
                "detail": f"{w.get('troops', 0):,} {w.get('nation', '')} troops"
                + (f" flown out by {w['operator']}" if w.get("operator") else ""),
            }
        )
    scheduled_ends = set()
    if events is not None and len(events):
        for ev in events.itertuples():
            kind = charts.EVENT_STYLE.get(ev.type, (None, str(ev.type)))[1]
            rows.append(
                {
                    "time": ev.time,
                    "until": getattr(ev, "until", None),
                    "name": ev.name,
                    "kind": kind,
                    "detail": getattr(ev, "detail", ""),
                }
            )
            if ev.type == "operator_ends":
                scheduled_ends.add(ev.name)
    else:
        for name, ev in (spec.get("events") or {}).items():
            kind = charts.EVENT_STYLE.get(ev.get("type"), (None, str(ev.get("type"))))[1]
            detail = ", ".join(
                f"{k}: {v}" for k, v in ev.items() if k not in ("type", "at", "until", "source")
            )
            rows.append(
                {
                    "time": ev.get("at"),
                    "until": ev.get("until"),
                    "name": name,
                    "kind": kind,
                    "detail": detail,
                }
            )
    for name, op in (spec.get("operators") or {}).items():
        if (op or {}).get("ends") and name not in scheduled_ends:
            rows.append(
                {
                    "time": op["ends"],
                    "until": None,
                    "name": name,
                    "kind": "operator ends",
                    "detail": f"{op.get('label') or name} launches no more flights",
                }
            )
    for name, f in (spec.get("flights") or {}).items():
        rows.append(
            {
                "time": f.get("from"),
                "until": f.get("to"),
                "name": name,
                "kind": "flight schedule",
                "detail": f"{f.get('operator', '')} {f.get('aircraft', '')}",
            }
        )
    if spec.get("deadline"):
        rows.append(
            {
                "time": spec["deadline"],
                "until": None,
                "name": "deadline",
                "kind": "deadline",
                "detail": "whoever is not out stays",
            }
        )
    frame = pd.DataFrame(rows, columns=["time", "until", "name", "kind", "detail"])
    frame["time"] = pd.to_datetime(frame["time"], format="ISO8601")
    frame["until"] = pd.to_datetime(frame["until"], format="ISO8601")
    return frame.sort_values("time", kind="stable").reset_index(drop=True)


def timeline_html(spec: dict[str, Any], events: pd.DataFrame | None = None) -> str:
    """The timeline (see :func:`timeline`) as an HTML table."""
    frame = timeline(spec, events)
    if not len(frame):
        return "<p>No events in this scenario.</p>"
    return table_html(frame, ["When", "Until", "Event", "Kind", "What happened"])


def schedule_table(flights: pd.DataFrame) -> pd.DataFrame:
    """Per flight schedule: flights departed, aircraft flying them (fleets), sorties per
    aircraft, people carried, mean load factor, aircraft-hours held by full staging bases
    and people left waiting who were not allowed the empty seats (summed over flights)."""
    f = flights[flights["status"] == "departed"]
    if not len(f):
        return pd.DataFrame()
    tails = f["tail"] if "tail" in f else pd.Series(-1, index=f.index)
    refused = f["may_not_board"] if "may_not_board" in f else pd.Series(0, index=f.index)
    g = f.assign(tail=tails, refused=refused).groupby(["schedule", "operator", "aircraft"])
    out = pd.DataFrame(
        {
            "flights": g.size(),
            "fleet": g["tail"].agg(lambda t: int(t.max()) + 1 if (t >= 0).any() else 0),
            "people": g["boarded"].sum(),
            "load": g["load_factor"].mean(),
            "held_h": g["held_for_staging_h"].sum(),
            "refused": g["refused"].sum(),
        }
    ).reset_index()
    out["per_aircraft"] = np.where(out["fleet"] > 0, out["flights"] / out["fleet"].clip(1), np.nan)
    return out


def _schedules_html(result: RunResult) -> str:
    table = schedule_table(result.flights)
    if not len(table):
        return "<p>No flight departed.</p>"
    table = table[
        [
            "schedule",
            "operator",
            "aircraft",
            "flights",
            "fleet",
            "per_aircraft",
            "people",
            "load",
            "held_h",
            "refused",
        ]
    ]
    table["fleet"] = table["fleet"].map(lambda n: f"{n}" if n else "")
    table["per_aircraft"] = table["per_aircraft"].map(lambda v: "" if pd.isna(v) else f"{v:.1f}")
    table["load"] = table["load"].map(lambda v: f"{v:.2f}")
    table["held_h"] = table["held_h"].map(lambda v: f"{v:,.1f}")
    headers = [
        "Schedule",
        "Operator",
        "Aircraft",
        "Flights departed",
        "Fleet (aircraft)",
        "Sorties per aircraft",
        "People carried",
        "Mean load factor",
        "Aircraft-hours held by staging",
        "Refused waiting (sum over flights)",
    ]
    note = (
        "A fleet's sorties come out of its cycle (block time both ways, turnarounds, time "
        "held on the ramp by a full staging base, crew rest); other schedules fly the flights "
        "planned per day or by timetable. 'Refused waiting' adds up, over the schedule's "
        "flights that left with empty seats, the people waiting inside who were not allowed "
        "to take them (the operator's boarding rules)."
    )
    return f"<p>{escape(note)}</p>{table_html(table, headers, 'numbers')}"


def _events_html(result: RunResult) -> str:
    spec = result.provenance.get("resolved_scenario") or {}
    return timeline_html(spec, result.events)


def operators_html(table: pd.DataFrame, spec: dict[str, Any], note: str = "") -> str:
    """The by-operator table (:meth:`RunResult.by_operator`, or means over replications with
    the same columns) as HTML, with the scenario's labels for operators and categories."""
    if not len(table):
        return "<p>No operator flew in this scenario.</p>"
    ops = {k: (v or {}).get("label") or k for k, v in (spec.get("operators") or {}).items()}
    cats = {k: (v or {}).get("label") or k for k, v in (spec.get("demand") or {}).items()}
    frame = table.copy()
    first = [c for c in ("scenario",) if c in frame]
    frame["operator"] = frame["operator"].map(lambda o: ops.get(o, o))
    heads = [
        *(c.capitalize() for c in first),
        "Nation / operator",
        "Flights",
        "Seats",
        "People carried",
    ]
    columns = [*first, "operator", "flights", "seats", "people"]
    for col in frame.columns:
        if col.startswith("people."):
            key = col.removeprefix("people.")
            heads.append(f"of whom {cats.get(key, key)}")
            columns.append(col)
    heads += ["Mean load factor", "Seats flown empty"]
    columns += ["mean_load_factor", "seats_empty"]
    shown = frame[columns].copy()
    for col in columns:
        if col in ("flights", "seats", "people", "seats_empty") or col.startswith("people."):
            shown[col] = shown[col].map(lambda v: "–" if pd.isna(v) else f"{v:,.0f}")
    legend = (
        "Evacuation flights departed (troop-only flights left out); seats flown empty "
        "= seats − evacuees − troops aboard."
    )
    return f"<p>{escape(legend)} {escape(note)}</p>" + table_html(shown, heads, "numbers")


def _convoys_html(result: RunResult) -> str:
    """Road convoys (scenarios with convoys): each departure, and the totals."""
    convoys = result.convoys
    if convoys is None:
        return ""
    k = result.kpis
    head = (
        f"<h3>Convoys</h3><p>{_fmt(k.get('convoys_departed', math.nan), '{:,.0f}')} departed, "
        f"{_fmt(k.get('convoys_arrived', math.nan), '{:,.0f}')} arrived, "
        f"{_fmt(k.get('convoys_turned_back', math.nan), '{:,.0f}')} turned back; "
        f"{_fmt(k.get('convoy_people_delivered', math.nan), '{:,.0f}')} people carried to the "
        f"gates, {_fmt(k.get('left_behind.assembly_point', math.nan), '{:,.0f}')} still at "
        "assembly points at the deadline.</p>"
    )
    frame = convoys[["convoy", "departure", "departed", "arrived", "people", "seats", "status"]]
    return head + table_html(
        frame, ["Convoy", "No.", "Departed", "Arrived", "People", "Seats", "Status"]
    )


def _provenance_html(result: RunResult) -> str:
    prov = dict(result.provenance)
    resolved = prov.pop("resolved_scenario", None)
    packages = prov.pop("packages", None)
    rows = "".join(
        f"<tr><th>{escape(str(k))}</th><td>{escape(str(v))}</td></tr>" for k, v in prov.items()
    )
    if packages:
        rows += (
            "<tr><th>packages</th><td>"
            + escape(", ".join(f"{k} {v}" for k, v in packages.items()))
            + "</td></tr>"
        )
    scenario_yaml = (
        yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True) if resolved else ""
    )
    details = (
        f"<details><summary>Resolved scenario (YAML)</summary><pre>{escape(scenario_yaml)}"
        "</pre></details>"
        if scenario_yaml
        else ""
    )
    return f'<table class="facts">{rows}</table>{details}'


_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
margin:0;color:#1b1b1b;background:#fafafa;line-height:1.45}
header{background:#203040;color:#fff;padding:1.2rem 2rem}
header h1{margin:0 0 .3rem 0;font-size:1.6rem}
header p{margin:0;opacity:.85}
nav{background:#e9edf1;padding:.5rem 2rem;position:sticky;top:0;z-index:1}
nav a{margin-right:1.2rem;color:#203040;text-decoration:none;font-weight:600}
main{max-width:1180px;margin:0 auto;padding:0 2rem 3rem 2rem}
section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;padding:1rem 1.4rem;
margin:1.4rem 0}
h2{margin-top:.2rem;border-bottom:2px solid #203040;padding-bottom:.2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.92rem}
th,td{border-bottom:1px solid #e6e6e6;padding:.25rem .7rem;text-align:left;vertical-align:top}
td.n,table.kpis td{text-align:right;font-variant-numeric:tabular-nums}
table.facts th,table.kpis th{font-weight:600;white-space:pre-wrap}
figure{margin:1rem 0}
figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{color:#555;font-size:.9rem}
pre{background:#f4f4f4;padding:.8rem;overflow:auto;max-height:30rem;font-size:.8rem}
footer{color:#666;font-size:.85rem;text-align:center;padding:1rem}
"""


def page_html(
    heading: str, lede: str, sections: Sequence[tuple[str, str, str]], footer: str
) -> str:
    """A self-contained report page: ``sections`` as (HTML id, heading, body HTML), in order,
    with a navigation bar. ``heading``, ``lede`` and ``footer`` are plain text."""
    nav = "".join(f'<a href="#{escape(sid)}">{escape(name)}</a>' for sid, name, _ in sections)
    body = "".join(
        f'<section id="{escape(sid)}"><h2>{escape(name)}</h2>{html}</section>'
        for sid, name, html in sections
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{escape(heading)}</h1><p>{escape(lede)}</p></header>"
        f"<nav>{nav}</nav><main>{body}</main>"
        f"<footer>{escape(footer)}</footer>"
        "</body></html>\n"
    )


def render_report(result: RunResult, title: str | None = None) -> str:
    """The report of ``result`` as one HTML document (a string)."""
    spec = result.provenance.get("resolved_scenario") or {}
    heading = title or f"Evacuation run: {result.scenario_name}"
    binding = binding_constraints(result.utilisation, result.flights)
    chart_html = "".join(
        figure_html(name, _CHART_TITLES[name], make(result))
        for name, make in charts.CHARTS.items()
        if name in _CHART_TITLES
    )
    bodies = {
        "summary": _summary_html(result),
        "kpis": _kpi_html(result),
        "charts": chart_html,
        "binding": _binding_html(result, binding),
        "operators": operators_html(result.by_operator(), spec),
        "schedules": _schedules_html(result),
        "events": _events_html(result) + _convoys_html(result),
        "provenance": _provenance_html(result),
    }
    evacuated = result.kpis.get("evacuated", math.nan)
    left = result.kpis.get("left_behind", math.nan)
    lede = (
        f"{_fmt(evacuated, '{:,.0f}')} evacuated, {_fmt(left, '{:,.0f}')} left behind. "
        f"{spec.get('description') or ''}"
    )
    created = result.provenance.get("created_utc", "")
    footer = (
        f"evacsim {result.provenance.get('evacsim_version', '')} · run created "
        f"{created} · self-contained report, no network needed"
    )
    return page_html(heading, lede, [(sid, name, bodies[sid]) for sid, name in SECTIONS], footer)


def write_report(
    source: RunResult | str | Path, out_file: str | Path | None = None, title: str | None = None
) -> Path:
    """Write the HTML report of ``source`` (a RunResult or a results folder) to ``out_file``
    (default: ``report.html`` in the results folder). Returns the path written."""
    if isinstance(source, RunResult):
        result, folder = source, None
    else:
        folder = Path(source)
        result = read_results(folder)
    if out_file is None:
        if folder is None:
            raise ValueError("out_file is required when reporting a RunResult")
        out_file = folder / "report.html"
    out = Path(out_file)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(result, title=title), encoding="utf-8")
    log.info("wrote report %s", out)
    return out
