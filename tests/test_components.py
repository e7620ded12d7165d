"""Unit tests of the model's parts, each on its own."""

import math

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from evacsim.model.airfield import Airfield
from evacsim.model.demand import Group, Stage, plan_arrivals, step_profile
from evacsim.model.holding import Holding
from evacsim.model.ledger import Ledger
from evacsim.model.monitor import Level, Tally
from evacsim.model.staging import StagingBase
from evacsim.model.streams import BufferedDraws, Streams
from evacsim.model.wakeups import Signal
from evacsim.scenario.schema import Category


def test_level_means_and_ends_are_independent_of_change_order():
    changes = [(0.5, 10), (1.25, -4), (3.0, 2), (0.0, 1)]
    a, b = Level(4.0), Level(4.0)
    for t, d in changes:
        a.change(t, d)
    for t, d in reversed(changes):
        b.change(t, d)
    np.testing.assert_allclose(a.mean_per_bin(), b.mean_per_bin())
    np.testing.assert_allclose(a.at_bin_end(), [11, 7, 7, 9])
    # Hour 0: level 1 all hour plus 10 for half of it; hour 1: 11 for 1/4, then 7.
    np.testing.assert_allclose(a.mean_per_bin(), [6.0, 8.0, 7.0, 9.0])


def test_tally_mean_is_exact_and_quantiles_within_a_bin():
    t = Tally(max_h=10, bin_h=0.01)
    values = np.linspace(0, 5, 1001)
    for v in values:
        t.add(v, weight=2)
    assert t.n == 2002
    assert t.mean == pytest.approx(values.mean())
    assert abs(t.quantile(0.5) - np.median(values)) <= 0.01
    assert abs(t.quantile(0.9) - np.quantile(values, 0.9)) <= 0.01


def test_streams_are_named_not_ordered():
    a = Streams(42)
    b = Streams(42)
    b["something_else"].random(5)  # another source drawing first changes nothing
    assert a["arrivals/x"].random() == b["arrivals/x"].random()
    assert Streams(42)["x"].random() != Streams(43)["x"].random()
    assert Streams(42)["x"].random() != Streams(42)["y"].random()


def test_buffered_draws_equal_a_block_draw():
    rng = np.random.default_rng(1)
    draws = BufferedDraws(np.random.default_rng(1), lambda r, n: r.exponential(2.0, n), block=8)
    expected = np.concatenate([rng.exponential(2.0, 8), rng.exponential(2.0, 8)])
    got = [draws.next() for _ in range(16)]
    np.testing.assert_allclose(got, expected)


def test_step_profile_holds_each_value_until_the_next_key():
    import datetime as dt

    start = dt.datetime(2021, 8, 14)
    times, values = step_profile(
        {dt.datetime(2021, 8, 15): 5, dt.datetime(2021, 8, 16, 12): 7}, start, 96.0
    )
    assert list(times) == [0.0, 24.0, 60.0]
    assert values == [0.0, 5, 7]
    times, values = step_profile(3.0, start, 96.0)
    assert list(times) == [0.0] and values == [3.0]


def _category(**kw):
    base = {"pool": 1000, "arrivals_per_day": 2400, "group_size": {1: 1.0, 3: 1.0}}
    base.update(kw)
    return Category.model_validate(base)


def test_arrivals_are_capped_by_the_pool_and_sorted():
    import datetime as dt

    cats = [_category(pool=500), _category(pool=10_000)]
    plan = plan_arrivals(cats, ["a", "b"], dt.datetime(2021, 1, 1), 48.0, {}, Streams(3))
    sizes_a = plan.size[plan.category == 0]
    assert sizes_a.sum() == 500  # 2,400/day for 2 days is more than the pool
    assert np.all(np.diff(plan.time_h) >= 0)
    # The uncapped category arrives at its rate: 4,800 expected people in 48 h.
    assert abs(plan.size[plan.category == 1].sum() - 4800) < 4 * math.sqrt(4800 * 2)


def test_arrival_rate_matches_the_profile_on_average():
    import datetime as dt

    cat = _category(pool=10**9, arrivals_per_day=240, group_size={2: 1.0})
    counts = [
        len(plan_arrivals([cat], ["a"], dt.datetime(2021, 1, 1), 240.0, {}, Streams(s)))
        for s in range(30)
    ]
    # 240 people/day in pairs over 10 days: Poisson with mean 1,200 groups.
    assert abs(np.mean(counts) - 1200) < 3 * math.sqrt(1200 / 30)


def _holding(priorities, env=None):
    env = env or simpy.Environment()
    ledger = Ledger([f"c{i}" for i in range(len(priorities))], horizon_h=10.0, keep_records=False)
    holding = Holding(env, priorities=priorities, capacity=math.inf, ledger=ledger, horizon_h=10.0)
    return holding, ledger


def _waiting(holding, ledger, cat, size, t):
    g = Group(int(t * 1000) + cat, cat, size, 0.0, math.inf)
    ledger.arrive(g, 0.0)
    ledger.move(g, Stage.SCREENING, 0.0)
    g.t_screen = 0.0
    holding.put(g, t)
    return g


def test_boarding_takes_priority_first_and_keeps_groups_together():
    holding, ledger = _holding([1, 0])
    low = _waiting(holding, ledger, 0, 3, 0.1)
    high_big = _waiting(holding, ledger, 1, 4, 0.2)
    high_small = _waiting(holding, ledger, 1, 2, 0.3)
    taken = holding.board(5, [0, 1], 1.0)
    # Priority 0 (category 1) first: the 4 fits, the 2 does not fit in the last seat;
    # the priority-1 group of 3 does not fit either.
    assert taken == [high_big]
    taken = holding.board(5, [0, 1], 1.0)
    assert taken == [high_small, low]
    assert all(g.stage == Stage.ABOARD for g in (low, high_big, high_small))


def test_boarding_respects_eligibility():
    holding, ledger = _holding([0, 0])
    _waiting(holding, ledger, 0, 1, 0.1)
    g1 = _waiting(holding, ledger, 1, 1, 0.2)
    assert holding.board(10, [1], 1.0) == [g1]
    assert holding.waiting == 1


def test_runway_closure_defers_movements():
    env = simpy.Environment()
    field = Airfield(
        env, runways=1, separation_h=0.1, ramp_capacity=2, closures_h=[(1.0, 3.0)], horizon_h=10.0
    )
    done = []

    def plane():
        yield env.timeout(1.5)
        yield from field.movement()
        done.append(env.now)

    env.process(plane())
    env.run()
    assert done == [pytest.approx(3.1)]


def test_ramp_never_holds_more_than_its_capacity():
    env = simpy.Environment()
    field = Airfield(
        env, runways=1, separation_h=0.0, ramp_capacity=2, closures_h=[], horizon_h=10.0
    )
    peak = []

    def plane():
        spot = yield from field.park()
        peak.append(field.on_ground.current)
        yield env.timeout(1.0)
        field.leave(spot)

    for _ in range(5):
        env.process(plane())
    env.run()
    assert max(peak) == 2
    assert env.now == pytest.approx(3.0)


def test_full_staging_base_holds_a_flight_until_onward_flights_make_room():
    env = simpy.Environment()
    base = StagingBase(
        env,
        name="b",
        capacity=100,
        onward_per_day=240,
        flight_time_h=0.0,
        initial=100,
        horizon_h=48.0,
    )
    cleared = []

    def flight():
        yield from base.claim(50)
        cleared.append(env.now)

    env.process(flight())
    env.run(until=24)
    # 10 people an hour leave: room for 50 after 5 hours.
    assert cleared == [pytest.approx(5.0)]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(st.booleans(), st.floats(0, 100, allow_nan=False), st.floats(0, 5)),
        max_size=200,
    ),
    st.sampled_from([1.0, 0.25, 1 / 64, 3.0]),
)
def test_give_up_calendar_pops_in_the_same_order_as_one_heap(ops, width):
    import heapq

    from evacsim.model.gates import _Calendar

    cal, heap, now = _Calendar(width=width), [], 0.0
    for i, (is_push, delay, step) in enumerate(ops):
        if is_push:
            cal.push((now + delay, i))
            heapq.heappush(heap, (now + delay, i))
        else:
            now += step
            while cal.first_time() <= now:
                item = cal.pop()  # None: an hour's items were put in order
                if item is not None:
                    assert item == heapq.heappop(heap)
            assert cal.first_time() <= (heap[0][0] if heap else math.inf)
    while cal.first_time() < math.inf:  # drain: everything comes out, in order
        item = cal.pop()
        if item is not None:
            assert item == heapq.heappop(heap)
    assert not heap


def test_give_up_calendar_drops_what_no_longer_applies_when_its_hour_comes():
    from evacsim.model.gates import _Calendar

    cal = _Calendar(live=lambda items: [it for it in items if it[1] % 2 == 0])
    for i, t in enumerate([5.5, 5.1, 7.2, 5.9, 7.0]):
        cal.push((t, i))
    out = []
    while cal.first_time() < math.inf:
        item = cal.pop()
        if item is not None:
            out.append(item)
    assert out == [(5.5, 0), (7.0, 4), (7.2, 2)]  # odd gids dropped, the rest in order


def test_event_or_timeout_and_signals_wake_at_the_first_of_their_causes():
    from evacsim.model.wakeups import event_or_timeout

    env = simpy.Environment()
    room, changed = Signal(env), Signal(env)
    woke = {}

    def waiter(name, make):
        yield make()
        woke[name] = env.now

    early = env.event()
    env.process(waiter("timeout", lambda: event_or_timeout(env, env.event(), 2.0)))
    env.process(waiter("event", lambda: event_or_timeout(env, early, 5.0)))
    env.process(waiter("signal", lambda: changed.wait(4.0)))
    env.process(waiter("either", lambda: room.also_wakes(changed.wait())))
    env.process(waiter("forever", lambda: changed.wait()))

    def poke():
        yield env.timeout(1.0)
        early.succeed()  # its pending timeout at 5 h must not trigger it again
        yield env.timeout(2.0)
        room.fire()  # wakes only the waiter that also listens to room

    env.process(poke())
    env.run(until=10.0)
    assert woke == {"event": 1.0, "timeout": 2.0, "either": 3.0, "signal": 4.0}
