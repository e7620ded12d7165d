"""What a run gives: its tables, what was binding, charts and the report.

:mod:`.result` (the :class:`RunResult` and its tables, collected from a finished model and
written to a folder), :mod:`.days` (the reporting day every daily table counts by),
:mod:`.binding` (which constraint limited throughput each day), :mod:`.charts` (matplotlib
figures) and :mod:`.report` (one self-contained HTML file).
"""

from __future__ import annotations

from .result import RunResult, collect

__all__ = ["RunResult", "collect"]
