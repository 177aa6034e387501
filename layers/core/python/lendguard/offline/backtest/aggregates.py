"""Counts from one shard of rows that merge exactly with other shards' counts.

Everything is an integer: counts of rows, of bad rows, spend as ``billed count × unit cost``
(computed when reported, so no float sum depends on the order of shards), limits in cents,
APRs in millionths, and scores as a histogram over hundredths of a point (scores are rounded to
two digits online), from which KS, AUC, Gini, bands and cut-off curves are computed exactly.
Merging shards in any order gives the same aggregates as one pass over all rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.offline.backtest.evaluator import (
    DECISIONS,
    EFF_REJECT,
    HIT,
    MISSING,
    NO_HIT,
    NONE,
    Evaluation,
)

if TYPE_CHECKING:
    import numpy as np


class Counts(Model):
    """Rows and, where labelled, bad rows among them."""

    n: int = 0
    labelled: int = 0
    bad: int = 0

    def add(self, other: Counts) -> Counts:
        return Counts(n=self.n + other.n, labelled=self.labelled + other.labelled, bad=self.bad + other.bad)


class RuleCounts(Model):
    """One rule over the rows that reached its stage."""

    rule_id: str
    stage: str
    action: str
    enabled: bool
    evaluated: Counts = Field(default_factory=Counts)  # reached, enabled, not skipped for white
    hit: Counts = Field(default_factory=Counts)  # the condition was true
    missing: Counts = Field(default_factory=Counts)  # a fact it reads was missing
    fired: Counts = Field(default_factory=Counts)  # it acted (hit, or on_missing turned into an action)
    unique_reject: Counts = Field(default_factory=Counts)  # the only rule that rejected the row

    def add(self, other: RuleCounts) -> RuleCounts:
        return self.model_copy(
            update={
                k: getattr(self, k).add(getattr(other, k))
                for k in ("evaluated", "hit", "missing", "fired", "unique_reject")
            }
        )


class StageCounts(Model):
    stage: str
    reached: int = 0
    rejected: int = 0


class VendorCounts(Model):
    vendor_id: str
    group: str
    unit_cost: float
    reached: int = 0
    answered: int = 0
    billed: int = 0


class Aggregates(Model):
    """A shard's (or a merged set of shards') counts for one policy."""

    policy_id: str
    policy_version: int
    rows: int = 0
    labelled: bool = False
    decisions: dict[str, Counts] = Field(default_factory=lambda: {d: Counts() for d in DECISIONS})
    stages: list[StageCounts] = Field(default_factory=list)
    vendors: list[VendorCounts] = Field(default_factory=list)
    rules: list[RuleCounts] = Field(default_factory=list)
    # hundredths of a point -> [rows, bad rows] over scored rows (final points)
    score_hist: dict[int, tuple[int, int]] = Field(default_factory=dict)
    # per decision: hundredths of a point -> [rows, bad rows]
    score_hist_by_decision: dict[str, dict[int, tuple[int, int]]] = Field(default_factory=dict)
    limit_cents: int = 0  # sum of limits offered to APPROVE rows
    apr_millionths: int = 0  # sum of APRs offered to APPROVE rows
    exact_offer_rows: int = 0  # rows whose offer took the scalar path (see offers.py)

    def merge(self, other: Aggregates) -> Aggregates:
        """These counts and ``other``'s, as if both shards had been one."""
        if (self.policy_id, self.policy_version) != (other.policy_id, other.policy_version):
            raise ValueError("aggregates of different policies cannot be merged")
        if [r.rule_id for r in self.rules] != [r.rule_id for r in other.rules]:
            raise ValueError("aggregates with different rules cannot be merged")
        return Aggregates(
            policy_id=self.policy_id,
            policy_version=self.policy_version,
            rows=self.rows + other.rows,
            labelled=self.labelled or other.labelled,
            decisions={d: self.decisions[d].add(other.decisions[d]) for d in DECISIONS},
            stages=[
                StageCounts(stage=a.stage, reached=a.reached + b.reached, rejected=a.rejected + b.rejected)
                for a, b in zip(self.stages, other.stages, strict=True)
            ],
            vendors=[
                a.model_copy(
                    update={
                        "reached": a.reached + b.reached,
                        "answered": a.answered + b.answered,
                        "billed": a.billed + b.billed,
                    }
                )
                for a, b in zip(self.vendors, other.vendors, strict=True)
            ],
            rules=[a.add(b) for a, b in zip(self.rules, other.rules, strict=True)],
            score_hist=_merge_hist(self.score_hist, other.score_hist),
            score_hist_by_decision={
                d: _merge_hist(
                    self.score_hist_by_decision.get(d, {}), other.score_hist_by_decision.get(d, {})
                )
                for d in DECISIONS
            },
            limit_cents=self.limit_cents + other.limit_cents,
            apr_millionths=self.apr_millionths + other.apr_millionths,
            exact_offer_rows=self.exact_offer_rows + other.exact_offer_rows,
        )

    def spend(self) -> float:
        """Vendor spend over all rows (billed count × unit cost, per vendor)."""
        return sum(v.billed * v.unit_cost for v in self.vendors)


def merge_all(parts: Iterable[Aggregates]) -> Aggregates:
    """Merge shards' aggregates (at least one)."""
    it = iter(parts)
    total = next(it)
    for part in it:
        total = total.merge(part)
    return total


def _merge_hist(a: dict[int, tuple[int, int]], b: dict[int, tuple[int, int]]) -> dict[int, tuple[int, int]]:
    out = dict(a)
    for k, (n, bad) in b.items():
        n0, b0 = out.get(k, (0, 0))
        out[k] = (n0 + n, b0 + bad)
    return dict(sorted(out.items()))


def _counts(mask: np.ndarray, labels: np.ndarray | None) -> Counts:
    n = int(mask.sum())
    if labels is None:
        return Counts(n=n)
    return Counts(n=n, labelled=n, bad=int(labels[mask].sum()))


def _hist(points: np.ndarray, labels: np.ndarray | None) -> dict[int, tuple[int, int]]:
    import numpy as np

    if not len(points):
        return {}
    keys = np.rint(points * 100).astype(np.int64)
    uniq, inverse = np.unique(keys, return_inverse=True)
    n = np.bincount(inverse, minlength=len(uniq))
    bad = (
        np.bincount(inverse, weights=labels.astype(np.float64), minlength=len(uniq)).astype(np.int64)
        if labels is not None
        else np.zeros(len(uniq), dtype=np.int64)
    )
    return {int(k): (int(a), int(b)) for k, a, b in zip(uniq.tolist(), n.tolist(), bad.tolist(), strict=True)}


def aggregate(ev: Evaluation, labels: np.ndarray | None = None) -> Aggregates:
    """The counts of one evaluated shard (``labels``: 1 bad / 0 good per row, or None)."""
    import numpy as np

    if labels is not None and len(labels) != ev.n:
        raise ValueError(f"{len(labels)} labels for {ev.n} rows")
    decisions = {name: _counts(ev.decision == code, labels) for code, name in enumerate(DECISIONS)}
    stages = [
        StageCounts(
            stage=stage,
            reached=int(ev.reached.get(stage, np.zeros(ev.n, dtype=bool)).sum()),
            rejected=int((ev.halted_at == i).sum()),
        )
        for i, stage in enumerate(ev.stages)
    ]
    vendors = [
        VendorCounts(
            vendor_id=v.vendor_id,
            group=v.group,
            unit_cost=v.cost,
            reached=int(v.reached.sum()),
            answered=int(v.answered.sum()),
            billed=int(v.billed.sum()),
        )
        for v in ev.vendors
    ]
    rejecting = np.zeros(ev.n, dtype=np.int16)
    for col in ev.rules:
        rejecting += col.effect == EFF_REJECT
    rules = []
    for col in ev.rules:
        evaluated = (col.outcome == HIT) | (col.outcome == NO_HIT) | (col.outcome == MISSING)
        rules.append(
            RuleCounts(
                rule_id=col.rule.id,
                stage=col.stage,
                action=col.rule.action.value,
                enabled=col.rule.enabled,
                evaluated=_counts(evaluated, labels),
                hit=_counts(col.outcome == HIT, labels),
                missing=_counts(col.outcome == MISSING, labels),
                fired=_counts(col.effect != NONE, labels),
                unique_reject=_counts((col.effect == EFF_REJECT) & (rejecting == 1), labels),
            )
        )
    scored = ev.scored
    lab = labels[scored] if labels is not None else None
    by_decision = {}
    for code, name in enumerate(DECISIONS):
        mask = scored & (ev.decision == code)
        by_decision[name] = _hist(ev.final_points[mask], labels[mask] if labels is not None else None)
    approved = ev.decision == 0
    limits = ev.offers.limit[approved]
    aprs = ev.offers.apr[approved]
    return Aggregates(
        policy_id=ev.policy.id, policy_version=ev.policy.version, rows=ev.n, labelled=labels is not None,
        decisions=decisions, stages=stages, vendors=vendors, rules=rules,
        score_hist=_hist(ev.final_points[scored], lab), score_hist_by_decision=by_decision,
        limit_cents=int(np.rint(limits * 100).astype(np.int64).sum()),
        apr_millionths=int(np.rint(aprs * 1_000_000).astype(np.int64).sum()),
        exact_offer_rows=ev.offers.exact_rows,
    )  # fmt: skip
