"""Calibration against a record of targets (evacsim.experiments.targets; `calibrate --targets`).

Oracles: exact arithmetic on the deterministic scenario (20 flights x seats each), so the
fitted value is known; and every mistake in a targets file is reported with its line.
"""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

import evacsim
from evacsim.cli.main import main
from evacsim.experiments.backtest import ObservedDataError
from evacsim.experiments.targets import calibrate_targets, read_targets, target_values

TARGETS = """quantity,from,to,low,high,weight,source
evacuated,,,1900,2100,1,total: 20 flights of 100 seats
evacuated.op,2021-01-01T00:00,2021-01-02T06:00,900,1100,1,the first day's ten flights
flights_departed,,,19,21,2,a KPI
"""


def test_target_values_are_counts_in_windows_and_kpis(deterministic, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(TARGETS, encoding="utf-8")
    result = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=0)
    values = target_values(result, read_targets(path))
    # Slots at (k + 0.5) / 10 of each 24 h from 06:00, 1 h turnaround: ten depart by 06:00
    # on 2 Jan, with 100 aboard each.
    assert values.tolist() == [2000.0, 1000.0, 20.0]


def test_calibrate_targets_recovers_the_seats(deterministic, tmp_path):
    """Total = 20 x seats, so the band 1,900-2,100 is met only at 95-105 seats: the grid
    (50, 75, 100, 125, 150) picks 100 and the zoom keeps it."""
    path = tmp_path / "targets.csv"
    path.write_text(TARGETS, encoding="utf-8")
    fit = calibrate_targets(
        evacsim.scenario_from_dict(deterministic),
        path,
        ["aircraft.plane.seats=50:150"],
        points=5,
        rounds=2,
        replications=1,
    )
    assert fit.fitted() == {"aircraft.plane.seats": 100.0}
    assert fit.fit["inside"].all()
    assert fit.s_min == pytest.approx(0.0)
    row = fit.estimates.iloc[0]
    assert row["low"] <= 100 <= row["high"] and not row["at_bound"]


def test_a_bad_targets_file_names_every_mistake_and_its_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text(
        "quantity,from,to,low,high,weight\nevacuated,yesterday,,10,5,1\n,,,1,2,0\n",
        encoding="utf-8",
    )
    with pytest.raises(ObservedDataError) as err:
        read_targets(path)
    text = str(err.value)
    assert f"{path}:2: from: 'yesterday' is not a date-time" in text
    assert f"{path}:2: high: 5 is not above low 10" in text
    assert f"{path}:3: quantity: empty" in text
    assert f"{path}:3: weight: 0 (expected a weight above 0)" in text


def test_cli_calibrate_targets_writes_a_record_naming_its_command(deterministic, tmp_path, capsys):
    scenario = tmp_path / "det.yaml"
    scenario.write_text(yaml.safe_dump(deterministic), encoding="utf-8")
    targets = tmp_path / "targets.csv"
    targets.write_text(TARGETS, encoding="utf-8")
    record = tmp_path / "record.md"
    argv = [
        "calibrate",
        str(scenario),
        "--targets",
        str(targets),
        "--param",
        "aircraft.plane.seats=50:150",
        "--points",
        "5",
        "--rounds",
        "1",
        "-n",
        "1",
        "--engine",
        "sequential",
        "--record",
        str(record),
    ]
    assert main(argv) == 0
    text = record.read_text(encoding="utf-8")
    assert "evacsim calibrate " + str(scenario) in text
    assert "| `aircraft.plane.seats` | 50 to 150 | 100 |" in text
    assert main(["calibrate", str(scenario), "--param", "aircraft.plane.seats=50:150"]) == 1
    assert "give one of --observed" in capsys.readouterr().err


def test_unknown_quantity_is_refused(deterministic, tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text("quantity,low,high\nevacuated.nobody,1,2\n", encoding="utf-8")
    result = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=0)
    with pytest.raises(ValueError, match="neither evacuated"):
        target_values(result, read_targets(path))
    assert isinstance(read_targets(path), pd.DataFrame)
