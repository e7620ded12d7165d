"""Consular screening: lanes that check each group and send it on, or turn it away.

Groups that passed a gate queue here by category priority, first come first served within a
category. Lane ``i`` works while ``i`` is below the number of lanes manned (scheduled lanes,
limited by troops on duty; see :mod:`evacsim.model.forces`) and screening is not paused.

Every group's screening time is drawn when it arrives (:mod:`evacsim.model.demand`), so the lanes
are data, not processes: one dispatcher process gives the head of the queue to the lane free
first, at the time that lane frees up (or the group reaches the queue, if later), and books
when it will be done. It commits every start due within the next ``screening.batch`` hours at
once, so a group that arrives later, even of a better priority, waits at most ``batch`` hours
longer than it would group by group; and it hands on the groups screened to wait for a seat
at most ``batch`` hours after each is done, at their exact times. Those turned away free
their room inside as they are done: a gate checking or waiting for room sees it then. With
``batch: 0`` every start and hand-on happens at its own time (an exact M/M/c queue with
priorities). Either way the SimPy events are per batch, not per group.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import numpy as np
import simpy

from .demand import SCREENING, TURNED_AWAY, Group
from .holding import Room
from .ledger import Ledger
from .monitor import Level
from .wakeups import event_or_timeout

__all__ = ["Screening"]


class Screening:
    """The screening queue, its lanes and the process that dispatches groups to them."""

    FOLD_AT = 1 << 13  # service spans buffered before they are binned into ``busy``

    def __init__(
        self,
        env: simpy.Environment,
        *,
        max_lanes: int,
        priorities: list[int],
        ledger: Ledger,
        to_holding,
        room: Room,
        horizon_h: float,
        batch_h: float = 0.0,
    ):
        self.env = env
        self.ledger = ledger
        self.to_holding = to_holding  # callable(group, t)
        self.room = room  # the holding area's: those turned away give theirs back
        self.queues: list[deque[Group]] = [deque() for _ in priorities]
        self.order = sorted(range(len(priorities)), key=lambda c: priorities[c])
        self.queued = 0  # groups waiting for a lane
        self.manned = 0  # lanes that may start work: lanes 0 .. manned-1
        self.paused_until_h = -math.inf
        self.max_lanes = max_lanes
        self.free_at = [0.0] * max_lanes  # per lane: when its committed work is done
        self._lanes: list[tuple[float, int]] = []  # heap (free_at, lane) of the manned lanes
        # (done, gid, group) of those being or just screened, unordered: they are handed on
        # in batches, sorted then (cheaper than a heap, whose cost grows with the lanes).
        self._screened: list[tuple[float, int, Group]] = []
        self._first_done = math.inf  # the earliest done in _screened
        self._refused: list[tuple[float, int, Group]] = []  # the same, of those turned away
        self._busy = Level(horizon_h)  # lanes serving (read as ``busy``)
        self._busy_spans: list[tuple[float, float]] = []  # (start, done), not yet in _busy
        self.manned_level = Level(horizon_h)  # lanes manned
        # Lanes open: manned, or no longer manned but finishing the work they took on (the
        # capacity that busy lanes are measured against: every busy lane is open).
        self.open_level = Level(horizon_h)
        self._finishing: dict[int, float] = {}  # lane no longer manned -> when its work ends
        self.batch_h = batch_h
        self.horizon_h = horizon_h
        self._wake_at = math.inf  # when the dispatcher is due to look again
        self._poke: simpy.Event | None = None  # wakes the dispatcher before then
        self.process = env.process(self._dispatch())

    # -- arrivals and changes from outside -----------------------------------------------------

    def put(self, group: Group, t: float) -> None:
        """A group enters screening (from a gate)."""
        self.ledger.move(group, SCREENING, t)
        self.queues[group.cat].append(group)
        self.queued += 1
        self._queue_or_lanes_changed()

    def put_batch(self, groups: list[Group]) -> None:
        """Groups that a gate booked into screening, each from the end of its passage
        (``t_gate``, now or within the gate's batch), join the queue in that order."""
        queues = self.queues
        for group in groups:
            queues[group.cat].append(group)
        self.queued += len(groups)
        self._queue_or_lanes_changed()

    def set_manned(self, lanes: int, t: float) -> None:
        """Forces or the lane schedule changed the number of lanes that can start work.

        A lane no longer manned finishes the group it has; a newly manned lane is free from
        now (or when it finishes what it had).
        """
        was, self.manned = self.manned, (lanes := min(lanes, self.max_lanes))
        self.manned_level.set(t, lanes)
        self.open_level.set(t, lanes)
        finishing, free_at = self._finishing, self.free_at
        for lane in [k for k in finishing if k < lanes or finishing[k] <= t]:
            if finishing.pop(lane) > t:  # manned again before it was done: open once
                self.open_level.interval(t, free_at[lane], -1)
        for lane in range(lanes, was):
            if free_at[lane] > t:  # unmanned with work to finish: open until it is done
                finishing[lane] = free_at[lane]
                self.open_level.interval(t, free_at[lane], 1)
        self._lanes = [(self.free_at[i], i) for i in range(lanes)]
        heapq.heapify(self._lanes)
        self._queue_or_lanes_changed()

    def pause(self, until_h: float) -> None:
        """No screening starts before ``until_h`` (groups being screened finish)."""
        self.paused_until_h = max(self.paused_until_h, until_h)

    def _queue_or_lanes_changed(self) -> None:
        """Start at once what a lane can take now, and see that the dispatcher looks again in
        time to hand it on (waking it only if it would look too late)."""
        if self._poke is None or self._poke.triggered:
            return  # the dispatcher has not started yet, or is about to look anyway
        now = self.env.now
        self._start(now)
        if self._next_look(now) < self._wake_at:
            self._poke.succeed()

    # -- the dispatcher -----------------------------------------------------------------------

    def _dispatch(self):
        env = self.env
        while True:
            now = env.now
            self._hand_on(now)
            self._start(now)
            wake = self._next_look(now)
            self._wake_at = wake
            self._poke = env.event()
            yield event_or_timeout(env, self._poke, wake - now)

    def _head(self) -> Group:
        """The next group to screen: best priority, then first come (call only if queued)."""
        for c in self.order:
            if self.queues[c]:
                return self.queues[c][0]
        raise AssertionError("no group queued")  # pragma: no cover - callers check queued

    def _start(self, now: float) -> None:
        """Give queued groups to lanes, for every start due by ``now + batch``.

        A group starts when a lane is free and it has reached the queue (a gate hands on a
        batch as it starts, each group reaching screening at the end of its own passage).
        """
        lanes, screened, refused, queues = self._lanes, self._screened, self._refused, self.queues
        limit = min(now + self.batch_h, math.nextafter(self.horizon_h, -math.inf))
        floor = max(now, self.paused_until_h)
        free_at, busy_spans = self.free_at, self._busy_spans
        order = self.order
        while self.queued and lanes:
            free, lane = lanes[0]
            for c in order:  # the head of the queue, as _head
                if queues[c]:
                    group = queues[c][0]
                    break
            start = free if free > floor else floor
            if group.t_gate > start:
                start = group.t_gate
            if start > limit:
                break
            queues[c].popleft()
            self.queued -= 1
            group.t_screen = start
            done = start + group.service_h
            free_at[lane] = done
            heapq.heapreplace(lanes, (done, lane))
            if group.refused:
                heapq.heappush(refused, (done, group.gid, group))
            else:
                screened.append((done, group.gid, group))
                if done < self._first_done:
                    self._first_done = done
            busy_spans.append((start, done))
        if len(busy_spans) >= self.FOLD_AT:
            self._fold_busy_spans()

    def _next_look(self, now: float) -> float:
        """When the dispatcher must look again: a group is done, or one could start (and,
        when batching, no sooner than one batch from now)."""
        t = min(self._first_done, self.next_turned_away_h())
        if self.queued and self._lanes:
            t = min(t, max(self._lanes[0][0], self.paused_until_h, self._head().t_gate))
        if t >= self.horizon_h:
            return math.inf  # nothing more before the deadline
        later = now + self.batch_h
        # The last batch before the deadline is cut short so that what is done is handed on.
        return later if t < later < self.horizon_h else t

    def _hand_on(self, now: float) -> None:
        """Send on, in the order they were done, the groups screened by ``now``."""
        self.turn_away(now)
        if self._first_done > now:
            return
        done = [item for item in self._screened if item[0] <= now]
        self._screened = rest = [item for item in self._screened if item[0] > now]
        self._first_done = min(rest)[0] if rest else math.inf
        done.sort()
        for t, _, group in done:
            self.to_holding(group, t)

    def turn_away(self, now: float) -> None:
        """Turn away, at the times they were done, those screened by ``now`` and refused.

        Their room inside is free from then: a gate checking for room calls this first, and
        a gate waiting for room also waits for :meth:`next_turned_away_h`, so the room comes
        back at its exact time, not a batch later.
        """
        refused = self._refused
        while refused and refused[0][0] <= now:
            done, _, group = heapq.heappop(refused)
            self.ledger.move(group, TURNED_AWAY, done)
            self.room.release(group.size)
            self.room.freed.fire()

    def next_turned_away_h(self) -> float:
        """When the next group to be turned away is done (inf if none is being screened)."""
        return self._refused[0][0] if self._refused else math.inf

    @property
    def busy(self) -> Level:
        """Lanes serving, over time."""
        self._fold_busy_spans()
        return self._busy

    def _fold_busy_spans(self) -> None:
        """Bin the buffered service spans into the busy level (bounded memory)."""
        if self._busy_spans:
            spans = np.array(self._busy_spans, dtype=float)
            self._busy_spans.clear()
            self._busy.intervals(spans[:, 0], spans[:, 1], 1)

    def present(self) -> list[Group]:
        """Groups queueing for, in, or just done with screening (not yet handed on)."""
        done = [g for _, _, g in self._screened] + [g for _, _, g in self._refused]
        return [g for q in self.queues for g in q] + done
