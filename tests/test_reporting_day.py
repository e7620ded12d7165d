"""Reporting days: one definition of "a day" in every daily table, chart and comparison.

The oracle is the rule in :mod:`evacsim.results.days`: a reporting day runs from
``reporting_day_starts`` (local time) to the same time next day and is labelled by the date
on which it starts. Each test checks a table against that rule or against another table.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import evacsim
from evacsim.experiments.backtest import model_days
from evacsim.experiments.worker import daily_series
from evacsim.results.binding import binding_constraints
from evacsim.results.charts import replication_frame
from evacsim.results.days import day_label, end_of_day_hours, hour_weights, reporting_days
from evacsim.scenario.loader import ScenarioError, load_scenario, scenario_from_dict


@pytest.fixture(scope="module")
def runs() -> dict[str, evacsim.RunResult]:
    """The deterministic scenario with flights at uneven hours, days from 00:00 and 11:30."""
    from tests.conftest import _DETERMINISTIC

    out = {}
    for starts in ("00:00", "11:30"):
        spec = json.loads(json.dumps(_DETERMINISTIC))
        spec["flights"]["shuttle"]["per_day"] = 7  # departures at many minutes of the hour
        spec["reporting_day_starts"] = starts
        out[starts] = evacsim.simulate(scenario_from_dict(spec), seed=1)
    return out


# ------------------------------------------------------------------------------ the rule


def test_day_label_is_the_date_the_day_starts():
    times = pd.Series(
        pd.to_datetime(
            ["2021-08-23 11:29", "2021-08-23 11:30", "2021-08-24 11:29", "2021-08-24 00:00"]
        )
    )
    labels = day_label(times, 11.5).dt.strftime("%d").tolist()
    assert labels == ["22", "23", "23", "23"]
    assert day_label(times, 0.0).dt.strftime("%d").tolist() == ["23", "23", "24", "24"]


def test_hour_weights_split_the_hour_a_day_starts_in():
    hours = pd.date_range("2021-08-14 00:00", periods=48, freq="h")
    days, w = hour_weights(hours, 11.5)
    assert list(days.strftime("%d")) == ["13", "14", "15"]
    np.testing.assert_allclose(w.sum(axis=0), 1.0)  # every hour is shared out in full
    assert w[0, 11] == pytest.approx(0.5) and w[1, 11] == pytest.approx(0.5)
    assert w[:, :11].argmax(axis=0).tolist() == [0] * 11
    assert w.sum(axis=1).tolist() == pytest.approx([11.5, 24.0, 12.5])
    # Midnight days: whole hours, calendar days.
    days0, w0 = hour_weights(hours, 0.0)
    assert list(days0.strftime("%d")) == ["14", "15"] and set(np.unique(w0)) == {0.0, 1.0}


def test_end_of_day_hour_closes_the_day_it_ends_in():
    hours = pd.DatetimeIndex(["2021-08-14 10:00", "2021-08-14 11:00", "2021-08-14 23:00"])
    assert list(end_of_day_hours(hours, 11.0).strftime("%d")) == ["13", "14", "14"]
    assert list(end_of_day_hours(hours, 0.0).strftime("%d")) == ["14", "14", "14"]


def test_reporting_days_cover_the_run():
    start, end = pd.Timestamp("2021-08-14"), pd.Timestamp("2021-08-31")
    assert len(reporting_days(start, end, 0.0)) == 17
    days = reporting_days(start, end, 11.5)
    assert days[0] == pd.Timestamp("2021-08-13") and days[-1] == pd.Timestamp("2021-08-30")


# ------------------------------------------------------------------------------ the field


def test_field_defaults_to_midnight_and_reads_quoted_or_bare(tmp_path, deterministic):
    assert scenario_from_dict(deterministic).reporting_day_starts == 0.0
    for written in ('"11:30"', "11:30", "'07:05'"):
        path = tmp_path / "s.yaml"
        body = json.dumps(deterministic)  # JSON is YAML
        path.write_text(
            body[:-1] + f', "reporting_day_starts": {written}}}'
            if written.startswith(('"', "'"))
            else f"reporting_day_starts: {written}\n" + _yaml_of(deterministic)
        )
        expected = 7 + 5 / 60 if "07" in written else 11.5
        assert load_scenario(path).reporting_day_starts == pytest.approx(expected)


def _yaml_of(spec: dict) -> str:
    import yaml

    return yaml.safe_dump(spec, sort_keys=False)


def test_field_works_with_set_and_extends(tmp_path, deterministic):
    base = tmp_path / "base.yaml"
    base.write_text(_yaml_of({**deterministic, "reporting_day_starts": "11:30"}))
    child = tmp_path / "child.yaml"
    child.write_text("extends: base.yaml\nname: child\n")
    assert load_scenario(child).reporting_day_starts == 11.5
    assert load_scenario(child, overrides=["reporting_day_starts=03:00"]).reporting_day_starts == 3
    written = load_scenario(child).model_dump(mode="json", by_alias=True)
    assert written["reporting_day_starts"] == "11:30"
    assert scenario_from_dict(written).reporting_day_starts == 11.5  # round trip


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("25:00", "00:00 to 23:59"),
        ("11:60", "00:00 to 23:59"),
        ("3", "HH:MM"),
        ("noon", "HH:MM"),
        ("11:30:15", "HH:MM"),
        ("true", "HH:MM"),
    ],
)
def test_bad_times_are_refused_with_the_field_path(deterministic, value, says):
    with pytest.raises(ScenarioError) as err:
        load_scenario_from(deterministic, [f"reporting_day_starts={value}"])
    line = str(err.value)
    assert "reporting_day_starts" in line and says in line


def load_scenario_from(spec: dict, overrides: list[str]):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "s.yaml"
        path.write_text(_yaml_of(spec))
        return load_scenario(path, overrides=overrides)


def test_field_is_in_the_schema_and_the_reference():
    from evacsim.scenario.reference import scenario_json_schema, scenario_reference

    field = scenario_json_schema()["definitions"]["Scenario"]["properties"]["reporting_day_starts"]
    assert field["default"] == "00:00" and "pattern" in field
    assert "`reporting_day_starts`" in scenario_reference()


def test_kabul_counts_days_as_the_record_does():
    from tests.conftest import SCENARIOS

    kabul = load_scenario(SCENARIOS / "kabul_2021.yaml")
    assert kabul.reporting_day_starts == 11.5
    text = (SCENARIOS / "kabul_2021.yaml").read_text()
    line = next(x for x in text.splitlines() if x.startswith("reporting_day_starts"))
    assert "[src: kabul_2021.md" in line


# ------------------------------------------------------------------------------ the tables


@pytest.mark.parametrize("starts", ["00:00", "11:30"])
def test_every_daily_table_uses_one_definition(runs, starts):
    result = runs[starts]
    h = result.reporting_day_starts_h
    assert h == (11.5 if starts == "11:30" else 0.0)
    flights = result.flights[result.flights["status"] == "departed"]
    # Each departure's day follows the rule from its exact time.
    expected_day = (flights["departed"] - pd.Timedelta(hours=h)).dt.floor("D")
    assert (flights["day"] == expected_day).all()
    # evacuated_daily counts each flight's people on that flight's day.
    per_flight = flights.groupby("day")["boarded"].sum()
    daily = result.evacuated_daily(by=[]).set_index("date")["people"]
    pd.testing.assert_series_equal(daily, per_flight, check_names=False, check_dtype=False)
    assert daily.sum() == result.kpis["evacuated"]
    assert result.kpis["peak_day_evacuated"] == daily.max()
    # The same days in utilisation, the binding strip, the experiments and backtest.
    days = pd.DatetimeIndex(sorted(result.utilisation["date"].unique()))
    scenario = scenario_from_dict(result.provenance["resolved_scenario"])
    assert days.equals(model_days(scenario))
    assert days.equals(
        pd.DatetimeIndex(binding_constraints(result.utilisation, result.flights).index)
    )
    series = daily_series(result, ["people"])
    assert pd.DatetimeIndex(sorted(series["date"].unique())).equals(days)
    evac = series[series["series"] == "evacuated"].set_index("date")["value"]
    assert evac.reindex(daily.index).tolist() == daily.astype(float).tolist()
    took_off = series[series["series"] == "departures"].set_index("date")["value"]
    per_day = flights.groupby("day").size()
    assert took_off[took_off > 0].tolist() == per_day.astype(float).tolist()
    assert pd.DatetimeIndex(took_off[took_off > 0].index).equals(pd.DatetimeIndex(per_day.index))
    frame = replication_frame([result])
    per_day = frame[frame["series"] == "evacuated per day"].set_index("date")["value"]
    assert pd.DatetimeIndex(per_day.index).equals(days)
    assert per_day.reindex(daily.index).tolist() == daily.astype(float).tolist()
    # Hours in utilisation add up to the run's length, whatever the day boundary.
    util = result.utilisation[result.utilisation["resource"] == "runway"]
    assert util["available_h"].sum() == pytest.approx(72.0)


def test_moving_the_day_start_moves_people_between_days_not_in_total(runs):
    midnight, noonish = runs["00:00"], runs["11:30"]
    a = midnight.evacuated_daily(by=[])["people"]
    b = noonish.evacuated_daily(by=[])["people"]
    assert a.sum() == b.sum()
    assert list(midnight.evacuated_daily(by=[])["date"].dt.day) == [1, 2, 3]
    # Flights from 1 Jan 06:00: the 11:30 days are "31 Dec" (to 1 Jan 11:30) to "2 Jan".
    assert list(noonish.evacuated_daily(by=[])["date"].dt.day) == [31, 1, 2]
    assert not np.array_equal(a.to_numpy(), b.to_numpy())
    days = noonish.utilisation["date"].drop_duplicates().dt.day.tolist()
    assert days == [31, 1, 2, 3]  # the run's four reporting days, the first and last partial


def test_a_results_folder_keeps_the_days(runs, tmp_path):
    """Tables written and read back (``evacsim report``) count the same reporting days."""
    from evacsim.results.report import read_results, write_report

    result = runs["11:30"]
    back = read_results(result.write(tmp_path / "run", parquet=False))
    assert back.reporting_day_starts_h == 11.5
    pd.testing.assert_frame_equal(
        back.evacuated_daily(), result.evacuated_daily(), check_dtype=False
    )
    days = binding_constraints(back.utilisation, back.flights).index
    assert pd.DatetimeIndex(days).equals(
        pd.DatetimeIndex(binding_constraints(result.utilisation, result.flights).index)
    )
    html = write_report(tmp_path / "run").read_text(encoding="utf-8")
    assert "reporting days from 11:30" in html
