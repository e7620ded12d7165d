"""The holding area: screened people waiting inside for a seat.

Its capacity is shared with screening (everyone inside the perimeter counts): the holding area
owns that space as a :class:`Room` and lends it to the gates, which claim room for each group
they let through and stop while it is full (the back-pressure that stopped the gates when
departures stalled); screening gives room back for those it turns away, boarding for those
who board. Boarding takes groups by category priority, first screened first served within a
priority (or by an operator's own boarding order and quotas: :mod:`~evacsim.model.seats`),
and keeps every group together: a group that does not fit in the seats left is passed over
for a smaller one behind it (looking at most ``lookahead`` groups deep).
"""

from __future__ import annotations

import math
from collections import deque

import simpy

from .demand import ABOARD, INSIDE, Group, priority_levels
from .ledger import Ledger
from .monitor import Level
from .wakeups import Signal

__all__ = ["Holding", "Room"]


class Room:
    """The space inside the perimeter: people in screening or waiting for a seat.

    A group that is alone inside always fits (a family larger than the whole area is not
    kept out forever). ``freed`` is fired when people leave, for gates waiting for room.
    """

    def __init__(self, env: simpy.Environment, capacity: float = math.inf):
        self.capacity = capacity
        self.occupied = 0  # people inside (claimed at a gate, released on leaving)
        self.freed = Signal(env)

    def fits(self, size: int) -> bool:
        occupied = self.occupied
        return occupied + size <= self.capacity or occupied == 0

    def claim(self, size: int) -> None:
        self.occupied += size

    def release(self, size: int) -> None:
        self.occupied -= size

    @property
    def full(self) -> bool:
        return self.occupied >= self.capacity


class Holding:
    """Screened groups waiting for seats, one queue per category."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        priorities: list[int],
        capacity: float,
        ledger: Ledger,
        horizon_h: float,
        lookahead: int = 50,
    ):
        self.priorities = priorities
        self.room = Room(env, capacity)  # lent to the gates and screening
        self.ledger = ledger
        self.lookahead = lookahead
        self.queues: list[deque[Group]] = [deque() for _ in priorities]
        self.waiting = 0  # people waiting for seats
        self.waiting_by_cat = [0] * len(priorities)  # the same, per category
        self.full = Level(horizon_h)  # 1 while the inside (screening + holding) is at capacity
        self._on_arrival = None
        self._full = False
        self._levels_cache: dict[tuple[int, ...], list[list[int]]] = {}

    def watch(self, on_arrival) -> None:
        """Call ``on_arrival(category)`` whenever a group starts waiting for a seat."""
        self._on_arrival = on_arrival

    def put(self, group: Group, t: float) -> None:
        """A screened group starts waiting for a seat."""
        self.ledger.move(group, INSIDE, t)
        self.queues[group.cat].append(group)
        self.waiting += group.size
        self.waiting_by_cat[group.cat] += group.size
        if self.room.full != self._full:
            self._note_fullness(t)
        if self._on_arrival is not None:
            self._on_arrival(group.cat)

    def _note_fullness(self, t: float) -> None:
        self._full = self.room.full
        self.full.set(t, 1 if self._full else 0)

    def board(self, seats: int, eligible: list[int], t: float) -> list[Group]:
        """Take groups for ``seats`` seats from the ``eligible`` categories by priority."""
        return self.take(seats, self._levels(eligible), t)

    def take(
        self,
        seats: int,
        levels: list[list[int]],
        t: float,
        quota: dict[int, int] | None = None,
    ) -> list[Group]:
        """Take groups for ``seats`` seats, level by level; move them aboard.

        Within a level, whoever was screened first. ``quota`` caps the people a category may
        still take ({category: people}, an operator's quota); it is reduced as they board.
        """
        taken: list[Group] = []
        move, queues, by_cat = self.ledger.move, self.queues, self.waiting_by_cat
        for level in levels:
            cats = [c for c in level if queues[c]]
            while seats > 0 and cats:
                c = cats[0]
                if len(cats) > 1:
                    first = queues[c][0].t_screened
                    for k in cats:
                        if queues[k][0].t_screened < first:
                            c, first = k, queues[k][0].t_screened
                q = queues[c]
                fits = seats if quota is None or c not in quota else min(seats, quota[c])
                group = q[0]
                if group.size <= fits:
                    q.popleft()
                else:
                    group = self._smaller(q, fits)
                    if group is None:
                        cats.remove(c)  # nobody of this category fits in what is left
                        continue
                seats -= group.size
                self.waiting -= group.size
                by_cat[c] -= group.size
                if quota is not None and c in quota:
                    quota[c] -= group.size
                move(group, ABOARD, t)
                self.room.release(group.size)
                taken.append(group)
                if not q:
                    cats.remove(c)
        if taken:
            self._note_fullness(t)
            self.room.freed.fire()
        return taken

    def _levels(self, eligible: list[int]) -> list[list[int]]:
        """``eligible`` categories grouped by priority, best first (worked out once per list)."""
        key = tuple(eligible)
        levels = self._levels_cache.get(key)
        if levels is None:
            levels = self._levels_cache[key] = priority_levels(self.priorities, eligible)
        return levels

    def waiting_except(self, categories) -> int:
        """People waiting for a seat who are not of ``categories`` (indices)."""
        return self.waiting - sum(self.waiting_by_cat[c] for c in categories)

    def _smaller(self, q: deque[Group], seats: int) -> Group | None:
        """Remove and return the first group within ``lookahead`` that fits in ``seats``."""
        for i in range(1, min(len(q), self.lookahead)):
            if q[i].size <= seats:
                group = q[i]
                del q[i]
                return group
        return None

    def present(self) -> list[Group]:
        return [g for q in self.queues for g in q]
