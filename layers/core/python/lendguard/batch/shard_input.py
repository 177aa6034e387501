"""What a shard function (batch or backtest) reads first: its manifest item's object, checked.

A shard whose object is missing, or holds another count of rows than the manifest says, fails
with :class:`SnapshotMissing` (its Step Functions error name) rather than computing a wrong part.
"""

from __future__ import annotations

from lendguard.batch.errors import SnapshotMissing
from lendguard.batch.model import ShardItem


def read_shard(run_id: str, item: ShardItem, what: str) -> bytes:
    """The bytes at ``item.key``; :class:`SnapshotMissing` (naming ``what`` was expected) if absent."""
    from lendguard.store import batch_objects

    body = batch_objects.get(item.key)
    if body is None:
        raise SnapshotMissing(f"shard {item.shard} of run {run_id}: no {what} at {item.key}")
    return body


def check_rows(run_id: str, item: ShardItem, found: int, unit: str) -> None:
    """:class:`SnapshotMissing` unless the shard held the ``item.rows`` the manifest promised."""
    if found != item.rows:
        raise SnapshotMissing(
            f"shard {item.shard} of run {run_id}: {found} {unit}, the manifest says {item.rows}"
        )
