"""Assembly points and escorted convoys: the way in before the perimeter."""

from __future__ import annotations

import copy

import numpy as np
import pytest

import evacsim
from evacsim.results.report import read_results, render_report
from evacsim.scenario.loader import ScenarioError


@pytest.fixture
def convoy(deterministic) -> dict:
    data = copy.deepcopy(deterministic)
    data["demand"]["people"].update(arrivals_per_day=500, pool=3000)
    data["gates"]["main"] = {"throughput_per_h": 200}
    data["assembly_points"] = {"embassy": {"arrivals_per_day": {"people": 1000}}}
    data["convoys"] = {
        "run": {
            "from": "embassy",
            "to": "main",
            "every": "6h",
            "vehicles": 5,
            "seats_per_vehicle": 20,
            "travel_time": {"dist": "lognormal", "mean": "225min", "cv": 0.3},
            "turned_back": 0.2,
            "delayed": 0.3,
            "delay": "2h",
        }
    }
    return data


def _model(data: dict, seed: int = 0):
    return evacsim.build(evacsim.scenario_from_dict(data), seed=seed).run()


def test_everyone_is_accounted_for_before_and_after_the_perimeter(convoy):
    model = _model(convoy)  # the model's own conservation check passes
    result = evacsim.collect(model)
    left = result.left_behind.set_index("location")["people"]
    assert left["assembly_point"] > 0
    # pool = evacuated + turned away + every place someone was left (or never came)
    assert result.kpis["evacuated"] + result.kpis["turned_away"] + left.sum() == 3000
    table = result.convoys
    assert len(table) == 12  # every 6 h over three days
    assert (table["people"] <= 100).all()  # 5 vehicles x 20 seats
    delivered = table.loc[table["status"] == "arrived", "people"].sum()
    assert result.kpis["convoy_people_delivered"] == delivered > 0
    stages = set(result.backlog["stage"])
    assert {"assembly:embassy", "on_road:run"} <= stages


def test_a_convoy_always_turned_back_delivers_nobody(convoy):
    convoy["convoys"]["run"]["turned_back"] = 1.0
    result = evacsim.collect(_model(convoy))
    assert result.kpis["convoy_people_delivered"] == 0
    assert (result.convoys["status"] == "turned_back").all()
    assert result.kpis["convoys_turned_back"] == 12


def test_people_on_the_road_at_the_deadline_are_counted_there(convoy):
    convoy["convoys"]["run"].update(every=None, departures=["2021-01-03T22:00"], turned_back=0)
    result = evacsim.collect(_model(convoy))
    assert list(result.convoys["status"]) == ["on_road"]
    left = result.left_behind.set_index("location")["people"]
    assert left["on_road"] == result.convoys["people"].iloc[0] > 0
    assert result.kpis["left_behind.on_road"] == left["on_road"]


def test_priority_at_the_gate_puts_convoys_ahead_of_the_crowd(convoy):
    convoy["demand"]["people"].update(arrivals_per_day=5000, pool=20_000)
    convoy["gates"]["main"] = {"throughput_per_h": 60}  # a crowd builds outside
    convoy["convoys"]["run"].update(turned_back=0, delayed=0)

    def convoy_wait_h(priority: bool) -> float:
        convoy["convoys"]["run"]["priority"] = priority
        model = _model(convoy)
        groups = evacsim.collect(model).groups
        brought = groups[groups["gid"] >= len(model.arrival_plan)]
        return float((brought["t_gate"] - brought["t_arrive"]).mean())

    # With priority a convoy's 100 people wait only for each other (100 / 60 per h = 1.7 h
    # for the last); without it, behind the whole crowd.
    first, behind = convoy_wait_h(True), convoy_wait_h(False)
    assert first < 1.7 and behind > 3 * first, (first, behind)


def test_assembly_points_do_not_disturb_the_perimeters_draws(convoy):
    """Common random numbers: the points draw from their own streams."""
    convoy["demand"]["people"]["pool"] = 100_000  # the joint cap does not bind
    with_points = _model(convoy).arrival_plan
    plain = copy.deepcopy(convoy)
    del plain["assembly_points"], plain["convoys"]
    without = _model(plain).arrival_plan
    assert np.array_equal(with_points.time_h, without.time_h)
    assert np.array_equal(with_points.size, without.size)


def test_the_pool_caps_perimeter_and_assembly_arrivals_together(convoy):
    convoy["demand"]["people"].update(pool=400, arrivals_per_day=5000)
    model = _model(convoy)
    at_points, on_road, gathered = model.people_before_perimeter()
    direct = int(model.arrival_plan.size.sum())
    assert direct + sum(gathered) == 400


def test_mistakes_are_named_with_did_you_mean(convoy):
    convoy["convoys"]["run"]["from"] = "embasy"
    convoy["convoys"]["run"]["to"] = "mian"
    convoy["assembly_points"]["embassy"]["arrivals_per_day"] = {"peple": 10}
    with pytest.raises(ScenarioError) as err:
        evacsim.scenario_from_dict(convoy)
    text = str(err.value)
    assert "convoys.run.from: unknown assembly point 'embasy'; did you mean 'embassy'?" in text
    assert "convoys.run.to: unknown gate 'mian'; did you mean 'main'?" in text
    assert "unknown category 'peple'; did you mean 'people'?" in text


def test_a_convoy_needs_departures(convoy):
    convoy["convoys"]["run"]["every"] = None
    with pytest.raises(ScenarioError, match="departures: none given"):
        evacsim.scenario_from_dict(convoy)


def test_the_convoys_table_is_written_read_back_and_reported(convoy, tmp_path):
    result = evacsim.collect(_model(convoy))
    assert "convoys" in result.tables()
    result.write(tmp_path / "out")
    again = read_results(tmp_path / "out")
    assert len(again.convoys) == len(result.convoys)
    assert "<h3>Convoys</h3>" in render_report(again)


def test_a_scenario_without_convoys_has_no_convoys_table(deterministic):
    result = evacsim.simulate(evacsim.scenario_from_dict(deterministic), seed=0)
    assert result.convoys is None and "convoys" not in result.tables()
    assert "convoys_departed" not in result.kpis


def test_departures_past_a_moved_deadline_are_dropped_with_warnings(convoy):
    from evacsim.scenario.documents import Document
    from evacsim.scenario.loader import validate_document

    convoy["convoys"]["run"].update(every=None, departures=["2021-01-02T00:00", "2021-01-05"])
    convoy["convoys"]["late"] = dict(convoy["convoys"]["run"], departures=["2021-01-06"])
    scenario, problems = validate_document(Document(convoy, "x.yaml"))
    assert scenario is not None
    assert [p.path for p in problems] == ["convoys.late.departures.0", "convoys.run.departures.1"]
    assert "late" not in scenario.convoys
    assert len(scenario.convoys["run"].departures) == 1
