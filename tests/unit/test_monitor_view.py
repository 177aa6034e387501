"""The monitor's view of a case: feature values from the case archive, not the case record."""

from __future__ import annotations

from datetime import UTC, datetime

from lendguard.cases.archive import DerivedPart
from lendguard.cases.record import CaseRecord
from lendguard.monitoring.view import RecordSource, view_of_case

AT = datetime(2026, 3, 1, 4, tzinfo=UTC)


def _record() -> CaseRecord:
    return CaseRecord(
        case_id="C1", application_id="A1", status="DECIDED", decision="APPROVE", automated_decision="APPROVE",
        created_at=AT, facts_seen={"applicant.monthly_income": 9999.0, "applicant.age": 30.0},
    )  # fmt: skip


def test_feature_values_come_from_the_archived_facts() -> None:
    derived = DerivedPart(
        facts={"applicant.monthly_income": 4200, "bureau.open_loans": None, "application.channel": "app",
               "lists.black.any": False},
    )  # fmt: skip
    view = view_of_case(_record(), derived)
    # the archive's value, not facts_seen's; text facts left out; None (asked, no answer) kept
    assert view.features == {
        "applicant.monthly_income": 4200.0,
        "bureau.open_loans": None,
        "lists.black.any": False,
    }


def test_an_erased_archive_gives_no_feature_values_but_the_case_still_counts() -> None:
    view = view_of_case(_record(), None)
    assert view.features == {} and view.outcome == "APPROVE"
    source = RecordSource([_record()], {})
    assert [v.features for v in source.cases_between(AT.date(), AT.date())] == [{}]
