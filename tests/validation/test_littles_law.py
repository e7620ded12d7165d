"""Little's law on the full Kabul model, as an exact sample-path identity.

Over a finite horizon T, for any stage that people enter once and leave once (Little 1961;
El-Taha & Stidham, *Sample-Path Analysis of Queueing Systems*, §1.3):

    integral_0^T N(t) dt  =  sum over people of (time spent in the stage before T)

i.e. ``L = lambda W`` with ``L`` the time-average number in the stage, ``lambda`` the people
who entered per hour and ``W`` their mean time there (cut at T for those still in it). The
left side comes from the run's hourly backlog (``mean`` column), the right side from the
per-group records: two independent sets of books, which must agree to rounding.
The stationary form, against Erlang C, is in ``test_theory_mmc.py``.
"""

from __future__ import annotations

import pytest

# stage in the backlog table -> (column entering it, column leaving it) in the group records
STAGES = {
    "screening": ("t_gate", "t_screened"),
    "inside_waiting": ("t_screened", "t_board"),
    "aboard": ("t_board", "t_depart"),
}


@pytest.mark.parametrize("stage", list(STAGES))
def test_time_average_number_equals_arrival_rate_times_mean_time(kabul_run, stage):
    result = kabul_run
    horizon = len(result.backlog["time"].unique())  # hours
    enter, leave = STAGES[stage]
    g = result.groups
    entered = g[g[enter].notna()]
    if stage == "inside_waiting":
        entered = entered[entered["final_stage"] != "turned_away"]  # never waited inside
    time_in = entered[leave].fillna(horizon).clip(upper=horizon) - entered[enter]
    people = entered["size"]
    lam = people.sum() / horizon
    w = (time_in * people).sum() / people.sum()

    backlog = result.backlog[result.backlog["stage"] == stage]
    big_l = backlog["mean"].sum() / horizon  # hourly means summed = area under N(t)

    assert people.sum() > 10_000  # the stage is busy: the identity is not trivially 0 = 0
    assert big_l == pytest.approx(lam * w, rel=1e-9)


def test_identity_detects_a_missing_person(kabul_run):
    """The check has power: one person's stay left out breaks it beyond rounding."""
    g = kabul_run.groups
    horizon = len(kabul_run.backlog["time"].unique())
    entered = g[g["t_gate"].notna()]
    area = ((entered["t_screened"].fillna(horizon) - entered["t_gate"]) * entered["size"]).sum()
    backlog = kabul_run.backlog
    big_area = backlog.loc[backlog["stage"] == "screening", "mean"].sum()
    one_stay = (entered["t_screened"] - entered["t_gate"]).dropna().iloc[0]
    assert big_area == pytest.approx(area, rel=1e-9)
    assert big_area != pytest.approx(area - one_stay, rel=1e-9)
