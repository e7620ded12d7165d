"""The experiments' command line: run -n, compare, sweep, goalseek, progress bars."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from test_experiments_support import MINI, write_mini

from evacsim.cli.main import main
from evacsim.experiments.progress import Progress, progress_enabled


@pytest.fixture()
def mini_file(tmp_path):
    return write_mini(tmp_path)


def test_run_n_reports_cis_deadline_answers_and_bands(mini_file, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(
        [
            "run",
            str(mini_file),
            "-n",
            "6",
            "--engine",
            "sequential",
            "--seed",
            "3",
            "--out",
            str(out),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "replications: 6 of 6" in text and "95% CI" in text
    assert "P(all out)" in text and "citizens" in text
    assert "Daily: median [5%-95%]" in text and "2021-08-16" in text
    summary = pd.read_csv(out / "replications_summary.csv")
    assert {"kpi", "mean", "ci_low", "ci_high", "p05", "p50", "p95"} <= set(summary.columns)
    assert len(list((out / "runs").rglob("*.ok.json"))) == 6
    # the same command again runs nothing new and prints the same tables
    assert (
        main(
            [
                "run",
                str(mini_file),
                "-n",
                "6",
                "--engine",
                "sequential",
                "--seed",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    assert capsys.readouterr().out == text


def test_run_without_n_is_still_one_run(mini_file, capsys):
    assert main(["run", str(mini_file)]) == 0
    text = capsys.readouterr().out
    assert "Evacuated" in text and "95% CI" not in text


def test_compare_prints_differences_and_ranking(mini_file, tmp_path, capsys):
    more = write_mini(
        tmp_path, "more.yaml", flights={"us_c17": {**MINI["flights"]["us_c17"], "per_day": [6, 8]}}
    )
    code = main(
        [
            "compare",
            str(mini_file),
            str(more),
            "-n",
            "5",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "cmp"),
        ]
    )
    text = capsys.readouterr().out
    assert code == 0
    assert "Paired differences versus mini" in text
    ranking = pd.read_csv(tmp_path / "cmp" / "compare_ranking.csv")
    assert ranking.iloc[0]["scenario"] == "more"


def test_sweep_with_vary_writes_the_tidy_table(mini_file, tmp_path, capsys):
    code = main(
        [
            "sweep",
            str(mini_file),
            "--vary",
            "screening.lanes=3,5",
            "-n",
            "2",
            "--engine",
            "sequential",
            "--out",
            str(tmp_path / "sw"),
        ]
    )
    assert code == 0
    assert "2 points × 2 replications" in capsys.readouterr().out
    table = pd.read_parquet(tmp_path / "sw" / "sweep_kpis.parquet")
    assert set(table["screening.lanes"]) == {3, 5} and set(table["replication"]) == {0, 1}


@pytest.mark.parametrize(
    "args, message",
    [
        (["sweep", "{mini}"], "needs at least one --vary"),
        (["sweep", "{mini}", "--vary", "screening.lanes"], "expected PATH=VALUE, PATH+=VALUE"),
        (["sweep", "{mini}", "--vary", "screening.lane=3,4"], "screening.lane"),
        (["run", "{mini}", "-n", "0"], "-n/--replications: 0 is out of range"),
        (["run", "{mini}", "-n", "2", "--workers", "0"], "--workers: 0 is out of range"),
        (
            ["compare", "{mini}", "{mini}", "-n", "2", "--engine", "sequential", "--kpi", "nope"],
            "unknown KPI 'nope'",
        ),
    ],
)
def test_user_mistakes_are_one_line_and_exit_non_zero(args, message, mini_file, capsys):
    try:
        code = main([a.format(mini=mini_file) for a in args])
    except SystemExit as stop:  # an argument out of range: argparse's exit 2
        code = stop.code
    err = capsys.readouterr().err
    assert code != 0
    assert message in err
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_goalseek_exit_codes(mini_file, capsys):
    found = main(
        [
            "goalseek",
            str(mini_file),
            "--lever",
            "flights.us_c17.per_day",
            "--mode",
            "add",
            "--low",
            "0",
            "--high",
            "4",
            "--at-most",
            "300",
            "--prob",
            "0.5",
            "-n",
            "4",
            "--engine",
            "sequential",
        ]
    )
    assert found == 0
    assert "Smallest flights.us_c17.per_day" in capsys.readouterr().out
    missed = main(
        [
            "goalseek",
            str(mini_file),
            "--lever",
            "screening.lanes",
            "--low",
            "1",
            "--high",
            "2",
            "--at-most",
            "0",
            "-n",
            "2",
            "--engine",
            "sequential",
        ]
    )
    assert missed == 4
    assert "not reached" in capsys.readouterr().out


def test_no_progress_bar_when_not_on_a_terminal(mini_file, capsys):
    main(["run", str(mini_file), "-n", "2", "--engine", "sequential"])
    assert "rep/s" not in capsys.readouterr().err and not progress_enabled(None)


def test_progress_bar_counts_with_rate_and_eta(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    with Progress(4, "demo", progress=True) as bar:
        for _ in range(4):
            bar.update(1)
    text = stream.getvalue()
    assert "demo" in text and "4/4" in text and "<" in text  # elapsed<remaining
    with Progress(4, "quiet", progress=False) as bar:
        bar.update(4)
    assert "quiet" not in stream.getvalue()
