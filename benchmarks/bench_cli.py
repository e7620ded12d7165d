"""Start-up cost of the command line: ``evacsim --help`` against a bare interpreter.

Runs, in the same run and on the same interpreter (so machine speed cancels in the ratio):

* the baseline: ``python -c pass`` (an interpreter that starts and exits);
* ``python -m evacsim.cli --help`` (what the ``evacsim`` console script runs, minus the
  wrapper script's own few milliseconds);
* ``python -c "import evacsim"`` (what every worker process and notebook pays first).

Each is the median wall time of ``--repeat`` fresh processes. The goal (issue 12) is
``evacsim --help`` under 0.5 s absolute; the ratio to the bare interpreter is the figure
that travels between machines. Heavy modules (pandas, SciPy, matplotlib, PyArrow, Dask,
SALib) must load only in the command that uses them. Usage::

    python benchmarks/bench_cli.py [--repeat 15]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CASES = {
    "python -c pass (baseline)": ["-c", "pass"],
    "evacsim --help": ["-m", "evacsim.cli", "--help"],
    "import evacsim": ["-c", "import evacsim"],
}


def wall_time(args: list[str], repeat: int) -> float:
    """Median wall seconds of ``repeat`` fresh ``python ARGS`` processes."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            [sys.executable, *args], check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="processes per case")
    args = parser.parse_args()
    results = {name: wall_time(argv, args.repeat) for name, argv in CASES.items()}
    base = results["python -c pass (baseline)"]
    print(f"{'case':<28} {'median s':>9} {'ratio':>7}")
    for name, seconds in results.items():
        print(f"{name:<28} {seconds:9.3f} {seconds / base:7.2f}")
    helped = results["evacsim --help"]
    print(
        f"\nevacsim --help: {helped:.3f} s ({helped / base:.1f} x a bare interpreter); "
        f"goal < 0.5 s: {'met' if helped < 0.5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
