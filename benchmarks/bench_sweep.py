"""Parallel efficiency of the experiment engines on the Kabul baseline.

Runs N replications (default 100) of a scenario on 1 and on 2 workers, for the local
process engine and for a local Dask cluster, and prints for each engine

    efficiency = T1 / (workers * T2)

where T1 and T2 are wall times on 1 and 2 workers. Engines are started and warmed (one
replication per worker, not counted) before timing, so the figure is the steady state of a
long experiment; the start-up cost is printed separately. Results are also checked to be
identical across every engine and worker count. Goal: >= 90 % on 2 workers.

    python benchmarks/bench_sweep.py                      # 100 replications, both engines
    python benchmarks/bench_sweep.py -n 200 --engines local

Timings on a shared machine move with other load: the load average is printed with them,
and ``cpu/wall`` is the CPU time a replication got over its wall time (100 % on an idle
machine; lower when other processes share the cores), and ``busy`` the share of the workers'
time spent inside replications (what is left is the engine's own overhead: dispatch,
pickling, the driver writing each result).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import evacsim
from evacsim.experiments import DaskEngine, LocalEngine, ReplicationKey, replicate

ROOT = Path(__file__).resolve().parent.parent


def _engine(kind: str, workers: int):
    return LocalEngine(workers) if kind == "local" else DaskEngine(workers)


def measure(
    kind: str, workers: int, scenario, n: int, seed: int
) -> tuple[float, float, float, float, pd.DataFrame]:
    """(start-up s, wall s, CPU share, busy share, kpis) of n replications, warmed engine."""
    started = time.perf_counter()
    engine = _engine(kind, workers)
    with engine, tempfile.TemporaryDirectory() as tmp:
        # Warm-up: start every worker and import the model there (not part of the timing).
        replicate(
            scenario, workers, seed=seed + 1, engine=engine, out=Path(tmp) / "warm", progress=False
        )
        startup = time.perf_counter() - started
        t0 = time.perf_counter()
        reps = replicate(
            scenario, n, seed=seed, engine=engine, out=Path(tmp) / "run", progress=False
        )
        wall = time.perf_counter() - t0
        kpis = reps.kpis.copy()
        prov = [
            reps.store.provenance(ReplicationKey(reps.scenario_hash, seed, r)) for r in range(n)
        ]
        # CPU a replication got over its wall time: below 1 when other work shares the cores.
        busy_s = sum(p["wall_time_s"] for p in prov)
        share = sum(p["cpu_time_s"] for p in prov) / busy_s
        # Share of the workers' time spent inside replications: the engine's own overhead
        # (dispatch, pickling, the driver writing results) is what keeps it below 1.
        busy = busy_s / (workers * wall)
    return startup, wall, share, busy, kpis


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--replications", type=int, default=100)
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "kabul_2021.yaml"))
    parser.add_argument("--engines", default="local,dask")
    parser.add_argument("--seed", type=int, default=2021)
    args = parser.parse_args(argv)

    scenario = evacsim.load_scenario(args.scenario)
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    print(
        f"{args.replications} replications of {scenario.name}; cores: {os.cpu_count()}; "
        f"load average before: {os.getloadavg()[0]:.2f}"
    )
    print(
        f"{'engine':<8}{'workers':>8}{'start-up s':>12}{'wall s':>10}{'s/rep':>8}"
        f"{'rep/s':>8}{'cpu/wall':>9}{'busy':>6}{'load':>7}"
    )
    reference = None
    rows: dict[tuple[str, int], float] = {}
    busy_at: dict[tuple[str, int], float] = {}
    for kind in engines:
        for workers in (1, 2):
            startup, wall, share, busy, kpis = measure(
                kind, workers, scenario, args.replications, args.seed
            )
            rows[(kind, workers)] = wall
            busy_at[(kind, workers)] = busy
            print(
                f"{kind:<8}{workers:>8}{startup:>12.1f}{wall:>10.1f}"
                f"{wall / args.replications:>8.2f}{args.replications / wall:>8.2f}"
                f"{share:>9.0%}{busy:>6.0%}{os.getloadavg()[0]:>7.2f}",
                flush=True,
            )
            if reference is None:
                reference = kpis
            elif not kpis.equals(reference):
                print(f"MISMATCH: {kind} on {workers} workers differs from the first run")
                return 1
    print()
    for kind in engines:
        t1, t2 = rows[(kind, 1)], rows[(kind, 2)]
        eff = t1 / (2 * t2)
        print(
            f"parallel efficiency {kind:<6} on 2 workers: T1/(2*T2) = {t1:.1f}/(2*{t2:.1f}) "
            f"= {eff:.0%}  (speed-up {t1 / t2:.2f}x; goal >= 90%); workers busy "
            f"{busy_at[(kind, 2)]:.0%} of the time"
        )
    print("results identical across engines and worker counts: yes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
