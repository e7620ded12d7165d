"""Wake-ups between processes: a broadcast signal, and "this event or a timeout".

SimPy's ``event | env.timeout(d)`` builds a Condition, about twice the cost of the wait
itself; gates, screening and aircraft filling up wait like that between batches, thousands of
times a run. :func:`event_or_timeout` gives the same wait for an event of the waiter's own.
"""

from __future__ import annotations

import math

import simpy

__all__ = ["Signal", "event_or_timeout"]


def event_or_timeout(env: simpy.Environment, event: simpy.Event, delay: float) -> simpy.Event:
    """``event``, triggered by whoever triggers it or else after ``delay`` hours.

    For a waiting process this is ``event | env.timeout(delay)``. ``event`` must be the
    waiter's own: the timeout triggers it for everyone who waits on it.
    """
    if delay < math.inf:
        env.timeout(delay).callbacks.append(lambda _: event.triggered or event.succeed())
    return event


class Signal:
    """A broadcast wake-up: processes ``yield signal.wait()``; ``fire()`` wakes them all."""

    __slots__ = ("_env", "_waiting")

    def __init__(self, env: simpy.Environment):
        self._env = env
        self._waiting: list[simpy.Event] = []

    def wait(self, timeout: float = math.inf) -> simpy.Event:
        """An event that ``fire()`` triggers, or a ``timeout`` hours from now, if sooner."""
        event = self._env.event()
        self._waiting.append(event)
        return event_or_timeout(self._env, event, timeout)

    def also_wakes(self, event: simpy.Event) -> simpy.Event:
        """Let ``fire()`` trigger ``event`` too (an event that waits on more than one signal)."""
        self._waiting.append(event)
        return event

    def fire(self) -> None:
        waiting, self._waiting = self._waiting, []
        for event in waiting:
            if not event.triggered:
                event.succeed()
