"""Per-evacuee cost of the full model against a plain-SimPy M/M/c (issue: core speed).

Runs, in the same process and the same run:

* the yardstick: a textbook SimPy M/M/c, one process per customer, 200,000 customers
  (``benchmarks/yardstick.py``), in microseconds per customer;
* the Kabul baseline (build + run + results), in microseconds per person evacuated and
  per person who arrived at the perimeter.

The ratio (pipeline per evacuee / yardstick per customer) is the figure of merit: goal
<= 1.0 (issue 2) and <= 0.5 (issue 6). Both sides are timed in CPU seconds of this process
(``time.process_time``), which other work on the machine disturbs far less than wall time,
and each is the best of ``--repeat`` timings. Usage::

    python benchmarks/bench_core.py [--repeat 3] [--records]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import time
from pathlib import Path

import evacsim

HERE = Path(__file__).resolve().parent
SCENARIO = HERE.parent / "scenarios" / "kabul_2021.yaml"


def _yardstick():
    spec = importlib.util.spec_from_file_location("yardstick", HERE / "yardstick.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def cpu_timed(customers: int) -> dict:
        start = time.process_time()
        out = module.run_plain_mmc(customers=customers)
        cpu = time.process_time() - start
        return {**out, "us_per_customer": cpu / customers * 1e6}

    return cpu_timed


def time_pipeline(keep_records: bool, seed: int = 0) -> dict:
    scenario = evacsim.load_scenario(SCENARIO)
    start = time.process_time()
    model = evacsim.build(scenario, seed, keep_records=keep_records)
    model.run()
    result = evacsim.collect(model)
    wall = time.process_time() - start
    k = result.kpis
    return {
        "wall_s": wall,
        "run_s": model.wall_s,  # wall seconds inside Model.run
        "evacuated": k["evacuated"],
        "arrived": k["arrived"],
        "us_per_evacuee": wall / k["evacuated"] * 1e6,
        "us_per_arrival": wall / k["arrived"] * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--records", action="store_true", help="keep per-group records too")
    args = parser.parse_args()
    run_plain_mmc = _yardstick()

    yard = [run_plain_mmc(customers=200_000) for _ in range(args.repeat)]
    pipe = [time_pipeline(args.records, seed=i) for i in range(args.repeat)]
    y = min(r["us_per_customer"] for r in yard)
    best = min(pipe, key=lambda r: r["us_per_evacuee"])
    ratio = best["us_per_evacuee"] / y
    print(
        f"yardstick plain SimPy M/M/c: {y:.2f} us/customer (best of {args.repeat}, "
        f"median {statistics.median(r['us_per_customer'] for r in yard):.2f})"
    )
    print(
        f"kabul_2021 pipeline (records {'on' if args.records else 'off'}): "
        f"{best['wall_s']:.3f} s for {best['evacuated']:,.0f} evacuated, "
        f"{best['arrived']:,.0f} arrived (run {best['run_s']:.3f} s)"
    )
    print(f"  {best['us_per_evacuee']:.2f} us/evacuee, {best['us_per_arrival']:.2f} us/arrival")
    print(
        f"ratio pipeline per evacuee / yardstick per customer: {ratio:.3f} "
        f"(goal <= 1.0; stretch <= 0.5)"
    )
    print(f"ratio per arrival: {best['us_per_arrival'] / y:.3f}")


if __name__ == "__main__":
    main()
