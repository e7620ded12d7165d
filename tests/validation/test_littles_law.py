"""Little's law on the full Kabul model, as an exact sample-path identity.

Over a finite horizon T, for any stage that people enter once and leave once (Little 1961;
El-Taha & Stidham, *Sample-Path Analysis of Queueing Systems*, §1.3):

    integral_0^T N(t) dt  =  sum over people of (time spent in the stage before T)

i.e. ``L = lambda W`` with ``L`` the time-average number in the stage, ``lambda`` the people
who entered per hour and ``W`` their mean time there (cut at T for those still in it).

The two sides come from independent books. The left side is the ledger's ``area``: the
head-count integrated move by move as the run goes (each move at t adds or takes its size
times ``T - t``), never looking at a journey's stamps. The right side comes from the
per-group records (the time each group reached each stage). A third book, the hourly backlog
table, is made from those stamps at the end of each journey; it must agree with the first.
The stationary form, against Erlang C, is in ``test_theory_mmc.py``.
"""

from __future__ import annotations

import pytest

import evacsim
from evacsim.model.demand import Stage

# backlog stage -> (its Stage, column entering it, column leaving it) in the group records
STAGES = {
    "screening": (Stage.SCREENING, "t_gate", "t_screened"),
    "inside_waiting": (Stage.INSIDE, "t_screened", "t_board"),
    "aboard": (Stage.ABOARD, "t_board", "t_depart"),
}


@pytest.fixture(scope="module")
def kabul_model(kabul_scenario):
    """One replication of the Kabul baseline with per-group records (seed 11), and its model."""
    model = evacsim.build(kabul_scenario, 11).run()
    return model, evacsim.collect(model)


def _lambda_w(result, stage: str, horizon: float) -> tuple[float, float]:
    """(people who entered, person-hours they spent there before the horizon), from records."""
    _, enter, leave = STAGES[stage]
    g = result.groups
    entered = g[g[enter].notna()]
    if stage == "inside_waiting":
        entered = entered[entered["final_stage"] != "turned_away"]  # never waited inside
    time_in = entered[leave].fillna(horizon).clip(upper=horizon) - entered[enter]
    return float(entered["size"].sum()), float((time_in * entered["size"]).sum())


@pytest.mark.parametrize("stage", list(STAGES))
def test_head_count_integrated_from_moves_equals_lambda_w(kabul_model, stage):
    model, result = kabul_model
    people, person_hours = _lambda_w(result, stage, model.horizon_h)
    area = model.ledger.area[STAGES[stage][0]]
    assert people > 10_000  # the stage is busy: the identity is not trivially 0 = 0
    # L = area / T against lambda W = (people / T) x (person_hours / people)
    assert area / model.horizon_h == pytest.approx(person_hours / model.horizon_h, rel=1e-9)


@pytest.mark.parametrize("stage", list(STAGES))
def test_backlog_table_agrees_with_the_moves(kabul_model, stage):
    """The hourly backlog (built from journey stamps) has the same area as the moves."""
    model, result = kabul_model
    backlog = result.backlog[result.backlog["stage"] == stage]
    assert backlog["mean"].sum() == pytest.approx(model.ledger.area[STAGES[stage][0]], rel=1e-9)


def test_identity_detects_a_missing_person(kabul_model):
    """The check has power: one person's stay left out breaks it beyond rounding."""
    model, result = kabul_model
    g = result.groups
    entered = g[g["t_gate"].notna() & g["t_screened"].notna()]
    one_stay = float((entered["t_screened"] - entered["t_gate"]).iloc[0])
    _, person_hours = _lambda_w(result, "screening", model.horizon_h)
    area = model.ledger.area[Stage.SCREENING]
    assert area == pytest.approx(person_hours, rel=1e-9)
    assert area != pytest.approx(person_hours - one_stay, rel=1e-9)
