"""The stack with the console on is cdk-nag clean: what can be fixed is (access logs of the
distribution and of both console buckets), the rest is acknowledged finding by finding with its
reason. Synthesized both as a test builds it and as the CDK CLI does (region and account set)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from aws_cdk.assertions import Template

from infra.app import build_app, stack_name
from infra.settings import EnvConfig, load_config

LOCATED = {"CDK_DEFAULT_REGION": "ap-southeast-1", "CDK_DEFAULT_ACCOUNT": "123456789012"}


def synth(
    outdir: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], **changes: Any
) -> tuple[Template, dict]:
    import infra.app

    config: EnvConfig = load_config("dev").model_copy(update={"console_enabled": True, **changes})
    monkeypatch.setattr(infra.app, "load_config", lambda name: config)
    for name in LOCATED:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = build_app("dev", bundle=False, outdir=str(outdir),
                    context={"@aws-cdk/core:failSynthOnValidationErrors": False})  # fmt: skip
    assembly = app.synth()
    report = json.loads((Path(assembly.directory) / "validation-report.json").read_text())
    return Template.from_stack(app.node.find_child(stack_name("dev"))), report


def findings(report: dict) -> list[str]:
    return [
        f"{v['severity']} {v['ruleName']} at {c['constructPath']}"
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    ]


@pytest.mark.parametrize("env", [{}, LOCATED], ids=["tokens", "located"])
def test_the_console_adds_no_open_cdk_nag_finding(tmp_path: Path, monkeypatch, env) -> None:
    template, report = synth(tmp_path, monkeypatch, env)
    template.resource_count_is("AWS::CloudFront::Distribution", 1)
    assert findings(report) == []


def test_the_distribution_and_console_buckets_are_logged(tmp_path: Path, monkeypatch) -> None:
    template, _ = synth(tmp_path, monkeypatch, {})
    (distribution,) = template.find_resources("AWS::CloudFront::Distribution").values()
    logging = distribution["Properties"]["DistributionConfig"]["Logging"]
    assert logging["Prefix"] == "cloudfront/"
    buckets = template.find_resources("AWS::S3::Bucket")
    (logs_id,) = [k for k in buckets if k == logging["Bucket"]["Fn::GetAtt"][0]]
    console = {k: v["Properties"] for k, v in buckets.items() if k.startswith("Console")}
    assert logs_id in console and len(console) == 2
    for props in console.values():
        assert props["LoggingConfiguration"]["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
        assert all(props["PublicAccessBlockConfiguration"].values())
