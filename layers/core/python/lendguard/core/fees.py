"""Fees a credit product charges besides interest: what they are and what each one costs.

A product declares its fees in the policy (``products.<id>.fees``); the repayment schedule
charges them (:func:`lendguard.core.schedule.build_schedule`) and the comprehensive cost of
credit counts them (:mod:`lendguard.core.cost`). Each fee is

- named: ``service``, ``guarantee``, ``membership`` or ``insurance`` (at most one of each, so
  the disclosure can list them by name);
- charged ``upfront`` (once, when the loan is drawn: the borrower receives the principal less
  these fees) or ``per_instalment`` (with every instalment);
- either a ``rate`` (a share of the principal) or a fixed ``amount``.

A rate-based fee is ``rate x principal`` rounded half-up to the cent, the same amount every
time it is charged. Money is :class:`decimal.Decimal`.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from lendguard.core.base_model import Model

__all__ = ["Fee", "FeeCharge", "FeeName", "FeeTiming", "check_fees", "fee_charges"]

FeeName = Literal["service", "guarantee", "membership", "insurance"]
FeeTiming = Literal["upfront", "per_instalment"]
_CENT = Decimal("0.01")


def _cents(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


class Fee(Model):
    """One fee of a product: its name, when it is charged and how much (a rate or an amount)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: FeeName
    timing: FeeTiming
    rate: float | None = Field(
        default=None, gt=0, lt=1, allow_inf_nan=False, description="Share of the principal (0.01 = 1%)"
    )
    amount: float | None = Field(
        default=None, ge=0.01, allow_inf_nan=False, description="Fixed amount in the policy currency"
    )

    @model_validator(mode="after")
    def _one_basis(self) -> Fee:
        if (self.rate is None) == (self.amount is None):
            raise ValueError(f"fee {self.name}: give exactly one of rate (share of principal) or amount")
        if self.amount is not None and _cents(Decimal(str(self.amount))) != Decimal(str(self.amount)):
            raise ValueError(f"fee {self.name}: amount {self.amount} has fractions of a cent")
        return self

    def charge(self, principal: Decimal) -> Decimal:
        """What this fee costs each time it is charged on a loan of ``principal``."""
        if self.amount is not None:
            return Decimal(str(self.amount))
        return _cents(Decimal(str(self.rate)) * principal)


class FeeCharge(Model):
    """A fee as charged on one loan: each charge, how many times, and the total."""

    model_config = ConfigDict(frozen=True)

    name: FeeName
    timing: FeeTiming
    each: Decimal
    times: int = Field(ge=1)
    total: Decimal


def check_fees(fees: list[Fee]) -> list[Fee]:
    """``fees`` unchanged, or ``ValueError`` when a fee name appears twice."""
    names = [f.name for f in fees]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"fees listed twice: {dupes} (one entry per fee name)")
    return fees


def fee_charges(fees: list[Fee] | tuple[Fee, ...], principal: Decimal, months: int) -> list[FeeCharge]:
    """Every fee's charges on a loan of ``principal`` over ``months`` (fees costing 0 are kept)."""
    out = []
    for fee in fees:
        each = fee.charge(principal)
        times = 1 if fee.timing == "upfront" else months
        out.append(FeeCharge(name=fee.name, timing=fee.timing, each=each, times=times, total=each * times))
    return out
