"""The model registry in the artifacts bucket (see :mod:`lendguard.models.registry` for the rules).

Offline tools (``lendguard models``) list and register models through it; online functions only
load the pinned version (:func:`lendguard.store.artifacts.get_model`), so this module, and the
model modules it needs, stay out of their import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lendguard.core.errors import Conflict, NotFound
from lendguard.models.registry import ModelRegistry, check_model_id, parse_version_dir
from lendguard.settings import settings
from lendguard.store.artifacts import model_prefix
from lendguard.store.aws import client

if TYPE_CHECKING:
    from lendguard.models.artifact import ModelArtifact, ModelMetadata


class S3ModelRegistry(ModelRegistry):
    """The model registry in the artifacts bucket (``bucket`` defaults to the function's one).

    Registration is safe against concurrent writers: both objects are written with
    ``If-None-Match: *``, so of two registrations of one version with different bytes exactly one
    wins; repeating an interrupted registration of the same bytes completes it.
    """

    def __init__(self, bucket: str | None = None) -> None:
        self.bucket = bucket or settings.artifacts_bucket

    @property
    def location(self) -> str:
        return f"s3://{self.bucket}/models/"

    def _prefixes(self, prefix: str) -> list[str]:
        pages = (
            client("s3")
            .get_paginator("list_objects_v2")
            .paginate(Bucket=self.bucket, Prefix=prefix, Delimiter="/")
        )
        return [cp["Prefix"][len(prefix) : -1] for page in pages for cp in page.get("CommonPrefixes", [])]

    def _keys(self, prefix: str) -> list[str]:
        pages = client("s3").get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def model_ids(self) -> list[str]:
        return sorted(i for i in self._prefixes("models/") if self._is_id(i) and self.versions(i))

    @staticmethod
    def _is_id(name: str) -> bool:
        try:
            check_model_id(name)
        except ValueError:
            return False
        return True

    def versions(self, model_id: str) -> list[int]:
        from lendguard.models.artifact import METADATA_FILE

        prefix = f"models/{check_model_id(model_id)}/"
        found = set()
        for key in self._keys(prefix):
            head, _, name = key[len(prefix) :].partition("/")
            version = parse_version_dir(head)
            if version is not None and name == METADATA_FILE:
                found.add(version)
        return sorted(found)

    def _get(self, model_id: str, version: int, name: str) -> bytes:
        s3 = client("s3")
        try:
            return s3.get_object(Bucket=self.bucket, Key=model_prefix(model_id, version) + name)[
                "Body"
            ].read()
        except s3.exceptions.NoSuchKey:
            raise NotFound(f"model {model_id} v{version} is not registered in {self.location}") from None

    def metadata(self, model_id: str, version: int) -> ModelMetadata:
        from lendguard.models.artifact import METADATA_FILE, ModelMetadata

        return ModelMetadata.model_validate_json(self._get(check_model_id(model_id), version, METADATA_FILE))

    def load(self, model_id: str, version: int) -> ModelArtifact:
        from lendguard.models.artifact import METADATA_FILE, MODEL_FILE, ModelArtifact

        check_model_id(model_id)
        metadata = self._get(model_id, version, METADATA_FILE)  # first: it marks the version complete
        return ModelArtifact.from_files(
            {METADATA_FILE: metadata, MODEL_FILE: self._get(model_id, version, MODEL_FILE)}
        )

    def _store(self, artifact: ModelArtifact) -> str:
        from lendguard.models.artifact import METADATA_FILE, MODEL_FILE

        meta = artifact.metadata
        prefix = model_prefix(meta.model_id, meta.version)
        files = artifact.to_files()
        s3 = client("s3")
        for name in (MODEL_FILE, METADATA_FILE):  # metadata last: it marks the version complete
            try:
                s3.put_object(Bucket=self.bucket, Key=prefix + name, Body=files[name], IfNoneMatch="*")
            except s3.exceptions.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") not in (
                    "PreconditionFailed",
                    "ConditionalRequestConflict",
                ):
                    raise
                existing = s3.get_object(Bucket=self.bucket, Key=prefix + name)["Body"].read()
                if existing != files[name]:
                    raise Conflict(
                        f"model {meta.model_id} v{meta.version}: s3://{self.bucket}/{prefix}{name} already "
                        "holds different bytes (registered concurrently, or an earlier attempt was left "
                        "incomplete); register under another version"
                    ) from None
        return f"s3://{self.bucket}/{prefix}"
