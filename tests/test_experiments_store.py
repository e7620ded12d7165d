"""The results store: written as it goes, resumable, failures recorded, never redone."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from test_experiments_support import mini, write_mini

from evacsim.experiments import ResultStore, replicate, sweep
from evacsim.experiments import worker as worker_module
from evacsim.experiments.worker import ReplicationKey


def _ok_files(folder: Path) -> dict[Path, int]:
    return {p: p.stat().st_mtime_ns for p in folder.glob("runs/*/*/*.ok.json")}


def test_each_replication_is_written_with_provenance(tmp_path):
    reps = replicate(mini(), n=3, seed=4, engine="sequential", out=tmp_path)
    digest = reps.scenario_hash
    for rep in range(3):
        assert (tmp_path / "kpis" / digest / "4" / f"{rep:06d}.parquet").is_file()
        assert (tmp_path / "series" / digest / "4" / f"{rep:06d}.parquet").is_file()
        prov = json.loads((tmp_path / "runs" / digest / "4" / f"{rep:06d}.ok.json").read_text())
        assert prov["scenario_hash"] == digest and prov["rep"] == rep
        assert prov["status"] == "ok" and prov["wall_time_s"] > 0
        assert prov["evacsim_version"]
    resolved = json.loads((tmp_path / "scenarios" / f"{digest}.json").read_text())
    assert resolved["name"] == "mini_airlift"
    assert not list(tmp_path.rglob("*.tmp"))  # every write was renamed into place


def test_rerun_skips_what_is_done(tmp_path):
    first = replicate(mini(), n=4, seed=8, engine="sequential", out=tmp_path)
    stamps = _ok_files(tmp_path)
    second = replicate(mini(), n=7, seed=8, engine="sequential", out=tmp_path)
    assert (first.stats.ran, second.stats.ran, second.stats.skipped) == (4, 3, 4)
    assert all(p.stat().st_mtime_ns == t for p, t in stamps.items())  # nothing rewritten
    fresh = replicate(mini(), n=7, seed=8, engine="sequential")
    pd.testing.assert_frame_equal(second.kpis, fresh.kpis)


def test_a_failing_replication_is_recorded_and_the_rest_go_on(tmp_path, monkeypatch):
    real_build = worker_module.build

    def flaky_build(scenario, seed, keep_records=True):
        if seed.spawn_key == (2,):
            raise RuntimeError("injected failure in replication 2")
        return real_build(scenario, seed, keep_records)

    monkeypatch.setattr(worker_module, "build", flaky_build)
    reps = replicate(mini(), n=5, seed=1, engine="sequential", out=tmp_path)
    assert reps.stats.failed == 1 and reps.reps == [0, 1, 3, 4]
    failures = reps.failures()
    assert failures["replication"].tolist() == [2]
    assert "injected failure" in failures["error"].iloc[0]
    prov = reps.store.provenance(ReplicationKey(reps.scenario_hash, 1, 2))
    assert prov["status"] == "failed" and "RuntimeError" in prov["traceback"]
    assert reps.summary().set_index("kpi").loc["evacuated", "n"] == 4

    # Fixed: a rerun retries the failure only, and the failure record goes.
    monkeypatch.setattr(worker_module, "build", real_build)
    again = replicate(mini(), n=5, seed=1, engine="sequential", out=tmp_path)
    assert (again.stats.ran, again.stats.skipped, again.stats.failed) == (1, 4, 0)
    assert again.reps == [0, 1, 2, 3, 4] and again.failures().empty


def test_temporary_store_is_removed_with_its_results():
    reps = replicate(mini(), n=2, seed=1, engine="sequential")
    root = reps.store.root
    assert root.is_dir()
    del reps
    import gc

    gc.collect()
    assert not root.exists()


def test_store_reads_nothing_for_nothing(tmp_path):
    store = ResultStore(tmp_path)
    assert store.done("abc", 0) == set()
    assert store.kpis("abc", 0, []).empty
    assert list(store.series("abc", 0, []).columns) == ["replication", "date", "series", "value"]


def test_resume_after_a_killed_sweep(tmp_path):
    """Kill a sweep mid-way (SIGKILL: no clean-up at all), rerun it: it finishes the rest
    without redoing anything, and the table equals an uninterrupted run."""
    scenario = write_mini(tmp_path)
    out = tmp_path / "out"
    args = [
        sys.executable,
        "-m",
        "evacsim.cli",
        "sweep",
        str(scenario),
        "--vary",
        "screening.lanes=3,4",
        "-n",
        "20",
        "--engine",
        "sequential",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(
        args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 60
        while len(_ok_files(out)) < 6 and time.monotonic() < deadline:
            assert proc.poll() is None, "the sweep finished before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    before = _ok_files(out)
    assert 6 <= len(before) < 40

    done = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    after = _ok_files(out)
    assert len(after) == 40
    assert all(after[p] == t for p, t in before.items())  # finished ones were not redone

    resumed = pd.read_parquet(out / "sweep_kpis.parquet")
    whole = sweep(_spec(scenario), scenario, engine="sequential").table()
    assert len(resumed) == len(whole)
    key = ["point", "replication", "kpi"]
    pd.testing.assert_frame_equal(
        resumed.sort_values(key).reset_index(drop=True)[key + ["value"]],
        whole.sort_values(key).reset_index(drop=True)[key + ["value"]],
    )


def _spec(scenario: Path):
    from evacsim.experiments.sweep import SweepSpec, parse_vary

    return SweepSpec(
        base=str(scenario), replications=20, levers=parse_vary(["screening.lanes=3,4"])
    )


@pytest.mark.parametrize("suffix", [".ok.json", ".failed.json"])
def test_done_ignores_unrelated_files(tmp_path, suffix):
    folder = tmp_path / "runs" / "h" / "0"
    folder.mkdir(parents=True)
    (folder / f"000003{suffix}").write_text("{}")
    (folder / ".000004.ok.json.123.tmp").write_text("{}")
    store = ResultStore(tmp_path)
    expected = {3} if suffix == ".ok.json" else set()
    assert store.done("h", 0) == expected


def test_results_from_other_model_code_are_reused_with_a_warning(tmp_path, caplog):
    reps = replicate(mini(), n=2, seed=6, engine="sequential", out=tmp_path)
    prov_file = next((tmp_path / "runs").rglob("000000.ok.json"))
    prov = json.loads(prov_file.read_text())
    assert prov["code"] == worker_module.code_fingerprint()
    prov["code"] = "0000000000000000"
    prov_file.write_text(json.dumps(prov))
    with caplog.at_level("WARNING"):
        again = replicate(mini(), n=2, seed=6, engine="sequential", out=tmp_path)
    assert again.stats.ran == 0
    assert "other model code" in caplog.text
    pd.testing.assert_frame_equal(again.kpis, reps.kpis)
