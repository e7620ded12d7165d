"""Scaling benchmark: the Kabul baseline with its population and every capacity scaled by k.

For k in ``--factors`` (default 1, 4, 16) the baseline ``scenarios/kabul_2021.yaml`` is
scaled by multiplying, with :mod:`evacsim.experiments.levers` (``scale`` mode, so step
profiles, ranges and whole numbers are handled as in a sweep):

* every category's pool and arrivals per day (people: up to 16 x 172,500 = 2.76 million);
* every flight schedule's flights per day;
* every gate's throughput and troops needed, the screening lanes, the holding capacity;
* runways, ramp capacity (MOG) and the surge threshold;
* the forces (initial, deployments, withdrawals);
* every staging base's capacity, onward rate and initial load, and the staging-capacity events.

Each scaled run is one replication with ``keep_records=False`` (no per-group records: results
are summarised on the fly), in a fresh subprocess so that its peak memory (``ru_maxrss``) is
its own. Printed, all measured in this run:

1. a table per k: people arrived and evacuated, CPU and wall seconds for build + run and for
   collecting results, microseconds per arrived person, peak RSS;
2. the slope of log(time) against log(people) (least squares over the factors; the goal is
   <= 1.1, i.e. linear), for CPU time and for wall time, and the per-person cost ratio of the
   largest to the smallest run;
3. memory against progress in one run at ``--memory-factor`` (default 16): the model is
   advanced step by step (``env.run(until=t)``) and at each step ``tracemalloc`` reports the
   memory currently allocated, beside the people evacuated so far and the people present
   (outside, in screening, inside, aboard). A least-squares fit
   ``memory = a + b * present + c * evacuated`` gives the bytes held per present person (b)
   and per evacuated person (c); with records off, c should be about 0: memory follows who is
   there, not how many have been served.

Run ``python benchmarks/bench_scaling.py`` (about 5 minutes on 2 cores); ``--json FILE``
also writes every figure as JSON; ``--gc-off`` adds the same runs with Python's cyclic
garbage collector disabled during the run (a diagnostic of where superlinear time went; since
commit 2d9277b ``Model.run`` turns the collector off itself, so both agree).
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BASELINE = ROOT / "scenarios" / "kabul_2021.yaml"


def scaled_scenario(k: float):
    """The Kabul baseline with population, flights and every capacity multiplied by ``k``."""
    import evacsim
    from evacsim.experiments.levers import Lever, apply_levers, get_path

    base = evacsim.load_scenario(BASELINE)
    data = base.model_dump(mode="json", by_alias=True)
    paths = [
        "screening.lanes",
        "airfield.runways",
        "airfield.ramp_capacity",
        "airfield.surge_when_waiting_over",
        "holding.capacity",
    ]
    for name in data["demand"]:
        paths += [f"demand.{name}.pool", f"demand.{name}.arrivals_per_day"]
    for name in data["gates"]:
        paths += [f"gates.{name}.throughput_per_h", f"gates.{name}.min_troops"]
    for name in data["flights"]:
        paths.append(f"flights.{name}.per_day")
    for nation in data["forces"]["initial"]:
        paths.append(f"forces.initial.{nation}")
    for kind in ("deployments", "withdrawals"):
        for name in data["forces"][kind]:
            paths.append(f"forces.{kind}.{name}.troops")
    for name in data["staging"]:
        paths += [f"staging.{name}.{f}" for f in ("capacity", "onward_per_day", "initial")]
    for name, event in data["events"].items():
        if event["type"] == "staging_capacity":
            paths += [f"events.{name}.{f}" for f in ("capacity", "onward_per_day")]
    levers = [Lever(p, k, "scale") for p in paths if get_path(data, p) is not None]
    scenario = apply_levers(base, levers, source=f"scale x{k:g}")
    return scenario.model_copy(update={"name": f"kabul_2021_x{k:g}"})


# ------------------------------------------------------------------------------ one run


def measure_one(k: float, seed: int, gc_off: bool = False) -> dict:
    """Build, run and collect one scaled replication; times and peak memory (this process).

    With ``gc_off`` Python's cyclic garbage collector is disabled for the run (a diagnostic:
    how much of the time, and of its growth with k, the collector takes)."""
    from evacsim import build, collect
    from evacsim.model.demand import Stage

    scenario = scaled_scenario(k)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    model = build(scenario, seed, keep_records=False)
    if gc_off:
        gc.disable()
    model.run()
    gc.enable()
    cpu1, wall1 = time.process_time(), time.perf_counter()
    result = collect(model)
    cpu2, wall2 = time.process_time(), time.perf_counter()
    arrived = int(result.kpis["arrived"])
    return {
        "k": k,
        "pool": sum(c.pool for c in scenario.demand.values()),
        "arrived": arrived,
        "evacuated": int(result.kpis["evacuated"]),
        "evacuated_ledger": int(model.ledger.total(Stage.EVACUATED)),
        "flights_departed": int(result.kpis["flights_departed"]),
        "run_cpu_s": cpu1 - cpu0,
        "run_wall_s": wall1 - wall0,
        "results_cpu_s": cpu2 - cpu1,
        "results_wall_s": wall2 - wall1,
        # Linux reports ru_maxrss in kilobytes.
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def measure_in_subprocess(k: float, seed: int, gc_off: bool = False) -> dict:
    """:func:`measure_one` in a fresh interpreter, so peak memory is that run's alone."""
    out = subprocess.run(
        [sys.executable, __file__, "--child", str(k), "--seed", str(seed)]
        + (["--gc-off"] if gc_off else []),
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def loglog_slope(x: list[float], y: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


# ------------------------------------------------------------------------------ memory


def memory_profile(k: float, seed: int, samples: int) -> dict:
    """Allocated memory (tracemalloc) against people evacuated and present, step by step."""
    from evacsim import build
    from evacsim.model.demand import Stage

    scenario = scaled_scenario(k)
    tracemalloc.start()
    model = build(scenario, seed, keep_records=False)
    led = model.ledger
    rows = []
    # Sample times strictly before the deadline: Model.run() then runs the last stretch.
    times = np.linspace(0.0, model.horizon_h, samples + 1)[1:-1]
    started = time.perf_counter()
    for t in times:
        model.env.run(until=float(t))
        current, _ = tracemalloc.get_traced_memory()
        present = sum(
            led.total(s) for s in (Stage.OUTSIDE, Stage.SCREENING, Stage.INSIDE, Stage.ABOARD)
        )
        rows.append(
            {
                "t_h": float(t),
                "evacuated": led.total(Stage.EVACUATED),
                "present": present,
                "traced_mb": current / 2**20,
            }
        )
    model.run()
    current, peak = tracemalloc.get_traced_memory()
    rows.append(
        {
            "t_h": model.horizon_h,
            "evacuated": led.total(Stage.EVACUATED),
            "present": sum(
                led.total(s) for s in (Stage.OUTSIDE, Stage.SCREENING, Stage.INSIDE, Stage.ABOARD)
            ),
            "traced_mb": current / 2**20,
        }
    )
    tracemalloc.stop()
    mem = np.array([r["traced_mb"] for r in rows]) * 2**20
    design = np.column_stack(
        [np.ones(len(rows)), [r["present"] for r in rows], [r["evacuated"] for r in rows]]
    )
    (a, b, c), *_ = np.linalg.lstsq(design, mem, rcond=None)
    return {
        "k": k,
        "rows": rows,
        "peak_traced_mb": peak / 2**20,
        "bytes_per_present": float(b),
        "bytes_per_evacuated": float(c),
        "intercept_mb": float(a) / 2**20,
        "wall_s_traced": time.perf_counter() - started,
    }


# ------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factors", type=float, nargs="+", default=[1, 4, 16])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--memory-factor", type=float, default=16)
    parser.add_argument("--samples", type=int, default=17, help="memory samples over the run")
    parser.add_argument("--json", type=Path, help="also write every figure to this JSON file")
    parser.add_argument(
        "--gc-off",
        action="store_true",
        help="diagnostic: also time each k with the cyclic GC disabled",
    )
    parser.add_argument("--child", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(measure_one(args.child, args.seed, args.gc_off)))
        return 0

    runs = []
    print(
        f"{'k':>4}{'pool':>11}{'arrived':>11}{'evacuated':>11}{'run CPU s':>11}"
        f"{'run wall s':>11}{'results s':>10}{'us/person':>10}{'peak RSS MB':>12}"
    )
    for k in args.factors:
        r = measure_in_subprocess(k, args.seed)
        r["us_per_person_cpu"] = r["run_cpu_s"] / r["arrived"] * 1e6
        runs.append(r)
        print(
            f"{k:>4g}{r['pool']:>11,}{r['arrived']:>11,}{r['evacuated']:>11,}"
            f"{r['run_cpu_s']:>11.2f}{r['run_wall_s']:>11.2f}{r['results_cpu_s']:>10.2f}"
            f"{r['us_per_person_cpu']:>10.2f}{r['peak_rss_mb']:>12.0f}",
            flush=True,
        )
    people = [r["arrived"] for r in runs]
    summary = {}
    if len(runs) >= 2:
        summary = {
            "slope_cpu": loglog_slope(people, [r["run_cpu_s"] for r in runs]),
            "slope_wall": loglog_slope(people, [r["run_wall_s"] for r in runs]),
            "slope_cpu_with_results": loglog_slope(
                people, [r["run_cpu_s"] + r["results_cpu_s"] for r in runs]
            ),
            "cost_ratio_largest_to_smallest": runs[-1]["us_per_person_cpu"]
            / runs[0]["us_per_person_cpu"],
        }
        print(
            f"\nlog-log slope of time against people arrived (goal <= 1.1): "
            f"CPU {summary['slope_cpu']:.3f}, wall {summary['slope_wall']:.3f}, "
            f"CPU incl. results {summary['slope_cpu_with_results']:.3f}"
        )
        print(
            f"CPU cost per person, x{args.factors[-1]:g} / x{args.factors[0]:g}: "
            f"{summary['cost_ratio_largest_to_smallest']:.3f}"
        )

    if args.gc_off:
        print("\nSame runs with Python's cyclic garbage collector disabled during the run:")
        off = [measure_in_subprocess(k, args.seed, gc_off=True) for k in args.factors]
        for k, r, o in zip(args.factors, runs, off, strict=True):
            print(
                f"  x{k:<4g} run CPU {o['run_cpu_s']:7.2f} s "
                f"({o['run_cpu_s'] / o['arrived'] * 1e6:.2f} us/person; "
                f"GC took {1 - o['run_cpu_s'] / r['run_cpu_s']:.0%} with it on)"
            )
        if len(off) >= 2:
            summary["slope_cpu_gc_off"] = loglog_slope(people, [o["run_cpu_s"] for o in off])
            print(f"  log-log slope, CPU, GC off: {summary['slope_cpu_gc_off']:.3f}")
        summary["gc_off_runs"] = off

    mem = None
    if args.memory_factor:
        print(f"\nMemory during one x{args.memory_factor:g} run (tracemalloc, records off):")
        mem = memory_profile(args.memory_factor, args.seed, args.samples)
        print(f"{'t (h)':>8}{'evacuated':>12}{'present':>12}{'traced MB':>11}")
        for row in mem["rows"]:
            print(
                f"{row['t_h']:>8.0f}{row['evacuated']:>12,}{row['present']:>12,}"
                f"{row['traced_mb']:>11.1f}"
            )
        print(
            f"fit memory = a + b*present + c*evacuated: a = {mem['intercept_mb']:.1f} MB, "
            f"b = {mem['bytes_per_present']:.0f} bytes per person present, "
            f"c = {mem['bytes_per_evacuated']:.1f} bytes per person evacuated; "
            f"peak traced {mem['peak_traced_mb']:.1f} MB"
        )
    if args.json:
        args.json.write_text(
            json.dumps({"runs": runs, "summary": summary, "memory": mem}, indent=2),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
