"""Policy test suites: sample applications with assumed vendor answers and list hits, and the
decision each must get, run in process through :class:`lendguard.decision.pipeline.Pipeline`.

A suite is YAML (``policies/<name>.tests.yaml`` beside the policy)::

    defaults:                      # merged under every case (objects deeply, the rest replaced)
      application: {...}           # a complete application, as POST /v1/decisions takes it
      vendors:                     # vendor id -> the answer to assume (fields of its response)
        identity: {match: true, name_match: true}
    cases:
      - name: clean-approve
        application: {requested_amount: 3000}      # overrides of the default application
        vendors: {bureau: {multi_lender_7d: 5}}    # or {bureau: error} for a vendor fault
        lists: [{kind: BLACK, key_type: DEVICE_ID}]
        internal: {internal.ids_on_device_30d: 5}   # our own data (default: a first-time applicant)
        at: "2026-11-22T02:00:00+00:00"            # decision time (default: submitted_at)
        expect: {decision: REJECT, reasons: [BUR_MULTI_LENDER_7D], limit: 3000}

``expect.reasons`` is the exact set of reason codes other than the model's (the score's top
contributions change with every retraining); ``limit`` (optional) the exact credit
limit. A vendor the case gives no answer for fails as unavailable, so its rules' ``on_missing``
apply. ``internal`` overrides facts of our own data (``internal.*``, ``customer.*``); the rest
are a first-time applicant's (one application per identifier, no history, fresh zero features).
Coverage: every enabled rule must be hit by some case and evaluated without a hit by
another; a rule that never ran counts as neither.
"""

from __future__ import annotations

import copy
import hashlib
from datetime import datetime
from typing import Any, Literal

import yaml
from pydantic import ConfigDict, Field, ValidationError

from lendguard.core.application import parse_application
from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.core.facts import KeyType, ListKind
from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.pipeline import MemoryLists, Pipeline
from lendguard.decision.stages.validate import subject_of
from lendguard.decision.state import DecisionState, Subject
from lendguard.internal.source import OWN_FACTS, AssumedOwnData
from lendguard.lists.entries import ListHit
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy, Vendor
from lendguard.vendors.base import ProviderRegistry
from lendguard.vendors.errors import VendorUnavailable

_SUBJECT_FIELD = {
    KeyType.ID_NUMBER: "id_number", KeyType.PHONE: "phone", KeyType.DEVICE_ID: "device_id",
    KeyType.BANK_CARD: "bank_card", KeyType.IP: "ip",
}  # fmt: skip


class AssumedHit(Model):
    model_config = ConfigDict(extra="forbid")

    kind: ListKind
    key_type: KeyType
    reason_code: str = "SUITE"


class Expectation(Model):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["APPROVE", "REVIEW", "REJECT"]
    reasons: list[str] | None = Field(default=None, description="The exact set of reason codes")
    limit: float | None = Field(default=None, ge=0)


class SuiteCase(Model):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128)
    description: str = ""
    application: dict[str, Any] = Field(default_factory=dict)
    vendors: dict[str, dict[str, Any] | Literal["error"]] = Field(default_factory=dict)
    lists: list[AssumedHit] = Field(default_factory=list)
    internal: dict[str, float | int | str | bool | None] = Field(default_factory=dict)
    at: datetime | None = None
    expect: Expectation


class SuiteDefaults(Model):
    model_config = ConfigDict(extra="forbid")

    application: dict[str, Any] = Field(default_factory=dict)
    vendors: dict[str, dict[str, Any] | Literal["error"]] = Field(default_factory=dict)
    internal: dict[str, float | int | str | bool | None] = Field(default_factory=dict)


class Suite(Model):
    model_config = ConfigDict(extra="forbid")

    policy: str | None = Field(default=None, description="The policy id the suite is written for")
    defaults: SuiteDefaults = Field(default_factory=SuiteDefaults)
    cases: list[SuiteCase] = Field(min_length=1)


class CaseResult(Model):
    name: str
    passed: bool
    expected: Expectation
    decision: str | None
    reasons: list[str]
    limit: float | None
    problems: list[str] = Field(default_factory=list)


class RuleCoverage(Model):
    rule_id: str
    enabled: bool
    hit: int
    not_hit: int

    @property
    def covered(self) -> bool:
        return not self.enabled or (self.hit > 0 and self.not_hit > 0)


class SuiteReport(Model):
    policy: dict[str, Any]
    digest: str
    results: list[CaseResult]
    coverage: list[RuleCoverage]

    @property
    def failed(self) -> list[str]:
        return [r.name for r in self.results if not r.passed]

    @property
    def uncovered(self) -> list[str]:
        return [c.rule_id for c in self.coverage if not c.covered]

    @property
    def green(self) -> bool:
        return bool(self.results) and not self.failed and not self.uncovered


def parse_suite(text: str, field: str = "tests") -> Suite:
    """A suite document, or :class:`InvalidInput` naming each bad field (prefixed with ``field``)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidInput(
            "invalid test suite", [FieldError(field=field, message=f"not valid YAML: {exc}")]
        ) from None
    try:
        return Suite.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid test suite", exc, prefix=f"{field}.") from None


def suite_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for key, value in over.items():
            out[key] = _merge(base.get(key), value) if key in base else copy.deepcopy(value)
        return out
    return copy.deepcopy(over)


class _Assumed:
    """A vendor that answers what the case assumes (or fails, or is unavailable)."""

    self_timed = True

    def __init__(self, vendor: Vendor, answer: dict[str, Any] | str | None):
        self.vendor, self.answer = vendor, answer

    def fetch(self, subject: Subject, application: dict[str, Any]) -> tuple[VendorResponse, bytes]:
        if not isinstance(self.answer, dict):
            raise VendorUnavailable(f"vendor {self.vendor.id}: no answer assumed by the test case")
        response = RESPONSE_MODELS[self.vendor.service].model_validate(self.answer)
        return response, response.model_dump_json().encode()


def _check_vendors(policy: Policy, suite: Suite) -> list[FieldError]:
    problems = []
    sources = [("defaults", suite.defaults.vendors)] + [
        (f"cases.{i}", c.vendors) for i, c in enumerate(suite.cases)
    ]
    for where, vendors in sources:
        for vendor_id, answer in vendors.items():
            vendor = policy.vendor_by_id.get(vendor_id)
            if vendor is None:
                problems.append(FieldError(field=f"tests.{where}.vendors.{vendor_id}", message="not a vendor of the policy"))  # fmt: skip
            elif isinstance(answer, dict):
                model = RESPONSE_MODELS[vendor.service]
                unknown = sorted(set(answer) - set(model.model_fields))
                if unknown:
                    problems.append(FieldError(field=f"tests.{where}.vendors.{vendor_id}",
                                               message=f"fields {unknown} are not in a {vendor.service} answer"))  # fmt: skip
    own = [("defaults", suite.defaults.internal)] + [
        (f"cases.{i}", c.internal) for i, c in enumerate(suite.cases)
    ]
    for where, assumed in own:
        for name in sorted(set(assumed) - set(OWN_FACTS)):
            problems.append(FieldError(field=f"tests.{where}.internal.{name}", message="not a fact of our own data"))  # fmt: skip
    return problems


def run_suite(
    policy: Policy, model: ModelArtifact, suite: Suite, secret: str, digest: str = ""
) -> SuiteReport:
    """Decide every case in process and compare with its expectation; count rule coverage.

    Raises :class:`InvalidInput` (naming the case and field) when a case itself is malformed:
    an invalid application, a vendor the policy does not have, an answer that does not fit.
    """
    problems = _check_vendors(policy, suite)
    if problems:
        raise InvalidInput("invalid test suite", problems)
    hits = {rule.id: [0, 0] for rule in policy.all_rules()}
    results = []
    for i, case in enumerate(suite.cases):
        raw = _merge(suite.defaults.application, case.application)
        try:
            app = parse_application(raw, policy.products)
        except InvalidInput as exc:
            raise InvalidInput(
                "invalid test suite",
                [
                    FieldError(field=f"tests.cases.{i}.application.{d.field}", message=d.message)
                    for d in exc.details
                ],
            ) from None
        answers = _merge(suite.defaults.vendors, case.vendors)
        providers = ProviderRegistry(sleep=lambda _s: None)
        for vendor in policy.vendors:
            providers.register(vendor.id, _Assumed(vendor, answers.get(vendor.id)))
        subject = subject_of(app, secret)
        lookup = MemoryLists()
        for hit in case.lists:
            value = getattr(subject, _SUBJECT_FIELD[hit.key_type])
            if value is None:
                raise InvalidInput("invalid test suite", [FieldError(
                    field=f"tests.cases.{i}.lists", message=f"the application has no {hit.key_type} to list")])  # fmt: skip
            lookup.entries[(hit.kind.value, hit.key_type.value, value)] = ListHit(
                kind=hit.kind, key_type=hit.key_type.value, reason_code=hit.reason_code
            )
        at = case.at or app.submitted_at
        own = AssumedOwnData({**suite.defaults.internal, **case.internal})
        pipeline = Pipeline(policy, model, secret, lookup=lookup, providers=providers, own=own)
        state = pipeline.decide(app, f"T-{i}", at)
        _count(state, hits)
        results.append(_compare(case, state))
    coverage = [
        RuleCoverage(rule_id=rule.id, enabled=rule.enabled, hit=hits[rule.id][0], not_hit=hits[rule.id][1])
        for rule in policy.all_rules()
    ]
    return SuiteReport(policy=policy.ref, digest=digest, results=results, coverage=coverage)


def _count(state: DecisionState, hits: dict[str, list[int]]) -> None:
    for trace in state.trace.rules:
        if trace.rule_id not in hits or trace.outcome == "disabled":
            continue
        acted = trace.outcome == "hit" or (trace.outcome == "missing" and trace.effect != "none")
        hits[trace.rule_id][0 if acted else 1] += 1


def _compare(case: SuiteCase, state: DecisionState) -> CaseResult:
    expect = case.expect
    # Model reasons (the score's top contributions) move with every retraining: not asserted.
    given = (*state.reasons, *state.review_reasons)
    reasons = sorted({r.code for r in given if r.source != "model"})
    limit = state.offer.credit_limit if state.offer else None
    problems = []
    if state.decision != expect.decision:
        problems.append(f"decision {state.decision}, expected {expect.decision}")
    if expect.reasons is not None and sorted(set(expect.reasons)) != reasons:
        problems.append(f"reasons {reasons}, expected {sorted(set(expect.reasons))}")
    if expect.limit is not None and limit != expect.limit:
        problems.append(f"limit {limit}, expected {expect.limit:g}")
    return CaseResult(
        name=case.name, passed=not problems, expected=expect, decision=state.decision,
        reasons=reasons, limit=limit, problems=problems,
    )  # fmt: skip
