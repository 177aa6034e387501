"""The deployed artifact: what ``cdk synth`` packages is what runs, tested as Lambda runs it.

One run of the real CDK CLI (the Makefile's ``synth`` target, which the README prints) must exit
0 with no open cdk-nag finding. Its cloud assembly is then taken apart as Lambda would: the core
layer is laid out as ``<tmp>/opt/python``, and every function's code asset is imported in its own
isolated interpreter (``python -I``: function code, then the layer, then a virtualenv built from
exactly the deps layer's pins) and invoked with realistic events against a moto server, with the
environment variables of the synthesized template. The decision and review workflows are walked
from their ASL, each stage fed the state the previous one returned.

The aarch64 deps layer cannot load here; its wheels' tags and its size are checked statically.
Cold import times and sizes are printed in the ``deployed artifact`` section of the summary.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from lambda_artifact import (
    ACCOUNT,
    PARTITION,
    REGION,
    Assembly,
    MotoStack,
    Run,
    Worker,
    deps_virtualenv,
    folder_size,
    function_arn,
    run_workflow,
)

from infra.app import DEFAULT_ENV, stack_name
from infra.constructs.core_layer import LAYER_PYTHON_DIR, PACKAGE, RUNTIME_ENTRIES, find_runtime_python
from infra.constructs.dependency_layer import DEPS_DIR, PYTHON_VERSION, REQUIREMENTS
from infra.constructs.function import ARCHITECTURE, RUNTIME
from infra.stacks.lendguard_stack import function_name
from lendguard import deployment
from lendguard.core.application import parse_application
from lendguard.models.artifact import ModelArtifact
from lendguard.offline import project
from lendguard.offline.local.runtime import default_home, definition_substitutions, ensure_default_model
from lendguard.policy.loader import load_policy
from lendguard.store.artifacts import model_prefix, policy_key

LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024  # function code plus all its layers
HEAVY = ("pandas", "sklearn", "xgboost")
ROOT = project.project_root()
JSII_QUIET = {"JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION": "20"}


def _synth_command() -> str:
    """The Makefile's ``synth`` recipe: the one place the CLI command and its version are written."""
    recipe = re.search(r"^synth:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert recipe, "Makefile has no synth target"
    return recipe.group(1).strip()


def _report(record_property: Any, line: str) -> None:
    """A line for the summary's ``deployed artifact`` section (tests/infra/conftest.py)."""
    record_property("artifact_report", line)
    print(line)


# ---- the CLI --------------------------------------------------------------------------------


@dataclass
class CliSynth:
    command: str
    returncode: int
    output: str
    cdk_out: Path


@pytest.fixture(scope="module")
def cli_synth() -> CliSynth:
    if shutil.which("npx") is None:
        pytest.skip("Node.js (npx) is not installed: the CDK CLI cannot run")
    command = _synth_command()
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.fail("cdk.json runs .venv/bin/python: run `make setup` first")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDK_")}
    result = subprocess.run(
        command, shell=True, cwd=ROOT, env={**env, **JSII_QUIET}, capture_output=True, text=True, timeout=900
    )
    return CliSynth(command, result.returncode, result.stdout + result.stderr, ROOT / "cdk.out")


def test_readme_prints_the_makefile_synth_command() -> None:
    assert _synth_command() in (ROOT / "README.md").read_text()


def test_cli_synth_exits_0_with_no_open_cdk_nag_finding(cli_synth: CliSynth) -> None:
    assert cli_synth.returncode == 0, cli_synth.output[-4000:]
    assert "AwsSolutions" not in cli_synth.output, cli_synth.output[-4000:]
    report = json.loads((cli_synth.cdk_out / "validation-report.json").read_text())
    open_findings = [
        f"{v['ruleName']} at {c['constructPath']}"
        for plugin in report["pluginReports"]
        for v in plugin["violations"]
        for c in v["violatingConstructs"]
    ]
    assert open_findings == []


@pytest.fixture(scope="module")
def assembly(cli_synth: CliSynth) -> Assembly:
    assert cli_synth.returncode == 0, cli_synth.output[-4000:]
    return Assembly(cli_synth.cdk_out, stack_name(DEFAULT_ENV))


# ---- what the layers hold ---------------------------------------------------------------------


def _core_layer(assembly: Assembly) -> Path:
    return assembly.asset_dir(assembly.by_construct("AWS::Lambda::LayerVersion", "CoreLayer"))


def _deps_layer(assembly: Assembly) -> Path:
    return assembly.asset_dir(assembly.by_construct("AWS::Lambda::LayerVersion", "DepsLayer"))


def test_core_layer_ships_exactly_the_runtime_entries(assembly: Assembly) -> None:
    layer = _core_layer(assembly)
    assert sorted(p.name for p in layer.iterdir()) == [LAYER_PYTHON_DIR]
    assert sorted(p.name for p in (layer / LAYER_PYTHON_DIR).iterdir()) == [PACKAGE]
    shipped = {p.name for p in (layer / LAYER_PYTHON_DIR / PACKAGE).iterdir() if p.name != "__pycache__"}
    source = {p.name for p in (ROOT / "layers" / "core" / LAYER_PYTHON_DIR / PACKAGE).iterdir()}
    assert shipped == RUNTIME_ENTRIES & source
    assert "offline" not in shipped
    # Bytecode only for the runtime's Python, and for every module when there is any (issue 19).
    tag = f"cpython-{PYTHON_VERSION.replace('.', '')}"
    compiled = list(layer.rglob("*.pyc"))
    assert all(p.parent.name == "__pycache__" and p.name.split(".")[-2] == tag for p in compiled)
    if find_runtime_python(PYTHON_VERSION) is not None:
        sources = list((layer / LAYER_PYTHON_DIR / PACKAGE).rglob("*.py"))
        assert len(compiled) == len(sources)
    else:
        assert compiled == []


def test_layer_modules_import_only_shipped_modules_and_never_locate_themselves(assembly: Assembly) -> None:
    """Static, so lazy imports on paths no event reaches are covered too. ``__file__`` is banned:
    in Lambda a layer module is /opt/python/lendguard/x.py, four parents deep, and paths computed
    from it (``Path(__file__).parents[4]``) break there but not in the deeper temporary folder
    this test can use."""
    package = _core_layer(assembly) / LAYER_PYTHON_DIR / PACKAGE
    shipped = {name.removesuffix(".py") for name in RUNTIME_ENTRIES}
    bad = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Name) and node.id == "__file__":
                bad.append(f"{path.relative_to(package)}:{node.lineno} uses __file__")
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                parts = name.split(".")
                if parts[0] == PACKAGE and len(parts) > 1 and parts[1] not in shipped:
                    bad.append(f"{path.relative_to(package)}:{node.lineno} imports {name}")
    assert bad == []


def _wheel_tags(dist_info: Path) -> list[str]:
    return [
        line.split(":", 1)[1].strip()
        for line in (dist_info / "WHEEL").read_text().splitlines()
        if line.startswith("Tag:")
    ]


def _tag_fits_lambda(tag: str) -> bool:
    """``interpreter-abi-platform`` loadable by the functions' runtime and architecture."""
    interpreter, abi, platform = tag.split("-")
    cp = "cp" + PYTHON_VERSION.replace(".", "")
    minor = int(PYTHON_VERSION.split(".")[1])
    arch = {"arm64": "aarch64", "x86_64": "x86_64"}[ARCHITECTURE.name]
    python_ok = interpreter in {cp, "py3", f"py{cp[2:]}"} or (
        abi == "abi3" and re.fullmatch(r"cp3(\d+)", interpreter) and int(interpreter[3:]) <= minor
    )
    abi_ok = abi in {cp, "abi3", "none"}
    platform_ok = platform == "any" or (platform.startswith("manylinux") and platform.endswith(f"_{arch}"))
    return bool(python_ok and abi_ok and platform_ok)


def test_deps_layer_wheels_match_the_functions_runtime_and_architecture(
    assembly: Assembly, record_property: Any
) -> None:
    site = _deps_layer(assembly) / LAYER_PYTHON_DIR
    dist_infos = sorted(site.glob("*.dist-info"))
    assert dist_infos, f"no wheels in the deps layer asset {site}"
    assert RUNTIME.name == f"python{PYTHON_VERSION}"
    misfits = {d.name: _wheel_tags(d) for d in dist_infos if not any(map(_tag_fits_lambda, _wheel_tags(d)))}
    assert misfits == {}
    pinned = {
        re.split(r"[=\[]", line)[0].lower().replace("_", "-")
        for line in (DEPS_DIR / REQUIREMENTS).read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    installed = {re.sub(r"-[^-]+\.dist-info$", "", d.name).lower().replace("_", "-") for d in dist_infos}
    assert pinned <= installed
    assert installed & {*HEAVY, "scikit-learn", "scipy"} == set()
    _report(
        record_property, f"deps layer: {len(dist_infos)} wheels, all {RUNTIME.name} / {ARCHITECTURE.name}"
    )


def test_functions_with_their_layers_fit_lambdas_unzipped_limit(
    assembly: Assembly, record_property: Any
) -> None:
    core, deps = folder_size(_core_layer(assembly)), folder_size(_deps_layer(assembly))
    largest = max(
        folder_size(assembly.asset_dir(assembly.function(function_name(DEFAULT_ENV, spec))[0]))
        for spec in deployment.ALL_FUNCTIONS
    )
    total = core + deps + largest
    mb = 1024 * 1024
    _report(
        record_property,
        f"unzipped: deps layer {deps / mb:.1f} MB + core layer {core / mb:.2f} MB + largest function "
        f"{largest / 1024:.1f} KB = {total / mb:.1f} MB of Lambda's 250 MB ({total / LAMBDA_UNZIPPED_LIMIT:.0%})",
    )
    assert total < LAMBDA_UNZIPPED_LIMIT


def _assert_fits_with_layer(
    assembly: Assembly,
    record_property: Any,
    kind: str,
    layer: Callable[[Assembly], Path],
    specs: tuple[deployment.FunctionSpec, ...],
) -> None:
    """Core + deps + ``layer`` + the largest of ``specs``' functions, unzipped, under Lambda's 250 MB."""
    core, deps, extra = (folder_size(f(assembly)) for f in (_core_layer, _deps_layer, layer))
    largest = max(
        folder_size(assembly.asset_dir(assembly.function(function_name(DEFAULT_ENV, spec))[0]))
        for spec in specs
    )
    total = core + deps + extra + largest
    mb = 1024 * 1024
    _report(
        record_property,
        f"{kind} functions unzipped: {kind} layer {extra / mb:.1f} MB + deps {deps / mb:.1f} MB + core "
        f"{core / mb:.2f} MB + largest {kind} function {largest / 1024:.1f} KB = {total / mb:.1f} MB of 250 MB "
        f"({total / LAMBDA_UNZIPPED_LIMIT:.0%})",
    )
    assert total < LAMBDA_UNZIPPED_LIMIT


def _batch_layer(assembly: Assembly) -> Path:
    return assembly.asset_dir(assembly.by_construct("AWS::Lambda::LayerVersion", "BatchLayer"))


def test_batch_functions_with_their_three_layers_fit_lambdas_unzipped_limit(
    assembly: Assembly, record_property: Any
) -> None:
    """The batch functions carry core + deps + batch (pyarrow, pruned): still a zip, under 250 MB."""
    from infra.constructs.batch_layer import PRUNE

    batch_site = _batch_layer(assembly) / LAYER_PYTHON_DIR
    dist_infos = sorted(batch_site.glob("*.dist-info"))
    assert [d.name.split("-")[0] for d in dist_infos] == ["pyarrow"]
    assert all(any(map(_tag_fits_lambda, _wheel_tags(d))) for d in dist_infos)
    assert not [p for pattern in PRUNE for p in (batch_site / "pyarrow").glob(pattern)]
    assert list((batch_site / "pyarrow").glob("libparquet.so*")), "the pruned layer must keep Parquet"
    _assert_fits_with_layer(assembly, record_property, "batch", _batch_layer, deployment.BATCH_FUNCTIONS)


def _backtest_layer(assembly: Assembly) -> Path:
    return assembly.asset_dir(assembly.by_construct("AWS::Lambda::LayerVersion", "BacktestLayer"))


def test_backtest_functions_with_their_three_layers_fit_lambdas_unzipped_limit(
    assembly: Assembly, record_property: Any
) -> None:
    """The backtest functions carry core + deps + backtest (pandas, pruned, and the evaluator): a zip."""
    from infra.constructs.backtest_layer import EVALUATOR_ENTRIES, PRUNE

    site = _backtest_layer(assembly) / LAYER_PYTHON_DIR
    dist_infos = sorted(site.glob("*.dist-info"))
    names = {d.name.split("-")[0].lower() for d in dist_infos}
    assert "pandas" in names and not names & {"numpy", "pyarrow", "xgboost", "scipy", "scikit_learn"}
    assert all(any(map(_tag_fits_lambda, _wheel_tags(d))) for d in dist_infos)
    assert not [p for pattern in PRUNE for p in site.glob(pattern)]
    assert all((site / PACKAGE / entry).exists() for entry in EVALUATOR_ENTRIES)
    _assert_fits_with_layer(
        assembly, record_property, "backtest", _backtest_layer, deployment.BACKTEST_FUNCTIONS
    )


def test_backtest_handlers_import_from_the_core_and_backtest_layers_merged_in_opt(
    assembly: Assembly, tmp_path: Path
) -> None:
    """Lambda extracts every layer into /opt: the backtest layer's ``python/lendguard/offline`` must
    merge with the core layer's ``python/lendguard`` (which ships no ``offline``).

    The layer's pandas is built for aarch64 and cannot load here, so only its ``lendguard`` tree is
    laid out; pandas and numpy come from this interpreter's site-packages, after /opt.
    """
    opt = tmp_path / "opt" / LAYER_PYTHON_DIR
    shutil.copytree(_core_layer(assembly) / LAYER_PYTHON_DIR, opt)
    assert not (opt / PACKAGE / "offline").exists()
    shutil.copytree(_backtest_layer(assembly) / LAYER_PYTHON_DIR / PACKAGE, opt / PACKAGE, dirs_exist_ok=True)
    for spec in deployment.BACKTEST_FUNCTIONS:
        code = assembly.asset_dir(assembly.function(function_name(DEFAULT_ENV, spec))[0])
        probe = (
            "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]; import handler, lendguard.offline.backtest.sharded as s; "
            "assert callable(handler.handler); print(s.__file__)"
        )
        result = subprocess.run(
            [sys.executable, "-I", "-c", probe, str(code), str(opt)],
            capture_output=True, text=True, timeout=120,
            env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": REGION, "POWERTOOLS_SERVICE_NAME": "t"},
        )  # fmt: skip
        assert result.returncode == 0, f"{spec.name}: {result.stderr[-2000:]}"
        assert result.stdout.strip().startswith(str(opt)), spec.name


# ---- running the functions --------------------------------------------------------------------


@dataclass
class Deployed:
    assembly: Assembly
    moto: MotoStack
    workers: dict[str, Worker]  # deployment function name -> its worker
    template_env: dict[str, dict[str, Any]] = field(default_factory=dict)
    runs: dict[str, Run] = field(default_factory=dict)
    api: dict[str, dict[str, Any]] = field(default_factory=dict)

    def invoke(self, arn: str, payload: Any) -> dict[str, Any]:
        """Run the function a Task's FunctionName (an ARN) names."""
        (spec,) = [s for s in deployment.ALL_FUNCTIONS if arn == function_arn(function_name(DEFAULT_ENV, s))]
        return self.workers[spec.name].invoke(payload)

    def tasks(self, *names: str) -> list[str]:
        """The FunctionName values a run shows for these deployment function names."""
        return [function_arn(function_name(DEFAULT_ENV, self.spec(n))) for n in names]

    @staticmethod
    def spec(name: str) -> deployment.FunctionSpec:
        (spec,) = [s for s in deployment.ALL_FUNCTIONS if s.name == name]
        return spec


def _definition(spec: deployment.StateMachineSpec) -> dict[str, Any]:
    """The ASL as deployed: every function substitution is that function's ARN."""
    arns = {
        f.substitution: function_arn(function_name(DEFAULT_ENV, f)) for f in spec.functions if f.substitution
    }
    return json.loads(project.render_definition(spec, definition_substitutions(arns)))


def _publish(moto: MotoStack, env: dict[str, str]) -> None:
    """The configured policy version and its model in the artifacts bucket (as a release does)."""
    path = project.policies_dir() / f"{env[deployment.ENV_POLICY_ID]}.yaml"
    policy = load_policy(path)
    assert policy.version == int(env[deployment.ENV_POLICY_VERSION]), "config and policy file disagree"
    s3, bucket = moto.client("s3"), env[deployment.ENV_ARTIFACTS_BUCKET]
    s3.put_object(Bucket=bucket, Key=policy_key(policy.id, policy.version), Body=path.read_bytes())
    ref = policy.scoring.model
    model = ModelArtifact.load(ensure_default_model(default_home(), ref.id, ref.version))
    for name, body in model.to_files().items():
        s3.put_object(Bucket=bucket, Key=model_prefix(ref.id, ref.version) + name, Body=body)


def _execution_input(example: str, case_id: str) -> dict[str, Any]:
    """What the API passes to StartSyncExecution (see lendguard.http.app.run_case)."""
    policy = load_policy(project.default_policy_path())
    raw = (project.examples_dir() / "applications" / example).read_text()
    try:
        application = parse_application(raw, policy.products).model_dump(mode="json")
    except Exception:  # an invalid application reaches the workflow only through a bug: as is
        application = json.loads(raw)
    return {"case_id": case_id, "application": application, "received_at": datetime.now(UTC).isoformat()}


def _proxy_event(method: str, path: str, body: Any = None) -> dict[str, Any]:
    from lendguard.offline.local.server import proxy_event

    data = json.dumps(body).encode() if body is not None else None
    event = proxy_event(method, path, {"Content-Type": "application/json"}, data)
    # As API Gateway's Cognito authorizer passes a signed-in operator (and analyst) to the function.
    claims = {"sub": "artifact-ops", "name": "Artifact Ops", "cognito:groups": "operator,analyst"}
    event.setdefault("requestContext", {})["authorizer"] = {"claims": claims}
    return event


def _execution_arn(kind: str, machine: str, name: str) -> str:
    return f"arn:{PARTITION}:states:{REGION}:{ACCOUNT}:{kind}:{machine}:{name}"


def _exercise(deployed: Deployed) -> None:
    """The decision flow for four applications, the review flow, the API: in deployment order."""
    decision_asl = _definition(deployment.DECISION_STATE_MACHINE)
    review_asl = _definition(deployment.REVIEW_STATE_MACHINE)

    def decide(label: str, example: str) -> None:
        case_id = f"C20261129000000-{label}"
        deployed.runs[label] = run_workflow(
            decision_asl,
            _execution_input(example, case_id),
            deployed.invoke,
            execution_id=_execution_arn("express", "decision", case_id),
        )

    decide("approve", "approve.json")
    decide("review", "review.json")
    # Operations black-list a device through the API; the lists stage must then reject it.
    device = json.loads((project.examples_dir() / "applications" / "black-listed.json").read_text())["device"]
    deployed.api["put_list"] = deployed.workers["api"].invoke(
        _proxy_event(
            "PUT",
            f"/v1/lists/BLACK/DEVICE_ID/{device['device_id']}",
            {"reason_code": "FRAUD_RING", "reason": "artifact test"},
        )
    )
    decide("black_listed", "black-listed.json")
    decide("invalid", "invalid.json")  # Validate fails: Catch -> RecordFailure -> Fail

    # finalize started the review workflow of the REVIEW case in moto: run it with that input.
    sfn = deployed.moto.client("stepfunctions")
    review_arn = deployed.moto.physical(deployment.REVIEW_STATE_MACHINE.logical_id)
    executions = sfn.list_executions(stateMachineArn=review_arn)["executions"]
    if executions:
        started = sfn.describe_execution(executionArn=executions[0]["executionArn"])
        deployed.runs["review_flow"] = run_workflow(
            review_asl,
            json.loads(started["input"]),
            deployed.invoke,
            execution_id=started["executionArn"],
            task_answer=lambda _state: {"Error": "States.Timeout", "Cause": "no reviewer answered"},
        )
    deployed.api["get_case"] = deployed.workers["api"].invoke(
        _proxy_event("GET", "/v1/cases/C20261129000000-review")
    )
    deployed.api["get_missing_case"] = deployed.workers["api"].invoke(
        _proxy_event("GET", "/v1/cases/C20261129000000-nosuchcase")
    )


@pytest.fixture(scope="module")
def deployed(assembly: Assembly, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    python, site_packages = deps_virtualenv(DEPS_DIR / REQUIREMENTS, default_home())
    scratch = tmp_path_factory.mktemp("artifact")
    opt = scratch / "opt"  # Lambda extracts layers into /opt: python/ becomes /opt/python
    shutil.copytree(_core_layer(assembly), opt)
    moto = MotoStack(assembly)
    workers: dict[str, Worker] = {}
    deployed = Deployed(assembly, moto, workers)
    try:
        for spec in deployment.ALL_FUNCTIONS:
            logical_id, props = assembly.function(function_name(DEFAULT_ENV, spec))
            assert props["Handler"] == spec.handler == "handler.handler"
            code = scratch / "functions" / spec.name  # as /var/task: a copy, never the assembly
            shutil.copytree(assembly.asset_dir(logical_id), code)
            deployed.template_env[spec.name] = props.get("Environment", {}).get("Variables", {})
            env = moto.environment(props)
            if spec is deployment.API_FUNCTION:
                _publish(moto, env)
            workers[spec.name] = Worker(
                python=python,
                function_dir=code,
                layer_python_dir=opt / LAYER_PYTHON_DIR,
                site_packages=site_packages,
                props=props,
                environment={
                    **moto.base_environment(),
                    "AWS_LAMBDA_FUNCTION_NAME": props["FunctionName"],
                    **env,
                },
                scratch=scratch,
            )
        _exercise(deployed)
        yield deployed
    finally:
        for worker in workers.values():
            worker.end_input()
        for worker in workers.values():
            worker.close()
        moto.stop()


def _failure(deployed: Deployed, name: str, answer: dict[str, Any]) -> str:
    """The error, its traceback and the end of the function's own output."""
    error = answer.get("error") or answer.get("error_message")
    return f"{error}\n{answer.get('traceback', '')}\n{deployed.workers[name].log_tail()}"


def test_every_handler_imports_from_the_artifact_alone(deployed: Deployed, record_property: Any) -> None:
    for name, worker in deployed.workers.items():
        ready = worker.ready
        assert ready["ready"], f"{name}: {_failure(deployed, name, ready)}"
        assert ready["lendguard_not_from_layer"] == [], name
        assert ready["outside"] == [], name
    times = ", ".join(f"{name} {w.ready['import_s'] * 1000:.0f}" for name, w in deployed.workers.items())
    _report(record_property, f"cold import (ms, no .pyc, as from a fresh layer): {times}")


def test_no_heavy_package_on_the_online_path(deployed: Deployed) -> None:
    for name, worker in deployed.workers.items():
        assert worker.last["heavy"] == [], f"{name} imported {worker.last['heavy']}"
        assert worker.last["outside"] == [], name


def test_handlers_read_only_environment_variables_the_template_sets(
    deployed: Deployed, record_property: Any
) -> None:
    local_only_reads: set[str] = set()
    for name, worker in deployed.workers.items():
        template = set(deployed.template_env[name])
        assert not template & deployment.LOCAL_ONLY_ENV, f"{name}: the stack sets a local-only variable"
        reads = {v for v in worker.last["env_reads"] if v.startswith("LENDGUARD_")}
        assert reads - template - deployment.LOCAL_ONLY_ENV == set(), name
        local_only_reads |= reads & deployment.LOCAL_ONLY_ENV
    _report(
        record_property,
        f"unset local-runtime overrides read: {', '.join(sorted(local_only_reads)) or 'none'}",
    )


def _stage_outputs(run: Run) -> list[dict[str, Any]]:
    return [answer["result"] for answer in run.answers if answer["ok"]]


def test_decision_flow_runs_stage_by_stage_on_the_artifact(deployed: Deployed) -> None:
    for label, decision in (("approve", "APPROVE"), ("review", "REVIEW")):
        run = deployed.runs[label]
        failed = [a for a in run.answers if not a["ok"]]
        assert not failed, _failure(deployed, "validate", failed[0]) if failed else ""
        assert run.status == "SUCCEEDED"
        assert run.tasks == deployed.tasks(
            "validate", "admission", "lists", "internal_data", "external_data", "features", "scoring", "decision",
            "finalize",
        )  # fmt: skip
        assert run.output["decision"] == decision, (run.output["reasons"], run.output["halted_at"])
    # The lists stage rejects the device the API just black-listed, and nothing after it runs.
    assert deployed.api["put_list"]["ok"] and deployed.api["put_list"]["result"]["statusCode"] == 201
    blocked = deployed.runs["black_listed"]
    assert blocked.status == "SUCCEEDED"
    assert blocked.tasks == deployed.tasks("validate", "admission", "lists", "finalize")
    assert blocked.output["decision"] == "REJECT"
    assert blocked.output["halted_at"] == "lists"


def test_failure_path_records_the_failed_case(deployed: Deployed) -> None:
    run = deployed.runs["invalid"]
    assert run.status == "FAILED"
    assert run.tasks == deployed.tasks("validate", "record_failure")
    recorded = run.answers[-1]
    assert recorded["ok"], _failure(deployed, "record_failure", recorded)
    item = deployed.moto.client("dynamodb").get_item(
        TableName=deployed.moto.physical("CasesTable"), Key={"case_id": {"S": "C20261129000000-invalid"}}
    )
    assert "Item" in item


def test_review_flow_runs_on_the_artifact(deployed: Deployed) -> None:
    run = deployed.runs.get("review_flow")
    assert run is not None, "finalize started no review workflow for the REVIEW case"
    failed = [a for a in run.answers if not a["ok"]]
    assert not failed, failed[0].get("traceback")
    assert run.tasks == deployed.tasks("review_task", "review_conclude")
    assert run.status == "SUCCEEDED"


def test_api_answers_from_the_artifact(deployed: Deployed) -> None:
    found, missing = deployed.api["get_case"], deployed.api["get_missing_case"]
    assert found["ok"], _failure(deployed, "api", found)
    assert found["result"]["statusCode"] == 200, found["result"]
    assert json.loads(found["result"]["body"])["case_id"] == "C20261129000000-review"
    assert missing["ok"] and missing["result"]["statusCode"] == 404
