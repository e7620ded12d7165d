"""Seat allocation: which waiting people an operator's flights take, and in what order.

Each operator has one :class:`SeatRule`. By default it boards every category the operator
may carry (``demand.*.operators``) by the categories' global priority, first screened first
within a priority. An operator with a ``boarding`` block has its own rule instead:

1. **First pass** (at boarding, and again whenever someone eligible arrives while the aircraft
   waits to fill): the categories of its ``order``, step by step, each up to its quota
   (``floor(quota × evacuee seats)`` people per flight, and at most ``quota_seats``).
2. **Spare pass** (once, when the aircraft is ready to leave): the seats still empty go to the
   categories of ``order`` and ``spare_to``, quotas lifted, by ``spare_seats``: in the boarding
   order, or to whoever was screened first; or to nobody.

Eligibility can change during the run (``eligibility`` events, applied by the timeline), so a
rule is mutable; flights read it when they board.
"""

from __future__ import annotations

import math

from evacsim.scenario.schema import Boarding

from .demand import Group, priority_levels
from .holding import Holding

__all__ = ["SeatRule"]


class SeatRule:
    """One operator's boarding rule over category indices (see the module docstring)."""

    def __init__(
        self,
        *,
        priorities: list[int],
        eligible: list[int],
        boarding: Boarding | None = None,
        index: dict[str, int] | None = None,
    ):
        self.priorities = priorities
        self.eligible = list(eligible)  # by priority, when there is no boarding order
        self.ordered = boarding is not None
        self.order: list[list[int]] = []  # boarding steps (category indices)
        self.spare_to: list[int] = []
        self.quotas: dict[int, float] = {}  # share of a flight's evacuee seats
        self.quota_seats: dict[int, int] = {}  # seats of a flight
        self.spare_rule = "order"
        if boarding is not None:
            assert index is not None
            self.order = [
                [index[c] for c in ([step] if isinstance(step, str) else step)]
                for step in boarding.order
            ]
            self.spare_to = [index[c] for c in boarding.spare_to]
            self.quotas = {index[c]: share for c, share in boarding.quotas.items()}
            self.quota_seats = {index[c]: n for c, n in boarding.quota_seats.items()}
            self.spare_rule = boarding.spare_seats
        self._refresh()

    def _refresh(self) -> None:
        """Work out the passes once per change of the rule (not once per flight)."""
        if not self.ordered:
            self.first = priority_levels(self.priorities, self.eligible)
            self.spare: list[list[int]] = []
            self.categories = frozenset(self.eligible)
            return
        self.first = [list(step) for step in self.order if step]
        in_order = [c for step in self.first for c in step]
        if self.spare_rule == "none":
            self.spare = []
        elif self.spare_rule == "first_screened":
            self.spare = [in_order + self.spare_to]
        else:
            self.spare = [*self.first, *([c] for c in self.spare_to)]
        self.categories = frozenset(in_order + (self.spare_to if self.spare else []))

    # -- boarding ---------------------------------------------------------------------------

    def quota_room(self, seats: int) -> dict[int, int] | None:
        """People each category with a quota may take on a flight of ``seats`` evacuee seats."""
        if not self.quotas and not self.quota_seats:
            return None
        room = {c: math.floor(share * seats + 1e-9) for c, share in self.quotas.items()}
        for c, n in self.quota_seats.items():
            room[c] = min(n, room.get(c, n))
        return room

    def board_first(
        self, holding: Holding, seats: int, t: float, room: dict[int, int] | None
    ) -> list[Group]:
        """First pass: the boarding order (or priorities), within the quotas left in ``room``."""
        return holding.take(seats, self.first, t, room)

    def board_spare(self, holding: Holding, seats: int, t: float) -> list[Group]:
        """Spare pass at departure: seats still empty, quotas lifted."""
        if not self.spare or seats <= 0:
            return []
        return holding.take(seats, self.spare, t)

    def wakers(self, room: dict[int, int] | None) -> frozenset[int]:
        """Categories whose arrival may fill a waiting aircraft in the first pass."""
        first = {c for step in self.first for c in step}
        if room:
            first = {c for c in first if room.get(c, 1) > 0}
        return frozenset(first)

    def may_not_board(self, holding: Holding, room: dict[int, int] | None) -> int:
        """People waiting at departure who may not take this flight's empty seats: not
        eligible, or (spare seats left empty) over their category's quota."""
        if self.spare:
            allowed = self.categories
        else:
            allowed = {c for step in self.first for c in step}
            if room:
                allowed = {c for c in allowed if room.get(c, 1) > 0}
        return holding.waiting_except(allowed)

    # -- changes during the run -------------------------------------------------------------

    def change(self, adds: list[int], removes: list[int]) -> None:
        """Eligibility changes: ``adds`` may board (as a last step of the order), ``removes``
        may not."""
        gone = set(removes)
        if not self.ordered:
            new = [c for c in adds if c not in self.eligible]
            self.eligible = [c for c in self.eligible + new if c not in gone]
            self.eligible.sort()
        else:
            present = {c for step in self.order for c in step}
            new = [c for c in dict.fromkeys(adds) if c not in present]
            self.order = [[c for c in step if c not in gone] for step in self.order]
            if new:
                self.order.append(new)
            self.spare_to = [c for c in self.spare_to if c not in gone and c not in new]
            for c in gone:
                self.quotas.pop(c, None)
                self.quota_seats.pop(c, None)
        self._refresh()
