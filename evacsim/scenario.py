"""The scenario: every input of a run, validated once into frozen typed objects.

A scenario file is YAML. It is validated here, at the boundary, into the pydantic models
below (``extra="forbid"``: an unknown key is an error, never silently ignored). The model
reads only these objects. Times are local date-times (``2021-08-16T18:00``), durations carry
a unit (``45min``, ``2h``, ``1.5d``) and become hours; rates are named with their unit
(``throughput_per_h``, ``per_day``).

Named mappings (``gates: {abbey: ...}``) rather than lists keep every field reachable by a
readable path such as ``flights.us_c17.per_day``.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .units import format_duration, parse_duration, parse_timestamp

__all__ = [
    "AircraftType",
    "Airfield",
    "Category",
    "DurationDist",
    "Event",
    "FlightSchedule",
    "Forces",
    "Gate",
    "Holding",
    "Operator",
    "Scenario",
    "Screening",
    "StagingBase",
]

# --------------------------------------------------------------------------- field types

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)\s*[a-zA-Z]+\s*$"},
                {"const": 0},
            ],
            "description": "A duration with a unit: '30s', '45min', '2h', '1.5d', '1w'.",
            "examples": ["45min", "2h", "1.5d"],
        }
    ),
]
"""A duration written with a unit; hours inside."""


def _format_timestamp(value: dt.datetime) -> str:
    return value.isoformat(timespec="minutes")


Timestamp = Annotated[
    dt.datetime,
    BeforeValidator(parse_timestamp),
    PlainSerializer(_format_timestamp, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "description": "Local date-time at the airport, '2021-08-16T18:00', or a date.",
            "examples": ["2021-08-16T18:00", "2021-08-16"],
        }
    ),
]
"""A local date-time at the airport."""

NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]


class _Frozen(BaseModel):
    """Base: unknown keys are errors, objects are immutable after validation."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


# --------------------------------------------------------------------------- distributions


class Fixed(_Frozen):
    """Always the same duration."""

    dist: Literal["fixed"] = "fixed"
    value: Duration = Field(description="The duration (h).")

    @property
    def mean_h(self) -> float:
        return self.value

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)


class Exponential(_Frozen):
    """Exponential (memoryless) durations: Poisson-process service or patience."""

    dist: Literal["exponential"]
    mean: Duration = Field(gt=0, description="Mean duration (h).")

    @property
    def mean_h(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


class LogNormal(_Frozen):
    """Log-normal durations given by their mean and coefficient of variation."""

    dist: Literal["lognormal"]
    mean: Duration = Field(gt=0, description="Mean duration (h).")
    cv: float = Field(gt=0, description="Coefficient of variation (standard deviation / mean).")

    @property
    def mean_h(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), size)


class Gamma(_Frozen):
    """Gamma durations given by their mean and coefficient of variation (Erlang for cv=1/√k)."""

    dist: Literal["gamma"]
    mean: Duration = Field(gt=0, description="Mean duration (h).")
    cv: float = Field(gt=0, description="Coefficient of variation (standard deviation / mean).")

    @property
    def mean_h(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean / shape, size)


class Uniform(_Frozen):
    """Uniform durations between ``low`` and ``high``."""

    dist: Literal["uniform"]
    low: Duration = Field(ge=0, description="Shortest duration (h).")
    high: Duration = Field(ge=0, description="Longest duration (h).")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError("high must not be below low")
        return self

    @property
    def mean_h(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Triangular(_Frozen):
    """Triangular durations: ``low`` ≤ ``mode`` ≤ ``high``."""

    dist: Literal["triangular"]
    low: Duration = Field(ge=0, description="Shortest duration (h).")
    mode: Duration = Field(ge=0, description="Most likely duration (h).")
    high: Duration = Field(ge=0, description="Longest duration (h).")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError("expected low <= mode <= high")
        return self

    @property
    def mean_h(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.high == self.low:
            return np.full(size, self.low)
        return rng.triangular(self.low, self.mode, self.high, size)


def _shorthand_fixed(value: Any) -> Any:
    """``service: 10min`` is shorthand for ``{dist: fixed, value: 10min}``."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


DurationDist = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Uniform | Triangular,
    BeforeValidator(_shorthand_fixed),
    Field(discriminator="dist"),
]
"""A duration distribution: ``{dist: exponential, mean: 10min}`` or a fixed ``10min``."""

PerDay = Annotated[float, Field(ge=0)] | tuple[NonNegative, NonNegative]
"""A daily count: a number, or ``[low, high]`` for a uniform whole number in that range."""


def _check_range(value: Any) -> Any:
    if isinstance(value, tuple) and value[1] < value[0]:
        raise ValueError(f"range [{value[0]}, {value[1]}] has high below low")
    return value


# --------------------------------------------------------------------------- components


class Category(_Frozen):
    """One kind of evacuee: who they are, how many, when they come, who may fly them."""

    label: str | None = Field(None, description="Display name; defaults to the key.")
    pool: int = Field(ge=0, description="People eligible in this category (persons).")
    priority: int = Field(
        1, ge=0, description="Queue priority at every stage: 0 is served first, then 1, ..."
    )
    arrivals_per_day: float | dict[Timestamp, NonNegative] = Field(
        description=(
            "People per day arriving at the perimeter: a constant, or a step profile "
            "{date-time: rate} where each rate holds from its time until the next key "
            "(before the first key the rate is 0). Arrivals stop once the pool has arrived."
        )
    )
    group_size: dict[int, NonNegative] = Field(
        default_factory=lambda: {1: 1.0},
        description="Group (family) size distribution {size: weight}; groups stay together.",
    )
    operators: list[Name] | Literal["all"] = Field(
        "all", description="Operators whose flights may carry this category."
    )
    turned_away: Share = Field(0.0, description="Share of groups refused at screening.")
    patience: DurationDist | None = Field(
        None, description="How long a group waits outside before giving up; none = forever."
    )
    return_probability: Share = Field(
        0.0, description="Chance that a group that gave up (or was dispersed) comes back."
    )
    return_after: DurationDist = Field(
        default_factory=lambda: Fixed(value="12h"),
        description="Delay before a group that gave up comes back to the gates.",
    )

    @field_validator("group_size")
    @classmethod
    def _sizes(cls, value: dict[int, float]) -> dict[int, float]:
        if not value:
            raise ValueError("needs at least one group size")
        if any(size < 1 for size in value):
            raise ValueError("group sizes must be 1 or more")
        if sum(value.values()) <= 0:
            raise ValueError("group size weights must not all be 0")
        return value

    @property
    def mean_group_size(self) -> float:
        sizes = np.array(list(self.group_size), dtype=float)
        weights = np.array(list(self.group_size.values()), dtype=float)
        return float((sizes * weights).sum() / weights.sum())


class Gate(_Frozen):
    """An entry point in the perimeter: who it lets in, how fast, and the troops it needs."""

    throughput_per_h: float | None = Field(
        gt=0, description="People admitted per hour while open and manned; null = no limit."
    )
    min_troops: int = Field(0, ge=0, description="Troops on duty needed to operate the gate.")
    admits: list[Name] | Literal["all"] = Field(
        "all", description="Categories admitted (changeable by gate_policy events)."
    )
    daily_hours: tuple[Duration, Duration] | None = Field(
        None,
        description=(
            "Daily opening window [open, close] as times since midnight, e.g. [6h, 22h]; "
            "null = round the clock."
        ),
    )
    open_from: Timestamp | None = Field(None, description="First opening; null = from start.")
    closed_from: Timestamp | None = Field(None, description="Permanent closure; null = never.")
    order: int = Field(
        0, description="Manning order: gates with lower order get troops first, then by name."
    )

    @field_validator("daily_hours")
    @classmethod
    def _window(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None:
            open_h, close_h = value
            if not (0 <= open_h < close_h <= 24):
                raise ValueError("expected 0h <= open < close <= 24h")
        return value


class Screening(_Frozen):
    """Consular screening lanes inside the perimeter."""

    lanes: int | dict[Timestamp, Annotated[int, Field(ge=0)]] = Field(
        description="Lanes (consular teams) scheduled: a number or a step profile {time: lanes}."
    )
    troops_per_lane: int = Field(0, ge=0, description="Troops on duty needed to run one lane.")
    service: DurationDist = Field(description="Screening time per group (h).")
    per_person: Duration = Field(0.0, ge=0, description="Extra screening time per person (h).")


class Holding(_Frozen):
    """The area inside the airport where people wait: screening queue and screened alike."""

    capacity: int | None = Field(
        None, ge=1, description="People inside at most; gates stop when full. null = no limit."
    )


class Airfield(_Frozen):
    """Runways and ramp."""

    runways: int = Field(1, ge=1, description="Runways usable at once.")
    separation: Duration = Field(
        description="Runway occupancy per movement (landing or take-off), i.e. minimum spacing."
    )
    ramp_capacity: int = Field(ge=1, description="Aircraft on the ground at most (MOG).")
    surge_when_waiting_over: int | None = Field(
        None,
        ge=0,
        description=(
            "Aircraft board up to their surge seats when more people than this wait inside; "
            "null = never surge."
        ),
    )


class AircraftType(_Frozen):
    """An aircraft type: seats and time on the ground."""

    seats: int = Field(ge=0, description="Evacuee seats in normal loading (persons).")
    surge_seats: int | None = Field(
        None, ge=0, description="Evacuee seats when surging; defaults to seats."
    )
    turnaround: Duration = Field(gt=0, description="Minimum time on the ground (h).")

    @model_validator(mode="after")
    def _surge(self) -> AircraftType:
        if self.surge_seats is not None and self.surge_seats < self.seats:
            raise ValueError(
                f"surge_seats ({self.surge_seats}) is below seats ({self.seats}): "
                "expected surge_seats >= seats"
            )
        return self

    @property
    def max_seats(self) -> int:
        return self.seats if self.surge_seats is None else self.surge_seats


class Operator(_Frozen):
    """A nation or charter flying aircraft into the airport."""

    label: str | None = Field(None, description="Display name; defaults to the key.")
    ends: Timestamp | None = Field(
        None, description="No flights launched from this time on (null = until the deadline)."
    )


class FlightSchedule(_Frozen):
    """Evacuation flights of one operator and aircraft type over a date range."""

    operator: Name = Field(description="Operator key.")
    aircraft: Name = Field(description="Aircraft type key.")
    start: Timestamp = Field(alias="from", description="First day of the schedule.")
    end: Timestamp = Field(alias="to", description="End of the schedule (exclusive).")
    per_day: PerDay | dict[Timestamp, PerDay] = Field(
        description=(
            "Flights per day: a number, a range [low, high] drawn uniformly each day, or a "
            "step profile {date-time: number or range}."
        )
    )
    destinations: Name | dict[Name, NonNegative] = Field(
        description="Staging base, or {base: weight} to choose one per flight at random."
    )
    max_extra_wait: Duration = Field(
        0.0,
        ge=0,
        description="How long past its turnaround a part-empty aircraft waits to fill (h).",
    )
    slot_jitter: Share = Field(
        0.5, description="Random shift of each arrival slot, as a share of the slot spacing."
    )

    @field_validator("per_day")
    @classmethod
    def _ranges(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for item in value.values():
                _check_range(item)
            return value
        return _check_range(value)

    @model_validator(mode="after")
    def _span(self) -> FlightSchedule:
        if self.end <= self.start:
            raise ValueError("'to' must be after 'from'")
        return self


class Deployment(_Frozen):
    """Troops flown in: spread evenly over a window on aircraft of one operator."""

    nation: Name = Field(description="Nation the troops belong to.")
    troops: int = Field(ge=0, description="Troops flown in (persons).")
    start: Timestamp = Field(alias="from", description="First arrival.")
    end: Timestamp = Field(alias="to", description="Last arrival.")
    operator: Name = Field(description="Operator flying them (uses the runway and ramp).")
    aircraft: Name = Field(description="Aircraft type.")
    per_aircraft: int = Field(ge=1, description="Troops per aircraft (persons).")
    evacuates: bool = Field(True, description="Aircraft board evacuees before leaving.")
    destinations: Name | dict[Name, NonNegative] | None = Field(
        None, description="Where the aircraft then flies with evacuees (required if evacuates)."
    )

    @model_validator(mode="after")
    def _span(self) -> Deployment:
        if self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        if self.evacuates and self.destinations is None:
            raise ValueError("an aircraft that evacuates needs destinations")
        return self


class Withdrawal(_Frozen):
    """Troops leaving: taken off duty evenly over a window; they take seats if flown out."""

    nation: Name = Field(description="Nation the troops belong to.")
    troops: int = Field(ge=0, description="Troops leaving (persons).")
    start: Timestamp = Field(alias="from", description="Start of the drawdown.")
    end: Timestamp = Field(alias="to", description="End of the drawdown.")
    operator: Name | None = Field(
        None, description="Operator whose departing aircraft carry them first (null: not ours)."
    )

    @model_validator(mode="after")
    def _span(self) -> Withdrawal:
        if self.end < self.start:
            raise ValueError("'to' must not be before 'from'")
        return self


class Forces(_Frozen):
    """Troops on the ground, who man gates and screening lanes."""

    initial: dict[Name, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict, description="Troops on the ground at start, by nation."
    )
    duty_share: Share = Field(
        1.0, description="Share of troops on the ground available for gates and lanes."
    )
    deployments: dict[Name, Deployment] = Field(default_factory=dict)
    withdrawals: dict[Name, Withdrawal] = Field(default_factory=dict)


class StagingBase(_Frozen):
    """A base downstream where flights land; full bases hold departures."""

    capacity: int = Field(ge=0, description="People the base can hold (persons).")
    onward_per_day: NonNegative = Field(description="People flown onward per day.")
    flight_time: Duration = Field(ge=0, description="Flight time from the airport (h).")
    initial: int = Field(0, ge=0, description="People already there at start.")


# --------------------------------------------------------------------------- timeline events


class _Event(_Frozen):
    at: Timestamp = Field(description="When the event happens.")


class RunwayClosed(_Event):
    """No movements on any runway from ``at`` until ``until``."""

    type: Literal["runway_closed"]
    until: Timestamp


class GateClosed(_Event):
    """Gates shut from ``at`` (until ``until``, or for good)."""

    type: Literal["gate_closed"]
    gates: list[Name]
    until: Timestamp | None = None


class GatePolicy(_Event):
    """Gates admit only the named categories from ``at`` on."""

    type: Literal["gate_policy"]
    gates: list[Name] | Literal["all"] = "all"
    admits: list[Name] | Literal["all"]


class StagingCapacity(_Event):
    """A staging base's capacity (and optionally onward rate) changes."""

    type: Literal["staging_capacity"]
    base: Name
    capacity: int = Field(ge=0)
    onward_per_day: NonNegative | None = None


class Incident(_Event):
    """A security incident: gates shut, processing paused, crowd dispersed."""

    type: Literal["incident"]
    gates_closed: list[Name] = Field(default_factory=list, description="Gates shut for good.")
    pause: Duration = Field(0.0, ge=0, description="Gates and screening stop for this long.")
    crowd_dispersed: Share = Field(
        0.0, description="Share of the crowd outside that scatters (may return per category)."
    )


class OperatorEnds(_Event):
    """An operator launches no more flights from ``at``."""

    type: Literal["operator_ends"]
    operator: Name


class ArrivalsStopped(_Event):
    """People of these categories can no longer reach the perimeter from ``at``."""

    type: Literal["arrivals_stopped"]
    categories: list[Name] | Literal["all"]


Event = Annotated[
    RunwayClosed | GateClosed | GatePolicy | StagingCapacity | Incident | OperatorEnds
    | ArrivalsStopped,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- the scenario


class Scenario(_Frozen):
    """Every input of an evacuation run."""

    name: str = Field(description="Short name of the scenario.")
    description: str = Field("", description="What the scenario represents and why.")
    start: Timestamp = Field(description="Start of the simulated period (local time).")
    deadline: Timestamp = Field(description="The run ends here; whoever is not out is left behind.")
    demand: dict[Name, Category] = Field(description="Evacuee categories.")
    gates: dict[Name, Gate]
    screening: Screening
    holding: Holding = Field(default_factory=Holding)
    forces: Forces = Field(default_factory=Forces)
    airfield: Airfield
    aircraft: dict[Name, AircraftType]
    operators: dict[Name, Operator]
    flights: dict[Name, FlightSchedule] = Field(default_factory=dict)
    staging: dict[Name, StagingBase] = Field(default_factory=dict)
    events: dict[Name, Event] = Field(default_factory=dict)

    @property
    def horizon_h(self) -> float:
        """Length of the run (h)."""
        return (self.deadline - self.start).total_seconds() / 3600.0

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = list(reference_problems(self))
        if problems:
            # One error carrying every problem; the loader reports each on its own line.
            raise PydanticCustomError(
                "references", "{summary}", {"summary": "; ".join(problems), "problems": problems}
            )
        return self


def reference_problems(s: Scenario):
    """Yield 'path: what is wrong (expected)' for every dangling reference or bad time."""
    if s.deadline <= s.start:
        yield "deadline: must be after start"

    def known(path: str, name: str, table: dict, what: str):
        if name not in table:
            options = ", ".join(sorted(table)) or "none defined"
            return f"{path}: unknown {what} '{name}' (expected one of: {options})"
        return None

    def within(path: str, when: dt.datetime | None):
        if when is not None and not (s.start <= when <= s.deadline):
            return f"{path}: {when.isoformat(timespec='minutes')} is outside start..deadline"
        return None

    checks: list[str | None] = []
    for key, cat in s.demand.items():
        if cat.operators != "all":
            for op in cat.operators:
                checks.append(known(f"demand.{key}.operators", op, s.operators, "operator"))
    for key, gate in s.gates.items():
        if gate.admits != "all":
            for cat in gate.admits:
                checks.append(known(f"gates.{key}.admits", cat, s.demand, "category"))
    for key, fl in s.flights.items():
        checks.append(known(f"flights.{key}.operator", fl.operator, s.operators, "operator"))
        checks.append(known(f"flights.{key}.aircraft", fl.aircraft, s.aircraft, "aircraft type"))
        dests = [fl.destinations] if isinstance(fl.destinations, str) else list(fl.destinations)
        for d in dests:
            checks.append(known(f"flights.{key}.destinations", d, s.staging, "staging base"))
    for key, dep in s.forces.deployments.items():
        path = f"forces.deployments.{key}"
        checks.append(known(f"{path}.operator", dep.operator, s.operators, "operator"))
        checks.append(known(f"{path}.aircraft", dep.aircraft, s.aircraft, "aircraft type"))
        if dep.destinations is not None:
            dests = [dep.destinations] if isinstance(dep.destinations, str) else dep.destinations
            for d in dests:
                checks.append(known(f"{path}.destinations", d, s.staging, "staging base"))
    for key, wd in s.forces.withdrawals.items():
        if wd.operator is not None:
            checks.append(
                known(f"forces.withdrawals.{key}.operator", wd.operator, s.operators, "operator")
            )
    for key, ev in s.events.items():
        path = f"events.{key}"
        checks.append(within(f"{path}.at", ev.at))
        if isinstance(ev, GateClosed):
            checks.extend(known(f"{path}.gates", g, s.gates, "gate") for g in ev.gates)
        elif isinstance(ev, GatePolicy):
            if ev.gates != "all":
                checks.extend(known(f"{path}.gates", g, s.gates, "gate") for g in ev.gates)
            if ev.admits != "all":
                checks.extend(known(f"{path}.admits", c, s.demand, "category") for c in ev.admits)
        elif isinstance(ev, Incident):
            for g in ev.gates_closed:
                checks.append(known(f"{path}.gates_closed", g, s.gates, "gate"))
        elif isinstance(ev, StagingCapacity):
            checks.append(known(f"{path}.base", ev.base, s.staging, "staging base"))
        elif isinstance(ev, OperatorEnds):
            checks.append(known(f"{path}.operator", ev.operator, s.operators, "operator"))
        elif isinstance(ev, ArrivalsStopped) and ev.categories != "all":
            for c in ev.categories:
                checks.append(known(f"{path}.categories", c, s.demand, "category"))
        if isinstance(ev, RunwayClosed | GateClosed) and ev.until is not None and ev.until < ev.at:
            checks.append(f"{path}.until: must not be before 'at'")
    yield from (c for c in checks if c)
