"""The timeline: dated events that change the rules mid-run.

Each scenario event becomes one SimPy process that sleeps until its time and then changes
the component it names: a gate closes, a gate admits other categories, a staging base
changes size, an incident shuts gates, pauses processing and scatters the crowd, an
operator stops flying or its flights may carry other categories. Events known before the run
starts (runway closures, arrivals stopped, operators' end dates) are handed to their
components when the model is built; they are still listed here so every event appears in the
results' event table.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import simpy

from evacsim.scenario.schema import (
    ArrivalsStopped,
    EligibilityChanged,
    GateClosed,
    GatePolicy,
    Incident,
    OperatorEnds,
    RunwayClosed,
    Scenario,
    StagingCapacity,
)
from evacsim.scenario.units import hours_between

from .demand import category_set
from .gates import Crowd, Gate
from .screening import Screening
from .seats import SeatRule
from .staging import StagingBase

__all__ = ["EventRecord", "Timeline"]


class EventRecord(NamedTuple):
    """One timeline event as it happened (hours since start)."""

    name: str
    type: str
    t_h: float
    until_h: float
    detail: str


class Timeline:
    """Applies the scenario's events to the components they name, at their times."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        scenario: Scenario,
        categories: list[str],
        crowd: Crowd,
        gates: dict[str, Gate],
        screening: Screening,
        bases: dict[str, StagingBase],
        seat_rules: dict[str, SeatRule],
    ):
        self.env = env
        self.seat_rules = seat_rules
        self.categories = categories
        self.crowd = crowd
        self.gates = gates
        self.screening = screening
        self.bases = bases
        self.records: list[EventRecord] = []
        start = scenario.start
        for name, event in sorted(scenario.events.items(), key=lambda kv: kv[1].at):
            at_h = hours_between(start, event.at)
            until = getattr(event, "until", None)
            until_h = hours_between(start, until) if until else math.nan
            env.process(self._apply(name, event, at_h, until_h))

    def _apply(self, name: str, event, at_h: float, until_h: float):
        env, gates = self.env, self.gates
        if at_h > env.now:
            yield env.timeout(at_h - env.now)
        now = env.now
        detail = ""
        if isinstance(event, GateClosed):
            for gate in event.gates:
                gates[gate].close(now, until_h if not math.isnan(until_h) else math.inf)
            detail = ", ".join(event.gates)
        elif isinstance(event, GatePolicy):
            admits = category_set(self.categories, event.admits)
            names = gates if event.gates == "all" else event.gates
            for gate in names:
                gates[gate].set_policy(admits)
            detail = f"admits {event.admits if event.admits == 'all' else ', '.join(event.admits)}"
        elif isinstance(event, StagingCapacity):
            self.bases[event.base].set_capacity(event.capacity, event.onward_per_day)
            detail = f"{event.base}: capacity {event.capacity}"
        elif isinstance(event, Incident):
            for gate in event.gates_closed:
                gates[gate].close(now, math.inf)
            if event.pause > 0:
                until_h = now + event.pause
                for gate in gates.values():
                    gate.pause(until_h)
                self.screening.pause(until_h)
            crowd, share = self.crowd, event.crowd_dispersed
            dispersed = crowd.disperse(now, share) if share else 0
            detail = f"gates shut: {', '.join(event.gates_closed) or 'none'}; dispersed {dispersed}"
        elif isinstance(event, EligibilityChanged):
            index = {n: i for i, n in enumerate(self.categories)}
            self.seat_rules[event.operator].change(
                [index[c] for c in event.adds], [index[c] for c in event.removes]
            )
            detail = f"{event.operator}: " + "; ".join(
                f"{verb} {', '.join(cats)}"
                for verb, cats in (("adds", event.adds), ("removes", event.removes))
                if cats
            )
        elif isinstance(event, OperatorEnds):
            detail = event.operator  # applied when flights are launched (see Model)
        elif isinstance(event, RunwayClosed):
            detail = "all runways"  # applied by the airfield (see Model)
        elif isinstance(event, ArrivalsStopped):
            cats = event.categories
            detail = "all" if cats == "all" else ", ".join(cats)  # applied to the arrival plan
        self.records.append(EventRecord(name, event.type, now, until_h, detail))
