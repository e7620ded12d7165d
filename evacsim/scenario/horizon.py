"""Moving the deadline: what lies past it is dropped with a warning, not refused.

A planner who asks "what if we had to stop two days earlier?" writes
``--set deadline=2021-08-27T00:00`` on a scenario built for a later deadline. Every profile
step, troop movement, flight schedule and event dated after the new deadline could never
take effect; refusing the file for each of them (as the reference checks would) makes the
question unaskable. Instead, before validation, :func:`drop_past_deadline` removes them from
the resolved data and says so, one ``warning:`` line per item, naming the item's own path
and line:

* a step of a profile (``arrivals_per_day``, ``screening.lanes``, a schedule's ``per_day``)
  at or after the deadline;
* a flight schedule whose ``from`` is at or after the deadline;
* a troop deployment or withdrawal that begins after the deadline (one that begins before
  and ends after it is kept, with a warning: what is due after the deadline never happens);
* a gate's ``open_from`` or ``closed_from`` after the deadline (the gate never opens in the
  run, or never closes in it);
* a timeline event dated after the deadline;
* a step of an assembly point's arrivals, or a convoy departure, at or after the deadline
  (a convoy left with no departure is dropped).

Only *after the deadline* is forgiven: a time before ``start``, or a step outside its own
schedule's window, is still an error. When the deadline is uncertain (a range of dates),
the latest date it may take is the one used here; a replication that draws an earlier one
simply stops there, with what is past it never happening.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from .diagnostics import Finding, norm_key
from .units import parse_timestamp

__all__ = ["drop_past_deadline", "latest_deadline"]


def _time(value: Any) -> dt.datetime | None:
    """A date-time as written, or None if it is not one (reported by validation)."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return parse_timestamp(value)
    except (ValueError, TypeError):
        return None


def latest_deadline(data: Any) -> dt.datetime | None:
    """The latest time the scenario's deadline may take (None if it cannot be read).

    A fixed deadline is itself; an uncertain one (``{dist: uniform, low: ..., high: ...}``)
    is its ``high``.
    """
    if not isinstance(data, dict):
        return None
    value = data.get("deadline")
    if isinstance(value, dict):
        return _time(value.get("high"))
    return _time(value)


def _fmt(when: dt.datetime) -> str:
    return norm_key(when)


def drop_past_deadline(data: Any) -> tuple[Any, list[Finding]]:
    """``data`` without what lies past the deadline, and one warning per item dropped.

    ``data`` is a resolved scenario mapping (plain YAML values, before validation); it is
    not modified. Returns it unchanged, with no findings, when the deadline or start cannot
    be read (validation reports why) or nothing lies past the deadline.
    """
    deadline = latest_deadline(data)
    start = _time(data.get("start")) if isinstance(data, dict) else None
    if deadline is None or start is None or deadline <= start:
        return data, []
    out = dict(data)
    found: list[Finding] = []
    when = _fmt(deadline)

    def warn(parts: tuple[str, ...], message: str) -> None:
        found.append(Finding(parts, message))

    def drop_steps(parts: tuple[str, ...], profile: Any) -> Any:
        """A step profile without its keys at or after the deadline."""
        if not isinstance(profile, dict):
            return profile
        kept = {}
        for key, value in profile.items():
            at = _time(key)
            if at is not None and at >= deadline:
                warn(
                    (*parts, norm_key(key)),
                    f"step at {_fmt(at)} is not before the deadline {when}: dropped",
                )
            else:
                kept[key] = value
        return kept if len(kept) < len(profile) else profile

    def table(name: str, owner: dict) -> dict | None:
        value = owner.get(name)
        return dict(value) if isinstance(value, dict) else None

    def entry(value: Any) -> dict | None:
        return dict(value) if isinstance(value, dict) else None

    # Arrivals by category.
    demand = table("demand", out)
    if demand is not None:
        for key, cat in demand.items():
            cat = entry(cat)
            if cat is not None and "arrivals_per_day" in cat:
                parts = ("demand", norm_key(key), "arrivals_per_day")
                cat["arrivals_per_day"] = drop_steps(parts, cat["arrivals_per_day"])
                demand[key] = cat
        out["demand"] = demand

    # Screening lanes.
    screening = entry(out.get("screening"))
    if screening is not None and "lanes" in screening:
        screening["lanes"] = drop_steps(("screening", "lanes"), screening["lanes"])
        out["screening"] = screening

    # Gates that open or close for good after the deadline.
    gates = table("gates", out)
    if gates is not None:
        for key, gate in gates.items():
            gate = entry(gate)
            if gate is None:
                continue
            closes = _time(gate.get("closed_from"))
            if closes is not None and closes > deadline:
                warn(
                    ("gates", norm_key(key), "closed_from"),
                    f"{_fmt(closes)} is after the deadline {when}: dropped "
                    "(the gate stays open to the end)",
                )
                del gate["closed_from"]
            opens = _time(gate.get("open_from"))
            if opens is not None and opens > deadline:
                warn(
                    ("gates", norm_key(key), "open_from"),
                    f"{_fmt(opens)} is after the deadline {when}: the gate never opens in the run",
                )
                gate["open_from"] = deadline
            gates[key] = gate
        out["gates"] = gates

    # Flight schedules: those beginning after the deadline go; steps after it go.
    flights = table("flights", out)
    if flights is not None:
        for key in list(flights):
            fl = entry(flights[key])
            if fl is None:
                continue
            begins = _time(fl.get("from"))
            if begins is not None and begins >= deadline:
                warn(
                    ("flights", norm_key(key), "from"),
                    f"the schedule begins at {_fmt(begins)}, not before the deadline {when}: "
                    "dropped",
                )
                del flights[key]
                continue
            if "per_day" in fl:
                fl["per_day"] = drop_steps(("flights", norm_key(key), "per_day"), fl["per_day"])
            times = fl.get("timetable")
            if isinstance(times, list):
                kept = []
                for i, value in enumerate(times):
                    at = _time(value)
                    if at is not None and at >= deadline:
                        warn(
                            ("flights", norm_key(key), "timetable", str(i)),
                            f"flight at {_fmt(at)} is not before the deadline {when}: dropped",
                        )
                    else:
                        kept.append(value)
                if not kept and times:
                    del flights[key]  # every flight of the timetable was after the deadline
                    continue
                fl["timetable"] = kept
            flights[key] = fl
        out["flights"] = flights

    # Troop movements: dropped when they begin after the deadline, kept (with a warning)
    # when they straddle it.
    forces = entry(out.get("forces"))
    if forces is not None:
        for kind in ("deployments", "withdrawals"):
            moves = table(kind, forces)
            if moves is None:
                continue
            for key in list(moves):
                move = moves[key]
                if not isinstance(move, dict):
                    continue
                begins, ends = _time(move.get("from")), _time(move.get("to"))
                parts = ("forces", kind, norm_key(key))
                if begins is not None and begins > deadline:
                    warn(
                        (*parts, "from"),
                        f"begins at {_fmt(begins)}, after the deadline {when}: dropped",
                    )
                    del moves[key]
                elif ends is not None and ends > deadline:
                    warn(
                        (*parts, "to"),
                        f"ends at {_fmt(ends)}, after the deadline {when}: what is due after "
                        "the deadline never happens",
                    )
            forces[kind] = moves
        out["forces"] = forces

    # Assembly points' arrival steps, and convoy departures.
    points = table("assembly_points", out)
    if points is not None:
        for key, point in points.items():
            point = entry(point)
            rates = entry(point.get("arrivals_per_day")) if point is not None else None
            if rates is None:
                continue
            for cat in rates:
                parts = ("assembly_points", norm_key(key), "arrivals_per_day", norm_key(cat))
                rates[cat] = drop_steps(parts, rates[cat])
            point["arrivals_per_day"] = rates
            points[key] = point
        out["assembly_points"] = points
    convoys = table("convoys", out)
    if convoys is not None:
        for key in list(convoys):
            convoy = entry(convoys[key])
            if convoy is None:
                continue
            first = _time(convoy.get("first"))
            if first is not None and first >= deadline:
                warn(
                    ("convoys", norm_key(key), "first"),
                    f"{_fmt(first)} is not before the deadline {when}: dropped "
                    "(no departure by interval)",
                )
                del convoy["first"]
                convoy["every"] = None
            times = convoy.get("departures")
            if isinstance(times, list):
                kept = []
                for i, value in enumerate(times):
                    at = _time(value)
                    if at is not None and at >= deadline:
                        warn(
                            ("convoys", norm_key(key), "departures", str(i)),
                            f"{_fmt(at)} is not before the deadline {when}: dropped",
                        )
                    else:
                        kept.append(value)
                convoy["departures"] = kept
            if not convoy.get("departures") and convoy.get("every") is None:
                del convoys[key]  # nothing left of it (each departure was warned about)
            else:
                convoys[key] = convoy
        out["convoys"] = convoys

    # Timeline events.
    events = table("events", out)
    if events is not None:
        for key in list(events):
            ev = events[key]
            at = _time(ev.get("at")) if isinstance(ev, dict) else None
            if at is not None and at > deadline:
                warn(
                    ("events", norm_key(key), "at"),
                    f"{_fmt(at)} is after the deadline {when}: dropped",
                )
                del events[key]
        out["events"] = events

    return (out, found) if found else (data, [])
