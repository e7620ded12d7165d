"""The HTML report: every section, no unescaped scenario text, nothing from the network; the
CLI commands; and a real headless browser (Debian's chromium) rendering it without errors."""

from __future__ import annotations

import base64
import copy
import html
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

import evacsim
import evacsim.cli.main as cli
from evacsim.results.report import SECTIONS, ResultsError, read_results, render_report, write_report

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"

# Scenario text that would break a page if it were not escaped (and a "$" that would break
# matplotlib's mathtext if it were not quoted).
HOSTILE_NAME = 'Test <b>bold</b> & "quotes"'
HOSTILE_DESCRIPTION = '<script>alert("x")</script> & <img src=x onerror=alert(1)> costs $5'
HOSTILE_LABEL = "<i>Families</i> & $friends$"
HOSTILE_OPERATOR = "<u>Air</u> bridge"

SMALL = {
    "name": HOSTILE_NAME,
    "description": HOSTILE_DESCRIPTION,
    "start": "2021-03-01T00:00",
    "deadline": "2021-03-03T00:00",
    "demand": {
        "families": {
            "label": HOSTILE_LABEL,
            "pool": 4000,
            "arrivals_per_day": 2500,
            "group_size": {1: 0.4, 4: 0.6},
        },
        "staff": {"pool": 500, "priority": 0, "arrivals_per_day": 400},
    },
    "gates": {"main": {"throughput_per_h": 150}},
    "screening": {"lanes": 4, "service": {"dist": "exponential", "mean": "4min"}},
    "airfield": {"separation": "3min", "ramp_capacity": 4},
    "aircraft": {"jet": {"seats": 150, "turnaround": "1h"}},
    "operators": {"op": {"label": HOSTILE_OPERATOR}},
    "flights": {
        "shuttle": {
            "operator": "op",
            "aircraft": "jet",
            "from": "2021-03-01T04:00",
            "to": "2021-03-03T00:00",
            "per_day": 12,
            "destinations": "hub",
        }
    },
    "staging": {"hub": {"capacity": 900, "onward_per_day": 900, "flight_time": "2h"}},
    "events": {
        "runway_shut": {
            "type": "runway_closed",
            "at": "2021-03-01T10:00",
            "until": "2021-03-01T13:00",
        },
        "bad_news": {
            "type": "incident",
            "at": "2021-03-02T09:00",
            "pause": "2h",
            "crowd_dispersed": 0.5,
        },
    },
}


@pytest.fixture(scope="module")
def results_dir(tmp_path_factory) -> Path:
    result = evacsim.simulate(evacsim.scenario_from_dict(copy.deepcopy(SMALL)), seed=5)
    return result.write(tmp_path_factory.mktemp("results"))


@pytest.fixture(scope="module")
def report_file(results_dir) -> Path:
    return write_report(results_dir)


class _Structure(HTMLParser):
    """Collects tags, attributes and text, and checks that elements nest properly."""

    VOID = {"meta", "img", "br", "hr", "link", "input"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse(text: str) -> _Structure:
    parser = _Structure()
    parser.feed(text)
    parser.close()
    return parser


# ------------------------------------------------------------------------------ the document


def test_report_has_every_section_in_order(report_file):
    text = report_file.read_text(encoding="utf-8")
    positions = [text.index(f'<section id="{sid}">') for sid, _ in SECTIONS]
    assert positions == sorted(positions)
    doc = parse(text)
    assert doc.problems == [] and doc.stack == []
    headings = [t for t in doc.text if t in {name for _, name in SECTIONS}]
    assert [name for _, name in SECTIONS] == headings[len(SECTIONS) :] or set(
        name for _, name in SECTIONS
    ) <= set(headings)
    for name in (
        "evacuated_per_day",
        "backlog",
        "forces_flights_events",
        "flight_loads",
        "waiting_times",
        "binding",
    ):
        assert f'<figure id="chart-{name}">' in text, name
    body = " ".join(doc.text)
    for expected in (
        "Evacuated",
        "Flights departed",
        "runway_shut",
        "bad_news",
        "deadline",
        "Resolved scenario (YAML)",
        "evacsim_version",
        "Days binding:",
    ):
        assert expected in body, expected


def test_scenario_text_is_escaped_everywhere(report_file):
    text = report_file.read_text(encoding="utf-8")
    for raw in (HOSTILE_NAME, HOSTILE_DESCRIPTION, HOSTILE_LABEL, HOSTILE_OPERATOR):
        assert raw not in text
        assert html.escape(raw) in text, raw
    doc = parse(text)
    tags = {tag for tag, _ in doc.tags}
    assert not tags & {"script", "b", "i", "u", "iframe", "object", "embed"}
    assert all(not k.startswith("on") for _, attrs in doc.tags for k in attrs)
    # The text a reader sees is the scenario's own words.
    assert HOSTILE_DESCRIPTION in " ".join(doc.text)


def test_report_is_self_contained(report_file):
    text = report_file.read_text(encoding="utf-8")
    doc = parse(text)
    images = [attrs for tag, attrs in doc.tags if tag == "img"]
    assert len(images) == 6
    for attrs in images:
        assert attrs["src"].startswith("data:image/png;base64,")
        png = base64.b64decode(attrs["src"].split(",", 1)[1])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 5_000
        assert attrs["alt"]
    for tag, attrs in doc.tags:
        for key in ("src", "href"):
            value = attrs.get(key, "")
            assert not re.match(r"^\s*(https?:)?//", value), (tag, key, value)
        assert tag not in {"link", "script"}
    assert "url(" not in text and "@import" not in text


def test_read_results_round_trip(results_dir):
    result = read_results(results_dir)
    kpis = pd.read_csv(results_dir / "kpis.csv")
    assert result.kpis == pytest.approx(
        dict(zip(kpis["kpi"], kpis["value"], strict=True)), nan_ok=True
    )
    assert result.scenario_name == HOSTILE_NAME
    assert pd.api.types.is_datetime64_any_dtype(result.evacuated["time"])
    assert pd.api.types.is_datetime64_any_dtype(result.flights["departed"])
    assert result.groups is not None and len(result.groups)
    # The same run rendered from memory and from disk gives the same sections.
    again = render_report(result)
    for sid, _ in SECTIONS:
        assert f'<section id="{sid}">' in again


def test_incomplete_folder_is_a_one_line_error(results_dir, tmp_path):
    with pytest.raises(ResultsError, match="not a folder"):
        read_results(tmp_path / "missing")
    partial = tmp_path / "partial"
    shutil.copytree(results_dir, partial)
    (partial / "flights.csv").unlink()
    with pytest.raises(ResultsError, match=r"flights\.csv: missing"):
        read_results(partial)


# ------------------------------------------------------------------------------ command line


def test_cli_report_and_charts(results_dir, tmp_path, capsys):
    out = tmp_path / "brief.html"
    assert cli.main(["report", str(results_dir), "--out", str(out)]) == 0
    assert out.stat().st_size > 50_000
    assert str(out) in capsys.readouterr().out
    assert (
        cli.main(["charts", str(results_dir), "--format", "svg", "--out", str(tmp_path / "svg")])
        == 0
    )
    svgs = sorted(p.name for p in (tmp_path / "svg").glob("*.svg"))
    assert len(svgs) == 6 and "binding.svg" in svgs
    assert cli.main(["report", str(tmp_path / "nowhere")]) == cli.EXIT_UNREADABLE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not a folder" in err[0]
    assert cli.main(["charts", str(tmp_path)]) == cli.EXIT_UNREADABLE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "kpis.csv: missing" in err[0]


def test_cli_run_with_report(tmp_path, capsys):
    scenario = tmp_path / "small.yaml"
    data = copy.deepcopy(SMALL)
    data["name"] = "small"
    import yaml

    scenario.write_text(yaml.safe_dump(data), encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["run", str(scenario), "--out", str(out), "--report"]) == 0
    assert (out / "report.html").is_file() and (out / "kpis.csv").is_file()
    assert "Report written to" in capsys.readouterr().out
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert cli.main(["run", str(scenario), "--report"]) == 0
    finally:
        os.chdir(cwd)
    assert (tmp_path / "small-report.html").is_file()


# ------------------------------------------------------------------------------ a real browser


def _find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    return None


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's chromium: found on PATH, or installed with apt-get when running as root."""
    path = _find_chromium()
    if path:
        return path
    apt = shutil.which("apt-get")
    if apt is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(
            "no chromium on PATH and cannot install it (needs root and apt-get): "
            "install Debian's 'chromium' package to run the browser test"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        subprocess.run(
            [apt, "update", "-qq"], check=True, env=env, timeout=600, capture_output=True
        )
        subprocess.run(
            [apt, "install", "-y", "-qq", "chromium"],
            check=True,
            env=env,
            timeout=1200,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"could not install chromium with apt-get: {err}")
    path = _find_chromium()
    if path is None:
        pytest.skip("apt-get installed chromium but it is not on PATH")
    return path


def _headless(chromium: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            "--enable-logging=stderr",
            "--v=0",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_report_renders_in_headless_chromium(chromium, report_file, tmp_path):
    url = report_file.resolve().as_uri()
    dom = _headless(chromium, tmp_path / "profile", "--virtual-time-budget=5000", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-2000:]
    for sid, name in SECTIONS:
        assert f'<section id="{sid}">' in dom.stdout, sid
        assert html.escape(name) in dom.stdout
    assert dom.stdout.count('<img alt="') == 6
    assert "<script" not in dom.stdout  # the escaped description did not become a script
    for log in (dom.stderr,):
        assert "Uncaught" not in log and "CONSOLE" not in log, log[-2000:]
        assert "ERR_" not in log, log[-2000:]  # no failed loads (it loads nothing remote)
    shot = tmp_path / "report.png"
    run = _headless(
        chromium,
        tmp_path / "profile2",
        "--hide-scrollbars",
        "--window-size=1280,4000",
        f"--screenshot={shot}",
        url,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert shot.stat().st_size > 50_000  # a page with charts, not a blank one
    from PIL import Image

    with Image.open(shot) as image:
        assert image.size == (1280, 4000)
        colours = image.convert("RGB").resize((64, 200)).getcolors(maxcolors=100_000)
        assert colours is not None and len(colours) > 50  # drawn charts, not a blank page
