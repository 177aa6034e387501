"""Where a run's objects live in the data bucket: ``batch/<run id>/...``."""

from __future__ import annotations

PREFIX = "batch/"


def run_prefix(run_id: str) -> str:
    return f"{PREFIX}{run_id}/"


def manifest_key(run_id: str) -> str:
    """The shard manifest the Distributed Map reads (a JSON array of shard items)."""
    return f"{run_prefix(run_id)}manifest.json"


def snapshot_key(run_id: str, shard: int) -> str:
    return f"{run_prefix(run_id)}snapshot/shard-{shard:05d}.parquet"


def results_key(run_id: str, shard: int) -> str:
    """The shard's actions (Parquet, one row per account)."""
    return f"{run_prefix(run_id)}results/shard-{shard:05d}.parquet"


def shard_done_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}done/"


def shard_done_key(run_id: str, shard: int) -> str:
    """Written last by a shard, after its results and their application: the proof it finished."""
    return f"{shard_done_prefix(run_id)}shard-{shard:05d}.json"


def summary_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}summary.json"
