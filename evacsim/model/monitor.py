"""Statistics, recorded at change points: time-weighted levels and people-weighted tallies.

* A :class:`Level` is a quantity that holds between changes (people outside, aircraft on the
  ground, a gate busy or not). Each change adds ``delta`` from time ``t`` on. Changes are
  folded into fixed hourly bins as they come, so memory is flat in the length of the run and
  changes may arrive out of time order (the crowd learns of a group's giving up only when it
  looks at the group): both sums below are order-independent.
* A :class:`Tally` collects one observation per group (a waiting time), weighted by the
  group's size, into fixed-width bins: percentiles to within one bin, exact mean.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["Level", "LevelBank", "Tally", "TallyBank"]


def _binned(t, delta, bin_h: float, n_bins: int, series=None, n_series: int = 1, end_h=None):
    """Changes ``delta`` at times ``t`` (of ``series``, if several) as the (step, area) sums
    of :class:`Level`, per bin (series-major), in bulk. Changes after ``end_h`` are left out
    (see :class:`Level`)."""
    if end_h is not None:
        keep = t <= end_h
        if not keep.all():
            t, delta = t[keep], delta[keep]
            series = None if series is None else series[keep]
    b = np.clip((t / bin_h).astype(np.int64), 0, n_bins - 1)
    index = b if series is None else series * n_bins + b
    size = n_series * n_bins
    step = np.bincount(index, delta, size)
    area = np.bincount(index, delta * ((b + 1) * bin_h - t), size)
    return step, area


class Level:
    """A time-weighted level over ``[0, horizon_h]`` in bins of ``bin_h`` hours.

    For bin ``b`` covering ``[b*w, (b+1)*w)`` we keep ``step[b]``, the sum of changes inside
    the bin, and ``area[b]``, the sum of ``delta * (end_of_bin - t)``. Then the level at the
    start of bin ``b`` is ``initial + sum(step[:b])`` and its time average over the bin is
    that plus ``area[b] / w``.

    The bins end at ``horizon_h`` (the deadline): a change booked for later (a passage or a
    screening that would end after the deadline) is left out, so the level holds its value
    at the deadline to the end of the table. Booked into the last bin instead, such a change
    once gave a gate busy 4e7 times over on the last day.
    """

    __slots__ = ("_last", "area", "bin_h", "current", "end_h", "initial", "n_bins", "step")

    def __init__(self, horizon_h: float, bin_h: float = 1.0, initial: float = 0.0):
        self.bin_h = bin_h
        self.end_h = horizon_h
        self.n_bins = max(1, math.ceil(horizon_h / bin_h - 1e-9))
        self.step = [0.0] * self.n_bins
        self.area = [0.0] * self.n_bins
        self._last = self.n_bins - 1
        self.initial = initial
        self.current = initial  # the running level, meaningful when changes come in time order

    def change(self, t: float, delta: float) -> None:
        """The level moves by ``delta`` at time ``t`` (hours)."""
        w = self.bin_h
        b = int(t / w)
        self.current += delta
        if b >= self._last:
            if t > self.end_h:
                return  # after the deadline: not in the table
            b = self._last
        elif b < 0:
            b = 0
        self.step[b] += delta
        self.area[b] += delta * ((b + 1) * w - t)

    def interval(self, t0: float, t1: float, amount: float) -> None:
        """The level is ``amount`` higher over ``[t0, t1)`` (e.g. a server busy); the part
        after the deadline is left out."""
        end = self.end_h
        if t1 > end:
            if t0 > end:
                return
            self.change(t0, amount)
            self.current -= amount  # an interval leaves the running level as it was
            return
        last = self._last
        b0, b1 = int(t0 / self.bin_h), int(t1 / self.bin_h)
        b0 = last if b0 > last else b0
        b1 = last if b1 > last else b1
        w = self.bin_h
        self.step[b0] += amount
        self.area[b0] += amount * ((b0 + 1) * w - t0)
        self.step[b1] -= amount
        self.area[b1] -= amount * ((b1 + 1) * w - t1)

    def intervals(self, t0: np.ndarray, t1: np.ndarray, amount: float) -> None:
        """The level is ``amount`` higher over each ``[t0[i], t1[i])``, in bulk."""
        if not len(t0):
            return
        t = np.concatenate((np.asarray(t0, dtype=float), np.asarray(t1, dtype=float)))
        delta = np.repeat([amount, -amount], len(t0))
        step, area = _binned(t, delta, self.bin_h, self.n_bins, end_h=self.end_h)
        self.step = (np.asarray(self.step) + step).tolist()
        self.area = (np.asarray(self.area) + area).tolist()

    def set(self, t: float, value: float) -> None:
        """Set the level to ``value`` at ``t`` (only for changes made in time order)."""
        if value != self.current:
            self.change(t, value - self.current)

    def at_bin_end(self) -> np.ndarray:
        """Level at the end of each bin."""
        return self.initial + np.cumsum(self.step)

    def mean_per_bin(self) -> np.ndarray:
        """Time-average level within each bin."""
        start = self.initial + np.concatenate(([0.0], np.cumsum(self.step)[:-1]))
        return start + np.asarray(self.area) / self.bin_h


class Tally:
    """People-weighted observations (waiting times, hours) in bins of ``bin_h`` up to ``max_h``."""

    __slots__ = ("_counts", "bin_h", "n", "total", "total_sq")

    def __init__(self, max_h: float, bin_h: float = 1.0 / 60.0):
        self.bin_h = bin_h
        self._counts = [0.0] * (int(max_h / bin_h) + 2)
        self.n = 0.0
        self.total = 0.0
        self.total_sq = 0.0

    def add(self, value_h: float, weight: float = 1.0) -> None:
        b = int(value_h / self.bin_h)
        if b >= len(self._counts):
            b = len(self._counts) - 1
        elif b < 0:
            b = 0
        self._counts[b] += weight
        self.n += weight
        self.total += value_h * weight
        self.total_sq += value_h * value_h * weight

    @property
    def counts(self) -> np.ndarray:
        """People per bin."""
        return np.asarray(self._counts)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    def quantile(self, q: float) -> float:
        """The ``q`` quantile (0..1), to within half a bin (bin midpoint)."""
        if not self.n:
            return math.nan
        cum = np.cumsum(self._counts)
        idx = int(np.searchsorted(cum, q * self.n, side="left"))
        return (idx + 0.5) * self.bin_h


class _LevelView:
    """One series of a :class:`LevelBank`, read like a :class:`Level`."""

    def __init__(self, bank: LevelBank, k: int):
        self._bank, self._k = bank, k

    def at_bin_end(self) -> np.ndarray:
        self._bank.flush()
        return np.cumsum(self._bank.step[self._k])

    def mean_per_bin(self) -> np.ndarray:
        bank = self._bank
        bank.flush()
        step = bank.step[self._k]
        start = np.concatenate(([0.0], np.cumsum(step)[:-1]))
        return start + bank.area[self._k] / bank.bin_h


class LevelBank:
    """Many :class:`Level` series whose changes are buffered and binned in bulk by numpy.

    Changes arrive in bulk (:meth:`add_bulk`, two ``bincount`` calls), from a caller that
    buffers them on its hot path (see :class:`evacsim.model.ledger.Ledger`); ``flush`` is that
    caller's hook, run before any read so that nothing buffered is missed. Memory stays flat:
    the bins are fixed.
    """

    def __init__(self, n_series: int, horizon_h: float, bin_h: float = 1.0, flush=None):
        self.bin_h = bin_h
        self.n_bins = max(1, math.ceil(horizon_h / bin_h - 1e-9))
        self.n_series = n_series
        self.end_h = horizon_h  # changes after it are left out, as in Level
        self.step = np.zeros((n_series, self.n_bins))
        self.area = np.zeros((n_series, self.n_bins))
        self.flush = flush or (lambda: None)

    def add_bulk(self, k: np.ndarray, t: np.ndarray, delta: np.ndarray) -> None:
        """Series ``k`` moves by ``delta`` at times ``t`` (arrays of equal length)."""
        step, area = _binned(t, delta, self.bin_h, self.n_bins, k, self.n_series, self.end_h)
        self.step += step.reshape(self.step.shape)
        self.area += area.reshape(self.area.shape)

    def series(self, k: int) -> _LevelView:
        return _LevelView(self, k)


class _TallyView:
    """One tally of a :class:`TallyBank`, read like a :class:`Tally`."""

    def __init__(self, bank: TallyBank, k: int):
        self._bank, self._k = bank, k
        self.bin_h = bank.bin_h

    @property
    def counts(self) -> np.ndarray:
        self._bank.flush()
        return self._bank.counts[self._k]

    @property
    def n(self) -> float:
        return float(self.counts.sum())

    @property
    def total(self) -> float:
        self._bank.flush()
        return float(self._bank.totals[self._k])

    @property
    def mean(self) -> float:
        n = self.n
        return self.total / n if n else math.nan

    def quantile(self, q: float) -> float:
        return self.quantiles([q])[0]

    def quantiles(self, qs: list[float]) -> list[float]:
        """Several quantiles at once (one pass over the bins)."""
        counts = self.counts
        n = counts.sum()
        if not n:
            return [math.nan] * len(qs)
        idx = np.searchsorted(np.cumsum(counts), np.asarray(qs) * n, side="left")
        return [(int(i) + 0.5) * self.bin_h for i in idx]


class TallyBank:
    """Many :class:`Tally` histograms filled in bulk (``flush`` as for :class:`LevelBank`)."""

    def __init__(self, n_tallies: int, max_h: float, bin_h: float = 1.0 / 60.0, flush=None):
        self.bin_h = bin_h
        self.n_bins = int(max_h / bin_h) + 2
        self.n_tallies = n_tallies
        self.counts = np.zeros((n_tallies, self.n_bins))
        self.totals = np.zeros(n_tallies)
        self.flush = flush or (lambda: None)

    def add_bulk(self, k: np.ndarray, value: np.ndarray, weight: np.ndarray) -> None:
        """Tally ``k`` observes ``value`` with ``weight`` (arrays of equal length)."""
        b = np.clip((value / self.bin_h).astype(np.int64), 0, self.n_bins - 1)
        # In place: the cost follows the observations, not the (many) bins.
        np.add.at(self.counts.reshape(-1), k * self.n_bins + b, weight)
        self.totals += np.bincount(k, value * weight, self.n_tallies)

    def tally(self, k: int) -> _TallyView:
        return _TallyView(self, k)
