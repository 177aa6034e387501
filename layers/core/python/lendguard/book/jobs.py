"""The batch jobs over the book: ``inloan`` (nightly) and ``postloan`` (daily).

Each job scores one shard of the snapshot (:mod:`lendguard.book.snapshot`) at a time, vectorised:
one model call per shard (:meth:`lendguard.models.trees.TreeEnsemble.predict_margin_batch`), the
policy's rules column-wise (:mod:`lendguard.book.rules`), one output row per account with its
action, reasons and trace. ``apply`` then writes the actions to the accounts, each under its
apply key (account, job, run date) in one conditional write, so a re-run of the same date never
applies twice, and publishes what the loan app must show (limit changes, freezes, re-loan
offers) with the borrower's notice in Chinese and English. ``dry_run`` applies nothing.

In-loan, per account (precedence ``freeze`` > ``limit_down`` > ``unfreeze`` > ``limit_up`` >
``reloan_eligible``, else ``NONE``):

- ``behaviour_score``: points of the behaviour model's PD (``in_loan.scale``); NaN without a model;
- ``LIMIT_UP``: the limit times the score band's multiplier, the raise capped at ``max_increase``,
  the total at the product's ``max_amount``, rounded down; no raise within ``cooldown_days`` of
  the last change (the proposal is 0 and the trace says why);
- ``LIMIT_DOWN``: the limit times ``factor``, never below the balance (rounded up), never up;
- ``FREEZE`` / ``UNFREEZE``: the account's status;
- ``RELOAN_ELIGIBLE``: a pre-approved offer of ``limit_share`` of the limit (up to the product
  maximum) at the account's APR less ``apr_discount`` (not below ``apr_floor``); the APR is then
  lowered as far as needed for the comprehensive cost to stay within the policy's cost cap (at
  most 36%) on every term of the product, or the offer is dropped (``RELOAN_COST_ABOVE_CAP``).

Post-loan, per account: ``repay_prob`` (1 - the roll-rate model's PD), ``segment`` (the first
segment rule that hits, else ``none`` and action ``NONE``), ``priority`` (rank within the
segment by expected loss, balance x (1 - repay_prob), 1 = first), ``complaint_flags`` and
``contact_allowed`` (no contact rule hit at the planned hour and party). Applying it records
the assignment in the audit, counts the planned contact in the account's contacts of the run
date (so the daily cap sees it) when it is allowed, and publishes ``CollectionAssigned`` for the
collection systems (no notice: the borrower is not told).
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import ConfigDict

from lendguard.book.accounts import Account, AccountStore, AuditEntry, apply_key
from lendguard.book.notices import notice
from lendguard.book.pricing import price_reloans
from lendguard.book.rules import Trace, column, const, constant, evaluate, list_column, obj
from lendguard.book.snapshot import SNAPSHOT_COLUMNS, validate_snapshot
from lendguard.core.base_model import Model
from lendguard.core.errors import Conflict
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.book_sections import IN_LOAN_PRECEDENCE
from lendguard.policy.schema import Policy, Rule

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np
    import pyarrow as pa

    from lendguard.book.publisher import EventPublisher

JobName = Literal["inloan", "postloan"]
NONE = "NONE"
_DETAIL_TYPES = {"LIMIT_UP": "LimitChanged", "LIMIT_DOWN": "LimitChanged", "FREEZE": "AccountFrozen",
                 "UNFREEZE": "AccountUnfrozen", "RELOAN_ELIGIBLE": "ReloanOffered"}  # fmt: skip


class JobContext(Model):
    """One run of one job: what it scores with and whether it may change anything."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    job: JobName
    run_id: str
    run_date: date
    dry_run: bool = False
    policy: Policy
    model: ModelArtifact | None = None


def _margins(shard: pa.Table, model: ModelArtifact | None) -> np.ndarray:
    """One model call for the whole shard: margins (log-odds of bad), NaN without a model."""
    import numpy as np

    n = shard.num_rows
    if model is None:
        return np.full(n, np.nan)
    names = model.metadata.feature_names
    missing = [name for name in names if name not in shard.column_names]
    if missing:
        raise ValueError(f"model {model.metadata.model_id} needs snapshot columns {missing}")
    matrix = np.empty((n, len(names)), dtype=np.float32)
    for j, name in enumerate(names):
        matrix[:, j] = shard.column(name).to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return model.ensemble().predict_margin_batch(matrix).astype(np.float64)


def _facts(shard: pa.Table, extra: dict[str, Any], rules: Sequence[Rule]) -> dict[str, Any]:
    """The facts ``rules`` read: ``account.<column>`` of the snapshot's columns they name (Arrow
    arrays, zero copy), plus ``extra`` (numpy). No pandas: the batch ships pyarrow and numpy only."""
    read = set().union(*(r.compiled.facts for r in rules)) if rules else set()
    facts: dict[str, Any] = {
        f"account.{name}": column(shard.column(name))
        for name in shard.column_names
        if f"account.{name}" in read
    }
    facts.update(extra)
    return facts


def _product_max(policy: Policy, products: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Each row's product maximum (NaN for a product the policy lacks), looked up once per product."""
    import numpy as np
    import pyarrow.compute as pc

    encoded = (
        pc.dictionary_encode(products).combine_chunks()
        if hasattr(products, "combine_chunks")
        else (pc.dictionary_encode(products))
    )
    table = {pid: p.max_amount for pid, p in policy.products.items()}
    per_product = np.array([table.get(p, np.nan) for p in encoded.dictionary.to_pylist()], dtype=np.float64)
    return per_product[encoded.indices.to_numpy(zero_copy_only=False)]


class BatchJob(ABC):
    """One batch job: score a shard, apply its actions, summarise them."""

    name: ClassVar[JobName]
    output_columns: ClassVar[dict[str, str]]

    reads: ClassVar[tuple[str, ...]]
    """Snapshot columns the job reads besides its model's features and its rules' facts."""

    @abstractmethod
    def rules(self, policy: Policy) -> list[Rule]:
        """Every rule of the job's policy section."""

    def columns(self, ctx: JobContext) -> list[str]:
        """The snapshot columns :meth:`score` reads, in snapshot order: a shard reads only these
        (the others, the customer key among them, are never decoded)."""
        wanted = set(self.reads)
        if ctx.model is not None:
            wanted.update(ctx.model.metadata.feature_names)
        for rule in self.rules(ctx.policy):
            wanted.update(f.removeprefix("account.") for f in rule.compiled.facts if f.startswith("account."))
        return [name for name in SNAPSHOT_COLUMNS if name in wanted]

    @abstractmethod
    def score(self, shard: pa.Table, ctx: JobContext) -> pa.Table:
        """One output row per account of ``shard`` (a snapshot table, or its :meth:`columns`), in
        the shard's order."""

    @abstractmethod
    def _entry(
        self, row: dict[str, Any], account: Account, ctx: JobContext
    ) -> tuple[Account, AuditEntry, tuple[str, dict[str, Any]] | None]:
        """The account as the action leaves it, its audit entry and the event to publish (if any)."""

    def apply(
        self, actions: pa.Table, ctx: JobContext, store: AccountStore, events: EventPublisher
    ) -> dict[str, int]:
        """Apply every action but ``NONE`` once per (account, job, run date); publish the events.

        Counts: ``applied``, ``already_applied`` (an earlier run of the date), ``missing`` (no
        such account), ``conflicts`` (changed by others three times over: left for a re-run),
        ``expired`` (a re-run of a date older than the audit the account keeps:
        :data:`~lendguard.book.accounts.AUDIT_RERUN_DAYS`, refused rather than applied twice),
        ``published``; a dry run applies nothing and counts ``dry_run``.
        """
        counts = Counter({"applied": 0, "already_applied": 0, "missing": 0, "conflicts": 0, "expired": 0,
                          "published": 0, "dry_run": 0})  # fmt: skip
        import pyarrow.compute as pc

        acted = actions.filter(pc.not_equal(actions.column("action"), NONE))
        # The trace is written with the results, not needed to apply: never turned into Python.
        rows = acted.drop_columns([c for c in ("trace",) if c in acted.column_names]).to_pylist()
        if ctx.dry_run:
            counts["dry_run"] = len(rows)
            return dict(counts)
        for row in rows:
            counts[self._apply_one(row, ctx, store, events, counts)] += 1
        return dict(counts)

    def _apply_one(
        self,
        row: dict[str, Any],
        ctx: JobContext,
        store: AccountStore,
        events: EventPublisher,
        counts: Counter[str],
    ) -> str:
        published = False
        for _ in range(3):  # a draw between the read and the write: read the account again
            account = store.get(row["account_id"])
            if account is None:
                return "missing"
            if apply_key(account.account_id, self.name, ctx.run_date) in account.applied_keys:
                return "already_applied"
            if account.rerun_expired(ctx.run_date):
                return "expired"
            changed, entry, event = self._entry(row, account, ctx)
            # Published before the write: a crash between the two re-publishes on the re-run
            # (the loan app drops the repeat by apply key) rather than losing the notice.
            if event is not None and not published:
                counts["published"] += events.publish([event])
                published = True
            try:
                return "applied" if store.apply(changed, entry) else "already_applied"
            except Conflict:
                continue
        return "conflicts"

    def summarise(self, actions: pa.Table) -> dict[str, Any]:
        """Counts by action (and by segment for post-loan)."""
        out: dict[str, Any] = {
            "job": self.name,
            "accounts": actions.num_rows,
            "by_action": _counts(actions, "action"),
        }
        if "segment" in actions.column_names:
            out["by_segment"] = _counts(actions, "segment")
        return out


def _counts(table: pa.Table, name: str) -> dict[str, int]:
    """How many rows hold each value of column ``name`` (counted in Arrow), sorted by value."""
    import pyarrow.compute as pc

    counted = pc.value_counts(table.column(name)).to_pylist()
    return dict(sorted((c["values"], c["counts"]) for c in counted))


def _rounded_down(values: np.ndarray, step: float) -> np.ndarray:
    import numpy as np

    return np.floor(values / step + 1e-9) * step


class InLoanJob(BatchJob):
    """Nightly: limits up and down, freezes, re-loan offers (see the module docstring)."""

    name = "inloan"
    reads = ("account_id", "product", "credit_limit", "balance", "apr", "days_since_limit_change")
    output_columns: ClassVar[dict[str, str]] = {
        "account_id": "string", "action": "string", "reasons": "list<string>", "trace": "struct",
        "new_limit": "float64", "reloan_limit": "float64", "reloan_apr": "float64", "behaviour_score": "float64",
    }  # fmt: skip

    def rules(self, policy: Policy) -> list[Rule]:
        return list(policy.in_loan.rules)

    def score(self, shard: pa.Table, ctx: JobContext) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        validate_snapshot(shard, self.columns(ctx))
        section = ctx.policy.in_loan
        n = shard.num_rows
        margin = _margins(shard, ctx.model)
        pd_bad = 1.0 / (1.0 + np.exp(-margin))
        scale = section.scale
        points = scale.offset + scale.factor * np.clip(-margin, -50.0, 50.0)
        limit = shard.column("credit_limit").to_numpy(zero_copy_only=False)
        balance = shard.column("balance").to_numpy(zero_copy_only=False)
        since = shard.column("days_since_limit_change").to_numpy(zero_copy_only=False)
        product_max = _product_max(ctx.policy, shard.column("product"))

        up = section.limit_up
        band = (
            np.searchsorted(np.asarray(up.score_bands), np.nan_to_num(points, nan=-np.inf), side="right") - 1
        )
        multiplier = np.where(band >= 0, np.asarray(up.multipliers)[np.clip(band, 0, None)], 1.0)
        target = np.minimum(limit * multiplier, limit + up.max_increase)
        target = _rounded_down(np.fmin(target, product_max), up.rounding)
        cooling = since < up.cooldown_days
        proposed = np.where(cooling | np.isnan(points), limit, np.maximum(target, limit))
        increase = proposed - limit

        facts = _facts(shard, {"score.behaviour": points, "score.behaviour_pd": pd_bad,
                               "offer.new_limit": proposed, "offer.increase": increase}, section.rules)  # fmt: skip
        trace = Trace(n)
        evaluated = evaluate(section.rules, facts, n, "in_loan", trace)
        # Actions as small integer codes (0 = NONE, then the precedence order), never strings per row.
        names = [NONE, *(a.upper() for a in IN_LOAN_PRECEDENCE)]
        rule_code = np.array([names.index(str(r.action).upper()) for r in section.rules], dtype=np.int8)
        chosen = np.zeros(n, dtype=np.int8)
        undecided = np.ones(n, dtype=bool)
        for code in range(1, len(names)):
            cols = rule_code == code
            hit = evaluated.hits[:, cols].any(axis=1) & undecided if cols.any() else np.zeros(n, bool)
            chosen[hit] = code
            undecided &= ~hit

        down = section.limit_down
        cut = np.maximum(
            np.ceil(balance / down.rounding - 1e-9) * down.rounding,
            _rounded_down(limit * down.factor, down.rounding),
        )
        up_code, down_code, reloan_code = (
            names.index(a) for a in ("LIMIT_UP", "LIMIT_DOWN", "RELOAN_ELIGIBLE")
        )
        new_limit = np.where(
            chosen == up_code, proposed, np.where(chosen == down_code, np.minimum(cut, limit), limit)
        )

        reloan_limit = np.full(n, np.nan)
        reloan_apr = np.full(n, np.nan)
        eligible = np.flatnonzero(chosen == reloan_code)
        apr = shard.column("apr").to_numpy(zero_copy_only=False)[eligible]
        offer = section.reloan
        share = limit[eligible] * offer.limit_share
        cap = product_max[eligible]
        amount = _rounded_down(np.where(cap < share, cap, share), up.rounding)  # Python's min(share, cap)
        lowered = apr - offer.apr_discount
        # max(lowered, floor) rounded to 4 places: numpy's rounding for the numpy value, Python's
        # for the policy's float, as the row-by-row pricing this replaced rounded them.
        rate = np.where(offer.apr_floor > lowered, round(offer.apr_floor, 4), np.round(lowered, 4))
        products = (
            shard.column("product").take(pa.array(eligible)).cast(pa.string()).to_numpy(zero_copy_only=False)
        )
        fitted = price_reloans(ctx.policy, products, amount, rate, ctx.run_date)
        dropped = np.zeros(n, dtype=bool)
        dropped[eligible] = np.isnan(fitted)
        reloan_limit[eligible] = np.where(np.isnan(fitted), np.nan, amount)
        reloan_apr[eligible] = fitted
        chosen[dropped] = 0

        hit_of_chosen = evaluated.hits & (rule_code[None, :] == chosen[:, None])
        labels = [r.id for r in section.rules]
        reasons = list_column(np.column_stack([hit_of_chosen, dropped]), [*labels, "RELOAN_COST_ABOVE_CAP"])
        action_codes = pa.DictionaryArray.from_arrays(pa.array(chosen), pa.array(names, pa.string()))
        action = action_codes.cast(pa.string())
        layout = obj([
            ("job", const("inloan")), ("run_date", const(ctx.run_date.isoformat())),
            ("rules", {"list": evaluated.traces}),
            ("score", obj([("model", const(_model_ref(ctx.model))), ("pd", trace.col("score.behaviour_pd", pd_bad)),
                           ("points", trace.col("score.behaviour", points))])),
            ("limit_up", obj([
                ("band", trace.col("limit_up.band", band.astype(np.int64))),
                ("multiplier", trace.col("limit_up.multiplier", multiplier)),
                ("proposed", trace.col("offer.new_limit", proposed)), ("cooldown_days", const(up.cooldown_days)),
                ("days_since_limit_change", trace.col("account.days_since_limit_change", column(since))),
                ("in_cooldown", trace.col("limit_up.in_cooldown", cooling)),
                ("product_max", trace.col("limit_up.product_max", product_max)),
                ("max_increase", const(up.max_increase)),
            ])),
            ("action", trace.col("action", action_codes)),
        ])  # fmt: skip
        return pa.table({
            "account_id": shard.column("account_id"), "action": action,
            "reasons": reasons, "trace": trace.build(layout), "new_limit": pa.array(new_limit, pa.float64()),
            "reloan_limit": pa.array(reloan_limit, pa.float64(), from_pandas=True),
            "reloan_apr": pa.array(reloan_apr, pa.float64(), from_pandas=True),
            "behaviour_score": pa.array(points, pa.float64(), from_pandas=True),
        })  # fmt: skip

    def _entry(
        self, row: dict[str, Any], account: Account, ctx: JobContext
    ) -> tuple[Account, AuditEntry, tuple[str, dict[str, Any]] | None]:
        action = row["action"]
        update: dict[str, Any] = {}
        changes: dict[str, Any] = {}
        old_limit = float(account.credit_limit)
        new_limit = float(row["new_limit"]) if row["new_limit"] is not None else old_limit
        valid_until = None
        if action in ("LIMIT_UP", "LIMIT_DOWN") and new_limit != old_limit:
            update = {
                "credit_limit": Decimal(str(new_limit)).quantize(Decimal("0.01")),
                "limit_changed_on": ctx.run_date,
            }
            changes["credit_limit"] = [old_limit, new_limit]
        elif action == "FREEZE":
            update, changes["status"] = {"status": "FROZEN"}, [account.status, "FROZEN"]
        elif action == "UNFREEZE":
            update, changes["status"] = {"status": "ACTIVE"}, [account.status, "ACTIVE"]
        elif action == "RELOAN_ELIGIBLE":
            valid_until = ctx.run_date + timedelta(days=ctx.policy.in_loan.reloan.validity_days)
            changes["reloan_offer"] = {"limit": row["reloan_limit"], "apr": row["reloan_apr"],
                                       "valid_until": valid_until.isoformat()}  # fmt: skip
        key = apply_key(account.account_id, self.name, ctx.run_date)
        entry = AuditEntry(apply_key=key, job=self.name, run_date=ctx.run_date, action=action, changes=changes,
                           reasons=list(row["reasons"] or []))  # fmt: skip
        event = None
        if changes:
            text = notice(action, old_limit=old_limit, new_limit=new_limit, reloan_limit=row["reloan_limit"],
                          reloan_apr=row["reloan_apr"], valid_until=valid_until)  # fmt: skip
            detail = {"account_id": account.account_id, "customer_key": account.customer_key, "action": action,
                      "apply_key": key, "run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(),
                      "changes": changes, "notice": text}  # fmt: skip
            event = (_DETAIL_TYPES[action], detail)
        return account.model_copy(update=update), entry, event


class PostLoanJob(BatchJob):
    """Daily: repayment probability, collection segment and priority, complaint flags, contact."""

    name = "postloan"
    reads = ("account_id", "balance")
    output_columns: ClassVar[dict[str, str]] = {
        "account_id": "string", "action": "string", "reasons": "list<string>", "trace": "struct",
        "repay_prob": "float64", "segment": "string", "priority": "int64", "complaint_flags": "list<string>",
        "contact_allowed": "bool",
    }  # fmt: skip

    def rules(self, policy: Policy) -> list[Rule]:
        section = policy.post_loan
        return [*section.segments, *section.complaint_rules, *section.contact_rules]

    def score(self, shard: pa.Table, ctx: JobContext) -> pa.Table:
        import numpy as np
        import pyarrow as pa

        validate_snapshot(shard, self.columns(ctx))
        section = ctx.policy.post_loan
        n = shard.num_rows
        margin = _margins(shard, ctx.model)
        repay = 1.0 - 1.0 / (1.0 + np.exp(-margin))
        facts = _facts(shard, {"score.repay_prob": repay, "contact.hour": np.full(n, float(section.contact_hour)),
                               "contact.party": constant(section.contact_party, n).cast(pa.string())},
                       [*section.segments, *section.complaint_rules, *section.contact_rules])  # fmt: skip
        trace = Trace(n)
        segments = evaluate(section.segments, facts, n, "post_loan.segments", trace)
        complaints = evaluate(section.complaint_rules, facts, n, "post_loan.complaint_rules", trace)
        contact = evaluate(section.contact_rules, facts, n, "post_loan.contact_rules", trace)

        first = np.where(segments.hits.any(axis=1), segments.hits.argmax(axis=1), -1)
        seg_names = np.array([str(r.action) for r in section.segments] + ["none"], dtype=object)
        segment = seg_names[first]  # -1 picks "none"
        chosen = np.where(first >= 0, np.char.upper(segment.astype(str)), NONE)
        blocked = contact.hits.any(axis=1)
        allowed = (first >= 0) & ~blocked

        balance = shard.column("balance").to_numpy(zero_copy_only=False)
        loss = balance * (1.0 - np.nan_to_num(repay, nan=0.5))
        priority = np.zeros(n, dtype=np.int64)
        for seg in set(segment.tolist()) - {"none"}:
            rows = np.flatnonzero(segment == seg)
            order = rows[
                np.lexsort(
                    (shard.column("account_id").to_numpy(zero_copy_only=False)[rows].astype(str), -loss[rows])
                )
            ]
            priority[order] = np.arange(1, len(order) + 1)

        seg_hit = np.zeros_like(segments.hits)
        picked = np.flatnonzero(first >= 0)
        seg_hit[picked, first[picked]] = True
        reasons = list_column(np.column_stack([seg_hit, contact.hits]),
                              [r.id for r in section.segments] + [r.id for r in section.contact_rules])  # fmt: skip
        flags = list_column(complaints.hits, [r.id for r in section.complaint_rules])
        segment_text = pa.array(segment.astype(str), pa.string())
        layout = obj([
            ("job", const("postloan")), ("run_date", const(ctx.run_date.isoformat())),
            ("rules", {"list": [*segments.traces, *complaints.traces, *contact.traces]}),
            ("score", obj([("model", const(_model_ref(ctx.model))), ("repay_prob", trace.col("score.repay_prob", repay))])),
            ("segment", trace.col("segment", segment_text)), ("priority", trace.col("priority", priority)),
            ("expected_loss", trace.col("expected_loss", loss)),
            ("contact", obj([("hour", const(section.contact_hour)), ("party", const(section.contact_party)),
                             ("allowed", trace.col("contact_allowed", allowed))])),
        ])  # fmt: skip
        return pa.table({
            "account_id": shard.column("account_id"), "action": pa.array(chosen.astype(str), pa.string()),
            "reasons": reasons, "trace": trace.build(layout), "repay_prob": pa.array(repay, pa.float64(), from_pandas=True),
            "segment": segment_text, "priority": pa.array(priority, pa.int64()),
            "complaint_flags": flags, "contact_allowed": pa.array(allowed, pa.bool_()),
        })  # fmt: skip

    def _entry(
        self, row: dict[str, Any], account: Account, ctx: JobContext
    ) -> tuple[Account, AuditEntry, tuple[str, dict[str, Any]] | None]:
        changes = {"collection": {"segment": row["segment"], "priority": row["priority"],
                                  "repay_prob": None if row["repay_prob"] is None or math.isnan(row["repay_prob"]) else round(row["repay_prob"], 6),
                                  "contact_allowed": row["contact_allowed"],
                                  "complaint_flags": list(row["complaint_flags"] or [])}}  # fmt: skip
        key = apply_key(account.account_id, self.name, ctx.run_date)
        entry = AuditEntry(apply_key=key, job=self.name, run_date=ctx.run_date, action=row["action"],
                           changes=changes, reasons=list(row["reasons"] or []))  # fmt: skip
        # The queue makes today's contact: it counts towards the daily cap the next queue reads
        # (the snapshot's contacts_today); a blocked contact is not made and not counted.
        changed = account.count_contact(ctx.run_date) if row["contact_allowed"] else account
        # For the collection systems only: no notice, the borrower is told nothing by this event.
        detail = {"account_id": account.account_id, "customer_key": account.customer_key, "action": row["action"],
                  "apply_key": key, "run_id": ctx.run_id, "run_date": ctx.run_date.isoformat(), **changes}  # fmt: skip
        return changed, entry, ("CollectionAssigned", detail)


def _model_ref(model: ModelArtifact | None) -> dict[str, Any] | None:
    return None if model is None else {"id": model.metadata.model_id, "version": model.metadata.version}


JOBS: dict[str, BatchJob] = {"inloan": InLoanJob(), "postloan": PostLoanJob()}
