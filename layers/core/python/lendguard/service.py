"""One entry point per Lambda: wires the stores to the pure stage logic.

Each function takes and returns plain models, so a handler only parses, calls one of these
and dumps the result; the local runtime and tests call them the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from lendguard.application import parse_application
from lendguard.cases import CaseRecord, case_from_state, failed_case
from lendguard.policy.schema import Policy
from lendguard.providers.base import ProviderRegistry
from lendguard.stages import admission, decision, external_data, features, lists, scoring, validate
from lendguard.stages.state import DecisionState, StageTrace
from lendguard.store import artifacts, cases
from lendguard.store.lists import DynamoListStore
from lendguard.store.payloads import S3PayloadArchive
from lendguard.store.secrets import hash_secret

_providers = ProviderRegistry()
_lists = DynamoListStore()
_archive = S3PayloadArchive()


def now() -> datetime:
    return datetime.now(UTC)


def policy_of(state: DecisionState) -> Policy:
    """The policy version pinned when the case was opened: every stage uses the same one."""
    return artifacts.get_policy(state.policy["id"], int(state.policy["version"]))


def timed(state: DecisionState, stage: str, fn: Callable[[], DecisionState]) -> DecisionState:
    """Run a stage and append its timing and outcome to the trace."""
    halted_before = state.halted
    started = time.perf_counter()
    result = fn()
    elapsed = round((time.perf_counter() - started) * 1000, 3)
    outcome = "reject" if result.halted and not halted_before else "continue"
    result.trace.stages.append(StageTrace(stage=stage, elapsed_ms=elapsed, outcome=outcome))
    return result


def run_validate(event: dict[str, Any], policy_id: str, policy_version: int) -> DecisionState:
    """Open a case from ``{"request": {case_id, application, received_at}, "execution_arn"}``."""
    started = time.perf_counter()
    request = event["request"]
    policy = artifacts.get_policy(policy_id, policy_version)
    app = parse_application(request["application"], policy.products)
    state = validate.open_case(
        app, policy, request["case_id"], datetime.fromisoformat(request["received_at"]), hash_secret(),
        elapsed_ms=round((time.perf_counter() - started) * 1000, 3),
    )  # fmt: skip
    state.execution_arn = event.get("execution_arn")
    return state


def run_admission(state: DecisionState) -> DecisionState:
    return timed(state, "admission", lambda: admission.run(state, policy_of(state)))


def run_lists(state: DecisionState) -> DecisionState:
    return timed(state, "lists", lambda: lists.run(state, policy_of(state), _lists, now()))


def run_external_data(state: DecisionState) -> DecisionState:
    return timed(
        state, "external_data", lambda: external_data.run(state, policy_of(state), _providers, _archive)
    )


def run_features(state: DecisionState) -> DecisionState:
    return timed(state, "features", lambda: features.run(state, policy_of(state)))


def run_scoring(state: DecisionState) -> DecisionState:
    def score() -> DecisionState:
        policy = policy_of(state)
        ref = policy.scoring.model
        shadows = [artifacts.get_model(m.id, m.version) for m in policy.scoring.shadow_models]
        return scoring.run(state, policy, artifacts.get_model(ref.id, ref.version), shadows)

    return timed(state, "scoring", score)


def run_decision(state: DecisionState) -> DecisionState:
    return timed(state, "decision", lambda: decision.run(state, policy_of(state), now()))


def run_finalize(state: DecisionState) -> tuple[DecisionState, CaseRecord]:
    """Write the case record; the state is returned as the execution's output."""
    started = time.perf_counter()
    case = case_from_state(state, now())
    state.trace.stages.append(
        StageTrace(stage="finalize", elapsed_ms=round((time.perf_counter() - started) * 1000, 3))
    )
    case.trace = state.trace
    cases.put_case(case)
    return state, case


def run_record_failure(event: dict[str, Any]) -> CaseRecord:
    """Record a FAILED case with its cause; it can be re-decided later."""
    case = failed_case(event, now())
    cases.put_case(case)
    return case
