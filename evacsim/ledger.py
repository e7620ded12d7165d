"""The ledger: where every arrived person is, and the statistics of their moves.

Every change of stage of every group goes through :meth:`Ledger.move`. That one place keeps
the head-count per stage and category, the time-weighted backlog per stage, the waiting-time
tallies and (optionally) one record per group, so that conservation can be checked against
the components' own queues at the end of a run.
"""

from __future__ import annotations

from typing import NamedTuple

import simpy

from .demand import Group, Stage
from .monitor import Level, Tally

__all__ = ["GroupRecord", "Ledger", "Signal", "WAIT_STAGES"]

# Stages whose head-count is a backlog level over time.
BACKLOG_STAGES = (Stage.OUTSIDE, Stage.SCREENING, Stage.INSIDE, Stage.ABOARD)
# Waiting-time tallies, each measured on entry to a stage.
WAIT_STAGES = ("outside", "screening_queue", "screening", "inside", "total")


class GroupRecord(NamedTuple):
    """One group's journey (hours since start; NaN where it never got that far)."""

    gid: int
    category: str
    size: int
    t_arrive: float
    t_gate: float
    t_screened: float
    t_board: float
    t_depart: float
    returns: int
    final_stage: str
    flight: int


class Signal:
    """A broadcast wake-up: processes ``yield signal.wait()``; ``fire()`` wakes them all."""

    __slots__ = ("_env", "_event")

    def __init__(self, env: simpy.Environment):
        self._env = env
        self._event: simpy.Event | None = None

    def wait(self) -> simpy.Event:
        if self._event is None:
            self._event = self._env.event()
        return self._event

    def fire(self) -> None:
        event = self._event
        if event is not None:
            self._event = None
            event.succeed()


class Ledger:
    """Head-counts, backlog levels, waiting-time tallies and group records of one run."""

    def __init__(self, categories: list[str], horizon_h: float, keep_records: bool):
        self.categories = categories
        n = len(categories)
        self.horizon_h = horizon_h
        self.people = [[0] * n for _ in Stage]  # people[stage][cat], current head-count
        self.arrived = [0] * n  # first arrivals (people); returns are not new arrivals
        self.groups_arrived = [0] * n
        self.returned = [0] * n  # people who came back after giving up
        self.inside_total = 0  # people in SCREENING + INSIDE, for the holding capacity
        self.backlog = {stage: [Level(horizon_h) for _ in categories] for stage in BACKLOG_STAGES}
        self.waits = {name: [Tally(horizon_h) for _ in categories] for name in WAIT_STAGES}
        self.keep_records = keep_records
        self.records: list[GroupRecord] = []
        self.flow_evacuated_h = Level(horizon_h)  # cumulative evacuated (people), by hour

    def arrive(self, group: Group, t: float) -> None:
        """A group reaches the perimeter for the first time."""
        c = group.cat
        self.arrived[c] += group.size
        self.groups_arrived[c] += 1
        self.people[Stage.OUTSIDE][c] += group.size
        self.backlog[Stage.OUTSIDE][c].change(t, group.size)

    def move(self, group: Group, stage: Stage, t: float) -> None:
        """Move ``group`` to ``stage`` at time ``t`` and record what that move means."""
        c, size, old = group.cat, group.size, group.stage
        people = self.people
        people[old][c] -= size
        people[stage][c] += size
        if old in self.backlog:
            self.backlog[old][c].change(t, -size)
        if stage in self.backlog:
            self.backlog[stage][c].change(t, size)
        group.stage = stage
        if stage == Stage.SCREENING:
            group.t_gate = t
            self.inside_total += size
            self.waits["outside"][c].add(t - group.t_arrive, size)
        elif stage == Stage.INSIDE:
            group.t_screened = t
            self.waits["screening_queue"][c].add(group.t_screen - group.t_gate, size)
            self.waits["screening"][c].add(t - group.t_gate, size)
        elif stage == Stage.ABOARD:
            group.t_board = t
            self.inside_total -= size
            self.waits["inside"][c].add(t - group.t_screened, size)
        elif stage == Stage.EVACUATED:
            group.t_depart = t
            self.waits["total"][c].add(t - group.t_arrive, size)
            self.flow_evacuated_h.change(t, size)
            self._record(group)
        elif stage == Stage.TURNED_AWAY:
            group.t_screened = t
            self.inside_total -= size
            self.waits["screening_queue"][c].add(group.t_screen - group.t_gate, size)
            self.waits["screening"][c].add(t - group.t_gate, size)
            self._record(group)
        elif stage == Stage.OUTSIDE:  # came back after giving up
            group.returns += 1
            self.returned[c] += size

    def _record(self, group: Group) -> None:
        if self.keep_records:
            self.records.append(
                GroupRecord(
                    group.gid,
                    self.categories[group.cat],
                    group.size,
                    group.t_arrive,
                    group.t_gate,
                    group.t_screened,
                    group.t_board,
                    group.t_depart,
                    group.returns,
                    group.stage.name.lower(),
                    group.flight,
                )
            )

    def close(self, still_present: list[Group]) -> None:
        """At the deadline: record the groups that never finished (if records are kept)."""
        for group in still_present:
            self._record(group)

    def total(self, stage: Stage) -> int:
        return sum(self.people[stage])
