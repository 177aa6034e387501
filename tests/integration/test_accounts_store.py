"""The accounts table on moto: conditional create, versioned save, apply at most once per key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest


def test_accounts_are_written_once_changed_by_version_and_applied_once_per_key(runtime):
    from lendguard.book.accounts import AuditEntry, apply_key, open_account
    from lendguard.core.errors import Conflict
    from lendguard.store.accounts import DynamoAccountStore

    store = DynamoAccountStore()
    acct = open_account(
        account_id="ACC-STORE-1", customer_key="c" * 64, product="cash", mode="revolving",
        credit_limit=Decimal("5000"), apr=Decimal("0.24"), term_months=6, terms=[6], repayment_method="annuity",
        fees=[], cost_cap=Decimal("0.36"), cost_annualisation="irr_x12", opened_on=date(2026, 1, 1),
        valid_until=date(2027, 1, 1),
    )  # fmt: skip
    assert store.create(acct) is True and store.create(acct) is False
    assert store.get("ACC-STORE-1") == acct and store.get("ACC-NONE") is None
    assert [a.account_id for a in store.of_customer("c" * 64)] == ["ACC-STORE-1"]
    changed = acct.model_copy(update={"credit_limit": Decimal("6000"), "version": 1})
    store.save(changed)
    with pytest.raises(Conflict):
        store.save(changed)  # a second writer that read version 0
    key = apply_key("ACC-STORE-1", "inloan", date(2026, 3, 1))
    entry = AuditEntry(apply_key=key, job="inloan", run_date=date(2026, 3, 1), action="FREEZE",
                       changes={"status": ["ACTIVE", "FROZEN"]}, reasons=["IL_FREEZE_DPD"])  # fmt: skip
    current = store.get("ACC-STORE-1")
    assert store.apply(current.model_copy(update={"status": "FROZEN"}), entry) is True
    assert store.apply(current, entry) is False  # a re-run of the same date, from a stale read
    stored = store.get("ACC-STORE-1")
    assert stored.status == "FROZEN" and stored.version == 2 and [e.apply_key for e in stored.audit] == [key]
    assert any(a.account_id == "ACC-STORE-1" for a in store.accounts())
