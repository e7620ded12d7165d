"""The airfield: runways shared by every movement, and a ramp with a maximum on the ground.

Every landing and take-off, evacuation flight or troop carrier, holds a runway for the
scenario's separation time, first come first served, so runway capacity is
``runways / separation`` movements per hour.
Closures (the 16 Aug overrun) are known in advance and simply defer a movement to the end of
the closure. The ramp is a counted resource: an aircraft takes a parking spot before it lands
and frees it when it takes off, so a full staging base that keeps aircraft on the ground
blocks the next arrivals (maximum on ground, MOG).
"""

from __future__ import annotations

import heapq

import simpy

from .monitor import Level

__all__ = ["Airfield"]


class Airfield:
    """Runways (with closures) and the ramp."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        runways: int,
        separation_h: float,
        ramp_capacity: int,
        closures_h: list[tuple[float, float]],
        horizon_h: float,
    ):
        self.env = env
        self.separation_h = separation_h
        # Heap of (free from, runway) for runways used so far; the others are free from 0 and
        # join when first needed, so memory follows the movements, not the count typed.
        self._runways: list[tuple[float, int]] = []
        self.ramp = simpy.Resource(env, capacity=ramp_capacity)
        self.closures_h = sorted(closures_h)
        self.runway_busy = Level(horizon_h)  # runways in use
        self.runway_capacity = runways
        self.ramp_capacity = ramp_capacity
        self.on_ground = Level(horizon_h)  # aircraft parked

    def open_at(self, t: float) -> float:
        """The earliest time at or after ``t`` when the runway is not closed."""
        for start, end in self.closures_h:
            if start <= t < end:
                t = end
        return t

    def movement(self):
        """One landing or take-off (a SimPy sub-process: ``yield from airfield.movement()``).

        Runways are taken first come, first served: the movement starts when the runway that
        frees up first is free and open, and holds it for the separation time. Every movement
        books its runway as it asks, so the wait is known at once: one SimPy event.
        """
        now = self.env.now
        if len(self._runways) < self.runway_capacity:
            start = self.open_at(now)  # an unused runway is free from time 0
            end = start + self.separation_h
            heapq.heappush(self._runways, (end, len(self._runways)))
        else:
            free, runway = self._runways[0]
            start = self.open_at(max(now, free))
            end = start + self.separation_h
            heapq.heapreplace(self._runways, (end, runway))
        self.runway_busy.interval(start, end, 1)
        yield self.env.timeout(end - now)

    def park(self):
        """Wait for and take a parking spot; returns the request to hand back on leaving."""
        req = self.ramp.request()
        yield req
        self.on_ground.change(self.env.now, 1)
        return req

    def leave(self, req) -> None:
        self.ramp.release(req)
        self.on_ground.change(self.env.now, -1)
