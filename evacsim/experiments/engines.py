"""Engines: where replications run. The same tasks give the same results on any of them.

* :class:`AutoEngine` (the default): runs in this process while the work is too small to
  repay starting worker processes, and hands the rest to a :class:`LocalEngine` once it is
  not;
* :class:`SequentialEngine`: one after another in this process (debugging, tiny runs);
* :class:`LocalEngine`: worker processes on this machine (all cores). Workers
  are started with ``spawn`` (or ``forkserver``), never ``fork``, so it is safe in Jupyter and
  with threads;
* :class:`DaskEngine`: a Dask distributed cluster, given by its scheduler address, or a local
  Dask cluster of worker processes when no address is given.

An engine maps a picklable function over tasks and yields ``(task, result, error)`` as they
finish, in any order. At most a small window of tasks is in flight at once, so neither the
driver nor the cluster holds more than a few results however many tasks there are. Results
do not depend on the engine because every task carries its own seed.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import logging
import math
import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal

__all__ = [
    "AutoEngine",
    "DaskEngine",
    "Engine",
    "EngineName",
    "EngineUnavailable",
    "LocalEngine",
    "SequentialEngine",
    "make_engine",
    "require_dask",
]

log = logging.getLogger(__name__)

EngineName = Literal["auto", "sequential", "local", "dask"]
ENGINES: tuple[str, ...] = ("auto", "sequential", "local", "dask")

POOL_START_S = 3.0
"""What starting a pool of spawned workers costs before it saves anything, in seconds of one
core: each worker starts an interpreter and imports NumPy, pandas, SimPy and evacsim, and
the pool's first results come back later than in process (issue 12: ``run -n 5`` of Kabul
took 4.4 s on a pool against 1.4 s in process). Compared with a task's CPU time, so that the
choice does not depend on how busy the machine is."""


def default_workers() -> int:
    """Worker processes to use by default: every core this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


class Engine:
    """Base class: a context manager that maps a function over tasks."""

    name = "engine"
    workers = 1

    def map(
        self, fn: Callable[[Any], Any], tasks: Iterable[Any]
    ) -> Iterator[tuple[Any, Any, BaseException | None]]:
        """Yield ``(task, fn(task), None)`` or ``(task, None, error)`` as tasks finish."""
        raise NotImplementedError

    def close(self) -> None:
        """Release workers (idempotent)."""

    def terminate(self) -> None:
        """Stop workers at once (on an interrupt); by default the same as :meth:`close`."""
        self.close()

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"{self.name} ({self.workers} worker{'s' if self.workers != 1 else ''})"


class SequentialEngine(Engine):
    """Run every task in this process, one after another."""

    name = "sequential"

    def map(self, fn, tasks):
        for task in tasks:
            try:
                result = fn(task)
            except Exception as exc:  # the driver records it; the experiment goes on
                yield task, None, exc
            else:
                yield task, result, None


WATCH_PARENT_S = 0.5
"""How often a worker checks that its driver is still alive (s)."""


def _watch_parent(parent_pid: int, parent_at_start: int) -> None:
    """Exit this worker as soon as the driver is gone (reparented, or its pid is free)."""
    while True:
        time.sleep(WATCH_PARENT_S)
        if os.getppid() != parent_at_start or not _alive(parent_pid):
            os._exit(1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - alive, owned by another user
        return True
    return True


def die_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the driver ends, however it ends.

    A driver killed by SIGKILL (what ``timeout -s KILL`` and batch schedulers send) runs no
    cleanup, so each worker looks after itself: on Linux the kernel sends it SIGKILL when its
    parent dies (``prctl(PR_SET_PDEATHSIG)``), and on any system a daemon thread checks every
    :data:`WATCH_PARENT_S` seconds that the driver is alive and exits if not. Ctrl-C is left
    to the driver (which stops the workers), so a worker prints no traceback of its own.
    Once the workers are gone, the multiprocessing resource tracker sees its pipe close and
    exits too.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no libc prctl
            pass
    parent_now = os.getppid()
    if not _alive(parent_pid):  # the driver died before the guard was in place
        os._exit(1)
    threading.Thread(
        target=_watch_parent,
        args=(parent_pid, parent_now),
        daemon=True,
        name="evacsim-watch-driver",
    ).start()


class AutoEngine(Engine):
    """In this process while that is quicker, else worker processes: the default engine.

    The first task runs here and its CPU time is measured (``t`` seconds: CPU, not wall, so
    a busy machine does not make a small task look big). With ``w`` workers, a pool saves
    about ``t * (1 - 1/w)`` per task after paying :data:`POOL_START_S` to start; so the engine
    looks ahead for the number of tasks that would repay that and, if the work ends sooner,
    runs them all here. Otherwise the rest go to a :class:`LocalEngine`. Every task carries
    its own seed, so which way it goes never changes a result.
    """

    name = "auto"

    def __init__(self, workers: int | None = None, start_s: float = POOL_START_S):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        self.workers = workers or default_workers()
        self.start_s = start_s
        self._local: LocalEngine | None = None
        self.mode = "sequential"

    def _worth_a_pool(self, task_s: float) -> int:
        """Tasks left that make starting the pool pay (a huge number if it never does)."""
        saving = task_s * (1.0 - 1.0 / self.workers)
        return 2**62 if saving <= 0 else max(1, math.ceil(self.start_s / saving))

    def map(self, fn, tasks):
        todo = iter(tasks)
        here = SequentialEngine()
        first = list(itertools.islice(todo, 1))
        if not first:
            return
        started = time.process_time()
        yield from here.map(fn, first)
        task_s = time.process_time() - started
        needed = self._worth_a_pool(task_s)
        ahead = list(itertools.islice(todo, needed)) if needed < 2**62 else None
        if ahead is None or len(ahead) < needed:  # too little left: finish here
            yield from here.map(fn, itertools.chain(ahead or [], todo))
            return
        self.mode = "local"
        log.info(
            "%d or more tasks left of %.2f s CPU each: starting %d worker processes",
            needed,
            task_s,
            self.workers,
        )
        if self._local is None:
            self._local = LocalEngine(self.workers)
        yield from self._local.map(fn, itertools.chain(ahead, todo))

    def close(self) -> None:
        if self._local is not None:
            self._local.close()
            self._local = None

    def describe(self) -> str:
        if self.mode == "sequential":
            return "auto: in process (too little work to repay starting workers)"
        return f"auto: local ({self.workers} worker{'s' if self.workers != 1 else ''})"


class LocalEngine(Engine):
    """Worker processes on this machine (``concurrent.futures.ProcessPoolExecutor``).

    ``context`` is ``"spawn"`` (default) or ``"forkserver"``: both start clean interpreters,
    safe under Jupyter and threads. The pool starts on first use and is reused by every
    ``map`` until :meth:`close`. A worker that dies (e.g. killed by the OS) fails the tasks
    it held; the pool is restarted and the rest go on.
    """

    name = "local"

    def __init__(self, workers: int | None = None, context: str = "spawn", window: int = 2):
        if workers is not None and workers < 1:
            raise ValueError(f"workers must be 1 or more, got {workers}")
        self.workers = workers or default_workers()
        self.context = context
        self.window = max(1, window)
        self._pool: cf.ProcessPoolExecutor | None = None

    def _executor(self) -> cf.ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context(self.context)
            self._pool = cf.ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=ctx,
                initializer=die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map(self, fn, tasks):
        pending: dict[cf.Future, Any] = {}
        todo = iter(tasks)
        limit = self.workers * self.window

        def submit_more() -> None:
            while len(pending) < limit:
                try:
                    task = next(todo)
                except StopIteration:
                    return
                pending[self._executor().submit(fn, task)] = task

        try:
            yield from self._drain(pending, submit_more)
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM in the driver: stop the workers now
            self.terminate()
            raise

    def _drain(self, pending: dict, submit_more: Callable[[], None]):
        submit_more()
        while pending:
            finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            broken = False
            for future in finished:
                task = pending.pop(future)
                try:
                    yield task, future.result(), None
                except cf.process.BrokenProcessPool as exc:
                    broken = True
                    yield task, None, exc
                except Exception as exc:
                    yield task, None, exc
            if broken:
                log.warning("a worker process died; restarting the pool")
                self.close()
            submit_more()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def terminate(self) -> None:
        """Stop the workers now, without waiting for the tasks they hold (interrupts)."""
        pool, self._pool = self._pool, None
        if pool is None:
            return
        # The executor has no public way to stop running tasks: end its processes, then
        # let it tidy up without waiting for them.
        for process in list(getattr(pool, "_processes", {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)

    def __exit__(self, exc_type, *exc: object) -> None:
        if exc_type is not None and issubclass(exc_type, KeyboardInterrupt):
            self.terminate()
        self.close()


class DaskEngine(Engine):
    """A Dask distributed cluster: ``scheduler`` address, an existing ``client``, or local.

    With neither an address nor a client, a ``LocalCluster`` of ``workers`` processes with
    one thread each is started and closed with the engine. Workers of a remote cluster need
    evacsim installed; they return small results and the driver writes them.
    """

    name = "dask"

    def __init__(
        self,
        workers: int | None = None,
        scheduler: str | None = None,
        client: Any = None,
        window: int = 2,
    ):
        if client is None:
            require_dask()  # fail before any replication runs, with the install command
        self.window = max(1, window)
        self._own_cluster = None
        self._own_client = None
        self._client = client
        self._scheduler = scheduler
        self._requested = workers
        self.workers = workers or (0 if (client or scheduler) else default_workers())

    @property
    def client(self):
        if self._client is None:
            from distributed import Client, LocalCluster

            if self._scheduler:
                log.info("connecting to Dask scheduler %s", self._scheduler)
                self._client = self._own_client = Client(self._scheduler)
            else:
                self._own_cluster = LocalCluster(
                    n_workers=self.workers,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=":0",  # any free port: never clash with another cluster
                )
                self._client = self._own_client = Client(self._own_cluster)
                log.info(
                    "started a local Dask cluster of %d workers (dashboard %s)",
                    self.workers,
                    self._own_cluster.dashboard_link,
                )
        if self._own_cluster is None:  # a cluster we did not start: size it by its threads
            self.workers = max(1, sum(self._client.nthreads().values()))
        return self._client

    def map(self, fn, tasks):
        from distributed import as_completed

        client = self.client
        limit = self.workers * self.window
        todo = iter(tasks)
        owner: dict[str, Any] = {}

        def submit_one():
            try:
                task = next(todo)
            except StopIteration:
                return None
            future = client.submit(fn, task, pure=False)
            owner[future.key] = task
            return future

        first = [f for f in (submit_one() for _ in range(limit)) if f is not None]
        if not first:
            return
        queue = as_completed(first)
        for future in queue:
            task = owner.pop(future.key)
            try:
                yield task, future.result(), None
            except Exception as exc:
                yield task, None, exc
            finally:
                future.release()
            nxt = submit_one()
            if nxt is not None:
                queue.add(nxt)

    def close(self) -> None:
        if self._own_client is not None:
            self._own_client.close()
            self._own_client = None
            self._client = None
        if self._own_cluster is not None:
            self._own_cluster.close()
            self._own_cluster = None

    def describe(self) -> str:
        where = self._scheduler or (
            "given client" if self._own_client is None and self._client else "local cluster"
        )
        return f"dask {where} ({self.workers} workers)"


class EngineUnavailable(RuntimeError):
    """An engine cannot start here (its optional dependency is not installed)."""


def require_dask() -> None:
    """Raise :class:`EngineUnavailable` with the install command if Dask is missing."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise EngineUnavailable(
            "the dask engine needs Dask, which is not installed: "
            "pip install 'evacsim[dask]' (or use --engine local)"
        ) from None


def make_engine(
    engine: str | Engine | None = None, workers: int | None = None, scheduler: str | None = None
) -> Engine:
    """An engine by name (``auto``, ``sequential``, ``local``, ``dask``) or the one given.

    ``None`` means ``auto`` (in process for small work, else local workers), or ``dask`` when
    a scheduler address is given.
    """
    if isinstance(engine, Engine):
        return engine
    name = engine or ("dask" if scheduler else "auto")
    if name == "auto":
        return AutoEngine(workers)
    if name == "sequential":
        return SequentialEngine()
    if name == "local":
        return LocalEngine(workers)
    if name == "dask":
        return DaskEngine(workers, scheduler)
    raise ValueError(f"unknown engine '{name}' (expected one of: {', '.join(ENGINES)})")
