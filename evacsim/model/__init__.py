"""The simulation model: one evacuee's path, one module per part of it.

The kernel: :mod:`.streams` (one random stream per source), :mod:`.wakeups` (what processes
wait on), :mod:`.monitor` (tallies and time-weighted levels) and :mod:`.ledger` (where every
group is, and the statistics of its journey). Then the path, in the order an evacuee
travels it: :mod:`.demand` (arrivals), :mod:`.gates` (the crowd and the gates),
:mod:`.screening`, :mod:`.holding` (waiting inside for a seat), :mod:`.flights`,
:mod:`.airfield` (runway and ramp), :mod:`.staging` (bases downstream); the capacities
behind them: :mod:`.forces` (troops) and :mod:`.timeline` (dated events). :mod:`.model`
wires them into a :class:`Model`.
"""

from __future__ import annotations

from .model import ConservationError, Model, build

__all__ = ["ConservationError", "Model", "build"]
