"""Concurrent clients against a served API: what ``bench/serve.py`` and the load test run.

Each client is a thread sending ``POST /v1/decisions`` over its own connections; the result
counts answers by status, connection errors, and the wall time, so throughput at different
client counts is measured the same way in one run.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from lendguard.offline.synthetic import synthetic_applications


@dataclass
class LoadResult:
    clients: int
    sent: int
    seconds: float
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)  # connection resets, timeouts ...
    case_ids: dict[str, str] = field(default_factory=dict)  # application id -> case id

    @property
    def per_second(self) -> float:
        return self.sent / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return sum(self.errors.values()) + sum(n for s, n in self.statuses.items() if s != 200)


def fresh_applications(n: int, prefix: str, seed: int = 11) -> list[dict[str, Any]]:
    """``n`` distinct valid applications, submitted now (the API refuses stale claims)."""
    now = datetime.now(UTC).isoformat()
    return [
        {**raw, "application_id": f"{prefix}-{i:05d}", "submitted_at": now}
        for i, raw in enumerate(synthetic_applications(n, seed))
    ]


# Generous: the local stack resolves one request at a time, so the last of 50 queued clients
# waits for the 49 before it; what is measured is whether connections are dropped.
CLIENT_TIMEOUT_S = 600.0


def _post(endpoint: str, token: str, application: dict[str, Any]) -> tuple[int | None, str, str | None]:
    request = urllib.request.Request(
        endpoint.rstrip("/") + "/v1/decisions",
        data=json.dumps(application).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT_S) as resp:
            return resp.status, application["application_id"], json.loads(resp.read()).get("case_id")
    except urllib.error.HTTPError as exc:
        return exc.code, application["application_id"], None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, application["application_id"], type(reason).__name__


def run_clients(
    endpoint: str, token: str, applications: Sequence[dict[str, Any]], clients: int
) -> LoadResult:
    """Send every application once, from ``clients`` concurrent clients."""
    result = LoadResult(clients=clients, sent=len(applications), seconds=0.0)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        for status, app_id, detail in pool.map(lambda a: _post(endpoint, token, a), applications):
            if status is None:
                result.errors[detail or "error"] += 1
                continue
            result.statuses[status] += 1
            if status == 200 and detail:
                result.case_ids[app_id] = detail
    result.seconds = time.perf_counter() - started
    return result


def cases_per_application(application_ids: Sequence[str]) -> Counter[int]:
    """How many cases each application has (the by_application GSI): {cases: applications}."""
    from lendguard.cases.record import CASE_STATUSES
    from lendguard.store import cases

    counts: Counter[int] = Counter()
    for app_id in application_ids:
        query = cases.CaseQuery(statuses=list(CASE_STATUSES), application_id=app_id)
        counts[len(cases.query_cases(query, 10)[0])] += 1
    return counts
