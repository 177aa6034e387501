"""The case table as a :class:`~lendguard.monitoring.view.CaseSource` (read through ``store``)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from lendguard.cases.record import CASE_STATUSES
from lendguard.monitoring.days import day_bounds
from lendguard.monitoring.view import CaseView, view_of_case
from lendguard.store.cases import CaseQuery, query_cases

PAGE = 500


class CaseTableSource:
    """Cases by creation time, every status, a page at a time (the table's status index)."""

    def cases_between(self, first: date, last: date) -> Iterator[CaseView]:
        start, _ = day_bounds(first)
        _, end = day_bounds(last)
        query = CaseQuery(statuses=CASE_STATUSES, created_from=start, created_to=end)
        token: str | None = None
        while True:
            page, token = query_cases(query, PAGE, token)
            for case in page:
                if case.created_at < end:  # created_to is inclusive in the index query
                    yield view_of_case(case)
            if token is None:
                return
