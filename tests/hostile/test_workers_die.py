"""Workers die with the driver (issue 14, item 5).

A driver running replications on ``--engine local`` is killed by SIGKILL, SIGTERM or SIGINT
(what ``timeout``, schedulers and Ctrl-C send); afterwards no process it started may be left
alive: not its workers, not the multiprocessing resource tracker.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT, tiny, write_yaml

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _stat(pid: int) -> tuple[int, str] | None:
    """(parent pid, state) of a process, or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return int(fields[1]), fields[0]


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            info = _stat(int(entry))
            if info:
                children.setdefault(info[0], []).append(int(entry))
    found, todo = set(), [root]
    while todo:
        for kid in children.get(todo.pop(), []):
            if kid not in found:
                found.add(kid)
                todo.append(kid)
    return found


def _alive(pid: int) -> bool:
    info = _stat(pid)
    return info is not None and info[1] not in ("Z", "X")  # a zombie has ended


@pytest.mark.parametrize(
    "signum", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT], ids=["SIGKILL", "SIGTERM", "SIGINT"]
)
def test_workers_end_with_the_driver(signum, tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    data = tiny()
    data["deadline"] = "2021-01-20T00:00"  # a few tenths of a second per replication
    scenario = write_yaml(tmp_path, data)
    driver = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "evacsim.cli",
            "run",
            str(scenario),
            "-n",
            "5000",
            "--engine",
            "local",
            "--workers",
            "2",
            "--out",
            str(tmp_path / "out"),
            "--no-progress",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    workers: set[int] = set()
    try:
        # Wait until replications come back: the workers are then up and guarded (a worker
        # killed while still importing exits as soon as its guard starts, see engines.py).
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline and not list(tmp_path.rglob("*.ok.json")):
            time.sleep(0.2)
            assert driver.poll() is None, driver.stderr.read()
        workers = _descendants(driver.pid)
        assert len(workers) >= 2, "the driver never started its workers"
        driver.send_signal(signum)
        driver.wait(timeout=60)
        gone_by = time.monotonic() + 20
        while time.monotonic() < gone_by and any(_alive(p) for p in workers):
            time.sleep(0.2)
        left = sorted(p for p in workers if _alive(p))
        assert not left, f"still alive after the driver ended: {left}"
        err = driver.stderr.read()
        assert "Traceback" not in err, err
        if signum != signal.SIGKILL:
            assert driver.returncode == 128 + signum, err
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait()
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
