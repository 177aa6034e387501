"""Read the ``report.json`` that ``lendguard backtest`` writes as release evidence.

A backtest report compares two policies over the same rows: its ``policy`` (the ``--policy``
side) and ``comparison.policy`` (the ``--compare`` side). Either may be the version under
review; the other side is what it was compared with and must be the champion (the service
checks that). Figures are taken as the report defines them:

* approval rate: the ``APPROVE`` outcome's share of all rows;
* bad rate: the ``APPROVE`` outcome's bad rate (bad among approved labelled rows), only when the
  report is labelled;
* vendor spend per 1,000 applications: ``spend_per_1000`` of each side;
* data set: ``data.source`` (a file or a case window), rows: ``rows``.

The shape is recognised by its keys (``outcomes`` and ``aggregates``), so the minimal evidence
document (:class:`~lendguard.policy.lifecycle.BacktestEvidence`) is still accepted as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, Field, ValidationError

from lendguard.core.base_model import Model
from lendguard.core.errors import FieldError, InvalidInput

PREFIX = "evidence."


class _Outcome(Model):
    model_config = ConfigDict(extra="ignore")

    decision: str
    rate: float | None = None
    bad_rate: float | None = None


class _Side(Model):
    model_config = ConfigDict(extra="ignore")

    policy: dict[str, Any]
    outcomes: list[_Outcome]
    spend_per_1000: float | None = None


class _Report(_Side):
    """The parts of a backtest report that evidence needs (the rest is kept only in the digest)."""

    data: dict[str, Any]
    rows: int = Field(ge=1)
    labelled: bool
    comparison: _Side | None = None


def is_backtest_report(raw: object) -> bool:
    """Whether ``raw`` has the shape of ``lendguard backtest``'s report.json."""
    return isinstance(raw, Mapping) and "outcomes" in raw and "aggregates" in raw


def _ref(side: _Side) -> tuple[str, int] | None:
    pid, version = side.policy.get("id"), side.policy.get("version")
    if isinstance(pid, str) and isinstance(version, int) and not isinstance(version, bool):
        return pid, version
    return None


def _figures(side: _Side, labelled: bool, at: str) -> dict[str, Any]:
    approve = next((o for o in side.outcomes if o.decision == "APPROVE"), None)
    problems = []
    if approve is None or approve.rate is None:
        problems.append(FieldError(field=f"{PREFIX}{at}outcomes", message="has no APPROVE rate"))
    if side.spend_per_1000 is None:
        problems.append(FieldError(field=f"{PREFIX}{at}spend_per_1000", message="is missing"))
    if problems:
        raise InvalidInput("invalid evidence", problems)
    assert approve is not None
    return {
        "approval_rate": approve.rate,
        "bad_rate": approve.bad_rate if labelled else None,
        "vendor_spend_per_1000": side.spend_per_1000,
    }


def evidence_from_report(raw: Mapping[str, Any], subject: tuple[str, int]) -> dict[str, Any]:
    """The minimal evidence document of a backtest report, with ``subject`` (the version under
    review) as the candidate; :class:`InvalidInput` naming ``evidence.*`` when the report does not
    compare ``subject`` with another policy."""
    try:
        report = _Report.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation_error("invalid evidence", exc, prefix=PREFIX) from None
    if report.comparison is None:
        raise InvalidInput("invalid evidence", [FieldError(
            field=f"{PREFIX}comparison",
            message="the backtest compares with no other policy: run `lendguard backtest --compare` "
                    "with the champion",
        )])  # fmt: skip
    main, other = _ref(report), _ref(report.comparison)
    named = f"{subject[0]} v{subject[1]}"
    if main == subject and other != subject:
        candidate, champion, where = report, report.comparison, ("", "comparison.")
    elif other == subject and main != subject:
        candidate, champion, where = report.comparison, report, ("comparison.", "")
    else:
        sides = " and ".join(f"{r[0]} v{r[1]}" if r else "an unnamed policy" for r in (main, other))
        raise InvalidInput("invalid evidence", [FieldError(
            field=f"{PREFIX}policy", message=f"the backtest compares {sides}, not {named} with another version",
        )])  # fmt: skip
    baseline = _ref(champion)
    assert baseline is not None
    source = report.data.get("source")
    return {
        "policy": {"id": subject[0], "version": subject[1]},
        "baseline": {"id": baseline[0], "version": baseline[1]},
        "data": str(source) if source else "",
        "rows": report.rows,
        "candidate": _figures(candidate, report.labelled, where[0]),
        "champion": _figures(champion, report.labelled, where[1]),
    }
