"""External data: vendor groups in the policy's cost order; each group may reject before the next is paid.

Groups marked ``after_model`` are not called here but by the Decision stage (:func:`run_group`),
for a case about to get an offer only.

Within a group the vendors are independent, so they are called concurrently: a group costs the
latency of its slowest vendor, not the sum. Their outcomes are merged in policy order, so the
trace reads the same whichever answered first. A vendor that fails, is skipped, lacks consent or
lacks an identifier it needs (a card check on an application without a payout card) leaves its
facts at None, and each rule's ``on_missing`` decides what that means (the rule trace
records ``outcome: missing`` with the behaviour applied).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from lendguard.decision.stages.rules import apply_rules
from lendguard.decision.state import DecisionState, VendorCall
from lendguard.policy.schema import Policy, Vendor, VendorGroup
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.cache import VendorCache
from lendguard.vendors.caller import CallOutcome, CallRequest, PayloadArchive, call_vendor
from lendguard.vendors.plan import VendorPlan, plan_of

__all__ = ["PayloadArchive", "run"]

# One pool per container for the fan-out of a group's vendors (each task runs a whole call:
# cache, retries, backoff). Attempts themselves run on the resilience module's own pool.
_GROUP_POOL = ThreadPoolExecutor(max_workers=16, thread_name_prefix="vendor-group")


def run(
    state: DecisionState,
    policy: Policy,
    providers: ProviderRegistry,
    archive: PayloadArchive,
    cache: VendorCache | None = None,
) -> DecisionState:
    """Call each vendor group in order, exposing responses as facts and applying the group's rules.

    ``cache`` (the data-cache table) enables cached answers and the no-double-charge records;
    without it every vendor is asked (benchmarks, backtests).
    """
    for group in policy.groups_before_model:
        run_group(state, policy, group, providers, archive, cache)
        if state.halted:
            break
    return state


def _may_wait(vendor: Vendor, providers: ProviderRegistry) -> bool:
    """Whether calling ``vendor`` can block: a network adapter, or a provider that says it may."""
    try:
        provider = providers.get(vendor)
    except Exception:  # call_vendor records the failure, at once and without waiting
        return False
    if not getattr(provider, "self_timed", False):
        return True
    return bool(getattr(provider, "may_wait", False))


def run_group(
    state: DecisionState,
    policy: Policy,
    group: VendorGroup,
    providers: ProviderRegistry,
    archive: PayloadArchive,
    cache: VendorCache | None = None,
) -> None:
    """Call one vendor group (unless white-listed and marked so) and apply its rules.

    ExternalData runs the groups before the model; Decision runs the ``after_model`` ones.
    """
    if group.skip_if_white and state.facts.get("lists.white.any") is True:
        for vendor_id in group.vendors:
            _skip(state, policy.vendor_by_id[vendor_id], group, "white-listed: group marked skip_if_white")
    else:
        _call_group(state, policy, group, providers, archive, cache)
    apply_rules(state, f"vendor:{group.id}", group.rules)


def skip_group(state: DecisionState, policy: Policy, group: VendorGroup, reason: str) -> None:
    """Record a group's vendors as not called, with why; their facts are missing (no rules run)."""
    for vendor_id in group.vendors:
        _skip(state, policy.vendor_by_id[vendor_id], group, reason)


def _skip(state: DecisionState, vendor: Vendor, group: VendorGroup, reason: str) -> VendorCall:
    state.facts.update(plan_of(vendor).missing)
    call = VendorCall(
        vendor=vendor.id, group=group.id, service=vendor.service, status="skipped", detail=reason
    )
    state.trace.vendors.append(call)
    return call


def _session_vendor(state: DecisionState) -> str | None:
    liveness = (state.application.get("kyc") or {}).get("liveness") or {}
    return liveness.get("vendor")


def _why_not(state: DecisionState, plan: VendorPlan) -> tuple[str, str] | None:
    """(error type, detail) when the vendor may not or cannot be called for this case."""
    vendor = plan.vendor
    if plan.consent_fact is not None and state.facts.get(plan.consent_fact) is not True:
        return "no_consent", plan.no_consent or ""
    if vendor.service == "liveness_check" and (sdk := _session_vendor(state)) not in (None, vendor.id):
        # A session token means something only to the vendor whose SDK ran the session.
        return "other_session_vendor", f"the liveness session was run by {sdk}'s SDK"
    absent = plan.absent(state.subject)
    if absent:
        return "no_identifier", f"the application has no {', '.join(absent)}"
    return None


def _call_group(
    state: DecisionState,
    policy: Policy,
    group: VendorGroup,
    providers: ProviderRegistry,
    archive: PayloadArchive,
    cache: VendorCache | None,
) -> None:
    request = CallRequest(
        case_id=state.case_id,
        application_id=str(state.application.get("application_id") or state.case_id),
        subject=state.subject,
        application=state.application,
    )
    slots: list[tuple[VendorPlan, VendorCall | None]] = []
    to_call: list[Vendor] = []
    for vendor_id in group.vendors:
        plan = plan_of(policy.vendor_by_id[vendor_id])
        vendor = plan.vendor
        why = _why_not(state, plan)
        skipped = None
        if why is not None:
            skipped = VendorCall(
                vendor=vendor.id, group=group.id, service=vendor.service, status="skipped",
                detail=why[1], error_type=why[0],
            )  # fmt: skip
        else:
            to_call.append(vendor)
        slots.append((plan, skipped))

    # Vendors that may wait (the network, injected latency, retry back-off) overlap on the pool,
    # except the last, which this thread runs itself; vendors answering in process never wait,
    # so they run here with no thread hop at all.
    waiting = [v for v in to_call if _may_wait(v, providers)]
    if not waiting:  # the common case: every vendor answers in process, in policy order
        outcomes: dict[str, CallOutcome] = {
            v.id: call_vendor(v, group.id, request, providers, archive, cache) for v in to_call
        }
    else:
        waiting_ids = {v.id for v in waiting}
        futures = {
            v.id: _GROUP_POOL.submit(call_vendor, v, group.id, request, providers, archive, cache)
            for v in waiting[:-1]
        }
        outcomes = {
            v.id: call_vendor(v, group.id, request, providers, archive, cache)
            for v in (*waiting[-1:], *(v for v in to_call if v.id not in waiting_ids))
        }
        outcomes.update((vendor_id, future.result()) for vendor_id, future in futures.items())

    facts, trace, record = state.facts, state.trace.vendors, providers.metrics.record
    # Summed here in the same order and rounding as one assignment per call would (each
    # assignment to the model costs its __setattr__), and set once.
    spent, called = state.vendor_cost, False
    for plan, skipped in slots:
        if skipped is not None:
            facts.update(plan.missing)
            call = skipped
        else:
            outcome = outcomes[plan.vendor.id]
            facts.update(outcome.facts if outcome.facts is not None else plan.missing)
            call = outcome.call
            spent, called = round(spent + call.cost, 6), True
        trace.append(call)
        record(call)
    if called:
        state.vendor_cost = spent
