"""The customer feature job: recompute every recent customer's features into the feature table.

Run by its own EventBridge Scheduler schedule (``customer_features_schedule`` in infra/config,
Asia/Shanghai; it joins the nightly in-loan run when that exists). It reads the cases of the
last ``lookback_days`` from the cases table's status index (a batch read, off the request path),
groups them by hashed ID number, derives each customer's loans from their loan events, writes
one row per customer with the run's time, then the run marker that online reads check.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.internal.features import FeatureRow, compute_row
from lendguard.outcomes.snapshot import LoanSnapshot, account_snapshots

PAGE = 500


class FeatureJobEvent(Model):
    """The scheduler's input (empty: the defaults)."""

    model_config = ConfigDict(extra="forbid")

    lookback_days: int = Field(default=400, ge=1, le=3650)


def run_feature_job(event: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Compute and write the rows; returns counts (no identifiers)."""
    from lendguard.cases.record import CASE_STATUSES
    from lendguard.store import own_data
    from lendguard.store.cases import CaseQuery, query_cases
    from lendguard.store.outcomes import events_of_cases

    request = FeatureJobEvent.model_validate(event or {})
    now = now or datetime.now(UTC)
    query = CaseQuery(
        statuses=CASE_STATUSES, created_from=now - timedelta(days=request.lookback_days), created_to=now
    )
    cases_of: dict[str, list[tuple[str, str]]] = defaultdict(list)
    token: str | None = None
    while True:
        page, token = query_cases(query, PAGE, token)
        for case in page:
            if case.subject is not None and case.decision is not None:
                cases_of[case.subject.id_number].append((case.case_id, case.decision))
        if token is None:
            break
    rows: list[FeatureRow] = []
    for customer, cases in cases_of.items():
        loan_cases = [case_id for case_id, decision in cases if decision != "REJECT"]
        loans: list[LoanSnapshot] = []
        for case_id, events in events_of_cases(loan_cases).items():
            loans.extend(account_snapshots(case_id, events, now.date()))
        rows.append(compute_row(customer, cases, loans, now))
    written = own_data.put_feature_rows(rows)
    own_data.put_run_marker(now, written)
    return {"computed_at": now.isoformat(), "customers": written}
