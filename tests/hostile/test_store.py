"""The store checks itself (issue 14, item 6): checksums in each ``.ok.json``; a rerun
verifies them and redoes what is damaged or swapped, saying so; every store error names
its file."""

from __future__ import annotations

import json
import shutil

import pandas as pd
import pytest

from evacsim.cli.main import main
from evacsim.experiments.store import ResultStore, StoreError

from .conftest import tiny, write_yaml


def _run(path, out) -> int:
    return main(["run", str(path), "-n", "3", "--engine", "sequential", "--out", str(out)])


@pytest.fixture
def stored(tmp_path, capsys):
    path = write_yaml(tmp_path, tiny())
    out = tmp_path / "out"
    assert _run(path, out) == 0
    capsys.readouterr()
    kpis = pd.read_csv(out / "replications_kpis.csv")
    return path, out, kpis


def _file(out, kind: str, rep: int):
    return next((out / kind).rglob(f"{rep:06d}.parquet"))


def test_every_ok_record_carries_checksums(stored):
    _, out, _ = stored
    record = json.loads(next((out / "runs").rglob("000000.ok.json")).read_text())
    assert set(record["files"]) == {"kpis", "series"}
    assert all(len(f["sha256"]) == 64 for f in record["files"].values())


@pytest.mark.parametrize("damage", ["truncate", "delete", "swap", "corrupt_record"])
def test_a_rerun_redoes_what_is_damaged_and_says_so(damage, stored, capsys, caplog):
    path, out, clean = stored
    target = _file(out, "kpis", 1)
    if damage == "truncate":
        target.write_bytes(target.read_bytes()[:40])
    elif damage == "delete":
        _file(out, "series", 1).unlink()
    elif damage == "swap":
        shutil.copyfile(_file(out, "kpis", 0), target)  # rep 0's results posing as rep 1's
    else:
        next((out / "runs").rglob("000001.ok.json")).write_text("{not json")
    assert _run(path, out) == 0
    said = caplog.text + capsys.readouterr().err
    assert "redoing replication 1" in said, said
    again = pd.read_csv(out / "replications_kpis.csv")
    pd.testing.assert_frame_equal(again, clean)  # the same results as before the damage


def test_a_store_read_error_names_its_file(stored):
    _, out, _ = stored
    target = _file(out, "kpis", 2)
    target.write_bytes(b"PAR1 garbage")
    digest = target.parent.parent.name
    seed = int(target.parent.name)
    with pytest.raises(StoreError) as err:
        ResultStore(out).kpis(digest, seed, [0, 1, 2])
    assert err.value.filename == str(target)
    record = next((out / "runs").rglob("000002.ok.json"))
    record.write_text("{")
    from evacsim.experiments.worker import ReplicationKey

    with pytest.raises(StoreError) as err:
        ResultStore(out).provenance(ReplicationKey(digest, seed, 2))
    assert err.value.filename == str(record)
