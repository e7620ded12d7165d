"""Levers: change a scenario by dotted path (set, add, scale), validated again."""

from __future__ import annotations

import datetime as dt

import pytest
from test_experiments_support import mini

import evacsim
from evacsim.experiments import Lever, apply_levers
from evacsim.experiments.levers import get_path, parse_value, set_path


@pytest.fixture(scope="module")
def kabul():
    return evacsim.load_scenario("scenarios/kabul_2021.yaml")


def test_add_changes_every_step_and_both_ends_of_a_range(kabul):
    out = apply_levers(kabul, [Lever("flights.us_c17.per_day", 10, "add")])
    before, after = kabul.flights["us_c17"].per_day, out.flights["us_c17"].per_day
    assert list(before) == list(after)
    for key, value in before.items():
        if isinstance(value, tuple):
            assert after[key] == (value[0] + 10, value[1] + 10)
        else:
            assert after[key] == value + 10


def test_scale_keeps_whole_numbers_whole(kabul):
    out = apply_levers(kabul, [Lever("screening.lanes", 1.5, "scale")])
    lanes = out.screening.lanes
    day = dt.datetime(2021, 8, 22)
    assert lanes[day] == round(1.5 * kabul.screening.lanes[day])
    assert all(isinstance(v, int) for v in lanes.values())


def test_scale_a_duration(kabul):
    out = apply_levers(kabul, [Lever("screening.service.mean", 2, "scale")])
    assert out.screening.service.mean == pytest.approx(2 * kabul.screening.service.mean)


def test_set_replaces_and_is_validated(kabul):
    out = apply_levers(
        kabul,
        [
            Lever("staging.al_udeid.capacity", 20000),
            Lever("forces.deployments.us_build_up.troops", 3000),
        ],
    )
    assert out.staging["al_udeid"].capacity == 20000
    assert out.forces.deployments["us_build_up"].troops == 3000
    assert kabul.staging["al_udeid"].capacity != 20000  # the original is untouched
    with pytest.raises(evacsim.ScenarioError) as err:
        apply_levers(kabul, [Lever("staging.al_udeid.capacity", -5)])
    assert err.value.problems[0].path == "staging.al_udeid.capacity"


def test_unknown_path_names_the_fields_that_exist():
    with pytest.raises(evacsim.ScenarioError) as err:
        apply_levers(mini(), [Lever("screening.lane", 3)], "mini.yaml")
    problem = err.value.problems[0]
    assert problem.file == "mini.yaml"
    assert problem.path == "screening.lane"
    assert "lanes" in problem.message


def test_add_on_text_is_refused():
    with pytest.raises(evacsim.ScenarioError, match="use set"):
        apply_levers(mini(), [Lever("name", 1, "add")])


def test_path_helpers_and_values():
    data = {"a": {"b": [1, {"c": 2}]}}
    assert get_path(data, "a.b.1.c") == 2
    set_path(data, "a.b.0", 5)
    assert data["a"]["b"][0] == 5
    with pytest.raises(KeyError):
        set_path(data, "a.x", 1)
    assert parse_value("70") == 70 and parse_value("1.5") == 1.5
    assert parse_value("2h") == "2h" and parse_value("null") is None
    assert Lever("x", 5, "add").label() == "x+=5"
