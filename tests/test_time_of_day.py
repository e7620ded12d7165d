"""Time-of-day rules: arrival windows, gate hours across midnight, runway flying hours."""

from __future__ import annotations

import numpy as np
import pytest

import evacsim
from evacsim.model.daily import DailyHours
from evacsim.scenario.loader import Document, ScenarioError, validate_document


def _run(data: dict, seed: int = 0) -> evacsim.RunResult:
    return evacsim.simulate(evacsim.scenario_from_dict(data), seed=seed)


def _clock(t_h: np.ndarray, offset_h: float = 0.0) -> np.ndarray:
    return np.mod(np.asarray(t_h, dtype=float) + offset_h, 24.0)


# --------------------------------------------------------------------- the arithmetic


def test_a_window_across_midnight_opens_and_shuts_at_the_right_times():
    night = DailyHours(20.0, 6.0)
    assert night.next_open(21.0) == 21.0  # open in the evening
    assert night.next_open(27.0) == 27.0  # and after midnight (03:00 next day)
    assert night.next_open(12.0) == 20.0  # shut by day: opens at 20:00
    assert night.next_open(30.0) == 44.0  # 06:00 next day: shut until 20:00
    assert night.shut_at(21.0) == 30.0  # opened at 20:00, shuts 06:00 next morning
    assert night.shut_at(27.0) == 30.0
    assert night.shut_intervals(48.0) == [(6.0, 20.0), (30.0, 44.0)]


def test_the_clock_offset_of_the_start_is_respected():
    day = DailyHours(6.0, 18.0, offset_h=10.0)  # the run starts at 10:00
    assert day.next_open(0.0) == 0.0  # 10:00: open
    assert day.next_open(8.0) == 20.0  # 18:00: shut until 06:00 = 20 h after start
    assert day.shut_at(0.0) == 8.0


def test_squeezing_keeps_order_and_puts_every_time_in_the_window():
    rng = np.random.default_rng(1)
    t = np.sort(rng.uniform(0, 72, 5000))
    for window in [DailyHours(6.0, 18.0), DailyHours(20.0, 4.0), DailyHours(6.0, 18.0, 3.5)]:
        moved = window.squeeze(t)
        assert np.all(np.diff(moved) >= 0)
        clock = _clock(moved, window.offset_h)
        if window.crosses:
            assert np.all((clock >= window.open_h) | (clock < window.close_h))
        else:
            assert np.all((clock >= window.open_h) & (clock < window.close_h))


# --------------------------------------------------------------------- in a run


def test_daylight_arrivals_come_only_by_day_and_in_the_same_number(deterministic):
    deterministic["demand"]["people"]["arrivals_per_day"] = 1000
    deterministic["demand"]["people"]["pool"] = 100_000
    base = _run(deterministic).groups
    deterministic["demand"]["people"]["arrival_hours"] = ["6h", "18h"]
    day = _run(deterministic).groups
    clock = _clock(day["t_arrive"])
    assert ((clock >= 6) & (clock < 18)).all()
    assert _clock(base["t_arrive"]).min() < 6  # without the window, people came at night
    assert day["size"].sum() == base["size"].sum()  # the same draws, squeezed into the day


def test_a_gate_open_across_midnight_admits_only_at_night(deterministic):
    deterministic["demand"]["people"]["arrivals_per_day"] = 2000
    deterministic["gates"]["main"] = {"throughput_per_h": 100, "daily_hours": ["20h", "6h"]}
    groups = _run(deterministic).groups
    admitted = groups.dropna(subset=["t_gate"])
    assert len(admitted) > 0
    # t_gate is the end of a group's passage (size / 100 h): each passage began while open.
    clock = _clock(admitted["t_gate"] - admitted["size"] / 100)
    assert ((clock >= 20 - 1e-9) | (clock < 6)).all()
    assert (clock < 6).any() and (clock >= 20).any()  # both sides of midnight


def test_runway_hours_keep_every_movement_in_the_flying_hours(deterministic):
    deterministic["airfield"]["runway_hours"] = ["6h", "22h"]
    deterministic["flights"]["shuttle"]["per_day"] = 24  # slots round the clock
    flights = _run(deterministic).flights
    flown = flights[flights["status"] == "departed"]
    assert len(flown) > 0
    sep = 1 / 60
    for column in ("t_land", "t_depart"):
        start = _clock(flown[column] - sep)  # a movement holds the runway for `sep` before
        assert ((start >= 6 - 1e-6) & (start < 22)).all(), column
    # The same flights round the clock land at night too: the field made a difference.
    deterministic["airfield"]["runway_hours"] = None
    free = _run(deterministic).flights
    assert (_clock(free["t_land"] - sep) < 6).any()


# --------------------------------------------------------------------- validation


def _problems(data: dict):
    return validate_document(Document(data, "x.yaml"))


def test_a_window_across_midnight_is_accepted_and_an_empty_one_refused(deterministic):
    deterministic["gates"]["main"]["daily_hours"] = ["20h", "6h"]
    scenario, problems = _problems(deterministic)
    assert scenario is not None
    deterministic["gates"]["main"]["daily_hours"] = ["6h", "6h"]
    with pytest.raises(ScenarioError, match=r"gates\.main\.daily_hours: \[6h, 6h\] is not a daily"):
        evacsim.scenario_from_dict(deterministic)


def test_arrivals_when_no_gate_is_open_are_flagged(deterministic):
    deterministic["gates"]["main"]["daily_hours"] = ["6h", "18h"]
    scenario, problems = _problems(deterministic)
    assert scenario is not None
    assert [(p.path, p.severity) for p in problems] == [("demand.people.arrival_hours", "warning")]
    assert "people arrive at 18:00-06:00 when no gate admitting them is open" in str(problems[0])
    deterministic["demand"]["people"]["arrival_hours"] = ["7h", "17h"]
    assert _problems(deterministic)[1] == []
    # A second gate open at night covers the rest.
    deterministic["demand"]["people"]["arrival_hours"] = None
    deterministic["gates"]["night"] = {"throughput_per_h": 10, "daily_hours": ["18h", "6h"]}
    assert _problems(deterministic)[1] == []


def test_the_minimal_scenario_needs_no_invented_parts():
    """One gate, one lane, one aircraft type flying direct, three days: no staging base."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "scenarios" / "minimal.yaml"
    scenario = evacsim.load_scenario(path)
    assert len(scenario.gates) == 1 and scenario.screening.lanes == 1
    assert len(scenario.aircraft) == 1 and scenario.staging == {}
    assert [f.destinations for f in scenario.flights.values()] == [None]  # direct
    assert scenario.horizon_h == 72
    assert "scenarios/minimal.yaml" in (path.parent.parent / "README.md").read_text()
    result = evacsim.simulate(scenario, seed=0)
    assert result.kpis["evacuated"] > 0
