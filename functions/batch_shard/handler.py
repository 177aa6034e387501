"""Batch shard (statemachines/inloan.asl.json, postloan.asl.json)."""

from lendguard.batch.handlers import shard_handler as handler

__all__ = ["handler"]
