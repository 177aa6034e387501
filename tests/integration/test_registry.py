"""The model registry on S3 (moto) and in a directory: versions, metadata, immutability."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from lendguard.core.errors import Conflict, NotFound
from lendguard.models.artifact import METADATA_FILE, MODEL_FILE, ModelArtifact
from lendguard.models.registry import DirectoryRegistry
from lendguard.offline.training.tabular import read_training_csv, train_from_frame

DATA = Path(__file__).resolve().parents[1] / "data" / "germancredit.csv"
BUCKET = "lendguard-test-artifacts"


@pytest.fixture(scope="module")
def models() -> dict[str, ModelArtifact]:
    frame = read_training_csv(DATA)
    small = {"num_boost_round": 20}
    return {
        "xgb": train_from_frame(frame, "creditability", model_id="gc-xgb", params=small).artifact,
        "xgb2": train_from_frame(
            frame, "creditability", model_id="gc-xgb", version=2, seed=7, params=small
        ).artifact,
        "sc": train_from_frame(frame, "creditability", kind="scorecard", model_id="gc-sc").artifact,
    }


@pytest.fixture
def s3(monkeypatch):
    from moto import mock_aws

    from lendguard import deployment
    from lendguard.store import artifacts, aws

    monkeypatch.setenv(deployment.ENV_ARTIFACTS_BUCKET, BUCKET)
    with mock_aws():
        aws.reset_clients()  # clients made before the mock would talk to no one
        artifacts.clear_caches()
        aws.client("s3").create_bucket(Bucket=BUCKET)
        yield aws.client("s3")
    aws.reset_clients()
    artifacts.clear_caches()


@pytest.fixture(params=["s3", "directory"])
def registry(request, tmp_path):
    if request.param == "s3":
        request.getfixturevalue("s3")
        from lendguard.store.model_registry import S3ModelRegistry

        return S3ModelRegistry()
    return DirectoryRegistry(tmp_path / "registry")


def test_register_list_and_load_versions(registry, models) -> None:
    assert registry.model_ids() == [] and registry.listing() == [] and registry.latest("gc-xgb") is None
    for key in ("xgb", "xgb2", "sc"):
        registry.register(models[key])
    assert registry.model_ids() == ["gc-sc", "gc-xgb"]
    assert registry.versions("gc-xgb") == [1, 2] and registry.latest("gc-xgb") == 2
    assert registry.next_version("gc-xgb") == 3 and registry.next_version("new-model") == 1
    listing = registry.listing()
    assert [(v.model_id, v.version, v.kind) for v in listing] == [
        ("gc-sc", 1, "scorecard"), ("gc-xgb", 1, "xgboost"), ("gc-xgb", 2, "xgboost"),
    ]  # fmt: skip
    assert listing[0].metrics == models["sc"].metadata.metrics
    assert registry.metadata("gc-xgb", 2) == models["xgb2"].metadata
    loaded = registry.load("gc-sc", 1)
    assert loaded == models["sc"] and loaded.scorecard() == models["sc"].scorecard()
    assert registry.resolve("gc-xgb", None) == 2


def test_versions_are_immutable(registry, models) -> None:
    registry.register(models["xgb"])
    with pytest.raises(Conflict, match=r"already registered.*next free version: 2"):
        registry.register(models["xgb"])
    with pytest.raises(NotFound, match="not registered"):
        registry.load("gc-xgb", 9)
    with pytest.raises(NotFound, match="registered: gc-xgb"):
        registry.resolve("nope", None)


def test_a_model_the_online_scorer_cannot_use_is_refused(registry, models) -> None:
    meta = models["xgb"].metadata
    renamed = meta.model_copy(update={"features": list(reversed(meta.features)), "model_sha256": None})
    with pytest.raises(ValueError, match="differ from the metadata"):
        registry.register(ModelArtifact(renamed, models["xgb"].model_json))
    with pytest.raises(ValueError, match="invalid"):
        registry.register(
            ModelArtifact(meta.model_copy(update={"model_id": "../escape"}), models["xgb"].model_json)
        )
    assert registry.model_ids() == []


def test_an_incomplete_version_is_invisible(s3, models) -> None:
    from lendguard.store.model_registry import S3ModelRegistry

    s3.put_object(Bucket=BUCKET, Key="models/gc-xgb/v1/model.json", Body=models["xgb"].model_json)
    registry = S3ModelRegistry()
    assert registry.versions("gc-xgb") == [] and registry.model_ids() == []
    # completing the interrupted registration with the same bytes works ...
    registry.register(models["xgb"])
    assert registry.versions("gc-xgb") == [1]


def test_concurrent_registrations_of_one_version_cannot_mix_bytes(s3, models) -> None:
    from lendguard.store.model_registry import S3ModelRegistry

    other = models["xgb2"].metadata.model_copy(update={"version": 1})
    s3.put_object(Bucket=BUCKET, Key="models/gc-xgb/v1/model.json", Body=models["xgb2"].model_json)
    with pytest.raises(Conflict, match="different bytes"):
        S3ModelRegistry().register(models["xgb"])
    assert S3ModelRegistry().versions("gc-xgb") == []
    S3ModelRegistry().register(ModelArtifact(other, models["xgb2"].model_json))  # the writer that won
    assert S3ModelRegistry().load("gc-xgb", 1).model_json == models["xgb2"].model_json


def test_the_scoring_function_reads_registered_versions(s3, models) -> None:
    from lendguard.store import artifacts

    artifacts.S3ModelRegistry().register(models["sc"])
    loaded = artifacts.get_model("gc-sc", 1)
    assert loaded == models["sc"] and artifacts.get_model("gc-sc", 1) is loaded  # cached per container
    assert s3.head_object(Bucket=BUCKET, Key=f"models/gc-sc/v1/{METADATA_FILE}")["ContentLength"] > 0
    assert s3.head_object(Bucket=BUCKET, Key=f"models/gc-sc/v1/{MODEL_FILE}")["ContentLength"] > 0
    with pytest.raises(NotFound):
        artifacts.get_model("gc-sc", 2)


def test_directory_registry_layout_matches_the_bucket(tmp_path, models) -> None:
    registry = DirectoryRegistry(tmp_path)
    where = registry.register(models["sc"])
    assert Path(where) == tmp_path / "models" / "gc-sc" / "v1"
    assert sorted(p.name for p in Path(where).iterdir()) == [METADATA_FILE, MODEL_FILE]
    (tmp_path / "models" / "gc-sc" / "v2").mkdir()  # a stray folder without metadata
    (tmp_path / "models" / "junk!").mkdir()
    assert registry.versions("gc-sc") == [1] and registry.model_ids() == ["gc-sc"]
    assert registry.metadata("gc-sc", 1).trained_at <= datetime.now(UTC)
