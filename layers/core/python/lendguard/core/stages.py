"""The stage registry: the single source of the decision flow's stages and their order.

Everything that depends on the order derives from :data:`STAGES`: the stage functions'
wiring (``lendguard.decision.wiring``), the in-process pipeline, the policy loader's check that
a rule reads only facts its stage has, the demo's funnel, the metrics (each rule counted once,
in its own section), and a test that holds ``statemachines/decision.asl.json`` to it.

A stage runs the rules of its *sections*. A section is the label a rule's trace entry carries
(``RuleTrace.stage``): ``admission``, ``lists``, ``internal_data``, ``vendor:<group id>`` (one per vendor group,
inside ExternalData) and ``post_model`` (inside Decision).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Provides(StrEnum):
    """Which facts become known when a stage runs (before its own rules are evaluated)."""

    APPLICATION = "application"
    LISTS = "lists"
    INTERNAL = "internal"  # own data: velocity, history, loans, precomputed customer features
    VENDORS = "vendors"  # group by group: a group's rules see its own vendors and earlier ones
    FEATURES = "features"
    SCORE = "score"


@dataclass(frozen=True)
class Stage:
    """One stage of the decision flow: one Lambda function and one Task state."""

    name: str  # trace name, function folder and ``deployment.FunctionSpec.name``
    state: str  # the Task state's name in the ASL
    may_reject: bool  # a Choice after it ends the flow on a reject
    sections: tuple[str, ...] = ()  # rule sections it runs, in order (policy attributes)
    provides: Provides | None = None

    @property
    def choice(self) -> str | None:
        """The Choice state that follows a stage that may reject."""
        return f"{self.state}Rejected?" if self.may_reject else None


VENDOR_SECTION = "vendor"  # trace label prefix: "vendor:<group id>"

STAGES: tuple[Stage, ...] = (
    Stage("validate", "Validate", may_reject=False, provides=Provides.APPLICATION),
    Stage("admission", "Admission", may_reject=True, sections=("admission",)),
    Stage("lists", "Lists", may_reject=True, sections=("lists",), provides=Provides.LISTS),
    # Own data before anyone else's: free, so it runs before any vendor is paid (the cost funnel).
    Stage(
        "internal_data",
        "InternalData",
        may_reject=True,
        sections=("internal_data",),
        provides=Provides.INTERNAL,
    ),
    Stage(
        "external_data",
        "ExternalData",
        may_reject=True,
        sections=("vendor_groups",),
        provides=Provides.VENDORS,
    ),
    Stage("features", "Features", may_reject=False, provides=Provides.FEATURES),
    Stage("scoring", "Scoring", may_reject=False, provides=Provides.SCORE),
    Stage("decision", "Decision", may_reject=False, sections=("post_model",)),
)
STAGE_NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME: dict[str, Stage] = {s.name: s for s in STAGES}
# After the last stage the case is written; a stage error anywhere is recorded as a FAILED case.
FINALIZE_STATE = "Finalize"
FAILURE_STATE = "RecordFailure"


def section_of(trace_stage: str) -> str:
    """The policy section of a rule trace label (``vendor:antifraud`` → ``vendor_groups``)."""
    return "vendor_groups" if trace_stage.split(":", 1)[0] == VENDOR_SECTION else trace_stage


def stage_of_section(section: str) -> Stage:
    """The stage that runs a rule section."""
    for stage in STAGES:
        if section in stage.sections:
            return stage
    raise KeyError(section)


def rejecting_stages() -> tuple[str, ...]:
    """Stages at which the flow can stop early, in order (the funnel's steps)."""
    return tuple(s.name for s in STAGES if s.may_reject)
