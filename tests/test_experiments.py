"""Replications, statistics, common random numbers, comparisons and deadline answers.

Oracles: Student-t and Wilson intervals computed independently with SciPy; numpy's own
``SeedSequence.spawn``; the conservation identity (pool = evacuated + turned away + not out);
and common random numbers judged against independent seeds on the same pair of scenarios.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_experiments_support import MINI, mini

import evacsim
from evacsim.experiments import Lever, ReplicationKey, apply_levers, compare, replicate
from evacsim.experiments.compare import lower_is_better
from evacsim.experiments.deadline import prob_at_most
from evacsim.experiments.statistics import mean_ci, wilson_interval


@pytest.fixture(scope="module")
def reps10():
    return replicate(mini(), n=10, seed=5, engine="sequential")


def test_public_api_exports_experiments():
    for name in ("replicate", "compare", "sweep", "goal_seek"):
        assert name in evacsim.__all__
        assert callable(getattr(evacsim, name))


def test_replication_seed_is_numpy_spawn_of_the_root():
    for rep in (0, 3, 17):
        ours = ReplicationKey("x", 7, rep).seed_sequence().generate_state(4)
        spawned = np.random.SeedSequence(7).spawn(rep + 1)[rep].generate_state(4)
        assert np.array_equal(ours, spawned)


def test_replication_i_does_not_depend_on_n():
    small = replicate(mini(), n=3, seed=11, engine="sequential")
    large = replicate(mini(), n=6, seed=11, engine="sequential")
    a = small.wide()
    b = large.wide().loc[a.index]
    pd.testing.assert_frame_equal(a, b)
    # and replications are not copies of one another
    assert large.kpi("wait_total_mean_h").nunique() > 1


def test_different_root_seeds_give_different_replications():
    a = replicate(mini(), n=3, seed=1, engine="sequential").kpi("wait_total_mean_h")
    b = replicate(mini(), n=3, seed=2, engine="sequential").kpi("wait_total_mean_h")
    assert not np.allclose(a.to_numpy(), b.to_numpy())


def test_summary_is_mean_t_interval_and_percentiles(reps10):
    summary = reps10.summary().set_index("kpi")
    x = reps10.kpi("evacuated").to_numpy()
    row = summary.loc["evacuated"]
    assert row["n"] == 10
    assert row["mean"] == pytest.approx(x.mean())
    half = stats.t.ppf(0.975, 9) * x.std(ddof=1) / math.sqrt(10)
    assert row["ci_low"] == pytest.approx(x.mean() - half)
    assert row["ci_high"] == pytest.approx(x.mean() + half)
    assert row["p50"] == pytest.approx(np.median(x))
    assert row["p05"] <= row["p50"] <= row["p95"]
    assert {"left_behind", "not_out", "peak_backlog.outside"} <= set(summary.index)


def test_daily_series_add_up_to_the_kpis(reps10):
    series = reps10.series
    days = sorted(series["date"].unique())
    assert len(days) == 3  # 14, 15, 16 August
    per_rep = series[series["series"] == "evacuated"].groupby("replication")["value"].sum()
    assert np.array_equal(per_rep.to_numpy(), reps10.kpi("evacuated").loc[per_rep.index].to_numpy())
    by_cat = (
        series[series["series"].str.startswith("evacuated.")].groupby("replication")["value"].sum()
    )
    assert np.array_equal(by_cat.to_numpy(), per_rep.to_numpy())
    # end-of-day backlog of the last day is what is left at the deadline
    last = series[(series["series"] == "backlog.inside_waiting") & (series["date"] == days[-1])]
    left = reps10.kpi("left_behind.inside_waiting").loc[last["replication"]]
    assert np.array_equal(last["value"].to_numpy(), left.to_numpy())


def test_bands_are_median_and_5_95_percentiles(reps10):
    bands = reps10.bands()
    series = reps10.series
    for day in series["date"].unique():
        x = series[(series["series"] == "evacuated") & (series["date"] == day)]["value"]
        row = bands[(bands["series"] == "evacuated") & (bands["date"] == day)].iloc[0]
        assert row["p50"] == pytest.approx(np.median(x))
        assert row["p05"] == pytest.approx(np.percentile(x, 5))
        assert row["p95"] == pytest.approx(np.percentile(x, 95))
        assert row["n"] == 10
    assert {"backlog.outside", "backlog.screening", "backlog.staging:base"} <= set(bands["series"])


def test_not_out_balances_the_pool(reps10):
    """Everyone in the pool is evacuated, turned away, or not out (by category too)."""
    wide = reps10.wide()
    pool = sum(c["pool"] for c in MINI["demand"].values())
    total = wide["evacuated"] + wide["turned_away"] + wide["not_out"]
    assert (total == pool).all()
    assert (wide["not_out.citizens"] + wide["not_out.afghans"] == wide["not_out"]).all()


def test_common_random_numbers_reduce_the_variance_of_differences():
    """Same root seed for base and alternative: paired differences vary far less."""
    base = mini()
    alt = mini(screening={**MINI["screening"], "lanes": 5})
    a = replicate(base, 16, seed=1, engine="sequential")
    crn = replicate(alt, 16, seed=1, engine="sequential")
    indep = replicate(alt, 16, seed=99, engine="sequential")
    for kpi in ("evacuated", "wait_total_mean_h"):
        var_crn = (crn.kpi(kpi) - a.kpi(kpi)).var()
        var_indep = (indep.kpi(kpi) - a.kpi(kpi)).var()
        assert var_crn < 0.3 * var_indep, (kpi, var_crn, var_indep)
    # The same source sees the same draws: arrivals do not depend on screening lanes.
    assert (crn.kpi("arrived") == a.kpi("arrived")).all()


def test_compare_pairs_by_replication_and_ranks():
    base = mini()
    more = apply_levers(base, [Lever("flights.us_c17.per_day", 2, "add")])
    result = compare(
        [base, base, more], n=12, seed=3, labels=["base", "same", "more"], engine="sequential"
    )
    diffs = result.differences().set_index(["scenario", "kpi"])
    same = diffs.loc[("same", "evacuated")]
    assert same["diff"] == 0 and same["ci_low"] == 0 and same["ci_high"] == 0
    d = result.runs["more"].kpi("left_behind") - result.runs["base"].kpi("left_behind")
    row = diffs.loc[("more", "left_behind")]
    mean, low, high = mean_ci(d.to_numpy())
    assert row["diff"] == pytest.approx(mean)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high))
    assert row["diff"] < 0  # two more sorties a day leave fewer behind
    ranking = result.ranking("left_behind")
    assert ranking.iloc[0]["scenario"] == "more"
    assert ranking["p_best"].sum() == pytest.approx(1.0)
    by_evacuated = result.ranking("evacuated")
    assert by_evacuated.iloc[0]["scenario"] == "more"
    assert by_evacuated.iloc[-1]["mean"] <= by_evacuated.iloc[0]["mean"]


def test_kpi_direction():
    assert lower_is_better("left_behind") and lower_is_better("not_out.afghans")
    assert lower_is_better("wait_total_p90_h") and lower_is_better("peak_backlog.outside")
    assert not lower_is_better("evacuated") and not lower_is_better("flights_departed")


def test_all_out_probability_counts_replications(reps10):
    table = reps10.all_out().set_index("category")
    for cat in ("citizens", "afghans"):
        x = reps10.kpi(f"not_out.{cat}")
        assert table.loc[cat, "p_all_out"] == pytest.approx((x == 0).mean())
        low, high = wilson_interval(int((x == 0).sum()), len(x))
        assert table.loc[cat, "ci_low"] == pytest.approx(low)
        assert table.loc[cat, "ci_high"] == pytest.approx(high)
    assert 0 < table.loc["afghans", "p_all_out"] < 1  # the mini scenario is on the edge


def test_all_out_is_certain_with_ample_flights_and_impossible_without():
    patient = {**MINI["demand"]["citizens"], "patience": None}
    ample = mini(
        flights={"us_c17": {**MINI["flights"]["us_c17"], "per_day": 30}},
        demand={**MINI["demand"], "citizens": patient},
    )
    none = mini(flights={}, staging={})
    sure = replicate(ample, 4, engine="sequential").all_out().set_index("category")
    never = replicate(none, 4, engine="sequential").all_out().set_index("category")
    assert sure.loc["citizens", "p_all_out"] == 1.0
    assert never.loc["all", "p_all_out"] == 0.0
    assert never.loc["all", "mean_not_out"] > 2500


def test_left_behind_distribution(reps10):
    table = reps10.left_behind().set_index("category")
    x = reps10.kpi("left_behind")
    assert table.loc["all", "p50"] == pytest.approx(np.median(x))
    assert table.loc["all", "max"] == x.max()
    assert table.loc["all", "p_zero"] == pytest.approx((x == 0).mean())
    per_cat = reps10.kpi("left_behind_by_category.afghans")
    assert table.loc["afghans", "mean"] == pytest.approx(per_cat.mean())
    with pytest.raises(ValueError):
        reps10.left_behind("nonsense")


def test_wilson_interval_known_values():
    # Agresti & Coull (1998): 0 of 10 -> [0, 0.2775]; 5 of 10 -> [0.2366, 0.7634]
    assert wilson_interval(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson_interval(5, 10) == pytest.approx((0.2366, 0.7634), abs=1e-4)
    p, low, high = prob_at_most([0, 1, 2, 3], 1)
    assert p == 0.5 and low < 0.5 < high


def test_mean_ci_edge_cases():
    assert math.isnan(mean_ci(np.array([]))[0])
    mean, low, high = mean_ci(np.array([4.0]))
    assert mean == 4.0 and math.isnan(low)
    assert mean_ci(np.array([2.0, 2.0, 2.0])) == (2.0, 2.0, 2.0)


def test_replicate_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n must be"):
        replicate(mini(), n=0)
    with pytest.raises(ValueError, match="seed"):
        replicate(mini(), n=1, seed=-1)
    with pytest.raises(ValueError, match="unknown engine"):
        replicate(mini(), n=1, engine="threads")
    with pytest.raises(ValueError, match="at least one alternative"):
        compare([mini()], n=2)


def test_replications_and_comparison_speak_the_charts_long_format():
    """Issue 12: the same column names as the chart functions expect, and ``.kpis`` (and
    ``.series``) the same kind of member on both objects."""
    from evacsim.results import charts

    reps = evacsim.replicate(mini(), n=2, seed=5, engine="sequential")
    comp = evacsim.compare([mini(), mini(name="other")], n=2, seed=5, engine="sequential")
    assert list(reps.kpis.columns) == ["replication", "kpi", "value"]
    assert list(reps.series.columns) == ["replication", "date", "series", "value"]
    assert list(comp.kpis.columns) == ["scenario", "replication", "kpi", "value"]
    assert list(comp.series.columns) == ["scenario", "replication", "date", "series", "value"]
    assert not callable(comp.kpis) and not callable(reps.kpis)
    assert list(reps.failures().columns) == ["replication", "error"]
    # ... so they go straight into the charts
    charts.kpi_intervals(comp.kpis, ["evacuated", "not_out"])
    charts.fan_chart(reps.series, ["evacuated"])
    evac = comp.series[comp.series["series"] == "evacuated"]
    charts.throughput_difference(evac, baseline=comp.base)
