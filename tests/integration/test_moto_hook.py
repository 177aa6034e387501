"""The local runtime replaces a private moto hook: fail loudly the day it moves."""

import inspect
from importlib.metadata import version

from moto.awslambda.models import LambdaFunction


def test_moto_is_the_pinned_version():
    assert version("moto") == "5.2.5", (
        "the Lambda hook was verified on moto 5.2.5; re-verify before upgrading"
    )


def test_invoke_hook_exists_with_the_expected_signature():
    hook = getattr(LambdaFunction, "_invoke_lambda", None)
    assert hook is not None, "moto.awslambda.models.LambdaFunction._invoke_lambda is gone"
    assert list(inspect.signature(hook).parameters) == ["self", "event"]


def test_the_hook_is_what_step_functions_calls(runtime):
    # A real execution through the hook: its output comes from our handler, not moto's echo.
    import json

    from lendguard.store import cases, executions

    result = executions.run_decision(
        "C-hook-probe",
        {
            "case_id": "C-hook-probe",
            "application": {"application_id": "nope"},
            "received_at": "2026-11-22T00:00:00+00:00",
        },
    )
    assert result.status == "FAILED"
    # Our validate handler rejected the body and our failure handler recorded why: the hook ran our code.
    case = cases.get_case("C-hook-probe")
    assert case.status == "FAILED" and case.error["cause"]["errorType"] == "InvalidInput"
    assert "invalid application" in json.dumps(case.error)
