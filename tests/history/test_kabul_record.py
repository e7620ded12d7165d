"""The Kabul baseline against the public record (../shared/data/kabul_2021.md).

Each test is one sourced fact of the data file's "shape" section (20-30 Aug) or of its early
record, checked over the suite's seeds (``conftest.SEEDS``, six replications run once per
session). None of these facts is an input of the scenario, and only the early record and the
two aggregate targets were used to calibrate it (scenarios/kabul_2021.calibration.md): the
shape checks are what the mechanisms must earn. Each docstring gives the fact, its source and
the tolerance, and why that tolerance.

Reporting days run 11:30 to 11:30 Kabul time (the official daily figures); calendar days are
used where the record speaks of a calendar day ("on 25 Aug").
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
from _kabul import (
    departed,
    early_record,
    evacuated_between,
    level_at,
    level_max,
    model_early_record,
)

from evacsim.results.binding import binding_constraints

T = pd.Timestamp


def _mean(values) -> float:
    return float(np.mean(list(values)))


# ----------------------------------------------------------------------- early record


def test_early_record_within_its_stated_uncertainty(kabul_runs):
    """Evacuated to the morning of 20 Aug, US military flights (the US operator) and all
    nations, cumulative and per 24 h [src: White House 17-20 Aug; Taylor 18-20 Aug; NATO to
    Reuters 20 Aug]. Tolerance: the band of each row of scenarios/data/kabul_2021_targets.csv
    (from the source's own wording: "~" +-25 %, ">" up to +50 %, conflicting sources their
    range; the targets the calibration fitted), for the mean over seeds. The 24 h ending
    20 Aug 11:30 is left to the halt test: its sources disagree by a factor of two ("nearly
    6,000" against ~3,000), and the halt falls in it. The count as of 17 Aug evening
    includes US personnel the model does not carry: it may fall 10 % below its band."""
    record = early_record()
    model = np.mean([model_early_record(r) for r in kabul_runs], axis=0)
    misses = []
    for (_, row), m in zip(record.iterrows(), model, strict=True):
        low, high = row["low"], row["high"]
        if row["to"] == T("2021-08-18T02:30"):
            # Known shortfall (README, "How well it reproduces Kabul"): this count includes
            # US embassy personnel, whom the model does not carry; it may fall 10 % short.
            low = 0.9 * low
        if not low <= m <= high and not _is_halt_window(row):
            misses.append(
                f"{row['from']}..{row['to']} {row['operator']}: model {m:,.0f}, "
                f"record {row['low']:,.0f}-{row['high']:,.0f}"
            )
    assert not misses, misses


def _is_halt_window(row) -> bool:
    return not pd.isna(row["from"]) and row["to"] == T("2021-08-20T11:30")


# ----------------------------------------------------------------------- 20 Aug halt


def test_20_aug_halt_staging_full_aircraft_held_and_binding(kabul, kabul_runs):
    """20 Aug: departures halted 6-8 h because Al Udeid was full; resumed as onward flights to
    Ramstein began [src: Reuters 20 Aug; "six to seven", "nearly six", "at least eight"].
    In every seed: Al Udeid reaches its capacity on 20 Aug; a loaded aircraft is held on the
    ramp for at least 3 h and at most 16 h (the record's 6-8 h within a factor of two: the
    hour the onward flights began is an [assumption]); and the binding strip names staging
    on 20 Aug."""
    capacity = kabul.staging["al_udeid"].capacity
    for r in kabul_runs:
        full = level_max(r, "staging:al_udeid", "2021-08-20", "2021-08-21")
        assert full >= 0.95 * capacity, full
        f = departed(r)
        on_20 = f[(f["departed"] >= T("2021-08-20")) & (f["departed"] < T("2021-08-21"))]
        held = on_20["held_for_staging_h"].max()
        assert 3.0 <= held <= 16.0, held
        binding = binding_constraints(r.utilisation, r.flights)
        assert binding.loc[T("2021-08-20"), "binding"] == "staging"


# ----------------------------------------------------------------------- peak and total


def _rolling_24h(r) -> pd.Series:
    hourly = r.evacuated.groupby("time")["people"].sum()
    hourly = hourly.reindex(
        pd.date_range(hourly.index.min(), hourly.index.max(), freq="h"), fill_value=0
    )
    return hourly.rolling(24).sum()


def test_peak_24h_about_21600_on_22_to_25_aug(kabul_runs):
    """Peak 24 h: about 21,600 evacuated on 94 departures, 23-24 Aug, "well after the
    build-up" [src: calibration target; shape section]. Tolerance: the mean peak within
    +-20 % of 21,600; in every seed the peak 24 h window ends between 22 Aug 00:00 and
    26 Aug 00:00 (falls on 22-25 Aug)."""
    peaks = [_rolling_24h(r) for r in kabul_runs]
    mean_peak = _mean(p.max() for p in peaks)
    assert 0.8 * 21_600 <= mean_peak <= 1.2 * 21_600, mean_peak
    for p in peaks:
        assert T("2021-08-22") <= p.idxmax() < T("2021-08-26"), p.idxmax()


def test_total_about_124334(kabul_runs):
    """124,334 evacuated 14-30 Aug on 778 flights [src: Austin, 1 Sep; calibration target].
    Tolerance: mean over seeds within +-10 %."""
    total = _mean(r.kpis["evacuated"] for r in kabul_runs)
    assert 0.9 * 124_334 <= total <= 1.1 * 124_334, total


def test_about_778_flights_387_of_them_us_military(kabul_runs):
    """778 flights out of Kabul 14-30 Aug, 387 of them US military (C-17 and C-130)
    [src: Austin, 1 Sep]. Tolerance: mean departures within +-5 % (flights are schedule
    inputs, drawn per day); US within +-7 %."""
    total = _mean(len(departed(r)) for r in kabul_runs)
    us = _mean((departed(r)["operator"] == "us").sum() for r in kabul_runs)
    assert 0.95 * 778 <= total <= 1.05 * 778, total
    assert 0.93 * 387 <= us <= 1.07 * 387, us


# ----------------------------------------------------------------------- inside and outside


def test_more_than_10000_inside_on_25_aug(kabul_runs):
    """Over 10,000 inside, processed and waiting for a seat, on 25 Aug [src: DoD 25 Aug].
    Tolerance: the most waiting inside on 25 Aug (screened, waiting) is over 10,000 x 0.85
    on average over seeds (a "more than" figure reported once that day)."""
    inside = _mean(level_max(r, "inside_waiting", "2021-08-25", "2021-08-26") for r in kabul_runs)
    assert inside >= 0.85 * 10_000, inside


def test_thousands_outside_on_21_and_26_aug(kabul_runs):
    """Outside: ~14,000 on 21 Aug [src: CNN]; on 26 Aug a crowd of thousands still at Abbey
    Gate when it was bombed (~17:48) [src]: the crowd never ran dry. Tolerance, every seed:
    21 Aug noon between 5,000 and 42,000 (14,000 within a factor of three: a crowd count);
    26 Aug 17:00 (before the bombing) at least 500 (thousands, allowing that the model
    counts groups still trying, not bystanders)."""
    for r in kabul_runs:
        on_21 = level_at(r, "outside", dt.datetime(2021, 8, 21, 12))
        on_26 = level_at(r, "outside", dt.datetime(2021, 8, 26, 17))
        assert 5_000 <= on_21 <= 42_000, on_21
        assert on_26 >= 500, on_26


# ----------------------------------------------------------------------- US citizens


def test_us_citizens_about_1500_to_come_out_on_25_aug_and_100_to_250_left(kabul, kabul_runs):
    """~1,500 US citizens still to come out on 25 Aug; 100-250 who wished to leave were left
    behind [src: State/DoD 25 Aug; 31 Aug]. The pool is those who wished to leave. Tolerance:
    on 25 Aug 12:00, pool minus evacuated within 1,500 +-40 % (mean over seeds); at the end,
    pool minus evacuated between 50 and 500 (100-250 within a factor of two)."""
    pool = kabul.demand["us_citizens"].pool
    still = []
    for r in kabul_runs:
        e = r.evacuated
        us = e[e["category"] == "us_citizens"]
        still.append(pool - us.loc[us["time"] < T("2021-08-25T12:00"), "people"].sum())
    assert 0.6 * 1_500 <= np.mean(still) <= 1.4 * 1_500, still
    left = _mean(pool - r.kpis["evacuated.us_citizens"] for r in kabul_runs)
    assert 50 <= left <= 500, left


# ----------------------------------------------------------------------- UK and Germany


def test_uk_and_german_totals_and_flights(kabul_runs):
    """UK: >15,000 on 165 flights 14-28 Aug; Germany: 5,347 people of 45 nations on 37 A400M
    flights 16-26 Aug [src: UK MoD; Bundeswehr]. Tolerance (means over seeds): UK evacuated
    between 15,000 x 0.9 and 15,000 x 1.3 (">15,000"), UK flights 165 +-10 %; Germany
    evacuated 5,347 +-35 % (its loads depend on who is inside when its aircraft come), its
    flights 37 +-3."""
    uk = _mean(evacuated_between(r, None, "2021-09-01", "uk") for r in kabul_runs)
    uk_flights = _mean((departed(r)["operator"] == "uk").sum() for r in kabul_runs)
    de = _mean(evacuated_between(r, None, "2021-09-01", "germany") for r in kabul_runs)
    de_flights = _mean((departed(r)["operator"] == "germany").sum() for r in kabul_runs)
    assert 0.9 * 15_000 <= uk <= 1.3 * 15_000, uk
    assert 0.9 * 165 <= uk_flights <= 1.1 * 165, uk_flights
    assert 0.65 * 5_347 <= de <= 1.35 * 5_347, de
    assert 34 <= de_flights <= 40, de_flights


# ----------------------------------------------------------------------- retrograde


def test_loads_fall_over_the_last_three_days(kabul_runs):
    """Loads per flight fell sharply over the last three days as aircraft carried troops and
    equipment out (retrograde) [src: shape section]. Tolerance: the mean evacuees per
    departing flight (over seeds) falls from 28 to 29 to 30 Aug (calendar days), and on
    30 Aug is under half the mean load of 22-26 Aug."""
    loads = []
    for r in kabul_runs:
        f = departed(r)
        f = f[f["seats"] > 0]
        loads.append(f.groupby(f["departed"].dt.normalize())["boarded"].mean())
    mean = pd.concat(loads, axis=1).fillna(0.0).mean(axis=1)
    last = [mean.get(T(f"2021-08-{d}"), 0.0) for d in (28, 29, 30)]
    busy = mean[(mean.index >= T("2021-08-22")) & (mean.index <= T("2021-08-26"))].mean()
    assert last[0] > last[1] > last[2], last
    assert last[2] < 0.5 * busy, (last, busy)


def test_no_day_near_zero_while_people_wait_and_seats_fly_empty(kabul_runs):
    """The issue's failure: near-zero days while people waited outside and aircraft flew out
    empty. In every seed, from 20 to 29 Aug, no calendar day evacuates under 1,000 people
    while more than 1,000 wait outside and departing seats are under half used."""
    for r in kabul_runs:
        f = departed(r)
        f = f[f["seats"] > 0]
        day = f["departed"].dt.normalize()
        evacuated = f.groupby(day)["boarded"].sum()
        used = (f["boarded"] + f["troops_out"]).groupby(day).sum() / f["seats"].groupby(day).sum()
        for d in pd.date_range("2021-08-20", "2021-08-29"):
            outside = level_at(r, "outside", d + pd.Timedelta(hours=12))
            near_zero = evacuated.get(d, 0) < 1_000
            assert not (near_zero and outside > 1_000 and used.get(d, 0.0) < 0.5), d
