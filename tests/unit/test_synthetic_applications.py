"""The application generator over many seeds: every application it yields parses."""

from __future__ import annotations

from datetime import date

import pytest

from lendguard.core.application import parse_application
from lendguard.offline.synthetic import synthetic_applications


@pytest.mark.parametrize("seed", [7, 13])
def test_cards_issued_on_29_february_get_a_real_expiry_date(seed: int) -> None:
    # Seed 13 issues a card on 2024-02-29 at application 104; ten years later has no 29 February.
    expiries = []
    for application in synthetic_applications(400, seed=seed):
        parse_application(application)
        until = (application.get("kyc") or {}).get("id_card", {}).get("valid_until")
        if until and until != "long_term":
            expiries.append(date.fromisoformat(until))
    assert expiries
