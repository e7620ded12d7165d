"""Closed-form queueing results used as test oracles for the simulator.

Conventions used throughout this module:

* rates (``arrival_rate`` lambda, ``service_rate`` mu) are in events per hour;
* times (waits, sojourns) are in hours;
* offered load ``a = lambda / mu`` is dimensionless, in Erlangs;
* ``servers`` (c) and ``capacity`` (K) are counts of customers.

All results are for the stationary (long-run) regime with Poisson arrivals,
exponential service times and FCFS discipline. References:

* Gross, Shortle, Thompson & Harris, *Fundamentals of Queueing Theory*, 4th ed.
  (Wiley, 2008): §2.3 (M/M/c), §2.5 (M/M/c/K), §2.6 (Erlang loss, M/M/c/c).
* Kleinrock, *Queueing Systems, Vol. 1* (Wiley, 1975), §3.4-§3.6.

The module holds no state and does no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "MMcKMetrics",
    "MMcMetrics",
    "erlang_b",
    "erlang_c",
    "mmc_metrics",
    "mmck_blocking",
    "mmck_metrics",
    "priority_mmc_waits",
]


# --------------------------------------------------------------------------- validation


def _check_servers(servers: int) -> None:
    if isinstance(servers, bool) or not isinstance(servers, int):
        raise ValueError(f"servers must be an int, got {servers!r} ({type(servers).__name__})")
    if servers < 1:
        raise ValueError(f"servers must be >= 1, got {servers}")


def _check_nonnegative(name: str, value: float) -> None:
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be finite and >= 0, got {value!r}")


def _check_positive(name: str, value: float) -> None:
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")


# --------------------------------------------------------------------------- Erlang B / C


def erlang_b(servers: int, offered_load: float) -> float:
    """Erlang B (loss) probability for an M/M/c/c system.

    Probability that an arriving customer finds all ``servers`` busy and is lost,
    for offered load ``offered_load`` = lambda/mu in Erlangs (dimensionless).

    Computed with the standard stable recursion
    ``B(0) = 1,  B(k) = a B(k-1) / (k + a B(k-1))``
    (Gross & Harris, *Fundamentals of Queueing Theory*, §2.6), which avoids the
    factorials and powers of the textbook formula and is accurate for thousands
    of servers. Any finite ``offered_load >= 0`` is valid (loss systems are
    always stable).
    """
    _check_servers(servers)
    _check_nonnegative("offered_load", offered_load)
    b = 1.0
    for k in range(1, servers + 1):
        ab = offered_load * b
        b = ab / (k + ab)
    return b


def erlang_c(servers: int, offered_load: float) -> float:
    """Erlang C: probability that an arrival has to wait in an M/M/c queue.

    ``offered_load`` is a = lambda/mu in Erlangs (dimensionless); the result is
    the stationary probability that all ``servers`` are busy, which by PASTA is
    the probability that a Poisson arrival waits (Erlang C, Gross & Harris,
    *Fundamentals of Queueing Theory*, §2.3).

    Computed from the Erlang B recursion and the identity
    ``C = c B / (c - a (1 - B))`` (Gross & Harris §2.3/§2.6), which is
    numerically stable for several hundred (indeed thousands of) servers.

    Raises:
        ValueError: if ``servers`` is not an int >= 1, if ``offered_load`` is
            negative or not finite, or if ``offered_load >= servers`` (utilisation
            rho = a/c >= 1: the queue has no stationary distribution).
    """
    _check_servers(servers)
    _check_nonnegative("offered_load", offered_load)
    if offered_load >= servers:
        raise ValueError(
            f"unstable M/M/c queue: offered load a={offered_load!r} Erlangs must be < "
            f"servers c={servers} (utilisation rho=a/c={offered_load / servers:.6g} >= 1)"
        )
    b = erlang_b(servers, offered_load)
    c = servers * b / (servers - offered_load * (1.0 - b))
    # Guard against last-ulp excursions outside [0, 1].
    return min(1.0, max(0.0, c))


# --------------------------------------------------------------------------- M/M/c


@dataclass(frozen=True, slots=True)
class MMcMetrics:
    """Stationary performance measures of an M/M/c queue.

    Attributes:
        utilisation: rho = lambda / (c mu), fraction of server capacity in use
            (dimensionless).
        p_wait: Erlang C, probability an arrival waits (dimensionless).
        mean_wait_queue: Wq, mean time spent waiting before service (hours).
        mean_queue_length: Lq, mean number waiting, excluding those in service
            (customers).
        mean_time_in_system: W = Wq + 1/mu, mean sojourn time (hours).
        mean_number_in_system: L = Lq + a, mean number present (customers).
    """

    utilisation: float
    p_wait: float
    mean_wait_queue: float
    mean_queue_length: float
    mean_time_in_system: float
    mean_number_in_system: float


def mmc_metrics(arrival_rate: float, service_rate: float, servers: int) -> MMcMetrics:
    """Stationary metrics of the M/M/c queue (Gross & Harris §2.3).

    Args:
        arrival_rate: lambda, Poisson arrival rate (customers per hour), >= 0.
        service_rate: mu, service rate of ONE server (customers per hour), > 0.
        servers: c, number of identical parallel servers, >= 1.

    Returns:
        :class:`MMcMetrics` with times in hours and counts in customers, using
        ``Wq = C(c, a) / (c mu - lambda)``, ``Lq = lambda Wq`` (Little's law),
        ``W = Wq + 1/mu`` and ``L = lambda W``.

    Raises:
        ValueError: on invalid inputs or if lambda >= c mu (unstable).
    """
    _check_nonnegative("arrival_rate", arrival_rate)
    _check_positive("service_rate", service_rate)
    _check_servers(servers)
    offered = arrival_rate / service_rate
    if arrival_rate >= servers * service_rate:
        raise ValueError(
            f"unstable M/M/c queue: arrival_rate={arrival_rate!r}/h must be < "
            f"servers*service_rate={servers * service_rate!r}/h"
        )
    p_wait = erlang_c(servers, offered)
    wq = p_wait / (servers * service_rate - arrival_rate)
    lq = arrival_rate * wq
    w = wq + 1.0 / service_rate
    return MMcMetrics(
        utilisation=offered / servers,
        p_wait=p_wait,
        mean_wait_queue=wq,
        mean_queue_length=lq,
        mean_time_in_system=w,
        mean_number_in_system=lq + offered,
    )


def priority_mmc_waits(
    arrival_rates: list[float] | tuple[float, ...], service_rate: float, servers: int
) -> list[float]:
    """Mean wait before service of each class in an M/M/c queue with non-preemptive
    priorities, every class served at the same exponential rate (Cobham 1954; Gross &
    Harris §3.4.1): class ``k`` (0 is served first) waits

        Wq_k = E[W0] / ((1 - sigma_{k-1}) (1 - sigma_k)),  E[W0] = C(c, a) / (c mu),

    with ``sigma_k`` the utilisation of classes ``0..k`` and ``a = lambda / mu``.

    Args:
        arrival_rates: Poisson arrival rate of each class, highest priority first
            (customers per hour), each >= 0.
        service_rate: mu of one server (customers per hour), > 0.
        servers: c, identical parallel servers, >= 1.

    Returns:
        Mean wait of each class (hours). Their mean weighted by rates equals the FCFS
        ``Wq`` of :func:`mmc_metrics` (the conservation law: order does not change the
        total work waiting).
    """
    for rate in arrival_rates:
        _check_nonnegative("arrival_rate", rate)
    total = float(sum(arrival_rates))
    metrics = mmc_metrics(total, service_rate, servers)
    capacity = servers * service_rate
    residual = metrics.p_wait / capacity  # E[W0]: until the first of c busy servers frees
    waits, before = [], 0.0
    for rate in arrival_rates:
        after = before + rate / capacity
        waits.append(residual / ((1.0 - before) * (1.0 - after)))
        before = after
    return waits


# --------------------------------------------------------------------------- M/M/c/K


def _check_mmck(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> None:
    _check_nonnegative("arrival_rate", arrival_rate)
    _check_positive("service_rate", service_rate)
    _check_servers(servers)
    if isinstance(capacity, bool) or not isinstance(capacity, int):
        raise ValueError(f"capacity must be an int, got {capacity!r} ({type(capacity).__name__})")
    if capacity < servers:
        raise ValueError(
            f"capacity K={capacity} (max customers in system, incl. in service) "
            f"must be >= servers c={servers}"
        )


def _mmck_distribution(
    arrival_rate: float, service_rate: float, servers: int, capacity: int
) -> list[float]:
    """Stationary distribution p_0..p_K of M/M/c/K (Gross & Harris §2.5).

    Unnormalised terms are ``a^n / n!`` for ``n <= c`` and
    ``a^c / c! * (a/c)^(n-c)`` for ``c < n <= K``. They are built in log space
    and normalised by subtracting the maximum (log-sum-exp), so neither a large
    offered load nor a large K overflows.
    """
    if arrival_rate == 0.0:
        return [1.0] + [0.0] * capacity
    log_a = math.log(arrival_rate / service_rate)
    log_c = math.log(servers)
    logs = []
    log_term = 0.0  # log(a^0 / 0!)
    for n in range(capacity + 1):
        if n > 0:
            log_term += log_a - (math.log(n) if n <= servers else log_c)
        logs.append(log_term)
    top = max(logs)
    weights = [math.exp(x - top) for x in logs]
    total = math.fsum(weights)
    return [w / total for w in weights]


def mmck_blocking(arrival_rate: float, service_rate: float, servers: int, capacity: int) -> float:
    """Blocking probability p_K of the M/M/c/K queue (Gross & Harris §2.5).

    Args:
        arrival_rate: lambda, Poisson arrival rate (customers per hour), >= 0.
        service_rate: mu, service rate of one server (customers per hour), > 0.
        servers: c >= 1.
        capacity: K >= c, maximum number in the system INCLUDING those in
            service; arrivals finding K present are lost.

    Returns:
        Probability (dimensionless) that an arrival is blocked, i.e. the
        stationary probability of K in system (PASTA). Computed in log space,
        stable for any finite load (M/M/c/K is always stable, even for rho >= 1).
        For K = c this is Erlang B.
    """
    _check_mmck(arrival_rate, service_rate, servers, capacity)
    return _mmck_distribution(arrival_rate, service_rate, servers, capacity)[capacity]


@dataclass(frozen=True, slots=True)
class MMcKMetrics:
    """Stationary performance measures of an M/M/c/K queue.

    Attributes:
        blocking_probability: p_K, fraction of arrivals lost (dimensionless).
        mean_number_in_system: L (customers).
        mean_queue_length: Lq, mean number waiting, excluding in service (customers).
        effective_arrival_rate: lambda_eff = lambda (1 - p_K), rate of admitted
            customers (customers per hour).
        mean_time_in_system: W = L / lambda_eff for admitted customers (hours).
        mean_wait_queue: Wq = Lq / lambda_eff for admitted customers (hours).
    """

    blocking_probability: float
    mean_number_in_system: float
    mean_queue_length: float
    effective_arrival_rate: float
    mean_time_in_system: float
    mean_wait_queue: float


def mmck_metrics(
    arrival_rate: float, service_rate: float, servers: int, capacity: int
) -> MMcKMetrics:
    """Stationary metrics of the M/M/c/K queue (Gross & Harris §2.5).

    Arguments as for :func:`mmck_blocking` (rates per hour, K includes those in
    service). L and Lq are summed over the stationary distribution; W and Wq
    follow from Little's law applied to the *effective* (admitted) arrival rate
    ``lambda_eff = lambda (1 - p_K)``. With lambda = 0 the limits W = 1/mu and
    Wq = 0 are returned.
    """
    _check_mmck(arrival_rate, service_rate, servers, capacity)
    p = _mmck_distribution(arrival_rate, service_rate, servers, capacity)
    big_l = math.fsum(n * pn for n, pn in enumerate(p))
    lq = math.fsum((n - servers) * p[n] for n in range(servers + 1, capacity + 1))
    blocking = p[capacity]
    # 1 - p_K summed directly, so it keeps full relative precision when p_K ~ 1.
    lam_eff = arrival_rate * math.fsum(p[:capacity])
    if lam_eff > 0.0:
        w = big_l / lam_eff
        wq = lq / lam_eff
    else:
        w = 1.0 / service_rate
        wq = 0.0
    return MMcKMetrics(
        blocking_probability=blocking,
        mean_number_in_system=big_l,
        mean_queue_length=lq,
        effective_arrival_rate=lam_eff,
        mean_time_in_system=w,
        mean_wait_queue=wq,
    )
