"""Deterministic scenarios whose throughput and backlog are exact arithmetic.

Everyone arrives within the first minutes (a huge arrival rate capped by the pool), groups
are single people and every service time is fixed, so each capacity of the model binds alone
and its output is a product: gate rate x open hours, lanes / service time, flights x seats
x days, ramp spots / time on the ground. No interval is needed: the oracle is exact. Gates
and screening run at exact resolution (``batch: 0``).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from _validation import START, exact, hours_after

import evacsim


def crowd(pool: int, **category) -> dict:
    """A category of ``pool`` single people who all arrive within the first hour."""
    rate = {hours_after(0): pool * 24 * 100, hours_after(1): 0}  # ~100x the pool an hour
    return {"pool": pool, "arrivals_per_day": rate, **category}


def scenario(days: float, **parts) -> evacsim.Scenario:
    data = {
        "name": "exact",
        "start": START.isoformat(),
        "deadline": hours_after(24 * days),
        "demand": {"people": crowd(5_000)},
        "gates": {"main": {"throughput_per_h": None}},
        "screening": {"lanes": 1000, "service": {"dist": "fixed", "value": "1s"}},
        "airfield": {"separation": "2min", "ramp_capacity": 100},
        "aircraft": {},
        "operators": {},
        "staging": {},
    }
    data.update(parts)
    return evacsim.scenario_from_dict(exact(data), file="<exact>")


def flights_part(per_day: int, seats: int, first_day: int, days: int, turnaround="1h"):
    return {
        "aircraft": {"plane": {"seats": seats, "turnaround": turnaround}},
        "operators": {"op": {}},
        "flights": {
            "shuttle": {
                "operator": "op",
                "aircraft": "plane",
                "from": hours_after(24 * first_day),
                "to": hours_after(24 * (first_day + days)),
                "per_day": per_day,
                "destinations": "base",
                "slot_jitter": 0,
            }
        },
        "staging": {"base": {"capacity": 10**7, "onward_per_day": 0, "flight_time": "1h"}},
    }


# ------------------------------------------------------------------------ gate


@pytest.mark.parametrize(
    "rate",
    [
        64,  # 1/64 h is exact in binary: the passage times add up exactly
        50,  # 0.02 h is not: accumulated passage times land a hair before closing time
        37,
    ],
)
def test_gate_admits_rate_times_open_hours_each_day(rate):
    """A gate open 06:00-18:00 at ``rate`` per hour admits exactly 12 x rate a day."""
    s = scenario(3, gates={"main": {"throughput_per_h": rate, "daily_hours": ["6h", "18h"]}})
    result = evacsim.simulate(s, seed=1)
    passed = result.groups["t_gate"].dropna().to_numpy()
    per_day = np.histogram(passed, bins=[0, 24, 48, 72])[0]
    assert per_day.tolist() == [12 * rate] * 3
    # Backlog: everyone else is still outside at the deadline.
    assert result.kpis["left_behind.outside"] == result.kpis["arrived"] - 36 * rate


def test_gate_passages_are_evenly_spaced_at_the_rate():
    """With the crowd always ahead of the gate, people pass exactly 1/rate apart."""
    s = scenario(1, gates={"main": {"throughput_per_h": 64}})
    passed = np.sort(evacsim.simulate(s, seed=2).groups["t_gate"].dropna().to_numpy())
    assert np.allclose(np.diff(passed), 1 / 64, rtol=0, atol=1e-9)
    first = passed[0]
    assert len(passed) == math.floor((24 - first) * 64 + 1e-9) + 1


# ------------------------------------------------------------------------ screening


@pytest.mark.parametrize("lanes,service_min", [(1, 3), (4, 6), (7, 2)])
def test_screening_clears_lanes_over_service_time(lanes, service_min):
    """``lanes`` lanes from 02:00, ``service_min`` each: ``lanes`` people per service time.

    The deadline, 12:01, falls between two rounds, so no completion sits on the boundary.
    """
    s = scenario(
        (12 + 1 / 60) / 24,
        screening={"lanes": {hours_after(2): lanes}, "service": f"{service_min}min"},
    )
    screened = np.sort(evacsim.simulate(s, seed=3).groups["t_screened"].dropna().to_numpy())
    rounds = np.arange(1, 10 * 60 // service_min + 1)  # ending 02:00 + k x service <= 12:00
    expected = np.repeat(2 + rounds * service_min / 60, lanes)
    assert len(screened) == len(expected)
    assert np.allclose(screened, expected, rtol=0, atol=1e-9)


# ------------------------------------------------------------------------ flights


@pytest.mark.parametrize(
    "per_day,seats,days,pool",
    [
        (7, 123, 5, 10_000),  # seats bind: 7 x 123 x 5 = 4,305 out, the rest left behind
        (10, 57, 4, 2_000),  # people bind: 2,280 seats for 2,000 people
    ],
)
def test_flights_carry_flights_times_seats_times_days(per_day, seats, days, pool):
    """Each day's flights depart that day (last slot + 1 h 4 min < 24 h for <= 11 a day)."""
    s = scenario(
        days + 1,
        demand={"people": crowd(pool)},
        **flights_part(per_day, seats, first_day=1, days=days),
    )
    result = evacsim.simulate(s, seed=4)
    k = result.kpis
    capacity = per_day * seats
    expected_daily = [min(capacity, pool - d * capacity) for d in range(days)]
    expected_daily = [x for x in expected_daily if x > 0]
    daily = result.evacuated_daily(by=[]).set_index("date")["people"]
    assert daily.tolist() == expected_daily
    assert k["evacuated"] == min(pool, capacity * days)
    assert k["left_behind"] == pool - min(pool, capacity * days)
    assert k["left_behind.inside_waiting"] == k["left_behind"]
    assert k["flights_departed"] == per_day * days


def test_ramp_spots_over_time_on_the_ground_limit_flights():
    """One parking spot, 2 min landing + 1 h turnaround + 2 min take-off: one flight
    every 64 minutes however many are scheduled (maximum on ground, MOG)."""
    part = flights_part(48, 100, first_day=0, days=2)
    s = scenario(2, airfield={"separation": "2min", "ramp_capacity": 1}, **part)
    flights = evacsim.simulate(s, seed=5).flights
    departed = np.sort(flights.loc[flights["status"] == "departed", "t_depart"].to_numpy())
    cycle = 64 / 60
    first_slot = 0.5 * 24 / 48
    assert np.allclose(np.diff(departed), cycle, rtol=0, atol=1e-9)
    assert departed[0] == pytest.approx(first_slot + cycle)
    assert len(departed) == math.floor((48 - first_slot) / cycle)
    assert (flights["status"] == "waiting_to_land").sum() == 96 - len(departed) - 1
