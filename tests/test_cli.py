"""The command line: runs, writes, and turns user mistakes into one-line errors."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import yaml

from evacsim.cli.main import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def test_run_prints_a_summary_and_writes_tables(tmp_path, capsys):
    out = tmp_path / "kabul"
    assert main(["run", str(SCENARIOS / "kabul_2021.yaml"), "--out", str(out), "--seed", "3"]) == 0
    printed = capsys.readouterr().out
    assert "Evacuated" in printed and "Left behind" in printed
    for name in (
        "kpis",
        "evacuated_daily",
        "backlog",
        "flights",
        "groups",
        "utilisation",
        "left_behind",
        "waits",
        "events",
    ):
        assert (out / f"{name}.csv").is_file(), name
    kpis = pd.read_csv(out / "kpis.csv").set_index("kpi")["value"]
    flights = pd.read_csv(out / "flights.csv")
    assert kpis["flights_departed"] == (flights["status"] == "departed").sum()
    provenance = yaml.safe_load((out / "provenance.yaml").read_text())
    assert provenance["seed"] == 3 and provenance["resolved_scenario"]["name"] == "kabul_2021"


def test_a_bad_scenario_is_one_line_per_problem_and_exit_1(tmp_path):
    bad = tmp_path / "bad.yaml"
    data = yaml.safe_load((SCENARIOS / "mmc.yaml").read_text())
    data["screening"]["service"] = {"dist": "exponential", "mean": 5}  # no unit
    bad.write_text(yaml.safe_dump(data))
    proc = subprocess.run(
        [sys.executable, "-m", "evacsim.cli", "run", str(bad)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) >= 1
    assert all(line.startswith(str(bad)) for line in lines)
    assert any("screening.service" in line and "unit" in line for line in lines)


def test_a_missing_file_exits_2_without_traceback(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "evacsim.cli", "run", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and "nope.yaml" in proc.stderr


def test_help_loads_no_heavy_module():
    """`evacsim --help` builds the parser only: the library (NumPy, pandas, SciPy, matplotlib,
    PyArrow, pydantic) loads in the command that uses it. Its time is measured in
    benchmarks/bench_cli.py; this checks the cause, not the clock."""
    import subprocess
    import sys

    code = (
        "import sys; from evacsim.cli.main import make_parser; make_parser(); "
        "print(' '.join(m for m in ('numpy', 'pandas', 'scipy', 'matplotlib', 'pyarrow', "
        "'pydantic', 'simpy', 'SALib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
