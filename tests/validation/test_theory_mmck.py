"""The full model reduced to M/M/c/K (finite capacity, loss), against Gross & Harris §2.5.

``queue_scenario(..., capacity=K)`` caps the inside (screening queue + lanes) at K people;
screened people leave at once and an arrival who finds no room is lost (see its docstring for
how the model expresses loss). Per replication we estimate:

* the blocking probability ``p_K`` = people lost / people arrived (PASTA: the share of
  Poisson arrivals that find K present);
* ``L``, the time-average number inside, from the hourly backlog;
* ``W``, the mean time inside of admitted people, from the per-person tally.

M/M/c/K is stable at any load, so the cases include rho = 1 and rho > 1.
"""

from __future__ import annotations

import pytest
from _validation import check_against, interval, queue_scenario, replicate

from evacsim.validation.theory import mmck_metrics


def measure_mmck(result) -> dict[str, float]:
    k = result.kpis
    waits = result.waits.set_index("stage")
    inside = result.backlog[result.backlog["stage"] == "screening"]["mean"]
    return {
        "blocking": k["left_behind.away"] / k["arrived"],
        "L": float(inside.mean()),
        "W": float(waits.loc["screening", "mean_h"]),
    }


# (lambda per h, mu per h, c, K, horizon h, replications)
DEFAULT_CASES = {
    "mm3k5_rho0.8": (14.4, 6.0, 3, 5, 400.0, 8),
    "mm2k4_rho1.0": (12.0, 6.0, 2, 4, 400.0, 8),
    "mm3k3_rho1.5_erlang_b": (27.0, 6.0, 3, 3, 300.0, 8),
}
SLOW_CASES = {
    "mm10k15_rho0.9": (54.0, 6.0, 10, 15, 1500.0, 10),
    "mm1k10_rho1.2": (7.2, 6.0, 1, 10, 4000.0, 10),
    "mm20k20_rho2_erlang_b": (240.0, 6.0, 20, 20, 400.0, 10),
}
MAX_WIDTH = {"blocking": 0.12, "L": 0.06, "W": 0.06}


def run_case(name, lam, mu, c, k, horizon, reps, tighten=1.0):
    theory = mmck_metrics(lam, mu, c, k)
    scenario = queue_scenario(lam, mu, c, horizon, capacity=k, name="mmck")
    est = replicate(scenario, sum(map(ord, name)), reps, measure_mmck)
    expected = {
        "blocking": theory.blocking_probability,
        "L": theory.mean_number_in_system,
        "W": theory.mean_time_in_system,
    }
    for key, value in expected.items():
        check_against(f"{name} {key}", est[key], value, MAX_WIDTH[key] * tighten)
    return theory, est


@pytest.mark.parametrize("name", list(DEFAULT_CASES))
def test_mmck_blocking_against_formula(name):
    theory, est = run_case(name, *DEFAULT_CASES[name])
    lam, mu, c, k = DEFAULT_CASES[name][:4]
    # Power: a system one place larger blocks visibly less, and the interval says so.
    assert mmck_metrics(lam, mu, c, k + 1).blocking_probability not in interval(est["blocking"])


def test_mmck_blocking_at_the_default_batch_resolution():
    """With 15 min batches, screening hands people on up to a batch late, but those who leave
    free their room as they are done, so the loss queue still blocks as the formula says."""
    lam, mu, c, k, horizon, reps = DEFAULT_CASES["mm2k4_rho1.0"]
    scenario = queue_scenario(lam, mu, c, horizon, capacity=k, name="mmck", batch="15min")
    est = replicate(scenario, 2024, reps, measure_mmck)
    theory = mmck_metrics(lam, mu, c, k)
    check_against("mm2k4 batched blocking", est["blocking"], theory.blocking_probability, 0.12)
    check_against("mm2k4 batched L", est["L"], theory.mean_number_in_system, 0.06)


@pytest.mark.slow
@pytest.mark.parametrize("name", list(SLOW_CASES))
def test_mmck_larger_systems(name):
    run_case(name, *SLOW_CASES[name], tighten=0.6)


def test_nobody_is_lost_without_a_capacity():
    """The loss mechanism acts only through the capacity: without one, nobody leaves."""
    scenario = queue_scenario(14.4, 6.0, 3, 200.0)
    result = replicate(scenario, 7, 2, measure_mmck)
    assert (result["blocking"] == 0).all()
