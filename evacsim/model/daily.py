"""Time-of-day rules: a daily window of clock hours, possibly across midnight.

One class answers every time-of-day question the model asks, so gates' opening hours,
categories' arrival windows and the runway's flying hours follow the same arithmetic:

* is the window open at simulation time ``t``, and if not, when does it next open?
* when does the open spell that contains ``t`` end?
* where does a time drawn over a whole day fall when the day's arrivals are squeezed into the
  window (a time change: a Poisson process stays a Poisson process, with the day's rate
  concentrated in the window)?
* which intervals of the run is it shut (for the runway's closures)?

Simulation time is hours since the scenario's start; the window is in clock hours (since
local midnight), so the start's own clock time (``offset_h``) is added before any daily
arithmetic. A window ``[open, close]`` with ``close < open`` runs across midnight
(``[20h, 6h]``: from 20:00 to 06:00 the next morning).
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np

__all__ = ["EPS_H", "DailyHours", "clock_offset_h"]

EPS_H = 1e-9
"""Times within this of a closing time count as closed (h): passage times accumulate in
floating point (6 + 600 x 0.02 h is a hair below 18 h)."""


def clock_offset_h(start: dt.datetime) -> float:
    """The clock time of ``start`` (h since its local midnight)."""
    return start.hour + start.minute / 60 + (start.second + start.microsecond / 1e6) / 3600


class DailyHours:
    """A daily window ``[open_h, close_h)`` of clock hours; ``close_h < open_h`` crosses
    midnight. ``offset_h`` is the clock time at simulation time 0."""

    __slots__ = ("close_h", "crosses", "length_h", "offset_h", "open_h")

    def __init__(self, open_h: float, close_h: float, offset_h: float = 0.0):
        self.open_h = open_h
        self.close_h = close_h
        self.offset_h = offset_h
        self.crosses = close_h < open_h
        self.length_h = close_h - open_h + (24.0 if self.crosses else 0.0)

    def next_open(self, t: float) -> float:
        """``t`` if the window is open at ``t``, else the time it next opens (h)."""
        x = t + self.offset_h
        day = math.floor(x / 24.0)
        clock = x - 24.0 * day
        o, c = self.open_h, self.close_h
        if not self.crosses:
            if clock < o:
                return 24.0 * day + o - self.offset_h
            if clock >= c - EPS_H:
                return 24.0 * (day + 1) + o - self.offset_h
            return t
        if c - EPS_H <= clock < o:  # across midnight: shut between close and open
            return 24.0 * day + o - self.offset_h
        return t

    def shut_at(self, t: float) -> float:
        """When the open spell containing ``t`` ends (h); ``t`` must be open."""
        x = t + self.offset_h
        day = math.floor(x / 24.0)
        if self.crosses and x - 24.0 * day >= self.open_h:
            day += 1  # opened this evening, shuts tomorrow morning
        return 24.0 * day + self.close_h - self.offset_h

    def squeeze(self, t: np.ndarray) -> np.ndarray:
        """Times drawn over whole days, moved into the window of their day (h), in order.

        A time at a share ``f`` of its clock day goes to ``open + f * length`` of that day:
        the day's arrivals come, in the same order, while the window is open.
        """
        x = np.asarray(t, dtype=float) + self.offset_h
        day = np.floor(x / 24.0)
        share = (x - 24.0 * day) / 24.0
        return 24.0 * day + self.open_h + share * self.length_h - self.offset_h

    def shut_intervals(self, horizon_h: float) -> list[tuple[float, float]]:
        """The intervals of ``[0, horizon_h)`` when the window is shut (h), in order."""
        shut = []
        first = math.floor(self.offset_h / 24.0) - 1
        last = math.floor((horizon_h + self.offset_h) / 24.0) + 1
        for day in range(first, last + 1):
            begin = 24.0 * day + self.open_h + self.length_h - self.offset_h
            end = 24.0 * (day + 1) + self.open_h - self.offset_h
            begin, end = max(begin, 0.0), min(end, horizon_h)
            if end > begin:
                shut.append((begin, end))
        return shut

    def open_hours_of_day(self) -> list[tuple[float, float]]:
        """The window as clock intervals within one day ([open, close), or two across midnight)."""
        if not self.crosses:
            return [(self.open_h, self.close_h)]
        return [(0.0, self.close_h), (self.open_h, 24.0)]
