"""The Kabul calibration record (scenarios/kabul_2021.calibration.md) is what its command gives,
and the baseline holds the fitted values (no input changed silently after the fit)."""

from __future__ import annotations

import re
import shlex

import pytest
from conftest import KABUL

from evacsim.cli.main import main
from evacsim.experiments.levers import get_path

RECORD = KABUL.with_name("kabul_2021.calibration.md")
ROOT = KABUL.parents[1]


def _command(text: str) -> list[str]:
    block = re.search(r"```\n(evacsim calibrate .*?)\n```", text, re.S)
    assert block, "the record names no evacsim calibrate command"
    return shlex.split(block.group(1))


def _fitted(text: str) -> dict[str, tuple[str, str]]:
    """parameter -> (fitted, interval) from the record's table."""
    rows = re.findall(r"^\| `([^`]+)` \| [^|]+ \| ([^|]+) \| ([^|]+) \|", text, re.M)
    assert rows, "the record has no fitted parameters"
    return {name: (fitted.strip(), interval.strip()) for name, fitted, interval in rows}


def test_the_baseline_holds_the_fitted_values(kabul):
    """Every calibrated input of kabul_2021.yaml equals its fitted value in the record."""
    text = RECORD.read_text(encoding="utf-8")
    data = kabul.model_dump(mode="json", by_alias=True)
    for path, (fitted, _) in _fitted(text).items():
        assert float(get_path(data, path)) == pytest.approx(float(fitted)), path
    command = _command(text)
    assert command[2] == "scenarios/kabul_2021.yaml" and "--targets" in command


@pytest.mark.slow
def test_the_calibration_record_regenerates(tmp_path, monkeypatch):
    """Rerun the record's own command (writing the record elsewhere): same fitted values and
    intervals. Minutes on 2 cores."""
    text = RECORD.read_text(encoding="utf-8")
    argv = _command(text)[1:]
    out = tmp_path / "record.md"
    argv[argv.index("--record") + 1] = str(out)
    monkeypatch.chdir(ROOT)
    assert main(argv) == 0
    assert _fitted(out.read_text(encoding="utf-8")) == _fitted(text)
