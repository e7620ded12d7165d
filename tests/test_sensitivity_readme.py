"""The README's sensitivity finding is computed from a recorded study, not typed in.

Default tier: the README block equals what ``docs/sensitivity_readme.py`` renders from the
tables committed in ``docs/recorded/kabul_sensitivity/`` (cheap). Slow tier: the recorded
command, rerun, gives those tables again (same seed, same result).
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "sensitivity" / "kabul_assumptions.yaml"


def _script():
    spec = importlib.util.spec_from_file_location(
        "sensitivity_readme", ROOT / "docs" / "sensitivity_readme.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_readme_states_what_the_recorded_study_found():
    script = _script()
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert script.readme_block(readme) == script.render()


def test_the_study_covers_the_scenario_uncertain_block():
    import evacsim
    from evacsim.experiments.backtest import resolve_parameters, with_parameters
    from evacsim.experiments.sensitivity import design, parameters_from_scenario

    scenario = evacsim.load_scenario(SCENARIO, allow_dirs=[ROOT / "scenarios"])
    params = resolve_parameters(scenario, parameters_from_scenario(scenario), "uncertain")
    record = json.loads((ROOT / "docs/recorded/kabul_sensitivity/sensitivity.json").read_text())
    assert [p["path"] for p in record["parameters"]] == [p.path for p in params]
    # every corner of the ranges is a valid scenario (the study can run any point)
    for row in design(params, "morris", 1, seed=0):
        with_parameters(scenario, params, row)
    assert all("[assumption]" in r.source for r in scenario.uncertain.values())


@pytest.mark.slow
def test_the_recorded_command_gives_the_committed_indices(tmp_path):
    from evacsim.cli.main import main

    argv = _script().COMMAND.replace("RESULTS_DIR", str(tmp_path / "study")).split()[1:]
    assert main([*argv, "--no-progress"]) == 0
    fresh = pd.read_csv(tmp_path / "study" / "sensitivity_indices.csv")
    kept = pd.read_csv(ROOT / "docs/recorded/kabul_sensitivity/sensitivity_indices.csv")
    np.testing.assert_allclose(fresh[["S1", "ST"]], kept[["S1", "ST"]], atol=1e-9)
