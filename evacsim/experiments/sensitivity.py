"""Which uncertain inputs does a KPI hang on? Global sensitivity analysis with SALib.

``sensitivity(scenario, params)`` samples the inputs over their ranges (``--param
PATH=LOW:HIGH`` or the scenario's ``uncertain:`` block), runs every design point on an
engine through the results store (resumable: rerun into the same folder to continue), and
estimates for each KPI asked:

* ``sobol`` (default): first-order (S1) and total (ST) Sobol indices, Saltelli's design and
  the Jansen/Saltelli estimators, with bootstrap confidence intervals (Saltelli et al.,
  *Global Sensitivity Analysis: The Primer*, 2008, ch. 4; SALib ``sobol.analyze``). S1 is
  the share of the KPI's variance an input explains alone, ST the share it has a hand in
  (with interactions): an input with ST near 0 can be fixed anywhere in its range.
* ``morris``: elementary effects screening (Morris 1991; Campolongo et al. 2007): mu* (mean
  absolute effect of moving the input across its range, in the KPI's unit) and sigma (its
  spread: nonlinearity or interactions), with bootstrap intervals on mu*. Cheap: r(D+1)
  points for D inputs, against N(D+2) for Sobol.

Each design point is one scenario run ``replications`` times with the same root seed, so all
points see the same random streams (common random numbers): the KPI at a point is the mean
over its replications, and the indices measure the inputs, not the noise.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from evacsim.scenario.schema import Scenario

from .backtest import Parameter, parse_parameter, resolve_parameters, with_parameters
from .engines import Engine, make_engine
from .progress import Progress
from .replications import RunStats, as_scenario, execute
from .store import ResultStore
from .worker import ReplicationKey, scenario_hash

__all__ = [
    "DEFAULT_KPIS",
    "SensitivityResult",
    "parameters_from_scenario",
    "parse_range",
    "read_sensitivity",
    "sensitivity",
]

log = logging.getLogger(__name__)

Method = Literal["sobol", "morris"]
DEFAULT_KPIS: tuple[str, ...] = ("not_out", "left_behind", "evacuated")
"""KPIs analysed unless others are asked for."""

_RANGE = re.compile(r"^(?P<path>[^=]+=)(?P<low>[^:]+?)(?:\.\.|:)(?P<high>.+)$")


def parse_range(text: str) -> Parameter:
    """``PATH=LOW:HIGH`` or ``PATH=LOW..HIGH`` (set), ``PATH*=...`` (scale a profile); bounds
    may be durations (``3min:12min``). Raises ValueError naming the mistake."""
    match = _RANGE.match(text.strip())
    if match and ".." in text.partition("=")[2]:
        text = f"{match['path']}{match['low']}:{match['high']}"
    return parse_parameter(text)


def parameters_from_scenario(scenario: Scenario) -> list[Parameter]:
    """The scenario's ``uncertain:`` block as parameters (paths checked at validation)."""
    return [Parameter(path, r.low, r.high, scale=r.scale) for path, r in scenario.uncertain.items()]


def _problem(params: Sequence[Parameter]) -> dict:
    """The SALib problem: one variable per parameter, named by its label, over its range."""
    return {
        "num_vars": len(params),
        "names": [p.label for p in params],
        "bounds": [[p.low, p.high] for p in params],
    }


def design(
    params: Sequence[Parameter], method: Method, samples: int, seed: int, levels: int = 4
) -> np.ndarray:
    """The design points, one row per point, one column per parameter.

    Sobol: Saltelli's scheme, ``samples * (D + 2)`` points (``samples`` a power of 2 keeps the
    Sobol sequence balanced). Morris: ``samples`` trajectories of ``D + 1`` points on a
    ``levels``-level grid.
    """
    problem = _problem(params)
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        return sobol_sample.sample(problem, samples, calc_second_order=False, seed=seed)
    if method == "morris":
        from SALib.sample import morris as morris_sample

        return morris_sample.sample(problem, samples, num_levels=levels, seed=seed)
    raise ValueError(f"unknown method '{method}' (expected sobol or morris)")


def _written(params: Sequence[Parameter], row: np.ndarray) -> np.ndarray:
    """A design row as the scenario will hold it (whole numbers rounded), so that the
    analysis sees the inputs the model actually ran."""
    return np.array(
        [round(v) if p.integer else v for p, v in zip(params, row, strict=True)], dtype=float
    )


@dataclasses.dataclass
class SensitivityResult:
    """A sensitivity study: its design, the KPI at every point, and the indices.

    ``points``: one row per design point (point, one column per parameter label, scenario
    hash). ``outputs``: point, kpi, value (mean over the point's replications).
    ``indices``: kpi, parameter, then S1, S1_low, S1_high, ST, ST_low, ST_high (Sobol) or
    mu_star, mu_star_low, mu_star_high, sigma (Morris), intervals at ``level``.
    """

    method: str
    parameters: list[Parameter]
    points: pd.DataFrame
    outputs: pd.DataFrame
    indices: pd.DataFrame
    samples: int
    replications: int
    seed: int
    scenario_name: str
    level: float = 0.95
    store: ResultStore | None = None
    stats: RunStats = dataclasses.field(default_factory=RunStats)

    def ranking(self, kpi: str) -> pd.DataFrame:
        """The parameters for ``kpi``, most influential first (by ST, or mu* for Morris)."""
        key = "ST" if self.method == "sobol" else "mu_star"
        part = self.indices[self.indices["kpi"] == kpi]
        if part.empty:
            known = ", ".join(sorted(set(self.indices["kpi"])))
            raise KeyError(f"no indices for KPI '{kpi}' (expected one of: {known})")
        return part.sort_values(key, ascending=False, na_position="last").reset_index(drop=True)

    def summary(self, kpi: str | None = None) -> str:
        """The indices as plain text, one table per KPI (what ``evacsim sensitivity`` prints)."""
        kpis = [kpi] if kpi else list(dict.fromkeys(self.indices["kpi"]))
        lines = [
            f"Sensitivity of {self.scenario_name}: {self.method}, {len(self.points)} "
            f"design points x {self.replications} replication(s), root seed {self.seed}"
        ]
        for name in kpis:
            table = self.ranking(name)
            values = self.outputs[self.outputs["kpi"] == name]["value"]
            lines += [
                "",
                f"{name}: mean {values.mean():,.1f}, sd {values.std():,.1f} over the design points",
            ]
            if self.method == "sobol":
                rows = [
                    [
                        r.parameter,
                        f"{r.S1:.2f} [{r.S1_low:.2f}, {r.S1_high:.2f}]",
                        f"{r.ST:.2f} [{r.ST_low:.2f}, {r.ST_high:.2f}]",
                    ]
                    for r in table.itertuples()
                ]
                cols = [
                    "input",
                    f"first order S1 [{self.level:.0%} CI]",
                    f"total ST [{self.level:.0%} CI]",
                ]
            else:
                rows = [
                    [
                        r.parameter,
                        f"{r.mu_star:,.1f} [{r.mu_star_low:,.1f}, {r.mu_star_high:,.1f}]",
                        f"{r.sigma:,.1f}",
                    ]
                    for r in table.itertuples()
                ]
                cols = ["input", f"mu* [{self.level:.0%} CI]", "sigma"]
            lines.append(pd.DataFrame(rows, columns=cols).to_string(index=False))
        return "\n".join(lines)

    def figure(self, kpi: str | None = None):
        """Tornado chart of the indices (see :func:`evacsim.results.charts.sensitivity_chart`)."""
        from evacsim.results.charts import sensitivity_chart

        return sensitivity_chart(self.indices, kpi=kpi, method=self.method)

    def write(self, out: str | os.PathLike[str] | None = None) -> Path:
        """Write the study record, points, outputs and indices (Parquet + CSV)."""
        store = self.store if out is None else ResultStore(out)
        if store is None:
            raise ValueError("no results folder: pass out")
        store.write_json(
            "sensitivity.json",
            {
                "scenario": self.scenario_name,
                "method": self.method,
                "samples": self.samples,
                "replications": self.replications,
                "seed": self.seed,
                "level": self.level,
                "parameters": [dataclasses.asdict(p) for p in self.parameters],
            },
        )
        store.write_table("sensitivity_points", self.points)
        store.write_table("sensitivity_outputs", self.outputs)
        store.write_table("sensitivity_indices", self.indices)
        return store.root


def _analyse(
    method: str,
    params: Sequence[Parameter],
    x: np.ndarray,
    y: np.ndarray,
    resamples: int,
    level: float,
    seed: int,
) -> dict[str, np.ndarray]:
    problem = _problem(params)
    if not np.all(np.isfinite(y)) or np.ptp(y) == 0:
        # A KPI that no input moves (or that a point could not compute) has no variance to
        # share out: every index is undefined, not zero.
        nan = np.full(len(params), math.nan)
        keys = (
            ("S1", "S1_conf", "ST", "ST_conf")
            if method == "sobol"
            else ("mu_star", "mu_star_conf", "sigma")
        )
        return dict.fromkeys(keys, nan)
    if method == "sobol":
        from SALib.analyze import sobol as sobol_analyze

        return sobol_analyze.analyze(
            problem,
            y,
            calc_second_order=False,
            num_resamples=resamples,
            conf_level=level,
            seed=seed,
        )
    from SALib.analyze import morris as morris_analyze

    return morris_analyze.analyze(
        problem, x, y, num_resamples=resamples, conf_level=level, seed=seed
    )


def indices_table(
    method: str,
    params: Sequence[Parameter],
    x: np.ndarray,
    outputs: pd.DataFrame,
    resamples: int = 200,
    level: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """The indices of every KPI in ``outputs`` (point, kpi, value) as one tidy table."""
    rows = []
    for kpi, part in outputs.groupby("kpi", sort=False):
        y = part.set_index("point")["value"].reindex(range(len(x))).to_numpy(dtype=float)
        res = _analyse(method, params, x, y, resamples, level, seed)
        for i, p in enumerate(params):
            row = {"kpi": kpi, "parameter": p.label}
            if method == "sobol":
                for key in ("S1", "ST"):
                    value, half = float(res[key][i]), float(res[f"{key}_conf"][i])
                    row.update(
                        {key: value, f"{key}_low": value - half, f"{key}_high": value + half}
                    )
            else:
                value, half = float(res["mu_star"][i]), float(res["mu_star_conf"][i])
                row.update(
                    {
                        "mu_star": value,
                        "mu_star_low": value - half,
                        "mu_star_high": value + half,
                        "sigma": float(res["sigma"][i]),
                    }
                )
            rows.append(row)
    return pd.DataFrame(rows)


def sensitivity(
    scenario: Scenario | str | os.PathLike[str],
    params: Sequence[Parameter | str] | None = None,
    *,
    method: Method = "sobol",
    samples: int = 64,
    replications: int = 1,
    seed: int = 0,
    kpis: Sequence[str] | None = None,
    resamples: int = 200,
    level: float = 0.95,
    engine: str | Engine | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | os.PathLike[str] | ResultStore | None = None,
    progress: bool | None = None,
) -> SensitivityResult:
    """Global sensitivity of ``kpis`` to ``params`` (or the scenario's ``uncertain:`` block).

    ``params``: :class:`Parameter` objects or ``PATH=LOW:HIGH`` texts (``PATH*=`` scales).
    ``samples``: Sobol base samples N (N(D+2) points) or Morris trajectories r (r(D+1)
    points). Each point runs ``replications`` times with root ``seed`` (common random
    numbers across points); the design's own draws use ``seed`` too. Replications go to
    ``out`` as they finish; a rerun into the same folder skips what is done.
    """
    if method not in ("sobol", "morris"):
        raise ValueError(f"unknown method '{method}' (expected sobol or morris)")
    if samples < 2:
        raise ValueError(f"samples must be 2 or more, got {samples}")
    if replications < 1:
        raise ValueError(f"replications must be 1 or more, got {replications}")
    base = as_scenario(scenario)
    given = [parse_range(p) if isinstance(p, str) else p for p in (params or [])]
    chosen = given or parameters_from_scenario(base)
    if not chosen:
        raise ValueError(
            f"{base.name}: nothing to vary (give --param PATH=LOW:HIGH, or an "
            "'uncertain:' block in the scenario)"
        )
    if len({p.label for p in chosen}) != len(chosen):
        raise ValueError("each input may be given once")
    resolved = resolve_parameters(base, chosen, source="--param" if given else "uncertain")
    raw = design(resolved, method, samples, seed)
    x = np.array([_written(resolved, row) for row in raw])
    scenarios = [with_parameters(base, resolved, row) for row in x]
    hashes = [scenario_hash(s) for s in scenarios]

    store = out if isinstance(out, ResultStore) else ResultStore(out)
    unique = dict(zip(hashes, scenarios, strict=True))  # rounding can repeat a point
    jobs = ((s, ReplicationKey(h, seed, i)) for i in range(replications) for h, s in unique.items())
    own = not isinstance(engine, Engine)
    eng = make_engine(engine, workers, scheduler)
    try:
        with Progress(len(unique) * replications, f"sensitivity {base.name}", progress) as bar:
            stats = execute(jobs, eng, store, bar)
    finally:
        if own:
            eng.close()

    labels = [p.label for p in resolved]
    points = pd.DataFrame(x, columns=labels)
    points.insert(0, "point", range(len(x)))
    points["scenario"] = hashes
    means = {}
    for h in unique:
        kp = store.kpis(h, seed, sorted(store.done(h, seed) & set(range(replications))))
        means[h] = kp.groupby("kpi", sort=False)["value"].mean()
    names = list(kpis) if kpis else list(DEFAULT_KPIS)
    known = set().union(*(m.index for m in means.values())) if means else set()
    for name in names:
        if name not in known:
            raise KeyError(f"unknown KPI '{name}' (expected one of: {', '.join(sorted(known))})")
    outputs = pd.DataFrame(
        [
            {"point": i, "kpi": name, "value": float(means[h].get(name, math.nan))}
            for name in names
            for i, h in enumerate(hashes)
        ]
    )
    failed = stats.failed
    if failed:
        log.warning(
            "%d replication(s) failed; points without a finished replication have no "
            "KPI and their indices are undefined",
            failed,
        )
    indices = indices_table(method, resolved, x, outputs, resamples, level, seed)
    result = SensitivityResult(
        method,
        list(resolved),
        points,
        outputs,
        indices,
        samples,
        replications,
        seed,
        base.name,
        level,
        store,
        stats,
    )
    result.write()
    return result


def read_sensitivity(folder: str | os.PathLike[str]) -> SensitivityResult:
    """A sensitivity study read back from its results folder (for the report)."""
    import json

    root = Path(folder)
    record = json.loads((root / "sensitivity.json").read_text(encoding="utf-8"))
    tables = {
        name: pd.read_csv(root / f"sensitivity_{name}.csv")
        for name in ("points", "outputs", "indices")
    }
    params = [Parameter(**p) for p in record["parameters"]]
    return SensitivityResult(
        record["method"],
        params,
        tables["points"],
        tables["outputs"],
        tables["indices"],
        record["samples"],
        record["replications"],
        record["seed"],
        record["scenario"],
        record.get("level", 0.95),
        ResultStore(root),
    )
