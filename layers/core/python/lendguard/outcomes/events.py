"""Loan events: what happened to a loan after the decision, one event at a time.

A case approved with an offer becomes an account; each draw on it is a loan (``loan_id``), and a
revolving line has many. Every event names its case, its loan, its type and its date, and
carries an ``event_id`` chosen by the sender: recording the same event again changes nothing
(idempotent), while the same ``event_id`` with other content is refused.

Types and their fields:

========================  ===================================================================
``drawn``                 ``amount`` (principal drawn, > 0); optional ``term_months``
``instalment_due``        ``amount`` (the instalment falling due that day, > 0)
``repaid``                ``amount`` (> 0); optional ``principal`` (its principal part, <= amount)
``overdue``               ``days_past_due`` (>= 0) as the servicing system reports it that day
``charged_off``           optional ``amount`` (the balance written off)
``settled``               nothing else: the loan is closed
========================  ===================================================================

Dates are calendar dates (``YYYY-MM-DD``) and may not lie in the future. Amounts have at most
two decimals. Snapshots (days past due, balances) are derived from these events by
:mod:`lendguard.outcomes.snapshot`; they are never stored.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal, get_args

from pydantic import ConfigDict, Field, ValidationError, field_validator

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput

EventType = Literal["drawn", "instalment_due", "repaid", "overdue", "charged_off", "settled"]
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
EVENT_FIELDS: tuple[str, ...] = (
    "event_id", "case_id", "loan_id", "type", "date", "amount", "principal", "days_past_due", "term_months",
)  # fmt: skip
REQUIRED_FIELDS: tuple[str, ...] = ("event_id", "case_id", "loan_id", "type", "date")
MAX_AMOUNT = Decimal("10000000")
MAX_DAYS_PAST_DUE = 3650
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$"
# Which optional fields each type needs (True) or accepts (False); any other field is refused.
_TYPE_FIELDS: dict[str, dict[str, bool]] = {
    "drawn": {"amount": True, "term_months": False},
    "instalment_due": {"amount": True},
    "repaid": {"amount": True, "principal": False},
    "overdue": {"days_past_due": True},
    "charged_off": {"amount": False},
    "settled": {},
}
_OPTIONAL = ("amount", "principal", "days_past_due", "term_months")

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]


class LoanEvent(Model):
    """One validated loan event (see the module docstring for what each type carries)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    event_id: Annotated[str, Field(min_length=1, max_length=80, pattern=ID_PATTERN)]
    case_id: Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")]
    loan_id: Annotated[str, Field(min_length=1, max_length=64, pattern=ID_PATTERN)]
    type: EventType
    date: date
    amount: Money | None = None
    principal: Money | None = None
    days_past_due: Annotated[int, Field(ge=0, le=MAX_DAYS_PAST_DUE)] | None = None
    term_months: Annotated[int, Field(ge=1, le=60)] | None = None

    @field_validator("date", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> Any:
        # Pydantic would also read a number as a Unix time: only the ISO form is a date here.
        if isinstance(value, date):
            return value
        if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
            raise ValueError("must be a date in the form YYYY-MM-DD")
        return value.strip()

    @field_validator("amount", "principal")
    @classmethod
    def _cents(cls, value: Decimal | None) -> Decimal | None:
        if value is None:
            return None
        cents = value.quantize(Decimal("0.01"))
        if value != cents:
            raise ValueError("must have at most two decimal places")
        return cents  # one form per amount: "3000" and "3000.00" are the same event

    def content(self) -> dict[str, Any]:
        """The event as stored and compared for idempotency (JSON-ready, amounts as strings)."""
        return self.model_dump(mode="json", exclude_none=True)


def parse_event(raw: Mapping[str, Any], today: date) -> LoanEvent:
    """Validate one event; :class:`InvalidInput` names every bad field.

    ``today`` is the latest date an event may carry (the caller's clock, so tests are exact).
    Empty strings count as absent, so CSV rows and JSON bodies are checked alike.
    """
    data = {k: v for k, v in raw.items() if not (isinstance(v, str) and not v.strip()) and v is not None}
    errors: list[FieldError] = []
    for name in REQUIRED_FIELDS:
        if name not in data:
            errors.append(FieldError(field=name, message="is required"))
    try:
        event = LoanEvent.model_validate(data)
    except ValidationError as exc:
        seen = {e.field for e in errors}
        for detail in InvalidInput.from_validation_error("invalid loan event", exc).details:
            if detail.field not in seen:
                errors.append(_readable(detail))
        raise InvalidInput("invalid loan event", errors) from None
    if errors:
        raise InvalidInput("invalid loan event", errors)
    if event.date > today:
        errors.append(FieldError(field="date", message=f"is in the future (today is {today.isoformat()})"))
    allowed = _TYPE_FIELDS[event.type]
    for name in _OPTIONAL:
        value = getattr(event, name)
        if name in allowed:
            if allowed[name] and value is None:
                errors.append(FieldError(field=name, message=f"is required for a {event.type} event"))
        elif value is not None:
            errors.append(FieldError(field=name, message=f"does not apply to a {event.type} event"))
    if event.type in ("drawn", "instalment_due", "repaid") and event.amount == 0:
        errors.append(FieldError(field="amount", message="must be greater than 0"))
    if event.principal is not None and event.amount is not None and event.principal > event.amount:
        errors.append(FieldError(field="principal", message="must not exceed amount"))
    if errors:
        raise InvalidInput("invalid loan event", errors)
    return event


def _readable(detail: FieldError) -> FieldError:
    """Pydantic's wording for the few messages a lender's file is most likely to trigger."""
    message = detail.message
    if detail.field == "type" and message.startswith("Input should be"):
        message = f"unknown event type; expected one of {', '.join(EVENT_TYPES)}"
    elif detail.field in ("amount", "principal") and "greater than or equal to 0" in message:
        message = "must not be negative"
    elif detail.field == "date" and ("date" in message.lower()):
        message = "must be a date in the form YYYY-MM-DD"
    return FieldError(field=detail.field, message=message)
