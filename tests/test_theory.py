"""Tests for evacsim.validation.theory, checked against independent computations.

Reference values are produced in this file by methods that do not share code
with the module under test: exact rational arithmetic (``fractions.Fraction``)
on the textbook stationary distributions, brute-force truncated summation, and
the M/M/1/K closed forms.
"""

from __future__ import annotations

import importlib.util
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evacsim.validation.theory import (
    MMcKMetrics,
    MMcMetrics,
    erlang_b,
    erlang_c,
    mmc_metrics,
    mmck_blocking,
    mmck_metrics,
)

REPO_ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- oracles


def exact_erlang_c(c: int, a: Fraction) -> Fraction:
    """Erlang C from the M/M/c stationary distribution in exact arithmetic.

    p_n ~ a^n/n! (n < c), p_n ~ a^c/c! * rho^(n-c) (n >= c); the geometric tail
    sums to a^c/c! / (1 - rho) exactly.
    """
    rho = a / c
    head = sum((a**n / math.factorial(n) for n in range(c)), Fraction(0))
    tail = a**c / math.factorial(c) / (1 - rho)
    return tail / (head + tail)


def exact_erlang_b(c: int, a: Fraction) -> Fraction:
    terms = [a**n / math.factorial(n) for n in range(c + 1)]
    return terms[-1] / sum(terms, Fraction(0))


def brute_force_mmc(lam: float, mu: float, c: int, n_max: int = 5000) -> tuple[float, float]:
    """P(wait) and Lq by summing the truncated M/M/c distribution term by term."""
    a = lam / mu
    rho = a / c
    terms = []
    t = 1.0
    for n in range(n_max + 1):
        if n > 0:
            t *= a / min(n, c)
        terms.append(t)
    z = sum(terms)
    p = [x / z for x in terms]
    p_wait = sum(p[c:])
    lq = sum((n - c) * p[n] for n in range(c, n_max + 1))
    assert rho < 0.99  # truncation error is negligible at these loads
    return p_wait, lq


# --------------------------------------------------------------------------- Erlang C


@pytest.mark.parametrize("a", [0.0, 0.1, 0.5, 0.9, 0.999])
def test_erlang_c_single_server_is_rho(a: float) -> None:
    assert erlang_c(1, a) == pytest.approx(a, rel=1e-12, abs=1e-15)


def test_erlang_c_two_servers_one_erlang_is_one_third() -> None:
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3, rel=1e-12)


def test_erlang_b_table_values() -> None:
    # Standard Erlang B table entries (4 significant figures).
    assert erlang_b(5, 3.0) == pytest.approx(0.1101, abs=5e-5)
    assert erlang_b(10, 5.0) == pytest.approx(0.01838, abs=5e-6)
    assert erlang_b(1, 1.0) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("c", "a"),
    [
        (1, Fraction(1, 2)),
        (2, Fraction(3, 2)),
        (3, Fraction(27, 10)),
        (5, Fraction(4)),
        (10, Fraction(8)),
        (20, Fraction(39, 2)),
        (50, Fraction(45)),
    ],
)
def test_erlang_c_matches_exact_stationary_distribution(c: int, a: Fraction) -> None:
    assert erlang_c(c, float(a)) == pytest.approx(float(exact_erlang_c(c, a)), rel=1e-12)


@pytest.mark.parametrize(("c", "a"), [(150, 140), (300, 290), (400, 350)])
def test_erlang_c_stable_for_hundreds_of_servers(c: int, a: int) -> None:
    # Naive a**c / c! overflows a float here; the recursion must not.
    expected = float(exact_erlang_c(c, Fraction(a)))
    got = erlang_c(c, float(a))
    assert math.isfinite(got)
    assert got == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(("lam", "mu", "c"), [(2.7, 1.0, 3), (0.8, 0.25, 4), (9.0, 1.2, 9)])
def test_mmc_metrics_match_brute_force_summation(lam: float, mu: float, c: int) -> None:
    p_wait, lq = brute_force_mmc(lam, mu, c)
    m = mmc_metrics(lam, mu, c)
    assert m.p_wait == pytest.approx(p_wait, rel=1e-9)
    assert m.mean_queue_length == pytest.approx(lq, rel=1e-9)


@pytest.mark.parametrize(("lam", "mu", "c"), [(2.7, 1.0, 3), (0.5, 2.0, 1), (40.0, 0.5, 95)])
def test_mmc_metrics_littles_law_and_identities(lam: float, mu: float, c: int) -> None:
    m = mmc_metrics(lam, mu, c)
    assert isinstance(m, MMcMetrics)
    assert m.utilisation == pytest.approx(lam / (c * mu))
    assert m.mean_queue_length == pytest.approx(lam * m.mean_wait_queue, rel=1e-12)
    assert m.mean_number_in_system == pytest.approx(lam * m.mean_time_in_system, rel=1e-12)
    assert m.mean_time_in_system == pytest.approx(m.mean_wait_queue + 1 / mu, rel=1e-12)
    assert m.mean_wait_queue == pytest.approx(m.p_wait / (c * mu - lam), rel=1e-12)


def test_mm1_closed_form() -> None:
    lam, mu = 3.0, 4.0
    rho = lam / mu
    m = mmc_metrics(lam, mu, 1)
    assert m.p_wait == pytest.approx(rho)
    assert m.mean_wait_queue == pytest.approx(rho / (mu - lam))
    assert m.mean_number_in_system == pytest.approx(rho / (1 - rho))


def test_mmc_metrics_is_frozen() -> None:
    m = mmc_metrics(1.0, 1.0, 2)
    with pytest.raises(AttributeError):
        m.p_wait = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(("c", "a"), [(1, 1.0), (1, 1.5), (3, 3.0), (300, 300.0), (2, 1e9)])
def test_erlang_c_rejects_unstable_load(c: int, a: float) -> None:
    with pytest.raises(ValueError, match="unstable"):
        erlang_c(c, a)


@pytest.mark.parametrize(
    ("c", "a"),
    [(0, 0.5), (-1, 0.5), (2.0, 0.5), (True, 0.5), (2, -0.1), (2, math.nan), (2, math.inf)],
)
def test_erlang_c_rejects_invalid_input(c, a) -> None:
    with pytest.raises(ValueError):
        erlang_c(c, a)


@pytest.mark.parametrize(
    ("lam", "mu", "c"), [(3.0, 1.0, 3), (4.0, 1.0, 3), (1.0, 0.0, 1), (-1.0, 1.0, 1)]
)
def test_mmc_metrics_rejects_unstable_or_invalid(lam: float, mu: float, c: int) -> None:
    with pytest.raises(ValueError):
        mmc_metrics(lam, mu, c)


# --------------------------------------------------------------------------- M/M/c/K


@pytest.mark.parametrize(("c", "a"), [(1, 0.5), (2, 2.0), (5, 3.0), (10, 12.5), (200, 180.0)])
def test_mmck_with_k_equal_c_is_erlang_b(c: int, a: float) -> None:
    expected = float(exact_erlang_b(c, Fraction(a)))
    assert mmck_blocking(a * 0.7, 0.7, c, c) == pytest.approx(expected, rel=1e-10)
    assert erlang_b(c, a) == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize(
    ("lam", "mu", "k"),
    [(1.0, 2.0, 1), (1.0, 2.0, 5), (3.0, 2.0, 7), (5.0, 1.0, 20), (0.9, 1.0, 60)],
)
def test_mm1k_closed_form(lam: float, mu: float, k: int) -> None:
    rho = lam / mu
    p_k = (1 - rho) * rho**k / (1 - rho ** (k + 1))
    big_l = rho / (1 - rho) - (k + 1) * rho ** (k + 1) / (1 - rho ** (k + 1))
    p0 = (1 - rho) / (1 - rho ** (k + 1))
    m = mmck_metrics(lam, mu, 1, k)
    assert isinstance(m, MMcKMetrics)
    assert mmck_blocking(lam, mu, 1, k) == pytest.approx(p_k, rel=1e-10)
    assert m.blocking_probability == pytest.approx(p_k, rel=1e-10)
    assert m.mean_number_in_system == pytest.approx(big_l, rel=1e-10)
    assert m.mean_queue_length == pytest.approx(big_l - (1 - p0), rel=1e-10, abs=1e-14)


@pytest.mark.parametrize("k", [1, 4, 30])
def test_mm1k_at_rho_one_is_uniform(k: int) -> None:
    m = mmck_metrics(2.0, 2.0, 1, k)
    assert m.blocking_probability == pytest.approx(1 / (k + 1))
    assert m.mean_number_in_system == pytest.approx(k / 2)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "k"),
    [(2.7, 1.0, 3, 10), (5.0, 1.0, 3, 8), (100.0, 1.0, 90, 120), (1e-3, 1.0, 2, 4)],
)
def test_mmck_littles_law_and_carried_load(lam: float, mu: float, c: int, k: int) -> None:
    m = mmck_metrics(lam, mu, c, k)
    assert m.effective_arrival_rate == pytest.approx(lam * (1 - m.blocking_probability))
    assert m.mean_number_in_system == pytest.approx(
        m.effective_arrival_rate * m.mean_time_in_system, rel=1e-12
    )
    assert m.mean_queue_length == pytest.approx(
        m.effective_arrival_rate * m.mean_wait_queue, rel=1e-12
    )
    # L - Lq is the mean number of busy servers = lambda_eff / mu, so W - Wq = 1/mu.
    assert m.mean_number_in_system - m.mean_queue_length == pytest.approx(
        m.effective_arrival_rate / mu, rel=1e-10
    )
    assert m.mean_time_in_system - m.mean_wait_queue == pytest.approx(1 / mu, rel=1e-9)


def test_mmck_large_capacity_converges_to_mmc() -> None:
    inf = mmc_metrics(2.7, 1.0, 3)
    fin = mmck_metrics(2.7, 1.0, 3, 2000)
    assert fin.blocking_probability < 1e-80
    assert fin.mean_queue_length == pytest.approx(inf.mean_queue_length, rel=1e-9)
    assert fin.mean_wait_queue == pytest.approx(inf.mean_wait_queue, rel=1e-9)


def test_mmck_blocking_and_throughput_increase_with_load() -> None:
    loads = [0.5, 1.0, 2.0, 3.0, 6.0]
    blocking = [mmck_blocking(lam, 1.0, 3, 6) for lam in loads]
    assert blocking == sorted(blocking)
    assert blocking[-1] > blocking[0]


def test_mmck_stable_under_extreme_load() -> None:
    m = mmck_metrics(1e9, 1.0, 400, 5000)
    assert all(
        math.isfinite(x)
        for x in (
            m.blocking_probability,
            m.mean_number_in_system,
            m.mean_queue_length,
            m.effective_arrival_rate,
            m.mean_time_in_system,
            m.mean_wait_queue,
        )
    )
    assert m.blocking_probability == pytest.approx(1.0, abs=1e-6)
    # Every server is busy essentially always: throughput is c * mu.
    assert m.effective_arrival_rate == pytest.approx(400.0, rel=1e-6)
    assert m.mean_number_in_system == pytest.approx(5000, rel=1e-6)


def test_mmck_zero_arrivals() -> None:
    m = mmck_metrics(0.0, 2.0, 2, 5)
    assert m.blocking_probability == 0.0
    assert m.mean_number_in_system == 0.0
    assert m.mean_time_in_system == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("lam", "mu", "c", "k"),
    [
        (1.0, 1.0, 3, 2),
        (1.0, 1.0, 0, 2),
        (1.0, -1.0, 1, 2),
        (-1.0, 1.0, 1, 2),
        (1.0, 1.0, 1, 2.0),
        (math.nan, 1.0, 1, 2),
    ],
)
def test_mmck_rejects_invalid_input(lam, mu, c, k) -> None:
    with pytest.raises(ValueError):
        mmck_blocking(lam, mu, c, k)
    with pytest.raises(ValueError):
        mmck_metrics(lam, mu, c, k)


# --------------------------------------------------------------------------- property


@settings(max_examples=200, deadline=None)
@given(
    c=st.integers(min_value=1, max_value=300),
    f1=st.floats(min_value=0.0, max_value=0.999, allow_nan=False),
    f2=st.floats(min_value=0.0, max_value=0.999, allow_nan=False),
)
def test_erlang_c_is_probability_and_monotone_in_load(c: int, f1: float, f2: float) -> None:
    lo, hi = sorted((f1 * c, f2 * c))
    p_lo, p_hi = erlang_c(c, lo), erlang_c(c, hi)
    assert 0.0 <= p_lo <= 1.0
    assert 0.0 <= p_hi <= 1.0
    assert p_lo <= p_hi * (1 + 1e-12) + 1e-300
    # Waiting is at least as likely as loss in the equivalent loss system.
    assert p_lo >= erlang_b(c, lo) * (1 - 1e-12)


# --------------------------------------------------------------------------- yardstick


def _load_yardstick():
    path = REPO_ROOT / "benchmarks" / "yardstick.py"
    spec = importlib.util.spec_from_file_location("evacsim_bench_yardstick", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plain_simpy_yardstick_agrees_with_erlang_c() -> None:
    # rho = 0.7: across seeds the relative error of the 50k-customer mean wait has
    # a standard deviation of ~5% (measured), so 15% is a ~3-sigma band. At the
    # default rho = 0.9 a 20k-customer run has ~13% sd, too noisy for this check.
    yardstick = _load_yardstick()
    lam, mu, c = 2.1, 1.0, 3
    result = yardstick.run_plain_mmc(
        customers=50_000, servers=c, arrival_rate=lam, service_rate=mu, seed=1
    )
    expected = mmc_metrics(lam, mu, c).mean_wait_queue
    assert result["customers"] == 50_000
    assert result["us_per_customer"] == pytest.approx(result["wall_s"] / 50_000 * 1e6)
    assert result["mean_wait_h"] == pytest.approx(expected, rel=0.15)
