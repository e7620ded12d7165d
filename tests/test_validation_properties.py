"""Property tests: no input mistake ever escapes as anything but a clean ScenarioError.

Random mutations of valid scenarios (structure, YAML text, and ``--set`` overrides) must
either validate or be refused with problems that each read ``FILE[:LINE]: path: message``;
any other exception is a bug. A mutation that still validates must survive being written
out and read back unchanged (the round-trip property).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evacsim.scenario.loader import (
    Problem,
    ScenarioError,
    check_scenario,
    dump_scenario,
    parse_yaml,
    read_document,
    resolve_extends,
    scenario_from_dict,
    validate_document,
)

ROOT = Path(__file__).resolve().parent.parent
BASE = ROOT / "tests" / "broken" / "_base.yaml"
KABUL = ROOT / "scenarios" / "kabul_2021.yaml"
VALID = {"base": resolve_extends(BASE), "kabul": resolve_extends(KABUL)}
BASE_TEXT = BASE.read_text(encoding="utf-8")

LINE = re.compile(r"^[^\n]+?(:\d+)?: (\S+: )?\S[^\n]*$")
SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def paths(data, prefix=()):
    """Every path into nested dicts and lists."""
    yield prefix
    if isinstance(data, dict):
        for key, value in data.items():
            yield from paths(value, (*prefix, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from paths(value, (*prefix, index))


def at(data, path):
    for part in path:
        data = data[part]
    return data


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.dates(dt.date(1, 1, 1), dt.date(9999, 12, 31)),
    st.datetimes(),
    st.sampled_from(
        [
            "45min",
            "-2h",
            "0",
            "2",
            "1.5d",
            "2021-08-33",
            "2021-08-16T18:00",
            "all",
            "al_udeid",
            "us",
            "c17",
            "citizens",
            "abbey",
            "exponential",
            "runway_closed",
            "1e400",
            "[1, 2]",
        ]
    ),
)
keys = st.one_of(st.text(max_size=10), st.integers(-3, 10), st.dates(), st.none(), st.booleans())
junk = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated(draw):
    """A valid scenario dict with one to three random edits."""
    data = copy.deepcopy(VALID[draw(st.sampled_from(sorted(VALID)))])
    for _ in range(draw(st.integers(1, 3))):
        candidates = list(paths(data))
        path = draw(st.sampled_from(candidates))
        parent = at(data, path[:-1]) if path else None
        edit = draw(st.sampled_from(["replace", "delete", "add", "rename", "swap"]))
        if not path or edit == "replace":
            if not path:
                data = draw(junk) if draw(st.booleans()) else data
                continue
            parent[path[-1]] = draw(junk)
        elif edit == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif edit == "add" and isinstance(parent, dict):
            parent[draw(keys)] = draw(junk)
        elif edit == "rename" and isinstance(parent, dict):  # a typo in a key
            value = parent.pop(path[-1])
            parent[str(path[-1])[:-1] + draw(st.sampled_from(["s", "_", "x", ""]))] = value
        elif edit == "swap":  # move a value to another place of the same scenario
            other = draw(st.sampled_from(candidates))
            nested = path[: len(other)] == other or other[: len(path)] == path
            if other and not nested:
                parent[path[-1]] = copy.deepcopy(at(data, other))
    return data


def assert_clean(problems: list[Problem], max_line: int | None = None) -> None:
    assert problems
    for problem in problems:
        assert isinstance(problem, Problem)
        text = str(problem)
        assert LINE.match(text), text
        assert "Traceback" not in text and "pydantic" not in text.lower(), text
        if problem.line is not None and max_line is not None:
            assert 1 <= problem.line <= max_line, text


def round_trips(scenario) -> None:
    again = scenario_from_dict(parse_yaml(dump_scenario(scenario), "<resolved>").data)
    assert again == scenario


@SETTINGS
@given(mutated())
def test_mutated_scenarios_validate_or_fail_cleanly(data):
    try:
        scenario = scenario_from_dict(data, file="mutated.yaml")
    except ScenarioError as err:
        assert_clean(err.problems)
        assert all(p.file == "mutated.yaml" for p in err.problems)
    else:
        round_trips(scenario)


@st.composite
def edited_text(draw):
    """The base scenario's YAML with random character- and line-level edits."""
    lines = BASE_TEXT.splitlines(keepends=True)
    for _ in range(draw(st.integers(1, 4))):
        i = draw(st.integers(0, len(lines) - 1))
        edit = draw(st.sampled_from(["delete", "duplicate", "insert", "chars", "indent"]))
        if edit == "delete":
            del lines[i]
        elif edit == "duplicate":
            lines.insert(i, lines[i])
        elif edit == "insert":
            lines.insert(i, draw(st.text(max_size=30)) + "\n")
        elif edit == "indent":
            lines[i] = draw(st.sampled_from([" ", "\t", "  - ", "? "])) + lines[i]
        else:
            line = lines[i]
            j = draw(st.integers(0, len(line)))
            k = draw(st.integers(j, min(len(line), j + 5)))
            lines[i] = line[:j] + draw(st.text(max_size=5)) + line[k:]
        if not lines:
            break
    return "".join(lines)


@SETTINGS
@given(edited_text())
def test_edited_yaml_text_validates_or_fails_cleanly(text):
    max_line = text.count("\n") + 1
    try:
        scenario, problems = validate_document(parse_yaml(text, "edited.yaml"))
    except ScenarioError as err:
        assert_clean(err.problems, max_line)
        return
    if scenario is None:
        assert_clean(problems, max_line)
    else:
        assert all(p.severity == "warning" for p in problems)
        round_trips(scenario)


override_paths = st.sampled_from(
    [".".join(map(str, p)) for p in paths(read_document(BASE).data) if p]
    + ["flights.new.per_day", "nope", "demand..pool", "events.x.type", "a.b.c.d"]
)
override_values = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            "30",
            "[6, 8]",
            "{dist: exponential, mean: 5min}",
            "!remove",
            "!replace {}",
            "null",
            "2021-09-11",
            "- a\n- b",
            "[unclosed",
            "{a: 1, a: 2}",
            "&x [*x]",
            "!!python/name:os",
        ]
    ),
)


@SETTINGS
@given(st.lists(st.tuples(override_paths, override_values), min_size=1, max_size=3))
def test_random_overrides_validate_or_fail_cleanly(sets):
    overrides = [f"{path}={value}" for path, value in sets]
    try:
        scenario, problems = check_scenario(BASE, overrides)
    except ScenarioError as err:
        assert_clean(err.problems)
        return
    if scenario is None:
        assert_clean(problems)
        for problem in problems:
            if problem.file == "--set":  # the line of an override is its position
                assert 1 <= problem.line <= len(overrides)
    else:
        round_trips(scenario)
