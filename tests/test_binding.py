"""The what-was-binding rule: on hand-made tables, and on small scenarios built so that the
answer is known by construction (one deliberately scarce capacity, everything else ample)."""

from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest

import evacsim
from evacsim.results.binding import (
    CONSTRAINTS,
    LEVEL_THRESHOLD,
    NONE,
    TIME_THRESHOLD,
    binding_constraints,
    saturation_scores,
)

DAY = pd.Timestamp("2021-08-20")


def util_table(day: pd.Timestamp = DAY, **overrides) -> pd.DataFrame:
    """One day of utilisation records with every resource idle, then ``overrides``.

    Overrides are ``resource=dict(busy_h=..., available_h=..., full_h=...)``; a name with
    ``__`` stands for ``:`` (``gate__abbey`` is ``gate:abbey``).
    """
    base = {
        "gate:abbey": dict(busy_h=2.0, available_h=24.0, full_h=0.0),
        "screening": dict(busy_h=24.0, available_h=240.0, full_h=0.0),
        "holding": dict(busy_h=1000.0, available_h=240000.0, full_h=0.0),
        "runway": dict(busy_h=1.0, available_h=24.0, full_h=0.0),
        "ramp": dict(busy_h=10.0, available_h=240.0, full_h=0.0),
        "staging:base": dict(busy_h=100.0, available_h=24000.0, full_h=0.0),
    }
    for key, values in overrides.items():
        name = key.replace("__", ":")
        base[name] = {**base.get(name, dict(busy_h=0.0, available_h=24.0, full_h=0.0)), **values}
    rows = []
    for resource, v in base.items():
        kind = resource.split(":")[0] if ":" in resource else resource
        rows.append(
            {
                "date": day,
                "resource": resource,
                "kind": "gate" if kind == "gate" else kind,
                **v,
                "utilisation": v["busy_h"] / v["available_h"] if v["available_h"] else np.nan,
            }
        )
    return pd.DataFrame(rows)


def flight_table(loads: list[tuple[int, int]], day: pd.Timestamp = DAY) -> pd.DataFrame:
    """Departed flights with (seats, people aboard), leaving at noon on ``day``."""
    return pd.DataFrame(
        {
            "seats": [s for s, _ in loads],
            "boarded": [b for _, b in loads],
            "troops_out": [0] * len(loads),
            "status": ["departed"] * len(loads),
            "departed": [day + pd.Timedelta(hours=12)] * len(loads),
        }
    )


HALF_EMPTY = [(300, 150), (300, 150)]
FULL = [(300, 300), (300, 295)]


def binding_of(util: pd.DataFrame, flights: pd.DataFrame, **kw) -> str:
    out = binding_constraints(util, flights, **kw)
    assert len(out) == 1
    return out["binding"].iloc[0]


# ------------------------------------------------------------------------ constructed tables


def test_nothing_saturated_is_none():
    out = binding_constraints(util_table(), flight_table(HALF_EMPTY))
    assert out["binding"].iloc[0] == NONE
    assert np.isnan(out["score"].iloc[0])
    assert list(out.columns[: len(CONSTRAINTS)]) == list(CONSTRAINTS)


@pytest.mark.parametrize(
    ("overrides", "loads", "expected"),
    [
        ({"gate__abbey": dict(busy_h=23.0)}, HALF_EMPTY, "gates"),
        ({"screening": dict(busy_h=230.0)}, HALF_EMPTY, "screening"),
        ({"holding": dict(full_h=12.0)}, HALF_EMPTY, "holding"),
        ({}, FULL, "seats"),
        ({"ramp": dict(full_h=8.0)}, HALF_EMPTY, "ramp"),
        ({"runway": dict(busy_h=23.0)}, HALF_EMPTY, "runway"),
        ({"staging__base": dict(full_h=10.0)}, HALF_EMPTY, "staging"),
    ],
)
def test_single_saturated_constraint_is_binding(overrides, loads, expected):
    assert binding_of(util_table(**overrides), flight_table(loads)) == expected


def test_downstream_cause_wins_over_upstream_symptoms():
    # A full base holds loaded aircraft: the ramp fills, flights leave full, the inside fills
    # and the gates stop. Every symptom is saturated; the cause is the staging base.
    util = util_table(
        staging__base=dict(full_h=20.0),
        ramp=dict(full_h=20.0),
        holding=dict(full_h=20.0),
        screening=dict(busy_h=239.0),
        gate__abbey=dict(busy_h=23.5),
    )
    assert binding_of(util, flight_table(FULL)) == "staging"
    # Without the base, the full flights explain the full inside.
    util = util_table(holding=dict(full_h=20.0), gate__abbey=dict(busy_h=23.5))
    assert binding_of(util, flight_table(FULL)) == "seats"
    # Slow screening fills the inside (its queue is inside): screening, not holding.
    util = util_table(holding=dict(full_h=20.0), screening=dict(busy_h=236.0))
    assert binding_of(util, flight_table(HALF_EMPTY)) == "screening"
    # A saturated runway starves the seats of aircraft: those that come leave full.
    util = util_table(runway=dict(busy_h=23.0), ramp=dict(full_h=10.0))
    assert binding_of(util, flight_table(FULL)) == "runway"


def test_thresholds_are_inclusive_and_by_kind():
    at = util_table(gate__abbey=dict(busy_h=24.0 * LEVEL_THRESHOLD))
    below = util_table(gate__abbey=dict(busy_h=24.0 * LEVEL_THRESHOLD - 0.01))
    assert binding_of(at, flight_table(HALF_EMPTY)) == "gates"
    assert binding_of(below, flight_table(HALF_EMPTY)) == NONE
    full_at = util_table(holding=dict(full_h=24.0 * TIME_THRESHOLD))
    full_below = util_table(holding=dict(full_h=24.0 * TIME_THRESHOLD - 0.01))
    assert binding_of(full_at, flight_table(HALF_EMPTY)) == "holding"
    assert binding_of(full_below, flight_table(HALF_EMPTY)) == NONE
    # Thresholds are parameters.
    assert binding_of(below, flight_table(HALF_EMPTY), level_threshold=0.8) == "gates"
    assert binding_of(full_below, flight_table(HALF_EMPTY), time_threshold=0.9) == NONE


def test_gates_are_pooled_over_open_hours_and_worst_base_counts():
    # One gate worked flat out for the 10 h it was open; the other was closed all day.
    util = util_table(
        gate__abbey=dict(busy_h=10.0, available_h=10.0),
        gate__north=dict(busy_h=0.0, available_h=0.0),
        staging__other=dict(busy_h=0.0, available_h=24.0, full_h=2.0),
    )
    scores = saturation_scores(util, flight_table(HALF_EMPTY))
    assert scores["gates"].iloc[0] == pytest.approx(1.0)
    assert scores["staging"].iloc[0] == pytest.approx(2.0 / 24)
    util = util_table(staging__other=dict(busy_h=0.0, available_h=24.0, full_h=7.0))
    assert binding_of(util, flight_table(HALF_EMPTY)) == "staging"


def test_seat_load_counts_troops_and_only_departed_evacuation_flights():
    flights = flight_table([(300, 200), (300, 70)])
    flights.loc[1, "troops_out"] = 200  # withdrawing troops fill seats too
    extra = pd.DataFrame(
        {
            "seats": [0, 300],  # a troop carrier that does not evacuate; a flight still on ground
            "boarded": [0, 0],
            "troops_out": [0, 0],
            "status": ["departed", "on_ground"],
            "departed": [DAY + pd.Timedelta(hours=3), pd.NaT],
        }
    )
    scores = saturation_scores(util_table(), pd.concat([flights, extra], ignore_index=True))
    assert scores["seats"].iloc[0] == pytest.approx(470 / 600)
    assert saturation_scores(util_table(), flight_table([]))["seats"].iloc[0] == 0.0


def test_several_days_and_custom_order():
    days = [DAY, DAY + pd.Timedelta(days=1)]
    util = pd.concat(
        [util_table(days[0], gate__abbey=dict(busy_h=23.0)), util_table(days[1])],
        ignore_index=True,
    )
    flights = pd.concat([flight_table(HALF_EMPTY, days[0]), flight_table(FULL, days[1])])
    out = binding_constraints(util, flights)
    assert list(out.index) == days
    assert list(out["binding"]) == ["gates", "seats"]
    util = util_table(gate__abbey=dict(busy_h=23.0))
    assert binding_of(util, flight_table(FULL), order=["gates", "seats"]) == "gates"
    with pytest.raises(ValueError, match="unknown constraints"):
        binding_constraints(util, flight_table(FULL), order=["gates", "weather"])


# ------------------------------------------------------- scenarios with a known bottleneck

BASE = {
    "name": "constructed",
    "start": "2021-01-01T00:00",
    "deadline": "2021-01-04T00:00",
    # 12,000 people a day in groups of 5, patient: demand always exceeds what can move.
    "demand": {"people": {"pool": 100000, "arrivals_per_day": 12000, "group_size": {5: 1}}},
    "gates": {"main": {"throughput_per_h": 2000}},  # 48,000 a day
    "screening": {"lanes": 20, "service": "1min"},  # 28,800 a day
    "airfield": {"separation": "2min", "ramp_capacity": 30},  # 360 flights a day
    "aircraft": {"jet": {"seats": 500, "turnaround": "1h"}},
    "operators": {"op": {}},
    "flights": {  # 48 x 500 = 24,000 seats a day
        "shuttle": {
            "operator": "op",
            "aircraft": "jet",
            "from": "2021-01-01T00:00",
            "to": "2021-01-04T00:00",
            "per_day": 48,
            "destinations": "base",
        }
    },
    "staging": {"base": {"capacity": 1000000, "onward_per_day": 1000000, "flight_time": "1h"}},
}


def scenario(**changes) -> evacsim.Scenario:
    """BASE with ``a__b__c=value`` meaning ``BASE[a][b][c] = value``."""
    data = copy.deepcopy(BASE)
    for path, value in changes.items():
        *parents, leaf = path.split("__")
        node = data
        for key in parents:
            node = node[key]
        node[leaf] = value
    return evacsim.scenario_from_dict(data)


KNOWN = {
    # one slow gate: 100 people an hour against 12,000 a day arriving
    "gates": dict(gates__main__throughput_per_h=100),
    # one lane at 10 min a group: ~720 people a day
    "screening": dict(screening__lanes=1, screening__service="10min"),
    # two 100-seat aircraft a day against thousands screened and waiting inside
    "seats": dict(flights__shuttle__per_day=2, aircraft__jet__seats=100),
    # a base for 600 that sends 200 a day onward: loaded aircraft wait on the ramp
    "staging": dict(staging__base__capacity=600, staging__base__onward_per_day=200),
    # room for 300 inside, two 2,000-seat aircraft a day: it fills between flights
    "holding": dict(
        holding={"capacity": 300}, flights__shuttle__per_day=2, aircraft__jet__seats=2000
    ),
    # one aircraft on the ground at a time, 6 h turnaround: 4 flights a day
    "ramp": dict(airfield__ramp_capacity=1, aircraft__jet__turnaround="6h"),
    # 30 min per movement = 24 flights a day against 32 planned (flights end a day early so the
    # queue of aircraft drains before the deadline)
    "runway": dict(
        airfield__separation="30min",
        flights__shuttle__per_day=32,
        flights__shuttle__to="2021-01-03T00:00",
    ),
    # 500 people a day: nothing fills
    NONE: dict(demand__people__arrivals_per_day=500),
}


@pytest.mark.parametrize("expected", list(KNOWN))
def test_constructed_scenario_has_the_known_bottleneck(expected):
    result = evacsim.simulate(scenario(**KNOWN[expected]), seed=3, keep_records=False)
    out = binding_constraints(result.utilisation, result.flights)
    days = list(out["binding"])
    # The runway case stops flying a day early; its last day is seat-limited by design.
    checked = days[:2] if expected == "runway" else days
    assert checked == [expected] * len(checked), out.round(2).to_string()


def test_bottleneck_moves_when_the_scarce_capacity_is_relieved():
    # Directional: give the slow gate ample throughput and it stops being the binding one.
    slow = evacsim.simulate(scenario(**KNOWN["gates"]), seed=3, keep_records=False)
    fast = evacsim.simulate(scenario(), seed=3, keep_records=False)
    assert set(binding_constraints(slow.utilisation, slow.flights)["binding"]) == {"gates"}
    assert "gates" not in set(binding_constraints(fast.utilisation, fast.flights)["binding"])
