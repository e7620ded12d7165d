"""Tables that cannot be wrong: utilisation within [0, 1] and no negative rounding residue.

Oracles: a utilisation is busy capacity-hours over available capacity-hours, so it lies in
[0, 1] whatever the scenario; hours full lie within the hours of the day; counts and levels of
people, aircraft and hours are never negative (not even -1e-12). The property test runs them
over random small scenarios that push every edge the probe found (work past the deadline,
very slow gates, groups larger than the holding area, staging capacity cut below its load,
deadlines and reporting days at odd minutes, gates group by group).
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evacsim
from evacsim.scenario.loader import scenario_from_dict
from tests.test_model import small_scenarios

# Columns that hold quantities (never negative) in the tables of a run.
QUANTITIES = {
    "evacuated_hourly": ["people"],
    "backlog": ["mean", "end"],
    "ground": ["mean", "end"],
    "utilisation": ["busy_h", "available_h", "utilisation", "full_h"],
    "left_behind": ["people"],
    "waits": ["people", "mean_h", "p50_h", "p90_h", "p95_h"],
    "flights": ["seats", "boarded", "troops_in", "troops_out", "held_for_staging_h", "load_factor"],
    "kpis": ["value"],
}


def assert_tables_sound(result: evacsim.RunResult) -> None:
    """Every bound this module promises, on one run."""
    util = result.utilisation
    u = util["utilisation"].dropna()
    assert ((u >= 0) & (u <= 1)).all(), util.loc[u[(u < 0) | (u > 1)].index]
    assert (util.loc[util["available_h"] == 0, "utilisation"].isna()).all()
    assert (util["full_h"] <= 24.0).all()
    busier = util["busy_h"] > util["available_h"] * (1 + 1e-9)
    assert not busier.any(), util[busier]
    tables = result.tables()
    for name, columns in QUANTITIES.items():
        frame = tables[name]
        for column in columns:
            values = pd.to_numeric(frame[column], errors="coerce").dropna().to_numpy()
            assert (values >= 0).all(), (name, column, values[values < 0][:5])


@st.composite
def edgy_scenarios(draw):
    data, _capacity, group_max = draw(small_scenarios())
    if draw(st.booleans()):  # a holding area smaller than the largest group
        data["holding"]["capacity"] = draw(st.integers(1, group_max))
    if draw(st.booleans()):  # a gate so slow that a passage runs past the deadline
        data["gates"]["g1"]["throughput_per_h"] = draw(st.sampled_from([1e-9, 0.01, 0.3]))
    if draw(st.booleans()):
        data["gates"]["g2"]["batch"] = 0  # group by group (exact)
    data["events"]["cap"]["capacity"] = draw(st.integers(0, 1000))  # may cut below the load
    minutes = draw(st.integers(0, 23 * 60 + 59))
    data["reporting_day_starts"] = f"{minutes // 60:02d}:{minutes % 60:02d}"
    data["deadline"] = draw(
        st.sampled_from(["2021-01-05T00:00", "2021-01-04T17:37", "2021-01-04T23:59"])
    )
    return data


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(edgy_scenarios(), st.integers(0, 2**32 - 1))
def test_tables_are_within_their_bounds(data, seed):
    result = evacsim.simulate(scenario_from_dict(data), seed=seed, keep_records=False)
    assert_tables_sound(result)


def test_kabul_baseline_tables_are_within_their_bounds():
    """The baseline at one seed (its screening once showed 1.007 on 15 Aug)."""
    from tests.conftest import SCENARIOS

    result = evacsim.simulate(
        evacsim.load_scenario(SCENARIOS / "kabul_2021.yaml"), seed=0, keep_records=False
    )
    assert_tables_sound(result)


@pytest.mark.parametrize("throughput", [1e-9, 0.05])
def test_work_past_the_deadline_is_not_booked_on_the_last_day(deterministic, throughput):
    """A gate whose one passage outlasts the run: busy to the deadline, not beyond it."""
    deterministic["gates"]["main"] = {"throughput_per_h": throughput, "batch": 0}
    result = evacsim.simulate(scenario_from_dict(deterministic), seed=0)
    gate = result.utilisation[result.utilisation["resource"] == "gate:main"]
    assert gate["utilisation"].max() <= 1.0
    # The gate starts its first passage within a second of the start (the first arrival) and
    # is busy to the end: every hour it was available it was busy, the last day too.
    assert gate["busy_h"].sum() == pytest.approx(gate["available_h"].sum(), abs=1e-3)
    assert gate["utilisation"].iloc[-1] == pytest.approx(1.0)


def test_a_lane_unmanned_mid_screening_stays_open_until_it_is_done(deterministic):
    """Two lanes manned for the first hour only, each screening for 3 h: both finish their
    group (busy 3 h each) on lanes open for them, so screening is busy every open hour."""
    deterministic["screening"] = {
        "lanes": {"2021-01-01T00:00": 2, "2021-01-01T01:00": 0},
        "service": {"dist": "fixed", "value": "3h"},
        "batch": 0,
    }
    result = evacsim.simulate(scenario_from_dict(deterministic), seed=0)
    screening = result.utilisation[result.utilisation["resource"] == "screening"]
    assert screening["busy_h"].sum() == pytest.approx(6.0, abs=1e-3)  # from the first arrival
    assert screening["available_h"].sum() == pytest.approx(6.0, abs=1e-3)  # 2 x 3 h, not 2 x 1 h
    lanes = result.ground[result.ground["series"] == "lanes_manned"]["mean"]
    assert lanes.sum() == pytest.approx(2.0)  # the manned count itself is unchanged
