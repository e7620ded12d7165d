"""The ledger: where every arrived person is, and the statistics of their moves.

Every change of stage of every group goes through :meth:`Ledger.move`. That one place keeps
the head-count per stage and category, the time-weighted backlog per stage, the waiting-time
tallies and (optionally) one record per group, so that conservation can be checked against
the components' own queues at the end of a run.
"""

from __future__ import annotations

from typing import NamedTuple

import simpy

from .demand import ABOARD, EVACUATED, INSIDE, OUTSIDE, SCREENING, TURNED_AWAY, Group, Stage
from .monitor import LevelBank, TallyBank

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
        self.keep_records = keep_records
        self.records: list[GroupRecord] = []
        # Levels and tallies are banks: a move appends small tuples, numpy bins them in bulk.
        self._levels = LevelBank(len(BACKLOG_STAGES) * n, horizon_h)
        self._level_base = [-1] * len(Stage)  # first series of a stage, -1 if not a backlog
        for i, stage in enumerate(BACKLOG_STAGES):
            self._level_base[stage] = i * n
        self._tallies = TallyBank(len(WAIT_STAGES) * n, horizon_h)
        self._n = n

    @property
    def backlog(self) -> dict[Stage, list]:
        """Backlog levels by stage, one per category (read like :class:`Level`)."""
        n = self._n
        return {
            stage: [self._levels.series(i * n + c) for c in range(n)]
            for i, stage in enumerate(BACKLOG_STAGES)
        }

    @property
    def waits(self) -> dict[str, list]:
        """Waiting-time tallies by stage name, one per category (read like :class:`Tally`)."""
        n = self._n
        return {
            name: [self._tallies.tally(i * n + c) for c in range(n)]
            for i, name in enumerate(WAIT_STAGES)
        }

    def arrive(self, group: Group, t: float) -> None:
        """A group reaches the perimeter for the first time."""
        c = group.cat
        self.arrived[c] += group.size
        self.groups_arrived[c] += 1
        self.people[OUTSIDE][c] += group.size
        self._levels.buffer.append((c, t, group.size))  # OUTSIDE is the first backlog stage

    def move(self, group: Group, stage: int, t: float) -> None:
        """Move ``group`` to ``stage`` at time ``t`` and record what that move means."""
        c, size, old = group.cat, group.size, group.stage
        people = self.people
        people[old][c] -= size
        people[stage][c] += size
        group.stage = stage
        levels = self._levels.buffer
        base = self._level_base
        if base[old] >= 0:
            levels.append((base[old] + c, t, -size))
        if base[stage] >= 0:
            levels.append((base[stage] + c, t, size))
        tallies = self._tallies.buffer
        n = self._n
        if stage == SCREENING:
            group.t_gate = t
            self.inside_total += size
            tallies.append((c, t - group.t_arrive, size))  # outside
        elif stage in (INSIDE, TURNED_AWAY):
            group.t_screened = t
            tallies.append((n + c, group.t_screen - group.t_gate, size))  # screening_queue
            tallies.append((2 * n + c, t - group.t_gate, size))  # screening
            if stage == TURNED_AWAY:
                self.inside_total -= size
                self._record(group)
        elif stage == ABOARD:
            group.t_board = t
            self.inside_total -= size
            tallies.append((3 * n + c, t - group.t_screened, size))  # inside
        elif stage == EVACUATED:
            group.t_depart = t
            tallies.append((4 * n + c, t - group.t_arrive, size))  # total
            self._record(group)
        elif stage == OUTSIDE:  # came back after giving up
            group.returns += 1
            self.returned[c] += size
        if len(levels) > 65536:
            self._levels.flush()
        if len(tallies) > 65536:
            self._tallies.flush()

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
                    Stage(group.stage).name.lower(),
                    group.flight,
                )
            )

    def close(self, still_present: list[Group]) -> None:
        """At the deadline: record the groups that never finished (if records are kept)."""
        for group in still_present:
            self._record(group)

    def total(self, stage: Stage) -> int:
        return sum(self.people[stage])
