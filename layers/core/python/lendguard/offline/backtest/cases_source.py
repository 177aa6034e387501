"""Backtest rows from the case archive (``lendguard backtest --cases FROM..TO``).

One row per archived case received in the window: its application facts, list facts and the
facts parsed from its vendors' payloads, exactly as the original flow derived them (the
archive's derived part). A fact is *missing* when the flow asked and got nothing (a vendor
fault): the policy's ``on_missing`` applies, as it did online. A fact is *unknown* when the
flow never asked (an earlier stage rejected, so the lists were never looked up or a vendor
never paid for): such a case is not evaluable for a policy that needs the fact, and is
counted with the unknown facts named, never guessed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from lendguard.core.errors import FieldError, InvalidInput, NotFound
from lendguard.core.facts import APPLICATION_FACTS, CUSTOMER_FACTS, INTERNAL_FACTS, LIST_FACTS
from lendguard.offline.backtest.data import ID_COLUMN
from lendguard.offline.backtest.facts import fact_types, required_facts
from lendguard.offline.backtest.run import Candidate

if TYPE_CHECKING:
    import pandas as pd

    from lendguard.cases.archive import ArchivedCase, ArchiveHeader

SHOWN_CASES = 100  # not-evaluable cases listed by id in the report (all are counted)


def parse_window(text: str, option: str = "--cases") -> tuple[datetime, datetime]:
    """``FROM..TO``, each an ISO date (the whole day, UTC) or a time with an offset."""

    def when(raw: str, end: bool) -> datetime:
        if len(raw) == 10:
            day = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=UTC)
            return day + timedelta(days=1, microseconds=-1) if end else day
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        if value.tzinfo is None:
            raise ValueError("a time needs a UTC offset")
        return value

    start, sep, stop = text.partition("..")
    try:
        if not sep:
            raise ValueError("missing '..'")
        window = when(start.strip(), False), when(stop.strip(), True)
    except ValueError as exc:
        raise InvalidInput(
            "the backtest cannot run",
            [FieldError(field=option, message=f"must be FROM..TO (e.g. 2026-11-01..2026-11-30): {exc}")],
        ) from None
    if window[0] > window[1]:
        raise InvalidInput("the backtest cannot run", [FieldError(field=option, message="FROM is after TO")])
    return window


def unknown_facts(record: ArchivedCase, asked: set[str] | None, needed: list[str]) -> list[str]:
    """The facts in ``needed`` the case's flow never acquired (not evaluable when non-empty).

    ``asked``: the vendor ids the flow called (whatever the answer); None when the case record
    is gone, and then a vendor counts as asked only if its payload was archived.
    """
    assert record.derived is not None
    facts = record.derived.facts
    if asked is None:
        asked = set(record.derived.vendor_payloads)
    lists_ran = any(name in facts for name in LIST_FACTS)
    # InternalData always sets customer.features_fresh: its facts are known where it ran.
    own_ran = "customer.features_fresh" in facts
    out = []
    for name in needed:
        head = name.split(".", 1)[0]
        if name in LIST_FACTS and not lists_ran:
            out.append(name)
        elif name in INTERNAL_FACTS or name in CUSTOMER_FACTS:
            if not own_ran:
                out.append(name)
        elif name not in APPLICATION_FACTS and name not in LIST_FACTS and head not in asked:
            out.append(name)  # a vendor's fact (``<vendor id>.<field>``) the flow never asked for
    return out


@dataclass
class ArchivedCases:
    """A :class:`~lendguard.offline.backtest.run.RowSource` over the case archive.

    ``candidates`` are the policies under test: a case must be evaluable for all of them (a
    comparison is on the same rows).
    """

    start: datetime
    stop: datetime
    candidates: list[Candidate]
    not_evaluable: list[dict[str, Any]] = field(default_factory=list)
    failed: int = 0
    erased: int = 0
    seen: int = 0

    def describe(self) -> dict[str, Any]:
        missing = Counter(f for case in self.not_evaluable for f in case["unknown"])
        return {
            "source": f"cases {self.start.isoformat()}..{self.stop.isoformat()}",
            "kind": "case archive",
            "cases_in_window": self.seen,
            "not_evaluable": len(self.not_evaluable),
            "not_evaluable_facts": dict(sorted(missing.items())),
            "not_evaluable_cases": self.not_evaluable[:SHOWN_CASES],
            "failed_cases": self.failed,
            "erased_cases": self.erased,
        }

    def load(self) -> pd.DataFrame:
        from lendguard.store import archive

        headers = [h for h in archive.iter_headers(self.start) if self.start <= h.received_at <= self.stop]
        return self.frame(self.read(headers))

    def columns(self) -> tuple[list[str], list[str]]:
        """(facts needed by any candidate, every fact column a candidate's data may carry)."""
        needed = sorted({n for c in self.candidates for n in required_facts(c.policy, c.model)})
        columns: dict[str, None] = {}
        for c in self.candidates:
            columns |= dict.fromkeys(fact_types(c.policy))
        return needed, list(columns)

    def read(self, headers: Iterable[ArchiveHeader]) -> list[dict[str, Any]]:
        """The rows of the evaluable cases among ``headers`` (in their order); the rest are counted.

        A sharded backtest calls this once per shard of the window's headers, so the counts and
        the not-evaluable list of the shards add up to those of one pass.
        """
        from lendguard.store import archive, cases

        needed, columns = self.columns()
        rows = []
        for header in headers:
            self.seen += 1
            if header.status == "FAILED":
                self.failed += 1  # no decision to compare with, and its data stops mid-flow
                continue
            record = archive.get_archive(header.case_id, personal=False)
            if record.derived is None:
                self.erased += 1
                continue
            try:
                case = cases.get_case(header.case_id)
                asked = {v.vendor for v in case.trace.vendors} if case.trace else set()
            except NotFound:
                asked = None
            unknown = unknown_facts(record, asked, needed)
            if unknown:
                self.not_evaluable.append({"case_id": header.case_id, "unknown": unknown})
                continue
            facts = record.derived.facts
            rows.append(
                {ID_COLUMN: header.application_id, **{n: facts.get(n) for n in columns if n in facts}}
            )
        return rows

    def frame(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        """The rows as the typed frame a backtest reads; :class:`InvalidInput` when there are none."""
        import pandas as pd

        if not rows:
            raise InvalidInput(
                "the backtest cannot run",
                [FieldError(field="--cases", message=(
                    f"no evaluable case in the window ({self.seen} received, {len(self.not_evaluable)} "
                    f"not evaluable, {self.failed} failed, {self.erased} erased)"))],
            )  # fmt: skip
        needed, columns = self.columns()
        frame = pd.DataFrame(rows)
        # A fact no case of the window has (every flow met a vendor fault) is a missing value.
        return frame.reindex(columns=[ID_COLUMN, *[n for n in columns if n in frame or n in needed]])
