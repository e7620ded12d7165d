"""Demand: who comes to the perimeter, when, and in what groups.

Evacuees are *data*, not processes. All first arrivals of a run are drawn up front, per
category, as a non-homogeneous Poisson process of groups (piecewise-constant rate, exact by
conditioning: a Poisson count per step, uniform times within it), capped at the category's
pool. A :class:`Group` object exists only from the moment its group reaches the crowd until
it leaves the system, so memory follows the number of people present, not the number served.
"""

from __future__ import annotations

import bisect
import dataclasses
import enum

import numpy as np

from evacsim.scenario.schema import Category
from evacsim.scenario.units import hours_between

from .daily import DailyHours, clock_offset_h

__all__ = [
    "ArrivalPlan",
    "Group",
    "Stage",
    "category_arrivals",
    "category_set",
    "passing_share",
    "plan_arrivals",
    "priority_levels",
    "step_profile",
]


class Stage(enum.IntEnum):
    """Where a group is. Every arrived person is in exactly one of these at any time."""

    OUTSIDE = 0  # in the crowd at the perimeter (or passing a gate)
    SCREENING = 1  # inside, queueing for or in consular screening
    INSIDE = 2  # screened, waiting for a seat
    ABOARD = 3  # boarded an aircraft that has not yet left
    EVACUATED = 4  # aircraft departed
    TURNED_AWAY = 5  # refused at screening
    AWAY = 6  # gave up or was dispersed; may come back


# The same stages as plain ints, for the hot paths (an IntEnum attribute lookup is slow).
OUTSIDE, SCREENING, INSIDE, ABOARD, EVACUATED, TURNED_AWAY, AWAY = range(7)


_NAN = float("nan")  # not reached yet


class Group:
    """A family or party that moves together. Times in hours since the scenario start."""

    __slots__ = (
        "cat",
        "deadline",
        "flight",
        "gid",
        "refused",
        "returns",
        "service_h",
        "size",
        "stage",
        "t_arrive",
        "t_board",
        "t_depart",
        "t_gate",
        "t_queue",
        "t_screen",
        "t_screened",
        "visit",
    )

    def __init__(
        self,
        gid: int,
        cat: int,
        size: int,
        t_arrive: float,
        deadline: float,
        service_h: float = 0.0,
        refused: bool = False,
    ):
        self.gid = gid
        self.cat = cat
        self.size = size
        self.t_arrive = t_arrive  # first arrival at the perimeter
        self.t_queue = t_arrive  # latest (re)joining of the crowd
        self.deadline = deadline  # gives up at this time if still outside
        self.service_h = service_h  # screening time it will need
        self.refused = refused  # screening will turn it away
        self.visit = 0  # how many times it has (re)joined the crowd, for stale give-ups
        self.returns = 0
        self.stage = OUTSIDE
        self.t_gate = self.t_screen = self.t_screened = self.t_board = self.t_depart = _NAN
        self.flight = -1


def category_set(categories: list[str], admits) -> frozenset[int] | None:
    """Indices in ``categories`` of the names in ``admits`` (None for "all": no restriction)."""
    if admits == "all":
        return None
    return frozenset(categories.index(c) for c in admits)


def priority_levels(priorities: list[int], categories) -> list[list[int]]:
    """``categories`` (indices) grouped by their priority, best (lowest) first, each group in
    the order given; a level with none of them is left out."""
    levels: dict[int, list[int]] = {}
    for c in categories:
        levels.setdefault(priorities[c], []).append(c)
    return [levels[p] for p in sorted(levels)]


def step_profile(
    value: float | dict, start, horizon_h: float, *, default: float = 0.0
) -> tuple[np.ndarray, list]:
    """Breakpoints (h) and values of a step profile over ``[0, horizon_h)``.

    A constant holds over the whole run. A mapping ``{time: value}`` holds each value from its
    time until the next key; before the first key the value is ``default``.
    """
    if not isinstance(value, dict):
        return np.array([0.0]), [value]
    items = sorted((hours_between(start, when), v) for when, v in value.items())
    times = [0.0]
    values = [default]
    for t, v in items:
        t = min(max(t, 0.0), horizon_h)
        if t == times[-1]:
            values[-1] = v
        else:
            times.append(t)
            values.append(v)
    return np.array(times), values


@dataclasses.dataclass(frozen=True)
class ArrivalPlan:
    """First arrivals of every category, merged in time order (hours since start)."""

    time_h: np.ndarray
    category: np.ndarray  # index into the scenario's category order
    size: np.ndarray
    patience_h: np.ndarray  # inf where the category waits forever
    service_h: np.ndarray  # screening time the group will need (h)
    refused: np.ndarray  # True where screening will turn the group away

    def __len__(self) -> int:
        return len(self.time_h)


def category_arrivals(
    cat: Category, start, horizon_h: float, stop_h: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (h) and sizes of one category's groups, capped at its pool."""
    times, rates = step_profile(cat.arrivals_per_day, start, horizon_h)
    ends = np.append(times[1:], horizon_h)
    sizes_support = np.array(list(cat.group_size), dtype=np.int64)
    weights = np.array(list(cat.group_size.values()), dtype=float)
    weights = weights / weights.sum()
    mean_size = float((sizes_support * weights).sum())
    # Arrival hours: the day's arrivals are drawn over the whole day, then squeezed into the
    # window (a time change), so the stop applies to the squeezed times.
    window = None
    if cat.arrival_hours is not None:
        window = DailyHours(*cat.arrival_hours, clock_offset_h(start))
    draw_until = horizon_h if window is not None else stop_h
    chunks_t = []
    for t0, t1, rate in zip(times, ends, rates, strict=True):
        t1 = min(t1, draw_until)
        if t1 <= t0 or rate <= 0:
            continue
        expected_groups = float(rate) / 24.0 * (t1 - t0) / mean_size
        n = rng.poisson(expected_groups)
        chunks_t.append(np.sort(rng.uniform(t0, t1, n)))
    t = np.concatenate(chunks_t) if chunks_t else np.empty(0)
    size = rng.choice(sizes_support, size=len(t), p=weights)
    if window is not None:
        t = window.squeeze(t)
        keep = t < min(stop_h, horizon_h)
        t, size = t[keep], size[keep]
    # The pool caps arrivals: keep groups until it is used up; the last one takes what is left.
    cum = np.cumsum(size)
    keep = int(np.searchsorted(cum, cat.pool, side="left")) + 1
    t, size = t[:keep], size[:keep].copy()
    if len(size) and cum[len(size) - 1] > cat.pool:
        size[-1] -= cum[len(size) - 1] - cat.pool
        if size[-1] <= 0:
            t, size = t[:-1], size[:-1]
    return t, size


def passing_share(profile: tuple[list[float], list[float]], t: float) -> float:
    """The share getting through checkpoints at ``t`` (h) on a step profile (1 before it)."""
    times, shares = profile
    i = bisect.bisect_right(times, t) - 1
    return shares[i] if i >= 0 else 1.0


def _through_checkpoints(
    t: np.ndarray, size: np.ndarray, profile: tuple[list[float], list[float]], rng
) -> tuple[np.ndarray, np.ndarray]:
    """Keep each group with the share passing at its arrival time (independent thinning)."""
    times, shares = profile
    index = np.searchsorted(np.asarray(times), t, side="right") - 1
    share = np.where(index >= 0, np.asarray(shares + [1.0])[index], 1.0)
    keep = rng.random(len(t)) < share
    return t[keep], size[keep]


def plan_arrivals(
    categories: list[Category],
    names: list[str],
    start,
    horizon_h: float,
    stop_h: dict[str, float],
    streams,
    screening: tuple | None = None,
    checkpoints: dict[str, tuple[list[float], list[float]]] | None = None,
) -> ArrivalPlan:
    """Draw every category's first arrivals and merge them in time order.

    ``stop_h`` gives, per category, the time from which nobody of it can reach the perimeter
    (an ``arrivals_stopped`` event). Each category draws from its own named streams, and
    each group's screening time (``screening`` = (distribution, hours per person)) and
    whether it will be refused are drawn with it: the same group gets the same screening in
    every scenario compared on the same seed (common random numbers).

    ``checkpoints`` gives, per category, a step profile (times h, share passing) of the share
    of its people who get through checkpoints on the way (``arrivals_stopped`` with
    ``passing``): each group drawn is kept with that share at its arrival time, drawn from
    its own stream, so the arrivals themselves stay the same (common random numbers). Those
    stopped never reach the perimeter.
    """
    parts: dict[str, list[np.ndarray]] = {k: [] for k in ("t", "c", "s", "p", "v", "r")}
    for index, (name, cat) in enumerate(zip(names, categories, strict=True)):
        t, size = category_arrivals(
            cat, start, horizon_h, stop_h.get(name, horizon_h), streams[f"arrivals/{name}"]
        )
        if checkpoints and name in checkpoints:
            rng = streams[f"checkpoints/{name}"]
            t, size = _through_checkpoints(t, size, checkpoints[name], rng)
        n = len(t)
        if cat.patience is None:
            patience = np.full(n, np.inf)
        else:
            patience = cat.patience.draw(streams[f"patience/{name}"], n)
        if screening is None:
            service = np.zeros(n)
        else:
            dist, per_person_h = screening
            service = dist.draw(streams[f"screening/{name}"], n) + per_person_h * size
        refused = streams[f"turned_away/{name}"].random(n) < cat.turned_away
        for key, value in zip(
            "tcspvr",
            (
                t,
                np.full(n, index, dtype=np.int64),
                size.astype(np.int64),
                patience,
                service,
                refused,
            ),
            strict=True,
        ):
            parts[key].append(value)
    joined = {k: np.concatenate(v) if v else np.empty(0) for k, v in parts.items()}
    order = np.argsort(joined["t"], kind="stable")
    return ArrivalPlan(
        time_h=joined["t"][order],
        category=joined["c"][order].astype(np.int64),
        size=joined["s"][order].astype(np.int64),
        patience_h=joined["p"][order],
        service_h=joined["v"][order],
        refused=joined["r"][order].astype(bool),
    )
