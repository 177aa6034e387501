"""What the borrower is told when the book changes their account, in Chinese and English.

The loan app shows these texts as they are (one per language); they name amounts and dates but
never an internal rule id, a score or a reason a borrower could game.
"""

from __future__ import annotations

from datetime import date

LANGUAGES = ("zh-CN", "en")


def _money(value: float) -> str:
    return f"{value:,.2f}"


def notice(
    action: str,
    *,
    old_limit: float,
    new_limit: float,
    reloan_limit: float | None = None,
    reloan_apr: float | None = None,
    valid_until: date | None = None,
) -> dict[str, str]:
    """The notice for ``action`` (LIMIT_UP, LIMIT_DOWN, FREEZE, UNFREEZE, RELOAN_ELIGIBLE)."""
    old, new = _money(old_limit), _money(new_limit)
    if action == "LIMIT_UP":
        return {
            "zh-CN": f"好消息：您的授信额度已由 {old} 元提升至 {new} 元。",
            "en": f"Good news: your credit limit has been raised from CNY {old} to CNY {new}.",
        }
    if action == "LIMIT_DOWN":
        return {
            "zh-CN": f"您的授信额度已由 {old} 元调整为 {new} 元，已借款项及还款计划不变。",
            "en": f"Your credit limit has been changed from CNY {old} to CNY {new}. "
            "Your existing loans and repayment plans are unchanged.",
        }
    if action == "FREEZE":
        return {
            "zh-CN": "您的额度已暂停使用，已借款项不受影响。还清逾期款项后可申请恢复。",
            "en": "Your credit line has been paused; existing loans are unaffected. "
            "Once overdue amounts are repaid it can be restored.",
        }
    if action == "UNFREEZE":
        return {"zh-CN": "您的额度已恢复使用。", "en": "Your credit line is available again."}
    if action == "RELOAN_ELIGIBLE":
        amount = _money(reloan_limit or 0.0)
        rate = f"{(reloan_apr or 0.0):.2%}"
        until = valid_until.isoformat() if valid_until else ""
        return {
            "zh-CN": f"您已获得一笔预审批借款：最高 {amount} 元，年化利率 {rate}，有效期至 {until}。",
            "en": f"You are pre-approved for a new loan of up to CNY {amount} at an APR of {rate}, "
            f"valid until {until}.",
        }
    raise ValueError(f"no borrower notice for action {action}")
