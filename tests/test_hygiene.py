"""The tree as delivered: lint and format clean, the installed command works end to end, and
an optional dependency (Dask) missing is a one-line message, not a traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from evacsim.cli.main import main

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_ruff_check_passes_on_the_whole_tree_notebooks_included():
    proc = ruff("check", ".", "--output-format", "concise")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format_check_passes_on_the_whole_tree():
    proc = ruff("format", "--check", ".")
    assert proc.returncode == 0, proc.stdout + proc.stderr


def console_script() -> str:
    """The ``evacsim`` command that ``pip install`` put beside this interpreter (or on PATH)."""
    here = Path(sys.executable).parent / "evacsim"
    found = str(here) if here.is_file() else shutil.which("evacsim")
    assert found, "the evacsim console script is not installed (pip install -e '.[test]')"
    return found


def test_the_installed_console_script_runs_a_scenario_end_to_end(tmp_path):
    """``evacsim run`` as a user types it, with ``--set`` and ``--out``; the code under test
    is the one imported (PYTHONPATH), wherever the package was installed."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]),
    }
    out = tmp_path / "mmc"
    proc = subprocess.run(
        [
            console_script(),
            "run",
            str(ROOT / "scenarios" / "mmc.yaml"),
            "--set",
            "deadline=2000-01-05T00:00",
            "--seed",
            "2",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Evacuated" in proc.stdout and str(out) in proc.stdout
    kpis = pd.read_csv(out / "kpis.csv").set_index("kpi")["value"]
    assert 0 < kpis["arrived"] < 4 * 24 * 2.4 * 2  # four days at 2.4 an hour, with room
    assert (out / "provenance.yaml").is_file()
    bad = subprocess.run(
        [console_script(), "run", str(tmp_path / "nope.yaml")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_dask_engine_without_dask_is_one_line_and_exit_2(monkeypatch, capsys):
    from evacsim.experiments.engines import DaskEngine, EngineUnavailable

    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(EngineUnavailable, match=r"pip install 'evacsim\[dask\]'"):
        DaskEngine(workers=1)
    code = main(["run", str(ROOT / "scenarios" / "mmc.yaml"), "-n", "2", "--engine", "dask"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == [
        "evacsim run: the dask engine needs Dask, which is not installed: "
        "pip install 'evacsim[dask]' (or use --engine local)"
    ]
