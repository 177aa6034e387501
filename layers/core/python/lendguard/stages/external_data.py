"""External data: vendor groups in the policy's cost order; each group may reject before the next is paid."""

from __future__ import annotations

import time
from typing import Protocol

from lendguard.policy.schema import Policy, Pricing, Vendor, VendorGroup
from lendguard.providers.base import Provider, ProviderRegistry
from lendguard.providers.responses import RESPONSE_MODELS
from lendguard.stages.rules import apply_rules
from lendguard.stages.state import DecisionState, VendorCall


class PayloadArchive(Protocol):
    def put(self, case_id: str, vendor_id: str, payload: bytes) -> str:
        """Store a raw vendor payload; return the reference recorded in the trace."""
        ...


def run(
    state: DecisionState, policy: Policy, providers: ProviderRegistry, archive: PayloadArchive
) -> DecisionState:
    """Call each vendor group in order, exposing responses as facts and applying the group's rules."""
    white = state.facts.get("lists.white.any") is True
    for group in policy.vendor_groups:
        if group.skip_if_white and white:
            for vendor_id in group.vendors:
                vendor = policy.vendor_by_id[vendor_id]
                _missing(state, vendor)
                state.trace.vendors.append(
                    VendorCall(vendor=vendor.id, group=group.id, service=vendor.service, status="skipped",
                               detail="white-listed: group marked skip_if_white")
                )  # fmt: skip
            apply_rules(state, f"vendor:{group.id}", group.rules)
            continue
        _call_group(state, policy, group, providers, archive)
        apply_rules(state, f"vendor:{group.id}", group.rules)
        if state.halted:
            break
    return state


def _call_group(
    state: DecisionState,
    policy: Policy,
    group: VendorGroup,
    providers: ProviderRegistry,
    archive: PayloadArchive,
) -> None:
    for vendor_id in group.vendors:
        vendor = policy.vendor_by_id[vendor_id]
        if vendor.needs_consent and state.facts.get(f"consents.{vendor.needs_consent}") is not True:
            _missing(state, vendor)
            state.trace.vendors.append(
                VendorCall(vendor=vendor.id, group=group.id, service=vendor.service, status="skipped",
                           detail=f"no {vendor.needs_consent} consent")
            )  # fmt: skip
            continue
        state.trace.vendors.append(_call(state, vendor, group, providers.get(vendor), archive))


def _call(
    state: DecisionState, vendor: Vendor, group: VendorGroup, provider: Provider, archive: PayloadArchive
) -> VendorCall:
    call = VendorCall(vendor=vendor.id, group=group.id, service=vendor.service, status="ok")
    started = time.perf_counter()
    last_error = ""
    for _attempt in range(vendor.retries + 1):
        try:
            response, raw = provider.fetch(state.subject, state.application)
            break
        except Exception as exc:  # a vendor fault must never lose the case: the rules decide on missing data
            last_error = f"{type(exc).__name__}: {exc}"
    else:
        call.latency_ms = (time.perf_counter() - started) * 1000
        call.status, call.detail = "error", last_error[:500]
        _missing(state, vendor)
        return call
    call.latency_ms = (time.perf_counter() - started) * 1000
    call.billed = vendor.pricing is Pricing.PER_QUERY or response.is_hit()
    call.cost = vendor.cost if call.billed else 0.0
    state.vendor_cost = round(state.vendor_cost + call.cost, 6)
    call.payload_ref = archive.put(state.case_id, vendor.id, raw)
    state.facts.update({f"{vendor.id}.{k}": v for k, v in response.model_dump().items()})
    return call


def _missing(state: DecisionState, vendor: Vendor) -> None:
    for name in RESPONSE_MODELS[vendor.service].model_fields:
        state.facts[f"{vendor.id}.{name}"] = None
