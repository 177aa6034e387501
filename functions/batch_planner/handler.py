"""Batch planner (statemachines/inloan.asl.json, postloan.asl.json)."""

from lendguard.batch.handlers import planner_handler as handler

__all__ = ["handler"]
