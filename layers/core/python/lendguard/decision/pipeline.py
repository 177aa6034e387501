"""All stages in one process with no AWS: benchmarks, backtests and unit tests of the flow.

The order comes from the stage registry (``lendguard.core.stages``), which the state machine
follows too; like it, the flow stops at the first reject.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from lendguard.core.application import Application
from lendguard.core.stages import STAGE_NAMES
from lendguard.core.trusted import trusted
from lendguard.decision.stages import (
    admission,
    decision,
    external_data,
    features,
    internal_data,
    lists,
    scoring,
    validate,
)
from lendguard.decision.stages.external_data import PayloadArchive
from lendguard.decision.state import DecisionState, StageTrace
from lendguard.internal.history import PastCase
from lendguard.internal.source import MemoryOwnDataRecords, OwnData, OwnDataReader
from lendguard.lists.entries import ListHit, ListLookup
from lendguard.models.artifact import ModelArtifact
from lendguard.policy.schema import Policy
from lendguard.vendors.base import ProviderRegistry

# Called after each stage with the stage's name and the state it hands on.
StageObserver = Callable[[str, DecisionState], None]


class MemoryLists:
    """A list lookup over a dict of (kind, key type, hash) → hit."""

    def __init__(self, entries: dict[tuple[str, str, str], ListHit] | None = None):
        self.entries = entries or {}

    def find(self, keys: list[tuple[str, str]], now: datetime) -> list[ListHit]:
        epoch = now.timestamp()
        found = []
        for kind in ("BLACK", "GREY", "WHITE"):
            for key_type, value_hash in keys:
                hit = self.entries.get((kind, key_type, value_hash))
                if hit is not None and (hit.expires_at is None or hit.expires_at > epoch):
                    found.append(hit)
        return found


class MemoryArchive:
    """Keeps raw payloads in memory (or drops them when ``keep`` is False)."""

    def __init__(self, keep: bool = False):
        self.keep = keep
        self.payloads: dict[str, bytes] = {}

    def put(self, case_id: str, vendor_id: str, payload: bytes) -> str:
        ref = f"memory://{case_id}/{vendor_id}"
        if self.keep:
            self.payloads[ref] = payload
        return ref


class Pipeline:
    """The decision flow in process."""

    def __init__(
        self, policy: Policy, model: ModelArtifact, secret: str, lookup: ListLookup | None = None,
        archive: PayloadArchive | None = None, providers: ProviderRegistry | None = None,
        own: OwnData | None = None,
    ):  # fmt: skip
        scoring.check_model_scale(policy, model)  # a policy that misreads its scorecard never runs
        self.policy, self.model, self.secret = policy, model, secret
        self.lookup = lookup or MemoryLists()
        self.archive = archive or MemoryArchive()
        self.providers = providers or ProviderRegistry()
        # Our own data in memory by default: decisions of one pipeline see each other's velocity.
        self.own = own or OwnDataReader(MemoryOwnDataRecords())

    def decide(
        self, app: Application, case_id: str, now: datetime, observe: StageObserver | None = None
    ) -> DecisionState:
        """Run every stage until one rejects, as the state machine does.

        ``observe(stage, state)`` is called after each stage with the state that would cross to
        the next Lambda (bench/decision.py times the stages and sizes the state with it).
        """
        policy = self.policy
        state = validate.open_case(app, policy, case_id, now, self.secret)
        self.own.record_opening(state.subject, case_id, now)
        if observe is not None:
            observe("validate", state)
        steps: dict[str, Callable[[DecisionState], DecisionState]] = {
            "admission": lambda s: admission.run(s, policy),
            "lists": lambda s: lists.run(s, policy, self.lookup, now),
            "internal_data": lambda s: internal_data.run(s, policy, self.own, now),
            "external_data": lambda s: external_data.run(s, policy, self.providers, self.archive),
            "features": lambda s: features.run(s, policy),
            "scoring": lambda s: scoring.run(s, policy, self.model),
            "decision": lambda s: decision.run(
                s, policy, now, decision.VendorAccess(self.providers, self.archive)
            ),
        }
        for name in STAGE_NAMES[1:]:  # validate opened the case above
            state = steps[name](state)
            state.trace.stages.append(
                trusted(
                    StageTrace, stage=name, elapsed_ms=0.0, outcome="reject" if state.halted else "continue"
                )
            )
            if observe is not None:
                observe(name, state)
            if state.halted:
                break
        self.own.record_decided(state.subject, PastCase.of(state))
        return state
