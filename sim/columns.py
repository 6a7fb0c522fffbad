"""Named numpy columns with amortised growth: the storage behind firm and alliance tables.

Rows are appended, never reused or removed, so a row index stays valid for the
whole run. Growth doubles the capacity and copies the used rows; code that
holds a column view across a growth must re-fetch it (hold indices, not views).
Columns are allocated uninitialised and each row gets its column's default when
it is reserved: capacity that is never used is never written, so the operating
system never backs it with memory (a national run reserves room for a decade of
entrants up front).
"""

from __future__ import annotations

import numpy as np


class ColumnTable:
    """A struct of arrays: one numpy column per state variable.

    Attributes:
        n: rows in use.
        capacity: rows allocated.
    """

    def __init__(self, columns: dict[str, tuple[type, tuple, object]], capacity: int):
        self._columns = columns
        self.n = 0
        self.capacity = max(int(capacity), 16)
        for name, (dtype, shape, _) in columns.items():
            setattr(self, name, np.empty((self.capacity, *shape), dtype=dtype))

    def add_rows(self, k: int) -> np.ndarray:
        """Reserve ``k`` new rows, filled with each column's default, and return their indices."""
        if self.n + k > self.capacity:
            new_cap = max(self.capacity * 2, self.n + k)
            for name, (dtype, shape, _) in self._columns.items():
                grown = np.empty((new_cap, *shape), dtype=dtype)
                grown[: self.n] = getattr(self, name)[: self.n]
                setattr(self, name, grown)
            self.capacity = new_cap
        for name, (_, _, fill) in self._columns.items():
            getattr(self, name)[self.n: self.n + k] = fill
        rows = np.arange(self.n, self.n + k)
        self.n += k
        return rows

    def view(self, name: str) -> np.ndarray:
        """The used part of column ``name`` (a view, valid until the next growth)."""
        return getattr(self, name)[: self.n]
