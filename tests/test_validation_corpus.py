"""The broken-scenario corpus: every file in tests/broken/ with the exact messages expected.

Each ``tests/broken/NAME.yaml`` (except ``_base.yaml``, the valid scenario the overlays
extend) holds one kind of mistake and, as trailing comments, what ``evacsim validate`` must
print for it, line for line::

    # set: PATH=VALUE     an override to pass with --set (repeatable)
    # exit: 2             the exit code expected (default 1)
    # expect: FILE:LINE: path: message

The oracle is the text a planner reads, so a change of wording fails here on purpose: update
the expectation in the file after reading the new message.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from evacsim.cli.main import main

BROKEN = Path(__file__).parent / "broken"
CASES = sorted(p for p in BROKEN.glob("*.yaml") if not p.name.startswith("_"))

# Every class of mistake the issue names, by the file-name prefix that covers it.
CLASSES = {
    "syntax": "YAML syntax, duplicate keys",
    "type": "types",
    "unit": "units",
    "range": "ranges",
    "duration": "negative or inverted durations",
    "surge": "a surge capacity below the normal one",
    "unknown": "unknown keys with a did-you-mean",
    "missing": "missing fields",
    "ref": "cross-references",
    "time": "times: events after the deadline, profiles, windows",
    "overlay": "extends: missing files, cycles, escapes, !remove",
    "override": "--set",
    "safety": "unsafe tags, alias bombs, deep nesting",
}


def _directives(path: Path) -> tuple[list[str], int, list[str]]:
    text = path.read_text(encoding="utf-8")
    sets = re.findall(r"^# set: (.*)$", text, re.M)
    exit_code = re.search(r"^# exit: (\d)$", text, re.M)
    expected = re.findall(r"^# expect: (.*)$", text, re.M)
    return sets, int(exit_code.group(1)) if exit_code else 1, expected


def test_the_corpus_is_large_and_covers_every_class_of_mistake():
    assert len(CASES) >= 40
    prefixes = {p.name.split("_")[0] for p in CASES}
    assert set(CLASSES) <= prefixes, sorted(set(CLASSES) - prefixes)
    for path in CASES:
        assert _directives(path)[2], f"{path.name} states no expected message"


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_broken_scenario_gives_exactly_the_expected_messages(path, command, monkeypatch, capsys):
    """``validate`` and ``run`` refuse the file with the same lines and exit code."""
    monkeypatch.chdir(BROKEN)
    sets, exit_code, expected = _directives(path)
    code = main([command, path.name, *(f"--set={s}" for s in sets)])
    out, err = capsys.readouterr()
    assert err.splitlines() == expected
    assert code == exit_code
    assert out == ""  # nothing ran, nothing was reported as valid


def test_the_base_of_the_corpus_is_valid(monkeypatch, capsys):
    monkeypatch.chdir(BROKEN)
    assert main(["validate", "_base.yaml"]) == 0
    out, err = capsys.readouterr()
    assert out == "_base.yaml: valid\n"
    assert err == ""


def test_validate_reports_every_file_and_exits_with_the_worst_code(monkeypatch, capsys):
    monkeypatch.chdir(BROKEN)
    code = main(["validate", "_base.yaml", "unknown_field.yaml", "syntax_tab_indent.yaml"])
    out, err = capsys.readouterr()
    assert code == 2  # unreadable input outranks invalid input
    assert out == "_base.yaml: valid\n"
    assert err.splitlines() == (
        _directives(BROKEN / "unknown_field.yaml")[2]
        + _directives(BROKEN / "syntax_tab_indent.yaml")[2]
    )
