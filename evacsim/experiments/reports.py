"""One HTML report for every results folder, of whatever kind, detected from what it holds.

``write_folder_report(DIR)`` (``evacsim report DIR``) reads a folder written by

* ``evacsim run --out`` (one run: ``provenance.yaml`` and the tables),
* ``evacsim run -n N --out`` (replications: ``replications_run.json`` and the store),
* ``evacsim compare --out`` (``compare.json``), ``evacsim sweep --out`` (``sweep.json``),
* ``evacsim sensitivity --out`` (``sensitivity.json``),
* ``evacsim backtest --out`` / ``evacsim calibrate`` (``metrics.csv`` [+ ``estimates.csv``]),

and writes one self-contained page (the same look as the single-run report of
:mod:`evacsim.results.report`): the answers of that kind of study with their intervals and
charts, a table by nation and operator, and the events timeline. A folder from an older
evacsim, or one whose command stopped early, gets a :class:`ResultsError` naming what is
missing and how to complete it.
"""

from __future__ import annotations

import base64
import difflib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from evacsim.results import charts
from evacsim.results.binding import CONSTRAINTS, NONE
from evacsim.results.report import (
    ResultsError,
    figure_html,
    operators_html,
    page_html,
    table_html,
    timeline_html,
    write_report,
)
from evacsim.scenario.loader import ScenarioError, scenario_from_dict

from . import statistics
from .compare import Comparison, lower_is_better
from .replications import Replications, RunStats
from .store import ResultStore

__all__ = ["KINDS", "detect_kind", "parse_goal", "render_folder_report", "write_folder_report"]

log = logging.getLogger(__name__)

KINDS: dict[str, str] = {
    "sensitivity": "sensitivity.json",
    "sweep": "sweep.json",
    "compare": "compare.json",
    "replications": "replications_run.json",
    "calibration": "estimates.csv",
    "backtest": "metrics.csv",
    "run": "provenance.yaml",
}
"""Each kind of results folder and the file that marks it, checked in this order."""

HEADLINE: tuple[str, ...] = (
    "evacuated",
    "not_out",
    "left_behind",
    "never_arrived",
    "turned_away",
    "peak_24h_evacuated",
    "peak_backlog.outside",
    "peak_backlog.inside_waiting",
    "flights_departed",
    "mean_load_factor",
    "wait_total_p50_h",
    "wait_total_p90_h",
)
KPI_LABELS: dict[str, str] = {
    "evacuated": "Evacuated",
    "not_out": "Not out (eligible, not flown out)",
    "left_behind": "Left behind (reached the airport)",
    "never_arrived": "Never reached the airport",
    "turned_away": "Turned away at screening",
    "peak_24h_evacuated": "Peak 24 h evacuated",
    "peak_backlog.outside": "Peak crowd outside",
    "peak_backlog.inside_waiting": "Peak waiting inside",
    "flights_departed": "Flights departed",
    "mean_load_factor": "Mean load factor",
    "wait_total_p50_h": "Median time to departure (h)",
    "wait_total_p90_h": "90th pct time to departure (h)",
}
DAILY = {
    "evacuated": "Evacuated per day",
    "backlog.outside": "Waiting outside (end of day)",
    "backlog.inside_waiting": "Waiting inside (end of day)",
}
_STORE_DIRS = ("runs", "kpis", "series")


# ------------------------------------------------------------------------------ detecting


def detect_kind(folder: str | os.PathLike[str]) -> str:
    """The kind of results folder (a key of :data:`KINDS`), from the files it holds.

    Raises :class:`ResultsError` naming what is missing when it is none of them.
    """
    root = Path(folder)
    if not root.is_dir():
        raise ResultsError(
            f"{root}: not a folder (expected the --out folder of an evacsim command)"
        )
    for kind, marker in KINDS.items():
        if (root / marker).is_file():
            return kind
    if any((root / d).is_dir() for d in _STORE_DIRS):
        raise ResultsError(
            f"{root}: holds stored replications (runs/, kpis/) but none of "
            f"{', '.join(m for m in KINDS.values() if m.endswith('.json'))}, which the "
            "command writes when it finishes: it was stopped early or written by an older "
            "evacsim. Rerun the same command with --out pointing here to finish it (finished "
            "replications are kept)"
        )
    if (root / "kpis.csv").is_file():
        raise ResultsError(
            f"{root / 'provenance.yaml'}: missing (expected the provenance "
            "written by evacsim run --out)"
        )
    raise ResultsError(
        f"{root}: not an evacsim results folder (expected one of: "
        + ", ".join(f"{m} ({k})" for k, m in KINDS.items())
        + ")"
    )


# ------------------------------------------------------------------------------ helpers


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ResultsError(f"{path}: unreadable ({err})") from err


def _read_csv(path: Path, what: str) -> pd.DataFrame:
    if not path.is_file():
        raise ResultsError(f"{path}: missing (expected {what})")
    try:
        return pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise ResultsError(f"{path}: unreadable CSV ({err})") from err


def _spec(store: ResultStore, digest: str) -> dict[str, Any]:
    path = store.root / "scenarios" / f"{digest}.json"
    if not path.is_file():
        raise ResultsError(
            f"{path}: missing (the resolved scenario the replications ran; "
            "rerun the command into this folder to restore it)"
        )
    return _read_json(path)


def _scenario(store: ResultStore, digest: str):
    data = _spec(store, digest)
    try:
        return scenario_from_dict(data, str(store.root / "scenarios" / f"{digest}.json"))
    except ScenarioError as err:
        raise ResultsError(
            f"{store.root / 'scenarios' / f'{digest}.json'}: no longer a valid "
            f"scenario for this evacsim ({err.problems[0]})"
        ) from err


def _num(x: Any) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    if abs(x) >= 100 or float(x).is_integer():
        return f"{x:,.0f}"
    return f"{x:,.2f}"


def _pct(x: float) -> str:
    return "–" if x is None or math.isnan(x) else f"{x:.0%}"


def _facts(rows: Sequence[tuple[str, Any]]) -> str:
    return (
        '<table class="facts">'
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(str(v))}</td></tr>" for k, v in rows)
        + "</table>"
    )


def _p(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _png_file(path: Path, title: str) -> str:
    if not path.is_file():
        return _p(f"{path.name} is not in the folder.")
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{escape(title)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{escape(title)}</figcaption></figure>"
    )


def _kpi_summary_html(summary: pd.DataFrame, names: Sequence[str]) -> str:
    part = summary[summary["kpi"].isin(names)].set_index("kpi")
    part = part.reindex([k for k in names if k in part.index])
    rows = [
        [
            KPI_LABELS.get(k, k),
            _num(r["mean"]),
            f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]",
            _num(r["p05"]),
            _num(r["p50"]),
            _num(r["p95"]),
            int(r["n"]),
        ]
        for k, r in part.iterrows()
    ]
    frame = pd.DataFrame(
        rows, columns=["KPI", "mean", "95% CI of the mean", "p05", "median", "p95", "n"]
    )
    return table_html(frame, css="numbers")


def _operator_means(kpis: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Means over replications of the ``operator.<op>.<measure>`` KPIs, one row per operator
    (and per ``by`` group), in the columns of :meth:`RunResult.by_operator`."""
    part = kpis[kpis["kpi"].str.startswith("operator.")]
    if part.empty:
        return pd.DataFrame()
    split = part["kpi"].str.removeprefix("operator.").str.split(".", n=1, expand=True)
    part = part.assign(operator=split[0], measure=split[1])
    keys = [*by, "operator"]
    means = part.groupby([*keys, "measure"], sort=False)["value"].mean().unstack("measure")
    order = [
        "flights",
        "seats",
        "people",
        *[c for c in means.columns if str(c).startswith("people.")],
        "mean_load_factor",
        "seats_empty",
    ]
    return means.reindex(columns=[c for c in order if c in means.columns]).reset_index()


def _operators_section(kpis: pd.DataFrame, spec: dict, by: Sequence[str] = ()) -> str:
    table = _operator_means(kpis, by)
    if table.empty:
        return _p(
            "The replications in this folder carry no per-operator results (written "
            "by an evacsim before 0.1 with operator KPIs): rerun into a new folder to "
            "get this table."
        )
    return operators_html(table, spec, note="Means over replications.")


def _binding_share(series: pd.DataFrame) -> pd.DataFrame:
    part = series[series["series"].str.startswith("binding.")]
    if part.empty:
        return pd.DataFrame(columns=["date", "constraint", "share"])
    share = part.groupby(["date", "series"], sort=True)["value"].mean().reset_index()
    share["constraint"] = share["series"].str.removeprefix("binding.")
    return share.rename(columns={"value": "share"})[["date", "constraint", "share"]]


def _binding_section(series: pd.DataFrame, n: int) -> str:
    share = _binding_share(series)
    if share.empty:
        return _p(
            "No binding record in these replications (written by an older evacsim): "
            "rerun into a new folder to get the strip."
        )
    fig = charts.binding_share(share)
    wide = share.pivot_table(index="date", columns="constraint", values="share", fill_value=0.0)
    wide = wide.reindex(columns=[c for c in [*CONSTRAINTS, NONE] if c in wide.columns])
    table = wide.map(_pct).reset_index()
    table["date"] = pd.to_datetime(table["date"]).dt.strftime("%a %d %b")
    heads = ["Day", *[charts.CONSTRAINT_LABELS[c] for c in wide.columns]]
    return (
        _p(
            f"For each day, the share of the {n} replications in which each constraint "
            "was binding (the rule is in the single-run report and evacsim.results."
            "binding)."
        )
        + figure_html("binding-share", "What was binding, share of replications", fig)
        + f"<details><summary>Shares by day</summary>{table_html(table, heads, 'numbers')}"
        "</details>"
    )


def _resolved_yaml(spec: dict) -> str:
    return yaml.safe_dump(spec, sort_keys=False, allow_unicode=True)


def _provenance_section(rows: Sequence[tuple[str, Any]], spec: dict | None) -> str:
    details = (
        f"<details><summary>Resolved scenario (YAML)</summary><pre>"
        f"{escape(_resolved_yaml(spec))}</pre></details>"
        if spec
        else ""
    )
    return _facts(rows) + details


def _footer(kind: str) -> str:
    from evacsim.version import __version__

    return f"evacsim {__version__} · {kind} report · self-contained, no network needed"


# ------------------------------------------------------------------------------ replications


def _replications_body(reps: Replications, spec: dict) -> list[tuple[str, str, str]]:
    n_ok = len(reps.reps)
    if n_ok == 0:
        raise ResultsError(f"{reps.store.root}: no replication finished (see runs/ for the errors)")
    summary = reps.summary()
    kpis = reps.kpis
    shown = [k for k in HEADLINE if k in set(kpis["kpi"])]
    allout = reps.all_out()
    left = reps.left_behind()
    failures = reps.failures()
    facts = _facts(
        [
            ("Scenario", reps.scenario.name),
            ("Description", spec.get("description") or "–"),
            ("Period", f"{spec.get('start')} to {spec.get('deadline')}"),
            (
                "Replications",
                f"{n_ok} finished of {reps.n}"
                + (f" ({len(failures)} failed)" if len(failures) else ""),
            ),
            ("Root seed", reps.seed),
        ]
    )
    allout_table = pd.DataFrame(
        [
            [
                r.category,
                _pct(r.p_all_out),
                f"[{_pct(r.ci_low)}, {_pct(r.ci_high)}]",
                _num(r.mean_not_out),
            ]
            for r in allout.itertuples()
        ],
        columns=["Category", "P(all out)", "95% CI (Wilson)", "Mean not out"],
    )
    left_table = pd.DataFrame(
        [
            [
                r.category,
                _num(r.mean),
                _num(r.p05),
                _num(r.p50),
                _num(r.p95),
                _num(r.max),
                _pct(r.p_zero),
            ]
            for r in left.itertuples()
        ],
        columns=["Category", "mean", "p05", "median", "p95", "max", "P(none)"],
    )
    deadline = (
        _p(
            "P(all out): the share of replications in which everyone eligible in the "
            "category got out (not out = pool − evacuated − turned away), with its Wilson 95 % "
            "interval."
        )
        + table_html(allout_table, css="numbers")
        + "<h3>People left behind at the deadline</h3>"
        + table_html(left_table, css="numbers")
        + figure_html(
            "left-behind",
            "Left behind and not out, over replications",
            charts.distribution_chart(kpis, ["left_behind", "not_out"], KPI_LABELS),
        )
    )
    series = reps.series
    daily = series[series["series"].isin(DAILY)].assign(series=lambda f: f["series"].map(DAILY))
    fans = figure_html(
        "fans",
        "Daily throughput and backlog: median and bands",
        charts.fan_chart(daily, list(DAILY.values())),
    )
    intervals = figure_html(
        "kpi-intervals", "KPIs over replications", charts.kpi_intervals(kpis, shown[:6], KPI_LABELS)
    )
    fail_html = ""
    if len(failures):
        fail_html = "<h3>Failed replications</h3>" + table_html(failures)
    return [
        ("summary", "Study", facts),
        ("kpis", "Key results", _kpi_summary_html(summary, shown) + intervals),
        ("deadline", "At the deadline", deadline),
        ("daily", "Day by day", fans),
        ("binding", "What was binding", _binding_section(series, n_ok)),
        ("operators", "By nation and operator", _operators_section(kpis, spec)),
        ("events", "Events timeline", _p("As scheduled in the scenario.") + timeline_html(spec)),
        (
            "provenance",
            "Provenance",
            _provenance_section(
                [("Folder", reps.store.root), ("Scenario hash", reps.scenario_hash)], spec
            )
            + fail_html,
        ),
    ]


def _replications_report(root: Path) -> tuple[str, str, list]:
    record = _read_json(root / KINDS["replications"])
    store = ResultStore(root)
    try:
        digest, seed, n = record["scenario_hash"], int(record["seed"]), int(record["n"])
    except (KeyError, TypeError, ValueError) as err:
        raise ResultsError(f"{root / KINDS['replications']}: missing field {err}") from err
    scenario = _scenario(store, digest)
    reps = Replications(scenario, digest, seed, n, store)
    spec = _spec(store, digest)
    body = _replications_body(reps, spec)
    mean = reps.kpi("not_out").mean() if "not_out" in set(reps.kpis["kpi"]) else math.nan
    lede = (
        f"{len(reps.reps)} replications: {_num(reps.kpi('evacuated').mean())} evacuated and "
        f"{_num(mean)} not out on average. {spec.get('description') or ''}"
    )
    return f"Replications: {scenario.name}", lede, body


# ------------------------------------------------------------------------------ compare


def _input_diff(specs: dict[str, dict], base: str) -> str:
    parts = []
    base_lines = _resolved_yaml(specs[base]).splitlines()
    for label, spec in specs.items():
        if label == base:
            continue
        diff = list(
            difflib.unified_diff(
                base_lines,
                _resolved_yaml(spec).splitlines(),
                fromfile=base,
                tofile=label,
                lineterm="",
                n=2,
            )
        )
        text = "\n".join(diff) if diff else "(identical inputs)"
        parts.append(f"<h3>{escape(label)} against {escape(base)}</h3><pre>{escape(text)}</pre>")
    return _p(
        "What each alternative changes in the resolved scenario (extends and --set "
        "applied), as a unified diff of the files the replications ran."
    ) + "".join(parts)


def _compare_report(root: Path) -> tuple[str, str, list]:
    record = _read_json(root / KINDS["compare"])
    store = ResultStore(root)
    try:
        seed, n = int(record["seed"]), int(record["n"])
        entries = [(e["label"], e["hash"]) for e in record["scenarios"]]
    except (KeyError, TypeError, ValueError) as err:
        raise ResultsError(f"{root / KINDS['compare']}: missing field {err}") from err
    runs = {
        label: Replications(_scenario(store, h), h, seed, n, store, label=label)
        for label, h in entries
    }
    comp = Comparison(runs, RunStats())  # read back: nothing ran now
    specs = {label: _spec(store, h) for label, h in entries}
    base = comp.base
    if any(len(r.reps) == 0 for r in runs.values()):
        empty = [label for label, r in runs.items() if not r.reps]
        raise ResultsError(
            f"{root}: no finished replication of {', '.join(empty)}: rerun "
            "evacsim compare with --out pointing here"
        )
    ranking_file = root / "compare_ranking.csv"
    kpi = "not_out"
    if ranking_file.is_file():
        kpi = str(_read_csv(ranking_file, "the ranking")["kpi"].iloc[0])
    maximize = not lower_is_better(kpi)
    kpis = comp.kpis
    shown = [k for k in HEADLINE if k in set(kpis["kpi"])]
    summary = comp.summary()
    means = summary[summary["kpi"].isin(shown)]
    table = pd.DataFrame(
        {
            label: {
                KPI_LABELS.get(
                    r.kpi, r.kpi
                ): f"{_num(r.mean)} [{_num(r.ci_low)}, {_num(r.ci_high)}]"
                for r in means[means["scenario"] == label].itertuples()
            }
            for label in comp.labels
        }
    )
    table = table.reindex([KPI_LABELS.get(k, k) for k in shown]).reset_index()
    diffs = comp.differences(shown)
    diff_table = pd.DataFrame(
        [
            [
                r.scenario,
                KPI_LABELS.get(r.kpi, r.kpi),
                _num(r.base_mean),
                _num(r.mean),
                _num(r.diff),
                f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                "–" if math.isnan(r.p_value) else f"{r.p_value:.3g}",
            ]
            for r in diffs.itertuples()
        ],
        columns=[
            "Alternative",
            "KPI",
            f"{base} mean",
            "mean",
            "difference",
            "95% CI",
            "p (paired t)",
        ],
    )
    ranking = comp.ranking(kpi, maximize)
    rank_table = pd.DataFrame(
        [
            [
                r.rank,
                r.scenario,
                _num(r.mean),
                f"[{_num(r.ci_low)}, {_num(r.ci_high)}]",
                _num(r.gap_to_best),
                f"[{_num(r.gap_ci_low)}, {_num(r.gap_ci_high)}]",
                _pct(r.p_best),
            ]
            for r in ranking.itertuples()
        ],
        columns=["Rank", "Scenario", "mean", "95% CI", "gap to best", "gap 95% CI", "P(best)"],
    )
    series = comp.series
    evac = series[series["series"] == "evacuated"]
    daily = series[series["series"].isin(DAILY)].assign(series=lambda f: f["series"].map(DAILY))
    charts_html = (
        figure_html(
            "kpi-intervals", "KPIs by scenario", charts.kpi_intervals(kpis, shown[:6], KPI_LABELS)
        )
        + figure_html(
            "difference",
            f"Daily and cumulative difference against {base}",
            charts.throughput_difference(evac, baseline=base),
        )
        + figure_html(
            "fans",
            "Daily throughput and backlog by scenario",
            charts.fan_chart(daily, list(DAILY.values())),
        )
    )
    starts = {label: (s.get("start"), s.get("deadline")) for label, s in specs.items()}
    periods = ", ".join(f"{label}: {a} to {b}" for label, (a, b) in starts.items())
    n_ok = min(len(r.reps) for r in runs.values())
    binding = "".join(
        f"<h3>{escape(label)}</h3>" + _binding_section(r.series, len(r.reps))
        for label, r in runs.items()
    )
    timelines = "".join(
        f"<details{' open' if label == base else ''}><summary>{escape(label)}</summary>"
        f"{timeline_html(spec)}</details>"
        for label, spec in specs.items()
    )
    body = [
        (
            "summary",
            "Study",
            _facts(
                [
                    ("Scenarios", ", ".join(comp.labels) + f" (base: {base})"),
                    ("Periods", periods),
                    ("Replications", f"{n_ok} or more finished of {n} each, paired by replication"),
                    ("Root seed", f"{seed} (common random numbers)"),
                ]
            ),
        ),
        (
            "kpis",
            "Key results",
            _p("Mean [95 % CI] over replications.")
            + table_html(table, ["KPI", *comp.labels], "numbers"),
        ),
        (
            "differences",
            "Paired differences",
            _p(
                f"Each alternative minus {base}, replication by replication (common random "
                "numbers), with the paired-t 95 % interval."
            )
            + table_html(diff_table, css="numbers"),
        ),
        (
            "ranking",
            "Ranking",
            _p(
                f"On {kpi} ({'higher' if maximize else 'lower'} is better). P(best): the share of "
                "replications in which the scenario was the best (ties shared)."
            )
            + table_html(rank_table, css="numbers"),
        ),
        (
            "charts",
            "Charts",
            _p(
                "Days a scenario did not run count as no one evacuated that "
                "day, so the cumulative difference ends at the difference in "
                "totals even when deadlines or periods differ."
            )
            + charts_html,
        ),
        ("binding", "What was binding", binding),
        (
            "operators",
            "By nation and operator",
            _operators_section(kpis, specs[base], by=["scenario"]),
        ),
        ("inputs", "Input differences", _input_diff(specs, base)),
        ("events", "Events timeline", timelines),
        (
            "provenance",
            "Provenance",
            _provenance_section(
                [("Folder", root), *((f"{label} hash", h) for label, h in entries)], None
            ),
        ),
    ]
    best = ranking.iloc[0]
    lede = (
        f"{len(comp.labels)} courses of action over {n} replications; best on {kpi}: "
        f"{best['scenario']} (P(best) {_pct(best['p_best'])})."
    )
    return "Comparison: " + " vs ".join(comp.labels), lede, body


# ------------------------------------------------------------------------------ sweep


_GOAL = re.compile(r"^\s*(?P<kpi>[\w.:]+)\s*(?P<op><=|>=)\s*(?P<value>-?[\d.,]+)\s*$")


def parse_goal(text: str) -> tuple[str, str, float]:
    """``KPI<=VALUE`` or ``KPI>=VALUE`` as (kpi, op, value); ValueError if not."""
    match = _GOAL.match(text)
    if not match:
        raise ValueError(
            f"'{text}' is not a goal (expected KPI<=VALUE or KPI>=VALUE, e.g. not_out<=5000)"
        )
    return match["kpi"], match["op"], float(match["value"].replace(",", ""))


def _sweep_report(root: Path, goal: str | None = None) -> tuple[str, str, list]:
    record = _read_json(root / KINDS["sweep"])
    store = ResultStore(root)
    try:
        spec = record["spec"]
        seed, n = int(spec["seed"]), int(spec["replications"])
        points = record["points"]
    except (KeyError, TypeError, ValueError) as err:
        raise ResultsError(f"{root / KINDS['sweep']}: missing field {err}") from err
    levers = list(spec.get("levers") or {})
    uncertain = list(spec.get("uncertainties") or {})
    frames = []
    for p in points:
        done = store.done(p["scenario"], seed)
        kp = store.kpis(p["scenario"], seed, [r for r in range(n) if r in done])
        frames.append(kp.assign(point=p["point"]))
    kpis = pd.concat(frames, ignore_index=True)
    if kpis.empty:
        raise ResultsError(
            f"{root}: no finished replication: rerun evacsim sweep with --out pointing here"
        )
    values = pd.DataFrame(
        [{"point": p["point"], **{k: _cell(v) for k, v in p["values"].items()}} for p in points]
    )
    shown = [k for k in ("not_out", "left_behind", "evacuated") if k in set(kpis["kpi"])]
    means = kpis[kpis["kpi"].isin(shown)].pivot_table(
        index="point", columns="kpi", values="value", aggfunc="mean"
    )
    table = values.merge(means.reset_index(), on="point", how="left")
    summary = statistics.summarise(
        kpis[kpis["kpi"].isin(shown)][["point", "kpi", "value"]], by=["point"]
    )
    points_html = table.copy()
    for k in shown:
        part = summary[summary["kpi"] == k].set_index("point")
        points_html[k] = [
            f"{_num(part.loc[i, 'mean'])} [{_num(part.loc[i, 'ci_low'])}, "
            f"{_num(part.loc[i, 'ci_high'])}]"
            if i in part.index
            else "–"
            for i in points_html["point"]
        ]
    kpi, op, target = parse_goal(goal) if goal else ("not_out", "<=", math.nan)
    if kpi not in table:
        if kpi not in set(kpis["kpi"]):
            raise ValueError(
                f"unknown KPI '{kpi}' in the goal (expected one of: "
                f"{', '.join(sorted(set(kpis['kpi'])))})"
            )
        table = table.merge(
            kpis[kpis["kpi"] == kpi].groupby("point")["value"].mean().rename(kpi).reset_index(),
            on="point",
        )
    goal_note = ""
    if math.isnan(target):
        target = float(table[kpi].median())
        goal_note = (
            f" No goal was given (evacsim report DIR --goal KPI<=N): the goal "
            f"shown is {kpi} at most its median over the points, {_num(target)}."
        )
    met = table[kpi] <= target if op == "<=" else table[kpi] >= target
    lower_better = op == "<="
    lever_cols = [c for c in levers if c in table]
    unc_cols = [c for c in uncertain if c in table]
    setting = (
        table[lever_cols].astype(str).agg(" · ".join, axis=1)
        if lever_cols
        else pd.Series(["(no lever)"] * len(table))
    )
    world = (
        table[unc_cols].astype(str).agg(" · ".join, axis=1)
        if unc_cols
        else pd.Series(["(one world)"] * len(table))
    )
    frame = table.assign(setting=setting, world=world, met=met)
    best = frame.groupby("world")[kpi].transform("min" if lower_better else "max")
    frame["regret"] = (frame[kpi] - best).abs()
    robust = (
        frame.groupby("setting", sort=False)
        .agg(
            worlds=("world", "nunique"),
            met=("met", "mean"),
            mean=(kpi, "mean"),
            worst=(kpi, "max" if lower_better else "min"),
            max_regret=("regret", "max"),
            mean_regret=("regret", "mean"),
        )
        .reset_index()
        .sort_values("max_regret")
    )
    robust_table = pd.DataFrame(
        [
            [
                r.setting,
                r.worlds,
                _pct(r.met),
                _num(r.mean),
                _num(r.worst),
                _num(r.max_regret),
                _num(r.mean_regret),
            ]
            for r in robust.itertuples()
        ],
        columns=[
            " · ".join(lever_cols) or "setting",
            "uncertainty samples",
            f"share meeting {kpi} {op} {_num(target)}",
            f"mean {kpi}",
            f"worst {kpi}",
            "max regret",
            "mean regret",
        ],
    )
    response = (
        figure_html(
            "response",
            "Response of each KPI to each lever",
            charts.response_chart(table, lever_cols or unc_cols, shown, KPI_LABELS),
        )
        if lever_cols or unc_cols
        else _p("No factor to draw against.")
    )
    first = _spec(store, points[0]["scenario"])
    heads = [
        "Point",
        *[c for c in values.columns if c != "point"],
        *(f"{k} mean [95% CI]" for k in shown),
    ]
    body = [
        (
            "summary",
            "Study",
            _facts(
                [
                    ("Sweep", spec.get("name") or root.name),
                    ("Base", record.get("base", "–")),
                    ("Levers", ", ".join(levers) or "–"),
                    ("Uncertainties", ", ".join(uncertain) or "–"),
                    ("Points", f"{len(points)} × {n} replications"),
                    ("Root seed", seed),
                ]
            ),
        ),
        (
            "points",
            "Points",
            table_html(
                points_html[["point", *[c for c in values.columns if c != "point"], *shown]],
                heads,
                "numbers",
            ),
        ),
        ("response", "Response to the levers", response),
        (
            "robustness",
            "Robustness and regret",
            _p(
                f"For each lever setting, across the uncertainty samples (worlds): the share of "
                f"worlds in which it meets the goal {kpi} {op} {_num(target)} (on the mean over "
                f"replications), and its regret: how far it is, in each world, from the best "
                f"setting in that world (Savage; the minimax-regret choice is on top).{goal_note}"
            )
            + table_html(robust_table, css="numbers"),
        ),
        (
            "operators",
            "By nation and operator",
            _operators_section(
                kpis.assign(point=kpis["point"]).merge(frame[["point", "setting"]], on="point"),
                first,
                by=["setting"],
            ),
        ),
        (
            "events",
            "Events timeline",
            _p("Of the first point's scenario (levers and uncertainties change some of these).")
            + timeline_html(first),
        ),
        ("provenance", "Provenance", _provenance_section([("Folder", root)], first)),
    ]
    lede = (
        f"{len(points)} points × {n} replications; minimax-regret setting on {kpi}: "
        f"{robust.iloc[0]['setting']}."
    )
    return f"Sweep: {spec.get('name') or root.name}", lede, body


def _cell(value: Any) -> Any:
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


# ------------------------------------------------------------------------------ sensitivity


def _sensitivity_report(root: Path) -> tuple[str, str, list]:
    from .sensitivity import read_sensitivity

    for name in ("points", "outputs", "indices"):
        if not (root / f"sensitivity_{name}.csv").is_file():
            raise ResultsError(
                f"{root / f'sensitivity_{name}.csv'}: missing (the study "
                "stopped before its analysis: rerun evacsim sensitivity with "
                "--out pointing here to finish it)"
            )
    study = read_sensitivity(root)
    store = ResultStore(root)
    params = pd.DataFrame(
        [
            [p.label, _num(p.low), _num(p.high), "scale" if p.scale else "set", p.unit or "–"]
            for p in study.parameters
        ],
        columns=["Input", "low", "high", "how", "unit"],
    )
    sections = []
    for kpi in dict.fromkeys(study.indices["kpi"]):
        table = study.ranking(kpi)
        if study.method == "sobol":
            rows = [
                [
                    r.parameter,
                    f"{r.S1:.2f}",
                    f"[{r.S1_low:.2f}, {r.S1_high:.2f}]",
                    f"{r.ST:.2f}",
                    f"[{r.ST_low:.2f}, {r.ST_high:.2f}]",
                ]
                for r in table.itertuples()
            ]
            cols = ["Input", "S1 (first order)", "S1 CI", "ST (total)", "ST CI"]
        else:
            rows = [
                [
                    r.parameter,
                    _num(r.mu_star),
                    f"[{_num(r.mu_star_low)}, {_num(r.mu_star_high)}]",
                    _num(r.sigma),
                ]
                for r in table.itertuples()
            ]
            cols = ["Input", "mu*", "mu* CI", "sigma"]
        y = study.outputs[study.outputs["kpi"] == kpi]["value"]
        sections.append(
            f"<h3>{escape(KPI_LABELS.get(kpi, kpi))}</h3>"
            + _p(f"Over the design: mean {_num(y.mean())}, sd {_num(y.std())}.")
            + table_html(pd.DataFrame(rows, columns=cols), css="numbers")
        )
    method = (
        "Sobol indices (Saltelli design, bootstrap intervals): S1 is the share of the "
        "KPI's variance an input explains alone, ST the share it has a hand in, "
        "interactions included; an input with ST near 0 can be fixed anywhere in its "
        "range."
        if study.method == "sobol"
        else "Morris elementary effects: mu* is the mean absolute change in the KPI when the "
        "input moves across a step of its range, sigma its spread (nonlinearity or "
        "interactions)."
    )
    first_hash = str(study.points["scenario"].iloc[0])
    spec = _spec(store, first_hash)
    kp = [
        store.kpis(h, study.seed, sorted(store.done(h, study.seed)))
        for h in dict.fromkeys(study.points["scenario"])
    ]
    all_kpis = pd.concat(kp, ignore_index=True) if kp else pd.DataFrame()
    body = [
        (
            "summary",
            "Study",
            _facts(
                [
                    ("Scenario", study.scenario_name),
                    ("Method", study.method),
                    (
                        "Design",
                        f"{len(study.points)} points × {study.replications} replication(s), "
                        f"samples {study.samples}",
                    ),
                    ("Root seed", f"{study.seed} (the same streams at every point)"),
                ]
            )
            + "<h3>Uncertain inputs</h3>"
            + table_html(params, css="numbers"),
        ),
        ("indices", "Indices", _p(method) + "".join(sections)),
        (
            "charts",
            "Charts",
            figure_html("tornado", "Which inputs each KPI hangs on", study.figure()),
        ),
        (
            "operators",
            "By nation and operator",
            _p("Over every design point.")
            + (_operators_section(all_kpis, spec) if len(all_kpis) else _p("No run finished.")),
        ),
        (
            "events",
            "Events timeline",
            _p("Of the first design point's scenario.") + timeline_html(spec),
        ),
        ("provenance", "Provenance", _provenance_section([("Folder", root)], spec)),
    ]
    top = study.ranking(study.indices["kpi"].iloc[0]).iloc[0]
    lede = (
        f"{study.method} over {len(study.parameters)} inputs; {study.indices['kpi'].iloc[0]}"
        f" hangs most on {top['parameter']}."
    )
    return f"Sensitivity: {study.scenario_name}", lede, body


# ------------------------------------------------------------------------------ backtest


def _backtest_report(root: Path, calibration: bool) -> tuple[str, str, list]:
    metrics = _read_csv(root / "metrics.csv", "the backtest metrics")
    daily = _read_csv(root / "daily.csv", "the daily comparison")
    body = [
        ("metrics", "Fit to the observed series", table_html(metrics, css="numbers")),
        (
            "charts",
            "Charts",
            _png_file(root / "overlay.png", "Model against observed")
            + (_png_file(root / "profile.png", "Calibration profile") if calibration else ""),
        ),
        ("daily", "Day by day", table_html(daily, css="numbers")),
    ]
    spec = None
    if calibration:
        estimates = _read_csv(root / "estimates.csv", "the calibration estimates")
        body.insert(0, ("estimates", "Fitted inputs", table_html(estimates, css="numbers")))
        fitted = root / "fitted_scenario.yaml"
        if fitted.is_file():
            spec = yaml.safe_load(fitted.read_text(encoding="utf-8"))
    if any((root / d).is_dir() for d in _STORE_DIRS) and (root / "scenarios").is_dir():
        store = ResultStore(root)
        frames = [
            store.kpis(p.stem, s, sorted(store.done(p.stem, s)))
            for p in sorted((root / "scenarios").glob("*.json"))
            for s in _seeds(root, p.stem)
        ]
        kpis = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
        spec = spec or _read_json(sorted((root / "scenarios").glob("*.json"))[0])
        ops = (
            (
                _p(
                    "Over every replication in the folder"
                    + (" (every point the calibration evaluated)." if calibration else ".")
                )
                + _operators_section(kpis, spec)
            )
            if len(kpis)
            else _p("No run finished.")
        )
    else:
        ops = _p(
            "This folder keeps the daily series only (no per-run results): the table by "
            "operator is in the report of a run of the scenario (evacsim run --out)."
        )
    body.append(("operators", "By nation and operator", ops))
    body.append(
        (
            "events",
            "Events timeline",
            timeline_html(spec)
            if spec
            else _p("The folder does not hold the scenario: see its single-run report."),
        )
    )
    kind = "Calibration" if calibration else "Backtest"
    return f"{kind}: {root.name}", f"{kind} against an observed daily series.", body


def _seeds(root: Path, digest: str) -> list[int]:
    folder = root / "runs" / digest
    return (
        sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit())
        if (folder.is_dir())
        else []
    )


# ------------------------------------------------------------------------------ entry points


def render_folder_report(folder: str | os.PathLike[str], goal: str | None = None) -> str:
    """The HTML report of a results folder of any kind other than a single run."""
    root = Path(folder)
    kind = detect_kind(root)
    makers: dict[str, Callable[[], tuple[str, str, list]]] = {
        "replications": lambda: _replications_report(root),
        "compare": lambda: _compare_report(root),
        "sweep": lambda: _sweep_report(root, goal),
        "sensitivity": lambda: _sensitivity_report(root),
        "backtest": lambda: _backtest_report(root, calibration=False),
        "calibration": lambda: _backtest_report(root, calibration=True),
    }
    if kind not in makers:
        raise ValueError(f"{root}: a single run: use evacsim.results.report.render_report")
    heading, lede, body = makers[kind]()
    return page_html(heading, lede, body, _footer(kind))


def write_folder_report(
    folder: str | os.PathLike[str],
    out_file: str | os.PathLike[str] | None = None,
    goal: str | None = None,
) -> Path:
    """Write the report of any results folder (kind detected) to ``out_file`` (default
    ``FOLDER/report.html``); returns the path. Raises :class:`ResultsError` naming what is
    missing for a folder that is not complete."""
    root = Path(folder)
    kind = detect_kind(root)
    out = Path(out_file) if out_file is not None else root / "report.html"
    if kind == "run":
        return write_report(root, out)
    html = render_folder_report(root, goal)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    log.info("wrote %s report %s", kind, out)
    return out
