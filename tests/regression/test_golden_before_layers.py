"""Regression (golden outputs): the results of the model before the one-house restructure.

``kabul_2021_before_layers.yaml`` is the Kabul baseline as it stood at commit 0af733b, before
the package was split into layers and rewired (issue 13); ``kabul_2021_before_layers.json``
holds the KPIs (waiting times aside) and the daily evacuated table by category that commit
gave at seeds 0 and 3. The restructure promised identical results: this checks it, and
keeps checking that later work changes nothing for a scenario that does not opt in to it.
A deliberate change of the model's behaviour updates the golden file in its own commit,
saying why (regenerate with ``python tests/regression/test_golden_before_layers.py``).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pandas as pd
import pytest

import evacsim

HERE = Path(__file__).parent
SCENARIO = HERE / "kabul_2021_before_layers.yaml"
GOLDEN = HERE / "kabul_2021_before_layers.json"


def _outputs(seed: int) -> dict:
    result = evacsim.simulate(evacsim.load_scenario(SCENARIO), seed=seed, keep_records=False)
    kpis = {k: float(v) for k, v in result.kpis.items() if not k.startswith("wait_")}
    daily = result.evacuated_daily()
    return {
        "kpis": kpis,
        "daily": {
            f"{pd.Timestamp(r.date).date()}|{r.category}": int(r.people) for r in daily.itertuples()
        },
    }


@pytest.mark.parametrize("seed", [0, 3])
def test_same_results_as_before_the_restructure(seed):
    golden = json.loads(GOLDEN.read_text())[str(seed)]
    now = _outputs(seed)
    assert now["daily"] == golden["daily"]
    for name, value in golden["kpis"].items():
        got = now["kpis"].get(name)
        assert got is not None, f"KPI {name} is gone"
        if math.isnan(value):
            assert math.isnan(got), name
        else:
            assert got == pytest.approx(value, rel=1e-9, abs=1e-9), name


if __name__ == "__main__":  # regenerate the golden file (a deliberate change of behaviour)
    json.dump({str(s): _outputs(s) for s in (0, 3)}, sys.stdout, indent=1, sort_keys=True)
