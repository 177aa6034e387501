"""Loan events against the book: every event needs its account; a draw creates a loan on it.

:func:`lendguard.outcomes.ingest.record_events` calls :class:`BookCheck` after its own checks:
``prepare`` finds (or opens, from its approved case) each event's account and runs every
``drawn`` event through :func:`lendguard.book.accounts.draw` in date order, so two draws in one
batch count against the same available limit; ``commit`` writes the changed accounts
(conditional on their version) before any event is written, so a failed batch leaves neither
loans nor events behind.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from decimal import Decimal

from lendguard.book.accounts import Account, AccountStore, draw, line_valid_until, open_account
from lendguard.core.errors import Conflict, InvalidInput
from lendguard.outcomes.events import LoanEvent
from lendguard.outcomes.ingest import RowError
from lendguard.policy.schema import Policy

AccountOpener = Callable[[str], Account | None]


def account_from_case(case: object, policy: Policy) -> Account | None:
    """The account an approved case's offer opens, or None when the case has no offer.

    ``case`` is a :class:`lendguard.cases.record.CaseRecord` (typed loosely: the book sits below
    cases); the customer key is the case's keyed hash of the ID number.
    """
    offer = getattr(case, "offer", None)
    subject = getattr(case, "subject", None)
    product_id = getattr(case, "product", None)
    if getattr(case, "decision", None) != "APPROVE" or offer is None or subject is None or product_id is None:
        return None
    product = policy.products.get(product_id)
    if product is None:
        return None
    decided = getattr(case, "decided_at", None) or case.created_at  # type: ignore[attr-defined]
    # The earliest calendar date anywhere at that moment: draws carry the lender's local dates.
    opened_on = (decided - timedelta(hours=12)).date()
    return open_account(
        account_id=case.case_id,  # type: ignore[attr-defined]
        customer_key=subject.id_number, product=product_id, mode=offer.mode,
        credit_limit=Decimal(str(offer.credit_limit)), apr=Decimal(str(offer.apr)),
        term_months=offer.term_months, terms=product.terms, repayment_method=offer.repayment_method,
        fees=product.fees, cost_cap=Decimal(str(policy.pricing.effective_cost_cap)),
        cost_annualisation=policy.pricing.cost_annualisation, opened_on=opened_on,
        valid_until=max(
            offer.valid_until.date() + timedelta(days=1),
            line_valid_until(opened_on, offer.mode, product.validity_days, product.line_months),
        ),
    )  # fmt: skip


class BookCheck:
    """The book's part of recording a batch of events (see the module docstring)."""

    def __init__(
        self, store: AccountStore, opener: AccountOpener, recorded: Callable[[str], Sequence[LoanEvent]]
    ) -> None:
        self._store = store
        self._opener = opener
        self._recorded = recorded
        self._changed: dict[str, tuple[Account, bool]] = {}  # account id -> (account, is new)

    def _account(self, case_id: str) -> tuple[Account, bool] | None:
        if case_id in self._changed:
            return self._changed[case_id]
        found = self._store.get(case_id)
        if found is not None:
            return found, False
        opened = self._opener(case_id)
        return (opened, True) if opened is not None else None

    def prepare(
        self, accepted: Sequence[tuple[int, LoanEvent]]
    ) -> tuple[list[tuple[int, LoanEvent]], list[RowError]]:
        """The events that pass the book's checks, and a row error for each that does not."""
        errors: list[RowError] = []
        good: list[tuple[int, LoanEvent]] = []
        by_case: dict[str, list[tuple[int, LoanEvent]]] = {}
        for row, event in accepted:
            by_case.setdefault(event.case_id, []).append((row, event))
        for case_id, items in by_case.items():
            found = self._account(case_id)
            if found is None:
                errors.extend(
                    RowError(row=row, field="case_id", message=f"unknown account {case_id}")
                    for row, _ in items
                )
                continue
            account, new = found
            seen = list(self._recorded(case_id))
            failed_loans: set[str] = set()
            for row, event in sorted(
                items, key=lambda item: (item[1].date, item[1].type != "drawn", item[0])
            ):
                if event.type != "drawn":
                    if event.loan_id in failed_loans:
                        errors.append(
                            RowError(row=row, field="loan_id", message=f"loan {event.loan_id} was not drawn")
                        )
                        continue
                    good.append((row, event))
                    seen.append(event)
                    continue
                try:
                    changed = draw(account, event, seen)
                except InvalidInput as exc:
                    failed_loans.add(event.loan_id)
                    errors.extend(RowError(row=row, field=d.field, message=d.message) for d in exc.details)
                    continue
                if changed is not account:
                    account = changed
                    self._changed[case_id] = (account, new)
                good.append((row, event))
                seen.append(event)
        return sorted(good, key=lambda item: item[0]), errors

    def commit(self) -> None:
        """Write the accounts the batch changed (new ones conditionally on their id)."""
        for account, new in self._changed.values():
            if new:
                if not self._store.create(account.model_copy(update={"version": 0})):
                    raise Conflict(
                        f"account {account.account_id} was opened meanwhile; send the events again"
                    )
            else:
                self._store.save(account)
        self._changed.clear()
