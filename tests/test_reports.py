"""Every kind of results folder gets a report, checked in a real browser (issue 12).

The folders are written by the commands themselves (``run``, ``run -n``, ``compare``,
``sweep``, ``sensitivity``, ``backtest``, ``calibrate``) on the mini scenario, small and on
the sequential engine. Each report is opened in headless Chromium: the page must log nothing
to the console (a report runs no script and loads nothing from the network) and every image
must decode. Skipped, with the reason, only where no Chromium binary is installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from test_experiments_support import write_mini

from evacsim.cli.main import main
from evacsim.experiments.reports import detect_kind, write_folder_report
from evacsim.results.report import ResultsError

CHROMIUM = next(
    (
        p
        for p in (
            shutil.which("chromium"),
            shutil.which("chromium-browser"),
            shutil.which("google-chrome"),
            "/usr/bin/chromium",
        )
        if p and Path(p).is_file()
    ),
    None,
)

_PROBE = (
    "<script>window.addEventListener('load',()=>{for(const i of document.images)"
    "{i.setAttribute('data-probe',i.complete&&i.naturalWidth>0?'ok':'broken')}"
    "document.body.setAttribute('data-probed','yes')});</script>"
)


def browse(html_file: Path, tmp: Path) -> tuple[list[str], list[str], str]:
    """Open a copy of ``html_file`` in headless Chromium with a probe added after the page
    (the report itself has no script): returns (console lines, image states, DOM)."""
    probe = tmp / f"probe-{html_file.parent.name}-{html_file.name}"
    probe.write_text(
        html_file.read_text(encoding="utf-8").replace("</body>", _PROBE + "</body>"),
        encoding="utf-8",
    )
    done = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--disable-gpu",
            "--no-sandbox",
            "--enable-logging=stderr",
            "--v=0",
            "--virtual-time-budget=10000",
            f"--user-data-dir={tmp / 'chromium'}",
            "--dump-dom",
            probe.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
    images = re.findall(r'data-probe="(\w+)"', done.stdout)
    return console, images, done.stdout


needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="no chromium binary installed (apt-get install chromium)"
)


FORCES = {  # troops in and out and an operator ending: the timeline must show all three
    "forces": {
        "initial": {"us": 300},
        "deployments": {
            "marines": {
                "nation": "us",
                "troops": 220,
                "from": "2021-08-14T06:00",
                "to": "2021-08-15T06:00",
                "operator": "us",
                "aircraft": "c17",
                "per_aircraft": 110,
                "destinations": "base",
            }
        },
        "withdrawals": {
            "drawdown": {
                "nation": "us",
                "troops": 200,
                "from": "2021-08-16T06:00",
                "to": "2021-08-16T18:00",
                "operator": "us",
            }
        },
    },
    "operators": {"us": {"label": "United States", "ends": "2021-08-16T20:00"}},
}


@pytest.fixture(scope="module")
def folders(tmp_path_factory) -> dict[str, Path]:
    """One results folder of each kind, written by the commands (with --report where the
    command takes it)."""
    root = tmp_path_factory.mktemp("reports")
    mini = write_mini(root, **FORCES)
    longer = write_mini(root, "mini_longer.yaml", deadline="2021-08-18T00:00", **FORCES)
    observed = root / "observed.csv"
    observed.write_text(
        "date,evacuated\n2021-08-14,700\n2021-08-15,1000\n2021-08-16,900\n", encoding="utf-8"
    )
    seq = ["--engine", "sequential", "--no-progress"]
    out = {
        k: root / k
        for k in (
            "run",
            "replications",
            "compare",
            "sweep",
            "sensitivity",
            "backtest",
            "calibration",
        )
    }
    commands = {
        "run": ["run", str(mini), "--out", str(out["run"]), "--report"],
        "replications": [
            "run",
            str(mini),
            "-n",
            "3",
            "--out",
            str(out["replications"]),
            "--report",
            *seq,
        ],
        "compare": [
            "compare",
            str(mini),
            str(longer),
            "-n",
            "3",
            "--out",
            str(out["compare"]),
            "--report",
            *seq,
        ],
        "sweep": [
            "sweep",
            str(mini),
            "--vary",
            "screening.lanes=3,5",
            "--vary",
            "demand.afghans.pool=2000..4000",
            "--samples",
            "2",
            "-n",
            "2",
            "--out",
            str(out["sweep"]),
            "--report",
            *seq,
        ],
        "sensitivity": [
            "sensitivity",
            str(mini),
            "--method",
            "morris",
            "-N",
            "3",
            "--param",
            "flights.us_c17.per_day*=0.5:1.5",
            "--param",
            "screening.lanes=2:6",
            "--out",
            str(out["sensitivity"]),
            "--report",
            *seq,
        ],
        "backtest": [
            "backtest",
            str(mini),
            "--observed",
            str(observed),
            "-n",
            "2",
            "--out",
            str(out["backtest"]),
            *seq,
        ],
        "calibration": [
            "calibrate",
            str(mini),
            "--observed",
            str(observed),
            "--param",
            "screening.lanes=2:6",
            "-n",
            "1",
            "--points",
            "3",
            "--rounds",
            "1",
            "--out",
            str(out["calibration"]),
            *seq,
        ],
    }
    for kind, argv in commands.items():
        assert main(argv) == 0, kind
    for kind in ("backtest", "calibration"):  # these commands take no --report
        assert main(["report", str(out[kind])]) == 0
    return out


SECTIONS = {
    "run": ["summary", "kpis", "charts", "binding", "operators", "events"],
    "replications": ["kpis", "deadline", "daily", "binding", "operators", "events"],
    "compare": ["differences", "ranking", "charts", "operators", "inputs", "events"],
    "sweep": ["points", "response", "robustness", "operators", "events"],
    "sensitivity": ["indices", "charts", "operators", "events"],
    "backtest": ["metrics", "charts", "operators", "events"],
    "calibration": ["estimates", "metrics", "charts", "operators", "events"],
}


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_each_folder_kind_is_detected_and_reported(folders, kind):
    folder = folders[kind]
    assert detect_kind(folder) == kind
    html = (folder / "report.html").read_text(encoding="utf-8")
    found = re.findall(r'<section id="([^"]+)"', html)
    assert [s for s in SECTIONS[kind] if s not in found] == []
    assert "<script" not in html and "http://" not in html and "https://" not in html


@needs_chromium
@pytest.mark.parametrize("kind", list(SECTIONS))
def test_reports_load_cleanly_in_chromium(folders, kind, tmp_path):
    console, images, dom = browse(folders[kind] / "report.html", tmp_path)
    assert 'data-probed="yes"' in dom  # the page loaded and the probe ran
    assert console == []
    assert images and set(images) == {"ok"}


@needs_chromium
def test_the_browser_check_can_fail(tmp_path):
    page = tmp_path / "bad.html"
    page.write_text(
        '<!DOCTYPE html><html><body><img src="data:image/png;base64,AAAA">'
        "<script>console.error('boom')</script></body></html>",
        encoding="utf-8",
    )
    console, images, _ = browse(page, tmp_path)
    assert any("boom" in line for line in console)
    assert images == ["broken"]


def test_replications_report_has_the_answers(folders):
    html = (folders["replications"] / "report.html").read_text(encoding="utf-8")
    for text in (
        "P(all out)",
        "95% CI (Wilson)",
        "People left behind at the deadline",
        "share of the 3 replications",
        "Mean load factor",
        "Seats flown empty",
        "United States",
    ):
        assert text in html


@pytest.mark.parametrize("kind", list(SECTIONS))
def test_every_report_has_the_operator_table_and_the_timeline(folders, kind):
    html = (folders[kind] / "report.html").read_text(encoding="utf-8")
    operators = html.split('id="operators"')[1].split("</section>")[0]
    events = html.split('id="events"')[1].split("</section>")[0]
    assert "United States" in operators and "Seats flown empty" in operators
    for kind_of_event in ("troops deployed", "troops withdrawn", "operator ends", "deadline"):
        assert kind_of_event in events


def test_compare_report_diffs_inputs_and_ranks_on_not_out(folders):
    html = (folders["compare"] / "report.html").read_text(encoding="utf-8")
    assert "On not_out (lower is better)" in html
    assert "+deadline: &#x27;2021-08-18T00:00&#x27;" in html or "+deadline: 2021-08-18" in html
    assert "P(best)" in html


def test_sweep_report_has_robustness_and_regret(folders):
    html = (folders["sweep"] / "report.html").read_text(encoding="utf-8")
    assert "max regret" in html and "share meeting not_out" in html
    out = folders["sweep"] / "goal.html"
    assert (
        main(["report", str(folders["sweep"]), "--out", str(out), "--goal", "evacuated>=1000"]) == 0
    )
    assert "share meeting evacuated &gt;= 1,000" in out.read_text(encoding="utf-8")


def test_incomplete_folders_get_a_message_naming_what_is_missing(folders, tmp_path, capsys):
    partial = tmp_path / "partial"
    shutil.copytree(folders["replications"], partial)
    (partial / "replications_run.json").unlink()
    assert main(["report", str(partial)]) == 2
    err = capsys.readouterr().err
    assert "replications_run.json" in err and "Rerun" in err and len(err.splitlines()) == 1

    study = tmp_path / "study"
    shutil.copytree(folders["sensitivity"], study)
    (study / "sensitivity_indices.csv").unlink()
    with pytest.raises(ResultsError, match="sensitivity_indices.csv: missing"):
        write_folder_report(study)

    old_run = tmp_path / "old_run"
    shutil.copytree(folders["run"], old_run)
    (old_run / "provenance.yaml").unlink()
    with pytest.raises(ResultsError, match="provenance.yaml: missing"):
        write_folder_report(old_run)
    with pytest.raises(ResultsError, match="not an evacsim results folder"):
        write_folder_report(tmp_path)
