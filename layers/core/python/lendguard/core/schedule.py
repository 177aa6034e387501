"""Repayment schedules: equal instalments (annuity) and equal principal, exact to the cent.

Money is :class:`decimal.Decimal` throughout, never float: a schedule is a contract, and
``0.1 + 0.2`` must not move a balance. The conventions, fixed so that the schedule quoted at
decision time is exactly the one the loan follows:

- Interest accrues monthly on the outstanding balance at ``apr / 12`` (30/360), rounded half-up
  to the cent each month. ``apr`` is the nominal rate of interest only; fees
  (:mod:`lendguard.core.fees`) are charged beside it, upfront or with each instalment, and the
  comprehensive cost of credit (:mod:`lendguard.core.cost`) counts both.
- Equal instalments: the annuity payment is rounded half-up to the cent; every instalment but
  the last pays that amount. The last instalment pays the whole remaining balance plus its
  interest, so the rounding lands there and principal sums exactly to the amount.
- Equal principal: ``amount / months`` rounded down to the cent each month; the last instalment
  takes the remainder (at most ``months - 1`` cents more).
- Amortisation: every instalment but the last must repay at least a cent of principal. For
  equal instalments the first instalment repays the least (later ones carry less interest), so
  the terms are refused up front when its exact principal part is under two cents (rounding
  the payment and the interest each moves it by at most half a cent):
  :func:`min_amortising_principal` is the smallest principal that amortises, and policies
  check their products against it when they are loaded.
- Due dates: the same day of the month as the start date, ``k`` months later, clamped to the
  month's last day (31 January -> 28/29 February).

:func:`replay` runs a loan ledger independently of how a schedule was built: it accrues
interest on the outstanding balance and applies each payment. A schedule is only issued if its
own figures agree with that ledger (see :func:`build_schedule`).
"""

from __future__ import annotations

import calendar
from datetime import date
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Decimal
from typing import Literal

from pydantic import ConfigDict, Field, TypeAdapter

from lendguard.core.base_model import Model
from lendguard.core.fees import Fee, FeeCharge, fee_charges
from lendguard.core.trusted import trusted

RepaymentMethod = Literal["annuity", "equal_principal"]
CENT = Decimal("0.01")
MONTHS_PER_YEAR = 12
# Below one cent of principal a month an instalment could carry no principal at all.
MIN_PRINCIPAL_PER_MONTH = Decimal("1.00")
MAX_TERM_MONTHS = 360
# The first instalment's exact principal part must reach this (see the module doc: amortisation).
MIN_FIRST_PRINCIPAL = Decimal("0.02")
# Deferred like the models (lendguard.core.base_model): built on first use, not at import.
_DATE = TypeAdapter(date, config=ConfigDict(defer_build=True))
# Days per month in a common year (index 1-12): what calendar.monthrange gives, without its weekday.
_MONTH_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


class ScheduleError(ValueError):
    """A schedule that cannot be built for these terms (or a ledger that does not balance)."""


def cents(value: Decimal | float | int | str) -> Decimal:
    """``value`` rounded half-up to the cent. Floats go through ``str`` so 0.1 stays 0.10."""
    if isinstance(value, float):
        value = str(value)
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def add_months(start: date, months: int) -> date:
    """``start`` moved ``months`` calendar months on, clamped to the last day of that month."""
    index = start.month - 1 + months
    year, month = start.year + index // 12, index % 12 + 1
    day = start.day
    if day > 28:  # only then can the month be too short
        day = min(day, 29 if month == 2 and calendar.isleap(year) else _MONTH_DAYS[month])
    return date(year, month, day)


class Instalment(Model):
    """One due payment: what it pays off, what interest it carries, what is left after it."""

    model_config = ConfigDict(frozen=True)

    number: int = Field(ge=1)
    due_date: date
    payment: Decimal
    principal: Decimal
    interest: Decimal
    balance: Decimal = Field(description="Outstanding principal after this payment")
    fees: Decimal = Field(default=Decimal(0), description="Per-instalment fees due with this payment")


class Schedule(Model):
    """A whole repayment plan, as disclosed to the borrower. Amounts serialise as strings."""

    model_config = ConfigDict(frozen=True)

    method: RepaymentMethod
    principal: Decimal
    apr: Decimal = Field(description="Annual percentage rate (nominal; interest = balance x apr / 12)")
    term_months: int
    start_date: date
    instalments: list[Instalment]
    total_interest: Decimal
    total_payable: Decimal = Field(description="Principal plus interest (fees are in total_fees)")
    # Defaults keep schedules recorded before fees existed readable.
    fees: list[FeeCharge] = Field(default_factory=list, description="Each fee as charged on this loan")
    upfront_fees: Decimal = Field(default=Decimal(0), description="Fees charged when the loan is drawn")
    total_fees: Decimal = Field(default=Decimal(0), description="Every fee over the life of the loan")

    @property
    def amount_received(self) -> Decimal:
        """What the borrower actually gets: the principal less the upfront fees."""
        return self.principal - self.upfront_fees

    @property
    def max_payment(self) -> Decimal:
        """The largest instalment (the first for equal principal, the last or any for annuity)."""
        return max(i.payment for i in self.instalments)


def monthly_rate(apr: Decimal) -> Decimal:
    return apr / MONTHS_PER_YEAR


def annuity_payment(principal: Decimal, apr: Decimal, months: int) -> Decimal:
    """The exact (unrounded) equal monthly payment that amortises ``principal`` in ``months``."""
    r = monthly_rate(apr)
    if r == 0:
        return principal / months
    return principal * r / (1 - (1 + r) ** -months)


def min_amortising_principal(apr: Decimal, months: int, method: RepaymentMethod) -> Decimal:
    """The smallest principal (to the cent) that amortises over ``months`` at ``apr``.

    At least :data:`MIN_PRINCIPAL_PER_MONTH` a month; for equal instalments also enough that the
    first instalment's exact principal part, ``P x r / ((1 + r)^n - 1)``, reaches
    :data:`MIN_FIRST_PRINCIPAL` (360 over 360 months at 36% repays 0.00025 in its first month).
    """
    floor = MIN_PRINCIPAL_PER_MONTH * months
    r = monthly_rate(apr)
    if method == "equal_principal" or r == 0:
        return floor
    per_unit = r / ((1 + r) ** months - 1)
    needed = (MIN_FIRST_PRINCIPAL / per_unit).quantize(CENT, rounding=ROUND_UP)
    return max(floor, needed)


def _check_terms(principal: Decimal, apr: Decimal, months: int, method: RepaymentMethod) -> None:
    if not 1 <= months <= MAX_TERM_MONTHS:
        raise ScheduleError(f"term must be 1 to {MAX_TERM_MONTHS} months, got {months}")
    if principal != cents(principal):
        raise ScheduleError(f"principal {principal} has fractions of a cent")
    if principal < MIN_PRINCIPAL_PER_MONTH * months:
        raise ScheduleError(
            f"principal {principal} is below {MIN_PRINCIPAL_PER_MONTH} a month over {months} months"
        )
    if not 0 <= apr < 1:
        raise ScheduleError(f"apr {apr} must be in [0, 1)")
    least = min_amortising_principal(apr, months, method)
    if principal < least:
        raise ScheduleError(
            f"principal {principal} cannot amortise over {months} months at {apr:%} ({method}): "
            f"the first instalment would repay almost no principal; at least {least} is needed"
        )


def build_schedule(
    principal: Decimal | float | int | str,
    apr: Decimal | float | str,
    months: int,
    start: date,
    method: RepaymentMethod = "annuity",
    fees: list[Fee] | tuple[Fee, ...] = (),
) -> Schedule:
    """The schedule for a loan of ``principal`` drawn on ``start``; raises :class:`ScheduleError`.

    ``fees`` are charged beside the interest: upfront ones when the loan is drawn, the others
    with every instalment (:attr:`Instalment.fees`).
    """
    if type(start) is not date:  # built unvalidated below: a midnight datetime becomes its date
        start = _DATE.validate_python(start)
    p = Decimal(str(principal)) if isinstance(principal, float) else Decimal(principal)
    rate = Decimal(str(apr)) if isinstance(apr, float) else Decimal(apr)
    _check_terms(p, rate, months, method)
    p = p.quantize(CENT)  # 4000, 4000.0 and 4000.00 are one amount: always shown with cents
    r = monthly_rate(rate)
    equal_part = (p / months).quantize(CENT, rounding=ROUND_DOWN)
    level_payment = cents(annuity_payment(p, rate, months))
    charges = fee_charges(fees, p, months)
    per_instalment = sum((c.each for c in charges if c.timing == "per_instalment"), Decimal(0))
    balance, rows = p, []
    for k in range(1, months + 1):
        interest = (balance * r).quantize(CENT, rounding=ROUND_HALF_UP)  # cents(), inlined
        if k == months:
            part = balance
        elif method == "annuity":
            part = level_payment - interest
        else:
            part = equal_part
        if part <= 0 or part > balance:
            # _check_terms refuses terms whose first instalment would repay under a cent, and later
            # instalments repay more; kept so that no bad schedule is ever issued.
            raise ScheduleError(f"instalment {k} would repay {part} of a balance of {balance}")
        balance -= part
        rows.append(
            trusted(
                Instalment,
                number=k, due_date=add_months(start, k), payment=part + interest, principal=part,
                interest=interest, balance=balance, fees=per_instalment,
            )
        )  # fmt: skip
    total_interest = sum((i.interest for i in rows), Decimal(0))
    # Every value is computed here from checked terms: built without validating it again.
    schedule = trusted(
        Schedule,
        method=method, principal=p, apr=rate, term_months=months, start_date=start, instalments=rows,
        total_interest=total_interest, total_payable=p + total_interest, fees=charges,
        upfront_fees=sum((c.total for c in charges if c.timing == "upfront"), Decimal(0)),
        total_fees=sum((c.total for c in charges), Decimal(0)),
    )  # fmt: skip
    if schedule.upfront_fees >= p:
        raise ScheduleError(f"upfront fees {schedule.upfront_fees} take the whole principal {p}")
    replay(schedule)
    return schedule


def replay(schedule: Schedule) -> list[Decimal]:
    """Run the loan's ledger on ``schedule``'s payments; the balances after each payment.

    Independent of how the schedule was built: each month the outstanding balance accrues
    interest (rounded to the cent) and the payment is applied. Raises :class:`ScheduleError`
    if the schedule's own interest or balances disagree with the ledger, or it does not end at 0.
    """
    r = monthly_rate(schedule.apr)
    balance, balances = schedule.principal, []
    for row in schedule.instalments:
        interest = cents(balance * r)
        if interest != row.interest:
            raise ScheduleError(f"instalment {row.number}: interest {row.interest}, ledger says {interest}")
        balance = balance + interest - row.payment
        if balance != row.balance:
            raise ScheduleError(f"instalment {row.number}: balance {row.balance}, ledger says {balance}")
        balances.append(balance)
    if balance != 0:
        raise ScheduleError(f"the ledger ends at {balance}, not 0")
    return balances


def max_principal(payment: Decimal, apr: Decimal, months: int, method: RepaymentMethod) -> Decimal:
    """The largest principal whose highest instalment does not exceed ``payment`` (unrounded).

    Annuity: the inverse of :func:`annuity_payment`. Equal principal: the first instalment is the
    highest, ``P / n + P * r``.
    """
    if payment <= 0:
        return Decimal(0)
    r = monthly_rate(apr)
    if method == "equal_principal":
        return payment / (Decimal(1) / months + r)
    if r == 0:
        return payment * months
    return payment * (1 - (1 + r) ** -months) / r
