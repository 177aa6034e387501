"""The score baseline of the population a policy actually scores, saved with the model at training.

Online, only applications that pass the admission, list and vendor rules reach the Scoring
stage, so the daily monitor's score distribution is that of the *scored* population. Comparing it
with the score of every training row shows drift on a clean day (score PSI about 0.16 on the
synthetic data: the riskiest rows are thinner online by design). So the training rows are
decided with the policy (the backtest's column-wise evaluator, the same compiled rules as online)
and the model points of the rows it scores become the baseline's ``score``
(``score_sample = "scored"``). Feature baselines stay over every row: the monitor compares each
feature over every case that reached it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lendguard.models.artifact import BinnedDistribution, ModelArtifact
from lendguard.policy.schema import Policy

if TYPE_CHECKING:
    import pandas as pd

SCORE_BINS = 10


def with_scored_baseline(artifact: ModelArtifact, policy: Policy, rows: pd.DataFrame) -> ModelArtifact:
    """``artifact`` with its score baseline replaced by the points of the rows ``policy`` scores.

    ``rows`` are the training rows as fact columns (list facts absent are taken as no hit: the
    training data has no list entries, and own-data facts are a first-time applicant's: the
    training rows have no history with us). Raises ``ValueError`` when the policy scores no row.
    """
    from lendguard.decision.stages.lists import list_facts
    from lendguard.internal.source import first_time_facts
    from lendguard.offline.backtest.data import prepare
    from lendguard.offline.backtest.evaluator import evaluate

    frame = rows.copy(deep=False)
    for name, value in {**list_facts([]), **first_time_facts()}.items():
        if name not in frame:
            frame[name] = value
    evaluation = evaluate(policy, artifact, prepare(frame, policy, artifact).frame)
    points = evaluation.model_points[evaluation.scored]
    if len(points) == 0:
        raise ValueError(
            f"policy {policy.id} v{policy.version} scores none of the {len(frame)} training rows"
        )
    meta = artifact.metadata
    assert meta.baseline is not None
    baseline = meta.baseline.model_copy(
        update={
            "score": BinnedDistribution.from_values(points, SCORE_BINS),
            "score_sample": "scored",
            "score_n": len(points),
        }
    )
    return ModelArtifact(meta.model_copy(update={"baseline": baseline}), artifact.model_json)
