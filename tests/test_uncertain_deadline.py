"""An uncertain deadline: drawn per replication on its own stream; answers integrate over it."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

import evacsim
from evacsim.cli.main import main
from evacsim.experiments.worker import daily_series
from evacsim.scenario.loader import ScenarioError

LOW, HIGH = "2021-01-02T12:00", "2021-01-04T00:00"


@pytest.fixture
def uncertain(deterministic) -> dict:
    data = copy.deepcopy(deterministic)
    data["deadline"] = {"dist": "uniform", "low": LOW, "high": HIGH}
    data["demand"]["people"]["arrivals_per_day"] = 3000
    return data


def test_each_replication_is_the_scenario_with_its_drawn_deadline(uncertain):
    """Common random numbers: the deadline has its own stream, so a run that drew deadline D
    is exactly the run of the same scenario with D fixed (every other source unchanged)."""
    scenario = evacsim.scenario_from_dict(uncertain)
    assert scenario.horizon_h == 72.0  # validated and sized by the latest deadline
    drawn = []
    for seed in (1, 2):
        model = evacsim.build(scenario, seed=seed).run()
        result = evacsim.collect(model)
        deadline = model.scenario.deadline
        assert dt.datetime(2021, 1, 2, 12) <= deadline <= dt.datetime(2021, 1, 4)
        assert result.kpis["deadline_h"] == pytest.approx(model.horizon_h)
        fixed = copy.deepcopy(uncertain)
        fixed["deadline"] = deadline.isoformat()
        again = evacsim.simulate(evacsim.scenario_from_dict(fixed), seed=seed)
        assert {k: v for k, v in result.kpis.items() if k != "deadline_h"} == again.kpis
        drawn.append(deadline)
    assert drawn[0] != drawn[1]


def test_a_fixed_deadline_has_no_deadline_kpi(deterministic):
    result = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=0)
    assert "deadline_h" not in result.kpis


def test_triangular_needs_a_mode_between_low_and_high(uncertain):
    uncertain["deadline"] = {"dist": "triangular", "low": LOW, "high": HIGH}
    with pytest.raises(ScenarioError, match="deadline: mode: missing"):
        evacsim.scenario_from_dict(uncertain)
    uncertain["deadline"]["mode"] = "2021-01-05T00:00"
    with pytest.raises(ScenarioError, match="is not between low and high"):
        evacsim.scenario_from_dict(uncertain)
    uncertain["deadline"]["mode"] = "2021-01-03T00:00"
    assert evacsim.scenario_from_dict(uncertain).deadline.mode.day == 3
    uncertain["deadline"] = {"dist": "uniform", "low": HIGH, "high": LOW}
    with pytest.raises(ScenarioError, match="expected low < high"):
        evacsim.scenario_from_dict(uncertain)
    uncertain["deadline"] = {"dist": "uniform", "low": "2020-12-31", "high": HIGH}
    with pytest.raises(ScenarioError, match="deadline.low: .* is not after start"):
        evacsim.scenario_from_dict(uncertain)


def test_the_answers_integrate_over_the_deadline(uncertain):
    """A short deadline leaves people behind, a long one does not: P(all out) lies between."""
    uncertain["demand"]["people"]["pool"] = 1000  # all out by about 2 Jan 06:00
    uncertain["deadline"] = {"dist": "uniform", "low": "2021-01-01T12:00", "high": HIGH}
    reps = evacsim.replicate(
        evacsim.scenario_from_dict(uncertain), n=12, seed=0, engine="sequential"
    )
    p_all_out = reps.all_out().set_index("category").loc["all", "p_all_out"]
    assert 0 < p_all_out < 1
    drawn = reps.deadlines().set_index("statistic")["deadline"]
    assert drawn["n"] == 12
    assert pd_ts("2021-01-01T12:00") <= drawn["min"] < drawn["max"] <= pd_ts(HIGH)
    # Daily bands cover every day up to the latest deadline, in every replication.
    bands = reps.bands()
    last = bands[bands["series"] == "evacuated"]["date"].max()
    assert last == pd_ts("2021-01-03")
    assert (bands[bands["series"] == "evacuated"]["n"] == 12).all()


def pd_ts(text: str):
    import pandas as pd

    return pd.Timestamp(text)


def test_days_after_a_short_run_are_filled_as_the_end_left_them(uncertain):
    uncertain["deadline"] = "2021-01-02T12:00"
    result = evacsim.simulate(evacsim.scenario_from_dict(uncertain), seed=0)
    short = daily_series(result, ["people"])
    longer = daily_series(result, ["people"], through=pd_ts("2021-01-03"))
    assert short["date"].max() == pd_ts("2021-01-02")
    extra = longer[longer["date"] == pd_ts("2021-01-03")].set_index("series")["value"]
    last = short[short["date"] == pd_ts("2021-01-02")].set_index("series")["value"]
    assert extra["evacuated"] == 0 and extra["departures"] == 0
    backlog = [s for s in last.index if s.startswith("backlog.")]
    assert (extra[backlog] == last[backlog]).all()


def test_the_cli_reports_the_deadlines_drawn(tmp_path, uncertain, capsys):
    import yaml

    path = tmp_path / "uncertain.yaml"
    path.write_text(yaml.safe_dump(uncertain), encoding="utf-8")
    assert main(["validate", str(path)]) == 0
    code = main(
        [
            "run",
            str(path),
            "-n",
            "3",
            "--engine",
            "sequential",
            "--no-progress",
            "--out",
            str(tmp_path / "out"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "Deadline uncertain (uniform, 2021-01-02 12:00 to 2021-01-04 00:00)" in out
    # --set reaches the distribution's fields.
    assert main(["validate", str(path), "--set", "deadline.low=2021-01-03T00:00"]) == 0
