"""The ledger: where every arrived person is, and the statistics of their moves.

Every change of stage of every group goes through :meth:`Ledger.move`. That one place keeps
the head-count per stage and category, the time-weighted backlog per stage, the waiting-time
tallies and (optionally) one record per group, so that conservation can be checked against
the components' own queues at the end of a run.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
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


# Which waiting-time tallies a move into each stage feeds: (first value's, second value's).
_TALLIES_ON_ENTRY = {
    SCREENING: (0, -1),  # outside: gate - arrival
    INSIDE: (1, 2),  # screening_queue: start - gate; screening: screened - gate
    TURNED_AWAY: (1, 2),
    ABOARD: (3, -1),  # inside: boarded - screened
    EVACUATED: (4, -1),  # total: departed - arrival
}
_NOT_ARRIVED = len(Stage)  # the "stage" a first arrival comes from


class Ledger:
    """Head-counts, backlog levels, waiting-time tallies and group records of one run.

    The hot path, :meth:`move`, keeps the head-counts exact at once and appends one tuple
    per move to a bounded buffer; :meth:`flush` turns the buffer into backlog levels and
    waiting-time tallies with a few numpy calls (order-independent bins, see
    :mod:`evacsim.monitor`).
    """

    FLUSH_AT = 1 << 16  # moves buffered before they are binned

    def __init__(self, categories: list[str], horizon_h: float, keep_records: bool):
        self.categories = categories
        n = len(categories)
        self.horizon_h = horizon_h
        self.people = [[0] * n for _ in Stage]  # people[stage][cat], current head-count
        self.arrived = [0] * n  # first arrivals (people); returns are not new arrivals
        self.inside_total = 0  # people in SCREENING + INSIDE, for the holding capacity
        self.keep_records = keep_records
        self.records: list[GroupRecord] = []
        self._n = n
        self._levels = LevelBank(len(BACKLOG_STAGES) * n, horizon_h, flush=self.flush)
        self._tallies = TallyBank(len(WAIT_STAGES) * n, horizon_h, flush=self.flush)
        self._moves: list[tuple] = []  # (old, new, cat, t, size, value1, value2)
        # Per stage code (including _NOT_ARRIVED): first backlog series, -1 if none.
        base = np.full(len(Stage) + 1, -1, dtype=np.int64)
        for i, stage in enumerate(BACKLOG_STAGES):
            base[stage] = i * n
        self._level_base = base
        first = np.full(len(Stage) + 1, -1, dtype=np.int64)
        second = np.full(len(Stage) + 1, -1, dtype=np.int64)
        for stage, (one, two) in _TALLIES_ON_ENTRY.items():
            first[stage], second[stage] = one, two
        self._tally_first, self._tally_second = first, second

    @property
    def backlog(self) -> dict[Stage, list]:
        """Backlog levels by stage, one per category (read like :class:`Level`)."""
        self.flush()
        n = self._n
        return {
            stage: [self._levels.series(i * n + c) for c in range(n)]
            for i, stage in enumerate(BACKLOG_STAGES)
        }

    @property
    def waits(self) -> dict[str, list]:
        """Waiting-time tallies by stage name, one per category (read like :class:`Tally`)."""
        self.flush()
        n = self._n
        return {
            name: [self._tallies.tally(i * n + c) for c in range(n)]
            for i, name in enumerate(WAIT_STAGES)
        }

    def arrive(self, group: Group, t: float) -> None:
        """A group reaches the perimeter for the first time."""
        c, size = group.cat, group.size
        self.arrived[c] += size
        self.people[OUTSIDE][c] += size
        self._moves.append((_NOT_ARRIVED, OUTSIDE, c, t, size, 0.0, 0.0))

    def move(self, group: Group, stage: int, t: float) -> None:
        """Move ``group`` to ``stage`` at time ``t`` and record what that move means."""
        c, size, old = group.cat, group.size, group.stage
        people = self.people
        people[old][c] -= size
        people[stage][c] += size
        group.stage = stage
        v1 = v2 = 0.0
        if stage == SCREENING:
            group.t_gate = t
            self.inside_total += size
            v1 = t - group.t_arrive
        elif stage in (INSIDE, TURNED_AWAY):
            group.t_screened = t
            v1 = group.t_screen - group.t_gate
            v2 = t - group.t_gate
            if stage == TURNED_AWAY:
                self.inside_total -= size
                self._record(group)
        elif stage == ABOARD:
            group.t_board = t
            self.inside_total -= size
            v1 = t - group.t_screened
        elif stage == EVACUATED:
            group.t_depart = t
            v1 = t - group.t_arrive
            self._record(group)
        elif stage == OUTSIDE:  # came back after giving up
            group.returns += 1
        moves = self._moves
        moves.append((old, stage, c, t, size, v1, v2))
        if len(moves) > self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Bin the buffered moves into backlog levels and waiting-time tallies."""
        if not self._moves:
            return
        data = np.array(self._moves, dtype=float)
        self._moves.clear()
        old, new = data[:, 0].astype(np.int64), data[:, 1].astype(np.int64)
        cat, t, size = data[:, 2].astype(np.int64), data[:, 3], data[:, 4]
        for stages, sign in ((old, -1.0), (new, 1.0)):
            base = self._level_base[stages]
            keep = base >= 0
            self._levels.add_bulk(base[keep] + cat[keep], t[keep], sign * size[keep])
        n = self._n
        for table, values in ((self._tally_first, data[:, 5]), (self._tally_second, data[:, 6])):
            which = table[new]
            keep = which >= 0
            self._tallies.add_bulk(which[keep] * n + cat[keep], values[keep], size[keep])

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
