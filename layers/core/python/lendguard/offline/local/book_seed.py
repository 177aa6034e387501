"""A loan book in the local stack: synthetic accounts with loan events the snapshot derives from.

Each generated account (:mod:`lendguard.offline.book_synthetic`) becomes an
:class:`~lendguard.book.accounts.Account` with its limit, rate, status and servicing flags; an
account with a balance gets one loan drawn 35 days before ``as_of`` through the book's own
:func:`~lendguard.book.accounts.draw` (so it carries its schedule), its first instalment due 5
days before ``as_of``, a repayment in proportion to the generated payment ratio, and, when past
due, an ``overdue`` report of the generated days past due. The batch's snapshot of the seeded
book is therefore derived the way a real one is, from events.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from lendguard.book.accounts import Account, draw, open_account
from lendguard.core.errors import InvalidInput
from lendguard.outcomes.events import LoanEvent
from lendguard.policy.schema import Policy

_CENT = Decimal("0.01")


def _money(value: float) -> Decimal:
    return Decimal(str(round(value, 2))).quantize(_CENT)


def seeded_accounts(
    rows: list[dict[str, Any]], policy: Policy, as_of: date
) -> tuple[list[Account], list[LoanEvent]]:
    """Accounts and events for generated snapshot rows (products the policy lacks are skipped)."""
    accounts: list[Account] = []
    events: list[LoanEvent] = []
    pricing = policy.pricing
    for row in rows:
        product = policy.products.get(row["product"])
        if product is None:
            continue
        opened = min(row["opened_on"], as_of - timedelta(days=40))
        account = open_account(
            account_id=row["account_id"], customer_key=row["customer_key"], product=row["product"],
            mode=product.mode, credit_limit=_money(row["credit_limit"]), apr=Decimal(str(row["apr"])),
            term_months=max(product.terms), terms=product.terms, repayment_method=product.repayment_method,
            fees=product.fees, cost_cap=Decimal(str(pricing.effective_cost_cap)),
            cost_annualisation=pricing.cost_annualisation, opened_on=opened,
            valid_until=max(as_of + timedelta(days=365), opened),
        ).model_copy(update={
            "complaints_12m": row["complaints_12m"], "vulnerable": row["vulnerable"], "disputed": row["disputed"],
            "emergency_contact_only": row["emergency_contact_only"], "contacts_on": as_of,
            "contacts_that_day": row["contacts_today"],
        })  # fmt: skip
        amount = _money(min(max(row["balance"], float(product.min_amount)), row["credit_limit"]))
        case = row["account_id"]
        drawn = LoanEvent(event_id=f"{case}-d1", case_id=case, loan_id="L1", type="drawn",
                          date=as_of - timedelta(days=35), amount=amount)  # fmt: skip
        try:
            account = draw(account, drawn, [])
        except InvalidInput:
            accounts.append(account.model_copy(update={"status": row["status"]}))
            continue
        due = account.loans[0].schedule.instalments[0].payment
        paid = _money(float(due) * min(row["payment_ratio_3m"], 1.0))
        loan_events = [drawn, LoanEvent(event_id=f"{case}-i1", case_id=case, loan_id="L1", type="instalment_due",
                                        date=as_of - timedelta(days=5), amount=due)]  # fmt: skip
        if paid > 0:
            loan_events.append(LoanEvent(event_id=f"{case}-r1", case_id=case, loan_id="L1", type="repaid",
                                         date=as_of - timedelta(days=4), amount=paid))  # fmt: skip
        if row["days_past_due"] > 0:
            loan_events.append(LoanEvent(event_id=f"{case}-o1", case_id=case, loan_id="L1", type="overdue",
                                         date=as_of, days_past_due=row["days_past_due"]))  # fmt: skip
        status = row["status"] if row["status"] != "CHARGED_OFF" else "FROZEN"
        accounts.append(account.model_copy(update={"status": status, "version": 0}))
        events.extend(loan_events)
    return accounts, events


def seed_book(policy: Policy, n: int, seed: int, as_of: date) -> dict[str, int]:
    """Write ``n`` synthetic accounts and their events into the tables the environment names."""
    from lendguard.offline.book_synthetic import book_table
    from lendguard.store import outcomes
    from lendguard.store.accounts import DynamoAccountStore

    rows = book_table(n, seed, as_of, labels=False).to_pylist()
    accounts, events = seeded_accounts(rows, policy, as_of)
    written = DynamoAccountStore().put_many(accounts)
    return {"accounts": written, "events": outcomes.put_many(events)}
