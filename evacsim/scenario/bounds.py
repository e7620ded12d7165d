"""Plausibility bounds: every number a scenario may hold, limited by what it means.

A scenario file is untrusted input (files travel between teams). Whatever validation
accepts, a run must finish in bounded time and memory, so every numeric field carries a
lower and an upper bound derived from its meaning and its unit: a count of people is at
most :data:`MAX_PERSONS`, a duration at most the longest run, a weight finite and at most
:data:`MAX_WEIGHT`, a rank at most :data:`MAX_RANK`. The limits are generous (far beyond any
airlift on record: Kabul moved about 124,000 people in 17 days), so that only a typo or a
hostile file meets them.

New fields declare their bound by using one of the annotated types below, e.g.::

    pool: Persons = Field(description="People eligible (persons).")
    mean: PositiveDuration = Field(description="Mean duration (h).")

or, for a count with its own limit, ``Annotated[int, Field(ge=0, le=MAX_SOMETHING)]``.
``tests/hostile/test_bounds.py`` walks the whole schema and fails for any int or float
field (or mapping key) that lacks a lower or an upper bound.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

__all__ = [
    "MAX_AIRCRAFT",
    "MAX_CV",
    "MAX_DURATION_H",
    "MAX_GROUP_SIZE",
    "MAX_PERSONS",
    "MAX_RANK",
    "MAX_RATE_PER_H",
    "MAX_RUN_DAYS",
    "MAX_RUNWAYS",
    "MAX_SEATS",
    "MAX_TROOPS",
    "MAX_WEIGHT",
    "PLAUSIBLE",
    "Aircraft",
    "GroupSize",
    "Persons",
    "Plausible",
    "PersonsPerDay",
    "PersonsPerHour",
    "Rank",
    "Ratio",
    "SignedRank",
    "Troops",
    "Weight",
]


class Plausible:
    """Marker in a field's metadata: its upper bound is a plausibility limit (it stops typos
    and hostile files, it is not part of the meaning), so error messages name it only when a
    value breaks it."""

    def __repr__(self) -> str:
        return "PLAUSIBLE"


PLAUSIBLE = Plausible()

MAX_RUN_DAYS = 3650
"""Longest run accepted (days): a deadline years away is a typo, and would be slow."""
MAX_DURATION_H = MAX_RUN_DAYS * 24.0
"""Longest duration any field may hold (h): the longest run. Anything longer is never
reached inside a run, and ``1e308h`` would overflow the clock."""
MAX_PERSONS = 1_000_000_000
"""Most people in any one count (pool, capacity, base, per-day rate): a pool this large
means 'no limit' (rates decide who comes); ``1e30`` would overflow the tables."""
MAX_TROOPS = 10_000_000
"""Most troops in any one count (the largest armies on record)."""
MAX_GROUP_SIZE = 1_000
"""Largest group (family, bus load) that moves as one (persons)."""
MAX_WEIGHT = 1e12
"""Largest relative weight (group sizes, destinations): finite, so that sums stay finite."""
MAX_CV = 100.0
"""Largest coefficient of variation of a duration (a cv of 5 is already extreme)."""
MAX_RANK = 1_000
"""Largest priority or manning rank (ranks only order things)."""
MAX_RUNWAYS = 100
"""Most runways usable at once (the largest airports have about 8)."""
MAX_SEATS = 5_000
"""Most seats in one aircraft (the record, a C-17 from Kabul, carried 823)."""
MAX_AIRCRAFT = 100_000
"""Most aircraft on the ground at once (ramp capacity)."""
MAX_RATE_PER_H = 1e7
"""Largest per-hour rate (gate throughput): more than any crowd can physically pass."""

Persons = Annotated[
    int, Field(ge=0, le=MAX_PERSONS, json_schema_extra={"unit": "persons"}), PLAUSIBLE
]
"""A head-count of people."""
PersonsPerDay = Annotated[float, Field(ge=0, le=MAX_PERSONS), PLAUSIBLE]
"""A rate of people per day."""
PersonsPerHour = Annotated[float, Field(gt=0, le=MAX_RATE_PER_H), PLAUSIBLE]
"""A positive rate of people per hour."""
Troops = Annotated[int, Field(ge=0, le=MAX_TROOPS, json_schema_extra={"unit": "troops"}), PLAUSIBLE]
"""A head-count of troops."""
Aircraft = Annotated[
    int, Field(ge=1, le=MAX_AIRCRAFT, json_schema_extra={"unit": "aircraft"}), PLAUSIBLE
]
"""A number of aircraft (at least one)."""
GroupSize = Annotated[int, Field(ge=1, le=MAX_GROUP_SIZE), PLAUSIBLE]
"""Persons in one group."""
Weight = Annotated[float, Field(ge=0, le=MAX_WEIGHT), PLAUSIBLE]
"""A relative weight: finite and non-negative."""
Ratio = Annotated[float, Field(gt=0, le=MAX_CV), PLAUSIBLE]
"""A positive dimensionless ratio such as a coefficient of variation."""
Rank = Annotated[int, Field(ge=0, le=MAX_RANK), PLAUSIBLE]
"""A rank where 0 comes first."""
SignedRank = Annotated[int, Field(ge=-MAX_RANK, le=MAX_RANK), PLAUSIBLE]
"""An ordering key that may be negative."""
