"""Units at the boundary: durations and timestamps written by people, hours inside.

The simulation clock runs in **hours** from the scenario's ``start``. Scenario files are
written the way planners speak: ``45min``, ``2h``, ``1.5d``, ``2021-08-16T18:00``. The
scenario loader converts them with the functions here; components never parse strings.
"""

from __future__ import annotations

import datetime as dt
import math
import re

__all__ = [
    "HOURS_PER_DAY",
    "format_clock",
    "format_duration",
    "hours_between",
    "parse_clock",
    "parse_duration",
    "parse_timestamp",
]

HOURS_PER_DAY = 24.0

_DURATION_UNITS_H = {
    "s": 1 / 3600,
    "sec": 1 / 3600,
    "min": 1 / 60,
    "m": 1 / 60,
    "h": 1.0,
    "hr": 1.0,
    "d": 24.0,
    "day": 24.0,
    "days": 24.0,
    "w": 168.0,
}
_DURATION_RE = re.compile(r"^\s*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*([a-zA-Z]+)\s*$")


def parse_duration(value: object) -> float:
    """Return a duration in hours.

    Accepts a string with a unit (``"45min"``, ``"2h"``, ``"1.5d"``, ``"30s"``, ``"1w"``),
    a :class:`datetime.timedelta`, or the number ``0``. Any other bare number is refused:
    a number without a unit is the commonest silent mistake in hand-written scenarios.
    """
    if isinstance(value, bool):
        raise ValueError("expected a duration with a unit, e.g. '45min', '2h', '1.5d'")
    if isinstance(value, dt.timedelta):
        return value.total_seconds() / 3600.0
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"{value} is not a finite duration (expected e.g. '45min', '2h')")
        if value == 0:
            return 0.0
        raise ValueError(
            f"a bare number ({value}) is ambiguous: write the unit, e.g. '{value}h' or '{value}min'"
        )
    if not isinstance(value, str):
        raise ValueError("expected a duration with a unit, e.g. '45min', '2h', '1.5d'")
    match = _DURATION_RE.match(value)
    if not match:
        raise ValueError(
            f"'{value}' is not a duration "
            "(expected a number and a unit, e.g. '45min', '2h', '1.5d')"
        )
    number, unit = match.groups()
    factor = _DURATION_UNITS_H.get(unit.lower())
    if factor is None:
        units = ", ".join(sorted(_DURATION_UNITS_H))
        raise ValueError(f"'{value}' has an unknown unit '{unit}' (expected one of: {units})")
    hours = float(number) * factor
    if not math.isfinite(hours):
        raise ValueError(f"'{value}' is not a finite duration")
    return hours


def parse_timestamp(value: object) -> dt.datetime:
    """Return a naive local :class:`datetime.datetime` from ``2021-08-16T18:00`` or a date.

    Scenario times are local wall-clock times at the airport (no time zone arithmetic:
    one scenario, one clock). A bare date means midnight at its start.
    """
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                f"'{value}' is not a date-time (expected e.g. '2021-08-16T18:00' or '2021-08-16')"
            ) from None
        return parsed.replace(tzinfo=None)
    raise ValueError("expected a date-time such as '2021-08-16T18:00' or a date '2021-08-16'")


def hours_between(start: dt.datetime, when: dt.datetime) -> float:
    """Hours from ``start`` to ``when`` (negative if ``when`` is earlier)."""
    return (when - start).total_seconds() / 3600.0


def format_duration(hours: float) -> str:
    """The inverse of :func:`parse_duration`: a readable unit that parses back exactly."""
    if hours == 0:
        return "0h"
    candidates = []
    minutes = hours * 60
    if abs(minutes) < 60 and float(minutes).is_integer():
        candidates.append(f"{int(minutes)}min")
    if abs(hours) >= 48 and float(hours / 24).is_integer():
        candidates.append(f"{int(hours // 24)}d")
    candidates += [f"{hours:g}h", f"{hours!r}h"]
    for text in candidates:
        if parse_duration(text) == hours:
            return text
    return f"{hours!r}h"  # pragma: no cover - repr always round-trips


_CLOCK_RE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def parse_clock(value: object) -> float:
    """Return a time of day as hours since midnight, in [0, 24), from ``"HH:MM"``.

    Whole minutes only: a reporting day or a shift starts on a clock's minute (and every time
    zone's offset is a whole number of minutes). A :class:`datetime.time` is accepted too.
    """
    if isinstance(value, dt.time):
        if value.second or value.microsecond:
            raise ValueError(f"'{value}' has seconds (expected a time in whole minutes, 'HH:MM')")
        return value.hour + value.minute / 60.0
    if isinstance(value, bool) or not isinstance(value, str):
        raise ValueError(
            f"{value!r} is not a time of day (expected 'HH:MM' in quotes, e.g. '11:30')"
        )
    match = _CLOCK_RE.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a time of day (expected 'HH:MM', e.g. '11:30')")
    hh, mm = int(match.group(1)), int(match.group(2))
    if hh > 23 or mm > 59:
        raise ValueError(f"'{value}' is not a time of day (expected 00:00 to 23:59)")
    return hh + mm / 60.0


def format_clock(hours: float | str) -> str:
    """The inverse of :func:`parse_clock`: ``"HH:MM"`` for hours since midnight."""
    if isinstance(hours, str):  # a default as written (JSON Schema shows it through here)
        hours = parse_clock(hours)
    minutes = round(hours * 60)
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
