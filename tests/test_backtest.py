"""Backtest and calibration (evacsim.experiments.backtest) and their commands.

Oracles: the model's own daily series as observations (a replication compared with itself
fits exactly; other seeds fit within the model's own spread; a changed scenario does not),
hand-computed metrics on a small table, and known parameters recovered by calibration.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure

import evacsim
from evacsim.cli.main import main
from evacsim.experiments.backtest import (
    ObservedDataError,
    Parameter,
    backtest,
    calibrate,
    fit_metrics,
    model_days,
    observed_from_run,
    parse_parameter,
    read_observed,
    resolve_parameters,
    with_parameters,
)
from evacsim.experiments.worker import ReplicationKey

TRUE_LANES = 6
KABUL = Path(__file__).resolve().parent.parent / "scenarios" / "kabul_2021.yaml"


def small_dict(lanes: int = TRUE_LANES, arrivals: float = 1000, service: str = "40min") -> dict:
    """Five days; screening binds (about 410 people a day at 6 lanes), flights do not (600
    seats a day): daily evacuated follow the lanes, with Poisson noise."""
    end = "2000-01-06T00:00"
    return {
        "name": "small",
        "start": "2000-01-01T00:00",
        "deadline": end,
        "demand": {
            "customers": {
                "pool": 10**6,
                "arrivals_per_day": arrivals,
                "group_size": {1: 0.5, 2: 0.3, 4: 0.2},
            }
        },
        "gates": {"main": {"throughput_per_h": None}},
        "screening": {"lanes": lanes, "service": {"dist": "exponential", "mean": service}},
        "airfield": {"separation": "2min", "ramp_capacity": 4},
        "aircraft": {"plane": {"seats": 50, "turnaround": "1h"}},
        "operators": {"op": {}},
        "flights": {
            "shuttle": {
                "operator": "op",
                "aircraft": "plane",
                "from": "2000-01-01T00:00",
                "to": end,
                "per_day": 12,
                "destinations": "base",
            }
        },
        "staging": {"base": {"capacity": 10**7, "onward_per_day": 0, "flight_time": "1h"}},
    }


def small(**kw) -> evacsim.Scenario:
    return evacsim.scenario_from_dict(small_dict(**kw))


def synthetic(scenario: evacsim.Scenario, seed: int) -> pd.DataFrame:
    return observed_from_run(evacsim.simulate(scenario, seed, keep_records=False))


# ------------------------------------------------------------------------------ observed data


def write(tmp_path, text: str, name: str = "obs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_read_observed_parses_and_sorts(tmp_path):
    path = write(tmp_path, "date,evacuated,flights\n2021-08-16,300,3\n2021-08-15, 200 ,\n")
    obs = read_observed(path)
    assert list(obs.columns) == ["date", "evacuated", "flights"]
    assert obs["date"].dt.strftime("%Y-%m-%d").tolist() == ["2021-08-15", "2021-08-16"]
    assert obs["evacuated"].tolist() == [200.0, 300.0]
    assert math.isnan(obs["flights"].iloc[0]) and obs["flights"].iloc[1] == 3


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "date,people\n2021-08-15,1\n",
            [
                "obs.csv: columns: missing column 'evacuated'",
                "obs.csv: columns: unknown column 'people'",
            ],
        ),
        ("date,evacuated\n2021-08-15,10\n15/08/2021,5\n", ["obs.csv:3: date: '15/08/2021'"]),
        (
            "date,evacuated\n2021-08-15,10\n2021-08-15,5\n",
            ["obs.csv:3: date: 2021-08-15 appears twice (first on line 2"],
        ),
        (
            "date,evacuated,flights\n2021-08-15,-4,x\n",
            [
                "obs.csv:2: evacuated: '-4' is not a count of people",
                "obs.csv:2: flights: 'x' is not a count of flights",
            ],
        ),
        ("date,evacuated\n2021-08-15,\n", ["obs.csv:2: evacuated: '' is not a count"]),
        ("date,evacuated\n", ["obs.csv: no rows"]),
        ("", ["obs.csv: cannot read as CSV"]),
    ],
)
def test_observed_mistakes_are_one_problem_each_with_its_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ObservedDataError) as err:
        read_observed(path)
    lines = [str(p).replace(str(tmp_path) + "/", "") for p in err.value.problems]
    assert len(lines) == len(expected), lines
    for line, start in zip(lines, expected, strict=True):
        assert line.startswith(start), (line, start)


def test_missing_observed_file_is_a_problem_not_a_crash(tmp_path):
    with pytest.raises(ObservedDataError, match="no such file"):
        read_observed(tmp_path / "nope.csv")


# ------------------------------------------------------------------------------ metrics


def test_fit_metrics_by_hand():
    daily = pd.DataFrame(
        {
            "date": pd.date_range("2021-08-14", periods=4, freq="D"),
            "observed": [100.0, 300.0, 200.0, 0.0],
            "model_mean": [110.0, 250.0, 260.0, 20.0],
            "model_low": [90.0, 240.0, 190.0, 0.0],
            "model_high": [120.0, 280.0, 270.0, 30.0],
        }
    )
    m = fit_metrics(daily).set_index("metric")
    assert m.loc["days compared", "model"] == 4
    assert m.loc["total evacuated", "error"] == 640 - 600
    assert m.loc["total evacuated", "error_pct"] == pytest.approx(100 * 40 / 600)
    rmse = math.sqrt((10**2 + 50**2 + 60**2 + 20**2) / 4)
    assert m.loc["daily RMSE", "model"] == pytest.approx(rmse)
    assert m.loc["daily RMSE", "error_pct"] == pytest.approx(100 * rmse / 150)
    r = np.corrcoef(daily["model_mean"], daily["observed"])[0, 1]
    assert m.loc["daily correlation", "model"] == pytest.approx(r)
    assert m.loc["peak day", "model"] == pd.Timestamp("2021-08-16")
    assert m.loc["peak day", "observed"] == pd.Timestamp("2021-08-15")
    assert m.loc["peak day", "error"] == 1
    assert m.loc["peak size", "error"] == 260 - 300
    assert m.loc["days inside model band", "model"] == pytest.approx(3 / 4)  # not 300


# ------------------------------------------------------------------------------ backtest


def test_a_replication_against_itself_fits_exactly():
    scenario = small()
    seed = 17
    observed = synthetic(scenario, ReplicationKey("", seed, 0).seed_sequence())
    bt = backtest(scenario, observed, seed=seed, replications=1)
    m = bt.metrics.set_index("metric")
    assert m.loc["total evacuated", "error"] == 0
    assert m.loc["daily RMSE", "model"] == 0
    assert m.loc["daily correlation", "model"] == pytest.approx(1.0)
    assert m.loc["peak day", "error"] == 0
    assert m.loc["total flights", "error"] == 0
    assert len(bt.daily) == len(model_days(scenario)) == 5


def test_other_seeds_fit_within_the_model_spread_and_a_changed_scenario_does_not():
    truth = small()
    observed = synthetic(truth, 4321)
    right = backtest(truth, observed, seed=1, replications=6)
    wrong = backtest(small(lanes=4), observed, seed=1, replications=6)
    r, w = right.metrics.set_index("metric"), wrong.metrics.set_index("metric")
    # The total error of the right scenario is within its replications' own spread.
    totals = right.runs.groupby("replication")["evacuated"].sum()
    assert abs(r.loc["total evacuated", "error"]) < 3 * totals.std(ddof=1) + 1
    assert abs(r.loc["total evacuated", "error_pct"]) < 5
    # Two lanes fewer is a third less throughput: the backtest says so.
    assert w.loc["total evacuated", "error_pct"] < -20
    assert w.loc["daily RMSE", "model"] > 3 * r.loc["daily RMSE", "model"]
    assert r.loc["days inside model band", "model"] > w.loc["days inside model band", "model"]


def test_overlay_figure_and_files(tmp_path):
    scenario = small()
    bt = backtest(scenario, synthetic(scenario, 5), seed=2, replications=3)
    fig = bt.figure()
    assert isinstance(fig, Figure)
    top, bottom = fig.axes
    model_line = [ln for ln in top.get_lines() if ln.get_label() == "model mean"][0]
    assert np.allclose(model_line.get_ydata(), bt.daily["model_mean"])
    observed_bars = [p.get_height() for p in top.patches]
    assert observed_bars == bt.daily["observed"].tolist()
    cum = [ln for ln in bottom.get_lines() if ln.get_label() == "observed"][0]
    assert cum.get_ydata()[-1] == bt.daily["observed"].sum()
    out = bt.write(tmp_path / "bt")
    for name in ("metrics.csv", "daily.csv", "runs.csv", "overlay.png"):
        assert (out / name).stat().st_size > 0
    assert (out / "overlay.png").read_bytes()[:4] == b"\x89PNG"


def test_cumulative_band_follows_replications_not_summed_quantiles():
    scenario = small()
    bt = backtest(scenario, synthetic(scenario, 5), seed=2, replications=5)
    totals = bt.runs.groupby("replication")["evacuated"].sum()
    last = bt.daily.iloc[-1]
    assert last["model_cum_low"] == pytest.approx(totals.quantile(0.05))
    assert last["model_cum_high"] == pytest.approx(totals.quantile(0.95))


def test_observed_days_outside_the_scenario_are_dropped_or_refused():
    scenario = small()
    observed = synthetic(scenario, 5)
    extra = pd.DataFrame({"date": [pd.Timestamp("2000-01-09")], "evacuated": [7], "flights": [1]})
    bt = backtest(scenario, pd.concat([observed, extra]), seed=2, replications=1)
    assert [str(d) for d in bt.dropped_dates] == ["2000-01-09"]
    assert len(bt.daily) == 5
    with pytest.raises(ObservedDataError, match="no observed day falls within"):
        backtest(scenario, extra, seed=2, replications=1)


# ------------------------------------------------------------------------------ calibration


def test_parse_parameter():
    assert parse_parameter("screening.lanes=2..16") == Parameter("screening.lanes", 2, 16)
    assert parse_parameter("screening.lanes=2:16") == Parameter("screening.lanes", 2, 16)
    assert parse_parameter("screening.service.mean=3min..1h").duration
    p = parse_parameter("screening.service.mean=3min:1h")
    assert (p.low, p.high, p.duration) == (pytest.approx(0.05), 1.0, True)
    s = parse_parameter("demand.x.arrivals_per_day*=0.5:2")
    assert s.scale and s.label == "demand.x.arrivals_per_day*" and s.unit == "x"
    for bad in (
        "screening.lanes",
        "screening.lanes=5",
        "a=3:2",
        "a=x:3",
        "a=3..2",
        "a+=1..2",
        "a=1,2",
    ):
        with pytest.raises(ValueError):
            parse_parameter(bad)


def test_resolve_parameters_reports_every_bad_path():
    kabul = evacsim.load_scenario(KABUL)
    params = [
        parse_parameter(t)
        for t in (
            "screening.lanes=10:90",  # a step profile: must be scaled
            "airfield.ramp_capacty=10:40",  # typo
            "demand.siv_applicants.label=1:2",  # text
            "airfield.ramp_capacity=10:40",  # fine: whole number
            "screening.service.mean=3min:12min",  # fine: duration
        )
    ]
    with pytest.raises(evacsim.ScenarioError) as err:
        resolve_parameters(kabul, params)
    text = [str(p) for p in err.value.problems]
    assert len(text) == 3
    assert text[0].startswith("--param:1: screening.lanes: is a step profile")
    assert "ramp_capacity" in text[1] and text[1].startswith("--param:2:")
    assert text[2].startswith("--param:3: demand.siv_applicants.label: holds the text")
    ok = resolve_parameters(kabul, params[3:])
    assert ok[0].integer and not ok[0].duration and ok[1].duration
    changed = with_parameters(kabul, ok, [30.4, 0.2])
    assert changed.airfield.ramp_capacity == 30
    assert changed.screening.service.mean == pytest.approx(0.2)


def test_calibrate_recovers_the_number_of_lanes():
    observed = synthetic(small(), 1001)
    cal = calibrate(
        small(lanes=10),
        observed,
        ["screening.lanes=2:16"],
        seed=1,
        replications=3,
        points=7,
        rounds=2,
    )
    est = cal.estimates.iloc[0]
    assert est["fitted"] == TRUE_LANES
    assert est["low"] <= TRUE_LANES <= est["high"]
    assert est["high"] - est["low"] <= 2 and not est["at_bound"]
    # The fitted scenario is the given one with the fitted value, and the fit is good.
    assert cal.scenario.screening.lanes == TRUE_LANES
    assert abs(cal.backtest.metric("total evacuated")["error_pct"]) < 5


def test_calibrate_recovers_an_arrival_intensity_scale_with_its_uncertainty(tmp_path):
    truth = small(lanes=12, arrivals=300)  # arrivals bind now
    observed = synthetic(truth, 2002)
    cal = calibrate(
        truth,
        observed,
        ["demand.customers.arrivals_per_day*=0.4:2.5"],
        seed=1,
        replications=3,
        points=7,
        rounds=2,
    )
    est = cal.estimates.iloc[0]
    assert est["low"] <= 1.0 <= est["high"]
    assert est["high"] - est["low"] < 0.5 * (2.5 - 0.4)  # informative, not the whole range
    assert not est["at_bound"]
    ev = cal.evaluations
    assert ev["in_region"].sum() >= 1 and (~ev["in_region"]).sum() >= 1
    assert ev["sse"].min() == cal.sse_min and cal.threshold > cal.sse_min
    assert "F-region" in cal.method
    out = cal.write(tmp_path / "cal")
    for name in (
        "estimates.csv",
        "evaluations.csv",
        "fitted_scenario.yaml",
        "profile.png",
        "overlay.png",
        "metrics.csv",
    ):
        assert (out / name).exists()
    refit = evacsim.load_scenario(out / "fitted_scenario.yaml")
    assert refit == cal.scenario


def test_calibrate_needs_more_days_than_parameters():
    observed = synthetic(small(), 3).iloc[:1]
    with pytest.raises(ValueError, match="cannot determine 1 parameters"):
        calibrate(small(), observed, ["screening.lanes=2:16"], replications=1)


@pytest.mark.slow
def test_calibration_intervals_cover_the_truth_in_most_replicated_experiments():
    """Coverage of the reported interval over independent synthetic observations, for a
    continuous parameter whose true value (40 min) is not a grid point."""
    covered = 0
    trials = 10
    for k in range(trials):
        observed = synthetic(small(), 5000 + k)
        cal = calibrate(
            small(),
            observed,
            ["screening.service.mean=12min:100min"],
            seed=k,
            replications=3,
            points=7,
            rounds=2,
        )
        est = cal.estimates.iloc[0]
        covered += est["low"] <= 40 / 60 <= est["high"]
    assert covered >= 8, f"interval covered the truth in {covered}/{trials} experiments"


# ------------------------------------------------------------------------------ commands


@pytest.fixture
def files(tmp_path):
    scenario = tmp_path / "small.yaml"
    scenario.write_text(yaml.safe_dump(small_dict()), encoding="utf-8")
    obs = tmp_path / "observed.csv"
    synthetic(small(), 77).to_csv(obs, index=False)
    return scenario, obs


def test_cli_backtest_prints_the_table_and_writes_the_chart(files, tmp_path, capsys):
    scenario, obs = files
    code = main(
        [
            "backtest",
            str(scenario),
            "--observed",
            str(obs),
            "-n",
            "2",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 0
    text = capsys.readouterr().out
    for word in ("total evacuated", "daily RMSE", "daily correlation", "peak day", "peak size"):
        assert word in text
    assert (tmp_path / "out" / "overlay.png").exists()


def test_cli_backtest_bad_csv_is_one_line_per_problem(files, tmp_path, capsys):
    scenario, _ = files
    bad = write(tmp_path, "date,evacuated\nyesterday,-1\n", "bad.csv")
    code = main(["backtest", str(scenario), "--observed", str(bad), "--engine", "sequential"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert len(err) == 2 and all(line.startswith(str(bad) + ":2: ") for line in err)
    assert "Traceback" not in "\n".join(err)


def test_cli_calibrate(files, tmp_path, capsys):
    scenario, obs = files
    code = main(
        [
            "calibrate",
            str(scenario),
            "--observed",
            str(obs),
            "--param",
            "screening.lanes=4:8",
            "-n",
            "2",
            "--rounds",
            "1",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "cal"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "screening.lanes" in out and "Method: least squares" in out
    assert (tmp_path / "cal" / "estimates.csv").exists()
    code = main(
        [
            "calibrate",
            str(scenario),
            "--observed",
            str(obs),
            "--param",
            "lanes=4",
            "--engine",
            "sequential",
        ]
    )
    assert code == 1
    assert "expected PATH=LO..HI" in capsys.readouterr().err


# ------------------------------------------------------------------------------ machinery


def flaky(monkeypatch, reps: set[int]):
    """Make the replications ``reps`` fail on the experiments' worker (as a model error would)."""
    from evacsim.experiments import worker as worker_module

    real_build = worker_module.build

    def build(scenario, seed, keep_records=True):
        if seed.spawn_key[0] in reps:
            raise RuntimeError(f"injected failure in replication {seed.spawn_key[0]}")
        return real_build(scenario, seed, keep_records)

    monkeypatch.setattr(worker_module, "build", build)
    return real_build


def test_backtest_records_failed_replications_leaves_them_out_and_resumes(tmp_path, monkeypatch):
    scenario = small()
    observed = synthetic(scenario, 9)
    clean = backtest(scenario, observed, seed=3, replications=3)
    flaky(monkeypatch, {1})
    bt = backtest(scenario, observed, seed=3, replications=3, out=tmp_path)
    assert bt.failures["replication"].tolist() == [1] and bt.finished == 2
    assert sorted(bt.runs["replication"].unique()) == [0, 2]
    assert "1 of 3 replication(s) failed" in bt.summary()
    assert "injected failure" in bt.summary()
    # The mean is over the two that finished, each identical to the clean run's.
    pd.testing.assert_frame_equal(
        bt.runs, clean.runs[clean.runs["replication"] != 1].reset_index(drop=True)
    )
    # Fixed, a rerun into the same folder runs only the failed one.
    monkeypatch.undo()
    again = backtest(scenario, observed, seed=3, replications=3, out=tmp_path)
    assert again.failures.empty
    pd.testing.assert_frame_equal(again.daily, clean.daily)
    assert (tmp_path / "runs").is_dir() and again.store == tmp_path


def test_backtest_with_every_replication_failed_says_so(monkeypatch):
    from evacsim.experiments.backtest import ReplicationsFailed

    flaky(monkeypatch, {0, 1})
    with pytest.raises(ReplicationsFailed, match="all 2 replications of small failed.*injected"):
        backtest(small(), synthetic(small(), 9), seed=3, replications=2)


@pytest.mark.slow  # worker processes take seconds to start; the engines' equality is tested
def test_backtest_same_on_local_workers_as_sequential():  # for replicate in the default tier
    scenario = small()
    observed = synthetic(scenario, 9)
    seq = backtest(scenario, observed, seed=4, replications=2, engine="sequential")
    loc = backtest(scenario, observed, seed=4, replications=2, engine="local", workers=2)
    pd.testing.assert_frame_equal(seq.daily, loc.daily)


def test_calibrate_is_resumable_and_counts_failures(tmp_path, monkeypatch):
    observed = synthetic(small(), 21)
    args = dict(seed=1, replications=2, points=3, rounds=1)
    flaky(monkeypatch, {1})
    first = calibrate(small(), observed, ["screening.lanes=4:8"], out=tmp_path, **args)
    assert first.failed == 3 and first.evaluations["failed"].tolist() == [1, 1, 1]
    assert "3 of 6 replications failed" in first.summary()
    monkeypatch.undo()
    oks = sorted(tmp_path.glob("runs/*/*/*.ok.json"))
    stamps = {p: p.stat().st_mtime_ns for p in oks}
    second = calibrate(small(), observed, ["screening.lanes=4:8"], out=tmp_path, **args)
    assert second.failed == 0
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # kept, not rerun
    assert len(list(tmp_path.glob("runs/*/*/*.ok.json"))) == 6
    fresh = calibrate(small(), observed, ["screening.lanes=4:8"], **args)
    pd.testing.assert_frame_equal(second.evaluations, fresh.evaluations)


def test_cli_backtest_exit_code_when_replications_fail(files, tmp_path, monkeypatch, capsys):
    scenario, obs = files
    flaky(monkeypatch, {1})
    code = main(
        [
            "backtest",
            str(scenario),
            "--observed",
            str(obs),
            "-n",
            "2",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    assert code == 5
    assert "1 of 2 replication(s) failed" in capsys.readouterr().out
    flaky(monkeypatch, {0, 1})
    code = main(
        [
            "backtest",
            str(scenario),
            "--observed",
            str(obs),
            "-n",
            "2",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "out2"),
        ]
    )
    assert code == 6
    err = capsys.readouterr().err
    assert "all 2 replications" in err and "Traceback" not in err


def test_cli_backtest_and_calibrate_take_set(files, tmp_path, capsys):
    scenario, obs = files
    code = main(
        [
            "backtest",
            str(scenario),
            "--observed",
            str(obs),
            "-n",
            "1",
            "--engine",
            "sequential",
            "--set",
            "screening.lanes=5",
            "--out",
            str(tmp_path / "o"),
        ]
    )
    assert code == 0
    stored = list((tmp_path / "o" / "scenarios").glob("*.json"))
    assert len(stored) == 1 and '"lanes": 5' in stored[0].read_text()
    code = main(["backtest", str(scenario), "--observed", str(obs), "--set", "screening.lane=5"])
    assert code == 1 and "lane" in capsys.readouterr().err
