"""Assembling the model: build, run and results are separate steps.

``build(scenario, seed)`` wires the components together (nothing runs), ``Model.run()``
advances the clock to the deadline and checks that every person is accounted for, and
``evacsim.results.collect(model)`` turns what the components recorded into a
:class:`~evacsim.results.RunResult`.

One evacuee's path, component by component: :mod:`.demand` (arrives in a group) →
:mod:`.gates` (waits in the crowd, may give up and return, passes a gate) → :mod:`.screening`
(queues, is screened or turned away) → :mod:`.holding` (waits inside for a seat) →
:mod:`.flights` (boards, takes off) → :mod:`.staging` (lands at a staging base).
:mod:`.forces`, :mod:`.airfield` and :mod:`.timeline` set the capacities along the way.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import gc
import logging
import math
import time

import numpy as np
import simpy

from evacsim.scenario.schema import ArrivalsStopped, OperatorEnds, RunwayClosed, Scenario
from evacsim.scenario.units import hours_between

from .airfield import Airfield
from .convoys import (
    AssemblyPoint,
    Convoys,
    GateQueue,
    people_before_perimeter,
    plan_assembly,
)
from .daily import DailyHours, clock_offset_h
from .demand import Stage, category_set, plan_arrivals, step_profile
from .flights import Flights, plan_fleets, plan_flights
from .forces import Forces
from .gates import Crowd, Gate
from .holding import Holding
from .ledger import Ledger
from .screening import Screening
from .seats import SeatRule
from .staging import StagingBase
from .streams import BufferedDraws, Streams
from .timeline import Timeline

__all__ = ["ConservationError", "Model", "build"]

log = logging.getLogger(__name__)


@contextlib.contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector (as it was, after).

    A run and its results tables make no reference cycles worth collecting, while each full
    collection walks every live group and record: with the collector on, a 16-times larger
    run spent 46% of its time in it (benchmarks/RESULTS.md). It collects afterwards instead.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _arrival_limits(
    scenario: Scenario, names: list[str], horizon: float
) -> tuple[dict[str, float], dict[str, tuple[list[float], list[float]]]]:
    """From the ``arrivals_stopped`` events: per category, the time (h) from which nobody
    gets through, and the step profile (times h, share passing) where some still do."""
    events = sorted(
        (e for e in scenario.events.values() if isinstance(e, ArrivalsStopped)),
        key=lambda e: e.at,
    )
    stop_h = {n: horizon for n in names}
    checkpoints: dict[str, tuple[list[float], list[float]]] = {}
    for event in events:
        at_h = (event.at - scenario.start).total_seconds() / 3600.0
        for n in names if event.categories == "all" else event.categories:
            if event.passing == 0:
                stop_h[n] = min(stop_h[n], at_h)
                continue
            times, shares = checkpoints.setdefault(n, ([], []))
            times.append(at_h)
            shares.append((shares[-1] if shares else 1.0) * event.passing)
    return stop_h, checkpoints


class ConservationError(RuntimeError):
    """People were created or lost: the model's books do not balance."""


class Model:
    """One replication of a scenario, ready to run."""

    def __init__(
        self, scenario: Scenario, seed: int | np.random.SeedSequence = 0, keep_records: bool = True
    ):
        self.seed = seed
        self.env = env = simpy.Environment()
        self.streams = streams = Streams(seed)
        # An uncertain deadline is drawn first, on its own stream (common random numbers hold
        # for every other source); this replication is then the scenario with that deadline.
        self.deadline_uncertain = not isinstance(scenario.deadline, dt.datetime)
        if self.deadline_uncertain:
            drawn = scenario.deadline.draw(streams["deadline"])
            scenario = scenario.model_copy(update={"deadline": drawn})
        self.scenario = scenario
        self.horizon_h = horizon = scenario.horizon_h
        self.start = start = scenario.start
        self.categories = names = list(scenario.demand)
        cats = [scenario.demand[n] for n in names]
        priorities = [c.priority for c in cats]
        hours = functools.partial(hours_between, start)
        clock = clock_offset_h(start)  # clock time at the start, for time-of-day rules
        self.ran = False
        self.wall_s = math.nan

        # Demand: every first arrival is drawn now, per category, from its own streams.
        stop_h, checkpoints = _arrival_limits(scenario, names, horizon)
        spec = scenario.screening
        self.arrival_plan = plan_arrivals(
            cats,
            names,
            start,
            horizon,
            stop_h,
            streams,
            (spec.service, spec.per_person),
            checkpoints,
        )
        # Assembly points (only when the scenario has any): their arrivals share the pool.
        planned_points = {}
        if scenario.assembly_points:
            self.arrival_plan, planned_points = plan_assembly(
                scenario, names, self.arrival_plan, streams, (spec.service, spec.per_person)
            )
        self.ledger = ledger = Ledger(names, horizon_h=horizon, keep_records=keep_records)

        # The crowd outside and the gates.
        def draws(stream: str, dist) -> BufferedDraws:
            return BufferedDraws(streams[stream], dist.draw)

        uniform = lambda stream: BufferedDraws(streams[stream], lambda r, n: r.random(n))  # noqa: E731
        self.crowd = Crowd(
            self.arrival_plan,
            priorities=priorities,
            ledger=ledger,
            horizon_h=horizon,
            return_probability=[c.return_probability for c in cats],
            return_delay=[
                draws(f"return_after/{n}", c.return_after) for n, c in zip(names, cats, strict=True)
            ],
            patience=[
                draws(f"patience_again/{n}", c.patience) if c.patience else None
                for n, c in zip(names, cats, strict=True)
            ],
            stop_h=[stop_h[n] for n in names],
            uniform=uniform("crowd"),
            checkpoints=[checkpoints.get(n) for n in names],
            checkpoint_draws=uniform("checkpoints") if checkpoints else None,
        )
        # The space inside (screening and holding together) is the holding area's, lent to
        # the gates, which claim it, and to screening, which frees it for those turned away.
        capacity = scenario.holding.capacity
        self.holding = Holding(
            env,
            priorities=priorities,
            capacity=math.inf if capacity is None else capacity,
            ledger=ledger,
            horizon_h=horizon,
        )
        lane_times, lane_values = step_profile(spec.lanes, start, horizon)
        self.screening = Screening(
            env,
            max_lanes=int(max(lane_values)),
            priorities=priorities,
            ledger=ledger,
            to_holding=self.holding.put,
            room=self.holding.room,
            horizon_h=horizon,
            batch_h=spec.batch,
        )
        # A gate that convoys deliver to with priority reads the crowd through its own queue.
        self.gate_queues = {
            c.gate: GateQueue(self.crowd) for c in scenario.convoys.values() if c.priority
        }
        self.gates = {
            name: Gate(
                env,
                name=name,
                spec=g,
                admits=category_set(names, g.admits),
                crowd=self.gate_queues.get(name, self.crowd),
                ledger=ledger,
                room=self.holding.room,
                screening=self.screening,
                horizon_h=horizon,
                open_from_h=hours(g.open_from) if g.open_from else 0.0,
                closed_from_h=hours(g.closed_from) if g.closed_from else math.inf,
                daily_hours=DailyHours(*g.daily_hours, clock) if g.daily_hours else None,
            )
            for name, g in scenario.gates.items()
        }

        # Forces man the gates and lanes.
        f = scenario.forces
        self.forces = Forces(
            env,
            initial=dict(f.initial),
            duty_share=f.duty_share,
            gates=list(self.gates.values()),
            screening=self.screening,
            troops_per_lane=spec.troops_per_lane,
            lane_schedule=(lane_times, lane_values),
            withdrawals=[
                (
                    w.nation,
                    w.troops,
                    max(hours(w.start), 0.0),
                    hours(w.end),
                    w.operator,
                    w.seats_per_troop,
                )
                for w in f.withdrawals.values()
            ],
            horizon_h=horizon,
        )

        # Airfield, staging bases and flights.
        closures = [
            (hours(e.at), hours(e.until))
            for e in scenario.events.values()
            if isinstance(e, RunwayClosed)
        ]
        a = scenario.airfield
        if a.runway_hours is not None:  # flying hours: one closure per night
            closures += DailyHours(*a.runway_hours, clock).shut_intervals(horizon)
        self.airfield = Airfield(
            env,
            runways=a.runways,
            separation_h=a.separation,
            ramp_capacity=a.ramp_capacity,
            closures_h=closures,
            horizon_h=horizon,
        )
        self.bases = {
            name: StagingBase(
                env,
                name=name,
                capacity=math.inf if b.capacity is None else b.capacity,
                onward_per_day=b.onward_per_day,
                flight_time_h=b.flight_time,
                initial=b.initial,
                horizon_h=horizon,
            )
            for name, b in scenario.staging.items()
        }
        ends_h = {op: hours(o.ends) if o.ends else math.inf for op, o in scenario.operators.items()}
        for event in scenario.events.values():
            if isinstance(event, OperatorEnds):
                ends_h[event.operator] = min(ends_h[event.operator], hours(event.at))
        index = {n: i for i, n in enumerate(names)}
        rules = {
            op: SeatRule(
                priorities=priorities,
                eligible=[
                    i for i, c in enumerate(cats) if c.operators == "all" or op in c.operators
                ],
                boarding=o.boarding,
                index=index,
            )
            for op, o in scenario.operators.items()
        }
        self.flight_plans = plan_flights(scenario, streams)
        self.flights = Flights(
            env,
            plans=self.flight_plans,
            scenario=scenario,
            airfield=self.airfield,
            holding=self.holding,
            forces=self.forces,
            bases=self.bases,
            ledger=ledger,
            rules=rules,
            ends_h=ends_h,
            fleets=plan_fleets(scenario, streams),
            horizon_h=horizon,
        )
        self.timeline = Timeline(
            env,
            scenario=scenario,
            categories=names,
            crowd=self.crowd,
            gates=self.gates,
            screening=self.screening,
            bases=self.bases,
            seat_rules=rules,
        )

        # Assembly points and convoys: the way in before the perimeter (none: not built).
        self.assembly_points = {
            name: AssemblyPoint(name, planned, priorities=priorities, horizon_h=horizon)
            for name, planned in planned_points.items()
        }
        self.convoys = None
        if scenario.convoys:
            self.convoys = Convoys(
                env,
                scenario,
                points=self.assembly_points,
                crowd=self.crowd,
                gates=self.gates,
                gate_queues=self.gate_queues,
                streams=streams,
                horizon_h=horizon,
                first_gid=len(self.arrival_plan),
            )

    # -- running ------------------------------------------------------------------------------

    def run(self) -> Model:
        """Run to the deadline, close the books and check conservation."""
        if self.ran:
            raise RuntimeError("a Model runs once; build another for another replication")
        self.ran = True
        started = time.perf_counter()
        with collector_paused():
            self.env.run(until=self.horizon_h)
        self.crowd.advance(self.horizon_h)  # give-ups and returns due before the deadline
        self.flights.close(self.flight_plans)
        for point in self.assembly_points.values():
            point.advance(self.horizon_h)  # everyone who gathered before the deadline
        if self.convoys is not None:
            self.convoys.close()
        present = self.present()
        self.ledger.close([g for groups in present.values() for g in groups])
        self.wall_s = time.perf_counter() - started
        self.check_conservation(present)
        log.info("ran %s to its deadline in %.2f s", self.scenario.name, self.wall_s)
        return self

    def _outside(self) -> list:
        """Groups in the crowd, and those half-way through a gate."""
        passing = [g.passing for g in self.gates.values() if g.passing is not None]
        queued = [g for q in self.gate_queues.values() for g in q.present()]
        return self.crowd.present() + passing + queued

    def people_before_perimeter(self) -> tuple[list[int], list[int], list[int]]:
        """(at assembly points, on the road, gathered in all) by category (people)."""
        return people_before_perimeter(self.assembly_points, self.convoys, len(self.categories))

    def present(self) -> dict[Stage, list]:
        """The groups each component holds now, by the stage they are booked in."""
        return {
            Stage.OUTSIDE: self._outside(),
            Stage.SCREENING: self.screening.present(),
            Stage.INSIDE: self.holding.present(),
            Stage.ABOARD: self.flights.aboard(),
        }

    def check_conservation(self, present: dict[Stage, list] | None = None) -> None:
        """Every person is accounted for, by two independent sets of books.

        The ledger's head-counts (kept move by move) must equal what the components hold
        (groups in the crowd, in screening, waiting, aboard), departures counted by flights,
        and people landed or in the air at staging bases; the journeys the statistics were made
        from must cover the same people (all but those gone away at the end); and arrived must
        equal evacuated + waiting at each stage + turned away + gone away.
        """
        led = self.ledger
        problems = []
        held = self.present() if present is None else present
        for stage, groups in held.items():
            counted = sum(g.size for g in groups)
            if counted != led.total(stage):
                problems.append(
                    f"{stage.name}: components hold {counted}, ledger {led.total(stage)}"
                )
        departed = sum(self.flights.departures.values())
        if departed != led.total(Stage.EVACUATED):
            problems.append(f"evacuated: flights {departed}, ledger {led.total(Stage.EVACUATED)}")
        at_bases = self.flights.direct + sum(b.received + b.inbound for b in self.bases.values())
        if at_bases != departed:
            problems.append(f"staging bases received {at_bases}, flights departed {departed}")
        for stage in Stage:
            if stage != Stage.AWAY and int(led.booked[stage].sum()) != led.total(stage):
                problems.append(
                    f"{stage.name}: statistics booked {int(led.booked[stage].sum())}, "
                    f"ledger {led.total(stage)}"
                )
        arrived = sum(led.arrived)
        accounted = sum(led.total(s) for s in Stage)
        if arrived != accounted:
            problems.append(f"arrived {arrived} != accounted for {accounted}")
        plan_people = int(self.arrival_plan.size[self.arrival_plan.time_h < self.horizon_h].sum())
        delivered = sum(self.convoys.delivered) if self.convoys is not None else 0
        if arrived != plan_people + delivered:
            problems.append(
                f"arrived {arrived} != planned first arrivals {plan_people} "
                f"+ delivered by convoys {delivered}"
            )
        if self.assembly_points:
            at_points, on_road, gathered = self.people_before_perimeter()
            if sum(gathered) != sum(at_points) + sum(on_road) + delivered:
                problems.append(
                    f"gathered at assembly points {sum(gathered)} != waiting there "
                    f"{sum(at_points)} + on the road {sum(on_road)} + delivered {delivered}"
                )
        if problems:
            raise ConservationError("; ".join(problems))


def build(
    scenario: Scenario, seed: int | np.random.SeedSequence = 0, keep_records: bool = True
) -> Model:
    """Wire a model for one replication of ``scenario`` with random streams from ``seed``."""
    return Model(scenario, seed, keep_records)
