"""Helpers of ``test_artifact.py``: run the synthesized Lambda assets the way Lambda runs them.

- :class:`Assembly` reads a cloud assembly (``cdk.out``): the stack template and the folder of
  each asset, found through the template's ``aws:asset:path`` metadata.
- :func:`deps_virtualenv` builds (once, cached by the requirements file's hash) a virtualenv from
  exactly the deps layer's pins: the stand-in for the aarch64 layer that cannot load here.
- :class:`MotoStack` is a moto server with the resources a function's template environment
  names (tables, buckets, state machines, the hash-secret parameter).
- :class:`Worker` is one function in its own isolated interpreter (``artifact_child.py``).
- :func:`run_workflow` walks an ASL definition (the JSONPath subset our state machines use) and
  feeds each Task's output to the next, as Step Functions would; anything it does not know
  fails loudly rather than being skipped.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

from lendguard import deployment
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.offline import project
from lendguard.offline.local.runtime import PARTITION, definition_substitutions
from lendguard.store.tables import create_table_request

CHILD = Path(__file__).with_name("artifact_child.py")
REGION = "us-east-1"
ACCOUNT = "123456789012"
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


# ---- the cloud assembly ---------------------------------------------------------------------


@dataclass
class Assembly:
    """One stack of a cloud assembly directory."""

    directory: Path
    stack_name: str
    template: dict[str, Any] = field(init=False)

    def __post_init__(self) -> None:
        manifest = json.loads((self.directory / "manifest.json").read_text())
        artifact = manifest["artifacts"][self.stack_name]
        template_file = artifact["properties"]["templateFile"]
        self.template = json.loads((self.directory / template_file).read_text())

    def resources(self, type_: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.template["Resources"].items() if v["Type"] == type_}

    def asset_dir(self, logical_id: str) -> Path:
        """The folder CDK packaged for this resource (``Metadata['aws:asset:path']``)."""
        path = self.directory / self.template["Resources"][logical_id]["Metadata"]["aws:asset:path"]
        if not path.is_dir():
            raise FileNotFoundError(f"{logical_id}: asset {path} is not a folder in the cloud assembly")
        return path

    def by_construct(self, type_: str, construct_path: str) -> str:
        """The logical ID of the one ``type_`` resource under ``<stack>/<construct_path>/``."""
        prefix = f"{self.stack_name}/{construct_path}/"
        (logical_id,) = [
            k for k, v in self.resources(type_).items() if v["Metadata"]["aws:cdk:path"].startswith(prefix)
        ]
        return logical_id

    def function(self, function_name: str) -> tuple[str, dict[str, Any]]:
        (item,) = [
            (k, v["Properties"])
            for k, v in self.resources("AWS::Lambda::Function").items()
            if v["Properties"].get("FunctionName") == function_name
        ]
        return item


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


# ---- the deps layer's stand-in ---------------------------------------------------------------


def deps_virtualenv(requirements: Path, home: Path) -> tuple[Path, Path]:
    """``(python, site-packages)`` of a virtualenv with exactly ``requirements`` (no extras, no
    lendguard), built once under ``home`` and reused while the file's hash is the same."""
    digest = hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]
    target = home / "artifact-venvs" / digest
    if not (target / ".complete").exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(dir=target.parent, prefix=".building-"))
        python = building / "bin" / "python"
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(building)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--requirement", str(requirements)],
            check=True,
        )  # fmt: skip
        (building / ".complete").write_text(requirements.read_text())
        try:
            building.rename(target)
        except OSError:  # a parallel worker finished first: keep its venv
            shutil.rmtree(building, ignore_errors=True)
    python = target / "bin" / "python"
    site_packages = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    return python, Path(site_packages)


# ---- moto ----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class MotoStack:
    """A moto server holding the resources that functions' template environments name."""

    def __init__(self, assembly: Assembly) -> None:
        from moto.server import ThreadedMotoServer

        self.assembly = assembly
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)
        self._server.start()
        self._physical: dict[str, str] = {}
        # The local runtime's secret: simulated vendors answer from the hashed identifiers, so
        # examples/applications/ decide here as they do in `lendguard decide`.
        self.hash_secret = LOCAL_SECRET

    def stop(self) -> None:
        self._server.stop()

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def base_environment(self) -> dict[str, str]:
        """What Lambda adds to a function's own variables, pointed at this server."""
        return {
            **FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
        }

    def environment(self, props: dict[str, Any]) -> dict[str, str]:
        """The function's template variables with every reference made a real moto resource."""
        variables = props.get("Environment", {}).get("Variables", {})
        env = {name: self.resolve(value) for name, value in variables.items()}
        parameter = env.get(deployment.ENV_HASH_SECRET_PARAM)
        if parameter and parameter not in self._physical:
            self.client("ssm").put_parameter(
                Name=parameter, Value=self.hash_secret, Type="SecureString", Overwrite=True
            )
            self._physical[parameter] = parameter
        return env

    def resolve(self, value: Any) -> str:
        if isinstance(value, str):
            return value
        if isinstance(value, dict) and set(value) == {"Ref"}:
            return self.physical(value["Ref"])
        if isinstance(value, dict) and set(value) == {"Fn::GetAtt"} and value["Fn::GetAtt"][1] == "Arn":
            return self.physical(value["Fn::GetAtt"][0])
        raise AssertionError(f"the artifact test cannot resolve template value {value!r}")

    def physical(self, logical_id: str) -> str:
        """Create (once) the resource ``logical_id`` of the template in moto; its name or ARN."""
        if logical_id in self._physical:
            return self._physical[logical_id]
        type_ = self.assembly.template["Resources"][logical_id]["Type"]
        name = f"artifact-{logical_id.lower()}"
        if type_ == "AWS::DynamoDB::Table":
            (spec,) = [t for t in deployment.TABLES if t.logical_id == logical_id]
            create_table(self.client("dynamodb"), spec, name)
            value = name
        elif type_ == "AWS::S3::Bucket":
            self.client("s3").create_bucket(Bucket=name)
            value = name
        elif type_ == "AWS::StepFunctions::StateMachine":
            (spec,) = [sm for sm in deployment.STATE_MACHINES if sm.logical_id == logical_id]
            arns = {f.substitution: function_arn(f.name) for f in spec.functions if f.substitution}
            definition = project.render_definition(spec, definition_substitutions(arns))
            value = self.client("stepfunctions").create_state_machine(
                name=name, definition=definition, roleArn=role_arn("artifact"), type=spec.kind
            )["stateMachineArn"]
        elif type_ == "AWS::KMS::Key":  # the case archive's key: its ARN
            value = self.client("kms").create_key(Description=logical_id)["KeyMetadata"]["Arn"]
        elif type_ == "AWS::Lambda::Function":  # a function another invokes (shadow runs): its name
            value = name
        else:
            raise AssertionError(f"the artifact test does not create {type_} ({logical_id})")
        self._physical[logical_id] = value
        return value


def function_arn(name: str) -> str:
    return f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}"


def role_arn(name: str) -> str:
    return f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}"


def create_table(ddb: Any, spec: deployment.TableSpec, name: str) -> None:
    """A table as the stack declares it (keys, GSIs; the same request the local runtime sends)."""
    ddb.create_table(**create_table_request(spec, name))
    if spec.ttl_attribute:
        ddb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"Enabled": True, "AttributeName": spec.ttl_attribute}
        )


# ---- one function in its own interpreter ------------------------------------------------------


class Worker:
    """A function's handler imported once in ``python -I -S -B``, then invoked per event."""

    def __init__(
        self,
        *,
        python: Path,
        function_dir: Path,
        layer_python_dir: Path,
        site_packages: Path,
        props: dict[str, Any],
        environment: dict[str, str],
        scratch: Path,
    ) -> None:
        self.name = props["FunctionName"]
        self.environment = environment
        config = {
            "function_dir": str(function_dir),
            "layer_python_dir": str(layer_python_dir),
            "site_packages": str(site_packages),
            "function_name": self.name,
            "function_arn": function_arn(self.name),
            "memory_mb": props["MemorySize"],
            "timeout_s": props["Timeout"],
        }
        config_path = scratch / f"{self.name}.json"
        config_path.write_text(json.dumps(config))
        self.log_path = scratch / f"{self.name}.log"
        self._log = self.log_path.open("w")
        self._proc = subprocess.Popen(
            [str(python), "-I", "-S", "-B", str(CHILD), str(config_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            env=environment,
            cwd=function_dir,  # Lambda's working directory is the function code (/var/task)
            text=True,
        )
        self.ready = self._receive()
        self.last: dict[str, Any] = self.ready

    def _receive(self) -> dict[str, Any]:
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line:
            self._proc.wait(timeout=10)
            raise RuntimeError(f"{self.name} exited ({self._proc.returncode}):\n{self.log_tail()}")
        return json.loads(line)

    def invoke(self, event: Any) -> dict[str, Any]:
        if not self.ready.get("ready"):
            raise RuntimeError(f"{self.name} did not import: {self.ready.get('error')}")
        assert self._proc.stdin is not None
        self._proc.stdin.write(json.dumps(event) + "\n")
        self._proc.stdin.flush()
        self.last = self._receive()
        return self.last

    def log_tail(self, chars: int = 3000) -> str:
        self._log.flush()
        return self.log_path.read_text()[-chars:]

    def end_input(self) -> None:
        """No more events: the child exits (ending every worker first lets them exit together)."""
        if self._proc.stdin is not None and not self._proc.stdin.closed:
            self._proc.stdin.close()

    def close(self) -> None:
        self.end_input()
        try:
            # Lambda never waits for an interpreter to finish; neither does the test.
            self._proc.wait(timeout=1)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        self._log.close()


# ---- Step Functions, as far as our ASL goes ---------------------------------------------------

_TASK_KEYS = {"Type", "Comment", "Resource", "Parameters", "OutputPath", "ResultPath", "Retry", "Catch",
              "Next", "End", "TimeoutSecondsPath"}  # fmt: skip
_KNOWN_KEYS = {
    "Task": _TASK_KEYS,
    "Pass": {"Type", "Comment", "Parameters", "ResultPath", "Next", "End"},
    "Choice": {"Type", "Comment", "Choices", "Default"},
    "Succeed": {"Type", "Comment"},
    "Fail": {"Type", "Comment", "Error", "Cause"},
}
LAMBDA_INVOKE = f"arn:{PARTITION}:states:::lambda:invoke"


def _read(path: str, data: Any, context: dict[str, Any]) -> Any:
    if path == "$":
        return data
    if path.startswith("$$."):
        value, parts = context, path[3:].split(".")
    elif path.startswith("$."):
        value, parts = data, path[2:].split(".")
    else:
        raise AssertionError(f"JSONPath {path!r} is not supported by the artifact test's walker")
    for part in parts:
        value = value[part]
    return value


def _write(data: Any, path: str, value: Any) -> Any:
    if path == "$":
        return value
    if not path.startswith("$.") or "[" in path:
        raise AssertionError(f"ResultPath {path!r} is not supported by the artifact test's walker")
    out = json.loads(json.dumps(data))
    target = out
    *parents, last = path[2:].split(".")
    for part in parents:
        target = target.setdefault(part, {})
    target[last] = value
    return out


def _parameters(template: Any, data: Any, context: dict[str, Any]) -> Any:
    if isinstance(template, dict):
        return {
            (k[:-2] if k.endswith(".$") else k): (
                _read(v, data, context) if k.endswith(".$") else _parameters(v, data, context)
            )
            for k, v in template.items()
        }
    return template


def _matches(rule: dict[str, Any], data: Any) -> bool:
    value = _read(rule["Variable"], data, {})
    if "BooleanEquals" in rule:
        return value is rule["BooleanEquals"]
    if "StringEquals" in rule:
        return value == rule["StringEquals"]
    raise AssertionError(f"Choice rule {rule!r} is not supported by the artifact test's walker")


@dataclass
class Run:
    status: str  # SUCCEEDED or FAILED
    output: Any
    tasks: list[str]  # the FunctionName of each Task run, in order
    answers: list[dict[str, Any]]  # the workers' answers, in order


def run_workflow(
    asl: dict[str, Any],
    execution_input: Any,
    invoke: Callable[[str, Any], dict[str, Any]],
    *,
    execution_id: str,
    task_answer: Callable[[str], dict[str, Any]] | None = None,
) -> Run:
    """Walk ``asl`` (rendered: substitutions made) from StartAt. ``invoke(function_name, payload)``
    runs the function a Task names (its ``FunctionName``) and returns its worker's answer; ``task_answer(state)`` says how a ``.waitForTaskToken`` state
    ends (``{"Error": ...}`` to take its Catch, or ``{"Output": ...}``)."""
    data, name = execution_input, asl["StartAt"]
    tasks: list[str] = []
    answers: list[dict[str, Any]] = []
    for _ in range(100):
        state = asl["States"][name]
        unknown = set(state) - _KNOWN_KEYS.get(state["Type"], set())
        if state["Type"] not in _KNOWN_KEYS or unknown:
            raise AssertionError(f"state {name}: {state['Type']} {sorted(unknown)} unsupported by the walker")
        if state["Type"] == "Succeed":
            return Run("SUCCEEDED", data, tasks, answers)
        if state["Type"] == "Fail":
            return Run("FAILED", data, tasks, answers)
        if state["Type"] == "Choice":
            name = next((r["Next"] for r in state["Choices"] if _matches(r, data)), state["Default"])
            continue
        context = {"Execution": {"Id": execution_id}, "Task": {"Token": f"token-{execution_id}-{name}"}}
        if state["Type"] == "Pass":
            data = _write(data, state.get("ResultPath", "$"), _parameters(state["Parameters"], data, context))
            name = state["Next"]
            continue
        resource = state["Resource"]
        if resource not in (LAMBDA_INVOKE, f"{LAMBDA_INVOKE}.waitForTaskToken"):
            raise AssertionError(f"state {name}: resource {resource} unsupported by the walker")
        parameters = _parameters(state["Parameters"], data, context)
        key = parameters["FunctionName"]
        answer = invoke(key, parameters["Payload"])
        tasks.append(key)
        answers.append(answer)
        error: dict[str, Any] | None = None
        if not answer["ok"]:
            cause = {"errorMessage": answer["error_message"], "errorType": answer["error_type"]}
            error = {"Error": answer["error_type"], "Cause": json.dumps(cause)}
        elif resource.endswith(".waitForTaskToken"):
            if task_answer is None:
                raise AssertionError(f"state {name} waits for a task token: pass task_answer")
            ending = task_answer(name)
            if "Error" in ending:
                error = {"Error": ending["Error"], "Cause": ending.get("Cause", "")}
            else:
                result = ending["Output"]
        else:
            result = {"Payload": answer["result"], "StatusCode": 200}
        if error is not None:
            catcher = next(
                (c for c in state.get("Catch", []) if {error["Error"], "States.ALL"} & set(c["ErrorEquals"])),
                None,
            )
            if catcher is None:
                return Run("FAILED", error, tasks, answers)
            data = _write(data, catcher.get("ResultPath", "$"), error)
            name = catcher["Next"]
            continue
        data = _read(state.get("OutputPath", "$"), _write(data, state.get("ResultPath", "$"), result), {})
        if state.get("End"):
            return Run("SUCCEEDED", data, tasks, answers)
        name = state["Next"]
    raise AssertionError("the workflow did not end within 100 states")
