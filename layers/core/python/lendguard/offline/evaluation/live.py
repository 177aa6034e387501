"""Online evaluation: decided cases joined with their repayment outcomes.

Input: the rows of ``GET /v1/loans/outcomes`` (a case's decision, score, shadow scores, rule
outcomes and loan events). Output: an :class:`EvaluationReport` with

- counts: decided, approved, drawn, matured and bad accounts under the bad definition;
- bad rate by score band (the policy's ``limits.score_bands`` on the final points), matured only;
- vintages by month of decision: the share of drawn accounts ever 30+ / 90+ days past due by
  months on book (among the accounts observed that long);
- KS / AUC / Gini of the live model's PD on matured accounts, and of each shadow model recorded
  in the cases, each shadow beside the champion on exactly the same accounts;
- per rule: evaluated / hit / missing / reject / unique-reject counts on the live traffic, and for
  rules that let a case through (flag, score, review) the bad rate of matured accounts with and
  without a hit, and its lift over the overall bad rate.

Labels come from :func:`lendguard.outcomes.bad.label`: only matured accounts carry one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime
from typing import Any

from pydantic import Field

from lendguard.core.base_model import Model
from lendguard.decision.rule_stats import RuleStat
from lendguard.offline.evaluation.metrics import auc, ks
from lendguard.outcomes.bad import AccountLabel, BadDefinition, ever_dpd_by_month, label
from lendguard.outcomes.events import LoanEvent

VINTAGE_THRESHOLDS = (30, 90)


class Discrimination(Model):
    model_id: str
    model_version: int | None = None
    accounts: int
    bads: int
    ks: float | None = None
    auc: float | None = None
    gini: float | None = None
    note: str | None = None


class ShadowComparison(Model):
    """A shadow model and the champion, scored on the same matured accounts."""

    shadow: Discrimination
    champion: Discrimination


class BandRow(Model):
    band: str
    lower: float | None
    upper: float | None
    approved: int = 0
    matured: int = 0
    bads: int = 0
    bad_rate: float | None = None


class VintagePoint(Model):
    months_on_book: int
    observed: int
    dpd30: float | None = None
    dpd90: float | None = None


class Vintage(Model):
    month: str
    decided: int = 0
    approved: int = 0
    drawn: int = 0
    curve: list[VintagePoint] = Field(default_factory=list)


class RuleRow(RuleStat):
    """A rule's live statistics (:class:`~lendguard.decision.rule_stats.RuleStat`) with the bad
    rates of the matured accounts it hit and did not hit."""

    matured_hit: int = 0
    bad_rate_hit: float | None = None
    matured_not_hit: int = 0
    bad_rate_not_hit: float | None = None
    lift: float | None = None


class EvaluationReport(Model):
    date_from: date
    date_to: date
    as_of: date
    bad_definition: str
    decided: int = 0
    decisions: dict[str, int] = Field(default_factory=dict)
    approved: int = 0
    drawn: int = 0
    matured: int = 0
    bads: int = 0
    bad_rate: float | None = None
    score_bands: list[BandRow] = Field(default_factory=list)
    vintages: list[Vintage] = Field(default_factory=list)
    champion: Discrimination | None = None
    shadows: list[ShadowComparison] = Field(default_factory=list)
    rules: list[RuleRow] = Field(default_factory=list)


def _rate(num: int, den: int) -> float | None:
    return round(num / den, 6) if den else None


def discrimination(
    model_id: str, version: int | None, labels: Sequence[bool], pds: Sequence[float]
) -> Discrimination:
    """KS, AUC and Gini of ``pds`` (higher = riskier) against bad labels; None without both classes."""
    bads = sum(labels)
    out = Discrimination(model_id=model_id, model_version=version, accounts=len(labels), bads=bads)
    if bads == 0 or bads == len(labels):
        out.note = "needs both bad and good matured accounts"
        return out
    area = auc(list(labels), list(pds))
    out.ks, out.auc, out.gini = round(ks(list(labels), list(pds)), 6), round(area, 6), round(2 * area - 1, 6)
    return out


def _bands(edges: Sequence[float]) -> list[BandRow]:
    rows = [BandRow(band=f"< {edges[0]:g}", lower=None, upper=edges[0])] if edges else []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        rows.append(
            BandRow(band=f"{low:g}-{high:g}" if high is not None else f">= {low:g}", lower=low, upper=high)
        )
    return rows or [BandRow(band="all", lower=None, upper=None)]


def _band_of(rows: Sequence[BandRow], points: float) -> BandRow:
    for row in rows:
        if (row.lower is None or points >= row.lower) and (row.upper is None or points < row.upper):
            return row
    return rows[-1]


def evaluate(
    cases: Iterable[Mapping[str, Any]],
    definition: BadDefinition,
    as_of: date,
    date_from: date,
    date_to: date,
    score_bands: Sequence[float] = (),
) -> EvaluationReport:
    """Join decided cases with their loan events and report (see the module docstring)."""
    report = EvaluationReport(
        date_from=date_from, date_to=date_to, as_of=as_of, bad_definition=str(definition)
    )
    bands = _bands(sorted(score_bands))
    vintages: dict[str, Vintage] = {}
    curves: dict[str, list[list[dict[int, bool]]]] = {}
    rules: dict[str, RuleRow] = {}
    rule_hits: list[tuple[set[str], bool]] = []  # (rules hit, bad) per matured account
    champion: tuple[str, int | None] | None = None
    champion_rows: list[tuple[bool, float]] = []
    shadow_rows: dict[tuple[str, int | None], list[tuple[bool, float, float]]] = {}
    for case in cases:
        report.decided += 1
        decision = case.get("decision") or "NONE"
        report.decisions[decision] = report.decisions.get(decision, 0) + 1
        month = datetime.fromisoformat(case["created_at"]).strftime("%Y-%m")
        vintage = vintages.setdefault(month, Vintage(month=month))
        vintage.decided += 1
        hit_rules = _count_rules(rules, case.get("rules") or [])
        if decision != "APPROVE":
            continue
        report.approved += 1
        vintage.approved += 1
        events = [LoanEvent.model_validate(e) for e in case.get("events") or []]
        account: AccountLabel = label(events, definition, as_of)
        score = case.get("score") or {}
        if score.get("final_points") is not None:
            _band_of(bands, float(score["final_points"])).approved += 1
        if not account.drawn:
            continue
        report.drawn += 1
        vintage.drawn += 1
        curves.setdefault(month, []).append(ever_dpd_by_month(events, VINTAGE_THRESHOLDS, as_of))
        if not account.matured:
            continue
        report.matured += 1
        report.bads += account.bad
        rule_hits.append((hit_rules, account.bad))
        if score.get("final_points") is not None:
            row = _band_of(bands, float(score["final_points"]))
            row.matured += 1
            row.bads += account.bad
        if score.get("pd") is not None:
            champion = champion or (str(score.get("model_id")), score.get("model_version"))
            champion_rows.append((account.bad, float(score["pd"])))
            for shadow in score.get("shadow") or []:
                if shadow.get("pd") is not None and not shadow.get("error"):
                    key = (str(shadow.get("model_id")), shadow.get("model_version"))
                    shadow_rows.setdefault(key, []).append(
                        (account.bad, float(shadow["pd"]), float(score["pd"]))
                    )
    report.bad_rate = _rate(report.bads, report.matured)
    for row in bands:
        row.bad_rate = _rate(row.bads, row.matured)
    report.score_bands = bands
    for month, vintage in sorted(vintages.items()):
        vintage.curve = _curve(curves.get(month, []))
        report.vintages.append(vintage)
    if champion is not None:
        report.champion = discrimination(
            *champion, [b for b, _ in champion_rows], [p for _, p in champion_rows]
        )
        for (model_id, version), rows in sorted(
            shadow_rows.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)
        ):
            labels = [b for b, _, _ in rows]
            report.shadows.append(
                ShadowComparison(
                    shadow=discrimination(model_id, version, labels, [s for _, s, _ in rows]),
                    champion=discrimination(*champion, labels, [c for _, _, c in rows]),
                )
            )
    report.rules = _rule_outcomes(rules, rule_hits, report.bad_rate)
    return report


def _count_rules(rules: dict[str, RuleRow], trace: Sequence[Sequence[str]]) -> set[str]:
    """Add one case's rule outcomes; return the rules that hit it."""
    hit: set[str] = set()
    rejecting = {rule_id for rule_id, _, effect in trace if effect == "reject"}
    for rule_id, outcome, effect in trace:
        if outcome not in ("hit", "no_hit", "missing"):
            continue
        row = rules.setdefault(rule_id, RuleRow(rule_id=rule_id))
        row.evaluated += 1
        row.hit += outcome == "hit"
        row.missing += outcome == "missing"
        row.reject += effect == "reject"
        if outcome == "hit":
            hit.add(rule_id)
    if len(rejecting) == 1:
        only = next(iter(rejecting))
        if only in rules:
            rules[only].unique_reject += 1
    return hit


def _rule_outcomes(
    rules: dict[str, RuleRow], accounts: Sequence[tuple[set[str], bool]], overall: float | None
) -> list[RuleRow]:
    for rule_id, row in rules.items():
        row.hit_rate = _rate(row.hit, row.evaluated)
        with_hit = [bad for hits, bad in accounts if rule_id in hits]
        without = [bad for hits, bad in accounts if rule_id not in hits]
        row.matured_hit, row.matured_not_hit = len(with_hit), len(without)
        row.bad_rate_hit, row.bad_rate_not_hit = (
            _rate(sum(with_hit), len(with_hit)),
            _rate(sum(without), len(without)),
        )
        if row.bad_rate_hit is not None and overall:
            row.lift = round(row.bad_rate_hit / overall, 4)
    return sorted(rules.values(), key=lambda r: r.rule_id)


def _curve(accounts: Sequence[Sequence[Mapping[int, bool]]]) -> list[VintagePoint]:
    longest = max((len(a) for a in accounts), default=0)
    points = []
    for mob in range(1, longest + 1):
        observed = [a[mob - 1] for a in accounts if len(a) >= mob]
        points.append(
            VintagePoint(
                months_on_book=mob,
                observed=len(observed),
                dpd30=_rate(sum(o[30] for o in observed), len(observed)),
                dpd90=_rate(sum(o[90] for o in observed), len(observed)),
            )
        )
    return points
