"""The policy document: rules per stage, vendors, features, model, cut-offs, limits and prices.

A policy is data. Thresholds live in each rule's ``params`` apart from its ``expression`` so an
analyst can tune them without touching logic; every expression is compiled when the policy is
loaded, so a typo fails the load (naming the rule) instead of a live decision.
"""

from __future__ import annotations

from enum import StrEnum
from functools import cached_property
from itertools import pairwise
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from lendguard.application import ProductLimits
from lendguard.models.points import PointsScale
from lendguard.policy.expr import CompiledExpression, ExpressionError, compile_expression

# The legal ceiling the business works under: no policy may price above it, whatever it says.
LEGAL_APR_CEILING = 0.36

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64)]
RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
ParamValue = float | int | str | bool | list[float | int | str]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Action(StrEnum):
    REJECT = "reject"  # end the flow with REJECT
    REVIEW = "review"  # send to manual review unless something rejects
    FLAG = "flag"  # record only
    SCORE = "score"  # add ``points`` (usually negative) to the model score


class OnMissing(StrEnum):
    """What a rule does when a fact it reads is missing (a vendor failed, a field is absent)."""

    SKIP = "skip"  # treat as not hit, record it
    HIT = "hit"  # treat as hit (fail closed)
    REJECT = "reject"  # reject whatever the rule's action
    REVIEW = "review"  # send to review whatever the rule's action


class Rule(_Model):
    """One policy rule: ``expression`` is true when the rule hits."""

    id: RuleId
    description: str = Field(min_length=1)
    expression: str = Field(min_length=1)
    params: dict[Identifier, ParamValue] = Field(default_factory=dict)
    action: Action
    reason: str = Field(min_length=1, description="Text shown to the applicant or reviewer when it hits")
    points: float | None = Field(default=None, description="Score adjustment for action=score")
    enabled: bool = True
    mandatory: bool = Field(default=False, description="May not be switched off (regulatory or loss control)")
    on_missing: OnMissing = OnMissing.SKIP
    skip_if_white: bool = Field(default=False, description="Not evaluated for white-listed applicants")

    _compiled: CompiledExpression | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _check(self) -> Rule:
        if self.mandatory and not self.enabled:
            raise ValueError(f"rule {self.id}: mandatory and cannot be switched off")
        if self.action is Action.SCORE and self.points is None:
            raise ValueError(f"rule {self.id}: action 'score' needs 'points'")
        if self.action is not Action.SCORE and self.points is not None:
            raise ValueError(f"rule {self.id}: 'points' only applies to action 'score'")
        try:
            self._compiled = compile_expression(self.expression, self.params)
        except ExpressionError as exc:
            raise ValueError(f"rule {self.id}: {exc}") from None
        unused = set(self.params) - set(self._compiled.params)
        if unused:
            raise ValueError(f"rule {self.id}: parameters not used by the expression: {sorted(unused)}")
        return self

    @property
    def compiled(self) -> CompiledExpression:
        assert self._compiled is not None
        return self._compiled


class Feature(_Model):
    """A derived value, available to later rules and the model as ``features.<name>``."""

    name: Identifier
    description: str = ""
    expression: str
    params: dict[Identifier, ParamValue] = Field(default_factory=dict)

    _compiled: CompiledExpression | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _compile(self) -> Feature:
        try:
            self._compiled = compile_expression(self.expression, self.params)
        except ExpressionError as exc:
            raise ValueError(f"feature {self.name}: {exc}") from None
        return self

    @property
    def fact(self) -> str:
        return f"features.{self.name}"

    @property
    def compiled(self) -> CompiledExpression:
        assert self._compiled is not None
        return self._compiled


class Pricing(StrEnum):
    PER_QUERY = "per_query"  # every call is billed
    PER_HIT = "per_hit"  # billed only when the vendor has a record for the subject


class Vendor(_Model):
    """A third-party data source; its facts appear as ``<id>.<field>``."""

    id: Identifier
    service: Literal["identity_check", "fraud_blacklist", "fraud_score", "bureau_report"] = Field(
        description="What the vendor answers; fixes the response model and so the facts it yields"
    )
    adapter: Literal["simulated", "http"] = "simulated"
    pricing: Pricing = Pricing.PER_QUERY
    cost: float = Field(ge=0, description="Unit cost in the policy currency")
    timeout_ms: int = Field(default=1500, ge=10, le=30_000)
    retries: int = Field(default=1, ge=0, le=5)
    cache_ttl_days: float = Field(default=0, ge=0, le=365)
    needs_consent: Literal["bureau", "telco"] | None = None


class VendorGroup(_Model):
    """Vendors paid together; the group's rules can reject before the next group is paid."""

    id: Identifier
    description: str = ""
    vendors: list[Identifier] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    skip_if_white: bool = False


class Product(ProductLimits):
    mode: Literal["revolving", "single_draw"]
    validity_days: int = Field(ge=1, le=366)


class ModelRef(_Model):
    id: Identifier
    version: int = Field(ge=1)


class Scoring(_Model):
    model: ModelRef
    scale: PointsScale = PointsScale()
    shadow_models: list[ModelRef] = Field(default_factory=list)
    reason_texts: dict[str, str] = Field(
        default_factory=dict, description="Model feature → reason text for adverse-action notices"
    )
    max_model_reasons: int = Field(default=3, ge=0, le=10)
    max_missing_inputs: int = Field(
        default=3,
        ge=0,
        description="More missing model inputs than this make the score unreliable: it may not reject, "
        "the case goes to review and is priced at the lowest band",
    )


class Cutoffs(_Model):
    """APPROVE at or above ``approve_min``; REVIEW from ``review_min``; REJECT below it."""

    approve_min: float
    review_min: float

    @model_validator(mode="after")
    def _order(self) -> Cutoffs:
        if self.review_min > self.approve_min:
            raise ValueError("cutoffs: review_min must not be above approve_min")
        return self


class LimitTable(_Model):
    """Credit limit by score band (rows) and monthly-income band (columns)."""

    score_bands: list[float] = Field(min_length=1, description="Lower edges of the score bands, ascending")
    income_bands: list[float] = Field(min_length=1, description="Lower edges of the income bands, ascending")
    table: list[list[float]]
    max_dti: float = Field(gt=0, le=2, description="Ceiling on (existing debt + new instalment) / income")
    rounding: float = Field(default=100, gt=0, description="Limits are rounded down to a multiple of this")
    existing_debt_fact: str = Field(
        default="bureau.monthly_debt", description="Fact holding the applicant's existing monthly repayments"
    )

    @model_validator(mode="after")
    def _shape(self) -> LimitTable:
        for name in ("score_bands", "income_bands"):
            edges = getattr(self, name)
            if any(b <= a for a, b in pairwise(edges)):
                raise ValueError(f"limits.{name} must be strictly ascending")
        if len(self.table) != len(self.score_bands):
            raise ValueError(f"limits.table needs {len(self.score_bands)} rows (one per score band)")
        for i, row in enumerate(self.table):
            if len(row) != len(self.income_bands):
                raise ValueError(
                    f"limits.table row {i} needs {len(self.income_bands)} columns (one per income band)"
                )
            if any(v < 0 for v in row):
                raise ValueError(f"limits.table row {i} has a negative limit")
        return self


class PricingTable(_Model):
    """APR by score band (same bands as the limit table), with a hard cap."""

    apr_by_score_band: list[float] = Field(min_length=1)
    apr_cap: float = Field(gt=0)

    @model_validator(mode="after")
    def _caps(self) -> PricingTable:
        if self.apr_cap > LEGAL_APR_CEILING:
            raise ValueError(
                f"pricing.apr_cap {self.apr_cap:.2%} is above the legal ceiling {LEGAL_APR_CEILING:.0%}"
            )
        for i, apr in enumerate(self.apr_by_score_band):
            if not 0 < apr <= self.apr_cap:
                raise ValueError(
                    f"pricing.apr_by_score_band[{i}] = {apr:.2%} must be in (0, apr_cap {self.apr_cap:.2%}]"
                )
        return self


class Policy(_Model):
    """A whole decision policy, identified by ``id`` and ``version``."""

    id: Identifier
    version: int = Field(ge=1)
    description: str = ""
    currency: str = "CNY"
    products: dict[Identifier, Product] = Field(min_length=1)
    admission: list[Rule] = Field(default_factory=list)
    lists: list[Rule] = Field(default_factory=list)
    vendors: list[Vendor] = Field(default_factory=list)
    vendor_groups: list[VendorGroup] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    scoring: Scoring
    post_model: list[Rule] = Field(default_factory=list)
    cutoffs: Cutoffs
    limits: LimitTable
    pricing: PricingTable
    extra: dict[str, Any] = Field(
        default_factory=dict, description="Free-form notes; never read by the engine"
    )

    @model_validator(mode="after")
    def _cross_checks(self) -> Policy:
        ids = [r.id for r in self.all_rules()]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate rule ids: {dupes}")
        known = {v.id for v in self.vendors}
        vendor_ids = [v.id for v in self.vendors]
        if len(known) != len(vendor_ids):
            raise ValueError("duplicate vendor ids")
        used: list[str] = []
        for group in self.vendor_groups:
            for vendor in group.vendors:
                if vendor not in known:
                    raise ValueError(
                        f"vendor_groups.{group.id}: unknown vendor '{vendor}' (known: {sorted(known)})"
                    )
                used.append(vendor)
        if len(used) != len(set(used)):
            raise ValueError("a vendor is listed in more than one vendor group")
        if self.limits.score_bands[0] > self.cutoffs.review_min:
            raise ValueError(
                "limits.score_bands[0] must not be above cutoffs.review_min: every non-rejected score needs a band"
            )
        if len(self.pricing.apr_by_score_band) != len(self.limits.score_bands):
            raise ValueError("pricing.apr_by_score_band needs one APR per limits.score_bands entry")
        names = [f.name for f in self.features]
        if len(names) != len(set(names)):
            raise ValueError("duplicate feature names")
        return self

    def all_rules(self) -> list[Rule]:
        """Every rule, in the order the flow evaluates them."""
        rules = [*self.admission, *self.lists]
        for group in self.vendor_groups:
            rules.extend(group.rules)
        return [*rules, *self.post_model]

    @cached_property
    def vendor_by_id(self) -> dict[str, Vendor]:
        return {v.id: v for v in self.vendors}

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version}
