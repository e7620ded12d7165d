"""Randomness as an input: one named random stream per stochastic source.

Each replication has one root :class:`numpy.random.SeedSequence`. Every stochastic source
(arrivals of a category, group sizes, screening times, flight slots, ...) gets its own
:class:`numpy.random.Generator` derived from the root *and the source's name*, never from the
order in which sources are created. Two scenarios run with the same seed therefore see the
same arrivals, the same service times and so on wherever they share a source (common random
numbers), and adding a category does not shift anyone else's draws.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["BufferedDraws", "Streams"]


def _name_key(name: str) -> int:
    """A stable 32-bit integer for a source name (independent of PYTHONHASHSEED)."""
    return int.from_bytes(hashlib.blake2s(name.encode("utf-8"), digest_size=4).digest(), "big")


class Streams:
    """Named, independent random generators spawned from one root seed sequence."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        self._generators: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        gen = self._generators.get(name)
        if gen is None:
            child = np.random.SeedSequence(
                entropy=self.root.entropy,
                spawn_key=(*self.root.spawn_key, _name_key(name)),
            )
            gen = np.random.Generator(np.random.PCG64(child))
            self._generators[name] = gen
        return gen


class BufferedDraws:
    """Draws from ``sample(rng, n)`` in blocks, handed out one at a time.

    Calling numpy once per draw costs about a microsecond; drawing 4096 at a time costs a few
    nanoseconds each. The sequence is the same as drawing them one by one from the block.
    """

    __slots__ = ("_block", "_buffer", "_i", "_rng", "_sample")

    def __init__(self, rng: np.random.Generator, sample, block: int = 4096):
        self._rng = rng
        self._sample = sample
        self._block = block
        self._buffer: list[float] = []
        self._i = 0

    def next(self) -> float:
        if self._i >= len(self._buffer):
            self._buffer = self._sample(self._rng, self._block).tolist()
            self._i = 0
        value = self._buffer[self._i]
        self._i += 1
        return value
