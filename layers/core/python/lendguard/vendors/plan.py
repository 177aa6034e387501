"""What every call of one configured vendor needs, derived once from its configuration.

A vendor's fact names, its missing facts, the consent fact it needs, the identifiers it
depends on: all follow from the (frozen) policy :class:`~lendguard.policy.schema.Vendor` and
its service, so they are worked out on its first call in the container and kept with it, not
rebuilt on every call of every case.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lendguard.core.vendor_responses import BIOMETRIC_SERVICES, RESPONSE_MODELS, SUBJECT_KEYS, VendorResponse
from lendguard.policy.schema import Pricing, Vendor

if TYPE_CHECKING:
    from collections.abc import Mapping

    from lendguard.decision.state import FactValue, Subject

# Plans of the vendors of every policy version the container has used; a policy version is
# cached for the container's life, so this stays small. The bound only guards long test runs.
_MAX_PLANS = 512


@dataclass(frozen=True, slots=True)
class VendorPlan:
    """One vendor's per-call constants (see the module docstring)."""

    vendor: Vendor
    model: type[VendorResponse]
    fields: tuple[tuple[str, str], ...]  # (fact name, response field), in the model's order
    # Every fact of the vendor at None. A plain dict (``dict.update`` takes its fast path): never
    # hand it out to be changed.
    missing: Mapping[str, FactValue]
    subject_keys: tuple[str, ...]  # the Subject attributes the answer depends on
    consent_fact: str | None  # ``consents.<purpose>``, when the call needs a consent
    no_consent: str | None  # the trace's detail when that consent is not given
    per_query: bool  # billed per query (else per hit)
    biometric: bool  # only the typed answer is archived, never the raw one

    def facts_of(self, response: VendorResponse) -> dict[str, FactValue]:
        """The response's fields as facts ``<vendor id>.<field>`` (what ``model_dump`` gives, flat)."""
        return {fact: getattr(response, name) for fact, name in self.fields}

    def absent(self, subject: Subject) -> list[str]:
        """The identifiers the call needs that the application does not carry."""
        return [key for key in self.subject_keys if getattr(subject, key) is None]


def build_plan(vendor: Vendor) -> VendorPlan:
    """Work out a vendor's plan (:func:`plan_of` keeps it)."""
    model = RESPONSE_MODELS[vendor.service]
    fields = tuple((f"{vendor.id}.{name}", name) for name in model.model_fields)
    purpose = vendor.consent_purpose
    return VendorPlan(
        vendor=vendor,
        model=model,
        fields=fields,
        missing=dict.fromkeys(fact for fact, _ in fields),
        subject_keys=SUBJECT_KEYS[vendor.service],
        consent_fact=None if purpose is None else f"consents.{purpose.value}",
        no_consent=None if purpose is None else f"no {purpose.value} consent",
        per_query=vendor.pricing is Pricing.PER_QUERY,
        biometric=vendor.service in BIOMETRIC_SERVICES,
    )


_plans: dict[int, VendorPlan] = {}
_lock = threading.Lock()


def plan_of(vendor: Vendor) -> VendorPlan:
    """The plan of this vendor object, built on its first call.

    Keyed by the object (a policy's vendors are frozen): the plan holds the vendor, so its id
    cannot be reused by another object while the plan is kept.
    """
    plan = _plans.get(id(vendor))
    if plan is not None and plan.vendor is vendor:
        return plan
    plan = build_plan(vendor)
    with _lock:
        if len(_plans) >= _MAX_PLANS:
            _plans.clear()
        _plans[id(vendor)] = plan
    return plan
