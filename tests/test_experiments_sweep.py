"""Sweeps (grid × Latin hypercube, tidy table), sweep files, and goal seek by bisection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml
from test_experiments_support import MINI, mini

import evacsim
from evacsim.experiments import SweepSpec, goal_seek, load_sweep, parse_vary, replicate, sweep
from evacsim.experiments.goalseek import _grid
from evacsim.experiments.sweep import Factor, design

SWEEP_FILES = sorted((Path(__file__).parent.parent / "scenarios" / "sweeps").glob("*.yaml"))


def test_grid_is_the_full_factorial():
    spec = SweepSpec(
        base="x",
        levers={"screening.lanes": [3, 4, 5]},
        uncertainties={"demand.afghans.pool": [2000, 3000]},
    )
    points = design(spec)
    assert len(points) == 6
    assert {(p["screening.lanes"], p["demand.afghans.pool"]) for p in points} == {
        (a, b) for a in (3, 4, 5) for b in (2000, 3000)
    }


def test_latin_hypercube_has_one_point_per_stratum_and_is_reproducible():
    spec = SweepSpec(
        base="x",
        samples=8,
        seed=3,
        uncertainties={
            "demand.afghans.pool": {"low": 1000, "high": 5000},
            "screening.service.mean": {"mode": "scale", "low": 0.5, "high": 1.5},
        },
    )
    points = design(spec)
    assert len(points) == 8
    for path, (low, high) in {
        "demand.afghans.pool": (1000, 5000),
        "screening.service.mean": (0.5, 1.5),
    }.items():
        u = (np.array([p[path] for p in points]) - low) / (high - low)
        assert sorted(np.floor(u * 8).astype(int)) == list(range(8))
    assert design(spec) == points
    other = SweepSpec.model_validate({**spec.model_dump(), "seed": 4})
    assert design(other) != points


def test_grid_crossed_with_hypercube():
    spec = SweepSpec(
        base="x",
        samples=3,
        levers={"screening.lanes": [3, 4]},
        uncertainties={"demand.afghans.pool": {"low": 1, "high": 9, "integer": True}},
    )
    points = design(spec)
    assert len(points) == 6
    assert all(isinstance(p["demand.afghans.pool"], int) for p in points)


def test_parse_vary():
    f = parse_vary(
        [
            "screening.lanes=3,4",
            "flights.us_c17.per_day+=0,2",
            "screening.service.mean*=0.5..1.5",
            "holding.capacity=1000..2000",
        ]
    )
    assert f["screening.lanes"] == Factor(values=[3, 4])
    assert f["flights.us_c17.per_day"].mode == "add"
    assert (f["screening.service.mean"].mode, f["screening.service.mean"].low) == ("scale", 0.5)
    assert f["holding.capacity"].integer
    for bad in ("screening.lanes", "=3", "screening.lanes=5..1"):
        with pytest.raises(ValueError, match="--vary"):
            parse_vary([bad])


def test_sweep_spec_mistakes_are_named():
    with pytest.raises(ValueError, match="samples"):
        SweepSpec(base="x", uncertainties={"a.b": {"low": 1, "high": 2}})
    with pytest.raises(ValueError, match="both"):
        SweepSpec(base="x", levers={"a": [1]}, uncertainties={"a": [2]})
    with pytest.raises(ValueError, match="not both"):
        Factor(values=[1], low=0, high=2)


def test_sweep_returns_one_tidy_row_per_point_replication_kpi():
    spec = SweepSpec(
        base="x",
        replications=3,
        seed=2,
        levers={
            "flights.us_c17.per_day": {"mode": "add", "values": [0, 2]},
            "screening.lanes": [3, 5],
        },
    )
    result = sweep(spec, mini(), engine="sequential")
    table = result.table()
    n_kpis = table["kpi"].nunique()
    assert len(table) == 4 * 3 * n_kpis
    assert list(table.columns) == [
        "point",
        "flights.us_c17.per_day",
        "screening.lanes",
        "scenario",
        "replication",
        "kpi",
        "value",
    ]
    assert not table.duplicated(["point", "replication", "kpi"]).any()
    # each point is the scenario with its levers applied ...
    point = next(
        p for p in result.points if p.values == {"flights.us_c17.per_day": 2, "screening.lanes": 5}
    )
    assert point.scenario.screening.lanes == 5
    assert point.scenario.flights["us_c17"].per_day == (5.0, 7.0)
    # ... run with common random numbers: point (0, 3) is the base scenario itself
    base = replicate(
        mini(screening={**MINI["screening"], "lanes": 3}), 3, seed=2, engine="sequential"
    )
    mine = table[(table["flights.us_c17.per_day"] == 0) & (table["screening.lanes"] == 3)]
    assert np.array_equal(
        mine.sort_values(["replication", "kpi"])["value"].to_numpy(),
        base.kpis.sort_values(["replication", "kpi"])["value"].to_numpy(),
    )
    summary = result.summary()
    evac = summary[summary["kpi"] == "evacuated"].set_index(
        ["flights.us_c17.per_day", "screening.lanes"]
    )
    assert evac.loc[(2, 5), "mean"] >= evac.loc[(0, 5), "mean"]  # more flights, no fewer out
    assert result.failures().empty


def test_a_point_that_breaks_the_scenario_is_a_user_error():
    spec = SweepSpec(base="x", levers={"holding.capacity": [1000, 0]})
    with pytest.raises(evacsim.ScenarioError) as err:
        sweep(spec, mini(), engine="sequential")
    assert err.value.problems[0].path == "holding.capacity"
    assert "point 1" in err.value.problems[0].file


def test_sweep_file_problems_name_file_and_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "base": "nowhere.yaml",
                "replications": 0,
                "levers": {"screening.lanes": {"valus": [1]}},
            }
        )
    )
    with pytest.raises(evacsim.ScenarioError) as err:
        load_sweep(path)
    paths = {p.path for p in err.value.problems}
    assert "replications" in paths
    assert any(p.startswith("levers.screening.lanes") for p in paths)
    assert all(p.file == str(path) for p in err.value.problems)
    path.write_text(yaml.safe_dump({"base": "nowhere.yaml"}))
    with pytest.raises(evacsim.ScenarioError, match="no such scenario file"):
        load_sweep(path)


@pytest.mark.parametrize("path", SWEEP_FILES, ids=lambda p: p.name)
def test_every_sweep_file_runs(path, tmp_path):
    """Each file under scenarios/sweeps/, with one replication and one hypercube sample."""
    spec, base = load_sweep(path)
    result = sweep(
        path,
        replications=1,
        samples=1 if spec.samples else None,
        engine="local",
        workers=2,
        out=tmp_path,
    )
    table = result.table()
    assert result.failures().empty
    assert table["point"].nunique() == len(result.points) >= 2
    assert set(table["replication"]) == {0}
    result.write()
    assert (tmp_path / "sweep_kpis.parquet").is_file()


def test_sweep_files_exist():
    assert SWEEP_FILES, "scenarios/sweeps/ should hold at least one example sweep"


# ------------------------------------------------------------------------------ goal seek


def test_goal_grid():
    # The grid is computed on demand (bisection reads log2(n) of its values).
    assert list(_grid(0, 8, None)) == list(range(9))
    assert list(_grid(0, 10, 4)) == [0, 4, 8, 10]
    assert list(_grid(0.5, 1.5, 0.5)) == [0.5, 1.0, 1.5]
    with pytest.raises(ValueError):
        _grid(3, 1, None)


def test_goal_seek_finds_the_smallest_lever_value_like_brute_force(tmp_path):
    scenario = mini()
    # Brute force first: every value, same seeds (common random numbers), into the store
    # that goal seek then reads (so it reruns nothing).
    met = {}
    for extra in range(5):
        changed = evacsim.experiments.apply_levers(
            scenario, [evacsim.experiments.Lever("flights.us_c17.per_day", extra, "add")]
        )
        x = replicate(changed, 12, seed=7, engine="sequential", out=tmp_path).kpi("left_behind")
        met[extra] = (x <= 100).mean() >= 0.9
    assert not met[0] and met[4], met  # the question is not trivial
    result = goal_seek(
        scenario,
        "flights.us_c17.per_day",
        0,
        4,
        mode="add",
        at_most=100,
        probability=0.9,
        n=12,
        seed=7,
        engine="sequential",
        out=tmp_path,
    )
    assert result.found and result.monotone
    assert result.value == min(v for v, ok in met.items() if ok)
    assert len(result.evaluations) <= 4  # bisection: 4, 0, 2, then 1 or 3
    row = result.evaluations.set_index("value").loc[result.value]
    assert row["satisfied"] and row["p"] >= 0.9 and row["ci_low"] <= row["p"]
    assert result.at_value is not None and len(result.at_value.reps) == 12
    assert "Smallest flights.us_c17.per_day" in result.message()


def test_goal_seek_reports_a_goal_out_of_reach(tmp_path):
    result = goal_seek(
        mini(),
        "screening.lanes",
        1,
        2,
        at_most=0,
        probability=0.99,
        n=4,
        engine="sequential",
        out=tmp_path,
    )
    assert not result.found and result.value is None
    assert len(result.evaluations) == 1  # the top of the range already misses: stop
    assert "not reached" in result.message()
    assert (tmp_path / "goalseek.json").is_file()


def test_goal_seek_conservative_needs_more(tmp_path):
    kwargs = dict(
        at_most=100, probability=0.8, n=8, seed=7, engine="sequential", out=tmp_path, mode="add"
    )
    plain = goal_seek(mini(), "flights.us_c17.per_day", 0, 4, **kwargs)
    careful = goal_seek(mini(), "flights.us_c17.per_day", 0, 4, conservative=True, **kwargs)
    assert plain.found
    assert careful.value is None or careful.value >= plain.value


def test_goal_seek_checks_its_arguments():
    with pytest.raises(evacsim.ScenarioError):
        goal_seek(mini(), "screening.lane", 1, 3, at_most=0, n=2, engine="sequential")
    with pytest.raises(ValueError, match="probability"):
        goal_seek(mini(), "screening.lanes", 1, 3, at_most=0, probability=1.5, n=2)
