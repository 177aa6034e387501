"""Backtest planner (statemachines/backtest.asl.json)."""

from lendguard.offline.backtest.handlers import planner_handler as handler

__all__ = ["handler"]
