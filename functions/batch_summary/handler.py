"""Batch summary (statemachines/inloan.asl.json, postloan.asl.json)."""

from lendguard.batch.handlers import summary_handler as handler

__all__ = ["handler"]
