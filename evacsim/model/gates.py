"""The crowd outside the perimeter and the gates that let people in.

The :class:`Crowd` holds everyone waiting outside, in one first-come queue per category.
People reach it from the arrival plan, or come back after giving up. A group whose patience
runs out leaves the crowd at that moment; the crowd learns of it lazily, whenever it is next
looked at, by replaying the arrival, give-up and return times in time order (exact for the
statistics, which take changes in any order; see :mod:`evacsim.model.monitor`).

Each :class:`Gate` is one SimPy process that admits groups one after another at its
throughput, while it is open, manned and not paused, and while the holding area has room
(back-pressure). It works in waves of up to ``batch`` hours, one SimPy event each (see
:meth:`Gate._admit_batch`); ``batch: 0`` admits group by group, exactly.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

import simpy

from evacsim.scenario.schema import Gate as GateSpec

from .daily import EPS_H, DailyHours
from .demand import (
    AWAY,
    OUTSIDE,
    SCREENING,
    ArrivalPlan,
    Group,
    passing_share,
    priority_levels,
)
from .holding import Room
from .ledger import Ledger
from .monitor import Level
from .screening import Screening
from .streams import BufferedDraws
from .wakeups import Signal

__all__ = ["Crowd", "Gate"]


class _Calendar:
    """Pending give-ups in time buckets: O(1) to add, heap-ordered within the current bucket.

    One heap over every group outside would cost log(crowd) per operation and keep the
    entries of groups long gone through a gate. Here a bucket's items (``width`` hours of
    them) wait unordered until the clock reaches the bucket; then ``live`` (a function of the
    bucket's item list) drops those that no longer apply, in one pass, and the rest are
    ordered in a heap. Items are ``(time, gid, ...)`` tuples and come out in the same order
    as the live ones would from one heap, whatever the width; a width that holds about the
    same number of items however large the scenario keeps the cost per item flat.
    """

    __slots__ = ("_bucket", "_heap", "_keys", "_later", "_live", "_per_h")

    def __init__(self, live=None, width: float = 1.0):
        self._per_h = 1.0 / width
        self._bucket = -1  # the bucket the current heap holds (and any earlier)
        self._heap: list[tuple] = []
        self._later: dict[int, list[tuple]] = {}  # bucket -> items, unordered
        self._keys: list[int] = []  # heap of the buckets in _later
        self._live = live

    def push(self, item: tuple) -> None:
        b = int(item[0] * self._per_h)
        if b <= self._bucket:
            heapq.heappush(self._heap, item)
            return
        bucket = self._later.get(b)
        if bucket is None:
            self._later[b] = [item]
            heapq.heappush(self._keys, b)
        else:
            bucket.append(item)

    def first_time(self) -> float:
        """Time of the earliest item, or the start of the next bucket not yet ordered (inf if
        none): no item comes earlier."""
        if self._heap:
            return self._heap[0][0]
        return self._keys[0] / self._per_h if self._keys else math.inf

    def pop(self) -> tuple | None:
        """Remove and return the earliest item; or, if the next bucket is not yet ordered, order
        it and return None (ask :meth:`first_time` again). Call only once the clock has
        reached :meth:`first_time`."""
        if self._heap:
            return heapq.heappop(self._heap)
        self._bucket = heapq.heappop(self._keys)
        items = self._later.pop(self._bucket)
        if self._live is not None:
            items = self._live(items)
        heapq.heapify(items)
        self._heap = items
        return None


def _pending_give_ups(items: list[tuple]) -> list[tuple]:
    """The give-ups ``(time, gid, group, visit)`` of groups still in the crowd on that visit."""
    return [it for it in items if it[2].visit == it[3] and it[2].stage == OUTSIDE]


class Crowd:
    """Everyone outside the perimeter, queued first-come within each category."""

    def __init__(
        self,
        plan: ArrivalPlan,
        *,
        priorities: list[int],
        ledger: Ledger,
        horizon_h: float,
        return_probability: list[float],
        return_delay: list[BufferedDraws],
        patience: list[BufferedDraws | None],
        stop_h: list[float],
        uniform: BufferedDraws,
        checkpoints: list[tuple[list[float], list[float]] | None] | None = None,
        checkpoint_draws: BufferedDraws | None = None,
    ):
        self.plan_t = plan.time_h.tolist()
        self.plan_c = plan.category.tolist()
        self.plan_s = plan.size.tolist()
        self.plan_p = plan.patience_h.tolist()
        self.plan_v = plan.service_h.tolist()
        self.plan_r = plan.refused.tolist()
        self._next = 0  # index of the next first arrival in the plan
        self.ledger = ledger
        self.horizon_h = horizon_h
        self.queues: list[deque[tuple[int, Group]]] = [deque() for _ in priorities]
        # Category indices grouped by priority level, best first.
        self.priorities = priorities
        self._levels_of: dict[frozenset[int] | None, list[list[int]]] = {}
        # About 100 groups arrive per bucket of give-ups, whatever the scenario's size.
        per_h = len(self.plan_t) / max(horizon_h, 1e-9)
        width = min(1.0, max(1.0 / 64, 100.0 / max(per_h, 1e-9)))
        self._give_ups = _Calendar(_pending_give_ups, width)  # (time, gid, group, visit)
        self._returns: list[tuple[float, int, Group]] = []  # (time, gid, group)
        self._return_probability = return_probability
        self._return_delay = return_delay
        self._patience = patience
        self._stop_h = stop_h  # from this time on, nobody of the category reaches the gates
        self._uniform = uniform
        # Per category, the share getting through checkpoints over time (None: no checkpoints).
        self._checkpoints = checkpoints or [None] * len(priorities)
        self._checkpoint_draws = checkpoint_draws

    # -- keeping the crowd up to date --------------------------------------------------------

    def next_arrival_h(self) -> float:
        """Time of the next first arrival or return (inf if none)."""
        t = self.plan_t[self._next] if self._next < len(self.plan_t) else math.inf
        if self._returns and self._returns[0][0] < t:
            t = self._returns[0][0]
        return t

    def advance(self, now: float) -> None:
        """Replay arrivals, give-ups and returns up to ``now``, in time order.

        First arrivals come in runs (up to the next return or give-up, whichever is first),
        handled in a tight loop: this is where every group of the run is born.
        """
        plan_t, give_ups, returns = self.plan_t, self._give_ups, self._returns
        n_plan = len(plan_t)
        while True:
            tr = returns[0][0] if returns else math.inf
            tg = give_ups.first_time()
            bound = now
            if tr < bound:
                bound = tr
            if tg < bound:
                bound = tg
            i = self._next
            if i < n_plan and plan_t[i] <= bound:
                self._next = self._arrive_until(i, bound)
                continue
            if tr <= tg:
                if tr > now:
                    return
                _, _, group = heapq.heappop(returns)
                self._rejoin(group, tr)
            else:
                if tg > now:
                    return
                item = give_ups.pop()
                if item is None:  # a bucket of give-ups was just put in order
                    continue
                _, _, group, visit = item
                if group.stage == OUTSIDE and group.visit == visit:
                    self._leave(group, tg, may_return=True)

    def _arrive_until(self, i: int, bound: float) -> int:
        """First arrivals from plan index ``i`` up to time ``bound``; returns the next index."""
        plan_t, plan_c, plan_s, plan_p = self.plan_t, self.plan_c, self.plan_s, self.plan_p
        plan_v, plan_r = self.plan_v, self.plan_r
        queues, push_give_up, arrive = self.queues, self._give_ups.push, self.ledger.arrive
        horizon, n_plan = self.horizon_h, len(plan_t)
        while i < n_plan:
            t = plan_t[i]
            if t > bound:
                break
            group = Group(i, plan_c[i], plan_s[i], t, t + plan_p[i], plan_v[i], plan_r[i])
            arrive(group, t)
            queues[group.cat].append((0, group))
            if group.deadline < horizon:
                push_give_up((group.deadline, i, group, 0))
                # A give-up inside this run must be replayed before later arrivals.
                if group.deadline < bound:
                    bound = group.deadline
            i += 1
        return i

    def arrive_now(self, group: Group, t: float) -> None:
        """A group not in the plan (brought by a convoy) reaches the perimeter at ``t``."""
        self.ledger.arrive(group, t)
        self._join(group)

    def _join(self, group: Group) -> None:
        self.queues[group.cat].append((group.visit, group))
        if group.deadline < self.horizon_h:
            self._give_ups.push((group.deadline, group.gid, group, group.visit))

    def _rejoin(self, group: Group, t: float) -> None:
        group.visit += 1
        group.t_queue = t
        draws = self._patience[group.cat]
        group.deadline = t + draws.next() if draws is not None else math.inf
        self.ledger.move(group, OUTSIDE, t)
        self._join(group)

    def _leave(self, group: Group, t: float, may_return: bool) -> None:
        """``group`` walks away from the crowd at ``t`` (it stays in its deque until popped)."""
        self.ledger.move(group, AWAY, t)
        c = group.cat
        if may_return and self._uniform.next() < self._return_probability[c]:
            t_back = t + self._return_delay[c].next()
            if t_back < min(self.horizon_h, self._stop_h[c]) and self._passes(c, t_back):
                heapq.heappush(self._returns, (t_back, group.gid, group))

    def _passes(self, c: int, t: float) -> bool:
        """Whether a group of category ``c`` coming back at ``t`` gets through checkpoints."""
        profile = self._checkpoints[c]
        if profile is None or t < profile[0][0]:
            return True
        return self._checkpoint_draws.next() < passing_share(profile, t)

    # -- what the gates do -------------------------------------------------------------------

    def head(self, admits: frozenset[int] | None) -> Group | None:
        """The group a gate admitting ``admits`` (None: all) would take next, or None."""
        queues = self.queues
        for level in self._levels_of.get(admits) or self._levels(admits):
            best = None
            for c in level:
                q = queues[c]
                # Entries of groups that left (or left and came back later) are stale.
                while q and (q[0][1].stage != OUTSIDE or q[0][1].visit != q[0][0]):
                    q.popleft()
                if q and (best is None or q[0][1].t_queue < best.t_queue):
                    best = q[0][1]
            if best is not None:
                return best
        return None

    def _levels(self, admits: frozenset[int] | None) -> list[list[int]]:
        """The categories in ``admits`` grouped by priority, best first (worked out once)."""
        levels = self._levels_of.get(admits)
        if levels is None:
            admitted = [c for c in range(len(self.queues)) if admits is None or c in admits]
            levels = self._levels_of[admits] = priority_levels(self.priorities, admitted)
        return levels

    def take(self, group: Group) -> None:
        """Remove ``group`` (the current head of its queue) for a gate to admit."""
        self.queues[group.cat].popleft()
        group.visit += 1  # its pending give-up no longer applies: it is passing the gate

    def disperse(self, t: float, share: float) -> int:
        """Scatter ``share`` of the groups outside at ``t``; return the people dispersed."""
        self.advance(t)
        scattered = 0
        for group in self.present():
            if self._uniform.next() < share:
                scattered += group.size
                self._leave(group, t, may_return=True)
        return scattered

    def present(self) -> list[Group]:
        """Groups still outside (after :meth:`advance` to the end)."""
        return [g for q in self.queues for v, g in q if g.stage == OUTSIDE and g.visit == v]


class Gate:
    """One entry point: admits groups from the crowd into screening, wave by wave (group by
    group with ``batch: 0``), claiming their room inside as they start through."""

    def __init__(
        self,
        env: simpy.Environment,
        *,
        name: str,
        spec: GateSpec,
        admits: frozenset[int] | None,
        crowd: Crowd,
        ledger: Ledger,
        room: Room,
        screening: Screening,
        horizon_h: float,
        open_from_h: float = 0.0,
        closed_from_h: float = math.inf,
        daily_hours: DailyHours | None = None,
    ):
        self.env = env
        self.name = name
        self.spec = spec
        self.admits = admits  # category indices it lets through (None: all)
        self.crowd = crowd
        self.ledger = ledger
        self.room = room  # the holding area's: claimed for each group let through
        self.screening = screening  # where groups go next; frees room as it turns people away
        self.wake = Signal(env)  # fired when this gate's state changes (see below)
        rate = spec.throughput_per_h
        self.hours_per_person = 0.0 if rate is None else 1.0 / rate
        self.open_from_h = open_from_h
        # Closed over [closed_from_h, closed_until_h); a permanent closure never lifts.
        self.closed_from_h = closed_from_h
        self.closed_until_h = math.inf
        self.manned = spec.min_troops == 0
        self.paused_until_h = -math.inf
        self.busy = Level(horizon_h)
        self.available = Level(horizon_h)  # 1 while open and manned (time the gate could work)
        self.blocked_full = Level(horizon_h)  # 1 while it has people to admit but no room
        self.passing: Group | None = None  # the group walking through right now
        self.free_from_h = -math.inf  # the end of the batch it is passing
        self.wave_h = -math.inf  # when its last wave (batch) began
        self.batch_h = spec.batch
        self.daily_hours = daily_hours  # opening hours by the clock (None: round the clock)
        self.horizon_h = horizon_h
        self.process = env.process(self._serve())

    # -- state changes from the timeline and forces ---------------------------------------

    def close(self, t: float, until_h: float) -> None:
        self.closed_from_h, self.closed_until_h = t, until_h
        self.wake.fire()

    def set_policy(self, admits: frozenset[int] | None) -> None:
        self.admits = admits
        self.wake.fire()

    def pause(self, until_h: float) -> None:
        self.paused_until_h = max(self.paused_until_h, until_h)
        self.wake.fire()

    # -- the gate's own process -----------------------------------------------------------------

    def _reopens_at(self, now: float) -> float:
        """``now`` if the gate may work now, else the earliest time it might (inf: never)."""
        t = now
        if t < self.open_from_h:
            t = self.open_from_h
        # Passage times accumulate in floating point (6 + 600 x 0.02 h is a hair below 18 h):
        # a time within EPS_H of a closing time counts as closed.
        if self.closed_from_h - EPS_H <= t < self.closed_until_h:
            t = self.closed_until_h
        if t < self.paused_until_h:
            t = self.paused_until_h
        if self.daily_hours is not None:
            t = self.daily_hours.next_open(t)
        return t

    def _shut_at(self, now: float) -> float:
        """When the current open spell ends (daily close or a later closure)."""
        end = math.inf
        if self.closed_from_h > now:
            end = self.closed_from_h
        if self.daily_hours is not None:
            end = min(end, self.daily_hours.shut_at(now))
        return end

    def _serve(self):
        env, crowd = self.env, self.crowd
        while True:
            now = env.now
            if now < self.free_from_h:  # woken while still passing a batch
                yield env.timeout(self.free_from_h - now)
                continue
            reopen = self._reopens_at(now) if self.manned else math.inf
            if reopen > now:
                self.available.set(now, 0)
                yield self.wake.wait(reopen - now)  # inf: until the gate's state changes
                continue
            self.available.set(now, 1)
            crowd.advance(now)
            group = crowd.head(self.admits)
            if group is None:  # nobody to admit: the next wave when someone comes
                wait_h = min(self._next_wave_h(crowd.next_arrival_h()), self._shut_at(now)) - now
                yield self.wake.wait(max(wait_h, 0.0))  # inf: until the gate's state changes
                continue
            self.screening.turn_away(now)  # room freed by those turned away by now
            if not self.room.fits(group.size):
                self.blocked_full.set(now, 1)
                next_room_h = self.screening.next_turned_away_h()
                yield self.room.freed.also_wakes(self.wake.wait(next_room_h - now))
                self.blocked_full.set(env.now, 0)
                continue
            passage_h = group.size * self.hours_per_person
            if passage_h == 0:
                crowd.take(group)
                self.room.claim(group.size)
                self.screening.put(group, now)
            elif self.batch_h > 0 and now + passage_h <= self.horizon_h:
                free_h = self._admit_batch(group, now)
                if crowd.head(self.admits) is None:
                    # Nobody else is waiting: sleep until the gate is free and someone comes.
                    self.free_from_h = free_h
                    next_h = min(self._next_wave_h(crowd.next_arrival_h()), self._shut_at(now))
                    wait_h = max(free_h, next_h) - now
                    yield self.wake.wait(wait_h)
                else:
                    yield env.timeout(free_h - now)
            else:
                yield from self._admit_one(group, now, passage_h)

    def _next_wave_h(self, arrival_h: float) -> float:
        """When a gate with nobody waiting opens its next wave: when someone comes, but no
        sooner than one batch after its last wave began (at once when batching is off)."""
        return max(arrival_h, self.wave_h + self.batch_h)

    def _admit_one(self, group: Group, now: float, passage_h: float):
        """Walk one group through (exact; used when batching is off or near the deadline)."""
        self.crowd.take(group)
        # Room is claimed at the start of the passage so gates cannot overfill the inside.
        self.room.claim(group.size)
        self.passing = group
        self.busy.interval(now, now + passage_h, 1)
        yield self.env.timeout(passage_h)
        self.passing = None
        self.screening.put(group, self.env.now)

    def _admit_batch(self, group: Group, now: float) -> float:
        """Admit a wave: up to ``batch`` hours of back-to-back passages; return their end.

        The wave takes, in order, the groups waiting when it starts; each passes at its exact
        time and reaches screening as its passage ends (``t_gate``). The next wave starts
        when this one is done, or, if nobody was waiting, when someone comes but no sooner
        than ``batch`` hours after this one began: a later or higher-priority arrival, a
        closure or a pause waits at most ``batch`` hours longer than group by group.
        """
        crowd, ledger, room = self.crowd, self.ledger, self.room
        self.wave_h = now
        limit = min(now + self.batch_h, self._shut_at(now), self.horizon_h)
        t = now
        batch = []
        while group is not None:
            end = t + group.size * self.hours_per_person
            if batch and end > limit:
                break
            if not room.fits(group.size):
                break
            crowd.take(group)
            room.claim(group.size)  # at once, for the whole passage
            ledger.move(group, SCREENING, end)
            batch.append(group)
            t = end
            group = crowd.head(self.admits)
        self.busy.interval(now, t, 1)
        self.screening.put_batch(batch)
        return t
