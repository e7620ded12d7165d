"""Plain-SimPy M/M/c yardstick.

A deliberately *unoptimised*, textbook SimPy model of an M/M/c queue: a source
process spawns one process per customer, each customer requests a shared
``simpy.Resource``, waits for it, and holds it for an exponential service time.
Random variates are drawn one at a time from a ``numpy.random.Generator`` inside
the processes, as the plain idiom does. It is the baseline against which the
simulator's own per-entity cost is compared, and its mean wait is checked
against :func:`evacsim.validation.theory.mmc_metrics` in ``tests/test_theory.py``.

Units: rates per hour, times in hours (simulation clock = hours).

Run ``python benchmarks/yardstick.py`` to print the figures.
"""

from __future__ import annotations

import time

import numpy as np
import simpy


def run_plain_mmc(
    customers: int = 200_000,
    servers: int = 3,
    arrival_rate: float = 2.7,
    service_rate: float = 1.0,
    seed: int = 1,
) -> dict:
    """Simulate ``customers`` arrivals through a plain-SimPy M/M/c queue.

    Args:
        customers: number of customers generated (all are served to completion).
        servers: c, capacity of the shared resource.
        arrival_rate: lambda, Poisson arrival rate (customers per hour).
        service_rate: mu, per-server exponential service rate (customers per hour).
        seed: seed for ``numpy.random.default_rng``.

    Returns:
        ``{'customers': n, 'wall_s': seconds spent in env.run(),
        'us_per_customer': wall microseconds per customer,
        'mean_wait_h': mean time from arrival to start of service (hours)}``.
        The queue starts empty and no warm-up is discarded, so ``mean_wait_h``
        carries a small initial-transient bias below the stationary Wq.
    """
    if customers < 1:
        raise ValueError(f"customers must be >= 1, got {customers}")
    rng = np.random.default_rng(seed)
    env = simpy.Environment()
    resource = simpy.Resource(env, capacity=servers)
    waits: list[float] = []
    mean_interarrival = 1.0 / arrival_rate
    mean_service = 1.0 / service_rate

    def customer(env: simpy.Environment):
        arrived = env.now
        with resource.request() as req:
            yield req
            waits.append(env.now - arrived)
            yield env.timeout(rng.exponential(mean_service))

    def source(env: simpy.Environment):
        for _ in range(customers):
            env.process(customer(env))
            yield env.timeout(rng.exponential(mean_interarrival))

    env.process(source(env))
    start = time.perf_counter()
    env.run()
    wall = time.perf_counter() - start

    return {
        "customers": customers,
        "wall_s": wall,
        "us_per_customer": wall / customers * 1e6,
        "mean_wait_h": sum(waits) / len(waits),
    }


if __name__ == "__main__":
    import sys
    from pathlib import Path

    # Allow `python benchmarks/yardstick.py` from a source checkout without installing.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from evacsim.validation.theory import mmc_metrics

    result = run_plain_mmc()
    theory = mmc_metrics(2.7, 1.0, 3)
    print(f"customers        : {result['customers']:,}")
    print(f"wall time        : {result['wall_s']:.3f} s")
    print(f"us per customer  : {result['us_per_customer']:.2f}")
    print(f"mean wait (sim)  : {result['mean_wait_h']:.4f} h")
    print(f"mean wait (Wq)   : {theory.mean_wait_queue:.4f} h (Erlang C)")
