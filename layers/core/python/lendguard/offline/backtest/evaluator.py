"""The column evaluator: a whole policy over a DataFrame, one row per application.

It follows the online flow stage by stage (``lendguard.decision.stages``) with numpy arrays
instead of one state per case:

* admission, lists, each vendor group in order, post-model rules: the rules' own compiled
  expressions (:meth:`CompiledExpression.hit_frame`), evaluated only on the rows that reach the
  stage, with ``enabled``, ``skip_if_white`` and ``on_missing`` as ``stages.rules.apply_rules``
  applies them. Every rule of a stage is evaluated even after one of them rejects (as online);
  a row rejected in a stage reaches no later stage, so it pays no later vendor (the cost funnel).
* vendors: a vendor skipped online (no consent, its group skipped for white-listed applicants)
  has its facts set to missing here, whatever the data holds; it is billed where it answered
  (any of its facts present) and, for per-hit pricing, where its answer is a hit.
* features: the policy's formulas, in order, column-wise.
* the model: XGBoost margins accumulated in float64 in tree order, as the single-row evaluator
  does (:meth:`TreeEnsemble.predict_margin_batch_f64`), or the scorecard's points summed in card
  order; then the same rounding as ``stages.scoring``.
* cut-offs, limit and APR: ``stages.decision``'s rules (:mod:`.offers`).

Reasons per row (rule reasons in rule order, cut-off reasons, model reasons from the
contributions) are built on request (:meth:`Evaluation.reasons`): aggregates do not need them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from lendguard.core.vendor_responses import RESPONSE_MODELS, VendorResponse
from lendguard.decision.stages.decision import model_reasons
from lendguard.decision.state import DecisionState, Reason, Score
from lendguard.models.artifact import ModelArtifact
from lendguard.models.encoding import category_key, is_missing
from lendguard.models.points import PD_MAX, PD_MIN
from lendguard.models.scorecard import Scorecard
from lendguard.offline.backtest.facts import required_facts
from lendguard.offline.backtest.numeric import near_half, round_like_python
from lendguard.offline.backtest.offers import OfferColumns, offer_columns
from lendguard.policy.expr import ExpressionTypeError
from lendguard.policy.schema import Action, OnMissing, Policy, Pricing, Rule, VendorGroup

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

DECISIONS = ("APPROVE", "REVIEW", "REJECT")
APPROVE, REVIEW, REJECT = 0, 1, 2
# Rule outcomes (as RuleTrace.outcome), plus "not reached" for rows stopped before the stage.
OUTCOMES = ("not_reached", "disabled", "skipped_white", "no_hit", "hit", "missing")
NOT_REACHED, DISABLED, SKIPPED_WHITE, NO_HIT, HIT, MISSING = range(6)
EFFECTS = ("none", "reject", "review", "flag", "score")
NONE, EFF_REJECT, EFF_REVIEW, EFF_FLAG, EFF_SCORE = range(5)
_ACTION_EFFECT = {Action.REJECT: EFF_REJECT, Action.REVIEW: EFF_REVIEW, Action.FLAG: EFF_FLAG,
                  Action.SCORE: EFF_SCORE}  # fmt: skip


class BacktestError(ValueError):
    """The policy cannot be evaluated on this data (a type error in some row, a bad model)."""


@dataclass
class RuleColumn:
    """One rule's outcome and effect on every row."""

    rule: Rule
    stage: str
    outcome: np.ndarray  # int8 codes of OUTCOMES
    effect: np.ndarray  # int8 codes of EFFECTS


@dataclass
class VendorColumn:
    """One vendor on every row: reached (its group ran for the row), answered, billed, cost."""

    vendor_id: str
    group: str
    reached: np.ndarray
    answered: np.ndarray
    billed: np.ndarray
    cost: float


@dataclass
class Evaluation:
    """The outcome of every row, as arrays indexed like the input frame's rows."""

    policy: Policy
    model: ModelArtifact
    application_ids: np.ndarray
    stages: list[str]  # in flow order: admission, lists, vendor:<group>..., post_model, decision
    reached: dict[str, np.ndarray]  # stage -> rows that reached it
    halted_at: np.ndarray  # int16 index into ``stages``, -1 where nothing rejected
    decision: np.ndarray  # int8 codes of DECISIONS
    rules: list[RuleColumn]
    vendors: list[VendorColumn]
    vendor_cost: np.ndarray
    scored: np.ndarray
    pd: np.ndarray  # NaN where not scored
    model_points: np.ndarray
    final_points: np.ndarray
    reliable: np.ndarray
    input_missing: np.ndarray  # (rows × model inputs) True where the input was missing (scored rows)
    input_names: list[str]
    needs_contributions: np.ndarray  # rows whose scoring computed contributions online
    score_below: np.ndarray  # SCORE_BELOW_CUTOFF
    offers: OfferColumns  # limit / apr per row (NaN without an offer), failures with their message
    in_review_band: np.ndarray
    unreliable_review: np.ndarray
    model_matrix: np.ndarray | None = field(default=None, repr=False)  # encoded inputs (XGBoost)
    scorecard_shortfalls: dict[str, np.ndarray] | None = field(default=None, repr=False)

    def missing_inputs(self, row: int) -> list[str]:
        """``Score.missing_inputs`` of a row (empty where it was not scored)."""
        return [self.input_names[j] for j in self.input_missing[row].nonzero()[0].tolist()]

    @property
    def n(self) -> int:
        """Number of rows."""
        return len(self.decision)

    def decisions(self) -> list[str]:
        """APPROVE / REVIEW / REJECT per row."""
        return [DECISIONS[d] for d in self.decision.tolist()]

    def contributions(self, rows: np.ndarray) -> list[dict[str, float]]:
        """``Score.contributions`` as the scoring stage records them, for the given row indices."""
        import numpy as np

        meta = self.model.metadata
        out: list[dict[str, float]] = [{} for _ in range(len(rows))]
        if self.scorecard_shortfalls is not None:
            for name, shortfall in self.scorecard_shortfalls.items():
                values = shortfall[rows]
                for j in np.flatnonzero(values > 0).tolist():
                    out[j][name] = round(float(values[j]), 6)
            return out
        assert self.model_matrix is not None
        wanted = rows[self.needs_contributions[rows]]
        if not len(wanted):
            return out
        contrib = self.model.ensemble().contributions_batch(self.model_matrix[wanted])
        names = meta.feature_names
        position = {int(r): j for j, r in enumerate(rows.tolist())}
        for k, r in enumerate(wanted.tolist()):
            target = out[position[r]]
            for f, v in zip(names, contrib[k].tolist(), strict=True):
                if v:
                    target[f] = round(v, 6)
        return out

    def reasons(self, rows: Any = None) -> list[list[Reason]]:
        """The reasons a case gets (``DecisionState.reasons`` at the end of the flow), per row."""
        import numpy as np

        idx = np.arange(self.n) if rows is None else np.asarray(rows, dtype=np.intp)
        rejects: list[list[Reason]] = [[] for _ in idx]
        reviews: list[list[Reason]] = [[] for _ in idx]
        # The after_model groups run once the cut-offs have given their reasons (online order).
        after = {f"vendor:{g.id}" for g in self.policy.groups_after_model}

        def rule_reasons(columns: list[RuleColumn]) -> None:
            for col in columns:
                eff = col.effect[idx]
                missing = col.outcome[idx] == MISSING
                for kind, bucket in ((EFF_REJECT, rejects), (EFF_REVIEW, reviews)):
                    for j in np.flatnonzero(eff == kind).tolist():
                        text = col.rule.reason + (" (data unavailable)" if missing[j] else "")
                        bucket[j].append(Reason(code=col.rule.id, message=text))

        rule_reasons([col for col in self.rules if col.stage not in after])
        cut = self.policy.cutoffs
        for j, r in enumerate(idx.tolist()):
            if self.unreliable_review[r]:
                reviews[j].append(Reason(code="SCORE_UNRELIABLE", source="model",
                    message=f"Credit score not usable: {int(self.input_missing[r].sum())} model inputs missing"))  # fmt: skip
            if self.score_below[r]:
                rejects[j].append(Reason(code="SCORE_BELOW_CUTOFF", source="cutoff",
                    message=f"Credit score {self.final_points[r]:.0f} below the minimum {cut.review_min:g}"))  # fmt: skip
            failure = self.offers.failure[r]
            if failure is not None:
                rejects[j].append(Reason(code="NO_AFFORDABLE_LIMIT", message=failure, source="limit"))
            if self.in_review_band[r]:
                reviews[j].append(Reason(code="SCORE_IN_REVIEW_BAND", source="cutoff",
                    message=f"Credit score {self.offers.points[r]:.0f} between {cut.review_min:g} and {cut.approve_min:g}"))  # fmt: skip
        rule_reasons([col for col in self.rules if col.stage in after])
        decided = self.reached["decision"][idx]
        contributions = self.contributions(idx[decided]) if decided.any() else []
        by_row = dict(zip(idx[decided].tolist(), contributions, strict=True))
        out: list[list[Reason]] = []
        for j, r in enumerate(idx.tolist()):
            d = self.decision[r]
            if d == APPROVE:
                out.append([])
                continue
            base = reviews[j] if d == REVIEW else rejects[j]
            if r in by_row:
                base = base + self._model_reasons(r, by_row[r], rejects[j], reviews[j])
            out.append(base)
        return out

    def _model_reasons(
        self, r: int, contributions: dict[str, float], rejects: list[Reason], reviews: list[Reason]
    ) -> list[Reason]:
        # The decision stage's own function, on a state holding just what it reads.
        score = Score.model_construct(contributions=contributions, reliable=bool(self.reliable[r]))
        state = DecisionState.model_construct(score=score, reasons=rejects, review_reasons=reviews)
        return model_reasons(state, self.policy)


def _stage_names(policy: Policy) -> list[str]:
    before = [f"vendor:{g.id}" for g in policy.groups_before_model]
    after = [f"vendor:{g.id}" for g in policy.groups_after_model]
    return ["admission", "lists", "internal_data", *before, "post_model", "decision", *after]


def _per_hit_field(service: str) -> str | None:
    """The response field that makes an answer a billable hit, for per-hit pricing.

    None when every answer is a hit (the response model keeps ``VendorResponse.is_hit``).
    """
    model = RESPONSE_MODELS[service]
    if model.is_hit is VendorResponse.is_hit:
        return None
    if "hit" in model.model_fields:
        return "hit"
    raise BacktestError(f"per-hit pricing of {service} answers cannot be evaluated column-wise")


class _Run:
    """The mutable state of one evaluation (arrays over all rows)."""

    def __init__(self, policy: Policy, frame: pd.DataFrame) -> None:
        import numpy as np

        self.np = np
        self.policy = policy
        self.frame = frame
        n = len(frame)
        self.n = n
        self.active = np.ones(n, dtype=bool)
        self.rejected = np.zeros(n, dtype=bool)
        self.halted_at = np.full(n, -1, dtype=np.int16)
        self.review = np.zeros(n, dtype=bool)  # has a review reason
        self.adjustment = np.zeros(n, dtype=np.float64)
        self.rules: list[RuleColumn] = []
        self.stages = _stage_names(policy)
        self.reached: dict[str, np.ndarray] = {}

    def white(self) -> np.ndarray:
        """``facts.get("lists.white.any") is True`` per row."""
        return _flags(self.frame.get("lists.white.any"), self.n)

    def apply_rules(self, stage: str, stage_index: int, rules: list[Rule], white_known: bool) -> None:
        """``stages.rules.apply_rules`` on the rows that reach the stage."""
        np = self.np
        rows = np.flatnonzero(self.active)
        self.reached[stage] = self.active.copy()
        white = self.white()[rows] if white_known else np.zeros(len(rows), dtype=bool)
        columns = sorted(
            {f for rule in rules if rule.enabled for f in rule.compiled.facts} & set(self.frame.columns)
        )
        sub = self.frame[columns]
        if len(rows) < self.n:
            sub = sub.iloc[rows]
        newly_rejected = np.zeros(len(rows), dtype=bool)
        for rule in rules:
            outcome = np.full(self.n, NOT_REACHED, dtype=np.int8)
            effect = np.zeros(self.n, dtype=np.int8)
            self.rules.append(RuleColumn(rule, stage, outcome, effect))
            if not rule.enabled:
                outcome[rows] = DISABLED
                continue
            try:
                hit = rule.compiled.hit_frame(sub)
            except ExpressionTypeError as exc:
                raise BacktestError(f"rule {rule.id}: {exc}") from None
            is_missing = hit.isna().to_numpy()
            is_hit = hit.to_numpy(dtype=bool, na_value=False)
            skipped = white & rule.skip_if_white
            out = np.where(is_missing, MISSING, np.where(is_hit, HIT, NO_HIT)).astype(np.int8)
            out[skipped] = SKIPPED_WHITE
            outcome[rows] = out
            action = _ACTION_EFFECT[rule.action]
            fires = (out == HIT).astype(np.int8) * action
            if rule.on_missing is not OnMissing.SKIP:
                on_missing = {OnMissing.HIT: action, OnMissing.REJECT: EFF_REJECT,
                              OnMissing.REVIEW: EFF_REVIEW}[rule.on_missing]  # fmt: skip
                fires = np.where(out == MISSING, on_missing, fires).astype(np.int8)
            effect[rows] = fires
            newly_rejected |= fires == EFF_REJECT
            self.review[rows[fires == EFF_REVIEW]] = True
            if rule.action is Action.SCORE:
                # online: score_adjustment += points, in rule order (the same float64 additions)
                self.adjustment[rows] += np.where(fires == EFF_SCORE, rule.points or 0.0, 0.0)
        hit_rows = rows[newly_rejected]
        self.halted_at[hit_rows[self.halted_at[hit_rows] < 0]] = stage_index
        self.rejected[hit_rows] = True
        self.active[hit_rows] = False


def _flags(column: pd.Series | None, n: int) -> np.ndarray:
    """A boolean fact column as ``value is True`` per row (missing is False); absent: all False."""
    import numpy as np

    if column is None:
        return np.zeros(n, dtype=bool)
    if column.dtype == bool:
        return column.to_numpy()
    return (column == True).to_numpy(dtype=bool, na_value=False)  # noqa: E712 (elementwise)


def _mask(column: pd.Series, rows: np.ndarray) -> pd.Series:
    """The column with ``rows`` (a boolean mask) set to missing, in a dtype that can hold it."""
    import pandas as pd

    if column.dtype == bool:
        column = column.astype("boolean")
    elif pd.api.types.is_integer_dtype(column.dtype):
        column = column.astype("float64")
    return column.mask(rows)


def evaluate(
    policy: Policy, model: ModelArtifact, frame: pd.DataFrame, now: datetime | None = None
) -> Evaluation:
    """Decide every row of ``frame`` (typed fact columns, see :mod:`.data`) with ``policy``.

    ``now`` is the decision time the offers are quoted at (it does not change limits or APRs).
    """
    import numpy as np

    now = now or datetime.now(UTC)
    if policy.internal.features_on_missing != "skip":
        # Online, stale customer features add a stage reason that no rule column carries.
        raise BacktestError(
            "internal.features_on_missing: only 'skip' can be backtested (stale features are missing facts, "
            "and the rules' own on_missing decide)"
        )
    frame = frame.copy(deep=False)
    run = _Run(policy, frame)
    n = run.n
    stage_index = {name: i for i, name in enumerate(run.stages)}

    run.apply_rules("admission", 0, policy.admission, white_known=False)
    run.apply_rules("lists", 1, policy.lists, white_known=True)
    # Our own data (velocity, history, loans, customer features) comes from the data's columns.
    run.apply_rules("internal_data", stage_index["internal_data"], policy.internal_data, white_known=True)

    vendors: list[VendorColumn] = []
    vendor_cost = np.zeros(n, dtype=np.float64)
    white = run.white()
    needed = set(required_facts(policy, model))

    def call_group(group: VendorGroup) -> None:
        # online: stages.external_data.run_group on the rows that reach the group
        nonlocal vendor_cost
        frame = run.frame
        reached = run.active.copy()
        for vendor_id in group.vendors:
            vendor = policy.vendor_by_id[vendor_id]
            names = [f"{vendor.id}.{name}" for name in RESPONSE_MODELS[vendor.service].model_fields]
            skipped = np.zeros(n, dtype=bool)
            if group.skip_if_white:
                skipped |= white
            purpose = vendor.consent_purpose  # declared, or tied to the service by law
            if purpose is not None:
                skipped |= ~_flags(frame.get(f"consents.{purpose.value}"), n)
            skipped &= reached
            present = [name for name in names if name in frame]
            # Whether it answered is read from the facts the policy reads (any of them present),
            # or from all its columns when the policy reads none.
            read = [name for name in present if name in needed] or present
            answered = np.zeros(n, dtype=bool)
            for name in read:
                if skipped.any():
                    frame[name] = _mask(frame[name], skipped)
                answered |= frame[name].notna().to_numpy()
            if not read:
                answered = ~skipped  # the data carries none of its facts: billed when called
            answered &= reached
            billed = answered.copy()
            if vendor.pricing is Pricing.PER_HIT:
                hit_field = _per_hit_field(vendor.service)
                if hit_field is not None:
                    billed &= _flags(frame.get(f"{vendor.id}.{hit_field}"), n)
            # online: vendor_cost = round(vendor_cost + cost, 6) per vendor, in policy order
            vendor_cost = np.where(billed, round_like_python(vendor_cost + vendor.cost, 6), vendor_cost)
            vendors.append(VendorColumn(vendor.id, group.id, reached, answered, billed, vendor.cost))
        run.apply_rules(
            f"vendor:{group.id}", stage_index[f"vendor:{group.id}"], group.rules, white_known=True
        )

    for group in policy.groups_before_model:
        call_group(group)

    # Features and the score for every row still in the flow.
    scored = run.active.copy()
    rows = np.flatnonzero(scored)
    inputs = {f for feature in policy.features for f in feature.compiled.facts} | set(needed)
    sub = frame[sorted(inputs & set(frame.columns))]
    sub = sub.iloc[rows].copy() if len(rows) < n else sub.copy()
    for feature in policy.features:
        try:
            sub[feature.fact] = feature.compiled.evaluate_frame(sub)
        except ExpressionTypeError as exc:
            raise BacktestError(f"feature {feature.name}: {exc}") from None
    scoring = _score(policy, model, sub)
    pd_ = np.full(n, np.nan)
    model_points = np.full(n, np.nan)
    final = np.full(n, np.nan)
    reliable = np.ones(n, dtype=bool)
    pd_[rows] = round_like_python(scoring.pd, 6)
    model_points[rows] = scoring.points
    final[rows] = round_like_python(scoring.points + run.adjustment[rows], 2)
    reliable[rows] = scoring.reliable
    input_missing = np.zeros((n, len(scoring.names)), dtype=bool)
    input_missing[rows] = scoring.missing
    needs_contributions = np.zeros(n, dtype=bool)
    needs_contributions[rows] = (
        scoring.points + run.adjustment[rows] < policy.cutoffs.approve_min
    ) | run.review[rows]
    model_matrix = None
    if scoring.matrix is not None:
        model_matrix = np.full((n, scoring.matrix.shape[1]), np.nan)
        model_matrix[rows] = scoring.matrix
    shortfalls = None
    if scoring.shortfalls is not None:
        shortfalls = {}
        for name, values in scoring.shortfalls.items():
            full = np.zeros(n)
            full[rows] = values
            shortfalls[name] = full

    # Post-model rules see the features and the scores.
    frame_post = frame
    post_facts = {f for rule in policy.post_model for f in rule.compiled.facts}
    if post_facts:
        frame_post = frame.copy(deep=False)
        for feature in policy.features:
            if feature.fact not in post_facts:
                continue
            column = (
                np.full(n, np.nan) if sub[feature.fact].dtype.kind == "f" else np.full(n, None, dtype=object)
            )
            column[rows] = sub[feature.fact].to_numpy()
            frame_post[feature.fact] = column
        facts = {"score.pd": pd_, "score.points": final, "score.model_points": model_points}
        for name, values in facts.items():
            if name in post_facts:
                frame_post[name] = values
    run.frame = frame_post
    run.apply_rules("post_model", stage_index["post_model"], policy.post_model, white_known=True)
    run.reached["decision"] = scored.copy()

    # Cut-offs: stages.decision.run
    cut = policy.cutoffs
    unreliable = scored & ~reliable
    points = final.copy()
    points[unreliable] = np.maximum(
        np.minimum(final[unreliable], cut.review_min), policy.limits.score_bands[0]
    )
    below = scored & reliable & ~run.rejected & (final < cut.review_min)
    decision_stage = stage_index["decision"]
    run.halted_at[below & (run.halted_at < 0)] = decision_stage
    run.rejected |= below
    wants_offer = scored & ~run.rejected
    offers = offer_columns(policy, frame, points, wants_offer, now)
    failed = wants_offer & ~offers.ok
    run.halted_at[failed & (run.halted_at < 0)] = decision_stage
    run.rejected |= failed
    review_band = wants_offer & offers.ok & reliable & (points < cut.approve_min)
    # online: decision.check_before_offer, the after_model groups for rows about to get an offer
    if policy.groups_after_model:
        rejected_before = run.rejected.copy()
        run.active = wants_offer & offers.ok
        for group in policy.groups_after_model:
            call_group(group)
        withdrawn = run.rejected & ~rejected_before
        offers.ok[withdrawn] = False
        offers.limit[withdrawn] = np.nan
        offers.apr[withdrawn] = np.nan
        offers.basis[withdrawn] = None
    has_review = run.review | unreliable | review_band
    decision = np.where(run.rejected, REJECT, np.where(has_review, REVIEW, APPROVE)).astype(np.int8)

    ids = (
        frame["application_id"].to_numpy(dtype=object)
        if "application_id" in frame
        else np.arange(n).astype(str).astype(object)
    )
    return Evaluation(
        policy=policy, model=model, application_ids=ids, stages=run.stages, reached=run.reached,
        halted_at=run.halted_at, decision=decision, rules=run.rules, vendors=vendors, vendor_cost=vendor_cost,
        scored=scored, pd=pd_, model_points=model_points, final_points=final, reliable=reliable,
        input_missing=input_missing, input_names=scoring.names, needs_contributions=needs_contributions, score_below=below,
        offers=offers, in_review_band=review_band, unreliable_review=unreliable,
        model_matrix=model_matrix, scorecard_shortfalls=shortfalls,
    )  # fmt: skip


@dataclass
class _Scoring:
    pd: np.ndarray  # unrounded
    points: np.ndarray  # rounded to 2 digits, as Score.points
    reliable: np.ndarray
    missing: np.ndarray  # (rows × inputs) True where missing
    names: list[str]
    matrix: np.ndarray | None
    shortfalls: dict[str, np.ndarray] | None


def _score(policy: Policy, model: ModelArtifact, sub: pd.DataFrame) -> _Scoring:
    """``stages.scoring.run`` for every row of ``sub``."""
    meta = model.metadata
    card = policy.scoring.scorecard
    if card is not None and meta.kind != "scorecard":
        raise BacktestError(
            f"the policy carries a scorecard but its model {meta.model_id} v{meta.version} is a "
            f"{meta.kind} model: name the scorecard model the card was built from"
        )
    if meta.kind == "scorecard":
        return _score_card(policy, card or model.scorecard(), sub)
    return _score_trees(policy, model, sub)


def _encode(model: ModelArtifact, sub: pd.DataFrame) -> np.ndarray:
    """``ModelArtifact.encode_row`` for every row: NaN for missing inputs and unknown categories."""
    import numpy as np

    n = len(sub)
    matrix = np.full((n, len(model.metadata.features)), np.nan)
    for j, spec in enumerate(model.metadata.features):
        if spec.name not in sub:
            continue
        column = sub[spec.name]
        if spec.type == "float":
            if column.dtype.kind in "biuf" or str(column.dtype) == "boolean":
                matrix[:, j] = column.to_numpy(dtype=np.float64, na_value=np.nan)
            else:
                values = column.to_numpy(dtype=object)
                for i, v in enumerate(values.tolist()):
                    if is_missing(v):
                        continue
                    if not isinstance(v, bool | int | float):
                        raise BacktestError(f"model feature {spec.name}: a {type(v).__name__} is not numeric")
                    matrix[i, j] = float(v)
        else:
            codes = {c: float(i) for i, c in enumerate(spec.categories or ())}
            uniques = {}
            values = column.to_numpy(dtype=object).tolist()
            for i, v in enumerate(values):
                if is_missing(v):
                    continue
                key = category_key(v)
                code = uniques.get(key)
                if code is None:
                    code = uniques[key] = codes.get(key, np.nan)
                matrix[i, j] = code
    return matrix


def _to_points(policy: Policy, pd_: np.ndarray) -> np.ndarray:
    """``PointsScale.to_points`` (pd clamped, then ln(good/bad) on the scale), vectorised."""
    import numpy as np

    scale = policy.scoring.scale
    p = np.clip(pd_, PD_MIN, PD_MAX)
    factor = scale.pdo / math.log(2.0)
    offset = scale.base_points - factor * math.log(scale.base_odds)
    return offset + factor * np.log((1.0 - p) / p)


def _score_trees(policy: Policy, model: ModelArtifact, sub: pd.DataFrame) -> _Scoring:
    import numpy as np

    matrix = _encode(model, sub)
    margin = model.ensemble().predict_margin_batch_f64(matrix)
    with np.errstate(over="ignore"):
        e = np.exp(np.where(margin >= 0, -margin, margin))
        pd_ = np.where(margin >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    points = round_like_python(_to_points(policy, pd_), 2)
    # numpy's exp and log may differ from the math module's in the last bit: where that could
    # move a rounded digit, the row is recomputed with the scalar functions themselves.
    scale = policy.scoring.scale
    raw_points = _to_points(policy, pd_)
    shaky = near_half(pd_, 6) | near_half(raw_points, 2)
    for i in np.flatnonzero(shaky).tolist():
        m = float(margin[i])
        pd_[i] = 1.0 / (1.0 + math.exp(-m)) if m >= 0.0 else math.exp(m) / (1.0 + math.exp(m))
        points[i] = round(scale.to_points(float(pd_[i])), 2)
    missing = np.isnan(matrix)
    reliable = missing.sum(axis=1) <= policy.scoring.max_missing_inputs
    return _Scoring(pd_, points, reliable, missing, model.metadata.feature_names, matrix, None)


def _score_card(policy: Policy, card: Scorecard, sub: pd.DataFrame) -> _Scoring:
    import numpy as np

    n = len(sub)
    total = np.full(n, card.intercept_points, dtype=np.float64)
    missing_mask = np.zeros((n, len(card.features)), dtype=bool)
    shortfalls: dict[str, np.ndarray] = {}
    for j, feature in enumerate(card.features):
        values = (
            sub[feature.name].to_numpy(dtype=object)
            if feature.name in sub
            else np.full(n, None, dtype=object)
        )
        located: dict[Any, float] = {}
        points = np.empty(n, dtype=np.float64)
        for i, v in enumerate(values.tolist()):
            key = (type(v), v) if not is_missing(v) else None
            p = located.get(key)
            if p is None:
                try:
                    p = located[key] = feature.locate(v)[2]
                except TypeError as exc:
                    raise BacktestError(f"{exc} (row {i})") from None
            points[i] = p
            missing_mask[i, j] = key is None
        total += points  # online: total += points, feature by feature in card order
        shortfalls[feature.name] = np.maximum(0.0, feature.best_points - points)
    scale = policy.scoring.scale
    pd_ = np.array([scale.to_pd(t) for t in total.tolist()], dtype=np.float64)
    points = round_like_python(total, 2)
    reliable = missing_mask.sum(axis=1) <= policy.scoring.max_missing_inputs
    return _Scoring(pd_, points, reliable, missing_mask, card.feature_names, None, shortfalls)
