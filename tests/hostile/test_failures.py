"""Experiments survive their failures (issue 14, item 4).

A replication that raises is recorded and left out; every table is still written; the
summary says how many failed and why; the exit code is 5 when some failed and 6 when all
did. Failures are injected in-process (sequential engine) by wrapping the function each
replication runs.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evacsim.cli.main import EXIT_ALL_FAILED, EXIT_SOME_FAILED, main
from evacsim.experiments import replications as replications_module

from .conftest import tiny, write_yaml

ORIGINAL = replications_module.run_replication


def _fail_when(monkeypatch, predicate) -> None:
    def flaky(task):
        if predicate(task):
            raise RuntimeError("injected failure for the test")
        return ORIGINAL(task)

    monkeypatch.setattr(replications_module, "run_replication", flaky)


def test_run_n_exits_6_when_every_replication_failed(tmp_path, monkeypatch, capsys):
    _fail_when(monkeypatch, lambda task: True)
    path = write_yaml(tmp_path, tiny())
    out = tmp_path / "out"
    code = main(["run", str(path), "-n", "2", "--engine", "sequential", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_ALL_FAILED
    text = printed.out + printed.err
    assert "2 of 2 replications failed" in text and "injected failure" in text
    assert (out / "replications_summary.csv").is_file()  # tables written, even if empty


def test_run_n_exits_5_and_excludes_the_failed_replication(tmp_path, monkeypatch, capsys):
    _fail_when(monkeypatch, lambda task: task.key.rep == 1)
    path = write_yaml(tmp_path, tiny())
    out = tmp_path / "out"
    code = main(["run", str(path), "-n", "3", "--engine", "sequential", "--out", str(out)])
    printed = capsys.readouterr()
    assert code == EXIT_SOME_FAILED
    assert "1 of 3 replications failed" in printed.out + printed.err
    kpis = pd.read_csv(out / "replications_kpis.csv")
    assert sorted(kpis["replication"].unique()) == [0, 2]


def test_compare_with_an_alternative_that_always_fails(tmp_path, monkeypatch, capsys):
    data = tiny()
    base = write_yaml(tmp_path, data, "base.yaml")
    data["name"] = "broken"
    alt = write_yaml(tmp_path, data, "alt.yaml")
    _fail_when(monkeypatch, lambda task: task.scenario.name == "broken")
    out = tmp_path / "out"
    code = main(
        ["compare", str(base), str(alt), "-n", "2", "--engine", "sequential", "--out", str(out)]
    )
    printed = capsys.readouterr()
    assert code == EXIT_SOME_FAILED, printed.err
    assert "not in index" not in printed.err and "Traceback" not in printed.err
    assert "2 of 4 replications failed" in printed.out + printed.err
    for name in ("compare_summary", "compare_differences", "compare_ranking", "compare_kpis"):
        assert (out / f"{name}.csv").is_file(), name


def test_sweep_with_one_failing_point_writes_every_table(tmp_path, monkeypatch, capsys):
    path = write_yaml(tmp_path, tiny())
    _fail_when(monkeypatch, lambda task: task.scenario.screening.lanes == 3)
    out = tmp_path / "out"
    code = main(
        [
            "sweep",
            str(path),
            "--vary",
            "screening.lanes=2,3",
            "-n",
            "2",
            "--engine",
            "sequential",
            "--out",
            str(out),
        ]
    )
    printed = capsys.readouterr()
    assert code == EXIT_SOME_FAILED, printed.err
    assert "does not match length" not in printed.err
    assert "2 of 4 replications failed" in printed.out + printed.err
    for name in ("sweep_points", "sweep_kpis", "sweep_summary"):
        assert (out / f"{name}.csv").is_file(), name
    summary = pd.read_csv(out / "sweep_summary.csv")
    assert set(summary["point"]) == {0}  # the failing point has no statistics, and no row


@pytest.mark.parametrize("command", ["run", "compare", "sweep"])
def test_all_failed_is_exit_6_on_every_experiment_command(command, tmp_path, monkeypatch, capsys):
    _fail_when(monkeypatch, lambda task: True)
    path = write_yaml(tmp_path, tiny())
    args = {
        "run": ["run", str(path), "-n", "2"],
        "compare": ["compare", str(path), str(path), "-n", "1"],
        "sweep": ["sweep", str(path), "--vary", "screening.lanes=2,3", "-n", "1"],
    }[command]
    code = main([*args, "--engine", "sequential"])
    err = capsys.readouterr().err
    assert code == EXIT_ALL_FAILED, err
    assert "Traceback" not in err
