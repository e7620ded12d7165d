"""What the command line does to stay safe with untrusted scenarios and careless arguments.

* Output paths never come from scenario text: a default output is a *slug* of the
  scenario's name (letters, digits, ``-``, ``_``, ``.``; no folder separators, no leading
  dot) in the working folder; ``--out`` is the only way to write elsewhere.
* Terminal output is filtered: control characters (escape sequences that could retitle or
  clear the screen, bells, C1 controls, bidirectional overrides) in anything printed are
  dropped, so scenario text cannot drive the terminal.
* Arguments are checked by their type: a number outside its range is one line and exit 2.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

__all__ = [
    "CONFIDENCE",
    "FINITE",
    "MAX_REPLICATIONS",
    "POINTS",
    "PROBABILITY",
    "ROUNDS",
    "STEP",
    "REPLICATIONS",
    "SAMPLES",
    "SEED",
    "WORKERS",
    "MAX_SEED",
    "MAX_WORKERS",
    "OneLineParser",
    "SafeStream",
    "default_output",
    "finite_float",
    "float_in",
    "install_safe_streams",
    "int_in",
    "slug",
]

MAX_REPLICATIONS = 100_000
"""Most replications one command may ask for (a typo of extra zeros would run for weeks)."""
MAX_SEED = 2**63 - 1
"""Largest root seed (seeds are non-negative integers)."""
MAX_WORKERS = 256
"""Most worker processes (each holds a model in memory)."""


# ------------------------------------------------------------------------------ paths


def slug(text: str, fallback: str = "scenario", max_len: int = 64) -> str:
    """A file name made from ``text``: ASCII letters, digits, ``-``, ``_`` and ``.`` only,
    never starting with ``.`` or ``-``, at most ``max_len`` characters."""
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "-", ascii_text).strip(".-_")
    cleaned = re.sub(r"-{2,}", "-", cleaned)[:max_len].strip(".-_")
    return cleaned or fallback


def default_output(name: str, suffix: str) -> Path:
    """``<slug of name><suffix>`` in the working folder (the default of a missing --out)."""
    return Path.cwd() / f"{slug(name)}{suffix}"


# ------------------------------------------------------------------------------ terminal

# C0 controls except tab and newline, DEL, C1 controls, and the bidirectional overrides and
# isolates that can make text display in another order than it reads.
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_UNSAFE_KEEP_CR = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class SafeStream:
    """A text stream that drops control characters from everything written to it.

    ``keep_cr`` keeps carriage returns (the progress bar on stderr redraws its line with
    them); escape sequences are dropped in any case.
    """

    def __init__(self, stream: TextIO, keep_cr: bool = False):
        self._stream = stream
        self._unsafe = _UNSAFE_KEEP_CR if keep_cr else _UNSAFE

    def write(self, text: str) -> int:
        self._stream.write(self._unsafe.sub("", text))
        return len(text)

    def __getattr__(self, name: str) -> Any:  # flush, isatty, fileno, encoding...
        return getattr(self._stream, name)


# ------------------------------------------------------------------------------ arguments


class OneLineParser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (``evacsim CMD: error: ...``), exit 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def int_in(low: int, high: int, what: str) -> Callable[[str], int]:
    """An argparse type: a whole number from ``low`` to ``high``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a whole number (expected {what} from {low:,} to {high:,})"
            ) from None
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(
                f"{value:,} is out of range (expected {what} from {low:,} to {high:,})"
            )
        return value

    return parse


def finite_float(what: str) -> Callable[[str], float]:
    """An argparse type: a finite number."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"'{text}' is not a number (expected {what})"
            ) from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"'{text}' is not finite (expected {what})")
        return value

    return parse


def float_in(
    low: float, high: float, what: str, *, low_open: bool = False, high_open: bool = False
) -> Callable[[str], float]:
    """An argparse type: a number in an interval (open or closed at either end)."""
    finite = finite_float(what)
    left, right = "(" if low_open else "[", ")" if high_open else "]"

    def parse(text: str) -> float:
        value = finite(text)
        below = value <= low if low_open else value < low
        above = value >= high if high_open else value > high
        if below or above:
            raise argparse.ArgumentTypeError(
                f"{value:g} is out of range (expected {what} in {left}{low:g}, {high:g}{right})"
            )
        return value

    return parse


SEED = int_in(0, MAX_SEED, "a root seed")
REPLICATIONS = int_in(1, MAX_REPLICATIONS, "a number of replications")
WORKERS = int_in(1, MAX_WORKERS, "a number of worker processes")
SAMPLES = int_in(1, 100_000, "a number of Latin hypercube samples")
POINTS = int_in(2, 1000, "grid points per parameter")
ROUNDS = int_in(1, 100, "grid rounds")
FINITE = finite_float("a finite number")
STEP = float_in(0, 1e15, "a positive step", low_open=True)
PROBABILITY = float_in(0, 1, "a probability", low_open=True)
CONFIDENCE = float_in(0, 1, "a confidence level", low_open=True, high_open=True)


def install_safe_streams() -> tuple[TextIO, TextIO]:
    """Filter ``sys.stdout`` and ``sys.stderr`` (see :class:`SafeStream`); the originals."""
    out, err = sys.stdout, sys.stderr
    sys.stdout = SafeStream(out)  # type: ignore[assignment]
    sys.stderr = SafeStream(err, keep_cr=True)  # type: ignore[assignment]
    return out, err
