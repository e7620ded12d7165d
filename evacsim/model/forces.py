"""Forces on the ground: troops by nation, and what they can man.

Troops arrive on aircraft (they land through the same runway and ramp as evacuation
flights) and leave in scheduled drawdowns. A share of those on the ground is on duty; duty
troops man gates first (in the gates' manning order, each needing its ``min_troops``), then
screening lanes (``troops_per_lane`` each, up to the lanes scheduled). Whenever the troops or
the lane schedule change, the allocation is made again.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import simpy

from .gates import Gate
from .monitor import Level
from .screening import Screening

__all__ = ["Forces"]


class Forces:
    """Troops on the ground and their allocation to gates and screening lanes."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        initial: dict[str, int],
        duty_share: float,
        gates: list[Gate],
        screening: Screening,
        troops_per_lane: int,
        lane_schedule: tuple[np.ndarray, np.ndarray],
        withdrawals: list[tuple[str, int, float, float, str | None, float]],
        horizon_h: float,
    ):
        self.env = env
        self.troops: dict[str, int] = defaultdict(int, initial)
        self.duty_share = duty_share
        self.gates = sorted(gates, key=lambda g: (g.spec.order, g.name))
        self.screening = screening
        self.troops_per_lane = troops_per_lane
        self.lane_times, self.lane_values = lane_schedule
        self.scheduled_lanes = 0
        # Seats wanted by withdrawing troops and their equipment, by operator.
        self.awaiting_airlift: dict[str, float] = defaultdict(float)
        self.on_ground = Level(horizon_h, initial=sum(initial.values()))
        env.process(self._lane_schedule())
        for nation, troops, start_h, end_h, operator, seats_per_troop in withdrawals:
            env.process(self._drawdown(nation, troops, start_h, end_h, operator, seats_per_troop))

    @property
    def total(self) -> int:
        return sum(self.troops.values())

    def arrive(self, nation: str, troops: int) -> None:
        self.troops[nation] += troops
        self.on_ground.change(self.env.now, troops)
        self.allocate()

    def board(self, operator: str, seats: int) -> int:
        """Withdrawing troops (and their equipment) take up to ``seats`` seats on a departing
        aircraft; returns the seats they take."""
        n = min(seats, math.ceil(self.awaiting_airlift[operator] - 1e-9))
        if n <= 0:
            return 0
        self.awaiting_airlift[operator] = max(0.0, self.awaiting_airlift[operator] - n)
        return n

    def allocate(self) -> None:
        """Man gates in order, then screening lanes, from the troops on duty now."""
        now = self.env.now
        available = math.floor(self.total * self.duty_share)
        for gate in self.gates:
            need = gate.spec.min_troops
            manned = need <= available
            if manned:
                available -= need
            if manned != gate.manned:
                gate.manned = manned
                gate.wake.fire()
        lanes = self.scheduled_lanes
        if self.troops_per_lane:
            lanes = min(lanes, available // self.troops_per_lane)
        if lanes != self.screening.manned:
            self.screening.set_manned(lanes, now)

    def _lane_schedule(self):
        for t, lanes in zip(self.lane_times, self.lane_values, strict=True):
            if t > self.env.now:
                yield self.env.timeout(t - self.env.now)
            self.scheduled_lanes = int(lanes)
            self.allocate()

    def _drawdown(
        self,
        nation: str,
        troops: int,
        start_h: float,
        end_h: float,
        operator,
        seats_per_troop: float = 1.0,
    ):
        """Take ``troops`` off the ground evenly, hour by hour, over ``[start_h, end_h]``; each
        then waits for ``seats_per_troop`` seats on its operator's aircraft (with equipment)."""
        env = self.env
        steps = max(1, math.ceil(end_h - start_h))
        step_h = (end_h - start_h) / steps
        if start_h > env.now:
            yield env.timeout(start_h - env.now)
        done = 0
        for k in range(1, steps + 1):
            target = round(troops * k / steps)
            leaving = min(target - done, self.troops[nation])
            done = target
            if leaving > 0:
                self.troops[nation] -= leaving
                self.on_ground.change(env.now, -leaving)
                if operator is not None:
                    self.awaiting_airlift[operator] += leaving * seats_per_troop
                self.allocate()
            if k < steps:
                yield env.timeout(step_h)
