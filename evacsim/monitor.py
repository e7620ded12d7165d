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

__all__ = ["Level", "Tally"]


class Level:
    """A time-weighted level over ``[0, horizon_h]`` in bins of ``bin_h`` hours.

    For bin ``b`` covering ``[b*w, (b+1)*w)`` we keep ``step[b]``, the sum of changes inside
    the bin, and ``area[b]``, the sum of ``delta * (end_of_bin - t)``. Then the level at the
    start of bin ``b`` is ``initial + sum(step[:b])`` and its time average over the bin is
    that plus ``area[b] / w``.
    """

    __slots__ = ("_area", "_last", "_step", "bin_h", "current", "initial", "n_bins")

    def __init__(self, horizon_h: float, bin_h: float = 1.0, initial: float = 0.0):
        self.bin_h = bin_h
        self.n_bins = max(1, math.ceil(horizon_h / bin_h - 1e-9))
        self._step = [0.0] * self.n_bins
        self._area = [0.0] * self.n_bins
        self._last = self.n_bins - 1
        self.initial = initial
        self.current = initial  # the running level, meaningful when changes come in time order

    def change(self, t: float, delta: float) -> None:
        """The level moves by ``delta`` at time ``t`` (hours)."""
        w = self.bin_h
        b = int(t / w)
        if b > self._last:
            b = self._last
        elif b < 0:
            b = 0
        self._step[b] += delta
        self._area[b] += delta * ((b + 1) * w - t)
        self.current += delta

    def set(self, t: float, value: float) -> None:
        """Set the level to ``value`` at ``t`` (only for changes made in time order)."""
        if value != self.current:
            self.change(t, value - self.current)

    def at_bin_end(self) -> np.ndarray:
        """Level at the end of each bin."""
        return self.initial + np.cumsum(self._step)

    def mean_per_bin(self) -> np.ndarray:
        """Time-average level within each bin."""
        start = self.initial + np.concatenate(([0.0], np.cumsum(self._step)[:-1]))
        return start + np.asarray(self._area) / self.bin_h


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
