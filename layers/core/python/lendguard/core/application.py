"""The loan application a loan app submits, and its validation.

Every problem is reported with the dotted path of the field and what is wrong, so a loan app
can show it to its user; nothing is written for an invalid application.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, IPvAnyAddress, ValidationError, field_validator

from lendguard.core.base_model import Model
from lendguard.core.consents import Consents
from lendguard.core.errors import FieldError, InvalidInput, json_object
from lendguard.core.identity import ResidentId, normalize_bank_card, normalize_phone, parse_resident_id
from lendguard.core.kyc import Kyc
from lendguard.core.text import SafeName

MAX_PAYLOAD_BYTES = 256 * 1024
# ``submitted_at`` is the client's claim; the decision runs on ``received_at`` (the server's
# receive time). A claim further from it than this is refused: a clock that wrong, or a replayed
# request, is not something to decide on.
SUBMITTED_AT_MAX_BEFORE = timedelta(hours=24)
SUBMITTED_AT_MAX_AFTER = timedelta(minutes=5)
# Ages and the local hour are the borrower's, and the lender's borrowers are in mainland China.
DECISION_TIMEZONE = ZoneInfo("Asia/Shanghai")

Employment = Literal["employed", "self_employed", "student", "unemployed", "retired", "other"]
Channel = Literal["app", "web", "h5", "partner"]
DeviceOS = Literal["android", "ios", "web", "other"]


# JSON types, not Python coercions: a number must be a JSON number (never "5000" or true), an
# integer a JSON integer (never 6.0), a consent a JSON boolean (never "yes": a legal
# authorisation cannot come from a string).
JsonNumber = Annotated[float, Field(strict=True, allow_inf_nan=False)]
JsonInt = Annotated[int, Field(strict=True)]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Applicant(_Strict):
    name: Annotated[SafeName, Field(min_length=1, max_length=64)]
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    monthly_income: Annotated[JsonNumber, Field(ge=0, le=10_000_000)]
    employment: Employment
    city: Annotated[SafeName, Field(min_length=1, max_length=64)]
    # The card the loan is paid out to: looked up in the BANK_CARD lists and sent to a bank-card
    # four-element check. Optional, since some products pay out to a wallet.
    bank_card: Annotated[str, Field(min_length=1, max_length=32)] | None = None

    @field_validator("id_number")
    @classmethod
    def _id_number(cls, value: str) -> str:
        return parse_resident_id(value).number

    @field_validator("phone")
    @classmethod
    def _phone(cls, value: str) -> str:
        return normalize_phone(value)

    @field_validator("bank_card")
    @classmethod
    def _bank_card(cls, value: str | None) -> str | None:
        return None if value is None else normalize_bank_card(value)

    def resident_id(self) -> ResidentId:
        """The parsed ID number (region, birth date, sex)."""
        return parse_resident_id(self.id_number)


class Device(_Strict):
    device_id: Annotated[str, Field(min_length=4, max_length=128, pattern=r"^[A-Za-z0-9._:\-]+$")]
    ip: IPvAnyAddress
    os: DeviceOS


class Application(_Strict):
    """A pre-loan application as sent to ``POST /v1/decisions``."""

    application_id: Annotated[
        str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    ]
    product: Annotated[SafeName, Field(min_length=1, max_length=32)]
    requested_amount: Annotated[JsonNumber, Field(gt=0, le=1_000_000)]
    term_months: Annotated[JsonInt, Field(ge=1, le=60)]
    applicant: Applicant
    device: Device
    channel: Channel
    consents: Consents
    # Identity checks the app ran: ID-card OCR and the liveness session (never a score: results
    # are fetched from the vendor). Optional; the policy's rules decide what its absence means.
    kyc: Kyc | None = None
    # The client's claim of when the applicant submitted; kept, never used to decide.
    submitted_at: datetime | None = None

    @field_validator("submitted_at", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        # JSON has no time type: an ISO 8601 string, never a number of seconds.
        if value is not None and not isinstance(value, str | datetime):
            raise ValueError("must be an ISO 8601 time string with a UTC offset")
        return value

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-11-22T10:00:00+08:00")
        return value

    @field_validator("requested_amount")
    @classmethod
    def _cents(cls, value: float) -> float:
        if round(value, 2) != value:
            raise ValueError("must have at most two decimal places")
        return value


class ProductLimits(Model):
    """What a product accepts; declared in the policy (``products``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_amount: float = Field(gt=0)
    max_amount: float = Field(gt=0)
    terms: list[int] = Field(min_length=1)


def parse_application(
    raw: bytes | str | Mapping[str, Any] | None,
    products: Mapping[str, ProductLimits] | None = None,
    today: date | None = None,
    received_at: datetime | None = None,
) -> Application:
    """Parse and validate an application, raising :class:`InvalidInput` with every bad field.

    ``products`` (from the policy) adds the per-product checks: the product must exist and the
    amount and term must be within its limits. ``received_at`` (the server's receive time) adds
    the time checks: ``submitted_at`` within the window around it, and a birth date not after it
    (``today``, the date in :data:`DECISION_TIMEZONE`, when it is not given).
    """
    if isinstance(raw, bytes | str):
        size = len(raw.encode() if isinstance(raw, str) else raw)
        if size > MAX_PAYLOAD_BYTES:
            raise InvalidInput(
                "invalid application",
                [
                    FieldError(
                        field="(body)", message=f"payload is {size} bytes; the limit is {MAX_PAYLOAD_BYTES}"
                    )
                ],
            )
    elif len(json.dumps(raw, default=str)) > MAX_PAYLOAD_BYTES:
        raise InvalidInput(
            "invalid application",
            [FieldError(field="(body)", message=f"payload is over {MAX_PAYLOAD_BYTES} bytes")],
        )
    data = json_object(raw, "invalid application")
    try:
        app = Application.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid application", exc) from None
    errors = _product_errors(app, products) if products is not None else []
    if received_at is not None:
        errors += _time_errors(app, received_at)
        today = decision_date(received_at)
    if today is not None and app.applicant.resident_id().birth_date > today:
        errors.append(FieldError(field="applicant.id_number", message="birth date is in the future"))
    if errors:
        raise InvalidInput("invalid application", errors)
    return app


def decision_date(received_at: datetime) -> date:
    """The calendar day of ``received_at`` where the borrowers are (:data:`DECISION_TIMEZONE`)."""
    return received_at.astimezone(DECISION_TIMEZONE).date()


def _time_errors(app: Application, received_at: datetime) -> list[FieldError]:
    claimed = app.submitted_at
    if claimed is None:
        return []
    if claimed < received_at - SUBMITTED_AT_MAX_BEFORE:
        return [
            FieldError(field="submitted_at", message="is more than 24 hours before the request was received")
        ]
    if claimed > received_at + SUBMITTED_AT_MAX_AFTER:
        return [
            FieldError(field="submitted_at", message="is more than 5 minutes after the request was received")
        ]
    return []


def _product_errors(app: Application, products: Mapping[str, ProductLimits]) -> list[FieldError]:
    spec = products.get(app.product)
    if spec is None:
        return [FieldError(field="product", message=f"unknown product; expected one of {sorted(products)}")]
    errors = []
    if not spec.min_amount <= app.requested_amount <= spec.max_amount:
        errors.append(
            FieldError(
                field="requested_amount",
                message=f"must be between {spec.min_amount:g} and {spec.max_amount:g} for product {app.product}",
            )
        )
    if app.term_months not in spec.terms:
        errors.append(
            FieldError(field="term_months", message=f"must be one of {spec.terms} for product {app.product}")
        )
    return errors
