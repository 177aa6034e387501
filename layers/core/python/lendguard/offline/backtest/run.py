"""A backtest from rows to report: shards evaluated one by one, their aggregates merged.

Rows come from a :class:`RowSource`. :class:`DataFile` reads a CSV or Parquet table of
applications with their facts. Replaying past cases from the case archive (``--cases
FROM..TO``) is another source yielding the same typed frame (the stored application's facts,
list hits and the facts parsed from the stored vendor payloads); it plugs in here once the
archive exists, with rows lacking a fact the policy needs counted as not evaluable.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from lendguard.core.errors import InvalidInput
from lendguard.models.artifact import ModelArtifact
from lendguard.offline.backtest.aggregates import Aggregates, aggregate, merge_all
from lendguard.offline.backtest.compare import SwapAggregates, compare
from lendguard.offline.backtest.data import MESSAGE, Prepared, prepare, read_table
from lendguard.offline.backtest.evaluator import evaluate
from lendguard.offline.backtest.report import BacktestReport, build_report
from lendguard.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

SHARD_ROWS = 250_000
"""Rows evaluated at once: bounds memory, and is the unit a sharded batch run would hand out."""


class RowSource(Protocol):
    """Where a backtest's rows come from."""

    def describe(self) -> dict[str, Any]:
        """What the report says about the data (source, label)."""
        ...

    def load(self) -> pd.DataFrame:
        """The raw rows; raises :class:`InvalidInput` naming what is wrong."""
        ...


@dataclass(frozen=True)
class DataFile:
    """A CSV or Parquet table: one row per application, one column per fact."""

    path: Path

    def describe(self) -> dict[str, Any]:
        return {"source": str(self.path), "kind": "data file"}

    def load(self) -> pd.DataFrame:
        return read_table(self.path)


@dataclass(frozen=True)
class Candidate:
    """A policy under test with the model it scores with."""

    policy: Policy
    model: ModelArtifact


def prepare_all(
    raw: pd.DataFrame, base: Candidate, other: Candidate | None, label: str | None, bad: str | None
) -> tuple[Prepared, Prepared | None]:
    """Check the rows against both policies at once: every problem of either, in one error."""
    details = []
    prepared = other_prepared = None
    try:
        prepared = prepare(raw, base.policy, base.model, label, bad)
    except InvalidInput as exc:
        details += exc.details
    if other is not None:
        try:
            other_prepared = prepare(raw, other.policy, other.model, label, bad)
        except InvalidInput as exc:
            known = {(d.field, d.message) for d in details}
            details += [d for d in exc.details if (d.field, d.message) not in known]
    if details:
        raise InvalidInput(MESSAGE, details)
    assert prepared is not None
    return prepared, other_prepared


def shard_aggregates(
    base: Candidate,
    frame: pd.DataFrame,
    labels: Any,
    other: Candidate | None = None,
    other_frame: pd.DataFrame | None = None,
    now: datetime | None = None,
) -> tuple[Aggregates, Aggregates | None, SwapAggregates | None]:
    """One shard in, its partial aggregates out (the unit of a sharded run)."""
    ev = evaluate(base.policy, base.model, frame, now)
    agg = aggregate(ev, labels)
    if other is None:
        return agg, None, None
    ev_other = evaluate(other.policy, other.model, frame if other_frame is None else other_frame, now)
    return agg, aggregate(ev_other, labels), compare(ev, ev_other, labels)


def run_backtest(
    source: RowSource,
    base: Candidate,
    other: Candidate | None = None,
    label: str | None = None,
    bad: str | None = None,
    shard_rows: int = SHARD_ROWS,
    now: datetime | None = None,
) -> BacktestReport:
    """Check, evaluate shard by shard, merge, report. Raises :class:`InvalidInput` before any work."""
    raw = source.load()
    prepared, other_prepared = prepare_all(raw, base, other, label, bad)
    now = now or datetime.now(UTC)
    frame = prepared.frame
    parts = []
    for start in range(0, len(frame), shard_rows):
        stop = start + shard_rows
        labels = None if prepared.labels is None else prepared.labels[start:stop]
        other_frame = (
            None if other_prepared is None else other_prepared.frame.iloc[start:stop].reset_index(drop=True)
        )
        parts.append(
            shard_aggregates(
                base, frame.iloc[start:stop].reset_index(drop=True), labels, other, other_frame, now
            )
        )
    agg = merge_all(p[0] for p in parts)
    data = {**source.describe(), "rows": len(frame)}
    if label is not None:
        data |= {"label": label, "bad": bad, "good": prepared.good_value}
    comparison = None
    if other is not None:
        other_agg = merge_all(p[1] for p in parts if p[1] is not None)
        swaps = parts[0][2]
        for p in parts[1:]:
            assert swaps is not None and p[2] is not None
            swaps = swaps.merge(p[2])
        assert swaps is not None
        comparison = (other.policy, other_agg, swaps)
    return build_report(base.policy, agg, data, comparison)
