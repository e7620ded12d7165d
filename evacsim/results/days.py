"""Reporting days: the one definition of "a day" that every daily table and chart uses.

Official figures are often kept over a day that does not start at midnight (Kabul 2021:
03:00 EDT to 03:00 EDT, that is 11:30 to 11:30 at the airport). A scenario says when its
reporting day starts (``reporting_day_starts``, local time, default ``00:00``), and every
table that says "day" counts with it: ``evacuated_daily``, ``utilisation``, the binding strip,
the experiments' daily bands, ``backtest`` and the report's charts.

**Labels.** A reporting day is labelled by the calendar date on which it **starts**: with
``11:30``, the day from 23 Aug 11:30 to 24 Aug 11:30 is "23 Aug". Three reasons: with the
default ``00:00`` the label is the plain calendar date, so nothing changes for scenarios that
do not set the field; most of the day's hours fall on that date for any start before noon; and
it is how the record writes them (the 24 h ending 20 Aug 03:00 EDT are "19 Aug" in
kabul_2021.md). The run's first and last reporting days may be partial (a run starting
14 Aug 00:00 with days from 11:30 has a first day "13 Aug" of 11.5 h).

**Counts** (people evacuated, flights departed) are placed in the day of their exact time, to
the minute. **Levels** (busy hours, people waiting) are kept in hourly bins; an hour in which a
reporting day starts is shared between its two days in proportion to time (exact when the
level is steady within that hour; the daily totals always add up to the run's).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from evacsim.scenario.units import parse_clock

__all__ = ["day_label", "day_starts_h", "end_of_day_hours", "hour_weights", "reporting_days"]


def day_starts_h(resolved_scenario: dict | None) -> float:
    """When a reporting day starts (hours after midnight) for a scenario written out as in a
    run's provenance (``resolved_scenario``); midnight if it does not say."""
    value = (resolved_scenario or {}).get("reporting_day_starts")
    return 0.0 if value is None else parse_clock(value)


def _shift(starts_h: float) -> pd.Timedelta:
    return pd.Timedelta(minutes=round(starts_h * 60))


def day_label(times: pd.Series | pd.DatetimeIndex, starts_h: float):
    """The reporting day of each time: the date (midnight) on which its day started.

    ``starts_h``: when a reporting day starts (hours after local midnight, 0-24). NaT stays NaT.
    """
    shifted = pd.to_datetime(times) - _shift(starts_h)
    # One unit for every label (the tables' hourly grid is in microseconds).
    if isinstance(shifted, pd.Series):
        return shifted.dt.floor("D").astype("datetime64[us]")
    return shifted.floor("D").astype("datetime64[us]")


def reporting_days(start: dt.datetime, end: dt.datetime, starts_h: float) -> pd.DatetimeIndex:
    """Labels of the reporting days that overlap ``[start, end)``, in order."""
    first = day_label(pd.DatetimeIndex([start]), starts_h)[0]
    last = day_label(
        pd.DatetimeIndex([pd.Timestamp(end) - pd.Timedelta(microseconds=1)]), starts_h
    )[0]
    return pd.date_range(first, max(first, last), freq="D")


def hour_weights(hours: pd.DatetimeIndex, starts_h: float) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """How each hourly bin splits between reporting days.

    ``hours``: the start of each one-hour bin. Returns the day labels and a matrix ``W``
    (days x hours) whose column ``h`` holds the share of hour ``h`` that falls in each day
    (each column sums to 1), so that ``W @ hourly`` gives daily totals of a time-weighted
    quantity (busy hours, capacity hours).
    """
    n = len(hours)
    if n == 0:
        return pd.DatetimeIndex([]), np.zeros((0, 0))
    days = reporting_days(hours[0], hours[-1] + pd.Timedelta(hours=1), starts_h)
    first = day_label(hours, starts_h)
    row = ((first - days[0]) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)
    # The next day starts at label + 1 day + starts_h: the hour's share before that stays.
    next_start = first + pd.Timedelta(days=1) + _shift(starts_h)
    before = ((next_start - hours) / pd.Timedelta(hours=1)).to_numpy(dtype=float)
    share = np.clip(before, 0.0, 1.0)
    weights = np.zeros((len(days), n))
    cols = np.arange(n)
    weights[row, cols] = share
    spill = share < 1.0
    weights[row[spill] + 1, cols[spill]] = 1.0 - share[spill]
    return days, weights


def end_of_day_hours(hours: pd.Series | pd.DatetimeIndex, starts_h: float):
    """For each hourly bin (by its start), the reporting day its **end** belongs to.

    A level read at the end of a bin (people waiting) describes the day in which that instant
    falls; an instant exactly at a day's start closes the previous day. The last bin ending in
    a day gives that day's end-of-day level (to within the hour when days start mid-hour).
    """
    ends = pd.to_datetime(hours) + (pd.Timedelta(hours=1) - pd.Timedelta(microseconds=1))
    return day_label(ends, starts_h)
