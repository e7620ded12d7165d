"""Fleets, timetables and direct flights: sorties out of the aircraft's cycle, fixed times,
destinations without a staging base. Small scenarios where the answer is arithmetic."""

from __future__ import annotations

import copy
from pathlib import Path

import pandas as pd
import pytest

import evacsim
from evacsim.model.flights import DIRECT

BASE = {
    "name": "fleet",
    "start": "2023-04-23T00:00",
    "deadline": "2023-04-26T00:00",
    "demand": {"people": {"pool": 20000, "arrivals_per_day": 240000, "group_size": {1: 1}}},
    "gates": {"main": {"throughput_per_h": None}},
    "screening": {"lanes": 1000, "service": {"dist": "fixed", "value": 0}},
    "airfield": {"separation": "1min", "ramp_capacity": 20},
    "aircraft": {"a400m": {"seats": 100, "turnaround": "1h"}},
    "operators": {"uk": {}},
    "flights": {
        "raf": {
            "operator": "uk",
            "aircraft": "a400m",
            "from": "2023-04-23T00:00",
            "to": "2023-04-26T00:00",
            "fleet": {"aircraft": 1},
            "destinations": "larnaca",
        }
    },
    # a final destination: only the flight time is given, every other field has its default
    "staging": {"larnaca": {"flight_time": "3h"}},
}


def run(data, seed=0):
    return evacsim.simulate(evacsim.scenario_from_dict(data), seed=seed, keep_records=False)


def departed(result):
    f = result.flights
    return f[f["status"] == "departed"].sort_values("slot_h")


def test_one_aircraft_flies_its_cycle():
    r = run(copy.deepcopy(BASE))
    f = departed(r)
    # Cycle: 3 h in, 1 h turnaround (+1 min to land, +1 min to take off), 3 h out, 1 h at base.
    cycle = 8 + 2 / 60
    gaps = f["slot_h"].diff().dropna()
    assert gaps.to_numpy() == pytest.approx([cycle] * len(gaps), abs=1e-6)
    assert f["slot_h"].iloc[0] == pytest.approx(3.0)
    # 72 h: sorties reaching the airfield at 3, 11.03, ..., all before the deadline
    assert len(r.flights) == len(f) == 9
    assert (f["tail"] == 0).all() and (f["boarded"] == 100).all()
    assert r.kpis["evacuated"] == 900


def test_sorties_scale_with_the_fleet_and_are_spread_over_a_cycle():
    data = copy.deepcopy(BASE)
    data["flights"]["raf"]["fleet"]["aircraft"] = 4
    f = departed(run(data))
    assert sorted(f["tail"].unique()) == [0, 1, 2, 3]
    first = f.groupby("tail")["slot_h"].min().to_numpy()
    # first take-offs spread evenly over one cycle (8 h): 2 h apart
    assert first == pytest.approx([3.0, 5.0, 7.0, 9.0], abs=1e-6)
    assert 34 <= len(f) <= 36


def test_a_full_staging_base_holds_aircraft_and_sorties_fall():
    free = departed(run(copy.deepcopy(BASE)))
    data = copy.deepcopy(BASE)
    data["flights"]["raf"]["fleet"]["aircraft"] = 3
    free3 = departed(run(data))
    data["staging"]["larnaca"] = {"capacity": 100, "onward_per_day": 200, "flight_time": "3h"}
    held = departed(run(data))
    assert len(held) < len(free3)
    assert held["held_for_staging_h"].sum() > 5
    assert len(free) == 9  # the single aircraft was never held


def test_crew_duty_limit_rests_the_crew():
    data = copy.deepcopy(BASE)
    data["flights"]["raf"]["fleet"]["crew"] = {"duty": "16h", "rest": "12h"}
    f = departed(run(data))
    gaps = f["slot_h"].diff().dropna().to_numpy()
    # two sorties a duty (the third would end 23 h after the first take-off), then 12 h rest
    assert gaps[0] == pytest.approx(8 + 2 / 60, abs=1e-6)
    assert gaps[1] == pytest.approx(8 + 2 / 60 + 12, abs=1e-6)
    assert len(f) < 9


def test_timetable_flies_at_the_times_given():
    data = copy.deepcopy(BASE)
    data["flights"]["raf"] = {
        "operator": "uk",
        "aircraft": "a400m",
        "timetable": ["2023-04-23T16:00", "2023-04-24T08:30", "2023-04-25T22:00"],
        "destinations": "larnaca",
    }
    f = departed(run(data))
    assert f["slot_h"].tolist() == [16.0, 32.5, 70.0]
    assert (f["tail"] == -1).all()


def test_direct_flights_need_no_staging_base():
    data = copy.deepcopy(BASE)
    del data["staging"]
    del data["flights"]["raf"]["destinations"]
    data["flights"]["raf"]["fleet"]["block_time"] = "3h"
    r = run(data)  # conservation is checked by the run
    f = departed(r)
    assert (f["destination"] == DIRECT).all()
    assert r.kpis["evacuated"] == 900
    assert set(r.evacuated["destination"]) == {DIRECT}


def test_per_day_schedules_may_go_direct_too(deterministic):
    direct = copy.deepcopy(deterministic)
    del direct["flights"]["shuttle"]["destinations"]
    a = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=2)
    b = evacsim.simulate(evacsim.scenario_from_dict(direct), seed=2)
    assert a.kpis["evacuated"] == b.kpis["evacuated"] == 2000


def test_fleet_fields_work_with_set_overrides(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(BASE, sort_keys=False))
    s = evacsim.load_scenario(
        path,
        overrides=["flights.raf.fleet.aircraft=2", "flights.raf.fleet.block_time=2h"],
    )
    assert s.flights["raf"].fleet.aircraft == 2 and s.flights["raf"].fleet.block_time == 2.0
    f = departed(evacsim.simulate(s, seed=0, keep_records=False))
    assert len(f) > 9  # two aircraft on a shorter cycle fly more


def test_the_example_scenario_round_trips_and_takes_levers():
    from evacsim.experiments.levers import Lever, apply_levers

    s = evacsim.load_scenario(Path(__file__).parent.parent / "scenarios/airlift_rules_example.yaml")
    assert evacsim.scenario_from_dict(s.model_dump(mode="json", by_alias=True)) == s
    changed = apply_levers(
        s,
        [
            Lever("flights.raf_atlas.fleet.aircraft", 5),
            Lever("operators.germany.boarding.quotas.europeans", 0.6),
            Lever("flights.raf_atlas.fleet.block_time", 2.0, mode="scale"),
        ],
    )
    assert changed.flights["raf_atlas"].fleet.aircraft == 5
    assert changed.flights["raf_atlas"].fleet.block_time == 7.0
    assert changed.operators["germany"].boarding.quotas["europeans"] == 0.6


def test_the_example_scenario_shows_each_rule():
    r = evacsim.simulate(
        Path(__file__).parent.parent / "scenarios/airlift_rules_example.yaml",
        seed=0,
        keep_records=False,
    )
    ev = r.evacuated[r.evacuated["people"] > 0]
    residents = ev[ev["category"] == "uk_residents"]
    # UK residents fly only on UK aircraft, and only after the 28 Apr U-turn (12:00)
    assert len(residents) and set(residents["operator"]) == {"uk"}
    assert residents["time"].min() >= pd.Timestamp("2023-04-28T12:00")
    # German flights carry no more partners than their shares before spare seats ...
    german = ev[ev["operator"] == "germany"]
    assert set(german["category"]) <= {"germans", "europeans", "british", "third_country"}
    # ... Canada's timetable flies direct, the UK fleet cycles through Larnaca
    f = r.flights[r.flights["status"] == "departed"]
    assert set(f.loc[f["schedule"] == "rcaf", "destination"]) == {DIRECT}
    assert len(f[f["schedule"] == "rcaf"]) == 4
    assert sorted(f.loc[f["schedule"] == "raf_atlas", "tail"].unique()) == [0, 1, 2]


def test_an_earlier_deadline_drops_timetabled_flights_after_it(tmp_path):
    import yaml

    from evacsim.scenario.loader import check_scenario

    data = copy.deepcopy(BASE)
    data["flights"]["raf"] = {
        "operator": "uk",
        "aircraft": "a400m",
        "timetable": ["2023-04-23T16:00", "2023-04-25T22:00"],
        "destinations": "larnaca",
    }
    data["flights"]["late"] = dict(data["flights"]["raf"], timetable=["2023-04-25T23:00"])
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    scenario, problems = check_scenario(path, overrides=["deadline=2023-04-25T00:00"])
    assert scenario is not None and [p.severity for p in problems] == ["warning"] * 2
    assert scenario.flights["raf"].timetable == [pd.Timestamp("2023-04-23T16:00")]
    assert "late" not in scenario.flights


def test_fleet_mistakes_elsewhere_are_reported_not_raised():
    # a base, a crew and a fleet field all failing at once: each gets its line, no crash in
    # the checks that span fields (they skip what failed)
    data = copy.deepcopy(BASE)
    data["staging"]["larnaca"]["flight_time"] = "100h"
    data["flights"]["raf"]["fleet"].update(aircraft="x", crew={"duty": "100h", "rest": "1h"})
    with pytest.raises(evacsim.ScenarioError) as err:
        evacsim.scenario_from_dict(data)
    text = str(err.value)
    assert "staging.larnaca.flight_time: 100h is too large" in text and "<= 2d" in text
    assert "flights.raf.fleet.crew.duty: 100h is too large" in text
    assert "flights.raf.fleet.aircraft: 'x' is not a whole number" in text


def test_a_fleet_that_may_divert_flies_to_a_base_with_room():
    data = copy.deepcopy(BASE)
    data["flights"]["raf"]["fleet"]["aircraft"] = 3
    data["flights"]["raf"]["destinations"] = {"larnaca": 1.0, "akrotiri": 0.0001}
    data["staging"]["larnaca"] = {"capacity": 100, "onward_per_day": 100, "flight_time": "3h"}
    data["staging"]["akrotiri"] = {"flight_time": "2h"}
    held = departed(run(data))
    data["flights"]["raf"]["divert"] = True
    diverting = departed(run(data))
    assert "akrotiri" in set(diverting["destination"])
    assert len(diverting) > len(held)
    assert diverting["held_for_staging_h"].sum() < held["held_for_staging_h"].sum()
