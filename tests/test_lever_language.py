"""One lever language for every command: PATH=V, PATH+=V, PATH*=V, LO..HI, a,b,c.

Oracles: the parser's reading of each form; ``--set`` with ``+=``/``*=`` giving exactly the
scenario the experiments' levers give (one walker behind both); every command that reads a
scenario refusing the same misspelt ``--set`` with the same one-line message (so every one
applies it); a sweep file's mistakes named with their line and the closest field; and a
misspelt discriminator named by the key that was written.
"""

from __future__ import annotations

import argparse

import pytest
import yaml
from test_experiments_support import mini, write_mini

from evacsim.cli.experiments import goal_lever
from evacsim.cli.main import main
from evacsim.experiments.levers import Lever, apply_levers
from evacsim.experiments.sweep import load_sweep, parse_vary
from evacsim.scenario.levers import LeverSyntaxError, PathError, Range, get_path, parse_lever
from evacsim.scenario.loader import ScenarioError, check_scenario, load_scenario


@pytest.mark.parametrize(
    "text, several, expected",
    [
        ("screening.lanes=70", False, Lever("screening.lanes", 70, "set")),
        ("flights.us_c17.per_day+=5", False, Lever("flights.us_c17.per_day", 5, "add")),
        ("demand.a.arrivals_per_day*=1.5", False, Lever("demand.a.arrivals_per_day", 1.5, "scale")),
        ("screening.service.mean=45min", False, Lever("screening.service.mean", "45min", "set")),
        ("flights.x.per_day=[20, 26]", False, Lever("flights.x.per_day", [20, 26], "set")),
        ("screening.lanes=20..90", True, Lever("screening.lanes", Range(20, 90), "set")),
        ("x.y*=0.5..2", True, Lever("x.y", Range(0.5, 2), "scale")),
        ("x.y=3min..12min", True, Lever("x.y", Range("3min", "12min"), "set")),
        ("x.y+=0,5,10", True, Lever("x.y", [0, 5, 10], "add")),
        ("x.y=[1, 2],[3, 4]", True, Lever("x.y", [[1, 2], [3, 4]], "set")),
        ("x.y=7", True, Lever("x.y", [7], "set")),
    ],
)
def test_the_parser_reads_every_form(text, several, expected):
    assert parse_lever(text, several=several) == expected


@pytest.mark.parametrize("text", ["screening.lanes", "=5", "a..b=1", "x=1..", "x=1..2..3", "x+="])
def test_malformed_changes_say_what_is_expected(text):
    with pytest.raises(LeverSyntaxError, match="expected"):
        parse_lever(text, several=True)


def test_set_adds_and_scales_as_the_experiments_levers_do(tmp_path):
    """``--set PATH+=V`` and ``Lever(PATH, V, 'add')`` are one walker: the same scenario."""
    path = write_mini(tmp_path)
    base = load_scenario(path)
    for text, lever in [
        ("flights.us_c17.per_day+=2", Lever("flights.us_c17.per_day", 2, "add")),
        ("screening.service.mean*=1.5", Lever("screening.service.mean", 1.5, "scale")),
        ("holding.capacity*=2", Lever("holding.capacity", 2, "scale")),
    ]:
        by_set = load_scenario(path, [text])
        assert by_set == apply_levers(base, [lever]), text
        assert by_set != base
    data = yaml.safe_load(path.read_text())
    assert get_path(data, "flights.us_c17.per_day") == [3, 5]
    added = load_scenario(path, ["flights.us_c17.per_day+=2"])
    assert added.model_dump(mode="json")["flights"]["us_c17"]["per_day"] == [5, 7]


def test_set_add_on_a_field_not_written_says_set_it(tmp_path):
    path = write_mini(tmp_path)
    scenario, problems = check_scenario(path, ["airfield.runways+=1"])
    assert scenario is None
    assert [str(p) for p in problems] == [
        "--set:1: airfield.runways: is not written in the scenario, so there is nothing to add "
        "(set it with airfield.runways=VALUE)"
    ]


def test_a_lever_path_that_does_not_exist_names_the_closest_field():
    with pytest.raises(ScenarioError) as err:
        apply_levers(mini(), [Lever("screening.lane", 3)], "mini.yaml")
    assert "did you mean 'lanes'?" in err.value.problems[0].message
    with pytest.raises(PathError, match="did you mean 'screening'"):
        get_path(mini().model_dump(mode="json"), "screenin.lanes")


COMMANDS = {
    "run": ["run", "{f}"],
    "validate": ["validate", "{f}"],
    "compare": ["compare", "{f}", "{f}", "-n", "1", "--engine", "sequential"],
    "sweep": ["sweep", "{f}", "--vary", "screening.lanes=3,5", "-n", "1", "--engine", "sequential"],
    "goalseek": [
        "goalseek",
        "{f}",
        "--lever",
        "screening.lanes=2..6",
        "--at-most",
        "0",
        "-n",
        "1",
        "--engine",
        "sequential",
    ],
    "sweep file": ["sweep", "{sweep}", "-n", "1", "--engine", "sequential"],
    "backtest": ["backtest", "{f}", "--observed", "{obs}", "-n", "1", "--engine", "sequential"],
    "calibrate": [
        "calibrate",
        "{f}",
        "--observed",
        "{obs}",
        "--param",
        "screening.lanes=2..6",
        "-n",
        "1",
        "--engine",
        "sequential",
    ],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_every_command_that_reads_a_scenario_takes_set(command, tmp_path, capsys):
    path = write_mini(tmp_path)
    obs = tmp_path / "obs.csv"
    obs.write_text("date,evacuated\n2021-08-14,100\n2021-08-15,200\n2021-08-16,300\n")
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {path.name}\nlevers: ['screening.lanes=3,5']\n", encoding="utf-8")
    args = [a.format(f=path, obs=obs, sweep=sweep) for a in COMMANDS[command]]
    code = main([*args, "--set", "screening.lanse=3"])
    err = capsys.readouterr().err
    assert code == 1, err
    assert "--set:1: screening.lanse: unknown field; did you mean 'lanes'?" in err
    assert "Traceback" not in err


def test_set_changes_what_a_command_runs(tmp_path, capsys):
    path = write_mini(tmp_path)
    out = tmp_path / "sweep"
    code = main(
        [
            "sweep",
            str(path),
            "--vary",
            "flights.us_c17.per_day+=0,2",
            "-n",
            "1",
            "--engine",
            "sequential",
            "--set",
            "screening.lanes*=2",
            "--out",
            str(out),
        ]
    )
    assert code == 0, capsys.readouterr().err
    stored = [yaml.safe_load(p.read_text()) for p in (out / "scenarios").glob("*.json")]
    assert sorted(s["screening"]["lanes"] for s in stored) == [8, 8]
    assert sorted(tuple(s["flights"]["us_c17"]["per_day"]) for s in stored) == [(3, 5), (5, 7)]


def test_goalseek_lever_reads_the_range_and_the_older_spelling():
    def args(**kw):
        return argparse.Namespace(**{"lever": "", "mode": None, "low": None, "high": None, **kw})

    assert goal_lever(args(lever="flights.us_c17.per_day+=0..20")) == (
        "flights.us_c17.per_day",
        "add",
        0.0,
        20.0,
    )
    assert goal_lever(args(lever="screening.lanes", low=2.0, high=9.0, mode="scale")) == (
        "screening.lanes",
        "scale",
        2.0,
        9.0,
    )
    for bad in [
        args(lever="screening.lanes=2,3"),
        args(lever="screening.lanes"),
        args(lever="screening.lanes=1..4", low=1.0),
        args(lever="x=a..b"),
    ]:
        with pytest.raises(ValueError, match="--lever"):
            goal_lever(bad)


def test_vary_reads_ranges_and_lists():
    factors = parse_vary(["screening.lanes=3..9", "flights.us_c17.per_day+=0,5"])
    assert (factors["screening.lanes"].low, factors["screening.lanes"].high) == (3, 9)
    assert factors["screening.lanes"].integer
    assert factors["flights.us_c17.per_day"].values == [0, 5]
    assert factors["flights.us_c17.per_day"].mode == "add"


def test_sweep_file_mistakes_have_lines_and_did_you_mean(tmp_path):
    write_mini(tmp_path)
    sweep_file = tmp_path / "bad_sweep.yaml"
    sweep_file.write_text(
        "base: mini.yaml\n"
        "replicatoins: 3\n"
        "levers:\n"
        "  screening.lanes: {mode: sett, values: [1, 2]}\n"
        "  flights.us_c17.per_day: {mode: add, valeus: [1]}\n",
        encoding="utf-8",
    )
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep_file)
    lines = sorted(str(p) for p in err.value.problems)
    name = str(sweep_file)
    assert f"{name}:2: replicatoins: unknown field; did you mean 'replications'?" in lines[0]
    assert any(
        line.startswith(
            f"{name}:4: levers.screening.lanes.mode: 'sett' is not allowed; did you mean 'set'?"
        )
        for line in lines
    )
    assert any(
        line.startswith(
            f"{name}:5: levers.flights.us_c17.per_day.valeus: unknown field; did you mean 'values'?"
        )
        for line in lines
    )

    sweep_file.write_text("base: mini.yaml\nlevers:\n  screening.lanse: [1, 2]\n", encoding="utf-8")
    with pytest.raises(ScenarioError) as err:
        load_sweep(sweep_file)
    (problem,) = err.value.problems
    assert (problem.line, problem.path) == (3, "levers.screening.lanse")
    assert "did you mean 'lanes'?" in problem.message


def test_a_misspelt_discriminator_names_the_key_it_saw(tmp_path):
    path = write_mini(tmp_path)
    _, problems = check_scenario(
        path, ["screening.service={idst: lognormal, mean: 10min, cv: 0.5}"]
    )
    (problem,) = problems
    assert problem.path == "screening.service.dist"
    assert "found unknown key 'idst'; did you mean 'dist'?" in problem.message


def test_a_sweep_file_may_list_levers_in_the_lever_language(tmp_path):
    write_mini(tmp_path)
    as_text = tmp_path / "text.yaml"
    as_text.write_text(
        "base: mini.yaml\nsamples: 2\nlevers: ['flights.us_c17.per_day+=0,2', "
        "'screening.lanes=3,5']\nuncertainties: ['holding.capacity=1000..2000']\n",
        encoding="utf-8",
    )
    as_mapping = tmp_path / "mapping.yaml"
    as_mapping.write_text(
        "base: mini.yaml\nsamples: 2\nlevers:\n  flights.us_c17.per_day: {mode: add, values: "
        "[0, 2]}\n  screening.lanes: [3, 5]\nuncertainties:\n  holding.capacity: {low: 1000, "
        "high: 2000, integer: true}\n",
        encoding="utf-8",
    )
    text_spec, _ = load_sweep(as_text)
    mapping_spec, _ = load_sweep(as_mapping)
    assert text_spec.factors() == mapping_spec.factors()
    as_text.write_text("base: mini.yaml\nlevers: ['screening.lanes']\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="is not a change"):
        load_sweep(as_text)
