"""Backtest summary (statemachines/backtest.asl.json)."""

from lendguard.offline.backtest.handlers import summary_handler as handler

__all__ = ["handler"]
