"""Batch starter: EventBridge Scheduler's target, starting inloan / postloan named from (job, run date)."""

from lendguard.batch.starter import starter_handler as handler

__all__ = ["handler"]
