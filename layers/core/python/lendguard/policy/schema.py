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

from pydantic import ConfigDict, Field, PrivateAttr, model_validator

from lendguard.core.application import ProductLimits
from lendguard.core.base_model import Model
from lendguard.core.consents import SERVICE_PURPOSES, Purpose
from lendguard.core.cost import ANNUALISATION_LABELS, Annualisation
from lendguard.core.fees import Fee, check_fees
from lendguard.core.schedule import RepaymentMethod
from lendguard.models.points import PointsScale
from lendguard.models.scorecard import Scorecard
from lendguard.policy.borrower_reasons import BorrowerReasons
from lendguard.policy.expr import CompiledExpression, ExpressionError, compile_expression

# The legal ceiling the business works under: no policy may price above it, whatever it says.
LEGAL_APR_CEILING = 0.36

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64)]
RuleId = Annotated[str, Field(pattern=r"^[A-Z][A-Z0-9_]*$", max_length=64)]
ParamValue = float | int | str | bool | list[float | int | str]


class _Model(Model):
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

    @cached_property
    def compiled(self) -> CompiledExpression:
        # Read on every evaluation: a plain attribute after the first access (pydantic's private
        # attribute lookup costs microseconds per call on the hot path).
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

    @cached_property
    def compiled(self) -> CompiledExpression:
        assert self._compiled is not None
        return self._compiled


class Pricing(StrEnum):
    PER_QUERY = "per_query"  # every call is billed
    PER_HIT = "per_hit"  # billed only when the vendor has a record for the subject


# A vendor's worst case (every attempt timing out, every backoff at its cap) must leave the
# external_data Lambda (30 s) room for the other groups and for writing the state back.
MAX_VENDOR_WORST_CASE_MS = 20_000
_HEADER_NAME = r"^[A-Za-z0-9!#$%&'*+.^_`|~-]+$"  # an HTTP token (RFC 9110)


class HttpAdapter(_Model):
    """How the generic HTTP JSON adapter talks to one vendor."""

    url: str = Field(min_length=1, max_length=2048, description="https URL (http only on loopback)")
    method: Literal["GET", "POST"] = "POST"
    secret_id: str | None = Field(
        default=None, min_length=1, max_length=2048, description="Secrets Manager id or ARN of the credential"
    )
    secret_field: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="Key inside a JSON secret; whole string if unset",
    )
    auth_header: Annotated[str, Field(pattern=_HEADER_NAME, max_length=64)] = "Authorization"
    auth_prefix: str = Field(default="", max_length=32, description="e.g. 'Bearer ' before the secret")
    headers: dict[Annotated[str, Field(pattern=_HEADER_NAME, max_length=64)], str] = Field(
        default_factory=dict, description="Static extra headers (never credentials: use secret_id)"
    )
    request_template: dict[str, Any] = Field(
        default_factory=dict,
        description="JSON body (POST) or query parameters (GET) with ${application.x} / ${subject.x}",
    )
    response_map: dict[Identifier, str] = Field(
        min_length=1, description="Response field -> JSON pointer (RFC 6901) into the vendor's answer"
    )
    max_response_bytes: int = Field(default=1_048_576, ge=1024, le=10 * 1_048_576)

    @model_validator(mode="after")
    def _check(self) -> HttpAdapter:
        from urllib.parse import urlsplit

        from lendguard.policy.pointer import PointerError, parse_pointer
        from lendguard.policy.template import check_template

        parts = urlsplit(self.url)
        loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(f"http.url {self.url!r} must be an absolute https URL")
        if parts.scheme == "http" and not loopback:
            # Applicants' identifiers travel in these requests: clear text only to a local fake.
            raise ValueError(f"http.url {self.url!r} must use https (http is allowed only on loopback)")
        if parts.username or parts.password:
            raise ValueError("http.url must not embed credentials: use http.secret_id")
        if (self.secret_field or self.auth_prefix) and not self.secret_id:
            raise ValueError("http.secret_field and http.auth_prefix need http.secret_id")
        lowered = {h.lower() for h in self.headers}
        if self.secret_id and self.auth_header.lower() in lowered:
            raise ValueError(f"http.headers must not set {self.auth_header!r}: it carries the secret")
        problems = [f"http.request_template: {p}" for p in check_template(self.request_template)]
        if self.method == "GET":
            for key, value in self.request_template.items():
                if isinstance(value, dict | list):
                    problems.append(f"http.request_template.{key}: a GET query parameter must be a scalar")
        for name, pointer in self.response_map.items():
            try:
                parse_pointer(pointer)
            except PointerError as exc:
                problems.append(f"http.response_map.{name}: {exc}")
        if problems:
            raise ValueError("; ".join(problems))
        return self


class SimulatedFaults(_Model):
    """Faults a simulated vendor injects, to rehearse timeouts, 5xx and bad payloads locally.

    Each call draws once: below ``error_rate`` it answers 503, then up to ``+ malformed_rate``
    a malformed payload, then up to ``+ slow_rate`` it adds ``slow_ms``. ``latency_ms`` is
    added to every call.
    """

    latency_ms: int = Field(default=0, ge=0, le=30_000)
    error_rate: float = Field(default=0.0, ge=0, le=1)
    malformed_rate: float = Field(default=0.0, ge=0, le=1)
    slow_rate: float = Field(default=0.0, ge=0, le=1)
    slow_ms: int = Field(default=0, ge=0, le=30_000)
    seed: int | None = Field(default=None, description="Seed of the fault draws (tests); random if unset")

    @model_validator(mode="after")
    def _check(self) -> SimulatedFaults:
        total = self.error_rate + self.malformed_rate + self.slow_rate
        if total > 1:
            raise ValueError(
                f"faults: error_rate + malformed_rate + slow_rate is {total:g}; it must not exceed 1"
            )
        if self.slow_rate > 0 and self.slow_ms == 0:
            raise ValueError("faults.slow_ms must be set when faults.slow_rate is above 0")
        return self


class CircuitBreaker(_Model):
    """After ``failure_threshold`` failed attempts in a row the vendor is skipped for ``cooldown_s``."""

    failure_threshold: int = Field(default=5, ge=1, le=1000)
    cooldown_s: float = Field(default=30.0, gt=0, le=3600)


class Vendor(_Model):
    """A third-party data source; its facts appear as ``<id>.<field>``."""

    id: Identifier
    service: Literal[
        "identity_check", "fraud_blacklist", "fraud_score", "bureau_report", "telco_check",
        "bank_card_check", "device_risk", "liveness_check", "face_compare", "phone_status",
    ] = Field(description="What the vendor answers; fixes the response model and so the facts it yields")  # fmt: skip
    adapter: Literal["simulated", "http"] = "simulated"
    pricing: Pricing = Pricing.PER_QUERY
    cost: float = Field(ge=0, allow_inf_nan=False, description="Unit cost in the policy currency")
    timeout_ms: int = Field(default=1500, ge=10, le=30_000)
    retries: int = Field(default=1, ge=0, le=5, description="Further attempts after a retryable fault")
    backoff_base_ms: int = Field(default=50, ge=0, le=5_000, description="First retry waits up to this")
    backoff_max_ms: int = Field(default=1_000, ge=0, le=10_000, description="Cap of one backoff wait")
    cache_ttl_days: float = Field(default=0, ge=0, le=365, allow_inf_nan=False)
    needs_consent: Purpose | None = Field(
        default=None,
        description="The consent purpose a call needs (bureau, telco, bank_card, face, marketing); "
        "services tied to a purpose by law (bureau_report, telco_check, phone_status, bank_card_check, "
        "face_compare) need it anyway",
    )
    breaker: CircuitBreaker = Field(default_factory=CircuitBreaker)
    faults: SimulatedFaults | None = Field(default=None, description="Injected faults (simulated adapter)")
    http: HttpAdapter | None = Field(default=None, description="Connection and mapping (http adapter)")

    @model_validator(mode="after")
    def _check(self) -> Vendor:
        from lendguard.core.vendor_responses import RESPONSE_MODELS

        where = f"vendor {self.id}"
        if self.adapter == "http" and self.http is None:
            raise ValueError(f"{where}: adapter 'http' needs an 'http' block (url, response_map, ...)")
        if self.adapter != "http" and self.http is not None:
            raise ValueError(f"{where}: 'http' only applies to adapter 'http'")
        if self.adapter != "simulated" and self.faults is not None:
            raise ValueError(f"{where}: 'faults' only applies to adapter 'simulated'")
        lawful = SERVICE_PURPOSES.get(self.service)
        if lawful is not None and self.needs_consent not in (None, lawful):
            raise ValueError(
                f"{where}: service {self.service} needs consent {lawful.value}, not {self.needs_consent}"
            )
        if self.backoff_base_ms > self.backoff_max_ms:
            raise ValueError(f"{where}: backoff_base_ms must not be above backoff_max_ms")
        worst = (self.retries + 1) * self.timeout_ms + self.retries * self.backoff_max_ms
        if worst > MAX_VENDOR_WORST_CASE_MS:
            raise ValueError(
                f"{where}: (retries + 1) x timeout_ms + retries x backoff_max_ms = {worst} ms exceeds "
                f"{MAX_VENDOR_WORST_CASE_MS} ms, too long for the external_data function"
            )
        if self.http is not None:
            model = RESPONSE_MODELS[self.service]
            unknown = sorted(set(self.http.response_map) - set(model.model_fields))
            if unknown:
                raise ValueError(
                    f"{where}: http.response_map names fields {unknown} that service {self.service} "
                    f"does not have (fields: {sorted(model.model_fields)})"
                )
            required = sorted(n for n, f in model.model_fields.items() if f.is_required())
            unmapped = [n for n in required if n not in self.http.response_map]
            if unmapped:
                raise ValueError(f"{where}: http.response_map must map the required fields {unmapped}")
        return self

    @property
    def consent_purpose(self) -> Purpose | None:
        """The consent a call needs: the declared one, else the one the service's data is tied to."""
        return self.needs_consent or SERVICE_PURPOSES.get(self.service)

    @property
    def kind(self) -> str:
        """identity, antifraud, bureau, telco, bank_card or device."""
        from lendguard.core.vendor_responses import SERVICE_KINDS

        return SERVICE_KINDS[self.service]


class VendorGroup(_Model):
    """Vendors paid together (called concurrently); the group's rules can reject before the next group is paid."""

    id: Identifier
    description: str = ""
    vendors: list[Identifier] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    skip_if_white: bool = False
    after_model: bool = Field(
        default=False,
        description="Called in the Decision stage, after the cut-offs, and only for a case that would "
        "otherwise get an offer (checks worth paying for only at approval, such as the payout card)",
    )

    @model_validator(mode="after")
    def _check(self) -> VendorGroup:
        dupes = sorted({v for v in self.vendors if self.vendors.count(v) > 1})
        if dupes:
            raise ValueError(f"vendor_groups.{self.id}: vendors listed twice: {dupes}")
        return self


# A single-draw offer must be drawn within this many days; a revolving line stays open for months.
SINGLE_DRAW_VALIDITY_DAYS = (7, 15)
REVOLVING_VALIDITY_MONTHS = 12


class Product(ProductLimits):
    """A credit product: a revolving line or a single draw, and how its loans are repaid.

    - ``revolving``: the limit is a line valid for ``validity_months`` (12 unless set lower),
      reusable as it is repaid: each repayment frees that much of the limit again.
    - ``single_draw``: one withdrawal of up to the limit within ``validity_days`` (7-15) days.

    ``fees`` (service, guarantee, membership, insurance; upfront or per instalment; a rate of the
    principal or a fixed amount) are charged beside the interest and count towards the
    comprehensive cost of credit that ``pricing.cost_cap`` bounds.
    """

    mode: Literal["revolving", "single_draw"]
    validity_days: int | None = Field(
        default=None, ge=1, le=366, description="single_draw only: days the offer may be drawn (7-15)"
    )
    validity_months: int | None = Field(
        default=None,
        ge=1,
        le=REVOLVING_VALIDITY_MONTHS,
        description="revolving only: months the line stays open",
    )
    repayment_method: RepaymentMethod = Field(
        default="annuity", description="annuity (equal instalments) or equal_principal"
    )
    fees: list[Fee] = Field(default_factory=list, description="Fees charged besides interest")

    @model_validator(mode="after")
    def _validity(self) -> Product:
        from lendguard.core.schedule import MIN_PRINCIPAL_PER_MONTH

        check_fees(self.fees)
        upfront = [f for f in self.fees if f.timing == "upfront"]
        received = self.min_amount * (1 - sum(f.rate or 0 for f in upfront)) - sum(
            f.amount or 0 for f in upfront
        )
        if received <= 0:
            raise ValueError(
                f"upfront fees take the whole of the min_amount {self.min_amount:g}: nothing would be paid out"
            )
        if self.min_amount > self.max_amount:
            raise ValueError("min_amount must not be above max_amount")
        if self.min_amount < float(MIN_PRINCIPAL_PER_MONTH) * max(self.terms):
            raise ValueError(
                f"min_amount {self.min_amount:g} is too small to schedule over {max(self.terms)} months "
                f"(at least {MIN_PRINCIPAL_PER_MONTH} a month)"
            )
        if self.mode == "single_draw":
            lo, hi = SINGLE_DRAW_VALIDITY_DAYS
            if self.validity_days is None:
                raise ValueError(f"a single_draw product needs validity_days ({lo}-{hi})")
            if not lo <= self.validity_days <= hi:
                raise ValueError(f"validity_days of a single_draw product must be {lo} to {hi}")
            if self.validity_months is not None:
                raise ValueError(
                    "validity_months applies to revolving products; single_draw uses validity_days"
                )
        elif self.validity_days is not None:
            raise ValueError(
                f"validity_days applies to single_draw products; a revolving line is valid for "
                f"validity_months (default {REVOLVING_VALIDITY_MONTHS})"
            )
        return self

    @property
    def line_months(self) -> int:
        """How long a revolving line stays open."""
        return self.validity_months or REVOLVING_VALIDITY_MONTHS


class ModelRef(_Model):
    id: Identifier
    version: int = Field(ge=1)


class Scoring(_Model):
    """The decision model, its points scale, the shadow models and the reason texts.

    ``model`` names the registered model (id and version) that decides. When it is a scorecard,
    ``scorecard`` may carry the card itself (bins and points, readable and editable by an
    analyst; ``lendguard models show ID --policy`` prints the trained card in this form): the
    policy's card is then what scores, and ``model`` records which trained card it came from.
    Points are on ``scale`` (higher = lower risk). ``shadow_models`` are scored on the same facts
    and recorded in the case, never deciding.
    """

    model: ModelRef
    scorecard: Scorecard | None = Field(
        default=None, description="The card that scores when the decision model is a scorecard"
    )
    scale: PointsScale = PointsScale()
    convert_from: PointsScale | None = Field(
        default=None,
        description="A scorecard trained on another scale: that scale (it must be the card's own, from "
        "its metadata); its points are converted to `scale` at the same odds",
    )
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

    def card_conversion(self, kind: str, card_scale: PointsScale) -> PointsScale | None:
        """The scale a scorecard's points are converted from, or None when they are used as they are.

        A scorecard's points mean odds on the scale it was trained on (``card_scale``, from its
        metadata), so its PD always comes from that scale. A policy whose ``scale`` differs from
        it is refused (``ValueError``) unless ``convert_from`` declares exactly that scale.
        """
        if kind != "scorecard":
            return None
        if self.convert_from is not None:
            if self.convert_from != card_scale:
                raise ValueError(
                    f"scoring.convert_from ({self.convert_from.describe()}) is not the scale the scorecard "
                    f"{self.model.id} v{self.model.version} was trained on ({card_scale.describe()})"
                )
            return None if card_scale == self.scale else card_scale
        if card_scale != self.scale:
            raise ValueError(
                f"scoring.scale ({self.scale.describe()}) contradicts the scale the scorecard {self.model.id} "
                f"v{self.model.version} was trained on ({card_scale.describe()}): use that scale, or declare "
                f"scoring.convert_from: {{base_points: {card_scale.base_points:g}, base_odds: "
                f"{card_scale.base_odds:g}, pdo: {card_scale.pdo:g}}} to convert its points"
            )
        return None

    @model_validator(mode="after")
    def _check(self) -> Scoring:
        refs = [(m.id, m.version) for m in self.shadow_models]
        if (self.model.id, self.model.version) in refs:
            raise ValueError("scoring.shadow_models must not repeat the decision model")
        if len(set(refs)) != len(refs):
            raise ValueError("scoring.shadow_models lists a model version twice")
        return self


class Cutoffs(_Model):
    """APPROVE at or above ``approve_min``; REVIEW from ``review_min``; REJECT below it."""

    approve_min: float
    review_min: float

    @model_validator(mode="after")
    def _order(self) -> Cutoffs:
        if self.review_min > self.approve_min:
            raise ValueError("cutoffs: review_min must not be above approve_min")
        return self


class IndebtednessStep(_Model):
    """Over-indebtedness lowers the limit: at or above ``min_dti`` only ``factor`` of the table limit is offered."""

    min_dti: float = Field(ge=0, le=10, description="Existing monthly debt / monthly income")
    factor: float = Field(gt=0, lt=1, description="Share of the table limit kept")


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
    indebtedness: list[IndebtednessStep] = Field(
        default_factory=list,
        description="Steps of existing debt-to-income that cut the table limit, ascending min_dti",
    )

    @model_validator(mode="after")
    def _shape(self) -> LimitTable:
        steps = self.indebtedness
        if any(b.min_dti <= a.min_dti for a, b in pairwise(steps)):
            raise ValueError("limits.indebtedness must be in strictly ascending min_dti")
        if any(b.factor >= a.factor for a, b in pairwise(steps)):
            raise ValueError(
                "limits.indebtedness factors must decrease as min_dti rises (more debt, lower limit)"
            )
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
    """APR by score band (same bands as the limit table), with a hard cap on the nominal APR and
    one on the comprehensive cost of credit.

    The comprehensive cost is the annualised IRR of the borrower's real cash flows, interest and
    every fee (:mod:`lendguard.core.cost`), annualised as ``cost_annualisation`` says (the label
    is shown with the figure). No offer costs more than ``cost_cap`` (at most the legal 36%): a
    rate whose cost is above it is lowered, in steps of ``apr_step``, as far as ``apr_floor``
    (default: the table's lowest rate); if even that is too dear, there is no offer
    (reason ``COST_ABOVE_CAP``).
    """

    apr_by_score_band: list[float] = Field(min_length=1)
    apr_cap: float = Field(gt=0)
    cost_cap: float = Field(
        default=LEGAL_APR_CEILING, gt=0, allow_inf_nan=False,
        description="Ceiling on the comprehensive annual cost (interest and fees, IRR-based)",
    )  # fmt: skip
    cost_annualisation: Annualisation = Field(
        default="irr_x12",
        description="; ".join(f"{k}: {v}" for k, v in ANNUALISATION_LABELS.items()),
    )
    apr_floor: float | None = Field(
        default=None, gt=0, allow_inf_nan=False,
        description="Lowest APR a rate may be lowered to to fit cost_cap (default: the table's lowest)",
    )  # fmt: skip
    apr_step: float = Field(default=0.0001, gt=0, le=0.01, description="Granularity of a lowered APR")

    @property
    def lowest_apr(self) -> float:
        """How far a rate may be lowered to fit the cost cap."""
        return self.apr_floor if self.apr_floor is not None else min(self.apr_by_score_band)

    @property
    def effective_cost_cap(self) -> float:
        """The policy's comprehensive-cost cap, never above the legal ceiling."""
        return min(self.cost_cap, LEGAL_APR_CEILING)

    @model_validator(mode="after")
    def _caps(self) -> PricingTable:
        if self.apr_cap > LEGAL_APR_CEILING:
            raise ValueError(
                f"pricing.apr_cap {self.apr_cap:.2%} is above the legal ceiling {LEGAL_APR_CEILING:.0%}"
            )
        if self.cost_cap > LEGAL_APR_CEILING:
            raise ValueError(
                f"pricing.cost_cap {self.cost_cap:.2%} is above the legal ceiling {LEGAL_APR_CEILING:.0%} "
                "on the comprehensive cost of credit"
            )
        if self.apr_floor is not None and self.apr_floor > min(self.apr_by_score_band):
            raise ValueError(
                f"pricing.apr_floor {self.apr_floor:.2%} is above the table's lowest APR "
                f"{min(self.apr_by_score_band):.2%}"
            )
        for i, apr in enumerate(self.apr_by_score_band):
            if not 0 < apr <= self.apr_cap:
                raise ValueError(
                    f"pricing.apr_by_score_band[{i}] = {apr:.2%} must be in (0, apr_cap {self.apr_cap:.2%}]"
                )
        return self


# Step Functions STANDARD executions last at most a year; leave the concluding steps an hour.
MAX_REVIEW_TIMEOUT_S = 365 * 24 * 3600 - 3600


class ReviewSettings(_Model):
    """Manual review of REVIEW cases (``statemachines/review.asl.json``)."""

    timeout_seconds: int = Field(
        default=48 * 3600,
        ge=1,
        le=MAX_REVIEW_TIMEOUT_S,
        description="How long each review level waits for a reviewer (the task's TimeoutSecondsPath)",
    )
    on_timeout: Literal["REJECT", "APPROVE"] = Field(
        default="REJECT", description="Outcome when nobody acts in time (reason REVIEW_TIMEOUT)"
    )
    final_review_above: float | None = Field(
        default=None,
        gt=0,
        allow_inf_nan=False,
        description="An approved limit above this needs a final review by a second, different "
        "reviewer; unset: the initial review is final",
    )


class Band(_Model):
    """Warn and alarm levels of one monitored figure (``alarm`` at or beyond ``warn``)."""

    warn: float = Field(ge=0)
    alarm: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Band:
        if self.alarm < self.warn:
            raise ValueError("alarm must be at or above warn")
        return self


class MonitoringSettings(_Model):
    """Thresholds the daily monitor flags figures against (``lendguard.monitoring``).

    Shifts are absolute differences of shares (0.05 = five percentage points) against the
    rolling window; a shift is flagged only when it is also statistically clear (``min_z``).
    """

    score_psi: Band = Field(default_factory=lambda: Band(warn=0.1, alarm=0.25))
    feature_psi: Band = Field(default_factory=lambda: Band(warn=0.25, alarm=0.5))
    approval_rate_shift: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.10))
    review_rate_shift: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.10))
    reject_rate_shift: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.10))
    rule_hit_rate_shift: Band = Field(default_factory=lambda: Band(warn=0.02, alarm=0.05))
    missing_share_shift: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.10))
    vendor_error_rate: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.15))
    vendor_empty_rate: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.15))
    early_delinquency_shift: Band = Field(default_factory=lambda: Band(warn=0.02, alarm=0.05))
    # Early delinquency of recent vintages by score band (lendguard.monitoring.delinquency):
    # absolute rates among the accounts where each is observable.
    first_payment_default: Band = Field(default_factory=lambda: Band(warn=0.08, alarm=0.12))
    dpd7_rate: Band = Field(default_factory=lambda: Band(warn=0.10, alarm=0.15))
    dpd30_rate: Band = Field(default_factory=lambda: Band(warn=0.05, alarm=0.08))
    fpd_days: int = Field(default=30, ge=1, le=180, description="First instalment this many days unpaid: FPD")
    vintage_months: int = Field(default=3, ge=1, le=24, description="Recent vintages: draw months monitored")
    min_accounts: int = Field(
        default=30, ge=1, description="Fewer observable accounts in a score band: shown, never flagged"
    )
    min_cases: int = Field(
        default=100, ge=1, description="Fewer cases in a group: figures shown, never flagged"
    )
    min_z: float = Field(default=3.0, ge=0, description="Two-proportion z a shift needs to be flagged")
    window_days: int = Field(default=28, ge=1, le=365, description="Rolling baseline window (days)")


class InternalDataSettings(_Model):
    """How the InternalData stage reads our own data (``lendguard.internal``).

    Velocity windows are fixed (1 / 7 / 30 days: the fact catalogue names them); the case history
    looks back ``history_days``. Precomputed customer features older than ``features_max_age_hours``
    (or a feature job that has not run within it) are stale: then ``features_on_missing`` says
    what happens: ``skip`` leaves the ``customer.*`` facts missing (each rule's own ``on_missing``
    decides), ``review`` also sends the case to review, ``reject`` rejects it.
    """

    history_days: int = Field(default=365, ge=1, le=400, description="How far back the case history looks")
    max_history_loans: int = Field(
        default=20,
        ge=0,
        le=100,
        description="At most this many of the latest approved cases are read for loans",
    )
    features_max_age_hours: float = Field(default=36, gt=0, le=24 * 30, allow_inf_nan=False)
    features_on_missing: Literal["skip", "review", "reject"] = "skip"


# The loan-book sections build on Rule and ModelRef above (lendguard.policy.book_sections).
from lendguard.policy.book_sections import InLoanSection, PostLoanSection  # noqa: E402


class Policy(_Model):
    """A whole decision policy, identified by ``id`` and ``version``."""

    id: Identifier
    version: int = Field(ge=1)
    description: str = ""
    currency: str = "CNY"
    products: dict[Identifier, Product] = Field(min_length=1)
    admission: list[Rule] = Field(default_factory=list)
    lists: list[Rule] = Field(default_factory=list)
    # Rules on our own data (velocity, case history, loans, customer features), before any vendor.
    internal_data: list[Rule] = Field(default_factory=list)
    internal: InternalDataSettings = Field(default_factory=InternalDataSettings)
    vendors: list[Vendor] = Field(default_factory=list)
    vendor_groups: list[VendorGroup] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    scoring: Scoring
    post_model: list[Rule] = Field(default_factory=list)
    cutoffs: Cutoffs
    limits: LimitTable
    pricing: PricingTable
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    # What a borrower is told (lendguard.policy.borrower_reasons); never the internal reasons.
    borrower_reasons: BorrowerReasons = Field(default_factory=BorrowerReasons)
    monitoring: MonitoringSettings = Field(default_factory=MonitoringSettings)
    # The loan book's nightly in-loan and daily post-loan reviews (defaults: conservative rules).
    in_loan: InLoanSection = Field(default_factory=InLoanSection)
    post_loan: PostLoanSection = Field(default_factory=PostLoanSection)
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
        problems = self._unamortisable_products()
        if problems:
            raise ValueError("; ".join(problems))
        typos = self.borrower_reasons.unknown_codes(ids)
        if typos:
            raise ValueError(f"borrower_reasons.codes maps codes no rule or stage gives: {typos}")
        self.borrower_reasons.check_messages_name_no_rule(ids)
        return self

    def _unamortisable_products(self) -> list[str]:
        """Products whose smallest loan cannot amortise at the dearest rate the pricing charges.

        A smaller principal or a higher rate only makes it worse (see
        :func:`lendguard.core.schedule.min_amortising_principal`), so checking ``min_amount`` at
        the highest APR for every term covers every loan the product can make.
        """
        from decimal import Decimal

        from lendguard.core.schedule import min_amortising_principal

        dearest = min(max(self.pricing.apr_by_score_band), self.pricing.apr_cap, LEGAL_APR_CEILING)
        rate = Decimal(str(dearest))
        problems = []
        for pid, product in self.products.items():
            for term in sorted(set(product.terms)):
                least = min_amortising_principal(rate, term, product.repayment_method)
                if Decimal(str(product.min_amount)) < least:
                    problems.append(
                        f"products.{pid}: min_amount {product.min_amount:g} cannot amortise over {term} "
                        f"months at the pricing's highest APR {dearest:.2%} ({product.repayment_method}): "
                        f"the first instalment would repay almost no principal; raise min_amount to at "
                        f"least {least} or shorten the term"
                    )
        return problems

    def all_rules(self) -> list[Rule]:
        """Every rule, in the order the flow evaluates them."""
        rules = [*self.admission, *self.lists, *self.internal_data]
        for group in self.groups_before_model:
            rules.extend(group.rules)
        rules.extend(self.post_model)
        for group in self.groups_after_model:
            rules.extend(group.rules)
        return rules

    @property
    def groups_before_model(self) -> list[VendorGroup]:
        """The vendor groups ExternalData calls, in order."""
        return [g for g in self.vendor_groups if not g.after_model]

    @property
    def groups_after_model(self) -> list[VendorGroup]:
        """The vendor groups Decision calls for a case about to get an offer, in order."""
        return [g for g in self.vendor_groups if g.after_model]

    @cached_property
    def vendor_by_id(self) -> dict[str, Vendor]:
        return {v.id: v for v in self.vendors}

    @property
    def ref(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version}
