"""Accounts: an approved offer becomes an account; each ``drawn`` event is a loan on it.

An account keeps the offer's terms (limit, nominal APR, repayment method, fees, the terms the
product allows, the comprehensive-cost cap it was priced under) and the loans drawn on it, each
with the schedule computed for the amount and term actually drawn, by the same
:func:`~lendguard.core.schedule.build_schedule` that quoted the offer, at the account's rate.

Draws (:func:`draw`) are checked against the account, and nothing changes unless all pass:

- the account is ACTIVE (a FROZEN or CLOSED account takes no draw);
- the date lies within the offer's validity (``opened_on`` … ``valid_until``); a single-draw
  offer expires after it, and takes one draw only;
- the amount is within the available limit: the credit limit less the outstanding principal
  of the account's loans (a revolving line is freed again as it is repaid);
- the term is one the product offers (default: the offer's term);
- the comprehensive cost of the drawn schedule is within the account's cost cap, checked again
  on the real cash flows (:func:`~lendguard.core.cost.within_cap`).

Customers appear only as ``customer_key``, the keyed hash of their ID number; the account never
holds a clear identifier. Every change the batch makes is an :class:`AuditEntry` under an apply
key ``(account, job, run_date)``; :mod:`lendguard.store.accounts` writes it conditionally so a
key is applied at most once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from pydantic import ConfigDict, Field

from lendguard.core.base_model import Model
from lendguard.core.cost import Annualisation, within_cap
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.core.fees import Fee
from lendguard.core.schedule import RepaymentMethod, Schedule, ScheduleError, add_months, build_schedule
from lendguard.outcomes.events import LoanEvent

AUDIT_RERUN_DAYS = 35
"""Days an apply key is kept on the account: a re-run of an older date is refused, not repeated."""
LIMIT_HISTORY_DAYS = 366
"""Days a limit change is kept on the account (the snapshot's ``limit_changes_12m``)."""

AccountStatus = Literal["ACTIVE", "FROZEN", "CLOSED", "CHARGED_OFF"]
ACCOUNT_STATUSES: tuple[str, ...] = ("ACTIVE", "FROZEN", "CLOSED", "CHARGED_OFF")
_ZERO = Decimal("0")


class Loan(Model):
    """One draw on an account, with its schedule as computed when it was drawn."""

    model_config = ConfigDict(frozen=True)

    loan_id: str
    event_id: str
    drawn_on: date
    amount: Decimal
    term_months: int
    schedule: Schedule


class AuditEntry(Model):
    """One change the book made to an account: what, when, under which apply key, and why."""

    model_config = ConfigDict(frozen=True)

    apply_key: str
    job: str
    run_date: date
    action: str
    changes: dict[str, Any] = Field(default_factory=dict, description="field -> [old, new]")
    reasons: list[str] = Field(default_factory=list)


class Account(Model):
    """An account of the loan book (one per approved case: ``account_id`` is the case id)."""

    model_config = ConfigDict(extra="forbid")

    account_id: str
    customer_key: str = Field(min_length=16, description="Keyed hash of the borrower's ID number")
    product: str
    mode: Literal["revolving", "single_draw"]
    repayment_method: RepaymentMethod = "annuity"
    fees: list[Fee] = Field(default_factory=list)
    terms: list[int] = Field(min_length=1)
    default_term: int
    apr: Decimal
    credit_limit: Decimal
    cost_cap: Decimal = Field(description="Comprehensive-cost cap the offer was priced under")
    cost_annualisation: Annualisation = "irr_x12"
    opened_on: date
    valid_until: date
    status: AccountStatus = "ACTIVE"
    limit_changed_on: date | None = None
    loans: list[Loan] = Field(default_factory=list)
    audit: list[AuditEntry] = Field(default_factory=list)
    # What servicing knows of the borrower beyond the loan events (complaints, care needs).
    complaints_12m: int = 0
    vulnerable: bool = False
    disputed: bool = False
    emergency_contact_only: bool = False
    contacts_on: date | None = None
    contacts_that_day: int = 0
    version: int = 0

    @property
    def applied_keys(self) -> set[str]:
        return {entry.apply_key for entry in self.audit}

    def contacts_today(self, today: date) -> int:
        """Contacts already made on ``today``."""
        return self.contacts_that_day if self.contacts_on == today else 0

    def limit_changes_since(self, start: date) -> int:
        return sum(1 for e in self.audit if "credit_limit" in e.changes and e.run_date >= start)

    def with_audit(self, entry: AuditEntry) -> Account:
        """The account with ``entry`` appended and the audit trimmed, next version.

        One DynamoDB item holds at most 400 KB and an account lives for years (a daily post-loan
        entry alone adds ~100 KB a year), so the item keeps only what the book reads: every
        entry of the last :data:`AUDIT_RERUN_DAYS` (re-runs of those dates stay idempotent) and
        the limit changes of the last :data:`LIMIT_HISTORY_DAYS` (``limit_changes_12m``). The
        full record of every run stays in its results (S3, Parquet, with the traces).
        """
        recent = entry.run_date - timedelta(days=AUDIT_RERUN_DAYS)
        year = entry.run_date - timedelta(days=LIMIT_HISTORY_DAYS)
        kept = [
            e for e in self.audit
            if e.run_date > recent or ("credit_limit" in e.changes and e.run_date > year)
        ]  # fmt: skip
        return self.model_copy(update={"audit": [*kept, entry], "version": self.version + 1})

    def rerun_expired(self, run_date: date) -> bool:
        """True when ``run_date`` is too old for its apply key to be still in the trimmed audit."""
        newest = max((e.run_date for e in self.audit), default=None)
        return newest is not None and run_date <= newest - timedelta(days=AUDIT_RERUN_DAYS)

    def count_contact(self, day: date) -> Account:
        """The account with one more contact made on ``day`` (what ``contacts_today`` reads)."""
        made = self.contacts_that_day if self.contacts_on == day else 0
        return self.model_copy(update={"contacts_on": day, "contacts_that_day": made + 1})


def apply_key(account_id: str, job: str, run_date: date) -> str:
    """The key under which one job's action on one account for one run date is applied once."""
    return f"{account_id}#{job}#{run_date.isoformat()}"


class AccountStore(Protocol):
    """Where accounts live (:class:`lendguard.store.accounts.DynamoAccountStore` on DynamoDB)."""

    def get(self, account_id: str) -> Account | None: ...

    def create(self, account: Account) -> bool:
        """Write a new account; False when one with its id exists already."""
        ...

    def save(self, account: Account) -> None:
        """Write ``account`` if the stored one still has ``account.version - 1`` (else Conflict)."""
        ...

    def accounts(self) -> Iterator[Account]: ...

    def events_of(self, account_id: str) -> list[LoanEvent]: ...

    def apply(self, account: Account, entry: AuditEntry) -> bool:
        """Write ``account`` with ``entry`` appended, unless ``entry.apply_key`` was applied; True
        when written."""
        ...


def open_account(
    *,
    account_id: str,
    customer_key: str,
    product: str,
    mode: Literal["revolving", "single_draw"],
    credit_limit: Decimal,
    apr: Decimal,
    term_months: int,
    terms: Sequence[int],
    repayment_method: RepaymentMethod,
    fees: Sequence[Fee],
    cost_cap: Decimal,
    cost_annualisation: Annualisation,
    opened_on: date,
    valid_until: date,
) -> Account:
    """An account for an approved offer (its terms as offered)."""
    return Account(
        account_id=account_id, customer_key=customer_key, product=product, mode=mode,
        repayment_method=repayment_method, fees=list(fees), terms=sorted(set(terms) | {term_months}),
        default_term=term_months, apr=apr, credit_limit=credit_limit, cost_cap=cost_cap,
        cost_annualisation=cost_annualisation, opened_on=opened_on, valid_until=valid_until,
    )  # fmt: skip


def line_valid_until(opened_on: date, mode: str, validity_days: int | None, validity_months: int) -> date:
    """Last day a draw may be made: ``validity_days`` for a single draw, months for a line."""
    if mode == "single_draw":
        return opened_on + timedelta(days=validity_days or 0)
    return add_months(opened_on, validity_months)


def outstanding_principal(account: Account, events: Sequence[LoanEvent], as_of: date) -> Decimal:
    """Principal still owed on the account's loans at ``as_of`` (charged-off loans count: the
    lender still claims them)."""
    from lendguard.outcomes.snapshot import account_snapshots

    return sum((s.outstanding_principal for s in account_snapshots(account.account_id, events, as_of)), _ZERO)


def available(account: Account, events: Sequence[LoanEvent], as_of: date) -> Decimal:
    """What may still be drawn at ``as_of``: nothing for a used single draw, else limit less debt."""
    if account.status != "ACTIVE":
        return _ZERO
    if account.mode == "single_draw" and account.loans:
        return _ZERO
    return max(account.credit_limit - outstanding_principal(account, events, as_of), _ZERO)


def draw(account: Account, event: LoanEvent, events: Sequence[LoanEvent]) -> Account:
    """The account with ``event``'s loan added; :class:`InvalidInput` names the field otherwise.

    ``events`` are the account's recorded events (the outstanding balance is derived from them).
    A ``drawn`` event already on the account (same ``event_id``) returns the account unchanged.
    """
    if event.type != "drawn" or event.amount is None:
        raise ValueError("draw() takes a drawn event")
    if any(loan.event_id == event.event_id for loan in account.loans):
        return account
    errors: list[FieldError] = []
    if any(loan.loan_id == event.loan_id for loan in account.loans):
        errors.append(FieldError(field="loan_id", message=f"loan {event.loan_id} was drawn already"))
    if account.status != "ACTIVE":
        errors.append(
            FieldError(field="case_id", message=f"account {account.account_id} is {account.status}")
        )
    if event.date < account.opened_on:
        errors.append(FieldError(field="date", message=f"is before the account opened ({account.opened_on})"))
    elif event.date > account.valid_until:
        errors.append(FieldError(field="date", message=f"is after the offer expired ({account.valid_until})"))
    if account.mode == "single_draw" and account.loans:
        errors.append(FieldError(field="loan_id", message="a single-draw offer takes one draw only"))
    term = event.term_months or account.default_term
    if term not in account.terms:
        errors.append(
            FieldError(field="term_months", message=f"must be one of the product's terms {account.terms}")
        )
    if errors:
        raise InvalidInput("invalid draw", errors)
    free = available(account, events, event.date)
    if event.amount > free:
        raise InvalidInput(
            "invalid draw", [FieldError(field="amount", message=f"is above the available limit {free}")]
        )
    try:
        schedule = build_schedule(
            event.amount, account.apr, term, event.date, account.repayment_method, account.fees
        )
    except ScheduleError as exc:
        raise InvalidInput("invalid draw", [FieldError(field="amount", message=str(exc))]) from None
    if not within_cap(schedule, account.cost_cap, account.cost_annualisation):
        raise InvalidInput(
            "invalid draw",
            [
                FieldError(
                    field="amount",
                    message=f"the comprehensive cost would exceed the cap {account.cost_cap:%}",
                )
            ],
        )
    loan = Loan(
        loan_id=event.loan_id, event_id=event.event_id, drawn_on=event.date, amount=event.amount,
        term_months=term, schedule=schedule,
    )  # fmt: skip
    return account.model_copy(update={"loans": [*account.loans, loan], "version": account.version + 1})
