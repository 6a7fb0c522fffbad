"""Every public payment, so the fiscal cost of any policy is known.

One row per payment: month, instrument (policy name), firm id, amount and its
form: ``cash`` (a grant or subsidy paid to the firm), ``in_kind`` (a service
such as brokerage or training, valued at its cost), ``loan`` (credit
disbursed) or ``repayment`` (credit paid back, recorded as a negative amount).
The public cost of an instrument is the sum of its rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

FORMS = ("cash", "in_kind", "loan", "repayment")


class Ledger:
    """Append-only record of public payments, kept as chunks of arrays."""

    def __init__(self):
        self._chunks: list[tuple[int, str, np.ndarray, np.ndarray, str]] = []

    def record(self, month: int, instrument: str, firm_ids: np.ndarray, amounts: np.ndarray, form: str) -> None:
        """Book payments of one instrument in one month (zero amounts are dropped)."""
        if form not in FORMS:
            raise ValueError(f"unknown payment form {form!r}; allowed: {', '.join(FORMS)}")
        amounts = np.asarray(amounts, dtype=float)
        keep = amounts != 0
        if keep.any():
            self._chunks.append((month, instrument, np.asarray(firm_ids)[keep], amounts[keep], form))

    def total(self, instrument: str | None = None) -> float:
        """Net public cost (repayments count negative), of one instrument or of all."""
        return float(sum(a.sum() for _, name, _, a, _ in self._chunks if instrument in (None, name)))

    def paid_out(self, instrument: str) -> float:
        """Gross outlay of an instrument (everything but repayments): what its budget caps."""
        return float(sum(a.sum() for _, name, _, a, form in self._chunks
                         if name == instrument and form != "repayment"))

    def table(self) -> pd.DataFrame:
        """The ledger as a DataFrame (month, instrument, firm_id, amount, form)."""
        if not self._chunks:
            return pd.DataFrame({"month": pd.Series(dtype="int64"), "instrument": pd.Series(dtype=str),
                                 "firm_id": pd.Series(dtype="int64"), "amount": pd.Series(dtype=float),
                                 "form": pd.Series(dtype=str)})
        return pd.DataFrame({
            "month": np.concatenate([np.full(len(ids), m) for m, _, ids, _, _ in self._chunks]),
            "instrument": np.concatenate([np.full(len(ids), name, dtype=object)
                                          for _, name, ids, _, _ in self._chunks]),
            "firm_id": np.concatenate([ids for _, _, ids, _, _ in self._chunks]),
            "amount": np.concatenate([a for _, _, _, a, _ in self._chunks]),
            "form": np.concatenate([np.full(len(ids), form, dtype=object) for _, _, ids, _, form in self._chunks]),
        })
