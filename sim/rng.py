"""Random draws keyed by who draws and when: counter-based streams for common random numbers.

Every random number of a run is a pure function of ``(seed, stream, month, id, slot, j)``:
the root seed, the name of the process that draws (``"firm_shocks"``, ``"exits"``...),
the model month, the id of the firm (or sector, or seeker) that draws, a named slot when
one firm draws several numbers for different purposes in one month, and a column ``j``
for a row of numbers (a seeker's candidates). Nothing is consumed in sequence, so a
firm's draw in a month does not depend on which other firms drew, how many, in what
order, or whether another process ran. Two arms of a comparison that differ only in a
policy therefore give every firm the same shock, the same exit lottery, the same seeking
lottery and the same candidate draws in every month in which it is alive in both arms
(common random numbers keyed by agent and time, as in Starsim; Kerr et al. 2024,
"Common random numbers in agent-based models").

The generator is a keyed hash: the key of ``(seed, stream, month, slot, j)`` is built
from 64-bit mixes in Python (once per call), and each id's number is
``mix(key + id * gamma)``, where ``mix`` is the SplitMix64 finaliser (Steele, Lea and
Flood 2014, "Fast splittable pseudorandom number generators"), a bijection on 64-bit
words with full avalanche; ``gamma`` is the golden-ratio odd constant. The top 53 bits
give a uniform on (0, 1). Normals and other laws are inverse transforms of that uniform,
so one id, one month, one slot is one number. It is all whole-array numpy arithmetic
(uint64 wraps modulo 2**64).
"""

from __future__ import annotations

import functools
import zlib

import numpy as np
from scipy import special

_MASK = (1 << 64) - 1
_GAMMA = 0x9E3779B97F4A7C15
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_U_GAMMA, _U_M1, _U_M2 = np.uint64(_GAMMA), np.uint64(_M1), np.uint64(_M2)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_TO_UNIT = 1.0 / 2.0 ** 53

#: The processes that draw, one stream each; a policy instrument draws from ``"policy:<name>"``.
STREAM_NAMES = (
    "population",          # traits of founding firms and entrants (keyed by firm and birth month)
    "demand",              # sector demand innovations (keyed by sector)
    "firm_shocks",         # firm-level revenue shocks
    "births",              # number of entrants per month
    "exits",               # closures for reasons outside the business
    "alliance_search",     # rethink business, partner search, consent, conflict order (keyed by seeker)
    "alliance_brokered",   # perception of candidates added by a broker (keyed by seeker)
    "alliance_behaviour",  # cooperation or opportunism, detection (keyed by the acting member)
    "alliance_outcomes",   # performance risk, foreign shocks, renegotiation (keyed by the initiating firm)
    "stock",               # which pre-history survivors seat a mixed-age stock
)


def mix64(z: int) -> int:
    """SplitMix64 finaliser on a Python int (a bijection on 64-bit words)."""
    z &= _MASK
    z = ((z ^ (z >> 30)) * _M1) & _MASK
    z = ((z ^ (z >> 27)) * _M2) & _MASK
    return z ^ (z >> 31)


def stream_key(name: str) -> int:
    """Stable 32-bit key of a stream or slot name (independent of PYTHONHASHSEED)."""
    return zlib.crc32(name.encode("utf-8"))


def _mix_array(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array, in place."""
    z ^= z >> _S30
    z *= _U_M1
    z ^= z >> _S27
    z *= _U_M2
    z ^= z >> _S31
    return z


class Stream:
    """The draws of one process: numbers keyed by month, id, slot and column.

    Attributes:
        name: the stream's name.
        key: its 64-bit key, from the root seed and the name.
    """

    def __init__(self, seed: int, name: str):
        self.name = name
        self.key = mix64(mix64(int(seed) * _GAMMA + 0x632BE59BD9B4E019) ^ stream_key(name))

    def _key(self, month: int, slot: str, j: int) -> int:
        z = mix64(self.key ^ ((int(month) * _GAMMA) & _MASK))
        z = mix64(z ^ stream_key(slot))
        return mix64(z + (int(j) + 1) * _M2)

    def bits(self, month: int, ids, slot: str = "", width: int | None = None) -> np.ndarray:
        """Raw 64-bit words: shape ``ids.shape``, or ``ids.shape + (width,)`` with one column per ``j``."""
        ids = np.asarray(ids).astype(np.uint64)
        if width is None:
            z = ids * _U_GAMMA
            z += np.uint64(self._key(month, slot, 0))
            return _mix_array(z)
        keys = np.array([self._key(month, slot, j) for j in range(width)], dtype=np.uint64)
        z = ids[..., None] * _U_GAMMA + keys
        return _mix_array(z)

    def uniform(self, month: int, ids, slot: str = "", width: int | None = None) -> np.ndarray:
        """Uniforms on the open interval (0, 1), one per id (and column)."""
        z = self.bits(month, ids, slot, width) >> _S11
        return (z.astype(np.float64) + 0.5) * _TO_UNIT

    def normal(self, month: int, ids, slot: str = "", width: int | None = None) -> np.ndarray:
        """Standard normals (inverse normal CDF of the keyed uniforms)."""
        return special.ndtri(self.uniform(month, ids, slot, width))

    def integers(self, month: int, ids, high, slot: str = "", width: int | None = None) -> np.ndarray:
        """Integers in ``[0, high)``; ``high`` may be an array broadcast against the draws (> 0)."""
        u = self.uniform(month, ids, slot, width)
        high = np.asarray(high)
        return np.minimum((u * high).astype(np.int64), np.maximum(high - 1, 0))

    def beta(self, month: int, ids, a: float, b: float, slot: str = "", width: int | None = None) -> np.ndarray:
        """Beta(a, b) draws by inverse transform through a tabulated quantile function."""
        return beta_quantile(a, b)(self.uniform(month, ids, slot, width))

    def poisson(self, month: int, mean: float, slot: str = "") -> int:
        """One Poisson count for the month (a model-level event such as the number of entrants)."""
        from scipy import stats
        u = float(self.uniform(month, np.zeros(1, dtype=np.int64), slot)[0])
        return int(stats.poisson.ppf(u, mean)) if mean > 0 else 0

    def priority(self, month: int, ids, slot: str = "priority") -> np.ndarray:
        """A random order key per id: sorting by it gives the same relative order of any two ids
        whichever other ids take part."""
        return self.bits(month, ids, slot)


@functools.lru_cache(maxsize=64)
def beta_quantile(a: float, b: float, points: int = 4097):
    """The Beta(a, b) quantile function, tabulated on a grid dense near 0 and 1.

    ``betaincinv`` costs microseconds per value; founding a million firms needs millions of
    draws, so the quantile is tabulated once per (a, b) on ``u = (1 - cos(pi s)) / 2`` for
    ``s`` uniform on [0, 1] and interpolated linearly in ``s`` (absolute error below 1e-4 for
    the shapes this model uses, checked in tests).
    """
    s = np.linspace(0.0, 1.0, points)
    q = special.betaincinv(a, b, 0.5 * (1.0 - np.cos(np.pi * s)))

    def quantile(u: np.ndarray) -> np.ndarray:
        return np.interp(np.arccos(1.0 - 2.0 * u) / np.pi, s, q)

    return quantile


class RandomStreams:
    """The run's streams by name, all from one root seed.

    Attributes:
        seed: the root seed (the config's top-level ``seed``).
    """

    def __init__(self, seed: int):
        self.seed = int(seed)
        self._streams: dict[str, Stream] = {}

    def __getitem__(self, name: str) -> Stream:
        """The stream ``name`` (created on first use; its draws do not depend on when)."""
        stream = self._streams.get(name)
        if stream is None:
            stream = self._streams[name] = Stream(self.seed, name)
        return stream
