"""Staging bases downstream ("lily pads"): finite room, a steady onward outflow.

A flight claims room at its destination *before* it takes off (people in the air count
against the base), and waits on the ramp while the base is full, as Kabul departures were
held on 20 Aug when Al Udeid filled. A base of capacity 0 is closed until an event opens
it. People leave a base for onward flights at ``onward_per_day``, in hourly batches.
"""

from __future__ import annotations

import math

import simpy

from .monitor import Level
from .wakeups import Signal

__all__ = ["StagingBase"]


class StagingBase:
    """One base: occupancy (landed + inbound), capacity and onward outflow."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        name: str,
        capacity: int,
        onward_per_day: float,
        flight_time_h: float,
        initial: int,
        horizon_h: float,
    ):
        self.env = env
        self.name = name
        self.capacity = capacity
        self.onward_per_day = onward_per_day
        self.flight_time_h = flight_time_h
        self.landed = float(initial)  # people on the base
        self.reserved = 0  # room claimed by aircraft still on the ground at the airport
        self.inbound = 0  # people in the air towards it
        self.received = 0  # people landed from the airport
        self.space_freed = Signal(env)
        self._landing = Signal(env)  # people landed
        self.occupancy = Level(horizon_h, initial=initial)  # people on the base
        self.full = Level(horizon_h)  # 1 while a departure is held for room here
        # Capacity over time, for utilisation: its value while finite, and 1 while unlimited.
        self.capacity_level = Level(horizon_h, initial=capacity if math.isfinite(capacity) else 0)
        self.unlimited = Level(horizon_h, initial=0 if math.isfinite(capacity) else 1)
        self._held = 0
        env.process(self._outflow())

    def has_room(self, people: int) -> bool:
        claimed = self.landed + self.inbound + self.reserved
        # An empty open base takes any flight, even one larger than its capacity; a base of
        # capacity 0 is not open yet (or no longer).
        return claimed + people <= self.capacity or (claimed == 0 and self.capacity > 0)

    def claim(self, people: int):
        """Wait until there is room for ``people`` and claim it (a SimPy sub-process)."""
        if not self.has_room(people):
            self.hold(+1)
            while not self.has_room(people):
                yield self.space_freed.wait()
            self.hold(-1)
        self.reserved += people

    def hold(self, change: int) -> None:
        """One more (+1) or one fewer (-1) departure held on the ground for room here."""
        self._held += change
        self.full.set(self.env.now, 1 if self._held else 0)

    def fly_in(self, people: int, flight_time_h: float | None = None):
        """Wheels-up with ``people`` (room claimed); they land after the flight time (the
        base's, or a fleet's own block time ``flight_time_h``)."""
        self.reserved -= people
        self.inbound += people
        yield self.env.timeout(self.flight_time_h if flight_time_h is None else flight_time_h)
        self.inbound -= people
        self.landed += people
        self.received += people
        self.occupancy.change(self.env.now, people)
        self._landing.fire()

    def set_capacity(self, capacity: int, onward_per_day: float | None) -> None:
        self.capacity = capacity
        finite = math.isfinite(capacity)
        self.capacity_level.set(self.env.now, capacity if finite else 0)
        self.unlimited.set(self.env.now, 0 if finite else 1)
        if onward_per_day is not None:
            self.onward_per_day = onward_per_day
        self.space_freed.fire()

    def _outflow(self):
        """Onward flights take people away at the end of every hour (while anyone is here)."""
        env = self.env
        while True:
            if self.landed <= 0:
                yield self._landing.wait()  # an empty base has no onward flights to run
            yield env.timeout(math.floor(env.now) + 1.0 - env.now)
            leaving = min(self.landed, self.onward_per_day / 24.0)
            if leaving > 0:
                self.landed -= leaving
                self.occupancy.change(env.now, -leaving)
                self.space_freed.fire()
