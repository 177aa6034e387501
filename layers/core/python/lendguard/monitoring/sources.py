"""The deployment's cases as a :class:`~lendguard.monitoring.view.CaseSource` (read through ``store``):
records from the case table, feature values from each case's archive (its derived part)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from lendguard.cases.archive import DerivedPart
from lendguard.cases.record import CASE_STATUSES, CaseRecord
from lendguard.core.errors import NotFound
from lendguard.monitoring.days import day_bounds
from lendguard.monitoring.delinquency import AccountOutcome
from lendguard.monitoring.view import CaseView, outcome_of, view_of_case
from lendguard.store.cases import CaseQuery, query_cases

PAGE = 500


def derived_of(case_id: str) -> DerivedPart | None:
    """A case's archived derived part (None when it has no archive, or it is erased or expired)."""
    from lendguard.store import archive

    try:
        return archive.get_archive(case_id, personal=False).derived
    except NotFound:
        return None


class CaseTableSource:
    """Cases by creation time, every status, a page at a time (the table's status index)."""

    def approved_between(self, first: date, last: date) -> Iterator[AccountOutcome]:
        """Approved cases with their loan events (one Query per approved case)."""
        from lendguard.store import outcomes

        for case in self._records(first, last):
            if case.decision == "APPROVE":
                yield outcome_of(case, outcomes.events_of(case.case_id))

    def cases_between(self, first: date, last: date) -> Iterator[CaseView]:
        for case in self._records(first, last):
            yield view_of_case(case, derived_of(case.case_id))

    def _records(self, first: date, last: date) -> Iterator[CaseRecord]:
        start, _ = day_bounds(first)
        _, end = day_bounds(last)
        query = CaseQuery(statuses=CASE_STATUSES, created_from=start, created_to=end)
        token: str | None = None
        while True:
            page, token = query_cases(query, PAGE, token)
            for case in page:
                if case.created_at < end:  # created_to is inclusive in the index query
                    yield case
            if token is None:
                return
