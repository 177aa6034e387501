"""Where a run's objects live in the data bucket: ``batch/<run id>/...``."""

from __future__ import annotations

PREFIX = "batch/"


def run_prefix(run_id: str) -> str:
    return f"{PREFIX}{run_id}/"


def shard_key(run_id: str, folder: str, shard: int, extension: str) -> str:
    """``batch/<run id>/<folder>/shard-<shard, 5 digits>.<extension>``: every per-shard object's name."""
    return f"{run_prefix(run_id)}{folder}/shard-{shard:05d}.{extension}"


def manifest_key(run_id: str) -> str:
    """The shard manifest the Distributed Map reads (a JSON array of shard items)."""
    return f"{run_prefix(run_id)}manifest.json"


def snapshot_key(run_id: str, shard: int) -> str:
    return shard_key(run_id, "snapshot", shard, "parquet")


def results_key(run_id: str, shard: int) -> str:
    """The shard's actions (Parquet, one row per account)."""
    return shard_key(run_id, "results", shard, "parquet")


DONE_FOLDER = "done"


def shard_done_prefix(run_id: str) -> str:
    return f"{run_prefix(run_id)}{DONE_FOLDER}/"


def shard_done_key(run_id: str, shard: int) -> str:
    """Written last by a shard, after its results and their application: the proof it finished."""
    return shard_key(run_id, DONE_FOLDER, shard, "json")


def summary_key(run_id: str) -> str:
    return f"{run_prefix(run_id)}summary.json"
