"""The internal_data stage of the decision flow (see lendguard.core.stages and lendguard.decision.wiring)."""

from lendguard.decision.handlers import stage_handler

handler = stage_handler("internal_data")
