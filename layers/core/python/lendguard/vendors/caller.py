"""One vendor call with everything around it, the same for every adapter.

In order: (1) the charge record of this application (a retry or replay gets its first answer
back, free); (2) the data cache (another application of the same subject, free); (3) the
circuit breaker (open: skipped with the reason); (4) attempts, each under the vendor's timeout,
retried on retryable faults with full-jitter backoff; then billing, the raw payload archived
(only its reference enters the trace), and the charge and cache records written.

Nothing here mutates the decision state: the stage runs calls of one group concurrently and
merges their outcomes in policy order.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from pydantic import ValidationError

from lendguard.core.vendor_responses import VendorResponse
from lendguard.decision.state import FactValue, Subject, VendorCall
from lendguard.policy.schema import Vendor
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import REPLAY_WINDOW_DAYS, CachedResponse, VendorCache, subject_key
from lendguard.vendors.errors import VendorError, VendorMalformed
from lendguard.vendors.plan import VendorPlan, plan_of
from lendguard.vendors.resilience import backoff_delay_s, run_with_timeout

logger = logging.getLogger(__name__)
DAY_S = 86_400


class PayloadArchive(Protocol):
    def put(self, case_id: str, vendor_id: str, payload: bytes) -> str:
        """Store a raw vendor payload; return the reference recorded in the trace."""
        ...


@dataclass(frozen=True)
class CallRequest:
    """What a call needs to know about the case (a read-only view, safe to share with threads)."""

    case_id: str
    application_id: str
    subject: Subject
    application: dict[str, Any]


@dataclass
class CallOutcome:
    """The trace entry and, when the vendor answered, its facts (``None``: the facts are missing)."""

    call: VendorCall
    facts: dict[str, FactValue] | None = None
    notes: list[str] = field(default_factory=list)


def facts_of(vendor: Vendor, response: VendorResponse) -> dict[str, FactValue]:
    """A response's fields as facts ``<vendor id>.<field>``."""
    return plan_of(vendor).facts_of(response)


def missing_facts(vendor: Vendor) -> dict[str, FactValue]:
    """Every fact of the vendor set to None, so each rule's ``on_missing`` decides."""
    return dict(plan_of(vendor).missing)


def archived_payload(vendor: Vendor, response: VendorResponse, raw: bytes) -> bytes:
    """What is kept of an answer: the raw bytes, except for biometric services, whose raw answer
    may carry the captured image; of those only the typed response (scores) is kept."""
    if plan_of(vendor).biometric:
        return response.model_dump_json().encode()
    return raw


# A call's trace entry is drafted as a plain dict (each assignment to a model runs its hooks) and
# turned into a VendorCall once, when the call is over.
_CALL_DEFAULTS: dict[str, Any] = {
    name: field.default for name, field in VendorCall.model_fields.items() if not field.is_required()
}
_CALL_FIELDS = frozenset(VendorCall.model_fields)
_new_model = object.__new__
_set = object.__setattr__


def draft_entry(vendor_id: str, group_id: str, service: str) -> dict[str, Any]:
    """A call's trace entry as a dict of every field, in the model's field order (the required
    ones, then those with defaults), status ``ok``: :func:`trace_entry` makes it the entry."""
    return {"vendor": vendor_id, "group": group_id, "service": service, "status": "ok", **_CALL_DEFAULTS}


def call_vendor(
    vendor: Vendor,
    group_id: str,
    request: CallRequest,
    registry: ProviderRegistry,
    archive: PayloadArchive,
    cache: VendorCache | None = None,
) -> CallOutcome:
    """Get the vendor's answer for the case by the cheapest sound route; never raises."""
    plan = plan_of(vendor)
    call = draft_entry(vendor.id, group_id, vendor.service)
    started = time.perf_counter()
    try:
        facts, notes = _call(plan, call, request, registry, archive, cache)
    except Exception as exc:  # a bug here must not lose the case: the rules decide on missing data
        logger.exception("vendor %s: unexpected failure", vendor.id)
        call["status"], call["error_type"] = "error", "internal"
        call["detail"] = f"internal error: {type(exc).__name__}: {exc}"[:500]
        facts, notes = None, []
    call["latency_ms"] = round((time.perf_counter() - started) * 1000, 3)
    if notes:
        call["detail"] = "; ".join(filter(None, [call["detail"], *notes]))[:500]
    return CallOutcome(trace_entry(call), facts, notes)


def trace_entry(call: dict[str, Any]) -> VendorCall:
    """The VendorCall of a drafted entry (every field, in field order), without validating it again.

    Every value was set here from typed sources (the validated policy's vendor, typed responses,
    ``round`` of a float); the cost and latency are made floats as validation would (a policy cost
    may be an int). The draft becomes the instance's ``__dict__``, every field counted as set, as
    ``model_validate`` of the full dict makes it. tests/unit/test_hot_path_state.py holds the two equal.
    """
    if type(call["cost"]) is not float:
        call["cost"] = float(call["cost"])
    if type(call["latency_ms"]) is not float:
        call["latency_ms"] = float(call["latency_ms"])
    entry = _new_model(VendorCall)
    _set(entry, "__dict__", call)
    _set(entry, "__pydantic_fields_set__", set(_CALL_FIELDS))
    _set(entry, "__pydantic_extra__", None)
    _set(entry, "__pydantic_private__", None)
    return entry


def _reuse(plan: VendorPlan, entry: CachedResponse) -> VendorResponse | None:
    # A stored answer must still fit today's response model; if not, ask the vendor again.
    try:
        return plan.model.model_validate(entry.response)
    except ValidationError:
        return None


def _call(
    plan: VendorPlan,
    call: dict[str, Any],
    request: CallRequest,
    registry: ProviderRegistry,
    archive: PayloadArchive,
    cache: VendorCache | None,
) -> tuple[dict[str, FactValue] | None, list[str]]:
    """Fill in ``call`` (the trace entry's fields); return the facts (None: missing) and notes."""
    vendor = plan.vendor
    notes: list[str] = []
    now = registry.clock()

    if cache is not None:
        key = subject_key(vendor.service, request.subject)
        try:
            first, hit = cache.lookup(
                vendor.id, request.application_id, key if vendor.cache_ttl_days > 0 else None, now
            )
        except Exception as exc:  # the cache is an optimisation: when it cannot be read, ask the vendor
            logger.warning("vendor %s: data cache unreadable: %s", vendor.id, exc)
            notes.append(f"cache unreadable: {type(exc).__name__}")
            first = hit = None
        response = _reuse(plan, first) if first is not None else None
        if first is not None and response is not None:
            call.update(replayed=True, payload_ref=first.payload_ref, source_case_id=first.case_id)
            call["detail"] = (
                f"application seen before (case {first.case_id}): first answer reused, not charged again"
            )
            return plan.facts_of(response), notes
        response = _reuse(plan, hit) if hit is not None else None
        if hit is not None and response is not None:
            call.update(cache_hit=True, payload_ref=hit.payload_ref, source_case_id=hit.case_id)
            entry = hit.model_copy(
                update={"case_id": request.case_id, "cost": 0.0, "billed": False, "fetched_at": now}
            )
            _remember_charge(cache, vendor, request, entry, notes)
            return plan.facts_of(response), notes

    breaker = registry.breaker(vendor)
    gate = breaker.allow()
    if not gate.allowed:
        call["status"], call["error_type"], call["detail"] = "skipped", "circuit_open", gate.reason
        return None, notes

    try:
        provider = registry.get(vendor)
    except VendorError as exc:
        breaker.record_failure()
        call["status"], call["error_type"], call["detail"] = "error", exc.kind, str(exc)[:500]
        return None, notes

    timeout_s = vendor.timeout_ms / 1000
    what = f"vendor {vendor.id}"
    in_process = getattr(provider, "self_timed", False)
    last: VendorError | None = None
    answer: tuple[VendorResponse, bytes] | None = None
    for attempt in range(vendor.retries + 1):
        if attempt:
            if not breaker.allow().allowed:
                notes.append("breaker opened: no further retries")
                break
            registry.sleep(
                backoff_delay_s(attempt, vendor.backoff_base_ms, vendor.backoff_max_ms, registry.rng)
            )
        call["attempts"] += 1
        try:
            if in_process:
                answer = provider.fetch(request.subject, request.application)
            else:  # a network call: a hard guard on top of the client's own socket timeouts
                answer = run_with_timeout(
                    lambda: provider.fetch(request.subject, request.application), timeout_s, what
                )
        except VendorError as exc:
            last = exc
        except ValidationError as exc:  # an adapter that let a parsing error through
            last = VendorMalformed(f"answer does not fit the response model: {exc.error_count()} errors")
        except Exception as exc:  # an unknown failure is treated as transient
            last = VendorError(f"{type(exc).__name__}: {exc}")
        else:
            breaker.record_success()
            break
        breaker.record_failure()
        if not last.retryable:
            break

    if answer is None:
        assert last is not None
        call["status"], call["error_type"] = "error", last.kind
        tries = f" after {call['attempts']} attempt{'s' if call['attempts'] != 1 else ''}"
        call["detail"] = f"{last.kind}{tries}: {last}"[:500]
        return None, notes

    response, raw = answer
    billed = call["billed"] = plan.per_query or response.is_hit()
    cost = call["cost"] = vendor.cost if billed else 0.0
    try:
        call["payload_ref"] = archive.put(
            request.case_id, vendor.id, response.model_dump_json().encode() if plan.biometric else raw
        )
    except Exception as exc:  # evidence lost is bad, a lost decision worse: record it and go on
        logger.exception("vendor %s: raw payload not archived", vendor.id)
        notes.append(f"raw payload not archived: {type(exc).__name__}")
    if cache is not None:
        entry = CachedResponse(
            response=response.model_dump(mode="json"), payload_ref=call["payload_ref"],
            case_id=request.case_id, fetched_at=registry.clock(), cost=cost, billed=billed,
        )  # fmt: skip
        _remember_charge(cache, vendor, request, entry, notes)
        if vendor.cache_ttl_days > 0:
            try:
                cache.put_response(vendor.id, key, entry, entry.fetched_at + vendor.cache_ttl_days * DAY_S)
            except Exception as exc:
                notes.append(f"cache not written: {type(exc).__name__}")
    return plan.facts_of(response), notes


def _remember_charge(
    cache: VendorCache, vendor: Vendor, request: CallRequest, entry: CachedResponse, notes: list[str]
) -> None:
    try:
        cache.put_charge(
            vendor.id, request.application_id, entry, entry.fetched_at + REPLAY_WINDOW_DAYS * DAY_S
        )
    except Exception as exc:
        notes.append(f"charge record not written: {type(exc).__name__}")
