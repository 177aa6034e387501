"""The loan application a loan app submits, and its validation.

Every problem is reported with the dotted path of the field and what is wrong, so a loan app
can show it to its user; nothing is written for an invalid application.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, IPvAnyAddress, ValidationError, field_validator

from lendguard.core.consents import Consents
from lendguard.core.errors import FieldError, InvalidInput, json_object
from lendguard.core.identity import ResidentId, normalize_bank_card, normalize_phone, parse_resident_id

MAX_PAYLOAD_BYTES = 256 * 1024

Employment = Literal["employed", "self_employed", "student", "unemployed", "retired", "other"]
Channel = Literal["app", "web", "h5", "partner"]
DeviceOS = Literal["android", "ios", "web", "other"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)


class Applicant(_Strict):
    name: Annotated[str, Field(min_length=1, max_length=64)]
    id_number: Annotated[str, Field(min_length=1, max_length=32)]
    phone: Annotated[str, Field(min_length=1, max_length=20)]
    monthly_income: Annotated[float, Field(ge=0, le=10_000_000, allow_inf_nan=False)]
    employment: Employment
    city: Annotated[str, Field(min_length=1, max_length=64)]
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
    product: Annotated[str, Field(min_length=1, max_length=32)]
    requested_amount: Annotated[float, Field(gt=0, le=1_000_000, allow_inf_nan=False)]
    term_months: Annotated[int, Field(ge=1, le=60)]
    applicant: Applicant
    device: Device
    channel: Channel
    consents: Consents
    submitted_at: datetime

    @field_validator("submitted_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("must include a UTC offset, e.g. 2026-11-22T10:00:00+08:00")
        return value

    @field_validator("requested_amount")
    @classmethod
    def _cents(cls, value: float) -> float:
        if round(value, 2) != value:
            raise ValueError("must have at most two decimal places")
        return value


class ProductLimits(BaseModel):
    """What a product accepts; declared in the policy (``products``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_amount: float = Field(gt=0)
    max_amount: float = Field(gt=0)
    terms: list[int] = Field(min_length=1)


def parse_application(
    raw: bytes | str | Mapping[str, Any] | None,
    products: Mapping[str, ProductLimits] | None = None,
    today: date | None = None,
) -> Application:
    """Parse and validate an application, raising :class:`InvalidInput` with every bad field.

    ``products`` (from the policy) adds the per-product checks: the product must exist and the
    amount and term must be within its limits.
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
    if today is not None and app.applicant.resident_id().birth_date > today:
        errors.append(FieldError(field="applicant.id_number", message="birth date is in the future"))
    if errors:
        raise InvalidInput("invalid application", errors)
    return app


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
