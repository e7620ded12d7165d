"""The results store: every finished replication on disk at once, with its provenance.

Layout of an output folder (partitioned Parquet, one small file per replication)::

    OUT/scenarios/<scenario>.json                 resolved scenario, by content hash
    OUT/kpis/<scenario>/<seed>/<rep>.parquet      rep, kpi, value (read as replication)
    OUT/series/<scenario>/<seed>/<rep>.parquet    rep, date, series, value (daily)
    OUT/runs/<scenario>/<seed>/<rep>.ok.json      provenance of a finished replication
    OUT/runs/<scenario>/<seed>/<rep>.failed.json  provenance and error of a failed one

A replication is *done* once its ``.ok.json`` exists; it is written last, after the Parquet
files, and every file is written to a temporary name and renamed into place, so a run killed
at any instant leaves either a complete replication or none. The ``.ok.json`` carries the
SHA-256 and size of the replication's Parquet files: a rerun verifies them
(:meth:`ResultStore.verify`) and redoes a replication whose files are missing, damaged or
copied from another, saying so. Every error reading the store names its file
(:class:`StoreError`). Rerunning into the same folder
skips what is done and retries what failed. Only the driver writes (workers return small
results), so the store works the same for local processes and a remote Dask cluster.
"""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import tempfile
import weakref
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from evacsim.scenario.schema import Scenario

from .worker import Outcome, ReplicationKey

__all__ = ["ResultStore", "StoreError"]

log = logging.getLogger(__name__)

_KPI_SCHEMA = pa.schema([("rep", pa.int64()), ("kpi", pa.string()), ("value", pa.float64())])
_SERIES_SCHEMA = pa.schema(
    [
        ("rep", pa.int64()),
        ("date", pa.timestamp("us")),
        ("series", pa.string()),
        ("value", pa.float64()),
    ]
)


class StoreError(OSError):
    """A file of the results store cannot be read: ``filename`` names it."""

    def __init__(self, path: Path, reason: str):
        super().__init__(
            errno.EIO,
            f"{reason} (delete it, or rerun the command to redo the replication)",
            str(path),
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _public(frame: pd.DataFrame) -> pd.DataFrame:
    """A stored table with the column names the library uses everywhere (``replication``;
    the files keep ``rep`` so that folders written by earlier versions still read)."""
    return frame.rename(columns={"rep": "replication"})


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _atomic_write_table(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


class ResultStore:
    """Replications written to (and read back from) one output folder.

    With ``root=None`` the store lives in a temporary folder removed when the store is
    garbage-collected: results are still streamed to disk, so memory stays flat however many
    replications are run.
    """

    def __init__(self, root: str | os.PathLike[str] | None = None):
        if root is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="evacsim-")
            self.root = Path(self._tmp.name)
            self._finalizer = weakref.finalize(self, self._tmp.cleanup)
        else:
            self._tmp = None
            self.root = Path(root)
            self.root.mkdir(parents=True, exist_ok=True)
        self.temporary = root is None

    # -- paths ------------------------------------------------------------------------------

    def _part(self, kind: str, key: ReplicationKey, suffix: str) -> Path:
        return self.root / kind / key.scenario / str(key.seed) / f"{key.rep:06d}{suffix}"

    # -- writing ----------------------------------------------------------------------------

    def save_scenario(self, scenario_hash: str, scenario: Scenario) -> None:
        """Keep the resolved scenario a replication ran (once per content hash)."""
        path = self.root / "scenarios" / f"{scenario_hash}.json"
        if not path.exists():
            data = scenario.model_dump(mode="json", by_alias=True)
            _atomic_write_bytes(path, json.dumps(data, indent=1).encode("utf-8"))

    def put(self, outcome: Outcome) -> None:
        """Write one replication's results and provenance (provenance last: the done mark)."""
        key = outcome.key
        failed = self._part("runs", key, ".failed.json")
        if outcome.ok:
            rep = pa.array([key.rep] * len(outcome.kpis), pa.int64())
            kpis = pa.Table.from_arrays(
                [
                    rep,
                    pa.array(list(outcome.kpis), pa.string()),
                    pa.array([float(v) for v in outcome.kpis.values()], pa.float64()),
                ],
                schema=_KPI_SCHEMA,
            )
            _atomic_write_table(self._part("kpis", key, ".parquet"), kpis)
            frame = outcome.series.assign(rep=key.rep)[["rep", "date", "series", "value"]]
            series = pa.Table.from_pandas(frame, schema=_SERIES_SCHEMA, preserve_index=False)
            _atomic_write_table(self._part("series", key, ".parquet"), series)
            target = self._part("runs", key, ".ok.json")
            outcome.provenance["files"] = {
                kind: {"sha256": _sha256(path), "bytes": path.stat().st_size}
                for kind in ("kpis", "series")
                for path in [self._part(kind, key, ".parquet")]
            }
        else:
            target = failed
        _atomic_write_bytes(target, json.dumps(outcome.provenance, indent=1).encode("utf-8"))
        if outcome.ok and failed.exists():
            failed.unlink()  # a retried replication that now succeeds is no longer a failure

    # -- reading ----------------------------------------------------------------------------

    def _reps(self, scenario: str, seed: int, suffix: str) -> set[int]:
        folder = self.root / "runs" / scenario / str(seed)
        if not folder.is_dir():
            return set()
        return {
            int(p.name[: -len(suffix)])
            for p in folder.glob(f"*{suffix}")
            if p.name[: -len(suffix)].isdigit()
        }

    def done(self, scenario: str, seed: int) -> set[int]:
        """Replication indices finished (successfully) for this scenario hash and root seed."""
        return self._reps(scenario, seed, ".ok.json")

    def verify(self, scenario: str, seed: int) -> set[int]:
        """Check every finished replication of a group against the checksums in its
        ``.ok.json``; a replication whose files are missing, damaged or swapped is marked
        not done (its ``.ok.json`` renamed ``.damaged.json``) so that a rerun redoes it.
        Returns the replications so marked (each also logged as a warning)."""
        damaged = set()
        for rep in sorted(self.done(scenario, seed)):
            key = ReplicationKey(scenario, seed, rep)
            problem = self._check(key)
            if problem:
                damaged.add(rep)
                mark = self._part("runs", key, ".ok.json")
                os.replace(mark, mark.with_name(mark.name.replace(".ok.json", ".damaged.json")))
                log.warning("%s; redoing replication %d", problem, rep)
        return damaged

    def _check(self, key: ReplicationKey) -> str:
        """What is wrong with a finished replication's files ("" if nothing)."""
        mark = self._part("runs", key, ".ok.json")
        try:
            files = json.loads(mark.read_text(encoding="utf-8")).get("files")
        except (OSError, ValueError, AttributeError) as exc:
            return f"{mark}: unreadable ({type(exc).__name__})"
        if not isinstance(files, dict):
            return ""  # written before checksums were kept: trusted as before
        for kind, expected in files.items():
            path = self._part(kind, key, ".parquet")
            if not path.is_file():
                return f"{path}: missing"
            if not isinstance(expected, dict) or _sha256(path) != expected.get("sha256"):
                return f"{path}: damaged or replaced (checksum differs from {mark.name})"
        return ""

    def failed(self, scenario: str, seed: int) -> set[int]:
        """Replication indices whose last attempt failed."""
        return self._reps(scenario, seed, ".failed.json") - self.done(scenario, seed)

    def _read(
        self, kind: str, scenario: str, seed: int, reps: Iterable[int], schema: pa.Schema
    ) -> pd.DataFrame:
        files = [
            str(self._part(kind, ReplicationKey(scenario, seed, r), ".parquet"))
            for r in sorted(reps)
        ]
        if not files:
            return _public(schema.empty_table().to_pandas())
        tables = []
        for f in files:
            try:
                tables.append(pq.read_table(f, schema=schema))
            except (OSError, pa.ArrowException) as exc:
                reason = getattr(exc, "strerror", None) or " ".join(str(exc).split())[:200]
                raise StoreError(Path(f), reason or type(exc).__name__) from None
        return _public(pa.concat_tables(tables).to_pandas())

    def kpis(self, scenario: str, seed: int, reps: Iterable[int]) -> pd.DataFrame:
        """Tidy KPIs (replication, kpi, value) of the given finished replications, in order."""
        return self._read("kpis", scenario, seed, reps, _KPI_SCHEMA)

    def series(self, scenario: str, seed: int, reps: Iterable[int]) -> pd.DataFrame:
        """Tidy daily series (replication, date, series, value) of the given replications."""
        return self._read("series", scenario, seed, reps, _SERIES_SCHEMA)

    def provenance(self, key: ReplicationKey) -> dict[str, Any] | None:
        """The provenance record of one replication (ok or failed), or None if never run."""
        for suffix in (".ok.json", ".failed.json"):
            path = self._part("runs", key, suffix)
            if path.exists():
                try:
                    return json.loads(path.read_text(encoding="utf-8"))
                except (OSError, ValueError) as exc:
                    raise StoreError(
                        path, f"not a readable record ({type(exc).__name__})"
                    ) from None
        return None

    def failures(self, scenario: str, seed: int, reps: Iterable[int]) -> pd.DataFrame:
        """One row per failed replication among ``reps``: replication and the error it raised."""
        rows = []
        bad = self.failed(scenario, seed)
        for r in sorted(set(reps) & bad):
            prov = self.provenance(ReplicationKey(scenario, seed, r)) or {}
            rows.append({"replication": r, "error": prov.get("error", "")})
        return pd.DataFrame(rows, columns=["replication", "error"])

    def write_json(self, name: str, data: Any) -> Path:
        """Write an experiment-level record (what was asked, the points) next to the results."""
        path = self.root / name
        _atomic_write_bytes(path, json.dumps(data, indent=1, default=str).encode("utf-8"))
        return path

    def write_table(self, name: str, frame: pd.DataFrame) -> Path:
        """Write an experiment-level table as Parquet and CSV (``name`` without suffix)."""
        path = self.root / f"{name}.parquet"
        _atomic_write_table(path, pa.Table.from_pandas(frame, preserve_index=False))
        frame.to_csv(self.root / f"{name}.csv", index=False)
        return path
