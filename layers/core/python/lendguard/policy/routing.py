"""Which version of a policy decides a case: the champion, A/B arms, conditional routes, shadows.

A routing is data, stored per policy id and versioned (:mod:`lendguard.store.policies`): every
change writes a new revision in one transaction, so there is never a moment with no routing or
two. Validate resolves it once per case (:func:`resolve`) and pins the result in the state.

Resolution, in order:

1. ``conditions``: the first route whose ``when`` expression (over application facts only) is
   true picks its version. Conditions may not overlap (checked when the routing is written, see
   :func:`check_overlaps`), so the order never matters.
2. ``arms``: a percentage split. The bucket is ``HMAC-SHA256(key=experiment, msg=hashed ID
   number) mod 10,000``, so one person always lands in the same arm of one experiment, and a new
   experiment reshuffles. Percentages are in hundredths of a percent and sum to 100.
3. otherwise the ``champion``.

``shadows`` are challenger versions run after the champion answered, on the data its flow
already bought, and only recorded.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import ConfigDict, Field, ValidationError, field_validator

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput
from lendguard.core.facts import APPLICATION_FACTS, FactType
from lendguard.policy.expr import CompiledExpression, ExpressionError, compile_expression

BUCKETS = 10_000  # the split is exact to a hundredth of a percent
MAX_CONDITION_FACTS = 4  # the overlap check tries every combination of probe values
Identifier = str


class Arm(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    version: int = Field(ge=1)
    percent: Decimal = Field(gt=0, le=100, decimal_places=2)


class ConditionalRoute(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    when: str = Field(min_length=1, max_length=1000)
    version: int = Field(ge=1)

    @field_validator("when")
    @classmethod
    def _compiles(cls, value: str) -> str:
        compiled = _compile(value)
        unknown = sorted(compiled.facts - set(APPLICATION_FACTS))
        if unknown:
            raise ValueError(
                f"may read only application facts; {unknown} are not (known: {sorted(APPLICATION_FACTS)})"
            )
        return value

    @property
    def compiled(self) -> CompiledExpression:
        return _compile(self.when)


class ComplianceAck(Model):
    """A compliance officer's acknowledgement that a split treating applicants differently is fair."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    by: str = Field(min_length=1, max_length=128)
    reference: str = Field(min_length=1, max_length=256, description="Ticket or assessment id")
    note: str = Field(default="", max_length=2000)


class RoutingSpec(Model):
    """What a caller asks to put in force for one policy id."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    champion: int = Field(ge=1)
    experiment: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")
    arms: list[Arm] = Field(default_factory=list, max_length=10)
    conditions: list[ConditionalRoute] = Field(default_factory=list, max_length=20)
    shadows: list[int] = Field(default_factory=list, max_length=5)
    compliance_ack: ComplianceAck | None = None

    def problems(self) -> list[FieldError]:
        """Cross-field problems: split sums, duplicate names, shadows that decide, overlapping routes."""
        problems: list[FieldError] = []
        if self.arms:
            total = sum((a.percent for a in self.arms), Decimal(0))
            if total != 100:
                problems.append(FieldError(field="arms", message=f"percentages sum to {total}, not 100"))
            if self.experiment is None:
                problems.append(FieldError(field="experiment", message="an A/B split needs an experiment name (the bucket key)"))  # fmt: skip
            names = [a.name for a in self.arms]
            if len(set(names)) != len(names):
                problems.append(FieldError(field="arms", message="arm names must be unique"))
        names = [c.name for c in self.conditions]
        if len(set(names)) != len(names):
            problems.append(FieldError(field="conditions", message="route names must be unique"))
        if len(set(self.shadows)) != len(self.shadows):
            problems.append(FieldError(field="shadows", message="a version is listed twice"))
        live = {self.champion, *(a.version for a in self.arms), *(c.version for c in self.conditions)}
        for i, version in enumerate(self.shadows):
            if version in live:
                problems.append(FieldError(field=f"shadows.{i}", message=f"v{version} already decides; a shadow only records"))  # fmt: skip
        return problems + check_overlaps(self.conditions)

    def versions(self) -> set[int]:
        """Every version the routing names (all must be APPROVED)."""
        return {
            self.champion,
            *(a.version for a in self.arms),
            *(c.version for c in self.conditions),
            *self.shadows,
        }

    def deciding_versions(self) -> set[int]:
        return {self.champion, *(a.version for a in self.arms), *(c.version for c in self.conditions)}


class Routing(RoutingSpec):
    """A stored revision of a policy id's routing, with who changed it, when and why."""

    policy_id: str
    revision: int = Field(ge=1)
    changed_by: str
    changed_at: datetime
    reason: str = ""
    restored_from: int | None = Field(default=None, description="Set by a rollback: the revision restored")


class Pin(Model):
    """What Validate pins in the case: the version that decides and how it was chosen."""

    id: str
    version: int
    routing_revision: int | None = None
    experiment: str | None = None
    arm: str | None = Field(default=None, description="'champion', an arm or a conditional route's name")
    shadows: list[int] = Field(default_factory=list)

    def as_state(self) -> dict[str, Any]:
        """The pin as ``DecisionState.policy``: ``id`` and ``version`` as before, the rest when set."""
        return {k: v for k, v in self.model_dump(exclude_none=True).items() if v != []}


def bucket(experiment: str, subject_hash: str) -> int:
    """The applicant's bucket in ``[0, BUCKETS)`` for this experiment (stable per person)."""
    digest = hmac.new(experiment.encode(), subject_hash.encode(), hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def resolve(routing: Routing, facts: Mapping[str, Any], subject_hash: str) -> Pin:
    """The version that decides a case with these application facts (see the module docstring)."""
    base = {"id": routing.policy_id, "routing_revision": routing.revision, "shadows": list(routing.shadows)}
    for route in routing.conditions:
        if route.compiled.hit(facts) is True:
            return Pin(**base, version=route.version, experiment=routing.experiment, arm=route.name)
    if routing.arms:
        assert routing.experiment is not None
        b = bucket(routing.experiment, subject_hash)
        edge = Decimal(0)
        for arm in routing.arms:
            edge += arm.percent * BUCKETS / 100
            if b < edge:
                return Pin(**base, version=arm.version, experiment=routing.experiment, arm=arm.name)
    return Pin(**base, version=routing.champion, experiment=routing.experiment, arm="champion")


def parse_spec(raw: object) -> RoutingSpec:
    """A routing request body, or :class:`InvalidInput` naming each bad field."""
    try:
        spec = RoutingSpec.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid routing", exc) from None
    problems = spec.problems()
    if problems:
        raise InvalidInput("invalid routing", problems)
    return spec


# ---- overlap of conditional routes -------------------------------------------------------------

_NUMBER = re.compile(r"(?<![A-Za-z_.\d])-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_STRING = re.compile(r"'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"")


def _compile(source: str) -> CompiledExpression:
    try:
        return compile_expression(source)
    except ExpressionError as exc:
        raise ValueError(str(exc)) from None


def _probes(fact: str, sources: list[str]) -> list[Any]:
    """Values of ``fact`` that visit every region the conditions' constants cut its range into."""
    kind = APPLICATION_FACTS[fact]
    values: list[Any] = [None]
    if kind is FactType.BOOLEAN:
        return [*values, True, False]
    text = " ".join(sources)
    if kind is FactType.STRING:
        found = {a or b for a, b in _STRING.findall(text)}
        return [*values, *sorted(found), "\x00other"]
    numbers = sorted({float(n) for n in _NUMBER.findall(text)})
    probes = {0.0}
    for n in numbers:
        probes |= {n - 0.5, n, n + 0.5}
    for a, b in itertools.pairwise(numbers):
        probes.add((a + b) / 2)
    if numbers:
        probes |= {numbers[0] - 1e6, numbers[-1] + 1e6}
    return [*values, *sorted(probes)]


def check_overlaps(conditions: list[ConditionalRoute]) -> list[FieldError]:
    """Pairs of routes that some application would match both of.

    Each fact a pair reads is probed at every constant in the two expressions, just beside it,
    between neighbours and far beyond, plus missing: for conditions comparing facts with
    constants (``application.channel == "web"``, ``application.requested_amount >= 5000``) that
    visits every region the constants cut the facts into, so an overlap is always found. A pair
    reading more than :data:`MAX_CONDITION_FACTS` facts together is refused as too complex to check.
    """
    problems: list[FieldError] = []
    for (_, a), (j, b) in itertools.combinations(enumerate(conditions), 2):
        facts = sorted(a.compiled.facts | b.compiled.facts)
        if len(facts) > MAX_CONDITION_FACTS:
            problems.append(FieldError(field=f"conditions.{j}.when", message=f"routes {a.name} and {b.name} read "
                                       f"{len(facts)} facts together; at most {MAX_CONDITION_FACTS} can be checked"))  # fmt: skip
            continue
        grid = [_probes(f, [a.when, b.when]) for f in facts]
        for values in itertools.product(*grid):
            row = dict(zip(facts, values, strict=True))
            try:
                both = a.compiled.hit(row) is True and b.compiled.hit(row) is True
            except ExpressionError:
                continue  # a type error for a probe value the fact never takes
            if both:
                shown = ", ".join(f"{f}={v!r}" for f, v in row.items() if v is not None)
                problems.append(
                    FieldError(field=f"conditions.{j}.when", message=f"overlaps route {a.name} (both match {shown or 'missing facts'})")
                )  # fmt: skip
                break
    return problems
