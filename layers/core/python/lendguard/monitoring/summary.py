"""Mergeable aggregates of a shard of cases (a day, a window, one worker's slice)."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.monitoring.view import CaseView, FeatureValue


class RuleCount(Model):
    evaluated: int = 0
    hits: int = 0


class VendorCount(Model):
    calls: int = 0
    errors: int = 0
    timeouts: int = 0
    empty: int = 0
    cache_hits: int = 0
    spend: float = 0.0


class Summary(Model):
    """Counts of one group of cases; :meth:`merge` adds two shards."""

    cases: int = 0
    outcomes: dict[str, int] = Field(default_factory=dict)
    rules: dict[str, RuleCount] = Field(default_factory=dict)
    vendors: dict[str, VendorCount] = Field(default_factory=dict)
    scores: list[float] = Field(default_factory=list, description="model points of scored cases")
    features: dict[str, list[FeatureValue]] = Field(
        default_factory=dict, description="values of each feature where the case reached it"
    )

    def add(self, view: CaseView) -> None:
        """Count one case in."""
        self.cases += 1
        self.outcomes[view.outcome] = self.outcomes.get(view.outcome, 0) + 1
        for rule_id, hit in view.rules.items():
            count = self.rules.setdefault(rule_id, RuleCount())
            count.evaluated += 1
            count.hits += int(hit)
        for call in view.vendors:
            v = self.vendors.setdefault(call.vendor, VendorCount())
            v.calls += 1
            v.errors += int(call.error)
            v.timeouts += int(call.timeout)
            v.empty += int(call.empty)
            v.cache_hits += int(call.cache_hit)
            v.spend += call.cost
        if view.score_points is not None:
            self.scores.append(view.score_points)
        for name, value in view.features.items():
            self.features.setdefault(name, []).append(value)

    def merge(self, other: Summary) -> Summary:
        """A new summary of both shards (the order of shards does not change any figure)."""
        out = self.model_copy(deep=True)
        out.cases += other.cases
        for k, n in other.outcomes.items():
            out.outcomes[k] = out.outcomes.get(k, 0) + n
        for k, r in other.rules.items():
            mine = out.rules.setdefault(k, RuleCount())
            mine.evaluated += r.evaluated
            mine.hits += r.hits
        for k, v in other.vendors.items():
            mine_v = out.vendors.setdefault(k, VendorCount())
            for field in ("calls", "errors", "timeouts", "empty", "cache_hits", "spend"):
                setattr(mine_v, field, getattr(mine_v, field) + getattr(v, field))
        out.scores += other.scores
        for k, values in other.features.items():
            out.features.setdefault(k, []).extend(values)
        return out


def summarize(views: Iterable[CaseView]) -> dict[str | None, Summary]:
    """Summaries of all cases (key ``None``) and of each A/B arm the cases carry."""
    out: dict[str | None, Summary] = {None: Summary()}
    for view in views:
        out[None].add(view)
        if view.arm is not None:
            out.setdefault(view.arm, Summary()).add(view)
    return out
