"""Errors a batch run fails with; their class names are the Step Functions error names."""

from __future__ import annotations

from lendguard.core.errors import Conflict


class SnapshotMissing(RuntimeError):
    """The snapshot (or one of its shards) is not where the run expects it."""


class SnapshotLate(RuntimeError):
    """The snapshot is older than the run date: the export for that day has not landed."""


class BatchRunInProgress(Conflict):
    """Another execution holds the run of this (job, run date)."""


class BatchRunFailed(RuntimeError):
    """More shards failed than the machine tolerates, or the map itself failed."""
