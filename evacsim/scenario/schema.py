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
import difflib
import math
from collections.abc import Iterator
from typing import Annotated, Any, Literal

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from .bounds import (
    MAX_DURATION_H,
    MAX_PERSONS,
    MAX_RUN_DAYS,
    MAX_RUNWAYS,
    MAX_SEATS,
    PLAUSIBLE,
    Aircraft,
    GroupSize,
    Persons,
    PersonsPerDay,
    PersonsPerHour,
    Rank,
    Ratio,
    SignedRank,
    Troops,
    Weight,
)
from .units import format_clock, format_duration, parse_clock, parse_duration, parse_timestamp

__all__ = [
    "AircraftType",
    "Airfield",
    "AssemblyPoint",
    "Boarding",
    "Category",
    "Convoy",
    "Crew",
    "DailyWindow",
    "DurationDist",
    "EligibilityChanged",
    "Event",
    "Fleet",
    "FlightSchedule",
    "Forces",
    "Gate",
    "Holding",
    "Operator",
    "Scenario",
    "Screening",
    "StagingBase",
    "UncertainDeadline",
]

# --------------------------------------------------------------------------- field types

_DURATION_JSON_SCHEMA: dict[str, Any] = {
    "anyOf": [
        {
            "type": "string",
            "pattern": r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*[a-zA-Z]+\s*$",
        },
        {"const": 0},
    ],
    "description": "A duration with a unit: '30s', '45min', '2h', '1.5d', '1w'.",
    "examples": ["45min", "2h", "1.5d"],
}

Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    Field(ge=0, le=MAX_DURATION_H),
    PLAUSIBLE,
    PlainSerializer(format_duration, return_type=str),
    WithJsonSchema(_DURATION_JSON_SCHEMA),
]
"""A duration written with a unit; hours inside; from 0 up to the longest run."""
PositiveDuration = Annotated[Duration, Field(gt=0)]
"""A duration that must take time (a delay, a mean): more than 0, up to the longest run."""


def _format_timestamp(value: dt.datetime) -> str:
    # Minutes are what people write; seconds are kept when present so that a written-out
    # scenario reloads to exactly the same thing.
    exact = value.second or value.microsecond
    return value.isoformat(timespec="auto" if exact else "minutes")


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

ClockTime = Annotated[
    float,
    Field(ge=0, lt=24),  # hours after midnight (parse_clock refuses anything else first)
    BeforeValidator(parse_clock),
    PlainSerializer(format_clock, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\s*([01]?\d|2[0-3]):[0-5]\d\s*$",
            "description": "Local time of day at the airport, 'HH:MM' (quote it in YAML).",
            "examples": ["00:00", "11:30"],
        }
    ),
]
"""A local time of day, ``"HH:MM"``; hours since midnight inside, in [0, 24)."""


def _unit(unit: str) -> dict[str, str]:
    """JSON-schema annotation naming a field's unit; the scenario reference shows it."""
    return {"unit": unit}


NonNegative = Weight  # a relative weight: finite, non-negative
Share = Annotated[float, Field(ge=0, le=1)]
Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_\-]+$")]


class _Frozen(BaseModel):
    """Base: unknown keys are errors, objects are immutable after validation."""

    # allow_inf_nan=False: '.inf' or '.nan' in a rate or count is always a typo, never a value.
    model_config = ConfigDict(
        extra="forbid", frozen=True, populate_by_name=True, allow_inf_nan=False
    )


# --------------------------------------------------------------------------- distributions


class Fixed(_Frozen):
    """Always the same duration."""

    dist: Literal["fixed"] = Field("fixed", description="Distribution family: fixed.")
    value: Duration = Field(ge=0, description="The duration (h).")

    @property
    def mean_h(self) -> float:
        return self.value

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value)


class Exponential(_Frozen):
    """Exponential (memoryless) durations: Poisson-process service or patience."""

    dist: Literal["exponential"] = Field(description="Distribution family: exponential.")
    mean: PositiveDuration = Field(description="Mean duration (h).")

    @property
    def mean_h(self) -> float:
        return self.mean

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean, size)


class _MeanCV(_Frozen):
    """Durations given by their mean and coefficient of variation."""

    mean: PositiveDuration = Field(description="Mean duration (h).")
    cv: Ratio = Field(
        description="Coefficient of variation (standard deviation / mean).",
        json_schema_extra=_unit("ratio"),
    )

    @property
    def mean_h(self) -> float:
        return self.mean


class LogNormal(_MeanCV):
    """Log-normal durations given by their mean and coefficient of variation."""

    dist: Literal["lognormal"] = Field(description="Distribution family: lognormal.")

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        sigma2 = math.log1p(self.cv**2)
        mu = math.log(self.mean) - sigma2 / 2
        return rng.lognormal(mu, math.sqrt(sigma2), size)


class Gamma(_MeanCV):
    """Gamma durations given by their mean and coefficient of variation (Erlang for cv=1/√k)."""

    dist: Literal["gamma"] = Field(description="Distribution family: gamma.")

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        shape = 1.0 / self.cv**2
        return rng.gamma(shape, self.mean / shape, size)


class Uniform(_Frozen):
    """Uniform durations between ``low`` and ``high``."""

    dist: Literal["uniform"] = Field(description="Distribution family: uniform.")
    low: Duration = Field(ge=0, description="Shortest duration (h).")
    high: Duration = Field(ge=0, description="Longest duration (h).")

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            raise ValueError(
                f"high: {format_duration(self.high)} is below low {format_duration(self.low)} "
                "(expected low <= high)"
            )
        return self

    @property
    def mean_h(self) -> float:
        return (self.low + self.high) / 2

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)


class Triangular(_Frozen):
    """Triangular durations: ``low`` ≤ ``mode`` ≤ ``high``."""

    dist: Literal["triangular"] = Field(description="Distribution family: triangular.")
    low: Duration = Field(ge=0, description="Shortest duration (h).")
    mode: Duration = Field(ge=0, description="Most likely duration (h).")
    high: Duration = Field(ge=0, description="Longest duration (h).")

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            raise ValueError(
                f"mode: {format_duration(self.mode)} is not between low "
                f"{format_duration(self.low)} and high {format_duration(self.high)} "
                "(expected low <= mode <= high)"
            )
        return self

    @property
    def mean_h(self) -> float:
        return (self.low + self.mode + self.high) / 3

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        if self.high == self.low:
            return np.full(size, self.low)
        return rng.triangular(self.low, self.mode, self.high, size)


def shorthand_fixed(value: Any) -> Any:
    """``service: 10min`` is shorthand for ``{dist: fixed, value: 10min}``."""
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return {"dist": "fixed", "value": value}
    return value


class _ShorthandJsonSchema:
    """JSON schema of a distribution field: the distributions, or a plain duration."""

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        return {"anyOf": [_DURATION_JSON_SCHEMA, handler(core_schema)]}


_Dist = Annotated[
    Fixed | Exponential | LogNormal | Gamma | Uniform | Triangular,
    Field(discriminator="dist"),
]
# The shorthand validator sits OUTSIDE the discriminated union: inside it (as before), an
# optional field (``patience: DurationDist | None``) lost both the shorthand and the
# discriminator, so ``patience: 36h`` was refused.
DurationDist = Annotated[_Dist, BeforeValidator(shorthand_fixed), _ShorthandJsonSchema()]
"""A duration distribution: ``{dist: exponential, mean: 10min}`` or a fixed ``10min``."""


def _distinct_times(value: Any) -> Any:
    """A step profile may not name the same time twice (``2021-08-17`` and ``...T00:00``)."""
    if isinstance(value, dict):
        seen: dict[dt.datetime, Any] = {}
        for key in value:
            try:
                when = parse_timestamp(key)
            except ValueError:
                continue  # reported by the key's own validation
            if when in seen:
                raise ValueError(
                    f"'{seen[when]}' and '{key}' are the same time "
                    "(expected each time once in a step profile)"
                )
            seen[when] = key
    return value


DistinctTimes = BeforeValidator(_distinct_times)
"""Before-validator for step profiles ``{date-time: value}``: no time given twice."""

# Plausibility bounds: a magnitude far beyond any airlift is a typo (extra zeros), and would
# make a run grind for minutes or exhaust memory instead of failing at once.
MAX_ARRIVALS = 20_000_000
"""Most arrivals a category's rates may generate over the run (before its pool caps them).

A short burst far above the pool is a fine way to say 'everyone at once'; a rate that would
generate hundreds of millions of arrivals is a typo, and would exhaust memory."""
MAX_LANES = 10_000
"""Most screening lanes (Kabul had about 70)."""
MAX_FLIGHTS = 100_000
"""Most flights a run may plan, schedules and troop carriers together (Kabul: about 800)."""

ArrivalRate = PersonsPerDay
Lanes = Annotated[int, Field(ge=0, le=MAX_LANES)]

Seats = Annotated[int, Field(ge=0, le=MAX_SEATS), PLAUSIBLE]
"""Seats in one aircraft (persons)."""
FlightsPerDay = Annotated[float, Field(ge=0, le=MAX_FLIGHTS), PLAUSIBLE]
PerDay = FlightsPerDay | tuple[FlightsPerDay, FlightsPerDay]
"""A daily count: a number, or ``[low, high]`` for a uniform whole number in that range."""


def _check_range(value: Any) -> Any:
    if isinstance(value, tuple) and value[1] < value[0]:
        raise ValueError(
            f"range [{value[0]:g}, {value[1]:g}] has high below low "
            "(expected [low, high] with low <= high)"
        )
    return value


def _daily_window(value: Any) -> Any:
    """``[open, close]`` in clock hours; ``close < open`` runs across midnight."""
    open_h, close_h = value
    if not (0 <= open_h < 24 and 0 < close_h <= 24 and open_h != close_h):
        raise ValueError(
            f"[{format_duration(open_h)}, {format_duration(close_h)}] is not a daily window "
            "(expected [open, close] with 0h <= open < 24h, 0h < close <= 24h and open != "
            "close; close < open runs across midnight, e.g. [20h, 6h])"
        )
    return value


DailyWindow = Annotated[tuple[Duration, Duration], AfterValidator(_daily_window)]
"""Daily clock hours ``[open, close]`` (h since local midnight); may cross midnight."""


def window_hours(window: tuple[float, float] | None) -> list[tuple[float, float]]:
    """A daily window as clock intervals within one day (all day when None)."""
    if window is None:
        return [(0.0, 24.0)]
    open_h, close_h = window
    if close_h > open_h:
        return [(open_h, close_h)]
    return [(0.0, close_h), (open_h, 24.0)]


# --------------------------------------------------------------------------- components


class Category(_Frozen):
    """One kind of evacuee: who they are, how many, when they come, who may fly them."""

    label: str | None = Field(None, description="Display name; defaults to the key.")
    pool: Persons = Field(
        description="People eligible in this category (persons).",
        json_schema_extra=_unit("persons"),
    )
    priority: Rank = Field(
        1,
        description="Queue priority at every stage: 0 is served first, then 1, ...",
        json_schema_extra=_unit("rank"),
    )
    arrivals_per_day: Annotated[ArrivalRate | dict[Timestamp, ArrivalRate], DistinctTimes] = Field(
        description=(
            "People per day arriving at the perimeter: a constant, or a step profile "
            "{date-time: rate} where each rate holds from its time until the next key "
            "(before the first key the rate is 0). Arrivals stop once the pool has arrived."
        ),
        json_schema_extra=_unit("persons/day"),
    )
    arrival_hours: DailyWindow | None = Field(
        None,
        description=(
            "Daily clock hours [from, to] in which this category reaches the perimeter (a "
            "curfew from 22:00 to 05:00 is [5h, 22h]; daylight only, e.g. [6h, 18h]; across "
            "midnight, e.g. [20h, 4h]): each day's arrivals come in this window, in the same "
            "number. null = round the clock."
        ),
        json_schema_extra=_unit("h since midnight"),
    )
    group_size: dict[GroupSize, Weight] = Field(
        default_factory=lambda: {1: 1.0},
        description="Group (family) size distribution {size: weight}; groups stay together.",
        json_schema_extra=_unit("persons: weight"),
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
            raise ValueError("no group sizes given (expected at least one {size: weight})")
        if any(size < 1 for size in value):
            raise ValueError("a group size below 1 (expected sizes of 1 or more)")
        if sum(value.values()) <= 0:
            raise ValueError("every weight is 0 (expected at least one positive weight)")
        return value

    @property
    def mean_group_size(self) -> float:
        sizes = np.array(list(self.group_size), dtype=float)
        weights = np.array(list(self.group_size.values()), dtype=float)
        return float((sizes * weights).sum() / weights.sum())


class Gate(_Frozen):
    """An entry point in the perimeter: who it lets in, how fast, and the troops it needs."""

    throughput_per_h: PersonsPerHour | None = Field(
        description="People admitted per hour while open and manned; null = no limit.",
        json_schema_extra=_unit("persons/h"),
    )
    min_troops: Troops = Field(
        0,
        description="Troops on duty needed to operate the gate.",
        json_schema_extra=_unit("troops"),
    )
    admits: list[Name] | Literal["all"] = Field(
        "all", description="Categories admitted (changeable by gate_policy events)."
    )
    daily_hours: DailyWindow | None = Field(
        None,
        description=(
            "Daily opening window [open, close] as clock times since local midnight, e.g. "
            "[6h, 22h], or across midnight, e.g. [20h, 6h]; null = round the clock."
        ),
        json_schema_extra=_unit("h since midnight"),
    )
    open_from: Timestamp | None = Field(None, description="First opening; null = from start.")
    closed_from: Timestamp | None = Field(None, description="Permanent closure; null = never.")
    order: SignedRank = Field(
        0, description="Manning order: gates with lower order get troops first, then by name."
    )
    batch: Duration = Field(
        0.25,
        ge=0,
        description=(
            "Model resolution: the gate admits in waves of up to this long. A wave takes the "
            "groups waiting when it starts, each passing at its exact time; the next starts "
            "when it is done or, if nobody was waiting, when someone comes but no sooner than "
            "this long after it began. A later arrival, closure or pause waits at most this "
            "much longer. 0 = group by group (exact, slower)."
        ),
    )


class Screening(_Frozen):
    """Consular screening lanes inside the perimeter."""

    lanes: Annotated[Lanes | dict[Timestamp, Lanes], DistinctTimes] = Field(
        description="Lanes (consular teams) scheduled: a number or a step profile {time: lanes}.",
        json_schema_extra=_unit("lanes"),
    )
    troops_per_lane: Troops = Field(
        0,
        description="Troops on duty needed to run one lane.",
        json_schema_extra=_unit("troops/lane"),
    )
    service: DurationDist = Field(description="Screening time per group (h).")
    per_person: Duration = Field(
        0.0,
        ge=0,
        description="Extra screening time per person (h).",
        json_schema_extra=_unit("h/person"),
    )
    batch: Duration = Field(
        0.25,
        ge=0,
        description=(
            "Model resolution: the lanes commit every start due within this long at once (a "
            "group reaching a free lane starts then; one arriving after a start was "
            "committed, even of a better priority, waits at most this much longer), and hand "
            "on screened groups at most this much later, at their exact times. 0 = one by one "
            "(exact queueing, slower)."
        ),
        json_schema_extra=_unit("h"),
    )


class Holding(_Frozen):
    """The area inside the airport where people wait: screening queue and screened alike."""

    capacity: Annotated[int, Field(ge=1, le=MAX_PERSONS), PLAUSIBLE] | None = Field(
        None,
        description="People inside at most; gates stop when full. null = no limit.",
        json_schema_extra=_unit("persons"),
    )


class Airfield(_Frozen):
    """Runways and ramp."""

    runways: Annotated[int, Field(ge=1, le=MAX_RUNWAYS), PLAUSIBLE] = Field(
        1, description="Runways usable at once.", json_schema_extra=_unit("runways")
    )
    separation: Duration = Field(
        description="Runway occupancy per movement (landing or take-off), i.e. minimum spacing."
    )
    ramp_capacity: Aircraft = Field(
        description="Aircraft on the ground at most (MOG).",
        json_schema_extra=_unit("aircraft"),
    )
    runway_hours: DailyWindow | None = Field(
        None,
        description=(
            "Daily clock hours [open, close] when the runways may be used, e.g. night flying "
            "limits [5h, 23h], or night only across midnight [19h, 5h]: a movement due outside "
            "them waits for the next opening. null = round the clock."
        ),
        json_schema_extra=_unit("h since midnight"),
    )
    surge_when_waiting_over: Persons | None = Field(
        None,
        description=(
            "Aircraft board up to their surge seats when more people than this wait inside; "
            "null = never surge."
        ),
        json_schema_extra=_unit("persons"),
    )


class AircraftType(_Frozen):
    """An aircraft type: seats and time on the ground."""

    seats: Seats = Field(
        description="Evacuee seats in normal loading (persons).",
        json_schema_extra=_unit("persons"),
    )
    surge_seats: Seats | None = Field(
        None,
        description="Evacuee seats when surging; defaults to seats.",
        json_schema_extra=_unit("persons"),
    )
    turnaround: PositiveDuration = Field(description="Minimum time on the ground (h).")

    @model_validator(mode="after")
    def _surge(self) -> AircraftType:
        if self.surge_seats is not None and self.surge_seats < self.seats:
            raise ValueError(
                f"surge_seats: {self.surge_seats} is below seats {self.seats} "
                "(expected surge_seats >= seats)"
            )
        return self

    @property
    def max_seats(self) -> int:
        return self.seats if self.surge_seats is None else self.surge_seats


# --------------------------------------------------------------------------- seat allocation


class Boarding(_Frozen):
    """How one operator fills its seats: its own boarding order, quotas and spare seats.

    Without it, an operator's flights board every category it may carry (``demand.*.
    operators``) by the categories' ``priority``. With it, the operator boards the categories
    of ``order`` only, in that order, each up to its quota; when the aircraft is ready to
    leave (after ``max_extra_wait``), the seats still empty are spare and go to ``spare_to``
    and any over-quota people by the ``spare_seats`` rule.
    """

    order: list[Name | list[Name]] = Field(
        min_length=1,
        max_length=100,
        description=(
            "Categories this operator's flights carry, in boarding order (keys of demand); a "
            "nested list boards together, whoever was screened first. Categories not named "
            "here (or in spare_to) may not board."
        ),
        json_schema_extra=_unit("categories, first boards first"),
    )
    quotas: dict[Name, Share] = Field(
        default_factory=dict,
        description=(
            "At most this share of a flight's evacuee seats goes to the category before "
            "spare seats are released (categories of order); the others wait for spare seats "
            "or another flight."
        ),
        json_schema_extra=_unit("share of seats"),
    )
    quota_seats: dict[Name, Seats] = Field(
        default_factory=dict,
        description=(
            "At most this many seats of each flight go to the category before spare seats "
            "are released (categories of order); with a share in quotas too, the smaller "
            "limit holds."
        ),
        json_schema_extra=_unit("seats per flight"),
    )
    spare_to: list[Name] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Categories that may take spare seats only: those still empty when the aircraft "
            "is ready to leave (keys of demand, not in order)."
        ),
        json_schema_extra=_unit("categories"),
    )
    spare_seats: Literal["order", "first_screened", "none"] = Field(
        "order",
        description=(
            "Rule for spare seats at departure: 'order' fills them by the boarding order "
            "(quotas lifted), then spare_to in its order; 'first_screened' gives them to "
            "whoever of those categories was screened first; 'none' leaves them empty "
            "(quotas are hard caps, spare_to unused)."
        ),
    )


class Operator(_Frozen):
    """A nation or charter flying aircraft into the airport."""

    label: str | None = Field(None, description="Display name; defaults to the key.")
    ends: Timestamp | None = Field(
        None, description="No flights launched from this time on (null = until the deadline)."
    )
    boarding: Boarding | None = Field(
        None,
        description=(
            "The operator's own seat allocation (boarding order, quotas, spare seats); null = "
            "every category it may carry, by the categories' priority."
        ),
    )


MAX_FLEET = 500
"""Aircraft in one fleet at most: more is a typo."""

MAX_BLOCK_H = 48.0
"""Longest block time or time on the ground at a base accepted (h)."""

LegDuration = Annotated[Duration, Field(le=MAX_BLOCK_H)]
"""A flight leg or a time on the ground: from 0 up to two days."""
PositiveLegDuration = Annotated[Duration, Field(gt=0, le=MAX_BLOCK_H)]
"""A flight leg or crew period that must take time: more than 0, up to two days."""


class Crew(_Frozen):
    """A fleet's crew duty limit: a crew flies sorties for at most ``duty``, then rests."""

    duty: PositiveLegDuration = Field(
        description=(
            "Longest duty period (h), from the first take-off from a base to landing back at "
            "one; a sortie that would end later waits for a rested crew."
        ),
    )
    rest: PositiveLegDuration = Field(
        description="Rest at the base before the next duty period (h)."
    )


class Fleet(_Frozen):
    """Aircraft cycling between their bases and the airfield; sorties come out of the cycle.

    Each aircraft leaves its home base, flies ``block_time`` to the airfield, waits for the
    ramp and runway, turns around and boards (as any flight), flies to the sortie's
    destination (drawn per sortie from the schedule's ``destinations``), spends
    ``turnaround_at_base`` there, and starts the next sortie from that base. A departure held
    for room at a full staging base keeps its aircraft on the ramp: its next sortie is later.
    """

    aircraft: int = Field(
        ge=1,
        le=MAX_FLEET,
        description="Aircraft in the fleet.",
        json_schema_extra=_unit("aircraft"),
    )
    home: Name | None = Field(
        None,
        description=(
            "Staging base the aircraft start from (a key of staging); null = the schedule's "
            "destination (the first of a weighted choice; for direct flights, their final "
            "destination)."
        ),
    )
    block_time: PositiveLegDuration | None = Field(
        None,
        description=(
            "Flight time each way between a base and the airfield (h); null = the base's "
            "flight_time (required for direct flights)."
        ),
    )
    turnaround_at_base: LegDuration | None = Field(
        None,
        description=(
            "Time on the ground at a base between sorties (h): unloading, refuelling; null = "
            "the aircraft type's turnaround."
        ),
    )
    first_departures_every: LegDuration | None = Field(
        None,
        description=(
            "Spacing of the aircraft's first take-offs from home, from the schedule's from "
            "(h); null = spread evenly over one cycle (block time both ways plus both "
            "turnarounds)."
        ),
    )
    crew: Crew | None = Field(None, description="Crew duty limit; null = none.")


class FlightSchedule(_Frozen):
    """Evacuation flights of one operator and aircraft type: per day, a fleet or a timetable."""

    operator: Name = Field(description="Operator key.")
    aircraft: Name = Field(description="Aircraft type key.")
    start: Timestamp | None = Field(
        None,
        alias="from",
        description=(
            "First day of the schedule (per_day), or first take-off from home (fleet); "
            "required for both, optional for a timetable."
        ),
    )
    end: Timestamp | None = Field(
        None,
        alias="to",
        description=(
            "End of the schedule, exclusive (per_day), or no sortie begins from this time "
            "(fleet); required for both, optional for a timetable."
        ),
    )
    per_day: Annotated[PerDay | dict[Timestamp, PerDay], DistinctTimes] | None = Field(
        None,
        description=(
            "Flights per day: a number, a range [low, high] drawn uniformly each day, or a "
            "step profile {date-time: number or range}. One of per_day, fleet or timetable."
        ),
        json_schema_extra=_unit("flights/day"),
    )
    fleet: Fleet | None = Field(
        None,
        description=(
            "A fleet whose sorties come out of its cycle (see Fleet). One of per_day, fleet "
            "or timetable."
        ),
    )
    timetable: list[Timestamp] | None = Field(
        None,
        min_length=1,
        max_length=MAX_FLIGHTS,
        description=(
            "Fixed arrival times at the airfield, one per flight. One of per_day, fleet or "
            "timetable."
        ),
        json_schema_extra=_unit("date-times"),
    )
    destinations: Name | dict[Name, NonNegative] | None = Field(
        None,
        description=(
            "Staging base, or {base: weight} to choose one per flight at random; null = "
            "direct to a final destination outside the model (no staging base, never held)."
        ),
        json_schema_extra=_unit("base or base: weight"),
    )
    max_extra_wait: Duration = Field(
        0.0,
        ge=0,
        description="How long past its turnaround a part-empty aircraft waits to fill (h).",
    )
    slot_jitter: Share = Field(
        0.5,
        description="Random shift of each arrival slot, as a share of the slot spacing.",
        json_schema_extra=_unit("share of slot spacing"),
    )
    divert: bool = Field(
        False,
        description=(
            "A loaded aircraft whose staging base is full (or closed) flies to another of its "
            "destinations with room, the heaviest-weighted first; it is held only while all "
            "are full."
        ),
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
        modes = [m for m in ("per_day", "fleet", "timetable") if getattr(self, m) is not None]
        if not modes:
            raise ValueError("no flights scheduled (expected one of per_day, fleet or timetable)")
        if len(modes) > 1:
            raise ValueError(
                f"{' and '.join(modes)} both given (expected one of per_day, fleet or timetable)"
            )
        if modes[0] != "timetable":
            missing = [k for k, v in (("from", self.start), ("to", self.end)) if v is None]
            if missing:
                raise ValueError(
                    f"{' and '.join(missing)}: missing (expected from and to for a "
                    f"{modes[0]} schedule)"
                )
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError(
                f"to: {_format_timestamp(self.end)} is not after from "
                f"{_format_timestamp(self.start)} (expected to > from)"
            )
        return self


def _check_window(start: dt.datetime, end: dt.datetime) -> None:
    """A troop movement's window runs forwards (a single instant is allowed)."""
    if end < start:
        raise ValueError(
            f"to: {_format_timestamp(end)} is before from "
            f"{_format_timestamp(start)} (expected to >= from)"
        )


class Deployment(_Frozen):
    """Troops flown in: spread evenly over a window on aircraft of one operator."""

    nation: Name = Field(description="Nation the troops belong to.")
    troops: Troops = Field(
        description="Troops flown in (persons).", json_schema_extra=_unit("troops")
    )
    start: Timestamp = Field(alias="from", description="First arrival.")
    end: Timestamp = Field(alias="to", description="Last arrival.")
    operator: Name = Field(description="Operator flying them (uses the runway and ramp).")
    aircraft: Name = Field(description="Aircraft type.")
    per_aircraft: Annotated[Seats, Field(ge=1)] = Field(
        description="Troops per aircraft (persons).",
        json_schema_extra=_unit("troops/aircraft"),
    )
    evacuates: bool = Field(True, description="Aircraft board evacuees before leaving.")
    destinations: Name | dict[Name, NonNegative] | None = Field(
        None,
        description=(
            "Where the aircraft then flies with evacuees: a staging base, {base: weight}, or "
            "null = direct to a final destination outside the model."
        ),
        json_schema_extra=_unit("base or base: weight"),
    )

    @model_validator(mode="after")
    def _span(self) -> Deployment:
        _check_window(self.start, self.end)
        return self


class Withdrawal(_Frozen):
    """Troops leaving: taken off duty evenly over a window; they take seats if flown out."""

    nation: Name = Field(description="Nation the troops belong to.")
    troops: Troops = Field(
        description="Troops leaving (persons).", json_schema_extra=_unit("troops")
    )
    start: Timestamp = Field(alias="from", description="Start of the drawdown.")
    end: Timestamp = Field(alias="to", description="End of the drawdown.")
    operator: Name | None = Field(
        None, description="Operator whose departing aircraft carry them first (null: not ours)."
    )
    seats_per_troop: float = Field(
        1.0,
        ge=1.0,
        le=20.0,
        description=(
            "Seats each withdrawing troop takes on a departing aircraft, counting the "
            "equipment flown out with them (retrograde cargo), in seats per troop."
        ),
        json_schema_extra=_unit("seats/troop"),
    )

    @model_validator(mode="after")
    def _span(self) -> Withdrawal:
        _check_window(self.start, self.end)
        return self


class Forces(_Frozen):
    """Troops on the ground, who man gates and screening lanes."""

    initial: dict[Name, Troops] = Field(
        default_factory=dict,
        description="Troops on the ground at start, by nation.",
        json_schema_extra=_unit("troops"),
    )
    duty_share: Share = Field(
        1.0, description="Share of troops on the ground available for gates and lanes."
    )
    deployments: dict[Name, Deployment] = Field(
        default_factory=dict, description="Troops flown in during the run, by a name of yours."
    )
    withdrawals: dict[Name, Withdrawal] = Field(
        default_factory=dict, description="Troops leaving during the run, by a name of yours."
    )


class StagingBase(_Frozen):
    """A base downstream where flights land; full bases hold departures.

    Every field has a default: ``{}`` is a final destination (no limit, nobody moves on).
    """

    capacity: Persons | None = Field(
        None,
        description=(
            "People the base can hold (persons); null = no limit (a final destination); "
            "0 = not open (no flight may land until a staging_capacity event opens it)."
        ),
        json_schema_extra=_unit("persons"),
    )
    onward_per_day: PersonsPerDay = Field(
        0.0,
        description="People flown onward per day; 0 = they stay (a final destination).",
        json_schema_extra=_unit("persons/day"),
    )
    flight_time: LegDuration = Field(
        0.0,
        description=(
            "Flight time from the airport (h); 0 = not timed (people land as they take off). "
            "Fleets fly it each way unless they give their own block_time."
        ),
    )
    initial: Persons = Field(
        0, description="People already there at start.", json_schema_extra=_unit("persons")
    )


# --------------------------------------------------------------------------- convoys

MAX_CONVOYS = 10_000
"""Most convoy departures a run may plan (a few a day is the norm)."""

RateProfile = Annotated[ArrivalRate | dict[Timestamp, ArrivalRate], DistinctTimes]


class AssemblyPoint(_Frozen):
    """A place away from the airport (an embassy, a hotel) where people gather for convoys.

    Its arrivals count against each category's ``pool`` together with those at the
    perimeter: the pool is everyone eligible, whichever way they come.
    """

    label: str | None = Field(None, description="Display name; defaults to the key.")
    arrivals_per_day: dict[Name, RateProfile] = Field(
        description=(
            "People per day of each category (keys of demand) arriving here: a constant or a "
            "step profile {date-time: rate}, as for demand.CAT.arrivals_per_day."
        ),
        json_schema_extra=_unit("persons/day"),
    )


class Convoy(_Frozen):
    """Escorted road convoys from an assembly point to a gate, at set times or intervals.

    Each departure takes whole groups waiting at the assembly point (best priority first,
    then first come) up to ``vehicles x seats_per_vehicle``, and drives for a travel time
    drawn anew. It may be turned back (its people return to the assembly point) or delayed.
    At the gate its people join the crowd, or, with ``priority``, go ahead of it at that gate.
    """

    assembly_point: Name = Field(
        alias="from", description="Assembly point it leaves from (a key of assembly_points)."
    )
    gate: Name = Field(alias="to", description="Gate it delivers to (a key of gates).")
    departures: list[Timestamp] = Field(
        default_factory=list, description="Set departure times (and/or every/first/last)."
    )
    every: Duration | None = Field(
        None,
        ge=0.25,
        description="Interval between departures from first to last (h); null = set times only.",
    )
    first: Timestamp | None = Field(None, description="First departure with every; null = start.")
    last: Timestamp | None = Field(
        None, description="No departure after this with every; null = until the deadline."
    )
    vehicles: int = Field(
        ge=1, le=1000, description="Vehicles per convoy.", json_schema_extra=_unit("vehicles")
    )
    seats_per_vehicle: int = Field(
        ge=1,
        le=500,
        description="People per vehicle.",
        json_schema_extra=_unit("persons/vehicle"),
    )
    travel_time: DurationDist = Field(description="Road time from assembly point to gate (h).")
    turned_back: Share = Field(
        0.0,
        description=(
            "Chance a convoy is turned back on the road: its people are back at the assembly "
            "point after the travel time."
        ),
        json_schema_extra=_unit("probability"),
    )
    delayed: Share = Field(
        0.0,
        description="Chance a convoy is delayed on the road.",
        json_schema_extra=_unit("probability"),
    )
    delay: DurationDist = Field(
        default_factory=lambda: Fixed(value=0.0),
        description="Extra road time of a delayed convoy (h).",
    )
    priority: bool = Field(
        False, description="At the gate, its people go ahead of the crowd waiting there."
    )

    @model_validator(mode="after")
    def _some_departure(self) -> Convoy:
        if not self.departures and self.every is None:
            raise ValueError(
                "departures: none given (expected a list of departure times, or every: an interval)"
            )
        return self

    def departure_times(self, start: dt.datetime, deadline: dt.datetime) -> list[dt.datetime]:
        """Every departure before the deadline, in order (set times and the interval's)."""
        times = [t for t in self.departures if start <= t < deadline]
        if self.every is not None:
            t = self.first or start
            end = min(self.last, deadline) if self.last is not None else deadline
            step = dt.timedelta(hours=self.every)
            while t < end and len(times) <= MAX_CONVOYS:
                if t >= start:
                    times.append(t)
                t += step
        return sorted(set(times))


# --------------------------------------------------------------------------- timeline events


class _Event(_Frozen):
    at: Timestamp = Field(description="When the event happens.")


class RunwayClosed(_Event):
    """No movements on any runway from ``at`` until ``until``."""

    type: Literal["runway_closed"] = Field(description="Event kind: runway_closed.")
    until: Timestamp = Field(description="The runway reopens at this time.")


class GateClosed(_Event):
    """Gates shut from ``at`` (until ``until``, or for good)."""

    type: Literal["gate_closed"] = Field(description="Event kind: gate_closed.")
    gates: list[Name] = Field(description="Gates that shut (keys of gates).")
    until: Timestamp | None = Field(
        None, description="The gates reopen at this time; null = never."
    )


class GatePolicy(_Event):
    """Gates admit only the named categories from ``at`` on."""

    type: Literal["gate_policy"] = Field(description="Event kind: gate_policy.")
    gates: list[Name] | Literal["all"] = Field(
        "all", description="Gates the policy applies to (keys of gates), or all."
    )
    admits: list[Name] | Literal["all"] = Field(
        description="Categories admitted from now on (keys of demand), or all."
    )


class StagingCapacity(_Event):
    """A staging base's capacity (and optionally onward rate) changes."""

    type: Literal["staging_capacity"] = Field(description="Event kind: staging_capacity.")
    base: Name = Field(description="Staging base that changes (a key of staging).")
    capacity: Persons = Field(
        description="People the base can hold from now on.",
        json_schema_extra=_unit("persons"),
    )
    onward_per_day: PersonsPerDay | None = Field(
        None,
        description="People flown onward per day from now on; null = unchanged.",
        json_schema_extra=_unit("persons/day"),
    )


class Incident(_Event):
    """A security incident: gates shut, processing paused, crowd dispersed."""

    type: Literal["incident"] = Field(description="Event kind: incident.")
    gates_closed: list[Name] = Field(default_factory=list, description="Gates shut for good.")
    pause: Duration = Field(0.0, ge=0, description="Gates and screening stop for this long.")
    crowd_dispersed: Share = Field(
        0.0, description="Share of the crowd outside that scatters (may return per category)."
    )


class OperatorEnds(_Event):
    """An operator launches no more flights from ``at``."""

    type: Literal["operator_ends"] = Field(description="Event kind: operator_ends.")
    operator: Name = Field(description="Operator that stops (a key of operators).")


class EligibilityChanged(_Event):
    """An operator's flights may carry other categories from ``at`` on."""

    type: Literal["eligibility"] = Field(description="Event kind: eligibility.")
    operator: Name = Field(description="Operator whose rules change (a key of operators).")
    adds: list[Name] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "Categories its flights may now carry (keys of demand): appended to its boarding "
            "order as one last step (without a boarding order: boarded by priority)."
        ),
    )
    removes: list[Name] = Field(
        default_factory=list,
        max_length=100,
        description="Categories its flights may no longer carry (keys of demand).",
    )

    @model_validator(mode="after")
    def _something(self) -> EligibilityChanged:
        if not self.adds and not self.removes:
            raise ValueError(
                "neither adds nor removes names a category (expected at least one of them)"
            )
        both = sorted(set(self.adds) & set(self.removes))
        if both:
            raise ValueError(
                f"{', '.join(both)} both added and removed (expected each in one list)"
            )
        return self


class ArrivalsStopped(_Event):
    """People of these categories can no longer reach the perimeter from ``at``, or, with
    ``passing`` above 0, only that share of them gets through (checkpoints on the way)."""

    type: Literal["arrivals_stopped"] = Field(description="Event kind: arrivals_stopped.")
    categories: list[Name] | Literal["all"] = Field(
        description="Categories that can no longer reach the perimeter (keys of demand), or all."
    )
    passing: Share = Field(
        0.0,
        description=(
            "Share of these categories' arrivals (first arrivals and returns) that still get "
            "through from now on; 0 stops them all. Several events multiply."
        ),
        json_schema_extra=_unit("share of arrivals"),
    )


Event = Annotated[
    RunwayClosed
    | GateClosed
    | GatePolicy
    | StagingCapacity
    | Incident
    | OperatorEnds
    | ArrivalsStopped
    | EligibilityChanged,
    Field(discriminator="type"),
]


# --------------------------------------------------------------------------- uncertain deadline


class UncertainDeadline(_Frozen):
    """A deadline nobody knows in advance (when will the ceasefire collapse?).

    Each replication draws its own deadline from this distribution, on its own random stream
    (``deadline``), so every other source sees the same numbers in every scenario compared
    on the same seed (common random numbers). The scenario is validated against the latest
    deadline, ``high``; a replication that draws an earlier one stops there, and what lies
    past it never happens.
    """

    dist: Literal["uniform", "triangular"] = Field(
        description="Distribution family of the deadline: uniform or triangular."
    )
    low: Timestamp = Field(description="Earliest deadline (local date-time).")
    high: Timestamp = Field(description="Latest deadline (local date-time).")
    mode: Timestamp | None = Field(
        None, description="Most likely deadline (triangular only; required for it)."
    )

    @model_validator(mode="after")
    def _ordered(self) -> UncertainDeadline:
        if self.high <= self.low:
            raise ValueError(
                f"high: {_format_timestamp(self.high)} is not after low "
                f"{_format_timestamp(self.low)} (expected low < high)"
            )
        if self.dist == "triangular":
            if self.mode is None:
                raise ValueError(
                    "mode: missing for a triangular deadline (expected low <= mode <= high)"
                )
            if not self.low <= self.mode <= self.high:
                raise ValueError(
                    f"mode: {_format_timestamp(self.mode)} is not between low and high "
                    "(expected low <= mode <= high)"
                )
        elif self.mode is not None:
            raise ValueError("mode: given for a uniform deadline (expected no mode, or triangular)")
        return self

    def draw(self, rng: np.random.Generator) -> dt.datetime:
        """One deadline, to the second."""
        span_s = (self.high - self.low).total_seconds()
        if self.dist == "uniform":
            offset_s = rng.uniform(0.0, span_s)
        else:
            assert self.mode is not None  # checked above
            mode_s = (self.mode - self.low).total_seconds()
            offset_s = rng.triangular(0.0, mode_s, span_s) if span_s > 0 else 0.0
        return self.low + dt.timedelta(seconds=round(offset_s))


def _deadline_kind(value: Any) -> str:
    """Which form a deadline is written in: a mapping is uncertain, anything else a time."""
    return "uncertain" if isinstance(value, dict | UncertainDeadline) else "time"


def latest(deadline: Any) -> Any:
    """The latest time a deadline may take: itself, or an uncertain one's ``high``."""
    return deadline.high if isinstance(deadline, UncertainDeadline) else deadline


# --------------------------------------------------------------------------- the scenario


MAX_UNCERTAIN_BOUND = 1e7
"""Largest bound of an uncertain range: scenario inputs are counts, rates, hours and factors,
none of which is plausibly above ten million."""


def _bound(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


UncertainBound = Annotated[
    float,
    BeforeValidator(_bound),
    WithJsonSchema({"anyOf": [{"type": "number"}, _DURATION_JSON_SCHEMA]}),
]
"""A bound of an uncertain range: a number in the field's own unit, or a duration (hours)."""


class UncertainRange(_Frozen):
    """How far an input may plausibly be from the value the scenario uses.

    Read only by ``evacsim sensitivity``, which samples each input over its range and
    measures how much of a KPI's variance it explains; a run uses the scenario's value.
    """

    low: UncertainBound = Field(
        ge=0,
        le=MAX_UNCERTAIN_BOUND,
        description="Lowest plausible value, in the field's unit (a duration for a "
        "duration field, hours if a plain number); with scale: the lowest factor.",
    )
    high: UncertainBound = Field(
        ge=0,
        le=MAX_UNCERTAIN_BOUND,
        description="Highest plausible value, in the field's unit; with scale: the highest factor.",
    )
    scale: bool = Field(
        False,
        description="Multiply every number at the path (a whole step profile, say) by a "
        "factor in low..high instead of setting the value.",
    )
    source: str = Field(
        "",
        max_length=500,
        description="Why this range: a source in shared/data, or '[assumption]' and why.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> UncertainRange:
        if not self.low < self.high:
            raise ValueError(f"expected low < high, got {self.low:g} and {self.high:g}")
        return self


def _uncertain_problems(s: Any) -> Iterator[tuple[str, str]]:
    """Each ``uncertain:`` path must name a number (or a profile, with scale) in the scenario."""
    for path, spec in (getattr(s, "uncertain", None) or {}).items():
        node: Any = s
        walked = []
        for part in path.split("."):
            if isinstance(node, BaseModel):
                fields = {f.alias or name: name for name, f in type(node).model_fields.items()}
                fields.update({name: name for name in type(node).model_fields})
                node = getattr(node, fields[part]) if part in fields else _MISSING
            elif isinstance(node, dict):
                node = node.get(part, node.get(_key(part), _MISSING))
            else:
                node = getattr(node, part, _MISSING)
            if node is _MISSING:
                where = ".".join(walked) or "the scenario"
                yield (
                    f"uncertain.{path}",
                    f"'{part}' is not a field of {where} (expected a "
                    "dotted path to a number, as in --set)",
                )
                break
            walked.append(part)
        else:
            is_number = isinstance(node, int | float) and not isinstance(node, bool)
            scale = spec.get("scale") if isinstance(spec, dict) else getattr(spec, "scale", 0)
            if not is_number and not scale:
                yield (
                    f"uncertain.{path}",
                    "is not a single number (expected a number, or "
                    "scale: true to scale a profile or distribution)",
                )


_MISSING = object()


def _key(part: str) -> Any:
    """A dict key as written in a path: numbers (group sizes) are keys too."""
    try:
        return int(part)
    except ValueError:
        return part


class Scenario(_Frozen):
    """Every input of an evacuation run."""

    name: str = Field(description="Short name of the scenario.")
    description: str = Field("", description="What the scenario represents and why.")
    start: Timestamp = Field(description="Start of the simulated period (local time).")
    deadline: Annotated[
        Annotated[Timestamp, Tag("time")] | Annotated[UncertainDeadline, Tag("uncertain")],
        Discriminator(_deadline_kind),
    ] = Field(
        description=(
            "The run ends here; whoever is not out is left behind. A date-time, or an "
            "uncertain deadline {dist: uniform, low: date-time, high: date-time} (or "
            "triangular with a mode) drawn anew for each replication."
        )
    )
    reporting_day_starts: ClockTime = Field(
        "00:00",
        validate_default=True,
        description=(
            "Local time of day at which a reporting day begins: every daily table, chart, "
            "binding strip and backtest counts days from it (e.g. '11:30' for figures kept "
            "11:30 to 11:30). A reporting day is labelled by the date on which it starts; "
            "the first and last may be partial."
        ),
        json_schema_extra=_unit("time of day (local, HH:MM)"),
    )
    demand: dict[Name, Category] = Field(description="Evacuee categories, by a name of yours.")
    gates: dict[Name, Gate] = Field(description="Entry points in the perimeter, by name.")
    screening: Screening = Field(description="Consular screening inside the perimeter.")
    holding: Holding = Field(
        default_factory=Holding, description="The area inside where people wait."
    )
    forces: Forces = Field(
        default_factory=Forces, description="Troops on the ground, arriving and leaving."
    )
    airfield: Airfield = Field(description="Runways and ramp.")
    aircraft: dict[Name, AircraftType] = Field(description="Aircraft types, by name.")
    operators: dict[Name, Operator] = Field(description="Nations and charters flying, by name.")
    flights: dict[Name, FlightSchedule] = Field(
        default_factory=dict, description="Evacuation flight schedules, by a name of yours."
    )
    staging: dict[Name, StagingBase] = Field(
        default_factory=dict, description="Staging bases the flights go to, by name."
    )
    events: dict[Name, Event] = Field(
        default_factory=dict, description="Timeline events (closures, policies...), by name."
    )
    assembly_points: dict[Name, AssemblyPoint] = Field(
        default_factory=dict,
        description="Places away from the airport where people gather for convoys, by name.",
    )
    convoys: dict[Name, Convoy] = Field(
        default_factory=dict,
        description="Escorted road convoys from assembly points to gates, by a name of yours.",
    )
    uncertain: dict[str, UncertainRange] = Field(
        default_factory=dict,
        max_length=50,
        description="Plausible ranges of uncertain inputs by dotted path (as in --set), for "
        "evacsim sensitivity; runs use the values above.",
    )

    @property
    def horizon_h(self) -> float:
        """Length of the run (h)."""
        return (self.latest_deadline - self.start).total_seconds() / 3600.0

    @property
    def latest_deadline(self) -> dt.datetime:
        """The deadline, or the latest an uncertain one may be (what validation checks)."""
        return latest(self.deadline)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        problems = list(reference_problems(self))
        if problems:
            # One error carrying every problem; the loader reports each on its own line.
            summary = "; ".join(f"{path}: {message}" for path, message in problems)
            raise PydanticCustomError(
                "references", "{summary}", {"summary": summary, "problems": problems}
            )
        return self


def _fmt_time(when: dt.datetime) -> str:
    return _format_timestamp(when)


def _profile_values(profile: Any) -> list[Any]:
    return list(profile.values()) if isinstance(profile, dict) else [profile]


def _is_zero(value: Any) -> bool:
    return value[1] == 0 if isinstance(value, tuple) else value == 0


def reference_problems(s: Any) -> Iterator[tuple[str, str]]:
    """Yield ``(path, "what is wrong (what is expected)")`` for every mistake across fields.

    The models check each field's type and range; this checks what spans fields: names that
    must exist elsewhere (a flight's staging base, a policy's categories), times that must lie
    inside ``start..deadline``, step profiles that would leave a stage never working, and troop
    books that do not balance.

    Step profiles (``{date-time: value}``) are mappings, so they cannot overlap, and each value
    holds until the next key, so they cannot have gaps; what can be wrong is a key outside the
    window in which it acts (``start..deadline``, or a flight schedule's ``from..to``), which
    would silently never take effect.

    ``s`` is a :class:`Scenario`, or, when some fields failed validation, a stand-in with the
    same attributes (see :func:`evacsim.diagnostics.salvage`) in which whatever failed is
    ``None``: checks that need it are skipped, so each mistake is reported once.
    """
    start, deadline = getattr(s, "start", None), latest(getattr(s, "deadline", None))
    uncertain = isinstance(getattr(s, "deadline", None), UncertainDeadline)
    if uncertain and start is not None and s.deadline.low <= start:
        yield (
            "deadline.low",
            f"{_fmt_time(s.deadline.low)} is not after start {_fmt_time(start)} "
            "(expected every deadline it may draw after start)",
        )
    if start is not None and isinstance(deadline, dt.datetime):
        if deadline <= start:
            yield (
                "deadline",
                f"{_fmt_time(deadline)} is not after start {_fmt_time(start)} "
                "(expected deadline > start)",
            )
            start = deadline = None  # every 'inside the run' check would fail with it
        elif (deadline - start).days > MAX_RUN_DAYS:
            yield (
                "deadline",
                f"the run would last {(deadline - start).days} days "
                f"(expected at most {MAX_RUN_DAYS} days after start)",
            )
            start = deadline = None
    else:
        start = deadline = None

    def table(name: str, owner: Any = s) -> dict | None:
        value = getattr(owner, name, None)
        return value if isinstance(value, dict) else None

    operators, aircraft, staging = table("operators"), table("aircraft"), table("staging")
    demand, gates = table("demand"), table("gates")

    def known(path: str, name: Any, names: dict | None, what: str) -> Iterator[tuple[str, str]]:
        if names is None or not isinstance(name, str) or name in names:
            return
        options = ", ".join(sorted(map(str, names))) or "none defined"
        candidates = [str(n) for n in names]
        close = difflib.get_close_matches(name, candidates, n=1, cutoff=0.6)
        if not close and len(name) >= 3:
            close = [c for c in candidates if c.startswith(name)][:1]
        hint = f"; did you mean '{close[0]}'?" if close else ""
        yield path, f"unknown {what} '{name}'{hint} (expected one of: {options})"

    def known_all(path: str, names: Any, table_: dict | None, what: str):
        if isinstance(names, list | tuple):
            for name in names:
                yield from known(path, name, table_, what)

    def inside(path: str, when: Any, *, upto: bool = True) -> Iterator[tuple[str, str]]:
        """``when`` must lie in start..deadline (``upto=False``: strictly before deadline)."""
        if start is None or not isinstance(when, dt.datetime):
            return
        if when < start or when > deadline or (not upto and when == deadline):
            last = "deadline" if upto else "before deadline"
            yield (
                path,
                f"{_fmt_time(when)} is outside the run "
                f"(expected {_fmt_time(start)} <= time {'<=' if upto else '<'} "
                f"{_fmt_time(deadline)}, from start to {last})",
            )

    def profile_keys(path: str, profile: Any, lo: Any, hi: Any) -> Iterator[tuple[str, str]]:
        """Keys of a step profile must lie in [lo, hi): elsewhere they never take effect."""
        if not isinstance(profile, dict) or lo is None or hi is None:
            return
        for when in profile:
            if isinstance(when, dt.datetime) and not lo <= when < hi:
                yield (
                    f"{path}.{_fmt_time(when)}",
                    f"step at {_fmt_time(when)} never takes effect "
                    f"(expected {_fmt_time(lo)} <= time < {_fmt_time(hi)})",
                )

    def weights(path: str, destinations: Any) -> Iterator[tuple[str, str]]:
        if isinstance(destinations, dict):
            for base in destinations:
                yield from known(f"{path}.{base}", base, staging, "staging base")
            if destinations and all(w == 0 for w in destinations.values()):
                yield path, "every weight is 0 (expected at least one positive weight)"
        else:
            yield from known(path, destinations, staging, "staging base")

    for key, cat in (demand or {}).items():
        if cat is None:
            continue
        path = f"demand.{key}"
        if cat.operators != "all":
            yield from known_all(f"{path}.operators", cat.operators, operators, "operator")
        rates = cat.arrivals_per_day
        yield from profile_keys(f"{path}.arrivals_per_day", rates, start, deadline)
        expected = expected_arrivals(rates, start, deadline)
        if expected > MAX_ARRIVALS:
            yield (
                f"{path}.arrivals_per_day",
                f"the rates would generate about {expected:,.0f} arrivals over the run "
                f"(expected at most {MAX_ARRIVALS:,}; is a rate too large?)",
            )

        yield from _zero_time_cycle(path, cat)

    for key, gate in (gates or {}).items():
        if gate is None:
            continue
        path = f"gates.{key}"
        if gate.admits != "all":
            yield from known_all(f"{path}.admits", gate.admits, demand, "category")
        yield from inside(f"{path}.open_from", gate.open_from)
        yield from inside(f"{path}.closed_from", gate.closed_from)
        opens, closes = gate.open_from, gate.closed_from
        if opens is not None and closes is not None and closes <= opens:
            yield (
                f"{path}.closed_from",
                f"{_fmt_time(closes)} is not after open_from {_fmt_time(opens)} "
                "(expected closed_from > open_from)",
            )

    screening = getattr(s, "screening", None)
    lanes = getattr(screening, "lanes", None)
    if lanes is not None:
        yield from profile_keys("screening.lanes", lanes, start, deadline)

    for key, op in (operators or {}).items():
        ends = getattr(op, "ends", None)
        if start is not None and isinstance(ends, dt.datetime) and ends < start:
            yield (
                f"operators.{key}.ends",
                f"{_fmt_time(ends)} is before start {_fmt_time(start)}, so the operator never "
                "flies (expected a time from start on, or null)",
            )

    for key, op in (operators or {}).items():
        boarding = getattr(op, "boarding", None)
        if boarding is not None:
            yield from _boarding_problems(f"operators.{key}.boarding", key, boarding, demand, known)

    for key, fl in (table("flights") or {}).items():
        if fl is None:
            continue
        path = f"flights.{key}"
        yield from known(f"{path}.operator", fl.operator, operators, "operator")
        yield from known(f"{path}.aircraft", fl.aircraft, aircraft, "aircraft type")
        yield from weights(f"{path}.destinations", fl.destinations)
        yield from inside(f"{path}.from", fl.start, upto=False)
        window = (fl.start, fl.end)
        if all(isinstance(t, dt.datetime) for t in window) and fl.end > fl.start:
            yield from profile_keys(f"{path}.per_day", fl.per_day, fl.start, fl.end)
        for i, when in enumerate(getattr(fl, "timetable", None) or []):
            yield from inside(f"{path}.timetable.{i}", when, upto=False)
            lo, hi = window
            early = isinstance(lo, dt.datetime) and when < lo
            if early or (isinstance(hi, dt.datetime) and when >= hi):
                yield (
                    f"{path}.timetable.{i}",
                    f"{_fmt_time(when)} is outside the schedule (expected from <= time < to)",
                )
        fleet = getattr(fl, "fleet", None)
        if fleet is not None:
            yield from _fleet_problems(f"{path}.fleet", fl, fleet, staging, aircraft, known)

    yield from _flight_count(s, start, deadline)

    forces = getattr(s, "forces", None)
    nations = set(table("initial", forces) or {})
    for key, dep in (table("deployments", forces) or {}).items():
        if dep is None:
            nations = None  # a deployment failed: its nation is unknown
            continue
        path = f"forces.deployments.{key}"
        yield from known(f"{path}.operator", dep.operator, operators, "operator")
        yield from known(f"{path}.aircraft", dep.aircraft, aircraft, "aircraft type")
        if dep.destinations is not None:
            yield from weights(f"{path}.destinations", dep.destinations)
        yield from inside(f"{path}.from", dep.start)
        if nations is not None:
            nations.add(dep.nation)
    initial_known = table("initial", forces) is not None
    for key, wd in (table("withdrawals", forces) or {}).items():
        if wd is None:
            continue
        path = f"forces.withdrawals.{key}"
        if initial_known and nations is not None:
            yield from known(f"{path}.nation", wd.nation, dict.fromkeys(nations), "nation")
        if wd.operator is not None:
            yield from known(f"{path}.operator", wd.operator, operators, "operator")
        yield from inside(f"{path}.from", wd.start)

    points = table("assembly_points")
    for key, point in (points or {}).items():
        if point is None:
            continue
        for cat, rates in point.arrivals_per_day.items():
            path = f"assembly_points.{key}.arrivals_per_day.{cat}"
            yield from known(path, cat, demand, "category")
            yield from profile_keys(path, rates, start, deadline)
    n_convoys = 0
    for key, convoy in (table("convoys") or {}).items():
        if convoy is None:
            continue
        path = f"convoys.{key}"
        yield from known(
            f"{path}.from", getattr(convoy, "assembly_point", None), points, "assembly point"
        )
        yield from known(f"{path}.to", getattr(convoy, "gate", None), gates, "gate")
        for i, when in enumerate(getattr(convoy, "departures", None) or []):
            yield from inside(f"{path}.departures.{i}", when, upto=False)
        yield from inside(f"{path}.first", getattr(convoy, "first", None), upto=False)
        if start is not None and isinstance(convoy, Convoy):
            n_convoys += len(convoy.departure_times(start, deadline))
    if n_convoys > MAX_CONVOYS:
        yield (
            "convoys",
            f"the run would plan {n_convoys:,} convoy departures "
            f"(expected at most {MAX_CONVOYS:,}; is an interval too short?)",
        )

    for key, ev in (table("events") or {}).items():
        if ev is None:
            continue
        path = f"events.{key}"
        kind = getattr(ev, "type", None)
        at = getattr(ev, "at", None)
        yield from inside(f"{path}.at", at)
        if kind == "gate_closed":
            yield from known_all(f"{path}.gates", ev.gates, gates, "gate")
        elif kind == "gate_policy":
            if ev.gates != "all":
                yield from known_all(f"{path}.gates", ev.gates, gates, "gate")
            if ev.admits != "all":
                yield from known_all(f"{path}.admits", ev.admits, demand, "category")
        elif kind == "incident":
            yield from known_all(f"{path}.gates_closed", ev.gates_closed, gates, "gate")
        elif kind == "staging_capacity":
            yield from known(f"{path}.base", ev.base, staging, "staging base")
        elif kind == "operator_ends":
            yield from known(f"{path}.operator", ev.operator, operators, "operator")
        elif kind == "arrivals_stopped" and ev.categories != "all":
            yield from known_all(f"{path}.categories", ev.categories, demand, "category")
        elif kind == "eligibility":
            yield from known(f"{path}.operator", ev.operator, operators, "operator")
            yield from known_all(f"{path}.adds", ev.adds, demand, "category")
            yield from known_all(f"{path}.removes", ev.removes, demand, "category")
        until = getattr(ev, "until", None)
        if isinstance(until, dt.datetime) and isinstance(at, dt.datetime) and until < at:
            yield (
                f"{path}.until",
                f"{_fmt_time(until)} is before at {_fmt_time(at)} (expected until >= at)",
            )
    yield from _uncertain_problems(s)


def _fleet_bases(fl: Any, fleet: Fleet) -> list[str | None]:
    """Bases a fleet's aircraft fly between the airfield and (None: a final destination)."""
    dest = fl.destinations
    names: list[str | None] = list(dest) if isinstance(dest, dict) else [dest]
    return [fleet.home, *names] if fleet.home is not None else names


def _fleet_cycle_h(fl: Any, fleet: Fleet, staging: dict | None, aircraft: dict | None) -> float:
    """Shortest cycle of one aircraft (h), or NaN if a time is not known."""
    if not isinstance(fl, FlightSchedule) or not isinstance(fleet, Fleet):
        return math.nan  # part of it failed validation (reported there)
    spec = (aircraft or {}).get(fl.aircraft)
    if not isinstance(spec, AircraftType):
        return math.nan
    block = fleet.block_time
    if block is None:
        bases = [(staging or {}).get(b) for b in _fleet_bases(fl, fleet) if b is not None]
        times = [b.flight_time if isinstance(b, StagingBase) else math.nan for b in bases]
        block = min(times, default=math.nan)
    at_base = spec.turnaround if fleet.turnaround_at_base is None else fleet.turnaround_at_base
    return 2 * block + spec.turnaround + at_base


def _fleet_problems(
    path: str, fl: Any, fleet: Fleet, staging: dict | None, aircraft: dict | None, known: Any
) -> Iterator[tuple[str, str]]:
    """A fleet's home base exists, every leg has a flight time, a crew can fly a sortie."""
    if not isinstance(fl, FlightSchedule) or not isinstance(fleet, Fleet):
        return  # part of it failed validation: reported there, once
    if fleet.home is not None:
        yield from known(f"{path}.home", fleet.home, staging, "staging base")
    if fleet.block_time is None and staging is not None:
        for base in dict.fromkeys(_fleet_bases(fl, fleet)):
            spec = staging.get(base) if base is not None else None
            if base is None:
                yield (
                    f"{path}.block_time",
                    "missing, and the flights go direct (no staging base gives a flight time) "
                    "(expected a block_time)",
                )
            elif isinstance(spec, StagingBase) and spec.flight_time == 0:
                yield (
                    f"{path}.block_time",
                    f"missing, and staging.{base}.flight_time is 0 (expected a block_time, "
                    f"or a flight_time for {base})",
                )
    if fleet.crew is not None:
        spec = (aircraft or {}).get(fl.aircraft)
        block = fleet.block_time
        if block is None and staging is not None:
            bases = [staging.get(b) for b in _fleet_bases(fl, fleet)]
            block = max((b.flight_time for b in bases if isinstance(b, StagingBase)), default=None)
        if isinstance(spec, AircraftType) and block is not None:
            sortie = 2 * block + spec.turnaround
            if fleet.crew.duty < sortie:
                yield (
                    f"{path}.crew.duty",
                    f"{format_duration(fleet.crew.duty)} is shorter than one sortie "
                    f"({format_duration(sortie)}: block time both ways and the turnaround at "
                    "the airfield), so the fleet would never fly (expected at least that)",
                )


def _boarding_problems(
    path: str, operator: str, boarding: Boarding, demand: dict | None, known: Any
) -> Iterator[tuple[str, str]]:
    """Names in an operator's boarding rules exist, appear once, and agree with the
    categories' own ``operators`` lists."""
    order = getattr(boarding, "order", None)
    order = order if isinstance(order, list) else []  # failed on its own: reported already
    spare_to = getattr(boarding, "spare_to", None)
    seen: set[str] = set()
    for i, step in enumerate(order):
        names = [step] if isinstance(step, str) else step
        if not names:
            yield f"{path}.order.{i}", "an empty step (expected one or more categories)"
        for name in names:
            yield from known(f"{path}.order", name, demand, "category")
            if name in seen:
                yield f"{path}.order", f"'{name}' appears twice (expected each category once)"
            seen.add(name)
    for name in spare_to if isinstance(spare_to, list) else []:
        yield from known(f"{path}.spare_to", name, demand, "category")
        if name in seen:
            yield (
                f"{path}.spare_to",
                f"'{name}' is in order and in spare_to, or twice here (expected each once)",
            )
        seen.add(name)
    in_order = {c for step in order for c in ([step] if isinstance(step, str) else step)}
    for field in ("quotas", "quota_seats"):
        limits = getattr(boarding, field, None)
        for name in limits if isinstance(limits, dict) else {}:
            if name not in in_order:
                yield (
                    f"{path}.{field}.{name}",
                    f"'{name}' is not in order (expected {field} only for categories of order)",
                )
    for name in sorted(seen):
        cat = (demand or {}).get(name)
        allowed = getattr(cat, "operators", "all")
        if isinstance(allowed, list) and operator not in allowed:
            yield (
                f"{path}",
                f"'{name}' is boarded here, but demand.{name}.operators does not list "
                f"'{operator}' (expected the two to agree)",
            )


def scenario_warnings(s: Scenario) -> Iterator[tuple[str, str]]:
    """Yield ``(path, message)`` for what is legal but almost certainly not meant.

    These do not stop a run (the model copes: a withdrawal larger than the troops on the
    ground takes whoever is there), but a planner should look: a category whose pool never
    arrives, screening that never opens, troops withdrawn that were never there.
    """
    total_pool = sum(cat.pool for cat in s.demand.values())
    for key, cat in s.demand.items():
        if cat.pool > 0 and all(_is_zero(v) for v in _profile_values(cat.arrivals_per_day)):
            yield (
                f"demand.{key}.arrivals_per_day",
                f"no one ever arrives although pool is {cat.pool} "
                "(expected a positive rate, or pool: 0 to leave the category out)",
            )
    if total_pool > 0 and all(v == 0 for v in _profile_values(s.screening.lanes)):
        yield (
            "screening.lanes",
            "no lane ever opens, so no one can be screened (expected at least one lane)",
        )
    yield from _overnight_crowds(s)
    troops = dict(s.forces.initial)
    for dep in s.forces.deployments.values():
        troops[dep.nation] = troops.get(dep.nation, 0) + dep.troops
    leaving: dict[str, list[str]] = {}
    for key, wd in s.forces.withdrawals.items():
        leaving.setdefault(wd.nation, []).append(key)
    for nation, keys in sorted(leaving.items()):
        out = sum(s.forces.withdrawals[k].troops for k in keys)
        if out > troops.get(nation, 0):
            yield (
                f"forces.withdrawals.{keys[-1]}.troops",
                f"{out} {nation} troops withdrawn in all, but at most {troops.get(nation, 0)} "
                f"are ever on the ground (expected at most forces.initial.{nation} plus its "
                "deployments; the model withdraws only those present)",
            )


def _zero_time_cycle(path: str, cat: Any) -> Iterator[tuple[str, str]]:
    """A group that gives up at once and comes back at once, always, loops in zero time:
    the clock would never move. (Short but positive cycles are priced by the cost
    estimate, :mod:`evacsim.scenario.cost`.)"""
    patience, back = getattr(cat, "patience", None), getattr(cat, "return_after", None)
    if patience is None or back is None or getattr(cat, "return_probability", 0) != 1:
        return
    if patience.mean_h == 0 and back.mean_h == 0:
        yield (
            f"{path}.return_probability",
            "1 with patience and return_after both 0: a group would give up and come back "
            "forever without the clock moving (expected a patience or return_after that "
            "takes time, or a return_probability below 1)",
        )


def planned_flights(s: Any, start: Any, deadline: Any) -> tuple[float, str | None]:
    """Most flights the run may plan (schedules at their highest rate, troop carriers), and
    the path of the largest contributor (None if there is none)."""
    if start is None:
        return 0.0, None
    planned: list[tuple[float, str]] = []
    for key, fl in (getattr(s, "flights", None) or {}).items():
        timetable = getattr(fl, "timetable", None)
        if isinstance(timetable, list):
            planned.append((len(timetable), f"flights.{key}.timetable"))
            continue
        window = (getattr(fl, "start", None), getattr(fl, "end", None))
        if fl is None or not all(isinstance(t, dt.datetime) for t in window):
            continue
        days = (min(fl.end, deadline) - max(fl.start, start)).total_seconds() / 86400
        fleet = getattr(fl, "fleet", None)
        if fleet is not None:
            types = getattr(s, "aircraft", None)
            cycle = _fleet_cycle_h(fl, fleet, getattr(s, "staging", None), types)
            if days > 0 and cycle > 0:  # NaN (a time unknown or invalid) compares false
                sorties = fleet.aircraft * (math.floor(days * 24 / cycle) + 1)
                planned.append((sorties, f"flights.{key}.fleet.aircraft"))
            continue
        if getattr(fl, "per_day", None) is None:
            continue
        rates = [v[1] if isinstance(v, tuple) else v for v in _profile_values(fl.per_day)]
        if days > 0 and all(isinstance(r, int | float) for r in rates):
            planned.append((max(rates, default=0) * days, f"flights.{key}.per_day"))
    forces = getattr(s, "forces", None)
    for key, dep in (getattr(forces, "deployments", None) or {}).items():
        troops, per = getattr(dep, "troops", None), getattr(dep, "per_aircraft", None)
        if isinstance(troops, int) and isinstance(per, int) and per > 0:
            planned.append((math.ceil(troops / per), f"forces.deployments.{key}.per_aircraft"))
    total = sum(n for n, _ in planned)
    return total, (max(planned)[1] if planned else None)


def _flight_count(s: Any, start: Any, deadline: Any) -> Iterator[tuple[str, str]]:
    """At most :data:`MAX_FLIGHTS` planned flights: more is a typo, and a run that grinds."""
    total, path = planned_flights(s, start, deadline)
    if total > MAX_FLIGHTS:
        yield (
            path,
            f"the run would plan up to {total:,.0f} flights, most of them here "
            f"(expected at most {MAX_FLIGHTS:,} in all; is a number too large?)",
        )


def expected_arrivals(rates: Any, start: Any, deadline: Any) -> float:
    """People a rate profile (per day) generates over start..deadline, before any pool."""
    if start is None or rates is None:
        return 0.0
    if not isinstance(rates, dict):
        rates = {start: rates}
    steps = sorted(
        (max(t, start), r)
        for t, r in rates.items()
        if isinstance(t, dt.datetime) and isinstance(r, int | float) and t < deadline
    )
    total = 0.0
    for (t0, rate), (t1, _) in zip(steps, [*steps[1:], (deadline, 0)], strict=False):
        total += rate * (t1 - t0).total_seconds() / 86400
    return total


def _minutes(window: tuple[float, float] | None) -> np.ndarray:
    """Which minutes of the day a daily window covers (1,440 booleans)."""
    covered = np.zeros(24 * 60, dtype=bool)
    for lo, hi in window_hours(window):
        covered[round(lo * 60) : round(hi * 60)] = True
    return covered


def _spans(minutes: np.ndarray) -> str:
    """Covered minutes as clock spans: '18:00-06:00' (a span may wrap past midnight)."""
    edges = np.flatnonzero(np.diff(np.concatenate([[False], minutes, [False]]).astype(int)))
    spans = list(zip(edges[::2], edges[1::2], strict=True))
    if len(spans) > 1 and spans[0][0] == 0 and spans[-1][1] == len(minutes):
        spans = [(spans[-1][0], spans[0][1] + len(minutes)), *spans[1:-1]]
    clock = lambda m: f"{(m // 60) % 24:02d}:{m % 60:02d}"  # noqa: E731
    return ", ".join(f"{clock(a)}-{clock(b)}" for a, b in spans)


def _overnight_crowds(s: Scenario) -> Iterator[tuple[str, str]]:
    """A category arriving at hours when no gate it may use is open builds an artificial
    crowd outside every night: legal (people did wait), but rarely what a planner meant."""
    for key, cat in s.demand.items():
        if cat.pool == 0:
            continue
        gates = [g for g in s.gates.values() if g.admits == "all" or key in g.admits]
        if not gates or any(g.daily_hours is None for g in gates):
            continue
        open_minutes = np.zeros(24 * 60, dtype=bool)
        for gate in gates:
            open_minutes |= _minutes(gate.daily_hours)
        stranded = _minutes(cat.arrival_hours) & ~open_minutes
        if stranded.any():
            hours = ", ".join(
                f"[{format_duration(g.daily_hours[0])}, {format_duration(g.daily_hours[1])}]"
                for g in gates
            )
            yield (
                f"demand.{key}.arrival_hours",
                f"people arrive at {_spans(stranded)} when no gate admitting them is open "
                f"(gates' daily_hours: {hours}), so a crowd builds outside every night "
                "(expected arrival_hours within the gates' hours, if that is what you meant)",
            )
