"""Named random streams, one per process, all derived from the run's root seed.

Each stream is a ``numpy.random.Generator`` seeded by ``SeedSequence(seed,
spawn_key=(stable_hash(name),))``. Because a stream depends only on the root
seed and its own name, drawing more or fewer numbers from one process (say, the
alliance process switched off) never shifts the draws of another (common random
numbers across the arms of a comparison).
"""

from __future__ import annotations

import zlib

import numpy as np

#: Streams of the firm economy, and ones reserved for later processes.
STREAM_NAMES = (
    "population",     # initial firms and their traits
    "demand",         # sector demand innovations
    "firm_shocks",    # firm-level revenue shocks
    "births",         # number and traits of entrants
    "exits",          # closures for reasons outside the business
    "alliance_search",     # rethink business and partner search
    "alliance_brokered",   # judging candidates added by a broker
    "alliance_behaviour",  # cooperation or opportunism, detection
    "alliance_outcomes",   # performance risk of alliances
    # each policy instrument draws from "policy:<name>"
)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream name (independent of PYTHONHASHSEED)."""
    return zlib.crc32(name.encode("utf-8"))


class RandomStreams:
    """Lazily created named generators from one root seed.

    Attributes:
        seed: the root seed (the config's top-level ``seed``).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, np.random.Generator] = {}

    def __getitem__(self, name: str) -> np.random.Generator:
        """The generator of stream ``name``, created on first use."""
        gen = self._streams.get(name)
        if gen is None:
            seq = np.random.SeedSequence(self.seed, spawn_key=(stream_key(name),))
            gen = np.random.Generator(np.random.PCG64(seq))
            self._streams[name] = gen
        return gen
