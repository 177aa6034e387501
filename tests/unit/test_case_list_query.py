"""``GET /v1/cases`` query parsing: the queue's order and product filter, and their errors."""

from __future__ import annotations

import pytest

from lendguard.core.errors import InvalidInput
from lendguard.http.routes.cases import parse_list_query


def test_the_review_queue_query_is_oldest_first_with_its_filters() -> None:
    query, limit, token = parse_list_query(
        {"status": "PENDING_REVIEW", "order": "oldest", "product": "revolving", "limit": "25"}
    )
    assert query.oldest_first and query.product == "revolving" and list(query.statuses) == ["PENDING_REVIEW"]
    assert (limit, token) == (25, None)
    assert not parse_list_query({})[0].oldest_first  # newest first unless asked


def test_order_and_filters_change_the_token_fingerprint() -> None:
    base = parse_list_query({})[0]
    assert base.fingerprint() != parse_list_query({"order": "oldest"})[0].fingerprint()
    assert base.fingerprint() != parse_list_query({"product": "cash"})[0].fingerprint()


@pytest.mark.parametrize(
    ("params", "field"),
    [({"order": "asc"}, "order"), ({"product": "no spaces"}, "product"), ({"product": ""}, "product")],
)
def test_bad_order_or_product_is_named(params: dict[str, str], field: str) -> None:
    with pytest.raises(InvalidInput) as exc:
        parse_list_query(params)
    assert [d.field for d in exc.value.details] == [field]
