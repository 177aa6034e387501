"""Online evaluation: decided cases joined with outcomes (bad rates, vintages, KS/AUC, rules)."""

from __future__ import annotations

import random
from datetime import date

import pytest

from lendguard.offline.evaluation.live import evaluate
from lendguard.offline.evaluation.metrics import auc, ks
from lendguard.outcomes.bad import BadDefinition

AS_OF = date(2026, 11, 29)


def events(case_id: str, drawn: str, bad: bool) -> list[dict]:
    """A draw and one instalment; a bad account never pays it (60+ dpd in its window)."""
    out = [
        {
            "event_id": "d",
            "case_id": case_id,
            "loan_id": "L1",
            "type": "drawn",
            "date": drawn,
            "amount": "1000",
        },
        {
            "event_id": "i1",
            "case_id": case_id,
            "loan_id": "L1",
            "type": "instalment_due",
            "date": drawn[:8] + "28",
            "amount": "1000",
        },
    ]
    if not bad:
        out.append({"event_id": "r1", "case_id": case_id, "loan_id": "L1", "type": "repaid",
                    "date": drawn[:8] + "28", "amount": "1000"})  # fmt: skip
    return out


def case_row(i: int, month: str, decision: str, pd: float, bad: bool, shadow_pd: float | None = None,
             hit: bool = False, drawn: bool = True) -> dict:  # fmt: skip
    case_id = f"C{i}"
    shadow = [] if shadow_pd is None else [{"model_id": "challenger", "model_version": 2, "pd": shadow_pd}]
    return {
        "case_id": case_id, "created_at": f"{month}-05T10:00:00+00:00", "decision": decision,
        "score": {"model_id": "live", "model_version": 1, "pd": pd, "final_points": 700 - 400 * pd, "shadow": shadow},
        "rules": [["FLAG_X", "hit" if hit else "no_hit", "flag" if hit else "none"], ["REJ_Y", "no_hit", "none"]],
        "events": events(case_id, f"{month}-06", bad) if decision == "APPROVE" and drawn else [],
    }  # fmt: skip


@pytest.fixture(scope="module")
def rows() -> list[dict]:
    rng = random.Random(7)
    out = []
    for i in range(300):
        bad = rng.random() < 0.2
        pd = min(max(rng.gauss(0.35 if bad else 0.15, 0.1), 0.001), 0.999)
        shadow = min(max(rng.gauss(0.4 if bad else 0.1, 0.1), 0.001), 0.999)
        month = "2026-03" if i % 2 else "2026-04"
        out.append(case_row(i, month, "APPROVE", round(pd, 6), bad, round(shadow, 6), hit=bad and i % 3 == 0))
    out.append(case_row(900, "2026-10", "APPROVE", 0.5, True))  # immature: drawn in October
    out.append(case_row(901, "2026-04", "APPROVE", 0.2, False, drawn=False))  # approved, never drawn
    rejected = case_row(902, "2026-04", "REJECT", 0.9, False)
    rejected["rules"] = [["FLAG_X", "no_hit", "none"], ["REJ_Y", "hit", "reject"]]
    out.append(rejected)
    return out


def test_counts_and_the_bad_rate_use_matured_accounts_only(rows):
    report = evaluate(
        rows, BadDefinition(dpd=30, months=6), AS_OF, date(2026, 3, 1), date(2026, 10, 31), [500, 600]
    )
    truth = list(rows[:300])
    bads = sum(1 for r in truth if len(r["events"]) == 2)
    assert (report.decided, report.approved, report.drawn, report.matured) == (303, 302, 301, 300)
    assert report.decisions == {"APPROVE": 302, "REJECT": 1}
    assert report.bads == bads and report.bad_rate == round(bads / 300, 6)
    assert sum(b.matured for b in report.score_bands) == 300
    assert [b.band for b in report.score_bands] == ["< 500", "500-600", ">= 600"]


def test_ks_and_auc_are_the_metrics_of_the_live_pd_and_shadows_use_the_same_accounts(rows):
    report = evaluate(rows, BadDefinition(), AS_OF, date(2026, 3, 1), date(2026, 10, 31))
    matured = rows[:300]
    labels = [len(r["events"]) == 2 for r in matured]
    live = [r["score"]["pd"] for r in matured]
    assert report.champion is not None and report.champion.accounts == 300
    assert report.champion.auc == round(auc(labels, live), 6) and report.champion.ks == round(
        ks(labels, live), 6
    )
    (pair,) = report.shadows
    assert pair.shadow.model_id == "challenger" and pair.shadow.accounts == pair.champion.accounts == 300
    assert pair.champion.auc == report.champion.auc
    assert pair.shadow.auc > pair.champion.auc  # the planted challenger separates better


def test_vintages_by_month_of_decision(rows):
    report = evaluate(rows, BadDefinition(), AS_OF, date(2026, 3, 1), date(2026, 10, 31))
    months = {v.month: v for v in report.vintages}
    assert set(months) == {"2026-03", "2026-04", "2026-10"}
    march = months["2026-03"]
    assert march.drawn == 150 and march.curve[0].months_on_book == 1 and march.curve[0].observed == 150
    bads = sum(1 for r in rows[:300] if r["created_at"].startswith("2026-03") and len(r["events"]) == 2)
    # Unpaid since the 28th: 30 dpd by 28 April, within the second month on book (to 6 May).
    assert march.curve[0].dpd30 == 0 and march.curve[1].dpd30 == round(bads / 150, 6)
    assert march.curve[3].dpd90 == round(bads / 150, 6)
    assert months["2026-10"].curve[0].observed == 1


def test_rule_rows_count_live_traffic_and_bad_rates_of_hits(rows):
    report = evaluate(rows, BadDefinition(), AS_OF, date(2026, 3, 1), date(2026, 10, 31))
    flag, rej = report.rules
    assert flag.rule_id == "FLAG_X" and flag.evaluated == 303
    assert flag.bad_rate_hit == 1.0 and flag.lift == round(1.0 / report.bad_rate, 4)
    assert (rej.hit, rej.reject, rej.unique_reject, rej.matured_hit) == (1, 1, 1, 0)


def test_without_both_classes_there_is_no_ks():
    rows = [case_row(1, "2026-03", "APPROVE", 0.1, False)]
    report = evaluate(rows, BadDefinition(), AS_OF, date(2026, 3, 1), date(2026, 3, 31))
    assert (
        report.champion is not None and report.champion.ks is None and "both" in (report.champion.note or "")
    )
