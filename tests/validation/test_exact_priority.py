"""Priority queueing order, with exact oracles.

Two categories queue together: ``high`` (priority 0) and ``low`` (priority 1). The stage
under test is held shut until everyone has arrived and queued, then serves one at a time with
a fixed time each, so the order and even the completion times are exact: all of ``high``
first (first come, first served among them), then all of ``low``. Gates and screening run at
exact resolution (``batch: 0``).
"""

from __future__ import annotations

import numpy as np
from _validation import START, exact, hours_after

import evacsim

N_HIGH, N_LOW = 200, 300


def two_categories(**parts) -> evacsim.Scenario:
    rate = lambda n: {hours_after(0): n * 24 * 100, hours_after(1): 0}  # noqa: E731
    data = {
        "name": "priority",
        "start": START.isoformat(),
        "deadline": hours_after(48),
        # ``low`` is listed first so that category order cannot pass for priority order.
        "demand": {
            "low": {"pool": N_LOW, "priority": 1, "arrivals_per_day": rate(N_LOW)},
            "high": {"pool": N_HIGH, "priority": 0, "arrivals_per_day": rate(N_HIGH)},
        },
        "gates": {"main": {"throughput_per_h": None}},
        "screening": {"lanes": 1000, "service": {"dist": "fixed", "value": "1s"}},
        "airfield": {"separation": "1min", "ramp_capacity": 10},
        "aircraft": {},
        "operators": {},
        "staging": {},
    }
    data.update(parts)
    return evacsim.scenario_from_dict(exact(data), file="<priority>")


def by_category(result, column: str) -> dict[str, np.ndarray]:
    g = result.groups.sort_values("t_arrive")
    return {c: g.loc[g["category"] == c, column].to_numpy() for c in ("high", "low")}


def test_screening_serves_priority_zero_first():
    """One lane opening at 02:00, 3 min each: high done at 02:00 + k x 3 min, then low."""
    s = two_categories(screening={"lanes": {hours_after(2): 1}, "service": "3min"})
    result = evacsim.simulate(s, seed=1)
    gate = by_category(result, "t_gate")
    assert gate["high"].max() < 2 and gate["low"].max() < 2  # all queued before the lane opens
    done = by_category(result, "t_screened")
    step = 3 / 60
    assert np.allclose(np.sort(done["high"]), 2 + step * np.arange(1, N_HIGH + 1), atol=1e-9)
    assert np.allclose(
        np.sort(done["low"]), 2 + step * np.arange(N_HIGH + 1, N_HIGH + N_LOW + 1), atol=1e-9
    )
    # First come, first served within a priority: screening order follows gate order.
    for cat in ("high", "low"):
        g = result.groups[result.groups["category"] == cat].sort_values("t_gate")
        assert np.all(np.diff(g["t_screened"].to_numpy()) > 0)


def test_gate_admits_priority_zero_first():
    """A gate opening at 02:00 at 60 people an hour admits every high before any low."""
    s = two_categories(
        gates={"main": {"throughput_per_h": 60, "open_from": hours_after(2)}},
    )
    result = evacsim.simulate(s, seed=2)
    gate = by_category(result, "t_gate")
    assert np.allclose(np.sort(gate["high"]), 2 + np.arange(1, N_HIGH + 1) / 60, atol=1e-9)
    assert np.allclose(
        np.sort(gate["low"]), 2 + np.arange(N_HIGH + 1, N_HIGH + N_LOW + 1) / 60, atol=1e-9
    )


def test_flights_board_priority_zero_first():
    """Everyone waits inside before the first flight; 4 flights of 100 seats from 06:00:
    flight k carries min(100, what is left of high) high and the rest of its seats low, and
    the 100 low who do not fit are left behind."""
    s = two_categories(
        aircraft={"plane": {"seats": 100, "turnaround": "1h"}},
        operators={"op": {}},
        flights={
            "shuttle": {
                "operator": "op",
                "aircraft": "plane",
                "from": hours_after(6),
                "to": hours_after(30),
                "per_day": 4,
                "destinations": "base",
                "slot_jitter": 0,
            }
        },
        staging={"base": {"capacity": 10**6, "onward_per_day": 0, "flight_time": "1h"}},
    )
    result = evacsim.simulate(s, seed=3)
    g = result.groups
    assert g["t_screened"].max() < 6  # everyone waits inside before the first flight lands
    flown = g[g["flight"] >= 0]  # flight -1: not evacuated
    per_flight = flown.groupby(["flight", "category"])["size"].sum().unstack(fill_value=0)
    per_flight = per_flight.sort_index()
    high_left = N_HIGH
    for _, row in per_flight.iterrows():
        assert row["high"] == min(100, high_left)
        assert row["low"] == 100 - row["high"]
        high_left -= row["high"]
    assert len(per_flight) == 4
    assert result.kpis["evacuated.high"] == N_HIGH
    assert result.kpis["evacuated.low"] == 4 * 100 - N_HIGH
    assert result.kpis["left_behind_by_category.low"] == N_LOW + N_HIGH - 4 * 100
