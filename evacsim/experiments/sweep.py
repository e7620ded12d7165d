"""Sweeps: levers and uncertainties × replications → one tidy table of outcomes.

A sweep names a base scenario, the factors to vary and the replications per point
(EMA Workbench's uncertainties × levers → outcomes, Kwakkel 2017). Each factor is a lever
(:mod:`.levers`: a dotted path and ``set``/``add``/``scale``) with either

* ``values: [...]``: crossed with every other listed factor (full factorial grid), or
* ``low`` and ``high``: sampled by Latin hypercube (``samples`` points, McKay et al. 1979),

and the design is the grid crossed with the hypercube sample. Sweep file (YAML)::

    base: ../kabul_2021.yaml          # relative to the sweep file
    replications: 20
    seed: 2021
    samples: 8                        # Latin hypercube points (needed if a factor has a range)
    levers:
      flights.us_c17.per_day: {mode: add, values: [0, 5, 10]}
      screening.lanes: [50, 70, 90]   # shorthand for {values: [...]} (mode set)
    uncertainties:
      demand.siv_applicants.pool: {low: 40000, high: 80000, integer: true}

``levers`` and ``uncertainties`` may also be lists written in the lever language, as on the
command line (``--vary``): ``levers: ["flights.us_c17.per_day+=0,5,10",
"screening.lanes=50,70,90"]``, ``uncertainties: ["demand.siv_applicants.pool=40000..80000"]``.

Every point runs replications ``0 .. replications-1`` with the same root seed, so points
differ by their factors, not by their noise (common random numbers). The result is one tidy
table: one row per point × replication × KPI, with the factors' values as columns.
"""

from __future__ import annotations

import dataclasses
import itertools
import logging
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator
from scipy.stats import qmc

from evacsim.scenario.documents import read_document
from evacsim.scenario.loader import (
    Problem,
    ScenarioError,
    allowed_dirs,
    load_scenario,
    outside_message,
    problems_from_validation,
)
from evacsim.scenario.schema import Scenario

from . import statistics
from .engines import Engine, make_engine
from .levers import Lever, LeverSyntaxError, Range, apply_levers, check_paths, parse_lever
from .progress import Progress
from .replications import RunStats, as_scenario, budget_for, execute
from .store import ResultStore
from .worker import ReplicationKey, scenario_hash

__all__ = ["Factor", "SweepResult", "SweepSpec", "load_sweep", "parse_vary", "sweep"]

log = logging.getLogger(__name__)


MAX_POINTS = 100_000
"""Most design points a sweep may have (the design is built in memory)."""
MAX_RUNS = 10_000_000
"""Most replications a sweep may run in all (points x replications)."""


def _shorthand(value: Any) -> Any:
    """``path: [v1, v2]`` is shorthand for ``path: {values: [v1, v2]}``."""
    return {"values": value} if isinstance(value, list) else value


class Factor(BaseModel):
    """One factor of a sweep: how to change its path, and its values or its range."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["set", "add", "scale"] = Field(
        "set", description="set: replace; add/scale: change every number at the path."
    )
    values: list[Any] | None = Field(None, min_length=1, description="Grid values.")
    low: float | None = Field(
        None, allow_inf_nan=False, description="Lower end of a range (Latin hypercube)."
    )
    high: float | None = Field(
        None, allow_inf_nan=False, description="Upper end of a range (Latin hypercube)."
    )
    integer: bool = Field(False, description="Round sampled values to whole numbers.")

    @model_validator(mode="after")
    def _one_kind(self) -> Factor:
        has_range = self.low is not None or self.high is not None
        if self.values is not None and has_range:
            raise ValueError("give either values (grid) or low and high (range), not both")
        if self.values is None and not has_range:
            raise ValueError("expected values: [...] or low and high")
        if has_range and (self.low is None or self.high is None):
            raise ValueError("a range needs both low and high")
        if has_range and self.high < self.low:
            raise ValueError(f"high ({self.high}) is below low ({self.low})")
        return self

    @property
    def is_range(self) -> bool:
        return self.values is None


FactorSpec = Annotated[Factor, BeforeValidator(_shorthand)]


def factor_fields(lever: Lever) -> dict[str, Any]:
    """A factor's fields from a lever written in the lever language (``PATH=a,b``,
    ``PATH+=LO..HI``...): grid values or a range, and the mode."""
    if isinstance(lever.value, Range):
        lo, hi = lever.value.low, lever.value.high
        integer = isinstance(lo, int) and isinstance(hi, int)
        return {"mode": lever.mode, "low": lo, "high": hi, "integer": integer}
    return {"mode": lever.mode, "values": lever.value}


def _lever_strings(value: Any) -> Any:
    """``levers: ["screening.lanes=50,70", "x+=0..5"]``: the lever language in a sweep file,
    read into the mapping form ``{path: {mode, values | low, high}}``."""
    if not isinstance(value, list):
        return value
    factors: dict[str, Any] = {}
    for item in value:
        if not isinstance(item, str):
            raise ValueError(
                f"{item!r} is not a lever (expected text such as 'screening.lanes=50,70,90')"
            )
        try:
            lever = parse_lever(item, several=True, example="screening.lanes=50,70,90")
        except LeverSyntaxError as exc:
            raise ValueError(str(exc)) from None
        factors[lever.path] = factor_fields(lever)
    return factors


Factors = Annotated[dict[str, FactorSpec], BeforeValidator(_lever_strings)]


class SweepSpec(BaseModel):
    """A sweep: base scenario, factors (levers and uncertainties), replications, seed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base: str = Field(description="Scenario file, relative to the sweep file.")
    name: str | None = Field(None, description="Name of the sweep; defaults to the file stem.")
    description: str = ""
    replications: int = Field(10, ge=1, le=MAX_RUNS, description="Replications per point.")
    seed: int = Field(0, ge=0, le=2**63 - 1, description="Root seed shared by every point.")
    samples: int = Field(
        0, ge=0, le=MAX_POINTS, description="Latin hypercube points over the ranges."
    )
    sample_seed: int | None = Field(
        None, ge=0, le=2**63 - 1, description="Seed of the hypercube sample."
    )
    levers: Factors = Field(
        default_factory=dict,
        description="Decisions under our control: "
        "{path: factor}, or a list of levers such as 'x.y+=0,5'.",
    )
    uncertainties: Factors = Field(
        default_factory=dict, description="What we do not control, written as levers are."
    )

    @model_validator(mode="after")
    def _design(self) -> SweepSpec:
        both = set(self.levers) & set(self.uncertainties)
        if both:
            listed = ", ".join(sorted(both))
            raise ValueError(f"paths listed as both lever and uncertainty: {listed}")
        has_range = any(f.is_range for f in self.factors().values())
        if has_range and self.samples < 1:
            raise ValueError(
                "a factor has a range (low, high): set samples (Latin hypercube points, "
                "e.g. --samples 20)"
            )
        # The design is built in memory: count it before building it.
        points = math.prod(len(f.values) for f in self.factors().values() if not f.is_range)
        points *= self.samples if has_range else 1
        if points > MAX_POINTS or points * self.replications > MAX_RUNS:
            raise ValueError(
                f"the design has {points:,} points x {self.replications:,} replications "
                f"(expected at most {MAX_POINTS:,} points and {MAX_RUNS:,} runs)"
            )
        return self

    def factors(self) -> dict[str, Factor]:
        return {**self.levers, **self.uncertainties}


@dataclasses.dataclass(frozen=True)
class Point:
    """One design point: its index, the factors' values and the resulting scenario."""

    index: int
    values: dict[str, Any]
    scenario: Scenario
    scenario_hash: str


def load_sweep(
    path: str | os.PathLike[str],
    overrides: list[str] | tuple[str, ...] = (),
    *,
    allow_dirs: list[str | os.PathLike[str]] | tuple = (),
) -> tuple[SweepSpec, Scenario]:
    """Read a sweep file and its base scenario, ``overrides`` (``--set``) applied to the
    base. Every mistake is a :class:`Problem` with its line and, for a misspelt field or a
    lever path that does not exist, the closest one (ScenarioError listing them all).

    ``base:`` obeys the folder rule of ``extends:`` (see
    :func:`evacsim.scenario.loader.allowed_dirs`); ``allow_dirs`` are extra folders."""
    doc = read_document(path)
    if not isinstance(doc.data, dict):
        raise ScenarioError([Problem(str(path), "", "expected a mapping of sweep fields")])
    try:
        spec = SweepSpec.model_validate(doc.data)
    except ValidationError as exc:
        raise ScenarioError(problems_from_validation(exc, str(path), SweepSpec, doc)) from None
    base = Path(path).parent / spec.base
    resolved = None if "\x00" in spec.base else base.resolve()
    outside = outside_message(spec.base, resolved, allowed_dirs(path, allow_dirs))
    if outside:
        raise ScenarioError([Problem(str(path), "base", outside)], unreadable=True)
    if not base.is_file():
        file, line = doc.origin(("base",))
        raise ScenarioError(
            [
                Problem(
                    file, "base", f"no such scenario file '{spec.base}' (looked at {base})", line
                )
            ],
            unreadable=True,
        )
    if spec.name is None:
        spec = spec.model_copy(update={"name": Path(path).stem})
    scenario = load_scenario(base, overrides, allow_dirs=allow_dirs)
    problems = []
    for group in ("levers", "uncertainties"):
        for lever_path in getattr(spec, group):
            try:
                check_paths(scenario, [lever_path], str(path))
            except ScenarioError as err:
                file, line = doc.origin((group, lever_path))
                problems += [
                    dataclasses.replace(p, path=f"{group}.{p.path}", line=line)
                    for p in err.problems
                ]
    if problems:
        raise ScenarioError(problems)
    return spec, scenario


def parse_vary(items: list[str]) -> dict[str, Factor]:
    """Factors from ``--vary`` flags, in the lever language (:mod:`evacsim.scenario.levers`).

    ``path=v1,v2`` (set), ``path+=v1,v2`` (add), ``path*=v1,v2`` (scale) give grid values;
    ``path=low..high`` (or ``+=``/``*=``) a range for the Latin hypercube. Values are read
    as YAML scalars: ``70``, ``1.5``, ``2h``, ``null``.
    """
    factors: dict[str, Factor] = {}
    for item in items:
        try:
            lever = parse_lever(item, several=True, example="screening.lanes=50,70,90")
            factors[lever.path] = Factor(**factor_fields(lever))
        except LeverSyntaxError as exc:
            raise ValueError(f"--vary {item}: {exc}") from None
        except ValidationError as exc:
            reason = "; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())
            raise ValueError(f"--vary {item}: {reason}") from None
    return factors


def design(spec: SweepSpec) -> list[dict[str, Any]]:
    """The design points: the grid of listed values crossed with a Latin hypercube sample."""
    factors = spec.factors()
    grid = {p: f.values for p, f in factors.items() if not f.is_range}
    ranges = {p: f for p, f in factors.items() if f.is_range}
    grid_points = [
        dict(zip(grid, combo, strict=True)) for combo in itertools.product(*grid.values())
    ]
    if not ranges:
        return grid_points
    seed = spec.seed if spec.sample_seed is None else spec.sample_seed
    try:
        sampler = qmc.LatinHypercube(d=len(ranges), rng=np.random.default_rng(seed))
    except TypeError:  # SciPy < 1.15 names the argument seed
        sampler = qmc.LatinHypercube(d=len(ranges), seed=np.random.default_rng(seed))
    unit = sampler.random(spec.samples)
    samples = []
    for row in unit:
        point = {}
        for u, (path, f) in zip(row, ranges.items(), strict=True):
            value = f.low + u * (f.high - f.low)
            point[path] = int(round(value)) if f.integer else float(value)
        samples.append(point)
    return [{**g, **s} for g in grid_points for s in samples]


@dataclasses.dataclass
class SweepResult:
    """The points of a sweep and their replications, read back from the store."""

    spec: SweepSpec
    points: list[Point]
    store: ResultStore
    stats: RunStats

    @property
    def factors(self) -> list[str]:
        return list(self.spec.factors())

    def points_table(self) -> pd.DataFrame:
        """One row per point: index, scenario hash and the factors' values."""
        rows = [
            {
                "point": p.index,
                "scenario": p.scenario_hash,
                **{k: _cell(v) for k, v in p.values.items()},
            }
            for p in self.points
        ]
        return pd.DataFrame(rows, columns=["point", "scenario", *self.factors])

    def table(self) -> pd.DataFrame:
        """The tidy result: one row per point × replication × KPI, factors as columns."""
        frames = []
        seed, n = self.spec.seed, self.spec.replications
        for p in self.points:
            done = self.store.done(p.scenario_hash, seed)
            kpis = self.store.kpis(p.scenario_hash, seed, [r for r in range(n) if r in done])
            frames.append(kpis.assign(point=p.index))
        table = pd.concat(frames, ignore_index=True)
        out = table.merge(self.points_table(), on="point", how="left")
        return out[["point", *self.factors, "scenario", "replication", "kpi", "value"]]

    def summary(self, level: float = 0.95) -> pd.DataFrame:
        """Per point and KPI: mean, CI and percentiles over replications, factors as columns."""
        table = self.table()
        summary = statistics.summarise(table[["point", "kpi", "value"]], by=["point"], level=level)
        return self.points_table().merge(summary, on="point")

    def failures(self) -> pd.DataFrame:
        """Failed replications: point, replication, error."""
        frames = [
            self.store.failures(
                p.scenario_hash, self.spec.seed, range(self.spec.replications)
            ).assign(point=p.index)
            for p in self.points
        ]
        return pd.concat(frames, ignore_index=True)[["point", "replication", "error"]]

    def write(self, out: str | os.PathLike[str] | None = None) -> os.PathLike[str]:
        """Write points, the tidy table and the per-point summary (Parquet + CSV)."""
        store = self.store if out is None else ResultStore(out)
        store.write_table("sweep_points", self.points_table())
        store.write_table("sweep_kpis", self.table())
        store.write_table("sweep_summary", self.summary())
        return store.root


def _cell(value: Any) -> Any:
    """A factor value as a table cell (profiles and ranges as text)."""
    return value if isinstance(value, int | float | str | bool) or value is None else str(value)


def _points(spec: SweepSpec, base: Scenario, source: str) -> list[Point]:
    factors = spec.factors()
    # A path that does not exist is one mistake, not one per point: check paths first.
    check_paths(base, list(factors), source)
    problems = []
    points = []
    for i, values in enumerate(design(spec)):
        levers = [Lever(path, value, factors[path].mode) for path, value in values.items()]
        try:
            scenario = apply_levers(base, levers, source=f"{source} (point {i})")
        except ScenarioError as err:
            problems.extend(err.problems)
            continue
        points.append(Point(i, values, scenario, scenario_hash(scenario)))
    if problems:
        raise ScenarioError(problems)
    return points


def sweep(
    spec: SweepSpec | str | os.PathLike[str],
    base: Scenario | str | os.PathLike[str] | None = None,
    *,
    replications: int | None = None,
    samples: int | None = None,
    seed: int | None = None,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = None,
    allow_large: bool = False,
    allow_dirs: Iterable[str | os.PathLike[str]] = (),
) -> SweepResult:
    """Run a sweep: every design point × ``replications``, streamed to the store.

    ``spec`` is a sweep file or a :class:`SweepSpec` (then ``base`` is its scenario or the
    scenario's file). ``replications``, ``samples`` and ``seed`` override the spec's. A
    rerun into the same ``out`` folder skips every replication already there.
    """
    if isinstance(spec, SweepSpec):
        if base is None:
            raise ValueError("a SweepSpec needs its base scenario")
        base_scenario = as_scenario(base)
        source = base_scenario.name if isinstance(base, Scenario) else str(base)
    else:
        source = str(spec)
        spec, base_scenario = load_sweep(spec, allow_dirs=allow_dirs)
        if base is not None:
            base_scenario = as_scenario(base)
    overrides = {
        k: v
        for k, v in {"replications": replications, "samples": samples, "seed": seed}.items()
        if v is not None
    }
    if overrides:
        spec = SweepSpec.model_validate({**spec.model_dump(), **overrides})
    points = _points(spec, base_scenario, source)
    store = out if isinstance(out, ResultStore) else ResultStore(out)
    jobs = (
        (p.scenario, ReplicationKey(p.scenario_hash, spec.seed, r))
        for r in range(spec.replications)
        for p in points
    )
    store.write_json(
        "sweep.json",
        {
            "spec": spec.model_dump(mode="json"),
            "base": base_scenario.name,
            "points": [
                {"point": p.index, "scenario": p.scenario_hash, "values": p.values} for p in points
            ],
        },
    )
    own = not isinstance(engine, Engine)
    eng = make_engine(engine, workers, scheduler)
    try:
        with Progress(len(points) * spec.replications, spec.name or "sweep", progress) as bar:
            run_stats = execute(jobs, eng, store, bar, budget_for(allow_large))
    finally:
        if own:
            eng.close()
    log.info(
        "sweep %s: %d points × %d replications: %d run, %d skipped, %d failed",
        spec.name,
        len(points),
        spec.replications,
        run_stats.ran,
        run_stats.skipped,
        run_stats.failed,
    )
    return SweepResult(spec, points, store, run_stats)
