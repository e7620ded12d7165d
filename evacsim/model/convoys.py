"""Assembly points and escorted road convoys: the way in before the perimeter.

People of a category may gather at an assembly point (an embassy, a hotel) instead of
walking to the gates. Their first arrivals there are drawn up front, as at the perimeter
(:func:`plan_assembly`), and count against the category's pool together with the perimeter's.
A convoy leaves at set times or intervals, takes whole groups waiting there (best priority
first, then first come) up to its seats, and drives for a drawn travel time; it may be
turned back (its people are back at the assembly point when it returns) or delayed. At its
gate its groups reach the perimeter: they join the crowd, or, when the convoy has priority,
wait in the gate's own queue ahead of the crowd (:class:`GateQueue`).

Until a group reaches the perimeter it is not in the ledger: the assembly points and the
road keep their own books (a time-weighted level each, for the backlog table), and the
model checks that everyone who gathered is at a point, on the road, or delivered.
"""

from __future__ import annotations

import dataclasses
import math
from collections import deque
from typing import NamedTuple

import numpy as np
import simpy

from evacsim.scenario.schema import MAX_ARRIVALS, Category, Convoy, Scenario
from evacsim.scenario.units import hours_between

from .demand import OUTSIDE, ArrivalPlan, Group, category_arrivals, priority_levels
from .monitor import Level

__all__ = [
    "AssemblyPoint",
    "ConvoyRecord",
    "Convoys",
    "GateQueue",
    "people_before_perimeter",
    "plan_assembly",
]


class Waiting(NamedTuple):
    """A group at an assembly point or on the road (not yet at the perimeter)."""

    t_gathered: float
    cat: int
    size: int
    patience_h: float
    service_h: float
    refused: bool


class ConvoyRecord(NamedTuple):
    """One convoy departure (hours since start; NaN where it did not happen)."""

    convoy: str
    departure: int
    t_depart: float
    t_arrive: float
    people: int
    groups: int
    seats: int
    status: str  # arrived, turned_back, on_road (at the deadline)


@dataclasses.dataclass
class _Planned:
    time_h: np.ndarray
    entries: list[Waiting]


def plan_assembly(
    scenario: Scenario, names: list[str], plan: ArrivalPlan, streams, screening
) -> tuple[ArrivalPlan, dict[str, _Planned]]:
    """Draw every assembly point's first arrivals and cap each category's pool jointly.

    Returns the perimeter plan without the groups that the joint cap leaves out, and the
    assembly points' planned arrivals. Each point and category draws from its own streams
    (``assembly/POINT/CAT`` and siblings), so the perimeter's draws are those of a scenario
    without assembly points (common random numbers) until the joint cap.
    """
    start, horizon = scenario.start, scenario.horizon_h
    dist, per_person_h = screening
    drawn: list[tuple[float, int, int, str, Waiting | None]] = []  # t, cat, size, point
    for point, spec in scenario.assembly_points.items():
        for cat_name, rates in spec.arrivals_per_day.items():
            c = names.index(cat_name)
            cat: Category = scenario.demand[cat_name].model_copy(
                update={"arrivals_per_day": rates, "pool": MAX_ARRIVALS, "arrival_hours": None}
            )
            key = f"assembly/{point}/{cat_name}"
            t, size = category_arrivals(cat, start, horizon, horizon, streams[key])
            n = len(t)
            patience = (
                np.full(n, np.inf)
                if cat.patience is None
                else cat.patience.draw(streams[f"{key}/patience"], n)
            )
            service = dist.draw(streams[f"{key}/screening"], n) + per_person_h * size
            refused = streams[f"{key}/turned_away"].random(n) < cat.turned_away
            for i in range(n):
                entry = Waiting(
                    float(t[i]), c, int(size[i]), float(patience[i]), float(service[i]),
                    bool(refused[i]),
                )  # fmt: skip
                drawn.append((float(t[i]), c, int(size[i]), point, entry))
    # The perimeter's groups take part in the joint cap in time order with the points'.
    for i in range(len(plan)):
        drawn.append((float(plan.time_h[i]), int(plan.category[i]), int(plan.size[i]), "", None))
    order = sorted(range(len(drawn)), key=lambda k: (drawn[k][0], drawn[k][3] != ""))
    room = [scenario.demand[n].pool for n in names]
    keep_plan = np.zeros(len(plan), dtype=bool)
    sizes = plan.size.copy()
    points: dict[str, list[Waiting]] = {p: [] for p in scenario.assembly_points}
    next_plan = 0  # perimeter groups come in plan order
    for k in order:
        t, c, size, point, entry = drawn[k]
        if entry is None:
            i, next_plan = next_plan, next_plan + 1
        take = min(size, room[c])
        if take <= 0:
            continue
        room[c] -= take
        if entry is None:
            keep_plan[i] = True
            sizes[i] = take
        else:
            points[point].append(entry._replace(size=take))
    trimmed = ArrivalPlan(
        time_h=plan.time_h[keep_plan],
        category=plan.category[keep_plan],
        size=sizes[keep_plan],
        patience_h=plan.patience_h[keep_plan],
        service_h=plan.service_h[keep_plan],
        refused=plan.refused[keep_plan],
    )
    planned = {
        p: _Planned(np.array([e.t_gathered for e in entries]), entries)
        for p, entries in points.items()
    }
    return trimmed, planned


class AssemblyPoint:
    """People gathered at one place, waiting for a convoy (queued by priority, first come)."""

    def __init__(self, name: str, planned: _Planned, *, priorities: list[int], horizon_h: float):
        self.name = name
        self.entries = planned.entries
        self._next = 0
        self.queues: list[deque[Waiting]] = [deque() for _ in priorities]
        self.levels = priority_levels(priorities, range(len(priorities)))
        self.present_level = Level(horizon_h)  # people waiting here
        self.gathered = [0] * len(priorities)  # first arrivals here, by category (people)
        self.horizon_h = horizon_h

    def advance(self, now: float) -> None:
        """Everyone planned to gather by ``now`` is here."""
        entries = self.entries
        while self._next < len(entries) and entries[self._next].t_gathered <= now:
            entry = entries[self._next]
            self._next += 1
            if entry.t_gathered >= self.horizon_h:
                break
            self.queues[entry.cat].append(entry)
            self.gathered[entry.cat] += entry.size
            self.present_level.change(entry.t_gathered, entry.size)

    def board(self, seats: int, now: float) -> list[Waiting]:
        """Whole groups for ``seats`` seats: best priority first, first come within it."""
        self.advance(now)
        taken: list[Waiting] = []
        for level in self.levels:
            for c in sorted(
                level, key=lambda c: self.queues[c][0].t_gathered if self.queues[c] else math.inf
            ):
                q = self.queues[c]
                kept: deque[Waiting] = deque()
                while q:
                    entry = q.popleft()
                    if entry.size <= seats:
                        taken.append(entry)
                        seats -= entry.size
                    else:
                        kept.append(entry)  # too big for the seats left: waits for the next
                q.extend(kept)
                self.queues[c] = q
        if taken:
            self.present_level.change(now, -sum(e.size for e in taken))
        return taken

    def take_back(self, entries: list[Waiting], now: float) -> None:
        """A convoy turned back: its groups wait again, ahead of those who came later."""
        for entry in reversed(entries):
            self.queues[entry.cat].appendleft(entry)
        self.present_level.change(now, sum(e.size for e in entries))

    def waiting(self) -> list[Waiting]:
        return [e for q in self.queues for e in q]


class GateQueue:
    """A gate's own queue for convoys with priority, in front of the shared crowd.

    The gate reads its crowd through this object (``advance``, ``head``, ``take``,
    ``next_arrival_h``): groups delivered here go first, then the crowd as usual. Gates
    without a priority convoy read the crowd itself, so this costs them nothing.
    """

    def __init__(self, crowd):
        self.crowd = crowd
        self.queue: deque[Group] = deque()

    def advance(self, now: float) -> None:
        self.crowd.advance(now)

    def next_arrival_h(self) -> float:
        return self.crowd.next_arrival_h()

    def head(self, admits: frozenset[int] | None) -> Group | None:
        for group in self.queue:
            if admits is None or group.cat in admits:
                return group
        return self.crowd.head(admits)

    def take(self, group: Group) -> None:
        if group.stage == OUTSIDE and group in self.queue:
            self.queue.remove(group)
            group.visit += 1
        else:
            self.crowd.take(group)

    def present(self) -> list[Group]:
        return list(self.queue)


class Convoys:
    """Runs every convoy: loads at its assembly point, drives, delivers to its gate."""

    def __init__(
        self,
        env: simpy.Environment,
        scenario: Scenario,
        *,
        points: dict[str, AssemblyPoint],
        crowd,
        gates: dict,
        gate_queues: dict[str, GateQueue],
        streams,
        horizon_h: float,
        first_gid: int,
    ):
        self.env = env
        self.points = points
        self.crowd = crowd
        self.gates = gates
        self.gate_queues = gate_queues
        self.horizon_h = horizon_h
        self._gid = first_gid
        self.records: list[ConvoyRecord] = []
        # (convoy, departure) -> (time it left, groups aboard), while on the road
        self.on_road: dict[tuple[str, int], tuple[float, list[Waiting]]] = {}
        self.road_level = {name: Level(horizon_h) for name in scenario.convoys}
        self.delivered = [0] * len(scenario.demand)  # people handed to the perimeter
        self.departures = 0
        start, deadline = scenario.start, scenario.deadline
        for name, spec in scenario.convoys.items():
            times = [hours_between(start, t) for t in spec.departure_times(start, deadline)]
            env.process(self._run(name, spec, times, streams[f"convoy/{name}"]))

    def _run(self, name: str, spec: Convoy, times: list[float], rng: np.random.Generator):
        env = self.env
        point = self.points[spec.assembly_point]
        seats = spec.vehicles * spec.seats_per_vehicle
        for k, t in enumerate(times):
            if t > env.now:
                yield env.timeout(t - env.now)
            # The draws of every departure are made whether or not anyone boards, so a
            # change elsewhere does not shift this convoy's luck (common random numbers).
            travel = float(spec.travel_time.draw(rng, 1)[0])
            back, late = rng.random(2)
            delay = float(spec.delay.draw(rng, 1)[0]) if late < spec.delayed else 0.0
            aboard = point.board(seats, env.now)
            people = sum(e.size for e in aboard)
            self.departures += 1
            env.process(
                self._drive(name, k, spec, point, aboard, people, seats, travel + delay,
                            back < spec.turned_back)
            )  # fmt: skip

    def _drive(self, name, k, spec, point, aboard, people, seats, road_h, turned_back):
        env = self.env
        key = (name, k)
        t0 = env.now
        self.on_road[key] = (t0, aboard)
        self.road_level[name].change(t0, people)
        yield env.timeout(road_h)
        now = env.now
        del self.on_road[key]
        self.road_level[name].change(now, -people)
        if turned_back:
            point.take_back(aboard, now)
            self.records.append(
                ConvoyRecord(name, k, t0, now, people, len(aboard), seats, "turned_back")
            )
            return
        self._deliver(spec, aboard, now)
        self.records.append(ConvoyRecord(name, k, t0, now, people, len(aboard), seats, "arrived"))

    def _deliver(self, spec: Convoy, aboard: list[Waiting], now: float) -> None:
        """The convoy's groups reach the perimeter at its gate."""
        crowd = self.crowd
        crowd.advance(now)  # everyone due before them is in the crowd first (first come)
        queue = self.gate_queues.get(spec.gate) if spec.priority else None
        for entry in aboard:
            group = Group(
                self._gid, entry.cat, entry.size, now, now + entry.patience_h, entry.service_h,
                entry.refused,
            )  # fmt: skip
            self._gid += 1
            self.delivered[entry.cat] += entry.size
            if queue is not None:
                group.deadline = math.inf  # a priority queue at the gate: nobody gives up
                crowd.ledger.arrive(group, now)
                queue.queue.append(group)
            else:
                crowd.arrive_now(group, now)
        if queue is not None:
            self.gates[spec.gate].wake.fire()
        else:
            for gate in self.gates.values():
                gate.wake.fire()

    def close(self) -> None:
        """At the deadline: convoys still on the road."""
        for (name, k), (t0, aboard) in sorted(self.on_road.items()):
            people = sum(e.size for e in aboard)
            self.records.append(
                ConvoyRecord(name, k, t0, math.nan, people, len(aboard), 0, "on_road")
            )


def people_before_perimeter(
    points: dict[str, AssemblyPoint], convoys: Convoys | None, n: int
) -> tuple[list[int], list[int], list[int]]:
    """(at assembly points, on the road, gathered in all) by category, people."""
    at_points, on_road, gathered = [0] * n, [0] * n, [0] * n
    for point in points.values():
        for e in point.waiting():
            at_points[e.cat] += e.size
        for c, people in enumerate(point.gathered):
            gathered[c] += people
    for _, aboard in convoys.on_road.values() if convoys is not None else ():
        for e in aboard:
            on_road[e.cat] += e.size
    return at_points, on_road, gathered
