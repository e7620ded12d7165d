"""Seat allocation per operator: boarding orders, quotas, spare seats, eligibility events.

Unit tests of the rule on a holding area filled by hand, then small scenarios whose outcome is
known by construction (a nation's flights carry only its own people while others wait).
"""

from __future__ import annotations

import copy
import math

import pytest
import simpy

import evacsim
from evacsim.model.demand import Group, Stage
from evacsim.model.holding import Holding
from evacsim.model.ledger import Ledger
from evacsim.model.seats import SeatRule
from evacsim.results.binding import binding_constraints
from evacsim.scenario.loader import ScenarioError, load_scenario
from evacsim.scenario.schema import Boarding

NAMES = ["nat", "eu", "tcn"]


def _holding(n: int = 3):
    env = simpy.Environment()
    ledger = Ledger([f"c{i}" for i in range(n)], horizon_h=10.0, keep_records=False)
    holding = Holding(env, priorities=[1] * n, capacity=math.inf, ledger=ledger, horizon_h=10.0)
    return holding, ledger


def _wait(holding, ledger, cat, size, t):
    g = Group(int(t * 1000) * 10 + cat, cat, size, 0.0, math.inf)
    ledger.arrive(g, 0.0)
    ledger.move(g, Stage.SCREENING, 0.0)
    g.t_screen = 0.0
    g.t_screened = t
    holding.room.claim(size)
    holding.put(g, t)
    return g


def _rule(**boarding) -> SeatRule:
    return SeatRule(
        priorities=[1, 1, 1],
        eligible=[0, 1, 2],
        boarding=Boarding(**boarding),
        index={n: i for i, n in enumerate(NAMES)},
    )


def test_boarding_order_goes_before_screening_time():
    holding, ledger = _holding()
    tcn = _wait(holding, ledger, 2, 2, 0.1)
    eu = _wait(holding, ledger, 1, 2, 0.2)
    nat = _wait(holding, ledger, 0, 2, 0.3)
    rule = _rule(order=["nat", "eu", "tcn"])
    assert rule.board_first(holding, 4, 1.0, None) == [nat, eu]
    assert rule.board_first(holding, 4, 1.0, None) == [tcn]


def test_a_nested_step_boards_together_by_screening_time():
    holding, ledger = _holding()
    tcn = _wait(holding, ledger, 2, 2, 0.1)
    eu = _wait(holding, ledger, 1, 2, 0.2)
    nat = _wait(holding, ledger, 0, 2, 0.3)
    rule = _rule(order=["nat", ["eu", "tcn"]])
    assert rule.board_first(holding, 6, 1.0, None) == [nat, tcn, eu]


def test_categories_outside_the_order_never_board():
    holding, ledger = _holding()
    _wait(holding, ledger, 2, 1, 0.1)
    nat = _wait(holding, ledger, 0, 1, 0.2)
    rule = _rule(order=["nat"], spare_seats="order")
    assert rule.board_first(holding, 10, 1.0, None) == [nat]
    assert rule.board_spare(holding, 9, 1.0) == []
    # the tcn waiting may not take the 9 empty seats
    assert rule.may_not_board(holding, None) == 1


def test_quota_caps_first_pass_and_spare_rule_decides_the_rest():
    for spare, expected_nat in (("none", 5), ("order", 8)):
        holding, ledger = _holding()
        for k in range(8):
            _wait(holding, ledger, 0, 1, 0.1 + k / 100)
        _wait(holding, ledger, 1, 1, 0.5)
        rule = _rule(order=["nat", "eu"], quotas={"nat": 0.5}, spare_seats=spare)
        room = rule.quota_room(10)
        assert room == {0: 5}
        first = rule.board_first(holding, 10, 1.0, room)
        # 5 nationals (their quota), then the eu person; three nationals are left over
        assert [g.cat for g in first] == [0] * 5 + [1]
        assert 0 not in rule.wakers(room)  # a national arriving cannot fill this aircraft now
        spare_taken = rule.board_spare(holding, 4, 1.0)
        assert sum(g.cat == 0 for g in first + spare_taken) == expected_nat
        if spare == "none":
            assert rule.may_not_board(holding, room) == 3  # over quota, seats left empty


def test_quota_in_seats_and_as_a_share_the_smaller_holds():
    rule = _rule(
        order=["nat", "eu", "tcn"],
        quotas={"nat": 0.5, "eu": 0.5},
        quota_seats={"nat": 30, "tcn": 7},
    )
    assert rule.quota_room(100) == {0: 30, 1: 50, 2: 7}
    assert rule.quota_room(40) == {0: 20, 1: 20, 2: 7}
    holding, ledger = _holding()
    for k in range(10):
        _wait(holding, ledger, 2, 1, 0.1 + k / 100)
    room = rule.quota_room(100)
    assert len(rule.board_first(holding, 100, 1.0, room)) == 7 and room[2] == 0
    rule.change([], [2])
    assert rule.quota_room(100) == {0: 30, 1: 50}


def test_spare_seats_by_order_or_by_screening_time():
    for rule_name, expected in (("order", [0, 2]), ("first_screened", [2, 0])):
        holding, ledger = _holding()
        _wait(holding, ledger, 0, 1, 0.05)  # national, within quota
        _wait(holding, ledger, 2, 1, 0.1)  # spare seats only, screened before the next
        _wait(holding, ledger, 0, 1, 0.2)  # national over quota
        rule = _rule(order=["nat"], quotas={"nat": 0.1}, spare_to=["tcn"], spare_seats=rule_name)
        room = rule.quota_room(10)
        assert [g.cat for g in rule.board_first(holding, 10, 1.0, room)] == [0]
        assert [g.cat for g in rule.board_spare(holding, 9, 1.0)] == expected


def test_eligibility_changes_add_a_last_step_and_remove():
    rule = _rule(order=["nat"], spare_to=["tcn"], quotas={"nat": 0.5})
    rule.change([2, 1], [])
    assert rule.first == [[0], [2, 1]] and rule.spare_to == []
    rule.change([], [0])
    assert rule.first == [[2, 1]] and rule.quotas == {}
    plain = SeatRule(priorities=[0, 1, 1], eligible=[0])
    plain.change([2], [])
    assert plain.first == [[0], [2]]
    plain.change([], [0])
    assert plain.first == [[2]] and plain.categories == frozenset({2})


# --------------------------------------------------------------- scenarios known by construction

TWO_NATIONS = {
    "name": "two_nations",
    "start": "2023-04-23T00:00",
    "deadline": "2023-04-26T00:00",
    "demand": {
        # everyone arrives in the first hours and waits patiently inside
        "nat": {"pool": 600, "arrivals_per_day": 24000, "group_size": {1: 1}},
        "tcn": {"pool": 600, "arrivals_per_day": 24000, "group_size": {1: 1}},
    },
    "gates": {"main": {"throughput_per_h": None}},
    "screening": {"lanes": 100, "service": "1min"},
    "airfield": {"separation": "1min", "ramp_capacity": 10},
    "aircraft": {"plane": {"seats": 100, "turnaround": "1h"}},
    "operators": {"fr": {"boarding": {"order": ["nat"]}}},
    "flights": {
        "fr_shuttle": {
            "operator": "fr",
            "aircraft": "plane",
            "from": "2023-04-23T06:00",
            "to": "2023-04-26T00:00",
            "per_day": 4,
            "destinations": "djibouti",
            "slot_jitter": 0,
        }
    },
    "staging": {"djibouti": {"capacity": 100000, "onward_per_day": 0, "flight_time": "3h"}},
}


def _run(data, seed=1):
    return evacsim.simulate(evacsim.scenario_from_dict(data), seed=seed, keep_records=False)


def test_a_nations_flights_carry_only_its_own_while_others_wait():
    data = copy.deepcopy(TWO_NATIONS)
    data["demand"]["nat"]["pool"] = 100  # one flight's worth: the rest fly empty
    r = _run(data)
    assert r.kpis["evacuated.tcn"] == 0
    assert r.kpis["evacuated.nat"] == 100
    departed = r.flights[r.flights["status"] == "departed"]
    part_empty = departed[departed["boarded"] < departed["seats"]]
    assert len(part_empty) >= 8
    assert (part_empty["may_not_board"] == 600).all()  # every tcn was inside, refused
    binding = binding_constraints(r.utilisation, r.flights)
    assert list(binding["binding"].iloc[1:]) == ["eligibility"] * 2, binding.round(2)
    # With the tcn allowed, the same seats are taken: the strip says seats, not eligibility.
    data["operators"]["fr"]["boarding"]["order"] = ["nat", "tcn"]
    r2 = _run(data)
    assert r2.kpis["evacuated.tcn"] > 500
    assert "eligibility" not in set(binding_constraints(r2.utilisation, r2.flights)["binding"])


def test_nobody_waiting_is_demand_not_eligibility():
    data = copy.deepcopy(TWO_NATIONS)
    data["demand"]["nat"]["pool"] = 100
    data["demand"]["tcn"]["pool"] = 0
    r = _run(data)
    assert (r.flights["may_not_board"] == 0).all()
    binding = binding_constraints(r.utilisation, r.flights)
    assert set(binding["binding"].iloc[1:]) == {"none"}


def test_eligibility_event_opens_seats_from_its_time():
    data = copy.deepcopy(TWO_NATIONS)
    data["demand"]["nat"]["pool"] = 100
    data["events"] = {
        "widened": {
            "type": "eligibility",
            "at": "2023-04-24T12:00",
            "operator": "fr",
            "adds": ["tcn"],
        },
    }
    r = _run(data)
    tcn = r.evacuated[(r.evacuated["category"] == "tcn") & (r.evacuated["people"] > 0)]
    assert len(tcn) and tcn["time"].min() >= evacsim.scenario_from_dict(data).start.replace(
        day=24, hour=12
    )
    # 2.5 days x 4 flights = 10 flights of 100; 1 took the nationals; from noon on 24 Apr
    # (flights at 06:00/12:00/18:00/24:00 slots, each 1 h on the ground) about 5 carry tcn.
    assert 400 <= r.kpis["evacuated.tcn"] <= 600
    assert "fr: adds tcn" in set(r.events["detail"])


def test_quota_leaves_seats_for_others_on_each_flight():
    data = copy.deepcopy(TWO_NATIONS)
    data["operators"]["fr"]["boarding"] = {
        "order": ["nat", "tcn"],
        "quotas": {"nat": 0.3},
        "spare_seats": "none",
    }
    r = _run(data)
    # every flight: 30 nationals, then 70 tcn; the 600 tcn are gone after 9 flights
    departed = r.flights[r.flights["status"] == "departed"]
    assert (departed["boarded"] <= 100).all()
    assert r.kpis["evacuated.nat"] == 30 * len(departed)
    with_spare = copy.deepcopy(data)
    with_spare["operators"]["fr"]["boarding"]["spare_seats"] = "order"
    r2 = _run(with_spare)
    # spare seats go back to the nationals once the tcn are out: more of them get out
    assert r2.kpis["evacuated"] > r.kpis["evacuated"]


def test_default_operator_unchanged_by_the_rules_machinery(deterministic):
    # an operator without boarding rules: same as the global-priority rule (exact arithmetic)
    r = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=0)
    assert r.kpis["evacuated"] == 2000
    assert (r.flights["may_not_board"] == 0).all()


# --------------------------------------------------------------------------- validation


def _problems(tmp_path, data) -> str:
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    return str(err.value)


def test_boarding_names_are_checked_with_did_you_mean(tmp_path):
    data = copy.deepcopy(TWO_NATIONS)
    data["operators"]["fr"]["boarding"] = {
        "order": ["nta", ["tcn", "tcn"]],
        "quotas": {"eu": 0.5},
        "spare_seats": "later",
    }
    text = _problems(tmp_path, data)
    assert "spare_seats" in text and "later" in text
    data["operators"]["fr"]["boarding"]["spare_seats"] = "order"
    text = _problems(tmp_path, data)
    assert "operators.fr.boarding.order: unknown category 'nta'; did you mean 'nat'?" in text
    assert "'tcn' appears twice" in text
    assert "operators.fr.boarding.quotas.eu" in text
    data["operators"]["fr"]["boarding"]["quotas"] = {}
    data["operators"]["fr"]["boarding"]["quota_seats"] = {"eu": 10}
    assert "operators.fr.boarding.quota_seats.eu: 'eu' is not in order" in _problems(tmp_path, data)


def test_boarding_must_agree_with_the_categories_operators(tmp_path):
    data = copy.deepcopy(TWO_NATIONS)
    data["operators"]["uk"] = {}
    data["demand"]["tcn"]["operators"] = ["uk"]
    data["operators"]["fr"]["boarding"]["order"] = ["nat", "tcn"]
    assert "demand.tcn.operators does not list 'fr'" in _problems(tmp_path, data)


def test_eligibility_event_is_checked(tmp_path):
    data = copy.deepcopy(TWO_NATIONS)
    data["events"] = {
        "e": {"type": "eligibility", "at": "2023-04-24T00:00", "operator": "fx", "adds": ["tnc"]}
    }
    text = _problems(tmp_path, data)
    assert "events.e.operator: unknown operator 'fx' (expected one of: fr)" in text
    assert "events.e.adds: unknown category 'tnc'; did you mean 'tcn'?" in text
    data["events"]["e"] = {"type": "eligibility", "at": "2023-04-24T00:00", "operator": "fr"}
    assert "neither adds nor removes" in _problems(tmp_path, data)


def test_boarding_works_with_set_overrides(tmp_path):
    import yaml

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(TWO_NATIONS, sort_keys=False))
    s = load_scenario(path, overrides=["operators.fr.boarding.spare_seats=first_screened"])
    assert s.operators["fr"].boarding.spare_seats == "first_screened"
