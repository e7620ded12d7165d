"""Scenario files planners can trust: overlays, overrides, round trips, limits, schema, docs.

The broken-scenario corpus is in tests/test_validation_corpus.py and the random mutations
in tests/test_validation_properties.py.
"""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
import yaml

import evacsim
from evacsim.cli.main import main
from evacsim.scenario.loader import (
    MAX_FILE_BYTES,
    Problem,
    ScenarioError,
    check_scenario,
    deep_merge,
    dump_scenario,
    load_scenario,
    parse_yaml,
    read_yaml,
    resolve_document,
    resolve_extends,
    scenario_from_dict,
)
from evacsim.scenario.reference import scenario_json_schema, scenario_reference
from evacsim.scenario.schema import Scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = ROOT / "scenarios"
BASE = ROOT / "tests" / "broken" / "_base.yaml"
KABUL = SCENARIOS / "kabul_2021.yaml"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text.lstrip("\n"), encoding="utf-8")
    return path


def overlay(folder: Path, text: str, name: str = "what_if.yaml") -> Path:
    """An overlay of the corpus base, written beside a copy of it."""
    (folder / "_base.yaml").write_text(BASE.read_text(encoding="utf-8"), encoding="utf-8")
    return write(folder, name, "extends: _base.yaml\n" + text.lstrip("\n"))


def errors(path: Path, overrides: list[str] = ()) -> list[str]:
    scenario, problems = check_scenario(path, overrides)
    assert scenario is None
    return [str(p) for p in problems]


# --------------------------------------------------------------------------- public names


def test_loader_public_names_still_work():
    data = read_yaml(BASE)
    assert data["name"] == "base"
    assert resolve_extends(BASE) == resolve_document(BASE).data
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
    assert isinstance(scenario_from_dict(resolve_extends(KABUL)), Scenario)
    assert load_scenario(KABUL) == evacsim.load_scenario(str(KABUL))
    with pytest.raises(evacsim.ScenarioError) as err:
        evacsim.scenario_from_dict({"name": "x"}, file="mine.yaml")
    assert all(isinstance(p, evacsim.Problem) for p in err.value.problems)
    assert "mine.yaml: demand: required field is missing" in str(err.value)


def test_dates_and_date_times_both_work(tmp_path):
    """PyYAML reads 2021-08-16 as a date and leaves 2021-08-16T18:00 a string."""
    path = overlay(tmp_path, "start: 2021-08-14T00:00\ndeadline: 2021-08-20\n")
    scenario = load_scenario(path)
    assert scenario.start.isoformat() == "2021-08-14T00:00:00"
    assert scenario.horizon_h == 6 * 24


def test_problem_reads_file_line_path_message():
    assert (
        str(Problem("a.yaml", "x.y", "bad (expected good)", 3))
        == "a.yaml:3: x.y: bad (expected good)"
    )
    assert str(Problem("a.yaml", "", "empty")) == "a.yaml: empty"
    warning = Problem("a.yaml", "x", "odd", 2, "warning")
    assert str(warning) == "a.yaml:2: x: warning: odd"


# --------------------------------------------------------------------------- line numbers


def test_each_mistake_points_at_its_own_line(tmp_path):
    path = overlay(
        tmp_path,
        """
aircraft:
  c17:
    seats: 300
    turnaround: 2
staging:
  al_udeid:
    capacity: lots
""",
    )
    assert errors(path) == [
        f"{path}:5: aircraft.c17.turnaround: a bare number (2) is ambiguous: write the unit, "
        "e.g. '2h' or '2min' (expected a duration > 0 with a unit, e.g. 45min, 2h or 1.5d)",
        f"{path}:8: staging.al_udeid.capacity: 'lots' is not a whole number "
        "(expected a whole number >= 0 or null)",
    ]


def test_a_mistake_left_in_the_base_is_reported_in_the_base(tmp_path):
    base = write(tmp_path, "base.yaml", BASE.read_text().replace("pool: 1000", "pool: -1"))
    what_if = write(tmp_path, "what_if.yaml", "extends: base.yaml\nname: w\n")
    line = base.read_text().splitlines().index("    pool: -1") + 1
    assert errors(what_if) == [
        f"{base}:{line}: demand.citizens.pool: -1 is too small (expected a whole number >= 0)"
    ]


def test_scenario_from_dict_reports_paths_without_lines():
    data = resolve_extends(BASE)
    data["flights"]["us_c17"]["per_dya"] = 3
    with pytest.raises(ScenarioError) as err:
        scenario_from_dict(data, file="dict")
    assert str(err.value).startswith("dict: flights.us_c17.per_dya: unknown field; did you mean")


# --------------------------------------------------------------------------- overlays


def test_overlays_merge_mappings_deeply_and_replace_everything_else(tmp_path):
    path = overlay(
        tmp_path,
        """
demand:
  citizens: {pool: 2000}
gates:
  abbey: {admits: [afghans]}
flights:
  us_c17:
    per_day: {2021-08-18: 12}
""",
    )
    base, merged = load_scenario(BASE), load_scenario(path)
    assert merged.demand["citizens"].pool == 2000
    # Mappings merge: the rest of the category is the base's.
    assert merged.demand["citizens"].patience == base.demand["citizens"].patience
    # Lists replace whole.
    assert merged.gates["abbey"].admits == ["afghans"]
    # Step profiles are mappings: a new step is added, the others kept.
    steps = {t.day: v for t, v in merged.flights["us_c17"].per_day.items()}
    assert steps == {15: 4, 17: (6, 8), 18: 12}


def test_a_time_key_replaces_the_same_time_written_differently(tmp_path):
    path = overlay(tmp_path, "screening:\n  lanes: {2021-08-16T00:00: 9}\n")
    lanes = load_scenario(path).screening.lanes
    assert sorted((t.day, v) for t, v in lanes.items()) == [(14, 4), (16, 9)]


def test_remove_and_replace_markers(tmp_path):
    path = overlay(
        tmp_path,
        """
events:
  runway_overrun: !remove
demand:
  citizens:
    patience: !remove
    arrivals_per_day: !replace {2021-08-15: 50}
""",
    )
    scenario = load_scenario(path)
    assert set(scenario.events) == {"policy"}
    assert scenario.demand["citizens"].patience is None  # back to the default
    assert list(scenario.demand["citizens"].arrivals_per_day.values()) == [50]


def test_remove_in_a_plain_file_is_reported(tmp_path):
    path = write(tmp_path, "plain.yaml", BASE.read_text() + "holding: !remove\n")
    line = len(path.read_text().splitlines())
    assert errors(path) == [
        f"{path}:{line}: holding: !remove has nothing to remove (expected a key of the "
        "scenario this file extends, or of the file itself)"
    ]


def test_extends_resolves_relative_to_the_file_not_the_working_directory(tmp_path, monkeypatch):
    folder = tmp_path / "plans"
    folder.mkdir()
    path = overlay(folder, "name: from_elsewhere\n")
    monkeypatch.chdir(tmp_path)
    assert load_scenario(Path("plans") / path.name).name == "from_elsewhere"


def test_chained_overlays_apply_in_order(tmp_path):
    overlay(tmp_path, "name: first\ndemand:\n  citizens: {pool: 10}\n", "first.yaml")
    second = write(tmp_path, "second.yaml", "extends: first.yaml\ndemand:\n  afghans: {pool: 20}\n")
    scenario = load_scenario(second)
    assert (scenario.name, scenario.demand["citizens"].pool, scenario.demand["afghans"].pool) == (
        "first",
        10,
        20,
    )


def test_extends_may_leave_the_folder_only_where_the_user_allows(tmp_path):
    outside = tmp_path / "library"
    outside.mkdir()
    write(outside, "kabul.yaml", KABUL.read_text())
    plans = tmp_path / "plans"
    plans.mkdir()
    path = write(plans, "what_if.yaml", "extends: ../library/kabul.yaml\nname: w\n")
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.unreadable
    assert "is outside the folders scenarios may extend from" in str(err.value)
    assert load_scenario(path, allow_dirs=[outside]).name == "w"


@pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges on Windows")
def test_a_symlink_cannot_smuggle_extends_out_of_the_folder(tmp_path):
    outside = tmp_path / "secret"
    outside.mkdir()
    write(outside, "base.yaml", BASE.read_text())
    plans = tmp_path / "plans"
    plans.mkdir()
    (plans / "base.yaml").symlink_to(outside / "base.yaml")
    path = write(plans, "what_if.yaml", "extends: base.yaml\n")
    with pytest.raises(ScenarioError, match="outside the folders"):
        load_scenario(path)


# --------------------------------------------------------------------------- overrides


def test_overrides_from_the_issue():
    scenario = load_scenario(KABUL, ["flights.us_c17.per_day=30", "deadline=2021-09-11"])
    assert scenario.flights["us_c17"].per_day == 30
    assert scenario.deadline.isoformat() == "2021-09-11T00:00:00"


def test_override_values_are_yaml_and_paths_reach_named_entries():
    scenario = load_scenario(
        BASE,
        [
            "flights.us_c17.per_day.2021-08-18=[9, 11]",
            "demand.citizens.patience={dist: gamma, mean: 12h, cv: 0.5}",
            "screening.service=7min",
            "events.runway_overrun=!remove",
            "gates.abbey.admits=[citizens]",
            "events.policy.admits.0=afghans",  # a list index, rarely needed
            "demand.citizens.pool=5",
            "demand.citizens.pool=6",  # later overrides win
        ],
    )
    assert scenario.flights["us_c17"].per_day[max(scenario.flights["us_c17"].per_day)] == (9, 11)
    assert scenario.demand["citizens"].patience.dist == "gamma"
    assert scenario.screening.service.mean_h == pytest.approx(7 / 60)
    assert "runway_overrun" not in scenario.events
    assert scenario.gates["abbey"].admits == ["citizens"]
    assert scenario.events["policy"].admits == ["afghans"]
    assert scenario.demand["citizens"].pool == 6


def test_an_override_can_add_a_whole_entry():
    scenario = load_scenario(
        BASE,
        [
            "flights.extra={operator: us, aircraft: c17, from: 2021-08-16, to: 2021-08-18, "
            "per_day: 2, destinations: al_udeid}"
        ],
    )
    assert scenario.flights["extra"].per_day == 2


def test_an_override_error_names_the_override():
    # (What lies past a moved deadline is only a warning: tests/test_deadline_changes.py.)
    assert errors(BASE, ["deadline=2021-08-18T12:00", "events.policy.at=2021-08-01"]) == [
        "--set:2: events.policy.at: 2021-08-01T00:00 is outside the run (expected "
        "2021-08-14T00:00 <= time <= 2021-08-18T12:00, from start to deadline)",
        f"{BASE}:28: forces.withdrawals.us_out.from: warning: begins at 2021-08-19T00:00, "
        "after the deadline 2021-08-18T12:00: dropped",
    ]


# --------------------------------------------------------------------------- round trips


def reload(text: str) -> Scenario:
    return scenario_from_dict(parse_yaml(text, "<resolved>").data)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_every_resolved_scenario_written_out_reloads_to_the_same_thing(path):
    scenario = load_scenario(path)
    text = dump_scenario(scenario)
    again = reload(text)
    assert again == scenario
    assert dump_scenario(again) == text  # and writing it again changes nothing
    assert "extends" not in yaml.safe_load(text)


def test_an_overridden_scenario_round_trips_and_keeps_the_overrides():
    overrides = ["deadline=2021-09-11", "flights.us_c17.per_day=30", "airfield.separation=150s"]
    scenario = load_scenario(SCENARIOS / "kabul_more_flights.yaml", overrides)
    again = reload(dump_scenario(scenario))
    assert again == scenario
    assert again.airfield.separation == pytest.approx(150 / 3600)


def test_odd_but_valid_values_round_trip(tmp_path):
    path = overlay(
        tmp_path,
        """
events:
  runway_overrun: {at: 2021-08-16T07:00:30}
airfield: {separation: 7s}
demand:
  citizens: {patience: 1234567s}
""",
    )
    scenario = load_scenario(path)
    assert reload(dump_scenario(scenario)) == scenario


def test_validate_print_resolved_prints_the_round_trip(capsys):
    assert main(["validate", str(SCENARIOS / "kabul_troops_earlier.yaml"), "--print-resolved"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert reload(out) == load_scenario(SCENARIOS / "kabul_troops_earlier.yaml")


def test_the_overlays_shipped_change_only_what_they_say():
    base = yaml.safe_load(dump_scenario(load_scenario(KABUL)))
    more = yaml.safe_load(dump_scenario(load_scenario(SCENARIOS / "kabul_more_flights.yaml")))
    changed = {key for key in base if base[key] != more[key]}
    assert changed == {"name", "description", "flights"}
    assert {k for k in base["flights"] if base["flights"][k] != more["flights"][k]} == {"us_c17"}


# --------------------------------------------------------------------------- safety


def test_no_python_object_is_ever_built(tmp_path):
    marker = tmp_path / "pwned"
    path = write(
        tmp_path,
        "evil.yaml",
        f'name: !!python/object/apply:os.system ["touch {marker}"]\n',
    )
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert err.value.unreadable
    assert not marker.exists()


def _quick(path: Path) -> tuple[ScenarioError, float]:
    started = time.perf_counter()
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    return err.value, time.perf_counter() - started


def test_a_huge_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.yaml"
    with open(path, "wb") as handle:  # sparse: 1 GB of zero bytes on disk costs nothing
        handle.truncate(1 << 30)
    err, seconds = _quick(path)
    assert f"larger than {MAX_FILE_BYTES} bytes" in str(err)
    assert seconds < 1.0


def test_deep_nesting_is_refused_quickly_without_recursion_errors(tmp_path):
    path = write(tmp_path, "deep.yaml", "name: " + "[" * 200_000 + "]" * 200_000 + "\n")
    err, seconds = _quick(path)
    assert "nested more than" in str(err)
    assert seconds < 5.0


def test_deep_nesting_through_aliases_is_refused(tmp_path):
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 60)]
    err, seconds = _quick(write(tmp_path, "chain.yaml", "\n".join(lines) + "\n"))
    assert "nested more than 32 levels deep through aliases" in str(err)
    assert seconds < 1.0


def test_an_alias_bomb_is_refused_quickly(tmp_path):
    lines = ["l0: &l0 [" + ", ".join(["lol"] * 10) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, 9)]
    err, seconds = _quick(write(tmp_path, "bomb.yaml", "\n".join(lines) + "\n"))
    assert "through aliases" in str(err)
    assert seconds < 1.0


def test_too_many_values_are_refused(tmp_path):
    path = write(tmp_path, "wide.yaml", "name: [" + "1, " * 250_000 + "1]\n")
    err, seconds = _quick(path)
    assert "more than 200000 values" in str(err)
    assert seconds < 5.0


def test_binary_input_is_refused_cleanly(tmp_path):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"name: \xff\xfe\x00 rubbish")
    err, _ = _quick(path)
    assert err.unreadable and "not UTF-8 text" in str(err)


# --------------------------------------------------------------------------- warnings


def test_legal_but_suspicious_inputs_warn_without_refusing(tmp_path, capsys):
    path = overlay(tmp_path, "forces:\n  withdrawals:\n    us_out: {troops: 150}\n")
    scenario, problems = check_scenario(path)
    assert scenario is not None
    assert [str(p) for p in problems] == [
        f"{path}:4: forces.withdrawals.us_out.troops: warning: 150 us troops withdrawn in all, "
        "but at most 100 are ever on the ground (expected at most forces.initial.us plus its "
        "deployments; the model withdraws only those present)"
    ]
    assert main(["validate", str(path)]) == 0
    out, err = capsys.readouterr()
    assert out == f"{path}: valid (1 warnings)\n"
    assert err == f"{problems[0]}\n"


def test_run_still_runs_the_kabul_baseline_and_writes_its_tables(tmp_path, capsys):
    """Every table of the run, as CSV and Parquet, with the rows and columns the run has
    (oracle: the same run in memory), and its provenance."""
    import evacsim

    out = tmp_path / "kabul"
    assert main(["run", str(KABUL), "--out", str(out), "--seed", "4"]) == 0
    assert f"Results written to {out}/" in capsys.readouterr().out
    tables = evacsim.simulate(KABUL, seed=4).tables()
    assert len(tables) >= 10
    for name, frame in tables.items():
        for suffix, read in ((".csv", pd.read_csv), (".parquet", pd.read_parquet)):
            written = read(out / f"{name}{suffix}")
            assert list(written.columns) == list(frame.columns), (name, suffix)
            assert len(written) == len(frame), (name, suffix)
    kpis = pd.read_parquet(out / "kpis.parquet").set_index("kpi")["value"]
    assert kpis.to_dict() == pytest.approx(tables["kpis"].set_index("kpi")["value"].to_dict())
    provenance = yaml.safe_load((out / "provenance.yaml").read_text(encoding="utf-8"))
    assert provenance["seed"] == 4 and provenance["resolved_scenario"]["name"] == "kabul_2021"
    expected = {f"{n}{s}" for n in tables for s in (".csv", ".parquet")} | {"provenance.yaml"}
    assert {p.name for p in out.iterdir()} == expected  # and nothing else


# --------------------------------------------------------------------------- JSON Schema


class _JsonLoader(yaml.SafeLoader):
    """YAML as an editor's language server sees it: dates stay text, !remove is null."""


_JsonLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_JsonLoader.add_constructor("!remove", lambda loader, node: None)
_JsonLoader.add_constructor("!replace", lambda loader, node: loader.construct_mapping(node))


def as_json(path: Path):
    def keys_to_text(value):
        if isinstance(value, dict):
            return {str(k): keys_to_text(v) for k, v in value.items()}
        if isinstance(value, list):
            return [keys_to_text(v) for v in value]
        return value

    return keys_to_text(yaml.load(path.read_text(encoding="utf-8"), Loader=_JsonLoader))


@pytest.fixture(scope="module")
def validator():
    schema = scenario_json_schema()
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema)


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == scenario_json_schema()


@pytest.mark.parametrize("path", [*sorted(SCENARIOS.glob("*.yaml")), BASE], ids=lambda p: p.stem)
def test_every_scenario_and_overlay_passes_the_schema(validator, path):
    errors_found = [e.message for e in validator.iter_errors(as_json(path))]
    assert errors_found == []


@pytest.mark.parametrize(
    "case",
    [
        "type_pool_text",
        "unknown_field",
        "unknown_top_level",
        "range_share_above_one",
        "unit_bare_number",
        "type_bad_name",
        "overlay_not_yaml",
    ],
)
def test_the_schema_catches_mistakes_an_editor_can_see(validator, case):
    data = as_json(ROOT / "tests" / "broken" / f"{case}.yaml")
    assert list(validator.iter_errors(data)), f"{case} passed the schema"


def test_a_complete_scenario_must_have_the_required_fields(validator):
    assert list(validator.iter_errors({"name": "x"}))
    assert not list(validator.iter_errors({"extends": "kabul_2021.yaml", "name": "x"}))


# --------------------------------------------------------------------------- reference


def test_the_committed_reference_is_what_the_generator_writes():
    committed = (ROOT / "docs" / "scenario-reference.md").read_text(encoding="utf-8")
    assert committed == scenario_reference(), (
        "docs/scenario-reference.md is stale: regenerate it with "
        "`evacsim schema --format markdown > docs/scenario-reference.md`"
    )


def _models():
    from evacsim.scenario.reference import _sections

    return [model for model, _ in _sections()]


def test_every_field_has_a_description_and_appears_in_the_reference():
    text = scenario_reference()
    for model in _models():
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
            assert f"| `{info.alias or name}` |" in text
        assert f"## {model.__name__}" in text


def test_problems_from_validation_serves_other_models_too():
    """The sweep file's model reuses the same messages; with the model, suggestions too."""
    from typing import Literal

    from pydantic import BaseModel, ConfigDict, ValidationError

    from evacsim.scenario.loader import problems_from_validation

    class Spec(BaseModel):
        model_config = ConfigDict(extra="forbid")
        base: str
        n: int | list[int] = 1
        mode: Literal["grid", "lhs"] = "grid"

    with pytest.raises(ValidationError) as err:
        Spec.model_validate({"bse": "x", "n": "a", "mode": "grd"})
    assert [str(p) for p in problems_from_validation(err.value, "s.yaml", Spec)] == [
        "s.yaml: base: required field is missing (expected text)",
        "s.yaml: mode: 'grd' is not allowed; did you mean 'grid'? (expected 'grid' or 'lhs')",
        "s.yaml: bse: unknown field; did you mean 'base'? (expected one of: base, n, mode)",
        "s.yaml: n: 'a' is not valid here (expected a whole number or a list of whole numbers)",
    ]
    # Without the model: clean paths (no union tags), plain messages.
    paths = [p.path for p in problems_from_validation(err.value, "s.yaml")]
    assert sorted(set(paths)) == ["base", "bse", "mode", "n"]


@pytest.mark.parametrize(
    "text",
    [
        "45min",
        "2h",
        "1.5d",
        ".5h",
        "1e-06h",
        "+3h",
        "-2h",
        " 2 h ",
        "2",
        "h",
        "2h30",
        "1.2.3h",
        "2 hours",
        "1e400h",
        "",
        "1w",
    ],
)
def test_the_schema_duration_pattern_agrees_with_the_parser(text):
    """An editor must accept exactly the durations evacsim reads (unit names aside)."""
    from evacsim.scenario.schema import _DURATION_JSON_SCHEMA
    from evacsim.scenario.units import parse_duration

    pattern = _DURATION_JSON_SCHEMA["anyOf"][0]["pattern"]
    try:
        parse_duration(text)
        parsed = True
    except ValueError as err:
        parsed = "unknown unit" in str(err) or "finite" in str(err)  # right shape, wrong value
    assert bool(re.match(pattern, text)) == parsed
