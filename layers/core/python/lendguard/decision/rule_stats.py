"""Per-rule statistics of live traffic, kept as per-day counters (:mod:`lendguard.store.daily`).

When a case is written its rule trace becomes a handful of counters for the day it was received
(UTC): ``cases``, ``decision.<D>``, and per rule ``<rule>|evaluated`` (the rule ran: hit, no hit
or missing data), ``<rule>|hit``, ``<rule>|missing``, ``<rule>|reject`` (the rule rejected the
case) and ``<rule>|unique_reject`` (it was the only rule that rejected it: the cases the rule
alone decides, what switching it off would change). Disabled rules and rules skipped for a
white-listed applicant are not evaluated.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date

from pydantic import Field

from lendguard.cases.record import CaseRecord
from lendguard.core.base_model import Model

NAMESPACE = "rules"
KEY = "all"
COUNTERS = ("evaluated", "hit", "missing", "reject", "unique_reject")
_EVALUATED = ("hit", "no_hit", "missing")


def case_day(case: CaseRecord) -> date:
    """The day (UTC) a case counts for: the day it was received."""
    return case.created_at.astimezone(UTC).date()


def case_counts(case: CaseRecord) -> dict[str, int]:
    """The counters one decided case adds."""
    counts: dict[str, int] = {"cases": 1}
    if case.decision:
        counts[f"decision.{case.decision}"] = 1
    rules = case.trace.rules if case.trace else []
    rejecting = {r.rule_id for r in rules if r.effect == "reject"}
    for rule in rules:
        if rule.outcome not in _EVALUATED:
            continue
        prefix = f"{rule.rule_id}|"
        counts[prefix + "evaluated"] = counts.get(prefix + "evaluated", 0) + 1
        if rule.outcome == "hit":
            counts[prefix + "hit"] = counts.get(prefix + "hit", 0) + 1
        if rule.outcome == "missing":
            counts[prefix + "missing"] = counts.get(prefix + "missing", 0) + 1
        if rule.effect == "reject":
            counts[prefix + "reject"] = 1
    if len(rejecting) == 1 and case.decision == "REJECT":
        counts[f"{next(iter(rejecting))}|unique_reject"] = 1
    return counts


class RuleStat(Model):
    rule_id: str
    evaluated: int = 0
    hit: int = 0
    missing: int = 0
    reject: int = 0
    unique_reject: int = 0
    hit_rate: float | None = Field(default=None, description="hit / evaluated")
    unique_reject_rate: float | None = Field(default=None, description="unique_reject / evaluated")


class PeriodStats(Model):
    start: date
    end: date
    cases: int = 0
    decisions: dict[str, int] = Field(default_factory=dict)
    rules: list[RuleStat] = Field(default_factory=list)


def summarize(start: date, end: date, days: Mapping[date, Mapping[str, int]]) -> PeriodStats:
    """Add up the day counters of ``start``..``end`` into per-rule counts and rates."""
    totals: dict[str, int] = {}
    for day, counters in days.items():
        if start <= day <= end:
            for name, value in counters.items():
                totals[name] = totals.get(name, 0) + value
    per_rule: dict[str, dict[str, int]] = {}
    for name, value in totals.items():
        rule_id, sep, counter = name.rpartition("|")
        if sep and counter in COUNTERS:
            per_rule.setdefault(rule_id, {})[counter] = value
    rules = []
    for rule_id, c in sorted(per_rule.items()):
        evaluated = c.get("evaluated", 0)
        rules.append(
            RuleStat(
                rule_id=rule_id,
                **c,
                hit_rate=round(c.get("hit", 0) / evaluated, 6) if evaluated else None,
                unique_reject_rate=round(c.get("unique_reject", 0) / evaluated, 6) if evaluated else None,
            )
        )
    decisions = {
        k.removeprefix("decision."): v for k, v in sorted(totals.items()) if k.startswith("decision.")
    }
    return PeriodStats(start=start, end=end, cases=totals.get("cases", 0), decisions=decisions, rules=rules)


def record_case(case: CaseRecord) -> bool:
    """Add a written case to its day's counters, at most once per case (False if already counted)."""
    from lendguard.store import daily

    return daily.increment(
        NAMESPACE, KEY, case_day(case), case_counts(case), shard_by=case.case_id, once_key=case.case_id
    )
