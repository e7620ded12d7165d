"""Charts: each one is checked on its data (the series plotted, their labels, their colours),
not on pixels; and every chart is checked for overlapping text and real date axes."""

from __future__ import annotations

import copy
import itertools
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib.dates as mdates
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text

import evacsim
from evacsim.results import charts
from evacsim.results.binding import NONE, binding_constraints

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# A small stochastic scenario (2 days) for replications: cheap enough to run several times.
SMALL = {
    "name": "small",
    "start": "2021-03-01T00:00",
    "deadline": "2021-03-03T00:00",
    "demand": {
        "families": {
            "label": "Families",
            "pool": 6000,
            "arrivals_per_day": 2500,
            "group_size": {1: 0.3, 3: 0.4, 5: 0.3},
        },
        "staff": {"label": "Embassy staff", "pool": 800, "priority": 0, "arrivals_per_day": 500},
    },
    "gates": {"main": {"throughput_per_h": 150}},
    "screening": {"lanes": 4, "service": {"dist": "exponential", "mean": "4min"}},
    "airfield": {"separation": "3min", "ramp_capacity": 4},
    "aircraft": {"jet": {"seats": 150, "turnaround": "1h"}},
    "operators": {"op": {"label": "Air bridge"}},
    "flights": {
        "shuttle": {
            "operator": "op",
            "aircraft": "jet",
            "from": "2021-03-01T04:00",
            "to": "2021-03-03T00:00",
            "per_day": [8, 14],
            "destinations": "hub",
        }
    },
    "staging": {"hub": {"capacity": 1500, "onward_per_day": 1500, "flight_time": "2h"}},
    "events": {
        "gate_shut": {
            "type": "gate_closed",
            "gates": ["main"],
            "at": "2021-03-01T12:00",
            "until": "2021-03-01T15:00",
        },
    },
}
SEEDS = [11, 12, 13, 14]


@pytest.fixture(scope="module")
def kabul() -> evacsim.RunResult:
    return evacsim.simulate(SCENARIOS / "kabul_2021.yaml", seed=2)


@pytest.fixture(scope="module")
def replications() -> dict[str, list[evacsim.RunResult]]:
    more = copy.deepcopy(SMALL)
    more["name"] = "more_flights"
    more["flights"]["shuttle"]["per_day"] = [16, 22]
    runs = {}
    for data in (SMALL, more):
        scenario = evacsim.scenario_from_dict(data)
        runs[data["name"]] = [evacsim.simulate(scenario, seed=s, keep_records=False) for s in SEEDS]
    return runs


# ------------------------------------------------------------------------------ helpers


def texts(fig: Figure) -> list[Text]:
    """Every visible, non-empty piece of text drawn on the figure (tick labels only for
    ticks inside the axis' view, as matplotlib draws them)."""
    fig.canvas.draw()
    tick_labels, shown = set(), []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for ticks in (axis.get_major_ticks(), axis.get_minor_ticks()):
                for tick in ticks:
                    for label in (tick.label1, tick.label2):
                        tick_labels.add(id(label))
                        loc = tick.get_loc()
                        if (
                            label.get_visible()
                            and tick.get_visible()
                            and loc is not None
                            and low - 1e-9 <= loc <= high + 1e-9
                        ):
                            shown.append(label)
    others = [t for t in fig.findobj(Text) if id(t) not in tick_labels]
    return [
        t
        for t in [*others, *shown]
        if t.get_visible() and t.get_text().strip() and t.get_figure() is not None
    ]


def overlapping(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of texts whose boxes overlap by more than a pixel either way."""
    renderer = fig.canvas.get_renderer()
    boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in texts(fig)]
    pairs = []
    for (a, ba), (b, bb) in itertools.combinations(boxes, 2):
        dx = min(ba.x1, bb.x1) - max(ba.x0, bb.x0)
        dy = min(ba.y1, bb.y1) - max(ba.y0, bb.y0)
        if dx > 1 and dy > 1:
            pairs.append((a, b))
    return pairs


def outside_figure(fig: Figure) -> list[str]:
    renderer = fig.canvas.get_renderer()
    width, height = fig.canvas.get_width_height()
    out = []
    for t in texts(fig):
        box = t.get_window_extent(renderer)
        if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1:
            out.append(t.get_text())
    return out


def gid(ax, name: str):
    """The artist on ``ax`` with gid ``name`` (lines, collections, patches)."""
    for artist in [*ax.lines, *ax.collections, *ax.patches, *ax.texts]:
        if artist.get_gid() == name:
            return artist
    raise AssertionError(f"no artist {name} on axes {ax.get_title()!r}")


def bars(ax, prefix: str) -> dict[str, list[Rectangle]]:
    out: dict[str, list[Rectangle]] = {}
    for container in ax.containers:
        name = container.patches[0].get_gid() if container.patches else None
        if name and name.startswith(prefix):
            out[name[len(prefix) :]] = list(container.patches)
    return out


def is_date_axis(ax) -> bool:
    return isinstance(ax.xaxis.get_major_formatter(), mdates.ConciseDateFormatter)


# ------------------------------------------------------------------------------ one run


def test_every_chart_is_non_empty_readable_and_has_date_axes(kabul):
    figures = charts.all_charts(kabul)
    assert list(figures) == list(charts.CHARTS)
    for name, fig in figures.items():
        assert isinstance(fig, Figure)
        assert fig.axes, name
        drawn = sum(len(ax.lines) + len(ax.patches) + len(ax.collections) for ax in fig.axes)
        assert drawn > 0, name
        assert overlapping(fig) == [], name
        assert outside_figure(fig) == [], name
        if name != "waiting_times":  # hours on the x axis there, not dates
            assert any(is_date_axis(ax) for ax in fig.axes), name


def test_evacuated_per_day_stacks_categories_and_cumulates(kabul):
    fig = charts.evacuated_per_day(kabul)
    ax, twin = fig.axes
    daily = kabul.evacuated_daily()
    stacks = bars(ax, "category:")
    assert set(stacks) == set(daily["category"])
    for cat, patches in stacks.items():
        expected = daily[daily["category"] == cat].set_index("date")["people"]
        heights = {
            pd.Timestamp(mdates.num2date(p.get_x() + p.get_width() / 2))
            .tz_localize(None)
            .normalize(): p.get_height()
            for p in patches
        }
        for day, people in expected.items():
            assert heights[day] == pytest.approx(people)
    cumulative = gid(twin, "cumulative").get_ydata()
    assert cumulative[-1] == pytest.approx(kabul.kpis["evacuated"])
    assert np.all(np.diff(cumulative) >= 0)
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "US citizens and LPRs" in labels  # the scenario's label, not the key
    assert "Cumulative total (right axis)" in labels
    assert ax.get_ylabel() and twin.get_ylabel()
    # The same chart from the bare table (no provenance: keys as labels).
    bare = charts.evacuated_per_day(kabul.evacuated)
    assert "us_citizens" in [t.get_text() for t in bare.legends[0].get_texts()]


def test_category_colours_are_the_same_on_every_chart(kabul):
    colours = charts.category_colours(list(kabul.provenance["resolved_scenario"]["demand"]))
    evac = charts.evacuated_per_day(kabul)
    waits = charts.waiting_times(kabul)
    for cat, colour in colours.items():
        patch = bars(evac.axes[0], "category:")[cat][0]
        line = gid(waits.axes[0], f"category:{cat}")
        assert tuple(np.round(patch.get_facecolor()[:3], 3)) == tuple(
            np.round(pd.Series(list(_rgb(colour))), 3)
        )
        assert line.get_color() == colour
    assert len(set(colours.values())) == len(colours)


def _rgb(colour: str) -> tuple[float, float, float]:
    from matplotlib.colors import to_rgb

    return to_rgb(colour)


def test_backlog_plots_each_stage_total(kabul):
    fig = charts.backlog_over_time(kabul)
    top, bottom = fig.axes[:2]
    totals = kabul.backlog.groupby(["stage", "time"])["mean"].sum()
    for stage in ("outside", "screening", "inside_waiting"):
        line = gid(top, f"stage:{stage}")
        np.testing.assert_allclose(line.get_ydata(), totals.loc[stage].to_numpy())
    bases = list(kabul.provenance["resolved_scenario"]["staging"])
    for base in bases:
        line = gid(bottom, f"stage:staging:{base}")
        np.testing.assert_allclose(line.get_ydata(), totals.loc[f"staging:{base}"].to_numpy())
    assert {t.get_text() for t in top.get_legend().get_texts()} == {
        "Outside the gates",
        "In screening",
        "Inside, waiting for a seat",
    }


def test_forces_flights_and_events(kabul):
    fig = charts.forces_and_flights(kabul)
    top, low, twin = fig.axes[0], fig.axes[1], fig.axes[2]
    troops = kabul.ground[kabul.ground["series"] == "troops_on_ground"]
    np.testing.assert_allclose(gid(top, "troops_on_ground").get_ydata(), troops["mean"])
    departed = kabul.flights[kabul.flights["status"] == "departed"]
    stacked = bars(twin, "flights:")
    assert set(stacked) == set(departed["operator"])
    total = sum(p.get_height() for patches in stacked.values() for p in patches)
    assert total == pytest.approx(len(departed))
    labels = [t.get_text() for t in low.texts]
    names = list(kabul.events["name"])
    assert len(labels) == len(names) + 1  # one row per event, plus the deadline
    for name in names:
        assert any(name in label for label in labels), name
    assert any(label.startswith("31 Aug 00:00 deadline") for label in labels)
    # Closures and pauses are shaded spans (runway closure and the attack's pause).
    spans = [p for p in low.patches if isinstance(p, Rectangle | PolyCollection)]
    assert len(spans) >= 2


def test_flight_loads_and_staging_holds(kabul):
    fig = charts.flight_loads(kabul)
    left, right = fig.axes[:2]
    evac = kabul.flights[(kabul.flights["status"] == "departed") & (kabul.flights["seats"] > 0)]
    means = evac.groupby(["operator", "aircraft"])["load_factor"].mean()
    offsets = gid(left, "mean_load_factor").get_offsets()
    np.testing.assert_allclose(offsets[:, 0], means.to_numpy())
    ticks = [t.get_text() for t in left.get_yticklabels()]
    assert len(ticks) == len(means)
    assert any(t.startswith("United States · c17") for t in ticks)
    held = bars(right, "held:")
    total = sum(p.get_height() for patches in held.values() for p in patches)
    assert total == pytest.approx(kabul.flights["held_for_staging_h"].sum())
    assert kabul.kpis["held_for_staging_h"] > 0  # the Al Udeid bottleneck is in the baseline


def test_waiting_times_distribution_and_percentiles(kabul):
    fig = charts.waiting_times(kabul)
    left, right = fig.axes[:2]
    groups = kabul.groups[kabul.groups["t_depart"].notna()]
    for cat in groups["category"].unique():
        line = gid(left, f"category:{cat}")
        assert line.get_ydata()[-1] == pytest.approx(1.0)
        assert np.all(np.diff(line.get_ydata()) >= 0)
        hours = (
            groups.loc[groups["category"] == cat, "t_depart"]
            - groups.loc[groups["category"] == cat, "t_arrive"]
        )
        assert line.get_xdata().max() == pytest.approx(hours.max())
    for cat, patches in bars(right, "category:").items():
        w = kabul.waits[kabul.waits["category"] == cat].set_index("stage")
        expected = w.loc[["outside", "screening_queue", "inside", "total"], "p50_h"]
        np.testing.assert_allclose([p.get_height() for p in patches], expected.to_numpy())
    # Without group records the left panel says so instead of failing.
    light = charts.waiting_times({"waits": kabul.waits, "groups": None})
    assert any("not kept" in t.get_text() for t in light.axes[0].texts)


def test_binding_strip_marks_each_binding_day(kabul):
    fig = charts.binding_strip(kabul)
    binding = binding_constraints(kabul.utilisation, kabul.flights)
    heat = fig.axes[1]
    marks = [line.get_gid() for line in heat.lines if (line.get_gid() or "").startswith("binding:")]
    expected = [f"binding:{b}" for b in binding["binding"] if b != NONE]
    assert marks == expected
    assert [t.get_text() for t in heat.get_yticklabels()][0] == "Staging base"
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    for b in set(binding["binding"]):
        assert charts.CONSTRAINT_LABELS[b] in legend


def test_save_charts_writes_png_and_valid_svg(kabul, tmp_path):
    paths = charts.save_charts(kabul, tmp_path, formats=["png", "svg"])
    assert len(paths) == 2 * len(charts.CHARTS)
    for path in paths:
        assert path.stat().st_size > 5_000, path
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        else:
            root = ET.parse(path).getroot()
            assert root.tag.endswith("svg")


def test_missing_table_is_a_clear_error():
    with pytest.raises(ValueError, match="no 'flights' table"):
        charts.flight_loads({"evacuated": pd.DataFrame()})


# ------------------------------------------------------------------------------ replications


def test_replication_frame_is_long_and_consistent(replications):
    runs = replications["small"]
    frame = charts.replication_frame(runs, scenario="small")
    assert list(frame.columns) == ["scenario", "replication", "date", "series", "value"]
    assert set(frame["replication"]) == set(range(len(runs)))
    cum = frame[frame["series"] == "evacuated (cumulative)"]
    last = cum.sort_values("date").groupby("replication")["value"].last()
    np.testing.assert_allclose(last.to_numpy(), [r.kpis["evacuated"] for r in runs])
    kpis = charts.kpi_frame(runs, scenario="small")
    assert list(kpis.columns) == ["scenario", "replication", "kpi", "value"]
    assert len(kpis) == len(runs) * len(runs[0].kpis)


def test_fan_chart_median_and_bands(replications):
    frame = charts.replication_frame(replications["small"])
    fig = charts.fan_chart(frame)
    names = list(dict.fromkeys(frame["series"]))
    assert len(fig.axes) == len(names)
    for ax, name in zip(fig.axes, names, strict=True):
        assert ax.get_title() == name
        median = gid(ax, f"median:{name}")
        expected = frame[frame["series"] == name].groupby("date")["value"].median()
        np.testing.assert_allclose(median.get_ydata(), expected.to_numpy())
        assert len(ax.collections) == 2  # the 5-95 % and 25-75 % bands
    assert "4 replications" in fig.get_suptitle()
    assert overlapping(fig) == []
    with pytest.raises(ValueError, match="missing series"):
        charts.fan_chart(frame.drop(columns="series"))


def test_fan_chart_overlays_scenarios(replications):
    frame = pd.concat(
        [charts.replication_frame(runs, scenario=name) for name, runs in replications.items()]
    )
    fig = charts.fan_chart(frame, series=["evacuated (cumulative)"])
    (ax,) = fig.axes
    assert {line.get_gid() for line in ax.lines} == {"median:small", "median:more_flights"}
    more = gid(ax, "median:more_flights").get_ydata()[-1]
    base = gid(ax, "median:small").get_ydata()[-1]
    assert more > base  # more flights move more people in this seat-limited scenario


def test_kpi_intervals_side_by_side(replications):
    frame = pd.concat(
        [charts.kpi_frame(runs, scenario=name) for name, runs in replications.items()]
    )
    kpis = ["evacuated", "flights_departed", "wait_total_p50_h"]
    fig = charts.kpi_intervals(frame, kpis=kpis, labels={"evacuated": "Evacuated (people)"})
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Evacuated (people)", *kpis[1:]]
    table = charts.interval_table(frame, ["scenario", "kpi"]).set_index(["scenario", "kpi"])
    for ax, kpi in zip(visible, kpis, strict=True):
        assert [t.get_text() for t in ax.get_yticklabels()] == ["small", "more_flights"]
        for scen in ("small", "more_flights"):
            dot = gid(ax, f"median:{scen}:{kpi}")
            assert dot.get_xdata()[0] == pytest.approx(table.loc[(scen, kpi), "median"])
    row = table.loc[("small", "evacuated")]
    values = frame[(frame["scenario"] == "small") & (frame["kpi"] == "evacuated")]["value"]
    assert row["low"] == pytest.approx(values.quantile(0.05))
    assert row["high"] == pytest.approx(values.quantile(0.95))
    assert row["n"] == len(SEEDS)
    assert overlapping(fig) == []


def test_throughput_difference_is_paired_by_replication(replications):
    frame = pd.concat(
        [charts.replication_frame(runs, scenario=name) for name, runs in replications.items()]
    )
    fig = charts.throughput_difference(frame, baseline="small")
    daily_ax, cum_ax = fig.axes
    daily = frame[frame["series"] == "evacuated per day"].pivot_table(
        index=["replication", "date"], columns="scenario", values="value"
    )
    diff = (daily["more_flights"] - daily["small"]).groupby("date").median()
    np.testing.assert_allclose(gid(daily_ax, "diff:more_flights:diff").get_ydata(), diff.to_numpy())
    totals = {
        name: np.median([r.kpis["evacuated"] for r in runs]) for name, runs in replications.items()
    }
    final = gid(cum_ax, "diff:more_flights:cum").get_ydata()[-1]
    paired = np.median(
        [
            a.kpis["evacuated"] - b.kpis["evacuated"]
            for a, b in zip(replications["more_flights"], replications["small"], strict=True)
        ]
    )
    assert final == pytest.approx(paired)
    assert totals["more_flights"] > totals["small"]
    with pytest.raises(ValueError, match="baseline 'nope'"):
        charts.throughput_difference(frame, baseline="nope")


def test_throughput_difference_counts_the_days_a_shorter_scenario_lacks():
    """Issue 12: with deadlines that differ, the days only the longer scenario ran count as 0
    for the shorter one, so the cumulative difference ends at the difference in totals
    (dropping those days showed -124 where the truth was -1,425)."""
    days = pd.date_range("2021-08-14", periods=5, freq="D")
    rows = [
        {"scenario": "long", "replication": r, "date": d, "series": "evacuated", "value": 100.0 + r}
        for r in range(3)
        for d in days
    ]
    rows += [
        {"scenario": "short", "replication": r, "date": d, "series": "evacuated", "value": 120.0}
        for r in range(3)
        for d in days[:3]
    ]
    frame = pd.DataFrame(rows)
    fig = charts.throughput_difference(frame, baseline="long")
    final = gid(fig.axes[1], "diff:short:cum").get_ydata()[-1]
    totals = frame.groupby(["scenario", "replication"])["value"].sum().unstack(0)
    assert final == pytest.approx((totals["short"] - totals["long"]).median())
    assert final == pytest.approx(360 - 505)  # the median pair: 3 x 120 against 5 x 101
    # A replication one scenario did not finish is left out, not read as zeros.
    wide = charts.daily_by_scenario(
        frame[~((frame["scenario"] == "short") & (frame["replication"] == 2))]
    )
    assert sorted(wide.index.get_level_values("replication").unique()) == [0, 1]


def test_overlap_and_bounds_checks_can_fail():
    # The text checks above are only worth something if they catch a bad layout.
    fig = Figure(figsize=(4, 3))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.text(0.5, 0.5, "first label")
    ax.text(0.5, 0.5, "second label")
    ax.text(1.5, 0.5, "off the edge", transform=ax.transAxes)
    assert ("first label", "second label") in overlapping(fig)
    assert "off the edge" in outside_figure(fig)


def test_experiments_store_format_is_accepted(replications):
    # The experiments store writes ``rep`` (not ``replication``) and names the daily
    # throughput series ``evacuated``.
    frame = pd.concat(
        [charts.replication_frame(runs, scenario=name) for name, runs in replications.items()]
    ).rename(columns={"replication": "rep"})
    frame["series"] = frame["series"].replace({"evacuated per day": "evacuated"})
    fig = charts.throughput_difference(frame, baseline="small")
    assert gid(fig.axes[0], "diff:more_flights:diff").get_ydata().size > 0
    assert len(charts.fan_chart(frame, series=["evacuated"]).axes) == 1
    with pytest.raises(ValueError, match="no series 'served'"):
        charts.throughput_difference(frame, baseline="small", series="served")


def test_chart_fixes_a_new_user_asked_for(kabul):
    """Issue 12: the waiting-time legend sits below the panels (it covered the curves) and
    serves the right-hand panel too; the log axis has no stray "0"; the flight-load chart
    has no empty "held" panel; a scenario without forces has no zero-troops axis."""
    fig = charts.waiting_times(kabul)
    left = fig.axes[0]
    assert all(ax.get_legend() is None for ax in fig.axes) and len(fig.legends) == 1
    renderer = fig.canvas.get_renderer()
    assert fig.legends[0].get_window_extent(renderer).y1 <= min(
        ax.get_window_extent(renderer).y0 for ax in fig.axes
    )
    legend_text = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "dash: 90th percentile" in legend_text and "US citizens and LPRs" in legend_text
    ticks = {id(t) for t in left.get_xticklabels()}
    shown = [t.get_text() for t in texts(fig) if id(t) in ticks]
    assert shown and "0" not in shown and left.get_xscale() == "log"
    assert overlapping(fig) == []

    small = evacsim.simulate(evacsim.scenario_from_dict(SMALL), seed=11, keep_records=False)
    unheld = {
        "flights": small.flights.assign(held_for_staging_h=0.0),
        "provenance": small.provenance,
    }
    assert len(charts.flight_loads(unheld).axes) == 1
    assert len(charts.flight_loads(kabul).axes) == 2  # Kabul's staging bases held flights

    bare = charts.forces_and_flights(small)  # SMALL has no forces
    assert "no forces" in bare.axes[0].get_title()
    with pytest.raises(AssertionError):
        gid(bare.axes[0], "troops_on_ground")
    assert gid(charts.forces_and_flights(kabul).axes[0], "troops_on_ground") is not None
