"""Engines: sequential, local worker processes and Dask give identical results.

One small Dask ``LocalCluster`` (2 worker processes) and one local process pool serve the
whole module, so the cluster start-up is paid once.
"""

from __future__ import annotations

import gc
import math
import os
import weakref

import pandas as pd
import pytest
from test_experiments_support import mini

from evacsim.experiments import (
    AutoEngine,
    DaskEngine,
    LocalEngine,
    SequentialEngine,
    compare,
    make_engine,
    replicate,
)
from evacsim.experiments.worker import ReplicationKey

N = 6


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    )
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def local_pool():
    with LocalEngine(2) as engine:
        yield engine


@pytest.fixture(scope="module")
def sequential_result():
    reps = replicate(mini(), n=N, seed=42, engine="sequential")
    return reps.kpis, reps.series


def _same(reps, expected) -> None:
    kpis, series = expected
    pd.testing.assert_frame_equal(reps.kpis, kpis)
    pd.testing.assert_frame_equal(reps.series, series)


def test_local_processes_match_sequential(local_pool, sequential_result):
    _same(replicate(mini(), n=N, seed=42, engine=local_pool), sequential_result)


def test_one_local_worker_matches_sequential(sequential_result):
    _same(replicate(mini(), n=N, seed=42, engine="local", workers=1), sequential_result)


def test_auto_engine_stays_in_process_for_small_work_and_matches(sequential_result):
    """Starting workers costs more than it saves for a handful of small runs: stay here."""
    engine = AutoEngine(2, start_s=1e6)
    _same(replicate(mini(), n=N, seed=42, engine=engine), sequential_result)
    assert engine.mode == "sequential" and engine._local is None
    assert "in process" in engine.describe()


def test_auto_engine_starts_workers_when_they_pay_and_matches(sequential_result):
    """With no start-up cost to repay, the rest of the tasks go to worker processes."""
    with AutoEngine(2, start_s=0.0) as engine:
        _same(replicate(mini(), n=N, seed=42, engine=engine), sequential_result)
        assert engine.mode == "local" and engine.describe() == "auto: local (2 workers)"


def test_auto_engine_asks_for_enough_work_to_repay_the_pool():
    engine = AutoEngine(2)
    assert engine._worth_a_pool(0.4) == 15  # 3 s / (0.4 s x 1/2 saved per task)
    assert AutoEngine(1)._worth_a_pool(1.0) > 10**15  # one worker never saves anything


def test_dask_cluster_matches_sequential(dask_client, sequential_result):
    engine = DaskEngine(client=dask_client)
    reps = replicate(mini(), n=N, seed=42, engine=engine)
    assert engine.workers == 2
    _same(reps, sequential_result)


def test_dask_by_scheduler_address_matches_sequential(dask_client, sequential_result):
    reps = replicate(mini(), n=N, seed=42, engine="dask", scheduler=dask_client.scheduler.address)
    _same(reps, sequential_result)


def test_provenance_names_the_engine_and_worker(dask_client, tmp_path):
    reps = replicate(mini(), n=2, seed=1, engine=DaskEngine(client=dask_client), out=tmp_path)
    prov = reps.store.provenance(ReplicationKey(reps.scenario_hash, 1, 1))
    assert prov["status"] == "ok" and prov["rep"] == 1 and prov["root_seed"] == 1
    assert prov["engine"].startswith("dask")
    assert prov["worker"].split(":")[1] != str(os.getpid())  # ran in a worker process
    assert prov["seed"] == {"entropy": 1, "spawn_key": [1]}


def test_compare_is_identical_on_every_engine(local_pool, dask_client):
    pair = [mini(), mini(screening={**mini().screening.model_dump(), "lanes": 5})]
    results = [
        compare(pair, n=3, seed=9, engine=e).kpis
        for e in (SequentialEngine(), local_pool, DaskEngine(client=dask_client))
    ]
    pd.testing.assert_frame_equal(results[0], results[1])
    pd.testing.assert_frame_equal(results[0], results[2])


@pytest.mark.parametrize("kind", ["sequential", "local", "dask"])
def test_engine_reports_errors_and_goes_on(kind, local_pool, dask_client):
    engine = {
        "sequential": SequentialEngine(),
        "local": local_pool,
        "dask": DaskEngine(client=dask_client),
    }[kind]
    out = {task: (result, error) for task, result, error in engine.map(math.sqrt, [4, -1, 9])}
    assert out[4] == (2.0, None) and out[9] == (3.0, None)
    assert out[-1][0] is None and isinstance(out[-1][1], ValueError)


def test_a_dead_worker_fails_its_tasks_not_the_run():
    with LocalEngine(1) as engine:
        died = list(engine.map(os._exit, [3]))
        assert died[0][1] is None and died[0][2] is not None
        # the pool is restarted and the next tasks run
        assert [r for _, r, _ in engine.map(math.sqrt, [16])] == [4.0]


def test_tasks_in_flight_are_bounded(local_pool):
    """Tasks are pulled lazily: never more than workers x window ahead of the results."""
    pulled = 0
    ahead = []

    def tasks():
        nonlocal pulled
        for i in range(40):
            pulled += 1
            yield float(i)

    done = 0
    for _ in local_pool.map(math.sqrt, tasks()):
        done += 1
        ahead.append(pulled - done)
    assert done == 40
    assert max(ahead) <= local_pool.workers * local_pool.window


class _Watching(SequentialEngine):
    """A sequential engine that keeps weak references to every result it hands out."""

    def __init__(self):
        self.refs: list[weakref.ref] = []
        self.alive_at_yield: list[int] = []

    def map(self, fn, tasks):
        for task, result, error in super().map(fn, tasks):
            self.alive_at_yield.append(sum(r() is not None for r in self.refs))
            self.refs.append(weakref.ref(result))
            yield task, result, error


def test_results_are_streamed_to_the_store_not_held(tmp_path):
    """Each result is written and dropped: at most one is alive while the next is made,
    none after the run, and memory does not grow with the number of replications."""
    engine = _Watching()
    reps = replicate(mini(), n=12, seed=3, engine=engine, out=tmp_path)
    gc.collect()
    assert len(engine.refs) == 12
    assert max(engine.alive_at_yield) <= 1
    assert all(ref() is None for ref in engine.refs)
    assert len(reps.reps) == 12  # ... and every one of them is in the store


def test_cli_lists_the_engines_make_engine_takes():
    from evacsim.cli.experiments import ENGINE_NAMES
    from evacsim.experiments.engines import ENGINES

    assert ENGINE_NAMES == ENGINES


def test_make_engine_defaults():
    assert isinstance(make_engine(), AutoEngine)
    assert isinstance(make_engine("local"), LocalEngine)
    assert make_engine("sequential").describe() == "sequential (1 worker)"
    assert isinstance(make_engine(None, scheduler="tcp://127.0.0.1:1"), DaskEngine)
    with pytest.raises(ValueError):
        LocalEngine(0)


def test_cli_dask_without_address_starts_and_stops_its_own_cluster(tmp_path, capsys):
    from test_experiments_support import write_mini

    from evacsim.cli.main import main

    scenario = write_mini(tmp_path)
    assert main(["run", str(scenario), "-n", "3", "--engine", "sequential"]) == 0
    expected = capsys.readouterr().out
    assert main(["run", str(scenario), "-n", "3", "--engine", "dask", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.out == expected
    assert "distributed" not in captured.err  # Dask's INFO chatter only with --verbose
