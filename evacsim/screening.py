"""Consular screening: lanes that check each group and send it on, or turn it away.

Groups that passed a gate queue here by category priority, first come first served within a
priority. Each lane is one SimPy process; lane ``i`` works while ``i`` is below the number of
lanes manned (scheduled lanes, limited by troops on duty; see :mod:`evacsim.forces`) and
screening is not paused. Idle lanes sleep on their own event and are woken one per arriving
group, so a quiet lane costs nothing.
"""

from __future__ import annotations

import math
from collections import deque

import simpy

from .demand import SCREENING, TURNED_AWAY, Group
from .ledger import Ledger, Signal
from .monitor import Level
from .streams import BufferedDraws

__all__ = ["Screening"]


class Screening:
    """The screening queue and its lanes."""

    def __init__(
        self,
        env: simpy.Environment,
        max_lanes: int,
        priorities: list[int],
        service: BufferedDraws,
        per_person_h: float,
        turned_away: list[float],
        uniform: BufferedDraws,
        ledger: Ledger,
        to_holding,
        space_freed: Signal,
        horizon_h: float,
    ):
        self.env = env
        self.ledger = ledger
        self.service = service
        self.per_person_h = per_person_h
        self.turned_away = turned_away
        self.uniform = uniform
        self.to_holding = to_holding  # callable(group, t)
        self.space_freed = space_freed  # fired when people leave the inside (holding room)
        self.queues: list[deque[Group]] = [deque() for _ in priorities]
        self.order = sorted(range(len(priorities)), key=lambda c: priorities[c])
        self.queued = 0  # groups waiting
        self.manned = 0  # lanes that may work
        self.paused_until_h = -math.inf
        self._idle: list[simpy.Event] = []  # lanes waiting for work
        self._stood_down = Signal(env)  # lanes waiting to be manned or for a pause to end
        self.busy = Level(horizon_h)  # lanes serving
        self.manned_level = Level(horizon_h)  # lanes manned (capacity for utilisation)
        self.screened = 0
        self.in_service: dict[int, Group] = {}
        self.lanes = [env.process(self._lane(i)) for i in range(max_lanes)]

    def put(self, group: Group, t: float) -> None:
        """A group enters screening (from a gate)."""
        self.ledger.move(group, SCREENING, t)
        self.queues[group.cat].append(group)
        self.queued += 1
        if self._idle:
            self._idle.pop().succeed()

    def set_manned(self, lanes: int, t: float) -> None:
        """Forces or the lane schedule changed the number of lanes that can work."""
        self.manned = lanes
        self.manned_level.set(t, lanes)
        self._wake_all()

    def pause(self, until_h: float) -> None:
        self.paused_until_h = max(self.paused_until_h, until_h)

    def _wake_all(self) -> None:
        self._stood_down.fire()
        idle, self._idle = self._idle, []
        for event in idle:
            event.succeed()

    def _next_group(self) -> Group | None:
        for c in self.order:
            q = self.queues[c]
            if q:
                self.queued -= 1
                return q.popleft()
        return None

    def _lane(self, index: int):
        env, ledger = self.env, self.ledger
        while True:
            now = env.now
            if index >= self.manned:
                yield self._stood_down.wait()
                continue
            if now < self.paused_until_h:
                yield env.timeout(self.paused_until_h - now)
                continue
            group = self._next_group()
            if group is None:
                event = env.event()
                self._idle.append(event)
                yield event
                continue
            group.t_screen = now
            self.in_service[group.gid] = group
            service_h = self.service.next() + self.per_person_h * group.size
            self.busy.interval(now, now + service_h, 1)
            yield env.timeout(service_h)
            now = env.now
            del self.in_service[group.gid]
            self.screened += group.size
            if self.uniform.next() < self.turned_away[group.cat]:
                ledger.move(group, TURNED_AWAY, now)
                self.space_freed.fire()
            else:
                self.to_holding(group, now)

    def present(self) -> list[Group]:
        """Groups queueing for or in screening."""
        return [g for q in self.queues for g in q] + list(self.in_service.values())
