"""Reasons a borrower may see: a table in the policy from internal reason codes to plain messages.

Internal reasons name rules, lists and vendors; a borrower is told none of that (PIPL Art. 24
gives a right to an explanation, not to the lender's fraud controls). The table maps each
internal code (a rule id, an engine code such as ``SCORE_BELOW_CUTOFF``, or a prefix ending in
``*`` such as ``MODEL_*``) to a message id; each message has a Chinese and an English text.
Messages are checked: none may name a black list, fraud screening or a rule id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated

from pydantic import ConfigDict, Field, model_validator

from lendguard.core.base_model import Model
from lendguard.decision.state import Reason

MessageId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
# Words that would tell a borrower which control refused them.
FORBIDDEN = re.compile(
    r"black\s*-?list|blacklist|grey\s*list|fraud|anti-?fraud|黑名单|灰名单|欺诈|反欺诈|rule", re.IGNORECASE
)
# InternalData (lendguard.decision.stages.internal_data): customer features stale, per the policy.
INTERNAL_FEATURES_STALE = "INTERNAL_FEATURES_STALE"
# Codes the engine itself gives (lendguard.decision.stages.decision), besides rule ids and MODEL_*.
ENGINE_CODES = frozenset(
    {
        "SCORE_BELOW_CUTOFF",
        "NO_AFFORDABLE_LIMIT",
        "SCORE_UNRELIABLE",
        "SCORE_IN_REVIEW_BAND",
        INTERNAL_FEATURES_STALE,
    }
)


class BorrowerMessage(Model):
    model_config = ConfigDict(extra="forbid", frozen=True)

    zh: Annotated[str, Field(min_length=1, max_length=200)]
    en: Annotated[str, Field(min_length=1, max_length=200)]


class BorrowerReason(Model):
    """One reason as the borrower reads it."""

    code: str
    zh: str
    en: str


_GENERIC = BorrowerMessage(
    zh="很抱歉，您的申请暂未通过我们的综合评估。", en="Your application did not pass our overall assessment."
)


class BorrowerReasons(Model):
    """``borrower_reasons`` in a policy: messages, which internal code maps to which, a default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    messages: dict[MessageId, BorrowerMessage] = Field(
        default_factory=lambda: {"overall_assessment": _GENERIC}
    )
    codes: dict[str, MessageId] = Field(
        default_factory=dict, description="internal code or PREFIX* -> message id"
    )
    default: MessageId = "overall_assessment"

    @model_validator(mode="after")
    def _check(self) -> BorrowerReasons:
        for mid, message in self.messages.items():
            for lang in ("zh", "en"):
                if FORBIDDEN.search(getattr(message, lang)):
                    raise ValueError(
                        f"borrower_reasons.messages.{mid}.{lang} names a control a borrower must not be told "
                        "(black/grey list, fraud, rule)"
                    )
        unknown = sorted({m for m in (*self.codes.values(), self.default) if m not in self.messages})
        if unknown:
            raise ValueError(f"borrower_reasons names messages it does not define: {unknown}")
        return self

    def unknown_codes(self, rule_ids: Iterable[str]) -> list[str]:
        """Mapped codes that no rule, engine code or prefix can produce (typos)."""
        known = set(rule_ids) | ENGINE_CODES
        return sorted(c for c in self.codes if not c.endswith("*") and c not in known)

    def check_messages_name_no_rule(self, rule_ids: Iterable[str]) -> None:
        ids = set(rule_ids)
        for mid, message in self.messages.items():
            for rule_id in ids:
                if rule_id in message.zh or rule_id in message.en:
                    raise ValueError(f"borrower_reasons.messages.{mid} names rule {rule_id}")

    def message_id(self, code: str) -> str:
        """The message id for an internal code: exact match, else the longest matching prefix, else the default."""
        if code in self.codes:
            return self.codes[code]
        prefixes = [c for c in self.codes if c.endswith("*") and code.startswith(c[:-1])]
        return self.codes[max(prefixes, key=len)] if prefixes else self.default

    def for_reasons(self, reasons: Iterable[Reason]) -> list[BorrowerReason]:
        """The borrower's reasons for internal ``reasons``, each message once, in order."""
        out: list[BorrowerReason] = []
        for reason in reasons:
            mid = self.message_id(reason.code)
            if all(r.code != mid for r in out):
                message = self.messages[mid]
                out.append(BorrowerReason(code=mid, zh=message.zh, en=message.en))
        return out
