"""Personal data in the template: who may open the case archive, keys at rest, retention, tracing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name
from infra.settings import load_config
from infra.stacks.lendguard_stack import (
    ARCHIVE_FACT_READERS,
    ARCHIVE_PREFIXES,
    ARCHIVE_READERS,
    ARCHIVE_WRITERS,
    function_name,
)
from lendguard import deployment


class Synth:
    def __init__(self, env_name: str, outdir: Path) -> None:
        self.env_name, self.config = env_name, load_config(env_name)
        app = build_app(env_name, bundle=False, outdir=str(outdir),
                        context={"@aws-cdk/core:failSynthOnValidationErrors": False})  # fmt: skip
        self.json = Template.from_stack(app.node.find_child(stack_name(env_name))).to_json()

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.json["Resources"].items() if v["Type"] == type_}

    def key_id(self, alias_suffix: str) -> str:
        (alias,) = [a for a in self.resources("AWS::KMS::Alias").values()
                    if a["Properties"]["AliasName"].endswith(alias_suffix)]  # fmt: skip
        return alias["Properties"]["TargetKeyId"]["Fn::GetAtt"][0]

    def function(self, spec: deployment.FunctionSpec) -> dict[str, Any]:
        name = function_name(self.env_name, spec)
        (fn,) = [
            f
            for f in self.resources("AWS::Lambda::Function").values()
            if f["Properties"].get("FunctionName") == name
        ]
        return fn

    def statements(self, spec: deployment.FunctionSpec) -> list[dict[str, Any]]:
        role = self.function(spec)["Properties"]["Role"]["Fn::GetAtt"][0]
        return [st for p in self.resources("AWS::IAM::Policy").values() if {"Ref": role} in p["Properties"]["Roles"]
                for st in p["Properties"]["PolicyDocument"]["Statement"]]  # fmt: skip


def _actions(st: dict[str, Any]) -> set[str]:
    return {st["Action"]} if isinstance(st["Action"], str) else set(st["Action"])


def _on(st: dict[str, Any], logical_id: str) -> bool:
    return f"'{logical_id}'" in repr(st["Resource"])


@pytest.fixture(scope="module", params=["dev", "prod"])
def synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return Synth(request.param, tmp_path_factory.mktemp(f"pd-{request.param}"))


def _derived_only(statement: dict[str, Any]) -> bool:
    condition = statement.get("Condition") or {}
    return condition.get("StringEquals", {}).get("kms:EncryptionContext:lendguard:data_class") == "derived"


def test_only_the_functions_that_need_clear_data_may_decrypt_the_archive(synth: Synth) -> None:
    archive_key = synth.key_id("-case-archive")
    readers, derived_readers = set(), set()
    for spec in deployment.ALL_FUNCTIONS:
        on_key = [st for st in synth.statements(spec) if _on(st, archive_key)]
        actions = set().union(*(_actions(st) for st in on_key)) if on_key else set()
        assert actions <= {"kms:Decrypt", "kms:GenerateDataKey"}, (spec.name, actions)
        decrypts = [st for st in on_key if "kms:Decrypt" in _actions(st)]
        if decrypts and all(_derived_only(st) for st in decrypts):
            derived_readers.add(spec.name)
        elif decrypts:
            readers.add(spec.name)
        assert ("kms:GenerateDataKey" in actions) == (spec.name in ARCHIVE_WRITERS), spec.name
        env = synth.function(spec)["Properties"]["Environment"]["Variables"]
        assert (deployment.ENV_ARCHIVE_KEY in env) == (
            spec.name in (*ARCHIVE_WRITERS, *ARCHIVE_READERS, *ARCHIVE_FACT_READERS)
        )
    assert readers == set(ARCHIVE_READERS) == {"api"}
    # the monitor opens archived facts only: the encryption context must name the derived part
    assert derived_readers == set(ARCHIVE_FACT_READERS) == {"monitor"}
    # Nobody gets kms:Decrypt on any key without a condition, except the archive readers.
    for spec in deployment.ALL_FUNCTIONS:
        for st in synth.statements(spec):
            if "kms:Decrypt" in _actions(st) and not _on(st, archive_key):
                assert "kms:ViaService" in repr(st.get("Condition")), (spec.name, st)


def test_the_archive_key_rotates_and_keys_at_rest_follow_the_config(synth: Synth) -> None:
    keys = synth.resources("AWS::KMS::Key")
    assert keys[synth.key_id("-case-archive")]["Properties"]["EnableKeyRotation"] is True
    tables = synth.resources("AWS::DynamoDB::Table").values()
    buckets = [b for k, b in synth.resources("AWS::S3::Bucket").items() if k in deployment.BUCKETS]
    groups = synth.resources("AWS::Logs::LogGroup").values()
    if synth.config.customer_managed_keys:
        data_key = synth.key_id("-data")
        assert all(t["Properties"]["SSESpecification"]["KMSMasterKeyId"] == {"Fn::GetAtt": [data_key, "Arn"]}
                   for t in tables)  # fmt: skip
        for b in buckets:
            rule = b["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
            assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert groups and all(
            g["Properties"]["KmsKeyId"] == {"Fn::GetAtt": [data_key, "Arn"]} for g in groups
        )
    else:
        aliases = [a["Properties"]["AliasName"] for a in synth.resources("AWS::KMS::Alias").values()]
        assert not any(a.endswith("-data") for a in aliases)
        assert all("KmsKeyId" not in g["Properties"] for g in groups)


def test_retention_per_data_class_is_enforced_by_lifecycle_rules_and_ttl(synth: Synth) -> None:
    bucket = synth.resources("AWS::S3::Bucket")["DataBucket"]["Properties"]
    rules = {
        r["Prefix"]: r["ExpirationInDays"] for r in bucket["LifecycleConfiguration"]["Rules"] if "Prefix" in r
    }
    retention = synth.config.retention
    assert rules == {
        "raw/": synth.config.raw_payload_retention_days,
        **{prefix: getattr(retention, field) for field, prefix in ARCHIVE_PREFIXES.items()},
    }
    assert retention.decision_days == max(rules.values())  # the decision is kept longest
    cases = synth.resources("AWS::DynamoDB::Table")["CasesTable"]["Properties"]
    assert cases["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    finalize = synth.function(next(s for s in deployment.ALL_FUNCTIONS if s.name == "finalize"))
    env = finalize["Properties"]["Environment"]["Variables"]
    assert env[deployment.ENV_DECISION_RETENTION_DAYS] == str(retention.decision_days)


def test_the_tracer_never_captures_responses_or_errors(synth: Synth) -> None:
    for spec in deployment.ALL_FUNCTIONS:
        env = synth.function(spec)["Properties"]["Environment"]["Variables"]
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false", spec.name
        assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false", spec.name
