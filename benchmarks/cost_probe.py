"""Measured against estimated cost of one replication (evacsim.scenario.cost).

Runs a few scenarios that each stress one cost driver (gates, categories, arrivals, a long
run, returns) in a child process each, and prints CPU seconds and peak memory measured next
to the estimate. The estimate should be at or above what is measured, within a small factor.

    python benchmarks/cost_probe.py            # about a minute on one core
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

BASE = {
    "name": "probe",
    "start": "2021-01-01T00:00",
    "deadline": "2021-01-04T00:00",
    "demand": {"people": {"pool": 5_000, "arrivals_per_day": 240_000}},
    "gates": {"main": {"throughput_per_h": None}},
    "screening": {"lanes": 1000, "service": {"dist": "fixed", "value": 0}},
    "airfield": {"runways": 1, "separation": "1min", "ramp_capacity": 10},
    "aircraft": {"plane": {"seats": 100, "turnaround": "1h"}},
    "operators": {"op": {}},
    "flights": {
        "shuttle": {
            "operator": "op",
            "aircraft": "plane",
            "from": "2021-01-01T06:00",
            "to": "2021-01-03T06:00",
            "per_day": 10,
            "destinations": "base",
        }
    },
    "staging": {"base": {"capacity": 1_000_000, "onward_per_day": 0, "flight_time": "1h"}},
}


def _days(d: dict, n: int) -> None:
    d["deadline"] = (dt.datetime(2021, 1, 1) + dt.timedelta(days=n)).isoformat()


def probes() -> dict[str, dict]:
    out = {}
    d = copy.deepcopy(BASE)
    d["gates"] = {f"g{i}": {"throughput_per_h": 100} for i in range(1000)}
    out["1000 gates x 5000 people"] = d
    d = copy.deepcopy(BASE)
    _days(d, 60)
    d["demand"] = {f"c{i}": {"pool": 10, "arrivals_per_day": 100} for i in range(150)}
    out["150 categories x 60 days"] = d
    d = copy.deepcopy(BASE)
    d["demand"]["people"].update(pool=300_000, arrivals_per_day=300_000)
    out["300,000 arrivals"] = d
    d = copy.deepcopy(BASE)
    _days(d, 3650)
    d["demand"]["people"]["arrivals_per_day"] = 100
    out["10 years"] = d
    d = copy.deepcopy(BASE)
    d["demand"]["people"].update(patience="1h", return_after="1h", return_probability=1)
    d["gates"]["main"]["closed_from"] = "2021-01-01T00:00"
    out["returns every 2 h, gate shut"] = d
    return out


def child(data: dict) -> None:
    sys.path.insert(0, str(ROOT))
    from evacsim.model.model import build
    from evacsim.results.result import collect
    from evacsim.scenario.cost import estimate_cost
    from evacsim.scenario.loader import scenario_from_dict

    s = scenario_from_dict(data)
    base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    t = time.process_time()
    collect(build(s, 0).run())
    cpu = time.process_time() - t
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - base_rss
    est = estimate_cost(s)
    print(json.dumps({"cpu": cpu, "mem": rss, "est_cpu": est.cpu_s, "est_mem": est.memory_bytes}))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(json.loads(sys.stdin.read()))
        return
    print(f"{'probe':32} {'CPU s':>8} {'est.':>8} {'mem MiB':>8} {'est.':>8}")
    for name, data in probes().items():
        done = subprocess.run(
            [sys.executable, __file__, "--child"],
            input=json.dumps(data),
            capture_output=True,
            text=True,
            check=True,
        )
        r = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{name:32} {r['cpu']:8.1f} {r['est_cpu']:8.1f} {r['mem'] / 2**20:8.0f} "
            f"{r['est_mem'] / 2**20:8.0f}"
        )


if __name__ == "__main__":
    main()
