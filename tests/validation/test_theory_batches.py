"""The M/M/c and priority checks at the shipped resolution, 15-minute batches.

The README states the batch rule: every group is timed exactly, and a later arrival, a
higher priority, a closure or a pause waits at most one ``batch`` longer than it would group
by group. So at ``batch`` b the theory still bounds the waits:

* lanes stay busy whenever someone waits (screening starts a group at once on a free lane),
  so the mean wait over everyone is Erlang C's ``Wq``, whatever the order (the conservation
  law); with one class FCFS, batches change nothing at all;
* a priority class waits its exact-order wait (Cobham's formula, checked here at ``batch:
  0`` too) plus at most b: ``Wq_k <= E[Wq_k] <= Wq_k + b`` for the first class, and paired
  with the exact engine on the same seeds the extra wait lies in ``[0, b]``.

Oracles: :func:`evacsim.validation.theory.mmc_metrics` (Gross & Harris §2.3) and
:func:`~evacsim.validation.theory.priority_mmc_waits` (Cobham 1954), each against a 99.9 %
interval over independent replications (see ``_validation.py``).
"""

from __future__ import annotations

import numpy as np
from _validation import (
    START,
    check_against,
    duration,
    exact,
    hours_after,
    interval,
    queue_scenario,
    replicate,
)

import evacsim
from evacsim.validation.theory import mmc_metrics, priority_mmc_waits

BATCH_H = 0.25  # the default resolution of gates and screening, 15 min


def priority_scenario(
    rates: tuple[float, float], mu: float, servers: int, horizon_h: float, batch: str
) -> evacsim.Scenario:
    """Two Poisson classes, ``high`` (priority 0) and ``low`` (1), one screening queue of
    ``servers`` exponential lanes, no gate delay, no flights; ``batch`` on gate and lanes."""
    high, low = rates
    data = {
        "name": "priority_mmc",
        "start": START.isoformat(),
        "deadline": hours_after(horizon_h),
        # ``low`` listed first so that category order cannot pass for priority order.
        "demand": {
            "low": {"pool": 10**9, "priority": 1, "arrivals_per_day": low * 24},
            "high": {"pool": 10**9, "priority": 0, "arrivals_per_day": high * 24},
        },
        "gates": {"open": {"throughput_per_h": None}},
        "screening": {
            "lanes": servers,
            "service": {"dist": "exponential", "mean": duration(1.0 / mu)},
        },
        "airfield": {"separation": "2min", "ramp_capacity": 1},
        "aircraft": {},
        "operators": {},
        "staging": {},
    }
    exact(data)
    data["gates"]["open"]["batch"] = data["screening"]["batch"] = batch
    return evacsim.scenario_from_dict(data, file="<priority_mmc>")


def class_waits(result) -> dict[str, float]:
    """Mean wait before screening of each class and of everyone (hours)."""
    w = result.waits[result.waits["stage"] == "screening_queue"].set_index("category")
    everyone = float((w["people"] * w["mean_h"]).sum() / w["people"].sum())
    return {
        "high": float(w.loc["high", "mean_h"]),
        "low": float(w.loc["low", "mean_h"]),
        "all": everyone,
    }


# lambda high, lambda low (per h), mu (per h), lanes, horizon (h), replications: rho = 0.8
CASE = ((4.0, 10.4), 6.0, 3, 450.0, 8)


def test_priority_waits_against_cobham_exact_and_at_15_min_batches():
    rates, mu, c, horizon, reps = CASE
    high_th, low_th = priority_mmc_waits(rates, mu, c)
    fcfs = mmc_metrics(sum(rates), mu, c).mean_wait_queue
    exact_est = replicate(priority_scenario(rates, mu, c, horizon, "0s"), 5, reps, class_waits)
    check_against("exact high", exact_est["high"], high_th, 0.2)
    check_against("exact low", exact_est["low"], low_th, 0.3)
    check_against("exact all", exact_est["all"], fcfs, 0.3)

    batched = replicate(priority_scenario(rates, mu, c, horizon, "15min"), 5, reps, class_waits)
    # Lanes never idle while someone waits: the total is unchanged (conservation law).
    check_against("15 min all", batched["all"], fcfs, 0.3)
    # The first class waits at most one batch longer than in exact priority order ...
    high = interval(batched["high"])
    assert high.low <= high_th + BATCH_H and high.high >= high_th, (high, high_th)
    # ... paired on the same seeds: the extra wait of each replication lies in [0, b].
    extra = batched["high"] - exact_est["high"]
    assert np.all(extra >= -0.01) and np.all(extra <= BATCH_H), extra
    # And batches do cost the first class something here (the bound is not vacuous: a later
    # high arrival queues behind starts already committed).
    assert interval(extra).low > 0, interval(extra)


def test_mmc_at_15_min_batches_is_erlang_c_and_within_a_batch_of_exact():
    lam, mu, c, horizon, reps = 3.0, 6.0, 1, 1500.0, 6
    theory = mmc_metrics(lam, mu, c)

    def waits(result) -> dict[str, float]:
        g = result.groups
        return {
            "Wq": float(result.waits.set_index("stage").loc["screening_queue", "mean_h"]),
            "outside_max": float((g["t_gate"] - g["t_arrive"]).max()),
        }

    batched = replicate(queue_scenario(lam, mu, c, horizon, batch="15min"), 31, reps, waits)
    exact_est = replicate(queue_scenario(lam, mu, c, horizon), 31, reps, waits)
    check_against("15 min Wq", batched["Wq"], theory.mean_wait_queue, 0.25)
    # Nobody waits at an unlimited gate more than one batch, and screening (one class,
    # first come first served) adds at most a batch to each replication's mean wait.
    assert np.all(batched["outside_max"] <= BATCH_H + 1e-9)
    assert np.all(np.abs(batched["Wq"] - exact_est["Wq"]) <= BATCH_H)
