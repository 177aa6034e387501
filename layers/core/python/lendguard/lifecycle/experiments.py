"""``experiments show``: per arm of a policy's routing, the traffic and outcomes of its cases.

Built from the case records (each pins the policy version, arm and experiment it was decided
with). Bad rates need repayment outcomes joined to cases: pass them as ``bad`` (case id → bad
or not, from :func:`lendguard.lifecycle.experiment_outcomes.bad_labels` over the loan events)
and each arm gets its bad rate among approved, labelled cases with a Wilson interval. Without
any outcomes the report says so rather than guessing.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

from pydantic import Field

from lendguard.cases.record import CaseRecord
from lendguard.core.base_model import Model

Z_95 = 1.959963984540054


class Interval(Model):
    low: float
    high: float


def wilson(bad: int, n: int, z: float = Z_95) -> Interval | None:
    """The Wilson score interval of a proportion (None without observations)."""
    if n == 0:
        return None
    p = bad / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return Interval(low=max(0.0, centre - half), high=min(1.0, centre + half))


class ArmReport(Model):
    version: int
    arm: str
    experiment: str | None
    cases: int
    share: float
    outcomes: dict[str, int] = Field(description="APPROVE / REVIEW / REJECT / FAILED counts")
    approval_rate: float
    vendor_cost_per_case: float
    labelled: int = 0
    bad: int = 0
    bad_rate: float | None = None
    bad_rate_ci95: Interval | None = None


class ExperimentReport(Model):
    policy_id: str
    cases: int
    arms: list[ArmReport]
    outcomes_available: bool
    bad_definition: str | None = Field(
        default=None, description="What 'bad' meant, e.g. ever_dpd>=30 within 6"
    )
    note: str = ""


def arm_of(case: CaseRecord) -> tuple[int, str, str | None] | None:
    pinned = case.policy or {}
    if "version" not in pinned:
        return None
    return int(pinned["version"]), str(pinned.get("arm") or "unrouted"), pinned.get("experiment")


def report(
    policy_id: str,
    cases: Iterable[CaseRecord],
    bad: Mapping[str, bool] | None = None,
    bad_definition: str | None = None,
) -> ExperimentReport:
    """Traffic and outcomes per (version, arm) of ``policy_id`` over ``cases``."""
    groups: dict[tuple[int, str, str | None], list[CaseRecord]] = {}
    for case in cases:
        key = arm_of(case)
        if key is not None and (case.policy or {}).get("id") == policy_id:
            groups.setdefault(key, []).append(case)
    total = sum(len(g) for g in groups.values())
    arms = []
    for (version, arm, experiment), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        outcomes: dict[str, int] = {}
        for case in members:
            label = case.decision or case.status
            outcomes[label] = outcomes.get(label, 0) + 1
        approved = [c for c in members if c.decision == "APPROVE"]
        row = ArmReport(
            version=version, arm=arm, experiment=experiment, cases=len(members), share=len(members) / total,
            outcomes=outcomes, approval_rate=len(approved) / len(members),
            vendor_cost_per_case=round(sum(c.vendor_cost for c in members) / len(members), 4),
        )  # fmt: skip
        if bad is not None:
            labelled = [bad[c.case_id] for c in approved if c.case_id in bad]
            row.labelled, row.bad = len(labelled), sum(labelled)
            row.bad_rate = row.bad / row.labelled if row.labelled else None
            row.bad_rate_ci95 = wilson(row.bad, row.labelled)
        arms.append(row)
    note = ""
    if bad is None:
        note = "no repayment outcomes available yet: bad rates appear once they are joined"
    elif not any(a.labelled for a in arms):
        note = "repayment outcomes exist but no approved case is labelled yet (none bad, none matured)"
    return ExperimentReport(
        policy_id=policy_id, cases=total, arms=arms, outcomes_available=bad is not None,
        bad_definition=bad_definition if bad is not None else None, note=note,
    )  # fmt: skip
