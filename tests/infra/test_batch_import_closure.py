"""The batch functions never need pandas, scikit-learn or xgboost.

Their layers are core + deps + batch (pyarrow, pruned): 196 MB of Lambda's 250 MB, so pandas
cannot ship. In a fresh interpreter where importing those packages fails (a meta-path finder
refuses them), the three batch handlers are imported as Lambda imports them, and the shard's work
is done the way ``lendguard.batch.shard`` does it: the real in-loan and post-loan jobs score a
snapshot read from Parquet with the committed book models, apply their actions to an in-memory
account store and summarise. Many imports in the book package are made inside functions, so
importing alone would prove nothing: the closure is what runs.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from import_closure import run_closure

BLOCKED = ("pandas", "sklearn", "xgboost")
AS_OF = date(2026, 11, 1)

HANDLERS = ("batch_planner", "batch_shard", "batch_summary")
BODY = """
    from datetime import date

    from lendguard.batch import parquet
    from lendguard.book.jobs import JOBS, JobContext
    from lendguard.book.memory import MemoryAccountStore
    from lendguard.models.artifact import ModelArtifact
    from lendguard.policy.loader import load_policy
    from lendguard.store.events import RecordingPublisher

    policy = load_policy(root / "policies" / "default.yaml")
    table = parquet.from_bytes(Path(args[0]).read_bytes())
    counts = {}
    for name, section in (("inloan", policy.in_loan), ("postloan", policy.post_loan)):
        ref = section.model
        model = ModelArtifact.load(root / "tests" / "data" / "models" / ref.id / f"v{ref.version}")
        ctx = JobContext(job=name, run_id="closure", run_date=date.fromisoformat(args[1]), policy=policy,
                         model=model)
        actions = JOBS[name].score(table, ctx)
        applied = JOBS[name].apply(actions, ctx, MemoryAccountStore(), RecordingPublisher())
        counts[name] = {"rows": actions.num_rows, "summary": JOBS[name].summarise(actions), "applied": applied}
    report = {"counts": counts}
"""


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A seeded synthetic book's snapshot (columns only), as the planner writes a shard."""
    from lendguard.batch import parquet
    from lendguard.offline.book_synthetic import book_table

    path = tmp_path_factory.mktemp("closure") / "shard-0.parquet"
    path.write_bytes(parquet.to_bytes(book_table(400, 3, AS_OF, labels=False)))
    return path


def test_batch_handlers_and_the_shards_work_run_without_pandas_sklearn_or_xgboost(snapshot: Path) -> None:
    report = run_closure(BLOCKED, HANDLERS, BODY, str(snapshot), AS_OF.isoformat())
    # A refused probe that the caller survives (pyarrow looks for pandas) is no dependency.
    assert report["heavy"] == [], report["attempted"]
    for job in ("inloan", "postloan"):
        assert report["counts"][job]["rows"] == 400
        assert sum(report["counts"][job]["summary"]["by_action"].values()) == 400
