"""The tracer forced on: X-Ray segments recorded while the handlers run hold no personal data.

Locally the tracer disables itself (outside Lambda, POWERTOOLS_TRACE_DISABLED). Here it is
switched on for real (aws_xray_sdk, botocore patched as in Lambda), each handler runs inside a
segment of its own as Lambda's facade segment would, and every emitted segment is kept in memory
and scanned for the applicant's ID number, phone, card and name.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import aws_xray_sdk
import pytest
from aws_lambda_powertools import Tracer
from aws_xray_sdk.core import xray_recorder
from aws_xray_sdk.core.context import Context

from lendguard.offline.local import lambda_hook
from lendguard.offline.local import runtime as local_runtime


class MemoryEmitter:
    """An X-Ray emitter that keeps each segment's JSON instead of sending it to the daemon."""

    def __init__(self) -> None:
        self.documents: list[str] = []

    def send_entity(self, entity: Any) -> None:
        self.documents.append(entity.serialize())

    def set_daemon_address(self, address: str | None) -> None:
        pass

    @property
    def ip(self) -> str:
        return "127.0.0.1"

    @property
    def port(self) -> int:
        return 2000


@pytest.fixture(scope="module")
def traced(default_model):
    """A local stack whose handlers run with the tracer on, and the emitter catching segments."""
    emitter = MemoryEmitter()
    original_env = local_runtime.local_environment

    def environment(policy_id: str, policy_version: int) -> dict[str, str]:
        # As in a deployed function: tracing on, in a Lambda task root.
        return {**original_env(policy_id, policy_version), "POWERTOOLS_TRACE_DISABLED": "false",
                "LAMBDA_TASK_ROOT": "/var/task"}  # fmt: skip

    mp = pytest.MonkeyPatch()
    mp.setattr(local_runtime, "local_environment", environment)
    Tracer._reset_config()
    aws_xray_sdk.global_sdk_config.set_sdk_enabled(True)
    xray_recorder.configure(emitter=emitter, context=Context(), sampling=False, context_missing="LOG_ERROR",
                            streaming_threshold=10_000)  # fmt: skip
    try:
        with local_runtime.LocalRuntime() as rt:
            for name, handler in list(lambda_hook._handlers.items()):
                mp.setitem(lambda_hook._handlers, name, _in_segment(name, handler))
            yield rt, emitter
    finally:
        mp.undo()
        aws_xray_sdk.global_sdk_config.set_sdk_enabled(False)
        Tracer._reset_config()


def _in_segment(name: str, handler: Any) -> Any:
    def run(event: Any, context: Any) -> Any:
        xray_recorder.begin_segment(name)
        try:
            return handler(event, context)
        finally:
            xray_recorder.end_segment()

    return run


def test_segments_of_every_handler_hold_no_personal_data(traced, examples):
    from lendguard.cases.service import decide

    runtime, emitter = traced
    secrets: list[str] = []
    for name, app_id in (("approve", "TR-1"), ("review", "TR-2"), ("reject-admission", "TR-3")):
        raw = copy.deepcopy(examples[name])
        raw["application_id"] = app_id
        decide(json.dumps(raw))
        applicant = raw["applicant"]
        secrets += [applicant["id_number"], applicant["phone"], applicant["name"],
                    "".join((applicant.get("bank_card") or "").split())]  # fmt: skip
    # A failing stage too: errors must not be captured either.
    lambda_hook.inject_fault(runtime.function_name("scoring"), RuntimeError("boom"))
    try:
        raw = copy.deepcopy(examples["approve"])
        raw["application_id"] = "TR-4"
        decide(json.dumps(raw))
    finally:
        lambda_hook.inject_fault(runtime.function_name("scoring"), None)

    text = "\n".join(emitter.documents)
    assert "## handler" in text and '"name": "lendguard-local-finalize"' in text.replace('":"', '": "')
    # Every stage of four cases ran traced (the reject stops after admission).
    assert text.count('"name": "## handler"') >= 20
    assert [s for s in set(secrets) if s and s in text] == []

    # Positive control: the same recorder does keep a response when a handler lets it.
    leaky = Tracer().capture_lambda_handler(
        lambda event, context: {"id_number": event["id"]}, capture_response=True
    )
    _in_segment("leaky", leaky)({"id": secrets[0]}, lambda_hook.LocalContext("leaky"))
    assert secrets[0] in "\n".join(emitter.documents[len(text.splitlines()) :])
