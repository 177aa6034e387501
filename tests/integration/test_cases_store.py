"""The cases table on moto: conditional writes, and listing through the GSIs page by page."""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta

import pytest

from lendguard import deployment
from lendguard.cases.record import CaseRecord
from lendguard.core.errors import Conflict, InvalidInput, NotFound
from lendguard.store import aws
from lendguard.store import cases as store
from lendguard.store.tables import create_table, table_spec

T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def table():
    """Only the cases table and the data bucket, created from ``deployment`` (no functions)."""
    from moto import mock_aws

    names = {deployment.ENV_CASES_TABLE: "cases-it", deployment.ENV_DATA_BUCKET: "data-it"}
    saved = {k: os.environ.get(k) for k in names}
    os.environ.update(names)
    with mock_aws():
        aws.reset_clients()
        create_table(table_spec(deployment.ENV_CASES_TABLE))
        aws.client("s3").create_bucket(Bucket="data-it")
        yield
    aws.reset_clients()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


def record(
    case_id: str, created: datetime, status: str = "DECIDED", decision: str | None = "APPROVE", app: str = "A",
    product: str | None = None,
):  # fmt: skip
    return CaseRecord(
        case_id=case_id, application_id=app, status=status, decision=decision, created_at=created,
        product=product,
    )  # fmt: skip


def test_put_get_and_not_found(table):
    store.put_case(record("C-get", T0))
    case = store.get_case("C-get")
    assert case.case_id == "C-get" and case.version == 1
    with pytest.raises(NotFound):
        store.get_case("C-nope")


def test_a_write_on_a_stale_version_loses(table):
    store.put_case(record("C-ver", T0))
    first, second = store.read_case("C-ver").case, store.read_case("C-ver").case
    store.save_case(first, expected_version=1)
    with pytest.raises(store.VersionConflict):
        store.save_case(second, expected_version=1)
    assert store.get_case("C-ver").version == 2


def test_only_one_answer_per_review_task(table):
    store.put_case(record("C-task", T0, "PENDING_REVIEW", "REVIEW"))
    stored = store.read_case("C-task")
    store.save_case(stored.case, expected_version=1, task=("tid-1", "secret-token"))
    opened = store.read_case("C-task")
    assert (opened.task_id, opened.task_token) == ("tid-1", "secret-token")
    assert "secret-token" not in opened.case.model_dump_json()
    # Two reviewers read the same open task; the first answer closes it, the second loses.
    a, b = store.read_case("C-task"), store.read_case("C-task")
    store.save_case(a.case, expected_version=a.case.version, expected_task_id="tid-1")
    with pytest.raises(store.VersionConflict):
        store.save_case(b.case, expected_version=b.case.version, expected_task_id="tid-1")
    closed = store.read_case("C-task")
    assert closed.task_id is None and closed.task_token is None
    # Even at the current version, an answer for a task that is no longer open is refused.
    with pytest.raises(store.VersionConflict):
        store.save_case(closed.case, expected_version=closed.case.version, expected_task_id="tid-1")


def test_update_case_retries_over_a_concurrent_writer(table):
    store.put_case(record("C-retry", T0))
    calls = []

    def change(stored):
        calls.append(stored.case.version)
        if len(calls) == 1:  # someone else writes between our read and our write
            other = store.read_case("C-retry").case
            store.save_case(other, expected_version=other.version)
        stored.case.redecided_by = "ops"
        return stored.case, None

    assert store.update_case("C-retry", change).redecided_by == "ops"
    assert calls == [1, 2]


def test_a_link_is_claimed_once(table):
    store.put_case(record("C-failed", T0, "FAILED", None))
    store.claim_link("C-failed", "redecided_as", "C-new", require_status="FAILED")
    with pytest.raises(Conflict, match="already re-decided as C-new"):
        store.claim_link("C-failed", "redecided_as", "C-other", require_status="FAILED")
    store.put_case(record("C-fine", T0))
    with pytest.raises(Conflict, match="only a FAILED case"):
        store.claim_link("C-fine", "redecided_as", "C-x", require_status="FAILED")


# ---- listing -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def listed(table):
    """60 cases over 30 days in random insertion order: statuses, decisions, two applications."""
    rng = random.Random(6)
    kinds = [("DECIDED", "APPROVE"), ("DECIDED", "REJECT"), ("PENDING_REVIEW", "REVIEW"), ("FAILED", None)]
    made = []
    for i in range(60):
        status, decision = kinds[rng.randrange(len(kinds))] if i % 7 else ("DECIDED", "REVIEW")
        created = T0 + timedelta(hours=12 * i, microseconds=rng.randrange(1000))
        app, product = "A-even" if i % 2 == 0 else "A-odd", "cash" if i % 3 == 0 else "revolving"
        made.append(record(f"L{i:03d}", created, status, decision, app=app, product=product))
    for case in rng.sample(made, len(made)):
        store.put_case(case)
    return sorted(made, key=lambda c: (c.created_at, c.case_id), reverse=True)


def walk(query: store.CaseQuery, limit: int) -> tuple[list[str], int]:
    ids, token, pages = [], None, 0
    while True:
        page, token = store.query_cases(query, limit, token)
        pages += 1
        assert len(page) <= limit
        ids += [c.case_id for c in page]
        if token is None:
            return ids, pages
        assert pages < 200


def only_listed(ids: list[str]) -> list[str]:
    return [i for i in ids if i.startswith("L")]


ALL = ("DECIDED", "PENDING_REVIEW", "FAILED")


@pytest.mark.parametrize("limit", [1, 4, 7, 100])
@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"statuses": ("DECIDED",)},
        {"decision": "REJECT"},
        {"statuses": ("DECIDED",), "decision": "REVIEW"},
        {"application_id": "A-odd"},
        {"application_id": "A-even", "statuses": ("FAILED",)},
        {"created_from": T0 + timedelta(days=5), "created_to": T0 + timedelta(days=12, hours=1)},
        {"product": "cash"},
        {"statuses": ("PENDING_REVIEW",), "product": "revolving"},
    ],
    ids=["all", "status", "decision", "status+decision", "application", "application+status", "from-to",
         "product", "queue"],
)  # fmt: skip
@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest", "oldest"])
def test_pages_return_every_match_once_in_order(listed, filters, limit, oldest_first, monkeypatch):
    # Listing is a Query on the GSIs: a Scan here would be a bug.
    monkeypatch.setattr(aws.client("dynamodb"), "scan", lambda **_: pytest.fail("listing scanned the table"))
    query = store.CaseQuery(**{"statuses": ALL, **filters}, oldest_first=oldest_first)

    def matches(c: CaseRecord) -> bool:
        return (
            c.status in query.statuses
            and (query.decision is None or c.decision == query.decision)
            and (query.application_id is None or c.application_id == query.application_id)
            and (query.created_from is None or c.created_at >= query.created_from)
            and (query.created_to is None or c.created_at <= query.created_to)
            and (query.product is None or c.product == query.product)
        )

    expected = [c.case_id for c in listed if matches(c)]
    if oldest_first:
        expected.reverse()
    ids, _ = walk(query, limit)
    assert only_listed(ids) == expected


def test_a_token_only_works_with_its_own_filters(listed):
    query = store.CaseQuery(statuses=ALL)
    _, token = store.query_cases(query, 5)
    for other in (store.CaseQuery(statuses=("FAILED",)), store.CaseQuery(statuses=ALL, oldest_first=True)):
        with pytest.raises(InvalidInput) as exc:
            store.query_cases(other, 5, token)
        assert exc.value.details[0].field == "next_token" and "other filters" in exc.value.details[0].message
    for bad in ("garbage!!", "eyJ2IjoyfQ", token[:-6]):
        with pytest.raises(InvalidInput) as exc:
            store.query_cases(query, 5, bad)
        assert exc.value.details[0].field == "next_token"


def test_a_retried_first_write_never_overwrites_a_case_that_moved_on(table):
    assert store.put_case(record("C-first", T0, "PENDING_REVIEW", "REVIEW"), first_write=True)
    assert store.put_case(record("C-first", T0, "PENDING_REVIEW", "REVIEW"), first_write=True)  # a retry
    stored = store.read_case("C-first")
    store.save_case(stored.case, expected_version=1, task=("tid", "token"))  # the review task opened
    assert not store.put_case(record("C-first", T0, "PENDING_REVIEW", "REVIEW"), first_write=True)
    assert store.read_case("C-first").task_token == "token"


@pytest.mark.parametrize("oldest_first", [False, True], ids=["newest", "oldest"])
def test_a_read_budget_that_stops_early_skips_and_repeats_nothing(listed, oldest_first, monkeypatch):
    # One Query page per partition per list page: selective filters leave pages short, and the
    # partitions stop at different places; the merge must not run ahead of the slowest one.
    monkeypatch.setattr(store, "_MAX_READS_PER_PARTITION", 1)
    query = store.CaseQuery(statuses=ALL, decision="REVIEW", oldest_first=oldest_first)
    expected = [c.case_id for c in listed if c.decision == "REVIEW"]
    ids, _ = walk(query, 3)
    assert only_listed(ids) == (expected[::-1] if oldest_first else expected)
