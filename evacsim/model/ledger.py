"""The ledger: where every arrived person is, and the statistics of their journeys.

Every change of stage of every group goes through :meth:`Ledger.move`. That one place keeps
the head-count per stage and category (checked against the components' own queues at the end
of a run) and stamps each group with the time it reached each stage; from those stamps, once
per journey, come the time-weighted backlog per stage, the waiting-time tallies and
(optionally) one record per group.
"""

from __future__ import annotations

import itertools
from operator import attrgetter
from typing import NamedTuple

import numpy as np

from .demand import (
    ABOARD,
    AWAY,
    EVACUATED,
    INSIDE,
    OUTSIDE,
    SCREENING,
    TURNED_AWAY,
    Group,
    Stage,
)
from .monitor import LevelBank, TallyBank

__all__ = ["GroupRecord", "Ledger", "WAIT_STAGES"]

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


# What the statistics read of a journey (hours; NaN where the group never got there).
_JOURNEY = (
    "cat",
    "size",
    "t_arrive",
    "t_queue",  # the latest time it joined the crowd
    "t_gate",
    "t_screen",
    "t_screened",
    "t_board",
    "t_depart",
    "stage",  # where the journey ended, or where the group was at the deadline
)
_NAN = float("nan")
_read_journey = attrgetter(*_JOURNEY)  # group -> its journey as a tuple, in one C call
_STAGE_NAMES = [stage.name.lower() for stage in Stage]  # by stage code, for records
# A group's record as kept: GroupRecord's fields, with category index and stage code.
_read_record = attrgetter(
    "gid", "cat", "size", "t_arrive", "t_gate", "t_screened", "t_board", "t_depart", "returns",
    "stage", "flight",
)  # fmt: skip


def _as_array(rows: list[tuple], width: int) -> np.ndarray:
    """Rows of numbers as a float array (from one flat iterator: faster than from tuples)."""
    flat = np.fromiter(itertools.chain.from_iterable(rows), dtype=float, count=len(rows) * width)
    return flat.reshape(len(rows), width)


class Ledger:
    """Head-counts, backlog levels, waiting-time tallies and group records of one run.

    The hot path, :meth:`move`, keeps the head-counts exact at once and stamps the group with
    the time it reached its new stage. The statistics are made from those stamps: when a
    group's journey ends (evacuated, turned away, or still on its way at the deadline) or one
    of its spells in the crowd ends in giving up, one tuple goes into a bounded buffer, and
    :meth:`flush` bins the buffer into backlog levels and waiting-time tallies with a few
    numpy calls (order-independent bins, see :mod:`evacsim.model.monitor`). A journey is therefore
    booked once, not move by move; the levels and tallies are complete once the run is closed
    (:meth:`close`).
    """

    FLUSH_AT = 1 << 13  # journeys or spells buffered before they are binned (while hot)

    def __init__(self, categories: list[str], *, horizon_h: float, keep_records: bool):
        self.categories = categories
        n = len(categories)
        self.horizon_h = horizon_h
        self.people = [[0] * n for _ in Stage]  # people[stage][cat], current head-count
        self.arrived = [0] * n  # first arrivals (people); returns are not new arrivals
        # Person-hours in each stage over [0, horizon], integrated from the moves alone: a move
        # at t adds size x (horizon - t) to the stage entered and takes it from the one left,
        # so the sum is the area under the head-count whatever order the moves come in. A
        # second set of books, independent of the journey stamps the backlog is made from.
        self.area = [0.0] * len(Stage)
        self.keep_records = keep_records
        self.records: list[tuple] = []  # see _record
        # People in the journeys the statistics have binned, by the stage each journey was in
        # when booked: a second set of books, checked against the head-counts at the end.
        self.booked = np.zeros((len(Stage), n), dtype=np.int64)
        self._n = n
        self._levels = LevelBank(len(BACKLOG_STAGES) * n, horizon_h, flush=self.flush)
        self._tallies = TallyBank(len(WAIT_STAGES) * n, horizon_h, flush=self.flush)
        self._journeys: list[tuple] = []  # journeys over, as _JOURNEY
        self._spells: list[tuple] = []  # (cat, size, joined the crowd, gave up)

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
        """A group reaches the perimeter for the first time (at ``group.t_arrive``)."""
        c, size = group.cat, group.size
        self.arrived[c] += size
        self.people[OUTSIDE][c] += size
        self.area[OUTSIDE] += size * (self.horizon_h - t)

    def move(self, group: Group, stage: int, t: float) -> None:
        """Move ``group`` to ``stage`` at time ``t``: head-counts, and the time it got there."""
        c, size = group.cat, group.size
        people, area = self.people, self.area
        people[group.stage][c] -= size
        people[stage][c] += size
        rest = size * (self.horizon_h - t)
        area[group.stage] -= rest
        area[stage] += rest
        group.stage = stage
        if stage == SCREENING:  # passed a gate
            group.t_gate = t
        elif stage == INSIDE:
            group.t_screened = t
        elif stage == ABOARD:
            group.t_board = t
        elif stage == EVACUATED:
            group.t_depart = t
            self._book(group)
        elif stage == TURNED_AWAY:
            group.t_screened = t
            self._book(group)
        elif stage == AWAY:  # gave up or was dispersed: one spell in the crowd ends
            spells = self._spells
            spells.append((c, size, group.t_queue, t))
            if len(spells) >= self.FLUSH_AT:
                self.flush()
        else:  # OUTSIDE again: came back (the crowd sets its t_queue)
            group.returns += 1

    def _book(self, group: Group) -> None:
        """Buffer ``group``'s journey for the statistics (and its record, if kept)."""
        journeys = self._journeys
        journeys.append(_read_journey(group))
        if self.keep_records:
            self._record(group)
        if len(journeys) >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        """Bin the buffered journeys and spells into backlog levels and waiting-time tallies.

        A journey puts its people on each backlog stage from the time they reached it until
        the time they reached the next (or for good, if they were still there when booked),
        and gives one waiting time per stage passed; a spell in the crowd that ended in giving
        up is a stretch of the crowd's backlog.
        """
        n = self._n
        level_k, level_t, level_delta = [], [], []  # one bulk change of the levels
        if self._spells:
            s = _as_array(self._spells, 4)
            self._spells.clear()
            k = s[:, 0].astype(np.int64) + BACKLOG_STAGES.index(Stage.OUTSIDE) * n
            level_k += [k, k]
            level_t += [s[:, 2], s[:, 3]]
            level_delta += [s[:, 1], -s[:, 1]]
        if self._journeys:
            col = dict(zip(_JOURNEY, _as_array(self._journeys, len(_JOURNEY)).T, strict=True))
            self._journeys.clear()
            cat, size = col["cat"].astype(np.int64), col["size"]
            stage = col["stage"].astype(np.int64)
            np.add.at(self.booked, (stage, cat), size.astype(np.int64))
            inside_from = np.where(stage == TURNED_AWAY, np.nan, col["t_screened"])
            # (backlog stage, entered at, left at): NaN where not entered or not left.
            spans = (
                (Stage.OUTSIDE, col["t_queue"], col["t_gate"]),
                (Stage.SCREENING, col["t_gate"], col["t_screened"]),
                (Stage.INSIDE, inside_from, col["t_board"]),
                (Stage.ABOARD, col["t_board"], col["t_depart"]),
            )
            for backlog_stage, entered, left in spans:
                base = BACKLOG_STAGES.index(backlog_stage) * n
                for t, sign in ((entered, 1.0), (left, -1.0)):
                    keep = ~np.isnan(t)
                    level_k.append(cat[keep] + base)
                    level_t.append(t[keep])
                    level_delta.append(sign * size[keep])
            # (tally, from, to): a wait counts once its stage is done (screening: screened).
            screen_started = np.where(np.isnan(col["t_screened"]), np.nan, col["t_screen"])
            waits = (
                ("outside", col["t_arrive"], col["t_gate"]),
                ("screening_queue", col["t_gate"], screen_started),
                ("screening", col["t_gate"], col["t_screened"]),
                ("inside", col["t_screened"], col["t_board"]),
                ("total", col["t_arrive"], col["t_depart"]),
            )
            tally_k, tally_value, tally_weight = [], [], []
            for name, t0, t1 in waits:
                keep = ~np.isnan(t1)
                tally_k.append(WAIT_STAGES.index(name) * n + cat[keep])
                tally_value.append(t1[keep] - t0[keep])
                tally_weight.append(size[keep])
            self._tallies.add_bulk(
                np.concatenate(tally_k), np.concatenate(tally_value), np.concatenate(tally_weight)
            )
        if level_k:
            self._levels.add_bulk(
                np.concatenate(level_k), np.concatenate(level_t), np.concatenate(level_delta)
            )

    def _record(self, group: Group) -> None:
        """Keep ``group``'s record: a GroupRecord's fields, with the category index and the
        stage code (named in :meth:`record_columns`), read by one C call."""
        self.records.append(_read_record(group))

    def record_columns(self) -> dict[str, list]:
        """The records kept, column by column, named and valued as :class:`GroupRecord`."""
        fields = GroupRecord._fields
        rows = self.records
        values = zip(*rows, strict=True) if rows else ([] for _ in fields)
        columns = dict(zip(fields, values, strict=True))
        names = self.categories
        columns["category"] = [names[c] for c in columns["category"]]
        columns["final_stage"] = [_STAGE_NAMES[s] for s in columns["final_stage"]]
        return columns

    def close(self, still_present: list[Group]) -> None:
        """At the deadline: book the journeys of the groups still on their way."""
        for group in still_present:
            self._book(group)
        self.flush()

    def total(self, stage: Stage) -> int:
        return sum(self.people[stage])
