"""Progress bars for long runs: count, rate and ETA on a terminal, silent elsewhere.

Library functions take ``progress: bool | None``: ``True`` always shows a bar (e.g. in a
notebook), ``False`` never, ``None`` (the default) only when standard error is a terminal,
so logs, CI output and pipes stay clean.
"""

from __future__ import annotations

import sys

try:  # a widget bar in Jupyter when ipywidgets is there; a text bar otherwise (no warning)
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm
except ImportError:
    from tqdm import tqdm

__all__ = ["Progress", "progress_enabled"]


def progress_enabled(progress: bool | None) -> bool:
    """Whether to draw a bar: as asked, or when standard error is a terminal."""
    if progress is not None:
        return bool(progress)
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class Progress:
    """A bar over a known number of replications (``total`` may grow, e.g. in goal seek)."""

    def __init__(self, total: int, desc: str, progress: bool | None = None, unit: str = "rep"):
        self.enabled = progress_enabled(progress)
        self._bar = (
            tqdm(
                total=total,
                desc=desc,
                unit=unit,
                file=sys.stderr,
                dynamic_ncols=True,
                smoothing=0.1,
            )
            if self.enabled
            else None
        )
        self.count = 0
        self.failed = 0

    def update(self, n: int = 1, failed: int = 0) -> None:
        """Count ``n`` finished replications, ``failed`` of them failed."""
        self.count += n
        self.failed += failed
        if self._bar is not None:
            self._bar.update(n)
            if failed:
                self._bar.set_postfix(failed=self.failed, refresh=False)

    def describe(self, text: str) -> None:
        """Change the label (e.g. the lever value being tried)."""
        if self._bar is not None:
            self._bar.set_description(text, refresh=False)

    def add_total(self, n: int) -> None:
        if self._bar is not None:
            self._bar.total = (self._bar.total or 0) + n
            self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
