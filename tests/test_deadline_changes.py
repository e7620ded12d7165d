"""Moving the deadline: what lies past it is dropped with one warning each, not refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from evacsim.cli.main import main
from evacsim.experiments.levers import Lever, apply_levers
from evacsim.model import build
from evacsim.scenario.loader import check_scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
KABUL = ROOT / "scenarios" / "kabul_2021.yaml"


def test_kabul_with_an_earlier_deadline_is_valid_with_one_warning_per_item(capsys):
    code = main(["validate", str(KABUL), "--set", "deadline=2021-08-27T00:00"])
    out, err = capsys.readouterr()
    assert code == 0
    assert out.strip().endswith("valid (5 warnings)")
    lines = err.strip().splitlines()
    assert len(lines) == 5
    assert all(": warning: " in line and line.startswith(f"{KABUL}:") for line in lines)
    paths = [line.split(": ")[1] for line in lines]
    assert paths == [
        "forces.withdrawals.us_first_drawdown.to",  # straddles it: kept, said so
        "forces.withdrawals.us_retrograde.from",  # begins after it: dropped
        "forces.withdrawals.uk_out.to",
        "flights.us_c17.per_day.2021-08-29T00:00",  # a step after it: dropped
        "events.perimeter_sealed.at",  # an event after it: dropped
    ]


def test_the_baseline_itself_has_nothing_past_its_deadline():
    scenario, problems = check_scenario(KABUL)
    assert scenario is not None and problems == []


def test_what_lies_past_the_deadline_is_gone_from_the_scenario_and_the_run():
    scenario = load_scenario(KABUL, ["deadline=2021-08-27T00:00"])
    assert "perimeter_sealed" not in scenario.events
    assert "us_retrograde" not in scenario.forces.withdrawals
    assert "us_first_drawdown" in scenario.forces.withdrawals  # begins before the deadline
    assert list(scenario.flights["us_c17"].per_day) == sorted(
        t for t in scenario.flights["us_c17"].per_day if t < scenario.deadline
    )
    model = build(scenario, seed=0, keep_records=False).run()  # conservation is checked
    assert model.horizon_h == 13 * 24


def test_only_after_the_deadline_is_forgiven(tmp_path):
    """A time before start is still an error, even with the deadline moved."""
    scenario, problems = check_scenario(
        KABUL, ["deadline=2021-08-27T00:00", "events.perimeter_sealed.at=2021-08-01T00:00"]
    )
    assert scenario is None
    errors = [str(p) for p in problems if p.severity == "error"]
    assert len(errors) == 1 and "events.perimeter_sealed.at" in errors[0]
    assert "outside the run" in errors[0]


def test_a_gate_opening_after_the_deadline_never_opens(tmp_path):
    scenario, problems = check_scenario(
        KABUL, ["deadline=2021-08-20T00:00", "gates.abbey.open_from=2021-08-22T00:00"]
    )
    assert scenario is not None
    assert scenario.gates["abbey"].open_from == scenario.deadline
    assert any(p.path == "gates.abbey.open_from" and "never opens" in p.message for p in problems)


def test_a_sweep_lever_may_move_the_deadline_earlier():
    base = load_scenario(KABUL)
    earlier = apply_levers(base, [Lever("deadline", "2021-08-26T00:00")])
    assert earlier.deadline.day == 26
    assert "perimeter_sealed" not in earlier.events


@pytest.mark.parametrize("deadline", ["2021-08-27T00:00"])
def test_run_with_an_earlier_deadline_exits_zero(tmp_path, deadline, capsys):
    code = main(["run", str(KABUL), "--set", f"deadline={deadline}", "--out", str(tmp_path / "o")])
    assert code == 0
    assert "warning:" in capsys.readouterr().err
