"""In-loan and post-loan jobs on hand-made shards: actions, limits, re-loans, contact rules, apply."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest
import yaml

from lendguard.book.accounts import open_account
from lendguard.book.jobs import JOBS, JobContext
from lendguard.book.memory import MemoryAccountStore
from lendguard.book.rules import trace_of
from lendguard.book.snapshot import arrow_schema
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.loader import load_policy_data
from lendguard.store.events import RecordingPublisher

ROOT = Path(__file__).resolve().parents[2]
RUN = date(2026, 11, 2)
BASE = {
    "customer_key": "k" * 64, "product": "revolving", "mode": "revolving", "status": "ACTIVE",
    "opened_on": date(2025, 1, 1), "as_of": RUN, "credit_limit": 5000.0, "balance": 3000.0, "available": 2000.0,
    "apr": 0.24, "months_on_book": 20, "utilisation": 0.6, "days_past_due": 0, "max_dpd_3m": 0, "max_dpd_12m": 0,
    "payment_ratio_3m": 1.0, "draws_3m": 1, "limit_changes_12m": 0, "days_since_limit_change": 400,
    "loans_repaid": 0, "arrears": 0.0, "complaints_12m": 0, "contacts_today": 0, "vulnerable": False,
    "disputed": False, "emergency_contact_only": False,
}  # fmt: skip


def policy(**sections):
    data = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    data.update(sections)
    return load_policy_data(data)


def shard(*rows: dict) -> pa.Table:
    return pa.Table.from_pylist(
        [{**BASE, "account_id": f"A{i}", **r} for i, r in enumerate(rows)], schema=arrow_schema()
    )


@pytest.fixture(scope="module")
def behaviour() -> ModelArtifact:
    return ModelArtifact.load(ROOT / "tests" / "data" / "models" / "behaviour-xgb" / "v1")


def test_in_loan_actions_follow_the_rules_and_their_precedence(behaviour):
    ctx = JobContext(job="inloan", run_id="r1", run_date=RUN, policy=policy(), model=behaviour)
    rows = shard(
        {},  # clean, seasoned, used: a raise
        {"days_past_due": 45, "max_dpd_3m": 45, "max_dpd_12m": 45},  # freeze beats limit_down
        {"days_since_limit_change": 10},  # a raise would qualify, but the limit changed 10 days ago
        {"utilisation": 0.1, "balance": 500.0, "loans_repaid": 2},  # little used, repaid twice: re-loan
        {"status": "FROZEN", "payment_ratio_3m": 1.0},  # cured: unfreeze
    )
    out = JOBS["inloan"].score(rows, ctx)
    got = out.to_pylist()
    assert [r["action"] for r in got] == ["LIMIT_UP", "FREEZE", "NONE", "RELOAN_ELIGIBLE", "UNFREEZE"]
    assert (
        got[0]["new_limit"] > 5000 and got[0]["new_limit"] <= 5000 + 5000 and got[0]["new_limit"] % 100 == 0
    )
    assert got[0]["reasons"] == ["IL_LIMIT_UP_GOOD"] and got[1]["reasons"] == ["IL_FREEZE_DPD"]
    assert got[2]["new_limit"] == 5000
    assert got[3]["reloan_limit"] == 5000 and got[3]["reloan_apr"] == pytest.approx(0.22)
    assert all(r["behaviour_score"] > 0 for r in got)
    trace = trace_of(out.column("trace"), 2)
    assert trace["limit_up"]["in_cooldown"] is True and trace["limit_up"]["cooldown_days"] == 90
    up = next(r for r in trace["rules"] if r["rule_id"] == "IL_LIMIT_UP_GOOD")
    assert (
        up["outcome"] == "no_hit" and up["observed"]["offer.increase"] == 0 and up["params"]["min_mob"] == 6
    )
    assert len(trace["rules"]) == len(ctx.policy.in_loan.rules)
    assert JOBS["inloan"].summarise(out)["by_action"]["FREEZE"] == 1


def test_limit_up_is_capped_by_the_product_maximum_and_the_increase_cap(behaviour):
    ctx = JobContext(job="inloan", run_id="r1", run_date=RUN, policy=policy(), model=behaviour)
    (row,) = JOBS["inloan"].score(shard({"credit_limit": 19500.0, "balance": 12000.0}), ctx).to_pylist()
    assert row["action"] == "LIMIT_UP" and row["new_limit"] == 20000  # the product's max_amount


def test_a_reloan_whose_cost_is_above_the_cap_is_dropped(behaviour):
    # A 5% upfront fee on the one-month single loan costs far more than 36% a year.
    data = yaml.safe_load((ROOT / "policies" / "default.yaml").read_text())
    data["products"]["single"]["fees"] = [{"name": "service", "timing": "upfront", "rate": 0.05}]
    data["products"]["single"]["min_amount"] = 300
    pol = load_policy_data(data)
    ctx = JobContext(job="inloan", run_id="r1", run_date=RUN, policy=pol, model=behaviour)
    rows = shard({"product": "single", "mode": "single_draw", "credit_limit": 3000.0, "balance": 0.0,
                  "utilisation": 0.0, "loans_repaid": 1})  # fmt: skip
    (row,) = JOBS["inloan"].score(rows, ctx).to_pylist()
    assert (
        row["action"] == "NONE" and row["reasons"] == ["RELOAN_COST_ABOVE_CAP"] and row["reloan_apr"] is None
    )


def test_post_loan_segments_priorities_flags_and_contact_rules():
    pol = policy()
    ctx = JobContext(job="postloan", run_id="r1", run_date=RUN, policy=pol, model=None)
    rows = shard(
        {"days_past_due": 3, "arrears": 300.0, "balance": 1000.0},
        {"days_past_due": 40, "arrears": 900.0, "balance": 4000.0, "complaints_12m": 2, "vulnerable": True},
        {"days_past_due": 45, "arrears": 900.0, "balance": 2000.0, "contacts_today": 3},
        {"days_past_due": 120, "disputed": True},
        {},
    )
    got = JOBS["postloan"].score(rows, ctx).to_pylist()
    assert [r["segment"] for r in got] == ["early_reminder", "field", "field", "write_off_review", "none"]
    assert [r["action"] for r in got] == ["EARLY_REMINDER", "FIELD", "FIELD", "WRITE_OFF_REVIEW", "NONE"]
    assert [r["priority"] for r in got] == [1, 1, 2, 1, 0]  # the larger balance first
    assert got[1]["complaint_flags"] == ["PL_PRIOR_COMPLAINTS", "PL_VULNERABLE"]
    assert [r["contact_allowed"] for r in got] == [True, True, False, False, False]
    assert got[2]["reasons"] == ["PL_SEG_FIELD", "PL_DAILY_CAP"] and "PL_DISPUTE_HOLD" in got[3]["reasons"]
    # Quiet hours are a rule: a queue worked at 22:00 contacts nobody; compliance may move the hours.
    late = policy(post_loan={"contact_hour": 22})
    assert not any(
        JOBS["postloan"]
        .score(rows, ctx.model_copy(update={"policy": late}))
        .column("contact_allowed")
        .to_pylist()
    )
    third = policy(post_loan={"contact_party": "third_party"})
    assert not any(
        JOBS["postloan"]
        .score(rows, ctx.model_copy(update={"policy": third}))
        .column("contact_allowed")
        .to_pylist()
    )


def test_apply_changes_each_account_once_per_run_date_and_publishes_notices(behaviour):
    def account(account_id: str):
        return open_account(
            account_id=account_id, customer_key="k" * 64, product="revolving", mode="revolving",
            credit_limit=Decimal("5000"), apr=Decimal("0.24"), term_months=12, terms=[12], repayment_method="annuity",
            fees=[], cost_cap=Decimal("0.36"), cost_annualisation="irr_x12", opened_on=date(2025, 1, 1),
            valid_until=date(2027, 1, 1),
        )  # fmt: skip

    store = MemoryAccountStore([account("A0"), account("A1")])
    ctx = JobContext(job="inloan", run_id="r1", run_date=RUN, policy=policy(), model=behaviour)
    actions = JOBS["inloan"].score(
        shard({}, {"days_past_due": 45, "max_dpd_3m": 45, "max_dpd_12m": 45}, {}), ctx
    )
    events = RecordingPublisher()
    dry = JOBS["inloan"].apply(actions, ctx.model_copy(update={"dry_run": True}), store, events)
    assert dry["dry_run"] == 3 and dry["applied"] == 0 and events.sent == [] and store.get("A0").version == 0
    counts = JOBS["inloan"].apply(actions, ctx, store, events)
    assert (counts["applied"], counts["missing"], counts["published"]) == (2, 1, 2)
    raised, frozen = store.get("A0"), store.get("A1")
    assert raised.credit_limit > 5000 and raised.limit_changed_on == RUN and frozen.status == "FROZEN"
    assert [e.apply_key for e in frozen.audit] == [f"A1#inloan#{RUN}"] and frozen.audit[0].reasons == [
        "IL_FREEZE_DPD"
    ]
    kinds = dict(events.sent)
    assert set(kinds) == {"LimitChanged", "AccountFrozen"}
    assert (
        "授信额度" in kinds["LimitChanged"]["notice"]["zh-CN"]
        and "raised" in kinds["LimitChanged"]["notice"]["en"]
    )
    again = JOBS["inloan"].apply(actions, ctx, store, events)
    assert (again["applied"], again["already_applied"], len(events.sent)) == (0, 2, 2)
    assert store.get("A0").credit_limit == raised.credit_limit


def test_the_semantic_diff_shows_in_loan_and_post_loan_changes():
    from lendguard.policy.diff import diff_policies

    old = policy()
    new = policy(in_loan={"limit_up": {"cooldown_days": 60}},
                 post_loan={"contact_rules": [r.model_dump(mode="json") for r in old.post_loan.contact_rules[1:]]})  # fmt: skip
    paths = {(c.path, c.kind) for c in diff_policies(old, new).changes}
    assert ("in_loan.limit_up.cooldown_days", "changed") in paths
    assert ("post_loan.contact_rules[PL_QUIET_HOURS]", "removed") in paths


def test_apply_reads_the_account_again_when_it_changed_meanwhile(behaviour):
    from lendguard.core.errors import Conflict

    class Racy(MemoryAccountStore):
        raced = False

        def apply(self, account, entry):
            if not self.raced:  # a draw lands between the job's read and its write
                self.raced = True
                current = self.get(account.account_id)
                self._accounts[account.account_id] = current.model_copy(
                    update={"version": current.version + 1}
                )
                raise Conflict("changed")
            return super().apply(account, entry)

    store = Racy([open_account(
        account_id="A0", customer_key="k" * 64, product="revolving", mode="revolving", credit_limit=Decimal("5000"),
        apr=Decimal("0.24"), term_months=12, terms=[12], repayment_method="annuity", fees=[], cost_cap=Decimal("0.36"),
        cost_annualisation="irr_x12", opened_on=date(2025, 1, 1), valid_until=date(2027, 1, 1),
    )])  # fmt: skip
    ctx = JobContext(job="inloan", run_id="r1", run_date=RUN, policy=policy(), model=behaviour)
    events = RecordingPublisher()
    counts = JOBS["inloan"].apply(JOBS["inloan"].score(shard({}), ctx), ctx, store, events)
    assert (counts["applied"], counts["conflicts"], counts["published"]) == (1, 0, 1)
    assert store.get("A0").version == 2 and store.get("A0").credit_limit > 5000


def _account(account_id: str, **update):
    return open_account(
        account_id=account_id, customer_key="k" * 64, product="revolving", mode="revolving",
        credit_limit=Decimal("5000"), apr=Decimal("0.24"), term_months=12, terms=[12], repayment_method="annuity",
        fees=[], cost_cap=Decimal("0.36"), cost_annualisation="irr_x12", opened_on=date(2025, 1, 1),
        valid_until=date(2027, 1, 1),
    ).model_copy(update=update)  # fmt: skip


def test_post_loan_apply_counts_the_contact_for_the_daily_cap_and_publishes_the_assignment():
    from lendguard.book.snapshot import snapshot_row

    store = MemoryAccountStore([
        _account("A0"), _account("A1", contacts_on=RUN, contacts_that_day=3), _account("A2"),
        _account("A3", contacts_on=date(2026, 11, 1), contacts_that_day=2),
    ])  # fmt: skip
    ctx = JobContext(job="postloan", run_id="r1", run_date=RUN, policy=policy(), model=None)
    actions = JOBS["postloan"].score(
        shard(
            {"days_past_due": 3, "arrears": 300.0},
            {"days_past_due": 45, "arrears": 900.0, "contacts_today": 3},  # at the daily cap: blocked
            {},  # not overdue: NONE, nothing applied
            {"days_past_due": 5, "arrears": 100.0},  # contacted yesterday: today's count starts at 1
        ),
        ctx,
    )
    assert actions.column("contact_allowed").to_pylist() == [True, False, False, True]
    events = RecordingPublisher()
    counts = JOBS["postloan"].apply(actions, ctx, store, events)
    assert (counts["applied"], counts["published"]) == (3, 3)
    assert [snapshot_row(store.get(a), [], RUN)["contacts_today"] for a in ("A0", "A1", "A2", "A3")] == [
        1,
        3,
        0,
        1,
    ]
    sent = events.sent
    assert {kind for kind, _ in sent} == {"CollectionAssigned"}
    first = next(detail for _, detail in sent if detail["account_id"] == "A0")
    assert first["collection"]["segment"] == "early_reminder" and first["apply_key"] == f"A0#postloan#{RUN}"
    assert "notice" not in first and first["action"] == "EARLY_REMINDER"
    again = JOBS["postloan"].apply(actions, ctx, store, events)
    assert (again["applied"], again["already_applied"], len(events.sent)) == (0, 3, 3)
    assert store.get("A0").contacts_today(RUN) == 1  # a re-run contacts no one twice


def test_the_audit_stays_bounded_over_years_and_a_stale_rerun_is_refused():
    from datetime import timedelta

    from lendguard.book.accounts import AUDIT_RERUN_DAYS, AuditEntry, apply_key

    store = MemoryAccountStore([_account("A0")])
    start = date(2026, 1, 1)
    for day in range(3 * 365):  # three years of daily post-loan entries, a limit change each quarter
        run = start + timedelta(days=day)
        changes = {"credit_limit": [5000, 5100]} if day % 91 == 0 else {"collection": {"segment": "call"}}
        entry = AuditEntry(apply_key=apply_key("A0", "postloan", run), job="postloan", run_date=run, action="CALL",
                           changes=changes, reasons=["PL_SEG_CALL"])  # fmt: skip
        assert store.apply(store.get("A0"), entry)
    account = store.get("A0")
    last = start + timedelta(days=3 * 365 - 1)
    assert len(account.audit) <= AUDIT_RERUN_DAYS + 5
    assert account.limit_changes_since(last - timedelta(days=365)) == 4  # the year's changes are all kept
    assert len(account.model_dump_json()) < 60_000  # one DynamoDB item holds 400 KB
    assert not account.rerun_expired(last - timedelta(days=AUDIT_RERUN_DAYS - 1))
    assert account.rerun_expired(last - timedelta(days=AUDIT_RERUN_DAYS))
    ctx = JobContext(
        job="postloan", run_id="r1", run_date=last - timedelta(days=100), policy=policy(), model=None
    )
    actions = JOBS["postloan"].score(shard({"days_past_due": 45, "arrears": 900.0}), ctx)
    counts = JOBS["postloan"].apply(actions, ctx, store, RecordingPublisher())
    assert (counts["expired"], counts["applied"]) == (1, 0) and store.get("A0").version == account.version
