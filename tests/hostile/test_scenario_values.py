"""Scenario values that validation must refuse, because ``run`` could not survive them.

Each case of issue 14 ("valid by validate, a traceback in run"; "sizes that pass validation
but run out of memory"; "a loop in zero time") and more of the same families: every one is
refused by ``validate`` with one line naming the field, and exit code 1.
"""

from __future__ import annotations

import time

import pytest

from evacsim.cli.main import main
from evacsim.model.airfield import Airfield
from evacsim.scenario.cost import DEFAULT_BUDGET, estimate_cost
from evacsim.scenario.loader import load_scenario, scenario_from_dict

from .conftest import KABUL, tiny, write_yaml

CAT = "demand.siv_applicants"

REFUSED = {
    # durations: negative, overflowing, not a number
    "airfield.separation=-5min": "airfield.separation",
    "airfield.separation=1e308h": "airfield.separation",
    "airfield.separation=.nan": "airfield.separation",
    "airfield.separation=.inf": "airfield.separation",
    "events.x={type: incident, at: 2021-08-20T00:00, pause: 1e308h}": "events.x.pause",
    "aircraft.c17.turnaround=1e300d": "aircraft.c17.turnaround",
    "gates.abbey.batch=-1s": "gates.abbey.batch",
    "staging.al_udeid.flight_time=1e20w": "staging.al_udeid.flight_time",
    f"{CAT}.patience={{dist: lognormal, mean: 2h, cv: 1e300}}": f"{CAT}.patience.cv",
    f"{CAT}.patience={{dist: gamma, mean: 2h, cv: .nan}}": f"{CAT}.patience.cv",
    f"{CAT}.patience={{dist: exponential, mean: 0h}}": f"{CAT}.patience.mean",
    f"{CAT}.return_after={{dist: uniform, low: 0h, high: 1e300h}}": f"{CAT}.return_after.high",
    # weights and group sizes
    f"{CAT}.group_size={{1: 1e308, 2: 1e308}}": f"{CAT}.group_size",
    f"{CAT}.group_size={{100000000000000000000000: 1}}": f"{CAT}.group_size",
    f"{CAT}.group_size={{1: .inf}}": f"{CAT}.group_size.1",
    "flights.us_c17.destinations={al_udeid: 1e308, ramstein: 1e308}": "flights.us_c17.destinations",
    # counts
    "airfield.runways=1000000000": "airfield.runways",
    "airfield.ramp_capacity=1e30": "airfield.ramp_capacity",
    f"{CAT}.pool=1e30": f"{CAT}.pool",
    f"{CAT}.pool=100000000000000000000": f"{CAT}.pool",
    f"{CAT}.priority=1e9": f"{CAT}.priority",
    "gates.abbey.order=-1e30": "gates.abbey.order",
    "gates.abbey.throughput_per_h=1e300": "gates.abbey.throughput_per_h",
    "holding.capacity=1e30": "holding.capacity",
    "aircraft.c17.seats=1e12": "aircraft.c17.seats",
    "staging.al_udeid.onward_per_day=1e308": "staging.al_udeid.onward_per_day",
    "forces.initial.us=1e15": "forces.initial.us",
    "screening.lanes=1e9": "screening.lanes",
    # a loop in zero time
    f"{CAT}.patience={{dist: fixed, value: 0h}}": f"{CAT}.return_probability",
}


def _extra_sets(case: str) -> list[str]:
    if case.startswith(f"{CAT}.patience={{dist: fixed"):
        return ["--set", f"{CAT}.return_after=0h", "--set", f"{CAT}.return_probability=1"]
    return []


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_validate_refuses_what_run_cannot_survive(case, capsys):
    code = main(["validate", str(KABUL), "--set", case, *_extra_sets(case)])
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "warning:" not in line]
    assert code == 1, err
    assert errors and all(line.startswith("--set:") for line in errors), err
    assert any(REFUSED[case] in line for line in errors), err
    assert "nanh" not in err and "Traceback" not in err


def test_nan_duration_is_named_not_suggested_as_nanh(capsys):
    assert main(["validate", str(KABUL), "--set", "airfield.separation=.nan"]) == 1
    err = capsys.readouterr().err
    assert "not a finite duration" in err and "'nanh'" not in err


def test_zero_time_loop_is_refused_but_a_loop_that_takes_time_is_priced(tmp_path, capsys):
    data = tiny()
    person = data["demand"]["people"]
    person.update(patience="0h", return_after="0h", return_probability=1)
    assert main(["validate", str(write_yaml(tmp_path, data))]) == 1
    assert "without the clock moving" in capsys.readouterr().err
    # Any positive cycle runs: its cost is estimated (returns every cycle over the run).
    person.update(patience="1h", return_after="1h")
    data["gates"]["main"]["closed_from"] = "2021-01-01T00:00"  # nobody ever gets in
    s = scenario_from_dict(data)
    cost = estimate_cost(s)
    assert cost.visits == pytest.approx(cost.groups * (1 + 48 / 2))
    assert main(["run", str(write_yaml(tmp_path, data))]) == 0


@pytest.mark.parametrize(
    "sets, driver",
    [
        (
            [
                "--set",
                f"{CAT}.patience=1s",
                "--set",
                f"{CAT}.return_after=1s",
                "--set",
                f"{CAT}.return_probability=1",
            ],
            "visits",
        ),
        (["--set", f"{CAT}.arrivals_per_day=1000000", "--set", f"{CAT}.pool=20000000"], "groups"),
    ],
    ids=["returns every 2 s", "17 M arrivals"],
)
def test_the_cost_estimate_refuses_a_run_over_budget_and_names_the_flag(sets, driver, capsys):
    code = main(["run", str(KABUL), *sets])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    refusal = [line for line in err if "--allow-large" in line]
    assert len(refusal) == 1 and refusal[0].startswith(str(KABUL)), err
    assert "GiB of memory" in refusal[0] and driver in refusal[0]


def _many(n_gates: int = 1, n_cats: int = 1, days: int = 2, people: int = 1000) -> dict:
    import datetime as dt

    data = tiny()
    data["deadline"] = (dt.datetime(2021, 1, 1) + dt.timedelta(days=days)).isoformat()
    data["gates"] = {f"g{i}": {"throughput_per_h": 100} for i in range(n_gates)}
    data["demand"] = {f"c{i}": {"pool": people, "arrivals_per_day": people} for i in range(n_cats)}
    return data


@pytest.mark.parametrize(
    "shape",
    [{"n_gates": 5000, "people": 10_000}, {"n_cats": 1500, "days": 365}],
    ids=["5,000 gates x 10,000 people", "1,500 categories for a year"],
)
def test_many_gates_or_categories_are_over_budget(shape, tmp_path, capsys):
    data = _many(**shape)
    cost = estimate_cost(scenario_from_dict(data))
    assert cost.cpu_s > DEFAULT_BUDGET.cpu_s or cost.memory_bytes > DEFAULT_BUDGET.memory_bytes
    path = write_yaml(tmp_path, data)
    assert main(["validate", str(path)]) == 1
    assert "--allow-large" in capsys.readouterr().err
    assert main(["validate", "--allow-large", str(path)]) == 0


def test_the_baseline_and_every_shipped_scenario_is_well_within_budget(scenario_dir):
    for path in sorted(scenario_dir.glob("*.yaml")):
        cost = estimate_cost(load_scenario(path))
        assert cost.cpu_s < DEFAULT_BUDGET.cpu_s / 10, path
        assert cost.memory_bytes < DEFAULT_BUDGET.memory_bytes / 10, path


def test_runways_cost_nothing_until_used():
    import simpy

    env = simpy.Environment()
    t = time.perf_counter()
    field = Airfield(
        env, runways=10**9, separation_h=0.1, ramp_capacity=1, closures_h=[], horizon_h=48.0
    )
    assert time.perf_counter() - t < 1.0  # no list of a billion runways

    def move():
        yield from field.movement()

    for _ in range(5):
        env.process(move())
    env.run()
    assert env.now == pytest.approx(0.1)  # five runways used at once, each for 0.1 h
