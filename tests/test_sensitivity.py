"""Global sensitivity analysis (issue 12): the estimator on a scenario whose answer is known,
the ``uncertain:`` block, the command line and resuming.

Known answer: in the mini scenario flights are the bottleneck and the staging base is far
too big to fill, so people left behind depend on the flight rate alone. With common random
numbers at every design point, the staging inputs change nothing at all: their total
indices must be 0 and the flight rate's total index must be about 1 (it explains all the
variance, alone).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_experiments_support import MINI, mini, write_mini

import evacsim
from evacsim.cli.main import main
from evacsim.experiments.sensitivity import parameters_from_scenario, parse_range, sensitivity

KNOWN = [
    "flights.us_c17.per_day*=0.4:1.2",  # decides everything
    "staging.base.capacity=100000:200000",  # never reached (3,300 people at most)
    "staging.base.onward_per_day=10000..20000",
]  # irrelevant while the base never fills


@pytest.fixture(scope="module")
def known(tmp_path_factory):
    out = tmp_path_factory.mktemp("sobol")
    return sensitivity(
        mini(),
        KNOWN,
        samples=16,
        seed=1,
        kpis=["left_behind", "evacuated"],
        engine="sequential",
        out=out,
        progress=False,
    )


def test_sobol_finds_the_one_input_that_matters(known):
    table = known.indices.set_index(["kpi", "parameter"])
    for kpi in ("left_behind", "evacuated"):
        flights = table.loc[(kpi, "flights.us_c17.per_day*")]
        assert abs(flights["ST"] - 1.0) < 0.25 and flights["ST_low"] < 1.0 < flights["ST_high"]
        assert abs(flights["S1"] - 1.0) < 0.35
        for idle in ("staging.base.capacity", "staging.base.onward_per_day"):
            assert abs(table.loc[(kpi, idle), "ST"]) < 0.02
            assert abs(table.loc[(kpi, idle), "S1"]) < 0.05
        assert known.ranking(kpi)["parameter"].iloc[0] == "flights.us_c17.per_day*"
    # 16 base samples x (3 inputs + 2) = 80 design points, each run once
    assert len(known.points) == 80 and known.stats.ran == 80


def test_morris_screens_the_same_way():
    result = sensitivity(
        mini(),
        KNOWN,
        method="morris",
        samples=4,
        seed=2,
        kpis=["left_behind"],
        engine="sequential",
        progress=False,
    )
    table = result.indices.set_index("parameter")
    assert table.loc["flights.us_c17.per_day*", "mu_star"] > 100  # people, over the range
    assert table.loc["staging.base.capacity", "mu_star"] == 0
    assert table.loc["staging.base.onward_per_day", "mu_star"] == 0
    assert len(result.points) == 4 * (3 + 1)


def test_a_rerun_into_the_same_folder_runs_nothing_again(known):
    again = sensitivity(
        mini(),
        KNOWN,
        samples=16,
        seed=1,
        kpis=["left_behind", "evacuated"],
        engine="sequential",
        out=known.store.root,
        progress=False,
    )
    assert again.stats.ran == 0 and again.stats.skipped == 80
    np.testing.assert_allclose(again.indices["ST"], known.indices["ST"])


def test_uncertain_block_is_validated_and_used():
    scenario = mini(
        uncertain={
            "flights.us_c17.per_day": {
                "low": 0.5,
                "high": 1.5,
                "scale": True,
                "source": "[assumption] sortie rate",
            },
            "screening.service.mean": {"low": "5min", "high": "15min"},
        }
    )
    params = parameters_from_scenario(scenario)
    assert [(p.label, p.low) for p in params] == [
        ("flights.us_c17.per_day*", 0.5),
        ("screening.service.mean", 5 / 60),
    ]
    with pytest.raises(evacsim.ScenarioError) as err:
        mini(
            uncertain={
                "screening.lane": {"low": 2, "high": 8},
                "flights.us_c17.per_day": {"low": 1, "high": 2},
                "holding.capacity": {"low": 3, "high": 2},
            }
        )
    text = "\n".join(str(p) for p in err.value.problems)
    assert "uncertain.screening.lane: 'lane' is not a field of screening" in text
    assert "uncertain.flights.us_c17.per_day: is not a single number" in text
    assert "uncertain.holding.capacity: expected low < high" in text
    data = dict(MINI, uncertain={"screening.lanes": {"low": 2, "high": 8}})
    assert evacsim.scenario_from_dict(data).uncertain["screening.lanes"].high == 8


def test_uncertain_block_can_be_given_with_set(tmp_path, capsys):
    scenario = write_mini(tmp_path)
    assert (
        main(
            [
                "validate",
                str(scenario),
                "--print-resolved",
                "--set",
                'uncertain={"screening.lanes": {low: 2, high: 8}}',
            ]
        )
        == 0
    )
    assert "screening.lanes:\n    low: 2.0\n    high: 8.0" in capsys.readouterr().out
    assert (
        main(
            ["validate", str(scenario), "--set", 'uncertain={"screening.lanes": {low: 9, high: 8}}']
        )
        == 1
    )
    assert "uncertain.screening.lanes: expected low < high" in capsys.readouterr().err


def test_parse_range_takes_both_separators_and_durations():
    assert parse_range("screening.lanes=2..8").high == 8
    assert parse_range("screening.lanes=2:8").low == 2
    assert parse_range("screening.service.mean=3min..12min").high == pytest.approx(0.2)
    with pytest.raises(ValueError, match="LO < HI"):
        parse_range("screening.lanes=8:2")


def test_cli_sensitivity_from_the_uncertain_block(tmp_path, capsys):
    scenario = write_mini(
        tmp_path,
        uncertain={
            "flights.us_c17.per_day": {"low": 0.5, "high": 1.5, "scale": True},
            "screening.lanes": {"low": 2, "high": 6},
        },
    )
    out = tmp_path / "study"
    assert (
        main(
            [
                "sensitivity",
                str(scenario),
                "--method",
                "morris",
                "-N",
                "2",
                "--kpi",
                "not_out",
                "--engine",
                "sequential",
                "--no-progress",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "not_out" in printed and "flights.us_c17.per_day*" in printed
    assert (out / "sensitivity_indices.csv").is_file()
    # bad input: one line, exit 1
    assert (
        main(
            [
                "sensitivity",
                str(scenario),
                "--param",
                "screening.lanes=9:3",
                "--engine",
                "sequential",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "LO < HI" in err
    assert (
        main(
            [
                "sensitivity",
                str(scenario),
                "--param",
                "screening.nope=1:3",
                "--engine",
                "sequential",
            ]
        )
        == 1
    )
    assert "screening.nope" in capsys.readouterr().err
    assert (
        main(
            [
                "sensitivity",
                str(scenario),
                "-N",
                "2",
                "--kpi",
                "nope",
                "--method",
                "morris",
                "--engine",
                "sequential",
                "--no-progress",
            ]
        )
        == 1
    )
    assert "unknown KPI 'nope'" in capsys.readouterr().err


def test_a_kpi_no_input_moves_has_undefined_indices():
    result = sensitivity(
        mini(),
        KNOWN[1:],
        method="morris",
        samples=2,
        kpis=["left_behind"],
        engine="sequential",
        progress=False,
    )
    assert result.indices["mu_star"].isna().all()
    assert math.isnan(result.indices["sigma"].iloc[0])
    fig = result.figure()
    assert "does not vary" in " ".join(t.get_text() for t in fig.axes[0].texts)
