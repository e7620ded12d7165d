"""Consular screening: lanes that check each group and send it on, or turn it away.

Groups that passed a gate queue here by category priority, first come first served within a
priority. Each lane is one SimPy process; lane ``i`` works while ``i`` is below the number of
lanes manned (scheduled lanes, limited by troops on duty; see :mod:`evacsim.forces`) and
screening is not paused. A lane serves one group after another; while no other lane is idle
it may commit a short batch of back-to-back services (``screening.batch`` hours) in one SimPy
event, each group screened at its exact times and handed on when the batch ends. Idle lanes
sleep on their own event and are woken one per arriving group, so a quiet lane costs nothing.
"""

from __future__ import annotations

import math
from collections import deque

import simpy

from .demand import SCREENING, TURNED_AWAY, Group
from .ledger import Ledger, Signal
from .monitor import Level

__all__ = ["Screening"]


class Screening:
    """The screening queue and its lanes."""

    def __init__(
        self,
        env: simpy.Environment,
        max_lanes: int,
        priorities: list[int],
        ledger: Ledger,
        to_holding,
        space_freed: Signal,
        horizon_h: float,
        batch_h: float = 0.0,
    ):
        self.env = env
        self.ledger = ledger
        self.to_holding = to_holding  # callable(group, t)
        self.space_freed = space_freed  # fired when people leave the inside (holding room)
        self.queues: list[deque[Group]] = [deque() for _ in priorities]
        self.order = sorted(range(len(priorities)), key=lambda c: priorities[c])
        self.queued = 0  # groups waiting
        self.manned = 0  # lanes that may work
        self.paused_until_h = -math.inf
        self._idle: list[tuple[int, simpy.Event]] = []  # manned lanes waiting for work
        self._parked: dict[int, simpy.Event] = {}  # lanes not manned, waiting to be
        self.busy = Level(horizon_h)  # lanes serving
        self.manned_level = Level(horizon_h)  # lanes manned (capacity for utilisation)
        self.batch_h = batch_h
        self.horizon_h = horizon_h
        self._serving: list = [()] * max_lanes  # per lane: the batch it is screening
        self.lanes = [env.process(self._lane(i)) for i in range(max_lanes)]

    def put(self, group: Group, t: float) -> None:
        """A group enters screening (from a gate)."""
        self.ledger.move(group, SCREENING, t)
        self.queues[group.cat].append(group)
        self.queued += 1
        if self._idle:
            self._idle.pop()[1].succeed()

    def put_batch(self, groups: list[Group]) -> None:
        """Groups that a gate already booked into screening (at their passage times) arrive."""
        queues, idle = self.queues, self._idle
        for group in groups:
            queues[group.cat].append(group)
            if idle:
                idle.pop()[1].succeed()
        self.queued += len(groups)

    def set_manned(self, lanes: int, t: float) -> None:
        """Forces or the lane schedule changed the number of lanes that can work.

        Only the lanes whose status changes are woken: those newly manned, and idle ones no
        longer manned (so that every idle lane left is a manned one). Waking them all would
        cost lanes x changes, which grows as the square of a scenario's size.
        """
        old, self.manned = self.manned, lanes
        self.manned_level.set(t, lanes)
        for index in range(old, lanes):
            event = self._parked.pop(index, None)
            if event is not None:
                event.succeed()
        if lanes < old:
            keep = []
            for index, event in self._idle:
                if index >= lanes:
                    event.succeed()
                else:
                    keep.append((index, event))
            self._idle = keep

    def pause(self, until_h: float) -> None:
        self.paused_until_h = max(self.paused_until_h, until_h)

    def _next_group(self) -> Group | None:
        for c in self.order:
            q = self.queues[c]
            if q:
                self.queued -= 1
                return q.popleft()
        return None

    def _lane(self, index: int):
        env = self.env
        while True:
            now = env.now
            if index >= self.manned:
                parked = self._parked[index] = env.event()
                yield parked
                continue
            if now < self.paused_until_h:
                yield env.timeout(self.paused_until_h - now)
                continue
            group = self._next_group()
            if group is None:
                event = env.event()
                self._idle.append((index, event))
                yield event
                continue
            # Serve back to back, each group at its exact times, while no other lane is idle
            # and the batch lasts at most ``batch`` hours; hand them on together at the end.
            batch, t = [], now
            limit = now + self.batch_h
            while group is not None:
                end = t + group.service_h
                if batch and end > self.horizon_h:
                    self.queues[group.cat].appendleft(group)  # would end after the deadline
                    self.queued += 1
                    break
                group.t_screen = t
                t = end
                batch.append((group, t))
                if t >= limit or self._idle or not self.queued:
                    break
                group = self._next_group()
            self._serving[index] = batch
            self.busy.interval(now, t, 1)
            yield env.timeout(t - now)
            self._serving[index] = ()
            for group, done in batch:
                self._finish(group, done)

    def _finish(self, group: Group, t: float) -> None:
        """``group`` was screened at ``t``: turned away, or on to wait for a seat."""
        if group.refused:
            self.ledger.move(group, TURNED_AWAY, t)
            self.space_freed.fire()
        else:
            self.to_holding(group, t)

    def present(self) -> list[Group]:
        """Groups queueing for or in screening."""
        serving = [g for batch in self._serving for g, _ in batch]
        return [g for q in self.queues for g in q] + serving
