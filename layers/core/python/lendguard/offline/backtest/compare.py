"""Two policies on the same rows: who swaps between accepted and rejected, with bad rates.

"Accepted" is APPROVE or REVIEW (the application goes on to an offer or to a reviewer);
"swap out" rows are accepted by the base policy and rejected by the candidate, "swap in" the
reverse. Like :mod:`.aggregates`, everything merges exactly across shards: counts add up, and
the example application ids kept are the smallest ones (a merge keeps the smallest of both).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.offline.backtest.aggregates import Counts
from lendguard.offline.backtest.evaluator import DECISIONS, REJECT, Evaluation

if TYPE_CHECKING:
    import numpy as np

EXAMPLES = 10


class Swap(Model):
    counts: Counts = Field(default_factory=Counts)
    examples: list[str] = Field(default_factory=list, description="The smallest application ids of the swap")

    def merge(self, other: Swap) -> Swap:
        return Swap(
            counts=self.counts.add(other.counts),
            examples=sorted({*self.examples, *other.examples})[:EXAMPLES],
        )


class SwapAggregates(Model):
    """Base decision × candidate decision counts, and the two swap sets."""

    matrix: dict[str, dict[str, Counts]] = Field(default_factory=dict)
    swap_out: Swap = Field(default_factory=Swap)
    swap_in: Swap = Field(default_factory=Swap)

    def merge(self, other: SwapAggregates) -> SwapAggregates:
        return SwapAggregates(
            matrix={a: {b: self.matrix[a][b].add(other.matrix[a][b]) for b in DECISIONS} for a in DECISIONS},
            swap_out=self.swap_out.merge(other.swap_out),
            swap_in=self.swap_in.merge(other.swap_in),
        )


def _counts(mask: np.ndarray, labels: np.ndarray | None) -> Counts:
    n = int(mask.sum())
    return Counts(n=n) if labels is None else Counts(n=n, labelled=n, bad=int(labels[mask].sum()))


def _swap(mask: np.ndarray, ev: Evaluation, labels: np.ndarray | None) -> Swap:
    import numpy as np

    ids = (
        sorted(str(i) for i in ev.application_ids[np.flatnonzero(mask)].tolist())[:EXAMPLES]
        if mask.any()
        else []
    )
    return Swap(counts=_counts(mask, labels), examples=ids)


def compare(base: Evaluation, candidate: Evaluation, labels: np.ndarray | None = None) -> SwapAggregates:
    """The swap counts of one shard evaluated under both policies (same rows, same order)."""
    if base.n != candidate.n:
        raise ValueError("both evaluations must cover the same rows")
    matrix = {
        a: {
            b: _counts((base.decision == i) & (candidate.decision == j), labels)
            for j, b in enumerate(DECISIONS)
        }
        for i, a in enumerate(DECISIONS)
    }
    accepted_base = base.decision != REJECT
    accepted_candidate = candidate.decision != REJECT
    return SwapAggregates(
        matrix=matrix,
        swap_out=_swap(accepted_base & ~accepted_candidate, base, labels),
        swap_in=_swap(~accepted_base & accepted_candidate, base, labels),
    )
