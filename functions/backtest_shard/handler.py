"""Backtest shard (statemachines/backtest.asl.json)."""

from lendguard.offline.backtest.handlers import shard_handler as handler

__all__ = ["handler"]
