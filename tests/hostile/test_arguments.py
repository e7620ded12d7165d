"""Every argument is checked by the CLI: one line, exit 2; no pydantic or numpy text; output
paths never come from scenario text; control characters never reach the terminal (issue 14,
items 2 and 3)."""

from __future__ import annotations

import pytest

from evacsim.cli.main import main
from evacsim.cli.safety import slug

from .conftest import KABUL, tiny, write_yaml

K = str(KABUL)
BAD_ARGUMENTS = [
    ["run", K, "--seed", "-1"],
    ["run", K, "--seed", "1.5"],
    ["run", K, "-n", "0"],
    ["run", K, "-n", "-2"],
    ["run", K, "-n", "1000000000"],
    ["run", K, "-n", "2", "--workers", "0"],
    ["run", K, "-n", "2", "--workers", "100000"],
    ["backtest", K, "--observed", "x.csv", "-n", "0"],
    ["backtest", K, "--observed", "x.csv", "-n", "-2"],
    ["backtest", K, "--observed", "x.csv", "--seed", "-1"],
    ["backtest", K, "--observed", "x.csv", "--workers", "0"],
    [
        "calibrate",
        K,
        "--observed",
        "x.csv",
        "--param",
        "screening.lanes=1:2",
        "--confidence",
        "1.5",
    ],
    [
        "calibrate",
        K,
        "--observed",
        "x.csv",
        "--param",
        "screening.lanes=1:2",
        "--confidence",
        "nan",
    ],
    ["calibrate", K, "--observed", "x.csv", "--param", "screening.lanes=1:2", "--points", "1"],
    ["calibrate", K, "--observed", "x.csv", "--param", "screening.lanes=1:2", "--rounds", "0"],
    ["compare", K, K, "-n", "0"],
    ["compare", K, K, "--seed", "-5"],
    ["sweep", K, "--vary", "screening.lanes=1,2", "-n", "0"],
    ["sweep", K, "--vary", "screening.lanes=1,2", "--seed", "-1"],
    ["sweep", K, "--vary", "screening.lanes=1..5", "--samples", "-1"],
    ["sweep", K, "--vary", "screening.lanes=1..5", "--samples", "1000000000"],
    ["sweep", K, "--vary", "screening.lanes=1..5"],
    ["goalseek", K, "--lever", "screening.lanes", "--low", "0", "--high", "inf", "--at-most", "0"],
    ["goalseek", K, "--lever", "screening.lanes", "--low", "nan", "--high", "5", "--at-most", "0"],
    ["goalseek", K, "--lever", "screening.lanes=0..inf", "--at-most", "0"],
    ["goalseek", K, "--lever", "screening.lanes=a..b", "--at-most", "0"],
    [
        "goalseek",
        K,
        "--lever",
        "screening.lanes",
        "--low",
        "0",
        "--high",
        "5",
        "--at-most",
        "0",
        "--prob",
        "1.5",
    ],
    [
        "goalseek",
        K,
        "--lever",
        "screening.lanes",
        "--low",
        "0",
        "--high",
        "5",
        "--at-most",
        "0",
        "--step",
        "0",
    ],
    [
        "goalseek",
        K,
        "--lever",
        "screening.lanes",
        "--low",
        "0",
        "--high",
        "5",
        "--at-most",
        "0",
        "-n",
        "0",
    ],
]


@pytest.mark.parametrize("argv", BAD_ARGUMENTS, ids=[" ".join(a[2:]) for a in BAD_ARGUMENTS])
def test_a_bad_argument_is_one_line_and_exit_2(argv, capsys):
    with pytest.raises(SystemExit) as stop:
        code = main(argv)
        raise SystemExit(code)
    err = capsys.readouterr().err.strip()
    assert stop.value.code == 2, err
    assert len(err.splitlines()) == 1, err
    assert "validation error" not in err and "Traceback" not in err
    assert "cannot convert" not in err


def test_goalseek_searches_a_huge_range_without_building_it():
    from evacsim.experiments.goalseek import _grid

    grid = _grid(0, 100_000_000, None)
    assert len(grid) == 100_000_001 and grid[-1] == 100_000_000 and grid[50] == 50


def test_run_out_file_fails_before_simulating(tmp_path, capsys):
    target = tmp_path / "a_file"
    target.write_text("x")
    assert main(["run", K, "--out", str(target)]) == 2
    printed = capsys.readouterr()
    assert "is a file" in printed.err and "Evacuated" not in printed.out


@pytest.mark.parametrize(
    "name", ["/tmp/abs/x", "../../x", "..", "a/b\\c", ".hidden", "\x1b]0;pwned\x07", "", "ünï cödé"]
)
def test_a_name_is_made_a_safe_file_name(name):
    made = slug(name)
    assert made and "/" not in made and "\\" not in made and not made.startswith(".")
    assert all(ch.isascii() and (ch.isalnum() or ch in "._-") for ch in made)


def test_the_report_default_path_is_a_slug_in_the_working_folder(tmp_path, monkeypatch, capsys):
    data = tiny()
    data["name"] = "../../escape/x"
    path = write_yaml(tmp_path, data)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert main(["run", str(path), "--report"]) == 0
    written = [p.relative_to(tmp_path) for p in tmp_path.rglob("*.html")]
    assert written == [work.relative_to(tmp_path) / "escape-x-report.html"], written
    assert not (tmp_path.parent / "escape").exists()


def test_control_characters_in_scenario_text_never_reach_the_terminal(tmp_path, capsys):
    data = tiny()
    data["name"] = "evil\x1b]0;owned\x07\x1b[2J\u202e"
    data["description"] = "clear\x1bc"
    data["demand"]["people"]["label"] = "peo\x9bple"
    path = write_yaml(tmp_path, data)
    assert main(["run", str(path)]) == 0
    printed = capsys.readouterr()
    for text in (printed.out, printed.err):
        assert not any(ch in text for ch in "\x1b\x07\x9b\u202e"), repr(text[:200])
    assert "evil" in printed.out


def _sweep_file(folder, base: str):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sweep.yaml"
    path.write_text(f"base: {base}\nreplications: 1\nlevers:\n  screening.lanes: [2, 3]\n")
    return path


def test_a_sweep_base_obeys_the_extends_folder_rule(tmp_path, capsys):
    from evacsim.experiments.sweep import load_sweep
    from evacsim.scenario.loader import ScenarioError

    write_yaml(tmp_path, tiny(), "outside.yaml")
    sweep = _sweep_file(tmp_path / "team", "../outside.yaml")
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep)
    assert "outside the folders" in str(err.value)
    assert main(["sweep", str(sweep), "-n", "1", "--engine", "sequential"]) == 2
    assert "outside the folders" in capsys.readouterr().err
    spec, base = load_sweep(sweep, allow_dirs=[tmp_path])  # allowed explicitly
    assert base.name == "tiny"
    # Inside a scenario library (a folder named scenarios), sweeps/ may name ../base.yaml,
    # as the shipped scenarios/sweeps/kabul_levers.yaml does.
    library = tmp_path / "scenarios"
    write_yaml(library, tiny(), "base.yaml") if library.mkdir() is None else None
    spec, base = load_sweep(_sweep_file(library / "sweeps", "../base.yaml"))
    assert base.name == "tiny"
    escape = _sweep_file(library / "sweeps2", "../../outside.yaml")
    with pytest.raises(ScenarioError):
        load_sweep(escape)


@pytest.mark.parametrize("field", ["extends", "base"])
def test_a_nul_byte_in_a_file_reference_is_one_line_exit_2(field, tmp_path, capsys):
    path = tmp_path / "s.yaml"
    if field == "extends":
        path.write_text('extends: "a\\0b.yaml"\nname: x\n')
        code = main(["validate", str(path)])
    else:
        path.write_text('base: "a\\0b.yaml"\nlevers: {screening.lanes: [1, 2]}\n')
        code = main(["sweep", str(path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "control characters" in err, err
