"""Flights: from a schedule slot to wheels-up with evacuees aboard.

Each flight is one SimPy process (hundreds per run, not one per evacuee):

1. it reaches the airfield at its slot, unless its operator has stopped flying;
2. it waits for a parking spot on the ramp, then for the runway, and lands;
3. troops aboard (if any) join the forces on the ground;
4. after its turnaround it boards withdrawing troops of its operator first, then evacuees by
   its operator's seat rule (:mod:`~evacsim.model.seats`), to its surge seats when the inside
   is crowded; a part-empty aircraft may wait a little longer to fill; seats still empty then
   are spare and go by the rule's spare-seat step;
5. it claims room at its staging base, waiting on the ramp while the base is full (or, if
   its schedule may divert, flies to another of its bases that has room);
6. it takes off: its evacuees are evacuated, and land at the base after the flight time.
"""

from __future__ import annotations

import bisect
import dataclasses
import functools
import math
from typing import NamedTuple

import numpy as np
import simpy

from evacsim.scenario.schema import Scenario
from evacsim.scenario.units import hours_between

from .airfield import Airfield
from .demand import EVACUATED, Group, step_profile
from .forces import Forces
from .holding import Holding
from .ledger import Ledger
from .seats import SeatRule
from .staging import StagingBase
from .wakeups import event_or_timeout

__all__ = [
    "DIRECT",
    "FleetPlan",
    "FlightPlan",
    "FlightRecord",
    "FlightState",
    "Flights",
    "plan_fleets",
    "plan_flights",
]


@dataclasses.dataclass(frozen=True, slots=True)
class FlightPlan:
    """One planned arrival of an aircraft at the airfield (times in hours since start)."""

    fid: int
    schedule: str
    operator: str
    aircraft: str
    slot_h: float
    destination: str | None
    troops: int = 0
    nation: str | None = None
    evacuates: bool = True
    max_extra_wait_h: float = 0.0
    alternates: tuple[str, ...] = ()  # bases to divert to when the destination is full
    tail: int = -1  # the aircraft's number in its fleet (-1: not a fleet's sortie)
    block_h: float | None = None  # a fleet's flight time to its destination (None: the base's)


class FlightRecord(NamedTuple):
    """What happened to one flight (hours since start; NaN where it did not get that far)."""

    fid: int
    schedule: str
    operator: str
    aircraft: str
    tail: int  # the aircraft's number in its fleet; -1 for other flights
    destination: str
    slot_h: float
    t_land: float
    t_board: float
    t_depart: float
    seats: int
    troops_in: int
    troops_out: int
    boarded: int
    may_not_board: int  # people waiting inside at departure who may not take its empty seats
    held_for_staging_h: float
    status: str  # departed | on_ground | waiting_to_land | cancelled


@dataclasses.dataclass(slots=True)
class FlightState:
    """A flight in progress (hours since start; NaN until it gets that far)."""

    status: str = "waiting_to_land"  # then on_ground, departed; or cancelled, not_started
    groups: list[Group] = dataclasses.field(default_factory=list)  # evacuees aboard
    t_land: float = math.nan
    t_board: float = math.nan
    t_depart: float = math.nan
    seats: int = 0
    troops_out: int = 0
    t_hold: float = math.nan  # when it began claiming room at its staging base
    held_h: float = math.nan  # how long the base kept it on the ramp (once it has room)
    destination: str | None = None  # where it diverted to, if not its planned base
    may_not_board: int = 0  # people left waiting who were not allowed its empty seats

    def held_for_staging_h(self, now: float) -> float:
        """Hours held by a full staging base: so far, if it is still held at ``now``."""
        if not math.isnan(self.held_h):
            return self.held_h
        return 0.0 if math.isnan(self.t_hold) else now - self.t_hold


class _Chooser:
    """Draws destinations by weight: the same draw as ``rng.choice(n, p=weights)`` (one
    uniform, searched in the cumulative weights), without re-checking the weights each time."""

    def __init__(self, destinations):
        if not isinstance(destinations, dict):  # one base (or none: carries no one out)
            self.names, self.cdf = [destinations], None
            return
        self.names = list(destinations)
        weights = np.array([destinations[n] for n in self.names], dtype=float)
        cdf = np.cumsum(weights / weights.sum())
        self.cdf = (cdf / cdf[-1]).tolist()

    def __call__(self, rng: np.random.Generator) -> str:
        if self.cdf is None:
            return self.names[0]
        return self.names[bisect.bisect_right(self.cdf, rng.random())]


def plan_flights(scenario: Scenario, streams) -> list[FlightPlan]:
    """Every planned flight of the run: scheduled evacuation flights and troop carriers."""
    start, horizon = scenario.start, scenario.horizon_h
    hours = functools.partial(hours_between, start)
    plans: list[dict] = []  # FlightPlan fields but the id, given once they are in order
    for key, sched in scenario.flights.items():
        if sched.fleet is not None:
            continue  # sorties come out of the fleet's cycle as the run goes (Flights)
        rng = streams[f"flights/{key}"]
        choose = _Chooser(sched.destinations)
        by_weight = (
            sorted(sched.destinations, key=lambda n: -sched.destinations[n])
            if sched.divert and isinstance(sched.destinations, dict)
            else []
        )
        if sched.timetable is not None:
            for when in sched.timetable:
                plans.append(
                    dict(
                        schedule=key,
                        operator=sched.operator,
                        aircraft=sched.aircraft,
                        slot_h=hours(when),
                        destination=(destination := choose(rng)),
                        max_extra_wait_h=sched.max_extra_wait,
                        alternates=tuple(n for n in by_weight if n != destination),
                    )
                )
            continue
        times, values = step_profile(sched.per_day, start, horizon)
        s_h, e_h = max(hours(sched.start), 0.0), min(hours(sched.end), horizon)
        t = s_h
        while t < e_h:
            window = min(24.0, e_h - t)
            value = values[np.searchsorted(times, t, side="right") - 1]
            if isinstance(value, tuple):
                per_day = float(rng.integers(int(value[0]), int(value[1]) + 1))
            else:
                per_day = float(value)
            expected = per_day * window / 24.0
            n = int(expected) + int(rng.random() < expected - int(expected))
            jitter = sched.slot_jitter * rng.uniform(-0.5, 0.5, n)
            offsets = (np.arange(n) + 0.5 + jitter) / max(n, 1)
            for offset in offsets:
                destination = choose(rng)
                plans.append(
                    dict(
                        schedule=key,
                        operator=sched.operator,
                        aircraft=sched.aircraft,
                        slot_h=t + offset * window,
                        destination=destination,
                        max_extra_wait_h=sched.max_extra_wait,
                        alternates=tuple(n for n in by_weight if n != destination),
                    )
                )
            t += 24.0
    for key, dep in scenario.forces.deployments.items():
        rng = streams[f"deployments/{key}"]
        choose = _Chooser(dep.destinations)
        n = math.ceil(dep.troops / dep.per_aircraft) if dep.troops else 0
        s_h, e_h = hours(dep.start), hours(dep.end)
        for k in range(n):
            slot = s_h + (e_h - s_h) * (k + 0.5) / n if e_h > s_h else s_h
            plans.append(
                dict(
                    schedule=f"deployment:{key}",
                    operator=dep.operator,
                    aircraft=dep.aircraft,
                    slot_h=slot,
                    destination=choose(rng) if dep.evacuates else None,
                    troops=min(dep.per_aircraft, dep.troops - k * dep.per_aircraft),
                    nation=dep.nation,
                    evacuates=dep.evacuates,
                )
            )
    plans.sort(key=lambda p: (p["slot_h"], p["schedule"]))
    return [FlightPlan(fid=i, **p) for i, p in enumerate(plans)]


@dataclasses.dataclass(frozen=True, slots=True)
class FleetPlan:
    """One fleet's aircraft and cycle, in hours (see :class:`evacsim.scenario.schema.Fleet`)."""

    schedule: str
    operator: str
    aircraft: str
    size: int  # aircraft in the fleet
    home: str | None  # base the aircraft start from (None: a final destination)
    start_h: float  # first take-off from home
    end_h: float  # no sortie begins from here on
    block_h: dict[str | None, float]  # flight time each way, by base (None: direct)
    at_base_h: float  # time on the ground at a base between sorties
    first_every_h: float  # spacing of the first take-offs
    duty_h: float  # crew duty limit (inf: none)
    rest_h: float
    max_extra_wait_h: float
    choose: _Chooser
    rng: np.random.Generator
    by_weight: tuple[str, ...] = ()  # bases to divert to, heaviest first (schedule's divert)


def plan_fleets(scenario: Scenario, streams) -> list[FleetPlan]:
    """The fleets of the run, resolved to hours (their sorties are flown as the run goes)."""
    hours = functools.partial(hours_between, scenario.start)
    fleets = []
    for key, sched in scenario.flights.items():
        fleet = sched.fleet
        if fleet is None:
            continue
        dest = sched.destinations
        names = list(dest) if isinstance(dest, dict) else [dest]
        home = fleet.home if fleet.home is not None else names[0]
        block = {
            b: fleet.block_time if fleet.block_time is not None else scenario.staging[b].flight_time
            for b in {home, *names}
        }
        turnaround = scenario.aircraft[sched.aircraft].turnaround
        at_base = turnaround if fleet.turnaround_at_base is None else fleet.turnaround_at_base
        cycle = 2 * block[home] + turnaround + at_base
        every = (
            cycle / fleet.aircraft
            if fleet.first_departures_every is None
            else (fleet.first_departures_every)
        )
        fleets.append(
            FleetPlan(
                schedule=key,
                operator=sched.operator,
                aircraft=sched.aircraft,
                size=fleet.aircraft,
                home=home,
                start_h=hours(sched.start),
                end_h=hours(sched.end),
                block_h=block,
                at_base_h=at_base,
                first_every_h=every,
                duty_h=fleet.crew.duty if fleet.crew else math.inf,
                rest_h=fleet.crew.rest if fleet.crew else 0.0,
                max_extra_wait_h=sched.max_extra_wait,
                choose=_Chooser(dest),
                rng=streams[f"flights/{key}"],
                by_weight=tuple(sorted(dest, key=lambda n: -dest[n]))
                if sched.divert and isinstance(dest, dict)
                else (),
            )
        )
    return fleets


DIRECT = "(direct)"
"""Destination label of flights that go direct to a final destination (no staging base)."""


class Flights:
    """Runs every planned flight and every fleet's sorties; keeps their records and the
    departures tally."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        plans: list[FlightPlan],
        scenario: Scenario,
        airfield: Airfield,
        holding: Holding,
        forces: Forces,
        bases: dict[str, StagingBase],
        ledger: Ledger,
        rules: dict[str, SeatRule],
        ends_h: dict[str, float],
        fleets: list[FleetPlan] = (),
        horizon_h: float = math.inf,
    ):
        self.env = env
        self.scenario = scenario
        self.airfield = airfield
        self.holding = holding
        self.forces = forces
        self.bases = bases
        self.ledger = ledger
        self.rules = rules  # operator -> its seat allocation rule
        self.ends_h = ends_h  # operator -> time it stops launching flights
        self.surge_over = scenario.airfield.surge_when_waiting_over
        # Part-empty aircraft waiting to fill, first come first woken: (event, categories).
        self._filling: list[tuple[simpy.Event, frozenset[int]]] = []
        self.records: dict[int, FlightRecord] = {}
        self._state: dict[int, FlightState] = {}  # flights begun and not yet departed
        # People evacuated, keyed by (minute since start, category index, operator,
        # destination): minutes so that any reporting day (whole minutes) counts them exactly.
        self.departures: dict[tuple[int, int, str, str], int] = {}
        self.direct = 0  # people flown direct to a final destination
        self.horizon_h = horizon_h
        self.sorties: list[FlightPlan] = []  # fleets' sorties, planned as they begin
        self._next_fid = len(plans)
        env.process(self._launch(plans))
        # A fleet's own block time to each of its bases, for a sortie that diverts.
        self._fleet_block = {(f.schedule, b): h for f in fleets for b, h in f.block_h.items()}
        for fleet in fleets:
            for k in range(fleet.size):
                env.process(self._cycle(fleet, k))

    def _launch(self, plans: list[FlightPlan]):
        """Start each flight's process at its slot (one pending event, not one per flight)."""
        env = self.env
        for plan in sorted(plans, key=lambda p: p.slot_h):
            if plan.slot_h > env.now:
                yield env.timeout(plan.slot_h - env.now)
            env.process(self._fly(plan))

    def _cycle(self, fleet: FleetPlan, k: int):
        """Aircraft ``k`` of ``fleet``: base -> airfield -> destination, again and again.

        A sortie begins when the aircraft leaves its base (before the fleet's end and its
        operator's, and only if it would reach the airfield before the deadline). With a crew
        duty limit, a sortie whose planned legs (block time both ways and the turnaround at
        the airfield) would end past the limit waits for a rested crew first.
        """
        env = self.env
        first = fleet.start_h + k * fleet.first_every_h
        if first > env.now:
            yield env.timeout(first - env.now)
        end_h = min(fleet.end_h, self.ends_h.get(fleet.operator, math.inf))
        turnaround = self.scenario.aircraft[fleet.aircraft].turnaround
        base, duty_from = fleet.home, env.now
        while env.now < end_h:
            destination = fleet.choose(fleet.rng)
            block_in, block_out = fleet.block_h[base], fleet.block_h[destination]
            if env.now + block_in + turnaround + block_out - duty_from > fleet.duty_h:
                yield env.timeout(fleet.rest_h)
                duty_from = env.now
                if env.now >= end_h:
                    break
            if env.now + block_in >= self.horizon_h:
                break  # it would not reach the airfield before the deadline
            plan = FlightPlan(
                fid=self._next_fid,
                schedule=fleet.schedule,
                operator=fleet.operator,
                aircraft=fleet.aircraft,
                slot_h=env.now + block_in,
                destination=destination,
                max_extra_wait_h=fleet.max_extra_wait_h,
                tail=k,
                block_h=block_out,
                alternates=tuple(n for n in fleet.by_weight if n != destination),
            )
            self._next_fid += 1
            self.sorties.append(plan)
            yield env.timeout(block_in)
            yield from self._fly(plan)
            record = self.records[plan.fid]
            if record.status == "cancelled":
                break
            base = record.destination if record.destination in fleet.block_h else destination
            yield env.timeout(fleet.block_h[base] + fleet.at_base_h)

    def _someone_to_board(self, category: int) -> None:
        """A group of ``category`` is waiting: wake the first aircraft filling up that takes it."""
        for i, (ready, categories) in enumerate(self._filling):
            # An aircraft whose wait just ran out is awake already (it leaves the list itself).
            if category in categories and not ready.triggered:
                self._stop_filling(i)
                ready.succeed()
                return

    def _start_filling(self, entry: tuple[simpy.Event, frozenset[int]]) -> None:
        """An aircraft waits for more people; holding tells of every arrival while any does."""
        self._filling.append(entry)
        self.holding.watch(self._someone_to_board)

    def _stop_filling(self, index: int) -> None:
        del self._filling[index]
        if not self._filling:
            self.holding.watch(None)

    def _seats(self, aircraft: str) -> int:
        spec = self.scenario.aircraft[aircraft]
        if self.surge_over is not None and self.holding.waiting > self.surge_over:
            return spec.max_seats
        return spec.seats

    def _fly(self, plan: FlightPlan):
        env, airfield = self.env, self.airfield
        state = self._state[plan.fid] = FlightState()
        if env.now >= self.ends_h.get(plan.operator, math.inf):
            state.status = "cancelled"
            self._finish(plan, state)
            return
        spot = yield from airfield.park()
        yield from airfield.movement()
        state.t_land = env.now
        state.status = "on_ground"
        if plan.troops:
            self.forces.arrive(plan.nation, plan.troops)
        yield env.timeout(self.scenario.aircraft[plan.aircraft].turnaround)

        load = 0
        if plan.evacuates:
            seats = state.seats = self._seats(plan.aircraft)
            state.t_board = env.now
            troops_out = state.troops_out = self.forces.board(plan.operator, seats)
            seats -= troops_out
            rule, holding = self.rules[plan.operator], self.holding
            quota = rule.quota_room(seats)
            groups = state.groups
            groups += rule.board_first(holding, seats, env.now, quota)
            load = sum(g.size for g in groups)
            leave_by = env.now + plan.max_extra_wait_h
            while load < seats and env.now < leave_by:
                ready = env.event()
                entry = (ready, rule.wakers(quota))
                self._start_filling(entry)
                yield event_or_timeout(env, ready, leave_by - env.now)
                if entry in self._filling:
                    self._stop_filling(self._filling.index(entry))
                more = rule.board_first(holding, seats - load, env.now, quota)
                groups += more
                load += sum(g.size for g in more)
            if load < seats:
                more = rule.board_spare(holding, seats - load, env.now)
                groups += more
                load += sum(g.size for g in more)
                if load < seats and holding.waiting:
                    state.may_not_board = rule.may_not_board(holding, quota)
            if load and plan.destination is not None:  # direct flights are never held
                base = self.bases[plan.destination]
                state.t_hold = env.now
                if plan.alternates and not base.has_room(load):
                    base = yield from self._divert(plan, load)
                    state.destination = base.name
                yield from base.claim(load)
                state.held_h = env.now - state.t_hold

        yield from airfield.movement()
        airfield.leave(spot)
        now = state.t_depart = env.now
        state.status = "departed"
        fid, operator = plan.fid, plan.operator
        destination = state.destination or plan.destination
        minute = int(now * 60)
        if destination is None:
            destination = DIRECT
        move, departures = self.ledger.move, self.departures
        for group in state.groups:
            group.flight = fid
            move(group, EVACUATED, now)
            key = (minute, group.cat, operator, destination)
            departures[key] = departures.get(key, 0) + group.size
        if load:
            if plan.destination is None:
                self.direct += load
            else:
                landing = state.destination or plan.destination
                block_h = plan.block_h if landing == plan.destination else None
                if plan.tail >= 0 and landing != plan.destination:
                    block_h = self._fleet_block.get((plan.schedule, landing))
                env.process(self.bases[landing].fly_in(load, block_h))
        self._finish(plan, state)
        del self._state[plan.fid]  # departed: keep the record, let its groups go

    def _divert(self, plan: FlightPlan, load: int):
        """The planned base is full: the first of the plan's bases with room for ``load``,
        waiting (held on the ramp, booked against the planned base) while none has any."""
        planned = self.bases[plan.destination]
        candidates = [planned] + [self.bases[name] for name in plan.alternates]
        held = False
        while True:
            for base in candidates:
                if base.has_room(load):
                    if held:
                        planned.hold(-1)
                    return base
            if not held:
                planned.hold(+1)
                held = True
            freed = self.env.event()
            for base in candidates:
                base.space_freed.also_wakes(freed)
            yield freed

    def _finish(self, plan: FlightPlan, state: FlightState) -> None:
        groups = state.groups
        self.records[plan.fid] = FlightRecord(
            fid=plan.fid,
            schedule=plan.schedule,
            operator=plan.operator,
            aircraft=plan.aircraft,
            tail=plan.tail,
            destination=DIRECT
            if plan.destination is None and plan.evacuates
            else (state.destination or plan.destination or ""),
            slot_h=plan.slot_h,
            t_land=state.t_land,
            t_board=state.t_board,
            t_depart=state.t_depart,
            seats=state.seats,
            troops_in=plan.troops,
            troops_out=state.troops_out,
            boarded=sum(g.size for g in groups),
            may_not_board=state.may_not_board,
            held_for_staging_h=state.held_for_staging_h(self.env.now),
            status=state.status,
        )

    def close(self, plans: list[FlightPlan]) -> None:
        """At the deadline: record flights that had not departed (and those never begun)."""
        for plan in [*plans, *self.sorties]:
            if plan.fid in self.records:
                continue
            state = self._state.get(plan.fid) or FlightState(status="not_started")
            self._finish(plan, state)

    def aboard(self) -> list[Group]:
        """Groups aboard aircraft that have not left."""
        states = self._state.values()
        return [g for state in states if state.status != "departed" for g in state.groups]
