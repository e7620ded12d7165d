"""Mechanisms the Kabul record needs, as general scenario features, each on a small scenario
with an exact or statistical oracle: checkpoints that let a share of arrivals through, staging
bases that open later (capacity 0), flights that divert from a full base, and withdrawing
troops whose equipment takes seats (retrograde)."""

from __future__ import annotations

import math

import numpy as np
import pytest

import evacsim
from evacsim.scenario.loader import ScenarioError


def _run(data: dict, seed: int = 0, **kw) -> evacsim.RunResult:
    return evacsim.simulate(evacsim.scenario_from_dict(data), seed=seed, **kw)


# --------------------------------------------------------------------- checkpoints


def _steady(data: dict, passing: float | None) -> dict:
    """Single people arrive at 2,400 a day for three days; nothing else limits them."""
    data["demand"]["people"].update(pool=1_000_000, arrivals_per_day=2_400)
    if passing is not None:
        data["events"] = {
            "checkpoints": {
                "type": "arrivals_stopped",
                "categories": "all",
                "at": "2021-01-02T00:00",
                "passing": passing,
            }
        }
    return data


def test_checkpoints_let_through_their_share_and_leave_earlier_arrivals_alone(deterministic):
    """Poisson thinning: after ``at`` the arrivals are a ``passing`` share of the same draws
    (common random numbers), so before ``at`` the two runs agree group for group."""
    import copy

    free = _run(_steady(copy.deepcopy(deterministic), None), seed=4)
    half = _run(_steady(copy.deepcopy(deterministic), 0.25), seed=4)
    t_free = free.groups["arrive_time"]
    t_half = half.groups["arrive_time"]
    cut = free.groups["arrive_time"].min().normalize() + np.timedelta64(1, "D")
    assert (t_free < cut).sum() == (t_half < cut).sum()
    before_free = np.sort(t_free[t_free < cut].to_numpy())
    before_half = np.sort(t_half[t_half < cut].to_numpy())
    assert (before_free == before_half).all()
    after_free, after_half = (t_free >= cut).sum(), (t_half >= cut).sum()
    # ~4,800 after the cut; the kept share is binomial(n, 0.25): 5 standard deviations.
    sd = math.sqrt(after_free * 0.25 * 0.75)
    assert abs(after_half - 0.25 * after_free) < 5 * sd, (after_half, after_free)
    assert half.kpis["never_arrived"] > free.kpis["never_arrived"]


def test_checkpoints_with_passing_zero_stop_arrivals_as_before(deterministic):
    data = _steady(deterministic, 0.0)
    result = _run(data)
    cut = result.groups["arrive_time"].min().normalize() + np.timedelta64(1, "D")
    assert (result.groups["arrive_time"] >= cut).sum() == 0


def test_several_checkpoints_multiply(deterministic):
    """Two events of 0.5 let through a quarter, as one event of 0.25 does (same draws)."""
    import copy

    one = _steady(copy.deepcopy(deterministic), 0.25)
    two = _steady(copy.deepcopy(deterministic), 0.5)
    two["events"]["again"] = dict(two["events"]["checkpoints"], at="2021-01-02T00:00")
    a, b = _run(one, seed=2), _run(two, seed=2)
    assert a.kpis["arrived"] == b.kpis["arrived"]


def test_passing_outside_zero_one_is_refused(deterministic):
    data = _steady(deterministic, 1.5)
    with pytest.raises(ScenarioError) as err:
        evacsim.scenario_from_dict(data)
    assert "events.checkpoints.passing" in str(err.value)


# --------------------------------------------------------------------- staging bases


def _two_bases(data: dict, *, divert: bool, first_capacity: int) -> dict:
    """100 people wait; one 100-seat flight at 06:00 (24 a day over one hour), bound for
    ``first`` (weight 3) or ``second``."""
    data["demand"]["people"].update(pool=100)
    data["flights"]["shuttle"].update(
        per_day=24, destinations={"first": 3, "second": 1}, divert=divert
    )
    data["flights"]["shuttle"]["from"] = "2021-01-01T05:30"
    data["flights"]["shuttle"]["to"] = "2021-01-01T06:30"
    data["staging"] = {
        "first": {"capacity": first_capacity, "onward_per_day": 0, "flight_time": "1h"},
        "second": {"capacity": 1000, "onward_per_day": 0, "flight_time": "1h"},
    }
    return data


def _the_flight(result: evacsim.RunResult):
    departed = result.flights[result.flights["seats"] > 0]
    assert len(departed) == 1
    return departed.iloc[0]


def test_a_closed_base_holds_its_flights_until_an_event_opens_it(deterministic):
    """Capacity 0 is closed (an empty base no longer takes any flight): the aircraft waits,
    loaded, on the ramp until the base opens at 12:00, and is booked as held for staging."""
    data = _two_bases(deterministic, divert=False, first_capacity=0)
    data["flights"]["shuttle"]["destinations"] = "first"
    data["events"] = {
        "opens": {
            "type": "staging_capacity",
            "base": "first",
            "at": "2021-01-01T12:00",
            "capacity": 500,
        }
    }
    flight = _the_flight(_run(data))
    assert flight["destination"] == "first" and flight["boarded"] == 100
    assert flight["departed"].hour == 12
    assert flight["held_for_staging_h"] == pytest.approx(12 - 7, abs=0.2)


def test_a_diverting_flight_goes_where_there_is_room(deterministic):
    """Its planned base is closed: with divert it takes the other base at once; without, it is
    held to the deadline."""
    result = _run(_two_bases(deterministic, divert=True, first_capacity=0))
    flight = _the_flight(result)
    assert flight["destination"] == "second" and flight["held_for_staging_h"] == 0
    assert flight["status"] == "departed"
    held = _the_flight(_run(_two_bases(deterministic, divert=False, first_capacity=0)))
    planned = held["destination"]
    assert held["status"] == "departed" if planned == "second" else held["status"] == "on_ground"


def test_a_diverting_flight_keeps_its_base_when_it_has_room(deterministic):
    flight = _the_flight(_run(_two_bases(deterministic, divert=True, first_capacity=500)))
    plan = evacsim.build(
        evacsim.scenario_from_dict(_two_bases(deterministic, divert=True, first_capacity=500)), 0
    ).flight_plans[0]
    assert flight["destination"] == plan.destination
    assert set(plan.alternates) | {plan.destination} == {"first", "second"}


# --------------------------------------------------------------------- retrograde


def _withdrawal(data: dict, seats_per_troop: float) -> dict:
    """200 troops leave on the first day; each takes ``seats_per_troop`` seats; 10 flights a
    day of 100 seats; 5,000 people wait (more than the seats)."""
    data["forces"] = {
        "initial": {"x": 200},
        "withdrawals": {
            "out": {
                "nation": "x",
                "troops": 200,
                "from": "2021-01-01T00:00",
                "to": "2021-01-01T01:00",
                "operator": "op",
                "seats_per_troop": seats_per_troop,
            }
        },
    }
    return data


@pytest.mark.parametrize("seats_per_troop", [1.0, 2.5])
def test_withdrawing_troops_and_their_equipment_take_seats(deterministic, seats_per_troop):
    """Exact arithmetic: 20 flights x 100 seats = 2,000 seats; the withdrawal takes
    200 x seats_per_troop of them, the evacuees the rest."""
    import copy

    result = _run(_withdrawal(copy.deepcopy(deterministic), seats_per_troop))
    taken = 200 * seats_per_troop
    assert result.flights["troops_out"].sum() == taken
    assert result.kpis["evacuated"] == 2000 - taken


def test_seats_per_troop_below_one_is_refused(deterministic):
    with pytest.raises(ScenarioError) as err:
        evacsim.scenario_from_dict(_withdrawal(deterministic, 0.5))
    assert "forces.withdrawals.out.seats_per_troop" in str(err.value)


def test_the_cost_estimate_counts_only_those_who_get_through(deterministic):
    """evacsim.scenario.cost: 2,400 a day for 3 days is 7,200 people; checkpoints letting a
    quarter through from the start of day 2 leave 2,400 + 2 x 600 = 3,600 (groups of 1)."""
    import copy

    from evacsim.scenario.cost import estimate_cost

    free = estimate_cost(evacsim.scenario_from_dict(_steady(copy.deepcopy(deterministic), None)))
    cut = estimate_cost(evacsim.scenario_from_dict(_steady(copy.deepcopy(deterministic), 0.25)))
    assert free.groups == pytest.approx(7_200)
    assert cut.groups == pytest.approx(3_600)
